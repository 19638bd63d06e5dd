//! The readers' connection pool. Connections are opened in the thread that asks for one and
//! closed by whoever drops the pool, never on a background thread: a pool whose helper threads
//! could close the last SQLCipher connection while the process exits crashed at exit
//! (r2d2's connection-adding jobs held the pool; measured: 3 crashes in 40 runs of `user list`
//! on an encrypted database).

use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;

type Open = Box<dyn Fn() -> rusqlite::Result<Connection> + Send + Sync>;

pub(crate) struct Pool {
    state: Mutex<State>,
    freed: Condvar,
    max: u32,
    wait: Duration,
    open: Open,
}

struct State {
    idle: Vec<Connection>,
    /// Connections open, idle or lent.
    open: u32,
}

/// Why no connection was had.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("all {0} read connections stayed busy for {1} s")]
    Busy(u32, u64),
    #[error("{0}")]
    Open(#[from] rusqlite::Error),
}

impl Pool {
    /// A pool of at most `max` connections made by `open`; one is opened now, so a database
    /// that cannot be read is said at once.
    pub(crate) fn new(max: u32, wait: Duration, open: Open) -> rusqlite::Result<Arc<Pool>> {
        let first = open()?;
        Ok(Arc::new(Pool {
            state: Mutex::new(State {
                idle: vec![first],
                open: 1,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            wait,
            open,
        }))
    }

    pub(crate) fn max_size(&self) -> u32 {
        self.max
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, a new one while fewer than `max` are open, or the first
    /// one handed back within the pool's wait.
    pub(crate) fn get(self: &Arc<Self>) -> Result<Pooled, PoolError> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.state();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(self.lend(conn));
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return self.open_new();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PoolError::Busy(self.max, self.wait.as_secs()));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// A connection only if one is idle or may be opened now, without waiting.
    pub(crate) fn try_get(self: &Arc<Self>) -> Option<Result<Pooled, PoolError>> {
        let mut state = self.state();
        if let Some(conn) = state.idle.pop() {
            return Some(Ok(self.lend(conn)));
        }
        if state.open < self.max {
            state.open += 1;
            drop(state);
            return Some(self.open_new());
        }
        None
    }

    fn open_new(self: &Arc<Self>) -> Result<Pooled, PoolError> {
        match (self.open)() {
            Ok(conn) => Ok(self.lend(conn)),
            Err(e) => {
                self.state().open -= 1;
                self.freed.notify_one();
                Err(e.into())
            }
        }
    }

    fn lend(self: &Arc<Self>, conn: Connection) -> Pooled {
        Pooled {
            conn: Some(conn),
            pool: self.clone(),
        }
    }
}

/// A lent connection; it goes back to the pool when dropped.
pub struct Pooled {
    /// `Some` from `lend` until `drop` takes it back: only `drop` empties it, and nothing can
    /// dereference a value being dropped.
    conn: Option<Connection>,
    pool: Arc<Pool>,
}

impl Deref for Pooled {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Provably present: `lend` is the only constructor and sets it, the field is private,
        // and only `drop` takes it out, after which no `&self` exists to dereference.
        self.conn
            .as_ref()
            .expect("a lent connection is present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.state().idle.push(conn);
            self.pool.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_reused_capped_and_waited_for() {
        let pool = Pool::new(
            2,
            Duration::from_millis(100),
            Box::new(Connection::open_in_memory),
        )
        .unwrap();
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        assert!(pool.try_get().is_none());
        let started = Instant::now();
        assert!(matches!(pool.get(), Err(PoolError::Busy(2, _))));
        assert!(started.elapsed() >= Duration::from_millis(100));
        drop(a);
        let c = pool.get().unwrap();
        assert_eq!(pool.state().open, 2);
        drop((b, c));
        assert_eq!(pool.state().idle.len(), 2);
    }
}
