//! Full text: an article page -> the story's text, for feeds that carry only a headline
//! and a sentence. Pure: HTML and its URL in, [`Extracted`] out.
//!
//! The generic extractor is dom_smoothie (a Readability port on html5ever, the HTML stack
//! ammonia already brings). Around it: a site's own `content_selector` / `remove_selector`
//! when configured, page clean-up before scoring ([`cleanup`]: share bars, related links,
//! newsletter boxes, captions' credits), and the result sanitized like any feed content.

pub mod cleanup;
pub mod page;

use dom_query::Document;
use url::Url;

use crate::normalize::sanitize_html;

/// CSS rules for one site or feed (`content_selector`, `remove_selector`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The elements that hold the article; when it matches, the generic extractor is skipped.
    pub content_selector: Option<String>,
    /// Elements removed from the page before anything else.
    pub remove_selector: Option<String>,
}

impl Rules {
    /// True when neither selector is set.
    pub fn is_empty(&self) -> bool {
        self.content_selector.is_none() && self.remove_selector.is_none()
    }
}

/// What newswire makes of one article page.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The article as sanitized HTML, URLs absolute against the page.
    pub html: String,
    /// The article as plain text, one block per line.
    pub text: String,
    /// The page's own title for the article, if it gave one.
    pub title: Option<String>,
    /// The page's lead image (og:image, twitter:image, JSON-LD), absolute.
    pub image: Option<String>,
    /// Words in `text`.
    pub words: usize,
}

/// Why a page gave no article.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A selector is not valid CSS (the config checks this; `newswire extract` meets it too).
    #[error("`{key}` is not a valid CSS selector: {selector}")]
    BadSelector {
        /// The key that holds it.
        key: &'static str,
        /// The selector.
        selector: String,
    },
    /// Neither the selector nor the generic extractor found an article.
    #[error("no article text found on the page")]
    NoContent,
    /// What was found is too short to be more than the feed already had.
    #[error("the article text found is too short ({words} words)")]
    TooShort {
        /// Words found.
        words: usize,
    },
}

impl ExtractError {
    /// The outcome's name in `/status`, `newswire feeds` and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ExtractError::BadSelector { .. } => "bad_selector",
            ExtractError::NoContent | ExtractError::TooShort { .. } => "no_content",
        }
    }
}

/// Fewer words than this is not an article (a cookie wall, a teaser, an error page).
pub const MIN_WORDS: usize = 25;

/// A host as `[[site]]` rules compare it: lowercase, without `www.` and a final dot.
pub fn site_host(host: &str) -> String {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    h.strip_prefix("www.").map(str::to_string).unwrap_or(h)
}

/// Checks that `selector` parses as CSS.
pub fn check_selector(selector: &str) -> bool {
    dom_query::Matcher::new(selector).is_ok()
}

/// Extracts the article from `html`, the page at `url`, with `rules`.
pub fn extract(html: &str, url: &Url, rules: &Rules) -> Result<Extracted, ExtractError> {
    let doc = Document::from(html);
    if let Some(sel) = &rules.remove_selector {
        let m = dom_query::Matcher::new(sel).map_err(|_| ExtractError::BadSelector {
            key: "remove_selector",
            selector: sel.clone(),
        })?;
        doc.select_matcher(&m).remove();
    }
    let image = lead_image(&doc, url);
    let page_title = meta_title(&doc);
    let mut content = None;
    if let Some(sel) = &rules.content_selector {
        let m = dom_query::Matcher::new(sel).map_err(|_| ExtractError::BadSelector {
            key: "content_selector",
            selector: sel.clone(),
        })?;
        let found = doc.select_matcher(&m);
        if found.exists() {
            let mut html = String::new();
            for node in found.nodes() {
                html.push_str(&node.html());
            }
            content = Some(html);
        }
    }
    let content = match content {
        Some(c) => c,
        None => generic(doc, url)?,
    };
    finish(&content, url, page_title, image)
}

/// The generic extractor: page clean-up, then dom_smoothie's Readability.
fn generic(doc: Document, url: &Url) -> Result<String, ExtractError> {
    cleanup::before(&doc);
    let cfg = dom_smoothie::Config {
        // an article page is rarely beyond this; a hostile one is cut off, not parsed for minutes
        max_elements_to_parse: 200_000,
        ..Default::default()
    };
    let mut r = dom_smoothie::Readability::with_document(doc, Some(url.as_str()), Some(cfg))
        .map_err(|_| ExtractError::NoContent)?;
    let article = r.parse().map_err(|_| ExtractError::NoContent)?;
    Ok(article.content.to_string())
}

fn finish(
    content: &str,
    url: &Url,
    title: Option<String>,
    image: Option<String>,
) -> Result<Extracted, ExtractError> {
    let doc = Document::from(content);
    cleanup::after(&doc);
    let body = doc.select("body");
    let (inner, text) = if body.exists() {
        (
            body.inner_html().to_string(),
            body.formatted_text().to_string(),
        )
    } else {
        (doc.html().to_string(), doc.formatted_text().to_string())
    };
    let text = tidy_text(&text);
    let words = text.split_whitespace().count();
    if words == 0 {
        return Err(ExtractError::NoContent);
    }
    if words < MIN_WORDS {
        return Err(ExtractError::TooShort { words });
    }
    Ok(Extracted {
        html: sanitize_html(&inner, url),
        text,
        title,
        image,
        words,
    })
}

/// Lines trimmed, runs of blank lines made one.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn meta_content(doc: &Document, selectors: &[&str]) -> Option<String> {
    selectors.iter().find_map(|sel| {
        doc.select(sel)
            .nodes()
            .iter()
            .find_map(|n| n.attr("content"))
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    })
}

fn meta_title(doc: &Document) -> Option<String> {
    meta_content(
        doc,
        &[
            r#"meta[property="og:title"]"#,
            r#"meta[name="twitter:title"]"#,
        ],
    )
    .or_else(|| {
        let t = doc.select("title").text().trim().to_string();
        (!t.is_empty()).then_some(t)
    })
}

/// The page's lead image, absolute: og:image, else twitter:image, else `<link rel=image_src>`.
fn lead_image(doc: &Document, url: &Url) -> Option<String> {
    let raw = meta_content(
        doc,
        &[
            r#"meta[property="og:image"]"#,
            r#"meta[property="og:image:url"]"#,
            r#"meta[property="og:image:secure_url"]"#,
            r#"meta[name="og:image"]"#,
            r#"meta[name="twitter:image"]"#,
            r#"meta[property="twitter:image"]"#,
            r#"meta[name="twitter:image:src"]"#,
        ],
    )
    .or_else(|| {
        doc.select(r#"link[rel="image_src"]"#)
            .attr("href")
            .map(|h| h.to_string())
    })?;
    let abs = url.join(raw.trim()).ok()?;
    matches!(abs.scheme(), "http" | "https").then(|| abs.to_string())
}

#[cfg(test)]
mod tests;
