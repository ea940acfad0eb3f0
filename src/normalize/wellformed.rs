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

use std::borrow::Cow;

use markup5ever::data::NAMED_ENTITIES;
use url::Url;

/// What may stay: ammonia's allowed tags (those handled here), attributes, URL schemes and
/// link `rel`, read from the `Builder` the slow path uses, so the two cannot drift apart.
#[derive(Debug)]
pub struct Policy {
    /// Every element handled here, sorted by name, for [`Element::named`] to find by a
    /// binary search (a linear search of [`KINDS`] and hashes of names cost 2% of a first
    /// poll's instructions).
    elements: Vec<Element>,
    /// The attributes each element may keep besides the generic ones, by [`Element::at`].
    attributes: Vec<Names>,
    generic: Names,
    schemes: Names,
    link_rel: Option<String>,
}

/// A few names, sorted: found by a binary search.
#[derive(Debug, Default)]
struct Names(Vec<String>);

impl Names {
    fn of<T: ToString>(names: impl IntoIterator<Item = T>) -> Names {
        let mut v: Vec<String> = names.into_iter().map(|n| n.to_string()).collect();
        v.sort_unstable();
        v.dedup();
        Names(v)
    }

    fn contains(&self, name: &str) -> bool {
        self.0.binary_search_by(|n| n.as_str().cmp(name)).is_ok()
    }
}

impl Policy {
    /// The policy of `builder`, for the tags handled here. The builder must use none of
    /// ammonia's options that rewrite attribute values (classes, styles, filters, id
    /// prefixes, set values): this sanitizer does not apply them.
    pub fn of(builder: &ammonia::Builder) -> Policy {
        let allowed = builder.clone_tags();
        let tag_attributes = builder.clone_tag_attributes();
        let clean_content = builder.clone_clean_content_tags();
        let mut kinds = KINDS.to_vec();
        kinds.sort_unstable_by_key(|(name, _)| *name);
        let elements: Vec<Element> = kinds
            .iter()
            .enumerate()
            .map(|(at, &(name, kind))| Element {
                name,
                kind,
                written: allowed.contains(name),
                cleaned: clean_content.contains(name),
                at,
            })
            .collect();
        let attributes = elements
            .iter()
            .map(|e| match tag_attributes.get(e.name) {
                Some(set) if e.written => Names::of(set.iter()),
                _ => Names::default(),
            })
            .collect();
        Policy {
            elements,
            attributes,
            generic: Names::of(builder.clone_generic_attributes().iter()),
            schemes: Names::of(builder.clone_url_schemes().iter()),
            link_rel: builder.get_link_rel().map(str::to_string),
        }
    }
}

/// How the HTML standard's "in body" insertion mode treats a tag, for the elements handled
/// here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// "address, article, aside, blockquote, ..., ul": closes an open `<p>` first.
    Block,
    /// pre: a block whose first newline is dropped.
    Pre,
    /// h1-h6: closes an open `<p>`; a heading directly in a heading is closed.
    Heading,
    /// li, and dd/dt: closes an open item of its own sort, then an open `<p>`.
    ListItem,
    DefItem,
    /// hr: void, closes an open `<p>`.
    Rule,
    /// a, b, code, em, ...: on the list of active formatting elements.
    Formatting,
    /// br, img, wbr, source, ...: void.
    Void,
    /// iframe, script, style: text up to their end tag.
    RawText,
    /// Any other: inserted where it stands.
    Phrase,
}

/// The elements handled here. Those the policy does not allow are handled too (ammonia
/// removes their tags and keeps what they hold), since their tags still shape the tree.
const KINDS: &[(&str, Kind)] = &[
    ("address", Kind::Block),
    ("article", Kind::Block),
    ("aside", Kind::Block),
    ("blockquote", Kind::Block),
    ("center", Kind::Block),
    ("details", Kind::Block),
    ("dir", Kind::Block),
    ("div", Kind::Block),
    ("dl", Kind::Block),
    ("fieldset", Kind::Block),
    ("figcaption", Kind::Block),
    ("figure", Kind::Block),
    ("footer", Kind::Block),
    ("header", Kind::Block),
    ("hgroup", Kind::Block),
    ("main", Kind::Block),
    ("menu", Kind::Block),
    ("nav", Kind::Block),
    ("ol", Kind::Block),
    ("p", Kind::Block),
    ("section", Kind::Block),
    ("summary", Kind::Block),
    ("ul", Kind::Block),
    ("pre", Kind::Pre),
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
    ("big", Kind::Formatting),
    ("code", Kind::Formatting),
    ("em", Kind::Formatting),
    ("font", Kind::Formatting),
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
    ("source", Kind::Void),
    ("track", Kind::Void),
    ("iframe", Kind::RawText),
    ("script", Kind::RawText),
    ("style", Kind::RawText),
    ("abbr", Kind::Phrase),
    ("acronym", Kind::Phrase),
    ("audio", Kind::Phrase),
    ("bdi", Kind::Phrase),
    ("bdo", Kind::Phrase),
    ("cite", Kind::Phrase),
    ("data", Kind::Phrase),
    ("del", Kind::Phrase),
    ("dfn", Kind::Phrase),
    ("ins", Kind::Phrase),
    ("kbd", Kind::Phrase),
    ("label", Kind::Phrase),
    ("mark", Kind::Phrase),
    ("picture", Kind::Phrase),
    ("q", Kind::Phrase),
    ("samp", Kind::Phrase),
    ("span", Kind::Phrase),
    ("sub", Kind::Phrase),
    ("sup", Kind::Phrase),
    ("time", Kind::Phrase),
    ("var", Kind::Phrase),
    ("video", Kind::Phrase),
];

/// An element handled here: its name (lowercase), kind, and whether its tags are written
/// (the policy allows it) or only its content (ammonia removes the tags).
#[derive(Debug, Clone, Copy)]
struct Element {
    name: &'static str,
    kind: Kind,
    written: bool,
    /// Removed with its content (ammonia's "clean content" tags).
    cleaned: bool,
    /// Its place in [`Policy::elements`] (and [`Policy::attributes`]).
    at: usize,
}

impl Element {
    /// The element `name` (lowercase), if handled here.
    fn named(name: &str, policy: &Policy) -> Option<Element> {
        let found = policy.elements.binary_search_by(|e| e.name.cmp(name));
        found.ok().map(|i| policy.elements[i])
    }

    /// "Special" in the standard (the end tag of an ordinary element stops there).
    fn special(&self) -> bool {
        matches!(
            self.kind,
            Kind::Block | Kind::Pre | Kind::Heading | Kind::ListItem | Kind::DefItem
        )
    }
}

/// Nesting beyond which the body goes to ammonia (which has its own limit before it).
const MAX_DEPTH: usize = 512;

/// The open elements, and the output written so far. Nothing is ever inserted anywhere but
/// at the current node, so writing a start tag when an element opens and its end tag when
/// it closes serializes the tree.
struct Tree<'p> {
    policy: &'p Policy,
    out: String,
    open: Vec<Element>,
    /// Open `<p>` and `<a>` elements (no scope boundary is handled here, so "in button
    /// scope" is "open").
    open_p: usize,
    open_a: usize,
}

impl Tree<'_> {
    fn current(&self) -> Option<&'static str> {
        self.open.last().map(|e| e.name)
    }

    /// Where the topmost open element that `is` says is, if any.
    fn position(&self, is: impl Fn(&Element) -> bool) -> Option<usize> {
        self.open.iter().rposition(is)
    }

    fn push(&mut self, e: Element) -> Option<()> {
        if self.open.len() >= MAX_DEPTH {
            return None;
        }
        self.open.push(e);
        self.open_p += usize::from(e.name == "p");
        self.open_a += usize::from(e.name == "a");
        Some(())
    }

    fn pop(&mut self) {
        if let Some(e) = self.open.pop() {
            self.open_p -= usize::from(e.name == "p");
            self.open_a -= usize::from(e.name == "a");
            if e.written {
                self.out.push_str("</");
                self.out.push_str(e.name);
                self.out.push('>');
            }
        }
    }

    /// Closes the open element at `at` and every one opened inside it; `None` if one of
    /// those is a formatting element (the parser would open it again at the next text).
    fn pop_to(&mut self, at: usize) -> Option<()> {
        if self.open[at + 1..]
            .iter()
            .any(|e| e.kind == Kind::Formatting)
        {
            return None;
        }
        while self.open.len() > at {
            self.pop();
        }
        Some(())
    }

    /// "Close a p element", if one is open.
    fn close_p(&mut self) -> Option<()> {
        match self.position(|e| e.name == "p") {
            Some(at) => self.pop_to(at),
            None => Some(()),
        }
    }

    /// What a start tag does to the open elements before it is inserted; `None` where
    /// html5ever would do more than this handles.
    fn before_start(&mut self, e: Element) -> Option<()> {
        match e.kind {
            Kind::Block | Kind::Pre | Kind::Rule => self.close_p(),
            Kind::Heading => {
                self.close_p()?;
                if self.open.last().is_some_and(|e| e.kind == Kind::Heading) {
                    self.pop();
                }
                Some(())
            }
            Kind::ListItem | Kind::DefItem => {
                // the nearest open item of the same sort is closed, unless a special
                // element other than address, div or p is nearer
                let same = |n: &str| match e.kind {
                    Kind::ListItem => n == "li",
                    _ => matches!(n, "dd" | "dt"),
                };
                let item = self
                    .position(|o| {
                        same(o.name) || (o.special() && !matches!(o.name, "address" | "div" | "p"))
                    })
                    .filter(|at| same(self.open[*at].name));
                if let Some(at) = item {
                    self.pop_to(at)?;
                }
                self.close_p()
            }
            Kind::Formatting => (e.name != "a" || self.open_a == 0).then_some(()),
            Kind::Void | Kind::RawText | Kind::Phrase => Some(()),
        }
    }

    /// An end tag, as the "in body" insertion mode takes it; `None` where it would do more
    /// than this handles.
    fn end(&mut self, e: Element) -> Option<()> {
        let found = match e.kind {
            Kind::Void if e.name == "br" => {
                // `</br>` is read as `<br>`
                if e.written {
                    self.out.push_str("<br>");
                }
                return Some(());
            }
            Kind::Void | Kind::Rule | Kind::RawText => return None,
            Kind::Block if e.name == "p" && self.open_p == 0 => {
                // a `</p>` with no paragraph open makes an empty one
                if e.written {
                    self.out.push_str("<p></p>");
                }
                return Some(());
            }
            Kind::Block | Kind::Pre | Kind::DefItem => self.position(|o| o.name == e.name),
            Kind::Heading => self.position(|o| o.kind == Kind::Heading),
            // in list item scope: not past a list
            Kind::ListItem => self
                .position(|o| matches!(o.name, "li" | "ul" | "ol"))
                .filter(|at| self.open[*at].name == "li"),
            Kind::Formatting => {
                // the adoption agency's simple case only
                return (self.current() == Some(e.name)).then(|| self.pop());
            }
            // not past a special element
            Kind::Phrase => self
                .position(|o| o.name == e.name || o.special())
                .filter(|at| self.open[*at].name == e.name),
        };
        match found {
            Some(at) => self.pop_to(at),
            None => Some(()), // nothing to close: ignored
        }
    }
}

/// `html` sanitized as ammonia would with `policy` and relative URLs resolved against
/// `base`, or `None` where the body is not written here (see the module's doc).
pub fn sanitize(html: &str, base: &Url, policy: &Policy) -> Option<String> {
    if html.starts_with('\u{feff}') {
        // the tokenizer drops a leading byte order mark
        return None;
    }
    // the input stream's newlines, as the standard preprocesses them
    let normalized;
    let html = if html.contains('\r') {
        normalized = html.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        html
    };
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
        let special = memchr::memchr3(b'<', b'&', b'\0', &b[at..]).map_or(b.len(), |p| at + p);
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
            _ => None, // NUL (dropped, or replaced)
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
            tree.end(Element::named(&name, tree.policy)?)?;
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
fn tag_name(html: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = html.as_bytes();
    let len = b[at..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let end = at + len;
    match b.get(end) {
        Some(c) if is_space(*c) || *c == b'/' || *c == b'>' => {
            Some((lowercase(&html[at..end]), end))
        }
        _ => None,
    }
}

/// `name` in lowercase: itself when it is already (most tag and attribute names are).
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// A start tag whose name starts at `at`, written to `tree`; where it ends.
fn start_tag(html: &str, at: usize, base: &Url, tree: &mut Tree) -> Option<usize> {
    let b = html.as_bytes();
    let (name, mut i) = tag_name(html, at)?;
    let e = Element::named(&name, tree.policy)?;
    let mut attrs: Vec<(Cow<str>, Cow<str>)> = Vec::new();
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
        let attr = lowercase(&html[i..i + name_len]);
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
            Cow::Borrowed("")
        };
        if !attrs.iter().any(|(n, _)| *n == attr) {
            attrs.push((attr, value));
        }
    }
    if e.kind != Kind::RawText && e.cleaned {
        return None; // removed with what it holds
    }
    tree.before_start(e)?;
    if e.written {
        if e.kind == Kind::RawText {
            return None; // its text would be written unescaped
        }
        write_start(&mut tree.out, e, &attrs, base, tree.policy)?;
    }
    match e.kind {
        Kind::Void | Kind::Rule => Some(i),
        Kind::RawText => raw_text(html, i, e, tree),
        Kind::Pre => {
            tree.push(e)?;
            match b.get(i) {
                // a newline right after the start tag is dropped, even a reference to one
                Some(b'\n') => Some(i + 1),
                Some(b'&') => None,
                _ => Some(i),
            }
        }
        _ => {
            tree.push(e)?;
            Some(i)
        }
    }
}

/// The text of a raw text element (iframe, script, style) from `at` to its end tag, which
/// the policy removes: the text is kept (escaped) unless the element is one whose content
/// goes too. Where its end is.
fn raw_text(html: &str, at: usize, e: Element, tree: &mut Tree) -> Option<usize> {
    let name = e.name;
    let b = html.as_bytes();
    let mut from = at;
    let end = loop {
        let close = from + html[from..].find("</")?;
        let after = close + 2 + name.len();
        if b.get(close + 2..after)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            match b.get(after) {
                Some(b'>') => break close,
                // an end tag with attributes or spaces: not read here
                Some(c) if is_space(*c) || *c == b'/' => return None,
                _ => {}
            }
        }
        from = close + 2;
    };
    let text = &html[at..end];
    if text.contains('\0') || (name == "script" && text.contains("<!--")) {
        // NUL replaced; a script's comment changes where it ends
        return None;
    }
    if !e.cleaned {
        escape_into(&mut tree.out, text, false);
    }
    Some(end + 2 + name.len() + 1)
}

/// An attribute's value from `at` (after `=` and spaces), decoded, and where it ends.
fn attribute_value(html: &str, at: usize) -> Option<(Cow<'_, str>, usize)> {
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
        return Some((Cow::Borrowed(raw), end));
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
    Some((Cow::Owned(value), end))
}

/// Writes a start tag: its allowed attributes in their order, URLs checked and resolved
/// as ammonia does, then a link's `rel`. `None` where ammonia would reorder them (a
/// relative URL that does not resolve is removed by swapping).
fn write_start(
    out: &mut String,
    e: Element,
    attrs: &[(Cow<str>, Cow<str>)],
    base: &Url,
    policy: &Policy,
) -> Option<()> {
    let name = e.name;
    out.push('<');
    out.push_str(name);
    let own = &policy.attributes[e.at];
    for (attr, value) in attrs {
        let allowed = policy.generic.contains(attr) || own.contains(attr);
        if !allowed {
            continue;
        }
        let resolved;
        let value = if is_url_attribute(name, attr) {
            match Url::parse(value) {
                Ok(url) if policy.schemes.contains(url.scheme()) => value.as_ref(),
                Ok(_) => continue,
                Err(url::ParseError::RelativeUrlWithoutBase) => {
                    resolved = base.join(value).ok()?;
                    resolved.as_str()
                }
                Err(_) => continue,
            }
        } else {
            value.as_ref()
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
    // the bytes that may be escaped, looked up rather than compared one by one
    const MAY: [bool; 256] = {
        let mut t = [false; 256];
        t[b'&' as usize] = true;
        t[b'<' as usize] = true;
        t[b'>' as usize] = true;
        t[b'"' as usize] = true;
        t[0xC2] = true;
        t
    };
    let b = s.as_bytes();
    let mut from = 0;
    for (i, c) in b.iter().enumerate() {
        if !MAY[usize::from(*c)] {
            continue;
        }
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
pub(crate) mod tests {
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
    fn every_element_handled_here_is_found_by_its_name_and_nothing_else_is() {
        crate::normalize::POLICY.with(|p| {
            for &(name, kind) in KINDS {
                let e = Element::named(name, p).unwrap_or_else(|| panic!("{name}"));
                assert_eq!((e.name, e.kind), (name, kind));
                assert_eq!(
                    KINDS.iter().filter(|(n, _)| *n == name).count(),
                    1,
                    "{name}"
                );
            }
            assert!(Element::named("p", p).is_some_and(|e| e.written));
            assert!(Element::named("script", p).is_some_and(|e| !e.written));
            for other in ["", "P", "pp", "blink", "zzz", "a ", "\u{e9}"] {
                assert!(Element::named(other, p).is_none(), "{other}");
            }
        });
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
    fn what_the_html_parser_repairs_simply_is_written_here_as_it_repairs_it() {
        for html in [
            "<p>a<div>b</div>",         // a block closes the paragraph around it
            "<p><span>a<div>b</div>",   // and the elements open in it
            "<ul><li>a<li>b</ul>",      // an item closes the one before
            "<li>a<span><li>b",         // from inside another element
            "<dl><dt>a<dd>b<dt>c</dl>", // terms and definitions alike
            "<h2>a<h3>b</h3>",          // a heading in a heading
            "<div><span>a</div>b",      // a block's end tag closes what it holds
            "<p>a</span></p>",          // an end tag with nothing to close is ignored
            "</p>",                     // a lone `</p>` makes an empty paragraph
            "a<br></br>b",              // `</br>` is a `<br>`
            "<pre>\ncode\n</pre>",      // a newline after `<pre>` is dropped
            "<p>a\r\nb\rc</p>",         // newlines normalized
            "<section><p>a</section>",  // tags removed, content kept
            "<font color=red>a</font>", // the same for a formatting element
            "<picture><source srcset=x><img src=/a.jpg></picture>",
            "<p>x<script>if (a < b) { y(\"</p>\") }</script>z</p>", // removed with its text
            "<style>p { color: red }</style>x",
            "<iframe src=\"https://v.example/1\">no frames &amp; <b></iframe>",
        ] {
            let out = fast(html).unwrap_or_else(|| panic!("{html:?} goes to ammonia"));
            assert_eq!(out, ammonia(html), "{html:?}");
        }
    }

    #[test]
    fn formatting_elements_nested_in_their_own_kind_are_as_ammonia_gives() {
        // past three alike, the parser's list of formatting elements forgets the oldest
        for html in [
            "<b><b><b><b>x</b></b></b></b>y",
            "<b><b><b><b>x</b>y</b>z</b></b>",
            "<em class=a><em class=a><em class=a><em class=a><em>x</em></em>y</em></em>",
            "<a href=/1>a</a><a href=/1>b</a><a href=/1>c</a><a href=/1>d</a>",
            "<b><i><b><i><b><i><b>x</b></i></b></i></b></i></b>",
        ] {
            assert!(check(html), "{html:?} goes to ammonia");
        }
    }

    #[test]
    fn what_the_html_parser_would_repair_otherwise_goes_to_ammonia() {
        for html in [
            "<p><b>a<div>b</div>",      // the b closed with the paragraph is reopened after
            "<b>a<i>b</b>c</i>",        // misnested: the parser reopens <i>
            "<a href=x>a<a href=y>",    // a link in a link
            "<table><tr><td>x",         // tables move text out
            "<pre>&#10;code</pre>",     // a newline by reference after `<pre>`
            "<p>&copy 2024</p>",        // a legacy reference without `;`
            "<p>&#128;</p>",            // remapped to U+20AC
            "<button>x</button>",       // a scope of its own
            "<my-widget>x</my-widget>", // custom elements
            "<script><!--<script>x</script>--></script>",
            "<!DOCTYPE html><p>x",
            "<a href=\"x\"title=\"y\">z</a>",
            "<p>a\0b</p>",
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
            let doc = random_document(&mut rng, n);
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

    /// The `n`th random document: a third clean, a third with some odd pieces, a third
    /// with many (see [`equal_to_ammonia_on_random_documents`]).
    pub(crate) fn random_document(rng: &mut Rng, n: usize) -> String {
        let odd = [0, 4, 25][n % 3];
        let mut doc = String::new();
        tree(rng, odd, &mut doc, &[]);
        if odd > 0 && rng.below(3) == 0 {
            mutate(rng, &mut doc);
        }
        doc
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
        "section",
        "main",
        "address",
        "pre",
        "li",
        "dt",
        "dd",
    ];
    const INLINE: &[&str] = &[
        "a", "b", "i", "em", "strong", "code", "span", "small", "sub", "sup", "abbr", "cite", "q",
        "mark", "del", "ins", "s", "u", "tt", "strike", "time", "kbd", "var", "samp", "dfn", "bdi",
        "bdo", "data", "acronym", "font", "big", "label", "picture", "video",
    ];
    const VOIDS: &[&str] = &["br", "img", "wbr", "hr", "source"];
    const RAW: &[&str] = &[
        "<iframe src=\"https://v.example/1\"></iframe>",
        "<IFRAME>a <b>&amp;</iframe>",
        "<script>var a = \"</p>\";</script>",
        "<script async src=/w.js></script>",
        "<style>p{}</style>",
        "<style></STYLE>",
    ];
    /// Tags the fast path leaves to ammonia.
    const ODD_TAGS: &[&str] = &[
        "table",
        "tr",
        "td",
        "form",
        "nobr",
        "ruby",
        "rt",
        "svg",
        "math",
        "input",
        "area",
        "embed",
        "textarea",
        "select",
        "option",
        "button",
        "object",
        "template",
        "xmp",
        "listing",
        "noscript",
        "my-widget",
        "dialog",
        "caption",
        "plaintext",
        "title",
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
        "<iframe></iframe >",
        "<iframe>",
        "<script><!-- x --></script>",
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
                0..=5 => {
                    for _ in 0..rng.below(6) {
                        doc.push_str(pick_or(rng, odd, TEXT, ODD));
                    }
                }
                6 => doc.push_str(pick(rng, RAW)),
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
        let Some(files) = crate::testing::corpus_files() else {
            return;
        };
        let (mut handled, mut total) = (0, 0);
        for path in files {
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
