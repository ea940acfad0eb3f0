//! The publisher side: when the merged feed or a view changes, a publish ping tells
//! `[output] hub` which of newswire's own feeds (topics) to fetch and push to their readers.
//! The topics are the URLs the feeds advertise as `rel="self"`: under `public_url`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tracing::{info, warn};
use url::Url;

use crate::config::{Config, FetchConfig};
use crate::dedup::hash_parts;
use crate::poll::error_chain;
use crate::publish::{self, MergedFeed, View};
use crate::store::Db;

/// The topics of the merged feed (`view` `None`) or of a view: its Atom, RSS and JSON Feed
/// URLs under `public`.
pub fn topics(public: &Url, view: Option<&str>) -> Vec<Url> {
    ["atom", "rss", "json"]
        .iter()
        .filter_map(|ext| {
            public
                .join(&match view {
                    None => format!("feed.{ext}"),
                    Some(v) => format!("views/{v}.{ext}"),
                })
                .ok()
        })
        .collect()
}

/// What a reader of `feed` would see change: its entries, their ids, titles and update
/// times (not the feed's own `updated`, which moves whenever any feed changes).
pub fn fingerprint(feed: &MergedFeed) -> String {
    let parts: Vec<String> = feed
        .entries
        .iter()
        .map(|e| format!("{}\u{1f}{}\u{1f}{}", e.id, e.title, e.updated.timestamp()))
        .collect();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    hash_parts(&refs)
}

/// The feeds (`None`: the merged feed; else a view's name) whose fingerprint is new or
/// differs from the last one. None on the first look (`last` empty): there is nothing a
/// reader could have missed yet.
pub fn changed(
    last: &HashMap<Option<String>, String>,
    now: &HashMap<Option<String>, String>,
) -> Vec<Option<String>> {
    if last.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Option<String>> = now
        .iter()
        .filter(|(k, v)| last.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    out.sort();
    out
}

/// Pings `[output] hub` with the topics that changed.
pub struct Publisher {
    client: reqwest::Client,
    last: Mutex<HashMap<Option<String>, String>>,
}

impl Publisher {
    /// A publisher using the `[fetch]` user agent and timeout.
    pub fn new(fetch: &FetchConfig) -> Result<Publisher, reqwest::Error> {
        Ok(Publisher {
            client: reqwest::Client::builder()
                .user_agent(fetch.user_agent.clone())
                .timeout(fetch.timeout)
                .build()?,
            last: Mutex::new(HashMap::new()),
        })
    }

    /// Looks at the merged feed and every view; pings the hub about those that changed
    /// since the last look. Nothing without `[output] hub` and `public_url`.
    pub async fn after_change(&self, store: &Db, config: &Arc<Config>) {
        let (Some(hub), Some(public)) = (config.output.hub.clone(), config.public_url.clone())
        else {
            return;
        };
        let cfg = Arc::clone(config);
        let prints = store
            .call(move |s| {
                let mut out = HashMap::new();
                let names =
                    std::iter::once(None).chain(cfg.views.iter().map(|v| Some(v.name.clone())));
                for name in names {
                    let view = View {
                        view: name.clone(),
                        ..View::default()
                    };
                    if let Ok(feed) = publish::build(s, &cfg, &view) {
                        out.insert(name, fingerprint(&feed));
                    }
                }
                Ok(out)
            })
            .await;
        let prints = match prints {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %error_chain(&e), "cannot read the feeds to publish");
                return;
            }
        };
        let changed = {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            let changed = changed(&last, &prints);
            *last = prints;
            changed
        };
        if changed.is_empty() {
            return;
        }
        let urls: Vec<Url> = changed
            .iter()
            .flat_map(|v| topics(&public, v.as_deref()))
            .collect();
        let mut form: Vec<(&str, &str)> = vec![("hub.mode", "publish")];
        form.extend(urls.iter().map(|u| ("hub.url", u.as_str())));
        match self.client.post(&hub).form(&form).send().await {
            Ok(r) if r.status().is_success() => {
                crate::metrics::metrics().websub_ping("accepted");
                info!(hub = %hub, topics = urls.len(), "publish ping sent to the WebSub hub")
            }
            Ok(r) => {
                crate::metrics::metrics().websub_ping("refused");
                warn!(hub = %hub, status = r.status().as_u16(), "the WebSub hub refused the publish ping")
            }
            Err(e) => {
                crate::metrics::metrics().websub_ping("unreachable");
                warn!(hub = %hub, error = %error_chain(&e), "cannot reach the WebSub hub for a publish ping")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_live_under_the_public_url() {
        let public = crate::config::parse_public_url("https://example.org/news").unwrap();
        let t: Vec<String> = topics(&public, Some("world"))
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            t,
            [
                "https://example.org/news/views/world.atom",
                "https://example.org/news/views/world.rss",
                "https://example.org/news/views/world.json"
            ]
        );
        assert_eq!(
            topics(&public, None)[0].as_str(),
            "https://example.org/news/feed.atom"
        );
    }

    #[test]
    fn only_what_changed_is_pinged_and_nothing_on_the_first_look() {
        let prints = |pairs: &[(Option<&str>, &str)]| -> HashMap<Option<String>, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.map(str::to_string), v.to_string()))
                .collect()
        };
        let first = prints(&[(None, "a"), (Some("world"), "b")]);
        assert!(changed(&HashMap::new(), &first).is_empty());
        let second = prints(&[(None, "a2"), (Some("world"), "b"), (Some("new"), "c")]);
        assert_eq!(
            changed(&first, &second),
            vec![None, Some("new".to_string())]
        );
        assert!(changed(&second, &second).is_empty());
    }
}
