//! The search parameters of every resource type: the specification's own table (generated
//! from its SearchParameter definitions, see `spec.rs`), each with its kind, its FHIRPath
//! expression compiled once, its reference targets, and for a parameter that is another's rows
//! seen differently (`patient` is `subject` of Patient targets; `combo-code` is `code` and
//! `component-code` together) the parameters it is answered from. `_id` and `_lastUpdated`
//! apply to every type and are answered from the resource table, not from these indexes.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::path::Expr;

/// The FHIR search parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    String,
    Token,
    Date,
    Reference,
    Number,
    Quantity,
    Uri,
    Composite,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Token => "token",
            Kind::Date => "date",
            Kind::Reference => "reference",
            Kind::Number => "number",
            Kind::Quantity => "quantity",
            Kind::Uri => "uri",
            Kind::Composite => "composite",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "token" => Kind::Token,
            "date" => Kind::Date,
            "reference" => Kind::Reference,
            "number" => Kind::Number,
            "quantity" => Kind::Quantity,
            "uri" => Kind::Uri,
            "composite" => Kind::Composite,
            _ => return None,
        })
    }
}

/// One part of a composite parameter: its kind and where it is, from the parameter's node.
#[derive(Debug)]
pub struct Component {
    pub kind: Kind,
    pub expr: Expr,
}

#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    /// The FHIRPath expression, as the specification writes it for this type.
    pub expression: &'static str,
    pub expr: Expr,
    /// For references: the types the specification allows as targets.
    pub targets: &'static [&'static str],
    /// For a composite: its two parts (the specification's composites of three parts are not
    /// indexed, and their parameters are not offered).
    pub components: Vec<Component>,
    /// Parameters whose index rows answer this one; empty when it has rows of its own.
    pub alias_of: &'static [&'static str],
    /// With `alias_of`: only references to this type count (`patient` of `subject`).
    pub alias_target: Option<&'static str>,
    /// The top-level elements the expression can find anything under, in groups of which
    /// each must have one present (a composite of the whole resource needs both its parts);
    /// a resource without them has no rows for this parameter, so extraction skips it. An
    /// empty group: always evaluated.
    pub needs: Vec<Vec<String>>,
    /// A composite of the whole resource (`code-value-quantity` of an Observation) whose two
    /// parts are this type's own parameters (`code`, `value-quantity`): every value of one is
    /// paired with every value of the other, so it is answered from their rows (both must
    /// match) and stores none of its own.
    pub pair: Option<[&'static str; 2]>,
}

impl Param {
    /// Whether a resource with the top-level elements `present` (see `present_elements`) has
    /// one this parameter could find anything under.
    pub fn applies_to(&self, present: &[&str]) -> bool {
        self.needs.iter().all(|group| {
            group.is_empty()
                || group
                    .iter()
                    .any(|f| present.binary_search(&f.as_str()).is_ok())
        })
    }
}

/// A resource's top-level element names, a choice element under its own name too
/// (`valueQuantity`: `value`), sorted.
pub fn present_elements(resource: &serde_json::Value) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(map) = resource.as_object() {
        for key in map.keys() {
            out.push(key.as_str());
            for (at, _) in key.char_indices().skip(1).filter(|(_, c)| c.is_uppercase()) {
                out.push(&key[..at]);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The top-level elements `expr` finds anything under; empty (always evaluated) when it can
/// make a value of their absence.
fn fields_of(expr: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    if !expr.absent_is_empty() {
        return out;
    }
    expr.top_fields(&mut out);
    out.sort();
    out.dedup();
    out
}

impl Param {
    pub fn is_alias(&self) -> bool {
        !self.alias_of.is_empty()
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_all(v: Vec<String>) -> &'static [&'static str] {
    Box::leak(
        v.into_iter()
            .map(leak)
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

fn table() -> &'static HashMap<&'static str, Vec<Param>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<Param>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out = HashMap::new();
        for (rtype, raw) in super::spec::raw_params() {
            let mut list = Vec::with_capacity(raw.len());
            for (name, p) in raw {
                let Some(kind) = Kind::parse(&p.k) else {
                    continue;
                };
                // The generated table is the specification's: an expression this evaluator
                // cannot read is a build error, caught by the tests over every parameter.
                let Ok(expr) = Expr::parse(&p.e) else {
                    continue;
                };
                let components: Vec<Component> =
                    p.c.iter()
                        .filter_map(|(k, e)| {
                            Some(Component {
                                kind: Kind::parse(k)?,
                                expr: Expr::parse(e).ok()?,
                            })
                        })
                        .collect();
                if kind == Kind::Composite && (components.len() != 2 || p.c.len() != 2) {
                    continue;
                }
                let root = fields_of(&expr);
                let needs = if kind == Kind::Composite && root.is_empty() {
                    components.iter().map(|c| fields_of(&c.expr)).collect()
                } else {
                    vec![root]
                };
                list.push(Param {
                    name: leak(name),
                    kind,
                    expression: leak(p.e),
                    needs,
                    expr,
                    targets: leak_all(p.t),
                    components,
                    alias_of: leak_all(p.a),
                    alias_target: p.f.map(leak),
                    pair: None,
                });
            }
            list.sort_by_key(|p| p.name);
            let pairs: Vec<(usize, [&'static str; 2])> = list
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((i, pair_of(&list, &rtype, p)?)))
                .collect();
            for (i, pair) in pairs {
                list[i].pair = Some(pair);
            }
            out.insert(leak(rtype), list);
        }
        out
    })
}

/// The two parameters a composite of the whole resource is made of, when it is named after
/// them (`code-value-quantity`: `code` and `value-quantity`) and they are of its parts'
/// kinds. A string second part is left out: `value-string` also finds a CodeableConcept's
/// text, which the composite's part does not. (`tests/fhir_examples.rs` checks the pairing on
/// every official example.)
fn pair_of(list: &[Param], rtype: &str, p: &Param) -> Option<[&'static str; 2]> {
    if p.kind != Kind::Composite || p.expression != rtype {
        return None;
    }
    let [first, second] = p.components.as_slice() else {
        return None;
    };
    let own = |name: &str, kind: Kind| {
        list.iter()
            .find(|q| q.name == name && q.kind == kind && !q.is_alias())
            .map(|q| q.name)
    };
    p.name.match_indices('-').find_map(|(at, _)| {
        let a = own(&p.name[..at], first.kind)?;
        let b = own(&p.name[at + 1..], second.kind)?;
        (first.kind == Kind::Token && second.kind != Kind::String).then_some([a, b])
    })
}

/// The parameters of a resource type (empty for a type the server does not know), sorted by
/// name.
pub fn params(resource_type: &str) -> &'static [Param] {
    table()
        .get(resource_type)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub fn find(resource_type: &str, name: &str) -> Option<&'static Param> {
    let list = params(resource_type);
    list.binary_search_by(|p| p.name.cmp(name))
        .ok()
        .map(|i| &list[i])
}

/// The parameters whose index rows answer `param`: itself, or those it aliases.
pub fn row_sources(resource_type: &str, param: &'static Param) -> Vec<&'static Param> {
    if !param.is_alias() {
        return vec![param];
    }
    param
        .alias_of
        .iter()
        .filter_map(|of| find(resource_type, of))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::RESOURCE_TYPES;

    #[test]
    fn every_type_has_params_and_aliases_resolve() {
        let mut total = 0;
        for rt in RESOURCE_TYPES {
            let ps = params(rt);
            assert!(ps.len() >= 4, "{rt} has {} search parameters", ps.len());
            total += ps.len();
            for p in ps.iter().filter(|p| p.is_alias()) {
                for of in p.alias_of {
                    let base = find(rt, of)
                        .unwrap_or_else(|| panic!("{rt}.{} aliases a missing parameter", p.name));
                    assert!(!base.is_alias() && base.kind == p.kind, "{rt}.{}", p.name);
                }
            }
        }
        // The specification's 2,288 (composites of three parts left out).
        assert!(total > 2_250, "{total} parameters");
    }

    #[test]
    fn every_expression_of_the_specification_parses() {
        let raw = crate::fhir::spec::raw_params();
        let mut failed = Vec::new();
        for (rtype, ps) in &raw {
            for (name, p) in ps {
                if let Err(e) = Expr::parse(&p.e) {
                    failed.push(format!("{rtype}.{name}: {e}"));
                }
                // Composites of three parts (two of MolecularSequence) are not offered.
                for (_, c) in p.c.iter().filter(|_| p.c.len() == 2) {
                    if let Err(e) = Expr::parse(c) {
                        failed.push(format!("{rtype}.{name} component: {e}"));
                    }
                }
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn patient_is_subject_of_patient_targets() {
        let p = find("Observation", "patient").unwrap();
        assert_eq!(p.alias_of, ["subject"]);
        assert_eq!(p.alias_target, Some("Patient"));
        let combo = find("Observation", "combo-code").unwrap();
        assert_eq!(combo.alias_of, ["code", "component-code"]);
        assert_eq!(
            find("Observation", "value-quantity").unwrap().kind,
            Kind::Quantity
        );
        assert!(find("Patient", "_tag").is_some());
        assert!(find("Observation", "nonsense").is_none());
    }
}
