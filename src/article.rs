//! The article model: what newswire makes of one entry of one feed.

use chrono::{DateTime, Utc};

/// How an entry is known within its feed, in the fixed order of preference
/// guid/id -> canonical link -> hash of title and content. Never random: the same entry
/// polled twice gets the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ArticleKey {
    /// The entry's own guid (RSS) or id (Atom, JSON Feed).
    Guid(String),
    /// No guid: the canonical form of the entry's link.
    Url(String),
    /// Neither: a SHA-256 of title and content.
    Hash(String),
}

impl ArticleKey {
    /// The key as stored: a prefix naming its kind, then the value.
    pub fn as_stored(&self) -> String {
        match self {
            ArticleKey::Guid(g) => format!("guid:{g}"),
            ArticleKey::Url(u) => format!("url:{u}"),
            ArticleKey::Hash(h) => format!("hash:{h}"),
        }
    }
}

/// One entry of one feed, normalized. Times are UTC; HTML is sanitized; URLs are absolute.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// Identity within the feed.
    pub key: ArticleKey,
    /// The guid/id as the feed gave it, if it gave one.
    pub guid: Option<String>,
    /// Plain-text headline (entities decoded, whitespace collapsed).
    pub title: String,
    /// Absolute link to the article's page, as the feed gave it (resolved).
    pub link: Option<String>,
    /// The link without tracking parameters, fragment, default port: what makes two
    /// entries from different feeds the same story.
    pub canonical_url: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// Publication time; `None` when the feed gave no usable date (the store then uses the
    /// time it first saw the entry).
    pub published: Option<DateTime<Utc>>,
    /// Last update time as the feed gave it.
    pub updated: Option<DateTime<Utc>>,
    /// Plain-text summary.
    pub summary: Option<String>,
    /// Sanitized HTML body.
    pub content: Option<String>,
    /// The entry's own categories.
    pub categories: Vec<String>,
    /// Absolute URL of the lead image.
    pub image: Option<String>,
    /// The lead image's caption or credit (media:credit, media:title, or the figcaption of
    /// the figure holding it): "File photo: Xinhua" belongs to the image, not the body.
    /// Computed, but not yet stored or published.
    pub image_credit: Option<String>,
    /// Language tag, from the entry or its feed.
    pub language: Option<String>,
}

/// Metadata about the feed document itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedMeta {
    /// The feed's title.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
}

#[cfg(test)]
impl Article {
    /// A bare article for unit tests: `key` as its guid, `title`, nothing else.
    pub(crate) fn for_test(key: &str, title: &str) -> Article {
        Article {
            key: ArticleKey::Guid(key.into()),
            guid: Some(key.into()),
            title: title.into(),
            link: None,
            canonical_url: None,
            authors: vec![],
            published: None,
            updated: None,
            summary: None,
            content: None,
            categories: vec![],
            image: None,
            image_credit: None,
            language: None,
        }
    }
}
