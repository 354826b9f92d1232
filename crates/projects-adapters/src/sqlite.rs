//! The projects ports on SQLite: the repository inside `BEGIN IMMEDIATE` units of
//! work, and the read model on the reader pool.

use sqlx::{Row, Sqlite, Transaction};
use taskdeck_kernel::testing::OutboxProbe;
use taskdeck_kernel::{EventEnvelope, EventId, StoreError, UserId};
use taskdeck_platform::outbox::sqlite::{SqliteOutbox, append};
use taskdeck_platform::outbox::{OutboxFilter, RelaySignal};
use taskdeck_platform::sqlite::{SqliteDatabase, write_error};
use taskdeck_projects::application::{
    ProjectDetails, ProjectQueries, ProjectSummary, ProjectsStore, ProjectsTransaction, TaskDetails,
};
use taskdeck_projects::domain::{IncompleteTaskLimit, Project, ProjectId, TaskNumber};
use time::OffsetDateTime;

use crate::rows::{backend, corrupt, project_state, project_summary, task, task_details};

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

/// A unit of work on projects: one `BEGIN IMMEDIATE` transaction.
#[derive(Debug)]
pub struct SqliteProjectsTransaction {
    transaction: Transaction<'static, Sqlite>,
    outbox: OutboxFilter,
    relay: RelaySignal,
    events_written: usize,
}

impl SqliteProjectsTransaction {
    async fn write_tasks_and_events(&mut self, project: &mut Project) -> Result<(), StoreError> {
        let id = project.id().get();
        for task in project.new_tasks() {
            sqlx::query("INSERT INTO tasks (project_id, number, name, completed_at) VALUES (?, ?, ?, ?)")
                .bind(id)
                .bind(task.number().get())
                .bind(task.name().as_str())
                .bind(task.completed_at())
                .execute(&mut *self.transaction)
                .await
                .map_err(write_error)?;
        }
        for task in project.changed_tasks() {
            sqlx::query("UPDATE tasks SET name = ?, completed_at = ? WHERE project_id = ? AND number = ?")
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

impl ProjectsTransaction for SqliteProjectsTransaction {
    async fn next_project_id(&mut self) -> Result<ProjectId, StoreError> {
        // Safe without a sequence: this transaction holds SQLite's write lock.
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM projects")
            .fetch_one(&mut *self.transaction)
            .await
            .map_err(backend)?;
        ProjectId::new(next).map_err(|_| corrupt("id sequence"))
    }

    async fn project(&mut self, id: ProjectId, with_task: Option<TaskNumber>) -> Result<Option<Project>, StoreError> {
        let row = sqlx::query(
            "SELECT id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at, last_task_number,
                    incomplete_tasks, version
             FROM projects WHERE id = ?",
        )
        .bind(id.get())
        .fetch_optional(&mut *self.transaction)
        .await
        .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let state = project_state(&row)?;
        let task = match with_task {
            Some(number) => {
                sqlx::query("SELECT number, name, completed_at FROM tasks WHERE project_id = ? AND number = ?")
                    .bind(id.get())
                    .bind(number.get())
                    .fetch_optional(&mut *self.transaction)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(task)
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
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
             SET name = ?, max_incomplete_tasks = ?, archived_at = ?, deleted_at = ?, last_task_number = ?,
                 incomplete_tasks = ?, version = version + 1
             WHERE id = ? AND version = ?",
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
        let inserted = sqlx::query(
            "INSERT INTO inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)
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
        if self.events_written > 0 {
            self.relay.notify();
        }
        Ok(())
    }
}

impl ProjectQueries for SqliteProjects {
    async fn projects_of(&self, owner: UserId) -> Result<Vec<ProjectSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, archived_at FROM projects
             WHERE owner_id = ? AND deleted_at IS NULL ORDER BY id",
        )
        .bind(owner.as_uuid())
        .fetch_all(self.database.reader())
        .await
        .map_err(backend)?;
        rows.iter().map(project_summary).collect()
    }

    async fn project(&self, owner: UserId, id: ProjectId) -> Result<Option<ProjectDetails>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, max_incomplete_tasks, archived_at FROM projects
             WHERE id = ? AND owner_id = ? AND deleted_at IS NULL",
        )
        .bind(id.get())
        .bind(owner.as_uuid())
        .fetch_optional(self.database.reader())
        .await
        .map_err(backend)?;
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
        let rows = sqlx::query(
            "SELECT t.number, t.name, t.completed_at FROM projects p
             LEFT JOIN tasks t ON t.project_id = p.id
             WHERE p.id = ? AND p.owner_id = ? AND p.deleted_at IS NULL
             ORDER BY t.number",
        )
        .bind(id.get())
        .bind(owner.as_uuid())
        .fetch_all(self.database.reader())
        .await
        .map_err(backend)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            let number: Option<i64> = row.try_get("number").map_err(backend)?;
            if number.is_some() {
                tasks.push(task_details(row)?);
            }
        }
        Ok(Some(tasks))
    }

    async fn task(&self, owner: UserId, id: ProjectId, number: TaskNumber) -> Result<Option<TaskDetails>, StoreError> {
        let row = sqlx::query(
            "SELECT t.number, t.name, t.completed_at FROM tasks t
             JOIN projects p ON p.id = t.project_id
             WHERE t.project_id = ? AND t.number = ? AND p.owner_id = ? AND p.deleted_at IS NULL",
        )
        .bind(id.get())
        .bind(number.get())
        .bind(owner.as_uuid())
        .fetch_optional(self.database.reader())
        .await
        .map_err(backend)?;
        row.as_ref().map(task_details).transpose()
    }
}

impl OutboxProbe for SqliteProjects {
    async fn outbox_events(&self) -> Vec<EventEnvelope> {
        SqliteOutbox::new(self.database.clone()).all_events().await.unwrap_or_default()
    }
}
