//! Rows to domain values, shared by the SQLite and PostgreSQL adapters: the column
//! names are the same on both, only the row type differs.

use sqlx::{ColumnIndex, Database, Decode, Row, Type};
use taskdeck_kernel::{StoreError, UserId};
use taskdeck_projects::application::{ProjectSummary, TaskDetails};
use taskdeck_projects::domain::{
    IncompleteTaskLimit, ProjectId, ProjectName, ProjectState, Task, TaskName, TaskNumber,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// A column type the backend can decode.
pub(crate) trait Column<DB: Database>: for<'r> Decode<'r, DB> + Type<DB> {}
impl<DB: Database, T: for<'r> Decode<'r, DB> + Type<DB>> Column<DB> for T {}

pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::backend(error)
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!("stored project has an invalid {what}")))
}

fn get<R, T>(row: &R, column: &str) -> Result<T, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    T: Column<R::Database>,
{
    row.try_get(column).map_err(backend)
}

fn project_id<R>(row: &R) -> Result<ProjectId, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Column<R::Database>,
{
    ProjectId::new(get(row, "id")?).map_err(|_| corrupt("id"))
}

fn task_number<R>(row: &R) -> Result<TaskNumber, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Column<R::Database>,
{
    TaskNumber::new(get(row, "number")?).map_err(|_| corrupt("task number"))
}

/// A whole project row, for the repository.
pub(crate) fn project_state<R>(row: &R) -> Result<ProjectState, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Column<R::Database>,
    String: Column<R::Database>,
    Uuid: Column<R::Database>,
    OffsetDateTime: Column<R::Database>,
{
    let name: String = get(row, "name")?;
    let limit: Option<i64> = get(row, "max_incomplete_tasks")?;
    Ok(ProjectState {
        id: project_id(row)?,
        owner: UserId::from_uuid(get(row, "owner_id")?),
        name: ProjectName::parse(&name).map_err(|_| corrupt("name"))?,
        limit: limit.map(IncompleteTaskLimit::new).transpose().map_err(|_| corrupt("limit"))?,
        archived_at: get(row, "archived_at")?,
        deleted_at: get(row, "deleted_at")?,
        last_task_number: get(row, "last_task_number")?,
        incomplete_tasks: get(row, "incomplete_tasks")?,
        version: get(row, "version")?,
    })
}

/// A task row, for the repository.
pub(crate) fn task<R>(row: &R) -> Result<Task, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Column<R::Database>,
    String: Column<R::Database>,
    OffsetDateTime: Column<R::Database>,
{
    let name: String = get(row, "name")?;
    Ok(Task::restore(
        task_number(row)?,
        TaskName::parse(&name).map_err(|_| corrupt("task name"))?,
        get(row, "completed_at")?,
    ))
}

/// A task row, for the read model.
pub(crate) fn task_details<R>(row: &R) -> Result<TaskDetails, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Column<R::Database>,
    String: Column<R::Database>,
    OffsetDateTime: Column<R::Database>,
{
    Ok(TaskDetails { number: task_number(row)?, name: get(row, "name")?, completed_at: get(row, "completed_at")? })
}

/// A project row of a list, for the read model.
pub(crate) fn project_summary<R>(row: &R) -> Result<ProjectSummary, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Column<R::Database>,
    String: Column<R::Database>,
    OffsetDateTime: Column<R::Database>,
{
    Ok(ProjectSummary { id: project_id(row)?, name: get(row, "name")?, archived_at: get(row, "archived_at")? })
}
