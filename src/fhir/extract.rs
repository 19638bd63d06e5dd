//! Turns a resource into the rows of the search indexes: normalised strings, tokens, date
//! ranges and references, plus the patient compartments the resource belongs to.

use serde_json::Value;

use super::date::parse_range;
use super::params::{Kind, Param, params};
use super::parse_reference;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum IndexValue {
    /// `value` is normalised (accents folded, lower case); `raw` is as written, for `:exact`.
    String {
        value: String,
        raw: String,
    },
    Token {
        system: String,
        code: String,
    },
    Date {
        lo: i64,
        hi: i64,
    },
    Reference {
        rtype: String,
        id: String,
    },
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
    let mut out = Extracted::default();
    if resource_type == "Patient" {
        out.compartments.push(id.to_string());
    }
    let mut nodes = Vec::new();
    for param in params(resource_type)
        .iter()
        .filter(|p| p.alias_of.is_none())
    {
        nodes.clear();
        for path in param.paths {
            collect(resource, path, &mut nodes);
        }
        let before = out.entries.len();
        for node in &nodes {
            index_node(param, node, &mut out);
            if matches!(param.kind, Kind::String | Kind::Token)
                && out.entries.len() - before > MAX_ROWS_PER_PARAM
            {
                out.entries.truncate(before + MAX_ROWS_PER_PARAM);
                break;
            }
        }
    }
    out.compartments.sort_unstable();
    out.compartments.dedup();
    out.entries
        .sort_by(|a, b| (a.0.name, &a.1).cmp(&(b.0.name, &b.1)));
    out.entries
        .dedup_by(|a, b| a.0.name == b.0.name && a.1 == b.1);
    out
}

/// Follows a dotted path, flattening arrays at every step.
fn collect<'a>(value: &'a Value, path: &str, out: &mut Vec<&'a Value>) {
    let (step, rest) = match path.split_once('.') {
        Some((s, r)) => (s, Some(r)),
        None => (path, None),
    };
    let mut visit = |child: &'a Value| match rest {
        Some(rest) => collect(child, rest, out),
        None => out.push(child),
    };
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, path, out)),
        Value::Object(map) => match map.get(step) {
            Some(Value::Array(items)) => items.iter().for_each(&mut visit),
            Some(child) => visit(child),
            None => {}
        },
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
        Kind::Token => tokens(node, &mut |system, code| {
            // Codes and systems are short; a longer one is indexed by its beginning.
            let system = bounded(&system, MAX_INDEXED_CHARS * 2).to_string();
            let code = bounded(&code, MAX_INDEXED_CHARS * 2).to_string();
            out.entries
                .push((param, IndexValue::Token { system, code }));
        }),
        Kind::Date => {
            if let Some((lo, hi)) = date_range(node) {
                out.entries.push((param, IndexValue::Date { lo, hi }));
            }
        }
        Kind::Reference => {
            let Some((rtype, id)) = node
                .get("reference")
                .and_then(Value::as_str)
                .and_then(parse_reference)
            else {
                return;
            };
            if !param.targets.is_empty() && !param.targets.contains(&rtype) {
                return;
            }
            if param.is_patient_compartment() && rtype == "Patient" {
                out.compartments.push(id.to_string());
            }
            let value = IndexValue::Reference {
                rtype: rtype.to_string(),
                id: id.to_string(),
            };
            out.entries.push((param, value));
        }
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

/// Tokens of a code, Coding, CodeableConcept, Identifier or ContactPoint.
fn tokens(node: &Value, emit: &mut dyn FnMut(String, String)) {
    match node {
        Value::String(s) => emit(String::new(), s.clone()),
        Value::Bool(b) => emit(String::new(), b.to_string()),
        Value::Object(map) => {
            if let Some(Value::Array(codings)) = map.get("coding") {
                codings.iter().for_each(|c| tokens(c, emit));
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
            if let Some(code) = code {
                emit(system.to_string(), code.to_string());
            }
        }
        _ => {}
    }
}

fn date_range(node: &Value) -> Option<(i64, i64)> {
    match node {
        Value::String(s) => parse_range(s).map(|r| (r.lo, r.hi)),
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
                code: "0012345".into()
            }]
        );
        assert_eq!(x.compartments, ["p1"]);
        assert_eq!(values(&x, "birthdate").len(), 1);
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
    fn non_patient_subject_is_not_a_compartment() {
        let o = json!({"subject": {"reference": "Group/g1"}});
        let x = extract("Observation", "o1", &o);
        assert!(x.compartments.is_empty());
        assert!(values(&x, "patient").is_empty());
        assert_eq!(values(&x, "subject").len(), 1);
    }
}
