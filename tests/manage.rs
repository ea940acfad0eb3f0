//! Managing the feed list with the real `newswire` binary: add (with discovery), remove,
//! enable, disable, OPML import and export; the config file's comments kept byte for byte,
//! and a running daemon following the edits by itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// A config with comments, odd spacing and blank lines, which every edit must keep.
const HEADER: &str = "# newswire test config: every comment here must survive the CLI's edits.

database = \"newswire.db\"   # beside this file
listen = \"127.0.0.1:0\"

[fetch]
timeout = \"5s\"    # fixtures answer at once

# ---- the feeds ----
#   keep this block: it is for humans

";

struct Run {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args` on the config at `config`, off the async runtime.
async fn newswire(config: &Path, args: &[&str]) -> Run {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out: Output = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the newswire binary runs")
    })
    .await
    .unwrap();
    Run {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A config file beside a database, with [`HEADER`] and then `feeds`.
fn env_with(feeds: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.toml");
    let text = format!("{HEADER}{feeds}");
    std::fs::write(&path, &text).unwrap();
    (dir, path, text)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// (name, url, tags) of every feed the config at `p` loads.
fn feeds(p: &Path) -> Vec<(String, String, Vec<String>)> {
    newswire::config::Config::load(p)
        .unwrap()
        .feeds
        .into_iter()
        .map(|f| (f.name, f.url.to_string(), f.tags))
        .collect()
}

fn feed_tuple(name: &str, url: &str, tags: &[&str]) -> (String, String, Vec<String>) {
    (
        name.to_string(),
        url.to_string(),
        tags.iter().map(|t| t.to_string()).collect(),
    )
}

fn html(body_head: &str) -> Route {
    Route::feed(
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html><html><head><title>Site</title>{body_head}</head><body>hi</body></html>"
        ),
    )
}

const METRO_TABLE: &str = "[[feed]]\nname = \"metro\"   # the local paper\nurl = \"{METRO}\"\ntags = [ \"local\" ]   # odd spacing kept\n";

fn metro_table(srv: &FixtureServer) -> String {
    METRO_TABLE.replace("{METRO}", &srv.url("/metro.xml"))
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_feed_url_appends_one_table_and_keeps_the_rest_byte_for_byte() {
    let srv = FixtureServer::start().await;
    srv.set("/metro.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set("/world.rss", Route::rss(fixture("ledger-world.rss.xml")));
    let (_d, path, old) = env_with(&metro_table(&srv));

    let r = newswire(
        &path,
        &[
            "add",
            &srv.url("/world.rss"),
            "--tag",
            "world",
            "--tag",
            "business",
        ],
    )
    .await;
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(&format!(
            "added \"the-daily-ledger-world\": {} (\"The Daily Ledger | World\", 2 entries)",
            srv.url("/world.rss")
        )),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("tags: world, business"), "{}", r.stdout);
    assert_eq!(
        read(&path),
        format!(
            "{old}\n[[feed]]\nname = \"the-daily-ledger-world\"\nurl = \"{}\"\ntags = [\"world\", \"business\"]\n",
            srv.url("/world.rss")
        )
    );
    assert_eq!(srv.hits("/world.rss"), 1, "fetched once to check it");

    // the same title again gets a name of its own; --name wins over the title
    srv.set("/world2.rss", Route::rss(fixture("ledger-world.rss.xml")));
    srv.set("/world3.rss", Route::rss(fixture("ledger-world.rss.xml")));
    assert!(newswire(&path, &["add", &srv.url("/world2.rss")]).await.ok);
    let r = newswire(&path, &["add", &srv.url("/world3.rss"), "--name", "ledger"]).await;
    assert!(r.ok, "{}", r.stderr);
    let names: Vec<String> = feeds(&path).into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [
            "metro",
            "the-daily-ledger-world",
            "the-daily-ledger-world-2",
            "ledger"
        ]
    );
    assert!(read(&path).starts_with(&old));
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_home_page_finds_the_feed_it_advertises() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/",
        html(r#"<link rel="stylesheet" href="/s.css"><link rel="alternate" type="application/atom+xml" title="Business" href="/business/atom.xml">"#),
    );
    srv.set(
        "/business/atom.xml",
        Route::atom(fixture("harbour-business.atom.xml")),
    );
    let (_d, path, old) = env_with("");
    let r = newswire(&path, &["add", &srv.url("/"), "--tag", "business"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains("advertised by"),
        "says how it was found: {}",
        r.stdout
    );
    assert_eq!(
        feeds(&path),
        [feed_tuple(
            "the-harbour-times-business",
            &srv.url("/business/atom.xml"),
            &["business"]
        )]
    );
    assert!(read(&path).starts_with(&old));
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_home_page_without_link_tries_the_common_paths() {
    let srv = FixtureServer::start().await;
    srv.set("/blog/", html(""));
    srv.set("/feed", Route::rss(fixture("metro-wire.rss.xml")));
    let (_d, path, old) = env_with("");
    let r = newswire(&path, &["add", &srv.url("/blog/")]).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(
        feeds(&path),
        [feed_tuple("metro-wire-top-stories", &srv.url("/feed"), &[])]
    );
    assert_eq!(srv.hits("/blog/feed"), 1, "beside the page first");
    assert!(read(&path).starts_with(&old));
}

#[tokio::test(flavor = "multi_thread")]
async fn add_refuses_what_is_not_a_feed_and_leaves_the_file_alone() {
    let srv = FixtureServer::start().await;
    srv.set("/metro.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set("/page.html", html(""));
    srv.set("/broken.xml", Route::rss(fixture("broken.rss.xml")));
    let (_d, path, old) = env_with(&metro_table(&srv));

    let r = newswire(&path, &["add", &srv.url("/page.html")]).await;
    assert!(!r.ok);
    assert!(
        r.stderr
            .contains(&format!("no feed found at {}", srv.url("/page.html"))),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&srv.url("/rss.xml")),
        "lists what it tried: {}",
        r.stderr
    );
    assert_eq!(read(&path), old);

    let r = newswire(&path, &["add", &srv.url("/missing.xml")]).await;
    assert!(!r.ok);
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    assert_eq!(read(&path), old);

    let r = newswire(&path, &["add", &srv.url("/broken.xml")]).await;
    assert!(!r.ok, "{}", r.stdout);
    assert_eq!(read(&path), old);

    let r = newswire(&path, &["add", "ftp://example.com/feed"]).await;
    assert!(!r.ok);
    assert!(
        r.stderr.contains("not an http:// or https:// URL"),
        "{}",
        r.stderr
    );

    let r = newswire(
        &path,
        &["add", &srv.url("/metro.xml"), "--name", "Not A Slug"],
    )
    .await;
    assert!(!r.ok);
    assert_eq!(read(&path), old);
}

#[tokio::test(flavor = "multi_thread")]
async fn add_refuses_a_url_already_in_the_config() {
    let srv = FixtureServer::start().await;
    srv.set("/metro.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set(
        "/home",
        html(r#"<link rel="alternate" type="application/rss+xml" href="/metro.xml">"#),
    );
    let (_d, path, old) = env_with(&metro_table(&srv));

    let r = newswire(&path, &["add", &srv.url("/metro.xml")]).await;
    assert!(!r.ok);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains(&format!(
            "{} is already in the config, as feed \"metro\"",
            srv.url("/metro.xml")
        )),
        "{}",
        r.stderr
    );
    assert_eq!(srv.hits("/metro.xml"), 0, "refused before fetching");
    // found through a page: refused too
    let r = newswire(&path, &["add", &srv.url("/home")]).await;
    assert!(!r.ok);
    assert!(r.stderr.contains("as feed \"metro\""), "{}", r.stderr);
    // a name already taken
    srv.set("/world.rss", Route::rss(fixture("ledger-world.rss.xml")));
    let r = newswire(&path, &["add", &srv.url("/world.rss"), "--name", "metro"]).await;
    assert!(!r.ok);
    assert!(
        r.stderr.contains("already called \"metro\""),
        "{}",
        r.stderr
    );
    assert_eq!(read(&path), old);
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_enable_disable_change_only_their_feed() {
    let a =
        "[[feed]]\nname = \"alpha\"\nurl = \"https://alpha.example/feed\"\ntags = [\"world\"]\n";
    let b = "# beta is slow on Mondays\n[[feed]]\nname = \"beta\"    # aligned\nurl = \"https://beta.example/rss\"\nenabled = true   # for now\n";
    let c = "[[feed]]\nname = \"gamma\"\nurl = \"https://gamma.example/atom\"\n\n# the end\n";
    let (_d, path, old) = env_with(&format!("{a}\n{b}\n{c}"));

    let r = newswire(&path, &["disable", "beta"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(r.stdout, "disabled \"beta\"\n");
    let b_off = b.replace("enabled = true", "enabled = false");
    assert_eq!(read(&path), format!("{HEADER}{a}\n{b_off}\n{c}"));

    let r = newswire(&path, &["disable", "gamma"]).await;
    assert!(r.ok, "{}", r.stderr);
    let c_off = c.replace("\n\n# the end", "\nenabled = false\n\n# the end");
    assert_eq!(read(&path), format!("{HEADER}{a}\n{b_off}\n{c_off}"));

    let r = newswire(&path, &["enable", "beta"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(read(&path), format!("{HEADER}{a}\n{b}\n{c_off}"));
    let r = newswire(&path, &["enable", "alpha"]).await;
    assert_eq!(r.stdout, "\"alpha\" was already enabled\n");
    assert_eq!(read(&path), format!("{HEADER}{a}\n{b}\n{c_off}"));
    let loaded = newswire::config::Config::load(&path).unwrap();
    let enabled: Vec<bool> = loaded.feeds.iter().map(|f| f.enabled).collect();
    assert_eq!(enabled, [true, true, false]);

    // removing the first feed keeps the section comment above it
    let r = newswire(&path, &["remove", "alpha"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(read(&path), format!("{HEADER}{b}\n{c_off}"));
    // a comment glued to a feed goes with it
    let r = newswire(&path, &["remove", "beta"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(read(&path), format!("{HEADER}{c_off}"));

    // unknown names: a clear error listing the feeds, non-zero exit, file untouched
    let before = read(&path);
    for cmd in ["remove", "enable", "disable"] {
        let r = newswire(&path, &[cmd, "delta"]).await;
        assert!(!r.ok);
        assert_eq!(r.code, Some(1));
        assert_eq!(
            r.stderr.trim_end(),
            "error: no feed is called \"delta\"; the feeds are: gamma"
        );
        assert_eq!(read(&path), before);
    }
    assert!(old.starts_with(HEADER));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_that_does_not_load_is_not_edited() {
    let (_d, path, old) =
        env_with("[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\nschedule = \"often\"\n");
    let r = newswire(&path, &["disable", "a"]).await;
    assert_eq!(r.code, Some(2), "a config error: {}", r.stderr);
    assert!(r.stderr.contains("newswire.toml:"), "{}", r.stderr);
    assert_eq!(read(&path), old);
}

/// The titles of the merged Atom feed, once they satisfy `ok`.
async fn wait_for_titles(d: &Daemon, what: &str, ok: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = reqwest::get(d.url("/feed.atom"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let feed = feed_rs::parser::parse(&body[..]).expect("the served Atom parses");
        let titles: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        if ok(&titles) {
            return titles;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; feed has {titles:?}; log:\n{}",
                d.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_daemon_picks_up_added_and_removed_feeds_by_itself() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss_stories("Wire A", &[("a1", "Ceasefire talks resume")])),
    );
    srv.set(
        "/b.xml",
        Route::rss(rss_stories("Paper B", &[("b1", "Markets rally")])),
    );
    let (_d, path, _old) = env_with(&format!(
        "[[feed]]\nname = \"wire-a\"\nurl = \"{}\"\n",
        srv.url("/a.xml")
    ));
    let d = Daemon::start(&path);
    wait_for_titles(&d, "the first feed", |t| t == ["Ceasefire talks resume"]).await;

    let r = newswire(&path, &["add", &srv.url("/b.xml"), "--tag", "business"]).await;
    assert!(r.ok, "{}", r.stderr);
    let mut t = wait_for_titles(&d, "the added feed's story", |t| t.len() == 2).await;
    t.sort();
    assert_eq!(t, ["Ceasefire talks resume", "Markets rally"]);

    let r = newswire(&path, &["remove", "wire-a"]).await;
    assert!(r.ok, "{}", r.stderr);
    wait_for_titles(&d, "the removed feed's story to leave", |t| {
        t == ["Markets rally"]
    })
    .await;
    assert!(!d.log().contains("config reload failed"), "{}", d.log());
}

/// Imports tests/fixtures/`name` into a config with no feeds, and returns what it says and
/// the feeds it made.
async fn import_into_empty(name: &str) -> (Run, Vec<(String, String, Vec<String>)>, String) {
    let (d, path, old) = env_with("");
    let opml = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let r = newswire(&path, &["opml", "import", opml.to_str().unwrap()]).await;
    assert!(r.ok, "{name}: {}", r.stderr);
    let text = read(&path);
    assert!(text.starts_with(&old), "{name}: the header is kept");
    let f = feeds(&path);
    drop(d);
    (r, f, text)
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_import_miniflux_folders_become_tags() {
    let (r, got, _) = import_into_empty("opml-miniflux.opml").await;
    assert_eq!(
        got,
        [
            feed_tuple(
                "the-daily-ledger-world",
                "https://www.dailyledger.example/world/rss",
                &["all"]
            ),
            feed_tuple(
                "metro-wire-top-stories",
                "https://metrowire.example/feed/",
                &["all"]
            ),
            feed_tuple(
                "northwind-science",
                "https://northwind.example/feed.json",
                &["science-tech"]
            ),
            feed_tuple(
                "pixel-bolt",
                "https://pixelbolt.example/atom.xml?lang=en&full=1",
                &["science-tech"]
            ),
            feed_tuple(
                "le-quotidien-economique",
                "https://quotidien-eco.example/rss.xml",
                &["économie"]
            ),
        ]
    );
    assert!(
        r.stdout.contains("added 5, skipped 0 duplicates"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("added pixel-bolt"), "{}", r.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_import_freshrss_folders_and_categories() {
    let (r, got, _) = import_into_empty("opml-freshrss.opml").await;
    assert_eq!(
        got,
        [
            feed_tuple(
                "harbour-times-business",
                "https://www.harbourtimes.example/business/atom.xml",
                &["sports"]
            ),
            feed_tuple(
                "regatta-weekly",
                "https://regatta.example/rss",
                &["sports", "sailing", "local-news"]
            ),
            feed_tuple(
                "the-coast-post-local",
                "https://coastpost.example/local/atom.xml",
                &["uncategorized"]
            ),
            feed_tuple(
                "linux-digest",
                "https://linuxdigest.example/feed.xml",
                &["tech", "linux"]
            ),
        ]
    );
    assert!(
        r.stdout.contains("added 4, skipped 0 duplicates"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_import_newsboat_flat_list_and_missing_titles() {
    let (r, got, _) = import_into_empty("opml-newsboat.opml").await;
    assert_eq!(
        got,
        [
            feed_tuple(
                "the-daily-ledger-world",
                "https://www.dailyledger.example/world/rss",
                &[]
            ),
            feed_tuple(
                "hacker-news-front-page",
                "https://hn-mirror.example/frontpage",
                &[]
            ),
            feed_tuple(
                "quietblog-example",
                "https://www.quietblog.example/index.xml",
                &[]
            ),
            feed_tuple(
                "metro-wire-top-stories",
                "https://metrowire.example/feed/",
                &[]
            ),
        ]
    );
    assert!(
        r.stdout.contains("added 4, skipped 0 duplicates"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_import_netnewswire() {
    let (r, got, _) = import_into_empty("opml-netnewswire.opml").await;
    assert_eq!(
        got,
        [
            feed_tuple("six-colors-daily", "https://sixcolors.example/feed/", &[]),
            feed_tuple(
                "mac-rumours-desk",
                "https://feeds.macrumours.example/MacRumours-All",
                &["apple"]
            ),
            feed_tuple(
                "swift-friends",
                "https://swiftfriends.example/rss.xml",
                &["apple"]
            ),
            feed_tuple(
                "the-daily-ledger-world",
                "https://www.dailyledger.example/world/rss",
                &["journalism"]
            ),
        ]
    );
    assert!(
        r.stdout.contains("added 4, skipped 0 duplicates"),
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_import_skips_duplicates_and_keeps_names_unique() {
    let (_d, path, old) = env_with(
        "[[feed]]\nname = \"ledger\"   # mine\nurl = \"https://www.dailyledger.example/world/rss\"\n",
    );
    let fixture_path = |n: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(n)
            .to_str()
            .unwrap()
            .to_string()
    };
    let r = newswire(
        &path,
        &["opml", "import", &fixture_path("opml-newsboat.opml")],
    )
    .await;
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains("added 3, skipped 1 duplicates"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "skipped https://www.dailyledger.example/world/rss (already feed \"ledger\")"
        ),
        "{}",
        r.stdout
    );
    // again: everything is there already, and the file does not change
    let after_first = read(&path);
    assert!(after_first.starts_with(&old));
    let r = newswire(
        &path,
        &["opml", "import", &fixture_path("opml-newsboat.opml")],
    )
    .await;
    assert!(
        r.stdout.contains("added 0, skipped 4 duplicates"),
        "{}",
        r.stdout
    );
    assert_eq!(read(&path), after_first);

    // twice in one file, a title that is already a name, a URL that cannot be polled
    let doc = r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
<outline text="Metro Wire: Top Stories" xmlUrl="https://other-metro.example/rss"/>
<outline text="Twice" xmlUrl="https://twice.example/feed"/>
<outline text="Twice again" xmlUrl="https://twice.example/feed"/>
<outline text="Local" xmlUrl="file:///etc/passwd"/>
</body></opml>"#;
    let opml = path.with_file_name("mine.opml");
    std::fs::write(&opml, doc).unwrap();
    let r = newswire(&path, &["opml", "import", opml.to_str().unwrap()]).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("added 2, skipped 1 duplicates, 1 without an http(s) URL"),
        "{}",
        r.stdout
    );
    let names: Vec<String> = feeds(&path).into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [
            "ledger",
            "hacker-news-front-page",
            "quietblog-example",
            "metro-wire-top-stories",
            "metro-wire-top-stories-2",
            "twice"
        ]
    );

    // not OPML at all: an error, the file untouched
    let before = read(&path);
    std::fs::write(&opml, fixture("metro-wire.rss.xml")).unwrap();
    let r = newswire(&path, &["opml", "import", opml.to_str().unwrap()]).await;
    assert!(!r.ok);
    assert!(r.stderr.contains("not an OPML document"), "{}", r.stderr);
    assert_eq!(read(&path), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn opml_export_then_import_gives_the_same_feeds_and_tags() {
    let srv = FixtureServer::start().await;
    srv.set("/metro.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set("/world.rss", Route::rss(fixture("ledger-world.rss.xml")));
    let (_d, path, _) = env_with(&format!(
        "[[feed]]\nname = \"metro\"\nurl = \"{}\"\ntags = [\"local\", \"world\"]\n\n\
         [[feed]]\nname = \"ledger_world.v2\"\nurl = \"{}\"\ntags = [\"world\"]\n\n\
         [[feed]]\nname = \"plain\"\nurl = \"https://plain.example/feed?a=1&b=2\"\nenabled = false\n\n\
         [[feed]]\nname = \"opinion-only\"\nurl = \"https://op.example/rss\"\ntags = [\"opinion\"]\n",
        srv.url("/metro.xml"),
        srv.url("/world.rss")
    ));
    // a poll first, so that the sites' home pages are known; its output is plain lines
    let r = newswire(&path, &["poll"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(
        !r.stdout.contains('\u{1b}'),
        "no terminal codes: {:?}",
        r.stdout
    );
    assert!(
        r.stdout.contains("polled 3 feeds in") && r.stdout.contains("2 ok"),
        "{}",
        r.stdout
    );

    let r = newswire(&path, &["opml", "export"]).await;
    assert!(r.ok, "{}", r.stderr);
    let doc = r.stdout;
    assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">"));
    assert!(
        doc.contains("htmlUrl=\"https://metrowire.example/\""),
        "{doc}"
    );
    assert!(
        doc.contains("xmlUrl=\"https://plain.example/feed?a=1&amp;b=2\""),
        "{doc}"
    );
    assert!(
        doc.contains("<outline text=\"local\" title=\"local\">"),
        "{doc}"
    );
    assert_eq!(doc.matches("type=\"rss\"").count(), 4, "{doc}");

    let (_d2, empty, _) = env_with("");
    let exported = empty.with_file_name("export.opml");
    std::fs::write(&exported, &doc).unwrap();
    let r = newswire(&empty, &["opml", "import", exported.to_str().unwrap()]).await;
    assert!(r.ok, "{}", r.stderr);
    let mut before = feeds(&path);
    let mut after = feeds(&empty);
    before.sort();
    after.sort();
    assert_eq!(after, before);
}

/// A page advertising a comments feed first, then the posts, and a feed that is gone.
fn page_with_several_feeds(srv: &FixtureServer) {
    srv.set(
        "/",
        html(
            r#"<link rel="alternate" type="application/rss+xml" title="Site &raquo; Comments Feed" href="/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="Site &raquo; Feed" href="/feed/">
<link rel="alternate" type="application/atom+xml" title="Old" href="/old.atom">"#,
        ),
    );
    srv.set("/comments/feed/", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set("/feed/", Route::rss(fixture("ledger-world.rss.xml")));
    srv.set("/old.atom", Route::status(404));
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_page_with_several_feeds_lists_them_and_takes_pick() {
    let srv = FixtureServer::start().await;
    page_with_several_feeds(&srv);
    let (_d, path, old) = env_with("");
    let listed = format!(
        "  1. Site \u{bb} Comments Feed <{}>\n  2. Site \u{bb} Feed <{}>\n",
        srv.url("/comments/feed/"),
        srv.url("/feed/")
    );

    // not at a terminal, no --pick: the list, and how to choose
    let r = newswire(&path, &["add", &srv.url("/")]).await;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains(&listed), "{}", r.stderr);
    assert!(r.stderr.contains("rerun with --pick N"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("Old"),
        "a feed that is gone is not offered: {}",
        r.stderr
    );
    assert_eq!(read(&path), old);

    let r = newswire(&path, &["add", &srv.url("/"), "--pick", "3"]).await;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("--pick 3")
            && r.stderr.contains("from 1 to 2")
            && r.stderr.contains(&listed),
        "{}",
        r.stderr
    );
    assert_eq!(read(&path), old);

    let r = newswire(&path, &["add", &srv.url("/"), "--pick", "2"]).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("advertised by"), "{}", r.stdout);
    assert_eq!(
        feeds(&path),
        [feed_tuple(
            "the-daily-ledger-world",
            &srv.url("/feed/"),
            &[]
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn add_at_a_terminal_asks_which_feed() {
    let srv = FixtureServer::start().await;
    page_with_several_feeds(&srv);
    let (_d, path, _old) = env_with("");
    let args: Vec<String> = vec![
        "add".into(),
        srv.url("/"),
        "--config".into(),
        path.display().to_string(),
    ];
    // first an answer that is not one of the numbers, then 1
    let screen = tokio::task::spawn_blocking(move || {
        newswire_at_terminal(&args, &[("RUST_LOG", "warn")], b"7\n1\n")
    })
    .await
    .unwrap();
    let term = screen.text;
    assert!(screen.ok, "{term}");
    assert!(term.contains("advertises 2 feeds:"), "{term}");
    assert!(
        term.contains(&format!(
            "  1. Site \u{bb} Comments Feed <{}>",
            srv.url("/comments/feed/")
        )),
        "{term}"
    );
    assert!(term.contains("Which one? [1-2]"), "{term}");
    assert!(term.contains("type a number from 1 to 2"), "{term}");
    assert_eq!(
        feeds(&path),
        [feed_tuple(
            "metro-wire-top-stories",
            &srv.url("/comments/feed/"),
            &[]
        )]
    );
}
