//! The server under test: finding (and building) the release binary, starting it on a
//! fresh database, reading its log, sampling its memory and stopping it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::oneshot;

use crate::report::progress;

/// How long `serve` may take to log its address (PostgreSQL: connect and migrate).
const START_DEADLINE: Duration = Duration::from_secs(90);
/// How long a graceful stop may take before the process is killed.
const STOP_DEADLINE: Duration = Duration::from_secs(20);
/// Log lines kept to explain a failure.
const TAIL_LINES: usize = 40;

/// Finds the `taskdeck` binary: `--server`, else the one next to this executable. When
/// this harness was started by `cargo run`, the server is (re)built first so that the
/// numbers are never those of a stale binary.
pub fn locate(explicit: Option<&Path>, build: bool) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        if !path.is_file() {
            bail!("--server {}: no such file", path.display());
        }
        return Ok(path.to_path_buf());
    }
    let exe = std::env::current_exe().context("cannot find this executable's path")?;
    let dir = exe.parent().context("this executable has no parent directory")?;
    let binary = dir.join(format!("taskdeck{}", std::env::consts::EXE_SUFFIX));
    let profile = dir.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    if profile == "debug" {
        bail!(
            "taskdeck-bench is a debug build, so it would measure a debug server: run \
             `cargo run --release -p taskdeck-bench -- ...` (or pass --server PATH)"
        );
    }
    // `cargo run` tells the program which cargo started it.
    if build && let Some(cargo) = std::env::var_os("CARGO") {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        progress(format_args!("building the server: cargo build --release -p taskdeck"));
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "taskdeck", "--manifest-path"])
            .arg(&manifest)
            .stdin(Stdio::null())
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            bail!("`cargo build --release -p taskdeck` failed ({status}); fix the build or pass --server PATH");
        }
    }
    if !binary.is_file() {
        bail!(
            "{} does not exist: run `cargo build --release -p taskdeck` first, \
             or start the harness with `cargo run --release -p taskdeck-bench`, or pass --server PATH",
            binary.display()
        );
    }
    Ok(binary)
}

/// What the server wrote on stderr.
#[derive(Debug, Default)]
struct Log {
    tail: VecDeque<String>,
    /// WARN and ERROR lines (the first few) and their count.
    problems: Vec<String>,
    problem_count: usize,
}

/// A running `taskdeck serve`. Killed when dropped, if not stopped before.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl Server {
    pub async fn start(binary: &Path, database_url: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", database_url])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stderr = child.stderr.take().context("the server's stderr is not piped")?;
        let log = Arc::new(Mutex::new(Log::default()));
        let (address_tx, address_rx) = oneshot::channel();
        let reader_log = Arc::clone(&log);
        std::thread::spawn(move || read_log(stderr, &reader_log, address_tx));
        let mut server = Self { child: Some(child), addr: SocketAddr::from(([127, 0, 0, 1], 0)), log };
        match tokio::time::timeout(START_DEADLINE, address_rx).await {
            Ok(Ok(addr)) => {
                server.addr = addr;
                Ok(server)
            }
            Ok(Err(_)) => bail!("the server exited before listening; its log:\n{}", server.tail()),
            Err(_) => {
                bail!("the server did not log `listening on` within {START_DEADLINE:?}; its log:\n{}", server.tail())
            }
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Fails with the end of the log if the process is gone.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().context("cannot check the server process")?
        {
            bail!("the server exited ({status}); the end of its log:\n{}", self.tail());
        }
        Ok(())
    }

    /// The last log lines.
    pub fn tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.tail.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
    }

    /// WARN/ERROR lines logged so far: how many, and the first few.
    pub fn problems(&self) -> (usize, Vec<String>) {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        (log.problem_count, log.problems.clone())
    }

    /// SIGTERM, then waits for a graceful exit (killing it after a deadline).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let terminated = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !terminated {
            let _ = child.kill();
        }
        let deadline = Instant::now() + STOP_DEADLINE;
        loop {
            if let Some(status) = child.try_wait().context("cannot wait for the server")? {
                if !status.success() && terminated {
                    bail!(
                        "the server did not stop cleanly on SIGTERM ({status}); the end of its log:\n{}",
                        self.tail()
                    );
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the server did not stop within {STOP_DEADLINE:?} of SIGTERM and was killed");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_log(stderr: std::process::ChildStderr, log: &Mutex<Log>, address_tx: oneshot::Sender<SocketAddr>) {
    let mut address_tx = Some(address_tx);
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.split("listening on http://").nth(1)
            && let Some(addr) = rest.split_whitespace().next().and_then(|addr| addr.parse::<SocketAddr>().ok())
            && let Some(tx) = address_tx.take()
        {
            let _ = tx.send(addr);
        }
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        if line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("\"level\":\"WARN\"") {
            log.problem_count += 1;
            if log.problems.len() < 5 {
                log.problems.push(line.clone());
            }
        }
        if log.tail.len() == TAIL_LINES {
            log.tail.pop_front();
        }
        log.tail.push_back(line);
    }
}

/// Peak resident memory of the server during one scenario.
///
/// Linux keeps the process's peak (`VmHWM` in `/proc/PID/status`); writing `5` to
/// `/proc/PID/clear_refs` resets it, so the peak is exact per scenario. Where the reset
/// is not allowed, `VmRSS` sampled every 100 ms stands in.
#[derive(Debug)]
pub struct RssMonitor {
    pid: u32,
    reset: bool,
    sampled_kib: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl RssMonitor {
    pub fn start(pid: u32) -> Self {
        let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let sampled_kib = Arc::new(AtomicU64::new(0));
        let sampled = Arc::clone(&sampled_kib);
        let sampler = tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_millis(100));
            loop {
                interval.tick().await;
                if let Some(kib) = status_kib(pid, "VmRSS:") {
                    sampled.fetch_max(kib, Ordering::Relaxed);
                }
            }
        });
        Self { pid, reset, sampled_kib, sampler }
    }

    /// Peak RSS in MiB, if the process could be read at all.
    pub fn finish(self) -> Option<f64> {
        self.sampler.abort();
        let mut peak = self.sampled_kib.load(Ordering::Relaxed);
        if let Some(kib) = status_kib(self.pid, "VmRSS:") {
            peak = peak.max(kib);
        }
        if self.reset
            && let Some(kib) = status_kib(self.pid, "VmHWM:")
        {
            peak = peak.max(kib);
        }
        (peak > 0).then(|| peak as f64 / 1024.0)
    }
}

/// The resident memory of a process now, in MiB.
pub fn rss_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmRSS:").map(|kib| kib as f64 / 1024.0)
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.trim_start_matches(field).split_whitespace().next()?.parse().ok()
}
