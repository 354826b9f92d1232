//! The `Project` aggregate: a named list of numbered tasks and the rules over them.
//!
//! A project may hold any number of tasks, yet every rule needs only two counters
//! (the last task number and the number of incomplete tasks), kept on the project
//! itself. So a project is loaded with just the task a command touches, and the cost
//! of adding or completing a task does not grow with the project.

use std::collections::{BTreeMap, BTreeSet};

use taskdeck_kernel::UserId;
use time::OffsetDateTime;

use super::{
    AddTaskError, ArchiveError, CompleteTaskError, DeleteError, IncompleteTaskLimit, ProjectEvent, ProjectId,
    ProjectName, ReopenTaskError, Task, TaskName, TaskNumber, UpdateProjectError,
};

/// The project's own fields, as stored. Repositories read and write this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectState {
    pub id: ProjectId,
    pub owner: UserId,
    pub name: ProjectName,
    pub limit: Option<IncompleteTaskLimit>,
    pub archived_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    /// Number of the newest task; 0 while the project has none.
    pub last_task_number: i64,
    pub incomplete_tasks: i64,
    /// Increases by one with every stored change (optimistic concurrency).
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct Project {
    state: ProjectState,
    /// The tasks loaded with the project: the ones the current command touches.
    tasks: BTreeMap<TaskNumber, Task>,
    new_tasks: BTreeSet<TaskNumber>,
    changed_tasks: BTreeSet<TaskNumber>,
    events: Vec<ProjectEvent>,
}

impl Project {
    /// Creates a project with no tasks and records `ProjectCreated`.
    #[must_use]
    pub fn create(
        id: ProjectId,
        owner: UserId,
        name: ProjectName,
        limit: Option<IncompleteTaskLimit>,
        now: OffsetDateTime,
    ) -> Self {
        let event = ProjectEvent::ProjectCreated {
            project_id: id,
            owner,
            name: name.as_str().to_owned(),
            maximum_number_of_incomplete_tasks: limit.map(IncompleteTaskLimit::get),
            occurred_at: now,
        };
        Self {
            state: ProjectState {
                id,
                owner,
                name,
                limit,
                archived_at: None,
                deleted_at: None,
                last_task_number: 0,
                incomplete_tasks: 0,
                version: 0,
            },
            tasks: BTreeMap::new(),
            new_tasks: BTreeSet::new(),
            changed_tasks: BTreeSet::new(),
            events: vec![event],
        }
    }

    /// Rebuilds a stored project with the tasks the command needs (often none).
    #[must_use]
    pub fn restore(state: ProjectState, tasks: impl IntoIterator<Item = Task>) -> Self {
        Self {
            state,
            tasks: tasks.into_iter().map(|task| (task.number(), task)).collect(),
            new_tasks: BTreeSet::new(),
            changed_tasks: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    #[must_use]
    pub fn id(&self) -> ProjectId {
        self.state.id
    }

    #[must_use]
    pub fn state(&self) -> &ProjectState {
        &self.state
    }

    #[must_use]
    pub fn is_owned_by(&self, user: UserId) -> bool {
        self.state.owner == user
    }

    #[must_use]
    pub fn is_archived(&self) -> bool {
        self.state.archived_at.is_some()
    }

    #[must_use]
    pub fn is_deleted(&self) -> bool {
        self.state.deleted_at.is_some()
    }

    /// A loaded task.
    #[must_use]
    pub fn task(&self, number: TaskNumber) -> Option<&Task> {
        self.tasks.get(&number)
    }

    /// Renames the project and, when `limit` is `Some`, replaces its incomplete-task
    /// limit (`Some(None)` removes it). An archived project is read-only.
    ///
    /// # Errors
    /// `Archived`, or `LimitBelowIncompleteCount` when more tasks are incomplete than
    /// the new limit allows.
    pub fn update(
        &mut self,
        name: ProjectName,
        limit: Option<Option<IncompleteTaskLimit>>,
        now: OffsetDateTime,
    ) -> Result<(), UpdateProjectError> {
        if self.is_archived() {
            return Err(UpdateProjectError::Archived);
        }
        let limit = limit.unwrap_or(self.state.limit);
        if let Some(requested) = limit
            && self.state.incomplete_tasks > requested.get()
        {
            return Err(UpdateProjectError::LimitBelowIncompleteCount {
                incomplete: self.state.incomplete_tasks,
                requested,
            });
        }
        if name == self.state.name && limit == self.state.limit {
            return Ok(());
        }
        self.state.name = name;
        self.state.limit = limit;
        self.events.push(ProjectEvent::ProjectUpdated {
            project_id: self.state.id,
            name: self.state.name.as_str().to_owned(),
            maximum_number_of_incomplete_tasks: limit.map(IncompleteTaskLimit::get),
            occurred_at: now,
        });
        Ok(())
    }

    /// Adds an incomplete task under the next number.
    ///
    /// # Errors
    /// `Archived`, or `LimitReached` when the project already holds as many incomplete
    /// tasks as its limit allows.
    pub fn add_task(&mut self, name: TaskName, now: OffsetDateTime) -> Result<&Task, AddTaskError> {
        if self.is_archived() {
            return Err(AddTaskError::Archived);
        }
        if let Some(limit) = self.state.limit
            && limit.is_reached_by(self.state.incomplete_tasks)
        {
            return Err(AddTaskError::LimitReached { limit });
        }
        let number = TaskNumber::new(self.state.last_task_number + 1).unwrap_or(TaskNumber::FIRST);
        self.state.last_task_number = number.get();
        self.state.incomplete_tasks += 1;
        self.events.push(ProjectEvent::TaskAdded {
            project_id: self.state.id,
            number,
            name: name.as_str().to_owned(),
            occurred_at: now,
        });
        self.new_tasks.insert(number);
        Ok(self.tasks.entry(number).or_insert(Task::new(number, name)))
    }

    /// Completes a task; completing a completed task changes nothing and keeps its
    /// first completion time.
    ///
    /// # Errors
    /// `TaskNotFound` when the project has no such task, `Archived` when it is archived.
    pub fn complete_task(&mut self, number: TaskNumber, now: OffsetDateTime) -> Result<&Task, CompleteTaskError> {
        let archived = self.is_archived();
        let task = self.tasks.get_mut(&number).ok_or(CompleteTaskError::TaskNotFound)?;
        if archived {
            return Err(CompleteTaskError::Archived);
        }
        if task.complete(now) {
            self.state.incomplete_tasks -= 1;
            self.changed_tasks.insert(number);
            self.events.push(ProjectEvent::TaskCompleted { project_id: self.state.id, number, occurred_at: now });
        }
        Ok(task)
    }

    /// Marks a completed task incomplete again; an incomplete task stays as it is.
    ///
    /// # Errors
    /// `TaskNotFound`, `Archived`, or `LimitReached` when re-opening would exceed the
    /// incomplete-task limit.
    pub fn reopen_task(&mut self, number: TaskNumber, now: OffsetDateTime) -> Result<&Task, ReopenTaskError> {
        let archived = self.is_archived();
        let limit = self.state.limit;
        let incomplete = self.state.incomplete_tasks;
        let task = self.tasks.get_mut(&number).ok_or(ReopenTaskError::TaskNotFound)?;
        if archived {
            return Err(ReopenTaskError::Archived);
        }
        if !task.is_completed() {
            return Ok(task);
        }
        if let Some(limit) = limit
            && limit.is_reached_by(incomplete)
        {
            return Err(ReopenTaskError::LimitReached { limit });
        }
        task.reopen();
        self.state.incomplete_tasks += 1;
        self.changed_tasks.insert(number);
        self.events.push(ProjectEvent::TaskReopened { project_id: self.state.id, number, occurred_at: now });
        Ok(task)
    }

    /// Archives the project; archiving an archived project keeps its first archive time.
    ///
    /// # Errors
    /// `HasIncompleteTasks` while any task is incomplete.
    pub fn archive(&mut self, now: OffsetDateTime) -> Result<(), ArchiveError> {
        if self.is_archived() {
            return Ok(());
        }
        if self.state.incomplete_tasks > 0 {
            return Err(ArchiveError::HasIncompleteTasks { incomplete: self.state.incomplete_tasks });
        }
        self.state.archived_at = Some(now);
        self.events.push(ProjectEvent::ProjectArchived { project_id: self.state.id, occurred_at: now });
        Ok(())
    }

    /// Makes an archived project writable again; a project that is not archived stays
    /// as it is.
    pub fn unarchive(&mut self, now: OffsetDateTime) {
        if self.state.archived_at.take().is_some() {
            self.events.push(ProjectEvent::ProjectUnarchived { project_id: self.state.id, occurred_at: now });
        }
    }

    /// Deletes the project (softly: it stays stored, hidden from its owner for good).
    ///
    /// # Errors
    /// `NotArchived` unless the project is archived.
    pub fn delete(&mut self, now: OffsetDateTime) -> Result<(), DeleteError> {
        if !self.is_archived() {
            return Err(DeleteError::NotArchived);
        }
        if self.state.deleted_at.is_none() {
            self.state.deleted_at = Some(now);
            self.events.push(ProjectEvent::ProjectDeleted { project_id: self.state.id, occurred_at: now });
        }
        Ok(())
    }

    /// Tasks created since the project was loaded, to insert.
    pub fn new_tasks(&self) -> impl Iterator<Item = &Task> {
        self.new_tasks.iter().filter_map(|number| self.tasks.get(number))
    }

    /// Loaded tasks that changed, to update.
    pub fn changed_tasks(&self) -> impl Iterator<Item = &Task> {
        self.changed_tasks
            .iter()
            .filter(|number| !self.new_tasks.contains(number))
            .filter_map(|number| self.tasks.get(number))
    }

    /// Whether anything needs storing.
    #[must_use]
    pub fn has_changes(&self) -> bool {
        !self.events.is_empty()
    }

    /// Events recorded since the project was loaded, in order; drains them.
    pub fn take_events(&mut self) -> Vec<ProjectEvent> {
        std::mem::take(&mut self.events)
    }

    #[must_use]
    pub fn pending_events(&self) -> &[ProjectEvent] {
        &self.events
    }

    /// Called by the repository once the project is stored.
    pub fn mark_saved(&mut self) {
        self.state.version += 1;
        self.new_tasks.clear();
        self.changed_tasks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:15:00 UTC);

    fn project_with_limit(limit: Option<i64>) -> Project {
        let mut project = Project::create(
            ProjectId::new(1).unwrap(),
            UserId::generate(),
            ProjectName::parse("Household").unwrap(),
            limit.map(|limit| IncompleteTaskLimit::new(limit).unwrap()),
            NOW,
        );
        project.take_events();
        project
    }

    fn task_name(name: &str) -> TaskName {
        TaskName::parse(name).unwrap()
    }

    fn number(n: i64) -> TaskNumber {
        TaskNumber::new(n).unwrap()
    }

    fn add(project: &mut Project, name: &str) -> TaskNumber {
        project.add_task(task_name(name), NOW).unwrap().number()
    }

    #[test]
    fn creating_a_project_records_project_created() {
        let project = Project::create(
            ProjectId::new(7).unwrap(),
            UserId::generate(),
            ProjectName::parse("Household").unwrap(),
            None,
            NOW,
        );
        assert!(matches!(project.pending_events(), [ProjectEvent::ProjectCreated { .. }]));
        assert_eq!(project.state().version, 0);
    }

    #[test]
    fn tasks_are_numbered_from_one_in_order() {
        let mut project = project_with_limit(None);
        assert_eq!(add(&mut project, "Do the shopping"), number(1));
        assert_eq!(add(&mut project, "Clean the house"), number(2));
        assert_eq!(project.state().last_task_number, 2);
        assert_eq!(project.state().incomplete_tasks, 2);
        assert_eq!(project.new_tasks().count(), 2);
    }

    #[test]
    fn numbering_continues_from_the_stored_last_number_without_loading_tasks() {
        let mut project = project_with_limit(None);
        let mut state = project.state().clone();
        state.last_task_number = 41;
        project = Project::restore(state, []);
        assert_eq!(add(&mut project, "Answer everything"), number(42));
    }

    #[test]
    fn adding_a_task_respects_the_incomplete_task_limit() {
        let mut project = project_with_limit(Some(1));
        add(&mut project, "First task");
        assert_eq!(
            project.add_task(task_name("Second task"), NOW).err(),
            Some(AddTaskError::LimitReached { limit: IncompleteTaskLimit::new(1).unwrap() })
        );
        assert_eq!(project.state().last_task_number, 1, "a refused task uses no number");
    }

    #[test]
    fn completed_tasks_do_not_count_towards_the_limit() {
        let mut project = project_with_limit(Some(1));
        let first = add(&mut project, "First task");
        project.complete_task(first, NOW).unwrap();
        assert_eq!(add(&mut project, "Second task"), number(2));
    }

    #[test]
    fn completing_a_task_records_the_time_and_frees_a_slot() {
        let mut project = project_with_limit(None);
        let first = add(&mut project, "First task");
        project.take_events();
        let task = project.complete_task(first, NOW).unwrap();
        assert_eq!(task.completed_at(), Some(NOW));
        assert_eq!(project.state().incomplete_tasks, 0);
        assert!(matches!(project.pending_events(), [ProjectEvent::TaskCompleted { .. }]));
    }

    #[test]
    fn completing_twice_keeps_the_first_completion_time() {
        let mut project = project_with_limit(None);
        let first = add(&mut project, "First task");
        project.complete_task(first, NOW).unwrap();
        project.take_events();
        let later = NOW + Duration::hours(1);
        let task = project.complete_task(first, later).unwrap();
        assert_eq!(task.completed_at(), Some(NOW));
        assert_eq!(project.state().incomplete_tasks, 0);
        assert!(project.pending_events().is_empty());
    }

    #[test]
    fn completing_an_unknown_task_is_task_not_found() {
        let mut project = project_with_limit(None);
        assert_eq!(project.complete_task(number(3), NOW).err(), Some(CompleteTaskError::TaskNotFound));
    }

    #[test]
    fn reopening_a_task_counts_it_as_incomplete_again() {
        let mut project = project_with_limit(None);
        let first = add(&mut project, "First task");
        project.complete_task(first, NOW).unwrap();
        let task = project.reopen_task(first, NOW).unwrap();
        assert_eq!(task.completed_at(), None);
        assert_eq!(project.state().incomplete_tasks, 1);
    }

    #[test]
    fn reopening_an_incomplete_task_changes_nothing() {
        let mut project = project_with_limit(Some(1));
        let first = add(&mut project, "First task");
        project.take_events();
        assert!(project.reopen_task(first, NOW).is_ok(), "idempotent even at the limit");
        assert_eq!(project.state().incomplete_tasks, 1);
        assert!(project.pending_events().is_empty());
    }

    #[test]
    fn reopening_respects_the_incomplete_task_limit() {
        let mut project = project_with_limit(Some(1));
        let first = add(&mut project, "First task");
        project.complete_task(first, NOW).unwrap();
        add(&mut project, "Second task");
        assert_eq!(
            project.reopen_task(first, NOW).err(),
            Some(ReopenTaskError::LimitReached { limit: IncompleteTaskLimit::new(1).unwrap() })
        );
    }

    #[test]
    fn archiving_needs_every_task_completed() {
        let mut project = project_with_limit(None);
        let first = add(&mut project, "First task");
        assert_eq!(project.archive(NOW), Err(ArchiveError::HasIncompleteTasks { incomplete: 1 }));
        project.complete_task(first, NOW).unwrap();
        assert_eq!(project.archive(NOW), Ok(()));
        assert_eq!(project.state().archived_at, Some(NOW));
    }

    #[test]
    fn archiving_twice_keeps_the_first_archive_time() {
        let mut project = project_with_limit(None);
        project.archive(NOW).unwrap();
        project.archive(NOW + Duration::hours(1)).unwrap();
        assert_eq!(project.state().archived_at, Some(NOW));
    }

    #[test]
    fn an_archived_project_refuses_task_changes_and_updates() {
        let mut project = project_with_limit(None);
        let first = add(&mut project, "First task");
        project.complete_task(first, NOW).unwrap();
        project.archive(NOW).unwrap();
        assert_eq!(project.add_task(task_name("Late task"), NOW).err(), Some(AddTaskError::Archived));
        assert_eq!(project.complete_task(first, NOW).err(), Some(CompleteTaskError::Archived));
        assert_eq!(project.reopen_task(first, NOW).err(), Some(ReopenTaskError::Archived));
        assert_eq!(
            project.update(ProjectName::parse("New name").unwrap(), None, NOW),
            Err(UpdateProjectError::Archived)
        );
    }

    #[test]
    fn unarchiving_makes_the_project_writable_again() {
        let mut project = project_with_limit(None);
        project.archive(NOW).unwrap();
        project.unarchive(NOW);
        assert!(!project.is_archived());
        add(&mut project, "Fresh task");
    }

    #[test]
    fn unarchiving_a_project_that_is_not_archived_changes_nothing() {
        let mut project = project_with_limit(None);
        project.unarchive(NOW);
        assert!(project.pending_events().is_empty());
    }

    #[test]
    fn only_an_archived_project_can_be_deleted() {
        let mut project = project_with_limit(None);
        assert_eq!(project.delete(NOW), Err(DeleteError::NotArchived));
        project.archive(NOW).unwrap();
        assert_eq!(project.delete(NOW), Ok(()));
        assert!(project.is_deleted());
    }

    #[test]
    fn updating_renames_and_changes_the_limit() {
        let mut project = project_with_limit(Some(3));
        project.update(ProjectName::parse("Chores").unwrap(), Some(None), NOW).unwrap();
        assert_eq!(project.state().name.as_str(), "Chores");
        assert_eq!(project.state().limit, None);
    }

    #[test]
    fn an_absent_limit_leaves_the_limit_unchanged() {
        let mut project = project_with_limit(Some(3));
        project.update(ProjectName::parse("Chores").unwrap(), None, NOW).unwrap();
        assert_eq!(project.state().limit, IncompleteTaskLimit::new(3).ok());
    }

    #[test]
    fn the_limit_cannot_drop_below_the_incomplete_tasks() {
        let mut project = project_with_limit(None);
        add(&mut project, "First task");
        add(&mut project, "Second task");
        let one = IncompleteTaskLimit::new(1).unwrap();
        assert_eq!(
            project.update(ProjectName::parse("Household").unwrap(), Some(Some(one)), NOW),
            Err(UpdateProjectError::LimitBelowIncompleteCount { incomplete: 2, requested: one })
        );
        let two = IncompleteTaskLimit::new(2).unwrap();
        assert!(project.update(ProjectName::parse("Household").unwrap(), Some(Some(two)), NOW).is_ok());
    }

    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        let mut project = project_with_limit(Some(2));
        project.update(ProjectName::parse("Household").unwrap(), None, NOW).unwrap();
        assert!(!project.has_changes());
    }

    #[test]
    fn saving_clears_the_pending_task_writes_and_moves_the_version() {
        let mut project = project_with_limit(None);
        add(&mut project, "First task");
        project.mark_saved();
        assert_eq!(project.new_tasks().count(), 0);
        assert_eq!(project.state().version, 1);
    }

    #[test]
    fn a_completed_task_loaded_from_storage_is_reported_as_changed() {
        let project = project_with_limit(None);
        let mut state = project.state().clone();
        state.last_task_number = 5;
        state.incomplete_tasks = 1;
        let mut project = Project::restore(state, [Task::restore(number(5), task_name("Loaded task"), None)]);
        project.complete_task(number(5), NOW).unwrap();
        assert_eq!(project.changed_tasks().map(Task::number).collect::<Vec<_>>(), vec![number(5)]);
        assert_eq!(project.new_tasks().count(), 0);
    }
}
