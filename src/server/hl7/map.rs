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

/// CE/CWE → CodeableConcept: code, text and coding system (LN is LOINC, SCT SNOMED CT, UCUM;
/// another name becomes `urn:hl7v2:codesystem:NAME`), and the alternate coding (4-6).
pub fn concept(f: &Field, r: usize) -> Option<Value> {
    let mut codings = Vec::new();
    for base in [0, 3] {
        let code = f.component(r, base + 1).trim();
        if code.is_empty() {
            continue;
        }
        let mut c = Map::new();
        let system = match f.component(r, base + 3).trim() {
            "" => None,
            "LN" | "LOINC" => Some("http://loinc.org".to_string()),
            "SCT" | "SNM" | "SNOMED" => Some("http://snomed.info/sct".to_string()),
            "UCUM" => Some("http://unitsofmeasure.org".to_string()),
            "RXNORM" | "RXN" => Some("http://www.nlm.nih.gov/research/umls/rxnorm".to_string()),
            "I10" | "I10C" => Some("http://hl7.org/fhir/sid/icd-10-cm".to_string()),
            other => Some(format!("urn:hl7v2:codesystem:{}", other.replace(' ', "_"))),
        };
        if let Some(s) = system {
            c.insert("system".into(), json!(s));
        }
        c.insert("code".into(), json!(code));
        let text = f.component(r, base + 2).trim();
        if !text.is_empty() {
            c.insert("display".into(), json!(text));
        }
        codings.push(Value::Object(c));
    }
    let text = f.component(r, 2).trim();
    if codings.is_empty() && text.is_empty() {
        return None;
    }
    let mut cc = Map::new();
    if !codings.is_empty() {
        cc.insert("coding".into(), json!(codings));
    }
    if !text.is_empty() {
        cc.insert("text".into(), json!(text));
    }
    Some(Value::Object(cc))
}

/// OBR-25 / OBX-11 result status.
pub fn result_status(code: &str) -> &'static str {
    match code {
        "P" | "S" | "I" | "O" | "R" => "preliminary",
        "C" => "corrected",
        "X" | "D" => "cancelled",
        "W" => "entered-in-error",
        "A" => "amended",
        _ => "final",
    }
}

fn quantity(value: f64, unit: Option<&Field>) -> Value {
    let mut q = Map::new();
    q.insert("value".into(), json!(value));
    if let Some(u) = unit {
        let code = u.component(0, 1).trim();
        if !code.is_empty() {
            q.insert("unit".into(), json!(code));
            // ISO+/ANSI units are mostly UCUM codes already; only a sender's UCUM is trusted.
            if matches!(u.component(0, 3).trim(), "UCUM" | "") {
                q.insert("system".into(), json!("http://unitsofmeasure.org"));
                q.insert("code".into(), json!(code));
            }
        }
    }
    Value::Object(q)
}

/// OBX-7 ("3.5-5.1", "<5", ">10", "3.5 - 5.1") as a referenceRange.
pub fn reference_range(text: &str, unit: Option<&Field>) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let num = |s: &str| s.trim().parse::<f64>().ok();
    let mut r = Map::new();
    // Bounds that are numbers become low and high; the text is always kept.
    let (lo, hi) = if let Some(hi) = t.strip_prefix('<').map(|s| s.trim_start_matches('=')) {
        (None, num(hi))
    } else if let Some(lo) = t.strip_prefix('>').map(|s| s.trim_start_matches('=')) {
        (num(lo), None)
    } else if let Some((lo, hi)) = t
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '-')
        .map(|(i, _)| (&t[..i], &t[i + 1..]))
    {
        match (num(lo), num(hi)) {
            (Some(l), Some(h)) => (Some(l), Some(h)),
            _ => (None, None),
        }
    } else {
        (None, None)
    };
    if let Some(l) = lo {
        r.insert("low".into(), quantity(l, unit));
    }
    if let Some(h) = hi {
        r.insert("high".into(), quantity(h, unit));
    }
    r.insert("text".into(), json!(t));
    Some(Value::Object(r))
}

/// OBX-8 abnormal flags as v3 ObservationInterpretation codes.
pub fn interpretation(flag: &str) -> Option<Value> {
    let (code, display) = match flag.trim() {
        "H" => ("H", "High"),
        "L" => ("L", "Low"),
        "HH" | ">" => ("HH", "Critical high"),
        "LL" | "<" => ("LL", "Critical low"),
        "A" => ("A", "Abnormal"),
        "AA" => ("AA", "Critical abnormal"),
        "N" => ("N", "Normal"),
        _ => return None,
    };
    Some(json!([{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
        "code": code, "display": display}]}]))
}

/// OBX → Observation (without subject, id and meta); `when` is the OBR's time when the OBX
/// has none. An error names the field when a value type is not read or a value is not of
/// its type.
pub fn observation(obx: &Segment, when: Option<&str>) -> Result<Value, String> {
    let mut o = Map::new();
    o.insert("resourceType".into(), json!("Observation"));
    o.insert("status".into(), json!(result_status(obx.text(11))));
    o.insert(
        "category".into(),
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]),
    );
    let code = obx
        .field(3)
        .and_then(|f| concept(f, 0))
        .ok_or("OBX-3 (the observation's code) is empty")?;
    o.insert("code".into(), code);
    let unit = obx.field(6);
    let value = obx.field(5);
    match obx.text(2) {
        "NM" => {
            let raw = obx.text(5).trim();
            if !raw.is_empty() {
                let v: f64 = raw
                    .parse()
                    .map_err(|_| format!("OBX-5 {raw:?} is not a number (OBX-2 is NM)"))?;
                o.insert("valueQuantity".into(), quantity(v, unit));
            }
        }
        "SN" => {
            // Structured numeric: comparator^number (">^10" or "^5.5").
            let f = value.ok_or("OBX-5 is empty")?;
            let n: f64 = f
                .component(0, 2)
                .trim()
                .parse()
                .map_err(|_| "OBX-5 is not a structured number".to_string())?;
            let mut q = quantity(n, unit);
            let comparator = f.component(0, 1).trim();
            if matches!(comparator, "<" | ">" | "<=" | ">=") {
                q["comparator"] = json!(comparator);
            }
            o.insert("valueQuantity".into(), q);
        }
        "ST" | "TX" | "FT" => {
            let text: Vec<String> = value
                .map(|f| {
                    (0..f.repetitions.len())
                        .map(|r| f.component(r, 1).to_string())
                        .collect()
                })
                .unwrap_or_default();
            let text = text.join("\n");
            if !text.trim().is_empty() {
                o.insert("valueString".into(), json!(text));
            }
        }
        "CE" | "CWE" => {
            if let Some(c) = value.and_then(|f| concept(f, 0)) {
                o.insert("valueCodeableConcept".into(), c);
            }
        }
        other => {
            return Err(format!(
                "OBX-2 value type {other:?} is not one this interface reads (NM, SN, ST, TX, FT, CE, CWE)"
            ));
        }
    }
    if let Some(r) = reference_range(obx.text(7), unit) {
        o.insert("referenceRange".into(), json!([r]));
    }
    if let Some(i) = interpretation(obx.text(8)) {
        o.insert("interpretation".into(), i);
    }
    if let Some(t) = date_time(obx.text(14)).or_else(|| when.map(str::to_string)) {
        o.insert("effectiveDateTime".into(), json!(t));
    }
    Ok(Value::Object(o))
}

/// OBR → DiagnosticReport (without subject, results, id and meta), and its placer order
/// number (OBR-2, else ORC-2).
pub fn report(obr: &Segment) -> Result<(Value, Option<String>), String> {
    let code = obr
        .field(4)
        .and_then(|f| concept(f, 0))
        .ok_or("OBR-4 (the test ordered) is empty")?;
    let mut r = Map::new();
    r.insert("resourceType".into(), json!("DiagnosticReport"));
    r.insert("status".into(), json!(result_status(obr.text(25))));
    r.insert(
        "category".into(),
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB", "display": "Laboratory"}]}]),
    );
    r.insert("code".into(), code);
    if let Some(t) = date_time(obr.text(7)) {
        r.insert("effectiveDateTime".into(), json!(t));
    }
    let mut ids = Vec::new();
    for (n, kind) in [(2, "PLAC"), (3, "FILL")] {
        let v = obr.comp(n, 1).trim();
        if !v.is_empty() {
            let authority = obr.comp(n, 2).trim();
            ids.push(json!({
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": kind}]},
                "system": format!("urn:hl7v2:authority:{}", if authority.is_empty() { "unknown" } else { authority }),
                "value": v}));
        }
    }
    if !ids.is_empty() {
        r.insert("identifier".into(), json!(ids));
    }
    let placer = Some(obr.comp(2, 1).trim().to_string()).filter(|p| !p.is_empty());
    Ok((Value::Object(r), placer))
}

#[cfg(test)]
mod oru_tests {
    use super::super::parse::parse;
    use super::*;

    const ORU: &str = "MSH|^~\\&|LAB|GENHOSP|BEDSIDE|WARD|20261202090000||ORU^R01^ORU_R01|LAB42|P|2.5.1\rPID|1||0012345^^^GENHOSP^MR\rOBR|1|ORD-77^BEDSIDE|F-991^LAB|24326-1^Electrolytes panel^LN|||20261202061500|||||||20261202063000|||||||||||F\rOBX|1|NM|2823-3^Potassium^LN||6.1|mmol/L^mmol/L^UCUM|3.5-5.1|HH|||F|||20261202061500\rOBX|2|SN|2951-2^Sodium^LN||<^130|mmol/L|135-145|L|||F\rOBX|3|ST|8251-1^Comment^LN||Haemolysed sample~repeat advised||||||F\rOBX|4|CWE|600-7^Culture^LN||3092008^Staphylococcus aureus^SCT||||||P\r";

    #[test]
    fn obr_and_obx_are_a_report_and_its_results() {
        let m = parse(ORU, false).unwrap();
        let (r, placer) = report(m.segment("OBR").unwrap()).unwrap();
        assert_eq!(placer.as_deref(), Some("ORD-77"));
        assert_eq!(r["status"], "final");
        assert_eq!(r["code"]["coding"][0]["system"], "http://loinc.org");
        assert_eq!(r["effectiveDateTime"], "2026-12-02T06:15:00+00:00");
        let when = r["effectiveDateTime"].as_str();
        let obx: Vec<Value> = m
            .segments_named("OBX")
            .map(|s| observation(s, when).unwrap())
            .collect();
        assert_eq!(
            obx[0]["valueQuantity"],
            json!({"value": 6.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"})
        );
        assert_eq!(obx[0]["referenceRange"][0]["low"]["value"], 3.5);
        assert_eq!(obx[0]["referenceRange"][0]["high"]["value"], 5.1);
        assert_eq!(obx[0]["interpretation"][0]["coding"][0]["code"], "HH");
        assert_eq!(obx[1]["valueQuantity"]["comparator"], "<");
        assert_eq!(
            obx[1]["effectiveDateTime"], "2026-12-02T06:15:00+00:00",
            "the OBR's time"
        );
        assert_eq!(obx[2]["valueString"], "Haemolysed sample\nrepeat advised");
        assert_eq!(
            obx[3]["valueCodeableConcept"]["coding"][0]["system"],
            "http://snomed.info/sct"
        );
        assert_eq!(obx[3]["status"], "preliminary");
        for o in obx.iter().chain([&r]) {
            let problems = crate::fhir::validate::validate(o);
            assert!(problems.is_empty(), "{o}: {problems:?}");
        }
    }

    #[test]
    fn a_value_that_is_not_its_type_is_an_error_naming_the_field() {
        let bad = ORU.replace("||6.1|", "||six|");
        let m = parse(&bad, false).unwrap();
        let e = observation(m.segment("OBX").unwrap(), None).unwrap_err();
        assert!(e.contains("OBX-5"), "{e}");
        let odd = ORU.replace("OBX|1|NM|", "OBX|1|ED|");
        let m = parse(&odd, false).unwrap();
        assert!(
            observation(m.segment("OBX").unwrap(), None)
                .unwrap_err()
                .contains("OBX-2")
        );
        assert_eq!(reference_range("<5", None).unwrap()["high"]["value"], 5.0);
        assert_eq!(reference_range(">=10", None).unwrap()["low"]["value"], 10.0);
        assert_eq!(reference_range("-2-2", None).unwrap()["low"]["value"], -2.0);
        assert_eq!(
            reference_range("negative", None).unwrap()["text"],
            "negative"
        );
        let words = reference_range("neg-trace", None).unwrap();
        assert!(words.get("low").is_none() && words["text"] == "neg-trace");
    }
}
