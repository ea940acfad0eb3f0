//! The `newswire` command: parses arguments, sets up logging, hands off to the library.

// mimalloc, not the system's: a first poll allocates and frees millions of small strings
// on several threads, where glibc's malloc took a fifth of the CPU and, through a first poll
// of 10,000 feeds, fragmented to a 280 MB peak against mimalloc's 216 MB (bench/RESULTS.md;
// it costs about 20 MB more at 1,000 feeds). Without transparent huge pages: with them, its
// arenas take 2 MB pages and 40 MB more.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use newswire::config::{Config, DEFAULT_CONFIG_FILE};
use newswire::daemon;
use newswire::health::FeedHealth;
use newswire::logging::{LogOptions, LogWriter};
use newswire::manage::{self, AddRequest, ManageError, Via};
use newswire::opml;
use newswire::poll::{Outcome, PollOptions, Poller};
use newswire::publish;

/// The version and the commit it was built from (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NEWSWIRE_COMMIT"),
    ")"
);

/// A self-hosted news feed aggregator: polls feeds, deduplicates, serves one merged feed.
#[derive(Parser)]
#[command(name = "newswire", version = VERSION, about)]
struct Cli {
    /// The config file [default: $NEWSWIRE_CONFIG, else ./newswire.toml]
    #[arg(long, short, global = true, env = "NEWSWIRE_CONFIG")]
    config: Option<PathBuf>,
    /// Quieter: only errors in the log; `poll` prints its summary, not a line per feed
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Debug logs (instead of RUST_LOG's levels)
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll on schedule, serve the merged feed, follow config edits.
    Run,
    /// Poll every enabled feed once, store, write the output file, print a summary, exit.
    Poll {
        /// Poll even feeds whose server asked for a pause (429/503) or said 410 Gone.
        #[arg(long)]
        force: bool,
    },
    /// Validate the config file.
    Check,
    /// Show every feed and its health.
    Feeds,
    /// Add a feed, given its URL or a page of its site; it is fetched once to check it.
    Add {
        /// The feed's URL, or a site's page that advertises it.
        url: String,
        /// Its name (a slug); by default one is made from the feed's title or host.
        #[arg(long)]
        name: Option<String>,
        /// A tag for it (repeat for several).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// When the page advertises several feeds, add the Nth of them (as listed, from 1)
        /// without asking.
        #[arg(long, value_name = "N")]
        pick: Option<usize>,
    },
    /// Remove a feed from the config; its articles leave the merged feed.
    Remove {
        /// The feed's name.
        name: String,
    },
    /// Enable a disabled feed.
    Enable {
        /// The feed's name.
        name: String,
    },
    /// Disable a feed: it is no longer polled; what it brought stays.
    Disable {
        /// The feed's name.
        name: String,
    },
    /// Import or export the feed list as OPML.
    Opml {
        #[command(subcommand)]
        action: OpmlCommand,
    },
    /// Copy the database to FILE, consistent while newswire runs (SQLite online backup).
    Backup {
        /// Where to write the copy (replaced atomically if it exists).
        file: PathBuf,
    },
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `newswire man > newswire.1`.
    Man,
    /// Write a commented config to start from (at --config, else ./newswire.toml).
    Init,
    /// Try the [[rule]]s on stored stories, or apply them to what is stored.
    Rules {
        #[command(subcommand)]
        action: RulesCommand,
    },
    /// Print the article newswire extracts from a page (plain text, or --html), with the
    /// config's selector rules when --config is given.
    Extract {
        /// The page: an HTML file, or an http(s) URL to fetch.
        page: String,
        /// The page's address, for a file: links resolve against it, and `[[site]]` rules
        /// match its host.
        #[arg(long)]
        url: Option<String>,
        /// Print the sanitized HTML instead of the plain text.
        #[arg(long)]
        html: bool,
    },
    /// Show a story's copies and, for each, the rule or score that attached it.
    Story {
        /// The story: its number (as in `/stories/ID`), a link of one of its copies, or its
        /// entry id in the merged feed (`tag:newswire,2026:story/...`).
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Copy the whole store (feeds, stories, entries, rules' marks, subscriptions) into an
    /// empty PostgreSQL database, or from PostgreSQL into a new SQLite file; then point
    /// `database` at it
    Migrate {
        /// Where to copy to: a postgres:// URL when the config's database is a SQLite file,
        /// a file path when it is PostgreSQL.
        #[arg(long, value_name = "DATABASE")]
        to: String,
    },
    /// Show the instances (configs) whose feed lists the database holds, and how their
    /// lists differ from this config's. A feed is removed only when no instance heard of in
    /// the last week lists it.
    Instances {
        /// Forget this instance's list now (a machine taken out of service): the feeds only
        /// it listed are removed at the next start, reload or poll of an instance.
        #[arg(long, value_name = "NAME")]
        forget: Option<String>,
    },
    /// Take a feed's copy out of a story it was wrongly merged into, for good.
    Split {
        /// The story's id.
        story: i64,
        /// The feed whose copy leaves it.
        feed: String,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Dry run: which stored entries each rule would drop, hide or tag, with counts.
    Test {
        /// Only entries first seen this recently (e.g. 2d, 12h).
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
        /// Only this feed's entries.
        #[arg(long, value_name = "NAME")]
        feed: Option<String>,
    },
    /// Re-apply the rules to stored entries: hide and tag now, remove what they drop.
    Apply,
}

#[derive(Subcommand)]
enum OpmlCommand {
    /// Add the feeds of an OPML file (folders and categories become tags; nothing is fetched).
    Import {
        /// The OPML file.
        file: PathBuf,
    },
    /// Write the feed list as OPML 2.0 to stdout.
    Export,
}

/// glibc gives every thread that allocates under contention an arena of its own (up to 8
/// per core) and keeps what it frees there: a daemon whose blocking threads render feeds
/// and store polls in turn grows to twice the memory it uses. Two arenas measured 55 MB
/// against 114 MB after 100 poll cycles under load (`scripts/soak.sh`), at no measurable
/// cost in speed. Called first, before any thread exists; `MALLOC_ARENA_MAX` still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; no thread is running yet
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // Blocking SQLite work runs on tokio's blocking pool (parsing has its own pool,
    // `background.rs`, below the server's priority in the daemon). The pool's default of 512
    // threads lets thousands of queued polls each park a thread on the writer's lock, and
    // every thread's malloc arena adds to RSS: a few dozen threads do the same work.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(async_main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    let config_given = cli.config.is_some();
    let path = cli
        .config
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    // the log format is in the config; a config that does not load is reported below
    let format = Config::load(&path)
        .map(|c| c.log_format)
        .unwrap_or_default();
    // `poll` at a terminal: a progress bar, log lines above it, and one line per feed
    let poll_at_terminal = matches!(cli.command, Command::Poll { .. })
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let log_writer = LogWriter::default();
    newswire::logging::init(
        format,
        LogOptions {
            levels: match (cli.quiet, cli.verbose) {
                (true, _) => Some("error"),
                (_, true) => Some("info,newswire=debug"),
                _ => None,
            },
            without_poll_summaries: poll_at_terminal,
        },
        log_writer.clone(),
    );
    let result = match cli.command {
        Command::Run => match shutdown_signal() {
            Ok(shutdown) => daemon::run(path, shutdown).await,
            Err(e) => Err(e),
        },
        Command::Poll { force } => poll(path, force, cli.quiet, &log_writer).await,
        Command::Check => check(path),
        Command::Feeds => feeds(path).await,
        Command::Add {
            url,
            name,
            tags,
            pick,
        } => match config_exists(&path) {
            Ok(()) => {
                add(
                    path,
                    AddRequest {
                        url,
                        name,
                        tags,
                        pick,
                    },
                )
                .await
            }
            Err(e) => Err(e),
        },
        Command::Remove { name } => remove(path, &name),
        Command::Enable { name } => set_enabled(path, &name, true),
        Command::Disable { name } => set_enabled(path, &name, false),
        Command::Opml {
            action: OpmlCommand::Import { file },
        } => config_exists(&path).and_then(|()| opml_import(path, &file)),
        Command::Opml {
            action: OpmlCommand::Export,
        } => opml_export(path).await,
        Command::Rules {
            action: RulesCommand::Test { since, feed },
        } => rules_run(path, since, feed, false).await,
        Command::Rules {
            action: RulesCommand::Apply,
        } => rules_run(path, None, None, true).await,
        Command::Backup { file } => backup(path, file).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "newswire",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Init => init(&path),
        Command::Man => clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
            .render(&mut std::io::stdout())
            .context("writing the man page"),
        Command::Extract { page, url, html } => {
            extract(config_given.then_some(path), &page, url.as_deref(), html).await
        }
        Command::Story { id, json } => story(path, id, json).await,
        Command::Split { story, feed } => split(path, story, feed).await,
        Command::Migrate { to } => migrate(path, to).await,
        Command::Instances { forget } => instances(path, forget).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<newswire::config::ConfigError>() {
                eprintln!("error: {ce}");
                return ExitCode::from(2);
            }
            if let Some(me) = e.downcast_ref::<ManageError>() {
                eprintln!("error: {me}");
                let config_error = matches!(me, ManageError::Config(_) | ManageError::Rejected(_));
                return ExitCode::from(if config_error { 2 } else { 1 });
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed now, before anything starts,
/// so that a stop request during start-up is a clean stop too.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}

/// The shipped config, commented, as `newswire init` writes it.
const STARTER_CONFIG: &str = include_str!("../config/newswire.toml");

fn init(path: &std::path::Path) -> anyhow::Result<()> {
    if path.exists() {
        anyhow::bail!(
            "{} already exists; it was left as it is (`newswire check` validates it)",
            path.display()
        );
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, STARTER_CONFIG.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {}: a commented config with example feeds; edit it, `newswire check`, then `newswire run`",
        path.display()
    );
    Ok(())
}

/// `add` and `opml import` edit a config: a missing one is said plainly, with the fix.
fn config_exists(path: &std::path::Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    anyhow::bail!(
        "there is no config file at {}: create one with `newswire init{}` (or point --config / $NEWSWIRE_CONFIG at yours)",
        path.display(),
        if path == std::path::Path::new(DEFAULT_CONFIG_FILE) {
            String::new()
        } else {
            format!(" --config {}", path.display())
        }
    )
}

fn check(path: PathBuf) -> anyhow::Result<()> {
    let c = Config::load(&path)?;
    if c.feeds.is_empty() {
        eprintln!(
            "warning: {}: no [[feed]] tables: nothing will be polled (add one with `newswire add URL`)",
            path.display()
        );
    }
    let enabled = c.feeds.iter().filter(|f| f.enabled).count();
    println!(
        "{}: ok: {} feeds ({enabled} enabled), database {}, listening on {}",
        path.display(),
        c.feeds.len(),
        c.database,
        c.listen
    );
    Ok(())
}

/// Polls every enabled feed once. At a terminal a progress bar shows how far it got, with
/// one line per feed above it (the log's lines too); `quiet` leaves the feeds' lines out.
async fn poll(path: PathBuf, force: bool, quiet: bool, log: &LogWriter) -> anyhow::Result<()> {
    let config = Arc::new(Config::load(&path)?);
    let store = daemon::open_store(&config).await?;
    let cancel = CancellationToken::new();
    let poller = Arc::new(Poller::new(store.clone(), &config.fetch, cancel.clone())?);
    poller.set_rules(&config.rules);
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
    }
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let enabled: Vec<_> = config.feeds.iter().filter(|f| f.enabled).cloned().collect();
    for feed in enabled {
        let (poller, config) = (Arc::clone(&poller), Arc::clone(&config));
        tasks.spawn(async move {
            let options = PollOptions {
                force,
                respect_backoff: false,
                tick: None,
                joining: false,
            };
            poller.poll(&feed, config.schedule_of(&feed), options).await
        });
    }
    let (mut ok, mut not_modified, mut failed, mut skipped, mut new) = (0, 0, 0, 0, 0);
    // a progress bar on a terminal; plain lines for pipes, files and journald
    let bar = std::io::IsTerminal::is_terminal(&std::io::stdout()).then(|| {
        let bar =
            ProgressBar::with_draw_target(Some(tasks.len() as u64), ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} feeds, {elapsed} {msg}")
                .expect("the template is valid"),
        );
        log.set_bar(Some(bar.clone()));
        bar
    });
    while let Some(done) = tasks.join_next().await {
        let summary = done.context("a poll task failed")?;
        match &summary.outcome {
            Outcome::Updated { stats, .. } => {
                ok += 1;
                new += stats.new;
            }
            Outcome::NotModified | Outcome::Unchanged => not_modified += 1,
            Outcome::Failed { .. } | Outcome::NotStored { .. } => failed += 1,
            _ => skipped += 1,
        }
        match &bar {
            Some(bar) => {
                if !quiet {
                    bar.println(summary.to_string());
                }
                bar.inc(1);
                if failed > 0 {
                    bar.set_message(format!("({failed} failed)"));
                }
            }
            None if quiet => {}
            None => println!("{summary}"),
        }
    }
    if let Some(bar) = bar {
        log.set_bar(None);
        bar.finish_and_clear();
    }
    if config
        .feeds
        .iter()
        .any(|f| f.enabled && f.full_text != newswire::config::FullText::Off)
    {
        let t = newswire::fulltext::run_all(&poller, &config, &cancel).await;
        println!(
            "full text: {} pages extracted, {} failed (see `newswire feeds`)",
            t.ok, t.failed
        );
    }
    daemon::write_output_file(&store, &config).await;
    // a clean end: the database file alone holds everything
    if let Err(e) = store.call(|s| s.checkpoint()).await {
        tracing::warn!(error = %e, "could not checkpoint the database");
    }
    println!(
        "polled {} feeds in {:.1} s: {ok} ok, {not_modified} not modified, {failed} failed, {skipped} skipped; {new} new stories",
        ok + not_modified + failed + skipped,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn migrate(path: PathBuf, to: String) -> anyhow::Result<()> {
    use newswire::store::{Location, Store, pg::PgStore};
    let config = Config::load(&path)?;
    let target = Location::parse(&to);
    let from = config.database.clone();
    let started = std::time::Instant::now();
    let copied = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        match (&from, &target) {
            (Location::File(file), Location::Postgres(url)) => {
                if !file.exists() {
                    anyhow::bail!("there is no database at {} to copy", file.display());
                }
                let source = Store::open(file)?;
                Ok(PgStore::open(url)?.copy_from_sqlite(&source)?)
            }
            (Location::Postgres(url), Location::File(file)) => {
                let source = PgStore::open(url)?;
                Ok(source.copy_to_sqlite(&Store::open(file)?)?)
            }
            (Location::File(_), Location::File(_)) => {
                anyhow::bail!("both are SQLite files: copy one with `newswire backup FILE`")
            }
            (Location::Postgres(_), Location::Postgres(_)) => {
                anyhow::bail!("both are PostgreSQL databases: copy one with pg_dump and pg_restore")
            }
        }
    })
    .await??;
    let target = Location::parse(&to);
    println!(
        "copied {} to {target} in {:.1} s: {copied}",
        config.database,
        started.elapsed().as_secs_f64()
    );
    println!("to use it, set in {}: database = \"{to}\"", path.display());
    Ok(())
}

async fn backup(path: PathBuf, file: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    let db = match &config.database {
        newswire::store::Location::Postgres(_) => anyhow::bail!(
            "`newswire backup` copies a SQLite file; {} is a PostgreSQL database: back it up with pg_dump, or copy it into a SQLite file with `newswire migrate --to FILE`",
            config.database
        ),
        newswire::store::Location::File(p) if !p.exists() => anyhow::bail!(
            "there is no database at {} to back up (it is made by the first `newswire poll` or `newswire run`)",
            p.display()
        ),
        newswire::store::Location::File(p) => p.clone(),
    };
    let dest = file.clone();
    let summary = tokio::task::spawn_blocking(move || {
        newswire::store::Store::open(&db)
            .map_err(anyhow::Error::from)
            .and_then(|s| s.backup_to(&dest).map_err(anyhow::Error::from))
    })
    .await??;
    println!(
        "backed up {} to {}: {} stories, {} entries, {} bytes",
        config.database,
        file.display(),
        summary.stories,
        summary.entries,
        summary.bytes
    );
    Ok(())
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

async fn feeds(path: PathBuf) -> anyhow::Result<()> {
    let config = Arc::new(Config::load(&path)?);
    // read-only: unlike `poll`, this does not make the database's feed list match the config
    let store = newswire::store::Db::open_async(&config.database).await?;
    let statuses = {
        let config = Arc::clone(&config);
        store
            .call(move |s| publish::feed_statuses(s, &config, Utc::now()))
            .await?
    };
    let dropped = store.call(|s| s.dropped_counts()).await?;
    let rows: Vec<[String; 10]> = statuses
        .iter()
        .map(|s| {
            let state = match s.state {
                FeedHealth::Paused => format!("paused until {}", when(s.paused_until)),
                FeedHealth::Moved => format!("moved to {}", s.moved_to.as_deref().unwrap_or("?")),
                other => other.to_string(),
            };
            [
                s.name.clone(),
                state,
                when(s.last_poll),
                s.last_status.map_or("-".into(), |c| c.to_string()),
                s.consecutive_failures.to_string(),
                when(s.next_poll),
                s.article_count.to_string(),
                dropped.get(&s.name).copied().unwrap_or(0).to_string(),
                newswire::fulltext::counts_line(&s.full_text),
                s.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "FEED",
        "STATE",
        "LAST POLL (UTC)",
        "HTTP",
        "FAILURES",
        "NEXT POLL (UTC)",
        "ARTICLES",
        "DROPPED",
        "FULL TEXT",
        "LAST ERROR",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()).take(9) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i < 9 {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            } else {
                out.push_str(c);
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.to_vec());
    for r in &rows {
        line(r.iter().map(String::as_str).collect());
    }
    print_websub(&statuses);
    Ok(())
}

/// The WebSub block of `newswire feeds`: one line per feed with a subscription.
fn print_websub(statuses: &[publish::FeedStatus]) {
    let subs: Vec<(&str, &newswire::websub::WebSubStatus)> = statuses
        .iter()
        .filter_map(|s| s.websub.as_ref().map(|w| (s.name.as_str(), w)))
        .collect();
    if subs.is_empty() {
        return;
    }
    println!();
    println!("WEBSUB");
    for (name, w) in subs {
        let state = match w.state.as_str() {
            "subscribed" => format!("subscribed until {}", when(w.subscribed_until)),
            s => s.to_string(),
        };
        let mut line = format!(
            "{name}: {state}; hub {}; last push {}; pushes {} received, {} rejected",
            w.hub,
            when(w.last_push),
            w.pushes_received,
            w.pushes_rejected
        );
        if let Some(e) = &w.last_error {
            line.push_str(&format!("; {e}"));
        }
        println!("{line}");
    }
}

async fn add(path: PathBuf, mut req: AddRequest) -> anyhow::Result<()> {
    let given = req.url.clone();
    let added = match manage::add(&path, req.clone()).await {
        // at a terminal, the user picks one of the page's feeds; elsewhere the error says
        // to rerun with --pick N
        Err(ManageError::SeveralFeeds { page, feeds })
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) =>
        {
            println!("{page} advertises {} feeds:", feeds.len());
            print!("{}", manage::numbered(&feeds));
            req.pick = Some(ask_number(feeds.len())?);
            manage::add(&path, req).await?
        }
        other => other?,
    };
    let (feed, found) = (&added.feed, &added.found);
    let how = match found.via {
        Via::Direct => String::new(),
        Via::Advertised => format!("; advertised by {given}"),
        Via::CommonPath => format!("; found beside {given}"),
    };
    println!(
        "added \"{}\": {} ({}, {} entries{how})",
        feed.name,
        feed.url,
        found
            .title
            .as_deref()
            .map_or_else(|| "no title".to_string(), |t| format!("\"{t}\"")),
        found.entries,
    );
    if !feed.tags.is_empty() {
        println!("  tags: {}", feed.tags.join(", "));
    }
    Ok(())
}

/// Asks for a number from 1 to `max` on the terminal until one comes; end of input gives up.
fn ask_number(max: usize) -> anyhow::Result<usize> {
    use std::io::Write;
    loop {
        print!("Which one? [1-{max}] ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line)? == 0 {
            anyhow::bail!("no feed chosen; nothing was added");
        }
        match line.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => return Ok(n),
            _ => println!("type a number from 1 to {max}"),
        }
    }
}

fn remove(path: PathBuf, name: &str) -> anyhow::Result<()> {
    manage::remove(&path, name)?;
    println!("removed \"{name}\"; its articles leave the merged feed");
    Ok(())
}

fn set_enabled(path: PathBuf, name: &str, enabled: bool) -> anyhow::Result<()> {
    let word = if enabled { "enabled" } else { "disabled" };
    if manage::set_enabled(&path, name, enabled)? {
        println!("{word} \"{name}\"");
    } else {
        println!("\"{name}\" was already {word}");
    }
    Ok(())
}

fn opml_import(path: PathBuf, file: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let report = manage::import_opml(&path, &bytes)?;
    let mut summary = format!(
        "{}: added {}, skipped {} duplicates",
        file.display(),
        report.added.len(),
        report.duplicates.len()
    );
    if !report.invalid.is_empty() {
        summary.push_str(&format!(
            ", {} without an http(s) URL",
            report.invalid.len()
        ));
    }
    println!("{summary}");
    for f in &report.added {
        let tags = if f.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", f.tags.join(", "))
        };
        println!("  added {} {}{tags}", f.name, f.url);
    }
    for (url, feed) in &report.duplicates {
        println!("  skipped {url} (already feed \"{feed}\")");
    }
    for url in &report.invalid {
        println!("  skipped {url:?} (not an http(s) URL)");
    }
    Ok(())
}

async fn opml_export(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    // the sites' home pages, when polls have seen them; never create a database to export
    let mut site_urls = std::collections::HashMap::new();
    if config.database.exists() {
        let db = config.database.clone();
        let states = tokio::task::spawn_blocking(move || {
            newswire::store::Db::open(&db).and_then(|s| s.feed_states())
        })
        .await?;
        match states {
            Ok(states) => {
                for s in states {
                    if let Some(u) = s.site_url {
                        site_urls.insert(s.name, u);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "site URLs left out: cannot read the database"),
        }
    }
    let feeds: Vec<opml::ExportFeed> = config
        .feeds
        .iter()
        .map(|f| opml::ExportFeed {
            name: f.name.clone(),
            url: f.url.to_string(),
            tags: f.tags.clone(),
            html_url: site_urls.get(&f.name).cloned(),
            title: f.title.clone(),
        })
        .collect();
    print!("{}", opml::render(&config.output.title, &feeds));
    Ok(())
}

/// `rules test` (dry run) and `rules apply`.
async fn rules_run(
    path: PathBuf,
    since: Option<std::time::Duration>,
    feed: Option<String>,
    apply: bool,
) -> anyhow::Result<()> {
    let config = Arc::new(Config::load(&path)?);
    if let Some(f) = &feed {
        if config.feed(f).is_none() {
            anyhow::bail!("no [[feed]] is called \"{f}\" in {}", path.display());
        }
    }
    let store = daemon::open_store(&config).await?;
    let now = Utc::now();
    let since = match since {
        None => None,
        Some(d) => Some(
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_sub_signed(d))
                .context("--since is too long")?,
        ),
    };
    let entries = store
        .call(move |s| s.rule_entries(since, feed.as_deref()))
        .await?;
    let report = {
        let config = Arc::clone(&config);
        tokio::task::spawn_blocking(move || {
            let feeds = config.feed_scopes();
            newswire::rules::report::judge_stored(&config.rules, &feeds, &entries, now)
        })
        .await?
    };
    print!("{}", report.render());
    if apply {
        let marks = report.marks;
        let done = store.write(move |s| s.apply_marks(&marks, now)).await?;
        println!(
            "applied: {} removed (dropped), {} hidden, {} tags given",
            done.dropped, done.hidden, done.tagged
        );
        daemon::write_output_file(&store, &config).await;
    } else {
        println!("dry run: nothing changed; `newswire rules apply` applies these");
    }
    Ok(())
}

/// Opens the configured database without syncing its feed list (read or targeted writes).
async fn open_store(path: &std::path::Path) -> anyhow::Result<newswire::store::Db> {
    let config = Config::load(path)?;
    Ok(newswire::store::Db::open_async(&config.database).await?)
}

async fn story(path: PathBuf, what: String, json: bool) -> anyhow::Result<()> {
    let store = open_store(&path).await?;
    let shown = what.clone();
    let found = store
        .call(move |s| match s.find_story(&what)? {
            Some(id) => s.story_copies(id),
            None => Ok(None),
        })
        .await?;
    match found {
        None => anyhow::bail!("no story {shown}"),
        Some(s) if json => println!("{}", serde_json::to_string_pretty(&s)?),
        Some(s) => print!("{}", publish::story::text(&s)),
    }
    Ok(())
}

/// `newswire extract`: one page, through the same code as the daemon's full-text queue.
async fn extract(
    config: Option<PathBuf>,
    page: &str,
    url: Option<&str>,
    html: bool,
) -> anyhow::Result<()> {
    use newswire::extract::{self, page as pages};
    let config = config.map(|p| Config::load(&p)).transpose()?;
    let remote = url::Url::parse(page)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let (bytes, content_type, base) = match remote {
        Some(u) => {
            let fetch = match &config {
                Some(c) => c.fetch.clone(),
                None => Config::parse(std::path::Path::new(DEFAULT_CONFIG_FILE), "")?.fetch,
            };
            let fetched = newswire::fetch::Fetcher::new(&fetch)?
                .fetch(&u, &Default::default())
                .await
                .with_context(|| format!("fetching {u}"))?;
            let body = fetched.body.unwrap_or_default();
            (body, fetched.content_type, fetched.final_url)
        }
        None => {
            let bytes = std::fs::read(page).with_context(|| format!("reading {page}"))?;
            let base = match url {
                Some(u) => url::Url::parse(u)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .with_context(|| format!("--url {u}: expected an absolute http(s) URL"))?,
                None => std::fs::canonicalize(page)
                    .ok()
                    .and_then(|p| url::Url::from_file_path(p).ok())
                    .context("cannot make a file URL of the page's path; give --url")?,
            };
            (bytes, None, base)
        }
    };
    let text = pages::decode(&bytes, content_type.as_deref());
    let rules = config
        .as_ref()
        .map(|c| c.page_rules(None, &base))
        .unwrap_or_default();
    let found = extract::extract(&text, &base, &rules)?;
    if html {
        println!("{}", found.html);
    } else {
        print!("{}", found.text);
    }
    Ok(())
}

async fn instances(path: PathBuf, forget: Option<String>) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    let store = newswire::store::Db::open_async(&config.database).await?;
    if let Some(name) = forget {
        let owner = name.clone();
        if !store.write(move |s| s.forget_feed_list(&owner)).await? {
            anyhow::bail!("no instance is called \"{name}\" (`newswire instances` lists them)");
        }
        println!(
            "forgot {name}: the feeds only it listed are removed at the next start, reload or poll of an instance"
        );
    }
    let lists = store.call(|s| s.feed_lists()).await?;
    let differences = newswire::store::lists::differences(&config.feed_list(), &lists);
    println!(
        "{:<50} {:<20} {:>6}  NOTE",
        "INSTANCE", "LAST SEEN (UTC)", "FEEDS"
    );
    for l in &lists {
        let note = if l.owner == config.instance {
            "this config".to_string()
        } else if newswire::store::lists::forgotten(l.seen, Utc::now()) {
            "not heard of for a week: forgotten at the next sync".to_string()
        } else {
            match differences.iter().find(|d| d.owner == l.owner) {
                None => "same list".to_string(),
                Some(d) => format!(
                    "{} only there, {} only here, {} at another URL",
                    d.only_there.len(),
                    d.only_here.len(),
                    d.other_url.len()
                ),
            }
        };
        println!(
            "{:<50} {:<20} {:>6}  {note}",
            l.owner,
            l.seen.format("%Y-%m-%d %H:%M"),
            l.feeds.len()
        );
    }
    Ok(())
}

async fn split(path: PathBuf, story: i64, feed: String) -> anyhow::Result<()> {
    use newswire::store::Split;
    let store = open_store(&path).await?;
    let name = feed.clone();
    match store.write(move |s| s.split(story, &name)).await? {
        Split::NoSuchCopy => anyhow::bail!("story {story} has no copy from feed {feed}"),
        Split::Alone => anyhow::bail!("story {story} has only {feed}'s copies: nothing to split"),
        Split::Done { story: new, copies } => println!(
            "split {} cop{} of {feed} out of story {story} into story {new}",
            copies.len(),
            if copies.len() == 1 { "y" } else { "ies" }
        ),
    }
    Ok(())
}
