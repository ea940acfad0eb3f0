//! Lenient date parsing for feed timestamps; pure.
//!
//! Feeds write dates in RFC 3339, RFC 822/2822 (often broken), and local forms without
//! any offset (`2019/6/5 18:13:43` on many national news sites). A date without an offset
//! is read in the feed's configured zone, else UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
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
    // a two-digit year read by %Y is year 3, not 2003: leave those to parse_national
    if let Some(naive) = parse_naive(s).filter(|n| n.year() >= 1000) {
        return local_to_utc(naive, zone);
    }
    parse_national(s, zone)
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
                naive
                    .checked_add_signed(chrono::Duration::hours(1))
                    .and_then(|shifted| tz.from_local_datetime(&shifted).earliest())
                    .map(|d| d.with_timezone(&Utc))
            }),
    }
}

/// Named zones seen in RFC 822 dates beyond what chrono knows.
fn zone_offset(name: &str) -> Option<i32> {
    let hours = match name.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" | "WET" | "ETC/GMT" | "ETC/UTC" => 0,
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
        // US zones without the S/D, as feedparser reads them: the standard offset
        "AT" | "AST" => -4,
        "ADT" => -3,
        "ET" => -5,
        "CT" => -6,
        "MT" => -7,
        "PT" => -8,
        _ => return None,
    };
    Some(hours * 3600)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Greek month abbreviations (feedparser reads them; Greek news sites write them), accents
/// and final sigma removed.
const GREEK_MONTHS: [&[&str]; 12] = [
    &["ιαν"],
    &["φεβ"],
    &["μαρ", "μαρτ"],
    &["απρ"],
    &["μαι", "μαϊ", "μαΐ"],
    &["ιουν", "ιον"],
    &["ιουλ", "ιολ"],
    &["αυγ"],
    &["σεπ"],
    &["οκτ"],
    &["νοε"],
    &["δεκ"],
];

fn greek_month(word: &str) -> Option<u32> {
    let w: String = word
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ά' => 'α',
            'έ' => 'ε',
            'ή' => 'η',
            'ί' | 'ϊ' | 'ΐ' => 'ι',
            'ό' => 'ο',
            'ύ' | 'ϋ' | 'ΰ' => 'υ',
            'ώ' => 'ω',
            c => c,
        })
        .collect();
    GREEK_MONTHS
        .iter()
        .position(|names| names.contains(&w.as_str()))
        .map(|i| i as u32 + 1)
}

fn month_number(word: &str) -> Option<u32> {
    if !word.is_ascii() {
        return greek_month(word);
    }
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
    if tokens.len() < 2 {
        return None;
    }
    let (date, mut rest) = rfc_date_part(&tokens)?;
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    let mut asctime_year = None;
    if let Some(time) = rest.first().filter(|t| t.contains(':')) {
        let parts: Vec<&str> = time.split(':').collect();
        if parts.len() > 3 {
            return None;
        }
        h = parts.first()?.parse().ok()?;
        mi = parts.get(1)?.parse().ok()?;
        sec = match parts.get(2) {
            Some(p) => p.split('.').next()?.parse().ok()?,
            None => 0,
        };
        rest = &rest[1..];
    }
    // asctime puts the year last: "Sun Jan  4 16:29:06 2004", "Sun Jul 15 01:16:00 +0000 2012"
    if date.is_none() {
        let (last, init) = rest.split_last()?;
        asctime_year = Some(last.parse::<i32>().ok()?);
        rest = init;
    }
    let date = match (date, asctime_year) {
        (Some(d), _) => d,
        (None, Some(y)) => {
            NaiveDate::from_ymd_opt(y, month_number(tokens[0])?, tokens[1].parse().ok()?)?
        }
        (None, None) => return None,
    };
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

/// The date of an RFC 822-like string after its weekday: `5 Jun 2019`, `Jun 5 2019`,
/// `2006/09/15` (Perforce), or `Jan 4` of an asctime date whose year comes last (`None`).
/// Returns the tokens after the date.
fn rfc_date_part<'a, 'b>(tokens: &'a [&'b str]) -> Option<(Option<NaiveDate>, &'a [&'b str])> {
    if tokens[0].contains('/') {
        let d = NaiveDate::parse_from_str(tokens[0], "%Y/%m/%d").ok()?;
        return Some((Some(d), &tokens[1..]));
    }
    let (day, month, year) = if let Some(m) = month_number(tokens[1]) {
        (tokens[0], m, tokens.get(2)?)
    } else if let Some(m) = month_number(tokens[0]) {
        let year = tokens.get(2)?;
        if year.contains(':') {
            // asctime: the time comes before the year
            return Some((None, &tokens[2..]));
        }
        (tokens[1], m, year)
    } else {
        return None;
    };
    let day: u32 = day.parse().ok()?;
    if !year.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut year: i32 = year.parse().ok()?;
    if year < 100 && year.to_string().len() <= 2 {
        year += if year < 50 { 2000 } else { 1900 };
    }
    Some((NaiveDate::from_ymd_opt(year, month, day), &tokens[3..])).filter(|(d, _)| d.is_some())
}

fn parse_offset(z: &str) -> Option<i32> {
    let z = z.trim_matches(|c| c == '(' || c == ')');
    if let Some(secs) = zone_offset(z) {
        return Some(secs);
    }
    // "GMT-01:01", "UTC+8"
    let z = ["GMT", "UTC", "UT"]
        .iter()
        .find_map(|p| z.strip_prefix(p).filter(|r| r.starts_with(['+', '-'])))
        .unwrap_or(z);
    let (sign, digits) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let mut digits: String = digits.chars().filter(|c| *c != ':').collect();
    if digits.len() <= 2 && !digits.is_empty() {
        // "+8", "-05": hours only
        digits = format!("{:0>2}00", digits);
    }
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
        "%Y-%m-%d %H:%M:%S %:z",
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

/// Hungarian month names, as in `2004-július-13T9:15-05:00`.
const HUNGARIAN_MONTHS: [&str; 12] = [
    "január",
    "február",
    "március",
    "április",
    "május",
    "június",
    "július",
    "augusztus",
    "szeptember",
    "október",
    "november",
    "december",
];

/// Forms older parsers (feedparser) accept and some national sites still write: Korean
/// (`2004-05-25 오후 11:23:17`, `2004년 05월 28일 01:31:15`, read in Korea's zone unless the
/// feed has one), Hungarian month names, ISO 8601 with a one-digit hour or a three-digit
/// month, and the truncated ISO 8601 forms (`2003-12`, `2003`, `031231`, `03335`, `-0312`).
fn parse_national(s: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    let korea = || zone.or(Some(chrono_tz::Asia::Seoul));
    if s.contains('년') && s.contains('월') && s.contains('일') {
        let t = s.replace(['년', '월'], "-").replace('일', " ");
        let t = collapse(&t.replace("- ", "-"));
        return parse_naive(&t).and_then(|n| local_to_utc(n, korea()));
    }
    if s.contains("오전") || s.contains("오후") {
        let pm = s.contains("오후");
        let t = collapse(&s.replace("오전", " ").replace("오후", " "));
        let mut n = parse_naive(&t)?;
        let h = n.time().hour();
        if pm && h < 12 {
            n += chrono::Duration::hours(12);
        } else if !pm && h == 12 {
            n -= chrono::Duration::hours(12);
        }
        return local_to_utc(n, korea());
    }
    let lower = s.to_lowercase();
    if let Some(i) = HUNGARIAN_MONTHS
        .iter()
        .position(|m| lower.contains(&format!("-{m}-")))
    {
        let t = lower.replace(
            &format!("-{}-", HUNGARIAN_MONTHS[i]),
            &format!("-{:02}-", i + 1),
        );
        return parse_iso_loose(&t.to_uppercase(), zone);
    }
    parse_iso_loose(s, zone)
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn two_digit_year(yy: &str) -> Option<i32> {
    let y: i32 = yy.parse().ok()?;
    Some(if y < 50 { 2000 + y } else { 1900 + y })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// ISO 8601 beyond RFC 3339; see [`parse_national`].
fn parse_iso_loose(s: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let date_only = |d: NaiveDate| local_to_utc(d.and_hms_opt(0, 0, 0)?, zone);
    // -YYMM, -YY-MM
    if let Some(r) = s.strip_prefix('-') {
        let digits: String = r.chars().filter(|c| *c != '-').collect();
        if all_digits(&digits) && digits.len() == 4 && (r.len() == 4 || r.find('-') == Some(2)) {
            let y = two_digit_year(&digits[..2])?;
            return date_only(NaiveDate::from_ymd_opt(y, digits[2..].parse().ok()?, 1)?);
        }
        return None;
    }
    // YYYY, YYYY-MM
    if b.len() == 4 && all_digits(s) {
        return date_only(NaiveDate::from_ymd_opt(s.parse().ok()?, 1, 1)?);
    }
    if b.len() == 7 && b[4] == b'-' && all_digits(&s[..4]) && all_digits(&s[5..]) {
        return date_only(NaiveDate::from_ymd_opt(
            s[..4].parse().ok()?,
            s[5..].parse().ok()?,
            1,
        )?);
    }
    // YYMMDD, YY-MM-DD, YYDDD (ordinal)
    if b.len() == 6 && all_digits(s) {
        let y = two_digit_year(&s[..2])?;
        return date_only(NaiveDate::from_ymd_opt(
            y,
            s[2..4].parse().ok()?,
            s[4..].parse().ok()?,
        )?);
    }
    if b.len() == 8 && b[2] == b'-' && b[5] == b'-' {
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        if all_digits(&digits) {
            return parse_iso_loose(&digits, zone);
        }
    }
    if b.len() == 5 && all_digits(s) {
        let y = two_digit_year(&s[..2])?;
        return date_only(NaiveDate::from_yo_opt(y, s[2..].parse().ok()?)?);
    }
    // YYYY-0MM-DD..., and a one-digit hour: "2003-012-31T10:14:55", "2004-07-13T9:15-05:00"
    let (date, time) = s.split_once('T')?;
    let mut parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3 || !parts.iter().all(|p| all_digits(p)) {
        return None;
    }
    if parts[1].len() == 3 && parts[1].starts_with('0') {
        parts[1] = &parts[1][1..];
    }
    let mut time = if time.find(':') == Some(1) {
        format!("0{time}")
    } else {
        time.to_string()
    };
    // "09:15-05:00": seconds, so that RFC 3339 reads it. `is_char_boundary(5)`, not
    // `len() >= 5`: byte 5 of "10:\u{fffd}" is inside a character, and slicing or inserting
    // there panicked (found by fuzzing: fuzz/fuzz_targets/normalize.rs)
    if time.is_char_boundary(5) && time.as_bytes()[2] == b':' && !time[5..].starts_with(':') {
        time.insert_str(5, ":00");
    }
    let fixed = format!("{}-{:0>2}-{:0>2}T{time}", parts[0], parts[1], parts[2]);
    if fixed == s {
        return None;
    }
    parse_any(&fixed, zone)
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
        assert_eq!(
            utc("2004-július-13T9:15-05:00"),
            "2004-07-13T14:15:00+00:00"
        );
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
    fn local_times_in_a_dst_gap_or_fold() {
        let paris = Some(chrono_tz::Europe::Paris);
        // 02:30 does not exist on 30 March 2025 in Paris: read as 03:30 CEST
        assert_eq!(
            parse_date("2025-03-30 02:30:00", paris)
                .unwrap()
                .to_rfc3339(),
            "2025-03-30T01:30:00+00:00"
        );
        // 02:30 happens twice on 26 October 2025: the earlier (CEST) reading
        assert_eq!(
            parse_date("2025-10-26 02:30:00", paris)
                .unwrap()
                .to_rfc3339(),
            "2025-10-26T00:30:00+00:00"
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
        // found by fuzzing: a multi-byte character where the seconds would go panicked
        assert_eq!(utc("2004-07-13T10:\u{fffd}0Z"), "none");
        assert_eq!(utc("2004-07-13T9:1\u{e9}"), "none");
    }

    #[test]
    fn feedparser_date_cases() {
        // the shared corpus lives beside the checkout (see ../shared/corpus/README.md)
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/corpus/feedparser/date_cases.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} is absent", path.display());
            return;
        };
        #[derive(serde::Deserialize)]
        struct Case {
            input: String,
            expected_utc_tuple: Option<Vec<i64>>,
        }
        let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
        assert_eq!(cases.len(), 72, "the corpus changed: update this test");
        let mut wrong = Vec::new();
        for c in &cases {
            // feedparser keeps whole seconds, and so does the store
            let got = parse_date(&c.input, None).map(|d| d.timestamp());
            let want = c.expected_utc_tuple.as_ref().map(|t| {
                NaiveDate::from_ymd_opt(t[0] as i32, t[1] as u32, t[2] as u32)
                    .and_then(|d| d.and_hms_opt(t[3] as u32, t[4] as u32, t[5] as u32))
                    .unwrap()
                    .and_utc()
            });
            // feedparser reads year 99 as such; newswire rejects years before 1800 as typos
            let mut want = want.filter(|d| d.year() >= 1800).map(|d| d.timestamp());
            if c.input == "22013" {
                // feedparser's W3C-DTF parser rejects this ISO 8601 ordinal date (2022, day
                // 13) and its ISO 8601 parser reads the same form (`03335`): so does newswire
                want = Some(1_642_032_000);
            }
            if got != want {
                wrong.push(format!("{:?}: got {got:?}, want {want:?}", c.input));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
