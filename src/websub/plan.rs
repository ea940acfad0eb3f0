//! The subscriber's decisions, pure: how to answer a hub's verification of intent, when to
//! subscribe, renew and unsubscribe, and whether a scheduled poll is still needed.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Discovery, Mode, SubState, Subscription};

/// A request that the hub has not verified within this long is taken as lost: it may be
/// sent again (its verification, if it comes later, is still answered).
pub const PENDING_TIMEOUT: Duration = Duration::from_secs(120);
/// After a hub's error, the subscription is asked for again no sooner than this.
pub const RETRY_FAILED: Duration = Duration::from_secs(3600);
/// After a hub's denial, the subscription is asked for again no sooner than this.
pub const RETRY_DENIED: Duration = Duration::from_secs(24 * 3600);
/// A renewal the hub did not take is tried again after this.
pub const RENEW_RETRY: Duration = Duration::from_secs(60);
/// A lease of a hub that names none.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10 * 86400);
/// The longest lease taken from a hub (a larger `hub.lease_seconds` is cut to it).
pub const MAX_LEASE: Duration = Duration::from_secs(365 * 86400);

fn since(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_default()
}

/// The query of a hub's GET on a callback.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verification {
    /// `hub.mode`: subscribe, unsubscribe or denied.
    pub mode: String,
    /// `hub.topic`.
    pub topic: String,
    /// `hub.challenge` (not for a denial).
    pub challenge: Option<String>,
    /// `hub.lease_seconds` (subscribe only).
    pub lease_seconds: Option<u64>,
    /// `hub.reason` (a denial).
    pub reason: Option<String>,
}

/// How to answer a verification, and what it changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 200 with the challenge as the body; `sub` becomes the new state.
    Confirm {
        /// The body to echo.
        challenge: String,
        /// The subscription after confirming.
        sub: Box<Subscription>,
    },
    /// A denial that matches: 200, empty; `sub` records it.
    Denied(Box<Subscription>),
    /// Nothing matches: 404, nothing changes.
    NotFound,
}

/// Answers `v` for the subscription behind the callback (if the token names one): only a
/// pending request with the same mode and topic is confirmed, only a denial of the topic
/// subscribed to is recorded.
pub fn answer(sub: Option<&Subscription>, v: &Verification, now: DateTime<Utc>) -> Answer {
    let Some(sub) = sub.filter(|s| s.topic == v.topic) else {
        return Answer::NotFound;
    };
    if v.mode == "denied" {
        let mut s = sub.clone();
        s.state = SubState::Denied;
        s.pending = None;
        s.expires_at = None;
        s.last_error = Some(format!(
            "denied by the hub{}",
            v.reason
                .as_deref()
                .map(|r| format!(": {}", r.chars().take(500).collect::<String>()))
                .unwrap_or_default()
        ));
        return Answer::Denied(Box::new(s));
    }
    let (Some(mode), Some(challenge)) = (
        Mode::parse(&v.mode),
        v.challenge.as_ref().filter(|c| !c.is_empty()),
    ) else {
        return Answer::NotFound;
    };
    match sub.pending {
        Some((pending, _)) if pending == mode => {}
        _ => return Answer::NotFound,
    }
    let mut s = sub.clone();
    s.pending = None;
    s.last_error = None;
    match mode {
        Mode::Subscribe => {
            let lease = v
                .lease_seconds
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_LEASE)
                .min(MAX_LEASE);
            s.state = SubState::Subscribed;
            s.subscribed_at = Some(now);
            s.expires_at = Some(now + since(lease));
        }
        Mode::Unsubscribe => {
            s.state = SubState::Unsubscribed;
            s.expires_at = None;
        }
    }
    Answer::Confirm {
        challenge: challenge.clone(),
        sub: Box::new(s),
    }
}

/// A request to send to a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Subscribe (or renew) or unsubscribe.
    pub mode: Mode,
    /// The hub.
    pub hub: String,
    /// The topic.
    pub topic: String,
    /// A new hub and topic get a new secret; a renewal keeps the one the hub has.
    pub new_secret: bool,
}

fn pending_since(sub: &Subscription, mode: Mode) -> Option<DateTime<Utc>> {
    sub.pending.filter(|p| p.0 == mode).map(|p| p.1)
}

/// After a poll of a feed that wants WebSub: whether to subscribe to what it advertises.
/// A feed that advertises no hub is left alone (a subscription it had lapses).
pub fn after_poll(
    sub: Option<&Subscription>,
    feed_url: &str,
    found: &Discovery,
    now: DateTime<Utc>,
) -> Option<Request> {
    let hub = found.hub.as_ref()?.to_string();
    let topic = found
        .self_url
        .as_ref()
        .map_or_else(|| feed_url.to_string(), |u| u.to_string());
    let fresh = Request {
        mode: Mode::Subscribe,
        hub: hub.clone(),
        topic: topic.clone(),
        new_secret: true,
    };
    let Some(sub) = sub else {
        return Some(fresh);
    };
    if sub.hub != hub || sub.topic != topic || sub.feed_url != feed_url {
        return Some(fresh);
    }
    if pending_since(sub, Mode::Subscribe).is_some_and(|t| now - t < since(PENDING_TIMEOUT)) {
        return None;
    }
    let recently = |d: Duration| sub.last_attempt.is_some_and(|t| now - t < since(d));
    let wait = match sub.state {
        SubState::Subscribed if sub.active(now) => return None,
        SubState::Denied => recently(RETRY_DENIED),
        SubState::Failed => recently(RETRY_FAILED),
        _ => false,
    };
    (!wait).then_some(Request {
        new_secret: false,
        ..fresh
    })
}

/// When the timer should act on `sub`: renew before the lease ends (at three quarters of
/// it), unsubscribe a feed no longer wanted, forget what is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// Send this request.
    Send(Request),
    /// Drop the subscription's row.
    Forget,
    /// Nothing before this time (`None`: nothing planned).
    Wait(Option<DateTime<Utc>>),
}

/// When a verified subscription is renewed.
pub fn renew_at(sub: &Subscription) -> Option<DateTime<Utc>> {
    let (from, until) = (sub.subscribed_at?, sub.expires_at?);
    Some(until - (until - from) / 4)
}

/// What the timer does with `sub` at `now`; `wanted` says whether its feed is still in the
/// config, enabled, with WebSub on.
pub fn timer(sub: &Subscription, wanted: bool, now: DateTime<Utc>) -> Timer {
    let request = |mode| Request {
        mode,
        hub: sub.hub.clone(),
        topic: sub.topic.clone(),
        new_secret: false,
    };
    if !wanted {
        return match sub.state {
            SubState::Subscribed | SubState::Requested => Timer::Send(request(Mode::Unsubscribe)),
            SubState::Unsubscribing => match pending_since(sub, Mode::Unsubscribe) {
                Some(t) if now - t < since(PENDING_TIMEOUT) => {
                    Timer::Wait(Some(t + since(PENDING_TIMEOUT)))
                }
                // the hub never confirmed: the callback answers 404 from now on
                _ => Timer::Forget,
            },
            _ => Timer::Forget,
        };
    }
    if sub.state != SubState::Subscribed {
        return Timer::Wait(None);
    }
    let Some(due) = renew_at(sub) else {
        return Timer::Wait(None);
    };
    let mut due = due;
    if let Some(t) = pending_since(sub, Mode::Subscribe) {
        due = due.max(t + since(PENDING_TIMEOUT));
    }
    // a renewal sent since the last verification, that the hub did not take
    if let Some(t) = sub.last_attempt.filter(|t| Some(*t) > sub.subscribed_at) {
        due = due.max(t + since(RENEW_RETRY));
    }
    if now >= due {
        Timer::Send(request(Mode::Subscribe))
    } else {
        Timer::Wait(Some(due))
    }
}

/// Whether a scheduled poll of a feed should go ahead: always, unless its subscription (for
/// its current URL) is active and it was polled within `safety` (pushes bring its news).
pub fn poll_due(
    sub: Option<&Subscription>,
    feed_url: &str,
    safety: Duration,
    now: DateTime<Utc>,
) -> bool {
    match sub {
        Some(s) if s.active(now) && s.feed_url == feed_url => s
            .last_safety_poll
            .is_none_or(|t| now - t >= since(safety) - chrono::Duration::seconds(30)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn sub() -> Subscription {
        Subscription {
            feed: "blog".into(),
            feed_url: "https://blog.example/feed".into(),
            token: "tok".into(),
            secret: "sec".into(),
            hub: "https://hub.example/".into(),
            topic: "https://blog.example/feed".into(),
            state: SubState::Requested,
            pending: Some((Mode::Subscribe, t(0))),
            subscribed_at: None,
            expires_at: None,
            last_attempt: Some(t(0)),
            last_error: None,
            last_push: None,
            pushes_received: 0,
            pushes_rejected: 0,
            last_safety_poll: None,
        }
    }

    fn verification(mode: &str, topic: &str) -> Verification {
        Verification {
            mode: mode.into(),
            topic: topic.into(),
            challenge: Some("c-123".into()),
            lease_seconds: Some(600),
            reason: None,
        }
    }

    #[test]
    fn only_a_pending_request_with_its_mode_and_topic_is_confirmed() {
        let s = sub();
        let topic = s.topic.clone();
        match answer(Some(&s), &verification("subscribe", &topic), t(5)) {
            Answer::Confirm { challenge, sub } => {
                assert_eq!(challenge, "c-123");
                assert_eq!(sub.state, SubState::Subscribed);
                assert_eq!(sub.expires_at, Some(t(605)));
                assert_eq!(sub.pending, None);
            }
            other => panic!("{other:?}"),
        }
        // a lease no date can hold is cut to a year
        let mut huge = verification("subscribe", &topic);
        huge.lease_seconds = Some(u64::MAX);
        match answer(Some(&s), &huge, t(5)) {
            Answer::Confirm { sub, .. } => assert_eq!(sub.expires_at, Some(t(5 + 365 * 86400))),
            other => panic!("{other:?}"),
        }
        // wrong mode, wrong topic, no challenge, no subscription at all
        assert_eq!(
            answer(Some(&s), &verification("unsubscribe", &topic), t(5)),
            Answer::NotFound
        );
        assert_eq!(
            answer(Some(&s), &verification("subscribe", "https://evil/"), t(5)),
            Answer::NotFound
        );
        let mut no_challenge = verification("subscribe", &topic);
        no_challenge.challenge = None;
        assert_eq!(answer(Some(&s), &no_challenge, t(5)), Answer::NotFound);
        assert_eq!(
            answer(None, &verification("subscribe", &topic), t(5)),
            Answer::NotFound
        );
        // nothing pending: a replayed verification is refused
        let mut done = sub();
        done.pending = None;
        done.state = SubState::Subscribed;
        assert_eq!(
            answer(Some(&done), &verification("subscribe", &topic), t(5)),
            Answer::NotFound
        );
    }

    #[test]
    fn a_denial_is_recorded() {
        let s = sub();
        let mut v = verification("denied", &s.topic);
        v.challenge = None;
        v.reason = Some("not allowed".into());
        match answer(Some(&s), &v, t(5)) {
            Answer::Denied(d) => {
                assert_eq!(d.state, SubState::Denied);
                assert_eq!(
                    d.last_error.as_deref(),
                    Some("denied by the hub: not allowed")
                );
            }
            other => panic!("{other:?}"),
        }
        // denied and asked again only after a day
        let mut d = sub();
        d.state = SubState::Denied;
        d.pending = None;
        let found = Discovery {
            hub: Some(Url::parse(&d.hub).unwrap()),
            self_url: Some(Url::parse(&d.topic).unwrap()),
        };
        assert_eq!(
            after_poll(Some(&d), &d.feed_url.clone(), &found, t(3600)),
            None
        );
        assert!(after_poll(Some(&d), &d.feed_url.clone(), &found, t(90_000)).is_some());
    }

    #[test]
    fn subscribe_when_a_hub_appears_or_changes() {
        let found = Discovery {
            hub: Some(Url::parse("https://hub.example/").unwrap()),
            self_url: None,
        };
        let url = "https://blog.example/feed";
        let r = after_poll(None, url, &found, t(0)).unwrap();
        assert_eq!(
            (r.mode, r.topic.as_str(), r.new_secret),
            (Mode::Subscribe, url, true)
        );
        // pending: not again until the hub had its time
        assert_eq!(after_poll(Some(&sub()), url, &found, t(10)), None);
        assert!(after_poll(Some(&sub()), url, &found, t(200)).is_some());
        // a new hub: a fresh subscription
        let other = Discovery {
            hub: Some(Url::parse("https://hub2.example/").unwrap()),
            self_url: None,
        };
        assert!(
            after_poll(Some(&sub()), url, &other, t(10))
                .unwrap()
                .new_secret
        );
        // no hub advertised: nothing
        assert_eq!(after_poll(None, url, &Discovery::default(), t(0)), None);
    }

    #[test]
    fn renewal_at_three_quarters_of_the_lease_and_unsubscribe_when_unwanted() {
        let mut s = sub();
        s.state = SubState::Subscribed;
        s.pending = None;
        s.subscribed_at = Some(t(0));
        s.expires_at = Some(t(400));
        assert_eq!(timer(&s, true, t(100)), Timer::Wait(Some(t(300))));
        assert!(matches!(
            timer(&s, true, t(300)),
            Timer::Send(Request {
                mode: Mode::Subscribe,
                new_secret: false,
                ..
            })
        ));
        // a renewal just sent waits for its verification
        let mut renewing = s.clone();
        renewing.pending = Some((Mode::Subscribe, t(300)));
        renewing.last_attempt = Some(t(300));
        assert_eq!(timer(&renewing, true, t(310)), Timer::Wait(Some(t(420))));
        // a renewal the hub refused is tried again a minute later
        let mut refused = s.clone();
        refused.last_attempt = Some(t(300));
        assert_eq!(timer(&refused, true, t(310)), Timer::Wait(Some(t(360))));
        // removed or disabled: unsubscribe, then forget once confirmed or given up
        assert!(matches!(
            timer(&s, false, t(100)),
            Timer::Send(Request {
                mode: Mode::Unsubscribe,
                ..
            })
        ));
        let mut leaving = s.clone();
        leaving.state = SubState::Unsubscribing;
        leaving.pending = Some((Mode::Unsubscribe, t(100)));
        assert_eq!(timer(&leaving, false, t(110)), Timer::Wait(Some(t(220))));
        assert_eq!(timer(&leaving, false, t(300)), Timer::Forget);
        let mut denied = s.clone();
        denied.state = SubState::Denied;
        assert_eq!(timer(&denied, false, t(0)), Timer::Forget);
    }

    #[test]
    fn polls_wait_for_the_safety_interval_only_while_subscribed() {
        let six_hours = Duration::from_secs(6 * 3600);
        let mut s = sub();
        let url = s.feed_url.clone();
        assert!(poll_due(Some(&s), &url, six_hours, t(10)));
        s.state = SubState::Subscribed;
        s.expires_at = Some(t(86_400));
        s.last_safety_poll = Some(t(0));
        assert!(!poll_due(Some(&s), &url, six_hours, t(3600)));
        assert!(poll_due(Some(&s), &url, six_hours, t(6 * 3600)));
        // lapsed: back to the schedule
        assert!(poll_due(Some(&s), &url, six_hours, t(90_000)));
        // the feed's URL changed: the subscription is for the old one
        assert!(poll_due(
            Some(&s),
            "https://new.example/feed",
            six_hours,
            t(3600)
        ));
    }
}
