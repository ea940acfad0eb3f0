//! The realworld feeds: each served over loopback with a fitting Content-Type, polled through
//! the real pipeline into a real store, and compared field by field with feedparser's reading.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use newswire::article::Article;
use newswire::fetch::{Fetcher, Validators};
use newswire::normalize::html_to_text;
use serde::Deserialize;
use url::Url;

use super::{Tally, collapse};
use crate::common::{FixtureServer, Route, TestEnv};

/// The fields compared, in report order.
pub const FIELDS: &[&str] = &[
    "title",
    "link",
    "id",
    "authors",
    "published",
    "updated",
    "categories",
    "enclosure/media",
];

#[derive(Deserialize)]
struct ManifestLine {
    file: String,
    format: String,
}

/// One entry as feedparser read it.
#[derive(Deserialize, Debug, Clone)]
pub struct FpEntry {
    id: Option<String>,
    title: Option<String>,
    link: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    authors: Vec<String>,
    published_utc: Option<i64>,
    updated_utc: Option<i64>,
    #[serde(default, deserialize_with = "strings")]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    enclosures: Vec<String>,
    #[serde(default, deserialize_with = "strings")]
    media_content: Vec<String>,
}

/// A list of strings where feedparser may put nulls.
fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v: Option<Vec<Option<String>>> = Deserialize::deserialize(d)?;
    Ok(v.unwrap_or_default().into_iter().flatten().collect())
}

#[derive(Deserialize)]
struct FpFeed {
    entries: Vec<FpEntry>,
}

/// One difference between newswire and feedparser.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The feed file.
    pub file: String,
    /// Which entry (feedparser's id or link).
    pub entry: String,
    /// Which field.
    pub field: &'static str,
    /// What feedparser has.
    pub feedparser: String,
    /// What newswire has.
    pub newswire: String,
    /// Why they differ, when the report explains it.
    pub reason: Option<String>,
}

/// The whole realworld comparison.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Feeds compared.
    pub feeds: usize,
    /// Entries feedparser found.
    pub entries: usize,
    /// Entries matched by id or link (or, failing both, title).
    pub matched: usize,
    /// Per field.
    pub tallies: BTreeMap<&'static str, Tally>,
    /// Every difference.
    pub differences: Vec<Difference>,
    /// Entries the store holds after the poll.
    pub stored_entries: u64,
    /// Articles newswire made of the documents.
    pub articles: usize,
    /// U+FFFD characters in the articles' titles, authors, summaries and bodies.
    pub replacement_chars: usize,
    /// Documents read only with repairs, and what was repaired.
    pub recovered: Vec<(String, Vec<String>)>,
}

fn content_type(format: &str) -> &'static str {
    match format {
        "atom10" | "atom03" => "application/atom+xml",
        "rss10" | "rss090" => "application/rdf+xml",
        _ => "application/rss+xml",
    }
}

fn slug(file: &str) -> String {
    file.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Runs the comparison over `corpus/realworld`.
pub async fn run(corpus: &Path) -> Outcome {
    let dir = corpus.join("realworld");
    let manifest = std::fs::read_to_string(dir.join("manifest.jsonl")).unwrap();
    let lines: Vec<ManifestLine> = manifest
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let server = FixtureServer::start().await;
    let mut toml = String::new();
    for m in &lines {
        let path = format!("/realworld/{}", m.file);
        let body = std::fs::read(dir.join(&m.file)).unwrap();
        server.set(&path, Route::feed(content_type(&m.format), body));
        toml.push_str(&format!(
            "[[feed]]\nname = \"{}\"\nurl = \"{}\"\n\n",
            slug(&m.file),
            server.url(&path)
        ));
    }
    // the real pipeline, into a real store: every document must be taken
    let env = TestEnv::new(&toml);
    for s in env.poll().await {
        assert!(
            matches!(s.outcome, newswire::poll::Outcome::Updated { .. }),
            "{s}"
        );
    }
    let config = env.config();
    let fetcher = Fetcher::new(&config.fetch).unwrap();
    let mut out = Outcome {
        feeds: lines.len(),
        ..Default::default()
    };
    out.stored_entries = env.store().counts().unwrap().0;
    for field in FIELDS {
        out.tallies.insert(field, Tally::default());
    }
    for m in &lines {
        let url = Url::parse(&server.url(&format!("/realworld/{}", m.file))).unwrap();
        // the same stages poll_feed runs, to see the articles before the store merges them
        let fetched = fetcher.fetch(&url, &Validators::default()).await.unwrap();
        let parsed = newswire::parse::parse_feed(
            fetched.body.as_deref().unwrap(),
            fetched.content_type.as_deref(),
            &fetched.final_url,
            None,
        )
        .unwrap();
        if !parsed.recovered.is_empty() {
            out.recovered
                .push((m.file.clone(), parsed.recovered.clone()));
        }
        let articles =
            newswire::normalize::normalize(&parsed, &fetched.final_url, Utc::now()).articles;
        for a in &articles {
            let texts = [Some(&a.title), a.summary.as_ref(), a.content.as_ref()];
            out.replacement_chars += texts
                .into_iter()
                .flatten()
                .chain(&a.authors)
                .map(|t| t.matches('\u{fffd}').count())
                .sum::<usize>();
        }
        out.articles += articles.len();
        let fp: FpFeed = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{}.feedparser.json", m.file))).unwrap(),
        )
        .unwrap();
        compare_feed(&m.file, &url, &fp.entries, &articles, &mut out);
    }
    out
}

fn find<'a>(e: &FpEntry, articles: &'a [Article], base: &Url) -> Option<&'a Article> {
    let by_id = e.id.as_deref().map(str::trim).and_then(|id| {
        articles
            .iter()
            .find(|a| a.guid.as_deref() == Some(id) || a.link.as_deref() == Some(id))
    });
    let by_link = || {
        let link = e.link.as_deref().and_then(|l| base.join(l.trim()).ok())?;
        articles
            .iter()
            .find(|a| a.link.as_deref() == Some(link.as_str()))
    };
    let by_title = || {
        let t = e.title.as_deref().map(plain)?;
        articles.iter().find(|a| a.title == t)
    };
    by_id.or_else(by_link).or_else(by_title).or_else(|| {
        // an entry with no id, link or title: the only one of a one-entry feed
        (articles.len() == 1 && e.id.is_none() && e.link.is_none() && e.title.is_none())
            .then(|| &articles[0])
    })
}

/// feedparser's text reduced to what newswire's plain-text model holds.
fn plain(s: &str) -> String {
    html_to_text(s)
}

fn ts(d: Option<DateTime<Utc>>) -> Option<i64> {
    d.map(|d| d.timestamp())
}

fn show_ts(t: Option<i64>) -> String {
    t.and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| "none".into())
}

fn is_image_url(u: &str) -> bool {
    let path = Url::parse(u)
        .map(|u| u.path().to_ascii_lowercase())
        .unwrap_or_default();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|x| path.ends_with(x))
}

fn compare_feed(
    file: &str,
    base: &Url,
    entries: &[FpEntry],
    articles: &[Article],
    out: &mut Outcome,
) {
    out.entries += entries.len();
    for e in entries {
        let label =
            e.id.clone()
                .or_else(|| e.link.clone())
                .unwrap_or_else(|| e.title.clone().unwrap_or_default());
        let Some(a) = find(e, articles, base) else {
            for field in FIELDS {
                out.tallies.get_mut(field).unwrap().unexplained += 1;
            }
            out.differences.push(Difference {
                file: file.into(),
                entry: label,
                field: "entry",
                feedparser: "present".into(),
                newswire: "missing".into(),
                reason: None,
            });
            continue;
        };
        out.matched += 1;
        for field in FIELDS {
            let verdict = match compare(field, e, a, base) {
                Verdict::Differ {
                    feedparser,
                    newswire,
                    reason: None,
                } => {
                    let reason = super::report::explain(file, &label, field);
                    Verdict::Differ {
                        feedparser,
                        newswire,
                        reason,
                    }
                }
                v => v,
            };
            let tally = out.tallies.get_mut(field).unwrap();
            match verdict {
                Verdict::Agree => tally.agree += 1,
                Verdict::Differ {
                    feedparser,
                    newswire,
                    reason,
                } => {
                    if reason.is_some() {
                        tally.explained += 1;
                    } else {
                        tally.unexplained += 1;
                    }
                    // the loopback port changes from run to run; the report should not
                    let origin = base.origin().ascii_serialization();
                    let stable = |s: String| s.replace(&origin, "http://feed.host");
                    out.differences.push(Difference {
                        file: file.into(),
                        entry: label.clone(),
                        field,
                        feedparser: stable(feedparser),
                        newswire: stable(newswire),
                        reason,
                    });
                }
            }
        }
    }
}

/// What one field comparison found.
pub enum Verdict {
    /// Same value.
    Agree,
    /// Different values, with the reason when one is known.
    Differ {
        /// feedparser's value, shown.
        feedparser: String,
        /// newswire's value, shown.
        newswire: String,
        /// Why, when explained.
        reason: Option<String>,
    },
}

/// Compares one field of one entry; see the rules in `report::RULES`.
pub fn compare(field: &str, e: &FpEntry, a: &Article, base: &Url) -> Verdict {
    let differ = |f: String, n: String, reason: Option<&str>| Verdict::Differ {
        feedparser: f,
        newswire: n,
        reason: reason.map(String::from),
    };
    match field {
        "title" => match e.title.as_deref() {
            Some(t) if plain(t) == a.title || collapse(t) == a.title => Verdict::Agree,
            None | Some("") => differ(
                "none".into(),
                a.title.clone(),
                Some(
                    "feedparser has no title; newswire derives one from the summary (first 80 characters at a word boundary)",
                ),
            ),
            Some(t) => differ(t.into(), a.title.clone(), None),
        },
        "link" => {
            let fp = e.link.as_deref().map(str::trim).filter(|l| !l.is_empty());
            let resolved = fp.and_then(|l| base.join(l).ok()).map(String::from);
            match (fp, a.link.as_deref()) {
                (None, None) => Verdict::Agree,
                (Some(l), Some(n)) if l == n || Url::parse(l).is_ok_and(|u| u.as_str() == n) => {
                    Verdict::Agree
                }
                (Some(l), Some(n)) if resolved.as_deref() == Some(n) => differ(
                    l.into(),
                    n.into(),
                    Some(
                        "feedparser leaves the relative link as written; newswire resolves it against the feed URL (a reader cannot follow a relative link)",
                    ),
                ),
                (f, n) => differ(f.unwrap_or("none").into(), n.unwrap_or("none").into(), None),
            }
        }
        "id" => {
            let fp = e.id.as_deref().map(str::trim).filter(|s| !s.is_empty());
            if fp == a.guid.as_deref() {
                Verdict::Agree
            } else {
                differ(
                    fp.unwrap_or("none").into(),
                    a.guid.clone().unwrap_or_else(|| "none".into()),
                    None,
                )
            }
        }
        "authors" => {
            let mut fp: Vec<String> = Vec::new();
            for n in &e.authors {
                let n = collapse(n);
                if !n.is_empty() && !fp.contains(&n) {
                    fp.push(n);
                }
            }
            let mut f = fp.clone();
            let mut n = a.authors.clone();
            f.sort();
            n.sort();
            if f == n {
                Verdict::Agree
            } else if f.is_empty() {
                differ(
                    "none".into(),
                    a.authors.join("; "),
                    Some(
                        "the entry names no author; newswire falls back to the feed's author (RFC 4287 4.2.1 for Atom), feedparser does not",
                    ),
                )
            } else {
                differ(fp.join("; "), a.authors.join("; "), None)
            }
        }
        "published" => {
            let n = ts(a.published);
            if e.published_utc == n {
                Verdict::Agree
            } else if e.published_utc.is_none() && n.is_some() && n == e.updated_utc {
                differ(
                    "none".into(),
                    show_ts(n),
                    Some(
                        "the entry gives only an updated date; newswire uses it as the publication time rather than the time it first saw the entry",
                    ),
                )
            } else {
                differ(show_ts(e.published_utc), show_ts(n), None)
            }
        }
        "updated" => {
            // feedparser's `updated` falls back to `published`; so does the comparison
            let n = ts(a.updated.or(a.published));
            if e.updated_utc.or(e.published_utc) == n {
                Verdict::Agree
            } else {
                differ(show_ts(e.updated_utc), show_ts(n), None)
            }
        }
        "categories" => {
            let mut f: Vec<String> = Vec::new();
            for t in &e.tags {
                let t = collapse(&html_escape::decode_html_entities(t));
                if !t.is_empty() && !f.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
                    f.push(t);
                }
            }
            let lower = |v: &[String]| {
                let mut v: Vec<String> = v.iter().map(|s| s.to_lowercase()).collect();
                v.sort();
                v
            };
            if lower(&f) == lower(&a.categories) {
                Verdict::Agree
            } else {
                differ(f.join("; "), a.categories.join("; "), None)
            }
        }
        "enclosure/media" => {
            let media: Vec<&String> = e.enclosures.iter().chain(&e.media_content).collect();
            let images: Vec<&&String> = media.iter().filter(|u| is_image_url(u)).collect();
            let shown = media
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            match a.image.as_deref() {
                Some(img) if media.iter().any(|m| m.as_str() == img) => Verdict::Agree,
                None if images.is_empty() => Verdict::Agree,
                Some(img) if images.is_empty() => differ(
                    if shown.is_empty() {
                        "none".into()
                    } else {
                        shown
                    },
                    img.into(),
                    Some(
                        "feedparser lists no image enclosure or media:content; newswire's lead image comes from media:thumbnail, itunes:image or the first <img> of the content (feedparser does not put those in these lists)",
                    ),
                ),
                img => differ(
                    media
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    img.unwrap_or("none").into(),
                    None,
                ),
            }
        }
        _ => unreachable!("unknown field {field}"),
    }
}
