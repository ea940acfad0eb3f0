//! Executing a plan: one feed's poll in the writer's transaction. The decisions are in
//! [`crate::plan`]; this module loads what the plan needs (the feed's stored entries and
//! tombstones in one query each, the near-duplicate candidates from the index) and writes
//! what it decided.
//!
//! Nothing is computed from an article's text here: its content hash, plain text and
//! near-duplicate keys come with it ([`Prepared`], computed in the parse threads). A story
//! is derived again once per batch of polls, however many of its copies the batch wrote,
//! and its row and search entry are written only when what they hold changed. The story
//! row names the entries its body and summary come from; the text is stored once, there.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{ApplyStats, PendingPoll, StoreError, from_json, from_ts, to_json, touch, ts};
use crate::article::Article;
use crate::dedup::{self, CopyFields, Prepared, StoryRow};
use crate::neardup::{self, KeyIndex, Text};
use crate::plan::{
    self, Candidate, Dates, EntryAction, Incoming, Joined, StoreSettings, StoryChoice, StoryInput,
    StoryKey, Unchanged,
};

/// Candidates taken per index key (the newest).
const PER_KEY: usize = 32;
/// Texts of copies kept in memory for confirming candidates: the newest, in two
/// generations of this many each.
const TEXT_CACHE: usize = 8192;

/// The near-duplicate index in memory: the keys of the copies published in the last two
/// windows, loaded from the stored keys, grown by every copy stored since, and loaded afresh
/// once a day (which drops the old ones). A copy published long ago that arrives after a
/// restart is compared only with what the index holds.
#[derive(Default)]
pub(super) struct NearIndex {
    keys: KeyIndex,
    loaded: Option<DateTime<Utc>>,
    /// Texts of recent copies (the texts their polls came with), so that confirming a
    /// candidate rarely reads and takes its body again under the writer: the current
    /// generation, and the one before it (a full generation becomes the older one, and the
    /// older one is dropped, so the newest copies are always at hand).
    texts: HashMap<i64, Arc<Text>>,
    older: HashMap<i64, Arc<Text>>,
}

impl NearIndex {
    pub(super) fn refresh(
        &mut self,
        conn: &Connection,
        settings: &StoreSettings,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        if self
            .loaded
            .is_some_and(|t| now.signed_duration_since(t) < chrono::Duration::days(1))
        {
            return Ok(());
        }
        let span = chrono::Duration::from_std(settings.window * 2).unwrap_or(chrono::Duration::MAX);
        let since = now.checked_sub_signed(span).map_or(i64::MIN, ts);
        let mut keys = KeyIndex::default();
        let mut stmt = conn.prepare(
            "SELECT id, print FROM entries
             WHERE published >= ?1 AND print IS NOT NULL AND split = 0 ORDER BY id",
        )?;
        let mut rows = stmt.query([since])?;
        while let Some(row) = rows.next()? {
            let bytes: Vec<u8> = row.get(1)?;
            if let Some(k) = neardup::keys_from_bytes(&bytes) {
                keys.insert(row.get(0)?, &k);
            }
        }
        *self = NearIndex {
            keys,
            loaded: Some(now),
            texts: HashMap::new(),
            older: HashMap::new(),
        };
        Ok(())
    }

    fn remember(&mut self, entry: i64, text: Arc<Text>) {
        if self.texts.len() >= TEXT_CACHE {
            self.older = std::mem::take(&mut self.texts);
        }
        self.texts.insert(entry, text);
    }

    fn forget_texts(&mut self) {
        self.texts.clear();
        self.older.clear();
    }

    fn text(&self, entry: i64) -> Option<Arc<Text>> {
        self.texts
            .get(&entry)
            .or_else(|| self.older.get(&entry))
            .cloned()
    }
}

/// What a batch of polls changed, for deriving its stories once at the end.
#[derive(Default)]
pub(super) struct Touched<'a> {
    /// Stories the batch created (not in the search index yet).
    fresh: HashSet<i64>,
    /// Stories to derive again.
    dirty: BTreeSet<i64>,
    /// The plain text of every entry the batch wrote, by entry id.
    texts: HashMap<i64, &'a str>,
}

/// What every article of one poll is stored with.
struct Ctx<'a, 'b> {
    tx: &'a Connection,
    feed: &'a str,
    at: DateTime<Utc>,
    settings: &'a StoreSettings,
    /// What the batch changed so far.
    touched: &'a mut Touched<'b>,
    /// Whether this poll changed what the merged feed shows.
    changed: bool,
    /// Stories this feed carries.
    carried: HashSet<i64>,
    index: &'a RefCell<NearIndex>,
}

impl Ctx<'_, '_> {
    fn dirty(&mut self, story: i64) {
        self.touched.dirty.insert(story);
        self.changed = true;
    }
}

/// Stores a batch of polls in one transaction, then derives each story they touched once.
pub(super) fn apply_batch(
    tx: &Connection,
    polls: &[PendingPoll],
    settings: &StoreSettings,
    index: &RefCell<NearIndex>,
) -> Result<Vec<ApplyStats>, StoreError> {
    let mut touched = Touched::default();
    let result = polls
        .iter()
        .map(|poll| apply_one(tx, poll, settings, index, &mut touched))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|stats| refresh_touched(tx, &touched).map(|()| stats));
    if result.is_err() {
        // the transaction is rolled back and the ids of its new entries will be given to
        // others: the texts remembered under them are not theirs
        index.borrow_mut().forget_texts();
    }
    result
}

/// Stores one feed's poll: its state, its articles (new, updated, merged into stories),
/// and retention. The stories it touched are left in `touched`.
fn apply_one<'b>(
    tx: &Connection,
    poll: &'b PendingPoll,
    settings: &StoreSettings,
    index: &RefCell<NearIndex>,
    touched: &mut Touched<'b>,
) -> Result<ApplyStats, StoreError> {
    if !record_success(tx, poll)? {
        // the feed was removed from the config while it was being fetched: store nothing
        return Ok(ApplyStats::default());
    }
    let feed = poll.feed.as_str();
    let stored = load_stored(tx, feed)?;
    let tombstones = load_tombstones(tx, feed)?;
    let incoming: Vec<Incoming> = poll
        .articles
        .iter()
        .map(|p| Incoming {
            article: &p.article,
            hash: &p.text.hash,
        })
        .collect();
    let actions = plan::entries(
        feed,
        &incoming,
        &stored,
        &tombstones,
        settings,
        poll.update.at,
    );
    let mut ctx = Ctx {
        tx,
        feed,
        at: poll.update.at,
        settings,
        touched,
        changed: false,
        carried: stored.iter().map(|s| s.story).collect(),
        index,
    };
    let mut stats = ApplyStats::default();
    for (prepared, action) in poll.articles.iter().zip(actions) {
        execute(&mut ctx, prepared, action, &mut stats)?;
    }
    stats.pruned = prune(&mut ctx)?;
    if ctx.changed {
        touch(tx, ctx.at)?;
    }
    Ok(stats)
}

/// Records the poll's feed state; false when the feed is no longer stored.
fn record_success(tx: &Connection, poll: &PendingPoll) -> Result<bool, StoreError> {
    let (u, meta) = (&poll.update, &poll.meta);
    let changed = tx
        .prepare_cached(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, last_poll = ?4, last_success = ?4,
                last_status = ?5, last_outcome = CASE WHEN ?12 IS NULL THEN 'ok' ELSE 'recovered' END,
                last_error = ?12, consecutive_failures = 0,
                title = ?6, site_url = ?7, next_attempt = ?8,
                moved_to = coalesce(?9, moved_to), body_hash = ?10, ttl_secs = ?11, gone = 0
             WHERE name = ?1",
        )?
        .execute(params![
            poll.feed,
            u.validators.etag,
            u.validators.last_modified,
            ts(u.at),
            u.status,
            meta.title,
            meta.site_url,
            u.next_attempt.map(ts),
            u.moved_to,
            u.body_hash,
            u.ttl.map(|t| t.as_secs() as i64),
            u.recovered
        ])?;
    Ok(changed > 0)
}

/// The feed's stored entries, as the plan needs them: one query.
fn load_stored(tx: &Connection, feed: &str) -> Result<Vec<plan::Stored>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, entry_key, story_id, content_hash, canonical_url, published, published_given,
                updated, updates_day, updates_count, split
         FROM entries WHERE feed = ?1",
    )?;
    let rows = stmt.query_map([feed], |r| {
        Ok(plan::Stored {
            id: r.get(0)?,
            key: r.get(1)?,
            story: r.get(2)?,
            hash: r.get(3)?,
            canonical_url: r.get(4)?,
            published: from_ts(r.get(5)?),
            published_given: r.get(6)?,
            updated: from_ts(r.get(7)?),
            updates_day: r.get(8)?,
            updates_count: r.get(9)?,
            split: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn load_tombstones(tx: &Connection, feed: &str) -> Result<HashSet<String>, StoreError> {
    let mut stmt = tx.prepare_cached("SELECT entry_key FROM tombstones WHERE feed = ?1")?;
    let rows = stmt.query_map([feed], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Carries out the plan's action for one article.
fn execute<'b>(
    ctx: &mut Ctx<'_, 'b>,
    p: &'b Prepared,
    action: EntryAction,
    stats: &mut ApplyStats,
) -> Result<(), StoreError> {
    match action {
        EntryAction::Unchanged { why, rekey } => {
            keep_entry(ctx, &p.article, why, rekey)?;
            stats.unchanged += 1;
        }
        EntryAction::Update {
            entry,
            old_story,
            rekey,
            story_key,
            dates,
            updates,
        } => {
            if rekey {
                rekey_entry(ctx.tx, entry, &p.article.key.as_stored(), &p.article)?;
            }
            let placed = place(ctx, p, &story_key, dates.published)?;
            update_entry(ctx, p, entry, &placed, &dates, updates)?;
            // its new keys and text, so that copies arriving later find what it says now
            if let Some((text, keys)) = placed.text {
                let mut index = ctx.index.borrow_mut();
                index.keys.insert(entry, keys);
                index.remember(entry, text);
            }
            ctx.touched.texts.insert(entry, &p.text.body);
            ctx.dirty(old_story);
            ctx.dirty(placed.story);
            stats.updated += 1;
        }
        EntryAction::Insert { story_key, dates } => {
            let placed = place(ctx, p, &story_key, dates.published)?;
            let id = insert_entry(ctx, p, &placed, &dates)?;
            if let Some((text, keys)) = placed.text {
                let mut index = ctx.index.borrow_mut();
                index.keys.insert(id, keys);
                index.remember(id, text);
            }
            ctx.touched.texts.insert(id, &p.text.body);
            ctx.dirty(placed.story);
            ctx.carried.insert(placed.story);
            if placed.existed {
                stats.merged += 1;
            } else {
                stats.new += 1;
            }
        }
    }
    Ok(())
}

/// An article that changes nothing: a pruned one stays pruned; a re-keyed one takes its key.
fn keep_entry(
    ctx: &Ctx,
    a: &Article,
    why: Unchanged,
    rekey: Option<i64>,
) -> Result<(), StoreError> {
    let key = a.key.as_stored();
    if why == Unchanged::Tombstone {
        // pruned, but still listed: keep it pruned
        ctx.tx
            .prepare_cached(
                "UPDATE tombstones SET seen_at = ?3 WHERE feed = ?1 AND entry_key = ?2",
            )?
            .execute(params![ctx.feed, key, ts(ctx.at)])?;
    }
    if let Some(id) = rekey {
        rekey_entry(ctx.tx, id, &key, a)?;
    }
    Ok(())
}

/// Writes a changed article over its stored entry.
fn update_entry(
    ctx: &Ctx,
    p: &Prepared,
    entry: i64,
    placed: &Placed,
    dates: &Dates,
    updates: (i64, u32),
) -> Result<(), StoreError> {
    let a = &p.article;
    ctx.tx.prepare_cached("UPDATE entries SET story_id = ?2, title = ?3, link = ?4, canonical_url = ?5, authors = ?6,
            published = ?7, published_given = ?8, updated = ?9, summary = ?10, content = ?11,
            categories = ?12, image = ?13, language = ?14, content_hash = ?15,
            updates_day = ?16, updates_count = ?17, image_credit = ?18, joined = ?19,
            print = ?20
         WHERE id = ?1")?.execute(
        params![
            entry,
            placed.story,
            a.title,
            a.link,
            a.canonical_url,
            to_json(&a.authors),
            ts(dates.published),
            dates.published_given,
            ts(dates.updated),
            a.summary,
            a.content,
            to_json(&a.categories),
            a.image,
            a.language,
            p.text.hash,
            updates.0,
            updates.1,
            a.image_credit,
            joined_json(&placed.joined),
            placed.print
        ],
    )?;
    Ok(())
}

/// Inserts a new article as an entry of `ctx.feed`; returns its id.
fn insert_entry(
    ctx: &Ctx,
    p: &Prepared,
    placed: &Placed,
    dates: &Dates,
) -> Result<i64, StoreError> {
    let a = &p.article;
    ctx.tx.prepare_cached("INSERT INTO entries (feed, entry_key, guid, story_id, title, link, canonical_url, authors,
            published, published_given, updated, summary, content, categories, image, language,
            first_seen, content_hash, image_credit, joined, print)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)")?.execute(
        params![
            ctx.feed,
            a.key.as_stored(),
            a.guid,
            placed.story,
            a.title,
            a.link,
            a.canonical_url,
            to_json(&a.authors),
            ts(dates.published),
            dates.published_given,
            ts(dates.updated),
            a.summary,
            a.content,
            to_json(&a.categories),
            a.image,
            a.language,
            ts(ctx.at),
            p.text.hash,
            a.image_credit,
            joined_json(&placed.joined),
            placed.print
        ],
    )?;
    Ok(ctx.tx.last_insert_rowid())
}

fn rekey_entry(tx: &Connection, id: i64, key: &str, a: &Article) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE entries SET entry_key = ?2, guid = ?3 WHERE id = ?1")?
        .execute(params![id, key, a.guid])?;
    Ok(())
}

fn joined_json(j: &Joined) -> String {
    serde_json::to_string(j).unwrap_or_default()
}

/// Where an entry went, and what it is indexed under.
struct Placed<'a> {
    story: i64,
    existed: bool,
    joined: Joined,
    /// The stored index keys.
    print: Option<Vec<u8>>,
    /// Its text and index keys, to index once it has an id.
    text: Option<(Arc<Text>, &'a [u32])>,
}

/// Finds the entry's story (the plan decides; this loads and writes): merges the stories it
/// bridges, records its key as an alias of a story it joined, or starts a story.
fn place<'p>(
    ctx: &mut Ctx,
    p: &'p Prepared,
    story_key: &StoryKey,
    published: DateTime<Utc>,
) -> Result<Placed<'p>, StoreError> {
    let a = &p.article;
    let stored_key = story_key.as_stored();
    let keyed = story_by_key(ctx.tx, &stored_key)?;
    let near =
        ctx.settings.near_duplicates_for(ctx.feed) && !matches!(story_key, StoryKey::Split { .. });
    let text = near.then(|| Arc::clone(&p.text.near));
    let keys: &[u32] = if near { &p.text.keys } else { &[] };
    let candidates = match &text {
        Some(_) if !keys.is_empty() => candidates(ctx, keys)?,
        _ => Vec::new(),
    };
    let choice = plan::story(
        &StoryInput {
            feed: ctx.feed,
            story_key,
            keyed,
            published,
            text: text.as_deref(),
            carried: &ctx.carried,
        },
        &candidates,
        ctx.settings,
    );
    let (story, existed, joined) = match choice {
        StoryChoice::Existing {
            story,
            joined,
            merge,
        } => {
            for other in merge {
                merge_stories(ctx, other, story)?;
            }
            if keyed.is_none() {
                ctx.tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO story_aliases (story_key, story_id) VALUES (?1, ?2)",
                    )?
                    .execute(params![stored_key, story])?;
            }
            (story, true, joined)
        }
        StoryChoice::Start { joined } => {
            ctx.tx
                .prepare_cached(
                    "INSERT INTO stories (story_key, title, published, updated, first_seen)
                     VALUES (?1, ?2, ?3, ?3, ?4)",
                )?
                .execute(params![stored_key, a.title, ts(published), ts(ctx.at)])?;
            let id = ctx.tx.last_insert_rowid();
            ctx.touched.fresh.insert(id);
            (id, false, joined)
        }
    };
    let print = (!keys.is_empty()).then(|| neardup::keys_to_bytes(keys));
    Ok(Placed {
        story,
        existed,
        joined,
        print,
        text: text.filter(|_| !keys.is_empty()).map(|t| (t, keys)),
    })
}

/// An entry whose body was replaced (its article page was extracted): its text and index
/// keys are taken again, and its story is chosen again as for an updated copy, so that a
/// teaser whose article turns out to be another outlet's story joins that story. The
/// stories touched are derived again. Split entries, and feeds without near-duplicates,
/// only have their story derived again.
pub(super) fn rejudge(
    tx: &Connection,
    entry: i64,
    settings: &StoreSettings,
    index: &RefCell<NearIndex>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = tx
        .query_row(
            "SELECT feed, entry_key, story_id, split, published, title, content, summary
             FROM entries WHERE id = ?1",
            [entry],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((feed, key, story, split, published, title, content, summary)) = row else {
        return Ok(());
    };
    let mut touched = Touched {
        fresh: HashSet::new(),
        dirty: BTreeSet::from([story]),
        texts: HashMap::new(),
    };
    let mut ctx = Ctx {
        tx,
        feed: &feed,
        at,
        settings,
        touched: &mut touched,
        changed: false,
        carried: HashSet::new(),
        index,
    };
    if !split && settings.near_duplicates_for(&feed) {
        let body = dedup::body_words(content.as_deref(), summary.as_deref());
        let text = Arc::new(neardup::text(&title, &body));
        let keys = text.keys();
        if !keys.is_empty() {
            ctx.carried = tx
                .prepare_cached("SELECT DISTINCT story_id FROM entries WHERE feed = ?1")?
                .query_map([&feed], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let found = candidates(&ctx, &keys)?;
            // the entry keeps its story (its key names it); stories its new text matches join it
            let choice = plan::story(
                &StoryInput {
                    feed: &feed,
                    story_key: &StoryKey::Entry {
                        feed: feed.clone(),
                        key,
                    },
                    keyed: Some(story),
                    published: from_ts(published),
                    text: Some(&text),
                    carried: &ctx.carried,
                },
                &found,
                settings,
            );
            if let StoryChoice::Existing {
                story: into, merge, ..
            } = choice
            {
                for other in merge {
                    merge_stories(&mut ctx, other, into)?;
                }
            }
            tx.prepare_cached("UPDATE entries SET print = ?2 WHERE id = ?1")?
                .execute(params![entry, neardup::keys_to_bytes(&keys)])?;
            let mut held = index.borrow_mut();
            held.keys.insert(entry, &keys);
            held.remember(entry, text);
        }
    }
    refresh_touched(tx, &touched)
}

/// The story a key names: its own, or the one it was merged into.
fn story_by_key(tx: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    let found = tx
        .prepare_cached("SELECT id FROM stories WHERE story_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    match found {
        Some(id) => Ok(Some(id)),
        None => Ok(tx
            .prepare_cached("SELECT story_id FROM story_aliases WHERE story_key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?),
    }
}

/// The copies sharing an index key with `keys`, with their texts.
fn candidates(ctx: &Ctx, keys: &[u32]) -> Result<Vec<Candidate>, StoreError> {
    let ids = ctx.index.borrow().keys.candidates(keys, PER_KEY);
    let mut out = Vec::with_capacity(ids.len());
    let mut stmt = ctx.tx.prepare_cached(
        "SELECT story_id, feed, published, split, title, content, summary FROM entries WHERE id = ?1",
    )?;
    for id in ids {
        let cached = ctx.index.borrow().text(id);
        let row = stmt
            .query_row([id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .optional()?;
        // the index only proposes: the copy must still exist
        let Some((story, feed, published, split, title, content, summary)) = row else {
            continue;
        };
        let text = match cached {
            Some(t) => t,
            None => {
                let body = dedup::body_words(content.as_deref(), summary.as_deref());
                let t = Arc::new(neardup::text(&title, &body));
                ctx.index.borrow_mut().remember(id, Arc::clone(&t));
                t
            }
        };
        out.push(Candidate {
            entry: id,
            story,
            feed,
            published: from_ts(published),
            split,
            text,
        });
    }
    Ok(out)
}

/// Makes `from` part of `into`: its entries and keys move, and it goes.
fn merge_stories(ctx: &mut Ctx, from: i64, into: i64) -> Result<(), StoreError> {
    let tx = ctx.tx;
    tx.prepare_cached("UPDATE entries SET story_id = ?2 WHERE story_id = ?1")?
        .execute(params![from, into])?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO story_aliases (story_key, story_id)
         SELECT story_key, ?2 FROM stories WHERE id = ?1",
    )?
    .execute(params![from, into])?;
    tx.prepare_cached("UPDATE story_aliases SET story_id = ?2 WHERE story_id = ?1")?
        .execute(params![from, into])?;
    if !ctx.touched.fresh.remove(&from) {
        tx.prepare_cached("DELETE FROM stories_fts WHERE rowid = ?1")?
            .execute([from])?;
    }
    tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
        .execute([from])?;
    ctx.touched.dirty.remove(&from);
    ctx.dirty(into);
    if ctx.carried.remove(&from) {
        ctx.carried.insert(into);
    }
    Ok(())
}

/// Prunes this feed's entries beyond `max_per_feed` (the oldest by date) or first seen
/// longer ago than `max_age`, keeping their identities as tombstones so that a feed that
/// still lists them does not bring them back.
fn prune(ctx: &mut Ctx) -> Result<usize, StoreError> {
    let mut doomed: Vec<(i64, String, i64)> = Vec::new();
    let row = |r: &rusqlite::Row| -> rusqlite::Result<(i64, String, i64)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    };
    if let Some(max_age) = ctx.settings.max_age {
        // a limit too large to subtract is no limit
        let cutoff = chrono::Duration::from_std(max_age)
            .ok()
            .and_then(|d| ctx.at.checked_sub_signed(d))
            .map_or(i64::MIN, ts);
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT id, entry_key, story_id FROM entries WHERE feed = ?1 AND first_seen < ?2",
        )?;
        doomed.extend(
            stmt.query_map(params![ctx.feed, cutoff], row)?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    if let Some(max) = ctx.settings.max_per_feed {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT id, entry_key, story_id FROM entries WHERE feed = ?1
             ORDER BY published DESC, id DESC LIMIT -1 OFFSET ?2",
        )?;
        doomed.extend(
            stmt.query_map(params![ctx.feed, max as i64], row)?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    doomed.sort();
    doomed.dedup();
    for (id, key, story) in &doomed {
        ctx.tx
            .prepare_cached(
                "INSERT INTO tombstones (feed, entry_key, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (feed, entry_key) DO UPDATE SET seen_at = ?3",
            )?
            .execute(params![ctx.feed, key, ts(ctx.at)])?;
        ctx.tx
            .prepare_cached("DELETE FROM entries WHERE id = ?1")?
            .execute([id])?;
        ctx.dirty(*story);
    }
    // tombstones of entries the feed stopped listing long ago are no longer needed
    let keep = ctx
        .settings
        .max_age
        .unwrap_or(Duration::from_secs(90 * 86400))
        * 2;
    ctx.tx
        .prepare_cached("DELETE FROM tombstones WHERE feed = ?1 AND seen_at < ?2")?
        .execute(params![
            ctx.feed,
            chrono::Duration::from_std(keep)
                .ok()
                .and_then(|d| ctx.at.checked_sub_signed(d))
                .map_or(i64::MIN, ts)
        ])?;
    Ok(doomed.len())
}

/// Derives every story a batch touched again, once each.
fn refresh_touched(tx: &Connection, touched: &Touched) -> Result<(), StoreError> {
    for &story in &touched.dirty {
        let fresh = touched.fresh.contains(&story);
        refresh(tx, story, fresh, &touched.texts, false)?;
    }
    Ok(())
}

/// Re-derives a story from its entries, or deletes it when none are left.
/// `fresh`: created in this transaction, so not in the search index yet.
pub(super) fn refresh_story(tx: &Connection, story: i64, fresh: bool) -> Result<(), StoreError> {
    // an entry's body may have changed in place (full text): its search text is taken again
    refresh(tx, story, fresh, &HashMap::new(), true)
}

/// Re-derives a story: its row is written when a field changed, its search entry when its
/// headline or body did (`reindex`: whatever changed). The search text of entries written
/// in this batch comes with them (`texts`); another entry's is read and taken again.
fn refresh(
    tx: &Connection,
    story: i64,
    fresh: bool,
    texts: &HashMap<i64, &str>,
    reindex: bool,
) -> Result<(), StoreError> {
    let copies = load_copies(tx, story)?;
    let Some(row) = dedup::derive_story(&copies) else {
        // (its entries in the near-duplicate index stay: a candidate that no longer exists
        // is skipped when confirmed)
        if !fresh {
            tx.prepare_cached("DELETE FROM stories_fts WHERE rowid = ?1")?
                .execute([story])?;
        }
        tx.prepare_cached("DELETE FROM stories WHERE id = ?1")?
            .execute([story])?;
        return Ok(());
    };
    let stored = load_story_row(tx, story)?;
    // the entry the search text's body comes from: the fullest copy's content, else the summary
    let has_content = copies
        .iter()
        .any(|c| c.id == row.content_from && c.content_len > 0);
    let body_from = if has_content {
        Some(row.content_from)
    } else {
        row.summary_from
    };
    let reindex = reindex
        || fresh
        || stored.as_ref().is_none_or(|s| {
            s.title != row.title
                || s.content_from != row.content_from
                || s.summary_from != row.summary_from
        })
        || body_from.is_some_and(|e| texts.contains_key(&e));
    if stored.as_ref() != Some(&row) {
        write_story_row(tx, story, &row)?;
    }
    if reindex {
        let body = match body_from {
            Some(e) => match texts.get(&e) {
                Some(text) => (*text).to_string(),
                None => stored_body_text(tx, e, has_content)?,
            },
            None => String::new(),
        };
        if !fresh {
            // a lookup in every segment of the index: worth skipping for the many new stories
            tx.prepare_cached("DELETE FROM stories_fts WHERE rowid = ?1")?
                .execute([story])?;
        }
        tx.prepare_cached("INSERT INTO stories_fts (rowid, title, body) VALUES (?1, ?2, ?3)")?
            .execute(params![story, row.title, body])?;
    }
    Ok(())
}

/// What deriving a story needs of its entries: their fields, not their bodies.
fn load_copies(tx: &Connection, story: i64) -> Result<Vec<CopyFields>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, title, link, canonical_url, authors, published, updated,
                coalesce(octet_length(content), 0), summary IS NOT NULL, categories, image,
                image_credit, language, first_seen
         FROM entries WHERE story_id = ?1",
    )?;
    let rows = stmt.query_map([story], |r| {
        Ok(CopyFields {
            id: r.get(0)?,
            title: r.get(1)?,
            link: r.get(2)?,
            canonical_url: r.get(3)?,
            authors: from_json(&r.get::<_, String>(4)?),
            published: Some(from_ts(r.get(5)?)),
            updated: Some(from_ts(r.get(6)?)),
            content_len: r.get::<_, i64>(7)?.max(0) as usize,
            has_summary: r.get(8)?,
            categories: from_json(&r.get::<_, String>(9)?),
            image: r.get(10)?,
            image_credit: r.get(11)?,
            language: r.get(12)?,
            first_seen: from_ts(r.get(13)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A story's row as stored, if it is.
fn load_story_row(tx: &Connection, story: i64) -> Result<Option<StoryRow>, StoreError> {
    Ok(tx
        .prepare_cached(
            "SELECT title, link, published, updated, content_entry, summary_entry, authors,
                    categories, image, image_credit, language, first_seen
             FROM stories WHERE id = ?1",
        )?
        .query_row([story], |r| {
            Ok(StoryRow {
                title: r.get(0)?,
                link: r.get(1)?,
                published: from_ts(r.get(2)?),
                updated: from_ts(r.get(3)?),
                // a story not derived yet names no entry
                content_from: r.get::<_, Option<i64>>(4)?.unwrap_or(-1),
                summary_from: r.get(5)?,
                authors: from_json(&r.get::<_, String>(6)?),
                categories: from_json(&r.get::<_, String>(7)?),
                image: r.get(8)?,
                image_credit: r.get(9)?,
                language: r.get(10)?,
                first_seen: from_ts(r.get(11)?),
            })
        })
        .optional()?)
}

fn write_story_row(tx: &Connection, story: i64, s: &StoryRow) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE stories SET title = ?2, link = ?3, published = ?4, updated = ?5,
            content_entry = ?6, summary_entry = ?7, authors = ?8, categories = ?9, image = ?10,
            language = ?11, first_seen = ?12, image_credit = ?13
         WHERE id = ?1",
    )?
    .execute(params![
        story,
        s.title,
        s.link,
        ts(s.published),
        ts(s.updated),
        s.content_from,
        s.summary_from,
        to_json(&s.authors),
        to_json(&s.categories),
        s.image,
        s.language,
        ts(s.first_seen),
        s.image_credit
    ])?;
    Ok(())
}

/// The search text of a stored entry's body (its content's words, else its summary): for a
/// story whose body comes from an entry not written in this batch.
fn stored_body_text(tx: &Connection, entry: i64, content: bool) -> Result<String, StoreError> {
    let (c, s): (Option<String>, Option<String>) = tx
        .prepare_cached("SELECT content, summary FROM entries WHERE id = ?1")?
        .query_row([entry], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or_default();
    Ok(dedup::body_words(
        c.as_deref().filter(|_| content),
        s.as_deref(),
    ))
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
