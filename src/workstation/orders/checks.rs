//! Order checks: drug-allergy (by ingredient and by class, with cephalosporin
//! cross-sensitivity as a lower-severity warning), drug-drug (a short, cited table), duplicate
//! therapy and duplicate tests, and a warning when no allergy assessment is recorded. Each
//! alert says what, why, how severe, and what to consider instead. Pure functions over plain
//! data: no UI, no I/O.

use std::collections::HashSet;

use super::knowledge::{Knowledge, Medication, Severity};

/// One order in the basket.
#[derive(Debug, Clone, PartialEq)]
pub enum Proposed {
    /// By RxNorm ingredient RXCUI.
    Medication { rxnorm: String, name: String },
    /// A lab or imaging test by LOINC code.
    Test { loinc: String, name: String },
}

/// A medication the patient is on.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveMedication {
    pub rxnorm: Option<String>,
    pub name: String,
}

/// An allergy as recorded: its code (if RxNorm) and its words.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedAllergy {
    pub rxnorm: Option<String>,
    pub text: String,
    pub reaction: Option<String>,
}

/// A test already ordered or resulted, with when (epoch ms).
#[derive(Debug, Clone, PartialEq)]
pub struct RecentTest {
    pub loinc: String,
    pub when_ms: i64,
    pub resulted: bool,
}

/// What the checks know about the patient.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patient {
    pub medications: Vec<ActiveMedication>,
    pub allergies: Vec<RecordedAllergy>,
    /// False when no allergy assessment at all is recorded (not even "no known allergies").
    pub allergies_assessed: bool,
    pub tests: Vec<RecentTest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    DrugAllergy,
    CrossSensitivity,
    DrugDrug,
    DuplicateTherapy,
    DuplicateTest,
    NoAllergyAssessment,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The basket position of the order it is about.
    pub order: usize,
    pub kind: AlertKind,
    pub severity: Severity,
    pub what: String,
    pub why: String,
    pub instead: String,
    pub source: Option<String>,
}

impl Alert {
    /// High-severity alerts need an override reason before signing.
    pub fn needs_override(&self) -> bool {
        self.severity == Severity::High
    }
}

/// Classes checked for duplicate therapy (two of them at once is usually a mistake).
const DUPLICATE_CLASSES: &[&str] = &[
    "anticoagulant",
    "nsaid",
    "statin",
    "ace inhibitor",
    "arb",
    "proton pump inhibitor",
    "ssri",
    "snri",
    "beta blocker",
    "opioid",
    "maoi",
];

/// Settings for the checks.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A test ordered or resulted this recently is a duplicate (default 24 h).
    pub duplicate_test_window_ms: i64,
    pub now_ms: i64,
}

/// Every alert for the basket against the patient.
pub fn check(basket: &[Proposed], patient: &Patient, k: &Knowledge, s: Settings) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for (i, order) in basket.iter().enumerate() {
        match order {
            Proposed::Medication { rxnorm, name } => {
                let med = k.medication(rxnorm);
                allergy_alerts(i, rxnorm, name, med, patient, k, &mut alerts);
                if !patient.allergies_assessed {
                    alerts.push(Alert {
                        order: i,
                        kind: AlertKind::NoAllergyAssessment,
                        severity: Severity::Moderate,
                        what: format!("No allergy assessment recorded before ordering {name}"),
                        why: "The chart has no allergies and no \"no known allergies\" entry: \
                              nobody has recorded asking."
                            .into(),
                        instead: "Ask the patient (or check old records) and record allergies \
                                  before the first dose."
                            .into(),
                        source: None,
                    });
                }
                interaction_alerts(i, rxnorm, name, med, basket, patient, k, &mut alerts);
                duplicate_therapy(i, rxnorm, name, med, basket, patient, k, &mut alerts);
            }
            Proposed::Test { loinc, name } => {
                let recent = patient.tests.iter().filter(|t| {
                    t.loinc == *loinc && s.now_ms - t.when_ms <= s.duplicate_test_window_ms
                });
                if let Some(t) = recent.max_by_key(|t| t.when_ms) {
                    let hours = (s.now_ms - t.when_ms).max(0) / 3_600_000;
                    let done = if t.resulted { "resulted" } else { "ordered" };
                    alerts.push(Alert {
                        order: i,
                        kind: AlertKind::DuplicateTest,
                        severity: Severity::Low,
                        what: format!("{name} was already {done} {hours} h ago"),
                        why: "Repeating a test within a day rarely changes management and \
                              costs the patient a needle."
                            .into(),
                        instead: format!(
                            "Review the {done} test first; repeat only if the \
                                          clinical picture has changed."
                        ),
                        source: None,
                    });
                }
                let in_basket = basket[..i]
                    .iter()
                    .any(|o| matches!(o, Proposed::Test { loinc: l, .. } if l == loinc));
                if in_basket {
                    alerts.push(Alert {
                        order: i,
                        kind: AlertKind::DuplicateTest,
                        severity: Severity::Moderate,
                        what: format!("{name} is in the basket twice"),
                        why: "The same test was added twice.".into(),
                        instead: "Remove one of them.".into(),
                        source: None,
                    });
                }
            }
        }
    }
    alerts
}

/// The ingredients and classes an allergy stands for: its code's medication, else a
/// medication or class named by its text ("Penicillin", "penicillins", "sulfa drugs").
fn allergy_scope(a: &RecordedAllergy, k: &Knowledge) -> (HashSet<String>, HashSet<String>) {
    let mut ingredients = HashSet::new();
    let mut classes = HashSet::new();
    let med = a
        .rxnorm
        .as_deref()
        .and_then(|c| k.medication(c))
        .or_else(|| k.medication_named(&a.text));
    if let Some(m) = med {
        ingredients.extend(m.ingredients.iter().cloned());
        // The allergy's own class (first listed), e.g. amoxicillin -> penicillin.
        classes.extend(m.classes.first().cloned());
    }
    if let Some(code) = &a.rxnorm {
        ingredients.insert(code.clone());
    }
    let text = a.text.to_lowercase();
    let stem = text.trim_end_matches(" drugs").trim_end_matches('s');
    let stem = if stem == "sulfa" { "sulfonamide" } else { stem };
    let known_class = k
        .medications
        .iter()
        .flat_map(|m| m.classes.iter())
        .any(|c| c == stem);
    if known_class {
        classes.insert(stem.to_string());
    }
    (ingredients, classes)
}

fn allergy_alerts(
    i: usize,
    rxnorm: &str,
    name: &str,
    med: Option<&Medication>,
    patient: &Patient,
    k: &Knowledge,
    out: &mut Vec<Alert>,
) {
    let ingredients: Vec<String> = med
        .map(|m| m.ingredients.clone())
        .unwrap_or_else(|| vec![rxnorm.to_string()]);
    let classes: Vec<&str> = med
        .map(|m| m.classes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    for a in &patient.allergies {
        let (a_ingredients, a_classes) = allergy_scope(a, k);
        let reaction = a
            .reaction
            .as_deref()
            .map(|r| format!(" (reaction: {r})"))
            .unwrap_or_default();
        if ingredients.iter().any(|x| a_ingredients.contains(x)) {
            out.push(Alert {
                order: i,
                kind: AlertKind::DrugAllergy,
                severity: Severity::High,
                what: format!("Allergy to {}: {name} contains it", a.text),
                why: format!(
                    "The patient is recorded as allergic to {}{reaction}.",
                    a.text
                ),
                instead: "Choose a drug from another class, or confirm the allergy history is \
                          wrong and update it."
                    .into(),
                source: None,
            });
        } else if let Some(class) = classes.iter().find(|c| a_classes.contains(**c)) {
            out.push(Alert {
                order: i,
                kind: AlertKind::DrugAllergy,
                severity: Severity::High,
                what: format!("Allergy to {}: {name} is also a {class}", a.text),
                why: format!(
                    "The patient is recorded as allergic to {}{reaction}; drugs of the same \
                     class share the structure the reaction is to.",
                    a.text
                ),
                instead: "Choose a drug from another class.".into(),
                source: None,
            });
        } else if a_classes.contains("penicillin") && classes.contains(&"cephalosporin") {
            out.push(Alert {
                order: i,
                kind: AlertKind::CrossSensitivity,
                severity: Severity::Moderate,
                what: format!("Penicillin allergy ({}): {name} is a cephalosporin", a.text),
                why: format!(
                    "Cross-reactivity between penicillins and cephalosporins is low (about 1-2%) \
                     but real{reaction}."
                ),
                instead: "Usually acceptable unless the reaction was anaphylaxis; then prefer a \
                          non-beta-lactam, or a cephalosporin with a dissimilar side chain \
                          under observation."
                    .into(),
                source: None,
            });
        }
    }
}

/// `rxnorm:CODE` or `class:NAME` matches a medication.
fn matches(side: &str, rxnorm: &str, med: Option<&Medication>) -> bool {
    match side.split_once(':') {
        Some(("rxnorm", code)) => {
            code == rxnorm || med.is_some_and(|m| m.ingredients.iter().any(|i| i == code))
        }
        Some(("class", class)) => med.is_some_and(|m| m.classes.iter().any(|c| c == class)),
        _ => false,
    }
}

const ALREADY_ACTIVE: &str = "already active";

/// The medications order `i` is checked against: the patient's active ones, then the orders
/// before it in the basket (so each pair is reported once, on the later order).
fn others<'a>(
    i: usize,
    basket: &'a [Proposed],
    patient: &'a Patient,
) -> impl Iterator<Item = (Option<String>, String, &'static str)> + 'a {
    patient
        .medications
        .iter()
        .map(|m| (m.rxnorm.clone(), m.name.clone(), ALREADY_ACTIVE))
        .chain(basket[..i].iter().filter_map(|o| match o {
            Proposed::Medication { rxnorm, name } => {
                Some((Some(rxnorm.clone()), name.clone(), "also in this basket"))
            }
            Proposed::Test { .. } => None,
        }))
}

#[allow(clippy::too_many_arguments)]
fn interaction_alerts(
    i: usize,
    rxnorm: &str,
    name: &str,
    med: Option<&Medication>,
    basket: &[Proposed],
    patient: &Patient,
    k: &Knowledge,
    out: &mut Vec<Alert>,
) {
    // Against active medications, and against earlier orders in the basket (each pair once).
    for (other_code, other_name, where_) in others(i, basket, patient) {
        let Some(other_code) = other_code else {
            continue;
        };
        let where_ = if where_ == ALREADY_ACTIVE {
            "active"
        } else {
            "in this basket"
        };
        let other = k.medication(&other_code);
        if let Some(x) = interaction(k, rxnorm, med, &other_code, other) {
            out.push(Alert {
                order: i,
                kind: AlertKind::DrugDrug,
                severity: x.severity,
                what: format!("{name} interacts with {other_name} ({where_})"),
                why: x.effect.clone(),
                instead: x.instead.clone(),
                source: Some(x.source.clone()),
            });
        }
    }
}

/// The interaction between two drugs: the first pair in the table that matches them (one
/// alert per two drugs, however many classes they share).
fn interaction<'k>(
    k: &'k Knowledge,
    a: &str,
    a_med: Option<&Medication>,
    b: &str,
    b_med: Option<&Medication>,
) -> Option<&'k super::knowledge::Interaction> {
    k.interactions.iter().find(|x| {
        (matches(&x.a, a, a_med) && matches(&x.b, b, b_med))
            || (matches(&x.b, a, a_med) && matches(&x.a, b, b_med))
    })
}

/// The class two different drugs share that makes them duplicate therapy, if any.
fn shared_class<'m>(a: Option<&'m Medication>, b: Option<&Medication>) -> Option<&'m str> {
    let (a, b) = (a?, b?);
    a.classes
        .iter()
        .find(|c| DUPLICATE_CLASSES.contains(&c.as_str()) && b.classes.contains(c))
        .map(String::as_str)
}

/// The medication review: interactions and duplicates already among the patient's active
/// medications (drafts and held ones included, as named), each pair once. `order` is the
/// index, in `patient.medications`, of the later of the two.
pub fn review(patient: &Patient, k: &Knowledge) -> Vec<Alert> {
    let mut out = Vec::new();
    let meds = &patient.medications;
    for (j, b) in meds.iter().enumerate() {
        let Some(b_code) = b.rxnorm.as_deref() else {
            continue;
        };
        let b_med = k.medication(b_code);
        for a in &meds[..j] {
            let Some(a_code) = a.rxnorm.as_deref() else {
                continue;
            };
            let a_med = k.medication(a_code);
            if a_code == b_code {
                out.push(Alert {
                    order: j,
                    kind: AlertKind::DuplicateTherapy,
                    severity: Severity::Moderate,
                    what: format!("{} is listed twice: {} and {}", b_name(b), a.name, b.name),
                    why: "Two active orders for the same drug risk a double dose.".into(),
                    instead: "Discontinue one of them.".into(),
                    source: None,
                });
            } else if let Some(x) = interaction(k, a_code, a_med, b_code, b_med) {
                out.push(Alert {
                    order: j,
                    kind: AlertKind::DrugDrug,
                    severity: x.severity,
                    what: format!("{} with {} (both active)", a.name, b.name),
                    why: x.effect.clone(),
                    instead: x.instead.clone(),
                    source: Some(x.source.clone()),
                });
            } else if let Some(class) = shared_class(a_med, b_med) {
                out.push(Alert {
                    order: j,
                    kind: AlertKind::DuplicateTherapy,
                    severity: Severity::Moderate,
                    what: format!("Two {class}s active: {} and {}", a.name, b.name),
                    why: format!(
                        "Two drugs of the same class ({class}) add side effects, not benefit."
                    ),
                    instead: "Stop the one the other replaced.".into(),
                    source: None,
                });
            }
        }
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.severity));
    out
}

fn b_name(m: &ActiveMedication) -> &str {
    m.name.split(" (").next().unwrap_or(&m.name)
}

#[allow(clippy::too_many_arguments)]
fn duplicate_therapy(
    i: usize,
    rxnorm: &str,
    name: &str,
    med: Option<&Medication>,
    basket: &[Proposed],
    patient: &Patient,
    k: &Knowledge,
    out: &mut Vec<Alert>,
) {
    for (code, other_name, where_) in others(i, basket, patient) {
        let same_drug = code.as_deref() == Some(rxnorm)
            || (code.is_none() && other_name.eq_ignore_ascii_case(name));
        if same_drug {
            out.push(Alert {
                order: i,
                kind: AlertKind::DuplicateTherapy,
                severity: Severity::Moderate,
                what: format!("{name} is {where_}"),
                why: "Ordering the same drug twice risks a double dose.".into(),
                instead: "Change the existing order instead of adding another.".into(),
                source: None,
            });
            continue;
        }
        let other = code.as_deref().and_then(|c| k.medication(c));
        if let Some(class) = shared_class(med, other) {
            out.push(Alert {
                order: i,
                kind: AlertKind::DuplicateTherapy,
                severity: Severity::Moderate,
                what: format!("Two {class}s: {name} and {other_name} ({where_})"),
                why: format!(
                    "Two drugs of the same class ({class}) add side effects, not benefit."
                ),
                instead: format!("Stop {other_name} if {name} replaces it."),
                source: None,
            });
        }
    }
}

#[cfg(test)]
mod tests;
