//! `_include` and `_revinclude` (with `:iterate`): the resources a page of matches refers to,
//! or that refer to it, and with `:iterate` those the included ones refer to or are referred
//! to by, `MAX_ITERATIONS` levels deep; at most `MAX_INCLUDED` resources in all.

use std::collections::HashSet;

use super::*;

/// Levels `:iterate` follows beyond the first.
const MAX_ITERATIONS: usize = 3;

/// A resource reached: its row id, type and id.
type Reached = (i64, String, String);

pub(super) fn includes(
    conn: &Connection,
    q: &Query,
    rids: &[i64],
    matches: &[Row],
) -> Result<Vec<Row>> {
    if rids.is_empty() || (q.includes.is_empty() && q.revincludes.is_empty()) {
        return Ok(Vec::new());
    }
    let mut seen: HashSet<(String, String)> = matches
        .iter()
        .map(|r| (r.rtype.clone(), r.id.clone()))
        .collect();
    let mut frontier: Vec<Reached> = rids
        .iter()
        .zip(matches)
        .map(|(rid, r)| (*rid, r.rtype.clone(), r.id.clone()))
        .collect();
    let mut out = Vec::new();
    for level in 0..=MAX_ITERATIONS {
        let mut reached: Vec<Reached> = Vec::new();
        for inc in q.includes.iter().filter(|i| level == 0 || i.iterate) {
            reached.extend(forward(conn, inc, &frontier)?);
        }
        for inc in q.revincludes.iter().filter(|i| level == 0 || i.iterate) {
            reached.extend(backward(conn, inc, &frontier)?);
        }
        let mut next = Vec::new();
        for (rid, rtype, id) in reached {
            if out.len() >= MAX_INCLUDED {
                return Ok(out);
            }
            if !seen.insert((rtype.clone(), id.clone())) {
                continue;
            }
            match read_current(conn, &rtype, &id) {
                Ok(row) => {
                    out.push(row);
                    next.push((rid, rtype, id));
                }
                Err(
                    StoreError::NotFound(..) | StoreError::Gone(..) | StoreError::UnknownType(_),
                ) => {}
                Err(e) => return Err(e),
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(out)
}

/// What the frontier's resources of the include's source type refer to.
fn forward(conn: &Connection, inc: &Include, frontier: &[Reached]) -> Result<Vec<Reached>> {
    let rids: Vec<String> = frontier
        .iter()
        .filter(|(_, t, _)| *t == inc.source)
        .map(|(rid, _, _)| rid.to_string())
        .collect();
    if rids.is_empty() {
        return Ok(Vec::new());
    }
    let only = if inc.only.is_some() {
        " AND x.target_type = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT DISTINCT r.rid, r.type, r.id FROM idx_ref x
         JOIN resource r ON r.type = x.target_type AND r.id = x.target_id
         WHERE {}{only} AND x.rid IN ({}) AND r.deleted = 0 LIMIT {MAX_INCLUDED}",
        inc.pids.test("x.pid"),
        rids.join(",")
    );
    let mut stmt = conn.prepare(&sql)?;
    let args: Vec<Sql> = inc
        .only
        .map(|t| Sql::Text(t.to_string()))
        .into_iter()
        .collect();
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The resources of the include's source type that refer to the frontier's.
fn backward(conn: &Connection, inc: &Include, frontier: &[Reached]) -> Result<Vec<Reached>> {
    let mut out = Vec::new();
    let mut types: Vec<&str> = frontier.iter().map(|(_, t, _)| t.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    for target in types {
        if inc.only.is_some_and(|t| t != target) {
            continue;
        }
        let ids: Vec<Sql> = frontier
            .iter()
            .filter(|(_, t, _)| t == target)
            .map(|(_, _, id)| Sql::Text(id.clone()))
            .collect();
        let marks = vec!["?"; ids.len()].join(",");
        let sql = format!(
            "SELECT DISTINCT r.rid, r.type, r.id FROM idx_ref x JOIN resource r ON r.rid = x.rid
             WHERE {} AND x.target_type = ? AND x.target_id IN ({marks})
               AND r.type = ? AND r.deleted = 0 LIMIT {MAX_INCLUDED}",
            inc.pids.test("x.pid"),
        );
        let args = std::iter::once(Sql::Text(target.to_string()))
            .chain(ids)
            .chain(std::iter::once(Sql::Text(inc.source.clone())));
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    Ok(out)
}
