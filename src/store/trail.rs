//! The audit trail's own file (`<database>.audit`) and its group commit.
//!
//! Every request leaves an audit record that must be durable before the response leaves. If
//! those records went through the resource database's single writer, every read would queue
//! behind every write (SQLite has one writer per file), and a 12-second transaction would stall
//! a ward's worth of chart reads. So the records of requests that write no resource go to a
//! file of their own, through one thread that gathers what has queued while the previous batch
//! was being made durable and commits it all in one transaction: one `fsync` for many
//! requests. Each request is answered only once its batch has committed.
//!
//! The record of a resource write is different: it is stored in the write's own transaction in
//! the resource database (`Tx::record_audit`), so a write is stored, audited and acknowledged,
//! or none of these. Audit searches read both tables (`ATTACH ... AS trail`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, TransactionBehavior};

use super::{Result, StoreError};

/// One audit record, ready to store.
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: String,
    /// Epoch ms.
    pub recorded: i64,
    pub username: Option<String>,
    pub subtype: &'static str,
    pub outcome: &'static str,
    /// The AuditEvent resource.
    pub json: String,
    /// The patients it concerns (sorted, without repeats).
    pub patients: Vec<String>,
}

/// WAL pages between the trail's checkpoints (4 KiB each: 32 MiB).
const TRAIL_CHECKPOINT_PAGES: i64 = 8_000;

/// Records committed in one transaction at most (a bound on one batch's memory and time).
const MAX_BATCH: usize = 2_000;

/// Where the trail of the database at `db` is kept.
pub fn trail_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".audit");
    PathBuf::from(name)
}

/// Appends `rows` to the audit tables of `conn` (inside the caller's transaction).
pub(crate) fn insert_rows(conn: &Connection, rows: &[AuditRow]) -> rusqlite::Result<()> {
    let mut event = conn.prepare_cached(
        "INSERT INTO audit (id, recorded, username, subtype, outcome, json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut patient = conn.prepare_cached(
        "INSERT OR IGNORE INTO audit_patient (patient_id, recorded, seq) VALUES (?1, ?2, ?3)",
    )?;
    for row in rows {
        event.execute(rusqlite::params![
            row.id,
            row.recorded,
            row.username,
            row.subtype,
            row.outcome,
            row.json
        ])?;
        let seq = conn.last_insert_rowid();
        for p in &row.patients {
            patient.execute(rusqlite::params![p, row.recorded, seq])?;
        }
    }
    Ok(())
}

/// Appends `rows` to the trail beside the database at `db` from another process (or without
/// a `Store`): one durable transaction, waiting for the trail's writer if it is committing.
/// `key` is the database's (the trail is encrypted as the database is).
pub fn append_to_trail(db: &Path, key: Option<&super::DbKey>, rows: &[AuditRow]) -> Result<()> {
    let path = trail_path(db);
    crate::files::private_file(&path)
        .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", path.display())))?;
    let mut conn = Connection::open(&path)?;
    super::key::unlock(&conn, key)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.execute_batch(super::schema::AUDIT_SCHEMA)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    insert_rows(&tx, rows)?;
    tx.commit()?;
    Ok(())
}

type Reply = tokio::sync::oneshot::Sender<std::result::Result<(), String>>;

struct Job {
    rows: Vec<AuditRow>,
    reply: Reply,
}

/// The trail's writer: a thread that owns the trail file's connection.
pub(crate) struct Trail {
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Batches committed and records in them, for the load bench's report and tests.
    pub(crate) stats: Arc<TrailStats>,
}

#[derive(Default)]
pub(crate) struct TrailStats {
    pub batches: std::sync::atomic::AtomicU64,
    pub records: std::sync::atomic::AtomicU64,
}

impl Trail {
    /// Opens (creating if needed) the trail beside `db` and starts its writer.
    pub(crate) fn open(
        db: &Path,
        configure: &dyn Fn(&Connection) -> rusqlite::Result<()>,
    ) -> Result<Trail> {
        let path = trail_path(db);
        crate::files::private_file(&path)
            .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", path.display())))?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let _ = crate::files::make_private(Path::new(&side));
        }
        let conn = Connection::open(&path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // The trail's pages that change are mostly the same few (the ends of the table and
        // its indexes): checkpointing seldom copies each once instead of once per commit.
        conn.pragma_update(None, "wal_autocheckpoint", TRAIL_CHECKPOINT_PAGES)?;
        conn.execute_batch(super::schema::AUDIT_SCHEMA)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let stats = Arc::new(TrailStats::default());
        let thread = {
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("audit-trail".into())
                .spawn(move || run(conn, queue, &stats))
                .map_err(|e| StoreError::invalid(format!("cannot start the audit writer: {e}")))?
        };
        Ok(Trail {
            path,
            jobs: Mutex::new(Some(jobs)),
            thread: Mutex::new(Some(thread)),
            stats,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `rows`; the receiver says when they are durable (or why not).
    pub(crate) fn submit(
        &self,
        rows: Vec<AuditRow>,
    ) -> tokio::sync::oneshot::Receiver<std::result::Result<(), String>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        match jobs.as_ref() {
            Some(jobs) => {
                if let Err(mpsc::SendError(job)) = jobs.send(Job { rows, reply }) {
                    let _ = job.reply.send(Err("the audit writer has stopped".into()));
                }
            }
            None => {
                let _ = reply.send(Err("the audit writer has stopped".into()));
            }
        }
        answer
    }
}

impl Drop for Trail {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has committed what was queued.
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>, stats: &TrailStats) {
    use std::sync::atomic::Ordering;
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        let mut count = jobs[0].rows.len();
        while count < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    count += job.rows.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let outcome = commit(&mut conn, &jobs);
        if outcome.iter().all(Result::is_ok) {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.records.fetch_add(count as u64, Ordering::Relaxed);
        }
        for (job, result) in jobs.into_iter().zip(outcome) {
            let _ = job.reply.send(result);
        }
    }
    // The last checkpoint folds the WAL back into the file.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

/// Commits `jobs` in one transaction; a job whose rows cannot be stored is rolled back on its
/// own (a savepoint each), so it does not fail the others. If the commit itself fails (a full
/// disk), every job fails.
fn commit(conn: &mut Connection, jobs: &[Job]) -> Vec<std::result::Result<(), String>> {
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "the audit trail could not be written");
        Err("the audit trail could not be written".to_string())
    };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return jobs.iter().map(|_| failed(&e)).collect(),
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let stored = tx
            .execute_batch("SAVEPOINT job")
            .and_then(|()| insert_rows(&tx, &job.rows));
        match stored {
            Ok(()) => {
                results.push(tx.execute_batch("RELEASE job").map_err(|e| {
                    tracing::error!(error = %e, "an audit savepoint could not be released");
                    "the audit trail could not be written".to_string()
                }));
            }
            Err(e) => {
                let _ = tx.execute_batch("ROLLBACK TO job; RELEASE job");
                results.push(failed(&e));
            }
        }
    }
    if let Err(e) = tx.commit() {
        return jobs.iter().map(|_| failed(&e)).collect();
    }
    results
}
