//! The outbox, the receiving servers it is delivered to, and the record of received activity
//! ids.
//!
//! The outbox is a log read by one cursor per receiving server (Lemmy's design): each
//! activity is written once, naming the servers it goes to (`outbox.hosts`), however many they
//! are. Each server's row holds its cursor (`delivered_up_to`: everything for it up to that
//! outbox id is delivered or given up) and whether anything past it waits (`waiting`, set when
//! something is queued for it, cleared by the pass that finds nothing more). A server's
//! deliveries go in id order, which is the order they were queued.

use super::{
    AnyConnection,
    schema::{outbox, received_activities, servers},
};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::{
    dsl::{AsExprOf, sql},
    expression::{SqlLiteral, UncheckedBind},
    prelude::*,
    sql_types::{Bool, Text},
};

/// Which readers a delivery is meant for, where a group shares something in two forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// The shared activity itself, `Announce{Create}` (FEP-1b12: Lemmy, Hearth).
    Activity,
    /// A boost of the object, or the group's own copy (microblogs: Mastodon, GoToSocial...).
    Object,
}

impl Form {
    /// The form of a group's shares that a server's software reads; `None` (both) when
    /// unknown. Group software reads `Announce{Create}` (FEP-1b12); microblogs show a boost.
    pub fn read_by(software: Option<&str>) -> Option<Self> {
        match software? {
            "hearth" | "lemmy" | "mbin" | "kbin" | "piefed" | "friendica" => Some(Self::Activity),
            "mastodon" | "hometown" | "glitch-soc" | "gotosocial" | "pleroma" | "akkoma"
            | "misskey" | "sharkey" | "firefish" | "iceshrimp" | "iceshrimp.net" | "catodon"
            | "calckey" | "foundkey" | "pixelfed" | "snac" | "takahe" | "honk" => {
                Some(Self::Object)
            }
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activity => "activity",
            Self::Object => "object",
        }
    }
}

/// An activity to deliver, stored once with the servers it goes to.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = outbox)]
struct OutboxRow<'a> {
    id: i64,
    created_at: NaiveDateTime,
    signer_id: i64,
    form: Option<&'a str>,
    hosts: String,
    inboxes: String,
    ap_id: &'a str,
    body: &'a str,
}

/// An activity waiting in a server's queue, with what it sends.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Queued {
    /// Its place in the outbox; a server's cursor moves past it once it is delivered.
    pub id: i64,
    pub created_at: NaiveDateTime,
    /// The actor whose key signs the request.
    pub signer_id: i64,
    /// `activity`, `object` (see [`Form`]), or `None` for every server.
    pub form: Option<String>,
    /// All its inboxes, one per line (see [`Queued::inboxes_on`]).
    pub inboxes: String,
    /// The activity JSON.
    pub body: String,
}

impl Queued {
    /// Its inboxes on server `host`.
    pub fn inboxes_on<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a str> {
        self.inboxes
            .lines()
            .filter(move |inbox| host_of(inbox) == host)
    }
}

/// A receiving server and how delivering to it goes.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = servers)]
pub struct ServerRow {
    pub host: String,
    /// Lower-case NodeInfo `software.name`, once known.
    pub software: Option<String>,
    pub software_checked_at: Option<NaiveDateTime>,
    /// No delivery to this server before this time (its backoff).
    pub next_attempt_at: NaiveDateTime,
    /// Failed attempts since the last success.
    pub failures: i32,
    pub failing_since: Option<NaiveDateTime>,
    /// Set once it has failed for days: from then on it is only probed now and then.
    pub unreachable_since: Option<NaiveDateTime>,
    pub last_success_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    /// A delivery pass holds this server's queue until then (one sender per server).
    pub claimed_until: Option<NaiveDateTime>,
    /// Its cursor: everything for it up to this outbox id is delivered or given up.
    pub delivered_up_to: i64,
    /// Whether outbox entries past its cursor may wait for it.
    pub waiting: bool,
}

/// `host[:port]` of an inbox URL, as [`hearth_federation::protocol::authority`] spells it.
pub fn host_of(inbox: &str) -> String {
    url::Url::parse(inbox)
        .map(|u| hearth_federation::protocol::authority(&u))
        .unwrap_or_default()
}

/// Whether an outbox entry goes to `host`: its `hosts` (`' a b:8443 '`) names it.
///
/// A position test, not `LIKE '% host %'`: PostgreSQL guesses that such a `LIKE` matches
/// almost nothing, so for a server with a backlog it reads and sorts the whole backlog past
/// the cursor (over half a second at half a million entries) where walking the outbox in id
/// order stops after the few it needs. For a function's result it guesses a third, and walks.
fn goes_to(conn: &AnyConnection, host: &str) -> GoesTo {
    let position = match conn {
        AnyConnection::Postgresql(_) => "strpos(hosts, ",
        AnyConnection::Sqlite(_) => "instr(hosts, ",
    };
    sql::<Bool>(position)
        .bind::<Text, _>(format!(" {host} "))
        .sql(") > 0")
}

/// The SQL [`goes_to`] writes.
type GoesTo = SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>;

/// An activity to queue, and the form of a group's share it is (`None`: for every server).
#[derive(Debug)]
pub struct Outgoing {
    pub ap_id: String,
    pub body: String,
    pub form: Option<Form>,
}

/// Activities a write queues for some inboxes, signed by one actor.
#[derive(Debug)]
pub struct Enqueued {
    pub signer_id: i64,
    pub activities: Vec<Outgoing>,
    pub inboxes: Vec<String>,
}

thread_local! {
    /// What the write the writer runs on this thread queued, not yet written: the writer
    /// queues everything a batch's writes queued at once, with [`enqueue_all`], before the
    /// batch commits.
    pub static HELD: super::writer::Held<Enqueued> = const { std::cell::RefCell::new(None) };
}

/// Queues activities in the caller's transaction, or leaves them for the end of the writer's
/// batch.
pub fn enqueue(conn: &mut AnyConnection, enqueued: Enqueued) -> QueryResult<()> {
    if enqueued.activities.is_empty() || enqueued.inboxes.is_empty() {
        return Ok(());
    }
    match super::writer::leave_for_batch(&HELD, enqueued) {
        Some(enqueued) => enqueue_all(conn, &[enqueued]),
        None => Ok(()),
    }
}

/// Queues activities for their inboxes, in the caller's transaction: each is written once,
/// with the servers it goes to. A server known to read one form of a group's share is left
/// out of the other.
///
/// A server's cursor moves by outbox id, so what is queued for one server must be numbered
/// in the order it commits: the queue lock is taken first (see [`lock_queue`]), then the
/// servers' rows, and only then are ids taken, above every id before them. The writer queues
/// all of a batch's activities together, so the locks are held only from here to the commit.
pub fn enqueue_all(conn: &mut AnyConnection, all: &[Enqueued]) -> QueryResult<()> {
    let hosts: Vec<Vec<String>> = all
        .iter()
        .map(|e| e.inboxes.iter().map(|i| host_of(i)).collect())
        .collect();
    let in_order: std::collections::BTreeSet<&str> =
        hosts.iter().flatten().map(String::as_str).collect();
    if in_order.is_empty() {
        return Ok(());
    }
    lock_queue(conn)?;
    let in_order: Vec<&str> = in_order.into_iter().collect();
    let now = Utc::now().naive_utc();
    let mut known = lock_servers(conn, &in_order)?;
    if known.len() < in_order.len() {
        let found: std::collections::HashSet<&str> =
            known.iter().map(|(host, ..)| host.as_str()).collect();
        let new: Vec<&str> = in_order
            .iter()
            .copied()
            .filter(|h| !found.contains(h))
            .collect();
        new_servers(conn, &new, now)?;
        known.extend(lock_servers(conn, &new)?);
    }
    let floor = known.iter().map(|(.., cursor)| *cursor).max().unwrap_or(0);
    let idle: Vec<&str> = known
        .iter()
        .filter(|(_, _, waiting, _)| !waiting)
        .map(|(host, ..)| host.as_str())
        .collect();
    for some in idle.chunks(HOSTS_PER_STATEMENT) {
        diesel::update(servers::table.filter(servers::host.eq_any(some)))
            .set(servers::waiting.eq(true))
            .execute(conn)?;
    }
    let reads: std::collections::HashMap<&str, Option<Form>> = known
        .iter()
        .map(|(host, software, ..)| (host.as_str(), Form::read_by(software.as_deref())))
        .collect();
    let total = all.iter().map(|e| e.activities.len()).sum();
    let mut ids = outbox_ids(conn, total, floor)?.into_iter();
    let mut rows = Vec::with_capacity(total);
    for (enqueued, hosts) in all.iter().zip(&hosts) {
        for (activity, id) in enqueued.activities.iter().zip(ids.by_ref()) {
            let mut to_hosts = std::collections::BTreeSet::new();
            let mut to_inboxes = Vec::with_capacity(enqueued.inboxes.len());
            for (inbox, host) in enqueued.inboxes.iter().zip(hosts) {
                let reads = reads.get(host.as_str()).copied().flatten();
                if activity.form.is_some_and(|f| reads.is_some_and(|r| r != f)) {
                    continue;
                }
                to_hosts.insert(host.as_str());
                to_inboxes.push(inbox.as_str());
            }
            if to_inboxes.is_empty() {
                continue;
            }
            rows.push(OutboxRow {
                id,
                created_at: now,
                signer_id: enqueued.signer_id,
                form: activity.form.map(Form::as_str),
                hosts: format!(" {} ", to_hosts.into_iter().collect::<Vec<_>>().join(" ")),
                inboxes: to_inboxes.join("\n"),
                ap_id: &activity.ap_id,
                body: &activity.body,
            });
        }
    }
    for some in rows.chunks(ROWS_PER_STATEMENT) {
        on_engine!(conn, |c| diesel::insert_into(outbox::table)
            .values(some)
            .execute(c))?;
    }
    Ok(())
}

/// Takes the queue lock, held until the transaction ends. Every change to the servers' rows
/// takes it first: a batch of writes changes several servers' rows in the order its writes
/// come, so without it two batches (of two processes) could each hold a row the other waits
/// for. On SQLite the single writer is the lock.
///
/// A transaction holding it must not then wait for rows another transaction holds, since that
/// one may be waiting for the queue lock (a batch queueing its deliveries, in another
/// process): the writer commits a batch as soon as one of its writes took the lock
/// ([`took_queue_lock`]).
fn lock_queue(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7346127302)").execute(pg)?;
        QUEUE_LOCKED.with(|locked| locked.set(true));
    }
    Ok(())
}

thread_local! {
    /// Whether the transaction on this thread took the queue lock.
    static QUEUE_LOCKED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the transaction on this thread took the queue lock since it began
/// ([`forget_queue_lock`]).
pub fn took_queue_lock() -> bool {
    QUEUE_LOCKED.with(std::cell::Cell::get)
}

/// Called as a transaction begins.
pub fn forget_queue_lock() {
    QUEUE_LOCKED.with(|locked| locked.set(false));
}

/// Hosts named in one statement, well within SQLite's limit on bound values.
const HOSTS_PER_STATEMENT: usize = 500;

/// Outbox rows inserted by one statement (eight values each).
const ROWS_PER_STATEMENT: usize = 500;

/// A server's row as queueing reads it: host, software, whether something waits, cursor.
type Locked = (String, Option<String>, bool, i64);

/// Each of `hosts`' software, whether something waits for it and its cursor, locking their
/// rows until the transaction ends (PostgreSQL; on SQLite the writer holds the whole database).
fn lock_servers(conn: &mut AnyConnection, hosts: &[&str]) -> QueryResult<Vec<Locked>> {
    let mut found = Vec::with_capacity(hosts.len());
    for some in hosts.chunks(HOSTS_PER_STATEMENT) {
        let rows = servers::table
            .filter(servers::host.eq_any(some))
            .order(servers::host)
            .select((
                servers::host,
                servers::software,
                servers::waiting,
                servers::delivered_up_to,
            ));
        found.extend(match conn {
            AnyConnection::Postgresql(pg) => rows.for_update().load(pg)?,
            AnyConnection::Sqlite(lite) => rows.load(lite)?,
        });
    }
    Ok(found)
}

/// `n` new outbox ids, greater than all before them and than `floor` (the servers' cursors).
/// Called with the servers' rows locked, so that what is queued for one server is numbered
/// in the order it commits.
fn outbox_ids(conn: &mut AnyConnection, n: usize, floor: i64) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Next {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    match conn {
        // Several processes may queue at once: one sequence numbers them all.
        AnyConnection::Postgresql(pg) => {
            let take = |pg: &mut diesel::PgConnection| -> QueryResult<Vec<i64>> {
                let next: Vec<Next> = diesel::sql_query(
                    "SELECT nextval('outbox_ids') AS id FROM generate_series(1, $1)",
                )
                .bind::<diesel::sql_types::Integer, _>(n as i32)
                .load(pg)?;
                let mut ids: Vec<i64> = next.into_iter().map(|n| n.id).collect();
                ids.sort_unstable();
                Ok(ids)
            };
            let ids = take(pg)?;
            if ids.first().is_some_and(|&first| first > floor) {
                return Ok(ids);
            }
            diesel::sql_query("SELECT setval('outbox_ids', $1)")
                .bind::<diesel::sql_types::BigInt, _>(floor)
                .execute(pg)?;
            take(pg)
        }
        // One process writes; its ids grow (see `id::new_id`), and stay above what an earlier
        // run with a clock ahead left behind.
        AnyConnection::Sqlite(lite) => {
            let last: Option<i64> = outbox::table
                .select(diesel::dsl::max(outbox::id))
                .get_result(lite)?;
            super::id::at_least(last.unwrap_or(0).max(floor));
            Ok((0..n).map(|_| super::id::new_id()).collect())
        }
    }
}

/// Adds a `servers` row for each of `hosts` that has none.
fn new_servers(conn: &mut AnyConnection, hosts: &[&str], now: NaiveDateTime) -> QueryResult<()> {
    for some in hosts.chunks(HOSTS_PER_STATEMENT) {
        let rows: Vec<_> = some
            .iter()
            .map(|host| {
                (
                    servers::host.eq(*host),
                    servers::next_attempt_at.eq(now),
                    servers::failures.eq(0),
                )
            })
            .collect();
        on_engine!(conn, |c| diesel::insert_into(servers::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Removes outbox entries that every server they go to has passed: those up to the lowest
/// cursor of the servers with something waiting, or up to the highest when none has.
///
/// The bound is read first and the range given at both ends: against `id <= (subquery)`,
/// PostgreSQL reads the whole outbox on every delivery pass, however little there is to remove.
fn sweep_outbox(conn: &mut AnyConnection) -> QueryResult<usize> {
    use diesel::dsl::{max, min};
    let waited_for: Option<i64> = servers::table
        .filter(servers::waiting)
        .select(min(servers::delivered_up_to))
        .get_result(conn)?;
    let passed = match waited_for {
        None => servers::table
            .select(max(servers::delivered_up_to))
            .get_result(conn)?,
        waited_for => waited_for,
    };
    let oldest: Option<i64> = outbox::table.select(min(outbox::id)).get_result(conn)?;
    match (oldest, passed) {
        (Some(oldest), Some(passed)) if oldest <= passed => {
            diesel::delete(outbox::table.filter(outbox::id.between(oldest, passed))).execute(conn)
        }
        _ => Ok(0),
    }
}

/// Claims up to `limit` servers that have deliveries due, for `lease`: until it runs out (or
/// is released), no other pass sends to them, so each server's queue is sent by one pass at a
/// time, in queue order, from all processes together. A process that dies leaves its claims to run
/// out. On PostgreSQL, servers another process is claiming are skipped (`SKIP LOCKED`).
/// Also clears what every server has passed from the outbox. Call it in a write transaction
/// (`Database::write`).
pub fn claim_servers(
    conn: &mut AnyConnection,
    limit: i64,
    lease: TimeDelta,
) -> QueryResult<Vec<ServerRow>> {
    lock_queue(conn)?;
    sweep_outbox(conn)?;
    let now = Utc::now().naive_utc();
    let until = now + lease;
    let due = servers::table
        .filter(servers::waiting)
        .filter(servers::next_attempt_at.le(now))
        .filter(
            servers::claimed_until
                .is_null()
                .or(servers::claimed_until.le(now)),
        )
        .order(servers::next_attempt_at.asc())
        .limit(limit);
    let rows: Vec<ServerRow> = match conn {
        AnyConnection::Postgresql(pg) => due
            .for_update()
            .skip_locked()
            .select(ServerRow::as_select())
            .load(pg)?,
        AnyConnection::Sqlite(lite) => due.select(ServerRow::as_select()).load(lite)?,
    };
    let hosts: Vec<String> = rows.iter().map(|r| r.host.clone()).collect();
    diesel::update(servers::table.filter(servers::host.eq_any(hosts)))
        .set(servers::claimed_until.eq(until))
        .execute(conn)?;
    Ok(rows)
}

/// Ends every claim: for a process starting on SQLite, where only one process delivers, so
/// any claim left is from a process that died.
pub fn release_all(conn: &mut AnyConnection) -> QueryResult<usize> {
    lock_queue(conn)?;
    diesel::update(servers::table.filter(servers::claimed_until.is_not_null()))
        .set(servers::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)
}

/// The next activities queued for `host` after outbox id `after`, in the order they were
/// queued.
pub fn queued_for(
    conn: &mut AnyConnection,
    host: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Queued>> {
    outbox::table
        .filter(outbox::id.gt(after))
        .filter(goes_to(conn, host))
        .order(outbox::id.asc())
        .limit(limit)
        .select(Queued::as_select())
        .load(conn)
}

/// How many activities wait for `host` after outbox id `after`, and since when.
fn waiting(
    conn: &mut AnyConnection,
    host: &str,
    after: i64,
) -> QueryResult<(i64, Option<NaiveDateTime>)> {
    outbox::table
        .filter(outbox::id.gt(after))
        .filter(goes_to(conn, host))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .get_result(conn)
}

/// Whether an activity signed by `signer_id` still waits for one of the servers it goes to.
pub fn signed_waiting(conn: &mut AnyConnection, signer_id: i64) -> QueryResult<bool> {
    let queued: Vec<(i64, String)> = outbox::table
        .filter(outbox::signer_id.eq(signer_id))
        .select((outbox::id, outbox::hosts))
        .load(conn)?;
    for (id, hosts) in queued {
        for host in hosts.split_whitespace() {
            let cursor: Option<i64> = servers::table
                .find(host)
                .select(servers::delivered_up_to)
                .get_result(conn)
                .optional()?;
            if cursor.is_some_and(|passed| passed < id) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Records the software a server runs (`None`: asked, and it did not say).
pub fn set_software(
    conn: &mut AnyConnection,
    host: &str,
    software: Option<&str>,
) -> QueryResult<()> {
    lock_queue(conn)?;
    diesel::update(servers::table.find(host))
        .set((
            servers::software.eq(software),
            servers::software_checked_at.eq(Some(Utc::now().naive_utc())),
        ))
        .execute(conn)
        .map(|_| ())
}

/// `host`'s cursor moved to `up_to`, never back: an operator may have dropped the queue
/// (moving the cursor to the end) while a pass was sending.
macro_rules! forward_to {
    ($up_to:expr) => {
        servers::delivered_up_to.eq(diesel::dsl::case_when(
            servers::delivered_up_to.gt($up_to),
            servers::delivered_up_to,
        )
        .otherwise($up_to))
    };
}

/// Moves `host`'s cursor to outbox id `up_to` after it answered (delivered, or refused for
/// good): that ends its failing streak. Its claim is renewed for `lease`.
pub fn delivered(
    conn: &mut AnyConnection,
    host: &str,
    up_to: i64,
    lease: TimeDelta,
) -> QueryResult<()> {
    lock_queue(conn)?;
    let now = Utc::now().naive_utc();
    diesel::update(servers::table.find(host))
        .set((
            forward_to!(up_to),
            servers::claimed_until.eq(Some(now + lease)),
            servers::failures.eq(0),
            servers::failing_since.eq(None::<NaiveDateTime>),
            servers::unreachable_since.eq(None::<NaiveDateTime>),
            servers::last_success_at.eq(Some(now)),
            servers::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Ends a pass over `host`'s queue: its cursor moves to `up_to` (what the pass went through:
/// delivered, passed over or given up), it waits only if something was queued for it since,
/// and its claim is released.
pub fn release(conn: &mut AnyConnection, host: &str, up_to: i64) -> QueryResult<()> {
    lock_queue(conn)?;
    // Locked first: what is being queued for it meanwhile commits before the look below.
    let cursor = lock_servers(conn, &[host])?
        .first()
        .map_or(up_to, |(.., cursor)| (*cursor).max(up_to));
    let more = diesel::select(diesel::dsl::exists(
        outbox::table
            .filter(outbox::id.gt(cursor))
            .filter(goes_to(conn, host)),
    ))
    .get_result::<bool>(conn)?;
    diesel::update(servers::table.find(host))
        .set((
            forward_to!(up_to),
            servers::waiting.eq(more),
            servers::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A failed attempt, and what it means for its server.
#[derive(Clone, Debug)]
pub struct Failure {
    pub next_attempt_at: NaiveDateTime,
    pub failing_since: NaiveDateTime,
    pub unreachable_since: Option<NaiveDateTime>,
    pub error: String,
}

/// Records a failed attempt to `host`: it waits until `failure.next_attempt_at`, its claim is
/// released and its cursor stays at `up_to` (what the pass went through before the failure).
pub fn fail(
    conn: &mut AnyConnection,
    host: &str,
    up_to: i64,
    failure: &Failure,
) -> QueryResult<()> {
    lock_queue(conn)?;
    let error: String = failure.error.chars().take(500).collect();
    diesel::update(servers::table.find(host))
        .set((
            forward_to!(up_to),
            servers::failures.eq(servers::failures + 1),
            servers::next_attempt_at.eq(failure.next_attempt_at),
            servers::failing_since.eq(Some(failure.failing_since)),
            servers::unreachable_since.eq(failure.unreachable_since),
            servers::last_error.eq(Some(&error)),
            servers::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records an activity id; returns false if it was already received.
pub fn first_receipt(conn: &mut AnyConnection, ap_id: &str) -> QueryResult<bool> {
    let row = (
        received_activities::ap_id.eq(ap_id),
        received_activities::received_at.eq(Utc::now().naive_utc()),
    );
    let added = on_engine!(conn, |c| diesel::insert_into(received_activities::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(added == 1)
}

/// [`first_receipt`] of several activities, in one statement: whether each is seen for the
/// first time (an id twice in `ap_ids` is first once, where it comes first).
pub fn first_receipts(conn: &mut AnyConnection, ap_ids: &[&str]) -> QueryResult<Vec<bool>> {
    let mut unique = ap_ids.to_vec();
    // In one order in every process, so that two inserting the same ids wait, not deadlock.
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now().naive_utc();
    let rows: Vec<_> = unique
        .iter()
        .map(|id| {
            (
                received_activities::ap_id.eq(*id),
                received_activities::received_at.eq(now),
            )
        })
        .collect();
    let added: Vec<String> = on_engine!(conn, |c| diesel::insert_into(received_activities::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(received_activities::ap_id)
        .load(c))?;
    let mut added: std::collections::HashSet<String> = added.into_iter().collect();
    Ok(ap_ids.iter().map(|id| added.remove(*id)).collect())
}

/// Forgets up to `limit` received activity ids recorded before `cutoff`, oldest first
/// (`limit` at most 10,000: SQLite binds each id); returns how many.
pub fn forget_receipts_before(
    conn: &mut AnyConnection,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<usize> {
    let oldest = received_activities::table
        .filter(received_activities::received_at.lt(cutoff))
        .order(received_activities::received_at)
        .select(received_activities::ap_id)
        .limit(limit);
    let ids: Vec<String> = on_engine!(conn, |c| oldest.load(c))?;
    if ids.is_empty() {
        return Ok(0);
    }
    on_engine!(conn, |c| diesel::delete(
        received_activities::table.filter(received_activities::ap_id.eq_any(&ids))
    )
    .execute(c))
}

/// The queue of one receiving server, as operators see it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostQueue {
    /// `host[:port]`.
    pub host: String,
    /// NodeInfo software name, once known.
    pub software: Option<String>,
    /// Activities waiting for it.
    pub pending: i64,
    /// Failed attempts in a row (0: the last attempt succeeded).
    pub failures: i32,
    /// When the server is next tried.
    pub next_attempt_at: NaiveDateTime,
    /// When the oldest waiting activity was queued.
    pub oldest: Option<NaiveDateTime>,
    /// Failing since then, without a success.
    pub failing_since: Option<NaiveDateTime>,
    /// Failed for days: only probed now and then, until a delivery succeeds.
    pub unreachable_since: Option<NaiveDateTime>,
    /// The most recent error, if any.
    pub last_error: Option<String>,
}

/// The servers with deliveries waiting or failures, the longest queue first.
pub fn queues(conn: &mut AnyConnection) -> QueryResult<Vec<HostQueue>> {
    let rows: Vec<ServerRow> = servers::table
        .filter(servers::waiting.or(servers::failures.gt(0)))
        .select(ServerRow::as_select())
        .load(conn)?;
    let mut list = Vec::with_capacity(rows.len());
    for s in rows {
        let (pending, oldest) = if s.waiting {
            waiting(conn, &s.host, s.delivered_up_to)?
        } else {
            (0, None)
        };
        if pending == 0 && s.failures == 0 {
            continue;
        }
        list.push(HostQueue {
            pending,
            oldest,
            failures: s.failures,
            host: s.host,
            software: s.software,
            next_attempt_at: s.next_attempt_at,
            failing_since: s.failing_since,
            unreachable_since: s.unreachable_since,
            last_error: s.last_error,
        });
    }
    list.sort_by(|a, b| b.pending.cmp(&a.pending).then(a.host.cmp(&b.host)));
    Ok(list)
}

/// Canonical spelling of a host typed by an operator.
pub fn canonical(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Makes `host` due now (it stays marked unreachable until a delivery succeeds); returns how
/// many activities wait for it.
pub fn retry_host(conn: &mut AnyConnection, host: &str) -> QueryResult<i64> {
    lock_queue(conn)?;
    let host = canonical(host);
    diesel::update(servers::table.find(&host))
        .set(servers::next_attempt_at.eq(Utc::now().naive_utc()))
        .execute(conn)?;
    let cursor = servers::table
        .find(&host)
        .select(servers::delivered_up_to)
        .get_result::<i64>(conn)
        .optional()?;
    match cursor {
        Some(cursor) => Ok(waiting(conn, &host, cursor)?.0),
        None => Ok(0),
    }
}

/// Drops everything waiting for `host` (its cursor moves to the end of the outbox); returns
/// how many activities. Call it in a write transaction (`Database::write`).
pub fn drop_host(conn: &mut AnyConnection, host: &str) -> QueryResult<i64> {
    lock_queue(conn)?;
    let host = canonical(host);
    if lock_servers(conn, &[&host])?.is_empty() {
        return Ok(0);
    }
    let cursor = servers::table
        .find(&host)
        .select(servers::delivered_up_to)
        .get_result::<i64>(conn)?;
    let (dropped, _) = waiting(conn, &host, cursor)?;
    let end: Option<i64> = outbox::table
        .select(diesel::dsl::max(outbox::id))
        .get_result(conn)?;
    diesel::update(servers::table.find(&host))
        .set((
            servers::delivered_up_to.eq(end.unwrap_or(cursor).max(cursor)),
            servers::waiting.eq(false),
        ))
        .execute(conn)?;
    Ok(dropped)
}

/// The delivery queues summed by state, for monitoring.
#[derive(Clone, Debug, Default)]
pub struct QueueGauges {
    /// One entry per state, each always present.
    pub states: Vec<QueueState>,
    /// Servers marked unreachable (failing for days), whether or not anything waits for them.
    pub unreachable_servers: i64,
}

/// What waits in the queues of the servers in one state.
#[derive(Clone, Debug)]
pub struct QueueState {
    /// `due` (to be sent at the next pass), `sending` (a pass holds it), `backoff` (failed,
    /// waiting to retry) or `unreachable` (failing for days, probed now and then).
    pub state: &'static str,
    /// Activities waiting, counted once per server they wait for.
    pub depth: i64,
    /// Seconds since the oldest of them was queued; 0 when none waits.
    pub oldest_age_seconds: f64,
}

/// The state names, in the order [`queue_gauges`] gives them.
pub const QUEUE_STATES: [&str; 4] = ["due", "sending", "backoff", "unreachable"];

/// Sums every waiting server's queue by state. One count per waiting server, as the admin
/// page's list makes: cheap while queues are short, proportional to what waits otherwise.
pub fn queue_gauges(conn: &mut AnyConnection) -> QueryResult<QueueGauges> {
    let now = Utc::now().naive_utc();
    let rows: Vec<ServerRow> = servers::table
        .filter(servers::waiting)
        .select(ServerRow::as_select())
        .load(conn)?;
    let mut states: Vec<(i64, Option<NaiveDateTime>)> = vec![(0, None); QUEUE_STATES.len()];
    for server in rows {
        let state = if server.claimed_until.is_some_and(|until| until > now) {
            1
        } else if server.unreachable_since.is_some() {
            3
        } else if server.failures > 0 || server.next_attempt_at > now {
            2
        } else {
            0
        };
        let (pending, oldest) = waiting(conn, &server.host, server.delivered_up_to)?;
        let (depth, first) = &mut states[state];
        *depth += pending;
        *first = match (*first, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let unreachable_servers = servers::table
        .filter(servers::unreachable_since.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(QueueGauges {
        states: QUEUE_STATES
            .iter()
            .zip(states)
            .map(|(&state, (depth, oldest))| QueueState {
                state,
                depth,
                oldest_age_seconds: oldest.map_or(0.0, |at| {
                    (now - at).num_milliseconds().max(0) as f64 / 1000.0
                }),
            })
            .collect(),
        unreachable_servers,
    })
}
