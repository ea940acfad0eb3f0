//! WebSub subscriptions (see the SQLite store's websub.rs): one row per feed; delivery
//! counters are added to in place.

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::Cached;
use super::{PgStore, from_ts, ts};
use crate::store::StoreError;
use crate::websub::{Mode, SubState, Subscription};

const COLUMNS: &str =
    "feed, feed_url, token, secret, hub, topic, state, pending_mode, pending_since,
    subscribed_at, expires_at, last_attempt, last_error, last_push, pushes_received,
    pushes_rejected, last_safety_poll";

fn read(r: &Row) -> Subscription {
    let time = |i: usize| r.get::<_, Option<i64>>(i).map(from_ts);
    let pending_mode: Option<String> = r.get(7);
    Subscription {
        feed: r.get(0),
        feed_url: r.get(1),
        token: r.get(2),
        secret: r.get(3),
        hub: r.get(4),
        topic: r.get(5),
        state: SubState::parse(r.get(6)),
        pending: match (pending_mode.as_deref().and_then(Mode::parse), time(8)) {
            (Some(m), Some(t)) => Some((m, t)),
            _ => None,
        },
        subscribed_at: time(9),
        expires_at: time(10),
        last_attempt: time(11),
        last_error: r.get(12),
        last_push: time(13),
        pushes_received: r.get::<_, i64>(14).max(0) as u64,
        pushes_rejected: r.get::<_, i64>(15).max(0) as u64,
        last_safety_poll: time(16),
    }
}

impl PgStore {
    async fn websub_query(
        &self,
        filter: &str,
        arg: Option<&str>,
    ) -> Result<Vec<Subscription>, StoreError> {
        let c = self.conn().await?;
        let sql = format!("SELECT {COLUMNS} FROM websub {filter}");
        let rows = match arg {
            Some(a) => c.q(&sql, &[&a]).await?,
            None => c.q(&sql, &[]).await?,
        };
        Ok(rows.iter().map(read).collect())
    }

    /// Every WebSub subscription, by feed name.
    pub(in crate::store) async fn websub_subscriptions(
        &self,
    ) -> Result<Vec<Subscription>, StoreError> {
        self.websub_query("ORDER BY feed COLLATE \"C\"", None).await
    }

    /// The subscription of `feed`, if it has one.
    pub(in crate::store) async fn websub_subscription(
        &self,
        feed: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let found = self.websub_query("WHERE feed = $1", Some(feed)).await?;
        Ok(found.into_iter().next())
    }

    /// The subscription whose callback ends in `token`.
    pub(in crate::store) async fn websub_by_token(
        &self,
        token: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let found = self.websub_query("WHERE token = $1", Some(token)).await?;
        Ok(found.into_iter().next())
    }

    /// Writes `sub` (inserted, or replacing the feed's row), except its delivery counters
    /// and times, which only [`PgStore::websub_count_push`] changes.
    pub(in crate::store) async fn websub_save(&self, sub: &Subscription) -> Result<(), StoreError> {
        let c = self.conn().await?;
        c.x(
            "INSERT INTO websub (feed, feed_url, token, secret, hub, topic, state, pending_mode,
                pending_since, subscribed_at, expires_at, last_attempt, last_error, last_safety_poll)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (feed) DO UPDATE SET feed_url = $2, token = $3, secret = $4, hub = $5,
                topic = $6, state = $7, pending_mode = $8, pending_since = $9, subscribed_at = $10,
                expires_at = $11, last_attempt = $12, last_error = $13, last_safety_poll = $14",
            &[
                &sub.feed,
                &sub.feed_url,
                &sub.token,
                &sub.secret,
                &sub.hub,
                &sub.topic,
                &sub.state.as_str(),
                &sub.pending.map(|p| p.0.as_str()),
                &sub.pending.map(|p| ts(p.1)),
                &sub.subscribed_at.map(ts),
                &sub.expires_at.map(ts),
                &sub.last_attempt.map(ts),
                &sub.last_error,
                &sub.last_safety_poll.map(ts),
            ],
        )
        .await?;
        Ok(())
    }

    /// Counts a delivery to `feed`'s callback: taken (signed right) or rejected.
    pub(in crate::store) async fn websub_count_push(
        &self,
        feed: &str,
        accepted: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = self.conn().await?;
        if accepted {
            c.x(
                "UPDATE websub SET pushes_received = pushes_received + 1, last_push = $2
                 WHERE feed = $1",
                &[&feed, &ts(at)],
            )
            .await?;
        } else {
            c.x(
                "UPDATE websub SET pushes_rejected = pushes_rejected + 1 WHERE feed = $1",
                &[&feed],
            )
            .await?;
        }
        Ok(())
    }

    /// Records that `feed` was polled at `at` while subscribed.
    pub(in crate::store) async fn websub_polled(
        &self,
        feed: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let c = self.conn().await?;
        c.x(
            "UPDATE websub SET last_safety_poll = $2 WHERE feed = $1",
            &[&feed, &ts(at)],
        )
        .await?;
        Ok(())
    }

    /// Forgets `feed`'s subscription.
    pub(in crate::store) async fn websub_forget(&self, feed: &str) -> Result<(), StoreError> {
        let c = self.conn().await?;
        c.x("DELETE FROM websub WHERE feed = $1", &[&feed]).await?;
        Ok(())
    }
}
