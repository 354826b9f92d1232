//! Shared infrastructure of taskdeck, used by the adapters of both contexts and by the
//! binary: the SQLite database (pools, pragmas, migrations), the transactional outbox
//! and its relay, instance settings, bearer tokens, and the HTTP plumbing every route
//! shares (problem+json errors, JSON extraction, authentication).

pub mod auth;
pub mod http;
mod migrations;
pub mod outbox;
pub mod postgres;
pub mod settings;
pub mod sqlite;

pub use auth::{AuthError, JwtAuthority};
