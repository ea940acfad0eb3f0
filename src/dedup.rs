//! Identity and deduplication rules; pure.
//!
//! Within a feed an entry is known by its guid, else its canonical link, else a hash of its
//! text. Across feeds, entries with the same canonical URL are one story, whose fields are
//! derived from all of its entries so that merging never loses what a feed said.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use crate::article::{Article, ArticleKey};
use crate::neardup;

/// Query parameters that only track the reader and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wickedid",
    "rb_clickid",
    "s_cid",
    "ncid",
    "cmpid",
    "ocid",
    "spm",
    "sr_share",
    "at_medium",
    "at_campaign",
    "outbrain",
    "ito",
    "xtor",
];

fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_")
        || lower.starts_with("pk_")
        || TRACKING_PARAMS.contains(&lower.as_str())
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("{s}=").as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default()
}

/// The canonical form of a link: scheme and host lowercased and the default port dropped
/// (the `url` crate does both), fragment and tracking parameters removed.
/// Only http(s) URLs have a canonical form.
pub fn canonical_url(url: &Url) -> Option<String> {
    canonical(url, false)
}

/// The canonical form of a link with its fragment kept: what identifies an entry within its
/// feed when it has no guid. Some sites publish several posts on one page and tell them
/// apart only by the fragment (`/2017/06/25.html#a110613`).
pub fn identity_url(url: &Url) -> Option<String> {
    canonical(url, true)
}

fn canonical(url: &Url, keep_fragment: bool) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    let mut url = url.clone();
    if !keep_fragment || url.fragment().is_some_and(|f| f.is_empty()) {
        url.set_fragment(None);
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if let Some(query) = url.query().map(str::to_string) {
        // drop tracking parameters and leave the rest exactly as written
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                !pair.is_empty() && !is_tracking_param(&percent_decode(key))
            })
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else if kept.len() != query.split('&').count() {
            url.set_query(Some(&kept.join("&")));
        }
    }
    Some(url.into())
}

/// Hex SHA-256 of the parts, each terminated so that ("ab","c") != ("a","bc").
pub fn hash_parts(parts: &[&str]) -> String {
    let mut h = Parts::default();
    for p in parts {
        h.part(p);
    }
    h.hex()
}

/// [`hash_parts`] of the one part `bytes` read as UTF-8 (a sequence that is not UTF-8 as
/// U+FFFD, as [`String::from_utf8_lossy`] reads it): a fetched document's hash. Text that
/// is UTF-8 is hashed as it is, checked at the validator's speed (the lossy reader takes a
/// byte at a time: 1% of a first poll's instructions, for documents that are nearly all
/// UTF-8).
pub fn hash_text_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => hash_parts(&[text]),
        Err(_) => hash_parts(&[&String::from_utf8_lossy(bytes)]),
    }
}

/// [`hash_parts`] fed a part at a time, and a part a piece at a time: no part is put
/// together in a string of its own first.
#[derive(Default)]
struct Parts(Sha256);

impl Parts {
    fn part(&mut self, p: &str) {
        self.joined(std::iter::once(p), "");
    }

    /// One part: the pieces joined by `sep`.
    fn joined<'a>(&mut self, pieces: impl IntoIterator<Item = &'a str>, sep: &str) {
        for (i, piece) in pieces.into_iter().enumerate() {
            if i > 0 {
                self.0.update(sep.as_bytes());
            }
            self.0.update(piece.as_bytes());
        }
        self.0.update([0u8]);
    }

    fn hex(self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        self.0
            .finalize()
            .iter()
            .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
            .map(char::from)
            .collect()
    }
}

/// An entry's identity within its feed, in the fixed order guid -> canonical link -> text hash.
pub fn identity(
    guid: Option<&str>,
    canonical: Option<&str>,
    title: &str,
    content: &str,
) -> ArticleKey {
    if let Some(g) = guid.map(str::trim).filter(|g| !g.is_empty()) {
        ArticleKey::Guid(g.to_string())
    } else if let Some(c) = canonical {
        ArticleKey::Url(c.to_string())
    } else {
        ArticleKey::Hash(hash_parts(&[title, content]))
    }
}

/// The words of sanitized HTML: tags dropped, entities decoded, whitespace collapsed. The
/// HTML comes from the sanitizer, so a plain scan is enough.
pub fn text_of_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    // the words of each piece between tags, its references decoded (a reference holds no
    // space, so none runs across a tag, which reads as a space between its neighbours)
    for piece in between_tags(html) {
        if memchr::memchr(b'&', piece.as_bytes()).is_some() {
            push_words(&mut text, &html_escape::decode_html_entities(piece));
        } else {
            push_words(&mut text, piece);
        }
    }
    text
}

/// What is outside `<...>` in `html`, piece by piece (an unclosed tag runs to the end);
/// `<` and `>` are ASCII, so every cut is at a character's boundary.
fn between_tags(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(html);
    std::iter::from_fn(move || {
        let r = rest?;
        let Some(open) = memchr::memchr(b'<', r.as_bytes()) else {
            rest = None;
            return Some(r);
        };
        rest = memchr::memchr(b'>', &r.as_bytes()[open..]).map(|close| &r[open + close + 1..]);
        Some(&r[..open])
    })
}

/// Appends the words of `s` to `text`, one space between each.
fn push_words(text: &mut String, s: &str) {
    for word in s.split_whitespace() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    }
}

/// A hash of what a reader reads of an entry: a change in it is an update. Markup and
/// whitespace are left out, so that a feed re-rendering the same text is not "updated".
pub fn content_hash(a: &Article) -> String {
    hash_with_text(a, &text_of_html(a.content.as_deref().unwrap_or("")))
}

/// [`content_hash`], with the text of the content already taken.
fn hash_with_text(a: &Article, content_text: &str) -> String {
    let mut h = Parts::default();
    h.joined(a.title.split_whitespace(), " ");
    h.part(a.link.as_deref().unwrap_or(""));
    h.joined(a.summary.as_deref().unwrap_or("").split_whitespace(), " ");
    h.part(content_text);
    h.joined(a.authors.iter().map(String::as_str), "\u{1f}");
    h.joined(a.categories.iter().map(String::as_str), "\u{1f}");
    h.part(a.image.as_deref().unwrap_or(""));
    h.part(a.image_credit.as_deref().unwrap_or(""));
    h.hex()
}

/// Everything the store derives from an article's text, computed once per article in the
/// parse threads (see [`crate::normalize`]) so that the writer only writes: the content
/// hash, the plain text of the body (what search indexes), and what near-duplicate
/// detection compares and indexes. The body's HTML is scanned once for all of them.
#[derive(Debug, Clone)]
pub struct ArticleText {
    /// [`content_hash`].
    pub hash: String,
    /// The words of the body ([`text_of_html`] of the content), else the summary: what
    /// search indexes and near-duplicates are compared on.
    pub body: String,
    /// The text near-duplicate detection compares.
    pub near: Arc<neardup::Text>,
    /// Its index keys ([`neardup::Text::keys`]).
    pub keys: Vec<u32>,
}

/// The words a copy is compared and searched by: its content's text, else its summary.
/// [`ArticleText::of`] follows the same rule for an article in hand; this is it for a copy
/// read back from the store.
pub fn body_words(content: Option<&str>, summary: Option<&str>) -> String {
    match (content, summary) {
        (Some(c), _) => text_of_html(c),
        (None, Some(s)) => s.to_string(),
        (None, None) => String::new(),
    }
}

impl ArticleText {
    /// The text of one article.
    pub fn of(a: &Article) -> ArticleText {
        let content = a.content.as_deref().map(text_of_html);
        let hash = hash_with_text(a, content.as_deref().unwrap_or(""));
        let body = content.or_else(|| a.summary.clone()).unwrap_or_default();
        let near = neardup::text(&a.title, &body);
        let keys = near.keys();
        ArticleText {
            hash,
            body,
            near: Arc::new(near),
            keys,
        }
    }
}

/// An article with its text computed: what the store is given.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The article.
    pub article: Article,
    /// Its text.
    pub text: ArticleText,
}

impl Prepared {
    /// Computes the article's text (in the caller's thread).
    pub fn new(article: Article) -> Prepared {
        let text = ArticleText::of(&article);
        Prepared { article, text }
    }

    /// The article and its content hash, as [`crate::plan::entries`] takes them.
    pub fn incoming(&self) -> crate::plan::Incoming<'_> {
        crate::plan::Incoming {
            article: &self.article,
            hash: &self.text.hash,
        }
    }
}

/// An entry as stored, with the times the store resolved.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// The entry. `published` and `updated` are always set here.
    pub article: Article,
    /// When newswire first saw it.
    pub first_seen: DateTime<Utc>,
}

/// What the merged feed shows for one story.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryFields {
    /// Headline of the earliest copy.
    pub title: String,
    /// The canonical link (or the earliest copy's link).
    pub link: Option<String>,
    /// Earliest publication time of any copy.
    pub published: DateTime<Utc>,
    /// Latest update of any copy.
    pub updated: DateTime<Utc>,
    /// Summary of the fullest copy (or any copy that has one).
    pub summary: Option<String>,
    /// The fullest content of any copy.
    pub content: Option<String>,
    /// Union of authors, in order of first appearance.
    pub authors: Vec<String>,
    /// Union of categories (case-insensitive), in order of first appearance.
    pub categories: Vec<String>,
    /// Lead image of the earliest copy that has one.
    pub image: Option<String>,
    /// That image's credit or caption.
    pub image_credit: Option<String>,
    /// Language of the earliest copy that has one.
    pub language: Option<String>,
    /// When newswire first saw any copy.
    pub first_seen: DateTime<Utc>,
}

fn union_into(into: &mut Vec<String>, items: &[String]) {
    for item in items {
        if !into.iter().any(|x| x.eq_ignore_ascii_case(item)) {
            into.push(item.clone());
        }
    }
}

/// What deriving a story needs of one of its copies: its fields, and of its body and
/// summary only how full they are (the story names the copies it shows them from).
#[derive(Debug, Clone, PartialEq)]
pub struct CopyFields {
    /// The copy (an entry id, or any number that tells copies apart).
    pub id: i64,
    /// Its headline.
    pub title: String,
    /// Its link.
    pub link: Option<String>,
    /// Its canonical link.
    pub canonical_url: Option<String>,
    /// Its authors.
    pub authors: Vec<String>,
    /// Its publication time.
    pub published: Option<DateTime<Utc>>,
    /// Its update time.
    pub updated: Option<DateTime<Utc>>,
    /// Bytes of its content (0 without one).
    pub content_len: usize,
    /// Whether it has a summary.
    pub has_summary: bool,
    /// Its categories.
    pub categories: Vec<String>,
    /// Its lead image.
    pub image: Option<String>,
    /// That image's credit.
    pub image_credit: Option<String>,
    /// Its language.
    pub language: Option<String>,
    /// When newswire first saw it.
    pub first_seen: DateTime<Utc>,
}

/// A story as stored: its derived fields, and the copies its body and summary are shown
/// from (the body is stored once, in its entry).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryRow {
    /// Headline of the earliest copy.
    pub title: String,
    /// The canonical link (or the earliest copy's link).
    pub link: Option<String>,
    /// Earliest publication time of any copy.
    pub published: DateTime<Utc>,
    /// Latest update of any copy.
    pub updated: DateTime<Utc>,
    /// The fullest copy: the story's content is its content.
    pub content_from: i64,
    /// The copy whose summary the story shows: the fullest copy's, else the earliest one's
    /// that has one.
    pub summary_from: Option<i64>,
    /// Union of authors, in order of first appearance.
    pub authors: Vec<String>,
    /// Union of categories (case-insensitive), in order of first appearance.
    pub categories: Vec<String>,
    /// Lead image of the earliest copy that has one.
    pub image: Option<String>,
    /// That image's credit or caption.
    pub image_credit: Option<String>,
    /// Language of the earliest copy that has one.
    pub language: Option<String>,
    /// When newswire first saw any copy.
    pub first_seen: DateTime<Utc>,
}

impl StoryRow {
    /// Whether `other` is this row but for the copies it names for its body and summary.
    pub fn differs_only_in_copies(&self, other: &StoryRow) -> bool {
        let StoryRow {
            title,
            link,
            published,
            updated,
            content_from: _,
            summary_from: _,
            authors,
            categories,
            image,
            image_credit,
            language,
            first_seen,
        } = self;
        *title == other.title
            && *link == other.link
            && *published == other.published
            && *updated == other.updated
            && *authors == other.authors
            && *categories == other.categories
            && *image == other.image
            && *image_credit == other.image_credit
            && *language == other.language
            && *first_seen == other.first_seen
    }
}

/// Derives a story from its copies (at least one). Copies are taken earliest first.
pub fn derive_story(copies: &[CopyFields]) -> Option<StoryRow> {
    let mut sorted: Vec<&CopyFields> = copies.iter().collect();
    sorted.sort_by_key(|e| (e.published, e.first_seen));
    let first = sorted.first()?;
    let fullest = sorted
        .iter()
        // prefer the earliest copy among equally full ones
        .max_by_key(|e| (e.content_len, std::cmp::Reverse(e.published)))
        .copied()
        .unwrap_or(first);
    let mut authors = Vec::new();
    let mut categories = Vec::new();
    for e in &sorted {
        union_into(&mut authors, &e.authors);
        union_into(&mut categories, &e.categories);
    }
    let published = first.published.unwrap_or(first.first_seen);
    Some(StoryRow {
        title: first.title.clone(),
        link: first.canonical_url.clone().or_else(|| first.link.clone()),
        published,
        updated: sorted
            .iter()
            .filter_map(|e| e.updated.or(e.published))
            .max()
            .unwrap_or(published)
            .max(published),
        content_from: fullest.id,
        summary_from: if fullest.has_summary {
            Some(fullest.id)
        } else {
            sorted.iter().find(|e| e.has_summary).map(|e| e.id)
        },
        authors,
        categories,
        image: sorted.iter().find_map(|e| e.image.clone()),
        image_credit: sorted
            .iter()
            .find(|e| e.image.is_some())
            .and_then(|e| e.image_credit.clone()),
        language: sorted.iter().find_map(|e| e.language.clone()),
        first_seen: sorted
            .iter()
            .map(|e| e.first_seen)
            .min()
            .unwrap_or(first.first_seen),
    })
}

impl CopyFields {
    /// The fields of a stored entry, known as copy `id`.
    pub fn of(id: i64, e: &StoredEntry) -> CopyFields {
        let a = &e.article;
        CopyFields::of_article(id, a, a.published, a.updated, e.first_seen)
    }

    /// The fields of article `a` as copy `id`, with these times.
    pub fn of_article(
        id: i64,
        a: &Article,
        published: Option<DateTime<Utc>>,
        updated: Option<DateTime<Utc>>,
        first_seen: DateTime<Utc>,
    ) -> CopyFields {
        CopyFields {
            id,
            title: a.title.clone(),
            link: a.link.clone(),
            canonical_url: a.canonical_url.clone(),
            authors: a.authors.clone(),
            published,
            updated,
            content_len: a.content.as_deref().map_or(0, str::len),
            has_summary: a.summary.is_some(),
            categories: a.categories.clone(),
            image: a.image.clone(),
            image_credit: a.image_credit.clone(),
            language: a.language.clone(),
            first_seen,
        }
    }
}

/// Derives a story from its entries (at least one), bodies included: [`derive_story`] with
/// the summary and content of the copies it names.
pub fn merge_story(entries: &[StoredEntry]) -> Option<StoryFields> {
    let copies: Vec<CopyFields> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| CopyFields::of(i as i64, e))
        .collect();
    let row = derive_story(&copies)?;
    let of = |i: i64| &entries[i as usize].article;
    Some(StoryFields {
        title: row.title,
        link: row.link,
        published: row.published,
        updated: row.updated,
        summary: row.summary_from.and_then(|i| of(i).summary.clone()),
        content: of(row.content_from).content.clone(),
        authors: row.authors,
        categories: row.categories,
        image: row.image,
        image_credit: row.image_credit,
        language: row.language,
        first_seen: row.first_seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_url(&Url::parse(s).unwrap()).unwrap()
    }

    #[test]
    fn canonical_url_strips_tracking_and_normalizes() {
        assert_eq!(
            canon(
                "HTTPS://WWW.Example.COM:443/Opinion/Piece.html?utm_source=rss&utm_medium=feed&id=7&fbclid=x#comments"
            ),
            "https://www.example.com/Opinion/Piece.html?id=7"
        );
        assert_eq!(
            canon("http://example.com:80/a?gclid=1"),
            "http://example.com/a"
        );
        assert_eq!(
            canon("http://example.com:8080/a"),
            "http://example.com:8080/a"
        );
        assert!(canonical_url(&Url::parse("javascript:alert(1)").unwrap()).is_none());
        // queries without tracking parameters are left exactly as written
        assert_eq!(canon("https://e.com/a?story"), "https://e.com/a?story");
        assert_eq!(
            canon("https://e.com/a?id=1;2&q=a%20b"),
            "https://e.com/a?id=1;2&q=a%20b"
        );
        assert_eq!(
            canon("https://e.com/a?q=a%20b&UTM_Source=x"),
            "https://e.com/a?q=a%20b"
        );
        assert!(canonical_url(&Url::parse("mailto:a@b.c").unwrap()).is_none());
    }

    #[test]
    fn identity_falls_back_in_order() {
        assert_eq!(
            identity(Some(" g1 "), Some("u"), "t", "c"),
            ArticleKey::Guid("g1".into())
        );
        assert_eq!(
            identity(Some(""), Some("u"), "t", "c"),
            ArticleKey::Url("u".into())
        );
        let a = identity(None, None, "t", "c");
        assert_eq!(a, identity(None, None, "t", "c"));
        assert_ne!(a, identity(None, None, "t", "c2"));
        assert_ne!(
            identity(None, None, "ab", "c"),
            identity(None, None, "a", "bc")
        );
    }

    /// Random strings of pieces that matter to markup, entities and whitespace.
    fn random_strings(count: usize, pieces: &[&str]) -> Vec<String> {
        let mut rng = crate::testing::Rng::new(0x9e37_79b9_7f4a_7c15);
        (0..count).map(|_| rng.string_of(pieces, 40)).collect()
    }

    const MARKUP: &[&str] = &[
        "<",
        ">",
        "<p>",
        "</p>",
        "<a href=\"x>y\">",
        "&amp;",
        "&lt;",
        "&#x3c;",
        "&nbsp;",
        "&",
        "word",
        "Wörd",
        "東京",
        " ",
        "  ",
        "\n",
        "\t",
        "\u{a0}",
        "\u{3000}",
        "x",
        "<br/>",
        "<!-- c -->",
        // pieces of references, to be cut by a tag
        "&lt",
        "amp;",
        ";",
        "&#",
        "60;",
    ];

    #[test]
    fn text_of_html_reads_as_before() {
        // as it was written before it went by `find`: a char at a time
        fn before(html: &str) -> String {
            let mut out = String::new();
            let mut in_tag = false;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => {
                        in_tag = false;
                        out.push(' ');
                    }
                    _ if !in_tag => out.push(c),
                    _ => {}
                }
            }
            let decoded = html_escape::decode_html_entities(&out);
            decoded.split_whitespace().collect::<Vec<_>>().join(" ")
        }
        for html in random_strings(5000, MARKUP) {
            assert_eq!(text_of_html(&html), before(&html), "{html:?}");
        }
        // and without references, read in one pass
        let plain: Vec<&str> = MARKUP
            .iter()
            .copied()
            .filter(|p| !p.contains('&'))
            .collect();
        for html in random_strings(5000, &plain) {
            assert_eq!(text_of_html(&html), before(&html), "{html:?}");
        }
    }

    #[test]
    fn content_hashes_are_as_before() {
        // stored hashes are compared with new ones: a change would make every entry "updated"
        fn before(a: &Article, content_text: &str) -> String {
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let parts = [
                words(&a.title),
                a.link.clone().unwrap_or_default(),
                words(a.summary.as_deref().unwrap_or("")),
                content_text.to_string(),
                a.authors.join("\u{1f}"),
                a.categories.join("\u{1f}"),
                a.image.clone().unwrap_or_default(),
                a.image_credit.clone().unwrap_or_default(),
            ];
            let mut h = Sha256::new();
            for p in &parts {
                h.update(p.as_bytes());
                h.update([0u8]);
            }
            h.finalize().iter().map(|b| format!("{b:02x}")).collect()
        }
        let texts = random_strings(600, MARKUP);
        for (i, chunk) in texts.chunks(6).enumerate() {
            let some = |j: usize| (i % (j + 2) != 0).then(|| chunk[j].clone());
            let a = Article {
                title: chunk[0].clone(),
                link: some(1),
                summary: some(2),
                content: some(3),
                authors: chunk[4]
                    .split('<')
                    .map(str::to_string)
                    .take(i % 3)
                    .collect(),
                categories: chunk[5]
                    .split('&')
                    .map(str::to_string)
                    .take(i % 4)
                    .collect(),
                image: some(4),
                image_credit: some(5),
                ..entry("", 0, "", &[]).article
            };
            let text = text_of_html(a.content.as_deref().unwrap_or(""));
            assert_eq!(content_hash(&a), before(&a, &text), "{a:?}");
        }
        // each part ends in a zero byte: sha256sum of "a\0\0"
        assert_eq!(
            hash_parts(&["a", ""]),
            "ea6fde9e840d240a4f5df3d85b5ad6183060057bd18dff9c453ba4061117f83b"
        );
    }

    #[test]
    fn a_document_is_hashed_as_the_text_it_reads_as() {
        // what documents were hashed as before (stored hashes still compare equal)
        let before = |b: &[u8]| hash_parts(&[&String::from_utf8_lossy(b)]);
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"<rss>plain</rss>".to_vec(),
            "<title>Zo\u{eb} \u{2014} \u{1f4f0}</title>"
                .as_bytes()
                .to_vec(),
            b"caf\xe9 latin-1".to_vec(),
            b"\xef\xbb\xbfBOM then a cut sequence \xe2\x80".to_vec(),
            b"\xff\xfe\x00<\x00r".to_vec(),
        ];
        // and random bytes, mostly text
        let mut seed = 7u64;
        for n in 0..200 {
            cases.push(
                (0..n * 7)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        let b = (seed >> 33) as u8;
                        if b % 5 == 0 { b | 0x80 } else { b'a' + b % 26 }
                    })
                    .collect(),
            );
        }
        for case in &cases {
            assert_eq!(hash_text_bytes(case), before(case), "{case:?}");
        }
    }

    fn entry(title: &str, published: i64, content: &str, cats: &[&str]) -> StoredEntry {
        StoredEntry {
            article: Article {
                key: ArticleKey::Guid(title.into()),
                guid: None,
                title: title.into(),
                link: Some("https://e.com/a?utm_source=x".into()),
                canonical_url: Some("https://e.com/a".into()),
                authors: vec![format!("{title} author")],
                published: DateTime::from_timestamp(published, 0),
                updated: None,
                summary: None,
                content: Some(content.into()),
                categories: cats.iter().map(|s| s.to_string()).collect(),
                image: None,
                image_credit: None,
                language: None,
            },
            first_seen: DateTime::from_timestamp(published + 100, 0).unwrap(),
        }
    }

    #[test]
    fn story_keeps_earliest_date_fullest_content_and_unions() {
        let s = merge_story(&[
            entry(
                "late",
                2000,
                "<p>full body of the story</p>",
                &["World", "china"],
            ),
            entry("early", 1000, "<p>short</p>", &["world", "Opinion"]),
        ])
        .unwrap();
        assert_eq!(s.title, "early");
        assert_eq!(s.published.timestamp(), 1000);
        assert_eq!(s.updated.timestamp(), 2000);
        assert_eq!(s.content.as_deref(), Some("<p>full body of the story</p>"));
        assert_eq!(s.categories, vec!["world", "Opinion", "china"]);
        assert_eq!(s.authors, vec!["early author", "late author"]);
        assert_eq!(s.link.as_deref(), Some("https://e.com/a"));
        assert_eq!(s.first_seen.timestamp(), 1100);
    }
}
