//! What reading feeds as newswire does (charset, repairs, hints, loose mode) costs beside
//! feed-rs alone, over the real feeds of the shared corpus (`../shared/corpus/realworld`)
//! and over the same feeds made faulty (labelled UTF-8 over windows-1252 bytes; an empty
//! `<media:description/>` in every item, which makes feed-rs reject the document).
//!
//! ```text
//! cargo run --release --example parse_cost [REPS]
//! ```

use std::time::{Duration, Instant};

use url::Url;

fn time(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    start.elapsed() / reps as u32
}

fn main() {
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/realworld");
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.jsonl")) else {
        eprintln!("skipped: no corpus at ../shared/corpus");
        return;
    };
    let docs: Vec<Vec<u8>> = manifest
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| std::fs::read(dir.join(v["file"].as_str()?)).ok())
        .collect();
    let bytes: usize = docs.iter().map(Vec::len).sum();
    let base = Url::parse("https://feeds.example.com/feed.xml").unwrap();
    let mb = bytes as f64 / 1e6;
    let report = |what: &str, d: Duration| {
        println!(
            "{what:58} {:8.2} ms per pass, {:6.1} MB/s",
            d.as_secs_f64() * 1e3,
            mb / d.as_secs_f64()
        );
    };
    println!(
        "{} documents, {:.2} MB, mean of {reps} passes after one warm-up",
        docs.len(),
        mb
    );
    report(
        "feed-rs alone (as valid UTF-8 bytes)",
        time(reps, || {
            for d in &docs {
                let _ = feed_rs::parser::parse(d.as_slice());
            }
        }),
    );
    report(
        "newswire::parse::parse_feed",
        time(reps, || {
            for d in &docs {
                let _ = newswire::parse::parse_feed(d, None, &base, None);
            }
        }),
    );
    // faulty copies: the ones the strict parse reads, made faulty two ways
    let mislabelled: Vec<Vec<u8>> = docs
        .iter()
        .filter_map(|d| {
            let text = std::str::from_utf8(d).ok()?;
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            (!unmappable
                && !text.is_ascii()
                && (text.contains("encoding=\"UTF-8\"") || text.contains("encoding=\"utf-8\"")))
            .then(|| bytes.into_owned())
        })
        .collect();
    report(
        &format!(
            "parse_feed, {} declared UTF-8 over windows-1252",
            mislabelled.len()
        ),
        time(reps, || {
            for d in &mislabelled {
                let _ = newswire::parse::parse_feed(d, None, &base, None);
            }
        }),
    );
    let faulty: Vec<Vec<u8>> = docs
        .iter()
        .filter_map(|d| {
            let text = std::str::from_utf8(d).ok()?;
            text.contains("</item>").then(|| {
                text.replace(
                    "</item>",
                    "<media:description xmlns:media=\"http://search.yahoo.com/mrss/\"/></item>",
                )
                .into_bytes()
            })
        })
        .collect();
    let entries: usize = faulty
        .iter()
        .map(|d| {
            newswire::parse::parse_feed(d, None, &base, None).map_or(0, |p| p.feed.entries.len())
        })
        .sum();
    report(
        &format!(
            "parse_feed, {} RSS with a fault in every item ({entries} read)",
            faulty.len()
        ),
        time(reps, || {
            for d in &faulty {
                let _ = newswire::parse::parse_feed(d, None, &base, None);
            }
        }),
    );
}
