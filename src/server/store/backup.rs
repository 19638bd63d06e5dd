//! Backups and restores of a server's database, and the lock a serving process holds.
//!
//! A backup is one SQLite file: a consistent snapshot of the resource database (`VACUUM INTO`
//! reads it in one transaction, so a server may go on writing meanwhile) with the records of
//! the audit trail file merged into its audit tables. It is written beside its destination,
//! checked (`PRAGMA integrity_check`, resources counted) and only then given its name, mode
//! 0600. A restore checks the backup the same way, refuses while a server holds the database,
//! and never deletes what it replaces: the old files are renamed aside.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::key::{self, DbKey};
pub use super::lock::{ServeLock, lock_path};
use super::lock::{sync_file, sync_parent};
use super::{Result, StoreError, trail_path};

/// What a backup or restore found in the file it checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Current resources per type.
    pub counts: Vec<(String, i64)>,
    pub resources: i64,
    pub audit_records: i64,
    pub bytes: u64,
}

fn read_only(path: &Path, key: Option<&DbKey>) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    key::unlock(&conn, key)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    Ok(conn)
}

/// Writes a backup of the database at `db` (and its audit trail) to `to`, which must not
/// exist. `progress(done, total)` is called with bytes written so far and the expected total.
/// The backup of an encrypted database is encrypted with the same key.
pub fn backup(
    db: &Path,
    key: Option<&DbKey>,
    to: &Path,
    progress: impl Fn(u64, u64),
) -> Result<Verified> {
    if !db.exists() {
        return Err(StoreError::invalid(format!(
            "there is no database at {}",
            db.display()
        )));
    }
    if to.exists() {
        return Err(StoreError::invalid(format!(
            "{} exists already; a backup never overwrites a file (choose a new name)",
            to.display()
        )));
    }
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    // Empty and private before SQLite writes a byte of patient data into it.
    crate::files::private_file(&partial)
        .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", partial.display())))?;
    let result = write_backup(db, key, &partial, &progress).and_then(|()| verify(&partial, key));
    match result {
        Ok(verified) => {
            sync_file(&partial)?;
            std::fs::rename(&partial, to).map_err(|e| {
                StoreError::invalid(format!("cannot name the backup {}: {e}", to.display()))
            })?;
            sync_parent(to);
            progress(verified.bytes, verified.bytes);
            Ok(verified)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn write_backup(
    db: &Path,
    key: Option<&DbKey>,
    partial: &Path,
    progress: &impl Fn(u64, u64),
) -> Result<()> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let total = size(db) + size(Path::new(&wal));
    let source = read_only(db, key).map_err(|e| opening(db, key, e))?;
    let target = partial.to_string_lossy().into_owned();
    // One read transaction: the snapshot is consistent while writers go on (and, with a key,
    // SQLCipher writes the copy under the same key: nothing of it is ever plain on disk). The
    // copy runs on
    // its own thread; this one reports how far it has got.
    let copy = std::thread::scope(|scope| {
        let job = scope.spawn(move || source.execute("VACUUM INTO ?1", [&target]));
        while !job.is_finished() {
            progress(size(partial).min(total), total.max(1));
            std::thread::sleep(Duration::from_millis(200));
        }
        job.join()
    });
    match copy {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(StoreError::invalid("the backup copy failed")),
    }
    let mut conn = Connection::open(partial)?;
    key::unlock(&conn, key)?;
    conn.pragma_update(None, "journal_mode", "DELETE")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Every other audit record, from the trail file beside the database.
    let trail = trail_path(db);
    if trail.exists() {
        let trail_conn = read_only(&trail, key).map_err(|e| opening(&trail, key, e))?;
        let tx = conn.transaction()?;
        {
            let mut events = trail_conn.prepare(
                "SELECT seq, id, recorded, username, subtype, outcome, json FROM audit ORDER BY seq",
            )?;
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO audit (id, recorded, username, subtype, outcome, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            // The trail's record numbers and theirs in the backup (one pass over each table:
            // looking a record's patients up one by one would read the patient table again
            // for every record).
            let mut renumbered = std::collections::HashMap::new();
            let mut rows = events.query([])?;
            while let Some(row) = rows.next()? {
                let added = insert.execute(rusqlite::params![
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                ])?;
                if added == 1 {
                    renumbered.insert(row.get::<_, i64>(0)?, tx.last_insert_rowid());
                }
            }
            // A trail written before patient rows were folded has no waiting table.
            let waiting: bool = trail_conn
                .prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit_patient_recent'")?
                .exists([])?;
            let mut patients = trail_conn.prepare(if waiting {
                "SELECT patient_id, recorded, seq FROM audit_patient
                 UNION SELECT patient_id, recorded, seq FROM audit_patient_recent"
            } else {
                "SELECT patient_id, recorded, seq FROM audit_patient"
            })?;
            let mut insert_patient = tx.prepare(
                "INSERT OR IGNORE INTO audit_patient (patient_id, recorded, seq) VALUES (?1, ?2, ?3)",
            )?;
            let mut rows = patients.query([])?;
            while let Some(row) = rows.next()? {
                if let Some(seq) = renumbered.get(&row.get::<_, i64>(2)?) {
                    insert_patient.execute(rusqlite::params![
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        seq
                    ])?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(())
}

/// Why `file` did not open, said for the person who gave (or did not give) the key.
fn opening(file: &Path, key: Option<&DbKey>, e: StoreError) -> StoreError {
    let not_a_database = matches!(&e, StoreError::Db(db)
        if db.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase));
    if !not_a_database {
        return e;
    }
    let plain = key::is_plain_sqlite(file).ok();
    let encrypted = key::looks_encrypted(file);
    StoreError::invalid(match (key, plain) {
        (None, _) if !encrypted => format!(
            "{} is not a bedside database (or it is damaged)",
            file.display()
        ),
        (Some(_), Some(true)) => format!(
            "{} is not encrypted, but a key was given (leave the key out, or encrypt it with `bedside rekey`)",
            file.display()
        ),
        (Some(_), _) => format!(
            "the key does not open {}: a wrong key, or a file that is not a bedside database",
            file.display()
        ),
        (None, Some(false)) => format!(
            "{} is encrypted (or is not a database): give its key (--key-file, {} or {})",
            file.display(),
            key::KEY_FILE_ENV,
            key::KEY_ENV
        ),
        (None, _) => format!(
            "{} is not a bedside database (or it is damaged)",
            file.display()
        ),
    })
}

/// Checks a database or backup file: SQLite's integrity check, and what it holds.
pub fn verify(file: &Path, key: Option<&DbKey>) -> Result<Verified> {
    let conn = read_only(file, key).map_err(|e| match opening(file, key, e) {
        StoreError::Db(_) => {
            StoreError::invalid(format!("{} is not a readable database", file.display()))
        }
        other => other,
    })?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| opening(file, key, e.into()))
        .map_err(|e| match e {
            StoreError::Db(_) => StoreError::invalid(format!(
                "{} is not a bedside database (or it is damaged)",
                file.display()
            )),
            other => other,
        })?;
    if check != "ok" {
        return Err(StoreError::invalid(format!(
            "{} failed SQLite's integrity check: {}",
            file.display(),
            check.lines().next().unwrap_or_default()
        )));
    }
    let is_bedside: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'resource'")?
        .exists([])?;
    if !is_bedside {
        return Err(StoreError::invalid(format!(
            "{} is an SQLite file but not a bedside database",
            file.display()
        )));
    }
    let mut stmt = conn.prepare(
        "SELECT type, COUNT(*) FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type",
    )?;
    let counts = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
    let audit_records: i64 = conn.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?;
    Ok(Verified {
        resources: counts.iter().map(|(_, n)| n).sum(),
        counts,
        audit_records,
        bytes: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
    })
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub verified: Verified,
    /// Where the files it replaced were moved.
    pub set_aside: Option<PathBuf>,
}

/// Restores the backup `from` as the database `db`. Refuses while a server holds `db`, and
/// when `db` exists unless `force` (then the old files are renamed aside, not deleted).
/// `key` opens the backup, and the restored database is under it.
pub fn restore(from: &Path, db: &Path, key: Option<&DbKey>, force: bool) -> Result<Restored> {
    let verified = verify(from, key)?;
    if ServeLock::held(db) {
        return Err(StoreError::Conflict(format!(
            "a bedside server is running on {}; stop it before restoring",
            db.display()
        )));
    }
    let trail = trail_path(db);
    let exists = db.exists() || trail.exists();
    if exists && !force {
        return Err(StoreError::Conflict(format!(
            "{} exists; restoring would replace it. Run again with --force to restore (the current files are kept, renamed aside)",
            db.display()
        )));
    }
    // Held for the restore: no server can start on the files meanwhile.
    let _lock = ServeLock::acquire(db)?;
    let set_aside = if exists {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = |p: &Path| {
            let mut name = p.as_os_str().to_owned();
            name.push(format!(".before-restore-{stamp}"));
            PathBuf::from(name)
        };
        for file in [db.to_path_buf(), trail.clone()] {
            // A WAL may hold committed transactions: it moves with its database.
            for suffix in ["", "-wal", "-shm"] {
                let mut from_name = file.as_os_str().to_owned();
                from_name.push(suffix);
                let from_path = PathBuf::from(&from_name);
                if from_path.exists() {
                    let mut to_name = aside(&file).into_os_string();
                    to_name.push(suffix);
                    std::fs::rename(&from_path, PathBuf::from(to_name)).map_err(|e| {
                        StoreError::invalid(format!(
                            "cannot move {} aside: {e}",
                            from_path.display()
                        ))
                    })?;
                }
            }
        }
        Some(aside(db))
    } else {
        None
    };
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            crate::files::private_dir(dir).map_err(|e| {
                StoreError::invalid(format!("cannot create folder {}: {e}", dir.display()))
            })?;
        }
    }
    let mut partial = db.as_os_str().to_owned();
    partial.push(".restoring");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    crate::files::private_file(&partial)
        .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", partial.display())))?;
    std::fs::copy(from, &partial)
        .map_err(|e| StoreError::invalid(format!("cannot copy {}: {e}", from.display())))?;
    sync_file(&partial)?;
    std::fs::rename(&partial, db)
        .map_err(|e| StoreError::invalid(format!("cannot name {}: {e}", db.display())))?;
    sync_parent(db);
    Ok(Restored {
        verified,
        set_aside,
    })
}
