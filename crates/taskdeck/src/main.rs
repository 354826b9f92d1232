//! The `taskdeck` command: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use taskdeck::cli::{Cli, LogFormat};
use taskdeck::telemetry::Logs;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    let mut logs = taskdeck::telemetry::init(format);
    let outcome = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(taskdeck::commands::run(cli.command)),
        Err(error) => Err(anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format, &error, &mut logs),
    }
}

/// Reports a fatal error as one line on stderr and exits non-zero: a plain line for a
/// person, or one JSON log event with `--log-format json`, never both (the log goes to
/// stderr too, so both would say the same thing twice).
#[allow(clippy::print_stderr)]
fn fail(format: LogFormat, error: &anyhow::Error, logs: &mut Logs) -> ExitCode {
    match format {
        // After the lines logged before it, which the log writer may still hold.
        LogFormat::Text => {
            logs.flush();
            eprintln!("taskdeck: error: {error:#}");
        }
        LogFormat::Json => {
            tracing::error!("{error:#}");
            logs.flush();
        }
    }
    ExitCode::FAILURE
}
