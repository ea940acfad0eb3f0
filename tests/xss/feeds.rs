//! The hostile feeds of tests/xss.rs: every payload of tests/fixtures/xss/payloads.txt in
//! every place of an RSS, Atom or JSON feed that its publisher controls.
//!
//! Item-level places ("placements") get one feed each, with one item per payload; the
//! feed-level places (the feed's own title, link and icon) get one feed per payload. Every
//! item carries the marker `XSSM-{placement}-{index}` in a field that is not under test
//! (an author name and a category, or the title when the author is under test), so that
//! whatever gets through can be traced back to its payload and place.

use serde_json::json;

/// The feed formats a placement belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// RSS 2.0.
    Rss,
    /// Atom 1.0.
    Atom,
    /// JSON Feed 1.1.
    Json,
}

/// A place in a feed where a payload goes.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Its name (also the feed's name, after `xss-`, and part of the marker).
    pub name: &'static str,
    /// The format of the feed.
    pub source: Source,
    /// One feed per payload (the feed's own title, link, icon) instead of one item.
    pub feed_level: bool,
}

const fn item(name: &'static str, source: Source) -> Placement {
    Placement {
        name,
        source,
        feed_level: false,
    }
}

const fn feed(name: &'static str, source: Source) -> Placement {
    Placement {
        name,
        source,
        feed_level: true,
    }
}

/// Every place a payload is put.
pub const PLACEMENTS: &[Placement] = &[
    item("rss-description", Source::Rss),
    item("rss-description-cdata", Source::Rss),
    item("rss-content-encoded", Source::Rss),
    item("rss-figcaption", Source::Rss),
    item("rss-title", Source::Rss),
    item("rss-link", Source::Rss),
    item("rss-guid-permalink", Source::Rss),
    item("rss-enclosure-url", Source::Rss),
    item("rss-media-content-url", Source::Rss),
    item("rss-media-thumbnail-url", Source::Rss),
    item("rss-media-credit", Source::Rss),
    item("rss-author", Source::Rss),
    item("rss-category", Source::Rss),
    item("atom-content-html", Source::Atom),
    item("atom-content-xhtml", Source::Atom),
    item("atom-summary-html", Source::Atom),
    item("atom-title-html", Source::Atom),
    item("atom-title-text", Source::Atom),
    item("atom-link-href", Source::Atom),
    item("atom-enclosure-href", Source::Atom),
    item("atom-author-name", Source::Atom),
    item("atom-author-uri", Source::Atom),
    item("atom-category", Source::Atom),
    item("atom-xml-base", Source::Atom),
    item("json-content-html", Source::Json),
    item("json-content-text", Source::Json),
    item("json-summary", Source::Json),
    item("json-title", Source::Json),
    item("json-url", Source::Json),
    item("json-external-url", Source::Json),
    item("json-image", Source::Json),
    item("json-banner-image", Source::Json),
    item("json-attachment-url", Source::Json),
    item("json-author-name", Source::Json),
    item("json-author-url", Source::Json),
    item("json-author-avatar", Source::Json),
    item("json-tags", Source::Json),
    feed("rss-channel", Source::Rss),
    feed("atom-feed", Source::Atom),
    feed("json-feed", Source::Json),
];

/// The payloads, in file order, escapes decoded (see the file's header).
pub fn payloads() -> Vec<String> {
    let text = String::from_utf8(crate::common::fixture("xss/payloads.txt")).unwrap();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(decode_escapes)
        .collect()
}

/// `\u{HEX}` as the character it names; everything else as written.
pub fn decode_escapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("\\u{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let decoded = after.find('}').and_then(|end| {
            let c = char::from_u32(u32::from_str_radix(&after[..end], 16).ok()?)?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("\\u{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The marker of payload `i` in `placement`.
pub fn marker(placement: &str, i: usize) -> String {
    format!("XSSM-{placement}-{i}")
}

/// XML-escaped text (or attribute value).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `s` as the publisher would most likely write it: as is when it is already well-formed
/// XML character data (so that its entity and character references are decoded by the XML
/// parser: `&#x6A;avascript:`), else escaped.
pub fn raw_or_esc(s: &str) -> String {
    if raw_ok(s) { s.to_string() } else { esc(s) }
}

fn raw_ok(s: &str) -> bool {
    if s.contains(['<', '"']) || s.contains("]]>") {
        return false;
    }
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        let after = &rest[at + 1..];
        let Some(semi) = after.find(';') else {
            return false;
        };
        let name = &after[..semi];
        let code = if let Some(h) = name.strip_prefix("#x") {
            u32::from_str_radix(h, 16).ok()
        } else if let Some(d) = name.strip_prefix('#') {
            d.parse().ok()
        } else {
            None
        };
        let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
            || code.is_some_and(|c| c != 0 && char::from_u32(c).is_some());
        if !ok {
            return false;
        }
        rest = &after[semi + 1..];
    }
    true
}

/// `s` in a CDATA section (split where it contains `]]>` itself).
fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// Whether `s` is a well-formed XHTML fragment (for Atom `type="xhtml"` content).
fn xhtml_ok(s: &str) -> bool {
    crate::check::parse_xml(&format!(
        "<div xmlns=\"http://www.w3.org/1999/xhtml\">{s}</div>"
    ))
    .is_ok()
}

const DATE: &str = "Mon, 02 Jun 2025 10:00:00 +0000";
const ATOM_DATE: &str = "2025-06-02T10:00:00Z";

/// The RSS `<item>` for payload `i` in placement `pl`.
fn rss_item(pl: &str, i: usize, p: &str) -> String {
    let m = marker(pl, i);
    let mut title = format!("Probe {pl} {i}");
    let mut link = format!("<link>https://news.example.com/{pl}/{i}.html</link>");
    let mut guid = format!("<guid isPermaLink=\"false\">urn:xss:{pl}:{i}</guid>");
    let mut body = format!("<description>&lt;p&gt;Probe body {pl} {i}.&lt;/p&gt;</description>");
    let mut author = format!("<dc:creator>{m}</dc:creator>");
    let mut extra = String::new();
    match pl {
        "rss-description" => body = format!("<description>{}</description>", esc(p)),
        "rss-description-cdata" => body = format!("<description>{}</description>", cdata(p)),
        "rss-content-encoded" => extra = format!("<content:encoded>{}</content:encoded>", esc(p)),
        "rss-figcaption" => {
            body = format!(
                "<description>{}</description>",
                esc(&format!(
                    "<figure><img src=\"https://img.example.com/{i}.jpg\"><figcaption>{p}</figcaption></figure><p>Probe.</p>"
                ))
            );
        }
        "rss-title" => title = p.to_string(),
        "rss-link" => link = format!("<link>{}</link>", raw_or_esc(p)),
        "rss-guid-permalink" => {
            link.clear();
            guid = format!(
                "<guid isPermaLink=\"true\">{}</guid>",
                raw_or_esc(&format!("{p}#g{i}"))
            );
        }
        "rss-enclosure-url" => {
            extra = format!(
                "<enclosure url=\"{}\" type=\"image/jpeg\" length=\"1\"/>",
                raw_or_esc(p)
            );
        }
        "rss-media-content-url" => {
            extra = format!(
                "<media:content url=\"{}\" type=\"image/jpeg\" medium=\"image\"/>",
                raw_or_esc(p)
            );
        }
        "rss-media-thumbnail-url" => {
            extra = format!("<media:thumbnail url=\"{}\"/>", raw_or_esc(p));
        }
        "rss-media-credit" => {
            extra = format!(
                "<media:content url=\"https://img.example.com/{i}.jpg\" type=\"image/jpeg\">\
                 <media:title>{0}</media:title><media:credit>{0}</media:credit></media:content>",
                raw_or_esc(p)
            );
        }
        "rss-author" => {
            title = format!("Probe {m}");
            author = format!("<author>{}</author>", raw_or_esc(p));
        }
        "rss-category" => extra = format!("<category>{}</category>", raw_or_esc(p)),
        _ => unreachable!("{pl}"),
    }
    let title = if pl == "rss-title" {
        raw_or_esc(&title)
    } else {
        esc(&title)
    };
    format!(
        "<item><title>{title}</title>{link}{guid}{body}{author}<category>{m}</category>\
         <pubDate>{DATE}</pubDate>{extra}</item>\n"
    )
}

fn rss_doc(title: &str, link: &str, image: &str, items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
         <title>{title}</title><link>{link}</link><description>Probes</description>{image}\n\
         {items}</channel></rss>"
    )
}

/// The Atom `<entry>` for payload `i` in placement `pl`.
fn atom_entry(pl: &str, i: usize, p: &str) -> String {
    let m = marker(pl, i);
    let mut title = format!("<title>Probe {pl} {i}</title>");
    let mut links =
        format!("<link rel=\"alternate\" href=\"https://news.example.com/{pl}/{i}.html\"/>");
    let mut author = format!("<author><name>{m}</name></author>");
    let mut body =
        format!("<content type=\"html\">&lt;p&gt;Probe body {pl} {i}.&lt;/p&gt;</content>");
    let mut category = String::new();
    let mut base = String::new();
    match pl {
        "atom-content-html" => body = format!("<content type=\"html\">{}</content>", esc(p)),
        "atom-content-xhtml" => {
            let inner = if xhtml_ok(p) { p.to_string() } else { esc(p) };
            body = format!(
                "<content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">{inner}</div></content>"
            );
        }
        "atom-summary-html" => body = format!("<summary type=\"html\">{}</summary>", esc(p)),
        "atom-title-html" => title = format!("<title type=\"html\">{}</title>", esc(p)),
        "atom-title-text" => title = format!("<title>{}</title>", raw_or_esc(p)),
        "atom-link-href" => {
            links = format!("<link rel=\"alternate\" href=\"{}\"/>", raw_or_esc(p));
        }
        "atom-enclosure-href" => {
            links.push_str(&format!(
                "<link rel=\"enclosure\" type=\"image/jpeg\" href=\"{}\"/>",
                raw_or_esc(p)
            ));
        }
        "atom-author-name" => {
            title = format!("<title>Probe {m}</title>");
            author = format!("<author><name>{}</name></author>", raw_or_esc(p));
        }
        "atom-author-uri" => {
            author = format!(
                "<author><name>{m}</name><uri>{}</uri></author>",
                raw_or_esc(p)
            );
        }
        "atom-category" => {
            category = format!("<category term=\"{0}\" label=\"{0}\"/>", raw_or_esc(p));
        }
        "atom-xml-base" => {
            base = format!(" xml:base=\"{}\"", raw_or_esc(p));
            body = "<content type=\"html\">&lt;p&gt;&lt;a href=\"#top\"&gt;top&lt;/a&gt; \
                    &lt;a href=\"story.html\"&gt;story&lt;/a&gt; &lt;a href=\"?q=1\"&gt;query&lt;/a&gt; \
                    &lt;img src=\"pic.jpg\"&gt;&lt;/p&gt;</content>"
                .to_string();
        }
        _ => unreachable!("{pl}"),
    }
    format!(
        "<entry{base}><id>urn:xss:{pl}:{i}</id>{title}{links}<updated>{ATOM_DATE}</updated>\
         {author}<category term=\"{m}\"/>{category}{body}</entry>\n"
    )
}

fn atom_doc(title: &str, head: &str, entries: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         {title}<id>urn:xss:feed</id><updated>{ATOM_DATE}</updated>{head}\n{entries}</feed>"
    )
}

/// The JSON Feed item for payload `i` in placement `pl`.
fn json_item(pl: &str, i: usize, p: &str) -> serde_json::Value {
    let m = marker(pl, i);
    let mut it = json!({
        "id": format!("urn:xss:{pl}:{i}"),
        "title": format!("Probe {pl} {i}"),
        "url": format!("https://news.example.com/{pl}/{i}.html"),
        "content_html": format!("<p>Probe body {pl} {i}.</p>"),
        "date_published": ATOM_DATE,
        "authors": [{ "name": m }],
        "tags": [m],
    });
    let o = it.as_object_mut().unwrap();
    match pl {
        "json-content-html" => {
            o.insert("content_html".into(), json!(p));
        }
        "json-content-text" => {
            o.remove("content_html");
            o.insert("content_text".into(), json!(p));
        }
        "json-summary" => {
            o.insert("summary".into(), json!(p));
        }
        "json-title" => {
            o.insert("title".into(), json!(p));
        }
        "json-url" => {
            o.insert("url".into(), json!(p));
        }
        "json-external-url" => {
            o.remove("url");
            o.insert("external_url".into(), json!(p));
        }
        "json-image" => {
            o.insert("image".into(), json!(p));
        }
        "json-banner-image" => {
            o.insert("banner_image".into(), json!(p));
        }
        "json-attachment-url" => {
            o.insert(
                "attachments".into(),
                json!([{ "url": p, "mime_type": "image/jpeg" }]),
            );
        }
        "json-author-name" => {
            o.insert("title".into(), json!(format!("Probe {m}")));
            o.insert("authors".into(), json!([{ "name": p }]));
        }
        "json-author-url" => {
            o.insert("authors".into(), json!([{ "name": m, "url": p }]));
        }
        "json-author-avatar" => {
            o.insert("authors".into(), json!([{ "name": m, "avatar": p }]));
        }
        "json-tags" => {
            o.insert("tags".into(), json!([p, m]));
        }
        _ => unreachable!("{pl}"),
    }
    it
}

fn json_doc(title: &str, extra: serde_json::Value, items: Vec<serde_json::Value>) -> String {
    let mut doc = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "items": items,
    });
    if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    doc.to_string()
}

/// The document of an item-level placement: one item per payload.
pub fn placement_doc(pl: &Placement, payloads: &[String]) -> String {
    let each = payloads.iter().enumerate();
    match pl.source {
        Source::Rss => rss_doc(
            &format!("Probes {}", pl.name),
            "https://news.example.com/",
            "",
            &each
                .map(|(i, p)| rss_item(pl.name, i, p))
                .collect::<String>(),
        ),
        Source::Atom => atom_doc(
            &format!("<title>Probes {}</title>", pl.name),
            "<link rel=\"alternate\" href=\"https://news.example.com/\"/>",
            &each
                .map(|(i, p)| atom_entry(pl.name, i, p))
                .collect::<String>(),
        ),
        Source::Json => json_doc(
            &format!("Probes {}", pl.name),
            json!({ "home_page_url": "https://news.example.com/" }),
            each.map(|(i, p)| json_item(pl.name, i, p)).collect(),
        ),
    }
}

/// The document of a feed-level placement for payload `i`: the payload as the feed's title,
/// site link and icon, and one ordinary item. The three feed-level placements of one payload
/// carry the same story (same link), so that the merged feed shows it once with three hostile
/// sources, in the "Carried by" list too.
pub fn feed_level_doc(pl: &Placement, i: usize, p: &str) -> String {
    let m = marker(pl.name, i);
    let link = format!("https://news.example.com/feed-level/{i}.html");
    match pl.source {
        Source::Rss => rss_doc(
            &raw_or_esc(p),
            &raw_or_esc(p),
            &format!(
                "<image><url>{0}</url><title>{0}</title><link>{0}</link></image>",
                raw_or_esc(p)
            ),
            &format!(
                "<item><title>Probe feed level {i}</title><link>{link}</link>\
                 <guid isPermaLink=\"false\">urn:xss:{}:{i}</guid><dc:creator>{m}</dc:creator>\
                 <category>{m}</category><description>Probe body.</description>\
                 <pubDate>{DATE}</pubDate></item>",
                pl.name
            ),
        ),
        Source::Atom => atom_doc(
            &format!("<title type=\"html\">{}</title>", esc(p)),
            &format!(
                "<link rel=\"alternate\" href=\"{0}\"/><icon>{0}</icon><logo>{0}</logo>\
                 <author><name>{0}</name><uri>{0}</uri></author>",
                raw_or_esc(p)
            ),
            &format!(
                "<entry><id>urn:xss:{}:{i}</id><title>Probe feed level {i}</title>\
                 <link rel=\"alternate\" href=\"{link}\"/><updated>{ATOM_DATE}</updated>\
                 <author><name>{m}</name></author><category term=\"{m}\"/>\
                 <content type=\"html\">Probe body.</content></entry>",
                pl.name
            ),
        ),
        Source::Json => json_doc(
            p,
            json!({ "home_page_url": p, "icon": p, "favicon": p, "authors": [{ "name": p, "url": p }] }),
            vec![json!({
                "id": format!("urn:xss:{}:{i}", pl.name),
                "title": format!("Probe feed level {i}"),
                "url": link,
                "content_html": "Probe body.",
                "date_published": ATOM_DATE,
                "authors": [{ "name": m }],
                "tags": [m],
            })],
        ),
    }
}

/// The Content-Type a placement's feed is served with.
pub fn content_type(source: Source) -> &'static str {
    match source {
        Source::Rss => "application/rss+xml",
        Source::Atom => "application/atom+xml",
        Source::Json => "application/feed+json",
    }
}
