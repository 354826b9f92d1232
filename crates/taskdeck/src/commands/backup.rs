//! `taskdeck backup PATH`: a copy of the live SQLite database.

use crate::cli::BackupArgs;
use crate::config::DatabaseConfig;

/// Copies the SQLite database to the path given; on PostgreSQL, explains `pg_dump`.
///
/// # Errors
/// For a PostgreSQL URL, and for every failure of the copy.
#[allow(clippy::print_stdout)]
pub async fn backup(args: &BackupArgs) -> anyhow::Result<()> {
    match DatabaseConfig::from_args(&args.database)? {
        #[cfg(feature = "sqlite")]
        DatabaseConfig::Sqlite(settings) => {
            let (source, destination, replace) = (settings.path, args.path.clone(), args.force);
            let report =
                tokio::task::spawn_blocking(move || taskdeck_platform_sqlite::back_up(&source, &destination, replace))
                    .await??;
            println!(
                "wrote {} ({} bytes, {} pages, checked)",
                report.destination.display(),
                report.bytes,
                report.pages
            );
            Ok(())
        }
        #[cfg(feature = "postgres")]
        DatabaseConfig::Postgres(_) => anyhow::bail!(
            "taskdeck backup copies SQLite databases; back up PostgreSQL with its own tools: \
             pg_dump --format=custom --file={} DATABASE_URL (restore with pg_restore)",
            args.path.display()
        ),
    }
}
