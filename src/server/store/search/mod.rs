//! FHIR search: turns query parameters into SQL over the index tables, runs it and pages it.
//! Parameters AND together; comma-separated values OR. Unknown parameters are ignored (and
//! reported) unless the client asked for strict handling.

use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value as Sql;

use super::read::{fetch, read_current};
use super::{ParamIds, Pids, Reader, Result, Row, StoreError, Tx};
use crate::fhir::date::{DateRange, now_ms, parse_range};
use crate::fhir::extract::normalize;
use crate::fhir::params::{Kind, Param, find};
use crate::fhir::{is_supported, parse_reference};

mod chain;
mod condition;
mod include;
mod parse;
mod plan;
mod terminology;

pub(crate) use parse::parse;
pub(crate) use plan::run;

pub use chain::MAX_LINKS;

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
    /// Leave out the personal patient lists (`List` coded `urn:bedside:list|personal`) whose
    /// `source` is not `Practitioner/{this}`: a user's own lists are theirs alone, in a List
    /// search and wherever a search tests Lists (`_has:List`, a chain). `None`: leave none
    /// out (the server's own searches).
    pub hide_lists_not_of: Option<String>,
}

impl Scope {
    pub fn all() -> Scope {
        Scope::default()
    }
}

pub(super) fn too_costly(msg: String) -> StoreError {
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
pub(super) struct Cond {
    /// A test of one candidate row `r`.
    pub(super) sql: String,
    /// Whether the test reads the resource table (`_id`, `_lastUpdated`), not only `r.rid`.
    pub(super) reads_resource: bool,
    pub(super) args: Vec<Sql>,
    /// For a positive index condition: how to scan that index directly.
    pub(super) driver: Option<Driver>,
}

/// An index condition that can drive a search: its rows come out in the index's key order, so
/// the first page is found without reading every match, and under `_sort` it is the set the
/// other conditions are tested on.
#[derive(Debug)]
pub(super) struct Driver {
    pub(super) table: &'static str,
    pub(super) pids: Pids,
    /// The OR of the values, over the index's columns.
    pub(super) clause: String,
    /// The index key after `pid`, for ORDER BY.
    pub(super) key: &'static [&'static str],
    /// The kind's usual selectivity, lower first: breaks ties between equally broad drivers.
    pub(super) rank: u8,
}

/// One `_include` or `_revinclude`.
#[derive(Debug)]
pub(super) struct Include {
    /// The reference parameter's ids.
    pub(super) pids: Pids,
    /// The one target type an alias keeps (`patient`: Patient).
    pub(super) only: Option<&'static str>,
    /// The type holding the reference.
    pub(super) source: String,
    /// `:iterate`: applied again to what was included, not only to the matches.
    pub(super) iterate: bool,
}

/// A parsed search, ready to run.
#[derive(Debug)]
pub struct Query {
    pub rtype: String,
    pub(super) conds: Vec<Cond>,
    /// ORDER BY for a `_sort`; empty for the default (index) order.
    pub(super) order: String,
    pub count: i64,
    pub offset: i64,
    pub total: Total,
    pub summary_count: bool,
    pub(super) includes: Vec<Include>,
    pub(super) revincludes: Vec<Include>,
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

/// How long one search may run (its matches, total and includes) before SQLite is stopped
/// and the search refused as too costly: a broad scan (`code:text=a`, `value-quantity:missing`
/// over millions of rows) must not hold a reader, or the writer, for minutes.
pub const SEARCH_TIME: Duration = Duration::from_secs(10);

/// Runs `f` on `conn`, stopping SQLite once `limit` has passed.
fn within<T>(conn: &Connection, limit: Duration, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let deadline = Instant::now() + limit;
    // Checked every thousand virtual-machine steps: microseconds apart.
    conn.progress_handler(1000, Some(move || Instant::now() >= deadline))?;
    let out = f();
    // The pooled connection goes back without the handler, whatever happened.
    let cleared = conn.progress_handler(0, None::<fn() -> bool>);
    let out = out.and_then(|found| cleared.map(|()| found).map_err(StoreError::from));
    out.map_err(|e| match e {
        StoreError::Db(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            too_costly(format!(
                "the search ran for more than {} s and was stopped: narrow it (a patient, a \
                 code, a date range) so that fewer records are examined",
                limit.as_secs_f64()
            ))
        }
        e => e,
    })
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
        let query = parse(rtype, params, strict, scope, self.store.pids(), &self.conn)?;
        // One read transaction: the page, its total and its includes see the same snapshot.
        let _snapshot = self.conn.unchecked_transaction()?;
        let found = within(&self.conn, self.store.search_time(), || {
            run(&self.conn, &query)
        })?;
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
        self.matching_ids_up_to(rtype, params, scope, 2)
    }

    /// The ids matching a condition, at most `limit` of them.
    pub fn matching_ids_up_to(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
        scope: &Scope,
        limit: usize,
    ) -> Result<Vec<String>> {
        self.flush_index()?;
        let mut query = parse(rtype, params, true, scope, self.pids(), self.conn())?;
        query.count = limit as i64;
        query.offset = 0;
        query.total = Total::None;
        query.order.clear();
        query.includes.clear();
        query.revincludes.clear();
        let found = within(self.conn(), SEARCH_TIME, || run(self.conn(), &query))?;
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
        let query = parse(rtype, params, strict, scope, self.pids(), self.conn())?;
        let found = within(self.conn(), SEARCH_TIME, || run(self.conn(), &query))?;
        Ok((query, found))
    }
}

/// Splits on commas, honouring FHIR's `\,` escape.
pub(super) fn split_values(value: &str) -> Vec<String> {
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

pub(super) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::String => "idx_string",
        Kind::Token | Kind::Uri => "idx_token",
        Kind::Date => "idx_date",
        Kind::Reference => "idx_ref",
        Kind::Number | Kind::Quantity => "idx_quantity",
        Kind::Composite => "idx_composite",
    }
}

#[cfg(test)]
mod tests {
    use super::split_values;

    #[test]
    fn commas_split_unless_escaped() {
        assert_eq!(split_values("a,b\\,c,"), ["a", "b,c"]);
    }
}
