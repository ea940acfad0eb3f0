//! The merged feed as a subscriber sees it, served by the real `newswire` binary: named
//! views, full-text search, keyset paging, each entry's sources, feed-level metadata, HTTP
//! semantics, and the output files.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;

/// A client that asks for no compression, so that what it sees is what was sent.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    raw_client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

async fn body(url: &str) -> String {
    let r = get(url).await;
    assert_eq!(r.status(), 200, "GET {url}");
    r.text().await.unwrap()
}

async fn atom(url: &str) -> feed_rs::model::Feed {
    let b = body(url).await;
    feed_rs::parser::parse(b.as_bytes()).unwrap_or_else(|e| panic!("{url}: {e}\n{b}"))
}

async fn atom_raw(url: &str) -> atom_syndication::Feed {
    let b = body(url).await;
    atom_syndication::Feed::read_from(b.as_bytes()).unwrap_or_else(|e| panic!("{url}: {e}\n{b}"))
}

async fn rss_channel(url: &str) -> rss::Channel {
    let b = body(url).await;
    rss::Channel::read_from(b.as_bytes()).unwrap_or_else(|e| panic!("{url}: {e}\n{b}"))
}

async fn json(url: &str) -> serde_json::Value {
    let b = body(url).await;
    serde_json::from_str(&b).unwrap_or_else(|e| panic!("{url}: {e}\n{b}"))
}

fn rss_titles(c: &rss::Channel) -> Vec<String> {
    c.items()
        .iter()
        .map(|i| i.title().unwrap_or_default().to_string())
        .collect()
}

fn json_titles(j: &serde_json::Value) -> Vec<String> {
    j["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    sorted(v.iter().map(|s| s.to_string()).collect())
}

// ---------------------------------------------------------------------------------------------
// fixture feeds

struct Item<'a> {
    guid: &'a str,
    title: &'a str,
    link: &'a str,
    date: DateTime<Utc>,
    /// HTML body
    body: &'a str,
}

fn item<'a>(guid: &'a str, title: &'a str, date: DateTime<Utc>, body: &'a str) -> Item<'a> {
    Item {
        guid,
        title,
        link: "",
        date,
        body,
    }
}

fn rss_doc(title: &str, site: &str, lang: Option<&str>, items: &[Item]) -> String {
    let items: String = items
        .iter()
        .map(|i| {
            let link = if i.link.is_empty() {
                format!("{site}{}.html", i.guid)
            } else {
                i.link.to_string()
            };
            format!(
                "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link>\
                 <description><![CDATA[{}]]></description><pubDate>{}</pubDate></item>\n",
                i.guid,
                html_escape::encode_text(i.title),
                html_escape::encode_text(&link),
                i.body,
                i.date.to_rfc2822()
            )
        })
        .collect();
    let lang = lang
        .map(|l| format!("<language>{l}</language>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title>\
         <link>{site}</link><description>{title}</description>{lang}\n{items}</channel></rss>"
    )
}

/// The world of the views tests: three RSS feeds (one German) and one Atom feed whose
/// entries have a summary and a fuller body.
struct World {
    srv: FixtureServer,
    env: TestEnv,
}

const SITE_WW: &str = "https://worldwire.example.com/";
const SITE_BIZ: &str = "https://bizdaily.example.com/";
const SITE_OP: &str = "https://meinung.example.de/";
const SHARED_WW: &str = "https://news.example.com/shared.html?utm_source=worldwire";
const SHARED_BIZ: &str = "https://news.example.com/shared.html?utm_source=bizdaily";

fn science_atom() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Science Desk</title>
  <id>urn:science-desk</id>
  <updated>2025-06-02T04:00:00Z</updated>
  <link rel="alternate" href="https://science.example.org/"/>
  <entry>
    <title>Glacier study published</title>
    <id>urn:science-desk:glacier</id>
    <link rel="alternate" href="https://science.example.org/glacier.html"/>
    <published>2025-06-02T04:00:00Z</published>
    <updated>2025-06-02T04:00:00Z</updated>
    <summary type="text">Researchers measured the ice.</summary>
    <content type="html">{}</content>
  </entry>
</feed>"#,
        html_escape::encode_text(
            "<p>Researchers measured the ice above the <b>permafrost</b> line.</p>"
        )
    )
}

async fn world(extra: &str) -> World {
    let srv = FixtureServer::start().await;
    srv.set(
        "/world.xml",
        Route::rss(rss_doc(
            "World Wire",
            SITE_WW,
            Some("en"),
            &[
                item(
                    "w1",
                    "Moscow talks resume",
                    at(2025, 6, 2, 10, 0),
                    "<p>Envoys met again.</p>",
                ),
                item(
                    "w2",
                    "Harvest festival opens",
                    at(2025, 6, 2, 9, 0),
                    "<p>Crowds gathered.</p>",
                ),
                Item {
                    link: SHARED_WW,
                    ..item(
                        "ww-shared",
                        "Summit ends in Zürich",
                        at(2025, 6, 2, 8, 0),
                        "<p>Leaders left the lakeside city.</p>",
                    )
                },
                item(
                    "w3",
                    "West coast storms",
                    at(2025, 6, 2, 7, 30),
                    "<p>Heavy rain expected.</p>",
                ),
            ],
        )),
    );
    srv.set(
        "/biz.xml",
        Route::rss(rss_doc(
            "Biz Daily",
            SITE_BIZ,
            Some("en"),
            &[
                item(
                    "b1",
                    "Markets rally on Russia deal",
                    at(2025, 6, 2, 7, 0),
                    "<p>Stocks rose.</p>",
                ),
                Item {
                    link: SHARED_BIZ,
                    ..item(
                        "biz-shared",
                        "Summit ends in Zürich",
                        at(2025, 6, 2, 8, 30),
                        "<p>Leaders left the lakeside city.</p>",
                    )
                },
            ],
        )),
    );
    srv.set(
        "/opinion.xml",
        Route::rss(rss_doc(
            "Meinung",
            SITE_OP,
            Some("de"),
            &[
                item(
                    "o1",
                    "Kommentar: Russia and the West",
                    at(2025, 6, 2, 6, 0),
                    "<p>Eine Analyse.</p>",
                ),
                item(
                    "o2",
                    "Gartentipps",
                    at(2025, 6, 2, 5, 0),
                    "<p>Tomaten pflanzen.</p>",
                ),
            ],
        )),
    );
    srv.set("/science.xml", Route::atom(science_atom()));
    let env = TestEnv::new(&format!(
        "{extra}\n\
         [[feed]]\nname = \"world-wire\"\nurl = \"{}\"\ntags = [\"world\"]\n\n\
         [[feed]]\nname = \"biz-daily\"\nurl = \"{}\"\ntags = [\"business\"]\n\n\
         [[feed]]\nname = \"opinion\"\nurl = \"{}\"\ntags = [\"world\", \"opinion\"]\n\n\
         [[feed]]\nname = \"science\"\nurl = \"{}\"\ntags = [\"science\"]\n\n\
         [[view]]\nname = \"russia\"\ntitle = \"Russia watch\"\ntags = [\"world\"]\nquery = \"Russia OR Moscow\"\n\n\
         [[view]]\nname = \"wire-two\"\ntitle = \"Two from the wire\"\ntags = [\"world\"]\nfeeds = [\"world-wire\", \"biz-daily\"]\nlimit = 2\n\n\
         [[view]]\nname = \"biz\"\ntitle = \"Business only\"\nfeeds = [\"biz-daily\"]\n",
        srv.url("/world.xml"),
        srv.url("/biz.xml"),
        srv.url("/opinion.xml"),
        srv.url("/science.xml"),
    ));
    for s in env.poll().await {
        assert!(
            matches!(s.outcome, newswire::poll::Outcome::Updated { .. }),
            "{s}"
        );
    }
    World { srv, env }
}

const ALL_TITLES: &[&str] = &[
    "Moscow talks resume",
    "Harvest festival opens",
    "Summit ends in Zürich",
    "West coast storms",
    "Markets rally on Russia deal",
    "Kommentar: Russia and the West",
    "Gartentipps",
    "Glacier study published",
];

// ---------------------------------------------------------------------------------------------
// 1. named views

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_views_serve_exactly_their_stories_in_all_three_formats() {
    let w = world("").await;
    let d = Daemon::start(&w.env.config_path);

    let all = atom(&d.url("/feed.atom")).await;
    assert_eq!(
        sorted(titles(&all)),
        strs(ALL_TITLES),
        "the whole merged feed"
    );

    let cases: &[(&str, &str, &[&str])] = &[
        // tags = world (world-wire, opinion) AND the query: not the business story
        (
            "russia",
            "Russia watch",
            &["Moscow talks resume", "Kommentar: Russia and the West"],
        ),
        // tags = world AND feeds = [world-wire, biz-daily] is world-wire alone; limit 2, newest
        (
            "wire-two",
            "Two from the wire",
            &["Moscow talks resume", "Harvest festival opens"],
        ),
        // the shared story is in the view through its Biz Daily copy
        (
            "biz",
            "Business only",
            &["Markets rally on Russia deal", "Summit ends in Zürich"],
        ),
    ];
    for (name, title, want) in cases {
        let want = strs(want);
        let a = atom(&d.url(&format!("/views/{name}.atom"))).await;
        assert_eq!(sorted(titles(&a)), want, "/views/{name}.atom");
        assert_eq!(
            a.title.as_ref().unwrap().content,
            *title,
            "{name} Atom title"
        );

        let r = rss_channel(&d.url(&format!("/views/{name}.rss"))).await;
        assert_eq!(sorted(rss_titles(&r)), want, "/views/{name}.rss");
        assert_eq!(r.title(), *title, "{name} RSS title");

        let j = json(&d.url(&format!("/views/{name}.json"))).await;
        assert_eq!(sorted(json_titles(&j)), want, "/views/{name}.json");
        assert_eq!(j["title"], *title, "{name} JSON title");
    }
    // newest first within a view
    let two = atom(&d.url("/views/wire-two.atom")).await;
    assert_eq!(
        titles(&two),
        ["Moscow talks resume", "Harvest festival opens"]
    );

    for path in [
        "/views/nope.atom",
        "/views/nope.rss",
        "/views/nope.json",
        "/views/nope",
    ] {
        let r = get(&d.url(path)).await;
        assert_eq!(r.status(), 404, "{path}");
        let msg = r.text().await.unwrap();
        assert!(msg.contains("nope"), "{path}: {msg}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. full-text search

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_titles_bodies_and_ignores_diacritics() {
    let w = world("").await;
    let d = Daemon::start(&w.env.config_path);
    let q = |path: &str, q: &str| {
        format!(
            "{path}?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .finish()
        )
    };

    // in the title
    let f = atom(&d.url(&q("/feed.atom", "festival"))).await;
    assert_eq!(titles(&f), ["Harvest festival opens"]);
    // a word that is only in the content HTML (not in the title or summary)
    let f = atom(&d.url(&q("/feed.atom", "permafrost"))).await;
    assert_eq!(titles(&f), ["Glacier study published"]);
    // in the RSS description (the body)
    let f = atom(&d.url(&q("/feed.atom", "lakeside"))).await;
    assert_eq!(titles(&f), ["Summit ends in Zürich"]);
    // diacritics-insensitive both ways
    let f = atom(&d.url(&q("/feed.atom", "Zurich"))).await;
    assert_eq!(titles(&f), ["Summit ends in Zürich"]);
    let f = atom(&d.url(&q("/feed.atom", "zürich"))).await;
    assert_eq!(titles(&f), ["Summit ends in Zürich"]);
    // FTS5 syntax: OR, prefix
    let f = atom(&d.url(&q("/feed.atom", "storms OR Gartentipps"))).await;
    assert_eq!(
        sorted(titles(&f)),
        strs(&["West coast storms", "Gartentipps"])
    );
    let f = atom(&d.url(&q("/feed.atom", "harv*"))).await;
    assert_eq!(titles(&f), ["Harvest festival opens"]);
    // the same in the other formats
    let r = rss_channel(&d.url(&q("/feed.rss", "Zurich"))).await;
    assert_eq!(rss_titles(&r), ["Summit ends in Zürich"]);
    let j = json(&d.url(&q("/feed.json", "permafrost"))).await;
    assert_eq!(json_titles(&j), ["Glacier study published"]);
    // nothing matches: an empty feed, not an error
    let f = atom(&d.url(&q("/feed.atom", "xylophone"))).await;
    assert!(f.entries.is_empty());

    // with a view, ?q= and the view's query must both match
    let f = atom(&d.url(&q("/feed.atom", "West"))).await;
    assert_eq!(
        sorted(titles(&f)),
        strs(&["West coast storms", "Kommentar: Russia and the West"])
    );
    let f = atom(&d.url(&q("/views/russia.atom", "West"))).await;
    assert_eq!(titles(&f), ["Kommentar: Russia and the West"]);
    let f = atom(&d.url(&q("/views/russia.atom", "festival"))).await;
    assert!(f.entries.is_empty(), "{:?}", titles(&f));
    let j = json(&d.url(&q("/views/russia.json", "talks"))).await;
    assert_eq!(json_titles(&j), ["Moscow talks resume"]);

    // what used to be bad FTS5 syntax is words: every format answers 200, and the words
    // that can be searched for are (every case is tried, and all that fail are reported)
    let mut wrong = Vec::new();
    for (input, must_not) in [
        ("AND OR (", None),
        ("NEAR(a b", None),
        ("x OR", None),
        ("\"unterminated", None),
        ("-festival", Some("Harvest festival opens")),
        ("*", None),
    ] {
        for path in [
            "/feed.atom",
            "/feed.rss",
            "/feed.json",
            "/views/russia.atom",
        ] {
            let url = d.url(&q(path, input));
            let r = get(&url).await;
            let status = r.status();
            let body = r.text().await.unwrap();
            if status != 200 || body.to_lowercase().contains("fts5") {
                wrong.push(format!("{path} q={input:?} -> {status}: {}", body.trim()));
            }
            if let Some(t) = must_not.filter(|t| body.contains(t)) {
                wrong.push(format!("{path} q={input:?} still shows {t}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a search is never a syntax error:\n{}",
        wrong.join("\n")
    );
    let f = atom(&d.url(&q("/feed.atom", "-festival"))).await;
    assert!(!f.entries.is_empty() && !titles(&f).contains(&"Harvest festival opens".to_string()));
}

/// `newswire check --config <path>`.
fn check_config(path: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["check", "--config"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn a_bad_view_query_is_a_config_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.toml");
    std::fs::write(
        &path,
        "database = \"n.db\"\n\
         [[feed]]\nname = \"a\"\nurl = \"https://example.com/feed.xml\"\n\
         [[view]]\nname = \"v\"\nquery = \"AND OR (\"\n",
    )
    .unwrap();
    let out = check_config(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "check accepted a bad query: {stderr}"
    );
    // `query = "...` is on line 7; the value starts at column 9
    assert!(
        stderr.contains("newswire.toml:7:9:") && stderr.contains("view.query"),
        "{stderr}"
    );
    assert!(stderr.contains("words to search for"), "{stderr}");

    // a good one passes
    std::fs::write(
        &path,
        "database = \"n.db\"\n\
         [[feed]]\nname = \"a\"\nurl = \"https://example.com/feed.xml\"\n\
         [[view]]\nname = \"v\"\nquery = \"Russia OR Moscow\"\n",
    )
    .unwrap();
    let out = check_config(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// 3. paging

/// Eight stories; three of them share one publication time, so that a page boundary falls
/// inside the tie.
fn paged_items(extra_newer: usize) -> String {
    let mut owned: Vec<(String, String, DateTime<Utc>)> = Vec::new();
    for n in (1..=extra_newer).rev() {
        owned.push((
            format!("new{n}"),
            format!("Breaking {n}"),
            at(2025, 6, 3, 8, 0) + chrono::Duration::minutes(n as i64),
        ));
    }
    let base = at(2025, 6, 2, 12, 0);
    let hours = [0, 1, 2, 3, 3, 3, 5, 6];
    for (i, h) in hours.iter().enumerate() {
        owned.push((
            format!("s{}", i + 1),
            format!("Story {}", i + 1),
            base - chrono::Duration::hours(*h),
        ));
    }
    let items: Vec<Item> = owned
        .iter()
        .map(|(g, t, d)| item(g, t, *d, "<p>Body.</p>"))
        .collect();
    rss_doc("Paged", "https://paged.example.com/", Some("en"), &items)
}

fn original_eight() -> Vec<String> {
    (1..=8).map(|i| format!("Story {i}")).collect()
}

fn link_rel<'a>(f: &'a feed_rs::model::Feed, rel: &str) -> Option<&'a str> {
    f.links
        .iter()
        .find(|l| l.rel.as_deref() == Some(rel))
        .map(|l| l.href.as_str())
}

/// Follows `rel="next"` from `first` to the end; returns every page's entries.
async fn walk_atom(first: &str) -> Vec<Vec<(String, DateTime<Utc>)>> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        assert!(pages.len() < 20, "paging does not end");
        let f = atom(&url).await;
        next = link_rel(&f, "next").map(str::to_string);
        assert_eq!(
            link_rel(&f, "prev-archive").map(str::to_string),
            next,
            "RFC 5005 prev-archive goes with next on {url}"
        );
        pages.push(
            f.entries
                .iter()
                .map(|e| {
                    (
                        e.title.as_ref().unwrap().content.clone(),
                        e.published.expect("published"),
                    )
                })
                .collect(),
        );
    }
    pages
}

fn check_walk(pages: &[Vec<(String, DateTime<Utc>)>], want: &[String], page_sizes: &[usize]) {
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, page_sizes, "page sizes; pages {pages:?}");
    let seen: Vec<&(String, DateTime<Utc>)> = pages.iter().flatten().collect();
    let names: Vec<String> = seen.iter().map(|(t, _)| t.clone()).collect();
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "a story repeated: {names:?}");
    assert_eq!(sorted(names.clone()), sorted(want.to_vec()), "{names:?}");
    for pair in seen.windows(2) {
        assert!(pair[0].1 >= pair[1].1, "not newest first: {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_walks_every_story_once_newest_first() {
    let srv = FixtureServer::start().await;
    srv.set("/paged.xml", Route::rss(paged_items(0)));
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"paged\"\nurl = \"{}\"\ntags = [\"p\"]\n\n\
         [[view]]\nname = \"three\"\ntitle = \"Three a page\"\ntags = [\"p\"]\nlimit = 3\n",
        srv.url("/paged.xml")
    ));
    env.poll().await;
    let d = Daemon::start(&env.config_path);

    // limit 3: 3 + 3 + 2; the boundary after story 3 splits the three-way tie
    let pages = walk_atom(&d.url("/feed.atom?limit=3")).await;
    check_walk(&pages, &original_eight(), &[3, 3, 2]);
    // a view's own limit pages the same way, and its next links stay in the view
    let pages = walk_atom(&d.url("/views/three.atom")).await;
    check_walk(&pages, &original_eight(), &[3, 3, 2]);
    // exactly divisible: the last full page has no next link to an empty page
    let pages = walk_atom(&d.url("/feed.atom?limit=4")).await;
    check_walk(&pages, &original_eight(), &[4, 4]);
    // everything on one page: no next link at all
    let f = atom(&d.url("/feed.atom?limit=8")).await;
    assert_eq!(f.entries.len(), 8);
    assert_eq!(link_rel(&f, "next"), None);
    assert_eq!(link_rel(&f, "prev-archive"), None);

    // JSON Feed: next_url
    let mut url = Some(d.url("/feed.json?limit=3"));
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    while let Some(u) = url {
        assert!(sizes.len() < 20, "paging does not end");
        let j = json(&u).await;
        let t = json_titles(&j);
        sizes.push(t.len());
        seen.extend(t);
        url = j
            .get("next_url")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    assert_eq!(sizes, [3, 3, 2]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 8, "{seen:?}");
    assert_eq!(sorted(seen), sorted(original_eight()));

    // RSS carries an atom:link rel="next" too, and it leads to the same second page
    let r = rss_channel(&d.url("/feed.rss?limit=3")).await;
    let next = r
        .atom_ext()
        .and_then(|a| a.links().iter().find(|l| l.rel() == "next"))
        .map(|l| l.href().to_string())
        .expect("RSS next link");
    let page2 = rss_channel(&next).await;
    let atom2 = walk_atom(&d.url("/feed.atom?limit=3")).await;
    let atom2: Vec<String> = atom2[1].iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(rss_titles(&page2), atom2);

    // a cursor newswire did not make
    for bad in ["yesterday", "123", "abc_12", "1700000000_x", "_"] {
        for path in ["/feed.atom", "/feed.json", "/views/three.rss"] {
            let url = d.url(&format!("{path}?before={bad}"));
            let r = get(&url).await;
            let status = r.status();
            let msg = r.text().await.unwrap();
            assert_eq!(status, 400, "{url}: {msg}");
            assert!(msg.contains("before"), "{url}: {msg}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_is_stable_when_newer_stories_arrive_between_pages() {
    let srv = FixtureServer::start().await;
    srv.set("/paged.xml", Route::rss(paged_items(0)));
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"paged\"\nurl = \"{}\"\n",
        srv.url("/paged.xml")
    ));
    env.poll().await;
    let d = Daemon::start(&env.config_path);

    let page1 = atom(&d.url("/feed.atom?limit=3")).await;
    let first: Vec<String> = titles(&page1);
    assert_eq!(first, ["Story 1", "Story 2", "Story 3"]);
    let next = link_rel(&page1, "next").expect("a next link").to_string();
    let jpage1 = json(&d.url("/feed.json?limit=3")).await;
    let jnext = jpage1["next_url"].as_str().expect("next_url").to_string();

    // the feed gains four newer stories, and they are stored
    srv.set("/paged.xml", Route::rss(paged_items(4)));
    let summaries = env.poll().await;
    assert!(
        matches!(
            summaries[0].outcome,
            newswire::poll::Outcome::Updated { .. }
        ),
        "{}",
        summaries[0]
    );
    let now_first = atom(&d.url("/feed.atom?limit=3")).await;
    assert_eq!(
        titles(&now_first),
        ["Breaking 4", "Breaking 3", "Breaking 2"]
    );

    // following page 1's next link still yields exactly the rest of the original set
    let rest = walk_atom(&next).await;
    let mut all: Vec<Vec<(String, DateTime<Utc>)>> = vec![
        page1
            .entries
            .iter()
            .map(|e| {
                (
                    e.title.as_ref().unwrap().content.clone(),
                    e.published.unwrap(),
                )
            })
            .collect(),
    ];
    all.extend(rest);
    check_walk(&all, &original_eight(), &[3, 3, 2]);

    let mut seen = json_titles(&jpage1);
    let mut url = Some(jnext);
    while let Some(u) = url {
        let j = json(&u).await;
        seen.extend(json_titles(&j));
        url = j
            .get("next_url")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");
    assert_eq!(sorted(seen), sorted(original_eight()));
}

// ---------------------------------------------------------------------------------------------
// 4. sources

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entry_names_its_sources() {
    let w = world("").await;
    let d = Daemon::start(&w.env.config_path);
    let (ww_url, biz_url) = (w.srv.url("/world.xml"), w.srv.url("/biz.xml"));

    // Atom <source> with the feed's title, id and link
    let a = atom_raw(&d.url("/feed.atom")).await;
    assert_eq!(a.entries.len(), ALL_TITLES.len());
    for e in &a.entries {
        let s = e
            .source
            .as_ref()
            .unwrap_or_else(|| panic!("{} has no <source>", e.title.value));
        assert!(!s.title.value.is_empty(), "{}", e.title.value);
        assert!(!s.id.is_empty(), "{}", e.title.value);
        assert!(!s.links.is_empty(), "{}", e.title.value);
    }
    let moscow = a
        .entries
        .iter()
        .find(|e| e.title.value == "Moscow talks resume")
        .unwrap();
    let s = moscow.source.as_ref().unwrap();
    assert_eq!(s.title.value, "World Wire");
    assert_eq!(s.id, ww_url);
    assert!(
        s.links.iter().any(|l| l.href == ww_url && l.rel == "self"),
        "{:?}",
        s.links
    );
    assert!(
        s.links
            .iter()
            .any(|l| l.href == SITE_WW && l.rel == "alternate"),
        "{:?}",
        s.links
    );
    let glacier = a
        .entries
        .iter()
        .find(|e| e.title.value == "Glacier study published")
        .unwrap();
    assert_eq!(glacier.source.as_ref().unwrap().title.value, "Science Desk");

    // RSS <source url="...">title</source>
    let r = rss_channel(&d.url("/feed.rss")).await;
    for i in r.items() {
        assert!(i.source().is_some(), "{:?} has no <source>", i.title());
    }
    let b1 = r
        .items()
        .iter()
        .find(|i| i.title() == Some("Markets rally on Russia deal"))
        .unwrap();
    assert_eq!(b1.source().unwrap().url(), biz_url);
    assert_eq!(b1.source().unwrap().title(), Some("Biz Daily"));

    // JSON Feed: every copy of the shared story, with each feed's own link to it
    let j = json(&d.url("/feed.json")).await;
    let items = j["items"].as_array().unwrap();
    let shared: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| i["title"] == "Summit ends in Zürich")
        .collect();
    assert_eq!(shared.len(), 1, "the shared story is one story");
    let sources = shared[0]["_newswire"]["sources"]
        .as_array()
        .expect("_newswire.sources");
    assert_eq!(sources.len(), 2, "{sources:?}");
    let by_name = |n: &str| {
        sources
            .iter()
            .find(|s| s["name"] == n)
            .unwrap_or_else(|| panic!("no source {n}: {sources:?}"))
    };
    let ww = by_name("world-wire");
    assert_eq!(ww["title"], "World Wire");
    assert_eq!(ww["feed_url"], ww_url.as_str());
    assert_eq!(ww["link"], SHARED_WW);
    let biz = by_name("biz-daily");
    assert_eq!(biz["title"], "Biz Daily");
    assert_eq!(biz["feed_url"], biz_url.as_str());
    assert_eq!(biz["link"], SHARED_BIZ);
    // a story only one feed carried has one source
    let solo = items.iter().find(|i| i["title"] == "Gartentipps").unwrap();
    let solo = solo["_newswire"]["sources"].as_array().unwrap();
    assert_eq!(solo.len(), 1);
    assert_eq!(solo[0]["name"], "opinion");
    assert_eq!(solo[0]["title"], "Meinung");

    // Atom: the shared story's other copy is linked
    let shared_atom = a
        .entries
        .iter()
        .find(|e| e.title.value == "Summit ends in Zürich")
        .unwrap();
    let hrefs: Vec<&str> = shared_atom.links.iter().map(|l| l.href.as_str()).collect();
    assert!(
        hrefs.contains(&SHARED_WW) || hrefs.contains(&SHARED_BIZ),
        "{hrefs:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. feed-level metadata

const OUTPUT_EXTRAS: &str = "[output]\ntitle = \"My River\"\n\
     icon = \"https://cdn.example.net/icon.png\"\n\
     logo = \"https://cdn.example.net/logo.png\"\n\
     hub = \"https://hub.example.net/\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_level_links_metadata_and_dates() {
    let started = Utc::now() - chrono::Duration::seconds(1);
    let w = world(OUTPUT_EXTRAS).await;
    let d = Daemon::start(&w.env.config_path);

    // Atom
    let url = d.url("/feed.atom");
    let raw = body(&url).await;
    let a = atom_syndication::Feed::read_from(raw.as_bytes()).unwrap();
    assert_eq!(a.title.value, "My River");
    let rel = |rel: &str| -> Vec<&str> {
        a.links
            .iter()
            .filter(|l| l.rel == rel)
            .map(|l| l.href.as_str())
            .collect()
    };
    assert_eq!(rel("self"), [url.as_str()]);
    assert_eq!(rel("alternate"), [d.url("/").as_str()]);
    assert_eq!(rel("hub"), ["https://hub.example.net/"]);
    assert_eq!(a.icon.as_deref(), Some("https://cdn.example.net/icon.png"));
    assert_eq!(a.logo.as_deref(), Some("https://cdn.example.net/logo.png"));
    // German and English sources: no feed language
    assert_eq!(a.lang, None, "mixed languages");
    // updated = the newest change, i.e. when the stories were stored (after every entry date)
    let updated = a.updated.with_timezone(&Utc);
    let newest_entry = a
        .entries
        .iter()
        .map(|e| e.updated.with_timezone(&Utc))
        .max()
        .unwrap();
    assert!(updated >= newest_entry, "{updated} < {newest_entry}");
    assert!(
        updated >= started.with_timezone(&Utc) - chrono::Duration::seconds(1)
            && updated <= Utc::now(),
        "feed updated {updated} is not when the poll stored the stories"
    );
    // RFC 3339 in the document itself
    for tag in ["updated", "published"] {
        let mut n = 0;
        for part in raw.split(&format!("<{tag}>")).skip(1) {
            let v = part.split('<').next().unwrap();
            DateTime::parse_from_rfc3339(v)
                .unwrap_or_else(|e| panic!("<{tag}>{v}</{tag}> is not RFC 3339: {e}"));
            n += 1;
        }
        assert!(n > 0, "no <{tag}>");
    }
    let moscow = a
        .entries
        .iter()
        .find(|e| e.title.value == "Moscow talks resume")
        .unwrap();
    assert_eq!(
        moscow.published.unwrap().with_timezone(&Utc),
        at(2025, 6, 2, 10, 0)
    );
    // the page and the feed agree on the validator
    let lm = get(&url).await.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        httpdate::parse_http_date(&lm).unwrap(),
        std::time::SystemTime::from(updated),
        "Last-Modified is the feed's updated"
    );

    // one language everywhere: the feed says so, in all three formats
    let en = atom_raw(&d.url("/feed.atom?feed=world-wire")).await;
    assert_eq!(en.lang.as_deref(), Some("en"));
    let de = atom_raw(&d.url("/feed.atom?feed=opinion")).await;
    assert_eq!(de.lang.as_deref(), Some("de"));
    let r = rss_channel(&d.url("/feed.rss?tag=business")).await;
    assert_eq!(r.language(), Some("en"));
    let r_all = rss_channel(&d.url("/feed.rss")).await;
    assert_eq!(r_all.language(), None);
    let j = json(&d.url("/feed.json?feed=world-wire")).await;
    assert_eq!(j["language"], "en");
    let j_all = json(&d.url("/feed.json")).await;
    assert!(j_all.get("language").is_none(), "{}", j_all["language"]);

    // RSS: self/next/hub atom:links, channel link to the page, image, RFC 822 dates
    let rss_url = d.url("/feed.rss");
    let rss_raw = body(&rss_url).await;
    let r = rss::Channel::read_from(rss_raw.as_bytes()).unwrap();
    assert_eq!(r.title(), "My River");
    assert_eq!(r.link(), d.url("/"));
    let links = r.atom_ext().expect("atom:link").links();
    assert!(
        links
            .iter()
            .any(|l| l.rel() == "self" && l.href() == rss_url),
        "{links:?}"
    );
    assert!(
        links
            .iter()
            .any(|l| l.rel() == "hub" && l.href() == "https://hub.example.net/"),
        "{links:?}"
    );
    assert!(r.image().is_some(), "logo as the channel image");
    for i in r.items() {
        let p = i.pub_date().expect("pubDate");
        DateTime::parse_from_rfc2822(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    }
    let m = r
        .items()
        .iter()
        .find(|i| i.title() == Some("Moscow talks resume"))
        .unwrap();
    assert_eq!(
        DateTime::parse_from_rfc2822(m.pub_date().unwrap()).unwrap(),
        at(2025, 6, 2, 10, 0)
    );
    let lbd = r.last_build_date().expect("lastBuildDate");
    assert_eq!(DateTime::parse_from_rfc2822(lbd).unwrap(), updated);

    // JSON Feed
    let json_url = d.url("/feed.json");
    let j = json(&json_url).await;
    assert_eq!(j["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(j["title"], "My River");
    assert_eq!(j["feed_url"], json_url.as_str());
    assert_eq!(j["home_page_url"], d.url("/").as_str());
    assert_eq!(j["icon"], "https://cdn.example.net/icon.png");
    assert_eq!(j["hubs"][0]["url"], "https://hub.example.net/");
    for i in j["items"].as_array().unwrap() {
        for k in ["date_published", "date_modified"] {
            let v = i[k].as_str().unwrap_or_else(|| panic!("{k} missing: {i}"));
            DateTime::parse_from_rfc3339(v).unwrap_or_else(|e| panic!("{k} {v}: {e}"));
        }
    }
    let m = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Moscow talks resume")
        .unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(m["date_published"].as_str().unwrap()).unwrap(),
        at(2025, 6, 2, 10, 0)
    );

    // a view's self and alternate links point at the view
    let v_url = d.url("/views/russia.atom");
    let v = atom_raw(&v_url).await;
    let vrel = |rel: &str| -> Vec<String> {
        v.links
            .iter()
            .filter(|l| l.rel == rel)
            .map(|l| l.href.clone())
            .collect()
    };
    assert_eq!(vrel("self"), std::slice::from_ref(&v_url));
    assert_eq!(vrel("alternate"), [d.url("/views/russia")]);
    // the view's id differs from the whole feed's
    assert_ne!(v.id, a.id);

    // without [output] hub/icon/logo, none are advertised
    drop(d);
    let plain = world("").await;
    let d = Daemon::start(&plain.env.config_path);
    let a = atom_raw(&d.url("/feed.atom")).await;
    assert!(a.links.iter().all(|l| l.rel != "hub"), "{:?}", a.links);
    assert_eq!(a.icon, None);
    assert_eq!(a.logo, None);
}

// ---------------------------------------------------------------------------------------------
// 6. HTTP

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_content_types_validators_gzip_head_and_cors() {
    let w = world("").await;
    let d = Daemon::start(&w.env.config_path);
    let client = raw_client();
    let formats = [
        ("/feed.atom", "application/atom+xml"),
        ("/feed.rss", "application/rss+xml"),
        ("/feed.json", "application/feed+json"),
        ("/views/russia.atom", "application/atom+xml"),
        ("/views/russia.rss", "application/rss+xml"),
        ("/views/russia.json", "application/feed+json"),
        ("/feed.atom?q=Zurich", "application/atom+xml"),
    ];
    for (path, mime) in formats {
        let url = d.url(path);
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers().clone();
        let ct = h["content-type"].to_str().unwrap();
        assert!(ct.starts_with(mime), "{path}: {ct}");
        let etag = h
            .get("etag")
            .unwrap_or_else(|| panic!("{path}: no ETag"))
            .to_str()
            .unwrap()
            .to_string();
        let lm = h
            .get("last-modified")
            .unwrap_or_else(|| panic!("{path}: no Last-Modified"))
            .to_str()
            .unwrap()
            .to_string();
        httpdate::parse_http_date(&lm).unwrap_or_else(|e| panic!("{path}: {lm}: {e}"));
        assert_eq!(
            h.get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*"),
            "{path}: CORS"
        );
        assert_eq!(
            h.get("content-encoding"),
            None,
            "{path}: not asked for gzip"
        );
        let plain_body = r.bytes().await.unwrap();
        assert!(!plain_body.is_empty());

        // the same again: the same validator
        let again = client.get(&url).send().await.unwrap();
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag, "{path}");

        // conditional requests
        let cond = client
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(cond.status(), 304, "{path}: If-None-Match");
        assert_eq!(cond.headers()["etag"].to_str().unwrap(), etag);
        assert!(cond.bytes().await.unwrap().is_empty());
        let cond = client
            .get(&url)
            .header("If-None-Match", "\"something-else\"")
            .send()
            .await
            .unwrap();
        assert_eq!(cond.status(), 200, "{path}: a stale ETag gets the feed");
        let cond = client
            .get(&url)
            .header("If-Modified-Since", &lm)
            .send()
            .await
            .unwrap();
        assert_eq!(cond.status(), 304, "{path}: If-Modified-Since");

        // gzip when asked
        let gz = client
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gz.status(), 200);
        assert_eq!(
            gz.headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{path}"
        );
        assert_eq!(
            gz.headers()
                .get("access-control-allow-origin")
                .map(|v| v.to_str().unwrap()),
            Some("*")
        );
        let zipped = gz.bytes().await.unwrap();
        assert_eq!(&zipped[..2], &[0x1f, 0x8b], "{path}: a gzip stream");
        assert_ne!(zipped, plain_body);
        // a client that decompresses gets the same document
        let unzipped = reqwest::Client::builder()
            .build()
            .unwrap()
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(unzipped, plain_body, "{path}: gzip round trip");

        // HEAD: the headers, no body
        let head = client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}: HEAD");
        assert!(
            head.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(mime)
        );
        assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);
        assert!(head.headers().contains_key("last-modified"));
        assert!(head.bytes().await.unwrap().is_empty(), "{path}: HEAD body");
    }
    // the parsed gzip body is a feed (decompression by a real client)
    let f = reqwest::Client::new()
        .get(d.url("/feed.atom"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        feed_rs::parser::parse(&f[..]).unwrap().entries.len(),
        ALL_TITLES.len()
    );

    // errors are plain text with the right status
    for (path, status) in [
        ("/feed.atom?feed=nope", 404),
        ("/feed.atom?tag=nope", 404),
        ("/views/nope.json", 404),
        ("/feed.atom?limit=0", 400),
        ("/feed.atom?limit=many", 400),
        ("/feed.json?before=soon", 400),
    ] {
        let r = client.get(d.url(path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. output files

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_files_are_written_after_a_poll_and_not_rewritten_when_unchanged() {
    use std::os::unix::fs::MetadataExt;
    let srv = FixtureServer::start().await;
    // no ETag: the second poll downloads and parses the same document again
    let doc = rss_doc(
        "Files",
        "https://files.example.com/",
        Some("en"),
        &[
            item("f1", "First filed", at(2025, 6, 2, 10, 0), "<p>One.</p>"),
            item("f2", "Second filed", at(2025, 6, 2, 9, 0), "<p>Two.</p>"),
        ],
    );
    srv.set(
        "/files.xml",
        Route {
            etag: false,
            ..Route::rss(doc)
        },
    );
    let env = TestEnv::new(&format!(
        "[output]\nfile = \"out/merged.atom\"\nrss_file = \"out/merged.rss\"\njson_file = \"out/merged.json\"\n\n\
         [[feed]]\nname = \"files\"\nurl = \"{}\"\n",
        srv.url("/files.xml")
    ));
    let poll = |env: &TestEnv| {
        let out = Command::new(BIN)
            .args(["poll", "--config"])
            .arg(&env.config_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // the fixture server runs on this runtime: poll from a blocking thread
    let env = Arc::new(env);
    {
        let env = Arc::clone(&env);
        tokio::task::spawn_blocking(move || poll(&env))
            .await
            .unwrap();
    }
    let out = env.dir.path().join("out");
    let atom_bytes = std::fs::read(out.join("merged.atom")).expect("Atom file written");
    let f = feed_rs::parser::parse(&atom_bytes[..]).expect("the Atom file parses");
    assert_eq!(sorted(titles(&f)), strs(&["First filed", "Second filed"]));
    let rss_bytes = std::fs::read(out.join("merged.rss")).expect("RSS file written");
    let c = rss::Channel::read_from(&rss_bytes[..]).expect("the RSS file parses");
    assert_eq!(
        sorted(rss_titles(&c)),
        strs(&["First filed", "Second filed"])
    );
    let json_bytes = std::fs::read(out.join("merged.json")).expect("JSON file written");
    let j: serde_json::Value = serde_json::from_slice(&json_bytes).expect("the JSON file parses");
    assert_eq!(
        sorted(json_titles(&j)),
        strs(&["First filed", "Second filed"])
    );
    let stamp = |name: &str| {
        let m = std::fs::metadata(out.join(name)).unwrap();
        (m.ino(), m.mtime(), m.mtime_nsec())
    };
    let before: Vec<_> = ["merged.atom", "merged.rss", "merged.json"]
        .iter()
        .map(|n| stamp(n))
        .collect();

    // a second poll a little later that brings nothing new
    tokio::time::sleep(Duration::from_millis(1100)).await;
    {
        let env = Arc::clone(&env);
        tokio::task::spawn_blocking(move || poll(&env))
            .await
            .unwrap();
    }
    assert_eq!(srv.hits("/files.xml"), 2, "both polls fetched the feed");
    let after: Vec<_> = ["merged.atom", "merged.rss", "merged.json"]
        .iter()
        .map(|n| stamp(n))
        .collect();
    assert_eq!(before, after, "unchanged output files were rewritten");
    assert_eq!(std::fs::read(out.join("merged.atom")).unwrap(), atom_bytes);

    // a new story: all three are rewritten
    srv.set(
        "/files.xml",
        Route {
            etag: false,
            ..Route::rss(rss_doc(
                "Files",
                "https://files.example.com/",
                Some("en"),
                &[
                    item("f3", "Third filed", at(2025, 6, 2, 11, 0), "<p>Three.</p>"),
                    item("f1", "First filed", at(2025, 6, 2, 10, 0), "<p>One.</p>"),
                    item("f2", "Second filed", at(2025, 6, 2, 9, 0), "<p>Two.</p>"),
                ],
            ))
        },
    );
    {
        let env = Arc::clone(&env);
        tokio::task::spawn_blocking(move || poll(&env))
            .await
            .unwrap();
    }
    let f = feed_rs::parser::parse(&std::fs::read(out.join("merged.atom")).unwrap()[..]).unwrap();
    assert_eq!(titles(&f)[0], "Third filed");
    let c = rss::Channel::read_from(&std::fs::read(out.join("merged.rss")).unwrap()[..]).unwrap();
    assert_eq!(rss_titles(&c)[0], "Third filed");
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("merged.json")).unwrap()).unwrap();
    assert_eq!(json_titles(&j)[0], "Third filed");
    // no temporary files left behind
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["merged.atom", "merged.json", "merged.rss"]);
}
