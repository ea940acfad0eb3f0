//! WebSub subscriptions: one row per feed (see `migrations/0009_websub.sql`). The store keeps
//! what `crate::websub::plan` decided; the counters of deliveries are added to in place, so
//! that a delivery and a renewal at the same moment do not lose each other's writes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::{Store, StoreError, from_ts, lock, ts};
use crate::websub::{Mode, SubState, Subscription};

const COLUMNS: &str =
    "feed, feed_url, token, secret, hub, topic, state, pending_mode, pending_since,
    subscribed_at, expires_at, last_attempt, last_error, last_push, pushes_received,
    pushes_rejected, last_safety_poll";

fn read(r: &Row) -> rusqlite::Result<Subscription> {
    let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(i)?.map(from_ts))
    };
    let pending_mode: Option<String> = r.get(7)?;
    Ok(Subscription {
        feed: r.get(0)?,
        feed_url: r.get(1)?,
        token: r.get(2)?,
        secret: r.get(3)?,
        hub: r.get(4)?,
        topic: r.get(5)?,
        state: SubState::parse(&r.get::<_, String>(6)?),
        pending: match (pending_mode.as_deref().and_then(Mode::parse), time(8)?) {
            (Some(m), Some(t)) => Some((m, t)),
            _ => None,
        },
        subscribed_at: time(9)?,
        expires_at: time(10)?,
        last_attempt: time(11)?,
        last_error: r.get(12)?,
        last_push: time(13)?,
        pushes_received: r.get::<_, i64>(14)?.max(0) as u64,
        pushes_rejected: r.get::<_, i64>(15)?.max(0) as u64,
        last_safety_poll: time(16)?,
    })
}

fn query(
    conn: &Connection,
    filter: &str,
    arg: Option<&str>,
) -> Result<Vec<Subscription>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM websub {filter}"))?;
    let rows = match arg {
        Some(a) => stmt.query_map([a], read)?.collect::<Result<Vec<_>, _>>()?,
        None => stmt.query_map([], read)?.collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

impl Store {
    /// Every WebSub subscription, by feed name.
    pub fn websub_subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        query(&lock(&self.reader), "ORDER BY feed", None)
    }

    /// The subscription of `feed`, if it has one.
    pub fn websub_subscription(&self, feed: &str) -> Result<Option<Subscription>, StoreError> {
        Ok(query(&lock(&self.reader), "WHERE feed = ?1", Some(feed))?
            .into_iter()
            .next())
    }

    /// The subscription whose callback ends in `token`.
    pub fn websub_by_token(&self, token: &str) -> Result<Option<Subscription>, StoreError> {
        Ok(query(&lock(&self.reader), "WHERE token = ?1", Some(token))?
            .into_iter()
            .next())
    }

    /// Writes `sub` (inserted, or replacing the feed's row), except its delivery counters
    /// and times, which only [`Store::websub_count_push`] changes.
    pub fn websub_save(&self, sub: &Subscription) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "INSERT INTO websub (feed, feed_url, token, secret, hub, topic, state, pending_mode,
                pending_since, subscribed_at, expires_at, last_attempt, last_error, last_safety_poll)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (feed) DO UPDATE SET feed_url = ?2, token = ?3, secret = ?4, hub = ?5,
                topic = ?6, state = ?7, pending_mode = ?8, pending_since = ?9, subscribed_at = ?10,
                expires_at = ?11, last_attempt = ?12, last_error = ?13, last_safety_poll = ?14",
            params![
                sub.feed,
                sub.feed_url,
                sub.token,
                sub.secret,
                sub.hub,
                sub.topic,
                sub.state.as_str(),
                sub.pending.map(|p| p.0.as_str()),
                sub.pending.map(|p| ts(p.1)),
                sub.subscribed_at.map(ts),
                sub.expires_at.map(ts),
                sub.last_attempt.map(ts),
                sub.last_error,
                sub.last_safety_poll.map(ts),
            ],
        )?;
        Ok(())
    }

    /// Counts a delivery to `feed`'s callback: taken (signed right) or rejected.
    pub fn websub_count_push(
        &self,
        feed: &str,
        accepted: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        if accepted {
            conn.execute(
                "UPDATE websub SET pushes_received = pushes_received + 1, last_push = ?2 WHERE feed = ?1",
                params![feed, ts(at)],
            )?;
        } else {
            conn.execute(
                "UPDATE websub SET pushes_rejected = pushes_rejected + 1 WHERE feed = ?1",
                params![feed],
            )?;
        }
        Ok(())
    }

    /// Records that `feed` was polled at `at` while subscribed.
    pub fn websub_polled(&self, feed: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE websub SET last_safety_poll = ?2 WHERE feed = ?1",
            params![feed, ts(at)],
        )?;
        Ok(())
    }

    /// Forgets `feed`'s subscription.
    pub fn websub_forget(&self, feed: &str) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute("DELETE FROM websub WHERE feed = ?1", params![feed])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_loaded_counted_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("n.db")).unwrap();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut sub = Subscription {
            feed: "blog".into(),
            feed_url: "https://blog.example/feed".into(),
            token: "t0k".into(),
            secret: "s3c".into(),
            hub: "https://hub.example/".into(),
            topic: "https://blog.example/feed".into(),
            state: SubState::Requested,
            pending: Some((Mode::Subscribe, at)),
            subscribed_at: None,
            expires_at: None,
            last_attempt: Some(at),
            last_error: None,
            last_push: None,
            pushes_received: 0,
            pushes_rejected: 0,
            last_safety_poll: None,
        };
        store.websub_save(&sub).unwrap();
        assert_eq!(store.websub_by_token("t0k").unwrap().as_ref(), Some(&sub));
        store.websub_count_push("blog", true, at).unwrap();
        store.websub_count_push("blog", false, at).unwrap();
        store.websub_count_push("blog", false, at).unwrap();
        // a save does not undo the counts
        sub.state = SubState::Subscribed;
        sub.pending = None;
        store.websub_save(&sub).unwrap();
        let got = store.websub_subscription("blog").unwrap().unwrap();
        assert_eq!(
            (
                got.state,
                got.pending,
                got.pushes_received,
                got.pushes_rejected,
                got.last_push
            ),
            (SubState::Subscribed, None, 1, 2, Some(at))
        );
        store.websub_forget("blog").unwrap();
        assert!(store.websub_subscriptions().unwrap().is_empty());
        assert_eq!(store.websub_by_token("t0k").unwrap(), None);
    }
}
