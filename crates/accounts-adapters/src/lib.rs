//! Adapters of the accounts context: the SQLite and PostgreSQL user repositories and
//! read models, the argon2id password hasher, the JWT token issuer, and the HTTP
//! routes under `/api/users`.

pub mod hasher;
pub mod http;
pub mod postgres;
pub mod sqlite;
pub mod tokens;

pub use hasher::Argon2Hasher;
pub use postgres::PostgresAccounts;
pub use sqlite::SqliteAccounts;
pub use tokens::JwtTokens;
