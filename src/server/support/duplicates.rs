//! The duplicate-patient scan as the server runs it: every active Patient read once, scored
//! by `dedupe`, the pairs support staff marked "not a duplicate" left out. One scan runs at a
//! time; its result is kept until the database changes.

use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use serde_json::Value;

use crate::server::dedupe::{self, Candidate, Person, Thresholds, Verdict};
use crate::server::store::{Result as StoreResult, Store, StoreError};

/// One pair found, by patient id (`a` sorts before `b`).
#[derive(Clone, Debug)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub score: f64,
    pub sure: bool,
    /// Each field's weight and why, strongest first.
    pub why: Vec<String>,
}

struct Kept {
    path: std::path::PathBuf,
    generation: i64,
    pairs: Arc<Vec<Pair>>,
}

/// The last scan, and the lock one scan at a time holds.
static LAST: Mutex<Option<Kept>> = Mutex::new(None);
static SCANNING: Mutex<()> = Mutex::new(());

fn generation(c: &Connection) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT CAST(value AS INTEGER) FROM store_info WHERE key = 'generation'",
        [],
        |r| r.get(0),
    )?)
}

/// The active patients' records, normalised (merged-away and inactive records left out).
pub fn people(c: &Connection, mrn_system: &str) -> StoreResult<Vec<Person>> {
    let mut stmt = c.prepare(
        "SELECT v.json FROM resource r JOIN version v ON v.rid = r.rid AND v.version = r.version
         WHERE r.type = 'Patient' AND r.deleted = 0",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let Some(json): Option<String> = row.get(0)? else {
            continue;
        };
        let Ok(p) = serde_json::from_str::<Value>(&json) else {
            continue;
        };
        let merged = p["link"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| l["type"] == "replaced-by");
        if p["active"] == Value::Bool(false) || merged {
            continue;
        }
        if let Some(person) = dedupe::person(&p, mrn_system) {
            out.push(person.sounded());
        }
    }
    Ok(out)
}

fn pairs_of(people: &[Person], found: Vec<Candidate>) -> Vec<Pair> {
    found
        .into_iter()
        .map(|c| {
            let (x, y) = (&people[c.a].id, &people[c.b].id);
            let (a, b) = if x <= y { (x, y) } else { (y, x) };
            Pair {
                a: a.clone(),
                b: b.clone(),
                score: c.comparison.score,
                sure: c.verdict == Verdict::Sure,
                why: dedupe::explain(&c.comparison),
            }
        })
        .collect()
}

/// Scans the store (or answers from the last scan when nothing changed since). Refused while
/// another scan runs.
pub fn scan(store: &Store, mrn_system: &str, threads: usize) -> StoreResult<Arc<Vec<Pair>>> {
    let Ok(_one) = SCANNING.try_lock() else {
        return Err(StoreError::TooCostly(
            "a duplicate scan is already running; try again in a minute".into(),
        ));
    };
    let now = store.read_side(generation)?;
    {
        let last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = last
            .as_ref()
            .filter(|k| k.path == store.path() && k.generation == now)
        {
            return Ok(k.pairs.clone());
        }
    }
    let people = store.read_side(|c| people(c, mrn_system))?;
    let found = dedupe::find(&people, Thresholds::default(), threads);
    let pairs = Arc::new(pairs_of(&people, found));
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = Some(Kept {
        path: store.path().to_path_buf(),
        generation: now,
        pairs: pairs.clone(),
    });
    Ok(pairs)
}

/// The pairs judged to be two people.
pub fn distinct(c: &Connection) -> StoreResult<std::collections::HashSet<(String, String)>> {
    let mut stmt = c.prepare("SELECT a, b FROM dedupe_distinct")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Remembers that `x` and `y` are two people. Returns false when it was known already.
pub fn mark_distinct(
    c: &Connection,
    x: &str,
    y: &str,
    username: &str,
    reason: &str,
) -> StoreResult<bool> {
    let (a, b) = if x <= y { (x, y) } else { (y, x) };
    let n = c.execute(
        "INSERT OR IGNORE INTO dedupe_distinct (a, b, username, reason, recorded)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![a, b, username, reason, crate::fhir::date::now_ms()],
    )?;
    Ok(n > 0)
}
