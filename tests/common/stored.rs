//! What the store suites (`store_contract.rs`, `store_reads.rs`) share: an article as a feed
//! would give it, for storing through the `Storage` trait.

use chrono::{DateTime, Utc};
use newswire::article::Article;
use newswire::dedup;

/// An article with `guid` at `link`, its body one paragraph.
pub fn article(
    guid: &str,
    link: &str,
    title: &str,
    body: &str,
    published: DateTime<Utc>,
) -> Article {
    let url = url::Url::parse(link).unwrap();
    let canonical = dedup::canonical_url(&url);
    Article {
        key: dedup::identity(Some(guid), canonical.as_deref(), title, body),
        guid: Some(guid.into()),
        title: title.into(),
        link: Some(link.into()),
        canonical_url: canonical,
        authors: vec![],
        published: Some(published),
        updated: None,
        summary: None,
        content: Some(format!("<p>{body}</p>")),
        categories: vec![],
        image: None,
        image_credit: None,
        language: None,
    }
}
