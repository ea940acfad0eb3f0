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

/// A feed of one long read: a body long enough to be stored packed.
fn long_read() -> String {
    let paragraphs = [
        "The harbour authority approved on Tuesday a plan to dredge the eastern channel, \
         ending a dispute that had kept larger container ships away from the port for three years.",
        "Under the plan, the channel will be deepened to fourteen metres over two winters, \
         when fewer ferries use it, and the dredged silt will be used to rebuild the salt marsh \
         north of the breakwater rather than dumped at sea.",
        "Fishermen's groups, which had opposed an earlier version, said the timetable now \
         protected the spring spawning season. Their spokeswoman said the group would watch the \
         water quality reports closely and would ask for monthly meetings with the authority.",
        "The work is expected to cost 48 million euros, two thirds of it paid by the regional \
         government. The first dredger is due to arrive in November, and the authority said \
         traffic in the western channel would not be affected while the work goes on.",
        "Shipping lines welcomed the decision. One of the largest said it would return two \
         weekly services to the port once the channel reached its new depth, and that it was \
         in talks about a third.",
    ];
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Harbour Times</title>\
         <link>https://harbour.example/</link><description>Port news</description>\
         <item><title>Eastern channel to be dredged</title><link>https://harbour.example/dredge</link>\
         <guid>https://harbour.example/dredge</guid><pubDate>Tue, 03 Jun 2025 09:00:00 GMT</pubDate>\
         <description><![CDATA[{body}]]></description></item></channel></rss>"
    )
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
    srv.set("/long.xml", Route::rss(long_read()));
    let feeds = format!(
        "[[feed]]\nname = \"desk\"\nurl = \"{}\"\n\n[[feed]]\nname = \"ledger\"\nurl = \"{}\"\n\n[[feed]]\nname = \"metro\"\nurl = \"{}\"\n\n[[feed]]\nname = \"long\"\nurl = \"{}\"\n",
        srv.url("/desk.xml"),
        srv.url("/ledger.xml"),
        srv.url("/metro.xml"),
        srv.url("/long.xml")
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
    let stored = |db: &std::path::Path| -> (i64, i64) {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row(
                "SELECT count(*) FILTER (WHERE typeof(content) = 'blob'),
                        count(*) FILTER (WHERE content IS NOT NULL AND content_len IS NULL)
                 FROM entries",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let (packed, unmeasured) = stored(&back);
    assert!(packed > 0 && unmeasured == 0, "{packed} {unmeasured}");
    assert_eq!(
        stored(&env.db_path()).0,
        packed,
        "the poll packed the same bodies"
    );

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
