//! The projects ports on SQLite: the repository inside `BEGIN IMMEDIATE` units of
//! work, and the read model on the reader connections.

use rusqlite::{OptionalExtension, Row};
use taskdeck_kernel::{EventId, IdempotencyClaim, RecordedAnswer, StoreError, UserId};
use taskdeck_platform::Migration;
use taskdeck_platform::outbox::OutboxWriter;
use taskdeck_platform_sqlite::{
    CachedStatements, SqliteDatabase, SqliteStore, SqliteUnitOfWork, Timestamp, write_error,
};
use taskdeck_projects::application::{
    Page, PageSize, ProjectDetails, ProjectFilter, ProjectQueries, ProjectSummary, ProjectsStore, ProjectsTransaction,
    TaskDetails, TaskFilter,
};
use taskdeck_projects::domain::{IncompleteTaskLimit, Project, ProjectId, TaskNumber};
use time::OffsetDateTime;

use crate::module::ProjectsBackend;
use crate::rows::{ProjectRow, SummaryRow, TaskRow, backend, corrupt};
use crate::sql;

/// The projects tables on SQLite.
const MIGRATIONS: &[Migration] = &[
    Migration { version: 2, description: "projects", sql: include_str!("../migrations/sqlite/0002_projects.sql") },
    Migration {
        version: 8,
        description: "task filters",
        sql: include_str!("../migrations/sqlite/0008_task_filters.sql"),
    },
];

impl ProjectsBackend for SqliteDatabase {
    type Store = SqliteProjects;

    const MIGRATIONS: &'static [Migration] = MIGRATIONS;

    fn projects_store(&self, outbox: &OutboxWriter) -> SqliteProjects {
        SqliteProjects { store: SqliteStore::new(self.clone(), outbox.clone()) }
    }
}

/// Projects and tasks in the SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteProjects {
    store: SqliteStore,
}

impl ProjectsStore for SqliteProjects {
    type Transaction = SqliteProjectsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(SqliteProjectsTransaction(self.store.begin().await?))
    }
}

fn timestamp(row: &Row<'_>, column: &str) -> rusqlite::Result<Option<OffsetDateTime>> {
    Ok(row.get::<_, Option<Timestamp>>(column)?.map(|Timestamp(instant)| instant))
}

fn project_row(row: &Row<'_>) -> rusqlite::Result<ProjectRow> {
    Ok(ProjectRow {
        id: row.get("id")?,
        owner_id: row.get("owner_id")?,
        name: row.get("name")?,
        max_incomplete_tasks: row.get("max_incomplete_tasks")?,
        archived_at: timestamp(row, "archived_at")?,
        deleted_at: timestamp(row, "deleted_at")?,
        last_task_number: row.get("last_task_number")?,
        incomplete_tasks: row.get("incomplete_tasks")?,
        version: row.get("version")?,
    })
}

/// A row of a project-LEFT-JOIN-tasks answer: NULL task columns are a visible project
/// without (matching) tasks.
fn joined_task_row(row: &Row<'_>) -> rusqlite::Result<Option<TaskRow>> {
    let number: Option<i64> = row.get(0)?;
    number.map(|number| task_columns(row, number)).transpose()
}

fn task_row(row: &Row<'_>) -> rusqlite::Result<TaskRow> {
    task_columns(row, row.get(0)?)
}

/// Every statement that yields tasks selects `number, name, completed_at` first, in
/// this order (a test checks it): they are read by position, since rusqlite finds a
/// column by name by comparing it with every column's name, for every value read.
fn task_columns(row: &Row<'_>, number: i64) -> rusqlite::Result<TaskRow> {
    let completed_at = row.get::<_, Option<Timestamp>>(2)?.map(|Timestamp(instant)| instant);
    Ok(TaskRow { number, name: row.get(1)?, completed_at })
}

fn summary_row(row: &Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok(SummaryRow { id: row.get("id")?, name: row.get("name")?, archived_at: timestamp(row, "archived_at")? })
}

/// A unit of work on projects.
#[derive(Debug)]
pub struct SqliteProjectsTransaction(SqliteUnitOfWork);

impl SqliteProjectsTransaction {
    fn write_tasks_and_events(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let connection = self.0.connection();
        let id = project.id().get();
        for task in project.new_tasks() {
            connection
                .execute_cached(
                    sql::INSERT_TASK,
                    (id, task.number().get(), task.name().as_str(), task.completed_at().map(Timestamp)),
                )
                .map_err(|error| StoreError::from(write_error(error)))?;
        }
        for task in project.changed_tasks() {
            connection
                .execute_cached(
                    sql::UPDATE_TASK,
                    (task.name().as_str(), task.completed_at().map(Timestamp), id, task.number().get()),
                )
                .map_err(backend)?;
        }
        self.0.record(&project.take_events())?;
        project.mark_saved();
        Ok(())
    }
}

impl ProjectsTransaction for SqliteProjectsTransaction {
    async fn next_project_id(&mut self) -> Result<ProjectId, StoreError> {
        // Safe without a sequence: this transaction holds SQLite's write lock.
        let next: i64 = self
            .0
            .connection()
            .query_row_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM projects", [], |row| row.get(0))
            .map_err(backend)?;
        ProjectId::new(next).map_err(|_| corrupt("id sequence"))
    }

    async fn project(&mut self, id: ProjectId, with_task: Option<TaskNumber>) -> Result<Option<Project>, StoreError> {
        let connection = self.0.connection();
        let row = connection.query_row_cached(sql::PROJECT, [id.get()], project_row).optional().map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state = row.into_state()?;
        let task = match with_task {
            Some(number) => connection
                .query_row_cached(sql::TASK, (id.get(), number.get()), task_row)
                .optional()
                .map_err(backend)?
                .map(TaskRow::into_task)
                .transpose()?,
            None => None,
        };
        Ok(Some(Project::restore(state, task)))
    }

    async fn add(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        self.0
            .connection()
            .execute_cached(
                sql::INSERT_PROJECT,
                (
                    state.id.get(),
                    state.owner.as_uuid(),
                    state.name.as_str(),
                    state.limit.map(IncompleteTaskLimit::get),
                    state.archived_at.map(Timestamp),
                    state.deleted_at.map(Timestamp),
                    state.last_task_number,
                    state.incomplete_tasks,
                    Timestamp(OffsetDateTime::now_utc()),
                ),
            )
            .map_err(|error| StoreError::from(write_error(error)))?;
        self.write_tasks_and_events(project)
    }

    async fn save(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        let updated = self
            .0
            .connection()
            .execute_cached(
                sql::UPDATE_PROJECT,
                (
                    state.name.as_str(),
                    state.limit.map(IncompleteTaskLimit::get),
                    state.archived_at.map(Timestamp),
                    state.deleted_at.map(Timestamp),
                    state.last_task_number,
                    state.incomplete_tasks,
                    state.id.get(),
                    state.version,
                ),
            )
            .map_err(backend)?;
        if updated == 0 {
            return Err(StoreError::Conflict);
        }
        self.write_tasks_and_events(project)
    }

    async fn erase_projects_of(&mut self, owner: UserId) -> Result<u64, StoreError> {
        let connection = self.0.connection();
        connection.execute_cached(sql::ERASE_TASKS_OF_OWNER, [owner.as_uuid()]).map_err(backend)?;
        let erased = connection.execute_cached(sql::ERASE_PROJECTS_OF_OWNER, [owner.as_uuid()]).map_err(backend)?;
        Ok(u64::try_from(erased).unwrap_or(u64::MAX))
    }

    async fn mark_event_handled(&mut self, consumer: &'static str, event: EventId) -> Result<bool, StoreError> {
        self.0.mark_event_handled(consumer, event)
    }

    async fn record_answer(&mut self, claim: &IdempotencyClaim, answer: &RecordedAnswer) -> Result<(), StoreError> {
        self.0.record_answer(claim, answer)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.0.commit()
    }
}

impl ProjectQueries for SqliteProjects {
    async fn projects_of(&self, owner: UserId) -> Result<Vec<ProjectSummary>, StoreError> {
        let rows = self.store.read(|connection| {
            connection
                .prepare_cached(sql::PROJECTS_OF)?
                .query_map([owner.as_uuid()], summary_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    async fn project_page(
        &self,
        owner: UserId,
        filter: &ProjectFilter,
        after: Option<ProjectId>,
        size: PageSize,
    ) -> Result<Page<ProjectSummary>, StoreError> {
        let after = after.map_or(0, ProjectId::get);
        let rows = self.store.read(|connection| {
            let mut statement = connection.prepare_cached(sql::sqlite_project_page(filter))?;
            let rows = match &filter.name_contains {
                Some(text) => {
                    statement.query_map((owner.as_uuid(), after, text.as_str(), size.probe()), summary_row)?
                }
                None => statement.query_map((owner.as_uuid(), after, size.probe()), summary_row)?,
            };
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let projects = rows.into_iter().map(SummaryRow::into_summary).collect::<Result<_, _>>()?;
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
        let after = after.map_or(0, TaskNumber::get);
        let rows = self.store.read(|connection| {
            let mut statement = connection.prepare_cached(sql::sqlite_task_page(filter))?;
            let rows = match &filter.name_contains {
                Some(text) => statement
                    .query_map((after, text.as_str(), id.get(), owner.as_uuid(), size.probe()), joined_task_row)?,
                None => statement.query_map((after, id.get(), owner.as_uuid(), size.probe()), joined_task_row)?,
            };
            rows.collect::<rusqlite::Result<Vec<Option<TaskRow>>>>()
        })?;
        if rows.is_empty() {
            return Ok(None);
        }
        let tasks = rows.into_iter().flatten().map(TaskRow::into_details).collect::<Result<_, _>>()?;
        Ok(Some(Page::from_probe(tasks, size)))
    }

    async fn project(&self, owner: UserId, id: ProjectId) -> Result<Option<ProjectDetails>, StoreError> {
        self.store.read(|connection| {
            connection
                .query_row_cached(sql::PROJECT_DETAILS, (id.get(), owner.as_uuid()), |row| {
                    Ok(ProjectDetails {
                        id,
                        name: row.get("name")?,
                        maximum_number_of_incomplete_tasks: row.get("max_incomplete_tasks")?,
                        archived_at: timestamp(row, "archived_at")?,
                        version: row.get("version")?,
                    })
                })
                .optional()
        })
    }

    async fn tasks(&self, owner: UserId, id: ProjectId) -> Result<Option<Vec<TaskDetails>>, StoreError> {
        let rows = self.store.read(|connection| {
            connection
                .prepare_cached(sql::TASKS_OF_PROJECT)?
                .query_map((id.get(), owner.as_uuid()), joined_task_row)?
                .collect::<rusqlite::Result<Vec<Option<TaskRow>>>>()
        })?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.into_iter().flatten().map(TaskRow::into_details).collect::<Result<_, _>>().map(Some)
    }

    async fn task(&self, owner: UserId, id: ProjectId, number: TaskNumber) -> Result<Option<TaskDetails>, StoreError> {
        let row = self.store.read(|connection| {
            connection
                .query_row_cached(sql::TASK_DETAILS, (id.get(), number.get(), owner.as_uuid()), task_row)
                .optional()
        })?;
        row.map(TaskRow::into_details).transpose()
    }
}

#[cfg(test)]
mod tests {
    use taskdeck_kernel::EventEnvelope;
    use taskdeck_kernel::testing::OutboxProbe;
    use taskdeck_platform_sqlite::SqliteSettings;
    use taskdeck_testkit::{TestBackend, TestDatabase};

    use super::*;

    impl OutboxProbe for SqliteProjects {
        async fn outbox_events(&self) -> Vec<EventEnvelope> {
            self.store.outbox_events().await
        }
    }

    /// A migrated database on testkit's temporary file, and the file's guard.
    async fn migrated() -> (SqliteDatabase, TestDatabase) {
        let test = TestDatabase::new(TestBackend::Sqlite).await.expect("SQLite needs no server");
        let settings = SqliteSettings::from_url(test.url()).expect("testkit's URL");
        let database = SqliteDatabase::open(&settings).await.expect("a fresh file opens");
        database.migrate(&[MIGRATIONS]).await.expect("the projects tables");
        (database, test)
    }

    async fn fresh_store() -> Option<(SqliteProjects, TestDatabase)> {
        let (database, test) = migrated().await;
        Some((database.projects_store(&OutboxWriter::new()), test))
    }

    taskdeck_projects::projects_store_contract!(fresh_store);

    #[tokio::test]
    async fn every_statement_yielding_tasks_selects_the_task_columns_first_in_order() {
        let (database, _test) = migrated().await;
        let mut statements = vec![sql::TASK, sql::TASK_DETAILS, sql::TASKS_OF_PROJECT];
        statements.extend(sql::every_filter().iter().map(|(tasks, _)| sql::sqlite_task_page(tasks)));
        database
            .read(|connection| {
                for statement in statements {
                    let prepared = connection.prepare(statement)?;
                    assert_eq!(prepared.column_names()[..3], ["number", "name", "completed_at"], "{statement}");
                }
                Ok(())
            })
            .expect("the statements prepare");
    }

    #[tokio::test]
    async fn the_statements_shared_with_postgres_number_their_parameters_in_order() {
        migrated().await.0.assert_parameters_numbered_in_order(sql::SHARED);
        let pages: Vec<&str> = sql::every_filter()
            .iter()
            .flat_map(|(tasks, projects)| [sql::sqlite_task_page(tasks), sql::sqlite_project_page(projects)])
            .collect();
        migrated().await.0.assert_parameters_numbered_in_order(&pages);
    }
}
