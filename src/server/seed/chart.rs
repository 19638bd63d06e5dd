//! Builds the resources of one synthetic patient's chart, and the hospital around them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Number, Value, json};

use super::Depth;
use super::catalog::*;
use super::names::*;

mod history;
mod results;

pub const MRN_SYSTEM: &str = "http://hospital.example/mrn";
const ORG_ID: &str = "bedside-general";
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

struct Bed {
    ward: String,
    bed: String,
}

pub struct Generator {
    rng: ChaCha8Rng,
    /// Noon UTC on the anchor date, in epoch ms.
    now: i64,
    practitioners: Vec<String>,
    beds: Vec<Bed>,
    next_bed: usize,
    /// Ids are `s{seed}-{counter}`: deterministic, distinct between seeds, and rising, so the
    /// store appends to its indexes instead of inserting at random places.
    id_prefix: String,
    next_id: u64,
}

/// One patient's chart under construction.
struct Chart {
    patient: String,
    out: Vec<Value>,
}

impl Generator {
    pub fn new(rng: ChaCha8Rng, seed: u64, anchor: NaiveDate) -> Generator {
        // Noon on the anchor day, or the moment of seeding if that is earlier: nothing
        // seeded is dated after it (a chart opened at 04:10 shows no 10:00 vitals "today").
        let noon = anchor
            .and_hms_opt(12, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_millis());
        let minute = 60_000;
        let now = noon.min(crate::fhir::date::now_ms() / minute * minute);
        let practitioners = (0..STAFF.len()).map(|i| format!("prac-{i}")).collect();
        let beds = WARDS
            .iter()
            .flat_map(|(code, _, n)| {
                (1..=*n).map(move |b| Bed {
                    ward: format!("ward-{code}"),
                    bed: format!("bed-{code}-{b:02}"),
                })
            })
            .collect();
        Generator {
            rng,
            now,
            practitioners,
            beds,
            next_bed: 0,
            id_prefix: format!("s{seed}-"),
            next_id: 0,
        }
    }

    /// The organisation, its clinicians, wards and beds.
    pub fn facility(&mut self) -> Vec<Value> {
        let mut out = vec![json!({
            "resourceType": "Organization", "id": ORG_ID, "active": true,
            "name": "Bedside General Hospital",
            "identifier": [{"system": "http://hospital.example/org", "value": "BGH"}]
        })];
        for (i, (family, given, role)) in STAFF.iter().enumerate() {
            let prefix = if *role == "Physician" { "Dr" } else { "Nurse" };
            out.push(json!({
                "resourceType": "Practitioner", "id": format!("prac-{i}"), "active": true,
                "identifier": [{"system": "http://hospital.example/staff", "value": format!("S{:04}", i + 1)}],
                "name": [{"family": family, "given": [given], "prefix": [prefix]}],
                "qualification": [{"code": {"text": role}}]
            }));
        }
        // The demo's clinicians (`bedside demo`'s users find theirs by this identifier).
        for (id, user, family, given, prefix) in DEMO_STAFF {
            out.push(json!({
                "resourceType": "Practitioner", "id": id, "active": true,
                "identifier": [{"system": crate::server::auth::USER_SYSTEM, "value": user}],
                "name": [{"text": format!("{given} {family}"), "family": family, "given": [given], "prefix": [prefix]}]
            }));
        }
        // Two clinical teams: CareTeams with no patient, their members the clinicians. A
        // patient's own CareTeam names the team as a participant (`a team's list`).
        for (id, name, members) in TEAMS {
            let participant: Vec<Value> = members
                .iter()
                .map(|m| json!({"member": reference("Practitioner", m)}))
                .collect();
            out.push(json!({
                "resourceType": "CareTeam", "id": id, "status": "active", "name": name,
                "category": [{"coding": [{"system": "http://loinc.org", "code": "LA28866-4", "display": "Population-focused care team"}]}],
                "participant": participant,
                "managingOrganization": [{"reference": format!("Organization/{ORG_ID}")}]
            }));
        }
        for (code, name, beds) in WARDS {
            out.push(json!({
                "resourceType": "Location", "id": format!("ward-{code}"), "status": "active",
                "name": name, "alias": [format!("Ward {code}")], "mode": "instance",
                "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa", "display": "Ward"}]},
                "managingOrganization": {"reference": format!("Organization/{ORG_ID}")}
            }));
            for b in 1..=*beds {
                out.push(json!({
                    "resourceType": "Location", "id": format!("bed-{code}-{b:02}"), "status": "active",
                    "name": format!("{code} bed {b}"), "mode": "instance",
                    "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd", "display": "Bed"}]},
                    "partOf": {"reference": format!("Location/ward-{code}"), "display": name}
                }));
            }
        }
        out
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{}{:09}", self.id_prefix, self.next_id)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn practitioner(&mut self) -> String {
        // Physicians are the first five of STAFF.
        let i = self.rng.random_range(0..5);
        self.practitioners[i].clone()
    }

    pub fn patient(&mut self, index: u64, depth: Depth, large: bool) -> Vec<Value> {
        let pid = self.id();
        let namesake = (index >= 2 && (index - 2) % 3 == 0)
            .then(|| NAMESAKES.get(((index - 2) / 3) as usize))
            .flatten();
        let (family, given, gender) = match namesake {
            Some((f, g, s)) => (f.to_string(), vec![g.to_string()], s.to_string()),
            None => {
                let gender = if self.chance(0.5) { "female" } else { "male" };
                let pool = if gender == "female" {
                    GIVEN_FEMALE
                } else {
                    GIVEN_MALE
                };
                let mut given = vec![self.pick(pool).to_string()];
                if self.chance(0.3) {
                    given.push(self.pick(pool).to_string());
                }
                (self.pick(FAMILY).to_string(), given, gender.to_string())
            }
        };
        let age_years = match self.rng.random_range(0..100) {
            0..10 => self.rng.random_range(0..18),
            10..65 => self.rng.random_range(18..65),
            _ => self.rng.random_range(65..96),
        };
        let birth = self.now - age_years * 365 * DAY - self.rng.random_range(0..365) * DAY;
        let (city, state, zip) = *self.pick(CITIES);
        let street = format!("{} {}", self.rng.random_range(1..999), self.pick(STREETS));
        let mut chart = Chart {
            patient: pid.clone(),
            out: Vec::new(),
        };
        chart.out.push(json!({
            "resourceType": "Patient", "id": pid, "active": true,
            "identifier": [{
                "use": "usual",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR", "display": "Medical record number"}]},
                "system": MRN_SYSTEM, "value": format!("{:07}", index + 1)
            }],
            "name": [{"use": "official", "family": family, "given": given}],
            "gender": gender,
            "birthDate": date(birth),
            "telecom": [{"system": "phone", "value": format!("555-{:04}", self.rng.random_range(0..10_000)), "use": "home"}],
            "address": [{"use": "home", "line": [street], "city": city, "state": state,
                         "postalCode": format!("{zip}{:02}", self.rng.random_range(0..100)), "country": "US"}],
            "generalPractitioner": [{"reference": format!("Practitioner/{}", self.practitioner())}],
            "managingOrganization": {"reference": format!("Organization/{ORG_ID}")}
        }));
        // About 1 in 100 is a restricted record (a staff member or a VIP): opening it needs
        // break-the-glass. Chosen by index, so the rest of the data does not change.
        if is_restricted_index(index) {
            chart.out[0]["meta"] =
                json!({"security": [crate::server::auth::policy::restricted_label()]});
        }
        if depth == Depth::Full {
            self.full_chart(&mut chart, index, age_years, large);
        }
        chart.out
    }

    fn full_chart(&mut self, chart: &mut Chart, index: u64, age: i64, large: bool) {
        let n_problems = if large {
            4
        } else {
            self.rng.random_range(0..=((age / 20).min(4) as usize))
        };
        let mut problems: Vec<usize> = Vec::new();
        while problems.len() < n_problems {
            let p = self.rng.random_range(0..PROBLEMS.len());
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        if large && !problems.contains(&10) {
            problems[0] = 10; // chronic kidney disease: dialysis three times a week
        }
        for &p in &problems {
            self.condition(chart, &PROBLEMS[p]);
        }
        self.allergies(chart);
        self.medications(chart, &problems, index);
        for _ in 0..self.rng.random_range(0..=3) {
            self.immunization(chart);
        }
        if self.chance(0.15) {
            let (code, name) = *self.pick(PROCEDURES);
            let when = self.now - self.rng.random_range(30..3000) * DAY;
            chart.out.push(json!({
                "resourceType": "Procedure", "id": self.id(), "status": "completed",
                "code": {"coding": [{"system": SNOMED, "code": code, "display": name}], "text": name},
                "subject": subject(&chart.patient), "performedDateTime": datetime(when),
                "performer": [{"actor": {"reference": format!("Practitioner/{}", self.practitioner())}}]
            }));
        }
        let visits = if large {
            780
        } else {
            self.rng.random_range(1..=6)
        };
        for v in 0..visits {
            let when = if large {
                self.now - (v as i64 * 7 * DAY) / 3 - 30 * DAY
            } else {
                self.now - self.rng.random_range(20..5 * 365) * DAY
            };
            let enc = self.encounter(
                chart,
                "AMB",
                "ambulatory",
                "finished",
                when,
                Some(when + HOUR),
                None,
            );
            self.vitals(chart, &enc, when);
            if large || self.chance(0.4) {
                let panel = if large || self.chance(0.5) {
                    &BMP
                } else {
                    &CBC
                };
                self.panel(chart, &enc, when + HOUR / 2, panel);
            }
            if problems.contains(&1) && self.chance(0.5) {
                self.single(chart, &enc, when + HOUR / 2, &HBA1C, Some((6.5, 10.5)));
            }
            if problems.contains(&3) && self.chance(0.3) {
                self.panel(chart, &enc, when + HOUR / 2, &LIPIDS);
            }
            self.note(chart, &enc, when + HOUR, 0, &problems);
        }
        if !large && self.next_bed < self.beds.len() && self.chance(0.18) {
            self.admission(chart, &problems);
        }
    }

    fn admission(&mut self, chart: &mut Chart, problems: &[usize]) {
        let index = self.next_bed;
        self.next_bed += 1;
        let (ward, bed) = (self.beds[index].ward.clone(), self.beds[index].bed.clone());
        let admitted = self.now - self.rng.random_range(4..24 * 7) * HOUR;
        let enc = self.encounter(
            chart,
            "IMP",
            "inpatient encounter",
            "in-progress",
            admitted,
            None,
            Some((&ward, &bed)),
        );
        self.care_team(chart, &enc, index);
        self.note(chart, &enc, admitted + HOUR, 1, problems);
        if problems.contains(&2) || problems.contains(&9) {
            self.single(chart, &enc, admitted + HOUR, &TROPONIN, None);
        }
        let mut t = admitted;
        while t < self.now {
            self.vitals(chart, &enc, t);
            t += 6 * HOUR;
        }
        let mut day = admitted + 2 * HOUR;
        while day < self.now {
            self.panel(chart, &enc, day, &CBC);
            self.panel(chart, &enc, day, &BMP);
            if problems.contains(&2) {
                self.single(chart, &enc, day, &INR, Some((1.5, 4.5)));
            }
            if day > admitted + DAY && day + 2 * HOUR <= self.now {
                self.note(chart, &enc, day + 2 * HOUR, 0, problems);
            }
            day += DAY;
        }
        for (code, name) in [(BMP.loinc, BMP.name), (CBC.loinc, CBC.name)] {
            chart.out.push(json!({
                "resourceType": "ServiceRequest", "id": self.id(), "status": "active", "intent": "order",
                "priority": "routine",
                "category": [{"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}],
                "code": {"coding": [{"system": LOINC, "code": code, "display": name}], "text": name},
                "subject": subject(&chart.patient), "encounter": reference("Encounter", &enc),
                "authoredOn": datetime(self.now - HOUR),
                "requester": {"reference": format!("Practitioner/{}", self.practitioner())}
            }));
        }
        if self.chance(0.3) {
            chart.out.push(json!({
                "resourceType": "Flag", "id": self.id(), "status": "active",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-category", "code": "safety", "display": "Safety"}]}],
                "code": {"coding": [{"system": SNOMED, "code": "129839007", "display": "At risk for falls"}], "text": "Fall risk"},
                "subject": subject(&chart.patient), "period": {"start": datetime(admitted)},
                "encounter": reference("Encounter", &enc)
            }));
        }
    }

    /// The inpatient's care team: the attending of the stay `enc`, the ward team (by bed), and
    /// on every third bed the demo physician. Made without drawing on the generator, so the
    /// rest of the population is as it was.
    fn care_team(&mut self, chart: &mut Chart, enc: &str, bed: usize) {
        let attending = chart
            .out
            .iter()
            .find(|r| r["resourceType"] == "Encounter" && r["id"] == enc)
            .and_then(|e| e["participant"][0]["individual"]["reference"].as_str())
            .map(str::to_string);
        let mut participant = Vec::new();
        if let Some(attending) = attending {
            participant.push(json!({
                "role": [{"coding": [{"system": SNOMED, "code": "405279007", "display": "Attending physician"}]}],
                "member": {"reference": attending}
            }));
        }
        let (team, name, _) = TEAMS[bed % TEAMS.len()];
        participant
            .push(json!({"member": {"reference": format!("CareTeam/{team}"), "display": name}}));
        if bed % 3 == 0 {
            participant.push(json!({"member": reference("Practitioner", DEMO_STAFF[0].0)}));
        }
        chart.out.push(json!({
            "resourceType": "CareTeam", "id": format!("ct-{}", chart.patient), "status": "active",
            "name": "Inpatient care team",
            "subject": subject(&chart.patient), "encounter": reference("Encounter", enc),
            "participant": participant
        }));
    }

    #[allow(clippy::too_many_arguments)]
    fn encounter(
        &mut self,
        chart: &mut Chart,
        class: &str,
        class_name: &str,
        status: &str,
        start: i64,
        end: Option<i64>,
        location: Option<(&str, &str)>,
    ) -> String {
        let id = self.id();
        let mut period = json!({"start": datetime(start)});
        if let Some(end) = end {
            period["end"] = json!(datetime(end));
        }
        let mut enc = json!({
            "resourceType": "Encounter", "id": id, "status": status,
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": class_name},
            "subject": subject(&chart.patient),
            "participant": [{"individual": {"reference": format!("Practitioner/{}", self.practitioner())}}],
            "period": period,
            "serviceProvider": {"reference": format!("Organization/{ORG_ID}")}
        });
        if let Some((ward, bed)) = location {
            enc["location"] = json!([
                {"location": reference("Location", ward), "status": "active",
                 "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]}},
                {"location": reference("Location", bed), "status": "active",
                 "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd"}]}}
            ]);
        }
        chart.out.push(enc);
        id
    }

    fn note(&mut self, chart: &mut Chart, enc: &str, when: i64, kind: usize, problems: &[usize]) {
        let (code, title) = NOTE_TYPES[kind];
        let list = if problems.is_empty() {
            "No chronic problems.".to_string()
        } else {
            problems
                .iter()
                .map(|&p| PROBLEMS[p].name)
                .collect::<Vec<_>>()
                .join("; ")
        };
        let text = format!(
            "{title}\n\nS: Seen today. Reports feeling {}. No chest pain, no shortness of breath.\n\
             O: Alert and oriented. Vital signs reviewed (see flowsheet).\n\
             A: {list}\n\
             P: Continue current medications. Review results. Follow up as arranged.\n",
            self.pick(&["well", "tired", "better than last visit", "about the same"])
        );
        let author = self.practitioner();
        chart.out.push(json!({
            "resourceType": "DocumentReference", "id": self.id(), "status": "current", "docStatus": "final",
            "type": {"coding": [{"system": LOINC, "code": code, "display": title}], "text": title},
            "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "code": "clinical-note", "display": "Clinical Note"}]}],
            "subject": subject(&chart.patient), "date": instant(when),
            "author": [{"reference": format!("Practitioner/{author}")}],
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "title": title,
                "data": B64.encode(text.as_bytes()), "creation": datetime(when)}}],
            "context": {"encounter": [reference("Encounter", enc)], "period": {"start": datetime(when)}}
        }));
    }
}

fn subject(patient: &str) -> Value {
    reference("Patient", patient)
}

fn reference(rtype: &str, id: &str) -> Value {
    json!({"reference": format!("{rtype}/{id}")})
}

fn component(code: (&str, &str), value: f64, flag: Option<(&str, &str)>) -> Value {
    let mut c = json!({
        "code": {"coding": [{"system": LOINC, "code": code.0, "display": code.1}], "text": code.1},
        "valueQuantity": quantity(value, 0, "mm[Hg]")
    });
    if let Some((code, display)) = flag {
        c["interpretation"] =
            json!([{"coding": [{"system": INTERPRETATION, "code": code, "display": display}]}]);
    }
    c
}

/// A decimal with a fixed number of places, kept exactly as written (`4.10`, not `4.1`).
fn number(value: f64, decimals: usize) -> Value {
    serde_json::from_str::<Number>(&format!("{value:.decimals$}"))
        .map_or(Value::Null, Value::Number)
}

fn fmt_num(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn quantity(value: f64, decimals: usize, unit: &str) -> Value {
    json!({"value": number(value, decimals), "unit": unit, "system": UCUM, "code": unit})
}

fn to_utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn date(ms: i64) -> String {
    to_utc(ms).format("%Y-%m-%d").to_string()
}

fn datetime(ms: i64) -> String {
    to_utc(ms).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn instant(ms: i64) -> String {
    to_utc(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Which seeded patients are restricted records: the 14th of every 100 (0013, 0113, ...).
pub fn is_restricted_index(index: u64) -> bool {
    index % 100 == 13
}

#[cfg(test)]
mod tests;
