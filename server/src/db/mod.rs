//! Storage on SQLite (the default, embedded) or PostgreSQL, chosen at run time by URL.
//!
//! One pool of [`AnyConnection`]s; blocking diesel work runs on tokio's blocking threads via
//! [`Database::run`]. Statements that differ between the engines stay behind small `match`es
//! on the connection variant, in the model file that needs them.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` adds a bound `LIMIT ?`, and
//! SQLite re-prepares a statement on every run when a bound value feeds its `LIMIT` (a third
//! of the inbox's CPU time, measured, before this was changed).

/// Runs `$body` with `$c` bound to the engine's own connection. Through the multi-engine
/// connection diesel prepares every `INSERT` afresh (it cannot tell whether a value will be
/// `DEFAULT`) and rebuilds the SQL of every other statement to find it in its cache; on the
/// engine's own connection an insert is cached and a query found by its type. Used on the
/// inbox's path, where this cost more than the statements' own work.
macro_rules! on_engine {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}

/// The first `$limit` rows of `$query`, which walks an index in its order: with a `LIMIT` on
/// PostgreSQL, and on SQLite by reading rows only until there are enough, as SQLite prepares
/// a statement with a bound `LIMIT` afresh on every run.
macro_rules! first_rows {
    ($conn:expr, $query:expr, $limit:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql(c) => $query.limit($limit).load(c),
            $crate::db::AnyConnection::Sqlite(c) => {
                let limit = usize::try_from($limit).unwrap_or(0);
                $query
                    .load_iter::<_, diesel::connection::DefaultLoadingMode>(c)?
                    .take(limit)
                    .collect()
            }
        }
    };
}
pub(crate) use first_rows;

pub mod actors;
pub mod announcements;
pub mod audit;
pub mod batch;
pub mod blocks;
pub mod bookmarks;
pub mod conversations;
pub mod copy;
pub mod deliveries;
pub mod exports;
pub mod follows;
mod fragments;
pub mod groups;
pub mod id;
pub mod idempotency;
pub mod invites;
pub mod media;
pub mod notifications;
pub mod oauth;
pub mod pins;
pub mod policy;
pub mod post_edits;
pub mod posts;
pub mod reblogs;
pub mod remote_media;
pub mod reports;
pub mod retired_handles;
pub mod schema;
pub mod search;
pub mod settings;
pub mod snapshot;
pub mod tags;
pub mod time;
pub mod tokens;
pub mod users;
mod writer;

pub use writer::{WriteTogether, notify_at_commit};

use crate::Error;
use diesel::{
    connection::SimpleConnection,
    pg::PgConnection,
    prelude::*,
    r2d2::{self, ManageConnection, Pool, R2D2Connection},
    sqlite::SqliteConnection,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use hearth_federation::protocol::actor::ActorKind;
use std::{path::PathBuf, time::Duration};

/// A connection to either engine.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL, for larger clinics and several server processes.
    Postgresql(PgConnection),
    /// SQLite, embedded, the default.
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Postgresql(_) => "AnyConnection::Postgresql",
            Self::Sqlite(_) => "AnyConnection::Sqlite",
        })
    }
}

impl AnyConnection {
    /// Runs `work` in a transaction that will write. On SQLite it starts with `BEGIN
    /// IMMEDIATE`: a deferred transaction that reads and then writes fails at once with
    /// "database is locked" when another writer got in between, while an immediate one
    /// waits its turn (the busy timeout). Inside a transaction, it is a savepoint.
    pub fn write_transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let Self::Sqlite(lite) = self else {
            return self.transaction(work);
        };
        if AnsiTransactionManager::transaction_manager_status_mut(lite)
            .transaction_depth()?
            .is_some()
        {
            return self.transaction(work);
        }
        AnsiTransactionManager::begin_transaction_sql(&mut *lite, "BEGIN IMMEDIATE")?;
        let result = work(self);
        let Self::Sqlite(lite) = self else {
            return result;
        };
        match result {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(&mut *lite)?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rollback) = AnsiTransactionManager::rollback_transaction(&mut *lite) {
                    tracing::error!(error = %rollback, "rolling back a failed write");
                }
                Err(e)
            }
        }
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Which engine a URL selects, and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

impl Target {
    /// Reads `sqlite://path` or `postgres://...` / `postgresql://...`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(Error::Config("sqlite:// needs a file path".into()));
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(url.to_owned()))
        } else {
            Err(Error::Config(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://...",
                redact(url)
            )))
        }
    }

    /// The URL without any password, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact(url),
        }
    }
}

/// Hides the password in a database URL.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(unparseable URL)".into(),
    }
}

/// Opens connections of the engine the URL names. (diesel's generic `establish` would report
/// every PostgreSQL failure as an invalid URL.)
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: Target,
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(String);

impl ConnectionManager {
    /// Opens a connection to the target engine, set up as Hearth needs it.
    fn open(&self) -> Result<AnyConnection, ConnectError> {
        match &self.target {
            Target::Sqlite(path) => {
                let path = path
                    .to_str()
                    .ok_or_else(|| ConnectError("non-UTF-8 path".into()))?;
                let mut conn =
                    SqliteConnection::establish(path).map_err(|e| ConnectError(e.to_string()))?;
                // WAL lets readers run beside the writer; `synchronous = FULL` syncs the log at
                // every commit, so what was acknowledged survives a power cut too (the writer
                // thread leaves that sync to a thread of its own: see `writer`); the busy
                // timeout makes writers queue instead of failing; foreign keys are off in
                // SQLite unless asked for.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| ConnectError(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(AnyConnection::Postgresql)
                .map_err(|e| ConnectError(e.to_string().trim().to_owned())),
        }
    }
}

/// A pooled connection, with when it was last handed back: one handed back a moment ago is
/// taken again without the round trip that checks it.
#[derive(Debug)]
pub struct Pooled {
    conn: AnyConnection,
    returned: Option<std::time::Instant>,
}

/// A connection back in the pool for less than this is not checked again when taken: under
/// load every connection is reused within milliseconds, and that check was a statement in
/// four of an inbox POST's (measured on PostgreSQL). One left idle longer (the server may
/// have restarted meanwhile) is checked.
const RECENTLY_USED: Duration = Duration::from_secs(1);

impl std::ops::Deref for Pooled {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = ConnectError;

    fn connect(&self) -> Result<Pooled, ConnectError> {
        Ok(Pooled {
            conn: self.open()?,
            returned: None,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), ConnectError> {
        // A file SQLite opened cannot go away under a connection; a PostgreSQL connection can
        // drop while it waits in the pool.
        if matches!(self.target, Target::Sqlite(_))
            || pooled
                .returned
                .is_some_and(|at| at.elapsed() < RECENTLY_USED)
        {
            return Ok(());
        }
        pooled.conn.ping().map_err(|e| ConnectError(e.to_string()))
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        // Called as the connection goes back to the pool.
        pooled.returned = Some(std::time::Instant::now());
        pooled.conn.is_broken()
    }
}

/// Connections of the pool: checked out, idle, and the most it opens. (On SQLite the writer
/// thread's connection is its own, outside the pool.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// Checked out by work running now.
    pub in_use: u32,
    /// Open and waiting for work.
    pub idle: u32,
    /// The pool's size.
    pub max: u32,
}

/// The instance's database: a pool of connections to one engine.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    target: Target,
    /// One permit per pooled connection: work waits for a connection here, asynchronously,
    /// rather than on a blocking thread (which a burst of requests would multiply).
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    /// This process's writes go to one thread, which commits them in batches (see
    /// [`writer`]): on SQLite, rather than taking turns in its busy handler, which polls with
    /// sleeps of up to 100 ms; on PostgreSQL, rather than each waiting for its own flush.
    writer: writer::Writer,
    /// Actors read in the last second (see [`actors::Recent`]).
    recent_actors: actors::Recent,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Database({})", self.target.describe())
    }
}

impl Database {
    /// Connects, creating the SQLite file (and its directory) if needed. The first connection
    /// is opened here so that a wrong URL fails now, naming its real cause.
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, Error> {
        let target = Target::parse(url)?;
        if let Target::Sqlite(path) = &target
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| Error::DatabaseConnect {
                target: target.describe(),
                cause: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let manager = ConnectionManager {
            target: target.clone(),
        };
        let first = manager.open().map_err(|e| Error::DatabaseConnect {
            target: target.describe(),
            cause: e.0,
        })?;
        drop(first);
        let connect = {
            let manager = manager.clone();
            move || manager.open().map_err(|e| e.0)
        };
        let writer = match &target {
            Target::Sqlite(path) => writer::Writer::sqlite(path.clone(), connect)?,
            Target::Postgres(_) => writer::Writer::postgres(connect)?,
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            // No idle connections kept on purpose: r2d2 opens them on background threads, and
            // one still opening (a TLS handshake inside libpq) when a CLI command exits races
            // OpenSSL's exit-time cleanup and crashes the process.
            .min_idle(Some(0))
            // Checked out as `ConnectionManager::is_valid` says: only where it is worth a
            // round trip.
            .test_on_check_out(true)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| Error::DatabaseConnect {
                target: target.describe(),
                cause: e.to_string(),
            })?;
        Ok(Self {
            pool,
            target,
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(pool_size as usize)),
            writer,
            recent_actors: actors::Recent::default(),
        })
    }

    /// Which engine and database this is, without credentials.
    pub fn describe(&self) -> String {
        self.target.describe()
    }

    /// True for PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.target, Target::Postgres(_))
    }

    /// A PostgreSQL connection of its own, outside the pool, for a task that holds one for
    /// long (listening for notifications). An error on SQLite.
    pub fn dedicated_postgres(&self) -> Result<PgConnection, Error> {
        let Target::Postgres(url) = &self.target else {
            return Err(Error::Internal("not a PostgreSQL database".into()));
        };
        PgConnection::establish(url).map_err(|e| Error::DatabaseConnect {
            target: self.target.describe(),
            cause: e.to_string().trim().to_owned(),
        })
    }

    /// Runs blocking database work off the async threads.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(format!("database permits: {e}")))?;
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get()?;
            let before = actors::changes();
            let done = work(&mut conn);
            actors::recommit_changes(before);
            done
        })
        .await?
    }

    /// The actor `ap_id` ([`actors::by_ap_id`]), read within the last second or now: every
    /// inbox POST reads its sender (see [`actors::Recent`]).
    pub async fn actor_by_ap_id(&self, ap_id: &str) -> Result<Option<actors::ActorRow>, Error> {
        let key = actors::RecentKey::ApId(ap_id.to_owned());
        let ap_id = ap_id.to_owned();
        self.recent_actor(key, move |conn| actors::by_ap_id(conn, &ap_id))
            .await
    }

    /// The local actor of `kind` with this handle ([`actors::local_by_username`]), read
    /// within the last second or now: every inbox POST reads its inbox's owner.
    pub async fn local_actor(
        &self,
        username: &str,
        kind: ActorKind,
    ) -> Result<Option<actors::ActorRow>, Error> {
        let key = actors::RecentKey::Local(kind.as_str(), username.to_ascii_lowercase());
        let username = username.to_owned();
        self.recent_actor(key, move |conn| {
            actors::local_by_username(conn, &username, Some(kind))
        })
        .await
    }

    async fn recent_actor(
        &self,
        key: actors::RecentKey,
        read: impl FnOnce(&mut AnyConnection) -> QueryResult<Option<actors::ActorRow>> + Send + 'static,
    ) -> Result<Option<actors::ActorRow>, Error> {
        if let Some(kept) = self.recent_actors.get(&key) {
            return Ok(Some(kept));
        }
        let read_at = actors::changes();
        let row = self.lookup(move |conn| Ok(read(conn)?)).await?;
        if let Some(row) = &row {
            self.recent_actors.keep(key, read_at, row.clone());
        }
        Ok(row)
    }

    /// Runs a quick indexed lookup, as an inbox POST makes a few of. On SQLite it runs on the
    /// calling thread: handing a lookup of microseconds to a blocking thread cost more than
    /// the lookup (thread switches were 15% of the inbox's CPU, measured). On PostgreSQL,
    /// which waits on the network, it is [`Database::run`]. Not for anything that scans.
    pub async fn lookup<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        if self.is_postgres() {
            return self.run(work).await;
        }
        // A permit first: with one, the pool has a connection free and `get` does not wait.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| Error::Internal(format!("database permits: {e}")))?;
        let mut conn = self.pool.get()?;
        work(&mut conn)
    }

    /// Runs `work` in a write transaction (see [`AnyConnection::write_transaction`]) on the
    /// writer thread, committed together with the other writes waiting then (group commit),
    /// and returns once it is committed.
    pub async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// [`Database::write`] for a write of a kind done together with the others of its kind
    /// waiting then (see [`writer::WriteTogether`]).
    pub async fn write_together<W: writer::WriteTogether>(
        &self,
        write: W,
    ) -> Result<W::Output, Error> {
        self.writer.write_together(write).await
    }

    /// [`Database::write`] for the delivery queue's own bookkeeping, which takes the queue
    /// lock and touches nothing else (see [`writer::Writer::write_bookkeeping`]).
    pub async fn write_bookkeeping<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T, Error> + Send + 'static,
    {
        self.writer.write_bookkeeping(work).await
    }

    /// Applies pending migrations; returns the versions applied. On PostgreSQL an advisory
    /// lock keeps several processes starting together from racing.
    pub async fn migrate(&self) -> Result<Vec<String>, Error> {
        fn names(
            applied: diesel::migration::Result<Vec<diesel::migration::MigrationVersion<'_>>>,
        ) -> Result<Vec<String>, Error> {
            applied
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|e| Error::Migration(e.to_string()))
        }
        self.run(|conn| match conn {
            AnyConnection::Sqlite(c) => names(c.run_pending_migrations(SQLITE_MIGRATIONS)),
            AnyConnection::Postgresql(c) => {
                c.batch_execute("SELECT pg_advisory_lock(7346127301)")?;
                let applied = names(c.run_pending_migrations(POSTGRES_MIGRATIONS));
                c.batch_execute("SELECT pg_advisory_unlock(7346127301)")?;
                applied
            }
        })
        .await
    }

    /// How the pool's connections are used now (for `/metrics`).
    pub fn pool_use(&self) -> PoolUse {
        let state = self.pool.state();
        PoolUse {
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), Error> {
        self.run(|conn| conn.ping().map(|_| ()).map_err(Error::from))
            .await
    }
}

/// The migration versions embedded for each engine, to check that both sets match.
pub fn embedded_migration_versions() -> Result<(Vec<String>, Vec<String>), Error> {
    let versions = |m: &EmbeddedMigrations| -> Result<Vec<String>, Error> {
        let list = diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(m)
            .map_err(|e| Error::Migration(e.to_string()))?;
        Ok(list
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    };
    Ok((
        versions(&SQLITE_MIGRATIONS)?,
        versions(&POSTGRES_MIGRATIONS)?,
    ))
}

/// `text` with LIKE's wildcards (`%`, `_`) and its escape character (`\`) escaped, for
/// patterns built from what people type (used with `ESCAPE '\'`).
pub fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Reports a unique-constraint violation as `Unprocessable` with `message`.
pub fn unique_violation(err: diesel::result::Error, message: &str) -> Error {
    match err {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => Error::Unprocessable(message.to_owned()),
        other => Error::Database(other),
    }
}

#[doc(hidden)]
pub use r2d2::PooledConnection;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_have_the_same_migrations() {
        let (sqlite, postgres) = embedded_migration_versions().unwrap_or_else(|e| panic!("{e}"));
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "every migration needs a SQLite and a PostgreSQL version"
        );
    }

    /// Applies the first `before` migrations, runs `setup`, applies `then` more.
    fn migrate_around<C>(
        conn: &mut C,
        source: fn() -> EmbeddedMigrations,
        (before, setup, then): (usize, &[&str], usize),
    ) where
        C: MigrationHarness<C::Backend> + diesel::connection::SimpleConnection + Connection,
    {
        for _ in 0..before {
            conn.run_next_migration(source())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        for sql in setup {
            conn.batch_execute(sql).unwrap_or_else(|e| panic!("{e}"));
        }
        for _ in 0..then {
            conn.run_next_migration(source())
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// Runs `check` on a new PostgreSQL database of its own, if the tests have a server.
    fn on_fresh_postgresql<T>(check: impl FnOnce(&mut PgConnection) -> T) -> Option<T> {
        on_fresh_postgresql_url(|url| {
            check(&mut PgConnection::establish(url).unwrap_or_else(|e| panic!("{e}")))
        })
    }

    /// Runs `check` with the URL of a new PostgreSQL database of its own, if the tests have
    /// a server.
    fn on_fresh_postgresql_url<T>(check: impl FnOnce(&str) -> T) -> Option<T> {
        let Ok(server) = std::env::var("HEARTH_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("HEARTH_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "HEARTH_REQUIRE_POSTGRES=1 but HEARTH_TEST_POSTGRES_URL is not set"
            );
            return None;
        };
        let name = format!("hearth_migration_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::establish(&server).unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("{e}"));
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("{server} names no database"),
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&url)));
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("{e}"));
        Some(result.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    }

    /// A new SQLite database in a temporary directory (kept while the directory lives).
    fn fresh_sqlite() -> (tempfile::TempDir, SqliteConnection) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let conn = SqliteConnection::establish(&dir.path().join("h.db").to_string_lossy())
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, conn)
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Moved {
        #[diesel(sql_type = diesel::sql_types::Text)]
        host: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        outbox_id: i64,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        body: String,
        #[diesel(sql_type = diesel::sql_types::Timestamp)]
        next_attempt_at: chrono::NaiveDateTime,
    }

    /// The local person who signs the queued activities of the migration tests.
    const ANA: &str = "
        INSERT INTO actors (id, ap_id, kind, username, domain, inbox, public_key_pem, local,
            published_at, last_refreshed_at, created_at, updated_at)
        VALUES (1, 'https://here.example/users/ana', 'Person', 'ana', 'here.example',
            'https://here.example/users/ana/inbox', 'KEY', TRUE, '2026-11-25 08:00:00',
            '2026-11-25 08:00:00', '2026-11-25 08:00:00', '2026-11-25 08:00:00');";

    /// A delivery waiting when the outbox migration (3) runs keeps its place in the queue:
    /// its activity moves to `outbox`, its server gets a `servers` row with its next attempt.
    const WAITING_DELIVERY: &str = "
        INSERT INTO deliveries (id, activity_ap_id, signer_id, inbox, body, attempts,
            next_attempt_at, last_error, created_at)
        VALUES (7, 'https://here.example/activities/follow/1', 1,
            'https://Peer.example:8443/users/gina/inbox', '{\"type\":\"Follow\"}', 2,
            '2026-11-25 10:00:00', 'boom', '2026-11-25 09:00:00');";

    const MOVED: &str = "SELECT d.host, d.outbox_id, d.attempts, o.body, s.next_attempt_at
        FROM deliveries d JOIN outbox o ON o.id = d.outbox_id JOIN servers s ON s.host = d.host";

    fn expected_after_move() -> Vec<Moved> {
        vec![Moved {
            host: "peer.example:8443".into(),
            outbox_id: 7,
            attempts: 2,
            body: r#"{"type":"Follow"}"#.into(),
            next_attempt_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 25)
                .and_then(|d| d.and_hms_opt(10, 0, 0))
                .unwrap_or_default(),
        }]
    }

    #[test]
    fn the_outbox_migration_keeps_waiting_deliveries_on_sqlite() {
        let (_dir, mut conn) = fresh_sqlite();
        migrate_around(
            &mut conn,
            || SQLITE_MIGRATIONS,
            (2, &[ANA, WAITING_DELIVERY], 1),
        );
        let moved: Vec<Moved> = diesel::sql_query(MOVED)
            .load(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(moved, expected_after_move());
    }

    #[test]
    fn the_outbox_migration_keeps_waiting_deliveries_on_postgresql() {
        let moved = on_fresh_postgresql(|conn| {
            migrate_around(
                conn,
                || POSTGRES_MIGRATIONS,
                (2, &[ANA, WAITING_DELIVERY], 1),
            );
            diesel::sql_query(MOVED).load::<Moved>(conn)
        });
        if let Some(moved) = moved {
            assert_eq!(
                moved.unwrap_or_else(|e| panic!("{e}")),
                expected_after_move()
            );
        }
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Logged {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        form: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        hosts: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        inboxes: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        body: String,
    }

    /// The queue when the cursor migration (5) runs: activity 7 waits for two inboxes on one
    /// server and one on another; activity 8 (the activity form of a share) waits for the
    /// second server only, its first server having had it already; activity 9 waits for
    /// nobody any more.
    const QUEUE_BEFORE_CURSORS: &str = "
        INSERT INTO outbox (id, ap_id, signer_id, body, created_at) VALUES
            (7, 'https://here.example/a/7', 1, '{\"n\":7}', '2026-11-25 09:00:00'),
            (8, 'https://here.example/a/8', 1, '{\"n\":8}', '2026-11-25 09:00:01'),
            (9, 'https://here.example/a/9', 1, '{\"n\":9}', '2026-11-25 09:00:02');
        INSERT INTO servers (host, next_attempt_at, failures) VALUES
            ('one.example', '2026-11-25 10:00:00', 2),
            ('two.example:8443', '2026-11-25 09:00:00', 0),
            ('gone.example', '2026-11-25 09:00:00', 0);
        INSERT INTO deliveries (id, outbox_id, inbox, host, form, attempts, created_at) VALUES
            (70, 7, 'https://one.example/u/a/inbox', 'one.example', NULL, 2, '2026-11-25 09:00:00'),
            (71, 7, 'https://one.example/u/b/inbox', 'one.example', NULL, 0, '2026-11-25 09:00:00'),
            (72, 7, 'https://two.example:8443/inbox', 'two.example:8443', NULL, 0, '2026-11-25 09:00:00'),
            (82, 8, 'https://two.example:8443/inbox', 'two.example:8443', 'activity', 0, '2026-11-25 09:00:01');";

    const LOGGED: &str = "SELECT id, form, hosts, inboxes, body FROM outbox ORDER BY id";

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Place {
        #[diesel(sql_type = diesel::sql_types::Text)]
        host: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        delivered_up_to: i64,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        waiting: bool,
    }

    const PLACES: &str = "SELECT host, delivered_up_to, waiting FROM servers ORDER BY host";

    fn check_cursor_migration(logged: Vec<Logged>, places: Vec<Place>) {
        let mut seven = logged.first().map(|l| {
            let mut inboxes: Vec<&str> = l.inboxes.lines().collect();
            inboxes.sort_unstable();
            (l.id, l.form.clone(), l.hosts.clone(), inboxes.join(" "))
        });
        assert_eq!(
            seven.take(),
            Some((
                7,
                None,
                " one.example two.example:8443 ".into(),
                "https://one.example/u/a/inbox https://one.example/u/b/inbox \
                 https://two.example:8443/inbox"
                    .into()
            )),
            "{logged:?}"
        );
        assert_eq!(
            logged.get(1),
            Some(&Logged {
                id: 8,
                form: Some("activity".into()),
                hosts: " two.example:8443 ".into(),
                inboxes: "https://two.example:8443/inbox".into(),
                body: r#"{"n":8}"#.into(),
            })
        );
        assert_eq!(logged.len(), 2, "activity 9 waited for nobody: {logged:?}");
        let place = |host: &str, waiting| Place {
            host: host.into(),
            delivered_up_to: 0,
            waiting,
        };
        assert_eq!(
            places,
            vec![
                place("gone.example", false),
                place("one.example", true),
                place("two.example:8443", true),
            ]
        );
    }

    #[test]
    fn the_cursor_migration_keeps_waiting_deliveries_on_sqlite() {
        let (_dir, mut conn) = fresh_sqlite();
        migrate_around(
            &mut conn,
            || SQLITE_MIGRATIONS,
            (4, &[ANA, QUEUE_BEFORE_CURSORS], 1),
        );
        let logged = diesel::sql_query(LOGGED).load(&mut conn);
        let places = diesel::sql_query(PLACES).load(&mut conn);
        check_cursor_migration(
            logged.unwrap_or_else(|e| panic!("{e}")),
            places.unwrap_or_else(|e| panic!("{e}")),
        );
    }

    #[test]
    fn the_cursor_migration_keeps_waiting_deliveries_on_postgresql() {
        let found = on_fresh_postgresql(|conn| {
            migrate_around(
                conn,
                || POSTGRES_MIGRATIONS,
                (4, &[ANA, QUEUE_BEFORE_CURSORS], 1),
            );
            (
                diesel::sql_query(LOGGED).load(conn),
                diesel::sql_query(PLACES).load(conn),
            )
        });
        if let Some((logged, places)) = found {
            check_cursor_migration(
                logged.unwrap_or_else(|e| panic!("{e}")),
                places.unwrap_or_else(|e| panic!("{e}")),
            );
        }
    }

    #[test]
    fn urls_select_the_engine_and_hide_passwords() {
        assert_eq!(
            Target::parse("sqlite://data/h.db").ok(),
            Some(Target::Sqlite("data/h.db".into()))
        );
        let pg = Target::parse("postgres://hearth:s3cret@db:5432/hearth")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(pg, Target::Postgres(_)));
        assert!(!pg.describe().contains("s3cret"), "{}", pg.describe());
        assert!(Target::parse("mysql://db/hearth").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }

    #[derive(QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }

    /// How SQLite runs `sql` on a freshly migrated database, a step per line.
    fn sqlite_plan(sql: &str) -> Vec<String> {
        let (_dir, mut conn) = fresh_sqlite();
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .unwrap_or_else(|e| panic!("{e}"));
        let plan: Vec<PlanStep> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        plan.into_iter().map(|s| s.detail).collect()
    }

    /// Finding the replies that wait for a new post reads the orphans index, not every post
    /// (each incoming post runs this lookup).
    #[test]
    fn replies_waiting_for_their_parent_are_found_by_index() {
        let plan = sqlite_plan(
            "UPDATE posts SET in_reply_to_id = 1 \
             WHERE posts.in_reply_to_id IS NULL AND posts.in_reply_to_ap_id = 'https://p/1' \
             AND posts.id != 1",
        );
        assert!(
            plan.iter().any(|s| s.contains("USING INDEX posts_orphans")),
            "{plan:?}"
        );
    }

    /// A group's member servers, read for every post it shares, come from the index alone,
    /// in order: neither the follows nor the members' actors are read, nothing is sorted.
    #[test]
    fn a_groups_member_servers_are_read_from_the_index() {
        // The query of `follows::remote_inboxes`.
        let plan = sqlite_plan(
            "SELECT DISTINCT follows.delivery_inbox FROM follows \
             WHERE follows.target_id = 7 AND follows.accepted = 1 \
             AND follows.delivery_inbox IS NOT NULL ORDER BY follows.delivery_inbox",
        );
        assert_eq!(
            plan,
            ["SEARCH follows USING COVERING INDEX follows_audience \
              (target_id=? AND accepted=? AND delivery_inbox>?)"],
        );
    }

    /// A local person or group is found by name through an index, not by reading every
    /// actor this instance knows (each inbox POST and actor document looks one up).
    #[test]
    fn local_actors_are_found_by_name_through_the_index() {
        // The query of `actors::local_by_username` (which reads the whole row; ids stand in here),
        // as diesel writes it: people waiting for approval are left out by a look at their
        // account's primary key, not by reading the accounts.
        let plan = sqlite_plan(
            "SELECT actors.id FROM (actors LEFT OUTER JOIN users \
             ON (users.actor_id = actors.id)) \
             WHERE ((((users.approved IS NULL) OR (users.approved = 1)) \
             AND (actors.local = 1)) AND (actors.username = 'care')) AND (actors.kind = 'Group')",
        );
        assert_eq!(
            plan,
            [
                "SEARCH actors USING INDEX actors_username (username=? AND local=?)",
                "SEARCH users USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN"
            ],
        );
    }

    /// A post's likes and the posts mentioning someone are read by index too.
    #[test]
    fn likes_and_mentions_are_counted_through_indexes() {
        // `posts::like_count`, and the mentions of a timeline (`posts::timeline_source`).
        let likes = sqlite_plan("SELECT COUNT(*) FROM likes WHERE likes.post_id = 7");
        assert_eq!(
            likes,
            ["SEARCH likes USING COVERING INDEX likes_post (post_id=?)"]
        );
        let mentions = sqlite_plan(
            "SELECT posts.id FROM posts WHERE posts.deleted_at IS NULL AND posts.id IN \
             (SELECT post_mentions.post_id FROM post_mentions \
             WHERE post_mentions.actor_id = 7) ORDER BY posts.id DESC LIMIT 20",
        );
        // Each mentioned post by its id, from the mentions' index; nothing scanned.
        let has = |step: &str| mentions.iter().any(|s| s.contains(step));
        assert!(
            has("SEARCH posts USING INTEGER PRIMARY KEY")
                && has("SEARCH post_mentions USING COVERING INDEX post_mentions_actor")
                && !has("SCAN"),
            "{mentions:?}"
        );
    }

    /// A post's images (read with every status shown) and a file's row (read for every file
    /// served) are found by index.
    #[test]
    fn media_are_found_by_index() {
        // `media::for_post` and `media::by_file_name`, as diesel writes them.
        let by_post = sqlite_plan(
            "SELECT * FROM media_attachments WHERE media_attachments.post_id = 7 \
             ORDER BY media_attachments.id",
        );
        assert_eq!(
            by_post,
            ["SEARCH media_attachments USING INDEX media_post (post_id=?)"]
        );
        for (column, index) in [
            ("file_name", "media_file"),
            ("thumbnail_file_name", "media_thumbnail_file"),
        ] {
            let plan = sqlite_plan(&format!(
                "SELECT * FROM media_attachments WHERE media_attachments.{column} = 'x.jpg'"
            ));
            assert_eq!(
                plan,
                [format!(
                    "SEARCH media_attachments USING INDEX {index} ({column}=?)"
                )]
            );
        }
    }

    /// A timeline reads each author's and group's newest posts from their index, a page at
    /// most, without sorting all their posts.
    #[test]
    fn a_timeline_reads_each_source_newest_first_by_index() {
        // `posts::timeline_source`, as diesel writes it.
        for (source, index) in [("author_id", "posts_author"), ("group_id", "posts_group")] {
            let plan = sqlite_plan(&format!(
                "SELECT posts.id FROM posts WHERE posts.deleted_at IS NULL \
                 AND posts.{source} = 7 AND posts.id < 99 ORDER BY posts.id DESC LIMIT 20"
            ));
            assert_eq!(
                plan,
                [format!(
                    "SEARCH posts USING INDEX {index} ({source}=? AND id<?)"
                )],
            );
        }
    }

    /// Hiding blocked and muted accounts keeps each timeline source and each notifications
    /// page on its index range; the hidden accounts themselves are found by index.
    #[test]
    fn hidden_accounts_are_left_out_without_leaving_the_indexes() {
        // `posts::timeline_source` and `notifications::page` with `blocks::hidden_from`.
        for (source, index) in [("author_id", "posts_author"), ("group_id", "posts_group")] {
            let plan = sqlite_plan(&format!(
                "SELECT posts.id FROM posts WHERE posts.deleted_at IS NULL \
                 AND posts.author_id NOT IN (3, 4) \
                 AND posts.{source} = 7 AND posts.id < 99 ORDER BY posts.id DESC LIMIT 20"
            ));
            assert_eq!(
                plan,
                [format!(
                    "SEARCH posts USING INDEX {index} ({source}=? AND id<?)"
                )],
            );
        }
        let plan = sqlite_plan(
            "SELECT notifications.id FROM notifications WHERE notifications.recipient_id = 7 \
             AND (notifications.from_id NOT IN (3, 4) OR notifications.kind LIKE 'admin.%') \
             AND notifications.id < 99 ORDER BY notifications.id DESC LIMIT 40",
        );
        assert_eq!(
            plan,
            ["SEARCH notifications USING INDEX notifications_page (recipient_id=? AND id<?)"]
        );
        let plan = sqlite_plan("SELECT blocks.target_id FROM blocks WHERE blocks.actor_id = 7");
        assert_eq!(
            plan,
            ["SEARCH blocks USING COVERING INDEX blocks_pair (actor_id=?)"]
        );
        let plan = sqlite_plan(
            "SELECT mutes.target_id FROM mutes WHERE mutes.actor_id = 7 \
             AND (mutes.expires_at IS NULL OR mutes.expires_at > '2026-12-03')",
        );
        assert_eq!(plan, ["SEARCH mutes USING INDEX mutes_pair (actor_id=?)"]);
    }

    /// A page of someone's notifications is one range of the `(recipient_id, id)` index,
    /// newest first or oldest first, filtered by kind or not: nothing is scanned or sorted,
    /// however many notifications the instance holds.
    #[test]
    fn a_notifications_page_is_one_index_range() {
        // `notifications::page`, as diesel writes it.
        for (bound, order, filter) in [
            ("notifications.id < 99", "DESC", ""),
            ("notifications.id > 12", "ASC", ""),
            (
                "notifications.id < 99",
                "DESC",
                "AND notifications.kind IN ('mention', 'favourite') ",
            ),
            (
                "notifications.id > 12",
                "DESC",
                "AND notifications.kind NOT IN ('follow') ",
            ),
        ] {
            let plan = sqlite_plan(&format!(
                "SELECT notifications.id, notifications.kind FROM notifications \
                 WHERE notifications.recipient_id = 7 {filter}AND {bound} \
                 ORDER BY notifications.id {order} LIMIT 40"
            ));
            let op = if bound.contains('<') { "<" } else { ">" };
            assert_eq!(
                plan,
                [format!(
                    "SEARCH notifications USING INDEX notifications_page (recipient_id=? AND id{op}?)"
                )],
                "{filter}{bound} {order}"
            );
        }
        // From one account (`account_id`): a range of either index, still nothing sorted.
        let plan = sqlite_plan(
            "SELECT notifications.id FROM notifications WHERE notifications.recipient_id = 7 \
             AND notifications.from_id = 3 AND notifications.id < 99 \
             ORDER BY notifications.id DESC LIMIT 40",
        );
        assert!(
            plan.len() == 1 && plan[0].starts_with("SEARCH notifications USING INDEX"),
            "{plan:?}"
        );
    }

    /// Posts for the timeline test: Gina (3) posts in the group (2) and outside it, Olaf (4)
    /// in the group, outside it once mentioning Ana and once not; one of Gina's is deleted.
    const TIMELINE_POSTS: &str = "
        INSERT INTO posts (id, ap_id, kind, author_id, group_id, content, visibility, local,
            published_at, deleted_at, created_at)
        VALUES
        (10, 'https://peer.example/p/10', 'Note', 3, 2, 'g10', 'public', FALSE,
            '2026-11-25 08:00:00', NULL, '2026-11-25 08:00:00'),
        (11, 'https://here.example/p/11', 'Note', 1, NULL, 'a11', 'public', TRUE,
            '2026-11-25 08:00:00', NULL, '2026-11-25 08:00:00'),
        (12, 'https://solo.example/p/12', 'Note', 4, 2, 'o12', 'public', FALSE,
            '2026-11-25 08:00:00', NULL, '2026-11-25 08:00:00'),
        (13, 'https://peer.example/p/13', 'Note', 3, NULL, 'g13', 'public', FALSE,
            '2026-11-25 08:00:00', NULL, '2026-11-25 08:00:00'),
        (14, 'https://solo.example/p/14', 'Note', 4, NULL, 'o14', 'direct', FALSE,
            '2026-11-25 08:00:00', NULL, '2026-11-25 08:00:00'),
        (15, 'https://peer.example/p/15', 'Note', 3, 2, '', 'public', FALSE,
            '2026-11-25 08:00:00', '2026-11-25 09:00:00', '2026-11-25 08:00:00'),
        (16, 'https://solo.example/p/16', 'Note', 4, NULL, 'o16', 'public', FALSE,
            '2026-11-25 08:00:00', NULL, '2026-11-25 08:00:00');
        INSERT INTO post_mentions (post_id, actor_id) VALUES (14, 1), (16, 4);";

    /// Ana's home timeline: her own posts, Gina's (followed), the group's (joined) and the
    /// post that mentions her, merged newest first, each once, paged every way.
    fn check_timeline(conn: &mut AnyConnection) {
        let mut ids = |bounds: posts::Page| -> Vec<i64> {
            posts::timeline(conn, &[1, 3], &[2], Some(1), &[], bounds)
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .map(|p| p.id)
                .collect()
        };
        let page = |limit| posts::Page {
            limit,
            ..posts::Page::default()
        };
        assert_eq!(ids(page(10)), [14, 13, 12, 11, 10]);
        assert_eq!(ids(page(3)), [14, 13, 12]);
        let older = posts::Page {
            max_id: Some(12),
            ..page(3)
        };
        assert_eq!(ids(older), [11, 10]);
        let newer = posts::Page {
            min_id: Some(10),
            ..page(2)
        };
        assert_eq!(
            ids(newer),
            [12, 11],
            "min_id: the page just above, newest first"
        );
        let since = posts::Page {
            since_id: Some(12),
            ..page(10)
        };
        assert_eq!(ids(since), [14, 13]);
        // Ana blocks or mutes Gina, then Olaf: their posts leave every source (followed
        // authors, the group, the mentions).
        let mut without = |hidden: &[i64]| -> Vec<i64> {
            posts::timeline(conn, &[1, 3], &[2], Some(1), hidden, page(10))
                .unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .map(|p| p.id)
                .collect()
        };
        assert_eq!(without(&[3]), [14, 12, 11]);
        assert_eq!(without(&[4]), [13, 11, 10]);
    }

    #[test]
    fn a_timeline_merges_its_sources_on_sqlite() {
        let (_dir, mut conn) = fresh_sqlite();
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .unwrap_or_else(|e| panic!("{e}"));
        conn.batch_execute(&[ANA, GROUP_AND_MEMBERS, TIMELINE_POSTS].concat())
            .unwrap_or_else(|e| panic!("{e}"));
        check_timeline(&mut AnyConnection::Sqlite(conn));
    }

    #[test]
    fn a_timeline_merges_its_sources_on_postgresql() {
        on_fresh_postgresql_url(|url| {
            let mut conn = PgConnection::establish(url).unwrap_or_else(|e| panic!("{e}"));
            conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                .unwrap_or_else(|e| panic!("{e}"));
            conn.batch_execute(&[ANA, GROUP_AND_MEMBERS, TIMELINE_POSTS].concat())
                .unwrap_or_else(|e| panic!("{e}"));
            check_timeline(&mut AnyConnection::Postgresql(conn));
        });
    }

    /// A local group (2) with two members, Ana (local) and Gina (3, remote, on a server with a
    /// shared inbox); Olaf (4, remote, without a shared inbox) is known but not a member.
    const GROUP_AND_MEMBERS: &str = "
        INSERT INTO actors (id, ap_id, kind, username, domain, inbox, shared_inbox,
            public_key_pem, local, published_at, last_refreshed_at, created_at, updated_at)
        VALUES
        (2, 'https://here.example/groups/care', 'Group', 'care', 'here.example',
            'https://here.example/groups/care/inbox', NULL, 'KEY', TRUE,
            '2026-11-25 08:00:00', '2026-11-25 08:00:00', '2026-11-25 08:00:00',
            '2026-11-25 08:00:00'),
        (3, 'https://peer.example/users/gina', 'Person', 'gina', 'peer.example',
            'https://peer.example/users/gina/inbox', 'https://peer.example/inbox', 'KEY', FALSE,
            '2026-11-25 08:00:00', '2026-11-25 08:00:00', '2026-11-25 08:00:00',
            '2026-11-25 08:00:00'),
        (4, 'https://solo.example/u/olaf', 'Person', 'olaf', 'solo.example',
            'https://solo.example/u/olaf/inbox', NULL, 'KEY', FALSE,
            '2026-11-25 08:00:00', '2026-11-25 08:00:00', '2026-11-25 08:00:00',
            '2026-11-25 08:00:00');
        INSERT INTO follows (id, ap_id, follower_id, target_id, accepted, created_at, updated_at)
        VALUES
        (1, 'https://here.example/f/1', 1, 2, TRUE, '2026-11-25 08:00:00', '2026-11-25 08:00:00'),
        (2, 'https://peer.example/f/2', 3, 2, TRUE, '2026-11-25 08:00:00', '2026-11-25 08:00:00');";

    /// Where a follower's deliveries go, as each follow keeps it: written for the follows
    /// that exist when migration 7 runs (a local member has none; a remote one its server's),
    /// for new follows, and again when the follower's inboxes change.
    fn check_member_inboxes(conn: &mut AnyConnection) {
        let inboxes = |conn: &mut AnyConnection| {
            follows::remote_inboxes(conn, 2).unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!(inboxes(conn), ["https://peer.example/inbox"]);
        // A new member without a shared inbox is reached at their own.
        conn.batch_execute(
            "INSERT INTO follows (id, ap_id, follower_id, target_id, accepted, created_at,
                updated_at)
             VALUES (3, 'https://solo.example/f/3', 4, 2, TRUE, '2026-11-25 09:00:00',
                '2026-11-25 09:00:00')",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            inboxes(conn),
            [
                "https://peer.example/inbox",
                "https://solo.example/u/olaf/inbox"
            ]
        );
        // A member's server moves its shared inbox; another member leaves.
        conn.batch_execute(
            "UPDATE actors SET shared_inbox = 'https://peer.example/shared' WHERE id = 3;
             DELETE FROM follows WHERE id = 3;",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(inboxes(conn), ["https://peer.example/shared"]);
    }

    #[test]
    fn member_inboxes_follow_the_members_on_sqlite() {
        let (_dir, mut conn) = fresh_sqlite();
        let setup = [ANA, GROUP_AND_MEMBERS];
        migrate_around(&mut conn, || SQLITE_MIGRATIONS, (6, &setup, 1));
        check_member_inboxes(&mut AnyConnection::Sqlite(conn));
    }

    #[test]
    fn member_inboxes_follow_the_members_on_postgresql() {
        on_fresh_postgresql_url(|url| {
            let mut conn = PgConnection::establish(url).unwrap_or_else(|e| panic!("{e}"));
            let setup = [ANA, GROUP_AND_MEMBERS];
            migrate_around(&mut conn, || POSTGRES_MIGRATIONS, (6, &setup, 1));
            check_member_inboxes(&mut AnyConnection::Postgresql(conn));
        });
    }

    /// A write that takes the queue lock is the last of its transaction: the writes batched
    /// after it commit in the next one, so that no transaction holding the lock goes on to
    /// wait for rows that another process's batch holds while it waits for the lock. The
    /// queue's own bookkeeping is run after the other writes of its batch instead, which then
    /// commit together.
    #[test]
    fn a_write_that_takes_the_queue_lock_ends_its_transaction_on_postgresql() {
        #[derive(QueryableByName)]
        struct Transaction {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        fn transaction(conn: &mut AnyConnection) -> Result<i64, Error> {
            let rows: Vec<Transaction> =
                diesel::sql_query("SELECT txid_current() AS id").load(conn)?;
            Ok(rows.first().map_or(0, |t| t.id))
        }
        on_fresh_postgresql_url(|url| {
            let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
            runtime.block_on(async {
                let db = Database::connect(url, 2).unwrap_or_else(|e| panic!("{e}"));
                db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
                let ids = |r: Result<i64, Error>| r.unwrap_or_else(|e| panic!("{e}"));
                let locking = |conn: &mut AnyConnection| {
                    deliveries::release_all(conn)?;
                    transaction(conn)
                };

                let holding = keep_busy(&db).await;
                let (before, locked, after) = tokio::join!(
                    db.write(transaction),
                    db.write(locking),
                    db.write(transaction),
                );
                let (before, locked, after) = (ids(before), ids(locked), ids(after));
                assert_eq!(before, locked, "batched together up to the lock");
                assert_ne!(locked, after, "the next write is in the next transaction");
                let _ = holding.await;

                let holding = keep_busy(&db).await;
                let (before, bookkeeping, after) = tokio::join!(
                    db.write(transaction),
                    db.write_bookkeeping(locking),
                    db.write(transaction),
                );
                let (before, bookkeeping, after) = (ids(before), ids(bookkeeping), ids(after));
                assert_eq!(
                    (before, bookkeeping),
                    (after, after),
                    "the bookkeeping runs last, in the same transaction"
                );
                let _ = holding.await;
            });
        });
    }

    /// Keeps the writer busy until the writes sent next wait together, in one batch.
    async fn keep_busy(db: &Database) -> tokio::task::JoinHandle<Result<(), Error>> {
        let (started, busy) = std::sync::mpsc::channel();
        let holding = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(move |_| {
                    let _ = started.send(());
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    Ok(())
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || busy.recv())
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        holding
    }

    /// In a batch, a write that the database refuses halfway (on PostgreSQL, its statement
    /// aborts the transaction) is undone alone, and the writes before and after it commit.
    #[test]
    fn a_write_the_database_refuses_is_undone_alone_in_its_batch() {
        async fn check(url: &str) {
            let db = Database::connect(url, 2).unwrap_or_else(|e| panic!("{e}"));
            db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
            let receive = |id: &'static str, then_fail: bool| {
                db.write(move |conn| {
                    deliveries::first_receipt(conn, id)?;
                    if then_fail {
                        // The receipt again, without ON CONFLICT: a unique violation.
                        diesel::insert_into(schema::received_activities::table)
                            .values((
                                schema::received_activities::ap_id.eq(id),
                                schema::received_activities::received_at
                                    .eq(chrono::Utc::now().naive_utc()),
                            ))
                            .execute(conn)?;
                    }
                    Ok(())
                })
            };
            let holding = keep_busy(&db).await;
            let (first, refused, last) = tokio::join!(
                receive("https://a.example/1", false),
                receive("https://a.example/2", true),
                receive("https://a.example/3", false),
            );
            let _ = holding.await;
            assert!(first.is_ok() && last.is_ok(), "{first:?} {last:?}");
            assert!(refused.is_err(), "the duplicate is refused");
            let kept: Vec<String> = db
                .run(|conn| {
                    Ok(schema::received_activities::table
                        .select(schema::received_activities::ap_id)
                        .order(schema::received_activities::ap_id)
                        .load(conn)?)
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(kept, ["https://a.example/1", "https://a.example/3"]);
        }
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sqlite = format!("sqlite://{}", dir.path().join("h.db").display());
        runtime.block_on(check(&sqlite));
        on_fresh_postgresql_url(|url| runtime.block_on(check(url)));
    }

    /// Gina, a person on another server (id 3).
    const GINA: &str = "INSERT INTO actors (id, ap_id, kind, username, domain, inbox, \
        public_key_pem, local, published_at, last_refreshed_at, created_at, updated_at) \
        VALUES (3, 'https://peer.example/users/gina', 'Person', 'gina', 'peer.example', \
        'https://peer.example/users/gina/inbox', 'KEY', FALSE, '2026-11-25 08:00:00', \
        '2026-11-25 08:00:00', '2026-11-25 08:00:00', '2026-11-25 08:00:00')";

    /// An actor read is kept for a second, so that every inbox POST need not read its sender
    /// again; yet a change to it in this process, by the writer or not, is seen at once.
    #[test]
    fn a_changed_actor_is_not_read_from_the_last_seconds_reads() {
        async fn check(url: &str) {
            let db = Database::connect(url, 2).unwrap_or_else(|e| panic!("{e}"));
            db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
            let ok = |r: Result<(), Error>| r.unwrap_or_else(|e| panic!("{e}"));
            ok(db.write(|conn| Ok(conn.batch_execute(GINA)?)).await);
            let key = || async {
                db.actor_by_ap_id("https://peer.example/users/gina")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .map(|gina| gina.public_key_pem)
            };
            assert_eq!(key().await.as_deref(), Some("KEY"));
            // Changed behind this process's back: the last second's read stands.
            ok(db
                .run(|conn| {
                    let sql = "UPDATE actors SET public_key_pem = 'UNSEEN' WHERE id = 3";
                    Ok(conn.batch_execute(sql)?)
                })
                .await);
            assert_eq!(key().await.as_deref(), Some("KEY"), "kept");
            // Changed here, by the writer: read afresh.
            let rotate = |pem: &'static str| {
                move |conn: &mut AnyConnection| {
                    let mut row = actors::by_ap_id(conn, "https://peer.example/users/gina")?
                        .ok_or_else(|| Error::NotFound("gina".into()))?;
                    row.public_key_pem = pem.into();
                    Ok(actors::update(conn, &row)?)
                }
            };
            ok(db.write(rotate("ROTATED")).await);
            assert_eq!(key().await.as_deref(), Some("ROTATED"));
            // And on the readers' pool.
            assert_eq!(key().await.as_deref(), Some("ROTATED"), "kept again");
            ok(db.run(rotate("AGAIN")).await);
            assert_eq!(key().await.as_deref(), Some("AGAIN"));
        }
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sqlite = format!("sqlite://{}", dir.path().join("h.db").display());
        runtime.block_on(check(&sqlite));
        on_fresh_postgresql_url(|url| runtime.block_on(check(url)));
    }

    /// A reply that arrived before its parent is linked to it once the parent is stored:
    /// by the writer at the end of the parent's batch, whether the reply came in an earlier
    /// batch or earlier in the same one.
    #[test]
    fn early_replies_are_linked_when_their_parent_arrives() {
        async fn check(url: &str) {
            let db = Database::connect(url, 2).unwrap_or_else(|e| panic!("{e}"));
            db.migrate().await.unwrap_or_else(|e| panic!("{e}"));
            let ok = |r: Result<(), Error>| r.unwrap_or_else(|e| panic!("{e}"));
            // Gina writes every post.
            ok(db.write(|conn| Ok(conn.batch_execute(GINA)?)).await);
            let store = |ap_id: &'static str, parent: Option<&'static str>| {
                db.write(move |conn| {
                    let mut row = posts::new_row(
                        ap_id.into(),
                        "Note",
                        3,
                        "<p>hi</p>".into(),
                        "public",
                        false,
                    );
                    row.in_reply_to_ap_id = parent.map(str::to_owned);
                    if let Some(parent) = parent {
                        row.in_reply_to_id = posts::by_ap_id(conn, parent)?.map(|p| p.id);
                    }
                    posts::insert_new(conn, &row)?;
                    posts::adopt_early_replies(conn, &row)?;
                    Ok(())
                })
            };
            let (a, b, c) = (
                "https://peer.example/p/a",
                "https://peer.example/p/b",
                "https://peer.example/p/c",
            );
            // A reply to `a` in a batch before it; a reply to `b` in the same batch.
            ok(store(c, Some(a)).await);
            let holding = keep_busy(&db).await;
            let (early, parent_a, parent_b) = tokio::join!(
                store("https://peer.example/p/d", Some(b)),
                store(a, None),
                store(b, None)
            );
            let _ = holding.await;
            ok(early.and(parent_a).and(parent_b));
            let linked = |reply: &'static str, parent: &'static str| {
                db.run(move |conn| {
                    let reply = posts::by_ap_id(conn, reply)?;
                    let parent = posts::by_ap_id(conn, parent)?;
                    Ok(reply.and_then(|r| r.in_reply_to_id) == parent.map(|p| p.id))
                })
            };
            assert_eq!(
                linked(c, a).await.ok(),
                Some(true),
                "the reply from an earlier batch"
            );
            assert_eq!(
                linked("https://peer.example/p/d", b).await.ok(),
                Some(true),
                "the reply from the same batch"
            );
        }
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let sqlite = format!("sqlite://{}", dir.path().join("h.db").display());
        runtime.block_on(check(&sqlite));
        on_fresh_postgresql_url(|url| runtime.block_on(check(url)));
    }
}
