//! Faults around a running daemon: the database locked by another process, made read-only,
//! on a full disk; the config file deleted or made unreadable. The real binary, a real SQLite
//! file, fixture feeds on 127.0.0.1:0. In each, the daemon must say clearly what is wrong,
//! keep serving what it has, corrupt nothing, and recover by itself when the fault goes.
//!
//! Some faults can only be made as root (a tmpfs mount, the immutable attribute, another
//! user for an unreadable file): those tests say so and skip where they cannot be made.

mod common;

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Once a year: besides the poll at start, only retries poll (and the test cannot wait a year).
const YEARLY: &str = "0 0 0 1 1 *";
/// Every two seconds.
const FAST: &str = "*/2 * * * * *";
/// The user the daemon runs as when a test needs file permissions to hold (root ignores them).
const NOBODY: u32 = 65534;

/// CI sets this: tools that the tests drive (here the sqlite3 shell) must be there.
fn required() -> bool {
    std::env::var_os("NEWSWIRE_REQUIRE_READERS").is_some()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A config with one `[[feed]]` per (name, url), all on `schedule`.
fn config_text(database: &str, schedule: &str, feeds: &[(&str, String)]) -> String {
    config_with(database, schedule, "", feeds)
}

/// As [`config_text`], with `fetch` (lines) in `[fetch]`.
fn config_with(database: &str, schedule: &str, fetch: &str, feeds: &[(&str, String)]) -> String {
    let mut text = format!(
        "database = \"{database}\"\nlisten = \"127.0.0.1:0\"\nschedule = \"{schedule}\"\n\n[fetch]\ntimeout = \"5s\"\n{fetch}\n\n"
    );
    for (name, url) in feeds {
        text.push_str(&format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n\n"));
    }
    text
}

fn named(feeds: &[(String, String)]) -> Vec<(&str, String)> {
    feeds.iter().map(|(n, u)| (n.as_str(), u.clone())).collect()
}

/// Headlines of the wire feed: the first `n` of them are served.
const HEADLINES: [(&str, &str); 5] = [
    ("w1", "Harbor reopens after the storm"),
    ("w2", "Council passes the rail budget"),
    ("w3", "Miners strike over pit closures"),
    ("w4", "Telescope finds a wandering planet"),
    ("w5", "Library archive goes online"),
];

fn wire(n: usize) -> Route {
    Route::rss(rss_stories("Wire", &HEADLINES[..n]))
}

fn headlines(n: usize) -> Vec<String> {
    let mut t: Vec<String> = HEADLINES[..n].iter().map(|h| h.1.to_string()).collect();
    t.sort();
    t
}

/// The titles of the merged feed, sorted; fails if the daemon takes more than 3 s to answer.
async fn served_titles(base: &str) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let resp = client
        .get(format!("{base}/feed.atom"))
        .send()
        .await
        .expect("the daemon answers /feed.atom within 3 s");
    assert_eq!(resp.status(), 200);
    let feed = feed_rs::parser::parse(&resp.bytes().await.unwrap()[..]).unwrap();
    let mut t = titles(&feed);
    t.sort();
    t
}

/// Waits until the merged feed shows exactly `expected`.
async fn wait_for_titles(d: &Daemon, expected: &[String], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let now = served_titles(d.base()).await;
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {within:?} the merged feed shows {now:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until a line of the daemon's log contains every one of `needles`; returns it.
async fn wait_for_log(d: &Daemon, needles: &[&str], within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        if let Some(line) = d
            .log_lines()
            .into_iter()
            .find(|l| needles.iter().all(|n| l.contains(n)))
        {
            return line;
        }
        assert!(
            Instant::now() < deadline,
            "no log line with all of {needles:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// PRAGMA integrity_check says ok, and the entries' titles, sorted.
fn check_database(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "integrity_check of {}", db.display());
    let mut stmt = conn.prepare("SELECT title FROM entries").unwrap();
    let mut t: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    t.sort();
    t
}

fn assert_no_crash(d: &Daemon) {
    let log = d.log();
    assert!(!log.contains("panicked"), "the daemon panicked:\n{log}");
}

/// The sqlite3 shell with an open write transaction on a database: what a backup script or
/// someone poking at the file holds. Released (rolled back) on drop.
struct WriteLock(std::process::Child);

impl WriteLock {
    fn take(sqlite3: &Path, db: &Path) -> WriteLock {
        let mut child = Command::new(sqlite3)
            .arg(db)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(
                b"BEGIN IMMEDIATE;\nINSERT INTO store_meta (key, value) VALUES ('faults-test', 1);\n",
            )
            .unwrap();
        // the shell reads its input as it comes: the lock is held once nobody else can write
        let probe = rusqlite::Connection::open(db).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while probe.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_ok() {
            assert!(
                Instant::now() < deadline,
                "the sqlite3 shell did not take the lock"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        WriteLock(child)
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.0.stdin.take() {
            let _ = stdin.write_all(b"ROLLBACK;\n.quit\n");
        }
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn database_locked_by_another_process_is_waited_out_and_the_poll_retried() {
    let Some(sqlite3) = on_path("sqlite3") else {
        assert!(
            !required(),
            "the sqlite3 shell is required here but missing"
        );
        eprintln!("skipping: the sqlite3 shell is not installed (apt-get install sqlite3)");
        return;
    };
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let db = dir.path().join("newswire.db");
    std::fs::write(
        &config,
        config_text("newswire.db", YEARLY, &[("wire", srv.url("/wire.xml"))]),
    )
    .unwrap();
    {
        let d = Daemon::start(&config);
        wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;
        assert!(d.stop().success());
    }

    // another process holds a write transaction open; meanwhile the feed has news, and the
    // daemon starts (a restart during a backup): it polls at start, and cannot store
    let lock = WriteLock::take(&sqlite3, &db);
    srv.set("/wire.xml", wire(4));
    let d = Daemon::start(&config);
    // while its poll waits for the lock, it serves what it has, at once
    let asked = Instant::now();
    assert_eq!(served_titles(d.base()).await, headlines(2));
    assert!(asked.elapsed() < Duration::from_secs(2), "{asked:?}");
    let line = wait_for_log(
        &d,
        &["feed=wire", "the database is locked"],
        Duration::from_secs(30),
    )
    .await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("another process holds its write lock"),
        "{line}"
    );
    assert_eq!(served_titles(d.base()).await, headlines(2));
    assert_eq!(srv.hits("/wire.xml"), 2);

    // the lock goes: the poll is tried again within seconds, not at the next schedule
    drop(lock);
    wait_for_log(
        &d,
        &["feed=wire", "polling again soon"],
        Duration::from_secs(5),
    )
    .await;
    wait_for_titles(&d, &headlines(4), Duration::from_secs(30)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
    assert_eq!(check_database(&db), headlines(4));
}

#[tokio::test(flavor = "multi_thread")]
async fn database_locked_while_running_queues_writes_and_keeps_serving() {
    let Some(sqlite3) = on_path("sqlite3") else {
        assert!(
            !required(),
            "the sqlite3 shell is required here but missing"
        );
        eprintln!("skipping: the sqlite3 shell is not installed (apt-get install sqlite3)");
        return;
    };
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    // and many quiet feeds, fetched many at a time: each of their polls records a 304, so
    // more writes wait for the lock than the daemon has blocking threads
    let mut feeds = vec![("wire".to_string(), srv.url("/wire.xml"))];
    for i in 0..40 {
        let path = format!("/quiet/{i}.xml");
        srv.set(&path, Route::rss(rss_stories("Quiet", &[])));
        feeds.push((format!("quiet-{i}"), srv.url(&path)));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let db = dir.path().join("newswire.db");
    std::fs::write(
        &config,
        config_with(
            "newswire.db",
            FAST,
            "concurrency = 64\nper_host = 64",
            &named(&feeds),
        ),
    )
    .unwrap();
    let d = Daemon::start(&config);
    wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;

    let lock = WriteLock::take(&sqlite3, &db);
    srv.set("/wire.xml", wire(3));
    // polls queue up behind the lock, one write waiting for it at a time; the merged feed
    // is still served at once
    let locked = Instant::now();
    while locked.elapsed() < Duration::from_secs(12) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let asked = Instant::now();
        assert_eq!(served_titles(d.base()).await, headlines(2));
        assert!(asked.elapsed() < Duration::from_secs(2), "{asked:?}");
    }
    let line = wait_for_log(
        &d,
        &["poll{feed=", "the database is locked"],
        Duration::from_secs(10),
    )
    .await;
    assert!(line.contains("ERROR"), "{line}");

    // released: what waited is stored
    drop(lock);
    wait_for_titles(&d, &headlines(3), Duration::from_secs(30)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
    assert_eq!(check_database(&db), headlines(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn config_reload_refused_by_a_locked_database_is_tried_again() {
    let Some(sqlite3) = on_path("sqlite3") else {
        assert!(
            !required(),
            "the sqlite3 shell is required here but missing"
        );
        eprintln!("skipping: the sqlite3 shell is not installed (apt-get install sqlite3)");
        return;
    };
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    srv.set(
        "/local.xml",
        Route::rss(rss_stories("Local", &[("l1", "Ferry timetable changes")])),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let db = dir.path().join("newswire.db");
    std::fs::write(
        &config,
        config_text("newswire.db", YEARLY, &[("wire", srv.url("/wire.xml"))]),
    )
    .unwrap();
    let d = Daemon::start(&config);
    wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;

    // a new feed in the config while another process holds the lock: the feed list cannot
    // be written
    let lock = WriteLock::take(&sqlite3, &db);
    std::fs::write(
        &config,
        config_text(
            "newswire.db",
            YEARLY,
            &[
                ("wire", srv.url("/wire.xml")),
                ("local", srv.url("/local.xml")),
            ],
        ),
    )
    .unwrap();
    let line = wait_for_log(
        &d,
        &["config reload failed", "the database is locked"],
        Duration::from_secs(30),
    )
    .await;
    assert!(line.contains("keeping the last good config"), "{line}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(served_titles(d.base()).await, headlines(2));
    assert!(!d.log().contains("config reloaded"));

    // released: the reload is tried again by itself, without another edit
    drop(lock);
    wait_for_log(&d, &["config reloaded", "local"], Duration::from_secs(20)).await;
    let mut expected = headlines(2);
    expected.push("Ferry timetable changes".into());
    expected.sort();
    wait_for_titles(&d, &expected, Duration::from_secs(20)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
}

/// `chattr +i` on files; the attribute comes off again on drop, even when the test fails
/// (an immutable file cannot be deleted, not even by root, nor the folder that holds it).
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: &[PathBuf]) -> Immutable {
        let guard = Immutable(paths.to_vec());
        for p in paths {
            let st = Command::new("chattr").arg("+i").arg(p).status().unwrap();
            assert!(st.success(), "chattr +i {}", p.display());
        }
        guard
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = Command::new("chattr").arg("-i").arg(p).status();
        }
    }
}

/// Whether `chattr +i` in `dir` stops writes through a descriptor opened before, as the
/// daemon's are: ext4 and XFS say no to such writes, tmpfs lets them through.
fn immutable_stops_open_files(dir: &Path) -> Result<(), String> {
    let probe = dir.join("probe");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&probe)
        .map_err(|e| e.to_string())?;
    let out = Command::new("chattr")
        .arg("+i")
        .arg(&probe)
        .output()
        .map_err(|e| format!("chattr: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "chattr +i failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let _guard = Immutable(vec![probe.clone()]);
    match file.write_all(b"x") {
        Err(_) => Ok(()),
        Ok(()) => Err("its file system lets writes through to an immutable file".into()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_database_is_reported_served_and_recovered() {
    // Root writes through any permission, and a file the daemon holds open stays writable
    // whatever its mode says: only the immutable attribute stops writes of a running daemon.
    if !is_root() || on_path("chattr").is_none() {
        eprintln!(
            "skipping: making the database read-only under a running daemon needs root and chattr"
        );
        return;
    }
    // in the target folder (a disk), not /tmp (often tmpfs, which ignores the attribute here)
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    if let Err(why) = immutable_stops_open_files(dir.path()) {
        eprintln!(
            "skipping: chattr +i cannot make {} read-only: {why}",
            dir.path().display()
        );
        return;
    }
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    let config = dir.path().join("newswire.toml");
    let db = dir.path().join("newswire.db");
    let wal = dir.path().join("newswire.db-wal");
    std::fs::write(
        &config,
        config_text("newswire.db", FAST, &[("wire", srv.url("/wire.xml"))]),
    )
    .unwrap();
    let d = Daemon::start(&config);
    wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;

    // the database and its WAL (where writes go first) refuse writes; the feed has news
    let read_only = Immutable::set(&[db.clone(), wal.clone()]);
    srv.set("/wire.xml", wire(4));
    let line = wait_for_log(
        &d,
        &["feed=wire", "cannot write to the database"],
        Duration::from_secs(20),
    )
    .await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("Operation not permitted"), "{line}");
    assert!(line.contains("newswire.db-wal"), "{line}");
    assert_eq!(served_titles(d.base()).await, headlines(2));
    // polls go on failing the same way, and the daemon goes on serving
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(served_titles(d.base()).await, headlines(2));

    drop(read_only);
    wait_for_titles(&d, &headlines(4), Duration::from_secs(20)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
    assert_eq!(check_database(&db), headlines(4));

    // read-only from the start: SQLite would open it read-only for good, so newswire says
    // so and stops (systemd restarts it, and it runs once the file is writable again)
    let read_only = Immutable::set(std::slice::from_ref(&db));
    let out = Command::new(BIN)
        .args(["poll", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot open database") && stderr.contains("read-only"),
        "{stderr}"
    );
    drop(read_only);
    let out = Command::new(BIN)
        .args(["poll", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tmpfs mounted on a folder, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
                break;
            }
        }
    }
    // the last partial pages too
    while f.write(&[0u8]).is_ok_and(|n| n == 1) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn full_disk_is_reported_served_and_recovered() {
    if !is_root() {
        eprintln!("skipping: filling a disk needs root (to mount a small tmpfs)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let tmpfs = match Tmpfs::mount(&state, "4m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!("skipping: cannot mount a tmpfs to fill: {why}");
            return;
        }
    };
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    let config = dir.path().join("newswire.toml");
    let db = state.join("newswire.db");
    std::fs::write(
        &config,
        config_text("state/newswire.db", FAST, &[("wire", srv.url("/wire.xml"))]),
    )
    .unwrap();
    let d = Daemon::start(&config);
    wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;

    let filler = state.join("filler");
    fill(&filler);
    srv.set("/wire.xml", wire(4));
    let line = wait_for_log(
        &d,
        &["feed=wire", "the disk is full"],
        Duration::from_secs(20),
    )
    .await;
    assert!(line.contains("ERROR"), "{line}");
    assert_eq!(served_titles(d.base()).await, headlines(2));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(served_titles(d.base()).await, headlines(2));

    std::fs::remove_file(&filler).unwrap();
    wait_for_titles(&d, &headlines(4), Duration::from_secs(20)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
    assert_eq!(check_database(&db), headlines(4));
    drop(tmpfs);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_config_keeps_the_last_good_one_until_it_is_back() {
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    srv.set(
        "/local.xml",
        Route::rss(rss_stories("Local", &[("l1", "Ferry timetable changes")])),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let text = config_text("newswire.db", FAST, &[("wire", srv.url("/wire.xml"))]);
    std::fs::write(&config, &text).unwrap();
    let d = Daemon::start(&config);
    wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;

    std::fs::remove_file(&config).unwrap();
    let line = wait_for_log(
        &d,
        &[
            "cannot read the config file",
            "keeping the last good config",
        ],
        Duration::from_secs(10),
    )
    .await;
    assert!(line.contains("No such file"), "{line}");
    // the feeds are still polled, on the config it had
    srv.set("/wire.xml", wire(3));
    wait_for_titles(&d, &headlines(3), Duration::from_secs(20)).await;

    // back, with a feed more: read and applied
    let with_local = config_text(
        "newswire.db",
        FAST,
        &[
            ("wire", srv.url("/wire.xml")),
            ("local", srv.url("/local.xml")),
        ],
    );
    std::fs::write(&config, with_local).unwrap();
    wait_for_log(
        &d,
        &["the config file can be read again"],
        Duration::from_secs(10),
    )
    .await;
    wait_for_log(&d, &["config reloaded"], Duration::from_secs(10)).await;
    let mut expected = headlines(3);
    expected.push("Ferry timetable changes".into());
    expected.sort();
    wait_for_titles(&d, &expected, Duration::from_secs(20)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn unreadable_config_keeps_the_last_good_one_until_it_is_readable() {
    let srv = FixtureServer::start().await;
    srv.set("/wire.xml", wire(2));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    std::fs::write(
        &config,
        config_text("newswire.db", FAST, &[("wire", srv.url("/wire.xml"))]),
    )
    .unwrap();
    // root reads any file whatever its mode: as root, the daemon runs as nobody
    let mut cmd = Daemon::command(runnable_by(NOBODY, dir.path()), &config);
    if is_root() {
        std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        std::os::unix::fs::chown(&config, Some(NOBODY), Some(NOBODY)).unwrap();
        std::os::unix::process::CommandExt::uid(&mut cmd, NOBODY);
        std::os::unix::process::CommandExt::gid(&mut cmd, NOBODY);
    }
    let d = Daemon::start_command(cmd);
    wait_for_titles(&d, &headlines(2), Duration::from_secs(20)).await;

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o000)).unwrap();
    let line = wait_for_log(
        &d,
        &[
            "cannot read the config file",
            "keeping the last good config",
        ],
        Duration::from_secs(10),
    )
    .await;
    assert!(line.contains("Permission denied"), "{line}");
    srv.set("/wire.xml", wire(3));
    wait_for_titles(&d, &headlines(3), Duration::from_secs(20)).await;

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    wait_for_log(
        &d,
        &["the config file can be read again"],
        Duration::from_secs(10),
    )
    .await;
    // and it follows edits again
    std::fs::write(
        &config,
        config_text("newswire.db", FAST, &[("wire2", srv.url("/wire.xml"))]),
    )
    .unwrap();
    wait_for_log(&d, &["config reloaded", "wire2"], Duration::from_secs(10)).await;
    assert_no_crash(&d);
    assert!(d.stop().success());
}

/// The binary under test, or (when `uid` cannot run it where it is, as under a private home
/// folder) a copy of it in `dir`.
fn runnable_by(uid: u32, dir: &Path) -> PathBuf {
    if !is_root() {
        return PathBuf::from(BIN);
    }
    let runs = |bin: &Path| {
        let mut cmd = Command::new(bin);
        cmd.arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::uid(&mut cmd, uid);
        std::os::unix::process::CommandExt::gid(&mut cmd, uid);
        cmd.status().is_ok_and(|s| s.success())
    };
    if runs(Path::new(BIN)) {
        return PathBuf::from(BIN);
    }
    let copy = dir.join("newswire");
    std::fs::copy(BIN, &copy).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(runs(&copy), "uid {uid} cannot run {}", copy.display());
    copy
}
