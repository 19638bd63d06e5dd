//! Allergies and problems as FHIR R4 resources: a new AllergyIntolerance or Condition from
//! what was entered (coded from the term lists, or text marked uncoded), "no known drug
//! allergies" as its own assertion, and the changes made to one already recorded (resolved,
//! entered in error with a reason: never a silent delete).

use serde_json::{Value, json};

use super::terms::{ICD10CM, RXNORM, SNOMED, Term};

/// A term picked from a list, or text that matched none (recorded uncoded).
#[derive(Debug, Clone, PartialEq)]
pub struct Coded {
    pub text: String,
    pub term: Option<Term>,
}

impl Coded {
    pub fn concept(&self) -> Value {
        match &self.term {
            Some(t) => json!({
                "coding": t.codes.iter().map(|(s, c)| json!({"system": s, "code": c, "display": t.name})).collect::<Vec<_>>(),
                "text": t.name,
            }),
            // No coding: the text alone says what was meant, and readers see it is uncoded.
            None => json!({"text": self.text}),
        }
    }

    pub fn uncoded(&self) -> bool {
        self.term.is_none()
    }
}

/// Who records, for whom, when.
#[derive(Debug, Clone)]
pub struct Context {
    pub patient_id: String,
    pub patient_name: String,
    pub encounter: Option<String>,
    /// The recorder, as a FHIR Reference.
    pub recorder: Value,
    /// Now, as a FHIR dateTime.
    pub now: String,
    /// This entry's id: it is the resource's identifier, so it is filed once however often
    /// it is sent.
    pub id: String,
}

/// The identifier system of what bedside records here.
pub const RECORD_SYSTEM: &str = "urn:bedside:record";

pub const ALLERGY_CATEGORIES: &[&str] = &["medication", "food", "environment", "biologic"];
pub const ALLERGY_TYPES: &[&str] = &["allergy", "intolerance"];
pub const SEVERITIES: &[&str] = &["mild", "moderate", "severe"];
pub const CRITICALITIES: &[&str] = &["low", "high", "unable-to-assess"];
pub const ALLERGY_VERIFICATION: &[&str] = &["unconfirmed", "confirmed"];
pub const CLINICAL_STATUS: &[&str] = &["active", "recurrence", "remission", "resolved"];
pub const PROBLEM_VERIFICATION: &[&str] =
    &["confirmed", "provisional", "differential", "unconfirmed"];
pub const PROBLEM_CATEGORIES: &[&str] = &["problem-list-item", "encounter-diagnosis"];

/// A date as a clinician types it: `2019`, `2019-04`, `2019-04-01`, not after `today`.
pub fn onset(text: &str, today: chrono::NaiveDate) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let date = match t.len() {
        4 => t
            .parse::<i32>()
            .ok()
            .and_then(|y| chrono::NaiveDate::from_ymd_opt(y, 1, 1)),
        7 => chrono::NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d").ok(),
        10 => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok(),
        _ => None,
    };
    match date {
        None => Err(format!(
            "onset \"{t}\" is not a date (2019, 2019-04 or 2019-04-01)"
        )),
        Some(d) if d > today => Err(format!("onset {t} is in the future")),
        Some(d) if d.year_ce().1 < 1850 => Err(format!("onset {t} is too long ago")),
        Some(_) => Ok(Some(t.to_string())),
    }
}

use chrono::Datelike;

fn status(system: &str, code: &str) -> Value {
    json!({"coding": [{"system": system, "code": code}], "text": code})
}

const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const ALLERGY_VERIFICATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CONDITION_VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";

/// What an allergy or intolerance entry says.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAllergy {
    pub substance: Coded,
    pub category: String,
    pub kind: String,
    pub reactions: Vec<Coded>,
    pub severity: Option<String>,
    pub criticality: String,
    pub verification: String,
    pub onset: Option<String>,
    pub note: Option<String>,
}

impl NewAllergy {
    pub fn resource(&self, ctx: &Context) -> Value {
        let mut r = json!({
            "resourceType": "AllergyIntolerance",
            "identifier": [{"system": RECORD_SYSTEM, "value": ctx.id}],
            "clinicalStatus": status(ALLERGY_CLINICAL, "active"),
            "verificationStatus": status(ALLERGY_VERIFICATION_SYSTEM, &self.verification),
            "type": self.kind,
            "category": [self.category],
            "criticality": self.criticality,
            "code": self.substance.concept(),
            "patient": {"reference": format!("Patient/{}", ctx.patient_id), "display": ctx.patient_name},
            "recordedDate": ctx.now,
            "recorder": ctx.recorder,
        });
        if let Some(e) = &ctx.encounter {
            r["encounter"] = json!({"reference": e});
        }
        if let Some(o) = &self.onset {
            r["onsetDateTime"] = json!(o);
        }
        if !self.reactions.is_empty() {
            let mut reaction = json!({
                "manifestation": self.reactions.iter().map(Coded::concept).collect::<Vec<_>>(),
            });
            if let Some(s) = &self.severity {
                reaction["severity"] = json!(s);
            }
            r["reaction"] = json!([reaction]);
        }
        let mut notes = Vec::new();
        if self.substance.uncoded() {
            notes.push(json!({"text": "Substance recorded as text: not coded"}));
        }
        if let Some(n) = &self.note {
            notes.push(json!({"text": n}));
        }
        if !notes.is_empty() {
            r["note"] = json!(notes);
        }
        r
    }
}

/// SNOMED CT: no known drug allergy.
pub const NKDA_CODE: &str = "409137002";

/// "No known drug allergies", asserted: an AllergyIntolerance of its own (SNOMED CT 409137002),
/// confirmed, which the banner shows as such.
pub fn no_known_drug_allergies(ctx: &Context) -> Value {
    let mut r = json!({
        "resourceType": "AllergyIntolerance",
        "identifier": [{"system": RECORD_SYSTEM, "value": ctx.id}],
        "clinicalStatus": status(ALLERGY_CLINICAL, "active"),
        "verificationStatus": status(ALLERGY_VERIFICATION_SYSTEM, "confirmed"),
        "code": {"coding": [{"system": SNOMED, "code": NKDA_CODE, "display": "No known drug allergy"}], "text": "No known drug allergies"},
        "patient": {"reference": format!("Patient/{}", ctx.patient_id), "display": ctx.patient_name},
        "recordedDate": ctx.now,
        "recorder": ctx.recorder,
    });
    if let Some(e) = &ctx.encounter {
        r["encounter"] = json!({"reference": e});
    }
    r
}

/// What a problem entry says.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProblem {
    pub condition: Coded,
    pub clinical: String,
    pub verification: String,
    pub category: String,
    pub onset: Option<String>,
    pub note: Option<String>,
}

impl NewProblem {
    pub fn resource(&self, ctx: &Context) -> Value {
        let category_display = if self.category == "encounter-diagnosis" {
            "Encounter Diagnosis"
        } else {
            "Problem List Item"
        };
        let mut r = json!({
            "resourceType": "Condition",
            "identifier": [{"system": RECORD_SYSTEM, "value": ctx.id}],
            "clinicalStatus": status(CONDITION_CLINICAL, &self.clinical),
            "verificationStatus": status(CONDITION_VERIFICATION, &self.verification),
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": self.category, "display": category_display}]}],
            "code": self.condition.concept(),
            "subject": {"reference": format!("Patient/{}", ctx.patient_id), "display": ctx.patient_name},
            "recordedDate": ctx.now,
            "recorder": ctx.recorder,
        });
        if let Some(e) = &ctx.encounter {
            r["encounter"] = json!({"reference": e});
        }
        // Without an onset, the day it was recorded dates it on the timeline.
        r["onsetDateTime"] = json!(self.onset.clone().unwrap_or_else(|| ctx.now.clone()));
        if self.clinical == "resolved" {
            r["abatementDateTime"] = json!(ctx.now);
        }
        let mut notes = Vec::new();
        if self.condition.uncoded() {
            notes.push(json!({"text": "Problem recorded as text: not coded"}));
        }
        if let Some(n) = &self.note {
            notes.push(json!({"text": n}));
        }
        if !notes.is_empty() {
            r["note"] = json!(notes);
        }
        r
    }
}

/// What to do with an entry already recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Recorded by mistake (wrong patient, wrong substance): the reason is kept with it.
    EnteredInError { reason: String },
    /// A problem that has resolved.
    Resolved,
}

impl Change {
    pub fn words(&self) -> &'static str {
        match self {
            Change::EnteredInError { .. } => "marked entered in error",
            Change::Resolved => "resolved",
        }
    }
}

/// `current` (an AllergyIntolerance or a Condition as the server holds it) with `change`
/// made: the update to send with `If-Match` on its version. `None` when the change does not
/// apply to this resource type.
pub fn changed(current: &Value, change: &Change, who: &str, now: &str) -> Option<Value> {
    let rtype = current.get("resourceType").and_then(Value::as_str)?;
    let mut r = current.clone();
    let (clinical_system, verification_system) = match rtype {
        "AllergyIntolerance" => (ALLERGY_CLINICAL, ALLERGY_VERIFICATION_SYSTEM),
        "Condition" => (CONDITION_CLINICAL, CONDITION_VERIFICATION),
        _ => return None,
    };
    let note = match change {
        Change::EnteredInError { reason } => {
            r["verificationStatus"] = status(verification_system, "entered-in-error");
            // A Condition entered in error keeps no clinical status (R4 con-5); an allergy's
            // is left as it was.
            if rtype == "Condition"
                && let Some(obj) = r.as_object_mut()
            {
                obj.remove("clinicalStatus");
            }
            format!("Entered in error by {who} at {now}: {reason}")
        }
        Change::Resolved => {
            if rtype != "Condition" {
                return None;
            }
            r["clinicalStatus"] = status(clinical_system, "resolved");
            r["abatementDateTime"] = json!(now);
            format!("Resolved, recorded by {who} at {now}")
        }
    };
    let notes = r
        .get_mut("note")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    let mut notes = notes;
    notes.push(json!({"text": note}));
    r["note"] = json!(notes);
    Some(r)
}

/// The entry form's fields (by label) as an AllergyIntolerance or a Condition holds them, to
/// edit it. The note starts empty: a note typed is added to those it has.
pub fn form_values(resource: &Value) -> Vec<(&'static str, String)> {
    let code = |key: &str| {
        resource[key]["coding"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let onset = resource["onsetDateTime"]
        .as_str()
        .map(|d| d.chars().take(10).collect())
        .unwrap_or_default();
    match resource["resourceType"].as_str() {
        Some("AllergyIntolerance") => {
            let reactions: Vec<String> = resource["reaction"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["manifestation"].as_array().into_iter().flatten())
                .map(super::concept_words)
                .filter(|w| !w.is_empty())
                .collect();
            vec![
                ("substance", super::concept_words(&resource["code"])),
                (
                    "category",
                    resource["category"][0].as_str().unwrap_or_default().into(),
                ),
                ("type", resource["type"].as_str().unwrap_or_default().into()),
                ("reactions", reactions.join(", ")),
                (
                    "severity",
                    resource["reaction"][0]["severity"]
                        .as_str()
                        .unwrap_or_default()
                        .into(),
                ),
                (
                    "criticality",
                    resource["criticality"].as_str().unwrap_or_default().into(),
                ),
                ("verification", code("verificationStatus")),
                ("onset", onset),
                ("note", String::new()),
            ]
        }
        Some("Condition") => vec![
            ("problem", super::concept_words(&resource["code"])),
            ("status", code("clinicalStatus")),
            ("verification", code("verificationStatus")),
            (
                "category",
                resource["category"][0]["coding"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
            ),
            ("onset", onset),
            ("note", String::new()),
        ],
        _ => Vec::new(),
    }
}

/// The elements of an entry the form edits; the rest (identifier, patient, recorder, when it
/// was recorded, other notes and extensions) is kept from the version edited.
const EDITED: &[&str] = &[
    "code",
    "category",
    "type",
    "reaction",
    "criticality",
    "clinicalStatus",
    "verificationStatus",
    "onsetDateTime",
    "onsetString",
    "onsetAge",
    "onsetPeriod",
    "onsetRange",
];

/// `current` (the version the form was filled from) with what the form now says (`new`, built
/// as a new entry would be) in place of the elements the form edits; the form's note, if any,
/// added to the notes with who edited it and when. `None` when the two are not the same kind.
pub fn edited(current: &Value, new: &Value, who: &str, now: &str) -> Option<Value> {
    if current["resourceType"] != new["resourceType"] || !current.is_object() {
        return None;
    }
    let mut r = current.clone();
    let (Some(out), Some(from)) = (r.as_object_mut(), new.as_object()) else {
        return None;
    };
    for key in EDITED {
        out.remove(*key);
        if let Some(v) = from.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    let typed = from["note"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["text"].as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let text = if typed.is_empty() {
        format!("Edited by {who} at {now}")
    } else {
        format!("Edited by {who} at {now}: {typed}")
    };
    let mut notes = match out.remove("note") {
        Some(Value::Array(notes)) => notes,
        _ => Vec::new(),
    };
    notes.push(json!({"text": text}));
    out.insert("note".into(), Value::Array(notes));
    Some(r)
}

/// A one-entry transaction creating `resource` once (a conditional create on its identifier):
/// what the outbox keeps and sends.
pub fn create_once(resource: &Value) -> Value {
    let rtype = resource["resourceType"].as_str().unwrap_or_default();
    let id = resource
        .pointer("/identifier/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "resource": resource,
        "request": {"method": "POST", "url": rtype, "ifNoneExist": format!("identifier={RECORD_SYSTEM}|{id}")},
    }]})
}

/// The RxNorm or SNOMED CT code a term carries, for lists.
pub fn main_code(term: &Term) -> Option<(&str, &str)> {
    term.codes
        .iter()
        .find(|(s, _)| s == RXNORM || s == SNOMED || s == ICD10CM)
        .map(|(s, c)| (s.as_str(), c.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            patient_id: "p1".into(),
            patient_name: "SMITH, Ann".into(),
            encounter: None,
            recorder: json!({"reference": "Practitioner/d1", "display": "Dr One"}),
            now: "2026-12-01T10:00:00Z".into(),
            id: "e1".into(),
        }
    }

    fn peanut() -> Term {
        Term {
            name: "peanut".into(),
            codes: vec![(SNOMED.into(), "256349002".into())],
            category: "food".into(),
            also: Vec::new(),
        }
    }

    #[test]
    fn an_allergy_coded_and_uncoded() {
        let a = NewAllergy {
            substance: Coded {
                text: "peanut".into(),
                term: Some(peanut()),
            },
            category: "food".into(),
            kind: "allergy".into(),
            reactions: vec![Coded {
                text: "lip tingling".into(),
                term: None,
            }],
            severity: Some("moderate".into()),
            criticality: "high".into(),
            verification: "confirmed".into(),
            onset: Some("2019-04".into()),
            note: None,
        };
        let r = a.resource(&ctx());
        assert_eq!(r["code"]["coding"][0]["code"], "256349002");
        assert_eq!(r["patient"]["reference"], "Patient/p1");
        assert_eq!(r["criticality"], "high");
        assert_eq!(r["category"][0], "food");
        assert_eq!(r["onsetDateTime"], "2019-04");
        assert_eq!(
            r["reaction"][0]["manifestation"][0],
            json!({"text": "lip tingling"})
        );
        assert_eq!(r["reaction"][0]["severity"], "moderate");
        assert_eq!(r["verificationStatus"]["coding"][0]["code"], "confirmed");
        assert!(r.get("note").is_none());
        let uncoded = NewAllergy {
            substance: Coded {
                text: "hair dye".into(),
                term: None,
            },
            ..a
        };
        let r = uncoded.resource(&ctx());
        assert_eq!(r["code"], json!({"text": "hair dye"}));
        assert_eq!(
            r["note"][0]["text"],
            "Substance recorded as text: not coded"
        );
        let n = no_known_drug_allergies(&ctx());
        assert_eq!(n["code"]["coding"][0]["code"], "409137002");
    }

    #[test]
    fn a_problem_and_its_changes() {
        let p = NewProblem {
            condition: Coded {
                text: "Asthma".into(),
                term: Some(Term {
                    name: "Asthma".into(),
                    codes: vec![
                        (SNOMED.into(), "195967001".into()),
                        (ICD10CM.into(), "J45.909".into()),
                    ],
                    category: "condition".into(),
                    also: Vec::new(),
                }),
            },
            clinical: "active".into(),
            verification: "confirmed".into(),
            category: "problem-list-item".into(),
            onset: None,
            note: Some("childhood onset".into()),
        };
        let mut r = p.resource(&ctx());
        assert_eq!(r["code"]["coding"][1]["code"], "J45.909");
        assert_eq!(r["category"][0]["coding"][0]["code"], "problem-list-item");
        assert_eq!(r["onsetDateTime"], "2026-12-01T10:00:00Z");
        r["id"] = json!("c9");
        let resolved = changed(&r, &Change::Resolved, "Dr One", "2026-12-02T09:00:00Z").unwrap();
        assert_eq!(resolved["clinicalStatus"]["coding"][0]["code"], "resolved");
        assert_eq!(resolved["abatementDateTime"], "2026-12-02T09:00:00Z");
        assert_eq!(resolved["id"], "c9");
        assert_eq!(resolved["note"][0]["text"], "childhood onset");
        let eie = changed(
            &r,
            &Change::EnteredInError {
                reason: "wrong patient".into(),
            },
            "Dr One",
            "2026-12-02T09:00:00Z",
        )
        .unwrap();
        assert_eq!(
            eie["verificationStatus"]["coding"][0]["code"],
            "entered-in-error"
        );
        assert!(eie.get("clinicalStatus").is_none());
        assert!(
            eie["note"][1]["text"]
                .as_str()
                .unwrap()
                .ends_with("wrong patient")
        );
        // Allergies do not resolve; a Patient is not changed here.
        let a = no_known_drug_allergies(&ctx());
        assert!(changed(&a, &Change::Resolved, "x", "y").is_none());
        assert!(
            changed(
                &json!({"resourceType": "Patient"}),
                &Change::Resolved,
                "x",
                "y"
            )
            .is_none()
        );
    }

    #[test]
    fn onsets_as_typed() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(onset("", today), Ok(None));
        assert_eq!(onset("2019", today), Ok(Some("2019".into())));
        assert_eq!(onset("2019-04", today), Ok(Some("2019-04".into())));
        assert_eq!(onset("2019-04-30", today), Ok(Some("2019-04-30".into())));
        assert!(onset("2019-02-30", today).is_err());
        assert!(onset("2027-01-01", today).unwrap_err().contains("future"));
        assert!(
            onset("last year", today)
                .unwrap_err()
                .contains("not a date")
        );
    }

    #[test]
    fn an_edit_replaces_what_the_form_holds_and_keeps_the_rest() {
        let current = json!({"resourceType": "AllergyIntolerance", "id": "a1",
            "identifier": [{"system": RECORD_SYSTEM, "value": "x"}],
            "patient": {"reference": "Patient/p"}, "recorder": {"display": "Dr A"},
            "recordedDate": "2020-01-01",
            "code": {"text": "penicillin"}, "category": ["medication"], "type": "allergy",
            "criticality": "low", "onsetString": "childhood",
            "verificationStatus": status(ALLERGY_VERIFICATION_SYSTEM, "unconfirmed"),
            "note": [{"text": "from the GP letter"}]});
        let values = form_values(&current);
        assert!(values.contains(&("substance", "penicillin".into())));
        assert!(values.contains(&("verification", "unconfirmed".into())));
        let new = json!({"resourceType": "AllergyIntolerance", "identifier": [{"value": "new"}],
            "code": {"text": "amoxicillin"}, "category": ["medication"], "type": "allergy",
            "criticality": "high", "onsetDateTime": "2019",
            "verificationStatus": status(ALLERGY_VERIFICATION_SYSTEM, "confirmed"),
            "recorder": {"display": "Dr B"}, "note": [{"text": "rash on amoxicillin"}]});
        let e = edited(&current, &new, "Dr B", "2026-12-02T10:00:00Z").unwrap();
        assert_eq!(e["code"]["text"], "amoxicillin");
        assert_eq!(e["criticality"], "high");
        assert!(e.get("onsetString").is_none());
        assert_eq!(e["onsetDateTime"], "2019");
        assert_eq!(e["identifier"], current["identifier"], "the same entry");
        assert_eq!(e["recorder"], current["recorder"]);
        assert_eq!(e["note"][0]["text"], "from the GP letter");
        assert_eq!(
            e["note"][1]["text"],
            "Edited by Dr B at 2026-12-02T10:00:00Z: rash on amoxicillin"
        );
        let condition = json!({"resourceType": "Condition"});
        assert!(edited(&current, &condition, "x", "y").is_none());
    }
}
