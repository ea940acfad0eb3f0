//! Whose feeds are these: each instance's feed list, as the store keeps it, and what a sync of
//! one instance's list may do to the stored feeds when other instances share the database.
//! Pure: both stores read the lists, ask [`plan_sync`], and carry out its answer.
//!
//! Every instance (a config on a host, see `Config::instance`) records the list of feeds its
//! config names, and refreshes when it last said so (a heartbeat). A stored feed is removed,
//! with its entries, only when no known instance lists it: an edit that drops a feed removes it
//! at the reload of the last instance that listed it, and an instance whose config lacks a
//! feed another one polls leaves it alone (and says so). An instance not heard of for
//! [`FORGET_AFTER`] is forgotten, and so are the feeds only it listed. An instance that stops
//! keeps its list: the feeds of an instance being restarted or upgraded stay while it is down.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::FeedSpec;

/// How long an instance's list counts after its last heartbeat.
pub const FORGET_AFTER: chrono::Duration = chrono::Duration::days(7);

/// How often a running instance says it is still there.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(3600);

/// The owner of the list that tests and single-instance tools sync as.
pub const LONE: &str = "default";

/// One instance's feed list, as it syncs it.
#[derive(Debug, Clone)]
pub struct FeedList {
    /// The instance: a config on a host.
    pub owner: String,
    /// Its config's feeds.
    pub feeds: Vec<FeedSpec>,
    /// When it says so.
    pub at: DateTime<Utc>,
}

impl FeedList {
    /// `owner`'s list of `feeds`, now.
    pub fn new(owner: impl Into<String>, feeds: &[FeedSpec]) -> FeedList {
        FeedList {
            owner: owner.into(),
            feeds: feeds.to_vec(),
            at: Utc::now(),
        }
    }

    /// The list of the only instance there is ([`LONE`]).
    pub fn lone(feeds: &[FeedSpec]) -> FeedList {
        FeedList::new(LONE, feeds)
    }

    /// The list as the store keeps it: a line `name<TAB>url` a feed, by name.
    pub fn encode(&self) -> String {
        let sorted: BTreeMap<&str, &str> = self
            .feeds
            .iter()
            .map(|f| (f.name.as_str(), f.url.as_str()))
            .collect();
        let mut out = String::new();
        for (name, url) in sorted {
            out.push_str(name);
            out.push('\t');
            out.push_str(url);
            out.push('\n');
        }
        out
    }
}

/// Another instance's list, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownList {
    /// The instance.
    pub owner: String,
    /// Its last heartbeat.
    pub seen: DateTime<Utc>,
    /// Its feeds: name -> URL.
    pub feeds: BTreeMap<String, String>,
}

impl KnownList {
    /// Reads a list [`FeedList::encode`] wrote; lines that are not `name<TAB>url` are skipped.
    pub fn decode(owner: String, seen: DateTime<Utc>, text: &str) -> KnownList {
        let feeds = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(n, u)| (n.to_string(), u.to_string()))
            .collect();
        KnownList { owner, seen, feeds }
    }
}

/// What a store reads of the lists: those of the instances other than the one syncing, and
/// the syncing one's own as stored (its last heartbeat in unix seconds, its encoded feeds).
pub type Known = (Vec<KnownList>, Option<(i64, String)>);

/// How another known instance's list differs from the one being synced.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Difference {
    /// The other instance.
    pub owner: String,
    /// Its last heartbeat.
    pub seen: DateTime<Utc>,
    /// Feeds this list has and the other does not.
    pub only_here: Vec<String>,
    /// Feeds the other lists and this one does not: kept for it.
    pub only_there: Vec<String>,
    /// Feeds both list, at different URLs (this list's URL is polled from now on).
    pub other_url: Vec<String>,
}

/// What a sync does to the stored feeds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncPlan {
    /// Feeds of this list not stored yet.
    pub add: Vec<FeedSpec>,
    /// Stored feeds this list gives another URL: a new start (validators and backoff go).
    pub readdress: Vec<FeedSpec>,
    /// Stored feeds no known instance lists: removed with their entries.
    pub remove: Vec<String>,
    /// Instances not heard of for [`FORGET_AFTER`]: their lists are dropped.
    pub forget: Vec<String>,
    /// How the other known lists differ from this one.
    pub differences: Vec<Difference>,
}

impl SyncPlan {
    /// Whether the plan changes the feeds or the lists (beside this list's own row).
    pub fn writes(&self) -> bool {
        !(self.add.is_empty()
            && self.readdress.is_empty()
            && self.remove.is_empty()
            && self.forget.is_empty())
    }
}

/// Whether a list last heard of at `seen` no longer counts at `now` ([`FORGET_AFTER`]).
pub fn forgotten(seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(seen) >= FORGET_AFTER
}

/// `mine`'s feeds by name: their URLs.
fn wanted(mine: &FeedList) -> HashMap<&str, &str> {
    mine.feeds
        .iter()
        .map(|f| (f.name.as_str(), f.url.as_str()))
        .collect()
}

/// The lists of `others` that still count beside `mine`, and those forgotten (any list of
/// `mine.owner` is neither: `mine` replaces it).
fn counted<'a>(
    mine: &FeedList,
    others: &'a [KnownList],
) -> (Vec<&'a KnownList>, Vec<&'a KnownList>) {
    others
        .iter()
        .filter(|l| l.owner != mine.owner)
        .partition(|l| !forgotten(l.seen, mine.at))
}

/// How each list of `others` that still counts differs from `mine` (those that differ, by
/// owner).
pub fn differences(mine: &FeedList, others: &[KnownList]) -> Vec<Difference> {
    differing(&wanted(mine), &counted(mine, others).0)
}

fn differing(wanted: &HashMap<&str, &str>, known: &[&KnownList]) -> Vec<Difference> {
    let mut found: Vec<Difference> = known
        .iter()
        .map(|l| Difference {
            owner: l.owner.clone(),
            seen: l.seen,
            only_here: sorted(
                wanted
                    .keys()
                    .filter(|n| !l.feeds.contains_key(**n))
                    .map(|n| n.to_string()),
            ),
            only_there: l
                .feeds
                .keys()
                .filter(|n| !wanted.contains_key(n.as_str()))
                .cloned()
                .collect(),
            other_url: l
                .feeds
                .iter()
                .filter(|(n, u)| wanted.get(n.as_str()).is_some_and(|w| w != u))
                .map(|(n, _)| n.clone())
                .collect(),
        })
        .filter(|d| !(d.only_here.is_empty() && d.only_there.is_empty() && d.other_url.is_empty()))
        .collect();
    found.sort_by(|a, b| a.owner.cmp(&b.owner));
    found
}

/// What syncing `mine` does, given the `stored` feeds (name, URL) and the lists of the
/// `others` (any list of `mine.owner` among them is ignored: `mine` replaces it).
pub fn plan_sync(stored: &[(String, String)], mine: &FeedList, others: &[KnownList]) -> SyncPlan {
    let wanted = wanted(mine);
    let (known, forget) = counted(mine, others);
    let elsewhere: BTreeSet<&str> = known
        .iter()
        .flat_map(|l| l.feeds.keys().map(String::as_str))
        .collect();
    let stored_names: HashMap<&str, &str> = stored
        .iter()
        .map(|(n, u)| (n.as_str(), u.as_str()))
        .collect();
    let mut plan = SyncPlan {
        forget: forget.iter().map(|l| l.owner.clone()).collect(),
        differences: differing(&wanted, &known),
        ..SyncPlan::default()
    };
    for f in &mine.feeds {
        match stored_names.get(f.name.as_str()) {
            None => plan.add.push(f.clone()),
            Some(url) if *url != f.url => plan.readdress.push(f.clone()),
            Some(_) => {}
        }
    }
    plan.remove = stored
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !wanted.contains_key(n) && !elsewhere.contains(n))
        .map(str::to_string)
        .collect();
    plan.remove.sort();
    plan.forget.sort();
    plan
}

/// Whether an instance's stored list (its last heartbeat in unix seconds, its encoded feeds)
/// already says what `encoded` says, recently enough that a sync at `at` need not write it
/// again (the heartbeat keeps it fresh).
pub fn own_is_current(own: Option<&(i64, String)>, encoded: &str, at: DateTime<Utc>) -> bool {
    own.is_some_and(|(seen, feeds)| {
        feeds == encoded && at.timestamp() - seen < HEARTBEAT.as_secs() as i64
    })
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect();
    v.sort();
    v
}

/// What a sync did: the feeds it removed, and how the other instances' lists differ.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedSync {
    /// Feeds removed with their entries.
    pub removed: Vec<String>,
    /// Other known instances whose lists differ from this one.
    pub differences: Vec<Difference>,
    /// Instances forgotten (not heard of for [`FORGET_AFTER`]).
    pub forgotten: Vec<String>,
}

impl From<SyncPlan> for FeedSync {
    fn from(plan: SyncPlan) -> FeedSync {
        FeedSync {
            removed: plan.remove,
            differences: plan.differences,
            forgotten: plan.forget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> FeedSpec {
        FeedSpec {
            name: name.into(),
            url: format!("http://example.com/{name}.xml"),
        }
    }

    fn stored(names: &[&str]) -> Vec<(String, String)> {
        names.iter().map(|n| (n.to_string(), spec(n).url)).collect()
    }

    fn list(owner: &str, names: &[&str], at: DateTime<Utc>) -> FeedList {
        FeedList {
            owner: owner.into(),
            feeds: names.iter().map(|n| spec(n)).collect(),
            at,
        }
    }

    fn known(owner: &str, names: &[&str], seen: DateTime<Utc>) -> KnownList {
        let l = list(owner, names, seen);
        KnownList::decode(owner.into(), seen, &l.encode())
    }

    fn now() -> DateTime<Utc> {
        "2026-11-30T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn alone_the_list_is_the_config() {
        let mine = list("a", &["x", "y", "new"], now());
        let plan = plan_sync(&stored(&["x", "y", "gone"]), &mine, &[]);
        assert_eq!(plan.add, vec![spec("new")]);
        assert_eq!(plan.remove, vec!["gone".to_string()]);
        assert!(plan.readdress.is_empty() && plan.differences.is_empty());
        assert!(plan.writes());
    }

    #[test]
    fn a_feed_another_instance_lists_stays() {
        let mine = list("a", &["x"], now());
        let other = known("b", &["x", "y"], now() - chrono::Duration::hours(1));
        let plan = plan_sync(&stored(&["x", "y", "z"]), &mine, &[other]);
        assert_eq!(plan.remove, vec!["z".to_string()]);
        assert_eq!(plan.differences.len(), 1);
        let d = &plan.differences[0];
        assert_eq!(d.owner, "b");
        assert_eq!(d.only_there, vec!["y".to_string()]);
        assert!(d.only_here.is_empty() && d.other_url.is_empty());
    }

    #[test]
    fn the_last_instance_to_drop_a_feed_removes_it() {
        // both dropped y: b already said so, so a's sync removes it
        let mine = list("a", &["x"], now());
        let other = known("b", &["x"], now());
        let plan = plan_sync(&stored(&["x", "y"]), &mine, &[other]);
        assert_eq!(plan.remove, vec!["y".to_string()]);
        assert!(plan.differences.is_empty());
    }

    #[test]
    fn an_instance_not_heard_of_for_a_week_is_forgotten_with_its_feeds() {
        let mine = list("a", &["x"], now());
        let old = known("b", &["x", "y"], now() - FORGET_AFTER);
        let recent = known(
            "c",
            &["x"],
            now() - FORGET_AFTER + chrono::Duration::hours(1),
        );
        let plan = plan_sync(&stored(&["x", "y"]), &mine, &[old, recent]);
        assert_eq!(plan.forget, vec!["b".to_string()]);
        assert_eq!(plan.remove, vec!["y".to_string()]);
    }

    #[test]
    fn this_instance_replaces_its_own_old_list() {
        let mine = list("a", &["x"], now());
        let old_self = known("a", &["x", "y"], now());
        let plan = plan_sync(&stored(&["x", "y"]), &mine, &[old_self]);
        assert_eq!(plan.remove, vec!["y".to_string()]);
        assert!(plan.forget.is_empty() && plan.differences.is_empty());
    }

    #[test]
    fn a_new_url_is_a_readdress_and_a_difference_with_whoever_keeps_the_old() {
        let mut mine = list("a", &["x"], now());
        mine.feeds[0].url = "http://example.org/moved.xml".into();
        let other = known("b", &["x"], now());
        let plan = plan_sync(&stored(&["x"]), &mine, &[other]);
        assert_eq!(plan.readdress, mine.feeds);
        assert_eq!(plan.differences[0].other_url, vec!["x".to_string()]);
        assert!(plan.remove.is_empty());
    }

    #[test]
    fn nothing_to_do_writes_nothing() {
        let mine = list("a", &["x", "y"], now());
        let plan = plan_sync(
            &stored(&["x", "y"]),
            &mine,
            &[known("b", &["y", "x"], now())],
        );
        assert!(!plan.writes());
        assert_eq!(plan, SyncPlan::default());
    }

    #[test]
    fn differences_alone_are_the_plans_and_skip_forgotten_lists() {
        let mine = list("a", &["x", "y"], now());
        let others = [
            known("b", &["x"], now()),
            known("c", &["z"], now() - FORGET_AFTER),
        ];
        let found = differences(&mine, &others);
        assert_eq!(
            found,
            plan_sync(&stored(&["x", "y"]), &mine, &others).differences
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].only_here, ["y"]);
        assert!(forgotten(others[1].seen, now()) && !forgotten(others[0].seen, now()));
    }

    #[test]
    fn lists_round_trip_sorted() {
        let l = list("a", &["b", "a"], now());
        assert_eq!(
            l.encode(),
            "a\thttp://example.com/a.xml\nb\thttp://example.com/b.xml\n"
        );
        let k = KnownList::decode("a".into(), now(), &l.encode());
        assert_eq!(k.feeds.len(), 2);
        assert_eq!(k.feeds["b"], "http://example.com/b.xml");
    }
}
