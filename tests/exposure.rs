//! What the HTTP server exposes, tried from outside against the real binary: no method but
//! GET/HEAD does anything, path parameters and query values cannot escape their lookups or
//! come back as markup, and every answer says `nosniff`.

mod common;

use std::time::Duration;

use common::*;

const ROUTES: &[&str] = &[
    "/",
    "/feed.atom",
    "/feed.rss",
    "/feed.json",
    "/views/world",
    "/views/world.atom",
    "/status",
    "/metrics",
    "/healthz",
];

async fn world() -> (FixtureServer, TestEnv) {
    let srv = FixtureServer::start().await;
    srv.set(
        "/world.xml",
        Route::rss(rss_stories(
            "World Wire",
            &[
                ("w1", "Moscow talks resume"),
                ("w2", "Harvest festival opens"),
            ],
        )),
    );
    srv.set(
        "/biz.xml",
        Route::rss(rss_stories("Biz Daily", &[("b1", "Markets rally")])),
    );
    let env = TestEnv::new(&format!(
        r#"[[feed]]
name = "world-wire"
url = "{}"
tags = ["world"]

[[feed]]
name = "biz-daily"
url = "{}"
tags = ["business"]

[[view]]
name = "world"
title = "World"
tags = ["world"]
"#,
        srv.url("/world.xml"),
        srv.url("/biz.xml")
    ));
    (srv, env)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The body of a GET, whatever its status.
async fn text(url: &str) -> String {
    text_with(client().get(url)).await
}

async fn text_with(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Waits until the startup poll has stored all three stories.
async fn ready(d: &Daemon) -> String {
    for _ in 0..100 {
        if let Ok(r) = client().get(d.url("/feed.atom")).send().await {
            let body = r.text().await.unwrap_or_default();
            if body.matches("<entry>").count() == 3 {
                return body;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the startup poll did not store the three stories\n{}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_method_but_get_and_head_does_anything() {
    let (_srv, env) = world().await;
    let d = Daemon::start(&env.config_path);
    let before = ready(&d).await;
    let config_before = std::fs::read(&env.config_path).unwrap();
    let db = env.dir.path().join("newswire.db");
    let count = || {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap();
        n
    };
    let entries_before = count();
    let mut tried = 0;
    for route in ROUTES {
        for method in [
            "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
        ] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = client()
                .request(m, d.url(route))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("name=x&url=http://evil.example/&enabled=false")
                .send()
                .await
                .unwrap();
            tried += 1;
            // 405; hyper answers CONNECT to a path (not an authority) with 404
            let want = if method == "CONNECT" { 404 } else { 405 };
            assert_eq!(
                r.status(),
                want,
                "{method} {route} must be refused, not served"
            );
            assert_eq!(
                r.headers()
                    .get("x-content-type-options")
                    .map(|v| v.to_str().unwrap()),
                Some("nosniff"),
                "{method} {route}"
            );
        }
    }
    assert_eq!(tried, ROUTES.len() * 7);
    // nothing changed: the config file, the stored entries, the merged feed
    assert_eq!(std::fs::read(&env.config_path).unwrap(), config_before);
    assert_eq!(count(), entries_before);
    let after = text(&d.url("/feed.atom")).await;
    assert_eq!(
        after.matches("<entry>").count(),
        before.matches("<entry>").count()
    );
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_and_query_values_cannot_escape_their_lookups() {
    let (_srv, env) = world().await;
    // a file the server could be tricked into showing: the config sits beside the database
    let d = Daemon::start(&env.config_path);
    ready(&d).await;
    let secret = "listen = \"127.0.0.1:0\"";
    let long = "a".repeat(16_000);
    let not_found: &[&str] = &[
        "/views/..%2F..%2F..%2Fetc%2Fpasswd",
        "/views/..%2Fnewswire.toml",
        "/views/%2e%2e%2fnewswire.toml",
        "/views/..%5Cnewswire.toml",
        "/views/world%00.atom",
        "/views/world%2F..%2Fworld.atom",
        "/views/WORLD.atom",
        "/views/world.atom.bak",
        "/views/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/views/world'%20OR%20'1'='1",
        "/feed.atom?feed=world-wire'%20OR%20'1'='1",
        "/feed.atom?feed=world-wire%00",
        "/feed.atom?feed=%25",
        "/feed.atom?feed=..%2Fnewswire.toml",
        "/feed.atom?tag=world'%20OR%201=1%20--",
        "/feed.atom?tag=%25",
        "/feed.atom?tag=%3Cscript%3E",
        "/views/world.atom?feed=biz-daily'--",
        "/newswire.toml",
        "/newswire.db",
        "/../newswire.toml",
        "/feed.atom/..%2Fnewswire.toml",
        "/static/..%2F..%2Fnewswire.toml",
    ];
    let bad_request: &[&str] = &[
        "/feed.atom?limit=-1",
        "/feed.atom?limit=0",
        "/feed.atom?limit=99999999999999999999",
        "/feed.atom?limit=1%20OR%201=1",
        "/feed.atom?before=1'%20OR%20'1'='1",
        "/feed.atom?before=%3Cscript%3E",
        "/feed.atom?dedup=maybe",
    ];
    let mut tried = 0;
    for (paths, want) in [(not_found, 404), (bad_request, 400)] {
        for path in paths {
            tried += 1;
            let r = client().get(d.url(path)).send().await.unwrap();
            let status = r.status().as_u16();
            let ctype = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let nosniff = r
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap().to_string());
            let body = r.text().await.unwrap();
            assert_eq!(status, want, "GET {path}: {body}");
            assert_eq!(nosniff.as_deref(), Some("nosniff"), "GET {path}");
            // a page (`/views/NAME`) answers with the page saying what went wrong (its text
            // escaped, checked below); anything else never as HTML
            let is_page = path.starts_with("/views/")
                && ![".atom", ".rss", ".json"].iter().any(|x| path.ends_with(x))
                && !path.contains('?');
            if is_page && ctype.contains("html") {
                assert!(body.contains("class=\"problem\""), "GET {path}: {body}");
                assert!(!body.contains(secret), "GET {path} showed the config");
                assert!(!body.contains("<script"), "GET {path} reflects markup");
                continue;
            }
            assert!(
                !ctype.contains("html"),
                "GET {path}: an error is never served as HTML ({ctype})"
            );
            assert!(!body.contains(secret), "GET {path} showed the config");
            assert!(!body.contains("SQLite format"), "GET {path}");
            assert!(!body.contains("<script"), "GET {path} reflects markup");
            assert!(body.len() < 2_000, "GET {path}: {} bytes", body.len());
        }
    }
    // a search query is words to match, never SQL nor FTS5 syntax: the injection finds
    // nothing, breaks nothing, and is answered like any search
    for q in [
        "x%27)%20OR%201=1%20--",
        "%22x%22%20OR%20%22y%22",
        "Moscow%27;DROP%20TABLE%20stories;--",
        "%22unbalanced",
        "title%3A%20OR%20%27",
    ] {
        tried += 1;
        let r = client()
            .get(d.url(&format!("/feed.atom?q={q}")))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, 200, "q={q}: {body}");
        assert!(body.matches("<entry>").count() <= 1, "q={q}:\n{body}");
    }
    // a 16 KB name is refused as cleanly
    tried += 1;
    let r = client()
        .get(d.url(&format!("/views/{long}.atom")))
        .send()
        .await
        .unwrap();
    assert!(
        [404, 414, 431].contains(&r.status().as_u16()),
        "{}",
        r.status()
    );
    // and everything still works afterwards
    let all = text(&d.url("/feed.atom")).await;
    assert_eq!(all.matches("<entry>").count(), 3, "{all}");
    let view = text(&d.url("/views/world.atom")).await;
    assert_eq!(view.matches("<entry>").count(), 2, "{view}");
    eprintln!("exposure: {tried} hostile paths and queries tried, none escaped");
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_host_header_reaches_only_its_own_response() {
    let (_srv, env) = world().await;
    let d = Daemon::start(&env.config_path);
    ready(&d).await;
    // a request through a "proxy" that names an attacker's host: its links point there ...
    let forged = text_with(
        client()
            .get(d.url("/feed.atom"))
            .header("x-forwarded-host", "evil.example"),
    )
    .await;
    assert!(forged.contains("http://evil.example/feed.atom"), "{forged}");
    // ... but the cached rendering other readers get does not
    let plain = text(&d.url("/feed.atom")).await;
    assert!(!plain.contains("evil.example"), "{plain}");
    // markup in a Host header is not echoed into links
    let r = text_with(
        client()
            .get(d.url("/feed.atom"))
            .header("x-forwarded-host", "a\"><script>x</script>"),
    )
    .await;
    assert!(!r.contains("<script>"), "{r}");
    d.stop();
}
