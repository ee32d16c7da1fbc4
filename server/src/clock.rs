//! The wall-clock time the server acts on: when orders are placed, when held orders
//! fire, when an 86 ends. It is the system's, except in tests, where it runs with
//! tokio's clock: a test that pauses and advances tokio's time moves the server's
//! notion of "now" with it, on the writer's thread as on the async ones, so a schedule
//! hours away is tested in no time. (SQLite's own clock is never asked: every time
//! written comes from here.)
//!
//! A paused clock moves whenever the runtime has nothing to run: it leaps to the next
//! timer. Work on the writer's thread is invisible to the runtime, so waits for the
//! writer go through [`Clock::answer`], which on a tokio clock counts as work (as
//! tokio's own blocking tasks do) and holds the clock still until the writer answers.

use std::sync::Arc;

use tokio::sync::oneshot;

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

impl Clock {
    /// Waits for `reply`, the answer to work handed to another thread (the writer's).
    /// `None` if that thread dropped it.
    ///
    /// On a tokio clock the wait runs as a blocking task, which tokio counts as work:
    /// while the writer commits, a paused clock stays where it is. Awaited plainly, the
    /// idle runtime would leap to its next timer (a heartbeat, a test's time limit, an
    /// hour ahead) as often as it found itself idle, so the time the writer stamps
    /// would depend on how slow the disk was: a held order fired minutes late, an 86
    /// over before the order it should refuse, a test's wait given up.
    pub async fn answer<T: Send + 'static>(&self, reply: oneshot::Receiver<T>) -> Option<T> {
        match &self.0 {
            None => reply.await.ok(),
            Some(_) => tokio::task::spawn_blocking(move || reply.blocking_recv().ok())
                .await
                .ok()
                .flatten(),
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

    /// A thread that answers once it has seen `clock` move, or after `patience` of
    /// real time (bounded either way); it answers whether it saw the clock move.
    fn answer_when_the_clock_moves(clock: &Clock, patience: Duration) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        let clock = clock.clone();
        let t0 = clock.now_ms();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + patience;
            let moved = loop {
                if clock.now_ms() != t0 {
                    break true;
                }
                if std::time::Instant::now() >= deadline {
                    break false;
                }
                std::thread::yield_now();
            };
            let _ = tx.send(moved);
        });
        rx
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_the_writer_holds_a_paused_clock_still() {
        let clock = Clock::tokio();
        // A timer an hour ahead, which an idle runtime leaps to.
        let _later = tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
        tokio::task::yield_now().await;

        // Awaited plainly, the wait lets the paused clock leap while the thread works.
        let t0 = clock.now_ms();
        let plain = answer_when_the_clock_moves(&clock, Duration::from_secs(10));
        assert_eq!(plain.await, Ok(true), "the idle runtime moved the clock");
        assert!(clock.now_ms() - t0 >= 3_600_000);

        // Through answer, it stays still for as long as the thread takes.
        let _later = tokio::spawn(tokio::time::sleep(Duration::from_secs(3600)));
        tokio::task::yield_now().await;
        let t1 = clock.now_ms();
        let held = answer_when_the_clock_moves(&clock, Duration::from_millis(200));
        assert_eq!(clock.answer(held).await, Some(false), "the clock moved");
        assert_eq!(clock.now_ms(), t1);
    }
}
