//! Story-level deduplication through the real pipeline: the same wire story carried by
//! several outlets under different URLs with small edits is one story; different stories on
//! the same topic are not. Also `?dedup=off`, update caps, and retention with tombstones.

mod common;

use std::collections::HashMap;

use common::*;
use newswire::publish::View;

/// Four wire stories, ~120 words each.
const STORIES: &[(&str, &str)] = &[
    (
        "Ceasefire talks resume in Geneva",
        "Delegations from both countries met in Geneva on Tuesday for a third round of talks on a \
         ceasefire along the disputed border, officials said. The negotiators agreed to exchange \
         prisoners and to reopen two crossings for humanitarian convoys within a week, according \
         to a joint statement released after eight hours of discussions. Observers said the \
         agreement was fragile and depended on both militaries pulling back heavy artillery from \
         the front line. A United Nations envoy who chaired the meeting said the parties had \
         shown a new willingness to compromise, but warned that previous truces had collapsed \
         within days. The next round is expected to focus on the return of displaced families \
         and the demarcation of a buffer zone monitored by international observers.",
    ),
    (
        "Central bank holds rates, signals cut later this year",
        "The central bank left its benchmark interest rate unchanged at 4.5 percent on Thursday, \
         but its governor said policymakers could begin lowering borrowing costs before the end \
         of the year if inflation continued to ease. Consumer prices rose 2.8 percent in the \
         year to October, down from a peak of more than ten percent, while wage growth has \
         slowed and unemployment has edged up to its highest level in three years. Seven members \
         of the monetary policy committee voted to hold rates and two voted for an immediate \
         cut. Markets now expect two reductions next year. The currency weakened slightly after \
         the announcement and government bond yields fell across maturities.",
    ),
    (
        "Wildfire forces thousands to evacuate coastal towns",
        "Firefighters battled a fast moving wildfire on Sunday that forced more than twelve \
         thousand people to leave their homes in three coastal towns, emergency services said. \
         Strong winds and temperatures above forty degrees pushed the flames across dry scrub \
         land towards the sea, and several holiday homes were destroyed overnight. Water bombing \
         aircraft from neighbouring regions joined the effort at dawn, while coast guard boats \
         evacuated residents and tourists trapped on beaches. No deaths have been reported, but \
         two firefighters were treated for burns. Officials said the fire may have been started \
         by a discarded cigarette and urged people to avoid any open flames in forests.",
    ),
    (
        "Tech giant unveils cheaper electric car battery",
        "A technology company on Wednesday unveiled a battery cell that it says will cut the \
         cost of electric car packs by a third, using iron and phosphate instead of nickel and \
         cobalt. The company said the cell would go into mass production next year at a new \
         factory and would give a mid sized car a range of around five hundred kilometres on a \
         single charge. Analysts said cheaper batteries were key to making electric vehicles as \
         affordable as petrol models without subsidies. The firm also announced partnerships \
         with two carmakers and said it had secured supplies of lithium for the next decade \
         through long term contracts with mining companies in South America and Australia.",
    ),
];

/// Different stories on the same topics as the wire stories: they must stay apart.
const NEAR_MISSES: &[(&str, &str)] = &[
    (
        "Ceasefire collapses as shelling resumes on border",
        "Fighting resumed overnight along the disputed border after a ceasefire agreed last \
         month collapsed, with both sides blaming the other for the first shots. Residents of \
         three villages fled towards the capital and aid agencies suspended deliveries, saying \
         the roads were no longer safe for their convoys or their staff. The defence ministry \
         said artillery had hit two military positions and a fuel depot. Diplomats called for \
         restraint and an emergency session of the security council was scheduled for Friday, \
         while the government said it remained committed to talks if attacks stopped at once.",
    ),
    (
        "Central bank raises rates to fight stubborn inflation",
        "A central bank in South America raised its main interest rate by half a point on \
         Wednesday, its third increase this year, saying inflation remained well above target \
         because of higher food and energy prices. The board said further increases could not \
         be ruled out. Retailers warned that consumer spending was already falling and the \
         opposition accused the bank of pushing the economy towards recession. Economists said \
         the decision had been widely expected and the currency barely moved after the news.",
    ),
];

fn words_edit(body: &str) -> String {
    body.replace(" said", " told reporters")
        .replace("officials", "authorities")
}

fn item(outlet: &str, i: usize, title: &str, body: &str, hour: u32) -> String {
    format!(
        "<item><guid>{outlet}-{i}</guid><title>{title}</title>\
         <link>https://{outlet}.example/news/{i}-story.html</link>\
         <description>&lt;p&gt;{body}&lt;/p&gt;</description>\
         <pubDate>Tue, 03 Jun 2025 {hour:02}:00:00 +0000</pubDate></item>"
    )
}

fn rss(title: &str, items: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title}</title>\
         <link>https://example.com/</link>{}</channel></rss>",
        items.concat()
    )
}

/// Serves three outlets carrying the wire stories (edited) and a fourth carrying the
/// near-misses, polls them, and returns the environment and, per entry title+outlet,
/// the ground-truth story label.
async fn three_outlets() -> (FixtureServer, TestEnv, HashMap<String, String>) {
    let srv = FixtureServer::start().await;
    let mut truth = HashMap::new();
    let outlets = ["wire", "daily", "herald"];
    let mut feeds = String::new();
    for (o, outlet) in outlets.iter().enumerate() {
        let items: Vec<String> = STORIES
            .iter()
            .enumerate()
            .map(|(i, (title, body))| {
                let (t, b) = match o {
                    0 => (title.to_string(), body.to_string()),
                    // a reworded headline, a dateline, a paragraph added
                    1 => (
                        format!("{title} - latest"),
                        format!(
                            "LONDON (Daily) - {body} More details are expected later on Tuesday."
                        ),
                    ),
                    // a few words changed throughout
                    _ => (title.replace(" in ", " at "), words_edit(body)),
                };
                truth.insert(format!("{outlet}:{i}"), format!("story{i}"));
                item(outlet, i, &t, &b, 8 + o as u32)
            })
            .collect();
        srv.set(&format!("/{outlet}.xml"), Route::rss(rss(outlet, &items)));
        feeds.push_str(&format!(
            "[[feed]]\nname = \"{outlet}\"\nurl = \"{}\"\n\n",
            srv.url(&format!("/{outlet}.xml"))
        ));
    }
    let items: Vec<String> = NEAR_MISSES
        .iter()
        .enumerate()
        .map(|(i, (t, b))| {
            truth.insert(format!("other:{i}"), format!("miss{i}"));
            item("other", i, t, b, 12)
        })
        .collect();
    srv.set("/other.xml", Route::rss(rss("other", &items)));
    feeds.push_str(&format!(
        "[[feed]]\nname = \"other\"\nurl = \"{}\"\n",
        srv.url("/other.xml")
    ));
    let env = TestEnv::new(&feeds);
    (srv, env, truth)
}

#[tokio::test(flavor = "multi_thread")]
async fn wire_copies_merge_and_same_topic_stories_do_not() {
    let (_srv, env, truth) = three_outlets().await;
    for s in env.poll().await {
        assert!(!s.failed(), "{s}");
    }
    // which story each copy landed in
    let merged = env.merged(&View {
        limit: Some(100),
        ..Default::default()
    });
    let mut landed: HashMap<String, String> = HashMap::new();
    for e in &merged.entries {
        for src in &e.sources {
            let link = src.link.as_deref().unwrap();
            let i: String = link
                .rsplit('/')
                .next()
                .unwrap()
                .split('-')
                .next()
                .unwrap()
                .to_string();
            landed.insert(format!("{}:{i}", src.name), e.id.clone());
        }
    }
    assert_eq!(
        landed.len(),
        truth.len(),
        "every copy is somewhere: {landed:?}"
    );
    // pairwise precision and recall
    let keys: Vec<&String> = truth.keys().collect();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (n, a) in keys.iter().enumerate() {
        for b in &keys[n + 1..] {
            let same = truth[*a] == truth[*b];
            let merged = landed[*a] == landed[*b];
            match (same, merged) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => {}
            }
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    eprintln!(
        "near-duplicate fixtures: {tp} true merges, {fp} false merges, {fn_} missed; precision {precision:.2}, recall {recall:.2}"
    );
    assert_eq!(fp, 0, "different stories merged");
    assert_eq!(recall, 1.0, "copies left apart");
    assert_eq!(merged.entries.len(), STORIES.len() + NEAR_MISSES.len());

    // one entry per story, with the earliest copy's link and the others listed
    let ceasefire = merged
        .entries
        .iter()
        .find(|e| e.title.starts_with("Ceasefire talks resume"))
        .unwrap();
    assert_eq!(
        ceasefire.link.as_deref(),
        Some("https://wire.example/news/0-story.html")
    );
    assert_eq!(ceasefire.sources.len(), 3);
    let content = ceasefire.content.as_deref().unwrap();
    assert!(
        content.contains("Carried by:")
            && content.contains("https://herald.example/news/0-story.html"),
        "{content}"
    );
    assert!(
        content.contains("More details are expected"),
        "the fullest copy's text: {content}"
    );
    let atom = newswire::publish::atom::render(&merged, None);
    assert!(
        atom.contains(r#"<link href="https://daily.example/news/0-story.html" rel="related""#),
        "{atom}"
    );

    // ?dedup=off shows every copy
    let all = env.merged(&View {
        limit: Some(100),
        all_copies: true,
        ..Default::default()
    });
    assert_eq!(all.entries.len(), truth.len());
    assert!(all.entries.iter().all(|e| e.sources.len() == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn short_items_merge_only_on_near_identical_headlines() {
    let srv = FixtureServer::start().await;
    srv.set(
        "/a.xml",
        Route::rss(rss(
            "a",
            &[
                item(
                    "a",
                    1,
                    "Markets rally as central bank holds rates",
                    "Stocks rose.",
                    9,
                ),
                item("a", 2, "Storm closes main airport", "Flights cancelled.", 9),
                item("a", 3, "Morning briefing", "Rates were held steady.", 9),
            ],
        )),
    );
    srv.set(
        "/b.xml",
        Route::rss(rss(
            "b",
            &[
                item(
                    "b",
                    1,
                    "Markets rally as central bank holds rates",
                    "Shares climbed in early trade.",
                    10,
                ),
                item(
                    "b",
                    2,
                    "Storm closes second airport",
                    "More flights cancelled.",
                    10,
                ),
                // a generic headline from two outlets is two stories
                item("b", 3, "Morning briefing", "A storm hit the coast.", 10),
            ],
        )),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"a\"\nurl = \"{}\"\n\n[[feed]]\nname = \"b\"\nurl = \"{}\"\n",
        srv.url("/a.xml"),
        srv.url("/b.xml")
    ));
    env.poll().await;
    let mut titles: Vec<String> = env
        .merged(&View::default())
        .entries
        .into_iter()
        .map(|e| e.title)
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Markets rally as central bank holds rates",
            "Morning briefing",
            "Morning briefing",
            "Storm closes main airport",
            "Storm closes second airport"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn near_duplicates_can_be_turned_off_and_respect_the_window() {
    let (srv, env, _) = three_outlets().await;
    // far apart in time: the herald's copies a month later are new stories
    let late: Vec<String> = STORIES
        .iter()
        .enumerate()
        .map(|(i, (t, b))| item("herald", i, t, b, 9).replace("03 Jun 2025", "03 Jul 2025"))
        .collect();
    srv.set("/herald.xml", Route::rss(rss("herald", &late)));
    env.poll().await;
    assert_eq!(
        env.merged(&View {
            limit: Some(100),
            ..Default::default()
        })
        .entries
        .len(),
        2 * STORIES.len() + NEAR_MISSES.len()
    );

    let text = std::fs::read_to_string(&env.config_path).unwrap();
    let off = TestEnv::new("");
    std::fs::write(
        &off.config_path,
        text.replace("[fetch]", "[dedup]\nnear_duplicates = false\n\n[fetch]")
            // a database of its own (a PostgreSQL one is named in the text, a file is not)
            .replace(&env.database, &off.database),
    )
    .unwrap();
    off.poll().await;
    assert_eq!(
        off.merged(&View {
            limit: Some(100),
            ..Default::default()
        })
        .entries
        .len(),
        3 * STORIES.len() + NEAR_MISSES.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flip_flopping_entries_are_not_updated_endlessly() {
    let srv = FixtureServer::start().await;
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"f\"\nurl = \"{}\"\n",
        srv.url("/f.xml")
    ));
    let doc = |body: &str| rss("f", &[item("f", 1, "Live: election night", body, 9)]);
    let mut updates = 0;
    for n in 0..10 {
        srv.set(
            "/f.xml",
            Route::rss(doc(&format!("Results so far. Updated {n} seconds ago."))),
        );
        for s in env.poll().await {
            if let newswire::poll::Outcome::Updated { stats, .. } = s.outcome {
                updates += stats.updated;
            }
        }
    }
    assert_eq!(updates, 4, "at most max_updates_per_day (4) updates a day");
    // markup and whitespace alone are not a change
    srv.set(
        "/f.xml",
        Route::rss(rss("f", &[item("f", 2, "Quiet news", "A  calm   day.", 9)])),
    );
    env.poll().await;
    srv.set(
        "/f.xml",
        Route::rss(rss(
            "f",
            &[item(
                "f",
                2,
                "Quiet  news",
                "&lt;b&gt;A calm day.&lt;/b&gt;",
                9,
            )],
        )),
    );
    let s = env.poll().await;
    match &s[0].outcome {
        newswire::poll::Outcome::Updated { stats, .. } => {
            assert_eq!((stats.updated, stats.unchanged), (0, 1), "{}", s[0])
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_prunes_and_pruned_entries_do_not_come_back() {
    let srv = FixtureServer::start().await;
    let items: Vec<String> = (1..=5)
        .map(|i| {
            item(
                "r",
                i,
                &format!("Story number {i} of the day"),
                &format!("Body {i}."),
                i as u32,
            )
        })
        .collect();
    srv.set("/r.xml", Route::rss(rss("r", &items)));
    let env = TestEnv::new(&format!(
        "[storage]\nmax_per_feed = 2\n\n[[feed]]\nname = \"r\"\nurl = \"{}\"\n",
        srv.url("/r.xml")
    ));
    env.poll().await;
    let titles = |env: &TestEnv| -> Vec<String> {
        env.merged(&View::default())
            .entries
            .into_iter()
            .map(|e| e.title)
            .collect()
    };
    assert_eq!(
        titles(&env),
        ["Story number 5 of the day", "Story number 4 of the day"]
    );
    // the feed still lists the pruned ones (the body changes so this is no 304)
    let mut again = items.clone();
    again.push(item("r", 6, "Story number 6 of the day", "Body 6.", 7));
    srv.set("/r.xml", Route::rss(rss("r", &again)));
    let s = env.poll().await;
    match &s[0].outcome {
        newswire::poll::Outcome::Updated { stats, .. } => assert_eq!(stats.new, 1, "{}", s[0]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        titles(&env),
        ["Story number 6 of the day", "Story number 5 of the day"]
    );
    assert_eq!(env.store().counts().unwrap().0, 2);
}
