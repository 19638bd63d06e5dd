//! Registering a patient, with no UI code: what a registration says, checked; the searches
//! that find likely existing records first (the same name and birth date, the birth date's day
//! and month swapped, the same phone under another surname); which fields of a record found
//! agree; and the Patient (and Coverage) to create. The MRN is the server's to give.

use serde_json::{Value, json};

/// What the registration form holds, trimmed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registration {
    pub family: String,
    pub given: String,
    /// administrative gender: male, female, other, unknown
    pub sex: String,
    pub gender_identity: String,
    pub birth_date: String,
    pub address: String,
    pub city: String,
    pub postcode: String,
    pub phone: String,
    pub email: String,
    pub language: String,
    pub interpreter: bool,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_relationship: String,
    pub gp: String,
    pub insurer: String,
    pub member_number: String,
    pub cover_from: String,
    pub cover_to: String,
}

pub const SEXES: &[&str] = &["female", "male", "other", "unknown"];

fn date(label: &str, text: &str, today: chrono::NaiveDate, past: bool) -> Result<(), String> {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{label} \"{text}\" is not a date (YYYY-MM-DD)"))?;
    if past && d > today {
        return Err(format!("{label} {text} is in the future"));
    }
    if d.format("%Y").to_string().parse::<i32>().unwrap_or(0) < 1880 {
        return Err(format!("{label} {text} is too long ago"));
    }
    Ok(())
}

impl Registration {
    /// What is missing or wrong, in the form's words; empty when it can be registered.
    pub fn problems(&self, today: chrono::NaiveDate) -> Vec<String> {
        let mut out = Vec::new();
        if self.family.is_empty() {
            out.push("the family name is needed".into());
        }
        if self.given.is_empty() {
            out.push("a given name is needed".into());
        }
        if !SEXES.contains(&self.sex.as_str()) {
            out.push("sex is one of female, male, other, unknown".into());
        }
        if self.birth_date.is_empty() {
            out.push("the date of birth is needed (YYYY-MM-DD)".into());
        } else if let Err(e) = date("date of birth", &self.birth_date, today, true) {
            out.push(e);
        }
        if !self.email.is_empty() && !self.email.contains('@') {
            out.push(format!("\"{}\" is not an email address", self.email));
        }
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
        if !self.phone.is_empty() && digits(&self.phone) < 6 {
            out.push(format!("\"{}\" is not a phone number", self.phone));
        }
        for (label, d) in [
            ("cover from", &self.cover_from),
            ("cover to", &self.cover_to),
        ] {
            if !d.is_empty()
                && let Err(e) = date(label, d, today, false)
            {
                out.push(e);
            }
        }
        if !self.member_number.is_empty() && self.insurer.is_empty() {
            out.push("a member number needs its insurer".into());
        }
        if (!self.contact_phone.is_empty() || !self.contact_relationship.is_empty())
            && self.contact_name.is_empty()
        {
            out.push("the emergency contact needs a name".into());
        }
        out
    }

    /// The birth date with day and month swapped (03/04 typed for 04/03), when that is a date.
    pub fn transposed_birth_date(&self) -> Option<String> {
        let d = chrono::NaiveDate::parse_from_str(&self.birth_date, "%Y-%m-%d").ok()?;
        use chrono::Datelike;
        let t = chrono::NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())?;
        (t != d).then(|| t.format("%Y-%m-%d").to_string())
    }

    /// The searches for likely existing records: by name and birth date, by given name and
    /// birth date (a changed surname), by family and the transposed date, by phone.
    pub fn duplicate_searches(&self) -> Vec<Vec<(&'static str, String)>> {
        let mut out = vec![
            vec![
                ("family", self.family.clone()),
                ("birthdate", self.birth_date.clone()),
            ],
            vec![
                ("given", self.given.clone()),
                ("birthdate", self.birth_date.clone()),
            ],
        ];
        if let Some(t) = self.transposed_birth_date() {
            out.push(vec![("family", self.family.clone()), ("birthdate", t)]);
        }
        // A phone is stored as it was typed: the common ways of writing this one are tried.
        for phone in phone_variants(&self.phone) {
            out.push(vec![("phone", phone)]);
        }
        for q in &mut out {
            q.push(("_count", "20".into()));
        }
        out
    }

    /// The Patient to create (no MRN: the server gives it), and a Coverage when an insurer is
    /// named, as a transaction. `id` identifies this registration, so a retry creates nothing
    /// twice.
    pub fn transaction(&self, id: &str) -> Value {
        let mut p = json!({
            "resourceType": "Patient",
            "identifier": [{"system": REGISTRATION_SYSTEM, "value": id}],
            "active": true,
            "name": [{"use": "official", "family": self.family, "given": self.given.split_whitespace().collect::<Vec<_>>()}],
            "gender": self.sex,
            "birthDate": self.birth_date,
        });
        let mut telecom = Vec::new();
        if !self.phone.is_empty() {
            telecom.push(json!({"system": "phone", "value": self.phone}));
        }
        if !self.email.is_empty() {
            telecom.push(json!({"system": "email", "value": self.email}));
        }
        if !telecom.is_empty() {
            p["telecom"] = json!(telecom);
        }
        if !self.address.is_empty() || !self.city.is_empty() || !self.postcode.is_empty() {
            let mut a = json!({"use": "home"});
            if !self.address.is_empty() {
                a["line"] = json!([self.address]);
            }
            if !self.city.is_empty() {
                a["city"] = json!(self.city);
            }
            if !self.postcode.is_empty() {
                a["postalCode"] = json!(self.postcode);
            }
            p["address"] = json!([a]);
        }
        if !self.language.is_empty() {
            p["communication"] = json!([{"language": {"text": self.language}, "preferred": true}]);
        }
        let mut extensions = Vec::new();
        if self.interpreter {
            extensions.push(json!({
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": true,
            }));
        }
        if !self.gender_identity.is_empty() {
            extensions.push(json!({
                "url": "http://hl7.org/fhir/StructureDefinition/patient-genderIdentity",
                "valueCodeableConcept": {"text": self.gender_identity},
            }));
        }
        if !extensions.is_empty() {
            p["extension"] = json!(extensions);
        }
        if !self.contact_name.is_empty() {
            let mut c = json!({
                "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C", "display": "Emergency Contact"}]}],
                "name": {"text": self.contact_name},
            });
            if !self.contact_relationship.is_empty() {
                if let Some(r) = c["relationship"].as_array_mut() {
                    r.push(json!({"text": self.contact_relationship}));
                }
            }
            if !self.contact_phone.is_empty() {
                c["telecom"] = json!([{"system": "phone", "value": self.contact_phone}]);
            }
            p["contact"] = json!([c]);
        }
        if !self.gp.is_empty() {
            p["generalPractitioner"] = json!([{"display": self.gp}]);
        }
        let patient_url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let mut entries = vec![json!({
            "fullUrl": patient_url,
            "resource": p,
            "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier={REGISTRATION_SYSTEM}|{id}")},
        })];
        if !self.insurer.is_empty() {
            let mut c = json!({
                "resourceType": "Coverage",
                "identifier": [{"system": REGISTRATION_SYSTEM, "value": format!("{id}-coverage")}],
                "status": "active",
                "beneficiary": {"reference": patient_url},
                "payor": [{"display": self.insurer}],
            });
            if !self.member_number.is_empty() {
                c["subscriberId"] = json!(self.member_number);
            }
            if !self.cover_from.is_empty() || !self.cover_to.is_empty() {
                let mut period = json!({});
                if !self.cover_from.is_empty() {
                    period["start"] = json!(self.cover_from);
                }
                if !self.cover_to.is_empty() {
                    period["end"] = json!(self.cover_to);
                }
                c["period"] = period;
            }
            entries.push(json!({
                "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                "resource": c,
                "request": {"method": "POST", "url": "Coverage", "ifNoneExist": format!("identifier={REGISTRATION_SYSTEM}|{id}-coverage")},
            }));
        }
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    }
}

/// `phone` as typed, in digits only, and grouped as numbers are usually written (UK
/// `07700 900123`, `0113 496 0000`; North American `555-123-4567`, `(555) 123-4567`).
pub fn phone_variants(phone: &str) -> Vec<String> {
    let d = digits(phone);
    if d.len() < 6 {
        return Vec::new();
    }
    let mut out = vec![phone.trim().to_string(), d.clone()];
    if d.len() == 11 {
        out.push(format!("{} {}", &d[..5], &d[5..]));
        out.push(format!("{} {} {}", &d[..4], &d[4..7], &d[7..]));
    }
    if d.len() == 10 {
        out.push(format!("{}-{}-{}", &d[..3], &d[3..6], &d[6..]));
        out.push(format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..]));
    }
    let mut seen = Vec::new();
    out.retain(|p| {
        let new = !seen.contains(p);
        seen.push(p.clone());
        new
    });
    out
}

/// The identifier a registration carries, so that sending it again creates nothing twice.
pub const REGISTRATION_SYSTEM: &str = "urn:bedside:registration";

/// A record the duplicate search found, and which of the registration's fields it agrees on.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    pub mrn: Option<String>,
    pub phone: Option<String>,
    pub postcode: Option<String>,
    /// "family", "given", "birth date", "birth date (day and month swapped)", "phone",
    /// "postcode".
    pub agrees: Vec<&'static str>,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The records found, each once, with what agrees; the most agreeing first.
pub fn candidates(reg: &Registration, found: &[Value]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for p in found {
        let Some(id) = p["id"].as_str() else { continue };
        if p["resourceType"] != "Patient" || out.iter().any(|c| c.id == id) {
            continue;
        }
        let name = &p["name"][0];
        let family = name["family"].as_str().unwrap_or("").to_string();
        let given: Vec<&str> = name["given"]
            .as_array()
            .map(|g| g.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let birth = p["birthDate"].as_str().unwrap_or("").to_string();
        let phone = p["telecom"].as_array().and_then(|t| {
            t.iter()
                .find(|x| x["system"] == "phone")
                .and_then(|x| x["value"].as_str())
                .map(str::to_string)
        });
        let postcode = p["address"][0]["postalCode"].as_str().map(str::to_string);
        let mut agrees = Vec::new();
        if family.eq_ignore_ascii_case(&reg.family) {
            agrees.push("family");
        }
        if given.first().is_some_and(|g| {
            reg.given
                .split_whitespace()
                .next()
                .is_some_and(|r| r.eq_ignore_ascii_case(g))
        }) {
            agrees.push("given");
        }
        if birth == reg.birth_date {
            agrees.push("birth date");
        } else if reg.transposed_birth_date().as_deref() == Some(birth.as_str()) {
            agrees.push("birth date (day and month swapped)");
        }
        if !reg.phone.is_empty()
            && phone
                .as_deref()
                .is_some_and(|x| digits(x) == digits(&reg.phone))
        {
            agrees.push("phone");
        }
        if !reg.postcode.is_empty()
            && postcode.as_deref().is_some_and(|x| {
                x.replace(' ', "")
                    .eq_ignore_ascii_case(&reg.postcode.replace(' ', ""))
            })
        {
            agrees.push("postcode");
        }
        out.push(Candidate {
            id: id.to_string(),
            name: format!("{}, {}", family.to_uppercase(), given.join(" ")),
            birth_date: birth,
            mrn: crate::workstation::chart::read_patient(p).and_then(|x| x.mrn),
            phone,
            postcode,
            agrees,
        });
    }
    out.sort_by_key(|c| std::cmp::Reverse(c.agrees.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registration {
        Registration {
            family: "Okafor".into(),
            given: "Ada".into(),
            sex: "female".into(),
            birth_date: "1950-03-04".into(),
            phone: "07700 900123".into(),
            ..Default::default()
        }
    }

    #[test]
    fn checks_and_searches() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert!(reg().problems(today).is_empty());
        let bad = Registration {
            birth_date: "2030-01-01".into(),
            sex: "f".into(),
            email: "nope".into(),
            member_number: "X1".into(),
            ..reg()
        };
        let p = bad.problems(today);
        assert_eq!(p.len(), 4, "{p:?}");
        assert_eq!(reg().transposed_birth_date().as_deref(), Some("1950-04-03"));
        let s = reg().duplicate_searches();
        assert_eq!(s.len(), 6, "{s:?}");
        assert!(s[2].contains(&("birthdate", "1950-04-03".into())));
        assert!(s[3].contains(&("phone", "07700 900123".into())));
        assert!(s[4].contains(&("phone", "07700900123".into())));
        assert_eq!(
            phone_variants("555.123.4567"),
            [
                "555.123.4567",
                "5551234567",
                "555-123-4567",
                "(555) 123-4567"
            ]
        );
    }

    #[test]
    fn candidates_say_what_agrees() {
        let found = vec![
            json!({"resourceType": "Patient", "id": "a", "name": [{"family": "Okafor", "given": ["Ada"]}], "birthDate": "1950-03-04"}),
            json!({"resourceType": "Patient", "id": "b", "name": [{"family": "Mensah", "given": ["Ada"]}], "birthDate": "1961-01-01",
                   "telecom": [{"system": "phone", "value": "07700900123"}]}),
            json!({"resourceType": "Patient", "id": "c", "name": [{"family": "Okafor", "given": ["Ada"]}], "birthDate": "1950-04-03"}),
            json!({"resourceType": "Patient", "id": "a", "name": [{"family": "Okafor"}]}),
        ];
        let c = candidates(&reg(), &found);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].agrees, ["family", "given", "birth date"]);
        let b = c.iter().find(|x| x.id == "b").unwrap();
        assert_eq!(b.agrees, ["given", "phone"]);
        let t = c.iter().find(|x| x.id == "c").unwrap();
        assert!(t.agrees.contains(&"birth date (day and month swapped)"));
    }

    #[test]
    fn the_patient_and_its_cover() {
        let r = Registration {
            insurer: "Northern Health".into(),
            member_number: "NH-1".into(),
            cover_from: "2026-01-01".into(),
            interpreter: true,
            language: "Yoruba".into(),
            contact_name: "Chidi Okafor".into(),
            contact_relationship: "son".into(),
            ..reg()
        };
        let b = r.transaction("r1");
        let p = &b["entry"][0]["resource"];
        assert_eq!(p["name"][0]["family"], "Okafor");
        assert_eq!(p["identifier"][0]["system"], REGISTRATION_SYSTEM);
        assert_eq!(p["extension"][0]["valueBoolean"], true);
        assert_eq!(p["contact"][0]["relationship"][0]["coding"][0]["code"], "C");
        let c = &b["entry"][1]["resource"];
        assert_eq!(c["beneficiary"]["reference"], b["entry"][0]["fullUrl"]);
        assert_eq!(c["subscriberId"], "NH-1");
        assert_eq!(c["period"]["start"], "2026-01-01");
    }
}
