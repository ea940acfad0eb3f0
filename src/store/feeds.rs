//! Feeds and their state: the stored feed list kept in line with the config, what each
//! poll learned (validators, outcome, failures, moves), and hosts paused by their servers.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::fetch::Validators;
use crate::health::LastOutcome;

use super::lists::{FeedList, FeedSync, Known, KnownList, own_is_current, plan_sync};
use super::{Store, StoreError, from_ts, lock, refresh_story, touch, ts};

/// A feed as the config names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSpec {
    /// Unique slug.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// A feed's stored state and health.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeedState {
    /// Unique slug.
    pub name: String,
    /// URL polled.
    pub url: String,
    /// Title the feed gives itself.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// For the next conditional GET.
    #[serde(skip)]
    pub validators: Validators,
    /// Last attempt.
    pub last_poll: Option<DateTime<Utc>>,
    /// Last attempt that succeeded (200 or 304).
    pub last_success: Option<DateTime<Utc>>,
    /// HTTP status of the last response.
    pub last_status: Option<u16>,
    /// What the last poll came to; `None` before the first poll.
    pub last_outcome: Option<LastOutcome>,
    /// What went wrong last time.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Entries stored for this feed.
    pub article_count: u64,
    /// Hash of the last 200 body.
    #[serde(skip)]
    pub body_hash: Option<String>,
    /// No fetch before this time (failure backoff, cache hints, Retry-After).
    pub next_attempt: Option<DateTime<Utc>>,
    /// Where the feed moved permanently (301/308); polled there instead of its url.
    pub moved_to: Option<String>,
    /// The server said 410 Gone.
    pub gone: bool,
    /// The document's `<ttl>` from its last full fetch.
    #[serde(skip)]
    pub ttl: Option<Duration>,
}

/// What one poll learned about a feed, beside its articles.
#[derive(Debug, Clone, Default)]
pub struct FeedUpdate {
    /// When the poll happened.
    pub at: DateTime<Utc>,
    /// HTTP status of the final response.
    pub status: u16,
    /// Validators for the next conditional request.
    pub validators: Validators,
    /// Hash of the body, when there was one.
    pub body_hash: Option<String>,
    /// A permanent redirect's target, to poll from now on (`None`: keep what is stored).
    pub moved_to: Option<String>,
    /// No fetch before this (cache hints).
    pub next_attempt: Option<DateTime<Utc>>,
    /// The document's `<ttl>` (only known when it was parsed).
    pub ttl: Option<Duration>,
    /// What was wrong with the document and how it was read anyway: the feed's state is
    /// then `recovered`, with this as its last error.
    pub recovered: Option<String>,
}

impl Store {
    /// Records `list` as its instance's feed list and makes the feeds table follow: adds its
    /// new feeds, records URL changes (which drop the old validators), and removes the stored
    /// feeds no known instance lists any more, with their entries; stories left without
    /// entries disappear. See [`super::lists`] for whose feeds are whose.
    pub fn sync_feeds(&self, list: &FeedList) -> Result<FeedSync, StoreError> {
        let mut conn = lock(&self.writer);
        let encoded = list.encode();
        let (stored, (others, own)) = read_lists(&conn, &list.owner)?;
        let plan = plan_sync(&stored, list, &others);
        if !plan.writes() && own_is_current(own.as_ref(), &encoded, list.at) {
            // the feed list as stored: no write, so no write lock (a backup may hold it)
            return Ok(plan.into());
        }
        // a change: the write lock first, waiting for it, then the lists read again under
        // it. A deferred transaction that read first would get SQLITE_BUSY at once, without
        // waiting, had another process written meanwhile (instances starting together).
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (stored, (others, _)) = read_lists(&tx, &list.owner)?;
        let plan = plan_sync(&stored, list, &others);
        for name in &plan.remove {
            remove_feed(&tx, name)?;
        }
        for f in &plan.readdress {
            // a new URL is a new start: forget validators, redirects, backoff, gone
            tx.execute(
                "UPDATE feeds SET url = ?2, etag = NULL, last_modified = NULL, body_hash = NULL,
                    moved_to = NULL, gone = 0, next_attempt = NULL, consecutive_failures = 0
                 WHERE name = ?1",
                params![f.name, f.url],
            )?;
        }
        for f in &plan.add {
            tx.execute(
                "INSERT INTO feeds (name, url) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![f.name, f.url],
            )?;
        }
        for owner in &plan.forget {
            tx.execute("DELETE FROM feed_lists WHERE owner = ?1", [owner])?;
        }
        tx.execute(
            "INSERT INTO feed_lists (owner, seen, feeds) VALUES (?1, ?2, ?3)
             ON CONFLICT (owner) DO UPDATE SET seen = max(seen, ?2), feeds = ?3",
            params![list.owner, ts(list.at), encoded],
        )?;
        if !plan.remove.is_empty() {
            touch(&tx, Utc::now())?;
        }
        tx.commit()?;
        Ok(plan.into())
    }

    /// `owner` is still there (see [`super::lists::HEARTBEAT`]).
    pub fn heartbeat(&self, owner: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feed_lists SET seen = ?2 WHERE owner = ?1 AND seen < ?2",
            params![owner, ts(at)],
        )?;
        Ok(())
    }

    /// Every instance's feed list, by owner.
    pub fn feed_lists(&self) -> Result<Vec<KnownList>, StoreError> {
        let conn = lock(&self.reader);
        Ok(read_known(&conn, "")?.0)
    }

    /// Forgets `owner`'s feed list; false when there is none.
    pub fn forget_feed_list(&self, owner: &str) -> Result<bool, StoreError> {
        let conn = lock(&self.writer);
        Ok(conn.execute("DELETE FROM feed_lists WHERE owner = ?1", [owner])? > 0)
    }

    /// The state of one feed.
    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>, StoreError> {
        let conn = lock(&self.reader);
        Ok(query_feed_states(&conn, Some(name))?.into_iter().next())
    }

    /// The state of every stored feed, by name.
    pub fn feed_states(&self) -> Result<Vec<FeedState>, StoreError> {
        let conn = lock(&self.reader);
        query_feed_states(&conn, None)
    }

    /// Records a 304 or a body identical to the last one: only feed state changes.
    pub fn record_unchanged(&self, feed: &str, u: &FeedUpdate) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, last_poll = ?4, last_success = ?4,
                last_status = ?5,
                -- the same document as last time: read the same way, recovered or not
                last_outcome = CASE last_outcome WHEN 'recovered' THEN 'recovered' ELSE 'not_modified' END,
                last_error = CASE last_outcome WHEN 'recovered' THEN last_error END,
                consecutive_failures = 0, next_attempt = ?6,
                moved_to = coalesce(?7, moved_to), body_hash = coalesce(?8, body_hash), gone = 0
             WHERE name = ?1",
            params![
                feed,
                u.validators.etag,
                u.validators.last_modified,
                ts(u.at),
                u.status,
                u.next_attempt.map(ts),
                u.moved_to,
                u.body_hash
            ],
        )?;
        Ok(())
    }

    /// Records that the server asked to wait (429/503 with Retry-After): every feed on `host`
    /// waits until `until`.
    pub fn record_paused(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: u16,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO hosts (host, paused_until, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (host) DO UPDATE SET paused_until = max(paused_until, ?2), reason = ?3",
            params![host, ts(until), reason],
        )?;
        tx.execute(
            "UPDATE feeds SET last_poll = ?2, last_status = ?3, last_outcome = 'paused', last_error = ?4,
                next_attempt = ?5
             WHERE name = ?1",
            params![feed, ts(at), status, reason, ts(until)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Until when the server of `host` asked to be left alone, and why, if it did and the
    /// time has not passed.
    pub fn host_pause(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let conn = lock(&self.reader);
        let row: Option<(i64, String)> = conn
            .prepare_cached("SELECT paused_until, reason FROM hosts WHERE host = ?1")?
            .query_row([host], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.map(|(t, r)| (from_ts(t), r)).filter(|(t, _)| *t > now))
    }

    /// Every host pause still in force at `now`, by host.
    pub fn host_pauses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, (DateTime<Utc>, String)>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt =
            conn.prepare("SELECT host, paused_until, reason FROM hosts WHERE paused_until > ?1")?;
        let rows = stmt.query_map([ts(now)], |r| {
            Ok((r.get::<_, String>(0)?, (from_ts(r.get(1)?), r.get(2)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a 410 Gone: the feed is not polled again until its URL changes.
    pub fn record_gone(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feeds SET last_poll = ?2, last_status = 410, last_outcome = 'gone', last_error = ?3,
                gone = 1, next_attempt = NULL
             WHERE name = ?1",
            params![feed, ts(at), error],
        )?;
        Ok(())
    }

    /// Records a failed poll; the feed's stored articles stay as they were.
    pub fn record_failure(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
        next_attempt: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feeds SET last_poll = ?2, last_status = ?3, last_outcome = 'error', last_error = ?4,
                consecutive_failures = consecutive_failures + 1, next_attempt = ?5
             WHERE name = ?1",
            params![feed, ts(at), status, error, next_attempt.map(ts)],
        )?;
        Ok(())
    }
}

/// The stored feeds (name, URL), the lists of instances other than `owner`, and `owner`'s
/// own (see [`Known`]).
fn read_lists(c: &Connection, owner: &str) -> Result<(Vec<(String, String)>, Known), StoreError> {
    let stored = c
        .prepare("SELECT name, url FROM feeds")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok((stored, read_known(c, owner)?))
}

/// The lists of instances other than `owner`, and `owner`'s own.
fn read_known(c: &Connection, owner: &str) -> Result<Known, StoreError> {
    let mut others = Vec::new();
    let mut own = None;
    let mut stmt = c.prepare("SELECT owner, seen, feeds FROM feed_lists ORDER BY owner")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (name, seen, feeds): (String, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if name == owner {
            own = Some((seen, feeds));
        } else {
            others.push(KnownList::decode(name, from_ts(seen), &feeds));
        }
    }
    Ok((others, own))
}

/// What [`query_feed_states`] reads of a feed (`f`), in its order.
macro_rules! feed_state_columns {
    () => {
        "SELECT name, url, title, site_url, etag, last_modified, last_poll, last_success, last_status,
                last_outcome, last_error, consecutive_failures,
                (SELECT count(*) FROM entries e WHERE e.feed = f.name),
                body_hash, next_attempt, moved_to, gone, ttl_secs"
    };
}

/// The state of one feed (`?1`).
pub(super) const FEED_STATE_OF: &str =
    concat!(feed_state_columns!(), " FROM feeds f WHERE name = ?1");

pub(super) fn query_feed_states(
    conn: &Connection,
    name: Option<&str>,
) -> Result<Vec<FeedState>, StoreError> {
    // Two statements, not one with `?1 IS NULL OR name = ?1`: SQLite answers that with a
    // scan of every feed, and a poll asks for each feed's state once (1,000 feeds: a million
    // rows read in a first poll).
    let mut stmt = conn.prepare_cached(match name {
        Some(_) => FEED_STATE_OF,
        None => concat!(feed_state_columns!(), " FROM feeds f ORDER BY name"),
    })?;
    let read = |r: &rusqlite::Row| {
        Ok(FeedState {
            name: r.get(0)?,
            url: r.get(1)?,
            title: r.get(2)?,
            site_url: r.get(3)?,
            validators: Validators {
                etag: r.get(4)?,
                last_modified: r.get(5)?,
            },
            last_poll: r.get::<_, Option<i64>>(6)?.map(from_ts),
            last_success: r.get::<_, Option<i64>>(7)?.map(from_ts),
            last_status: r.get(8)?,
            last_outcome: r
                .get::<_, Option<String>>(9)?
                .and_then(|o| LastOutcome::parse(&o)),
            last_error: r.get(10)?,
            consecutive_failures: r.get(11)?,
            article_count: r.get(12)?,
            body_hash: r.get(13)?,
            next_attempt: r.get::<_, Option<i64>>(14)?.map(from_ts),
            moved_to: r.get(15)?,
            gone: r.get(16)?,
            ttl: r
                .get::<_, Option<i64>>(17)?
                .map(|t| Duration::from_secs(t.max(0) as u64)),
        })
    };
    let rows = match name {
        Some(name) => stmt.query_map(params![name], read)?,
        None => stmt.query_map([], read)?,
    };
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn remove_feed(tx: &Connection, feed: &str) -> Result<(), StoreError> {
    let stories: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT DISTINCT story_id FROM entries WHERE feed = ?1")?;
        stmt.query_map([feed], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    tx.prepare_cached("DELETE FROM entries WHERE feed = ?1")?
        .execute([feed])?;
    tx.prepare_cached("DELETE FROM feeds WHERE name = ?1")?
        .execute([feed])?;
    for s in stories {
        refresh_story(tx, s, false)?;
    }
    Ok(())
}
