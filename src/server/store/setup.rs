//! Opening a database: the connection settings, the schema and its upgrades, the search
//! parameters' ids, and a plain message when the file cannot be opened.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use super::*;

/// A failure to open a database, said so an administrator knows what to do.
pub(super) fn explain_open(path: &Path, key: Option<&DbKey>, e: StoreError) -> StoreError {
    let StoreError::Db(db) = &e else {
        return e;
    };
    use rusqlite::ErrorCode::*;
    let what = match db.sqlite_error_code() {
        Some(NotADatabase) if key.is_some() => format!(
            "the database key does not open {} (or its audit trail {}): a wrong key, or a file that is not encrypted (encrypt a plain database with `bedside rekey`)",
            path.display(),
            trail_path(path).display()
        ),
        Some(NotADatabase) if key::looks_encrypted(path) => format!(
            "{} is encrypted, or it is not a bedside database, or it is damaged: if it is encrypted, give its key (--key-file, {} or {}); if not, restore it from a backup (`bedside restore`)",
            path.display(),
            key::KEY_FILE_ENV,
            key::KEY_ENV
        ),
        Some(NotADatabase | DatabaseCorrupt) => format!(
            "{} (or its audit trail {}) is not a bedside database, or it is damaged; restore it from a backup (`bedside restore`)",
            path.display(),
            trail_path(path).display()
        ),
        Some(DiskFull) => format!(
            "the disk holding {} is full; make room and start again",
            path.display()
        ),
        Some(ReadOnly | CannotOpen | PermissionDenied) => format!(
            "{} cannot be opened for writing (a read-only disk, or its permissions); the server needs to write it",
            path.display()
        ),
        _ => return e,
    };
    tracing::error!(error = %db, "the database could not be opened");
    StoreError::Invalid(what)
}

pub(super) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // FULL: every commit is synced to disk before it returns, so a write acknowledged to a
    // client survives a power cut as well as a crash (NORMAL can lose the last transactions
    // on power loss). The cost is one fsync per commit; the audit trail's group commit shares
    // one among many requests.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", false)?;
    // 8 MB of page cache per reader (the writer's is set apart): with 16 readers, at most
    // 128 MB, whatever the load.
    conn.pragma_update(None, "cache_size", -8_000)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

pub(super) fn init_schema(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(schema::SCHEMA)?;
    tx.execute_batch(schema::AUDIT_SCHEMA)?;
    let found: Option<String> = tx
        .query_row(
            "SELECT value FROM store_info WHERE key = 'schema'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match found.and_then(|v| v.parse::<i64>().ok()) {
        Some(v) if v != schema::SCHEMA_VERSION => {
            return Err(StoreError::Schema {
                found: v,
                expected: schema::SCHEMA_VERSION,
            });
        }
        Some(_) => {}
        None => {
            tx.execute(
                "INSERT INTO store_info (key, value) VALUES ('schema', ?1)",
                [schema::SCHEMA_VERSION.to_string()],
            )?;
        }
    }
    // Columns added since schema 1 (old databases gain them here).
    let has_must_change: bool = tx
        .prepare("SELECT 1 FROM pragma_table_info('auth_user') WHERE name = 'must_change'")?
        .exists([])?;
    if !has_must_change {
        tx.execute(
            "ALTER TABLE auth_user ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0",
            [],
        )?;
    }
    let has_pin: bool = tx
        .prepare("SELECT 1 FROM pragma_table_info('auth_user') WHERE name = 'signature_pin'")?
        .exists([])?;
    if !has_pin {
        tx.execute("ALTER TABLE auth_user ADD COLUMN signature_pin TEXT", [])?;
    }
    // Index columns added by issue 18 (filled by the reindex their INDEX_VERSION brings).
    for (table, column, kind) in [
        ("idx_token", "text", "TEXT"),
        ("idx_quantity", "clo", "REAL"),
        ("idx_quantity", "chi", "REAL"),
        ("idx_quantity", "cunit", "TEXT"),
        ("idx_composite", "clo2", "REAL"),
        ("idx_composite", "chi2", "REAL"),
        ("idx_composite", "cunit2", "TEXT"),
    ] {
        let has: bool = tx
            .prepare(&format!(
                "SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'"
            ))?
            .exists([])?;
        if !has {
            tx.execute(
                &format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"),
                [],
            )?;
        }
    }
    // The write generation that `$everything` listings are cached under.
    tx.execute(
        "INSERT OR IGNORE INTO store_info (key, value) VALUES ('generation', '0')",
        [],
    )?;
    tx.commit()?;
    Ok(())
}

/// Gives every registry parameter a database id and, when the registry has changed since the
/// database was last indexed, rebuilds the indexes so searches see every resource.
pub(super) fn load_param_ids(conn: &mut Connection) -> Result<HashMap<usize, Vec<i64>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ids = HashMap::new();
    let mut signature = format!("v{INDEX_VERSION};");
    for rtype in RESOURCE_TYPES {
        for param in params(rtype).iter().filter(|p| !p.is_alias()) {
            tx.execute(
                "INSERT OR IGNORE INTO search_param (type, name) VALUES (?1, ?2)",
                (rtype, param.name),
            )?;
            let pid: i64 = tx.query_row(
                "SELECT pid FROM search_param WHERE type = ?1 AND name = ?2",
                (rtype, param.name),
                |r| r.get(0),
            )?;
            ids.insert(param as *const Param as usize, vec![pid]);
            signature.push_str(&format!(
                "{rtype}.{}:{:?}:{};",
                param.name, param.kind, param.expression
            ));
        }
        // An alias has the ids (and so the rows) of the parameters it stands for.
        for param in params(rtype).iter().filter(|p| p.is_alias()) {
            let of: Vec<i64> = crate::fhir::params::row_sources(rtype, param)
                .into_iter()
                .flat_map(|base| ids[&(base as *const Param as usize)].clone())
                .collect();
            ids.insert(param as *const Param as usize, of);
        }
    }
    let stored: Option<String> = tx
        .query_row(
            "SELECT value FROM store_info WHERE key = 'index'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let pids = ParamIds(ids);
    if stored.as_deref() != Some(signature.as_str()) {
        if stored.is_some() {
            // Only after an upgrade that changed indexing; says so, as it can take minutes.
            tracing::warn!("rebuilding the search indexes for this version of bedside (runs once)");
        }
        let mut writer = Tx::new(&tx, &pids);
        writer.reindex_all()?;
        writer.flush_index()?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO store_info (key, value) VALUES ('index', ?1)",
        [&signature],
    )?;
    tx.commit()?;
    Ok(pids.0)
}
