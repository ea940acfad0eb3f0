//! The river-of-news page: the merged feed (or a view) as HTML, newest first, grouped by day
//! in the configured display zone, with each feed's health. Server-rendered, no JavaScript;
//! everything from the feeds is escaped by the template engine (and bodies are not shown,
//! only plain-text summaries).

use crate::health::FeedHealth;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, context};
use serde::Serialize;

use super::{FeedStatus, MergedFeed, View};
use crate::config::Config;

/// The page's Content-Security-Policy: no script at all, styles only from the page itself,
/// images from anywhere on http(s) (lead photos live on the news sites).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
img-src http: https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Links the page shows, worked out from the request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageLinks {
    /// The same stories as Atom.
    pub atom: String,
    /// ... as RSS.
    pub rss: String,
    /// ... as JSON Feed.
    pub json: String,
    /// The next, older page.
    pub older: Option<String>,
    /// Back to the first page (when on a later one).
    pub newest: Option<String>,
    /// The path prefix newswire is served under (`""`, or `/news` behind a proxy).
    pub root: String,
    /// This page without any query (the heading's link).
    pub here: String,
    /// The active filters, each with a link that drops it.
    pub crumbs: Vec<Crumb>,
}

/// One active filter of the page: what it is, and the page without it.
#[derive(Debug, Clone, Serialize)]
pub struct Crumb {
    /// `view`, `feed`, `tag`, `search` or `every copy`.
    pub kind: &'static str,
    /// What it filters on.
    pub label: String,
    /// The page without this filter.
    pub drop_url: String,
}

/// `then` relative to `now` in plain words: "just now", "5 min ago", "2 h ago", "3 days ago",
/// "in 10 min" for a time ahead.
pub fn relative_time(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    let (ahead, secs) = (secs < 0, secs.unsigned_abs());
    let amount = match secs {
        0..60 => return "just now".to_string(),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h", secs / 3600),
        86400..172800 => "1 day".to_string(),
        _ => format!("{} days", secs / 86400),
    };
    if ahead {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[derive(Serialize)]
struct Source<'a> {
    title: &'a str,
    link: Option<&'a str>,
}

#[derive(Serialize)]
struct Story<'a> {
    title: &'a str,
    link: Option<&'a str>,
    published_iso: String,
    time: String,
    ago: String,
    authors: String,
    sources: Vec<Source<'a>>,
    summary: Option<&'a str>,
    image: Option<&'a str>,
    image_credit: Option<&'a str>,
}

#[derive(Serialize)]
struct Day<'a> {
    label: String,
    stories: Vec<Story<'a>>,
}

#[derive(Serialize)]
struct FeedLine {
    name: String,
    title: String,
    state: &'static str,
    state_label: &'static str,
    articles: u64,
    note: Option<String>,
}

#[derive(Serialize)]
struct ViewLine<'a> {
    name: &'a str,
    title: &'a str,
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // the .html name turns on HTML auto-escaping
        env.add_template("page.html", include_str!("page.html"))
            .expect("the page template parses");
        env
    })
}

fn local(t: DateTime<Utc>, tz: Tz) -> DateTime<Tz> {
    t.with_timezone(&tz)
}

/// Renders the page for `feed` (built for `view`), with `health` for the sidebar; `problem`
/// (an unknown tag, a bad cursor) is said where the stories would be; `config_error` (the
/// last reload failed) is said above everything.
#[allow(clippy::too_many_arguments)]
pub fn render(
    feed: &MergedFeed,
    config: &Config,
    view: &View,
    health: &[FeedStatus],
    links: &PageLinks,
    problem: Option<&str>,
    config_error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, minijinja::Error> {
    let tz = config.output.timezone;
    let mut days: Vec<Day> = Vec::new();
    for e in &feed.entries {
        let when = local(e.published, tz);
        let label = when.format("%A %-d %B %Y").to_string();
        let story = Story {
            title: &e.title,
            link: e.link.as_deref(),
            published_iso: e.published.to_rfc3339(),
            time: when.format("%H:%M").to_string(),
            ago: relative_time(e.published, now),
            authors: e.authors.join(", "),
            sources: e
                .sources
                .iter()
                .map(|s| Source {
                    title: &s.title,
                    link: s.link.as_deref(),
                })
                .collect(),
            summary: e.summary.as_deref(),
            image: e.image.as_deref(),
            image_credit: e.image_credit.as_deref(),
        };
        match days.last_mut() {
            Some(d) if d.label == label => d.stories.push(story),
            _ => days.push(Day {
                label,
                stories: vec![story],
            }),
        }
    }
    let feeds: Vec<FeedLine> = health
        .iter()
        .map(|f| FeedLine {
            name: f.name.clone(),
            title: f.title.clone().unwrap_or_else(|| f.name.clone()),
            state: f.state.as_str(),
            state_label: f.state.words(),
            articles: f.article_count,
            note: match f.state {
                FeedHealth::Failing => Some(format!(
                    "{} failures: {}",
                    f.consecutive_failures,
                    f.last_error.as_deref().unwrap_or("unknown error")
                )),
                FeedHealth::Paused => f.paused_until.map(|t| {
                    format!(
                        "server asked to wait until {}",
                        local(t, tz).format("%-d %b %H:%M")
                    )
                }),
                FeedHealth::Moved => f.moved_to.as_ref().map(|m| format!("moved to {m}")),
                FeedHealth::Gone => Some("the server says it is gone (410)".to_string()),
                _ => None,
            },
        })
        .collect();
    let views: Vec<ViewLine> = config
        .views
        .iter()
        .map(|v| ViewLine {
            name: &v.name,
            title: &v.title,
        })
        .collect();
    let mut tags: Vec<&str> = config
        .feeds
        .iter()
        .flat_map(|f| f.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    let search = crate::search::parse(view.q.as_deref().unwrap_or(""));
    let filtered = view.feed.is_some() || view.tag.is_some() || view.view.is_some();
    environment().get_template("page.html")?.render(context! {
        root => &links.root,
        tags => tags,
        problem => problem,
        config_error => config_error,
        search_notes => search.notes,
        filtered => filtered,
        feed_count => config.feeds.len(),
        title => &feed.title,
        count => feed.entries.len(),
        days => days,
        feeds => feeds,
        views => views,
        links => links,
        query => view.q.as_deref().unwrap_or(""),
        filter_feed => view.feed.as_deref(),
        filter_tag => view.tag.as_deref(),
        all_copies => view.all_copies,
        view_name => view.view.as_deref(),
        timezone => tz.name(),
    })
}
