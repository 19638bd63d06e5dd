//! One search condition, whatever its form: a plain parameter (`code=...`), `_id` and
//! `_lastUpdated`, a chain through a reference (`subject:Patient.name=smith`,
//! `encounter.patient.identifier=...`) or a reverse chain (`_has:Observation:patient:code=...`),
//! each link at most `MAX_LINKS` deep. A chain is an index condition on the reference index
//! (so it can drive the search); the resources at its far end are found through their own
//! index first. The inner queries leave out restricted charts as the outer one does.

use super::condition::{date_condition, param_cond};
use super::*;
use crate::fhir::terminology::Definitions;

/// Links in one chained or reverse-chained parameter (`a.b.c` has two).
pub const MAX_LINKS: usize = 2;

/// The condition for `key=value` on `rtype`; `None` when `key` is not a parameter of
/// `rtype` (the caller ignores or refuses it).
pub(super) fn condition(
    rtype: &str,
    key: &str,
    value: &str,
    pids: &ParamIds,
    scope: &Scope,
    defs: &dyn Definitions,
    depth: usize,
) -> Result<Option<Cond>> {
    let linked = key.starts_with("_has:") || key.contains('.');
    if linked && depth >= MAX_LINKS {
        return Err(too_deep());
    }
    if let Some(rest) = key.strip_prefix("_has:") {
        return has(rtype, rest, value, pids, scope, defs, depth).map(Some);
    }
    let (head, tail) = match key.split_once('.') {
        Some((h, t)) => (h, Some(t)),
        None => (key, None),
    };
    let (name, modifier) = match head.split_once(':') {
        Some((n, m)) => (n, Some(m)),
        None => (head, None),
    };
    if let Some(tail) = tail {
        return chain(rtype, name, modifier, tail, value, pids, scope, defs, depth).map(Some);
    }
    match name {
        "_id" => {
            if let Some(m) = modifier {
                return Err(StoreError::invalid(format!(
                    "the modifier ':{m}' is not supported for '_id'"
                )));
            }
            let values = split_values(value);
            let marks = vec!["?"; values.len()].join(",");
            Ok(Some(Cond {
                reads_resource: true,
                sql: format!("r.id IN ({marks})"),
                args: values.into_iter().map(Sql::Text).collect(),
                driver: None,
            }))
        }
        // The resources a List holds (`Patient?_list=ward-7`).
        "_list" => {
            let item = find("List", "item").ok_or_else(|| StoreError::invalid("no List.item"))?;
            let ids: Vec<String> = split_values(value)
                .into_iter()
                .map(|v| v.rsplit('/').next().unwrap_or_default().to_string())
                .collect();
            let marks = vec!["?"; ids.len()].join(",");
            let mut args: Vec<Sql> = ids.into_iter().map(Sql::Text).collect();
            args.push(Sql::Text(rtype.to_string()));
            Ok(Some(Cond {
                reads_resource: true,
                sql: format!(
                    "r.id IN (SELECT x.target_id FROM resource l JOIN idx_ref x ON x.rid = l.rid
                     WHERE l.type = 'List' AND l.id IN ({marks}) AND l.deleted = 0 AND {}
                       AND x.target_type = ?)",
                    pids.of(item).test("x.pid")
                ),
                args,
                driver: None,
            }))
        }
        "_lastUpdated" => {
            let mut ors = Vec::new();
            let mut args = Vec::new();
            for v in split_values(value) {
                ors.push(date_condition(
                    &v,
                    "r.updated",
                    "r.updated",
                    &mut args,
                    name,
                )?);
            }
            if ors.is_empty() {
                return Err(StoreError::invalid("_lastUpdated needs a value"));
            }
            Ok(Some(Cond {
                reads_resource: true,
                sql: format!("({})", ors.join(" OR ")),
                args,
                driver: None,
            }))
        }
        _ => match find(rtype, name) {
            Some(param) => answered(rtype, param, modifier, value, pids, defs).map(Some),
            None => Ok(None),
        },
    }
}

/// A parameter's condition from the rows that answer it: its own, its pair's (a composite of
/// the whole resource: both parts match), or for an alias each of its sources'.
fn answered(
    rtype: &str,
    param: &'static Param,
    modifier: Option<&str>,
    value: &str,
    pids: &ParamIds,
    defs: &dyn Definitions,
) -> Result<Cond> {
    let sources = crate::fhir::params::row_sources(rtype, param);
    if let Some([a, b]) = param.pair {
        return paired(rtype, param.name, [a, b], modifier, value, pids, defs);
    }
    if !param.is_alias() || sources.iter().all(|s| s.pair.is_none()) {
        return param_cond(param, pids.of(param), modifier, value, defs);
    }
    // `combo-code-value-quantity`: the pair's answer or the other source's rows.
    let mut conds = Vec::new();
    for source in sources {
        conds.push(answered(rtype, source, modifier, value, pids, defs)?);
    }
    let negative = modifier == Some("missing") && value == "true";
    Ok(joined(conds, if negative { " AND " } else { " OR " }))
}

/// `a$b` of a paired composite: the first part's parameter matches `a` and the second's `b`.
fn paired(
    rtype: &str,
    name: &str,
    [a, b]: [&'static str; 2],
    modifier: Option<&str>,
    value: &str,
    pids: &ParamIds,
    defs: &dyn Definitions,
) -> Result<Cond> {
    let part = |n: &str| find(rtype, n).ok_or_else(|| StoreError::invalid(format!("no {n}")));
    let (a, b) = (part(a)?, part(b)?);
    match modifier {
        None => {}
        Some("missing") => {
            let present = |p| param_cond(p, pids.of(p), Some("missing"), "false", defs);
            let both = joined(vec![present(a)?, present(b)?], " AND ");
            return match value {
                "false" => Ok(both),
                "true" => Ok(negated(both)),
                _ => Err(StoreError::invalid(format!(
                    "{name}:missing takes true or false, not '{value}'"
                ))),
            };
        }
        Some(m) => {
            return Err(StoreError::invalid(format!(
                "the modifier ':{m}' is not supported for '{name}'"
            )));
        }
    }
    let mut ors = Vec::new();
    for v in split_values(value) {
        let Some((x, y)) = v.split_once('$') else {
            return Err(StoreError::invalid(format!(
                "'{v}' is not a value for the composite {name}: give both parts, as code$value"
            )));
        };
        ors.push(joined(
            vec![
                param_cond(a, pids.of(a), None, x, defs)?,
                param_cond(b, pids.of(b), None, y, defs)?,
            ],
            " AND ",
        ));
    }
    if ors.is_empty() {
        return Err(StoreError::invalid(format!("{name} needs a value")));
    }
    Ok(joined(ors, " OR "))
}

/// Conditions joined into one (`AND` or `OR`); it cannot drive a search on its own.
fn joined(conds: Vec<Cond>, op: &str) -> Cond {
    let reads_resource = conds.iter().any(|c| c.reads_resource);
    let sql = conds
        .iter()
        .map(|c| format!("({})", c.sql))
        .collect::<Vec<_>>()
        .join(op);
    Cond {
        reads_resource,
        sql: format!("({sql})"),
        args: conds.into_iter().flat_map(|c| c.args).collect(),
        driver: None,
    }
}

fn negated(c: Cond) -> Cond {
    Cond {
        sql: format!("NOT {}", c.sql),
        ..c
    }
}

/// The reference parameter `name` of `rtype`, which a chain or `_has` goes through.
fn reference_param(rtype: &str, name: &str) -> Result<&'static Param> {
    find(rtype, name)
        .filter(|p| p.kind == Kind::Reference)
        .ok_or_else(|| {
            StoreError::invalid(format!(
                "'{name}' is not a reference parameter of {rtype}, so it cannot be chained"
            ))
        })
}

fn too_deep() -> StoreError {
    StoreError::TooCostly(format!(
        "a chained or _has parameter may have at most {MAX_LINKS} links"
    ))
}

/// `ref[:Type].rest=value`: resources whose `ref` points at one matching `rest=value`.
#[allow(clippy::too_many_arguments)]
fn chain(
    rtype: &str,
    name: &str,
    modifier: Option<&str>,
    rest: &str,
    value: &str,
    pids: &ParamIds,
    scope: &Scope,
    defs: &dyn Definitions,
    depth: usize,
) -> Result<Cond> {
    let param = reference_param(rtype, name)?;
    let targets: Vec<&str> = match (modifier, param.alias_target) {
        (Some(t), _) => {
            if !is_supported(t) || (!param.targets.is_empty() && !param.targets.contains(&t)) {
                return Err(StoreError::invalid(format!(
                    "{rtype}.{name} does not refer to '{t}'"
                )));
            }
            vec![t]
        }
        (None, Some(t)) => vec![t],
        (None, None) if !param.targets.is_empty() => param.targets.to_vec(),
        (None, None) => {
            return Err(StoreError::invalid(format!(
                "{rtype}.{name} may refer to any type: name one, as {name}:Patient.{rest}"
            )));
        }
    };
    let mut ors = Vec::new();
    let mut args = Vec::new();
    for target in targets {
        let Some(inner) = condition(target, rest, value, pids, scope, defs, depth + 1)? else {
            continue;
        };
        let (ids, inner_args) = matching(target, &inner, "r.id", scope);
        ors.push(format!("(target_type = ? AND target_id IN ({ids}))"));
        args.push(Sql::Text(target.to_string()));
        args.extend(inner_args);
    }
    if ors.is_empty() {
        let first = rest.split([':', '.']).next().unwrap_or(rest);
        return Err(StoreError::invalid(format!(
            "'{first}' is not a search parameter of what {rtype}.{name} refers to"
        )));
    }
    let pids = pids.of(param);
    let clause = ors.join(" OR ");
    Ok(Cond {
        reads_resource: false,
        sql: format!(
            "EXISTS (SELECT 1 FROM idx_ref WHERE rid = r.rid AND {} AND ({clause}))",
            pids.test("pid")
        ),
        args,
        driver: Some(Driver {
            table: "idx_ref",
            pids,
            clause,
            key: &["target_id", "target_type", "rid"],
            rank: 1,
        }),
    })
}

/// `Type:ref:rest=value` after `_has:`: resources that a `Type` matching `rest=value` points
/// at through its `ref`.
fn has(
    rtype: &str,
    spec: &str,
    value: &str,
    pids: &ParamIds,
    scope: &Scope,
    defs: &dyn Definitions,
    depth: usize,
) -> Result<Cond> {
    let mut parts = spec.splitn(3, ':');
    let (Some(source), Some(name), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StoreError::invalid(format!(
            "'_has:{spec}' is not of the form _has:Type:reference:parameter"
        )));
    };
    if !is_supported(source) {
        return Err(StoreError::UnknownType(source.to_string()));
    }
    let param = reference_param(source, name)?;
    let refers = param.alias_target.map_or_else(
        || param.targets.is_empty() || param.targets.contains(&rtype),
        |t| t == rtype,
    );
    if !refers {
        return Err(StoreError::invalid(format!(
            "{source}.{name} does not refer to {rtype}"
        )));
    }
    let inner = condition(source, rest, value, pids, scope, defs, depth + 1)?.ok_or_else(|| {
        let first = rest.split([':', '.']).next().unwrap_or(rest);
        StoreError::invalid(format!("'{first}' is not a search parameter of {source}"))
    })?;
    let (rids, mut inner_args) = matching(source, &inner, "r.rid", scope);
    let mut args = vec![Sql::Text(rtype.to_string())];
    args.append(&mut inner_args);
    Ok(Cond {
        reads_resource: true,
        sql: format!(
            "r.id IN (SELECT x.target_id FROM idx_ref x WHERE {} AND x.target_type = ? AND x.rid IN ({rids}))",
            pids.of(param).test("x.pid")
        ),
        args,
        driver: None,
    })
}

/// A query selecting `column` (`r.id` or `r.rid`) of the resources of `rtype` that meet
/// `cond`, through its index when it has one, leaving out what `scope` hides.
fn matching(rtype: &str, cond: &Cond, column: &str, scope: &Scope) -> (String, Vec<Sql>) {
    let mut args: Vec<Sql> = cond.args.clone();
    let (hidden, hidden_args) = restricted_filter(scope);
    args.extend(hidden_args);
    let mut hidden = hidden.map(|h| format!(" AND {h}")).unwrap_or_default();
    if let (Some(sql), mine) = private_lists_filter(rtype, scope) {
        hidden.push_str(&format!(" AND {sql}"));
        args.extend(mine);
    }
    let sql = match &cond.driver {
        // The index rows of current resources only: no need to test `deleted`.
        Some(d) => format!(
            "SELECT {column} FROM resource r WHERE r.rid IN (SELECT d.rid FROM {} d WHERE {} AND ({})){hidden}",
            d.table,
            d.pids.test("d.pid"),
            d.clause
        ),
        None => {
            args.insert(0, Sql::Text(rtype.to_string()));
            format!(
                "SELECT {column} FROM resource r WHERE r.type = ? AND r.deleted = 0 AND {}{hidden}",
                cond.sql
            )
        }
    };
    (sql, args)
}

/// The test that leaves out other users' personal lists, as SQL over the candidate `r`, when
/// the search is of Lists and `scope` asks for it.
pub(super) fn private_lists_filter(rtype: &str, scope: &Scope) -> (Option<String>, Vec<Sql>) {
    let Some(me) = &scope.hide_lists_not_of else {
        return (None, Vec::new());
    };
    if rtype != "List" {
        return (None, Vec::new());
    }
    let (system, code) = crate::fhir::PERSONAL_LIST;
    (
        Some(format!(
            "r.rid NOT IN (SELECT t.rid FROM idx_token t WHERE t.pid IN
             (SELECT pid FROM search_param WHERE type = 'List' AND name = 'code')
             AND t.code = '{code}' AND t.system = '{system}'
             AND NOT EXISTS (SELECT 1 FROM idx_ref f WHERE f.rid = t.rid
               AND f.pid IN (SELECT pid FROM search_param WHERE type = 'List' AND name = 'source')
               AND f.target_type = 'Practitioner' AND f.target_id = ?))"
        )),
        vec![Sql::Text(me.clone())],
    )
}

/// The test that leaves out resources in restricted charts (those of the listed grants
/// excepted), as SQL over the candidate `r`, when `scope` asks for it.
pub(super) fn restricted_filter(scope: &Scope) -> (Option<String>, Vec<Sql>) {
    let Some(granted) = &scope.hide_restricted_except else {
        return (None, Vec::new());
    };
    let marks = vec!["?"; granted.len()].join(",");
    let except = if granted.is_empty() {
        String::new()
    } else {
        format!(" AND x.patient_id NOT IN ({marks})")
    };
    // The rows of restricted charts, listed once (SQLite builds the set a single time for an
    // uncorrelated IN), then a lookup per candidate.
    (
        Some(format!(
            "r.rid NOT IN (SELECT c.rid FROM restricted_patient x JOIN compartment c
             ON c.patient_id = x.patient_id WHERE 1{except})"
        )),
        granted.iter().cloned().map(Sql::Text).collect(),
    )
}
