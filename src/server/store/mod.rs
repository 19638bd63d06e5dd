//! The FHIR resource store: SQLite in WAL mode, one writer connection behind a lock and a pool
//! of readers, so many readers and one writer never see "database is locked".

pub mod backup;
mod error;
mod group;
pub mod key;
mod lock;
mod pool;
mod read;
mod schema;
pub mod search;
mod setup;
mod trail;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

pub use error::{Result, StoreError};
pub use key::DbKey;
pub(crate) use read::read_current;
pub use read::{HistoryEntry, HistoryScope, Page, Row, Within};
pub use search::{Found, Query, Scope};
pub use trail::{AuditRow, append_to_trail, trail_path};
pub use write::{Tx, Written};

use setup::{configure, explain_open, init_schema, load_param_ids};

use crate::fhir::RESOURCE_TYPES;
use crate::fhir::params::{Param, params};

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Pooled read connections of a store opened with `Store::open`.
pub const DEFAULT_READERS: u32 = 16;
/// The writer's page cache while serving, in KiB (negative: SQLite's unit for KiB).
const WRITER_CACHE_KIB: i64 = -64_000;
/// Bumped whenever index extraction changes meaning, so existing databases are reindexed.
const INDEX_VERSION: u32 = 6;

/// A handle to one database; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// The key the database and its trail are encrypted with (none: plain files).
    key: Option<DbKey>,
    writer: group::Writer,
    readers: Arc<pool::Pool>,
    /// The audit records of requests that write no resource (see `trail.rs`).
    trail: trail::Trail,
    pids: ParamIds,
    /// Recent `$everything` member listings, so paging a large chart does not list its
    /// compartment again for every page.
    listings: Mutex<Vec<Listing>>,
    /// A search's time limit on a reader, in ns (0: the default).
    search_ns: std::sync::atomic::AtomicU64,
}

/// Row ids of one `$everything` listing, valid while the database's write generation is
/// unchanged.
struct Listing {
    key: String,
    generation: i64,
    rids: Arc<Vec<i64>>,
}

/// Listings kept (one per chart being paged through).
const LISTINGS_KEPT: usize = 16;

/// The database ids of the search parameters, keyed by the registry entry's address (the
/// registry is built once and never freed, so each entry has exactly one). An alias has the
/// ids of the parameters whose rows answer it.
pub(crate) struct ParamIds(HashMap<usize, Vec<i64>>);

impl ParamIds {
    /// The id of a parameter with rows of its own (what index rows are written under).
    pub(crate) fn get(&self, param: &'static Param) -> i64 {
        // Every registry entry is given an id when the store opens.
        self.0[&(param as *const Param as usize)][0]
    }

    /// The ids whose rows answer `param`.
    pub(crate) fn of(&self, param: &'static Param) -> Pids {
        Pids(self.0[&(param as *const Param as usize)].clone())
    }
}

/// The parameter ids whose index rows answer one search parameter (one, or an alias's
/// several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pids(Vec<i64>);

impl Pids {
    /// An SQL test of the column `col` (`x.pid = 5`, `pid IN (5,7)`); the ids are the
    /// store's own integers, never text from a request.
    pub(crate) fn test(&self, col: &str) -> String {
        match self.0.as_slice() {
            [one] => format!("{col} = {one}"),
            many => format!(
                "{col} IN ({})",
                many.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path`, with `DEFAULT_READERS` pooled
    /// read connections at most.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with_readers(path, DEFAULT_READERS)
    }

    /// `open` with at most `readers` pooled read connections (a server with more workers needs
    /// more; see `server::WorkLimits::readers`).
    pub fn open_with_readers(path: &Path, readers: u32) -> Result<Store> {
        Store::open_keyed(path, readers, None)
    }

    /// `open_with_readers` for a database encrypted with `key` (see `key.rs`); a new database
    /// is created encrypted. `None` opens a plain database.
    pub fn open_keyed(path: &Path, readers: u32, key: Option<DbKey>) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                // A folder made for the database is private; one the user chose is left as is.
                crate::files::private_dir(dir).map_err(|e| {
                    StoreError::invalid(format!("cannot create folder {}: {e}", dir.display()))
                })?;
            }
        }
        // The database holds patient data, password hashes and sealed secrets: 0600, and
        // SQLite gives its -wal and -shm files the mode of the database file.
        crate::files::private_file(path)
            .map_err(|e| StoreError::invalid(format!("cannot create {}: {e}", path.display())))?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            let _ = crate::files::make_private(Path::new(&side));
        }
        let unlock = {
            let key = key.clone();
            move |c: &Connection| key::unlock(c, key.as_ref()).and_then(|()| configure(c))
        };
        let opened = (|| {
            let mut writer = Connection::open(path)?;
            unlock(&writer)?;
            // 8 KiB pages: measured 15-20% faster bulk loads than 4 KiB (fewer splits,
            // shallower trees). Only takes effect on a new database, before it switches to WAL.
            writer.pragma_update(None, "page_size", 8192)?;
            writer.pragma_update(None, "journal_mode", "WAL")?;
            // The writer indexes every resource it stores; a larger cache keeps index pages
            // hot.
            writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
            init_schema(&mut writer)?;
            let pids = load_param_ids(&mut writer)?;
            let trail = trail::Trail::open(path, &unlock)?;
            Ok((writer, pids, trail))
        })();
        let (writer, pids, trail) = opened.map_err(|e| explain_open(path, key.as_ref(), e))?;
        let trail_file = trail.path().to_path_buf();
        let reader_key = key.clone();
        let db_path = path.to_path_buf();
        let open_reader = move || -> rusqlite::Result<Connection> {
            let c = Connection::open(&db_path)?;
            key::unlock(&c, reader_key.as_ref())?;
            configure(&c)?;
            // The trail is encrypted (or not) as the database is.
            DbKey::attach(&c, &trail_file, "trail", reader_key.as_ref())?;
            // No memory map: measured no faster under load, and each reader's map of the file
            // counted in the server's RSS again (1.8 GB for 16 readers of a 167 MB database).
            c.pragma_update(None, "query_only", true)?;
            Ok(c)
        };
        let readers = pool::Pool::new(readers.max(2), BUSY_TIMEOUT, Box::new(open_reader))
            .map_err(|e| explain_open(path, key.as_ref(), e.into()))?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                key,
                writer: group::Writer::new(writer),
                readers,
                trail,
                pids: ParamIds(pids),
                listings: Mutex::new(Vec::new()),
                search_ns: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The key the database is encrypted with, if it is.
    pub fn key(&self) -> Option<&DbKey> {
        self.inner.key.as_ref()
    }

    /// Caps the database at `bytes` (None: no cap but the disk's). A write that would grow it
    /// past the cap fails as if the disk were full: nothing of it is stored, reads go on, and
    /// writes work again once the cap is raised or space is freed (no restart).
    pub fn set_size_limit(&self, bytes: Option<u64>) -> Result<()> {
        let conn = self.inner.writer.lock_idle();
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = match bytes {
            Some(bytes) => (bytes as i64 / page_size.max(512)).max(1),
            None => 0xFFFF_FFFE,
        };
        // SQLite never lowers the cap below the pages in use; the answer is the cap set.
        let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })?;
        Ok(())
    }

    /// The most pooled read connections this store opens.
    pub fn max_readers(&self) -> u32 {
        self.inner.readers.max_size()
    }

    /// Runs `f` in one write transaction: all of it is committed, or none of it.
    pub fn write<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.write_with(f)
    }

    /// `write` for a closure with its own error type (the server's refusals): an error from
    /// `f` rolls everything back.
    pub fn write_with<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        // Grouped with the writes arriving meanwhile, one commit for all (see `group.rs`).
        self.inner.writer.write(&self.inner.pids, f)
    }

    pub(crate) fn cached_listing(&self, key: &str, generation: i64) -> Option<Arc<Vec<i64>>> {
        let mut listings = self
            .inner
            .listings
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let pos = listings
            .iter()
            .position(|l| l.key == key && l.generation == generation)?;
        // Most recently used first.
        let hit = listings.remove(pos);
        let rids = hit.rids.clone();
        listings.insert(0, hit);
        Some(rids)
    }

    pub(crate) fn cache_listing(&self, key: String, generation: i64, rids: Arc<Vec<i64>>) {
        let mut listings = self
            .inner
            .listings
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        listings.retain(|l| l.key != key);
        listings.insert(
            0,
            Listing {
                key,
                generation,
                rids,
            },
        );
        listings.truncate(LISTINGS_KEPT);
    }

    /// Queues audit records for the trail's next group commit; the receiver answers once they
    /// are durable, or with why they could not be stored.
    pub fn record_audit(
        &self,
        rows: Vec<AuditRow>,
    ) -> tokio::sync::oneshot::Receiver<std::result::Result<(), String>> {
        self.inner.trail.submit(rows)
    }

    /// The trail's group commits so far: (batches, records).
    pub fn trail_commits(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        let stats = &self.inner.trail.stats;
        (
            stats.batches.load(Ordering::Relaxed),
            stats.records.load(Ordering::Relaxed),
        )
    }

    /// The resource writer's group commits so far: (groups, writes).
    pub fn write_commits(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        let writer = &self.inner.writer;
        (
            writer.groups.load(Ordering::Relaxed),
            writer.grouped.load(Ordering::Relaxed),
        )
    }

    /// How long a search on a reader may run (`search::SEARCH_TIME` unless set).
    pub fn search_time(&self) -> Duration {
        match self
            .inner
            .search_ns
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => search::SEARCH_TIME,
            ns => Duration::from_nanos(ns),
        }
    }

    /// Sets how long a search on a reader may run (the tests shorten it to nothing).
    pub fn set_search_time(&self, limit: Duration) {
        let ns = u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.inner
            .search_ns
            .store(ns, std::sync::atomic::Ordering::Relaxed);
    }

    /// A read-only connection from the pool.
    pub fn reader(&self) -> Result<Reader> {
        Ok(Reader {
            conn: self.inner.readers.get()?,
            store: self.clone(),
        })
    }

    /// Tunes the writer for a bulk load (seed, import): a large page cache and fewer WAL
    /// checkpoints, until the returned guard is dropped. Durability is unchanged: every
    /// transaction still commits to the WAL.
    pub fn bulk_mode(&self) -> Result<BulkMode> {
        self.set_writer_tuning(-128_000, 20_000)?;
        Ok(BulkMode {
            store: self.clone(),
        })
    }

    fn set_writer_tuning(&self, cache_size: i64, autocheckpoint: i64) -> Result<()> {
        let conn = self.inner.writer.lock_idle();
        conn.pragma_update(None, "cache_size", cache_size)?;
        conn.pragma_update(None, "wal_autocheckpoint", autocheckpoint)?;
        Ok(())
    }

    pub(crate) fn pids(&self) -> &ParamIds {
        &self.inner.pids
    }

    /// Refreshes the query planner's statistics (after a bulk load) and checkpoints the WAL.
    pub fn optimize(&self) -> Result<()> {
        let conn = self.inner.writer.lock_idle();
        // A sampled ANALYZE: good enough statistics for the planner in a fraction of the time.
        conn.execute_batch(
            "PRAGMA analysis_limit = 1000; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        Ok(())
    }

    /// Runs `f` in one write transaction over the tables beside the FHIR resources (users,
    /// tokens, the audit trail). It does not count as a resource write, so cached chart
    /// listings stay valid.
    pub fn write_side<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.inner.writer.lock_idle();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a pooled read-only connection.
    pub fn read_side<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let reader = self.reader()?;
        f(&reader.conn)
    }

    /// `read_side` only if a pooled connection is free this moment (`None` otherwise): for a
    /// lookup quick enough to run where waiting for a connection would not be allowed.
    pub fn try_read_side<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Option<Result<T>> {
        match self.inner.readers.try_get()? {
            Ok(conn) => Some(f(&conn)),
            Err(e) => Some(Err(e.into())),
        }
    }

    /// A note the store keeps about itself (e.g. that the demo finished seeding).
    pub fn info(&self, key: &str) -> Result<Option<String>> {
        let reader = self.reader()?;
        Ok(reader
            .conn
            .query_row("SELECT value FROM store_info WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_info(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.conn().execute(
                "INSERT OR REPLACE INTO store_info (key, value) VALUES (?1, ?2)",
                [key, value],
            )?;
            Ok(())
        })
    }

    /// Counts of current (not deleted) resources per type.
    pub fn counts(&self) -> Result<Vec<(String, i64)>> {
        let reader = self.reader()?;
        let mut stmt = reader.conn.prepare(
            "SELECT type, COUNT(*) FROM resource WHERE deleted = 0 GROUP BY type ORDER BY type",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Bulk-load tuning of the writer; dropping it restores the serving settings and hands the
/// large page cache back, so a server started after a seed (the demo) stays small.
pub struct BulkMode {
    store: Store,
}

impl Drop for BulkMode {
    fn drop(&mut self) {
        let _ = self.store.set_writer_tuning(WRITER_CACHE_KIB, 1000);
        let conn = self.store.inner.writer.lock_idle();
        let _ = conn.execute_batch("PRAGMA shrink_memory");
    }
}

/// Reads and searches, in a read-only snapshot or inside a write transaction (which sees its
/// own writes): what the server's gate runs every interaction over.
pub trait Lookup {
    fn current(&mut self, rtype: &str, id: &str) -> Result<Row>;
    fn find(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
        strict: bool,
        scope: &Scope,
    ) -> Result<(Query, Found)>;
    /// The committed snapshot this lookup reads, when it reads one (a reader; not a write
    /// transaction, whose own changes are not committed yet).
    fn snapshot(&self) -> Option<&Reader> {
        None
    }
}

impl Lookup for Reader {
    fn current(&mut self, rtype: &str, id: &str) -> Result<Row> {
        self.read(rtype, id)
    }
    fn find(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
        strict: bool,
        scope: &Scope,
    ) -> Result<(Query, Found)> {
        self.search_in(rtype, params, strict, scope)
    }
    fn snapshot(&self) -> Option<&Reader> {
        Some(self)
    }
}

impl Lookup for Tx<'_> {
    fn current(&mut self, rtype: &str, id: &str) -> Result<Row> {
        self.read(rtype, id)
    }
    fn find(
        &mut self,
        rtype: &str,
        params: &[(String, String)],
        strict: bool,
        scope: &Scope,
    ) -> Result<(Query, Found)> {
        self.search_in(rtype, params, strict, scope)
    }
}

/// A pooled read-only connection; see `read.rs` and `search.rs` for what it answers.
pub struct Reader {
    conn: pool::Pooled,
    store: Store,
}

#[cfg(test)]
mod tests;
