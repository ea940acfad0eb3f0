//! Push latency: how long a hub waits for newswire's answer to a signed delivery, which is
//! the time until the pushed stories are stored and served. In-process: the real callback
//! routes and store on a temporary SQLite file, deliveries over loopback HTTP.
//!
//! cargo run --release --example websub_bench [deliveries] [items per delivery]

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use newswire::config::Config;
use newswire::push::Subscriber;
use newswire::store::Db;
use newswire::websub::signature::sign_sha256;
use newswire::websub::{Mode, SubState, Subscription};

fn rss(round: usize, items: usize) -> String {
    let items: String = (0..items)
        .map(|i| {
            format!(
                "<item><guid>r{round}-i{i}</guid><title>Pushed story {round}.{i} about the harbour</title>\
                 <link>https://blog.example.com/{round}/{i}.html</link><description>&lt;p&gt;Round {round}, item {i}: \
                 a paragraph of text long enough to look like a summary of a news story.&lt;/p&gt;</description>\
                 <pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog</title><link>https://blog.example.com/</link>{items}</channel></rss>"
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (rounds, items) = (
        args.first().copied().unwrap_or(500),
        args.get(1).copied().unwrap_or(5),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.toml");
    let text = "database = \"n.db\"\npublic_url = \"http://127.0.0.1/\"\n[storage]\nmax_per_feed = 0\n[[feed]]\nname = \"blog\"\nurl = \"https://blog.example.com/feed\"\n";
    std::fs::write(&path, text).unwrap();
    let config = Config::load(&path).unwrap();
    let store = Db::open(&config.database).unwrap();
    store.configure(config.store.clone());
    store.sync_feeds(&config.feed_list()).unwrap();
    let now = Utc::now();
    store
        .websub_save(&Subscription {
            feed: "blog".into(),
            feed_url: "https://blog.example.com/feed".into(),
            token: "bench".into(),
            secret: "s".repeat(64),
            hub: "http://hub.invalid/".into(),
            topic: "https://blog.example.com/feed".into(),
            state: SubState::Subscribed,
            pending: None::<(Mode, _)>,
            subscribed_at: Some(now),
            expires_at: Some(now + chrono::Duration::days(1)),
            last_attempt: Some(now),
            last_error: None,
            last_push: None,
            pushes_received: 0,
            pushes_rejected: 0,
            last_safety_poll: None,
        })
        .unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(config));
    let sub = Subscriber::new(store.clone(), rx, || {}).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = sub.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/websub/bench");
    let secret = "s".repeat(64);
    let mut signed = Vec::with_capacity(rounds);
    let mut forged = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let body = rss(round, items);
        let sig = sign_sha256(secret.as_bytes(), body.as_bytes());
        let started = Instant::now();
        let r = client
            .post(&url)
            .header("content-type", "application/rss+xml")
            .header("x-hub-signature", sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        signed.push(started.elapsed());
        let started = Instant::now();
        let r = client
            .post(&url)
            .header("x-hub-signature", sign_sha256(b"wrong", body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        forged.push(started.elapsed());
    }
    let (entries, _) = store.counts().unwrap();
    assert_eq!(entries as usize, rounds * items, "every pushed item stored");
    for (what, mut v) in [
        ("signed delivery, stored", signed),
        ("forged delivery, ignored", forged),
    ] {
        v.sort();
        let pct =
            |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0;
        println!(
            "{what}: {} deliveries of {items} items: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            v.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
    }
}
