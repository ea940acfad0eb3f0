//! The text of HTML this crate sanitized itself, without parsing it again; pure.
//!
//! A summary is the start of a body's text. Taking it with the HTML parser meant parsing
//! every body twice (once to sanitize, once for the text), a fifth of a first poll's CPU.
//! Sanitized HTML is the serializer's own output: every `<` in text is `&lt;`, every
//! attribute value is double-quoted, there are no comments, and only a few known entities.
//! Its text can be read by a linear scan, with the same result as parsing it again: the
//! elements whose parse would move or drop text (tables, `<pre>`'s first newline, raw-text
//! and foreign elements) are not read here, and the caller parses those bodies as before.

/// Elements whose content a reparse would not keep in place, or does not parse as text.
const PARSED_DIFFERENTLY: &[&str] = &[
    "script",
    "style",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "textarea",
    "title",
    "template",
    "pre",
    "listing",
    "svg",
    "math",
    "select",
    "option",
    "table",
    "caption",
    "colgroup",
    "col",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "html",
    "head",
    "body",
    "frameset",
];

/// The text of sanitized HTML as the HTML parser would give it (text nodes in order, entity
/// references left as written), leaving out the content of the elements named in `skip`
/// (lowercase); `None` when the HTML holds anything the scan does not read the way the
/// parser would (see the module's doc): parse it instead.
pub(super) fn sanitized_text(html: &str, skip: &[&str]) -> Option<String> {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut skipping = 0usize;
    let mut text_from = 0;
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'<', &b[i..]).map(|p| p + i) {
        if skipping == 0 {
            out.push_str(&html[text_from..at]);
        }
        let closing = b.get(at + 1) == Some(&b'/');
        let name_from = at + 1 + usize::from(closing);
        let name_len = b[name_from..]
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .unwrap_or(b.len() - name_from);
        if name_len == 0 || !b[name_from].is_ascii_alphabetic() {
            // `<!--`, `<?`, a stray `<`: not what the serializer writes
            return None;
        }
        let name = &html[name_from..name_from + name_len];
        if PARSED_DIFFERENTLY
            .iter()
            .any(|t| name.eq_ignore_ascii_case(t))
        {
            return None;
        }
        // the tag ends at the first `>` outside a double-quoted attribute value
        let mut quoted = false;
        let end = b[name_from + name_len..].iter().position(|c| {
            if *c == b'"' {
                quoted = !quoted;
            }
            *c == b'>' && !quoted
        })? + name_from
            + name_len;
        if skip.iter().any(|t| name.eq_ignore_ascii_case(t)) {
            if closing {
                skipping = skipping.saturating_sub(1);
            } else {
                skipping += 1;
            }
        }
        i = end + 1;
        text_from = i;
    }
    if skipping == 0 {
        out.push_str(&html[text_from..]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_nodes_in_order_without_the_skipped_elements() {
        let html = r#"<p>One <a href="https://e.com/?a=1&amp;b=2" title="a > b &quot;c&quot;">two</a> &amp; three</p>
<figure><img src="https://e.com/x.jpg" alt="x > y"><figcaption>Photo: <em>Agency</em></figcaption></figure><p>four&nbsp;five &lt;six&gt;</p>"#;
        assert_eq!(
            sanitized_text(html, &["figcaption"]).unwrap(),
            "One two &amp; three\nfour&nbsp;five &lt;six&gt;"
        );
        assert_eq!(
            sanitized_text(html, &[]).unwrap(),
            "One two &amp; three\nPhoto: Agencyfour&nbsp;five &lt;six&gt;"
        );
    }

    #[test]
    fn what_a_reparse_would_move_is_left_to_the_parser() {
        for html in [
            "<table><tr><td>a</td></tr></table>",
            "<pre>\nb</pre>",
            "a <!-- c --> d",
            "<p>unclosed <a href=\"x>",
            "a < b",
            "<svg><title>t</title></svg>",
        ] {
            assert_eq!(sanitized_text(html, &[]), None, "{html}");
        }
        assert_eq!(sanitized_text("", &[]).unwrap(), "");
        assert_eq!(sanitized_text("plain", &[]).unwrap(), "plain");
    }
}
