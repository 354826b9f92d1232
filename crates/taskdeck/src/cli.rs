//! The command line. Every option can also come from an environment variable; a flag
//! wins over the variable.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use taskdeck_platform_http::{AddressRate, TrustedProxies};

#[derive(Debug, Parser)]
#[command(name = "taskdeck", version, about = "Task management HTTP API: users, projects and tasks")]
pub struct Cli {
    /// Log line format on stderr (the filter comes from RUST_LOG).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the HTTP API with its outbox relay.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create the demo user test@email.com / password with sample projects.
    Seed(DatabaseArgs),
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// Show how many events wait in the outbox and how many are parked as dead.
    Outbox(OutboxArgs),
    /// Manage the Ed25519 keys that sign access tokens.
    Keys(KeysArgs),
    /// Write a consistent copy of a SQLite database to PATH, also while `serve` is
    /// writing to it. PostgreSQL databases are backed up with `pg_dump`.
    Backup(BackupArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Where to write the copy (a new file, readable by its owner only).
    pub path: std::path::PathBuf,

    /// Replace a file already at PATH.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Add a new signing key: every instance signs with it within a second or two; the
    /// previous key verifies its tokens until they have expired, then retires.
    Rotate(DatabaseArgs),
    /// List the stored keys, newest first.
    List(DatabaseArgs),
}

#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Give every dead event a fresh start (pending again, attempts reset).
    #[arg(long)]
    pub requeue_dead: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// sqlite://PATH (created if missing) or postgres://USER[:PASSWORD]@HOST:PORT/DB.
    #[arg(long, env = "TASKDECK_DATABASE_URL", default_value = "sqlite://taskdeck.db")]
    pub database_url: String,

    /// PostgreSQL: connections of this instance for write transactions and the outbox relay.
    #[arg(long, env = "TASKDECK_DATABASE_POOL_SIZE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool_size: u32,

    /// PostgreSQL: connections of this instance for the read side's queries. They keep the
    /// server's CPU busy without waiting on disk, so about twice its cores is plenty.
    #[arg(long, env = "TASKDECK_DATABASE_READ_POOL_SIZE", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_read_pool_size: u32,

    /// PostgreSQL: longest a single statement may run, in milliseconds (0 = the server's default).
    #[arg(long, env = "TASKDECK_DATABASE_STATEMENT_TIMEOUT", default_value_t = 30_000)]
    pub database_statement_timeout: u64,

    /// PostgreSQL: how long to keep retrying, in seconds, when the server is not reachable at start.
    #[arg(long, env = "TASKDECK_DATABASE_CONNECT_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub database_connect_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Listen address; port 0 picks a free port (the log says which).
    #[arg(long, env = "TASKDECK_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// A second listener for operators, serving `/metrics` (Prometheus text format),
    /// `/health` and `/ready`; e.g. `127.0.0.1:9000`. Unset: no metrics are kept.
    #[arg(long, env = "TASKDECK_ADMIN_BIND")]
    pub admin_bind: Option<SocketAddr>,

    /// Sign HS256 with this secret (at least 32 characters) instead of Ed25519 keys;
    /// the JWK set is then empty. When neither this nor a key file is given, an
    /// Ed25519 key is generated once and kept in the database.
    #[arg(long, env = "TASKDECK_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Sign with the Ed25519 key in this PEM file (PKCS#8) instead of the stored keys,
    /// for operators who keep the key out of the database; rotating it means a new
    /// file and a restart.
    #[arg(long, env = "TASKDECK_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<std::path::PathBuf>,

    /// Access token lifetime in seconds.
    #[arg(long, env = "TASKDECK_ACCESS_TOKEN_TTL", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub access_token_ttl: u64,

    /// Refresh token lifetime in seconds (each refresh starts a new one).
    #[arg(long, env = "TASKDECK_REFRESH_TOKEN_TTL", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub refresh_token_ttl: u64,

    /// The proxies whose `X-Forwarded-For` is believed: comma-separated CIDRs or
    /// addresses. A request from one of them comes from the last address in that header
    /// that is not one of them; any other request from its socket's peer.
    #[arg(long, env = "TASKDECK_TRUSTED_PROXIES", default_value = "", hide_default_value = true)]
    pub trusted_proxies: TrustedProxies,

    /// Limit logins and registrations per client address: BURST/PER_SECOND, e.g. `20/1`
    /// (twenty at once, then one a second). Unset: no limit per address (the limit of
    /// failed logins per account always applies).
    #[arg(long, env = "TASKDECK_LOGIN_RATE")]
    pub login_rate: Option<AddressRate>,

    /// The most connections open at once; further clients wait to be accepted. Keep it
    /// below the process's file descriptor limit (`ulimit -n`).
    #[arg(long, env = "TASKDECK_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,

    /// Browser origins allowed to call the API (CORS): comma-separated, e.g.
    /// `https://app.example.com`, or `*` for any. Unset: no cross-origin access.
    #[arg(long, env = "TASKDECK_CORS_ORIGINS", default_value = "", hide_default_value = true)]
    pub cors_origins: crate::http::CorsOrigins,
}
