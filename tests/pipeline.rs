mod common;
use common::*;

// End-to-end tests of the pipeline: fixture feeds served over real HTTP, polled through the
// real fetch -> parse -> normalize -> store path, and checked as a subscriber of the merged
// feed sees them.

use chrono::{DateTime, Duration, Utc};
use newswire::poll::{Outcome, PollSummary};
use newswire::publish::{self, MergedEntry, MergedFeed, PublishError, View};
use newswire::store::ApplyStats;

fn feed_toml(name: &str, url: &str, extra: &str) -> String {
    format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n")
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// The merged entry whose title contains `needle` (exactly one).
fn entry<'a>(feed: &'a MergedFeed, needle: &str) -> &'a MergedEntry {
    let found: Vec<&MergedEntry> = feed
        .entries
        .iter()
        .filter(|e| e.title.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one entry titled *{needle}*, got {:#?}",
        feed.entries.iter().map(|e| &e.title).collect::<Vec<_>>()
    );
    found[0]
}

fn titles(feed: &MergedFeed) -> Vec<String> {
    feed.entries.iter().map(|e| e.title.clone()).collect()
}

fn stats(s: &PollSummary) -> (ApplyStats, usize) {
    match &s.outcome {
        Outcome::Updated {
            stats, duplicates, ..
        } => (*stats, *duplicates),
        other => panic!("{}: expected an update, got {other:?} ({s})", s.feed),
    }
}

fn assert_all_ok(summaries: &[PollSummary]) {
    for s in summaries {
        assert!(
            matches!(s.outcome, Outcome::Updated { .. } | Outcome::NotModified),
            "{s}"
        );
    }
}

/// `t` lies within [from - 1s, to + 1s] (the store keeps whole seconds).
fn assert_between(t: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>, what: &str) {
    assert!(
        t >= from - Duration::seconds(1) && t <= to + Duration::seconds(1),
        "{what}: {t} is not between {from} and {to}"
    );
}

fn rss_doc(items: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>The Morning Courier | UK</title>
<link>https://www.morningcourier.example/uk</link>
<description>UK news</description>
{items}
</channel>
</rss>"#
    )
}

fn rss_item(guid: &str, title: &str, link: &str, body: &str, date: &str) -> String {
    let guid = if guid.is_empty() {
        String::new()
    } else {
        format!("<guid isPermaLink=\"false\">{guid}</guid>")
    };
    let link = if link.is_empty() {
        String::new()
    } else {
        format!("<link>{link}</link>")
    };
    let date = if date.is_empty() {
        String::new()
    } else {
        format!("<pubDate>{date}</pubDate>")
    };
    format!(
        "<item><title>{title}</title>{link}{guid}<description>{body}</description>{date}</item>\n"
    )
}

// ---------------------------------------------------------------------------------------------
// 1. dedup within a feed

#[tokio::test(flavor = "multi_thread")]
async fn entries_are_stored_once_across_polls_and_within_a_document() {
    let srv = FixtureServer::start().await;
    let a = rss_item(
        "mc-1001",
        "Rail fares to rise by 4.6%",
        "https://www.morningcourier.example/uk/2025/06/02/rail-fares?utm_source=rss",
        "&lt;p&gt;Fares rise in January.&lt;/p&gt;",
        "Mon, 02 Jun 2025 06:00:00 +0100",
    );
    let b = rss_item(
        "mc-1002",
        "Hosepipe ban for the south-east",
        "https://www.morningcourier.example/uk/2025/06/02/hosepipe-ban?utm_source=rss",
        "&lt;p&gt;The ban starts on Friday.&lt;/p&gt;",
        "Mon, 02 Jun 2025 07:00:00 +0100",
    );
    let c = rss_item(
        "mc-1003",
        "Teachers accept pay offer",
        "https://www.morningcourier.example/uk/2025/06/02/teachers-pay?utm_source=rss",
        "&lt;p&gt;Unions backed the 5.5% deal.&lt;/p&gt;",
        "Mon, 02 Jun 2025 09:30:00 +0100",
    );
    srv.set("/uk.xml", Route::rss(rss_doc(&format!("{a}{b}"))));
    // the same item twice in one document (a CMS that repeats its top story)
    let dup = rss_item(
        "mc-2001",
        "Storm warning for Scotland",
        "https://www.morningcourier.example/scotland/2025/06/02/storm",
        "Amber warning.",
        "Mon, 02 Jun 2025 08:00:00 +0100",
    );
    let dup_again = rss_item(
        "mc-2001",
        "Storm warning for Scotland (repeat)",
        "https://www.morningcourier.example/scotland/2025/06/02/storm",
        "Amber warning.",
        "Mon, 02 Jun 2025 08:00:00 +0100",
    );
    srv.set(
        "/scotland.xml",
        Route::rss(rss_doc(&format!("{dup}{dup_again}"))),
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("uk", &srv.url("/uk.xml"), ""),
        feed_toml("scotland", &srv.url("/scotland.xml"), "")
    ));

    let s = env.poll().await;
    assert_eq!(stats(&s[0]).0.new, 2, "{}", s[0]);
    let (st, duplicates) = stats(&s[1]);
    assert_eq!((st.new, duplicates), (1, 1), "{}", s[1]);
    assert_eq!(env.store().counts().unwrap(), (3, 3));

    // a new item on top: the body changes, so this is a 200, not a 304
    srv.set("/uk.xml", Route::rss(rss_doc(&format!("{c}{a}{b}"))));
    let s = env.poll().await;
    let (st, _) = stats(&s[0]);
    assert_eq!((st.new, st.unchanged, st.updated), (1, 2, 0), "{}", s[0]);
    assert_eq!(s[1].outcome, Outcome::NotModified, "{}", s[1]);
    assert_eq!(env.store().counts().unwrap(), (4, 4));

    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 4, "{:#?}", titles(&merged));
    entry(&merged, "Rail fares");
    entry(&merged, "Hosepipe ban");
    entry(&merged, "Teachers accept");
    // the first copy in document order is kept
    let storm = entry(&merged, "Storm warning");
    assert_eq!(storm.title, "Storm warning for Scotland");
    assert_eq!(
        env.store()
            .feed_state("scotland")
            .unwrap()
            .unwrap()
            .article_count,
        1
    );
}

// ---------------------------------------------------------------------------------------------
// 2. dedup across feeds

#[tokio::test(flavor = "multi_thread")]
async fn one_story_from_two_feeds_is_one_entry() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ledger/world.xml",
        Route::rss(fixture("ledger-world.rss.xml")),
    );
    srv.set("/metro/top.xml", Route::rss(fixture("metro-wire.rss.xml")));
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml(
            "ledger",
            &srv.url("/ledger/world.xml"),
            "tags = [\"world\", \"papers\"]"
        ),
        feed_toml("metro", &srv.url("/metro/top.xml"), "tags = [\"wire\"]")
    ));
    let s = env.poll().await;
    assert_eq!(stats(&s[0]).0.new, 2, "{}", s[0]);
    let (st, _) = stats(&s[1]);
    assert_eq!((st.new, st.merged), (1, 1), "{}", s[1]);
    assert_eq!(env.store().counts().unwrap(), (4, 3));

    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 3, "{:#?}", titles(&merged));
    let story = entry(&merged, "barrier holds");
    // the earliest copy's headline and date
    assert_eq!(
        story.title,
        "Flood barrier holds as river peaks in Rotterdam"
    );
    assert_eq!(story.published, utc("2025-06-02T06:30:00Z"));
    assert_eq!(
        story.link.as_deref(),
        Some("https://www.dailyledger.example/world/2025/jun/02/rotterdam-flood-barrier")
    );
    // both sources, earliest first, each with its own link
    let names: Vec<&str> = story.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ledger", "metro"]);
    assert!(
        story.sources[1]
            .link
            .as_deref()
            .is_some_and(|l| l.contains("fbclid")),
        "{:?}",
        story.sources[1]
    );
    // the fuller copy's body
    let content = story.content.as_deref().unwrap();
    assert!(
        content.contains("one of the largest moving structures on Earth"),
        "{content}"
    );
    // union of authors and categories, without case-duplicates, plus the feeds' tags
    assert_eq!(story.authors, ["Maria de Vries", "Tom Okafor"]);
    for c in ["World", "Europe", "Netherlands", "papers", "wire"] {
        assert!(
            story.categories.iter().any(|x| x == c),
            "{c} missing from {:?}",
            story.categories
        );
    }
    let worlds = story
        .categories
        .iter()
        .filter(|c| c.eq_ignore_ascii_case("world"))
        .count();
    assert_eq!(worlds, 1, "{:?}", story.categories);
    assert_eq!(
        story.image.as_deref(),
        Some("https://i.dailyledger.example/2025/06/02/barrier.jpg")
    );

    // the others have one source each and only their own feed's tags
    let heat = entry(&merged, "Heatwave");
    assert_eq!(heat.sources.len(), 1);
    assert!(heat.categories.iter().any(|c| c == "papers"));
    assert!(!heat.categories.iter().any(|c| c == "wire"));
    let buses = entry(&merged, "night bus");
    assert_eq!(buses.sources.len(), 1);
    assert_eq!(buses.sources[0].name, "metro");
    assert!(buses.categories.iter().any(|c| c == "wire"));

    // the Atom a reader gets shows it once, too
    let parsed = env.merged_atom_parsed();
    let n = parsed
        .entries
        .iter()
        .filter(|e| {
            e.title
                .as_ref()
                .is_some_and(|t| t.content.contains("barrier holds"))
        })
        .count();
    assert_eq!(n, 1);
}

// ---------------------------------------------------------------------------------------------
// 3. update in place

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_entry_is_updated_in_place() {
    let srv = FixtureServer::start().await;
    let link = "https://www.morningcourier.example/politics/2025/06/02/minister?utm_source=rss";
    let date = "Mon, 02 Jun 2025 08:00:00 +0100";
    srv.set(
        "/politics.xml",
        Route::rss(rss_doc(&rss_item(
            "mc-3001",
            "Minister under pressure",
            link,
            "&lt;p&gt;Calls grow for the minister to go.&lt;/p&gt;",
            date,
        ))),
    );
    let env = TestEnv::new(&feed_toml("politics", &srv.url("/politics.xml"), ""));
    env.poll().await;
    let before = env.merged(&View::default());
    assert_eq!(before.entries.len(), 1);
    let first = before.entries[0].clone();
    assert_eq!(first.published, utc("2025-06-02T07:00:00Z"));
    assert_eq!(first.updated, first.published);

    let edit_time = Utc::now();
    srv.set(
        "/politics.xml",
        Route::rss(rss_doc(&rss_item(
            "mc-3001",
            "Minister resigns over expenses row",
            link,
            "&lt;p&gt;The minister resigned on Monday evening after a week of pressure.&lt;/p&gt;",
            date,
        ))),
    );
    let s = env.poll().await;
    let (st, _) = stats(&s[0]);
    assert_eq!((st.new, st.updated), (0, 1), "{}", s[0]);
    let after_poll = Utc::now();

    assert_eq!(env.store().counts().unwrap(), (1, 1));
    let after = env.merged(&View::default());
    assert_eq!(after.entries.len(), 1, "{:#?}", titles(&after));
    let e = &after.entries[0];
    assert_eq!(e.title, "Minister resigns over expenses row");
    assert!(
        e.content
            .as_deref()
            .is_some_and(|c| c.contains("resigned on Monday evening")),
        "{:?}",
        e.content
    );
    assert_eq!(e.id, first.id, "the story keeps its id");
    assert_eq!(e.published, first.published, "published must not move");
    assert!(e.updated > first.updated, "updated must be bumped: {e:?}");
    assert_between(e.updated, edit_time, after_poll, "updated");
    // the subscriber's Atom shows the edit too
    let parsed = env.merged_atom_parsed();
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(
        parsed.entries[0].title.as_ref().unwrap().content,
        "Minister resigns over expenses row"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. guid churn

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_guid_with_the_same_link_is_not_a_new_entry() {
    let srv = FixtureServer::start().await;
    let link = "https://www.morningcourier.example/business/2025/06/02/bank-rate";
    let other = rss_item(
        "https://www.morningcourier.example/?p=5001",
        "Retail sales fall",
        "https://www.morningcourier.example/business/2025/06/02/retail",
        "Sales fell 1%.",
        "Mon, 02 Jun 2025 06:00:00 +0100",
    );
    srv.set(
        "/business.xml",
        Route::rss(rss_doc(&format!(
            "{}{other}",
            rss_item(
                "https://www.morningcourier.example/?p=5002",
                "Bank holds interest rate",
                link,
                "The rate stays at 4.25%.",
                "Mon, 02 Jun 2025 12:00:00 +0100",
            )
        ))),
    );
    let env = TestEnv::new(&feed_toml("business", &srv.url("/business.xml"), ""));
    env.poll().await;
    assert_eq!(env.store().counts().unwrap(), (2, 2));
    let id_before = entry(&env.merged(&View::default()), "interest rate")
        .id
        .clone();

    // the CMS migration rewrites every guid; the links stay
    srv.set(
        "/business.xml",
        Route::rss(rss_doc(&format!(
            "{}{}",
            rss_item(
                "urn:uuid:6f1c2a8e-0b7d-4d1e-9a51-3c2b7e9d0a11",
                "Bank holds interest rate",
                link,
                "The rate stays at 4.25%.",
                "Mon, 02 Jun 2025 12:00:00 +0100",
            ),
            other.replace(
                "https://www.morningcourier.example/?p=5001",
                "urn:uuid:0d7e4b11-5a0c-4f6e-8c3d-2b9a1e7f4c22"
            )
        ))),
    );
    let s = env.poll().await;
    assert_eq!(stats(&s[0]).0.new, 0, "{}", s[0]);
    assert_eq!(env.store().counts().unwrap(), (2, 2));
    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 2, "{:#?}", titles(&merged));
    assert_eq!(entry(&merged, "interest rate").id, id_before);
}

// ---------------------------------------------------------------------------------------------
// 5. entries with neither guid nor link

#[tokio::test(flavor = "multi_thread")]
async fn entries_without_guid_or_link_keep_their_identity() {
    let srv = FixtureServer::start().await;
    let a = rss_item(
        "",
        "Traffic: M25 closed between junctions 10 and 11",
        "",
        "Expect delays until 6pm.",
        "",
    );
    let b = rss_item(
        "",
        "Weather: rain clearing by evening",
        "",
        "Highs of 19C.",
        "",
    );
    let c = rss_item(
        "",
        "Travel: Southern rail strike called off",
        "",
        "Trains run as normal.",
        "",
    );
    srv.set("/briefs.xml", Route::rss(rss_doc(&format!("{a}{b}"))));
    let env = TestEnv::new(&feed_toml("briefs", &srv.url("/briefs.xml"), ""));
    let s = env.poll().await;
    assert_eq!(stats(&s[0]).0.new, 2, "{}", s[0]);
    assert_eq!(env.store().counts().unwrap(), (2, 2));
    let first = env.merged(&View::default());
    let id_a = entry(&first, "M25").id.clone();
    let id_b = entry(&first, "Weather").id.clone();
    assert_ne!(id_a, id_b);

    srv.set("/briefs.xml", Route::rss(rss_doc(&format!("{c}{a}{b}"))));
    let s = env.poll().await;
    let (st, _) = stats(&s[0]);
    assert_eq!((st.new, st.unchanged), (1, 2), "{}", s[0]);
    assert_eq!(env.store().counts().unwrap(), (3, 3));
    let second = env.merged(&View::default());
    assert_eq!(second.entries.len(), 3, "{:#?}", titles(&second));
    assert_eq!(entry(&second, "M25").id, id_a);
    assert_eq!(entry(&second, "Weather").id, id_b);
    entry(&second, "Southern rail");
    let ids: std::collections::HashSet<&str> =
        second.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// 6. dates and zones

#[tokio::test(flavor = "multi_thread")]
async fn dates_are_read_in_the_feed_zone_and_clamped() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/cn/business.xml",
        Route::rss(fixture("shanghai-local-time.rss.xml")),
    );
    srv.set(
        "/utc.xml",
        Route::rss(rss_doc(&rss_item(
            "u-1",
            "Zone-less date in a feed without a zone",
            "https://www.morningcourier.example/world/2019/06/05/zoneless",
            "x",
            "2019/6/5 18:13:43",
        ))),
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml(
            "cn",
            &srv.url("/cn/business.xml"),
            "timezone = \"Asia/Shanghai\""
        ),
        feed_toml("plain", &srv.url("/utc.xml"), "")
    ));
    let t0 = Utc::now();
    assert_all_ok(&env.poll().await);
    let t1 = Utc::now();
    let merged = env.merged(&View::default());
    assert_eq!(
        entry(&merged, "port throughput").published,
        utc("2019-06-05T10:13:43Z")
    );
    assert_eq!(
        entry(&merged, "Yuan steady").published,
        utc("2019-06-05T18:13:43Z")
    );
    assert_eq!(
        entry(&merged, "Zone-less date").published,
        utc("2019-06-05T18:13:43Z")
    );
    let future = entry(&merged, "trade fair").published;
    assert_between(future, t0, t1, "future date clamped to the fetch time");
    // the feed's first poll: an undated entry there is backlog, dated just below the
    // document's oldest date so that it outranks no dated story (issue 15, fair shares)
    let undated = entry(&merged, "closing prices").published;
    assert_eq!(undated, utc("2019-06-05T10:13:42Z"));
    for e in &merged.entries {
        assert!(e.updated >= e.published, "{e:?}");
    }

    // a later poll (the body changed) leaves the dates alone
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut body = String::from_utf8(fixture("shanghai-local-time.rss.xml")).unwrap();
    body = body.replace(
        "</channel>",
        "<item><title>Later item</title><link>https://www.chinadailywire.example/business/later.html</link><guid>WS-later</guid><pubDate>2019/6/6 09:00:00</pubDate></item></channel>",
    );
    srv.set("/cn/business.xml", Route::rss(body));
    assert_all_ok(&env.poll().await);
    let merged = env.merged(&View::default());
    assert_eq!(entry(&merged, "closing prices").published, undated);
    assert_eq!(entry(&merged, "trade fair").published, future);
    assert_eq!(
        entry(&merged, "Later item").published,
        utc("2019-06-06T01:00:00Z")
    );
}

// ---------------------------------------------------------------------------------------------
// 7. sanitizing

const FORBIDDEN: &[&str] = &[
    "stealcookies",
    "evil.example",
    "javascript:",
    "onerror",
    "onclick",
    "onmouseover",
    "<script",
    "&lt;script",
    "<iframe",
    "&lt;iframe",
    "<style",
    "&lt;style",
    "display:none",
    "<form",
    "&lt;form",
    "<input",
    "&lt;input",
    "password",
];

fn assert_clean(what: &str, text: &str) {
    let lower = text.to_ascii_lowercase();
    for bad in FORBIDDEN {
        assert!(!lower.contains(bad), "{what} contains {bad:?}:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn active_content_is_removed_everywhere() {
    let srv = FixtureServer::start().await;
    srv.set("/politics.xml", Route::rss(fixture("hostile.rss.xml")));
    let env = TestEnv::new(&feed_toml("gazette", &srv.url("/politics.xml"), ""));
    assert_all_ok(&env.poll().await);
    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 2);
    for e in &merged.entries {
        assert_clean("content", e.content.as_deref().unwrap_or(""));
        assert_clean("summary", e.summary.as_deref().unwrap_or(""));
        assert_clean("title", &e.title);
    }
    let library = entry(&merged, "library");
    let c = library.content.as_deref().unwrap();
    assert!(c.contains("<p>Councillors voted 7-4"), "{c}");
    assert!(
        c.contains(r#"href="https://www.valleygazette.example/politics/""#),
        "{c}"
    );
    assert!(
        c.contains(r#"src="https://img.valleygazette.example/2025/06/council.jpg""#),
        "{c}"
    );
    assert!(c.contains("The library opened in 1911."), "{c}");
    assert!(c.contains("promised"), "the link text stays: {c}");
    assert_eq!(
        library.image.as_deref(),
        Some("https://img.valleygazette.example/2025/06/council.jpg")
    );
    let mayor = entry(&merged, "Mayor");
    let c = mayor.content.as_deref().unwrap();
    assert!(c.contains("<b>defended</b>"), "{c}");
    assert!(c.contains("Read more"), "{c}");

    let atom = publish::atom::render(&merged, Some("http://localhost/feed.atom"));
    let rss = publish::rss::render(&merged, Some("http://localhost/feed.rss"));
    let json = publish::json::render(&merged, Some("http://localhost/feed.json"));
    assert_clean("Atom", &atom);
    assert_clean("RSS", &rss);
    assert_clean("JSON Feed", &json);
    // and the benign markup is still there once a reader decodes each format
    let a = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    let body = a
        .entries
        .iter()
        .find_map(|e| e.content.as_ref().and_then(|c| c.body.clone()))
        .filter(|b| b.contains("Councillors"))
        .unwrap_or_else(|| panic!("no library content in {atom}"));
    assert!(body.contains("council.jpg"), "{body}");
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    let html = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|i| i["content_html"].as_str().filter(|h| h.contains("1911")))
        .unwrap();
    assert!(
        html.contains(r#"href="https://www.valleygazette.example/politics/""#),
        "{html}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. relative links

#[tokio::test(flavor = "multi_thread")]
async fn relative_links_are_resolved() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/coastpost/local.atom",
        Route::atom(fixture("coastpost-local.atom.xml")),
    );
    srv.set(
        "/riverside/rss.xml",
        Route::rss(fixture("riverside-relative.rss.xml")),
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("coastpost", &srv.url("/coastpost/local.atom"), ""),
        feed_toml("riverside", &srv.url("/riverside/rss.xml"), "")
    ));
    assert_all_ok(&env.poll().await);
    let merged = env.merged(&View::default());

    let fire = entry(&merged, "harbour warehouse");
    assert_eq!(
        fire.link.as_deref(),
        Some("https://www.coastpost.example/news/local/2025/06/05/harbour-fire")
    );
    let regatta = entry(&merged, "Regatta");
    assert_eq!(
        regatta.link.as_deref(),
        Some("https://www.coastpost.example/sport/2025/06/05/regatta")
    );
    // xml:base on the content element itself
    let gale = entry(&merged, "Gale warning");
    assert_eq!(
        gale.link.as_deref(),
        Some("https://www.coastpost.example/news/weather/2025/06/05/gale-warning")
    );
    let c = gale.content.as_deref().unwrap();
    assert!(
        c.contains(r#"src="https://static.coastpost.example/weather/maps/storm.png""#),
        "{c}"
    );
    assert_eq!(
        gale.image.as_deref(),
        Some("https://static.coastpost.example/weather/maps/storm.png")
    );
    assert_eq!(
        gale.sources[0].site_url.as_deref(),
        Some("https://www.coastpost.example/news/")
    );

    let bridge = entry(&merged, "bridge reopens");
    assert_eq!(
        bridge.link.as_deref(),
        Some(srv.url("/news/2025/06/05/bridge-reopens.html").as_str())
    );
    assert_eq!(
        bridge.sources[0].link.as_deref(),
        Some(
            srv.url("/news/2025/06/05/bridge-reopens.html?utm_source=rss")
                .as_str()
        )
    );
    let c = bridge.content.as_deref().unwrap();
    assert!(
        c.contains(&format!(r#"src="{}""#, srv.url("/img/2025/bridge.jpg"))),
        "{c}"
    );
    assert!(
        c.contains(&format!(
            r#"href="{}""#,
            srv.url("/news/2025/06/04/bridge-closure.html")
        )),
        "{c}"
    );
    assert_eq!(
        bridge.sources[0].site_url.as_deref(),
        Some(srv.url("/").as_str())
    );
    // nothing relative reaches the subscriber
    for e in &merged.entries {
        let c = e.content.as_deref().unwrap_or("");
        assert!(!c.contains("src=\"..") && !c.contains("href=\".."), "{c}");
    }
}

/// RFC 4287 section 2 / XML Base: relative references in an Atom entry's content resolve
/// against the xml:base in scope (set on the entry or the feed), not against the entry's link.
#[tokio::test(flavor = "multi_thread")]
async fn atom_xml_base_applies_to_relative_urls_in_content() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/coastpost/local.atom",
        Route::atom(fixture("coastpost-local.atom.xml")),
    );
    let env = TestEnv::new(&feed_toml(
        "coastpost",
        &srv.url("/coastpost/local.atom"),
        "",
    ));
    assert_all_ok(&env.poll().await);
    let merged = env.merged(&View::default());

    // xml:base on the entry
    let regatta = entry(&merged, "Regatta");
    let c = regatta.content.as_deref().unwrap();
    assert!(
        c.contains(r#"src="https://www.coastpost.example/sport/photos/regatta.jpg""#),
        "{c}"
    );
    assert!(
        c.contains(r#"href="https://www.coastpost.example/sport/results/""#),
        "{c}"
    );
    assert_eq!(
        regatta.image.as_deref(),
        Some("https://www.coastpost.example/sport/photos/regatta.jpg")
    );
    // xml:base on the feed
    let fire = entry(&merged, "harbour warehouse");
    let c = fire.content.as_deref().unwrap();
    assert!(
        c.contains(r#"src="https://www.coastpost.example/news/photos/fire.jpg""#),
        "{c}"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. encodings

/// Windows-1251, for the characters these tests use.
fn cp1251(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii() => c as u8,
            'А'..='я' => (c as u32 - 0x410 + 0xC0) as u8,
            'Ё' => 0xA8,
            'ё' => 0xB8,
            '«' => 0xAB,
            '»' => 0xBB,
            '—' => 0x97,
            '№' => 0xB9,
            other => panic!("{other:?} is not in this cp1251 table"),
        })
        .collect()
}

/// ISO-8859-1.
fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(c as u32).unwrap_or_else(|_| panic!("{c:?} is not Latin-1")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn feeds_in_legacy_encodings_come_out_as_unicode() {
    let srv = FixtureServer::start().await;
    let ru_title = "«Спартак» выиграл Кубок России — впервые за девять лет";
    let ru_body = "Ёмкость стадиона — 45 тысяч зрителей.";
    let ru = cp1251(&format!(
        r#"<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0"><channel><title>Спорт — Новости</title><link>https://sport.gazeta.example/</link><description>Спорт</description>
<item><title>{ru_title}</title><link>https://sport.gazeta.example/football/2025/06/01/cup.html</link><guid>sp-77120</guid>
<description>{ru_body}</description><category>Футбол</category><pubDate>Sun, 01 Jun 2025 21:40:00 +0300</pubDate></item>
</channel></rss>"#
    ));
    assert!(
        std::str::from_utf8(&ru).is_err(),
        "really cp1251, not UTF-8"
    );
    srv.set("/ru.xml", Route::rss(ru));

    let fr_title = "Zürich: café owner wins «best croissant» prize";
    let fr = latin1(&format!(
        r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Le Quotidien Suisse</title><link>https://www.quotidien.example/</link><description>Actualité</description>
<item><title>{fr_title}</title><link>https://www.quotidien.example/2025/06/02/croissant</link><guid>qs-1207</guid>
<description>Crème fraîche, façade, naïve.</description><pubDate>Mon, 02 Jun 2025 10:00:00 +0200</pubDate></item>
</channel></rss>"#
    ));
    srv.set(
        "/fr.xml",
        Route::feed("application/rss+xml; charset=ISO-8859-1", fr),
    );

    let bom_title = "Ελλάδα & 東京: Ünïcödé headline";
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>World Digest</title><link>https://digest.example/</link><description>d</description>
<item><title>Ελλάδα &amp; 東京: Ünïcödé headline</title><link>https://digest.example/2025/06/02/unicode</link><guid>wd-1</guid>
<description>Καλημέρα</description><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate></item>
</channel></rss>"#
        .as_bytes(),
    );
    srv.set("/bom.xml", Route::rss(bom));

    let env = TestEnv::new(&format!(
        "{}{}{}",
        feed_toml("ru", &srv.url("/ru.xml"), ""),
        feed_toml("fr", &srv.url("/fr.xml"), ""),
        feed_toml("bom", &srv.url("/bom.xml"), "")
    ));
    for s in env.poll().await {
        assert!(matches!(s.outcome, Outcome::Updated { .. }), "{s}");
    }
    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 3, "{:#?}", titles(&merged));
    let ru = entry(&merged, "Спартак");
    assert_eq!(ru.title, ru_title);
    assert!(
        ru.content.as_deref().is_some_and(|c| c.contains(ru_body)),
        "{:?}",
        ru.content
    );
    assert_eq!(ru.categories, ["Футбол"]);
    assert_eq!(ru.sources[0].title, "Спорт — Новости");
    let fr = entry(&merged, "croissant");
    assert_eq!(fr.title, fr_title);
    assert!(
        fr.summary
            .as_deref()
            .is_some_and(|s| s.contains("Crème fraîche, façade, naïve.")),
        "{:?}",
        fr.summary
    );
    let bom = entry(&merged, "Ünïcödé");
    assert_eq!(bom.title, bom_title);
    for e in &merged.entries {
        assert!(!e.title.contains('\u{FFFD}'), "{}", e.title);
        assert!(
            !e.content.as_deref().unwrap_or("").contains('\u{FFFD}'),
            "{e:?}"
        );
    }
    // and the rendered feeds carry them intact
    let parsed = env.merged_atom_parsed();
    assert!(
        parsed
            .entries
            .iter()
            .any(|e| e.title.as_ref().unwrap().content == ru_title)
    );
}

// ---------------------------------------------------------------------------------------------
// 10. conditional GET

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_feed_is_a_304_and_changes_nothing() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ledger/world.xml",
        Route::rss(fixture("ledger-world.rss.xml")),
    );
    let env = TestEnv::new(&feed_toml("ledger", &srv.url("/ledger/world.xml"), ""));
    let s = env.poll().await;
    assert_eq!(stats(&s[0]).0.new, 2, "{}", s[0]);
    let counts = env.store().counts().unwrap();
    let before = env.merged(&View::default());
    let etag = srv.seen("/ledger/world.xml")[0]
        .headers
        .get("if-none-match")
        .cloned();
    assert!(etag.is_none(), "the first request is unconditional");

    let s = env.poll().await;
    assert_eq!(s[0].outcome, Outcome::NotModified, "{}", s[0]);
    assert!(!s[0].changed());
    let seen = srv.seen("/ledger/world.xml");
    assert_eq!(seen.len(), 2);
    let inm = seen[1]
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .expect("the second request is conditional");
    assert!(inm.starts_with('"') && inm.len() > 2, "{inm}");
    assert_eq!(seen[1].status, 304);
    assert_eq!(env.store().counts().unwrap(), counts);
    let after = env.merged(&View::default());
    assert_eq!(after.entries, before.entries);

    let state = env.store().feed_state("ledger").unwrap().unwrap();
    assert_eq!(state.last_outcome.map(|o| o.as_str()), Some("not_modified"));
    assert_eq!(state.last_status, Some(304));
    assert_eq!(state.consecutive_failures, 0);
    assert_eq!(state.last_error, None);
    assert_eq!(state.article_count, 2);
    assert_eq!(state.validators.etag.as_deref(), Some(inm));
}

// ---------------------------------------------------------------------------------------------
// 11. failing feeds

#[tokio::test(flavor = "multi_thread")]
async fn failing_feeds_are_recorded_and_do_not_hurt_the_others() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ledger/world.xml",
        Route::rss(fixture("ledger-world.rss.xml")),
    );
    srv.set("/down.xml", Route::status(500));
    srv.set(
        "/moved.xml",
        Route::feed("text/html; charset=utf-8", fixture("error-page.html")),
    );
    srv.set("/broken.xml", Route::rss(fixture("broken.rss.xml")));
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/rss.xml")
    };
    let env = TestEnv::new(&format!(
        "{}{}{}{}{}",
        feed_toml("down", &srv.url("/down.xml"), ""),
        feed_toml("refused", &refused, ""),
        feed_toml("ledger", &srv.url("/ledger/world.xml"), ""),
        feed_toml("moved", &srv.url("/moved.xml"), ""),
        feed_toml("broken", &srv.url("/broken.xml"), ""),
    ));
    let expect: [(&str, &[&str]); 4] = [
        ("down", &["500"]),
        ("refused", &["connect"]),
        ("moved", &["html"]),
        ("broken", &["feed"]),
    ];
    for round in 1..=2u32 {
        let summaries = env.poll().await;
        for s in &summaries {
            if s.feed == "ledger" {
                assert!(!s.failed(), "{s}");
            } else {
                assert!(s.failed(), "{s}");
            }
        }
        let store = env.store();
        for (name, words) in expect {
            let st = store.feed_state(name).unwrap().unwrap();
            assert_eq!(st.last_outcome.map(|o| o.as_str()), Some("error"), "{st:?}");
            assert_eq!(st.consecutive_failures, round, "{st:?}");
            assert_eq!(st.article_count, 0, "{st:?}");
            let err = st.last_error.clone().unwrap_or_default().to_lowercase();
            for w in words {
                assert!(err.contains(w), "{name}: {w:?} not in {err:?}");
            }
        }
        assert_eq!(
            store.feed_state("down").unwrap().unwrap().last_status,
            Some(500)
        );
        let broken = store.feed_state("broken").unwrap().unwrap();
        let err = broken.last_error.unwrap().to_lowercase();
        assert!(
            err.contains("valid") || err.contains("pars") || err.contains("xml"),
            "{err}"
        );
        let good = store.feed_state("ledger").unwrap().unwrap();
        assert_ne!(good.last_outcome.map(|o| o.as_str()), Some("error"));
        assert_eq!(good.consecutive_failures, 0);
        assert_eq!(good.article_count, 2);
        let merged = env.merged(&View::default());
        assert_eq!(merged.entries.len(), 2, "{:#?}", titles(&merged));
        for e in &merged.entries {
            assert_eq!(e.sources.len(), 1);
            assert_eq!(e.sources[0].name, "ledger");
        }
        entry(&merged, "Flood barrier");
        entry(&merged, "Heatwave");
    }
    // a failing feed that recovers is reset
    srv.set("/down.xml", Route::rss(fixture("metro-wire.rss.xml")));
    env.poll().await;
    let st = env.store().feed_state("down").unwrap().unwrap();
    assert_eq!(st.last_outcome.map(|o| o.as_str()), Some("ok"));
    assert_eq!((st.consecutive_failures, st.last_error), (0, None));
    assert_eq!(env.merged(&View::default()).entries.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// 12. Atom and JSON Feed inputs

#[tokio::test(flavor = "multi_thread")]
async fn atom_and_json_feed_inputs_are_normalized() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/business/atom.xml",
        Route::atom(fixture("harbour-business.atom.xml")),
    );
    srv.set(
        "/science/feed.json",
        Route::feed("application/feed+json", fixture("northwind-science.json")),
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("harbour", &srv.url("/business/atom.xml"), ""),
        feed_toml("northwind", &srv.url("/science/feed.json"), "")
    ));
    for s in env.poll().await {
        assert_eq!(stats(&s).0.new, 2, "{s}");
    }
    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 4, "{:#?}", titles(&merged));

    let strike = entry(&merged, "Port strike");
    assert_eq!(strike.title, "Port strike ends after 12-day standoff");
    assert_eq!(
        strike.link.as_deref(),
        Some("https://www.harbourtimes.example/business/2025/06/03/port-strike-ends")
    );
    assert_eq!(strike.authors, ["Jana Novak", "Pedro Alves"]);
    assert_eq!(strike.published, utc("2025-06-03T04:00:00Z"));
    assert_eq!(strike.updated, utc("2025-06-03T07:45:00Z"));
    assert_eq!(strike.categories, ["Business", "labour"]);
    assert_eq!(
        strike.summary.as_deref(),
        Some("Dock workers accepted a 6% pay rise over three years.")
    );
    let c = strike.content.as_deref().unwrap();
    assert!(
        c.contains("<p>Dock workers voted on Tuesday") && c.contains("cranes.jpg"),
        "{c}"
    );
    assert_eq!(
        strike.image.as_deref(),
        Some("https://img.harbourtimes.example/2025/06/03/cranes.jpg")
    );
    assert_eq!(strike.sources[0].title, "The Harbour Times - Business");
    assert_eq!(
        strike.sources[0].site_url.as_deref(),
        Some("https://www.harbourtimes.example/business")
    );

    let rally = entry(&merged, "Markets rally");
    assert_eq!(rally.authors, ["Harbour Times Staff"]);
    assert_eq!(rally.published, utc("2025-06-02T15:30:00Z"));
    let c = rally.content.as_deref().unwrap();
    assert!(c.contains("<strong>rose</strong>"), "{c}");

    let comet = entry(&merged, "Comet");
    assert_eq!(comet.title, "Comet makes closest approach in 400 years");
    assert_eq!(
        comet.link.as_deref(),
        Some("https://wire.northwind.example/science/2025/06/04/comet-flyby")
    );
    assert_eq!(comet.authors, ["Ravi Menon"]);
    assert_eq!(comet.published, utc("2025-06-05T01:10:00Z"));
    assert_eq!(comet.updated, utc("2025-06-05T02:30:00Z"));
    assert_eq!(comet.categories, ["Science", "Space"]);
    assert_eq!(
        comet.summary.as_deref(),
        Some("Comet C/2025 F2 passed within 0.3 AU of Earth.")
    );
    let c = comet.content.as_deref().unwrap();
    assert!(
        c.contains("<p>Comet C/2025 F2 passed within 0.3 AU") && c.contains("25th century"),
        "{c}"
    );
    assert_eq!(comet.sources[0].title, "Northwind Wire - Science");

    let bees = entry(&merged, "bees");
    assert_eq!(bees.title, "Study: bees & urban gardens");
    assert_eq!(bees.authors, ["Northwind Wire"]);
    assert_eq!(bees.published, utc("2025-06-04T12:00:00Z"));
    let c = bees.content.as_deref().unwrap();
    // plain text stays text: its "<b>" is shown, not obeyed
    assert!(
        c.contains("Use &lt;b&gt; for bold &amp; enjoy.") && !c.contains("<b>"),
        "{c}"
    );
}

/// JSON Feed's item `image` is "the URL of the main image for the item": the lead image.
#[tokio::test(flavor = "multi_thread")]
async fn json_feed_item_image_is_the_lead_image() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/science/feed.json",
        Route::feed("application/feed+json", fixture("northwind-science.json")),
    );
    let env = TestEnv::new(&feed_toml("northwind", &srv.url("/science/feed.json"), ""));
    assert_all_ok(&env.poll().await);
    let merged = env.merged(&View::default());
    let comet = entry(&merged, "Comet");
    assert_eq!(
        comet.image.as_deref(),
        Some("https://cdn.northwind.example/img/2025/06/comet.jpg")
    );
    let j: serde_json::Value = serde_json::from_str(&publish::json::render(&merged, None)).unwrap();
    let item = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().is_some_and(|t| t.contains("Comet")))
        .unwrap();
    assert_eq!(
        item["image"],
        "https://cdn.northwind.example/img/2025/06/comet.jpg"
    );
}

// ---------------------------------------------------------------------------------------------
// 13. removing a feed

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_feed_takes_its_articles_with_it() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ledger/world.xml",
        Route::rss(fixture("ledger-world.rss.xml")),
    );
    srv.set("/metro/top.xml", Route::rss(fixture("metro-wire.rss.xml")));
    let ledger = feed_toml(
        "ledger",
        &srv.url("/ledger/world.xml"),
        "tags = [\"papers\"]",
    );
    let metro = feed_toml("metro", &srv.url("/metro/top.xml"), "tags = [\"wire\"]");
    let env = TestEnv::new(&format!("{ledger}{metro}"));
    assert_all_ok(&env.poll().await);
    assert_eq!(env.merged(&View::default()).entries.len(), 3);
    let shared_id = entry(&env.merged(&View::default()), "barrier holds")
        .id
        .clone();

    env.write(&metro);
    newswire::daemon::open_store(&env.config()).await.unwrap();
    assert!(env.store().feed_state("ledger").unwrap().is_none());
    assert_eq!(env.store().counts().unwrap(), (2, 2));
    let merged = env.merged(&View::default());
    assert_eq!(merged.entries.len(), 2, "{:#?}", titles(&merged));
    assert!(!titles(&merged).iter().any(|t| t.contains("Heatwave")));
    let shared = entry(&merged, "barrier holds");
    assert_eq!(shared.id, shared_id, "the story stays the same story");
    let names: Vec<&str> = shared.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["metro"]);
    // what is left is what the kept feed said
    assert_eq!(shared.title, "Rotterdam barrier holds as Maas peaks");
    assert_eq!(shared.published, utc("2025-06-02T09:05:00Z"));
    assert!(
        !shared
            .categories
            .iter()
            .any(|c| c == "papers" || c == "Europe")
    );
    assert!(shared.categories.iter().any(|c| c == "wire"));
    assert_eq!(shared.image, None, "the image came from the removed feed");
    let parsed = env.merged_atom_parsed();
    assert_eq!(parsed.entries.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// 14. views

/// The view of the feeds tagged `tag`.
fn tagged(tag: &str) -> View {
    View {
        tag: Some(tag.into()),
        ..Default::default()
    }
}

/// The view of the one feed called `feed`.
fn of_feed(feed: &str) -> View {
    View {
        feed: Some(feed.into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn views_narrow_the_merged_feed() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ledger/world.xml",
        Route::rss(fixture("ledger-world.rss.xml")),
    );
    srv.set("/metro/top.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set(
        "/business/atom.xml",
        Route::atom(fixture("harbour-business.atom.xml")),
    );
    let env = TestEnv::new(&format!(
        "{}{}{}",
        feed_toml(
            "ledger",
            &srv.url("/ledger/world.xml"),
            "tags = [\"world\", \"papers\"]"
        ),
        feed_toml("metro", &srv.url("/metro/top.xml"), "tags = [\"wire\"]"),
        feed_toml(
            "harbour",
            &srv.url("/business/atom.xml"),
            "tags = [\"business\", \"papers\"]"
        ),
    ));
    assert_all_ok(&env.poll().await);
    let all = env.merged(&View::default());
    assert_eq!(all.entries.len(), 5, "{:#?}", titles(&all));

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let papers = env.merged(&tagged("papers"));
    assert_eq!(
        sorted(titles(&papers)),
        sorted(vec![
            "Flood barrier holds as river peaks in Rotterdam".into(),
            "Heatwave grips southern Spain".into(),
            "Markets rally on rate hopes".into(),
            "Port strike ends after 12-day standoff".into(),
        ])
    );
    let wire = env.merged(&tagged("wire"));
    assert_eq!(
        sorted(titles(&wire)),
        sorted(vec![
            "City council approves night bus expansion".into(),
            "Flood barrier holds as river peaks in Rotterdam".into(),
        ])
    );
    let harbour = env.merged(&of_feed("harbour"));
    assert_eq!(
        sorted(titles(&harbour)),
        sorted(vec![
            "Markets rally on rate hopes".into(),
            "Port strike ends after 12-day standoff".into(),
        ])
    );
    assert_ne!(harbour.id, all.id, "each view is its own feed");
    // feed and tag together: both must hold
    let both = env.merged(&View {
        tag: Some("world".into()),
        feed: Some("metro".into()),
        ..Default::default()
    });
    assert!(both.entries.is_empty(), "{:#?}", titles(&both));
    let one = env.merged(&View {
        limit: Some(1),
        ..Default::default()
    });
    assert_eq!(one.entries.len(), 1);
    assert_eq!(
        one.entries[0].title,
        "Port strike ends after 12-day standoff"
    );
    assert_eq!(one.entries[0], all.entries[0]);

    let (store, config) = (env.store(), env.config());
    let err = publish::build(&store, &config, &of_feed("nosuchfeed")).unwrap_err();
    assert!(
        matches!(&err, PublishError::UnknownFeed(n) if n == "nosuchfeed"),
        "{err}"
    );
    let err = publish::build(&store, &config, &tagged("nosuchtag")).unwrap_err();
    assert!(
        matches!(&err, PublishError::UnknownTag(t) if t == "nosuchtag"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// 15. output validity

#[tokio::test(flavor = "multi_thread")]
async fn rendered_feeds_are_valid_and_newest_first() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ledger/world.xml",
        Route::rss(fixture("ledger-world.rss.xml")),
    );
    srv.set("/metro/top.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set(
        "/business/atom.xml",
        Route::atom(fixture("harbour-business.atom.xml")),
    );
    srv.set(
        "/science/feed.json",
        Route::feed("application/feed+json", fixture("northwind-science.json")),
    );
    srv.set(
        "/qa.xml",
        Route::rss(rss_doc(&rss_item(
            "mc-9001",
            "Q&amp;A: what the &lt;new&gt; rules mean for &quot;gig&quot; workers",
            "https://www.morningcourier.example/money/2025/06/05/gig-qa?a=1&amp;b=2",
            "&lt;p&gt;Tips &amp;amp; tricks&lt;/p&gt;",
            "Thu, 05 Jun 2025 06:00:00 +0100",
        ))),
    );
    let env = TestEnv::new(&format!(
        "{}{}{}{}{}",
        feed_toml(
            "ledger",
            &srv.url("/ledger/world.xml"),
            "tags = [\"world\"]"
        ),
        feed_toml("metro", &srv.url("/metro/top.xml"), ""),
        feed_toml("harbour", &srv.url("/business/atom.xml"), ""),
        feed_toml("northwind", &srv.url("/science/feed.json"), ""),
        feed_toml("courier", &srv.url("/qa.xml"), ""),
    ));
    assert_all_ok(&env.poll().await);
    let merged = env.merged(&View::default());
    let n = merged.entries.len();
    assert_eq!(n, 8, "{:#?}", titles(&merged));
    for w in merged.entries.windows(2) {
        assert!(w[0].published >= w[1].published, "not newest first");
    }
    let qa = entry(&merged, "Q&A");
    assert_eq!(
        qa.title,
        "Q&A: what the <new> rules mean for \"gig\" workers"
    );
    let want_titles = titles(&merged);
    let want_dates: Vec<DateTime<Utc>> = merged.entries.iter().map(|e| e.published).collect();

    // Atom, read by two independent parsers
    let atom = publish::atom::render(&merged, Some("http://localhost/feed.atom"));
    let f = feed_rs::parser::parse(atom.as_bytes()).expect("feed-rs reads the Atom");
    assert_eq!(f.entries.len(), n);
    let got: Vec<String> = f
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(got, want_titles);
    let got: Vec<DateTime<Utc>> = f.entries.iter().map(|e| e.published.unwrap()).collect();
    assert_eq!(got, want_dates);
    let a = atom_syndication::Feed::read_from(atom.as_bytes()).expect("atom_syndication reads it");
    assert_eq!(a.entries().len(), n);
    for (e, m) in a.entries().iter().zip(&merged.entries) {
        assert_eq!(e.title().as_str(), m.title);
        assert_eq!(e.id(), m.id);
        assert_eq!(
            e.published().map(|d| d.with_timezone(&Utc)),
            Some(m.published)
        );
        assert!(!e.links().is_empty());
        assert_eq!(e.links()[0].href(), m.link.as_deref().unwrap());
    }
    let ids: std::collections::HashSet<&str> = a.entries().iter().map(|e| e.id()).collect();
    assert_eq!(ids.len(), n, "ids are unique");

    // RSS
    let rss = publish::rss::render(&merged, Some("http://localhost/feed.rss"));
    let ch = rss::Channel::read_from(rss.as_bytes()).expect("rss reads the RSS");
    assert_eq!(ch.items().len(), n);
    for (i, m) in ch.items().iter().zip(&merged.entries) {
        assert_eq!(i.title(), Some(m.title.as_str()));
        assert_eq!(i.link(), m.link.as_deref());
        assert_eq!(i.guid().map(|g| g.value()), Some(m.id.as_str()));
        let d = DateTime::parse_from_rfc2822(i.pub_date().unwrap()).unwrap();
        assert_eq!(d.with_timezone(&Utc), m.published);
    }

    // JSON Feed 1.1
    let json = publish::json::render(&merged, Some("http://localhost/feed.json"));
    let j: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert_eq!(j["version"], "https://jsonfeed.org/version/1.1");
    assert!(j["title"].is_string());
    let items = j["items"].as_array().unwrap();
    assert_eq!(items.len(), n);
    let mut last: Option<DateTime<Utc>> = None;
    for (i, m) in items.iter().zip(&merged.entries) {
        assert_eq!(i["id"], m.id.as_str());
        assert_eq!(i["title"], m.title.as_str());
        assert_eq!(i["url"], m.link.as_deref().unwrap());
        let d = utc(i["date_published"].as_str().unwrap());
        assert_eq!(d, m.published);
        if let Some(prev) = last {
            assert!(prev >= d, "JSON items newest first");
        }
        last = Some(d);
        assert!(i["content_html"].is_string() || i["content_text"].is_string());
    }
    // feed-rs reads the JSON Feed back, too
    let jf = feed_rs::parser::parse(json.as_bytes()).expect("feed-rs reads the JSON Feed");
    assert_eq!(jf.entries.len(), n);
}
