//! CPU of a first poll per entry, by stage, on one thread: parse + normalize every feed,
//! then store every feed's poll (what the writer does), for bench/RESULTS.md:
//!
//!     cargo run --release --example first_poll_cpu -- [FEEDS] [ITEMS] [distinct]
//!
//! Defaults: 200 feeds of 20 items, the generated news feeds of `bench/stages.rs` (the same
//! 20 stories in every feed under its own URLs, so every copy joins a story of 200 copies);
//! `distinct`: every feed's stories are its own (no near-duplicates). Times
//! are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which other processes on a shared
//! machine do not inflate as they do wall time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use newswire::article::FeedMeta;
use newswire::store::{FeedList, FeedSpec, FeedUpdate, Store, StoreSettings};
use url::Url;

#[path = "../bench/words.rs"]
mod words;
use words::text;

fn feed_xml(feed: usize, items: usize, seed: usize) -> String {
    let body: String = (0..items)
        .map(|i| {
            format!(
                "<item><title>{}</title><link>https://news{feed}.example.com/2026/{i}.html?utm_source=rss</link>\
                 <guid>https://news{feed}.example.com/2026/{i}.html</guid>\
                 <pubDate>Tue, 03 Jun 2025 {:02}:{:02}:00 +0200</pubDate><dc:creator>By Staff Reporter</dc:creator>\
                 <category>World</category><description><![CDATA[<p>{}</p><figure><img src=\"/img/{i}.jpg\">\
                 <figcaption>File photo</figcaption></figure><p>{}</p><script>track()</script>\
                 <a href=\"/more/{i}\" onclick=\"x()\">More &amp; more</a>]]></description></item>",
                words_of(seed, i, 9),
                i % 24,
                i % 60,
                words_of(seed, i + 1, 110),
                words_of(seed, i + 2, 120)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>News {feed}</title><link>https://news{feed}.example.com/</link>{body}</channel></rss>"
    )
}

/// `n` words: `bench/words.rs`'s news text for seed 0 (the same in every feed), else words
/// of a made-up vocabulary of 20,000 drawn for this (feed seed, item).
fn words_of(seed: usize, i: usize, n: usize) -> String {
    if seed == 0 {
        return text(i, n);
    }
    words::vocabulary_text((seed as u64) << 32 | i as u64, n)
}

fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let feeds = args.first().copied().unwrap_or(200);
    let items = args.get(1).copied().unwrap_or(20);
    let distinct = std::env::args().any(|a| a == "distinct");
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-06-04T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let docs: Vec<(Url, String)> = (0..feeds)
        .map(|f| {
            let u = Url::parse(&format!("https://news{f}.example.com/rss.xml")).unwrap();
            (u, feed_xml(f, items, if distinct { f + 1 } else { 0 }))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("cpu.db")).unwrap();
    store.configure(StoreSettings {
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
    store.sync_feeds(&FeedList::lone(&specs)).unwrap();

    let started = thread_cpu();
    let normalized: Vec<_> = docs
        .iter()
        .map(|(u, xml)| {
            let parsed = newswire::parse::parse_feed(xml.as_bytes(), None, u, None).unwrap();
            newswire::normalize::normalize(&parsed, u, now).prepared()
        })
        .collect();
    let parse_cpu = thread_cpu() - started;
    let entries: usize = normalized.iter().map(Vec::len).sum();

    let update = FeedUpdate {
        at: now,
        status: 200,
        ..Default::default()
    };
    let started = thread_cpu();
    for (f, articles) in normalized.into_iter().enumerate() {
        store
            .apply_prepared(
                &format!("f{f}"),
                &update,
                &FeedMeta::default(),
                articles,
                newswire::store::Handover {
                    pack_ahead: true,
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let store_cpu = thread_cpu() - started;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / entries.max(1) as f64;
    let (e, s) = store.counts().unwrap();
    println!(
        "{feeds} feeds, {entries} entries ({e} stored, {s} stories): parse+normalize {:.0} us, store {:.0} us, total {:.0} us of CPU per entry",
        per(parse_cpu),
        per(store_cpu),
        per(parse_cpu + store_cpu)
    );
}
