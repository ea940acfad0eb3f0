//! The shared conformance corpus (`../shared/corpus` beside the checkout): real feeds with
//! feedparser's reading of them, feedparser's own parser cases and date strings, and what
//! newswire makes of each. Used by `tests/conformance.rs` (which asserts the targets) and by
//! `examples/conformance.rs` (which writes `conformance/REPORT.md`).
#![allow(dead_code)]

pub mod cases;
pub mod dates;
pub mod realworld;
pub mod report;

use std::path::PathBuf;

/// The corpus folder, if present: `$NEWSWIRE_CORPUS`, else `../shared/corpus` from the
/// repository root.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NEWSWIRE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    dir.join("README.md").is_file().then_some(dir)
}

/// Collapses runs of whitespace to one space and trims.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One field's tally over a set of entries or checks.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Both readings agree.
    pub agree: usize,
    /// They differ in a way the report explains (newswire's rule differs on purpose).
    pub explained: usize,
    /// They differ and nothing explains it.
    pub unexplained: usize,
}

impl Tally {
    /// Agreement over the entries where both readers had something to compare: explained
    /// differences are left out (they are listed, with their reason, in the report).
    pub fn rate(&self) -> f64 {
        let n = self.agree + self.unexplained;
        if n == 0 {
            1.0
        } else {
            self.agree as f64 / n as f64
        }
    }

    /// Agreement counting every explained difference as a disagreement.
    pub fn strict_rate(&self) -> f64 {
        let n = self.agree + self.explained + self.unexplained;
        if n == 0 {
            1.0
        } else {
            self.agree as f64 / n as f64
        }
    }

    /// Entries compared.
    pub fn total(&self) -> usize {
        self.agree + self.explained + self.unexplained
    }
}
