//! An article page's bytes -> text: the charset from the BOM, the Content-Type, or a
//! `<meta charset>` near the start (as browsers look for it), else UTF-8; pure.

use encoding_rs::Encoding;

/// True when a response looks like an HTML page (its Content-Type, else its first bytes).
pub fn is_html(content_type: Option<&str>, bytes: &[u8]) -> bool {
    if let Some(ct) = content_type {
        let ct = ct.to_ascii_lowercase();
        if ct.contains("html") {
            return true;
        }
        if !ct.starts_with("text/plain") && !ct.starts_with("application/octet-stream") {
            return false;
        }
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html") || head.contains("<body")
}

fn charset_in(text: &str) -> Option<&'static Encoding> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("charset")?;
    let rest = lower[at + "charset".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    Encoding::for_label(label.as_bytes())
}

/// The page as text.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let encoding = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| content_type.and_then(charset_in))
        .or_else(|| charset_in(&String::from_utf8_lossy(&bytes[..bytes.len().min(2048)])))
        .unwrap_or(encoding_rs::UTF_8);
    // a page that claims UTF-16 in its markup cannot be (the markup would be unreadable)
    let encoding = if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Encoding::for_bom(bytes).map_or(encoding_rs::UTF_8, |(e, _)| e)
    } else {
        encoding
    };
    encoding.decode(bytes).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_from_header_meta_or_bom() {
        let latin = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body></html>";
        assert!(decode(latin, Some("text/html")).contains("café"));
        assert!(decode(b"caf\xe9", Some("text/html; charset=windows-1252")).contains("café"));
        assert!(decode("café".as_bytes(), None).contains("café"));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("café".as_bytes());
        assert_eq!(decode(&bom, Some("text/html; charset=iso-8859-1")), "café");
    }

    #[test]
    fn html_or_not() {
        assert!(is_html(Some("text/html; charset=utf-8"), b""));
        assert!(is_html(None, b"<!DOCTYPE html><html>"));
        assert!(is_html(Some("application/octet-stream"), b"<html><body>"));
        assert!(!is_html(Some("application/pdf"), b"%PDF-1.4"));
        assert!(!is_html(Some("image/jpeg"), b"<html>"));
    }
}
