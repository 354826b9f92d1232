//! The subcommands of the binary.

mod backup;
mod seed;
mod serve;

use std::sync::Arc;

use anyhow::Context;

use crate::backends::{self, Documented, Installation};
use crate::cli::{Command, DatabaseArgs, KeysAction, KeysArgs, OutboxArgs};
use crate::composition;
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
        Command::Keys(args) => keys(&args).await,
        Command::Backup(args) => backup::backup(&args).await,
    }
}

/// Opens the configured database and applies pending migrations.
///
/// # Errors
/// For a malformed URL, an unreachable database, or a failed migration.
pub async fn open_database(args: &DatabaseArgs) -> anyhow::Result<Arc<dyn Installation>> {
    backends::open(&DatabaseConfig::from_args(args)?).await
}

#[allow(clippy::print_stdout)]
fn print_openapi() -> anyhow::Result<()> {
    let json = composition::openapi::<Documented>().to_pretty_json().context("cannot render the OpenAPI document")?;
    println!("{json}");
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn outbox(args: &OutboxArgs) -> anyhow::Result<()> {
    let database = open_database(&args.database).await?;
    if args.requeue_dead {
        let requeued = database.requeue_dead().await.context("cannot re-queue dead events")?;
        println!("requeued {requeued}");
    }
    let stats = database.outbox_stats().await.context("cannot read the outbox")?;
    println!("pending {}", stats.pending);
    println!("dead {}", stats.dead);
    database.close().await;
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn keys(args: &KeysArgs) -> anyhow::Result<()> {
    let (KeysAction::Rotate(database) | KeysAction::List(database)) = &args.action;
    let database = open_database(database).await?;
    match args.action {
        KeysAction::Rotate(_) => {
            let kid = database.rotate_signing_key().await.context("cannot rotate the signing key")?;
            println!("signing with {kid}");
        }
        KeysAction::List(_) => {
            let mut keys = database.signing_keys().await.context("cannot read the signing keys")?;
            keys.sort_by_key(|key| std::cmp::Reverse(key.created_at));
            for key in keys {
                let state = key.superseded_at.map_or_else(|| "signing".to_owned(), |at| format!("superseded {at}"));
                println!("{} created {} {state}", key.kid, key.created_at);
            }
        }
    }
    database.close().await;
    Ok(())
}
