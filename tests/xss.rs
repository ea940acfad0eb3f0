//! Issue 8, content attacks reaching subscribers: every payload of
//! tests/fixtures/xss/payloads.txt, in every place of an RSS, Atom and JSON feed that a
//! publisher controls, polled through the real pipeline and served by the real `newswire`
//! binary. What it serves (Atom, RSS, JSON Feed, the HTML page and a view page, every page of
//! each, with and without deduplication) is read back with real parsers and checked for
//! active content (see tests/xss/check.rs); every response must say `nosniff`, and the page
//! must forbid scripts by policy too.
//!
//! `cargo test --test xss -- --nocapture` prints how many payloads were tried where, and how
//! many got through to each output.

mod common;

#[path = "xss/check.rs"]
mod check;
#[path = "xss/feeds.rs"]
mod feeds;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use check::DocReport;
use common::*;
use feeds::PLACEMENTS;

/// Stories per page fetched (the server allows up to 10,000; paging is followed).
const PAGE: usize = 4000;

/// A client that asks for no compression, so that what it checks is what was sent.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Feeds that attack through the fetch instead of the document: a permanent redirect to a
/// `javascript:` URL, one to a URL with markup in it (shown as "moved to ..."), an error
/// page full of script, and an HTML page advertising a `javascript:` feed.
fn fetch_attacks(srv: &FixtureServer) -> Vec<(&'static str, String)> {
    let redirect = |to: &str| Route {
        status: 301,
        headers: vec![("location".into(), to.into())],
        body: Vec::new(),
        etag: false,
        delay_ms: 0,
    };
    srv.set("/attack/redirect-js", redirect("javascript:alert(1)"));
    srv.set(
        "/attack/redirect-markup",
        redirect("/attack/moved?<script>alert(1)</script>\"onmouseover=\"alert(2)"),
    );
    srv.set(
        "/attack/error",
        Route {
            status: 500,
            headers: vec![("content-type".into(), "text/html".into())],
            body: b"<html><script>alert(1)</script><img src=x onerror=alert(2)></html>".to_vec(),
            etag: false,
            delay_ms: 0,
        },
    );
    srv.set(
        "/attack/page",
        Route::feed(
            "text/html",
            "<!DOCTYPE html><html><head><title><script>alert(1)</script></title>\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"javascript:alert(2)\">\
             </head><body>not a feed</body></html>",
        ),
    );
    vec![
        ("xss-fetch-redirect-js", srv.url("/attack/redirect-js")),
        (
            "xss-fetch-redirect-markup",
            srv.url("/attack/redirect-markup"),
        ),
        ("xss-fetch-error", srv.url("/attack/error")),
        ("xss-fetch-html-page", srv.url("/attack/page")),
    ]
}

struct World {
    _srv: FixtureServer,
    env: TestEnv,
    payloads: Vec<String>,
}

/// The fixture server with every hostile feed, a config that subscribes to all of them (and
/// a view of the feed-level ones), polled once through the real pipeline.
async fn world() -> World {
    let payloads = feeds::payloads();
    let srv = FixtureServer::start().await;
    let mut toml = String::from(
        "[output]\ntitle = \"Probe River\"\n# every probe must reach the outputs: no fair-share cap (issue 15)\nper_feed = 0\n\n\
         [[view]]\nname = \"feed-level\"\ntitle = \"Feed-level probes\"\ntags = [\"feed-level\"]\n\n",
    );
    let mut feed = |name: &str, url: &str, tag: &str| {
        toml.push_str(&format!(
            "[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\ntags = [\"{tag}\"]\n\n"
        ));
    };
    for pl in PLACEMENTS {
        let ct = feeds::content_type(pl.source);
        if pl.feed_level {
            for (i, p) in payloads.iter().enumerate() {
                let path = format!("/{}/{i}", pl.name);
                srv.set(&path, Route::feed(ct, feeds::feed_level_doc(pl, i, p)));
                feed(
                    &format!("xssm-{}-{i}", pl.name),
                    &srv.url(&path),
                    "feed-level",
                );
            }
        } else {
            let path = format!("/{}", pl.name);
            srv.set(&path, Route::feed(ct, feeds::placement_doc(pl, &payloads)));
            feed(&format!("xss-{}", pl.name), &srv.url(&path), "item-level");
        }
    }
    for (name, url) in fetch_attacks(&srv) {
        feed(name, &url, "fetch");
    }
    let env = TestEnv::new(&toml);
    let started = Instant::now();
    let polls = env.poll().await;
    let failed: Vec<String> = polls
        .iter()
        .filter(|s| s.failed() && !s.feed.starts_with("xss-fetch-"))
        .map(|s| s.to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "hostile feeds that did not poll: {failed:#?}"
    );
    println!(
        "polled {} feeds in {:.1} s",
        polls.len(),
        started.elapsed().as_secs_f64()
    );
    World {
        _srv: srv,
        env,
        payloads,
    }
}

/// The four outputs a subscriber reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Output {
    Atom,
    Rss,
    Json,
    Page,
}

impl Output {
    fn label(self) -> &'static str {
        match self {
            Output::Atom => "Atom",
            Output::Rss => "RSS",
            Output::Json => "JSON Feed",
            Output::Page => "HTML page",
        }
    }

    fn check(self, body: &str) -> DocReport {
        match self {
            Output::Atom => check::check_atom(body),
            Output::Rss => check::check_rss(body),
            Output::Json => check::check_json(body),
            Output::Page => check::check_html_page(body),
        }
    }
}

/// What one output showed, over all its documents and pages.
#[derive(Default)]
struct Tally {
    documents: usize,
    pages: usize,
    entries: usize,
    /// Probes seen in the every-copy documents (each probe's own entry).
    seen: BTreeSet<(String, usize)>,
    /// Probes with at least one finding, and the first finding of each.
    through: BTreeMap<(String, usize), String>,
    /// Findings outside any entry.
    unattributed: Vec<String>,
    /// Probes that would get through to a reader that renders RSS titles as HTML.
    advisory: BTreeSet<(String, usize)>,
}

/// Whether a response says `X-Content-Type-Options: nosniff`.
fn nosniff(h: &reqwest::header::HeaderMap) -> bool {
    h.get("x-content-type-options")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"nosniff"))
}

/// Why a page's Content-Security-Policy would let a script run, if it would.
fn csp_problem(h: &reqwest::header::HeaderMap) -> Option<String> {
    let Some(csp) = h
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
    else {
        return Some("no Content-Security-Policy".into());
    };
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .map(|d| d.split_whitespace().skip(1).collect::<Vec<_>>())
    };
    // what applies to scripts and plugins: their own directive, else default-src
    for d in ["script-src", "object-src"] {
        match directive(d).or_else(|| directive("default-src")) {
            Some(v) if v == ["'none'"] => {}
            other => return Some(format!("{d} is {other:?} in {csp:?}")),
        }
    }
    // and no <base> may redirect the page's relative links
    match directive("base-uri") {
        Some(v) if v == ["'none'"] || v == ["'self'"] => {}
        other => return Some(format!("base-uri is {other:?} in {csp:?}")),
    }
    None
}

/// Fetches `path` and every next page after it, checking each.
async fn fetch_all(d: &Daemon, output: Output, path: &str, all_copies: bool, t: &mut Tally) {
    let client = raw_client();
    let mut url = d.url(path);
    t.documents += 1;
    loop {
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {url}");
        let h = r.headers().clone();
        if !nosniff(&h) {
            t.unattributed
                .push(format!("{url}: no X-Content-Type-Options: nosniff"));
        }
        if output == Output::Page {
            if let Some(p) = csp_problem(&h) {
                t.unattributed.push(format!("{url}: {p}"));
            }
        }
        let body = r.text().await.unwrap();
        let report = output.check(&body);
        t.pages += 1;
        t.entries += report.entries;
        if all_copies {
            t.seen.extend(report.seen.iter().cloned());
        }
        for (markers, what) in report.findings {
            if markers.is_empty() {
                t.unattributed.push(format!("{url}: {what}"));
            }
            for m in markers {
                t.through.entry(m).or_insert_with(|| what.clone());
            }
        }
        for (markers, _) in report.advisory {
            t.advisory.extend(markers);
        }
        match report.next {
            Some(next) if next.starts_with('/') => url = d.url(&next),
            Some(next) => url = next,
            None => break,
        }
    }
}

fn short(s: &str, n: usize) -> String {
    let s: String = s.escape_debug().collect();
    if s.chars().count() <= n {
        s
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payload_in_any_place_reaches_a_subscriber_as_active_content() {
    let started = Instant::now();
    let w = world().await;
    let d = Daemon::start(&w.env.config_path);
    let names: BTreeSet<&str> = PLACEMENTS.iter().map(|p| p.name).collect();
    assert_eq!(names.len(), PLACEMENTS.len(), "placement names are unique");
    let expected: BTreeSet<(String, usize)> = PLACEMENTS
        .iter()
        .flat_map(|pl| (0..w.payloads.len()).map(move |i| (pl.name.to_string(), i)))
        .collect();
    assert!(
        expected.len() < 10_000,
        "more probes than one page of ?limit= can hold"
    );

    let mut tallies: BTreeMap<Output, Tally> = BTreeMap::new();
    for (output, ext) in [
        (Output::Atom, "atom"),
        (Output::Rss, "rss"),
        (Output::Json, "json"),
        (Output::Page, ""),
    ] {
        let t = tallies.entry(output).or_default();
        let (feed, view) = if ext.is_empty() {
            ("/".to_string(), "/views/feed-level".to_string())
        } else {
            (format!("/feed.{ext}"), format!("/views/feed-level.{ext}"))
        };
        // every copy (each probe is its own entry), the merged feed, and a view
        fetch_all(
            &d,
            output,
            &format!("{feed}?dedup=off&limit={PAGE}"),
            true,
            t,
        )
        .await;
        fetch_all(&d, output, &format!("{feed}?limit={PAGE}"), false, t).await;
        fetch_all(&d, output, &format!("{view}?limit={PAGE}"), false, t).await;
    }

    // the table
    let item_level = PLACEMENTS.iter().filter(|p| !p.feed_level).count();
    println!(
        "\n{} payloads x {} placements ({item_level} in items, {} feed-level with one feed per payload) = {} probes",
        w.payloads.len(),
        PLACEMENTS.len(),
        PLACEMENTS.len() - item_level,
        expected.len()
    );
    println!(
        "{:<10} {:>5} {:>6} {:>15} {:>12} {:>12} {:>16} {:>18}",
        "output",
        "docs",
        "pages",
        "entries checked",
        "probes seen",
        "got through",
        "outside entries",
        "as-HTML RSS title"
    );
    for (output, t) in &tallies {
        println!(
            "{:<10} {:>5} {:>6} {:>15} {:>12} {:>12} {:>16} {:>18}",
            output.label(),
            t.documents,
            t.pages,
            t.entries,
            t.seen.len(),
            t.through.len(),
            t.unattributed.len(),
            if *output == Output::Rss {
                t.advisory.len().to_string()
            } else {
                "-".to_string()
            }
        );
    }
    // every finding, for a closer look: XSS_FINDINGS=/tmp/findings.txt
    if let Some(path) = std::env::var_os("XSS_FINDINGS") {
        let mut all = String::new();
        for (output, t) in &tallies {
            for ((pl, i), what) in &t.through {
                all.push_str(&format!(
                    "{}\t{pl}\t{i}\t{}\t{what}\n",
                    output.label(),
                    short(&w.payloads[*i], 80)
                ));
            }
            for u in &t.unattributed {
                all.push_str(&format!("{}\t-\t-\t-\t{u}\n", output.label()));
            }
        }
        std::fs::write(path, all).unwrap();
    }
    println!(
        "(as-HTML RSS title: probes whose RSS <title>, plain text as newswire writes it, would be \
         active markup to a reader that renders RSS titles as HTML; RSS 2.0 leaves that open. \
         Reported, not failed.)"
    );
    let mut failures = Vec::new();
    for (output, t) in &tallies {
        let missing: Vec<_> = expected.difference(&t.seen).take(10).collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{}: {} probes never showed up (not checked), e.g. {missing:?}",
                output.label(),
                expected.difference(&t.seen).count()
            ));
        }
        let mut by_placement: BTreeMap<&str, Vec<(usize, &String)>> = BTreeMap::new();
        for ((pl, i), what) in &t.through {
            by_placement
                .entry(pl.as_str())
                .or_default()
                .push((*i, what));
        }
        for (pl, hits) in by_placement {
            let examples: Vec<String> = hits
                .iter()
                .take(3)
                .map(|(i, what)| {
                    format!("#{i} {}: {}", short(&w.payloads[*i], 50), short(what, 120))
                })
                .collect();
            failures.push(format!(
                "{}: {pl}: {} of {} payloads got through, e.g.\n    {}",
                output.label(),
                hits.len(),
                w.payloads.len(),
                examples.join("\n    ")
            ));
        }
        for u in t.unattributed.iter().take(5) {
            failures.push(format!("{}: {}", output.label(), short(u, 200)));
        }
    }
    println!("checked in {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "active content reached subscribers:\n{}",
        failures.join("\n")
    );
}

/// Every response the server gives says `nosniff` (feeds, the page, /status, errors, 304s),
/// and both kinds of page forbid scripts by policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_says_nosniff_and_pages_forbid_scripts() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/one.xml",
        Route::rss(rss_stories("One", &[("o1", "Only story")])),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"one\"\nurl = \"{}\"\n\n[[view]]\nname = \"v\"\ntitle = \"V\"\nfeeds = [\"one\"]\n",
        srv.url("/one.xml")
    ));
    env.poll().await;
    let d = Daemon::start(&env.config_path);
    let client = raw_client();
    let mut missing = Vec::new();
    for (path, status) in [
        ("/", 200),
        ("/views/v", 200),
        ("/feed.atom", 200),
        ("/feed.rss", 200),
        ("/feed.json", 200),
        ("/views/v.atom", 200),
        ("/views/v.rss", 200),
        ("/views/v.json", 200),
        ("/status", 200),
        ("/healthz", 200),
        ("/metrics", 200),
        ("/nope", 404),
        ("/views/nope", 404),
        ("/views/nope.atom", 404),
        ("/feed.atom?feed=nope", 404),
        ("/feed.rss?limit=0", 400),
        ("/?before=soon", 400),
    ] {
        let r = client.get(d.url(path)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        if !nosniff(r.headers()) {
            missing.push(format!("{path} ({status})"));
        }
        if matches!(path, "/" | "/views/v") {
            assert_eq!(csp_problem(r.headers()), None, "{path}");
        }
        if let Some(first) = r.headers().get("etag") {
            // and a revalidation's 304 (the daemon's first poll may still change the page
            // between two requests: ask again until the validator holds)
            let mut etag = first.clone();
            let mut tries = 0;
            let again = loop {
                let again = client
                    .get(d.url(path))
                    .header("if-none-match", etag.clone())
                    .send()
                    .await
                    .unwrap();
                tries += 1;
                if again.status() == 304 || tries == 20 {
                    break again;
                }
                etag = again.headers()["etag"].clone();
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            };
            assert_eq!(again.status(), 304, "{path}");
            if !nosniff(again.headers()) {
                missing.push(format!("{path} (304)"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "responses without X-Content-Type-Options: nosniff: {missing:?}"
    );
}

/// The checker itself can fail: known-bad markup, URLs, titles and feed documents are
/// flagged, and ordinary sanitized content is not.
#[test]
fn the_checker_flags_known_bad_content_and_passes_clean_content() {
    let bad_html = [
        "<script>alert(1)</script>",
        "<p>x<img src=x onerror=alert(1)></p>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
        "<a href=\"java\tscript:alert(1)\">x</a>",
        "<a href=\" \u{1}javascript:alert(1)\">x</a>",
        "<a href=\"vbscript:msgbox(1)\">x</a>",
        "<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">",
        "<p style=\"background:url(javascript:alert(1))\">x</p>",
        "<style>p{}</style>",
        "<iframe src=\"https://e.example/\"></iframe>",
        "<form action=\"https://e.example/\"><input name=p></form>",
        "<button formaction=\"javascript:alert(1)\">x</button>",
        "<svg><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
        "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
        "<base href=\"https://e.example/\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<link rel=stylesheet href=\"https://e.example/x.css\">",
        "<object data=\"x.swf\"></object>",
        "<embed src=\"x.swf\">",
        "<img srcset=\"https://e.example/a.jpg 1x, javascript:alert(1) 2x\">",
        "<blink>x</blink>",
        "<div onmouseover=\"x\">x</div>",
    ];
    for html in bad_html {
        assert!(
            !check::check_fragment(html).is_empty(),
            "the checker passed {html:?}"
        );
    }
    let clean = "<p>Text <a href=\"https://e.example/a?b=1&amp;c=2\" rel=\"noopener noreferrer nofollow\">link</a> \
                 <a href=\"mailto:desk@e.example\">mail</a> <a href=\"/relative\">rel</a> \
                 <img src=\"https://e.example/i.jpg\" alt=\"\"></p><figure><img src=\"http://e.example/f.png\">\
                 <figcaption>Caption</figcaption></figure><table><tbody><tr><td>1</td></tr></tbody></table>\
                 <pre><code>javascript:alert(1) as text</code></pre><p>&lt;script&gt; as text</p>";
    assert_eq!(check::check_fragment(clean), Vec::<String>::new());

    assert_eq!(
        check::scheme_of(" Java\tScript:x").as_deref(),
        Some("javascript")
    );
    assert_eq!(check::scheme_of("/path:with-colon"), None);
    for u in [
        "javascript:alert(1)",
        "data:text/html,x",
        "&#106;avascript:x",
        "%6Aavascript:x",
        "/relative",
        "",
    ] {
        assert!(
            check::url_problem(u, check::FEED_SCHEMES, false).is_some(),
            "feed-level URL {u:?} passed"
        );
    }
    assert_eq!(
        check::url_problem("https://e.example/", check::FEED_SCHEMES, false),
        None
    );

    assert!(!check::bad_text_chars("Breaking\u{202E}gnp.exe", true).is_empty());
    assert!(!check::bad_text_chars("a\u{2066}b\u{2069}", true).is_empty());
    assert!(!check::bad_text_chars("bell\u{7}", true).is_empty());
    assert!(!check::bad_text_chars("c1\u{85}", true).is_empty());
    assert!(!check::bad_text_chars("two\nlines", true).is_empty());
    assert!(
        check::bad_text_chars("Straße \u{5E9}\u{5DC}\u{5D5}\u{5DD} \u{200F}ok", true).is_empty()
    );

    // whole documents: each bad part is found and attributed to its entry's marker
    let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>F</title>\
        <link rel=\"alternate\" href=\"javascript:alert(0)\"/>\
        <entry><title>t\u{202E}x</title><category term=\"XSSM-atom-content-html-3\"/>\
        <link href=\"java&#9;script:alert(1)\"/>\
        <content type=\"html\">&lt;img src=x onerror=alert(1)&gt;</content></entry>\
        <entry><title type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x</script></div></title>\
        <category term=\"XSSM-atom-title-html-4\"/></entry></feed>";
    let r = check::check_atom(atom);
    assert_eq!(r.entries, 2);
    let found = |r: &DocReport, m: &(String, usize)| {
        r.findings.iter().filter(|(ms, _)| ms.contains(m)).count()
    };
    assert_eq!(
        found(&r, &("atom-content-html".into(), 3)),
        3,
        "{:?}",
        r.findings
    );
    assert_eq!(
        found(&r, &("atom-title-html".into(), 4)),
        1,
        "{:?}",
        r.findings
    );
    assert!(
        r.findings
            .iter()
            .any(|(m, f)| m.is_empty() && f.contains("javascript"))
    );

    let rss = "<rss version=\"2.0\"><channel><title>C</title><link>https://e.example/</link>\
        <item><title>XSSM-rss-title-1</title><link>vbscript:x</link>\
        <enclosure url=\"data:image/png,x\" type=\"image/png\" length=\"1\"/>\
        <description>&lt;a href=\"javascript:alert(1)\"&gt;x&lt;/a&gt;</description></item>\
        <item><title>&lt;b onclick=x&gt;XSSM-rss-title-2&lt;/b&gt;</title><guid>javascript:alert(1)</guid></item>\
        </channel></rss>";
    let r = check::check_rss(rss);
    assert_eq!(found(&r, &("rss-title".into(), 1)), 3, "{:?}", r.findings);
    assert_eq!(
        found(&r, &("rss-title".into(), 2)),
        1,
        "a permalink guid: {:?}",
        r.findings
    );
    assert_eq!(r.advisory.len(), 1, "{:?}", r.advisory);

    let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","home_page_url":"javascript:x",
        "items":[{"id":"1","title":"XSSM-json-url-5 \u0007","url":"javascript:alert(1)","external_url":"data:x",
        "image":"vbscript:x","content_html":"<script>x</script>",
        "attachments":[{"url":"javascript:y"}],"authors":[{"name":"n","avatar":"javascript:z","url":"javascript:w"}]}]}"#;
    let r = check::check_json(json);
    assert_eq!(found(&r, &("json-url".into(), 5)), 8, "{:?}", r.findings);
    assert_eq!(r.findings.iter().filter(|(m, _)| m.is_empty()).count(), 1);

    let page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title></head><body>\
        <main><article class=\"story\"><h3>Bad\u{202E}title</h3><div class=\"meta\">XSSM-rss-title-7</div>\
        <p class=\"summary\"><img src=x onerror=alert(1)></p></article></main></body></html>";
    let r = check::check_html_page(page);
    assert_eq!(r.entries, 1);
    assert_eq!(found(&r, &("rss-title".into(), 7)), 3, "{:?}", r.findings);
    assert!(
        r.findings
            .iter()
            .any(|(m, f)| m.is_empty() && f.contains("<head>")),
        "a head that is not the template's: {:?}",
        r.findings
    );

    // the payload file's escapes
    assert_eq!(
        feeds::decode_escapes("a\\u{202E}b\\u{9}c\\0065"),
        "a\u{202E}b\tc\\0065"
    );
}
