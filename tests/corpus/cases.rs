//! feedparser's own parser cases (`feedparser/cases.jsonl`): the checks whose paths the
//! article model has, run against what newswire makes of each document.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use newswire::article::Article;
use newswire::normalize::{Normalized, html_to_text};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

#[derive(Deserialize)]
struct Case {
    file: String,
    #[serde(default)]
    http_headers: BTreeMap<String, String>,
    document_url: Option<String>,
    checks: Vec<Check>,
}

#[derive(Deserialize)]
struct Check {
    path: Vec<Value>,
    op: String,
    value: Value,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// newswire gives what feedparser expects.
    Pass,
    /// It does not: what newswire gave.
    Fail(String),
    /// The path names something the article model does not hold.
    NotApplicable,
}

/// One check of one case.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The case's file.
    pub file: String,
    /// The path, as feedparser writes it (`entries[0].title`).
    pub path: String,
    /// The model field it maps to, if any.
    pub field: Option<&'static str>,
    /// `==` or `!=` and the expected value.
    pub expected: String,
    /// The outcome.
    pub status: Status,
}

/// The model field a feedparser path maps to.
fn field_of(path: &[Value]) -> Option<&'static str> {
    let names: Vec<&str> = path.iter().filter_map(Value::as_str).collect();
    match names.as_slice() {
        ["feed", "title"] | ["feed", "title_detail", "value"] => Some("feed title"),
        ["feed", "link"] => Some("feed link"),
        ["entries", "title"] | ["entries", "title_detail", "value"] => Some("title"),
        ["entries", "link"] => Some("link"),
        ["entries", "id"] | ["entries", "guid"] => Some("id"),
        ["entries", "author"]
        | ["entries", "author_detail", "name"]
        | ["entries", "authors", "name"] => Some("authors"),
        ["entries", "published_parsed"] => Some("published"),
        ["entries", "updated_parsed"] => Some("updated"),
        ["entries", "tags", "term"] | ["entries", "category"] => Some("categories"),
        ["entries", "content", "value"] => Some("content"),
        ["entries", "summary"]
        | ["entries", "description"]
        | ["entries", "summary_detail", "value"] => Some("summary"),
        ["entries", "image", "href"] | ["entries", "media_thumbnail", "url"] => Some("image"),
        _ => None,
    }
}

fn show_path(path: &[Value]) -> String {
    let mut s = String::new();
    for p in path {
        match p {
            Value::String(k) if s.is_empty() => s.push_str(k),
            Value::String(k) => {
                s.push('.');
                s.push_str(k);
            }
            other => s.push_str(&format!("[{other}]")),
        }
    }
    s
}

fn tuple_time(v: &Value) -> Option<DateTime<Utc>> {
    let t: Vec<i64> = v.as_array()?.iter().filter_map(Value::as_i64).collect();
    NaiveDate::from_ymd_opt(t[0] as i32, t[1] as u32, t[2] as u32)?
        .and_hms_opt(t[3] as u32, t[4] as u32, t[5] as u32)
        .map(|d| d.and_utc())
}

/// A plain-text summary cut by newswire (ending in `…`) matches a longer expected text
/// that starts the same way.
fn same_text(expected: &str, got: &str) -> bool {
    let e = html_to_text(expected);
    e == got
        || got
            .strip_suffix('…')
            .is_some_and(|g| !g.is_empty() && e.starts_with(g))
}

/// Runs one check against newswire's reading (`None`: the document did not parse).
fn check(c: &Check, doc: Option<&Normalized>) -> (Option<&'static str>, Status) {
    let Some(field) = field_of(&c.path) else {
        return (None, Status::NotApplicable);
    };
    let Some(doc) = doc else {
        return (
            Some(field),
            Status::Fail("the document did not parse".into()),
        );
    };
    let entry_index = c.path.get(1).and_then(Value::as_u64).unwrap_or(0) as usize;
    let article: Option<&Article> = doc.articles.get(entry_index);
    let expected_str = c.value.as_str().unwrap_or_default();
    let (ok, got): (bool, String) = match field {
        "feed title" => {
            let got = doc.meta.title.clone().unwrap_or_default();
            (
                expected_str == got || html_to_text(expected_str) == got,
                got,
            )
        }
        "feed link" => {
            let got = doc.meta.site_url.clone().unwrap_or_default();
            (got == expected_str, got)
        }
        _ => {
            let Some(a) = article else {
                return (Some(field), Status::Fail("no such entry".into()));
            };
            match field {
                "title" => (
                    expected_str == a.title || html_to_text(expected_str) == a.title,
                    a.title.clone(),
                ),
                "link" => {
                    let got = a.link.clone().unwrap_or_default();
                    (got == expected_str, got)
                }
                "id" => {
                    let got = a.guid.clone().unwrap_or_default();
                    (got == expected_str, got)
                }
                "authors" => {
                    // feedparser's `author` is "Name (email)" when both are given; the model
                    // keeps names
                    let name = match expected_str.rsplit_once(" (") {
                        Some((n, rest)) if rest.contains('@') => n,
                        _ => expected_str,
                    };
                    (a.authors.iter().any(|x| x == name), a.authors.join("; "))
                }
                "published" => {
                    let want = tuple_time(&c.value);
                    (want == a.published, format!("{:?}", a.published))
                }
                "updated" => {
                    let want = tuple_time(&c.value);
                    let got = a.updated.or(a.published);
                    (want == got, format!("{got:?}"))
                }
                "categories" => (
                    a.categories.iter().any(|x| x == expected_str),
                    a.categories.join("; "),
                ),
                "content" => {
                    let got = a.content.clone().unwrap_or_default();
                    (html_to_text(expected_str) == html_to_text(&got), got)
                }
                "summary" => {
                    let got = a.summary.clone().unwrap_or_default();
                    (same_text(expected_str, &got), got)
                }
                "image" => {
                    let got = a.image.clone().unwrap_or_default();
                    (got == expected_str, got)
                }
                _ => unreachable!(),
            }
        }
    };
    let ok = if c.op == "!=" { !ok } else { ok };
    (
        Some(field),
        if ok { Status::Pass } else { Status::Fail(got) },
    )
}

/// Every check of every case.
pub fn run(corpus: &Path) -> Vec<CheckResult> {
    let dir = corpus.join("feedparser");
    let text = std::fs::read_to_string(dir.join("cases.jsonl")).unwrap();
    let now = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).unwrap();
        let bytes = std::fs::read(dir.join(&case.file)).unwrap();
        // where feedparser's own test server served it
        let url = case
            .document_url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:8097/tests/{}", case.file));
        let base = Url::parse(&url).unwrap();
        let content_type = case
            .http_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        let doc = newswire::parse::parse_feed(&bytes, content_type, &base, None)
            .ok()
            .map(|p| newswire::normalize::normalize(&p, &base, now));
        for c in &case.checks {
            let (field, status) = check(c, doc.as_ref());
            out.push(CheckResult {
                file: case.file.clone(),
                path: show_path(&c.path),
                field,
                expected: format!("{} {}", c.op, c.value),
                status,
            });
        }
    }
    out
}
