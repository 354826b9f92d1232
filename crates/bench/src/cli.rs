//! The command line of `taskdeck-bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "taskdeck-bench",
    about = "Starts the release taskdeck binary on a fresh database, seeds it through the API, \
             drives load over loopback and prints one row per scenario"
)]
pub struct Args {
    /// Database backend the server runs on.
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    pub backend: Backend,

    /// PostgreSQL server to use with `--backend postgres`: a fresh database
    /// `taskdeck_bench_<random>` is created on it and dropped at the end.
    #[arg(long, env = "TASKDECK_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,

    /// The `taskdeck` binary to measure. Default: `taskdeck` next to this executable,
    /// brought up to date first with `cargo build --release -p taskdeck` when the
    /// harness runs under `cargo run`.
    #[arg(long)]
    pub server: Option<PathBuf>,

    /// Do not run `cargo build --release -p taskdeck` before starting.
    #[arg(long)]
    pub no_build: bool,

    /// Measured time per load scenario, in seconds (default 5, or 1.5 with --quick).
    #[arg(long, value_parser = parse_positive_seconds)]
    pub duration: Option<Duration>,

    /// Unmeasured warm-up before each load scenario, in seconds (default 0.5, or 0.2 with --quick).
    #[arg(long, value_parser = parse_seconds)]
    pub warmup: Option<Duration>,

    /// Concurrent keep-alive connections per load scenario (isolation splits them in two).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(2..=4096))]
    pub connections: u16,

    /// Users seeded for the authenticated and mixed scenarios (default 64, or 32 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub users: Option<u16>,

    /// Sequential requests per growth measurement (default 200, or 40 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u16).range(5..=10_000))]
    pub growth_samples: Option<u16>,

    /// A ~30 s smoke run: shorter scenarios, fewer users and samples.
    #[arg(long)]
    pub quick: bool,

    /// Runs only the scenarios whose row name contains this text (`GET /health`, the
    /// reference of every ratio, always runs). For profiling one scenario; a filtered
    /// run is not a reference run.
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,

    /// Instead of the scenarios, runs the mixed scenario for this many seconds and
    /// prints the server's RSS, throughput and latency minute by minute: a flat RSS
    /// after warm-up says nothing leaks.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub soak: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What a run does, once the defaults of `--quick` are applied.
#[derive(Debug, Clone)]
pub struct Settings {
    pub duration: Duration,
    pub warmup: Duration,
    pub connections: usize,
    pub users: usize,
    pub growth_samples: usize,
    pub quick: bool,
    pub only: Option<String>,
}

impl Settings {
    /// Whether the scenario named `name` is to run.
    pub fn wants(&self, name: &str) -> bool {
        self.only.as_deref().is_none_or(|only| name.contains(only))
    }
}

impl Args {
    pub fn settings(&self) -> Settings {
        let (duration, warmup, users, samples) = if self.quick {
            (Duration::from_millis(1500), Duration::from_millis(200), 32, 40)
        } else {
            (Duration::from_secs(5), Duration::from_millis(500), 64, 200)
        };
        Settings {
            duration: self.duration.unwrap_or(duration),
            warmup: self.warmup.unwrap_or(warmup),
            connections: usize::from(self.connections),
            users: self.users.map_or(users, usize::from),
            growth_samples: self.growth_samples.map_or(samples, usize::from),
            quick: self.quick,
            only: self.only.clone(),
        }
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=3600.0).contains(&seconds) {
        return Err(format!("{seconds} s is out of range (0 to 3600)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_positive_seconds(text: &str) -> Result<Duration, String> {
    let duration = parse_seconds(text)?;
    if duration < Duration::from_millis(10) {
        return Err("a scenario needs at least 0.01 s".to_owned());
    }
    Ok(duration)
}
