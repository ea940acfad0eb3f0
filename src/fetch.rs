//! HTTP: conditional GET, size and time limits -> `Fetched::{Modified, NotModified}`.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

use crate::config::FetchConfig;

/// What a feed offered for the next conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The ETag of the last response.
    pub etag: Option<String>,
    /// The Last-Modified of the last response.
    pub last_modified: Option<String>,
}

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    /// 304: nothing changed since the validators were issued.
    NotModified {
        /// Validators to keep (a 304 may refresh them).
        validators: Validators,
    },
    /// 2xx with a body.
    Modified(Body),
}

/// A fetched body and what the server said about it.
#[derive(Debug)]
pub struct Body {
    /// The decompressed bytes.
    pub bytes: Vec<u8>,
    /// The URL after redirects: the base for relative links.
    pub final_url: Url,
    /// HTTP status.
    pub status: u16,
    /// The Content-Type header.
    pub content_type: Option<String>,
    /// Validators for the next request.
    pub validators: Validators,
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
    },
    /// The body exceeded `fetch.max_size` (checked while streaming, after decompression).
    #[error("response larger than the {limit}-byte limit (fetch.max_size)")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Any other transport error (bad redirect, broken body, bad compression).
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
            FetchError::Status { status, .. } => Some(*status),
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
const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";

impl Fetcher {
    /// A client with the configured timeout, User-Agent and limits.
    pub fn new(cfg: &FetchConfig) -> Result<Fetcher, FetchError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .default_headers(headers)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(10))
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

    /// GETs `url`, conditionally when `validators` has anything.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let mut req = self.client.get(url.clone());
        if let Some(etag) = &validators.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        let resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status();
        let header_str = |name: header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let new_validators = Validators {
            etag: header_str(header::ETAG),
            last_modified: header_str(header::LAST_MODIFIED),
        };
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified {
                validators: Validators {
                    etag: new_validators.etag.or_else(|| validators.etag.clone()),
                    last_modified: new_validators
                        .last_modified
                        .or_else(|| validators.last_modified.clone()),
                },
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                reason: status.canonical_reason().map(str::to_string),
            });
        }
        let content_type = header_str(header::CONTENT_TYPE);
        let final_url = resp.url().clone();
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
            let chunk = chunk.map_err(|e| self.classify(e))?;
            if (bytes.len() + chunk.len()) as u64 > self.max_size {
                return Err(FetchError::TooLarge {
                    limit: self.max_size,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Modified(Body {
            bytes,
            final_url,
            status: status.as_u16(),
            content_type,
            validators: new_validators,
        }))
    }
}
