//! The config file: raw serde structs, validated once into a typed [`Config`].
//!
//! Every error names the file, the line and column, and what was expected, so that a user
//! editing the feed list of a running daemon can fix the mistake without reading the code.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

/// Where `newswire` looks for its config when `--config` is not given and
/// `$NEWSWIRE_CONFIG` is unset.
pub const DEFAULT_CONFIG_FILE: &str = "newswire.toml";

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read the config file: {source}")]
    Io {
        /// The config file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A value parsed but does not make sense (a bad cron expression, an unknown time zone...).
    #[error("{path}:{line}:{column}: `{key}`: {message}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// 1-based column of the offending value.
        column: usize,
        /// The key whose value is wrong, e.g. `feed.schedule`.
        key: String,
        /// What was wrong and how to fix it.
        message: String,
    },
}

/// A cron schedule with a seconds field, as tokio-cron-scheduler reads it.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: croner::Cron,
}

/// TOML's and serde's words, with the key and the fix where the line shows them: a list
/// written as a string, a quoted boolean, `[feed]` for `[[feed]]`.
fn explain_syntax(message: &str, line: &str) -> String {
    let line = line.trim();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let fix = if matches!(line, "[feed]" | "[view]") {
        let table = line.trim_matches(['[', ']']);
        Some(format!(
            "each {table} is a [[{table}]] table (double brackets), one per {table}"
        ))
    } else if message.contains("expected a sequence") {
        key.map(|k| format!("`{k}` takes a list, e.g. {k} = [\"world\", \"opinion\"]"))
    } else if message.contains("expected a boolean") {
        key.map(|k| format!("`{k}` takes true or false, without quotes, e.g. {k} = false"))
    } else {
        None
    };
    match fix {
        Some(fix) => format!("{message}: {fix}"),
        None => message.to_string(),
    }
}

/// Which field of a six-field cron expression holds a number outside its range, in words:
/// croner only says "Number out of bounds".
fn cron_field_out_of_range(expr: &str) -> Option<String> {
    const FIELDS: [(&str, u32, u32); 6] = [
        ("seconds", 0, 59),
        ("minutes", 0, 59),
        ("hours", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    for (field, (name, lo, hi)) in expr.split_whitespace().zip(FIELDS) {
        for part in field.split(',') {
            // a step (`*/90`) is not a value of the field
            let values = part.split('/').next().unwrap_or(part);
            for v in values.split('-') {
                if let Ok(n) = v.parse::<u32>() {
                    if n < lo || n > hi {
                        return Some(format!(
                            "the {name} field is {n} (in \"{field}\"); it takes {lo} to {hi}"
                        ));
                    }
                }
            }
        }
    }
    None
}

impl Schedule {
    /// Parses `expr` exactly as the scheduler will (six fields, seconds first).
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let fields = expr.split_whitespace().count();
        if fields != 6 {
            return Err(format!(
                "expected a cron expression with 6 fields (sec min hour day month weekday), \
                 e.g. \"0 */15 * * * *\"; got {fields} field(s)"
            ));
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(expr)
            .map_err(|e| match cron_field_out_of_range(expr) {
                Some(which) => format!("invalid cron expression: {which}"),
                None => format!("invalid cron expression: {e}"),
            })?;
        Ok(Schedule {
            expr: expr.to_string(),
            cron,
        })
    }

    /// The expression as written in the config.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The time between two firings after `after` (for backoff): the normal interval.
    pub fn interval_after(&self, after: DateTime<Utc>) -> Duration {
        let first = self.next_after(after);
        let second = first.and_then(|f| self.next_after(f));
        match (first, second) {
            (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(900)),
            _ => Duration::from_secs(900),
        }
    }

    /// The first time this schedule fires strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after, false).ok()
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    /// Where the data is: a SQLite database file (absolute, or relative to the config's
    /// folder), or a PostgreSQL database (`postgres://…`).
    pub database: crate::store::Location,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The schedule of feeds that do not set their own.
    pub schedule: Schedule,
    /// The merged feed.
    pub output: OutputConfig,
    /// HTTP fetching.
    pub fetch: FetchConfig,
    /// The feeds, in config order.
    pub feeds: Vec<FeedConfig>,
    /// Named views of the merged feed, in config order.
    pub views: Vec<ViewConfig>,
    /// How log lines are written (`[log] format`); applies at start.
    pub log_format: crate::logging::LogFormat,
    /// `[dedup]` and `[storage]`: near-duplicates, update caps, retention.
    pub store: crate::store::StoreSettings,
    /// `[[rule]]`s, in config order.
    pub rules: Vec<crate::rules::Rule>,
    /// `public_url`: how others (WebSub hubs, readers behind a reverse proxy) reach this
    /// newswire; its path always ends in `/`, so that joining a relative path keeps it.
    pub public_url: Option<Url>,
    /// `[websub]`: subscriptions to the feeds' hubs.
    pub websub: WebSubConfig,
    /// `[[site]]`: selector rules for article pages, by host.
    pub sites: Vec<SiteConfig>,
    /// `instance`: the name this newswire's feed list goes by in the database, where several
    /// instances may share it (see `store::lists`). Default: the host's name and the config
    /// file's absolute path, which stay the same across restarts.
    pub instance: String,
}

impl Config {
    /// This instance's feed list, as the store records it (see `store::lists`).
    pub fn feed_list(&self) -> crate::store::FeedList {
        let specs: Vec<crate::store::FeedSpec> = self
            .feeds
            .iter()
            .map(|f| crate::store::FeedSpec {
                name: f.name.clone(),
                url: f.url.to_string(),
            })
            .collect();
        crate::store::FeedList::new(self.instance.clone(), &specs)
    }
}

/// `[websub]`
#[derive(Debug, Clone, PartialEq)]
pub struct WebSubConfig {
    /// The lease asked of hubs (`hub.lease_seconds`); the hub has the last word.
    pub lease: Duration,
    /// While a feed's subscription is active, it is polled only this often, in case a push
    /// was lost.
    pub safety_interval: Duration,
}

impl Default for WebSubConfig {
    fn default() -> Self {
        WebSubConfig {
            lease: Duration::from_secs(10 * 86400),
            safety_interval: Duration::from_secs(6 * 3600),
        }
    }
}

/// Parses `public_url`: an absolute http(s) URL without query or fragment, which may have a
/// path (newswire behind a reverse proxy at `https://example.org/news/`). The path is made to
/// end in `/`.
pub fn parse_public_url(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text.trim()).map_err(|e| {
        format!("{e}: expected an absolute URL such as \"https://news.example.org/\"")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected a URL without ?query or #fragment".into());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// When newswire fetches an entry's article page for its full text (`full_text`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FullText {
    /// Never (the default).
    #[default]
    Off,
    /// When the entry's body is short, or only repeats its summary.
    Auto,
    /// For every entry with a link.
    Always,
}

/// One `[[site]]`: selector rules shared by every feed whose article pages are on `host`.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteConfig {
    /// The pages' host (`www.` and letter case do not matter; subdomains match too).
    pub host: String,
    /// The selector rules.
    pub rules: crate::extract::Rules,
}

/// One `[[view]]`: a named, narrowed merged feed (`/views/NAME.atom` ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewConfig {
    /// Unique slug, used in URLs.
    pub name: String,
    /// Title of the view's feed.
    pub title: String,
    /// Stories from feeds with any of these tags (empty: no tag condition).
    pub tags: Vec<String>,
    /// Only stories from these feeds (empty: no feed condition).
    pub feeds: Vec<String>,
    /// Search over title and body, in the words of `crate::search`.
    pub query: Option<String>,
    /// Stories per page (default: `output.limit`).
    pub limit: usize,
}

/// `[output]`
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    /// Title of the merged feed.
    pub title: String,
    /// How many of the newest stories the merged feed carries.
    pub limit: usize,
    /// Where to write the merged Atom feed after each poll, if anywhere.
    pub file: Option<PathBuf>,
    /// Where to write the merged RSS 2.0 feed, if anywhere.
    pub rss_file: Option<PathBuf>,
    /// Where to write the merged JSON Feed, if anywhere.
    pub json_file: Option<PathBuf>,
    /// Icon of the merged feed (a small square image URL).
    pub icon: Option<String>,
    /// Logo of the merged feed (a wider image URL).
    pub logo: Option<String>,
    /// A WebSub hub to advertise, if any.
    pub hub: Option<String>,
    /// Zone in which the HTML page groups stories by day and shows times.
    pub timezone: Tz,
    /// At most this many stories from any one feed in a merged view; `None`: no cap.
    pub per_feed: Option<usize>,
    /// Where the feeds write each story's source for readers that ignore `<source>`.
    pub source_in: SourceIn,
}

/// One `[[feed]]`.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Unique slug.
    pub name: String,
    /// Where the feed lives.
    pub url: Url,
    /// Tags, used for `?tag=` and as categories in the merged feed.
    pub tags: Vec<String>,
    /// The feed's own schedule, if it overrides the global one.
    pub schedule: Option<Schedule>,
    /// Zone for dates that carry no offset.
    pub timezone: Option<Tz>,
    /// Disabled feeds are not polled; what they already brought stays.
    pub enabled: bool,
    /// Display name shown instead of the title the feed gives itself.
    pub title: Option<String>,
    /// How the feed is requested: extra headers, User-Agent, Basic auth.
    pub request: crate::fetch::RequestOptions,
    /// Subscribe at the feed's WebSub hub, if it has one (default: when `public_url` is set).
    pub websub: bool,
    /// Fetch article pages for their full text.
    pub full_text: FullText,
    /// The feed's own selector rules (override `[[site]]` ones, key by key).
    pub rules: crate::extract::Rules,
    /// Its copies take part in near-duplicate matching (`near_duplicates = false`: they join
    /// stories by URL only).
    pub near_duplicates: bool,
}

impl Config {
    /// The configured feeds as the rules see them.
    pub fn feed_scopes(&self) -> Vec<crate::rules::FeedScope<'_>> {
        self.feeds
            .iter()
            .map(|f| crate::rules::FeedScope {
                name: &f.name,
                tags: &f.tags,
            })
            .collect()
    }
}

impl Config {
    /// The schedule a feed actually runs on.
    pub fn schedule_of<'a>(&'a self, feed: &'a FeedConfig) -> &'a Schedule {
        feed.schedule.as_ref().unwrap_or(&self.schedule)
    }

    /// The view called `name`.
    pub fn view(&self, name: &str) -> Option<&ViewConfig> {
        self.views.iter().find(|v| v.name == name)
    }

    /// The feed called `name`.
    pub fn feed(&self, name: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.name == name)
    }

    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Validates `text` as if read from `path` (relative paths in it resolve against
    /// `path`'s folder).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let ctx = Ctx { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| ctx.line_col(s.start)).unwrap_or((1, 1));
            let line_text = text.lines().nth(line - 1).unwrap_or("");
            ConfigError::Syntax {
                path: path.to_path_buf(),
                line,
                column,
                message: explain_syntax(e.message().trim(), line_text),
            }
        })?;
        raw.validate(&ctx)
    }
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    fn invalid<T>(
        &self,
        key: &str,
        spanned: &Spanned<T>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = self.line_col(spanned.span().start);
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A duration from 1s to 100 years (past a century the arithmetic on dates stops
    /// making sense).
    fn duration(&self, key: &str, v: &Spanned<String>) -> Result<Duration, ConfigError> {
        match humantime::parse_duration(v.get_ref()) {
            Ok(d) if !d.is_zero() && d <= Duration::from_secs(100 * 365 * 86400) => Ok(d),
            _ => Err(self.invalid(
                key,
                v,
                "expected a duration from 1s to 100 years, such as \"3d\", \"12h\" or \"90d\"",
            )),
        }
    }

    /// A whole number from `range`, `default` when the key is absent.
    fn number(
        &self,
        key: &str,
        v: &Option<Spanned<i64>>,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, ConfigError> {
        match v {
            None => Ok(default),
            Some(n) if range.contains(n.get_ref()) => Ok(*n.get_ref()),
            Some(n) => Err(self.invalid(
                key,
                n,
                format!(
                    "expected a number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    fn relative_path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    #[serde(default)]
    output: RawOutput,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default, rename = "feed")]
    feeds: Vec<RawFeed>,
    #[serde(default, rename = "view")]
    views: Vec<RawView>,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    dedup: RawDedup,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
    public_url: Option<Spanned<String>>,
    #[serde(default)]
    websub: RawWebSub,
    #[serde(default, rename = "site")]
    sites: Vec<RawSite>,
    instance: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    when: Spanned<String>,
    action: Spanned<String>,
    #[serde(default)]
    feeds: Vec<Spanned<String>>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWebSub {
    lease: Option<Spanned<String>>,
    safety_interval: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    host: Spanned<String>,
    content_selector: Option<Spanned<String>>,
    remove_selector: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    near_duplicates: Option<bool>,
    threshold: Option<Spanned<f64>>,
    window: Option<Spanned<String>>,
    max_updates_per_day: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    max_age: Option<Spanned<String>>,
    max_per_feed: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawView {
    name: Spanned<String>,
    title: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    feeds: Vec<Spanned<String>>,
    query: Option<Spanned<String>>,
    limit: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    title: Option<String>,
    limit: Option<Spanned<i64>>,
    file: Option<String>,
    rss_file: Option<String>,
    json_file: Option<String>,
    icon: Option<Spanned<String>>,
    logo: Option<Spanned<String>>,
    hub: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    per_feed: Option<Spanned<i64>>,
    source_in: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    timeout: Option<Spanned<String>>,
    max_size: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    user_agent: Option<String>,
    per_host: Option<Spanned<i64>>,
    respect_cache_hints: Option<bool>,
    lease: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Spanned<String>,
    url: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    schedule: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    enabled: Option<bool>,
    title: Option<String>,
    #[serde(default)]
    headers: Option<Spanned<std::collections::BTreeMap<String, String>>>,
    user_agent: Option<Spanned<String>>,
    username: Option<String>,
    password: Option<String>,
    websub: Option<Spanned<bool>>,
    full_text: Option<Spanned<String>>,
    content_selector: Option<Spanned<String>>,
    remove_selector: Option<Spanned<String>>,
    near_duplicates: Option<bool>,
}

/// The default User-Agent: names the program, its version and where to read about it.
pub fn default_user_agent() -> String {
    format!(
        "newswire/{} (+https://github.com/newswire-rs/newswire)",
        env!("CARGO_PKG_VERSION")
    )
}

/// `listen` as people write it: an address and port (`127.0.0.1:8080`, `[::1]:8080`), also
/// `localhost:8080` (the loopback address) and `:8080` (every interface, as Go and nginx read
/// it).
fn listen_addr(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(a) = text.parse() {
        return Some(a);
    }
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    match host {
        "" => Some(SocketAddr::from(([0, 0, 0, 0], port))),
        h if h.eq_ignore_ascii_case("localhost") => Some(SocketAddr::from(([127, 0, 0, 1], port))),
        _ => None,
    }
}

/// A `scheme://…` value (postgres://, postgresql://, sqlite://, file://…), which as a file
/// name would become a folder named after the scheme.
fn looks_like_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

pub use crate::fetch::FetchConfig;

/// Where the source is written (`[output] source_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceIn {
    /// A last line of the content.
    pub content: bool,
    /// The author field: "Author (Source)", or the source alone without an author.
    pub author: bool,
}

impl SourceIn {
    /// Both: the default.
    pub const ALL: SourceIn = SourceIn {
        content: true,
        author: true,
    };
}

pub use crate::names::valid_name;

impl RawConfig {
    /// Validates every section, each in its own step below, into the typed config.
    fn validate(self, ctx: &Ctx) -> Result<Config, ConfigError> {
        use crate::store::Location;
        let database = match &self.database {
            None => Location::File(ctx.relative_path("newswire.db")),
            Some(d) => match Location::parse(d.get_ref()) {
                Location::Postgres(url) => {
                    // checked now, so that a typo is a config error, not a failed start
                    url.parse::<tokio_postgres::Config>().map_err(|e| {
                        ctx.invalid("database", d, format!("not a PostgreSQL URL: {e}"))
                    })?;
                    Location::Postgres(url)
                }
                Location::File(_) if looks_like_url(d.get_ref()) => {
                    return Err(ctx.invalid(
                        "database",
                        d,
                        "expected the path of a SQLite file, or a PostgreSQL URL (postgres://user@host/db); newswire stores in nothing else",
                    ));
                }
                Location::File(_) => Location::File(ctx.relative_path(d.get_ref())),
            },
        };
        let listen = match &self.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(l) => listen_addr(l.get_ref()).ok_or_else(|| {
                ctx.invalid(
                    "listen",
                    l,
                    "expected an IP address and port such as \"127.0.0.1:8080\", \"localhost:8080\", \"[::1]:8080\" or \":8080\" (every interface)",
                )
            })?,
        };
        let schedule = match &self.schedule {
            None => Schedule::parse("0 */15 * * * *").expect("default schedule parses"),
            Some(s) => Schedule::parse(s.get_ref()).map_err(|m| ctx.invalid("schedule", s, m))?,
        };
        let output = validate_output(ctx, self.output)?;
        let fetch = validate_fetch(ctx, self.fetch)?;
        let public_url = match &self.public_url {
            None => None,
            Some(u) => {
                Some(parse_public_url(u.get_ref()).map_err(|m| ctx.invalid("public_url", u, m))?)
            }
        };
        let feeds = validate_feeds(ctx, self.feeds, public_url.is_some())?;
        let names: HashSet<String> = feeds.iter().map(|f| f.name.clone()).collect();
        let views = validate_views(ctx, self.views, &names, output.limit)?;
        let store = store_settings(ctx, &self.dedup, &self.storage, &feeds)?;
        Ok(Config {
            path: ctx.path.to_path_buf(),
            database,
            listen,
            schedule,
            output,
            fetch,
            views,
            log_format: log_format(ctx, &self.log)?,
            store,
            rules: validate_rules(ctx, self.rules, &names)?,
            public_url,
            websub: websub_config(ctx, &self.websub)?,
            sites: sites(ctx, &self.sites)?,
            instance: instance_name(ctx, &self.instance)?,
            feeds,
        })
    }
}

/// `instance`, or the host's name and the config's absolute path.
fn instance_name(ctx: &Ctx, raw: &Option<Spanned<String>>) -> Result<String, ConfigError> {
    match raw {
        Some(name) => {
            let n = name.get_ref().trim();
            if n.is_empty() || n.len() > 200 || n.chars().any(char::is_control) {
                return Err(ctx.invalid(
                    "instance",
                    name,
                    "expected a name of 1 to 200 characters, without control characters",
                ));
            }
            Ok(n.to_string())
        }
        None => {
            let path = std::fs::canonicalize(ctx.path).unwrap_or_else(|_| ctx.path.to_path_buf());
            Ok(format!("{}:{}", crate::names::hostname(), path.display()))
        }
    }
}

/// `[output]`.
fn validate_output(ctx: &Ctx, raw: RawOutput) -> Result<OutputConfig, ConfigError> {
    let limit = ctx.number("output.limit", &raw.limit, 200, 1..=10_000)? as usize;
    let http_url = |key: &str,
                    v: &Option<Spanned<String>>|
     -> Result<Option<String>, ConfigError> {
        match v {
            None => Ok(None),
            Some(u) => match Url::parse(u.get_ref().trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(Some(url.to_string())),
                _ => Err(ctx.invalid(key, u, "expected an absolute http(s) URL")),
            },
        }
    };
    let display_zone = match &raw.timezone {
        None => Tz::UTC,
        Some(t) => t.get_ref().parse::<Tz>().map_err(|_| {
            ctx.invalid(
                "output.timezone",
                t,
                "expected an IANA time zone name such as \"Europe/London\" or \"UTC\"",
            )
        })?,
    };
    Ok(OutputConfig {
        title: raw.title.unwrap_or_else(|| "newswire".to_string()),
        limit,
        file: raw.file.as_deref().map(|f| ctx.relative_path(f)),
        rss_file: raw.rss_file.as_deref().map(|f| ctx.relative_path(f)),
        json_file: raw.json_file.as_deref().map(|f| ctx.relative_path(f)),
        icon: http_url("output.icon", &raw.icon)?,
        logo: http_url("output.logo", &raw.logo)?,
        hub: http_url("output.hub", &raw.hub)?,
        timezone: display_zone,
        per_feed: match &raw.per_feed {
            None => Some(50),
            Some(n) if *n.get_ref() == 0 => None,
            Some(n) if (1..=10_000).contains(n.get_ref()) => Some(*n.get_ref() as usize),
            Some(n) => {
                return Err(ctx.invalid(
                    "output.per_feed",
                    n,
                    "expected a number from 1 to 10000, or 0 for no cap",
                ));
            }
        },
        source_in: match &raw.source_in {
            None => SourceIn::ALL,
            Some(places) => {
                let mut si = SourceIn::default();
                for p in places {
                    match p.get_ref().as_str() {
                        "content" => si.content = true,
                        "author" => si.author = true,
                        _ => {
                            return Err(ctx.invalid(
                                "output.source_in",
                                p,
                                "expected \"content\" or \"author\", e.g. source_in = [\"content\", \"author\"] (or [] for neither)",
                            ));
                        }
                    }
                }
                si
            }
        },
    })
}

/// `[fetch]`.
fn validate_fetch(ctx: &Ctx, raw: RawFetch) -> Result<FetchConfig, ConfigError> {
    let timeout = match &raw.timeout {
        None => Duration::from_secs(30),
        Some(t) => match humantime::parse_duration(t.get_ref()) {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => return Err(ctx.invalid("fetch.timeout", t, "must be longer than zero")),
            Err(e) => {
                return Err(ctx.invalid(
                    "fetch.timeout",
                    t,
                    format!("{e}: expected a duration such as \"30s\" or \"2m\""),
                ));
            }
        },
    };
    let max_size = match &raw.max_size {
        None => 10 * 1024 * 1024,
        Some(s) => match s.get_ref().trim().parse::<bytesize::ByteSize>() {
            Ok(b) if b.as_u64() > 0 => b.as_u64(),
            _ => {
                return Err(ctx.invalid(
                    "fetch.max_size",
                    s,
                    "expected a size such as \"10MiB\", \"512KiB\" or \"2MB\"",
                ));
            }
        },
    };
    let concurrency = ctx.number("fetch.concurrency", &raw.concurrency, 16, 1..=1024)? as usize;
    let per_host = ctx.number("fetch.per_host", &raw.per_host, 2, 1..=64)? as usize;
    let lease = match &raw.lease {
        None => crate::fetch::DEFAULT_LEASE,
        Some(l) => ctx.duration("fetch.lease", l)?,
    };
    Ok(FetchConfig {
        lease,
        timeout,
        max_size,
        concurrency,
        user_agent: raw.user_agent.unwrap_or_else(default_user_agent),
        per_host,
        respect_cache_hints: raw.respect_cache_hints.unwrap_or(true),
    })
}

/// Every `[[feed]]`: unique names and URLs, each feed's own settings. A feed takes WebSub
/// by default when `public_url` is set (`websub_default`).
fn validate_feeds(
    ctx: &Ctx,
    raw_feeds: Vec<RawFeed>,
    websub_default: bool,
) -> Result<Vec<FeedConfig>, ConfigError> {
    let mut seen = HashSet::new();
    // URL -> the feed that has it: two feeds polling one URL is a mistake `add` refuses
    let mut urls: std::collections::HashMap<Url, String> = Default::default();
    let mut feeds = Vec::with_capacity(raw_feeds.len());
    for raw in raw_feeds {
        let name = raw.name.get_ref().clone();
        if !valid_name(&name) {
            return Err(ctx.invalid(
                "feed.name",
                &raw.name,
                "a feed name is a slug of lowercase letters, digits, '-', '_' or '.' \
                 (at most 64 characters), e.g. \"bbc-world\"",
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(ctx.invalid(
                "feed.name",
                &raw.name,
                format!("another [[feed]] is already called \"{name}\"; names must be unique"),
            ));
        }
        let url = match Url::parse(raw.url.get_ref().trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
            Ok(_) => {
                return Err(ctx.invalid(
                    "feed.url",
                    &raw.url,
                    "only http:// and https:// URLs can be polled",
                ));
            }
            Err(e) => {
                return Err(ctx.invalid(
                    "feed.url",
                    &raw.url,
                    format!(
                        "{e}: expected an absolute URL such as \"https://example.com/feed.xml\""
                    ),
                ));
            }
        };
        if let Some(first) = urls.insert(url.clone(), name.clone()) {
            return Err(ctx.invalid(
                "feed.url",
                &raw.url,
                format!(
                    "feed \"{first}\" already has this URL; remove one of the two [[feed]] tables"
                ),
            ));
        }
        let schedule = match &raw.schedule {
            None => None,
            Some(s) => {
                Some(Schedule::parse(s.get_ref()).map_err(|m| ctx.invalid("feed.schedule", s, m))?)
            }
        };
        let timezone = match &raw.timezone {
            None => None,
            Some(t) => Some(t.get_ref().parse::<Tz>().map_err(|_| {
                ctx.invalid(
                    "feed.timezone",
                    t,
                    "expected an IANA time zone name such as \"Asia/Shanghai\" or \"Europe/Paris\"",
                )
            })?),
        };
        let request = feed_request(ctx, &raw)?;
        let mut tags: Vec<String> = Vec::new();
        for t in raw.tags {
            let t = t.trim().to_string();
            if !t.is_empty() && !tags.contains(&t) {
                tags.push(t);
            }
        }
        let websub = match &raw.websub {
            None => websub_default,
            Some(w) if *w.get_ref() && !websub_default => {
                return Err(ctx.invalid(
                    "feed.websub",
                    w,
                    "WebSub needs a top-level `public_url` (the address hubs reach this \
                     newswire at, e.g. \"https://news.example.org/\"); set it, or remove this key",
                ));
            }
            Some(w) => *w.get_ref(),
        };
        feeds.push(FeedConfig {
            name,
            url,
            tags,
            schedule,
            timezone,
            enabled: raw.enabled.unwrap_or(true),
            title: raw
                .title
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            request,
            websub,
            full_text: full_text_mode(ctx, &raw.full_text)?,
            rules: selector_rules(ctx, "feed", &raw.content_selector, &raw.remove_selector)?,
            near_duplicates: raw.near_duplicates.unwrap_or(true),
        });
    }
    Ok(feeds)
}

/// Every `[[view]]`, over the configured `feeds`; `default_limit` is `[output] limit`.
fn validate_views(
    ctx: &Ctx,
    raw_views: Vec<RawView>,
    feeds: &HashSet<String>,
    default_limit: usize,
) -> Result<Vec<ViewConfig>, ConfigError> {
    let mut views: Vec<ViewConfig> = Vec::new();
    for raw in raw_views {
        let name = raw.name.get_ref().clone();
        if !valid_name(&name) {
            return Err(ctx.invalid(
                "view.name",
                &raw.name,
                "a view name is a slug of lowercase letters, digits, '-', '_' or '.', e.g. \"china-russia\"",
            ));
        }
        if views.iter().any(|v| v.name == name) {
            return Err(ctx.invalid(
                "view.name",
                &raw.name,
                format!("another [[view]] is already called \"{name}\"; names must be unique"),
            ));
        }
        let mut only = Vec::new();
        for f in &raw.feeds {
            if !feeds.contains(f.get_ref()) {
                return Err(ctx.invalid(
                    "view.feeds",
                    f,
                    format!("no [[feed]] is called \"{}\"", f.get_ref()),
                ));
            }
            only.push(f.get_ref().clone());
        }
        let query = match &raw.query {
            None => None,
            Some(q) => {
                if crate::search::parse(q.get_ref()).is_empty() {
                    return Err(ctx.invalid(
                        "view.query",
                        q,
                        "expected words to search for, e.g. \"Russia OR Moscow\"",
                    ));
                }
                Some(q.get_ref().clone())
            }
        };
        let limit =
            ctx.number("view.limit", &raw.limit, default_limit as i64, 1..=10_000)? as usize;
        views.push(ViewConfig {
            title: raw.title.unwrap_or_else(|| name.clone()),
            name,
            tags: raw
                .tags
                .into_iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            feeds: only,
            query,
            limit,
        });
    }
    Ok(views)
}

/// `[log]`.
fn log_format(ctx: &Ctx, raw: &RawLog) -> Result<crate::logging::LogFormat, ConfigError> {
    Ok(match &raw.format {
        None => crate::logging::LogFormat::Text,
        Some(f) => match f.get_ref().as_str() {
            "text" => crate::logging::LogFormat::Text,
            "json" => crate::logging::LogFormat::Json,
            _ => return Err(ctx.invalid("log.format", f, "expected \"text\" or \"json\"")),
        },
    })
}

/// `[dedup]` and `[storage]`, with the feeds that set `near_duplicates = false`.
fn store_settings(
    ctx: &Ctx,
    dedup: &RawDedup,
    storage: &RawStorage,
    feeds: &[FeedConfig],
) -> Result<crate::store::StoreSettings, ConfigError> {
    let defaults = crate::store::StoreSettings::default();
    Ok(crate::store::StoreSettings {
        near_duplicates: dedup.near_duplicates.unwrap_or(defaults.near_duplicates),
        threshold: match &dedup.threshold {
            None => defaults.threshold,
            Some(t) if (0.1..=1.0).contains(t.get_ref()) => *t.get_ref(),
            Some(t) => {
                return Err(ctx.invalid(
                    "dedup.threshold",
                    t,
                    "expected a similarity from 0.1 to 1.0",
                ));
            }
        },
        window: match &dedup.window {
            None => defaults.window,
            Some(w) => ctx.duration("dedup.window", w)?,
        },
        max_updates_per_day: match &dedup.max_updates_per_day {
            None => defaults.max_updates_per_day,
            Some(n) if (0..=1440).contains(n.get_ref()) => *n.get_ref() as u32,
            Some(n) => {
                return Err(ctx.invalid(
                    "dedup.max_updates_per_day",
                    n,
                    "expected a number from 0 to 1440",
                ));
            }
        },
        max_age: match &storage.max_age {
            None => defaults.max_age,
            Some(a) if a.get_ref() == "off" => None,
            Some(a) => Some(ctx.duration("storage.max_age", a).map_err(|_| {
                ctx.invalid(
                    "storage.max_age",
                    a,
                    "expected a duration such as \"90d\", or \"off\"",
                )
            })?),
        },
        max_per_feed: match &storage.max_per_feed {
            None => defaults.max_per_feed,
            Some(n) if *n.get_ref() == 0 => None,
            Some(n) if *n.get_ref() > 0 => Some(*n.get_ref() as usize),
            Some(n) => {
                return Err(ctx.invalid(
                    "storage.max_per_feed",
                    n,
                    "expected a number (0 for no limit)",
                ));
            }
        },
        feeds_without_near_duplicates: feeds
            .iter()
            .filter(|f| !f.near_duplicates)
            .map(|f| f.name.clone())
            .collect(),
    })
}

/// `[websub]`.
fn websub_config(ctx: &Ctx, raw: &RawWebSub) -> Result<WebSubConfig, ConfigError> {
    let websub_defaults = WebSubConfig::default();
    Ok(WebSubConfig {
        lease: match &raw.lease {
            None => websub_defaults.lease,
            Some(l) => match humantime::parse_duration(l.get_ref()) {
                Ok(d) if d >= Duration::from_secs(60) && d <= Duration::from_secs(365 * 86400) => d,
                _ => {
                    return Err(ctx.invalid(
                        "websub.lease",
                        l,
                        "expected a duration from 1m to 365d, such as \"10d\"",
                    ));
                }
            },
        },
        safety_interval: match &raw.safety_interval {
            None => websub_defaults.safety_interval,
            Some(i) => ctx.duration("websub.safety_interval", i)?,
        },
    })
}

/// `headers`, `user_agent`, `username` and `password` of one `[[feed]]`.
fn feed_request(ctx: &Ctx, raw: &RawFeed) -> Result<crate::fetch::RequestOptions, ConfigError> {
    use reqwest::header::{HeaderName, HeaderValue};
    let mut headers = Vec::new();
    if let Some(h) = &raw.headers {
        for (name, value) in h.get_ref() {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(ctx.invalid(
                    "feed.headers",
                    h,
                    format!("\"{name}\" is not a valid HTTP header name, e.g. \"X-Api-Key\""),
                ));
            }
            if HeaderValue::from_str(value).is_err() {
                return Err(ctx.invalid(
                    "feed.headers",
                    h,
                    format!("the value of \"{name}\" is not a valid header value (no newlines or control characters)"),
                ));
            }
            if name.eq_ignore_ascii_case("authorization")
                && (raw.username.is_some() || raw.password.is_some())
            {
                return Err(ctx.invalid(
                    "feed.headers",
                    h,
                    "an Authorization header and username/password cannot both be set: keep one",
                ));
            }
            headers.push((name.clone(), value.clone()));
        }
    }
    let user_agent = match &raw.user_agent {
        None => None,
        Some(ua) if HeaderValue::from_str(ua.get_ref()).is_ok() && !ua.get_ref().is_empty() => {
            Some(ua.get_ref().clone())
        }
        Some(ua) => {
            return Err(ctx.invalid(
                "feed.user_agent",
                ua,
                "expected a non-empty header value without newlines or control characters",
            ));
        }
    };
    let basic_auth = match (&raw.username, &raw.password) {
        (None, None) => None,
        (Some(u), p) if !u.contains(':') => Some((
            u.clone(),
            crate::fetch::Secret::new(p.clone().unwrap_or_default()),
        )),
        _ => {
            return Err(ctx.invalid(
                "feed.username",
                &raw.name,
                "HTTP Basic auth needs a `username` (without ':') beside `password`",
            ));
        }
    };
    Ok(crate::fetch::RequestOptions {
        headers,
        user_agent,
        basic_auth,
    })
}

/// Where in the config file byte `offset` of a string value's text lies: exact when the
/// value is written without escapes, else the start of the string.
fn offset_in_string(ctx: &Ctx, value: &Spanned<String>, offset: usize) -> usize {
    let start = value.span().start;
    let raw = &ctx.text[start.min(ctx.text.len())..value.span().end.min(ctx.text.len())];
    let mut base = start
        + if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
            3
        } else {
            1
        };
    // a newline right after the opening quotes is not part of a multi-line string
    if base > start + 1 {
        if ctx.text[base..].starts_with("\r\n") {
            base += 2;
        } else if ctx.text[base..].starts_with('\n') {
            base += 1;
        }
    }
    let v = value.get_ref();
    if ctx.text.get(base..base + v.len()) == Some(v.as_str()) {
        base + offset.min(v.len())
    } else {
        start
    }
}

fn validate_rules(
    ctx: &Ctx,
    raws: Vec<RawRule>,
    feed_names: &HashSet<String>,
) -> Result<Vec<crate::rules::Rule>, ConfigError> {
    let mut rules: Vec<crate::rules::Rule> = Vec::new();
    for raw in raws {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(ctx.invalid(
                "rule.name",
                &raw.name,
                "a rule needs a name, e.g. \"no-sponsored\"",
            ));
        }
        if rules.iter().any(|r| r.name == name) {
            return Err(ctx.invalid(
                "rule.name",
                &raw.name,
                format!("another [[rule]] is already called \"{name}\"; names must be unique"),
            ));
        }
        let expr = crate::rules::expr::parse(raw.when.get_ref()).map_err(|e| {
            let at = offset_in_string(ctx, &raw.when, e.offset);
            let (line, column) = ctx.line_col(at);
            ConfigError::Invalid {
                path: ctx.path.to_path_buf(),
                line,
                column,
                key: "rule.when".into(),
                message: e.message,
            }
        })?;
        let action = crate::rules::Action::parse(raw.action.get_ref())
            .map_err(|m| ctx.invalid("rule.action", &raw.action, m))?;
        let mut feeds = Vec::new();
        for f in &raw.feeds {
            let g = f.get_ref();
            if !g.contains(['*', '?']) && !feed_names.contains(g) {
                return Err(ctx.invalid(
                    "rule.feeds",
                    f,
                    format!(
                        "no [[feed]] is called \"{g}\" (use a glob such as \"bbc-*\" for a pattern)"
                    ),
                ));
            }
            feeds.push(g.clone());
        }
        rules.push(crate::rules::Rule {
            name,
            when: raw.when.get_ref().clone(),
            expr,
            action,
            feeds,
            tags: raw
                .tags
                .into_iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        });
    }
    Ok(rules)
}

fn full_text_mode(ctx: &Ctx, v: &Option<Spanned<String>>) -> Result<FullText, ConfigError> {
    match v {
        None => Ok(FullText::Off),
        Some(m) => match m.get_ref().as_str() {
            "off" => Ok(FullText::Off),
            "auto" => Ok(FullText::Auto),
            "always" => Ok(FullText::Always),
            _ => Err(ctx.invalid(
                "feed.full_text",
                m,
                "expected \"off\", \"auto\" (fetch the page when the entry's body is short) or \"always\"",
            )),
        },
    }
}

fn selector_rules(
    ctx: &Ctx,
    table: &str,
    content: &Option<Spanned<String>>,
    remove: &Option<Spanned<String>>,
) -> Result<crate::extract::Rules, ConfigError> {
    let check = |key: &str, v: &Option<Spanned<String>>| match v {
        None => Ok(None),
        Some(s) if crate::extract::check_selector(s.get_ref()) => Ok(Some(s.get_ref().clone())),
        Some(s) => Err(ctx.invalid(
            &format!("{table}.{key}"),
            s,
            "expected a CSS selector such as \"article .story-body\" or \"div#content, div.main\"",
        )),
    };
    Ok(crate::extract::Rules {
        content_selector: check("content_selector", content)?,
        remove_selector: check("remove_selector", remove)?,
    })
}

fn sites(ctx: &Ctx, raw: &[RawSite]) -> Result<Vec<SiteConfig>, ConfigError> {
    let mut out: Vec<SiteConfig> = Vec::new();
    for site in raw {
        let host = crate::extract::site_host(site.host.get_ref());
        if host.is_empty() || host.contains(['/', ':', ' ']) {
            return Err(ctx.invalid(
                "site.host",
                &site.host,
                "expected a host name such as \"www.example.com\" (no scheme, port or path)",
            ));
        }
        if out.iter().any(|s| s.host == host) {
            return Err(ctx.invalid(
                "site.host",
                &site.host,
                format!("another [[site]] is already for \"{host}\""),
            ));
        }
        out.push(SiteConfig {
            rules: selector_rules(ctx, "site", &site.content_selector, &site.remove_selector)?,
            host,
        });
    }
    Ok(out)
}

impl Config {
    /// The selector rules for an article page at `page` of `feed` (if any): the feed's own
    /// keys, else those of the `[[site]]` whose host the page is on (the longest that matches).
    pub fn page_rules(&self, feed: Option<&FeedConfig>, page: &Url) -> crate::extract::Rules {
        let host = crate::extract::site_host(page.host_str().unwrap_or_default());
        let site = self
            .sites
            .iter()
            .filter(|s| host == s.host || host.ends_with(&format!(".{}", s.host)))
            .max_by_key(|s| s.host.len())
            .map(|s| s.rules.clone())
            .unwrap_or_default();
        let own = feed.map(|f| f.rules.clone()).unwrap_or_default();
        crate::extract::Rules {
            content_selector: own.content_selector.or(site.content_selector),
            remove_selector: own.remove_selector.or(site.remove_selector),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/newswire/newswire.toml"), text)
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse("[[feed]]\nname = \"a\"\nurl = \"https://example.com/feed\"\n").unwrap();
        assert_eq!(
            c.database,
            crate::store::Location::File(PathBuf::from("/etc/newswire/newswire.db"))
        );
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.schedule.expr(), "0 */15 * * * *");
        assert_eq!(c.output.limit, 200);
        assert_eq!(c.fetch.max_size, 10 * 1024 * 1024);
        assert_eq!(c.fetch.timeout, Duration::from_secs(30));
        assert!(c.feeds[0].enabled);
        assert!(c.fetch.user_agent.starts_with("newswire/"));
        assert_eq!(c.fetch.per_host, 2);
        assert!(c.fetch.respect_cache_hints);
    }

    #[test]
    fn common_type_mistakes_say_the_key_and_the_fix() {
        let feed = "[[feed]]\nname = \"a\"\nurl = \"https://e.com/f\"\n";
        for (text, want) in [
            (
                format!("{feed}tags = \"world\"\n"),
                "`tags` takes a list, e.g. tags = [",
            ),
            (
                format!("{feed}enabled = \"no\"\n"),
                "`enabled` takes true or false, without quotes",
            ),
            (
                "[feed]\nname = \"a\"\nurl = \"https://e.com/f\"\n".to_string(),
                "each feed is a [[feed]] table (double brackets)",
            ),
        ] {
            let e = parse(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn a_cron_number_out_of_range_names_its_field_and_range() {
        let e = Schedule::parse("0 0 25 * * *").unwrap_err();
        assert!(
            e.contains("the hours field is 25") && e.contains("0 to 23"),
            "{e}"
        );
        let e = Schedule::parse("0 */5 * 0 * *").unwrap_err();
        assert!(
            e.contains("day of month field is 0") && e.contains("1 to 31"),
            "{e}"
        );
        let e = Schedule::parse("0 0 9 * 1-13 *").unwrap_err();
        assert!(e.contains("month field is 13"), "{e}");
        assert!(Schedule::parse("0 */15 * * * *").is_ok());
    }

    #[test]
    fn listen_takes_localhost_and_a_bare_port() {
        let at = |l: &str| parse(&format!("listen = \"{l}\"\n")).map(|c| c.listen.to_string());
        assert_eq!(at("localhost:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(at(":8080").unwrap(), "0.0.0.0:8080");
        assert_eq!(at("[::1]:8080").unwrap(), "[::1]:8080");
        for bad in ["localhost", "example.com:80", ":http", "localhost:99999"] {
            let e = at(bad).unwrap_err().to_string();
            assert!(
                e.contains("`listen`") && e.contains("localhost:8080"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_database_url_is_postgres_or_refused_not_made_a_folder() {
        for url in [
            "postgres://news@db.example/newswire",
            "postgresql:///newswire?host=/run/postgresql",
            "postgres://news@/newswire?host=/run/postgresql",
        ] {
            let c = parse(&format!("database = \"{url}\"\n")).unwrap();
            assert_eq!(c.database, crate::store::Location::Postgres(url.into()));
        }
        for url in ["sqlite:///var/lib/newswire/n.db", "mysql://db.example/news"] {
            let e = parse(&format!("database = \"{url}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(":1:12: `database`") && e.contains("PostgreSQL URL"),
                "{url}: {e}"
            );
        }
        let e = parse("database = \"postgres://db.example:notaport/x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a PostgreSQL URL"), "{e}");
        // a path with a colon in a folder name, or none, is still a path
        for path in ["state/n.db", "/srv/a:b/n.db", "C:/news.db"] {
            assert!(parse(&format!("database = \"{path}\"\n")).is_ok(), "{path}");
        }
    }

    #[test]
    fn two_feeds_with_one_url_are_an_error_naming_the_first() {
        let e = parse(
            "[[feed]]\nname = \"a\"\nurl = \"https://Example.com/feed\"\n\
             [[feed]]\nname = \"b\"\nurl = \"https://example.com/feed\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(":6:7: `feed.url`"), "{e}");
        assert!(e.contains("feed \"a\" already has this URL"), "{e}");
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"
database = "/var/lib/newswire/n.db"
listen = "[::1]:9000"
schedule = "0 0 * * * *"
[output]
title = "Mine"
limit = 50
file = "out/merged.atom"
[fetch]
timeout = "5s"
max_size = "512KiB"
concurrency = 4
user_agent = "ua"
[[feed]]
name = "gt"
url = "https://www.globaltimes.cn/rss/outbrain.xml"
tags = ["world", "opinion", "world"]
schedule = "0 */5 * * * *"
timezone = "Asia/Shanghai"
enabled = false
"#,
        )
        .unwrap();
        assert_eq!(
            c.database,
            crate::store::Location::File(PathBuf::from("/var/lib/newswire/n.db"))
        );
        assert_eq!(
            c.output.file,
            Some(PathBuf::from("/etc/newswire/out/merged.atom"))
        );
        assert_eq!(c.fetch.max_size, 512 * 1024);
        let f = &c.feeds[0];
        assert_eq!(f.tags, vec!["world", "opinion"]);
        assert_eq!(f.timezone, Some(chrono_tz::Asia::Shanghai));
        assert_eq!(c.schedule_of(f).expr(), "0 */5 * * * *");
        assert!(!f.enabled);
    }

    #[test]
    fn unknown_key_names_key_line_and_column() {
        let err = parse("[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\nschedul = \"x\"\n")
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("/etc/newswire/newswire.toml:4:1:"), "{msg}");
        assert!(msg.contains("schedul"), "{msg}");
    }

    #[test]
    fn bad_values_are_located_and_explained() {
        let cases = [
            ("schedule = \"every minute\"\n", "1:12", "`schedule`"),
            (
                "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\ntimezone = \"Mars/Base\"\n",
                "4:12",
                "IANA",
            ),
            (
                "[[feed]]\nname = \"A B\"\nurl = \"https://e.com/\"\n",
                "2:8",
                "slug",
            ),
            (
                "[[feed]]\nname = \"a\"\nurl = \"ftp://e.com/\"\n",
                "3:7",
                "http",
            ),
            ("[fetch]\ntimeout = \"soon\"\n", "2:11", "duration"),
            ("[fetch]\nmax_size = \"big\"\n", "2:12", "10MiB"),
            ("listen = \"localhost\"\n", "1:10", "IP address"),
            (
                "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\n[[feed]]\nname = \"a\"\nurl = \"https://f.com/\"\n",
                "5:8",
                "unique",
            ),
        ];
        for (text, at, hint) in cases {
            let msg = parse(text).unwrap_err().to_string();
            assert!(
                msg.contains(&format!("newswire.toml:{at}:")),
                "{text:?} -> {msg}"
            );
            assert!(msg.contains(hint), "{text:?} -> {msg}");
        }
    }

    #[test]
    fn views_are_validated() {
        let feeds = "[[feed]]\nname = \"gt\"\nurl = \"https://e.com/\"\ntags = [\"world\"]\n";
        let c = parse(&format!(
            "{feeds}[[view]]\nname = \"cr\"\ntitle = \"China-Russia\"\ntags = [\"world\"]\nfeeds = [\"gt\"]\nquery = \"Russia OR Moscow\"\nlimit = 100\n"
        ))
        .unwrap();
        assert_eq!(c.views[0].query.as_deref(), Some("Russia OR Moscow"));
        assert_eq!(c.view("cr").unwrap().limit, 100);
        let bad_feed = parse(&format!(
            "{feeds}[[view]]\nname = \"v\"\nfeeds = [\"nope\"]\n"
        ))
        .unwrap_err();
        assert!(
            bad_feed
                .to_string()
                .contains("no [[feed]] is called \"nope\""),
            "{bad_feed}"
        );
        let bad_query = parse(&format!(
            "{feeds}[[view]]\nname = \"v\"\nquery = \"AND OR (\"\n"
        ))
        .unwrap_err();
        assert!(
            bad_query.to_string().contains(":7:9: `view.query`"),
            "{bad_query}"
        );
    }

    #[test]
    fn full_text_keys_and_sites() {
        let c = parse(
            r#"
[[feed]]
name = "a"
url = "https://feeds.example.com/a.xml"
full_text = "auto"
remove_selector = ".promo"

[[feed]]
name = "b"
url = "https://feeds.example.com/b.xml"

[[site]]
host = "WWW.Example.com"
content_selector = "article .body"
remove_selector = "aside"
"#,
        )
        .unwrap();
        assert_eq!(c.feeds[0].full_text, FullText::Auto);
        assert_eq!(c.feeds[1].full_text, FullText::Off);
        assert_eq!(c.sites[0].host, "example.com");
        let page = Url::parse("https://news.example.com/story").unwrap();
        // the feed's own key wins, the site's fills the other
        let r = c.page_rules(c.feed("a"), &page);
        assert_eq!(r.content_selector.as_deref(), Some("article .body"));
        assert_eq!(r.remove_selector.as_deref(), Some(".promo"));
        let r = c.page_rules(c.feed("b"), &page);
        assert_eq!(r.remove_selector.as_deref(), Some("aside"));
        // another site: nothing
        let other = Url::parse("https://notexample.com/story").unwrap();
        assert!(c.page_rules(c.feed("b"), &other).is_empty());

        for (text, key) in [
            (
                "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\nfull_text = \"yes\"\n",
                "`feed.full_text`",
            ),
            (
                "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\ncontent_selector = \"div[\"\n",
                "`feed.content_selector`",
            ),
            ("[[site]]\nhost = \"https://e.com/\"\n", "`site.host`"),
            (
                "[[site]]\nhost = \"e.com\"\n[[site]]\nhost = \"www.e.com\"\n",
                "`site.host`",
            ),
            ("[[site]]\nhost = \"e.com\"\nselector = \"x\"\n", "selector"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn dedup_and_storage_are_validated() {
        let c = parse("[dedup]\nwindow = \"2d\"\nthreshold = 0.7\n[storage]\nmax_age = \"off\"\nmax_per_feed = 0\n").unwrap();
        assert_eq!(c.store.window, Duration::from_secs(2 * 86400));
        assert_eq!((c.store.max_age, c.store.max_per_feed), (None, None));
        for bad in [
            "[storage]\nmax_age = \"1000000 years\"\n",
            "[dedup]\nwindow = \"0s\"\n",
            "[dedup]\nthreshold = 2.0\n",
        ] {
            let msg = parse(bad).unwrap_err().to_string();
            assert!(msg.contains(":2:"), "{bad:?} -> {msg}");
        }
    }

    #[test]
    fn public_url_and_websub() {
        let feed = "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\n";
        let c = parse(feed).unwrap();
        assert_eq!(c.public_url, None);
        assert!(!c.feeds[0].websub, "no public_url: no WebSub by default");
        let c = parse(&format!(
            "public_url = \"https://news.example.org/river\"\n[websub]\nlease = \"2d\"\nsafety_interval = \"3h\"\n{feed}[[feed]]\nname = \"b\"\nurl = \"https://f.com/\"\nwebsub = false\n"
        ))
        .unwrap();
        assert_eq!(
            c.public_url.as_ref().map(Url::as_str),
            Some("https://news.example.org/river/")
        );
        assert!(c.feeds[0].websub && !c.feeds[1].websub);
        assert_eq!(c.websub.lease, Duration::from_secs(2 * 86400));
        assert_eq!(c.websub.safety_interval, Duration::from_secs(3 * 3600));
        for (text, at, hint) in [
            (
                "public_url = \"news.example.org\"\n",
                "1:14",
                "`public_url`",
            ),
            ("public_url = \"ftp://example.org/\"\n", "1:14", "http"),
            ("public_url = \"https://e.org/?a=1\"\n", "1:14", "query"),
            (
                "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\nwebsub = true\n",
                "4:10",
                "public_url",
            ),
            ("[websub]\nlease = \"5s\"\n", "2:9", "`websub.lease`"),
        ] {
            let msg = parse(text).unwrap_err().to_string();
            assert!(
                msg.contains(&format!("newswire.toml:{at}:")),
                "{text:?} -> {msg}"
            );
            assert!(msg.contains(hint), "{text:?} -> {msg}");
        }
    }

    #[test]
    fn missing_required_key_is_an_error() {
        let msg = parse("[[feed]]\nname = \"a\"\n").unwrap_err().to_string();
        assert!(msg.contains("url"), "{msg}");
    }

    #[test]
    fn schedule_next_after() {
        let s = Schedule::parse("0 */15 * * * *").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-01-01T10:07:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            s.next_after(t).unwrap().to_rfc3339(),
            "2026-01-01T10:15:00+00:00"
        );
    }
}

#[cfg(test)]
mod rule_and_feed_option_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/newswire/newswire.toml"), text)
    }

    const FEED: &str = "[[feed]]\nname = \"bbc\"\nurl = \"https://e.com/\"\n";

    #[test]
    fn rules_parse_with_scope() {
        let c = parse(&format!(
            "{FEED}[[rule]]\nname = \"ads\"\nwhen = 'title ~ \"(?i)^sponsored\" or category = \"Advertorial\"'\naction = \"drop\"\nfeeds = [\"bb*\"]\ntags = [\"news\"]\n[[rule]]\nname = \"ai\"\nwhen = \"title contains \\\"AI\\\"\"\naction = \"tag:ai\"\n"
        ))
        .unwrap();
        assert_eq!(c.rules.len(), 2);
        assert_eq!(c.rules[0].feeds, ["bb*"]);
        assert_eq!(c.rules[1].action, crate::rules::Action::Tag("ai".into()));
        assert_eq!(c.output.per_feed, Some(50));
    }

    #[test]
    fn rule_errors_point_into_the_expression() {
        let cases = [
            // literal string: the column of the offending word itself
            ("when = 'titel ~ \"x\"'", "6:9:", "unknown field `titel`"),
            ("when = 'title ~ \"(\"'", "6:17:", "invalid regex"),
            (
                "when = '''\ntitle = \"a\" and\n'''",
                "8:1:",
                "ends too soon",
            ),
            // with escapes: the start of the string
            ("when = \"title = \\\"a\\\" @\"", "6:8:", "unexpected `@`"),
        ];
        for (when, at, hint) in cases {
            let text = format!("{FEED}[[rule]]\nname = \"r\"\n{when}\naction = \"drop\"\n");
            let msg = parse(&text).unwrap_err().to_string();
            assert!(
                msg.contains(&format!("newswire.toml:{at} `rule.when`")),
                "{when}: {msg}"
            );
            assert!(msg.contains(hint), "{when}: {msg}");
        }
        for (rule, at, hint) in [
            (
                "name = \"r\"\nwhen = 'feed = \"a\"'\naction = \"delete\"",
                "7:10:",
                "\"tag:NAME\"",
            ),
            (
                "name = \"r\"\nwhen = 'feed = \"a\"'\naction = \"drop\"\nfeeds = [\"cnn\"]",
                "8:10:",
                "no [[feed]] is called \"cnn\"",
            ),
            (
                "name = \"r\"\nwhen = 'feed = \"a\"'\naction = \"drop\"\n[[rule]]\nname = \"r\"\nwhen = 'feed = \"a\"'\naction = \"drop\"",
                "9:8:",
                "unique",
            ),
        ] {
            let msg = parse(&format!("{FEED}[[rule]]\n{rule}\n"))
                .unwrap_err()
                .to_string();
            assert!(msg.contains(at) && msg.contains(hint), "{rule}: {msg}");
        }
    }

    #[test]
    fn per_feed_request_options() {
        let c = parse(
            "[[feed]]\nname = \"a\"\nurl = \"https://e.com/\"\ntitle = \"  The A  \"\nuser_agent = \"Mozilla/5.0\"\nusername = \"me\"\npassword = \"hunter2\"\nheaders = { Cookie = \"s=1\", \"X-Api-Key\" = \"k\" }\n[output]\nper_feed = 0\n",
        )
        .unwrap();
        let f = &c.feeds[0];
        assert_eq!(f.title.as_deref(), Some("The A"));
        assert_eq!(f.request.user_agent.as_deref(), Some("Mozilla/5.0"));
        assert_eq!(f.request.headers.len(), 2);
        assert_eq!(c.output.per_feed, None);
        // the password never shows in debug output (and so in no log line)
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        for (bad, hint) in [
            ("headers = { \"Bad Name\" = \"x\" }", "header name"),
            ("headers = { X = \"a\\nb\" }", "header value"),
            ("password = \"p\"", "username"),
            ("username = \"a:b\"", "username"),
            ("user_agent = \"\"", "non-empty"),
            (
                "username = \"u\"\nheaders = { Authorization = \"Bearer x\" }",
                "cannot both",
            ),
        ] {
            let msg = parse(&format!("{FEED}{bad}\n")).unwrap_err().to_string();
            assert!(msg.contains(hint), "{bad}: {msg}");
        }
        let msg = parse("[output]\nper_feed = -1\n").unwrap_err().to_string();
        assert!(msg.contains("2:12: `output.per_feed`"), "{msg}");
    }

    #[test]
    fn an_instance_is_named_by_the_config_or_by_its_host_and_path() {
        let c = parse("instance = \"  news-1 \"\n").unwrap();
        assert_eq!(c.instance, "news-1");
        let c = parse("").unwrap();
        assert!(
            c.instance
                .starts_with(&format!("{}:", crate::names::hostname()))
                && c.instance.ends_with("newswire.toml"),
            "{}",
            c.instance
        );
        for bad in ["\"\"", "\"a\\tb\""] {
            let msg = parse(&format!("instance = {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(msg.contains("1:12: `instance`"), "{bad}: {msg}");
        }
    }
}
