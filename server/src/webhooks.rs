//! Webhooks both ways. Out: endpoints added with `chit-server webhook add` get every
//! event they asked for, POSTed from the durable event log and signed per Standard
//! Webhooks 1.0 ([`deliver`]). In: `POST /v1/hooks/{name}` takes orders signed with
//! the secret of `chit-server hook add` (see `http::hooks`). [`sign`] signs and checks.

pub mod deliver;
pub mod queries;
pub mod sign;

use std::time::Duration;

/// How webhook deliveries are retried.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The wait after each failed attempt at an event, in turn; the last one repeats
    /// for as long as the endpoint keeps failing (it is never given up on silently).
    pub retry_delays: Vec<Duration>,
    /// Failed attempts in a row after which an endpoint shows as `failing`.
    pub failing_after: u32,
    /// How long a receiver has to answer one attempt.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let (s, m, h) = (1, 60, 3600);
        WebhookConfig {
            // Eight attempts over about 3 h 43 min, then one every 2 h.
            retry_delays: [5, 30, 2 * m, 10 * m, 30 * m, h, 2 * h]
                .map(|secs: u64| Duration::from_secs(secs * s))
                .to_vec(),
            failing_after: 5,
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookConfig {
    /// The wait after the `failures`-th failed attempt in a row, give or take a tenth
    /// (so that endpoints that failed together do not all retry together).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(last) = self.retry_delays.len().checked_sub(1) else {
            return Duration::from_secs(1);
        };
        let base = self.retry_delays[(failures.max(1) as usize - 1).min(last)];
        let mut byte = [0u8; 1];
        let _ = getrandom::fill(&mut byte);
        // 0.9 to 1.1 of the base.
        base.mul_f64(0.9 + f64::from(byte[0]) / 255.0 * 0.2)
    }

    pub fn longest_delay(&self) -> Duration {
        self.retry_delays.iter().max().copied().unwrap_or_default()
    }

    /// `ok`, `retrying` (it failed lately) or `failing` (it keeps failing).
    pub fn state(&self, failures: u32) -> &'static str {
        match failures {
            0 => "ok",
            n if deliver::is_failing(n, self) => "failing",
            _ => "retrying",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_then_keep_trying_slowly() {
        let config = WebhookConfig::default();
        let delays: Vec<Duration> = (1..=12).map(|n| config.delay_after(n)).collect();
        let near = |d: Duration, secs: u64| {
            let secs = secs as f64;
            (secs * 0.89..=secs * 1.11).contains(&d.as_secs_f64())
        };
        assert!(near(delays[0], 5) && near(delays[1], 30) && near(delays[6], 7200));
        // Eight attempts (the first and seven retries) over hours, then every 2 h.
        let first_eight: f64 = delays[..7].iter().map(Duration::as_secs_f64).sum();
        assert!(
            (3.0 * 3600.0..4.5 * 3600.0).contains(&first_eight),
            "{first_eight}"
        );
        assert!(delays[7..].iter().all(|d| near(*d, 7200)));
        assert_eq!(
            (
                config.state(0),
                config.state(2),
                config.state(5),
                config.state(90)
            ),
            ("ok", "retrying", "failing", "failing")
        );
    }
}
