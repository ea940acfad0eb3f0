//! WebSub through the real daemon: a hub written for the tests (tests/common/hub.rs) checks
//! the subscription request, performs verification of intent (good and bad challenges, a
//! denial), delivers signed, unsigned and forged content, and expects a renewal before the
//! lease ends and an unsubscription when the feed is removed.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::hub::{HubRequest, TestHub, form_map, sign};
use common::*;

/// A port that was free a moment ago: `public_url` must name the daemon's port before it
/// starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(path: &Path, port: u16, hub: &TestHub, feeds: &str) {
    std::fs::write(
        path,
        format!(
            "database = \"newswire.db\"\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}/\"\n\
             schedule = \"*/2 * * * * *\"\n\n[output]\nhub = \"{}\"\n\n[fetch]\ntimeout = \"5s\"\nmax_size = \"64KiB\"\n\n[websub]\nlease = \"1h\"\n\n{feeds}",
            hub.url()
        ),
    )
    .unwrap();
}

fn feed_toml(name: &str, url: &str) -> String {
    format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

async fn status(d: &Daemon) -> serde_json::Value {
    reqwest::get(d.url("/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn websub_of(d: &Daemon, feed: &str) -> serde_json::Value {
    let s = status(d).await;
    s["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == feed)
        .map(|f| f["websub"].clone())
        .unwrap_or(serde_json::Value::Null)
}

async fn merged_titles(d: &Daemon) -> Vec<String> {
    let body = reqwest::get(d.url("/feed.atom"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    titles(&feed_rs::parser::parse(&body[..]).expect("the merged feed parses"))
}

/// A feed server whose feed advertises `hub` in its Link header, and itself as self.
async fn feed_with_hub(hub: &TestHub) -> (FixtureServer, String) {
    let srv = FixtureServer::start().await;
    let url = srv.url("/blog.xml");
    srv.set(
        "/blog.xml",
        Route::rss(rss_stories("Blog", &[("polled-1", "A polled story")])).header(
            "link",
            &format!("<{}>; rel=\"hub\", <{url}>; rel=\"self\"", hub.url()),
        ),
    );
    (srv, url)
}

fn pushed(title: &str, guid: &str) -> String {
    rss_stories("Blog", &[(guid, title)])
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribe_verify_push_renew_and_unsubscribe() {
    let hub = TestHub::start().await;
    let (srv, feed_url) = feed_with_hub(&hub).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}/");
    write_config(&config, port, &hub, &feed_toml("blog", &feed_url));
    let d = Daemon::start(&config);

    // the subscription request
    let sub = hub.wait_for("subscribe", 1, Duration::from_secs(20)).await;
    let f = form_map(&sub);
    assert_eq!(f["hub.topic"], feed_url, "subscribes to the self URL");
    assert_eq!(f["hub.lease_seconds"], "3600");
    let callback = &f["hub.callback"];
    let token = callback
        .strip_prefix(&format!("{public}websub/"))
        .unwrap_or_else(|| panic!("callback {callback} under public_url"));
    assert!(
        token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "an unguessable callback: {token}"
    );
    let secret = f["hub.secret"].clone();
    assert!(secret.len() >= 32, "a per-subscription secret: {secret}");
    assert_eq!(websub_of(&d, "blog").await["state"], "requested");

    // bad verifications: wrong mode, wrong topic, unknown callback
    let (code, _) = hub.verify(&sub, "unsubscribe", &feed_url, "c1", 20).await;
    assert_eq!(code, 404, "a mode that was not asked for");
    let (code, _) = hub
        .verify(&sub, "subscribe", "http://elsewhere.example/feed", "c2", 20)
        .await;
    assert_eq!(code, 404, "a topic that was not asked for");
    let mut guessed = sub.clone();
    guessed.form = vec![(
        "hub.callback".into(),
        format!("{public}websub/{}", "0".repeat(64)),
    )];
    let (code, _) = hub.verify(&guessed, "subscribe", &feed_url, "c3", 20).await;
    assert_eq!(code, 404, "an unknown callback");
    assert_eq!(websub_of(&d, "blog").await["state"], "requested");

    // the good one: the challenge comes back as the body
    let (code, body) = hub
        .verify(&sub, "subscribe", &feed_url, "challenge-Zq9", 20)
        .await;
    assert_eq!((code, body.as_str()), (200, "challenge-Zq9"));
    let verified = Instant::now();
    let w = websub_of(&d, "blog").await;
    assert_eq!(w["state"], "subscribed", "{w}");
    assert!(w["subscribed_until"].is_string(), "{w}");
    // the same verification again is no longer pending
    let (code, _) = hub.verify(&sub, "subscribe", &feed_url, "again", 20).await;
    assert_eq!(code, 404, "a replayed verification");

    // while subscribed, the 2-second schedule polls only at the safety interval (one poll
    // right after subscribing starts it)
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let hits = srv.hits("/blog.xml");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        srv.hits("/blog.xml"),
        hits,
        "no scheduled polls while subscribed"
    );

    // deliveries: unsigned, forged, signed with the wrong secret, then signed right
    let ct = "application/rss+xml";
    let forged = pushed("Forged story", "forged-1");
    assert_eq!(hub.deliver(&sub, ct, &forged, None).await / 100, 2);
    assert_eq!(
        hub.deliver(
            &sub,
            ct,
            &forged,
            Some(sign("sha256", "not-the-secret", &forged))
        )
        .await
            / 100,
        2
    );
    let good = pushed("Pushed story", "pushed-1");
    // a body altered after signing
    assert_eq!(
        hub.deliver(&sub, ct, &forged, Some(sign("sha256", &secret, &good)))
            .await
            / 100,
        2
    );
    assert_eq!(
        hub.deliver(&sub, ct, &good, Some(sign("sha256", &secret, &good)))
            .await,
        200
    );
    // at once: the delivery is stored before it is answered
    let titles = merged_titles(&d).await;
    assert!(titles.contains(&"Pushed story".to_string()), "{titles:?}");
    assert!(!titles.iter().any(|t| t.contains("Forged")), "{titles:?}");
    let sha1 = pushed("Pushed with sha1", "pushed-2");
    assert_eq!(
        hub.deliver(&sub, ct, &sha1, Some(sign("sha1", &secret, &sha1)))
            .await,
        200
    );
    let sha512 = pushed("Pushed with sha512", "pushed-3");
    assert_eq!(
        hub.deliver(&sub, ct, &sha512, Some(sign("sha512", &secret, &sha512)))
            .await,
        200
    );
    // larger than [fetch] max_size: refused unread, even when signed
    let huge = pushed(&"x".repeat(100 * 1024), "huge-1");
    assert_eq!(
        hub.deliver(&sub, ct, &huge, Some(sign("sha256", &secret, &huge)))
            .await,
        413
    );
    let titles = merged_titles(&d).await;
    assert!(
        titles.contains(&"Pushed with sha1".to_string()),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Pushed with sha512".to_string()),
        "{titles:?}"
    );
    let w = websub_of(&d, "blog").await;
    assert_eq!(
        (w["pushes_received"].as_u64(), w["pushes_rejected"].as_u64()),
        (Some(3), Some(4)),
        "{w}"
    );
    assert!(w["last_push"].is_string(), "{w}");
    assert!(
        d.log().contains("WebSub delivery ignored"),
        "the forgeries are logged"
    );

    // `newswire feeds` shows it
    let out = Command::new(BIN)
        .args(["feeds", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("blog: subscribed until") && text.contains("pushes 3 received, 4 rejected"),
        "{text}"
    );

    // our own subscribers: the hub was pinged about the merged feed
    let ping = hub.wait_for("publish", 1, Duration::from_secs(10)).await;
    assert!(
        ping.all("hub.url")
            .contains(&format!("{public}feed.atom").as_str()),
        "{ping:?}"
    );

    // /metrics counts what WebSub did
    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "newswire_websub_deliveries_total{outcome=\"accepted\"} 3",
        "newswire_websub_deliveries_total{outcome=\"rejected\"} 4",
        "newswire_websub_hub_requests_total{mode=\"subscribe\",result=\"accepted\"}",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    // and the merged feed advertises hub and self under public_url
    let atom = reqwest::get(d.url("/feed.atom"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(atom.contains(&format!("href=\"{}\"", hub.url())), "{atom}");
    assert!(
        atom.contains(&format!("href=\"{public}feed.atom\"")),
        "{atom}"
    );

    // renewal before the 20 s lease ends, with the same callback, topic and secret
    let renewal: HubRequest = hub.wait_for("subscribe", 2, Duration::from_secs(30)).await;
    assert!(
        renewal.at < verified + Duration::from_secs(20),
        "renewed {:?} after the verification of a 20 s lease",
        renewal.at - verified
    );
    let r = form_map(&renewal);
    assert_eq!(
        (&r["hub.callback"], &r["hub.topic"], &r["hub.secret"]),
        (&f["hub.callback"], &f["hub.topic"], &f["hub.secret"])
    );
    assert_eq!(websub_of(&d, "blog").await["state"], "subscribed");
    let (code, _) = hub
        .verify(&renewal, "subscribe", &feed_url, "renewed", 3600)
        .await;
    assert_eq!(code, 200);

    // removal: the feed leaves the config, the hub gets an unsubscription
    write_config(&config, port, &hub, "");
    let unsub = hub
        .wait_for("unsubscribe", 1, Duration::from_secs(20))
        .await;
    assert_eq!(
        (unsub.get("hub.callback"), unsub.get("hub.topic")),
        (callback.as_str(), feed_url.as_str())
    );
    let (code, body) = hub.verify(&unsub, "unsubscribe", &feed_url, "bye", 0).await;
    assert_eq!((code, body.as_str()), (200, "bye"));
    // the callback is gone: a delivery, even signed, finds nothing
    let late = pushed("Late story", "late-1");
    assert_eq!(
        hub.deliver(&sub, ct, &late, Some(sign("sha256", &secret, &late)))
            .await,
        404
    );
    assert!(d.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denial_is_recorded_and_the_feed_stays_on_its_schedule() {
    let hub = TestHub::start().await;
    let (srv, feed_url) = feed_with_hub(&hub).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let port = free_port();
    write_config(&config, port, &hub, &feed_toml("blog", &feed_url));
    let d = Daemon::start(&config);
    let sub = hub.wait_for("subscribe", 1, Duration::from_secs(20)).await;
    // a denial for another topic is not ours
    let mut other = sub.clone();
    other.form.retain(|(k, _)| k != "hub.topic");
    other
        .form
        .push(("hub.topic".into(), "http://elsewhere.example/".into()));
    assert_eq!(hub.deny(&other, "no").await, 404);
    assert_eq!(hub.deny(&sub, "topic not allowed here").await, 200);
    let w = websub_of(&d, "blog").await;
    assert_eq!(w["state"], "denied", "{w}");
    assert!(
        w["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("topic not allowed here")),
        "{w}"
    );
    // denied: the feed is polled on its schedule, and not subscribed again at once
    let hits = srv.hits("/blog.xml");
    let deadline = Instant::now() + Duration::from_secs(20);
    while srv.hits("/blog.xml") < hits + 2 {
        assert!(
            Instant::now() < deadline,
            "the schedule goes on after a denial"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let subscribes = hub
        .requests()
        .iter()
        .filter(|r| r.get("hub.mode") == "subscribe")
        .count();
    assert_eq!(subscribes, 1, "a denial is not asked again at every poll");
    // a verification after the denial is not pending any more
    let (code, _) = hub.verify(&sub, "subscribe", &feed_url, "late", 60).await;
    assert_eq!(code, 404);
    assert!(d.stop().success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lapsed_subscription_falls_back_to_the_schedule() {
    let hub = TestHub::start().await;
    let (srv, feed_url) = feed_with_hub(&hub).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newswire.toml");
    let port = free_port();
    write_config(&config, port, &hub, &feed_toml("blog", &feed_url));
    let d = Daemon::start(&config);
    let sub = hub.wait_for("subscribe", 1, Duration::from_secs(20)).await;
    let (code, _) = hub.verify(&sub, "subscribe", &feed_url, "short", 3).await;
    assert_eq!(code, 200);
    // the hub takes the renewal request but never verifies it: the lease runs out
    hub.wait_for("subscribe", 2, Duration::from_secs(20)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while websub_of(&d, "blog").await["state"] != "lapsed" {
        assert!(Instant::now() < deadline, "the subscription lapses");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let hits = srv.hits("/blog.xml");
    while srv.hits("/blog.xml") < hits + 2 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "polls resume on the 2-second schedule once the lease is over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(d.stop().success());
}
