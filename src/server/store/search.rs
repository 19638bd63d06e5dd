//! FHIR search: turns query parameters into SQL over the index tables, runs it and pages it.
//! Parameters AND together; comma-separated values OR. Unknown parameters are ignored (and
//! reported) unless the client asked for strict handling.

use rusqlite::Connection;
use rusqlite::types::Value as Sql;

use super::read::{fetch, read_current};
use super::{ParamIds, Reader, Result, Row, StoreError, Tx};
use crate::fhir::date::{DateRange, now_ms, parse_range};
use crate::fhir::extract::normalize;
use crate::fhir::params::{Kind, Param, find};
use crate::fhir::{is_supported, parse_reference};

pub const DEFAULT_COUNT: i64 = 20;
pub const MAX_COUNT: i64 = 1000;
const MAX_INCLUDED: usize = 1000;

/// What one search may ask for. Each limit answers 400 (too-costly) naming it, so a request
/// costs a bounded amount of work whatever it holds. Published in the CapabilityStatement.
pub mod limits {
    /// Search parameters in one request (repeats count, paging and format do not).
    pub const PARAMETERS: usize = 32;
    /// Comma-separated values (an OR-list) in one parameter, `_id` included.
    pub const OR_VALUES: usize = 100;
    /// Characters in one parameter value.
    pub const VALUE_CHARS: usize = 1024;
    /// Keys in `_sort`.
    pub const SORT_KEYS: usize = 4;
    /// `_include` and `_revinclude` parameters together.
    pub const INCLUDES: usize = 8;
}

/// Who a search is for, beyond its parameters: what the store must leave out.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Leave out resources in the compartment of a restricted patient, except those of the
    /// patients listed (the user's break-the-glass grants). `None`: leave nothing out.
    pub hide_restricted_except: Option<Vec<String>>,
}

impl Scope {
    pub fn all() -> Scope {
        Scope::default()
    }
}

fn too_costly(msg: String) -> StoreError {
    StoreError::TooCostly(msg)
}

/// The control parameters of a search: what to return and how, not what to match.
pub fn is_control_parameter(name: &str) -> bool {
    matches!(
        name,
        "_count"
            | "_offset"
            | "_page"
            | "_total"
            | "_summary"
            | "_format"
            | "_pretty"
            | "_elements"
    )
}

/// Above this many matches a search without `_total=accurate` leaves `total` out: counting a
/// broad name prefix over a million patients costs more than the page itself, and a clinician
/// who gets 1,000+ matches needs to type more, not a number.
pub const TOTAL_CAP: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    None,
    /// Exact up to `TOTAL_CAP` matches, left out above (the default).
    UpToCap,
    Accurate,
}

/// One AND-ed condition: SQL over the resource table `r`, with its own arguments.
#[derive(Debug)]
struct Cond {
    /// A test of one candidate row `r`.
    sql: String,
    /// Whether the test reads the resource table (`_id`, `_lastUpdated`), not only `r.rid`.
    reads_resource: bool,
    args: Vec<Sql>,
    /// For a positive index condition: how to scan that index directly.
    driver: Option<Driver>,
}

/// An index condition that can drive a search: its rows come out in the index's key order, so
/// the first page is found without reading every match, and under `_sort` it is the set the
/// other conditions are tested on.
#[derive(Debug)]
struct Driver {
    table: &'static str,
    pid: i64,
    /// The OR of the values, over the index's columns.
    clause: String,
    /// The index key after `pid`, for ORDER BY.
    key: &'static [&'static str],
    /// The kind's usual selectivity, lower first: breaks ties between equally broad drivers.
    rank: u8,
}

/// A parsed search, ready to run.
#[derive(Debug)]
pub struct Query {
    pub rtype: String,
    conds: Vec<Cond>,
    /// ORDER BY for a `_sort`; empty for the default (index) order.
    order: String,
    pub count: i64,
    pub offset: i64,
    pub total: Total,
    pub summary_count: bool,
    includes: Vec<i64>,
    revincludes: Vec<(i64, String)>,
    /// The parameters this search was made of, without paging: what `self` and `next` repeat.
    pub canonical: Vec<(String, String)>,
    /// Parameters that were ignored, and why, for the client's OperationOutcome.
    pub ignored: Vec<String>,
}

/// What a search found on the requested page.
#[derive(Debug, Default)]
pub struct Found {
    pub matches: Vec<Row>,
    pub included: Vec<Row>,
    pub total: Option<i64>,
    pub has_next: bool,
}

impl Reader {
    pub fn search(
        &self,
        rtype: &str,
        params: &[(String, String)],
        strict: bool,
    ) -> Result<(Query, Found)> {
        self.search_in(rtype, params, strict, &Scope::all())
    }

    pub fn search_in(
        &self,
        rtype: &str,
        params: &[(String, String)],
        strict: bool,
        scope: &Scope,
    ) -> Result<(Query, Found)> {
        let query = parse(rtype, params, strict, scope, self.store.pids())?;
        // One read transaction: the page, its total and its includes see the same snapshot.
        let _snapshot = self.conn.unchecked_transaction()?;
        let found = run(&self.conn, &query)?;
        Ok((query, found))
    }
}

impl Tx<'_> {
    /// Ids matching a conditional create, update or delete. Unknown parameters are an error
    /// here: ignoring one would match more than the client meant.
    pub fn matching_ids(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
    ) -> Result<Vec<String>> {
        self.matching_ids_in(rtype, params, &Scope::all())
    }

    pub fn matching_ids_in(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
        scope: &Scope,
    ) -> Result<Vec<String>> {
        self.flush_index()?;
        let mut query = parse(rtype, params, true, scope, self.pids())?;
        query.count = 2;
        query.offset = 0;
        query.total = Total::None;
        query.order.clear();
        query.includes.clear();
        query.revincludes.clear();
        let found = run(self.conn(), &query)?;
        Ok(found.matches.into_iter().map(|r| r.id).collect())
    }

    pub fn search_in(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
        strict: bool,
        scope: &Scope,
    ) -> Result<(Query, Found)> {
        self.flush_index()?;
        let query = parse(rtype, params, strict, scope, self.pids())?;
        let found = run(self.conn(), &query)?;
        Ok((query, found))
    }
}

pub(crate) fn parse(
    rtype: &str,
    params: &[(String, String)],
    strict: bool,
    scope: &Scope,
    pids: &ParamIds,
) -> Result<Query> {
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
                "false" => {}
                _ => unsupported(
                    &mut q,
                    strict,
                    format!("_summary={value} is not supported; full resources are returned"),
                )?,
            },
            "_include" | "_revinclude"
                if q.canonical[..q.canonical.len() - 1].contains(&(key.clone(), value.clone())) =>
            {
                // The same include twice adds nothing but work.
            }
            "_include" | "_revinclude" if modifier.is_some() => unsupported(
                &mut q,
                strict,
                format!("{key} is not supported (only one level of _include/_revinclude)"),
            )?,
            "_include" => {
                let (pid, _) = include_param(value, Some(rtype), pids)?;
                q.includes.push(pid);
            }
            "_revinclude" => {
                let (pid, source) = include_param(value, None, pids)?;
                q.revincludes.push((pid, source));
            }
            "_format" | "_pretty" => {}
            "_id" => {
                let values = split_values(value);
                let marks = vec!["?"; values.len()].join(",");
                let args = values.into_iter().map(Sql::Text).collect();
                q.conds.push(Cond {
                    reads_resource: true,
                    sql: format!("r.id IN ({marks})"),
                    args,
                    driver: None,
                });
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
                q.conds.push(Cond {
                    reads_resource: true,
                    sql: format!("({})", ors.join(" OR ")),
                    args,
                    driver: None,
                });
            }
            _ => match find(rtype, name) {
                Some(param) => add_param(&mut q, param, pids.get(param), modifier, value)?,
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
    if let Some(granted) = &scope.hide_restricted_except {
        let marks = vec!["?"; granted.len()].join(",");
        let except = if granted.is_empty() {
            String::new()
        } else {
            format!(" AND x.patient_id NOT IN ({marks})")
        };
        // The rows of restricted charts, listed once (SQLite builds the set a single time for
        // an uncorrelated IN), then a lookup per candidate.
        q.conds.push(Cond {
            reads_resource: false,
            sql: format!(
                "r.rid NOT IN (SELECT c.rid FROM restricted_patient x JOIN compartment c
                 ON c.patient_id = x.patient_id WHERE 1{except})"
            ),
            args: granted.iter().cloned().map(Sql::Text).collect(),
            driver: None,
        });
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

/// Splits on commas, honouring FHIR's `\,` escape.
fn split_values(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ',' => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out.retain(|v| !v.is_empty());
    out
}

fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "idx_string",
        Kind::Token => "idx_token",
        Kind::Date => "idx_date",
        Kind::Reference => "idx_ref",
    }
}

fn add_param(
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
fn date_condition(
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
            let pid = pids.get(param);
            let (col_asc, col_desc) = match param.kind {
                Kind::String => ("value", "value"),
                Kind::Token => ("code", "code"),
                Kind::Date => ("lo", "hi"),
                Kind::Reference => ("target_id", "target_id"),
            };
            let agg = if desc {
                format!("MAX({col_desc})")
            } else {
                format!("MIN({col_asc})")
            };
            format!(
                "(SELECT {agg} FROM {} WHERE rid = r.rid AND pid = {pid})",
                table(param.kind)
            )
        }
    };
    Ok(format!("{expr} {dir}"))
}

/// `Type:param[:Target]` of an `_include` (whose Type must be the searched type) or a
/// `_revinclude`; returns the parameter id and the source type.
fn include_param(value: &str, searched: Option<&str>, pids: &ParamIds) -> Result<(i64, String)> {
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
        Some(p) if p.kind == Kind::Reference => Ok((pids.get(p), source.to_string())),
        _ => Err(StoreError::invalid(format!(
            "'{name}' is not a reference parameter of {source}"
        ))),
    }
}

pub(crate) fn run(conn: &Connection, q: &Query) -> Result<Found> {
    let rows_wanted = !q.summary_count && q.count > 0;
    let driver = choose_driver(conn, q)?;
    let listing = match driver {
        Some((index, d)) if q.order.is_empty() => stream(conn, q, index, d)?,
        _ => sorted(conn, q, driver)?,
    };
    let mut found = Found {
        total: listing.total,
        has_next: listing.has_next,
        ..Found::default()
    };
    if rows_wanted {
        found.matches = fetch(conn, &listing.page)?;
        found.included = includes(conn, q, &listing.page, &found.matches)?;
    }
    Ok(found)
}

/// How far a selectivity probe counts: past this, a condition is simply "broad".
const PROBE_LIMIT: i64 = 20_000;

/// The index condition to drive the search: the one with the fewest matching index rows
/// (counted up to `PROBE_LIMIT`), the kind's usual selectivity breaking ties.
fn choose_driver<'q>(conn: &Connection, q: &'q Query) -> Result<Option<(usize, &'q Driver)>> {
    let candidates: Vec<(usize, &Driver)> = q
        .conds
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.driver.as_ref().map(|d| (i, d)))
        .collect();
    if candidates.len() < 2 {
        return Ok(candidates.into_iter().next());
    }
    let mut scored = Vec::with_capacity(candidates.len());
    for (index, d) in candidates {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} x WHERE x.pid = {} AND ({}) LIMIT {PROBE_LIMIT})",
            d.table, d.pid, d.clause
        );
        let args = rusqlite::params_from_iter(q.conds[index].args.iter());
        let rows: i64 = conn.prepare_cached(&sql)?.query_row(args, |r| r.get(0))?;
        scored.push(((rows, d.rank), index, d));
    }
    Ok(scored
        .into_iter()
        .min_by_key(|(score, _, _)| *score)
        .map(|(_, index, d)| (index, d)))
}

/// The row ids of one page, whether more follow, and the total when it is known.
struct Listing {
    page: Vec<i64>,
    has_next: bool,
    total: Option<i64>,
}

impl Query {
    /// How many distinct matches a listing must see: the page and one more, and for totals as
    /// far as the total needs.
    fn needed(&self) -> i64 {
        let page_end = self.offset + self.count + 1;
        match self.total {
            _ if self.summary_count => i64::MAX,
            Total::Accurate => i64::MAX,
            Total::UpToCap => page_end.max(TOTAL_CAP + 1),
            Total::None => page_end,
        }
    }

    fn total_of(&self, seen: i64, exhausted: bool) -> Option<i64> {
        match self.total {
            Total::None if !self.summary_count => None,
            _ if exhausted => Some(seen),
            _ => None,
        }
    }

    /// The other conditions (all but `skip`), each as ` AND test`, and their arguments.
    fn filter(&self, skip: Option<usize>) -> (String, Vec<&Sql>) {
        let mut sql = String::new();
        let mut args = Vec::new();
        for (_, c) in self
            .conds
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
        {
            sql.push_str(" AND ");
            sql.push_str(&c.sql);
            args.extend(c.args.iter());
        }
        (sql, args)
    }
}

/// Default order: walk the driving index in key order and keep the first distinct matches.
/// A name search reads about a page of index rows, however many patients share the prefix.
fn stream(conn: &Connection, q: &Query, index: usize, d: &Driver) -> Result<Listing> {
    let (filter, others) = q.filter(Some(index));
    let reads_resource = q
        .conds
        .iter()
        .enumerate()
        .any(|(i, c)| i != index && c.reads_resource);
    let order = |alias: &str| {
        d.key
            .iter()
            .map(|k| format!("{alias}.{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = if reads_resource {
        format!(
            "SELECT x.rid FROM {} x JOIN resource r ON r.rid = x.rid
             WHERE x.pid = {} AND ({}) AND r.deleted = 0{filter} ORDER BY {}",
            d.table,
            d.pid,
            d.clause,
            order("x")
        )
    } else {
        // Index rows exist only for current, undeleted resources, so the index answers alone.
        // It is named `r` so that the other conditions' `r.rid` refer to its rows.
        format!(
            "SELECT r.rid FROM {} r WHERE r.pid = {} AND ({}){filter} ORDER BY {}",
            d.table,
            d.pid,
            d.clause,
            order("r")
        )
    };
    // No type test: a parameter id belongs to one resource type.
    let args = q.conds[index].args.iter().chain(others);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    let mut seen = std::collections::HashSet::new();
    let (start, end, needed) = (q.offset, q.offset + q.count, q.needed());
    let mut page = Vec::new();
    let mut exhausted = true;
    while let Some(row) = rows.next()? {
        let rid: i64 = row.get(0)?;
        if !seen.insert(rid) {
            continue;
        }
        let n = seen.len() as i64 - 1;
        if n >= start && n < end {
            page.push(rid);
        }
        if n + 1 >= needed {
            exhausted = false;
            break;
        }
    }
    let distinct = seen.len() as i64;
    Ok(Listing {
        page,
        has_next: distinct > end,
        total: q.total_of(distinct, exhausted),
    })
}

/// With `_sort`: order the matching row ids (not their JSON) and take the page.
fn sorted(conn: &Connection, q: &Query, driver: Option<(usize, &Driver)>) -> Result<Listing> {
    // The driver, if any, as a set the planner can start from; the rest tested per row.
    let (driver_sql, driver_args) = match driver {
        Some((index, d)) => (
            format!(
                "r.rid IN (SELECT rid FROM {} WHERE pid = {} AND ({})) AND ",
                d.table, d.pid, d.clause
            ),
            q.conds[index].args.iter().collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    let (rest, rest_args) = q.filter(driver.map(|(index, _)| index));
    let filter = format!("{driver_sql}r.deleted = 0{rest}");
    let rtype = Sql::Text(q.rtype.clone());
    let all_args = || {
        std::iter::once(&rtype)
            .chain(driver_args.iter().copied())
            .chain(rest_args.iter().copied())
    };
    let order = if q.order.is_empty() {
        "r.rid ASC"
    } else {
        q.order.as_str()
    };
    let sql = format!(
        "SELECT r.rid FROM resource r WHERE r.type = ? AND {filter} ORDER BY {order} LIMIT {} OFFSET {}",
        q.count + 1,
        q.offset
    );
    let mut page: Vec<i64> = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(all_args()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let has_next = page.len() as i64 > q.count;
    page.truncate(q.count.max(0) as usize);
    let on_last_page = !has_next && (!page.is_empty() || q.offset == 0);
    let total = if q.total == Total::None && !q.summary_count {
        None
    } else if on_last_page && !q.summary_count {
        Some(q.offset + page.len() as i64)
    } else {
        // Count no further than the total needs.
        let limit = if q.needed() == i64::MAX {
            -1
        } else {
            q.needed()
        };
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM resource r WHERE r.type = ? AND {filter} LIMIT {limit})"
        );
        let n: i64 = conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(all_args()), |r| r.get(0))?;
        q.total_of(n, n < q.needed())
    };
    Ok(Listing {
        page,
        has_next,
        total,
    })
}

fn includes(conn: &Connection, q: &Query, rids: &[i64], matches: &[Row]) -> Result<Vec<Row>> {
    if rids.is_empty() || (q.includes.is_empty() && q.revincludes.is_empty()) {
        return Ok(Vec::new());
    }
    let mut seen: std::collections::HashSet<(String, String)> = matches
        .iter()
        .map(|r| (r.rtype.clone(), r.id.clone()))
        .collect();
    let mut out = Vec::new();
    let rid_list = rids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut targets: Vec<(String, String)> = Vec::new();
    for pid in &q.includes {
        let sql = format!(
            "SELECT DISTINCT target_type, target_id FROM idx_ref WHERE pid = {pid} AND rid IN ({rid_list})"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        targets.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    for (pid, source) in &q.revincludes {
        let ids: Vec<Sql> = matches.iter().map(|r| Sql::Text(r.id.clone())).collect();
        let marks = vec!["?"; ids.len()].join(",");
        let sql = format!(
            "SELECT DISTINCT r.type, r.id FROM idx_ref x JOIN resource r ON r.rid = x.rid
             WHERE x.pid = {pid} AND x.target_type = '{}' AND x.target_id IN ({marks})
               AND r.type = '{source}' AND r.deleted = 0 LIMIT {MAX_INCLUDED}",
            q.rtype
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        targets.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    for (rtype, id) in targets {
        if out.len() >= MAX_INCLUDED || !seen.insert((rtype.clone(), id.clone())) {
            continue;
        }
        match read_current(conn, &rtype, &id) {
            Ok(row) => out.push(row),
            Err(StoreError::NotFound(..) | StoreError::Gone(..) | StoreError::UnknownType(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::split_values;

    #[test]
    fn commas_split_unless_escaped() {
        assert_eq!(split_values("a,b\\,c,"), ["a", "b,c"]);
    }
}
