//! The connections of the read side: one query each, handed back without a round trip.
//!
//! sqlx's pool pings every connection it takes back (one more round trip to the server
//! per query, measured at about a tenth of the task list's throughput) to find the
//! ones a cancelled query left mid-conversation. Queries of the read side are single
//! statements, so this pool knows that case without asking the server: a connection
//! is handed back only by [`ReadConnection::release`], after its query completed; one
//! dropped before (a request cancelled mid-query, a failed query) is closed instead.
//! A connection idle for a while is pinged before reuse, as in the write pool.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, Pool, PoolError, RecycleError, RecycleResult};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use taskdeck_kernel::StoreError;
use taskdeck_platform::metrics::PoolGauge;

use crate::database::{ACQUIRE_TIMEOUT, PING_AFTER_IDLE};

/// Opens read connections and checks idle ones before reuse.
#[derive(Debug)]
pub(crate) struct ReadConnections {
    options: PgConnectOptions,
}

impl Manager for ReadConnections {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options).await
    }

    async fn recycle(&self, connection: &mut PgConnection, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        if metrics.last_used() >= PING_AFTER_IDLE {
            connection.ping().await.map_err(RecycleError::Backend)?;
        }
        Ok(())
    }
}

/// No read connection could be had in time.
#[derive(Debug, thiserror::Error)]
#[error("no read connection could be had: {0}")]
pub struct ReadPoolExhausted(pub(crate) String);

/// A pool of read connections.
#[derive(Debug, Clone)]
pub(crate) struct ReadPool(Pool<ReadConnections>);

impl ReadPool {
    /// Opens connections lazily, at most `size`, each with `options`.
    pub(crate) fn new(options: PgConnectOptions, size: u32, connect_timeout: Duration) -> Result<Self, String> {
        Pool::builder(ReadConnections { options })
            .max_size(usize::try_from(size.max(1)).unwrap_or(1))
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(connect_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map(Self)
            .map_err(|error| error.to_string())
    }

    /// A connection for one query.
    pub(crate) async fn connection(&self) -> Result<ReadConnection, StoreError> {
        let object = self.0.get().await.map_err(|error| match error {
            PoolError::Backend(error) => StoreError::backend(error),
            // No connection within the wait, or none could be opened in time: the
            // database is overloaded or unreachable, a passing condition.
            other => StoreError::backend(ReadPoolExhausted(other.to_string())),
        })?;
        Ok(ReadConnection(Some(object)))
    }

    pub(crate) fn close(&self) {
        self.0.close();
    }

    pub(crate) fn gauge(&self) -> PoolGauge {
        let status = self.0.status();
        PoolGauge {
            pool: "reads",
            idle: status.available,
            in_use: status.size.saturating_sub(status.available),
            waiting: status.waiting,
        }
    }
}

/// A read connection lent for one query; see the module documentation.
#[derive(Debug)]
pub struct ReadConnection(Option<Object<ReadConnections>>);

impl ReadConnection {
    /// Hands the connection back for the next query. Call it once the query's result
    /// has been read to the end.
    pub fn release(mut self) {
        drop(self.0.take());
    }
}

impl Drop for ReadConnection {
    fn drop(&mut self) {
        // Not released: a query may be half-way through the conversation.
        if let Some(object) = self.0.take() {
            drop(Object::take(object));
        }
    }
}

impl Deref for ReadConnection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.0.as_deref().expect("a read connection is present until it is released")
    }
}

impl DerefMut for ReadConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.0.as_deref_mut().expect("a read connection is present until it is released")
    }
}
