//! Operating it, with the real binary: `newswire backup FILE` while the daemon polls every
//! second gives consistent copies; a copy restored as the database is served as it was; a
//! clean shutdown checkpoints, so that the database file alone holds everything.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

fn rss_with(n: usize) -> String {
    let items: String = (0..n)
        .map(|i| {
            format!(
                "<item><guid isPermaLink=\"false\">b{i}</guid><title>Backup story {i}</title>\
                 <link>https://backup.example.com/{i}.html</link>\
                 <pubDate>{}</pubDate><description>Item number {i}.</description></item>",
                at(2025, 6, 1, 0, 0)
                    .checked_add_signed(chrono::Duration::minutes(i as i64))
                    .unwrap()
                    .to_rfc2822()
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Backup Desk</title>\
         <link>https://backup.example.com/</link><description>d</description>{items}</channel></rss>"
    )
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{}", db.display());
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn backup(config: &Path, file: &Path) -> String {
    let out = Command::new(BIN)
        .args(["backup", "--config"])
        .arg(config)
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "backup failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_polling_then_restore_and_a_clean_stop_leaves_one_file() {
    let srv = FixtureServer::start().await;
    srv.set("/b.xml", Route::rss(rss_with(5)));
    let env = TestEnv::new(&format!(
        "schedule = \"* * * * * *\"\n[[feed]]\nname = \"b\"\nurl = \"{}\"\n",
        srv.url("/b.xml")
    ));
    // the schedule is top-level: move it above [fetch]
    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let text = text.replace("schedule = \"* * * * * *\"\n", "");
    std::fs::write(
        &env.config_path,
        format!("schedule = \"* * * * * *\"\n{text}"),
    )
    .unwrap();
    let d = Daemon::start(&env.config_path);

    // copies taken while the feed grows and the daemon stores it every second
    let dir = env.dir.path();
    let mut seen = Vec::new();
    for (round, n) in [10usize, 20, 40].into_iter().enumerate() {
        srv.set("/b.xml", Route::rss(rss_with(n)));
        let copy = dir.join(format!("copy-{round}.db"));
        // wait until the daemon stored this round (so the copies differ), then copy
        for _ in 0..100 {
            if count(&env.db_path(), "stories") == n as i64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let said = backup(&env.config_path, &copy);
        assert!(said.contains(&format!("{n} stories")), "{said}");
        // one self-contained file: no WAL beside it
        assert!(!dir.join(format!("copy-{round}.db-wal")).exists());
        let stories = count(&copy, "stories");
        assert_eq!(stories, n as i64);
        seen.push(stories);
    }
    // again over an existing copy: replaced
    let said = backup(&env.config_path, &dir.join("copy-0.db"));
    assert!(said.contains("40 stories"), "{said}");

    // a clean stop checkpoints: the database file alone, copied with cp, has everything
    assert!(d.stop().success());
    let wal = dir.join("newswire.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "the WAL still holds frames after a clean stop");
    let alone = tempfile::tempdir().unwrap();
    std::fs::copy(env.db_path(), alone.path().join("n.db")).unwrap();
    assert_eq!(count(&alone.path().join("n.db"), "stories"), 40);

    // restore: the second copy becomes the database of a fresh install, and is served
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("copy-1.db"), restored.path().join("newswire.db")).unwrap();
    let config = restored.path().join("newswire.toml");
    // a feed that cannot be reached, so that what is served is what was restored
    std::fs::write(
        &config,
        "database = \"newswire.db\"\nlisten = \"127.0.0.1:0\"\n\
         [[feed]]\nname = \"b\"\nurl = \"http://127.0.0.1:9/b.xml\"\n",
    )
    .unwrap();
    let d = Daemon::start(&config);
    let body = reqwest::get(d.url("/feed.atom?limit=100"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body.matches("<entry>").count(), 20, "{body}");
    assert!(body.contains("Backup story 19"));
    assert!(d.stop().success());
}

#[test]
fn backup_without_a_database_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    std::fs::write(&config, "database = \"none.db\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["backup", "--config"])
        .arg(&config)
        .arg(dir.path().join("copy.db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no database"), "{err}");
    assert!(!dir.path().join("none.db").exists(), "no database was made");
}
