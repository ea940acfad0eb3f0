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
            // each config is an instance with its own list; the lists agree
            let status: serde_json::Value = status.json().await.unwrap();
            let instances = status["instances"].as_array().unwrap();
            assert_eq!(instances.len(), 3, "{status}");
            assert_eq!(
                instances.iter().filter(|i| i["this"] == true).count(),
                1,
                "{status}"
            );
            assert!(instances.iter().all(|i| i["feeds"] == 1), "{status}");
            assert_eq!(status["feed_list_differences"], serde_json::json!([]));
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

/// Two configs on one database, each with a feed the other lacks: neither removes the other's
/// feed (each says how the lists differ), and a feed goes when the last config that listed it
/// drops it.
#[tokio::test(flavor = "multi_thread")]
async fn instances_with_different_feed_lists_keep_each_others_feeds() {
    let srv = FixtureServer::start().await;
    for (path, title) in [("/a.xml", "A"), ("/b.xml", "B"), ("/c.xml", "C")] {
        let body = rss_stories(title, &[(title, &format!("The {title} desk's own story."))]);
        srv.set(path, Route::rss(body));
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, feeds: &[&str]| {
        let mut toml = "database = \"shared.db\"\nlisten = \"127.0.0.1:0\"\n".to_string();
        for f in feeds {
            toml.push_str(&format!(
                "\n[[feed]]\nname = \"{f}\"\nurl = \"{}\"\n",
                srv.url(&format!("/{f}.xml"))
            ));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, toml).unwrap();
        path
    };
    let poll = |config: std::path::PathBuf| async move {
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(BIN)
                .args(["poll", "--config"])
                .arg(&config)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{log}");
        log
    };
    let stored = || -> Vec<(String, i64)> {
        let conn = rusqlite::Connection::open(dir.path().join("shared.db")).unwrap();
        let mut stmt = conn
            .prepare("SELECT f.name, (SELECT count(*) FROM entries e WHERE e.feed = f.name) FROM feeds f ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let east = write("east.toml", &["a", "b"]);
    let west = write("west.toml", &["b", "c"]);
    poll(east.clone()).await;
    assert_eq!(stored(), [("a".into(), 1), ("b".into(), 1)]);
    let log = poll(west.clone()).await;
    assert_eq!(
        stored(),
        [("a".into(), 1), ("b".into(), 1), ("c".into(), 1)],
        "west keeps east's feed a: {log}"
    );
    assert!(
        log.contains("another instance on this database lists other feeds")
            && log.contains("east.toml"),
        "{log}"
    );
    // east drops a: nobody lists it now
    let east = write("east.toml", &["b"]);
    poll(east).await;
    assert_eq!(stored(), [("b".into(), 1), ("c".into(), 1)]);
    // an instance named in the config
    std::fs::write(
        &west,
        std::fs::read_to_string(&west)
            .unwrap()
            .replace("listen", "instance = \"west-1\"\nlisten"),
    )
    .unwrap();
    poll(west.clone()).await;
    let conn = rusqlite::Connection::open(dir.path().join("shared.db")).unwrap();
    let owners: Vec<String> = conn
        .prepare("SELECT owner FROM feed_lists ORDER BY owner")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(owners.len(), 3, "{owners:?}");
    assert!(owners.contains(&"west-1".to_string()), "{owners:?}");

    // east takes a again, then is taken out of service: forgotten at once, its feed goes
    // at the next poll of an instance that does not list it
    let east = write("east.toml", &["a", "b"]);
    poll(east.clone()).await;
    let east_name = owners
        .iter()
        .find(|o| o.ends_with("east.toml"))
        .unwrap()
        .clone();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&west)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, shown) = run(&["instances"]);
    assert_eq!(code, Some(0), "{shown}");
    let line = |name: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {shown}"))
            .to_string()
    };
    assert!(line("west-1").ends_with("this config"), "{shown}");
    assert!(
        line(&east_name).ends_with("1 only there, 1 only here, 0 at another URL"),
        "{shown}"
    );
    let (code, said) = run(&["instances", "--forget", "nobody"]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("no instance is called \"nobody\""), "{said}");
    let (code, said) = run(&["instances", "--forget", &east_name]);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains(&format!("\n{east_name} ")), "{said}");
    assert_eq!(
        stored()[0],
        ("a".into(), 1),
        "forgetting removes nothing by itself"
    );
    poll(west).await;
    assert_eq!(stored(), [("b".into(), 1), ("c".into(), 1)]);
}
