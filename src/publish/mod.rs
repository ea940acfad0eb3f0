//! The merged feed: read-only over the store. A format-neutral [`MergedFeed`] is built once
//! per request; `atom`, `rss` and `json` only map it to their format.

pub mod atom;
pub mod cache;
pub mod json;
pub mod page;
pub mod proxy;
pub mod rss;
pub mod server;
pub mod source;
pub mod story;

use crate::health::{FeedHealth, HealthInput};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::dedup::hash_parts;
use crate::store::{FeedState, Storage, StoreError, Story, StoryQuery};

/// Which part of the merged feed to show: a named `[[view]]`, narrowed further by
/// `?tag=`, `?feed=`, `?q=`, `?limit=` and paged with `?before=`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// A `[[view]]` from the config.
    pub view: Option<String>,
    /// Only stories from feeds with this tag.
    pub tag: Option<String>,
    /// Only stories from this feed.
    pub feed: Option<String>,
    /// Full-text search over title and body, as the reader typed it (see [`crate::search`]).
    pub q: Option<String>,
    /// At most this many stories (default: the view's or `output.limit`).
    pub limit: Option<usize>,
    /// Paging cursor: only stories older than this one (see [`MergedFeed::next_cursor`]).
    pub before: Option<String>,
    /// Every copy of every story (`?dedup=off`) instead of one entry per story.
    pub all_copies: bool,
}

/// A paging cursor: a story's publication time and row id.
pub fn parse_cursor(c: &str) -> Option<(DateTime<Utc>, i64)> {
    let (t, id) = c.rsplit_once('_')?;
    Some((
        DateTime::from_timestamp(t.parse().ok()?, 0)?,
        id.parse().ok()?,
    ))
}

fn cursor_of(published: DateTime<Utc>, id: i64) -> String {
    format!("{}_{id}", published.timestamp())
}

/// A value from a request, as an error message may repeat it: letters, digits and `-_.~`
/// as they are, anything else percent-encoded, at most 100 characters. An error page never
/// echoes markup or control characters a request put in a path or query.
pub fn shown(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == 100 {
            out.push('…');
            break;
        }
        if c.is_alphanumeric() || "-_.~".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Why a view cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// `?feed=` names no configured feed.
    #[error("no feed is called \"{}\"", shown(.0))]
    UnknownFeed(String),
    /// `?tag=` names a tag no configured feed has.
    #[error("no feed has the tag \"{}\"", shown(.0))]
    UnknownTag(String),
    /// The path names no configured `[[view]]`.
    #[error("no view is called \"{}\"", shown(.0))]
    UnknownView(String),
    /// `?before=` is not a cursor newswire made.
    #[error("`before` must be a paging cursor from a next link, not \"{}\"", shown(.0))]
    BadCursor(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

/// A feed that carried a story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntrySource {
    /// The feed's name in the config.
    pub name: String,
    /// The feed's display name: its `title` in the config, else the title the feed gives
    /// itself, else its name.
    pub title: String,
    /// The feed's URL.
    pub feed_url: String,
    /// The site the feed belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    /// That feed's link to the story.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One story of the merged feed, in no particular format.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedEntry {
    /// Stable id (a tag: URI derived from the story's key).
    pub id: String,
    /// Plain-text headline.
    pub title: String,
    /// Canonical link.
    pub link: Option<String>,
    /// Earliest publication time of any copy.
    pub published: DateTime<Utc>,
    /// Latest update of any copy.
    pub updated: DateTime<Utc>,
    /// Author names.
    pub authors: Vec<String>,
    /// Plain-text summary.
    pub summary: Option<String>,
    /// Sanitized HTML.
    pub content: Option<String>,
    /// The entries' own categories and the source feeds' tags.
    pub categories: Vec<String>,
    /// Lead image.
    pub image: Option<String>,
    /// The lead image's credit or caption.
    pub image_credit: Option<String>,
    /// Language tag.
    pub language: Option<String>,
    /// Every feed that carried it, earliest first.
    pub sources: Vec<EntrySource>,
    /// Paging cursor that starts the page after this entry.
    pub cursor: String,
}

/// The merged feed, in no particular format.
#[derive(Debug, Clone, PartialEq)]
pub struct MergedFeed {
    /// Feed title (`output.title`, plus the view).
    pub title: String,
    /// Stable feed id.
    pub id: String,
    /// When the merged feed last changed (or its newest entry's update time, if later).
    pub updated: DateTime<Utc>,
    /// Newest first.
    pub entries: Vec<MergedEntry>,
    /// The cursor of the next (older) page, when there is one.
    pub next_cursor: Option<String>,
    /// The language every entry shares, if they all share one.
    pub language: Option<String>,
    /// `output.icon`.
    pub icon: Option<String>,
    /// `output.logo`.
    pub logo: Option<String>,
    /// `output.hub`.
    pub hub: Option<String>,
}

/// URLs a rendered feed points to, worked out from the request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedLinks {
    /// Where this document is served (`rel="self"`).
    pub self_url: Option<String>,
    /// The next, older page.
    pub next_url: Option<String>,
    /// The HTML page showing the same stories.
    pub alternate_url: Option<String>,
}

impl FeedLinks {
    /// Only a self link (or none): for documents rendered outside a request.
    pub fn self_only(self_url: Option<&str>) -> FeedLinks {
        FeedLinks {
            self_url: self_url.map(str::to_string),
            ..Default::default()
        }
    }
}

/// The media type of an image, guessed from its URL's extension (JPEG when it has none).
pub fn image_mime(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    match path.rsplit('.').next() {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("avif") => "image/avif",
        Some("svg") => "image/svg+xml",
        _ => "image/jpeg",
    }
}

/// Stable id of a story.
pub fn story_id(key: &str) -> String {
    format!("tag:newswire,2026:story/{}", &hash_parts(&[key])[..32])
}

fn add_search(search: &mut Vec<String>, exclude: &mut Vec<String>, q: &crate::search::Query) {
    let compiled = q.fts5();
    search.extend(compiled.matching);
    exclude.extend(compiled.excluding);
}

/// What a view selects, worked out from the config: the query to run and the feed's title.
struct Selection {
    title: String,
    query: StoryQuery,
}

/// Which stories `view` shows: its `[[view]]`, then `?feed=`, `?tag=` and `?q=`, each
/// narrowing what came before; `?before=` and `?limit=` page it.
fn select(config: &Config, view: &View) -> Result<Selection, PublishError> {
    let mut feeds: Option<Vec<String>> = None;
    let mut title = config.output.title.clone();
    let mut search: Vec<String> = Vec::new();
    let mut exclude: Vec<String> = Vec::new();
    let mut limit = config.output.limit;
    // (feeds, tags) pairs: stories from a feed with one of the tags, or tagged so by a rule
    let mut tagged_by: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    let rule_tag = |tag: &str| {
        config
            .rules
            .iter()
            .any(|r| matches!(&r.action, crate::rules::Action::Tag(t) if t == tag))
    };
    let tagged = |tags: &[String]| -> Vec<String> {
        config
            .feeds
            .iter()
            .filter(|f| f.tags.iter().any(|t| tags.contains(t)))
            .map(|f| f.name.clone())
            .collect()
    };
    if let Some(name) = &view.view {
        let v = config
            .view(name)
            .ok_or_else(|| PublishError::UnknownView(name.clone()))?;
        title = v.title.clone();
        limit = v.limit;
        if v.tags.iter().any(|t| rule_tag(t)) {
            tagged_by.push((tagged(&v.tags), v.tags.clone()));
        } else if !v.tags.is_empty() {
            narrow(&mut feeds, tagged(&v.tags));
        }
        if !v.feeds.is_empty() {
            narrow(&mut feeds, v.feeds.clone());
        }
        if let Some(q) = &v.query {
            add_search(&mut search, &mut exclude, &crate::search::parse(q));
        }
    }
    if let Some(name) = &view.feed {
        if config.feed(name).is_none() {
            return Err(PublishError::UnknownFeed(name.clone()));
        }
        narrow(&mut feeds, vec![name.clone()]);
        title = format!("{title}: {name}");
    }
    if let Some(tag) = &view.tag {
        if rule_tag(tag) {
            // from a feed with the tag, or given it by a rule
            tagged_by.push((tagged(std::slice::from_ref(tag)), vec![tag.clone()]));
        } else if config.feeds.iter().any(|f| f.tags.iter().any(|t| t == tag)) {
            narrow(&mut feeds, tagged(std::slice::from_ref(tag)));
        } else {
            return Err(PublishError::UnknownTag(tag.clone()));
        }
        title = format!("{title} #{tag}");
    }
    if let Some(q) = view.q.as_deref() {
        // what the reader typed is words, never syntax: see `crate::search`
        let parsed = crate::search::parse(q);
        if !parsed.is_empty() {
            title = format!("{title} \u{201c}{}\u{201d}", parsed.display());
            add_search(&mut search, &mut exclude, &parsed);
        }
    }
    let before = match &view.before {
        None => None,
        Some(c) => Some(parse_cursor(c).ok_or_else(|| PublishError::BadCursor(c.clone()))?),
    };
    Ok(Selection {
        title,
        query: StoryQuery {
            feeds,
            limit: view.limit.unwrap_or(limit).clamp(1, 10_000),
            search,
            before,
            copies: view.all_copies,
            tagged: tagged_by,
            exclude,
        },
    })
}

/// Narrows `feeds` to those also in `only`.
fn narrow(feeds: &mut Option<Vec<String>>, only: Vec<String>) {
    *feeds = Some(match feeds.take() {
        None => only,
        Some(cur) => cur.into_iter().filter(|f| only.contains(f)).collect(),
    });
}

/// A stored story as the merged feed shows it: its categories joined by its feeds' tags and
/// the tags rules gave it (`by_rules`), its sources by their display names.
fn merged_entry(
    s: Story,
    feed_tags: &HashMap<&str, &[String]>,
    by_rules: Vec<String>,
    source_in: source::SourceIn,
) -> MergedEntry {
    let mut categories = s.fields.categories.clone();
    for src in &s.sources {
        for t in feed_tags
            .get(src.feed.as_str())
            .copied()
            .unwrap_or_default()
            .iter()
            .chain(&by_rules)
        {
            if !categories.iter().any(|c| c.eq_ignore_ascii_case(t)) {
                categories.push(t.clone());
            }
        }
    }
    MergedEntry {
        id: story_id(&s.key),
        title: s.fields.title,
        link: s.fields.link,
        published: s.fields.published,
        updated: s.fields.updated,
        authors: s.fields.authors,
        summary: s.fields.summary,
        content: if source_in.content {
            source::with_source_line(s.fields.content, &s.sources)
        } else {
            s.fields.content
        },
        categories,
        image: s.fields.image,
        image_credit: s.fields.image_credit,
        language: s.fields.language,
        cursor: cursor_of(s.fields.published, s.id),
        sources: s
            .sources
            .into_iter()
            .map(|src| EntrySource {
                title: src.feed_title.clone().unwrap_or_else(|| src.feed.clone()),
                name: src.feed,
                feed_url: src.feed_url,
                site_url: src.site_url,
                link: src.link,
            })
            .collect(),
    }
}

/// Builds the merged feed for `view` from the store, as the config describes it now.
pub fn build(
    store: &dyn Storage,
    config: &Config,
    view: &View,
) -> Result<MergedFeed, PublishError> {
    let Selection { title, mut query } = select(config, view)?;
    let limit = query.limit;
    // one more than asked, to know whether there is a next page
    query.limit += 1;
    let mut stories = store.stories_fair(&query, config.output.per_feed)?;
    let has_more = stories.len() > limit;
    stories.truncate(limit);
    let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
    let mut rule_tags = store.rule_tags(&ids, view.all_copies)?;
    // a feed's `title` in the config is its display name
    for src in stories.iter_mut().flat_map(|s| s.sources.iter_mut()) {
        if let Some(title) = config.feed(&src.feed).and_then(|f| f.title.as_ref()) {
            src.feed_title = Some(title.clone());
        }
    }
    let feed_tags: HashMap<&str, &[String]> = config
        .feeds
        .iter()
        .map(|f| (f.name.as_str(), f.tags.as_slice()))
        .collect();
    let entries: Vec<MergedEntry> = stories
        .into_iter()
        .map(|s| {
            let by_rules = rule_tags.remove(&s.id).unwrap_or_default();
            merged_entry(s, &feed_tags, by_rules, config.output.source_in)
        })
        .collect();
    // when newswire's output changed, not what the feeds claim: a new story may carry an
    // older date, and a removed feed changes nothing the entries' dates would show
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .chain(store.changed_at()?)
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let view_key = format!(
        "{:?}|{:?}|{:?}|{:?}",
        view.tag, view.feed, view.view, view.q
    );
    let next_cursor = has_more
        .then(|| entries.last().map(|e| e.cursor.clone()))
        .flatten();
    let first_language = entries.first().and_then(|e| e.language.clone());
    let language = first_language.filter(|l| {
        entries
            .iter()
            .all(|e| e.language.as_deref() == Some(l.as_str()))
    });
    Ok(MergedFeed {
        title,
        id: format!("tag:newswire,2026:feed/{}", &hash_parts(&[&view_key])[..16]),
        updated,
        entries,
        next_cursor,
        language,
        icon: config.output.icon.clone(),
        logo: config.output.logo.clone(),
        hub: config.output.hub.clone(),
    })
}

/// A merged feed with no stories, for a page that says what went wrong instead.
pub fn empty_feed(config: &Config) -> MergedFeed {
    MergedFeed {
        title: config.output.title.clone(),
        id: "tag:newswire,2026:feed/none".to_string(),
        updated: DateTime::UNIX_EPOCH,
        entries: Vec::new(),
        next_cursor: None,
        language: None,
        icon: config.output.icon.clone(),
        logo: config.output.logo.clone(),
        hub: config.output.hub.clone(),
    }
}

/// A feed's health as `newswire feeds` and `/status` show it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    /// The feed's name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Whether it is polled.
    pub enabled: bool,
    /// Its tags.
    pub tags: Vec<String>,
    /// The cron schedule it runs on.
    pub schedule: String,
    /// `ok`, `recovered` (read, but only by repairing it: `last_error` says how),
    /// `not_modified`, `failing`, `paused` (by the server), `moved` (permanent
    /// redirect: update the config), `gone` (410), `disabled`, or `pending` (not polled yet).
    pub state: FeedHealth,
    /// Title the feed gives itself.
    pub title: Option<String>,
    /// Last attempt.
    pub last_poll: Option<DateTime<Utc>>,
    /// Last success.
    pub last_success: Option<DateTime<Utc>>,
    /// HTTP status of the last response.
    pub last_status: Option<u16>,
    /// What went wrong last time.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Next scheduled poll.
    pub next_poll: Option<DateTime<Utc>>,
    /// Entries stored for this feed.
    pub article_count: u64,
    /// No fetch before this (failure backoff, cache hints, server pause).
    pub next_attempt: Option<DateTime<Utc>>,
    /// Where the feed moved permanently; it is polled there.
    pub moved_to: Option<String>,
    /// Until when its server asked to be left alone.
    pub paused_until: Option<DateTime<Utc>>,
    /// Its WebSub subscription, if it has one.
    pub websub: Option<crate::websub::WebSubStatus>,
    /// Full text (`full_text`): its stored entries by what came of their article page
    /// (`ok`, `not_needed`, `http_error`, `rate_limited`, `fetch_failed`, `no_content`, ...).
    pub full_text: std::collections::BTreeMap<String, u64>,
}

/// The health of every configured feed, in config order.
pub fn feed_statuses(
    store: &dyn Storage,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Vec<FeedStatus>, StoreError> {
    let states: HashMap<String, FeedState> = store
        .feed_states()?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    let pauses = store.host_pauses(now)?;
    let websub: HashMap<String, crate::websub::Subscription> = store
        .websub_subscriptions()?
        .into_iter()
        .map(|s| (s.feed.clone(), s))
        .collect();
    let mut full_text = store.full_text_counts()?;
    Ok(config
        .feeds
        .iter()
        .map(|f| {
            let st = states.get(&f.name);
            let host = crate::poll::effective_url(f, st)
                .host_str()
                .unwrap_or_default()
                .to_string();
            let paused_until = pauses.get(&host).map(|p| p.0);
            let gone = st.is_some_and(|s| s.gone);
            let state = FeedHealth::of(HealthInput {
                enabled: f.enabled,
                outcome: st.and_then(|s| s.last_outcome),
                gone,
                paused: paused_until.is_some(),
                moved: st.is_some_and(|s| s.moved_to.is_some()),
            });
            let schedule = config.schedule_of(f);
            let next_attempt = st.and_then(|s| s.next_attempt).filter(|t| *t > now);
            let wait_until = [next_attempt, paused_until].into_iter().flatten().max();
            let next_poll = match (f.enabled && !gone, wait_until) {
                (false, _) => None,
                // the first tick that the wait lets through
                (true, Some(t)) => schedule.next_after(t - chrono::Duration::seconds(30)),
                (true, None) => schedule.next_after(now),
            };
            // subscribed at a WebSub hub: only the safety interval's polls run
            let next_poll = match websub.get(&f.name) {
                Some(sub) if f.websub && sub.active(now) && sub.feed_url == f.url.as_str() => {
                    let safety = chrono::Duration::from_std(config.websub.safety_interval)
                        .unwrap_or_default();
                    let due = sub.last_safety_poll.map_or(now, |t| t + safety);
                    next_poll.and_then(|p| {
                        schedule.next_after(due.max(p) - chrono::Duration::seconds(30))
                    })
                }
                _ => next_poll,
            };
            FeedStatus {
                name: f.name.clone(),
                url: f.url.to_string(),
                enabled: f.enabled,
                tags: f.tags.clone(),
                schedule: schedule.expr().to_string(),
                state,
                // the display name from the config, else the feed's own title
                title: f.title.clone().or_else(|| st.and_then(|s| s.title.clone())),
                last_poll: st.and_then(|s| s.last_poll),
                last_success: st.and_then(|s| s.last_success),
                last_status: st.and_then(|s| s.last_status),
                last_error: st.and_then(|s| s.last_error.clone()),
                consecutive_failures: st.map_or(0, |s| s.consecutive_failures),
                next_poll,
                article_count: st.map_or(0, |s| s.article_count),
                next_attempt,
                moved_to: st.and_then(|s| s.moved_to.clone()),
                paused_until,
                websub: websub
                    .get(&f.name)
                    .map(|s| crate::websub::WebSubStatus::of(s, now)),
                full_text: full_text.remove(&f.name).unwrap_or_default(),
            }
        })
        .collect())
}

/// Writes `content` to `path` atomically (a temporary file in the same folder, then a
/// rename), and only when it differs from what is there. Returns whether it wrote.
pub fn write_atomically(path: &Path, content: &[u8]) -> Result<bool, PublishError> {
    let err = |source| PublishError::Write {
        path: path.display().to_string(),
        source,
    };
    if std::fs::read(path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    // readable by a web server as the old file was (a temporary file starts as 0600)
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => std::os::unix::fs::PermissionsExt::from_mode(0o644),
    };
    tmp.as_file().set_permissions(mode).map_err(err)?;
    tmp.write_all(content).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_value_is_shown_without_markup_or_controls() {
        assert_eq!(shown("world-wire_2.atom"), "world-wire_2.atom");
        assert_eq!(shown("Zürich"), "Zürich");
        assert_eq!(
            shown("<script>alert(1)</script>"),
            "%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
        );
        assert_eq!(shown("a\u{202e}b\0"), "a%E2%80%AEb%00");
        assert_eq!(shown(&"x".repeat(500)).chars().count(), 101);
    }
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn output_file_is_written_atomically_readable_and_only_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/merged.atom");
        assert!(write_atomically(&path, b"one").unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert!(
            !write_atomically(&path, b"one").unwrap(),
            "unchanged content is not rewritten"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(write_atomically(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn atom_entry_without_link_or_content_still_has_content() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let feed = MergedFeed {
            title: "t".into(),
            id: "tag:newswire,2026:feed/x".into(),
            updated: t,
            entries: vec![MergedEntry {
                id: story_id("k"),
                title: "Only a title".into(),
                link: None,
                published: t,
                updated: t,
                authors: vec![],
                summary: None,
                content: None,
                categories: vec![],
                image: None,
                image_credit: None,
                language: None,
                sources: vec![],
                cursor: "1700000000_1".into(),
            }],
            next_cursor: None,
            language: None,
            icon: None,
            logo: None,
            hub: None,
        };
        let xml = atom::render(&feed, Some("http://h/feed.atom"));
        let parsed = atom_syndication::Feed::read_from(xml.as_bytes()).unwrap();
        assert_eq!(
            parsed.id, "tag:newswire,2026:feed/x",
            "the id does not depend on the Host header"
        );
        let content = parsed.entries[0].content.as_ref().expect("content present");
        assert_eq!(content.content_type.as_deref(), Some("text"));
    }
}
