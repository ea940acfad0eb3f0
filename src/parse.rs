//! Bytes -> feed-rs `Feed`: character set detection and the feed-rs parser set up for
//! newswire (our own date parser, no made-up ids); pure.

use std::borrow::Cow;

use chrono_tz::Tz;
use feed_rs::model::Feed;
use url::Url;

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body was empty.
    #[error("the response body is empty")]
    Empty,
    /// The server sent an HTML page, not a feed.
    #[error("not a feed: the server sent an HTML page ({content_type}){}", advertised.as_ref().map(|u| format!("; the page advertises a feed at {u}: use that as the url")).unwrap_or_default())]
    Html {
        /// The Content-Type the server gave.
        content_type: String,
        /// The feed the page points to with `<link rel="alternate">`, if any.
        advertised: Option<Url>,
    },
    /// feed-rs could not parse the document.
    #[error("not a valid feed: {0}")]
    Feed(#[source] feed_rs::parser::ParseFeedError),
    /// feed-rs panicked on the document (a bug of feed-rs), with this message.
    #[error("not a valid feed: the feed parser failed on it ({0})")]
    ParserPanicked(String),
    /// The body is gzip-compressed (without a `Content-Encoding` that says so) and does not
    /// unpack.
    #[error("the body is gzip-compressed without saying so, and {0}")]
    Compressed(String),
}

mod charset;
mod loose;

#[cfg(test)]
use charset::utf16_without_bom;
use charset::xml_declaration;

/// Decodes a feed document to UTF-8 (see [`charset`] for how its charset is found: a byte
/// order mark, a declaration or HTTP charset the bytes are consistent with, else detection).
/// The XML declaration is dropped from the result, since it may name the old encoding.
pub fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    strip_declaration(charset::decode_document(bytes, content_type, None).text)
}

/// Whether XML 1.0 forbids `c`, even as a character reference: C0 controls other than tab,
/// newline and carriage return, and U+FFFE, U+FFFF.
pub(crate) fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// `s` without the characters [`forbidden_in_xml`], found by a scan of its bytes: they are
/// C0 controls (one byte each, never part of a longer character) and U+FFFE and U+FFFF
/// (`EF BF BE` and `EF BF BF`). Most text has none, and is borrowed back as it was.
pub(crate) fn without_forbidden_in_xml(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    // a chunk at a time, each read whole (a loop that can stop at any byte is not
    // vectorized): the scan of every document and body
    let control = |c: u8| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r');
    let any = b
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |seen, &c| seen | control(c)))
        || memchr::memchr_iter(0xEF, b)
            .any(|i| matches!(b.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])));
    if any {
        Cow::Owned(s.chars().filter(|c| !forbidden_in_xml(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// The decoded text without the characters XML forbids, and without its declaration.
/// Forbidden characters are never meaningful in a feed, and NULs do harm: a document that
/// still starts with `\0<\0?` after decoding (UTF-16 that was not recognised) made feed-rs
/// sniff UTF-16 itself and panic ("set_encoding() called after prefix buffer was drained").
fn strip_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let text = match without_forbidden_in_xml(&text) {
        Cow::Owned(clean) => Cow::Owned(clean),
        Cow::Borrowed(_) => text,
    };
    let t = text.trim_start();
    let skip = text.len() - t.len() + xml_declaration(t.as_bytes()).map_or(0, |(end, _)| end);
    from_offset(text, skip)
}

/// The text from byte `at` on: the rest of a borrowed text where it is, not a copy of it.
fn from_offset(text: Cow<'_, str>, at: usize) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[at..]),
        Cow::Owned(mut s) => {
            s.drain(..at);
            Cow::Owned(s)
        }
    }
}

/// The text from the start of its document on (its XML declaration, else its root), when
/// output that is not the feed stands before it ([`charset::output_before_document`]: a PHP
/// warning, a debugging line), and that output as plain text, shortened, for the feed's state
/// (none for markup alone).
fn without_output_before_document(text: Cow<'_, str>) -> (Cow<'_, str>, Option<String>) {
    let Some(at) = charset::output_before_document(text.as_bytes()) else {
        return (text, None);
    };
    let (mut said, mut in_tag) = (String::new(), false);
    for (n, c) in text[..at].chars().enumerate() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if in_tag => {}
            c if c.is_whitespace() => {
                if !said.ends_with(' ') && !said.is_empty() {
                    said.push(' ');
                }
            }
            c => said.push(c),
        }
        if n == 240 {
            said.push('…');
            break;
        }
    }
    let said = said.trim_end().to_string();
    // markup alone (a comment) is not worth a word
    (from_offset(text, at), (!said.is_empty()).then_some(said))
}

fn looks_like_html(text: &str, content_type: Option<&str>) -> bool {
    let ct_html = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("text/html"));
    let head: String = text
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    let starts_html =
        head.trim_start().starts_with("<!doctype html") || head.trim_start().starts_with("<html");
    starts_html
        || (ct_html && !head.contains("<rss") && !head.contains("<feed") && !head.contains("<rdf"))
}

/// What feed-rs does not keep of an entry, found by a second look at the document, in
/// document order (the order of feed-rs's entries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryHints {
    /// The `xml:base` in scope for the entry's content (set on the feed, the entry or the
    /// content element), when the document uses `xml:base` at all.
    pub content_base: Option<Url>,
    /// JSON Feed `image` / `banner_image`, an item's lone `media:thumbnail` (which
    /// feed-rs drops when the item has no `media:content`), or its `itunes:image`.
    pub image: Option<String>,
    /// RSS 1.0 `rdf:about` of the item: its identifier.
    pub about: Option<String>,
    /// A `<pubdate>` spelled in lowercase, which feed-rs does not know.
    pub pubdate: Option<String>,
    /// The text of an RSS `<guid>` not marked `isPermaLink="false"`: a permalink.
    pub guid: Option<String>,
    /// Authors feed-rs does not read: an Atom-style `<author><name>` inside RSS, or the text
    /// of an `<author>` it could not read.
    pub authors: Vec<String>,
    /// Dublin Core an RSS item says what it is about with (`dc:subject`, one term each),
    /// a `<category>` in a `<categories>` wrapper, an episode's `itunes:category`: which
    /// feed-rs does not read, the item's categories, with its own.
    pub subjects: Vec<String>,
    /// An RSS item's `dc:title`, its headline when it has no `<title>`.
    pub dc_title: Option<String>,
    /// An RSS 2.0 item's `dc:description`, its summary when it has no `<description>`.
    pub dc_description: Option<String>,
    /// `dcterms:issued` or `dcterms:created`, its date when it gives no other.
    pub issued: Option<String>,
    /// `dcterms:modified`, when it was updated if it does not say otherwise.
    pub modified: Option<String>,
    /// What an entry's headline, summary (RSS `description`, Atom `summary`) or content
    /// holds when it holds elements of its own, unescaped ("naked" markup, as hand-written
    /// and some generated feeds have it): its inner markup as written, an HTML fragment.
    /// feed-rs reads only the text before the first element, or none.
    pub naked: Naked,
    /// An episode's `itunes:summary`, its summary when it has no other.
    pub itunes_summary: Option<String>,
    /// An item's `media:title`, its headline when it has no other.
    pub media_title: Option<String>,
    /// The URL of the first `media:content` that says it is an image by `medium="image"`
    /// alone (no `type`; feed-rs keeps no `medium`), which a URL without a file extension
    /// (an image server's query) does not show.
    pub medium_image: Option<String>,
}

impl EntryHints {
    /// Where a capture that keeps the first of its kind goes.
    fn first_of(&mut self, what: Capture) -> Option<&mut Option<String>> {
        Some(match what {
            Capture::DcTitle => &mut self.dc_title,
            Capture::DcDescription => &mut self.dc_description,
            Capture::Issued => &mut self.issued,
            Capture::Modified => &mut self.modified,
            Capture::ItunesSummary => &mut self.itunes_summary,
            Capture::MediaTitle => &mut self.media_title,
            Capture::Pubdate
            | Capture::Guid
            | Capture::AuthorText
            | Capture::AuthorName
            | Capture::Subject => return None,
        })
    }
}

/// The inner markup of an entry's text elements that hold elements (see
/// [`EntryHints::naked`]); an RSS item's XHTML `<body>` is its content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Naked {
    /// `title`.
    pub title: Option<String>,
    /// RSS `description`, Atom `summary`.
    pub summary: Option<String>,
    /// Atom `content` (not typed XHTML), RSS `content:encoded`, an XHTML `body`.
    pub content: Option<String>,
}

/// Naked markup with its CDATA sections opened: a section there holds markup written
/// without escaping it, as a whole text element's CDATA does (HTML would read the section
/// as a comment, and drop it).
fn without_cdata(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = memchr::memmem::find(rest.as_bytes(), b"<![CDATA[") {
        out.push_str(&rest[..at]);
        let section = &rest[at + "<![CDATA[".len()..];
        let end = memchr::memmem::find(section.as_bytes(), b"]]>").unwrap_or(section.len());
        out.push_str(&section[..end]);
        rest = section.get(end + "]]>".len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// Which of an entry's texts a [`Naked`] element is.
#[derive(Clone, Copy, PartialEq)]
enum NakedField {
    Title,
    Summary,
    Content,
}

impl NakedField {
    /// The field an entry's child `name` (as written, with its prefix) holds in its
    /// markup, if any.
    fn of(name: &str) -> Option<NakedField> {
        match name {
            "title" => Some(NakedField::Title),
            "description" | "summary" => Some(NakedField::Summary),
            "content" | "content:encoded" | "body" | "xhtml:body" => Some(NakedField::Content),
            _ => None,
        }
    }
}

/// A parsed feed and the hints for its entries.
#[derive(Debug, Clone)]
pub struct ParsedFeed {
    /// What feed-rs made of the document.
    pub feed: Feed,
    /// One per entry when the document needed any, else empty.
    pub hints: Vec<EntryHints>,
    /// Entries after the first [`MAX_ENTRIES`], not read.
    pub skipped_entries: usize,
    /// What was wrong with the document and how it was read anyway (a charset declared
    /// wrongly, a document that is not well-formed read item by item, an item or element
    /// dropped and why); empty for a document read as it is.
    pub recovered: Vec<String>,
}

impl ParsedFeed {
    /// The hints for entry `i`, if any.
    pub fn hints(&self, i: usize) -> Option<&EntryHints> {
        self.hints.get(i)
    }
}

/// What [`ParsedFeed::recovered`] says, short enough for a feed's state: the first few
/// notes and how many more there are (the log has every one). `None` when there are none.
pub fn recovered_summary(notes: &[String]) -> Option<String> {
    const SHOWN: usize = 3;
    let (first, rest) = notes.split_at(notes.len().min(SHOWN));
    let mut out = first.join("; ");
    if !rest.is_empty() {
        out.push_str(&format!("; and {} more (see the log)", rest.len()));
    }
    (!notes.is_empty()).then_some(out)
}

/// Elements whose text is an entry's body.
const CONTENT_ELEMENTS: &[&str] = &["content", "encoded", "description", "summary"];

/// Elements nested deeper than this inherit the `xml:base` in scope and do not set their
/// own. Entries and their content sit a few levels down; but every level that sets a
/// relative base holds a longer URL of its own, so a hostile chain of 3,000 nested
/// `xml:base="aaaaaaaaaa/"` cost 80 MiB (from 90 KB) before this limit.
const MAX_BASE_DEPTH: usize = 32;

/// What a child of an entry is read for.
#[derive(Clone, Copy, PartialEq)]
enum Capture {
    Pubdate,
    Guid,
    AuthorText,
    AuthorName,
    Subject,
    DcTitle,
    DcDescription,
    Issued,
    Modified,
    ItunesSummary,
    MediaTitle,
}

/// The text of a reference (`&amp;`, `&#233;`) as it reads, or as written when unknown.
fn reference_text(name: &str) -> String {
    let num = name
        .strip_prefix("#x")
        .or_else(|| name.strip_prefix("#X"))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()));
    match (num.and_then(char::from_u32), name) {
        (Some(c), _) => c.to_string(),
        (None, "amp") => "&".into(),
        (None, "lt") => "<".into(),
        (None, "gt") => ">".into(),
        (None, "quot") => "\"".into(),
        (None, "apos") => "'".into(),
        _ => format!("&{name};"),
    }
}

/// The character data an event carries, as it reads: text, CDATA, a reference.
fn character_data<'a>(event: &quick_xml::events::Event<'a>) -> Option<Cow<'a, str>> {
    use quick_xml::events::Event;
    match event {
        Event::Text(t) => Some(t.xml10_content()),
        Event::CData(t) => Some(t.xml10_content()),
        Event::GeneralRef(r) => Some(Cow::Owned(reference_text(r))),
        _ => None,
    }
}

/// Per entry: the `xml:base` in scope for its content (feed-rs resolves links against
/// `xml:base` itself but does not say what base was in scope for the content HTML), its
/// first `media:thumbnail`, and what feed-rs does not read (see [`EntryHints`]). Entries are
/// `item`s and `entry`s that are children of the root or of its `channel`, as feed-rs and
/// [`first_entries`] count them.
fn xml_base_hints(text: &str, doc_url: &Url) -> Vec<EntryHints> {
    hints_of(text, doc_url, true)
}

/// [`xml_base_hints`]; `skipping`: text that is not read for a hint is passed over by
/// [`skip_text`] rather than read as events (the same hints: tests compare both ways).
fn hints_of(text: &str, doc_url: &Url, skipping: bool) -> Vec<EntryHints> {
    use quick_xml::events::Event;
    use std::rc::Rc;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    // per open element: the xml:base in scope, if any element up the tree set one. Shared,
    // not copied: 10,000 elements nested under a 1 MB base would otherwise hold 10 GB.
    let mut stack: Vec<Option<Rc<Url>>> = Vec::new();
    let mut channel_open = false;
    let mut hints: Vec<EntryHints> = Vec::new();
    let mut in_entry_depth: Option<usize> = None;
    let mut content_seen = false;
    // the element read for its text, the depth it opened at, and the text so far
    let mut capture: Option<(Capture, usize, String)> = None;
    let mut author_name: Option<String> = None;
    // the depth of an entry's `<categories>` wrapper while it is open (IDG's feeds put an
    // item's `<category>` elements in one; RSS has no such element and feed-rs reads none)
    let mut categories_at: Option<usize> = None;
    // an entry's text element while it is open (see [`EntryHints::naked`]): which, the
    // depth it opened at, where its content starts, and whether an element opened in it
    let mut naked: Option<(NakedField, usize, usize, bool)> = None;
    // where the reader stands in `text`
    let offset = |reader: &quick_xml::Reader<&[u8]>| text.len() - reader.get_ref().len();
    // whether the reader stands in text (not before its first event, when it looks for a
    // byte order mark, nor after a text event, which leaves it at the `<` or `&` it ends at)
    let mut in_text = false;
    loop {
        if skipping && in_text && capture.is_none() {
            skip_text(reader.get_mut());
        }
        let before = offset(&reader);
        let event = reader.read_event();
        let after = offset(&reader);
        in_text = !matches!(event, Ok(Event::Text(_)));
        let (e, empty) = match event {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                if let (Some((_, _, s)), Some(text)) = (capture.as_mut(), character_data(&ev)) {
                    s.push_str(&text);
                }
                continue;
            }
            Ok(Event::End(_)) => {
                let closing = capture.as_ref().is_some_and(|c| c.1 == stack.len());
                if let Some((what, _, s)) = capture.take_if(|_| closing) {
                    {
                        let s = s.trim().to_string();
                        let h = hints.last_mut();
                        match (what, h) {
                            (_, None) => {}
                            (Capture::Pubdate, Some(h)) => h.pubdate = Some(s),
                            (Capture::Guid, Some(h)) => h.guid = Some(s),
                            (Capture::AuthorName, _) => {
                                author_name = Some(s);
                                // back to the author, for its end
                                capture =
                                    Some((Capture::AuthorText, stack.len() - 1, String::new()));
                            }
                            (Capture::AuthorText, Some(h)) => {
                                let name = author_name.take().unwrap_or(s);
                                if !name.is_empty() {
                                    h.authors.push(name);
                                }
                            }
                            (_, Some(_)) if s.is_empty() => {}
                            (Capture::Subject, Some(h)) => h.subjects.push(s),
                            // the first of these an entry gives is the one
                            (what, Some(h)) => {
                                if let Some(slot) = h.first_of(what) {
                                    slot.get_or_insert(s);
                                }
                            }
                        }
                    }
                }
                if let Some((field, _, start, true)) = naked.take_if(|n| n.1 == stack.len()) {
                    let inner = text.get(start..before).map(str::trim);
                    if let (Some(inner), Some(h)) =
                        (inner.filter(|i| !i.is_empty()), hints.last_mut())
                    {
                        let to = match field {
                            NakedField::Title => &mut h.naked.title,
                            NakedField::Summary => &mut h.naked.summary,
                            NakedField::Content => &mut h.naked.content,
                        };
                        to.get_or_insert_with(|| without_cdata(inner));
                    }
                }
                stack.pop();
                if stack.len() < 2 {
                    channel_open = false;
                }
                if in_entry_depth.is_some_and(|d| stack.len() < d) {
                    in_entry_depth = None;
                }
                if categories_at.is_some_and(|d| stack.len() < d) {
                    categories_at = None;
                }
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let inherited = stack.last().cloned().flatten();
        let own = e
            .attributes()
            .flatten()
            .filter(|_| stack.len() < MAX_BASE_DEPTH)
            .find(|a| a.key.as_ref() == "xml:base")
            .and_then(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.trim().to_string())
            })
            .and_then(|v| inherited.as_deref().unwrap_or(doc_url).join(&v).ok())
            .map(Rc::new);
        let base = own.or(inherited);
        let local = e.local_name();
        let name = local.as_ref();
        if let Some(n) = naked.as_mut().filter(|n| stack.len() >= n.1) {
            n.3 = true;
        }
        let attr = |wanted: &str| {
            e.attributes()
                .flatten()
                .find(|a| a.key.as_ref() == wanted)
                .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
                .map(|v| v.trim().to_string())
        };
        let is_entry = (name == "entry" || name == "item")
            && (stack.len() == 1 || (stack.len() == 2 && channel_open));
        if in_entry_depth.is_none() && is_entry {
            in_entry_depth = Some(stack.len() + 1);
            content_seen = false;
            hints.push(EntryHints {
                content_base: base.as_deref().cloned(),
                about: attr("rdf:about").filter(|a| !a.is_empty()),
                ..Default::default()
            });
        } else if let Some(entry_depth) = in_entry_depth {
            let child = stack.len() == entry_depth;
            if !empty && capture.is_none() && child {
                let guid_permalink =
                    || attr("isPermaLink").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
                capture = match e.name().as_ref() {
                    "pubdate" => Some(Capture::Pubdate),
                    "guid" if guid_permalink() => Some(Capture::Guid),
                    "dc:subject" => Some(Capture::Subject),
                    "dc:title" => Some(Capture::DcTitle),
                    "dc:description" => Some(Capture::DcDescription),
                    "dcterms:issued" | "dcterms:created" => Some(Capture::Issued),
                    "dcterms:modified" => Some(Capture::Modified),
                    "itunes:summary" => Some(Capture::ItunesSummary),
                    "media:title" => Some(Capture::MediaTitle),
                    _ if name == "author" => Some(Capture::AuthorText),
                    _ => None,
                }
                .map(|c| (c, stack.len() + 1, String::new()));
            } else if !empty
                && stack.len() == entry_depth + 1
                && name == "name"
                && capture.as_ref().is_some_and(|c| c.0 == Capture::AuthorText)
            {
                capture = Some((Capture::AuthorName, stack.len() + 1, String::new()));
            } else if !empty
                && capture.is_none()
                && categories_at == Some(stack.len())
                && e.name().as_ref() == "category"
            {
                capture = Some((Capture::Subject, stack.len() + 1, String::new()));
            }
            if !empty && child && e.name().as_ref() == "categories" {
                categories_at = Some(stack.len() + 1);
            }
            if !empty && child && naked.is_none() {
                // (an Atom text typed XHTML holds elements by design, and feed-rs reads it)
                let xhtml = |t: String| {
                    let t = t.trim();
                    t.eq_ignore_ascii_case("xhtml")
                        || t.eq_ignore_ascii_case("application/xhtml+xml")
                };
                naked = NakedField::of(e.name().as_ref())
                    .filter(|_| !attr("type").is_some_and(xhtml))
                    .map(|f| (f, stack.len() + 1, after, false));
            }
            // an episode's own iTunes categories (a nested one is a subcategory): its
            // categories, as Apple's directory files the episode (the channel's are not)
            if e.name().as_ref() == "itunes:category" {
                let text = attr("text").filter(|t| !t.is_empty());
                if let (Some(h), Some(text)) = (hints.last_mut(), text) {
                    h.subjects.push(text);
                }
            }
            if e.name().as_ref() == "media:content" {
                if let Some(h) = hints.last_mut().filter(|h| h.medium_image.is_none()) {
                    let image = attr("medium").is_some_and(|m| m.eq_ignore_ascii_case("image"));
                    if image && attr("type").is_none() {
                        h.medium_image = attr("url").filter(|v| !v.is_empty());
                    }
                }
            }
            if !content_seen && CONTENT_ELEMENTS.contains(&name) {
                content_seen = true;
                if let Some(h) = hints.last_mut() {
                    h.content_base = base.as_deref().cloned();
                }
            } else if name == "thumbnail" {
                if let Some(h) = hints.last_mut().filter(|h| h.image.is_none()) {
                    h.image = attr("url").filter(|v| !v.is_empty());
                }
            } else if e.name().as_ref() == "itunes:image" {
                // an episode's image, which feed-rs drops when the item says nothing else
                // in the iTunes namespace (and reads only from `href`)
                if let Some(h) = hints.last_mut().filter(|h| h.image.is_none()) {
                    h.image = attr("href")
                        .or_else(|| attr("url"))
                        .filter(|v| !v.is_empty());
                }
            }
        }
        if !empty {
            if stack.len() == 1 && name == "channel" {
                channel_open = true;
            }
            stack.push(base);
        }
    }
    hints
}

/// Passes over the text `rest` starts with, up to the next markup (`<`), as the reader
/// would read it: character data and references, none of which makes a hint unless it is
/// read for one. Most of a feed is its entries' escaped bodies, which the reader would
/// give as a text event per reference (`&lt;p&gt;`): a fifth of the hints' cost. Stops
/// before a `&` that does not end in `;` before the next `&` or `<` (the reader's error,
/// which ends the hints, stays the reader's) and before any markup.
fn skip_text(rest: &mut &[u8]) {
    let b = *rest;
    let mut at = 0;
    let stop = loop {
        let Some(i) = memchr::memchr2(b'<', b'&', &b[at..]) else {
            break b.len();
        };
        let i = at + i;
        if b[i] == b'<' {
            break i;
        }
        match memchr::memchr3(b';', b'&', b'<', &b[i + 1..]) {
            Some(j) if b[i + 1 + j] == b';' => at = i + j + 2,
            _ => break i,
        }
    };
    *rest = &b[stop..];
}

#[derive(serde::Deserialize)]
struct JsonFeedImages {
    #[serde(default)]
    items: Vec<JsonItemImages>,
}

#[derive(serde::Deserialize)]
struct JsonItemImages {
    image: Option<String>,
    banner_image: Option<String>,
}

/// JSON Feed item images, which feed-rs does not read.
fn json_image_hints(text: &str) -> Vec<EntryHints> {
    let Ok(doc) = serde_json::from_str::<JsonFeedImages>(text) else {
        return Vec::new();
    };
    doc.items
        .into_iter()
        .map(|i| EntryHints {
            image: i.image.or(i.banner_image).filter(|s| !s.trim().is_empty()),
            ..Default::default()
        })
        .collect()
}

/// Feed types a page may advertise with `<link rel="alternate" type=...>`.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// An HTML start tag's attributes: names lowercased, values with entities decoded, each
/// borrowed from the tag where that changes nothing.
pub(crate) type Attributes<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// The attributes of one HTML start tag (`<link ...>`), names lowercased, entities decoded.
pub(crate) fn tag_attributes(tag: &str) -> Attributes<'_> {
    let mut out = Vec::new();
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let name = &tag[start..i];
        let name = if name.bytes().any(|c| c.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = &tag[vs..i.min(tag.len())];
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &tag[vs..i];
            }
        }
        if !name.is_empty() {
            out.push((name, html_escape::decode_html_entities(value)));
        }
    }
    out
}

/// The feeds an HTML page advertises (`<link rel="alternate" type="application/rss+xml"
/// href=...>`), resolved against the page's URL, in page order.
pub fn advertised_feeds(html: &str, page: &Url) -> Vec<Url> {
    advertised_feed_links(html, page)
        .into_iter()
        .map(|(u, _)| u)
        .collect()
}

/// As [`advertised_feeds`], each with its link's `title`, if it has one:
/// what a site calls each of its feeds ("Posts", "Comments Feed").
pub fn advertised_feed_links(html: &str, page: &Url) -> Vec<(Url, Option<String>)> {
    let lower = html.to_ascii_lowercase();
    let mut out: Vec<(Url, Option<String>)> = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<link") {
        let start = from + at + 5;
        let Some(len) = lower[start..].find('>') else {
            break;
        };
        from = start + len;
        let attrs = tag_attributes(&html[start..start + len]);
        let raw = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim());
        let get = |n: &str| raw(n).map(str::to_ascii_lowercase);
        let is_alternate =
            get("rel").is_some_and(|r| r.split_whitespace().any(|t| t == "alternate"));
        let is_feed = get("type").is_some_and(|t| FEED_TYPES.contains(&t.as_str()));
        if let (true, true, Some(href)) = (is_alternate, is_feed, raw("href")) {
            if let Ok(u) = page.join(href) {
                if matches!(u.scheme(), "http" | "https") && !out.iter().any(|(o, _)| *o == u) {
                    let title = raw("title").filter(|t| !t.is_empty()).map(str::to_string);
                    out.push((u, title));
                }
            }
        }
    }
    out
}

/// The Atom 0.3 namespace, which feed-rs does not read.
const ATOM03_NS: &str = "http://purl.org/atom/ns#";

/// Atom 0.3 (still served by old blogs) read as Atom 1.0: the namespace, and the elements
/// 1.0 renamed (`issued` -> `published`, `modified` -> `updated`, `tagline` -> `subtitle`,
/// `copyright` -> `rights`).
fn atom03_as_atom10(text: Cow<'_, str>) -> Cow<'_, str> {
    if !loose::mentions(&text, ATOM03_NS) {
        return text;
    }
    let mut t = text.replace(ATOM03_NS, loose::ATOM_NS);
    for (old, new) in [
        ("issued", "published"),
        ("modified", "updated"),
        ("tagline", "subtitle"),
        ("copyright", "rights"),
    ] {
        t = t
            .replace(&format!("<{old}>"), &format!("<{new}>"))
            .replace(&format!("<{old} "), &format!("<{new} "))
            .replace(&format!("</{old}>"), &format!("</{new}>"));
    }
    Cow::Owned(t)
}

/// The most entries read from one document. A feed lists its latest few dozen, an archive a
/// few thousand; beyond that it is broken or hostile, and every entry costs memory before it
/// can be pruned: parsed and normalized, 2 MiB of empty `<item/>`s took 225 MiB, and 3 MB of
/// JSON Feed `{}` items 1.1 GiB (measured in a debug build).
pub const MAX_ENTRIES: usize = 10_000;

/// When `text` lists more than `max` entries (RSS `item`s, Atom `entry`s, JSON Feed
/// `items`), the document without those after the first `max`, and how many it lists
/// beyond them; else `None`. A document too broken to scan is left to the parser.
fn first_entries(text: &str, max: usize) -> Option<(String, usize)> {
    // a quick count spares ordinary documents the scan: every XML entry starts with a `<`,
    // every JSON item after the first follows a `,`
    let count = |c: u8| text.bytes().filter(|b| *b == c).count();
    if text.trim_start().starts_with('{') {
        (count(b',') >= max).then(|| json_first_items(text, max))?
    } else {
        (count(b'<') > max).then(|| xml_first_entries(text, max))?
    }
}

/// RSS and Atom: entries are `item`s and `entry`s that are children of the root (Atom,
/// RSS 1.0) or of the root's `channel` (RSS 2.0). The document is cut before the first
/// entry too many, and the elements still open there (the root, the channel) are closed.
fn xml_first_entries(text: &str, max: usize) -> Option<(String, usize)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    // the names of the open root and of its open child: the only possible parents of entries
    let mut open: Vec<String> = Vec::new();
    let mut count = 0usize;
    let mut cut: Option<(usize, Vec<String>)> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                depth = depth.saturating_sub(1);
                open.truncate(depth);
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        let is_entry = matches!(e.local_name().as_ref(), "item" | "entry")
            && (depth == 1
                || (depth == 2
                    && open
                        .get(1)
                        .is_some_and(|p| p.rsplit(':').next() == Some("channel"))));
        if is_entry {
            count += 1;
            if count == max + 1 {
                cut = Some((before, open.clone()));
            }
        }
        if !empty {
            if depth < 2 {
                open.push(e.name().as_ref().to_string());
            }
            depth += 1;
        }
    }
    let (at, open) = cut?;
    let mut out = text[..at].to_string();
    for name in open.iter().rev() {
        out.push_str(&format!("</{name}>"));
    }
    Some((out, count - max))
}

/// JSON Feed: the elements of the top-level object's `items` array after the first `max`
/// are dropped, by a scan of the text that tracks strings and nesting.
fn json_first_items(text: &str, max: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    // the last string at depth 1: the key of the value that follows
    let mut key = (0, 0);
    let mut in_items = false;
    let mut expecting = false;
    let mut count = 0usize;
    let mut last_comma = 0;
    let mut cut: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if in_items && depth == 2 && expecting && !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b']')
        {
            expecting = false;
            count += 1;
            if count == max + 1 {
                cut = Some((last_comma, 0));
            }
        }
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 {
                    key = (start, i.min(b.len() - 1));
                }
            }
            b'{' | b'[' => {
                if depth == 1 && c == b'[' {
                    let k = &text[key.0..=key.1];
                    in_items = k == "\"items\""
                        || (k.contains('\\')
                            && serde_json::from_str::<String>(k).is_ok_and(|k| k == "items"));
                    expecting = in_items;
                    last_comma = i + 1;
                }
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if in_items && depth == 1 {
                    in_items = false;
                    if let Some((_, end)) = cut.as_mut() {
                        *end = i;
                    }
                }
            }
            b',' if in_items && depth == 2 => {
                expecting = true;
                last_comma = i;
            }
            _ => {}
        }
        i += 1;
    }
    match cut {
        Some((from, to)) if to > from => {
            Some((format!("{}{}", &text[..from], &text[to..]), count - max))
        }
        _ => None,
    }
}

/// The text with every XML declaration left in it made an ordinary processing instruction
/// (`<?xml version=...?>` -> `<?xml-misplaced version=...?>`), which feed-rs skips.
/// [`decode`] has dropped the declaration at the start and made the text UTF-8, but one can
/// still stand further on (after a comment, pasted inside an item), and feed-rs switches its
/// decoder at every declaration that names an encoding, wherever it stands: to a wrong one
/// while its reader is still on the first few bytes, and after that into a panic in
/// quick-xml (`set_encoding() called after prefix buffer was drained`), reached with as
/// little as 36 bytes before the declaration. A declaration anywhere but the start is not XML
/// anyway; one inside HTML in CDATA is a bogus comment there, which the sanitizer drops.
/// Found by fuzzing (fuzz/fuzz_targets/normalize.rs). JSON is left alone.
fn neutralize_declarations(text: Cow<'_, str>) -> Cow<'_, str> {
    let is_xml = text
        .find(['<', '{'])
        .is_some_and(|i| text[i..].starts_with('<'));
    // what quick-xml reads as a declaration: `<?xml` then whitespace (or `?>`, which carries
    // no encoding); inserting after `<?xml` cannot make another one
    let is_decl = |rest: &str| rest.starts_with([' ', '\t', '\r', '\n']);
    if !is_xml
        || !memchr::memmem::find_iter(text.as_bytes(), b"<?xml")
            .any(|i| is_decl(&text[i + "<?xml".len()..]))
    {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut parts = text.split("<?xml");
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        out.push_str(if is_decl(part) {
            "<?xml-misplaced"
        } else {
            "<?xml"
        });
        out.push_str(part);
    }
    Cow::Owned(out)
}

/// feed-rs set up for newswire, on one document; a panic of feed-rs is an error.
fn strict_parse(text: &str, base: &Url, zone: Option<Tz>) -> Result<Feed, ParseError> {
    // feed-rs can panic on a document: an author such as "Jean Dupont «jean@example.com»"
    // (RSS author, managingEditor, dc:creator, itunes:author, JSON Feed author) is sliced one
    // byte before the address, inside the «. That is one broken feed (or entry), to be read
    // loosely, not a crash of `newswire add` or a poll. Found by fuzzing.
    // Unwind safety: everything the closure touches is dropped with it.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        feed_rs::parser::Builder::new()
            .base_uri(Some(base.as_str()))
            .sanitize_content(false)
            // an empty id means "the feed gave none": identity falls back to link or text hash
            .id_generator(|_, _, _| String::new())
            .timestamp_parser(move |s| crate::date::parse_date(s, zone))
            .build()
            .parse(text.as_bytes())
    }));
    match parsed {
        Ok(result) => result.map_err(ParseError::Feed),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(ParseError::ParserPanicked(message))
        }
    }
}

/// The rightmost label of the host a document came from, when it is a name: a hint for
/// charset detection (`.jp`, `.ru`, `.br`).
fn tld_of(url: &Url) -> Option<String> {
    match url.host()? {
        url::Host::Domain(d) => d.rsplit('.').next().map(str::to_ascii_lowercase),
        _ => None,
    }
}

/// Fills in, from the hints, what feed-rs left empty: an RSS 1.0 item's id from its
/// `rdf:about`, a link from a permalink `<guid>`, a date from a lowercase `<pubdate>`,
/// authors from an Atom-style `<author>` in RSS (or one feed-rs could not read).
/// The `dc:title` of a feed that has no title of its own (RSS 1.0 and 2.0 channels that name
/// themselves in Dublin Core only): the first one before the first entry, at the feed's
/// level or its channel's.
fn channel_dc_title(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    let mut depth = 0usize;
    let mut title: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = e.local_name();
                if matches!(name.as_ref(), "item" | "entry") {
                    return None;
                }
                depth += 1;
                if title.is_none() && depth <= 3 && e.name().as_ref() == "dc:title" {
                    title = Some(String::new());
                }
            }
            Ok(ev @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_))) => {
                if let (Some(s), Some(text)) = (title.as_mut(), character_data(&ev)) {
                    s.push_str(&text);
                }
            }
            Ok(Event::End(_)) => {
                if let Some(t) = title.take() {
                    let t = t.trim();
                    if !t.is_empty() {
                        return Some(t.to_string());
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Ok(Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// A feed-rs text of `s`, plain.
fn plain_text(s: &str) -> feed_rs::model::Text {
    feed_rs::model::Text {
        content_type: mediatype::MediaTypeBuf::new(mediatype::names::TEXT, mediatype::names::PLAIN),
        src: None,
        content: s.to_string(),
    }
}

/// A feed-rs text of `s`, HTML (what an RSS description holds).
fn html_text(s: &str) -> feed_rs::model::Text {
    feed_rs::model::Text {
        content_type: mediatype::MediaTypeBuf::new(mediatype::names::TEXT, mediatype::names::HTML),
        ..plain_text(s)
    }
}

fn apply_hints(feed: &mut Feed, hints: &[EntryHints], zone: Option<Tz>) {
    if hints.len() != feed.entries.len() {
        return;
    }
    for (e, h) in feed.entries.iter_mut().zip(hints) {
        if e.id.trim().is_empty() {
            if let Some(about) = &h.about {
                e.id = about.clone();
            }
        }
        if e.links.is_empty() {
            let permalink = h
                .guid
                .as_deref()
                .and_then(|g| Url::parse(g).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            if let Some(u) = permalink {
                e.links.push(feed_rs::model::Link {
                    href: u.to_string(),
                    target: None,
                    rel: None,
                    media_type: None,
                    href_lang: None,
                    title: None,
                    length: None,
                });
            }
        }
        let date = |d: &Option<String>| d.as_deref().and_then(|d| crate::date::parse_date(d, zone));
        if e.published.is_none() && e.updated.is_none() {
            e.published = date(&h.pubdate).or_else(|| date(&h.issued));
        }
        if e.updated.is_none() {
            e.updated = date(&h.modified);
        }
        // naked markup: feed-rs read the text before its first element at most
        if let Some(t) = &h.naked.title {
            e.title = Some(html_text(t));
        }
        if let Some(t) = &h.naked.summary {
            e.summary = Some(html_text(t));
        }
        if let Some(t) = &h.naked.content {
            e.content = Some(feed_rs::model::Content {
                body: Some(t.clone()),
                content_type: mediatype::MediaTypeBuf::new(
                    mediatype::names::TEXT,
                    mediatype::names::HTML,
                ),
                length: None,
                src: None,
            });
        }
        if e.title.is_none() {
            e.title = h
                .dc_title
                .as_ref()
                .or(h.media_title.as_ref())
                .map(|t| plain_text(t));
        }
        if e.summary.is_none() && e.content.is_none() {
            e.summary = h
                .dc_description
                .as_ref()
                .or(h.itunes_summary.as_ref())
                .map(|t| html_text(t));
        }
        for subject in &h.subjects {
            let known = e.categories.iter().any(|c| {
                c.term.trim().eq_ignore_ascii_case(subject)
                    || c.label
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case(subject))
            });
            if !known {
                e.categories.push(feed_rs::model::Category {
                    term: subject.clone(),
                    scheme: None,
                    label: None,
                    subcategories: Vec::new(),
                });
            }
        }
        if e.authors.is_empty() {
            e.authors = h
                .authors
                .iter()
                .map(|n| feed_rs::model::Person {
                    name: Some(n.clone()),
                    uri: None,
                    email: None,
                    role: None,
                })
                .collect();
        }
    }
}

/// The most a body sent gzip-compressed without saying so may unpack to (`fetch.max_size`
/// bounds what is downloaded; a feed of more than this is not a feed).
const MAX_UNPACKED: u64 = 32 << 20;

/// A body that is gzip-compressed although its `Content-Encoding` does not say so (a static
/// site's pre-compressed `feed.xml` on object storage without its metadata; a proxy that
/// compressed what was compressed), unpacked, layer by layer; `None` for any other body.
/// An HTTP client unpacks only what the header announces: such a body reached the parser as
/// binary, "not a valid feed".
fn undeclared_gzip(bytes: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    use std::io::Read;
    let is_gzip = |b: &[u8]| b.starts_with(&[0x1f, 0x8b, 0x08]);
    let gunzip = |b: &[u8]| {
        let mut unpacked = Vec::new();
        flate2::read::MultiGzDecoder::new(b)
            .take(MAX_UNPACKED + 1)
            .read_to_end(&mut unpacked)
            .map_err(|e| ParseError::Compressed(format!("does not unpack: {e}")))?;
        if unpacked.len() as u64 > MAX_UNPACKED {
            return Err(ParseError::Compressed(format!(
                "unpacks to more than {} MiB",
                MAX_UNPACKED >> 20
            )));
        }
        Ok(unpacked)
    };
    if !is_gzip(bytes) {
        return Ok(None);
    }
    let once = gunzip(bytes)?;
    // two layers at most: gzip of gzip is a proxy's mistake, a third is not an accident
    Ok(Some(if is_gzip(&once) { gunzip(&once)? } else { once }))
}

/// Parses a fetched document. `base` resolves relative links (the URL the document was
/// fetched from); `zone` reads dates that carry no offset. A document feed-rs rejects or
/// panics on is read loosely (see [`loose`]); what that cost is in
/// [`ParsedFeed::recovered`].
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
    zone: Option<Tz>,
) -> Result<ParsedFeed, ParseError> {
    let unpacked = undeclared_gzip(bytes)?;
    let bytes = unpacked.as_deref().unwrap_or(bytes);
    let decoded = charset::decode_document(bytes, content_type, tld_of(base).as_deref());
    let mut recovered = Vec::new();
    if unpacked.is_some() {
        recovered.push("gzip-compressed without a Content-Encoding that says so: unpacked".into());
    }
    recovered.extend(decoded.note);
    let (text, output) = without_output_before_document(decoded.text);
    if let Some(output) = output {
        recovered.push(format!("output before the document left out: \"{output}\""));
    }
    let text = strip_declaration(text);
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    if looks_like_html(&text, content_type) {
        return Err(ParseError::Html {
            content_type: content_type.unwrap_or("no Content-Type").to_string(),
            advertised: advertised_feeds(&text, base).into_iter().next(),
        });
    }
    let (text, skipped_entries) = match first_entries(&text, MAX_ENTRIES) {
        Some((cut, skipped)) => (Cow::Owned(cut), skipped),
        None => (text, 0),
    };
    let is_json = text.trim_start().starts_with('{');
    let mut text = if is_json {
        text
    } else {
        let text = match loose::declared_entities(&text) {
            Some(expanded) => Cow::Owned(expanded),
            None => text,
        };
        let text = loose::repair_root(loose::unprefix_feed_elements(loose::atom_text_types(
            atom03_as_atom10(loose::canonical_namespaces(text)),
        )));
        let text = match loose::items_outside_channel(&text) {
            Some(moved) => {
                recovered.push("items outside its <channel> read as the channel's".into());
                Cow::Owned(moved)
            }
            None => text,
        };
        neutralize_declarations(loose::rdf_items_without_link(text))
    };
    let mut kept: Option<Vec<usize>> = None;
    let mut feed = match strict_parse(&text, base, zone) {
        Ok(feed) => feed,
        Err(e) if is_json => {
            let Some((repaired, notes)) = loose::json_feed(&text) else {
                return Err(e);
            };
            let feed = strict_parse(&repaired, base, zone).map_err(|_| e)?;
            recovered.push(format!("a JSON Feed read loosely: {}", notes.join("; ")));
            text = Cow::Owned(repaired);
            feed
        }
        Err(e) => {
            let repaired = loose::repair_references(&text);
            let references = if repaired.is_some() {
                ", its references repaired"
            } else {
                ""
            };
            if let Some(repaired) = repaired {
                text = Cow::Owned(repaired);
            }
            match strict_parse(&text, base, zone) {
                Ok(feed) => {
                    recovered.push(format!("not well-formed ({e}): its references repaired"));
                    feed
                }
                Err(_) => {
                    let strict = |d: &str| strict_parse(d, base, zone).map_err(|e| e.to_string());
                    let Some(l) =
                        loose::read_entries(&text, &strict).filter(|l| !l.kept.is_empty())
                    else {
                        return Err(e);
                    };
                    recovered.push(format!("{e}: read entry by entry{references}"));
                    recovered.extend(l.notes);
                    kept = Some(l.kept);
                    l.feed
                }
            }
        }
    };
    let mut hints = if is_json {
        json_image_hints(&text)
    } else {
        xml_base_hints(&text, base)
    };
    if let Some(kept) = kept {
        hints = kept
            .iter()
            .map(|i| hints.get(*i).cloned().unwrap_or_default())
            .collect();
    }
    loose::drop_placeholder_links(&mut feed);
    apply_hints(&mut feed, &hints, zone);
    if feed.title.is_none() && !is_json {
        feed.title = channel_dc_title(&text).map(|t| plain_text(&t));
    }
    Ok(ParsedFeed {
        feed,
        hints,
        skipped_entries,
        recovered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_forbids_are_found_by_their_bytes_as_by_their_chars() {
        // every C0 control, U+FFFE and U+FFFF go; their neighbours in UTF-8 stay
        let mut all: Vec<char> = ('\0'..='\u{7f}').collect();
        all.extend([
            '\u{85}',
            '\u{a0}',
            '\u{efbf}',
            '\u{fffd}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{10000}',
            '\u{10ffff}',
        ]);
        for c in all {
            for text in [format!("{c}"), format!("ab{c}cd"), format!("é{c}{c}€")] {
                let by_chars: String = text.chars().filter(|c| !forbidden_in_xml(*c)).collect();
                let got = without_forbidden_in_xml(&text);
                assert_eq!(got, by_chars, "{c:?}");
                assert_eq!(matches!(got, Cow::Borrowed(_)), by_chars == text, "{c:?}");
            }
        }
    }

    #[test]
    fn a_body_gzipped_without_saying_so_is_unpacked() {
        use std::io::Write;
        let gzip = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        };
        let base = Url::parse("https://static.example/feed.xml").unwrap();
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
            <title>Static blog</title><item><title>Caf\u{e9}</title><link>https://static.example/1</link></item>\
            </channel></rss>";
        for body in [gzip(doc.as_bytes()), gzip(&gzip(doc.as_bytes()))] {
            let parsed = parse_feed(&body, Some("application/xml"), &base, None).unwrap();
            assert_eq!(parsed.feed.title.unwrap().content, "Static blog");
            assert_eq!(
                parsed.feed.entries[0].title.as_ref().unwrap().content,
                "Caf\u{e9}"
            );
            assert_eq!(
                parsed.recovered,
                ["gzip-compressed without a Content-Encoding that says so: unpacked"]
            );
        }
        // damaged, or a bomb: an error that says so, nothing unpacked past the bound
        let mut cut = gzip(doc.as_bytes());
        cut.truncate(cut.len() / 2);
        let bomb = gzip(&vec![b' '; (MAX_UNPACKED + 1) as usize]);
        assert!(bomb.len() < 100 << 10);
        for (body, says) in [(cut, "does not unpack"), (bomb, "more than 32 MiB")] {
            match parse_feed(&body, None, &base, None) {
                Err(e @ ParseError::Compressed(_)) => assert!(e.to_string().contains(says), "{e}"),
                other => panic!("{:?}", other.map(|p| p.recovered)),
            }
        }
        // a document is not taken for gzip
        let parsed = parse_feed(doc.as_bytes(), None, &base, None).unwrap();
        assert!(parsed.recovered.is_empty());
    }

    #[test]
    fn a_document_cut_short_keeps_its_own_elements_and_whole_entries() {
        let base = Url::parse("https://news.example/feed").unwrap();
        let rss = "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>\
            <title>City Desk</title><link>https://news.example/</link>\
            <description>Local news</description><language>en</language>\
            <item><title>One</title><link>https://news.example/1</link></item>\
            <item><title>Two</title><link>https://news.example/2</link></item>\
            <item><title>Three</title><link>https://news.example/3</link><description>Cut";
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Wire</title>\
            <id>urn:wire</id><link href=\"https://wire.example/\"/>\
            <entry><id>urn:1</id><title>One</title><updated>2026-01-01T00:00:00Z</updated></entry>\
            <entry><id>urn:2</id><title>Tw";
        for (doc, title, link) in [
            (rss, "City Desk", "https://news.example/"),
            (atom, "Wire", "https://wire.example/"),
        ] {
            // cut anywhere after the first whole entry: the feed's own elements stay
            let first_end = doc.find("</item>").or(doc.find("</entry>")).unwrap() + 7;
            for cut in [doc.len(), doc.len() - 3, first_end + 1] {
                let parsed = parse_feed(&doc.as_bytes()[..cut], None, &base, None).unwrap();
                assert_eq!(
                    parsed.feed.title.as_ref().map(|t| t.content.as_str()),
                    Some(title),
                    "{cut}: {:?}",
                    parsed.recovered
                );
                assert_eq!(parsed.feed.links[0].href, link, "{cut}");
                assert!(!parsed.feed.entries.is_empty(), "{cut}");
                assert_eq!(
                    parsed.feed.entries[0].title.as_ref().unwrap().content,
                    "One"
                );
                assert!(
                    parsed.recovered.iter().any(|n| n.contains("cut short")),
                    "{cut}: {:?}",
                    parsed.recovered
                );
            }
        }
        let parsed = parse_feed(rss.as_bytes(), None, &base, None).unwrap();
        assert_eq!(
            parsed.feed.entries.len(),
            2,
            "the entry cut short is not read"
        );
        assert_eq!(parsed.feed.language.as_deref(), Some("en"));
    }

    #[test]
    fn output_printed_before_the_document_is_left_out_and_said() {
        let base = Url::parse("https://blog.example/feed/").unwrap();
        // a PHP warning before a Latin-1 feed: the declaration's encoding still counts
        let mut doc =
            b"<br />\n<b>Warning</b>:  Cannot modify header information - headers already \
            sent in <b>/var/www/wp-config.php</b> on line <b>12</b><br />\n\
            <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss version=\"2.0\"><channel>\
            <title>Caf\xe9 Blog</title><link>https://blog.example/</link>\
            <item><title>Cr\xe8me br\xfbl\xe9e</title><link>https://blog.example/1</link></item>\
            </channel></rss>"
                .to_vec();
        let parsed = parse_feed(&doc, Some("text/xml"), &base, None).unwrap();
        assert_eq!(parsed.feed.title.unwrap().content, "Caf\u{e9} Blog");
        assert_eq!(
            parsed.feed.entries[0].title.as_ref().unwrap().content,
            "Cr\u{e8}me br\u{fb}l\u{e9}e"
        );
        assert_eq!(
            parsed.recovered,
            [
                "output before the document left out: \"Warning: Cannot modify header \
              information - headers already sent in /var/www/wp-config.php on line 12\""
            ]
        );
        // a declaration pasted into an item is no such thing, nor one at the start
        doc.drain(..doc.iter().position(|&b| b == b'?').unwrap() - 1);
        let parsed = parse_feed(&doc, None, &base, None).unwrap();
        assert!(parsed.recovered.is_empty(), "{:?}", parsed.recovered);
        for same in [
            "<rss version=\"2.0\"><channel><item><description><![CDATA[<?xml version=\"1.0\"?>]]></description></item></channel></rss>",
            "\n <?xml version=\"1.0\"?><feed/>",
            "<!-- generator --><?xml version=\"1.0\"?><rss/>",
            "{\"version\": \"<?xml \"}",
        ] {
            let at = charset::output_before_document(same.as_bytes());
            assert_eq!(at, (same.starts_with("<!--")).then_some(18), "{same}");
        }
        // a JSON Feed after a PHP notice starts at its brace
        let json = "<br />\n<b>Deprecated</b>:  Creation of dynamic property in \
            <b>/srv/www/plugins/feed-json.php</b> on line <b>40</b><br />\n\
            {\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"Gallery notes\", \
            \"items\": [{\"id\": \"1\", \"url\": \"https://gallery.example/1\", \"title\": \"Opening\"}]}";
        let parsed = parse_feed(json.as_bytes(), Some("application/json"), &base, None).unwrap();
        assert_eq!(parsed.feed.title.unwrap().content, "Gallery notes");
        assert_eq!(parsed.feed.entries.len(), 1);
        assert_eq!(
            parsed.recovered,
            [
                "output before the document left out: \"Deprecated: Creation of dynamic property in \
              /srv/www/plugins/feed-json.php on line 40\""
            ]
        );
        // a brace in the output, or JSON that is not a JSON Feed, is not the document's start
        for not in [
            "Notice: {\"x\": 1} in /srv/a.php\n<p>no feed</p>",
            "<br />\n{\"version\": \"1\", \"items\": []}",
        ] {
            assert_eq!(
                charset::output_before_document(not.as_bytes()),
                None,
                "{not}"
            );
        }
        // without a declaration, the document starts at its root, after any prolog
        let bare = "Notice: Undefined index: page in /srv/feed.php on line 3\n<rss version=\"2.0\">\
            <channel><title>T</title><item><title>A</title></item></channel></rss>";
        let parsed = parse_feed(bare.as_bytes(), None, &base, None).unwrap();
        assert_eq!(parsed.feed.title.unwrap().content, "T");
        assert_eq!(
            parsed.recovered,
            [
                "output before the document left out: \"Notice: Undefined index: page in /srv/feed.php on line 3\""
            ]
        );
        for prolog in [
            "<!-- c --><?xml-stylesheet href=\"s.xsl\"?>\n<!DOCTYPE rss [<!ENTITY a \"<rss>\">]>\n<rss version=\"2.0\">",
            "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" \"x.dtd\"><rss version=\"0.91\">",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
            "<!DOCTYPE html><html><body><p>Hi</p><feed class=\"x\">",
        ] {
            assert_eq!(
                charset::output_before_document(prolog.as_bytes()),
                None,
                "{prolog}"
            );
        }
        let commented = "<!-- generator --><?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\
            <title>T</title></channel></rss>";
        let parsed = parse_feed(commented.as_bytes(), None, &base, None).unwrap();
        assert!(parsed.recovered.is_empty(), "{:?}", parsed.recovered);
    }

    #[test]
    fn declared_encoding_wins_over_header() {
        let mut doc = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss/>".to_vec();
        doc.splice(doc.len() - 6..doc.len() - 6, [0xcf, 0xf0, 0xe8]); // "При"
        let text = decode(&doc, Some("text/xml; charset=iso-8859-1"));
        assert!(text.contains("При"), "{text}");
        assert!(!text.contains("<?xml"));
    }

    #[test]
    fn header_charset_used_when_document_is_silent() {
        let doc = b"<rss>caf\xe9</rss>";
        assert_eq!(
            decode(doc, Some("application/rss+xml; charset=ISO-8859-1")),
            "<rss>café</rss>"
        );
        // with nothing said, detection reads the same
        assert_eq!(decode(doc, None), "<rss>café</rss>");
    }

    #[test]
    fn bom_and_leading_whitespace() {
        let mut utf16 = vec![0xff, 0xfe];
        for u in "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>é</rss>".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        assert_eq!(decode(&utf16, None), "<rss>é</rss>");
        assert_eq!(decode(b"\xef\xbb\xbf<rss/>", None), "<rss/>");
        assert_eq!(decode(b"\n\n  <?xml version='1.0'?><rss/>", None), "<rss/>");
    }

    #[test]
    fn xml_base_in_scope_for_each_entry() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://e.com/news/">
<entry xml:base="sport/"><id>1</id><content type="html">x</content></entry>
<entry><id>2</id><content type="html" xml:base="/c/">y</content></entry>
<entry><id>3</id></entry></feed>"#;
        let base = Url::parse("http://feeds.e.com/a.xml").unwrap();
        let bases: Vec<String> = xml_base_hints(doc, &base)
            .into_iter()
            .map(|h| h.content_base.unwrap().to_string())
            .collect();
        assert_eq!(
            bases,
            [
                "https://e.com/news/sport/",
                "https://e.com/c/",
                "https://e.com/news/"
            ]
        );
        // a document that only mentions xml:base, or where an entry has none in scope
        let rss = r#"<rss><channel><item><description>Atom has xml:base.</description></item>
<item xml:base="https://e.com/x/"><description>y</description></item></channel></rss>"#;
        let hints = xml_base_hints(rss, &base);
        assert_eq!(hints[0].content_base, None);
        assert_eq!(
            hints[1].content_base.as_ref().map(Url::as_str),
            Some("https://e.com/x/")
        );
    }

    #[test]
    fn html_page_names_the_feed_it_advertises() {
        let page = r#"<!DOCTYPE html><html><head><title>News</title>
<link rel="stylesheet" href="/s.css">
<LINK REL="alternate" TYPE="application/rss+xml" title="World &amp; more" HREF='/rss/world.xml?a=1&amp;b=2'>
<link rel=alternate type=application/atom+xml href=https://other.example/atom>
</head><body></body></html>"#;
        let base = Url::parse("https://news.example.com/world/").unwrap();
        let found: Vec<String> = advertised_feeds(page, &base)
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "https://news.example.com/rss/world.xml?a=1&b=2",
                "https://other.example/atom"
            ]
        );
        let err = parse_feed(
            page.as_bytes(),
            Some("text/html; charset=utf-8"),
            &base,
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("advertises a feed at https://news.example.com/rss/world.xml?a=1&b=2"),
            "{err}"
        );
    }

    #[test]
    fn atom_03_is_read_as_atom_10() {
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old blog</title>
<entry><title>Post</title><id>tag:e.com,2004:1</id><link rel="alternate" href="http://e.com/1"/>
<issued>2004-01-01T10:00:00Z</issued><modified>2004-01-02T10:00:00Z</modified></entry></feed>"#;
        let base = Url::parse("http://e.com/atom.xml").unwrap();
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(feed.title.unwrap().content, "Old blog");
        let e = &feed.entries[0];
        assert_eq!(e.title.as_ref().unwrap().content, "Post");
        assert_eq!(
            e.published.unwrap().to_rfc3339(),
            "2004-01-01T10:00:00+00:00"
        );
        assert_eq!(e.updated.unwrap().to_rfc3339(), "2004-01-02T10:00:00+00:00");
    }

    #[test]
    fn modules_declared_in_another_spelling_are_read() {
        let base = Url::parse("http://e.com/rss").unwrap();
        // iTunes as Apple's old documentation spelled it, Media RSS without its slash
        let doc = r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/DTDs/Podcast-1.0.dtd"
 xmlns:media="http://search.yahoo.com/mrss"><channel><title>P</title>
<item><title>Episode</title><link>http://e.com/1</link><itunes:image href="http://e.com/ep.jpg"/>
<itunes:summary>What is said</itunes:summary></item>
<item><title>Photo</title><link>http://e.com/2</link><media:content url="http://e.com/p.jpg" medium="image"/></item>
<item><title>Bare</title><link>http://e.com/3</link><itunes:image url="http://e.com/bare.jpg"/></item>
</channel></rss>"#;
        let parsed = parse_feed(doc.as_bytes(), None, &base, None).unwrap();
        let e = &parsed.feed.entries;
        let thumbnails: Vec<&str> = e[0]
            .media
            .iter()
            .flat_map(|m| &m.thumbnails)
            .map(|t| t.image.uri.as_str())
            .collect();
        assert_eq!(thumbnails, ["http://e.com/ep.jpg"]);
        let contents: Vec<String> = e[1]
            .media
            .iter()
            .flat_map(|m| &m.content)
            .filter_map(|c| c.url.as_ref().map(Url::to_string))
            .collect();
        assert_eq!(contents, ["http://e.com/p.jpg"]);
        // an image alone in the namespace (feed-rs drops it), or given by `url`: a hint
        let images: Vec<Option<&str>> = parsed.hints.iter().map(|h| h.image.as_deref()).collect();
        assert_eq!(
            images,
            [
                Some("http://e.com/ep.jpg"),
                None,
                Some("http://e.com/bare.jpg")
            ]
        );
    }

    #[test]
    fn dublin_core_fills_what_an_item_leaves_out() {
        let base = Url::parse("http://e.com/rss").unwrap();
        let terms = |e: &feed_rs::model::Entry| {
            e.categories
                .iter()
                .map(|c| c.term.clone())
                .collect::<Vec<_>>()
        };
        // RSS 2.0: subjects beside the item's own category (one said twice), headline and
        // summary and dates in Dublin Core only
        let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:dcterms="http://purl.org/dc/terms/"><channel><title>T</title>
<item><category>Economy</category><dc:subject>Central banks</dc:subject><dc:subject>economy</dc:subject>
<dc:subject> </dc:subject><dc:title>Rates held</dc:title><dc:description>&lt;p&gt;The bank held.&lt;/p&gt;</dc:description>
<dcterms:issued>2026-03-01T09:00:00Z</dcterms:issued><dcterms:modified>2026-03-02T10:00:00Z</dcterms:modified>
<link>http://e.com/1</link></item>
<item><title>Own title</title><dc:title>Other</dc:title><description>Own</description><dc:description>Other</dc:description>
<pubDate>Sun, 01 Mar 2026 08:00:00 GMT</pubDate><dcterms:issued>2020-01-01T00:00:00Z</dcterms:issued>
<link>http://e.com/2</link></item></channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        let [one, two] = &feed.entries[..] else {
            panic!("{}", feed.entries.len())
        };
        assert_eq!(terms(one), ["Economy", "Central banks"]);
        assert_eq!(one.title.as_ref().unwrap().content, "Rates held");
        assert_eq!(
            one.summary.as_ref().unwrap().content,
            "<p>The bank held.</p>"
        );
        assert_eq!(
            one.published.unwrap().to_rfc3339(),
            "2026-03-01T09:00:00+00:00"
        );
        assert_eq!(
            one.updated.unwrap().to_rfc3339(),
            "2026-03-02T10:00:00+00:00"
        );
        // what the item says itself wins
        assert_eq!(two.title.as_ref().unwrap().content, "Own title");
        assert_eq!(two.summary.as_ref().unwrap().content, "Own");
        assert_eq!(
            two.published.unwrap().to_rfc3339(),
            "2026-03-01T08:00:00+00:00"
        );
        // RSS 1.0 (RDF) items tag with dc:subject
        let doc = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://e.com/"><title>T</title><link>http://e.com/</link></channel>
<item rdf:about="http://e.com/1"><title>One</title><link>http://e.com/1</link>
<dc:subject>Physics</dc:subject><dc:subject>Optics</dc:subject></item></rdf:RDF>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(terms(&feed.entries[0]), ["Physics", "Optics"]);
        // a channel named in Dublin Core only; an item's dc:title is not the channel's
        let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<link>http://e.com/</link><dc:title>Science &amp; Society</dc:title>
<item><dc:title>Item</dc:title><link>http://e.com/1</link></item></channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(
            feed.title.map(|t| t.content).as_deref(),
            Some("Science & Society")
        );
        let doc = r#"<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<link>http://e.com/</link><item><dc:title>Item</dc:title><link>http://e.com/1</link></item></channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(feed.title, None);
    }

    /// The categories of each entry of `doc`, as read.
    fn category_terms(doc: &str, base: &Url) -> Vec<Vec<String>> {
        let feed = parse_feed(doc.as_bytes(), None, base, None).unwrap().feed;
        feed.entries
            .iter()
            .map(|e| e.categories.iter().map(|c| c.term.clone()).collect())
            .collect()
    }

    #[test]
    fn categories_in_a_wrapper_are_read() {
        // IDG's feeds (Macworld, PCWorld, TechHive) wrap an item's categories in
        // `<categories>`, which RSS 2.0 does not have; a category outside such a wrapper is
        // feed-rs's own, and a `<category>` deeper elsewhere is not the item's
        let base = Url::parse("http://e.com/rss").unwrap();
        let doc = r#"<rss version="2.0"><channel><title>T</title>
<item><title>Best smart locks</title><link>http://e.com/1</link><category>Reviews</category>
<categories>
  <category>Connected Home</category>
  <category>reviews</category>
  <category> </category>
  <category>Bluetooth</category>
</categories>
<other><category>Not a category</category></other></item>
<item><title>Two</title><link>http://e.com/2</link><categories/></item>
</channel></rss>"#;
        assert_eq!(
            category_terms(doc, &base),
            [vec!["Reviews", "Connected Home", "Bluetooth"], vec![]]
        );
    }

    #[test]
    fn an_episodes_itunes_categories_are_its_categories() {
        // Apple's categories on an episode (a nested one is a subcategory); the channel's
        // describe the show, not each episode
        let base = Url::parse("http://e.com/rss").unwrap();
        let doc = r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>Show</title><itunes:category text="Comedy"/>
<item><title>One</title><link>http://e.com/1</link><category>technology</category>
<itunes:category text="Technology"><itunes:category text="Gadgets"/></itunes:category>
<itunes:category text="Health &amp; Fitness"></itunes:category>
<itunes:category text=" "/></item>
<item><title>Two</title><link>http://e.com/2</link></item>
</channel></rss>"#;
        assert_eq!(
            category_terms(doc, &base),
            [vec!["technology", "Gadgets", "Health & Fitness"], vec![]]
        );
    }

    #[test]
    fn markup_written_unescaped_is_kept_as_html() {
        let base = Url::parse("http://e.com/rss").unwrap();
        let text = |t: &Option<feed_rs::model::Text>| t.as_ref().map(|t| t.content.clone());
        let content = |e: &feed_rs::model::Entry| e.content.as_ref().and_then(|c| c.body.clone());
        // RSS: a description and a headline holding elements, a body in XHTML; escaped and
        // CDATA markup is feed-rs's as before
        let doc = r#"<rss version="2.0"><channel><title>T</title>
<item><title>Rates <b>held</b> again</title><link>http://e.com/1</link>
<description>
  <p>The bank held rates &amp; said <a href="/why">why</a>.</p><br/>
</description></item>
<item><title>Two</title><link>http://e.com/2</link>
<body xmlns="http://www.w3.org/1999/xhtml"><p>Full text</p></body>
<description><![CDATA[<p>Lead</p>]]><img src="/a.jpg"/></description></item>
<item><title>Three</title><link>http://e.com/3</link><description>&lt;p&gt;Escaped&lt;/p&gt;</description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>Whole</p>]]></content:encoded></item>
</channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        let [one, two, three] = &feed.entries[..] else {
            panic!("{}", feed.entries.len())
        };
        assert_eq!(text(&one.title).as_deref(), Some("Rates <b>held</b> again"));
        assert_eq!(
            text(&one.summary).as_deref(),
            Some(r#"<p>The bank held rates &amp; said <a href="/why">why</a>.</p><br/>"#)
        );
        assert_eq!(content(two).as_deref(), Some("<p>Full text</p>"));
        assert_eq!(
            text(&two.summary).as_deref(),
            Some(r#"<p>Lead</p><img src="/a.jpg"/>"#)
        );
        assert_eq!(text(&three.summary).as_deref(), Some("<p>Escaped</p>"));
        assert_eq!(content(three).as_deref(), Some("<p>Whole</p>"));
        // Atom: a summary with inline markup and no type; XHTML content is feed-rs's
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><id>f</id>
<entry><id>e1</id><title type="">Plain</title><summary>Example <b>Atom</b></summary>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>X</p></div></content></entry></feed>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        let e = &feed.entries[0];
        assert_eq!(text(&e.title).as_deref(), Some("Plain"));
        assert_eq!(text(&e.summary).as_deref(), Some("Example <b>Atom</b>"));
        assert!(content(e).unwrap().contains("<p>X</p>"), "{:?}", content(e));
    }

    #[test]
    fn podcast_and_media_texts_stand_in_for_missing_ones() {
        let base = Url::parse("http://e.com/rss").unwrap();
        let text = |t: &Option<feed_rs::model::Text>| t.as_ref().map(|t| t.content.clone());
        let doc = r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
 xmlns:media="http://search.yahoo.com/mrss/"><channel><title>T</title>
<item><guid>1</guid><media:title type="plain">Episode one</media:title>
<itunes:summary>What the episode is about.</itunes:summary></item>
<item><guid>2</guid><title>Own</title><media:title>Other</media:title><description>Own summary</description>
<itunes:summary>Other summary</itunes:summary></item>
</channel></rss>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        let [one, two] = &feed.entries[..] else {
            panic!("{}", feed.entries.len())
        };
        assert_eq!(text(&one.title).as_deref(), Some("Episode one"));
        assert_eq!(
            text(&one.summary).as_deref(),
            Some("What the episode is about.")
        );
        assert_eq!(text(&two.title).as_deref(), Some("Own"));
        assert_eq!(text(&two.summary).as_deref(), Some("Own summary"));
    }

    #[test]
    fn text_constructs_typed_as_mime_types_keep_their_text() {
        let base = Url::parse("http://e.com/atom.xml").unwrap();
        let title = |t: &Option<feed_rs::model::Text>| t.as_ref().map(|t| t.content.clone());
        // Atom 1.0 from a generator that writes MIME types (and capitals)
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">Blog</title>
<entry><title type="text/plain">Rates held</title><id>tag:e.com,2026:1</id>
<summary type="HTML">&lt;p&gt;The bank &lt;b&gt;held&lt;/b&gt;&lt;/p&gt;</summary>
<content type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Full text</p></div></content>
</entry></feed>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(title(&feed.title).as_deref(), Some("Blog"));
        let e = &feed.entries[0];
        assert_eq!(title(&e.title).as_deref(), Some("Rates held"));
        assert_eq!(
            title(&e.summary).as_deref(),
            Some("<p>The bank <b>held</b></p>")
        );
        let body = e
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .unwrap_or_default();
        assert!(body.contains("<p>Full text</p>"), "{body}");
        // Atom 0.3, escaped and inline XHTML, as old blogs serve it
        let doc = r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#">
<title type="text/plain" mode="escaped">Old &amp;amp; new</title>
<entry><title type="text/html" mode="escaped">Post &amp;lt;one&amp;gt;</title><id>tag:e.com,2004:1</id>
<content type="text/html" mode="escaped">&lt;p&gt;Body&lt;/p&gt;</content></entry>
<entry><title type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml">Two <b>b</b></div></title>
<id>tag:e.com,2004:2</id>
<content type="application/xhtml+xml" mode="xml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Second</p></div></content></entry>
</feed>"#;
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(title(&feed.title).as_deref(), Some("Old &amp; new"));
        let [one, two] = &feed.entries[..] else {
            panic!("{:?}", feed.entries.len())
        };
        assert_eq!(title(&one.title).as_deref(), Some("Post &lt;one&gt;"));
        let body = |e: &feed_rs::model::Entry| {
            e.content
                .as_ref()
                .and_then(|c| c.body.clone())
                .unwrap_or_default()
        };
        assert_eq!(body(one), "<p>Body</p>");
        assert!(
            title(&two.title)
                .unwrap_or_default()
                .contains("Two <b>b</b>")
        );
        assert!(body(two).contains("<p>Second</p>"), "{}", body(two));
    }

    #[test]
    fn declarations_past_the_start_are_neutralized() {
        // found by fuzzing: feed-rs switched its decoder at such a declaration, and a panic in
        // quick-xml followed when it stood past the first few bytes
        let base = Url::parse("http://e.com/").unwrap();
        let item = "<item><title>\u{41f}\u{440}\u{438}</title><guid>1</guid></item>\n";
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}\
             <?xml version=\"1.0\" encoding=\"windows-1251\"?>{item}</channel></rss>",
            item.repeat(400)
        );
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(feed.entries.len(), 401);
        // the input the fuzzer found, minimized: no feed, and no panic
        parse_feed(
            b"xb&g\xde\xde\xde\xde\xde\xde\xde\xde<?xml version=\"1.0\" encoding=\"windows-1251\"?> ",
            None,
            &base,
            None,
        )
        .unwrap_err();
        // near the start it made the UTF-8 text be read as windows-1251
        let doc = format!(
            "<!-- c --><?xml version=\"1.0\" encoding=\"windows-1251\"?>\
             <rss version=\"2.0\"><channel><title>t</title>{item}</channel></rss>"
        );
        let feed = parse_feed(doc.as_bytes(), None, &base, None).unwrap().feed;
        let title = &feed.entries[0].title.as_ref().unwrap().content;
        assert_eq!(title, "\u{41f}\u{440}\u{438}");
        // other processing instructions, and JSON, are left alone
        let same = |t: &str| neutralize_declarations(Cow::Borrowed(t)) == t;
        assert!(same(
            "<a><?xml-stylesheet href='s.xsl'?><?xml?><?xmlfoo ?></a>"
        ));
        assert!(same("{\"title\": \"<?xml version='1.0'?>\"}"));
        assert_eq!(
            neutralize_declarations(Cow::Borrowed("<a/><?x<?xml\tencoding='l1'?>ml ?>")),
            "<a/><?x<?xml-misplaced\tencoding='l1'?>ml ?>"
        );
    }

    #[test]
    fn a_panic_of_the_feed_parser_costs_the_element_not_the_feed() {
        // found by fuzzing: feed-rs slices an author's name inside the character before the
        // address, and panics; the feed is read entry by entry, the author read by newswire
        let base = Url::parse("http://e.com/").unwrap();
        let doc = "<rss version=\"2.0\"><channel><title>t</title>\
            <item><title>A</title><author>Jean Dupont \u{ab}jean@example.com\u{bb}</author></item>\
            <item><title>B</title></item></channel></rss>";
        let parsed = parse_feed(doc.as_bytes(), None, &base, None).unwrap();
        let authors: Vec<Option<String>> = parsed.feed.entries[0]
            .authors
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert_eq!(
            authors,
            [Some("Jean Dupont \u{ab}jean@example.com\u{bb}".to_string())]
        );
        assert_eq!(parsed.feed.entries.len(), 2);
        assert!(
            parsed.recovered[0].contains("not a char boundary"),
            "{:?}",
            parsed.recovered
        );
        assert!(
            parsed.recovered[1].starts_with("entry 1 (\"A\"): <author> left out"),
            "{:?}",
            parsed.recovered
        );
    }

    #[test]
    fn what_feed_rs_leaves_out_is_read_beside_it() {
        let base = Url::parse("http://e.com/").unwrap();
        let rdf = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
            <channel><title>T</title></channel>\
            <item rdf:about=\"http://e.com/a\"><title>A</title><link>http://e.com/a?from=rss</link></item></rdf:RDF>";
        let feed = parse_feed(rdf.as_bytes(), None, &base, None).unwrap().feed;
        assert_eq!(feed.entries[0].id, "http://e.com/a");
        let rss = "<rss version=\"2.0\"><channel><title>T</title>\
            <item><title>1</title><guid>https://e.com/ep/1</guid><pubdate>Wed, 04 Jun 2025 12:00:00 GMT</pubdate>\
              <author><name>Ann &amp; Bob</name><email>ab@e.com</email></author></item>\
            <item><title>2</title><guid isPermaLink=\"false\">https://e.com/ep/2</guid><link>https://e.com/2</link>\
              <pubDate>Thu, 05 Jun 2025 12:00:00 GMT</pubDate><pubdate>Fri, 06 Jun 2025 12:00:00 GMT</pubdate></item>\
            <item><title>3</title><guid>not-a-url</guid><author>x@e.com (Xavier)</author></item>\
            </channel></rss>";
        let feed = parse_feed(rss.as_bytes(), None, &base, None).unwrap().feed;
        let e = &feed.entries;
        assert_eq!(e[0].links[0].href, "https://e.com/ep/1");
        assert_eq!(
            e[0].published.unwrap().to_rfc3339(),
            "2025-06-04T12:00:00+00:00"
        );
        assert_eq!(e[0].authors[0].name.as_deref(), Some("Ann & Bob"));
        // what feed-rs read stays: its link, its pubDate, its author
        assert_eq!(e[1].links[0].href, "https://e.com/2");
        assert_eq!(
            e[1].published.unwrap().to_rfc3339(),
            "2025-06-05T12:00:00+00:00"
        );
        assert!(e[2].links.is_empty());
        assert_eq!(e[2].authors.len(), 1);
        // (normalize takes off the parentheses)
        assert_eq!(e[2].authors[0].name.as_deref(), Some("(Xavier)"));
    }

    #[test]
    fn a_long_list_of_repairs_is_summed_up() {
        assert_eq!(recovered_summary(&[]), None);
        let notes: Vec<String> = (1..=5).map(|i| format!("n{i}")).collect();
        assert_eq!(recovered_summary(&notes[..2]).as_deref(), Some("n1; n2"));
        assert_eq!(
            recovered_summary(&notes).as_deref(),
            Some("n1; n2; n3; and 2 more (see the log)")
        );
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let base = Url::parse("http://e.com/").unwrap();
        let err = parse_feed(
            b"<!DOCTYPE html><html></html>",
            Some("text/html"),
            &base,
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("text/html"), "{err}");
        assert!(matches!(
            parse_feed(b"  ", None, &base, None),
            Err(ParseError::Empty)
        ));
    }

    fn utf16(s: &str, le: bool) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    }

    #[test]
    fn utf16_without_a_bom_is_recognised() {
        let doc =
            "\n <?xml version=\"1.0\" encoding=\"UTF-16\"?><rss><title>Ελλάδα 東京</title></rss>";
        for le in [true, false] {
            assert_eq!(
                decode(&utf16(doc, le), None),
                "<rss><title>Ελλάδα 東京</title></rss>",
                "little-endian: {le}"
            );
            // without a declaration too, whatever the header says
            assert_eq!(
                decode(&utf16("<rss>é</rss>", le), Some("text/xml; charset=utf-8")),
                "<rss>é</rss>"
            );
        }
        // ASCII and UTF-8 are never taken for it, nor are units that do not open markup
        assert_eq!(utf16_without_bom(b"<rss>\0</rss>"), None);
        assert_eq!(utf16_without_bom(&utf16("hello <rss/>", true)), None);
        assert_eq!(utf16_without_bom(b"<\0"), None);
        let base = Url::parse("http://e.com/").unwrap();
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel>\
            <title>Grüße</title><item><title>東京</title></item></channel></rss>";
        let feed = parse_feed(&utf16(doc, false), None, &base, None)
            .unwrap()
            .feed;
        assert_eq!(feed.title.unwrap().content, "Grüße");
        assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "東京");
    }

    #[test]
    fn forbidden_characters_never_reach_the_parser() {
        assert_eq!(
            decode(b"<rss>a\0b\x01c\td</rss>", None),
            "<rss>abc\td</rss>"
        );
        // past the first bytes, after a declaration (the text borrowed, then owned)
        let tail = format!("<rss>{}\u{1}\u{ffff}</rss>", "x".repeat(100));
        for lead in ["", "  \n"] {
            let doc = format!("{lead}<?xml version=\"1.0\" encoding=\"utf-8\"?>{tail}");
            let want = format!("<rss>{}</rss>", "x".repeat(100));
            assert_eq!(decode(doc.as_bytes(), None), want);
            assert_eq!(
                decode(doc.replace(['\u{1}', '\u{ffff}'], "").as_bytes(), None),
                want
            );
        }
        // UTF-16 that is not recognised (an even number of whitespace bytes first) used to
        // reach feed-rs still starting with 00 3C 00 3F, and feed-rs panicked on it
        let mut doc = b"\n\n".to_vec();
        doc.extend(utf16(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>T</title></channel></rss>",
            false,
        ));
        let base = Url::parse("http://e.com/").unwrap();
        let feed = parse_feed(&doc, None, &base, None).unwrap().feed;
        assert_eq!(feed.title.unwrap().content, "T");
    }

    #[test]
    fn only_the_first_entries_of_a_huge_document_are_read() {
        let base = Url::parse("http://e.com/").unwrap();
        let items = |n: usize| -> String {
            (0..n)
                .map(|i| format!("<item rdf:about=\"http://e.com/{i}\"><title>i{i}</title><link>http://e.com/{i}</link><description><item>nested</item></description></item>\n"))
                .collect()
        };
        // RSS 2.0: items in the channel; what follows the cut is dropped, the rest closed
        let rss = format!(
            "<rss version=\"2.0\" xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><channel><title>T</title>{}<ttl>5</ttl></channel></rss>",
            items(7)
        );
        let (cut, skipped) = first_entries(&rss, 3).unwrap();
        assert_eq!(skipped, 4);
        assert!(
            cut.ends_with("</description></item>\n</channel></rss>"),
            "{cut}"
        );
        let feed = feed_rs::parser::parse(cut.as_bytes()).unwrap();
        assert_eq!(feed.entries.len(), 3);
        assert_eq!(first_entries(&rss, 7), None);
        // RSS 1.0 and Atom: entries are children of the root
        let rdf = format!(
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
             <channel><title>T</title></channel>{}</rdf:RDF>",
            items(5)
        );
        let (cut, skipped) = first_entries(&rdf, 2).unwrap();
        assert_eq!(
            (
                skipped,
                feed_rs::parser::parse(cut.as_bytes())
                    .unwrap()
                    .entries
                    .len()
            ),
            (3, 2)
        );
        assert!(cut.ends_with("</rdf:RDF>"), "{cut}");
        let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title>{}</feed>",
            "<entry><id>x</id><title>e</title></entry><entry/>".repeat(3)
        );
        let (cut, skipped) = first_entries(&atom, 4).unwrap();
        assert_eq!(skipped, 2);
        assert_eq!(
            feed_rs::parser::parse(cut.as_bytes())
                .unwrap()
                .entries
                .len(),
            4
        );
        // through parse_feed, with the count
        let big = format!(
            "<rss version=\"2.0\"><channel><title>T</title>{}</channel></rss>",
            "<item/>".repeat(MAX_ENTRIES + 10)
        );
        let parsed = parse_feed(big.as_bytes(), None, &base, None).unwrap();
        assert_eq!(parsed.feed.entries.len(), MAX_ENTRIES);
        assert_eq!(parsed.skipped_entries, 10);
    }

    #[test]
    fn json_feeds_with_values_of_another_type_are_read() {
        let base = Url::parse("https://e.com/feed.json").unwrap();
        // numbers for ids and a tag, a string author, `version` over http, no feed title,
        // an attachment without a MIME type, an item that is not an object
        let doc = r#"{"version": "http://jsonfeed.org/version/1", "home_page_url": "https://e.com/",
            "author": "The Desk",
            "items": [
              {"id": 1717430400, "url": "https://e.com/a", "title": "Rates held",
               "content_html": "<p>The bank held.</p>", "tags": ["economy", 2026],
               "date_published": "2026-03-01T09:00:00Z",
               "attachments": [{"url": "https://e.com/a.mp3"},
                               {"url": "https://e.com/b.mp3", "mime_type": "audio/mpeg", "size_in_bytes": "12"}]},
              "stray",
              {"id": 2, "url": "https://e.com/b", "title": "Second", "content_text": "Text",
               "author": {"name": "Ann", "url": 5}}
            ]}"#;
        let parsed = parse_feed(doc.as_bytes(), None, &base, None).unwrap();
        let feed = &parsed.feed;
        let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1717430400", "2"]);
        let tags: Vec<&str> = feed.entries[0]
            .categories
            .iter()
            .map(|c| c.term.as_str())
            .collect();
        assert_eq!(tags, ["economy", "2026"]);
        let names: Vec<Option<&str>> = feed
            .entries
            .iter()
            .map(|e| e.authors.first().and_then(|a| a.name.as_deref()))
            .collect();
        assert_eq!(names, [Some("The Desk"), Some("Ann")]);
        assert!(
            feed.entries[0]
                .links
                .iter()
                .any(|l| l.href == "https://e.com/b.mp3"),
            "{:?}",
            feed.entries[0].links
        );
        let note = parsed.recovered.join(" | ");
        assert!(note.contains("a JSON Feed read loosely"), "{note}");
        assert!(
            note.contains("`id` that is not a string read as text"),
            "{note}"
        );
        // a valid feed is read as it is; JSON that is no feed at all stays an error
        let valid = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{"id": "1"}]}"#;
        assert!(
            parse_feed(valid.as_bytes(), None, &base, None)
                .unwrap()
                .recovered
                .is_empty()
        );
        assert_eq!(loose::json_feed(valid), None);
        assert!(parse_feed(b"{\"items\": 5", None, &base, None).is_err());
    }

    #[test]
    fn only_the_first_json_feed_items_are_read() {
        let doc = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J, [x]",
            "authors": [{"name": "a"}, {"name": "b"}],
            "items": [ {"id": "1", "tags": ["a", "b"], "title": "one ] , {"},
                       {"id": "2", "content_text": "say \"items\": [1, 2]"},
                       {"id": "3"}, {"id": "4"} ], "home_page_url": "https://e.com/"}"#;
        let (cut, skipped) = first_entries(doc, 2).unwrap();
        assert_eq!(skipped, 2);
        let feed = feed_rs::parser::parse(cut.as_bytes()).unwrap();
        let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2"]);
        assert!(
            cut.ends_with(r#"], "home_page_url": "https://e.com/"}"#),
            "{cut}"
        );
        assert_eq!(first_entries(doc, 4), None);
        // an escaped key is still the items
        let escaped = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "\u0069tems": [{"id": "1"}, {"id": "2"}]}"#;
        let (cut, skipped) = first_entries(escaped, 1).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(
            feed_rs::parser::parse(cut.as_bytes())
                .unwrap()
                .entries
                .len(),
            1
        );
    }

    /// The hints read with text passed over are the hints read event by event: on every
    /// feed of the shared corpus (when it is there), and on documents made of the pieces
    /// that end or change a reading (references with and without `;`, CDATA, comments,
    /// captured elements, entries, bases, unclosed markup).
    #[test]
    fn text_passed_over_gives_the_hints_read_event_by_event() {
        let base = Url::parse("http://feeds.e.com/a.xml").unwrap();
        let same = |doc: &str| {
            assert_eq!(
                hints_of(doc, &base, true),
                hints_of(doc, &base, false),
                "{doc:?}"
            )
        };
        let pieces = [
            "<rss><channel>",
            "<item>",
            "</item>",
            "<entry xml:base=\"/e/\">",
            "</entry>",
            "<guid>",
            "</guid>",
            "<guid isPermaLink=\"false\">",
            "<pubdate>",
            "</pubdate>",
            "<author>",
            "</author>",
            "<name>",
            "</name>",
            "<description>",
            "</description>",
            "<content xml:base=\"c/\">",
            "</content>",
            "<media:thumbnail url=\"t.jpg\"/>",
            "text ",
            "&lt;p&gt;",
            "&amp;",
            "& ",
            "&x",
            "&#233;",
            "&unknown;",
            ";",
            "&&;",
            "<![CDATA[<p>a & b</p>]]>",
            "<![CDATA[ no end",
            "<!-- c & -->",
            "<!-- no end",
            "<?pi x?>",
            "<",
            ">",
            "\u{e9}",
            "</channel></rss>",
            "<feed>",
            "</feed>",
        ];
        let mut rng = crate::testing::Rng::new(12);
        for _ in 0..3000 {
            same(&rng.string_of(&pieces, 40));
        }
        let Some(files) = crate::testing::corpus_files() else {
            return;
        };
        let mut read = 0;
        for path in files {
            if let Ok(text) = String::from_utf8(std::fs::read(&path).unwrap()) {
                same(&text);
                read += 1;
            }
        }
        assert!(read > 100, "{read} corpus files read");
    }

    #[test]
    fn deep_xml_base_chains_stop_at_a_depth() {
        let base = Url::parse("http://feeds.e.com/a.xml").unwrap();
        let wrap = |depth: usize| {
            format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>{}<content xml:base=\"/c/\">x</content>{}</entry></feed>",
                "<x xml:base=\"d/\">".repeat(depth),
                "</x>".repeat(depth)
            )
        };
        // within the limit, every level counts
        let hints = xml_base_hints(&wrap(3), &base);
        assert_eq!(
            hints[0].content_base.as_ref().unwrap().as_str(),
            "http://feeds.e.com/c/"
        );
        let doc = "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"https://e.com/a/\"><entry><x xml:base=\"b/\"><id>1</id><content>x</content></x></entry></feed>";
        let hints = xml_base_hints(doc, &base);
        assert_eq!(
            hints[0].content_base.as_ref().unwrap().as_str(),
            "https://e.com/a/b/"
        );
        // below MAX_BASE_DEPTH an element inherits the base in scope instead of setting one
        // (the feed and the entry are the first two levels)
        let hints = xml_base_hints(&wrap(MAX_BASE_DEPTH + 5), &base);
        let got = hints[0].content_base.as_ref().unwrap().as_str().to_string();
        assert_eq!(
            got,
            format!("http://feeds.e.com/{}", "d/".repeat(MAX_BASE_DEPTH - 2))
        );
    }
}
