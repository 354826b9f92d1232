//! The projects context's statements, written once for both backends where they read
//! the same. Parameters are numbered `$1, $2, …` in order of first appearance:
//! PostgreSQL reads them as positions, SQLite as names it numbers in that same order
//! (checked by a test). What differs stays with its backend: how a project id is
//! reserved, and PostgreSQL's row lock on the loaded project.

#[cfg(test)]
use taskdeck_projects::application::NameContains;
use taskdeck_projects::application::{ProjectFilter, TaskFilter};

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

pub(crate) const PROJECT_DETAILS: &str = "SELECT name, max_incomplete_tasks, archived_at, version FROM projects
     WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL";

/// One query: the LEFT JOIN yields one row with NULL task columns for a visible project
/// without tasks, and no row for an invisible project.
pub(crate) const TASKS_OF_PROJECT: &str = "SELECT t.number, t.name, t.completed_at FROM projects p
     LEFT JOIN tasks t ON t.project_id = p.id
     WHERE p.id = $1 AND p.owner_id = $2 AND p.deleted_at IS NULL
     ORDER BY t.number";

/// A page of a project's tasks after a number, under a filter: one statement per filter
/// combination, so each is planned for what it filters on. `$find` is the backend's
/// substring position function (`instr`; PostgreSQL has its own form below); letter case is
/// ignored with the database's `lower`. The LEFT JOIN yields one row with NULL task
/// columns for a visible project without matching tasks, and no row for an invisible one.
#[cfg(feature = "sqlite")]
macro_rules! task_page {
    (@head) => {
        "SELECT t.number, t.name, t.completed_at FROM projects p
     LEFT JOIN tasks t ON t.project_id = p.id AND t.number > $1"
    };
    (@tail $id:literal, $owner:literal, $limit:literal) => {
        concat!(
            "\n     WHERE p.id = ", $id, " AND p.owner_id = ", $owner, " AND p.deleted_at IS NULL
     ORDER BY t.number LIMIT ", $limit
        )
    };
    ($find:literal, $completed:expr, $search:expr) => {
        match ($completed, $search) {
            (None, false) => concat!(task_page!(@head), task_page!(@tail "$2", "$3", "$4")),
            (Some(true), false) => {
                concat!(task_page!(@head), " AND t.completed_at IS NOT NULL", task_page!(@tail "$2", "$3", "$4"))
            }
            (Some(false), false) => {
                concat!(task_page!(@head), " AND t.completed_at IS NULL", task_page!(@tail "$2", "$3", "$4"))
            }
            (None, true) => concat!(
                task_page!(@head),
                " AND ", $find, "(lower(t.name), lower($2)) > 0",
                task_page!(@tail "$3", "$4", "$5")
            ),
            (Some(true), true) => concat!(
                task_page!(@head),
                " AND t.completed_at IS NOT NULL AND ", $find, "(lower(t.name), lower($2)) > 0",
                task_page!(@tail "$3", "$4", "$5")
            ),
            (Some(false), true) => concat!(
                task_page!(@head),
                " AND t.completed_at IS NULL AND ", $find, "(lower(t.name), lower($2)) > 0",
                task_page!(@tail "$3", "$4", "$5")
            ),
        }
    };
}

/// A page of the owner's live projects after an id, under a filter (see `task_page!`).
macro_rules! project_page {
    (@head) => {
        "SELECT id, name, archived_at FROM projects
     WHERE owner_id = $1 AND deleted_at IS NULL AND id > $2"
    };
    ($find:literal, $archived:expr, $search:expr) => {
        match ($archived, $search) {
            (None, false) => concat!(project_page!(@head), "\n     ORDER BY id LIMIT $3"),
            (Some(true), false) => concat!(project_page!(@head), " AND archived_at IS NOT NULL\n     ORDER BY id LIMIT $3"),
            (Some(false), false) => concat!(project_page!(@head), " AND archived_at IS NULL\n     ORDER BY id LIMIT $3"),
            (None, true) => concat!(
                project_page!(@head),
                " AND ", $find, "(lower(name), lower($3)) > 0\n     ORDER BY id LIMIT $4"
            ),
            (Some(true), true) => concat!(
                project_page!(@head),
                " AND archived_at IS NOT NULL AND ", $find, "(lower(name), lower($3)) > 0\n     ORDER BY id LIMIT $4"
            ),
            (Some(false), true) => concat!(
                project_page!(@head),
                " AND archived_at IS NULL AND ", $find, "(lower(name), lower($3)) > 0\n     ORDER BY id LIMIT $4"
            ),
        }
    };
}

/// SQLite's statement for a page of tasks under `filter`.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_task_page(filter: &TaskFilter) -> &'static str {
    task_page!("instr", filter.completed, filter.name_contains.is_some())
}

/// PostgreSQL: the page is a LATERAL subquery on the tasks alone, so the planner reads
/// it in index order and stops after the page; ordering the join itself made it sort
/// every task of the project first (40 ms for the first page of 100,000 tasks). The
/// outer ORDER BY sorts the page's few rows only.
#[cfg(feature = "postgres")]
macro_rules! postgres_task_page {
    ($filter:literal, $limit:literal, $id:literal, $owner:literal) => {
        concat!(
            "SELECT t.number, t.name, t.completed_at FROM projects p
     LEFT JOIN LATERAL (SELECT number, name, completed_at FROM tasks
                        WHERE project_id = p.id AND number > $1",
            $filter,
            "
                        ORDER BY number LIMIT ",
            $limit,
            ") t ON true
     WHERE p.id = ",
            $id,
            " AND p.owner_id = ",
            $owner,
            " AND p.deleted_at IS NULL
     ORDER BY t.number"
        )
    };
}

/// PostgreSQL's statement for a page of tasks under `filter`.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_task_page(filter: &TaskFilter) -> &'static str {
    match (filter.completed, filter.name_contains.is_some()) {
        (None, false) => postgres_task_page!("", "$4", "$2", "$3"),
        (Some(true), false) => postgres_task_page!(" AND completed_at IS NOT NULL", "$4", "$2", "$3"),
        (Some(false), false) => postgres_task_page!(" AND completed_at IS NULL", "$4", "$2", "$3"),
        (None, true) => postgres_task_page!(" AND strpos(lower(name), lower($2)) > 0", "$5", "$3", "$4"),
        (Some(true), true) => postgres_task_page!(
            " AND completed_at IS NOT NULL AND strpos(lower(name), lower($2)) > 0",
            "$5",
            "$3",
            "$4"
        ),
        (Some(false), true) => {
            postgres_task_page!(" AND completed_at IS NULL AND strpos(lower(name), lower($2)) > 0", "$5", "$3", "$4")
        }
    }
}

#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_project_page(filter: &ProjectFilter) -> &'static str {
    project_page!("instr", filter.archived, filter.name_contains.is_some())
}

#[cfg(feature = "postgres")]
pub(crate) fn postgres_project_page(filter: &ProjectFilter) -> &'static str {
    project_page!("strpos", filter.archived, filter.name_contains.is_some())
}

/// Every filter combination, for the tests that check each statement.
#[cfg(test)]
pub(crate) fn every_filter() -> Vec<(TaskFilter, ProjectFilter)> {
    let search = NameContains::new("x").ok();
    let mut filters = Vec::new();
    for flag in [None, Some(true), Some(false)] {
        for name_contains in [None, search.clone()] {
            filters.push((
                TaskFilter { completed: flag, name_contains: name_contains.clone() },
                ProjectFilter { archived: flag, name_contains },
            ));
        }
    }
    filters
}

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
