//! How long to wait before trying again: exponential, capped, with jitter so that many
//! clients do not come back in lockstep after a server restart.

use std::time::Duration;

/// Exponential backoff with jitter for reconnect loops: 0.5 s, 1 s, 2 s, … capped at
/// 30 s, each delay drawn from its upper half. Deterministic for a given seed, so the
/// follower's state machine stays a pure function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    attempt: u32,
    /// xorshift64 state; 0 means no jitter (each delay is its ceiling).
    rng: u64,
    base: Duration,
    cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        let seed = chit_protocol::now_ms() as u64 ^ (u64::from(std::process::id()) << 32) | 1;
        Backoff::seeded(seed)
    }
}

impl Backoff {
    pub const BASE: Duration = Duration::from_millis(500);
    pub const CAP: Duration = Duration::from_secs(30);

    /// Jitter from `seed` (never 0 in effect: 0 is turned into 1).
    pub fn seeded(seed: u64) -> Backoff {
        Backoff {
            attempt: 0,
            rng: seed.max(1),
            base: Backoff::BASE,
            cap: Backoff::CAP,
        }
    }

    /// No jitter: every delay is the top of its range (for tests that read delays).
    pub fn without_jitter() -> Backoff {
        Backoff {
            rng: 0,
            ..Backoff::seeded(1)
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        if self.rng == 0 {
            return exp;
        }
        // xorshift64: jitter only needs to differ between clients, not be secret.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let half = exp / 2;
        half + Duration::from_nanos(self.rng % (half.as_nanos() as u64).max(1))
    }

    /// Skips `steps` ahead, to wait longer (after a refusal a person must act on).
    pub fn slow_down(&mut self, steps: u32) {
        self.attempt = self.attempt.saturating_add(steps);
    }

    /// Call after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..12).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(250) && delays[0] <= Duration::from_millis(500));
        assert!(delays[3] >= Duration::from_secs(2) && delays[3] <= Duration::from_secs(4));
        for d in &delays {
            assert!(*d <= Duration::from_secs(30));
        }
        assert!(delays[11] >= Duration::from_secs(15));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(500));
    }

    #[test]
    fn clients_seeded_apart_wait_apart() {
        let mut a = Backoff::seeded(7);
        let mut b = Backoff::seeded(8);
        let (a, b): (Vec<_>, Vec<_>) = (0..6).map(|_| (a.next_delay(), b.next_delay())).unzip();
        assert_ne!(a, b);
        let mut plain = Backoff::without_jitter();
        let steps: Vec<u64> = (0..8)
            .map(|_| plain.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(steps, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    }
}
