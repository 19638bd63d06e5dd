//! The cover sheet of a chart: active problems, active medications, allergies, latest vitals
//! and recent abnormal results.

use std::collections::HashMap;

use super::{Chart, Entry, Kind, Obs};

pub struct Summary<'a> {
    pub problems: Vec<&'a Entry>,
    pub medications: Vec<&'a Entry>,
    pub vitals: Vec<&'a Obs>,
    pub abnormal: Vec<&'a Obs>,
}

/// How many abnormal results the summary lists.
const RECENT_ABNORMAL: usize = 12;

pub fn summarise(chart: &Chart) -> Summary<'_> {
    let mut problems: Vec<&Entry> = chart
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Problem && e.active)
        .collect();
    problems.sort_by_key(|e| std::cmp::Reverse(e.when));
    let mut medications: Vec<&Entry> = chart
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Medication && e.active)
        .collect();
    medications.sort_by_key(|e| std::cmp::Reverse(e.when));
    // The newest value of each vital sign, in a fixed, familiar order.
    let mut latest: HashMap<&str, &Obs> = HashMap::new();
    // An entered-in-error or cancelled value is not the latest of anything.
    let counts = |o: &&Obs| {
        !matches!(o.status.as_str(), "entered-in-error" | "cancelled")
            && o.when.is_some_and(|w| !w.is_undated())
    };
    for o in chart
        .obs
        .iter()
        .filter(counts)
        .filter(|o| o.vital && o.when.is_some())
    {
        let key = o.key.as_deref().unwrap_or(o.name.as_str());
        if latest.get(key).is_none_or(|prev| prev.when < o.when) {
            latest.insert(key, o);
        }
    }
    let mut vitals: Vec<&Obs> = latest.into_values().collect();
    vitals.sort_by(|a, b| a.name.cmp(&b.name));
    let mut abnormal: Vec<&Obs> = chart
        .obs
        .iter()
        .filter(counts)
        .filter(|o| !o.vital && o.flag != super::Flag::Normal && o.when.is_some())
        .collect();
    abnormal.sort_by(|a, b| b.when.cmp(&a.when).then(b.flag.cmp(&a.flag)));
    abnormal.truncate(RECENT_ABNORMAL);
    Summary {
        problems,
        medications,
        vitals,
        abnormal,
    }
}
