//! WebSub (W3C recommendation): stories pushed in by the feeds' hubs within seconds, and
//! publish pings for readers subscribed to newswire's own feeds.
//!
//! ```text
//! discover  -> the hub and self URLs a fetched feed advertises (Link headers, then the document)
//! signature -> X-Hub-Signature: HMAC of a delivered body (sha1, sha256, sha384, sha512)
//! plan      -> pure decisions: answer a verification, subscribe, renew, unsubscribe, poll or not
//! ```
//!
//! This module decides and holds no I/O; the daemon's side of WebSub (the callback routes,
//! requests to hubs, the renewal timer, publish pings) is [`crate::push`].
//!
//! A subscription is one row per feed in the store (`src/store/websub.rs`); its callback URL
//! ends in a random token and its deliveries are signed with a random secret, both made for
//! that subscription, so that nobody but the hub can push stories in.

use chrono::{DateTime, Utc};

pub mod discover;
pub mod plan;
pub mod signature;

pub use discover::{Discovery, discover};

/// What a subscription is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubState {
    /// A subscription was asked for; the hub has not verified it yet.
    Requested,
    /// The hub verified it: pushes come until `expires_at`.
    Subscribed,
    /// The hub refused it (`hub.mode=denied`).
    Denied,
    /// The hub did not accept the request (an HTTP error, no answer).
    Failed,
    /// The feed left the config (or was disabled): an unsubscription was asked for.
    Unsubscribing,
    /// The hub confirmed the unsubscription.
    Unsubscribed,
}

impl SubState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SubState::Requested => "requested",
            SubState::Subscribed => "subscribed",
            SubState::Denied => "denied",
            SubState::Failed => "failed",
            SubState::Unsubscribing => "unsubscribing",
            SubState::Unsubscribed => "unsubscribed",
        }
    }

    /// The state called `s` (an unknown name reads as failed, which is retried).
    pub fn parse(s: &str) -> SubState {
        match s {
            "requested" => SubState::Requested,
            "subscribed" => SubState::Subscribed,
            "denied" => SubState::Denied,
            "unsubscribing" => SubState::Unsubscribing,
            "unsubscribed" => SubState::Unsubscribed,
            _ => SubState::Failed,
        }
    }
}

/// `hub.mode` of a request newswire sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `subscribe` (also a renewal).
    Subscribe,
    /// `unsubscribe`.
    Unsubscribe,
}

impl Mode {
    /// The `hub.mode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }

    /// The mode called `s`.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "subscribe" => Some(Mode::Subscribe),
            "unsubscribe" => Some(Mode::Unsubscribe),
            _ => None,
        }
    }
}

/// One feed's subscription at its hub, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// The feed's name.
    pub feed: String,
    /// The feed's configured URL when the subscription was made (a new URL is a new start).
    pub feed_url: String,
    /// The callback's last path segment: random, unguessable.
    pub token: String,
    /// `hub.secret`: random, per subscription.
    pub secret: String,
    /// The hub.
    pub hub: String,
    /// `hub.topic`: the feed's self URL.
    pub topic: String,
    /// Where it stands.
    pub state: SubState,
    /// A request sent and not verified yet, and when it was sent.
    pub pending: Option<(Mode, DateTime<Utc>)>,
    /// When the hub last verified a subscription (the lease runs from there).
    pub subscribed_at: Option<DateTime<Utc>>,
    /// When the lease ends.
    pub expires_at: Option<DateTime<Utc>>,
    /// When a request was last sent to the hub.
    pub last_attempt: Option<DateTime<Utc>>,
    /// What went wrong last (the hub's refusal or error).
    pub last_error: Option<String>,
    /// The last signed delivery.
    pub last_push: Option<DateTime<Utc>>,
    /// Signed deliveries taken.
    pub pushes_received: u64,
    /// Deliveries ignored: unsigned, wrongly signed, too large.
    pub pushes_rejected: u64,
    /// The last poll made while subscribed (the safety interval runs from there).
    pub last_safety_poll: Option<DateTime<Utc>>,
}

impl Subscription {
    /// Whether pushes are expected now: verified, and the lease not over.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.state == SubState::Subscribed && self.expires_at.is_some_and(|e| e > now)
    }
}

/// A feed's WebSub state, as `/status` and `newswire feeds` show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WebSubStatus {
    /// `requested`, `subscribed`, `lapsed` (the lease ended), `denied`, `failed`,
    /// `unsubscribing`, `unsubscribed`.
    pub state: String,
    /// The hub.
    pub hub: String,
    /// The topic subscribed to.
    pub topic: String,
    /// When the lease ends.
    pub subscribed_until: Option<DateTime<Utc>>,
    /// The last signed delivery.
    pub last_push: Option<DateTime<Utc>>,
    /// Signed deliveries taken.
    pub pushes_received: u64,
    /// Deliveries ignored (unsigned, wrongly signed, too large).
    pub pushes_rejected: u64,
    /// The hub's refusal or error.
    pub last_error: Option<String>,
}

impl WebSubStatus {
    /// What `sub` shows at `now`.
    pub fn of(sub: &Subscription, now: DateTime<Utc>) -> WebSubStatus {
        let state = match sub.state {
            SubState::Subscribed if !sub.active(now) => "lapsed",
            s => s.as_str(),
        };
        WebSubStatus {
            state: state.to_string(),
            hub: sub.hub.clone(),
            topic: sub.topic.clone(),
            subscribed_until: sub.expires_at.filter(|_| sub.state == SubState::Subscribed),
            last_push: sub.last_push,
            pushes_received: sub.pushes_received,
            pushes_rejected: sub.pushes_rejected,
            last_error: sub.last_error.clone(),
        }
    }
}

/// `n` random bytes as lowercase hex, from the operating system's generator.
pub fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut bytes = vec![0u8; n];
    getrandom::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
