//! The subcommands of the binary.

mod seed;
mod serve;

use anyhow::Context;
use taskdeck_platform::postgres::PostgresDatabase;
use taskdeck_platform::sqlite::SqliteDatabase;

use crate::cli::{Command, DatabaseArgs, OutboxArgs};
use crate::composition::Database;
use crate::config::DatabaseConfig;

/// Runs one subcommand to completion.
///
/// # Errors
/// Any failure, with context for a one-line report.
pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::serve(args).await,
        Command::Migrate(args) => {
            let database = open_database(&args).await?;
            database.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed(args) => seed::seed(&args).await,
        Command::Openapi => print_openapi(),
        Command::Outbox(args) => outbox(&args).await,
    }
}

/// Opens the configured database and applies pending migrations.
///
/// # Errors
/// For a malformed URL, an unreachable database, or a failed migration.
pub async fn open_database(args: &DatabaseArgs) -> anyhow::Result<Database> {
    match DatabaseConfig::from_args(args)? {
        DatabaseConfig::Sqlite(settings) => {
            let database = SqliteDatabase::open(&settings).await?;
            database.migrate().await.context("cannot migrate the database")?;
            Ok(Database::Sqlite(database))
        }
        DatabaseConfig::Postgres(settings) => {
            let database = PostgresDatabase::connect(&settings).await?;
            database.migrate().await.context("cannot migrate the database")?;
            Ok(Database::Postgres(database))
        }
    }
}

#[allow(clippy::print_stdout)]
fn print_openapi() -> anyhow::Result<()> {
    let json = crate::http::openapi::document().to_pretty_json().context("cannot render the OpenAPI document")?;
    println!("{json}");
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn outbox(args: &OutboxArgs) -> anyhow::Result<()> {
    let database = open_database(&args.database).await?;
    let outbox = database.outbox();
    if args.requeue_dead {
        let requeued = outbox.requeue_dead().await.context("cannot re-queue dead events")?;
        println!("requeued {requeued}");
    }
    let stats = outbox.stats().await.context("cannot read the outbox")?;
    println!("pending {}", stats.pending);
    println!("dead {}", stats.dead);
    database.close().await;
    Ok(())
}
