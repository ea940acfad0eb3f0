//! Managing the feed list from the command line: finding a site's feed, and adding, removing,
//! enabling or disabling `[[feed]]` tables in the config file.
//!
//! The file is the user's. Edits go through toml_edit, so every comment, blank line and key
//! outside the touched table stays byte for byte; the result must load before it replaces the
//! file, and it replaces it atomically (a temporary file in the same folder, then a rename),
//! so that a running daemon, which reloads when the file changes, never reads half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};
use url::Url;

use crate::config::{Config, ConfigError};
use crate::fetch::{FetchError, Fetcher, Validators};
use crate::names::valid_name;
pub use crate::names::{slug, tag_slug};
use crate::opml::{self, OpmlError};
use crate::parse::{self, ParseError};

/// Paths tried, in order, when a page advertises no feed.
pub const COMMON_PATHS: &[&str] = &[
    "/feed",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/feed.xml",
    "/index.xml",
];

/// Why the feed list could not be changed. In every case the config file is as it was.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The config file could not be read, or the edited one could not be written.
    #[error("{}: cannot {action} the config file: {source}", path.display())]
    Io {
        /// The config file.
        path: PathBuf,
        /// "read" or "write".
        action: &'static str,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The config does not load as it is; newswire does not edit a file it cannot read.
    #[error("{0}")]
    Config(#[source] ConfigError),
    /// toml_edit could not read the file (it loads as a config, so this should not happen).
    #[error("{}: cannot edit the file: {message}", path.display())]
    Toml {
        /// The config file.
        path: PathBuf,
        /// What toml_edit said.
        message: String,
    },
    /// The feeds are not written as `[[feed]]` tables (e.g. `feed = [{...}]`).
    #[error("{}: the feeds are not written as [[feed]] tables; newswire only edits those", path.display())]
    Layout {
        /// The config file.
        path: PathBuf,
    },
    /// No feed has that name.
    #[error("no feed is called \"{name}\"; the feeds are: {}", if known.is_empty() { "(none)".to_string() } else { known.join(", ") })]
    UnknownFeed {
        /// The name asked for.
        name: String,
        /// The names in the config.
        known: Vec<String>,
    },
    /// `--name` is taken.
    #[error("a feed is already called \"{0}\"; choose another --name")]
    NameTaken(String),
    /// `--name` is not a slug.
    #[error(
        "\"{0}\" is not a valid feed name: use lowercase letters, digits, '-', '_' or '.' \
         (at most 64 characters), e.g. \"bbc-world\""
    )]
    BadName(String),
    /// The URL is not an absolute http(s) URL.
    #[error("\"{0}\" is not an http:// or https:// URL")]
    BadUrl(String),
    /// The feed is in the config already.
    #[error("{url} is already in the config, as feed \"{feed}\"")]
    DuplicateUrl {
        /// The URL.
        url: String,
        /// The feed that has it.
        feed: String,
    },
    /// The URL could not be fetched.
    #[error("{url}: {source}")]
    Fetch {
        /// What was fetched.
        url: Url,
        /// Why it failed (boxed: it is large, and rare).
        #[source]
        source: Box<FetchError>,
    },
    /// Neither the URL nor any page it points to is a feed.
    #[error("no feed found at {url}; tried:{}", tried.iter().map(|(u, e)| format!("\n  {u}: {e}")).collect::<String>())]
    NoFeed {
        /// What the user gave.
        url: Url,
        /// Each URL tried and why it was not a feed.
        tried: Vec<(Url, String)>,
    },
    /// The edited config would not load; nothing was written (or the old bytes were put back).
    #[error("the edited config does not load, so the file was left as it was: {0}")]
    Rejected(#[source] ConfigError),
    /// Someone else changed the file while newswire was editing it.
    #[error("{}: the file changed while newswire was editing it; nothing was written, try again", path.display())]
    Changed {
        /// The config file.
        path: PathBuf,
    },
    /// The OPML file could not be read.
    #[error("{0}")]
    Opml(#[source] OpmlError),
    /// The page advertises several feeds and none was picked.
    #[error("{page} advertises {} feeds:\n{}rerun with --pick N to add one of them, e.g. --pick 1", feeds.len(), numbered(feeds))]
    SeveralFeeds {
        /// The page given.
        page: Url,
        /// The feeds it advertises that fetch and parse, in page order.
        feeds: Vec<Offered>,
    },
    /// `--pick N` is not one of the feeds the page advertises.
    #[error("--pick {pick}: {page} advertises {} feeds, pick one from 1 to {}:\n{}", feeds.len(), feeds.len(), numbered(feeds))]
    BadPick {
        /// The number given.
        pick: usize,
        /// The page given.
        page: Url,
        /// The feeds it advertises that fetch and parse, in page order.
        feeds: Vec<Offered>,
    },
}

/// A feed a page advertises, offered to choose from.
#[derive(Debug, Clone, PartialEq)]
pub struct Offered {
    /// The feed's URL.
    pub url: Url,
    /// What the page calls it (the link's `title`), else the feed's own title.
    pub title: Option<String>,
}

/// The offered feeds as a numbered list, one a line: `  1. Posts <https://...>`.
pub fn numbered(feeds: &[Offered]) -> String {
    feeds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            format!(
                "  {}. {} <{}>\n",
                i + 1,
                f.title.as_deref().unwrap_or("(no title)"),
                f.url
            )
        })
        .collect()
}

/// A feed to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeed {
    /// Its unique name.
    pub name: String,
    /// Its URL.
    pub url: Url,
    /// Its tags (may be empty).
    pub tags: Vec<String>,
    /// Its display title (`title`), if it has one.
    pub title: Option<String>,
}

/// The config file open for editing.
pub struct ConfigFile {
    /// The path as given (for messages and relative paths).
    path: PathBuf,
    /// Where the bytes really are (symlinks followed), so a rename replaces the file, not
    /// the link.
    real: PathBuf,
    original: String,
    doc: DocumentMut,
    config: Config,
    /// Feeds added since opening, for the name and URL checks.
    added: Vec<NewFeed>,
}

impl ConfigFile {
    /// Reads the file at `path`, which must load as a config.
    pub fn open(path: &Path) -> Result<ConfigFile, ManageError> {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let original = std::fs::read_to_string(&real).map_err(|source| ManageError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        })?;
        let config = Config::parse(path, &original).map_err(ManageError::Config)?;
        let doc: DocumentMut =
            original
                .parse()
                .map_err(|e: toml_edit::TomlError| ManageError::Toml {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
        Ok(ConfigFile {
            path: path.to_path_buf(),
            real,
            original,
            doc,
            config,
            added: Vec::new(),
        })
    }

    /// The config as it loaded when opened.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The file's text with the edits so far.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// The name of the feed (in the file or added since) whose URL is `url`.
    pub fn feed_with_url(&self, url: &Url) -> Option<&str> {
        self.config
            .feeds
            .iter()
            .map(|f| (f.name.as_str(), &f.url))
            .chain(self.added.iter().map(|f| (f.name.as_str(), &f.url)))
            .find(|(_, u)| same_url(u, url))
            .map(|(n, _)| n)
    }

    /// Whether a feed (in the file or added since) is called `name`.
    pub fn name_taken(&self, name: &str) -> bool {
        self.config.feed(name).is_some() || self.added.iter().any(|f| f.name == name)
    }

    /// `base`, or `base-2`, `base-3`... whichever is free first.
    pub fn unique_name(&self, base: &str) -> String {
        if !self.name_taken(base) {
            return base.to_string();
        }
        let stem: String = base.chars().take(58).collect();
        let stem = stem.trim_end_matches('-');
        (2..)
            .map(|n| format!("{stem}-{n}"))
            .find(|n| !self.name_taken(n))
            .expect("some suffix is free")
    }

    fn names(&self) -> Vec<String> {
        self.config.feeds.iter().map(|f| f.name.clone()).collect()
    }

    fn feeds_mut(&mut self) -> Result<Option<&mut ArrayOfTables>, ManageError> {
        match self.doc.get_mut("feed") {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
            Some(_) => Err(ManageError::Layout {
                path: self.path.clone(),
            }),
        }
    }

    fn index_of(&mut self, name: &str) -> Result<usize, ManageError> {
        let known = self.names();
        let found = self.feeds_mut()?.and_then(|a| {
            a.iter()
                .position(|t| t.get("name").and_then(Item::as_str) == Some(name))
        });
        found.ok_or_else(|| ManageError::UnknownFeed {
            name: name.to_string(),
            known,
        })
    }

    /// Appends a `[[feed]]` table after the last one.
    pub fn add(&mut self, feed: NewFeed) -> Result<(), ManageError> {
        if !valid_name(&feed.name) {
            return Err(ManageError::BadName(feed.name));
        }
        if self.name_taken(&feed.name) {
            return Err(ManageError::NameTaken(feed.name));
        }
        if let Some(other) = self.feed_with_url(&feed.url) {
            return Err(ManageError::DuplicateUrl {
                url: feed.url.to_string(),
                feed: other.to_string(),
            });
        }
        let mut table = Table::new();
        table.insert("name", toml_edit::value(feed.name.as_str()));
        table.insert("url", toml_edit::value(feed.url.as_str()));
        if !feed.tags.is_empty() {
            let tags: toml_edit::Array = feed.tags.iter().map(String::as_str).collect();
            table.insert("tags", toml_edit::value(tags));
        }
        if let Some(title) = &feed.title {
            table.insert("title", toml_edit::value(title.as_str()));
        }
        // comments at the very end of the file stay where they are, above the new table
        // (toml_edit would keep them last, i.e. move them below it)
        let trailing = self.doc.trailing().as_str().unwrap_or("").to_string();
        if trailing.lines().any(|l| !is_blank(l)) {
            let sep = if trailing.ends_with("\n\n") {
                ""
            } else if trailing.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            table.decor_mut().set_prefix(format!("{trailing}{sep}"));
            self.doc.set_trailing("");
        } else {
            table.decor_mut().set_prefix("\n");
        }
        if self.feeds_mut()?.is_none() {
            self.doc
                .insert("feed", Item::ArrayOfTables(ArrayOfTables::new()));
        }
        self.feeds_mut()?.expect("just inserted").push(table);
        self.added.push(feed);
        Ok(())
    }

    /// Removes the `[[feed]]` called `name`. Comments above it that are set apart by a blank
    /// line (a section's explanation) stay; comments right on top of it go with it.
    pub fn remove(&mut self, name: &str) -> Result<(), ManageError> {
        let i = self.index_of(name)?;
        let feeds = self.feeds_mut()?.expect("the feed was found");
        let prefix = feeds
            .get(i)
            .and_then(|t| t.decor().prefix())
            .and_then(|p| p.as_str())
            .unwrap_or("")
            .to_string();
        feeds.remove(i);
        let kept = detached_comments(&prefix);
        if kept.is_empty() {
            return Ok(());
        }
        if let Some(next) = feeds.get_mut(i) {
            let next_prefix = next
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_string();
            next.decor_mut().set_prefix(join_blank(kept, &next_prefix));
        } else {
            let trailing = self.doc.trailing().as_str().unwrap_or("").to_string();
            self.doc.set_trailing(join_blank(kept, &trailing));
        }
        Ok(())
    }

    /// Sets `enabled` in the feed called `name`; false when it already was so (the file is
    /// then left alone). A trailing comment on the `enabled` line is kept.
    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<bool, ManageError> {
        let i = self.index_of(name)?;
        let table = self
            .feeds_mut()?
            .and_then(|a| a.get_mut(i))
            .expect("the feed was found");
        match table.get_mut("enabled") {
            Some(Item::Value(v)) => {
                if v.as_bool() == Some(enabled) {
                    return Ok(false);
                }
                let decor = v.decor().clone();
                *v = Value::from(enabled);
                *v.decor_mut() = decor;
            }
            Some(other) => *other = toml_edit::value(enabled),
            None if enabled => return Ok(false),
            None => {
                table.insert("enabled", toml_edit::value(enabled));
            }
        }
        Ok(true)
    }

    /// Writes the edited file if it changed, after checking that it loads, and returns the
    /// config as it now loads. A file that does not load after the write (it was checked
    /// before, so only a concurrent writer could cause this) gets its old bytes back.
    pub fn save(&self) -> Result<Config, ManageError> {
        let text = self.text();
        if text == self.original {
            return Ok(self.config.clone());
        }
        Config::parse(&self.path, &text).map_err(ManageError::Rejected)?;
        let io = |action, source| ManageError::Io {
            path: self.path.clone(),
            action,
            source,
        };
        match std::fs::read_to_string(&self.real) {
            Ok(now) if now == self.original => {}
            Ok(_) => {
                return Err(ManageError::Changed {
                    path: self.path.clone(),
                });
            }
            Err(e) => return Err(io("read", e)),
        }
        write_atomically(&self.real, text.as_bytes()).map_err(|e| io("write", e))?;
        match Config::load(&self.path) {
            Ok(c) => Ok(c),
            Err(e) => {
                write_atomically(&self.real, self.original.as_bytes())
                    .map_err(|e| io("restore", e))?;
                Err(ManageError::Rejected(e))
            }
        }
    }
}

/// Whether two feed URLs are the same (an empty path is `/`; the host's case never matters).
fn same_url(a: &Url, b: &Url) -> bool {
    a == b
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Of a table's prefix (the lines between the previous content and its header), the part
/// that is not glued to the header: everything up to the last blank line, if that part holds
/// a comment; else nothing.
fn detached_comments(prefix: &str) -> &str {
    let lines: Vec<&str> = prefix.split_inclusive('\n').collect();
    let Some(last_blank) = lines.iter().rposition(|l| is_blank(l)) else {
        return "";
    };
    let end: usize = lines[..=last_blank].iter().map(|l| l.len()).sum();
    let kept = &prefix[..end];
    if kept.lines().any(|l| l.trim_start().starts_with('#')) {
        kept
    } else {
        ""
    }
}

/// `kept` (ending in a blank line) followed by `next`, without doubling the blank line.
fn join_blank(kept: &str, next: &str) -> String {
    let next = if kept.lines().last().is_some_and(is_blank) || kept.ends_with("\n\n") {
        next.trim_start_matches([' ', '\t'])
            .strip_prefix('\n')
            .unwrap_or(next)
    } else {
        next
    };
    format!("{kept}{next}")
}

/// Replaces `path` by `content` through a temporary file in the same folder, keeping the old
/// file's permissions (and owner, when allowed).
fn write_atomically(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".newswire-edit-")
        .tempfile_in(dir)?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
        use std::os::unix::fs::MetadataExt;
        // only root may give a file away; anyone else's file stays theirs anyway
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.write_all(content)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The name a feed gets when none is given: its title when that is already a valid name,
/// else a slug of its title, else of its host (without `www.`), else "feed". Not yet unique.
pub fn base_name(title: Option<&str>, url: &Url) -> String {
    if let Some(t) = title.map(str::trim).filter(|t| valid_name(t)) {
        return t.to_string();
    }
    let from_title = title.map(slug).unwrap_or_default();
    if !from_title.is_empty() {
        return from_title;
    }
    let host = url.host_str().unwrap_or("");
    let from_host = slug(host.strip_prefix("www.").unwrap_or(host));
    if from_host.is_empty() {
        "feed".to_string()
    } else {
        from_host
    }
}

/// Trims, drops empty and repeated tags, keeping the order.
pub fn clean_tags(tags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim().to_string();
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Parses a URL the user typed: absolute http(s), or a bare host (`example.com/blog`) taken
/// as https.
pub fn parse_user_url(text: &str) -> Result<Url, ManageError> {
    let t = text.trim();
    let parsed = match Url::parse(t) {
        Ok(u) => Ok(u),
        Err(url::ParseError::RelativeUrlWithoutBase) => Url::parse(&format!("https://{t}")),
        Err(e) => Err(e),
    };
    match parsed {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
        _ => Err(ManageError::BadUrl(text.to_string())),
    }
}

/// How a feed was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The URL given was the feed.
    Direct,
    /// The page named it with `<link rel="alternate">`.
    Advertised,
    /// One of [`COMMON_PATHS`] on the page's site.
    CommonPath,
}

/// A feed found and checked.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The feed's URL (where a permanent redirect led, if one did).
    pub url: Url,
    /// How it was found.
    pub via: Via,
    /// Its title, if it has one.
    pub title: Option<String>,
    /// How many entries it has now.
    pub entries: usize,
}

/// What fetching one candidate gave.
enum Attempt {
    Feed(Discovered),
    /// An HTML page (its text and where it came from), not a feed.
    Page(String, Url),
    /// Something else that is not a feed.
    NotFeed(String),
}

async fn attempt(fetcher: &Fetcher, url: &Url, via: Via) -> Result<Attempt, FetchError> {
    let fetched = fetcher.fetch(url, &Validators::default()).await?;
    let body = fetched.body.unwrap_or_default();
    let ct = fetched.content_type.as_deref();
    match parse::parse_feed(&body, ct, &fetched.final_url, None) {
        Ok(parsed) => Ok(Attempt::Feed(Discovered {
            url: fetched.moved_to.unwrap_or_else(|| url.clone()),
            via,
            title: parsed
                .feed
                .title
                .map(|t| t.content.trim().to_string())
                .filter(|t| !t.is_empty()),
            entries: parsed.feed.entries.len(),
        })),
        Err(ParseError::Html { .. }) => Ok(Attempt::Page(
            parse::decode(&body, ct).into_owned(),
            fetched.final_url,
        )),
        Err(e) => Ok(Attempt::NotFeed(e.to_string())),
    }
}

/// The common feed paths for a page: beside the page first (for a site in a folder), then at
/// the root of its site.
fn common_candidates(page: &Url) -> Vec<Url> {
    let mut out: Vec<Url> = Vec::new();
    let in_folder = page.path().trim_end_matches('/').contains('/');
    for p in COMMON_PATHS {
        let mut tries = Vec::new();
        if in_folder {
            tries.push(page.join(p.trim_start_matches('/')));
        }
        tries.push(page.join(p));
        for u in tries.into_iter().flatten() {
            if !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

/// Finds the feed at `url`: the URL itself, else the feeds its page advertises, else the
/// [`COMMON_PATHS`]. A page that advertises several working feeds is a choice for the user:
/// `pick` (from 1) takes one, else the answer is [`ManageError::SeveralFeeds`] listing them.
/// A URL that cannot be fetched at all is an error of its own.
pub async fn discover(
    fetcher: &Fetcher,
    url: &Url,
    pick: Option<usize>,
) -> Result<Discovered, ManageError> {
    let first = attempt(fetcher, url, Via::Direct)
        .await
        .map_err(|source| ManageError::Fetch {
            url: url.clone(),
            source: Box::new(source),
        })?;
    let mut tried = Vec::new();
    let page = match first {
        Attempt::Feed(d) => return Ok(d),
        Attempt::Page(html, page) => {
            tried.push((url.clone(), "an HTML page".to_string()));
            let mut offered: Vec<(Offered, Discovered)> = Vec::new();
            for (candidate, title) in parse::advertised_feed_links(&html, &page) {
                let why = match attempt(fetcher, &candidate, Via::Advertised).await {
                    Ok(Attempt::Feed(d)) => {
                        let title = title.or_else(|| d.title.clone());
                        offered.push((
                            Offered {
                                url: d.url.clone(),
                                title,
                            },
                            d,
                        ));
                        continue;
                    }
                    Ok(Attempt::Page(..)) => "an HTML page".to_string(),
                    Ok(Attempt::NotFeed(e)) => e,
                    Err(e) => e.to_string(),
                };
                tried.push((candidate, why));
            }
            let count = offered.len();
            match pick {
                _ if count == 0 => {}
                _ if count == 1 => return Ok(offered.remove(0).1),
                Some(n) if (1..=count).contains(&n) => return Ok(offered.swap_remove(n - 1).1),
                Some(n) => {
                    return Err(ManageError::BadPick {
                        pick: n,
                        page: url.clone(),
                        feeds: offered.into_iter().map(|(o, _)| o).collect(),
                    });
                }
                None => {
                    return Err(ManageError::SeveralFeeds {
                        page: url.clone(),
                        feeds: offered.into_iter().map(|(o, _)| o).collect(),
                    });
                }
            }
            page
        }
        Attempt::NotFeed(e) => {
            tried.push((url.clone(), e));
            url.clone()
        }
    };
    let candidates: Vec<Url> = common_candidates(&page)
        .into_iter()
        .filter(|u| !tried.iter().any(|(t, _)| t == u))
        .collect();
    for candidate in candidates {
        let why = match attempt(fetcher, &candidate, Via::CommonPath).await {
            Ok(Attempt::Feed(d)) => return Ok(d),
            Ok(Attempt::Page(..)) => "an HTML page".to_string(),
            Ok(Attempt::NotFeed(e)) => e,
            Err(e) => e.to_string(),
        };
        tried.push((candidate, why));
    }
    Err(ManageError::NoFeed {
        url: url.clone(),
        tried,
    })
}

/// What `newswire add` asked for.
#[derive(Debug, Clone, Default)]
pub struct AddRequest {
    /// A feed's URL or a site's page.
    pub url: String,
    /// The name to give it, else one is derived.
    pub name: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Which of the feeds a page advertises (from 1), when it advertises several.
    pub pick: Option<usize>,
}

/// What `newswire add` did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The feed as written.
    pub feed: NewFeed,
    /// How it was found, its title and entries.
    pub found: Discovered,
}

/// Finds the feed the request points to, checks it, and appends it to the config at `path`.
pub async fn add(path: &Path, req: AddRequest) -> Result<Added, ManageError> {
    let mut file = ConfigFile::open(path)?;
    let url = parse_user_url(&req.url)?;
    if let Some(feed) = file.feed_with_url(&url) {
        return Err(ManageError::DuplicateUrl {
            url: url.to_string(),
            feed: feed.to_string(),
        });
    }
    if let Some(n) = &req.name {
        if !valid_name(n) {
            return Err(ManageError::BadName(n.clone()));
        }
        if file.name_taken(n) {
            return Err(ManageError::NameTaken(n.clone()));
        }
    }
    let fetcher = Fetcher::new(&file.config().fetch).map_err(|source| ManageError::Fetch {
        url: url.clone(),
        source: Box::new(source),
    })?;
    let found = discover(&fetcher, &url, req.pick).await?;
    let name = req
        .name
        .unwrap_or_else(|| file.unique_name(&base_name(found.title.as_deref(), &found.url)));
    let feed = NewFeed {
        name,
        url: found.url.clone(),
        tags: clean_tags(req.tags),
        title: None,
    };
    file.add(feed.clone())?;
    file.save()?;
    Ok(Added { feed, found })
}

/// Removes the feed called `name` from the config at `path`.
pub fn remove(path: &Path, name: &str) -> Result<(), ManageError> {
    let mut file = ConfigFile::open(path)?;
    file.remove(name)?;
    file.save()?;
    Ok(())
}

/// Enables or disables the feed called `name`; false when it already was.
pub fn set_enabled(path: &Path, name: &str, enabled: bool) -> Result<bool, ManageError> {
    let mut file = ConfigFile::open(path)?;
    let changed = file.set_enabled(name, enabled)?;
    if changed {
        file.save()?;
    }
    Ok(changed)
}

/// What `newswire opml import` did.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Feeds added, in file order.
    pub added: Vec<NewFeed>,
    /// Outlines skipped as duplicates: their URL, and the feed that already has it.
    pub duplicates: Vec<(String, String)>,
    /// Outlines skipped because their xmlUrl is not an http(s) URL: the URL, as written.
    pub invalid: Vec<String>,
}

/// Adds every feed of an OPML document to the config at `path`, without fetching anything.
pub fn import_opml(path: &Path, opml_bytes: &[u8]) -> Result<Imported, ManageError> {
    let outlines = opml::parse(opml_bytes).map_err(ManageError::Opml)?;
    let mut file = ConfigFile::open(path)?;
    let mut report = Imported::default();
    for o in outlines {
        let url = match parse_user_url(&o.xml_url) {
            Ok(u) if o.xml_url.contains("://") => u,
            _ => {
                report.invalid.push(o.xml_url);
                continue;
            }
        };
        if let Some(feed) = file.feed_with_url(&url) {
            report.duplicates.push((url.to_string(), feed.to_string()));
            continue;
        }
        // newswire's own export keeps the name in `text` and the display title in `title`
        let name_from = o
            .text
            .as_deref()
            .filter(|t| valid_name(t))
            .or(o.title.as_deref());
        let name = file.unique_name(&base_name(name_from, &url));
        let title = o
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && *t != name);
        let feed = NewFeed {
            name,
            url,
            tags: clean_tags(o.tags),
            title,
        };
        file.add(feed.clone())?;
        report.added.push(feed);
    }
    file.save()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "# my feeds\n\ndatabase = \"n.db\" # beside me\n\n[fetch]\ntimeout = \"5s\"\n\n# One [[feed]] per feed.\n#   name  a slug\n\n";

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("newswire.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    fn feed(name: &str, url: &str) -> NewFeed {
        NewFeed {
            name: name.into(),
            url: Url::parse(url).unwrap(),
            tags: vec![],
            title: None,
        }
    }

    #[test]
    fn add_appends_and_keeps_everything_else() {
        let old = format!(
            "{HEADER}[[feed]]\nname = \"a\"   # first\nurl = \"https://a.example/feed\"\ntags = [ \"x\" ]\n"
        );
        let (_d, p) = file_with(&old);
        let mut f = ConfigFile::open(&p).unwrap();
        let mut n = feed("b", "https://b.example/rss");
        n.tags = vec!["world".into(), "opinion".into()];
        f.add(n).unwrap();
        let c = f.save().unwrap();
        assert_eq!(c.feeds.len(), 2);
        let new = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            new,
            format!(
                "{old}\n[[feed]]\nname = \"b\"\nurl = \"https://b.example/rss\"\ntags = [\"world\", \"opinion\"]\n"
            )
        );
    }

    #[test]
    fn add_after_a_closing_comment_keeps_the_old_bytes_first() {
        for old in [
            HEADER.to_string(),
            format!("{HEADER}[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n# the end\n"),
            format!("{HEADER}[[feed]]\nname = \"a\"\nurl = \"https://a.example/\"\n\n# the end"),
        ] {
            let (_d, p) = file_with(&old);
            let mut f = ConfigFile::open(&p).unwrap();
            f.add(feed("b", "https://b.example/")).unwrap();
            f.save().unwrap();
            let new = std::fs::read_to_string(&p).unwrap();
            assert!(new.starts_with(&old), "{new:?}");
            assert!(
                new.ends_with("\n\n[[feed]]\nname = \"b\"\nurl = \"https://b.example/\"\n"),
                "{new:?}"
            );
        }
    }

    #[test]
    fn add_to_a_file_without_feeds_or_final_newline() {
        let (_d, p) = file_with("database = \"n.db\" # no newline at the end");
        let mut f = ConfigFile::open(&p).unwrap();
        f.add(feed("a", "https://a.example/feed")).unwrap();
        f.save().unwrap();
        let new = std::fs::read_to_string(&p).unwrap();
        assert!(
            new.starts_with("database = \"n.db\" # no newline at the end\n"),
            "{new:?}"
        );
        assert!(
            new.ends_with("\n[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n"),
            "{new:?}"
        );
    }

    #[test]
    fn duplicates_and_bad_names_are_refused() {
        let (_d, p) = file_with(&format!(
            "{HEADER}[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n"
        ));
        let mut f = ConfigFile::open(&p).unwrap();
        let e = f.add(feed("b", "https://A.example/feed")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "https://a.example/feed is already in the config, as feed \"a\""
        );
        assert!(matches!(
            f.add(feed("a", "https://c.example/")),
            Err(ManageError::NameTaken(_))
        ));
        assert!(matches!(
            f.add(feed("Not A Slug", "https://c.example/")),
            Err(ManageError::BadName(_))
        ));
        assert_eq!(f.unique_name("a"), "a-2");
        f.add(feed("a-2", "https://c.example/")).unwrap();
        assert_eq!(f.unique_name("a"), "a-3");
    }

    #[test]
    fn remove_keeps_section_comments_and_drops_attached_ones() {
        let a = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n";
        let b = "# b is slow\n[[feed]]\nname = \"b\"\nurl = \"https://b.example/feed\"\n";
        let c = "[[feed]]\nname = \"c\"\nurl = \"https://c.example/feed\"\n# the end\n";
        let old = format!("{HEADER}{a}\n{b}\n{c}");
        let (_d, p) = file_with(&old);

        // the first feed: the section comment above it stays, above the next feed
        remove(&p, "a").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{HEADER}{b}\n{c}")
        );
        // a comment glued to a feed goes with it
        remove(&p, "b").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{HEADER}{c}"));
        // the last feed: the section comment stays, and so does the file's last comment
        remove(&p, "c").unwrap();
        let left = std::fs::read_to_string(&p).unwrap();
        assert!(left.starts_with(HEADER.trim_end()), "{left:?}");
        assert!(left.ends_with("# the end\n"), "{left:?}");
        Config::load(&p).unwrap();

        let e = remove(&p, "zzz").unwrap_err();
        assert!(matches!(e, ManageError::UnknownFeed { .. }));
    }

    #[test]
    fn unknown_feed_lists_the_names() {
        let (_d, p) = file_with(&format!(
            "{HEADER}[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n\n[[feed]]\nname = \"b\"\nurl = \"https://b.example/feed\"\n"
        ));
        let e = set_enabled(&p, "c", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no feed is called \"c\"; the feeds are: a, b"
        );
    }

    #[test]
    fn enable_and_disable_touch_one_line() {
        let a = "[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\nenabled = true   # for now\n";
        let b = "[[feed]]\nname = \"b\"\nurl = \"https://b.example/feed\"\n";
        let (_d, p) = file_with(&format!("{HEADER}{a}\n{b}"));
        assert!(set_enabled(&p, "a", false).unwrap());
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{HEADER}{}\n{b}", a.replace("= true", "= false"))
        );
        assert!(!Config::load(&p).unwrap().feeds[0].enabled);
        assert!(!set_enabled(&p, "b", true).unwrap());
        assert!(set_enabled(&p, "b", false).unwrap());
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with(&format!("{b}enabled = false\n")), "{text}");
        assert!(set_enabled(&p, "b", true).unwrap());
        assert!(Config::load(&p).unwrap().feeds[1].enabled);
    }

    #[test]
    fn a_config_that_does_not_load_is_not_edited() {
        let old = "[[feed]]\nname = \"a\"\n";
        let (_d, p) = file_with(old);
        assert!(matches!(
            set_enabled(&p, "a", false),
            Err(ManageError::Config(_))
        ));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), old);
    }

    #[test]
    fn names_from_titles_and_hosts() {
        let u = Url::parse("https://www.Example.co.uk/feed").unwrap();
        assert_eq!(base_name(Some("BBC News - World"), &u), "bbc-news-world");
        assert_eq!(base_name(Some("bbc_world.v2"), &u), "bbc_world.v2");
        assert_eq!(base_name(Some("  "), &u), "example-co-uk");
        assert_eq!(base_name(Some("环球时报"), &u), "example-co-uk");
        assert_eq!(base_name(None, &u), "example-co-uk");
        assert_eq!(slug("Ünïcode & «Friends» 2"), "unicode-friends-2");
        assert_eq!(slug("Le Quotidien Économique"), "le-quotidien-economique");
        assert_eq!(slug(&"x".repeat(100)).len(), 48);
        assert_eq!(tag_slug("Science & Tech"), "science-tech");
        assert_eq!(tag_slug("Économie"), "économie");
    }

    #[test]
    fn user_urls() {
        assert_eq!(
            parse_user_url("example.com/blog").unwrap().as_str(),
            "https://example.com/blog"
        );
        assert!(parse_user_url("ftp://example.com/").is_err());
        assert!(parse_user_url("not a url").is_err());
    }

    #[test]
    fn common_paths_beside_the_page_then_at_the_root() {
        let c = common_candidates(&Url::parse("https://e.com/blog/").unwrap());
        assert_eq!(c[0].as_str(), "https://e.com/blog/feed");
        assert_eq!(c[1].as_str(), "https://e.com/feed");
        let c = common_candidates(&Url::parse("https://e.com/").unwrap());
        assert_eq!(c.len(), COMMON_PATHS.len());
    }
}

#[cfg(test)]
mod title_tests {
    use super::*;

    #[test]
    fn opml_import_keeps_titles_and_export_names() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("newswire.toml");
        std::fs::write(&p, "").unwrap();
        // an export of newswire (name in text, display title in title), and a foreign one
        let doc = opml::render(
            "x",
            &[opml::ExportFeed {
                name: "bbc".into(),
                url: "https://bbc.example/rss".into(),
                tags: vec![],
                html_url: None,
                title: Some("BBC World".into()),
            }],
        );
        let doc = doc.replace(
            "</body>",
            "<outline text=\"Le Monde\" title=\"Le Monde\" xmlUrl=\"https://lm.example/rss\"/></body>",
        );
        let got = import_opml(&p, doc.as_bytes()).unwrap();
        let added: Vec<(&str, Option<&str>)> = got
            .added
            .iter()
            .map(|f| (f.name.as_str(), f.title.as_deref()))
            .collect();
        assert_eq!(
            added,
            [("bbc", Some("BBC World")), ("le-monde", Some("Le Monde"))]
        );
        let config = crate::config::Config::load(&p).unwrap();
        assert_eq!(config.feeds[0].title.as_deref(), Some("BBC World"));
        assert_eq!(config.feeds[1].title.as_deref(), Some("Le Monde"));
    }
}
