//! Flat views of projects and tasks, returned by commands and queries alike.

use time::OffsetDateTime;

use super::conditional::EntityTag;
use crate::domain::{IncompleteTaskLimit, Project, ProjectId, Task, TaskNumber};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDetails {
    pub id: ProjectId,
    pub name: String,
    pub maximum_number_of_incomplete_tasks: Option<i64>,
    pub archived_at: Option<OffsetDateTime>,
    /// The aggregate's version: moves with every stored change of the project or its tasks.
    pub version: i64,
}

impl ProjectDetails {
    #[must_use]
    pub fn entity_tag(&self) -> EntityTag {
        EntityTag::of_project(self.version)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSummary {
    pub id: ProjectId,
    pub name: String,
    pub archived_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDetails {
    pub number: TaskNumber,
    pub name: String,
    pub completed_at: Option<OffsetDateTime>,
}

impl TaskDetails {
    #[must_use]
    pub fn entity_tag(&self) -> EntityTag {
        EntityTag::of_task(self.number, self.completed_at)
    }
}

impl From<&Project> for ProjectDetails {
    fn from(project: &Project) -> Self {
        let state = project.state();
        Self {
            id: state.id,
            name: state.name.as_str().to_owned(),
            maximum_number_of_incomplete_tasks: state.limit.map(IncompleteTaskLimit::get),
            archived_at: state.archived_at,
            version: state.version,
        }
    }
}

impl From<&Task> for TaskDetails {
    fn from(task: &Task) -> Self {
        Self { number: task.number(), name: task.name().as_str().to_owned(), completed_at: task.completed_at() }
    }
}
