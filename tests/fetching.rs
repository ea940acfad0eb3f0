mod common;
use common::*;

// Polite, resilient fetching (issue 3), against scripted local servers that count what they
// were asked: conditional GET, Retry-After pauses per host, backoff, redirects, 410 Gone,
// limits, "not a feed", charsets, cache hints, identity on the wire, and the binary's view.
//
// Polls go through `Poller::poll` as the callers do: the daemon (respect_backoff), a manual
// `newswire poll` (neither flag) and `newswire poll --force` (force).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use newswire::config::Config;
use newswire::poll::{Outcome, PollOptions, PollSummary, Poller};
use newswire::publish::{FeedStatus, feed_statuses};
use newswire::store::FeedState;

// ---------------------------------------------------------------------------------------------
// helpers

/// What the daemon's scheduler does.
const DAEMON: PollOptions = PollOptions {
    force: false,
    respect_backoff: true,
    tick: None,
    joining: false,
};
/// `newswire poll`.
const MANUAL: PollOptions = PollOptions {
    force: false,
    respect_backoff: false,
    tick: None,
    joining: false,
};
/// `newswire poll --force`.
const FORCE: PollOptions = PollOptions {
    force: true,
    respect_backoff: false,
    tick: None,
    joining: false,
};

const EVERY_15_MIN: &str = "0 */15 * * * *";

fn feed_toml(name: &str, url: &str) -> String {
    format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\nschedule = \"{EVERY_15_MIN}\"\n\n")
}

/// A config with extra `[fetch]` settings (TestEnv's header has a `[fetch]` table of its own).
fn env_with_fetch(fetch: &str, feeds: &str) -> TestEnv {
    let env = TestEnv::new(feeds);
    std::fs::write(
        &env.config_path,
        format!(
            "database = \"{}\"\nlisten = \"127.0.0.1:0\"\n\n[fetch]\ntimeout = \"5s\"\n{fetch}\n\n{feeds}\n",
            env.database
        ),
    )
    .unwrap();
    env
}

/// `url` with 127.0.0.1 replaced by `localhost`: the same server under another host name.
fn via_localhost(url: &str) -> String {
    url.replacen("127.0.0.1", "localhost", 1)
}

fn rss_doc(title: &str, items: &[(&str, &str)], extra_channel: &str) -> String {
    rss_document(
        title,
        &format!("<description>d</description>{extra_channel}"),
        &story_items(items),
    )
}

fn simple_rss(title: &str) -> String {
    rss_doc(title, &[("a1", "First story"), ("a2", "Second story")], "")
}

/// A store and poller over a TestEnv's config, as one process would hold them.
struct Rig {
    env: TestEnv,
    config: Config,
    store: newswire::store::Db,
    poller: Poller,
}

impl Rig {
    async fn new(env: TestEnv) -> Rig {
        Rig::with(env, |_| {}).await
    }

    /// With the loaded config adjusted in memory first (e.g. a short timeout).
    async fn with(env: TestEnv, adjust: impl FnOnce(&mut Config)) -> Rig {
        let mut config = env.config();
        adjust(&mut config);
        let store = newswire::daemon::open_store(&config).await.unwrap();
        let poller =
            Poller::new(store.clone(), &config.fetch, CancellationToken::new()).expect("poller");
        Rig {
            env,
            config,
            store,
            poller,
        }
    }

    /// A new process over the same database file.
    async fn restart(self) -> Rig {
        let Rig { env, config, .. } = self;
        Rig::with(env, |c| *c = config).await
    }

    async fn poll(&self, name: &str, options: PollOptions) -> PollSummary {
        let feed = self
            .config
            .feed(name)
            .unwrap_or_else(|| panic!("no feed {name}"));
        self.poller
            .poll(feed, self.config.schedule_of(feed), options)
            .await
    }

    fn state(&self, name: &str) -> FeedState {
        self.store.feed_state(name).unwrap().expect("feed state")
    }

    fn status(&self, name: &str) -> FeedStatus {
        feed_statuses(self.store.storage(), &self.config, Utc::now())
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
            .expect("feed status")
    }

    fn counts(&self) -> (u64, u64) {
        self.store.counts().unwrap()
    }
}

fn assert_updated(s: &PollSummary) {
    assert!(matches!(s.outcome, Outcome::Updated { .. }), "{s}");
}

fn failed_error(s: &PollSummary) -> String {
    match &s.outcome {
        Outcome::Failed { error, .. } => error.clone(),
        other => panic!("{}: expected a failure, got {other:?}", s.feed),
    }
}

fn paused_until(s: &PollSummary) -> DateTime<Utc> {
    match &s.outcome {
        Outcome::Paused { until, .. } => *until,
        other => panic!("{}: expected a pause, got {other:?}", s.feed),
    }
}

/// `t` is within [from - 1s, to + 1s] (the store keeps whole seconds).
fn assert_between(t: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>, what: &str) {
    assert!(
        t >= from - Duration::seconds(1) && t <= to + Duration::seconds(1),
        "{what}: {t} is not between {from} and {to}"
    );
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// a raw HTTP/1.1 server: exact bytes on the wire (chunked, lying Content-Length, no length),
// and requests in flight per Host header

/// What the raw server answers: a head, then body pieces written one by one.
#[derive(Clone)]
struct RawReply {
    delay: StdDuration,
    head: String,
    pieces: Vec<Vec<u8>>,
}

impl RawReply {
    /// A 200 with a fixed Content-Length.
    fn ok(content_type: &str, body: Vec<u8>) -> RawReply {
        RawReply {
            delay: StdDuration::ZERO,
            head: format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ),
            pieces: vec![body],
        }
    }

    /// A 200 sent in chunks of `chunk` bytes, with extra head lines.
    fn chunked(extra_head: &str, body: &[u8], chunk: usize) -> RawReply {
        let mut pieces: Vec<Vec<u8>> = body
            .chunks(chunk)
            .map(|c| {
                let mut p = format!("{:x}\r\n", c.len()).into_bytes();
                p.extend_from_slice(c);
                p.extend_from_slice(b"\r\n");
                p
            })
            .collect();
        pieces.push(b"0\r\n\r\n".to_vec());
        RawReply {
            delay: StdDuration::ZERO,
            head: format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n{extra_head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            ),
            pieces,
        }
    }

    /// A 200 without any length: the body ends when the connection closes.
    fn until_close(body: &[u8], chunk: usize) -> RawReply {
        RawReply {
            delay: StdDuration::ZERO,
            head:
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n"
                    .to_string(),
            pieces: body.chunks(chunk).map(<[u8]>::to_vec).collect(),
        }
    }

    fn delayed(mut self, d: StdDuration) -> RawReply {
        self.delay = d;
        self
    }
}

#[derive(Default)]
struct RawLog {
    /// (Host header, path) of every request, in arrival order.
    requests: Vec<(String, String)>,
    /// Requests being answered now and the most at once, per Host header.
    per_host: HashMap<String, (usize, usize)>,
    /// The same over all hosts.
    all: (usize, usize),
}

#[derive(Clone)]
struct RawServer {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, RawReply>>>,
    log: Arc<Mutex<RawLog>>,
}

impl RawServer {
    async fn start() -> RawServer {
        let (listener, addr) = raw::listen().await;
        let server = RawServer {
            addr,
            routes: Arc::default(),
            log: Arc::default(),
        };
        let s = server.clone();
        raw::accept_each(listener, move |conn| {
            let s = s.clone();
            async move { s.serve(conn).await }
        });
        server
    }

    async fn serve(&self, mut conn: tokio::net::TcpStream) {
        let Some(text) = raw::read_head(&mut conn).await else {
            return;
        };
        let path = text
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/")
            .to_string();
        let host = text
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("host").then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        {
            let mut log = self.log.lock().unwrap();
            log.requests.push((host.clone(), path.clone()));
            let slot = log.per_host.entry(host.clone()).or_default();
            slot.0 += 1;
            slot.1 = slot.1.max(slot.0);
            log.all.0 += 1;
            log.all.1 = log.all.1.max(log.all.0);
        }
        let reply = self.routes.lock().unwrap().get(&path).cloned();
        let reply = reply.unwrap_or_else(|| RawReply {
            delay: StdDuration::ZERO,
            head: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
            pieces: vec![],
        });
        tokio::time::sleep(reply.delay).await;
        // The request leaves the count as its reply starts: counted until the reply was
        // written, a loaded machine could let the client read the reply, end the request
        // and start the next before this task ran again, and count two in flight where the
        // client had one. A client that does not wait overlaps the whole delay, and is seen.
        {
            let mut log = self.log.lock().unwrap();
            log.per_host.get_mut(&host).unwrap().0 -= 1;
            log.all.0 -= 1;
        }
        let mut ok = conn.write_all(reply.head.as_bytes()).await.is_ok();
        for p in &reply.pieces {
            if !ok {
                break;
            }
            ok = conn.write_all(p).await.is_ok() && conn.flush().await.is_ok();
        }
        let _ = conn.shutdown().await;
    }

    fn set(&self, path: &str, reply: RawReply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, path: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.requests.iter().filter(|(_, p)| p == path).count()
    }

    fn max_in_flight_host(&self, host: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .per_host
            .get(host)
            .map_or(0, |s| s.1)
    }

    fn max_in_flight_all(&self) -> usize {
        self.log.lock().unwrap().all.1
    }
}

// ---------------------------------------------------------------------------------------------
// a gzip bomb (the encoder is in tests/common/compress.rs)

/// An RSS document with one story whose description is `fill_len` x's, as gzip.
fn padded_rss_gzip(fill_len: usize) -> (Vec<u8>, Vec<u8>) {
    let prefix = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Padded</title>\
        <link>https://padded.example/</link><description>d</description><item><guid>p-1</guid>\
        <title>Padded story</title><link>https://padded.example/1</link><description>";
    let suffix = "</description></item></channel></rss>";
    gzip_padded(prefix.as_bytes(), b'x', fill_len, suffix.as_bytes())
}

#[test]
fn the_hand_made_gzip_is_real_gzip() {
    // cross-check the encoder with the system's gzip, when there is one
    let (gz, plain) = padded_rss_gzip(100_000);
    assert!(
        gz.len() < plain.len() / 50,
        "{} vs {}",
        gz.len(),
        plain.len()
    );
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    let Ok(mut child) = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("no gzip on PATH: the fetch tests check the encoder instead");
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&gz).unwrap());
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success(), "gzip -d rejected it");
    assert_eq!(out, plain);
}

// ---------------------------------------------------------------------------------------------
// 1. conditional GET

#[tokio::test(flavor = "multi_thread")]
async fn etag_and_last_modified_are_sent_back_and_a_304_writes_nothing() {
    let srv = FixtureServer::start().await;
    let lm1 = "Mon, 02 Jun 2025 10:00:00 GMT";
    let lm2 = "Tue, 03 Jun 2025 08:30:00 GMT";
    let body = simple_rss("Conditional");
    srv.set(
        "/c.xml",
        Route::rss(body.clone()).header("last-modified", lm1),
    );
    let rig = Rig::new(TestEnv::new(&feed_toml("c", &srv.url("/c.xml")))).await;

    assert_updated(&rig.poll("c", MANUAL).await);
    let first = &srv.seen("/c.xml")[0];
    assert_eq!(header(first, "if-none-match"), None);
    assert_eq!(header(first, "if-modified-since"), None);
    let st = rig.state("c");
    let etag = st.validators.etag.clone().expect("etag stored");
    assert_eq!(st.validators.last_modified.as_deref(), Some(lm1));
    let counts = rig.counts();
    assert_eq!(counts.0, 2);

    // 2nd poll: both validators go back; 304; nothing but the feed state changes
    let s = rig.poll("c", MANUAL).await;
    assert_eq!(s.outcome, Outcome::NotModified, "{s}");
    let seen = srv.seen("/c.xml");
    assert_eq!(seen.len(), 2);
    assert_eq!(header(&seen[1], "if-none-match"), Some(etag.as_str()));
    assert_eq!(header(&seen[1], "if-modified-since"), Some(lm1));
    assert_eq!(seen[1].status, 304);
    assert_eq!(rig.counts(), counts);
    let st = rig.state("c");
    assert_eq!(st.last_outcome.map(|o| o.as_str()), Some("not_modified"));
    assert_eq!(st.last_status, Some(304));
    assert_eq!(st.article_count, 2);

    // a 304 carrying a newer Last-Modified (and no ETag) refreshes it and keeps the ETag
    srv.set(
        "/c.xml",
        Route {
            status: 304,
            headers: vec![("last-modified".into(), lm2.into())],
            body: Vec::new(),
            etag: false,
            delay_ms: 0,
        },
    );
    let s = rig.poll("c", MANUAL).await;
    assert_eq!(s.outcome, Outcome::NotModified, "{s}");
    let st = rig.state("c");
    assert_eq!(st.validators.last_modified.as_deref(), Some(lm2));
    assert_eq!(st.validators.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(rig.counts(), counts);

    srv.set("/c.xml", Route::rss(body).header("last-modified", lm2));
    let s = rig.poll("c", MANUAL).await;
    assert_eq!(s.outcome, Outcome::NotModified, "{s}");
    let seen = srv.seen("/c.xml");
    assert_eq!(seen.len(), 4);
    assert_eq!(header(&seen[3], "if-modified-since"), Some(lm2));
    assert_eq!(header(&seen[3], "if-none-match"), Some(etag.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_byte_identical_200_is_unchanged_and_writes_nothing() {
    let srv = FixtureServer::start().await;
    let plain = |body: String| Route {
        etag: false,
        ..Route::rss(body)
    };
    let body = simple_rss("Same bytes");
    srv.set("/same.xml", plain(body.clone()));
    let rig = Rig::new(TestEnv::new(&feed_toml("same", &srv.url("/same.xml")))).await;

    assert_updated(&rig.poll("same", MANUAL).await);
    let counts = rig.counts();
    let st1 = rig.state("same");
    assert!(st1.body_hash.is_some());
    assert_eq!(st1.validators.etag, None);

    let s = rig.poll("same", MANUAL).await;
    assert_eq!(s.outcome, Outcome::Unchanged, "{s}");
    assert!(!s.changed());
    let seen = srv.seen("/same.xml");
    assert_eq!(seen.len(), 2, "it was requested");
    assert_eq!(seen[1].status, 200);
    assert_eq!(header(&seen[1], "if-none-match"), None);
    assert_eq!(rig.counts(), counts);
    let st2 = rig.state("same");
    assert_eq!(st2.last_outcome.map(|o| o.as_str()), Some("not_modified"));
    assert_eq!(st2.body_hash, st1.body_hash);
    assert_eq!(st2.article_count, 2);

    // one byte more is a new document
    srv.set(
        "/same.xml",
        plain(rss_doc(
            "Same bytes",
            &[
                ("a1", "First story"),
                ("a2", "Second story"),
                ("a3", "Third"),
            ],
            "",
        )),
    );
    let s = rig.poll("same", MANUAL).await;
    match &s.outcome {
        Outcome::Updated { stats, .. } => assert_eq!(stats.new, 1, "{s}"),
        other => panic!("{other:?}"),
    }
    assert_ne!(rig.state("same").body_hash, st1.body_hash);
}

// ---------------------------------------------------------------------------------------------
// 2. 429 / 503 with Retry-After

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_pauses_the_whole_host_and_survives_a_restart() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/busy.xml",
        Route::status(429).header("retry-after", "3600"),
    );
    srv.set("/sibling.xml", Route::rss(simple_rss("Sibling")));
    srv.set("/other.xml", Route::rss(simple_rss("Other host")));
    let env = TestEnv::new(&format!(
        "{}{}{}",
        feed_toml("busy", &srv.url("/busy.xml")),
        feed_toml("sibling", &srv.url("/sibling.xml")),
        feed_toml("other", &via_localhost(&srv.url("/other.xml"))),
    ));
    let rig = Rig::new(env).await;

    let before = Utc::now();
    let s = rig.poll("busy", MANUAL).await;
    let until = paused_until(&s);
    assert_between(
        until,
        before + Duration::seconds(3600),
        Utc::now() + Duration::seconds(3600),
        "paused until",
    );
    assert!(s.to_string().contains("paused by the server until"), "{s}");
    assert_eq!(srv.hits("/busy.xml"), 1);

    // not requested again: manual poll, daemon poll
    let s = rig.poll("busy", MANUAL).await;
    assert!(matches!(s.outcome, Outcome::Paused { .. }), "{s}");
    let s = rig.poll("busy", DAEMON).await;
    assert!(
        matches!(s.outcome, Outcome::Paused { .. } | Outcome::Deferred { .. }),
        "{s}"
    );
    assert_eq!(srv.hits("/busy.xml"), 1);

    // the same host waits too; another host name does not
    for opts in [MANUAL, DAEMON] {
        let s = rig.poll("sibling", opts).await;
        assert_eq!(
            paused_until(&s).timestamp(),
            until.timestamp(),
            "{s} ({opts:?})"
        );
    }
    assert_eq!(srv.hits("/sibling.xml"), 0);
    assert_updated(&rig.poll("other", DAEMON).await);
    assert_eq!(srv.hits("/other.xml"), 1);
    assert_eq!(
        header(&srv.seen("/other.xml")[0], "host"),
        Some(format!("localhost:{}", srv.addr.port()).as_str())
    );

    let st = rig.status("busy");
    assert_eq!(st.state, "paused");
    assert_eq!(
        st.paused_until.map(|t| t.timestamp()),
        Some(until.timestamp())
    );
    assert!(
        st.next_poll
            .is_some_and(|t| t >= until - Duration::seconds(30))
    );
    assert_eq!(rig.status("sibling").state, "paused");
    assert_eq!(rig.status("other").state, "ok");

    // a restart (new store and poller over the same file) keeps the pause
    let rig = rig.restart().await;
    for name in ["busy", "sibling"] {
        for opts in [MANUAL, DAEMON] {
            let s = rig.poll(name, opts).await;
            assert!(
                matches!(s.outcome, Outcome::Paused { .. } | Outcome::Deferred { .. }),
                "{s} ({opts:?})"
            );
        }
    }
    assert_eq!(srv.hits("/busy.xml"), 1);
    assert_eq!(srv.hits("/sibling.xml"), 0);

    // --force asks anyway
    srv.set("/busy.xml", Route::rss(simple_rss("Busy")));
    assert_updated(&rig.poll("busy", FORCE).await);
    assert_eq!(srv.hits("/busy.xml"), 2);
    assert_updated(&rig.poll("sibling", FORCE).await);
    assert_eq!(srv.hits("/sibling.xml"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_as_an_http_date_and_huge_values_are_capped() {
    let srv = FixtureServer::start().await;
    // whole seconds, an hour and a half ahead
    let at = DateTime::from_timestamp(Utc::now().timestamp() + 5400, 0).unwrap();
    let date = httpdate::fmt_http_date(at.into());
    srv.set(
        "/maint.xml",
        Route::status(503).header("retry-after", &date),
    );
    srv.set(
        "/huge.xml",
        Route::status(429).header("retry-after", "315360000"),
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("maint", &srv.url("/maint.xml")),
        feed_toml("huge", &via_localhost(&srv.url("/huge.xml"))),
    ));
    let rig = Rig::new(env).await;

    let s = rig.poll("maint", MANUAL).await;
    assert_eq!(paused_until(&s), at, "{s} (Retry-After: {date})");
    assert!(matches!(
        rig.poll("maint", MANUAL).await.outcome,
        Outcome::Paused { .. }
    ));
    assert_eq!(srv.hits("/maint.xml"), 1);
    let st = rig.state("maint");
    assert_eq!(st.last_status, Some(503));
    assert_eq!(st.last_outcome.map(|o| o.as_str()), Some("paused"));

    let before = Utc::now();
    let s = rig.poll("huge", MANUAL).await;
    let week = Duration::days(7);
    assert_between(paused_until(&s), before + week, Utc::now() + week, "capped");
    assert!(matches!(
        rig.poll("huge", DAEMON).await.outcome,
        Outcome::Paused { .. } | Outcome::Deferred { .. }
    ));
    assert_eq!(srv.hits("/huge.xml"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_ends_at_the_time_given() {
    let srv = FixtureServer::start().await;
    srv.set("/short.xml", Route::status(503).header("retry-after", "2"));
    let rig = Rig::new(TestEnv::new(&feed_toml("short", &srv.url("/short.xml")))).await;
    let s = rig.poll("short", MANUAL).await;
    let until = paused_until(&s);
    assert!(matches!(
        rig.poll("short", MANUAL).await.outcome,
        Outcome::Paused { .. }
    ));
    assert_eq!(srv.hits("/short.xml"), 1);

    srv.set("/short.xml", Route::rss(simple_rss("Short")));
    let wait = (until - Utc::now()).to_std().unwrap_or_default() + StdDuration::from_millis(1200);
    tokio::time::sleep(wait).await;
    assert_updated(&rig.poll("short", DAEMON).await);
    assert_eq!(srv.hits("/short.xml"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_or_503_without_retry_after_is_a_failure() {
    let srv = FixtureServer::start().await;
    srv.set("/a.xml", Route::status(429));
    srv.set("/b.xml", Route::status(503));
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("a", &srv.url("/a.xml")),
        feed_toml("b", &srv.url("/b.xml")),
    ));
    let rig = Rig::new(env).await;
    for (name, code) in [("a", 429), ("b", 503)] {
        let s = rig.poll(name, MANUAL).await;
        assert!(
            matches!(s.outcome, Outcome::Failed { status: Some(c), .. } if c == code),
            "{s}"
        );
        assert_eq!(rig.state(name).consecutive_failures, 1);
    }
    // no host pause: the other feed on the host was still requested
    assert_eq!(srv.hits("/b.xml"), 1);
}

// ---------------------------------------------------------------------------------------------
// 3. failures: exponential backoff with jitter, reset on success

/// Seconds between the last attempt and the next allowed one.
fn backoff_secs(st: &FeedState) -> i64 {
    (st.next_attempt.expect("next_attempt") - st.last_poll.expect("last_poll")).num_seconds()
}

/// The n-th consecutive failure waits [0.75, 1.0] x 900 s x 2^(n-1), capped at 24 h.
fn assert_backoff(st: &FeedState, n: u32) {
    let base = (900i64 << (n - 1)).min(86_400);
    let got = backoff_secs(st);
    let lo = base * 3 / 4 - 1;
    assert!(
        got >= lo && got <= base + 1,
        "failure {n}: waits {got} s, expected {lo}..={base} s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_back_off_exponentially_and_success_resets() {
    let srv = FixtureServer::start().await;
    let rig = Rig::new(TestEnv::new(&feed_toml("flaky", &srv.url("/flaky.xml")))).await;
    let good = simple_rss("Flaky");
    // each kind of failure counts: 5xx, 404, a body that is not a feed, more 5xx
    // (timeouts and refused connections: the next two tests)
    let script: Vec<(Route, &str)> = vec![
        (Route::status(500), "HTTP 500"),
        (Route::status(404), "HTTP 404"),
        (Route::rss("<rss><channel><item>"), "not a valid feed"),
        (Route::status(503), "HTTP 503"),
        (Route::status(502), "HTTP 502"),
        (Route::status(500), "HTTP 500"),
        (Route::status(500), "HTTP 500"),
        (Route::status(500), "HTTP 500"),
        (Route::status(500), "HTTP 500"),
    ];
    let mut waits = Vec::new();
    for (i, (route, expect)) in script.into_iter().enumerate() {
        let n = i as u32 + 1;
        srv.set("/flaky.xml", route);
        let s = rig.poll("flaky", MANUAL).await;
        let err = failed_error(&s);
        assert!(err.contains(expect), "failure {n}: {err}");
        assert_eq!(
            srv.hits("/flaky.xml"),
            n as usize,
            "a manual poll requests it"
        );
        let st = rig.state("flaky");
        assert_eq!(st.consecutive_failures, n);
        assert_eq!(st.last_outcome.map(|o| o.as_str()), Some("error"));
        assert!(
            st.last_error.as_deref().is_some_and(|e| e.contains(expect)),
            "{:?}",
            st.last_error
        );
        assert!(!st.gone);
        assert_backoff(&st, n);
        waits.push(backoff_secs(&st));

        // the daemon does not ask within the window
        let s = rig.poll("flaky", DAEMON).await;
        match s.outcome {
            Outcome::Deferred { until } => {
                assert_eq!(until.timestamp(), st.next_attempt.unwrap().timestamp())
            }
            other => panic!("failure {n}: expected Deferred, got {other:?}"),
        }
        assert_eq!(srv.hits("/flaky.xml"), n as usize, "the daemon waited");
    }
    // roughly doubling, then flat at the cap
    for w in waits.windows(2).take(6) {
        assert!(w[1] > w[0] * 5 / 4, "{waits:?}");
    }
    assert!(
        waits[8] <= 86_400 + 1 && waits[7] <= 86_400 + 1,
        "{waits:?}"
    );

    // visible as failing, with the count, the error and the next try
    let st = rig.state("flaky");
    let status = rig.status("flaky");
    assert_eq!(status.state, "failing");
    assert_eq!(status.consecutive_failures, 9);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 500")),
        "{status:?}"
    );
    assert_eq!(
        status.next_attempt.map(|t| t.timestamp()),
        st.next_attempt.map(|t| t.timestamp())
    );
    let next_poll = status.next_poll.expect("next poll shown");
    assert!(
        next_poll >= st.next_attempt.unwrap() - Duration::seconds(30),
        "{next_poll} is before the backoff ends ({:?})",
        st.next_attempt
    );

    // success resets everything; the daemon then polls it normally again
    srv.set("/flaky.xml", Route::rss(good));
    assert_updated(&rig.poll("flaky", MANUAL).await);
    let st = rig.state("flaky");
    assert_eq!(st.consecutive_failures, 0);
    assert_eq!(st.next_attempt, None);
    assert_eq!(st.last_error, None);
    assert_eq!(rig.status("flaky").state, "ok");
    let s = rig.poll("flaky", DAEMON).await;
    assert_eq!(s.outcome, Outcome::NotModified, "{s}");
    assert_eq!(srv.hits("/flaky.xml"), 11);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_a_failure_with_backoff() {
    let srv = RawServer::start().await;
    srv.set(
        "/slow.xml",
        RawReply::ok("application/rss+xml", simple_rss("Slow").into_bytes())
            .delayed(StdDuration::from_secs(4)),
    );
    let rig = Rig::with(
        TestEnv::new(&feed_toml("slow", &srv.url("/slow.xml"))),
        |c| c.fetch.timeout = StdDuration::from_secs(1),
    )
    .await;
    for n in 1..=2 {
        let s = rig.poll("slow", MANUAL).await;
        let err = failed_error(&s);
        assert!(err.contains("timed out after 1s"), "{err}");
        let st = rig.state("slow");
        assert_eq!(st.consecutive_failures, n);
        assert_backoff(&st, n);
        assert!(matches!(
            rig.poll("slow", DAEMON).await.outcome,
            Outcome::Deferred { .. }
        ));
        assert_eq!(srv.hits("/slow.xml"), n as usize);
    }
    assert_eq!(rig.status("slow").state, "failing");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_refused_backs_off_and_force_overrides_backoff() {
    let url = format!("http://127.0.0.1:{}/feed.xml", closed_port());
    let rig = Rig::new(TestEnv::new(&feed_toml("down", &url))).await;
    for n in 1..=3 {
        let s = rig.poll("down", MANUAL).await;
        let err = failed_error(&s);
        assert!(err.contains("cannot connect"), "{err}");
        let st = rig.state("down");
        assert_eq!(st.consecutive_failures, n);
        assert_backoff(&st, n);
    }
    assert!(matches!(
        rig.poll("down", DAEMON).await.outcome,
        Outcome::Deferred { .. }
    ));
    assert_eq!(rig.state("down").consecutive_failures, 3, "nothing tried");
    // force tries (and fails again)
    assert!(rig.poll("down", FORCE).await.failed());
    assert_eq!(rig.state("down").consecutive_failures, 4);
    assert_eq!(rig.status("down").state, "failing");
}

#[tokio::test(flavor = "multi_thread")]
async fn feeds_failing_together_come_back_at_different_times() {
    let srv = FixtureServer::start().await;
    let names = ["alpha", "bravo", "charlie", "delta"];
    let mut toml = String::new();
    for n in names {
        srv.set(&format!("/{n}.xml"), Route::status(500));
        toml.push_str(&feed_toml(n, &srv.url(&format!("/{n}.xml"))));
    }
    let rig = Rig::new(TestEnv::new(&toml)).await;
    let mut waits = Vec::new();
    for n in names {
        assert!(rig.poll(n, MANUAL).await.failed());
        let st = rig.state(n);
        assert_backoff(&st, 1);
        waits.push(backoff_secs(&st));
    }
    waits.sort();
    waits.dedup();
    assert!(waits.len() > 1, "no jitter: {waits:?}");
}

// ---------------------------------------------------------------------------------------------
// 4. redirects

#[tokio::test(flavor = "multi_thread")]
async fn permanent_redirects_are_remembered() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/old301.xml",
        Route::status(301).header("location", "/new301.xml"),
    );
    srv.set("/new301.xml", Route::rss(simple_rss("Moved 301")));
    let new308 = srv.url("/new308.xml");
    srv.set(
        "/old308.xml",
        Route::status(308).header("location", &new308),
    );
    srv.set("/new308.xml", Route::rss(simple_rss("Moved 308")));
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("m301", &srv.url("/old301.xml")),
        feed_toml("m308", &srv.url("/old308.xml")),
    ));
    let rig = Rig::new(env).await;

    for (name, old, new) in [
        ("m301", "/old301.xml", "/new301.xml"),
        ("m308", "/old308.xml", "/new308.xml"),
    ] {
        assert_updated(&rig.poll(name, MANUAL).await);
        assert_eq!((srv.hits(old), srv.hits(new)), (1, 1), "{name}");
        assert_eq!(
            rig.state(name).moved_to.as_deref(),
            Some(srv.url(new).as_str())
        );
        // from now on the new URL directly
        for opts in [MANUAL, DAEMON, FORCE] {
            let s = rig.poll(name, opts).await;
            assert_eq!(s.outcome, Outcome::NotModified, "{s}");
        }
        assert_eq!((srv.hits(old), srv.hits(new)), (1, 4), "{name}");
        let status = rig.status(name);
        assert_eq!(status.state, "moved");
        assert_eq!(status.moved_to.as_deref(), Some(srv.url(new).as_str()));
        assert_eq!(status.url, srv.url(old), "the configured url is shown too");
    }

    // and after a restart
    let rig = rig.restart().await;
    assert_eq!(rig.poll("m301", MANUAL).await.outcome, Outcome::NotModified);
    assert_eq!(srv.hits("/old301.xml"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_redirects_are_followed_but_not_remembered() {
    let srv = FixtureServer::start().await;
    let mut toml = String::new();
    for code in [302u16, 303, 307] {
        srv.set(
            &format!("/t{code}.xml"),
            Route::status(code).header("location", &format!("/target{code}.xml")),
        );
        srv.set(
            &format!("/target{code}.xml"),
            Route::rss(simple_rss(&format!("Temp {code}"))),
        );
        toml.push_str(&feed_toml(
            &format!("t{code}"),
            &srv.url(&format!("/t{code}.xml")),
        ));
    }
    // permanent then temporary
    srv.set("/p1.xml", Route::status(301).header("location", "/p2.xml"));
    srv.set("/p2.xml", Route::status(302).header("location", "/p3.xml"));
    srv.set("/p3.xml", Route::rss(simple_rss("Mixed")));
    toml.push_str(&feed_toml("mixed", &srv.url("/p1.xml")));
    let rig = Rig::new(TestEnv::new(&toml)).await;

    for code in [302u16, 303, 307] {
        let name = format!("t{code}");
        assert_updated(&rig.poll(&name, MANUAL).await);
        assert_eq!(rig.poll(&name, MANUAL).await.outcome, Outcome::NotModified);
        assert_eq!(srv.hits(&format!("/t{code}.xml")), 2, "{code}");
        assert_eq!(srv.hits(&format!("/target{code}.xml")), 2, "{code}");
        assert_eq!(rig.state(&name).moved_to, None);
        assert_eq!(rig.status(&name).state, "not_modified");
    }
    // 301 then 302: the permanent hop is remembered, the temporary one is not
    assert_updated(&rig.poll("mixed", MANUAL).await);
    assert_eq!(
        rig.state("mixed").moved_to.as_deref(),
        Some(srv.url("/p2.xml").as_str())
    );
    let s = rig.poll("mixed", MANUAL).await;
    assert_eq!(s.outcome, Outcome::NotModified, "{s}");
    assert_eq!(srv.hits("/p1.xml"), 1);
    assert_eq!(srv.hits("/p2.xml"), 2);
    assert_eq!(srv.hits("/p3.xml"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_loops_and_long_chains_are_errors() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/loop-a.xml",
        Route::status(302).header("location", "/loop-b.xml"),
    );
    srv.set(
        "/loop-b.xml",
        Route::status(301).header("location", "/loop-a.xml"),
    );
    // /long0 -> /long1 -> ... -> /long11: 11 redirects; /ok0 -> ... -> /ok10: 10
    for i in 0..11 {
        srv.set(
            &format!("/long{i}"),
            Route::status(307).header("location", &format!("/long{}", i + 1)),
        );
    }
    srv.set("/long11", Route::rss(simple_rss("Too far")));
    for i in 0..10 {
        srv.set(
            &format!("/ok{i}"),
            Route::status(302).header("location", &format!("/ok{}", i + 1)),
        );
    }
    srv.set("/ok10", Route::rss(simple_rss("Just far enough")));
    let env = TestEnv::new(&format!(
        "{}{}{}",
        feed_toml("loop", &srv.url("/loop-a.xml")),
        feed_toml("long", &srv.url("/long0")),
        feed_toml("ok", &srv.url("/ok0")),
    ));
    let rig = Rig::new(env).await;

    let err = failed_error(&rig.poll("loop", MANUAL).await);
    assert!(err.contains("redirect loop"), "{err}");
    assert!(err.contains("/loop-a.xml"), "names the URL: {err}");
    assert_eq!(srv.hits("/loop-a.xml"), 1);
    assert_eq!(srv.hits("/loop-b.xml"), 1);
    assert_eq!(rig.state("loop").consecutive_failures, 1);

    let err = failed_error(&rig.poll("long", MANUAL).await);
    assert!(err.contains("more than 10 redirects"), "{err}");
    assert_eq!(srv.hits("/long10"), 1);
    assert_eq!(srv.hits("/long11"), 0, "the 11th redirect is not followed");

    assert_updated(&rig.poll("ok", MANUAL).await);
    assert_eq!(srv.hits("/ok10"), 1);
    assert_eq!(rig.state("ok").moved_to, None);
}

// ---------------------------------------------------------------------------------------------
// 5. 410 Gone, 404

#[tokio::test(flavor = "multi_thread")]
async fn a_gone_feed_is_left_alone_until_its_url_changes() {
    let srv = FixtureServer::start().await;
    srv.set("/gone.xml", Route::status(410));
    srv.set("/new-home.xml", Route::rss(simple_rss("New home")));
    let env = TestEnv::new(&feed_toml("g", &srv.url("/gone.xml")));
    let rig = Rig::new(env).await;

    let s = rig.poll("g", MANUAL).await;
    assert_eq!(s.outcome, Outcome::Gone, "{s}");
    assert_eq!(srv.hits("/gone.xml"), 1);
    let st = rig.state("g");
    assert!(st.gone);
    assert_eq!(st.last_status, Some(410));
    for opts in [MANUAL, DAEMON] {
        let s = rig.poll("g", opts).await;
        assert_eq!(s.outcome, Outcome::Gone, "{s}");
    }
    assert_eq!(srv.hits("/gone.xml"), 1);
    let status = rig.status("g");
    assert_eq!(status.state, "gone");
    assert_eq!(status.next_poll, None, "no next poll is announced");

    // a restart does not forget it
    let rig = rig.restart().await;
    assert_eq!(rig.poll("g", DAEMON).await.outcome, Outcome::Gone);
    assert_eq!(srv.hits("/gone.xml"), 1);

    // force asks anyway
    assert_eq!(rig.poll("g", FORCE).await.outcome, Outcome::Gone);
    assert_eq!(srv.hits("/gone.xml"), 2);

    // a new url in the config is a new start
    let Rig { env, .. } = rig;
    env.write(&feed_toml("g", &srv.url("/new-home.xml")));
    let rig = Rig::new(env).await;
    assert!(!rig.state("g").gone);
    assert_updated(&rig.poll("g", DAEMON).await);
    assert_eq!(srv.hits("/new-home.xml"), 1);
    assert_eq!(srv.hits("/gone.xml"), 2);
    assert_eq!(rig.status("g").state, "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_404_is_a_failure_with_backoff() {
    let srv = FixtureServer::start().await;
    let rig = Rig::new(TestEnv::new(&feed_toml("nf", &srv.url("/missing.xml")))).await;
    let s = rig.poll("nf", MANUAL).await;
    assert!(
        matches!(
            s.outcome,
            Outcome::Failed {
                status: Some(404),
                ..
            }
        ),
        "{s}"
    );
    let st = rig.state("nf");
    assert!(!st.gone);
    assert_eq!(st.consecutive_failures, 1);
    assert_backoff(&st, 1);
    assert!(matches!(
        rig.poll("nf", DAEMON).await.outcome,
        Outcome::Deferred { .. }
    ));
    assert_eq!(srv.hits("/missing.xml"), 1);
    assert!(rig.poll("nf", MANUAL).await.failed());
    assert_eq!(srv.hits("/missing.xml"), 2);
    assert_eq!(rig.status("nf").state, "failing");
}

// ---------------------------------------------------------------------------------------------
// 6. limits

fn big_rss(fill: usize) -> Vec<u8> {
    let (_, plain) = padded_rss_gzip(fill);
    plain
}

fn too_large(s: &PollSummary) -> bool {
    matches!(&s.outcome, Outcome::Failed { error, .. } if error.contains("larger than the 65536-byte limit"))
}

#[tokio::test(flavor = "multi_thread")]
async fn max_size_is_enforced_while_streaming() {
    let srv = RawServer::start().await;
    let body = big_rss(1024 * 1024);
    // chunked, no Content-Length
    srv.set("/chunked.xml", RawReply::chunked("", &body, 8192));
    // chunked with a Content-Length that lies (small): chunked wins, the lie must not help
    srv.set(
        "/lying.xml",
        RawReply::chunked("Content-Length: 100\r\n", &body, 8192),
    );
    // no length at all: the body ends when the connection closes
    srv.set("/close.xml", RawReply::until_close(&body, 8192));
    // an honest Content-Length over the limit
    srv.set(
        "/declared.xml",
        RawReply::ok("application/rss+xml", body.clone()),
    );
    let names = ["chunked", "lying", "close", "declared"];
    let toml: String = names
        .iter()
        .map(|n| feed_toml(n, &srv.url(&format!("/{n}.xml"))))
        .collect();

    let env = env_with_fetch("max_size = \"64KiB\"", &toml);
    let rig = Rig::new(env).await;
    assert_eq!(rig.config.fetch.max_size, 65536);
    for n in names {
        let s = rig.poll(n, MANUAL).await;
        assert!(too_large(&s), "{s}");
        assert_eq!(rig.state(n).article_count, 0);
    }
    for n in names {
        assert_eq!(srv.hits(&format!("/{n}.xml")), 1, "{n}");
    }

    // control: the same responses within a larger limit are fine feeds
    let Rig { env, .. } = rig;
    let rig = Rig::with(env, |c| c.fetch.max_size = 10 * 1024 * 1024).await;
    for n in names {
        assert_updated(&rig.poll(n, MANUAL).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_size_counts_decompressed_bytes_so_a_gzip_bomb_fails() {
    let srv = FixtureServer::start().await;
    let (gz, plain) = padded_rss_gzip(4 * 1024 * 1024);
    assert!(
        gz.len() < 32 * 1024,
        "small on the wire: {} bytes",
        gz.len()
    );
    assert!(plain.len() > 4 * 1024 * 1024);
    srv.set(
        "/bomb.xml",
        Route {
            etag: false,
            ..Route::rss(gz.clone()).header("content-encoding", "gzip")
        },
    );
    // a small gzip document, to show gzip itself is fine within the limit
    let (small_gz, _) = padded_rss_gzip(20_000);
    srv.set(
        "/small.xml",
        Route {
            etag: false,
            ..Route::rss(small_gz).header("content-encoding", "gzip")
        },
    );
    let toml = format!(
        "{}{}",
        feed_toml("bomb", &srv.url("/bomb.xml")),
        feed_toml("small", &srv.url("/small.xml"))
    );
    let rig = Rig::new(env_with_fetch("max_size = \"64KiB\"", &toml)).await;
    let s = rig.poll("bomb", MANUAL).await;
    assert!(too_large(&s), "{s}");
    assert_eq!(srv.hits("/bomb.xml"), 1);
    assert_eq!(rig.state("bomb").article_count, 0);
    assert_updated(&rig.poll("small", MANUAL).await);

    // control: with room for it, the very same bytes inflate to a valid feed
    let Rig { env, .. } = rig;
    let rig = Rig::with(env, |c| c.fetch.max_size = 16 * 1024 * 1024).await;
    assert_updated(&rig.poll("bomb", MANUAL).await);
    assert_eq!(rig.state("bomb").title.as_deref(), Some("Padded"));
}

#[tokio::test(flavor = "multi_thread")]
async fn per_host_limit_holds_and_other_hosts_do_not_wait() {
    let srv = RawServer::start().await;
    let delay = StdDuration::from_millis(700);
    let slow = ["s1", "s2", "s3"];
    let mut toml = String::new();
    for n in slow {
        srv.set(
            &format!("/{n}.xml"),
            RawReply::ok("application/rss+xml", simple_rss(n).into_bytes()).delayed(delay),
        );
        toml.push_str(&feed_toml(n, &srv.url(&format!("/{n}.xml"))));
    }
    srv.set(
        "/elsewhere.xml",
        RawReply::ok("application/rss+xml", simple_rss("elsewhere").into_bytes()).delayed(delay),
    );
    toml.push_str(&feed_toml(
        "elsewhere",
        &via_localhost(&srv.url("/elsewhere.xml")),
    ));
    let ip_host = srv.addr.to_string();
    let name_host = format!("localhost:{}", srv.addr.port());

    for (per_host, expected) in [(1usize, 1usize), (2, 2)] {
        let rig =
            Arc::new(Rig::new(env_with_fetch(&format!("per_host = {per_host}"), &toml)).await);
        assert_eq!(rig.config.fetch.per_host, per_host);
        srv.log.lock().unwrap().per_host.clear();
        srv.log.lock().unwrap().all = (0, 0);
        let mut tasks = tokio::task::JoinSet::new();
        for n in slow.iter().chain(&["elsewhere"]) {
            let (rig, n) = (Arc::clone(&rig), n.to_string());
            tasks.spawn(async move { rig.poll(&n, MANUAL).await });
        }
        while let Some(done) = tasks.join_next().await {
            assert_updated(&done.unwrap());
        }
        assert_eq!(
            srv.max_in_flight_host(&ip_host),
            expected,
            "per_host = {per_host}"
        );
        assert_eq!(srv.max_in_flight_host(&name_host), 1);
        // the other host's request ran while this host's were queued
        assert_eq!(
            srv.max_in_flight_all(),
            expected + 1,
            "per_host = {per_host}: the other host overlapped"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. not a feed

#[tokio::test(flavor = "multi_thread")]
async fn an_html_page_is_not_a_feed_and_its_advertised_feed_is_named() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/plain.html",
        Route::feed(
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Home</title></head><body>Hello</body></html>",
        ),
    );
    srv.set(
        "/blog/",
        Route::feed(
            "text/html",
            "<!doctype html><html><head><title>Blog</title>\
             <link rel=\"stylesheet\" href=\"/s.css\">\
             <link rel=\"alternate\" type=\"application/rss+xml\" title=\"Blog feed\" href=\"/feed.xml\">\
             </head><body>posts</body></html>",
        ),
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("plain", &srv.url("/plain.html")),
        feed_toml("blog", &srv.url("/blog/")),
    ));
    let rig = Rig::new(env).await;
    let err = failed_error(&rig.poll("plain", MANUAL).await);
    assert!(err.contains("not a feed"), "{err}");
    assert!(err.contains("text/html; charset=utf-8"), "{err}");
    assert!(!err.contains("advertises"), "{err}");

    let err = failed_error(&rig.poll("blog", MANUAL).await);
    assert!(err.contains("text/html"), "{err}");
    assert!(
        err.contains(&srv.url("/feed.xml")),
        "names the absolute URL: {err}"
    );
    let st = rig.status("blog");
    assert_eq!(st.state, "failing");
    assert!(
        st.last_error
            .as_deref()
            .is_some_and(|e| e.contains(&srv.url("/feed.xml"))),
        "{st:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. charsets (cp1251, latin-1 by header and UTF-8 BOM are in tests/pipeline.rs)

fn utf16(bom_le: bool, s: &str) -> Vec<u8> {
    let mut out = if bom_le {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in s.encode_utf16() {
        if bom_le {
            out.extend_from_slice(&u.to_le_bytes());
        } else {
            out.extend_from_slice(&u.to_be_bytes());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn utf16_with_a_bom_and_whitespace_before_the_declaration_ingest() {
    let srv = FixtureServer::start().await;
    let doc = |decl: &str, title: &str, guid: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"{decl}\"?>\n<rss version=\"2.0\"><channel><title>Charset {guid}</title>\
             <link>https://charset.example/</link><description>d</description>\
             <item><guid>{guid}</guid><title>{}</title><link>https://charset.example/{guid}</link>\
             <pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate></item></channel></rss>",
            title.replace('&', "&amp;")
        )
    };
    let le_title = "Ελλάδα, Zürich & 東京 — UTF-16LE";
    let be_title = "Ümlaut €uro 𝄞 — UTF-16BE";
    // the BOM outranks a wrong charset in the header
    srv.set(
        "/le.xml",
        Route::feed(
            "application/rss+xml; charset=ISO-8859-1",
            utf16(true, &doc("UTF-16", le_title, "le")),
        ),
    );
    srv.set(
        "/be.xml",
        Route::rss(utf16(false, &doc("UTF-16", be_title, "be"))),
    );
    // whitespace (a templating mistake) before the declaration
    let ws_title = "Façade naïve — leading whitespace";
    srv.set(
        "/ws.xml",
        Route::rss(format!("\n\n   \t{}", doc("utf-8", ws_title, "ws"))),
    );
    // ... and the declaration still rules after it
    let ws1251_title = "Новости дня";
    let mut ws1251 = b"\r\n  ".to_vec();
    ws1251.extend(
        doc("windows-1251", ws1251_title, "ws1251")
            .chars()
            .map(|c| match c {
                c if c.is_ascii() => c as u8,
                'А'..='я' => (c as u32 - 0x410 + 0xC0) as u8,
                '—' => 0x97,
                other => panic!("{other:?}"),
            }),
    );
    srv.set("/ws1251.xml", Route::rss(ws1251));
    let names = ["le", "be", "ws", "ws1251"];
    let toml: String = names
        .iter()
        .map(|n| feed_toml(n, &srv.url(&format!("/{n}.xml"))))
        .collect();
    let env = TestEnv::new(&toml);
    let rig = Rig::new(env).await;
    for n in names {
        assert_updated(&rig.poll(n, MANUAL).await);
        assert_eq!(
            rig.state(n).title.as_deref(),
            Some(format!("Charset {n}").as_str())
        );
    }
    let merged = rig.env.merged(&newswire::publish::View::default());
    let mut got: Vec<&str> = merged.entries.iter().map(|e| e.title.as_str()).collect();
    got.sort();
    let mut want = vec![le_title, be_title, ws_title, ws1251_title];
    want.sort();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------------------
// 9. caching hints

#[tokio::test(flavor = "multi_thread")]
async fn cache_hints_lengthen_the_interval_but_never_shorten_it() {
    let srv = FixtureServer::start().await;
    let expires_at =
        httpdate::fmt_http_date(std::time::SystemTime::now() + StdDuration::from_secs(3 * 3600));
    srv.set(
        "/ttl.xml",
        Route::rss(rss_doc("TTL", &[("t1", "T")], "<ttl>600</ttl>")),
    );
    srv.set(
        "/maxage.xml",
        Route::rss(simple_rss("Max-age")).header("cache-control", "public, max-age=7200"),
    );
    srv.set(
        "/expires.xml",
        Route::rss(simple_rss("Expires")).header("expires", &expires_at),
    );
    srv.set(
        "/short.xml",
        Route::rss(rss_doc("Short", &[("s1", "S")], "<ttl>5</ttl>"))
            .header("cache-control", "max-age=60"),
    );
    srv.set(
        "/week.xml",
        Route::rss(simple_rss("Week")).header("cache-control", "max-age=604800"),
    );
    let names = ["ttl", "maxage", "expires", "short", "week"];
    let toml: String = names
        .iter()
        .map(|n| feed_toml(n, &srv.url(&format!("/{n}.xml"))))
        .collect();
    let rig = Rig::new(TestEnv::new(&toml)).await;
    assert!(rig.config.fetch.respect_cache_hints, "default true");

    for (name, secs) in [
        ("ttl", 36_000),
        ("maxage", 7200),
        ("expires", 3 * 3600),
        ("week", 86_400),
    ] {
        let before = Utc::now();
        assert_updated(&rig.poll(name, MANUAL).await);
        let st = rig.state(name);
        let next = st.next_attempt.expect("a hint sets next_attempt");
        let tolerance = if name == "expires" { 2 } else { 0 };
        assert_between(
            next,
            before + Duration::seconds(secs - tolerance),
            Utc::now() + Duration::seconds(secs),
            name,
        );
        let s = rig.poll(name, DAEMON).await;
        assert!(matches!(s.outcome, Outcome::Deferred { .. }), "{s}");
        assert_eq!(srv.hits(&format!("/{name}.xml")), 1, "{name}");
        assert_eq!(rig.status(name).state, "ok");
    }

    // hints shorter than the 15-minute interval change nothing
    assert_updated(&rig.poll("short", MANUAL).await);
    assert_eq!(rig.state("short").next_attempt, None);
    assert_eq!(
        rig.poll("short", DAEMON).await.outcome,
        Outcome::NotModified
    );
    assert_eq!(srv.hits("/short.xml"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_hints_are_ignored_when_disabled() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/ttl.xml",
        Route::rss(rss_doc("TTL", &[("t1", "T")], "<ttl>600</ttl>"))
            .header("cache-control", "max-age=7200"),
    );
    let rig = Rig::new(env_with_fetch(
        "respect_cache_hints = false",
        &feed_toml("ttl", &srv.url("/ttl.xml")),
    ))
    .await;
    assert!(!rig.config.fetch.respect_cache_hints);
    assert_updated(&rig.poll("ttl", MANUAL).await);
    assert_eq!(rig.state("ttl").next_attempt, None);
    assert_eq!(rig.poll("ttl", DAEMON).await.outcome, Outcome::NotModified);
    assert_eq!(srv.hits("/ttl.xml"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ttl_still_applies_after_a_304_or_an_identical_body() {
    // <ttl> is in the document; a 304 or identical bytes mean the same document, same ttl
    let srv = FixtureServer::start().await;
    let doc = rss_doc("TTL", &[("t1", "T")], "<ttl>600</ttl>");
    srv.set("/etag.xml", Route::rss(doc.clone()));
    srv.set(
        "/bytes.xml",
        Route {
            etag: false,
            ..Route::rss(doc)
        },
    );
    let env = TestEnv::new(&format!(
        "{}{}",
        feed_toml("etag", &srv.url("/etag.xml")),
        feed_toml("bytes", &srv.url("/bytes.xml"))
    ));
    let rig = Rig::new(env).await;
    for (name, second) in [
        ("etag", Outcome::NotModified),
        ("bytes", Outcome::Unchanged),
    ] {
        assert_updated(&rig.poll(name, MANUAL).await);
        assert_eq!(rig.poll(name, MANUAL).await.outcome, second);
        let path = format!("/{name}.xml");
        assert_eq!(srv.hits(&path), 2);
        assert!(
            rig.state(name)
                .next_attempt
                .is_some_and(|t| t > Utc::now() + Duration::hours(9)),
            "{name}: the ttl was forgotten: next_attempt {:?}",
            rig.state(name).next_attempt
        );
        let s = rig.poll(name, DAEMON).await;
        assert!(matches!(s.outcome, Outcome::Deferred { .. }), "{name}: {s}");
        assert_eq!(srv.hits(&path), 2, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 10. identity on the wire

#[tokio::test(flavor = "multi_thread")]
async fn requests_say_who_we_are_and_what_we_accept() {
    let srv = FixtureServer::start().await;
    srv.set("/id.xml", Route::rss(simple_rss("Identity")));
    let rig = Rig::new(TestEnv::new(&feed_toml("id", &srv.url("/id.xml")))).await;
    assert_updated(&rig.poll("id", MANUAL).await);
    let seen = &srv.seen("/id.xml")[0];
    let ua = header(seen, "user-agent").expect("a User-Agent");
    assert!(ua.contains(env!("CARGO_PKG_VERSION")), "{ua}");
    assert!(ua.contains("newswire"), "{ua}");
    assert!(ua.contains("https://") || ua.contains("http://"), "{ua}");
    let accept = header(seen, "accept").expect("an Accept");
    assert!(
        accept.starts_with("application/rss+xml") || accept.starts_with("application/atom+xml"),
        "{accept}"
    );
    assert!(accept.contains("application/atom+xml"), "{accept}");
    let ae = header(seen, "accept-encoding").expect("an Accept-Encoding");
    let codings: Vec<&str> = ae
        .split(',')
        .map(|c| c.split(';').next().unwrap().trim())
        .collect();
    for c in ["gzip", "br", "deflate"] {
        assert!(codings.contains(&c), "{ae}");
    }
}

// ---------------------------------------------------------------------------------------------
// 11. the binary

const BIN: &str = env!("CARGO_BIN_EXE_newswire");

async fn run_newswire(args: &[&str], config: &std::path::Path) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let config = config.to_path_buf();
    // the binary is blocking; run it off the runtime so the fixture server keeps answering
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(&args)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn line_of<'a>(text: &'a str, feed: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(&format!("{feed} ")) || l.starts_with(&format!("{feed}:")))
        .unwrap_or_else(|| panic!("no line for {feed} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_and_feeds_commands_show_feed_health() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/busy.xml",
        Route::status(429).header("retry-after", "7200"),
    );
    srv.set(
        "/moved.xml",
        Route::status(301).header("location", "/moved-here.xml"),
    );
    srv.set("/moved-here.xml", Route::rss(simple_rss("Moved")));
    srv.set("/gone.xml", Route::status(410));
    srv.set("/broken.xml", Route::status(500));
    let env = TestEnv::new(&format!(
        "{}{}{}{}",
        feed_toml("busy", &srv.url("/busy.xml")),
        feed_toml("moved", &via_localhost(&srv.url("/moved.xml"))),
        feed_toml("gone", &via_localhost(&srv.url("/gone.xml"))),
        feed_toml("broken", &via_localhost(&srv.url("/broken.xml"))),
    ));
    let cfg = env.config_path.clone();

    let out = run_newswire(&["poll"], &cfg).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        line_of(&stdout, "busy").contains("paused by the server until"),
        "{stdout}"
    );
    assert!(stderr.contains("update `url` in the config"), "{stderr}");
    assert!(line_of(&stdout, "broken").contains("FAILED"), "{stdout}");
    assert_eq!(srv.hits("/busy.xml"), 1);

    // a second poll does not ask the paused or gone ones, and says why
    let out = run_newswire(&["poll"], &cfg).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        line_of(&stdout, "busy").contains("paused by the server until"),
        "{stdout}"
    );
    assert!(line_of(&stdout, "busy").contains("--force"), "{stdout}");
    assert!(line_of(&stdout, "gone").contains("gone"), "{stdout}");
    assert_eq!(srv.hits("/busy.xml"), 1);
    assert_eq!(srv.hits("/gone.xml"), 1);
    assert_eq!(srv.hits("/moved.xml"), 1);
    assert_eq!(srv.hits("/moved-here.xml"), 2);

    let out = run_newswire(&["feeds"], &cfg).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        line_of(&stdout, "busy").contains("paused until"),
        "{stdout}"
    );
    let moved_to = format!("moved to {}", via_localhost(&srv.url("/moved-here.xml")));
    assert!(line_of(&stdout, "moved").contains(&moved_to), "{stdout}");
    assert!(line_of(&stdout, "gone").contains("gone"), "{stdout}");
    let broken = line_of(&stdout, "broken");
    assert!(broken.contains("failing"), "{stdout}");
    assert!(broken.contains("HTTP 500"), "{stdout}");

    // --force asks the paused and the gone feed anyway
    srv.set("/busy.xml", Route::rss(simple_rss("Busy")));
    let out = run_newswire(&["poll", "--force"], &cfg).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(srv.hits("/busy.xml"), 2);
    assert_eq!(srv.hits("/gone.xml"), 2);
    assert!(line_of(&stdout, "busy").contains("ok (200)"), "{stdout}");
}
