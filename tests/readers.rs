//! Clients nobody on the team wrote read what newswire serves: Python's feedparser reads the
//! three formats, and a real browser (headless Chromium) shows the page. `.ci/run` installs
//! both and sets NEWSWIRE_REQUIRE_READERS, so in CI these never skip.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use newswire::publish::View;

fn required() -> bool {
    std::env::var_os("NEWSWIRE_REQUIRE_READERS").is_some()
}

async fn wait_for_stories(base: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = reqwest::get(format!("{base}/feed.atom"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        if feed_rs::parser::parse(&body[..]).is_ok_and(|f| f.entries.len() == n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon never showed {n} stories"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const FEEDPARSER_SCRIPT: &str = r#"
import calendar, json, sys
import feedparser
d = feedparser.parse(sys.argv[1])
print(json.dumps({
    "bozo": d.bozo,
    "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version,
    "entries": [{
        "title": e.get("title"),
        "link": e.get("link"),
        "published": calendar.timegm(e.published_parsed) if e.get("published_parsed") else None,
    } for e in d.entries],
}))
"#;

/// No released feedparser reads JSON Feed (6.0.14 on PyPI, 6.0.10 in Debian: JSON support
/// exists only on its development branch). JSON Feed is checked against the 1.1 spec's
/// rules instead, with Python's own json and datetime, and must say the same as the others.
const JSONFEED_SCRIPT: &str = r#"
import json, sys, urllib.request
from datetime import datetime
doc = json.load(urllib.request.urlopen(sys.argv[1]))
problems = []
if doc.get("version") != "https://jsonfeed.org/version/1.1": problems.append("version")
if not isinstance(doc.get("title"), str): problems.append("title")
entries = []
for i, it in enumerate(doc.get("items", [])):
    if not isinstance(it.get("id"), str): problems.append(f"items[{i}].id")
    if not ("content_html" in it or "content_text" in it): problems.append(f"items[{i}] has no content")
    for k in ("date_published", "date_modified"):
        if k in it:
            try: datetime.fromisoformat(it[k].replace("Z", "+00:00"))
            except ValueError: problems.append(f"items[{i}].{k}")
    for a in it.get("authors", []):
        if not isinstance(a, dict): problems.append(f"items[{i}].authors")
    if "tags" in it and not all(isinstance(t, str) for t in it["tags"]): problems.append(f"items[{i}].tags")
    published = it.get("date_published")
    entries.append({
        "title": it.get("title"),
        "link": it.get("url"),
        "published": int(datetime.fromisoformat(published.replace("Z", "+00:00")).timestamp()) if published else None,
    })
print(json.dumps({"bozo": bool(problems), "bozo_exception": ", ".join(problems), "version": "json11", "entries": entries}))
"#;

#[tokio::test(flavor = "multi_thread")]
async fn feedparser_reads_atom_rss_and_json_feed_as_newswire_stored_them() {
    // Debian's python3-feedparser lives with Debian's python3
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import feedparser"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        assert!(
            !required(),
            "python3 with feedparser is required here but missing"
        );
        eprintln!(
            "skipping: Python's feedparser is not installed (apt-get install python3-feedparser)"
        );
        return;
    };
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss_document(
            "Wire A",
            "",
            &[
                rss_item(
                    "a1",
                    "Talks resume in Geneva",
                    "&lt;p&gt;Delegations met.&lt;/p&gt;",
                    "Mon, 02 Jun 2025 10:00:00 +0000",
                ),
                rss_item(
                    "shared",
                    "Zürich &amp; Genève vote",
                    "&lt;p&gt;Short.&lt;/p&gt;",
                    "Mon, 02 Jun 2025 08:30:00 +0200",
                ),
            ],
        )),
    );
    srv.set(
        "/b.xml",
        Route::rss(rss_document(
            "Paper B",
            "",
            &[
                rss_item(
                    "shared",
                    "Zürich &amp; Genève vote",
                    "&lt;p&gt;The full story.&lt;/p&gt;",
                    "Mon, 02 Jun 2025 08:30:00 +0200",
                ),
                rss_item(
                    "b1",
                    "Кремль ответил",
                    "&lt;p&gt;Ответ.&lt;/p&gt;",
                    "Sun, 01 Jun 2025 23:15:00 -0400",
                ),
            ],
        )),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"a\"\nurl = \"{}\"\n\n[[feed]]\nname = \"b\"\nurl = \"{}\"\n",
        srv.url("/a.xml"),
        srv.url("/b.xml")
    ));
    let daemon = Daemon::start(&env.config_path);
    let base = daemon.base();
    wait_for_stories(base, 3).await;

    let stored = env.merged(&View::default());
    let mut expected: Vec<(String, Option<String>, i64)> = stored
        .entries
        .iter()
        .map(|e| (e.title.clone(), e.link.clone(), e.published.timestamp()))
        .collect();
    expected.sort();
    for (path, version) in [
        ("/feed.atom", "atom10"),
        ("/feed.rss", "rss20"),
        ("/feed.json", "json11"),
    ] {
        let url = format!("{base}{path}");
        let py = python.to_string();
        let script = if version == "json11" {
            JSONFEED_SCRIPT
        } else {
            FEEDPARSER_SCRIPT
        };
        let out = tokio::task::spawn_blocking(move || {
            Command::new(py)
                .args(["-c", script, &url])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["bozo"], false, "{path}: {}", v["bozo_exception"]);
        assert_eq!(v["version"], version, "{path}");
        let mut got: Vec<(String, Option<String>, i64)> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["title"].as_str().unwrap_or_default().to_string(),
                    e["link"].as_str().map(str::to_string),
                    e["published"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got, expected,
            "{path}: feedparser's reading differs from what newswire stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_sees_the_page_in_a_real_browser_and_no_feed_script_runs() {
    let Some(chromium) = on_path("chromium").or_else(|| on_path("chromium-browser")) else {
        assert!(!required(), "chromium is required here but missing");
        eprintln!("skipping: chromium is not installed (apt-get install chromium)");
        return;
    };
    let payload = "document.documentElement.setAttribute('data-pwned','yes')";
    let srv = FixtureServer::start().await;
    srv.set(
        "/news.xml",
        Route::rss(rss_document(
            "Morning Courier",
            "",
            &[
                rss_item(
                    "n1",
                    "Harbour reopens after storm",
                    "&lt;p&gt;Ships are back.&lt;/p&gt;",
                    "Mon, 02 Jun 2025 10:00:00 +0000",
                ),
                rss_item(
                    "n2",
                    "Council approves budget",
                    "&lt;p&gt;A close vote.&lt;/p&gt;",
                    "Sun, 01 Jun 2025 09:00:00 +0000",
                ),
            ],
        )),
    );
    srv.set(
        "/hostile.xml",
        Route::rss(rss_document(
            "Hostile",
            "",
            &[rss_item(
                "h1",
                &format!("Breaking &lt;script&gt;{payload}&lt;/script&gt; news"),
                &format!(
                    "&lt;p&gt;Hi&lt;img src=x onerror=\"{payload}\"&gt;&lt;script&gt;{payload}&lt;/script&gt;\
                     &lt;a href=\"javascript:{payload}\"&gt;x&lt;/a&gt;&lt;/p&gt;"
                ),
                "Mon, 02 Jun 2025 11:00:00 +0000",
            )],
        )),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"news\"\nurl = \"{}\"\n\n[[feed]]\nname = \"hostile\"\nurl = \"{}\"\n",
        srv.url("/news.xml"),
        srv.url("/hostile.xml")
    ));
    let daemon = Daemon::start(&env.config_path);
    let base = daemon.base();
    wait_for_stories(base, 3).await;

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("page.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let browser = |extra: &[String]| {
        let mut cmd = Command::new(&chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1000,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("{base}/"));
        cmd
    };
    let mut dump = browser(&["--dump-dom".to_string()]);
    let mut screenshot = browser(&[format!("--screenshot={}", shot.display())]);
    let (dom, shot_out) =
        tokio::task::spawn_blocking(move || (dump.output().unwrap(), screenshot.output().unwrap()))
            .await
            .unwrap();
    let dom_text = String::from_utf8_lossy(&dom.stdout).to_string();
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    // what a person sees: the stories, newest first, under their day
    for title in [
        "Harbour reopens after storm",
        "Council approves budget",
        "Breaking",
    ] {
        assert!(
            dom_text.contains(title),
            "{title} missing from the rendered page"
        );
    }
    let at = |s: &str| dom_text.find(s).unwrap();
    assert!(
        at("Breaking") < at("Harbour reopens") && at("Harbour reopens") < at("Council approves")
    );
    assert!(dom_text.contains("Monday 2 June 2025") && dom_text.contains("Sunday 1 June 2025"));
    // the hostile feed's script is text on the page, never code that ran
    assert!(
        !dom_text.contains("data-pwned=\"yes\""),
        "a feed's script ran in the browser"
    );
    assert!(
        !dom_text.contains("<script"),
        "a script element reached the page"
    );
    assert!(
        !dom_text.contains("onerror="),
        "an event handler reached the page"
    );
    assert!(
        !dom_text.contains("javascript:"),
        "a javascript: URL reached the page"
    );
    assert!(
        shot_out.status.success(),
        "{}",
        String::from_utf8_lossy(&shot_out.stderr)
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    eprintln!("screenshot saved: {}", shot.display());
}
