//! The conformance report (`conformance/REPORT.md`) and the reviewed explanations of the
//! differences that remain.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::cases::{CheckResult, Status};
use super::dates::DateResult;
use super::realworld::{FIELDS, Outcome};

/// Differences looked at one by one, where newswire is right or the two rules differ on
/// purpose: (file, field or "" for any, a substring of the entry's id or "" for any, the
/// reason).
const REVIEWED: &[(&str, &str, &str, &str)] = &[
    (
        "netnewswire/atp.rss",
        "authors",
        "",
        "feedparser adds the podcast's itunes:author (ATP) to each episode's authors; newswire keeps the episode's own author",
    ),
    (
        "netnewswire/cloudblog.rss",
        "authors",
        "",
        "each item carries an Atom-style <author><name>..</name></author> in RSS's own namespace; feed-rs reads RSS <author> as text only and finds none (not fixed yet)",
    ),
    (
        "netnewswire/macworld.rss",
        "categories",
        "",
        "the feed wraps its categories in a <categories> element RSS 2.0 does not have; feed-rs reads <category> only where RSS puts it",
    ),
    (
        "netnewswire/bio.rdf",
        "id",
        "",
        "RSS 1.0 rdf:about: feed-rs does not expose it, so newswire identifies the item by its link, the same URL",
    ),
    (
        "feed-rs/rss_1.0_biorxiv.xml",
        "id",
        "",
        "RSS 1.0 rdf:about: feed-rs does not expose it, so newswire identifies the item by its link, the same URL",
    ),
    (
        "feed-rs/rss_1.0_debian.xml",
        "id",
        "",
        "RSS 1.0 rdf:about: feed-rs does not expose it, so newswire identifies the item by its link, the same URL",
    ),
    (
        "feed-rs/atom_example_reddit.xml",
        "categories",
        "",
        "newswire shows an Atom category's label (r/rust) where it has one, feedparser the term (rust)",
    ),
    (
        "feed-rs/atom_mediarss_reddit_1.xml",
        "categories",
        "",
        "newswire shows an Atom category's label (r/homelab) where it has one, feedparser the term (homelab)",
    ),
    (
        "feed-rs/rss_2.0_reddit.xml",
        "categories",
        "",
        "newswire shows an Atom category's label (r/kevincox) where it has one, feedparser the term",
    ),
    (
        "feed-rs/rss_2.0_spreaker.xml",
        "categories",
        "",
        "feedparser turns itunes:keywords (search keywords) into tags; newswire keeps categories only",
    ),
    (
        "netnewswire/kc0011.rss",
        "published",
        "",
        "`2020/1/10 14:33:00` is 10 January (year/month/day, as Chinese sites write it); feedparser reads 1 November",
    ),
    (
        "netnewswire/kc0011.rss",
        "updated",
        "",
        "`2020/1/10 14:33:00` is 10 January (year/month/day, as Chinese sites write it); feedparser reads 1 November",
    ),
    (
        "feed-rs/rss_2.0_nbcny.xml",
        "published",
        "",
        "`Sat, Dec 16 2023 02:02:33 PM`: feedparser drops the PM, newswire reads 14:02:33",
    ),
    (
        "feed-rs/rss_2.0_nbcny.xml",
        "updated",
        "",
        "`Sat, Dec 16 2023 02:02:33 PM`: feedparser drops the PM, newswire reads 14:02:33",
    ),
    (
        "feed-rs/rss_2.0_ilmessaggero.xml",
        "published",
        "",
        "`mer, 16 nov 2022 00:38:15 +0100`: an Italian weekday; feedparser gives up, newswire skips the weekday",
    ),
    (
        "feed-rs/rss_2.0_ilmessaggero.xml",
        "updated",
        "",
        "`mer, 16 nov 2022 00:38:15 +0100`: an Italian weekday; feedparser gives up, newswire skips the weekday",
    ),
    (
        "netnewswire/scriptingNews.rss",
        "",
        "2017/06/25.html#a080631",
        "two items share one guid: newswire keeps one article per identity (the first), feedparser keeps both, and this is the second",
    ),
    (
        "netnewswire/scriptingNews.rss",
        "",
        "2017/06/24.html#a100632",
        "two items share one guid: newswire keeps one article per identity (the first), feedparser keeps both, and this is the second",
    ),
    (
        "netnewswire/OneFootTsunami.atom",
        "updated",
        "",
        "the entry's <updated> precedes its <published>; newswire never lets updated precede published",
    ),
    (
        "netnewswire/pappacoda.atom",
        "link",
        "",
        "the entry's only alternate link is a PDF (type application/pdf): newswire links to it, feedparser falls back to the id, which is no URL",
    ),
    (
        "feed-rs/rss_2.0_ghost_1.xml",
        "",
        "",
        "a test entry with no id, link, title or date: nothing to compare",
    ),
];

/// The reason for a reviewed difference, if it is one.
pub fn explain(file: &str, entry: &str, field: &str) -> Option<String> {
    REVIEWED
        .iter()
        .find(|(f, fld, fp, _)| {
            *f == file && (fld.is_empty() || *fld == field) && entry.contains(fp)
        })
        .map(|(_, _, _, why)| why.to_string())
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn cell(s: &str) -> String {
    let s: String = s.replace('|', "\\|").replace('\n', " ");
    if s.chars().count() > 90 {
        format!("{}…", s.chars().take(90).collect::<String>())
    } else {
        s
    }
}

/// The whole report as Markdown.
pub fn render(rw: &Outcome, dates: &[DateResult], cases: &[CheckResult]) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# Conformance report\n");
    let _ = writeln!(
        r,
        "Generated by `cargo run --release --example conformance` from `../shared/corpus`; \
         `cargo test --test conformance` asserts the same figures. Do not edit by hand.\n"
    );
    let _ = writeln!(r, "## Real feeds against feedparser 6.0.14\n");
    let _ = writeln!(
        r,
        "{} feeds served over loopback with a Content-Type that fits their format, polled through \
         the real pipeline (fetch, parse, normalize, store: {} entries stored) and compared with \
         feedparser's reading, entry by entry, matched by id, then link, then title. {} of {} \
         feedparser entries matched; newswire made {} articles.\n",
        rw.feeds, rw.stored_entries, rw.matched, rw.entries, rw.articles
    );
    let _ = writeln!(
        r,
        "Rules: titles and other text compare as plain text (newswire's model holds no markup in \
         titles, so feedparser's value is reduced to text before comparing); links compare as \
         parsed URLs; authors and categories as sets (categories case-insensitively, as newswire \
         folds them); `updated` falls back to `published` on both sides (feedparser's own \
         fallback); enclosure/media agrees when newswire's lead image is one of feedparser's \
         enclosure or media:content URLs, or when neither has an image (newswire keeps a lead \
         image, not audio or video enclosures). A difference is *explained* when it was looked \
         at and newswire is right or differs on purpose; the reason is in the list below. \
         **Agreement** leaves explained differences out of the count; **strict** counts them \
         as disagreements.\n"
    );
    let _ = writeln!(
        r,
        "| field | agree | explained | unexplained | agreement | strict |\n|---|---|---|---|---|---|"
    );
    for f in FIELDS {
        let t = &rw.tallies[f];
        let _ = writeln!(
            r,
            "| {f} | {} | {} | {} | {} | {} |",
            t.agree,
            t.explained,
            t.unexplained,
            pct(t.rate()),
            pct(t.strict_rate())
        );
    }
    let _ = writeln!(r, "\n### Why they differ, counted\n");
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &rw.differences {
        *reasons
            .entry(d.reason.as_deref().unwrap_or("**unexplained**"))
            .or_default() += 1;
    }
    let mut reasons: Vec<(&str, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (why, n) in reasons {
        let _ = writeln!(r, "- {n} × {why}");
    }
    let _ = writeln!(r, "\n### Every difference\n");
    if rw.differences.is_empty() {
        let _ = writeln!(r, "None.");
    } else {
        let _ = writeln!(
            r,
            "| feed | entry | field | feedparser | newswire | reason |\n|---|---|---|---|---|---|"
        );
        for d in &rw.differences {
            let _ = writeln!(
                r,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&d.file),
                cell(&d.entry),
                d.field,
                cell(&d.feedparser),
                cell(&d.newswire),
                d.reason
                    .as_deref()
                    .map(|r| r.replace('|', "\\|"))
                    .unwrap_or_else(|| "**unexplained**".into())
            );
        }
    }

    let _ = writeln!(r, "\n## Date strings (feedparser/date_cases.json)\n");
    let parsed = dates.iter().filter(|d| d.feedparser.is_some()).count();
    let same = dates
        .iter()
        .filter(|d| d.feedparser.is_some() && d.feedparser == d.newswire)
        .count();
    let nulls = dates.iter().filter(|d| d.feedparser.is_none()).count();
    let nulls_same = dates
        .iter()
        .filter(|d| d.feedparser.is_none() && d.newswire.is_none())
        .count();
    let _ = writeln!(
        r,
        "{} strings: feedparser parses {parsed}, newswire reads {same} of them to the same \
         instant; of the {nulls} feedparser rejects, newswire rejects {nulls_same}.\n",
        dates.len()
    );
    for d in dates.iter().filter(|d| d.feedparser != d.newswire) {
        let _ = writeln!(
            r,
            "- `{}` ({}): feedparser {:?}, newswire {:?}: {}",
            d.input,
            d.parser,
            d.feedparser.map(|t| t.to_rfc3339()),
            d.newswire.map(|t| t.to_rfc3339()),
            d.explained().unwrap_or("**unexplained**")
        );
    }

    let _ = writeln!(
        r,
        "\n## feedparser's parser cases (feedparser/cases.jsonl)\n"
    );
    let pass = cases.iter().filter(|c| c.status == Status::Pass).count();
    let na = cases
        .iter()
        .filter(|c| c.status == Status::NotApplicable)
        .count();
    let fail = cases.len() - pass - na;
    let _ = writeln!(
        r,
        "{} checks in 914 cases. Paths the article model has (entry title, link, id, author, \
         published, updated, tags, content, summary, image; feed title and link) are run against \
         newswire's reading; text compares as plain text. The rest (copyright, generator, \
         enclosures' lengths, xml:lang of each text, ...) are not applicable.\n",
        cases.len()
    );
    let _ = writeln!(
        r,
        "**{pass} pass, {fail} fail, {na} not applicable** (pass rate {} of the applicable checks).\n",
        pct(pass as f64 / (pass + fail).max(1) as f64)
    );
    let mut by_field: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in cases {
        if let Some(f) = c.field {
            let e = by_field.entry(f).or_default();
            if c.status == Status::Pass {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    let _ = writeln!(r, "| field | pass | fail |\n|---|---|---|");
    for (f, (p, x)) in &by_field {
        let _ = writeln!(r, "| {f} | {p} | {x} |");
    }
    let _ = writeln!(r, "\n### Failing checks\n");
    let _ = writeln!(
        r,
        "| case | path | expected | newswire |\n|---|---|---|---|"
    );
    for c in cases {
        if let Status::Fail(got) = &c.status {
            let _ = writeln!(
                r,
                "| {} | {} | {} | {} |",
                cell(c.file.trim_start_matches("wellformed/")),
                c.path,
                cell(&c.expected),
                cell(got)
            );
        }
    }
    r
}
