//! The projects context's statements, written once for both backends where they read
//! the same. Parameters are numbered `$1, $2, …` in order of first appearance:
//! PostgreSQL reads them as positions, SQLite as names it numbers in that same order
//! (checked by a test). What differs stays with its backend: how a project id is
//! reserved, and PostgreSQL's row lock on the loaded project.

/// The whole project row the repository loads.
macro_rules! project_by_id {
    () => {
        "SELECT id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at, last_task_number,
                incomplete_tasks, version
         FROM projects WHERE id = $1"
    };
}

/// SQLite: the unit of work holds the database's only write lock already.
#[cfg(feature = "sqlite")]
pub(crate) const PROJECT: &str = project_by_id!();

/// PostgreSQL: commands on one project queue on its row until commit.
#[cfg(feature = "postgres")]
pub(crate) const PROJECT_FOR_UPDATE: &str = concat!(project_by_id!(), "\n         FOR UPDATE");

pub(crate) const TASK: &str = "SELECT number, name, completed_at FROM tasks WHERE project_id = $1 AND number = $2";

pub(crate) const INSERT_PROJECT: &str =
    "INSERT INTO projects (id, owner_id, name, max_incomplete_tasks, archived_at, deleted_at,
                           last_task_number, incomplete_tasks, version, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)";

/// Guarded by the version the project was loaded at: a stale copy changes no row.
pub(crate) const UPDATE_PROJECT: &str = "UPDATE projects
     SET name = $1, max_incomplete_tasks = $2, archived_at = $3, deleted_at = $4, last_task_number = $5,
         incomplete_tasks = $6, version = version + 1
     WHERE id = $7 AND version = $8";

pub(crate) const INSERT_TASK: &str =
    "INSERT INTO tasks (project_id, number, name, completed_at) VALUES ($1, $2, $3, $4)";

pub(crate) const UPDATE_TASK: &str =
    "UPDATE tasks SET name = $1, completed_at = $2 WHERE project_id = $3 AND number = $4";

/// An erased account's tasks, then its projects (soft-deleted ones included).
pub(crate) const ERASE_TASKS_OF_OWNER: &str =
    "DELETE FROM tasks WHERE project_id IN (SELECT id FROM projects WHERE owner_id = $1)";
pub(crate) const ERASE_PROJECTS_OF_OWNER: &str = "DELETE FROM projects WHERE owner_id = $1";

/// The owner's live projects, for lists.
pub(crate) const PROJECTS_OF: &str = "SELECT id, name, archived_at FROM projects
     WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY id";

pub(crate) const PROJECT_DETAILS: &str = "SELECT name, max_incomplete_tasks, archived_at FROM projects
     WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL";

/// One query: the LEFT JOIN yields one row with NULL task columns for a visible project
/// without tasks, and no row for an invisible project.
pub(crate) const TASKS_OF_PROJECT: &str = "SELECT t.number, t.name, t.completed_at FROM projects p
     LEFT JOIN tasks t ON t.project_id = p.id
     WHERE p.id = $1 AND p.owner_id = $2 AND p.deleted_at IS NULL
     ORDER BY t.number";

pub(crate) const TASK_DETAILS: &str = "SELECT t.number, t.name, t.completed_at FROM tasks t
     JOIN projects p ON p.id = t.project_id
     WHERE t.project_id = $1 AND t.number = $2 AND p.owner_id = $3 AND p.deleted_at IS NULL";

#[cfg(all(test, feature = "sqlite"))]
pub(crate) const SHARED: &[&str] = &[
    PROJECT,
    TASK,
    INSERT_PROJECT,
    UPDATE_PROJECT,
    INSERT_TASK,
    UPDATE_TASK,
    ERASE_TASKS_OF_OWNER,
    ERASE_PROJECTS_OF_OWNER,
    PROJECTS_OF,
    PROJECT_DETAILS,
    TASKS_OF_PROJECT,
    TASK_DETAILS,
];
