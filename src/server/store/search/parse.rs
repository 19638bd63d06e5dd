//! Reading a search's query parameters into a `Query`: each parameter checked against the
//! server's table and the limits, `_sort`, `_include` and `_revinclude`, paging and `_total`.

use super::chain::{condition, private_lists_filter, restricted_filter};
use super::terminology::Stored;
use super::*;

/// `code-value-quantity=http://loinc.org|2345-7$gt10` of a paired composite, as its parts'
/// names and values (`code`, `http://loinc.org|2345-7`, `value-quantity`, `gt10`).
fn single_pair<'v>(
    rtype: &str,
    key: &str,
    value: &'v str,
) -> Option<(&'static str, &'v str, &'static str, &'v str)> {
    let [a, b] = find(rtype, key)?.pair?;
    if split_values(value).len() != 1 || value.contains('\\') {
        return None;
    }
    let (x, y) = value.split_once('$')?;
    Some((a, x, b, y))
}

pub(crate) fn parse(
    rtype: &str,
    params: &[(String, String)],
    strict: bool,
    scope: &Scope,
    pids: &ParamIds,
    conn: &Connection,
) -> Result<Query> {
    let defs = Stored { conn, pids };
    if !is_supported(rtype) {
        return Err(StoreError::UnknownType(rtype.to_string()));
    }
    check_limits(params)?;
    let mut q = Query {
        rtype: rtype.to_string(),
        conds: Vec::new(),
        order: String::new(),
        count: DEFAULT_COUNT,
        offset: 0,
        total: Total::UpToCap,
        summary_count: false,
        includes: Vec::new(),
        revincludes: Vec::new(),
        canonical: Vec::new(),
        ignored: Vec::new(),
    };
    let mut sort = Vec::new();
    for (key, value) in params {
        let (name, modifier) = match key.split_once(':') {
            Some((n, m)) => (n, Some(m)),
            None => (key.as_str(), None),
        };
        if name != "_offset" {
            q.canonical.push((key.clone(), value.clone()));
        }
        match name {
            "_count" => q.count = parse_count(value)?,
            "_offset" => {
                q.offset = value
                    .parse()
                    .ok()
                    .filter(|o: &i64| *o >= 0)
                    .ok_or_else(|| {
                        StoreError::invalid(format!("_offset '{value}' is not a whole number"))
                    })?
            }
            "_sort" => {
                for key in value.split(',').filter(|k| !k.is_empty()) {
                    sort.push(sort_expr(rtype, key, pids)?);
                }
            }
            "_total" => {
                q.total = match value.as_str() {
                    "none" => Total::None,
                    "estimate" => Total::UpToCap,
                    "accurate" => Total::Accurate,
                    _ => {
                        return Err(StoreError::invalid(format!(
                            "_total must be none, estimate or accurate, not '{value}'"
                        )));
                    }
                }
            }
            "_summary" => match value.as_str() {
                "count" => q.summary_count = true,
                // Which elements come back is the handler's (`fhir::subset`).
                "true" | "text" | "data" | "false" => {}
                _ => {
                    return Err(StoreError::invalid(format!(
                        "_summary must be true, text, data, count or false, not '{value}'"
                    )));
                }
            },
            "_include" | "_revinclude"
                if q.canonical[..q.canonical.len() - 1].contains(&(key.clone(), value.clone())) =>
            {
                // The same include twice adds nothing but work.
            }
            "_include" | "_revinclude"
                if modifier.is_some_and(|m| m != "iterate" && m != "recurse") =>
            {
                return Err(StoreError::invalid(format!(
                    "{key}: the only modifier of {name} is :iterate"
                )));
            }
            "_include" => {
                let iterate = modifier.is_some();
                let (param, source) = include_param(value, (!iterate).then_some(rtype))?;
                q.includes.push(Include {
                    pids: pids.of(param),
                    only: param.alias_target,
                    source,
                    iterate,
                });
            }
            "_revinclude" => {
                let (param, source) = include_param(value, None)?;
                q.revincludes.push(Include {
                    pids: pids.of(param),
                    only: param.alias_target,
                    source,
                    iterate: modifier.is_some(),
                });
            }
            "_format" | "_pretty" => {}
            // A paired composite of one value is its two parts, each able to drive the search.
            _ if let Some((a, x, b, y)) = single_pair(rtype, key, value) => {
                for (name, part) in [(a, x), (b, y)] {
                    if let Some(cond) = condition(rtype, name, part, pids, scope, &defs, 0)? {
                        q.conds.push(cond);
                    }
                }
            }
            _ => match condition(rtype, key, value, pids, scope, &defs, 0)? {
                Some(cond) => q.conds.push(cond),
                None => unsupported(
                    &mut q,
                    strict,
                    format!(
                        "'{name}' is not a search parameter of {rtype} on this server; it was ignored"
                    ),
                )?,
            },
        }
    }
    for (sql, args) in [restricted_filter(scope), private_lists_filter(rtype, scope)] {
        if let Some(sql) = sql {
            q.conds.push(Cond {
                reads_resource: false,
                sql,
                args,
                driver: None,
            });
        }
    }
    if !sort.is_empty() {
        // Ties follow the first key's direction, so "newest first" stays newest first.
        let descending = sort[0].ends_with("DESC");
        sort.push(
            if descending {
                "r.rid DESC"
            } else {
                "r.rid ASC"
            }
            .to_string(),
        );
    }
    q.order = sort.join(", ");
    Ok(q)
}

/// Refuses a search whose size alone would make it costly, naming the limit it passes.
fn check_limits(params: &[(String, String)]) -> Result<()> {
    let mut parameters = 0;
    let mut includes = 0;
    for (key, value) in params {
        let name = key.split(':').next().unwrap_or_default();
        if value.chars().count() > limits::VALUE_CHARS {
            return Err(too_costly(format!(
                "the value of '{name}' is longer than this server's limit of {} characters",
                limits::VALUE_CHARS
            )));
        }
        match name {
            n if is_control_parameter(n) => {}
            "_include" | "_revinclude" => includes += 1,
            "_sort" => {
                let keys = value.split(',').filter(|k| !k.is_empty()).count();
                if keys > limits::SORT_KEYS {
                    return Err(too_costly(format!(
                        "_sort has {keys} keys; this server sorts by at most {}",
                        limits::SORT_KEYS
                    )));
                }
                parameters += 1;
            }
            _ => {
                parameters += 1;
                let values = split_values(value).len();
                if values > limits::OR_VALUES {
                    return Err(too_costly(format!(
                        "'{name}' lists {values} values; this server accepts at most {} in one parameter",
                        limits::OR_VALUES
                    )));
                }
            }
        }
    }
    if parameters > limits::PARAMETERS {
        return Err(too_costly(format!(
            "the search has {parameters} parameters; this server accepts at most {}",
            limits::PARAMETERS
        )));
    }
    if includes > limits::INCLUDES {
        return Err(too_costly(format!(
            "the search has {includes} _include/_revinclude parameters; this server accepts at most {}",
            limits::INCLUDES
        )));
    }
    Ok(())
}

fn unsupported(q: &mut Query, strict: bool, msg: String) -> Result<()> {
    if strict {
        Err(StoreError::invalid(msg.replace("; it was ignored", "")))
    } else {
        q.ignored.push(msg);
        Ok(())
    }
}

fn parse_count(value: &str) -> Result<i64> {
    match value.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n.min(MAX_COUNT)),
        _ => Err(StoreError::invalid(format!(
            "_count must be a whole number, not '{value}'"
        ))),
    }
}

fn sort_expr(rtype: &str, key: &str, pids: &ParamIds) -> Result<String> {
    let (name, desc) = match key.strip_prefix('-') {
        Some(n) => (n, true),
        None => (key, false),
    };
    let dir = if desc { "DESC" } else { "ASC" };
    let expr = match name {
        "_id" => "r.id".to_string(),
        "_lastUpdated" => "r.updated".to_string(),
        _ => {
            let param = find(rtype, name).ok_or_else(|| {
                StoreError::invalid(format!(
                    "cannot sort by '{name}': it is not a search parameter of {rtype}"
                ))
            })?;
            let pid = pids.of(param).test("pid");
            let (col_asc, col_desc) = match param.kind {
                Kind::String => ("value", "value"),
                Kind::Token | Kind::Uri => ("code", "code"),
                Kind::Date | Kind::Number | Kind::Quantity => ("lo", "hi"),
                Kind::Reference => ("target_id", "target_id"),
                Kind::Composite => ("code1", "code1"),
            };
            let agg = if desc {
                format!("MAX({col_desc})")
            } else {
                format!("MIN({col_asc})")
            };
            format!(
                "(SELECT {agg} FROM {} WHERE rid = r.rid AND {pid})",
                table(param.kind)
            )
        }
    };
    Ok(format!("{expr} {dir}"))
}

/// `Type:param[:Target]` of an `_include` (whose Type must be the searched type) or a
/// `_revinclude`; returns the parameter id and the source type.
fn include_param(value: &str, searched: Option<&str>) -> Result<(&'static Param, String)> {
    let mut parts = value.split(':');
    let (Some(source), Some(name)) = (parts.next(), parts.next()) else {
        return Err(StoreError::invalid(format!(
            "'{value}' is not of the form Type:parameter"
        )));
    };
    if let Some(searched) = searched {
        if source != searched {
            return Err(StoreError::invalid(format!(
                "_include={value} must start with the searched type {searched}"
            )));
        }
    }
    match find(source, name) {
        Some(p) if p.kind == Kind::Reference => Ok((p, source.to_string())),
        _ => Err(StoreError::invalid(format!(
            "'{name}' is not a reference parameter of {source}"
        ))),
    }
}
