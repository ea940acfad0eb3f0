//! End to end: the real `newswire` binary against a fixture server on 127.0.0.1:0.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Stories whose links carry tracking parameters and whose descriptions are HTML.
fn rss(title: &str, items: &[(&str, &str)]) -> String {
    let items: Vec<String> = items
        .iter()
        .map(|(guid, t)| {
            format!(
                "<item><guid>{guid}</guid><title>{t}</title><link>https://news.example.com/{guid}.html?utm_source=rss</link>\
                 <description>&lt;p&gt;{t} body&lt;/p&gt;</description><pubDate>{STORY_DATE}</pubDate></item>"
            )
        })
        .collect();
    rss_document(title, "", &items)
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// Waits until the merged Atom feed satisfies `ok`, and returns it.
async fn wait_for_feed(
    d: &Daemon,
    what: &str,
    ok: impl Fn(&feed_rs::model::Feed) -> bool,
) -> feed_rs::model::Feed {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = get(&d.url("/feed.atom")).await.bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&body[..]).expect("the served Atom parses");
        if ok(&feed) {
            return feed;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what}; feed has {:?}; log:\n{}",
                titles(&feed),
                d.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn run_serves_the_merged_feed_and_stops_cleanly_on_sigterm() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss(
            "Wire A",
            &[("a1", "Ceasefire talks resume"), ("shared", "Summit ends")],
        )),
    );
    srv.set(
        "/b.xml",
        Route::rss(rss(
            "Paper B",
            &[("shared", "Summit ends"), ("b1", "Markets rally")],
        )),
    );
    srv.set("/broken.xml", Route::status(500));
    let env = TestEnv::new(&format!(
        "[output]\nfile = \"out/merged.atom\"\n\n\
         [[feed]]\nname = \"wire-a\"\nurl = \"{}\"\ntags = [\"world\"]\n\n\
         [[feed]]\nname = \"paper-b\"\nurl = \"{}\"\ntags = [\"business\"]\n\n\
         [[feed]]\nname = \"broken\"\nurl = \"{}\"\n",
        srv.url("/a.xml"),
        srv.url("/b.xml"),
        srv.url("/broken.xml")
    ));
    let d = Daemon::start(&env.config_path);

    // both working feeds land; the shared story (same canonical URL) appears once
    let feed = wait_for_feed(&d, "three stories", |f| f.entries.len() == 3).await;
    let mut t = titles(&feed);
    t.sort();
    assert_eq!(
        t,
        vec!["Ceasefire talks resume", "Markets rally", "Summit ends"]
    );
    let shared = feed
        .entries
        .iter()
        .find(|e| e.title.as_ref().unwrap().content == "Summit ends")
        .unwrap();
    assert_eq!(shared.links[0].href, "https://news.example.com/shared.html");

    // conditional GET on the merged feed
    let resp = get(&d.url("/feed.atom")).await;
    assert_eq!(
        resp.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let again = reqwest::Client::new()
        .get(d.url("/feed.atom"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // the three formats and the views
    let rss_body = get(&d.url("/feed.rss")).await.text().await.unwrap();
    let channel = rss::Channel::read_from(rss_body.as_bytes()).expect("the served RSS parses");
    assert_eq!(channel.items().len(), 3);
    let json: serde_json::Value = get(&d.url("/feed.json")).await.json().await.unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["items"].as_array().unwrap().len(), 3);
    let world = feed_rs::parser::parse(
        &get(&d.url("/feed.atom?tag=world"))
            .await
            .bytes()
            .await
            .unwrap()[..],
    )
    .unwrap();
    assert_eq!(world.entries.len(), 2);
    let one = feed_rs::parser::parse(
        &get(&d.url("/feed.atom?feed=paper-b&limit=1"))
            .await
            .bytes()
            .await
            .unwrap()[..],
    )
    .unwrap();
    assert_eq!(one.entries.len(), 1);
    assert_eq!(get(&d.url("/feed.atom?feed=nope")).await.status(), 404);
    assert_eq!(get(&d.url("/feed.atom?limit=lots")).await.status(), 400);

    // health of every feed, the failing one included
    let status: serde_json::Value = get(&d.url("/status")).await.json().await.unwrap();
    let feeds = status["feeds"].as_array().unwrap();
    assert_eq!(feeds.len(), 3);
    let broken = feeds.iter().find(|f| f["name"] == "broken").unwrap();
    assert_eq!(broken["state"], "failing");
    assert_eq!(broken["last_status"], 500);
    assert!(broken["last_error"].as_str().unwrap().contains("500"));
    let a = feeds.iter().find(|f| f["name"] == "wire-a").unwrap();
    assert_eq!(a["state"], "ok");
    assert_eq!(a["article_count"], 2);

    // the output file holds the same merged feed
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = env.dir.path().join("out/merged.atom");
    loop {
        if let Ok(bytes) = std::fs::read(&out) {
            if let Ok(f) = feed_rs::parser::parse(&bytes[..]) {
                if f.entries.len() == 3 {
                    break;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "output file not written; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let log = d.log();
    let status = d.stop();
    assert!(status.success(), "exit status {status:?}; log:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_running_daemon_follows_config_edits() {
    let srv = FixtureServer::start().await;
    srv.set("/a.xml", Route::rss(rss("A", &[("a1", "Story from A")])));
    srv.set("/b.xml", Route::rss(rss("B", &[("b1", "Story from B")])));
    let feed_a = format!("[[feed]]\nname = \"a\"\nurl = \"{}\"\n", srv.url("/a.xml"));
    let feed_b = format!("[[feed]]\nname = \"b\"\nurl = \"{}\"\n", srv.url("/b.xml"));
    let env = TestEnv::new(&feed_a);
    let d = Daemon::start(&env.config_path);
    wait_for_feed(&d, "A's story", |f| titles(f) == ["Story from A"]).await;

    // add B: polled and published without a restart
    let before = get(&d.url("/feed.atom")).await;
    let last_modified = before.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    // HTTP dates have one-second resolution
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.write(&format!("{feed_a}\n{feed_b}"));
    wait_for_feed(&d, "B's story", |f| f.entries.len() == 2).await;
    // a reader that only sends If-Modified-Since sees the change, though B's story is no newer
    let ims = reqwest::Client::new()
        .get(d.url("/feed.atom"))
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ims.status(),
        200,
        "Last-Modified {last_modified} -> {:?}",
        ims.headers().get("last-modified")
    );
    let now_modified = ims.headers()["last-modified"].to_str().unwrap().to_string();
    let again = reqwest::Client::new()
        .get(d.url("/feed.atom"))
        .header("If-Modified-Since", &now_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // remove A: its story leaves the merged feed
    env.write(&feed_b);
    wait_for_feed(&d, "A's story to leave", |f| titles(f) == ["Story from B"]).await;

    // a broken edit is reported and the daemon keeps the last good config
    env.write("[[feed]]\nname = \"b\"\nurl = \"not a url\"\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.log().contains("keeping the last good config") {
        assert!(
            Instant::now() < deadline,
            "broken edit not reported; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        d.log().contains("newswire.toml:"),
        "the error names the file; log:\n{}",
        d.log()
    );
    let feed = wait_for_feed(&d, "B still served", |f| f.entries.len() == 1).await;
    assert_eq!(titles(&feed), ["Story from B"]);
    let status: serde_json::Value = get(&d.url("/status")).await.json().await.unwrap();
    assert_eq!(status["feeds"][0]["name"], "b");

    // fixing the edit brings A back
    env.write(&format!("{feed_b}\n{feed_a}"));
    wait_for_feed(&d, "A back", |f| f.entries.len() == 2).await;

    // SIGHUP reloads even when the file did not change
    let reloads = d.log().matches("config reloaded").count();
    d.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while d.log().matches("config reloaded").count() == reloads {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(d.stop().success());
}

/// The cron schedule drives polling: per-feed overrides apply, a feed is never polled twice
/// at the same time, and a slow feed does not hold up the others.
#[tokio::test(flavor = "multi_thread")]
async fn feeds_are_polled_on_their_schedules() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/fast.xml",
        Route::rss(rss("Fast", &[("f1", "Fast story")])),
    );
    let mut slow = Route::rss(rss("Slow", &[("s1", "Slow story")]));
    slow.delay_ms = 2500;
    srv.set("/slow.xml", slow);
    srv.set(
        "/daily.xml",
        Route::rss(rss("Daily", &[("d1", "Daily story")])),
    );
    let env = TestEnv::new("");
    std::fs::write(
        &env.config_path,
        format!(
            "database = \"newswire.db\"\nlisten = \"127.0.0.1:0\"\nschedule = \"0 0 0 1 1 *\"\n\n\
             [[feed]]\nname = \"fast\"\nurl = \"{}\"\nschedule = \"* * * * * *\"\n\n\
             [[feed]]\nname = \"slow\"\nurl = \"{}\"\nschedule = \"* * * * * *\"\n\n\
             [[feed]]\nname = \"daily\"\nurl = \"{}\"\n",
            srv.url("/fast.xml"),
            srv.url("/slow.xml"),
            srv.url("/daily.xml")
        ),
    )
    .unwrap();
    let d = Daemon::start(&env.config_path);
    wait_for_feed(&d, "all three", |f| f.entries.len() == 3).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (fast, slow, daily) = (
        srv.hits("/fast.xml"),
        srv.hits("/slow.xml"),
        srv.hits("/daily.xml"),
    );
    assert!(d.stop().success());
    // every second while the slow feed's requests take 2.5 s each
    assert!(fast >= 5, "fast feed polled {fast} times");
    assert_eq!(
        srv.max_in_flight("/slow.xml"),
        1,
        "the slow feed was polled twice at once"
    );
    assert!((2..=4).contains(&slow), "slow feed polled {slow} times");
    // the global schedule (once a year) only brings the poll at start
    assert_eq!(daily, 1);
}

fn newswire(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_check_and_feeds_commands() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ok.xml",
        Route::rss(rss("OK", &[("1", "One"), ("2", "Two")])),
    );
    srv.set("/gone.xml", Route::status(404));
    let env = TestEnv::new(&format!(
        "[output]\nfile = \"merged.atom\"\n\n[[feed]]\nname = \"ok\"\nurl = \"{}\"\n\n[[feed]]\nname = \"gone\"\nurl = \"{}\"\n\n\
         [[feed]]\nname = \"off\"\nurl = \"{}\"\nenabled = false\n",
        srv.url("/ok.xml"),
        srv.url("/gone.xml"),
        srv.url("/off.xml")
    ));
    let cfg = env.config_path.clone();

    // the binary is blocking; run it off the runtime so the fixture server keeps answering
    let out = tokio::task::spawn_blocking(move || newswire(&["poll"], &cfg))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "poll exits 0 though a feed failed: {stdout}"
    );
    assert!(stdout.contains("ok: ok (200): 2 new"), "{stdout}");
    assert!(stdout.contains("gone: FAILED: HTTP 404"), "{stdout}");
    assert!(
        stdout.contains("1 ok, 0 not modified, 1 failed, 0 skipped"),
        "{stdout}"
    );
    assert_eq!(srv.hits("/off.xml"), 0, "a disabled feed is not polled");
    let merged = std::fs::read(env.dir.path().join("merged.atom")).unwrap();
    assert_eq!(
        feed_rs::parser::parse(&merged[..]).unwrap().entries.len(),
        2
    );

    // the second poll is answered by 304
    let cfg = env.config_path.clone();
    let out = tokio::task::spawn_blocking(move || newswire(&["poll"], &cfg))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: not modified (304)"));

    let out = newswire(&["feeds"], &env.config_path);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_string()
    };
    assert!(row("ok").contains("not_modified"), "{table}");
    assert!(
        row("gone").contains("failing") && row("gone").contains("404"),
        "{table}"
    );
    assert!(
        row("gone").contains(" 2 "),
        "two consecutive failures: {table}"
    );
    assert!(row("off").contains("disabled"), "{table}");

    let out = newswire(&["check"], &env.config_path);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 feeds (2 enabled)"));

    // a config error: exit 2, file:line:column and the key
    std::fs::write(
        &env.config_path,
        "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\nschedule = \"every day\"\n",
    )
    .unwrap();
    for cmd in ["check", "poll", "run", "feeds"] {
        let out = newswire(&[cmd], &env.config_path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(
            stderr.contains("newswire.toml:4:12: `feed.schedule`"),
            "{cmd}: {stderr}"
        );
    }
}

#[test]
fn config_comes_from_the_environment_or_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("newswire.toml"),
        "[[feed]]\nname = \"x\"\nurl = \"https://e.com/f\"\n",
    )
    .unwrap();
    let here = Command::new(BIN)
        .arg("check")
        .current_dir(dir.path())
        .env_remove("NEWSWIRE_CONFIG")
        .output()
        .unwrap();
    assert!(
        here.status.success(),
        "{}",
        String::from_utf8_lossy(&here.stderr)
    );
    let other = tempfile::tempdir().unwrap();
    let via_env = Command::new(BIN)
        .arg("check")
        .current_dir(other.path())
        .env("NEWSWIRE_CONFIG", dir.path().join("newswire.toml"))
        .output()
        .unwrap();
    assert!(
        via_env.status.success(),
        "{}",
        String::from_utf8_lossy(&via_env.stderr)
    );
    let missing = Command::new(BIN)
        .arg("check")
        .current_dir(other.path())
        .env_remove("NEWSWIRE_CONFIG")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("newswire.toml: cannot read the config file")
    );
}

/// A real reader nobody on the team wrote subscribes to the merged feed. `.ci/run` installs
/// newsboat and sets NEWSWIRE_REQUIRE_READERS, so in CI this never skips.
#[tokio::test(flavor = "multi_thread")]
async fn newsboat_reads_the_merged_atom_and_rss() {
    let Some(newsboat) = on_path("newsboat") else {
        assert!(
            std::env::var_os("NEWSWIRE_REQUIRE_READERS").is_none(),
            "newsboat is required here but not installed"
        );
        eprintln!("skipping: newsboat is not installed (apt-get install newsboat)");
        return;
    };
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss(
            "A",
            &[("a1", "Zürich &amp; Genève vote"), ("a2", "Кремль ответил")],
        )),
    );
    srv.set(
        "/b.xml",
        Route::rss(rss(
            "B",
            &[("a2", "Кремль ответил"), ("b1", "Rates on hold")],
        )),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"a\"\nurl = \"{}\"\n\n[[feed]]\nname = \"b\"\nurl = \"{}\"\n",
        srv.url("/a.xml"),
        srv.url("/b.xml")
    ));
    let d = Daemon::start(&env.config_path);
    wait_for_feed(&d, "three stories", |f| f.entries.len() == 3).await;

    // one cache per format: newsboat treats one guid as one item across its feeds, and the
    // story ids are (rightly) the same in every format
    for url in [d.url("/feed.atom"), d.url("/feed.rss")] {
        let home = tempfile::tempdir().unwrap();
        let urls = home.path().join("urls");
        let cache = home.path().join("cache.db");
        std::fs::write(&urls, format!("{url}\n")).unwrap();
        let (u, c, h, nb) = (
            urls.clone(),
            cache.clone(),
            home.path().to_path_buf(),
            newsboat.clone(),
        );
        let out = tokio::task::spawn_blocking(move || {
            Command::new(nb)
                .arg("-u")
                .arg(&u)
                .arg("-c")
                .arg(&c)
                .args(["-x", "reload"])
                .env("HOME", &h)
                .env("XDG_CONFIG_HOME", h.join(".config"))
                .env("XDG_DATA_HOME", h.join(".local/share"))
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "newsboat failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let db = rusqlite::Connection::open(&cache).unwrap();
        let mut stmt = db
            .prepare("SELECT title, url, pubDate FROM rss_item WHERE feedurl = ?1 ORDER BY title")
            .unwrap();
        let rows: Vec<(String, String, i64)> = stmt
            .query_map([&url], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let titles: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            titles,
            ["Rates on hold", "Zürich & Genève vote", "Кремль ответил"],
            "{url}"
        );
        for (_, link, date) in &rows {
            assert!(
                link.starts_with("https://news.example.com/") && !link.contains("utm_"),
                "{url}: {link}"
            );
            assert_eq!(
                *date, 1_748_858_400,
                "{url}: Mon, 02 Jun 2025 10:00:00 +0000"
            );
        }
    }
    assert!(d.stop().success());
}
