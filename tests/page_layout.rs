//! The page in a real browser (headless Chromium) at desktop and phone widths, filtered by a
//! tag and a search: the way back (breadcrumbs, views, tags) comes before the stories, and
//! screenshots are left under target/ for a person to look at
//! (`target/tmp/artifacts/page-{desktop,phone}.png`). Skips without chromium, unless
//! NEWSWIRE_REQUIRE_READERS is set (as `.ci/run` does).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Width and height of a PNG file, from its IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[1..4], b"PNG", "{} is not a PNG", path.display());
    let n = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (n(16), n(20))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filtered_page_at_desktop_and_phone_widths() {
    let Some(chromium) = on_path("chromium").or_else(|| on_path("chromium-browser")) else {
        assert!(
            std::env::var_os("NEWSWIRE_REQUIRE_READERS").is_none(),
            "chromium is required here but missing"
        );
        eprintln!("skipping: chromium is not installed (apt-get install chromium)");
        return;
    };
    let srv = FixtureServer::start().await;
    srv.set("/desk.xml", Route::rss(fixture("search-words.rss.xml")));
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"desk\"\nurl = \"{}\"\ntags = [\"local\", \"politics\"]\n\n\
         [[view]]\nname = \"truce\"\ntitle = \"Truce watch\"\nquery = \"truce\"\n",
        srv.url("/desk.xml")
    ));
    env.poll().await;
    let d = Daemon::start(&env.config_path);
    let url = d.url("/?tag=local&q=budget");

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let profile_dir = profile.path().to_path_buf();
    let run = move |size: &str, extra: &str| {
        let out = Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--window-size={size}"))
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "chromium: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let artifacts2 = artifacts.clone();
    let (dom, shots) = tokio::task::spawn_blocking(move || {
        let dom = run("390,844", "--dump-dom");
        let mut shots = Vec::new();
        for (name, size, want) in [
            ("desktop", "1280,900", (1280, 900)),
            ("phone", "390,844", (390, 844)),
        ] {
            let shot = artifacts2.join(format!("page-{name}.png"));
            let _ = std::fs::remove_file(&shot);
            run(size, &format!("--screenshot={}", shot.display()));
            shots.push((shot, want));
        }
        (dom, shots)
    })
    .await
    .unwrap();
    for (shot, want) in shots {
        assert_eq!(png_size(&shot), want, "{}", shot.display());
        eprintln!("screenshot: {}", shot.display());
    }
    // what a person reads, in order: the filters with their way out, the views and tags,
    // then the stories (the feed list comes last, linked from the top)
    let at = |s: &str| {
        dom.find(s)
            .unwrap_or_else(|| panic!("{s} is not on the page:\n{dom}"))
    };
    assert!(at("tag: local") < at("search: budget"));
    assert!(at("search: budget") < at("Truce watch"));
    assert!(at("Truce watch") < at("#politics"));
    assert!(at("#politics") < at("<article"));
    assert!(at("href=\"#feeds\"") < at("<article"));
    assert!(at("<article") < at("id=\"feeds\""));
    // the search inside the tag found both budget stories, and says where it searched
    assert!(dom.contains("City budget: parks win, roads lose"));
    assert!(dom.contains("Truce declared in the budget standoff"));
    assert!(!dom.contains("AT&amp;T raises prices"));
    assert!(dom.contains("Search in #local"));
    d.stop();
}
