//! The plan stage: what storing one feed's poll means, decided from what the store already
//! holds. Pure: the store loads the feed's stored entries and tombstones (one query each),
//! the near-duplicate candidates of each new copy, and then executes the actions.
//!
//! Two steps, because only entries that are new or changed need a story:
//! [`entries`] decides per article (tombstone, same hash, update throttle, date resolution,
//! re-keying after guid churn or a CMS migration), then [`story`] decides which story a new
//! or changed entry belongs to (its story key, near-duplicates of other feeds, or a new one).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::article::{Article, ArticleKey};
use crate::neardup::{self, Match, Text};

/// How the store deduplicates stories and prunes old entries (`[dedup]`, `[storage]`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    /// Merge near-duplicate stories (the same wire story under different URLs).
    pub near_duplicates: bool,
    /// Jaccard similarity at which two full copies are one story.
    pub threshold: f64,
    /// Only stories published this close together are compared.
    pub window: Duration,
    /// An entry is updated at most this many times a day (flip-flopping feeds).
    pub max_updates_per_day: u32,
    /// Entries first seen longer ago than this are pruned (by first sight, not by their
    /// date: a new subscription to a feed of old articles still shows them).
    pub max_age: Option<Duration>,
    /// At most this many entries are kept per feed (the newest).
    pub max_per_feed: Option<usize>,
    /// Feeds whose copies are never matched as near-duplicates (`near_duplicates = false`
    /// in their `[[feed]]`): they join stories by URL only.
    pub feeds_without_near_duplicates: HashSet<String>,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            near_duplicates: true,
            threshold: 0.6,
            window: Duration::from_secs(3 * 86400),
            max_updates_per_day: 4,
            max_age: Some(Duration::from_secs(90 * 86400)),
            max_per_feed: Some(1000),
            feeds_without_near_duplicates: HashSet::new(),
        }
    }
}

impl StoreSettings {
    /// Whether `feed`'s copies take part in near-duplicate matching.
    pub fn near_duplicates_for(&self, feed: &str) -> bool {
        self.near_duplicates && !self.feeds_without_near_duplicates.contains(feed)
    }
}

/// What makes entries one story before any text is compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoryKey {
    /// The canonical URL, unique within its document.
    Url(String),
    /// One feed's entry alone (its URL is shared by several entries of its document, or
    /// it has none).
    Entry {
        /// The feed.
        feed: String,
        /// The entry's key as stored.
        key: String,
    },
    /// An entry the user split out of a story: it stays alone.
    Split {
        /// The feed.
        feed: String,
        /// The entry's key as stored.
        key: String,
    },
}

impl StoryKey {
    /// The key as stored.
    pub fn as_stored(&self) -> String {
        match self {
            StoryKey::Url(u) => format!("url:{u}"),
            StoryKey::Entry { feed, key } => format!("entry:{feed}:{key}"),
            StoryKey::Split { feed, key } => format!("split:{feed}:{key}"),
        }
    }
}

/// The story each article of one feed document belongs to by its URL: its canonical URL,
/// unless several entries of the same document share it (a feed whose items all link to its
/// home page), in which case each entry is a story of its own.
pub fn story_keys<'a, I>(feed: &str, articles: I) -> Vec<StoryKey>
where
    I: IntoIterator<Item = &'a Article> + Clone,
{
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for a in articles.clone() {
        if let Some(c) = &a.canonical_url {
            *counts.entry(c.as_str()).or_default() += 1;
        }
    }
    articles
        .into_iter()
        .map(|a| match &a.canonical_url {
            Some(c) if counts.get(c.as_str()) == Some(&1) => StoryKey::Url(c.clone()),
            _ => StoryKey::Entry {
                feed: feed.to_string(),
                key: a.key.as_stored(),
            },
        })
        .collect()
}

/// An entry this feed already has, as the plan needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Row id.
    pub id: i64,
    /// Its key as stored.
    pub key: String,
    /// The story it is in.
    pub story: i64,
    /// Its content hash.
    pub hash: String,
    /// Its canonical URL.
    pub canonical_url: Option<String>,
    /// Its resolved publication time.
    pub published: DateTime<Utc>,
    /// Whether the feed gave that time (else it is when the entry was first seen).
    pub published_given: bool,
    /// Its resolved update time.
    pub updated: DateTime<Utc>,
    /// Unix day of its last update.
    pub updates_day: i64,
    /// Updates on that day.
    pub updates_count: u32,
    /// The user split it out of a story.
    pub split: bool,
}

/// Why an article changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchanged {
    /// It was pruned, and the feed still lists it.
    Tombstone,
    /// Its content hash is the one stored.
    SameHash,
    /// It changed, but was already updated `max_updates_per_day` times today.
    Throttled,
    /// Its key appears earlier in the same document, which wins.
    Repeated,
}

/// What to do with one article of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryAction {
    /// Nothing changes, for this reason. `rekey`: the stored entry (its id) takes the
    /// article's key and guid (guid churn, CMS migration).
    Unchanged {
        /// Why.
        why: Unchanged,
        /// Re-key this stored entry first.
        rekey: Option<i64>,
    },
    /// Update the stored entry in place.
    Update {
        /// The entry's id.
        entry: i64,
        /// The story it was in.
        old_story: i64,
        /// Its key changes to the article's.
        rekey: bool,
        /// The story key to resolve its story by.
        story_key: StoryKey,
        /// Resolved times and the update counter.
        dates: Dates,
        /// Unix day of this update, and updates that day including this one.
        updates: (i64, u32),
    },
    /// Insert a new entry.
    Insert {
        /// The story key to resolve its story by.
        story_key: StoryKey,
        /// Resolved times.
        dates: Dates,
    },
}

/// An entry's times as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dates {
    /// Publication time.
    pub published: DateTime<Utc>,
    /// Whether the feed gave it.
    pub published_given: bool,
    /// Update time.
    pub updated: DateTime<Utc>,
}

/// One article as the plan sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The article.
    pub article: &'a Article,
    /// Its content hash ([`crate::dedup::content_hash`]).
    pub hash: &'a str,
}

/// How newswire reads a document, as a number: raised by every change to parsing or
/// normalizing that alters what an unchanged document yields (an entry's content hash: a
/// category now read, a formula now kept). The feeds' rows record the reading of their last
/// poll; see [`entries`]' `read_with`. 1: formulas as text, an episode's `itunes:category`,
/// and all before them; 2: embedded players as links; 3: charts, posts and maps as links,
/// entities a DOCTYPE declares; 4: the Maps Embed API's frames as links, a document cut
/// short read with its feed's own elements, an empty `<channel/>` holding the items after it.
pub const READING: i64 = 4;

/// Decides, for every article of one document of `feed`, whether it is new, changed or
/// unchanged (and why), from the feed's stored entries and tombstones. `read_with` is the
/// [`READING`] the feed was last polled with: when it is older, an entry that changed while
/// the feed's own update time did not move changed because newswire reads it otherwise now,
/// and is updated in place without a new update time and without counting against the
/// day's updates, so that an upgrade does not show a feed's backlog as updated.
pub fn entries(
    feed: &str,
    incoming: &[Incoming],
    stored: &[Stored],
    tombstones: &HashSet<String>,
    settings: &StoreSettings,
    now: DateTime<Utc>,
    read_with: i64,
) -> Vec<EntryAction> {
    let keys = story_keys(feed, incoming.iter().map(|i| i.article));
    let doc_keys: HashSet<String> = incoming.iter().map(|i| i.article.key.as_stored()).collect();
    let by_key: HashMap<&str, &Stored> = stored.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut by_url: HashMap<&str, Vec<&Stored>> = HashMap::new();
    for s in stored {
        if let Some(u) = &s.canonical_url {
            by_url.entry(u.as_str()).or_default().push(s);
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut claimed: HashSet<i64> = HashSet::new();
    incoming
        .iter()
        .zip(keys)
        .map(|(inc, story_key)| {
            let key = inc.article.key.as_stored();
            if !seen.insert(key.clone()) {
                return EntryAction::Unchanged {
                    why: Unchanged::Repeated,
                    rekey: None,
                };
            }
            if tombstones.contains(&key) {
                return EntryAction::Unchanged {
                    why: Unchanged::Tombstone,
                    rekey: None,
                };
            }
            let url_unique = matches!(story_key, StoryKey::Url(_));
            let existing = by_key
                .get(key.as_str())
                .copied()
                .or_else(|| migrated_from(inc.article, url_unique, &by_url, &doc_keys));
            match existing.filter(|e| claimed.insert(e.id)) {
                Some(e) => changed(feed, inc, e, story_key, settings, now, read_with),
                None => EntryAction::Insert {
                    story_key,
                    dates: new_dates(inc.article, now),
                },
            }
        })
        .collect()
}

/// A guid that changed while the link stayed (a CMS migration): the stored entry with the
/// same canonical URL, if there is exactly one and this document no longer lists its key.
/// Live blogs and feeds whose items all link to one page reuse a URL for different items;
/// those stay apart.
fn migrated_from<'s>(
    a: &Article,
    url_unique_in_doc: bool,
    by_url: &HashMap<&str, Vec<&'s Stored>>,
    doc_keys: &HashSet<String>,
) -> Option<&'s Stored> {
    if !matches!(a.key, ArticleKey::Guid(_)) || !url_unique_in_doc {
        return None;
    }
    match by_url.get(a.canonical_url.as_deref()?)?.as_slice() {
        [only] if !doc_keys.contains(&only.key) => Some(*only),
        _ => None,
    }
}

fn new_dates(a: &Article, now: DateTime<Utc>) -> Dates {
    // an entry without a date takes the time it was first seen
    let published = a.published.unwrap_or(now);
    Dates {
        published,
        published_given: a.published.is_some(),
        updated: a.updated.unwrap_or(published).max(published),
    }
}

/// A known entry: unchanged, throttled, or updated in place.
fn changed(
    feed: &str,
    inc: &Incoming,
    e: &Stored,
    story_key: StoryKey,
    settings: &StoreSettings,
    now: DateTime<Utc>,
    read_with: i64,
) -> EntryAction {
    let key = inc.article.key.as_stored();
    let rekey = e.key != key;
    let unchanged = |why| EntryAction::Unchanged {
        why,
        rekey: rekey.then_some(e.id),
    };
    if e.hash == inc.hash {
        return unchanged(Unchanged::SameHash);
    }
    let a = inc.article;
    let feed_updated = a.updated.filter(|u| *u > e.updated);
    // read otherwise since the feed's last poll, and not updated by the feed: newswire's
    // change, not the feed's
    let reread = read_with < READING && feed_updated.is_none();
    // a feed that changes an entry on every poll (an embedded timestamp, a view counter) is
    // not followed more than a few times a day
    let today = now.timestamp().div_euclid(86400);
    let count_today = if e.updates_day == today {
        e.updates_count
    } else {
        0
    };
    if count_today >= settings.max_updates_per_day && !reread {
        return unchanged(Unchanged::Throttled);
    }
    // an entry without a date keeps the time it was first seen
    let published = a.published.unwrap_or(e.published);
    // the feed's own update time when it moved forward, else the time we saw the change
    // (none for a re-reading: the entry keeps its own)
    let seen = if reread { e.updated } else { now };
    let updated = feed_updated.unwrap_or(seen).max(published);
    let updates = if reread {
        (e.updates_day, e.updates_count)
    } else {
        (today, count_today + 1)
    };
    let story_key = if e.split {
        StoryKey::Split {
            feed: feed.to_string(),
            key,
        }
    } else {
        story_key
    };
    EntryAction::Update {
        entry: e.id,
        old_story: e.story,
        rekey,
        story_key,
        dates: Dates {
            published,
            published_given: a.published.is_some() || e.published_given,
            updated,
        },
        updates,
    }
}

/// A copy of another feed that a new entry may be a near-duplicate of, as the store found
/// it through its index.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The copy's entry id.
    pub entry: i64,
    /// Its story.
    pub story: i64,
    /// Its feed.
    pub feed: String,
    /// Its publication time.
    pub published: DateTime<Utc>,
    /// The user split it out of a story: it matches nothing.
    pub split: bool,
    /// Its text.
    pub text: std::sync::Arc<Text>,
}

/// Why an entry is in its story: shown by `newswire story` and `/stories/ID`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Joined {
    /// It started the story.
    First,
    /// The story has its canonical URL (or its URL was matched to it before).
    SameUrl,
    /// It is a near-duplicate of another copy.
    NearDuplicate {
        /// The rule that matched.
        rule: neardup::Rule,
        /// Its score.
        score: f64,
        /// The copy it matched (an entry id).
        copy: i64,
    },
    /// The user split it out of a story.
    Split,
}

impl std::fmt::Display for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Joined::First => f.write_str("first copy"),
            Joined::SameUrl => f.write_str("same URL"),
            Joined::NearDuplicate { rule, score, copy } => {
                write!(f, "near-duplicate of copy {copy}: {rule} {score:.2}")
            }
            Joined::Split => f.write_str("split out by the user"),
        }
    }
}

/// Which story a new or changed entry belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum StoryChoice {
    /// An existing story; `merge`: other stories the entry also matched, which become one
    /// with it (so that the clusters do not depend on the order copies arrive in).
    Existing {
        /// The story.
        story: i64,
        /// Why.
        joined: Joined,
        /// Stories to merge into it.
        merge: Vec<i64>,
    },
    /// A new story, under the entry's story key; `merge` as above.
    Start {
        /// Why (first copy, or a split entry).
        joined: Joined,
    },
}

/// What [`story`] needs besides the candidates.
#[derive(Debug, Clone)]
pub struct StoryInput<'a> {
    /// The entry's feed.
    pub feed: &'a str,
    /// Its story key.
    pub story_key: &'a StoryKey,
    /// The story its key already names (stories.story_key or an alias), if any.
    pub keyed: Option<i64>,
    /// Its publication time.
    pub published: DateTime<Utc>,
    /// Its text, when near-duplicates are looked for.
    pub text: Option<&'a Text>,
    /// Stories this feed already carries: a feed's own items are told apart by their
    /// identity, not their text.
    pub carried: &'a HashSet<i64>,
}

/// Decides the story of a new or changed entry: the story its key names, together with the
/// stories of the near-duplicates found among `candidates` (other feeds' copies published
/// within the window); else a new story.
pub fn story(
    input: &StoryInput,
    candidates: &[Candidate],
    settings: &StoreSettings,
) -> StoryChoice {
    if matches!(input.story_key, StoryKey::Split { .. }) {
        return match input.keyed {
            Some(story) => StoryChoice::Existing {
                story,
                joined: Joined::Split,
                merge: Vec::new(),
            },
            None => StoryChoice::Start {
                joined: Joined::Split,
            },
        };
    }
    let matched = near_duplicates(input, candidates, settings);
    // the best match names the story joined; the others are merged into it
    let best = matched
        .iter()
        .max_by(|a, b| (a.1.1.score).total_cmp(&b.1.1.score).then(b.0.cmp(a.0)))
        .map(|(story, (copy, m))| (*story, *copy, *m));
    match (input.keyed, best) {
        (Some(story), _) => StoryChoice::Existing {
            story,
            joined: Joined::SameUrl,
            merge: matched.keys().copied().filter(|s| *s != story).collect(),
        },
        (None, Some((story, copy, m))) => StoryChoice::Existing {
            story,
            joined: Joined::NearDuplicate {
                rule: m.rule,
                score: m.score,
                copy,
            },
            merge: matched.keys().copied().filter(|s| *s != story).collect(),
        },
        (None, None) => StoryChoice::Start {
            joined: Joined::First,
        },
    }
}

/// Per story, the best-matching copy among the candidates (ties: the lowest entry id).
fn near_duplicates(
    input: &StoryInput,
    candidates: &[Candidate],
    settings: &StoreSettings,
) -> BTreeMap<i64, (i64, Match)> {
    let mut out: BTreeMap<i64, (i64, Match)> = BTreeMap::new();
    let Some(text) = input.text else {
        return out;
    };
    if !settings.near_duplicates_for(input.feed) {
        return out;
    }
    let window = chrono::Duration::from_std(settings.window).unwrap_or(chrono::Duration::MAX);
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by_key(|c| c.entry);
    for c in sorted {
        let near = (c.published - input.published).abs() <= window;
        if !near
            || c.split
            || c.feed == input.feed
            || input.carried.contains(&c.story)
            || !settings.near_duplicates_for(&c.feed)
        {
            continue;
        }
        let Some(m) = neardup::compare(text, &c.text, settings.threshold) else {
            continue;
        };
        match out.get(&c.story) {
            Some((_, best)) if best.score >= m.score => {}
            _ => {
                out.insert(c.story, (c.entry, m));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
