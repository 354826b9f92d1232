//! Adapters of the accounts context: the user repository and read model on each
//! backend (cargo features `sqlite` and `postgres`), the argon2id password hasher, the
//! JWT token issuer, the HTTP routes under `/api/users`, the rewrite of stored email
//! keys, and [`Accounts`], the context module the binary mounts.

mod email_keys;
pub mod hasher;
pub mod http;
mod live_sessions;
mod module;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rows;
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod tokens;

pub use email_keys::EmailKeyRewrite;
pub use hasher::Argon2Hasher;
pub use live_sessions::LiveSessions;
pub use module::{Accounts, AccountsBackend, OwnedProjectsFactory};
pub use tokens::{JwtTokens, OpaqueRefreshTokens};
