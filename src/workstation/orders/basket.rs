//! The order basket: orders being composed, their fields checked in place, and the one FHIR
//! transaction that signs them all or none (ServiceRequest for tests, MedicationRequest for
//! medications, a DetectedIssue for every overridden alert, linked from its order).

use serde_json::{Value, json};

use super::catalog::{Entry, Kind};
use super::checks::{Alert, Proposed};

const LOINC: &str = "http://loinc.org";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const SNOMED: &str = "http://snomed.info/sct";

#[derive(Debug, Clone, PartialEq)]
pub struct MedicationFields {
    pub dose: String,
    pub unit: String,
    pub route: String,
    pub frequency: String,
    /// Days; empty for no set duration.
    pub duration_days: String,
    pub as_needed: bool,
    pub indication: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestFields {
    /// routine, urgent or stat.
    pub priority: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fields {
    Medication(MedicationFields),
    Test(TestFields),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: Kind,
    pub code: String,
    pub name: String,
    pub fields: Fields,
    /// Why each high-severity alert on this order was overridden (alert text, reason).
    pub overrides: Vec<(Alert, String)>,
}

/// A field that must be fixed before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub field: &'static str,
    pub message: String,
}

pub const PRIORITIES: &[&str] = &["routine", "urgent", "stat"];
pub const ROUTES: &[&str] = &[
    "oral",
    "intravenous",
    "intramuscular",
    "subcutaneous",
    "sublingual",
    "inhaled",
    "topical",
    "rectal",
];

/// Override reasons offered first (any text may be typed instead).
pub const OVERRIDE_REASONS: &[&str] = &[
    "Benefit outweighs risk; will monitor",
    "Patient has tolerated this before",
    "Allergy history is wrong (to be corrected)",
    "Specialist advice",
];

impl Item {
    /// A new basket item with the catalog's usual dose (medications) or a routine priority.
    pub fn new(entry: &Entry, defaults: Option<&super::knowledge::Medication>) -> Item {
        let fields = match entry.kind {
            Kind::Medication => Fields::Medication(MedicationFields {
                dose: defaults
                    .and_then(|m| m.dose)
                    .map(crate::workstation::chart::value::short_number)
                    .unwrap_or_default(),
                unit: defaults.and_then(|m| m.unit.clone()).unwrap_or_default(),
                route: defaults.and_then(|m| m.route.clone()).unwrap_or_default(),
                frequency: defaults
                    .and_then(|m| m.frequency.clone())
                    .unwrap_or_default(),
                duration_days: String::new(),
                as_needed: defaults
                    .and_then(|m| m.frequency.as_deref())
                    .is_some_and(|f| f.contains("as needed")),
                indication: String::new(),
            }),
            Kind::Lab | Kind::Imaging => Fields::Test(TestFields {
                priority: "routine".into(),
                reason: String::new(),
            }),
        };
        Item {
            kind: entry.kind,
            code: entry.code.clone(),
            name: entry.name.clone(),
            fields,
            overrides: Vec::new(),
        }
    }

    /// What the checks see of this order.
    pub fn proposed(&self) -> Proposed {
        match self.kind {
            Kind::Medication => Proposed::Medication {
                rxnorm: self.code.clone(),
                name: self.name.clone(),
            },
            Kind::Lab | Kind::Imaging => Proposed::Test {
                loinc: self.code.clone(),
                name: self.name.clone(),
            },
        }
    }

    /// Missing or malformed fields, each with the field it is about.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut need = |field: &'static str, ok: bool, message: &str| {
            if !ok {
                out.push(Problem {
                    field,
                    message: message.to_string(),
                });
            }
        };
        match &self.fields {
            Fields::Medication(m) => {
                let dose = m.dose.trim().parse::<f64>();
                need(
                    "dose",
                    dose.as_ref().is_ok_and(|d| *d > 0.0 && d.is_finite()),
                    "a dose above zero, as a number (e.g. 500 or 0.5)",
                );
                need(
                    "unit",
                    !m.unit.trim().is_empty(),
                    "a unit (mg, g, mcg, [IU]...)",
                );
                need(
                    "route",
                    ROUTES.contains(&m.route.trim()),
                    "a route: oral, intravenous, intramuscular, subcutaneous, sublingual, inhaled, topical or rectal",
                );
                need(
                    "frequency",
                    !m.frequency.trim().is_empty(),
                    "how often (e.g. twice daily)",
                );
                need(
                    "duration",
                    m.duration_days.trim().is_empty()
                        || m.duration_days.trim().parse::<u32>().is_ok_and(|d| d > 0),
                    "a duration in whole days, or empty",
                );
                need(
                    "indication",
                    !m.indication.trim().is_empty(),
                    "an indication (what it is for)",
                );
            }
            Fields::Test(t) => {
                need(
                    "priority",
                    PRIORITIES.contains(&t.priority.trim()),
                    "a priority: routine, urgent or stat",
                );
                need(
                    "reason",
                    !t.reason.trim().is_empty(),
                    "a reason for the test",
                );
            }
        }
        out
    }
}

/// The items of an order set, with the set's defaults filled in; codes the catalog does not
/// have are skipped (the catalog reports them when it loads).
pub fn expand_set(
    set: &super::catalog::OrderSet,
    catalog: &super::catalog::Catalog,
    knowledge: &super::knowledge::Knowledge,
) -> Vec<Item> {
    set.items
        .iter()
        .filter_map(|s| {
            let entry = catalog.by_code(&s.code)?;
            let mut item = Item::new(entry, knowledge.medication(&entry.code));
            match &mut item.fields {
                Fields::Medication(m) => {
                    if let Some(dose) = s.dose {
                        m.dose = crate::workstation::chart::value::short_number(dose);
                    }
                    if let Some(f) = &s.frequency {
                        m.frequency = f.clone();
                    }
                    if let Some(i) = &s.indication {
                        m.indication = i.clone();
                    }
                }
                Fields::Test(t) => {
                    if let Some(p) = &s.priority {
                        t.priority = p.clone();
                    }
                    if let Some(r) = &s.reason {
                        t.reason = r.clone();
                    }
                }
            }
            Some(item)
        })
        .collect()
}

/// Who and what the signed orders are about.
#[derive(Debug, Clone)]
pub struct Context {
    pub patient_id: String,
    pub patient_name: String,
    pub encounter: Option<String>,
    /// A Reference to the ordering clinician.
    pub requester: Value,
    /// `authoredOn`, an instant.
    pub now: String,
    /// The orderer may not sign medication orders (a nurse): they are filed as drafts for a
    /// physician's co-signature.
    pub cosign: bool,
}

/// The DetectedIssue code of an alert kind, from v3-ActCode (the codes FHIR R4's
/// detectedissue-category value set names), with its words.
fn issue_code(kind: super::checks::AlertKind) -> Value {
    use super::checks::AlertKind;
    let coded = |code: &str, display: &str, text: &str| {
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                           "code": code, "display": display}], "text": text})
    };
    match kind {
        AlertKind::DrugAllergy => coded("ALGY", "Allergy Alert", "drug-allergy"),
        AlertKind::CrossSensitivity => coded("ALGY", "Allergy Alert", "cross-sensitivity"),
        AlertKind::DrugDrug => coded("DRG", "Drug Interaction Alert", "drug-drug interaction"),
        AlertKind::DuplicateTherapy => {
            coded("DUPTHPY", "Duplicate Therapy Alert", "duplicate therapy")
        }
        AlertKind::DuplicateTest => json!({"text": "duplicate test"}),
        AlertKind::NoAllergyAssessment => json!({"text": "no allergy assessment recorded"}),
    }
}

/// Looks like an absolute URI (`https://...`, `urn:...`).
fn is_uri(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.is_empty()
            && !s.contains(char::is_whitespace)
    })
}

/// The transaction Bundle that files the basket: all of it or none of it.
pub fn transaction(items: &[Item], ctx: &Context) -> Value {
    let mut entries = Vec::new();
    for item in items {
        let order_url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let mut issue_refs = Vec::new();
        for (alert, reason) in &item.overrides {
            let issue_url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
            issue_refs.push(json!({"reference": issue_url}));
            let mut detail = format!("{} - {}", alert.what, alert.why);
            if let Some(source) = &alert.source {
                detail.push_str(&format!(" Source: {source}"));
            }
            let mut issue = json!({
                    "resourceType": "DetectedIssue",
                    "status": "final",
                    "severity": match alert.severity {
                        super::knowledge::Severity::High => "high",
                        super::knowledge::Severity::Moderate => "moderate",
                        super::knowledge::Severity::Low => "low",
                    },
                    "code": issue_code(alert.kind),
                    "patient": {"reference": format!("Patient/{}", ctx.patient_id)},
                    "identifiedDateTime": ctx.now,
                    "author": ctx.requester,
                    "implicated": [{"reference": order_url}],
                    "detail": detail,
                    "mitigation": [{
                        "action": {"text": format!("Overridden: {reason}")},
                        "date": ctx.now,
                        "author": ctx.requester,
                    }],
            });
            // `reference` is a uri: only a source that is one goes there (a citation is in
            // the detail's words); never a null, which FHIR JSON does not allow.
            if let Some(uri) = alert.source.as_deref().filter(|s| is_uri(s)) {
                issue["reference"] = json!(uri);
            }
            entries.push(json!({
                "fullUrl": issue_url,
                "resource": issue,
                "request": {"method": "POST", "url": "DetectedIssue"},
            }));
        }
        let subject = json!({"reference": format!("Patient/{}", ctx.patient_id), "display": ctx.patient_name});
        let mut order = match &item.fields {
            Fields::Medication(m) => {
                let mut dosage = json!({
                    "text": format!("{} {} {} {}", m.dose.trim(), m.unit.trim(), m.route.trim(), m.frequency.trim()),
                    "route": {"text": m.route.trim()},
                    "doseAndRate": [{"doseQuantity": {"value": m.dose.trim().parse::<f64>().unwrap_or(0.0), "unit": m.unit.trim()}}],
                    "timing": {"code": {"text": m.frequency.trim()}},
                });
                if m.as_needed {
                    dosage["asNeededBoolean"] = json!(true);
                }
                let mut r = json!({
                    "resourceType": "MedicationRequest",
                    "status": if ctx.cosign { "draft" } else { "active" },
                    "intent": "order",
                    "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": item.code, "display": item.name}], "text": item.name},
                    "subject": subject,
                    "authoredOn": ctx.now,
                    "requester": ctx.requester,
                    "reasonCode": [{"text": m.indication.trim()}],
                    "dosageInstruction": [dosage],
                });
                if let Ok(days) = m.duration_days.trim().parse::<u32>() {
                    r["dispenseRequest"] = json!({"expectedSupplyDuration": {"value": days, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}});
                }
                if !issue_refs.is_empty() {
                    r["detectedIssue"] = json!(issue_refs);
                }
                // A nurse's draft says who entered it, to be found once co-signed.
                if ctx.cosign
                    && let Some(tag) = crate::workstation::work::entered_by_tag(&ctx.requester)
                {
                    r["meta"] = json!({"tag": [tag]});
                }
                r
            }
            Fields::Test(t) => {
                let category = match item.kind {
                    Kind::Imaging => {
                        json!([{"coding": [{"system": SNOMED, "code": "363679005", "display": "Imaging"}]}])
                    }
                    _ => {
                        json!([{"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}])
                    }
                };
                let mut r = json!({
                    "resourceType": "ServiceRequest",
                    "status": "active",
                    "intent": "order",
                    "priority": t.priority.trim(),
                    "category": category,
                    "code": {"coding": [{"system": LOINC, "code": item.code, "display": item.name}], "text": item.name},
                    "subject": subject,
                    "authoredOn": ctx.now,
                    "requester": ctx.requester,
                    "reasonCode": [{"text": t.reason.trim()}],
                });
                // ServiceRequest has no detectedIssue element: overrides ride in supportingInfo.
                if !issue_refs.is_empty() {
                    r["supportingInfo"] = json!(issue_refs);
                }
                r
            }
        };
        if let Some(encounter) = &ctx.encounter {
            order["encounter"] = json!({"reference": encounter});
        }
        let rtype = order["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        entries.push(json!({
            "fullUrl": order_url,
            "resource": order,
            "request": {"method": "POST", "url": rtype},
        }));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// The update that discontinues an active order (sent with `If-Match` on its version).
pub fn discontinued(mut order: Value, reason: &str) -> Value {
    let stopped = match order.get("resourceType").and_then(Value::as_str) {
        Some("MedicationRequest") => "stopped",
        _ => "revoked",
    };
    order["status"] = json!(stopped);
    order["statusReason"] = json!({"text": reason});
    if let Some(obj) = order.as_object_mut() {
        obj.remove("meta");
    }
    order
}

#[cfg(test)]
mod tests;
