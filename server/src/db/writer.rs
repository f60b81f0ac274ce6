//! The single writer, with group commit.
//!
//! Writes from all requests go to one thread, which takes every write waiting when it is free
//! and runs them together in one transaction, each in its own savepoint: a write that fails is
//! rolled back alone, and the others commit together. A write is answered only after the
//! commit that contains it, so nothing is acknowledged before it is stored; pages that several
//! writes change (the end of a table, the same index leaf) are logged once per batch instead
//! of once per write, and the log is flushed once per batch.
//!
//! SQLite lets one transaction write at a time, so its writes would take turns anyway. Its log
//! is synced by a thread of its own: the writer commits a batch without waiting for the disk
//! (`synchronous = NORMAL`) and goes on with the next, while the syncer makes the log durable
//! and only then answers that batch's writes. A sync covers every batch committed before it,
//! so while one sync runs, the batches committed meanwhile wait for the next. Nothing is
//! acknowledged before it is on disk, as with `synchronous = FULL`, but the writer no longer
//! stands idle during each sync.
//!
//! On PostgreSQL transactions could write side by side, but the writes that matter most do
//! not: every post into a group queues its shares, locking the rows of the members' servers
//! (see `deliveries::enqueue_all`), so posts into one group commit one after another, each
//! waiting for its own flush of the log while holding those rows. One writer per process
//! commits them by the batch instead, and a commit is durable when it returns. (Several writer
//! threads sharing the queue were tried: every post into a group also updates the group's
//! counters (`actor_stats`, kept by a trigger) and its author's, so their batches wait for
//! each other's commits and deadlock: 27 posts/s instead of 1,100.)
//!
//! The inbox's most common write, a post into a group, is done for all of a batch's posts
//! together ([`WriteTogether`]): each step (the authors' standing, the activities' receipts,
//! the posts) is one statement for them all rather than one per post.
//!
//! What a batch's writes queue for delivery is written once for the whole batch, just before
//! it commits: the servers' rows are locked and the outbox rows inserted by a few statements,
//! not by a dozen per write (each a round trip to PostgreSQL). So are the notifications they
//! send other processes ([`notify_at_commit`]) and the search for replies that arrived before
//! the posts they stored (`posts::adopt_early_replies`): work a write leaves for the end of
//! its batch ([`leave_for_batch`]), dropped if the write fails.

use super::AnyConnection;
use super::deliveries::{self, Enqueued};
use super::posts;
use crate::Error;
use diesel::QueryResult;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use std::any::{Any, TypeId};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use tokio::sync::{mpsc, oneshot};

/// Most writes committed together.
const MAX_BATCH: usize = 256;

/// How many writes may wait for the writer before callers wait to hand theirs over.
const QUEUE: usize = 4096;

/// A write handed to the writer.
struct Job {
    work: Work,
    /// The delivery queue's own bookkeeping ([`Writer::write_bookkeeping`]): run after the
    /// other writes of its batch.
    bookkeeping: bool,
}

enum Work {
    /// Runs in its savepoint and returns what it leaves for the end of its batch and what to
    /// do once the batch has committed (or failed to).
    Alone(Box<dyn FnOnce(&mut AnyConnection) -> Ran + Send>),
    /// Done with the other writes of its kind in the batch ([`WriteTogether`]).
    Together(Joining),
}

impl Job {
    /// The kind of write, for those done together.
    fn kind(&self) -> Option<TypeId> {
        match &self.work {
            Work::Alone(_) => None,
            Work::Together(joining) => Some(joining.kind),
        }
    }
}

/// Writes of one kind that the writer does all at once when several wait, in a few
/// statements for them all instead of a few for each: on PostgreSQL each statement is a round
/// trip that costs both sides about as much CPU as the work it does.
pub trait WriteTogether: Sized + Send + 'static {
    type Output: Send + 'static;

    /// Writes `all`, giving one result per write, in order. A write refused must have changed
    /// nothing. If the whole fails, what it did is undone and each write is then done alone
    /// (as a slice of one).
    fn write_all(
        conn: &mut AnyConnection,
        all: &[Self],
    ) -> Result<Vec<Result<Self::Output, Error>>, Error>;
}

/// A [`WriteTogether`] write waiting in a batch, its type hidden so that the batch holds
/// writes of every kind.
struct Joining {
    kind: TypeId,
    /// A `Pending<W>` for the `W` of `kind`.
    pending: Hidden,
    /// [`write_together::<W>`](write_together).
    run: fn(&mut AnyConnection, &mut Savepoint, Vec<Hidden>) -> Result<Joined, String>,
}

/// A `Pending<W>`, of any `W`.
type Hidden = Box<dyn Any + Send>;

/// A write of kind `W` and where its result goes.
struct Pending<W: WriteTogether> {
    write: W,
    answer: oneshot::Sender<Result<W::Output, Error>>,
}

/// Writes done together: how to answer each, and what they leave for the end of the batch.
struct Joined {
    answers: Vec<Answer>,
    left: LeftForBatch,
}

/// A write that ran, with what it leaves for the end of its batch.
struct Ran {
    /// Whether it failed: what it changed is rolled back to the savepoint before it.
    failed: bool,
    left: LeftForBatch,
    answer: Answer,
}

/// What writes leave for the end of their batch, done for all of them at once just before
/// the commit: a few statements instead of several per write.
#[derive(Default)]
struct LeftForBatch {
    /// The deliveries queued.
    queued: Vec<Enqueued>,
    /// The notifications sent to other processes.
    notices: Vec<Notice>,
    /// The posts stored, whose early replies are looked for.
    parents: Vec<posts::Parent>,
}

impl LeftForBatch {
    /// Runs `work`, collecting what it leaves for the end of its batch.
    fn collect<R>(work: impl FnOnce() -> R) -> (R, Self) {
        let (((result, parents), notices), queued) = holding(&deliveries::HELD, || {
            holding(&NOTICES, || holding(&posts::PARENTS, work))
        });
        let left = Self {
            queued,
            notices,
            parents,
        };
        (result, left)
    }

    fn extend(&mut self, other: Self) {
        self.queued.extend(other.queued);
        self.notices.extend(other.notices);
        self.parents.extend(other.parents);
    }

    /// Does it all, in the batch's transaction; names the part that failed.
    fn run(self, conn: &mut AnyConnection) -> Result<(), String> {
        posts::adopt_replies(conn, &self.parents)
            .map_err(|e| format!("linking early replies: {e}"))?;
        // The receiving servers' rows are locked from here to the commit only.
        deliveries::enqueue_all(conn, &self.queued)
            .map_err(|e| format!("queueing deliveries: {e}"))?;
        send_notices(conn, self.notices).map_err(|e| format!("sending notifications: {e}"))
    }
}

/// An item to send to the processes listening on a PostgreSQL channel when its write commits.
#[derive(Debug)]
struct Notice {
    channel: &'static str,
    item: String,
}

/// Largest notification sent: PostgreSQL refuses a payload of 8,000 bytes or more.
const MAX_NOTICE: usize = 7_000;

thread_local! {
    /// The notices of the write running on this thread, not yet sent.
    static NOTICES: Held<Notice> = const { std::cell::RefCell::new(None) };
}

/// What the writes run on one thread leave for the end of their batch, to be done for the
/// whole batch at once: `Some` while the writer runs a write there.
pub type Held<T> = std::cell::RefCell<Option<Vec<T>>>;

/// Runs `work`, collecting what it leaves in `held` ([`leave_for_batch`]).
pub fn holding<T: 'static, R>(
    held: &'static std::thread::LocalKey<Held<T>>,
    work: impl FnOnce() -> R,
) -> (R, Vec<T>) {
    let outer = held.with(|h| h.borrow_mut().replace(Vec::new()));
    let result = work();
    let left = held.with(|h| std::mem::replace(&mut *h.borrow_mut(), outer));
    (result, left.unwrap_or_default())
}

/// Leaves `item` for the end of the batch of the write running on this thread; outside the
/// writer, gives it back, to be done at once.
pub fn leave_for_batch<T: 'static>(
    held: &'static std::thread::LocalKey<Held<T>>,
    item: T,
) -> Option<T> {
    held.with(|h| match h.borrow_mut().as_mut() {
        Some(left) => {
            left.push(item);
            None
        }
        None => Some(item),
    })
}

/// Tells the processes listening on `channel` of `item` (a JSON value) once the caller's
/// write commits, never if it rolls back: PostgreSQL delivers a `NOTIFY` at commit. A batch's
/// items go together, as JSON arrays of at most [`MAX_NOTICE`] bytes, each a round trip
/// fewer per write. Nothing is sent on SQLite, whose one process tells its own listeners.
pub fn notify_at_commit(
    conn: &mut AnyConnection,
    channel: &'static str,
    item: String,
) -> QueryResult<()> {
    if !matches!(conn, AnyConnection::Postgresql(_)) {
        return Ok(());
    }
    match leave_for_batch(&NOTICES, Notice { channel, item }) {
        Some(notice) => send_notices(conn, vec![notice]),
        None => Ok(()),
    }
}

/// Sends `notices`, as few notifications per channel as fit them.
fn send_notices(conn: &mut AnyConnection, mut notices: Vec<Notice>) -> QueryResult<()> {
    use diesel::{RunQueryDsl, sql_types::Text};
    let AnyConnection::Postgresql(pg) = conn else {
        return Ok(());
    };
    notices.sort_by_key(|n| n.channel);
    let mut notify = |channel: &str, payload: &mut String| -> QueryResult<()> {
        payload.push(']');
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(channel)
            .bind::<Text, _>(std::mem::take(payload))
            .execute(pg)
            .map(|_| ())
    };
    let mut payload = String::new();
    let mut channel = None;
    for notice in notices {
        if !payload.is_empty()
            && (channel != Some(notice.channel)
                || payload.len() + notice.item.len() + 2 > MAX_NOTICE)
        {
            notify(channel.unwrap_or_default(), &mut payload)?;
        }
        channel = Some(notice.channel);
        payload.push(if payload.is_empty() { '[' } else { ',' });
        payload.push_str(&notice.item);
    }
    if let Some(channel) = channel.filter(|_| !payload.is_empty()) {
        notify(channel, &mut payload)?;
    }
    Ok(())
}

/// Tells a write's caller how its batch ended.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The handle requests use to reach the writer thread.
#[derive(Clone, Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread for the SQLite file `path`, and its syncer; `connect` opens
    /// the writer's connection (again after a write panicked, since dropping a connection is
    /// the sure way to roll its transaction back).
    pub fn sqlite(
        path: PathBuf,
        connect: impl Fn() -> Result<AnyConnection, String> + Send + 'static,
    ) -> Result<Self, Error> {
        let connect = move || {
            let mut conn = connect()?;
            // The syncer syncs the log before any write of a batch is answered.
            conn.batch_execute("PRAGMA synchronous = NORMAL")
                .map_err(|e| e.to_string())?;
            Ok(conn)
        };
        let mut log = path.into_os_string();
        log.push("-wal");
        let (committed, to_sync) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-syncer".into())
            .spawn(move || sync_then_answer(PathBuf::from(log), to_sync))
            .map_err(|e| Error::Internal(format!("starting the SQLite syncer: {e}")))?;
        Self::start(connect, committed)
    }

    /// Starts the writer thread on a PostgreSQL connection of its own, opened by `connect`.
    pub fn postgres(
        connect: impl Fn() -> Result<AnyConnection, String> + Send + 'static,
    ) -> Result<Self, Error> {
        let (committed, answer) = std_mpsc::channel::<Vec<Answer>>();
        // A commit returns once the log is flushed: the batch is answered at once.
        std::thread::Builder::new()
            .name("postgres-answers".into())
            .spawn(move || {
                while let Ok(answers) = answer.recv() {
                    for done in answers {
                        done(Ok(()));
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("starting the writer: {e}")))?;
        Self::start(connect, committed)
    }

    fn start(
        connect: impl Fn() -> Result<AnyConnection, String> + Send + 'static,
        committed: std_mpsc::Sender<Vec<Answer>>,
    ) -> Result<Self, Error> {
        let conn = connect().map_err(Error::Internal)?;
        let (jobs, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("db-writer".into())
            .spawn(move || run(conn, connect, queue, committed))
            .map_err(|e| Error::Internal(format!("starting the database writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in a savepoint of the writer's next transaction; returns its result once
    /// that transaction has committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        self.submit(work, false).await
    }

    /// [`Writer::write`] for the delivery queue's own bookkeeping (a server's deliveries
    /// claimed, done, failed), which takes the queue lock and touches nothing else: run after
    /// the other writes of its batch, so that the batch need not end there (see
    /// [`commit_batch`]).
    pub async fn write_bookkeeping<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        self.submit(work, true).await
    }

    async fn submit<T, F>(&self, work: F, bookkeeping: bool) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, Error>>();
        let work = Box::new(move |conn: &mut AnyConnection| {
            let (result, mut left) = LeftForBatch::collect(|| work(conn));
            let failed = result.is_err();
            if failed {
                // Rolled back with the rest of the write.
                left = LeftForBatch::default();
            }
            Ran {
                failed,
                left,
                answer: answer_once_committed(answer, result),
            }
        });
        self.send(Job {
            work: Work::Alone(work),
            bookkeeping,
        })
        .await?;
        answered
            .await
            .map_err(|_| Error::Internal("the write was not stored".into()))?
    }

    /// Hands `write` to the writer, which does it together with the other writes of its kind
    /// waiting in the same batch ([`WriteTogether`]); returns its result once committed.
    pub async fn write_together<W: WriteTogether>(&self, write: W) -> Result<W::Output, Error> {
        let (answer, answered) = oneshot::channel();
        let joining = Joining {
            kind: TypeId::of::<W>(),
            pending: Box::new(Pending { write, answer }),
            run: write_together::<W>,
        };
        self.send(Job {
            work: Work::Together(joining),
            bookkeeping: false,
        })
        .await?;
        answered
            .await
            .map_err(|_| Error::Internal("the write was not stored".into()))?
    }

    async fn send(&self, job: Job) -> Result<(), Error> {
        self.jobs
            .send(job)
            .await
            .map_err(|_| Error::Internal("the database writer has stopped".into()))
    }
}

/// Tells a write's caller its `result` once its batch has committed, or why it did not.
fn answer_once_committed<T: Send + 'static>(
    answer: oneshot::Sender<Result<T, Error>>,
    result: Result<T, Error>,
) -> Answer {
    Box::new(move |committed: Result<(), String>| {
        let result = match committed {
            Ok(()) => result,
            Err(e) => Err(Error::Internal(e)),
        };
        // The caller may have gone away (a closed connection); the write stands.
        let _ = answer.send(result);
    })
}

/// Does the writes of kind `W` waiting in a batch together, in one savepoint; if that fails,
/// each alone in its own.
fn write_together<W: WriteTogether>(
    conn: &mut AnyConnection,
    savepoint: &mut Savepoint,
    pending: Vec<Hidden>,
) -> Result<Joined, String> {
    let (writes, answers): (Vec<W>, Vec<_>) = pending
        .into_iter()
        .filter_map(|p| p.downcast::<Pending<W>>().ok())
        .map(|p| (p.write, p.answer))
        .unzip();
    let answer_all = |results: Vec<Result<W::Output, Error>>| {
        answers
            .into_iter()
            .zip(results)
            .map(|(answer, result)| answer_once_committed(answer, result))
            .collect()
    };
    savepoint
        .before_write(conn)
        .map_err(|e| format!("marking a write: {e}"))?;
    let (together, left) = LeftForBatch::collect(|| W::write_all(conn, &writes));
    match together {
        Ok(results) if results.len() == writes.len() => {
            return Ok(Joined {
                answers: answer_all(results),
                left,
            });
        }
        Ok(_) => tracing::error!("writes done together gave a result for some only"),
        Err(error) => {
            tracing::warn!(%error, writes = writes.len(), "writes done together failed; each is done alone")
        }
    }
    savepoint
        .after_write(conn, true)
        .map_err(|e| format!("undoing failed writes: {e}"))?;
    let mut left = LeftForBatch::default();
    let mut results = Vec::with_capacity(writes.len());
    for write in &writes {
        savepoint
            .before_write(conn)
            .map_err(|e| format!("marking a write: {e}"))?;
        let (result, its_left) = LeftForBatch::collect(|| {
            W::write_all(conn, std::slice::from_ref(write))?
                .pop()
                .ok_or_else(|| Error::Internal("a write gave no result".into()))?
        });
        let failed = result.is_err();
        savepoint
            .after_write(conn, failed)
            .map_err(|e| format!("undoing a failed write: {e}"))?;
        if !failed {
            left.extend(its_left);
        }
        results.push(result);
    }
    Ok(Joined {
        answers: answer_all(results),
        left,
    })
}

/// The writer thread: one transaction per batch of waiting writes, until every handle is gone.
fn run(
    mut conn: AnyConnection,
    connect: impl Fn() -> Result<AnyConnection, String>,
    mut queue: mpsc::Receiver<Job>,
    committed: std_mpsc::Sender<Vec<Answer>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // The queue's bookkeeping last, and the writes done together side by side; each part
        // in the order it came (the writes of a batch were sent at the same time, so any
        // order is one they could have arrived in).
        batch.sort_by_key(|job| (job.bookkeeping, job.kind()));
        // Usually in one transaction; see `commit_batch` for when in several.
        while !batch.is_empty() {
            let finished = match commit_batch(&mut conn, &mut batch) {
                Ok(finish) => finish,
                Err(BatchFailed { error, finish }) => {
                    tracing::error!(%error, writes = finish.len(), "a batch of writes was rolled back");
                    // A fresh connection: the old one's transaction is rolled back as it closes.
                    match connect() {
                        Ok(fresh) => conn = fresh,
                        Err(e) => {
                            tracing::error!(error = %e, "reopening the database writer's connection")
                        }
                    }
                    for done in finish {
                        done(Err(error.clone()));
                    }
                    continue;
                }
            };
            if let Err(unsent) = committed.send(finished) {
                for done in unsent.0 {
                    done(Err("the database syncer has stopped".into()));
                }
            }
        }
    }
}

/// The syncer thread: syncs the log after each commit, then answers the writes the sync made
/// durable; ends with the writer.
fn sync_then_answer(log: PathBuf, committed: std_mpsc::Receiver<Vec<Answer>>) {
    let mut synced_file = None;
    while let Ok(first) = committed.recv() {
        // Everything committed so far is in the log: one sync covers it all.
        let mut answers = first;
        while let Ok(more) = committed.try_recv() {
            answers.extend(more);
        }
        let synced =
            sync(&log, &mut synced_file).map_err(|e| format!("syncing {}: {e}", log.display()));
        if let Err(error) = &synced {
            tracing::error!(%error, writes = answers.len(), "committed writes may not be durable");
        }
        for done in answers {
            done(synced.clone());
        }
    }
}

/// Syncs the log's data; and its directory too the first time this file (by inode) is seen,
/// since a file is only found after a power cut once its directory entry is on disk.
fn sync(log: &std::path::Path, synced_file: &mut Option<u64>) -> std::io::Result<()> {
    // Opened afresh each time: SQLite deletes the log when its last connection closes.
    let file = std::fs::File::open(log)?;
    file.sync_data()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let inode = file.metadata()?.ino();
        if *synced_file != Some(inode) {
            // A bare file name lives in the working directory.
            let dir = log
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            std::fs::File::open(dir)?.sync_all()?;
            *synced_file = Some(inode);
        }
    }
    Ok(())
}

/// The savepoint that lets a failed write be undone alone. The writer sets it itself, so that
/// between two writes it is released and set again in one round trip to the database, not two
/// (as a transaction nested in the batch's would).
enum Savepoint {
    /// No write ran yet.
    NotSet,
    /// It marks the state before the last write, which stands.
    BeforeLast,
    /// It marks the state now: the last write was rolled back to it.
    Now,
}

impl Savepoint {
    fn before_write(&mut self, conn: &mut AnyConnection) -> QueryResult<()> {
        match self {
            Self::NotSet => conn.batch_execute("SAVEPOINT write")?,
            Self::BeforeLast => conn.batch_execute("RELEASE SAVEPOINT write; SAVEPOINT write")?,
            Self::Now => {}
        }
        *self = Self::BeforeLast;
        Ok(())
    }

    fn after_write(&mut self, conn: &mut AnyConnection, failed: bool) -> QueryResult<()> {
        if failed {
            conn.batch_execute("ROLLBACK TO SAVEPOINT write")?;
            *self = Self::Now;
        }
        Ok(())
    }
}

/// What to tell the writes of a batch that did not commit.
struct BatchFailed {
    error: String,
    finish: Vec<Answer>,
}

/// Runs the writes of `batch` in one transaction and commits it; returns how to answer each
/// write. A write that takes the queue lock (on PostgreSQL: a change of the federation policy,
/// an admin's retry of a server) is the last of its transaction but for the bookkeeping after
/// it, and the other writes after it stay in `batch` for the next: a transaction holding that
/// lock must not go on to wait for rows that another process's batch holds while it waits
/// for the lock (see `deliveries::lock_queue`). The bookkeeping touches the queue alone.
fn commit_batch(
    conn: &mut AnyConnection,
    batch: &mut Vec<Job>,
) -> Result<Vec<Answer>, BatchFailed> {
    let failed = |error: String, finish| BatchFailed { error, finish };
    let begun = match &mut *conn {
        // Immediate: the write lock is taken now, not by the first write of the batch.
        AnyConnection::Sqlite(lite) => {
            AnsiTransactionManager::begin_transaction_sql(&mut *lite, "BEGIN IMMEDIATE")
        }
        AnyConnection::Postgresql(pg) => AnsiTransactionManager::begin_transaction(&mut *pg),
    };
    if let Err(e) = begun {
        // Dropping the jobs unrun tells each caller its write was not stored.
        batch.clear();
        return Err(failed(format!("starting a write: {e}"), Vec::new()));
    }
    deliveries::forget_queue_lock();
    let actor_changes = super::actors::changes();
    let mut finish = Vec::with_capacity(batch.len());
    let mut left = LeftForBatch::default();
    let mut savepoint = Savepoint::NotSet;
    let mut jobs = std::mem::take(batch).into_iter();
    while let Some(job) = jobs.next() {
        // Writes done together set their savepoints themselves.
        if matches!(job.work, Work::Alone(_))
            && let Err(e) = savepoint.before_write(conn)
        {
            batch.push(job);
            batch.extend(jobs);
            return Err(failed(format!("marking a write: {e}"), finish));
        }
        let ran = match job.work {
            Work::Alone(work) => catch_unwind(AssertUnwindSafe(|| work(&mut *conn))).map(|ran| {
                let rolled_back = ran.failed;
                left.extend(ran.left);
                finish.push(ran.answer);
                savepoint
                    .after_write(conn, rolled_back)
                    .map_err(|e| format!("undoing a failed write: {e}"))
            }),
            Work::Together(first) => {
                let mut pending = vec![first.pending];
                while jobs.as_slice().first().and_then(Job::kind) == Some(first.kind) {
                    if let Some(Job {
                        work: Work::Together(next),
                        ..
                    }) = jobs.next()
                    {
                        pending.push(next.pending);
                    }
                }
                catch_unwind(AssertUnwindSafe(|| {
                    (first.run)(&mut *conn, &mut savepoint, pending)
                }))
                .map(|joined| {
                    joined.map(|joined| {
                        left.extend(joined.left);
                        finish.extend(joined.answers);
                    })
                })
            }
        };
        match ran {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                batch.extend(jobs);
                return Err(failed(error, finish));
            }
            // The savepoint of the write that panicked is still open: nothing in this
            // transaction can be trusted to commit. The writes not run yet go to the next.
            Err(_) => {
                batch.extend(jobs);
                return Err(failed("a database write panicked".into(), finish));
            }
        }
        if deliveries::took_queue_lock() && jobs.as_slice().first().is_some_and(|j| !j.bookkeeping)
        {
            break;
        }
    }
    batch.extend(jobs);
    if let Err(error) = left.run(conn) {
        return Err(failed(error, finish));
    }
    let committed = match &mut *conn {
        AnyConnection::Sqlite(lite) => AnsiTransactionManager::commit_transaction(&mut *lite),
        AnyConnection::Postgresql(pg) => AnsiTransactionManager::commit_transaction(&mut *pg),
    };
    super::actors::recommit_changes(actor_changes);
    match committed {
        Ok(()) => Ok(finish),
        Err(e) => Err(failed(format!("committing: {e}"), finish)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::{Connection, RunQueryDsl, connection::SimpleConnection, sqlite::SqliteConnection};

    fn writer_on_new_file() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("w.db").to_string_lossy().into_owned();
        let connect = move || {
            let mut conn = SqliteConnection::establish(&path).map_err(|e| e.to_string())?;
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS t (x INTEGER);",
            )
            .map_err(|e| e.to_string())?;
            Ok(AnyConnection::Sqlite(conn))
        };
        let writer =
            Writer::sqlite(dir.path().join("w.db"), connect).unwrap_or_else(|e| panic!("{e}"));
        (dir, writer)
    }

    fn count(writer: &Writer) -> impl std::future::Future<Output = Result<i64, Error>> + '_ {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        writer.write(|conn| {
            let rows: Vec<Count> = diesel::sql_query("SELECT COUNT(*) AS n FROM t").load(conn)?;
            Ok(rows.first().map_or(0, |c| c.n))
        })
    }

    fn insert(conn: &mut AnyConnection, x: i64) -> Result<(), Error> {
        diesel::sql_query(format!("INSERT INTO t (x) VALUES ({x})")).execute(conn)?;
        Ok(())
    }

    /// Writes sent together share transactions; one that fails is undone alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_rolled_back_alone() {
        let (_dir, writer) = writer_on_new_file();
        let writes = (0..100).map(|i| {
            let writer = writer.clone();
            async move {
                writer
                    .write(move |conn| {
                        insert(conn, i)?;
                        if i % 10 == 0 {
                            return Err(Error::Forbidden("refused".into()));
                        }
                        Ok(())
                    })
                    .await
            }
        });
        let results = futures::future::join_all(writes).await;
        let refused = results.iter().filter(|r| r.is_err()).count();
        assert_eq!(refused, 10);
        assert_eq!(count(&writer).await.ok(), Some(90));
    }

    /// Numbers inserted together, each batch in one statement; a negative one is refused, and
    /// a set holding 13 fails as a whole.
    struct Together(i64);

    impl WriteTogether for Together {
        type Output = ();

        fn write_all(
            conn: &mut AnyConnection,
            all: &[Self],
        ) -> Result<Vec<Result<(), Error>>, Error> {
            let taken: Vec<String> = all
                .iter()
                .filter(|t| t.0 >= 0)
                .map(|t| format!("({})", t.0))
                .collect();
            if !taken.is_empty() {
                let sql = format!("INSERT INTO t (x) VALUES {}", taken.join(", "));
                diesel::sql_query(sql).execute(conn)?;
            }
            if all.len() > 1 && all.iter().any(|t| t.0 == 13) {
                return Err(Error::Internal("13 in a set".into()));
            }
            Ok(all
                .iter()
                .map(|t| match t.0 {
                    0.. => Ok(()),
                    _ => Err(Error::Forbidden("negative".into())),
                })
                .collect())
        }
    }

    /// Writes of a kind sent together are done together; one refused fails alone, and when the
    /// set fails, what it wrote is undone and each write is done alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_done_together_fail_alone() {
        let (_dir, writer) = writer_on_new_file();
        // The writer is busy, so that the writes below wait for it together.
        let (started, busy) = std::sync::mpsc::channel();
        let holding = tokio::spawn({
            let writer = writer.clone();
            async move {
                writer
                    .write(move |_| {
                        let _ = started.send(());
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Ok(())
                    })
                    .await
            }
        });
        let _ = tokio::task::spawn_blocking(move || busy.recv()).await;
        let writes = [1, -2, 3, 13, 5].map(|x| {
            let writer = writer.clone();
            async move { writer.write_together(Together(x)).await.is_ok() }
        });
        let results = futures::future::join_all(writes).await;
        assert!(matches!(holding.await, Ok(Ok(()))));
        assert_eq!(results, [true, false, true, true, true]);
        assert_eq!(
            count(&writer).await.ok(),
            Some(4),
            "1, 3, 13 and 5, once each"
        );
    }

    /// A write that panics fails its batch, and the writer goes on with the next.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_does_not_stop_the_writer() {
        let (_dir, writer) = writer_on_new_file();
        let panicked = writer
            .write(|conn| -> Result<(), Error> {
                insert(conn, 1)?;
                panic!("a bug in a write");
            })
            .await;
        assert!(panicked.is_err());
        assert!(writer.write(|conn| insert(conn, 2)).await.is_ok());
        assert_eq!(
            count(&writer).await.ok(),
            Some(1),
            "only the second write stands"
        );
    }
}
