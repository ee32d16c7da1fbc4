//! Delivery: one task per endpoint reads the events it is due from the log, after its
//! durable cursor, and POSTs them one at a time, in seq order, each until a `2xx`
//! answers (the same `webhook-id` on every attempt, a fresh timestamp and signature).
//! It holds one page of events at most, runs off the writer thread, and waits alone
//! when its receiver is slow or down: other endpoints and the order path go on. Where
//! nodes share the database, only the node holding the lease delivers (see
//! `store::postgres::lease`); the others stand by to take over from the saved cursors.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chit_protocol::now_ms;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::queries::{Endpoint, LogEvent, Progress};
use super::{WebhookConfig, sign};
use crate::frames;
use crate::metrics::{DeliveryLabels, Metrics, WebhookLabels};
use crate::store::{Change, Lease, Store};

/// Events read from the log at a time, per endpoint.
const PAGE: u32 = 100;
/// Progress is saved at most this often while deliveries succeed (and always when a
/// page is done or an attempt fails). A crash repeats at most that much: at least once.
const SAVE_EVERY: Duration = Duration::from_millis(250);
/// How often the endpoint table is read for endpoints added or removed meanwhile (by
/// `chit-server webhook`, which may run in another process).
const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// What every endpoint's task shares.
pub(crate) struct Shared {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub config: WebhookConfig,
    pub client: reqwest::Client,
    /// Names this database in webhook ids.
    pub instance: u64,
    /// Where other nodes share the database, their commits do not move this node's
    /// `heads`: the log is read again at least this often.
    pub poll: Option<Duration>,
}

/// The HTTP client deliveries use: redirects are not followed (a moved endpoint is
/// updated by its owner, as the specification advises), each attempt has `timeout`.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("chit-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with these settings")
}

/// Runs every endpoint's delivery until `stop`; picks up endpoints added and drops
/// those removed within a second. With a `lease` (nodes sharing a database), only
/// while this node holds it: the node that holds it delivers, each endpoint from its
/// durable cursor, and another node takes over when it lets go or dies.
pub(crate) async fn supervise(
    shared: Arc<Shared>,
    heads: watch::Receiver<u64>,
    mut lease: Option<Lease>,
    stop: CancellationToken,
) {
    let mut running: HashMap<i64, (CancellationToken, JoinHandle<()>)> = HashMap::new();
    let mut tick = tokio::time::interval(RELOAD_EVERY);
    loop {
        let lease_changed = async {
            match lease.as_mut() {
                Some(lease) => lease.changed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tick.tick() => {}
            _ = lease_changed => {}
            _ = stop.cancelled() => break,
        }
        if lease.as_ref().is_some_and(|l| !l.held()) {
            if !running.is_empty() {
                tracing::info!(
                    "webhooks: this node no longer holds the lease; stopping deliveries"
                );
                finish(running.drain().map(|(_, task)| task)).await;
            }
            continue;
        }
        let Ok(endpoints) = shared.store.webhooks().await else {
            continue;
        };
        let ids: Vec<i64> = endpoints.iter().map(|e| e.id).collect();
        running.retain(|id, (task, _)| {
            let keep = ids.contains(id);
            if !keep {
                task.cancel();
                let labels = WebhookLabels {
                    webhook: id.to_string(),
                };
                shared.metrics.webhook_failing.remove(&labels);
                shared.metrics.webhook_consecutive_failures.remove(&labels);
                shared.metrics.webhook_delivered_seq.remove(&labels);
            }
            keep
        });
        for endpoint in endpoints {
            if running.contains_key(&endpoint.id) {
                continue;
            }
            let task = stop.child_token();
            let id = endpoint.id;
            let handle = tokio::spawn(deliver(
                shared.clone(),
                endpoint,
                heads.clone(),
                task.clone(),
            ));
            running.insert(id, (task, handle));
        }
    }
    // Each task saves what it delivered before it ends (another node may take over
    // from the saved cursors once the lease goes with this function).
    finish(running.into_values()).await;
    drop(lease);
}

/// Stops endpoints' tasks and waits until they have saved their progress.
async fn finish(tasks: impl Iterator<Item = (CancellationToken, JoinHandle<()>)>) {
    let handles: Vec<JoinHandle<()>> = tasks
        .map(|(token, handle)| {
            token.cancel();
            handle
        })
        .collect();
    for handle in handles {
        let _ = handle.await;
    }
}

/// Whether an endpoint that failed `failures` times in a row shows as failing.
pub fn is_failing(failures: u32, config: &WebhookConfig) -> bool {
    failures >= config.failing_after
}

/// One endpoint's deliveries, from its saved progress, until `stop`.
async fn deliver(
    shared: Arc<Shared>,
    endpoint: Endpoint,
    mut heads: watch::Receiver<u64>,
    stop: CancellationToken,
) {
    let labels = WebhookLabels {
        webhook: endpoint.id.to_string(),
    };
    let mut progress = endpoint.progress.clone();
    let mut saved_at = Instant::now();
    let mut unsaved = false;
    show(&shared, &labels, &progress);
    'deliver: loop {
        heads.borrow_and_update();
        let after = progress.delivered_seq;
        let restaurant = endpoint.restaurant.clone();
        let page = shared.store.events_after(after, restaurant, PAGE).await;
        let page = match page {
            Ok(page) => page,
            Err(_) => {
                // The store is closing or failing: try again shortly.
                tokio::select! {
                    _ = tokio::time::sleep(RELOAD_EVERY) => continue,
                    _ = stop.cancelled() => break 'deliver,
                }
            }
        };
        if page.is_empty() {
            if unsaved {
                save(&shared, endpoint.id, &progress).await;
                unsaved = false;
            }
            let poll = async {
                match shared.poll {
                    Some(every) => tokio::time::sleep(every).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = heads.changed() => continue,
                _ = poll => continue,
                _ = stop.cancelled() => break 'deliver,
            }
        }
        for event in page {
            if endpoint.wants(&event.kind) {
                if !send_until_delivered(&shared, &endpoint, &event, &mut progress, &labels, &stop)
                    .await
                {
                    break 'deliver;
                }
                progress.delivered_total += 1;
            }
            progress.delivered_seq = event.seq;
            unsaved = true;
            if saved_at.elapsed() >= SAVE_EVERY {
                save(&shared, endpoint.id, &progress).await;
                saved_at = Instant::now();
                unsaved = false;
            }
            show(&shared, &labels, &progress);
        }
    }
    // Stopped (the server stops, or another node takes over): what was delivered is
    // saved, so that it is not delivered again.
    if unsaved {
        save(&shared, endpoint.id, &progress).await;
    }
}

/// Attempts `event` until it is acknowledged (true) or the endpoint stops (false),
/// waiting between attempts as the configuration says.
async fn send_until_delivered(
    shared: &Shared,
    endpoint: &Endpoint,
    event: &LogEvent,
    progress: &mut Progress,
    labels: &WebhookLabels,
    stop: &CancellationToken,
) -> bool {
    let body = body(event);
    let id = format!("msg_{:x}_{}", shared.instance, event.seq);
    loop {
        let attempt = tokio::select! {
            result = attempt(&shared.client, &endpoint.url, &endpoint.secret, &id, &body) => result,
            _ = stop.cancelled() => return false,
        };
        progress.last_attempt_at = Some(now_ms());
        let result = match attempt {
            Ok(()) => "ok",
            Err(_) => "failed",
        };
        shared
            .metrics
            .webhook_deliveries
            .get_or_create(&DeliveryLabels {
                webhook: labels.webhook.clone(),
                result,
            })
            .inc();
        let failure = match attempt {
            Ok(()) => {
                if progress.failures > 0 {
                    tracing::info!(
                        "webhook {}: delivered again after {} failed attempts",
                        endpoint.id,
                        progress.failures
                    );
                    progress.failures = 0;
                    progress.next_attempt_at = None;
                    save(shared, endpoint.id, progress).await;
                }
                return true;
            }
            Err(failure) => failure,
        };
        progress.failures = progress.failures.saturating_add(1);
        let delay = shared.config.delay_after(progress.failures).max(
            failure
                .retry_after
                .unwrap_or_default()
                .min(shared.config.longest_delay()),
        );
        progress.last_error = Some(failure.reason.clone());
        progress.next_attempt_at = Some(now_ms() + delay.as_millis() as i64);
        let failing = is_failing(progress.failures, &shared.config);
        if progress.failures == 1 || progress.failures == shared.config.failing_after {
            tracing::warn!(
                "webhook {} ({}): delivering seq {} failed{}: {}; retrying in {delay:?}",
                endpoint.id,
                endpoint.url,
                event.seq,
                if failing {
                    ", the endpoint is failing"
                } else {
                    ""
                },
                failure.reason
            );
        }
        save(shared, endpoint.id, progress).await;
        show(shared, labels, progress);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.cancelled() => return false,
        }
    }
}

/// The body of an event's delivery: the event as HTTP sends it.
fn body(event: &LogEvent) -> String {
    let frame = frames::stored_event_frame(
        &event.room,
        Some(event.seq),
        &event.kind,
        event.at,
        &event.data,
    );
    frames::event_json(&frame)
        .map(|(json, _)| json)
        .unwrap_or(frame)
}

/// Why an attempt did not count as delivered.
pub struct Failed {
    pub reason: String,
    /// What the receiver's `Retry-After` asked for.
    pub retry_after: Option<Duration>,
}

/// POSTs one signed message; a `2xx` is delivered, anything else is not.
pub async fn attempt(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    id: &str,
    body: &str,
) -> Result<(), Failed> {
    let timestamp = now_ms() / 1000;
    let signature = sign::sign(secret, id, timestamp, body.as_bytes());
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body.to_string())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            let reason = if e.is_timeout() {
                "no answer in time".to_string()
            } else if e.is_connect() {
                format!("cannot connect: {}", root_cause(&e))
            } else {
                root_cause(&e)
            };
            return Err(Failed {
                reason,
                retry_after: None,
            });
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Err(Failed {
        reason: format!("answered {status}"),
        retry_after,
    })
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

async fn save(shared: &Shared, id: i64, progress: &Progress) {
    let progress = progress.clone();
    let saved = shared
        .store
        .apply(Change::WebhookProgress { id, progress })
        .await;
    if let Err(e) = saved {
        tracing::warn!("webhook {id}: saving its progress failed: {}", e.message);
    }
}

fn show(shared: &Shared, labels: &WebhookLabels, progress: &Progress) {
    let m = &shared.metrics;
    let failing = is_failing(progress.failures, &shared.config);
    m.webhook_failing
        .get_or_create(labels)
        .set(i64::from(failing));
    m.webhook_consecutive_failures
        .get_or_create(labels)
        .set(i64::from(progress.failures));
    m.webhook_delivered_seq
        .get_or_create(labels)
        .set(progress.delivered_seq as i64);
}
