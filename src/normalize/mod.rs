//! feed-rs `Feed` -> `Vec<Article>`; pure, no I/O.

use std::collections::HashSet;

use ammonia::UrlRelative;
use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use url::Url;

use crate::article::{Article, ArticleKey, FeedMeta};
use crate::dedup;
use crate::parse::{EntryHints, ParsedFeed};

mod clean;

/// Longest summary derived from content, in characters.
const SUMMARY_CHARS: usize = 300;

/// What one feed document yields.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// About the feed itself.
    pub meta: FeedMeta,
    /// One article per distinct entry, in document order.
    pub articles: Vec<Article>,
    /// Entries dropped because an earlier entry of the same document had the same identity.
    pub duplicates: usize,
}

/// Normalizes every entry of `feed`. `feed_url` is where the document came from (the base
/// of last resort for relative URLs); `now` is the fetch time (dates after it are clamped).
pub fn normalize(parsed: &ParsedFeed, feed_url: &Url, now: DateTime<Utc>) -> Normalized {
    let feed = &parsed.feed;
    let site_url = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| feed_url.join(&l.href).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from);
    let meta = FeedMeta {
        title: feed.title.as_ref().map(text_of).filter(|t| !t.is_empty()),
        site_url,
    };
    // RSS names the channel's author as managingEditor, which feed-rs keeps as a contributor
    let mut feed_authors: Vec<String> = authors_of(&feed.authors);
    if feed_authors.is_empty() {
        let editors: Vec<feed_rs::model::Person> = feed
            .contributors
            .iter()
            .filter(|p| p.role.as_deref() == Some("managingEditor"))
            .cloned()
            .collect();
        feed_authors = authors_of(&editors);
    }
    let mut seen = HashSet::new();
    let mut out = Normalized {
        meta,
        ..Default::default()
    };
    for (i, entry) in feed.entries.iter().enumerate() {
        let mut article =
            normalize_entry(entry, parsed.hints(i), feed, &feed_authors, feed_url, now);
        if matches!(article.key, ArticleKey::Url(_)) && seen.contains(&article.key) {
            // items without guid sharing one link: told apart by their text, unless identical
            let by_text = ArticleKey::Hash(dedup::hash_parts(&[
                &article.title,
                article.content.as_deref().unwrap_or(""),
            ]));
            if !seen.contains(&by_text) {
                article.key = by_text;
            }
        }
        if seen.insert(article.key.clone()) {
            out.articles.push(article);
        } else {
            out.duplicates += 1;
        }
    }
    out
}

fn authors_of(people: &[feed_rs::model::Person]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in people {
        let Some(name) = p
            .name
            .as_deref()
            .map(clean_author)
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// An author's name as a reader wants it: `name (email)`, `email (Name)`, `mailto:`,
/// brackets and a "By " prefix removed. feed-rs has already split off one email address;
/// what is left may still carry the parentheses around the name.
fn clean_author(name: &str) -> String {
    let mut name = collapse_ws(&html_to_text(name));
    loop {
        let before = name.len();
        let trimmed = name
            .trim()
            .trim_start_matches("mailto:")
            .trim_matches(|c: char| c == ',' || c == ';' || c.is_whitespace());
        let trimmed = match (trimmed.strip_prefix('('), trimmed.strip_suffix(')')) {
            (Some(_), Some(_)) => &trimmed[1..trimmed.len() - 1],
            _ => trimmed,
        };
        let lower = trimmed.to_lowercase();
        let trimmed = if lower.starts_with("by ") || lower.starts_with("by:") {
            &trimmed[3..]
        } else {
            trimmed
        };
        // "Jane Doe (jane@example.com)" or "jane@example.com (Jane Doe)", if feed-rs left it
        let trimmed = match trimmed.rsplit_once(" (") {
            Some((n, e)) if e.trim_end_matches(')').contains('@') && !n.contains('@') => n,
            Some((e, n)) if e.contains('@') && !e.contains(' ') => n.trim_end_matches(')'),
            _ => trimmed,
        };
        name = trimmed.trim().to_string();
        if name.len() == before {
            break;
        }
    }
    // a bare address is not a name
    if name.contains('@') && !name.contains(' ') {
        return String::new();
    }
    name
}

/// Words separated by single spaces, without control characters: XML 1.0 allows none
/// besides tab and line ends, so one left in a title, an author or a summary (feeds carry
/// them literally, as `&#3;`, or double-escaped as `&amp;#3;`) would make the merged Atom
/// and RSS unreadable. Found by fuzzing (fuzz/fuzz_targets/normalize.rs).
fn collapse_ws(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text of an HTML fragment: tags dropped (script and style with their content),
/// entities decoded, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    if too_deep(html) {
        return crate::dedup::text_of_html(html);
    }
    let stripped = ammonia::Builder::empty()
        .clean_content_tags(["script", "style", "template"].into_iter().collect())
        .clean(html)
        .to_string();
    collapse_ws(&html_escape::decode_html_entities(&stripped))
}

/// Plain text of a body, for a summary: figure captions belong to their image, not the text.
fn body_text(html: &str) -> String {
    if too_deep(html) {
        return crate::dedup::text_of_html(html);
    }
    let stripped = ammonia::Builder::empty()
        .clean_content_tags(
            ["script", "style", "template", "figcaption"]
                .into_iter()
                .collect(),
        )
        .clean(html)
        .to_string();
    collapse_ws(&html_escape::decode_html_entities(&stripped))
}

fn is_html(t: &Text) -> bool {
    let ct = t.content_type.to_string();
    ct.contains("html")
}

/// A feed-rs text as plain text. Plain-text fields still get their entities decoded
/// (feeds often double-escape: `&amp;#8217;`) and their tags stripped: many RSS titles that
/// claim to be plain text carry `<span>` or `<em>`.
fn text_of(t: &Text) -> String {
    if is_html(t) {
        html_to_text(&t.content)
    } else {
        let decoded = html_escape::decode_html_entities(&t.content);
        collapse_ws(&clean::strip_html_tags(&decoded))
    }
}

/// Sanitizes HTML for readers: no script, style, iframe, form, event handlers or
/// javascript: URLs; relative URLs made absolute against `base`; links get rel=noopener;
/// tracking pixels, feed flares and share/ad blocks removed. Figures, captions, images,
/// tables and code stay.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    if too_deep(html) {
        // hostile or broken: keep the words, as text
        return format!(
            "<p>{}</p>",
            html_escape::encode_text(&xml_chars(&crate::dedup::text_of_html(html)))
        );
    }
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .add_tag_attributes("img", ["width", "height", "loading"]);
    let cleaned = builder.clean(&clean::strip_clutter(html)).to_string();
    clean::drop_empty_wrappers(xml_chars(&cleaned).trim())
        .trim()
        .to_string()
}

/// `text` without the characters XML 1.0 does not allow, even escaped: the C0 controls
/// but tab and line ends, U+FFFE and U+FFFF. The HTML parser keeps them (`&#1;` included),
/// and one in a body made the merged Atom and RSS unreadable. Found by fuzzing
/// (fuzz/fuzz_targets/normalize.rs).
fn xml_chars(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !((*c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{fffe}' | '\u{ffff}'))
        })
        .collect()
}

/// Nesting beyond which HTML is not handed to the HTML parser: html5ever's cost grows fast
/// with depth (an item of 20,000 nested `<div>`s took 22 s), and no article needs a
/// thousand levels.
const MAX_HTML_DEPTH: usize = 1024;

/// Elements that never contain others, so do not nest.
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Whether `html` nests deeper than [`MAX_HTML_DEPTH`], by a linear scan of its tags.
fn too_deep(html: &str) -> bool {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'<' {
            if b[i + 1] == b'/' {
                depth = depth.saturating_sub(1);
            } else if b[i + 1].is_ascii_alphabetic() {
                let name_end = b[i + 1..]
                    .iter()
                    .position(|c| !c.is_ascii_alphanumeric())
                    .map_or(b.len(), |p| i + 1 + p);
                let name = html[i + 1..name_end].to_ascii_lowercase();
                let close = b[name_end..]
                    .iter()
                    .position(|c| *c == b'>')
                    .map_or(b.len(), |p| name_end + p);
                let self_closing =
                    close > 0 && close <= b.len() && b.get(close.wrapping_sub(1)) == Some(&b'/');
                if !self_closing && !VOID_ELEMENTS.contains(&name.as_str()) {
                    depth += 1;
                    if depth > MAX_HTML_DEPTH {
                        return true;
                    }
                }
                i = close;
                continue;
            }
        }
        i += 1;
    }
    false
}

/// Cuts plain text at a word boundary near `max` characters.
fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let at = cut
        .rfind(char::is_whitespace)
        .filter(|i| *i > max / 2)
        .unwrap_or(cut.len());
    format!(
        "{}…",
        cut[..at].trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
    )
}

/// The first image of sanitized content with an absolute http(s) source, and the caption
/// of the figure that holds it.
fn first_img(html: &str) -> Option<(String, Option<String>)> {
    let mut from = 0;
    while let Some(at) = html[from..].find("<img ").map(|i| i + from) {
        from = at + 5;
        let rest = &html[at..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        let Some(src_at) = tag.find(" src=\"").map(|i| i + 6) else {
            continue;
        };
        let src = &tag[src_at..];
        let Some(close) = src.find('"') else { continue };
        let url = html_escape::decode_html_entities(&src[..close]).to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            continue;
        }
        // inside a <figure>: its <figcaption> is the image's
        let caption = html[..at].rfind("<figure").and_then(|fig| {
            let closed_before = html[fig..at].contains("</figure>");
            let fig_end = at + html[at..].find("</figure>")?;
            let inner = &html[fig..fig_end];
            let cap = inner.find("<figcaption")?;
            let cap_end = inner[cap..].find("</figcaption>")? + cap;
            (!closed_before)
                .then(|| html_to_text(&inner[cap..cap_end]))
                .filter(|c| !c.is_empty())
        });
        return Some((url, caption));
    }
    None
}

/// What one media object says about its image: its title as caption, its credit.
fn media_caption(m: &feed_rs::model::MediaObject) -> Option<String> {
    let caption = m.title.as_ref().map(text_of).filter(|t| !t.is_empty());
    let credit = m
        .credits
        .iter()
        .map(|c| collapse_ws(&c.entity))
        .find(|c| !c.is_empty());
    match (caption, credit) {
        (Some(t), Some(c)) if !t.contains(&c) => Some(format!("{t} ({c})")),
        (Some(t), _) => Some(t),
        (None, c) => c,
    }
}

fn looks_like_image(u: &Url) -> bool {
    let path = u.path().to_ascii_lowercase();
    [".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif"]
        .iter()
        .any(|x| path.ends_with(x))
}

/// The lead image and its caption or credit, in order of preference: media:content and
/// enclosures of an image type, media:thumbnail and itunes:image, a JSON Feed image, the
/// first image of the content.
fn lead_image(
    entry: &Entry,
    hints: Option<&EntryHints>,
    content: Option<&str>,
    feed_url: &Url,
) -> (Option<String>, Option<String>) {
    let absolute = |u: &str| {
        feed_url
            .join(u.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(String::from)
    };
    let contents = entry.media.iter().flat_map(|m| {
        m.content.iter().filter_map(move |c| {
            let url = c.url.as_ref()?;
            let is_image = match &c.content_type {
                Some(t) => t.to_string().starts_with("image/"),
                None => looks_like_image(url),
            };
            is_image.then(|| (url.to_string(), media_caption(m)))
        })
    });
    let thumbnails = entry.media.iter().flat_map(|m| {
        m.thumbnails
            .iter()
            .map(move |t| (t.image.uri.clone(), media_caption(m)))
    });
    let json = hints.and_then(|h| h.image.clone()).map(|u| (u, None));
    contents
        .chain(thumbnails)
        .chain(json)
        .find_map(|(u, c)| absolute(&u).map(|u| (u, c)))
        .or_else(|| content.and_then(first_img))
        .map_or((None, None), |(u, c)| (Some(u), c))
}

fn normalize_entry(
    entry: &Entry,
    hints: Option<&EntryHints>,
    feed: &Feed,
    feed_authors: &[String],
    feed_url: &Url,
    now: DateTime<Utc>,
) -> Article {
    let link_url = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .and_then(|l| feed_url.join(l.href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let link = link_url.as_ref().map(|u| u.to_string());
    let canonical_url = link_url.as_ref().and_then(dedup::canonical_url);

    // Relative URLs in content: xml:base, else the entry's own link, else the feed URL.
    let content_base = hints
        .and_then(|h| h.content_base.clone())
        .or_else(|| entry.base.as_deref().and_then(|b| feed_url.join(b).ok()))
        .or_else(|| link_url.clone())
        .unwrap_or_else(|| feed_url.clone());

    let raw_content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .filter(|b| !b.trim().is_empty());
    let content_is_html = entry.content.as_ref().is_none_or(|c| {
        c.content_type.to_string().contains("html") || c.content_type.to_string().contains("xml")
    });
    let summary_text = entry
        .summary
        .as_ref()
        .filter(|s| !s.content.trim().is_empty());
    let content = match (raw_content, summary_text) {
        (Some(body), _) if content_is_html => Some(sanitize_html(body, &content_base)),
        (Some(body), _) => Some(sanitize_html(
            &html_escape::encode_text(body),
            &content_base,
        )),
        // RSS description only: it is the body
        (None, Some(s)) if is_html(s) => Some(sanitize_html(&s.content, &content_base)),
        (None, Some(s)) => Some(sanitize_html(
            &html_escape::encode_text(&s.content),
            &content_base,
        )),
        (None, None) => None,
    }
    .filter(|c| !c.is_empty());
    let summary = summary_text
        .map(|s| {
            if is_html(s) {
                body_text(&s.content)
            } else {
                text_of(s)
            }
        })
        .or_else(|| content.as_deref().map(body_text))
        .filter(|s| !s.is_empty())
        .map(|s| truncate_words(&s, SUMMARY_CHARS));

    let title = entry
        .title
        .as_ref()
        .map(text_of)
        .filter(|t| !t.is_empty())
        .or_else(|| summary.as_deref().map(|s| truncate_words(s, 80)))
        .unwrap_or_else(|| "(untitled)".to_string());

    let published = entry.published.or(entry.updated).map(|d| d.min(now));
    let mut updated = entry.updated.map(|d| d.min(now));
    if let (Some(p), Some(u)) = (published, updated) {
        if u < p {
            // never let "updated" precede "published"
            updated = Some(p);
        }
    }

    let mut authors = authors_of(&entry.authors);
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let mut categories: Vec<String> = Vec::new();
    for c in &entry.categories {
        let term = collapse_ws(&html_escape::decode_html_entities(
            c.label.as_deref().unwrap_or(&c.term),
        ));
        if !term.is_empty() && !categories.iter().any(|x| x.eq_ignore_ascii_case(&term)) {
            categories.push(term);
        }
    }

    let (image, image_credit) = lead_image(entry, hints, content.as_deref(), feed_url);

    let guid = Some(entry.id.trim().to_string()).filter(|g| !g.is_empty());
    let key = dedup::identity(
        guid.as_deref(),
        link_url.as_ref().and_then(dedup::identity_url).as_deref(),
        &title,
        content.as_deref().unwrap_or(""),
    );
    Article {
        key,
        guid,
        title,
        link,
        canonical_url,
        authors,
        published,
        updated,
        summary,
        content,
        categories,
        image,
        image_credit,
        language: entry.language.clone().or_else(|| feed.language.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(xml: &str) -> Normalized {
        let base = Url::parse("https://news.example.com/rss/world.xml").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let feed =
            crate::parse::parse_feed(xml.as_bytes(), None, &base, Some(chrono_tz::Asia::Shanghai))
                .unwrap();
        normalize(&feed, &base, now)
    }

    #[test]
    fn rss_item_becomes_article() {
        let n = run(
            r#"<rss version="2.0"><channel><title>World &amp; more</title><link>https://news.example.com/</link>
<item><title>China &amp;amp; Russia: a  &#8220;new&#8221; era</title>
<link>/opinion/1.html?utm_source=rss#top</link>
<description>&lt;p&gt;Body &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src="/p.jpg" onerror="x()"&gt;&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;&lt;/p&gt;</description>
<author>editor@example.com (By Li Wei)</author>
<category>Opinion</category><category>opinion</category>
<pubDate>2019/6/5 18:13:43</pubDate></item></channel></rss>"#,
        );
        assert_eq!(n.meta.title.as_deref(), Some("World & more"));
        let a = &n.articles[0];
        assert_eq!(a.title, "China & Russia: a \u{201c}new\u{201d} era");
        assert_eq!(
            a.link.as_deref(),
            Some("https://news.example.com/opinion/1.html?utm_source=rss#top")
        );
        assert_eq!(
            a.canonical_url.as_deref(),
            Some("https://news.example.com/opinion/1.html")
        );
        // without a guid, the link (fragment kept) identifies the entry within its feed
        assert_eq!(
            a.key,
            ArticleKey::Url("https://news.example.com/opinion/1.html#top".into())
        );
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2019-06-05T10:13:43+00:00"
        );
        assert_eq!(a.categories, vec!["Opinion"]);
        let c = a.content.as_deref().unwrap();
        assert!(
            !c.contains("script") && !c.contains("onerror") && !c.contains("javascript:"),
            "{c}"
        );
        assert!(c.contains(r#"src="https://news.example.com/p.jpg""#), "{c}");
        assert_eq!(a.image.as_deref(), Some("https://news.example.com/p.jpg"));
        assert_eq!(a.summary.as_deref(), Some("Body x"));
    }

    #[test]
    fn future_dates_are_clamped_and_missing_ids_are_stable() {
        let xml = r#"<rss version="2.0"><channel><title>t</title>
<item><description>no title, no link</description><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>
</channel></rss>"#;
        let a = run(xml).articles.remove(0);
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert!(matches!(a.key, ArticleKey::Hash(_)));
        assert_eq!(a.key, run(xml).articles[0].key);
        assert_eq!(a.title, "no title, no link");
    }

    #[test]
    fn duplicates_within_a_document_are_dropped() {
        let n = run(r#"<rss version="2.0"><channel><title>t</title>
<item><guid>a</guid><title>1</title></item><item><guid>a</guid><title>1 again</title></item>
</channel></rss>"#);
        assert_eq!(n.articles.len(), 1);
        assert_eq!(n.duplicates, 1);
    }

    #[test]
    fn posts_told_apart_only_by_fragment_stay_apart() {
        let n = run(r#"<rss version="2.0"><channel><title>t</title>
<item><description>Morning post</description><link>http://scripting.com/2017/06/25.html#a080631</link></item>
<item><description>Evening post</description><link>http://scripting.com/2017/06/25.html#a110613</link></item>
</channel></rss>"#);
        assert_eq!(n.articles.len(), 2);
        assert_eq!(n.duplicates, 0);
    }

    #[test]
    fn items_without_guid_sharing_a_link_are_told_apart_by_text() {
        let n = run(r#"<rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>https://e.com/</link></item>
<item><title>Two</title><link>https://e.com/</link></item>
<item><title>Two</title><link>https://e.com/</link></item>
</channel></rss>"#);
        assert_eq!(n.articles.len(), 2);
        assert_eq!(n.duplicates, 1);
    }

    #[test]
    fn deeply_nested_html_is_kept_as_text_without_parsing_it() {
        let base = Url::parse("https://e.com/").unwrap();
        let deep = format!(
            "{}<script>x()</script>words here{}",
            "<div>".repeat(20_000),
            "</div>".repeat(20_000)
        );
        let out = sanitize_html(&deep, &base);
        assert!(
            out.starts_with("<p>") && out.contains("words here") && !out.contains("<script"),
            "{}",
            &out[..100]
        );
        assert_eq!(html_to_text(&deep), "x() words here");
        // ordinary markup, void elements and a few hundred levels are parsed as usual
        let ok = format!(
            "{}<p>a<br>b<img src=\"/i.jpg\"/></p>{}",
            "<div>".repeat(300),
            "</div>".repeat(300)
        );
        assert!(!too_deep(&ok));
        assert!(sanitize_html(&ok, &base).contains("<img src=\"https://e.com/i.jpg\""));
    }

    #[test]
    fn control_characters_leave_plain_text() {
        // found by fuzzing: XML 1.0 allows no C0 control character (but tab and line ends),
        // so one kept in a title, author, category, summary or body made the merged Atom and
        // RSS unreadable; they come literally or as character references in HTML
        let n = run("<rss version=\"2.0\"><channel><title>Feed\u{3}</title>
<managingEditor>de@\u{10}e Desk</managingEditor>
<item><guid>1</guid><title>Breaking\u{3}: a\u{1b}[1mb\u{7f}c</title>
<category>x\u{7}y</category><description>body &amp;#8;text</description></item>
</channel></rss>");
        assert_eq!(n.meta.title.as_deref(), Some("Feed"));
        let a = &n.articles[0];
        assert_eq!(a.title, "Breaking: a[1mbc");
        assert_eq!(a.authors, ["de@e Desk"]);
        assert_eq!(a.categories, ["xy"]);
        assert_eq!(a.summary.as_deref(), Some("body text"));
        assert_eq!(a.content.as_deref(), Some("body text"));
        let base = Url::parse("https://e.com/").unwrap();
        assert_eq!(
            sanitize_html("<p>Log in\u{1}&#2;\u{fffe}</p><p>\u{3}</p>", &base),
            "<p>Log in</p>"
        );
        let deep = format!("{}a\u{1}\u{2}b", "<div>".repeat(2000));
        assert_eq!(sanitize_html(&deep, &base), "<p>ab</p>");
    }

    #[test]
    fn truncation_at_word_boundary() {
        let t = truncate_words(&"word ".repeat(100), 30);
        assert!(t.ends_with('…') && t.chars().count() <= 31, "{t}");
        assert!(!t.contains("wor…"));
    }

    #[test]
    fn authors_in_every_form() {
        let n = run(
            r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
<managingEditor>desk@example.com (The Desk)</managingEditor>
<item><guid>1</guid><author>editor@example.com (By Li Wei)</author></item>
<item><guid>2</guid><author>Jane Roe (jane@example.com)</author></item>
<item><guid>3</guid><dc:creator>BY Ann Lee</dc:creator><dc:creator>Bob Ray</dc:creator></item>
<item><guid>4</guid><author>mailto:someone@example.com</author></item>
</channel></rss>"#,
        );
        let authors: Vec<Vec<String>> = n.articles.iter().map(|a| a.authors.clone()).collect();
        assert_eq!(
            authors,
            [
                vec!["Li Wei"],
                vec!["Jane Roe"],
                vec!["Ann Lee", "Bob Ray"],
                // only an address: the feed's author instead
                vec!["The Desk"],
            ]
        );
    }

    #[test]
    fn plain_titles_lose_their_markup() {
        let n = run(r#"<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>&lt;span class="x"&gt;Breaking:&lt;/span&gt;  Rates &lt;em&gt;rise&lt;/em&gt;
 again</title></item>
<item><guid>2</guid><title>a &lt; b, 3 &gt; 2: the &lt;new&gt; rules</title></item>
</channel></rss>"#);
        assert_eq!(n.articles[0].title, "Breaking: Rates rise again");
        assert_eq!(n.articles[1].title, "a < b, 3 > 2: the <new> rules");
    }

    #[test]
    fn lead_image_prefers_media_and_carries_its_credit() {
        let n = run(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<item><guid>1</guid><description>&lt;img src="/body.jpg"&gt;</description>
<media:thumbnail url="https://e.com/thumb.jpg"/>
<media:content url="https://e.com/big.jpg" type="image/jpeg"><media:credit>File photo: Xinhua</media:credit></media:content></item>
<item><guid>2</guid><enclosure url="https://e.com/a.mp3" type="audio/mpeg" length="1"/>
<enclosure url="/photo.png" type="image/png" length="1"/></item>
<item><guid>3</guid><description>&lt;p&gt;&lt;img src="https://e.com/pixel.gif" width="1" height="1"&gt;Text&lt;/p&gt;
&lt;figure&gt;&lt;img src="https://e.com/fig.jpg"&gt;&lt;figcaption&gt;Protesters in Hong Kong. Photo: AP&lt;/figcaption&gt;&lt;/figure&gt;</description></item>
</channel></rss>"#,
        );
        let a = &n.articles;
        assert_eq!(a[0].image.as_deref(), Some("https://e.com/big.jpg"));
        assert_eq!(a[0].image_credit.as_deref(), Some("File photo: Xinhua"));
        assert_eq!(
            a[1].image.as_deref(),
            Some("https://news.example.com/photo.png")
        );
        assert_eq!(a[2].image.as_deref(), Some("https://e.com/fig.jpg"));
        assert_eq!(
            a[2].image_credit.as_deref(),
            Some("Protesters in Hong Kong. Photo: AP")
        );
        let body = a[2].content.as_deref().unwrap();
        assert!(!body.contains("pixel.gif"), "{body}");
        assert!(
            body.contains("<figure><img src=\"https://e.com/fig.jpg\"><figcaption>"),
            "{body}"
        );
        // the caption is the image's, not the summary's
        assert_eq!(a[2].summary.as_deref(), Some("Text"));
    }

    #[test]
    fn share_blocks_and_flares_leave_the_body() {
        let n = run(r#"<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><description><![CDATA[<p>Story text.</p><table><tr><td>1</td></tr></table><pre><code>x = 1</code></pre>
<div class="feedflare"><a href="http://feeds.feedburner.com/~ff/rps?a=1"><img src="http://feeds.feedburner.com/~ff/rps?d=1" border="0"></a></div>
<ul><li><a href="https://www.facebook.com/sharer/sharer.php?u=1">Share on Facebook</a></li><li><a href="https://twitter.com/intent/tweet?url=1">Tweet</a></li></ul>
<img src="http://feeds.feedburner.com/~r/rps/~4/abc" height="1" width="1" alt=""/>]]></description></item>
</channel></rss>"#);
        let body = n.articles[0].content.as_deref().unwrap();
        assert_eq!(
            body,
            "<p>Story text.</p><table><tbody><tr><td>1</td></tr></tbody></table><pre><code>x = 1</code></pre>"
        );
        assert_eq!(n.articles[0].image, None);
    }
}
