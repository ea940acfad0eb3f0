//! Serving while polls write: the merged feed comes from the last render, new stories show
//! within the documented bound (about a second) while a poll runs and at once when none
//! does, conditional GET follows the render served, and the parse threads run below the
//! server's priority. The real binary against a fixture server on 127.0.0.1:0.

mod common;

use std::time::{Duration, Instant};

use common::*;

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::new();
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
        .to_string()
}

/// Fetches `path` until its titles include every one of `want`; returns the last response's
/// ETag and Last-Modified.
async fn wait_for_titles(d: &Daemon, path: &str, want: &[&str]) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = get(&d.url(path), &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        let validators = (header(&r, "etag"), header(&r, "last-modified"));
        let body = r.bytes().await.unwrap();
        let feed = feed_rs::parser::parse(&body[..]).expect("the served Atom parses");
        let have = titles(&feed);
        if want.iter().all(|w| have.iter().any(|t| t == w)) {
            return validators;
        }
        if Instant::now() > deadline {
            panic!(
                "{path} never showed {want:?}; it has {have:?}; log:\n{}",
                d.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn feed_toml(name: &str, url: &str) -> String {
    format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\ntags = [\"world\"]\n\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn new_stories_show_while_a_poll_runs_and_validators_follow_the_render() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss_stories("A", &[("a1", "Alpha one")])),
    );
    let env = TestEnv::new(&feed_toml("a", &srv.url("/a.xml")));
    let d = Daemon::start(&env.config_path);
    for path in ["/feed.atom", "/feed.atom?tag=world"] {
        wait_for_titles(&d, path, &["Alpha one"]).await;
    }

    // the render served is the one the validators name
    let (etag, modified) = wait_for_titles(&d, "/feed.atom", &["Alpha one"]).await;
    let r = get(&d.url("/feed.atom"), &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 304);
    assert_eq!(header(&r, "etag"), etag);
    let r = get(&d.url("/feed.atom"), &[("if-modified-since", &modified)]).await;
    assert_eq!(r.status(), 304);

    // two new feeds: one answers at once, the other only after 3 s, so that a poll is still
    // running when the first one's stories are stored
    let mut slow = Route::rss(rss_stories("C", &[("c1", "Charlie three")]));
    slow.delay_ms = 3000;
    srv.set("/slow.xml", slow);
    srv.set(
        "/b.xml",
        Route::rss(rss_stories("B", &[("b1", "Bravo two")])),
    );
    env.write(&format!(
        "{}{}{}",
        feed_toml("a", &srv.url("/a.xml")),
        feed_toml("slow", &srv.url("/slow.xml")),
        feed_toml("b", &srv.url("/b.xml")),
    ));
    for path in ["/feed.atom", "/feed.atom?tag=world"] {
        wait_for_titles(&d, path, &["Alpha one", "Bravo two"]).await;
    }
    // a reader holding the old render's ETag gets the new one
    let r = get(&d.url("/feed.atom"), &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 200);
    assert_ne!(header(&r, "etag"), etag);

    // once every poll is over, what is served is current, and its validators hold
    let (etag, modified) = wait_for_titles(
        &d,
        "/feed.atom",
        &["Alpha one", "Bravo two", "Charlie three"],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.log().matches("polled new=").count() < 3 {
        assert!(Instant::now() < deadline, "three polls; log:\n{}", d.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = get(&d.url("/feed.atom"), &[("if-none-match", &etag)]).await;
    assert_eq!(
        r.status(),
        304,
        "nothing changed since the render that showed all three"
    );
    let r = get(&d.url("/feed.atom"), &[("if-modified-since", &modified)]).await;
    assert_eq!(r.status(), 304);
    assert!(d.stop().success());
}

/// The nice value of each of the process's threads, by thread name (`/proc`).
#[cfg(target_os = "linux")]
fn thread_nice(pid: u32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let dir = task.unwrap().path();
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        // fields after the command (which may hold spaces) in parentheses; nice is field 19
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let nice = after.split(' ').nth(16).unwrap().parse().unwrap();
        out.push((name.trim().to_string(), nice));
    }
    out
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_parses_below_the_priority_it_serves_at() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss_stories("A", &[("a1", "Alpha one")])),
    );
    let env = TestEnv::new(&feed_toml("a", &srv.url("/a.xml")));
    let d = Daemon::start(&env.config_path);
    wait_for_titles(&d, "/feed.atom", &["Alpha one"]).await;
    let threads = thread_nice(d.pid());
    let main = threads
        .iter()
        .find(|(n, _)| n == "newswire")
        .expect("main thread")
        .1;
    let parse: Vec<i32> = threads
        .iter()
        .filter(|(n, _)| n.starts_with("newswire-parse"))
        .map(|t| t.1)
        .collect();
    assert!(!parse.is_empty(), "parse threads: {threads:?}");
    assert!(
        parse.iter().any(|&n| n == (main + 10).min(19)),
        "a parse thread that parsed runs 10 below the process: {threads:?}"
    );
    assert!(parse.iter().all(|&n| n >= main), "{threads:?}");
    // the server's threads keep the process's priority
    let workers: Vec<i32> = threads
        .iter()
        .filter(|(n, _)| n.starts_with("tokio-r"))
        .map(|t| t.1)
        .collect();
    assert!(!workers.is_empty(), "{threads:?}");
    assert!(workers.iter().all(|&n| n == main), "{threads:?}");
}
