//! One search parameter as SQL: the condition over its index table (with its modifiers and
//! prefixes), and the index scan that can drive the search when it is the most selective.

use super::terminology::terminology_condition;
use super::*;
use crate::fhir::extract::{UCUM, canonical};
use crate::fhir::terminology::Definitions;

/// One search parameter's condition on a candidate `r`.
pub(super) fn param_cond(
    param: &'static Param,
    pids: Pids,
    modifier: Option<&str>,
    value: &str,
    defs: &dyn Definitions,
) -> Result<Cond> {
    let name = param.name;
    let tbl = table(param.kind);
    let pid_test = pids.test("pid");
    let mut args = Vec::new();
    if modifier == Some("missing") {
        let op = match value {
            "true" => "NOT EXISTS",
            "false" => "EXISTS",
            _ => {
                return Err(StoreError::invalid(format!(
                    "{name}:missing takes true or false, not '{value}'"
                )));
            }
        };
        let sql = format!("{op} (SELECT 1 FROM {tbl} WHERE rid = r.rid AND {pid_test})");
        return Ok(Cond {
            reads_resource: false,
            sql,
            args,
            driver: None,
        });
    }
    let values = split_values(value);
    if values.is_empty() {
        return Err(StoreError::invalid(format!("{name} needs a value")));
    }
    if param.kind == Kind::Reference && modifier == Some("identifier") {
        // References by a business identifier (`subject:identifier=mrn|123`), indexed as
        // tokens under the reference parameter.
        let ors: Vec<String> = values
            .iter()
            .map(|v| token_condition(v, "code", "system", &mut args))
            .collect();
        let key = Some((&["code", "system", "rid"][..], 0));
        return Ok(index_cond("idx_token", pids, &ors, args, false, key));
    }
    if param.kind == Kind::Token && modifier == Some("of-type") {
        // `identifier:of-type=type-system|type-code|value`: the identifier's type and value,
        // indexed as a composite under the identifier parameter.
        let mut ors = Vec::new();
        for v in &values {
            let parts: Vec<&str> = v.splitn(3, '|').collect();
            let [system, code, value] = parts.as_slice() else {
                return Err(StoreError::invalid(format!(
                    "{name}:of-type takes the type's system, its code and the value, as \
                     system|code|value"
                )));
            };
            if code.is_empty() || value.is_empty() {
                return Err(StoreError::invalid(format!(
                    "{name}:of-type needs the type's code and the value"
                )));
            }
            ors.push("(code1 = ? AND system1 = ? AND code2 = ?)".to_string());
            args.extend([code, system, value].map(|s| Sql::Text(s.to_string())));
        }
        let key = Some((&["code1", "system1", "code2", "rid"][..], 0));
        return Ok(index_cond("idx_composite", pids, &ors, args, false, key));
    }
    let mut ors = Vec::new();
    let mut negate = false;
    let mut drivable = true;
    match param.kind {
        Kind::String => {
            for v in values {
                let norm = normalize(&v);
                match modifier {
                    None => {
                        ors.push("(value >= ? AND value < ?)".to_string());
                        args.push(Sql::Text(norm.clone()));
                        args.push(Sql::Text(format!("{norm}\u{10FFFF}")));
                    }
                    Some("exact") => {
                        ors.push("raw = ?".to_string());
                        args.push(Sql::Text(v));
                    }
                    Some("contains") => {
                        ors.push("value LIKE ? ESCAPE '\\'".to_string());
                        args.push(Sql::Text(format!("%{}%", like_escape(&norm))));
                    }
                    Some(m) => return Err(bad_modifier(name, m)),
                }
            }
        }
        Kind::Token => {
            negate = matches!(modifier, Some("not" | "not-in"));
            for v in values {
                ors.push(match modifier {
                    None | Some("not") => token_condition(&v, "code", "system", &mut args),
                    // The text that goes with the code, from its start or a word's start:
                    // `code:text=glucose` finds "Fasting glucose".
                    Some("text") => {
                        drivable = false;
                        let norm = normalize(&v);
                        args.push(Sql::Text(norm.clone()));
                        args.push(Sql::Text(format!("{norm}\u{10FFFF}")));
                        args.push(Sql::Text(format!("% {}%", like_escape(&norm))));
                        "((text >= ? AND text < ?) OR text LIKE ? ESCAPE '\\')".to_string()
                    }
                    Some(m @ ("in" | "not-in" | "above" | "below")) => {
                        terminology_condition(name, m, &v, defs, &mut args)?
                    }
                    Some(m) => return Err(bad_modifier(name, m)),
                });
            }
        }
        Kind::Uri => {
            for v in values {
                match modifier {
                    None => {
                        ors.push("code = ?".to_string());
                        args.push(Sql::Text(v));
                    }
                    // The stored uri starts with the one searched.
                    Some("below") => {
                        ors.push("(code >= ? AND code < ?)".to_string());
                        args.push(Sql::Text(v.clone()));
                        args.push(Sql::Text(format!("{v}\u{10FFFF}")));
                    }
                    // The searched uri starts with the one stored.
                    Some("above") => {
                        drivable = false;
                        ors.push("(? >= code AND substr(?, 1, length(code)) = code)".to_string());
                        args.push(Sql::Text(v.clone()));
                        args.push(Sql::Text(v));
                    }
                    Some(m) => return Err(bad_modifier(name, m)),
                }
            }
        }
        Kind::Date => {
            if let Some(m) = modifier {
                return Err(bad_modifier(name, m));
            }
            drivable = values.iter().all(|v| bounds_start(v));
            for v in values {
                ors.push(date_condition(&v, "lo", "hi", &mut args, name)?);
            }
        }
        Kind::Number | Kind::Quantity => {
            if let Some(m) = modifier {
                return Err(bad_modifier(name, m));
            }
            drivable = values.iter().all(|v| bounds_start(v));
            for v in values {
                ors.push(quantity_condition(
                    &v,
                    param.kind == Kind::Quantity,
                    QUANTITY_COLUMNS,
                    &mut args,
                    name,
                )?);
            }
        }
        Kind::Reference => {
            let type_modifier = match modifier {
                None => None,
                Some(m) if is_supported(m) => Some(m),
                Some(m) => return Err(bad_modifier(name, m)),
            };
            for v in values {
                let (rtype, id) = match parse_reference(&v) {
                    Some((t, id)) => (Some(t.to_string()), id.to_string()),
                    None => (None, v.clone()),
                };
                let rtype = rtype
                    .or(type_modifier.map(str::to_string))
                    .or(param.alias_target.map(str::to_string))
                    .or_else(|| (param.targets.len() == 1).then(|| param.targets[0].to_string()));
                if let (Some(t), Some(only)) = (&rtype, param.alias_target) {
                    if t != only {
                        // `patient=Group/1`: no Group is a patient.
                        ors.push("0".to_string());
                        continue;
                    }
                }
                args.push(Sql::Text(id));
                match rtype {
                    Some(t) => {
                        ors.push("(target_id = ? AND target_type = ?)".to_string());
                        args.push(Sql::Text(t));
                    }
                    None => ors.push("target_id = ?".to_string()),
                }
            }
        }
        Kind::Composite => {
            if let Some(m) = modifier {
                return Err(bad_modifier(name, m));
            }
            let [_, second] = param.components.as_slice() else {
                return Err(StoreError::invalid(format!(
                    "{name} is a composite this server does not index"
                )));
            };
            for v in values {
                let Some((a, b)) = v.split_once('$') else {
                    return Err(StoreError::invalid(format!(
                        "'{v}' is not a value for the composite {name}: give both parts, as code$value"
                    )));
                };
                let first = token_condition(a, "code1", "system1", &mut args);
                let second = match second.kind {
                    Kind::Token => token_condition(b, "code2", "system2", &mut args),
                    Kind::String => {
                        let norm = normalize(b);
                        args.push(Sql::Text(norm.clone()));
                        args.push(Sql::Text(format!("{norm}\u{10FFFF}")));
                        "(code2 >= ? AND code2 < ?)".to_string()
                    }
                    Kind::Date => date_condition(b, "lo2", "hi2", &mut args, name)?,
                    kind => quantity_condition(
                        b,
                        kind == Kind::Quantity,
                        COMPOSITE_QUANTITY_COLUMNS,
                        &mut args,
                        name,
                    )?,
                };
                ors.push(format!("({first} AND {second})"));
            }
        }
    }
    let key = match param.kind {
        Kind::Token if name == "identifier" => (&["code", "system", "rid"][..], 0),
        Kind::Reference => (&["target_id", "target_type", "rid"][..], 1),
        Kind::Composite => (&["code1", "system1", "code2", "rid"][..], 1),
        Kind::String => (&["value", "rid", "raw"][..], 2),
        Kind::Token | Kind::Uri => (&["code", "system", "rid"][..], 3),
        Kind::Date => (&["lo", "hi", "rid"][..], 4),
        Kind::Number | Kind::Quantity => (&["lo", "hi", "rid"][..], 4),
    };
    Ok(index_cond(
        tbl,
        pids,
        &ors,
        args,
        negate,
        drivable.then_some(key),
    ))
}

/// The condition "an index row of `pids` in `table` meets one of `ors`" (or none does, with
/// `negate`). It is tested per candidate through the table's index by rid: a broad condition
/// such as gender=female costs a lookup per candidate, not a list of half the population. With
/// `key` (the index key after `pid`, and the kind's usual selectivity) a positive condition can
/// also drive the search.
fn index_cond(
    table: &'static str,
    pids: Pids,
    ors: &[String],
    args: Vec<Sql>,
    negate: bool,
    key: Option<(&'static [&'static str], u8)>,
) -> Cond {
    let clause = ors.join(" OR ");
    let op = if negate { "NOT EXISTS" } else { "EXISTS" };
    let sql = format!(
        "{op} (SELECT 1 FROM {table} WHERE rid = r.rid AND {} AND ({clause}))",
        pids.test("pid")
    );
    let driver = key.filter(|_| !negate).map(|(key, rank)| Driver {
        table,
        pids,
        clause,
        key,
        rank,
    });
    Cond {
        reads_resource: false,
        sql,
        args,
        driver,
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `code`, `system|code`, `system|` or `|code` over the columns `code` and `system`.
fn token_condition(v: &str, code: &str, system: &str, args: &mut Vec<Sql>) -> String {
    match v.split_once('|') {
        None => {
            args.push(Sql::Text(v.to_string()));
            format!("{code} = ?")
        }
        Some((sys, "")) => {
            args.push(Sql::Text(sys.to_string()));
            format!("{system} = ?")
        }
        Some((sys, c)) => {
            args.push(Sql::Text(c.to_string()));
            args.push(Sql::Text(sys.to_string()));
            format!("({code} = ? AND {system} = ?)")
        }
    }
}

const PREFIXES: &[&str] = &["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"];

fn split_prefix(value: &str) -> (&str, &str) {
    match value.get(..2) {
        Some(p) if PREFIXES.contains(&p) => (p, &value[2..]),
        _ => ("eq", value),
    }
}

/// The columns of a quantity: its range, unit, and canonical range and dimension.
type QuantityColumns = [&'static str; 7];
const QUANTITY_COLUMNS: QuantityColumns = ["lo", "hi", "system", "code", "clo", "chi", "cunit"];
const COMPOSITE_QUANTITY_COLUMNS: QuantityColumns =
    ["lo2", "hi2", "system2", "code2", "clo2", "chi2", "cunit2"];

/// A number or quantity comparison (`5.4`, `gt100`, `le5.4|http://unitsofmeasure.org|mmol/L`,
/// `5||mg`) against a stored range `lo`..`hi` with its unit. A number matches within its
/// precision, as FHIR asks: `100` is 99.5 to 100.5, `100.0` is 99.95 to 100.05. A UCUM unit
/// (its system given as UCUM, or no system) also matches values stored in any unit of the same
/// dimension, compared in base units: `5|http://unitsofmeasure.org|mg` finds `5000 ug`.
fn quantity_condition(
    value: &str,
    with_unit: bool,
    [lo, hi, system_col, code_col, clo, chi, cunit]: QuantityColumns,
    args: &mut Vec<Sql>,
    name: &str,
) -> Result<String> {
    let (prefix, rest) = split_prefix(value);
    let mut parts = rest.splitn(3, '|');
    let number = parts.next().unwrap_or_default();
    let (system, code) = (parts.next(), parts.next());
    if !with_unit && (system.is_some() || code.is_some()) {
        return Err(StoreError::invalid(format!(
            "'{value}' is not a number for {name}"
        )));
    }
    let v: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            StoreError::invalid(format!(
                "'{value}' is not a valid {} for {name}: use a number, optionally after a \
                 prefix such as gt or le{}",
                if with_unit { "quantity" } else { "number" },
                if with_unit { ", then |system|unit" } else { "" }
            ))
        })?;
    let decimals = number
        .split_once('.')
        .map_or(0, |(_, d)| d.trim_start_matches(['e', 'E']).len()) as i32;
    let half = 0.5 * 10f64.powi(-decimals);
    let system = system.filter(|s| !s.is_empty());
    let code = code.filter(|c| !c.is_empty());
    let mut sql = comparison(prefix, v, half, [lo, hi], &|x| x, args);
    if let Some(system) = system {
        sql.push_str(&format!(" AND {system_col} = ?"));
        args.push(Sql::Text(system.to_string()));
    }
    if let Some(code) = code {
        sql.push_str(&format!(" AND {code_col} = ?"));
        args.push(Sql::Text(code.to_string()));
    }
    let sql = format!("({sql})");
    let ucum = code.filter(|_| system.is_none_or(|s| s == UCUM));
    let Some(scale) = ucum.and_then(|c| canonical(0.0, 1.0, c).map(|z| (z, c))) else {
        return Ok(sql);
    };
    let (zero_one, _) = scale;
    let (offset, factor) = (zero_one.lo.0, zero_one.hi.0 - zero_one.lo.0);
    let mut canon = comparison(prefix, v, half, [clo, chi], &|x| factor * x + offset, args);
    canon.push_str(&format!(" AND {cunit} = ?"));
    args.push(Sql::Text(zero_one.unit));
    Ok(format!("({sql} OR ({canon}))"))
}

/// A prefixed comparison of `v` (written with a precision of `half` either side) against the
/// range columns `[lo, hi]`, with the bounds passed through `scale` (to canonical units).
fn comparison(
    prefix: &str,
    v: f64,
    half: f64,
    [lo, hi]: [&str; 2],
    scale: &dyn Fn(f64) -> f64,
    args: &mut Vec<Sql>,
) -> String {
    let (p_lo, p_hi) = (v - half, v + half);
    // Beyond about 1e16 the half-unit is lost in rounding: the value itself is the bound.
    let below = if p_hi > v { "<" } else { "<=" };
    let (sql, binds): (String, Vec<f64>) = match prefix {
        "eq" => (format!("{lo} >= ? AND {hi} {below} ?"), vec![p_lo, p_hi]),
        "ne" => (
            format!("NOT ({lo} >= ? AND {hi} {below} ?)"),
            vec![p_lo, p_hi],
        ),
        "gt" => (format!("{hi} > ?"), vec![v]),
        "lt" => (format!("{lo} < ?"), vec![v]),
        "ge" => (format!("{hi} >= ?"), vec![v]),
        "le" => (format!("{lo} <= ?"), vec![v]),
        "sa" => (format!("{lo} > ?"), vec![v]),
        "eb" => (format!("{hi} < ?"), vec![v]),
        _ => {
            // `ap`: within 10% either side.
            let slack = (v.abs() / 10.0).max(half);
            (
                format!("{hi} >= ? AND {lo} <= ?"),
                vec![v - slack, v + slack],
            )
        }
    };
    args.extend(binds.into_iter().map(|b| Sql::Real(scale(b))));
    sql
}

fn bad_modifier(name: &str, modifier: &str) -> StoreError {
    StoreError::invalid(format!(
        "the modifier ':{modifier}' is not supported for '{name}'"
    ))
}

/// A date comparison (`ge2020-01`, `1956`, `lt2021-03-04T10:00:00Z`) against a stored range.
pub(super) fn date_condition(
    value: &str,
    lo: &str,
    hi: &str,
    args: &mut Vec<Sql>,
    name: &str,
) -> Result<String> {
    let (prefix, rest) = split_prefix(value);
    let DateRange { lo: p_lo, hi: p_hi } = parse_range(rest).ok_or_else(|| {
        StoreError::invalid(format!(
            "'{value}' is not a valid date for {name}: use YYYY, YYYY-MM, YYYY-MM-DD or a full \
             date-time, optionally after a prefix such as ge or lt"
        ))
    })?;
    let (sql, binds): (String, Vec<i64>) = match prefix {
        // `lo <= hi` always, so eq and eb can bound `lo` on both sides: an index range scan.
        "eq" => (
            format!("({lo} >= ? AND {lo} <= ? AND {hi} <= ?)"),
            vec![p_lo, p_hi, p_hi],
        ),
        "ne" => (format!("NOT ({lo} >= ? AND {hi} <= ?)"), vec![p_lo, p_hi]),
        "gt" => (format!("{hi} > ?"), vec![p_hi]),
        "lt" => (format!("{lo} < ?"), vec![p_lo]),
        "ge" => (format!("{hi} >= ?"), vec![p_lo]),
        "le" => (format!("{lo} <= ?"), vec![p_hi]),
        "sa" => (format!("{lo} > ?"), vec![p_hi]),
        "eb" => (format!("({lo} < ? AND {hi} < ?)"), vec![p_lo, p_lo]),
        _ => {
            // `ap`: within 10% of the distance to now, and at least a day, either side.
            let slack = ((now_ms() - p_lo).abs() / 10).max(86_400_000);
            (
                format!("({hi} >= ? AND {lo} <= ?)"),
                vec![p_lo - slack, p_hi + slack],
            )
        }
    };
    args.extend(binds.into_iter().map(Sql::Integer));
    Ok(sql)
}

/// Whether a date value's condition bounds the start of the range (`lo`), so that it can be
/// answered by a range scan of the date index rather than a walk through all of it.
fn bounds_start(value: &str) -> bool {
    !matches!(value.get(..2), Some("gt" | "ge" | "ne" | "ap"))
}
