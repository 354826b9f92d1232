//! `taskdeck-bench`: the performance harness of taskdeck.
//!
//! Starts the release `taskdeck` binary on a fresh database (SQLite, or a new database
//! on a PostgreSQL server), seeds users, projects and tasks through the API, drives
//! closed-loop load over loopback with a fixed number of keep-alive connections for a
//! fixed time per scenario, and prints one row per scenario. See `docs/performance.md`.

mod cli;
mod client;
mod database;
mod load;
mod report;
mod scenarios;
mod seed;
mod server;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::cli::Args;
use crate::client::Endpoint;
use crate::database::Database;
use crate::report::progress;
use crate::scenarios::Bench;
use crate::server::Server;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

#[allow(clippy::print_stderr)]
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("taskdeck-bench: error: {error:#}");
    ExitCode::FAILURE
}

async fn run(args: Args) -> anyhow::Result<()> {
    let settings = args.settings();
    progress(format_args!("taskdeck-bench, backend {}", args.backend.name()));
    let binary = server::locate(args.server.as_deref(), !args.no_build)?;
    let database = Database::create(args.backend, args.postgres_url.as_deref()).await?;
    progress(format_args!("server {} on a fresh {}", binary.display(), database.describe()));

    // Whatever happens (an error, Ctrl-C), the server is stopped and the database removed.
    let outcome = tokio::select! {
        outcome = bench(&args, &settings, &binary, &database) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    progress(format_args!("removing the {}", database.describe()));
    let removed = database.remove().await;
    let text = outcome?;
    removed?;
    report::print(&text);
    Ok(())
}

/// Runs everything against a started server and returns the report.
async fn bench(
    args: &Args,
    settings: &cli::Settings,
    binary: &std::path::Path,
    database: &Database,
) -> anyhow::Result<String> {
    let mut server = Server::start(binary, &database.url()).await?;
    let result = measure(args, settings, &mut server, database).await;
    progress(format_args!("stopping the server (SIGTERM)"));
    let stopped = server.stop().await;
    let text = result?;
    stopped?;
    Ok(text)
}

async fn measure(
    args: &Args,
    settings: &cli::Settings,
    server: &mut Server,
    database: &Database,
) -> anyhow::Result<String> {
    let endpoint = Endpoint::new(server.addr)?;
    progress(format_args!("server listening on {}", server.addr));
    let started = std::time::Instant::now();
    let fixture =
        seed::seed(&endpoint, database, settings.users, settings.growth_samples, settings.connections).await?;
    server.check_alive()?;
    progress(format_args!("seeded in {:.1} s", started.elapsed().as_secs_f64()));

    let mut bench = Bench {
        endpoint,
        server,
        settings: settings.clone(),
        fixture: Arc::new(fixture),
        rows: Vec::new(),
        health: None,
        summary: Vec::new(),
    };
    if let Some(seconds) = args.soak {
        let table = bench.soak(std::time::Duration::from_secs(seconds)).await?;
        return Ok(format!(
            "\ntaskdeck-bench --soak {seconds}: backend {}, mixed scenario, {} connections, {} users\n\n{table}",
            args.backend.name(),
            settings.connections,
            settings.users,
        ));
    }
    bench.run_all().await?;
    let (problem_count, problems) = bench.server.problems();

    let mut text = String::new();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let _ = writeln!(
        text,
        "\ntaskdeck-bench{}{}: backend {}, {} connections, {:.1} s per scenario after {:.1} s warm-up, {} users, \
         {} growth samples, {cpus} CPUs, load generator on the same machine\n",
        if settings.quick { " --quick (smoke run)" } else { "" },
        settings.only.as_deref().map(|only| format!(" --only {only:?} (filtered run)")).unwrap_or_default(),
        args.backend.name(),
        settings.connections,
        settings.duration.as_secs_f64(),
        settings.warmup.as_secs_f64(),
        settings.users,
        settings.growth_samples,
    );
    text.push_str(&report::table(&bench.rows, bench.health));
    text.push('\n');
    for line in &bench.summary {
        let _ = writeln!(text, "- {line}");
    }
    for row in bench.rows.iter().filter(|row| !row.error_samples.is_empty()) {
        let _ = writeln!(text, "\nerrors in {}:", row.name);
        for sample in &row.error_samples {
            let _ = writeln!(text, "  {sample}");
        }
    }
    if problem_count > 0 {
        let _ = writeln!(text, "\nthe server logged {problem_count} warning/error line(s), first ones:");
        for line in problems {
            let _ = writeln!(text, "  {line}");
        }
    }
    Ok(text)
}
