//! The river-of-news page as a person sees it, served by the real `newswire` binary: stories
//! grouped by day in the display zone, sources, times, images, summaries, feed health, views,
//! paging and search, with hostile feed text escaped and no script allowed.

mod common;

use chrono::{DateTime, Utc};
use common::*;

/// One RSS item: guid, title (text), link (raw, escaped here), date, description (HTML),
/// lead image.
struct Item<'a> {
    guid: &'a str,
    title: &'a str,
    link: &'a str,
    date: DateTime<Utc>,
    body: &'a str,
    image: Option<&'a str>,
}

fn rss_doc(title: &str, site: &str, items: &[Item]) -> String {
    let items: String = items
        .iter()
        .map(|i| {
            let image = i
                .image
                .map(|u| {
                    format!("<media:content url=\"{u}\" type=\"image/jpeg\" medium=\"image\"/>")
                })
                .unwrap_or_default();
            format!(
                "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link>\
                 <description>{}</description><pubDate>{}</pubDate>{image}</item>\n",
                i.guid,
                html_escape::encode_text(i.title),
                html_escape::encode_text(i.link),
                html_escape::encode_text(i.body),
                i.date.to_rfc2822()
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>\
         <title>{}</title><link>{site}</link><description>d</description>\n{items}</channel></rss>",
        html_escape::encode_text(title)
    )
}

/// Undoes the template engine's HTML escaping of an attribute or text.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `href`s of `<a>` elements whose text (unescaped, trimmed) is `text`.
fn hrefs_of(html: &str, text: &str) -> Vec<String> {
    html.split("<a ")
        .skip(1)
        .filter_map(|a| {
            let (attrs, rest) = a.split_once('>')?;
            let inner = rest.split("</a>").next()?;
            if unescape(inner).trim() != text {
                return None;
            }
            let href = attrs.split("href=\"").nth(1)?.split('"').next()?;
            Some(unescape(href))
        })
        .collect()
}

/// The day headings, each with the (unescaped) text of the stories under it.
fn days(html: &str) -> Vec<(String, String)> {
    let main = html
        .split("<main>")
        .nth(1)
        .and_then(|m| m.split("</main>").next())
        .expect("a <main>");
    main.split("<h2 class=\"day\">")
        .skip(1)
        .map(|part| {
            let (label, rest) = part.split_once("</h2>").unwrap();
            (unescape(label.trim()), unescape(rest))
        })
        .collect()
}

/// The stories' titles in page order (the text of each `<h3>`, unescaped).
fn story_titles(html: &str) -> Vec<String> {
    html.split("<h3>")
        .skip(1)
        .map(|h| {
            let inner = h.split("</h3>").next().unwrap();
            // drop the link markup, if any
            let text = match inner.split_once('>') {
                Some((a, rest)) if a.starts_with("<a ") => rest.trim_end_matches("</a>"),
                _ => inner,
            };
            unescape(text.trim())
        })
        .collect()
}

const IMG: &str = "https://img.tokyo.example.com/drill.jpg";

struct Site {
    _srv: FixtureServer,
    env: TestEnv,
}

async fn site() -> Site {
    let srv = FixtureServer::start().await;
    srv.set(
        "/tokyo.xml",
        Route::rss(rss_doc(
            "Tokyo Times",
            "https://tokyo.example.com/",
            &[
                // 20:30 UTC on Monday 2 June is 05:30 on Tuesday 3 June in Tokyo
                Item {
                    guid: "t1",
                    title: "Late night quake drill",
                    link: "https://tokyo.example.com/t1.html",
                    date: at(2025, 6, 2, 20, 30),
                    body: "<p>Residents practised the evacuation.</p>",
                    image: Some(IMG),
                },
                Item {
                    guid: "t2",
                    title: "Morning market report",
                    link: "https://tokyo.example.com/t2.html",
                    date: at(2025, 6, 2, 1, 0),
                    body: "<p>Tuna prices rose.</p>",
                    image: None,
                },
                Item {
                    guid: "t3",
                    title: "Evening ferry schedule",
                    link: "https://tokyo.example.com/t3.html",
                    date: at(2025, 6, 1, 12, 0),
                    body: "<p>Ferries run late in summer.</p>",
                    image: None,
                },
            ],
        )),
    );
    srv.set(
        "/hostile.xml",
        Route::rss(rss_doc(
            "Hostile <script>alert('feed')</script> Gazette",
            "javascript:alert('site')",
            &[
                Item {
                    guid: "h1",
                    title: "<script>alert(1)</script>",
                    link: "javascript:alert(2)",
                    date: at(2025, 5, 30, 0, 0),
                    body: "<img src=\"x\" onerror=\"alert(3)\">Boo <a href=\"javascript:alert(4)\">click</a>\
                           <script>alert(5)</script><iframe src=\"https://evil.example/\"></iframe>",
                    image: Some("javascript:alert(6)"),
                },
                Item {
                    guid: "h2",
                    title: "Quiet <b onmouseover=\"alert(7)\">bold</b> claim",
                    link: "https://hostile.example.com/h2.html",
                    date: at(2025, 5, 29, 0, 0),
                    body: "Plain &lt;img src=x onerror=alert(8)&gt; words",
                    image: None,
                },
            ],
        )),
    );
    srv.set("/broken.xml", Route::status(500));
    let env = TestEnv::new(&format!(
        "[output]\ntitle = \"Harbour River\"\ntimezone = \"Asia/Tokyo\"\n\n\
         [[feed]]\nname = \"tokyo-times\"\nurl = \"{}\"\ntags = [\"local\"]\n\n\
         [[feed]]\nname = \"hostile\"\nurl = \"{}\"\n\n\
         [[feed]]\nname = \"broken\"\nurl = \"{}\"\n\n\
         [[view]]\nname = \"tokyo\"\ntitle = \"Tokyo only\"\nfeeds = [\"tokyo-times\"]\nlimit = 2\n",
        srv.url("/tokyo.xml"),
        srv.url("/hostile.xml"),
        srv.url("/broken.xml"),
    ));
    env.poll().await;
    Site { _srv: srv, env }
}

async fn page(url: &str) -> (reqwest::header::HeaderMap, String) {
    let r = reqwest::Client::new().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    let h = r.headers().clone();
    (h, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_page_shows_the_river_grouped_by_local_day() {
    let s = site().await;
    let d = Daemon::start(&s.env.config_path);
    let (h, html) = page(&d.url("/")).await;

    let ct = h["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("Harbour River"));

    // newest first
    let t = story_titles(&html);
    assert_eq!(
        &t[..3],
        [
            "Late night quake drill",
            "Morning market report",
            "Evening ferry schedule"
        ],
        "{t:?}"
    );
    assert_eq!(t.len(), 5, "{t:?}");

    // grouped by day in Asia/Tokyo: the late-night UTC story is on Tuesday there
    let d_ = days(&html);
    let labels: Vec<&str> = d_.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Tuesday 3 June 2025",
            "Monday 2 June 2025",
            "Sunday 1 June 2025",
            "Friday 30 May 2025",
            "Thursday 29 May 2025",
        ]
    );
    let (_, tuesday) = &d_[0];
    assert!(tuesday.contains("Late night quake drill"), "{tuesday}");
    assert!(!tuesday.contains("Morning market report"));
    // its time in Tokyo, its source, its link, its lead image and its summary
    assert!(tuesday.contains(">05:30<"), "{tuesday}");
    assert!(tuesday.contains("Tokyo Times"), "{tuesday}");
    assert!(
        tuesday.contains("Residents practised the evacuation."),
        "{tuesday}"
    );
    assert!(
        tuesday.contains(&format!("<img src=\"{IMG}\"")),
        "{tuesday}"
    );
    let (_, monday) = &d_[1];
    assert!(monday.contains("Morning market report"));
    assert!(monday.contains(">10:00<"), "{monday}");
    assert!(!monday.contains("<img"), "no image, no <img>: {monday}");
    assert_eq!(
        hrefs_of(&html, "Late night quake drill"),
        ["https://tokyo.example.com/t1.html"]
    );
    assert_eq!(
        hrefs_of(&html, "Evening ferry schedule"),
        ["https://tokyo.example.com/t3.html"]
    );

    // links to the feeds, and to the views
    assert_eq!(hrefs_of(&html, "Atom"), ["/feed.atom", "/views/tokyo.atom"]);
    assert_eq!(hrefs_of(&html, "RSS"), ["/feed.rss"]);
    assert_eq!(hrefs_of(&html, "JSON Feed"), ["/feed.json"]);
    // in the navigation at the top, and in the sidebar
    assert_eq!(
        hrefs_of(&html, "Tokyo only"),
        ["/views/tokyo", "/views/tokyo"]
    );
    assert!(unescape(&html).contains("Times in Asia/Tokyo"));

    // no script, by policy and in fact
    let csp = h
        .get("content-security-policy")
        .expect("a Content-Security-Policy")
        .to_str()
        .unwrap();
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert!(
        csp.contains("default-src 'none'") || csp.contains("script-src 'none'"),
        "{csp}"
    );
    for allowance in csp
        .split(';')
        .map(str::trim)
        .filter(|d| d.starts_with("script-src"))
    {
        assert_eq!(allowance, "script-src 'none'", "{csp}");
    }
    assert_eq!(h["x-content-type-options"].to_str().unwrap(), "nosniff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_feed_text_is_only_ever_escaped() {
    let s = site().await;
    let d = Daemon::start(&s.env.config_path);
    for path in ["/", "/?feed=hostile", "/?q=alert"] {
        let (_, html) = page(&d.url(path)).await;
        let lower = html.to_lowercase();
        assert!(
            !lower.contains("<script"),
            "{path}: a <script> element:\n{html}"
        );
        assert!(!lower.contains("<iframe"), "{path}: an <iframe>:\n{html}");
        assert!(
            !lower.contains("javascript:"),
            "{path}: a javascript: URL:\n{html}"
        );
        // no element carries an event handler
        for tag in lower.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap();
            assert!(
                !tag.contains("onerror") && !tag.contains("onmouseover"),
                "{path}: an event handler in <{tag}>"
            );
        }
        assert!(
            !lower.contains("<b "),
            "{path}: the title's markup became markup"
        );
    }
    let (_, html) = page(&d.url("/?feed=hostile")).await;
    // the hostile title is shown, as text
    let t = story_titles(&html);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[0].contains("alert(1)"), "{t:?}");
    assert!(
        html.contains("&lt;script&gt;"),
        "the title is escaped, not dropped"
    );
    // the story with a javascript: link is not a link
    assert!(hrefs_of(&html, &t[0]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_page_with_feed_health_paging_and_search() {
    let s = site().await;
    let d = Daemon::start(&s.env.config_path);

    let (h, html) = page(&d.url("/views/tokyo")).await;
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(h.contains_key("content-security-policy"));
    assert_eq!(
        hrefs_of(&html, "Tokyo only")[0],
        "/views/tokyo",
        "the view's title"
    );
    // limit 2: the two newest of the view's feed
    assert_eq!(
        story_titles(&html),
        ["Late night quake drill", "Morning market report"]
    );
    assert_eq!(hrefs_of(&html, "Atom")[0], "/views/tokyo.atom");

    // the sidebar: every feed, with its state
    for (name, title, state) in [
        ("tokyo-times", "Tokyo Times", None),
        ("hostile", "Hostile", None),
        ("broken", "broken", Some("failing")),
    ] {
        let line = html
            .split(&format!("href=\"/?feed={name}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("{name} is not in the sidebar:\n{html}"))
            .split("</li>")
            .next()
            .unwrap();
        assert!(unescape(line).starts_with(title), "{name}: {line}");
        if let Some(state) = state {
            assert!(line.contains(&format!(">{state}<")), "{name}: {line}");
        } else {
            assert!(!line.contains("failing"), "{name}: {line}");
        }
    }

    // "Older stories" leads to the next page, which leads back to the newest
    let older = hrefs_of(&html, "Older stories →");
    assert_eq!(older.len(), 1, "one Older link");
    assert!(older[0].starts_with("/views/tokyo?"), "{}", older[0]);
    let (_, page2) = page(&d.url(&older[0])).await;
    assert_eq!(story_titles(&page2), ["Evening ferry schedule"]);
    assert!(hrefs_of(&page2, "Older stories →").is_empty(), "last page");
    assert_eq!(hrefs_of(&page2, "← Newest"), ["/views/tokyo"]);
    // the first page has no "Newest" link
    assert!(hrefs_of(&html, "← Newest").is_empty());

    // ?q= on the page
    let (_, found) = page(&d.url("/views/tokyo?q=ferry")).await;
    assert_eq!(story_titles(&found), ["Evening ferry schedule"]);
    assert!(found.contains("value=\"ferry\""), "the box shows the query");
    let (_, found) = page(&d.url("/?q=tuna")).await;
    assert_eq!(story_titles(&found), ["Morning market report"]);
    let (_, none) = page(&d.url("/?q=xylophone")).await;
    assert!(story_titles(&none).is_empty());
    assert!(none.contains("No story matches this search"));

    // an unknown view is a 404 that says so, on the page
    let r = reqwest::get(d.url("/views/nope")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no view is called"));

    // what was once a syntax error is a search: `-ferry` leaves the other story of the view
    for (q, want) in [
        (
            "AND OR (",
            vec!["Late night quake drill", "Morning market report"],
        ),
        ("\"evening ferry", vec!["Evening ferry schedule"]),
        (
            "-ferry",
            vec!["Late night quake drill", "Morning market report"],
        ),
    ] {
        let url = format!(
            "{}?{}",
            d.url("/views/tokyo"),
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", q)
                .finish()
        );
        let (_, html) = page(&url).await;
        assert_eq!(story_titles(&html), want, "{url}");
    }
}

/// Two common ways feeds give a lead image's details: a `media:credit` on the image (shown as
/// its credit, as the issue asks), and a bare item-level `media:thumbnail` (BBC News style).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_image_credit_and_thumbnail_only_images_are_shown() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/photos.xml",
        Route::rss(format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>\
             <title>Photo Desk</title><link>https://photos.example.com/</link><description>d</description>\
             <item><guid>p1</guid><title>Credited photo story</title><link>https://photos.example.com/p1.html</link>\
             <description>One.</description><pubDate>{}</pubDate>\
             <media:content url=\"https://img.photos.example.com/p1.jpg\" type=\"image/jpeg\" medium=\"image\">\
             <media:credit>Photo: Jane Doe</media:credit></media:content></item>\
             <item><guid>p2</guid><title>Thumbnail story</title><link>https://photos.example.com/p2.html</link>\
             <description>Two.</description><pubDate>{}</pubDate>\
             <media:thumbnail url=\"https://img.photos.example.com/p2.jpg\" width=\"240\" height=\"135\"/></item>\
             </channel></rss>",
            at(2025, 6, 2, 10, 0).to_rfc2822(),
            at(2025, 6, 2, 9, 0).to_rfc2822()
        )),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"photos\"\nurl = \"{}\"\n",
        srv.url("/photos.xml")
    ));
    env.poll().await;
    let d = Daemon::start(&env.config_path);
    let (_, html) = page(&d.url("/")).await;
    let html = unescape(&html);
    let stories: Vec<&str> = html.split("<article class=\"story\">").skip(1).collect();
    assert_eq!(stories.len(), 2, "{html}");
    assert!(
        stories[0].contains("<img src=\"https://img.photos.example.com/p1.jpg\""),
        "{}",
        stories[0]
    );
    let thumb_ok = stories[1].contains("<img src=\"https://img.photos.example.com/p2.jpg\"");
    let credit_ok = stories[0].contains("Photo: Jane Doe");
    assert!(
        thumb_ok && credit_ok,
        "item-level media:thumbnail shown as the lead image: {thumb_ok}; \
         media:credit shown with the image: {credit_ok}\n{}\n{}",
        stories[0],
        stories[1]
    );
}
