//! OPML, the outline format feed readers exchange subscription lists in: read leniently (any
//! case of attribute names, HTML entities, folders, `category` attributes, missing titles), as
//! Miniflux, FreshRSS, newsboat and NetNewsWire write it; written as OPML 2.0 with one folder
//! per tag. Pure: no I/O.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};

use crate::names::tag_slug;

/// Why a document could not be read as OPML.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// The XML is broken.
    #[error("not valid OPML: line {line}: {message}")]
    Xml {
        /// 1-based line where reading stopped.
        line: usize,
        /// What the XML reader said.
        message: String,
    },
    /// Well-formed, but the root element is not `<opml>`.
    #[error("not an OPML document: the root element is <{0}>, not <opml>")]
    NotOpml(String),
}

/// One subscription found in an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The feed's title (`title`, else `text`), if it has one.
    pub title: Option<String>,
    /// `xmlUrl`, as written.
    pub xml_url: String,
    /// `htmlUrl`, if any.
    pub html_url: Option<String>,
    /// Its folders, outermost first, then its `category` entries, as tags.
    pub tags: Vec<String>,
    /// `text`, if any (newswire's export writes the feed's name there).
    pub text: Option<String>,
}

/// One feed to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFeed {
    /// Its name, used as text and title (so that importing the export gives the same name).
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Its tags: it goes in the folder of the first; all are written in `category`.
    pub tags: Vec<String>,
    /// The site's home page, if known.
    pub html_url: Option<String>,
    /// Its display title (`[[feed]] title`), written as `title`; else the name is.
    pub title: Option<String>,
}

/// The attributes of an element, names lowercased (local part only), values unescaped.
fn attributes(e: &BytesStart) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut attrs = e.attributes();
    attrs.with_checks(false);
    for a in attrs.flatten() {
        let key = a.key.local_name().as_ref().to_ascii_lowercase();
        let value = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            // HTML entities (&eacute; &nbsp;) that XML does not define: exporters write them
            Err(_) => html_escape::decode_html_entities(&a.value).into_owned(),
        };
        out.push((key, value.trim().to_string()));
    }
    out
}

fn get<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Every outline with an `xmlUrl`, in document order.
pub fn parse(bytes: &[u8]) -> Result<Vec<Outline>, OpmlError> {
    let decoded = crate::parse::decode(bytes, None);
    // a byte order mark after the XML declaration is still there: the reader skips it and
    // counts its positions from after it, so drop it here to keep the two texts the same
    let text = decoded.strip_prefix('\u{feff}').unwrap_or(&decoded);
    let mut reader = quick_xml::Reader::from_str(text);
    // per open <outline>: the tag it gives its children, if it is a folder
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut out = Vec::new();
    let mut root_seen = false;
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                if e.local_name().as_ref().eq_ignore_ascii_case("outline") {
                    folders.pop();
                }
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(err) => {
                // counted in bytes, which needs no character boundary: slicing the text at
                // the reader's position panicked when a byte order mark threw it off
                // (found by fuzzing: fuzz/fuzz_targets/opml.rs)
                let at = (reader.error_position() as usize).min(text.len());
                return Err(OpmlError::Xml {
                    line: text.as_bytes()[..at]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count()
                        + 1,
                    message: err.to_string(),
                });
            }
        };
        let name = e.local_name().as_ref().to_ascii_lowercase();
        if !root_seen {
            root_seen = true;
            if name != "opml" {
                return Err(OpmlError::NotOpml(name));
            }
            continue;
        }
        if name != "outline" {
            continue;
        }
        let attrs = attributes(&e);
        let title = get(&attrs, "title").or_else(|| get(&attrs, "text"));
        match get(&attrs, "xmlurl") {
            Some(url) => {
                let mut tags: Vec<String> = folders.iter().flatten().cloned().collect();
                if let Some(cats) = get(&attrs, "category") {
                    tags.extend(
                        cats.split([',', '/'])
                            .map(tag_slug)
                            .filter(|t| !t.is_empty()),
                    );
                }
                let mut unique: Vec<String> = Vec::new();
                for t in tags {
                    if !unique.contains(&t) {
                        unique.push(t);
                    }
                }
                out.push(Outline {
                    title: title.map(str::to_string),
                    xml_url: url.to_string(),
                    html_url: get(&attrs, "htmlurl").map(str::to_string),
                    tags: unique,
                    text: get(&attrs, "text").map(str::to_string),
                });
                if !empty {
                    folders.push(None);
                }
            }
            None if !empty => {
                let folder = get(&attrs, "text")
                    .or_else(|| get(&attrs, "title"))
                    .map(tag_slug)
                    .filter(|t| !t.is_empty());
                folders.push(folder);
            }
            None => {}
        }
    }
    if !root_seen {
        return Err(OpmlError::NotOpml(String::new()));
    }
    Ok(out)
}

fn esc(s: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn feed_outline(f: &ExportFeed, indent: &str) -> String {
    let mut s = format!(
        "{indent}<outline type=\"rss\" text=\"{n}\" title=\"{t}\" xmlUrl=\"{u}\"",
        n = esc(&f.name),
        t = esc(f.title.as_deref().unwrap_or(&f.name)),
        u = esc(&f.url)
    );
    if let Some(h) = &f.html_url {
        s.push_str(&format!(" htmlUrl=\"{}\"", esc(h)));
    }
    if f.tags.len() > 1 {
        s.push_str(&format!(" category=\"{}\"", esc(&f.tags.join(","))));
    }
    s.push_str("/>\n");
    s
}

/// An OPML 2.0 document titled `title`: untagged feeds at the top, then one folder per tag
/// (in order of first use) holding the feeds whose first tag it is. A feed with several tags
/// lists them all in `category`, so that importing the export gives the same tags.
pub fn render(title: &str, feeds: &[ExportFeed]) -> String {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    s.push_str(&format!(
        "  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        esc(title)
    ));
    for f in feeds.iter().filter(|f| f.tags.is_empty()) {
        s.push_str(&feed_outline(f, "    "));
    }
    let mut folders: Vec<&str> = Vec::new();
    for f in feeds {
        if let Some(t) = f.tags.first() {
            if !folders.contains(&t.as_str()) {
                folders.push(t);
            }
        }
    }
    for folder in folders {
        s.push_str(&format!(
            "    <outline text=\"{t}\" title=\"{t}\">\n",
            t = esc(folder)
        ));
        for f in feeds
            .iter()
            .filter(|f| f.tags.first().map(String::as_str) == Some(folder))
        {
            s.push_str(&feed_outline(f, "      "));
        }
        s.push_str("    </outline>\n");
    }
    s.push_str("  </body>\n</opml>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_categories_and_odd_spellings() {
        let doc = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<OPML version=\"1.0\"><head/><body>\
            <outline text=\"Science &amp; Tech\">\
              <outline text=\"Deep\" title=\"Deep\"><outline xmlurl=\"https://a.example/rss\" TEXT=\"A &eacute;t&#233;\"/></outline>\
              <outline type=\"rss\" xmlUrl=\"https://b.example/atom\" category=\"/News/World,Opinion\" htmlUrl=\"https://b.example/\"/>\
            </outline>\
            <outline text=\"empty folder\"/>\
            <outline xmlUrl=\"https://c.example/feed\" text=\"\" title=\"\"></outline>\
            </body></OPML>";
        let got = parse(doc.as_bytes()).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].title.as_deref(), Some("A été"));
        assert_eq!(got[0].tags, ["science-tech", "deep"]);
        assert_eq!(got[1].title, None);
        assert_eq!(got[1].tags, ["science-tech", "news", "world", "opinion"]);
        assert_eq!(got[1].html_url.as_deref(), Some("https://b.example/"));
        assert_eq!(got[2].tags, Vec::<String>::new());
        assert_eq!(got[2].xml_url, "https://c.example/feed");
    }

    #[test]
    fn not_opml() {
        assert!(matches!(
            parse(b"<rss><channel/></rss>"),
            Err(OpmlError::NotOpml(n)) if n == "rss"
        ));
        let e = parse(b"<opml>\n<body>\n<outline text='a'></body></opml>").unwrap_err();
        assert!(e.to_string().starts_with("not valid OPML: line 3"), "{e}");
        assert!(matches!(parse(b""), Err(OpmlError::NotOpml(_))));
    }

    #[test]
    fn byte_order_mark_after_the_declaration() {
        // found by fuzzing: the error's line was counted on a slice that ended inside the mark
        let e = parse(b"<?xml?>\xef\xbb\xbf\n<").unwrap_err();
        assert!(e.to_string().starts_with("not valid OPML: line 2"), "{e}");
        let ok = parse(b"<?xml version='1.0'?>\xef\xbb\xbf<opml><body><outline xmlUrl='https://e.com/f'/></body></opml>").unwrap();
        assert_eq!(ok[0].xml_url, "https://e.com/f");
    }

    #[test]
    fn render_then_parse_gives_the_same_feeds() {
        let feeds = vec![
            ExportFeed {
                name: "plain".into(),
                url: "https://p.example/feed?a=1&b=2".into(),
                tags: vec![],
                html_url: None,
                title: None,
            },
            ExportFeed {
                name: "gt".into(),
                url: "https://gt.example/rss".into(),
                tags: vec!["world".into(), "opinion".into()],
                html_url: Some("https://gt.example/".into()),
                title: None,
            },
            ExportFeed {
                name: "op".into(),
                url: "https://op.example/rss".into(),
                tags: vec!["opinion".into()],
                html_url: None,
                title: None,
            },
        ];
        let doc = render("news & more", &feeds);
        assert!(doc.contains("<title>news &amp; more</title>"), "{doc}");
        assert!(doc.contains("xmlUrl=\"https://p.example/feed?a=1&amp;b=2\""));
        let back = parse(doc.as_bytes()).unwrap();
        let mut back: Vec<(String, String, Vec<String>)> = back
            .into_iter()
            .map(|o| (o.title.unwrap(), o.xml_url, o.tags))
            .collect();
        back.sort();
        let mut want: Vec<(String, String, Vec<String>)> =
            feeds.into_iter().map(|f| (f.name, f.url, f.tags)).collect();
        want.sort();
        assert_eq!(back, want);
    }
}
