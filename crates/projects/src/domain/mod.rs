//! The projects domain model.

mod errors;
mod events;
mod ids;
mod limit;
mod names;
mod project;
mod starter;
mod task;

pub use errors::{AddTaskError, ArchiveError, CompleteTaskError, DeleteError, ReopenTaskError, UpdateProjectError};
pub use events::ProjectEvent;
pub use ids::{InvalidId, ProjectId, TaskNumber};
pub use limit::{IncompleteTaskLimit, InvalidLimit};
pub use names::{NameError, ProjectName, TaskName};
pub use project::{Project, ProjectState};
pub use starter::STARTER_PROJECT_NAME;
pub use task::Task;
