//! The store's contract: what newswire relies on from any store, written against the
//! `Storage` trait alone, so that each implementation runs the same suite. SQLite runs it
//! here on a real file; another store adds one `#[test]` that calls [`contract`] with its
//! own opener.

#[path = "common/pg.rs"]
mod pg;
#[path = "common/stored.rs"]
mod stored;
use stored::article;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use newswire::article::{Article, FeedMeta};
use newswire::health::LastOutcome;
use newswire::store::{
    FeedList, FeedSpec, FeedUpdate, FullTextFields, FullTextResult, Split, Storage, Store,
    StoreSettings, StoryQuery,
};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, h, 0, 0).unwrap()
}

fn ok(at: DateTime<Utc>) -> FeedUpdate {
    FeedUpdate {
        at,
        status: 200,
        ..Default::default()
    }
}

fn spec(name: &str) -> FeedSpec {
    FeedSpec {
        name: name.into(),
        url: format!("https://{name}.example/feed.xml"),
    }
}

fn all(s: &dyn Storage) -> Vec<newswire::store::Story> {
    s.stories(&StoryQuery {
        limit: 100,
        ..Default::default()
    })
    .unwrap()
}

/// The whole contract, run on the store `open` makes in `dir`; `forget` makes that store
/// forget the reading each feed was last polled with, as a database from before a change
/// to how documents are read has none (SQL of the store's own: no interface offers it).
pub fn contract<S: Storage>(dir: &Path, open: impl Fn(&Path) -> S, forget: impl Fn()) {
    let store = open(dir);
    let s: &dyn Storage = &store;
    feeds_and_their_state(s);
    polls_become_stories(s);
    queries_and_generations(s);
    a_wrong_merge_can_be_split(s);
    removed_feeds_take_their_entries(s);
    write_path(s, &open(dir));
    instances_keep_each_others_feeds(s);
    a_new_reading_is_no_update(s, &forget);
    // what was stored is there for the next process too
    drop(store);
    let again = open(dir);
    assert_eq!(again.counts().unwrap().1, all(&again).len() as u64);
    assert!(again.feed_state("a").unwrap().is_some());
}

fn feeds_and_their_state(s: &dyn Storage) {
    assert!(
        s.sync_feeds(&FeedList::lone(&[spec("a"), spec("b"), spec("c")]))
            .unwrap()
            .removed
            .is_empty()
    );
    let a = s
        .feed_state("a")
        .unwrap()
        .expect("a feed in the config is stored");
    assert_eq!(a.last_outcome, None, "not polled yet");
    assert_eq!(s.feed_states().unwrap().len(), 3);
    assert_eq!(s.feed_state("nope").unwrap(), None);

    s.record_failure(
        "c",
        at(1),
        Some(500),
        "500 Internal Server Error",
        Some(at(2)),
    )
    .unwrap();
    s.record_failure("c", at(2), None, "timed out", None)
        .unwrap();
    let c = s.feed_state("c").unwrap().unwrap();
    assert_eq!(c.last_outcome, Some(LastOutcome::Error));
    assert_eq!(c.consecutive_failures, 2);
    assert_eq!(c.last_error.as_deref(), Some("timed out"));
    assert_eq!(c.last_success, None);
    s.record_unchanged(
        "c",
        &FeedUpdate {
            status: 304,
            ..ok(at(3))
        },
    )
    .unwrap();
    let c = s.feed_state("c").unwrap().unwrap();
    assert_eq!(c.last_outcome, Some(LastOutcome::NotModified));
    assert_eq!(
        c.consecutive_failures, 0,
        "a success ends the run of failures"
    );
    assert_eq!(c.last_success, Some(at(3)));

    s.record_paused("c", at(4), 429, "c.example", at(6), "Retry-After: 7200")
        .unwrap();
    assert_eq!(
        s.feed_state("c").unwrap().unwrap().last_outcome,
        Some(LastOutcome::Paused)
    );
    assert_eq!(
        s.host_pause("c.example", at(5)).unwrap().map(|p| p.0),
        Some(at(6))
    );
    assert_eq!(s.host_pause("c.example", at(7)).unwrap(), None, "over");
    assert!(s.host_pauses(at(5)).unwrap().contains_key("c.example"));

    s.record_gone("c", at(8), "410 Gone").unwrap();
    let c = s.feed_state("c").unwrap().unwrap();
    assert!(c.gone);
    assert_eq!(c.last_outcome, Some(LastOutcome::Gone));
}

fn polls_become_stories(s: &dyn Storage) {
    let wire = "The central bank left its benchmark rate unchanged on Wednesday";
    let one = article(
        "a-1",
        "https://a.example/rates?utm_source=rss",
        "Rates held",
        wire,
        at(9),
    );
    let two = article(
        "a-2",
        "https://a.example/harbour",
        "Harbour reopens",
        "The harbour reopened",
        at(8),
    );
    let stats = s
        .apply_poll(
            "a",
            &ok(at(10)),
            &FeedMeta::default(),
            &[one.clone(), two.clone()],
        )
        .unwrap();
    assert_eq!((stats.new, stats.merged), (2, 0));
    let a = s.feed_state("a").unwrap().unwrap();
    assert_eq!(a.last_outcome, Some(LastOutcome::Ok));
    assert_eq!(a.article_count, 2);

    // the same document again: nothing new
    let stats = s
        .apply_poll(
            "a",
            &ok(at(11)),
            &FeedMeta::default(),
            &[one.clone(), two.clone()],
        )
        .unwrap();
    assert_eq!((stats.new, stats.updated, stats.unchanged), (0, 0, 2));

    // another feed's copy at the same address (without tracking parameters): one story
    let copy = article("b-9", "https://a.example/rates", "Rates held", wire, at(9));
    let stats = s
        .apply_poll("b", &ok(at(11)), &FeedMeta::default(), &[copy])
        .unwrap();
    assert_eq!((stats.new, stats.merged), (0, 1));
    let stories = all(s);
    assert_eq!(stories.len(), 2);
    let rates = stories
        .iter()
        .find(|x| x.fields.title == "Rates held")
        .unwrap();
    let mut feeds: Vec<&str> = rates.sources.iter().map(|x| x.feed.as_str()).collect();
    feeds.sort();
    assert_eq!(feeds, ["a", "b"]);

    // an edit is an update in place, not a new story
    let mut edited = two.clone();
    edited.content = Some("<p>The harbour reopened on Tuesday.</p>".into());
    let stats = s
        .apply_poll("a", &ok(at(12)), &FeedMeta::default(), &[one, edited])
        .unwrap();
    assert_eq!((stats.new, stats.updated), (0, 1));
    let harbour = all(s)
        .into_iter()
        .find(|x| x.fields.title == "Harbour reopens")
        .unwrap();
    assert!(
        harbour
            .fields
            .content
            .as_deref()
            .is_some_and(|c| c.contains("on Tuesday"))
    );
}

fn queries_and_generations(s: &dyn Storage) {
    let before = s.generation().unwrap();
    let stats = s
        .apply_poll(
            "b",
            &ok(at(13)),
            &FeedMeta::default(),
            &[article(
                "b-10",
                "https://b.example/storm",
                "Storm warning",
                "Gales expected tonight",
                at(12),
            )],
        )
        .unwrap();
    assert_eq!(stats.new, 1);
    assert!(
        s.generation().unwrap() > before,
        "a change moves the generation"
    );
    assert!(s.changed_at().unwrap().is_some());
    let unchanged = s.generation().unwrap();
    s.record_unchanged(
        "b",
        &FeedUpdate {
            status: 304,
            ..ok(at(14))
        },
    )
    .unwrap();
    assert_eq!(s.generation().unwrap(), unchanged, "a 304 changes no story");

    // newest first, limited, by feed
    let newest = s
        .stories(&StoryQuery {
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    let titles: Vec<&str> = newest.iter().map(|x| x.fields.title.as_str()).collect();
    assert_eq!(titles, ["Storm warning", "Rates held"]);
    let only_a = s
        .stories(&StoryQuery {
            limit: 100,
            feeds: Some(vec!["a".into()]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(only_a.len(), 2);
    let (entries, stories) = s.counts().unwrap();
    assert_eq!((stories, entries), (3, 4));
    // at most one story of a feed where fairness asks for it
    let fair = s
        .stories_fair(
            &StoryQuery {
                limit: 100,
                ..Default::default()
            },
            Some(1),
        )
        .unwrap();
    assert!(fair.len() < 3, "{}", fair.len());
}

fn a_wrong_merge_can_be_split(s: &dyn Storage) {
    let rates = all(s)
        .into_iter()
        .find(|x| x.fields.title == "Rates held")
        .unwrap();
    let copies = s.story_copies(rates.id).unwrap().unwrap();
    assert_eq!(copies.copies.len(), 2);
    assert_eq!(s.find_story(&rates.id.to_string()).unwrap(), Some(rates.id));
    let Split::Done { story, .. } = s.split(rates.id, "b").unwrap() else {
        panic!("b's copy is split out");
    };
    assert_ne!(story, rates.id);
    assert_eq!(all(s).len(), 4);
    assert!(matches!(s.split(rates.id, "b").unwrap(), Split::NoSuchCopy));
    // the next poll of the same copy keeps it apart
    let wire = "The central bank left its benchmark rate unchanged on Wednesday";
    s.apply_poll(
        "b",
        &ok(at(15)),
        &FeedMeta::default(),
        &[article(
            "b-9",
            "https://a.example/rates",
            "Rates held",
            wire,
            at(9),
        )],
    )
    .unwrap();
    assert_eq!(all(s).len(), 4);
}

fn removed_feeds_take_their_entries(s: &dyn Storage) {
    let removed = s
        .sync_feeds(&FeedList::lone(&[spec("a"), spec("c")]))
        .unwrap();
    assert_eq!(removed.removed, ["b"]);
    assert_eq!(s.feed_state("b").unwrap(), None);
    let left = all(s);
    assert!(
        left.iter()
            .all(|x| x.sources.iter().all(|src| src.feed != "b")),
        "no story keeps a removed feed as a source"
    );
    assert_eq!(left.len(), 2, "stories carried only by b leave");
    assert!(s.changed_at().unwrap().unwrap() >= at(15) - Duration::hours(1));
}

/// Several instances' feed lists on one database: a feed is removed only when no instance
/// heard of in the last week lists it.
fn instances_keep_each_others_feeds(s: &dyn Storage) {
    let now = Utc::now();
    let list = |owner: &str, names: &[&str], at: DateTime<Utc>| FeedList {
        owner: owner.into(),
        feeds: names.iter().map(|n| spec(n)).collect(),
        at,
    };
    let stored = |s: &dyn Storage| -> Vec<String> {
        s.feed_states()
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect()
    };
    let before = stored(s);
    let mut east: Vec<&str> = before.iter().map(String::as_str).collect();
    east.push("only-east");
    let synced = s.sync_feeds(&list("east", &east, now)).unwrap();
    assert!(synced.removed.is_empty());
    assert!(stored(s).contains(&"only-east".to_string()));
    let entries_of_a = s.feed_state("a").unwrap().unwrap().article_count;
    assert!(entries_of_a > 0);

    // west lists one feed: it removes none of the others', and says how the lists differ
    let synced = s.sync_feeds(&list("west", &["a"], now)).unwrap();
    assert_eq!(synced.removed, Vec::<String>::new());
    assert_eq!(stored(s).len(), before.len() + 1);
    assert_eq!(
        s.feed_state("a").unwrap().unwrap().article_count,
        entries_of_a
    );
    let owners: Vec<&str> = synced
        .differences
        .iter()
        .map(|d| d.owner.as_str())
        .collect();
    assert_eq!(owners, ["default", "east"]);
    let east_diff = &synced.differences[1];
    assert!(east_diff.only_there.contains(&"only-east".to_string()));
    assert!(east_diff.only_here.is_empty());

    // east drops its own feed: nobody lists it any more, so it goes
    let east: Vec<&str> = before.iter().map(String::as_str).collect();
    let synced = s.sync_feeds(&list("east", &east, now)).unwrap();
    assert_eq!(synced.removed, ["only-east"]);
    assert_eq!(stored(s), before);

    // a heartbeat keeps a list; a week without one forgets it and the feeds only it listed
    s.heartbeat("west", now + Duration::days(2)).unwrap();
    let lists = s.feed_lists().unwrap();
    let west = lists.iter().find(|l| l.owner == "west").unwrap();
    assert_eq!(west.seen.timestamp(), (now + Duration::days(2)).timestamp());
    assert_eq!(west.feeds.keys().collect::<Vec<_>>(), ["a"]);
    let later = now + Duration::days(8);
    let synced = s.sync_feeds(&list("east", &["a"], later)).unwrap();
    assert_eq!(
        synced.forgotten,
        ["default"],
        "west was heard of six days ago"
    );
    assert_eq!(
        stored(s),
        ["a"],
        "the feeds only the forgotten instance listed go"
    );
    assert_eq!(
        s.feed_state("a").unwrap().unwrap().article_count,
        entries_of_a
    );
    let owners = || -> Vec<String> {
        s.feed_lists()
            .unwrap()
            .into_iter()
            .map(|l| l.owner)
            .collect()
    };
    assert_eq!(owners(), ["east", "west"]);
    // a machine taken out of service is forgotten at once
    assert!(s.forget_feed_list("west").unwrap());
    assert!(!s.forget_feed_list("west").unwrap());
    assert_eq!(owners(), ["east"]);
}

/// A feed's first poll after a change to how newswire reads documents: an entry that reads
/// otherwise now is updated in place without a new update time (an upgrade does not show a
/// backlog as updated); the feed's next change is its own, seen when polled.
fn a_new_reading_is_no_update(s: &dyn Storage, forget: &dyn Fn()) {
    let now = Utc::now() - Duration::hours(3);
    let poll = |hours: i64, body: &str| {
        let item = copy(
            "reread-1",
            "https://a.example/reread",
            "Read again",
            &[body],
            now,
        );
        let at = now + Duration::hours(hours);
        s.apply_poll("a", &ok(at), &FeedMeta::default(), &[item])
            .unwrap()
    };
    assert_eq!(poll(0, "The council met on Tuesday evening.").new, 1);
    let story = || titled(s, "Read again");
    let first = story().fields.updated;
    forget();
    assert_eq!(
        poll(1, "The council met on Tuesday evening, late.").updated,
        1
    );
    let read_anew = story();
    assert_eq!(read_anew.fields.updated, first);
    let body = read_anew.fields.content.unwrap_or_default();
    assert!(body.contains("evening, late"), "{body}");
    assert_eq!(poll(2, "The council met on Tuesday.").updated, 1);
    assert_eq!(
        story().fields.updated.timestamp(),
        (now + Duration::hours(2)).timestamp()
    );
}

/// The write path: near-duplicates of other feeds, updated copies, retention, full text, and
/// two instances (`other`, the same database opened again) writing at once.
fn write_path(s: &dyn Storage, other: &dyn Storage) {
    let mut feeds = vec![spec("a"), spec("c")];
    feeds.extend(
        ["wire", "desk", "kept", "teasers", "left", "right"]
            .iter()
            .map(|n| spec(n)),
    );
    assert!(
        s.sync_feeds(&FeedList::lone(&feeds))
            .unwrap()
            .removed
            .is_empty()
    );
    a_teaser_joins_the_wire_story(s);
    an_updated_copy_is_found_by_its_new_text(s);
    retention_keeps_tombstones(s);
    an_extracted_article_joins_its_story(s);
    two_instances_write_one_story_each(s, other);
}

/// A wire story, as an outlet carries it in full: three paragraphs of 20-odd words.
const RATES: [&str; 3] = [
    "The central bank left its benchmark interest rate unchanged on Wednesday, saying \
     inflation had eased but remained above its target for a third straight quarter.",
    "Governor Ana Ruiz told reporters in the capital that the committee had voted seven to \
     two to hold the rate at four and a quarter percent, with two members preferring a cut.",
    "Economists polled before the meeting had been divided, and the currency rose half a \
     percent against the dollar while government bond yields climbed across the curve.",
];

const TRADE: [&str; 3] = [
    "Negotiators from the two countries resumed talks on a long delayed trade agreement in \
     Geneva on Monday, after a pause of almost five months over farm subsidies.",
    "Officials said the first day was spent on tariffs for steel and aluminium, while the \
     harder questions of dairy quotas and fishing rights were left for later in the week.",
    "Business groups on both sides welcomed the restart but warned that any deal would need \
     ratification by parliaments that have rejected similar texts twice before.",
];

const FLOODS: [&str; 3] = [
    "Rescue teams evacuated more than two thousand residents from low lying villages along \
     the river overnight as water levels rose to their highest point in forty years.",
    "The regional government declared a state of emergency in four districts and opened \
     schools and sports halls as shelters, while the army sent boats and field kitchens.",
    "Forecasters expect the rain to ease by Thursday, but warned that the river would keep \
     rising for two more days as water from the mountains reaches the plain.",
];

fn html(paragraphs: &[&str]) -> String {
    paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect()
}

/// `article` with a body of paragraphs.
fn copy(guid: &str, link: &str, title: &str, body: &[&str], published: DateTime<Utc>) -> Article {
    Article {
        content: Some(html(body)),
        ..article(guid, link, title, &body.join(" "), published)
    }
}

fn feeds_of(story: &newswire::store::Story) -> Vec<&str> {
    let mut feeds: Vec<&str> = story.sources.iter().map(|x| x.feed.as_str()).collect();
    feeds.sort();
    feeds
}

fn titled(s: &dyn Storage, title: &str) -> newswire::store::Story {
    let found: Vec<_> = all(s)
        .into_iter()
        .filter(|x| x.fields.title == title)
        .collect();
    assert_eq!(found.len(), 1, "one story titled {title:?}");
    found.into_iter().next().unwrap()
}

fn a_teaser_joins_the_wire_story(s: &dyn Storage) {
    let full = copy(
        "w-1",
        "https://wire.example/2026/03/rates-held",
        "Central bank holds interest rates steady as inflation eases",
        &RATES,
        at(16),
    );
    let stats = s
        .apply_poll("wire", &ok(at(17)), &FeedMeta::default(), &[full])
        .unwrap();
    assert_eq!(stats.new, 1);
    // another outlet's first paragraph, under its own headline and address, and a story
    // of its own
    let teaser = copy(
        "d-1",
        "https://desk.example/economy/rates",
        "Rates left on hold",
        &RATES[..1],
        at(17),
    );
    let own = copy(
        "d-2",
        "https://desk.example/floods",
        "Villages evacuated as the river rises",
        &FLOODS,
        at(17),
    );
    let stats = s
        .apply_poll("desk", &ok(at(18)), &FeedMeta::default(), &[teaser, own])
        .unwrap();
    assert_eq!((stats.new, stats.merged), (1, 1));
    let rates = titled(
        s,
        "Central bank holds interest rates steady as inflation eases",
    );
    assert_eq!(feeds_of(&rates), ["desk", "wire"]);
    assert!(
        rates
            .fields
            .content
            .as_deref()
            .is_some_and(|c| c.contains("bond yields")),
        "the fullest copy's text"
    );
    assert_eq!(
        feeds_of(&titled(s, "Villages evacuated as the river rises")),
        ["desk"]
    );
}

fn an_updated_copy_is_found_by_its_new_text(s: &dyn Storage) {
    let url = "https://desk.example/trade-talks";
    let stub = copy("d-3", url, "Trade talks resume", &["More soon."], at(18));
    s.apply_poll("desk", &ok(at(18)), &FeedMeta::default(), &[stub])
        .unwrap();
    // the outlet fills in its story
    let filled = copy("d-3", url, "Trade talks resume", &TRADE, at(18));
    let stats = s
        .apply_poll("desk", &ok(at(19)), &FeedMeta::default(), &[filled])
        .unwrap();
    assert_eq!((stats.new, stats.updated), (0, 1));
    let wire = copy(
        "w-2",
        "https://wire.example/2026/03/trade",
        "Negotiators return to the table in Geneva",
        &TRADE,
        at(19),
    );
    let stats = s
        .apply_poll("wire", &ok(at(20)), &FeedMeta::default(), &[wire])
        .unwrap();
    assert_eq!(
        (stats.new, stats.merged),
        (0, 1),
        "the wire's copy joins what the outlet's says now"
    );
    assert_eq!(feeds_of(&titled(s, "Trade talks resume")), ["desk", "wire"]);
}

fn retention_keeps_tombstones(s: &dyn Storage) {
    s.configure(StoreSettings {
        max_per_feed: Some(2),
        ..Default::default()
    });
    let items: Vec<Article> = (1..=3)
        .map(|i| {
            article(
                &format!("k-{i}"),
                &format!("https://kept.example/{i}"),
                &format!("Kept item {i}"),
                &format!("Item number {i} of the kept feed"),
                at(i),
            )
        })
        .collect();
    let stats = s
        .apply_poll("kept", &ok(at(20)), &FeedMeta::default(), &items)
        .unwrap();
    assert_eq!((stats.new, stats.pruned), (3, 1));
    let kept = || {
        let mut titles: Vec<String> = s
            .stories(&StoryQuery {
                limit: 100,
                feeds: Some(vec!["kept".into()]),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .map(|x| x.fields.title)
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(kept(), ["Kept item 2", "Kept item 3"], "the oldest goes");
    // the feed still lists it: it stays pruned
    let stats = s
        .apply_poll("kept", &ok(at(21)), &FeedMeta::default(), &items)
        .unwrap();
    assert_eq!((stats.new, stats.unchanged, stats.pruned), (0, 3, 0));
    assert_eq!(kept(), ["Kept item 2", "Kept item 3"]);
    s.configure(StoreSettings::default());
}

fn an_extracted_article_joins_its_story(s: &dyn Storage) {
    let full = copy(
        "w-3",
        "https://wire.example/2026/03/floods",
        "Thousands flee rising river",
        &FLOODS,
        at(20),
    );
    s.apply_poll("wire", &ok(at(21)), &FeedMeta::default(), &[full])
        .unwrap();
    // desk carried FLOODS already: the wire's copy joined it
    let floods = titled(s, "Villages evacuated as the river rises");
    assert_eq!(feeds_of(&floods), ["desk", "wire"]);
    // a teaser: a line of its own, too little to compare
    let mut teaser = article(
        "t-1",
        "https://teasers.example/river",
        "River news",
        "",
        at(21),
    );
    teaser.content = None;
    teaser.summary = Some("Our reporter on the scene.".into());
    s.apply_poll("teasers", &ok(at(22)), &FeedMeta::default(), &[teaser])
        .unwrap();
    assert_eq!(feeds_of(&titled(s, "River news")), ["teasers"]);
    let due = s.full_text_pending("teasers", at(22), 3, 10).unwrap();
    assert_eq!(due.len(), 1);
    let page = FullTextResult {
        entry_id: due[0].entry_id,
        content_hash: due[0].content_hash.clone(),
        outcome: "ok",
        detail: None,
        retry_at: None,
        article: Some(FullTextFields {
            content: html(&FLOODS),
            summary: due[0].summary.clone(),
            image: None,
        }),
        at: at(22),
    };
    assert!(s.record_full_text(&page).unwrap());
    assert!(
        all(s).iter().all(|x| x.fields.title != "River news"),
        "its article is the wire story"
    );
    assert_eq!(
        feeds_of(&titled(s, "Villages evacuated as the river rises")),
        ["desk", "teasers", "wire"]
    );
    assert!(
        s.full_text_pending("teasers", at(22), 3, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.full_text_counts().unwrap()["teasers"]["ok"], 1);
    // a result for a version the entry no longer has changes nothing
    assert!(
        !s.record_full_text(&FullTextResult {
            content_hash: "stale".into(),
            ..page
        })
        .unwrap()
    );
}

/// Two instances store copies of the same stories at the same moment: each story is one,
/// whoever wrote first.
fn two_instances_write_one_story_each(s: &dyn Storage, other: &dyn Storage) {
    const N: usize = 12;
    let before = s.counts().unwrap().1;
    let poll = |store: &dyn Storage, feed: &str, i: usize| {
        let item = article(
            &format!("{feed}-{i}"),
            &format!("https://pool.example/story/{i}?utm_source={feed}"),
            &format!("Pool story {i}"),
            &format!("Story {i}, as the pool wrote it"),
            at(22),
        );
        store
            .apply_poll(feed, &ok(at(23)), &FeedMeta::default(), &[item])
            .unwrap()
    };
    std::thread::scope(|scope| {
        scope.spawn(|| (0..N).for_each(|i| _ = poll(s, "left", i)));
        scope.spawn(|| (0..N).for_each(|i| _ = poll(other, "right", i)));
    });
    assert_eq!(s.counts().unwrap().1, before + N as u64);
    for i in 0..N {
        assert_eq!(
            feeds_of(&titled(s, &format!("Pool story {i}"))),
            ["left", "right"]
        );
    }
}

#[test]
fn sqlite_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("newswire.db");
    contract(
        dir.path(),
        |d| Store::open(&d.join("newswire.db")).unwrap(),
        || {
            let db = rusqlite::Connection::open(&file).unwrap();
            db.execute("UPDATE feeds SET reading = 0", []).unwrap();
        },
    );
}

#[test]
fn postgres_keeps_the_contract() {
    let Some(server) = pg::server() else { return };
    let url = pg::scratch(&server, "nw_contract");
    let dir = tempfile::tempdir().unwrap();
    contract(
        dir.path(),
        |_| newswire::store::pg::PgStore::open(&url).unwrap(),
        || pg::execute(&url, "UPDATE feeds SET reading = 0"),
    );
}

/// Made-up wire stories: `n` words drawn from a small vocabulary by a fixed generator, so
/// that two of them share hardly a word triple.
fn made_up_story(seed: u64, n: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "council",
        "river",
        "bridge",
        "minister",
        "budget",
        "school",
        "hospital",
        "station",
        "market",
        "farmers",
        "workers",
        "union",
        "court",
        "judge",
        "police",
        "harbour",
        "airport",
        "railway",
        "energy",
        "prices",
        "wages",
        "housing",
        "tenants",
        "mayor",
        "election",
        "voters",
        "party",
        "leader",
        "report",
        "survey",
        "museum",
        "festival",
        "storm",
        "coast",
        "village",
        "factory",
        "export",
        "import",
        "bank",
        "loan",
        "tax",
        "reform",
        "plan",
        "vote",
        "protest",
        "strike",
        "deal",
        "talks",
        "summit",
        "treaty",
        "border",
        "army",
        "navy",
        "fleet",
        "ship",
        "cargo",
        "grain",
        "wheat",
        "coffee",
        "oil",
        "gas",
        "power",
        "grid",
        "water",
        "drought",
        "flood",
        "fire",
        "forest",
        "park",
        "zoo",
        "team",
        "coach",
        "match",
        "league",
        "season",
        "record",
        "museum",
        "library",
        "author",
        "novel",
        "film",
        "studio",
        "singer",
        "concert",
        "theatre",
        "opera",
        "doctor",
        "nurse",
        "patient",
        "vaccine",
        "virus",
        "study",
        "scientist",
        "telescope",
        "planet",
        "rocket",
        "satellite",
        "engineer",
        "software",
        "network",
        "phone",
        "company",
        "shares",
        "profit",
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            WORDS[(x % WORDS.len() as u64) as usize].to_string()
        })
        .collect()
}

/// Several instances on one PostgreSQL database: each finds the copies the others wrote
/// (its near-duplicate index catches up under the writers' lock), also while they write at
/// the same moment.
#[test]
fn postgres_instances_find_each_others_copies() {
    let Some(server) = pg::server() else { return };
    let url = pg::scratch(&server, "nw_instances");
    let open = || newswire::store::pg::PgStore::open(&url).unwrap();
    let (one, two) = (open(), open());
    // (through the contract: the stores' own methods of those names are async)
    let (one, two): (&dyn Storage, &dyn Storage) = (&one, &two);
    let feeds: Vec<FeedSpec> = ["wire", "desk", "left", "right"]
        .iter()
        .map(|n| spec(n))
        .collect();
    one.sync_feeds(&FeedList::lone(&feeds)).unwrap();
    // the index loads copies of the last days: these are today's
    let now = Utc::now() - Duration::hours(1);
    // `two` loads its index with its first write, before `one` writes the wire story
    let trade = copy(
        "d-1",
        "https://desk.example/trade",
        "Talks resume",
        &TRADE,
        now,
    );
    two.apply_poll("desk", &ok(now), &FeedMeta::default(), &[trade])
        .unwrap();
    let full = copy(
        "w-1",
        "https://wire.example/rates",
        "Central bank holds interest rates steady as inflation eases",
        &RATES,
        now,
    );
    one.apply_poll("wire", &ok(now), &FeedMeta::default(), &[full])
        .unwrap();
    let teaser = copy(
        "d-2",
        "https://desk.example/rates",
        "Rates left on hold",
        &RATES[..1],
        now,
    );
    let stats = two
        .apply_poll("desk", &ok(now), &FeedMeta::default(), &[teaser])
        .unwrap();
    assert_eq!(
        stats.merged, 1,
        "two finds the copy one wrote after it loaded"
    );

    // full copies on one instance, their first paragraphs on the other, at once
    const N: u64 = 10;
    let texts: Vec<Vec<String>> = (0..N).map(|i| made_up_story(i + 1, 70)).collect();
    let write = |store: &dyn Storage, feed: &str, words: usize| {
        for (i, text) in texts.iter().enumerate() {
            let body = text[..words.min(text.len())].join(" ");
            let item = copy(
                &format!("{feed}-{i}"),
                &format!("https://{feed}.example/{i}"),
                &format!("{feed} story {i}"),
                &[&body],
                now,
            );
            store
                .apply_poll(feed, &ok(now), &FeedMeta::default(), &[item])
                .unwrap();
        }
    };
    let before = one.counts().unwrap().1;
    std::thread::scope(|scope| {
        scope.spawn(|| write(one, "left", 70));
        scope.spawn(|| write(two, "right", 25));
    });
    assert_eq!(
        one.counts().unwrap().1,
        before + N,
        "one story per wire story"
    );
    let stories = all(two);
    for i in 0..N {
        let story = stories
            .iter()
            .find(|x| {
                x.sources
                    .iter()
                    .any(|s| s.link.as_deref() == Some(&format!("https://left.example/{i}")))
            })
            .unwrap();
        assert_eq!(feeds_of(story), ["left", "right"], "story {i}");
    }
}

/// An instance rewrites a copy in place (the wire corrected its story): the other instance's
/// index takes in the new text's keys at its next write, so a teaser of the new text joins.
#[test]
fn postgres_instances_follow_copies_rewritten_in_place() {
    let Some(server) = pg::server() else { return };
    let url = pg::scratch(&server, "nw_reprints");
    let open = || newswire::store::pg::PgStore::open(&url).unwrap();
    let (one, two) = (open(), open());
    let (one, two): (&dyn Storage, &dyn Storage) = (&one, &two);
    let feeds: Vec<FeedSpec> = ["wire", "desk"].iter().map(|n| spec(n)).collect();
    one.sync_feeds(&FeedList::lone(&feeds)).unwrap();
    let now = Utc::now() - Duration::hours(1);
    let desk = |n: u64, words: &[String], title: &str| {
        let item = copy(
            &format!("d-{n}"),
            &format!("https://desk.example/{n}"),
            title,
            &[&words.join(" ")],
            now,
        );
        two.apply_poll("desk", &ok(now), &FeedMeta::default(), &[item])
            .unwrap()
    };
    let wire = |words: &[String]| {
        let item = copy(
            "w-1",
            "https://wire.example/storm",
            "Storm closes the coast road",
            &[&words.join(" ")],
            now,
        );
        one.apply_poll("wire", &ok(now), &FeedMeta::default(), &[item])
            .unwrap()
    };
    // `two` has its index, then takes in the wire's first text at its next write
    desk(1, &made_up_story(501, 60), "Council meets");
    assert_eq!(wire(&made_up_story(502, 70)).new, 1);
    desk(2, &made_up_story(503, 60), "Market opens");
    // the wire rewrites its story: other words under the same guid
    let rewritten = made_up_story(504, 70);
    assert_eq!(wire(&rewritten).updated, 1);
    let stats = desk(3, &rewritten[..25], "Coast road shut by storm");
    assert_eq!(
        stats.merged, 1,
        "two's index has the rewritten copy's keys: {stats:?}"
    );
}
