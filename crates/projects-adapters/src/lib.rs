//! Adapters of the projects context: the project repository and read model on each
//! backend (cargo features `sqlite` and `postgres`), the handler that reacts to
//! `UserAccountCreated`, the HTTP routes under `/api/projects`, and [`Projects`], the
//! context module the binary mounts.

pub mod handlers;
pub mod http;
mod module;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rows;
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use handlers::{AccountErasureHandler, StarterProjectHandler};
pub use module::{Projects, ProjectsBackend};
