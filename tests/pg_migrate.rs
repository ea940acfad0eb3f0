//! `newswire migrate --to`, with the real binary: a SQLite store polled from real feeds is
//! copied into PostgreSQL and back into a new SQLite file, and the copy holds the same feeds,
//! stories, sources and search index as the original. A database that holds data already
//! is refused.

mod common;

use std::process::Command;

use common::*;
use newswire::store::{Storage, StoryQuery};

fn migrate(config: &std::path::Path, to: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["-c", config.to_str().unwrap(), "migrate", "--to", to])
        .output()
        .unwrap()
}

fn query(search: &[&str]) -> StoryQuery {
    StoryQuery {
        limit: 1000,
        search: search.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_goes_to_postgres_and_back_whole() {
    let Some(server) = common::pg::server() else {
        return;
    };
    let pg = common::pg::scratch(&server, "nw_migrate");
    let srv = FixtureServer::start().await;
    srv.set("/desk.xml", Route::rss(fixture("search-words.rss.xml")));
    srv.set("/ledger.xml", Route::rss(fixture("ledger-world.rss.xml")));
    srv.set("/metro.xml", Route::rss(fixture("metro-wire.rss.xml")));
    let feeds = format!(
        "[[feed]]\nname = \"desk\"\nurl = \"{}\"\n\n[[feed]]\nname = \"ledger\"\nurl = \"{}\"\n\n[[feed]]\nname = \"metro\"\nurl = \"{}\"\n",
        srv.url("/desk.xml"),
        srv.url("/ledger.xml"),
        srv.url("/metro.xml")
    );
    let env = TestEnv::new(&feeds);
    env.poll().await;

    let out = migrate(&env.config_path, &pg);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("copied") && said.contains("stories"),
        "{said}"
    );

    // and back, from a config whose database is the PostgreSQL copy
    let pg_config = env.dir.path().join("pg.toml");
    std::fs::write(&pg_config, format!("database = \"{pg}\"\n\n{feeds}")).unwrap();
    let back = env.dir.path().join("back.db");
    let out = migrate(&pg_config, back.to_str().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let original = env.store();
    let copy = newswire::store::Store::open(&back).unwrap();
    let (a, b): (&dyn Storage, &dyn Storage) = (&original, &copy);
    assert!(a.counts().unwrap().1 > 10, "the feeds made stories");
    assert_eq!(a.counts().unwrap(), b.counts().unwrap());
    assert_eq!(a.feed_states().unwrap(), b.feed_states().unwrap());
    assert_eq!(a.generation().unwrap(), b.generation().unwrap());
    for search in [
        &[][..],
        &["\"budget\""],
        &["\"fisheries\" \"pact\""],
        &["\"covid\""],
    ] {
        let (x, y) = (
            a.stories(&query(search)).unwrap(),
            b.stories(&query(search)).unwrap(),
        );
        assert!(!x.is_empty(), "{search:?} finds something");
        assert_eq!(format!("{x:?}"), format!("{y:?}"), "{search:?}");
    }

    // the SQLite copy stores long bodies packed, each with its length, as a poll does
    let back_db = rusqlite::Connection::open(&back).unwrap();
    let (packed, unmeasured): (i64, i64) = back_db
        .query_row(
            "SELECT count(*) FILTER (WHERE typeof(content) = 'blob'),
                    count(*) FILTER (WHERE content IS NOT NULL AND content_len IS NULL)
             FROM entries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(packed > 0 && unmeasured == 0, "{packed} {unmeasured}");

    // into a database that holds data already: refused, nothing written
    let again = migrate(&env.config_path, &pg);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds") && err.contains("empty"),
        "{err}"
    );
    // nor between two stores of one kind
    let same = migrate(
        &env.config_path,
        env.dir.path().join("x.db").to_str().unwrap(),
    );
    assert!(String::from_utf8_lossy(&same.stderr).contains("newswire backup"));
}
