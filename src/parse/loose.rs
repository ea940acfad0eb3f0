//! Reading a feed that a strict parse loses, in whole or in part; pure.
//!
//! Two kinds of repair. Documents that are valid but that feed-rs does not recognise are
//! rewritten before it sees them ([`repair_root`]: RSS 0.90's namespace, a default namespace
//! or an unknown version on `<rss>`; [`unprefix_feed_elements`]: RSS in a namespace bound to
//! a prefix). Documents that feed-rs rejects or panics on are read
//! the way feedparser's loose mode reads them: references fixed ([`repair_references`]),
//! then, if that is not enough, entry by entry ([`read_entries`]): a fault inside one entry
//! costs that entry's faulty element, at worst that entry, never the feed.

use std::borrow::Cow;
use std::cell::Cell;
use std::ops::Range;

use feed_rs::model::Feed;

/// The RSS 0.90 namespace (RDF, like RSS 1.0, with fewer elements), which feed-rs does not
/// read.
const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
/// RSS 1.0's namespace, which reads RSS 0.90's elements the same.
const RSS10_NS: &str = "http://purl.org/rss/1.0/";

/// The first start tag of the document (its root), as a byte range: after its prolog
/// ([`super::charset::prolog_len`]) and any text around it.
fn root_tag(text: &str) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let mut from = 0;
    loop {
        from += super::charset::prolog_len(&b[from..]);
        let at = from + memchr::memchr(b'<', &b[from..])?;
        if at > from {
            // text first: the prolog may go on after it
            from = at;
            continue;
        }
        if b[at..].starts_with(b"<?") || b[at..].starts_with(b"<!") {
            return None; // a prolog's construct never closed
        }
        return Some(at..at + memchr::memchr(b'>', &b[at..])? + 1);
    }
}

/// Whether `needle` occurs in `text`: the rewrites' first test, over a whole document each
/// (memchr's search, several times faster than `str::contains` on documents of 100 KB).
pub(super) fn mentions(text: &str, needle: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
}

/// A JSON Feed as feed-rs reads it, from one it rejected for a value of the wrong type, and
/// what was changed (`None` when the text is not a JSON object, or nothing needed changing).
/// feed-rs reads a JSON Feed into fixed types and rejects the whole document for one value
/// of another: an item `id` written as a number (templates that print a timestamp or a
/// database key), a feed without `title`, `version` over `http://`, an author given as a
/// string, a tag that is a number, an attachment without a MIME type. Each such value
/// becomes what it means (a number its digits, a string author a name) or is left out.
pub(super) fn json_feed(text: &str) -> Option<(String, Vec<String>)> {
    use serde_json::Value;
    let Ok(Value::Object(mut feed)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let mut notes: Vec<String> = Vec::new();
    let mut note = |what: String| {
        if !notes.contains(&what) {
            notes.push(what);
        }
    };
    // a string as written, a number or boolean as its text; anything else is no value
    fn as_text(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    // the optional string fields of an object: each kept, written as text, or left out
    fn strings(
        obj: &mut serde_json::Map<String, Value>,
        keys: &[&str],
        note: &mut dyn FnMut(String),
    ) {
        for key in keys {
            match obj.get(*key) {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(v) => {
                    let text = as_text(v);
                    note(format!(
                        "`{key}` that is not a string {}",
                        if text.is_some() {
                            "read as text"
                        } else {
                            "left out"
                        }
                    ));
                    match text {
                        Some(t) => obj.insert((*key).to_string(), Value::String(t)),
                        None => obj.remove(*key),
                    };
                }
            }
        }
    }
    // `author` an object with a name; `authors` a list of them
    fn authors(obj: &mut serde_json::Map<String, Value>, note: &mut dyn FnMut(String)) {
        let person = |v: &Value| match v {
            Value::String(name) => Some(serde_json::json!({ "name": name })),
            Value::Object(o) => {
                let mut o = o.clone();
                o.retain(|k, v| {
                    !matches!(k.as_str(), "name" | "url") || v.is_string() || v.is_null()
                });
                Some(Value::Object(o))
            }
            _ => None,
        };
        if let Some(a) = obj.get("author").filter(|a| !a.is_null()) {
            let p = person(a);
            if p.as_ref() != Some(a) {
                note("an author that is not an object of strings read as a name".into());
                match p {
                    Some(p) => obj.insert("author".into(), p),
                    None => obj.remove("author"),
                };
            }
        }
        if let Some(list) = obj.get("authors").filter(|a| !a.is_null()) {
            let people: Vec<Value> = match list {
                Value::Array(items) => items.iter().filter_map(person).collect(),
                other => person(other).into_iter().collect(),
            };
            if list.as_array() != Some(&people) {
                note("`authors` read as a list of names".into());
                obj.insert("authors".into(), Value::Array(people));
            }
        }
    }
    let version = feed.get("version").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("https://jsonfeed.org/version/1") {
        let fixed = version
            .strip_prefix("http://")
            .filter(|v| v.starts_with("jsonfeed.org/version/1"))
            .map_or_else(
                || "https://jsonfeed.org/version/1.1".to_string(),
                |v| format!("https://{v}"),
            );
        note(format!("version {version:?} read as {fixed:?}"));
        feed.insert("version".into(), Value::String(fixed));
    }
    match feed.get("title") {
        Some(Value::String(_)) => {}
        t => {
            let title = t.and_then(as_text).unwrap_or_default();
            note("a feed `title` missing or not a string".into());
            feed.insert("title".into(), Value::String(title));
        }
    }
    strings(
        &mut feed,
        &[
            "home_page_url",
            "feed_url",
            "language",
            "description",
            "icon",
            "favicon",
        ],
        &mut note,
    );
    authors(&mut feed, &mut note);
    let items = match feed.remove("items") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(_) => {
            note("`items` that is not a list left out".into());
            Vec::new()
        }
    };
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        let Value::Object(mut item) = item else {
            note("an item that is not an object left out".into());
            continue;
        };
        strings(
            &mut item,
            &[
                "id",
                "url",
                "external_url",
                "title",
                "content_html",
                "content_text",
                "summary",
                "date_published",
                "date_modified",
            ],
            &mut note,
        );
        authors(&mut item, &mut note);
        match item.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(tags)) if tags.iter().all(Value::is_string) => {}
            Some(tags) => {
                let list: Vec<Value> = match tags {
                    Value::Array(tags) => {
                        tags.iter().filter_map(as_text).map(Value::String).collect()
                    }
                    one => as_text(one).map(Value::String).into_iter().collect(),
                };
                note("tags that are not strings read as text".into());
                item.insert("tags".into(), Value::Array(list));
            }
        }
        if let Some(list) = item.get("attachments").filter(|a| !a.is_null()) {
            let usable = |a: &&Value| {
                a.get("url").is_some_and(Value::is_string)
                    && a.get("mime_type").is_some_and(Value::is_string)
            };
            let attachments: Vec<Value> = match list {
                Value::Array(all) => all
                    .iter()
                    .filter(usable)
                    .map(|a| {
                        let mut a = a.clone();
                        if let Some(o) = a.as_object_mut() {
                            o.retain(|k, v| match k.as_str() {
                                "title" => v.is_string() || v.is_null(),
                                "size_in_bytes" => v.is_u64() || v.is_null(),
                                _ => true,
                            });
                        }
                        a
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if attachments.len() != list.as_array().map_or(usize::MAX, Vec::len) {
                note("an attachment without a URL or MIME type left out".into());
            }
            item.insert("attachments".into(), Value::Array(attachments));
        }
        kept.push(Value::Object(item));
    }
    feed.insert("items".into(), Value::Array(kept));
    if notes.is_empty() {
        return None;
    }
    serde_json::to_string(&Value::Object(feed))
        .ok()
        .map(|t| (t, notes))
}

/// Documents feed-rs does not recognise though they are feeds: RSS 0.90 (the RSS 1.0 reader
/// reads it once the namespace is 1.0's); an `<rss>` root with a default namespace (every
/// element then lies outside the namespace-less RSS that feed-rs reads, and it finds no
/// item), or with no version or one it does not list (`2.01`, `0.94`: "no root element").
pub(super) fn repair_root(text: Cow<'_, str>) -> Cow<'_, str> {
    let text = if mentions(&text, RSS090_NS) {
        Cow::Owned(text.replace(RSS090_NS, RSS10_NS))
    } else {
        text
    };
    let Some(root) = root_tag(&text) else {
        return text;
    };
    let tag = &text[root.clone()];
    let is_rss = tag
        .strip_prefix("<rss")
        .is_some_and(|r| r.starts_with(|c: char| c == '>' || c == '/' || c.is_whitespace()));
    if !is_rss {
        return text;
    }
    let attrs = crate::parse::tag_attributes(tag[4..].trim_end_matches('>'));
    let version = attrs
        .iter()
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v.trim());
    let default_ns = attrs.iter().any(|(k, _)| k == "xmlns");
    let known = matches!(version, Some("2.0" | "0.91" | "0.92"));
    if known && !default_ns {
        return text;
    }
    // rebuilt from its attributes: prefixed namespaces kept, the default one dropped
    let mut new = String::from("<rss version=\"");
    new.push_str(match version {
        Some(v @ ("0.91" | "0.92")) => v,
        _ => "2.0",
    });
    new.push('"');
    for (k, v) in attrs.iter().filter(|(k, _)| k != "version" && k != "xmlns") {
        new.push_str(&format!(
            " {k}=\"{}\"",
            v.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
        ));
    }
    new.push_str(if tag.ends_with("/>") { "/>" } else { ">" });
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..root.start]);
    out.push_str(&new);
    out.push_str(&text[root.end..]);
    Cow::Owned(out)
}

/// The most entities [`declared_entities`] takes from one document (the first declared):
/// each reference is compared with every name, and feeds that declare any declare a few.
const MAX_DECLARED_ENTITIES: usize = 64;

/// The general entities a document declares in its DOCTYPE's internal subset
/// (`<!DOCTYPE rss [<!ENTITY site "Example News">]>`), each reference to them (`&site;`)
/// replaced by its value. XML defines them and feed-rs reads none: a reference stayed in the
/// text as written ("&site; weekly"). A value is read as XML reads it, its character
/// references expanded (`'AT&#38;#38;T'` stands for `AT&#38;T`, which reads "AT&T").
/// Parameter entities (`%`) and external ones (`SYSTEM`, `PUBLIC`: newswire fetches no DTD)
/// are left, as are the references in CDATA sections and comments, where XML reads none. An
/// entity whose value names another stays as written, and so does a document that would grow
/// past twice its size plus 64 KiB: declarations that expand to gigabytes ("billion laughs")
/// cost nothing. `None` when there is nothing to replace.
pub(super) fn declared_entities(text: &str) -> Option<String> {
    let root = root_tag(text)?;
    let head = &text[..root.start];
    let doctype = memchr::memmem::find(head.as_bytes(), b"<!DOCTYPE")?;
    let subset = &head[doctype..];
    let subset = subset.get(subset.find('[')? + 1..subset.rfind(']')?)?;
    let mut entities: Vec<(&str, Cow<'_, str>)> = Vec::new();
    for (at, _) in subset.match_indices("<!ENTITY") {
        let rest = subset[at + "<!ENTITY".len()..].trim_start();
        let Some(name_end) = rest.find(|c: char| c.is_whitespace()) else {
            continue;
        };
        let name = &rest[..name_end];
        let value = rest[name_end..].trim_start();
        let Some(quote) = value.chars().next().filter(|q| matches!(q, '"' | '\'')) else {
            continue; // a parameter entity's `%`, or SYSTEM / PUBLIC
        };
        let Some(close) = value[1..].find(quote) else {
            continue;
        };
        let is_name = !name.is_empty()
            && name.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == ':')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '.' | '-'));
        let predefined = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos");
        if is_name && !predefined && !entities.iter().any(|(n, _)| *n == name) {
            entities.push((name, char_refs_expanded(&value[1..1 + close])));
        }
        if entities.len() == MAX_DECLARED_ENTITIES {
            break;
        }
    }
    // a value naming another entity stays unexpanded, the references to it as written:
    // nesting is how entity bombs are built, and no feed needs it
    let names: Vec<&str> = entities.iter().map(|(name, _)| *name).collect();
    let names_another = |value: &str| {
        value.match_indices('&').any(|(i, _)| {
            names.iter().any(|n| {
                value[i + 1..]
                    .strip_prefix(n)
                    .is_some_and(|r| r.starts_with(';'))
            })
        })
    };
    entities.retain(|(_, value)| !names_another(value));
    if entities.is_empty() {
        return None;
    }
    let limit = text.len() * 2 + (64 << 10);
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (root.start, root.start);
    let mut replaced = false;
    out.push_str(&text[..root.start]);
    while let Some(i) = memchr::memchr2(b'&', b'<', &b[at..]).map(|i| at + i) {
        at = i + 1;
        if b[i] == b'<' {
            // CDATA and comments hold no references
            let end = if text[i..].starts_with("<![CDATA[") {
                "]]>"
            } else if text[i..].starts_with("<!--") {
                "-->"
            } else {
                continue;
            };
            at = text[i..]
                .find(end)
                .map_or(text.len(), |e| i + e + end.len());
            continue;
        }
        let Some((name, value)) = entities.iter().find(|(name, _)| {
            text[i + 1..].starts_with(name) && b.get(i + 1 + name.len()) == Some(&b';')
        }) else {
            continue;
        };
        out.push_str(&text[copied..i]);
        out.push_str(value);
        copied = i + name.len() + 2;
        at = copied;
        replaced = true;
        if out.len() > limit {
            return None;
        }
    }
    out.push_str(&text[copied..]);
    replaced.then_some(out)
}

/// `value` with its character references (`&#38;`, `&#x26;`) as the characters they stand
/// for, and every other reference as written.
fn char_refs_expanded(value: &str) -> Cow<'_, str> {
    if !value.contains("&#") {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let reference = &rest[i..];
        match reference.find(';').filter(|&end| end <= 12) {
            Some(end) => {
                out.push_str(&super::reference_text(&reference[1..end]));
                rest = &reference[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = &reference[2..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// RSS items written outside the `<channel>`: after it closes (a template that closes the
/// channel before its loop of items), or in an `<rss>` with no channel at all. feed-rs reads
/// items inside the channel only, and lost such items without a word (an empty feed, or a
/// feed missing its last items). The channel is made to hold them: its end moves to the end
/// of the document, or, with no channel, one is opened after the root and closed before its
/// end; a channel written empty (`<channel/>`) is opened. `None` when the document is not
/// RSS or has no such item; RSS 1.0 (RDF), where items are the channel's siblings by design,
/// has another root and is left alone.
pub(super) fn items_outside_channel(text: &str) -> Option<String> {
    let root = root_tag(text)?;
    if element_name(&text[root.clone()]) != "rss" || text[root.clone()].ends_with("/>") {
        return None;
    }
    let b = text.as_bytes();
    let end = memchr::memmem::rfind(b, b"</rss").filter(|&e| e >= root.end)?;
    let is_item = |at: usize| {
        b.get(at + "<item".len())
            .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
    };
    let item_in = |range: Range<usize>| {
        memchr::memmem::find_iter(&b[range.clone()], b"<item").any(|at| is_item(range.start + at))
    };
    let close = b"</channel>";
    match memchr::memmem::rfind(&b[root.end..end], close).map(|at| root.end + at) {
        Some(at) if item_in(at + close.len()..end) => Some(format!(
            "{}{}</channel>{}",
            &text[..at],
            &text[at + close.len()..end],
            &text[end..]
        )),
        Some(_) => None,
        None if memchr::memmem::find(&b[root.end..end], b"<channel").is_none()
            && item_in(root.end..end) =>
        {
            Some(format!(
                "{}<channel>{}</channel>{}",
                &text[..root.end],
                &text[root.end..end],
                &text[end..]
            ))
        }
        None => {
            // `<channel/>`, written empty, then the items: the channel is opened instead
            let at = root.end + memchr::memmem::find(&b[root.end..end], b"<channel")?;
            let tag_end = at + memchr::memchr(b'>', &b[at..end])?;
            (b[tag_end - 1] == b'/'
                && element_name(&text[at..=tag_end]) == "channel"
                && item_in(tag_end..end))
            .then(|| {
                format!(
                    "{}>{}</channel>{}",
                    &text[..tag_end - 1],
                    &text[tag_end + 1..end],
                    &text[end..]
                )
            })
        }
    }
}

/// The Atom 1.0 namespace (which Atom 0.3 is read in too: see `atom03_as_atom10`).
pub(super) const ATOM_NS: &str = "http://www.w3.org/2005/Atom";

/// The namespaces feed-rs reads, as it spells them: it knows a namespace only by these
/// exact bytes.
const KNOWN_NAMESPACES: [&str; 8] = [
    "http://purl.org/rss/1.0/",
    ATOM_NS,
    "http://purl.org/rss/1.0/modules/content/",
    "http://purl.org/dc/elements/1.1/",
    "http://search.yahoo.com/mrss/",
    "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "https://podcastindex.org/namespace/1.0",
    "http://wellformedweb.org/CommentAPI/",
];

/// A namespace URI as compared with [`KNOWN_NAMESPACES`]: without its scheme and trailing
/// slash, in lowercase.
fn namespace_key(uri: &str) -> String {
    let uri = uri.trim();
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
        .unwrap_or(uri);
    rest.trim_end_matches('/').to_ascii_lowercase()
}

/// Namespaces declared in another spelling than the one feed-rs knows: iTunes' as Apple's
/// old documentation wrote it (`http://www.itunes.com/DTDs/Podcast-1.0.dtd`), Media RSS or
/// Dublin Core without their trailing slash, `https` for `http`. feedparser reads these
/// namespaces whatever their case and slash; feed-rs did not see the elements at all
/// (an episode's image, a photo's `media:content`). Each such declaration is rewritten to
/// the spelling feed-rs knows.
pub(super) fn canonical_namespaces(text: Cow<'_, str>) -> Cow<'_, str> {
    let b = text.as_bytes();
    let mut edits: Vec<(Range<usize>, &'static str)> = Vec::new();
    for at in memchr::memmem::find_iter(b, b"xmlns") {
        // `xmlns="..."` or `xmlns:prefix="..."`, in a tag
        if start_tag_at(b, at).is_none() {
            continue;
        }
        let mut i = at + "xmlns".len();
        if b.get(i) == Some(&b':') {
            i += b[i..]
                .iter()
                .position(|c| *c == b'=' || c.is_ascii_whitespace() || *c == b'>')
                .unwrap_or(b.len() - i);
        }
        let Some(value) = attribute_value(b, i) else {
            continue;
        };
        let uri = &text[value.clone()];
        if KNOWN_NAMESPACES.contains(&uri) {
            continue;
        }
        let key = namespace_key(uri);
        if let Some(known) = KNOWN_NAMESPACES.iter().find(|k| namespace_key(k) == key) {
            edits.push((value, known));
        }
    }
    with_edits(text, edits)
}

/// Where the start tag that position `at` stands in opens (its `<`), if `at` is inside one.
fn start_tag_at(b: &[u8], at: usize) -> Option<usize> {
    memchr::memrchr(b'<', &b[..at]).filter(|&open| memchr::memchr(b'>', &b[open..at]).is_none())
}

/// The quoted value of an attribute whose name ends at `i` (`= "value"`, spaces allowed
/// around `=`): where it lies between its quotes.
fn attribute_value(b: &[u8], mut i: usize) -> Option<Range<usize>> {
    let skip_spaces = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    i = skip_spaces(i);
    if b.get(i) != Some(&b'=') {
        return None;
    }
    i = skip_spaces(i + 1);
    let quote = b.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
    let start = i + 1;
    let len = memchr::memchr(*quote, &b[start..])?;
    Some(start..start + len)
}

/// `text` with each range of `edits` (in order, not overlapping) replaced; `text` itself,
/// not copied, when there are none.
fn with_edits<'a>(text: Cow<'a, str>, edits: Vec<(Range<usize>, &str)>) -> Cow<'a, str> {
    if edits.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (range, replacement) in edits {
        out.push_str(&text[copied..range.start]);
        out.push_str(replacement);
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Atom's text constructs (`title`, `subtitle`, `summary`, `rights`), and `content`, whose
/// `type` is written as a MIME type or in capitals: `text/plain`, `application/xhtml+xml`,
/// `HTML`. Atom 0.3 wrote them so (with `mode="escaped"` or `mode="xml"`, which these types
/// then say), and Atom 1.0 generators still do; feed-rs knows only `text`, `html`, `xhtml`
/// and `text/html`, and rejects the rest: an entry lost its headline, a feed whose own title
/// was so typed did not parse. Each such `type` is rewritten to the word Atom 1.0 uses. For
/// `content`, where MIME types are valid, only the forms feed-rs misreads change (`text/*`
/// stays: feed-rs reads it). A base64 body (`mode="base64"`, a 0.3 form no feed seen uses)
/// stays as it is.
pub(super) fn atom_text_types(text: Cow<'_, str>) -> Cow<'_, str> {
    if !mentions(&text, ATOM_NS) {
        return text;
    }
    let b = text.as_bytes();
    let mut edits: Vec<(Range<usize>, &'static str)> = Vec::new();
    for at in memchr::memmem::find_iter(b, b"type=") {
        // an attribute (after a space), its value quoted
        if !b
            .get(at.wrapping_sub(1))
            .is_some_and(u8::is_ascii_whitespace)
        {
            continue;
        }
        let Some(range) = attribute_value(b, at + "type".len()) else {
            continue;
        };
        let value = &text[range.clone()];
        let Some(word) = atom_text_word(value).filter(|w| *w != value) else {
            continue;
        };
        // in the start tag of a text construct or of `content`
        let Some(open) = start_tag_at(b, at) else {
            continue;
        };
        let name = element_name(&text[open..at]);
        let local = name.rsplit(':').next().unwrap_or(name);
        let rewrite = match local {
            "title" | "subtitle" | "summary" | "rights" => true,
            "content" => !value.starts_with("text/"),
            _ => false,
        };
        if rewrite {
            edits.push((range, word));
        }
    }
    with_edits(text, edits)
}

/// The Atom 1.0 word (`text`, `html`, `xhtml`) a text construct's `type` means, if any.
fn atom_text_word(value: &str) -> Option<&'static str> {
    let value = value.trim();
    let is = |s: &str| value.eq_ignore_ascii_case(s);
    // an empty type is no type: text, as Atom reads a construct without one
    if is("text") || is("text/plain") || value.is_empty() {
        Some("text")
    } else if is("html") || is("text/html") {
        Some("html")
    } else if is("xhtml") || is("application/xhtml+xml") {
        Some("xhtml")
    } else {
        None
    }
}

/// RSS 2.0 put in a namespace bound to a prefix (`<r:rss xmlns:r="http://backend.userland.com/rss2">`,
/// `<r:channel>`, `<r:item>`): valid XML, and feedparser reads it, but feed-rs reads RSS only
/// without a namespace and finds nothing. The prefix is taken off the elements (outside
/// comments, CDATA and processing instructions); the other prefixes (modules such as
/// `dc:`) stay. [`repair_root`] then reads the root as any `<rss>`. (Atom and RSS 1.0 with
/// a prefix feed-rs reads as they are.)
pub(super) fn unprefix_feed_elements(text: Cow<'_, str>) -> Cow<'_, str> {
    let Some(root) = root_tag(&text) else {
        return text;
    };
    let tag = &text[root.clone()];
    let name = element_name(tag);
    let Some((prefix, "rss")) = name.split_once(':') else {
        return text;
    };
    let open = format!("<{prefix}:");
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..root.start]);
    out.push_str("<rss");
    out.push_str(&tag[1 + name.len()..]);
    let close = format!("</{prefix}:");
    let mut rest = &text[root.end..];
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let skip_to = |end: &str| rest.find(end).map_or(rest.len(), |i| i + end.len());
        let copied = if rest.starts_with("<![CDATA[") {
            skip_to("]]>")
        } else if rest.starts_with("<!--") {
            skip_to("-->")
        } else if rest.starts_with("<?") {
            skip_to("?>")
        } else if rest.starts_with(&close) {
            out.push_str("</");
            rest = &rest[close.len()..];
            continue;
        } else if rest.starts_with(&open) {
            out.push('<');
            rest = &rest[open.len()..];
            continue;
        } else {
            1
        };
        out.push_str(&rest[..copied]);
        rest = &rest[copied..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// What stands for the link of an RSS 1.0 item that has none while feed-rs reads it; taken
/// out again by [`drop_placeholder_links`].
const NO_LINK: &str = "urn:newswire:no-link";

/// RSS 1.0 and 0.90 items without a `<link>`, which feed-rs drops whole (it keeps an item
/// only if it has a link), given a placeholder one. RSS 0.90 and 1.0 make the link
/// required, but feeds leave it out and feedparser reads such items (by their `rdf:about`).
pub(super) fn rdf_items_without_link(text: Cow<'_, str>) -> Cow<'_, str> {
    let is_rdf = root_tag(&text).is_some_and(|r| {
        let name = element_name(&text[r]);
        name.rsplit(':').next() == Some("RDF")
    });
    let Some(o) = is_rdf.then(|| outline(&text)).flatten() else {
        return text;
    };
    let without: Vec<usize> = o
        .entries
        .iter()
        .filter(|r| !text[(*r).clone()].ends_with("/>"))
        .filter(|r| {
            !inner_elements(&text, (*r).clone())
                .iter()
                .any(|e| element_name(&text[e.clone()]).rsplit(':').next() == Some("link"))
        })
        .filter_map(|r| text[r.clone()].find('>').map(|i| r.start + i + 1))
        .collect();
    if without.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len() + without.len() * 48);
    let mut at = 0;
    for i in without {
        out.push_str(&text[at..i]);
        out.push_str(&format!("<link>{NO_LINK}</link>"));
        at = i;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Takes out the placeholder links [`rdf_items_without_link`] put in.
pub(super) fn drop_placeholder_links(feed: &mut Feed) {
    for e in &mut feed.entries {
        e.links.retain(|l| l.href != NO_LINK);
    }
}

/// The five references XML defines by name.
const XML_ENTITIES: &[&str] = &["amp", "lt", "gt", "quot", "apos"];

/// The text with its references made well-formed, outside CDATA sections, comments and
/// processing instructions: a bare `&` becomes `&amp;`, an HTML entity XML does not define
/// (`&nbsp;`, `&eacute;`) its character reference, an unknown one `&amp;name;`. `None` when
/// there was nothing to repair.
pub(super) fn repair_references(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = false;
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('<') {
            let skip = [("<![CDATA[", "]]>"), ("<!--", "-->"), ("<?", "?>")]
                .iter()
                .find(|(open, _)| rest.starts_with(open))
                .map(|(_, close)| rest.find(close).map_or(rest.len(), |i| i + close.len()))
                .unwrap_or(1);
            out.push_str(&rest[..skip]);
            rest = &rest[skip..];
            continue;
        }
        // a reference: `&` name-or-number `;`
        let body_len = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .unwrap_or(rest.len() - 1);
        let body = &rest[1..1 + body_len];
        let closed = rest[1 + body_len..].starts_with(';');
        let numeric = body.strip_prefix('#').is_some_and(|n| {
            n.strip_prefix(['x', 'X'])
                .map_or_else(
                    || n.parse::<u32>().ok(),
                    |h| u32::from_str_radix(h, 16).ok(),
                )
                .and_then(char::from_u32)
                .is_some()
        });
        if closed && (numeric || XML_ENTITIES.contains(&body)) {
            out.push_str(&rest[..body_len + 2]);
            rest = &rest[body_len + 2..];
            continue;
        }
        changed = true;
        if closed && !body.is_empty() {
            let reference = &rest[..body_len + 2];
            let decoded = html_escape::decode_html_entities(reference);
            if decoded != reference {
                for c in decoded.chars() {
                    out.push_str(&format!("&#{};", u32::from(c)));
                }
            } else {
                out.push_str("&amp;");
                out.push_str(&reference[1..]);
            }
            rest = &rest[body_len + 2..];
        } else {
            out.push_str("&amp;");
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Where a document's entries are: `item`s and `entry`s that are children of the root or
/// of its `channel`.
#[derive(Debug)]
pub(super) struct Outline {
    /// The document up to its first entry (or all of it, if it has none).
    pub head: Range<usize>,
    /// Each entry, start tag to end tag.
    pub entries: Vec<Range<usize>>,
    /// The document after its last entry.
    pub tail: Range<usize>,
    /// The start tags of the root and the channel, if the entries are in one.
    pub opening: String,
    /// What closes them.
    pub closing: String,
    /// Whether the document ends with elements still open (a download that stopped, a
    /// size limit): `Some(true)` when an entry was open, cut short itself.
    pub cut_short: Option<bool>,
}

/// The outline of an XML document, read as far as it can be read.
pub(super) fn outline(text: &str) -> Option<Outline> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    // the open elements' names, with the start tags of the root and of its child
    let mut open: Vec<(String, Range<usize>)> = Vec::new();
    let mut entries = Vec::new();
    let mut entry_start: Option<(usize, usize)> = None;
    let mut parents: Option<Vec<(String, Range<usize>)>> = None;
    let mut cut_short = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event();
        let after = reader.buffer_position() as usize;
        let (e, empty) = match event {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                open.pop();
                if let Some((start, depth)) = entry_start {
                    if open.len() == depth {
                        entries.push(start..after);
                        entry_start = None;
                    }
                }
                continue;
            }
            // the end, or markup the end cuts (quick-xml's "unclosed" errors are found at
            // the end of input; a `<!` followed by something unknown is not): what is open
            // then was never closed
            Ok(Event::Eof) | Err(quick_xml::Error::Syntax(_))
                if !matches!(
                    event,
                    Err(quick_xml::Error::Syntax(
                        quick_xml::errors::SyntaxError::InvalidBangMarkup
                    ))
                ) =>
            {
                cut_short = (!open.is_empty()).then_some(entry_start.is_some());
                break;
            }
            Err(_) if after > before => continue,
            Err(_) => break,
            Ok(_) => continue,
        };
        let name = e.name().as_ref().to_string();
        let local = e.local_name();
        let is_entry = entry_start.is_none()
            && matches!(local.as_ref(), "item" | "entry")
            && (open.len() == 1
                || (open.len() == 2 && open[1].0.rsplit(':').next() == Some("channel")));
        if is_entry {
            parents.get_or_insert_with(|| open.clone());
            if empty {
                entries.push(before..after);
            } else {
                entry_start = Some((before, open.len()));
            }
        }
        if !empty {
            open.push((name, before..after));
        }
    }
    let parents = parents?;
    let first = entries.first()?.start;
    let last = entries.last()?.end;
    Some(Outline {
        head: 0..first,
        tail: last..text.len(),
        opening: parents.iter().map(|(_, r)| &text[r.clone()]).collect(),
        closing: parents
            .iter()
            .rev()
            .map(|(n, _)| format!("</{n}>"))
            .collect(),
        entries,
        cut_short,
    })
}

/// The elements inside `text[within]` (not the one that spans it), as ranges of `text`.
fn inner_elements(text: &str, within: Range<usize>) -> Vec<Range<usize>> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(&text[within.clone()]);
    reader.config_mut().check_end_names = false;
    let mut starts: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event();
        let after = reader.buffer_position() as usize;
        match event {
            Ok(Event::Start(_)) => starts.push(before),
            Ok(Event::Empty(_)) if !starts.is_empty() => {
                out.push(within.start + before..within.start + after)
            }
            Ok(Event::End(_)) => {
                if let Some(s) = starts.pop().filter(|_| !starts.is_empty()) {
                    out.push(within.start + s..within.start + after);
                }
            }
            Ok(Event::Eof) => break,
            Err(_) if after > before => continue,
            Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// An element with no attribute and no content (`<x/>`, `<x></x>`, `<x> </x>`), which says
/// nothing but that some parsers refuse (feed-rs: "missing text").
fn says_nothing(element: &str) -> bool {
    let Some(name_end) = element.find(|c: char| c.is_whitespace() || c == '>' || c == '/') else {
        return false;
    };
    let name = &element[1..name_end];
    element[name_end..].trim() == "/>"
        || element
            .strip_suffix(&format!("</{name}>"))
            .and_then(|e| e[name_end..].strip_prefix('>'))
            .is_some_and(|inner| inner.trim().is_empty())
}

/// The name of an element, from its text.
fn element_name(element: &str) -> &str {
    let end = element[1..]
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .map_or(element.len(), |i| i + 1);
    &element[1..end]
}

/// Tries to parse `prefix + part + suffix`; failing that, the same without the elements of
/// `part` that say nothing, and failing that, without one element of `part` (the smallest
/// first: faults sit in small leaves, and the big ones carry the content). Returns the feed
/// and what was left out, or the first error.
fn parse_without_faults(
    prefix: &str,
    text: &str,
    part: Range<usize>,
    suffix: &str,
    parse: &dyn Fn(&str) -> Result<Feed, String>,
    budget: &Cell<usize>,
) -> Result<(Feed, Vec<String>), String> {
    /// The most single-element removals tried per part.
    const MAX_TRIES: usize = 48;
    let doc = |skip: &[Range<usize>]| {
        let mut d = String::with_capacity(prefix.len() + part.len() + suffix.len());
        d.push_str(prefix);
        let mut at = part.start;
        for r in skip {
            if r.start >= at {
                d.push_str(&text[at..r.start]);
                at = r.end;
            }
        }
        d.push_str(&text[at..part.end]);
        d.push_str(suffix);
        d
    };
    let error = match parse(&doc(&[])) {
        Ok(feed) => return Ok((feed, Vec::new())),
        Err(e) => e,
    };
    // every retry spends from the document's budget
    let retry = |skip: &[Range<usize>]| {
        let left = budget.get().checked_sub(1)?;
        budget.set(left);
        parse(&doc(skip)).ok()
    };
    let inner = inner_elements(text, part.clone());
    let silent: Vec<Range<usize>> = inner
        .iter()
        .filter(|r| says_nothing(&text[(*r).clone()]))
        .cloned()
        .collect();
    let name = |r: &Range<usize>| format!("<{}>", element_name(&text[r.clone()]));
    if !silent.is_empty() {
        if let Some(feed) = retry(&silent) {
            let mut names: Vec<String> = silent.iter().map(name).collect();
            names.dedup();
            return Ok((
                feed,
                vec![format!("empty {} left out ({error})", names.join(", "))],
            ));
        }
    }
    let mut by_size = inner;
    by_size.sort_by_key(|r| r.len());
    for r in by_size.iter().take(MAX_TRIES) {
        if let Some(feed) = retry(std::slice::from_ref(r)) {
            return Ok((feed, vec![format!("{} left out ({error})", name(r))]));
        }
    }
    Err(error)
}

/// What a loose reading made of a document.
pub(super) struct Loose {
    /// The feed: its metadata and the entries that could be read.
    pub feed: Feed,
    /// For each entry of the feed, its index among the document's entries.
    pub kept: Vec<usize>,
    /// What was left out or could not be read, and why.
    pub notes: Vec<String>,
}

/// A short name for entry `i` in a note: its position, and its title or id if it has one.
fn entry_label(i: usize, entry_text: &str) -> String {
    let find = |tag: &str| {
        let open = entry_text.find(&format!("<{tag}"))?;
        let start = open + entry_text[open..].find('>')? + 1;
        let end = start + entry_text[start..].find('<')?;
        let t = entry_text[start..end].trim();
        (!t.is_empty()).then(|| t.chars().take(60).collect::<String>())
    };
    match find("title")
        .or_else(|| find("guid"))
        .or_else(|| find("id"))
    {
        Some(t) => format!("entry {} ({t:?})", i + 1),
        None => format!("entry {}", i + 1),
    }
}

/// Retries (a document without some of its elements) one document may cost in all: a
/// hostile document of 10,000 faulty entries would otherwise be parsed half a million times.
const MAX_RETRIES: usize = 500;

/// Reads a document entry by entry: the feed's own elements once (without an element that
/// breaks them, else without them), then each entry in a document of its own (the root and
/// channel start tags, the entry, their end tags). An entry that cannot be read even without
/// one of its elements is left out, and said.
pub(super) fn read_entries(
    text: &str,
    parse: &dyn Fn(&str) -> Result<Feed, String>,
) -> Option<Loose> {
    let o = outline(text)?;
    let budget = Cell::new(MAX_RETRIES);
    let mut notes = Vec::new();
    // the feed's own elements: the document without its entries. A document cut short
    // has no end to read after its last whole entry: its open elements are closed there.
    let tail = match o.cut_short {
        None => &text[o.tail.clone()],
        Some(in_entry) => {
            notes.push(
                if in_entry {
                    "the document is cut short: read up to its last whole entry (the one cut short left out)"
                } else {
                    "the document is cut short: read up to its last whole entry"
                }
                .to_string(),
            );
            &o.closing
        }
    };
    let mut feed = match parse_without_faults("", text, o.head.clone(), tail, parse, &budget) {
        Ok((feed, left_out)) => {
            notes.extend(left_out.into_iter().map(|n| format!("feed: {n}")));
            feed
        }
        Err(e) => {
            let bare = parse(&format!("{}{}", o.opening, o.closing)).ok()?;
            notes.push(format!("feed: its own elements could not be read ({e})"));
            bare
        }
    };
    feed.entries.clear();
    let mut kept = Vec::new();
    for (i, r) in o.entries.iter().enumerate() {
        let read = parse_without_faults(&o.opening, text, r.clone(), &o.closing, parse, &budget);
        match read {
            Ok((mut one, left_out)) => {
                let label = entry_label(i, &text[r.clone()]);
                notes.extend(left_out.into_iter().map(|n| format!("{label}: {n}")));
                if let Some(entry) = one.entries.pop() {
                    feed.entries.push(entry);
                    kept.push(i);
                }
            }
            Err(e) => notes.push(format!(
                "{}: left out, unreadable ({e})",
                entry_label(i, &text[r.clone()])
            )),
        }
    }
    if budget.get() == 0 {
        notes.push(format!(
            "more faults than {MAX_RETRIES} tries to repair them: the entries after that were left out whole"
        ));
    }
    Some(Loose { feed, kept, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Result<Feed, String> {
        std::panic::catch_unwind(|| feed_rs::parser::parse(doc.as_bytes()))
            .map_err(|_| "panic".to_string())?
            .map_err(|e| e.to_string())
    }

    #[test]
    fn rdf_items_without_a_link_are_kept() {
        let doc = "<!-- c --><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
            <channel><title>T</title></channel><item rdf:about=\"http://e.com/1\"><title>One</title></item>\
            <item><title>Two</title><link>http://e.com/2</link></item></rdf:RDF>";
        assert_eq!(parse(doc).unwrap().entries.len(), 1);
        let fixed = rdf_items_without_link(Cow::Borrowed(doc));
        let mut feed = parse(&fixed).unwrap();
        drop_placeholder_links(&mut feed);
        let links: Vec<Vec<String>> = feed
            .entries
            .iter()
            .map(|e| e.links.iter().map(|l| l.href.clone()).collect())
            .collect();
        assert_eq!(links, [vec![], vec!["http://e.com/2".to_string()]]);
        // RSS 2.0 is not touched
        let rss = "<rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss>";
        assert!(matches!(
            rdf_items_without_link(Cow::Borrowed(rss)),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn references_are_made_well_formed() {
        assert_eq!(
            repair_references(
                "<t>AT&T &amp; R&D&nbsp;caf&eacute; &copy2 &#233; &#xZZ; &bogus;</t>"
            )
            .unwrap(),
            "<t>AT&amp;T &amp; R&amp;D&#160;caf&#233; &amp;copy2 &#233; &amp;#xZZ; &amp;bogus;</t>"
        );
        // CDATA, comments and processing instructions are left as they are
        assert_eq!(
            repair_references("<a><![CDATA[a & b]]><!-- x & y --><?p & ?>&amp;</a>"),
            None
        );
        assert_eq!(
            repair_references("<a href=\"?a=1&b=2\"/>").unwrap(),
            "<a href=\"?a=1&amp;b=2\"/>"
        );
    }

    #[test]
    fn the_root_is_made_one_feed_rs_reads() {
        let fixed = repair_root(Cow::Borrowed(
            "<?xml version=\"1.0\"?>\n<!-- c --><rss xmlns=\"https://cyber.harvard.edu/rss/rss.html\" version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel/></rss>",
        ));
        assert_eq!(
            fixed,
            "<?xml version=\"1.0\"?>\n<!-- c --><rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel/></rss>"
        );
        assert_eq!(
            repair_root(Cow::Borrowed("<rss><channel/></rss>")),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            repair_root(Cow::Borrowed("<rss version=\"0.91\"><channel/></rss>")),
            "<rss version=\"0.91\"><channel/></rss>"
        );
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>";
        assert!(matches!(repair_root(Cow::Borrowed(atom)), Cow::Borrowed(_)));
    }

    #[test]
    fn entities_declared_in_the_doctype_are_read() {
        let doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n  <!ENTITY id \"tag:example.com,\">\n\
            <!ENTITY site 'Acme &#38;#38; Co'>\n  <!ENTITY % lat1 SYSTEM \"lat1.ent\"> %lat1;\n\
            <!ENTITY logo SYSTEM \"logo.png\">\n]>\n\
            <rss version=\"2.0\"><channel><title>&site; news</title><link>https://x.example/</link>\
            <item><guid isPermaLink=\"false\">&id;2006-05-04:/blog/</guid><title>&site;: &amp;id; \
            <![CDATA[&id;]]><!-- &id; --></title></item></channel></rss>";
        let expanded = declared_entities(doc).unwrap();
        let feed = parse(&expanded).unwrap();
        assert_eq!(feed.title.unwrap().content, "Acme & Co news");
        let entry = &feed.entries[0];
        assert_eq!(entry.id, "tag:example.com,2006-05-04:/blog/");
        assert_eq!(
            entry.title.as_ref().unwrap().content,
            "Acme & Co: &id; &id;"
        );
        assert_eq!(
            char_refs_expanded("a&#x41;&#66;&#;&#zz;&amp;"),
            "aAB&#;&#zz;&amp;"
        );
        // nothing declared, nothing used, or only what XML predefines: no copy
        for same in [
            "<rss version=\"2.0\"><channel><title>&amp;</title></channel></rss>",
            "<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" \"x.dtd\"><rss/>",
            "<!DOCTYPE rss [<!ENTITY amp \"x\">]><rss><channel><title>&amp;</title></channel></rss>",
            "<!DOCTYPE rss [<!ENTITY id \"x\">]><rss><channel><title>id</title></channel></rss>",
            "<!DOCTYPE rss ]<!ENTITY id \"x\">[><rss><title>&id;</title></rss>",
            "<!DOCTYPE rss [<!ENTITY id \"x><rss><title>&id;</title></rss>",
            "<!DOCTYPE rss [<!ENTITY id\"x\">]><rss><title>&id;</title></rss>",
        ] {
            assert_eq!(declared_entities(same), None, "{same}");
        }
        // entities nested in others stay as written (the others are read)
        let nested = "<!DOCTYPE rss [<!ENTITY a \"x\"><!ENTITY b \"&a;&a;\">]>\
            <rss><channel><title>&b; &a;</title></channel></rss>";
        let expanded = declared_entities(nested).unwrap();
        assert!(
            expanded.ends_with("<title>&b; x</title></channel></rss>"),
            "{expanded}"
        );
        // an expansion past its bound is not made
        let laughs = format!(
            "<!DOCTYPE rss [<!ENTITY lol \"{}\">]><rss>{}</rss>",
            "lol".repeat(10_000),
            "&lol;".repeat(1_000)
        );
        assert_eq!(declared_entities(&laughs), None);
    }

    #[test]
    fn a_document_cut_short_is_told_from_one_with_a_fault() {
        let whole = "<rss><channel><title>T</title><item><title>A</title></item>\
                     <item><title>B</title></item><copyright>c</copyright></channel></rss>";
        let cut = |at: &str| {
            outline(&whole[..whole.find(at).unwrap()])
                .unwrap()
                .cut_short
        };
        assert_eq!(outline(whole).unwrap().cut_short, None);
        assert_eq!(cut("<item><title>B"), Some(false));
        assert_eq!(cut("B</title>"), Some(true));
        assert_eq!(cut("le>B<"), Some(true), "in a tag");
        assert_eq!(cut("pyright>c"), Some(false), "in a tag after the entries");
        let commented = whole.replace("<copyright>", "<!-- note <copyright>");
        assert_eq!(
            outline(&commented).unwrap().cut_short,
            Some(false),
            "in a comment"
        );
        // a fault in the middle is not the end
        let fault = whole.replace("<copyright>", "<!x><copyright>");
        assert_eq!(outline(&fault).unwrap().cut_short, None);
    }

    #[test]
    fn items_outside_the_channel_are_the_channels() {
        let items = "<item><title>A</title><link>https://x.example/a</link></item>\
                     <item><title>B</title><link>https://x.example/b</link></item>";
        let titles = |doc: &str| -> Vec<String> {
            let doc = items_outside_channel(doc).unwrap();
            parse(&doc)
                .unwrap()
                .entries
                .iter()
                .map(|e| e.title.as_ref().unwrap().content.clone())
                .collect()
        };
        // closed before its items; some inside, the rest after; no channel at all
        let head = "<channel><title>T</title><link>https://x.example/</link>";
        let closed_early = format!("<rss version=\"2.0\">{head}</channel>{items}</rss>");
        assert_eq!(titles(&closed_early), ["A", "B"]);
        let split = format!(
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\">{head}<item><title>Z</title></item></channel>\n{items}\n</rss>\n"
        );
        assert_eq!(titles(&split), ["Z", "A", "B"]);
        let bare = format!("<rss version=\"2.0\"><title>T</title>{items}</rss>");
        assert_eq!(titles(&bare), ["A", "B"]);
        let doc = items_outside_channel(&bare).unwrap();
        assert_eq!(parse(&doc).unwrap().title.unwrap().content, "T");
        // a channel written empty, its elements and items after it
        for empty in ["<channel/>", "<channel />", "<channel xml:lang=\"en\"/>"] {
            let doc = format!("<rss version=\"2.0\">{empty}<title>T</title>{items}</rss>");
            assert_eq!(titles(&doc), ["A", "B"], "{doc}");
            let doc = items_outside_channel(&doc).unwrap();
            assert_eq!(parse(&doc).unwrap().title.unwrap().content, "T");
        }
        // nothing outside, or not RSS: no copy
        for same in [
            format!("<rss version=\"2.0\">{head}{items}</channel></rss>"),
            format!("<rss version=\"2.0\">{head}</channel><items/></rss>"),
            format!("<rss version=\"2.0\">{head}</channel><itemised/></rss>"),
            "<rss version=\"2.0\"/>".to_string(),
            "<rss version=\"2.0\"><channel/></rss>".to_string(),
            "<rss version=\"2.0\"><channels/><item><title>A</title></item></rss>".to_string(),
            format!("<rdf:RDF>{head}</channel>{items}</rdf:RDF>"),
            format!("<feed xmlns=\"http://www.w3.org/2005/Atom\">{items}</feed>"),
        ] {
            assert_eq!(items_outside_channel(&same), None, "{same}");
        }
    }

    #[test]
    fn rss_in_a_prefixed_namespace_loses_its_prefix() {
        let doc = "<?xml version=\"1.0\"?><r:rss version=\"2.0\" xmlns:r=\"http://backend.userland.com/rss2\" \
            xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><r:channel><r:title>T</r:title><!-- <r:x> -->\
            <r:item><r:title>One</r:title><dc:creator>A</dc:creator>\
            <r:description><![CDATA[<r:keep/> a < b]]></r:description></r:item></r:channel></r:rss>";
        assert_eq!(
            unprefix_feed_elements(Cow::Borrowed(doc)),
            "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:r=\"http://backend.userland.com/rss2\" \
            xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>T</title><!-- <r:x> -->\
            <item><title>One</title><dc:creator>A</dc:creator>\
            <description><![CDATA[<r:keep/> a < b]]></description></item></channel></rss>"
        );
        for doc in [
            "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><atom:link href=\"x\"/></channel></rss>",
            "<atom:feed xmlns:atom=\"http://www.w3.org/2005/Atom\"><atom:entry/></atom:feed>",
        ] {
            assert!(
                matches!(unprefix_feed_elements(Cow::Borrowed(doc)), Cow::Borrowed(_)),
                "{doc}"
            );
        }
    }

    #[test]
    fn a_fault_costs_its_element_not_the_feed() {
        let doc = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>T</title>\
            <item><title>One</title><media:content url=\"http://e.com/1.jpg\"><media:description/></media:content></item>\
            <item><title>Two</title><link>http://e.com/2</link></item>\
            <item><title>Three</title><author>Jean Dupont \u{ab}jean@example.com\u{bb}</author></item>\
            </channel></rss>";
        assert!(parse(doc).is_err());
        let loose = read_entries(doc, &parse).unwrap();
        let titles: Vec<String> = loose
            .feed
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect();
        assert_eq!(titles, ["One", "Two", "Three"]);
        assert_eq!(loose.kept, [0, 1, 2]);
        assert_eq!(loose.feed.title.unwrap().content, "T");
        // the empty element went, the image stayed
        assert_eq!(loose.feed.entries[0].media.len(), 1);
        assert_eq!(loose.notes.len(), 2, "{:?}", loose.notes);
        assert!(
            loose.notes[0].starts_with("entry 1 (\"One\"): empty <media:description> left out"),
            "{:?}",
            loose.notes
        );
        assert!(
            loose.notes[1].starts_with("entry 3 (\"Three\"): <author> left out"),
            "{:?}",
            loose.notes
        );
    }

    #[test]
    fn rdf_is_read_entry_by_entry_too() {
        let doc = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\" \
            xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>T</title></channel>\
            <item><title>One</title><link>http://e.com/1</link><dc:creator>A \u{ab}a@e.com\u{bb}</dc:creator></item>\
            <item><title>Two</title><link>http://e.com/2</link></item></rdf:RDF>";
        assert!(parse(doc).is_err());
        let loose = read_entries(doc, &parse).unwrap();
        assert_eq!(loose.feed.entries.len(), 2, "{:?}", loose.notes);
        assert_eq!(loose.feed.title.unwrap().content, "T");
    }

    #[test]
    fn repairs_stop_at_a_budget() {
        let bad = "<author>A \u{ab}a@b.example\u{bb}</author>";
        let items: String = (0..60)
            .map(|i| {
                format!(
                    "<item><title>{i}</title><a/><b/><c/><d/><e/><f/><g/><h/><i/>{bad}{bad}</item>"
                )
            })
            .collect();
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>T</title>{items}<item><title>ok</title></item></channel></rss>"
        );
        let tries = Cell::new(0);
        let counting = |d: &str| {
            tries.set(tries.get() + 1);
            parse(d)
        };
        let loose = read_entries(&doc, &counting).unwrap();
        assert_eq!(loose.feed.entries.len(), 1);
        // one parse per entry and the feed, and the budget of retries
        assert!(tries.get() <= 62 + MAX_RETRIES, "{}", tries.get());
        assert!(loose.notes.last().unwrap().contains("more faults than"));
    }

    #[test]
    fn an_unreadable_entry_is_left_out_and_said() {
        // two faults in one entry: no one element explains it
        let bad = "<author>Jean Dupont \u{ab}jean@example.com\u{bb}</author>";
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>T</title>\
            <item><title>One</title></item>\
            <item><title>Two</title>{bad}{bad}</item></channel></rss>"
        );
        let loose = read_entries(&doc, &parse).unwrap();
        assert_eq!(loose.feed.entries.len(), 1);
        assert_eq!(loose.kept, [0]);
        assert_eq!(
            loose.notes,
            ["entry 2 (\"Two\"): left out, unreadable (panic)"]
        );
        assert!(outline("no xml here").is_none());
        // entries are children of the root or the channel, not deeper
        let o =
            outline("<rss><channel><item><item/></item><x><item/></x></channel></rss>").unwrap();
        assert_eq!(o.entries.len(), 1);
        assert_eq!(o.opening, "<rss><channel>");
        assert_eq!(o.closing, "</channel></rss>");
    }

    #[test]
    fn atom_text_types_become_the_words_atom_10_uses() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="text/plain">F</title>
<subtitle type='TEXT/HTML'>S</subtitle><link rel="alternate" type="text/html" href="/"/>
<rights type="">R</rights>
<entry><title type="HTML">T</title><summary type=" application/xhtml+xml "><div>s</div></summary>
<content type="text/html">c</content><content type="Application/XHTML+xml"><div>c</div></content>
<atom:rights type="text/plain">r</atom:rights><media:title type="plain">m</media:title></entry></feed>"#;
        let got = atom_text_types(Cow::Borrowed(doc));
        let want = doc
            .replace(r#"<title type="text/plain">"#, r#"<title type="text">"#)
            .replace("type='TEXT/HTML'", "type='html'")
            .replace(r#"<title type="HTML">"#, r#"<title type="html">"#)
            .replace(r#"<rights type="">"#, r#"<rights type="text">"#)
            .replace(r#"" application/xhtml+xml ""#, r#""xhtml""#)
            .replace(r#""Application/XHTML+xml""#, r#""xhtml""#)
            .replace(
                r#"<atom:rights type="text/plain">"#,
                r#"<atom:rights type="text">"#,
            );
        // a link's MIME type, content's `text/html` (feed-rs reads it) and other namespaces'
        // elements stay
        assert_eq!(got, want);
        assert!(got.contains(r#"<link rel="alternate" type="text/html""#));
        assert!(got.contains(r#"<content type="text/html">"#));
        assert!(got.contains(r#"<media:title type="plain">"#));
    }

    #[test]
    fn documents_without_such_types_are_not_copied() {
        for doc in [
            // already the words; a MIME type on a link only
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">F</title><link type="text/html" href="/"/></feed>"#,
            // not Atom: RSS has no text constructs
            r#"<rss version="2.0"><channel><title type="text/plain">F</title></channel></rss>"#,
            // `type=` in text, not in a tag; and as part of another attribute's name
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>a type="text/plain" b</title><summary mediatype="HTML">s</summary></feed>"#,
        ] {
            assert!(
                matches!(atom_text_types(Cow::Borrowed(doc)), Cow::Borrowed(_)),
                "{doc}"
            );
        }
    }

    #[test]
    fn namespaces_spelled_otherwise_are_spelled_as_feed_rs_knows_them() {
        let doc = r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/DTDs/Podcast-1.0.dtd"
 xmlns:media = 'http://search.yahoo.com/mrss' xmlns:dc="https://purl.org/dc/elements/1.1/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:x="http://example.com/mrss"><channel/></rss>"#;
        let want = doc
            .replace(
                "http://www.itunes.com/DTDs/Podcast-1.0.dtd",
                "http://www.itunes.com/dtds/podcast-1.0.dtd",
            )
            .replace(
                "'http://search.yahoo.com/mrss'",
                "'http://search.yahoo.com/mrss/'",
            )
            .replace("https://purl.org/dc/", "http://purl.org/dc/");
        assert_eq!(canonical_namespaces(Cow::Borrowed(doc)), want);
        // spelled right already, or unknown: not copied
        for doc in [
            r#"<rss xmlns:media="http://search.yahoo.com/mrss/" xmlns:x="http://e.com/Podcast"><channel/></rss>"#,
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>xmlns="http://purl.org/DC/elements/1.1" in text</title></feed>"#,
        ] {
            let got = canonical_namespaces(Cow::Borrowed(doc));
            assert!(matches!(got, Cow::Borrowed(_)), "{doc}");
        }
    }
}
