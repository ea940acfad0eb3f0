//! feed-rs `Feed` -> `Vec<Article>`; pure, no I/O.

use std::collections::HashSet;

use ammonia::UrlRelative;
use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use url::Url;

use crate::article::{Article, ArticleKey, FeedMeta};
use crate::dedup;
use crate::parse::{EntryHints, ParsedFeed};

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
    let feed_authors: Vec<String> = authors_of(&feed.authors);
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

fn clean_author(name: &str) -> String {
    let name = collapse_ws(&html_escape::decode_html_entities(name));
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("by ") {
        name[3..].trim().to_string()
    } else {
        name
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Plain text of an HTML fragment: tags dropped (script and style with their content),
/// entities decoded, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    let stripped = ammonia::Builder::empty()
        .clean_content_tags(["script", "style", "template"].into_iter().collect())
        .clean(html)
        .to_string();
    collapse_ws(&html_escape::decode_html_entities(&stripped))
}

fn is_html(t: &Text) -> bool {
    let ct = t.content_type.to_string();
    ct.contains("html")
}

/// A feed-rs text as plain text. Plain-text fields still get their entities decoded:
/// feeds often double-escape (`&amp;#8217;`).
fn text_of(t: &Text) -> String {
    if is_html(t) {
        html_to_text(&t.content)
    } else {
        collapse_ws(&html_escape::decode_html_entities(&t.content))
    }
}

/// Sanitizes HTML for readers: no script, style, iframe, form, event handlers or
/// javascript: URLs; relative URLs made absolute against `base`; links get rel=noopener.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .add_tag_attributes("img", ["width", "height", "loading"]);
    builder.clean(html).to_string().trim().to_string()
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

fn first_img_src(html: &str) -> Option<String> {
    let at = html.find("<img ")?;
    let rest = &html[at..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let src_at = tag.find(" src=\"")? + 6;
    let src = &tag[src_at..];
    let close = src.find('"')?;
    let url = html_escape::decode_html_entities(&src[..close]).to_string();
    url.starts_with("http").then_some(url)
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
        .map(text_of)
        .or_else(|| content.as_deref().map(html_to_text))
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

    let image = entry
        .media
        .iter()
        .flat_map(|m| m.thumbnails.iter().map(|t| t.image.uri.clone()))
        .chain(entry.media.iter().flat_map(|m| {
            m.content.iter().filter_map(|c| {
                let is_image = c
                    .content_type
                    .as_ref()
                    .is_some_and(|t| t.to_string().starts_with("image/"));
                c.url.as_ref().filter(|_| is_image).map(|u| u.to_string())
            })
        }))
        .chain(hints.and_then(|h| h.image.clone()))
        .filter_map(|u| feed_url.join(&u).ok())
        .find(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
        .or_else(|| content.as_deref().and_then(first_img_src));

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
    fn truncation_at_word_boundary() {
        let t = truncate_words(&"word ".repeat(100), 30);
        assert!(t.ends_with('…') && t.chars().count() <= 31, "{t}");
        assert!(!t.contains("wor…"));
    }
}
