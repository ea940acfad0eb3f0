//! Feeds and their state, paused hosts; and what several instances on one database share:
//! each feed's lease (one instance polls it per cycle), fetch slots per host across the
//! cluster, and the leader.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::Cached;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::{PgStore, from_ts, lock, ts};
use crate::fetch::Validators;
use crate::health::LastOutcome;
use crate::store::lists::{FeedList, FeedSync, Known, KnownList, own_is_current, plan_sync};
use crate::store::{FeedState, FeedUpdate, StoreError};

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl PgStore {
    /// Records `list` and makes the feeds table follow (see the SQLite store's `sync_feeds`).
    /// Syncs are one at a time across the instances ([`lock::LISTS`]): each plans from the
    /// lists the others committed.
    pub(in crate::store) async fn sync_feeds(
        &self,
        list: &FeedList,
    ) -> Result<FeedSync, StoreError> {
        let mut c = self.conn().await?;
        let encoded = list.encode();
        let (stored, (others, own)) = read_lists(&c, &list.owner).await?;
        let plan = plan_sync(&stored, list, &others);
        if !plan.writes() && own_is_current(own.as_ref(), &encoded, list.at) {
            return Ok(plan.into());
        }
        let tx = c.transaction().await?;
        tx.x(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&lock::CLASS, &lock::LISTS],
        )
        .await?;
        let (stored, (others, _)) = read_lists(&tx, &list.owner).await?;
        let plan = plan_sync(&stored, list, &others);
        if !plan.remove.is_empty() {
            // removing a feed derives its stories again: one writer at a time, as polls
            super::apply::lock_writers(&tx).await?;
        }
        for name in &plan.remove {
            remove_feed(&tx, name).await?;
        }
        for f in &plan.readdress {
            // a new URL is a new start: forget validators, redirects, backoff, gone
            tx.x(
                "UPDATE feeds SET url = $2, etag = NULL, last_modified = NULL, body_hash = NULL,
                    moved_to = NULL, gone = false, next_attempt = NULL, consecutive_failures = 0
                 WHERE name = $1",
                &[&f.name, &f.url],
            )
            .await?;
        }
        for f in &plan.add {
            tx.x(
                "INSERT INTO feeds (name, url) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&f.name, &f.url],
            )
            .await?;
        }
        for owner in &plan.forget {
            tx.x("DELETE FROM feed_lists WHERE owner = $1", &[owner])
                .await?;
        }
        tx.x(
            "INSERT INTO feed_lists (owner, seen, feeds) VALUES ($1, $2, $3)
             ON CONFLICT (owner) DO UPDATE SET seen = greatest(feed_lists.seen, $2), feeds = $3",
            &[&list.owner, &ts(list.at), &encoded],
        )
        .await?;
        if !plan.remove.is_empty() {
            super::stories::touch(&tx, Utc::now()).await?;
        }
        tx.commit().await?;
        Ok(plan.into())
    }

    /// `owner` is still there.
    pub(in crate::store) async fn heartbeat(
        &self,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = self.conn().await?;
        c.x(
            "UPDATE feed_lists SET seen = $2 WHERE owner = $1 AND seen < $2",
            &[&owner, &ts(at)],
        )
        .await?;
        Ok(())
    }

    /// Every instance's feed list, by owner.
    pub(in crate::store) async fn feed_lists(&self) -> Result<Vec<KnownList>, StoreError> {
        let c = self.conn().await?;
        Ok(read_known(&c, "").await?.0)
    }

    /// Forgets `owner`'s feed list; false when there is none.
    pub(in crate::store) async fn forget_feed_list(&self, owner: &str) -> Result<bool, StoreError> {
        let c = self.conn().await?;
        Ok(c.x("DELETE FROM feed_lists WHERE owner = $1", &[&owner])
            .await?
            > 0)
    }

    /// The state of one feed.
    pub(in crate::store) async fn feed_state(
        &self,
        name: &str,
    ) -> Result<Option<FeedState>, StoreError> {
        Ok(self.query_feed_states(Some(name)).await?.into_iter().next())
    }

    /// The state of every stored feed, by name.
    pub(in crate::store) async fn feed_states(&self) -> Result<Vec<FeedState>, StoreError> {
        self.query_feed_states(None).await
    }

    async fn query_feed_states(&self, name: Option<&str>) -> Result<Vec<FeedState>, StoreError> {
        const COLUMNS: &str = "SELECT name, url, title, site_url, etag, last_modified, last_poll,
                last_success, last_status, last_outcome, last_error, consecutive_failures,
                (SELECT count(*) FROM entries e WHERE e.feed = f.name),
                body_hash, next_attempt, moved_to, gone, ttl_secs
            FROM feeds f";
        let c = self.conn().await?;
        // two statements, as in SQLite: a prepared `$1 IS NULL OR name = $1` has no plan
        // that looks the feed up by its key
        let rows = match name {
            Some(name) => c.q(&format!("{COLUMNS} WHERE name = $1"), &[&name]).await?,
            None => c.q(&format!("{COLUMNS} ORDER BY name"), &[]).await?,
        };
        Ok(rows
            .iter()
            .map(|r| FeedState {
                name: r.get(0),
                url: r.get(1),
                title: r.get(2),
                site_url: r.get(3),
                validators: Validators {
                    etag: r.get(4),
                    last_modified: r.get(5),
                },
                last_poll: r.get::<_, Option<i64>>(6).map(from_ts),
                last_success: r.get::<_, Option<i64>>(7).map(from_ts),
                last_status: r
                    .get::<_, Option<i64>>(8)
                    .and_then(|s| u16::try_from(s).ok()),
                last_outcome: r
                    .get::<_, Option<String>>(9)
                    .and_then(|o| LastOutcome::parse(&o)),
                last_error: r.get(10),
                consecutive_failures: r.get::<_, i64>(11).clamp(0, u32::MAX.into()) as u32,
                article_count: r.get::<_, i64>(12).max(0) as u64,
                body_hash: r.get(13),
                next_attempt: r.get::<_, Option<i64>>(14).map(from_ts),
                moved_to: r.get(15),
                gone: r.get(16),
                ttl: r
                    .get::<_, Option<i64>>(17)
                    .map(|t| Duration::from_secs(t.max(0) as u64)),
            })
            .collect())
    }

    /// Runs one statement about `feed`'s poll, fenced by its lease (see [`PgStore::fence`]).
    async fn write_poll(
        &self,
        feed: &str,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await?;
        if self.fence(&tx, feed).await? {
            tx.x(sql, params).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records a 304 or a body identical to the last one: only feed state changes.
    pub(in crate::store) async fn record_unchanged(
        &self,
        feed: &str,
        u: &FeedUpdate,
    ) -> Result<(), StoreError> {
        self.write_poll(
            feed,
            "UPDATE feeds SET etag = $2, last_modified = $3, last_poll = $4, last_success = $4,
                last_status = $5,
                last_outcome = CASE last_outcome WHEN 'recovered' THEN 'recovered' ELSE 'not_modified' END,
                last_error = CASE last_outcome WHEN 'recovered' THEN last_error END,
                consecutive_failures = 0, next_attempt = $6,
                moved_to = coalesce($7, moved_to), body_hash = coalesce($8, body_hash), gone = false
             WHERE name = $1",
            &[
                &feed,
                &u.validators.etag,
                &u.validators.last_modified,
                &ts(u.at),
                &i64::from(u.status),
                &u.next_attempt.map(ts),
                &u.moved_to,
                &u.body_hash,
            ],
        )
        .await
    }

    /// Records that the server asked to wait: every feed on `host` waits until `until`.
    pub(in crate::store) async fn record_paused(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: u16,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await?;
        pause(&tx, host, until, reason).await?;
        if self.fence(&tx, feed).await? {
            tx.x(
                "UPDATE feeds SET last_poll = $2, last_status = $3, last_outcome = 'paused',
                    last_error = $4, next_attempt = $5
                 WHERE name = $1",
                &[&feed, &ts(at), &i64::from(status), &reason, &ts(until)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Until when the server of `host` asked to be left alone, if it still does at `now`.
    pub(in crate::store) async fn host_pause(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let c = self.conn().await?;
        let row = c
            .qopt(
                "SELECT paused_until, reason FROM hosts WHERE host = $1 AND paused_until > $2",
                &[&host, &ts(now)],
            )
            .await?;
        Ok(row.map(|r| (from_ts(r.get(0)), r.get(1))))
    }

    /// Every host pause still in force at `now`, by host.
    pub(in crate::store) async fn host_pauses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, (DateTime<Utc>, String)>, StoreError> {
        let c = self.conn().await?;
        let rows = c
            .q(
                "SELECT host, paused_until, reason FROM hosts WHERE paused_until > $1",
                &[&ts(now)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), (from_ts(r.get(1)), r.get(2))))
            .collect())
    }

    /// Records that a server asked to be left alone (an article page's 429/503).
    pub(in crate::store) async fn pause_host(
        &self,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let c = self.conn().await?;
        pause(&c, host, until, reason).await
    }

    /// Records a 410 Gone: the feed is not polled again until its URL changes.
    pub(in crate::store) async fn record_gone(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        self.write_poll(
            feed,
            "UPDATE feeds SET last_poll = $2, last_status = 410, last_outcome = 'gone',
                last_error = $3, gone = true, next_attempt = NULL
             WHERE name = $1",
            &[&feed, &ts(at), &error],
        )
        .await
    }

    /// Records a failed poll; the feed's stored articles stay as they were.
    pub(in crate::store) async fn record_failure(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
        next_attempt: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.write_poll(
            feed,
            "UPDATE feeds SET last_poll = $2, last_status = $3, last_outcome = 'error',
                last_error = $4, consecutive_failures = consecutive_failures + 1, next_attempt = $5
             WHERE name = $1",
            &[
                &feed,
                &ts(at),
                &status.map(i64::from),
                &error,
                &next_attempt.map(ts),
            ],
        )
        .await
    }

    /// Takes the leases of those of `feeds` that no instance holds (or whose holder let them
    /// expire) and whose last lease was for an earlier cycle: `FOR UPDATE SKIP LOCKED`, so
    /// that instances claiming at the same moment each get different feeds and never wait
    /// for one another. Each lease taken bumps the feed's fencing token, which this instance
    /// keeps: its writes of the poll check it ([`PgStore::fence`]).
    pub(in crate::store) async fn claim_feeds(
        &self,
        feeds: &[String],
        tick: DateTime<Utc>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        hold: Duration,
    ) -> Result<Vec<String>, StoreError> {
        let until = now + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::MAX);
        let c = self.conn().await?;
        let rows = c
            .q(
                "UPDATE feeds f SET lease_owner = $1, lease_until = $2,
                        lease_token = f.lease_token + 1, lease_tick = $5
                 FROM (SELECT name FROM feeds
                       WHERE name = ANY($3) AND coalesce(lease_until, 0) < $4
                         AND coalesce(lease_tick, 0) < $6
                       ORDER BY name FOR UPDATE SKIP LOCKED) free
                 WHERE f.name = free.name
                 RETURNING f.name, f.lease_token",
                &[
                    &self.instance,
                    &ts(until),
                    &feeds,
                    &ts(now),
                    &ts(tick),
                    &ts(since),
                ],
            )
            .await?;
        let mut leases = lock(&self.leases);
        Ok(rows
            .iter()
            .map(|r| {
                let name: String = r.get(0);
                leases.insert(name.clone(), r.get(1));
                name
            })
            .collect())
    }

    /// Lets go of a lease this instance holds, storing nothing: another instance may poll
    /// the feed in this cycle after all.
    pub(in crate::store) async fn release_feed(&self, feed: &str) -> Result<(), StoreError> {
        let token = lock(&self.leases).remove(feed);
        if let Some(token) = token {
            let c = self.conn().await?;
            c.x(
                "UPDATE feeds SET lease_owner = NULL, lease_until = NULL, lease_tick = NULL
                 WHERE name = $1 AND lease_token = $2",
                &[&feed, &token],
            )
            .await?;
        }
        Ok(())
    }

    /// Whether this instance leads: it holds the leader's advisory lock, for as long as its
    /// session lives. When the leader dies, its session ends, the lock is free, and the next
    /// instance to ask takes it.
    pub(in crate::store) async fn lead(&self) -> Result<bool, StoreError> {
        let mut held = self.leader.lock().await;
        if let Some(c) = held.as_ref() {
            if c.simple_query("SELECT 1").await.is_ok() {
                return Ok(true);
            }
            // the session died with the lock: another instance may lead by now
            *held = None;
        }
        let c = self.conn().await?;
        let got: bool = c
            .q1(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&super::lock::CLASS, &super::lock::LEADER],
            )
            .await?
            .get(0);
        if got {
            *held = Some(c);
        }
        Ok(got)
    }

    /// Takes one of `per_host` fetch slots of `host` across the cluster: a session advisory
    /// lock per slot, held on one connection of this instance, so that an instance that dies
    /// gives its slots back with its session.
    pub(in crate::store) async fn take_host_slot(
        &self,
        host: &str,
        per_host: usize,
    ) -> Result<Option<usize>, StoreError> {
        let mut session = self.host_session.lock().await;
        if session.conn.is_none() {
            session.conn = Some(self.conn().await?);
        }
        for slot in 0..per_host.max(1) {
            // a session's advisory locks are its own to take again: the slots this instance
            // holds are skipped here
            if session.held.contains(&(host.to_string(), slot)) {
                continue;
            }
            let c = session.conn.as_ref().expect("just set");
            let got = c
                .q1(
                    "SELECT pg_try_advisory_lock($1, $2)",
                    &[&super::lock::HOSTS, &host_key(host, slot)],
                )
                .await;
            match got {
                Ok(r) if r.get::<_, bool>(0) => {
                    session.held.insert((host.to_string(), slot));
                    return Ok(Some(slot));
                }
                Ok(_) => {}
                Err(e) => {
                    // a dead session held nothing: the next call starts a new one
                    *session = HostSession::default();
                    return Err(e.into());
                }
            }
        }
        Ok(None)
    }

    /// Gives back a slot [`PgStore::take_host_slot`] gave.
    pub(in crate::store) async fn release_host_slot(
        &self,
        host: &str,
        slot: usize,
    ) -> Result<(), StoreError> {
        let mut session = self.host_session.lock().await;
        if !session.held.remove(&(host.to_string(), slot)) {
            return Ok(());
        }
        if let Some(c) = session.conn.as_ref() {
            if let Err(e) = c
                .q1(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&super::lock::HOSTS, &host_key(host, slot)],
                )
                .await
            {
                *session = HostSession::default();
                return Err(e.into());
            }
        }
        Ok(())
    }
}

/// The session holding this instance's fetch slots, and which it holds.
#[derive(Default)]
pub(super) struct HostSession {
    conn: Option<deadpool_postgres::Object>,
    held: HashSet<(String, usize)>,
}

/// The stored feeds (name, URL), the lists of instances other than `owner`, and `owner`'s
/// own (see [`Known`]).
async fn read_lists(
    c: &impl GenericClient,
    owner: &str,
) -> Result<(Vec<(String, String)>, Known), StoreError> {
    let stored = c
        .q("SELECT name, url FROM feeds", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok((stored, read_known(c, owner).await?))
}

/// The lists of instances other than `owner`, and `owner`'s own.
async fn read_known(c: &impl GenericClient, owner: &str) -> Result<Known, StoreError> {
    let mut others = Vec::new();
    let mut own = None;
    for r in c
        .q(
            "SELECT owner, seen, feeds FROM feed_lists ORDER BY owner",
            &[],
        )
        .await?
    {
        let (name, seen, feeds): (String, i64, String) = (r.get(0), r.get(1), r.get(2));
        if name == owner {
            own = Some((seen, feeds));
        } else {
            others.push(KnownList::decode(name, from_ts(seen), &feeds));
        }
    }
    Ok((others, own))
}

/// The advisory lock key of `host`'s fetch slot `slot`. Two hosts whose keys collide share
/// slots (rarely: a 32-bit hash), which only makes them more polite.
fn host_key(host: &str, slot: usize) -> i32 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(host.to_ascii_lowercase().as_bytes());
    let h = i32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    h.wrapping_add(slot as i32)
}

async fn pause(
    c: &impl GenericClient,
    host: &str,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<(), StoreError> {
    c.x(
        "INSERT INTO hosts (host, paused_until, reason) VALUES ($1, $2, $3)
         ON CONFLICT (host) DO UPDATE
         SET paused_until = greatest(hosts.paused_until, excluded.paused_until), reason = excluded.reason",
        &[&host, &ts(until), &reason],
    )
    .await?;
    Ok(())
}

/// Removes a feed with its entries; stories left without entries go, the others are derived
/// again from the copies they keep.
async fn remove_feed(tx: &impl GenericClient, feed: &str) -> Result<(), StoreError> {
    let stories: Vec<i64> = tx
        .q(
            "SELECT DISTINCT story_id FROM entries WHERE feed = $1",
            &[&feed],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.x("DELETE FROM entries WHERE feed = $1", &[&feed])
        .await?;
    tx.x("DELETE FROM feeds WHERE name = $1", &[&feed]).await?;
    for s in stories {
        super::apply::refresh_story(tx, s).await?;
    }
    Ok(())
}

impl PgStore {
    /// Whether this instance may store a poll of `feed` in transaction `tx`: the feed is
    /// still stored (false: removed from the config meanwhile, store nothing), and where
    /// this instance took its lease, the lease is still its own — the fencing token is the
    /// one it was given. An instance whose lease expired while it fetched (it was stopped,
    /// or its fetch took longer than the lease) gets [`StoreError::LeaseLost`]: the instance
    /// that took the lease over polls the feed. The lease ends with the transaction's write.
    pub(super) async fn fence(
        &self,
        tx: &impl deadpool_postgres::GenericClient,
        feed: &str,
    ) -> Result<bool, StoreError> {
        // kept until the write succeeds: a lost lease refuses every later write of the poll
        let held = lock(&self.leases).get(feed).copied();
        let Some(token) = held else {
            return Ok(tx
                .qopt("SELECT 1 FROM feeds WHERE name = $1 FOR UPDATE", &[&feed])
                .await?
                .is_some());
        };
        let ours = tx
            .qopt(
                "UPDATE feeds SET lease_owner = NULL, lease_until = NULL
                 WHERE name = $1 AND lease_token = $2 RETURNING 1",
                &[&feed, &token],
            )
            .await?;
        if ours.is_some() {
            lock(&self.leases).remove(feed);
            return Ok(true);
        }
        let exists = tx
            .qopt("SELECT 1 FROM feeds WHERE name = $1", &[&feed])
            .await?;
        match exists {
            Some(_) => Err(StoreError::LeaseLost(feed.to_string())),
            None => Ok(false),
        }
    }
}
