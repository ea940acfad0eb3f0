//! Page clean-up around the generic extractor: what pages put in and around an article
//! that is not the article. By kind of element (captions, bylines, related links, share
//! and newsletter boxes, link lists), never by site.

use dom_query::{Document, NodeRef};

/// Words in a class or id that mark a block as not the article.
const CLUTTER_WORDS: &[&str] = &[
    "caption",
    "credit",
    "byline",
    "dateline",
    "timestamp",
    "related",
    "recommended",
    "recommendations",
    "newsletter",
    "subscribe",
    "signup",
    "promo",
    "share",
    "sharing",
    "social",
    "comments",
    "advert",
    "advertisement",
    "sponsored",
    "outbrain",
    "taboola",
    "breadcrumb",
    "breadcrumbs",
    "tags",
    "author",
    "disclaimer",
    "copyright",
];

/// Elements that never hold the article's text.
const CLUTTER_TAGS: &str = "figcaption, aside, nav, footer, form, button, noscript, \
    [role=complementary], [role=navigation], [aria-hidden=true]";

/// Lines that pages put between paragraphs, lowercased and without punctuation at the end.
const FILLER_LINES: &[&str] = &[
    "advert",
    "advertisement",
    "continue reading below",
    "continue reading",
    "story continues below",
    "article continues below",
    "read more",
    "see more",
    "don't miss",
    "dont miss",
    "related",
    "related articles",
    "related stories",
    "more stories",
    "you may also like",
    "this slideshow requires javascript",
    "tell us what you think",
    "comments",
    "share this article",
    "share",
];

fn class_words(node: &NodeRef) -> Vec<String> {
    let mut words = Vec::new();
    for attr in ["class", "id"] {
        if let Some(v) = node.attr(attr) {
            for w in v
                .to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
            {
                if !w.is_empty() {
                    words.push(w.to_string());
                }
            }
        }
    }
    words
}

fn paragraphs(node: &NodeRef) -> usize {
    node.descendants_it()
        .filter(|n| n.is_element() && n.node_name().is_some_and(|t| &*t == "p"))
        .count()
}

/// Before scoring: removes blocks that are never the article, unless one of them holds
/// most of the page's paragraphs (then it is the article, whatever its class says).
pub fn before(doc: &Document) {
    let root = doc.root();
    let total = paragraphs(&root).max(1);
    let mut doomed: Vec<NodeRef> = Vec::new();
    for node in doc.select(CLUTTER_TAGS).nodes() {
        doomed.push(*node);
    }
    for node in root.descendants_it().filter(|n| n.is_element()) {
        let tag = node.node_name().map(|t| t.to_string()).unwrap_or_default();
        if matches!(tag.as_str(), "html" | "body" | "article" | "main") {
            continue;
        }
        let words = class_words(&node);
        if words.iter().any(|w| CLUTTER_WORDS.contains(&w.as_str())) {
            doomed.push(node);
        }
    }
    for node in doomed {
        if paragraphs(&node) * 2 <= total || total < 3 {
            node.remove_from_parent();
        }
    }
}

fn text_and_link_words(node: &NodeRef) -> (usize, usize) {
    let text = node.text();
    let words = text.split_whitespace().count();
    let linked: usize = node
        .descendants_it()
        .filter(|n| n.is_element() && n.node_name().is_some_and(|t| &*t == "a"))
        .map(|a| a.text().split_whitespace().count())
        .sum();
    (words, linked)
}

fn is_filler(text: &str) -> bool {
    let t = text
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c == '…')
        .trim()
        .to_lowercase();
    FILLER_LINES.contains(&t.as_str()) || t.starts_with("see more:") || t.starts_with("read more:")
}

/// A short block that is a byline, a dateline, a photo credit or a caption that lost its
/// `<figcaption>`: "By Jo Smith - 11/18/19", "PUBLISHED: 10:48, Tue, Nov 19", "© Getty",
/// "Protesters in the square (Image: GETTY)", "... (AP Photo/Alan Diaz, File)".
fn is_meta_line(text: &str) -> bool {
    let t = text.trim();
    let words = t.split_whitespace().count();
    if words == 0 {
        return false;
    }
    let lower = t.to_lowercase();
    let short_start = [
        "by ",
        "published",
        "updated",
        "posted",
        "last updated",
        "©",
        "(c) ",
    ];
    if words <= 10 && short_start.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    let credit_end = [
        "(image:",
        "(photo:",
        "(picture:",
        "(credit:",
        "(ap photo",
        "(getty",
        "(reuters",
    ];
    words <= 40
        && lower.ends_with(')')
        && lower
            .rfind('(')
            .is_some_and(|at| credit_end.iter().any(|c| lower[at..].starts_with(c)))
}

/// After extraction, on the article's HTML: filler lines, link lists and captions that the
/// extractor kept.
pub fn after(doc: &Document) {
    doc.select("figcaption").remove();
    let mut doomed = Vec::new();
    for node in doc
        .select("p, li, div, h2, h3, h4, h5, h6, span, strong")
        .nodes()
    {
        let text = node.text();
        if is_filler(&text) || is_meta_line(&text) {
            doomed.push(*node);
            continue;
        }
        let tag = node.node_name().map(|t| t.to_string()).unwrap_or_default();
        if matches!(tag.as_str(), "ul" | "li" | "p") {
            let (words, linked) = text_and_link_words(node);
            // a list of links, or a paragraph that is one link: a "read also", not the text
            if words > 0 && linked * 10 >= words * 9 && words < 40 {
                doomed.push(*node);
            }
        }
    }
    for node in doc.select("ul, ol").nodes() {
        let (words, linked) = text_and_link_words(node);
        if words > 0 && linked * 10 >= words * 8 {
            doomed.push(*node);
        }
    }
    for node in doomed {
        node.remove_from_parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_related_links_and_fillers_go() {
        let doc = Document::from(
            r#"<html><body><article>
            <p>First paragraph of the story, long enough to be one.</p>
            <figure><img src="a.jpg"><figcaption>A photo (Image: GETTY)</figcaption></figure>
            <p>Advertisement</p>
            <div class="related-stories"><a href="/x">Other story</a></div>
            <p>Second paragraph of the story.</p>
            <ul><li><a href="/a">One</a></li><li><a href="/b">Two</a></li></ul>
            <p>Third paragraph of the story.</p>
            </article></body></html>"#,
        );
        before(&doc);
        after(&doc);
        let text = doc.select("body").text().to_string();
        for gone in ["GETTY", "Advertisement", "Other story", "One", "Two"] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        for kept in ["First paragraph", "Second paragraph", "Third paragraph"] {
            assert!(text.contains(kept), "{kept} not in {text}");
        }
    }

    #[test]
    fn bylines_and_credits_go_sentences_that_start_alike_stay() {
        for line in [
            "By Justine Coleman - 11/18/19 11:04 PM EST",
            "PUBLISHED: 10:48, Tue, Nov 19, 2019",
            "Updated at 1:23 p.m.",
            "© Aaron Schwartz",
            "Protesters have worn masks to protect their identities (Image: GETTY )",
            "A man loads trims into his truck in Hialeah, Fla. (AP Photo/Alan Diaz, File)",
        ] {
            assert!(is_meta_line(line), "{line}");
        }
        for line in [
            "By the end of the week, the harbour had reopened to every ship that had waited outside.",
            "The council (which met on Monday) agreed to the plan.",
            "Updated figures released on Tuesday show that the number of ships calling at the port fell by a third.",
        ] {
            assert!(!is_meta_line(line), "{line}");
        }
    }

    #[test]
    fn a_container_with_most_paragraphs_stays_whatever_its_class() {
        let doc = Document::from(
            r#"<html><body><div class="story-share-wrapper">
            <p>one</p><p>two</p><p>three</p><p>four</p></div>
            <div class="share"><p>Share on X</p></div></body></html>"#,
        );
        before(&doc);
        let text = doc.select("body").text().to_string();
        assert!(text.contains("four"), "{text}");
        assert!(!text.contains("Share on X"), "{text}");
    }
}
