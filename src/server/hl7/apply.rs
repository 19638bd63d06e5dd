//! Applying a message to the store, in one write transaction with its audit record: ADT
//! (A01 admit, A02 transfer, A03 discharge, A04 register, A08 update, A11/A12/A13 their
//! cancels, A28/A31 person add and update) to Patient and Encounter, A40 through the support desk's merge, ORU^R01 to
//! DiagnosticReport and Observations. Patients are matched by identifier of their assigning
//! authority, never by name; a stay by its visit number. Nothing is half-applied: an error
//! rolls the whole message back.

use serde_json::{Value, json};

use super::ack::Problem;
use super::map;
use super::parse::Message;
use crate::server::audit::{Agent, Event, Subtype};
use crate::server::store::{Scope, Store, StoreError, Tx, Written};

/// How the interface is set up: which assigning authority is the site's MRN (and its FHIR
/// system), other authorities' systems.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub mrn_authority: String,
    pub mrn_system: String,
    pub systems: Vec<(String, String)>,
}

impl Setup {
    fn system(&self, authority: &str) -> Option<String> {
        if authority == self.mrn_authority {
            return Some(self.mrn_system.clone());
        }
        self.systems
            .iter()
            .find(|(a, _)| a == authority)
            .map(|(_, s)| s.clone())
    }
}

/// What a message did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The versions written, `Type/id/_history/n`.
    pub written: Vec<String>,
    pub patients: Vec<String>,
}

fn problem(segment: &str, field: usize, code: u16, text: impl Into<String>) -> Problem {
    Problem {
        segment: segment.into(),
        position: 1,
        field,
        code,
        text: text.into(),
    }
}

/// The agent of an interface: the sending application.
pub fn agent(sender: &str) -> Agent {
    Agent {
        username: Some(format!("hl7:{sender}")),
        name: Some(format!("HL7 interface from {sender}")),
        role: Some("interface".into()),
        reference: None,
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        stored_error(e)
    }
}

fn stored_error(e: StoreError) -> Problem {
    match e {
        StoreError::Conflict(m) | StoreError::PreconditionFailed(m) => problem("MSH", 0, 206, m),
        StoreError::Invalid(m) => problem("MSH", 0, 102, m),
        other => problem("MSH", 0, 207, other.public_message()),
    }
}

/// The site's MRN among a patient's identifiers (PID-3 with the MRN's assigning authority).
fn site_mrn(patient: &Value, setup: &Setup) -> Result<String, Problem> {
    patient["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["system"] == setup.mrn_system.as_str())
        .and_then(|i| i["value"].as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            problem(
                "PID",
                3,
                101,
                format!(
                    "PID-3 has no identifier of the assigning authority {}",
                    setup.mrn_authority
                ),
            )
        })
}

/// The stored Patient with `system|value` among its identifiers: its id, version and JSON.
fn find(
    tx: &mut Tx,
    rtype: &str,
    system: &str,
    value: &str,
) -> Result<Option<(String, i64, Value)>, Problem> {
    let condition = vec![("identifier".to_string(), format!("{system}|{value}"))];
    let ids = tx
        .matching_ids_in(rtype, &condition, &Scope::all())
        .map_err(stored_error)?;
    match ids.as_slice() {
        [] => Ok(None),
        [id] => {
            let found = crate::server::support::merge::current(tx.conn(), rtype, id)
                .map_err(stored_error)?;
            Ok(found.map(|(v, json)| (id.clone(), v, json)))
        }
        _ => Err(problem(
            "PID",
            3,
            205,
            format!(
                "{} {rtype} records hold the identifier {system}|{value}",
                ids.len()
            ),
        )),
    }
}

/// Writes `resource` over `current` (keeping what the message does not say), or creates it.
fn put(
    tx: &mut Tx,
    rtype: &str,
    current: Option<(String, i64, Value)>,
    mut resource: Value,
) -> Result<Written, Problem> {
    match current {
        Some((id, version, old)) => {
            // What the message says replaces the same elements; the rest is kept.
            let mut merged = old;
            if let (Some(m), Some(new)) = (merged.as_object_mut(), resource.as_object()) {
                for (k, v) in new {
                    m.insert(k.clone(), v.clone());
                }
                m.insert("id".into(), json!(id));
            }
            tx.update(rtype, &id, merged, Some(&version.to_string()))
                .map_err(stored_error)
        }
        None => {
            if let Some(m) = resource.as_object_mut() {
                m.remove("id");
            }
            tx.create(resource, None).map_err(stored_error)
        }
    }
}

fn check(resource: &Value, segment: &str) -> Result<(), Problem> {
    let issues = crate::fhir::validate::validate(resource);
    match issues.first() {
        None => Ok(()),
        Some(i) => Err(problem(segment, 0, 102, format!("{i:?}"))),
    }
}

/// Applies an ADT message. `Err` names what could not be applied (nothing was).
pub fn adt(store: &Store, m: &Message, setup: &Setup) -> Result<Applied, Problem> {
    let (_, trigger, _) = m.kind();
    let trigger = trigger.to_string();
    if trigger == "A40" {
        return merge(store, m, setup);
    }
    if !matches!(
        trigger.as_str(),
        "A01" | "A02" | "A03" | "A04" | "A08" | "A11" | "A12" | "A13" | "A28" | "A31"
    ) {
        return Err(problem(
            "MSH",
            9,
            201,
            format!("ADT^{trigger} is not applied by this interface"),
        ));
    }
    let pid = m
        .segment("PID")
        .ok_or_else(|| problem("PID", 0, 100, "the message has no PID segment"))?;
    let systems = |a: &str| setup.system(a);
    let patient = map::patient(pid, &systems);
    // The patient is found by the site's MRN (PID-3 with the MRN's assigning authority).
    let mrn = site_mrn(&patient, setup)?;
    check(&patient, "PID")?;
    let sender = format!("{}^{}", m.sender().0, m.sender().1);
    let pv1 = m.segment("PV1");
    let encounter = match (trigger.as_str(), pv1) {
        ("A01" | "A02" | "A03" | "A04" | "A11" | "A12" | "A13", Some(pv1)) => {
            // A11 cancels an admission, A12 a transfer (PV1-3 is where the patient stays),
            // A13 a discharge (the stay goes on; the message's period has no end).
            let status = match trigger.as_str() {
                "A03" => "finished",
                "A04" => "arrived",
                "A11" => "cancelled",
                _ => "in-progress",
            };
            let e = map::encounter(pv1, status);
            if e.get("identifier").is_none() {
                return Err(problem(
                    "PV1",
                    19,
                    101,
                    "PV1-19 (the visit number) is empty: the stay cannot be matched",
                ));
            }
            Some(e)
        }
        ("A01" | "A02" | "A03" | "A11" | "A12" | "A13", None) => {
            return Err(problem("PV1", 0, 100, "the message has no PV1 segment"));
        }
        _ => None,
    };
    let mrn_system = setup.mrn_system.clone();
    let result: Result<Applied, Problem> = store.write_with(|tx| {
        let mut applied = Applied::default();
        let current = find(tx, "Patient", &mrn_system, &mrn)?;
        let is_new = current.is_none();
        let written = put(tx, "Patient", current, patient.clone())?;
        let patient_id = written.id.clone();
        applied.written.push(format!(
            "Patient/{}/_history/{}",
            written.id, written.version
        ));
        applied.patients.push(patient_id.clone());
        if let Some(mut e) = encounter.clone() {
            e["subject"] = json!({"reference": format!("Patient/{patient_id}")});
            if let Some((ward, room, bed)) = pv1.and_then(map::location) {
                let place = [ward, room, bed]
                    .into_iter()
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                e["location"] = json!([{"location": {"display": place},
                    "status": if matches!(trigger.as_str(), "A03" | "A11") { "completed" } else { "active" }}]);
            }
            check(&e, "PV1")?;
            let visit = e["identifier"][0].clone();
            let current = find(
                tx,
                "Encounter",
                visit["system"].as_str().unwrap_or_default(),
                visit["value"].as_str().unwrap_or_default(),
            )?;
            if let Some((_, _, old)) = &current {
                if old["subject"]["reference"] != e["subject"]["reference"] {
                    return Err(problem(
                        "PV1",
                        19,
                        205,
                        "the visit number belongs to another patient's stay",
                    ));
                }
            }
            if matches!(trigger.as_str(), "A03" | "A11" | "A12" | "A13") && current.is_none() {
                return Err(problem(
                    "PV1",
                    19,
                    204,
                    "no stay with this visit number to discharge, or whose event to cancel",
                ));
            }
            let w = put(tx, "Encounter", current, e)?;
            applied
                .written
                .push(format!("Encounter/{}/_history/{}", w.id, w.version));
        }
        let mut event = Event::new(
            if is_new {
                Subtype::Create
            } else {
                Subtype::Update
            },
            agent(&sender),
        );
        event.patients = applied.patients.clone();
        event.resources = applied.written.clone();
        event.description = Some(format!("HL7 ADT^{trigger} from {sender}"));
        crate::server::audit::record_in(tx, &[event]).map_err(stored_error)?;
        Ok(applied)
    });
    result
}

/// The OBR groups of a message: each OBR with the OBX segments after it (until the next).
fn groups(m: &Message) -> Vec<(&super::parse::Segment, Vec<&super::parse::Segment>)> {
    let mut out: Vec<(&super::parse::Segment, Vec<&super::parse::Segment>)> = Vec::new();
    for s in &m.segments {
        match s.name.as_str() {
            "OBR" => out.push((s, Vec::new())),
            "OBX" => {
                if let Some(last) = out.last_mut() {
                    last.1.push(s);
                }
            }
            _ => {}
        }
    }
    out
}

fn code_of(v: &Value) -> String {
    v["code"]["coding"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Applies an ORU^R01: each OBR a DiagnosticReport with its OBX Observations, filed to the
/// patient of PID-3's MRN (a result never creates a patient); a report sent again (the same
/// filler number: a correction) updates the one stored and its results by code; the order
/// named by the placer number is linked and, once the report is final, completed; each
/// result gets its review task in the clinician's inbox.
pub fn oru(store: &Store, m: &Message, setup: &Setup) -> Result<Applied, Problem> {
    let pid = m
        .segment("PID")
        .ok_or_else(|| problem("PID", 0, 100, "the message has no PID segment"))?;
    let systems = |a: &str| setup.system(a);
    let mrn = site_mrn(&map::patient(pid, &systems), setup)?;
    let mut parts = Vec::new();
    for (obr, obxs) in groups(m) {
        let (report, placer) = map::report(obr).map_err(|e| problem("OBR", 4, 101, e))?;
        let when = report["effectiveDateTime"].as_str().map(str::to_string);
        let mut results = Vec::new();
        for (i, obx) in obxs.iter().enumerate() {
            let o = map::observation(obx, when.as_deref()).map_err(|e| Problem {
                segment: "OBX".into(),
                position: i + 1,
                // The error names its field first ("OBX-5 ...").
                field: e
                    .strip_prefix("OBX-")
                    .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(5),
                code: 102,
                text: e,
            })?;
            check(&o, "OBX")?;
            results.push(o);
        }
        check(&report, "OBR")?;
        parts.push((report, placer, results));
    }
    if parts.is_empty() {
        return Err(problem("OBR", 0, 100, "the message has no OBR segment"));
    }
    let sender = format!("{}^{}", m.sender().0, m.sender().1);
    let mrn_system = setup.mrn_system.clone();
    store.write_with(|tx| {
        let now = crate::fhir::date::now_ms();
        let Some((patient_id, _, _)) = find(tx, "Patient", &mrn_system, &mrn)? else {
            return Err(problem(
                "PID",
                3,
                204,
                format!(
                    "no patient holds the MRN {mrn}: results are filed to registered patients only"
                ),
            ));
        };
        let subject = json!({"reference": format!("Patient/{patient_id}")});
        let mut applied = Applied {
            patients: vec![patient_id.clone()],
            ..Applied::default()
        };
        for (mut report, placer, results) in parts {
            report["subject"] = subject.clone();
            // The order it answers, when the placer number names one of this patient's.
            let mut order = None;
            if let Some(p) = &placer {
                let ids = tx.matching_ids_in(
                    "ServiceRequest",
                    &[("identifier".to_string(), p.clone())],
                    &Scope::all(),
                )?;
                if let [id] = ids.as_slice() {
                    if let Some((v, sr)) =
                        crate::server::support::merge::current(tx.conn(), "ServiceRequest", id)?
                    {
                        if sr["subject"] == subject {
                            report["basedOn"] =
                                json!([{"reference": format!("ServiceRequest/{id}")}]);
                            order = Some((id.clone(), v, sr));
                        }
                    }
                }
            }
            // A report sent again (its filler number): a correction of the one stored.
            let filler = report["identifier"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| i["type"]["coding"][0]["code"] == "FILL")
                .cloned();
            let existing = match &filler {
                Some(f) => find(
                    tx,
                    "DiagnosticReport",
                    f["system"].as_str().unwrap_or_default(),
                    f["value"].as_str().unwrap_or_default(),
                )?,
                None => None,
            };
            if let Some((_, _, old)) = &existing {
                if old["subject"] != subject {
                    return Err(problem(
                        "OBR",
                        3,
                        205,
                        "the filler number belongs to another patient's report",
                    ));
                }
            }
            let old_results: Vec<(String, i64, Value)> = match &existing {
                Some((_, _, old)) => {
                    let mut v = Vec::new();
                    for r in old["result"].as_array().into_iter().flatten() {
                        if let Some(id) = r["reference"]
                            .as_str()
                            .and_then(|s| s.strip_prefix("Observation/"))
                        {
                            if let Some((ver, o)) = crate::server::support::merge::current(
                                tx.conn(),
                                "Observation",
                                id,
                            )? {
                                v.push((id.to_string(), ver, o));
                            }
                        }
                    }
                    v
                }
                None => Vec::new(),
            };
            let mut refs = Vec::new();
            for mut o in results {
                o["subject"] = subject.clone();
                if let Some(b) = report.get("basedOn") {
                    o["basedOn"] = b.clone();
                }
                let same = old_results
                    .iter()
                    .find(|(_, _, old)| code_of(old) == code_of(&o))
                    .cloned();
                let w = put(tx, "Observation", same, o)?;
                if let Some(task) = crate::server::inbox::on_result(tx, &w, now)? {
                    applied
                        .written
                        .push(format!("Task/{}/_history/{}", task.id, task.version));
                }
                refs.push(json!({"reference": format!("Observation/{}", w.id)}));
                applied
                    .written
                    .push(format!("Observation/{}/_history/{}", w.id, w.version));
            }
            report["result"] = json!(refs);
            let final_ = report["status"] == "final" || report["status"] == "corrected";
            let w = put(tx, "DiagnosticReport", existing, report)?;
            applied
                .written
                .push(format!("DiagnosticReport/{}/_history/{}", w.id, w.version));
            if let Some((id, v, mut sr)) = order.filter(|_| final_) {
                if sr["status"] == "active" {
                    sr["status"] = json!("completed");
                    let w = tx.update("ServiceRequest", &id, sr, Some(&v.to_string()))?;
                    applied
                        .written
                        .push(format!("ServiceRequest/{}/_history/{}", w.id, w.version));
                }
            }
        }
        let mut event = Event::new(Subtype::Create, agent(&sender));
        event.patients = applied.patients.clone();
        event.resources = applied.written.clone();
        event.description = Some(format!("HL7 ORU^R01 from {sender}"));
        crate::server::audit::record_in(tx, &[event])?;
        Ok(applied)
    })
}

/// Applies an ADT^A40 (merge patient): the record named in MRG-1 is merged into the one in
/// PID-3 with the support desk's merge (`Patient/$merge` semantics: every record moved, both
/// linked, a Provenance that undoes it). Refused as the desk refuses it (both with active
/// orders, different restriction labels, merged already).
pub fn merge(store: &Store, m: &Message, setup: &Setup) -> Result<Applied, Problem> {
    let pid = m
        .segment("PID")
        .ok_or_else(|| problem("PID", 0, 100, "the message has no PID segment"))?;
    let mrg = m
        .segment("MRG")
        .ok_or_else(|| problem("MRG", 0, 100, "the message has no MRG segment"))?;
    let systems = |a: &str| setup.system(a);
    let mrn_in =
        |f: Option<&super::parse::Field>, seg: &str, field: usize| -> Result<String, Problem> {
            let f = f.ok_or_else(|| problem(seg, field, 101, format!("{seg}-{field} is empty")))?;
            (0..f.repetitions.len())
                .filter_map(|r| map::identifier(f, r, &systems))
                .find(|i| i["system"] == setup.mrn_system.as_str())
                .and_then(|i| i["value"].as_str().map(str::to_string))
                .ok_or_else(|| {
                    problem(
                        seg,
                        field,
                        101,
                        format!(
                            "{seg}-{field} has no identifier of the assigning authority {}",
                            setup.mrn_authority
                        ),
                    )
                })
        };
    let target_mrn = mrn_in(pid.field(3), "PID", 3)?;
    let source_mrn = mrn_in(mrg.field(1), "MRG", 1)?;
    let sender = format!("{}^{}", m.sender().0, m.sender().1);
    let mrn_system = setup.mrn_system.clone();
    store.write_with(|tx| {
        let Some((target, _, _)) = find(tx, "Patient", &mrn_system, &target_mrn)? else {
            return Err(problem(
                "PID",
                3,
                204,
                format!("no patient holds the MRN {target_mrn}"),
            ));
        };
        let Some((source, _, _)) = find(tx, "Patient", &mrn_system, &source_mrn)? else {
            return Err(problem(
                "MRG",
                1,
                204,
                format!("no patient holds the MRN {source_mrn}"),
            ));
        };
        let who = crate::server::support::merge::Who {
            username: format!("hl7:{sender}"),
            practitioner: None,
        };
        let merged = crate::server::support::merge::apply(
            tx,
            &source,
            &target,
            &mrn_system,
            &format!("HL7 ADT^A40 from {sender}"),
            None,
            &who,
        )
        .map_err(|e| match e {
            StoreError::Conflict(m) => problem("MRG", 1, 206, m),
            other => stored_error(other),
        })?;
        let mut applied = Applied {
            patients: vec![source.clone(), target.clone()],
            ..Applied::default()
        };
        for w in merged.written.iter().chain([&merged.provenance]) {
            applied
                .written
                .push(format!("{}/{}/_history/{}", w.rtype, w.id, w.version));
        }
        let mut event = Event::new(Subtype::Operation, agent(&sender));
        event.patients = applied.patients.clone();
        event.resources = applied.written.clone();
        event.description = Some(format!("HL7 ADT^A40 from {sender}: merge"));
        event.reason = Some(format!("HL7 ADT^A40 from {sender}"));
        crate::server::audit::record_in(tx, &[event])?;
        Ok(applied)
    })
}

/// Applies an MDM^T02 (a document and its content): TXA and the OBX text as a
/// DocumentReference on the patient of the MRN (a document never creates a patient); the
/// same unique document number (TXA-12) again replaces the stored one's content.
pub fn mdm(store: &Store, m: &Message, setup: &Setup) -> Result<Applied, Problem> {
    let pid = m
        .segment("PID")
        .ok_or_else(|| problem("PID", 0, 100, "the message has no PID segment"))?;
    let txa = m
        .segment("TXA")
        .ok_or_else(|| problem("TXA", 0, 100, "the message has no TXA segment"))?;
    let systems = |a: &str| setup.system(a);
    let mrn = site_mrn(&map::patient(pid, &systems), setup)?;
    let number = txa.comp(12, 1).trim().to_string();
    if number.is_empty() {
        return Err(problem(
            "TXA",
            12,
            101,
            "TXA-12 (the unique document number) is empty",
        ));
    }
    let text: Vec<String> = m
        .segments_named("OBX")
        .filter(|o| matches!(o.text(2), "TX" | "FT" | "ST"))
        .flat_map(|o| {
            let f = o.field(5).cloned().unwrap_or_default();
            (0..f.repetitions.len())
                .map(|r| f.component(r, 1).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    if text.iter().all(|t| t.trim().is_empty()) {
        return Err(problem(
            "OBX",
            1,
            101,
            "the document has no text (OBX-5 of TX, FT or ST)",
        ));
    }
    let status = match txa.text(17) {
        "AU" | "LA" => "final",
        "DO" | "IP" | "IN" | "PA" => "preliminary",
        "CA" => "entered-in-error",
        _ => "final",
    };
    let kind = txa
        .field(2)
        .and_then(|f| map::concept(f, 0))
        .unwrap_or_else(|| json!({"text": "Document"}));
    let mut doc = json!({
        "resourceType": "DocumentReference",
        "status": if status == "entered-in-error" { "entered-in-error" } else { "current" },
        "docStatus": if status == "entered-in-error" { "final" } else { status },
        "type": kind,
        "identifier": [{"system": format!("urn:hl7v2:document:{}", m.sender().0), "value": number}],
        "content": [{"attachment": {"contentType": "text/plain",
            "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, text.join("\n"))}}],
    });
    if let Some(when) = map::date_time(txa.text(4)).or_else(|| map::date_time(txa.text(6))) {
        doc["date"] = json!(if when.len() == 10 {
            format!("{when}T00:00:00+00:00")
        } else {
            when
        });
    }
    let author = txa.field(9).filter(|f| !f.is_empty()).map(|a| {
        [a.component(0, 2), a.component(0, 3)]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    });
    if let Some(a) = author.filter(|a| !a.is_empty()) {
        doc["author"] = json!([{"display": a}]);
    }
    let sender = format!("{}^{}", m.sender().0, m.sender().1);
    let mrn_system = setup.mrn_system.clone();
    store.write_with(|tx| {
        let Some((patient_id, _, _)) = find(tx, "Patient", &mrn_system, &mrn)? else {
            return Err(problem("PID", 3, 204, format!("no patient holds the MRN {mrn}: documents are filed to registered patients only")));
        };
        doc["subject"] = json!({"reference": format!("Patient/{patient_id}")});
        check(&doc, "TXA")?;
        let system = doc["identifier"][0]["system"].as_str().unwrap_or_default().to_string();
        let existing = find(tx, "DocumentReference", &system, &number)?;
        if let Some((_, _, old)) = &existing {
            if old["subject"] != doc["subject"] {
                return Err(problem("TXA", 12, 205, "the document number belongs to another patient's document"));
            }
        }
        let w = put(tx, "DocumentReference", existing, doc.clone())?;
        let applied = Applied {
            patients: vec![patient_id],
            written: vec![format!("DocumentReference/{}/_history/{}", w.id, w.version)],
        };
        let mut event = Event::new(Subtype::Create, agent(&sender));
        event.patients = applied.patients.clone();
        event.resources = applied.written.clone();
        event.description = Some(format!("HL7 MDM^T02 from {sender}"));
        crate::server::audit::record_in(tx, &[event])?;
        Ok(applied)
    })
}
