//! Ports of the projects context: storage for the write side, queries for the read side.

use std::future::Future;

use taskdeck_kernel::{EventId, IdempotencyClaim, RecordedAnswer, StoreError, UserId};

use super::listing::{Page, PageSize, ProjectFilter, TaskFilter};
use super::views::{ProjectDetails, ProjectSummary, TaskDetails};
use crate::domain::{Project, ProjectId, TaskNumber};

/// Storage of projects: opens units of work.
pub trait ProjectsStore: Send + Sync + 'static {
    type Transaction: ProjectsTransaction;

    /// Starts a unit of work. Dropping it without `commit` discards every change.
    ///
    /// # Errors
    /// `StoreError::Backend` when storage cannot be reached.
    fn begin(&self) -> impl Future<Output = Result<Self::Transaction, StoreError>> + Send;
}

/// One unit of work on projects: the project repository, the outbox and the inbox of
/// handled events, inside one transaction.
pub trait ProjectsTransaction: Send {
    /// Reserves the id of a project about to be created. Ids are never reused.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn next_project_id(&mut self) -> impl Future<Output = Result<ProjectId, StoreError>> + Send;

    /// Loads a project, deleted or not, with the one task `with_task` names (when that
    /// task exists) and no other task: commands never load a project's whole task list.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure; a missing project is `Ok(None)`.
    fn project(
        &mut self,
        id: ProjectId,
        with_task: Option<TaskNumber>,
    ) -> impl Future<Output = Result<Option<Project>, StoreError>> + Send;

    /// Stores a new project, its tasks and its events.
    ///
    /// # Errors
    /// `StoreError::Conflict` if the id is taken, `Backend` on a storage failure.
    fn add(&mut self, project: &mut Project) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores the changes of a loaded project: its own fields, its new and changed
    /// tasks, and its events.
    ///
    /// # Errors
    /// `StoreError::Conflict` when the stored version is no longer the one the project
    /// was loaded at, or a new task's number is taken; `Backend` on a storage failure.
    fn save(&mut self, project: &mut Project) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Erases every project of `owner`, soft-deleted ones included, with all their
    /// tasks; returns how many projects it erased.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn erase_projects_of(&mut self, owner: UserId) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records that `consumer` handled `event`, so a redelivery is recognised.
    /// Returns `false` when it was recorded before (the effect must then be skipped).
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn mark_event_handled(
        &mut self,
        consumer: &'static str,
        event: EventId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes the answer of an idempotent request beside the effect it describes, so
    /// both are committed or neither is.
    ///
    /// # Errors
    /// `StoreError::Conflict` when the claim no longer holds its key (its lease ran out
    /// and another request took it over); `Backend` on a storage failure.
    fn record_answer(
        &mut self,
        claim: &IdempotencyClaim,
        answer: &RecordedAnswer,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes every change of this unit of work durable, atomically.
    ///
    /// # Errors
    /// `StoreError::Backend` when the commit fails (nothing is stored then);
    /// `Conflict` when a concurrent change was detected only at commit.
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The read side: answers straight from storage, without the domain model. Every query
/// sees only the projects `owner` owns and that are not deleted.
pub trait ProjectQueries: Send + Sync + 'static {
    /// The owner's projects, ordered by id.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn projects_of(&self, owner: UserId) -> impl Future<Output = Result<Vec<ProjectSummary>, StoreError>> + Send;

    /// One page of the owner's projects that `filter` admits, ordered by id, starting
    /// after the project `after` (from the first when `None`).
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn project_page(
        &self,
        owner: UserId,
        filter: &ProjectFilter,
        after: Option<ProjectId>,
        size: PageSize,
    ) -> impl Future<Output = Result<Page<ProjectSummary>, StoreError>> + Send;

    /// One page of the project's tasks that `filter` admits, ordered by number,
    /// starting after task `after`; `None` when the project is invisible.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn task_page(
        &self,
        owner: UserId,
        id: ProjectId,
        filter: &TaskFilter,
        after: Option<TaskNumber>,
        size: PageSize,
    ) -> impl Future<Output = Result<Option<Page<TaskDetails>>, StoreError>> + Send;

    /// # Errors
    /// `StoreError::Backend` on a storage failure; invisible projects are `Ok(None)`.
    fn project(
        &self,
        owner: UserId,
        id: ProjectId,
    ) -> impl Future<Output = Result<Option<ProjectDetails>, StoreError>> + Send;

    /// The project's tasks ordered by number, or `None` when the project is invisible.
    ///
    /// # Errors
    /// `StoreError::Backend` on a storage failure.
    fn tasks(
        &self,
        owner: UserId,
        id: ProjectId,
    ) -> impl Future<Output = Result<Option<Vec<TaskDetails>>, StoreError>> + Send;

    /// # Errors
    /// `StoreError::Backend` on a storage failure; an invisible project or a missing
    /// task is `Ok(None)`.
    fn task(
        &self,
        owner: UserId,
        id: ProjectId,
        number: TaskNumber,
    ) -> impl Future<Output = Result<Option<TaskDetails>, StoreError>> + Send;
}
