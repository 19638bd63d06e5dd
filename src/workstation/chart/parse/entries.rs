//! Every other dated item: allergies, encounters, medications, problems, notes, procedures,
//! immunizations, orders, and any other resource with a date.

use base64::Engine;
use serde_json::Value;

use super::super::value::{code_in, concept, first, number, reference_text, text, when};
use super::super::{Chart, Detail, Entry, Kind};
use super::ICD10CM;
use super::observation::join_unit;
use super::{push_codes, push_opt};

/// The medication's name: its concept, else the referenced Medication's name.
pub(super) fn medication_name(chart: &Chart, r: &Value) -> String {
    concept(r.get("medicationCodeableConcept"))
        .or_else(|| {
            let reference = r.get("medicationReference")?;
            text(reference, "reference")
                .and_then(|x| chart.names.get(x).cloned())
                .or_else(|| text(reference, "display").map(str::to_string))
        })
        .unwrap_or_else(|| "medication".into())
}

pub(super) fn dosage_text(d: &Value) -> Option<String> {
    if let Some(t) = text(d, "text") {
        return Some(t.to_string());
    }
    let dose = first(d, "doseAndRate")
        .and_then(|x| x.get("doseQuantity"))
        .and_then(|q| {
            Some(join_unit(
                &number(q.get("value"))?.1,
                text(q, "unit").unwrap_or(""),
            ))
        });
    let route = concept(d.get("route"));
    let timing = d.get("timing").and_then(timing_text);
    let prn = (d.get("asNeededBoolean").and_then(Value::as_bool) == Some(true))
        .then(|| "as needed".to_string())
        .or_else(|| {
            concept(d.get("asNeededCodeableConcept")).map(|c| format!("as needed for {c}"))
        });
    let parts: Vec<String> = [dose, route, timing, prn].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// How often: the timing's code in words, else its repeat (`3 times a day`, `every 8 h`).
fn timing_text(t: &Value) -> Option<String> {
    if let Some(c) = concept(t.get("code")) {
        return Some(c);
    }
    let r = t.get("repeat")?;
    let frequency = r.get("frequency").and_then(Value::as_u64).unwrap_or(1);
    let period = r.get("period").and_then(Value::as_f64)?;
    let unit = match text(r, "periodUnit")? {
        "s" => "s",
        "min" => "min",
        "h" => "h",
        "d" => "day",
        "wk" => "week",
        "mo" => "month",
        "a" => "year",
        _ => return None,
    };
    let period = if period.fract() == 0.0 {
        format!("{}", period as i64)
    } else {
        period.to_string()
    };
    Some(match (frequency, period.as_str()) {
        (1, "1") => format!("every {unit}"),
        (1, p) => format!("every {p} {unit}"),
        (2, "1") => format!("twice a {unit}"),
        (n, "1") => format!("{n} times a {unit}"),
        (n, p) => format!("{n} times every {p} {unit}"),
    })
}

/// Everything but Observations, reports, allergies and encounters. Some resources make two
/// items (a medication started and stopped; a problem and its resolution).
pub(super) fn entry(chart: &Chart, rtype: &str, r: &Value) -> Option<Vec<Entry>> {
    let status = text(r, "status").unwrap_or("").to_string();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    match rtype {
        "MedicationRequest" | "MedicationStatement" | "MedicationAdministration" => {
            let name = medication_name(chart, r);
            let dosage = first(r, "dosageInstruction")
                .or_else(|| first(r, "dosage"))
                .and_then(dosage_text);
            let started = when(
                r,
                &[
                    "authoredOn",
                    "effectiveDateTime",
                    "effectivePeriod",
                    "dateAsserted",
                ],
            )?;
            // A draft is a pending order: listed (marked DRAFT) and checked against.
            let active = matches!(status.as_str(), "active" | "on-hold" | "intended" | "draft")
                && r.get("intent").and_then(Value::as_str) != Some("plan")
                && rtype != "MedicationAdministration";
            fields.push(("Medication".into(), name.clone()));
            push_opt(&mut fields, "Dose", dosage.clone());
            fields.push(("Status".into(), status.clone()));
            push_opt(&mut fields, "Intent", text(r, "intent").map(str::to_string));
            push_opt(
                &mut fields,
                "Started",
                text(r, "authoredOn").map(str::to_string),
            );
            push_opt(&mut fields, "Reason", concept(first(r, "reasonCode")));
            push_opt(
                &mut fields,
                "Prescriber",
                reference_text(r.get("requester")),
            );
            push_opt(
                &mut fields,
                "Stopped because",
                concept(r.get("statusReason")),
            );
            push_codes(&mut fields, r.get("medicationCodeableConcept"));
            let verb = if rtype == "MedicationAdministration" {
                "Given"
            } else {
                "Started"
            };
            let what = match &dosage {
                Some(d) if d.to_lowercase().starts_with(&name.to_lowercase()) => d.clone(),
                Some(d) => format!("{name} - {d}"),
                None => name.clone(),
            };
            let mut summary = match super::super::state_mark(&status) {
                Some(mark) => format!("{mark}: {what}"),
                None => format!("{verb} {what}"),
            };
            let stopped = matches!(status.as_str(), "stopped" | "completed" | "cancelled");
            if stopped && rtype != "MedicationAdministration" {
                summary.push_str(&format!(" ({status})"));
            }
            let end = r
                .pointer("/dispenseRequest/validityPeriod/end")
                .or_else(|| r.pointer("/effectivePeriod/end"))
                .and_then(Value::as_str)
                .and_then(super::super::When::parse);
            if let (true, Some(end)) = (stopped, end) {
                out.push(Entry {
                    kind: Kind::Medication,
                    when: end,
                    summary: format!("Stopped {name}"),
                    status: status.clone(),
                    detail: Detail::Fields(fields.clone()),
                    active: false,
                    refs: Vec::new(),
                });
            }
            out.push(Entry {
                kind: Kind::Medication,
                when: started,
                summary,
                status,
                detail: Detail::Fields(fields),
                active,
                refs: Vec::new(),
            });
        }
        "Condition" => {
            let name = concept(r.get("code")).unwrap_or_else(|| "Problem".into());
            let clinical = code_in(r.get("clinicalStatus"), None)
                .unwrap_or("")
                .to_string();
            let verification = code_in(r.get("verificationStatus"), None).unwrap_or("");
            let onset = when(r, &["onsetDateTime", "onsetPeriod", "recordedDate"]);
            let icd = code_in(r.get("code"), Some(ICD10CM));
            fields.push(("Problem".into(), name.clone()));
            push_opt(&mut fields, "Clinical status", Some(clinical.clone()));
            push_opt(&mut fields, "Verification", Some(verification.to_string()));
            push_opt(
                &mut fields,
                "Onset",
                text(r, "onsetDateTime").map(str::to_string),
            );
            push_opt(
                &mut fields,
                "Recorded",
                text(r, "recordedDate").map(str::to_string),
            );
            push_opt(
                &mut fields,
                "Resolved",
                text(r, "abatementDateTime").map(str::to_string),
            );
            push_opt(&mut fields, "Severity", concept(r.get("severity")));
            push_codes(&mut fields, r.get("code"));
            let active = matches!(clinical.as_str(), "active" | "recurrence" | "relapse")
                && verification != "entered-in-error"
                && verification != "refuted";
            if let Some(resolved) = when(r, &["abatementDateTime", "abatementPeriod"]) {
                out.push(Entry {
                    kind: Kind::Problem,
                    when: resolved,
                    summary: format!("Resolved: {name}"),
                    status: clinical.clone(),
                    detail: Detail::Fields(fields.clone()),
                    active: false,
                    refs: Vec::new(),
                });
            }
            let mut summary = name.clone();
            if let Some(icd) = icd {
                summary.push_str(&format!(" [{icd}]"));
            }
            if !clinical.is_empty() {
                summary.push_str(&format!(" - {clinical}"));
            }
            out.push(Entry {
                kind: Kind::Problem,
                when: onset?,
                summary,
                status: clinical,
                detail: Detail::Fields(fields),
                active,
                refs: Vec::new(),
            });
        }
        "DocumentReference" => {
            let title = concept(r.get("type"))
                .or_else(|| text(r, "description").map(str::to_string))
                .unwrap_or_else(|| "Document".into());
            let doc_status = text(r, "docStatus").unwrap_or("").to_string();
            let date = when(r, &["date"])
                .or_else(|| r.get("context").and_then(|c| when(c, &["period"])))?;
            let author = first(r, "author").and_then(|a| reference_text(Some(a)));
            let attachment = first(r, "content").and_then(|c| c.get("attachment"));
            let body = attachment
                .map(attachment_text)
                .unwrap_or_else(|| "(no content)".into());
            fields.push(("Title".into(), title.clone()));
            push_opt(&mut fields, "Author", author.clone());
            push_opt(&mut fields, "Date", text(r, "date").map(str::to_string));
            push_opt(
                &mut fields,
                "Status",
                Some(match doc_status.as_str() {
                    "" => status.clone(),
                    d => format!("{status}, {d}"),
                }),
            );
            let mut summary = title;
            if doc_status == "preliminary" {
                summary.push_str(" [PRELIMINARY]");
            }
            if status == "entered-in-error" {
                summary.push_str(" [ENTERED IN ERROR]");
            }
            out.push(Entry {
                kind: Kind::Note,
                when: date,
                summary,
                status,
                detail: Detail::Note { fields, text: body },
                active: false,
                refs: author.into_iter().collect(),
            });
        }
        _ => {
            let (kind, keys): (Kind, &[&str]) = match rtype {
                "Procedure" => (Kind::Procedure, &["performedDateTime", "performedPeriod"]),
                "Immunization" => (Kind::Immunization, &["occurrenceDateTime", "recorded"]),
                "ServiceRequest" => (Kind::Order, &["authoredOn", "occurrenceDateTime"]),
                "Composition" => (Kind::Note, &["date"]),
                _ => (
                    Kind::Other,
                    &[
                        "effectiveDateTime",
                        "effectivePeriod",
                        "occurrenceDateTime",
                        "performedDateTime",
                        "authoredOn",
                        "date",
                        "issued",
                        "recorded",
                        "created",
                        "period",
                    ],
                ),
            };
            let date = when(r, keys)?;
            let name = concept(r.get("code"))
                .or_else(|| concept(r.get("vaccineCode")))
                .or_else(|| text(r, "title").map(str::to_string))
                .or_else(|| text(r, "description").map(str::to_string))
                .unwrap_or_else(|| rtype.to_string());
            let mut summary = if kind == Kind::Other {
                format!("{rtype}: {name}")
            } else {
                name.clone()
            };
            let mark = super::super::state_mark(&status);
            if let Some(mark) = mark {
                summary = format!("{mark}: {summary}");
            }
            if kind == Kind::Order {
                let priority = text(r, "priority").unwrap_or("routine");
                match mark {
                    Some(_) => summary.push_str(&format!(" - {priority}")),
                    None => summary.push_str(&format!(" - {status}, {priority}")),
                }
            } else if mark.is_none() && !matches!(status.as_str(), "" | "completed" | "final") {
                summary.push_str(&format!(" ({status})"));
            }
            fields.push(("Type".into(), rtype.to_string()));
            fields.push(("What".into(), name));
            push_opt(&mut fields, "Status", Some(status.clone()));
            push_opt(
                &mut fields,
                "Priority",
                text(r, "priority").map(str::to_string),
            );
            push_opt(&mut fields, "Reason", concept(first(r, "reasonCode")));
            push_opt(&mut fields, "Body site", concept(first(r, "bodySite")));
            push_opt(&mut fields, "Outcome", concept(r.get("outcome")));
            push_opt(&mut fields, "Requester", reference_text(r.get("requester")));
            push_opt(
                &mut fields,
                "Performer",
                first(r, "performer").and_then(|p| reference_text(p.get("actor").or(Some(p)))),
            );
            push_opt(&mut fields, "Lot", text(r, "lotNumber").map(str::to_string));
            push_opt(
                &mut fields,
                "Note",
                first(r, "note")
                    .and_then(|n| text(n, "text"))
                    .map(str::to_string),
            );
            push_codes(&mut fields, r.get("code").or_else(|| r.get("vaccineCode")));
            let active =
                kind == Kind::Order && matches!(status.as_str(), "active" | "draft" | "on-hold");
            out.push(Entry {
                kind,
                when: date,
                summary,
                status,
                detail: Detail::Fields(fields),
                active,
                refs: Vec::new(),
            });
        }
    }
    Some(out)
}

/// The text of an attachment: inline text decoded, anything else described.
pub(super) fn attachment_text(a: &Value) -> String {
    let content_type = text(a, "contentType").unwrap_or("text/plain");
    if let Some(data) = text(a, "data") {
        if !content_type.starts_with("text/") {
            return format!("(a {content_type} attachment; not shown here)");
        }
        return match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).replace('\r', ""),
            Err(_) => "(the attachment's data is not valid base64)".into(),
        };
    }
    if let Some(url) = text(a, "url") {
        return format!("(stored at {url}; not downloaded)");
    }
    "(no content)".into()
}
