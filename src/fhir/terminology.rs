//! Value-set expansion and code-system subsumption, for the token search modifiers `:in`,
//! `:not-in`, `:above` and `:below`. The definitions come from the server's own ValueSet and
//! CodeSystem resources, else from the spec's required value sets; an expansion this module
//! cannot compute exactly (an unknown filter, an exclusion from a whole code system) is an
//! error naming why, never a guess that would find more or fewer records than asked.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

use super::spec;

/// Codes in one expansion at most: a search over more is refused as too costly.
pub const MAX_CODES: usize = 1000;
/// Value sets nested inside one another (`compose.include.valueSet`) at most.
const MAX_DEPTH: usize = 4;
/// Definitions (value sets, code systems) read for one expansion at most: nesting is shallow,
/// but each level may name many, and a fan of them must not cost their product.
pub const MAX_DEFINITIONS: usize = 64;

/// An expansion under way: the value sets on the path from the top (a cycle is one of them
/// again), and how many definitions have been read.
#[derive(Default)]
struct Walk {
    path: HashSet<String>,
    read: usize,
}

impl Walk {
    fn read_one(&mut self, url: &str) -> Result<(), TermError> {
        self.read += 1;
        if self.read > MAX_DEFINITIONS {
            return Err(TermError::TooMany(format!(
                "expanding it reads more than {MAX_DEFINITIONS} value sets and code systems \
                 (at {url})"
            )));
        }
        Ok(())
    }
}

/// One member of an expansion: a code of a system, or every code of a system (an include
/// that names a system alone).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    Code { system: String, code: String },
    System(String),
}

/// Why an expansion could not be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermError {
    /// The definition is missing or cannot be expanded exactly.
    Invalid(String),
    /// More codes than `MAX_CODES`.
    TooMany(String),
}

/// Where definitions are looked up: the server's own resources by canonical URL.
pub trait Definitions {
    fn value_set(&self, url: &str) -> Option<Value>;
    fn code_system(&self, url: &str) -> Option<Value>;
}

/// The members of the value set `url` (a `|version` suffix is ignored).
pub fn expand(url: &str, defs: &dyn Definitions) -> Result<Vec<Member>, TermError> {
    let members = expand_at(url, defs, 0, &mut Walk::default())?;
    Ok(members.into_iter().collect())
}

fn expand_at(
    url: &str,
    defs: &dyn Definitions,
    depth: usize,
    walk: &mut Walk,
) -> Result<BTreeSet<Member>, TermError> {
    let url = url.split('|').next().unwrap_or_default();
    walk.read_one(url)?;
    if depth > MAX_DEPTH || !walk.path.insert(url.to_string()) {
        return Err(TermError::Invalid(format!(
            "the value set {url} includes itself or nests more than {MAX_DEPTH} deep"
        )));
    }
    // A value set reached twice by two branches is fine; on one path, it is a cycle.
    let out = expand_one(url, defs, depth, walk);
    walk.path.remove(url);
    out
}

fn expand_one(
    url: &str,
    defs: &dyn Definitions,
    depth: usize,
    walk: &mut Walk,
) -> Result<BTreeSet<Member>, TermError> {
    let Some(vs) = defs.value_set(url) else {
        let Some(by_system) = spec::value_set(url) else {
            return Err(TermError::Invalid(format!(
                "no ValueSet with the url {url} is on this server"
            )));
        };
        let mut out = BTreeSet::new();
        for (system, codes) in by_system {
            for code in codes {
                out.insert(Member::Code {
                    system: system.clone(),
                    code: code.clone(),
                });
            }
        }
        return bounded(out, url);
    };
    if let Some(contains) = vs.pointer("/expansion/contains").and_then(Value::as_array) {
        let mut out = BTreeSet::new();
        collect_contains(contains, &mut out);
        return bounded(out, url);
    }
    let Some(compose) = vs.get("compose") else {
        return Err(TermError::Invalid(format!(
            "the ValueSet {url} has neither an expansion nor a compose"
        )));
    };
    let mut out = BTreeSet::new();
    for include in array(compose, "include") {
        out.extend(part(include, url, defs, depth, walk)?);
        if out.len() > MAX_CODES {
            return bounded(out, url);
        }
    }
    for exclude in array(compose, "exclude") {
        for member in part(exclude, url, defs, depth, walk)? {
            match &member {
                Member::Code { system, .. } if !out.contains(&Member::System(system.clone())) => {
                    out.remove(&member);
                }
                _ => {
                    return Err(TermError::Invalid(format!(
                        "the ValueSet {url} excludes codes from a whole code system, which \
                         this server cannot expand"
                    )));
                }
            }
        }
    }
    bounded(out, url)
}

fn bounded(out: BTreeSet<Member>, url: &str) -> Result<BTreeSet<Member>, TermError> {
    if out.len() > MAX_CODES {
        return Err(TermError::TooMany(format!(
            "the value set {url} has more than {MAX_CODES} codes"
        )));
    }
    Ok(out)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn collect_contains(contains: &[Value], out: &mut BTreeSet<Member>) {
    for c in contains {
        if let (Some(system), Some(code)) = (text(c, "system"), text(c, "code")) {
            let abstract_ = c.get("abstract").and_then(Value::as_bool) == Some(true);
            if !abstract_ {
                out.insert(Member::Code {
                    system: system.to_string(),
                    code: code.to_string(),
                });
            }
        }
        collect_contains(array(c, "contains"), out);
        if out.len() > MAX_CODES {
            return;
        }
    }
}

/// One `compose.include` or `compose.exclude`.
fn part(
    part: &Value,
    url: &str,
    defs: &dyn Definitions,
    depth: usize,
    walk: &mut Walk,
) -> Result<BTreeSet<Member>, TermError> {
    let nested = array(part, "valueSet");
    let system = text(part, "system");
    let concepts = array(part, "concept");
    let filters = array(part, "filter");
    let mut out = BTreeSet::new();
    if !nested.is_empty() {
        if system.is_some() {
            return Err(TermError::Invalid(format!(
                "the ValueSet {url} intersects a code system with other value sets, which \
                 this server cannot expand"
            )));
        }
        for (i, other) in nested.iter().filter_map(Value::as_str).enumerate() {
            let members = expand_at(other, defs, depth + 1, walk)?;
            out = if i == 0 {
                members
            } else {
                out.intersection(&members).cloned().collect()
            };
        }
        return Ok(out);
    }
    let Some(system) = system else {
        return Err(TermError::Invalid(format!(
            "the ValueSet {url} has an include with neither a system nor a value set"
        )));
    };
    let code = |c: &str| Member::Code {
        system: system.to_string(),
        code: c.to_string(),
    };
    if !concepts.is_empty() {
        out.extend(concepts.iter().filter_map(|c| text(c, "code")).map(code));
        return Ok(out);
    }
    match filters {
        [] => {
            out.insert(Member::System(system.to_string()));
        }
        [filter] => {
            let property = text(filter, "property").unwrap_or_default();
            let op = text(filter, "op").unwrap_or_default();
            let value = text(filter, "value").unwrap_or_default();
            if matches!(op, "is-a" | "descendent-of") {
                walk.read_one(system)?;
            }
            let codes = match (property, op) {
                ("concept", "=") => vec![value.to_string()],
                ("concept", "is-a") => subsumed(system, value, Direction::Below, defs)?,
                ("concept", "descendent-of") => {
                    let mut codes = subsumed(system, value, Direction::Below, defs)?;
                    codes.retain(|c| c != value);
                    codes
                }
                ("concept", "in") => value.split(',').map(str::to_string).collect(),
                _ => {
                    return Err(TermError::Invalid(format!(
                        "the ValueSet {url} uses the filter '{property} {op}', which this \
                         server cannot expand"
                    )));
                }
            };
            out.extend(codes.iter().map(|c| code(c)));
        }
        _ => {
            return Err(TermError::Invalid(format!(
                "the ValueSet {url} combines several filters, which this server cannot expand"
            )));
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The code and every code it subsumes (its descendants).
    Below,
    /// The code and every code that subsumes it (its ancestors).
    Above,
}

/// The codes at or below (or above) `code` in the hierarchy of the CodeSystem `system` on
/// this server: nested `concept`s and `parent`/`child` properties.
pub fn subsumed(
    system: &str,
    code: &str,
    direction: Direction,
    defs: &dyn Definitions,
) -> Result<Vec<String>, TermError> {
    let Some(cs) = defs.code_system(system) else {
        return Err(TermError::Invalid(format!(
            "no CodeSystem with the url {system} is on this server, so its hierarchy is unknown"
        )));
    };
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    let mut known = HashSet::new();
    walk(array(&cs, "concept"), None, &mut |parent, child| {
        known.insert(child.to_string());
        if let Some(p) = parent {
            parents
                .entry(child.to_string())
                .or_default()
                .push(p.to_string());
            children
                .entry(p.to_string())
                .or_default()
                .push(child.to_string());
        }
    });
    if !known.contains(code) {
        return Err(TermError::Invalid(format!(
            "the code {code} is not in the CodeSystem {system} on this server"
        )));
    }
    let links = match direction {
        Direction::Below => &children,
        Direction::Above => &parents,
    };
    let mut out = vec![code.to_string()];
    let mut seen: HashSet<&str> = HashSet::from([code]);
    let mut at = 0;
    while at < out.len() {
        let next: Vec<String> = links
            .get(&out[at])
            .into_iter()
            .flatten()
            .filter(|c| seen.insert(c.as_str()))
            .cloned()
            .collect();
        out.extend(next);
        if out.len() > MAX_CODES {
            return Err(TermError::TooMany(format!(
                "more than {MAX_CODES} codes of {system} are related to {code}"
            )));
        }
        at += 1;
    }
    Ok(out)
}

/// Every concept with its parents: nesting, and the `parent` and `child` properties.
fn walk(concepts: &[Value], parent: Option<&str>, link: &mut dyn FnMut(Option<&str>, &str)) {
    for c in concepts {
        let Some(code) = text(c, "code") else {
            continue;
        };
        link(parent, code);
        for p in array(c, "property") {
            let Some(other) = text(p, "valueCode") else {
                continue;
            };
            match text(p, "code") {
                Some("parent") => link(Some(other), code),
                Some("child") => link(Some(code), other),
                _ => {}
            }
        }
        walk(array(c, "concept"), Some(code), link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Default)]
    struct Defs(HashMap<String, Value>);

    impl Definitions for Defs {
        fn value_set(&self, url: &str) -> Option<Value> {
            self.0
                .get(url)
                .filter(|v| v["resourceType"] == "ValueSet")
                .cloned()
        }
        fn code_system(&self, url: &str) -> Option<Value> {
            self.0
                .get(url)
                .filter(|v| v["resourceType"] == "CodeSystem")
                .cloned()
        }
    }

    fn defs(resources: &[Value]) -> Defs {
        Defs(
            resources
                .iter()
                .map(|r| (r["url"].as_str().unwrap().to_string(), r.clone()))
                .collect(),
        )
    }

    fn code(system: &str, code: &str) -> Member {
        Member::Code {
            system: system.into(),
            code: code.into(),
        }
    }

    fn hierarchy() -> Value {
        json!({"resourceType": "CodeSystem", "url": "urn:cs", "concept": [
            {"code": "a", "concept": [{"code": "b", "concept": [{"code": "c"}]}, {"code": "d"}]},
            {"code": "e", "property": [{"code": "parent", "valueCode": "c"}]}
        ]})
    }

    #[test]
    fn subsumption_follows_nesting_and_parent_properties() {
        let d = defs(&[hierarchy()]);
        let mut below = subsumed("urn:cs", "b", Direction::Below, &d).unwrap();
        below.sort();
        assert_eq!(below, ["b", "c", "e"]);
        let mut above = subsumed("urn:cs", "e", Direction::Above, &d).unwrap();
        above.sort();
        assert_eq!(above, ["a", "b", "c", "e"]);
        assert!(matches!(
            subsumed("urn:cs", "zz", Direction::Below, &d),
            Err(TermError::Invalid(_))
        ));
        assert!(matches!(
            subsumed("urn:other", "a", Direction::Below, &d),
            Err(TermError::Invalid(_))
        ));
    }

    #[test]
    fn compose_includes_excludes_filters_and_nested_sets() {
        let vs = json!({"resourceType": "ValueSet", "url": "urn:vs", "compose": {
            "include": [
                {"system": "urn:cs", "filter": [{"property": "concept", "op": "is-a", "value": "b"}]},
                {"system": "urn:x", "concept": [{"code": "1"}, {"code": "2"}]},
                {"valueSet": ["urn:small"]}
            ],
            "exclude": [{"system": "urn:cs", "concept": [{"code": "c"}]}]
        }});
        let small = json!({"resourceType": "ValueSet", "url": "urn:small",
            "expansion": {"contains": [{"system": "urn:y", "code": "9",
                "contains": [{"system": "urn:y", "code": "10"}]}]}});
        let d = defs(&[hierarchy(), vs, small]);
        let got = expand("urn:vs|1.0", &d).unwrap();
        assert_eq!(
            got,
            [
                code("urn:cs", "b"),
                code("urn:cs", "e"),
                code("urn:x", "1"),
                code("urn:x", "2"),
                code("urn:y", "10"),
                code("urn:y", "9"),
            ]
        );
    }

    #[test]
    fn whole_systems_cycles_unknown_filters_and_floods_are_named() {
        let whole = json!({"resourceType": "ValueSet", "url": "urn:whole",
            "compose": {"include": [{"system": "urn:z"}]}});
        let cut = json!({"resourceType": "ValueSet", "url": "urn:cut",
            "compose": {"include": [{"system": "urn:z"}],
                        "exclude": [{"system": "urn:z", "concept": [{"code": "1"}]}]}});
        let cycle = json!({"resourceType": "ValueSet", "url": "urn:cycle",
            "compose": {"include": [{"valueSet": ["urn:cycle"]}]}});
        let regex = json!({"resourceType": "ValueSet", "url": "urn:regex",
            "compose": {"include": [{"system": "urn:z",
                "filter": [{"property": "code", "op": "regex", "value": ".*"}]}]}});
        let many: Vec<Value> = (0..=MAX_CODES)
            .map(|i| json!({"code": i.to_string()}))
            .collect();
        let flood = json!({"resourceType": "ValueSet", "url": "urn:flood",
            "compose": {"include": [{"system": "urn:z", "concept": many}]}});
        let d = defs(&[whole, cut, cycle, regex, flood]);
        assert_eq!(
            expand("urn:whole", &d).unwrap(),
            [Member::System("urn:z".into())]
        );
        for url in ["urn:cut", "urn:cycle", "urn:regex", "urn:missing"] {
            assert!(
                matches!(expand(url, &d), Err(TermError::Invalid(_))),
                "{url}"
            );
        }
        assert!(matches!(
            expand("urn:flood", &d),
            Err(TermError::TooMany(_))
        ));
    }

    #[test]
    fn a_fan_of_nested_value_sets_is_cut_short() {
        // Each level names the next twenty times: 20^4 reads if each were followed.
        let mut sets = Vec::new();
        for level in 0..4 {
            let next = vec![json!(format!("urn:fan{}", level + 1)); 20];
            sets.push(
                json!({"resourceType": "ValueSet", "url": format!("urn:fan{level}"),
                "compose": {"include": [{"valueSet": next}]}}),
            );
        }
        sets.push(json!({"resourceType": "ValueSet", "url": "urn:fan4",
            "compose": {"include": [{"system": "urn:z", "concept": [{"code": "1"}]}]}}));
        let d = defs(&sets);
        let Err(TermError::TooMany(why)) = expand("urn:fan0", &d) else {
            panic!("a fan of value sets was expanded");
        };
        assert!(why.contains(&MAX_DEFINITIONS.to_string()), "{why}");
    }

    #[test]
    fn the_spec_required_value_sets_expand_without_a_server_copy() {
        let got = expand(
            "http://hl7.org/fhir/ValueSet/administrative-gender",
            &Defs::default(),
        )
        .unwrap();
        assert!(got.contains(&code("http://hl7.org/fhir/administrative-gender", "female")));
        assert_eq!(got.len(), 4);
    }
}
