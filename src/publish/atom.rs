//! The merged feed as Atom 1.0 (RFC 4287).

use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Source, Text};

use super::{FeedLinks, MergedFeed};

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        ..Default::default()
    }
}

/// Renders `feed` as Atom. `self_url` is the URL it is served at, if known.
pub fn render(feed: &MergedFeed, self_url: Option<&str>) -> String {
    render_with(feed, &FeedLinks::self_only(self_url))
}

/// Renders `feed` as Atom with its self, next (RFC 5005), alternate and hub links.
pub fn render_with(feed: &MergedFeed, links_to: &FeedLinks) -> String {
    let entries = feed
        .entries
        .iter()
        .map(|e| {
            let mut links = Vec::new();
            if let Some(l) = &e.link {
                links.push(link(l, "alternate", Some("text/html")));
            }
            // where the story was first carried, and the other copies of it
            if let Some(site) = e.sources.first().and_then(|s| s.site_url.as_deref()) {
                links.push(link(site, "via", Some("text/html")));
            }
            for s in e.sources.iter().skip(1) {
                if let Some(l) = s.link.as_deref().filter(|l| Some(*l) != e.link.as_deref()) {
                    links.push(link(l, "related", Some("text/html")));
                }
            }
            if let Some(img) = &e.image {
                let mut l = link(img, "enclosure", Some(super::image_mime(img)));
                l.title = e.image_credit.clone();
                links.push(l);
            }
            let source = e.sources.first().map(|s| Source {
                title: Text::plain(s.title.clone()),
                id: s.feed_url.clone(),
                updated: e.updated.fixed_offset(),
                links: std::iter::once(link(&s.feed_url, "self", None))
                    .chain(
                        s.site_url
                            .iter()
                            .map(|u| link(u, "alternate", Some("text/html"))),
                    )
                    .collect(),
                ..Default::default()
            });
            Entry {
                title: Text::plain(e.title.clone()),
                id: e.id.clone(),
                updated: e.updated.fixed_offset(),
                published: Some(e.published.fixed_offset()),
                authors: e
                    .authors
                    .iter()
                    .map(|a| Person {
                        name: a.clone(),
                        ..Default::default()
                    })
                    .collect(),
                categories: e
                    .categories
                    .iter()
                    .map(|c| Category {
                        term: c.clone(),
                        ..Default::default()
                    })
                    .collect(),
                links,
                summary: e.summary.as_ref().map(|s| Text::plain(s.clone())),
                content: match (&e.content, &e.link) {
                    (Some(c), _) => Some(Content {
                        value: Some(c.clone()),
                        content_type: Some("html".to_string()),
                        lang: e.language.clone(),
                        ..Default::default()
                    }),
                    // RFC 4287 4.1.1.1: an entry without an alternate link must have content
                    (None, None) => Some(Content {
                        value: Some(e.summary.clone().unwrap_or_default()),
                        content_type: Some("text".to_string()),
                        lang: e.language.clone(),
                        ..Default::default()
                    }),
                    (None, Some(_)) => None,
                },
                source,
                ..Default::default()
            }
        })
        .collect();
    let mut links = Vec::new();
    if let Some(u) = &links_to.self_url {
        links.push(link(u, "self", Some("application/atom+xml")));
    }
    if let Some(u) = &links_to.alternate_url {
        links.push(link(u, "alternate", Some("text/html")));
    }
    if let Some(u) = &links_to.next_url {
        // RFC 5005: "next" for a paged feed, "prev-archive" for the older archive document
        links.push(link(u, "next", Some("application/atom+xml")));
        links.push(link(u, "prev-archive", Some("application/atom+xml")));
    }
    if let Some(u) = &feed.hub {
        links.push(link(u, "hub", None));
    }
    let out = Feed {
        title: Text::plain(feed.title.clone()),
        // stable whatever host name or proxy the reader came through
        id: feed.id.clone(),
        updated: feed.updated.fixed_offset(),
        // entries without an author of their own inherit this one, as RFC 4287 requires
        authors: vec![Person {
            name: "newswire".to_string(),
            ..Default::default()
        }],
        icon: feed.icon.clone(),
        logo: feed.logo.clone(),
        lang: feed.language.clone(),
        generator: Some(Generator {
            value: "newswire".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
            ..Default::default()
        }),
        links,
        entries,
        ..Default::default()
    };
    out.to_string()
}
