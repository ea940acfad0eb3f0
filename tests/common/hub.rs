//! A WebSub hub for the tests, on 127.0.0.1:0: it records the subscription requests and
//! publish pings it receives (answering 202), and performs what a hub does towards a
//! subscriber on the test's command: verification of intent, denial, content delivery
//! (signed with the subscription's secret, unsigned, or forged).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use hmac::{Hmac, Mac};

/// One form POSTed to the hub: every `hub.*` parameter, in order.
#[derive(Clone, Debug)]
pub struct HubRequest {
    /// The parameters.
    pub form: Vec<(String, String)>,
    /// When it arrived.
    pub at: Instant,
}

impl HubRequest {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> &str {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The hub.
#[derive(Clone)]
pub struct TestHub {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<HubRequest>>>,
}

async fn record(State(requests): State<Arc<Mutex<Vec<HubRequest>>>>, body: String) -> StatusCode {
    let form = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    requests.lock().unwrap().push(HubRequest {
        form,
        at: Instant::now(),
    });
    StatusCode::ACCEPTED
}

impl TestHub {
    /// Starts the hub on the current tokio runtime.
    pub async fn start() -> TestHub {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/hub", post(record))
            .with_state(Arc::clone(&requests));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestHub { addr, requests }
    }

    /// The hub's URL.
    pub fn url(&self) -> String {
        format!("http://{}/hub", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<HubRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits (up to `patience`) for the `n`-th request (1-based) whose `hub.mode` is `mode`.
    pub async fn wait_for(&self, mode: &str, n: usize, patience: Duration) -> HubRequest {
        let deadline = Instant::now() + patience;
        loop {
            let found: Vec<HubRequest> = self
                .requests()
                .into_iter()
                .filter(|r| r.get("hub.mode") == mode)
                .collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            if Instant::now() > deadline {
                panic!(
                    "the hub got no {mode} request #{n}; it got {:?}",
                    self.requests()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Verification of intent for `req` (a subscribe or unsubscribe request): GET its
    /// callback with `mode`, `topic`, a challenge and a lease; returns status and body.
    pub async fn verify(
        &self,
        req: &HubRequest,
        mode: &str,
        topic: &str,
        challenge: &str,
        lease_seconds: u64,
    ) -> (u16, String) {
        let mut url = url::Url::parse(req.get("hub.callback")).unwrap();
        url.query_pairs_mut()
            .append_pair("hub.mode", mode)
            .append_pair("hub.topic", topic)
            .append_pair("hub.challenge", challenge)
            .append_pair("hub.lease_seconds", &lease_seconds.to_string());
        let r = reqwest::get(url).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The hub's denial of `req`.
    pub async fn deny(&self, req: &HubRequest, reason: &str) -> u16 {
        let mut url = url::Url::parse(req.get("hub.callback")).unwrap();
        url.query_pairs_mut()
            .append_pair("hub.mode", "denied")
            .append_pair("hub.topic", req.get("hub.topic"))
            .append_pair("hub.reason", reason);
        reqwest::get(url).await.unwrap().status().as_u16()
    }

    /// Delivers `body` to `req`'s callback with `signature` as X-Hub-Signature (if any).
    pub async fn deliver(
        &self,
        req: &HubRequest,
        content_type: &str,
        body: &str,
        signature: Option<String>,
    ) -> u16 {
        let mut r = reqwest::Client::new()
            .post(req.get("hub.callback"))
            .header("content-type", content_type)
            .body(body.to_string());
        if let Some(s) = signature {
            r = r.header("x-hub-signature", s);
        }
        r.send().await.unwrap().status().as_u16()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `X-Hub-Signature` of `body` under `secret` with `method` (sha1 or sha256), computed
/// here with the hmac crate, not with newswire's code.
pub fn sign(method: &str, secret: &str, body: &str) -> String {
    let digest = match method {
        "sha1" => {
            let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(body.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        "sha512" => {
            let mut m = <Hmac<sha2::Sha512> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(body.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
            m.update(body.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
    };
    format!("{method}={}", hex(&digest))
}

/// The parameters of a form, for asserting on several at once.
pub fn form_map(req: &HubRequest) -> HashMap<String, String> {
    req.form.iter().cloned().collect()
}
