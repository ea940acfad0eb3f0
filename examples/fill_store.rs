//! Fills a database with synthetic stories, for serving benchmarks (bench/RESULTS.md):
//!
//!     cargo run --release --example fill_store -- DB N_ARTICLES [N_FEEDS]
//!
//! Feeds are named f0..f{N_FEEDS-1}; a config listing the same names serves them. Articles
//! are ~1.5 KB of HTML each, dated over the last 90 days; near-duplicate detection is off
//! (this measures serving, not ingest).

use chrono::{Duration, Utc};
use newswire::article::{Article, ArticleKey, FeedMeta};
use newswire::store::{FeedSpec, FeedUpdate, Store, StoreSettings};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = args.first().expect("DB path");
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .expect("N_ARTICLES");
    let feeds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let store = Store::open(std::path::Path::new(db)).unwrap();
    store.configure(StoreSettings {
        near_duplicates: false,
        max_age: None,
        max_per_feed: None,
        ..Default::default()
    });
    let specs: Vec<FeedSpec> = (0..feeds)
        .map(|f| FeedSpec {
            name: format!("f{f}"),
            url: format!("https://news{f}.example.com/rss.xml"),
        })
        .collect();
    store.sync_feeds(&specs).unwrap();
    let now = Utc::now();
    let words = [
        "minister", "border", "talks", "market", "storm", "council", "election", "energy", "court",
        "budget",
    ];
    let started = std::time::Instant::now();
    let per_poll = 100;
    let mut i = 0;
    while i < n {
        let f = (i / per_poll) % feeds;
        let batch: Vec<Article> = (i..(i + per_poll).min(n))
            .map(|k| {
                let body: String = (0..200)
                    .map(|w| words[(k * 7 + w * 3) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" ");
                let link = format!("https://news{f}.example.com/{k}.html");
                Article {
                    key: ArticleKey::Guid(link.clone()),
                    guid: Some(link.clone()),
                    title: format!("Story {k}: {} {}", words[k % 10], words[(k / 10) % 10]),
                    link: Some(link.clone()),
                    canonical_url: Some(link),
                    authors: vec!["Staff".into()],
                    published: Some(now - Duration::seconds((k as i64 * 7919) % (90 * 86400))),
                    updated: None,
                    summary: Some(body[..200].to_string()),
                    content: Some(format!("<p>{body}</p><p>{body}</p>")),
                    categories: vec!["World".into()],
                    image: Some(format!("https://img.example.com/{k}.jpg")),
                    image_credit: None,
                    language: Some("en".into()),
                }
            })
            .collect();
        let u = FeedUpdate {
            at: now,
            status: 200,
            ..Default::default()
        };
        store
            .apply_poll(&format!("f{f}"), &u, &FeedMeta::default(), &batch)
            .unwrap();
        i += per_poll;
        if i % 100_000 == 0 {
            eprintln!(
                "{i} articles, {:.0}/s",
                i as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    let (entries, stories) = store.counts().unwrap();
    let size = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    println!(
        "{entries} entries, {stories} stories, {:.1} s, database {} bytes ({:.0} bytes per article)",
        started.elapsed().as_secs_f64(),
        size,
        size as f64 / entries.max(1) as f64
    );
}
