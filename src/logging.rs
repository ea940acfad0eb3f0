//! Logging set-up: human-readable lines on a terminal (with colour), the same lines without
//! colour elsewhere, `<N>`-prefixed lines under systemd so that journald maps the levels, or
//! one JSON object per line (`[log] format = "json"`) for log shippers.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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

/// Installs the global subscriber. RUST_LOG picks levels (default: info).
pub fn init(format: LogFormat) {
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"))
    };
    let terminal = std::io::stderr().is_terminal();
    // systemd sets JOURNAL_STREAM when stderr goes to the journal
    let journal = std::env::var_os("JOURNAL_STREAM").is_some() && !terminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(terminal);
    let _ = match (format, journal) {
        (LogFormat::Json, _) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        // journald stamps every line itself
        (LogFormat::Text, true) => builder
            .event_format(SyslogPrefix(
                tracing_subscriber::fmt::format().without_time(),
            ))
            .try_init(),
        (LogFormat::Text, false) => builder.try_init(),
    };
}
