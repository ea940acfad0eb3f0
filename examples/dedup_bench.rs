//! Cost of story-level deduplication per article, with 100,000 articles in the window.
//!
//!     cargo run --release --example dedup_bench [N_IN_WINDOW] [N_MEASURED]
//!
//! Fills a fresh store with N_IN_WINDOW synthetic articles (120 words each, all published
//! within the 3-day window, 100 feeds), then stores N_MEASURED more and reports articles/s
//! through the whole store path (identity, near-duplicate lookup, insert, story refresh,
//! search index), with near-duplicate detection on and off, and the signature alone.

use std::time::Instant;

use chrono::{DateTime, Utc};
use newswire::article::{Article, ArticleKey, FeedMeta};
use newswire::store::{FeedSpec, FeedUpdate, Store, StoreSettings};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn words(rng: &mut Rng, vocab: &[String], n: usize) -> String {
    (0..n)
        .map(|_| vocab[(rng.next() % vocab.len() as u64) as usize].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn article(rng: &mut Rng, vocab: &[String], i: usize, base: DateTime<Utc>) -> Article {
    let title = words(rng, vocab, 8);
    let body = words(rng, vocab, 120);
    let link = format!("https://site{}.example/story/{i}", i % 100);
    Article {
        key: ArticleKey::Guid(format!("g{i}")),
        guid: Some(format!("g{i}")),
        title,
        link: Some(link.clone()),
        canonical_url: Some(link),
        authors: vec!["Staff".into()],
        published: Some(base + chrono::Duration::seconds((rng.next() % (3 * 86400)) as i64)),
        updated: None,
        summary: None,
        content: Some(format!("<p>{body}</p>")),
        categories: vec![],
        image: None,
        image_credit: None,
        language: Some("en".into()),
    }
}

fn run(n_window: usize, n_measured: usize, near_duplicates: bool) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db")).unwrap();
    store.configure(StoreSettings {
        near_duplicates,
        max_age: None,
        max_per_feed: None,
        ..Default::default()
    });
    let feeds: Vec<FeedSpec> = (0..100)
        .map(|f| FeedSpec {
            name: format!("f{f}"),
            url: format!("https://site{f}.example/feed"),
        })
        .collect();
    store
        .sync_feeds(&newswire::store::FeedList::lone(&feeds))
        .unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let vocab: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
    let base = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let at = base + chrono::Duration::days(3);
    let store_batch = |from: usize, to: usize, rng: &mut Rng| {
        // one poll per feed, 100 articles at a time
        for chunk_start in (from..to).step_by(100) {
            let chunk: Vec<Article> = (chunk_start..(chunk_start + 100).min(to))
                .map(|i| article(rng, &vocab, i, base))
                .collect();
            let feed = format!("f{}", (chunk_start / 100) % 100);
            let u = FeedUpdate {
                at,
                status: 200,
                ..Default::default()
            };
            store
                .apply_poll(&feed, &u, &FeedMeta::default(), &chunk)
                .unwrap();
        }
    };
    let t = Instant::now();
    store_batch(0, n_window, &mut rng);
    let fill = n_window as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    store_batch(n_window, n_window + n_measured, &mut rng);
    let measured = n_measured as f64 / t.elapsed().as_secs_f64();
    (fill, measured)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_window = args.first().copied().unwrap_or(100_000);
    let n_measured = args.get(1).copied().unwrap_or(10_000);

    let mut rng = Rng(42);
    let vocab: Vec<String> = (0..5000).map(|i| format!("w{i}")).collect();
    let texts: Vec<(String, String)> = (0..n_measured)
        .map(|_| (words(&mut rng, &vocab, 8), words(&mut rng, &vocab, 120)))
        .collect();
    let t = Instant::now();
    for (title, body) in &texts {
        std::hint::black_box(newswire::neardup::text(title, body).keys());
    }
    let sig_rate = n_measured as f64 / t.elapsed().as_secs_f64();

    let (fill_on, on) = run(n_window, n_measured, true);
    let (fill_off, off) = run(n_window, n_measured, false);
    println!("dedup bench: {n_window} articles in the 3-day window, {n_measured} more measured");
    println!("| | near-duplicates on | off |");
    println!("|---|---|---|");
    println!("| filling the window (articles/s) | {fill_on:.0} | {fill_off:.0} |");
    println!("| with {n_window} in the window (articles/s) | {on:.0} | {off:.0} |");
    println!("| MinHash signature alone (articles/s) | {sig_rate:.0} | |");
    println!(
        "near-duplicate detection costs {:.0} µs per article ({:.0}% of the store path)",
        (1.0 / on - 1.0 / off) * 1e6,
        (1.0 - on / off) * 100.0
    );
}
