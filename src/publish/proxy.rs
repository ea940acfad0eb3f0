//! Where the reader reached newswire, for the links it writes: `public_url` when the config
//! sets one, else what a reverse proxy says (RFC 7239 `Forwarded`, else `X-Forwarded-Proto`
//! / `-Host` / `-Prefix`), else the `Host` header. Pure: headers in, a [`PublicBase`] out.

use axum::http::HeaderMap;

/// The scheme, host and path prefix every link starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicBase {
    /// `https://news.example.com`, when known; links are root-relative without it.
    pub origin: Option<String>,
    /// The path newswire is served under, without a trailing slash: `""` or `/news`.
    pub prefix: String,
}

impl PublicBase {
    /// A path of newswire's own (`/feed.atom`) as the reader reaches it: `/news/feed.atom`.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// The same, absolute when the origin is known.
    pub fn absolute(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.origin.as_deref().unwrap_or(""),
            self.path(path)
        )
    }

    /// The base that `public_url` gives.
    pub fn from_url(url: &url::Url) -> PublicBase {
        PublicBase {
            origin: Some(url.origin().ascii_serialization()),
            prefix: url.path().trim_end_matches('/').to_string(),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The first element of an RFC 7239 `Forwarded` header (the proxy nearest the reader):
/// its `proto` and `host` parameters. Quoted values are unquoted.
fn forwarded(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let Some(first) = header(headers, "forwarded") else {
        return (None, None);
    };
    let (mut proto, mut host) = (None, None);
    for pair in first.split(';') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "proto" => proto = Some(v),
            "host" => host = Some(v),
            _ => {}
        }
    }
    (proto, host)
}

fn host_ok(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
}

/// A path prefix a proxy may set: `/` then segments of letters, digits and `-._~`; no `..`.
fn prefix_ok(prefix: &str) -> bool {
    prefix.starts_with('/')
        && prefix.len() <= 200
        && prefix.split('/').all(|seg| {
            seg != ".."
                && seg != "."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        })
}

/// Works out the base from the config's `public_url` and the request's headers. A header
/// that is malformed (a host with a slash, a prefix with `..`) is ignored, never echoed.
pub fn public_base(headers: &HeaderMap, public_url: Option<&url::Url>) -> PublicBase {
    if let Some(url) = public_url {
        return PublicBase::from_url(url);
    }
    let (fwd_proto, fwd_host) = forwarded(headers);
    let host = fwd_host
        .as_deref()
        .or_else(|| header(headers, "x-forwarded-host"))
        .or_else(|| header(headers, "host"))
        .filter(|h| host_ok(h));
    let proto = fwd_proto
        .as_deref()
        .or_else(|| header(headers, "x-forwarded-proto"));
    let scheme = match proto {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let prefix = header(headers, "x-forwarded-prefix")
        .filter(|p| prefix_ok(p))
        .map(|p| p.trim_end_matches('/').to_string())
        .unwrap_or_default();
    PublicBase {
        origin: host.map(|h| format!("{scheme}://{h}")),
        prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn host_alone_gives_plain_http_at_the_root() {
        let b = public_base(&headers(&[("host", "127.0.0.1:8080")]), None);
        assert_eq!(b.absolute("/feed.atom"), "http://127.0.0.1:8080/feed.atom");
        assert_eq!(b.path("/"), "/");
    }

    #[test]
    fn x_forwarded_headers_give_scheme_host_and_prefix() {
        let b = public_base(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "news.example.com"),
                ("x-forwarded-prefix", "/news/"),
            ]),
            None,
        );
        assert_eq!(
            b.absolute("/feed.atom"),
            "https://news.example.com/news/feed.atom"
        );
        assert_eq!(b.path("/"), "/news/");
    }

    #[test]
    fn rfc7239_forwarded_wins_and_takes_the_nearest_element() {
        let b = public_base(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-host", "other.example"),
                (
                    "forwarded",
                    "for=192.0.2.60;proto=https;host=\"news.example.com:8443\", for=10.0.0.1;host=inner",
                ),
            ]),
            None,
        );
        assert_eq!(b.origin.as_deref(), Some("https://news.example.com:8443"));
    }

    #[test]
    fn malformed_values_are_ignored() {
        let b = public_base(
            &headers(&[
                ("host", "127.0.0.1:8080"),
                ("x-forwarded-host", "evil.example/<x>"),
                ("x-forwarded-prefix", "/../etc"),
            ]),
            None,
        );
        assert_eq!(b.origin, None);
        assert_eq!(b.prefix, "");
        let b = public_base(&headers(&[("x-forwarded-prefix", "/a\"b")]), None);
        assert_eq!(b.prefix, "");
    }

    #[test]
    fn public_url_overrides_every_header() {
        let url = url::Url::parse("https://example.org/river/").unwrap();
        let b = public_base(
            &headers(&[("host", "x"), ("x-forwarded-prefix", "/other")]),
            Some(&url),
        );
        assert_eq!(
            b.absolute("/feed.rss"),
            "https://example.org/river/feed.rss"
        );
        assert_eq!(b.path("/"), "/river/");
    }
}
