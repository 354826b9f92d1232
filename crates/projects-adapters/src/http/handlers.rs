//! Handlers of the projects routes: authenticate, extract, call the use case or the
//! read model, map the outcome.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use taskdeck_kernel::{Receipt, RecordedAnswer};
use taskdeck_platform_http::{
    ApiError, ApiJson, ApiJsonWithBytes, Creation, CurrentUser, IdempotencyKeyHeader, IfMatch, IfNoneMatch, Problem,
    Shared, answer_response, begin_creation, created_answer, not_modified, settle, with_entity_tag,
};
use taskdeck_projects::application::{
    self as use_cases, AddTask, CreateProject, EntityTag, Precondition, ProjectDetails, ProjectFilter, ProjectQueries,
    ProjectsStore, TaskDetails, TaskFilter, UpdateProject,
};
use taskdeck_projects::domain::{ProjectId, TaskNumber};

use super::ProjectsState;
use super::dto::{
    CreateProjectRequest, CreateTaskRequest, ProjectListResponse, ProjectResponse, TaskListResponse, TaskResponse,
    UpdateProjectRequest,
};
use super::errors::{command_error, project_not_found, store_error, task_not_found};
use super::pages::{List, PageRequest, invalid_cursor};
use super::paths::{ProjectPath, TaskPath};

fn project_created(project: &ProjectDetails) -> RecordedAnswer {
    let body = ProjectResponse::from(project.clone());
    created_answer(format!("/api/projects/{}", project.id), Some(project.entity_tag().as_str().to_owned()), &body)
}

fn task_created(project: ProjectId, task: &TaskDetails) -> RecordedAnswer {
    let location = format!("/api/projects/{project}/tasks/{}", task.number);
    created_answer(location, Some(task.entity_tag().as_str().to_owned()), &TaskResponse::from(task.clone()))
}

fn project_answer(project: ProjectDetails) -> Response {
    let tag = project.entity_tag();
    with_entity_tag(Json(ProjectResponse::from(project)).into_response(), tag.as_str())
}

fn task_answer(task: TaskDetails) -> Response {
    let tag = task.entity_tag();
    with_entity_tag(Json(TaskResponse::from(task)).into_response(), tag.as_str())
}

fn precondition(IfMatch(tags): IfMatch) -> Precondition {
    tags.map_or(Precondition::Unconditional, |tags| {
        Precondition::OneOf(tags.into_iter().map(EntityTag::from_client).collect())
    })
}

/// Create a project.
#[utoipa::path(
    post, path = "/api/projects", tag = "projects", operation_id = "createProject",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters chosen \
            by the client (a UUID, say). Repeating the request with the same key and the same body within 24 hours \
            answers the first 201 again (status, body, Location and ETag, plus `Idempotent-Replayed: true`) and \
            creates nothing; only created resources are recorded, so a refused request may be retried with its key")),
    request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created", body = ProjectResponse,
            headers(("ETag" = String, description = "Strong tag of the new resource"), ("Location" = String, description = "/api/projects/{id}"))),
        (status = 400, description = "The body is not JSON, or an invalid Idempotency-Key (`invalid-idempotency-key`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with the same Idempotency-Key is still running (`idempotency-key-in-use`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or limit; or the Idempotency-Key was used for another request in the last 24 hours (`idempotency-key-reused`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn create_project<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJsonWithBytes(body, bytes): ApiJsonWithBytes<CreateProjectRequest>,
) -> Result<Response, ApiError> {
    let (name, limit) = body.parse()?;
    let caller = owner.to_string();
    let claim = match begin_creation(&state.idempotency, &caller, key, "POST", "/api/projects", &bytes).await? {
        Creation::Replay(answer) => return Ok(answer),
        Creation::Proceed(claim) => claim,
    };
    let receipt = claim.as_ref().map(|held| Receipt { claim: held.claim(), render: &project_created });
    let command = CreateProject { owner, name, limit };
    let created = use_cases::create_project(&state.store, state.clock.as_ref(), command, receipt).await;
    let project = settle(claim, created).await.map_err(|error| store_error(&error))?;
    Ok(answer_response(&project_created(&project)))
}

/// List the signed-in user's projects.
#[utoipa::path(
    get, path = "/api/projects", tag = "projects", operation_id = "listProjects",
    security(("bearer" = [])),
    params(
        ("limit" = Option<u16>, Query, description = "Projects per page, 1 to 500 (default 100)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "Where to continue: `nextCursor` of the page before. It \
            remembers the filters: leave them out, or repeat them unchanged"),
        ("archived" = Option<bool>, Query, description = "Only archived projects (`true`) or only the others (`false`)"),
        ("q" = Option<String>, Query, description = "Only projects whose name contains this text, ignoring letter \
            case (at most 200 characters)"),
    ),
    responses(
        (status = 200, description = "A page of the projects that are not deleted, ordered by id", body = ProjectListResponse,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"`: the next page, when there is one"))),
        (status = 400, description = "A cursor that is malformed or was issued for another list (`invalid-cursor`), \
            or with other filters than the request's (`cursor-filter-mismatch`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid `limit`, `archived` or `q`, named in `errors`", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn list_projects<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let request = PageRequest::parse(query.as_deref(), List::Projects, owner, &state.cursors)?;
    let filter = ProjectFilter { archived: request.flag, name_contains: request.name_contains.clone() };
    let after = request.after.map(ProjectId::new).transpose().map_err(|_| invalid_cursor())?;
    let page =
        state.store.project_page(owner, &filter, after, request.size).await.map_err(|error| store_error(&error))?;
    let last = page.items.last().map(|project| project.id.get());
    Ok(request
        .respond(&state.cursors, last, page.more, |next_cursor| ProjectListResponse::new(page.items, next_cursor)))
}

/// Get a project.
#[utoipa::path(
    get, path = "/api/projects/{id}", tag = "projects", operation_id = "getProject",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("If-None-Match" = Option<String>, Header, description = "ETags of copies the client holds (weak \
            comparison; `*` matches any): 304 without a body when one is current"),
    ),
    responses(
        (status = 200, description = "The project", body = ProjectResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 304, description = "The copy the client holds is current", headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "Malformed If-None-Match (`malformed-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn get_project<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(id): ProjectPath,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let project =
        state.store.project(owner, id).await.map_err(|error| store_error(&error))?.ok_or_else(project_not_found)?;
    let tag = project.entity_tag();
    if if_none_match.holds(tag.as_str()) {
        return Ok(not_modified(tag.as_str()));
    }
    Ok(project_answer(project))
}

/// Rename a project or change its incomplete-task limit.
#[utoipa::path(
    put, path = "/api/projects/{id}", tag = "projects", operation_id = "updateProject",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("If-Match" = Option<String>, Header, description = "Change it only if it is still as read: the `ETag` of \
            the GET (a comma-separated list of them is allowed). Stale: 412. `*` and malformed lists: 400"),
    ),
    request_body = UpdateProjectRequest,
    responses(
        (status = 200, description = "The updated project", body = ProjectResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "The body is not JSON, or a malformed If-Match (`malformed-precondition`) or If-Match: * (`unsupported-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is archived, or the limit is below the number of incomplete tasks", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names none of the current tags: it changed since it was read; nothing was changed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn update_project<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(id): ProjectPath,
    if_match: IfMatch,
    ApiJson(body): ApiJson<UpdateProjectRequest>,
) -> Result<Response, ApiError> {
    let (name, limit) = body.parse()?;
    let command = UpdateProject { owner, id, name, limit, precondition: precondition(if_match) };
    let project = use_cases::update_project(&state.store, state.clock.as_ref(), command)
        .await
        .map_err(|error| command_error(&error))?;
    Ok(project_answer(project))
}

/// Archive a project whose tasks are all completed (idempotent).
#[utoipa::path(
    put, path = "/api/projects/{id}/archive", tag = "projects", operation_id = "archiveProject",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("If-Match" = Option<String>, Header, description = "Change it only if it is still as read: the `ETag` of \
            the GET (a comma-separated list of them is allowed). Stale: 412. `*` and malformed lists: 400"),
    ),
    responses(
        (status = 200, description = "The archived project", body = ProjectResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "Malformed If-Match (`malformed-precondition`) or If-Match: * (`unsupported-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project has incomplete tasks", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names none of the current tags: it changed since it was read; nothing was changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn archive_project<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(id): ProjectPath,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let project = use_cases::archive_project(&state.store, state.clock.as_ref(), owner, id, &precondition(if_match))
        .await
        .map_err(|error| command_error(&error))?;
    Ok(project_answer(project))
}

/// Make an archived project writable again (idempotent).
#[utoipa::path(
    put, path = "/api/projects/{id}/unarchive", tag = "projects", operation_id = "unarchiveProject",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("If-Match" = Option<String>, Header, description = "Change it only if it is still as read: the `ETag` of \
            the GET (a comma-separated list of them is allowed). Stale: 412. `*` and malformed lists: 400"),
    ),
    responses(
        (status = 200, description = "The project, not archived", body = ProjectResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "Malformed If-Match (`malformed-precondition`) or If-Match: * (`unsupported-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names none of the current tags: it changed since it was read; nothing was changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn unarchive_project<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(id): ProjectPath,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let project = use_cases::unarchive_project(&state.store, state.clock.as_ref(), owner, id, &precondition(if_match))
        .await
        .map_err(|error| command_error(&error))?;
    Ok(project_answer(project))
}

/// Delete an archived project (soft delete; it cannot be restored through the API).
#[utoipa::path(
    delete, path = "/api/projects/{id}", tag = "projects", operation_id = "deleteProject",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("If-Match" = Option<String>, Header, description = "Change it only if it is still as read: the `ETag` of \
            the GET (a comma-separated list of them is allowed). Stale: 412. `*` and malformed lists: 400"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed If-Match (`malformed-precondition`) or If-Match: * (`unsupported-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is not archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names none of the current tags: it changed since it was read; nothing was changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn delete_project<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(id): ProjectPath,
    if_match: IfMatch,
) -> Result<StatusCode, ApiError> {
    use_cases::delete_project(&state.store, state.clock.as_ref(), owner, id, &precondition(if_match))
        .await
        .map_err(|error| command_error(&error))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a task to a project.
#[utoipa::path(
    post, path = "/api/projects/{id}/tasks", tag = "projects", operation_id = "createTask",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters chosen \
            by the client (a UUID, say). Repeating the request with the same key and the same body within 24 hours \
            answers the first 201 again (status, body, Location and ETag, plus `Idempotent-Replayed: true`) and \
            creates nothing; only created resources are recorded, so a refused request may be retried with its key"),
    ),
    request_body = CreateTaskRequest,
    responses(
        (status = 201, description = "Created with the project's next number", body = TaskResponse,
            headers(("ETag" = String, description = "Strong tag of the new resource"), ("Location" = String, description = "/api/projects/{id}/tasks/{number}"))),
        (status = 400, description = "The body is not JSON, or an invalid Idempotency-Key (`invalid-idempotency-key`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is archived, or its incomplete-task limit is reached; or a request with the same Idempotency-Key is still running (`idempotency-key-in-use`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name; or the Idempotency-Key was used for another request in the last 24 hours (`idempotency-key-reused`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn create_task<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(project): ProjectPath,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJsonWithBytes(body, bytes): ApiJsonWithBytes<CreateTaskRequest>,
) -> Result<Response, ApiError> {
    let name = body.parse()?;
    let (caller, path) = (owner.to_string(), format!("/api/projects/{project}/tasks"));
    let claim = match begin_creation(&state.idempotency, &caller, key, "POST", &path, &bytes).await? {
        Creation::Replay(answer) => return Ok(answer),
        Creation::Proceed(claim) => claim,
    };
    let render = |task: &TaskDetails| task_created(project, task);
    let receipt = claim.as_ref().map(|held| Receipt { claim: held.claim(), render: &render });
    let added =
        use_cases::add_task(&state.store, state.clock.as_ref(), AddTask { owner, project, name }, receipt).await;
    let task = settle(claim, added).await.map_err(|error| command_error(&error))?;
    Ok(answer_response(&render(&task)))
}

/// List a project's tasks.
#[utoipa::path(
    get, path = "/api/projects/{id}/tasks", tag = "projects", operation_id = "listTasks",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("limit" = Option<u16>, Query, description = "Tasks per page, 1 to 500 (default 100)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "Where to continue: `nextCursor` of the page before. It \
            remembers the filters: leave them out, or repeat them unchanged"),
        ("completed" = Option<bool>, Query, description = "Only completed tasks (`true`) or only incomplete ones (`false`)"),
        ("q" = Option<String>, Query, description = "Only tasks whose name contains this text, ignoring letter case \
            (at most 200 characters)"),
    ),
    responses(
        (status = 200, description = "A page of the project's tasks, ordered by number", body = TaskListResponse,
            headers(("Link" = String, description = "`<URL>; rel=\"next\"`: the next page, when there is one"))),
        (status = 400, description = "A cursor that is malformed or was issued for another list (`invalid-cursor`), \
            or with other filters than the request's (`cursor-filter-mismatch`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project, deleted, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid `limit`, `completed` or `q`, named in `errors`", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub(super) async fn list_tasks<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    ProjectPath(project): ProjectPath,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let request = PageRequest::parse(query.as_deref(), List::Tasks(project), owner, &state.cursors)?;
    let filter = TaskFilter { completed: request.flag, name_contains: request.name_contains.clone() };
    let after = request.after.map(TaskNumber::new).transpose().map_err(|_| invalid_cursor())?;
    let page = state
        .store
        .task_page(owner, project, &filter, after, request.size)
        .await
        .map_err(|error| store_error(&error))?
        .ok_or_else(project_not_found)?;
    let last = page.items.last().map(|task| task.number.get());
    Ok(request.respond(&state.cursors, last, page.more, |next_cursor| TaskListResponse::new(page.items, next_cursor)))
}

/// Get a task.
#[utoipa::path(
    get, path = "/api/projects/{id}/tasks/{number}", tag = "projects", operation_id = "getTask",
    security(("bearer" = [])),
    params(
        ("If-None-Match" = Option<String>, Header, description = "ETags of copies the client holds (weak \
            comparison; `*` matches any): 304 without a body when one is current"),
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("number" = i64, Path, description = "Task number within the project", minimum = 1),
    ),
    responses(
        (status = 200, description = "The task", body = TaskResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 304, description = "The copy the client holds is current", headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "Malformed If-None-Match (`malformed-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or task, or someone else's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn get_task<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    TaskPath(project, number): TaskPath,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let task = state.store.task(owner, project, number).await.map_err(|error| store_error(&error))?;
    match task {
        Some(task) => {
            let tag = task.entity_tag();
            if if_none_match.holds(tag.as_str()) { Ok(not_modified(tag.as_str())) } else { Ok(task_answer(task)) }
        }
        None => {
            // Say which of the two is missing, without revealing other users' projects.
            let visible = state.store.project(owner, project).await.map_err(|error| store_error(&error))?;
            Err(if visible.is_some() { task_not_found() } else { project_not_found() })
        }
    }
}

/// Mark a task completed (idempotent: the first completion time stays).
#[utoipa::path(
    put, path = "/api/projects/{id}/tasks/{number}/complete", tag = "projects", operation_id = "completeTask",
    security(("bearer" = [])),
    params(
        ("If-Match" = Option<String>, Header, description = "Change it only if it is still as read: the `ETag` of \
            the GET (a comma-separated list of them is allowed). Stale: 412. `*` and malformed lists: 400"),
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("number" = i64, Path, description = "Task number within the project", minimum = 1),
    ),
    responses(
        (status = 200, description = "The completed task", body = TaskResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "Malformed If-Match (`malformed-precondition`) or If-Match: * (`unsupported-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or task, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is archived", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names none of the current tags: it changed since it was read; nothing was changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn complete_task<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    TaskPath(project, number): TaskPath,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let task =
        use_cases::complete_task(&state.store, state.clock.as_ref(), owner, project, number, &precondition(if_match))
            .await
            .map_err(|error| command_error(&error))?;
    Ok(task_answer(task))
}

/// Mark a task incomplete again (idempotent).
#[utoipa::path(
    put, path = "/api/projects/{id}/tasks/{number}/incomplete", tag = "projects", operation_id = "incompleteTask",
    security(("bearer" = [])),
    params(
        ("If-Match" = Option<String>, Header, description = "Change it only if it is still as read: the `ETag` of \
            the GET (a comma-separated list of them is allowed). Stale: 412. `*` and malformed lists: 400"),
        ("id" = i64, Path, description = "Project id", minimum = 1),
        ("number" = i64, Path, description = "Task number within the project", minimum = 1),
    ),
    responses(
        (status = 200, description = "The incomplete task", body = TaskResponse,
            headers(("ETag" = String, description = "Strong tag of this representation, for If-None-Match and If-Match"))),
        (status = 400, description = "Malformed If-Match (`malformed-precondition`) or If-Match: * (`unsupported-precondition`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, malformed or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such project or task, or someone else's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The project is archived, or re-opening would exceed its incomplete-task limit", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "If-Match names none of the current tags: it changed since it was read; nothing was changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn incomplete_task<S: ProjectsStore + ProjectQueries + Clone>(
    State(state): State<Shared<ProjectsState<S>>>,
    CurrentUser(owner): CurrentUser,
    TaskPath(project, number): TaskPath,
    if_match: IfMatch,
) -> Result<Response, ApiError> {
    let task =
        use_cases::reopen_task(&state.store, state.clock.as_ref(), owner, project, number, &precondition(if_match))
            .await
            .map_err(|error| command_error(&error))?;
    Ok(task_answer(task))
}
