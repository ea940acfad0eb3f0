//! newswire: a self-hosted news feed aggregator.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! config   -> the TOML file, validated into typed values
//! daemon   -> cron schedule, live config reload, signals, shutdown
//! poll     -> one feed: fetch -> parse -> normalize -> store, one summary log line
//!   fetch      HTTP with conditional GET and limits
//! fulltext -> the queue of article pages of summary-only feeds, fetched after the poll
//!   extract    an article page -> its article (pure)
//!   parse      bytes -> feed-rs Feed (charset, dates in the feed's zone)
//!   normalize  Feed -> Vec<Article> (sanitized, absolute URLs, UTC)
//!   dedup      identity within a feed, stories across feeds
//!   store      SQLite: entries, stories, feed state
//! publish  -> the merged feed as Atom, RSS and JSON Feed, over HTTP and to a file
//!   rules      [[rule]]s judge entries between normalize and store (drop, hide, keep, tag)
//! fair     -> fair shares: backlog dates, at most per_feed stories of a feed in a view
//! search   -> what a reader types into a search box, as a query any store can run
//! metrics, logging -> /metrics, journald- and JSON-friendly logs
//!
//! manage   -> the CLI's edits of the feed list: discovery, add/remove/enable/disable
//! opml     -> the feed list as OPML, in and out
//! websub   -> WebSub's decisions: hub discovery, signatures, subscribe/renew/answer (pure)
//! push     -> WebSub at work: subscriptions at the feeds' hubs (pushes in), publish pings (out)
//! names    -> feed names and tag slugs, shared by config, rules, manage and opml
//! health   -> a feed's last outcome (stored) and state (shown), decided in pure code
//! background -> the parse threads' pool, below the server's priority in the daemon
//! ```
//!
//! No module uses one that uses it back (tests/layout.rs).
#![warn(missing_docs)]

pub mod article;
pub mod background;
pub mod config;
pub mod daemon;
pub mod date;
pub mod dedup;
pub mod extract;
pub mod fair;
pub mod fetch;
pub mod fulltext;
pub mod health;
pub mod logging;
pub mod manage;
pub mod metrics;
pub mod names;
pub mod neardup;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod plan;
pub mod poll;
pub mod publish;
pub mod push;
pub mod rules;
pub mod search;
pub mod store;
#[cfg(test)]
mod testing;
pub mod websub;
