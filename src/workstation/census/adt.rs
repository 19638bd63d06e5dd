//! Ward admissions, transfers and discharges, with no UI code: the bed board of a ward (its
//! beds, free or with whom), a new inpatient stay in a bed, a stay moved to another bed or
//! ward (the old locations completed, kept in its history), a stay ended with its
//! disposition. The server refuses a bed that is held (`server/beds.rs`); a change to a stay
//! is written over the version read.

use serde_json::{Value, json};

use super::{Ward, physical_type, reference_id};
use crate::workstation::chart::read_patient;

const PHYSICAL: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const DISPOSITION: &str = "http://terminology.hl7.org/CodeSystem/discharge-disposition";

/// Where a patient goes on discharge (FHIR's discharge-disposition codes).
pub const DISPOSITIONS: &[(&str, &str)] = &[
    ("home", "Home"),
    ("other-hcf", "Other healthcare facility"),
    ("snf", "Skilled nursing facility"),
    ("rehab", "Rehabilitation"),
    ("hosp", "Hospice"),
    ("aadvice", "Left against advice"),
    ("exp", "Expired"),
    ("oth", "Other"),
];

/// One bed of a ward: free, or held by a stay (with whom).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedRow {
    pub id: String,
    pub name: String,
    /// The patient in it (name, id), if any.
    pub occupant: Option<(String, String)>,
    /// Out of service (the Location is not active).
    pub closed: bool,
}

impl BedRow {
    pub fn free(&self) -> bool {
        self.occupant.is_none() && !self.closed
    }
}

/// A ward's bed board from its beds (Locations part of it) and the stays under way there
/// (with their patients), by bed name.
pub fn board(beds: &[Value], stays: &[Value]) -> Vec<BedRow> {
    let mut out: Vec<BedRow> = beds
        .iter()
        .filter(|l| l["resourceType"] == "Location" && physical_type(l) == Some("bd"))
        .filter_map(|l| {
            let id = l["id"].as_str()?.to_string();
            let occupant = stays
                .iter()
                .filter(|e| e["resourceType"] == "Encounter")
                .find(|e| {
                    e["location"].as_array().into_iter().flatten().any(|x| {
                        (x["status"].is_null() || x["status"] == "active")
                            && reference_id(&x["location"], "Location") == Some(id.as_str())
                    })
                })
                .and_then(|e| {
                    let pid = reference_id(&e["subject"], "Patient")?;
                    let name = stays
                        .iter()
                        .find(|p| p["resourceType"] == "Patient" && p["id"] == pid)
                        .and_then(read_patient)
                        .map_or_else(|| "(patient not returned)".into(), |i| i.display_name());
                    Some((name, pid.to_string()))
                });
            Some(BedRow {
                name: l["name"].as_str().unwrap_or(&id).to_string(),
                closed: l["status"] == "inactive" || l["status"] == "suspended",
                occupant,
                id,
            })
        })
        .collect();
    out.sort_by_key(|r| super::natural(&r.name));
    out
}

fn located(ward: &Ward, bed: &BedRow, now: &str) -> Vec<Value> {
    let at = |id: &str, name: &str, code: &str| {
        json!({"location": {"reference": format!("Location/{id}"), "display": name},
            "status": "active", "period": {"start": now},
            "physicalType": {"coding": [{"system": PHYSICAL, "code": code}]}})
    };
    vec![at(&ward.id, &ward.name, "wa"), at(&bed.id, &bed.name, "bd")]
}

/// A new inpatient stay of `patient` in `bed` of `ward` from `now`, `attending` (a
/// Reference) its attending.
pub fn admission(
    patient: &str,
    ward: &Ward,
    bed: &BedRow,
    attending: Option<&Value>,
    now: &str,
) -> Value {
    let mut e = json!({
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": {"reference": format!("Patient/{patient}")},
        "period": {"start": now},
        "location": located(ward, bed, now),
    });
    if let Some(a) = attending {
        e["participant"] = json!([{
            "type": [{"coding": [{"system": PARTICIPATION, "code": "ATND", "display": "attender"}]}],
            "individual": a
        }]);
    }
    e
}

fn completed(stay: &mut Value, now: &str) {
    for l in stay["location"].as_array_mut().into_iter().flatten() {
        if l["status"].is_null() || l["status"] == "active" {
            l["status"] = json!("completed");
            if l["period"]["end"].is_null() {
                l["period"]["end"] = json!(now);
            }
        }
    }
}

fn without_meta(stay: &Value) -> Value {
    let mut s = stay.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("meta");
    }
    s
}

/// `stay` moved to `bed` of `ward` at `now`: the locations it held completed (they stay in
/// its history), the new ones active.
pub fn transferred(stay: &Value, ward: &Ward, bed: &BedRow, now: &str) -> Value {
    let mut s = without_meta(stay);
    completed(&mut s, now);
    let mut all = s["location"].as_array().cloned().unwrap_or_default();
    all.extend(located(ward, bed, now));
    s["location"] = Value::Array(all);
    s
}

/// `stay` ended at `now` with `disposition` (a code of `DISPOSITIONS`): finished, its
/// locations completed, where the patient went.
pub fn discharged(stay: &Value, disposition: &str, now: &str) -> Value {
    let mut s = without_meta(stay);
    completed(&mut s, now);
    s["status"] = json!("finished");
    s["period"]["end"] = json!(now);
    let display = DISPOSITIONS
        .iter()
        .find(|(c, _)| *c == disposition)
        .map_or(disposition, |(_, d)| d);
    s["hospitalization"]["dischargeDisposition"] = json!({
        "coding": [{"system": DISPOSITION, "code": disposition, "display": display}],
        "text": display
    });
    s
}

/// An admission, transfer or discharge to be written.
#[derive(Debug, Clone, PartialEq)]
pub enum AdtChange {
    Admit {
        patient: (String, String),
        encounter: Value,
    },
    Transfer {
        patient: (String, String),
        stay_id: String,
        ward: Ward,
        bed: BedRow,
    },
    Discharge {
        patient: (String, String),
        stay_id: String,
        disposition: String,
    },
}

impl AdtChange {
    /// What the status line says when it is done.
    pub fn words(&self) -> String {
        match self {
            AdtChange::Admit { patient, encounter } => format!(
                "{} admitted to {}",
                patient.1,
                encounter["location"][1]["location"]["display"]
                    .as_str()
                    .unwrap_or("the bed")
            ),
            AdtChange::Transfer {
                patient, ward, bed, ..
            } => format!("{} moved to {}, {}", patient.1, ward.name, bed.name),
            AdtChange::Discharge {
                patient,
                disposition,
                ..
            } => format!(
                "{} discharged ({})",
                patient.1,
                DISPOSITIONS
                    .iter()
                    .find(|(c, _)| c == disposition)
                    .map_or(disposition.as_str(), |(_, d)| d)
            ),
        }
    }

    /// The stay as changed, from the version read (`None` for an admission).
    pub fn apply(&self, stay: &Value, now: &str) -> Option<Value> {
        match self {
            AdtChange::Admit { .. } => None,
            AdtChange::Transfer { ward, bed, .. } => Some(transferred(stay, ward, bed, now)),
            AdtChange::Discharge { disposition, .. } => Some(discharged(stay, disposition, now)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ward() -> Ward {
        Ward {
            id: "ward-A".into(),
            name: "Acute Medical Unit".into(),
        }
    }

    #[test]
    fn the_board_the_stay_moved_and_ended() {
        let bed = |id: &str, name: &str, status: &str| {
            json!({"resourceType": "Location", "id": id, "name": name, "status": status,
                "physicalType": {"coding": [{"code": "bd"}]}})
        };
        let stay = json!({"resourceType": "Encounter", "id": "e1", "meta": {"versionId": "4"}, "status": "in-progress",
            "subject": {"reference": "Patient/p1"},
            "location": [{"location": {"reference": "Location/ward-A"}, "status": "active"},
                         {"location": {"reference": "Location/b2"}, "status": "active"}]});
        let rows = board(
            &[
                bed("b10", "A bed 10", "active"),
                bed("b2", "A bed 2", "active"),
                bed("b3", "A bed 3", "inactive"),
            ],
            &[
                stay.clone(),
                json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill", "given": ["Ann"]}]}),
            ],
        );
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["A bed 2", "A bed 3", "A bed 10"]
        );
        assert_eq!(
            rows[0].occupant,
            Some(("QUILL, Ann".to_string(), "p1".to_string()))
        );
        assert!(!rows[1].free(), "out of service");
        assert!(rows[2].free());
        let now = "2026-12-01T10:00:00Z";
        let moved = transferred(&stay, &ward(), &rows[2], now);
        let locations = moved["location"].as_array().unwrap();
        assert_eq!(locations.len(), 4, "the old kept, completed");
        assert_eq!(locations[1]["status"], "completed");
        assert_eq!(locations[1]["period"]["end"], now);
        assert_eq!(locations[3]["location"]["reference"], "Location/b10");
        assert_eq!(locations[3]["status"], "active");
        assert!(moved["meta"].is_null());
        let ended = discharged(&stay, "home", now);
        assert_eq!(ended["status"], "finished");
        assert_eq!(ended["period"]["end"], now);
        assert_eq!(
            ended["hospitalization"]["dischargeDisposition"]["coding"][0]["code"],
            "home"
        );
        assert!(
            ended["location"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["status"] == "completed")
        );
        let admitted = admission(
            "p9",
            &ward(),
            &rows[2],
            Some(&json!({"reference": "Practitioner/d1"})),
            now,
        );
        assert_eq!(admitted["class"]["code"], "IMP");
        assert_eq!(
            admitted["location"][1]["location"]["reference"],
            "Location/b10"
        );
        assert_eq!(
            admitted["participant"][0]["type"][0]["coding"][0]["code"],
            "ATND"
        );
    }
}
