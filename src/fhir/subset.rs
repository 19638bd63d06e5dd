//! `_summary` and `_elements`: a resource cut down to what the client asked for, per the
//! specification's element definitions (which elements are "in the summary", which are
//! mandatory), and tagged SUBSETTED as FHIR asks of any resource served incomplete.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::spec::structures;

/// What part of each resource to return.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Subset {
    #[default]
    Full,
    /// `_summary=true`: the elements the specification marks as summary.
    Summary,
    /// `_summary=text`: text, id, meta and the mandatory elements.
    Text,
    /// `_summary=data`: everything but the narrative.
    Data,
    /// `_elements=a,b`: those top-level elements, and the mandatory ones.
    Elements(Vec<String>),
}

/// Elements listed in one `_elements` at most (each is a top-level name).
pub const MAX_ELEMENTS: usize = 64;

impl Subset {
    /// Reads `_summary` and `_elements` (`_summary=count` and `false` leave resources whole:
    /// count returns none, false all of each).
    pub fn from_params(params: &[(String, String)]) -> Result<Subset, String> {
        let mut subset = Subset::Full;
        for (key, value) in params {
            match key.as_str() {
                "_summary" => {
                    subset = match value.as_str() {
                        "true" => Subset::Summary,
                        "text" => Subset::Text,
                        "data" => Subset::Data,
                        "count" | "false" => Subset::Full,
                        other => {
                            return Err(format!(
                                "_summary must be true, text, data, count or false, not '{other}'"
                            ));
                        }
                    }
                }
                "_elements" => {
                    let names: Vec<String> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(|n| n.rsplit('.').next().unwrap_or(n).to_string())
                        .collect();
                    if names.len() > MAX_ELEMENTS {
                        return Err(format!(
                            "_elements lists {} elements; this server accepts at most {MAX_ELEMENTS}",
                            names.len()
                        ));
                    }
                    if !names.is_empty() {
                        subset = Subset::Elements(names);
                    }
                }
                _ => {}
            }
        }
        Ok(subset)
    }

    pub fn is_full(&self) -> bool {
        *self == Subset::Full
    }

    /// `json` (a resource of `rtype`) cut to this subset; the text itself when whole.
    pub fn apply_json(&self, rtype: &str, json: String) -> String {
        if self.is_full() {
            return json;
        }
        match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(mut map)) => {
                self.apply(rtype, &mut map);
                Value::Object(map).to_string()
            }
            _ => json,
        }
    }

    pub fn apply(&self, rtype: &str, resource: &mut Map<String, Value>) {
        if self.is_full() {
            return;
        }
        let info = top_level(rtype);
        let keep = |key: &str| -> bool {
            if matches!(key, "resourceType" | "id" | "meta") {
                return true;
            }
            let base = key.strip_prefix('_').unwrap_or(key);
            let element = info.and_then(|i| element_of(i, base));
            let mandatory = element.is_some_and(|e| e.mandatory);
            match self {
                Subset::Full => true,
                Subset::Summary => element.is_some_and(|e| e.summary),
                Subset::Text => base == "text" || mandatory,
                Subset::Data => base != "text",
                Subset::Elements(names) => {
                    mandatory
                        || names.iter().any(|n| {
                            n == base
                                || element.is_some_and(|e| e.choice && base.starts_with(n.as_str()))
                        })
                }
            }
        };
        let before = resource.len();
        resource.retain(|k, _| keep(k));
        if resource.len() < before || !matches!(self, Subset::Data) {
            tag_subsetted(resource);
        }
    }
}

/// Marks a resource as served incomplete.
pub fn tag_subsetted(resource: &mut Map<String, Value>) {
    let tag = json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
        "display": "subsetted"
    });
    let meta = resource
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        let tags = meta
            .entry("tag")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(tags) = tags {
            if !tags.iter().any(|t| t["code"] == "SUBSETTED") {
                tags.push(tag);
            }
        }
    }
}

struct Top {
    summary: bool,
    mandatory: bool,
    choice: bool,
}

/// A type's top-level elements by name (`value` for `value[x]`).
fn top_level(rtype: &str) -> Option<&'static HashMap<String, Top>> {
    static TOP: OnceLock<HashMap<String, HashMap<String, Top>>> = OnceLock::new();
    TOP.get_or_init(|| {
        structures()
            .iter()
            .filter(|(_, s)| s.kind == "resource")
            .map(|(name, s)| {
                let elements = s
                    .elements
                    .iter()
                    .filter(|e| !e.p.contains('.'))
                    .map(|e| {
                        let choice = e.p.ends_with("[x]");
                        let name = e.p.trim_end_matches("[x]").to_string();
                        (
                            name,
                            Top {
                                summary: e.sum == 1,
                                mandatory: e.min > 0,
                                choice,
                            },
                        )
                    })
                    .collect();
                (name.clone(), elements)
            })
            .collect()
    })
    .get(rtype)
}

/// The element a JSON key is: itself, or the choice element it is one type of
/// (`valueQuantity`: `value[x]`).
fn element_of<'a>(info: &'a HashMap<String, Top>, key: &str) -> Option<&'a Top> {
    if let Some(e) = info.get(key) {
        return Some(e);
    }
    let split = key
        .char_indices()
        .filter(|(_, c)| c.is_uppercase())
        .map(|(i, _)| i);
    for at in split {
        if let Some(e) = info.get(&key[..at]).filter(|e| e.choice) {
            return Some(e);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(subset: Subset, v: Value) -> Value {
        let Value::Object(mut m) = v else {
            unreachable!()
        };
        subset.apply("Observation", &mut m);
        Value::Object(m)
    }

    #[test]
    fn summary_text_data_and_elements() {
        let obs = json!({"resourceType": "Observation", "id": "o1", "status": "final",
            "text": {"status": "generated", "div": "<div/>"}, "note": [{"text": "x"}],
            "code": {"text": "Hb"}, "valueQuantity": {"value": 1}, "_status": {"id": "s"}});
        let s = cut(Subset::Summary, obs.clone());
        assert!(s.get("note").is_none() && s.get("text").is_none());
        assert_eq!(s["valueQuantity"]["value"], 1);
        assert_eq!(s["meta"]["tag"][0]["code"], "SUBSETTED");
        let t = cut(Subset::Text, obs.clone());
        assert!(t.get("text").is_some() && t.get("status").is_some());
        assert!(t.get("valueQuantity").is_none());
        let d = cut(Subset::Data, obs.clone());
        assert!(d.get("text").is_none() && d.get("note").is_some());
        let e = cut(Subset::Elements(vec!["value".into()]), obs);
        assert!(e.get("valueQuantity").is_some());
        assert!(e.get("status").is_some(), "mandatory elements stay");
        assert!(e.get("_status").is_some());
        assert!(e.get("note").is_none() && e.get("text").is_none());
    }

    #[test]
    fn parameters() {
        let p = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert_eq!(
            Subset::from_params(&p("_summary", "true")),
            Ok(Subset::Summary)
        );
        assert_eq!(
            Subset::from_params(&p("_summary", "count")),
            Ok(Subset::Full)
        );
        assert!(Subset::from_params(&p("_summary", "maybe")).is_err());
        assert_eq!(
            Subset::from_params(&p("_elements", "Observation.code,status")),
            Ok(Subset::Elements(vec!["code".into(), "status".into()]))
        );
        let many = vec!["x"; 100].join(",");
        assert!(Subset::from_params(&p("_elements", &many)).is_err());
    }
}
