//! Small, forgiving readers for FHIR JSON: a missing or oddly shaped element reads as absent,
//! never as an error, so one strange resource cannot stop a chart from opening.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::Value;

use crate::fhir::date::parse_range;

/// A clinical time and how precise the source was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct When {
    /// Epoch milliseconds of the start of what the value covers.
    pub ms: i64,
    pub precision: Precision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    Year,
    Month,
    Day,
    Time,
    /// A date was given but could not be read: listed under "undated", never dropped.
    Undated,
}

impl When {
    /// A resource whose date does not parse: sorted after every dated item.
    pub const UNDATED: When = When {
        // Far before any date, and far enough from i64::MIN that date arithmetic on it
        // cannot overflow.
        ms: i64::MIN / 4,
        precision: Precision::Undated,
    };

    pub fn is_undated(&self) -> bool {
        self.precision == Precision::Undated
    }

    pub fn parse(s: &str) -> Option<When> {
        let range = parse_range(s)?;
        let precision = match s.trim().len() {
            0..=4 => Precision::Year,
            5..=7 => Precision::Month,
            8..=10 => Precision::Day,
            _ => Precision::Time,
        };
        Some(When {
            ms: range.lo,
            precision,
        })
    }

    /// `2026-03-14 09:30` in the display zone, or as much of the date as the source had.
    /// Dates without a time are shown as written, never shifted by a time zone.
    pub fn display(&self, zone: FixedOffset) -> String {
        if self.is_undated() {
            return "undated".into();
        }
        let Some(utc) = DateTime::from_timestamp_millis(self.ms) else {
            return "????-??-??".into();
        };
        match self.precision {
            Precision::Year => utc.format("%Y").to_string(),
            Precision::Month => utc.format("%Y-%m").to_string(),
            Precision::Day => utc.format("%Y-%m-%d").to_string(),
            Precision::Time => utc
                .with_timezone(&zone)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            Precision::Undated => "undated".into(),
        }
    }

    /// The calendar day in the display zone (for "jump to date").
    pub fn day(&self, zone: FixedOffset) -> Option<NaiveDate> {
        if self.is_undated() {
            return None;
        }
        let utc = DateTime::from_timestamp_millis(self.ms)?;
        Some(match self.precision {
            Precision::Time => utc.with_timezone(&zone).date_naive(),
            _ => utc.date_naive(),
        })
    }
}

pub fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

pub fn first<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v.get(key)? {
        Value::Array(items) => items.first(),
        other => Some(other),
    }
}

pub fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter())
        .into_iter()
        .flatten()
}

/// The words a CodeableConcept shows: its text, else the first coding's display, else a code.
pub fn concept(v: Option<&Value>) -> Option<String> {
    let v = v?;
    if let Some(t) = text(v, "text") {
        return Some(t.to_string());
    }
    let codings: Vec<&Value> = list(v, "coding").collect();
    codings
        .iter()
        .find_map(|c| text(c, "display"))
        .or_else(|| codings.iter().find_map(|c| text(c, "code")))
        .map(str::to_string)
}

/// The code of the first coding from `system` (any system when `None`).
pub fn code_in<'a>(v: Option<&'a Value>, system: Option<&str>) -> Option<&'a str> {
    list(v?, "coding")
        .find(|c| system.is_none_or(|s| text(c, "system") == Some(s)))
        .and_then(|c| text(c, "code"))
}

/// `system|code` of a concept's first coding, the key trends and previous values group by.
pub fn concept_key(v: Option<&Value>) -> Option<String> {
    let coding = list(v?, "coding").find(|c| text(c, "code").is_some())?;
    Some(format!(
        "{}|{}",
        text(coding, "system").unwrap_or(""),
        text(coding, "code")?
    ))
}

/// All codings as `(system, code, display)`.
pub fn codings(v: Option<&Value>) -> Vec<(String, String, String)> {
    let Some(v) = v else { return Vec::new() };
    list(v, "coding")
        .filter_map(|c| {
            Some((
                text(c, "system").unwrap_or("").to_string(),
                text(c, "code")?.to_string(),
                text(c, "display").unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// The first parseable date among `keys`; a Period gives its start (or end).
pub fn when(v: &Value, keys: &[&str]) -> Option<When> {
    let parsed = keys.iter().find_map(|k| match v.get(*k)? {
        Value::String(s) => When::parse(s),
        Value::Object(_) => {
            let p = v.get(*k)?;
            text(p, "start")
                .or_else(|| text(p, "end"))
                .and_then(When::parse)
        }
        _ => None,
    });
    // A date that is there but cannot be read: undated, listed with a warning, not lost.
    let given = || keys.iter().any(|k| v.get(*k).is_some_and(|x| !x.is_null()));
    parsed.or_else(|| given().then_some(When::UNDATED))
}

/// The text of a Reference: its display, else the reference itself.
pub fn reference_text(v: Option<&Value>) -> Option<String> {
    let v = v?;
    text(v, "display")
        .or_else(|| text(v, "reference"))
        .map(str::to_string)
}

/// A number as the source wrote it (arbitrary precision keeps `6.10`) and as f64.
pub fn number(v: Option<&Value>) -> Option<(f64, String)> {
    match v? {
        Value::Number(n) => {
            let text = n.to_string();
            Some((text.parse().ok()?, text))
        }
        _ => None,
    }
}

/// Formats `x` with up to 2 decimals and no trailing zeros (for computed values).
pub fn short_number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_concepts_and_dates() {
        let v = json!({"code": {"coding": [{"system": "s", "code": "1", "display": "One"}]},
                       "p": {"start": "2024-03-01"}, "d": "2024-03-01T10:00:00Z"});
        assert_eq!(concept(v.get("code")).as_deref(), Some("One"));
        assert_eq!(concept_key(v.get("code")).as_deref(), Some("s|1"));
        let w = when(&v, &["x", "p"]).unwrap();
        assert_eq!(w.precision, Precision::Day);
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(w.display(utc), "2024-03-01");
        assert_eq!(when(&v, &["d"]).unwrap().display(utc), "2024-03-01 10:00");
        let plus2 = FixedOffset::east_opt(7200).unwrap();
        assert_eq!(when(&v, &["d"]).unwrap().display(plus2), "2024-03-01 12:00");
        assert_eq!(w.display(plus2), "2024-03-01");
        // A date that is there but unreadable is undated (listed, not dropped); none is none.
        assert!(when(&json!({"d": 3}), &["d"]).is_some_and(|w| w.is_undated()));
        assert!(when(&json!({"e": 3}), &["d"]).is_none());
    }

    #[test]
    fn numbers_keep_their_digits() {
        let v: Value = serde_json::from_str(r#"{"value": 6.10}"#).unwrap();
        assert_eq!(number(v.get("value")).unwrap().1, "6.10");
        assert_eq!(short_number(2.50), "2.5");
    }
}
