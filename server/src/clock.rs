//! The wall-clock time the server acts on: when orders are placed, when held orders
//! fire, when an 86 ends. It is the system's, except in tests, where it runs with
//! tokio's clock: a test that pauses and advances tokio's time moves the server's
//! notion of "now" with it, on the writer's thread as on the async ones, so a schedule
//! hours away is tested in no time. (SQLite's own clock is never asked: every time
//! written comes from here.)

use std::sync::Arc;

/// A source of Unix milliseconds. Cheap to clone.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<TokioClock>>);

struct TokioClock {
    handle: tokio::runtime::Handle,
    start: tokio::time::Instant,
    start_ms: i64,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that starts at the system's time now and then runs with the tokio
    /// runtime this is called on (paused and advanced in tests). Call it on that
    /// runtime.
    pub fn tokio() -> Clock {
        Clock(Some(Arc::new(TokioClock {
            handle: tokio::runtime::Handle::current(),
            start: tokio::time::Instant::now(),
            start_ms: chit_protocol::now_ms(),
        })))
    }

    /// Unix milliseconds now, from any thread.
    pub fn now_ms(&self) -> i64 {
        match &self.0 {
            None => chit_protocol::now_ms(),
            Some(c) => {
                // Entered so that threads outside the runtime (the writer) read its
                // clock, paused or not, rather than the system's.
                let _entered = c.handle.enter();
                c.start_ms + c.start.elapsed().as_millis() as i64
            }
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock::tokio"
        } else {
            "Clock::system"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_moves_with_paused_time_on_any_thread() {
        let clock = Clock::tokio();
        let t0 = clock.now_ms();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(clock.now_ms() - t0, 3_600_000);
        let other = clock.clone();
        let seen = std::thread::spawn(move || other.now_ms()).join().unwrap();
        assert_eq!(
            seen - t0,
            3_600_000,
            "the writer's thread sees the same time"
        );
        let system = Clock::system().now_ms();
        assert!(
            (system - t0).abs() < 60_000,
            "the system's clock did not move an hour"
        );
    }
}
