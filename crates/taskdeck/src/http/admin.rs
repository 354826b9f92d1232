//! The operators' listener (`TASKDECK_ADMIN_BIND`): `/metrics` in the Prometheus text
//! format, `/health` and `/ready`, apart from the API's listener so that it can stay
//! on a private address.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use taskdeck_platform::DatabaseProbe;
use taskdeck_platform::metrics::{
    DB_POOL_CONNECTIONS, HTTP_REQUEST_DURATION, HTTP_REQUESTS, HTTP_REQUESTS_IN_FLIGHT, OUTBOX_DEAD,
    OUTBOX_OLDEST_PENDING_AGE, OUTBOX_PENDING, PASSWORD_HASHES, RELAY_DELIVERIES, THROTTLED,
};
use time::OffsetDateTime;
use tokio::sync::watch;

/// Request durations, in seconds: most reads take well under a millisecond, hashing
/// logins tens of milliseconds, and the request timeout is 30 s.
const DURATION_BUCKETS: [f64; 17] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// How often histograms are folded into their totals, whether or not anyone scrapes:
/// the exporter otherwise keeps every observation since the last scrape.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A gauge refreshed when metrics are scraped, from a source outside the database.
pub type GaugeRefresh = Arc<dyn Fn() + Send + Sync>;

/// Installs the process's metrics recorder: from here on, what the code records is kept.
///
/// # Errors
/// When a recorder is installed already.
pub fn install_recorder() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.to_owned()), &DURATION_BUCKETS)
        .context("cannot set the request duration buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    describe();
    Ok(handle)
}

fn describe() {
    describe_counter!(HTTP_REQUESTS, "Requests answered, by route template, method and status");
    describe_histogram!(HTTP_REQUEST_DURATION, Unit::Seconds, "Time to answer a request, by route template and method");
    describe_gauge!(HTTP_REQUESTS_IN_FLIGHT, "Requests being served");
    describe_gauge!(OUTBOX_PENDING, "Events waiting in the outbox for delivery");
    describe_gauge!(OUTBOX_DEAD, "Events parked after failing every delivery attempt");
    describe_gauge!(OUTBOX_OLDEST_PENDING_AGE, Unit::Seconds, "Age of the oldest event waiting in the outbox");
    describe_counter!(RELAY_DELIVERIES, "Deliveries of outbox events to their handlers, by handler and outcome");
    describe_gauge!(DB_POOL_CONNECTIONS, "Database connections of each pool, by state (idle, in_use, waiting)");
    describe_gauge!(PASSWORD_HASHES, "Password hashes queued and running");
    describe_counter!(THROTTLED, "Requests answered 429, by reason");
}

/// Folds histogram observations into their totals until `shutdown` turns true.
pub async fn upkeep(handle: PrometheusHandle, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = ticks.tick() => handle.run_upkeep(),
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

struct Admin {
    handle: PrometheusHandle,
    probe: Arc<dyn DatabaseProbe>,
    refreshes: Vec<GaugeRefresh>,
}

/// The admin listener's routes.
pub fn router(handle: PrometheusHandle, probe: Arc<dyn DatabaseProbe>, refreshes: Vec<GaugeRefresh>) -> Router {
    let health: Router = super::health_routes().with_state(Arc::clone(&probe)).split_for_parts().0;
    Router::new().route("/metrics", get(metrics)).with_state(Arc::new(Admin { handle, probe, refreshes })).merge(health)
}

/// The gauges read at scrape time are refreshed first; a database that cannot be read
/// leaves them as they were (and says so in the log) rather than failing the scrape.
async fn metrics(State(admin): State<Arc<Admin>>) -> Response {
    match admin.probe.gauges().await {
        Ok(gauges) => gauges.record(OffsetDateTime::now_utc()),
        Err(error) => tracing::warn!(%error, "cannot read the outbox and pool gauges for /metrics"),
    }
    for refresh in &admin.refreshes {
        refresh();
    }
    let mut response = admin.handle.render().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    response
}
