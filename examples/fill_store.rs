//! Fills a database with synthetic stories, for serving benchmarks (bench/RESULTS.md):
//!
//!     cargo run --release --example fill_store -- DB N_ARTICLES [N_FEEDS] [varied]
//!
//! Feeds are named f0..f{N_FEEDS-1}; a config listing the same names serves them. Articles
//! are ~3 KB of HTML each, dated over the last 90 days; near-duplicate detection is off
//! (this measures serving, not ingest). Bodies are made of ten words, unless `varied`: then
//! of a vocabulary of 20,000 made-up words drawn with a Zipf-like skew, as news text is, so
//! that the search index is as large as it is for real text.
//!
//! Reports the database's size against the text it stores (each article's title, summary
//! and body, in bytes), with the store closed first so that the WAL is in the file.

#[path = "../bench/words.rs"]
#[allow(dead_code)] // only its made-up vocabulary is used here
mod words;
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
    let varied = args.get(3).is_some_and(|a| a == "varied");
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
    store
        .sync_feeds(&newswire::store::FeedList::lone(&specs))
        .unwrap();
    let now = Utc::now();
    let words = [
        "minister", "border", "talks", "market", "storm", "council", "election", "energy", "court",
        "budget",
    ];
    let started = std::time::Instant::now();
    let per_poll = 100;
    let mut i = 0;
    let mut text_bytes = 0usize;
    while i < n {
        let f = (i / per_poll) % feeds;
        let batch: Vec<Article> = (i..(i + per_poll).min(n))
            .map(|k| {
                let body: String = if varied {
                    varied_text(k, 200)
                } else {
                    (0..200)
                        .map(|w| words[(k * 7 + w * 3) % words.len()])
                        .collect::<Vec<_>>()
                        .join(" ")
                };
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
        text_bytes += batch
            .iter()
            .map(|a| {
                a.title.len()
                    + a.summary.as_deref().map_or(0, str::len)
                    + a.content.as_deref().map_or(0, str::len)
            })
            .sum::<usize>();
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
    let elapsed = started.elapsed().as_secs_f64();
    // closing the last connection checkpoints the WAL into the file
    drop(store);
    let size = [String::new(), "-wal".into()]
        .iter()
        .map(|suffix| std::fs::metadata(format!("{db}{suffix}")).map_or(0, |m| m.len()))
        .sum::<u64>();
    println!(
        "{entries} entries, {stories} stories, {elapsed:.1} s, database {size} bytes ({:.0} bytes per article), \
         stored text {text_bytes} bytes ({:.0} per article): {:.2}x the text",
        size as f64 / entries.max(1) as f64,
        text_bytes as f64 / entries.max(1) as f64,
        size as f64 / text_bytes.max(1) as f64
    );
}

/// `n` words of `bench/words.rs`'s made-up vocabulary, for article `seed`.
fn varied_text(seed: usize, n: usize) -> String {
    words::vocabulary_text(
        (seed as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407),
        n,
    )
}
