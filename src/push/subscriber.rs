//! The subscriber's I/O: requests to hubs, the callback routes (`GET /websub/TOKEN` for the
//! hub's verification of intent, `POST /websub/TOKEN` for content delivery), and the timer
//! that renews leases and unsubscribes feeds that left the config. Decisions are
//! [`crate::websub::plan`]'s.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use url::Url;

use crate::config::{Config, FeedConfig};
use crate::poll::{PollSummary, error_chain, ingest_pushed};
use crate::store::{Db, StoreError};
use crate::websub::plan::{self, Answer, Request as HubRequest, Timer, Verification};
use crate::websub::signature::{self, Signature};
use crate::websub::{Mode, SubState, Subscription, random_hex};

/// The timer looks at the subscriptions at least this often.
const TIMER_MAX_SLEEP: Duration = Duration::from_secs(60);

/// Subscriptions of the daemon's feeds at their hubs.
pub struct Subscriber {
    store: Db,
    config: watch::Receiver<Arc<Config>>,
    client: reqwest::Client,
    /// Called when a delivery changed what the merged feed shows.
    on_change: Box<dyn Fn() + Send + Sync>,
    wake: Notify,
}

/// Why a request to a hub failed.
#[derive(Debug, thiserror::Error)]
enum HubError {
    #[error("the hub could not be reached: {0}")]
    Request(#[source] reqwest::Error),
    #[error("the hub answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no random numbers from the operating system: {0}")]
    Random(getrandom::Error),
    #[error("`public_url` is not set: hubs could not reach the callback")]
    NoPublicUrl,
}

impl Subscriber {
    /// A subscriber over `store` following `config`; `on_change` is called when a delivery
    /// changed the merged feed.
    pub fn new(
        store: Db,
        config: watch::Receiver<Arc<Config>>,
        on_change: impl Fn() + Send + Sync + 'static,
    ) -> Result<Arc<Subscriber>, reqwest::Error> {
        let fetch = config.borrow().fetch.clone();
        let client = reqwest::Client::builder()
            .user_agent(fetch.user_agent)
            .timeout(fetch.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()?;
        Ok(Arc::new(Subscriber {
            store,
            config,
            client,
            on_change: Box::new(on_change),
            wake: Notify::new(),
        }))
    }

    fn current(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Makes the timer look at the subscriptions now (after a config reload).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The callback routes.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/websub/{token}", get(verify).post(deliver))
            .layer(axum::middleware::map_response(
                |mut r: Response| async move {
                    r.headers_mut().insert(
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    );
                    r
                },
            ))
            .with_state(Arc::clone(self))
    }

    /// Whether a scheduled poll of `feed` should go ahead (see [`plan::poll_due`]).
    pub async fn poll_due(&self, feed: &FeedConfig) -> bool {
        if !feed.websub {
            return true;
        }
        let name = feed.name.clone();
        match self.store.call(move |s| s.websub_subscription(&name)).await {
            Ok(sub) => plan::poll_due(
                sub.as_ref(),
                feed.url.as_str(),
                self.current().websub.safety_interval,
                Utc::now(),
            ),
            Err(_) => true,
        }
    }

    /// After a poll of `feed`: records a safety poll, and subscribes to what the feed
    /// advertises when it should.
    pub async fn after_poll(&self, feed: &FeedConfig, summary: &PollSummary) {
        let Some(found) = &summary.websub else {
            return;
        };
        if !feed.websub || self.current().public_url.is_none() {
            return;
        }
        let name = feed.name.clone();
        let sub = match self.store.call(move |s| s.websub_subscription(&name)).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %error_chain(&e), "cannot read the WebSub subscription");
                return;
            }
        };
        let now = Utc::now();
        if sub.as_ref().is_some_and(|s| s.active(now)) {
            let name = feed.name.clone();
            if let Err(e) = self.store.write(move |s| s.websub_polled(&name, now)).await {
                warn!(error = %error_chain(&e), "cannot record the safety poll");
            }
        }
        if let Some(request) = plan::after_poll(sub.as_ref(), feed.url.as_str(), found, now) {
            self.send(&feed.name, feed.url.as_str(), request, sub).await;
        }
    }

    /// Sends `request` for `feed` to its hub, recording it as pending first (the hub may
    /// verify before it answers).
    async fn send(
        &self,
        feed: &str,
        feed_url: &str,
        request: HubRequest,
        existing: Option<Subscription>,
    ) {
        let mode = request.mode;
        let sent = self.try_send(feed, feed_url, &request, existing).await;
        crate::metrics::metrics().websub_request(mode.as_str(), sent.is_ok());
        match sent {
            Ok(()) => info!(
                feed,
                hub = %request.hub,
                topic = %request.topic,
                mode = mode.as_str(),
                "WebSub request accepted by the hub; waiting for its verification"
            ),
            Err(e) => {
                let error = error_chain(&e);
                warn!(feed, hub = %request.hub, mode = mode.as_str(), error = %error, "WebSub request failed");
                let name = feed.to_string();
                let recorded = self
                    .store
                    .write(move |s| {
                        if let Some(mut sub) = s.websub_subscription(&name)? {
                            sub.pending = None;
                            sub.last_error = Some(error);
                            if sub.state == SubState::Requested {
                                sub.state = SubState::Failed;
                            }
                            s.websub_save(&sub)?;
                        }
                        Ok(())
                    })
                    .await;
                if let Err(e) = recorded {
                    warn!(error = %error_chain(&e), "cannot record the WebSub failure");
                }
            }
        }
    }

    async fn try_send(
        &self,
        feed: &str,
        feed_url: &str,
        request: &HubRequest,
        existing: Option<Subscription>,
    ) -> Result<(), HubError> {
        let config = self.current();
        let public = config.public_url.as_ref().ok_or(HubError::NoPublicUrl)?;
        let now = Utc::now();
        let token = match existing.as_ref() {
            Some(s) => s.token.clone(),
            None => random_hex(32).map_err(HubError::Random)?,
        };
        let secret = match existing.as_ref() {
            Some(s) if !request.new_secret => s.secret.clone(),
            _ => random_hex(32).map_err(HubError::Random)?,
        };
        let renewal = existing.as_ref().is_some_and(|s| {
            s.state == SubState::Subscribed && s.hub == request.hub && s.topic == request.topic
        });
        let base = existing.unwrap_or(Subscription {
            feed: feed.to_string(),
            feed_url: feed_url.to_string(),
            token: token.clone(),
            secret: secret.clone(),
            hub: request.hub.clone(),
            topic: request.topic.clone(),
            state: SubState::Requested,
            pending: None,
            subscribed_at: None,
            expires_at: None,
            last_attempt: None,
            last_error: None,
            last_push: None,
            pushes_received: 0,
            pushes_rejected: 0,
            last_safety_poll: None,
        });
        let sub = Subscription {
            feed_url: match request.mode {
                Mode::Subscribe => feed_url.to_string(),
                Mode::Unsubscribe => base.feed_url.clone(),
            },
            secret: secret.clone(),
            hub: request.hub.clone(),
            topic: request.topic.clone(),
            state: match request.mode {
                Mode::Subscribe if renewal => SubState::Subscribed,
                Mode::Subscribe => SubState::Requested,
                Mode::Unsubscribe => SubState::Unsubscribing,
            },
            pending: Some((request.mode, now)),
            last_attempt: Some(now),
            ..base
        };
        self.store
            .write({
                let sub = sub.clone();
                move |s| s.websub_save(&sub)
            })
            .await?;
        let callback = public
            .join(&format!("websub/{token}"))
            .map_err(|_| HubError::NoPublicUrl)?;
        let mut form: Vec<(&str, String)> = vec![
            ("hub.mode", request.mode.as_str().to_string()),
            ("hub.topic", request.topic.clone()),
            ("hub.callback", callback.to_string()),
        ];
        if request.mode == Mode::Subscribe {
            form.push((
                "hub.lease_seconds",
                config.websub.lease.as_secs().to_string(),
            ));
            form.push(("hub.secret", secret));
        }
        let resp = self
            .client
            .post(&request.hub)
            .form(&form)
            .send()
            .await
            .map_err(HubError::Request)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        Err(HubError::Status {
            status: status.as_u16(),
            body,
        })
    }

    /// Renews leases before they end, unsubscribes feeds that left the config (or were
    /// disabled, or had WebSub turned off), forgets what is over; until `cancel`.
    pub async fn run_timer(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let next = self.timer_pass().await;
            let sleep = (next - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), TIMER_MAX_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = self.wake.notified() => {}
                _ = cancel.cancelled() => return,
            }
        }
    }

    /// One look at every subscription; returns when to look again.
    async fn timer_pass(&self) -> chrono::DateTime<Utc> {
        let now = Utc::now();
        let mut next = now + chrono::Duration::from_std(TIMER_MAX_SLEEP).unwrap_or_default();
        // on a database several instances share, the leader alone renews and unsubscribes
        // (any instance takes deliveries, and subscribes a hub its poll discovered)
        if self.store.shared() && !self.store.call(|s| s.lead()).await.unwrap_or(false) {
            return next;
        }
        let subs = match self.store.call(|s| s.websub_subscriptions()).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %error_chain(&e), "cannot read the WebSub subscriptions");
                return next;
            }
        };
        let config = self.current();
        for sub in subs {
            let wanted = config.public_url.is_some()
                && config
                    .feed(&sub.feed)
                    .is_some_and(|f| f.enabled && f.websub);
            let can_send = config.public_url.is_some();
            match plan::timer(&sub, wanted, now) {
                Timer::Send(request) if can_send => {
                    if request.mode == Mode::Subscribe {
                        info!(feed = %sub.feed, expires = ?sub.expires_at, "renewing the WebSub subscription");
                    } else {
                        info!(feed = %sub.feed, "the feed left the config or was disabled: unsubscribing at its hub");
                    }
                    let (feed, feed_url) = (sub.feed.clone(), sub.feed_url.clone());
                    self.send(&feed, &feed_url, request, Some(sub)).await;
                    next = now;
                }
                Timer::Send(_) | Timer::Forget => {
                    let feed = sub.feed.clone();
                    debug!(feed = %feed, "forgetting a WebSub subscription");
                    if let Err(e) = self.store.write(move |s| s.websub_forget(&feed)).await {
                        warn!(error = %error_chain(&e), "cannot forget a WebSub subscription");
                    }
                }
                Timer::Wait(Some(t)) => next = next.min(t),
                Timer::Wait(None) => {}
            }
        }
        next
    }
}

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn not_found() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "no such subscription request\n".into(),
    )
}

/// The hub's verification of intent (and its denials).
async fn verify(
    State(this): State<Arc<Subscriber>>,
    Path(token): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let v = Verification {
        mode: get("hub.mode").unwrap_or_default(),
        topic: get("hub.topic").unwrap_or_default(),
        challenge: get("hub.challenge"),
        lease_seconds: get("hub.lease_seconds").and_then(|l| l.trim().parse().ok()),
        reason: get("hub.reason"),
    };
    let t = token.clone();
    let sub = match this.store.call(move |s| s.websub_by_token(&t)).await {
        Ok(s) => s,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
    };
    let feed = sub.as_ref().map(|s| s.feed.clone()).unwrap_or_default();
    match plan::answer(sub.as_ref(), &v, Utc::now()) {
        Answer::Confirm { challenge, sub } => {
            let config = this.current();
            let wanted = config
                .feed(&sub.feed)
                .is_some_and(|f| f.enabled && f.websub);
            let result = if sub.state == SubState::Unsubscribed && !wanted {
                let name = sub.feed.clone();
                this.store.write(move |s| s.websub_forget(&name)).await
            } else {
                let saved = (*sub).clone();
                this.store.write(move |s| s.websub_save(&saved)).await
            };
            if let Err(e) = result {
                // unconfirmed: the hub will try again
                return text(StatusCode::SERVICE_UNAVAILABLE, error_chain(&e));
            }
            info!(feed = %feed, mode = %v.mode, topic = %v.topic, until = ?sub.expires_at, "WebSub verification of intent confirmed");
            this.wake();
            text(StatusCode::OK, challenge)
        }
        Answer::Denied(sub) => {
            warn!(feed = %feed, topic = %v.topic, reason = ?v.reason, "the hub denied the WebSub subscription");
            let saved = (*sub).clone();
            if let Err(e) = this.store.write(move |s| s.websub_save(&saved)).await {
                return text(StatusCode::SERVICE_UNAVAILABLE, error_chain(&e));
            }
            text(StatusCode::OK, String::new())
        }
        Answer::NotFound => {
            info!(feed = %feed, mode = %v.mode, topic = %v.topic, "WebSub verification refused: no pending request of that mode and topic");
            not_found()
        }
    }
}

/// Content delivery: the signature is checked before anything else is done with the body.
async fn deliver(
    State(this): State<Arc<Subscriber>>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let t = token.clone();
    let sub = match this.store.call(move |s| s.websub_by_token(&t)).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found(),
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, error_chain(&e)),
    };
    let name = sub.feed.clone();
    let config = this.current();
    let signature_header = req
        .headers()
        .get("x-hub-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limit = usize::try_from(config.fetch.max_size).unwrap_or(usize::MAX);
    let count = |accepted: bool| {
        let name = sub.feed.clone();
        let store = this.store.clone();
        crate::metrics::metrics().websub_delivery(if accepted { "accepted" } else { "rejected" });
        async move {
            let at = Utc::now();
            if let Err(e) = store
                .write(move |s| s.websub_count_push(&name, accepted, at))
                .await
            {
                warn!(error = %error_chain(&e), "cannot count the delivery");
            }
        }
    };
    let body = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(_) => {
            warn!(feed = %name, limit, "WebSub delivery ignored: larger than fetch.max_size");
            count(false).await;
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("larger than {limit} bytes\n"),
            );
        }
    };
    let verdict = signature::check(signature_header.as_deref(), sub.secret.as_bytes(), &body);
    if verdict != Signature::Valid {
        warn!(
            feed = %name,
            bytes = body.len(),
            reason = %verdict.reason(),
            "WebSub delivery ignored: not signed with this subscription's secret"
        );
        count(false).await;
        // 2xx all the same: a forger learns nothing, a hub does not retry a forgery
        return text(StatusCode::ACCEPTED, String::new());
    }
    let feed = config
        .feed(&sub.feed)
        .filter(|f| f.enabled && f.websub)
        .cloned();
    let (Some(feed), true) = (
        feed,
        matches!(sub.state, SubState::Subscribed | SubState::Requested),
    ) else {
        info!(feed = %name, "WebSub delivery ignored: the feed is no longer subscribed");
        crate::metrics::metrics().websub_delivery("unsubscribed");
        return text(StatusCode::ACCEPTED, String::new());
    };
    let base = Url::parse(&sub.topic).unwrap_or_else(|_| feed.url.clone());
    let rules = Arc::new(config.rules.clone());
    let summary = ingest_pushed(
        &this.store,
        &rules,
        &feed,
        body.to_vec(),
        content_type,
        base,
    )
    .await;
    count(true).await;
    if summary.changed() {
        (this.on_change)();
    }
    text(StatusCode::OK, String::new())
}

#[cfg(test)]
mod tests {
    #[test]
    fn callback_urls_keep_the_public_path() {
        let public = crate::config::parse_public_url("https://example.org/news").unwrap();
        assert_eq!(
            public.join("websub/abc").unwrap().as_str(),
            "https://example.org/news/websub/abc"
        );
    }
}
