//! The `taskdeck` command: parses the command line and runs a subcommand.

use std::process::ExitCode;

use clap::Parser;
use taskdeck::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format;
    taskdeck::telemetry::init(format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(format, &anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    match runtime.block_on(taskdeck::commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format, &error),
    }
}

/// Reports a fatal error as one line on stderr and exits non-zero: a plain line for a
/// person, or one JSON log event with `--log-format json`, never both (the log goes to
/// stderr too, so both would say the same thing twice).
#[allow(clippy::print_stderr)]
fn fail(format: LogFormat, error: &anyhow::Error) -> ExitCode {
    match format {
        LogFormat::Text => eprintln!("taskdeck: error: {error:#}"),
        LogFormat::Json => tracing::error!("{error:#}"),
    }
    ExitCode::FAILURE
}
