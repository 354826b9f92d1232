//! Adapters of the projects context: the SQLite and PostgreSQL repositories and read
//! models, the handler that reacts to `UserAccountCreated`, and the HTTP routes under
//! `/api/projects`.

pub mod handlers;
pub mod http;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use handlers::{STARTER_PROJECT_SUBSCRIPTIONS, StarterProjectHandler};
pub use postgres::PostgresProjects;
pub use sqlite::SqliteProjects;
