//! Validation of a resource against the specification's own element definitions (the
//! StructureDefinitions the R4 JSON Schema is made from): every element known (unknown ones
//! are refused: this server's stated policy), repeating elements as arrays and single ones
//! not, required elements present, choice types of an allowed type, primitives of the right
//! JSON type and format (dates, instants, ids, codes, integers...), codes of `required`
//! bindings from their value set, and references to types the element allows. Each problem
//! is reported with its path (`Patient.birthDate`, `Observation.component[1].code`).
//!
//! Not checked: the specification's FHIRPath invariants (`ele-1`...), profiles, and bindings
//! whose value set the package cannot expand (UCUM units, MIME types, currencies).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::spec::{Element, structures, value_set};
use super::{IssueCode, parse_reference, valid_id};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where, as a FHIRPath-like path from the resource type.
    pub path: String,
    pub message: String,
    pub code: IssueCode,
}

/// Problems reported at most for one resource (the first ones; the rest are counted).
pub const MAX_ISSUES: usize = 50;
/// Nesting followed at most (contained resources, Bundle entries, nested items).
const MAX_DEPTH: usize = 64;

/// Every problem of `resource` (empty: valid).
pub fn validate(resource: &Value) -> Vec<Issue> {
    let mut v = Validator {
        issues: Vec::new(),
        more: 0,
    };
    v.resource(resource, None, 0);
    if v.more > 0 {
        let last = Issue {
            path: String::new(),
            message: format!("{} more problems not listed", v.more),
            code: IssueCode::Informational,
        };
        v.issues.push(last);
    }
    v.issues
}

/// The issues as an OperationOutcome (errors; `information` when there are none).
pub fn outcome(issues: &[Issue]) -> Value {
    if issues.is_empty() {
        return super::operation_outcome(
            "information",
            IssueCode::Informational,
            "the resource is valid",
        );
    }
    let list: Vec<Value> = issues
        .iter()
        .map(|i| {
            let mut issue = serde_json::json!({
                "severity": if i.code == IssueCode::Informational { "information" } else { "error" },
                "code": i.code.as_str(),
                "diagnostics": if i.path.is_empty() { i.message.clone() } else { format!("{}: {}", i.path, i.message) },
            });
            if !i.path.is_empty() {
                issue["expression"] = serde_json::json!([i.path]);
            }
            issue
        })
        .collect();
    serde_json::json!({"resourceType": "OperationOutcome", "issue": list})
}

/// The elements of each structure: the children of each path by name, and those required.
/// Looked up for every element of every resource written: a fast hash (the keys are the
/// spec's own, fixed at start).
type Fast<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

struct Index {
    /// (structure, parent path) -> the child elements by their last name (`value[x]` too).
    children: Fast<(&'static str, &'static str), Fast<&'static str, &'static Element>>,
    /// (structure, parent path) -> the child elements that must be present.
    required: Fast<(&'static str, &'static str), Vec<&'static Element>>,
}

fn index() -> &'static Index {
    static I: OnceLock<Index> = OnceLock::new();
    I.get_or_init(|| {
        let mut children: Fast<(&str, &str), Fast<&str, &Element>> = Fast::default();
        let mut required: Fast<(&str, &str), Vec<&Element>> = Fast::default();
        for (name, s) in structures() {
            for e in &s.elements {
                let (parent, last) = e.p.rsplit_once('.').unwrap_or(("", e.p.as_str()));
                children
                    .entry((name.as_str(), parent))
                    .or_default()
                    .insert(last, e);
                if e.min > 0 {
                    required.entry((name.as_str(), parent)).or_default().push(e);
                }
            }
        }
        Index { children, required }
    })
}

/// The code of each of an element's types (`Reference`, `string`...).
fn type_codes(e: &Element) -> impl Iterator<Item = &str> {
    e.t.iter().filter_map(|t| t.first().and_then(Value::as_str))
}

/// The target types an element's Reference type allows (empty: any).
fn reference_targets(e: &Element) -> impl Iterator<Item = &str> {
    e.t.iter()
        .filter(|t| t.first().and_then(Value::as_str) == Some("Reference"))
        .filter_map(|t| t.get(1).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
}

struct Validator {
    issues: Vec<Issue>,
    more: usize,
}

impl Validator {
    fn push(&mut self, path: &str, code: IssueCode, message: impl Into<String>) {
        if self.issues.len() >= MAX_ISSUES {
            self.more += 1;
            return;
        }
        self.issues.push(Issue {
            path: path.to_string(),
            message: message.into(),
            code,
        });
    }

    /// A whole resource (the root, a contained one, a Bundle entry's), at `at` (the root:
    /// none).
    fn resource(&mut self, value: &Value, at: Option<&mut String>, depth: usize) {
        let mut own = String::new();
        let here: &str = at.as_deref().map_or("", String::as_str);
        let Value::Object(map) = value else {
            self.push(
                here,
                IssueCode::Structure,
                "a resource must be a JSON object",
            );
            return;
        };
        let Some(rtype) = map.get("resourceType").and_then(Value::as_str) else {
            self.push(
                here,
                IssueCode::Required,
                "the resource has no resourceType",
            );
            return;
        };
        let found = structures()
            .get_key_value(rtype)
            .filter(|(_, s)| s.kind == "resource");
        let Some((name, structure)) = found else {
            let at = if here.is_empty() { rtype } else { here };
            self.push(
                at,
                IssueCode::NotSupported,
                format!("'{rtype}' is not a FHIR R4 resource type"),
            );
            return;
        };
        if structure.is_abstract {
            let at = if here.is_empty() { rtype } else { here };
            self.push(at, IssueCode::Invalid, format!("'{rtype}' is abstract"));
            return;
        }
        let path = match at {
            Some(p) => p,
            None => {
                own.push_str(rtype);
                &mut own
            }
        };
        self.object(map, name.as_str(), "", path, depth, true);
    }

    /// The members of `map`, an instance of the element `prefix` of the structure `stype`,
    /// at `path` (a buffer each member's name is added to and taken off again).
    fn object(
        &mut self,
        map: &Map<String, Value>,
        stype: &'static str,
        prefix: &'static str,
        path: &mut String,
        depth: usize,
        is_resource: bool,
    ) {
        if depth > MAX_DEPTH {
            self.push(path, IssueCode::TooCostly, "nested too deeply");
            return;
        }
        let idx = index();
        let children = idx.children.get(&(stype, prefix));
        for (key, value) in map {
            if is_resource && key == "resourceType" {
                continue;
            }
            let (name, extension) = match key.strip_prefix('_') {
                Some(k) => (k, true),
                None => (key.as_str(), false),
            };
            let len = path.len();
            path.push('.');
            path.push_str(name);
            let found = match children.and_then(|c| c.get(name)) {
                Some(e) => Some((*e, None)),
                None => choice_of(stype, prefix, name),
            };
            match found {
                None => self.push(
                    path,
                    IssueCode::Structure,
                    format!("'{key}' is not an element of {}", type_label(stype, prefix)),
                ),
                Some((_, _)) if extension => self.primitive_extension(value, path, depth),
                Some((element, choice)) => {
                    self.member(map, name, value, element, choice, stype, path, depth)
                }
            }
            path.truncate(len);
        }
        // Required elements.
        for e in idx.required.get(&(stype, prefix)).into_iter().flatten() {
            let last = e.p.rsplit('.').next().unwrap_or(&e.p);
            let present = match last.strip_suffix("[x]") {
                Some(base) => map.keys().any(|k| {
                    let k = k.strip_prefix('_').unwrap_or(k);
                    k.strip_prefix(base)
                        .is_some_and(|s| s.starts_with(char::is_uppercase))
                }),
                None => map.contains_key(last) || map.contains_key(&format!("_{last}")),
            };
            if !present {
                self.push(
                    &format!("{path}.{}", last.trim_end_matches("[x]")),
                    IssueCode::Required,
                    "this element is required",
                );
            }
        }
    }

    /// One member `name` of `map`: its cardinality, then each of its values.
    #[allow(clippy::too_many_arguments)]
    fn member(
        &mut self,
        map: &Map<String, Value>,
        name: &str,
        value: &Value,
        element: &'static Element,
        choice: Option<&'static str>,
        stype: &'static str,
        path: &mut String,
        depth: usize,
    ) {
        let many = element.max != "1" && element.max != "0";
        match (value, many) {
            (Value::Array(items), true) => {
                if items.is_empty() {
                    self.push(path, IssueCode::Structure, "an array may not be empty");
                }
                for (i, item) in items.iter().enumerate() {
                    if item.is_null() && map.contains_key(&format!("_{name}")) {
                        continue;
                    }
                    let len = path.len();
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                    self.value(item, element, choice, stype, path, depth);
                    path.truncate(len);
                }
            }
            (Value::Array(_), false) => self.push(
                path,
                IssueCode::Structure,
                "this element repeats at most once: give a single value, not an array",
            ),
            (_, true) => self.push(
                path,
                IssueCode::Structure,
                "this element repeats: give an array",
            ),
            (one, false) => self.value(one, element, choice, stype, path, depth),
        }
    }

    /// `_birthDate`: the id and extensions of a primitive.
    fn primitive_extension(&mut self, value: &Value, path: &mut String, depth: usize) {
        let check = |v: &mut Self, item: &Value, at: &mut String| match item {
            Value::Null => {}
            // A primitive's own structure: its id and extensions (its value is the other key).
            Value::Object(m) => v.object(m, "string", "", at, depth + 1, false),
            _ => v.push(
                at,
                IssueCode::Structure,
                "a primitive's extensions are an object",
            ),
        };
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    check(self, item, path);
                    path.truncate(len);
                }
            }
            one => check(self, one, path),
        }
    }

    fn value(
        &mut self,
        value: &Value,
        element: &'static Element,
        choice: Option<&'static str>,
        stype: &'static str,
        path: &mut String,
        depth: usize,
    ) {
        // The element's own path in its structure: where its children are.
        let child: &'static str = element.p.as_str();
        if let Some(reference) = &element.content_ref {
            if let Value::Object(m) = value {
                self.object(m, stype, reference.as_str(), path, depth + 1, false);
            } else {
                self.push(path, IssueCode::Structure, "expected an object");
            }
            return;
        }
        let code = match choice {
            Some(t) => t,
            None => match type_codes(element).next() {
                // Abstract types without a structure of their own here.
                Some("Resource") => "Resource",
                // A resource's logical id is an `id`.
                Some(_)
                    if child == "id"
                        && structures()
                            .get(stype)
                            .is_some_and(|s| s.kind == "resource") =>
                {
                    "id"
                }
                Some("Element") => "Element",
                Some(c) => structures()
                    .get_key_value(c)
                    .map(|(k, _)| k.as_str())
                    .unwrap_or(if c.starts_with("System.") {
                        "string"
                    } else {
                        ""
                    }),
                None => "",
            },
        };
        match code {
            "BackboneElement" | "Element" => {
                if let Value::Object(m) = value {
                    self.object(m, stype, child, path, depth + 1, false);
                } else {
                    self.push(path, IssueCode::Structure, "expected an object");
                }
            }
            "Resource" => self.resource(value, Some(path), depth + 1),
            "" => {}
            t => {
                let Some(s) = structures().get(t) else {
                    return;
                };
                if s.kind == "primitive-type" {
                    self.primitive(value, t, path);
                } else if let Value::Object(m) = value {
                    self.object(m, t, "", path, depth + 1, false);
                    if t == "Reference" {
                        self.reference(m, element, path);
                    }
                } else {
                    self.push(
                        path,
                        IssueCode::Structure,
                        format!("a {t} is a JSON object"),
                    );
                }
            }
        }
        if let Some(vs) = &element.vs {
            self.binding(value, vs, code, path);
        }
    }

    fn reference(&mut self, m: &Map<String, Value>, element: &Element, path: &str) {
        let Some((rtype, _)) = m
            .get("reference")
            .and_then(Value::as_str)
            .and_then(parse_reference)
        else {
            return;
        };
        let mut allowed = reference_targets(element).peekable();
        if allowed.peek().is_none() {
            return;
        }
        if reference_targets(element).any(|t| t == rtype || t == "Resource") {
            return;
        }
        let list: Vec<&str> = reference_targets(element).collect();
        self.push(
            &format!("{path}.reference"),
            IssueCode::Value,
            format!(
                "a reference to a {rtype} is not allowed here (only {})",
                list.join(", ")
            ),
        );
    }

    fn binding(&mut self, value: &Value, vs: &str, code: &str, path: &str) {
        let Some(set) = value_set(vs) else {
            return;
        };
        let in_set = |system: Option<&str>, c: &str| match system {
            Some(s) => set.get(s).is_some_and(|codes| codes.iter().any(|x| x == c)),
            None => set.values().any(|codes| codes.iter().any(|x| x == c)),
        };
        let name = vs.rsplit('/').next().unwrap_or(vs);
        // A Coding of one of the value set's systems with a code the set does not hold.
        let coding_outside = |coding: &Value| {
            let s = coding.get("system").and_then(Value::as_str)?;
            let c = coding.get("code").and_then(Value::as_str)?;
            (set.contains_key(s) && !in_set(Some(s), c))
                .then(|| format!("'{c}' is not a code of {s} in the value set {name}"))
        };
        match (code, value) {
            ("code", Value::String(c)) if !in_set(None, c) => {
                self.push(
                    path,
                    IssueCode::Value,
                    format!("'{c}' is not a code of the value set {name}"),
                );
            }
            ("Coding", coding) => {
                if let Some(wrong) = coding_outside(coding) {
                    self.push(path, IssueCode::Value, wrong);
                }
            }
            ("CodeableConcept", Value::Object(m)) => {
                let codings = m.get("coding").and_then(Value::as_array);
                for (i, coding) in codings.into_iter().flatten().enumerate() {
                    if let Some(wrong) = coding_outside(coding) {
                        self.push(&format!("{path}.coding[{i}]"), IssueCode::Value, wrong);
                    }
                }
            }
            _ => {}
        }
    }

    fn primitive(&mut self, value: &Value, t: &str, path: &str) {
        let bad = |v: &mut Self, what: &str| {
            v.push(
                path,
                IssueCode::Value,
                format!("{} is not a valid {t}: {what}", short(value)),
            )
        };
        match (t, value) {
            ("boolean", Value::Bool(_)) => {}
            ("boolean", _) => bad(self, "use true or false"),
            ("integer" | "unsignedInt" | "positiveInt", Value::Number(n)) => match n.as_i64() {
                Some(i) if i32::try_from(i).is_err() => bad(self, "out of range"),
                Some(i) if t == "unsignedInt" && i < 0 => bad(self, "it must be 0 or more"),
                Some(i) if t == "positiveInt" && i < 1 => bad(self, "it must be 1 or more"),
                Some(_) => {}
                None => bad(self, "a whole number is expected"),
            },
            ("decimal", Value::Number(_)) => {}
            ("integer" | "unsignedInt" | "positiveInt" | "decimal", _) => {
                bad(self, "a JSON number is expected")
            }
            (_, Value::String(s)) => {
                if s.is_empty() {
                    return bad(self, "an empty string is not allowed");
                }
                let ok = match t {
                    "date" => super::date::is_date(s),
                    "dateTime" => super::date::is_date_time(s),
                    "instant" => super::date::is_instant(s),
                    "time" => super::date::is_time(s),
                    "id" => valid_id(s),
                    "code" => s.trim() == s && !s.contains("  "),
                    "oid" => s.starts_with("urn:oid:"),
                    "uuid" => s.starts_with("urn:uuid:"),
                    "base64Binary" => s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/= \r\n".contains(&b)),
                    "uri" | "url" | "canonical" => !s.contains(char::is_whitespace),
                    "xhtml" => s.trim_start().starts_with("<div"),
                    _ => true,
                };
                if !ok {
                    bad(self, format_hint(t));
                }
            }
            _ => bad(self, "a JSON string is expected"),
        }
    }
}

/// A value shortened for a message.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

fn format_hint(t: &str) -> &'static str {
    match t {
        "date" => "use YYYY, YYYY-MM or YYYY-MM-DD",
        "dateTime" => "use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone",
        "instant" => "use YYYY-MM-DDThh:mm:ss with a time zone",
        "time" => "use hh:mm:ss",
        "id" => "1 to 64 letters, digits, '-' or '.'",
        "code" => "no leading, trailing or double spaces",
        "oid" => "it starts with urn:oid:",
        "uuid" => "it starts with urn:uuid:",
        "xhtml" => "the narrative is a <div> element",
        _ => "not of the expected form",
    }
}

fn type_label(stype: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        stype.to_string()
    } else {
        format!("{stype}.{prefix}")
    }
}

/// A choice element's key (`valueQuantity`): its element (`value[x]`) and type
/// (`Quantity`), when the type is one the element allows.
fn choice_of(
    stype: &'static str,
    prefix: &'static str,
    key: &str,
) -> Option<(&'static Element, Option<&'static str>)> {
    let children = index().children.get(&(stype, prefix))?;
    for (at, _) in key.char_indices().filter(|(_, c)| c.is_uppercase()) {
        let base = &key[..at];
        let suffix = &key[at..];
        let Some(e) = children.get(format!("{base}[x]").as_str()) else {
            continue;
        };
        let t = type_codes(e).find(|c| {
            c.eq_ignore_ascii_case(suffix)
                && (c.starts_with(char::is_uppercase) || suffix[1..] == c[1..])
        })?;
        let t = structures().get_key_value(t).map(|(k, _)| k.as_str())?;
        return Some((e, Some(t)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value) -> Vec<String> {
        validate(&v).into_iter().map(|i| i.path).collect()
    }

    #[test]
    fn the_findings_of_the_issue() {
        let p = json!({"resourceType": "Patient", "birthDate": "not-a-date", "gender": "banana"});
        let issues = validate(&p);
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(issues[0].path, "Patient.birthDate");
        assert_eq!(issues[1].path, "Patient.gender");
        assert!(issues[1].message.contains("administrative-gender"));
    }

    #[test]
    fn structure_cardinality_required_choice_and_references() {
        assert!(
            paths(json!({"resourceType": "Patient", "name": [{"family": "A"}],
            "birthDate": "1950-01-31", "deceasedBoolean": false}))
            .is_empty()
        );
        assert_eq!(
            paths(json!({"resourceType": "Patient", "spaceship": 1})),
            ["Patient.spaceship"]
        );
        assert_eq!(
            paths(json!({"resourceType": "Patient", "name": {"family": "A"}})),
            ["Patient.name"]
        );
        assert_eq!(
            paths(json!({"resourceType": "Patient", "gender": ["male"]})),
            ["Patient.gender"]
        );
        // Observation needs status and code; valueBanana is no type.
        let o = paths(json!({"resourceType": "Observation", "valueBanana": 1}));
        assert!(o.contains(&"Observation.valueBanana".to_string()), "{o:?}");
        assert!(o.contains(&"Observation.status".to_string()), "{o:?}");
        assert!(o.contains(&"Observation.code".to_string()), "{o:?}");
        let o = paths(json!({"resourceType": "Observation", "status": "final",
            "code": {"text": "Hb"}, "valueQuantity": {"value": "7"},
            "subject": {"reference": "Medication/1"},
            "component": [{"code": {"text": "x"}}, {"valueString": "y"}]}));
        assert_eq!(
            o,
            [
                "Observation.valueQuantity.value",
                "Observation.subject.reference",
                "Observation.component[1].code"
            ]
        );
        assert!(paths(json!({"resourceType": "Nonsense"})).len() == 1);
        assert!(
            paths(
                json!({"resourceType": "Patient", "_birthDate": {"extension": [
            {"url": "http://x", "valueString": "unknown"}]}})
            )
            .is_empty()
        );
        assert_eq!(
            paths(json!({"resourceType": "Patient", "id": "a b"})),
            ["Patient.id"]
        );
    }

    #[test]
    fn required_codeable_concepts_are_checked_by_system() {
        let sys = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
        let a = |code: &str| {
            json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p"},
                "clinicalStatus": {"coding": [{"system": sys, "code": code}]}})
        };
        assert!(paths(a("active")).is_empty());
        assert_eq!(
            paths(a("maybe")),
            ["AllergyIntolerance.clinicalStatus.coding[0]"]
        );
    }

    #[test]
    fn contained_and_nested_resources_are_checked() {
        let b = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "gender": "banana"}}]});
        assert_eq!(paths(b), ["Bundle.entry[0].resource.gender"]);
        let deep = (0..200).fold(
            json!({"linkId": "x"}),
            |inner, _| json!({"linkId": "x", "item": [inner]}),
        );
        let q = json!({"resourceType": "Questionnaire", "status": "draft", "item": [deep]});
        assert!(!validate(&q).is_empty(), "a flood of nesting is bounded");
    }
}
