//! Logs: structured `tracing` events to stderr, filtered by `RUST_LOG`.
//!
//! Every request writes a log line, so lines are handed to a thread of their own that
//! writes them in batches: a request pays for formatting its line, not for a write to
//! stderr. Nothing is dropped; if that thread falls far behind, logging waits for it.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Lines buffered for the writing thread before logging waits for it.
const BUFFERED_LINES: usize = 65_536;

/// Keeps the log writer running; dropping it writes out every line logged so far.
#[derive(Debug)]
#[must_use = "dropping it stops the log writer"]
pub struct Logs(Option<WorkerGuard>);

impl Logs {
    /// Writes out every line logged so far and stops the writer.
    pub fn flush(&mut self) {
        drop(self.0.take());
    }
}

/// Installs the global subscriber. Without `RUST_LOG`, taskdeck logs at `info`.
pub fn init(format: LogFormat) -> Logs {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in files or pipes.
    let colours = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("taskdeck-log")
        .finish(BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(colours);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    Logs(Some(guard))
}
