//! Executing a plan: one feed's poll in a transaction, as the SQLite store does it (see its
//! apply.rs). The decisions are the same pure code ([`crate::plan`], [`dedup::derive_story`],
//! and the store's shared [`NearIndex`], [`SearchBody`], [`Retention`], [`Rejudged`]); this
//! module loads what they need and writes what they decided.
//!
//! Several instances may write to one database. Each poll's transaction first takes the
//! writers' advisory lock ([`super::lock::WRITER`]), so that the dedup reads see every copy
//! the others committed, and counts itself in `store_meta` (`writes`): an instance that finds
//! the count moved by more than its own writes knows another wrote in between, reads the
//! keys of the entries added since it last looked (ids come from one sequence, taken under
//! the lock, so `id > last_seen` is exactly those) and of the entries whose text another
//! rewrote in place (numbered by the `entry_reprints` sequence, `reprint > last_reprint`),
//! and drops the texts it kept at hand (the other may have changed them). The story's search text is its `search` column, written
//! with the row.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::Cached;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use futures_util::TryStreamExt;
use tokio_postgres::types::ToSql;

use super::super::apply::{
    CandidateRow, NearIndex, Rejudged, Retention, SearchBody, Touched, joined_json,
};
use super::super::{from_json, to_json};
use super::{PgStore, from_ts, lock, ts};
use crate::article::{Article, FeedMeta};
use crate::dedup::{self, CopyFields, Prepared, StoryRow};
use crate::neardup::{self, Text};
use crate::plan::{
    self, Candidate, Dates, EntryAction, Incoming, Joined, StoryChoice, StoryInput, StoryKey,
    Unchanged,
};
use crate::store::{ApplyStats, FeedUpdate, Handover, StoreError, StoreSettings};

/// The writer's state between polls: the near-duplicate index, and how far it has read the
/// entries other instances wrote.
#[derive(Default)]
pub(super) struct WriterState {
    index: NearIndex,
    /// The highest entry id the index has taken in (indexed, or found to have no keys).
    last_seen: i64,
    /// The highest in-place rewrite (`entries.reprint`) the index has taken in.
    last_reprint: i64,
    /// The writers' count (`store_meta.writes`) after this instance's last write; `None`
    /// when it is not known what happened since (a failed write, near-duplicates off).
    writes: Option<i64>,
}

impl WriterState {
    /// Takes the writers' lock for transaction `tx` and brings the index up to date with
    /// what other instances wrote (or loads it afresh, once a day).
    async fn enter(
        &mut self,
        tx: &impl GenericClient,
        settings: &StoreSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        lock_writers(tx).await?;
        let count: i64 = tx
            .q1(
                "INSERT INTO store_meta (key, value) VALUES ('writes', 1)
                 ON CONFLICT (key) DO UPDATE SET value = store_meta.value + 1
                 RETURNING value",
                &[],
            )
            .await?
            .get(0);
        let alone = self.writes.is_some_and(|w| w + 1 == count);
        self.writes = None;
        if !settings.near_duplicates {
            // the index is not used: it catches up when near-duplicates are on again
            return Ok(());
        }
        if self.index.due(now) {
            self.load(tx, settings, now).await?;
        } else if !alone {
            self.catch_up(tx).await?;
        }
        self.writes = Some(count);
        Ok(())
    }

    /// Loads the index afresh from the stored keys of the copies published in the last two
    /// windows (streamed: it is every recent entry).
    async fn load(
        &mut self,
        tx: &impl GenericClient,
        settings: &StoreSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let top = max_entry(tx, 0).await?;
        let since = NearIndex::since(settings, now);
        let mut fresh = NearIndex::fresh(now);
        let rows = tx
            .query_raw(
                "SELECT id, print FROM entries
                 WHERE published >= $1 AND id <= $2 AND print IS NOT NULL AND NOT split
                 ORDER BY id",
                [&since as &(dyn ToSql + Sync), &top],
            )
            .await?;
        futures_util::pin_mut!(rows);
        while let Some(row) = rows.try_next().await? {
            fresh.add_stored(row.get(0), row.get(1));
        }
        self.index = fresh;
        self.last_seen = top;
        self.last_reprint = max_reprint(tx).await?;
        Ok(())
    }

    /// Indexes the entries other instances added since this one last looked, and forgets
    /// the texts kept at hand (another instance may have changed them in place).
    async fn catch_up(&mut self, tx: &impl GenericClient) -> Result<(), StoreError> {
        let top = max_entry(tx, self.last_seen).await?;
        let rows = tx
            .q(
                "SELECT id, print FROM entries
                 WHERE id > $1 AND id <= $2 AND print IS NOT NULL AND NOT split ORDER BY id",
                &[&self.last_seen, &top],
            )
            .await?;
        for row in rows {
            self.index.add_stored(row.get(0), row.get(1));
        }
        // entries rewritten in place: their new keys (the old ones only propose candidates
        // that the comparison then turns down)
        let rows = tx
            .q(
                "SELECT id, print, reprint FROM entries
                 WHERE reprint > $1 AND print IS NOT NULL AND NOT split ORDER BY reprint",
                &[&self.last_reprint],
            )
            .await?;
        for row in rows {
            self.index.add_stored(row.get(0), row.get(1));
            self.last_reprint = self.last_reprint.max(row.get(2));
        }
        self.index.forget_texts();
        self.last_seen = top;
        Ok(())
    }

    /// A write failed: its entries' ids will not come back, but what happened since is not
    /// known.
    fn lost(&mut self) {
        self.writes = None;
        self.index.forget_texts();
    }

    /// Indexes an entry this instance wrote.
    fn add(&mut self, entry: i64, keys: &[u32], text: Arc<Text>) {
        self.index.add(entry, keys, text);
    }
}

/// Takes the writers' lock for the rest of transaction `tx`: whoever changes which entries
/// make a story (polls, full text, split, removed feeds) takes it first, so that each sees
/// what the others committed (the lock is always taken before any row lock).
pub(super) async fn lock_writers(tx: &impl GenericClient) -> Result<(), StoreError> {
    tx.x(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&lock::CLASS, &lock::WRITER],
    )
    .await?;
    Ok(())
}

/// The highest entry id, at least `floor`.
/// The number of the last in-place rewrite of an entry's keys (0: none yet).
async fn max_reprint(tx: &impl GenericClient) -> Result<i64, StoreError> {
    Ok(tx
        .q1("SELECT coalesce(max(reprint), 0) FROM entries", &[])
        .await?
        .get(0))
}

async fn max_entry(tx: &impl GenericClient, floor: i64) -> Result<i64, StoreError> {
    Ok(tx
        .q1(
            "SELECT greatest(coalesce(max(id), 0), $1) FROM entries",
            &[&floor],
        )
        .await?
        .get(0))
}

impl PgStore {
    /// Stores one successful poll of `feed` in one transaction: its new state, and every
    /// article, deduplicated into stories as the plan decides.
    pub(in crate::store) async fn apply_poll(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: &[Article],
    ) -> Result<ApplyStats, StoreError> {
        let prepared = articles.iter().cloned().map(Prepared::new).collect();
        self.apply_prepared(feed, u, meta, prepared, Handover::default())
            .await
    }

    /// [`PgStore::apply_poll`] for articles whose text was computed where they were parsed;
    /// the handover's slot is dropped once this poll has the writer (PostgreSQL packs
    /// nothing: it compresses long values itself).
    pub(in crate::store) async fn apply_prepared(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: Vec<Prepared>,
        handover: Handover,
    ) -> Result<ApplyStats, StoreError> {
        let settings = self.settings();
        let mut state = self.writer.lock().await;
        drop(handover);
        let written = self
            .store_poll(&mut state, &settings, feed, u, meta, &articles)
            .await;
        if written.is_err() {
            state.lost();
        }
        written
    }

    async fn store_poll(
        &self,
        state: &mut WriterState,
        settings: &StoreSettings,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: &[Prepared],
    ) -> Result<ApplyStats, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await?;
        state.enter(&tx, settings, Utc::now()).await?;
        let stats = if self.fence(&tx, feed).await? {
            let read_with = record_success(&tx, feed, u, meta).await?;
            apply_one(&tx, state, feed, u.at, read_with, articles, settings).await?
        } else {
            // the feed was removed from the config while it was being fetched: store nothing
            ApplyStats::default()
        };
        tx.commit().await?;
        Ok(stats)
    }

    /// Records what came of one entry's page; with an article, the entry takes it as its
    /// content, its text is compared again with the other copies ([`rejudge`]) and its story
    /// is derived again. Returns whether the merged feed changed.
    pub(super) async fn write_full_text(
        &self,
        r: &crate::store::FullTextResult,
    ) -> Result<bool, StoreError> {
        let Some(article) = &r.article else {
            let mut client = self.conn().await?;
            let tx = client.transaction().await?;
            record_outcome(&tx, r).await?;
            tx.commit().await?;
            return Ok(false);
        };
        let settings = self.settings();
        let mut state = self.writer.lock().await;
        let written = async {
            let mut client = self.conn().await?;
            let tx = client.transaction().await?;
            state.enter(&tx, &settings, r.at).await?;
            if !record_outcome(&tx, r).await? {
                tx.commit().await?;
                return Ok(false);
            }
            tx.x(
                "UPDATE entries SET content = $2, summary = coalesce(summary, $3),
                    image = coalesce(image, $4)
                 WHERE id = $1",
                &[
                    &r.entry_id,
                    &article.content,
                    &article.summary,
                    &article.image,
                ],
            )
            .await?;
            // its new text may show it to be another copy's story
            rejudge(&tx, &mut state, r.entry_id, &settings, r.at).await?;
            super::stories::touch(&tx, r.at).await?;
            tx.commit().await?;
            Ok(true)
        }
        .await;
        if written.is_err() {
            state.lost();
        }
        written
    }
}

/// Records the outcome of an entry's page, if the entry is still the version it was fetched
/// for (false: it changed or went since; its new version gets its own fetch).
async fn record_outcome(
    tx: &impl GenericClient,
    r: &crate::store::FullTextResult,
) -> Result<bool, StoreError> {
    let current = tx
        .qopt(
            "SELECT content_hash FROM entries WHERE id = $1",
            &[&r.entry_id],
        )
        .await?;
    if current.is_none_or(|row| row.get::<_, String>(0) != r.content_hash) {
        return Ok(false);
    }
    tx.x(
        "INSERT INTO fulltext (entry_id, feed, content_hash, outcome, detail, attempts, retry_at, at)
         SELECT $1, feed, $2, $3, $4, 1, $5, $6 FROM entries WHERE id = $1
         ON CONFLICT (entry_id) DO UPDATE SET
            attempts = CASE WHEN fulltext.content_hash = $2 THEN fulltext.attempts + 1 ELSE 1 END,
            content_hash = $2, outcome = $3, detail = $4, retry_at = $5, at = $6",
        &[
            &r.entry_id,
            &r.content_hash,
            &r.outcome,
            &r.detail,
            &r.retry_at.map(ts),
            &ts(r.at),
        ],
    )
    .await?;
    Ok(true)
}

/// Records the poll's feed state (the feed is known to be stored: see `fence`).
async fn record_success(
    tx: &impl GenericClient,
    feed: &str,
    u: &FeedUpdate,
    meta: &FeedMeta,
) -> Result<i64, StoreError> {
    // the reading the feed was last polled with, recorded anew below
    let read_with: i64 = tx
        .q("SELECT reading FROM feeds WHERE name = $1", &[&feed])
        .await?
        .first()
        .map_or(plan::READING, |r| r.get(0));
    tx.x(
        "UPDATE feeds SET etag = $2, last_modified = $3, last_poll = $4, last_success = $4,
            last_status = $5,
            last_outcome = CASE WHEN $12::text IS NULL THEN 'ok' ELSE 'recovered' END,
            last_error = $12, consecutive_failures = 0,
            title = $6, site_url = $7, next_attempt = $8,
            moved_to = coalesce($9, moved_to), body_hash = $10, ttl_secs = $11, gone = false,
            reading = $13
         WHERE name = $1",
        &[
            &feed,
            &u.validators.etag,
            &u.validators.last_modified,
            &ts(u.at),
            &i64::from(u.status),
            &meta.title,
            &meta.site_url,
            &u.next_attempt.map(ts),
            &u.moved_to,
            &u.body_hash,
            &u.ttl
                .map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
            &u.recovered,
            &plan::READING,
        ],
    )
    .await?;
    Ok(read_with)
}

/// What every article of one poll is stored with.
struct Ctx<'a, 'b, C> {
    tx: &'a C,
    feed: &'a str,
    at: DateTime<Utc>,
    settings: &'a StoreSettings,
    /// What the poll changed so far.
    touched: Touched<'b>,
    /// Whether this poll changed what the merged feed shows.
    changed: bool,
    /// Stories this feed carries.
    carried: HashSet<i64>,
    state: &'a mut WriterState,
}

impl<C> Ctx<'_, '_, C> {
    fn dirty(&mut self, story: i64) {
        self.touched.dirty.insert(story);
        self.changed = true;
    }
}

/// Stores one feed's articles (new, updated, merged into stories) and retention, then
/// derives each story it touched once.
async fn apply_one<C: GenericClient>(
    tx: &C,
    state: &mut WriterState,
    feed: &str,
    at: DateTime<Utc>,
    read_with: i64,
    articles: &[Prepared],
    settings: &StoreSettings,
) -> Result<ApplyStats, StoreError> {
    let stored = load_stored(tx, feed).await?;
    let tombstones: HashSet<String> = tx
        .q("SELECT entry_key FROM tombstones WHERE feed = $1", &[&feed])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let incoming: Vec<Incoming> = articles.iter().map(Prepared::incoming).collect();
    let actions = plan::entries(
        feed,
        &incoming,
        &stored,
        &tombstones,
        settings,
        at,
        read_with,
    );
    let mut ctx = Ctx {
        tx,
        feed,
        at,
        settings,
        touched: Touched::default(),
        changed: false,
        carried: stored.iter().map(|s| s.story).collect(),
        state,
    };
    let mut stats = ApplyStats::default();
    for (prepared, action) in articles.iter().zip(actions) {
        execute(&mut ctx, prepared, action, &mut stats).await?;
    }
    stats.pruned = prune(&mut ctx).await?;
    refresh_touched(tx, &ctx.touched).await?;
    if ctx.changed {
        super::stories::touch(tx, at).await?;
    }
    Ok(stats)
}

/// The feed's stored entries, as the plan needs them: one query.
async fn load_stored(tx: &impl GenericClient, feed: &str) -> Result<Vec<plan::Stored>, StoreError> {
    let rows = tx
        .q(
            "SELECT id, entry_key, story_id, content_hash, canonical_url, published,
                    published_given, updated, updates_day, updates_count, split
             FROM entries WHERE feed = $1",
            &[&feed],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| plan::Stored {
            id: r.get(0),
            key: r.get(1),
            story: r.get(2),
            hash: r.get(3),
            canonical_url: r.get(4),
            published: from_ts(r.get(5)),
            published_given: r.get(6),
            updated: from_ts(r.get(7)),
            updates_day: r.get(8),
            updates_count: u32::try_from(r.get::<_, i64>(9)).unwrap_or(u32::MAX),
            split: r.get(10),
        })
        .collect())
}

/// Carries out the plan's action for one article.
async fn execute<'b, C: GenericClient>(
    ctx: &mut Ctx<'_, 'b, C>,
    p: &'b Prepared,
    action: EntryAction,
    stats: &mut ApplyStats,
) -> Result<(), StoreError> {
    match action {
        EntryAction::Unchanged { why, rekey } => {
            let key = p.article.key.as_stored();
            if why == Unchanged::Tombstone {
                // pruned, but still listed: keep it pruned
                ctx.tx
                    .x(
                        "UPDATE tombstones SET seen_at = $3 WHERE feed = $1 AND entry_key = $2",
                        &[&ctx.feed, &key, &ts(ctx.at)],
                    )
                    .await?;
            }
            if let Some(id) = rekey {
                rekey_entry(ctx.tx, id, &key, &p.article).await?;
            }
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
                rekey_entry(ctx.tx, entry, &p.article.key.as_stored(), &p.article).await?;
            }
            let placed = place(ctx, p, &story_key, dates.published).await?;
            let reprint = update_entry(ctx.tx, p, entry, &placed, &dates, updates).await?;
            ctx.state.last_reprint = ctx.state.last_reprint.max(reprint);
            // its new keys and text, so that copies arriving later find what it says now
            if let Some((text, keys)) = placed.text {
                ctx.state.add(entry, keys, text);
            }
            ctx.touched.texts.insert(entry, &p.text.body);
            ctx.dirty(old_story);
            ctx.dirty(placed.story);
            stats.updated += 1;
        }
        EntryAction::Insert { story_key, dates } => {
            let placed = place(ctx, p, &story_key, dates.published).await?;
            let id = insert_entry(ctx, p, &placed, &dates).await?;
            ctx.state.last_seen = ctx.state.last_seen.max(id);
            if let Some((text, keys)) = placed.text {
                ctx.state.add(id, keys, text);
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

/// Writes a changed article over its stored entry; returns the rewrite's number (see
/// `entries.reprint`).
async fn update_entry(
    tx: &impl GenericClient,
    p: &Prepared,
    entry: i64,
    placed: &Placed<'_>,
    dates: &Dates,
    updates: (i64, u32),
) -> Result<i64, StoreError> {
    let a = &p.article;
    let row = tx
        .q1(
            "UPDATE entries SET story_id = $2, title = $3, link = $4, canonical_url = $5,
            authors = $6, published = $7, published_given = $8, updated = $9, summary = $10,
            content = $11, categories = $12, image = $13, language = $14, content_hash = $15,
            updates_day = $16, updates_count = $17, image_credit = $18, joined = $19,
            print = $20, reprint = nextval('entry_reprints')
         WHERE id = $1
         RETURNING reprint",
            &[
                &entry,
                &placed.story,
                &a.title,
                &a.link,
                &a.canonical_url,
                &to_json(&a.authors),
                &ts(dates.published),
                &dates.published_given,
                &ts(dates.updated),
                &a.summary,
                &a.content,
                &to_json(&a.categories),
                &a.image,
                &a.language,
                &p.text.hash,
                &updates.0,
                &i64::from(updates.1),
                &a.image_credit,
                &joined_json(&placed.joined),
                &placed.print,
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// Inserts a new article as an entry of `ctx.feed`; returns its id.
async fn insert_entry<C: GenericClient>(
    ctx: &Ctx<'_, '_, C>,
    p: &Prepared,
    placed: &Placed<'_>,
    dates: &Dates,
) -> Result<i64, StoreError> {
    let a = &p.article;
    let row = ctx
        .tx
        .q1(
            "INSERT INTO entries (feed, entry_key, guid, story_id, title, link, canonical_url,
                authors, published, published_given, updated, summary, content, categories,
                image, language, first_seen, content_hash, image_credit, joined, print)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, $19, $20, $21)
             RETURNING id",
            &[
                &ctx.feed,
                &a.key.as_stored(),
                &a.guid,
                &placed.story,
                &a.title,
                &a.link,
                &a.canonical_url,
                &to_json(&a.authors),
                &ts(dates.published),
                &dates.published_given,
                &ts(dates.updated),
                &a.summary,
                &a.content,
                &to_json(&a.categories),
                &a.image,
                &a.language,
                &ts(ctx.at),
                &p.text.hash,
                &a.image_credit,
                &joined_json(&placed.joined),
                &placed.print,
            ],
        )
        .await?;
    Ok(row.get(0))
}

async fn rekey_entry(
    tx: &impl GenericClient,
    id: i64,
    key: &str,
    a: &Article,
) -> Result<(), StoreError> {
    tx.x(
        "UPDATE entries SET entry_key = $2, guid = $3 WHERE id = $1",
        &[&id, &key, &a.guid],
    )
    .await?;
    Ok(())
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
async fn place<'p, C: GenericClient>(
    ctx: &mut Ctx<'_, '_, C>,
    p: &'p Prepared,
    story_key: &StoryKey,
    published: DateTime<Utc>,
) -> Result<Placed<'p>, StoreError> {
    let stored_key = story_key.as_stored();
    let keyed = story_by_key(ctx.tx, &stored_key).await?;
    let near =
        ctx.settings.near_duplicates_for(ctx.feed) && !matches!(story_key, StoryKey::Split { .. });
    let text = near.then(|| Arc::clone(&p.text.near));
    let keys: &[u32] = if near { &p.text.keys } else { &[] };
    let found = match &text {
        Some(t) if !keys.is_empty() => candidates(ctx.tx, ctx.state, t, keys).await?,
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
        &found,
        ctx.settings,
    );
    let (story, existed, joined) = match choice {
        StoryChoice::Existing {
            story,
            joined,
            merge,
        } => {
            for other in merge {
                merge_stories(ctx, other, story).await?;
            }
            if keyed.is_none() {
                ctx.tx
                    .x(
                        "INSERT INTO story_aliases (story_key, story_id) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING",
                        &[&stored_key, &story],
                    )
                    .await?;
            }
            (story, true, joined)
        }
        StoryChoice::Start { joined } => {
            let id: i64 = ctx
                .tx
                .q1(
                    "INSERT INTO stories (story_key, title, published, updated, first_seen)
                     VALUES ($1, $2, $3, $3, $4) RETURNING id",
                    &[&stored_key, &p.article.title, &ts(published), &ts(ctx.at)],
                )
                .await?
                .get(0);
            ctx.touched.fresh.insert(id);
            (id, false, joined)
        }
    };
    Ok(Placed {
        story,
        existed,
        joined,
        print: (!keys.is_empty()).then(|| neardup::keys_to_bytes(keys)),
        text: text.filter(|_| !keys.is_empty()).map(|t| (t, keys)),
    })
}

/// The story a key names: its own, or the one it was merged into.
async fn story_by_key(tx: &impl GenericClient, key: &str) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .q1(
            "SELECT coalesce((SELECT id FROM stories WHERE story_key = $1),
                             (SELECT story_id FROM story_aliases WHERE story_key = $1))",
            &[&key],
        )
        .await?
        .get(0))
}

/// The copies sharing an index key with `keys` (those of `text`), with their texts: one
/// query.
async fn candidates(
    tx: &impl GenericClient,
    state: &mut WriterState,
    text: &Text,
    keys: &[u32],
) -> Result<Vec<Candidate>, StoreError> {
    let ids: Vec<i64> = state.index.candidate_ids(text, keys).into_iter().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // the index only proposes: the copy must still exist
    let rows = tx
        .q(
            "SELECT id, story_id, feed, published, split, title, content, summary
             FROM entries WHERE id = ANY($1) ORDER BY id",
            &[&ids],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let row = CandidateRow {
                story: r.get(1),
                feed: r.get(2),
                published: r.get(3),
                split: r.get(4),
                title: r.get(5),
                content: r.get(6),
                summary: r.get(7),
            };
            state.index.candidate(r.get(0), row)
        })
        .collect())
}

/// Makes `from` part of `into`: its entries and keys move, and it goes (its search text
/// with it).
async fn merge_stories<C: GenericClient>(
    ctx: &mut Ctx<'_, '_, C>,
    from: i64,
    into: i64,
) -> Result<(), StoreError> {
    let tx = ctx.tx;
    tx.x(
        "UPDATE entries SET story_id = $2 WHERE story_id = $1",
        &[&from, &into],
    )
    .await?;
    tx.x(
        "INSERT INTO story_aliases (story_key, story_id)
         SELECT story_key, $2 FROM stories WHERE id = $1
         ON CONFLICT DO NOTHING",
        &[&from, &into],
    )
    .await?;
    tx.x(
        "UPDATE story_aliases SET story_id = $2 WHERE story_id = $1",
        &[&from, &into],
    )
    .await?;
    tx.x("DELETE FROM stories WHERE id = $1", &[&from]).await?;
    ctx.touched.fresh.remove(&from);
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
async fn prune<C: GenericClient>(ctx: &mut Ctx<'_, '_, C>) -> Result<usize, StoreError> {
    let limits = Retention::of(ctx.settings, ctx.at);
    let mut doomed: Vec<(i64, String, i64)> = Vec::new();
    let row = |r: &tokio_postgres::Row| (r.get(0), r.get(1), r.get(2));
    if let Some(cutoff) = limits.first_seen_before {
        let rows = ctx
            .tx
            .q(
                "SELECT id, entry_key, story_id FROM entries WHERE feed = $1 AND first_seen < $2",
                &[&ctx.feed, &cutoff],
            )
            .await?;
        doomed.extend(rows.iter().map(row));
    }
    if let Some(keep) = limits.keep {
        let rows = ctx
            .tx
            .q(
                "SELECT id, entry_key, story_id FROM entries WHERE feed = $1
                 ORDER BY published DESC, id DESC OFFSET $2",
                &[&ctx.feed, &keep],
            )
            .await?;
        doomed.extend(rows.iter().map(row));
    }
    doomed.sort();
    doomed.dedup();
    if !doomed.is_empty() {
        let ids: Vec<i64> = doomed.iter().map(|d| d.0).collect();
        let keys: Vec<&str> = doomed.iter().map(|d| d.1.as_str()).collect();
        ctx.tx
            .x(
                "INSERT INTO tombstones (feed, entry_key, seen_at)
                 SELECT $1, k, $3 FROM unnest($2::text[]) AS k
                 ON CONFLICT (feed, entry_key) DO UPDATE SET seen_at = excluded.seen_at",
                &[&ctx.feed, &keys, &ts(ctx.at)],
            )
            .await?;
        ctx.tx
            .x("DELETE FROM entries WHERE id = ANY($1)", &[&ids])
            .await?;
        for (_, _, story) in &doomed {
            ctx.dirty(*story);
        }
    }
    ctx.tx
        .x(
            "DELETE FROM tombstones WHERE feed = $1 AND seen_at < $2",
            &[&ctx.feed, &limits.tombstones_before],
        )
        .await?;
    Ok(doomed.len())
}

/// An entry whose body was replaced (its article page was extracted): its text and index
/// keys are taken again, and its story is chosen again as for an updated copy (see the
/// SQLite store's `rejudge`).
async fn rejudge(
    tx: &impl GenericClient,
    state: &mut WriterState,
    entry: i64,
    settings: &StoreSettings,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = tx
        .qopt(
            "SELECT feed, entry_key, story_id, split, published, title, content, summary
             FROM entries WHERE id = $1",
            &[&entry],
        )
        .await?;
    let Some(r) = row else {
        return Ok(());
    };
    let row = Rejudged {
        feed: r.get(0),
        key: r.get(1),
        story: r.get(2),
        split: r.get(3),
        published: r.get(4),
        title: r.get(5),
        content: r.get(6),
        summary: r.get(7),
    };
    let mut ctx = Ctx {
        tx,
        feed: &row.feed,
        at,
        settings,
        touched: Touched {
            dirty: BTreeSet::from([row.story]),
            ..Touched::default()
        },
        changed: false,
        carried: HashSet::new(),
        state,
    };
    if let Some((text, keys)) = row.text(settings) {
        ctx.carried = tx
            .q(
                "SELECT DISTINCT story_id FROM entries WHERE feed = $1",
                &[&row.feed],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let found = candidates(tx, ctx.state, &text, &keys).await?;
        for other in row.merged(&text, &ctx.carried, &found, settings) {
            merge_stories(&mut ctx, other, row.story).await?;
        }
        let reprint: i64 = tx
            .q1(
                "UPDATE entries SET print = $2, reprint = nextval('entry_reprints') WHERE id = $1
                 RETURNING reprint",
                &[&entry, &neardup::keys_to_bytes(&keys)],
            )
            .await?
            .get(0);
        ctx.state.last_reprint = ctx.state.last_reprint.max(reprint);
        ctx.state.add(entry, &keys, text);
    }
    refresh_touched(tx, &ctx.touched).await
}

/// Derives every story a poll touched again, once each.
async fn refresh_touched(tx: &impl GenericClient, touched: &Touched<'_>) -> Result<(), StoreError> {
    for &story in &touched.dirty {
        let fresh = touched.fresh.contains(&story);
        refresh(tx, story, fresh, &touched.texts, false).await?;
    }
    Ok(())
}

/// Re-derives a story from its entries (its row and its search text), or deletes it when
/// none are left. For the other writers of the store (split, rules, removed feeds); the
/// caller holds the writers' lock.
pub(super) async fn refresh_story(
    tx: &impl deadpool_postgres::GenericClient,
    story: i64,
) -> Result<(), StoreError> {
    // an entry's body may have changed in place (full text): its search text is taken again
    refresh(tx, story, false, &HashMap::new(), true).await
}

/// Re-derives a story: its row is written when a field changed, its search text when its
/// headline or body did (`reindex`: whatever changed). The search text of entries written
/// in this poll comes with them (`texts`); another entry's is read and taken again.
async fn refresh(
    tx: &impl GenericClient,
    story: i64,
    fresh: bool,
    texts: &HashMap<i64, &str>,
    reindex: bool,
) -> Result<(), StoreError> {
    let copies = load_copies(tx, story).await?;
    let Some(row) = dedup::derive_story(&copies) else {
        tx.x("DELETE FROM stories WHERE id = $1", &[&story]).await?;
        return Ok(());
    };
    let stored = load_story_row(tx, story).await?;
    let search = SearchBody::of(&copies, &row);
    if stored.as_ref() != Some(&row) {
        write_story_row(tx, story, &row).await?;
    }
    if search.rewrite(&row, stored.as_ref(), reindex || fresh, texts) {
        let body = match search.from {
            Some(e) => match texts.get(&e) {
                Some(text) => (*text).to_string(),
                None => stored_body_text(tx, e, search.content).await?,
            },
            None => String::new(),
        };
        super::set_search(tx, story, &row.title, &body).await?;
    }
    Ok(())
}

/// What deriving a story needs of its entries: their fields, not their bodies.
async fn load_copies(tx: &impl GenericClient, story: i64) -> Result<Vec<CopyFields>, StoreError> {
    let rows = tx
        .q(
            "SELECT id, title, link, canonical_url, authors, published, updated,
                    coalesce(octet_length(content), 0)::bigint, summary IS NOT NULL, categories,
                    image, image_credit, language, first_seen
             FROM entries WHERE story_id = $1",
            &[&story],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| CopyFields {
            id: r.get(0),
            title: r.get(1),
            link: r.get(2),
            canonical_url: r.get(3),
            authors: from_json(r.get(4)),
            published: Some(from_ts(r.get(5))),
            updated: Some(from_ts(r.get(6))),
            content_len: usize::try_from(r.get::<_, i64>(7)).unwrap_or(0),
            has_summary: r.get(8),
            categories: from_json(r.get(9)),
            image: r.get(10),
            image_credit: r.get(11),
            language: r.get(12),
            first_seen: from_ts(r.get(13)),
        })
        .collect())
}

/// A story's row as stored, if it is.
async fn load_story_row(
    tx: &impl GenericClient,
    story: i64,
) -> Result<Option<StoryRow>, StoreError> {
    let row = tx
        .qopt(
            "SELECT title, link, published, updated, content_entry, summary_entry, authors,
                    categories, image, image_credit, language, first_seen
             FROM stories WHERE id = $1",
            &[&story],
        )
        .await?;
    Ok(row.map(|r| StoryRow {
        title: r.get(0),
        link: r.get(1),
        published: from_ts(r.get(2)),
        updated: from_ts(r.get(3)),
        // a story not derived yet names no entry
        content_from: r.get::<_, Option<i64>>(4).unwrap_or(-1),
        summary_from: r.get(5),
        authors: from_json(r.get(6)),
        categories: from_json(r.get(7)),
        image: r.get(8),
        image_credit: r.get(9),
        language: r.get(10),
        first_seen: from_ts(r.get(11)),
    }))
}

async fn write_story_row(
    tx: &impl GenericClient,
    story: i64,
    s: &StoryRow,
) -> Result<(), StoreError> {
    tx.x(
        "UPDATE stories SET title = $2, link = $3, published = $4, updated = $5,
            content_entry = $6, summary_entry = $7, authors = $8, categories = $9, image = $10,
            language = $11, first_seen = $12, image_credit = $13
         WHERE id = $1",
        &[
            &story,
            &s.title,
            &s.link,
            &ts(s.published),
            &ts(s.updated),
            &s.content_from,
            &s.summary_from,
            &to_json(&s.authors),
            &to_json(&s.categories),
            &s.image,
            &s.language,
            &ts(s.first_seen),
            &s.image_credit,
        ],
    )
    .await?;
    Ok(())
}

/// The search text of a stored entry's body (its content's words, else its summary).
async fn stored_body_text(
    tx: &impl GenericClient,
    entry: i64,
    content: bool,
) -> Result<String, StoreError> {
    let row = tx
        .qopt(
            "SELECT content, summary FROM entries WHERE id = $1",
            &[&entry],
        )
        .await?;
    let (c, s): (Option<String>, Option<String>) =
        row.map_or((None, None), |r| (r.get(0), r.get(1)));
    Ok(dedup::body_words(
        c.as_deref().filter(|_| content),
        s.as_deref(),
    ))
}
