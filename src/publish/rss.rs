//! The merged feed as RSS 2.0.

use rss::extension::atom::{AtomExtension, Link as AtomLink};
use rss::extension::dublincore::DublinCoreExtension;
use rss::{Category, Channel, Enclosure, Guid, Item, Source};

use super::{FeedLinks, MergedFeed};

/// RFC 822 date in UTC (chrono's `to_rfc2822` panics outside years 0-9999).
fn rfc822(d: &chrono::DateTime<chrono::Utc>) -> String {
    d.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// Renders `feed` as RSS 2.0. `self_url` is the URL it is served at, if known.
pub fn render(feed: &MergedFeed, self_url: Option<&str>) -> String {
    render_with(feed, &FeedLinks::self_only(self_url))
}

/// Renders `feed` as RSS 2.0 with atom:link self, next and hub links.
pub fn render_with(feed: &MergedFeed, links: &FeedLinks) -> String {
    let self_url = links.self_url.as_deref();
    let items = feed
        .entries
        .iter()
        .map(|e| Item {
            title: Some(e.title.clone()),
            link: e.link.clone(),
            // both, as WordPress sends them: the summary as the description and the body
            // as content:encoded; a story with one of them has it as the description. A
            // description is HTML to readers: the plain-text summary goes in escaped.
            description: match (&e.summary, &e.content) {
                (Some(s), Some(_)) => Some(html_escape::encode_text(s).into_owned()),
                (s, c) => c.clone().or_else(|| s.clone()),
            },
            content: e.content.clone().filter(|_| e.summary.is_some()),
            guid: Some(Guid {
                value: e.id.clone(),
                permalink: false,
            }),
            pub_date: Some(rfc822(&e.published)),
            categories: e
                .categories
                .iter()
                .map(|c| Category {
                    name: c.clone(),
                    domain: None,
                })
                .collect(),
            source: e.sources.first().map(|s| Source {
                url: s.feed_url.clone(),
                title: Some(s.title.clone()),
            }),
            enclosure: e.image.as_ref().map(|img| Enclosure {
                url: img.clone(),
                length: "0".to_string(),
                mime_type: super::image_mime(img).to_string(),
            }),
            dublin_core_ext: (!e.authors.is_empty()).then(|| DublinCoreExtension {
                creators: e.authors.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let mut channel = Channel {
        title: feed.title.clone(),
        link: links
            .alternate_url
            .as_deref()
            .or(self_url)
            .unwrap_or("http://localhost/")
            .to_string(),
        language: feed.language.clone(),
        image: feed
            .logo
            .as_ref()
            .or(feed.icon.as_ref())
            .map(|u| rss::Image {
                url: u.clone(),
                title: feed.title.clone(),
                link: links
                    .alternate_url
                    .clone()
                    .or_else(|| self_url.map(str::to_string))
                    .unwrap_or_default(),
                ..Default::default()
            }),
        description: format!(
            "{}: stories merged and deduplicated by newswire",
            feed.title
        ),
        last_build_date: Some(rfc822(&feed.updated)),
        generator: Some(format!("newswire {}", env!("CARGO_PKG_VERSION"))),
        items,
        ..Default::default()
    };
    let atom_link = |href: &str, rel: &str, mime: Option<&str>| AtomLink {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        ..Default::default()
    };
    let mut atom_links = Vec::new();
    if let Some(u) = self_url {
        atom_links.push(atom_link(u, "self", Some("application/rss+xml")));
    }
    if let Some(u) = &links.next_url {
        atom_links.push(atom_link(u, "next", Some("application/rss+xml")));
    }
    if let Some(u) = &feed.hub {
        atom_links.push(atom_link(u, "hub", None));
    }
    if !atom_links.is_empty() {
        channel.atom_ext = Some(AtomExtension { links: atom_links });
    }
    channel.namespaces.insert(
        "dc".to_string(),
        rss::extension::dublincore::NAMESPACE.to_string(),
    );
    channel.namespaces.insert(
        "content".to_string(),
        "http://purl.org/rss/1.0/modules/content/".to_string(),
    );
    channel.to_string()
}
