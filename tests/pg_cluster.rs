//! What several instances on one PostgreSQL database share, at the store: feed leases
//! (one poll per feed per cycle, fenced writes, expired leases taken over), fetch slots per
//! host across instances, and the leader. Each `PgStore` here is one instance.

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use newswire::store::pg::PgStore;
use newswire::store::{FeedList, FeedSpec, FeedUpdate, Storage, StoreError};

fn at(m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, m, 0).unwrap()
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

type Instance = Box<dyn Storage>;

fn instance(db: &str) -> Instance {
    Box::new(PgStore::open(db).unwrap())
}

fn setup(name: &str, n: usize) -> Option<(String, Vec<Instance>)> {
    let server = common::pg::server()?;
    let db = common::pg::scratch(&server, name);
    let all: Vec<Instance> = (0..n).map(|_| instance(&db)).collect();
    all[0]
        .sync_feeds(&FeedList::lone(&["a", "b", "c", "d"].map(|n| FeedSpec {
            name: n.into(),
            url: format!("https://{n}.example/feed"),
        })))
        .unwrap();
    Some((db, all))
}

const HOLD: Duration = Duration::from_secs(60);

/// `s` claims `feeds` for the tick at minute `tick`, at minute `now`, with ticks every
/// 10 minutes (a cycle: ticks less than 5 minutes apart).
fn claim(s: &dyn Storage, feeds: &[String], tick: u32, now: DateTime<Utc>) -> Vec<String> {
    let since = at(tick) - chrono::Duration::minutes(5);
    s.claim_feeds(feeds, at(tick), since, now, HOLD).unwrap()
}

#[test]
fn each_feed_is_claimed_by_one_instance_per_cycle() {
    let Some((_, i)) = setup("nw_leases", 2) else {
        return;
    };
    let feeds = names(&["a", "b", "c", "d"]);
    let first = claim(&*i[0], &feeds[..2], 0, at(0));
    assert_eq!(first, ["a", "b"]);
    // the other instance, at the same moment, gets only what is free
    let second = claim(&*i[1], &feeds, 0, at(0));
    assert_eq!(second, ["c", "d"]);
    // a stored poll gives the lease back; the same cycle does not poll the feed again
    i[0].record_unchanged(
        "a",
        &FeedUpdate {
            at: at(1),
            status: 304,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(claim(&*i[1], &feeds[..1], 0, at(2)).is_empty());
    // the next cycle does
    assert_eq!(claim(&*i[1], &feeds[..1], 30, at(30)), ["a"]);
    // a lease let go unpolled is free again in the same cycle
    i[0].release_feed("b").unwrap();
    assert_eq!(claim(&*i[1], &feeds[1..2], 0, at(3)), ["b"]);
}

#[test]
fn an_expired_lease_is_taken_over_and_the_old_holder_cannot_write() {
    let Some((_, i)) = setup("nw_fence", 2) else {
        return;
    };
    let a = names(&["a"]);
    assert_eq!(claim(&*i[0], &a, 0, at(0)), ["a"]);
    // while the lease holds, nobody else polls the feed
    assert!(claim(&*i[1], &a, 0, at(0)).is_empty());
    // the holder stalls (killed, or a fetch longer than the lease): its lease holds into the
    // next cycle while it lasts, and is taken over once it expired
    assert!(claim(&*i[1], &a, 10, at(0) + chrono::Duration::seconds(30)).is_empty());
    assert_eq!(claim(&*i[1], &a, 10, at(10)), ["a"]);
    // the old holder's result is refused, the new holder's stored
    let update = |m| FeedUpdate {
        at: at(m),
        status: 304,
        ..Default::default()
    };
    let refused = i[0].record_unchanged("a", &update(2));
    assert!(
        matches!(refused, Err(StoreError::LeaseLost(ref f)) if f == "a"),
        "{refused:?}"
    );
    i[1].record_unchanged("a", &update(3)).unwrap();
    assert_eq!(
        i[0].feed_state("a").unwrap().unwrap().last_poll,
        Some(at(3))
    );
    let failure = i[0].record_failure("a", at(4), None, "late", None);
    assert!(
        matches!(failure, Err(StoreError::LeaseLost(_))),
        "{failure:?}"
    );
}

#[test]
fn host_slots_hold_across_instances_and_die_with_theirs() {
    let Some((db, mut i)) = setup("nw_hosts", 2) else {
        return;
    };
    let host = "news.example";
    let (s0, s1) = (
        i[0].take_host_slot(host, 2).unwrap(),
        i[0].take_host_slot(host, 2).unwrap(),
    );
    assert!(s0.is_some() && s1.is_some() && s0 != s1);
    assert_eq!(
        i[1].take_host_slot(host, 2).unwrap(),
        None,
        "per_host = 2 in all"
    );
    assert!(i[1].take_host_slot("other.example", 2).unwrap().is_some());
    i[0].release_host_slot(host, s0.unwrap()).unwrap();
    let got = i[1].take_host_slot(host, 2).unwrap();
    assert_eq!(got, s0);
    // an instance that dies gives its slots back with its session (which the server ends a
    // moment after the connection closes)
    drop(i.remove(0));
    let next = instance(&db);
    eventually("the dead instance's slot is free", || {
        let slot = next.take_host_slot(host, 2).unwrap();
        if let Some(slot) = slot {
            next.release_host_slot(host, slot).unwrap();
        }
        slot.is_some()
    });
}

/// Waits up to ten seconds for `done`: what the server does once a session ends (freeing its
/// advisory locks) happens a moment after the client closed the connection, not before
/// `drop` returns.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not after 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_instance_leads_and_another_takes_over_when_it_dies() {
    let Some((_, mut i)) = setup("nw_leader", 3) else {
        return;
    };
    assert!(i[0].lead().unwrap());
    assert!(i[0].lead().unwrap(), "it keeps leading");
    assert!(!i[1].lead().unwrap());
    assert!(!i[2].lead().unwrap());
    drop(i.remove(0));
    // its session ended with it: once the server has seen it end, one of the others leads
    // when it asks, and from then on only it
    let mut leader = None;
    eventually("another instance leads", || {
        leader = i.iter().position(|s| s.lead().unwrap());
        leader.is_some()
    });
    let leader = leader.unwrap();
    let leaders: Vec<bool> = i.iter().map(|s| s.lead().unwrap()).collect();
    let expected: Vec<bool> = (0..i.len()).map(|n| n == leader).collect();
    assert_eq!(leaders, expected);
}

#[test]
fn instances_started_together_migrate_once() {
    let Some(server) = common::pg::server() else {
        return;
    };
    let db = common::pg::scratch(&server, "nw_migrate_race");
    let opened: Vec<Result<PgStore, StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| PgStore::open(&db))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &opened {
        assert!(o.is_ok(), "{:?}", o.as_ref().err());
    }
    let first: &dyn Storage = opened[0].as_ref().unwrap();
    assert_eq!(first.feed_states().unwrap(), vec![]);
}
