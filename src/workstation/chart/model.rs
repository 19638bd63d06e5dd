//! The chart's records: timeline kinds and abnormal flags, the patient's banner facts,
//! allergies, observations, reports and every other dated entry.

use chrono::{Datelike, NaiveDate};

use super::value::When;

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
    /// The day of death, when recorded (`deceasedDateTime`): ages stop there.
    pub died: Option<NaiveDate>,
    /// `active` is false: the record is no longer in use.
    pub inactive: bool,
    /// The record was merged into this one (`link` replaced-by): its chart lives there now.
    pub merged_into: Option<String>,
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
        // The age at death, for a patient who died.
        let today = self.died.map_or(today, |d| d.min(today));
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
            (Some(b), Some(a)) if self.died.is_some() => format!("{b} ({a} at death)"),
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

#[derive(Debug, Clone)]
pub struct Allergy {
    /// The AllergyIntolerance's id ("" when the server gave none).
    pub id: String,
    /// Recorded as text with no code (an entry the checks can only match by name).
    pub uncoded: bool,
    pub substance: String,
    /// The substance's RxNorm code, when it is coded that way (for order checks).
    pub rxnorm: Option<String>,
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

/// The word for a status that changes what an item means, shown wherever the item appears
/// (timeline, summary, order lists, order checks), not only in its detail.
pub fn state_mark(status: &str) -> Option<&'static str> {
    Some(match status {
        "draft" => "DRAFT",
        "on-hold" | "suspended" => "ON HOLD",
        "cancelled" | "revoked" => "CANCELLED",
        "entered-in-error" => "ENTERED IN ERROR",
        "not-taken" => "NOT TAKEN",
        "not-done" => "NOT DONE",
        "preliminary" | "registered" | "partial" => "PRELIMINARY",
        "unknown" => "STATUS UNKNOWN",
        _ => return None,
    })
}

/// One search behind a chart and what the server answered: what the banner's "not assessed"
/// and an empty timeline rest on, shown in words when the chart comes back empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `$everything`, or the resource type searched.
    pub what: String,
    pub outcome: AnswerOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// `count` resources arrived; `total` is what the server claimed; `cut` when pages were
    /// left behind (a `next` link not followed, or fewer than the total and no way on).
    Received {
        count: usize,
        total: Option<u64>,
        cut: bool,
    },
    /// The server does not offer it (404/501 with not-supported).
    Unsupported,
    Failed(String),
}

impl Answer {
    /// `Observation 12`, `$everything not supported`, `AllergyIntolerance 2 of 5 (cut short)`.
    pub fn describe(&self) -> String {
        match &self.outcome {
            AnswerOutcome::Received { count, total, cut } => {
                let mut s = format!("{} {count}", self.what);
                if let Some(t) = total.filter(|t| *t != *count as u64) {
                    s.push_str(&format!(" of {t}"));
                }
                if *cut {
                    s.push_str(" (cut short)");
                }
                s
            }
            AnswerOutcome::Unsupported => format!("{} not supported", self.what),
            AnswerOutcome::Failed(e) => format!("{} failed ({e})", self.what),
        }
    }

    /// The server left some of the answer behind.
    pub fn is_cut(&self) -> bool {
        matches!(self.outcome, AnswerOutcome::Received { cut: true, .. })
    }

    pub fn received(&self) -> usize {
        match self.outcome {
            AnswerOutcome::Received { count, .. } => count,
            _ => 0,
        }
    }
}

/// Where the allergy list stands; the banner never says "not assessed" before it knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllergyLoad {
    Loading,
    Loaded,
    Failed(String),
    /// Not asked for until the glass is broken: the record is restricted (`restricted`), or
    /// the user's role sees demographics only.
    Withheld {
        restricted: bool,
    },
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
    pub id: String,
    pub name: String,
    /// The report's LOINC code (a panel), for duplicate-test checks.
    pub code: Option<String>,
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

impl Entry {
    /// The code this entry carries from `system_label` ("RxNorm", "LOINC"), if any.
    pub fn code(&self, system_label: &str) -> Option<&str> {
        let fields = match &self.detail {
            Detail::Fields(f) | Detail::Note { fields: f, .. } => f,
        };
        fields
            .iter()
            .find(|(label, _)| label == system_label)
            .map(|(_, v)| v.as_str())
    }
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
    /// A set of vital signs taken together (index into `Chart::vital_sets`).
    Vitals(u32),
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
pub(crate) struct EncounterInfo {
    pub(crate) id: String,
    pub(crate) start: Option<When>,
    pub(crate) current: bool,
    pub(crate) locations: Vec<String>,
}
