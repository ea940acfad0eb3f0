//! Which character set a feed document is written in, and its text as UTF-8; pure.
//!
//! The order: a byte order mark; else an encoding the document declares (its XML
//! declaration, then the HTTP charset) if the bytes are consistent with it; else detection
//! with chardetng, the detector Firefox uses for unlabelled pages. "Consistent" means that
//! the bytes decode without error, and also that a legacy declaration does not stand over
//! bytes that are valid UTF-8 with non-ASCII characters in them: legacy text is almost never
//! valid UTF-8 by accident, while a template that says ISO-8859-1 over a UTF-8 database is
//! common. A document that is mostly UTF-8 with a few stray legacy bytes (one item pasted
//! from elsewhere) keeps its UTF-8 and reads the stray bytes in the detected legacy charset.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// A decoded document, and what was wrong with its charset, if anything.
pub(crate) struct Decoded<'a> {
    /// The text, still with its XML declaration.
    pub text: Cow<'a, str>,
    /// The encoding it was read in (for a mixed document, the one of its stray bytes).
    #[allow(dead_code)] // said by the tests
    pub encoding: &'static Encoding,
    /// Said when the document's own label was wrong, or bytes could not be decoded at all.
    pub note: Option<String>,
}

/// The charset parameter of a Content-Type header, if any.
pub(crate) fn header_charset(content_type: Option<&str>) -> Option<&'static Encoding> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches('"').as_bytes())
        } else {
            None
        }
    })
}

/// The XML declaration at the start of `bytes` (ASCII-compatible encodings only), as the
/// byte range it spans and the encoding it names, if it names one.
pub(crate) fn xml_declaration(bytes: &[u8]) -> Option<(usize, Option<&[u8]>)> {
    if !bytes.starts_with(b"<?xml") {
        return None;
    }
    let end = bytes.windows(2).take(512).position(|w| w == b"?>")? + 2;
    let decl = &bytes[..end];
    let Some(pos) = decl.windows(8).position(|w| w == b"encoding") else {
        return Some((end, None));
    };
    let rest = &decl[pos + 8..];
    let quote_at = rest.iter().position(|b| *b == b'"' || *b == b'\'')?;
    let quote = rest[quote_at];
    let value = &rest[quote_at + 1..];
    let close = value.iter().position(|b| *b == quote)?;
    Some((end, Some(&value[..close])))
}

/// Where a feed's document starts after output that is not the feed's: a PHP warning or
/// notice (`<br />\n<b>Warning</b>: Cannot modify header information in ...`), a line of
/// debugging, printed before the feed by the program that writes it. The document starts at
/// its XML declaration, which stands only at the start of a document, so what precedes it is
/// not the document; or, without a declaration, at its root (`<rss`, `<feed`, `<rdf:RDF`)
/// when what precedes that is more than a prolog (comments, processing instructions, a
/// DOCTYPE). Looked for in the first 4 KiB, where nothing of the feed's own markup (`<rss`,
/// `<feed`, `<rdf`, a channel, an item or entry) precedes a declaration: one further on,
/// pasted into an item, is another matter (see `neutralize_declarations`). A JSON Feed after
/// such output starts at its opening brace ([`json_feed_start`]). `None` for a document that
/// starts with its declaration, its prolog or a brace (whitespace aside).
pub(crate) fn output_before_document(bytes: &[u8]) -> Option<usize> {
    let head = &bytes[..bytes.len().min(4096)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    if head[start..].starts_with(b"<?xml") || head[start..].starts_with(b"{") {
        return None;
    }
    let mentions = |within: &[u8], names: &[&[u8]]| {
        let within = within.to_ascii_lowercase();
        names
            .iter()
            .any(|m| memchr::memmem::find(&within, m).is_some())
    };
    let declaration = memchr::memmem::find_iter(head, b"<?xml")
        .find(|&i| head.get(i + 5).is_some_and(u8::is_ascii_whitespace));
    let at = match declaration {
        Some(at) => {
            let feed_markup: [&[u8]; 6] =
                [b"<rss", b"<feed", b"<rdf", b"<channel", b"<item", b"<entry"];
            if mentions(&head[..at], &feed_markup) {
                return None;
            }
            at
        }
        None => {
            // after the prolog, the root, or output and then the root
            let prolog = start + prolog_len(&head[start..]);
            let is_root_at = |i: usize| {
                [b"<rss".as_slice(), b"<feed", b"<rdf:RDF"]
                    .iter()
                    .any(|name| {
                        head[i..].starts_with(name)
                            && head
                                .get(i + name.len())
                                .is_some_and(|&c| c == b'>' || c.is_ascii_whitespace())
                    })
            };
            if is_root_at(prolog) {
                return None;
            }
            match memchr::memchr_iter(b'<', &head[prolog..])
                .map(|i| prolog + i)
                .find(|&i| is_root_at(i))
            {
                Some(at) => at,
                None => json_feed_start(head)?,
            }
        }
    };
    // a web page that names such an element is a page, not output before a feed
    (!mentions(&head[..at], &[b"<html", b"<head", b"<body"])).then_some(at)
}

/// Where a JSON Feed starts in `head` after output: a `{` at the start of a line (or right
/// after a tag) whose first member is a string and which names JSON Feed's version URL.
fn json_feed_start(head: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'{', head).find(|&i| {
        (i == 0 || matches!(head[i - 1], b'\n' | b'\r' | b'>'))
            && head[i + 1..].trim_ascii_start().starts_with(b"\"")
            && memchr::memmem::find(&head[i..], b"jsonfeed.org/version").is_some()
    })
}

/// The length of what may stand before a document's root at the start of `bytes`:
/// whitespace, comments, processing instructions and a DOCTYPE (with its internal subset),
/// or any other `<!` declaration. An unclosed one ends the prolog where it starts.
pub(crate) fn prolog_len(bytes: &[u8]) -> usize {
    let mut rest = bytes;
    loop {
        rest = rest.trim_ascii_start();
        let end: &[u8] = if rest.starts_with(b"<!--") {
            b"-->"
        } else if rest.starts_with(b"<?") {
            b"?>"
        } else if rest.starts_with(b"<!") {
            match (memchr::memchr(b'[', rest), memchr::memchr(b'>', rest)) {
                (Some(open), Some(close)) if open < close => b"]>",
                _ => b">",
            }
        } else {
            return bytes.len() - rest.len();
        };
        match memchr::memmem::find(rest, end) {
            Some(at) => rest = &rest[at + end.len()..],
            None => return bytes.len() - rest.len(),
        }
    }
}

/// UTF-16 without a byte order mark, recognised as XML 1.0 Appendix F (and libxml2,
/// feedparser) do: the first unit that is not whitespace is `<`, followed by an ASCII
/// character, each a 16-bit unit with a zero byte: `3C 00 3F 00` (little-endian) or
/// `00 3C 00 3F` (big-endian). Read as UTF-8 such a document either fails, or worse, comes
/// out as mojibake: every non-ASCII character garbled.
pub(crate) fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    // an ASCII character as one UTF-16 unit, and whether the unit is little-endian
    let unit = |pair: &[u8]| match *pair {
        [a, 0] if a != 0 && a.is_ascii() => Some((a, true)),
        [0, a] if a != 0 && a.is_ascii() => Some((a, false)),
        _ => None,
    };
    let mut units = bytes.chunks_exact(2).map(unit);
    let (first, le) = units
        .by_ref()
        .map_while(|u| u)
        .find(|(a, _)| !a.is_ascii_whitespace())?;
    let (second, second_le) = units.next()??;
    let opens_markup =
        first == b'<' && (matches!(second, b'?' | b'!') || second.is_ascii_alphabetic());
    (opens_markup && le == second_le).then_some(if le {
        encoding_rs::UTF_16LE
    } else {
        encoding_rs::UTF_16BE
    })
}

/// How the bytes fare as UTF-8: characters beyond ASCII in valid sequences (for valid
/// UTF-8, 1 if there are any), and invalid sequences.
fn utf8_profile(bytes: &[u8]) -> (usize, usize) {
    // the common case, without counting: only whether there is anything beyond ASCII
    if std::str::from_utf8(bytes).is_ok() {
        return (usize::from(!bytes.is_ascii()), 0);
    }
    let mut valid_non_ascii = 0;
    let mut invalid = 0;
    for chunk in bytes.utf8_chunks() {
        valid_non_ascii += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    (valid_non_ascii, invalid)
}

/// chardetng's guess among the legacy encodings, given the top-level domain the document
/// came from (a hint it weighs). ISO-8859-15 is not among its answers: a windows-1252 guess
/// whose text uses the generic currency sign ¤ (0xA4, the euro in ISO-8859-15) and never
/// windows-1252's euro (0x80) is Latin-9 text with prices in it, not Latin-1 with ¤.
fn detect_legacy(bytes: &[u8], tld: Option<&str>) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guess = detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Deny);
    if guess == WINDOWS_1252 && bytes.contains(&0xA4) && !bytes.contains(&0x80) {
        encoding_rs::ISO_8859_15
    } else {
        guess
    }
}

/// A label as a reader would name it (`windows-1252`, `Shift_JIS`, `UTF-8`).
fn name(e: &'static Encoding) -> &'static str {
    e.name()
}

/// Decodes `bytes` in `enc`, and whether every byte decoded.
fn decode_in(enc: &'static Encoding, bytes: &[u8]) -> (String, bool) {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    (text.into_owned(), !had_errors)
}

/// UTF-8 text with stray bytes that are not: the valid runs as UTF-8, the others in
/// `legacy` (a single-byte encoding decodes any run).
fn mixed(bytes: &[u8], legacy: &'static Encoding) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push_str(&legacy.decode_without_bom_handling(chunk.invalid()).0);
        }
    }
    out
}

/// Whether `enc` reads every byte on its own (one byte, one character).
fn single_byte(enc: &'static Encoding) -> bool {
    enc.is_single_byte()
}

/// Decodes a feed document; `tld` is the rightmost label of the host it came from, when
/// that host is a name. See the module documentation for the order.
pub(crate) fn decode_document<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
    tld: Option<&str>,
) -> Decoded<'a> {
    let undecodable = |enc: &'static Encoding| {
        format!(
            "bytes that are not {} and no other charset fits them: shown as \u{fffd}",
            name(enc)
        )
    };
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, ok) = decode_in(enc, &bytes[bom_len..]);
        return Decoded {
            text: Cow::Owned(text),
            encoding: enc,
            note: (!ok).then(|| undecodable(enc)),
        };
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        let (text, ok) = decode_in(enc, bytes);
        return Decoded {
            text: Cow::Owned(text),
            encoding: enc,
            note: (!ok).then(|| undecodable(enc)),
        };
    }
    // whitespace before the declaration is a common server-side templating mistake
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let trimmed = &bytes[start..];
    // UTF-16 cannot have been declared in an ASCII-compatible declaration truthfully
    let usable = |e: Option<&'static Encoding>| {
        e.filter(|e| *e != encoding_rs::UTF_16LE && *e != encoding_rs::UTF_16BE)
    };
    let declaration = output_before_document(trimmed).map_or(trimmed, |at| &trimmed[at..]);
    let declared = usable(
        xml_declaration(declaration)
            .and_then(|(_, label)| label)
            .and_then(Encoding::for_label),
    );
    let header = usable(header_charset(content_type));
    let (valid_non_ascii, invalid) = utf8_profile(trimmed);
    let is_utf8 = invalid == 0;
    let utf8_text = || match std::str::from_utf8(trimmed) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(String::from_utf8_lossy(trimmed).into_owned()),
    };
    // the first label the bytes are consistent with; a wrong one is said, not silently used
    let mut wrong: Option<(&'static str, &'static Encoding)> = None;
    for (source, label) in [("declared", declared), ("sent", header)] {
        let Some(enc) = label else { continue };
        if enc == UTF_8 {
            if is_utf8 {
                return Decoded {
                    text: utf8_text(),
                    encoding: UTF_8,
                    note: None,
                };
            }
        } else if is_utf8 && valid_non_ascii > 0 {
            // legacy text is almost never valid UTF-8 by accident
            return Decoded {
                text: utf8_text(),
                encoding: UTF_8,
                note: Some(format!(
                    "{source} as {}, but the bytes are UTF-8: read as UTF-8",
                    name(enc)
                )),
            };
        } else {
            let (text, ok) = decode_in(enc, trimmed);
            if ok {
                return Decoded {
                    text: Cow::Owned(text),
                    encoding: enc,
                    note: None,
                };
            }
        }
        wrong.get_or_insert((source, enc));
    }
    if is_utf8 {
        return Decoded {
            text: utf8_text(),
            encoding: UTF_8,
            note: wrong.map(|(source, enc)| {
                format!(
                    "{source} as {}, but the bytes are UTF-8: read as UTF-8",
                    name(enc)
                )
            }),
        };
    }
    // in a mostly UTF-8 document, the detector sees the bytes that are not UTF-8, in context
    let legacy = if valid_non_ascii >= invalid {
        let mut rest = Vec::with_capacity(trimmed.len());
        for chunk in trimmed.utf8_chunks() {
            rest.extend(chunk.valid().bytes().filter(u8::is_ascii));
            rest.extend(chunk.invalid());
        }
        detect_legacy(&rest, tld)
    } else {
        detect_legacy(trimmed, tld)
    };
    let said = |read_as: String| {
        wrong.map(|(source, enc)| format!("{source} as {}, but {read_as}", name(enc)))
    };
    if valid_non_ascii >= invalid && single_byte(legacy) {
        // mostly UTF-8: only the stray bytes are legacy
        return Decoded {
            text: Cow::Owned(mixed(trimmed, legacy)),
            encoding: legacy,
            note: Some(
                said(format!(
                    "{invalid} stray byte sequences read as {}",
                    name(legacy)
                ))
                .unwrap_or_else(|| {
                    format!(
                        "UTF-8 with {invalid} stray byte sequences, read as {}",
                        name(legacy)
                    )
                }),
            ),
        };
    }
    let (text, ok) = decode_in(legacy, trimmed);
    if ok {
        return Decoded {
            text: Cow::Owned(text),
            encoding: legacy,
            note: said(format!("parsed as {}", name(legacy))),
        };
    }
    // a multi-byte guess that does not fit every byte: windows-1252 reads any byte
    let (text, _) = decode_in(WINDOWS_1252, trimmed);
    let garbled = text
        .chars()
        .filter(|c| ('\u{80}'..='\u{9f}').contains(c))
        .count();
    Decoded {
        text: Cow::Owned(text),
        encoding: WINDOWS_1252,
        note: Some(format!(
            "bytes that no charset fits (not {}, not {}): parsed as windows-1252{}",
            wrong.map_or("UTF-8", |(_, e)| name(e)),
            name(legacy),
            if garbled > 0 {
                format!(", {garbled} characters undefined there dropped")
            } else {
                String::new()
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(label: &str, text: &str) -> Vec<u8> {
        let e = Encoding::for_label(label.as_bytes()).unwrap();
        let (bytes, _, unmappable) = e.encode(text);
        assert!(!unmappable, "{text} is not all {label}");
        bytes.into_owned()
    }

    #[test]
    fn a_declaration_of_utf8_over_legacy_bytes_falls_back() {
        let doc = enc(
            "windows-1252",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><title>São Paulo: eleições e a reação do mercado</title></rss>",
        );
        let d = decode_document(&doc, Some("application/rss+xml; charset=utf-8"), None);
        assert!(
            d.text.contains("São Paulo: eleições e a reação"),
            "{}",
            d.text
        );
        assert_eq!(d.encoding, WINDOWS_1252);
        assert_eq!(
            d.note.as_deref(),
            Some("declared as UTF-8, but parsed as windows-1252")
        );
    }

    #[test]
    fn valid_utf8_wins_over_a_legacy_label() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>Müller</rss>";
        let d = decode_document(doc.as_bytes(), None, None);
        assert!(d.text.contains("Müller"));
        assert_eq!(
            d.note.as_deref(),
            Some("declared as windows-1252, but the bytes are UTF-8: read as UTF-8")
        );
        // pure ASCII under a legacy label is that label, and nothing to say
        let d = decode_document(b"<?xml version='1.0' encoding='latin1'?><rss/>", None, None);
        assert_eq!((d.encoding, d.note), (WINDOWS_1252, None));
    }

    #[test]
    fn stray_legacy_bytes_in_utf8_are_read_alone() {
        let mut doc = "<rss><item>Überall “quoted”</item><item>"
            .as_bytes()
            .to_vec();
        doc.extend(enc("windows-1252", "Café crème"));
        doc.extend(b"</item></rss>");
        let d = decode_document(&doc, None, None);
        assert_eq!(
            d.text,
            "<rss><item>Überall “quoted”</item><item>Café crème</item></rss>"
        );
        assert!(d.note.unwrap().contains("2 stray byte sequences"));
    }

    #[test]
    fn latin9_prices_are_euros() {
        let doc = enc(
            "iso-8859-15",
            "<rss><title>Le menu à 15 € : œufs, pâtés et crème brûlée</title></rss>",
        );
        let d = decode_document(&doc, None, Some("fr"));
        assert!(d.text.contains("15 € : œufs, pâtés"), "{}", d.text);
    }

    #[test]
    fn undecodable_bytes_are_said() {
        // UTF-16 with a byte order mark and an odd byte at the end
        let d = decode_document(b"\xff\xfe<\0r\0>\0\x00\xd8", None, None);
        assert!(d.text.contains('\u{fffd}'));
        assert!(d.note.unwrap().contains("no other charset fits"));
    }
}
