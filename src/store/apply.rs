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

use super::packed::{Packed, body};
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
/// generations of at most this many each, and of at most [`TEXT_CACHE_BYTES`].
const TEXT_CACHE: usize = 8192;
/// The memory a generation of texts may take: 8,192 teasers, or 750 long articles (a
/// 1,000-word body's text is about 8 KB). Half of the 12 MB it was: the 10,000-feed first
/// poll's peak fell by 5-12 MB, and the N=1000 first poll's CPU did not move beyond the
/// machine's noise (21.2 against 21.7 s over four interleaved pairs; bench/RESULTS.md).
const TEXT_CACHE_BYTES: usize = 6 << 20;

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
    /// The memory `texts` takes ([`Text::heap_bytes`]).
    texts_bytes: usize,
}

impl NearIndex {
    /// Loads the index afresh when it is a day old (or was never loaded).
    pub(super) fn refresh(
        &mut self,
        conn: &Connection,
        settings: &StoreSettings,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        if !self.due(now) {
            return Ok(());
        }
        let mut fresh = NearIndex::fresh(now);
        let mut stmt = conn.prepare(NEAR_INDEX_LOAD)?;
        let mut rows = stmt.query([NearIndex::since(settings, now)])?;
        while let Some(row) = rows.next()? {
            fresh.add_stored(row.get(0)?, &row.get::<_, Vec<u8>>(1)?);
        }
        *self = fresh;
        Ok(())
    }
}

/// The copies a fresh load of the index takes: those published since `?1`, found by the
/// index on `max(published, first_seen)` (migration 15), which a copy's publication time
/// since `?1` implies. (Left to itself, the planner scans the table, to read it in order.)
pub(super) const NEAR_INDEX_LOAD: &str =
    "SELECT id, print FROM entries INDEXED BY entries_by_recent
     WHERE max(published, first_seen) >= ?1 AND published >= ?1
       AND print IS NOT NULL AND split = 0 ORDER BY id";

/// The index's life, the same for every store: what a store loads it from and when, what
/// it grows by, and which texts it keeps at hand. Stores only read the rows.
impl NearIndex {
    /// Whether the index is to be loaded afresh: never loaded, or loaded a day ago (which
    /// drops the copies published before the window).
    pub(super) fn due(&self, now: DateTime<Utc>) -> bool {
        self.loaded
            .is_none_or(|t| now.signed_duration_since(t) >= chrono::Duration::days(1))
    }

    /// The oldest publication time (unix seconds) a fresh load takes: two windows back.
    pub(super) fn since(settings: &StoreSettings, now: DateTime<Utc>) -> i64 {
        let span = chrono::Duration::from_std(settings.window * 2).unwrap_or(chrono::Duration::MAX);
        now.checked_sub_signed(span).map_or(i64::MIN, ts)
    }

    /// An empty index, loaded at `now`: filled with [`NearIndex::add_stored`].
    pub(super) fn fresh(now: DateTime<Utc>) -> NearIndex {
        NearIndex {
            loaded: Some(now),
            ..NearIndex::default()
        }
    }

    /// Indexes a stored copy under its stored keys (`entries.print`).
    pub(super) fn add_stored(&mut self, entry: i64, print: &[u8]) {
        if let Some(k) = neardup::keys_from_bytes(print) {
            self.keys.insert(entry, &k);
        }
    }

    /// Indexes a copy just written under its keys, and keeps its text at hand.
    pub(super) fn add(&mut self, entry: i64, keys: &[u32], text: Arc<Text>) {
        self.keys.insert(entry, keys);
        self.remember(entry, text);
    }

    /// The copies sharing a key with `keys`, the index keys of `text` (the newest per
    /// key; see [`neardup::KeyIndex::candidates`]): to be confirmed.
    pub(super) fn candidate_ids(&self, text: &Text, keys: &[u32]) -> BTreeSet<i64> {
        self.keys.candidates(keys, &text.lead_keys(), PER_KEY)
    }

    /// A candidate as the plan compares it, from its stored row: its text is the one kept
    /// at hand, else taken from the row (and kept).
    pub(super) fn candidate(&mut self, entry: i64, row: CandidateRow) -> Candidate {
        let text = match self.text(entry) {
            Some(t) => t,
            None => {
                let body = dedup::body_words(row.content.as_deref(), row.summary.as_deref());
                let t = Arc::new(neardup::text(&row.title, &body));
                self.remember(entry, Arc::clone(&t));
                t
            }
        };
        Candidate {
            entry,
            story: row.story,
            feed: row.feed,
            published: from_ts(row.published),
            split: row.split,
            text,
        }
    }

    fn remember(&mut self, entry: i64, text: Arc<Text>) {
        if self.texts.len() >= TEXT_CACHE || self.texts_bytes >= TEXT_CACHE_BYTES {
            self.older = std::mem::take(&mut self.texts);
            self.texts_bytes = 0;
        }
        self.texts_bytes += text.heap_bytes();
        self.texts.insert(entry, text);
    }

    /// Drops the texts kept at hand: the entries they were taken from may have changed (a
    /// rolled-back transaction, whose ids go to other entries; another writer).
    pub(super) fn forget_texts(&mut self) {
        self.texts.clear();
        self.older.clear();
        self.texts_bytes = 0;
    }

    fn text(&self, entry: i64) -> Option<Arc<Text>> {
        self.texts
            .get(&entry)
            .or_else(|| self.older.get(&entry))
            .cloned()
    }
}

/// A candidate copy's row, as a store reads it (see [`NearIndex::candidate`]).
pub(super) struct CandidateRow {
    pub(super) story: i64,
    pub(super) feed: String,
    pub(super) published: i64,
    pub(super) split: bool,
    pub(super) title: String,
    pub(super) content: Option<String>,
    pub(super) summary: Option<String>,
}

/// What a batch of polls changed, for deriving its stories once at the end.
#[derive(Default)]
pub(super) struct Touched<'a> {
    /// Stories the batch created (not in the search index yet).
    pub(super) fresh: HashSet<i64>,
    /// Stories to derive again.
    pub(super) dirty: BTreeSet<i64>,
    /// The plain text of every entry the batch wrote, by entry id.
    pub(super) texts: HashMap<i64, &'a str>,
    /// Stories the batch created whose every copy it inserted, and nothing else changed:
    /// what their rows and copies hold is known, so deriving them reads nothing back (see
    /// [`Known`]).
    pub(super) known: HashMap<i64, Known<'a>>,
}

/// A story created in this batch whose every copy the batch inserted: its row as its INSERT
/// wrote it ([`first_row`]), and those copies, in the order of their ids (the order
/// [`load_copies`] reads them in). What is stored of the copies is made again from their
/// articles when the story is derived, not kept meanwhile: the batch's articles are in
/// memory until it commits anyway.
pub(super) struct Known<'a> {
    row: StoryRow,
    copies: Vec<Inserted<'a>>,
}

/// An article as [`insert_entry`] wrote it: as entry `id`, with these times, first seen `at`.
#[derive(Clone, Copy)]
struct Inserted<'a> {
    id: i64,
    article: &'a Article,
    dates: Dates,
    at: DateTime<Utc>,
}

impl Known<'_> {
    /// What [`load_copies`] reads of the story's entries.
    fn copies(&self) -> Vec<CopyFields> {
        self.copies
            .iter()
            .map(|c| inserted_copy(c.id, c.article, &c.dates, c.at))
            .collect()
    }
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
    /// The id the next entry inserted takes, once read ([`Ctx::next_entry_id`]).
    next_entry: Option<i64>,
}

impl Ctx<'_, '_> {
    /// The id the next entry inserted takes: one more than the largest (what SQLite gives a
    /// rowid), read once a poll. A story started by a new entry is inserted naming it, so
    /// that a story of one copy is written once, by its INSERT.
    fn next_entry_id(&mut self) -> Result<i64, StoreError> {
        if let Some(id) = self.next_entry {
            return Ok(id);
        }
        let id = self
            .tx
            .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM entries")?
            .query_row([], |r| r.get(0))?;
        self.next_entry = Some(id);
        Ok(id)
    }

    /// `story` is to be derived again, from what is stored: something other than an
    /// inserted copy changed it.
    fn dirty(&mut self, story: i64) {
        self.touched.known.remove(&story);
        self.inserted_into(story);
    }

    /// `story` is to be derived again: a copy was inserted into it (and, when the story is
    /// [`Known`], added to what is known of it).
    fn inserted_into(&mut self, story: i64) {
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
    // the reading the feed was last polled with, recorded anew (read after the feed's row
    // is written: a transaction that read first could not write after another's commit)
    let read_with: i64 = tx
        .prepare_cached("SELECT reading FROM feeds WHERE name = ?1")?
        .query_row([feed], |r| r.get(0))?;
    if read_with != plan::READING {
        tx.prepare_cached("UPDATE feeds SET reading = ?2 WHERE name = ?1")?
            .execute(params![feed, plan::READING])?;
    }
    let stored = load_stored(tx, feed)?;
    let tombstones = load_tombstones(tx, feed)?;
    let incoming: Vec<Incoming> = poll.articles.iter().map(Prepared::incoming).collect();
    let actions = plan::entries(
        feed,
        &incoming,
        &stored,
        &tombstones,
        settings,
        poll.update.at,
        read_with,
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
        next_entry: None,
    };
    let mut stats = ApplyStats::default();
    for (i, (prepared, action)) in poll.articles.iter().zip(actions).enumerate() {
        let body = Packed {
            text: prepared.article.content.as_deref(),
            ahead: poll.frames.as_ref().map(|f| f[i].as_deref()),
        };
        execute(&mut ctx, prepared, &body, action, &mut stats)?;
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
    body: &Packed,
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
            let placed = place(ctx, p, entry, &story_key, &dates)?;
            update_entry(ctx, p, body, entry, &placed, &dates, updates)?;
            // its new keys and text, so that copies arriving later find what it says now
            if let Some((text, keys)) = placed.text {
                ctx.index.borrow_mut().add(entry, keys, text);
            }
            ctx.touched.texts.insert(entry, &p.text.body);
            ctx.dirty(old_story);
            ctx.dirty(placed.story);
            stats.updated += 1;
        }
        EntryAction::Insert { story_key, dates } => {
            let id = ctx.next_entry_id()?;
            let placed = place(ctx, p, id, &story_key, &dates)?;
            insert_entry(ctx, p, body, id, &placed, &dates)?;
            ctx.next_entry = Some(id + 1);
            if let Some((text, keys)) = placed.text {
                ctx.index.borrow_mut().add(id, keys, text);
            }
            ctx.touched.texts.insert(id, &p.text.body);
            let copy = Inserted {
                id,
                article: &p.article,
                dates,
                at: ctx.at,
            };
            if let Some(row) = placed.started {
                let copies = vec![copy];
                ctx.touched
                    .known
                    .insert(placed.story, Known { row, copies });
            } else if let Some(known) = ctx.touched.known.get_mut(&placed.story) {
                known.copies.push(copy);
            }
            ctx.inserted_into(placed.story);
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
    body: &Packed,
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
            print = ?20, content_len = ?21
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
            body,
            to_json(&a.categories),
            a.image,
            a.language,
            p.text.hash,
            updates.0,
            updates.1,
            a.image_credit,
            joined_json(&placed.joined),
            placed.print,
            body.text_len()
        ],
    )?;
    Ok(())
}

/// Inserts a new article as entry `id` of `ctx.feed`.
fn insert_entry(
    ctx: &Ctx,
    p: &Prepared,
    body: &Packed,
    id: i64,
    placed: &Placed,
    dates: &Dates,
) -> Result<(), StoreError> {
    let a = &p.article;
    ctx.tx.prepare_cached("INSERT INTO entries (id, feed, entry_key, guid, story_id, title, link, canonical_url, authors,
            published, published_given, updated, summary, content, categories, image, language,
            first_seen, content_hash, image_credit, joined, print, content_len)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)")?.execute(
        params![
            id,
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
            body,
            to_json(&a.categories),
            a.image,
            a.language,
            ts(ctx.at),
            p.text.hash,
            a.image_credit,
            joined_json(&placed.joined),
            placed.print,
            body.text_len()
        ],
    )?;
    Ok(())
}

/// A time as the store keeps it (whole seconds): what reading it back gives.
fn as_stored(t: DateTime<Utc>) -> DateTime<Utc> {
    from_ts(ts(t))
}

/// What [`load_copies`] reads of an entry [`insert_entry`] wrote (as entry `id`, first
/// seen `at`).
fn inserted_copy(id: i64, a: &Article, dates: &Dates, at: DateTime<Utc>) -> CopyFields {
    let (published, updated) = (as_stored(dates.published), as_stored(dates.updated));
    CopyFields::of_article(id, a, Some(published), Some(updated), as_stored(at))
}

/// The row of a story started by an article that is (or will be) entry `entry`: derived
/// from that one copy, as deriving the story from what is stored gives while no other
/// copy joins it.
fn first_row(a: &Article, entry: i64, dates: &Dates, at: DateTime<Utc>) -> StoryRow {
    let copy = inserted_copy(entry, a, dates, at);
    dedup::derive_story(std::slice::from_ref(&copy)).expect("a story derived from one copy")
}

fn rekey_entry(tx: &Connection, id: i64, key: &str, a: &Article) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE entries SET entry_key = ?2, guid = ?3 WHERE id = ?1")?
        .execute(params![id, key, a.guid])?;
    Ok(())
}

pub(super) fn joined_json(j: &Joined) -> String {
    serde_json::to_string(j).unwrap_or_default()
}

/// Where an entry went, and what it is indexed under.
struct Placed<'a> {
    story: i64,
    existed: bool,
    /// The row written for the story it started, if it started one ([`first_row`]).
    started: Option<StoryRow>,
    joined: Joined,
    /// The stored index keys.
    print: Option<Vec<u8>>,
    /// Its text and index keys, to index once it has an id.
    text: Option<(Arc<Text>, &'a [u32])>,
}

/// Finds the story of the copy that is (or is about to be written as) entry `entry`: the
/// plan decides; this loads and writes. Merges the stories it bridges, records its key as
/// an alias of a story it joined, or starts a story.
fn place<'p>(
    ctx: &mut Ctx,
    p: &'p Prepared,
    entry: i64,
    story_key: &StoryKey,
    dates: &Dates,
) -> Result<Placed<'p>, StoreError> {
    let a = &p.article;
    let published = dates.published;
    let stored_key = story_key.as_stored();
    let keyed = story_by_key(ctx.tx, &stored_key)?;
    let near =
        ctx.settings.near_duplicates_for(ctx.feed) && !matches!(story_key, StoryKey::Split { .. });
    let text = near.then(|| Arc::clone(&p.text.near));
    let keys: &[u32] = if near { &p.text.keys } else { &[] };
    let candidates = match &text {
        Some(t) if !keys.is_empty() => candidates(ctx, t, keys)?,
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
    let (story, existed, joined, started) = match choice {
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
            (story, true, joined, None)
        }
        StoryChoice::Start { joined } => {
            // the story of its first copy, whole, naming the copy (its entry is written
            // next): when no other copy joins it in this batch, deriving it again changes
            // nothing
            let row = first_row(a, entry, dates, ctx.at);
            ctx.tx
                .prepare_cached(
                    "INSERT INTO stories (story_key, title, link, published, updated, authors,
                        categories, image, image_credit, language, first_seen, content_entry,
                        summary_entry)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?
                .execute(params![
                    stored_key,
                    row.title,
                    row.link,
                    ts(row.published),
                    ts(row.updated),
                    to_json(&row.authors),
                    to_json(&row.categories),
                    row.image,
                    row.image_credit,
                    row.language,
                    ts(row.first_seen),
                    row.content_from,
                    row.summary_from
                ])?;
            let id = ctx.tx.last_insert_rowid();
            ctx.touched.fresh.insert(id);
            (id, false, joined, Some(row))
        }
    };
    let print = (!keys.is_empty()).then(|| neardup::keys_to_bytes(keys));
    Ok(Placed {
        story,
        existed,
        started,
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
                Ok(Rejudged {
                    feed: r.get(0)?,
                    key: r.get(1)?,
                    story: r.get(2)?,
                    split: r.get(3)?,
                    published: r.get(4)?,
                    title: r.get(5)?,
                    content: body(r, 6)?,
                    summary: r.get(7)?,
                })
            },
        )
        .optional()?;
    let Some(row) = row else {
        return Ok(());
    };
    let mut touched = Touched {
        dirty: BTreeSet::from([row.story]),
        ..Touched::default()
    };
    let mut ctx = Ctx {
        tx,
        feed: &row.feed,
        at,
        settings,
        touched: &mut touched,
        changed: false,
        carried: HashSet::new(),
        index,
        next_entry: None,
    };
    if let Some((text, keys)) = row.text(settings) {
        ctx.carried = tx
            .prepare_cached("SELECT DISTINCT story_id FROM entries WHERE feed = ?1")?
            .query_map([&row.feed], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let found = candidates(&ctx, &text, &keys)?;
        for other in row.merged(&text, &ctx.carried, &found, settings) {
            merge_stories(&mut ctx, other, row.story)?;
        }
        tx.prepare_cached("UPDATE entries SET print = ?2 WHERE id = ?1")?
            .execute(params![entry, neardup::keys_to_bytes(&keys)])?;
        index.borrow_mut().add(entry, &keys, text);
    }
    refresh_touched(tx, &touched)
}

/// An entry whose body was replaced, as [`rejudge`] reads it.
pub(super) struct Rejudged {
    pub(super) feed: String,
    pub(super) key: String,
    pub(super) story: i64,
    pub(super) split: bool,
    pub(super) published: i64,
    pub(super) title: String,
    pub(super) content: Option<String>,
    pub(super) summary: Option<String>,
}

impl Rejudged {
    /// Its text and index keys now, when it takes part in near-duplicate matching (not
    /// split, its feed matched, something to index).
    pub(super) fn text(&self, settings: &StoreSettings) -> Option<(Arc<Text>, Vec<u32>)> {
        if self.split || !settings.near_duplicates_for(&self.feed) {
            return None;
        }
        let body = dedup::body_words(self.content.as_deref(), self.summary.as_deref());
        let text = Arc::new(neardup::text(&self.title, &body));
        let keys = text.keys();
        (!keys.is_empty()).then_some((text, keys))
    }

    /// The stories its new text matches among `found`, to merge into its own: the entry
    /// keeps its story (its key names it).
    pub(super) fn merged(
        &self,
        text: &Text,
        carried: &HashSet<i64>,
        found: &[Candidate],
        settings: &StoreSettings,
    ) -> Vec<i64> {
        let choice = plan::story(
            &StoryInput {
                feed: &self.feed,
                story_key: &StoryKey::Entry {
                    feed: self.feed.clone(),
                    key: self.key.clone(),
                },
                keyed: Some(self.story),
                published: from_ts(self.published),
                text: Some(text),
                carried,
            },
            found,
            settings,
        );
        match choice {
            StoryChoice::Existing { merge, .. } => merge,
            StoryChoice::Start { .. } => Vec::new(),
        }
    }
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

/// The copies sharing an index key with `keys` (those of `text`), with their texts.
fn candidates(ctx: &Ctx, text: &Text, keys: &[u32]) -> Result<Vec<Candidate>, StoreError> {
    let ids = ctx.index.borrow().candidate_ids(text, keys);
    let mut out = Vec::with_capacity(ids.len());
    let mut stmt = ctx.tx.prepare_cached(
        "SELECT story_id, feed, published, split, title, content, summary FROM entries WHERE id = ?1",
    )?;
    for id in ids {
        let row = stmt
            .query_row([id], |r| {
                Ok(CandidateRow {
                    story: r.get(0)?,
                    feed: r.get(1)?,
                    published: r.get(2)?,
                    split: r.get(3)?,
                    title: r.get(4)?,
                    content: body(r, 5)?,
                    summary: r.get(6)?,
                })
            })
            .optional()?;
        // the index only proposes: the copy must still exist
        if let Some(row) = row {
            out.push(ctx.index.borrow_mut().candidate(id, row));
        }
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
    ctx.touched.known.remove(&from);
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
    let limits = Retention::of(ctx.settings, ctx.at);
    let mut doomed: Vec<(i64, String, i64)> = Vec::new();
    let row = |r: &rusqlite::Row| -> rusqlite::Result<(i64, String, i64)> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    };
    if let Some(cutoff) = limits.first_seen_before {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT id, entry_key, story_id FROM entries WHERE feed = ?1 AND first_seen < ?2",
        )?;
        doomed.extend(
            stmt.query_map(params![ctx.feed, cutoff], row)?
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    if let Some(max) = limits.keep {
        let mut stmt = ctx.tx.prepare_cached(
            "SELECT id, entry_key, story_id FROM entries WHERE feed = ?1
             ORDER BY published DESC, id DESC LIMIT -1 OFFSET ?2",
        )?;
        doomed.extend(
            stmt.query_map(params![ctx.feed, max], row)?
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
    ctx.tx
        .prepare_cached("DELETE FROM tombstones WHERE feed = ?1 AND seen_at < ?2")?
        .execute(params![ctx.feed, limits.tombstones_before])?;
    Ok(doomed.len())
}

/// What retention keeps of a feed at a poll (times in unix seconds).
pub(super) struct Retention {
    /// Entries first seen before this go (`max_age`).
    pub(super) first_seen_before: Option<i64>,
    /// Entries beyond the newest this many go (`max_per_feed`).
    pub(super) keep: Option<i64>,
    /// Tombstones not seen in the feed since this go: the feed stopped listing them long
    /// ago, they are no longer needed.
    pub(super) tombstones_before: i64,
}

impl Retention {
    pub(super) fn of(settings: &StoreSettings, at: DateTime<Utc>) -> Retention {
        // a limit too large to subtract is no limit
        let before = |d: Duration| {
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| at.checked_sub_signed(d))
                .map_or(i64::MIN, ts)
        };
        Retention {
            first_seen_before: settings.max_age.map(before),
            keep: settings
                .max_per_feed
                .map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
            tombstones_before: before(
                settings.max_age.unwrap_or(Duration::from_secs(90 * 86400)) * 2,
            ),
        }
    }
}

/// Derives every story a batch touched again, once each.
fn refresh_touched(tx: &Connection, touched: &Touched) -> Result<(), StoreError> {
    for &story in &touched.dirty {
        let fresh = touched.fresh.contains(&story);
        let known = touched.known.get(&story);
        refresh(tx, story, fresh, known, &touched.texts, false)?;
    }
    Ok(())
}

/// Re-derives a story from its entries, or deletes it when none are left.
/// `fresh`: created in this transaction, so not in the search index yet.
pub(super) fn refresh_story(tx: &Connection, story: i64, fresh: bool) -> Result<(), StoreError> {
    // an entry's body may have changed in place (full text): its search text is taken again
    refresh(tx, story, fresh, None, &HashMap::new(), true)
}

/// Re-derives a story: its row is written when a field changed, its search entry when its
/// headline or body did (`reindex`: whatever changed). The search text of entries written
/// in this batch comes with them (`texts`); another entry's is read and taken again. A
/// [`Known`] story is derived from what the batch wrote of it, without reading it back.
fn refresh(
    tx: &Connection,
    story: i64,
    fresh: bool,
    known: Option<&Known<'_>>,
    texts: &HashMap<i64, &str>,
    reindex: bool,
) -> Result<(), StoreError> {
    #[cfg(test)]
    if let Some(k) = known {
        // every store test checks that what is known is what is stored
        assert_eq!(
            load_copies(tx, story)?,
            k.copies(),
            "the copies of story {story}"
        );
        assert_eq!(
            load_story_row(tx, story)?.as_ref(),
            Some(&k.row),
            "story {story}"
        );
    }
    let copies = match known {
        Some(k) => k.copies(),
        None => load_copies(tx, story)?,
    };
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
    // a story made in this transaction is written whole, not read back first, unless
    // what its INSERT wrote is known
    let read;
    let stored = match known {
        Some(k) => Some(&k.row),
        None if fresh => None,
        None => {
            read = load_story_row(tx, story)?;
            read.as_ref()
        }
    };
    let search = SearchBody::of(&copies, &row);
    if stored != Some(&row) {
        write_story_row(tx, story, &row, stored)?;
    }
    if search.rewrite(&row, stored, reindex || fresh, texts) {
        let body = match search.from {
            Some(e) => match texts.get(&e) {
                Some(text) => (*text).to_string(),
                None => stored_body_text(tx, e, search.content)?,
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

/// Where a story's search text takes its body from: the fullest copy's content, else the
/// summary the story shows.
pub(super) struct SearchBody {
    /// The entry, if any.
    pub(super) from: Option<i64>,
    /// Whether it is the entry's content (else its summary).
    pub(super) content: bool,
}

impl SearchBody {
    pub(super) fn of(copies: &[CopyFields], row: &StoryRow) -> SearchBody {
        let content = copies
            .iter()
            .any(|c| c.id == row.content_from && c.content_len > 0);
        SearchBody {
            from: if content {
                Some(row.content_from)
            } else {
                row.summary_from
            },
            content,
        }
    }

    /// Whether the story's search entry is to be written again: `always` (a new story, or
    /// any change asked for), or its headline or the entries its text comes from changed,
    /// or its body comes from an entry written now (`written`, by entry id).
    pub(super) fn rewrite(
        &self,
        row: &StoryRow,
        stored: Option<&StoryRow>,
        always: bool,
        written: &HashMap<i64, &str>,
    ) -> bool {
        always
            || stored.is_none_or(|s| {
                s.title != row.title
                    || s.content_from != row.content_from
                    || s.summary_from != row.summary_from
            })
            || self.from.is_some_and(|e| written.contains_key(&e))
    }
}

/// What deriving a story needs of its entries: their fields, not their bodies.
fn load_copies(tx: &Connection, story: i64) -> Result<Vec<CopyFields>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, title, link, canonical_url, authors, published, updated,
                coalesce(content_len, octet_length(content), 0), summary IS NOT NULL, categories, image,
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

/// Writes a story's row: only the copies it names when nothing else changed since it was
/// `stored` (an UPDATE that leaves the indexed columns out leaves the indexes alone).
fn write_story_row(
    tx: &Connection,
    story: i64,
    s: &StoryRow,
    stored: Option<&StoryRow>,
) -> Result<(), StoreError> {
    if stored.is_some_and(|old| old.differs_only_in_copies(s)) {
        tx.prepare_cached(
            "UPDATE stories SET content_entry = ?2, summary_entry = ?3 WHERE id = ?1",
        )?
        .execute(params![story, s.content_from, s.summary_from])?;
        return Ok(());
    }
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
        .query_row([entry], |r| Ok((body(r, 0)?, r.get(1)?)))
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
