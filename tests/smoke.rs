mod common;
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_is_polled_stored_and_published() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/world.xml",
        Route::rss(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>World</title><link>http://x/</link>
<item><title>First</title><link>http://x/1</link><guid>1</guid><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate></item>
</channel></rss>"#,
        ),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"world\"\nurl = \"{}\"\n",
        srv.url("/world.xml")
    ));
    let s = env.poll().await;
    assert!(!s[0].failed(), "{}", s[0]);
    let parsed = env.merged_atom_parsed();
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(parsed.entries[0].title.as_ref().unwrap().content, "First");
    // the second poll is a 304
    let s = env.poll().await;
    assert_eq!(
        s[0].outcome,
        newswire::poll::Outcome::NotModified,
        "{}",
        s[0]
    );
    assert_eq!(srv.seen("/world.xml")[1].status, 304);
}
