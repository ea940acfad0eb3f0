//! Criterion benchmarks, one per pipeline stage, on generated news feeds:
//!
//!     cargo bench --bench stages
//!
//! parse+normalize (bytes -> articles with their text: content hash, plain text,
//! near-duplicate keys), sanitize (ammonia over a news body), identity (canonical URL,
//! identity key, content hash, MinHash signature), store (one feed's poll into SQLite, the
//! articles' text computed beforehand as a poll's is: insert, then the same poll again
//! unchanged), render (the merged Atom feed of 200 stories), the near-duplicate index (the
//! writer's look-ups over a first poll of 1000 feeds). Figures and what they mean:
//! bench/RESULTS.md.

use std::hint::black_box;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use newswire::article::FeedMeta;
use newswire::config::Config;
use newswire::publish::{self, View};
use newswire::store::{FeedSpec, FeedUpdate, Store, StoreSettings};
use url::Url;

#[path = "words.rs"]
mod words;
use words::text;

/// An RSS 2.0 feed of `items` news items with HTML bodies, ~1.8 KB per item.
fn feed_xml(feed: usize, items: usize) -> String {
    let body: String = (0..items)
        .map(|i| {
            format!(
                "<item><title>{}</title><link>https://news{feed}.example.com/2026/{i}.html?utm_source=rss</link>\
                 <guid>https://news{feed}.example.com/2026/{i}.html</guid>\
                 <pubDate>Tue, 03 Jun 2025 {:02}:{:02}:00 +0200</pubDate><dc:creator>By Staff Reporter</dc:creator>\
                 <category>World</category><description><![CDATA[<p>{}</p><figure><img src=\"/img/{i}.jpg\">\
                 <figcaption>File photo</figcaption></figure><p>{}</p><script>track()</script>\
                 <a href=\"/more/{i}\" onclick=\"x()\">More &amp; more</a>]]></description></item>",
                text(i, 9),
                i % 24,
                i % 60,
                text(i + 1, 110),
                text(i + 2, 120)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>News {feed}</title><link>https://news{feed}.example.com/</link>{body}</channel></rss>"
    )
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-04T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn stages(c: &mut Criterion) {
    let base = Url::parse("https://news1.example.com/rss.xml").unwrap();
    let xml = feed_xml(1, 50);

    let mut g = c.benchmark_group("parse+normalize");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("feed of 50 items", |b| {
        b.iter(|| {
            let parsed = newswire::parse::parse_feed(xml.as_bytes(), None, &base, None).unwrap();
            black_box(newswire::normalize::normalize(&parsed, &base, now()))
        })
    });
    g.bench_function("parse alone (feed-rs)", |b| {
        b.iter(|| {
            black_box(newswire::parse::parse_feed(xml.as_bytes(), None, &base, None).unwrap())
        })
    });
    g.finish();

    let html = format!(
        "<p>{}</p><figure><img src=\"/a.jpg\"><figcaption>x</figcaption></figure><p>{}</p><script>x()</script>",
        text(3, 120),
        text(4, 120)
    );
    let mut g = c.benchmark_group("sanitize");
    g.throughput(Throughput::Bytes(html.len() as u64));
    g.bench_function("news body", |b| {
        b.iter(|| black_box(newswire::normalize::sanitize_html(&html, &base)))
    });
    g.finish();

    let parsed = newswire::parse::parse_feed(xml.as_bytes(), None, &base, None).unwrap();
    let articles = newswire::normalize::normalize(&parsed, &base, now()).articles;
    let mut g = c.benchmark_group("identity");
    g.throughput(Throughput::Elements(articles.len() as u64));
    g.bench_function("canonical URL + key + content hash, 50 articles", |b| {
        b.iter(|| {
            for a in &articles {
                let u = Url::parse(a.link.as_deref().unwrap()).unwrap();
                black_box(newswire::dedup::canonical_url(&u));
                black_box(newswire::dedup::content_hash(a));
            }
        })
    });
    g.bench_function("near-duplicate text and keys, 50 articles", |b| {
        b.iter(|| {
            for a in &articles {
                let body = newswire::dedup::text_of_html(a.content.as_deref().unwrap_or(""));
                black_box(newswire::neardup::text(&a.title, &body).keys());
            }
        })
    });
    g.finish();

    // The writer's lookups in the near-duplicate index over a first poll of the N=1000 farm:
    // 46,000 copies of ~30 keys each, every copy looked up and then added. The keys are
    // random, so few are shared: what is measured is reaching the keys' places in an
    // index far larger than the caches.
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let copies: Vec<Vec<u32>> = (0..46_000)
        .map(|_| {
            (0..30)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u32
                })
                .collect()
        })
        .collect();
    let mut g = c.benchmark_group("near-duplicate index");
    g.sample_size(10);
    g.throughput(Throughput::Elements(copies.len() as u64));
    g.bench_function("look up, then add, 46,000 copies", |b| {
        b.iter(|| {
            let mut index = newswire::neardup::KeyIndex::default();
            let mut found = 0;
            for (id, keys) in copies.iter().enumerate() {
                found += index.candidates(keys, &keys[18..], 32).len();
                index.insert(id as i64 + 1, keys);
            }
            black_box(found)
        })
    });
    g.finish();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    store.configure(StoreSettings {
        max_age: None,
        max_per_feed: None,
        ..Default::default()
    });
    let feeds: Vec<FeedSpec> = (0..1000)
        .map(|f| FeedSpec {
            name: format!("f{f}"),
            url: format!("https://news{f}.example.com/rss.xml"),
        })
        .collect();
    store
        .sync_feeds(&newswire::store::FeedList::lone(&feeds))
        .unwrap();
    // the articles with the text normalize computed for them, as a poll hands them over
    let per_feed: Vec<Vec<newswire::dedup::Prepared>> = (0..1000)
        .map(|f| {
            let u = Url::parse(&format!("https://news{f}.example.com/rss.xml")).unwrap();
            let p =
                newswire::parse::parse_feed(feed_xml(f, 20).as_bytes(), None, &u, None).unwrap();
            newswire::normalize::normalize(&p, &u, now()).prepared()
        })
        .collect();
    let update = FeedUpdate {
        at: now(),
        status: 200,
        ..Default::default()
    };
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(20));
    g.sample_size(30);
    let mut next = 0usize;
    g.bench_function("insert a poll of 20 new articles", |b| {
        b.iter(|| {
            let f = next % 1000;
            next += 1;
            // after the first 1000 rounds these are unchanged re-polls; criterion's sample
            // size keeps it to the first pass
            black_box(
                store
                    .apply_prepared(
                        &format!("f{f}"),
                        &update,
                        &FeedMeta::default(),
                        per_feed[f].clone(),
                        newswire::store::Handover::default(),
                    )
                    .unwrap(),
            )
        })
    });
    g.bench_function("re-store a poll of 20 unchanged articles", |b| {
        b.iter(|| {
            black_box(
                store
                    .apply_prepared(
                        "f0",
                        &update,
                        &FeedMeta::default(),
                        per_feed[0].clone(),
                        newswire::store::Handover::default(),
                    )
                    .unwrap(),
            )
        })
    });
    g.finish();

    let toml: String = (0..1000)
        .map(|f| format!("[[feed]]\nname = \"f{f}\"\nurl = \"https://news{f}.example.com/rss.xml\"\ntags = [\"t{}\"]\n", f % 10))
        .collect();
    let config = Config::parse(std::path::Path::new("/tmp/bench.toml"), &toml).unwrap();
    let mut g = c.benchmark_group("render");
    g.bench_function("merged Atom of 200 stories", |b| {
        b.iter(|| {
            let feed = publish::build(&store, &config, &View::default()).unwrap();
            black_box(publish::atom::render(
                &feed,
                Some("http://localhost/feed.atom"),
            ))
        })
    });
    g.bench_function("?tag= view of 200 stories", |b| {
        let view = View {
            tag: Some("t3".into()),
            ..Default::default()
        };
        b.iter(|| {
            let feed = publish::build(&store, &config, &view).unwrap();
            black_box(publish::atom::render(&feed, None))
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
