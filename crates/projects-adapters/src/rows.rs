//! Stored rows to domain values, shared by the SQLite and PostgreSQL adapters. Each
//! backend reads its own row type into these plain structs (the column names are the
//! same on both); turning them into domain values, and reporting a corrupt one, is
//! done once, here.

use taskdeck_kernel::{StoreError, UserId};
use taskdeck_projects::application::{ProjectSummary, TaskDetails};
use taskdeck_projects::domain::{
    IncompleteTaskLimit, ProjectId, ProjectName, ProjectState, Task, TaskName, TaskNumber,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::backend(error)
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("stored project has an invalid {what}")))
}

fn project_id(id: i64) -> Result<ProjectId, StoreError> {
    ProjectId::new(id).map_err(|_| corrupt("id"))
}

fn task_number(number: i64) -> Result<TaskNumber, StoreError> {
    TaskNumber::new(number).map_err(|_| corrupt("task number"))
}

/// A whole `projects` row, for the repository.
#[derive(Debug)]
pub(crate) struct ProjectRow {
    pub id: i64,
    pub owner_id: Uuid,
    pub name: String,
    pub max_incomplete_tasks: Option<i64>,
    pub archived_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    pub last_task_number: i64,
    pub incomplete_tasks: i64,
    pub version: i64,
}

impl ProjectRow {
    pub(crate) fn into_state(self) -> Result<ProjectState, StoreError> {
        Ok(ProjectState {
            id: project_id(self.id)?,
            owner: UserId::from_uuid(self.owner_id),
            name: ProjectName::restore(&self.name).map_err(|_| corrupt("name"))?,
            limit: self.max_incomplete_tasks.map(IncompleteTaskLimit::new).transpose().map_err(|_| corrupt("limit"))?,
            archived_at: self.archived_at,
            deleted_at: self.deleted_at,
            last_task_number: self.last_task_number,
            incomplete_tasks: self.incomplete_tasks,
            version: self.version,
        })
    }
}

/// A `tasks` row.
#[derive(Debug)]
pub(crate) struct TaskRow {
    pub number: i64,
    pub name: String,
    pub completed_at: Option<OffsetDateTime>,
}

impl TaskRow {
    /// For the repository.
    pub(crate) fn into_task(self) -> Result<Task, StoreError> {
        Ok(Task::restore(
            task_number(self.number)?,
            TaskName::restore(&self.name).map_err(|_| corrupt("task name"))?,
            self.completed_at,
        ))
    }

    /// For the read model.
    pub(crate) fn into_details(self) -> Result<TaskDetails, StoreError> {
        Ok(TaskDetails { number: task_number(self.number)?, name: self.name, completed_at: self.completed_at })
    }
}

/// A project row of a list, for the read model.
#[derive(Debug)]
pub(crate) struct SummaryRow {
    pub id: i64,
    pub name: String,
    pub archived_at: Option<OffsetDateTime>,
}

impl SummaryRow {
    pub(crate) fn into_summary(self) -> Result<ProjectSummary, StoreError> {
        Ok(ProjectSummary { id: project_id(self.id)?, name: self.name, archived_at: self.archived_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project_row() -> ProjectRow {
        ProjectRow {
            id: 7,
            owner_id: Uuid::new_v4(),
            name: "Household".to_owned(),
            max_incomplete_tasks: Some(3),
            archived_at: None,
            deleted_at: None,
            last_task_number: 2,
            incomplete_tasks: 1,
            version: 4,
        }
    }

    #[test]
    fn a_valid_row_becomes_the_project_state() {
        let state = project_row().into_state().unwrap();
        assert_eq!(state.id.get(), 7);
        assert_eq!(state.name.as_str(), "Household");
        assert_eq!(state.limit.map(IncompleteTaskLimit::get), Some(3));
        assert_eq!((state.last_task_number, state.incomplete_tasks, state.version), (2, 1, 4));
    }

    #[test]
    fn a_row_breaking_a_domain_rule_is_reported_as_corrupt_not_accepted() {
        for row in [
            ProjectRow { name: "ab".to_owned(), ..project_row() },
            ProjectRow { max_incomplete_tasks: Some(0), ..project_row() },
            ProjectRow { id: 0, ..project_row() },
        ] {
            assert!(matches!(row.into_state(), Err(StoreError::Backend(_))));
        }
        let task = TaskRow { number: 0, name: "Valid name".to_owned(), completed_at: None };
        assert!(task.into_task().is_err());
    }
}
