//! Gives memory back to the system after many connections close. The allocator keeps
//! freed pages for reuse, so a server that once held 10,000 connections would stay that
//! large; on a small machine that memory is better returned.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::context::Ctx;

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
            // glibc's heap is trimmed here; mimalloc's (the server binary's allocator,
            // see main.rs) is per thread: each thread gives its own back when it next
            // goes idle (`collect_if_asked`).
            TRIMS.fetch_add(1, Ordering::Release);
            let _ = tokio::task::spawn_blocking(trim).await;
            peak = now;
        }
    }
}

/// Trims asked for so far.
static TRIMS: AtomicU64 = AtomicU64::new(0);

/// For the server's runtime threads when they go idle: gives this thread's free mimalloc
/// pages back to the system if a trim was asked for since it last did (a load and a
/// compare otherwise).
#[allow(unsafe_code)]
pub fn collect_if_asked() {
    thread_local! {
        static DONE: Cell<u64> = const { Cell::new(0) };
    }
    let asked = TRIMS.load(Ordering::Acquire);
    if DONE.with(Cell::get) != asked {
        DONE.with(|d| d.set(asked));
        // SAFETY: mi_collect takes no pointers; it collects the calling thread's heap.
        unsafe { libmimalloc_sys::mi_collect(true) };
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
