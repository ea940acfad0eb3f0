//! Logging set-up: human-readable lines on a terminal (with colour), the same lines without
//! colour elsewhere, `<N>`-prefixed lines under systemd so that journald maps the levels, or
//! one JSON object per line (`[log] format = "json"`) for log shippers. While `newswire
//! poll` draws its progress bar, log lines go above the bar, through it.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::ProgressBar;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The name of the one event each poll ends with (its summary): `newswire poll` at a
/// terminal prints that summary itself, once, and leaves these out of the log.
pub const POLL_SUMMARY: &str = "poll summary";

/// What the command line asks of the log.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Levels to use instead of RUST_LOG's (`-q` / `-v`).
    pub levels: Option<&'static str>,
    /// Leave out the [`POLL_SUMMARY`] events (the caller reports each poll itself).
    pub without_poll_summaries: bool,
}

/// Where log lines go: stderr, or, while a progress bar is set, above the bar (the bar is
/// cleared, the line written, the bar drawn again) so that lines and bar do not mix.
#[derive(Clone, Default)]
pub struct LogWriter {
    bar: Arc<Mutex<Option<ProgressBar>>>,
}

impl LogWriter {
    /// Sends log lines through `bar` from now on (`None`: straight to stderr again).
    pub fn set_bar(&self, bar: Option<ProgressBar>) {
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = bar;
    }
}

/// One log line's writer (see [`LogWriter`]).
pub struct LineWriter(Option<ProgressBar>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.0 {
            // the formatter writes each event in one call, so a line is never split by a redraw
            Some(bar) => bar
                .suspend(|| std::io::stderr().write_all(buf))
                .map(|()| buf.len()),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter(self.bar.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One line of text per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// Prefixes each line with its syslog priority (`<3>` error ... `<7>` debug), which journald
/// reads from a service's stderr (SyslogLevelPrefix=, on by default), then lets `inner` write it.
struct SyslogPrefix<F>(F);

fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

impl<S, N, F> FormatEvent<S, N> for SyslogPrefix<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// Installs the global subscriber. RUST_LOG picks levels (default: info), unless
/// `options.levels` does; lines go through `writer`.
pub fn init(format: LogFormat, options: LogOptions, writer: LogWriter) {
    let filter = match options.levels {
        Some(levels) => EnvFilter::new(levels),
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn")),
    };
    // Libraries that log through the `log` crate (html5ever writes a debug record for every
    // HTML token) reach tracing through tracing-log, whose level comes from the subscriber's
    // hint. A per-layer filter gives none, so `log` would build every debug and trace record,
    // for the filter to drop it: that was a fifth of a first poll's CPU. The filter's own
    // most verbose level is `log`'s.
    let most = filter.max_level_hint();
    let terminal = std::io::stderr().is_terminal();
    // systemd sets JOURNAL_STREAM when stderr goes to the journal
    let journal = std::env::var_os("JOURNAL_STREAM").is_some() && !terminal;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(terminal);
    let layer = match (format, journal) {
        (LogFormat::Json, _) => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        // journald stamps every line itself
        (LogFormat::Text, true) => layer
            .event_format(SyslogPrefix(
                tracing_subscriber::fmt::format().without_time(),
            ))
            .boxed(),
        (LogFormat::Text, false) => layer.boxed(),
    };
    let without_summaries = options.without_poll_summaries;
    let summaries = tracing_subscriber::filter::filter_fn(move |m: &Metadata<'_>| {
        !(without_summaries && m.name() == POLL_SUMMARY)
    });
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter).with_filter(summaries))
        .try_init();
    if let Some(most) = most {
        log::set_max_level(log_level(most));
    }
}

/// `level` as the `log` crate names it.
fn log_level(level: tracing_subscriber::filter::LevelFilter) -> log::LevelFilter {
    use tracing_subscriber::filter::LevelFilter;
    match level {
        LevelFilter::OFF => log::LevelFilter::Off,
        LevelFilter::ERROR => log::LevelFilter::Error,
        LevelFilter::WARN => log::LevelFilter::Warn,
        LevelFilter::INFO => log::LevelFilter::Info,
        LevelFilter::DEBUG => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

/// An error and its causes on one line, without repeating a cause the message already shows.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
