//! The command line itself, from the real binary: `--version` names the commit it was built
//! from, and completions and the man page are generated from the same definition.

mod common;

use std::process::Command;

use common::*;

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "newswire {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn version_names_the_commit() {
    let v = run(&["--version"]);
    assert!(
        v.starts_with(&format!("newswire {} (", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success());
    match head {
        // built from this checkout: the commit (a test run right after a commit may see the
        // binary of the one before; cargo rebuilds it when HEAD moves)
        Some(h) => {
            let hash = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(v.contains(&format!("({hash})")), "{v} is not at {hash}");
        }
        None => eprintln!("skipping the commit check: not a git checkout"),
    }
}

#[test]
fn completions_and_man_page_cover_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        for cmd in ["run", "poll", "backup", "opml", "completions"] {
            assert!(script.contains(cmd), "{shell}: {cmd} missing");
        }
    }
    let man = run(&["man"]);
    assert!(
        man.starts_with(".ie") || man.contains(".TH newswire"),
        "{man}"
    );
    for cmd in ["backup", "poll", "opml"] {
        assert!(man.contains(cmd), "man: {cmd} missing");
    }
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn starting_from_zero_init_then_check_and_add_on_a_missing_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mine.toml");
    let cmd = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    // add and opml import on a missing config say how to make one, and make nothing
    for args in [
        &["add", "https://example.com/feed.xml"][..],
        &["opml", "import", "subs.opml"][..],
    ] {
        let out = cmd(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("there is no config file") && err.contains("newswire init --config"),
            "{args:?}: {err}"
        );
        assert!(!config.exists());
    }
    // init writes the commented config, which checks
    let out = cmd(&["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("# newswire configuration"), "{text}");
    let out = cmd(&["check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a second init leaves the file alone
    std::fs::write(&config, "database = \"x.db\"\n").unwrap();
    let out = cmd(&["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "database = \"x.db\"\n"
    );
    // an empty feed list passes check, with a warning
    let out = cmd(&["check"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("no [[feed]]"),
        "{err}"
    );
}
