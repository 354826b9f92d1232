//! Per-client-address limits, kept in memory on each instance (`TASKDECK_LOGIN_RATE`).
//!
//! A token bucket per address (governor's GCRA): `BURST` requests at once, refilled
//! at `PER_SECOND`. Addresses whose bucket has refilled are forgotten now and then, so
//! the table holds only the addresses that were recently busy.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use taskdeck_platform::metrics::THROTTLED;
use thiserror::Error;

use crate::problem::ApiError;

/// How many checks pass between two sweeps of refilled buckets: often enough that a
/// scan of many addresses cannot grow the table without bound, rarely enough that the
/// sweep (a pass over the table under its lock) costs nothing per request.
const CHECKS_PER_SWEEP: u32 = 1024;

/// The highest refill rate accepted: beyond it the limit would not limit anything.
const MAX_PER_SECOND: f64 = 1_000_000.0;

/// `BURST/PER_SECOND`, e.g. `20/1`: twenty at once, then one more each second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddressRate {
    burst: NonZeroU32,
    per_second: f64,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a rate: write BURST/PER_SECOND, a whole number of requests at once (at least 1) \
     and how many more each second (above 0), e.g. 20/1 or 5/0.1"
)]
pub struct AddressRateError(String);

impl FromStr for AddressRate {
    type Err = AddressRateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || AddressRateError(text.chars().take(64).collect());
        let (burst, per_second) = text.trim().split_once('/').ok_or_else(invalid)?;
        let burst = burst.trim().parse::<NonZeroU32>().map_err(|_| invalid())?;
        let per_second = per_second.trim().parse::<f64>().map_err(|_| invalid())?;
        if !(per_second.is_finite() && per_second > 0.0 && per_second <= MAX_PER_SECOND) {
            return Err(invalid());
        }
        Ok(Self { burst, per_second })
    }
}

impl fmt::Display for AddressRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.burst, self.per_second)
    }
}

impl AddressRate {
    fn quota(self) -> Quota {
        // Parsing bounds the rate, so the period is at least a microsecond.
        let period = Duration::from_secs_f64(1.0 / self.per_second);
        Quota::with_period(period).map_or_else(|| Quota::per_second(self.burst), |quota| quota.allow_burst(self.burst))
    }
}

/// One bucket per client address.
pub struct AddressRateLimiter<C: Clock = DefaultClock> {
    buckets: RateLimiter<IpAddr, HashMapStateStore<IpAddr>, C, NoOpMiddleware<C::Instant>>,
    checks: AtomicU32,
}

impl AddressRateLimiter {
    #[must_use]
    pub fn new(rate: AddressRate) -> Self {
        Self::with_clock(rate, DefaultClock::default())
    }
}

impl<C: Clock> AddressRateLimiter<C> {
    /// A limiter that reads time from `clock` (tests drive a fake one).
    pub fn with_clock(rate: AddressRate, clock: C) -> Self {
        Self { buckets: RateLimiter::hashmap_with_clock(rate.quota(), clock), checks: AtomicU32::new(0) }
    }

    /// Takes one request from `address`'s bucket.
    ///
    /// # Errors
    /// 429 `rate-limited` with `Retry-After` when the bucket is empty.
    pub fn check(&self, address: IpAddr) -> Result<(), ApiError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CHECKS_PER_SWEEP == CHECKS_PER_SWEEP - 1 {
            self.buckets.retain_recent();
        }
        self.buckets.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.buckets.clock().now());
            tracing::info!(client = %address, retry_after_ms = wait.as_millis(), "throttled a client address");
            metrics::counter!(THROTTLED, "reason" => "address").increment(1);
            ApiError::too_many_requests(
                "rate-limited",
                "Too many logins and registrations from this address; try again after the time in Retry-After",
                wait,
            )
        })
    }

    /// How many addresses have a bucket that has not refilled yet (or was not swept).
    #[must_use]
    pub fn tracked_addresses(&self) -> usize {
        self.buckets.len()
    }
}

impl<C: Clock> fmt::Debug for AddressRateLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressRateLimiter").field("tracked_addresses", &self.tracked_addresses()).finish()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn rate(text: &str) -> AddressRate {
        text.parse().unwrap()
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_rate_is_a_whole_burst_over_a_positive_refill() {
        assert_eq!(rate("20/1"), AddressRate { burst: NonZeroU32::new(20).unwrap(), per_second: 1.0 });
        assert_eq!(rate(" 5 / 0.5 "), AddressRate { burst: NonZeroU32::new(5).unwrap(), per_second: 0.5 });
        assert_eq!(rate("20/1").to_string(), "20/1");
        for invalid in ["", "20", "0/1", "-1/1", "20/0", "20/-1", "20/abc", "1.5/1", "20/NaN", "20/inf", "20/1e9", "/1"]
        {
            assert!(invalid.parse::<AddressRate>().is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn a_burst_passes_then_each_address_waits_for_its_own_refill() {
        let clock = FakeRelativeClock::default();
        let limiter = AddressRateLimiter::with_clock(rate("3/0.5"), clock.clone());
        for _ in 0..3 {
            assert!(limiter.check(ip(1)).is_ok());
        }
        let refused = limiter.check(ip(1)).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "2", "one request every two seconds");
        assert!(limiter.check(ip(2)).is_ok(), "another address has its own bucket");

        clock.advance(Duration::from_millis(1_900));
        assert!(limiter.check(ip(1)).is_err(), "not refilled yet");
        clock.advance(Duration::from_millis(100));
        assert!(limiter.check(ip(1)).is_ok(), "one request refilled");
        assert!(limiter.check(ip(1)).is_err());
    }

    #[test]
    fn a_short_wait_is_announced_as_one_second() {
        let limiter = AddressRateLimiter::with_clock(rate("1/100"), FakeRelativeClock::default());
        assert!(limiter.check(ip(1)).is_ok());
        let refused = limiter.check(ip(1)).unwrap_err().into_response();
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn refilled_buckets_are_forgotten_so_the_table_stays_small() {
        let clock = FakeRelativeClock::default();
        let limiter = AddressRateLimiter::with_clock(rate("1/1"), clock.clone());
        for address in 0..=u8::MAX {
            assert!(limiter.check(ip(address)).is_ok());
        }
        assert_eq!(limiter.tracked_addresses(), 256);
        clock.advance(Duration::from_secs(2));
        // The sweep runs on every CHECKS_PER_SWEEP-th check, whichever address it is for.
        for _ in 0..CHECKS_PER_SWEEP {
            let _ = limiter.check(ip(7));
        }
        assert!(limiter.tracked_addresses() <= 1, "{}", limiter.tracked_addresses());
    }
}
