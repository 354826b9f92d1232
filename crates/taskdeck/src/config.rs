//! Configuration values parsed from the command line: which database to use.

#[cfg(feature = "postgres")]
use std::time::Duration;

#[cfg(feature = "postgres")]
use taskdeck_platform_postgres::{PostgresSettings, PostgresSetupError};
#[cfg(feature = "sqlite")]
use taskdeck_platform_sqlite::{SqliteSettings, SqliteSetupError};
use thiserror::Error;

use crate::cli::DatabaseArgs;

/// The storage backend a URL selects, among those this build has.
#[derive(Debug, Clone)]
pub enum DatabaseConfig {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteSettings),
    #[cfg(feature = "postgres")]
    Postgres(Box<PostgresSettings>),
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[cfg(feature = "sqlite")]
    #[error(transparent)]
    Sqlite(#[from] SqliteSetupError),
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] PostgresSetupError),
    #[error("unsupported database URL {url:?}: expected sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnknownScheme { url: String },
    #[error("this taskdeck was built without {backend} (cargo feature `{feature}`), so it cannot open {url:?}")]
    NotBuiltIn { backend: &'static str, feature: &'static str, url: String },
}

impl DatabaseConfig {
    /// # Errors
    /// `ConfigError` for a URL of an unknown scheme or of a backend this build lacks, or
    /// a malformed one.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        if url.starts_with("sqlite:") {
            #[cfg(feature = "sqlite")]
            return Ok(Self::Sqlite(SqliteSettings::from_url(url)?));
            #[cfg(not(feature = "sqlite"))]
            return Err(ConfigError::NotBuiltIn { backend: "SQLite", feature: "sqlite", url: redact(url) });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return Ok(Self::Postgres(Box::new(PostgresSettings::from_url(url)?)));
            #[cfg(not(feature = "postgres"))]
            return Err(ConfigError::NotBuiltIn { backend: "PostgreSQL", feature: "postgres", url: redact(url) });
        }
        Err(ConfigError::UnknownScheme { url: redact(url) })
    }

    /// The database settings of the command line.
    ///
    /// # Errors
    /// As [`DatabaseConfig::from_url`].
    pub fn from_args(args: &DatabaseArgs) -> Result<Self, ConfigError> {
        #[cfg_attr(not(feature = "postgres"), allow(unused_mut))]
        let mut config = Self::from_url(&args.database_url)?;
        // The only variant in a build without SQLite.
        #[cfg(feature = "postgres")]
        #[allow(irrefutable_let_patterns)]
        if let Self::Postgres(settings) = &mut config {
            settings.pool_size = args.database_pool_size;
            settings.read_pool_size = args.database_read_pool_size;
            settings.statement_timeout =
                (args.database_statement_timeout > 0).then(|| Duration::from_millis(args.database_statement_timeout));
            settings.connect_timeout = Duration::from_secs(args.database_connect_timeout);
        }
        Ok(config)
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme_end], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_sqlite_url_selects_sqlite() {
        assert!(matches!(DatabaseConfig::from_url("sqlite://taskdeck.db"), Ok(DatabaseConfig::Sqlite(_))));
    }

    #[test]
    fn an_unknown_scheme_is_a_configuration_error() {
        assert!(matches!(DatabaseConfig::from_url("mysql://x/y"), Err(ConfigError::UnknownScheme { .. })));
        assert!(matches!(DatabaseConfig::from_url("taskdeck.db"), Err(ConfigError::UnknownScheme { .. })));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_postgres_url_selects_postgres() {
        assert!(matches!(DatabaseConfig::from_url("postgres://bob@db:5432/app"), Ok(DatabaseConfig::Postgres(_))));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn the_pool_flags_size_the_write_and_read_pools_separately() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "taskdeck",
            "migrate",
            "--database-url",
            "postgres://bob@db:5432/app",
            "--database-pool-size",
            "12",
            "--database-read-pool-size",
            "3",
        ])
        .unwrap();
        let crate::cli::Command::Migrate(args) = cli.command else { panic!("parsed as another command") };
        let Ok(DatabaseConfig::Postgres(settings)) = DatabaseConfig::from_args(&args) else { panic!("not PostgreSQL") };
        assert_eq!((settings.pool_size, settings.read_pool_size), (12, 3));
    }

    #[test]
    fn passwords_never_appear_in_messages() {
        let error = DatabaseConfig::from_url("mysql://bob:s3cret@db:5432/app").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
