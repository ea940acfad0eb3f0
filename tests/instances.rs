//! Several `newswire` processes on one database: started together on a new SQLite file,
//! each finds the schema made once (the migration is serialized between processes).

mod common;

use common::*;

/// Three `newswire run` started at the same moment on a new file all come up, and the file
/// ends with one schema at the newest version.
#[tokio::test(flavor = "multi_thread")]
async fn instances_started_together_on_a_new_file_all_start() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss_stories("A", &[("one", "A first story.")])),
    );
    for round in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let configs: Vec<_> = (0..3)
            .map(|i| {
                let path = dir.path().join(format!("newswire-{i}.toml"));
                std::fs::write(
                    &path,
                    format!(
                        "database = \"shared.db\"\nlisten = \"127.0.0.1:0\"\n\n\
                         [[feed]]\nname = \"a\"\nurl = \"{}\"\n",
                        srv.url("/a.xml")
                    ),
                )
                .unwrap();
                path
            })
            .collect();
        // spawned back to back, before any has opened the file
        let children: Vec<_> = configs.iter().map(|c| Daemon::command(BIN, c)).collect();
        let daemons: Vec<Daemon> = std::thread::scope(|s| {
            let handles: Vec<_> = children
                .into_iter()
                .map(|cmd| s.spawn(move || Daemon::start_command(cmd)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| panic!("round {round}: an instance did not start"))
                })
                .collect()
        });
        for d in &daemons {
            let status = reqwest::get(d.url("/status")).await.unwrap();
            assert!(status.status().is_success(), "round {round}:\n{}", d.log());
            assert!(
                !d.log().contains("already exists"),
                "round {round}:\n{}",
                d.log()
            );
        }
        drop(daemons);
        let conn = rusqlite::Connection::open(dir.path().join("shared.db")).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        let fresh = tempfile::tempdir().unwrap();
        drop(newswire::store::Store::open(&fresh.path().join("n.db")).unwrap());
        let newest: i64 = rusqlite::Connection::open(fresh.path().join("n.db"))
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, newest);
    }
}
