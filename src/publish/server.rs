//! HTTP: the merged feed in three formats and `/status`, read-only over the store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::cache::{RenderCache, Rendered, Stamp};
use super::{FeedLinks, MergedFeed, PublishError, View};
use crate::config::Config;
use crate::dedup::hash_parts;
use crate::poll::error_chain;
use crate::store::{Db, StoreError};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store, read through its read connection.
    pub store: Db,
    /// The config in force (replaced on reload).
    pub config: watch::Receiver<Arc<Config>>,
    /// The scheduler's heartbeat, for `/healthz`.
    pub health: Arc<Heartbeat>,
    /// Rendered feeds, kept until the store or the config changes.
    pub cache: Arc<RenderCache>,
    /// Why the last config reload failed, while the daemon runs on its last good config.
    pub reload: Arc<ReloadStatus>,
}

/// Whether the last config reload failed: the daemon then runs on its last good config, and
/// `/status`, `/metrics` and the page say so until a later reload succeeds.
#[derive(Debug, Default)]
pub struct ReloadStatus {
    error: std::sync::Mutex<Option<ReloadError>>,
}

/// A reload that failed: what went wrong, and when.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadError {
    /// The error, as the log says it (file, line and column, what was expected).
    pub message: String,
    /// When the reload failed.
    pub at: DateTime<Utc>,
}

impl ReloadStatus {
    /// Records a failed reload.
    pub fn failed(&self, message: String) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(ReloadError {
            message,
            at: Utc::now(),
        });
        crate::metrics::metrics().config_reload_failed(true);
    }

    /// Records a reload that succeeded (clearing an earlier failure).
    pub fn succeeded(&self) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        crate::metrics::metrics().config_reload_failed(false);
    }

    /// The last reload's failure, if it failed.
    pub fn error(&self) -> Option<ReloadError> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// When the scheduler last ran its heartbeat job: a scheduler that stops ticking is wedged.
#[derive(Debug)]
pub struct Heartbeat {
    last: std::sync::atomic::AtomicI64,
    /// How often the heartbeat job runs.
    pub every: std::time::Duration,
}

impl Heartbeat {
    /// A heartbeat expected every `every`, counted as beating now.
    pub fn new(every: std::time::Duration) -> Heartbeat {
        Heartbeat {
            last: std::sync::atomic::AtomicI64::new(Utc::now().timestamp()),
            every,
        }
    }

    /// Records a beat.
    pub fn beat(&self) {
        self.last
            .store(Utc::now().timestamp(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a beat came recently enough (within three periods).
    pub fn alive(&self) -> bool {
        let last = self.last.load(std::sync::atomic::Ordering::Relaxed);
        Utc::now().timestamp() - last <= 3 * self.every.as_secs().max(1) as i64
    }
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

    /// The file extension of its route (`/feed.atom`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
        }
    }

    /// The links of an output file: with `public_url`, the route that serves the same
    /// document (`rel="self"`) and the page; without it, none (the file has no URL we know).
    pub fn file_links(self, public_url: Option<&url::Url>) -> FeedLinks {
        match public_url {
            None => FeedLinks::default(),
            Some(u) => {
                let base = super::proxy::PublicBase::from_url(u);
                FeedLinks {
                    self_url: Some(base.absolute(&format!("/feed.{}", self.extension()))),
                    next_url: None,
                    alternate_url: Some(base.absolute("/")),
                }
            }
        }
    }

    /// Renders a merged feed in this format.
    pub fn render(self, feed: &MergedFeed, links: &FeedLinks) -> String {
        match self {
            Format::Atom => super::atom::render_with(feed, links),
            Format::Rss => super::rss::render_with(feed, links),
            Format::Json => super::json::render_with(feed, links),
        }
    }
}

/// What a request asked for: a view of the merged feed, as a feed or as the HTML page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    Feed(Format),
    Page,
}

/// The routes: the merged feed (`/feed.atom`, `/feed.rss`, `/feed.json`), named views
/// (`/views/NAME.atom` ...), the river-of-news page (`/`, `/views/NAME`), and `/status`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|s, q, u, h| serve(None, Output::Page, s, q, u, h)))
        .route(
            "/feed.atom",
            get(|s, q, u, h| serve(None, Output::Feed(Format::Atom), s, q, u, h)),
        )
        .route(
            "/feed.rss",
            get(|s, q, u, h| serve(None, Output::Feed(Format::Rss), s, q, u, h)),
        )
        .route(
            "/feed.json",
            get(|s, q, u, h| serve(None, Output::Feed(Format::Json), s, q, u, h)),
        )
        .route("/views/{file}", get(serve_view))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/stories/{id}", get(super::story::route))
        .route_layer(axum::middleware::from_fn(measure))
        .layer(axum::middleware::map_response(nosniff))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// Every response says `nosniff`, errors and 404s included: a browser must never guess
/// HTML or script out of a plain-text error that repeats a request's or a feed's words.
async fn nosniff(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

async fn serve_view(
    Path(file): Path<String>,
    s: State<AppState>,
    q: Query<HashMap<String, String>>,
    u: OriginalUri,
    h: HeaderMap,
) -> Response {
    let (name, output) = match file.rsplit_once('.') {
        Some((n, "atom")) => (n, Output::Feed(Format::Atom)),
        Some((n, "rss")) => (n, Output::Feed(Format::Rss)),
        Some((n, "json")) => (n, Output::Feed(Format::Json)),
        _ => (file.as_str(), Output::Page),
    };
    serve(Some(name.to_string()), output, s, q, u, h).await
}

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    // a message may quote what a request or SQLite said: no markup, no control characters
    // reach the body, whatever a browser makes of text/plain
    let msg: String = msg
        .into()
        .chars()
        .map(|c| match c {
            '<' | '>' => super::shown(&c.to_string()),
            c if c.is_control() => super::shown(&c.to_string()),
            c => c.to_string(),
        })
        .collect();
    let mut r = (status, format!("{msg}\n")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn parse_view(view: Option<String>, q: &HashMap<String, String>) -> Result<View, String> {
    let limit = match q.get("limit") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => Some(n),
            _ => {
                return Err(format!(
                    "limit must be a number from 1 to 10000, not \"{}\"",
                    super::shown(l)
                ));
            }
        },
    };
    let param = |k: &str| {
        q.get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok(View {
        view,
        tag: param("tag"),
        feed: param("feed"),
        q: param("q"),
        limit,
        before: param("before"),
        all_copies: match param("dedup").as_deref() {
            None | Some("on") => false,
            Some("off") => true,
            Some(other) => {
                return Err(format!(
                    "dedup must be \"on\" or \"off\", not \"{}\"",
                    super::shown(other)
                ));
            }
        },
    })
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

/// The ETag of a document: a hash of its bytes.
fn etag_of(body: &str) -> String {
    format!("\"{}\"", &hash_parts(&[body])[..24])
}

/// Answers with `body`, or 304 when the request's validators still match. Without a
/// `last_modified` (a body that changes in ways no date tracks), only the ETag validates.
fn conditional(
    headers: &HeaderMap,
    content_type: &'static str,
    body: String,
    last_modified: Option<DateTime<Utc>>,
) -> Response {
    let etag = etag_of(&body);
    conditional_with(headers, content_type, body.into(), &etag, last_modified)
}

/// As [`conditional`], for a body whose ETag is known.
fn conditional_with(
    headers: &HeaderMap,
    content_type: &'static str,
    body: Bytes,
    etag: &str,
    last_modified: Option<DateTime<Utc>>,
) -> Response {
    let fresh = match etag_matches(headers, etag) {
        Some(m) => m,
        None => last_modified.is_some_and(|lm| not_modified_since(headers, lm)),
    };
    let mut builder = Response::builder()
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "no-cache");
    if let Some(lm) = last_modified {
        builder = builder.header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(std::time::SystemTime::from(lm)),
        );
    }
    let builder = builder.header(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*");
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

/// `uri` with its `before` parameter set to `cursor` (or removed), and its path replaced by
/// `path` when given.
fn with_cursor(uri: &axum::http::Uri, path: Option<&str>, cursor: Option<&str>) -> String {
    rewrite(uri, path, &["before"], cursor.map(|c| ("before", c)))
}

/// `uri` (newswire's own path and query) with the parameters in `drop` removed, `set` added,
/// and its path replaced by `path` when given.
fn rewrite(
    uri: &axum::http::Uri,
    path: Option<&str>,
    drop: &[&str],
    set: Option<(&str, &str)>,
) -> String {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, _)| !drop.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .chain(set.map(|(k, v)| (k.to_string(), v.to_string())))
            .collect();
    let mut out = path.unwrap_or(uri.path()).to_string();
    if !pairs.is_empty() {
        out.push('?');
        out.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish(),
        );
    }
    out
}

/// The active filters of a page, each with the page without it (breadcrumbs).
fn crumbs(
    uri: &axum::http::Uri,
    view: &View,
    config: &Config,
    base: &super::proxy::PublicBase,
    page_path: &str,
) -> Vec<super::page::Crumb> {
    let drop = |keys: &[&str], path: Option<&str>| {
        // a filter dropped starts again from the newest stories
        let mut all = vec!["before"];
        all.extend_from_slice(keys);
        base.path(&rewrite(uri, Some(path.unwrap_or(page_path)), &all, None))
    };
    let mut out = Vec::new();
    if let Some(name) = &view.view {
        let title = config
            .view(name)
            .map_or(name.as_str(), |v| v.title.as_str());
        out.push(super::page::Crumb {
            kind: "view",
            label: title.to_string(),
            drop_url: drop(&[], Some("/")),
        });
    }
    if let Some(f) = &view.feed {
        out.push(super::page::Crumb {
            kind: "feed",
            label: f.clone(),
            drop_url: drop(&["feed"], None),
        });
    }
    if let Some(t) = &view.tag {
        out.push(super::page::Crumb {
            kind: "tag",
            label: t.clone(),
            drop_url: drop(&["tag"], None),
        });
    }
    if let Some(q) = &view.q {
        let shown = crate::search::parse(q).display();
        out.push(super::page::Crumb {
            kind: "search",
            label: if shown.is_empty() { q.clone() } else { shown },
            drop_url: drop(&["q"], None),
        });
    }
    if view.all_copies {
        out.push(super::page::Crumb {
            kind: "every copy",
            label: "dedup off".to_string(),
            drop_url: drop(&["dedup"], None),
        });
    }
    out
}

/// A request for a view of the merged feed, taken apart.
struct Asked {
    /// The `[[view]]` named in the path, if any.
    view_name: Option<String>,
    view: View,
    query: HashMap<String, String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    base: super::proxy::PublicBase,
    /// The config in force when the request came.
    config: Arc<Config>,
}

impl Asked {
    /// The HTML page of the same view.
    fn page_path(&self) -> String {
        match &self.view_name {
            Some(n) => format!("/views/{n}"),
            None => "/".to_string(),
        }
    }

    /// The same view as a feed document (`ext`: atom, rss, json).
    fn feed_path(&self, ext: &str) -> String {
        match &self.view_name {
            Some(n) => format!("/views/{n}.{ext}"),
            None => format!("/feed.{ext}"),
        }
    }

    /// The links of a feed document answering this request, whose next page starts at
    /// `next_cursor`.
    fn feed_links(&self, next_cursor: Option<&str>) -> FeedLinks {
        let (uri, base) = (&self.uri, &self.base);
        FeedLinks {
            self_url: Some(base.absolute(&with_cursor(uri, None, view_cursor(&self.query)))),
            next_url: next_cursor.map(|c| base.absolute(&with_cursor(uri, None, Some(c)))),
            alternate_url: Some(base.absolute(&with_cursor(uri, Some(&self.page_path()), None))),
        }
    }

    /// The links of the HTML page answering this request.
    fn page_links(&self, next_cursor: Option<&str>) -> super::page::PageLinks {
        let (uri, base, page_path) = (&self.uri, &self.base, self.page_path());
        let feed = |ext: &str| base.path(&with_cursor(uri, Some(&self.feed_path(ext)), None));
        super::page::PageLinks {
            atom: feed("atom"),
            rss: feed("rss"),
            json: feed("json"),
            older: next_cursor.map(|c| base.path(&with_cursor(uri, Some(&page_path), Some(c)))),
            newest: self
                .view
                .before
                .as_ref()
                .map(|_| base.path(&with_cursor(uri, Some(&page_path), None))),
            root: base.prefix.clone(),
            here: base.path(&page_path),
            crumbs: crumbs(uri, &self.view, &self.config, base, &page_path),
        }
    }
}

/// The merged feed, or a view of it, as a feed document or as the page.
async fn serve(
    view_name: Option<String>,
    output: Output,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let view = match parse_view(view_name.clone(), &query) {
        Ok(v) => v,
        Err(msg) => return plain(StatusCode::BAD_REQUEST, msg),
    };
    let config = state.config.borrow().clone();
    let base = super::proxy::public_base(&headers, config.public_url.as_ref());
    let asked = Asked {
        view_name,
        view,
        query,
        uri: uri.0,
        headers,
        base,
        config,
    };
    match output {
        Output::Feed(format) => serve_feed(&state, format, asked).await,
        Output::Page => serve_page(&state, asked).await,
    }
}

/// A feed document: from the render cache when it holds one that is current (or, while a
/// poll runs, recent: see [`super::cache`]), else rendered off the async workers.
async fn serve_feed(state: &AppState, format: Format, asked: Asked) -> Response {
    let asked = Arc::new(asked);
    let key = format!(
        "{format:?} {} {} {}",
        asked.base.origin.as_deref().unwrap_or_default(),
        asked.base.prefix,
        asked.uri
    );
    let answer = |r: &Rendered| {
        let body = r.body.clone();
        conditional_with(
            &asked.headers,
            format.content_type(),
            body,
            &r.etag,
            Some(r.updated),
        )
    };
    // while a poll runs, a render under a second old is served without a look at the store
    if let Some(r) = state.cache.recent(&key, &asked.config) {
        return answer(&r);
    }
    let rendered = match state.store.call(|s| s.generation()).await {
        Ok(generation) => {
            let now = Stamp {
                generation,
                config: Arc::clone(&asked.config),
            };
            let render = || render_feed(state, format, Arc::clone(&asked));
            state.cache.get(&key, &now, render).await
        }
        // the render says what is wrong with the database, if it still is
        Err(_) => render_feed(state, format, Arc::clone(&asked))
            .await
            .map(|(_, r)| Arc::new(r)),
    };
    match rendered {
        Ok(r) => answer(&r),
        Err(response) => response,
    }
}

/// Builds and renders a feed document on the blocking pool, with the stamp it shows.
async fn render_feed(
    state: &AppState,
    format: Format,
    asked: Arc<Asked>,
) -> Result<(Stamp, Rendered), Response> {
    let config = Arc::clone(&asked.config);
    let built = state
        .store
        .call(move |s| {
            // read first: the render shows at least this generation
            let generation = s.generation()?;
            let mut feed = match super::build(s, &asked.config, &asked.view) {
                Ok(feed) => feed,
                Err(e) => return Ok(Err(e)),
            };
            super::source::credit_authors(&mut feed, asked.config.output.source_in);
            let body = format.render(&feed, &asked.feed_links(feed.next_cursor.as_deref()));
            Ok(Ok((generation, body, feed.updated)))
        })
        .await;
    match built {
        Ok(Ok((generation, body, updated))) => Ok((
            Stamp { generation, config },
            Rendered {
                etag: etag_of(&body),
                body: body.into(),
                updated,
            },
        )),
        Ok(Err(e)) => {
            let (status, message) = problem(&e);
            Err(plain(status, message))
        }
        Err(e) => Err(plain(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e))),
    }
}

/// The status and the message a request gets for a view that cannot be shown.
fn problem(e: &PublishError) -> (StatusCode, String) {
    let status = match e {
        PublishError::UnknownFeed(_)
        | PublishError::UnknownTag(_)
        | PublishError::UnknownView(_) => StatusCode::NOT_FOUND,
        PublishError::BadCursor(_) | PublishError::Store(StoreError::BadQuery(_)) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // never SQLite's own words: the parser should make this unreachable
    let message = match e {
        PublishError::Store(StoreError::BadQuery(_)) => {
            "this search could not be run; try plain words".to_string()
        }
        _ => error_chain(e),
    };
    (status, message)
}

/// The river-of-news page (never cached: it shows the feeds' health as of now). A view that
/// cannot be shown is a page that says why, with the status that says so.
async fn serve_page(state: &AppState, asked: Asked) -> Response {
    let (config, view) = (Arc::clone(&asked.config), asked.view.clone());
    let built = state
        .store
        .call(move |s| {
            let feed = super::build(s, &config, &view);
            let health = super::feed_statuses(s, &config, Utc::now())?;
            Ok((feed, health))
        })
        .await;
    let (feed, health, problem) = match built {
        Ok((Ok(feed), health)) => (feed, health, None),
        Ok((Err(e), health)) => (super::empty_feed(&asked.config), health, Some(problem(&e))),
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
    };
    let html = super::page::render(
        &feed,
        &asked.config,
        &asked.view,
        &health,
        &asked.page_links(feed.next_cursor.as_deref()),
        problem.as_ref().map(|(_, m)| m.as_str()),
        state.reload.error().as_ref().map(|e| e.message.as_str()),
        Utc::now(),
    );
    let html = match html {
        Ok(html) => html,
        Err(e) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot render the page: {e}"),
            );
        }
    };
    let mut r = conditional(&asked.headers, "text/html; charset=utf-8", html, None);
    if let (Some((status, _)), StatusCode::OK) = (problem, r.status()) {
        *r.status_mut() = status;
    }
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::page::CONTENT_SECURITY_POLICY),
    );
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn view_cursor(q: &HashMap<String, String>) -> Option<&str> {
    q.get("before")
        .map(String::as_str)
        .filter(|c| !c.is_empty())
}

/// Counts every request and its latency, by route (the route's pattern, not the raw path,
/// so that the label set stays small).
async fn measure(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    crate::metrics::metrics().request(&route, resp.status().as_u16(), started.elapsed());
    resp
}

async fn metrics(State(state): State<AppState>) -> Response {
    let config = state.config.borrow().clone();
    let result = state
        .store
        .call(move |s| {
            let mut by_state: Vec<(String, i64)> = Vec::new();
            for f in super::feed_statuses(s, &config, Utc::now())? {
                match by_state.iter_mut().find(|(st, _)| *st == f.state.as_str()) {
                    Some((_, n)) => *n += 1,
                    None => by_state.push((f.state.to_string(), 1)),
                }
            }
            Ok((by_state, s.size_bytes()?))
        })
        .await;
    match result {
        Ok((by_state, bytes)) => {
            let body = crate::metrics::metrics().render(&by_state, bytes);
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
    }
}

/// 200 while the scheduler beats and the database answers; 503 (saying which) otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    let db = state.store.call(|s| s.counts().map(|_| ())).await;
    let scheduler = state.health.alive();
    let mut r = match (scheduler, db) {
        (true, Ok(())) => plain(StatusCode::OK, "ok"),
        (false, _) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the scheduler has stopped ticking",
        ),
        (_, Err(e)) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database does not answer: {}", error_chain(&e)),
        ),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn status(State(state): State<AppState>) -> Response {
    let config = state.config.borrow().clone();
    let reload = state.reload.error();
    let result = state
        .store
        .call(move |s| {
            let feeds = super::feed_statuses(s, &config, Utc::now())?;
            let (entries, stories) = s.counts()?;
            let (instances, differences) = instances(&s.feed_lists()?, &config);
            Ok(serde_json::json!({
                "feeds": feeds,
                "entries": entries,
                "stories": stories,
                "instances": instances,
                "feed_list_differences": differences,
                // null while the config in force is the file's
                "config_error": reload.as_ref().map(|e| &e.message),
                "config_error_at": reload.as_ref().map(|e| e.at),
            }))
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

/// For `/status`: every instance whose feed list the database holds (name, last heartbeat,
/// how many feeds, whether it is this one), and how the others' lists differ from this one's.
fn instances(
    lists: &[crate::store::lists::KnownList],
    config: &Config,
) -> (Vec<serde_json::Value>, Vec<crate::store::lists::Difference>) {
    let mine = config.feed_list();
    let shown = lists
        .iter()
        .map(|l| {
            serde_json::json!({
                "name": l.owner,
                "last_seen": l.seen,
                "feeds": l.feeds.len(),
                "this": l.owner == config.instance,
            })
        })
        .collect();
    let differences = crate::store::lists::differences(&mine, lists);
    (shown, differences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_response_says_nosniff_errors_included() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse(&dir.path().join("n.toml"), "database = \"n.db\"\n").unwrap();
        let store =
            crate::store::Db::new(crate::store::Store::open(&dir.path().join("n.db")).unwrap());
        let (_tx, config) = watch::channel(Arc::new(config));
        let app = router(AppState {
            store,
            config,
            health: Arc::new(Heartbeat::new(std::time::Duration::from_secs(60))),
            cache: Default::default(),
            reload: Default::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        for (path, status) in [
            ("/feed.atom", 200),
            ("/", 200),
            ("/status", 200),
            ("/nope", 404),
            ("/views/nope", 404),
            ("/feed.json?limit=0", 400),
        ] {
            let r = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
            assert_eq!(r.status(), status, "{path}");
            assert_eq!(
                r.headers()
                    .get("x-content-type-options")
                    .map(|v| v.as_bytes()),
                Some(&b"nosniff"[..]),
                "{path}"
            );
        }
    }
}
