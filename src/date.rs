//! Lenient date parsing for feed timestamps; pure.
//!
//! Feeds write dates in RFC 3339, RFC 822/2822 (often broken), and local forms without
//! any offset (`2019/6/5 18:13:43` on many national news sites). A date without an offset
//! is read in the feed's configured zone, else UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Parses `text` as a feed date. `zone` applies to dates that carry no offset.
pub fn parse_date(text: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    // years outside this range are typos or attacks, not news (and some formatters panic on them)
    parse_any(text, zone).filter(|d| (1800..=9999).contains(&d.year()))
}

fn parse_any(text: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Some(d) = parse_rfc2822ish(s, zone) {
        return Some(d);
    }
    if let Some(d) = parse_iso_with_offset(s) {
        return Some(d.with_timezone(&Utc));
    }
    parse_naive(s).and_then(|naive| local_to_utc(naive, zone))
}

fn local_to_utc(naive: NaiveDateTime, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    match zone {
        None => Some(Utc.from_utc_datetime(&naive)),
        // In a DST gap or fold, take the earlier reading rather than dropping the date.
        Some(tz) => tz
            .from_local_datetime(&naive)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| {
                // inside a spring-forward gap: the hour does not exist, shift by an hour
                tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                    .earliest()
                    .map(|d| d.with_timezone(&Utc))
            }),
    }
}

/// Named zones seen in RFC 822 dates beyond what chrono knows.
fn zone_offset(name: &str) -> Option<i32> {
    let hours = match name.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" | "WET" => 0,
        "BST" | "CET" | "WEST" | "MET" => 1,
        "CEST" | "EET" | "SAST" | "MEST" => 2,
        "EEST" | "MSK" => 3,
        "IST" => return Some(5 * 3600 + 1800),
        "HKT" | "SGT" | "AWST" | "PHT" => 8,
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        "NZST" => 12,
        "NZDT" => 13,
        "EST" | "CDT" => -5,
        "EDT" => -4,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" | "AKDT" => -8,
        "AKST" => -9,
        "HST" => -10,
        _ => return None,
    };
    Some(hours * 3600)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_number(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| w.starts_with(m))
        .map(|i| i as u32 + 1)
}

/// RFC 822/2822 and the common ways feeds break it: missing weekday or a wrong one, long
/// month names, month before day, two-digit years, missing seconds, named or missing zones,
/// offsets written `+05:30`.
fn parse_rfc2822ish(s: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    let cleaned = s.replace(',', " ");
    let mut tokens: Vec<&str> = cleaned.split_whitespace().collect();
    if tokens.is_empty() {
        return None;
    }
    // weekday, in any language we recognise or not: drop a leading alphabetic token that is not a month
    if tokens[0].chars().all(char::is_alphabetic) && month_number(tokens[0]).is_none() {
        tokens.remove(0);
    }
    if tokens.len() < 3 {
        return None;
    }
    let (day, month, year) = if let Some(m) = month_number(tokens[1]) {
        (tokens[0].parse::<u32>().ok()?, m, tokens[2])
    } else if let Some(m) = month_number(tokens[0]) {
        (tokens[1].parse::<u32>().ok()?, m, tokens[2])
    } else {
        return None;
    };
    let mut year: i32 = year.parse().ok()?;
    if year < 100 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    let mut rest = &tokens[3..];
    if let Some(time) = rest.first().filter(|t| t.contains(':')) {
        let parts: Vec<&str> = time.split(':').collect();
        h = parts.first()?.parse().ok()?;
        mi = parts.get(1)?.parse().ok()?;
        sec = match parts.get(2) {
            Some(p) => p.split('.').next()?.parse().ok()?,
            None => 0,
        };
        rest = &rest[1..];
    }
    // "02:02:33 PM"
    match rest.first().map(|t| t.to_ascii_uppercase()) {
        Some(t) if t == "PM" => {
            if h < 12 {
                h += 12;
            }
            rest = &rest[1..];
        }
        Some(t) if t == "AM" => {
            if h == 12 {
                h = 0;
            }
            rest = &rest[1..];
        }
        _ => {}
    }
    // "24:00" is midnight at the end of the day
    let mut naive = date.and_hms_opt(if h == 24 { 0 } else { h }, mi, sec.min(59))?;
    if h == 24 {
        naive = naive.checked_add_signed(chrono::Duration::hours(24))?;
    }
    let offset = match rest.first() {
        // no zone at all: the feed's zone
        None => return local_to_utc(naive, zone),
        Some(z) => {
            // an abbreviation the configured zone uses at that time means that zone
            // ("CST" on a Chinese site is China Standard Time, not US Central)
            if let Some(tz) = zone.filter(|_| z.chars().all(|c| c.is_ascii_alphabetic())) {
                use chrono::Offset;
                use chrono_tz::OffsetName;
                if let Some(off) = tz.offset_from_local_datetime(&naive).earliest() {
                    if off
                        .abbreviation()
                        .is_some_and(|a| a.eq_ignore_ascii_case(z))
                    {
                        let fixed = off.fix();
                        return fixed
                            .from_local_datetime(&naive)
                            .single()
                            .map(|d| d.with_timezone(&Utc));
                    }
                }
            }
            parse_offset(z)?
        }
    };
    FixedOffset::east_opt(offset)?
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

fn parse_offset(z: &str) -> Option<i32> {
    let z = z.trim_matches(|c| c == '(' || c == ')');
    if let Some(secs) = zone_offset(z) {
        return Some(secs);
    }
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let hh: i32 = digits[..2].parse().ok()?;
    let mm: i32 = digits[2..].parse().ok()?;
    Some(sign * (hh * 3600 + mm * 60))
}

/// ISO 8601 forms RFC 3339 rejects: a space for `T`, `+0800` without colon, no seconds.
fn parse_iso_with_offset(s: &str) -> Option<DateTime<FixedOffset>> {
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    // "...Z" with a space or without seconds
    let z = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix(" UTC"))
        .or_else(|| s.strip_suffix(" GMT"))?;
    parse_naive(z).map(|n| Utc.from_utc_datetime(&n).fixed_offset())
}

/// Dates without any offset.
fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y.%m.%d %H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> String {
        parse_date(s, None)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| "none".into())
    }

    #[test]
    fn rfc_forms() {
        assert_eq!(
            utc("2024-03-01T12:00:00+08:00"),
            "2024-03-01T04:00:00+00:00"
        );
        assert_eq!(
            utc("Fri, 01 Mar 2024 12:00:00 GMT"),
            "2024-03-01T12:00:00+00:00"
        );
        assert_eq!(
            utc("Fri, 01 Mar 2024 12:00:00 EST"),
            "2024-03-01T17:00:00+00:00"
        );
        assert_eq!(
            utc("Fri, 01 Mar 2024 12:00:00 PDT"),
            "2024-03-01T19:00:00+00:00"
        );
        assert_eq!(
            utc("Fri, 01 Mar 2024 12:00:00 CEST"),
            "2024-03-01T10:00:00+00:00"
        );
        assert_eq!(
            utc("Fri, 1 March 2024 12:00 +0100"),
            "2024-03-01T11:00:00+00:00"
        );
        assert_eq!(
            utc("Thurs, 01 Mar 24 12:00:00 +0000"),
            "2024-03-01T12:00:00+00:00"
        );
        assert_eq!(
            utc("Mar 1 2024 12:00:00 -0500"),
            "2024-03-01T17:00:00+00:00"
        );
        assert_eq!(utc("2024-03-01 12:00:00+0800"), "2024-03-01T04:00:00+00:00");
        assert_eq!(utc("2024-03-01T12:00Z"), "2024-03-01T12:00:00+00:00");
        assert_eq!(utc("not a date"), "none");
        assert_eq!(utc(""), "none");
    }

    #[test]
    fn dates_without_offset_use_the_feed_zone() {
        let sh = Some(chrono_tz::Asia::Shanghai);
        let p = |s: &str| parse_date(s, sh).unwrap().to_rfc3339();
        assert_eq!(p("2019/6/5 18:13:43"), "2019-06-05T10:13:43+00:00");
        assert_eq!(p("2019-06-05 18:13:43"), "2019-06-05T10:13:43+00:00");
        assert_eq!(p("2019-06-05T18:13:43"), "2019-06-05T10:13:43+00:00");
        // an explicit offset wins over the zone
        assert_eq!(p("2019-06-05T18:13:43Z"), "2019-06-05T18:13:43+00:00");
        // no zone configured: UTC
        assert_eq!(utc("2019/6/5 18:13:43"), "2019-06-05T18:13:43+00:00");
        // RFC 822 without a zone, and with the zone's own abbreviation
        assert_eq!(p("Wed, 05 Jun 2019 18:13:43"), "2019-06-05T10:13:43+00:00");
        assert_eq!(
            p("Wed, 05 Jun 2019 18:13:43 CST"),
            "2019-06-05T10:13:43+00:00"
        );
        assert_eq!(
            utc("Wed, 05 Jun 2019 18:13:43 CST"),
            "2019-06-06T00:13:43+00:00"
        );
        assert_eq!(
            p("Wed, 05 Jun 2019 18:13:43 +0000"),
            "2019-06-05T18:13:43+00:00"
        );
    }

    #[test]
    fn absurd_dates_are_no_dates() {
        assert_eq!(utc("-0001-01-01"), "none");
        assert_eq!(utc("0099-01-01T00:00:00Z"), "none");
        assert_eq!(utc("31 Dec 262142 24:00:00 +0000"), "none");
        assert_eq!(
            utc("Fri, 31 Dec 2021 24:00:00 +0000"),
            "2022-01-01T00:00:00+00:00"
        );
    }
}
