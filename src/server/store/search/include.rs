//! `_include` and `_revinclude`: the resources a page of matches refers to, or that refer to
//! it, at most `MAX_INCLUDED` of them.

use super::*;

pub(super) fn includes(
    conn: &Connection,
    q: &Query,
    rids: &[i64],
    matches: &[Row],
) -> Result<Vec<Row>> {
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
    for (pids, only) in &q.includes {
        let only = only.map_or(String::new(), |t| format!(" AND target_type = '{t}'"));
        let sql = format!(
            "SELECT DISTINCT target_type, target_id FROM idx_ref WHERE {}{only} AND rid IN ({rid_list})",
            pids.test("pid")
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        targets.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    for (pids, only, source) in &q.revincludes {
        if only.is_some_and(|t| t != q.rtype) {
            continue;
        }
        let ids: Vec<Sql> = matches.iter().map(|r| Sql::Text(r.id.clone())).collect();
        let marks = vec!["?"; ids.len()].join(",");
        let sql = format!(
            "SELECT DISTINCT r.type, r.id FROM idx_ref x JOIN resource r ON r.rid = x.rid
             WHERE {} AND x.target_type = '{}' AND x.target_id IN ({marks})
               AND r.type = '{source}' AND r.deleted = 0 LIMIT {MAX_INCLUDED}",
            pids.test("x.pid"),
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
