//! What feeds inject into content that is not the article: tracking pixels, FeedBurner
//! flares, share and ad blocks. Removed before sanitizing, while classes and ids (which the
//! sanitizer drops) still say what a block is; pure.

use std::sync::LazyLock;

use crate::parse::{Attributes, tag_attributes};

/// Classes and ids of blocks that are share buttons, flares or ads, never the article.
const CLUTTER_CLASSES: &[&str] = &[
    "feedflare",
    "sharedaddy",
    "share-buttons",
    "sharing-buttons",
    "social-share",
    "share-links",
    "addtoany",
    "a2a_kit",
    "jp-relatedposts",
    "adsbygoogle",
    "advertisement",
    "mf-viral",
];

/// Links that share the page elsewhere (their text is a button label, not content).
const SHARE_HREFS: &[&str] = &[
    "facebook.com/sharer",
    "facebook.com/share.php",
    "twitter.com/intent/tweet",
    "twitter.com/share",
    "x.com/intent/tweet",
    "linkedin.com/sharearticle",
    "linkedin.com/cws/share",
    "pinterest.com/pin/create",
    "reddit.com/submit",
    "addtoany.com/share",
    "addthis.com/bookmark",
    "plus.google.com/share",
    "api.whatsapp.com/send",
    "t.me/share",
    "/~ff/",
    "/~f/",
];

/// Any of [`SHARE_HREFS`], in any ASCII case: one pass over a link, not one a pattern.
static SHARE_HREF: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    let any: Vec<String> = SHARE_HREFS.iter().map(|h| regex::escape(h)).collect();
    regex::bytes::Regex::new(&format!("(?i-u){}", any.join("|"))).expect("literal patterns")
});

/// Images that count visits, not show anything.
const TRACKER_SRCS: &[&str] = &[
    "feeds.feedburner.com/~r/",
    "feedproxy.google.com/~r/",
    "/~r/",
    "pixel.wp.com",
    "stats.wordpress.com",
    "feedsportal.com/c/",
    "pixel.quantserve.com",
    "doubleclick.net",
];

/// Link texts of share buttons.
const SHARE_LABELS: &[&str] = &[
    "share on facebook",
    "share on twitter",
    "share on x",
    "share on linkedin",
    "share on reddit",
    "share on pinterest",
    "share on whatsapp",
    "share via email",
    "share this",
    "tweet this",
    "email this",
    "pin it",
];

const CONTAINERS: &[&str] = &[
    "div", "p", "ul", "ol", "li", "span", "section", "aside", "nav", "footer", "table",
];

struct Tag<'a> {
    start: usize,
    end: usize,
    /// As written: compared without regard to case ([`Tag::is`]).
    name: &'a str,
    closing: bool,
    self_closing: bool,
    attrs: &'a str,
}

/// The next tag at or after `from`.
fn next_tag(html: &str, from: usize) -> Option<Tag<'_>> {
    let mut at = from;
    loop {
        let start = at + memchr::memchr(b'<', html.get(at..)?.as_bytes())?;
        let rest = &html[start + 1..];
        let closing = rest.starts_with('/');
        let name_from = start + 1 + usize::from(closing);
        let name_len = html.as_bytes()[name_from..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let name = &html[name_from..name_from + name_len];
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            at = start + 1;
            continue;
        }
        let end = start + memchr::memchr(b'>', &html.as_bytes()[start..])? + 1;
        let inner = &html[name_from + name.len()..end - 1];
        return Some(Tag {
            start,
            end,
            name,
            closing,
            self_closing: inner.trim_end().ends_with('/'),
            attrs: inner,
        });
    }
}

impl Tag<'_> {
    /// Whether the tag is named `name` (lowercase).
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// The end of the element that `open` starts (after its closing tag), if it is closed.
fn element_end(html: &str, open: &Tag) -> Option<usize> {
    let mut depth = 1;
    let mut at = open.end;
    while let Some(t) = next_tag(html, at) {
        at = t.end;
        if t.name.eq_ignore_ascii_case(open.name) {
            if t.closing {
                depth -= 1;
                if depth == 0 {
                    return Some(t.end);
                }
            } else if !t.self_closing {
                depth += 1;
            }
        }
    }
    None
}

fn attr<'a>(attrs: &'a Attributes, name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_ref())
}

fn is_tracking_pixel(attrs: &Attributes) -> bool {
    let tiny = |n: &str| {
        attr(attrs, n).is_some_and(|v| {
            v.trim()
                .trim_end_matches("px")
                .parse::<u32>()
                .is_ok_and(|x| x <= 1)
        })
    };
    let src = attr(attrs, "src").unwrap_or_default().to_ascii_lowercase();
    (tiny("width") && tiny("height")) || TRACKER_SRCS.iter().any(|t| src.contains(t))
}

fn is_clutter_block(attrs: &Attributes) -> bool {
    ["class", "id"].iter().any(|n| {
        attr(attrs, n).is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.split_whitespace().any(|c| {
                CLUTTER_CLASSES
                    .iter()
                    .any(|k| c == *k || c.starts_with(&format!("{k}-")))
            })
        })
    })
}

fn is_share_link(html: &str, open: &Tag, attrs: &Attributes, end: usize) -> bool {
    if SHARE_HREF.is_match(attr(attrs, "href").unwrap_or_default().as_bytes()) {
        return true;
    }
    // the link's content, without its closing tag
    let inner = &html[open.end..end];
    let inner = inner.rfind('<').map_or(inner, |close| &inner[..close]);
    // text with neither markup nor references is its own text: no need to parse it
    let text = if inner.contains(['<', '&']) {
        crate::normalize::html_to_text(inner)
    } else {
        // its printable ASCII all stays: more of it than any label has is no label
        let longest = SHARE_LABELS.iter().map(|l| l.len()).max().unwrap_or(0);
        if inner.bytes().filter(u8::is_ascii_graphic).count() > longest {
            return false;
        }
        crate::normalize::clean_text(inner)
    };
    SHARE_LABELS.contains(&text.to_lowercase().as_str())
}

/// Whether a tag's attributes may hold a `class` or `id` (in any case): else they need no
/// parsing to tell that a block is not clutter.
fn may_name_class_or_id(attrs: &str) -> bool {
    let b = attrs.as_bytes();
    let has = |word: &[u8]| b.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
    has(b"class") || has(b"id")
}

/// Encodings of a MathML `<annotation>` that hold the formula as TeX, as pandoc, KaTeX and
/// MathJax write it.
const TEX_ENCODINGS: &[&str] = &["application/x-tex", "application/x-latex", "tex", "latex"];

/// The formula of a MathML `<math>` element (`open`, ending at `end`) as text, escaped for
/// HTML: its `alttext`, else the TeX it was written in (an `<annotation>`), else the text of
/// its elements less their annotations.
fn math_as_text(html: &str, open: &Tag, end: usize) -> String {
    let alttext = attr(&tag_attributes(open.attrs), "alttext").map(str::to_string);
    let text = alttext
        .filter(|t| !t.trim().is_empty())
        .or_else(|| tex_of(html, open.end, end))
        .unwrap_or_else(|| {
            // the presentation's own text: what it shows, without what annotates it
            let mut shown = String::new();
            let (mut copied, mut at) = (open.end, open.end);
            while let Some(t) = next_tag(html, at).filter(|t| t.end <= end) {
                at = t.end;
                // (`annotation-xml` too: a name is read up to its first non-alphanumeric)
                if t.is("annotation") && !t.closing && !t.self_closing {
                    let to = element_end(html, &t).unwrap_or(end).min(end);
                    shown.push_str(&html[copied..t.start]);
                    (copied, at) = (to, to);
                }
            }
            shown.push_str(&html[copied..end]);
            math_text(&shown)
        });
    html_escape::encode_text(text.trim()).into_owned()
}

/// The text of MathML: what is between its tags, references decoded, spaces collapsed.
/// (Not [`crate::normalize::html_to_text`]: the HTML sanitizer drops MathML's elements
/// with their text wherever they are.)
fn math_text(math: &str) -> String {
    let mut text = String::new();
    let mut copied = 0;
    let mut at = 0;
    while let Some(t) = next_tag(math, at) {
        text.push_str(&math[copied..t.start]);
        (copied, at) = (t.end, t.end);
    }
    text.push_str(&math[copied..]);
    crate::normalize::clean_text(&html_escape::decode_html_entities(&text))
}

/// The TeX of the first `<annotation>` between `from` and `to` that holds TeX, as text.
fn tex_of(html: &str, from: usize, to: usize) -> Option<String> {
    let mut at = from;
    while let Some(t) = next_tag(html, at).filter(|t| t.end <= to) {
        at = t.end;
        if t.closing || t.self_closing || !t.is("annotation") {
            continue;
        }
        let attrs = tag_attributes(t.attrs);
        let encoding = attr(&attrs, "encoding").unwrap_or_default().trim();
        if TEX_ENCODINGS
            .iter()
            .any(|e| encoding.eq_ignore_ascii_case(e))
        {
            let inner_end = element_end(html, &t)
                .and_then(|e| html[..e].rfind('<'))
                .unwrap_or(to)
                .min(to);
            let tex = math_text(&html[t.end..inner_end.max(t.end)]);
            return Some(tex).filter(|t| !t.is_empty());
        }
    }
    None
}

/// Whether a tag's class names a KaTeX rendering of a formula (`katex`, `katex-display`):
/// its MathML and, beside it, the same formula drawn in spans.
fn is_katex(attrs: &str) -> bool {
    memchr::memmem::find(attrs.as_bytes(), b"katex").is_some()
        && attr(&tag_attributes(attrs), "class").is_some_and(|c| {
            c.split_whitespace()
                .any(|c| c.eq_ignore_ascii_case("katex") || c.eq_ignore_ascii_case("katex-display"))
        })
}

/// The formula `tag` opens, if it opens one: where it ends and its text (escaped), to stand
/// in its place. "When you request <math>..n..</math> bytes" kept its words but lost the
/// n; KaTeX's formulas, drawn twice (MathML, then spans), are written once.
fn formula_at(html: &str, tag: &Tag) -> Option<(usize, String)> {
    if tag.closing || tag.self_closing {
        return None;
    }
    if tag.is("math") {
        let end = element_end(html, tag)?;
        return Some((end, math_as_text(html, tag, end)));
    }
    if !(tag.is("span") && is_katex(tag.attrs)) {
        return None;
    }
    let end = element_end(html, tag)?;
    let math = std::iter::successors(next_tag(html, tag.end), |t| next_tag(html, t.end))
        .take_while(|t| t.end <= end)
        .find(|t| t.is("math") && !t.closing && !t.self_closing)?;
    let math_end = element_end(html, &math)?.min(end);
    Some((end, math_as_text(html, &math, math_end)))
}

/// An embedded player (`<iframe>` of a video or audio host, [`watchable`]) as a link to what
/// it plays, to stand in its place: the sanitizer drops frames, and a post built around a
/// video lost it without a trace. Where the frame ends (it holds raw text up to its end
/// tag), and the link; `None` for any other frame, which the sanitizer drops as before.
fn frame_link_at(html: &str, tag: &Tag) -> Option<(usize, String)> {
    if tag.closing || !tag.is("iframe") {
        return None;
    }
    let attrs = tag_attributes(tag.attrs);
    let src = attr(&attrs, "src")
        .filter(|s| !s.trim().is_empty())
        .or_else(|| attr(&attrs, "data-src"))
        .map(str::trim)
        .unwrap_or_default();
    let link = watchable(src)?;
    let b = html.as_bytes();
    let end = memchr::memmem::find_iter(&b[tag.end..], b"</")
        .map(|i| tag.end + i)
        .find(|&i| {
            b.get(i + 2..i + 8)
                .is_some_and(|n| n.eq_ignore_ascii_case(b"iframe"))
        })
        .map_or(html.len(), |i| {
            memchr::memchr(b'>', &b[i..]).map_or(html.len(), |j| i + j + 1)
        });
    let label = attr(&attrs, "title")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(&link);
    Some((
        end,
        format!(
            "<a href=\"{}\">{}</a>",
            html_escape::encode_double_quoted_attribute(&link),
            html_escape::encode_text(label)
        ),
    ))
}

/// Where a reader watches or hears what an embedded player at `src` plays: YouTube's,
/// Vimeo's, Dailymotion's, Spotify's or SoundCloud's player as the page of what it plays;
/// likewise a news page's chart (Datawrapper, Flourish), post (Instagram) or map (Google
/// Maps' embed, which is a page of its own). `None` for any other frame (a page, a form,
/// an ad: active content, which goes).
fn watchable(src: &str) -> Option<String> {
    let absolute = match src.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => src.to_string(),
    };
    let url = url::Url::parse(&absolute).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path: Vec<&str> = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    // an id as players write them: nothing that could leave its place in the page's URL
    let id = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            .then(|| s.to_string())
    };
    match (host, path.as_slice()) {
        ("youtube.com" | "youtube-nocookie.com", ["embed", v, ..]) => {
            id(v).map(|v| format!("https://www.youtube.com/watch?v={v}"))
        }
        ("player.vimeo.com", ["video", v, ..]) => id(v).map(|v| format!("https://vimeo.com/{v}")),
        ("dailymotion.com", ["embed", "video", v, ..]) => {
            id(v).map(|v| format!("https://www.dailymotion.com/video/{v}"))
        }
        ("open.spotify.com", ["embed", kind, v, ..]) => {
            let kind = id(kind)?;
            id(v).map(|v| format!("https://open.spotify.com/{kind}/{v}"))
        }
        ("w.soundcloud.com", ["player"]) => url
            .query_pairs()
            .find(|(k, _)| k == "url")
            .and_then(|(_, v)| url::Url::parse(&v).ok())
            .filter(|u| {
                u.scheme() == "https"
                    && u.host_str()
                        .is_some_and(|h| h == "soundcloud.com" || h.ends_with(".soundcloud.com"))
            })
            .map(|u| u.to_string()),
        ("datawrapper.dwcdn.net", [chart, rest @ ..]) => {
            let chart = id(chart)?;
            Some(match rest.first().and_then(|v| id(v)) {
                Some(version) => format!("https://datawrapper.dwcdn.net/{chart}/{version}/"),
                None => format!("https://datawrapper.dwcdn.net/{chart}/"),
            })
        }
        ("flo.uri.sh" | "public.flourish.studio", [kind @ ("visualisation" | "story"), v, ..]) => {
            id(v).map(|v| format!("https://public.flourish.studio/{kind}/{v}/"))
        }
        ("instagram.com", [kind @ ("p" | "reel" | "tv"), v, ..]) => {
            id(v).map(|v| format!("https://www.instagram.com/{kind}/{v}/"))
        }
        ("google.com", ["maps", "embed", "v1", mode]) => maps_page(&url, mode),
        ("google.com" | "maps.google.com", ["maps", "embed", ..]) => url
            .query_pairs()
            .find(|(k, _)| k == "pb")
            .filter(|(_, v)| !v.is_empty())
            .and_then(|_| {
                let mut page = url::Url::parse("https://www.google.com/maps/embed").ok()?;
                page.set_query(url.query());
                Some(page.to_string())
            }),
        _ => None,
    }
}

/// The Google Maps page of a frame of the Maps Embed API (`/maps/embed/v1/MODE?key=...`),
/// by Google's Maps URLs: what the frame shows, without the site's API key. `None` for a
/// mode or parameters it does not know.
fn maps_page(url: &url::Url, mode: &str) -> Option<String> {
    let given = |name: &str| {
        url.query_pairs()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.into_owned())
    };
    let (path, pairs): (&str, Vec<(&str, String)>) = match mode {
        "place" | "search" => ("search/", vec![("query", given("q")?)]),
        "directions" => (
            "dir/",
            vec![
                ("origin", given("origin")?),
                ("destination", given("destination")?),
            ],
        ),
        "view" => {
            let mut pairs = vec![("map_action", "map".into()), ("center", given("center")?)];
            pairs.extend(given("zoom").map(|z| ("zoom", z)));
            ("@", pairs)
        }
        "streetview" => {
            let mut pairs = vec![("map_action", "pano".into())];
            match (given("location"), given("pano")) {
                (Some(at), _) => pairs.push(("viewpoint", at)),
                (None, Some(pano)) => pairs.push(("pano", pano)),
                (None, None) => return None,
            }
            ("@", pairs)
        }
        _ => return None,
    };
    let mut page = url::Url::parse(&format!("https://www.google.com/maps/{path}")).ok()?;
    page.query_pairs_mut()
        .append_pair("api", "1")
        .extend_pairs(pairs);
    Some(page.to_string())
}

/// `html` with its formulas (MathML) as text and its embedded frames as links, as
/// [`strip_clutter`] leaves them: for text read from HTML that is not sanitized (a summary
/// the feed gives beside a body), so that it reads as the sanitized body would.
pub fn stand_ins(html: &str) -> std::borrow::Cow<'_, str> {
    let b = html.as_bytes();
    // a `<math` or `<iframe` in any case (as `Tag::is` compares), or KaTeX's class
    let named = |i: usize, name: &[u8]| {
        b.get(i + 1..i + 1 + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    };
    let tagged = memchr::memchr_iter(b'<', b).any(|i| named(i, b"math") || named(i, b"iframe"));
    if !tagged && memchr::memmem::find(b, b"katex").is_none() {
        return std::borrow::Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len());
    let (mut copied, mut at) = (0, 0);
    while let Some(tag) = next_tag(html, at) {
        at = tag.end;
        if let Some((end, text)) = stand_in_at(html, &tag) {
            out.push_str(&html[copied..tag.start]);
            out.push_str(&text);
            (copied, at) = (end, end);
        }
    }
    out.push_str(&html[copied..]);
    std::borrow::Cow::Owned(out)
}

/// What stands in the place of the element `tag` opens, if anything: a formula's text, a
/// frame's link ([`formula_at`], [`frame_link_at`]).
fn stand_in_at(html: &str, tag: &Tag) -> Option<(usize, String)> {
    formula_at(html, tag).or_else(|| frame_link_at(html, tag))
}

/// `html` without tracking pixels, flares and share/ad blocks, its formulas (MathML, which
/// the sanitizer drops with all it holds) as text and its embedded frames as links.
pub fn strip_clutter(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(tag) = next_tag(html, at) {
        at = tag.end;
        if tag.closing {
            continue;
        }
        if let Some((end, text)) = stand_in_at(html, &tag) {
            out.push_str(&html[copied..tag.start]);
            out.push_str(&text);
            copied = end;
            at = end;
            continue;
        }
        let drop_to = match () {
            _ if tag.is("img") => {
                let attrs = tag_attributes(tag.attrs);
                is_tracking_pixel(&attrs).then_some(tag.end)
            }
            _ if tag.is("a") && !tag.self_closing => element_end(html, &tag)
                .filter(|end| is_share_link(html, &tag, &tag_attributes(tag.attrs), *end)),
            // a block is clutter only by its class or id
            _ if CONTAINERS.iter().any(|c| tag.is(c))
                && !tag.self_closing
                && may_name_class_or_id(tag.attrs) =>
            {
                let attrs = tag_attributes(tag.attrs);
                if is_clutter_block(&attrs) {
                    element_end(html, &tag)
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(end) = drop_to {
            out.push_str(&html[copied..tag.start]);
            copied = end;
            at = end;
        }
    }
    out.push_str(&html[copied..]);
    out
}

/// HTML elements that turn up in titles that claim to be plain text.
const TITLE_TAGS: &[&str] = &[
    "a", "abbr", "b", "big", "br", "cite", "code", "del", "div", "em", "font", "i", "img", "ins",
    "mark", "p", "q", "s", "small", "span", "strong", "sub", "sup", "time", "u",
];

/// Plain text with the HTML tags it carries removed (`<span class="x">Breaking</span>`),
/// while anything else between angle brackets stays text: a headline about "the <new>
/// rules" keeps its brackets.
pub fn strip_html_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(tag) = next_tag(text, at) {
        at = tag.end;
        if TITLE_TAGS.iter().any(|t| tag.is(t)) {
            out.push_str(&text[copied..tag.start]);
            // inline elements join their text ("<span>₹</span>4,000"), block ones separate it
            if ["br", "p", "div", "img"].iter().any(|t| tag.is(t)) {
                out.push(' ');
            }
            copied = tag.end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The elements [`drop_empty_wrappers`] drops when empty.
const WRAPPERS: [&str; 6] = ["li", "ul", "ol", "p", "div", "span"];

/// Sanitized HTML without the empty lists and paragraphs removed links leave behind: an
/// element of [`WRAPPERS`] written without attributes (`<p>`) that holds only whitespace,
/// or only such elements, goes with that whitespace. One pass: each such opening tag is
/// remembered where it was written, and its closing tag takes the element back out when
/// nothing but whitespace was written since.
pub fn drop_empty_wrappers(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // (wrapper, where its opening tag starts in `out`, where it ends)
    let mut open: Vec<(&str, usize, usize)> = Vec::new();
    let mut rest = html;
    while let Some(lt) = memchr::memchr(b'<', rest.as_bytes()) {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        let closing = rest.as_bytes().get(1) == Some(&b'/');
        let name_at = if closing { 2 } else { 1 };
        let wrapper = WRAPPERS.iter().find(|t| {
            rest.len() > name_at + t.len()
                && rest[name_at..].starts_with(**t)
                && rest.as_bytes()[name_at + t.len()] == b'>'
        });
        let Some(&t) = wrapper else {
            out.push('<');
            rest = &rest[1..];
            continue;
        };
        let tag_len = name_at + t.len() + 1;
        if !closing {
            open.push((t, out.len(), out.len() + tag_len));
            out.push_str(&rest[..tag_len]);
        } else if let Some(&(_, start, end)) = open.last().filter(|(o, ..)| *o == t) {
            open.pop();
            if out[end..].trim_start().is_empty() {
                out.truncate(start);
            } else {
                out.push_str(&rest[..tag_len]);
            }
        } else {
            out.push_str(&rest[..tag_len]);
        }
        rest = &rest[tag_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `drop_empty_wrappers` did before it was one pass (a search a wrapper, again
    /// until nothing changed): the reference its output is compared with.
    fn drop_empty_wrappers_by_search(html: &str) -> String {
        let mut s = html.to_string();
        loop {
            let mut changed = false;
            for t in WRAPPERS {
                let (open, close) = (format!("<{t}>"), format!("</{t}>"));
                let mut from = 0;
                while let Some(i) = s[from..].find(&open).map(|i| i + from) {
                    let after = &s[i + open.len()..];
                    let ws = after.len() - after.trim_start().len();
                    if after[ws..].starts_with(&close) {
                        s.replace_range(i..i + open.len() + ws + close.len(), "");
                        changed = true;
                    } else {
                        from = i + open.len();
                    }
                }
            }
            if !changed {
                return s;
            }
        }
    }

    #[test]
    fn empty_wrappers_go_in_one_pass_as_they_went_by_search() {
        for html in [
            "<p></p>",
            "<p> \n </p><p>kept</p>",
            "<ul> <li></li>\n<li> </li> </ul><p>End</p>",
            "<div><p><span></span></p> </div>",
            "<p><br></p><p><b></b></p>",
            "<p class=\"x\"></p><p></p>",
            "<li>one</li><li></li>",
            "a < b <p>x</p> <span>&lt;p&gt;</span>",
            "<div><ul><li></li></ul><p>kept</p></div>",
            "<pre></pre><p></p",
            "</p><p>",
            "",
        ] {
            assert_eq!(
                drop_empty_wrappers(html),
                drop_empty_wrappers_by_search(html),
                "{html:?}"
            );
        }
        // and on well-formed trees of wrappers, whitespace and words, made at random
        let mut rng = crate::testing::Rng::new(0x2545_F491_4F6C_DD1D);
        fn tree(rng: &mut crate::testing::Rng, depth: u32, out: &mut String) {
            for _ in 0..rng.below(4) {
                match rng.below(6) {
                    0 => out.push(' '),
                    1 => out.push_str("\n "),
                    2 if depth > 0 => out.push_str("word"),
                    3 => out.push_str("<br>"),
                    _ if depth < 5 => {
                        // a wrapper, bare or (one in seven) with an attribute
                        let i = rng.below(WRAPPERS.len() + 1);
                        let (t, attr) = WRAPPERS
                            .get(i)
                            .map_or(("div", " class=\"x\""), |t| (*t, ""));
                        out.push_str(&format!("<{t}{attr}>"));
                        tree(rng, depth + 1, out);
                        out.push_str(&format!("</{t}>"));
                    }
                    _ => {}
                }
            }
        }
        for _ in 0..2000 {
            let mut html = String::new();
            tree(&mut rng, 0, &mut html);
            assert_eq!(
                drop_empty_wrappers(&html),
                drop_empty_wrappers_by_search(&html),
                "{html:?}"
            );
        }
    }

    #[test]
    fn formulas_become_their_text() {
        let base = url::Url::parse("https://e.com/post").unwrap();
        let sanitized = |html: &str| crate::normalize::sanitize_html(html, &base);
        // pandoc's MathML: the TeX it was written in
        let pandoc = "<p>When you request\n<math display=\"inline\" \
            xmlns=\"http://www.w3.org/1998/Math/MathML\"><semantics><mi>n</mi>\
            <annotation encoding=\"application/x-tex\">n</annotation></semantics></math>\n\
            bytes, it takes <math><semantics><mrow><msup><mi>G</mi><mn>2</mn></msup>\
            <mo>&lt;</mo><mi>n</mi></mrow><annotation encoding=\"application/x-tex\">\
            G^2 &lt; n</annotation></semantics></math>.</p>";
        assert_eq!(
            sanitized(pandoc),
            "<p>When you request\nn\nbytes, it takes G^2 &lt; n.</p>"
        );
        // alttext first; without TeX, what it shows less its annotations
        assert_eq!(
            strip_clutter(r#"a <math alttext="x &gt; 1"><mi>x</mi></math> b"#),
            "a x &gt; 1 b"
        );
        assert_eq!(
            strip_clutter(
                "<math><mrow><mi>x</mi><mo>+</mo><mn>1</mn></mrow>\
                 <annotation-xml encoding=\"MathML-Content\"><apply>no</apply></annotation-xml>\
                 <annotation encoding=\"text/plain\">no</annotation></math> = y"
            ),
            "x+1 = y"
        );
        // KaTeX draws the formula twice (MathML, then spans): once
        let katex = "<p>so <span class=\"katex\"><span class=\"katex-mathml\"><math><semantics>\
            <mrow><msub><mi>a</mi><mi>i</mi></msub></mrow><annotation \
            encoding=\"application/x-tex\">a_i</annotation></semantics></math></span>\
            <span class=\"katex-html\" aria-hidden=\"true\"><span class=\"mord\">a</span>\
            <span class=\"vlist\">i</span></span></span> holds</p>";
        assert_eq!(sanitized(katex), "<p>so a_i holds</p>");
        // a formula never closed stays as written (and the sanitizer drops it, as before);
        // markup in an annotation is text
        assert_eq!(
            strip_clutter("x <math><mi>n</mi> y"),
            "x <math><mi>n</mi> y"
        );
        assert_eq!(
            sanitized(
                "<math><annotation encoding=\"TeX\">&lt;script&gt;x&lt;/script&gt;\
                 </annotation></math>"
            ),
            "&lt;script&gt;x&lt;/script&gt;"
        );
    }

    #[test]
    fn embedded_players_become_links_to_what_they_play() {
        let base = url::Url::parse("https://blog.example/post").unwrap();
        let sanitized = |html: &str| crate::normalize::sanitize_html(html, &base);
        let youtube = "<p>Watch:</p><iframe width=\"560\" height=\"315\" \
            src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?si=x\" \
            title=\"Launch &amp; landing\" allowfullscreen>no frames here</iframe><p>After.</p>";
        assert_eq!(
            sanitized(youtube),
            "<p>Watch:</p><a href=\"https://www.youtube.com/watch?v=dQw4w9WgXcQ\" \
             rel=\"noopener noreferrer nofollow\">Launch &amp; landing</a><p>After.</p>"
        );
        // each player's page, shown by its address when the frame has no title; a lazy
        // embed's `data-src`; one never closed runs to the end
        for (frame, page) in [
            (
                r#"<IFRAME SRC="//player.vimeo.com/video/76979871?h=8"></IFRAME>"#,
                "https://vimeo.com/76979871",
            ),
            (
                r#"<iframe data-src="https://www.youtube.com/embed/abc_12-X"></iframe>"#,
                "https://www.youtube.com/watch?v=abc_12-X",
            ),
            (
                r#"<iframe src="https://www.dailymotion.com/embed/video/x8abc"></iframe>"#,
                "https://www.dailymotion.com/video/x8abc",
            ),
            (
                r#"<iframe src="https://open.spotify.com/embed/episode/4rOoJ6Egrf?utm=x"></iframe>"#,
                "https://open.spotify.com/episode/4rOoJ6Egrf",
            ),
            (
                "<iframe src=\"https://w.soundcloud.com/player/?url=https%3A//api.soundcloud.com/tracks/293\
                 &amp;auto_play=false\"></iframe>",
                "https://api.soundcloud.com/tracks/293",
            ),
            (
                r#"<iframe src="https://www.youtube.com/embed/v1"><p>rest"#,
                "https://www.youtube.com/watch?v=v1",
            ),
            // a news page's charts, posts and maps
            (
                r#"<iframe src="https://datawrapper.dwcdn.net/Ab3xY/4/" scrolling="no"></iframe>"#,
                "https://datawrapper.dwcdn.net/Ab3xY/4/",
            ),
            (
                r#"<iframe data-src="//datawrapper.dwcdn.net/Ab3xY"></iframe>"#,
                "https://datawrapper.dwcdn.net/Ab3xY/",
            ),
            (
                r#"<iframe src="https://flo.uri.sh/visualisation/1234567/embed"></iframe>"#,
                "https://public.flourish.studio/visualisation/1234567/",
            ),
            (
                r#"<iframe src="https://www.instagram.com/p/C1a-b_2/embed/captioned/"></iframe>"#,
                "https://www.instagram.com/p/C1a-b_2/",
            ),
            (
                r#"<iframe src="https://www.google.com/maps/embed?pb=!1m18!1m12"></iframe>"#,
                "https://www.google.com/maps/embed?pb=!1m18!1m12",
            ),
        ] {
            assert_eq!(
                strip_clutter(frame),
                format!(r#"<a href="{page}">{page}</a>"#),
                "{frame}"
            );
        }
        // the Maps Embed API's frames: the page of what they show, without the site's key
        for (frame, page) in [
            (
                "https://www.google.com/maps/embed/v1/place?key=AIzaSyX&amp;q=Eiffel+Tower,Paris+France",
                "https://www.google.com/maps/search/?api=1&query=Eiffel+Tower%2CParis+France",
            ),
            (
                "https://www.google.com/maps/embed/v1/search?q=record%20stores%20in%20Seattle&key=K",
                "https://www.google.com/maps/search/?api=1&query=record+stores+in+Seattle",
            ),
            (
                "https://www.google.com/maps/embed/v1/directions?key=K&origin=Oslo&destination=Telemark+Norway&mode=driving",
                "https://www.google.com/maps/dir/?api=1&origin=Oslo&destination=Telemark+Norway",
            ),
            (
                "https://www.google.com/maps/embed/v1/view?key=K&center=-33.8569,151.2152&zoom=18",
                "https://www.google.com/maps/@?api=1&map_action=map&center=-33.8569%2C151.2152&zoom=18",
            ),
            (
                "https://www.google.com/maps/embed/v1/streetview?key=K&location=46.414382,10.013988",
                "https://www.google.com/maps/@?api=1&map_action=pano&viewpoint=46.414382%2C10.013988",
            ),
        ] {
            let out = strip_clutter(&format!(r#"<iframe src="{frame}" width="600"></iframe>"#));
            let href = page.replace('&', "&amp;");
            assert_eq!(out, format!(r#"<a href="{href}">{href}</a>"#), "{frame}");
            assert!(!out.contains("key="), "{out}");
        }
        // any other frame is active content, which the sanitizer drops as before (what it
        // holds is text to the parser)
        for other in [
            r#"a<iframe src="https://evil.example/x" title="Log in"></iframe>b"#,
            r#"a<iframe src="javascript:alert(1)"></iframe>b"#,
            r#"a<iframe src="https://www.youtube.com/embed/a&quot;onclick=&quot;x"></iframe>b"#,
            r#"a<iframe src="https://w.soundcloud.com/player/?url=https://evil.example/"></iframe>b"#,
            r#"a<iframe src="/embed/7"></iframe>b"#,
            r#"a<iframe src="https://datawrapper.dwcdn.net/a.b/1/"></iframe>b"#,
            r#"a<iframe src="https://flo.uri.sh/login/1/embed"></iframe>b"#,
            r#"a<iframe src="https://www.google.com/maps/embed"></iframe>b"#,
            r#"a<iframe src="https://www.google.com/maps/embed/v1/place?key=K"></iframe>b"#,
            r#"a<iframe src="https://www.google.com/maps/embed/v1/login?key=K&q=x"></iframe>b"#,
            r#"a<iframe src="https://www.google.com/search?q=x"></iframe>b"#,
            r#"a<iframe></iframe>b"#,
        ] {
            assert_eq!(strip_clutter(other), other);
            assert_eq!(sanitized(other), "ab", "{other}");
        }
    }

    #[test]
    fn pixels_flares_and_share_lists_go() {
        let html = r#"<p>Body <img src="https://e.com/a.jpg" width="600" height="400"></p>
<img src="http://feedpress.me/980/4243452.gif" height="1" width="1"/>
<img src="https://feeds.feedburner.com/~r/x/~4/abc">
<div class="feedflare"><a href="http://feeds.feedburner.com/~ff/x?a=1"><img src="http://feeds.feedburner.com/~ff/x?i=1"></a><div>nested</div></div>
<ul class="links"><li><a href="https://www.facebook.com/sharer/sharer.php?u=x">Facebook</a></li><li><a href="/share">Share on Twitter</a></li></ul>
<p><a href="/s1"><span>Email</span> this</a> <a href="/s2">Tweet
   THIS</a> <a href="/s3">Pin&nbsp;it</a></p>
<p><a href="HTTPS://Twitter.COM/Intent/Tweet?text=x">X</a></p>
<div class="sharedaddy sd-sharing-enabled">share</div><p>End</p>"#;
        let out = strip_clutter(html);
        assert!(out.contains(r#"<img src="https://e.com/a.jpg""#), "{out}");
        for gone in [
            "feedpress",
            "~r/",
            "feedflare",
            "nested",
            "facebook",
            "Share on",
            "Email",
            "THIS",
            "Pin",
            "sharedaddy",
            "Twitter.COM",
        ] {
            assert!(!out.contains(gone), "{gone} in {out}");
        }
        assert!(out.contains("<p>End</p>"), "{out}");
        // a label with a non-breaking space and a bidi control in it, still a label
        let out = strip_clutter("<p><a href=\"/s4\">  share\u{a0}this\u{202e} </a>.</p>");
        assert_eq!(out, "<p>.</p>");
        let clean = drop_empty_wrappers(
            "<ul class=\"x\"><li></li></ul><p>a</p><p> </p><ul><li> </li></ul>",
        );
        assert_eq!(clean, "<ul class=\"x\"></ul><p>a</p>");
    }

    #[test]
    fn ordinary_links_and_unclosed_tags_stay() {
        let html = r#"<p>See <a href="https://e.com/story">the story</a> and <div class="share">"#;
        assert_eq!(strip_clutter(html), html);
        // as long as a label, or longer: a link about sharing, not a button
        let html =
            r#"<p><a href="/a">Share this story on Twitter</a> <a href="/b">share   this!</a></p>"#;
        assert_eq!(strip_clutter(html), html);
        assert_eq!(strip_clutter("a < b > c"), "a < b > c");
        assert_eq!(
            strip_html_tags("<span class=\"k\">Breaking:</span> the <new> rules<br/>"),
            "Breaking: the <new> rules "
        );
    }
}
