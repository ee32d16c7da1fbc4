//! Gives memory back to the system after many connections close. The allocator keeps
//! freed pages for reuse, so a server that once held 10,000 connections would stay that
//! large; on a small machine that memory is better returned.

use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::connection::Ctx;

/// Connections that must have closed since the last trim before the next one.
const CLOSED_BEFORE_TRIM: usize = 1000;
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Watches the number of connection tasks and trims the heap after a large drop.
pub(crate) async fn release_after_drops(ctx: Ctx, connections: TaskTracker) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    let mut peak = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = ctx.shutdown.cancelled() => return,
        }
        let now = connections.len();
        peak = peak.max(now);
        if peak >= now + CLOSED_BEFORE_TRIM {
            let _ = tokio::task::spawn_blocking(trim).await;
            peak = now;
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim() {
    // SAFETY: malloc_trim takes no pointers; it only hands free pages back to the
    // kernel, and glibc makes it safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
