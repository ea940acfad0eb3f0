//! Discovery: the hub and self URLs a feed advertises. Link headers come first; what they
//! leave out is looked for in the document (Atom `<link>`, RSS `<atom:link>`, an HTML-style
//! `<link rel="hub">`, JSON Feed `hubs` and `feed_url`). Pure: no I/O.

use quick_xml::events::Event;
use url::Url;

/// What a fetched feed advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// `rel="hub"`: where to subscribe.
    pub hub: Option<Url>,
    /// `rel="self"`: the topic URL to subscribe to.
    pub self_url: Option<Url>,
}

/// The hub and self URLs in `link_headers` (each a `Link` header's value), else in `body`.
/// Relative URLs are resolved against `base` (the URL the feed was fetched from); only
/// http(s) URLs count.
pub fn discover(link_headers: &[String], body: Option<&[u8]>, base: &Url) -> Discovery {
    let mut found = Discovery::default();
    for value in link_headers {
        for (target, rels) in parse_link_header(value) {
            take(&mut found, &target, &rels, base);
        }
    }
    if found.hub.is_none() || found.self_url.is_none() {
        if let Some(body) = body {
            let mut in_doc = Discovery::default();
            for (target, rels) in document_links(body) {
                take(&mut in_doc, &target, &rels, base);
            }
            found.hub = found.hub.or(in_doc.hub);
            found.self_url = found.self_url.or(in_doc.self_url);
        }
    }
    found
}

/// Records `target` as the hub and/or self URL when `rels` names them and none is known yet.
fn take(found: &mut Discovery, target: &str, rels: &str, base: &Url) {
    let Ok(url) = base.join(target.trim()) else {
        return;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return;
    }
    for rel in rels.split_ascii_whitespace() {
        if rel.eq_ignore_ascii_case("hub") && found.hub.is_none() {
            found.hub = Some(url.clone());
        } else if rel.eq_ignore_ascii_case("self") && found.self_url.is_none() {
            found.self_url = Some(url.clone());
        }
    }
}

/// The (target, rel) pairs of one `Link` header value (RFC 8288): `<url>; rel="hub self",
/// <url2>; rel=self`. Commas inside `<...>` and quoted strings do not split links.
pub fn parse_link_header(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(after) = rest.strip_prefix('<') else {
            break;
        };
        let Some(end) = after.find('>') else {
            break;
        };
        let target = after[..end].to_string();
        rest = &after[end + 1..];
        // the parameters run to the next comma outside quotes
        let mut params_end = rest.len();
        let mut quoted = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    params_end = i;
                    break;
                }
                _ => {}
            }
        }
        let params = &rest[..params_end];
        rest = &rest[params_end..];
        let rel = params.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("rel")
                .then(|| v.trim().trim_matches('"').to_string())
        });
        if let Some(rel) = rel {
            out.push((target, rel));
        }
    }
    out
}

/// The feed-level `<link rel=... href=...>` elements of an XML (or HTML-ish) document, up to
/// its first entry or item; or, for a JSON Feed, its `hubs` and `feed_url`.
fn document_links(body: &[u8]) -> Vec<(String, String)> {
    let text = crate::parse::decode(body, None);
    let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if text.starts_with('{') {
        return json_links(text);
    }
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let local = e.local_name();
                let name = local.as_ref().to_ascii_lowercase();
                if name == "entry" || name == "item" {
                    break;
                }
                if name != "link" {
                    continue;
                }
                let (mut rel, mut href) = (None, None);
                let mut attrs = e.attributes();
                attrs.with_checks(false);
                for a in attrs.flatten() {
                    let key = a.key.local_name().as_ref().to_ascii_lowercase();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|_| a.value.to_string());
                    match key.as_str() {
                        "rel" => rel = Some(value),
                        "href" => href = Some(value),
                        _ => {}
                    }
                }
                if let (Some(rel), Some(href)) = (rel, href) {
                    out.push((href, rel));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

fn json_links(text: &str) -> Vec<(String, String)> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(hubs) = doc.get("hubs").and_then(|h| h.as_array()) {
        for h in hubs {
            let websub = h
                .get("type")
                .and_then(|t| t.as_str())
                .is_none_or(|t| t.eq_ignore_ascii_case("websub"));
            if let (true, Some(url)) = (websub, h.get("url").and_then(|u| u.as_str())) {
                out.push((url.to_string(), "hub".to_string()));
            }
        }
    }
    if let Some(url) = doc.get("feed_url").and_then(|u| u.as_str()) {
        out.push((url.to_string(), "self".to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://blog.example.com/feed/").unwrap()
    }

    fn urls(d: &Discovery) -> (Option<&str>, Option<&str>) {
        (
            d.hub.as_ref().map(Url::as_str),
            d.self_url.as_ref().map(Url::as_str),
        )
    }

    #[test]
    fn link_headers_come_first() {
        let headers = vec![
            r#"<https://hub.example.net/>; rel="hub", <https://blog.example.com/feed/?a=1,2>; rel="self""#.to_string(),
        ];
        let doc = br#"<feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://other.example/"/></feed>"#;
        let d = discover(&headers, Some(doc), &base());
        assert_eq!(
            urls(&d),
            (
                Some("https://hub.example.net/"),
                Some("https://blog.example.com/feed/?a=1,2")
            )
        );
    }

    #[test]
    fn several_rels_and_relative_targets() {
        let pairs =
            parse_link_header(r#"</hub>; rel="hub"; title="a, b", <../x>; rel="self alternate""#);
        assert_eq!(
            pairs,
            vec![
                ("/hub".to_string(), "hub".to_string()),
                ("../x".to_string(), "self alternate".to_string())
            ]
        );
        let d = discover(
            &[r#"</hub>; rel=hub, <../x>; REL="Self""#.into()],
            None,
            &base(),
        );
        assert_eq!(
            urls(&d),
            (
                Some("https://blog.example.com/hub"),
                Some("https://blog.example.com/x")
            )
        );
    }

    #[test]
    fn rss_atom_link_in_the_channel() {
        let doc = br#"<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>t</title><link>https://blog.example.com/</link>
<atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/>
<atom:link rel="self" type="application/rss+xml" href="https://blog.example.com/feed/"/>
<item><atom:link rel="hub" href="https://wrong.example/"/></item></channel></rss>"#;
        let d = discover(&[], Some(doc), &base());
        assert_eq!(
            urls(&d),
            (
                Some("https://pubsubhubbub.appspot.com/"),
                Some("https://blog.example.com/feed/")
            )
        );
    }

    #[test]
    fn the_document_fills_what_the_headers_leave_out() {
        let doc = br#"<feed xmlns="http://www.w3.org/2005/Atom"><link href="/feed.atom" rel="self"/><link rel="hub" href="https://doc-hub.example/"/></feed>"#;
        let d = discover(
            &["<https://header-hub.example/>; rel=\"hub\"".into()],
            Some(doc),
            &base(),
        );
        assert_eq!(
            urls(&d),
            (
                Some("https://header-hub.example/"),
                Some("https://blog.example.com/feed.atom")
            )
        );
    }

    #[test]
    fn json_feed_hubs() {
        let doc = br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","feed_url":"https://blog.example.com/feed.json","hubs":[{"type":"rssCloud","url":"https://cloud.example/"},{"type":"WebSub","url":"https://hub.example/"}],"items":[]}"#;
        let d = discover(&[], Some(doc), &base());
        assert_eq!(
            urls(&d),
            (
                Some("https://hub.example/"),
                Some("https://blog.example.com/feed.json")
            )
        );
    }

    #[test]
    fn nothing_advertised_and_garbage() {
        assert_eq!(
            discover(
                &[],
                Some(b"<rss><channel><link>https://x/</link></channel></rss>"),
                &base()
            ),
            Discovery::default()
        );
        assert_eq!(
            discover(&["garbage; rel=hub".into()], Some(b"\x00\xff<<"), &base()),
            Discovery::default()
        );
        // a hub that is not http(s) is no hub
        let d = discover(&["<javascript:alert(1)>; rel=hub".into()], None, &base());
        assert_eq!(d.hub, None);
    }
}
