//! Request and response bodies of the projects routes, and their conversion into
//! domain values (validated once, here at the edge).

use serde::{Deserialize, Deserializer, Serialize};
use taskdeck_platform_http::{ApiError, FieldError};
use taskdeck_projects::application::{ProjectDetails, ProjectSummary, TaskDetails};
use taskdeck_projects::domain::{IncompleteTaskLimit, ProjectName, TaskName};
use time::OffsetDateTime;
use utoipa::ToSchema;

const LIMIT_FIELD: &str = "maximumNumberOfIncompleteTasks";

/// `POST /api/projects`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"name": "Household", "maximumNumberOfIncompleteTasks": 3}))]
pub struct CreateProjectRequest {
    /// Trimmed and stored in Unicode NFC (composed and decomposed accents give one
    /// name); 4 to 32 characters once composed, without control or format characters
    /// (NUL, line breaks, zero-width and bidirectional-override characters) and not only
    /// combining marks.
    #[schema(min_length = 4, max_length = 32)]
    pub name: String,
    /// At least 1; absent or `null` means no limit.
    #[serde(default)]
    #[schema(minimum = 1, nullable)]
    pub maximum_number_of_incomplete_tasks: Option<i64>,
}

/// `PUT /api/projects/{id}`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"name": "Chores", "maximumNumberOfIncompleteTasks": null}))]
pub struct UpdateProjectRequest {
    /// Trimmed and stored in Unicode NFC (composed and decomposed accents give one
    /// name); 4 to 32 characters once composed, without control or format characters
    /// (NUL, line breaks, zero-width and bidirectional-override characters) and not only
    /// combining marks.
    #[schema(min_length = 4, max_length = 32)]
    pub name: String,
    /// At least 1; `null` removes the limit; absent leaves it unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, nullable)]
    pub maximum_number_of_incomplete_tasks: Option<Option<i64>>,
}

/// Tells a field that is present (even as `null`) from one that is absent.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

/// `POST /api/projects/{id}/tasks`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"name": "Do the shopping"}))]
pub struct CreateTaskRequest {
    /// Trimmed and stored in Unicode NFC (composed and decomposed accents give one
    /// name); 4 to 32 characters once composed, without control or format characters
    /// (NUL, line breaks, zero-width and bidirectional-override characters) and not only
    /// combining marks.
    #[schema(min_length = 4, max_length = 32)]
    pub name: String,
}

fn parse_limit(raw: Option<i64>, errors: &mut Vec<FieldError>) -> Option<IncompleteTaskLimit> {
    raw.and_then(|value| {
        IncompleteTaskLimit::new(value).map_err(|error| errors.push(FieldError::new(LIMIT_FIELD, error))).ok()
    })
}

fn parse_project_name(raw: &str, errors: &mut Vec<FieldError>) -> Option<ProjectName> {
    ProjectName::parse(raw).map_err(|error| errors.push(FieldError::new("name", error))).ok()
}

impl CreateProjectRequest {
    pub(super) fn parse(&self) -> Result<(ProjectName, Option<IncompleteTaskLimit>), ApiError> {
        let mut errors = Vec::new();
        let name = parse_project_name(&self.name, &mut errors);
        let limit = parse_limit(self.maximum_number_of_incomplete_tasks, &mut errors);
        match name {
            Some(name) if errors.is_empty() => Ok((name, limit)),
            Some(_) | None => Err(ApiError::validation(errors)),
        }
    }
}

impl UpdateProjectRequest {
    #[allow(clippy::type_complexity)]
    pub(super) fn parse(&self) -> Result<(ProjectName, Option<Option<IncompleteTaskLimit>>), ApiError> {
        let mut errors = Vec::new();
        let name = parse_project_name(&self.name, &mut errors);
        let limit = self.maximum_number_of_incomplete_tasks.map(|limit| parse_limit(limit, &mut errors));
        match name {
            Some(name) if errors.is_empty() => Ok((name, limit)),
            Some(_) | None => Err(ApiError::validation(errors)),
        }
    }
}

impl CreateTaskRequest {
    pub(super) fn parse(&self) -> Result<TaskName, ApiError> {
        TaskName::parse(&self.name).map_err(|error| ApiError::validation(vec![FieldError::new("name", error)]))
    }
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": 2, "name": "Household", "maximumNumberOfIncompleteTasks": 3, "archivedAt": null}))]
pub struct ProjectResponse {
    pub id: i64,
    pub name: String,
    /// `null` when there is no limit.
    pub maximum_number_of_incomplete_tasks: Option<i64>,
    /// RFC 3339 UTC; `null` unless archived.
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
}

impl From<ProjectDetails> for ProjectResponse {
    fn from(project: ProjectDetails) -> Self {
        Self {
            id: project.id.get(),
            name: project.name,
            maximum_number_of_incomplete_tasks: project.maximum_number_of_incomplete_tasks,
            archived_at: project.archived_at,
        }
    }
}

/// A project in a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": 1, "name": "My first project", "archivedAt": null}))]
pub struct ProjectSummaryResponse {
    pub id: i64,
    pub name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
}

/// A page of the signed-in user's projects, not deleted, ordered by id.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"projects": [{"id": 1, "name": "My first project", "archivedAt": null}], "nextCursor": null}))]
pub struct ProjectListResponse {
    pub projects: Vec<ProjectSummaryResponse>,
    /// The `cursor` of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl ProjectListResponse {
    #[must_use]
    pub fn new(projects: Vec<ProjectSummary>, next_cursor: Option<String>) -> Self {
        Self {
            next_cursor,
            projects: projects
                .into_iter()
                .map(|project| ProjectSummaryResponse {
                    id: project.id.get(),
                    name: project.name,
                    archived_at: project.archived_at,
                })
                .collect(),
        }
    }
}

/// A task.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"number": 1, "name": "Sign up!", "completedAt": "2026-11-24T10:15:00Z"}))]
pub struct TaskResponse {
    pub number: i64,
    pub name: String,
    /// RFC 3339 UTC; `null` while incomplete.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

impl From<TaskDetails> for TaskResponse {
    fn from(task: TaskDetails) -> Self {
        Self { number: task.number.get(), name: task.name, completed_at: task.completed_at }
    }
}

/// A page of a project's tasks, ordered by number.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"tasks": [
    {"number": 1, "name": "Sign up!", "completedAt": "2026-11-24T10:15:00Z"},
    {"number": 2, "name": "Watch the tutorial", "completedAt": null}
], "nextCursor": null}))]
pub struct TaskListResponse {
    pub tasks: Vec<TaskResponse>,
    /// The `cursor` of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl TaskListResponse {
    #[must_use]
    pub fn new(tasks: Vec<TaskDetails>, next_cursor: Option<String>) -> Self {
        Self { tasks: tasks.into_iter().map(TaskResponse::from).collect(), next_cursor }
    }
}
