//! The server's figures for Prometheus (`GET /metrics`): counters and histograms kept
//! as requests happen, and gauges read from the hub and the store when scraped. Every
//! name starts with `chit_`. Recording is a few atomic operations, off the writer's
//! transaction.

use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResponseLabels {
    pub endpoint: &'static str,
    pub status: u16,
}

/// A webhook endpoint's id, or an inbound hook's name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub webhook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub webhook: String,
    pub result: &'static str,
}

/// Everything `/metrics` reports. One per server (tests run several in a process).
pub struct Metrics {
    registry: Registry,
    pub http_duration: Family<EndpointLabels, Histogram>,
    pub http_responses: Family<ResponseLabels, Counter>,
    /// Jobs per group commit, observed by the writer after each commit.
    pub group_size: Histogram,
    pub webhook_deliveries: Family<DeliveryLabels, Counter>,
    pub webhook_failing: Family<WebhookLabels, Gauge>,
    pub webhook_delivered_seq: Family<WebhookLabels, Gauge>,
    pub webhook_consecutive_failures: Family<WebhookLabels, Gauge>,
    pub hook_refusals: Family<WebhookLabels, Counter>,
    /// TCP connections open (WebSocket, HTTP keep-alive and streams alike).
    pub connections_open: AtomicUsize,
    connections: Gauge,
    sessions: Gauge,
    events_published: Gauge,
    head: Gauge,
    orders: Gauge,
    rss: Gauge,
}

/// What is read fresh at each scrape.
pub struct Scrape {
    pub sessions: u64,
    pub events_published: u64,
    pub head: u64,
    pub orders: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        // 50 µs to about 3.3 s: an acknowledged order takes a group commit (a disk
        // flush), a long poll may wait seconds.
        let http_duration = Family::<EndpointLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.00005, 2.0, 17))
        });
        let http_responses = Family::<ResponseLabels, Counter>::default();
        let group_size = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        let webhook_deliveries = Family::<DeliveryLabels, Counter>::default();
        let webhook_failing = Family::<WebhookLabels, Gauge>::default();
        let webhook_delivered_seq = Family::<WebhookLabels, Gauge>::default();
        let webhook_consecutive_failures = Family::<WebhookLabels, Gauge>::default();
        let hook_refusals = Family::<WebhookLabels, Counter>::default();
        let (connections, sessions, events_published, head, orders, rss): (
            Gauge,
            Gauge,
            Gauge,
            Gauge,
            Gauge,
            Gauge,
        ) = Default::default();
        registry.register(
            "chit_http_request_duration_seconds",
            "Time from a request's head to its response, by endpoint",
            http_duration.clone(),
        );
        registry.register(
            "chit_http_responses",
            "HTTP responses by endpoint and status",
            http_responses.clone(),
        );
        registry.register(
            "chit_writer_group_size",
            "Changes committed together by the writer, per commit",
            group_size.clone(),
        );
        registry.register(
            "chit_webhook_deliveries",
            "Webhook delivery attempts by endpoint and result (ok, failed)",
            webhook_deliveries.clone(),
        );
        registry.register(
            "chit_webhook_failing",
            "1 while a webhook endpoint is failing (its deliveries keep being retried)",
            webhook_failing.clone(),
        );
        registry.register(
            "chit_webhook_delivered_seq",
            "The last event seq a webhook endpoint acknowledged",
            webhook_delivered_seq.clone(),
        );
        registry.register(
            "chit_webhook_consecutive_failures",
            "Failed attempts in a row for a webhook endpoint's next event",
            webhook_consecutive_failures.clone(),
        );
        registry.register(
            "chit_hook_refusals",
            "Inbound webhook deliveries refused (bad signature, too old), by hook",
            hook_refusals.clone(),
        );
        registry.register(
            "chit_connections",
            "TCP connections open: WebSocket, HTTP keep-alive and event streams",
            connections.clone(),
        );
        registry.register(
            "chit_sessions",
            "Sessions following rooms: WebSocket connections and event streams",
            sessions.clone(),
        );
        registry.register(
            "chit_events_published",
            "Stored events handed to subscribers since the server started",
            events_published.clone(),
        );
        registry.register(
            "chit_event_head",
            "The newest event seq committed",
            head.clone(),
        );
        registry.register(
            "chit_orders",
            "Orders ever placed (the newest order id)",
            orders.clone(),
        );
        registry.register(
            "chit_resident_memory_bytes",
            "Resident memory of the server process",
            rss.clone(),
        );
        Metrics {
            registry,
            http_duration,
            http_responses,
            group_size,
            webhook_deliveries,
            webhook_failing,
            webhook_delivered_seq,
            webhook_consecutive_failures,
            hook_refusals,
            connections_open: AtomicUsize::new(0),
            connections,
            sessions,
            events_published,
            head,
            orders,
            rss,
        }
    }

    /// Counts a TCP connection open until the guard is dropped.
    pub fn connection(self: &std::sync::Arc<Self>) -> ConnectionGuard {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.clone())
    }

    /// The exposition text, with the gauges read from `scrape`.
    pub fn encode(&self, scrape: Scrape) -> String {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.connections
            .set(gauge(self.connections_open.load(Ordering::Relaxed) as u64));
        self.sessions.set(gauge(scrape.sessions));
        self.events_published.set(gauge(scrape.events_published));
        self.head.set(gauge(scrape.head));
        self.orders.set(gauge(scrape.orders));
        self.rss.set(gauge(chit_protocol::process::rss_bytes()));
        let mut text = String::with_capacity(8192);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

pub struct ConnectionGuard(std::sync::Arc<Metrics>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}
