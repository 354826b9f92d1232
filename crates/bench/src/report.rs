//! Progress lines on stderr, the results table on stdout.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Instant;

/// When the run started, for the progress lines.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// One line of progress on stderr.
#[allow(clippy::print_stderr)]
pub fn progress(message: std::fmt::Arguments<'_>) {
    let elapsed = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("[{elapsed:6.1} s] {message}");
}

/// How a row's rate was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Closed-loop load over many connections: the rate is throughput, compared with `/health`.
    Load,
    /// One connection, one request at a time on an otherwise idle server: the rate is 1 / mean latency.
    Sequential,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub kind: Kind,
    pub connections: usize,
    pub rate: f64,
    pub p50_us: Option<u32>,
    pub p99_us: Option<u32>,
    pub errors: u64,
    pub rss_mib: Option<f64>,
    pub note: String,
    pub error_samples: Vec<String>,
}

/// The whole table as Markdown. `health` is the `/health` throughput every load row is
/// compared with.
pub fn table(rows: &[Row], health: Option<f64>) -> String {
    let header = ["scenario", "conns", "req/s", "vs /health", "p50 ms", "p99 ms", "errors", "peak RSS MiB", "note"];
    let cells: Vec<[String; 9]> = rows
        .iter()
        .map(|row| {
            let relative = match (row.kind, health) {
                (Kind::Load, Some(health)) if health > 0.0 => format!("{:.1} %", row.rate / health * 100.0),
                _ => "–".to_owned(),
            };
            [
                row.name.clone(),
                row.connections.to_string(),
                format!("{:.0}", row.rate),
                relative,
                millis(row.p50_us),
                millis(row.p99_us),
                row.errors.to_string(),
                row.rss_mib.map_or_else(|| "?".to_owned(), |mib| format!("{mib:.1}")),
                row.note.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|title| title.chars().count());
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        out.push('|');
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            let pad = width.saturating_sub(cell.chars().count());
            // Numbers right-aligned, text left-aligned.
            if index == 0 || index == 8 {
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            } else {
                let _ = write!(out, " {}{cell} |", " ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(&header.map(str::to_owned), &mut out);
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(index, width)| {
            if index == 0 || index == 8 {
                "-".repeat(*width)
            } else {
                format!("{}:", "-".repeat(width.saturating_sub(1)))
            }
        })
        .collect();
    line(&rule, &mut out);
    for cells in &cells {
        line(cells, &mut out);
    }
    out
}

fn millis(micros: Option<u32>) -> String {
    micros.map_or_else(|| "–".to_owned(), |us| format!("{:.3}", f64::from(us) / 1000.0))
}

/// Prints the report on stdout.
#[allow(clippy::print_stdout)]
pub fn print(text: &str) {
    print!("{text}");
}
