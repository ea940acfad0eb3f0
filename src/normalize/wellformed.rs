//! Sanitizing well-formed HTML in one pass, with the very bytes ammonia would give; pure.
//!
//! Most feed bodies are HTML whose tree is its tags: paragraphs, links, emphasis, lists and
//! images, each closed where it was opened. For such a body html5ever's tree holds the tags
//! as written, so the sanitized body can be written straight from the tokens: allowed
//! elements and attributes only (ammonia's own policy, read from its `Builder`), URLs checked
//! and made absolute by the same `url` calls ammonia makes, text and attribute values escaped
//! as html5ever's serializer escapes them. Ammonia parses the body into a DOM, cleans it and
//! serializes it again: 36% of the parse threads' time on a first poll.
//!
//! Anything where the HTML parser would repair, move or reinterpret returns `None`, and the
//! caller hands the body to ammonia as before: a tag that an HTML tree builder closes or
//! reopens by itself (`<p><div>`, `<b><i></b>`, a second `<a>` inside one), a tag the policy
//! drops or treats specially (tables, `<pre>`, ruby, scripts, unknown tags), a character
//! reference with legacy rules (`&copy` without `;`), a comment, doctype or `<` of an unusual
//! shape, a carriage return or NUL. Each case follows the HTML standard's tokenizer and "in
//! body" insertion mode; where following it exactly would take more than a line, the body
//! goes to ammonia. The tests check the output equal to ammonia's on random documents built
//! to reach every branch, and on every body of the shared corpus.

use std::collections::{HashMap, HashSet};

use markup5ever::data::NAMED_ENTITIES;
use url::Url;

/// What may stay: ammonia's allowed tags (those handled here), attributes, URL schemes and
/// link `rel`, read from the `Builder` the slow path uses, so the two cannot drift apart.
#[derive(Debug)]
pub struct Policy {
    tags: HashSet<&'static str>,
    generic: HashSet<String>,
    attributes: HashMap<&'static str, HashSet<String>>,
    schemes: HashSet<String>,
    link_rel: Option<String>,
}

impl Policy {
    /// The policy of `builder`, for the tags handled here. The builder must use none of
    /// ammonia's options that rewrite attribute values (classes, styles, filters, id
    /// prefixes, set values): this sanitizer does not apply them.
    pub fn of(builder: &ammonia::Builder) -> Policy {
        let allowed = builder.clone_tags();
        let tag_attributes = builder.clone_tag_attributes();
        let tags: HashSet<&'static str> = KINDS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| allowed.contains(name))
            .collect();
        let attributes = tags
            .iter()
            .map(|tag| {
                let names = tag_attributes
                    .get(tag)
                    .map(|set| set.iter().map(|a| a.to_string()).collect())
                    .unwrap_or_default();
                (*tag, names)
            })
            .collect();
        Policy {
            tags,
            generic: builder
                .clone_generic_attributes()
                .iter()
                .map(|a| a.to_string())
                .collect(),
            attributes,
            schemes: builder
                .clone_url_schemes()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            link_rel: builder.get_link_rel().map(str::to_string),
        }
    }
}

/// How the HTML standard's "in body" insertion mode treats a start tag, for the elements
/// handled here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// "address, article, aside, blockquote, ..., ul": closes an open `<p>` first.
    Block,
    /// h1-h6: closes an open `<p>`; a heading directly in a heading is closed.
    Heading,
    /// li, and dd/dt: closes an open item of its own sort, then an open `<p>`.
    ListItem,
    DefItem,
    /// hr: void, closes an open `<p>`.
    Rule,
    /// a, b, code, em, ...: on the list of active formatting elements.
    Formatting,
    /// br, img, wbr: void.
    Void,
    /// Any other: inserted where it stands.
    Phrase,
}

const KINDS: &[(&str, Kind)] = &[
    ("article", Kind::Block),
    ("aside", Kind::Block),
    ("blockquote", Kind::Block),
    ("center", Kind::Block),
    ("details", Kind::Block),
    ("div", Kind::Block),
    ("dl", Kind::Block),
    ("figcaption", Kind::Block),
    ("figure", Kind::Block),
    ("footer", Kind::Block),
    ("header", Kind::Block),
    ("hgroup", Kind::Block),
    ("nav", Kind::Block),
    ("ol", Kind::Block),
    ("p", Kind::Block),
    ("summary", Kind::Block),
    ("ul", Kind::Block),
    ("h1", Kind::Heading),
    ("h2", Kind::Heading),
    ("h3", Kind::Heading),
    ("h4", Kind::Heading),
    ("h5", Kind::Heading),
    ("h6", Kind::Heading),
    ("li", Kind::ListItem),
    ("dd", Kind::DefItem),
    ("dt", Kind::DefItem),
    ("hr", Kind::Rule),
    ("a", Kind::Formatting),
    ("b", Kind::Formatting),
    ("code", Kind::Formatting),
    ("em", Kind::Formatting),
    ("i", Kind::Formatting),
    ("s", Kind::Formatting),
    ("small", Kind::Formatting),
    ("strike", Kind::Formatting),
    ("strong", Kind::Formatting),
    ("tt", Kind::Formatting),
    ("u", Kind::Formatting),
    ("br", Kind::Void),
    ("img", Kind::Void),
    ("wbr", Kind::Void),
    ("abbr", Kind::Phrase),
    ("acronym", Kind::Phrase),
    ("bdi", Kind::Phrase),
    ("bdo", Kind::Phrase),
    ("cite", Kind::Phrase),
    ("data", Kind::Phrase),
    ("del", Kind::Phrase),
    ("dfn", Kind::Phrase),
    ("ins", Kind::Phrase),
    ("kbd", Kind::Phrase),
    ("mark", Kind::Phrase),
    ("q", Kind::Phrase),
    ("samp", Kind::Phrase),
    ("span", Kind::Phrase),
    ("sub", Kind::Phrase),
    ("sup", Kind::Phrase),
    ("time", Kind::Phrase),
    ("var", Kind::Phrase),
];

/// The element `name` (lowercase) and its kind, if handled here and allowed.
fn element(name: &str, policy: &Policy) -> Option<(&'static str, Kind)> {
    let (name, kind) = KINDS.iter().find(|(n, _)| *n == name)?;
    policy.tags.contains(name).then_some((*name, *kind))
}

/// Elements the li/dd/dt steps stop at ("special" in the standard, but not address, div or
/// p); the fragment's root is one too.
fn stops_item_search(name: &str, kind: Kind) -> bool {
    match kind {
        Kind::Block => !matches!(name, "div" | "p"),
        Kind::Heading | Kind::ListItem | Kind::DefItem => true,
        _ => false,
    }
}

/// Nesting beyond which the body goes to ammonia (which has its own limit before it).
const MAX_DEPTH: usize = 512;

/// The open elements, and the output written so far.
struct Tree<'p> {
    policy: &'p Policy,
    out: String,
    open: Vec<(&'static str, Kind)>,
    /// Open `<p>` and `<a>` elements (no scope boundary is handled here, so "in button
    /// scope" is "open").
    open_p: usize,
    open_a: usize,
}

impl Tree<'_> {
    fn current(&self) -> Option<&'static str> {
        self.open.last().map(|(name, _)| *name)
    }

    fn push(&mut self, name: &'static str, kind: Kind) -> Option<()> {
        if self.open.len() >= MAX_DEPTH {
            return None;
        }
        self.open.push((name, kind));
        self.open_p += usize::from(name == "p");
        self.open_a += usize::from(name == "a");
        Some(())
    }

    fn pop(&mut self) {
        if let Some((name, _)) = self.open.pop() {
            self.open_p -= usize::from(name == "p");
            self.open_a -= usize::from(name == "a");
            self.out.push_str("</");
            self.out.push_str(name);
            self.out.push('>');
        }
    }

    /// "Close a p element" if one is open: only when it is the current node (else the
    /// elements inside it would be closed, and formatting ones reopened later).
    fn close_p(&mut self) -> Option<()> {
        if self.open_p > 0 {
            if self.current() != Some("p") {
                return None;
            }
            self.pop();
        }
        Some(())
    }

    /// What a start tag does to the open elements before it is inserted; `None` where
    /// html5ever would do more than this handles.
    fn before_start(&mut self, name: &str, kind: Kind) -> Option<()> {
        match kind {
            Kind::Block | Kind::Rule => self.close_p(),
            Kind::Heading => {
                self.close_p()?;
                match self.open.last() {
                    Some((_, Kind::Heading)) => None,
                    _ => Some(()),
                }
            }
            Kind::ListItem | Kind::DefItem => {
                let closes = |n: &str| match kind {
                    Kind::ListItem => n == "li",
                    _ => matches!(n, "dd" | "dt"),
                };
                for (at, (n, k)) in self.open.iter().enumerate().rev() {
                    if closes(n) {
                        if at + 1 != self.open.len() {
                            return None;
                        }
                        self.pop();
                        break;
                    }
                    if stops_item_search(n, *k) {
                        break;
                    }
                }
                self.close_p()
            }
            Kind::Formatting => (name != "a" || self.open_a == 0).then_some(()),
            Kind::Void | Kind::Phrase => Some(()),
        }
    }

    /// An end tag: the current node closed, after the elements whose end tags are implied
    /// where the standard generates them; `None` for anything else (an end tag that
    /// html5ever ignores, or that closes more than the current node).
    fn end(&mut self, name: &str, kind: Kind) -> Option<()> {
        match kind {
            Kind::Void | Kind::Rule => return None,
            Kind::Block | Kind::Heading | Kind::ListItem | Kind::DefItem => {
                // "generate implied end tags" (except for the element's own sort)
                while let Some(current) = self.current() {
                    let implied = matches!(current, "p" | "li" | "dd" | "dt");
                    if !implied || current == name {
                        break;
                    }
                    self.pop();
                }
            }
            Kind::Formatting | Kind::Phrase => {}
        }
        (self.current() == Some(name)).then(|| self.pop())
    }
}

/// `html` sanitized as ammonia would with `policy` and relative URLs resolved against
/// `base`, or `None` where the body is not written here (see the module's doc).
pub fn sanitize(html: &str, base: &Url, policy: &Policy) -> Option<String> {
    if html.starts_with('\u{feff}') {
        // the tokenizer drops a leading byte order mark
        return None;
    }
    let mut tree = Tree {
        policy,
        out: String::with_capacity(html.len() + html.len() / 4),
        open: Vec::new(),
        open_p: 0,
        open_a: 0,
    };
    let b = html.as_bytes();
    let mut at = 0;
    while at < b.len() {
        let special = b[at..]
            .iter()
            .position(|c| matches!(c, b'<' | b'&' | b'\r' | b'\0'))
            .map_or(b.len(), |p| at + p);
        escape_into(&mut tree.out, &html[at..special], false);
        at = special;
        if at == b.len() {
            break;
        }
        let next = match b[at] {
            b'&' => char_ref(&html[at..]).map(|(text, len)| {
                escape_into(&mut tree.out, text.as_str(), false);
                at + len
            }),
            b'<' => markup(html, at, base, &mut tree),
            _ => None, // CR (newlines normalized) or NUL (dropped)
        };
        at = next?;
    }
    while !tree.open.is_empty() {
        tree.pop();
    }
    Some(tree.out)
}

/// The markup that starts at `at` (a `<`), written to `tree`; where it ends.
fn markup(html: &str, at: usize, base: &Url, tree: &mut Tree) -> Option<usize> {
    let b = html.as_bytes();
    match b.get(at + 1) {
        Some(c) if c.is_ascii_alphabetic() => start_tag(html, at + 1, base, tree),
        Some(b'/') if b.get(at + 2).is_some_and(u8::is_ascii_alphabetic) => {
            let (name, mut end) = tag_name(html, at + 2)?;
            end += b[end..].iter().take_while(|c| is_space(**c)).count();
            if b.get(end) != Some(&b'>') {
                return None; // attributes on an end tag, or not closed
            }
            let (name, kind) = element(&name, tree.policy)?;
            tree.end(name, kind)?;
            Some(end + 1)
        }
        Some(b'!') => comment(html, at),
        // `<` before a space or digit is text ("a < b", "<3")
        Some(c) if is_space(*c) || c.is_ascii_digit() => {
            tree.out.push_str("&lt;");
            Some(at + 1)
        }
        None => {
            tree.out.push_str("&lt;");
            Some(at + 1)
        }
        _ => None,
    }
}

/// A comment from `at` (dropped, as ammonia drops them): `<!--`, text, `-->`, in the plain
/// shape only.
fn comment(html: &str, at: usize) -> Option<usize> {
    let body = html[at..].strip_prefix("<!--")?;
    if body.starts_with('>') || body.starts_with("->") {
        return None;
    }
    let end = body.find("-->")?;
    if body[..end].contains("--!") || body[..end].ends_with('-') {
        return None;
    }
    Some(at + 4 + end + 3)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0C')
}

/// A tag's name from `at`, lowercased, and where it ends; `None` unless it is letters and
/// digits ending at a space, `/` or `>`.
fn tag_name(html: &str, at: usize) -> Option<(String, usize)> {
    let b = html.as_bytes();
    let len = b[at..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let end = at + len;
    match b.get(end) {
        Some(c) if is_space(*c) || *c == b'/' || *c == b'>' => {
            Some((html[at..end].to_ascii_lowercase(), end))
        }
        _ => None,
    }
}

/// A start tag whose name starts at `at`, written to `tree`; where it ends.
fn start_tag(html: &str, at: usize, base: &Url, tree: &mut Tree) -> Option<usize> {
    let b = html.as_bytes();
    let (name, mut i) = tag_name(html, at)?;
    let (name, kind) = element(&name, tree.policy)?;
    let mut attrs: Vec<(String, String)> = Vec::new();
    loop {
        i += b[i..].iter().take_while(|c| is_space(**c)).count();
        match *b.get(i)? {
            b'>' => {
                i += 1;
                break;
            }
            b'/' => {
                // self-closing: acknowledged for void elements, ignored for the rest
                if b.get(i + 1) != Some(&b'>') {
                    return None;
                }
                i += 2;
                break;
            }
            _ => {}
        }
        let name_len = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.'))
            .count();
        if name_len == 0 {
            return None;
        }
        let attr = html[i..i + name_len].to_ascii_lowercase();
        i += name_len;
        let mut j = i + b[i..].iter().take_while(|c| is_space(**c)).count();
        let value = if b.get(j) == Some(&b'=') {
            j += 1;
            j += b[j..].iter().take_while(|c| is_space(**c)).count();
            let (value, end) = attribute_value(html, j)?;
            i = end;
            value
        } else {
            // no value: the spaces seen belong before the next attribute
            match b.get(i) {
                Some(c) if is_space(*c) || *c == b'/' || *c == b'>' => {}
                _ => return None,
            }
            String::new()
        };
        if !attrs.iter().any(|(n, _)| *n == attr) {
            attrs.push((attr, value));
        }
    }
    tree.before_start(name, kind)?;
    write_start(&mut tree.out, name, &attrs, base, tree.policy)?;
    if !matches!(kind, Kind::Void | Kind::Rule) {
        tree.push(name, kind)?;
    }
    Some(i)
}

/// An attribute's value from `at` (after `=` and spaces), decoded, and where it ends.
fn attribute_value(html: &str, at: usize) -> Option<(String, usize)> {
    let b = html.as_bytes();
    let (from, to, end) = match *b.get(at)? {
        q @ (b'"' | b'\'') => {
            let len = b[at + 1..].iter().position(|c| *c == q)?;
            let end = at + 1 + len + 1;
            // the next attribute must be set apart
            match b.get(end) {
                Some(c) if is_space(*c) || *c == b'/' || *c == b'>' => {}
                _ => return None,
            }
            (at + 1, at + 1 + len, end)
        }
        _ => {
            let len = b[at..]
                .iter()
                .take_while(|c| !is_space(**c) && **c != b'>')
                .count();
            let raw = &b[at..at + len];
            if len == 0
                || raw
                    .iter()
                    .any(|c| matches!(c, b'"' | b'\'' | b'<' | b'=' | b'`'))
            {
                return None;
            }
            (at, at + len, at + len)
        }
    };
    let raw = &html[from..to];
    if raw.contains(['\r', '\0']) {
        return None;
    }
    if !raw.contains('&') {
        return Some((raw.to_string(), end));
    }
    let mut value = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        value.push_str(&rest[..amp]);
        let (text, len) = char_ref(&rest[amp..])?;
        value.push_str(text.as_str());
        rest = &rest[amp + len..];
    }
    value.push_str(rest);
    Some((value, end))
}

/// Writes a start tag: its allowed attributes in their order, URLs checked and resolved
/// as ammonia does, then a link's `rel`. `None` where ammonia would reorder them (a
/// relative URL that does not resolve is removed by swapping).
fn write_start(
    out: &mut String,
    name: &str,
    attrs: &[(String, String)],
    base: &Url,
    policy: &Policy,
) -> Option<()> {
    out.push('<');
    out.push_str(name);
    for (attr, value) in attrs {
        let allowed = policy.generic.contains(attr)
            || policy
                .attributes
                .get(name)
                .is_some_and(|set| set.contains(attr));
        if !allowed {
            continue;
        }
        let resolved;
        let value = if is_url_attribute(name, attr) {
            match Url::parse(value) {
                Ok(url) if policy.schemes.contains(url.scheme()) => value.as_str(),
                Ok(_) => continue,
                Err(url::ParseError::RelativeUrlWithoutBase) => {
                    resolved = base.join(value).ok()?;
                    resolved.as_str()
                }
                Err(_) => continue,
            }
        } else {
            value.as_str()
        };
        out.push(' ');
        out.push_str(attr);
        out.push_str("=\"");
        escape_into(out, value, true);
        out.push('"');
    }
    if name == "a" {
        if let Some(rel) = &policy.link_rel {
            out.push_str(" rel=\"");
            escape_into(out, rel, true);
            out.push('"');
        }
    }
    out.push('>');
    Some(())
}

/// Attributes ammonia reads as URLs, for the elements handled here.
fn is_url_attribute(element: &str, attr: &str) -> bool {
    matches!(attr, "href" | "xlink:href" | "src") || (element == "a" && attr == "ping")
}

/// Escapes as html5ever's serializer does: `&`, `<`, `>` and no-break spaces always, `"`
/// in attribute values.
fn escape_into(out: &mut String, s: &str, attribute: bool) {
    let b = s.as_bytes();
    let mut from = 0;
    for (i, c) in b.iter().enumerate() {
        let escaped = match c {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' if attribute => "&quot;",
            // U+00A0 (0xC2 is only ever a lead byte, 0xA0 a continuation)
            0xC2 if b.get(i + 1) == Some(&0xA0) => "&nbsp;",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(escaped);
        from = i + if *c == 0xC2 { 2 } else { 1 };
    }
    out.push_str(&s[from..]);
}

/// What a character reference decodes to: up to two characters, or a lone `&`.
struct Decoded {
    buf: [u8; 8],
    len: usize,
}

impl Decoded {
    fn of(chars: &[char]) -> Decoded {
        let mut d = Decoded {
            buf: [0; 8],
            len: 0,
        };
        for c in chars {
            d.len += c.encode_utf8(&mut d.buf[d.len..]).len();
        }
        d
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

/// The character reference at the start of `s` (which starts with `&`) and its length in
/// bytes: a named one ending in `;`, a decimal or hexadecimal one ending in `;` for a
/// character the standard takes as it is, or a `&` that starts none. `None` for the rest:
/// a legacy name without `;` (`&copy`, `&amp=`), whose meaning depends on what follows and
/// where, and numbers the standard remaps or replaces.
fn char_ref(s: &str) -> Option<(Decoded, usize)> {
    let b = s.as_bytes();
    let lone = Some((Decoded::of(&['&']), 1));
    match b.get(1) {
        Some(b'#') => {
            let hex = matches!(b.get(2), Some(b'x' | b'X'));
            let from = if hex { 3 } else { 2 };
            let digits = b[from..]
                .iter()
                .take_while(|c| {
                    if hex {
                        c.is_ascii_hexdigit()
                    } else {
                        c.is_ascii_digit()
                    }
                })
                .count();
            if digits == 0 || digits > 8 || b.get(from + digits) != Some(&b';') {
                return None;
            }
            let n = u32::from_str_radix(&s[from..from + digits], if hex { 16 } else { 10 }).ok()?;
            let taken_as_is = matches!(n, 0x09 | 0x0A | 0x0C)
                || (n >= 0x20 && !(0x7F..=0x9F).contains(&n))
                    && !(0xFDD0..=0xFDEF).contains(&n)
                    && n & 0xFFFE != 0xFFFE;
            let c = char::from_u32(n).filter(|_| taken_as_is)?;
            Some((Decoded::of(&[c]), from + digits + 1))
        }
        Some(c) if c.is_ascii_alphanumeric() => {
            let run = b[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if b.get(1 + run) == Some(&b';') {
                if let Some(&(first, second)) = NAMED_ENTITIES.get(&s[1..run + 2]) {
                    if first != 0 {
                        let chars: Vec<char> = [first, second]
                            .into_iter()
                            .filter(|c| *c != 0)
                            .filter_map(char::from_u32)
                            .collect();
                        return Some((Decoded::of(&chars), run + 2));
                    }
                }
            }
            // a legacy name (no `;`) at the start of the run is read by rules of its own
            let legacy = (1..=run).any(|len| {
                NAMED_ENTITIES
                    .get(&s[1..1 + len])
                    .is_some_and(|(first, _)| *first != 0)
            });
            if legacy { None } else { lone }
        }
        _ => lone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    fn base() -> Url {
        Url::parse("https://news.example/world/2024/story.html").unwrap()
    }

    fn fast(html: &str) -> Option<String> {
        crate::normalize::POLICY.with(|p| sanitize(html, &base(), p))
    }

    fn ammonia(html: &str) -> String {
        crate::normalize::SANITIZER.with_borrow_mut(|b| {
            b.url_relative(ammonia::UrlRelative::RewriteWithBase(base()))
                .clean(html)
                .to_string()
        })
    }

    /// The fast path's answer, checked against ammonia's where it gives one.
    fn check(html: &str) -> bool {
        match fast(html) {
            Some(out) => {
                assert_eq!(out, ammonia(html), "for {html:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn a_typical_body_is_written_from_its_tags() {
        let html = "<p>Police <A HREF='/tech/8?a=1&amp;b=2' class=x onclick=\"go()\">coach</A> \
            &mdash; <strong>merger</strong>&nbsp;&#8217;s <em>appeal</em>.</p>\n\
            <p><img src=\"//cdn.example/a.jpg\" alt='A &quot;big&quot; day' width=640 \
            style=\"x\"/><br>caf\u{e9} &amp; <q cite=\"javascript:x\">co</q></p>\
            <ul><li>one<li>two</ul><!-- tracking -->";
        let out = fast(html).expect("handled here");
        assert_eq!(out, ammonia(html));
        assert!(out.contains(
            "<a href=\"https://news.example/tech/8?a=1&amp;b=2\" rel=\"noopener noreferrer nofollow\">"
        ));
        assert!(out.contains("<li>one</li><li>two</li>"), "{out}");
        assert!(!out.contains("onclick") && !out.contains("style") && !out.contains("cite"));
    }

    #[test]
    fn what_the_html_parser_would_repair_goes_to_ammonia() {
        for html in [
            "<p><b>a<div>b</div>",   // a block closes the paragraph and the b around it
            "<b>a<i>b</b>c</i>",     // misnested: the parser reopens <i>
            "<a href=x>a<a href=y>", // a link in a link
            "<table><tr><td>x",      // tables move text out
            "<pre>\ncode</pre>",     // its first newline is dropped
            "<p>&copy 2024</p>",     // a legacy reference without `;`
            "<section>x</section>",  // not an allowed tag: its tag goes, its text stays
            "<script>x</script>",    // removed with its content
            "<p>a\r\nb</p>",         // newlines normalized
            "<p>&#128;</p>",         // remapped to U+20AC
            "<p>a</span></p>",       // an end tag the parser ignores
            "</p>",                  // an end tag that makes an element
            "<li>a<span><li>b",      // an item closed from inside another element
            "<br></br>",             // an end tag read as a start tag
            "<!DOCTYPE html><p>x",
            "<a href=\"x\"title=\"y\">z</a>",
        ] {
            assert_eq!(fast(html), None, "{html:?}");
        }
    }

    /// Documents built to reach every branch: trees of the tags handled here with text,
    /// attributes and character references of every sort, some with a share of unhandled
    /// tags, odd pieces (comments, stray `<`, legacy references, CR) and edits that unbalance
    /// them; the output must be ammonia's byte for byte wherever the fast path gives one.
    #[test]
    fn equal_to_ammonia_on_random_documents() {
        let mut rng = Rng::new(0x5eed_5a17_1e55);
        let (mut handled, mut total) = (0, 0);
        for n in 0..8000 {
            // a third clean, a third with some odd pieces, a third with many
            let odd = [0, 4, 25][n % 3];
            let mut doc = String::new();
            tree(&mut rng, odd, &mut doc, &[]);
            if odd > 0 && rng.below(3) == 0 {
                mutate(&mut rng, &mut doc);
            }
            total += 1;
            let ok = check(&doc);
            handled += usize::from(ok);
        }
        eprintln!("{handled} of {total} random documents sanitized without ammonia");
        assert!(
            handled * 3 > total,
            "{handled} of {total}: the test reaches too little"
        );
        assert!(
            handled * 3 < total * 2,
            "{handled} of {total}: too few fall back"
        );
    }

    const BLOCKS: &[&str] = &[
        "p",
        "div",
        "blockquote",
        "ul",
        "ol",
        "h2",
        "h3",
        "figure",
        "figcaption",
        "dl",
        "center",
        "details",
        "summary",
        "aside",
        "nav",
        "header",
        "footer",
        "article",
        "hgroup",
        "li",
        "dt",
        "dd",
    ];
    const INLINE: &[&str] = &[
        "a", "b", "i", "em", "strong", "code", "span", "small", "sub", "sup", "abbr", "cite", "q",
        "mark", "del", "ins", "s", "u", "tt", "strike", "time", "kbd", "var", "samp", "dfn", "bdi",
        "bdo", "data", "acronym",
    ];
    const VOIDS: &[&str] = &["br", "img", "wbr", "hr"];
    /// Tags the fast path leaves to ammonia.
    const ODD_TAGS: &[&str] = &[
        "section", "table", "tr", "td", "pre", "form", "main", "font", "big", "nobr", "label",
        "ruby", "rt", "script", "style", "svg", "math", "iframe", "input", "area", "embed",
        "source", "textarea", "select", "option", "button", "object", "template", "xmp",
    ];
    const TEXT: &[&str] = &[
        "word ",
        "news ",
        " ",
        "\n",
        "\t",
        "caf\u{e9} ",
        "\u{3b1}\u{3b2} ",
        "\u{1F600}",
        "\u{a0}",
        "&amp;",
        "&lt;",
        "&gt;",
        "&quot;",
        "&nbsp;",
        "&copy;",
        "&mdash;",
        "&hellip;",
        "&#8217;",
        "&#x2019;",
        "&#X27;",
        "&#9;",
        "&#x1F600;",
        "&fjlig;",
        "&NotNestedLessLess;",
        "&notin;",
        "&AMP;",
        "&amp;amp;",
        "& ",
        "&;",
        "&foo;",
        "&foo",
        "&#xFFFD;",
        "<3",
        "a < b",
        ">",
        "\"",
        "'",
        "=",
        "`",
        "\u{2028}",
        "\u{202E}",
        "\u{c}",
    ];
    const ODD: &[&str] = &[
        "\r\n",
        "\0",
        "\u{feff}",
        "&",
        "&#",
        "&#x;",
        "&#65",
        "&#0;",
        "&#128;",
        "&#xD800;",
        "&#1114112;",
        "&#x7F;",
        "&#xFFFE;",
        "&copy",
        "&copyx;",
        "&amp",
        "&notit;",
        "&ampx",
        "<!-- c -->",
        "<!---->",
        "<!-->",
        "<!--->",
        "<!-- a -- b -->",
        "<!-- x --!>",
        "<!-- <p> -->",
        "<!-- a --->",
        "<!DOCTYPE html>",
        "<?php x ?>",
        "<![CDATA[x]]>",
        "</ p>",
        "</>",
        "<p/>",
        "<br/>",
        "<br />",
        "</br>",
        "<img src=x/>",
        "</p>",
        "</div>",
        "</li>",
        "</b>",
        "</a>",
        "</span>",
        "<",
        "<a",
        "<p class=\"x",
        "<p =x>",
        "<p a=>",
        "<P>",
        "</P >",
        "<p\tid=x>",
        "<!--",
        "<a href=\"x\"title=y>",
        "<li>",
        "<dd>",
        "<h2>",
        "<a>",
        "<p>",
    ];
    const ATTRS: &[&str] = &[
        "href",
        "HREF",
        "src",
        "title",
        "alt",
        "class",
        "style",
        "onclick",
        "lang",
        "width",
        "height",
        "loading",
        "id",
        "rel",
        "hreflang",
        "cite",
        "dir",
        "datetime",
        "start",
        "xlink:href",
        "ping",
        "data-x",
        "align",
        "summary",
    ];
    const VALUES: &[&str] = &[
        "http://example.com/a?b=1&amp;c=2",
        "/rel/path",
        "rel?x=1&y=2",
        "javascript:alert(1)",
        "JaVaScRiPt:x",
        "mailto:a@b.c",
        "//cdn.example/x.jpg",
        "",
        "http://[::1",
        "https://ex.com/\u{fc}",
        " http://x.com ",
        "data:text/html,x",
        "#frag",
        "ftp://x/y",
        "&#106;avascript:1",
        "a &quot;b&quot; <c> & d",
        "x\u{a0}y",
        "640",
        "lazy",
        "en",
        "rtl",
        "a'b",
        "a\"b",
        "&copy;",
        "http://a.com/?q=&lt;",
        "../up",
        "?only",
        "tel:+1",
        "https://x.com/a b",
        "\t/tab",
        "%zz",
        "http://a.com:99999/",
    ];
    const ODD_VALUES: &[&str] = &["&copy", "&notin", "http://a.com/?a=1&b=2&copy=3", "a\rb"];

    fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
        from[rng.below(from.len())]
    }

    /// `usual` most of the time, `odd` one time in a hundred for each `odd_percent`.
    fn pick_or<'a>(
        rng: &mut Rng,
        odd_percent: usize,
        usual: &[&'a str],
        odd: &[&'a str],
    ) -> &'a str {
        if rng.below(100) < odd_percent {
            pick(rng, odd)
        } else {
            pick(rng, usual)
        }
    }

    fn attributes(rng: &mut Rng, odd: usize, doc: &mut String) {
        for _ in 0..rng.below(4) {
            doc.push(' ');
            doc.push_str(pick(rng, ATTRS));
            let value = pick_or(rng, odd, VALUES, ODD_VALUES);
            match rng.below(5) {
                0 => {}
                1 => doc.push_str(&format!("='{}'", value.replace('\'', ""))),
                2 if !value.is_empty()
                    && !value.contains([' ', '\t', '"', '\'', '<', '=', '`', '>']) =>
                {
                    doc.push_str(&format!("={value}"))
                }
                _ => doc.push_str(&format!("=\"{}\"", value.replace('"', ""))),
            }
        }
        if rng.below(8) == 0 {
            doc.push_str(" /");
        }
    }

    /// Children for an element `parent` (empty at the top): what the HTML allows there,
    /// most of the time.
    fn tree(rng: &mut Rng, odd: usize, doc: &mut String, parents: &[&str]) {
        let (parent, depth) = (parents.last().copied().unwrap_or(""), parents.len());
        let phrasing = INLINE.contains(&parent) || matches!(parent, "p" | "h2" | "h3");
        let in_link = parents.contains(&"a");
        for _ in 0..1 + rng.below(if depth == 0 { 6 } else { 4 }) {
            match rng.below(20) {
                0..=6 => {
                    for _ in 0..rng.below(6) {
                        doc.push_str(pick_or(rng, odd, TEXT, ODD));
                    }
                }
                7 | 8 => {
                    let void = match parent {
                        _ if phrasing => pick(rng, &["br", "img", "wbr"]),
                        _ => pick(rng, VOIDS),
                    };
                    doc.push('<');
                    doc.push_str(pick_or(rng, odd, &[void], ODD_TAGS));
                    attributes(rng, odd, doc);
                    doc.push('>');
                }
                _ => {
                    let usual: &[&str] = match parent {
                        "ul" | "ol" => &["li"],
                        "dl" => &["dt", "dd"],
                        _ if phrasing && in_link => &INLINE[1..],
                        _ if phrasing => INLINE,
                        _ if rng.below(3) == 0 && depth < 6 => &BLOCKS[..BLOCKS.len() - 3],
                        _ => INLINE,
                    };
                    let name = pick_or(rng, odd, usual, ODD_TAGS);
                    let tag = if rng.below(10) == 0 {
                        name.to_ascii_uppercase()
                    } else {
                        name.to_string()
                    };
                    doc.push('<');
                    doc.push_str(&tag);
                    attributes(rng, odd, doc);
                    doc.push('>');
                    if depth < 8 {
                        tree(rng, odd, doc, &[parents, &[name]].concat());
                    }
                    if rng.below(100) >= odd {
                        doc.push_str(&format!("</{tag}>"));
                    }
                }
            }
        }
    }

    /// One edit: an odd piece or a stray end tag put in, or a stretch cut out.
    fn mutate(rng: &mut Rng, doc: &mut String) {
        let at = |rng: &mut Rng, doc: &String| {
            let mut i = rng.below(doc.len() + 1);
            while !doc.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let i = at(rng, doc);
        match rng.below(3) {
            0 => doc.insert_str(i, pick(rng, ODD)),
            1 => {
                let tag = format!("</{}>", pick(rng, INLINE));
                doc.insert_str(i, &tag)
            }
            _ => {
                let j = at(rng, doc);
                let (from, to) = (i.min(j), i.max(j));
                doc.replace_range(from..to, "");
            }
        }
    }

    /// Every body of every feed in the shared corpus, when it is there: the same output as
    /// ammonia's wherever the fast path gives one.
    #[test]
    fn equal_to_ammonia_on_the_corpus() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if !dir.is_dir() {
            eprintln!("skipping: no corpus at {}", dir.display());
            return;
        }
        let mut files = vec![dir];
        let (mut handled, mut total) = (0, 0);
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let Ok(feed) = feed_rs::parser::parse(&std::fs::read(&path).unwrap()[..]) else {
                continue;
            };
            for e in &feed.entries {
                let content = e.content.as_ref().and_then(|c| c.body.as_deref());
                let summary = e.summary.as_ref().map(|s| s.content.as_str());
                for raw in content.into_iter().chain(summary) {
                    let html = crate::normalize::clean::strip_clutter(raw);
                    total += 1;
                    let ok = check(&html);
                    handled += usize::from(ok);
                }
            }
        }
        eprintln!("{handled} of {total} corpus bodies sanitized without ammonia");
    }
}
