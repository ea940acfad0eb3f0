//! The checker of tests/xss.rs: what counts as active content in a served document, found
//! with real parsers (html5ever through `scraper` for HTML, quick-xml for Atom and RSS,
//! serde_json for JSON Feed), never with string matching on the markup.
//!
//! Every finding is attributed to the probe markers (`XSSM-{placement}-{index}`) found in
//! the entry, story or sidebar line it was found in, so that the test can say which payload
//! in which place got through.

use std::collections::BTreeSet;

use scraper::{ElementRef, Html, Node};

/// Elements that a story's HTML may contain: ammonia's default set, which is what a feed
/// reader is expected to render. Anything else (script, style, iframe, object, embed, form,
/// input, button, base, meta, link, frame, applet, svg, math, ...) is a finding.
const ALLOWED_ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "area",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "map",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Elements that are never allowed in feed content (a deny list on top of the allow-list,
/// so that a mistake in one of the lists cannot let these through).
pub const DENIED_ELEMENTS: &[&str] = &[
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "button",
    "base",
    "meta",
    "link",
    "frame",
    "frameset",
    "applet",
    "svg",
    "math",
    "textarea",
    "select",
    "option",
    "noscript",
    "template",
    "portal",
    "param",
    "isindex",
    "keygen",
    "bgsound",
    "xmp",
    "plaintext",
    "noembed",
    "marquee",
    "audio",
    "video",
    "source",
    "track",
    "canvas",
    "dialog",
    "title",
    "head",
    "xml",
];

/// Attributes whose value is a URL (or a list of them: `srcset`).
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "srcset",
    "action",
    "formaction",
    "xlink:href",
    "poster",
    "background",
    "cite",
    "data",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "usemap",
    "codebase",
    "classid",
    "archive",
    "manifest",
    "icon",
    "ping",
    "profile",
];

/// Attributes that are active whatever their value.
const DENIED_ATTRIBUTES: &[&str] = &["style", "srcdoc", "http-equiv"];

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Schemes an HTML attribute may use (besides relative URLs).
pub const HTML_SCHEMES: &[&str] = &["http", "https", "mailto"];
/// Schemes a feed-level URL (Atom link href, RSS link and enclosure, JSON url...) may use.
pub const FEED_SCHEMES: &[&str] = &["http", "https"];

/// The probe markers in `text`: `(placement, index)` of each `XSSM-{placement}-{index}`.
pub fn markers(text: &str) -> BTreeSet<(String, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("xssm-").map(|i| i + from) {
        let rest = &lower[at + 5..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        let token = &rest[..len];
        if let Some((placement, index)) = token.rsplit_once('-') {
            if let Ok(i) = index.parse() {
                out.insert((placement.to_string(), i));
            }
        }
        from = at + 5;
    }
    out
}

/// Characters a title (or any plain-text field) must not carry: bidi embeddings, overrides
/// and isolates (U+202A-U+202E, U+2066-U+2069), C0 controls, DEL and C1 controls. `strict`
/// also forbids tab, line feed and carriage return (a title is one line).
pub fn bad_text_chars(s: &str, strict: bool) -> Vec<String> {
    s.chars()
        .filter(|&c| match c {
            '\t' | '\n' | '\r' => strict,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
            c => c.is_control(),
        })
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect()
}

/// Characters XML 1.0 does not allow in a document at all, even as character references.
pub fn xml_forbidden(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The scheme of `url` as a browser would find it after dropping whitespace and control
/// characters (and, to be strict, invisible format characters) anywhere in it; `None` for a
/// relative URL.
pub fn scheme_of(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|&c| {
            !(c.is_whitespace()
                || c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'))
        })
        .collect();
    let (head, _) = cleaned.split_once(':')?;
    let mut chars = head.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (first_ok && rest_ok).then(|| head.to_ascii_lowercase())
}

/// Why `url` is not acceptable: a scheme outside `allowed` (checked as given, with one more
/// round of HTML entity decoding and with percent-decoding, so that a second decoding by a
/// sloppy reader finds nothing either), or being relative when `relative_ok` is false.
pub fn url_problem(url: &str, allowed: &[&str], relative_ok: bool) -> Option<String> {
    let variants = [
        url.to_string(),
        html_escape::decode_html_entities(url).into_owned(),
        percent_decode(url),
    ];
    for v in &variants {
        match scheme_of(v) {
            Some(s) if !allowed.contains(&s.as_str()) => {
                return Some(format!("scheme {s}: in {url:?}"));
            }
            None if !relative_ok && v == url => {
                return Some(format!("not an absolute http(s) URL: {url:?}"));
            }
            _ => {}
        }
    }
    None
}

/// The findings of one element: its name, its attributes.
fn element_findings(el: &scraper::node::Element, allowed_here: bool) -> Vec<String> {
    let mut out = Vec::new();
    let name = el.name().to_ascii_lowercase();
    let ns: &str = &el.name.ns;
    if ns != XHTML_NS {
        out.push(format!("<{name}> in namespace {ns}"));
    } else if !allowed_here
        && (DENIED_ELEMENTS.contains(&name.as_str()) || !ALLOWED_ELEMENTS.contains(&name.as_str()))
    {
        out.push(format!("element <{name}>"));
    }
    for (q, value) in el.attrs.iter() {
        let local = q.local.to_string().to_ascii_lowercase();
        let full = match &q.prefix {
            Some(p) => format!("{}:{local}", &**p),
            None => local.clone(),
        };
        if local.starts_with("on") || full.starts_with("on") {
            out.push(format!("<{name} {full}=…> event handler"));
        }
        if DENIED_ATTRIBUTES.contains(&local.as_str()) {
            out.push(format!("<{name} {full}=…>"));
        }
        if URL_ATTRIBUTES.contains(&local.as_str()) || URL_ATTRIBUTES.contains(&full.as_str()) {
            let urls: Vec<&str> = if local == "srcset" {
                value
                    .split(',')
                    .filter_map(|c| c.split_whitespace().next())
                    .collect()
            } else {
                vec![&**value]
            };
            for u in urls {
                if let Some(p) = url_problem(u, HTML_SCHEMES, true) {
                    out.push(format!("<{name} {full}>: {p}"));
                }
            }
        }
    }
    out
}

/// Findings in an HTML fragment (a story body, as a reader would parse it).
pub fn check_fragment(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let mut out = Vec::new();
    // from the root: html5ever also leaves its context element (a <body>) in the arena
    for node in doc.tree.root().descendants() {
        if let Node::Element(el) = node.value() {
            // html5ever's fragment parser wraps the fragment in an <html> element
            let is_root = node.parent().is_some_and(|p| p.value().is_fragment());
            out.extend(element_findings(el, is_root && el.name() == "html"));
        }
    }
    out
}

/// The page's own elements that feed content may never produce: its head, and the search
/// form in its header.
fn page_chrome(el: ElementRef) -> bool {
    let name = el.value().name();
    let parent = el.parent().and_then(ElementRef::wrap);
    let parent_is = |n: &str, class: Option<&str>| {
        parent.is_some_and(|p| {
            p.value().name() == n && class.is_none_or(|c| p.value().classes().any(|x| x == c))
        })
    };
    match name {
        "html" | "head" | "body" => parent.is_none() || parent_is("html", None),
        "meta" | "title" | "link" | "style" => parent_is("head", None),
        "form" => el.value().classes().any(|c| c == "search") && parent_is("header", Some("top")),
        "input" | "button" => parent_is("form", Some("search")),
        _ => false,
    }
}

/// Elements the page itself is made of, besides story content.
const PAGE_ELEMENTS: &[&str] = &[
    "header",
    "main",
    "aside",
    "nav",
    "article",
    "figure",
    "figcaption",
    "time",
    "h1",
    "h2",
    "h3",
];

/// A finding on the page, with the markers of the story or sidebar line it is in.
pub struct PageFinding {
    /// What is wrong.
    pub what: String,
    /// The probes of the enclosing `<article>` or `<li>` (empty: the page itself).
    pub markers: BTreeSet<(String, usize)>,
}

fn subtree_markers(el: ElementRef) -> BTreeSet<(String, usize)> {
    let mut s: String = el.text().collect();
    for d in el.descendent_elements() {
        for (_, v) in d.value().attrs() {
            s.push(' ');
            s.push_str(v);
        }
    }
    markers(&s)
}

/// Findings in the whole page: its head and form must be exactly the template's (eight
/// head elements: three meta, title, three alternate links, one style; one search form),
/// and everything else is held to the story rules. Titles (story headings, feed names in
/// the sidebar and in story sources) must carry no control or bidi characters, and no text
/// on the page any bidi override or control character.
pub fn check_page(html: &str) -> (Vec<PageFinding>, BTreeSet<(String, usize)>) {
    let doc = Html::parse_document(html);
    let mut out: Vec<PageFinding> = Vec::new();
    let mut seen = BTreeSet::new();
    let page = |what: String| PageFinding {
        what,
        markers: BTreeSet::new(),
    };
    // the head is the template's, exactly
    let head: Vec<ElementRef> = doc
        .root_element()
        .child_elements()
        .filter(|e| e.value().name() == "head")
        .collect();
    let mut head_names: Vec<String> = head
        .iter()
        .flat_map(|h| h.child_elements())
        .map(|e| {
            let v = e.value();
            match v.name() {
                "meta" => format!(
                    "meta {}",
                    v.attr("charset")
                        .map(|c| format!("charset={c}"))
                        .or_else(|| v.attr("name").map(str::to_string))
                        .unwrap_or_default()
                ),
                "link" => format!(
                    "link {} {}",
                    v.attr("rel").unwrap_or_default(),
                    v.attr("href").is_some_and(|h| h.starts_with('/'))
                ),
                n => n.to_string(),
            }
        })
        .collect();
    head_names.sort();
    let expected = [
        "link alternate true",
        "link alternate true",
        "link alternate true",
        "meta charset=utf-8",
        "meta referrer",
        "meta viewport",
        "style",
        "title",
    ];
    if head_names != expected {
        out.push(page(format!(
            "the <head> is not the template's: {head_names:?}"
        )));
    }
    let forms = doc
        .tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "form")
        .count();
    if forms != 1 {
        out.push(page(format!(
            "{forms} forms on the page (the template has one)"
        )));
    }
    for node in doc.tree.root().descendants() {
        let enclosing = || {
            node.ancestors()
                .filter_map(ElementRef::wrap)
                .find(|a| matches!(a.value().name(), "article" | "li"))
                .map(subtree_markers)
                .unwrap_or_default()
        };
        match node.value() {
            Node::Element(el) => {
                let er = ElementRef::wrap(node).expect("an element");
                let name = el.name();
                let allowed = page_chrome(er) || PAGE_ELEMENTS.contains(&name);
                let mut findings = element_findings(el, allowed);
                if matches!(name, "h3") || (name == "a" && in_meta_or_sidebar(er)) {
                    let text: String = er.text().collect();
                    let bad = bad_text_chars(&text, true);
                    if !bad.is_empty() {
                        findings.push(format!("title {text:?} carries {bad:?}"));
                    }
                }
                if name == "article" {
                    seen.extend(subtree_markers(er));
                }
                for what in findings {
                    out.push(PageFinding {
                        what,
                        markers: enclosing(),
                    });
                }
            }
            Node::Text(t) => {
                let bad = bad_text_chars(t, false);
                if !bad.is_empty() {
                    out.push(PageFinding {
                        what: format!("text {:?} carries {bad:?}", &**t),
                        markers: enclosing(),
                    });
                }
            }
            _ => {}
        }
    }
    (out, seen)
}

fn in_meta_or_sidebar(a: ElementRef) -> bool {
    a.ancestors().filter_map(ElementRef::wrap).any(|p| {
        let v = p.value();
        v.name() == "aside" || v.classes().any(|c| c == "meta")
    })
}

/// What one served document showed.
#[derive(Default)]
pub struct DocReport {
    /// Each finding, with the probe markers of the entry it was found in (empty: found
    /// outside any entry).
    pub findings: Vec<(BTreeSet<(String, usize)>, String)>,
    /// Findings that only count if a reader treats RSS titles as HTML (some do): reported,
    /// not failed.
    pub advisory: Vec<(BTreeSet<(String, usize)>, String)>,
    /// The markers of every entry in the document.
    pub seen: BTreeSet<(String, usize)>,
    /// Entries (items, stories) checked.
    pub entries: usize,
    /// The next page's URL, if the document links to one.
    pub next: Option<String>,
}

impl DocReport {
    fn broken(what: String) -> DocReport {
        DocReport {
            findings: vec![(BTreeSet::new(), what)],
            ..Default::default()
        }
    }
}

/// One element of an XML document, as the checker needs it.
pub struct XElement {
    /// Qualified name, as written (`atom:link`).
    pub name: String,
    /// Attributes, qualified names as written, values entity-decoded and normalized.
    pub attrs: Vec<(String, String)>,
    /// Children in order.
    pub kids: Vec<XKid>,
    /// Byte range of the element in the document, and of its content.
    pub outer: std::ops::Range<usize>,
    /// Byte range of the content (between the start and end tags).
    pub inner: std::ops::Range<usize>,
}

/// A child of an [`XElement`].
pub enum XKid {
    /// An element.
    El(XElement),
    /// Text, entities and CDATA decoded.
    Text(String),
}

impl XElement {
    /// The name without its prefix.
    pub fn local(&self) -> &str {
        self.name.rsplit_once(':').map_or(&self.name, |(_, l)| l)
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The element's own text (its text children, concatenated).
    pub fn text(&self) -> String {
        self.kids
            .iter()
            .filter_map(|k| match k {
                XKid::Text(t) => Some(t.as_str()),
                XKid::El(_) => None,
            })
            .collect()
    }

    /// Child elements.
    pub fn children(&self) -> impl Iterator<Item = &XElement> {
        self.kids.iter().filter_map(|k| match k {
            XKid::El(e) => Some(e),
            XKid::Text(_) => None,
        })
    }

    /// Every text and attribute value in the subtree, for finding markers.
    fn all_text(&self, out: &mut String) {
        for (_, v) in &self.attrs {
            out.push_str(v);
            out.push(' ');
        }
        for k in &self.kids {
            match k {
                XKid::Text(t) => out.push_str(t),
                XKid::El(e) => e.all_text(out),
            }
            out.push(' ');
        }
    }

    fn markers(&self) -> BTreeSet<(String, usize)> {
        let mut s = String::new();
        self.all_text(&mut s);
        markers(&s)
    }
}

/// Parses an XML document with quick-xml into [`XElement`]s (its root). Unknown entities
/// and mismatched end tags are errors.
pub fn parse_xml(doc: &str) -> Result<XElement, String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(doc);
    let start = |e: &BytesStart, at: usize| -> Result<XElement, String> {
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| format!("attribute at {at}: {err}"))?;
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| format!("attribute at {at}: {err}"))?;
            attrs.push((a.key.as_ref().to_string(), v.into_owned()));
        }
        Ok(XElement {
            name: e.name().as_ref().to_string(),
            attrs,
            kids: Vec::new(),
            outer: at..at,
            inner: at..at,
        })
    };
    let mut stack: Vec<XElement> = Vec::new();
    let mut root = None;
    let attach = |el: XElement, stack: &mut Vec<XElement>, root: &mut Option<XElement>| match stack
        .last_mut()
    {
        Some(p) => p.kids.push(XKid::El(el)),
        None => *root = Some(el),
    };
    let push_text = |t: String, stack: &mut Vec<XElement>| {
        if let Some(p) = stack.last_mut() {
            match p.kids.last_mut() {
                Some(XKid::Text(prev)) => prev.push_str(&t),
                _ => p.kids.push(XKid::Text(t)),
            }
        }
    };
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed at byte {before}: {e}"))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) => {
                let mut el = start(&e, before)?;
                el.inner = after..after;
                stack.push(el);
            }
            Event::Empty(e) => {
                let mut el = start(&e, before)?;
                el.outer = before..after;
                el.inner = after..after;
                attach(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                let mut el = stack.pop().ok_or("an end tag without a start")?;
                el.inner.end = before;
                el.outer.end = after;
                attach(el, &mut stack, &mut root);
            }
            Event::Text(t) => push_text(t.xml10_content().into_owned(), &mut stack),
            Event::CData(t) => push_text(t.xml10_content().into_owned(), &mut stack),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                push_text(c.to_string(), &mut stack);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("<{}> is not closed", stack[stack.len() - 1].name));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn text_finding(what: &str, text: &str, strict: bool) -> Option<String> {
    let bad = bad_text_chars(text, strict);
    (!bad.is_empty()).then(|| format!("{what} {text:?} carries {bad:?}"))
}

fn forbidden_chars(doc: &str, range: std::ops::Range<usize>) -> Option<String> {
    let bad: Vec<String> = doc[range]
        .chars()
        .filter(|&c| xml_forbidden(c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    (!bad.is_empty()).then(|| format!("characters XML forbids: {bad:?}"))
}

fn url_finding(what: &str, url: &str) -> Option<String> {
    url_problem(url, FEED_SCHEMES, false).map(|p| format!("{what}: {p}"))
}

/// Atom elements whose content is a text construct (RFC 4287 3.1).
const ATOM_TEXT: &[&str] = &["title", "subtitle", "summary", "content", "rights"];

fn atom_element(el: &XElement, doc: &str, out: &mut Vec<String>) {
    let local = el.local();
    if let Some(b) = el.attr("xml:base") {
        out.extend(url_finding(&format!("<{local} xml:base>"), b));
    }
    match local {
        "link" => out.extend(url_finding("<link href>", el.attr("href").unwrap_or(""))),
        "icon" | "logo" | "uri" => out.extend(url_finding(&format!("<{local}>"), &el.text())),
        "generator" => {
            if let Some(u) = el.attr("uri") {
                out.extend(url_finding("<generator uri>", u));
            }
        }
        "name" | "email" => out.extend(text_finding(&format!("<{local}>"), &el.text(), false)),
        "category" => {
            for a in ["term", "label"] {
                if let Some(v) = el.attr(a) {
                    out.extend(text_finding(&format!("<category {a}>"), v, false));
                }
            }
        }
        _ => {}
    }
    if ATOM_TEXT.contains(&local) {
        if let Some(src) = el.attr("src") {
            out.extend(url_finding(&format!("<{local} src>"), src));
        }
        let html = match el.attr("type").unwrap_or("text") {
            "html" => Some(el.text()),
            "xhtml" => Some(doc[el.inner.clone()].to_string()),
            t if t.contains("html") => Some(el.text()),
            _ => None,
        };
        match html {
            Some(h) => out.extend(
                check_fragment(&h)
                    .into_iter()
                    .map(|f| format!("<{local}> as HTML: {f}")),
            ),
            None => out.extend(text_finding(
                &format!("<{local}>"),
                &el.text(),
                local == "title",
            )),
        }
        return;
    }
    for k in el.children() {
        atom_element(k, doc, out);
    }
}

/// Checks a served Atom document: every entry's links, text constructs (HTML ones parsed
/// as HTML, as a reader does once it has unescaped them), people and categories; the same
/// for the feed's own elements.
pub fn check_atom(doc: &str) -> DocReport {
    let root = match parse_xml(doc) {
        Ok(r) => r,
        Err(e) => return DocReport::broken(format!("Atom: {e}")),
    };
    let mut r = DocReport::default();
    for el in root.children() {
        let mut f = Vec::new();
        atom_element(el, doc, &mut f);
        f.extend(forbidden_chars(doc, el.outer.clone()));
        let m = if el.local() == "entry" {
            r.entries += 1;
            let m = el.markers();
            r.seen.extend(m.iter().cloned());
            m
        } else {
            if el.local() == "link" && el.attr("rel") == Some("next") {
                r.next = el.attr("href").map(str::to_string);
            }
            BTreeSet::new()
        };
        r.findings.extend(f.into_iter().map(|f| (m.clone(), f)));
    }
    r
}

fn rss_element(el: &XElement, out: &mut Vec<String>, advisory: &mut Vec<String>) {
    let local = el.local();
    let plain = !el.name.contains(':');
    match local {
        "link" if plain => out.extend(url_finding("<link>", &el.text())),
        "link" => out.extend(url_finding(
            &format!("<{} href>", el.name),
            el.attr("href").unwrap_or(""),
        )),
        "comments" | "docs" | "url" => {
            out.extend(url_finding(&format!("<{local}>"), &el.text()));
        }
        "enclosure" | "content" | "thumbnail" | "player" => {
            if let Some(u) = el.attr("url") {
                out.extend(url_finding(&format!("<{} url>", el.name), u));
            }
        }
        "source" => {
            out.extend(url_finding("<source url>", el.attr("url").unwrap_or("")));
            out.extend(text_finding("<source>", &el.text(), true));
        }
        "guid" if el.attr("isPermaLink") != Some("false") => {
            out.extend(url_finding("<guid isPermaLink>", &el.text()));
        }
        "description" | "encoded" => {
            out.extend(
                check_fragment(&el.text())
                    .into_iter()
                    .map(|f| format!("<{}> as HTML: {f}", el.name)),
            );
            return;
        }
        "title" => {
            out.extend(text_finding("<title>", &el.text(), true));
            advisory.extend(
                check_fragment(&el.text())
                    .into_iter()
                    .map(|f| format!("<title> as HTML: {f}")),
            );
        }
        "category" | "creator" | "author" | "credit" | "name" => {
            out.extend(text_finding(&format!("<{}>", el.name), &el.text(), false));
        }
        _ => {}
    }
    for k in el.children() {
        rss_element(k, out, advisory);
    }
}

/// Checks a served RSS 2.0 document: links, guids that are permalinks, enclosure, source and
/// media URLs, the atom:links; descriptions and content:encoded parsed as HTML once
/// unescaped; titles and names as plain text.
pub fn check_rss(doc: &str) -> DocReport {
    let root = match parse_xml(doc) {
        Ok(r) => r,
        Err(e) => return DocReport::broken(format!("RSS: {e}")),
    };
    let mut r = DocReport::default();
    let Some(channel) = root.children().find(|c| c.local() == "channel") else {
        return DocReport::broken("RSS: no <channel>".into());
    };
    for el in channel.children() {
        let (mut f, mut adv) = (Vec::new(), Vec::new());
        rss_element(el, &mut f, &mut adv);
        f.extend(forbidden_chars(doc, el.outer.clone()));
        let m = if el.local() == "item" {
            r.entries += 1;
            let m = el.markers();
            r.seen.extend(m.iter().cloned());
            m
        } else {
            if el.name == "atom:link" && el.attr("rel") == Some("next") {
                r.next = el.attr("href").map(str::to_string);
            }
            BTreeSet::new()
        };
        r.findings.extend(f.into_iter().map(|f| (m.clone(), f)));
        r.advisory.extend(adv.into_iter().map(|f| (m.clone(), f)));
    }
    r
}

fn json_strings(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push(' ');
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

fn json_value(key: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => match key {
            "content_html" => out.extend(
                check_fragment(s)
                    .into_iter()
                    .map(|f| format!("content_html: {f}")),
            ),
            k if k.ends_with("url")
                || matches!(
                    k,
                    "link" | "image" | "banner_image" | "icon" | "favicon" | "avatar"
                ) =>
            {
                out.extend(url_finding(k, s));
            }
            "title" => out.extend(text_finding("title", s, true)),
            k => out.extend(text_finding(k, s, false)),
        },
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_value(key, v, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| json_value(k, v, out)),
        _ => {}
    }
}

/// Checks a served JSON Feed: `content_html` parsed as HTML; every URL-valued member (`url`,
/// `external_url`, `image`, `banner_image`, attachments, authors' `url` and `avatar`, the
/// feed's own URLs, the `_newswire` sources' links) http(s); titles and other strings free of
/// control and bidi characters.
pub fn check_json(doc: &str) -> DocReport {
    let v: serde_json::Value = match serde_json::from_str(doc) {
        Ok(v) => v,
        Err(e) => return DocReport::broken(format!("JSON: {e}")),
    };
    let mut r = DocReport::default();
    let Some(obj) = v.as_object() else {
        return DocReport::broken("JSON: not an object".into());
    };
    for (k, v) in obj {
        if k == "items" {
            for item in v.as_array().into_iter().flatten() {
                r.entries += 1;
                let mut s = String::new();
                json_strings(item, &mut s);
                let m = markers(&s);
                r.seen.extend(m.iter().cloned());
                let mut f = Vec::new();
                json_value("item", item, &mut f);
                r.findings.extend(f.into_iter().map(|f| (m.clone(), f)));
            }
        } else {
            let mut f = Vec::new();
            json_value(k, v, &mut f);
            r.findings
                .extend(f.into_iter().map(|f| (BTreeSet::new(), f)));
        }
    }
    r.next = obj
        .get("next_url")
        .and_then(|u| u.as_str())
        .map(str::to_string);
    r
}

/// Checks a served HTML page (see [`check_page`]).
pub fn check_html_page(html: &str) -> DocReport {
    let (findings, seen) = check_page(html);
    let doc = Html::parse_document(html);
    let next = doc
        .tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "a" && e.value().attr("rel") == Some("next"))
        .and_then(|e| e.value().attr("href").map(str::to_string));
    let entries = doc
        .tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "article")
        .count();
    DocReport {
        findings: findings.into_iter().map(|f| (f.markers, f.what)).collect(),
        advisory: Vec::new(),
        seen,
        entries,
        next,
    }
}
