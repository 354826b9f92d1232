//! The load generator: a fixed number of keep-alive connections, each sending its next
//! request as soon as the previous answer is read (closed loop), for a fixed time.

use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::task::JoinSet;

use crate::client::{Connection, Endpoint, Request};

/// Produces the requests of one connection, in order.
pub type Generator = Box<dyn FnMut() -> Request + Send>;

/// Connections that all run the same kind of traffic.
pub struct Group {
    pub connections: usize,
    /// Called once per connection with its index (0-based within the group).
    pub make: Box<dyn Fn(usize) -> Generator + Send + Sync>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Group").field("connections", &self.connections).finish_non_exhaustive()
    }
}

/// How long a single request may take before it counts as an error and its
/// connection stops: keeps every scenario bounded even if the server stalls.
const REQUEST_GRACE: Duration = Duration::from_secs(10);
/// Error messages kept per scenario (the count is exact; the samples are for reading).
const ERROR_SAMPLES: usize = 3;

/// The result of one group over the measured window.
#[derive(Debug, Default)]
pub struct Stats {
    /// Latencies of successful (2xx) requests in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Non-2xx answers and transport errors.
    pub errors: u64,
    pub error_samples: Vec<String>,
    /// From the start of the measured window to the last completion in it.
    pub elapsed: Duration,
}

impl Stats {
    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64 + self.errors
    }

    /// Completed requests (errors included) per second.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.requests() as f64 / seconds } else { 0.0 }
    }

    /// Nearest-rank percentile of the successful requests, in microseconds.
    pub fn percentile(&self, quantile: f64) -> Option<u32> {
        percentile(&self.latencies_us, quantile)
    }

    pub fn from_samples(mut latencies_us: Vec<u32>, errors: u64, error_samples: Vec<String>) -> Self {
        latencies_us.sort_unstable();
        let total: u64 = latencies_us.iter().map(|&us| u64::from(us)).sum();
        Self { latencies_us, errors, error_samples, elapsed: Duration::from_micros(total) }
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u32], quantile: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[derive(Debug, Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    errors: u64,
    error_samples: Vec<String>,
    last_done: Option<Instant>,
}

impl WorkerStats {
    fn error(&mut self, message: impl FnOnce() -> String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES {
            self.error_samples.push(message());
        }
    }
}

/// Opens every connection, then runs all groups at once: `warmup` unmeasured, then
/// `duration` measured. Returns one [`Stats`] per group, in order.
pub async fn run(
    endpoint: &Endpoint,
    groups: Vec<Group>,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Vec<Stats>> {
    let mut workers = Vec::new();
    for (group_index, group) in groups.iter().enumerate() {
        for index in 0..group.connections {
            let connection = Connection::open(endpoint).await?;
            workers.push((group_index, connection, (group.make)(index)));
        }
    }
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    let mut set = JoinSet::new();
    for (group_index, connection, generator) in workers {
        set.spawn(async move { (group_index, work(connection, generator, measure_from, end).await) });
    }
    let mut per_group: Vec<Vec<WorkerStats>> = groups.iter().map(|_| Vec::new()).collect();
    while let Some(joined) = set.join_next().await {
        let (group_index, stats) = joined.context("a load worker panicked")?;
        if let Some(slot) = per_group.get_mut(group_index) {
            slot.push(stats);
        }
    }
    Ok(per_group.into_iter().map(|workers| merge(workers, measure_from, duration)).collect())
}

async fn work(
    mut connection: Connection,
    mut generator: Generator,
    measure_from: Instant,
    end: Instant,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    loop {
        let started = Instant::now();
        if started >= end {
            break;
        }
        let request = generator();
        let outcome = tokio::time::timeout_at((end + REQUEST_GRACE).into(), connection.send(&request)).await;
        let done = Instant::now();
        let measured = started >= measure_from;
        match outcome {
            Ok(Ok(reply)) if request.succeeded(reply.status) => {
                if measured {
                    let micros = u32::try_from(done.duration_since(started).as_micros()).unwrap_or(u32::MAX);
                    stats.latencies_us.push(micros);
                }
            }
            Ok(Ok(reply)) => {
                if measured {
                    stats.error(|| format!("{} -> {} {}", request.describe(), reply.status, reply.snippet()));
                }
            }
            Ok(Err(error)) => {
                if measured {
                    stats.error(|| format!("{} -> {error:#}", request.describe()));
                }
                // Do not spin on a server that refuses connections.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => {
                stats.error(|| format!("{} -> no answer within {REQUEST_GRACE:?} after the end", request.describe()));
                break;
            }
        }
        if measured {
            stats.last_done = Some(done);
        }
    }
    stats
}

fn merge(workers: Vec<WorkerStats>, measure_from: Instant, duration: Duration) -> Stats {
    let mut latencies_us = Vec::with_capacity(workers.iter().map(|worker| worker.latencies_us.len()).sum());
    let mut errors = 0;
    let mut error_samples = Vec::new();
    let mut last_done = None;
    for worker in workers {
        latencies_us.extend_from_slice(&worker.latencies_us);
        errors += worker.errors;
        for sample in worker.error_samples {
            if error_samples.len() < ERROR_SAMPLES {
                error_samples.push(sample);
            }
        }
        last_done = last_done.max(worker.last_done);
    }
    latencies_us.sort_unstable();
    let elapsed = last_done.map_or(duration, |done| done.duration_since(measure_from).max(duration));
    Stats { latencies_us, errors, error_samples, elapsed }
}
