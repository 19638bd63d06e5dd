//! Recording vital signs: a one-line entry (or a field per sign) checked as typed, NEWS2 on
//! every complete set, and the flowsheet of the sets already in the chart.

pub mod msg;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;

use std::collections::BTreeMap;

use crate::workstation::chart::{Chart, Flag, Kind, When};
use crate::workstation::record::news2::{self, Scale};
use crate::workstation::record::vitals::{self, Entry};

/// The flowsheet's rows, top to bottom.
pub const ROWS: [&str; 8] = ["T", "HR", "RR", "BP", "SpO2", "O2", "ACVPU", "NEWS2"];

/// One set in the flowsheet: its time and a cell per row (value and flag).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub when: When,
    pub cells: [Option<(String, Flag)>; 8],
}

fn row_of(key: &str) -> Option<usize> {
    let (system, code) = key.split_once('|')?;
    Some(match (system, code) {
        ("http://loinc.org", "8310-5") => 0,
        ("http://loinc.org", "8867-4") => 1,
        ("http://loinc.org", "9279-1") => 2,
        ("http://loinc.org", "85354-9" | "55284-4") => 3,
        ("http://loinc.org", "2708-6" | "59408-5") => 4,
        ("http://loinc.org", "3151-8" | "3150-0") => 5,
        ("http://snomed.info/sct", "1104441000000107") => 6,
        ("http://snomed.info/sct", vitals::NEWS2_CODE) => 7,
        _ => return None,
    })
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The vital signs (and NEWS2) of a chart by the time they were taken, newest first. Entered
/// in error or otherwise not final values are left out, as the timeline's sets leave them.
pub fn flowsheet(chart: &Chart) -> Vec<Column> {
    let mut by_time: BTreeMap<When, [Option<(String, Flag)>; 8]> = BTreeMap::new();
    for obs in &chart.obs {
        let Some(when) = obs.when.filter(|w| !w.is_undated()) else {
            continue;
        };
        if crate::workstation::chart::state_mark(&obs.status).is_some() {
            continue;
        }
        let Some(row) = obs.key.as_deref().and_then(row_of) else {
            continue;
        };
        let text = match row {
            3 => {
                let part = |code: &str| {
                    obs.components
                        .iter()
                        .find(|c| c.key.as_deref() == Some(code))
                        .and_then(|c| c.number)
                        .map(number)
                };
                match (
                    part("http://loinc.org|8480-6"),
                    part("http://loinc.org|8462-4"),
                ) {
                    (Some(s), Some(d)) => format!("{s}/{d}"),
                    (Some(s), None) => format!("{s}/?"),
                    _ => continue,
                }
            }
            5 if obs.key.as_deref() == Some("http://loinc.org|3150-0") => obs
                .number
                .map(|n| format!("{}%", number(n)))
                .unwrap_or_default(),
            5 => match obs.number {
                Some(0.0) => "air".into(),
                Some(n) => format!("{}L", number(n)),
                None => obs.value.clone().unwrap_or_default(),
            },
            6 => obs
                .value
                .as_deref()
                .and_then(|v| v.split_whitespace().next())
                .unwrap_or("?")
                .to_string(),
            _ => match obs.number {
                Some(n) => number(n),
                None => obs.value.clone().unwrap_or_default(),
            },
        };
        by_time.entry(when).or_default()[row] = Some((text, obs.flag));
    }
    by_time
        .into_iter()
        .rev()
        .map(|(when, cells)| Column { when, cells })
        .collect()
}

/// Why the flowsheet may not hold every set the server has: still loading, or a search for
/// the chart failed or was cut short. `None` when the chart loaded completely.
pub fn sheet_doubt(c: &crate::workstation::state::ChartState) -> Option<&'static str> {
    use crate::workstation::chart::AnswerOutcome;
    if c.loading {
        return Some("still loading");
    }
    let doubtful = c.error.is_some()
        || c.chart.answers.iter().any(|a| {
            matches!(
                a.outcome,
                AnswerOutcome::Failed(_) | AnswerOutcome::Received { cut: true, .. }
            )
        });
    doubtful.then_some("the chart did not load completely")
}

/// True when the chart's active problems include hypercapnic respiratory failure (ICD-10-CM
/// J96.02, J96.12, J96.22, J96.92, or the words): NEWS2 then scores SpO2 on scale 2.
pub fn hypercapnic(chart: &Chart) -> bool {
    chart
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Problem && e.active)
        .any(|e| {
            let icd = e.code("ICD-10-CM").unwrap_or("");
            (icd.starts_with("J96.") && icd.ends_with('2'))
                || e.summary.to_lowercase().contains("hypercapni")
        })
}

/// What the entry would record, read for the screen and for `update`.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub entry: Entry,
    pub scale: Scale,
    /// The score, or why there is none.
    pub news2: Result<news2::Score, String>,
}

/// Reads `text` for the chart: the scale the chart (or the line) asks for, and NEWS2 when
/// the set is complete and the patient is an adult.
pub fn preview(text: &str, chart: &Chart, today: chrono::NaiveDate) -> Preview {
    let entry = vitals::parse(text);
    let scale = if entry.scale2 || hypercapnic(chart) {
        Scale::Two
    } else {
        Scale::One
    };
    let adult = chart
        .patient
        .as_ref()
        .and_then(|p| p.birth_date)
        .map(|birth| today.years_since(birth).is_some_and(|y| y >= 16));
    let news2 = match (entry.news2_inputs(scale), adult) {
        (_, Some(false)) => Err("NEWS2 not scored: it is for adults (16 and over)".to_string()),
        (Ok(inputs), _) => Ok(news2::score(&inputs)),
        (Err(missing), _) => Err(format!("NEWS2 needs {}", missing.join(", "))),
    };
    Preview {
        entry,
        scale,
        news2,
    }
}
