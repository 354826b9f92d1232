//! `InMemoryProjects`: the write and read ports over a map, with optimistic locking.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EventEnvelope, EventId, IdempotencyClaim, RecordedAnswer, RecordedEvent, StoreError, UserId};

use crate::application::{
    Page, PageSize, ProjectDetails, ProjectFilter, ProjectQueries, ProjectSummary, ProjectsStore, ProjectsTransaction,
    TaskDetails, TaskFilter,
};
use crate::domain::{IncompleteTaskLimit, Project, ProjectId, ProjectState, Task, TaskNumber};

#[derive(Debug, Clone, Default)]
struct State {
    projects: BTreeMap<ProjectId, ProjectState>,
    tasks: BTreeMap<(ProjectId, TaskNumber), Task>,
    last_project_id: i64,
    inbox: HashSet<(&'static str, EventId)>,
    outbox: Vec<EventEnvelope>,
    answers: Vec<(IdempotencyClaim, RecordedAnswer)>,
}

impl State {
    fn visible(&self, owner: UserId, id: ProjectId) -> Option<&ProjectState> {
        self.projects.get(&id).filter(|state| state.owner == owner && state.deleted_at.is_none())
    }
}

/// Projects in memory, for use-case tests and as the reference for the contract.
#[derive(Debug, Clone, Default)]
pub struct InMemoryProjects {
    state: Arc<Mutex<State>>,
}

impl InMemoryProjects {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl InMemoryProjects {
    /// The answers of idempotent requests committed so far, oldest first.
    #[must_use]
    pub fn recorded_answers(&self) -> Vec<(IdempotencyClaim, RecordedAnswer)> {
        self.lock().answers.clone()
    }
}

impl OutboxProbe for InMemoryProjects {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        self.lock().outbox.clone()
    }
}

impl ProjectsStore for InMemoryProjects {
    type Transaction = InMemoryProjectsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(InMemoryProjectsTransaction {
            store: self.clone(),
            view: self.lock().clone(),
            expected_versions: BTreeMap::new(),
            new_tasks: Vec::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            erased_owners: Vec::new(),
            answers: Vec::new(),
        })
    }
}

/// A unit of work: works on a private copy, applies it on commit if nobody else wrote
/// the same projects meanwhile.
#[derive(Debug)]
pub struct InMemoryProjectsTransaction {
    store: InMemoryProjects,
    view: State,
    /// Version each written project must still have at commit (None: must not exist).
    expected_versions: BTreeMap<ProjectId, Option<i64>>,
    new_tasks: Vec<(ProjectId, TaskNumber)>,
    inbox: Vec<(&'static str, EventId)>,
    events: Vec<EventEnvelope>,
    /// Owners whose projects this unit of work erases.
    erased_owners: Vec<UserId>,
    answers: Vec<(IdempotencyClaim, RecordedAnswer)>,
}

fn erase_owner(state: &mut State, owner: UserId) -> u64 {
    let ids: Vec<ProjectId> =
        state.projects.values().filter(|project| project.owner == owner).map(|project| project.id).collect();
    for id in &ids {
        state.projects.remove(id);
        state.tasks.retain(|(project, _), _| project != id);
    }
    u64::try_from(ids.len()).unwrap_or(u64::MAX)
}

impl InMemoryProjectsTransaction {
    fn write(&mut self, project: &mut Project, expected: Option<i64>) -> Result<(), StoreError> {
        let id = project.id();
        if let Some(&Some(version)) = self.expected_versions.get(&id)
            && expected != Some(version)
        {
            return Err(StoreError::Conflict);
        }
        let stored_version = self.view.projects.get(&id).map(|state| state.version);
        if stored_version != expected {
            return Err(StoreError::Conflict);
        }
        for task in project.new_tasks() {
            if self.view.tasks.contains_key(&(id, task.number())) {
                return Err(StoreError::Conflict);
            }
        }
        for task in project.new_tasks() {
            self.view.tasks.insert((id, task.number()), task.clone());
            self.new_tasks.push((id, task.number()));
        }
        for task in project.changed_tasks() {
            self.view.tasks.insert((id, task.number()), task.clone());
        }
        for event in project.take_events() {
            self.events.push(event.to_envelope().map_err(StoreError::backend)?);
        }
        self.expected_versions.entry(id).or_insert(expected);
        project.mark_saved();
        self.view.projects.insert(id, project.state().clone());
        Ok(())
    }
}

impl ProjectsTransaction for InMemoryProjectsTransaction {
    async fn next_project_id(&mut self) -> Result<ProjectId, StoreError> {
        let mut shared = self.store.lock();
        shared.last_project_id += 1;
        ProjectId::new(shared.last_project_id).map_err(StoreError::backend)
    }

    async fn project(&mut self, id: ProjectId, with_task: Option<TaskNumber>) -> Result<Option<Project>, StoreError> {
        Ok(self.view.projects.get(&id).map(|state| {
            let task = with_task.and_then(|number| self.view.tasks.get(&(id, number)).cloned());
            Project::restore(state.clone(), task)
        }))
    }

    async fn add(&mut self, project: &mut Project) -> Result<(), StoreError> {
        self.write(project, None)
    }

    async fn save(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let version = project.state().version;
        self.write(project, Some(version))
    }

    async fn erase_projects_of(&mut self, owner: UserId) -> Result<u64, StoreError> {
        self.erased_owners.push(owner);
        Ok(erase_owner(&mut self.view, owner))
    }

    async fn mark_event_handled(&mut self, consumer: &'static str, event: EventId) -> Result<bool, StoreError> {
        let first_time = self.view.inbox.insert((consumer, event));
        if first_time {
            self.inbox.push((consumer, event));
        }
        Ok(first_time)
    }

    async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        self.answers.push((claim.clone(), answer.clone()));
        Ok(())
    }

    async fn commit(self) -> Result<(), StoreError> {
        let mut shared = self.store.lock();
        for (id, expected) in &self.expected_versions {
            if shared.projects.get(id).map(|state| state.version) != *expected {
                return Err(StoreError::Conflict);
            }
        }
        if self.new_tasks.iter().any(|key| shared.tasks.contains_key(key))
            || self.inbox.iter().any(|key| shared.inbox.contains(key))
        {
            return Err(StoreError::Conflict);
        }
        for id in self.expected_versions.keys() {
            if let Some(state) = self.view.projects.get(id) {
                shared.projects.insert(*id, state.clone());
            }
            let tasks = self.view.tasks.range((*id, TaskNumber::FIRST)..);
            let tasks: Vec<_> =
                tasks.take_while(|((project, _), _)| project == id).map(|(key, task)| (*key, task.clone())).collect();
            shared.tasks.extend(tasks);
        }
        for owner in self.erased_owners {
            erase_owner(&mut shared, owner);
        }
        shared.inbox.extend(self.inbox);
        shared.outbox.extend(self.events);
        shared.answers.extend(self.answers);
        Ok(())
    }
}

impl ProjectQueries for InMemoryProjects {
    async fn projects_of(&self, owner: UserId) -> Result<Vec<ProjectSummary>, StoreError> {
        Ok(self
            .lock()
            .projects
            .values()
            .filter(|state| state.owner == owner && state.deleted_at.is_none())
            .map(|state| ProjectSummary {
                id: state.id,
                name: state.name.as_str().to_owned(),
                archived_at: state.archived_at,
            })
            .collect())
    }

    async fn project_page(
        &self,
        owner: UserId,
        filter: &ProjectFilter,
        after: Option<ProjectId>,
        size: PageSize,
    ) -> Result<Page<ProjectSummary>, StoreError> {
        let all = self.projects_of(owner).await?;
        let rows = all
            .into_iter()
            .filter(|project| after.is_none_or(|after| project.id > after) && filter.admits(project))
            .take(usize::from(size.get()) + 1)
            .collect();
        Ok(Page::from_probe(rows, size))
    }

    async fn task_page(
        &self,
        owner: UserId,
        id: ProjectId,
        filter: &TaskFilter,
        after: Option<TaskNumber>,
        size: PageSize,
    ) -> Result<Option<Page<TaskDetails>>, StoreError> {
        let start = after.map_or(TaskNumber::FIRST, TaskNumber::next);
        let state = self.lock();
        Ok(state.visible(owner, id).map(|_| {
            let rows = state
                .tasks
                .range((id, start)..)
                .take_while(|((project, _), _)| *project == id)
                .map(|(_, task)| TaskDetails::from(task))
                .filter(|task| filter.admits(task))
                .take(usize::from(size.get()) + 1)
                .collect();
            Page::from_probe(rows, size)
        }))
    }

    async fn project(&self, owner: UserId, id: ProjectId) -> Result<Option<ProjectDetails>, StoreError> {
        Ok(self.lock().visible(owner, id).map(|state| ProjectDetails {
            id: state.id,
            name: state.name.as_str().to_owned(),
            maximum_number_of_incomplete_tasks: state.limit.map(IncompleteTaskLimit::get),
            archived_at: state.archived_at,
            version: state.version,
        }))
    }

    async fn tasks(&self, owner: UserId, id: ProjectId) -> Result<Option<Vec<TaskDetails>>, StoreError> {
        let state = self.lock();
        Ok(state.visible(owner, id).map(|_| {
            state
                .tasks
                .range((id, TaskNumber::FIRST)..)
                .take_while(|((project, _), _)| *project == id)
                .map(|(_, task)| TaskDetails::from(task))
                .collect()
        }))
    }

    async fn task(&self, owner: UserId, id: ProjectId, number: TaskNumber) -> Result<Option<TaskDetails>, StoreError> {
        let state = self.lock();
        Ok(state.visible(owner, id).and_then(|_| state.tasks.get(&(id, number))).map(TaskDetails::from))
    }
}
