//! The store's in-process write queue: one writer at a time, and group commit for the
//! transactions that ask for it.
//!
//! SQLite lets one connection write at a time, and each commit waits for an `fsync` of the
//! WAL (`synchronous = FULL`). Writers that find the lock taken sleep in SQLite's busy
//! handler (1, 2, 5 … up to 100 ms per poll), which made the tail latency of concurrent
//! refreshes; queueing in the process instead, first come first served, removes those
//! sleeps. Queued in turn, every rotation still paid for its own `fsync`, so the last of 8
//! waited for 7 of them: batched jobs ([`WriteQueue::batched`]) therefore share one
//! `BEGIN IMMEDIATE` transaction per batch and one commit. A job's result is delivered
//! only once that commit is done, so nothing is reported that could still be lost. The
//! numbers are in the crate's README.
//!
//! A batched job writes nothing unless it succeeds (it reads before it writes, or undoes
//! what it wrote, under the lock). A job that fails may have written part of its work, so
//! its batch is rolled back whole: the jobs that ran before it are answered with an error
//! (nothing of theirs was stored), the jobs after it go to the next batch. Savepoints per
//! job would avoid that, at two more statements per job — a third of a rotation's.
//!
//! This is a performance measure only: every rule is enforced by SQLite's locking within
//! each job's statements, so processes sharing the file (which wait for each other in the
//! busy handler) stay correct.

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};

use auth_core::StoreError;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnection;
use tokio::sync::{Mutex, MutexGuard, oneshot};

/// The largest number of jobs committed together: a batch holds SQLite's write lock for
/// the time of its statements, which other processes wait out.
const MAX_BATCH: usize = 64;

// The 8 concurrent rotators of the benchmark fit in one batch.
const _: () = assert!(MAX_BATCH >= 8);

/// A boxed future borrowing the connection.
pub(crate) type ConnFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// How a job's result is delivered once its batch is committed, or not.
type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A job of a batch, its result type erased.
trait Job: Send {
    /// Runs the job: its delivery, or `None` when it failed (and was answered with its
    /// error), which rolls the batch back.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> ConnFuture<'c, Option<Deliver>>;

    /// Answers without running.
    fn fail(self: Box<Self>, error: StoreError);
}

/// A job and the channel its caller waits on.
struct Typed<T, F> {
    job: F,
    answer: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> ConnFuture<'c, Result<T, StoreError>>
        + Send
        + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> ConnFuture<'c, Option<Deliver>> {
        let Self { job, answer } = *self;
        Box::pin(async move {
            match job(conn).await {
                Ok(value) => {
                    let deliver = move |committed: Result<(), StoreError>| {
                        // The caller may have stopped waiting; its job ran all the same.
                        let _ = answer.send(committed.map(|()| value));
                    };
                    Some(Box::new(deliver) as Deliver)
                }
                Err(error) => {
                    let _ = answer.send(Err(error));
                    None
                }
            }
        })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.answer.send(Err(error));
    }
}

/// The queue of one store and its clones.
#[derive(Debug)]
pub(crate) struct WriteQueue {
    /// One writer at a time: single-statement writes and whole batches take turns.
    turn: Mutex<()>,
    /// Jobs waiting for a batch, and whether a batch runner is at work.
    pending: SyncMutex<Pending>,
}

#[derive(Default)]
struct Pending {
    jobs: Vec<Box<dyn Job>>,
    running: bool,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("jobs", &self.jobs.len())
            .field("running", &self.running)
            .finish()
    }
}

impl WriteQueue {
    pub(crate) fn new() -> Self {
        Self {
            turn: Mutex::new(()),
            pending: SyncMutex::new(Pending::default()),
        }
    }

    /// Waits for this process's turn to write.
    pub(crate) async fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock().await
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        // Nothing panics while holding it; the data is a plain list either way.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `job` in the next batch: in a `BEGIN IMMEDIATE` transaction shared with the
    /// jobs queued at the same time, which holds SQLite's write lock. The job must write
    /// nothing unless it returns `Ok`; its result comes back after the batch is
    /// committed, or the commit's error.
    ///
    /// The batch runs on a task of its own, so a caller that stops waiting (a client that
    /// went away) neither stops the batch nor fails the other jobs in it; its own job
    /// still runs.
    pub(crate) async fn batched<T, F>(
        self: &Arc<Self>,
        pool: &SqlitePool,
        job: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> ConnFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (answer, receiver) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Typed { job, answer });
        let start = {
            let mut pending = self.pending();
            pending.jobs.push(job);
            !mem::replace(&mut pending.running, true)
        };
        if start {
            tokio::spawn(Arc::clone(self).run(pool.clone()));
        }
        receiver.await.unwrap_or_else(|_| {
            Err(StoreError::unavailable(
                "the write batch stopped before answering",
            ))
        })
    }

    /// Runs batches until no job is left.
    async fn run(self: Arc<Self>, pool: SqlitePool) {
        // Should a batch panic, the next job queued starts a new runner.
        struct Panicked(Arc<WriteQueue>);
        impl Drop for Panicked {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.pending().running = false;
                }
            }
        }
        let _panicked = Panicked(Arc::clone(&self));
        loop {
            let jobs = {
                let mut pending = self.pending();
                if pending.jobs.is_empty() {
                    pending.running = false;
                    return;
                }
                let batch = pending.jobs.len().min(MAX_BATCH);
                let rest = pending.jobs.split_off(batch);
                mem::replace(&mut pending.jobs, rest)
            };
            let turn = self.turn().await;
            let later = run_batch(&pool, jobs).await;
            drop(turn);
            if !later.is_empty() {
                let mut pending = self.pending();
                pending.jobs.splice(0..0, later);
            }
        }
    }
}

/// One transaction for `jobs`; every job's result is delivered after the commit. Returns
/// the jobs left for the next batch when one failed.
async fn run_batch(pool: &SqlitePool, jobs: Vec<Box<dyn Job>>) -> Vec<Box<dyn Job>> {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(error) => {
            let error = Arc::new(error);
            for job in jobs {
                job.fail(StoreError::unavailable(Arc::clone(&error)));
            }
            return Vec::new();
        }
    };
    let mut delivers: Vec<Deliver> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    while let Some(job) = jobs.next() {
        let Some(deliver) = job.run(&mut tx).await else {
            // The failed job may have written part of its work: roll back the batch (sqlx
            // would when the transaction is dropped, later). Nothing of the jobs before it
            // is stored; the jobs after it have not run.
            let _ = tx.rollback().await;
            for deliver in delivers {
                deliver(Err(StoreError::unavailable(
                    "rolled back with another write of the same batch, which failed",
                )));
            }
            return jobs.collect();
        };
        delivers.push(deliver);
    }
    let committed = tx.commit().await.map_err(Arc::new);
    for deliver in delivers {
        deliver(
            committed
                .as_ref()
                .copied()
                .map_err(|error| StoreError::unavailable(Arc::clone(error))),
        );
    }
    Vec::new()
}
