//! Living with the daemon: systemd notifications, the watchdog, /metrics, /healthz, and logs
//! for journald and log shippers. Every test runs the real binary.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// The daemon with no systemd or journald variables but those given in `env`.
fn start(config: &Path, env: &[(&str, &str)]) -> Daemon {
    Daemon::start_with(
        config,
        env,
        &["JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC"],
    )
}

fn feed_env(srv: &FixtureServer, extra: &str) -> TestEnv {
    srv.set(
        "/a.xml",
        Route::rss(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>A</title><link>https://a.example/</link>\
             <item><guid>1</guid><title>One</title><link>https://a.example/1</link></item>\
             <item><guid>2</guid><title>Two</title><link>https://a.example/2</link></item></channel></rss>",
        ),
    );
    srv.set("/down.xml", Route::status(500));
    TestEnv::new(&format!(
        "{extra}\n[[feed]]\nname = \"a\"\nurl = \"{}\"\n\n[[feed]]\nname = \"down\"\nurl = \"{}\"\n",
        srv.url("/a.xml"),
        srv.url("/down.xml")
    ))
}

/// Reads notify datagrams until `want` arrives (or panics after `within`), returning all seen.
fn expect_notify(sock: &UnixDatagram, want: &str, within: Duration, seen: &mut Vec<String>) {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            let hit = msg.lines().any(|l| l == want);
            seen.push(msg);
            if hit {
                return;
            }
        }
    }
    panic!("no {want} within {within:?}; got {seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn systemd_hears_ready_reloading_watchdog_and_stopping() {
    let srv = FixtureServer::start().await;
    let env = feed_env(&srv, "");
    let sock_path = env.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let d = start(
        &env.config_path,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            // a 2 s watchdog: pings every second
            ("WATCHDOG_USEC", "2000000"),
        ],
    );
    let sock = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        expect_notify(&sock, "READY=1", Duration::from_secs(10), &mut seen);
        expect_notify(&sock, "WATCHDOG=1", Duration::from_secs(5), &mut seen);
        sock
    })
    .await
    .unwrap();
    d.signal("HUP");
    let sock = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        expect_notify(&sock, "RELOADING=1", Duration::from_secs(10), &mut seen);
        assert!(
            seen.last().unwrap().contains("MONOTONIC_USEC="),
            "RELOADING=1 carries MONOTONIC_USEC: {seen:?}"
        );
        expect_notify(&sock, "READY=1", Duration::from_secs(10), &mut seen);
        sock
    })
    .await
    .unwrap();
    d.signal("TERM");
    tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        expect_notify(&sock, "STOPPING=1", Duration::from_secs(10), &mut seen);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_notify_socket_it_runs_the_same() {
    let srv = FixtureServer::start().await;
    let env = feed_env(&srv, "");
    let d = start(&env.config_path, &[]);
    let r = reqwest::get(d.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap().trim(), "ok");
    assert!(!d.log_lines().iter().any(|l| l.contains("could not notify")));
}

/// Parses the Prometheus text exposition into (name{labels}, value) pairs, rejecting any
/// line that is not a comment or a sample.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (key, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {l}"));
            (
                key.to_string(),
                value
                    .parse::<f64>()
                    .unwrap_or_else(|_| panic!("bad value: {l}")),
            )
        })
        .collect()
}

fn sample(all: &[(String, f64)], key: &str) -> f64 {
    all.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no sample {key}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_healthz() {
    let srv = FixtureServer::start().await;
    let env = feed_env(&srv, "");
    let d = start(&env.config_path, &[]);
    // wait until both feeds were polled
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status: serde_json::Value = reqwest::get(d.url("/status"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["state"] != "pending")
        {
            break;
        }
        assert!(Instant::now() < deadline, "feeds never polled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        assert_eq!(
            reqwest::get(d.url("/feed.atom")).await.unwrap().status(),
            200
        );
    }
    let resp = reqwest::get(d.url("/metrics")).await.unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let all = samples(&text);
    assert_eq!(sample(&all, "newswire_polls_total{outcome=\"ok\"}"), 1.0);
    assert_eq!(
        sample(&all, "newswire_polls_total{outcome=\"failed\"}"),
        1.0
    );
    assert_eq!(sample(&all, "newswire_articles_total{kind=\"new\"}"), 2.0);
    assert_eq!(sample(&all, "newswire_feeds{state=\"ok\"}"), 1.0);
    assert_eq!(sample(&all, "newswire_feeds{state=\"failing\"}"), 1.0);
    assert!(sample(&all, "newswire_fetched_bytes_total") > 100.0);
    assert_eq!(sample(&all, "newswire_fetch_duration_seconds_count"), 2.0);
    assert!(sample(&all, "newswire_database_bytes") > 4096.0);
    assert_eq!(
        sample(
            &all,
            "newswire_http_requests_total{route=\"/feed.atom\",status=\"200\"}"
        ),
        3.0
    );
    assert_eq!(
        sample(
            &all,
            "newswire_http_request_duration_seconds_count{route=\"/feed.atom\"}"
        ),
        3.0
    );

    let health = reqwest::get(d.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_for_journald_and_for_log_shippers() {
    let srv = FixtureServer::start().await;
    // under systemd: one line per event, no colour, the syslog priority first
    let env = feed_env(&srv, "");
    let d = start(&env.config_path, &[("JOURNAL_STREAM", "8:12345")]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.log_lines().iter().any(|l| l.contains("poll failed")) {
        assert!(Instant::now() < deadline, "no poll log line");
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines = d.log_lines();
    assert!(lines.iter().all(|l| l.starts_with('<')), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>") && l.contains("listening on"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<4>") && l.contains("poll failed"))
    );
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "no ANSI codes");
    drop(d);

    // [log] format = "json": one JSON object per line
    let env = feed_env(&srv, "[log]\nformat = \"json\"\n");
    let d = start(&env.config_path, &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.log_lines().iter().any(|l| l.contains("poll failed")) {
        assert!(Instant::now() < deadline, "no poll log line");
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines = d.log_lines();
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let failed = events
        .iter()
        .find(|e| e["message"] == "poll failed")
        .unwrap();
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["status"], 500);
    assert_eq!(failed["span"]["feed"], "down");
}

/// Polls `path` until `pred` holds for its body, or panics after 20 seconds.
async fn wait_for(d: &Daemon, path: &str, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = reqwest::get(d.url(path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if pred(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never showed {what}:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_that_fails_on_reload_shows_in_status_metrics_and_the_page() {
    let srv = FixtureServer::start().await;
    let env = feed_env(&srv, "");
    let d = start(&env.config_path, &[]);
    let status: serde_json::Value = reqwest::get(d.url("/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(status["config_error"].is_null(), "{status}");
    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&samples(&metrics), "newswire_config_reload_failed"),
        0.0
    );

    // a typo: `enabled` quoted
    env.write(&format!(
        "[[feed]]\nname = \"a\"\nurl = \"{}\"\nenabled = \"no\"\n",
        srv.url("/a.xml")
    ));
    let status = wait_for(&d, "/status", "the config error", |b| {
        serde_json::from_str::<serde_json::Value>(b).unwrap()["config_error"].is_string()
    })
    .await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let message = status["config_error"].as_str().unwrap();
    assert!(message.contains("enabled"), "{message}");
    assert!(status["config_error_at"].is_string(), "{status}");
    // the daemon runs on the last good config: both feeds are still there
    assert_eq!(status["feeds"].as_array().unwrap().len(), 2, "{status}");
    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&samples(&metrics), "newswire_config_reload_failed"),
        1.0
    );
    let page = reqwest::get(d.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(
            "The config file has an error, so newswire is running on its last good config"
        ) && page.contains("enabled"),
        "{page}"
    );

    // fixed: one feed now, and the notice is gone everywhere
    env.write(&format!(
        "[[feed]]\nname = \"a\"\nurl = \"{}\"\n",
        srv.url("/a.xml")
    ));
    let status = wait_for(&d, "/status", "the error cleared", |b| {
        serde_json::from_str::<serde_json::Value>(b).unwrap()["config_error"].is_null()
    })
    .await;
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["feeds"].as_array().unwrap().len(), 1, "{status}");
    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&samples(&metrics), "newswire_config_reload_failed"),
        0.0
    );
    let page = reqwest::get(d.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("The config file has an error"), "{page}");
}
