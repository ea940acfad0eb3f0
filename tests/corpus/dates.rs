//! feedparser's date strings, read by `newswire::date::parse_date` with no zone.

use std::path::Path;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    parser: String,
    input: String,
    expected_utc_tuple: Option<Vec<i64>>,
}

/// One date string and both readings.
#[derive(Debug, Clone)]
pub struct DateResult {
    /// feedparser's parser that handles it.
    pub parser: String,
    /// The string.
    pub input: String,
    /// feedparser's instant.
    pub feedparser: Option<DateTime<Utc>>,
    /// newswire's instant.
    pub newswire: Option<DateTime<Utc>>,
}

impl DateResult {
    /// Both read it the same, or newswire rejects a year before 1800 on purpose.
    pub fn agrees(&self) -> bool {
        self.feedparser == self.newswire || self.explained().is_some()
    }

    /// Why a difference is intended.
    pub fn explained(&self) -> Option<&'static str> {
        if self.newswire.is_none() && self.feedparser.is_some_and(|d| d.year() < 1800) {
            return Some("newswire rejects years before 1800 as typos (feedparser reads year 99)");
        }
        (self.input == "22013" && self.newswire.is_some_and(|d| d.to_rfc3339().starts_with("2022-01-13")))
            .then_some("an ISO 8601 ordinal date (2022, day 13): feedparser's W3C-DTF parser rejects it, its ISO 8601 parser reads the same form (`03335`), newswire reads both")
    }
}

/// Every case of `corpus/feedparser/date_cases.json`.
pub fn run(corpus: &Path) -> Vec<DateResult> {
    let text = std::fs::read_to_string(corpus.join("feedparser/date_cases.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    cases
        .into_iter()
        .map(|c| DateResult {
            feedparser: c.expected_utc_tuple.as_ref().map(|t| {
                NaiveDate::from_ymd_opt(t[0] as i32, t[1] as u32, t[2] as u32)
                    .and_then(|d| d.and_hms_opt(t[3] as u32, t[4] as u32, t[5] as u32))
                    .expect("a valid tuple")
                    .and_utc()
            }),
            // feedparser keeps whole seconds, and so does the store
            newswire: newswire::date::parse_date(&c.input, None)
                .and_then(|d| DateTime::from_timestamp(d.timestamp(), 0)),
            parser: c.parser,
            input: c.input,
        })
        .collect()
}
