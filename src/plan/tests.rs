//! Every dedup rule against the plan alone: no SQLite.

use std::sync::Arc;

use super::*;

fn at(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap()
}

const NOW: i64 = 1_750_000_000;

fn article(guid: &str, url: &str, title: &str) -> Article {
    Article {
        key: ArticleKey::Guid(guid.into()),
        guid: Some(guid.into()),
        title: title.into(),
        link: Some(url.into()),
        canonical_url: Some(url.into()),
        authors: vec![],
        published: Some(at(NOW - 3600)),
        updated: None,
        summary: None,
        content: None,
        categories: vec![],
        image: None,
        image_credit: None,
        language: None,
    }
}

fn stored(id: i64, guid: &str, url: &str, hash: &str) -> Stored {
    Stored {
        id,
        key: format!("guid:{guid}"),
        story: id * 10,
        hash: hash.into(),
        canonical_url: Some(url.into()),
        published: at(NOW - 7200),
        published_given: true,
        updated: at(NOW - 7200),
        updates_day: 0,
        updates_count: 0,
        split: false,
    }
}

fn plan_one(a: &Article, hash: &str, stored: &[Stored], tombs: &[&str]) -> EntryAction {
    let tombstones = tombs.iter().map(|s| s.to_string()).collect();
    let mut out = entries(
        "f",
        &[Incoming { article: a, hash }],
        stored,
        &tombstones,
        &StoreSettings::default(),
        at(NOW),
        READING,
    );
    out.remove(0)
}

#[test]
fn a_new_article_is_inserted_under_its_url_with_its_dates() {
    let a = article("g1", "https://e.com/a", "A");
    let EntryAction::Insert { story_key, dates } = plan_one(&a, "h", &[], &[]) else {
        panic!()
    };
    assert_eq!(story_key, StoryKey::Url("https://e.com/a".into()));
    assert_eq!(dates.published, at(NOW - 3600));
    assert!(dates.published_given);
    assert_eq!(dates.updated, dates.published);
}

#[test]
fn an_article_without_a_date_takes_the_time_it_was_first_seen_and_keeps_it() {
    let mut a = article("g1", "https://e.com/a", "A");
    a.published = None;
    let EntryAction::Insert { dates, .. } = plan_one(&a, "h", &[], &[]) else {
        panic!()
    };
    assert_eq!((dates.published, dates.published_given), (at(NOW), false));
    // changed later: it keeps the stored time
    let s = stored(1, "g1", "https://e.com/a", "old");
    let EntryAction::Update { dates, .. } = plan_one(&a, "new", &[s], &[]) else {
        panic!()
    };
    assert_eq!(dates.published, at(NOW - 7200));
    assert_eq!(dates.updated, at(NOW), "the time the change was seen");
}

#[test]
fn the_same_hash_is_unchanged_and_a_new_hash_updates_in_place() {
    let a = article("g1", "https://e.com/a", "A");
    let s = stored(1, "g1", "https://e.com/a", "h");
    assert_eq!(
        plan_one(&a, "h", std::slice::from_ref(&s), &[]),
        EntryAction::Unchanged {
            why: Unchanged::SameHash,
            rekey: None
        }
    );
    match plan_one(&a, "h2", &[s], &[]) {
        EntryAction::Update {
            entry,
            old_story,
            rekey,
            updates,
            ..
        } => {
            assert_eq!((entry, old_story, rekey), (1, 10, false));
            assert_eq!(updates, (NOW.div_euclid(86400), 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pruned_entry_still_listed_stays_pruned() {
    let a = article("g1", "https://e.com/a", "A");
    assert_eq!(
        plan_one(&a, "h", &[], &["guid:g1"]),
        EntryAction::Unchanged {
            why: Unchanged::Tombstone,
            rekey: None
        }
    );
}

#[test]
fn updates_are_throttled_per_day() {
    let a = article("g1", "https://e.com/a", "A");
    let mut s = stored(1, "g1", "https://e.com/a", "h");
    s.updates_day = NOW.div_euclid(86400);
    s.updates_count = 4;
    assert_eq!(
        plan_one(&a, "h2", std::slice::from_ref(&s), &[]),
        EntryAction::Unchanged {
            why: Unchanged::Throttled,
            rekey: None
        }
    );
    // a new day starts a new count
    s.updates_day -= 1;
    assert!(matches!(
        plan_one(&a, "h2", &[s], &[]),
        EntryAction::Update {
            updates: (_, 1),
            ..
        }
    ));
}

#[test]
fn a_feed_update_time_counts_only_when_it_moves_forward() {
    let mut a = article("g1", "https://e.com/a", "A");
    let s = stored(1, "g1", "https://e.com/a", "h");
    a.updated = Some(at(NOW - 100));
    let EntryAction::Update { dates, .. } = plan_one(&a, "h2", std::slice::from_ref(&s), &[])
    else {
        panic!()
    };
    assert_eq!(dates.updated, at(NOW - 100));
    a.updated = Some(at(NOW - 9000));
    let EntryAction::Update { dates, .. } = plan_one(&a, "h2", &[s], &[]) else {
        panic!()
    };
    assert_eq!(dates.updated, at(NOW));
}

#[test]
fn an_entry_read_otherwise_after_an_upgrade_is_updated_without_a_new_update_time() {
    let read = |a: &Article, s: &Stored, read_with: i64| {
        let out = entries(
            "f",
            &[Incoming {
                article: a,
                hash: "h2",
            }],
            std::slice::from_ref(s),
            &HashSet::new(),
            &StoreSettings::default(),
            at(NOW),
            read_with,
        );
        match out.into_iter().next() {
            Some(EntryAction::Update { dates, updates, .. }) => (dates.updated, updates),
            other => panic!("{other:?}"),
        }
    };
    let mut a = article("g1", "https://e.com/a", "A");
    let mut s = stored(1, "g1", "https://e.com/a", "h");
    s.updated = at(NOW - 1800);
    s.updates_day = NOW.div_euclid(86400) - 3;
    s.updates_count = 2;
    // the feed was last read the old way, and does not say the entry changed: the change
    // is newswire's, stored in place with the entry's own update time and counter
    assert_eq!(
        read(&a, &s, READING - 1),
        (at(NOW - 1800), (s.updates_day, 2))
    );
    // even on a day of many updates (the throttle is for the feed's changes)
    s.updates_day = NOW.div_euclid(86400);
    s.updates_count = 100;
    assert_eq!(
        read(&a, &s, READING - 1),
        (at(NOW - 1800), (s.updates_day, 100))
    );
    s.updates_count = 0;
    // read the current way already: a change is the feed's, seen now
    let today = NOW.div_euclid(86400);
    assert_eq!(read(&a, &s, READING), (at(NOW), (today, 1)));
    // the feed moved its own update time: its change, whatever the reading
    a.updated = Some(at(NOW - 100));
    assert_eq!(read(&a, &s, READING - 1), (at(NOW - 100), (today, 1)));
}

#[test]
fn guid_churn_on_the_same_link_rekeys_the_stored_entry() {
    let a = article("new-guid", "https://e.com/a", "A");
    let s = stored(1, "old-guid", "https://e.com/a", "h");
    assert_eq!(
        plan_one(&a, "h", std::slice::from_ref(&s), &[]),
        EntryAction::Unchanged {
            why: Unchanged::SameHash,
            rekey: Some(1)
        }
    );
    assert!(matches!(
        plan_one(&a, "h2", &[s], &[]),
        EntryAction::Update { rekey: true, .. }
    ));
}

#[test]
fn a_link_shared_by_several_items_is_no_migration_and_each_is_its_own_story() {
    // the document still lists the old key: a new item on the same link, not churn
    let old = article("old-guid", "https://e.com/live", "Live 1");
    let new = article("new-guid", "https://e.com/live", "Live 2");
    let s = stored(1, "old-guid", "https://e.com/live", "h");
    let out = entries(
        "f",
        &[
            Incoming {
                article: &new,
                hash: "h2",
            },
            Incoming {
                article: &old,
                hash: "h",
            },
        ],
        std::slice::from_ref(&s),
        &HashSet::new(),
        &StoreSettings::default(),
        at(NOW),
        READING,
    );
    assert!(
        matches!(&out[0], EntryAction::Insert { story_key: StoryKey::Entry { feed, key }, .. }
            if feed == "f" && key == "guid:new-guid"),
        "{out:?}"
    );
    assert!(matches!(
        out[1],
        EntryAction::Unchanged {
            why: Unchanged::SameHash,
            rekey: None
        }
    ));
    // two stored entries on the URL: ambiguous, no migration
    let s2 = stored(2, "other", "https://e.com/live", "h");
    assert!(matches!(
        plan_one(&new, "h3", &[s, s2], &[]),
        EntryAction::Insert { .. }
    ));
}

#[test]
fn a_key_repeated_in_one_document_counts_once() {
    let a = article("g1", "https://e.com/a", "A");
    let out = entries(
        "f",
        &[
            Incoming {
                article: &a,
                hash: "h",
            },
            Incoming {
                article: &a,
                hash: "h",
            },
        ],
        &[],
        &HashSet::new(),
        &StoreSettings::default(),
        at(NOW),
        READING,
    );
    assert!(matches!(out[0], EntryAction::Insert { .. }));
    assert_eq!(
        out[1],
        EntryAction::Unchanged {
            why: Unchanged::Repeated,
            rekey: None
        }
    );
}

#[test]
fn a_split_entry_keeps_its_own_story_key_when_updated() {
    let a = article("g1", "https://e.com/a", "A");
    let mut s = stored(1, "g1", "https://e.com/a", "h");
    s.split = true;
    let EntryAction::Update { story_key, .. } = plan_one(&a, "h2", &[s], &[]) else {
        panic!()
    };
    assert_eq!(
        story_key,
        StoryKey::Split {
            feed: "f".into(),
            key: "guid:g1".into()
        }
    );
}

const WIRE: &str = "The central bank left its benchmark interest rate unchanged at 4.5 percent on \
    Thursday, but its governor said policymakers could begin lowering borrowing costs before the \
    end of the year if inflation continued to ease. Consumer prices rose 2.8 percent in the year \
    to October, down from a peak of more than ten percent.";
const LEAD: &str = "The central bank left its benchmark interest rate unchanged at 4.5 percent on \
    Thursday, but its governor said policymakers could begin lowering borrowing costs.";

fn candidate(entry: i64, story: i64, feed: &str, title: &str, body: &str) -> Candidate {
    Candidate {
        entry,
        story,
        feed: feed.into(),
        published: at(NOW - 1800),
        split: false,
        text: Arc::new(neardup::text(title, body)),
    }
}

fn choose(
    key: StoryKey,
    keyed: Option<i64>,
    text: &Text,
    candidates: &[Candidate],
    settings: &StoreSettings,
) -> StoryChoice {
    story(
        &StoryInput {
            feed: "f",
            story_key: &key,
            keyed,
            published: at(NOW - 3600),
            text: Some(text),
            carried: &HashSet::from([99]),
        },
        candidates,
        settings,
    )
}

fn url() -> StoryKey {
    StoryKey::Url("https://f.example/a".into())
}

#[test]
fn a_teaser_joins_the_full_copy_and_says_why() {
    let teaser = neardup::text("Central bank holds rates", LEAD);
    let c = [candidate(5, 50, "wire", "Central bank holds rates", WIRE)];
    match choose(url(), None, &teaser, &c, &StoreSettings::default()) {
        StoryChoice::Existing {
            story: 50,
            joined:
                Joined::NearDuplicate {
                    rule: neardup::Rule::Contained,
                    score,
                    copy: 5,
                },
            merge,
        } => {
            assert!(score >= neardup::CONTAINMENT);
            assert!(merge.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_copy_bridging_two_stories_merges_them_whatever_came_first() {
    let full = neardup::text("Central bank holds rates", WIRE);
    // its URL names story 7; its text matches story 50's copy: one story
    let c = [candidate(5, 50, "wire", "Central bank holds rates", WIRE)];
    assert_eq!(
        choose(url(), Some(7), &full, &c, &StoreSettings::default()),
        StoryChoice::Existing {
            story: 7,
            joined: Joined::SameUrl,
            merge: vec![50]
        }
    );
    // two near-duplicate stories (both match fully): the lowest story id is joined, the
    // other merged into it
    let c = [
        candidate(5, 50, "wire", "Central bank holds rates", LEAD),
        candidate(6, 60, "wire2", "Central bank holds rates", WIRE),
    ];
    let StoryChoice::Existing { story, merge, .. } =
        choose(url(), None, &full, &c, &StoreSettings::default())
    else {
        panic!()
    };
    assert_eq!((story, merge), (50, vec![60]));
}

#[test]
fn no_match_starts_a_story() {
    let other = neardup::text(
        "Storm closes airport",
        "A storm with winds of more than one hundred kilometres an hour closed the main airport \
         on Sunday, stranding thousands of travellers and cutting power to coastal suburbs.",
    );
    let c = [candidate(5, 50, "wire", "Central bank holds rates", WIRE)];
    assert_eq!(
        choose(url(), None, &other, &c, &StoreSettings::default()),
        StoryChoice::Start {
            joined: Joined::First
        }
    );
}

#[test]
fn near_duplicates_skip_own_feed_carried_stories_split_copies_the_window_and_opted_out_feeds() {
    let full = neardup::text("Central bank holds rates", WIRE);
    let start = StoryChoice::Start {
        joined: Joined::First,
    };
    let settings = StoreSettings::default();
    let own = [candidate(5, 50, "f", "Central bank holds rates", WIRE)];
    assert_eq!(choose(url(), None, &full, &own, &settings), start);
    let carried = [candidate(5, 99, "wire", "Central bank holds rates", WIRE)];
    assert_eq!(choose(url(), None, &full, &carried, &settings), start);
    let mut split = candidate(5, 50, "wire", "Central bank holds rates", WIRE);
    split.split = true;
    assert_eq!(choose(url(), None, &full, &[split], &settings), start);
    let mut old = candidate(5, 50, "wire", "Central bank holds rates", WIRE);
    old.published = at(NOW - 10 * 86400);
    assert_eq!(choose(url(), None, &full, &[old], &settings), start);
    let c = [candidate(5, 50, "wire", "Central bank holds rates", WIRE)];
    let mut off = settings.clone();
    off.feeds_without_near_duplicates.insert("wire".into());
    assert_eq!(choose(url(), None, &full, &c, &off), start);
    off.feeds_without_near_duplicates = HashSet::from(["f".to_string()]);
    assert_eq!(choose(url(), None, &full, &c, &off), start);
    let all_off = StoreSettings {
        near_duplicates: false,
        ..settings
    };
    assert_eq!(choose(url(), None, &full, &c, &all_off), start);
}

#[test]
fn a_split_entry_never_joins_by_text() {
    let full = neardup::text("Central bank holds rates", WIRE);
    let key = StoryKey::Split {
        feed: "f".into(),
        key: "guid:g".into(),
    };
    let c = [candidate(5, 50, "wire", "Central bank holds rates", WIRE)];
    assert_eq!(
        choose(key.clone(), None, &full, &c, &StoreSettings::default()),
        StoryChoice::Start {
            joined: Joined::Split
        }
    );
    assert_eq!(
        choose(key, Some(3), &full, &c, &StoreSettings::default()),
        StoryChoice::Existing {
            story: 3,
            joined: Joined::Split,
            merge: vec![]
        }
    );
}
