//! The cost of `[[rule]]`s per entry: 100 rules of every kind judging news entries.
//!
//!     cargo bench --bench rules
//!
//! Figures: bench/RESULTS.md, "Issue 15".

use std::collections::HashSet;
use std::hint::black_box;

use chrono::{Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use newswire::article::{Article, ArticleKey};
use newswire::config::Config;

#[path = "words.rs"]
mod words;
use words::{WORDS, text};

/// 100 rules, as a user with many would write them: 40 regexes on title or content, 20
/// substring tests, 20 equalities on categories, authors and feeds, 20 on words and age;
/// one in four scoped to some feeds; actions of every kind.
fn config() -> Config {
    let mut toml = String::new();
    for f in 0..10 {
        toml.push_str(&format!(
            "[[feed]]\nname = \"feed-{f}\"\nurl = \"https://f{f}.example/rss\"\ntags = [\"t{}\"]\n",
            f % 3
        ));
    }
    let actions = ["hide", "tag:x", "drop", "tag:y"];
    for r in 0..100 {
        let w = WORDS[r % WORDS.len()];
        let when = match r % 5 {
            0 => format!(r#"title ~ "(?i)\b{w}\b.*(sponsored|advert)""#),
            1 => format!(r#"content ~ "(?i){w} (of|in) the {r}""#),
            2 => format!(r#"title contains "{w}{r}" or summary contains "{w}-{r}""#),
            3 => format!(r#"category = "{w}" and author != "Desk {r}" or feed = "none-{r}""#),
            _ => format!("words < {} and age > {}d", r % 7, 30 + r),
        };
        let scope = if r % 4 == 0 {
            "feeds = [\"feed-1*\", \"feed-2\"]\n"
        } else {
            ""
        };
        toml.push_str(&format!(
            "[[rule]]\nname = \"r{r}\"\nwhen = '{when}'\naction = \"{}\"\n{scope}",
            actions[r % 4]
        ));
    }
    Config::parse(std::path::Path::new("/bench/newswire.toml"), &toml).expect("bench config")
}

fn articles(n: usize) -> Vec<Article> {
    let now = Utc::now();
    (0..n)
        .map(|i| Article {
            key: ArticleKey::Guid(format!("g{i}")),
            guid: Some(format!("g{i}")),
            title: text(i, 9),
            link: Some(format!("https://news.example/{i}")),
            canonical_url: None,
            authors: vec!["Jane Reporter".into()],
            published: Some(now - Duration::hours(i as i64)),
            updated: None,
            summary: Some(text(i + 1, 40)),
            content: Some(format!(
                "<p>{}</p><p>{}</p>",
                text(i + 2, 150),
                text(i + 3, 150)
            )),
            categories: vec!["World".into(), WORDS[i % WORDS.len()].into()],
            image: None,
            image_credit: None,
            language: Some("en".into()),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = config();
    assert_eq!(config.rules.len(), 100);
    let batch = articles(200);
    let none = HashSet::new();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(batch.len() as u64));
    for (label, feed) in [
        ("100 rules, 75 in scope", "feed-5"),
        ("100 rules, all in scope", "feed-2"),
    ] {
        let tags = config.feed(feed).unwrap().tags.clone();
        g.bench_function(label, |b| {
            b.iter(|| {
                let judged = newswire::rules::judge(
                    &config.rules,
                    feed,
                    &tags,
                    batch.clone(),
                    &none,
                    Utc::now(),
                );
                black_box(judged.kept.len())
            })
        });
    }
    // the floor: what cloning the batch costs without rules
    g.bench_function("no rules (clone of the batch only)", |b| {
        b.iter(|| {
            let judged =
                newswire::rules::judge(&[], "feed-5", &[], batch.clone(), &none, Utc::now());
            black_box(judged.kept.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
