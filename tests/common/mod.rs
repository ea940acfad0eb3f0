//! Test helpers: a real HTTP server on 127.0.0.1:0 serving fixture feeds with real headers
//! (and counting what it was asked), and the real pipeline over a temporary SQLite file.
#![allow(dead_code)]

pub mod clusters;
pub mod compress;
pub mod daemon;
pub mod hub;
pub mod pg;
pub mod raw;
pub mod terminal;

#[allow(unused_imports)]
pub use compress::{brotli_padded, crc32, gzip_padded};
#[allow(unused_imports)]
pub use daemon::Daemon;
#[allow(unused_imports)]
pub use terminal::newswire_at_terminal;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use newswire::config::Config;
use newswire::poll::{PollOptions, PollSummary, Poller};
use newswire::publish::{self, MergedFeed, View};

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Route {
    /// HTTP status.
    pub status: u16,
    /// Response headers (ETag is added from the body's hash when `etag` is set).
    pub headers: Vec<(String, String)>,
    /// The body, as bytes (any encoding).
    pub body: Vec<u8>,
    /// Serve an ETag and answer If-None-Match with 304.
    pub etag: bool,
    /// Wait this long before answering.
    pub delay_ms: u64,
}

impl Route {
    /// A feed served with the given Content-Type, with ETag support.
    pub fn feed(content_type: &str, body: impl Into<Vec<u8>>) -> Route {
        Route {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            etag: true,
            delay_ms: 0,
        }
    }

    /// An RSS 2.0 document served as application/rss+xml.
    pub fn rss(body: impl Into<Vec<u8>>) -> Route {
        Route::feed("application/rss+xml", body)
    }

    /// An Atom document served as application/atom+xml.
    pub fn atom(body: impl Into<Vec<u8>>) -> Route {
        Route::feed("application/atom+xml", body)
    }

    /// A bare status with a short text body.
    pub fn status(status: u16) -> Route {
        Route {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: format!("status {status}").into_bytes(),
            etag: false,
            delay_ms: 0,
        }
    }

    /// Adds a header.
    pub fn header(mut self, k: &str, v: &str) -> Route {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Path and query.
    pub path: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Status answered.
    pub status: u16,
    /// When it was answered.
    pub at: std::time::SystemTime,
}

#[derive(Default)]
struct Inner {
    routes: HashMap<String, Route>,
    seen: Vec<Seen>,
    /// Requests being answered now, and the most at once, per path.
    in_flight: HashMap<String, (usize, usize)>,
    /// The same over every path (of routes with a delay).
    in_flight_all: (usize, usize),
}

/// A fixture server on 127.0.0.1:0.
#[derive(Clone)]
pub struct FixtureServer {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn body_etag(body: &[u8]) -> String {
    format!(
        "\"{}\"",
        &newswire::dedup::hash_parts(&[&String::from_utf8_lossy(body)])[..16]
    )
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let route = inner.lock().unwrap().routes.get(&path).cloned();
    let (status, resp) = match route {
        None => (
            404,
            Response::builder()
                .status(404)
                .body(Body::from("not found"))
                .unwrap(),
        ),
        Some(route) => {
            if route.delay_ms > 0 {
                {
                    let mut i = inner.lock().unwrap();
                    let slot = i.in_flight.entry(path.clone()).or_default();
                    slot.0 += 1;
                    slot.1 = slot.1.max(slot.0);
                    i.in_flight_all.0 += 1;
                    i.in_flight_all.1 = i.in_flight_all.1.max(i.in_flight_all.0);
                }
                tokio::time::sleep(std::time::Duration::from_millis(route.delay_ms)).await;
                let mut i = inner.lock().unwrap();
                i.in_flight.entry(path.clone()).or_default().0 -= 1;
                i.in_flight_all.0 -= 1;
            }
            let etag = route.etag.then(|| body_etag(&route.body));
            let inm = req
                .headers()
                .get("if-none-match")
                .and_then(|v| v.to_str().ok());
            if let (Some(e), Some(inm)) = (&etag, inm) {
                if inm == e {
                    let r = Response::builder()
                        .status(304)
                        .header("etag", e)
                        .body(Body::empty())
                        .unwrap();
                    inner.lock().unwrap().seen.push(Seen {
                        path,
                        headers: req.headers().clone(),
                        status: 304,
                        at: std::time::SystemTime::now(),
                    });
                    return r;
                }
            }
            let mut b = Response::builder().status(StatusCode::from_u16(route.status).unwrap());
            for (k, v) in &route.headers {
                b = b.header(k, v);
            }
            if let Some(e) = etag {
                b = b.header("etag", e);
            }
            (
                route.status,
                b.body(Body::from(route.body.clone())).unwrap(),
            )
        }
    };
    inner.lock().unwrap().seen.push(Seen {
        path,
        headers: req.headers().clone(),
        status,
        at: std::time::SystemTime::now(),
    });
    resp
}

impl FixtureServer {
    /// Starts a server on the current tokio runtime.
    pub async fn start() -> FixtureServer {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FixtureServer { addr, inner }
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Serves `route` at `path` from now on.
    pub fn set(&self, path: &str, route: Route) {
        self.inner
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), route);
    }

    /// Requests received for `path`.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    /// The most requests for `path` (with a delay) that were being answered at once.
    pub fn max_in_flight(&self, path: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .in_flight
            .get(path)
            .map_or(0, |s| s.1)
    }

    /// The most requests (to routes with a delay) that were being answered at once, over
    /// every path.
    pub fn max_in_flight_all(&self) -> usize {
        self.inner.lock().unwrap().in_flight_all.1
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        self.seen(path).len()
    }
}

/// A config file in a temporary folder; the database goes beside it.
pub struct TestEnv {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
    /// The config file.
    pub config_path: PathBuf,
    /// The config's `database`: a file in `dir`, or a PostgreSQL database of its own when
    /// `NEWSWIRE_E2E_DATABASE=postgres` (the end-to-end tests on the second store).
    pub database: String,
}

impl TestEnv {
    /// Writes `feeds_toml` (the `[[feed]]` tables, and anything else) below a header that
    /// sets the database, a fast timeout and a port-0 listener.
    pub fn new(feeds_toml: &str) -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("newswire.toml");
        let database = match std::env::var("NEWSWIRE_E2E_DATABASE").as_deref() {
            Ok("postgres") => {
                let server =
                    pg::server().expect("NEWSWIRE_E2E_DATABASE=postgres needs NEWSWIRE_TEST_PG");
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                pg::scratch(&server, &format!("nw_e2e_{}_{n}", std::process::id()))
            }
            _ => "newswire.db".to_string(),
        };
        let env = TestEnv {
            dir,
            config_path,
            database,
        };
        env.write(feeds_toml);
        env
    }

    /// Replaces the config's feeds (same header).
    pub fn write(&self, feeds_toml: &str) {
        let text = format!(
            "database = \"{}\"\nlisten = \"127.0.0.1:0\"\n\n[fetch]\ntimeout = \"5s\"\n\n{feeds_toml}\n",
            self.database
        );
        std::fs::write(&self.config_path, text).unwrap();
    }

    /// The config as it is now.
    pub fn config(&self) -> Config {
        Config::load(&self.config_path).unwrap()
    }

    /// The database path.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("newswire.db")
    }

    /// Polls every enabled feed once through the real pipeline, as `newswire poll` does.
    pub async fn poll(&self) -> Vec<PollSummary> {
        let config = self.config();
        let store = newswire::daemon::open_store(&config).await.unwrap();
        let poller = Poller::new(store.clone(), &config.fetch, Default::default()).unwrap();
        poller.set_rules(&config.rules);
        let mut out = Vec::new();
        for f in config.feeds.iter().filter(|f| f.enabled) {
            out.push(
                poller
                    .poll(f, config.schedule_of(f), PollOptions::default())
                    .await,
            );
        }
        out
    }

    /// The store the config names (SQLite or PostgreSQL), opened fresh.
    pub fn store(&self) -> newswire::store::Db {
        newswire::store::Db::open(&self.config().database).unwrap()
    }

    /// The merged feed a subscriber would get for `view`.
    pub fn merged(&self, view: &View) -> MergedFeed {
        publish::build(self.store().storage(), &self.config(), view).unwrap()
    }

    /// The merged Atom document, parsed back with an independent parser (feed-rs).
    pub fn merged_atom_parsed(&self) -> feed_rs::model::Feed {
        let xml = publish::atom::render(
            &self.merged(&View::default()),
            Some("http://localhost/feed.atom"),
        );
        feed_rs::parser::parse(xml.as_bytes()).expect("merged Atom parses")
    }
}

/// The path of a file under tests/fixtures.
pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `newswire` binary under test. Cargo sets its path for integration tests only; the
/// conformance example includes this module too but never runs the binary.
pub const BIN: &str = match option_env!("CARGO_BIN_EXE_newswire") {
    Some(path) => path,
    None => "(CARGO_BIN_EXE_newswire is set for integration tests only)",
};

/// Where `program` is on PATH, if it is.
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// The date every item of [`rss_stories`] carries.
pub const STORY_DATE: &str = "Mon, 02 Jun 2025 10:00:00 +0000";

/// One RSS 2.0 `<item>` linking to `https://news.example.com/{guid}.html`; `body` is the
/// description as it stands in the XML (escape HTML yourself).
pub fn rss_item(guid: &str, title: &str, body: &str, date: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><title>{title}</title><link>https://news.example.com/{guid}.html</link>\
         <description>{body}</description><pubDate>{date}</pubDate></item>"
    )
}

/// An RSS 2.0 document for the site https://news.example.com/: `channel_extra` (raw XML)
/// after the channel's title and link, then `items`.
pub fn rss_document(title: &str, channel_extra: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>{title}</title>\
         <link>https://news.example.com/</link>{channel_extra}{}</channel></rss>",
        items.concat()
    )
}

/// An item per (guid, title), each with the description "{title} body" and [`STORY_DATE`].
pub fn story_items(stories: &[(&str, &str)]) -> Vec<String> {
    stories
        .iter()
        .map(|(guid, title)| rss_item(guid, title, &format!("{title} body"), STORY_DATE))
        .collect()
}

/// An RSS 2.0 document of [`story_items`].
pub fn rss_stories(title: &str, stories: &[(&str, &str)]) -> String {
    rss_document(title, "", &story_items(stories))
}

/// The entry titles of a parsed feed, in document order.
pub fn titles(f: &feed_rs::model::Feed) -> Vec<String> {
    f.entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// A UTC time to the minute.
pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}
