//! The source of a story where every reader shows it. Readers ignore Atom `<source>` and
//! JSON Feed extensions, so the outlet goes into the body (a last line: "Source: Ledger
//! World", or "Carried by: A, B" for a story several feeds carried) and into the author
//! field ("Jane Doe (Ledger World)"), as `[output] source_in` says. Links lose their
//! tracking parameters. Pure.

use crate::store::StorySource;

pub use crate::config::SourceIn;

fn name(s: &StorySource) -> &str {
    s.feed_title.as_deref().unwrap_or(&s.feed)
}

/// The link a reader follows for a source: that feed's link to the story, without
/// tracking parameters (`utm_*`, `fbclid`, ...), else as given when it is not http(s).
fn clean_link(link: &str) -> String {
    url::Url::parse(link)
        .ok()
        .and_then(|u| crate::dedup::identity_url(&u))
        .unwrap_or_else(|| link.to_string())
}

/// `content` with the source line after it.
pub fn with_source_line(content: Option<String>, sources: &[StorySource]) -> Option<String> {
    if sources.is_empty() {
        return content;
    }
    let links: Vec<String> = sources
        .iter()
        .map(|s| {
            let name = html_escape::encode_text(name(s)).into_owned();
            match &s.link {
                Some(l) => format!(
                    "<a href=\"{}\" rel=\"noopener noreferrer nofollow\">{name}</a>",
                    html_escape::encode_double_quoted_attribute(&clean_link(l))
                ),
                None => name,
            }
        })
        .collect();
    let line = if sources.len() == 1 {
        format!("<p class=\"newswire-source\">Source: {}</p>", links[0])
    } else {
        format!(
            "<p class=\"newswire-copies\">Carried by: {}</p>",
            links.join(", ")
        )
    };
    Some(match content {
        Some(c) => format!("{c}\n{line}"),
        None => line,
    })
}

/// The authors with their source: "Jane Doe (Ledger World)"; the source alone when the
/// story names no author. `source` is the first (earliest) source's name.
pub fn with_source_authors(authors: Vec<String>, source: Option<&str>) -> Vec<String> {
    let Some(source) = source else {
        return authors;
    };
    if authors.is_empty() {
        return vec![source.to_string()];
    }
    authors
        .into_iter()
        .map(|a| format!("{a} ({source})"))
        .collect()
}

/// Credits every entry's source in its authors, when `source_in` says so: for the feeds
/// (the page shows sources on their own).
pub fn credit_authors(feed: &mut super::MergedFeed, source_in: SourceIn) {
    if !source_in.author {
        return;
    }
    for e in &mut feed.entries {
        let source = e.sources.first().map(|s| s.title.as_str());
        e.authors = with_source_authors(std::mem::take(&mut e.authors), source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(feed: &str, title: Option<&str>, link: Option<&str>) -> StorySource {
        StorySource {
            feed: feed.into(),
            feed_title: title.map(Into::into),
            feed_url: format!("https://{feed}.example/feed"),
            site_url: None,
            link: link.map(Into::into),
        }
    }

    #[test]
    fn a_single_source_is_a_last_line_and_in_the_author() {
        let s = [src(
            "ledger",
            Some("Ledger <World>"),
            Some("https://ledger.example/a.html?utm_source=rss&id=3#top"),
        )];
        let c = with_source_line(Some("<p>Body.</p>".into()), &s).unwrap();
        assert_eq!(
            c,
            "<p>Body.</p>\n<p class=\"newswire-source\">Source: <a href=\"https://ledger.example/a.html?id=3#top\" \
             rel=\"noopener noreferrer nofollow\">Ledger &lt;World&gt;</a></p>"
        );
        assert_eq!(
            with_source_authors(vec!["Jane Doe".into()], Some("Ledger <World>")),
            ["Jane Doe (Ledger <World>)"]
        );
        assert_eq!(
            with_source_authors(vec![], Some("Ledger <World>")),
            ["Ledger <World>"]
        );
    }

    #[test]
    fn several_sources_are_carried_by_with_clean_links() {
        let s = [
            src(
                "wire",
                Some("Wire"),
                Some("https://wire.example/1?fbclid=x"),
            ),
            src("herald", None, None),
        ];
        let c = with_source_line(None, &s).unwrap();
        assert!(
            c.starts_with("<p class=\"newswire-copies\">Carried by: "),
            "{c}"
        );
        assert!(c.contains("href=\"https://wire.example/1\""), "{c}");
        assert!(c.contains(", herald</p>"), "{c}");
        assert_eq!(
            with_source_authors(vec!["A".into(), "B".into()], Some("Wire")),
            ["A (Wire)", "B (Wire)"]
        );
    }

    #[test]
    fn no_source_changes_nothing() {
        assert_eq!(with_source_line(Some("x".into()), &[]), Some("x".into()));
        assert_eq!(with_source_authors(vec!["a".into()], None), ["a"]);
    }
}
