//! The store's read path, on both stores: search as readers type it (`?q=`), rules' marks,
//! tags and drops, a story's copies and splitting them, WebSub subscriptions, fair shares.
//! Written against the `Storage` trait alone, as `store_contract.rs`: each store runs the
//! same suite and must give the same stories.

#[path = "common/pg.rs"]
mod pg;
#[path = "common/stored.rs"]
mod stored;

use chrono::{DateTime, Duration, TimeZone, Utc};
use newswire::article::{Article, FeedMeta};
use newswire::dedup;
use newswire::rules::Mark;
use newswire::store::{FeedList, FeedSpec, FeedUpdate, Split, Storage, Store, StoryQuery};
use newswire::websub::{Mode, SubState, Subscription};

fn at(h: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap() + Duration::hours(h)
}

fn article(feed: &str, n: u32, title: &str, body: &str, published: DateTime<Utc>) -> Article {
    let (guid, link) = (format!("{feed}-{n}"), format!("https://{feed}.example/{n}"));
    stored::article(&guid, &link, title, body, published)
}

fn poll(s: &dyn Storage, feed: &str, at: DateTime<Utc>, articles: &[Article]) {
    let u = FeedUpdate {
        at,
        status: 200,
        ..Default::default()
    };
    s.apply_poll(feed, &u, &FeedMeta::default(), articles)
        .unwrap();
}

/// The stories' titles, newest first.
fn titles(s: &dyn Storage, q: &StoryQuery) -> Vec<String> {
    let q = StoryQuery {
        limit: q.limit.max(1),
        ..q.clone()
    };
    s.stories(&q)
        .unwrap()
        .into_iter()
        .map(|x| x.fields.title)
        .collect()
}

/// What `?q=` shows: the query parsed and compiled as the publisher compiles it.
fn search(s: &dyn Storage, q: &str) -> Vec<String> {
    let compiled = newswire::search::parse(q).fts5();
    titles(
        s,
        &StoryQuery {
            limit: 100,
            search: compiled.matching.into_iter().collect(),
            exclude: compiled.excluding.into_iter().collect(),
            ..Default::default()
        },
    )
}

/// The whole suite, on a new, empty store.
pub fn reads(s: &dyn Storage) {
    seed(s);
    searches(s);
    paging_and_fair_shares(s);
    copies_split_and_find(s);
    rules_mark_tag_and_drop(s);
    websub_subscriptions(s);
}

const BODIES: &[(&str, u32, &str, &str)] = &[
    (
        "news",
        1,
        "Covid-19 vaccines arrive",
        "The health ministry received doses",
    ),
    (
        "news",
        2,
        "Café owners protest",
        "Naïve tourists queue at the harbour",
    ),
    (
        "news",
        3,
        "AT&T reports earnings",
        "Telecom profits rose sharply",
    ),
    (
        "news",
        4,
        "Climate summit opens",
        "Delegates discuss ceasefire between coal and wind",
    ),
    (
        "news",
        5,
        "Election results",
        "Electoral officials count ballots overnight",
    ),
    (
        "wire",
        1,
        "Truce holds in the north",
        "Negotiators meet again on Friday",
    ),
    (
        "wire",
        2,
        "Opinion: the summit failed",
        "A columnist argues the climate talks stalled",
    ),
    ("wire", 3, "Markets fall", "Sharply lower trading in Asia"),
    (
        "wire",
        4,
        "Plan A&B|C:* approved",
        "Council votes on the plan; details at example.com",
    ),
    ("wire", 5, "COVID 19 ward reopens", "Hospital beds freed"),
];

fn seed(s: &dyn Storage) {
    let feeds: Vec<FeedSpec> = ["news", "wire", "flood"]
        .iter()
        .map(|n| FeedSpec {
            name: n.to_string(),
            url: format!("https://{n}.example/feed.xml"),
        })
        .collect();
    s.sync_feeds(&FeedList::lone(&feeds)).unwrap();
    for feed in ["news", "wire"] {
        let articles: Vec<Article> = BODIES
            .iter()
            .filter(|b| b.0 == feed)
            .map(|&(f, n, title, body)| article(f, n, title, body, at(n as i64)))
            .collect();
        poll(s, feed, at(20), &articles);
    }
    // a feed that publishes a lot, a day earlier
    let flood: Vec<Article> = (1..=12)
        .map(|n| {
            let words = format!(
                "Flood bulletin number {n} item{n} with gauge readings {}",
                n * 7
            );
            article(
                "flood",
                n,
                &format!("Flood bulletin {n}"),
                &words,
                at(n as i64 - 30),
            )
        })
        .collect();
    poll(s, "flood", at(20), &flood);
    assert_eq!(s.counts().unwrap(), (22, 22));
}

fn searches(s: &dyn Storage) {
    let cases: &[(&str, &[&str])] = &[
        // words: all must match, in headline or body, any case
        ("harbour tourists", &["Café owners protest"]),
        ("SHARPLY", &["Markets fall", "AT&T reports earnings"]),
        // diacritics are ignored both ways
        ("cafe", &["Café owners protest"]),
        ("naive", &["Café owners protest"]),
        ("Naïve", &["Café owners protest"]),
        // `covid-19` is the phrase "covid 19", as is "COVID 19"
        (
            "covid-19",
            &["COVID 19 ward reopens", "Covid-19 vaccines arrive"],
        ),
        (
            "\"covid 19\"",
            &["COVID 19 ward reopens", "Covid-19 vaccines arrive"],
        ),
        ("19-covid", &[]),
        ("AT&T", &["AT&T reports earnings"]),
        // phrases: in order, adjacent, and within one column (headline or body)
        ("\"climate summit\"", &["Climate summit opens"]),
        ("\"summit climate\"", &[]),
        ("\"fall sharply\"", &[]),
        ("\"climate talks\"", &["Opinion: the summit failed"]),
        // OR, NOT
        (
            "ceasefire OR truce",
            &["Climate summit opens", "Truce holds in the north"],
        ),
        ("summit -opinion", &["Climate summit opens"]),
        ("summit NOT opinion", &["Climate summit opens"]),
        (
            "-flood -covid -summit -sharply",
            &[
                "Election results",
                "Plan A&B|C:* approved",
                "Café owners protest",
                "Truce holds in the north",
            ],
        ),
        // prefixes, of a word and of a phrase's last word
        ("elect*", &["Election results"]),
        ("\"climate sum\"*", &["Climate summit opens"]),
        (
            "summ*",
            &["Climate summit opens", "Opinion: the summit failed"],
        ),
        // tsquery's syntax is only punctuation here, as FTS5's is
        ("a&b|c:*!", &["Plan A&B|C:* approved"]),
        ("b|c", &["Plan A&B|C:* approved"]),
        ("'approved'", &["Plan A&B|C:* approved"]),
        ("example.com", &["Plan A&B|C:* approved"]),
        ("nothing:here", &[]),
        (
            "item1*",
            &[
                "Flood bulletin 12",
                "Flood bulletin 11",
                "Flood bulletin 10",
                "Flood bulletin 1",
            ],
        ),
    ];
    for (q, want) in cases {
        assert_eq!(search(s, q), *want, "?q={q}");
    }
    // search narrows a feed's stories, and copies (`?dedup=off`) are searched as stories
    let compiled = newswire::search::parse("sharply").fts5();
    let q = StoryQuery {
        limit: 10,
        feeds: Some(vec!["wire".into()]),
        search: compiled.matching.into_iter().collect(),
        ..Default::default()
    };
    assert_eq!(titles(s, &q), ["Markets fall"]);
    let copies = s
        .stories(&StoryQuery {
            copies: true,
            feeds: None,
            ..q
        })
        .unwrap();
    assert_eq!(copies.len(), 2);
    assert!(
        copies.iter().all(|c| c.key.starts_with("copy:")),
        "{copies:?}"
    );
}

fn paging_and_fair_shares(s: &dyn Storage) {
    let all = |before| StoryQuery {
        limit: 4,
        before,
        ..Default::default()
    };
    let first = s.stories(&all(None)).unwrap();
    let titles1: Vec<&str> = first.iter().map(|x| x.fields.title.as_str()).collect();
    assert_eq!(
        titles1,
        [
            "COVID 19 ward reopens",
            "Election results",
            "Plan A&B|C:* approved",
            "Climate summit opens"
        ]
    );
    assert_eq!(first[1].sources[0].feed, "news");
    assert_eq!(
        first[1].sources[0].feed_url,
        "https://news.example/feed.xml"
    );
    let last = first.last().unwrap();
    let next = titles(s, &all(Some((last.fields.published, last.id))));
    assert_eq!(
        next,
        [
            "Markets fall",
            "AT&T reports earnings",
            "Opinion: the summit failed",
            "Café owners protest"
        ]
    );
    assert!(
        titles(
            s,
            &StoryQuery {
                limit: 5,
                feeds: Some(vec![]),
                ..Default::default()
            }
        )
        .is_empty()
    );
    assert_eq!(s.oldest_published().unwrap(), Some(at(-29)));

    // at most 2 a feed: the flood's two newest come after the others' share
    let fair = s
        .stories_fair(
            &StoryQuery {
                limit: 6,
                ..Default::default()
            },
            Some(2),
        )
        .unwrap();
    let got: Vec<&str> = fair.iter().map(|x| x.fields.title.as_str()).collect();
    assert_eq!(
        got,
        [
            "COVID 19 ward reopens",
            "Election results",
            "Plan A&B|C:* approved",
            "Climate summit opens",
            "Flood bulletin 12",
            "Flood bulletin 11"
        ]
    );
    // none of them is left out without a cap
    assert_eq!(
        s.stories_fair(
            &StoryQuery {
                limit: 30,
                ..Default::default()
            },
            None
        )
        .unwrap()
        .len(),
        22
    );
}

fn copies_split_and_find(s: &dyn Storage) {
    // another feed's copy of the truce story, at the same address
    let mut copy = article(
        "wire",
        1,
        "Truce holds in the north",
        "Negotiators meet again on Friday",
        at(1),
    );
    copy.guid = Some("news-copy".into());
    copy.key = dedup::identity(
        Some("news-copy"),
        copy.canonical_url.as_deref(),
        &copy.title,
        "x",
    );
    poll(s, "news", at(21), &[copy]);
    let truce = s
        .stories(&StoryQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .find(|x| x.fields.title.starts_with("Truce"))
        .unwrap();
    let mut feeds: Vec<&str> = truce.sources.iter().map(|x| x.feed.as_str()).collect();
    feeds.sort();
    assert_eq!(feeds, ["news", "wire"]);
    let copies = s.story_copies(truce.id).unwrap().unwrap();
    assert_eq!(
        (copies.id, copies.title.as_str()),
        (truce.id, "Truce holds in the north")
    );
    let copy_feeds: Vec<&str> = copies.copies.iter().map(|c| c.feed.as_str()).collect();
    assert_eq!(copy_feeds, ["wire", "news"], "earliest first, then by id");
    assert_eq!(s.story_copies(-5).unwrap(), None);

    // a story is found by its number, a copy's link, or its id in the merged feed
    assert_eq!(s.find_story(&truce.id.to_string()).unwrap(), Some(truce.id));
    assert_eq!(
        s.find_story("https://wire.example/1").unwrap(),
        Some(truce.id)
    );
    let tag = newswire::publish::story_id(&truce.key);
    assert_eq!(s.find_story(&tag).unwrap(), Some(truce.id));
    assert_eq!(s.find_story("https://nowhere.example/").unwrap(), None);
    assert_eq!(
        s.find_story("tag:newswire,2026:story/ffffffff").unwrap(),
        None
    );

    let generation = s.generation().unwrap();
    assert_eq!(s.split(truce.id, "flood").unwrap(), Split::NoSuchCopy);
    let Split::Done { story, copies } = s.split(truce.id, "news").unwrap() else {
        panic!("the news copy is split out");
    };
    assert!(s.generation().unwrap() > generation);
    let moved = s.story_copies(story).unwrap().unwrap();
    assert!(moved.key.starts_with("split:news:"), "{}", moved.key);
    assert_eq!(
        moved.copies.iter().map(|c| c.id).collect::<Vec<_>>(),
        copies
    );
    assert_eq!(s.story_copies(truce.id).unwrap().unwrap().copies.len(), 1);
    assert_eq!(s.split(story, "news").unwrap(), Split::Alone);
    assert_eq!(search(s, "truce").len(), 2, "both stories are searched");
}

fn mark(key: &str, action: &'static str, value: &str) -> Mark {
    Mark {
        entry_key: key.into(),
        action,
        value: value.into(),
        rule: format!("rule-{action}"),
    }
}

fn rules_mark_tag_and_drop(s: &dyn Storage) {
    assert!(!s.has_marks(None).unwrap());
    let entries = s.rule_entries(None, Some("wire")).unwrap();
    let order: Vec<&str> = entries.iter().map(|e| e.article.title.as_str()).collect();
    assert_eq!(
        order,
        [
            "COVID 19 ward reopens",
            "Plan A&B|C:* approved",
            "Markets fall",
            "Opinion: the summit failed",
            "Truce holds in the north"
        ]
    );
    assert_eq!(
        s.rule_entries(Some(at(21)), None).unwrap().len(),
        1,
        "the copy polled at 21"
    );
    assert_eq!(
        s.rule_entries(None, None).unwrap()[0].feed,
        "flood",
        "by feed first"
    );
    let key = |title: &str| {
        entries
            .iter()
            .find(|e| e.article.title == title)
            .unwrap()
            .entry_key
            .clone()
    };
    let (opinion, markets, plan) = (
        key("Opinion: the summit failed"),
        key("Markets fall"),
        key("Plan A&B|C:* approved"),
    );
    let judged = vec![opinion.clone(), markets.clone(), plan.clone()];
    let marks = [
        mark(&opinion, "hide", ""),
        mark(&markets, "tag", "money"),
        mark(&markets, "tag", "asia"),
        mark(&plan, "tag", "money"),
    ];
    let generation = s.generation().unwrap();
    s.record_marks("wire", &judged, &marks, at(22)).unwrap();
    assert!(s.generation().unwrap() > generation);
    assert!(s.has_marks(None).unwrap());
    assert!(s.has_marks(Some("wire")).unwrap());
    assert!(!s.has_marks(Some("news")).unwrap());
    // hidden stories are in no output
    assert_eq!(search(s, "summit"), ["Climate summit opens"]);
    // tagged by a rule, or from one of the feeds given
    let tagged = |feeds: &[&str], tags: &[&str]| StoryQuery {
        limit: 100,
        tagged: vec![(
            feeds.iter().map(|f| f.to_string()).collect(),
            tags.iter().map(|t| t.to_string()).collect(),
        )],
        ..Default::default()
    };
    assert_eq!(
        titles(s, &tagged(&[], &["money"])),
        ["Plan A&B|C:* approved", "Markets fall"]
    );
    assert_eq!(titles(s, &tagged(&["news"], &["asia"])).len(), 7);
    assert!(titles(s, &tagged(&[], &[])).is_empty());
    let stories = s.stories(&tagged(&[], &["money"])).unwrap();
    let ids: Vec<i64> = stories.iter().map(|x| x.id).collect();
    let tags = s.rule_tags(&ids, false).unwrap();
    assert_eq!(tags[&ids[1]], ["asia", "money"]);
    assert_eq!(tags[&ids[0]], ["money"]);
    assert!(s.rule_tags(&[], false).unwrap().is_empty());
    let copies = s
        .stories(&StoryQuery {
            copies: true,
            ..tagged(&[], &["money"])
        })
        .unwrap();
    let copy_tags = s
        .rule_tags(&copies.iter().map(|c| c.id).collect::<Vec<_>>(), true)
        .unwrap();
    assert_eq!(copy_tags[&copies[1].id], ["asia", "money"]);

    // judged again: the marks of the entries judged are replaced, the others stay
    s.record_marks("wire", std::slice::from_ref(&markets), &[], at(23))
        .unwrap();
    assert_eq!(
        titles(s, &tagged(&[], &["money"])),
        ["Plan A&B|C:* approved"]
    );
    assert_eq!(search(s, "summit"), ["Climate summit opens"]);

    // a drop keeps the entry's identity; `rules apply` removes the entry, and so its story
    s.record_marks("flood", &[], &[mark("gone-before", "drop", "")], at(23))
        .unwrap();
    assert_eq!(
        s.dropped_keys("flood").unwrap(),
        ["gone-before".to_string()].into()
    );
    let applied = s
        .apply_marks(
            &[
                ("wire".into(), mark(&markets, "drop", "")),
                ("wire".into(), mark(&plan, "tag", "council")),
                ("news".into(), mark("no-such-entry", "drop", "")),
            ],
            at(24),
        )
        .unwrap();
    assert_eq!((applied.dropped, applied.hidden, applied.tagged), (1, 0, 1));
    assert_eq!(
        s.dropped_counts().unwrap(),
        [
            ("flood".to_string(), 1),
            ("wire".into(), 1),
            ("news".into(), 1)
        ]
        .into()
    );
    assert!(s.dropped_keys("wire").unwrap().contains(&markets));
    assert!(search(s, "markets").is_empty(), "its only copy was dropped");
    // every hide and tag was replaced by those applied: the opinion shows again
    assert_eq!(titles(s, &tagged(&[], &["money"])), Vec::<String>::new());
    assert_eq!(
        titles(s, &tagged(&[], &["council"])),
        ["Plan A&B|C:* approved"]
    );
    assert_eq!(search(s, "summit").len(), 2);
}

fn websub_subscriptions(s: &dyn Storage) {
    let t = at(30);
    let sub = |feed: &str, token: &str| Subscription {
        feed: feed.into(),
        feed_url: format!("https://{feed}.example/feed"),
        token: token.into(),
        secret: "s3c".into(),
        hub: "https://hub.example/".into(),
        topic: format!("https://{feed}.example/feed"),
        state: SubState::Requested,
        pending: Some((Mode::Subscribe, t)),
        subscribed_at: None,
        expires_at: None,
        last_attempt: Some(t),
        last_error: None,
        last_push: None,
        pushes_received: 0,
        pushes_rejected: 0,
        last_safety_poll: None,
    };
    let mut wire = sub("wire", "t0k");
    s.websub_save(&sub("news", "n3ws")).unwrap();
    s.websub_save(&wire).unwrap();
    assert_eq!(s.websub_by_token("t0k").unwrap().as_ref(), Some(&wire));
    assert_eq!(
        s.websub_subscription("news").unwrap().unwrap().token,
        "n3ws"
    );
    assert_eq!(s.websub_subscription("flood").unwrap(), None);
    s.websub_count_push("wire", true, t + Duration::minutes(1))
        .unwrap();
    s.websub_count_push("wire", false, t + Duration::minutes(2))
        .unwrap();
    s.websub_count_push("wire", false, t).unwrap();
    s.websub_polled("wire", t + Duration::minutes(3)).unwrap();
    // a save does not undo the counts
    wire.state = SubState::Subscribed;
    wire.pending = None;
    wire.subscribed_at = Some(t);
    wire.expires_at = Some(t + Duration::days(5));
    wire.last_error = Some("was slow".into());
    s.websub_save(&wire).unwrap();
    let got = s.websub_subscription("wire").unwrap().unwrap();
    assert_eq!(
        (
            got.state,
            got.pending,
            got.pushes_received,
            got.pushes_rejected,
            got.last_push
        ),
        (
            SubState::Subscribed,
            None,
            1,
            2,
            Some(t + Duration::minutes(1))
        )
    );
    assert_eq!(
        (got.expires_at, got.last_error.as_deref()),
        (wire.expires_at, Some("was slow"))
    );
    let all: Vec<String> = s
        .websub_subscriptions()
        .unwrap()
        .into_iter()
        .map(|x| x.feed)
        .collect();
    assert_eq!(all, ["news", "wire"]);
    s.websub_forget("wire").unwrap();
    assert_eq!(s.websub_by_token("t0k").unwrap(), None);
    assert_eq!(s.websub_subscriptions().unwrap().len(), 1);
}

#[test]
fn sqlite_reads() {
    let dir = tempfile::tempdir().unwrap();
    reads(&Store::open(&dir.path().join("newswire.db")).unwrap());
}

#[test]
fn postgres_reads() {
    let Some(server) = pg::server() else { return };
    let url = pg::scratch(&server, "nw_reads");
    reads(&newswire::store::pg::PgStore::open(&url).unwrap());
}
