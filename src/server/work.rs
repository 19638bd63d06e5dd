//! Admission: at most `workers` requests touch the database at once, each on a blocking
//! thread; a bounded number wait for a turn, for a bounded time. Past either bound the request
//! is answered at once with 503 and `Retry-After`, instead of joining a queue without end
//! (which only grows memory, threads and every other request's wait).
//!
//! A turn is taken for each piece of database work, not for the whole request, so a client
//! that is slow to send its body or read its answer holds no turn meanwhile.
//!
//! Requests that write take their turns in a lane of their own: SQLite has one writer, so
//! writes waiting behind a long one (an import, a big transaction) would otherwise hold every
//! worker and leave none for reads, which never need to wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::response::ApiError;
use crate::fhir::IssueCode;

/// How much work the server takes on; set in `ServerConfig` (`bedside serve --workers`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkLimits {
    /// Requests working on the database at once (each may hold two pooled readers).
    pub workers: usize,
    /// Requests waiting for a worker at most; one more is answered 503 at once.
    pub queue: usize,
    /// The longest a request waits for a worker before it is answered 503.
    pub wait: Duration,
}

impl Default for WorkLimits {
    fn default() -> WorkLimits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        WorkLimits {
            workers: (cores * 4).clamp(4, 64),
            queue: 512,
            wait: Duration::from_secs(3),
        }
    }
}

impl WorkLimits {
    /// Pooled read connections the store needs: a request holds at most two at once (its
    /// reader, and one the gate opens to check a restriction), so twice the workers and
    /// writers can never run out.
    pub fn readers(&self) -> u32 {
        ((self.workers + WRITE_TURNS) * 2).min(256) as u32
    }

    /// Threads the runtime may start for blocking work: the workers, and a few for the
    /// server's own housekeeping.
    pub fn blocking_threads(&self) -> usize {
        self.workers + WRITE_TURNS + 4
    }
}

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_SECS: u16 = 1;

pub struct Work {
    turns: Arc<Semaphore>,
    /// The writers' lane: writes that arrive together share one commit (the store's group
    /// commit), so the lane holds a few; more wait here, holding no thread.
    write_turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: WorkLimits,
}

/// Turns in the writers' lane: at most this many writes in one group commit.
pub const WRITE_TURNS: usize = 6;

impl Work {
    pub fn new(limits: WorkLimits) -> Work {
        Work {
            turns: Arc::new(Semaphore::new(limits.workers.max(1))),
            write_turns: Arc::new(Semaphore::new(WRITE_TURNS)),
            waiting: AtomicUsize::new(0),
            limits,
        }
    }

    /// Runs `f` on a blocking thread once a worker is free, or refuses with 503.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let turn = self.admit(&self.turns).await?;
        Self::on_thread(turn, f).await
    }

    /// `run` for work that fails with an answer of its own.
    pub async fn try_run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.run(f).await?
    }

    /// `run` for the `/auth` routes, which answer a refusal as it is.
    pub async fn run_or_refuse<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, axum::response::Response> {
        use axum::response::IntoResponse;
        self.run(f).await.map_err(IntoResponse::into_response)
    }

    /// `run` for work that writes, in the writers' lane.
    pub async fn run_write<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let turn = self.admit(&self.write_turns).await?;
        Self::on_thread(turn, f).await
    }

    async fn on_thread<T: Send + 'static>(
        turn: OwnedSemaphorePermit,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        // The turn goes with the work: if the client goes away meanwhile, the work still
        // finishes, and the turn is given back only then.
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            f()
        })
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                IssueCode::Exception,
                "the request failed inside the server",
            )
        })
    }

    async fn admit(&self, lane: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(turn) = lane.clone().try_acquire_owned() {
            return Ok(turn);
        }
        let waiting = Waiting::enter(&self.waiting);
        if waiting.ahead >= self.limits.queue {
            return Err(busy());
        }
        match tokio::time::timeout(self.limits.wait, lane.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(busy()),
        }
    }
}

/// One request counted among those waiting, until dropped.
struct Waiting<'a> {
    count: &'a AtomicUsize,
    ahead: usize,
}

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Waiting<'a> {
        let ahead = count.fetch_add(1, Ordering::Relaxed);
        Waiting { count, ahead }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The answer to a request the server has no room for now.
pub fn busy() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        IssueCode::Transient,
        "the server is busy; nothing was done; try again in a moment",
    );
    e.retry_after = Some(RETRY_AFTER_SECS);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_a_request_is_refused_at_once_with_retry_after() {
        let work = Arc::new(Work::new(WorkLimits {
            workers: 1,
            queue: 1,
            wait: Duration::from_secs(30),
        }));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        // One at work, one waiting.
        let busy_worker = {
            let (work, released) = (work.clone(), released.clone());
            tokio::spawn(async move {
                work.run(move || {
                    let _ = released.lock().unwrap().recv();
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let waiter = {
            let work = work.clone();
            tokio::spawn(async move { work.run(|| 7).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        let refused = work.run(|| 0).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.retry_after, Some(RETRY_AFTER_SECS));
        assert!(started.elapsed() < Duration::from_secs(5), "not queued");
        release.send(()).unwrap();
        busy_worker.await.unwrap().unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_that_waits_too_long_is_refused() {
        let work = Arc::new(Work::new(WorkLimits {
            workers: 1,
            queue: 10,
            wait: Duration::from_millis(200),
        }));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = {
            let work = work.clone();
            tokio::spawn(async move {
                work.run(move || {
                    let _ = released.recv();
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = work.run(|| 0).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        release.send(()).unwrap();
        holder.await.unwrap().unwrap();
        assert_eq!(work.run(|| 5).await.unwrap(), 5);
    }
}
