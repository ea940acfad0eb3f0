//! The merged feed as JSON Feed 1.1, with a `_newswire` extension naming each story's sources.

use serde_json::{Value, json};

use super::{FeedLinks, MergedFeed};

/// Renders `feed` as JSON Feed 1.1. `self_url` is the URL it is served at, if known.
pub fn render(feed: &MergedFeed, self_url: Option<&str>) -> String {
    render_with(feed, &FeedLinks::self_only(self_url))
}

/// Renders `feed` as JSON Feed 1.1 with `feed_url`, `home_page_url` and `next_url`.
pub fn render_with(feed: &MergedFeed, links: &FeedLinks) -> String {
    let items: Vec<Value> = feed
        .entries
        .iter()
        .map(|e| {
            let mut item = json!({
                "id": e.id,
                "title": e.title,
                "date_published": e.published.to_rfc3339(),
                "date_modified": e.updated.to_rfc3339(),
                "_newswire": { "sources": e.sources, "image_credit": e.image_credit },
            });
            let obj = item.as_object_mut().expect("an object");
            if let Some(l) = &e.link {
                obj.insert("url".into(), json!(l));
            }
            match (&e.content, &e.summary) {
                (Some(c), _) => obj.insert("content_html".into(), json!(c)),
                (None, Some(s)) => obj.insert("content_text".into(), json!(s)),
                (None, None) => obj.insert("content_text".into(), json!("")),
            };
            if let Some(s) = &e.summary {
                obj.insert("summary".into(), json!(s));
            }
            if let Some(i) = &e.image {
                obj.insert("image".into(), json!(i));
            }
            if !e.authors.is_empty() {
                let authors: Vec<Value> = e.authors.iter().map(|a| json!({ "name": a })).collect();
                obj.insert("authors".into(), json!(authors));
            }
            if !e.categories.is_empty() {
                obj.insert("tags".into(), json!(e.categories));
            }
            if let Some(l) = &e.language {
                obj.insert("language".into(), json!(l));
            }
            item
        })
        .collect();
    let mut out = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "items": items,
    });
    if let Some(u) = &links.self_url {
        out["feed_url"] = json!(u);
    }
    if let Some(u) = &links.alternate_url {
        out["home_page_url"] = json!(u);
    }
    if let Some(u) = &links.next_url {
        out["next_url"] = json!(u);
    }
    // JSON Feed wants square images for both (`icon` large, `favicon` small): the square
    // `output.icon` serves for both; the wide `output.logo` only when there is no icon
    if let Some(u) = feed.icon.as_ref().or(feed.logo.as_ref()) {
        out["icon"] = json!(u);
        out["favicon"] = json!(u);
    }
    if let Some(l) = &feed.language {
        out["language"] = json!(l);
    }
    if let Some(h) = &feed.hub {
        out["hubs"] = json!([{ "type": "WebSub", "url": h }]);
    }
    serde_json::to_string_pretty(&out).expect("JSON values always serialize")
}
