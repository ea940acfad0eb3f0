//! Prometheus metrics (`/metrics`), kept with the prometheus-client crate. Counters are
//! process-wide: polls and HTTP requests add to them as they happen; gauges that describe
//! the store (feeds by state, database size) are filled in when scraped.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every metric newswire exports.
pub struct Metrics {
    registry: Registry,
    polls: Family<Labels, Counter>,
    fetch_seconds: Histogram,
    fetched_bytes: Counter,
    articles: Family<Labels, Counter>,
    feeds: Family<Labels, Gauge>,
    database_bytes: Gauge,
    requests: Family<Labels, Counter>,
    request_seconds: Family<Labels, Histogram>,
    rule_matches: Family<Labels, Counter>,
    full_text: Family<Labels, Counter>,
    config_reload_failed: Gauge,
    websub_deliveries: Family<Labels, Counter>,
    websub_requests: Family<Labels, Counter>,
    websub_pings: Family<Labels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("newswire");
        let polls = Family::<Labels, Counter>::default();
        registry.register("polls", "Feed polls by outcome", polls.clone());
        let fetch_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 12));
        registry.register(
            "fetch_duration_seconds",
            "Time to fetch one feed",
            fetch_seconds.clone(),
        );
        let fetched_bytes = Counter::default();
        registry.register(
            "fetched_bytes",
            "Feed bytes fetched (after decompression)",
            fetched_bytes.clone(),
        );
        let articles = Family::<Labels, Counter>::default();
        registry.register(
            "articles",
            "Entries stored by kind: new (a new story), updated, duplicate (joined a story)",
            articles.clone(),
        );
        let feeds = Family::<Labels, Gauge>::default();
        registry.register("feeds", "Configured feeds by state", feeds.clone());
        let database_bytes = Gauge::default();
        registry.register(
            "database_bytes",
            "Size of the SQLite database and its WAL",
            database_bytes.clone(),
        );
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let request_seconds = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        let rule_matches = Family::<Labels, Counter>::default();
        registry.register(
            "rule_matches",
            "Entries a [[rule]] matched at poll time, by rule and action (drop, hide, keep, tag)",
            rule_matches.clone(),
        );
        let full_text = Family::<Labels, Counter>::default();
        registry.register(
            "full_text_pages",
            "Article pages of full-text feeds by outcome (ok, not_needed, http_error, rate_limited, fetch_failed, too_large, not_html, no_content, not_longer, no_link, bad_selector)",
            full_text.clone(),
        );
        let config_reload_failed = Gauge::default();
        registry.register(
            "config_reload_failed",
            "1 while the last config reload failed (the daemon runs on its last good config), else 0",
            config_reload_failed.clone(),
        );
        let websub_deliveries = Family::<Labels, Counter>::default();
        registry.register(
            "websub_deliveries",
            "WebSub content deliveries by outcome: accepted (signed with the subscription's secret and read), rejected (bad signature or too large), unsubscribed (the feed no longer takes pushes)",
            websub_deliveries.clone(),
        );
        let websub_requests = Family::<Labels, Counter>::default();
        registry.register(
            "websub_hub_requests",
            "Subscribe and unsubscribe requests sent to hubs, by mode and result (accepted by the hub, or failed)",
            websub_requests.clone(),
        );
        let websub_pings = Family::<Labels, Counter>::default();
        registry.register(
            "websub_publish_pings",
            "Publish pings sent to `[output] hub`, by result (accepted, refused, unreachable)",
            websub_pings.clone(),
        );
        Metrics {
            websub_deliveries,
            websub_requests,
            websub_pings,
            config_reload_failed,
            rule_matches,
            registry,
            polls,
            fetch_seconds,
            fetched_bytes,
            articles,
            feeds,
            database_bytes,
            requests,
            request_seconds,
            full_text,
        }
    }

    /// Counts an article page of a full-text feed by what came of it.
    pub fn full_text(&self, outcome: &str) {
        self.full_text
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// Counts a poll that ended with `outcome` (ok, not_modified, unchanged, failed, ...).
    pub fn poll(&self, outcome: &str) {
        self.polls
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// Records one fetch: how long it took and how many bytes came.
    pub fn fetch(&self, elapsed: Duration, bytes: u64) {
        self.fetch_seconds.observe(elapsed.as_secs_f64());
        self.fetched_bytes.inc_by(bytes);
    }

    /// Counts stored entries of one kind.
    pub fn articles(&self, kind: &str, n: usize) {
        if n > 0 {
            self.articles
                .get_or_create(&vec![("kind", kind.to_string())])
                .inc_by(n as u64);
        }
    }

    /// Counts `n` entries that `rule` matched; its action is drop, hide, keep or tag.
    pub fn rule_match(&self, rule: &str, action: &str, n: usize) {
        if n > 0 {
            self.rule_matches
                .get_or_create(&vec![
                    ("rule", rule.to_string()),
                    ("action", action.to_string()),
                ])
                .inc_by(n as u64);
        }
    }

    /// Counts a WebSub delivery by outcome (accepted, rejected, unsubscribed).
    pub fn websub_delivery(&self, outcome: &str) {
        self.websub_deliveries
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
    }

    /// Counts a request sent to a hub: its mode (subscribe, unsubscribe) and whether the hub
    /// accepted it.
    pub fn websub_request(&self, mode: &str, accepted: bool) {
        let result = if accepted { "accepted" } else { "failed" };
        self.websub_requests
            .get_or_create(&vec![
                ("mode", mode.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
    }

    /// Counts a publish ping by result (accepted, refused, unreachable).
    pub fn websub_ping(&self, result: &str) {
        self.websub_pings
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
    }

    /// Records whether the last config reload failed.
    pub fn config_reload_failed(&self, failed: bool) {
        self.config_reload_failed.set(i64::from(failed));
    }

    /// Records one HTTP request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&vec![
                ("route", route.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.request_seconds
            .get_or_create(&vec![("route", route.to_string())])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the store gauges set from `feeds_by_state` and `db_bytes`.
    pub fn render(&self, feeds_by_state: &[(String, i64)], db_bytes: u64) -> String {
        self.feeds.clear();
        for (state, n) in feeds_by_state {
            self.feeds
                .get_or_create(&vec![("state", state.clone())])
                .set(*n);
        }
        self.database_bytes.set(db_bytes as i64);
        let mut out = String::new();
        // writing to a String cannot fail
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let m = Metrics::new();
        m.poll("ok");
        m.fetch(Duration::from_millis(20), 1234);
        m.articles("new", 3);
        m.request("/feed.atom", 200, Duration::from_millis(2));
        m.rule_match("no-ads", "drop", 2);
        m.websub_delivery("accepted");
        m.websub_request("subscribe", true);
        m.websub_ping("refused");
        let text = m.render(&[("ok".into(), 2), ("failing".into(), 1)], 4096);
        for needle in [
            "newswire_polls_total{outcome=\"ok\"} 1",
            "newswire_fetched_bytes_total 1234",
            "newswire_articles_total{kind=\"new\"} 3",
            "newswire_feeds{state=\"failing\"} 1",
            "newswire_database_bytes 4096",
            "newswire_websub_deliveries_total{outcome=\"accepted\"} 1",
            "newswire_websub_hub_requests_total{mode=\"subscribe\",result=\"accepted\"} 1",
            "newswire_websub_publish_pings_total{result=\"refused\"} 1",
            "newswire_http_requests_total{route=\"/feed.atom\",status=\"200\"} 1",
            "newswire_fetch_duration_seconds_bucket",
            "newswire_rule_matches_total{rule=\"no-ads\",action=\"drop\"} 2",
            "newswire_http_request_duration_seconds_count{route=\"/feed.atom\"} 1",
            "newswire_config_reload_failed 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
