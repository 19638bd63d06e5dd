//! Running a parsed search: which condition drives it, the page of matches in the index's order
//! (or sorted), the total, and the included resources.

use super::include::includes;
use super::*;

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
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} x WHERE {} AND ({}) LIMIT {PROBE_LIMIT})",
            d.table,
            d.pids.test("x.pid"),
            d.clause
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
             WHERE {} AND ({}) AND r.deleted = 0{filter} ORDER BY {}",
            d.table,
            d.pids.test("x.pid"),
            d.clause,
            order("x")
        )
    } else {
        // Index rows exist only for current, undeleted resources, so the index answers alone.
        // It is named `r` so that the other conditions' `r.rid` refer to its rows.
        format!(
            "SELECT r.rid FROM {} r WHERE {} AND ({}){filter} ORDER BY {}",
            d.table,
            d.pids.test("r.pid"),
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
                "r.rid IN (SELECT rid FROM {} WHERE {} AND ({})) AND ",
                d.table,
                d.pids.test("pid"),
                d.clause
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
