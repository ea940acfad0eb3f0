//! newswire behind a reverse proxy under a path prefix, against the real binary: the
//! `X-Forwarded-Prefix` and RFC 7239 `Forwarded` headers, and `public_url`, reach every link
//! of the page and the feeds; the output file gets a self link from `public_url`.

mod common;

use common::*;

/// A config with one feed and a view; `top` goes first (top-level keys), `extra` before the feed.
async fn site(top: &str, extra: &str) -> (FixtureServer, TestEnv) {
    let srv = FixtureServer::start().await;
    srv.set("/desk.xml", Route::rss(fixture("search-words.rss.xml")));
    let env = TestEnv::new(&format!(
        "{extra}[[feed]]\nname = \"desk\"\nurl = \"{}\"\ntags = [\"local\"]\n\n\
         [[view]]\nname = \"truce\"\nquery = \"truce\"\nlimit = 1\n",
        srv.url("/desk.xml")
    ));
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    std::fs::write(&env.config_path, format!("{top}{text}")).unwrap();
    env.poll().await;
    (srv, env)
}

/// Every `href`/`action` of an HTML page that points into newswire (not to a story's site).
fn own_links(html: &str) -> Vec<String> {
    let html = html.replace("&#x2f;", "/").replace("&amp;", "&");
    html.split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .filter(|h| !h.starts_with("https://search.example.com") && !h.starts_with('#'))
        .collect()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> String {
    let mut req = reqwest::Client::new().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    r.text().await.unwrap()
}

fn atom_links(body: &str) -> Vec<(String, String)> {
    let feed = atom_syndication::Feed::read_from(body.as_bytes()).unwrap();
    feed.links()
        .iter()
        .map(|l| (l.rel().to_string(), l.href().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_prefix_and_forwarded_reach_every_link() {
    let (_srv, env) = site("", "").await;
    let d = Daemon::start(&env.config_path);
    let proxied = [
        (
            "forwarded",
            "for=192.0.2.1;proto=https;host=news.example.org",
        ),
        ("x-forwarded-prefix", "/news"),
    ];
    let html = get(&format!("{}?tag=local&q=truce", d.url("/")), &proxied).await;
    let links = own_links(&html);
    assert!(links.len() > 10, "{links:?}");
    for l in &links {
        assert!(
            l.starts_with("/news/"),
            "a link outside the prefix: {l}\n{links:?}"
        );
    }
    // the pieces a reader uses to find the way: views, tags, feeds, breadcrumbs, feeds
    for want in [
        "/news/views/truce",
        "/news/?tag=local",
        "/news/?feed=desk",
        "/news/feed.atom?tag=local&q=truce",
        "/news/?q=truce",
        "/news/status",
    ] {
        assert!(links.iter().any(|l| l == want), "{want} missing: {links:?}");
    }

    // the feeds: self, next and alternate are absolute, on the proxy's host and prefix
    let body = get(&format!("{}?limit=2", d.url("/feed.atom")), &proxied).await;
    let links = atom_links(&body);
    assert!(
        links.contains(&(
            "self".into(),
            "https://news.example.org/news/feed.atom?limit=2".into()
        )),
        "{links:?}"
    );
    assert!(
        links.iter().any(|(rel, h)| rel == "next"
            && h.starts_with("https://news.example.org/news/feed.atom?limit=2&before=")),
        "{links:?}"
    );
    assert!(
        links.contains(&(
            "alternate".into(),
            "https://news.example.org/news/?limit=2".into()
        )),
        "{links:?}"
    );
    // the X-Forwarded-* pair does the same
    let body = get(
        &d.url("/views/truce.json"),
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "proxy.example.net"),
            ("x-forwarded-prefix", "/river/"),
        ],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["feed_url"], "https://proxy.example.net/river/views/truce.json",
        "{v}"
    );
    assert_eq!(
        v["home_page_url"],
        "https://proxy.example.net/river/views/truce"
    );
    // and the cache keeps each proxy's answer to itself
    let plain = get(&d.url("/feed.atom?limit=2"), &[]).await;
    assert!(!plain.contains("news.example.org"), "{plain}");
    // a prefix that is not a path is ignored
    let html = get(&d.url("/"), &[("x-forwarded-prefix", "/../x\"y")]).await;
    assert!(
        own_links(&html)
            .iter()
            .all(|l| l.starts_with('/') && !l.contains(".."))
    );
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_url_sets_every_link_and_the_output_file_self_link() {
    let (_srv, env) = site(
        "public_url = \"https://example.org/wire/\"\n",
        "[output]\nfile = \"merged.atom\"\n\n",
    )
    .await;
    let d = Daemon::start(&env.config_path);
    // the headers of an unconfigured proxy do not override the configured URL
    let html = get(&d.url("/"), &[("x-forwarded-prefix", "/other")]).await;
    for l in own_links(&html) {
        assert!(l.starts_with("/wire/"), "{l}");
    }
    let body = get(&d.url("/feed.atom"), &[("host", "internal:8080")]).await;
    assert!(
        atom_links(&body).contains(&("self".into(), "https://example.org/wire/feed.atom".into())),
        "{body}"
    );
    // the output file written by the daemon
    let file = env.dir.path().join("merged.atom");
    let mut waited = 0;
    while !file.exists() && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let written = std::fs::read_to_string(&file).expect("the output file is written");
    let links = atom_links(&written);
    assert!(
        links.contains(&("self".into(), "https://example.org/wire/feed.atom".into())),
        "{links:?}"
    );
    assert!(
        links.contains(&("alternate".into(), "https://example.org/wire/".into())),
        "{links:?}"
    );
    d.stop();
}

#[test]
fn a_public_url_that_is_not_a_base_url_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.toml");
    std::fs::write(&path, "public_url = \"example.org/news\"\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("newswire.toml:1:14") && err.contains("public_url"),
        "{err}"
    );
}
