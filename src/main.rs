//! The `newswire` command: parses arguments, sets up logging, hands off to the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use newswire::config::{Config, DEFAULT_CONFIG_FILE};
use newswire::daemon;
use newswire::poll::{Outcome, PollOptions, Poller};
use newswire::publish;

/// A self-hosted news feed aggregator: polls feeds, deduplicates, serves one merged feed.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The config file [default: $NEWSWIRE_CONFIG, else ./newswire.toml]
    #[arg(long, short, global = true, env = "NEWSWIRE_CONFIG")]
    config: Option<PathBuf>,
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
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = cli
        .config
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    // the log format is in the config; a config that does not load is reported below
    let format = Config::load(&path)
        .map(|c| c.log_format)
        .unwrap_or_default();
    newswire::logging::init(format);
    let result = match cli.command {
        Command::Run => match shutdown_signal() {
            Ok(shutdown) => daemon::run(path, shutdown).await,
            Err(e) => Err(e),
        },
        Command::Poll { force } => poll(path, force).await,
        Command::Check => check(path),
        Command::Feeds => feeds(path).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(ce) = e.downcast_ref::<newswire::config::ConfigError>() {
                eprintln!("error: {ce}");
                return ExitCode::from(2);
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

fn check(path: PathBuf) -> anyhow::Result<()> {
    let c = Config::load(&path)?;
    let enabled = c.feeds.iter().filter(|f| f.enabled).count();
    println!(
        "{}: ok: {} feeds ({enabled} enabled), database {}, listening on {}",
        path.display(),
        c.feeds.len(),
        c.database.display(),
        c.listen
    );
    Ok(())
}

async fn poll(path: PathBuf, force: bool) -> anyhow::Result<()> {
    let config = Arc::new(Config::load(&path)?);
    let store = daemon::open_store(&config).await?;
    let cancel = CancellationToken::new();
    let poller = Arc::new(Poller::new(
        Arc::clone(&store),
        &config.fetch,
        cancel.clone(),
    )?);
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
            };
            poller.poll(&feed, config.schedule_of(&feed), options).await
        });
    }
    let (mut ok, mut not_modified, mut failed, mut skipped, mut new) = (0, 0, 0, 0, 0);
    while let Some(done) = tasks.join_next().await {
        let summary = done.context("a poll task failed")?;
        match &summary.outcome {
            Outcome::Updated { stats, .. } => {
                ok += 1;
                new += stats.new;
            }
            Outcome::NotModified | Outcome::Unchanged => not_modified += 1,
            Outcome::Failed { .. } => failed += 1,
            _ => skipped += 1,
        }
        println!("{summary}");
    }
    daemon::write_output_file(&store, &config).await;
    println!(
        "polled {} feeds in {:.1} s: {ok} ok, {not_modified} not modified, {failed} failed, {skipped} skipped; {new} new stories",
        ok + not_modified + failed + skipped,
        started.elapsed().as_secs_f64()
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
    let db = config.database.clone();
    let store =
        Arc::new(tokio::task::spawn_blocking(move || newswire::store::Store::open(&db)).await??);
    let statuses = {
        let config = Arc::clone(&config);
        store
            .call(move |s| publish::feed_statuses(s, &config, Utc::now()))
            .await?
    };
    let rows: Vec<[String; 8]> = statuses
        .iter()
        .map(|s| {
            let state = match s.state.as_str() {
                "paused" => format!("paused until {}", when(s.paused_until)),
                "moved" => format!("moved to {}", s.moved_to.as_deref().unwrap_or("?")),
                _ => s.state.clone(),
            };
            [
                s.name.clone(),
                state,
                when(s.last_poll),
                s.last_status.map_or("-".into(), |c| c.to_string()),
                s.consecutive_failures.to_string(),
                when(s.next_poll),
                s.article_count.to_string(),
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
        "LAST ERROR",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()).take(7) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i < 7 {
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
    Ok(())
}
