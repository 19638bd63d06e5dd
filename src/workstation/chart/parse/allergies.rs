//! AllergyIntolerance to the chart's allergy and its timeline entry.

use serde_json::Value;

use super::super::value::{code_in, concept, first, list, text, when};
use super::super::{Allergy, Detail, Entry, Kind, NoKnown};
use super::SNOMED;
use super::*;

pub(super) fn allergy(r: &Value) -> Allergy {
    let substance = concept(r.get("code")).unwrap_or_else(|| "unnamed substance".into());
    let snomed = code_in(r.get("code"), Some(SNOMED));
    let lower = substance.to_lowercase();
    let no_known = match snomed {
        Some("716186003") => Some(NoKnown::Any),
        Some("409137002") => Some(NoKnown::Drug),
        Some("428607008" | "429625007") => Some(NoKnown::Other),
        _ if lower.starts_with("no known drug") || lower == "nkda" => Some(NoKnown::Drug),
        _ if lower.starts_with("no known allerg") || lower == "nka" => Some(NoKnown::Any),
        _ if lower.starts_with("no known") => Some(NoKnown::Other),
        _ => None,
    };
    let reactions: Vec<String> = list(r, "reaction")
        .flat_map(|re| list(re, "manifestation").filter_map(|m| concept(Some(m))))
        .collect();
    let severity = list(r, "reaction")
        .find_map(|re| text(re, "severity"))
        .map(str::to_string);
    Allergy {
        id: text(r, "id").unwrap_or("").to_string(),
        uncoded: r
            .pointer("/code/coding")
            .and_then(Value::as_array)
            .is_none_or(|c| c.is_empty()),
        substance,
        rxnorm: code_in(
            r.get("code"),
            Some("http://www.nlm.nih.gov/research/umls/rxnorm"),
        )
        .map(str::to_string),
        reactions,
        severity,
        high_criticality: text(r, "criticality") == Some("high"),
        no_known,
        when: when(
            r,
            &[
                "recordedDate",
                "onsetDateTime",
                "onsetPeriod",
                "lastOccurrence",
            ],
        ),
    }
}

pub(super) fn allergy_entry(a: &Allergy, when: super::super::When, r: &Value) -> Entry {
    let mut summary = match a.no_known {
        Some(_) => a.substance.clone(),
        None => format!("Allergy: {}", a.substance),
    };
    if !a.reactions.is_empty() {
        summary.push_str(&format!(" - {}", a.reactions.join(", ")));
    }
    if a.high_criticality {
        summary.push_str(" (high criticality)");
    }
    let mut fields = vec![("Substance".into(), a.substance.clone())];
    push_opt(&mut fields, "Reaction", Some(a.reactions.join(", ")));
    push_opt(&mut fields, "Severity", a.severity.clone());
    push_opt(
        &mut fields,
        "Criticality",
        text(r, "criticality").map(str::to_string),
    );
    push_opt(
        &mut fields,
        "Category",
        first(r, "category")
            .and_then(Value::as_str)
            .map(str::to_string),
    );
    push_opt(
        &mut fields,
        "Clinical status",
        code_in(r.get("clinicalStatus"), None).map(str::to_string),
    );
    push_opt(
        &mut fields,
        "Verification",
        code_in(r.get("verificationStatus"), None).map(str::to_string),
    );
    push_codes(&mut fields, r.get("code"));
    Entry {
        kind: Kind::Allergy,
        when,
        summary,
        status: String::new(),
        detail: Detail::Fields(fields),
        active: false,
        refs: Vec::new(),
    }
}
