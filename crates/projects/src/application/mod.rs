//! Use cases of the projects context, one module each, the ports they drive and the
//! views they return.

pub mod add_task;
pub mod archive_project;
pub mod complete_task;
pub mod conditional;
pub mod create_project;
pub mod delete_project;
pub mod erase_projects;
mod execute;
pub mod listing;
pub mod ports;
pub mod reopen_task;
pub mod starter_project;
pub mod unarchive_project;
pub mod update_project;
#[cfg(test)]
mod use_case_tests;
pub mod views;

pub use add_task::{AddTask, add_task};
pub use archive_project::archive_project;
pub use complete_task::complete_task;
pub use conditional::{EntityTag, Precondition};
pub use create_project::{CreateProject, create_project};
pub use delete_project::delete_project;
pub use erase_projects::{ERASE_PROJECTS_CONSUMER, ErasureOutcome, erase_projects_of_deleted_account};
pub use execute::CommandError;
pub use listing::{NameContains, Page, PageSize, ProjectFilter, TaskFilter};
pub use ports::{ProjectQueries, ProjectsStore, ProjectsTransaction};
pub use reopen_task::reopen_task;
pub use starter_project::{STARTER_PROJECT_CONSUMER, StarterProjectOutcome, create_starter_project};
pub use unarchive_project::unarchive_project;
pub use update_project::{UpdateProject, update_project};
pub use views::{ProjectDetails, ProjectSummary, TaskDetails};
