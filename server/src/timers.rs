//! Wakes the writer when the clock says something is due: a held order's fire time, or
//! the end of an 86. It sleeps until the soonest of them (read from the database, so a
//! server that was down at that time does it at once on start), and looks again when a
//! commit adds something sooner. Nothing scheduled: it sleeps until something is.

use std::time::Duration;

use crate::context::Ctx;

/// The longest sleep between two looks at the clock, so that a wall clock set forward
/// (or an NTP step) is noticed within a minute.
const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(60);
/// The same where nodes share the database: another node's commits do not wake this
/// one, so it looks often enough to fire what that node scheduled (if it has died) on
/// time. Nodes firing at once fire each order once (see `rules::fire`).
const LOOK_SHARED_EVERY: Duration = Duration::from_secs(1);
/// After a failure (the disk, the database), the next try.
const RETRY: Duration = Duration::from_secs(1);

pub(crate) async fn run(ctx: Ctx) {
    let look_every = if ctx.store.is_shared() {
        LOOK_SHARED_EVERY
    } else {
        LOOK_AT_LEAST_EVERY
    };
    loop {
        let next = ctx.store.next_due().await;
        let wait = match next {
            Ok(None) if ctx.store.is_shared() => Some(look_every),
            Ok(None) => None,
            Ok(Some(at)) => {
                let ms = (at - ctx.store.clock().now_ms()).max(0) as u64;
                Some(Duration::from_millis(ms).min(look_every))
            }
            Err(_) => Some(RETRY),
        };
        if wait == Some(Duration::ZERO) {
            if let Err(e) = ctx.store.run_due().await {
                tracing::warn!("firing held orders and ending 86s failed: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = ctx.shutdown.cancelled() => return,
                }
            }
            continue;
        }
        let sleep = async {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = ctx.store.due_changed() => {}
            _ = ctx.shutdown.cancelled() => return,
        }
    }
}
