//! The names of taskdeck's metrics (they are part of the operating contract: dashboards
//! and alerts depend on them), and what a backend reports of itself for them.
//!
//! Code everywhere records through the `metrics` facade; without an installed recorder
//! (no admin listener) every recording is a no-op.

use time::OffsetDateTime;

use crate::outbox::OutboxStats;

/// Counter `{route, method, status}`; the route is the template, e.g. `/api/projects/{id}`.
pub const HTTP_REQUESTS: &str = "taskdeck_http_requests_total";
/// Histogram `{route, method}`, in seconds.
pub const HTTP_REQUEST_DURATION: &str = "taskdeck_http_request_duration_seconds";
/// Gauge: requests being served.
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "taskdeck_http_requests_in_flight";
/// Gauge: events waiting in the outbox (not dead).
pub const OUTBOX_PENDING: &str = "taskdeck_outbox_pending";
/// Gauge: events parked after failing every attempt.
pub const OUTBOX_DEAD: &str = "taskdeck_outbox_dead";
/// Gauge: how long ago the oldest pending event occurred (0 when none waits).
pub const OUTBOX_OLDEST_PENDING_AGE: &str = "taskdeck_outbox_oldest_pending_age_seconds";
/// Counter `{handler, outcome}`: outcome `delivered`, `failed` (to be retried) or `dead`.
pub const RELAY_DELIVERIES: &str = "taskdeck_relay_deliveries_total";
/// Gauge `{pool, state}`: state `idle`, `in_use` or `waiting`.
pub const DB_POOL_CONNECTIONS: &str = "taskdeck_db_pool_connections";
/// Gauge `{state}`: state `queued` or `running`.
pub const PASSWORD_HASHES: &str = "taskdeck_password_hashes";
/// Counter `{reason}`: answers 429 (`address`: the limit per client address,
/// `account`: failed logins of one account).
pub const THROTTLED: &str = "taskdeck_throttled_total";

/// The connections of one of a backend's pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGauge {
    pub pool: &'static str,
    pub idle: usize,
    pub in_use: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// What a backend reports of itself when metrics are scraped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendGauges {
    pub outbox: OutboxStats,
    /// When the oldest pending event occurred.
    pub oldest_pending_at: Option<OffsetDateTime>,
    pub pools: Vec<PoolGauge>,
}

impl BackendGauges {
    /// Sets the gauges of the outbox and the pools from this report.
    pub fn record(&self, now: OffsetDateTime) {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        {
            metrics::gauge!(OUTBOX_PENDING).set(self.outbox.pending as f64);
            metrics::gauge!(OUTBOX_DEAD).set(self.outbox.dead as f64);
            for pool in &self.pools {
                metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => pool.pool, "state" => "idle").set(pool.idle as f64);
                metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => pool.pool, "state" => "in_use").set(pool.in_use as f64);
                metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => pool.pool, "state" => "waiting")
                    .set(pool.waiting as f64);
            }
        }
        let age = self.oldest_pending_at.map_or(0.0, |occurred| (now - occurred).as_seconds_f64().max(0.0));
        metrics::gauge!(OUTBOX_OLDEST_PENDING_AGE).set(age);
    }
}
