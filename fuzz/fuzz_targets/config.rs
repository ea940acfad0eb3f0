//! Text -> config::Config::parse, the loader every command and every live reload goes
//! through. It must never panic, and every error must say where: the file, a line and a
//! column inside the text (STYLE.md: "A config error names the file, the line and column").
//! A config that loads has its schedules asked for their next firing, as the daemon does at
//! once.
#![no_main]

use std::path::Path;

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use newswire::config::{Config, ConfigError};

const PATH: &str = "/etc/newswire/newswire.toml";

fuzz_target!(|data: &[u8]| {
    // a config file that is not UTF-8 fails at the read, before the loader sees it
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(Path::new(PATH), text) {
        Ok(config) => {
            let now = DateTime::from_timestamp(1_767_225_600, 0).expect("2026-01-01");
            let _ = config.schedule.next_after(now);
            let _ = config.schedule.interval_after(now);
            for f in &config.feeds {
                let _ = config.schedule_of(f).interval_after(now);
            }
        }
        Err(e) => {
            let (line, column) = match &e {
                ConfigError::Syntax { line, column, .. }
                | ConfigError::Invalid { line, column, .. } => (*line, *column),
                ConfigError::Io { .. } => panic!("an I/O error without I/O: {e}"),
            };
            let lines = text.split('\n').count();
            assert!(
                (1..=lines).contains(&line),
                "line {line} of a {lines}-line text: {e}"
            );
            let line_len = text
                .split('\n')
                .nth(line - 1)
                .map_or(0, |l| l.chars().count());
            assert!(
                (1..=line_len + 1).contains(&column),
                "column {column} of a {line_len}-character line: {e}"
            );
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("{PATH}:{line}:{column}: ")),
                "the message does not lead with the location: {msg}"
            );
        }
    }
});
