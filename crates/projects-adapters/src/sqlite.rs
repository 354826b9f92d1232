//! The projects ports on SQLite: the repository inside `BEGIN IMMEDIATE` units of
//! work, and the read model on the reader connections.

use rusqlite::{OptionalExtension, Row};
use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EventEnvelope, EventId, StoreError, UserId};
use taskdeck_platform::outbox::sqlite::{SqliteOutbox, append};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::sqlite::{CachedStatements, SqliteDatabase, Timestamp, WriteTransaction, write_error};
use taskdeck_projects::application::{
    ProjectDetails, ProjectQueries, ProjectSummary, ProjectsStore, ProjectsTransaction, TaskDetails,
};
use taskdeck_projects::domain::{IncompleteTaskLimit, Project, ProjectId, TaskNumber};
use time::OffsetDateTime;

use crate::rows::{ProjectRow, SummaryRow, TaskRow, backend, corrupt};

/// Projects and tasks in the SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteProjects {
    database: SqliteDatabase,
    outbox: OutboxFilter,
    relay: RelaySignal,
}

impl SqliteProjects {
    #[must_use]
    pub fn new(database: SqliteDatabase, outbox: OutboxFilter, relay: RelaySignal) -> Self {
        Self { database, outbox, relay }
    }
}

impl ProjectsStore for SqliteProjects {
    type Transaction = SqliteProjectsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(SqliteProjectsTransaction {
            transaction: self.database.begin_write().await?,
            outbox: self.outbox.clone(),
            relay: self.relay.clone(),
            events_written: 0,
        })
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

fn task_row(row: &Row<'_>) -> rusqlite::Result<TaskRow> {
    Ok(TaskRow { number: row.get("number")?, name: row.get("name")?, completed_at: timestamp(row, "completed_at")? })
}

fn summary_row(row: &Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok(SummaryRow { id: row.get("id")?, name: row.get("name")?, archived_at: timestamp(row, "archived_at")? })
}

/// A unit of work on projects: one `BEGIN IMMEDIATE` transaction.
#[derive(Debug)]
pub struct SqliteProjectsTransaction {
    transaction: WriteTransaction,
    outbox: OutboxFilter,
    relay: RelaySignal,
    events_written: usize,
}

impl SqliteProjectsTransaction {
    fn write_tasks_and_events(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let connection = self.transaction.connection();
        let id = project.id().get();
        for task in project.new_tasks() {
            connection
                .execute_cached(
                    "INSERT INTO tasks (project_id, number, name, completed_at) VALUES (?, ?, ?, ?)",
                    (id, task.number().get(), task.name().as_str(), task.completed_at().map(Timestamp)),
                )
                .map_err(write_error)?;
        }
        for task in project.changed_tasks() {
            connection
                .execute_cached(
                    "UPDATE tasks SET name = ?, completed_at = ? WHERE project_id = ? AND number = ?",
                    (task.name().as_str(), task.completed_at().map(Timestamp), id, task.number().get()),
                )
                .map_err(backend)?;
        }
        let events = project
            .take_events()
            .iter()
            .map(|event| event.to_envelope().map_err(StoreError::backend))
            .collect::<Result<Vec<EventEnvelope>, _>>()?;
        self.events_written += append(connection, &self.outbox, &events)?;
        project.mark_saved();
        Ok(())
    }
}

impl ProjectsTransaction for SqliteProjectsTransaction {
    async fn next_project_id(&mut self) -> Result<ProjectId, StoreError> {
        // Safe without a sequence: this transaction holds SQLite's write lock.
        let next: i64 = self
            .transaction
            .connection()
            .query_row_cached("SELECT COALESCE(MAX(id), 0) + 1 FROM projects", [], |row| row.get(0))
            .map_err(backend)?;
        ProjectId::new(next).map_err(|_| corrupt("id sequence"))
    }

    async fn project(&mut self, id: ProjectId, with_task: Option<TaskNumber>) -> Result<Option<Project>, StoreError> {
        let connection = self.transaction.connection();
        let row = connection
            .query_row_cached(
                "SELECT id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at, last_task_number,
                        incomplete_tasks, version
                 FROM projects WHERE id = ?",
                [id.get()],
                project_row,
            )
            .optional()
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state = row.into_state()?;
        let task = match with_task {
            Some(number) => connection
                .query_row_cached(
                    "SELECT number, name, completed_at FROM tasks WHERE project_id = ? AND number = ?",
                    (id.get(), number.get()),
                    task_row,
                )
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
        self.transaction
            .connection()
            .execute_cached(
                "INSERT INTO projects (id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at,
                                       last_task_number, incomplete_tasks, version, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
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
            .map_err(write_error)?;
        self.write_tasks_and_events(project)
    }

    async fn save(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        let updated = self
            .transaction
            .connection()
            .execute_cached(
                "UPDATE projects
                 SET name = ?, max_incomplete_tasks = ?, archived_at = ?, deleted_at = ?, last_task_number = ?,
                     incomplete_tasks = ?, version = version + 1
                 WHERE id = ? AND version = ?",
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

    async fn mark_event_handled(&mut self, consumer: &'static str, event: EventId) -> Result<bool, StoreError> {
        let inserted = self
            .transaction
            .connection()
            .execute_cached(
                "INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)
                 ON CONFLICT (consumer, event_id) DO NOTHING",
                (consumer, event.as_uuid(), Timestamp(OffsetDateTime::now_utc())),
            )
            .map_err(backend)?;
        Ok(inserted == 1)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit()?;
        if self.events_written > 0 {
            self.relay.notify();
        }
        Ok(())
    }
}

impl ProjectQueries for SqliteProjects {
    async fn projects_of(&self, owner: UserId) -> Result<Vec<ProjectSummary>, StoreError> {
        let rows = self.database.read(|connection| {
            connection
                .prepare_cached(
                    "SELECT id, name, archived_at FROM projects
                     WHERE owner_id = ? AND deleted_at IS NULL ORDER BY id",
                )?
                .query_map([owner.as_uuid()], summary_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    async fn project(&self, owner: UserId, id: ProjectId) -> Result<Option<ProjectDetails>, StoreError> {
        self.database.read(|connection| {
            connection
                .query_row_cached(
                    "SELECT name, max_incomplete_tasks, archived_at FROM projects
                     WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
                    (id.get(), owner.as_uuid()),
                    |row| {
                        Ok(ProjectDetails {
                            id,
                            name: row.get("name")?,
                            maximum_number_of_incomplete_tasks: row.get("max_incomplete_tasks")?,
                            archived_at: timestamp(row, "archived_at")?,
                        })
                    },
                )
                .optional()
        })
    }

    async fn tasks(&self, owner: UserId, id: ProjectId) -> Result<Option<Vec<TaskDetails>>, StoreError> {
        // One query: the LEFT JOIN yields one row with NULL task columns for a visible
        // project without tasks, and no row for an invisible project.
        let rows = self.database.read(|connection| {
            connection
                .prepare_cached(
                    "SELECT t.number, t.name, t.completed_at FROM projects p
                     LEFT JOIN tasks t ON t.project_id = p.id
                     WHERE p.id = ? AND p.owner_id = ? AND p.deleted_at IS NULL
                     ORDER BY t.number",
                )?
                .query_map((id.get(), owner.as_uuid()), |row| {
                    let number: Option<i64> = row.get("number")?;
                    number.map(|_| task_row(row)).transpose()
                })?
                .collect::<rusqlite::Result<Vec<Option<TaskRow>>>>()
        })?;
        if rows.is_empty() {
            return Ok(None);
        }
        rows.into_iter().flatten().map(TaskRow::into_details).collect::<Result<_, _>>().map(Some)
    }

    async fn task(&self, owner: UserId, id: ProjectId, number: TaskNumber) -> Result<Option<TaskDetails>, StoreError> {
        let row = self.database.read(|connection| {
            connection
                .query_row_cached(
                    "SELECT t.number, t.name, t.completed_at FROM tasks t
                     JOIN projects p ON p.id = t.project_id
                     WHERE t.project_id = ? AND t.number = ? AND p.owner_id = ? AND p.deleted_at IS NULL",
                    (id.get(), number.get(), owner.as_uuid()),
                    task_row,
                )
                .optional()
        })?;
        row.map(TaskRow::into_details).transpose()
    }
}

impl OutboxProbe for SqliteProjects {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        SqliteOutbox::new(self.database.clone()).all_events().await.unwrap_or_default()
    }
}
