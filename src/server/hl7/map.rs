//! HL7 v2 segments to FHIR R4, following the HL7 v2-to-FHIR implementation guide's
//! mappings (PID → Patient, PV1 → Encounter, their data types: CX → Identifier, XPN →
//! HumanName, XAD → Address, XTN → ContactPoint, TS/DTM → dateTime). Pure: what a segment
//! says, as a resource; matching to stored records is the caller's.

use serde_json::{Map, Value, json};

use super::parse::{Field, Segment};

/// `YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]` as a FHIR date or dateTime (a date when no time
/// is given); `None` when it is not such a time.
pub fn date_time(ts: &str) -> Option<String> {
    let ts = ts.trim();
    let (main, zone) = match ts.find(['+', '-']) {
        Some(i) if i >= 4 => (&ts[..i], Some(&ts[i..])),
        _ => (ts, None),
    };
    let (digits, fraction) = match main.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (main, None),
    };
    if !digits.chars().all(|c| c.is_ascii_digit())
        || !matches!(digits.len(), 4 | 6 | 8 | 10 | 12 | 14)
    {
        return None;
    }
    let part = |a: usize, b: usize| digits.get(a..b);
    let (y, mo, d) = (part(0, 4)?, part(4, 6), part(6, 8));
    if let Some(m) = mo {
        if !(1..=12).contains(&m.parse::<u8>().ok()?) {
            return None;
        }
    }
    if let Some(day) = d {
        if !(1..=31).contains(&day.parse::<u8>().ok()?) {
            return None;
        }
    }
    if digits.len() <= 8 {
        return Some(match (mo, d) {
            (Some(m), Some(day)) => format!("{y}-{m}-{day}"),
            (Some(m), None) => format!("{y}-{m}"),
            _ => y.to_string(),
        });
    }
    let h = part(8, 10)?;
    let mi = part(10, 12).unwrap_or("00");
    let s = part(12, 14).unwrap_or("00");
    if h.parse::<u8>().ok()? > 23 || mi.parse::<u8>().ok()? > 59 || s.parse::<u8>().ok()? > 59 {
        return None;
    }
    let frac = fraction
        .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
        .map(|f| format!(".{}", &f[..f.len().min(3)]))
        .unwrap_or_default();
    // A time without a zone is the sender's local time; FHIR needs one: taken as UTC and
    // said so by the caller's Provenance (the interface's configuration names the zone).
    let zone = match zone {
        Some(z) if z.len() == 5 && z[1..].chars().all(|c| c.is_ascii_digit()) => {
            format!("{}:{}", &z[..3], &z[3..])
        }
        _ => "+00:00".to_string(),
    };
    Some(format!("{}-{}-{}T{h}:{mi}:{s}{frac}{zone}", y, mo?, d?))
}

/// CX → Identifier: value, the assigning authority as the system (`urn:hl7v2:authority:NAME`
/// unless `systems` names its URI), the identifier type code (MR, NH, PI...).
pub fn identifier(f: &Field, r: usize, systems: &dyn Fn(&str) -> Option<String>) -> Option<Value> {
    let value = f.component(r, 1).trim();
    if value.is_empty() {
        return None;
    }
    let authority = f.component(r, 4);
    let mut id = Map::new();
    let type_code = f.component(r, 5);
    if !type_code.is_empty() {
        id.insert(
            "type".into(),
            json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": type_code}]}),
        );
    }
    if !authority.is_empty() {
        let system = systems(authority)
            .unwrap_or_else(|| format!("urn:hl7v2:authority:{}", authority.replace(' ', "_")));
        id.insert("system".into(), json!(system));
        id.insert("assigner".into(), json!({"display": authority}));
    }
    id.insert("value".into(), json!(value));
    Some(Value::Object(id))
}

/// XPN → HumanName.
pub fn name(f: &Field, r: usize) -> Option<Value> {
    let family = f.component(r, 1).trim();
    let given: Vec<&str> = [f.component(r, 2), f.component(r, 3)]
        .into_iter()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    if family.is_empty() && given.is_empty() {
        return None;
    }
    let mut n = Map::new();
    let use_ = match f.component(r, 7) {
        "L" => Some("official"),
        "A" => Some("nickname"),
        "M" => Some("maiden"),
        "B" => Some("old"),
        _ => None,
    };
    if let Some(u) = use_ {
        n.insert("use".into(), json!(u));
    }
    if !family.is_empty() {
        n.insert("family".into(), json!(title_case(family)));
    }
    if !given.is_empty() {
        n.insert(
            "given".into(),
            json!(given.iter().map(|g| title_case(g)).collect::<Vec<_>>()),
        );
    }
    for (k, c) in [("suffix", 4), ("prefix", 5)] {
        let v = f.component(r, c).trim();
        if !v.is_empty() {
            n.insert(k.into(), json!([v]));
        }
    }
    Some(Value::Object(n))
}

/// Names sent in capitals (as most systems send them) are written as names are written.
fn title_case(s: &str) -> String {
    if s.chars().any(|c| c.is_lowercase()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphabetic();
    }
    out
}

/// XAD → Address.
pub fn address(f: &Field, r: usize) -> Option<Value> {
    let lines: Vec<&str> = [f.component(r, 1), f.component(r, 2)]
        .into_iter()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut a = Map::new();
    if !lines.is_empty() {
        a.insert("line".into(), json!(lines));
    }
    for (k, c) in [("city", 3), ("state", 4), ("postalCode", 5), ("country", 6)] {
        let v = f.component(r, c).trim();
        if !v.is_empty() {
            a.insert(k.into(), json!(v));
        }
    }
    if a.is_empty() {
        return None;
    }
    match f.component(r, 7) {
        "H" => {
            a.insert("use".into(), json!("home"));
        }
        "B" | "O" => {
            a.insert("use".into(), json!("work"));
        }
        _ => {}
    }
    Some(Value::Object(a))
}

/// XTN → ContactPoint: the unformatted number (component 12, 2.5+), else the first.
pub fn telecom(f: &Field, r: usize, work: bool) -> Option<Value> {
    let email = f.component(r, 4).trim();
    if f.component(r, 3) == "Internet" || (!email.is_empty() && email.contains('@')) {
        return Some(json!({"system": "email", "value": email}));
    }
    // The unformatted number (2.5+), the number as written, or area code and local number.
    let parts = {
        let (area, local, ext) = (f.component(r, 6), f.component(r, 7), f.component(r, 8));
        let mut n = match (area.is_empty(), local.is_empty()) {
            (_, true) => String::new(),
            (true, false) => local.to_string(),
            (false, false) => format!("({area}) {local}"),
        };
        if !n.is_empty() && !ext.is_empty() {
            n.push_str(&format!(" ext {ext}"));
        }
        n
    };
    let number = [
        f.component(r, 12).trim(),
        f.component(r, 1).trim(),
        parts.as_str(),
    ]
    .into_iter()
    .find(|n| !n.is_empty())?
    .to_string();
    let system = if f.component(r, 3) == "FX" {
        "fax"
    } else {
        "phone"
    };
    let use_ = match f.component(r, 2) {
        "WPN" => "work",
        "PRN" | "ORN" | "VHN" => "home",
        _ if work => "work",
        _ => "home",
    };
    let use_ = if f.component(r, 3) == "CP" {
        "mobile"
    } else {
        use_
    };
    Some(json!({"system": system, "value": number, "use": use_}))
}

fn each<T>(f: Option<&Field>, mut one: impl FnMut(&Field, usize) -> Option<T>) -> Vec<T> {
    let Some(f) = f else { return Vec::new() };
    (0..f.repetitions.len()).filter_map(|r| one(f, r)).collect()
}

/// PID → Patient (without id and meta: the caller matches it to a stored record).
pub fn patient(pid: &Segment, systems: &dyn Fn(&str) -> Option<String>) -> Value {
    let mut p = Map::new();
    p.insert("resourceType".into(), json!("Patient"));
    let ids = each(pid.field(3), |f, r| identifier(f, r, systems));
    if !ids.is_empty() {
        p.insert("identifier".into(), json!(ids));
    }
    let names = each(pid.field(5), name);
    if !names.is_empty() {
        p.insert("name".into(), json!(names));
    }
    if let Some(b) = date_time(pid.text(7)) {
        p.insert("birthDate".into(), json!(&b[..b.len().min(10)]));
    }
    let gender = match pid.text(8) {
        "M" => Some("male"),
        "F" => Some("female"),
        "O" | "A" | "N" => Some("other"),
        "U" => Some("unknown"),
        _ => None,
    };
    if let Some(g) = gender {
        p.insert("gender".into(), json!(g));
    }
    let addresses = each(pid.field(11), address);
    if !addresses.is_empty() {
        p.insert("address".into(), json!(addresses));
    }
    let mut telecoms = each(pid.field(13), |f, r| telecom(f, r, false));
    telecoms.extend(each(pid.field(14), |f, r| telecom(f, r, true)));
    if !telecoms.is_empty() {
        p.insert("telecom".into(), json!(telecoms));
    }
    match (date_time(pid.text(29)), pid.text(30)) {
        (Some(when), _) => {
            p.insert("deceasedDateTime".into(), json!(when));
        }
        (None, "Y") => {
            p.insert("deceasedBoolean".into(), json!(true));
        }
        _ => {}
    }
    Value::Object(p)
}

/// PV1 → Encounter (without subject, id and meta). `status` from the trigger: A01/A02
/// in-progress, A03 finished, A04 arrived (registered), A11 cancelled.
pub fn encounter(pv1: &Segment, status: &str) -> Value {
    let mut e = Map::new();
    e.insert("resourceType".into(), json!("Encounter"));
    e.insert("status".into(), json!(status));
    let (code, display) = match pv1.text(2) {
        "I" => ("IMP", "inpatient encounter"),
        "E" => ("EMER", "emergency"),
        "P" => ("PRENC", "pre-admission"),
        "B" | "O" | "R" => ("AMB", "ambulatory"),
        _ => ("AMB", "ambulatory"),
    };
    e.insert(
        "class".into(),
        json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display}),
    );
    let visit = pv1.field(19).and_then(|f| identifier(f, 0, &|_| None));
    if let Some(v) = visit {
        e.insert("identifier".into(), json!([v]));
    }
    let mut period = Map::new();
    if let Some(s) = date_time(pv1.text(44)) {
        period.insert("start".into(), json!(s));
    }
    if let Some(s) = date_time(pv1.text(45)) {
        period.insert("end".into(), json!(s));
    }
    if !period.is_empty() {
        e.insert("period".into(), Value::Object(period));
    }
    let attending = pv1.field(7);
    if let Some(a) = attending.filter(|a| !a.is_empty()) {
        let display = [a.component(0, 2), a.component(0, 3)]
            .into_iter()
            .filter(|x| !x.is_empty())
            .map(title_case)
            .collect::<Vec<_>>()
            .join(", ");
        e.insert(
            "participant".into(),
            json!([{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
                "individual": {"identifier": {"value": a.component(0, 1)}, "display": display}}]),
        );
    }
    Value::Object(e)
}

/// PV1-3 (PL): point of care, room, bed, facility.
pub fn location(pv1: &Segment) -> Option<(String, String, String)> {
    let f = pv1.field(3)?;
    let ward = f.component(0, 1).trim();
    if ward.is_empty() {
        return None;
    }
    Some((
        ward.to_string(),
        f.component(0, 2).trim().to_string(),
        f.component(0, 3).trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    const ADT: &str = "MSH|^~\\&|ADMIT|GENHOSP|BEDSIDE|WARD|20261202083000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\rEVN|A01|20261202083000\rPID|1||0012345^^^GENHOSP^MR~9434765919^^^NHS^NH||O'BRIEN^CATHERINE^MARY^^MRS^^L||19560304|F|||12 Mill Lane^Flat 2^Springfield^IL^62701^USA^H||^PRN^PH^^^555^0102233^^^^^5550102233~^NET^Internet^cat@example.org|^WPN^PH^^^555^0109999||||||||||||||||N\rPV1|1|I|WARD7^12^B^GENHOSP||||1234^HOUSE^GREGORY||||||||||||V555^^^GENHOSP^VN|||||||||||||||||||||||||20261202080000\r";

    #[test]
    fn pid_is_a_patient() {
        let m = parse(ADT, false).unwrap();
        let systems = |a: &str| (a == "GENHOSP").then(|| "http://hospital.example/mrn".to_string());
        let p = patient(m.segment("PID").unwrap(), &systems);
        assert_eq!(p["identifier"][0]["system"], "http://hospital.example/mrn");
        assert_eq!(p["identifier"][0]["value"], "0012345");
        assert_eq!(p["identifier"][0]["type"]["coding"][0]["code"], "MR");
        assert_eq!(p["identifier"][1]["system"], "urn:hl7v2:authority:NHS");
        assert_eq!(p["name"][0]["family"], "O'Brien");
        assert_eq!(p["name"][0]["given"], json!(["Catherine", "Mary"]));
        assert_eq!(p["name"][0]["use"], "official");
        assert_eq!(p["name"][0]["prefix"], json!(["MRS"]));
        assert_eq!(p["birthDate"], "1956-03-04");
        assert_eq!(p["gender"], "female");
        assert_eq!(p["address"][0]["line"], json!(["12 Mill Lane", "Flat 2"]));
        assert_eq!(p["address"][0]["postalCode"], "62701");
        assert_eq!(p["address"][0]["use"], "home");
        assert_eq!(
            p["telecom"][0],
            json!({"system": "phone", "value": "5550102233", "use": "home"})
        );
        assert_eq!(
            p["telecom"][1],
            json!({"system": "email", "value": "cat@example.org"})
        );
        assert_eq!(
            p["telecom"][2],
            json!({"system": "phone", "value": "(555) 0109999", "use": "work"})
        );
        assert!(p.get("deceasedBoolean").is_none(), "PID-30 N");
        // What it says is valid FHIR.
        let problems = crate::fhir::validate::validate(&p);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn pv1_is_an_encounter() {
        let m = parse(ADT, false).unwrap();
        let pv1 = m.segment("PV1").unwrap();
        let e = encounter(pv1, "in-progress");
        assert_eq!(e["class"]["code"], "IMP");
        assert_eq!(e["period"]["start"], "2026-12-02T08:00:00+00:00");
        assert_eq!(e["identifier"][0]["value"], "V555");
        assert_eq!(
            e["participant"][0]["individual"]["display"],
            "House, Gregory"
        );
        assert_eq!(
            location(pv1),
            Some(("WARD7".into(), "12".into(), "B".into()))
        );
    }

    #[test]
    fn times_and_what_is_not_one() {
        assert_eq!(date_time("1956").as_deref(), Some("1956"));
        assert_eq!(date_time("195603").as_deref(), Some("1956-03"));
        assert_eq!(
            date_time("202612020830").as_deref(),
            Some("2026-12-02T08:30:00+00:00")
        );
        assert_eq!(
            date_time("20261202083015.1234-0500").as_deref(),
            Some("2026-12-02T08:30:15.123-05:00")
        );
        for bad in [
            "",
            "abc",
            "2026130",
            "20261302",
            "20261232",
            "2026120225",
            "19560304xx",
        ] {
            assert_eq!(date_time(bad), None, "{bad}");
        }
    }
}
