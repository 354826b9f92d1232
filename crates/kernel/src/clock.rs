//! Time as a port: the domain never reads the system clock, it is handed `now`.

use std::fmt;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Tells the current time. Application services ask it once per command and pass the
/// instant down to the aggregate.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current instant, in UTC, truncated to whole microseconds so that it survives
    /// every storage backend unchanged.
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to; for tests.
pub struct FixedClock {
    now: Mutex<OffsetDateTime>,
}

impl FixedClock {
    #[must_use]
    pub fn at(now: OffsetDateTime) -> Self {
        Self { now: Mutex::new(truncate_to_micros(now)) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl fmt::Debug for FixedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedClock").field("now", &self.now()).finish()
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Drops sub-microsecond precision: PostgreSQL keeps microseconds, and an instant that
/// changes when stored would make `completedAt` drift between two reads.
#[must_use]
pub fn truncate_to_micros(instant: OffsetDateTime) -> OffsetDateTime {
    let nanos = instant.nanosecond();
    instant.replace_nanosecond(nanos - nanos % 1_000).unwrap_or(instant).to_offset(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fixed_clock_moves_only_when_advanced() {
        let clock = FixedClock::at(datetime!(2026-11-24 10:15:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-11-24 10:15:00 UTC));
        clock.advance(Duration::seconds(5));
        assert_eq!(clock.now(), datetime!(2026-11-24 10:15:05 UTC));
    }

    #[test]
    fn instants_are_kept_to_the_microsecond_in_utc() {
        let instant = datetime!(2026-11-24 10:15:00.123456789 +02:00);
        let truncated = truncate_to_micros(instant);
        assert_eq!(truncated, datetime!(2026-11-24 08:15:00.123456 UTC));
        assert_eq!(truncated.offset(), time::UtcOffset::UTC);
    }

    #[test]
    fn the_system_clock_reports_utc() {
        assert_eq!(SystemClock.now().offset(), time::UtcOffset::UTC);
    }
}
