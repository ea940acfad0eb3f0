//! The labelled clustering fixtures (tests/fixtures/clusters/wire.json) made into copies:
//! each wire story carried four ways by four outlets, and each same-event pair by two
//! outlets in their own words. Shared by tests/clusters.rs and examples/clusters.rs.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use newswire::article::{Article, ArticleKey};

#[derive(serde::Deserialize)]
struct Fixtures {
    stories: Vec<Wire>,
    pairs: Vec<Pair>,
}

#[derive(serde::Deserialize)]
struct Wire {
    id: String,
    headline: String,
    reworded: String,
    dateline: String,
    paragraphs: Vec<String>,
    added: String,
}

#[derive(serde::Deserialize)]
struct Pair {
    id: String,
    a: Own,
    b: Own,
}

#[derive(serde::Deserialize)]
struct Own {
    headline: String,
    body: String,
}

/// The outlets carrying wire stories, one kind of copy each.
pub const WIRE_OUTLETS: [&str; 4] = ["wire", "digest", "courier", "herald"];
/// The outlets writing their own articles about the pairs' events.
pub const OWN_OUTLETS: [&str; 2] = ["own-a", "own-b"];

/// One copy: the outlet, the article, and its true story.
#[derive(Debug, Clone)]
pub struct Copy {
    /// The outlet (feed name).
    pub feed: &'static str,
    /// The article as normalize would give it.
    pub article: Article,
    /// The story it truly belongs to.
    pub label: String,
}

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-03T06:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn first_sentence(p: &str) -> String {
    match p.find(". ") {
        Some(i) => p[..=i].to_string(),
        None => p.to_string(),
    }
}

fn paragraphs(ps: &[String]) -> String {
    ps.iter().map(|p| format!("<p>{p}</p>")).collect()
}

fn copy(feed: &'static str, n: usize, id: &str, title: &str, body_html: &str, label: &str) -> Copy {
    let link = format!("https://{feed}.example/news/{id}.html");
    let mut canonical = link.clone();
    let mut shown = link.clone();
    if feed == "wire" {
        shown = format!("{link}?utm_source=feed&utm_medium=rss");
        canonical = link;
    }
    Copy {
        feed,
        article: Article {
            key: ArticleKey::Guid(format!("{feed}-{id}")),
            guid: Some(format!("{feed}-{id}")),
            title: title.to_string(),
            link: Some(shown),
            canonical_url: Some(canonical),
            authors: vec![],
            published: Some(base() + Duration::minutes(n as i64 * 7)),
            updated: None,
            summary: None,
            content: Some(body_html.to_string()),
            categories: vec![],
            image: None,
            image_credit: None,
            language: Some("en".into()),
        },
        label: label.to_string(),
    }
}

/// Every copy of the fixture set, by outlet in the order of [`WIRE_OUTLETS`] then
/// [`OWN_OUTLETS`].
pub fn copies(fixtures_json: &str) -> Vec<Copy> {
    let f: Fixtures = serde_json::from_str(fixtures_json).expect("wire.json parses");
    let mut out = Vec::new();
    for (n, s) in f.stories.iter().enumerate() {
        let label = format!("wire:{}", s.id);
        out.push(copy(
            "wire",
            n,
            &s.id,
            &s.headline,
            &paragraphs(&s.paragraphs),
            &label,
        ));
        // an Atom teaser: the headline and the first sentence
        let mut teaser = copy("digest", n, &s.id, &s.headline, "", &label);
        teaser.article.content = None;
        teaser.article.summary = Some(first_sentence(&s.paragraphs[0]));
        out.push(teaser);
        // a regional paper: a reworded headline, the first paragraph under a dateline
        let lead = format!("{}, June 3 (Courier) - {}", s.dateline, s.paragraphs[0]);
        out.push(copy(
            "courier",
            n,
            &s.id,
            &s.reworded,
            &paragraphs(&[lead]),
            &label,
        ));
        // a full copy, lightly edited, with a paragraph of its own
        let mut edited: Vec<String> = s
            .paragraphs
            .iter()
            .map(|p| p.replace(" said", " told reporters"))
            .collect();
        edited.push(s.added.clone());
        out.push(copy(
            "herald",
            n,
            &s.id,
            &s.headline,
            &paragraphs(&edited),
            &label,
        ));
    }
    for (n, p) in f.pairs.iter().enumerate() {
        for (feed, own) in [("own-a", &p.a), ("own-b", &p.b)] {
            let label = format!("{feed}:{}", p.id);
            let body = format!("<p>{}</p>", own.body);
            out.push(copy(feed, n, &p.id, &own.headline, &body, &label));
        }
    }
    out
}

/// Pairwise scores of a clustering against the labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Pairs of copies put together that belong together.
    pub true_merges: usize,
    /// Pairs put together that do not.
    pub false_merges: usize,
    /// Pairs that belong together but were left apart.
    pub missed: usize,
}

impl Scores {
    /// Share of merges that are right (1 when there are none).
    pub fn precision(&self) -> f64 {
        self.true_merges as f64 / (self.true_merges + self.false_merges).max(1) as f64
    }

    /// Share of the pairs that belong together that were merged.
    pub fn recall(&self) -> f64 {
        self.true_merges as f64 / (self.true_merges + self.missed).max(1) as f64
    }
}

/// Scores `cluster_of` (copy link -> cluster id) against the copies' labels.
pub fn score(copies: &[Copy], cluster_of: &BTreeMap<String, i64>) -> Scores {
    let mut s = Scores {
        true_merges: 0,
        false_merges: 0,
        missed: 0,
    };
    for (i, a) in copies.iter().enumerate() {
        for b in &copies[i + 1..] {
            let same = a.label == b.label;
            let merged = cluster_of.get(a.article.link.as_deref().unwrap())
                == cluster_of.get(b.article.link.as_deref().unwrap());
            match (same, merged) {
                (true, true) => s.true_merges += 1,
                (false, true) => s.false_merges += 1,
                (true, false) => s.missed += 1,
                (false, false) => {}
            }
        }
    }
    s
}

/// Clusters as sets of copy links, whatever the story ids: what must not depend on order.
pub fn clusters(cluster_of: &BTreeMap<String, i64>) -> BTreeSet<BTreeSet<String>> {
    let mut by_id: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (link, id) in cluster_of {
        by_id.entry(*id).or_default().insert(link.clone());
    }
    by_id.into_values().collect()
}

/// Which story each stored copy is in (link -> story id), from the merged feed's sources.
pub fn stored_clusters(store: &dyn newswire::store::Storage) -> BTreeMap<String, i64> {
    let stories = store
        .stories(&newswire::store::StoryQuery {
            limit: 10_000,
            ..Default::default()
        })
        .unwrap();
    let mut out = BTreeMap::new();
    for s in stories {
        // the merged feed lists one source per feed: a feed's copies are all its links
        let copies = store.story_copies(s.id).unwrap().unwrap();
        for c in copies.copies {
            out.insert(c.link.unwrap_or_default(), s.id);
        }
    }
    out
}

/// A small deterministic shuffle (xorshift), so that orders are reproducible.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed.max(1);
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// Every permutation of `items` (Heap's algorithm).
pub fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    fn go<T: Clone>(k: usize, a: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
        if k <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k - 1 {
            go(k - 1, a, out);
            let j = if k % 2 == 0 { i } else { 0 };
            a.swap(j, k - 1);
        }
        go(k - 1, a, out);
    }
    let mut a = items.to_vec();
    let mut out = Vec::new();
    go(a.len(), &mut a, &mut out);
    out
}

/// An RSS document of one outlet's copies, as a server would carry them.
pub fn rss(feed: &str, copies: &[&Copy]) -> String {
    let esc = |s: &str| html_escape::encode_text(s).into_owned();
    let items: String = copies
        .iter()
        .map(|c| {
            let a = &c.article;
            let body = a.content.clone().or(a.summary.clone()).unwrap_or_default();
            format!(
                "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link>\
                 <description>{}</description><pubDate>{}</pubDate></item>",
                esc(a.guid.as_deref().unwrap()),
                esc(&a.title),
                esc(a.link.as_deref().unwrap()),
                esc(&body),
                a.published.unwrap().to_rfc2822()
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{feed}</title>\
         <link>https://{feed}.example/</link>{items}</channel></rss>"
    )
}

/// A store in `dir` that knows the fixture outlets, keeping everything (no retention).
pub fn open_store(dir: &std::path::Path) -> newswire::store::Store {
    let store = newswire::store::Store::open(&dir.join("newswire.db")).unwrap();
    store.configure(newswire::store::StoreSettings {
        max_age: None,
        ..Default::default()
    });
    let specs: Vec<newswire::store::FeedSpec> = WIRE_OUTLETS
        .iter()
        .chain(&OWN_OUTLETS)
        .map(|f| newswire::store::FeedSpec {
            name: f.to_string(),
            url: format!("https://{f}.example/rss.xml"),
        })
        .collect();
    store
        .sync_feeds(&newswire::store::FeedList::lone(&specs))
        .unwrap();
    store
}

/// Stores one outlet's copies as one poll at `at`.
pub fn poll_copies(
    store: &newswire::store::Store,
    copies: &[Copy],
    feed: &str,
    at: DateTime<Utc>,
    seed: u64,
) -> newswire::store::ApplyStats {
    let mut articles: Vec<Article> = copies
        .iter()
        .filter(|c| c.feed == feed)
        .map(|c| c.article.clone())
        .collect();
    shuffle(&mut articles, seed);
    let update = newswire::store::FeedUpdate {
        at,
        status: 200,
        ..Default::default()
    };
    store
        .apply_poll(feed, &update, &Default::default(), &articles)
        .unwrap()
}

/// Stores the copies outlet by outlet in `order` (each outlet's items shuffled by `seed`)
/// into a fresh database, and returns which story each copy landed in.
pub fn store_in_order(copies: &[Copy], order: &[&str], seed: u64) -> BTreeMap<String, i64> {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    for feed in order {
        poll_copies(&store, copies, feed, Utc::now(), seed);
    }
    stored_clusters(&store)
}
