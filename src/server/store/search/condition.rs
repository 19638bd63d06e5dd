//! One search parameter as SQL: the condition over its index table (with its modifiers and
//! prefixes), and the index scan that can drive the search when it is the most selective.

use super::*;

pub(super) fn add_param(
    q: &mut Query,
    param: &'static Param,
    pid: i64,
    modifier: Option<&str>,
    value: &str,
) -> Result<()> {
    let name = param.name;
    let tbl = table(param.kind);
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
        let sql = format!("{op} (SELECT 1 FROM {tbl} WHERE rid = r.rid AND pid = {pid})");
        q.conds.push(Cond {
            reads_resource: false,
            sql,
            args,
            driver: None,
        });
        return Ok(());
    }
    let values = split_values(value);
    if values.is_empty() {
        return Err(StoreError::invalid(format!("{name} needs a value")));
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
                        let escaped = norm
                            .replace('\\', "\\\\")
                            .replace('%', "\\%")
                            .replace('_', "\\_");
                        ors.push("value LIKE ? ESCAPE '\\'".to_string());
                        args.push(Sql::Text(format!("%{escaped}%")));
                    }
                    Some(m) => return Err(bad_modifier(name, m)),
                }
            }
        }
        Kind::Token => {
            match modifier {
                None => {}
                Some("not") => negate = true,
                Some(m) => return Err(bad_modifier(name, m)),
            }
            for v in values {
                match v.split_once('|') {
                    None => {
                        ors.push("code = ?".to_string());
                        args.push(Sql::Text(v));
                    }
                    Some((system, "")) => {
                        ors.push("system = ?".to_string());
                        args.push(Sql::Text(system.to_string()));
                    }
                    Some((system, code)) => {
                        ors.push("(code = ? AND system = ?)".to_string());
                        args.push(Sql::Text(code.to_string()));
                        args.push(Sql::Text(system.to_string()));
                    }
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
                    .or_else(|| (param.targets.len() == 1).then(|| param.targets[0].to_string()));
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
    }
    let clause = ors.join(" OR ");
    // Tested per candidate through the table's index by rid: a broad condition such as
    // gender=female costs a lookup per candidate, not a list of half the population.
    let op = if negate { "NOT EXISTS" } else { "EXISTS" };
    let sql =
        format!("{op} (SELECT 1 FROM {tbl} WHERE rid = r.rid AND pid = {pid} AND ({clause}))");
    let driver = (drivable && !negate).then(|| {
        let (key, rank) = match param.kind {
            Kind::Token if name == "identifier" => (&["code", "system", "rid"][..], 0),
            Kind::Reference => (&["target_id", "target_type", "rid"][..], 1),
            Kind::String => (&["value", "rid", "raw"][..], 2),
            Kind::Token => (&["code", "system", "rid"][..], 3),
            Kind::Date => (&["lo", "hi", "rid"][..], 4),
        };
        Driver {
            table: tbl,
            pid,
            clause: clause.clone(),
            key,
            rank,
        }
    });
    q.conds.push(Cond {
        reads_resource: false,
        sql,
        args,
        driver,
    });
    Ok(())
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
    const PREFIXES: &[&str] = &["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"];
    let (prefix, rest) = match value.get(..2) {
        Some(p) if PREFIXES.contains(&p) => (p, &value[2..]),
        _ => ("eq", value),
    };
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
