//! Turns a resource into the rows of the search indexes (normalised strings, tokens, date
//! ranges, numbers and quantities, references, composites) by evaluating each search
//! parameter's FHIRPath expression, plus the patient compartments the resource belongs to.

use std::cmp::Ordering;

use serde_json::Value;

use super::date::parse_range;
use super::params::{Kind, Param, find, params, row_sources};
use super::parse_reference;
use super::spec;

/// A number in an index row, ordered totally (so rows sort and deduplicate).
#[derive(Debug, Clone, Copy)]
pub struct Num(pub f64);

impl PartialEq for Num {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexValue {
    /// `value` is normalised (accents folded, lower case); `raw` is as written, for `:exact`.
    String {
        value: String,
        raw: String,
    },
    /// A token, and a uri (with an empty system). `text` is the text that goes with the code
    /// (a CodeableConcept's text, else the Coding's display; an Identifier's type text),
    /// normalised, for `:text`; a CodeableConcept with text and no coding has a row with an
    /// empty code and system.
    Token {
        system: String,
        code: String,
        text: String,
    },
    Date {
        lo: i64,
        hi: i64,
    },
    Reference {
        rtype: String,
        id: String,
    },
    /// A number (`system` and `code` empty) or a quantity: the range it covers (a Range's low
    /// and high; a single value's own), and its unit; a UCUM quantity also in canonical units.
    Quantity {
        lo: Num,
        hi: Num,
        system: String,
        code: String,
        canon: Option<Canonical>,
    },
    /// A composite of two parts: the first a token (or a reference as `Type/id`), the second
    /// a token or string (`code2`, `system2`) or a quantity, number or date (`lo2`..`hi2`, with
    /// a quantity's unit in `system2`/`code2`).
    Composite {
        code1: String,
        system1: String,
        code2: String,
        system2: String,
        lo2: Num,
        hi2: Num,
        canon2: Option<Canonical>,
    },
}

/// A UCUM quantity in the canonical base units: `5 mg` is `0.005 g`, `37 Cel` is `310.15 K`, so
/// a search in one unit finds values written in another of the same dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Canonical {
    pub lo: Num,
    pub hi: Num,
    /// The dimension in base units (`g.m-3`), standing for every unit of that dimension.
    pub unit: String,
}

/// The UCUM system URI.
pub const UCUM: &str = "http://unitsofmeasure.org";

/// A value range in a UCUM unit, in canonical units: `None` for a unit UCUM does not define,
/// or one without a linear scale (arbitrary units such as `[IU]`, logarithmic ones).
pub fn canonical(lo: f64, hi: f64, code: &str) -> Option<Canonical> {
    let (dimension, factor, offset) = ucum_scale(code)?;
    let lo = factor * lo + offset;
    let hi = factor * hi + offset;
    (!lo.is_nan() && !hi.is_nan()).then_some(Canonical {
        lo: Num(lo),
        hi: Num(hi),
        unit: dimension,
    })
}

/// A UCUM unit's dimension, and its factor and offset to base units.
type Scale = (String, f64, f64);

/// A UCUM unit's scale, remembered per thread: a database
/// holds a few hundred distinct units among millions of values.
fn ucum_scale(code: &str) -> Option<Scale> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const REMEMBERED: usize = 4096;
    thread_local! {
        static SCALES: RefCell<HashMap<String, Option<Scale>>> =
            RefCell::new(HashMap::new());
    }
    if code.is_empty() || code.len() > 64 {
        return None;
    }
    SCALES.with(|cache| {
        if let Some(known) = cache.borrow().get(code) {
            return known.clone();
        }
        let scale = ucum::analyze(code).ok().and_then(|a| {
            let linear = !a.is_special || a.offset != 0.0;
            (linear && a.factor.is_finite() && a.factor > 0.0 && a.offset.is_finite())
                .then(|| (a.dimension.to_string(), a.factor, a.offset))
        });
        let mut cache = cache.borrow_mut();
        if cache.len() >= REMEMBERED {
            cache.clear();
        }
        cache.insert(code.to_string(), scale.clone());
        scale
    })
}

#[derive(Debug, Default)]
pub struct Extracted {
    pub entries: Vec<(&'static Param, IndexValue)>,
    /// Ids of the patients whose compartment holds this resource.
    pub compartments: Vec<String>,
}

/// Folds accents and case so `Núñez`, `nunez` and `NUNEZ` index alike.
pub fn normalize(s: &str) -> String {
    deunicode::deunicode(s.trim()).to_lowercase()
}

pub fn extract(resource_type: &str, id: &str, resource: &Value) -> Extracted {
    extract_with(resource_type, id, resource, true)
}

/// `extract` evaluating every parameter, even those whose elements the resource lacks (the
/// tests check that skipping those loses nothing).
#[doc(hidden)]
pub fn extract_every_parameter(resource_type: &str, id: &str, resource: &Value) -> Extracted {
    extract_with(resource_type, id, resource, false)
}

fn extract_with(resource_type: &str, id: &str, resource: &Value, skip: bool) -> Extracted {
    let mut out = Extracted {
        compartments: compartments(resource_type, id, resource),
        ..Extracted::default()
    };
    let present = super::params::present_elements(resource);
    for param in params(resource_type)
        .iter()
        .filter(|p| !p.is_alias() && p.pair.is_none() && (!skip || p.applies_to(&present)))
    {
        let before = out.entries.len();
        if param.kind == Kind::Composite {
            composite(param, resource, &mut out);
            continue;
        }
        for item in param.expr.eval(resource) {
            index_node(param, unwrap_extension(&item.value), &mut out);
            if param.kind != Kind::Reference && out.entries.len() - before > MAX_ROWS_PER_PARAM {
                out.entries.truncate(before + MAX_ROWS_PER_PARAM);
                break;
            }
        }
    }
    out.entries
        .sort_by(|a, b| (a.0.name, &a.1).cmp(&(b.0.name, &b.1)));
    out.entries
        .dedup_by(|a, b| a.0.name == b.0.name && a.1 == b.1);
    out
}

/// The rows a composite would have of its own, a paired one too (for the tests that check
/// that a pair answers exactly as those rows would).
#[doc(hidden)]
pub fn composite_rows(param: &'static Param, resource: &Value) -> Vec<IndexValue> {
    let mut out = Extracted::default();
    composite(param, resource, &mut out);
    out.entries.into_iter().map(|(_, v)| v).collect()
}

/// An Extension stands for its value (`Patient.extension('...mothersMaidenName')` is a string).
fn unwrap_extension(node: &Value) -> &Value {
    if let Value::Object(map) = node {
        if map.contains_key("url") {
            if let Some((_, v)) = map.iter().find(|(k, _)| {
                k.strip_prefix("value")
                    .is_some_and(|s| s.starts_with(char::is_uppercase))
            }) {
                return v;
            }
        }
    }
    node
}

/// The patients whose compartment holds this resource: itself for a Patient, and the Patient
/// references of the parameters the specification's Patient CompartmentDefinition names for
/// its type. A type outside that definition that can still hold patient data (Task, Device,
/// Bundle, Binary, MessageHeader...) belongs to every patient it names anywhere, so the gate
/// treats it as their data.
pub fn compartments(resource_type: &str, id: &str, resource: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if resource_type == "Patient" {
        out.push(id.to_string());
    }
    match compartment_sources(resource_type) {
        Some(sources) => {
            for source in sources {
                for item in source.expr.eval(resource) {
                    if let Some(("Patient", pid)) = reference_of(&item.value) {
                        out.push(pid.to_string());
                    }
                }
            }
        }
        None if spec::holds_patient_data(resource_type) => {
            patients_named(resource, &mut out);
        }
        None => {}
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The parameters whose references place a resource of `resource_type` in a patient's
/// compartment (the definition's, through their aliases to the rows' own); `None` when the
/// type is not in the definition.
fn compartment_sources(resource_type: &str) -> Option<&'static [&'static Param]> {
    static SOURCES: std::sync::OnceLock<
        std::collections::HashMap<&'static str, Vec<&'static Param>>,
    > = std::sync::OnceLock::new();
    SOURCES
        .get_or_init(|| {
            super::RESOURCE_TYPES
                .iter()
                .filter_map(|rtype| {
                    let names = spec::patient_compartment(rtype)?;
                    let mut sources: Vec<&'static Param> = names
                        .iter()
                        .filter_map(|n| find(rtype, n))
                        .flat_map(|p| row_sources(rtype, p))
                        .collect();
                    sources.sort_by_key(|p| p.name);
                    sources.dedup_by_key(|p| p.name);
                    Some((*rtype, sources))
                })
                .collect()
        })
        .get(resource_type)
        .map(Vec::as_slice)
}

/// The top-level elements `compartments` reads for a resource of `resource_type`; `None`
/// when it reads the whole resource (a type outside the compartment definition that can hold
/// patient data).
pub fn compartment_fields(resource_type: &str) -> Option<&'static [String]> {
    static FIELDS: std::sync::OnceLock<std::collections::HashMap<&'static str, Vec<String>>> =
        std::sync::OnceLock::new();
    let table = FIELDS.get_or_init(|| {
        let mut table = std::collections::HashMap::new();
        for rtype in super::RESOURCE_TYPES {
            let mut fields = Vec::new();
            match spec::patient_compartment(rtype) {
                Some(names) => {
                    for name in names {
                        for source in find(rtype, name)
                            .map(|p| row_sources(rtype, p))
                            .unwrap_or_default()
                        {
                            source.expr.top_fields(&mut fields);
                        }
                    }
                }
                None if spec::holds_patient_data(rtype) => continue,
                None => {}
            }
            fields.sort();
            fields.dedup();
            table.insert(*rtype, fields);
        }
        table
    });
    table.get(resource_type).map(Vec::as_slice)
}

fn reference_of(node: &Value) -> Option<(&str, &str)> {
    match node {
        Value::Object(map) => map
            .get("reference")
            .and_then(Value::as_str)
            .and_then(parse_reference),
        _ => None,
    }
}

/// Every Patient a value references or holds (a Bundle's Patient entries). All of them, with
/// no cap: a record is judged by every chart it names (a cap would let the one past it
/// through). The walk is as long as the JSON, which the body limit bounds, and as deep as
/// serde_json's nesting limit lets a document be.
fn patients_named(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                if let Some(("Patient", id)) = parse_reference(r) {
                    out.push(id.to_string());
                }
            }
            if map.get("resourceType").and_then(Value::as_str) == Some("Patient") {
                if let Some(id) = map.get("id").and_then(Value::as_str) {
                    out.push(id.to_string());
                }
            }
            map.values().for_each(|v| patients_named(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| patients_named(v, out)),
        _ => {}
    }
}

fn index_node(param: &'static Param, node: &Value, out: &mut Extracted) {
    match param.kind {
        Kind::String => {
            let mut parts = Vec::new();
            string_parts(node, &mut parts);
            for (raw, words) in parts {
                push_string(param, raw, words, out);
            }
        }
        Kind::Token => {
            tokens(node, &mut |system, code, text| {
                // Codes and systems are short; a longer one is indexed by its beginning.
                let system = bounded(system, MAX_INDEXED_CHARS * 2).to_string();
                let code = bounded(code, MAX_INDEXED_CHARS * 2).to_string();
                let text = text.map(token_text).unwrap_or_default();
                out.entries
                    .push((param, IndexValue::Token { system, code, text }));
            });
            of_type(param, node, out);
        }
        Kind::Uri => {
            if let Some(uri) = node.as_str() {
                let code = bounded(uri, MAX_INDEXED_CHARS * 4).to_string();
                out.entries.push((
                    param,
                    IndexValue::Token {
                        system: String::new(),
                        code,
                        text: String::new(),
                    },
                ));
            }
        }
        Kind::Date => {
            if let Some((lo, hi)) = date_range(node) {
                out.entries.push((param, IndexValue::Date { lo, hi }));
            }
        }
        Kind::Number | Kind::Quantity => {
            if let Some(q) = quantity(node) {
                out.entries.push((param, q));
            }
        }
        Kind::Reference => {
            // A logical reference (`{"identifier": {...}}`), for `:identifier`: a token row
            // under the reference parameter's own id.
            if let Some(identifier) = node.get("identifier").filter(|i| i.is_object()) {
                tokens(identifier, &mut |system, code, _| {
                    let system = bounded(system, MAX_INDEXED_CHARS * 2).to_string();
                    let code = bounded(code, MAX_INDEXED_CHARS * 2).to_string();
                    let text = String::new();
                    out.entries
                        .push((param, IndexValue::Token { system, code, text }));
                });
            }
            let Some((rtype, id)) = (match node {
                // A canonical (`Questionnaire/x` or its URL) where the element is one.
                Value::String(s) => parse_reference(s),
                _ => reference_of(node),
            }) else {
                return;
            };
            if !param.targets.is_empty() && !param.targets.contains(&rtype) {
                return;
            }
            let value = IndexValue::Reference {
                rtype: rtype.to_string(),
                id: id.to_string(),
            };
            out.entries.push((param, value));
        }
        Kind::Composite => {}
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// A number, Quantity (or Age, Duration...), Range or Money as an index row.
fn quantity(node: &Value) -> Option<IndexValue> {
    let text = |m: &serde_json::Map<String, Value>, k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(|s| bounded(s, MAX_INDEXED_CHARS).to_string())
            .unwrap_or_default()
    };
    match node {
        Value::Number(_) => {
            let v = number(node)?;
            Some(IndexValue::Quantity {
                lo: Num(v),
                hi: Num(v),
                system: String::new(),
                code: String::new(),
                canon: None,
            })
        }
        Value::Object(m) if m.contains_key("low") || m.contains_key("high") => {
            let low = m.get("low");
            let high = m.get("high");
            let lo = low.and_then(|l| l.get("value")).and_then(number);
            let hi = high.and_then(|h| h.get("value")).and_then(number);
            if lo.is_none() && hi.is_none() {
                return None;
            }
            let unit = low.or(high).and_then(Value::as_object);
            let (lo, hi) = (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY));
            let system = unit.map(|u| text(u, "system")).unwrap_or_default();
            let ucum_code = unit.map(|u| text(u, "code")).unwrap_or_default();
            let canon = (system == UCUM)
                .then(|| canonical(lo, hi, &ucum_code))
                .flatten();
            Some(IndexValue::Quantity {
                lo: Num(lo),
                hi: Num(hi),
                system,
                code: if ucum_code.is_empty() {
                    unit.map(|u| text(u, "unit")).unwrap_or_default()
                } else {
                    ucum_code
                },
                canon,
            })
        }
        Value::Object(m) => {
            let v = m.get("value").and_then(number)?;
            let code = text(m, "code");
            let system = text(m, "system");
            let canon = (system == UCUM).then(|| canonical(v, v, &code)).flatten();
            let code = if code.is_empty() {
                // Money carries a currency; a Quantity without a code, its unit text.
                let currency = text(m, "currency");
                if currency.is_empty() {
                    text(m, "unit")
                } else {
                    currency
                }
            } else {
                code
            };
            Some(IndexValue::Quantity {
                lo: Num(v),
                hi: Num(v),
                system,
                code,
                canon,
            })
        }
        _ => None,
    }
}

/// A composite's rows: for each node the parameter's expression finds, every pairing of its
/// two parts (a Observation's code with its value).
fn composite(param: &'static Param, resource: &Value, out: &mut Extracted) {
    let [first, second] = param.components.as_slice() else {
        return;
    };
    let before = out.entries.len();
    for root in param.expr.eval(resource) {
        let mut ones = Vec::new();
        for item in first.expr.eval_on(root.clone()) {
            let node = unwrap_extension(&item.value);
            match first.kind {
                Kind::Reference => {
                    if let Some((t, id)) = reference_of(node) {
                        ones.push((String::new(), format!("{t}/{id}")));
                    }
                }
                _ => tokens(node, &mut |system, code, _| {
                    ones.push((system.to_string(), code.to_string()))
                }),
            }
        }
        if ones.is_empty() {
            continue;
        }
        type Second = (String, String, f64, f64, Option<Canonical>);
        let mut twos: Vec<Second> = Vec::new();
        for item in second.expr.eval_on(root) {
            let node = unwrap_extension(&item.value);
            match second.kind {
                Kind::Token => tokens(node, &mut |s, c, _| {
                    twos.push((s.to_string(), c.to_string(), 0.0, 0.0, None))
                }),
                Kind::String => {
                    let mut parts = Vec::new();
                    string_parts(node, &mut parts);
                    for (raw, _) in parts {
                        let v = normalize(bounded(raw, MAX_INDEXED_CHARS));
                        twos.push((String::new(), v, 0.0, 0.0, None));
                    }
                }
                Kind::Date => {
                    if let Some((lo, hi)) = date_range(node) {
                        twos.push((String::new(), String::new(), lo as f64, hi as f64, None));
                    }
                }
                Kind::Quantity | Kind::Number => {
                    if let Some(IndexValue::Quantity {
                        lo,
                        hi,
                        system,
                        code,
                        canon,
                    }) = quantity(node)
                    {
                        twos.push((system, code, lo.0, hi.0, canon));
                    }
                }
                _ => {}
            }
        }
        for (system1, code1) in &ones {
            for (system2, code2, lo2, hi2, canon2) in &twos {
                if out.entries.len() - before >= MAX_ROWS_PER_PARAM {
                    return;
                }
                let parts = [code1.as_str(), system1, code2, system2];
                let row = composite_row(parts, [*lo2, *hi2], canon2.clone());
                out.entries.push((param, row));
            }
        }
    }
}

/// A composite row of two parts, its texts bounded.
fn composite_row(
    [code1, system1, code2, system2]: [&str; 4],
    [lo2, hi2]: [f64; 2],
    canon2: Option<Canonical>,
) -> IndexValue {
    let text = |s: &str| bounded(s, MAX_INDEXED_CHARS * 2).to_string();
    IndexValue::Composite {
        code1: text(code1),
        system1: text(system1),
        code2: text(code2),
        system2: text(system2),
        lo2: Num(lo2),
        hi2: Num(hi2),
        canon2,
    }
}

/// Longest text indexed for one string, in characters: searches match from the start, and a
/// clinician types a few letters, so a longer value is indexed by its beginning.
pub const MAX_INDEXED_CHARS: usize = 128;
/// Words indexed per string (a name has a handful; a flood has thousands).
pub const MAX_INDEXED_WORDS: usize = 16;
/// Index rows per parameter of one resource, strings and tokens alike.
pub const MAX_ROWS_PER_PARAM: usize = 256;

/// `s` cut to at most `max` characters.
fn bounded(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

/// Indexes a string whole and, with `words`, word by word, so `name=lopez` finds `García López`.
/// Each word is indexed as itself (its `raw` left empty, so `:exact` matches only the whole
/// string); the text and the number of words are bounded, so no value costs more than a few
/// rows however long it is.
fn push_string(param: &'static Param, raw: &str, words: bool, out: &mut Extracted) {
    let raw = bounded(raw, MAX_INDEXED_CHARS * 2);
    let whole = normalize(bounded(raw, MAX_INDEXED_CHARS));
    let whole = bounded(&whole, MAX_INDEXED_CHARS).to_string();
    if whole.is_empty() {
        return;
    }
    let split = whole.split(|c: char| c.is_whitespace() || c == '-' || c == ',');
    for word in split
        .filter(|w| words && !w.is_empty() && *w != whole)
        .take(MAX_INDEXED_WORDS)
    {
        let value = IndexValue::String {
            value: word.to_string(),
            raw: String::new(),
        };
        out.entries.push((param, value));
    }
    out.entries.push((
        param,
        IndexValue::String {
            value: whole,
            raw: raw.to_string(),
        },
    ));
}

/// The searchable text of a string, HumanName or Address, and whether to index it word by
/// word too: names and plain strings are (clinicians type "lopez" for "García López"), address
/// parts are matched from their start, as FHIR string search describes.
fn string_parts<'a>(node: &'a Value, out: &mut Vec<(&'a str, bool)>) {
    const NAME: &[&str] = &["family", "given", "prefix", "suffix", "text"];
    const ADDRESS: &[&str] = &[
        "line",
        "city",
        "district",
        "state",
        "postalCode",
        "country",
        "text",
    ];
    match node {
        Value::String(s) => out.push((s, true)),
        Value::Array(items) => items.iter().for_each(|i| string_parts(i, out)),
        Value::Object(map) => {
            let is_name = map.contains_key("family") || map.contains_key("given");
            let (parts, words) = if is_name {
                (NAME, true)
            } else {
                (ADDRESS, false)
            };
            for key in parts {
                match map.get(*key) {
                    Some(Value::String(s)) => out.push((s, words)),
                    Some(Value::Array(items)) => {
                        out.extend(items.iter().filter_map(Value::as_str).map(|s| (s, words)))
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Tokens of a code, Coding, CodeableConcept, Identifier or ContactPoint, each with the text
/// that goes with it (see `IndexValue::Token`).
fn tokens(node: &Value, emit: &mut dyn FnMut(&str, &str, Option<&str>)) {
    match node {
        Value::String(s) => emit("", s, None),
        Value::Bool(b) => emit("", if *b { "true" } else { "false" }, None),
        Value::Object(map) => {
            let text = map.get("text").and_then(Value::as_str);
            if let Some(Value::Array(codings)) = map.get("coding") {
                for coding in codings {
                    let display = coding.get("display").and_then(Value::as_str);
                    tokens(coding, &mut |s, c, _| emit(s, c, text.or(display)));
                }
                if codings.is_empty() {
                    if let Some(text) = text {
                        emit("", "", Some(text));
                    }
                }
                return;
            }
            if text.is_some() && !map.contains_key("code") && !map.contains_key("value") {
                // A CodeableConcept of text alone.
                emit("", "", text);
                return;
            }
            let system = map
                .get("system")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let code = map
                .get("code")
                .or_else(|| map.get("value"))
                .and_then(Value::as_str);
            // A Coding's display; an Identifier's type text.
            let text = map.get("display").and_then(Value::as_str).or_else(|| {
                map.get("type")
                    .and_then(|t| t.get("text"))
                    .and_then(Value::as_str)
            });
            if let Some(code) = code {
                emit(system, code, text);
            }
        }
        _ => {}
    }
}

/// The normalised, bounded text of a token for `:text`.
fn token_text(text: &str) -> String {
    let text = normalize(bounded(text, MAX_INDEXED_CHARS));
    bounded(&text, MAX_INDEXED_CHARS).to_string()
}

/// An Identifier's type with its value, for `identifier:of-type=system|code|value`: a
/// composite row under the identifier parameter (type as the first part, value as the second).
fn of_type(param: &'static Param, node: &Value, out: &mut Extracted) {
    let Some(value) = node.get("value").and_then(Value::as_str) else {
        return;
    };
    let Some(codings) = node
        .get("type")
        .and_then(|t| t.get("coding"))
        .and_then(Value::as_array)
    else {
        return;
    };
    for coding in codings {
        let Some(code) = coding.get("code").and_then(Value::as_str) else {
            continue;
        };
        let system = coding.get("system").and_then(Value::as_str).unwrap_or("");
        let row = composite_row([code, system, value, ""], [0.0, 0.0], None);
        out.entries.push((param, row));
    }
}

fn date_range(node: &Value) -> Option<(i64, i64)> {
    match node {
        Value::String(s) => parse_range(s).map(|r| (r.lo, r.hi)),
        // A Timing: from its first event to its last.
        Value::Object(map) if map.contains_key("event") => {
            let events: Vec<_> = map["event"]
                .as_array()?
                .iter()
                .filter_map(|e| parse_range(e.as_str()?))
                .collect();
            let lo = events.iter().map(|r| r.lo).min()?;
            let hi = events.iter().map(|r| r.hi).max()?;
            Some((lo, hi))
        }
        Value::Object(map) => {
            let start = map
                .get("start")
                .and_then(Value::as_str)
                .and_then(parse_range);
            let end = map.get("end").and_then(Value::as_str).and_then(parse_range);
            if start.is_none() && end.is_none() {
                return None;
            }
            Some((
                start.map_or(i64::MIN, |r| r.lo),
                end.map_or(i64::MAX, |r| r.hi),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(x: &Extracted, name: &str) -> Vec<IndexValue> {
        x.entries
            .iter()
            .filter(|(p, _)| p.name == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    #[test]
    fn patient_names_fold_accents_and_split_words() {
        let p = json!({"resourceType": "Patient", "name": [{"family": "García López",
            "given": ["José"]}], "birthDate": "1956-03-14",
            "identifier": [{"system": "urn:mrn", "value": "0012345"}]});
        let x = extract("Patient", "p1", &p);
        let names: Vec<_> = values(&x, "name")
            .into_iter()
            .filter_map(|v| match v {
                IndexValue::String { value, .. } => Some(value),
                _ => None,
            })
            .collect();
        for want in ["garcia lopez", "garcia", "lopez", "jose"] {
            assert!(
                names.contains(&want.to_string()),
                "{want} missing from {names:?}"
            );
        }
        assert_eq!(
            values(&x, "identifier"),
            [IndexValue::Token {
                system: "urn:mrn".into(),
                code: "0012345".into(),
                text: String::new(),
            }]
        );
        assert_eq!(x.compartments, ["p1"]);
        assert_eq!(values(&x, "birthdate").len(), 1);
    }

    #[test]
    fn token_text_and_ucum_canonical_values() {
        let o = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0",
                "display": "Glucose [Mass/volume] in Blood"}]},
            "category": [{"text": "Laboratory"}],
            "valueQuantity": {"value": 90, "system": UCUM, "code": "mg/dL"}});
        let x = extract("Observation", "o1", &o);
        assert_eq!(
            values(&x, "code"),
            [IndexValue::Token {
                system: "http://loinc.org".into(),
                code: "2339-0".into(),
                text: "glucose [mass/volume] in blood".into(),
            }]
        );
        // A concept of text alone still has a row, for `:text`.
        assert_eq!(
            values(&x, "category"),
            [IndexValue::Token {
                system: String::new(),
                code: String::new(),
                text: "laboratory".into(),
            }]
        );
        let [IndexValue::Quantity { canon: Some(c), .. }] = &values(&x, "value-quantity")[..]
        else {
            panic!("no canonical quantity");
        };
        // 90 mg/dL is 900 g/m3 (the dimension written m-3.g).
        assert!((c.lo.0 - 900.0).abs() < 1e-6 && c.unit == "m-3.g", "{c:?}");
        // Units UCUM does not scale linearly are kept as written only.
        assert!(canonical(1.0, 1.0, "[IU]/L").is_none());
        assert!(canonical(1.0, 1.0, "not a unit").is_none());
        let celsius = canonical(37.0, 37.0, "Cel").unwrap();
        assert!((celsius.lo.0 - 310.15).abs() < 1e-6 && celsius.unit == "K");
    }

    #[test]
    fn observation_codes_dates_and_compartment() {
        let o = json!({"resourceType": "Observation", "status": "final",
            "subject": {"reference": "Patient/p9"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "effectivePeriod": {"start": "2020-01-01"}});
        let x = extract("Observation", "o1", &o);
        assert_eq!(x.compartments, ["p9"]);
        assert!(matches!(
            values(&x, "date")[0],
            IndexValue::Date { hi: i64::MAX, .. }
        ));
        assert_eq!(values(&x, "code").len(), 1);
        // `patient` is an alias answered from the `subject` rows.
        assert_eq!(values(&x, "subject").len(), 1);
        assert!(values(&x, "patient").is_empty());
    }

    #[test]
    fn a_flood_of_words_is_indexed_in_a_few_rows() {
        let family = vec!["word"; 8000]
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{w}{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let p = json!({"resourceType": "Patient", "name": [{"family": family,
            "given": vec!["Ann"; 5000]}]});
        let x = extract("Patient", "p1", &p);
        assert!(x.entries.len() < 600, "{} rows", x.entries.len());
        let longest = x
            .entries
            .iter()
            .filter_map(|(_, v)| match v {
                IndexValue::String { value, raw } => Some(value.len().max(raw.len())),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        assert!(longest <= MAX_INDEXED_CHARS * 2 * 4, "{longest} bytes");
        // Words carry no copy of the whole string.
        assert!(x.entries.iter().any(|(_, v)| matches!(v,
            IndexValue::String { value, raw } if value == "word1" && raw.is_empty())));
    }

    #[test]
    fn every_member_of_a_huge_group_and_bundle_counts() {
        // One past any cap would escape the gate: the last patient named must be found.
        let members: Vec<Value> = (0..210_000)
            .map(|i| json!({"entity": {"reference": format!("Patient/p{i}")}}))
            .collect();
        let group = json!({"resourceType": "Group", "member": members});
        let c = compartments("Group", "g", &group);
        assert_eq!(c.len(), 210_000);
        assert!(c.contains(&"p209999".to_string()));
        let entries: Vec<Value> = (0..5_000)
            .map(|i| json!({"resource": {"resourceType": "Patient", "id": format!("b{i}")}}))
            .collect();
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        assert_eq!(compartments("Bundle", "b", &bundle).len(), 5_000);
    }

    #[test]
    fn non_patient_subject_is_not_a_compartment() {
        let o = json!({"subject": {"reference": "Group/g1"}});
        let x = extract("Observation", "o1", &o);
        assert!(x.compartments.is_empty());
        assert!(values(&x, "patient").is_empty());
        assert_eq!(values(&x, "subject").len(), 1);
    }
}
