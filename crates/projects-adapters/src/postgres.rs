//! The projects ports on PostgreSQL: the repository inside READ COMMITTED units of
//! work that lock the project row they load, and the read model on the read pool.

use sqlx::Row;
use sqlx::postgres::PgRow;
use taskdeck_kernel::{EventId, IdempotencyClaim, RecordedAnswer, StoreError, UserId};
use taskdeck_platform::Migration;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_postgres::{PostgresDatabase, PostgresStore, PostgresUnitOfWork, write_error};
use taskdeck_projects::application::{
    Page, PageSize, ProjectDetails, ProjectFilter, ProjectQueries, ProjectSummary, ProjectsStore, ProjectsTransaction,
    TaskDetails, TaskFilter,
};
use taskdeck_projects::domain::{IncompleteTaskLimit, Project, ProjectId, TaskNumber};
use time::OffsetDateTime;

use crate::module::ProjectsBackend;
use crate::rows::{ProjectRow, SummaryRow, TaskRow, backend, corrupt};
use crate::sql;

/// The projects tables on PostgreSQL.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 2, description: "projects", sql: include_str!("../migrations/postgres/0002_projects.sql") },
    Migration {
        version: 8,
        description: "task filters",
        sql: include_str!("../migrations/postgres/0008_task_filters.sql"),
    },
    Migration {
        version: 10,
        description: "task list covering key",
        sql: include_str!("../migrations/postgres/0010_task_list_covering_key.sql"),
    },
];

impl ProjectsBackend for PostgresDatabase {
    type Store = PostgresProjects;

    const MIGRATIONS: &'static [Migration] = MIGRATIONS;

    fn projects_store(&self, outbox: &OutboxWriter) -> PostgresProjects {
        PostgresProjects { store: PostgresStore::new(self.clone(), outbox.clone()) }
    }
}

/// Projects and tasks in the PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresProjects {
    store: PostgresStore,
}

impl ProjectsStore for PostgresProjects {
    type Transaction = PostgresProjectsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(PostgresProjectsTransaction(self.store.begin().await?))
    }
}

/// A unit of work on projects: one READ COMMITTED transaction. Loading a project locks
/// its row until commit, so concurrent commands on one project run one after the other
/// instead of conflicting; the version check in `save` still guards writes of a
/// project that was not loaded in the same unit of work.
#[derive(Debug)]
pub struct PostgresProjectsTransaction(PostgresUnitOfWork);

impl PostgresProjectsTransaction {
    async fn write_tasks_and_events(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let id = project.id().get();
        for task in project.new_tasks() {
            sqlx::query(sql::INSERT_TASK)
                .bind(id)
                .bind(task.number().get())
                .bind(task.name().as_str())
                .bind(task.completed_at())
                .execute(self.0.connection())
                .await
                .map_err(|error| StoreError::from(write_error(error)))?;
        }
        for task in project.changed_tasks() {
            sqlx::query(sql::UPDATE_TASK)
                .bind(task.name().as_str())
                .bind(task.completed_at())
                .bind(id)
                .bind(task.number().get())
                .execute(self.0.connection())
                .await
                .map_err(backend)?;
        }
        self.0.record(&project.take_events()).await?;
        project.mark_saved();
        Ok(())
    }
}

impl ProjectsTransaction for PostgresProjectsTransaction {
    async fn next_project_id(&mut self) -> Result<ProjectId, StoreError> {
        // The identity column's sequence: never handed out twice, even if this unit of
        // work rolls back (the id is then simply skipped).
        let next: i64 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('projects', 'id'))")
            .fetch_one(self.0.connection())
            .await
            .map_err(backend)?;
        ProjectId::new(next).map_err(|_| corrupt("id sequence"))
    }

    async fn project(&mut self, id: ProjectId, with_task: Option<TaskNumber>) -> Result<Option<Project>, StoreError> {
        let row = sqlx::query(sql::PROJECT_FOR_UPDATE)
            .bind(id.get())
            .fetch_optional(self.0.connection())
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state = project_row(&row).map_err(backend)?.into_state()?;
        let task = match with_task {
            Some(number) => sqlx::query(sql::TASK)
                .bind(id.get())
                .bind(number.get())
                .fetch_optional(self.0.connection())
                .await
                .map_err(backend)?
                .as_ref()
                .map(|row| task_row(row).map_err(backend)?.into_task())
                .transpose()?,
            None => None,
        };
        Ok(Some(Project::restore(state, task)))
    }

    async fn add(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        sqlx::query(sql::INSERT_PROJECT)
            .bind(state.id.get())
            .bind(state.owner.as_uuid())
            .bind(state.name.as_str())
            .bind(state.limit.map(IncompleteTaskLimit::get))
            .bind(state.archived_at)
            .bind(state.deleted_at)
            .bind(state.last_task_number)
            .bind(state.incomplete_tasks)
            .bind(OffsetDateTime::now_utc())
            .execute(self.0.connection())
            .await
            .map_err(|error| StoreError::from(write_error(error)))?;
        self.write_tasks_and_events(project).await
    }

    async fn save(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        let updated = sqlx::query(sql::UPDATE_PROJECT)
            .bind(state.name.as_str())
            .bind(state.limit.map(IncompleteTaskLimit::get))
            .bind(state.archived_at)
            .bind(state.deleted_at)
            .bind(state.last_task_number)
            .bind(state.incomplete_tasks)
            .bind(state.id.get())
            .bind(state.version)
            .execute(self.0.connection())
            .await
            .map_err(backend)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        self.write_tasks_and_events(project).await
    }

    async fn erase_projects_of(&mut self, owner: UserId) -> Result<u64, StoreError> {
        sqlx::query(sql::ERASE_TASKS_OF_OWNER)
            .bind(owner.as_uuid())
            .execute(self.0.connection())
            .await
            .map_err(backend)?;
        let erased = sqlx::query(sql::ERASE_PROJECTS_OF_OWNER)
            .bind(owner.as_uuid())
            .execute(self.0.connection())
            .await
            .map_err(backend)?;
        Ok(erased.rows_affected())
    }

    async fn mark_event_handled(&mut self, consumer: &'static str, event: EventId) -> Result<bool, StoreError> {
        self.0.mark_event_handled(consumer, event).await
    }

    async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        self.0.record_answer(claim, answer).await
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await
    }
}

impl ProjectQueries for PostgresProjects {
    async fn projects_of(&self, owner: UserId) -> Result<Vec<ProjectSummary>, StoreError> {
        let mut connection = self.store.reader().await?;
        let rows =
            sqlx::query(sql::PROJECTS_OF).bind(owner.as_uuid()).fetch_all(&mut *connection).await.map_err(backend)?;
        connection.release();
        rows.iter().map(|row| summary_row(row).map_err(backend)?.into_summary()).collect()
    }

    async fn project_page(
        &self,
        owner: UserId,
        filter: &ProjectFilter,
        after: Option<ProjectId>,
        size: PageSize,
    ) -> Result<Page<ProjectSummary>, StoreError> {
        let mut query =
            sqlx::query(sql::postgres_project_page(filter)).bind(owner.as_uuid()).bind(after.map_or(0, ProjectId::get));
        if let Some(text) = &filter.name_contains {
            query = query.bind(text.as_str());
        }
        let mut connection = self.store.reader().await?;
        let rows = query.bind(size.probe()).fetch_all(&mut *connection).await.map_err(backend)?;
        connection.release();
        let projects =
            rows.iter().map(|row| summary_row(row).map_err(backend)?.into_summary()).collect::<Result<_, _>>()?;
        Ok(Page::from_probe(projects, size))
    }

    async fn task_page(
        &self,
        owner: UserId,
        id: ProjectId,
        filter: &TaskFilter,
        after: Option<TaskNumber>,
        size: PageSize,
    ) -> Result<Option<Page<TaskDetails>>, StoreError> {
        let mut query = sqlx::query(sql::postgres_task_page(filter)).bind(after.map_or(0, TaskNumber::get));
        if let Some(text) = &filter.name_contains {
            query = query.bind(text.as_str());
        }
        let mut connection = self.store.reader().await?;
        let rows = query
            .bind(id.get())
            .bind(owner.as_uuid())
            .bind(size.probe())
            .fetch_all(&mut *connection)
            .await
            .map_err(backend)?;
        connection.release();
        Ok(visible_tasks(&rows)?.map(|tasks| Page::from_probe(tasks, size)))
    }

    async fn project(&self, owner: UserId, id: ProjectId) -> Result<Option<ProjectDetails>, StoreError> {
        let mut connection = self.store.reader().await?;
        let row = sqlx::query(sql::PROJECT_DETAILS)
            .bind(id.get())
            .bind(owner.as_uuid())
            .fetch_optional(&mut *connection)
            .await
            .map_err(backend)?;
        connection.release();
        row.map(|row| {
            Ok(ProjectDetails {
                id,
                name: row.try_get("name").map_err(backend)?,
                maximum_number_of_incomplete_tasks: row.try_get("max_incomplete_tasks").map_err(backend)?,
                archived_at: row.try_get("archived_at").map_err(backend)?,
                version: row.try_get("version").map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn tasks(&self, owner: UserId, id: ProjectId) -> Result<Option<Vec<TaskDetails>>, StoreError> {
        let mut connection = self.store.reader().await?;
        let rows = sqlx::query(sql::TASKS_OF_PROJECT)
            .bind(id.get())
            .bind(owner.as_uuid())
            .fetch_all(&mut *connection)
            .await
            .map_err(backend)?;
        connection.release();
        visible_tasks(&rows)
    }

    async fn task(&self, owner: UserId, id: ProjectId, number: TaskNumber) -> Result<Option<TaskDetails>, StoreError> {
        let mut connection = self.store.reader().await?;
        let row = sqlx::query(sql::TASK_DETAILS)
            .bind(id.get())
            .bind(number.get())
            .bind(owner.as_uuid())
            .fetch_optional(&mut *connection)
            .await
            .map_err(backend)?;
        connection.release();
        row.as_ref().map(|row| task_row(row).map_err(backend)?.into_details()).transpose()
    }
}

fn project_row(row: &PgRow) -> Result<ProjectRow, sqlx::Error> {
    Ok(ProjectRow {
        id: row.try_get("id")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        max_incomplete_tasks: row.try_get("max_incomplete_tasks")?,
        archived_at: row.try_get("archived_at")?,
        deleted_at: row.try_get("deleted_at")?,
        last_task_number: row.try_get("last_task_number")?,
        incomplete_tasks: row.try_get("incomplete_tasks")?,
        version: row.try_get("version")?,
    })
}

/// The tasks of a project-LEFT-JOIN-tasks answer: no row is an invisible project, one
/// row of NULL task columns a visible project without (matching) tasks.
fn visible_tasks(rows: &[PgRow]) -> Result<Option<Vec<TaskDetails>>, StoreError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut tasks = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(number) = row.try_get::<Option<i64>, _>("number").map_err(backend)? else { continue };
        let name = row.try_get("name").map_err(backend)?;
        let completed_at = row.try_get("completed_at").map_err(backend)?;
        tasks.push(TaskRow { number, name, completed_at }.into_details()?);
    }
    Ok(Some(tasks))
}

fn task_row(row: &PgRow) -> Result<TaskRow, sqlx::Error> {
    Ok(TaskRow {
        number: row.try_get("number")?,
        name: row.try_get("name")?,
        completed_at: row.try_get("completed_at")?,
    })
}

fn summary_row(row: &PgRow) -> Result<SummaryRow, sqlx::Error> {
    Ok(SummaryRow { id: row.try_get("id")?, name: row.try_get("name")?, archived_at: row.try_get("archived_at")? })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_kernel::{EventEnvelope, SystemClock};
    use taskdeck_platform_postgres::PostgresSettings;
    use taskdeck_projects::application::{AddTask, CreateProject, add_task, create_project};
    use taskdeck_projects::domain::{ProjectName, TaskName};
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;

    impl OutboxProbe for PostgresProjects {
        async fn outbox_events(&self) -> Vec<EventEnvelope> {
            self.store.outbox_events().await
        }
    }

    /// Each check on a fresh database; SKIPPED (loudly) without a PostgreSQL server.
    async fn fresh_store() -> Option<(PostgresProjects, TestDatabase)> {
        let test = TestDatabase::new(TestBackend::Postgres).await?;
        let database = PostgresDatabase::connect(&PostgresSettings::from_url(test.url()).expect("testkit's URL"))
            .await
            .expect("the test server answers");
        database.migrate(&[MIGRATIONS]).await.expect("the projects tables");
        Some((database.projects_store(&OutboxWriter::new()), test))
    }

    taskdeck_projects::projects_store_contract!(fresh_store);

    /// Counts the units of work begun, to tell a command that ran once from one that lost
    /// an optimistic-concurrency race and was retried.
    #[derive(Debug, Clone)]
    struct CountingStore {
        inner: PostgresProjects,
        begun: Arc<AtomicUsize>,
    }

    impl ProjectsStore for CountingStore {
        type Transaction = <PostgresProjects as ProjectsStore>::Transaction;

        async fn begin(&self) -> Result<Self::Transaction, StoreError> {
            self.begun.fetch_add(1, Ordering::SeqCst);
            self.inner.begin().await
        }
    }

    /// Commands on one project queue on its row lock (`SELECT … FOR UPDATE`): none of them
    /// loses a race (so none is retried), and the task numbers have neither gaps nor
    /// duplicates.
    #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
    async fn fifty_concurrent_task_additions_to_one_project_all_succeed_with_numbers_one_to_fifty() {
        const WRITERS: i64 = 50;
        let Some((store, _database)) = fresh_store().await else { return };
        let counting = CountingStore { inner: store.clone(), begun: Arc::new(AtomicUsize::new(0)) };
        let owner = UserId::generate();
        let project = create_project(
            &store,
            &SystemClock,
            CreateProject { owner, name: ProjectName::parse("Busy").expect("valid name"), limit: None },
            None,
        )
        .await
        .expect("create project");

        let writers: Vec<_> = (1..=WRITERS)
            .map(|n| {
                let store = counting.clone();
                let command = AddTask {
                    owner,
                    project: project.id,
                    name: TaskName::parse(&format!("Concurrent task {n}")).expect("valid name"),
                };
                tokio::spawn(async move { add_task(&store, &SystemClock, command, None).await })
            })
            .collect();
        let mut numbers = Vec::new();
        for writer in writers {
            let task = writer.await.expect("writer did not panic").expect("every addition succeeds");
            numbers.push(task.number.get());
        }
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=WRITERS).collect::<Vec<_>>());
        let begun = counting.begun.load(Ordering::SeqCst);
        assert_eq!(Ok(begun), usize::try_from(WRITERS), "no addition conflicted and had to be retried");

        let stored = store.tasks(owner, project.id).await.expect("query").expect("visible");
        let stored: Vec<i64> = stored.iter().map(|task| task.number.get()).collect();
        assert_eq!(stored, (1..=WRITERS).collect::<Vec<_>>());
    }
}
