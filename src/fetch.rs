//! HTTP: conditional GET, redirects, limits, and what the server says about when to come
//! back -> [`Fetched`] or a [`FetchError`].

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

/// `[fetch]`
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Largest accepted body, after decompression.
    pub max_size: u64,
    /// Feeds fetched at once.
    pub concurrency: usize,
    /// The User-Agent header.
    pub user_agent: String,
    /// Feeds fetched at once from one host.
    pub per_host: usize,
    /// Let RSS `<ttl>`, Cache-Control max-age and Expires lengthen a feed's interval.
    pub respect_cache_hints: bool,
    /// How long an instance's claim on one feed's poll lasts, where several instances
    /// share a PostgreSQL database: an instance that dies mid-poll leaves the feed to the
    /// others once it expires. Longer than a fetch, a parse and a store take.
    pub lease: Duration,
}

/// The default `[fetch] lease`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 10;

/// What a feed offered for the next conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The ETag of the last response.
    pub etag: Option<String>,
    /// The Last-Modified of the last response.
    pub last_modified: Option<String>,
}

/// A value that must never be shown: its `Debug` prints `***`, and it has no `Display`
/// nor `Serialize`, so that it cannot reach a log line, `/status` or an export by accident.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: String) -> Secret {
        Secret(s)
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How one feed is requested beyond the `[fetch]` defaults (`[[feed]]` `headers`,
/// `user_agent`, `username`/`password`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Extra request headers, validated (names and values) by the config.
    pub headers: Vec<(String, String)>,
    /// Replaces `[fetch] user_agent` for this feed.
    pub user_agent: Option<String>,
    /// HTTP Basic auth: sent to the feed's own origin only, never to a redirect elsewhere.
    pub basic_auth: Option<(String, Secret)>,
}

/// A successful fetch: a 304, or a 2xx with its body.
#[derive(Debug)]
pub struct Fetched {
    /// HTTP status of the final response.
    pub status: u16,
    /// The body; `None` for 304 Not Modified.
    pub body: Option<Vec<u8>>,
    /// The URL after redirects: the base for relative links.
    pub final_url: Url,
    /// Where the feed moved to: the target of the permanent redirects (301/308) that start
    /// the chain. In 301 -> 302 -> final, the 301's target is remembered, not the final URL.
    pub moved_to: Option<Url>,
    /// The Content-Type header.
    pub content_type: Option<String>,
    /// Validators for the next request (a 304 may refresh them; missing ones are kept).
    pub validators: Validators,
    /// How long the server says the response stays fresh (Cache-Control max-age, Expires).
    pub fresh_for: Option<Duration>,
    /// The `Link` headers' values (WebSub discovery reads them).
    pub links: Vec<String>,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No response within the configured timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Could not connect (refused, DNS, TLS).
    #[error("cannot connect: {0}")]
    Connect(#[source] reqwest::Error),
    /// The server answered with an error status.
    #[error("HTTP {status}{}", reason.as_deref().map(|r| format!(" {r}")).unwrap_or_default())]
    Status {
        /// The status code.
        status: u16,
        /// Its reason phrase.
        reason: Option<String>,
        /// When the server said to come back (Retry-After), if it did.
        retry_after: Option<DateTime<Utc>>,
    },
    /// The body exceeded `fetch.max_size` (checked while streaming, after decompression).
    #[error("response larger than the {limit}-byte limit (fetch.max_size)")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Redirects went round in a circle.
    #[error("redirect loop: {0} was reached twice")]
    RedirectLoop(Url),
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    /// A redirect without a usable Location.
    #[error("HTTP {status} redirect without a valid Location header")]
    BadRedirect {
        /// The redirect status.
        status: u16,
    },
    /// The body stopped short or could not be decompressed, after the status and headers came.
    /// (reqwest calls every body error "error decoding response body", even a connection that
    /// closed before the Content-Length it announced: saying how far it got tells them apart.)
    #[error("reading the response body failed after {received} bytes")]
    Body {
        /// Bytes received (after decompression) before the failure.
        received: u64,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// Any other transport error.
    #[error("request failed: {0}")]
    Request(#[source] reqwest::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl FetchError {
    /// The HTTP status, when the failure was an HTTP status.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } | FetchError::BadRedirect { status } => Some(*status),
            _ => None,
        }
    }
}

/// The HTTP client shared by every feed.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_size: u64,
}

/// Feed types first; anything else last, so that a misconfigured server still answers.
pub const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

/// Parses a Retry-After value (seconds, or an HTTP date) into a point in time.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(now + chrono::Duration::seconds(secs.min(i64::MAX as u64 / 2) as i64));
    }
    httpdate::parse_http_date(v).ok().map(DateTime::<Utc>::from)
}

/// Every `Link` header's value (WebSub discovery parses them).
fn link_headers(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

/// How long a response stays fresh, from Cache-Control max-age (or s-maxage), else Expires
/// relative to Date (or now). `no-cache`/`no-store` mean no hint.
pub fn freshness(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(cc) = get(header::CACHE_CONTROL) {
        let cc = cc.to_ascii_lowercase();
        if cc.contains("no-cache") || cc.contains("no-store") {
            return None;
        }
        for directive in cc.split(',') {
            let directive = directive.trim();
            if let Some(v) = directive
                .strip_prefix("max-age=")
                .or_else(|| directive.strip_prefix("s-maxage="))
            {
                if let Ok(secs) = v.trim_matches('"').parse::<u64>() {
                    return Some(Duration::from_secs(secs));
                }
            }
        }
    }
    let expires = httpdate::parse_http_date(get(header::EXPIRES)?).ok()?;
    let date = get(header::DATE)
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .map(DateTime::<Utc>::from)
        .unwrap_or(now);
    (DateTime::<Utc>::from(expires) - date).to_std().ok()
}

impl Fetcher {
    /// A client with the configured timeout, User-Agent and limits. Redirects are followed
    /// by [`Fetcher::fetch`] itself, so that permanent ones can be remembered.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .default_headers(headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(FetchError::Client)?;
        Ok(Fetcher {
            client,
            timeout: cfg.timeout,
            max_size: cfg.max_size,
        })
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else if e.is_connect() {
            FetchError::Connect(e)
        } else {
            FetchError::Request(e)
        }
    }

    /// GETs `url`, conditionally when `validators` has anything, following up to
    /// [`MAX_REDIRECTS`] redirects.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        self.fetch_as(url, validators, &RequestOptions::default())
            .await
    }

    /// As [`Fetcher::fetch`], with a feed's own headers, User-Agent and credentials.
    /// Credentials and extra headers go to `url`'s origin only: a redirect to another host
    /// gets neither (they are the user's secrets for that server).
    pub async fn fetch_as(
        &self,
        url: &Url,
        validators: &Validators,
        options: &RequestOptions,
    ) -> Result<Fetched, FetchError> {
        // the whole exchange, redirects and body included, within one timeout
        match tokio::time::timeout(self.timeout, self.fetch_inner(url, validators, options)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn fetch_inner(
        &self,
        start: &Url,
        validators: &Validators,
        options: &RequestOptions,
    ) -> Result<Fetched, FetchError> {
        let mut url = start.clone();
        let mut seen: HashSet<Url> = HashSet::from([start.clone()]);
        let mut moved_to: Option<Url> = None;
        let mut all_permanent = true;
        let mut redirects = 0;
        let resp = loop {
            let mut req = self.client.get(url.clone());
            if let Some(ua) = &options.user_agent {
                req = req.header(header::USER_AGENT, ua);
            }
            if url.origin() == start.origin() {
                for (name, value) in &options.headers {
                    req = req.header(name.as_str(), value.as_str());
                }
                if let Some((user, password)) = &options.basic_auth {
                    req = req.basic_auth(user, Some(password.expose()));
                }
            }
            if let Some(etag) = &validators.etag {
                req = req.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(|e| self.classify(e))?;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            let next = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or(FetchError::BadRedirect {
                    status: status.as_u16(),
                })?;
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects);
            }
            if !seen.insert(next.clone()) {
                return Err(FetchError::RedirectLoop(next));
            }
            let permanent = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            all_permanent &= permanent;
            if all_permanent {
                moved_to = Some(next.clone());
            }
            url = next;
        };

        let now = Utc::now();
        let status = resp.status();
        let header_str = |name: header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let new_validators = Validators {
            etag: header_str(header::ETAG).or_else(|| validators.etag.clone()),
            last_modified: header_str(header::LAST_MODIFIED)
                .or_else(|| validators.last_modified.clone()),
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched {
                status: 304,
                body: None,
                final_url: url,
                moved_to,
                content_type: None,
                validators: new_validators,
                fresh_for: freshness(resp.headers(), now),
                links: link_headers(resp.headers()),
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                reason: status.canonical_reason().map(str::to_string),
                retry_after: header_str(header::RETRY_AFTER)
                    .and_then(|v| parse_retry_after(&v, now)),
            });
        }
        // a 200 without validators must not reuse old ones
        let new_validators = Validators {
            etag: header_str(header::ETAG),
            last_modified: header_str(header::LAST_MODIFIED),
        };
        let content_type = header_str(header::CONTENT_TYPE);
        let fresh_for = freshness(resp.headers(), now);
        let links = link_headers(resp.headers());
        // Content-Length is only a hint (it may lie either way, and it is the compressed size):
        // refuse early when it is already too big, and count the real bytes as they come.
        if resp.content_length().is_some_and(|l| l > self.max_size) {
            return Err(FetchError::TooLarge {
                limit: self.max_size,
            });
        }
        let mut bytes =
            Vec::with_capacity(resp.content_length().unwrap_or(0).min(self.max_size) as usize);
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match self.classify(e) {
                FetchError::Request(source) => FetchError::Body {
                    received: bytes.len() as u64,
                    source,
                },
                other => other,
            })?;
            if (bytes.len() + chunk.len()) as u64 > self.max_size {
                return Err(FetchError::TooLarge {
                    limit: self.max_size,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status: status.as_u16(),
            body: Some(bytes),
            final_url: url,
            moved_to,
            content_type,
            validators: new_validators,
            fresh_for,
            links,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_seconds_or_date() {
        assert_eq!(
            parse_retry_after("120", now()).unwrap().to_rfc3339(),
            "2026-01-01T00:02:00+00:00"
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 01:00:00 GMT", now())
                .unwrap()
                .to_rfc3339(),
            "2026-01-01T01:00:00+00:00"
        );
        assert!(parse_retry_after("soon", now()).is_none());
    }

    #[test]
    fn freshness_from_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        assert_eq!(freshness(&h, now()), Some(Duration::from_secs(3600)));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        assert_eq!(freshness(&h, now()), None);
        let mut h = HeaderMap::new();
        h.insert(
            header::DATE,
            HeaderValue::from_static("Thu, 01 Jan 2026 00:00:00 GMT"),
        );
        h.insert(
            header::EXPIRES,
            HeaderValue::from_static("Thu, 01 Jan 2026 02:00:00 GMT"),
        );
        assert_eq!(freshness(&h, now()), Some(Duration::from_secs(7200)));
    }

    /// A server that answers every connection with `reply`, then hangs up.
    fn serve_once(reply: &'static [u8]) -> Url {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(reply);
            }
        });
        Url::parse(&format!("http://{addr}/feed.xml")).unwrap()
    }

    #[tokio::test]
    async fn a_body_cut_short_says_how_far_it_got() {
        // 1000 bytes announced, 10 sent, then the connection closes
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n<rss>0123",
        );
        let fetcher = Fetcher::new(&FetchConfig {
            timeout: Duration::from_secs(5),
            max_size: 1 << 20,
            concurrency: 1,
            user_agent: "test".into(),
            per_host: 1,
            respect_cache_hints: false,
            lease: DEFAULT_LEASE,
        })
        .unwrap();
        let err = fetcher
            .fetch(&url, &Validators::default())
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Body { .. }), "{err:?}");
        let text = crate::logging::error_chain(&err);
        assert!(
            text.starts_with("reading the response body failed after"),
            "{text}"
        );
        assert!(
            text.contains("end of file before message length reached"),
            "{text}"
        );
    }
}
