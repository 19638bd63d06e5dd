//! The resource writer and its group commit.
//!
//! SQLite has one writer, and every commit costs a sync to disk, the WAL frames of every page
//! the write touched, and every reader's page cache (a reader drops its cache when it sees the
//! database changed). So writes that arrive while another is being written share its
//! transaction: each runs in a savepoint of its own (a write that fails is undone alone), and
//! the last one in commits for all. Each write is still answered only after that commit: a
//! write is stored, audited and acknowledged, or none of these. When the commit fails (a full
//! disk), every write in the group is told so, and none of them is stored.
//!
//! The writer's connection is also lent, with no group open, for work beside the resources
//! (`Writer::lock_idle`): that commits a group in progress first.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

use super::{ParamIds, StoreError, Tx};

/// Writes in one group at most: a bound on how long the first waits for the last.
const MAX_GROUP: usize = 32;

pub(crate) struct Writer {
    state: Mutex<State>,
    committed: Condvar,
    /// Writes waiting for the connection: while there are some, a finished write leaves the
    /// commit to them.
    arriving: AtomicUsize,
    /// Groups committed and the writes in them, since the store opened.
    pub(crate) groups: AtomicU64,
    pub(crate) grouped: AtomicU64,
}

pub(crate) struct State {
    conn: Connection,
    group: Option<Group>,
    last_id: u64,
    /// Outcomes of committed groups not yet collected by all their waiting members:
    /// group id → (outcome, members still to collect it).
    outcomes: HashMap<u64, (Outcome, usize)>,
}

struct Group {
    id: u64,
    /// Writes stored in the group (in savepoints released into its transaction).
    members: usize,
    /// Members waiting for the commit.
    waiting: usize,
}

type Outcome = Result<(), Failure>;

/// Why a group was not committed, for each of its members.
#[derive(Clone, Debug)]
struct Failure {
    code: Option<rusqlite::ffi::Error>,
    message: String,
}

impl Failure {
    fn of(e: &rusqlite::Error) -> Failure {
        Failure {
            code: e.sqlite_error().copied(),
            message: e.to_string(),
        }
    }

    fn error(&self) -> StoreError {
        let code = self
            .code
            .unwrap_or(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR));
        StoreError::Db(rusqlite::Error::SqliteFailure(
            code,
            Some(self.message.clone()),
        ))
    }
}

impl Deref for State {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl DerefMut for State {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// What became of one write's piece of the group.
enum Piece<T, E> {
    Done(Result<T, E>),
    /// The savepoint could not be undone: the whole group must be.
    Broken(E),
    Panicked(Box<dyn std::any::Any + Send>),
}

impl Writer {
    pub(crate) fn new(conn: Connection) -> Writer {
        Writer {
            state: Mutex::new(State {
                conn,
                group: None,
                last_id: 0,
                outcomes: HashMap::new(),
            }),
            committed: Condvar::new(),
            arriving: AtomicUsize::new(0),
            groups: AtomicU64::new(0),
            grouped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection with no transaction open: a group in progress is committed first.
    pub(crate) fn lock_idle(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        if state.group.is_some() {
            let outcome = commit(&state.conn);
            self.finish(&mut state, outcome);
        }
        state
    }

    /// Runs `f` as one write: stored in full with the writes grouped with it, or not at all.
    /// Returns once the group's commit is durable.
    pub(crate) fn write<T, E: From<StoreError>>(
        &self,
        pids: &ParamIds,
        f: impl FnOnce(&mut Tx) -> Result<T, E>,
    ) -> Result<T, E> {
        self.arriving.fetch_add(1, Ordering::AcqRel);
        let mut state = self.lock();
        self.arriving.fetch_sub(1, Ordering::AcqRel);
        let id = match &state.group {
            Some(group) => group.id,
            None => {
                state
                    .conn
                    .execute_batch("BEGIN IMMEDIATE")
                    .map_err(StoreError::from)?;
                state.last_id += 1;
                let id = state.last_id;
                state.group = Some(Group {
                    id,
                    members: 0,
                    waiting: 0,
                });
                id
            }
        };
        let result = match piece(&state.conn, pids, f) {
            Piece::Done(result) => result,
            Piece::Broken(e) => {
                self.abandon(&mut state);
                return Err(e);
            }
            Piece::Panicked(panic) => {
                self.abandon(&mut state);
                drop(state);
                std::panic::resume_unwind(panic);
            }
        };
        let Some(group) = state.group.as_mut() else {
            // Not reachable: only this thread, holding the lock, closes the group.
            return result;
        };
        if result.is_ok() {
            group.members += 1;
        }
        if self.arriving.load(Ordering::Acquire) > 0 && group.members < MAX_GROUP {
            // Others are about to join: the last of them commits.
            let Ok(value) = result else {
                return result;
            };
            group.waiting += 1;
            loop {
                state = self
                    .committed
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
                if let Some((outcome, left)) = state.outcomes.get_mut(&id) {
                    let outcome = outcome.clone();
                    *left -= 1;
                    if *left == 0 {
                        state.outcomes.remove(&id);
                    }
                    return match outcome {
                        Ok(()) => Ok(value),
                        Err(failure) => Err(failure.error().into()),
                    };
                }
            }
        }
        let members = group.members as u64;
        let outcome = if members == 0 {
            // Nothing in the group was stored.
            let _ = state.conn.execute_batch("ROLLBACK");
            Ok(())
        } else {
            commit(&state.conn)
        };
        if members > 0 && outcome.is_ok() {
            self.groups.fetch_add(1, Ordering::Relaxed);
            self.grouped.fetch_add(members, Ordering::Relaxed);
        }
        self.finish(&mut state, outcome.clone());
        match (result, outcome) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(failure)) => Err(failure.error().into()),
            (Err(e), _) => Err(e),
        }
    }

    /// Closes the group with `outcome` and wakes its waiting members.
    fn finish(&self, state: &mut State, outcome: Outcome) {
        if let Some(group) = state.group.take() {
            if group.waiting > 0 {
                state.outcomes.insert(group.id, (outcome, group.waiting));
            }
            self.committed.notify_all();
        }
    }

    /// Rolls back the whole group after a piece of it could not be undone alone.
    fn abandon(&self, state: &mut State) {
        let _ = state.conn.execute_batch("ROLLBACK");
        let failure = Failure {
            code: None,
            message: "a write grouped with this one failed midway; nothing was stored".into(),
        };
        self.finish(state, Err(failure));
    }
}

/// Runs one write in a savepoint of the group's transaction, with its index rows.
fn piece<T, E: From<StoreError>>(
    conn: &Connection,
    pids: &ParamIds,
    f: impl FnOnce(&mut Tx) -> Result<T, E>,
) -> Piece<T, E> {
    if let Err(e) = conn.execute_batch("SAVEPOINT piece") {
        return Piece::Broken(StoreError::from(e).into());
    }
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut tx = Tx::new(conn, pids);
        let value = f(&mut tx)?;
        tx.flush_index().map_err(E::from)?;
        Ok(value)
    }));
    match ran {
        Ok(Ok(value)) => match conn.execute_batch("RELEASE piece") {
            Ok(()) => Piece::Done(Ok(value)),
            Err(e) => Piece::Broken(StoreError::from(e).into()),
        },
        Ok(Err(e)) => match conn.execute_batch("ROLLBACK TO piece; RELEASE piece") {
            Ok(()) => Piece::Done(Err(e)),
            Err(_) => Piece::Broken(e),
        },
        Err(panic) => Piece::Panicked(panic),
    }
}

/// Commits the open group, counting it as a resource write; rolls it back if that fails.
fn commit(conn: &Connection) -> Outcome {
    // Counted in the database, so a write from another process (an import into a live
    // server's file) also invalidates what readers cached.
    let done = conn
        .execute(
            "UPDATE store_info SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
            [],
        )
        .and_then(|_| conn.execute_batch("COMMIT"));
    done.map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        Failure::of(&e)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use serde_json::json;

    use crate::server::store::{Store, StoreError};

    fn patient(n: usize) -> serde_json::Value {
        json!({"resourceType": "Patient", "name": [{"family": format!("Group{n}")}]})
    }

    fn count(store: &Store, rtype: &str) -> i64 {
        store
            .counts()
            .unwrap()
            .into_iter()
            .find(|(t, _)| t == rtype)
            .map_or(0, |(_, n)| n)
    }

    /// Runs `f(store, t)` on `threads` threads started at the same moment; their answers.
    fn together<T: Send + 'static>(
        store: &Store,
        threads: usize,
        f: impl Fn(&Store, usize) -> T + Send + Sync + 'static,
    ) -> Vec<T> {
        let start = Arc::new(Barrier::new(threads));
        let f = Arc::new(f);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (store, start, f) = (store.clone(), start.clone(), f.clone());
                std::thread::spawn(move || {
                    start.wait();
                    f(&store, t)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    /// Writes from many threads at once: each answered with what was stored, all stored, and
    /// fewer commits than writes.
    #[test]
    fn concurrent_writes_share_commits_and_all_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.db")).unwrap();
        let threads = 8;
        let each = 40;
        let ids: Vec<String> = together(&store, threads, move |store, t| {
            (0..each)
                .map(|i| {
                    store
                        .write(|tx| tx.create(patient(t * each + i), None))
                        .unwrap()
                        .id
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(ids.len(), threads * each);
        let reader = store.reader().unwrap();
        for id in &ids {
            reader.read("Patient", id).unwrap();
        }
        assert_eq!(count(&store, "Patient"), (threads * each) as i64);
        let (groups, writes) = store.write_commits();
        assert_eq!(writes, (threads * each) as u64);
        assert!(groups <= writes);
    }

    /// A write that fails is undone alone: the writes grouped with it are stored.
    #[test]
    fn a_failing_write_in_a_group_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.db")).unwrap();
        let threads = 6;
        let stored = together(&store, threads, |store, t| {
            (0..30)
                .map(|i| {
                    store.write(|tx| {
                        let written = tx.create(patient(i), None)?;
                        if t == 0 {
                            // Stored, then refused: nothing of it may remain.
                            return Err(StoreError::invalid("refused after writing"));
                        }
                        Ok(written)
                    })
                })
                .filter(Result::is_ok)
                .count()
        });
        assert_eq!(stored[0], 0);
        assert!(stored[1..].iter().all(|&n| n == 30));
        assert_eq!(count(&store, "Patient"), ((threads - 1) * 30) as i64);
    }

    /// When the group's commit fails (the database may not grow), every write in it is told
    /// so and none is stored; writes work again once there is room.
    #[test]
    fn a_failed_commit_fails_every_write_in_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.db")).unwrap();
        store.write(|tx| tx.create(patient(0), None)).unwrap();
        let size = std::fs::metadata(dir.path().join("g.db")).unwrap().len();
        store.set_size_limit(Some(size)).unwrap();
        let answers: Vec<_> = together(&store, 4, |store, t| {
            (0..20)
                .map(|i| {
                    let big = json!({"resourceType": "Patient",
                        "name": [{"family": "x".repeat(20_000), "given": [format!("{t}-{i}")]}]});
                    store.write(|tx| tx.create(big, None))
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let acknowledged = answers.iter().filter(|a| a.is_ok()).count() as i64;
        for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
            assert_eq!(refused.status(), 503, "{refused}");
        }
        // Exactly the acknowledged writes are stored.
        assert_eq!(count(&store, "Patient"), 1 + acknowledged);
        store.set_size_limit(None).unwrap();
        store.write(|tx| tx.create(patient(1), None)).unwrap();
        assert_eq!(count(&store, "Patient"), 2 + acknowledged);
    }
}
