//! HTTP: the merged feed in three formats and `/status`, read-only over the store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::{MergedFeed, PublishError, View};
use crate::config::Config;
use crate::dedup::hash_parts;
use crate::poll::error_chain;
use crate::store::Store;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store, read through its read connection.
    pub store: Arc<Store>,
    /// The config in force (replaced on reload).
    pub config: watch::Receiver<Arc<Config>>,
}

/// The merged feed's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Atom 1.0.
    Atom,
    /// RSS 2.0.
    Rss,
    /// JSON Feed 1.1.
    Json,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// Renders a merged feed in this format.
    pub fn render(self, feed: &MergedFeed, self_url: Option<&str>) -> String {
        match self {
            Format::Atom => super::atom::render(feed, self_url),
            Format::Rss => super::rss::render(feed, self_url),
            Format::Json => super::json::render(feed, self_url),
        }
    }
}

/// The routes: `/feed.atom`, `/feed.rss`, `/feed.json`, `/status`, and `/` (an index).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route(
            "/feed.atom",
            get(
                |s: State<AppState>,
                 q: Query<HashMap<String, String>>,
                 u: OriginalUri,
                 h: HeaderMap| { serve_feed(Format::Atom, s, q, u, h) },
            ),
        )
        .route(
            "/feed.rss",
            get(
                |s: State<AppState>,
                 q: Query<HashMap<String, String>>,
                 u: OriginalUri,
                 h: HeaderMap| { serve_feed(Format::Rss, s, q, u, h) },
            ),
        )
        .route(
            "/feed.json",
            get(
                |s: State<AppState>,
                 q: Query<HashMap<String, String>>,
                 u: OriginalUri,
                 h: HeaderMap| { serve_feed(Format::Json, s, q, u, h) },
            ),
        )
        .route("/status", get(status))
        .with_state(state)
}

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut r = (status, format!("{}\n", msg.into())).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn index() -> Response {
    plain(
        StatusCode::OK,
        "newswire: the merged feed is at /feed.atom, /feed.rss and /feed.json \
         (narrow it with ?tag=, ?feed=, ?limit=); feed health at /status",
    )
}

fn parse_view(q: &HashMap<String, String>) -> Result<View, String> {
    let limit = match q.get("limit") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => return Err(format!("limit must be a number from 1 to 10000, not {l:?}")),
        },
    };
    Ok(View {
        tag: q.get("tag").filter(|t| !t.is_empty()).cloned(),
        feed: q.get("feed").filter(|f| !f.is_empty()).cloned(),
        limit,
    })
}

/// The URL the reader used, for `rel="self"`: behind a reverse proxy, from
/// X-Forwarded-Proto and X-Forwarded-Host; else from Host.
fn self_url(headers: &HeaderMap, uri: &OriginalUri) -> Option<String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let host = get("x-forwarded-host").or_else(|| get("host"))?;
    if host.contains(['/', ' ', '"', '<', '>', '\\', '@']) {
        return None;
    }
    let scheme = match get("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}{}", uri.0))
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> Option<bool> {
    let inm = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    Some(
        inm.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*"),
    )
}

fn not_modified_since(headers: &HeaderMap, last_modified: DateTime<Utc>) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| DateTime::<Utc>::from(since).timestamp() >= last_modified.timestamp())
}

/// Answers with `body`, or 304 when the request's validators still match.
fn conditional(
    headers: &HeaderMap,
    content_type: &'static str,
    body: String,
    last_modified: DateTime<Utc>,
) -> Response {
    let etag = format!("\"{}\"", &hash_parts(&[&body])[..24]);
    let fresh = match etag_matches(headers, &etag) {
        Some(m) => m,
        None => not_modified_since(headers, last_modified),
    };
    let lm = httpdate::fmt_http_date(std::time::SystemTime::from(last_modified));
    let builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, lm)
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let resp = if fresh {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
    };
    resp.unwrap_or_else(|e| plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn serve_feed(
    format: Format,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let view = match parse_view(&q) {
        Ok(v) => v,
        Err(msg) => return plain(StatusCode::BAD_REQUEST, msg),
    };
    let config = state.config.borrow().clone();
    let built = state
        .store
        .call(move |s| Ok(super::build(s, &config, &view)))
        .await;
    let feed = match built {
        Ok(Ok(feed)) => feed,
        Ok(Err(e @ (PublishError::UnknownFeed(_) | PublishError::UnknownTag(_)))) => {
            return plain(StatusCode::NOT_FOUND, e.to_string());
        }
        Ok(Err(e)) => return plain(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
    };
    let body = format.render(&feed, self_url(&headers, &uri).as_deref());
    conditional(&headers, format.content_type(), body, feed.updated)
}

async fn status(State(state): State<AppState>) -> Response {
    let config = state.config.borrow().clone();
    let result = state
        .store
        .call(move |s| {
            let feeds = super::feed_statuses(s, &config, Utc::now())?;
            let (entries, stories) = s.counts()?;
            Ok(serde_json::json!({ "feeds": feeds, "entries": entries, "stories": stories }))
        })
        .await;
    match result {
        Ok(v) => {
            let mut r = axum::Json(v).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
    }
}
