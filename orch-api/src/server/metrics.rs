//! Prometheus metrics of the API server: requests and latency by verb and resource, open watches and connections.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    verb: String,
    resource: String,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    verb: String,
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WatchLabels {
    resource: String,
}

type HistogramFamily = Family<LatencyLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 250 µs to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

/// The server's metrics, rendered in Prometheus text form at `/metrics`.
pub struct ApiMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    watches: Family<WatchLabels, Gauge>,
    watch_events: Family<WatchLabels, Counter>,
    connections: Gauge,
    connections_closed_at_limit: Counter,
    watches_refused: Counter,
    slow_watches_closed: Counter,
    watch_queued_bytes: Gauge,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let watches = Family::<WatchLabels, Gauge>::default();
        let watch_events = Family::<WatchLabels, Counter>::default();
        registry.register("orch_apiserver_requests", "API requests by verb, resource and HTTP code", requests.clone());
        registry.register(
            "orch_apiserver_request_duration_seconds",
            "API request latency by verb and resource (watches: time to the first byte)",
            latency.clone(),
        );
        registry.register("orch_apiserver_watches", "Open watches by resource", watches.clone());
        registry.register("orch_apiserver_watch_events", "Watch events sent by resource", watch_events.clone());
        let connections = Gauge::default();
        let connections_closed_at_limit = Counter::default();
        let watches_refused = Counter::default();
        let slow_watches_closed = Counter::default();
        let watch_queued_bytes = Gauge::default();
        registry.register("orch_apiserver_connections", "Open client connections", connections.clone());
        registry.register(
            "orch_apiserver_connections_closed_at_limit",
            "Connections closed because the connection limit was reached (the oldest idle one, or the new one)",
            connections_closed_at_limit.clone(),
        );
        registry.register(
            "orch_apiserver_watches_refused",
            "Watch requests refused with 429 because the watch limit was reached",
            watches_refused.clone(),
        );
        registry.register(
            "orch_apiserver_slow_watches_closed",
            "Watches ended because their client did not read",
            slow_watches_closed.clone(),
        );
        registry.register(
            "orch_apiserver_watch_queued_bytes",
            "Encoded watch event bytes queued for clients, over every watch",
            watch_queued_bytes.clone(),
        );
        ApiMetrics {
            registry,
            requests,
            latency,
            watches,
            watch_events,
            connections,
            connections_closed_at_limit,
            watches_refused,
            slow_watches_closed,
            watch_queued_bytes,
        }
    }
}

/// Decrements the open-watch gauge when the watch ends.
pub struct WatchGuard {
    gauge: Gauge,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

impl ApiMetrics {
    /// Counts a finished request.
    pub fn observe(&self, verb: &str, resource: &str, code: u16, elapsed: Duration) {
        let (verb, resource) = (verb.to_string(), resource.to_string());
        self.requests.get_or_create(&RequestLabels { verb: verb.clone(), resource: resource.clone(), code }).inc();
        self.latency.get_or_create(&LatencyLabels { verb, resource }).observe(elapsed.as_secs_f64());
    }

    /// Counts a watch as open until the guard drops.
    pub fn watch_opened(&self, resource: &str) -> WatchGuard {
        let gauge = self.watches.get_or_create(&WatchLabels { resource: resource.to_string() }).clone();
        gauge.inc();
        WatchGuard { gauge }
    }

    /// The counter of events sent to watchers of `resource`.
    pub fn watch_event_counter(&self, resource: &str) -> Counter {
        self.watch_events.get_or_create(&WatchLabels { resource: resource.to_string() }).clone()
    }

    pub(crate) fn connections_gauge(&self) -> Gauge {
        self.connections.clone()
    }

    pub(crate) fn connection_closed_at_limit(&self) {
        self.connections_closed_at_limit.inc();
    }

    pub(crate) fn watch_refused(&self) {
        self.watches_refused.inc();
    }

    pub(crate) fn slow_watch_counter(&self) -> Counter {
        self.slow_watches_closed.clone()
    }

    pub(crate) fn watch_queued_bytes_gauge(&self) -> Gauge {
        self.watch_queued_bytes.clone()
    }

    /// Open connections.
    pub fn open_connections(&self) -> i64 {
        self.connections.get()
    }

    /// Connections closed because the connection limit was reached.
    pub fn connections_closed_at_limit(&self) -> u64 {
        self.connections_closed_at_limit.get()
    }

    /// Watch requests refused with 429 at the watch limit.
    pub fn watches_refused(&self) -> u64 {
        self.watches_refused.get()
    }

    /// Watches ended because their client did not read.
    pub fn slow_watches_closed(&self) -> u64 {
        self.slow_watches_closed.get()
    }

    /// Encoded watch bytes queued for clients right now, over every watch.
    pub fn watch_queued_bytes(&self) -> i64 {
        self.watch_queued_bytes.get()
    }

    /// The metrics in Prometheus text form.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_watches_show_in_the_text() {
        let m = ApiMetrics::default();
        m.observe("create", "pods", 201, Duration::from_millis(2));
        let guard = m.watch_opened("pods");
        let text = m.render();
        assert!(
            text.contains(r#"orch_apiserver_requests_total{verb="create",resource="pods",code="201"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"orch_apiserver_watches{resource="pods"} 1"#), "{text}");
        drop(guard);
        assert!(m.render().contains(r#"orch_apiserver_watches{resource="pods"} 0"#));
    }
}
