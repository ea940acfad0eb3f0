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
    /// SQLite database file (absolute, or relative to the working directory).
    pub database: PathBuf,
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
    /// Where readers reach newswire (`public_url`): an http(s) base URL, possibly with a
    /// path (`https://example.org/news/`). Links in the page and feeds start with it.
    pub public_url: Option<url::Url>,
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
    /// Where the feeds write each story's source for readers that ignore `<source>`.
    pub source_in: crate::publish::source::SourceIn,
}

/// `[fetch]`
#[derive(Debug, Clone, PartialEq)]
pub struct FetchConfig {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Largest accepted body, after decompression.
    pub max_size: u64,
    /// Feeds fetched at once.
    pub concurrency: usize,
    /// The User-Agent header.
    pub user_agent: String,
    /// Feeds fetched at once from one host.
    pub per_host: usize,
    /// Let RSS `<ttl>`, Cache-Control max-age and Expires lengthen a feed's interval.
    pub respect_cache_hints: bool,
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
    public_url: Option<Spanned<String>>,
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
}

/// The default User-Agent: names the program, its version and where to read about it.
pub fn default_user_agent() -> String {
    format!(
        "newswire/{} (+https://github.com/newswire-rs/newswire)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Whether `name` can name a feed: a slug of lowercase letters, digits, '-', '_' or '.'.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
        })
        && !name.starts_with('.')
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

impl RawConfig {
    fn validate(self, ctx: &Ctx) -> Result<Config, ConfigError> {
        let database = ctx.relative_path(
            self.database
                .as_ref()
                .map_or("newswire.db", |d| d.get_ref().as_str()),
        );
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

        let limit = match &self.output.limit {
            None => 200,
            Some(l) if (1..=10_000).contains(l.get_ref()) => *l.get_ref() as usize,
            Some(l) => {
                return Err(ctx.invalid("output.limit", l, "expected a number from 1 to 10000"));
            }
        };
        let http_url =
            |key: &str, v: &Option<Spanned<String>>| -> Result<Option<String>, ConfigError> {
                match v {
                    None => Ok(None),
                    Some(u) => match Url::parse(u.get_ref().trim()) {
                        Ok(url) if matches!(url.scheme(), "http" | "https") => {
                            Ok(Some(url.to_string()))
                        }
                        _ => Err(ctx.invalid(key, u, "expected an absolute http(s) URL")),
                    },
                }
            };
        let display_zone = match &self.output.timezone {
            None => Tz::UTC,
            Some(t) => t.get_ref().parse::<Tz>().map_err(|_| {
                ctx.invalid(
                    "output.timezone",
                    t,
                    "expected an IANA time zone name such as \"Europe/London\" or \"UTC\"",
                )
            })?,
        };
        let output = OutputConfig {
            title: self.output.title.unwrap_or_else(|| "newswire".to_string()),
            limit,
            file: self.output.file.as_deref().map(|f| ctx.relative_path(f)),
            rss_file: self
                .output
                .rss_file
                .as_deref()
                .map(|f| ctx.relative_path(f)),
            json_file: self
                .output
                .json_file
                .as_deref()
                .map(|f| ctx.relative_path(f)),
            icon: http_url("output.icon", &self.output.icon)?,
            logo: http_url("output.logo", &self.output.logo)?,
            hub: http_url("output.hub", &self.output.hub)?,
            timezone: display_zone,
            source_in: match &self.output.source_in {
                None => crate::publish::source::SourceIn::ALL,
                Some(places) => {
                    let mut si = crate::publish::source::SourceIn::default();
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
        };

        let timeout = match &self.fetch.timeout {
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
        let max_size = match &self.fetch.max_size {
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
        let concurrency = match &self.fetch.concurrency {
            None => 16,
            Some(c) if (1..=1024).contains(c.get_ref()) => *c.get_ref() as usize,
            Some(c) => {
                return Err(ctx.invalid(
                    "fetch.concurrency",
                    c,
                    "expected a number from 1 to 1024",
                ));
            }
        };
        let per_host = match &self.fetch.per_host {
            None => 2,
            Some(c) if (1..=64).contains(c.get_ref()) => *c.get_ref() as usize,
            Some(c) => {
                return Err(ctx.invalid("fetch.per_host", c, "expected a number from 1 to 64"));
            }
        };
        let fetch = FetchConfig {
            timeout,
            max_size,
            concurrency,
            user_agent: self.fetch.user_agent.unwrap_or_else(default_user_agent),
            per_host,
            respect_cache_hints: self.fetch.respect_cache_hints.unwrap_or(true),
        };

        let mut seen = HashSet::new();
        // URL -> the feed that has it: two feeds polling one URL is a mistake `add` refuses
        let mut urls: std::collections::HashMap<Url, String> = Default::default();
        let mut feeds = Vec::with_capacity(self.feeds.len());
        for raw in self.feeds {
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
                Some(s) => Some(
                    Schedule::parse(s.get_ref()).map_err(|m| ctx.invalid("feed.schedule", s, m))?,
                ),
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
            let mut tags: Vec<String> = Vec::new();
            for t in raw.tags {
                let t = t.trim().to_string();
                if !t.is_empty() && !tags.contains(&t) {
                    tags.push(t);
                }
            }
            feeds.push(FeedConfig {
                name,
                url,
                tags,
                schedule,
                timezone,
                enabled: raw.enabled.unwrap_or(true),
            });
        }

        let mut views: Vec<ViewConfig> = Vec::new();
        for raw in self.views {
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
                if !seen.contains(f.get_ref()) {
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
            let limit = match &raw.limit {
                None => output.limit,
                Some(l) if (1..=10_000).contains(l.get_ref()) => *l.get_ref() as usize,
                Some(l) => {
                    return Err(ctx.invalid("view.limit", l, "expected a number from 1 to 10000"));
                }
            };
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

        let public_url = match &self.public_url {
            None => None,
            Some(u) => Some(
                url::Url::parse(u.get_ref())
                    .ok()
                    .filter(|p| {
                        matches!(p.scheme(), "http" | "https")
                            && p.host().is_some()
                            && p.query().is_none()
                            && p.fragment().is_none()
                    })
                    .ok_or_else(|| {
                        ctx.invalid(
                            "public_url",
                            u,
                            "expected the http(s) URL readers use, such as \"https://example.org/news/\" (no query or fragment)",
                        )
                    })?,
            ),
        };

        let log_format = match &self.log.format {
            None => crate::logging::LogFormat::Text,
            Some(f) => match f.get_ref().as_str() {
                "text" => crate::logging::LogFormat::Text,
                "json" => crate::logging::LogFormat::Json,
                _ => return Err(ctx.invalid("log.format", f, "expected \"text\" or \"json\"")),
            },
        };

        let defaults = crate::store::StoreSettings::default();
        let duration = |key: &str, v: &Spanned<String>| -> Result<Duration, ConfigError> {
            match humantime::parse_duration(v.get_ref()) {
                // past a century the arithmetic on dates stops making sense
                Ok(d) if !d.is_zero() && d <= Duration::from_secs(100 * 365 * 86400) => Ok(d),
                _ => Err(ctx.invalid(
                    key,
                    v,
                    "expected a duration from 1s to 100 years, such as \"3d\", \"12h\" or \"90d\"",
                )),
            }
        };
        let store = crate::store::StoreSettings {
            near_duplicates: self
                .dedup
                .near_duplicates
                .unwrap_or(defaults.near_duplicates),
            threshold: match &self.dedup.threshold {
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
            window: match &self.dedup.window {
                None => defaults.window,
                Some(w) => duration("dedup.window", w)?,
            },
            max_updates_per_day: match &self.dedup.max_updates_per_day {
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
            max_age: match &self.storage.max_age {
                None => defaults.max_age,
                Some(a) if a.get_ref() == "off" => None,
                Some(a) => Some(duration("storage.max_age", a).map_err(|_| {
                    ctx.invalid(
                        "storage.max_age",
                        a,
                        "expected a duration such as \"90d\", or \"off\"",
                    )
                })?),
            },
            max_per_feed: match &self.storage.max_per_feed {
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
        };

        Ok(Config {
            path: ctx.path.to_path_buf(),
            database,
            listen,
            schedule,
            output,
            fetch,
            feeds,
            views,
            log_format,
            store,
            public_url,
        })
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
        assert_eq!(c.database, PathBuf::from("/etc/newswire/newswire.db"));
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
        assert_eq!(c.database, PathBuf::from("/var/lib/newswire/n.db"));
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
