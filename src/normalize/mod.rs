//! feed-rs `Feed` -> `Vec<Article>`; pure, no I/O.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;

use ammonia::UrlRelative;
use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, Text};
use url::Url;

use crate::article::{Article, ArticleKey, FeedMeta};
use crate::dedup::{self, ArticleText, Prepared};
use crate::parse::{EntryHints, ParsedFeed, without_forbidden_in_xml};

mod clean;
mod text;
mod wellformed;

/// Longest summary derived from content, in characters.
const SUMMARY_CHARS: usize = 300;
/// Longest title kept, in characters; a longer one is cut at a word boundary. Headlines run
/// to a few hundred characters; a hostile megabyte "title" would otherwise be stored, indexed
/// and carried whole into every copy of the merged feed (three of them took a debug daemon
/// to 120 MiB; megabyte links and categories, to 237 MiB).
const MAX_TITLE_CHARS: usize = 1000;
/// Longest URL kept (links, images), in bytes. RFC 9110 asks for 8,000 octets; a longer one
/// is junk (a hostile `href` of a megabyte) and is dropped, as an unusable URL is.
const MAX_URL_BYTES: usize = 8192;
/// Longest category or author name kept, in characters; a longer one is cut. Generous: a
/// paper's author line lists dozens of names (bioRxiv's run past 400 characters).
const MAX_LABEL_CHARS: usize = 4000;

/// What one feed document yields.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// About the feed itself.
    pub meta: FeedMeta,
    /// One article per distinct entry, in document order.
    pub articles: Vec<Article>,
    /// The text of each article (content hash, plain text, near-duplicate keys), computed
    /// here, in the parse threads, so that the store's writer does not: `texts[i]` is
    /// `articles[i]`'s. Code that keeps some of the articles keeps their texts with
    /// [`Normalized::retain`].
    pub texts: Vec<ArticleText>,
    /// Entries dropped because an earlier entry of the same document had the same identity.
    pub duplicates: usize,
}

impl Normalized {
    /// Keeps the articles (and their texts) for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Article) -> bool) {
        let articles = std::mem::take(&mut self.articles);
        let texts = std::mem::take(&mut self.texts);
        (self.articles, self.texts) = articles
            .into_iter()
            .zip(texts)
            .filter(|(a, _)| keep(a))
            .unzip();
    }

    /// The articles with their texts, for the store. An article without its text (the
    /// articles were changed without [`Normalized::retain`]) gets it computed here.
    pub fn prepared(self) -> Vec<Prepared> {
        if self.texts.len() != self.articles.len() {
            return self.articles.into_iter().map(Prepared::new).collect();
        }
        self.articles
            .into_iter()
            .zip(self.texts)
            .map(|(article, text)| Prepared { article, text })
            .collect()
    }
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
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.as_str().len() <= MAX_URL_BYTES)
        .map(String::from);
    let meta = FeedMeta {
        title: feed
            .title
            .as_ref()
            .map(|t| xml_safe(truncate_words(&text_of(t), MAX_TITLE_CHARS)))
            .filter(|t| !t.is_empty()),
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
            out.texts.push(ArticleText::of(&article));
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
            .map(|n| truncate_words(&clean_author(n), MAX_LABEL_CHARS))
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
    let mut name = clean_text(&html_to_text(name));
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
        // "Jean Dupont «jean@example.com»", "Ann Lee <ann@example.com>": the address goes
        let trimmed = ['\u{ab}', '<', '[']
            .iter()
            .zip(['\u{bb}', '>', ']'])
            .find_map(|(open, close)| {
                let (name, rest) = trimmed.rsplit_once(*open)?;
                let address = rest.strip_suffix(close)?;
                (address.contains('@') && !name.trim().is_empty()).then_some(name)
            })
            .unwrap_or(trimmed);
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

/// Plain text as any reader may show it: runs of whitespace collapsed to one space, and
/// control characters and bidi embeddings, overrides and isolates (U+202A-U+202E,
/// U+2066-U+2069) dropped. An unbalanced right-to-left override in a title reverses what
/// follows it in a reader's list ("Breaking\u{202E}gnp.exe" shows as "Breakingexe.png"), and
/// C0 controls are not even allowed in XML.
fn clean_text(s: &str) -> String {
    let dropped =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        let at = out.len();
        if at > 0 {
            out.push(' ');
        }
        let kept = out.len();
        if word.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            // printable ASCII, most words: nothing to drop
            out.push_str(word);
            continue;
        }
        out.extend(word.chars().filter(|c| !dropped(*c)));
        if out.len() == kept {
            // nothing left of the word: no space for it either
            out.truncate(at);
        }
    }
    out
}

/// Plain text of an HTML fragment: tags dropped (script and style with their content), a
/// formula's as its text ([`clean::stand_ins`]), entities decoded, whitespace
/// collapsed.
pub fn html_to_text(html: &str) -> String {
    if too_deep(html) {
        return clean_text(&crate::dedup::text_of_html(html));
    }
    // formulas and frames as a sanitized body has them (text, links: the parser drops
    // MathML and frames with all they hold)
    let html = &*clean::stand_ins(html);
    let stripped = text_by_scan(html, &[])
        .unwrap_or_else(|| TEXT_ONLY.with_borrow(|b| b.clean(html).to_string()));
    clean_text(&html_escape::decode_html_entities(&stripped))
}

/// The text of `html` (entity references left as written) without the content of the
/// elements in `skip`, read without the HTML parser where the HTML allows: sanitized in one
/// pass ([`wellformed`]), then read by a scan ([`text::sanitized_text`]). The same text as
/// ammonia's with no tag allowed: the sanitizer removes tags but keeps their text, drops
/// script and style with theirs, and leaves anything else to the parser.
fn text_by_scan(html: &str, skip: &[&str]) -> Option<String> {
    thread_local! {
        // URLs do not count for the text: any base
        static BASE: Url = Url::parse("http://localhost/").expect("a URL");
    }
    let sanitized = BASE.with(|base| POLICY.with(|p| wellformed::sanitize(html, base, p)))?;
    text::sanitized_text(&sanitized, skip)
}

// Building an ammonia Builder fills its tag and attribute sets: a few µs that used to be
// paid per field of every entry (5% of a first poll). One of each per thread, reused.
thread_local! {
    static TEXT_ONLY: RefCell<ammonia::Builder<'static>> = RefCell::new({
        let mut b = ammonia::Builder::empty();
        b.clean_content_tags(["script", "style", "template"].into_iter().collect());
        b
    });
    static BODY_TEXT: RefCell<ammonia::Builder<'static>> = RefCell::new({
        let mut b = ammonia::Builder::empty();
        b.clean_content_tags(
            ["script", "style", "template"]
                .into_iter()
                .chain(BODY_TEXT_SKIPPED.iter().copied())
                .collect(),
        );
        b
    });
    static SANITIZER: RefCell<ammonia::Builder<'static>> = RefCell::new({
        let mut b = ammonia::Builder::default();
        b.link_rel(Some("noopener noreferrer nofollow"))
            .add_tag_attributes("img", ["width", "height", "loading"]);
        for tag in ["blockquote", "del", "ins", "q"] {
            b.rm_tag_attributes(tag, &["cite"]);
        }
        b
    });
    /// [`SANITIZER`]'s policy, for the bodies sanitized without it.
    static POLICY: wellformed::Policy = SANITIZER.with_borrow(wellformed::Policy::of);
}

/// The text a summary is cut from. A summary keeps the first [`SUMMARY_CHARS`]
/// characters, so a long body is read only as far as needed: the text of the start of a
/// document is the start of its text, and once that runs well past the summary's length
/// the rest cannot change it. (Reading whole bodies cost 6% of a first poll.)
fn summary_source(html: &str) -> String {
    // (formulas and frames as the sanitized body has them: text, links)
    head_first(&clean::stand_ins(html), body_text)
}

/// `text` of the head of `html` (cut before a tag) when that runs well past a summary's
/// length, else of all of it.
fn head_first(html: &str, text: impl Fn(&str) -> String) -> String {
    const HEAD_BYTES: usize = SUMMARY_CHARS * 8;
    if html.len() > HEAD_BYTES * 2 {
        let mut cut = HEAD_BYTES;
        while !html.is_char_boundary(cut) {
            cut -= 1;
        }
        // before the tag the cut falls in or after, so that the head's tags are whole
        let cut = html[..cut].rfind('<').unwrap_or(cut);
        let head = text(&html[..cut]);
        if head.chars().count() > SUMMARY_CHARS + 100 {
            return head;
        }
    }
    text(html)
}

/// [`summary_source`] of a body sanitized here ([`sanitize_html`]): its text read by a scan
/// where the HTML allows (see [`text`]), the same text without parsing the body again. The
/// whole body's text starts as its head's does, so the summary cut from it is the same.
fn sanitized_summary_source(html: &str) -> String {
    head_first(html, |html| {
        match text::sanitized_text(html, BODY_TEXT_SKIPPED) {
            Some(t) => clean_text(&html_escape::decode_html_entities(&t)),
            None => body_text(html),
        }
    })
}

/// Elements whose content is not a body's text: figure captions belong to their image.
const BODY_TEXT_SKIPPED: &[&str] = &["figcaption"];

/// Plain text of a body, for a summary: figure captions belong to their image, not the text.
fn body_text(html: &str) -> String {
    if too_deep(html) {
        return clean_text(&crate::dedup::text_of_html(html));
    }
    let stripped = text_by_scan(html, BODY_TEXT_SKIPPED)
        .unwrap_or_else(|| BODY_TEXT.with_borrow(|b| b.clean(html).to_string()));
    clean_text(&html_escape::decode_html_entities(&stripped))
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
        clean_text(&clean::strip_html_tags(&decoded))
    }
}

/// Sanitizes HTML for readers: no script, style, iframe, form, event handlers or
/// javascript: URLs; relative URLs made absolute against `base`; links get rel=noopener;
/// tracking pixels, feed flares and share/ad blocks removed; no character XML forbids.
/// Figures, captions, images, tables and code stay. `cite` attributes go: ammonia does not
/// check their scheme (`<q cite="javascript:...">` passes), and no browser shows them.
///
/// Characters XML forbids are taken out of what parsing made (character references such as
/// `&#x1B;` turn into them as the HTML is parsed), on either path.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    if too_deep(html) {
        // hostile or broken: keep the words, as text
        let words = crate::dedup::text_of_html(html);
        return format!(
            "<p>{}</p>",
            html_escape::encode_text(&without_forbidden_in_xml(&words))
        );
    }
    let html = clean::strip_clutter(html);
    // well-formed HTML is written straight from its tags, the same bytes ammonia gives
    let cleaned = POLICY
        .with(|policy| wellformed::sanitize(&html, base, policy))
        .unwrap_or_else(|| {
            SANITIZER.with_borrow_mut(|b| {
                b.url_relative(UrlRelative::RewriteWithBase(base.clone()))
                    .clean(&html)
                    .to_string()
            })
        });
    let out = clean::drop_empty_wrappers(without_forbidden_in_xml(&cleaned).trim());
    match out.trim() {
        trimmed if trimmed.len() == out.len() => out,
        trimmed => trimmed.to_string(),
    }
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
    // each level takes a start tag of three bytes at least (`<a>`), and opens with a `<`:
    // most bodies are too short, or have too few, to count their depth
    if b.len() <= 3 * MAX_HTML_DEPTH || memchr::memchr_iter(b'<', b).nth(MAX_HTML_DEPTH).is_none() {
        return false;
    }
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
                let name = &html[i + 1..name_end];
                let close = b[name_end..]
                    .iter()
                    .position(|c| *c == b'>')
                    .map_or(b.len(), |p| name_end + p);
                let self_closing =
                    close > 0 && close <= b.len() && b.get(close.wrapping_sub(1)) == Some(&b'/');
                if !self_closing && !VOID_ELEMENTS.iter().any(|v| name.eq_ignore_ascii_case(v)) {
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

/// `s` without the characters XML forbids. Decoding drops raw ones, but feed-rs resolves
/// references such as `&#1;` to them, and one in a title made the merged Atom and RSS feeds
/// unreadable (not well-formed) for every subscriber.
fn xml_safe(s: String) -> String {
    match without_forbidden_in_xml(&s) {
        Cow::Owned(clean) => clean,
        Cow::Borrowed(_) => s,
    }
}

/// Cuts plain text at a word boundary near `max` characters.
fn truncate_words(text: &str, max: usize) -> String {
    // the first `max` characters, read no further than the one after them
    let Some((end, _)) = text.char_indices().nth(max) else {
        return text.to_string();
    };
    let cut = &text[..end];
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
        .map(|c| clean_text(&c.entity))
        .find(|c| !c.is_empty());
    match (caption, credit) {
        (Some(t), Some(c)) if !t.contains(&c) => Some(format!("{t} ({c})")),
        (Some(t), _) => Some(t),
        (None, c) => c,
    }
}

/// Whether a media:content is an image: by its type, else by its URL's extension or as the
/// one a hint says is an image by `medium` alone.
fn is_image_content(c: &feed_rs::model::MediaContent, medium_image: Option<&Url>) -> bool {
    match (&c.content_type, &c.url) {
        (Some(t), _) => t.to_string().starts_with("image/"),
        (None, Some(u)) => looks_like_image(u) || medium_image == Some(u),
        (None, None) => false,
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
    // a media:content that says it is an image by `medium` alone (see EntryHints::medium_image)
    let medium_image = hints
        .and_then(|h| h.medium_image.as_deref())
        .and_then(|u| Url::parse(u.trim()).ok());
    let contents = entry.media.iter().flat_map(|m| {
        let medium_image = medium_image.clone();
        m.content.iter().filter_map(move |c| {
            let url = c.url.as_ref()?;
            let is_image = is_image_content(c, medium_image.as_ref());
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

/// One entry as an article: its link, body, summary, title, dates, people and categories,
/// lead image and identity, each a step of its own below.
fn normalize_entry(
    entry: &Entry,
    hints: Option<&EntryHints>,
    feed: &Feed,
    feed_authors: &[String],
    feed_url: &Url,
    now: DateTime<Utc>,
) -> Article {
    let link_url = entry_link(entry, feed_url);
    let link = link_url.as_ref().map(|u| u.to_string());
    let canonical_url = link_url.as_ref().and_then(dedup::canonical_url);
    let base = content_base(entry, hints, link_url.as_ref(), feed_url);
    let content = entry_content(entry, &base);
    let summary = entry_summary(entry, content.as_deref());
    let title = entry_title(entry, summary.as_deref());
    let (published, updated) = entry_dates(entry, now);
    let mut authors = authors_of(&entry.authors);
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let categories = entry_categories(entry);
    let (image, image_credit) = lead_image(entry, hints, content.as_deref(), feed_url);
    let image = image.filter(|u| u.len() <= MAX_URL_BYTES);
    let guid = Some(entry.id.trim().to_string()).filter(|g| !g.is_empty());
    let key = dedup::identity(
        guid.as_deref(),
        link_url.as_ref().and_then(dedup::identity_url).as_deref(),
        &title,
        content.as_deref().unwrap_or(""),
    );
    // URLs are safe already: the url crate percent-encodes control characters
    Article {
        key,
        guid: guid.map(xml_safe),
        title: xml_safe(title),
        link,
        canonical_url,
        authors: authors.into_iter().map(xml_safe).collect(),
        published,
        updated,
        summary: summary.map(xml_safe),
        content: content.map(xml_safe),
        categories: categories.into_iter().map(xml_safe).collect(),
        image,
        image_credit: image_credit.map(xml_safe),
        language: entry
            .language
            .clone()
            .or_else(|| feed.language.clone())
            .map(xml_safe),
    }
}

/// The entry's link (its alternate, else its first), absolute, if it is a usable web URL.
fn entry_link(entry: &Entry, feed_url: &Url) -> Option<Url> {
    entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .and_then(|l| feed_url.join(l.href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.as_str().len() <= MAX_URL_BYTES)
}

/// What relative URLs in the body are resolved against: xml:base, else the entry's own link,
/// else the feed URL. Only a web base: ammonia does not check the scheme of what it
/// resolves, so an xml:base of "javascript:alert(1)" would turn <a href="#top"> into a
/// javascript: link.
fn content_base(
    entry: &Entry,
    hints: Option<&EntryHints>,
    link_url: Option<&Url>,
    feed_url: &Url,
) -> Url {
    let web = |u: &Url| matches!(u.scheme(), "http" | "https");
    hints
        .and_then(|h| h.content_base.clone())
        .filter(web)
        .or_else(|| {
            entry
                .base
                .as_deref()
                .and_then(|b| feed_url.join(b).ok())
                .filter(web)
        })
        .or_else(|| link_url.cloned())
        .unwrap_or_else(|| feed_url.clone())
}

/// The entry's summary as the feed gave it, if it has one with any text.
fn given_summary(entry: &Entry) -> Option<&Text> {
    entry
        .summary
        .as_ref()
        .filter(|s| !s.content.trim().is_empty())
        .or_else(|| media_description(entry))
}

/// A video's or an episode's `media:description`, for an entry with no summary or content
/// of its own: what YouTube's channel feeds (and PeerTube's, Vimeo's) describe a video with,
/// inside `media:group`. A photo's description is about the photo, not the story: a media
/// object whose contents are all images gives none.
fn media_description(entry: &Entry) -> Option<&Text> {
    if given_content(entry).is_some() {
        return None;
    }
    let is_photo = |m: &feed_rs::model::MediaObject| {
        !m.content.is_empty() && m.content.iter().all(|c| is_image_content(c, None))
    };
    entry.media.iter().filter(|m| !is_photo(m)).find_map(|m| {
        m.description
            .as_ref()
            .filter(|d| !d.content.trim().is_empty())
    })
}

/// The entry's content as the feed gives it, if it has any.
fn given_content(entry: &Entry) -> Option<&str> {
    entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .filter(|b| !b.trim().is_empty())
}

/// The sanitized body: the entry's content, else (RSS) its description.
fn entry_content(entry: &Entry, base: &Url) -> Option<String> {
    let raw_content = given_content(entry);
    let content_is_html = entry.content.as_ref().is_none_or(|c| {
        c.content_type.to_string().contains("html") || c.content_type.to_string().contains("xml")
    });
    match (raw_content, given_summary(entry)) {
        (Some(body), _) if content_is_html => Some(sanitize_html(body, base)),
        (Some(body), _) => Some(sanitize_html(&plain_to_html(body), base)),
        // RSS description only: it is the body
        (None, Some(s)) if is_html(s) => Some(sanitize_html(&s.content, base)),
        (None, Some(s)) => Some(sanitize_html(&plain_to_html(&s.content), base)),
        (None, None) => None,
    }
    .filter(|c| !c.is_empty())
}

/// A plain-text body as HTML that reads as it was written: escaped, a paragraph for each
/// run of lines between blank lines, a line break for each other line end (a video's
/// description, an Atom `type="text"` body, a JSON Feed's `content_text`). Its words are
/// those of the text, so what is hashed and compared of it is the same as before.
fn plain_to_html(text: &str) -> String {
    if !text.trim().contains('\n') {
        return escape_linking(text);
    }
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines().map(str::trim) {
        match paragraphs.last_mut() {
            Some(p) if !line.is_empty() => p.push(line),
            Some(p) if !p.is_empty() => paragraphs.push(Vec::new()),
            _ => {}
        }
    }
    paragraphs
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<_> = p.iter().map(|l| escape_linking(l)).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// Plain text escaped for HTML, its `http(s)://` addresses made links (a video description
/// lists its links so). The link is the address less the punctuation that closes its
/// sentence or parenthesis; what it shows is the whole word the address is in, so that the
/// text's words stay as they were (what is hashed and compared of a body).
fn escape_linking(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // (one pass: each search starts where the last word ended)
    let scheme_at = |s: &str| {
        memchr::memmem::find_iter(s.as_bytes(), b"http")
            .find(|&i| s[i + 4..].starts_with("://") || s[i + 4..].starts_with("s://"))
    };
    while let Some(at) = scheme_at(rest) {
        // the word the address is in: from the last whitespace before it to the next after
        let word_start = rest[..at].rfind(char::is_whitespace).map_or(0, |i| {
            i + rest[i..].chars().next().map_or(1, char::len_utf8)
        });
        let word_end = rest[at..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |i| at + i);
        let opening = rest[word_start..at]
            .chars()
            .all(|c| matches!(c, '(' | '[' | '<' | '"' | '\''));
        let address = rest[at..word_end]
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '>', '"', '\'']);
        out.push_str(&html_escape::encode_text(&rest[..word_start]));
        let word = &rest[word_start..word_end];
        if opening && url::Url::parse(address).is_ok_and(|u| u.host().is_some()) {
            let href = html_escape::encode_double_quoted_attribute(address);
            out.push_str(&format!(
                "<a href=\"{href}\">{}</a>",
                html_escape::encode_text(word)
            ));
        } else {
            out.push_str(&html_escape::encode_text(word));
        }
        rest = &rest[word_end..];
    }
    out.push_str(&html_escape::encode_text(rest));
    out
}

/// The plain-text summary: the feed's, else the start of the body, cut at a word boundary.
fn entry_summary(entry: &Entry, content: Option<&str>) -> Option<String> {
    given_summary(entry)
        .map(|s| {
            if is_html(s) {
                match content {
                    // an RSS description alone is the body too: its text is read from the
                    // body sanitized, not parsed again (a share block's labels are gone)
                    Some(body) if given_content(entry).is_none() => sanitized_summary_source(body),
                    _ => summary_source(&s.content),
                }
            } else {
                text_of(s)
            }
        })
        .or_else(|| content.map(sanitized_summary_source))
        .filter(|s| !s.is_empty())
        .map(|s| truncate_words(&s, SUMMARY_CHARS))
}

/// The plain-text headline: the entry's title, else the start of its summary.
fn entry_title(entry: &Entry, summary: Option<&str>) -> String {
    entry
        .title
        .as_ref()
        .map(text_of)
        .filter(|t| !t.is_empty())
        .map(|t| truncate_words(&t, MAX_TITLE_CHARS))
        .or_else(|| summary.map(|s| truncate_words(s, 80)))
        .unwrap_or_else(|| "(untitled)".to_string())
}

/// Publication and update times, never after `now`, and never updated before published.
fn entry_dates(
    entry: &Entry,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let published = entry.published.or(entry.updated).map(|d| d.min(now));
    let mut updated = entry.updated.map(|d| d.min(now));
    if let (Some(p), Some(u)) = (published, updated) {
        if u < p {
            // never let "updated" precede "published"
            updated = Some(p);
        }
    }
    (published, updated)
}

/// The entry's categories as plain text, without repeats (case-insensitive).
fn entry_categories(entry: &Entry) -> Vec<String> {
    let mut categories: Vec<String> = Vec::new();
    for c in &entry.categories {
        let term = truncate_words(
            &clean_text(&html_escape::decode_html_entities(
                c.label.as_deref().unwrap_or(&c.term),
            )),
            MAX_LABEL_CHARS,
        );
        if !term.is_empty() && !categories.iter().any(|x| x.eq_ignore_ascii_case(&term)) {
            categories.push(term);
        }
    }
    categories
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_collapses_whitespace_and_drops_controls_and_bidi() {
        for (raw, clean) in [
            ("  a \t b\n\nc  ", "a b c"),
            ("\u{1}\u{2} a \u{202E}\u{2066} b \u{7f}", "a b"),
            ("Breaking\u{202E}gnp.exe", "Breakinggnp.exe"),
            ("x\u{85}y \u{a0} z", "x y z"),
            ("\u{202A}", ""),
            ("", ""),
        ] {
            assert_eq!(clean_text(raw), clean, "{raw:?}");
        }
    }

    /// A fragment's text read by a scan of it sanitized is the text ammonia gives, with no
    /// tag allowed, for titles and captions (`html_to_text`) and bodies (`body_text`).
    fn same_text_both_ways(html: &str) -> bool {
        if too_deep(html) {
            return false;
        }
        let by_parser = |builder: &'static std::thread::LocalKey<RefCell<ammonia::Builder>>,
                         html: &str| {
            let stripped = builder.with_borrow(|b| b.clean(html).to_string());
            clean_text(&html_escape::decode_html_entities(&stripped))
        };
        // (`html_to_text` reads formulas and frames first, whichever way it reads the rest)
        let formulas = clean::stand_ins(html);
        assert_eq!(
            html_to_text(html),
            by_parser(&TEXT_ONLY, &formulas),
            "{html:?}"
        );
        assert_eq!(body_text(html), by_parser(&BODY_TEXT, html), "{html:?}");
        text_by_scan(html, &[]).is_some()
    }

    #[test]
    fn text_read_by_a_scan_is_the_parsers_on_random_documents() {
        let mut rng = crate::testing::Rng::new(0x7e47_5ca1);
        let docs = 4000;
        let scanned = (0..docs)
            .filter(|n| same_text_both_ways(&wellformed::tests::random_document(&mut rng, *n)))
            .count();
        eprintln!("{scanned} of {docs} random documents' text read by a scan");
        assert!(
            scanned * 4 > docs,
            "{scanned} of {docs}: the test reaches too little"
        );
    }

    /// The summary read by a scan of sanitized HTML is the summary read by parsing it.
    fn same_summary_both_ways(raw: &str) {
        let base = Url::parse("https://example.com/a/").unwrap();
        let html = sanitize_html(raw, &base);
        let summary = |s: String| truncate_words(&s, SUMMARY_CHARS);
        assert_eq!(
            summary(sanitized_summary_source(&html)),
            summary(summary_source(&html)),
            "{raw:?} sanitized to {html:?}"
        );
    }

    #[test]
    fn a_summary_read_by_a_scan_is_the_summary_read_by_the_parser() {
        for raw in [
            "<p>One <a href=\"/x?a=1&b=2\" title='a > b \"c\"'>two</a> &amp; three</p>",
            "<figure><img src=\"/i.jpg\" alt=\"x > y\"><figcaption>Photo <em>AP</em>\
             </figcaption></figure><p>Body&nbsp;text &lt;tag&gt; &copy; &#x2014; ok</p>",
            "<p>a</p><p>b</p>\n<div>c<br>d</div><ul><li>e</li><li>f</li></ul>",
            "<table><tr><td>cell</td></tr></table>text",
            "<pre>\ncode</pre>after",
            "<p>unclosed <b>bold <i>both</p> after",
            "<a href=\"/1\">outer <a href=\"/2\">inner</a></a>",
            "<blockquote><p>quote <q cite=\"javascript:x\">q</q></p></blockquote>",
            "<svg><title>t</title></svg>visible",
            "text with <!-- a comment --> and <?pi?> and < stray",
            "<figcaption><figcaption>nested</figcaption>still</figcaption>out",
            "plain text & more <script>x()</script><style>p{}</style>",
            "Line\u{1}with\u{b}controls &#1; &#x1B;",
        ] {
            same_summary_both_ways(raw);
        }
    }

    /// Every body of every feed in the shared corpus, when it is there.
    #[test]
    fn a_summary_read_by_a_scan_is_the_parsers_on_the_corpus() {
        let Some(files) = crate::testing::corpus_files() else {
            return;
        };
        let mut bodies = 0;
        for path in files {
            let Ok(feed) = feed_rs::parser::parse(&std::fs::read(&path).unwrap()[..]) else {
                continue;
            };
            for e in &feed.entries {
                let content = e.content.as_ref().and_then(|c| c.body.as_deref());
                let summary = e.summary.as_ref().map(|s| s.content.as_str());
                for raw in content.into_iter().chain(summary) {
                    same_summary_both_ways(raw);
                    same_text_both_ways(raw);
                    bodies += 1;
                }
                // a description that is also the body: read from the body as sanitized, it
                // is the summary it was when read from the feed's HTML (no share blocks here)
                if let Some(s) = e.summary.as_ref().filter(|s| is_html(s)) {
                    let base = Url::parse("https://example.com/a/").unwrap();
                    let from_body = sanitized_summary_source(&sanitize_html(&s.content, &base));
                    assert_eq!(
                        truncate_words(&from_body, SUMMARY_CHARS),
                        truncate_words(&summary_source(&s.content), SUMMARY_CHARS),
                        "{}",
                        path.display()
                    );
                }
            }
        }
        assert!(bodies > 1000, "{bodies} bodies");
    }

    #[test]
    fn a_summary_read_from_the_head_of_a_long_body_is_the_summary_of_the_whole() {
        let para = |i: usize| {
            format!(
                "<p>Paragraph {i} with <a href=\"/x\">a link</a> &amp; <em>some</em> \
                 words<figure><img src=\"/i.jpg\"><figcaption>Caption {i}</figcaption></figure></p>"
            )
        };
        // long enough to take the short path, cut inside tags and entities at every offset
        for pad in 0..40 {
            let html = format!(
                "{}{}",
                "x".repeat(pad),
                (0..200).map(para).collect::<String>()
            );
            let head = truncate_words(&summary_source(&html), SUMMARY_CHARS);
            let whole = truncate_words(&body_text(&html), SUMMARY_CHARS);
            assert_eq!(head, whole, "pad {pad}");
            // and a body sanitized here, read by a scan of its head
            let base = Url::parse("https://example.com/a/").unwrap();
            let sanitized = sanitize_html(&html, &base);
            let head = truncate_words(&sanitized_summary_source(&sanitized), SUMMARY_CHARS);
            let whole = truncate_words(&body_text(&sanitized), SUMMARY_CHARS);
            assert_eq!(head, whole, "pad {pad}, sanitized");
        }
        // markup-heavy: the head has too little text, so the whole body is read
        let dense = format!("{}<p>the words</p>", "<b></b>".repeat(2000));
        assert_eq!(summary_source(&dense), "the words");
    }

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
    fn each_article_comes_with_its_text_and_keeps_it_when_others_are_left_out() {
        let mut n = run(r#"<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>One</title><description>&lt;p&gt;First &lt;b&gt;body&lt;/b&gt;&lt;/p&gt;</description></item>
<item><guid>2</guid><title>Two</title></item>
<item><guid>3</guid><title>Three</title><description>Third body</description></item>
</channel></rss>"#);
        assert_eq!(n.texts.len(), 3);
        for (a, t) in n.articles.iter().zip(&n.texts) {
            assert_eq!(t.hash, dedup::content_hash(a), "{}", a.title);
        }
        assert_eq!(n.texts[0].body, "First body");
        n.retain(|a| a.title != "Two");
        let prepared = n.prepared();
        let titles: Vec<&str> = prepared.iter().map(|p| p.article.title.as_str()).collect();
        assert_eq!(titles, ["One", "Three"]);
        assert_eq!(prepared[1].text.body, "Third body");
        assert_eq!(
            prepared[1].text.hash,
            dedup::content_hash(&prepared[1].article)
        );
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
        // kept as text, it holds no character XML forbids either
        let with_controls = deep.replace("words here", "words\u{1} here\u{b}");
        let out = sanitize_html(&with_controls, &base);
        assert!(
            !out.contains(crate::parse::forbidden_in_xml) && out.contains("words here"),
            "{out:?}"
        );
        // ordinary markup, void elements and a few hundred levels are parsed as usual
        let ok = format!(
            "{}<p>a<br>b<img src=\"/i.jpg\"/></p>{}",
            "<div>".repeat(300),
            "</div>".repeat(300)
        );
        assert!(!too_deep(&ok));
        // many tags, but shallow: counted, not too deep; void elements in any case nest not
        assert!(!too_deep(&"<p>x</p><BR><Img src=x>".repeat(2000)));
        assert!(too_deep(&"<DIV>".repeat(MAX_HTML_DEPTH + 1)));
        assert!(!too_deep(&"<DIV>".repeat(MAX_HTML_DEPTH)));
        assert!(sanitize_html(&ok, &base).contains("<img src=\"https://e.com/i.jpg\""));
    }

    #[test]
    fn plain_text_loses_control_characters_and_bidi_overrides() {
        let n = run(
            "<rss version=\"2.0\"><channel><title>Feed\u{202E}gnp.exe</title>\
<item><guid>1</guid><title>Breaking\u{202E}gnp.exe \u{2066}isolated\u{2069}\u{1B}[31m</title>\
<description>Bell\u{7} and C1\u{9B} \u{202D}override\u{202C}</description>\
<author>x@example.com (Ann\u{1} Lee\u{202B})</author><category>Tag\u{2067}</category></item>\
</channel></rss>",
        );
        assert_eq!(n.meta.title.as_deref(), Some("Feedgnp.exe"));
        let a = &n.articles[0];
        assert_eq!(a.title, "Breakinggnp.exe isolated[31m");
        assert_eq!(a.summary.as_deref(), Some("Bell and C1 override"));
        assert_eq!(a.authors, ["Ann Lee"]);
        assert_eq!(a.categories, ["Tag"]);
        // right-to-left text itself, and its marks, stay
        assert_eq!(
            clean_text("\u{5E9}\u{5DC}\u{5D5}\u{5DD}\u{200F} \t\n world"),
            "\u{5E9}\u{5DC}\u{5D5}\u{5DD}\u{200F} world"
        );
    }

    #[test]
    fn bodies_lose_cite_urls_and_characters_xml_forbids() {
        let base = Url::parse("https://e.com/a/").unwrap();
        let out = sanitize_html(
            "<blockquote cite=\"javascript:alert(1)\">q</blockquote><q cite=\"javascript:x\">y</q>\
             <p>form\u{C}feed, bell\u{7}&#7;&#x1B;, tab\tand line\nend</p>",
            &base,
        );
        assert_eq!(
            out,
            "<blockquote>q</blockquote><q>y</q><p>formfeed, bell, tab\tand line\nend</p>"
        );
    }

    #[test]
    fn an_xml_base_that_is_not_a_web_url_is_not_a_base() {
        for evil in [
            "javascript:alert(1)",
            "javascript://x/%0aalert(1)/",
            "data:text/html,x",
        ] {
            let n = run(&format!(
                r##"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id><updated>2025-06-02T10:00:00Z</updated>
<entry xml:base="{evil}"><id>1</id><title>t</title><updated>2025-06-02T10:00:00Z</updated>
<link href="https://e.com/news/1.html"/>
<content type="html">&lt;a href="#top"&gt;a&lt;/a&gt;&lt;a href="next.html"&gt;b&lt;/a&gt;&lt;img src="p.jpg"&gt;</content></entry></feed>"##
            ));
            let c = n.articles[0].content.as_deref().unwrap();
            assert_eq!(
                c,
                "<a href=\"https://e.com/news/1.html#top\" rel=\"noopener noreferrer nofollow\">a</a>\
                 <a href=\"https://e.com/news/next.html\" rel=\"noopener noreferrer nofollow\">b</a>\
                 <img src=\"https://e.com/news/p.jpg\">",
                "xml:base {evil}"
            );
        }
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
        // the same cut as counting every character first, at every length around the limit
        let by_count = |text: &str, max: usize| {
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
        };
        let text = "Été à Zürich — “naïve” café, 東京の夏. Ünïcode words, and more: end.";
        for n in 0..=text.chars().count() + 1 {
            let t: String = text.chars().take(n).collect();
            for max in [0, 1, 5, 12, 20, n.saturating_sub(1), n, n + 1] {
                assert_eq!(truncate_words(&t, max), by_count(&t, max), "{t:?} {max}");
            }
        }
        // depth is counted only where it could be too deep: 1,025 start tags or more
        let nested = |n: usize| format!("{}x", "<b>".repeat(n));
        assert!(!too_deep(&nested(MAX_HTML_DEPTH)));
        assert!(too_deep(&nested(MAX_HTML_DEPTH + 1)));
        assert!(!too_deep(&format!("{}x", "<br>".repeat(5000))));
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
    fn an_address_in_brackets_leaves_the_name() {
        assert_eq!(
            clean_author("Jean Dupont \u{ab}jean@example.com\u{bb}"),
            "Jean Dupont"
        );
        assert_eq!(clean_author("Ann Lee <ann@example.com>"), "Ann Lee");
        assert_eq!(clean_author("Bob [bob@example.com]"), "Bob");
        // brackets without an address are part of the name
        assert_eq!(
            clean_author("The Desk \u{ab}Paris\u{bb}"),
            "The Desk \u{ab}Paris\u{bb}"
        );
        // the panicking feed, read entry by entry: the name comes through
        let n = run("<rss version=\"2.0\"><channel><title>t</title>\
            <item><guid>1</guid><author>Jean Dupont \u{ab}jean@example.com\u{bb}</author></item>\
            </channel></rss>");
        assert_eq!(n.articles[0].authors, ["Jean Dupont"]);
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
    fn plain_text_bodies_keep_their_paragraphs_and_lines() {
        assert_eq!(plain_to_html("One line & more "), "One line &amp; more ");
        // addresses are links, less the punctuation around them
        assert_eq!(
            plain_to_html("Tickets (https://e.com/t?a=1&b=2). Or http://x.org/y, then"),
            "Tickets <a href=\"https://e.com/t?a=1&amp;b=2\">(https://e.com/t?a=1&amp;b=2).</a> \
             Or <a href=\"http://x.org/y\">http://x.org/y,</a> then"
        );
        // not inside a word, not without a host
        assert_eq!(
            plain_to_html("xhttps://e.com and https:// alone"),
            "xhttps://e.com and https:// alone"
        );
        assert_eq!(
            plain_to_html("First <para>\r\nsame para\n \n\nSecond\n\n"),
            "<p>First &lt;para&gt;<br>same para</p><p>Second</p>"
        );
        // the same words as the text: hashes and comparisons do not move
        let text = "A walk\nalong the harbour (https://e.com/h).\n\nFilmed in June.";
        assert_eq!(
            crate::dedup::text_of_html(&plain_to_html(text)),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn a_video_entry_is_described_by_its_media_description() {
        // YouTube's channel feeds (and PeerTube's, Vimeo's): no summary or content, the
        // video's description in media:group; an entry's own summary still wins
        let n = run(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
 xmlns:yt="http://www.youtube.com/xml/schemas/2015"><title>Channel</title><id>yt:channel:1</id>
<entry><id>yt:video:abc</id><yt:videoId>abc</yt:videoId><title>Harbour tour</title>
<link rel="alternate" href="https://www.youtube.com/watch?v=abc"/><published>2025-06-01T10:00:00+00:00</published>
<media:group><media:title>Harbour tour</media:title>
<media:content url="https://www.youtube.com/v/abc" type="application/x-shockwave-flash" width="640" height="390"/>
<media:thumbnail url="https://i.ytimg.com/vi/abc/hqdefault.jpg" width="480" height="360"/>
<media:description>A walk along the harbour at dawn &amp; the fish market.
Filmed in June.

Map: https://maps.example/harbour</media:description></media:group></entry>
<entry><id>yt:video:def</id><title>Own</title><summary>Its own summary</summary>
<link rel="alternate" href="https://www.youtube.com/watch?v=def"/><published>2025-06-02T10:00:00+00:00</published>
<media:group><media:description>Other</media:description></media:group></entry>
</feed>"#,
        );
        let a = &n.articles;
        assert_eq!(
            a[0].summary.as_deref(),
            Some(
                "A walk along the harbour at dawn & the fish market. Filmed in June. \
                 Map: https://maps.example/harbour"
            )
        );
        let body = a[0].content.as_deref().unwrap_or_default();
        assert!(
            body.contains("the fish market.<br>Filmed in June.</p>"),
            "{body}"
        );
        assert!(
            body.contains(r#"<a href="https://maps.example/harbour""#),
            "{body}"
        );
        assert!(!body.contains('<') || !body.contains("<script"), "{body}");
        assert_eq!(
            a[0].image.as_deref(),
            Some("https://i.ytimg.com/vi/abc/hqdefault.jpg")
        );
        assert_eq!(a[1].summary.as_deref(), Some("Its own summary"));
        // a photo's description is its caption, not the story's summary
        let n = run(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<item><guid>1</guid><title>Storm damage</title>
<media:content url="https://e.com/storm.jpg" medium="image" type="image/jpeg"><media:description>Fallen trees on Main Street</media:description></media:content></item>
</channel></rss>"#,
        );
        assert_eq!(n.articles[0].summary, None);
        assert_eq!(n.articles[0].content, None);
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
        // an image server's URL with no extension, an image by `medium` alone
        let m = run(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<item><guid>1</guid><description>Text</description>
<media:thumbnail url="https://e.com/thumb.jpg"/>
<media:content url="https://img.e.com/resize?id=42&amp;w=1200" medium="image"><media:credit>Reuters</media:credit></media:content></item>
<item><guid>2</guid><description>Text</description><media:content url="https://e.com/clip?id=7" medium="video"/></item>
</channel></rss>"#,
        );
        assert_eq!(
            m.articles[0].image.as_deref(),
            Some("https://img.e.com/resize?id=42&w=1200")
        );
        assert_eq!(m.articles[0].image_credit.as_deref(), Some("Reuters"));
        assert_eq!(m.articles[1].image, None);
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
        // the description is the body: its summary is the body's text, without the labels
        assert_eq!(n.articles[0].summary.as_deref(), Some("Story text.1x = 1"));
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        // a raw NUL, and control characters as references, which feed-rs lets through
        let n = run("<rss version=\"2.0\"><channel><title>Fee\0d&#1;</title>\
<item><guid>g&#x1F;1</guid><title>Zero\0byte &#x1;head&#8;line</title>\
<description>body \0 with&#11; NUL</description><category>c&#x1;at</category>\
<author>x@e.com (Ann\0 Lee)</author></item></channel></rss>");
        assert_eq!(n.meta.title.as_deref(), Some("Feed"));
        let a = &n.articles[0];
        assert_eq!(a.title, "Zerobyte headline");
        assert_eq!(a.guid.as_deref(), Some("g1"));
        assert_eq!(a.categories, ["cat"]);
        assert_eq!(a.authors, ["Ann Lee"]);
        for text in [a.summary.as_deref(), a.content.as_deref()] {
            let text = text.unwrap();
            assert!(!text.contains(crate::parse::forbidden_in_xml), "{text:?}");
            assert!(text.contains("with NUL"), "{text:?}");
        }
        // tab, newline and carriage return are allowed
        assert_eq!(xml_safe("a\tb\nc\rd".into()), "a\tb\nc\rd");
    }

    #[test]
    fn megabyte_fields_are_cut_or_dropped() {
        let mb = "a".repeat(1 << 20);
        let words = "word ".repeat(200_000);
        let n = run(&format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Big {words}</title>\
<link rel=\"alternate\" href=\"https://e.com/?q={mb}\"/>\
<entry><id>urn:big</id><title>Huge title {words}</title>\
<link rel=\"alternate\" href=\"https://e.com/1?q={mb}\"/><category term=\"{mb}\"/>\
<author><name>{words}</name></author><content type=\"html\">body</content></entry></feed>"
        ));
        assert!(n.meta.title.as_ref().unwrap().chars().count() <= MAX_TITLE_CHARS + 1);
        assert_eq!(n.meta.site_url, None);
        let a = &n.articles[0];
        assert!(
            a.title.starts_with("Huge title word word"),
            "{}",
            &a.title[..40]
        );
        assert!(
            a.title.ends_with("word…"),
            "{}",
            &a.title[a.title.len() - 40..]
        );
        assert!(a.title.chars().count() <= MAX_TITLE_CHARS + 1);
        // an unusable link is no link: the entry is known by its id
        assert_eq!(a.link, None);
        assert_eq!(a.key, ArticleKey::Guid("urn:big".into()));
        assert_eq!(a.categories.len(), 1);
        assert!(a.categories[0].chars().count() <= MAX_LABEL_CHARS + 1);
        assert!(a.authors[0].chars().count() <= MAX_LABEL_CHARS + 1);
        // a long URL that is still usable is kept
        let long = format!("https://e.com/2?q={}", "b".repeat(4000));
        let n = run(&format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><title>x</title><link>{long}</link></item></channel></rss>"
        ));
        assert_eq!(n.articles[0].link.as_deref(), Some(long.as_str()));
    }
}
