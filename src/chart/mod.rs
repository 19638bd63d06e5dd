//! One patient's chart as the workstation shows it: the banner facts, the timeline (every
//! dated item, newest first), details, trends and the summary, built from FHIR resources as
//! pages of them arrive. Nothing here does I/O.

mod parse;
pub mod summary;
pub mod value;

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::Value;

pub use value::{Precision, When};

/// What kind of item a timeline line is; also the timeline's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Encounter,
    Note,
    Result,
    Vital,
    Medication,
    Problem,
    Procedure,
    Immunization,
    Order,
    Allergy,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Encounter,
        Kind::Note,
        Kind::Result,
        Kind::Vital,
        Kind::Medication,
        Kind::Problem,
        Kind::Procedure,
        Kind::Immunization,
        Kind::Order,
        Kind::Allergy,
        Kind::Other,
    ];

    /// The type tag of a timeline line (5 columns at most).
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Encounter => "VISIT",
            Kind::Note => "NOTE",
            Kind::Result => "LAB",
            Kind::Vital => "VITAL",
            Kind::Medication => "MED",
            Kind::Problem => "PROB",
            Kind::Procedure => "PROC",
            Kind::Immunization => "IMMUN",
            Kind::Order => "ORDER",
            Kind::Allergy => "ALLER",
            Kind::Other => "OTHER",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Encounter => "Encounters",
            Kind::Note => "Notes",
            Kind::Result => "Results",
            Kind::Vital => "Vitals",
            Kind::Medication => "Medications",
            Kind::Problem => "Problems",
            Kind::Procedure => "Procedures",
            Kind::Immunization => "Immunizations",
            Kind::Order => "Orders",
            Kind::Allergy => "Allergies",
            Kind::Other => "Other",
        }
    }

    /// Parses a filter name as users type it (`labs`, `results`, `vitals`, `meds`...).
    pub fn from_name(name: &str) -> Option<Kind> {
        let n = name.trim().to_lowercase();
        Kind::ALL.into_iter().find(|k| {
            let label = k.label().to_lowercase();
            n == label
                || n == k.tag().to_lowercase()
                || (n.len() >= 3 && label.starts_with(&n))
                || matches!(
                    (n.as_str(), k),
                    ("labs", Kind::Result) | ("visits", Kind::Encounter)
                )
        })
    }
}

/// How abnormal a result is. Never shown by colour alone: each has a text marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Flag {
    #[default]
    Normal,
    Abnormal,
    Low,
    High,
    CriticalLow,
    CriticalHigh,
    Critical,
}

impl Flag {
    /// The marker printed beside a value: `H`, `L`, `A`, `H!!`, `L!!`, `!!`.
    pub fn marker(self) -> &'static str {
        match self {
            Flag::Normal => "",
            Flag::Abnormal => "A",
            Flag::Low => "L",
            Flag::High => "H",
            Flag::CriticalLow => "L!!",
            Flag::CriticalHigh => "H!!",
            Flag::Critical => "!!",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Flag::Normal => "normal",
            Flag::Abnormal => "abnormal",
            Flag::Low => "low",
            Flag::High => "high",
            Flag::CriticalLow => "critically low",
            Flag::CriticalHigh => "critically high",
            Flag::Critical => "critical",
        }
    }

    pub fn is_critical(self) -> bool {
        matches!(
            self,
            Flag::CriticalLow | Flag::CriticalHigh | Flag::Critical
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct PatientInfo {
    pub id: String,
    pub family: String,
    pub given: String,
    pub sex: String,
    pub birth_date: Option<NaiveDate>,
    pub birth_text: Option<String>,
    pub mrn: Option<String>,
    pub deceased: bool,
}

impl PatientInfo {
    /// `SMITH, John`: the family name in capitals, as wristbands and lists print it.
    pub fn display_name(&self) -> String {
        match (self.family.is_empty(), self.given.is_empty()) {
            (false, false) => format!("{}, {}", self.family.to_uppercase(), self.given),
            (false, true) => self.family.to_uppercase(),
            (true, false) => self.given.clone(),
            (true, true) => "(no name recorded)".into(),
        }
    }

    /// Age in whole years (months under 2, days under 2 months) on `today`.
    pub fn age(&self, today: NaiveDate) -> Option<String> {
        let birth = self.birth_date?;
        let mut months = i64::from(today.year() - birth.year()) * 12 + i64::from(today.month())
            - i64::from(birth.month());
        if today.day() < birth.day() {
            months -= 1;
        }
        if months < 0 {
            return None;
        }
        Some(if months >= 24 {
            format!("{}y", months / 12)
        } else if months >= 2 {
            format!("{months}m")
        } else {
            format!("{}d", (today - birth).num_days().max(0))
        })
    }

    /// `1956-03-14 (70y)`.
    pub fn dob_and_age(&self, today: NaiveDate) -> String {
        match (&self.birth_text, self.age(today)) {
            (Some(b), Some(a)) => format!("{b} ({a})"),
            (Some(b), None) => b.clone(),
            _ => "DOB unknown".into(),
        }
    }

    pub fn sex_word(&self) -> &str {
        match self.sex.as_str() {
            "male" => "Male",
            "female" => "Female",
            "other" => "Other",
            "unknown" | "" => "Sex unknown",
            s => s,
        }
    }
}

use chrono::Datelike;

#[derive(Debug, Clone)]
pub struct Allergy {
    pub substance: String,
    pub reactions: Vec<String>,
    pub severity: Option<String>,
    pub high_criticality: bool,
    /// "No known allergy" style entries: an assessment, not an allergy.
    pub no_known: Option<NoKnown>,
    pub when: Option<When>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoKnown {
    Any,
    Drug,
    Other,
}

/// Where the allergy list stands; the banner never says "not assessed" before it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllergyLoad {
    Loading,
    Loaded,
    Failed(String),
}

/// One Observation.
#[derive(Debug, Clone)]
pub struct Obs {
    pub id: String,
    pub key: Option<String>,
    pub name: String,
    pub when: Option<When>,
    pub value: Option<String>,
    pub number: Option<f64>,
    pub unit: String,
    pub range: Option<Range>,
    pub flag: Flag,
    pub interpretation: Option<String>,
    pub status: String,
    pub vital: bool,
    pub components: Vec<Component>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub key: Option<String>,
    pub name: String,
    pub value: Option<String>,
    pub number: Option<f64>,
    pub unit: String,
    pub flag: Flag,
    pub range: Option<Range>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Range {
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub when: Option<When>,
    pub status: String,
    pub results: Vec<String>,
    pub conclusion: Option<String>,
}

/// Every other dated item: its lines for the detail pane were worked out when it arrived.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub when: When,
    pub summary: String,
    pub status: String,
    pub detail: Detail,
    /// For the summary view: an active problem or medication.
    pub active: bool,
    /// References (author, locations) whose names follow the summary once they are known;
    /// the resources they name may arrive in a later page.
    pub refs: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Detail {
    Fields(Vec<(String, String)>),
    Note {
        fields: Vec<(String, String)>,
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Obs(u32),
    Report(u32),
    Entry(u32),
}

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct Item {
    pub when: When,
    pub kind: Kind,
    pub flag: Flag,
    pub target: Target,
    pub summary: String,
}

#[derive(Debug, Clone)]
struct EncounterInfo {
    start: Option<When>,
    current: bool,
    locations: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Chart {
    pub patient: Option<PatientInfo>,
    pub allergies: Vec<Allergy>,
    pub allergy_load: Option<AllergyLoad>,
    pub obs: Vec<Obs>,
    pub reports: Vec<Report>,
    pub entries: Vec<Entry>,
    /// Resources that arrived but could not be read (shown as a count, never silently lost).
    pub unreadable: usize,
    pub resources: usize,
    pub timeline: Vec<Item>,
    /// Observation indexes by code, oldest first: trends and previous values.
    pub by_code: HashMap<String, Vec<u32>>,
    encounters: Vec<EncounterInfo>,
    names: HashMap<String, String>,
    seen: HashSet<String>,
    obs_ids: HashMap<String, u32>,
    /// The patient this chart is for: resources about anyone else are refused.
    owner: Option<String>,
    /// Resources refused because they were about another patient.
    pub foreign: usize,
    pages: u32,
    /// Pages arrived since the timeline was last rebuilt.
    stale: bool,
}

impl Chart {
    pub fn new() -> Chart {
        Chart {
            allergy_load: Some(AllergyLoad::Loading),
            ..Chart::default()
        }
    }

    /// An empty chart that only accepts resources about patient `id`.
    pub fn for_patient(id: &str) -> Chart {
        Chart {
            owner: Some(id.to_string()),
            ..Chart::new()
        }
    }

    /// The patient this chart is for.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Adds a page of resources (any order, duplicates ignored) and rebuilds the timeline.
    ///
    /// A large chart arrives in dozens of pages; rebuilding the timeline after each would cost
    /// more than the pages themselves. It is rebuilt after pages 1, 2, 4, 8... (so the first
    /// screen is there at once) and when the chart is complete (`finish` or `flush`).
    pub fn add_page(&mut self, resources: Vec<Value>) {
        for r in resources {
            self.add(r);
        }
        self.pages += 1;
        if self.pages.is_power_of_two() {
            self.rebuild();
        } else {
            self.stale = true;
        }
    }

    /// Rebuilds the timeline if pages arrived since the last rebuild.
    pub fn flush(&mut self) {
        if self.stale {
            self.rebuild();
        }
    }

    fn add(&mut self, r: Value) {
        let rtype = value::text(&r, "resourceType").unwrap_or("").to_string();
        let id = value::text(&r, "id").unwrap_or("").to_string();
        if let Some(owner) = &self.owner {
            if !about(owner, &rtype, &id, &r) {
                self.foreign += 1;
                return;
            }
        }
        if !id.is_empty() && !self.seen.insert(format!("{rtype}/{id}")) {
            return;
        }
        self.resources += 1;
        if !parse::add(self, &rtype, &id, &r) {
            self.unreadable += 1;
        }
    }

    /// The answer of the dedicated allergy search: authoritative for the banner.
    pub fn set_allergies(&mut self, result: Result<Vec<Value>, String>) {
        match result {
            Ok(resources) => {
                self.allergy_load = Some(AllergyLoad::Loaded);
                self.add_page(resources);
            }
            Err(message) => {
                if self.allergy_load != Some(AllergyLoad::Loaded) {
                    self.allergy_load = Some(AllergyLoad::Failed(message));
                }
            }
        }
    }

    /// The whole chart has arrived: whatever allergies it holds are the list.
    pub fn finish(&mut self) {
        self.flush();
        if matches!(self.allergy_load, Some(AllergyLoad::Loading)) {
            self.allergy_load = Some(AllergyLoad::Loaded);
        }
    }

    /// The banner's allergy text, and whether it must stand out.
    pub fn allergy_text(&self) -> (String, AllergyAlert) {
        self.allergy_line(usize::MAX)
    }

    /// The allergy text cut to `width` without hiding an allergy: reactions are dropped
    /// first (severe ones last), then the tail becomes "+N more".
    pub fn allergy_line(&self, width: usize) -> (String, AllergyAlert) {
        let real: Vec<&Allergy> = self
            .allergies
            .iter()
            .filter(|a| a.no_known.is_none())
            .collect();
        if real.is_empty() {
            return self.no_allergy_text();
        }
        let severe = |a: &Allergy| a.high_criticality || a.severity.as_deref() == Some("severe");
        let describe = |a: &Allergy, reactions: bool| {
            let mut s = a.substance.to_lowercase();
            if reactions && !a.reactions.is_empty() {
                s.push_str(&format!(" ({})", a.reactions.join(", ").to_lowercase()));
            }
            s
        };
        let candidates = [
            real.iter().map(|a| describe(a, true)).collect::<Vec<_>>(),
            real.iter().map(|a| describe(a, severe(a))).collect(),
            real.iter().map(|a| describe(a, false)).collect(),
        ];
        for list in &candidates {
            let text = format!("Allergies: {}", list.join(", "));
            if text.chars().count() <= width {
                return (text, AllergyAlert::Allergic);
            }
        }
        let names = &candidates[2];
        for shown in (1..names.len()).rev() {
            let text = format!(
                "Allergies: {} +{} more",
                names[..shown].join(", "),
                names.len() - shown
            );
            if text.chars().count() <= width {
                return (text, AllergyAlert::Allergic);
            }
        }
        (
            format!("Allergies ({}): {}", names.len(), names.join(", ")),
            AllergyAlert::Allergic,
        )
    }

    fn no_allergy_text(&self) -> (String, AllergyAlert) {
        match &self.allergy_load {
            Some(AllergyLoad::Loading) | None if self.allergies.is_empty() => {
                ("Allergies: loading...".into(), AllergyAlert::Unknown)
            }
            Some(AllergyLoad::Failed(_)) if self.allergies.is_empty() => (
                "Allergies: COULD NOT BE LOADED - check before prescribing".into(),
                AllergyAlert::Unknown,
            ),
            _ => {
                let kinds: Vec<NoKnown> =
                    self.allergies.iter().filter_map(|a| a.no_known).collect();
                if kinds.contains(&NoKnown::Any) {
                    ("NKDA (no known allergies)".into(), AllergyAlert::None)
                } else if kinds.contains(&NoKnown::Drug) {
                    ("NKDA (no known drug allergies)".into(), AllergyAlert::None)
                } else if !kinds.is_empty() {
                    (
                        "No known food/environmental allergies; drug allergies not assessed".into(),
                        AllergyAlert::Unknown,
                    )
                } else {
                    ("Allergies not assessed".into(), AllergyAlert::Unknown)
                }
            }
        }
    }

    /// `Ward 4A, Bed 4A-01` while admitted, else `last visit 2026-03-01`.
    pub fn location(&self, zone: chrono::FixedOffset) -> Option<String> {
        if let Some(e) = self.encounters.iter().find(|e| e.current) {
            let places: Vec<String> = e
                .locations
                .iter()
                .map(|l| self.names.get(l).cloned().unwrap_or_else(|| short_ref(l)))
                .collect();
            return Some(if places.is_empty() {
                "admitted".into()
            } else {
                places.join(", ")
            });
        }
        let last = self.encounters.iter().filter_map(|e| e.start).max()?;
        let day = last.day(zone)?;
        Some(format!("last visit {day}"))
    }

    /// The name of a referenced Practitioner, Location, Organization or Medication when the
    /// chart holds it, else the reference as written.
    pub fn resolve<'a>(&'a self, reference: &'a str) -> &'a str {
        self.names
            .get(reference)
            .map(String::as_str)
            .unwrap_or(reference)
    }

    pub fn obs_at(&self, i: u32) -> Option<&Obs> {
        self.obs.get(i as usize)
    }

    /// Earlier values of the same code than `obs`, newest first.
    pub fn previous(&self, obs: &Obs) -> Vec<&Obs> {
        let Some(key) = &obs.key else {
            return Vec::new();
        };
        let Some(list) = self.by_code.get(key) else {
            return Vec::new();
        };
        list.iter()
            .rev()
            .filter_map(|&i| self.obs.get(i as usize))
            .filter(|o| o.id != obs.id && o.when < obs.when)
            .collect()
    }

    /// The report's results that have arrived, in the report's order.
    pub fn report_results(&self, report: &Report) -> Vec<&Obs> {
        report
            .results
            .iter()
            .filter_map(|id| self.obs_ids.get(id))
            .filter_map(|&i| self.obs.get(i as usize))
            .collect()
    }

    fn rebuild(&mut self) {
        self.stale = false;
        let mut in_report: HashSet<&str> = HashSet::new();
        let mut items = Vec::with_capacity(self.entries.len() + self.obs.len());
        for (i, report) in self.reports.iter().enumerate() {
            let Some(when) = report.when else { continue };
            let results = self.report_results(report);
            in_report.extend(report.results.iter().map(String::as_str));
            let flag = results.iter().map(|o| o.flag).max().unwrap_or_default();
            items.push(Item {
                when,
                kind: Kind::Result,
                flag,
                target: Target::Report(i as u32),
                summary: parse::report_summary(report, &results),
            });
        }
        for (i, obs) in self.obs.iter().enumerate() {
            let Some(when) = obs.when else { continue };
            if in_report.contains(obs.id.as_str()) {
                continue;
            }
            items.push(Item {
                when,
                kind: if obs.vital { Kind::Vital } else { Kind::Result },
                flag: obs.flag,
                target: Target::Obs(i as u32),
                summary: parse::obs_summary(obs),
            });
        }
        for (i, e) in self.entries.iter().enumerate() {
            let summary = if e.refs.is_empty() {
                e.summary.clone()
            } else {
                let names: Vec<&str> = e.refs.iter().map(|r| self.resolve(r)).collect();
                format!("{} - {}", e.summary, names.join(", "))
            };
            items.push(Item {
                when: e.when,
                kind: e.kind,
                flag: Flag::Normal,
                target: Target::Entry(i as u32),
                summary,
            });
        }
        items.sort_by(|a, b| {
            b.when
                .ms
                .cmp(&a.when.ms)
                .then(a.kind.cmp(&b.kind))
                .then(a.target.cmp(&b.target))
        });
        self.timeline = items;
        self.by_code.clear();
        for (i, obs) in self.obs.iter().enumerate() {
            if let (Some(key), Some(_)) = (&obs.key, obs.when) {
                self.by_code.entry(key.clone()).or_default().push(i as u32);
            }
        }
        let obs = &self.obs;
        for list in self.by_code.values_mut() {
            list.sort_by_key(|&i| obs[i as usize].when);
        }
    }

    /// Points of `key` over time for a trend: one series per component (e.g. systolic and
    /// diastolic) or one for the value itself.
    pub fn series(&self, key: &str) -> Vec<Series> {
        let mut out: Vec<Series> = Vec::new();
        let Some(list) = self.by_code.get(key) else {
            return out;
        };
        for obs in list.iter().filter_map(|&i| self.obs.get(i as usize)) {
            let Some(when) = obs.when else { continue };
            let mut push = |name: &str, unit: &str, range: &Option<Range>, x: Option<f64>| {
                let Some(x) = x else { return };
                let pos = match out.iter().position(|s| s.name == name) {
                    Some(p) => p,
                    None => {
                        out.push(Series {
                            name: name.to_string(),
                            unit: unit.to_string(),
                            range: range.clone(),
                            points: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                out[pos].points.push((when.ms, x));
            };
            push(&obs.name, &obs.unit, &obs.range, obs.number);
            for c in &obs.components {
                push(&c.name, &c.unit, &c.range, c.number);
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllergyAlert {
    /// Real allergies: the banner's alert style.
    Allergic,
    /// Not assessed or not known yet: a warning.
    Unknown,
    /// Assessed, none known.
    None,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub unit: String,
    pub range: Option<Range>,
    pub points: Vec<(i64, f64)>,
}

/// False when `r` is, or is about, a patient other than `owner`.
fn about(owner: &str, rtype: &str, id: &str, r: &Value) -> bool {
    if rtype == "Patient" {
        return id == owner;
    }
    for key in ["subject", "patient"] {
        let reference = r.get(key).and_then(|s| value::text(s, "reference"));
        if let Some((_, rest)) = reference.and_then(|x| x.rsplit_once("Patient/")) {
            let target = rest.split('/').next().unwrap_or(rest);
            return target == owner;
        }
    }
    true
}

fn short_ref(reference: &str) -> String {
    reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .to_string()
}

/// The facts of a Patient resource as the banner and search rows show them.
pub fn read_patient(resource: &Value) -> Option<PatientInfo> {
    (value::text(resource, "resourceType") == Some("Patient"))
        .then(|| parse::patient(value::text(resource, "id").unwrap_or(""), resource))
}

/// Where a patient is (or last was) from some of their Encounters and the Locations they name.
pub fn location_of(resources: Vec<Value>, zone: chrono::FixedOffset) -> Option<String> {
    let mut chart = Chart::new();
    chart.add_page(resources);
    chart.location(zone)
}

/// A LOINC long name up to its first bracket.
pub fn short_name_of(name: &str) -> &str {
    match name.find(" [") {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    }
}

/// A short name for lists (`Chloride`, `Blood pressure`).
pub fn short_name(o: &Obs) -> &str {
    parse::short_name(o)
}

/// An observation's value with its unit (`6.9 mmol/L`, `142/88 mmHg`).
pub fn value_text(o: &Obs) -> String {
    parse::obs_value(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allergy(name: &str, reaction: &str, criticality: &str) -> Value {
        json!({"resourceType": "AllergyIntolerance", "id": name, "patient": {"reference": "Patient/p"},
               "criticality": criticality, "code": {"text": name},
               "reaction": [{"manifestation": [{"text": reaction}]}]})
    }

    #[test]
    fn allergy_banner_states() {
        let mut c = Chart::for_patient("p");
        assert_eq!(c.allergy_text().0, "Allergies: loading...");
        c.finish();
        assert_eq!(c.allergy_text().0, "Allergies not assessed");
        c.add_page(vec![
            json!({"resourceType": "AllergyIntolerance", "id": "n",
            "patient": {"reference": "Patient/p"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "409137002"}]}}),
        ]);
        assert!(c.allergy_text().0.starts_with("NKDA"));
        let mut failed = Chart::for_patient("p");
        failed.set_allergies(Err("timeout".into()));
        assert!(failed.allergy_text().0.contains("COULD NOT BE LOADED"));
    }

    #[test]
    fn a_narrow_banner_never_hides_an_allergy() {
        let mut c = Chart::for_patient("p");
        c.set_allergies(Ok(vec![
            allergy("Penicillin", "Anaphylaxis", "high"),
            allergy("Latex", "Urticaria", "low"),
            allergy("Morphine", "Nausea", "low"),
        ]));
        assert_eq!(
            c.allergy_text().0,
            "Allergies: penicillin (anaphylaxis), latex (urticaria), morphine (nausea)"
        );
        assert_eq!(
            c.allergy_line(60).0,
            "Allergies: penicillin (anaphylaxis), latex, morphine"
        );
        assert_eq!(
            c.allergy_line(40).0,
            "Allergies: penicillin, latex, morphine"
        );
        assert_eq!(c.allergy_line(36).0, "Allergies: penicillin, latex +1 more");
        assert_eq!(
            c.allergy_line(20).0,
            "Allergies (3): penicillin, latex, morphine"
        );
    }

    #[test]
    fn resources_about_another_patient_are_refused() {
        let mut c = Chart::for_patient("p");
        c.add_page(vec![
            json!({"resourceType": "Patient", "id": "q"}),
            json!({"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/q"},
                   "effectiveDateTime": "2024-01-01", "code": {"text": "x"}}),
            json!({"resourceType": "Observation", "id": "o2", "subject": {"reference": "Patient/p"},
                   "effectiveDateTime": "2024-01-01", "code": {"text": "y"}}),
        ]);
        assert!(c.patient.is_none());
        assert_eq!(c.foreign, 2);
        assert_eq!(c.timeline.len(), 1);
    }
}
