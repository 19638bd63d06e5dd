//! FHIR `date`, `dateTime` and `instant` values as millisecond ranges, so a partial date such as
//! `1956` or `1956-03` can be compared with a precise one the way the search spec describes.

use chrono::{DateTime, Days, Months, NaiveDate, NaiveTime, SecondsFormat, Utc};

/// An inclusive range of epoch milliseconds covered by a date of some precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub lo: i64,
    pub hi: i64,
}

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD` and `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]`.
/// A time without a zone is taken as UTC.
pub fn parse_range(s: &str) -> Option<DateRange> {
    let s = s.trim();
    let (date_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut fields = date_part.split('-');
    let year: i32 = parse_digits(fields.next()?, 4)?;
    let month = fields.next().map(|m| parse_digits::<u32>(m, 2));
    let day = fields.next().map(|d| parse_digits::<u32>(d, 2));
    if fields.next().is_some() {
        return None;
    }
    match (month, day, time_part) {
        (None, None, None) => {
            let start = NaiveDate::from_ymd_opt(year, 1, 1)?;
            let end = NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?;
            Some(span(start, end))
        }
        (Some(m), None, None) => {
            let start = NaiveDate::from_ymd_opt(year, m?, 1)?;
            Some(span(start, start.checked_add_months(Months::new(1))?))
        }
        (Some(m), Some(d), None) => {
            let start = NaiveDate::from_ymd_opt(year, m?, d?)?;
            Some(span(start, start.checked_add_days(Days::new(1))?))
        }
        (Some(m), Some(d), Some(t)) => {
            let date = NaiveDate::from_ymd_opt(year, m?, d?)?;
            parse_time(date, t)
        }
        _ => None,
    }
}

fn parse_digits<T: std::str::FromStr>(s: &str, len: usize) -> Option<T> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn span(start: NaiveDate, end: NaiveDate) -> DateRange {
    let lo = start.and_time(NaiveTime::MIN).and_utc().timestamp_millis();
    let hi = end.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - 1;
    DateRange { lo, hi }
}

fn parse_time(date: NaiveDate, t: &str) -> Option<DateRange> {
    let (clock, offset_ms) = split_zone(t)?;
    let mut parts = clock.split(':');
    let hour: u32 = parse_digits(parts.next()?, 2)?;
    let minute: u32 = parse_digits(parts.next()?, 2)?;
    let (second, milli, width) = match parts.next() {
        None => (0, 0, 60_000),
        Some(sec) => match sec.split_once('.') {
            None => (parse_digits(sec, 2)?, 0, 1_000),
            Some((whole, frac)) => {
                if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let ms: u32 = format!("{frac:0<3}")[..3].parse().ok()?;
                (parse_digits(whole, 2)?, ms, 1)
            }
        },
    };
    if parts.next().is_some() {
        return None;
    }
    let time = NaiveTime::from_hms_milli_opt(hour, minute, second.min(59), milli)?;
    let lo = date.and_time(time).and_utc().timestamp_millis() - offset_ms;
    Some(DateRange {
        lo,
        hi: lo + width - 1,
    })
}

/// Splits `10:00:00+02:00` into the clock and the zone offset in milliseconds.
fn split_zone(t: &str) -> Option<(&str, i64)> {
    if let Some(clock) = t.strip_suffix('Z') {
        return Some((clock, 0));
    }
    if let Some(i) = t.rfind(['+', '-']) {
        let (clock, zone) = t.split_at(i);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':')?;
        let h: i64 = parse_digits(h, 2)?;
        let m: i64 = parse_digits(m, 2)?;
        return Some((clock, sign * (h * 60 + m) * 60_000));
    }
    Some((t, 0))
}

/// A FHIR `date`: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, a real one.
pub fn is_date(s: &str) -> bool {
    s.trim() == s && !s.contains('T') && parse_range(s).is_some()
}

/// A FHIR `dateTime`: a date, or a date and a time with seconds and a zone.
pub fn is_date_time(s: &str) -> bool {
    match s.split_once('T') {
        None => is_date(s),
        Some((_, t)) => s.trim() == s && full_clock(t) && parse_range(s).is_some() && has_zone(t),
    }
}

/// A FHIR `instant`: a day, a time with seconds, and a zone.
pub fn is_instant(s: &str) -> bool {
    s.split_once('T').is_some_and(|(d, _)| d.len() == 10) && is_date_time(s)
}

/// A FHIR `time`: `hh:mm:ss`, perhaps with a fraction.
pub fn is_time(s: &str) -> bool {
    full_clock(s) && parse_range(&format!("2000-01-01T{s}Z")).is_some()
}

fn has_zone(t: &str) -> bool {
    t.ends_with('Z') || t.get(8..).is_some_and(|rest| rest.contains(['+', '-']))
}

/// `hh:mm:ss` at the start of a time (seconds are required).
fn full_clock(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 8
        && b[2] == b':'
        && b[5] == b':'
        && b[..8]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
}

/// An `instant` as FHIR writes it: UTC with milliseconds.
pub fn instant(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn partial_dates_cover_their_whole_period() {
        let y = parse_range("1956").unwrap();
        assert_eq!(y.lo, ms("1956-01-01T00:00:00Z"));
        assert_eq!(y.hi, ms("1957-01-01T00:00:00Z") - 1);
        let m = parse_range("1956-02").unwrap();
        assert_eq!(m.hi, ms("1956-03-01T00:00:00Z") - 1);
        let d = parse_range("1956-03-14").unwrap();
        assert_eq!(d.hi - d.lo, 86_400_000 - 1);
    }

    #[test]
    fn times_with_zones() {
        let t = parse_range("2020-05-01T10:00:00+02:00").unwrap();
        assert_eq!(t.lo, ms("2020-05-01T08:00:00Z"));
        assert_eq!(t.hi, t.lo + 999);
        let exact = parse_range("2020-05-01T10:00:00.25Z").unwrap();
        assert_eq!(exact.lo, ms("2020-05-01T10:00:00.250Z"));
        assert_eq!(exact.lo, exact.hi);
        assert!(parse_range("2020-05-01T10:00").is_some());
    }

    #[test]
    fn formats_of_the_primitive_types() {
        for ok in [
            "2020",
            "2020-02",
            "2020-02-29",
            "2020-02-29T10:00:00Z",
            "2020-02-29T10:00:00.5+02:00",
        ] {
            assert!(is_date_time(ok), "{ok}");
        }
        for bad in [
            "2020-02-30",
            "2020-02-29T10:00Z",
            "2020-02-29T10:00:00",
            "not-a-date",
            " 2020",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
        assert!(is_date("1956-03-14") && !is_date("1956-03-14T00:00:00Z"));
        assert!(is_instant("2020-01-01T00:00:00.000Z") && !is_instant("2020-01-01"));
        assert!(is_time("10:30:00") && !is_time("10:30") && !is_time("25:00:00"));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "notadate",
            "1956-13",
            "1956-02-30",
            "56",
            "1956-3-1",
            "2020-01-01T25:00",
            "",
        ] {
            assert!(parse_range(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn instants_round_trip() {
        assert_eq!(
            instant(ms("2026-01-02T03:04:05.678Z")),
            "2026-01-02T03:04:05.678Z"
        );
    }
}
