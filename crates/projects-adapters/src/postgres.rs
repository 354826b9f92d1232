//! The projects ports on PostgreSQL: the repository inside READ COMMITTED units of
//! work that lock the project row they load, and the read model on the pool.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EventEnvelope, EventId, StoreError, UserId};
use taskdeck_platform::outbox::postgres::{PostgresOutbox, append};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::postgres::{PostgresDatabase, write_error};
use taskdeck_projects::application::{
    ProjectDetails, ProjectQueries, ProjectSummary, ProjectsStore, ProjectsTransaction, TaskDetails,
};
use taskdeck_projects::domain::{IncompleteTaskLimit, Project, ProjectId, TaskNumber};
use time::OffsetDateTime;

use crate::rows::{ProjectRow, SummaryRow, TaskRow, backend, corrupt};

/// The outbox probe only reads; the lease is never used.
const PROBE_LEASE: Duration = Duration::from_secs(30);

/// Projects and tasks in the PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresProjects {
    database: PostgresDatabase,
    outbox: OutboxFilter,
    relay: RelaySignal,
}

impl PostgresProjects {
    #[must_use]
    pub fn new(database: PostgresDatabase, outbox: OutboxFilter, relay: RelaySignal) -> Self {
        Self { database, outbox, relay }
    }
}

impl ProjectsStore for PostgresProjects {
    type Transaction = PostgresProjectsTransaction;

    async fn begin(&self) -> Result<Self::Transaction, StoreError> {
        Ok(PostgresProjectsTransaction {
            transaction: self.database.begin().await?,
            outbox: self.outbox.clone(),
            relay: self.relay.clone(),
            events_written: 0,
        })
    }
}

/// A unit of work on projects: one READ COMMITTED transaction. Loading a project locks
/// its row until commit, so concurrent commands on one project run one after the other
/// instead of conflicting; the version check in `save` still guards writes of a
/// project that was not loaded in the same unit of work.
#[derive(Debug)]
pub struct PostgresProjectsTransaction {
    transaction: Transaction<'static, Postgres>,
    outbox: OutboxFilter,
    relay: RelaySignal,
    events_written: usize,
}

impl PostgresProjectsTransaction {
    async fn write_tasks_and_events(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let id = project.id().get();
        for task in project.new_tasks() {
            sqlx::query("INSERT INTO tasks (project_id, number, name, completed_at) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(task.number().get())
                .bind(task.name().as_str())
                .bind(task.completed_at())
                .execute(&mut *self.transaction)
                .await
                .map_err(write_error)?;
        }
        for task in project.changed_tasks() {
            sqlx::query("UPDATE tasks SET name = $1, completed_at = $2 WHERE project_id = $3 AND number = $4")
                .bind(task.name().as_str())
                .bind(task.completed_at())
                .bind(id)
                .bind(task.number().get())
                .execute(&mut *self.transaction)
                .await
                .map_err(backend)?;
        }
        let events = project
            .take_events()
            .iter()
            .map(|event| event.to_envelope().map_err(StoreError::backend))
            .collect::<Result<Vec<EventEnvelope>, _>>()?;
        self.events_written += append(&mut self.transaction, &self.outbox, &events).await?;
        project.mark_saved();
        Ok(())
    }
}

impl ProjectsTransaction for PostgresProjectsTransaction {
    async fn next_project_id(&mut self) -> Result<ProjectId, StoreError> {
        // The identity column's sequence: never handed out twice, even if this unit of
        // work rolls back (the id is then simply skipped).
        let next: i64 = sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('projects', 'id'))")
            .fetch_one(&mut *self.transaction)
            .await
            .map_err(backend)?;
        ProjectId::new(next).map_err(|_| corrupt("id sequence"))
    }

    async fn project(&mut self, id: ProjectId, with_task: Option<TaskNumber>) -> Result<Option<Project>, StoreError> {
        let row = sqlx::query(
            "SELECT id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at, last_task_number,
                    incomplete_tasks, version
             FROM projects WHERE id = $1
             FOR UPDATE",
        )
        .bind(id.get())
        .fetch_optional(&mut *self.transaction)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state = project_row(&row).map_err(backend)?.into_state()?;
        let task = match with_task {
            Some(number) => {
                sqlx::query("SELECT number, name, completed_at FROM tasks WHERE project_id = $1 AND number = $2")
                    .bind(id.get())
                    .bind(number.get())
                    .fetch_optional(&mut *self.transaction)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(|row| task_row(row).map_err(backend)?.into_task())
                    .transpose()?
            }
            None => None,
        };
        Ok(Some(Project::restore(state, task)))
    }

    async fn add(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        sqlx::query(
            "INSERT INTO projects (id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at,
                                   last_task_number, incomplete_tasks, version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)",
        )
        .bind(state.id.get())
        .bind(state.owner.as_uuid())
        .bind(state.name.as_str())
        .bind(state.limit.map(IncompleteTaskLimit::get))
        .bind(state.archived_at)
        .bind(state.deleted_at)
        .bind(state.last_task_number)
        .bind(state.incomplete_tasks)
        .bind(OffsetDateTime::now_utc())
        .execute(&mut *self.transaction)
        .await
        .map_err(write_error)?;
        self.write_tasks_and_events(project).await
    }

    async fn save(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let state = project.state();
        let updated = sqlx::query(
            "UPDATE projects
             SET name = $1, max_incomplete_tasks = $2, archived_at = $3, deleted_at = $4, last_task_number = $5,
                 incomplete_tasks = $6, version = version + 1
             WHERE id = $7 AND version = $8",
        )
        .bind(state.name.as_str())
        .bind(state.limit.map(IncompleteTaskLimit::get))
        .bind(state.archived_at)
        .bind(state.deleted_at)
        .bind(state.last_task_number)
        .bind(state.incomplete_tasks)
        .bind(state.id.get())
        .bind(state.version)
        .execute(&mut *self.transaction)
        .await
        .map_err(backend)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        self.write_tasks_and_events(project).await
    }

    async fn mark_event_handled(&mut self, consumer: &'static str, event: EventId) -> Result<bool, StoreError> {
        // A concurrent unit of work marking the same event waits on the primary key
        // until this one ends, then inserts nothing: exactly one of them sees `true`.
        let inserted = sqlx::query(
            "INSERT INTO inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3)
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(event.as_uuid())
        .bind(OffsetDateTime::now_utc())
        .execute(&mut *self.transaction)
        .await
        .map_err(backend)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn commit(self) -> Result<(), StoreError> {
        self.transaction.commit().await.map_err(backend)?;
        // `append` already queued a NOTIFY for the other instances' relays; this wakes
        // the relay of this one without a round trip through the server.
        if self.events_written > 0 {
            self.relay.notify();
        }
        Ok(())
    }
}

impl ProjectQueries for PostgresProjects {
    async fn projects_of(&self, owner: UserId) -> Result<Vec<ProjectSummary>, StoreError> {
        let mut connection = self.database.reader().await?;
        let rows = sqlx::query(
            "SELECT id, name, archived_at FROM projects
             WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(owner.as_uuid())
        .fetch_all(&mut *connection)
        .await
        .map_err(backend)?;
        connection.release();
        rows.iter().map(|row| summary_row(row).map_err(backend)?.into_summary()).collect()
    }

    async fn project(&self, owner: UserId, id: ProjectId) -> Result<Option<ProjectDetails>, StoreError> {
        let mut connection = self.database.reader().await?;
        let row = sqlx::query(
            "SELECT id, name, max_incomplete_tasks, archived_at FROM projects
             WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL",
        )
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
            })
        })
        .transpose()
    }

    async fn tasks(&self, owner: UserId, id: ProjectId) -> Result<Option<Vec<TaskDetails>>, StoreError> {
        // One round trip: the LEFT JOIN yields one row with NULL task columns for a
        // visible project without tasks, and no row for an invisible project.
        let mut connection = self.database.reader().await?;
        let rows = sqlx::query(
            "SELECT t.number, t.name, t.completed_at FROM projects p
             LEFT JOIN tasks t ON t.project_id = p.id
             WHERE p.id = $1 AND p.owner_id = $2 AND p.deleted_at IS NULL
             ORDER BY t.number",
        )
        .bind(id.get())
        .bind(owner.as_uuid())
        .fetch_all(&mut *connection)
        .await
        .map_err(backend)?;
        connection.release();
        if rows.is_empty() {
            return Ok(None);
        }
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            let number: Option<i64> = row.try_get("number").map_err(backend)?;
            if number.is_some() {
                tasks.push(task_row(row).map_err(backend)?.into_details()?);
            }
        }
        Ok(Some(tasks))
    }

    async fn task(&self, owner: UserId, id: ProjectId, number: TaskNumber) -> Result<Option<TaskDetails>, StoreError> {
        let mut connection = self.database.reader().await?;
        let row = sqlx::query(
            "SELECT t.number, t.name, t.completed_at FROM tasks t
             JOIN projects p ON p.id = t.project_id
             WHERE t.project_id = $1 AND t.number = $2 AND p.owner_id = $3 AND p.deleted_at IS NULL",
        )
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

impl OutboxProbe for PostgresProjects {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        PostgresOutbox::new(self.database.clone(), PROBE_LEASE).all_events().await.unwrap_or_default()
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
