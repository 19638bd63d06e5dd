//! Allergies and problems: the lists as the chart holds them, a form for a new entry (coded
//! from the term lists, or text marked uncoded), "no known drug allergies", and the changes
//! to an entry (entered in error with a reason, resolved).

pub mod msg;
pub mod state;
pub mod update;
pub mod view;

pub use msg::Msg;

use crate::workstation::chart::{AllergyLoad, Kind, NoKnown};
use crate::workstation::features::lists::state::{EntryForm, FieldKind, TermList};
use crate::workstation::record::terms::{Term, Terms};
use crate::workstation::state::ChartState;

/// One allergy as the pane lists it: its `AllergyIntolerance/id`, the line, and whether it is
/// a "no known allergies" assertion.
#[derive(Debug, Clone, PartialEq)]
pub struct AllergyRow {
    pub reference: Option<String>,
    pub line: String,
    pub no_known: bool,
    pub high: bool,
}

pub fn allergy_rows(c: &ChartState) -> Vec<AllergyRow> {
    c.chart
        .allergies
        .iter()
        .map(|a| {
            let mut line = a.substance.clone();
            if a.uncoded && a.no_known.is_none() {
                line.push_str(" (uncoded)");
            }
            if !a.reactions.is_empty() {
                line.push_str(&format!(": {}", a.reactions.join(", ")));
            }
            if let Some(s) = &a.severity {
                line.push_str(&format!(" ({s})"));
            }
            if a.high_criticality {
                line.push_str(" HIGH CRITICALITY");
            }
            AllergyRow {
                reference: (!a.id.is_empty()).then(|| format!("AllergyIntolerance/{}", a.id)),
                line,
                no_known: a.no_known.is_some(),
                high: a.high_criticality,
            }
        })
        .collect()
}

/// Why the allergy list cannot be trusted as complete, if it cannot.
pub fn allergy_doubt(c: &ChartState) -> Option<String> {
    match &c.chart.allergy_load {
        Some(AllergyLoad::Loaded) => c.chart.allergy_doubt(),
        Some(AllergyLoad::Loading) | None => Some("still loading".into()),
        Some(AllergyLoad::Failed(e)) => Some(format!("the server's answer failed: {e}")),
        Some(AllergyLoad::Withheld { .. }) => Some("withheld".into()),
    }
}

/// True when the chart holds a real drug allergy (not an assertion of none).
pub fn has_drug_allergy(c: &ChartState) -> bool {
    c.chart
        .allergies
        .iter()
        .any(|a| a.no_known.is_none() && a.rxnorm.is_some())
}

/// True when "no known drug allergies" (or none at all) is already asserted.
pub fn has_nkda(c: &ChartState) -> bool {
    c.chart
        .allergies
        .iter()
        .any(|a| matches!(a.no_known, Some(NoKnown::Drug | NoKnown::Any)))
}

/// Active problems as (`Condition/id`, line), newest first.
pub fn problem_rows(c: &ChartState) -> Vec<(String, String)> {
    let mut rows: Vec<(crate::workstation::chart::When, String, String)> = c
        .chart
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == Kind::Problem && e.active)
        .filter_map(|(i, e)| {
            let source = c.chart.entry_source(i as u32)?;
            Some((e.when, source.to_string(), e.summary.clone()))
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    rows.into_iter().map(|(_, s, l)| (s, l)).collect()
}

fn list(terms: &Terms, which: TermList) -> &crate::workstation::record::terms::TermList {
    match which {
        TermList::Allergens => &terms.allergens,
        TermList::Reactions => &terms.reactions,
        TermList::Conditions => &terms.conditions,
    }
}

/// The part of a field being typed: after the last comma of a field that takes several.
pub fn segment(value: &str, many: bool) -> &str {
    if many {
        value.rsplit(',').next().unwrap_or("").trim()
    } else {
        value.trim()
    }
}

/// The term named exactly `text` (its name or another name), if any.
pub fn term_named(terms: &Terms, which: TermList, text: &str) -> Option<Term> {
    let t = text.trim().to_lowercase();
    list(terms, which)
        .terms
        .iter()
        .find(|term| {
            term.name.to_lowercase() == t || term.also.iter().any(|a| a.to_lowercase() == t)
        })
        .cloned()
}

/// Suggestions under the field with the cursor: terms matching what is typed, or the
/// choices that begin with it.
pub fn picks(form: &EntryForm, terms: &Terms) -> Vec<String> {
    let Some(f) = form.fields.get(form.at) else {
        return Vec::new();
    };
    match f.kind {
        FieldKind::Term { list: which, many } => {
            let typed = segment(&f.value, many);
            let l = list(terms, which);
            l.search(typed, 6)
                .into_iter()
                .map(|i| l.terms[i].label())
                .collect()
        }
        FieldKind::Choice(options) => {
            let typed = f.value.trim().to_lowercase();
            options
                .iter()
                .filter(|o| o.starts_with(&typed))
                .map(|o| o.to_string())
                .collect()
        }
        FieldKind::Text => Vec::new(),
    }
}

/// The choice a typed value stands for: itself, or the only option it begins.
pub fn choice(options: &[&str], typed: &str) -> Option<String> {
    let t = typed.trim().to_lowercase();
    if let Some(o) = options.iter().find(|o| **o == t) {
        return Some(o.to_string());
    }
    let mut starting = options
        .iter()
        .filter(|o| !t.is_empty() && o.starts_with(&t));
    match (starting.next(), starting.next()) {
        (Some(o), None) => Some(o.to_string()),
        _ => None,
    }
}
