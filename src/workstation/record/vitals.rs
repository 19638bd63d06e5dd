//! A set of vital signs as a nurse says it: `T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L
//! ACVPU A`. Each value is checked as typed (an impossible one refuses the set, an unusual
//! one asks to be confirmed), and the set becomes FHIR vital-signs Observations: one per sign
//! with its LOINC code and UCUM unit, blood pressure as one Observation with systolic and
//! diastolic components, oxygen as its own, and NEWS2 when the set is complete.

use serde_json::{Value, json};

use super::news2::{self, Acvpu, Scale};

/// One sign as typed, converted to the unit it is stored in.
#[derive(Debug, Clone, PartialEq)]
pub enum Sign {
    /// °C (a value typed in °F is converted; `fahrenheit` keeps what was typed).
    Temperature {
        celsius: f64,
        fahrenheit: Option<f64>,
    },
    HeartRate(u32),
    RespiratoryRate(u32),
    BloodPressure {
        systolic: u32,
        diastolic: u32,
    },
    Spo2(u32),
    /// Room air, or supplemental oxygen by flow (L/min) or concentration (FiO2 %).
    Oxygen(Oxygen),
    Consciousness(Acvpu),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Oxygen {
    Air,
    Flow(f64),
    Fio2(u32),
}

impl Oxygen {
    pub fn on_oxygen(self) -> bool {
        !matches!(self, Oxygen::Air)
    }
}

/// The order signs are listed and stored in, and their short names.
const LABELS: &[(&str, usize)] = &[
    ("temperature", 0),
    ("temp", 0),
    ("t", 0),
    ("pulse", 1),
    ("hr", 1),
    ("p", 1),
    ("resp", 2),
    ("rr", 2),
    ("bp", 3),
    ("spo2", 4),
    ("sats", 4),
    ("sat", 4),
    ("o2", 5),
    ("fio2", 5),
    ("acvpu", 6),
    ("avpu", 6),
    ("loc", 6),
];

pub const SHORT: [&str; 7] = ["T", "HR", "RR", "BP", "SpO2", "O2", "ACVPU"];

impl Sign {
    fn slot(&self) -> usize {
        match self {
            Sign::Temperature { .. } => 0,
            Sign::HeartRate(_) => 1,
            Sign::RespiratoryRate(_) => 2,
            Sign::BloodPressure { .. } => 3,
            Sign::Spo2(_) => 4,
            Sign::Oxygen(_) => 5,
            Sign::Consciousness(_) => 6,
        }
    }

    /// `T 37.9 °C`, `BP 92/58 mmHg`, `O2 2 L/min`, `ACVPU A (alert)`.
    pub fn shown(&self) -> String {
        match self {
            Sign::Temperature {
                celsius,
                fahrenheit: Some(f),
            } => format!("T {celsius:.1} °C ({f} °F)"),
            Sign::Temperature { celsius, .. } => format!("T {celsius:.1} °C"),
            Sign::HeartRate(v) => format!("HR {v} /min"),
            Sign::RespiratoryRate(v) => format!("RR {v} /min"),
            Sign::BloodPressure {
                systolic,
                diastolic,
            } => format!("BP {systolic}/{diastolic} mmHg"),
            Sign::Spo2(v) => format!("SpO2 {v} %"),
            Sign::Oxygen(Oxygen::Air) => "O2 room air".into(),
            Sign::Oxygen(Oxygen::Flow(l)) => format!("O2 {} L/min", trim(*l)),
            Sign::Oxygen(Oxygen::Fio2(p)) => format!("O2 FiO2 {p} %"),
            Sign::Consciousness(a) => format!("ACVPU {} ({})", a.letter(), a.words()),
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// What is wrong with a value: `Impossible` refuses the set; `Unusual` needs a second Enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Impossible(String),
    Unusual(String),
}

impl Problem {
    pub fn text(&self) -> &str {
        match self {
            Problem::Impossible(t) | Problem::Unusual(t) => t,
        }
    }
}

/// A line read: the signs in their order, what is wrong, and the options typed with them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    pub signs: Vec<Sign>,
    pub problems: Vec<Problem>,
    /// `scale2` typed: SpO2 scale 2 for this set.
    pub scale2: bool,
    /// `at 14:30` typed: the time of day the set was taken (minutes after midnight).
    pub at: Option<u32>,
}

impl Entry {
    pub fn impossible(&self) -> Vec<&str> {
        self.problems
            .iter()
            .filter_map(|p| match p {
                Problem::Impossible(t) => Some(t.as_str()),
                Problem::Unusual(_) => None,
            })
            .collect()
    }

    pub fn unusual(&self) -> Vec<&str> {
        self.problems
            .iter()
            .filter_map(|p| match p {
                Problem::Unusual(t) => Some(t.as_str()),
                Problem::Impossible(_) => None,
            })
            .collect()
    }

    pub fn get(&self, slot: usize) -> Option<&Sign> {
        self.signs.iter().find(|s| s.slot() == slot)
    }

    /// The NEWS2 parameters, or the signs still missing for it.
    pub fn news2_inputs(&self, scale: Scale) -> Result<news2::Inputs, Vec<&'static str>> {
        let mut missing = Vec::new();
        let t = match self.get(0) {
            Some(Sign::Temperature { celsius, .. }) => Some(*celsius),
            _ => None,
        };
        let hr = match self.get(1) {
            Some(Sign::HeartRate(v)) => Some(*v),
            _ => None,
        };
        let rr = match self.get(2) {
            Some(Sign::RespiratoryRate(v)) => Some(*v),
            _ => None,
        };
        let sbp = match self.get(3) {
            Some(Sign::BloodPressure { systolic, .. }) => Some(*systolic),
            _ => None,
        };
        let spo2 = match self.get(4) {
            Some(Sign::Spo2(v)) => Some(*v),
            _ => None,
        };
        let o2 = match self.get(5) {
            Some(Sign::Oxygen(o)) => Some(o.on_oxygen()),
            _ => None,
        };
        let acvpu = match self.get(6) {
            Some(Sign::Consciousness(a)) => Some(*a),
            _ => None,
        };
        for (name, have) in [
            ("RR", rr.is_some()),
            ("SpO2", spo2.is_some()),
            ("O2 (air or oxygen)", o2.is_some()),
            ("BP", sbp.is_some()),
            ("HR", hr.is_some()),
            ("ACVPU", acvpu.is_some()),
            ("T", t.is_some()),
        ] {
            if !have {
                missing.push(name);
            }
        }
        match (rr, spo2, o2, sbp, hr, acvpu, t) {
            (Some(rr), Some(spo2), Some(o2), Some(sbp), Some(hr), Some(acvpu), Some(t)) => {
                Ok(news2::Inputs {
                    respiration_rate: rr,
                    spo2,
                    scale,
                    on_oxygen: o2,
                    systolic: sbp,
                    pulse: hr,
                    consciousness: acvpu,
                    temperature: t,
                })
            }
            _ => Err(missing),
        }
    }
}

/// The known labels, longest first, for splitting `T37.9` and `HR112`.
fn label_at(token: &str) -> Option<(usize, &str)> {
    let lower = token.to_ascii_lowercase();
    let mut best: Option<(usize, usize)> = None;
    for (label, slot) in LABELS {
        if lower.starts_with(label) && best.is_none_or(|(len, _)| label.len() > len) {
            let rest = &lower[label.len()..];
            // A label runs into its value only where a digit or a sign follows (`T37.9`,
            // `HR112`); `Temp` is `temp`, not `t` + `emp`.
            let joined_ok = rest.is_empty()
                || rest.starts_with(|c: char| c.is_ascii_digit() || c == '.')
                || (*slot == 6 && rest.len() == 1);
            if joined_ok {
                best = Some((label.len(), *slot));
            }
        }
    }
    best.map(|(len, slot)| (slot, &token[len..]))
}

/// Reads a line. Never fails: what cannot be read is a problem in the entry.
pub fn parse(line: &str) -> Entry {
    let mut entry = Entry::default();
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut seen = [false; 7];
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        i += 1;
        let lower = token.to_ascii_lowercase();
        if lower == "scale2" || lower == "s2" {
            entry.scale2 = true;
            continue;
        }
        if lower == "at" || lower.starts_with('@') {
            let time = if lower == "at" {
                i += 1;
                tokens.get(i - 1).copied().unwrap_or("")
            } else {
                &token[1..]
            };
            match clock(time) {
                Some(m) => entry.at = Some(m),
                None => entry.problems.push(Problem::Impossible(format!(
                    "\"{time}\" is not a time of day (at 14:30)"
                ))),
            }
            continue;
        }
        let Some((slot, joined)) = label_at(token) else {
            entry.problems.push(Problem::Impossible(format!(
                "\"{token}\" is not a sign (T HR RR BP SpO2 O2 ACVPU, at HH:MM, scale2)"
            )));
            continue;
        };
        let value = if joined.is_empty() {
            match tokens.get(i) {
                Some(v) if label_at(v).is_none() || slot == 6 => {
                    i += 1;
                    *v
                }
                _ => {
                    entry.problems.push(Problem::Impossible(format!(
                        "{} needs a value",
                        SHORT[slot]
                    )));
                    continue;
                }
            }
        } else {
            joined
        };
        if seen[slot] {
            entry.problems.push(Problem::Impossible(format!(
                "{} is given twice",
                SHORT[slot]
            )));
            continue;
        }
        seen[slot] = true;
        match read(slot, value) {
            Ok((sign, unusual)) => {
                entry.problems.extend(unusual.map(Problem::Unusual));
                entry.signs.push(sign);
            }
            Err(why) => entry.problems.push(Problem::Impossible(why)),
        }
    }
    entry.signs.sort_by_key(Sign::slot);
    entry
}

/// `14:30` or `1430` as minutes after midnight.
fn clock(s: &str) -> Option<u32> {
    let (h, m) = match s.split_once(':') {
        Some((h, m)) => (h, m),
        None if s.len() == 4 => s.split_at(2),
        None => return None,
    };
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && !s.starts_with('+')).then_some(h * 60 + m)
}

fn whole(name: &str, value: &str, unit: &str) -> Result<u32, String> {
    let v = value.strip_suffix(unit).unwrap_or(value);
    v.parse::<u32>().map_err(|_| {
        if v.parse::<f64>().is_ok() {
            format!("{name} is a whole number ({value})")
        } else {
            format!("{name} \"{value}\" is not a number")
        }
    })
}

/// Checks a value against what is possible and what is usual.
fn range(
    name: &str,
    v: f64,
    possible: (f64, f64),
    usual: (f64, f64),
    unit: &str,
) -> Result<Option<String>, String> {
    let shown = trim(v);
    if v < possible.0 || v > possible.1 {
        return Err(format!(
            "{name} {shown} {unit} is not possible ({}-{} {unit})",
            trim(possible.0),
            trim(possible.1)
        ));
    }
    Ok((v < usual.0 || v > usual.1).then(|| {
        format!(
            "{name} {shown} {unit} is unusual (usually {}-{} {unit})",
            trim(usual.0),
            trim(usual.1)
        )
    }))
}

fn read(slot: usize, value: &str) -> Result<(Sign, Option<String>), String> {
    let lower = value.to_ascii_lowercase();
    match slot {
        0 => {
            let (number, fahrenheit) = if let Some(f) = lower.strip_suffix('f') {
                (f, true)
            } else {
                (lower.strip_suffix('c').unwrap_or(&lower), false)
            };
            let typed: f64 = number
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| format!("T \"{value}\" is not a number"))?;
            // A bare number over 50 is a Fahrenheit reading typed without its F: asked, never
            // guessed.
            if !fahrenheit && typed > 50.0 {
                return Err(format!(
                    "T {value} °C is not possible: for Fahrenheit type {value}F"
                ));
            }
            let celsius = if fahrenheit {
                ((typed - 32.0) * 5.0 / 9.0 * 10.0).round() / 10.0
            } else {
                typed
            };
            let unusual = range("T", celsius, (25.0, 45.0), (34.0, 41.0), "°C")?;
            Ok((
                Sign::Temperature {
                    celsius: (celsius * 10.0).round() / 10.0,
                    fahrenheit: fahrenheit.then_some(typed),
                },
                unusual,
            ))
        }
        1 => {
            let v = whole("HR", &lower, "/min")?;
            let unusual = range("HR", f64::from(v), (1.0, 300.0), (30.0, 200.0), "/min")?;
            Ok((Sign::HeartRate(v), unusual))
        }
        2 => {
            let v = whole("RR", &lower, "/min")?;
            let unusual = range("RR", f64::from(v), (1.0, 80.0), (6.0, 45.0), "/min")?;
            Ok((Sign::RespiratoryRate(v), unusual))
        }
        3 => {
            let Some((s, d)) = lower.strip_suffix("mmhg").unwrap_or(&lower).split_once('/') else {
                return Err(format!(
                    "BP \"{value}\" is systolic/diastolic, as in BP 120/80"
                ));
            };
            let systolic = whole("systolic BP", s, "")?;
            let diastolic = whole("diastolic BP", d, "")?;
            let a = range(
                "systolic BP",
                f64::from(systolic),
                (20.0, 300.0),
                (60.0, 240.0),
                "mmHg",
            )?;
            let b = range(
                "diastolic BP",
                f64::from(diastolic),
                (5.0, 200.0),
                (30.0, 140.0),
                "mmHg",
            )?;
            if diastolic >= systolic {
                return Err(format!(
                    "BP {systolic}/{diastolic}: the diastolic must be below the systolic"
                ));
            }
            let unusual = match (a, b) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            };
            Ok((
                Sign::BloodPressure {
                    systolic,
                    diastolic,
                },
                unusual,
            ))
        }
        4 => {
            let v = whole("SpO2", &lower, "%")?;
            let unusual = range("SpO2", f64::from(v), (20.0, 100.0), (70.0, 100.0), "%")?;
            Ok((Sign::Spo2(v), unusual))
        }
        5 => {
            if matches!(lower.as_str(), "air" | "ra" | "0" | "0l" | "none") {
                return Ok((Sign::Oxygen(Oxygen::Air), None));
            }
            if let Some(p) = lower.strip_suffix('%') {
                let v = whole("FiO2", p, "")?;
                let unusual = range("FiO2", f64::from(v), (21.0, 100.0), (24.0, 60.0), "%")?;
                return Ok((Sign::Oxygen(Oxygen::Fio2(v)), unusual));
            }
            let number = lower
                .strip_suffix("l/min")
                .or_else(|| lower.strip_suffix("lpm"))
                .or_else(|| lower.strip_suffix('l'))
                .unwrap_or(&lower);
            let v: f64 = number
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| {
                    format!("O2 \"{value}\" is air, a flow (2L) or a concentration (28%)")
                })?;
            let unusual = range("O2", v, (0.1, 70.0), (0.5, 15.0), "L/min")?;
            Ok((Sign::Oxygen(Oxygen::Flow(v)), unusual))
        }
        _ => Acvpu::parse(value)
            .map(|a| (Sign::Consciousness(a), None))
            .ok_or_else(|| format!("ACVPU \"{value}\" is one of A C V P U")),
    }
}

/// Who, whom and when a set is recorded for.
#[derive(Debug, Clone)]
pub struct Context {
    pub patient_id: String,
    pub patient_name: String,
    pub encounter: Option<String>,
    /// The recorder, as a FHIR Reference.
    pub performer: Value,
    /// When the set was taken (FHIR instant).
    pub effective: String,
    /// When it was recorded (FHIR instant).
    pub now: String,
    /// More than a quarter of an hour between the two: marked as a late entry.
    pub late: bool,
    /// This set's id: every Observation carries it, so a set sent twice is filed once.
    pub set_id: String,
    pub scale: Scale,
}

const VITAL_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const UCUM: &str = "http://unitsofmeasure.org";
const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
/// The identifier system for the Observations of a set recorded by bedside.
pub const SET_SYSTEM: &str = "urn:bedside:vitals";
/// ACVPU answers: bedside's own code system (the UK edition of SNOMED CT has codes for them,
/// which bedside cannot ship).
pub const ACVPU_SYSTEM: &str = "urn:bedside:acvpu";
/// "Royal College of Physicians National Early Warning Score 2 - total score" (SNOMED CT UK
/// edition).
pub const NEWS2_CODE: &str = "1104051000000101";

/// A UCUM quantity; a whole number is written as one (`112`, not `112.0`).
fn quantity(value: f64, unit: &str, code: &str) -> Value {
    let value = if value.fract() == 0.0 && value.abs() < 1e9 {
        json!(value as i64)
    } else {
        json!(value)
    };
    json!({"value": value, "unit": unit, "system": UCUM, "code": code})
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}], "text": display})
}

/// The interpretation a NEWS2 band gives a value: H or L when it scores, HH or LL at 3.
fn flag(score: u8, high: bool) -> Option<&'static str> {
    match (score, high) {
        (0, _) => None,
        (3, true) => Some("HH"),
        (3, false) => Some("LL"),
        (_, true) => Some("H"),
        (_, false) => Some("L"),
    }
}

fn interpretation(code: &str) -> Value {
    let display = match code {
        "HH" => "Critical high",
        "LL" => "Critical low",
        "H" => "High",
        _ => "Low",
    };
    json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": code, "display": display}]}])
}

/// A NEWS2 band as an interpretation: HIGH is marked critical, MEDIUM and LOW-MEDIUM high,
/// each with the response in words.
fn risk_interpretation(risk: news2::Risk) -> Value {
    let text = format!("{} clinical risk: {}", risk.word(), risk.response());
    let code = match risk {
        news2::Risk::High => Some(("HH", "Critical high")),
        news2::Risk::Medium | news2::Risk::LowMedium => Some(("H", "High")),
        news2::Risk::Low => None,
    };
    match code {
        Some((code, display)) => json!({
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": code, "display": display}],
            "text": text,
        }),
        None => json!({"text": text}),
    }
}

/// The Observation of one sign.
fn observation(sign: &Sign, ctx: &Context, on_oxygen: bool) -> Value {
    let (profile, code, name, value, score_high): (Option<&str>, Value, &str, Value, _) = match sign
    {
        Sign::Temperature { celsius, .. } => (
            Some("bodytemp"),
            coding(LOINC, "8310-5", "Body temperature"),
            "t",
            json!({"valueQuantity": quantity(*celsius, "°C", "Cel")}),
            Some((news2::temperature(*celsius), *celsius > 37.0)),
        ),
        Sign::HeartRate(v) => (
            Some("heartrate"),
            coding(LOINC, "8867-4", "Heart rate"),
            "hr",
            json!({"valueQuantity": quantity(f64::from(*v), "beats/minute", "/min")}),
            Some((news2::pulse(*v), *v > 70)),
        ),
        Sign::RespiratoryRate(v) => (
            Some("resprate"),
            coding(LOINC, "9279-1", "Respiratory rate"),
            "rr",
            json!({"valueQuantity": quantity(f64::from(*v), "breaths/minute", "/min")}),
            Some((news2::respiration_rate(*v), *v > 16)),
        ),
        Sign::BloodPressure {
            systolic,
            diastolic,
        } => {
            let s = news2::systolic(*systolic);
            let mut sys = json!({
                "code": coding(LOINC, "8480-6", "Systolic blood pressure"),
                "valueQuantity": quantity(f64::from(*systolic), "mmHg", "mm[Hg]"),
            });
            if let Some(f) = flag(s, *systolic > 150) {
                sys["interpretation"] = interpretation(f);
            }
            (
                Some("bp"),
                coding(LOINC, "85354-9", "Blood pressure panel"),
                "bp",
                json!({"component": [
                    sys,
                    {
                        "code": coding(LOINC, "8462-4", "Diastolic blood pressure"),
                        "valueQuantity": quantity(f64::from(*diastolic), "mmHg", "mm[Hg]"),
                    },
                ]}),
                None,
            )
        }
        Sign::Spo2(v) => {
            let score = match ctx.scale {
                Scale::One => news2::spo2_scale1(*v),
                Scale::Two => news2::spo2_scale2(*v, on_oxygen),
            };
            (
                Some("oxygensat"),
                json!({"coding": [
                        {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"},
                        {"system": LOINC, "code": "59408-5", "display": "Oxygen saturation in Arterial blood by Pulse oximetry"},
                    ], "text": "SpO2"}),
                "spo2",
                json!({"valueQuantity": quantity(f64::from(*v), "%", "%")}),
                // Low saturation scores on both scales; on scale 2 a high one on oxygen
                // scores too.
                Some((score, *v > 92 && ctx.scale == Scale::Two && on_oxygen)),
            )
        }
        Sign::Oxygen(o) => {
            let flow = || coding(LOINC, "3151-8", "Inhaled oxygen flow rate");
            let (code, value) = match o {
                Oxygen::Air => (
                    flow(),
                    json!({
                        "valueQuantity": quantity(0.0, "L/min", "L/min"),
                        "note": [{"text": "room air"}],
                    }),
                ),
                Oxygen::Flow(l) => (
                    flow(),
                    json!({"valueQuantity": quantity(*l, "L/min", "L/min")}),
                ),
                Oxygen::Fio2(p) => (
                    coding(LOINC, "3150-0", "Inhaled oxygen concentration"),
                    json!({"valueQuantity": quantity(f64::from(*p), "%", "%")}),
                ),
            };
            (None, code, "o2", value, None)
        }
        Sign::Consciousness(a) => (
            None,
            coding(
                SNOMED,
                "1104441000000107",
                "ACVPU (Alert Confusion Voice Pain Unresponsive) scale score",
            ),
            "acvpu",
            json!({"valueCodeableConcept": {
                "coding": [{"system": ACVPU_SYSTEM, "code": a.letter(), "display": a.words()}],
                "text": format!("{} ({})", a.letter(), a.words()),
            }}),
            Some((news2::consciousness(*a), true)),
        ),
    };
    let mut obs = json!({
        "resourceType": "Observation",
        "identifier": [{"system": SET_SYSTEM, "value": format!("{}-{name}", ctx.set_id)}],
        "status": "final",
        "category": [{
            "coding": [{"system": VITAL_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}],
            "text": "Vital Signs",
        }],
        "code": code,
        "subject": {"reference": format!("Patient/{}", ctx.patient_id), "display": ctx.patient_name},
        "effectiveDateTime": ctx.effective,
        "issued": ctx.now,
        "performer": [ctx.performer],
    });
    if let Some(p) = profile {
        obs["meta"] = json!({"profile": [format!("http://hl7.org/fhir/StructureDefinition/{p}")]});
    }
    if let Some(e) = &ctx.encounter {
        obs["encounter"] = json!({"reference": e});
    }
    if let (Some(map), Some(obj)) = (value.as_object(), obs.as_object_mut()) {
        for (k, v) in map {
            obj.insert(k.clone(), v.clone());
        }
    }
    if let Some((score, high)) = score_high
        && let Some(f) = flag(score, high)
    {
        obs["interpretation"] = interpretation(f);
    }
    if ctx.late {
        let late =
            json!({"text": format!("Late entry: recorded {} for {}", ctx.now, ctx.effective)});
        match obs.get_mut("note").and_then(Value::as_array_mut) {
            Some(notes) => notes.push(late),
            None => obs["note"] = json!([late]),
        }
    }
    obs
}

/// The set as a transaction: one Observation per sign, then NEWS2 (derived from them) when
/// `score` is given. Each entry is a conditional create on the set's identifier, so a set
/// sent again after a lost answer is filed once.
pub fn transaction(entry: &Entry, ctx: &Context, score: Option<&news2::Score>) -> Value {
    let on_oxygen = matches!(entry.get(5), Some(Sign::Oxygen(o)) if o.on_oxygen());
    let mut entries = Vec::new();
    let mut urls = Vec::new();
    for sign in &entry.signs {
        let obs = observation(sign, ctx, on_oxygen);
        let ident = obs
            .pointer("/identifier/0/value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let url = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        urls.push(url.clone());
        entries.push(json!({
            "fullUrl": url,
            "resource": obs,
            "request": {
                "method": "POST",
                "url": "Observation",
                "ifNoneExist": format!("identifier={SET_SYSTEM}|{ident}"),
            },
        }));
    }
    if let Some(score) = score {
        let mut obs = json!({
            "resourceType": "Observation",
            "identifier": [{"system": SET_SYSTEM, "value": format!("{}-news2", ctx.set_id)}],
            "status": "final",
            // A score derived from vital signs: filed with them (and as a survey), so whoever
            // may record the signs may record their score.
            "category": [
                {
                    "coding": [{"system": VITAL_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}],
                    "text": "Vital Signs",
                },
                {
                    "coding": [{"system": VITAL_CATEGORY, "code": "survey", "display": "Survey"}],
                    "text": "Survey",
                },
            ],
            "code": {
                "coding": [{"system": SNOMED, "code": NEWS2_CODE, "display": "Royal College of Physicians National Early Warning Score 2 - total score"}],
                "text": "NEWS2",
            },
            "subject": {"reference": format!("Patient/{}", ctx.patient_id), "display": ctx.patient_name},
            "effectiveDateTime": ctx.effective,
            "issued": ctx.now,
            "performer": [ctx.performer],
            "valueInteger": score.total,
            "interpretation": [risk_interpretation(score.risk)],
            "method": {"text": format!("NEWS2 (RCP 2017), SpO2 scale {}", if score.scale == Scale::Two { 2 } else { 1 })},
            "note": [{"text": score.breakdown()}],
            "derivedFrom": urls.iter().map(|u| json!({"reference": u})).collect::<Vec<_>>(),
        });
        if let Some(e) = &ctx.encounter {
            obs["encounter"] = json!({"reference": e});
        }
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "resource": obs,
            "request": {
                "method": "POST",
                "url": "Observation",
                "ifNoneExist": format!("identifier={SET_SYSTEM}|{}-news2", ctx.set_id),
            },
        }));
    }
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// How many of the transaction's entries the server says it filed (2xx each).
pub fn filed(answer: &Value) -> usize {
    answer
        .get("entry")
        .and_then(Value::as_array)
        .map_or(0, |entries| {
            entries
                .iter()
                .filter(|e| {
                    e.pointer("/response/status")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.starts_with('2'))
                })
                .count()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_line_as_nurses_say_it() {
        let e = parse("T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A");
        assert!(e.problems.is_empty(), "{:?}", e.problems);
        let shown: Vec<String> = e.signs.iter().map(Sign::shown).collect();
        assert_eq!(
            shown,
            [
                "T 37.9 °C",
                "HR 112 /min",
                "RR 22 /min",
                "BP 92/58 mmHg",
                "SpO2 93 %",
                "O2 2 L/min",
                "ACVPU A (alert)"
            ]
        );
        let s = news2::score(&e.news2_inputs(Scale::One).unwrap());
        assert_eq!(s.total, 10);
        // Joined, in another order, other words for the same signs, units typed.
        let e = parse("bp 120/80mmHg p72 sats 97% o2 air avpu alert temp 99.5F rr 16 @07:45");
        assert!(e.problems.is_empty(), "{:?}", e.problems);
        assert_eq!(e.signs.len(), 7);
        assert_eq!(
            e.get(0),
            Some(&Sign::Temperature {
                celsius: 37.5,
                fahrenheit: Some(99.5)
            })
        );
        assert_eq!(e.at, Some(7 * 60 + 45));
        assert_eq!(e.get(5), Some(&Sign::Oxygen(Oxygen::Air)));
        assert!(parse("O2 28% scale2").scale2);
        assert_eq!(
            parse("O2 28%").get(5),
            Some(&Sign::Oxygen(Oxygen::Fio2(28)))
        );
        assert_eq!(
            parse("ACVPU C").get(6),
            Some(&Sign::Consciousness(Acvpu::Confusion))
        );
    }

    #[test]
    fn impossible_values_are_refused_and_unusual_ones_asked() {
        for (line, want) in [
            ("HR 400", "HR 400 /min is not possible"),
            ("T 98.6", "for Fahrenheit type 98.6F"),
            ("T 20", "T 20 °C is not possible"),
            ("BP 80/120", "the diastolic must be below the systolic"),
            ("BP 120", "systolic/diastolic"),
            ("SpO2 101", "SpO2 101 % is not possible"),
            ("HR 88.5", "HR is a whole number"),
            ("HR", "HR needs a value"),
            ("HR 80 HR 90", "HR is given twice"),
            ("ACVPU X", "one of A C V P U"),
            ("Wt 70", "\"Wt\" is not a sign"),
            ("HR abc", "not a number"),
            ("at 25:00", "not a time of day"),
            ("O2 lots", "air, a flow"),
        ] {
            let e = parse(line);
            let all: Vec<&str> = e.impossible();
            assert!(all.iter().any(|p| p.contains(want)), "{line}: {all:?}");
        }
        for (line, want) in [
            ("HR 220", "HR 220 /min is unusual (usually 30-200 /min)"),
            ("T 42.1", "T 42.1 °C is unusual"),
            ("O2 40L", "O2 40 L/min is unusual"),
            ("SpO2 65", "SpO2 65 % is unusual"),
        ] {
            let e = parse(line);
            assert!(e.impossible().is_empty(), "{line}");
            let unusual = e.unusual();
            assert!(
                unusual.len() == 1 && unusual[0].starts_with(want),
                "{line}: {unusual:?}"
            );
        }
        // Missing signs are named for NEWS2, never taken as normal.
        let e = parse("HR 80 BP 120/80");
        assert_eq!(
            e.news2_inputs(Scale::One).unwrap_err(),
            ["RR", "SpO2", "O2 (air or oxygen)", "ACVPU", "T"]
        );
    }

    fn ctx() -> Context {
        Context {
            patient_id: "p1".into(),
            patient_name: "SMITH, Ann".into(),
            encounter: Some("Encounter/e1".into()),
            performer: json!({"reference": "Practitioner/n1", "display": "Nurse One"}),
            effective: "2026-12-01T08:00:00Z".into(),
            now: "2026-12-01T08:40:00Z".into(),
            late: true,
            set_id: "set1".into(),
            scale: Scale::One,
        }
    }

    #[test]
    fn the_set_as_vital_signs_observations() {
        let e = parse("T 37.9 HR 112 RR 22 BP 92/58 SpO2 93 O2 2L ACVPU A");
        let score = news2::score(&e.news2_inputs(Scale::One).unwrap());
        let b = transaction(&e, &ctx(), Some(&score));
        let entries = b["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 8);
        let codes: Vec<&str> = entries
            .iter()
            .map(|x| {
                x.pointer("/resource/code/coding/0/code")
                    .unwrap()
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            codes,
            [
                "8310-5",
                "8867-4",
                "9279-1",
                "85354-9",
                "2708-6",
                "3151-8",
                "1104441000000107",
                NEWS2_CODE
            ]
        );
        for x in entries {
            let r = &x["resource"];
            assert_eq!(r["subject"]["reference"], "Patient/p1");
            assert_eq!(r["status"], "final");
            assert_eq!(r["effectiveDateTime"], "2026-12-01T08:00:00Z");
            assert_eq!(r["encounter"]["reference"], "Encounter/e1");
            assert!(
                x["request"]["ifNoneExist"]
                    .as_str()
                    .unwrap()
                    .starts_with("identifier=urn:bedside:vitals|set1-")
            );
        }
        let units: Vec<Option<&str>> = entries
            .iter()
            .map(|x| {
                x.pointer("/resource/valueQuantity/code")
                    .and_then(Value::as_str)
            })
            .collect();
        assert_eq!(
            units,
            [
                Some("Cel"),
                Some("/min"),
                Some("/min"),
                None,
                Some("%"),
                Some("L/min"),
                None,
                None
            ]
        );
        let bp = &entries[3]["resource"];
        assert_eq!(bp["component"][0]["code"]["coding"][0]["code"], "8480-6");
        assert_eq!(bp["component"][0]["valueQuantity"]["value"], 92);
        assert_eq!(bp["component"][0]["valueQuantity"]["code"], "mm[Hg]");
        assert_eq!(
            bp["component"][0]["interpretation"][0]["coding"][0]["code"],
            "L"
        );
        assert_eq!(bp["component"][1]["code"]["coding"][0]["code"], "8462-4");
        assert_eq!(
            bp["meta"]["profile"][0],
            "http://hl7.org/fhir/StructureDefinition/bp"
        );
        // HR 112 scores 2: high; T 37.9 scores 0: no flag.
        assert_eq!(
            entries[1]["resource"]["interpretation"][0]["coding"][0]["code"],
            "H"
        );
        assert!(entries[0]["resource"].get("interpretation").is_none());
        // Late entries say so.
        assert!(
            entries[0]["resource"]["note"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Late entry")
        );
        let news = &entries[7]["resource"];
        assert_eq!(news["valueInteger"], 10);
        assert_eq!(news["derivedFrom"].as_array().unwrap().len(), 7);
        assert_eq!(news["derivedFrom"][0]["reference"], entries[0]["fullUrl"]);
        assert!(
            news["interpretation"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("HIGH")
        );
    }
}
