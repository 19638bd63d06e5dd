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

/// How often the trail's checkpointer folds its WAL back into the file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Records committed in one transaction at most (a bound on one batch's memory and time).
const MAX_BATCH: usize = 2_000;

/// Where the trail of the database at `db` is kept.
pub fn trail_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".audit");
    PathBuf::from(name)
}

/// Where the patient rows of new records go: straight into the patient index (the records of
/// resource writes, in the resource database), or appended to be folded in later (the trail).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatientRows {
    Indexed,
    Appended,
}

/// Patient rows waiting in `audit_patient_recent` before a fold pass starts.
const FOLD_AT: usize = 20_000;
/// Rows folded in one group commit at most while a pass is under way (a millisecond or so
/// added to the batch); fewer when the batch brings fewer.
const FOLD_CHUNK: usize = 250;

/// Appends `rows` to the audit tables of `conn` (inside the caller's transaction).
pub(crate) fn insert_rows(
    conn: &Connection,
    rows: &[AuditRow],
    patients: PatientRows,
) -> rusqlite::Result<()> {
    let mut event = conn.prepare_cached(
        "INSERT INTO audit (id, recorded, username, subtype, outcome, json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut patient = conn.prepare_cached(match patients {
        PatientRows::Indexed => {
            "INSERT OR IGNORE INTO audit_patient (patient_id, recorded, seq) VALUES (?1, ?2, ?3)"
        }
        PatientRows::Appended => {
            "INSERT INTO audit_patient_recent (patient_id, recorded, seq) VALUES (?1, ?2, ?3)"
        }
    })?;
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
    insert_rows(&tx, rows, PatientRows::Appended)?;
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
    /// The checkpointer's stop signal and thread.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
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
        // Checkpoints run on a thread of their own: done by the writer, a checkpoint of
        // thousands of pages held every request waiting for its record for 100 ms or more.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.execute_batch(super::schema::AUDIT_SCHEMA)?;
        let checkpoints = Connection::open(&path)?;
        configure(&checkpoints)?;
        // The trail's file and the database's: both are synced after each checkpoint.
        let open = |p: &Path| {
            std::fs::File::open(p)
                .map_err(|e| StoreError::invalid(format!("cannot open {}: {e}", p.display())))
        };
        let files = [open(&path)?, open(db)?];
        let (stop, stopped) = mpsc::channel::<()>();
        let checkpointer = std::thread::Builder::new()
            .name("audit-checkpoint".into())
            .spawn(move || {
                // PASSIVE: copies what no reader still needs, never waits for the writer.
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if let Err(e) =
                        checkpoints.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "the audit trail's checkpoint failed");
                    }
                    // SQLite syncs a file only after a checkpoint that reached the end of
                    // its WAL, which under steady load is rare: the pages copied meanwhile
                    // pile up unwritten (35 MB in a 20 s load run) until one does, or the
                    // kernel writes them back 30 s later, and then every commit's fsync
                    // waits behind them (reads stalled 50-190 ms). Synced here, they go out
                    // in small pieces. The database's own checkpoints (on its writer) leave
                    // the same behind.
                    for file in &files {
                        if let Err(e) = file.sync_data() {
                            tracing::warn!(error = %e, "a database file could not be synced");
                        }
                    }
                }
            })
            .map_err(|e| StoreError::invalid(format!("cannot start the audit writer: {e}")))?;
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
            checkpointer: Mutex::new(Some((stop, checkpointer))),
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
        if let Some((stop, thread)) = self
            .checkpointer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            drop(stop);
            let _ = thread.join();
        }
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Job>, stats: &TrailStats) {
    use std::sync::atomic::Ordering;
    let mut waiting: usize = conn
        .query_row("SELECT count(*) FROM audit_patient_recent", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_or(0, |n| n as usize);
    let mut fold: Option<Fold> = None;
    loop {
        let first = match queue.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Quiet: fold what is waiting, a chunk at a time.
                if waiting > 0 || fold.is_some() {
                    fold_step(&mut conn, &mut fold, &mut waiting);
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
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
        if fold.is_none() && waiting >= FOLD_AT {
            fold = start_fold(&conn);
        }
        // A chunk of the fold pass rides in the batch's transaction: no commit of its own.
        let (outcome, folded) = commit(&mut conn, &jobs, fold.as_ref());
        if outcome.iter().all(Result::is_ok) {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.records.fetch_add(count as u64, Ordering::Relaxed);
        }
        for (job, result) in jobs.iter().zip(&outcome) {
            if result.is_ok() {
                waiting += job.rows.iter().map(|r| r.patients.len()).sum::<usize>();
            }
        }
        for (job, result) in jobs.into_iter().zip(outcome) {
            let _ = job.reply.send(result);
        }
        match folded {
            Folded::Moved(end) => advance(&mut fold, end, &mut waiting),
            Folded::Failed => fold = None,
            Folded::Nothing => {}
        }
    }
    // The last checkpoint folds the WAL back into the file.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

/// A fold pass: the waiting patient rows (up to `upto`, by arrival), sorted by patient, moved
/// into `audit_patient` a chunk per transaction. Sorted, a chunk's rows share the pages of
/// their patients, so the index is written a page per patient per pass instead of a page per
/// row per commit. Until the pass ends, the rows it moved are in both tables (searches take
/// the union, so nothing shows twice); the last step deletes them from the waiting table. A
/// pass cut short by a crash is done again: moving is idempotent (`INSERT OR IGNORE`).
struct Fold {
    rows: Vec<(String, i64, i64)>,
    next: usize,
    upto: i64,
}

/// Rows of a fold pass moved per transaction of their own (when the trail is quiet).
const FOLD_QUIET_CHUNK: usize = 1_000;

/// The next fold pass: the oldest waiting rows (at most `FOLD_AT`, so reading and sorting
/// them stays short), sorted by patient. None if there are none or they cannot be read.
fn start_fold(conn: &Connection) -> Option<Fold> {
    let read = || -> rusqlite::Result<Fold> {
        let upto: i64 = conn.query_row(
            "SELECT coalesce(min(max(rowid), min(rowid) + ?1 - 1), 0) FROM audit_patient_recent",
            [FOLD_AT as i64],
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(
            "SELECT patient_id, recorded, seq FROM audit_patient_recent WHERE rowid <= ?1",
        )?;
        let mut rows = stmt
            .query_map([upto], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<(String, i64, i64)>>>()?;
        rows.sort_unstable();
        Ok(Fold {
            rows,
            next: 0,
            upto,
        })
    };
    match read() {
        Ok(pass) if !pass.rows.is_empty() => Some(pass),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the audit trail's patient index could not be folded");
            None
        }
    }
}

/// Moves the pass's next `chunk` rows into `audit_patient` inside `tx`, and when they are
/// the last, deletes the pass's rows from the waiting table. Returns where the pass is then.
fn fold_chunk(tx: &Connection, pass: &Fold, chunk: usize) -> rusqlite::Result<usize> {
    let end = (pass.next + chunk).min(pass.rows.len());
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO audit_patient (patient_id, recorded, seq) VALUES (?1, ?2, ?3)",
    )?;
    for (patient, recorded, seq) in &pass.rows[pass.next..end] {
        insert.execute(rusqlite::params![patient, recorded, seq])?;
    }
    if end == pass.rows.len() {
        tx.execute(
            "DELETE FROM audit_patient_recent WHERE rowid <= ?1",
            [pass.upto],
        )?;
    }
    Ok(end)
}

/// After a committed chunk ending at `end`: the pass moves on, or is done.
fn advance(fold: &mut Option<Fold>, end: usize, waiting: &mut usize) {
    if let Some(pass) = fold.as_mut() {
        pass.next = end;
        if end == pass.rows.len() {
            *waiting = waiting.saturating_sub(pass.rows.len());
            *fold = None;
        }
    }
}

/// A chunk of the fold in a transaction of its own, when no records are coming in.
fn fold_step(conn: &mut Connection, fold: &mut Option<Fold>, waiting: &mut usize) {
    if fold.is_none() {
        *fold = start_fold(conn);
    }
    let Some(pass) = fold.as_ref() else {
        return;
    };
    let moved = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .and_then(|tx| {
            let end = fold_chunk(&tx, pass, FOLD_QUIET_CHUNK)?;
            tx.commit()?;
            Ok(end)
        });
    match moved {
        Ok(end) => advance(fold, end, waiting),
        Err(e) => {
            // The rows stay where they are (searches read both tables); the pass starts again.
            tracing::warn!(error = %e, "the audit trail's patient index could not be folded");
            *fold = None;
        }
    }
}

/// What became of the fold chunk that rode in a batch.
enum Folded {
    Nothing,
    /// Committed: the pass is now at this row.
    Moved(usize),
    Failed,
}

/// Commits `jobs` in one transaction. If one job's rows cannot be stored, the batch is done
/// again with a savepoint per job, so the failing job is rolled back alone and does not fail
/// the others. If the commit itself fails (a full disk), every job fails.
fn commit(
    conn: &mut Connection,
    jobs: &[Job],
    fold: Option<&Fold>,
) -> (Vec<std::result::Result<(), String>>, Folded) {
    // Most batches store every row: one transaction, no savepoints (a savepoint copies each
    // page it first changes). The fold's chunk has one, so its failure fails no record.
    let mut folded = Folded::Nothing;
    let all = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in jobs {
            insert_rows(&tx, &job.rows, PatientRows::Appended)?;
        }
        if let Some(pass) = fold {
            // Twice the patient rows this batch adds: the pass keeps ahead of what arrives,
            // and a lone request's commit carries a few rows, not a full chunk.
            let arriving: usize = jobs
                .iter()
                .flat_map(|job| &job.rows)
                .map(|row| row.patients.len())
                .sum();
            tx.execute_batch("SAVEPOINT fold")?;
            match fold_chunk(&tx, pass, (2 * arriving + 16).min(FOLD_CHUNK)) {
                Ok(end) => {
                    tx.execute_batch("RELEASE fold")?;
                    folded = Folded::Moved(end);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the audit trail's patient index could not be folded");
                    tx.execute_batch("ROLLBACK TO fold; RELEASE fold")?;
                    folded = Folded::Failed;
                }
            }
        }
        tx.commit()
    })();
    match all {
        Ok(()) => return (jobs.iter().map(|_| Ok(())).collect(), folded),
        Err(e) if super::error::storage_problem(&e).is_some() => {
            tracing::error!(error = %e, "the audit trail could not be written");
            let failed = jobs
                .iter()
                .map(|_| Err("the audit trail could not be written".to_string()))
                .collect();
            return (failed, Folded::Failed);
        }
        Err(_) => {}
    }
    (commit_each(conn, jobs), Folded::Failed)
}

fn commit_each(conn: &mut Connection, jobs: &[Job]) -> Vec<std::result::Result<(), String>> {
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
            .and_then(|()| insert_rows(&tx, &job.rows, PatientRows::Appended));
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

#[cfg(test)]
mod tests;
