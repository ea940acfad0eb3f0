//! Fair shares: one feed must not drown the others in the merged feed. Pure.
//!
//! Two causes, two answers:
//! - a feed's first poll lists its backlog; items without a date would take the time they
//!   were first seen (now) and sort above every dated story of every other feed. They are
//!   dated as backlog instead ([`date_backlog`]);
//! - a feed that simply publishes a lot fills a merged view alone: at most `per_feed` of
//!   its stories are shown in one view ([`FairShare`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::article::Article;

/// How far before the first poll undated backlog is placed when the document gives no date
/// at all: the backlog's age is unknown, and dated stories of other feeds from the last
/// month must sort above it.
pub const BACKLOG_AGE: Duration = Duration::days(30);

/// Dates the undated articles of a feed's very first poll, which are backlog of unknown
/// age: just before the oldest dated article of the same document (or [`BACKLOG_AGE`]
/// before the poll when none is dated), and before `oldest_stored`, the oldest story the
/// store holds, so that they outrank no dated story of another feed already there; one
/// second apart in document order (feeds list newest first), so that the feed's own order
/// is kept. Returns how many were dated.
/// Later polls leave undated articles alone: an item that appears then is new, and the
/// time it was first seen is the best date it has.
pub fn date_backlog(
    articles: &mut [Article],
    at: DateTime<Utc>,
    oldest_stored: Option<DateTime<Utc>>,
) -> usize {
    let floor = articles
        .iter()
        .filter_map(|a| a.published)
        .min()
        .map_or(at - BACKLOG_AGE, |oldest| oldest.min(at))
        .min(oldest_stored.unwrap_or(at));
    let mut dated = 0;
    for a in articles.iter_mut().filter(|a| a.published.is_none()) {
        dated += 1;
        a.published = Some(floor - Duration::seconds(dated as i64));
    }
    dated
}

/// Counts stories per feed as a merged view is filled, newest first.
#[derive(Debug, Default)]
pub struct FairShare {
    per_feed: Option<usize>,
    taken: HashMap<String, usize>,
}

impl FairShare {
    /// At most `per_feed` stories per feed; `None`: no cap.
    pub fn new(per_feed: Option<usize>) -> FairShare {
        FairShare {
            per_feed,
            taken: HashMap::new(),
        }
    }

    /// Whether `feed` has had its share.
    pub fn is_full(&self, feed: &str) -> bool {
        self.per_feed
            .is_some_and(|cap| self.taken.get(feed).is_some_and(|n| *n >= cap))
    }

    /// Whether a story whose first source is `feed` may be shown; counts it when it may.
    /// A story counts against the feed that carried it first: the other feeds that also
    /// carried it did not add a story of their own.
    pub fn admit(&mut self, feed: &str) -> bool {
        let Some(cap) = self.per_feed else {
            return true;
        };
        let n = self.taken.entry(feed.to_string()).or_default();
        if *n >= cap {
            return false;
        }
        *n += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(published: Option<DateTime<Utc>>) -> Article {
        Article {
            published,
            ..Article::for_test("x", "t")
        }
    }

    #[test]
    fn undated_backlog_sorts_below_the_documents_dates_in_order() {
        let at = Utc::now();
        let old = at - Duration::days(2);
        let mut a = vec![article(None), article(Some(old)), article(None)];
        assert_eq!(date_backlog(&mut a, at, None), 2);
        assert_eq!(a[0].published, Some(old - Duration::seconds(1)));
        assert_eq!(a[1].published, Some(old));
        assert_eq!(a[2].published, Some(old - Duration::seconds(2)));
    }

    #[test]
    fn wholly_undated_backlog_is_a_month_old() {
        let at = Utc::now();
        let mut a = vec![article(None); 3];
        date_backlog(&mut a, at, None);
        // below every story the store already holds
        let year_ago = at - Duration::days(365);
        let mut c = vec![article(None)];
        date_backlog(&mut c, at, Some(year_ago));
        assert_eq!(c[0].published, Some(year_ago - Duration::seconds(1)));
        assert_eq!(
            a[0].published,
            Some(at - BACKLOG_AGE - Duration::seconds(1))
        );
        assert!(a[0].published > a[1].published && a[1].published > a[2].published);
        // dates in the future do not lift the backlog above the poll
        let mut b = vec![article(Some(at + Duration::days(1))), article(None)];
        date_backlog(&mut b, at, None);
        assert_eq!(b[1].published, Some(at - Duration::seconds(1)));
    }

    #[test]
    fn fair_share_caps_each_feed() {
        let mut f = FairShare::new(Some(2));
        let admitted: Vec<bool> = ["a", "a", "b", "a", "b", "b"]
            .iter()
            .map(|n| f.admit(n))
            .collect();
        assert_eq!(admitted, [true, true, true, false, true, false]);
        let mut none = FairShare::new(None);
        assert!((0..1000).all(|_| none.admit("a")));
    }
}
