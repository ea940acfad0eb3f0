//! A feed's health: the outcome of its last poll as the store keeps it, and the state
//! `newswire feeds`, `/status`, `/metrics` and the page show, decided from it. Pure.

use serde::Serialize;

/// What the last poll of a feed came to, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LastOutcome {
    /// Fetched and read.
    Ok,
    /// Read, but only by repairing the document (the last error says how).
    Recovered,
    /// 304, or a body unchanged since the last poll.
    NotModified,
    /// The server asked to be left alone (429/503 with Retry-After).
    Paused,
    /// 410 Gone.
    Gone,
    /// The fetch or the document failed.
    Error,
}

impl LastOutcome {
    /// Every outcome.
    pub const ALL: [LastOutcome; 6] = [
        LastOutcome::Ok,
        LastOutcome::Recovered,
        LastOutcome::NotModified,
        LastOutcome::Paused,
        LastOutcome::Gone,
        LastOutcome::Error,
    ];

    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LastOutcome::Ok => "ok",
            LastOutcome::Recovered => "recovered",
            LastOutcome::NotModified => "not_modified",
            LastOutcome::Paused => "paused",
            LastOutcome::Gone => "gone",
            LastOutcome::Error => "error",
        }
    }

    /// The outcome stored as `s`; `None` for a name this version does not know.
    pub fn parse(s: &str) -> Option<LastOutcome> {
        LastOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A configured feed's state, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedHealth {
    /// Its last poll read it.
    Ok,
    /// Read, but only by repairing it: `last_error` says how.
    Recovered,
    /// Its last poll found nothing new (304 or the same body).
    NotModified,
    /// Its last poll failed.
    Failing,
    /// Its server asked to be left alone until a time.
    Paused,
    /// It moved permanently (301/308): update the config.
    Moved,
    /// 410 Gone: it is not polled any more.
    Gone,
    /// `enabled = false`.
    Disabled,
    /// Not polled yet.
    Pending,
}

/// What a feed's state is decided from.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthInput {
    /// `enabled` in the config.
    pub enabled: bool,
    /// Its last poll's outcome, if it was polled.
    pub outcome: Option<LastOutcome>,
    /// The server said 410.
    pub gone: bool,
    /// Its host is paused now.
    pub paused: bool,
    /// It is polled at the address it moved to.
    pub moved: bool,
}

impl FeedHealth {
    /// The state of a feed: disabled, gone and paused first; then a failing last poll;
    /// then a move; then the last outcome (pending before the first one).
    pub fn of(i: HealthInput) -> FeedHealth {
        match (i.enabled, i.outcome) {
            (false, _) => FeedHealth::Disabled,
            _ if i.gone => FeedHealth::Gone,
            _ if i.paused => FeedHealth::Paused,
            (true, Some(LastOutcome::Error)) => FeedHealth::Failing,
            _ if i.moved => FeedHealth::Moved,
            (true, None | Some(LastOutcome::Paused)) => FeedHealth::Pending,
            (true, Some(LastOutcome::Ok)) => FeedHealth::Ok,
            (true, Some(LastOutcome::Recovered)) => FeedHealth::Recovered,
            (true, Some(LastOutcome::NotModified)) => FeedHealth::NotModified,
            (true, Some(LastOutcome::Gone)) => FeedHealth::Gone,
        }
    }

    /// The name shown in `/status`, `newswire feeds` and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedHealth::Ok => "ok",
            FeedHealth::Recovered => "recovered",
            FeedHealth::NotModified => "not_modified",
            FeedHealth::Failing => "failing",
            FeedHealth::Paused => "paused",
            FeedHealth::Moved => "moved",
            FeedHealth::Gone => "gone",
            FeedHealth::Disabled => "disabled",
            FeedHealth::Pending => "pending",
        }
    }

    /// The state in plain words, for the page's badges.
    pub fn words(self) -> &'static str {
        match self {
            FeedHealth::Ok | FeedHealth::NotModified => "up to date",
            FeedHealth::Recovered => "recovered",
            FeedHealth::Failing => "failing",
            FeedHealth::Paused => "paused by its server",
            FeedHealth::Moved => "moved",
            FeedHealth::Gone => "gone",
            FeedHealth::Pending => "not polled yet",
            FeedHealth::Disabled => "disabled",
        }
    }
}

/// A state equals its name (`status.state == "failing"`).
impl PartialEq<&str> for FeedHealth {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for FeedHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back() {
        for o in LastOutcome::ALL {
            assert_eq!(LastOutcome::parse(o.as_str()), Some(o));
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
        assert_eq!(LastOutcome::parse("exploded"), None);
    }

    #[test]
    fn the_state_shown_puts_what_needs_a_person_first() {
        let base = HealthInput {
            enabled: true,
            outcome: Some(LastOutcome::Ok),
            ..Default::default()
        };
        let of = |f: fn(&mut HealthInput)| {
            let mut i = base;
            f(&mut i);
            FeedHealth::of(i)
        };
        assert_eq!(of(|_| {}), FeedHealth::Ok);
        assert_eq!(of(|i| i.enabled = false), FeedHealth::Disabled);
        assert_eq!(
            of(|i| {
                i.enabled = false;
                i.gone = true
            }),
            FeedHealth::Disabled
        );
        assert_eq!(of(|i| i.gone = true), FeedHealth::Gone);
        assert_eq!(
            of(|i| {
                i.paused = true;
                i.outcome = Some(LastOutcome::Error)
            }),
            FeedHealth::Paused
        );
        assert_eq!(
            of(|i| {
                i.moved = true;
                i.outcome = Some(LastOutcome::Error)
            }),
            FeedHealth::Failing
        );
        assert_eq!(of(|i| i.moved = true), FeedHealth::Moved);
        assert_eq!(of(|i| i.outcome = None), FeedHealth::Pending);
        assert_eq!(
            of(|i| i.outcome = Some(LastOutcome::Paused)),
            FeedHealth::Pending
        );
        assert_eq!(
            of(|i| i.outcome = Some(LastOutcome::Recovered)),
            FeedHealth::Recovered
        );
        assert_eq!(
            of(|i| i.outcome = Some(LastOutcome::NotModified)),
            FeedHealth::NotModified
        );
        assert_eq!(
            serde_json::to_value(FeedHealth::NotModified).unwrap(),
            serde_json::json!("not_modified")
        );
    }
}
