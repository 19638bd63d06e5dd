//! The server's state for support staff: how much it holds, how big its files are, how much
//! is audited, sign-in failures and locked accounts, and the slowest recent requests (by
//! route, ids left out).

use std::collections::VecDeque;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::server::store::{Result as StoreResult, Store};

/// A request slower than this is remembered.
pub const SLOW_MS: u64 = 500;
/// Slow requests remembered (the oldest go first).
pub const KEPT: usize = 100;

/// One slow request: when, its route (ids replaced by `{id}`), how long, what it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Slow {
    pub at_ms: i64,
    pub route: String,
    pub millis: u64,
    pub status: u16,
}

/// The slow requests of this run of the server.
#[derive(Default)]
pub struct SlowLog {
    kept: Mutex<VecDeque<Slow>>,
}

/// `GET /fhir/Patient/abc/_history/2?x` → `GET /fhir/Patient/{id}/_history/{id}`: the route,
/// without ids or the query (which could name a patient).
pub fn route(method: &str, path: &str) -> String {
    let mut out = Vec::new();
    for (i, seg) in path.split('/').enumerate() {
        let keep = seg.is_empty()
            || seg.starts_with('$')
            || seg.starts_with('_')
            || seg == "fhir"
            || seg == "auth"
            || (i == 2 && crate::fhir::is_supported(seg));
        out.push(if keep { seg } else { "{id}" });
    }
    format!("{method} {}", out.join("/"))
}

impl SlowLog {
    pub fn note(&self, method: &str, path: &str, millis: u64, status: u16) {
        if millis < SLOW_MS {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= KEPT {
            kept.pop_front();
        }
        kept.push_back(Slow {
            at_ms: crate::fhir::date::now_ms(),
            route: route(method, path),
            millis,
            status,
        });
    }

    /// Slowest first.
    pub fn slowest(&self) -> Vec<Slow> {
        let mut all: Vec<Slow> = self
            .kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.millis));
        all
    }
}

fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn with_suffix(path: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// The status, as a Parameters resource.
pub fn status(store: &Store, slow: &SlowLog, now_ms: i64) -> StoreResult<Value> {
    let counts = store.counts()?;
    let db = store.path();
    let trail = crate::server::store::trail_path(db);
    let files = [
        ("database", size(db)),
        ("database-wal", size(&with_suffix(db, "-wal"))),
        ("audit-trail", size(&trail)),
        ("audit-trail-wal", size(&with_suffix(&trail, "-wal"))),
    ];
    let day_ago = now_ms - 86_400_000;
    let (audit_total, audit_day, failures_day, locked, disabled, users) = store.read_side(|c| {
        let both = |sql: &str, args: &[i64]| -> StoreResult<i64> {
            let mut n = 0;
            for db in ["main", "trail"] {
                let q = sql.replace("{db}", db);
                n += c.query_row(&q, rusqlite::params_from_iter(args.iter()), |r| {
                    r.get::<_, i64>(0)
                })?;
            }
            Ok(n)
        };
        let total = both("SELECT COUNT(*) FROM {db}.audit", &[])?;
        let day = both("SELECT COUNT(*) FROM {db}.audit WHERE recorded >= ?1", &[day_ago])?;
        let failures = both(
            "SELECT COUNT(*) FROM {db}.audit WHERE recorded >= ?1 AND subtype = 'login' AND outcome != '0'",
            &[day_ago],
        )?;
        let locked: i64 = c.query_row(
            "SELECT COUNT(*) FROM auth_user WHERE locked_until > ?1",
            [now_ms],
            |r| r.get(0),
        )?;
        let disabled: i64 =
            c.query_row("SELECT COUNT(*) FROM auth_user WHERE disabled != 0", [], |r| r.get(0))?;
        let users: i64 = c.query_row("SELECT COUNT(*) FROM auth_user", [], |r| r.get(0))?;
        Ok((total, day, failures, locked, disabled, users))
    })?;
    let mut parameter = vec![
        json!({"name": "resources", "valueInteger": counts.iter().map(|(_, n)| n).sum::<i64>()}),
    ];
    parameter.extend(counts.iter().map(|(t, n)| {
        json!({"name": "count", "part": [{"name": "type", "valueCode": t}, {"name": "count", "valueInteger": n}]})
    }));
    parameter.extend(files.iter().map(|(name, bytes)| {
        json!({"name": "file", "part": [{"name": "name", "valueString": name}, {"name": "bytes", "valueInteger": bytes}]})
    }));
    parameter.extend([
        json!({"name": "audit-records", "valueInteger": audit_total}),
        json!({"name": "audit-records-24h", "valueInteger": audit_day}),
        json!({"name": "sign-in-failures-24h", "valueInteger": failures_day}),
        json!({"name": "accounts-locked", "valueInteger": locked}),
        json!({"name": "accounts-disabled", "valueInteger": disabled}),
        json!({"name": "accounts", "valueInteger": users}),
        json!({"name": "slow-threshold-ms", "valueInteger": SLOW_MS}),
    ]);
    parameter.extend(slow.slowest().into_iter().take(20).map(|s| {
        json!({"name": "slow", "part": [
            {"name": "route", "valueString": s.route},
            {"name": "ms", "valueInteger": s.millis},
            {"name": "status", "valueInteger": s.status},
            {"name": "at", "valueInstant": crate::fhir::date::instant(s.at_ms)},
        ]})
    }));
    Ok(json!({"resourceType": "Parameters", "parameter": parameter}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_keeps_no_ids() {
        assert_eq!(
            route("GET", "/fhir/Patient/abc-123/_history/2"),
            "GET /fhir/Patient/{id}/_history/{id}"
        );
        assert_eq!(
            route("GET", "/fhir/Patient/abc/$everything"),
            "GET /fhir/Patient/{id}/$everything"
        );
        assert_eq!(route("POST", "/fhir"), "POST /fhir");
    }

    #[test]
    fn the_slowest_are_kept_within_bounds() {
        let log = SlowLog::default();
        log.note("GET", "/fhir/Patient", 10, 200);
        for i in 0..(KEPT + 10) {
            log.note("GET", "/fhir/Observation", SLOW_MS + i as u64, 200);
        }
        let s = log.slowest();
        assert_eq!(s.len(), KEPT);
        assert_eq!(s[0].millis, SLOW_MS + (KEPT + 9) as u64);
    }
}
