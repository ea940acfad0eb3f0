//! `newswire poll` at a terminal (under a pseudo-terminal, with the real binary): each feed
//! is reported once, log lines do not repeat it, `-q` leaves the feeds' lines out and `-v`
//! adds debug logs.

mod common;

use common::*;

/// Three feeds whose names appear nowhere else (not in their URLs or titles): two that
/// answer and one that fails; and an output file.
async fn three_feeds() -> (FixtureServer, TestEnv) {
    let srv = FixtureServer::start().await;
    srv.set("/1.xml", Route::rss(fixture("metro-wire.rss.xml")));
    srv.set("/2.xml", Route::rss(fixture("ledger-world.rss.xml")));
    srv.set("/3.xml", Route::status(500));
    let env = TestEnv::new(&format!(
        "[output]\nfile = \"merged.atom\"\n\n[[feed]]\nname = \"alpha\"\nurl = \"{}\"\n\n[[feed]]\nname = \"bravo\"\nurl = \"{}\"\n\n\
         [[feed]]\nname = \"charlie\"\nurl = \"{}\"\n",
        srv.url("/1.xml"),
        srv.url("/2.xml"),
        srv.url("/3.xml")
    ));
    (srv, env)
}

async fn poll_at_terminal(env: &TestEnv, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec![
        "poll".into(),
        "--config".into(),
        env.config_path.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let screen = tokio::task::spawn_blocking(move || {
        newswire_at_terminal(&args, &[("RUST_LOG", "info")], b"")
    })
    .await
    .unwrap();
    assert!(screen.ok, "{}", screen.text);
    screen.text
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_at_a_terminal_reports_each_feed_once() {
    let (_srv, env) = three_feeds().await;
    let term = poll_at_terminal(&env, &[]).await;
    for name in ["alpha", "bravo", "charlie"] {
        assert_eq!(term.matches(name).count(), 1, "{name}:\n{term}");
    }
    assert!(term.contains("alpha: ok (200)"), "{term}");
    assert!(term.contains("charlie: FAILED"), "{term}");
    assert!(
        term.contains("polled 3 feeds in") && term.contains("2 ok") && term.contains("1 failed"),
        "{term}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_quiet_prints_the_summary_only_and_verbose_adds_debug_logs() {
    let (_srv, env) = three_feeds().await;
    // the first poll writes the output file, which is logged at debug
    let term = poll_at_terminal(&env, &["--verbose"]).await;
    assert!(
        term.contains("DEBUG") && term.contains("output file written"),
        "{term}"
    );
    assert!(term.contains("polled 3 feeds in"), "{term}");

    let term = poll_at_terminal(&env, &["-q"]).await;
    for name in ["alpha", "bravo", "charlie"] {
        assert!(!term.contains(name), "{name}:\n{term}");
    }
    assert!(term.contains("polled 3 feeds in"), "{term}");
    assert!(!term.contains("INFO"), "{term}");
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_in_a_pipe_keeps_its_lines_and_its_log() {
    let (_srv, env) = three_feeds().await;
    let config = env.config_path.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["poll", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // a line per feed on stdout, and the log's summary events for journald and files
    assert!(stdout.contains("alpha: ok (200)"), "{stdout}");
    assert!(stdout.contains("charlie: FAILED"), "{stdout}");
    assert!(
        stderr.contains("polled") && stderr.contains("alpha"),
        "{stderr}"
    );
    assert!(stderr.contains("poll failed"), "{stderr}");
}
