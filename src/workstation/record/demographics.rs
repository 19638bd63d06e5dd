//! Editing a registered patient, with no UI code: the form's fields read from a Patient as the
//! server holds it, and the Patient written back with only the fields that were changed
//! replaced, everything the form does not show (identifiers and the MRN, other names and
//! numbers, links, labels, extensions of other kinds) kept as it was. A three-way merge of the
//! form's fields answers an edit that crossed another one.

use serde_json::{Map, Value, json};

use super::concept_words;
use super::registration::Registration;

const INTERPRETER: &str = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired";
const GENDER_IDENTITY: &str = "http://hl7.org/fhir/StructureDefinition/patient-genderIdentity";
const EMERGENCY: &str = "C";

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Which of a Patient's names the form shows: the official one, else the usual, else the
/// first.
fn name_at(p: &Value) -> Option<usize> {
    let names = p["name"].as_array()?;
    ["official", "usual"]
        .iter()
        .find_map(|u| names.iter().position(|n| n["use"] == *u))
        .or((!names.is_empty()).then_some(0))
}

fn address_at(p: &Value) -> Option<usize> {
    let list = p["address"].as_array()?;
    list.iter()
        .position(|a| a["use"] == "home")
        .or((!list.is_empty()).then_some(0))
}

fn telecom_at(p: &Value, system: &str) -> Option<usize> {
    p["telecom"]
        .as_array()?
        .iter()
        .position(|t| t["system"] == system)
}

fn language_at(p: &Value) -> Option<usize> {
    let list = p["communication"].as_array()?;
    list.iter()
        .position(|c| c["preferred"] == true)
        .or((!list.is_empty()).then_some(0))
}

fn is_emergency(c: &Value) -> bool {
    c["relationship"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["coding"].as_array().into_iter().flatten())
        .any(|x| x["code"] == EMERGENCY)
}

fn contact_at(p: &Value) -> Option<usize> {
    let list = p["contact"].as_array()?;
    list.iter()
        .position(is_emergency)
        .or((!list.is_empty()).then_some(0))
}

fn extension<'a>(p: &'a Value, url: &str) -> Option<&'a Value> {
    p["extension"].as_array()?.iter().find(|e| e["url"] == url)
}

fn contact_name(c: &Value) -> String {
    let n = &c["name"];
    if let Some(t) = n["text"].as_str() {
        return t.to_string();
    }
    let given: Vec<&str> = n["given"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut words = given.join(" ");
    if let Some(f) = n["family"].as_str() {
        if !words.is_empty() {
            words.push(' ');
        }
        words.push_str(f);
    }
    words
}

/// The relationship in words, other than "emergency contact" itself.
fn contact_relationship(c: &Value) -> String {
    c["relationship"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            !r["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["code"] == EMERGENCY)
        })
        .map(concept_words)
        .find(|w| !w.is_empty())
        .unwrap_or_default()
}

/// The form's fields as `patient` holds them (insurance is a Coverage of its own, not here).
pub fn from_patient(p: &Value) -> Registration {
    let name = name_at(p).map(|i| &p["name"][i]);
    let given = name
        .and_then(|n| n["given"].as_array())
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let address = address_at(p).map(|i| &p["address"][i]);
    let telecom = |system: &str| {
        telecom_at(p, system)
            .map(|i| text(&p["telecom"][i]["value"]))
            .unwrap_or_default()
    };
    let contact = contact_at(p).map(|i| &p["contact"][i]);
    let contact_phone = contact
        .and_then(|c| c["telecom"].as_array())
        .and_then(|t| t.iter().find(|x| x["system"] == "phone"))
        .map(|x| text(&x["value"]))
        .unwrap_or_default();
    Registration {
        family: name.map(|n| text(&n["family"])).unwrap_or_default(),
        given,
        sex: text(&p["gender"]),
        gender_identity: extension(p, GENDER_IDENTITY)
            .map(|e| concept_words(&e["valueCodeableConcept"]))
            .unwrap_or_default(),
        birth_date: text(&p["birthDate"]),
        address: address
            .and_then(|a| a["line"].as_array())
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        city: address.map(|a| text(&a["city"])).unwrap_or_default(),
        postcode: address.map(|a| text(&a["postalCode"])).unwrap_or_default(),
        phone: telecom("phone"),
        email: telecom("email"),
        language: language_at(p)
            .map(|i| concept_words(&p["communication"][i]["language"]))
            .unwrap_or_default(),
        interpreter: extension(p, INTERPRETER).is_some_and(|e| e["valueBoolean"] == true),
        contact_name: contact.map(contact_name).unwrap_or_default(),
        contact_phone,
        contact_relationship: contact.map(contact_relationship).unwrap_or_default(),
        gp: p["generalPractitioner"][0]["display"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        ..Registration::default()
    }
}

/// Sets `key` of the object `o` to the string `value`, or removes it when `value` is empty.
fn set_or_remove(o: &mut Map<String, Value>, key: &str, value: &str) {
    if value.is_empty() {
        o.remove(key);
    } else {
        o.insert(key.into(), json!(value));
    }
}

/// Runs `f` on the list `key` of the object `p` (empty when missing), then stores it back, or
/// drops the element when the list is left empty.
fn with_list<R>(p: &mut Value, key: &str, f: impl FnOnce(&mut Vec<Value>) -> R) -> R {
    let mut items = match p.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let out = f(&mut items);
    if let Some(o) = p.as_object_mut() {
        if items.is_empty() {
            o.remove(key);
        } else {
            o.insert(key.into(), Value::Array(items));
        }
    }
    out
}

/// Sets `key` of the object `o` to `value`.
fn put(o: &mut Value, key: &str, value: Value) {
    if let Some(o) = o.as_object_mut() {
        o.insert(key.into(), value);
    }
}

/// Sets (or removes, when `value` is None) the extension `url` of `p`.
fn set_extension(p: &mut Value, url: &str, value: Option<Value>) {
    with_list(p, "extension", |l| {
        let at = l.iter().position(|e| e["url"] == url);
        match (at, value) {
            (Some(i), Some(v)) => l[i] = v,
            (None, Some(v)) => l.push(v),
            (Some(i), None) => {
                l.remove(i);
            }
            (None, None) => {}
        }
    });
}

fn set_telecom(p: &mut Value, system: &str, value: &str) {
    let at = telecom_at(p, system);
    with_list(p, "telecom", |l| match at {
        Some(i) if value.is_empty() => {
            l.remove(i);
        }
        Some(i) => put(&mut l[i], "value", json!(value)),
        None if value.is_empty() => {}
        None => l.push(json!({"system": system, "value": value})),
    });
}

impl Registration {
    /// `base` (the Patient as read) with the fields this form changed from what `base` says
    /// written in; everything else in `base` is kept as it was.
    pub fn apply_to(&self, base: &Value) -> Value {
        let was = from_patient(base);
        let mut p = base.clone();
        if !p.is_object() {
            return p;
        }
        if self.family != was.family || self.given != was.given {
            let at = name_at(&p);
            with_list(&mut p, "name", |names| {
                let i = at.unwrap_or_else(|| {
                    names.push(json!({"use": "official"}));
                    names.len() - 1
                });
                if let Some(n) = names[i].as_object_mut() {
                    set_or_remove(n, "family", &self.family);
                    let given: Vec<&str> = self.given.split_whitespace().collect();
                    if given.is_empty() {
                        n.remove("given");
                    } else {
                        n.insert("given".into(), json!(given));
                    }
                    // A text written for the old name would contradict the new one.
                    if n.contains_key("text") {
                        n.insert(
                            "text".into(),
                            json!(format!("{} {}", self.given, self.family).trim()),
                        );
                    }
                }
            });
        }
        if self.sex != was.sex {
            put(&mut p, "gender", json!(self.sex));
        }
        if self.birth_date != was.birth_date {
            put(&mut p, "birthDate", json!(self.birth_date));
        }
        if self.gender_identity != was.gender_identity {
            let value = (!self.gender_identity.is_empty()).then(|| {
                json!({"url": GENDER_IDENTITY, "valueCodeableConcept": {"text": self.gender_identity}})
            });
            set_extension(&mut p, GENDER_IDENTITY, value);
        }
        if self.interpreter != was.interpreter {
            let had = extension(base, INTERPRETER).is_some();
            let value = (self.interpreter || had)
                .then(|| json!({"url": INTERPRETER, "valueBoolean": self.interpreter}));
            set_extension(&mut p, INTERPRETER, value);
        }
        if self.address != was.address || self.city != was.city || self.postcode != was.postcode {
            let at = address_at(&p);
            with_list(&mut p, "address", |addresses| {
                let i = at.unwrap_or_else(|| {
                    addresses.push(json!({"use": "home"}));
                    addresses.len() - 1
                });
                if let Some(a) = addresses[i].as_object_mut() {
                    if self.address != was.address {
                        if self.address.is_empty() {
                            a.remove("line");
                        } else {
                            a.insert("line".into(), json!([self.address]));
                        }
                    }
                    set_or_remove(a, "city", &self.city);
                    set_or_remove(a, "postalCode", &self.postcode);
                    // Postal text written for the old address would contradict the new one.
                    a.remove("text");
                }
                let empty = addresses[i]
                    .as_object()
                    .is_some_and(|a| a.keys().all(|k| k == "use"));
                if empty {
                    addresses.remove(i);
                }
            });
        }
        if self.phone != was.phone {
            set_telecom(&mut p, "phone", &self.phone);
        }
        if self.email != was.email {
            set_telecom(&mut p, "email", &self.email);
        }
        if self.language != was.language {
            let at = language_at(&p);
            with_list(&mut p, "communication", |l| match at {
                Some(i) if self.language.is_empty() => {
                    l.remove(i);
                }
                Some(i) => put(&mut l[i], "language", json!({"text": self.language})),
                None if self.language.is_empty() => {}
                None => l.push(json!({"language": {"text": self.language}, "preferred": true})),
            });
        }
        if self.contact_name != was.contact_name
            || self.contact_phone != was.contact_phone
            || self.contact_relationship != was.contact_relationship
        {
            let at = contact_at(&p);
            with_list(&mut p, "contact", |contacts| {
                if self.contact_name.is_empty() {
                    if let Some(i) = at {
                        contacts.remove(i);
                    }
                } else {
                    let mut c = json!({
                        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": EMERGENCY, "display": "Emergency Contact"}]}],
                        "name": {"text": self.contact_name},
                    });
                    if !self.contact_relationship.is_empty()
                        && let Some(r) = c["relationship"].as_array_mut()
                    {
                        r.push(json!({"text": self.contact_relationship}));
                    }
                    if !self.contact_phone.is_empty() {
                        c["telecom"] = json!([{"system": "phone", "value": self.contact_phone}]);
                    }
                    match at {
                        Some(i) => {
                            // What the form does not show of this contact stays (address, period).
                            if let (Some(old), Some(new)) =
                                (contacts[i].as_object_mut(), c.as_object())
                            {
                                for k in ["relationship", "name", "telecom"] {
                                    old.remove(k);
                                }
                                for (k, v) in new {
                                    old.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        None => contacts.push(c),
                    }
                }
            });
        }
        if self.gp != was.gp {
            with_list(&mut p, "generalPractitioner", |l| {
                match (l.is_empty(), self.gp.is_empty()) {
                    (false, true) => {
                        l.remove(0);
                    }
                    // A new name is no longer the practitioner the reference pointed to.
                    (false, false) => l[0] = json!({"display": self.gp}),
                    (true, false) => l.push(json!({"display": self.gp})),
                    (true, true) => {}
                }
            });
        }
        p
    }
}

/// The form's fields of an edit that crossed another: where this user changed a field from
/// `base`, theirs; elsewhere, what the server now holds (`theirs`), so another user's changes
/// to other fields are kept. Also the fields both changed differently, by index.
pub fn merge(base: &[String], mine: &[String], theirs: &[String]) -> (Vec<String>, Vec<usize>) {
    let mut out = Vec::with_capacity(mine.len());
    let mut both = Vec::new();
    for (i, m) in mine.iter().enumerate() {
        let b = base.get(i).map(String::as_str).unwrap_or_default();
        let m = m.as_str();
        let t = theirs.get(i).map(String::as_str).unwrap_or_default();
        if m.trim() != b.trim() {
            if t.trim() != b.trim() && t.trim() != m.trim() {
                both.push(i);
            }
            out.push(m.to_string());
        } else {
            out.push(t.to_string());
        }
    }
    (out, both)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Value {
        json!({
            "resourceType": "Patient", "id": "p1", "meta": {"versionId": "3"},
            "identifier": [{"system": "http://hospital.example/mrn", "value": "0000042"}],
            "active": true,
            "name": [{"use": "maiden", "family": "Old"}, {"use": "official", "family": "Smiht", "given": ["Ann", "Marie"], "prefix": ["Mrs"]}],
            "gender": "female", "birthDate": "1950-04-03",
            "telecom": [{"system": "phone", "value": "0113 496 0000", "use": "home"}, {"system": "phone", "value": "07700 900123", "use": "mobile"}],
            "address": [{"use": "home", "line": ["1 Leaf Lane", "Flat 2"], "city": "Leeds", "postalCode": "LS1 1AA", "country": "GB"}],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "fr", "display": "French"}]}, "preferred": true}],
            "extension": [{"url": "http://example.org/other", "valueString": "kept"}],
            "contact": [{"relationship": [{"coding": [{"code": "C"}]}, {"text": "son"}], "name": {"family": "Smith", "given": ["Tom"]}, "address": {"city": "York"}}],
            "generalPractitioner": [{"reference": "Practitioner/gp1", "display": "Dr Brown"}],
            "link": [{"other": {"reference": "Patient/old"}, "type": "replaces"}]
        })
    }

    #[test]
    fn the_form_reads_what_the_server_holds() {
        let r = from_patient(&stored());
        assert_eq!(r.family, "Smiht");
        assert_eq!(r.given, "Ann Marie");
        assert_eq!(r.address, "1 Leaf Lane, Flat 2");
        assert_eq!(r.phone, "0113 496 0000");
        assert_eq!(r.language, "French");
        assert_eq!(r.contact_name, "Tom Smith");
        assert_eq!(r.contact_relationship, "son");
        assert_eq!(r.gp, "Dr Brown");
        assert!(!r.interpreter);
    }

    #[test]
    fn nothing_changed_writes_the_same_resource() {
        let base = stored();
        assert_eq!(from_patient(&base).apply_to(&base), base);
    }

    #[test]
    fn only_what_changed_is_written_the_rest_kept() {
        let base = stored();
        let mut r = from_patient(&base);
        r.family = "Smith".into();
        r.interpreter = true;
        r.email = "ann@example.org".into();
        let p = r.apply_to(&base);
        assert_eq!(p["name"][1]["family"], "Smith");
        assert_eq!(p["name"][1]["prefix"][0], "Mrs");
        assert_eq!(p["name"][0], base["name"][0]);
        assert_eq!(p["identifier"], base["identifier"]);
        assert_eq!(p["link"], base["link"]);
        assert_eq!(p["address"], base["address"], "untouched lines kept");
        assert_eq!(p["generalPractitioner"], base["generalPractitioner"]);
        assert_eq!(p["extension"][0]["valueString"], "kept");
        assert_eq!(p["extension"][1]["valueBoolean"], true);
        assert_eq!(p["telecom"].as_array().unwrap().len(), 3);
        // Changing the GP's name drops the reference it no longer matches; emptying the
        // contact removes it; a new city keeps the street.
        r.gp = "Dr Green".into();
        r.contact_name.clear();
        r.contact_relationship.clear();
        r.city = "Bradford".into();
        let p = r.apply_to(&base);
        assert_eq!(p["generalPractitioner"], json!([{"display": "Dr Green"}]));
        assert!(p.get("contact").is_none());
        assert_eq!(p["address"][0]["line"], base["address"][0]["line"]);
        assert_eq!(p["address"][0]["city"], "Bradford");
        assert_eq!(from_patient(&p).city, "Bradford");
    }

    #[test]
    fn a_crossed_edit_keeps_both_sides_changes() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let base = s(&["Smiht", "Ann", "0113"]);
        let mine = s(&["Smith", "Ann", "0113"]);
        let theirs = s(&["Smyth", "Anne", "0113"]);
        let (merged, both) = merge(&base, &mine, &theirs);
        assert_eq!(merged, s(&["Smith", "Anne", "0113"]));
        assert_eq!(both, [0]);
    }
}
