//! Rate limits (requests per connection, chat messages per member): a token bucket,
//! refilled continuously. A request rate of 0 means no limit (for load tests on a
//! trusted network).

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimiter {
    /// Allows `rate` requests a second on average and bursts of up to `burst`; a rate
    /// of 0 allows everything.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            rate: f64::from(rate),
            burst,
            tokens: burst,
            last: None,
        }
    }

    /// Allows `per_minute` requests a minute on average and bursts of up to `burst`.
    pub fn per_minute(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(per_minute.max(1)) / 60.0,
            ..RateLimiter::new(1, burst)
        }
    }

    pub fn allow(&mut self, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_within_the_limit_passes_and_the_next_waits() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(10, 20);
        assert!((0..20).all(|_| limiter.allow(start)));
        assert!(!limiter.allow(start));
        assert!(limiter.allow(start + Duration::from_millis(100)));
        assert!(!limiter.allow(start + Duration::from_millis(100)));
        assert!((0..20).all(|_| limiter.allow(start + Duration::from_secs(10))));
    }

    #[test]
    fn a_rate_a_minute_refills_slowly() {
        let start = Instant::now();
        let mut limiter = RateLimiter::per_minute(30, 3);
        assert!((0..3).all(|_| limiter.allow(start)));
        assert!(!limiter.allow(start + Duration::from_millis(1900)));
        assert!(limiter.allow(start + Duration::from_millis(2000)));
        assert!(!limiter.allow(start + Duration::from_millis(2000)));
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(0, 0);
        assert!((0..100_000).all(|_| limiter.allow(start)));
    }
}
