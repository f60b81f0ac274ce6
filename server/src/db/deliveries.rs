//! The outbox, the receiving servers it is delivered to, and the record of received activity
//! ids.
//!
//! The outbox is a log read by one cursor per receiving server (Lemmy's design): each
//! activity is written once, naming the servers it goes to (`outbox.hosts`), however many they
//! are; each server's row says the last activity queued for it (`queued_up_to`) and up to
//! which one everything for it is delivered (`delivered_up_to`). Its deliveries wait while
//! the first is past the second, in id order, which is the order they were queued.

use super::{
    AnyConnection,
    schema::{outbox, received_activities, servers},
};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

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
    /// The last outbox id queued for it.
    pub queued_up_to: i64,
    /// Its cursor: everything for it up to this outbox id is delivered or given up.
    pub delivered_up_to: i64,
}

/// `host[:port]` of an inbox URL, as [`hearth_federation::protocol::authority`] spells it.
pub fn host_of(inbox: &str) -> String {
    url::Url::parse(inbox)
        .map(|u| hearth_federation::protocol::authority(&u))
        .unwrap_or_default()
}

/// The `LIKE` pattern that finds outbox entries for `host` in their `hosts` (`' a b:8443 '`).
fn for_host(host: &str) -> String {
    let escaped = host
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("% {escaped} %")
}

/// An activity to queue, and the form of a group's share it is (`None`: for every server).
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub ap_id: &'a str,
    pub body: String,
    pub form: Option<Form>,
}

/// Queues activities for `inboxes`, in the caller's transaction: each is written once, with
/// the servers it goes to, and takes its place in each one's queue. A server known to read one
/// form of a group's share is left out of the other.
pub fn enqueue(
    conn: &mut AnyConnection,
    signer_id: i64,
    activities: &[Outgoing<'_>],
    inboxes: &[String],
) -> QueryResult<()> {
    if activities.is_empty() || inboxes.is_empty() {
        return Ok(());
    }
    let now = Utc::now().naive_utc();
    let hosts: Vec<String> = inboxes.iter().map(|i| host_of(i)).collect();
    let mut ids: Vec<i64> = activities.iter().map(|_| super::id::new_id()).collect();
    ids.sort_unstable();
    let reads = take_places(conn, &hosts, &mut ids, now)?;
    for (activity, id) in activities.iter().zip(ids) {
        let mut to_hosts = std::collections::BTreeSet::new();
        let mut to_inboxes = Vec::with_capacity(inboxes.len());
        for (inbox, host) in inboxes.iter().zip(&hosts) {
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
        let row = OutboxRow {
            id,
            created_at: now,
            signer_id,
            form: activity.form.map(Form::as_str),
            hosts: format!(" {} ", to_hosts.into_iter().collect::<Vec<_>>().join(" ")),
            inboxes: to_inboxes.join("\n"),
            ap_id: activity.ap_id,
            body: &activity.body,
        };
        on_engine!(conn, |c| diesel::insert_into(outbox::table)
            .values(&row)
            .execute(c))?;
    }
    Ok(())
}

/// Moves each server's `queued_up_to` to the last of `ids`, and returns the form of a group's
/// share each server reads, where known. A server's cursor moves by id, so what is queued for
/// a server must get greater ids than what was queued for it before, and commit before
/// anything after it: `ids` not above a server's last are renewed above it, and on PostgreSQL
/// the update holds the server's row until commit (servers are taken in one order, so two
/// transactions cannot deadlock).
fn take_places<'h>(
    conn: &mut AnyConnection,
    hosts: &'h [String],
    ids: &mut [i64],
    now: NaiveDateTime,
) -> QueryResult<std::collections::HashMap<&'h str, Option<Form>>> {
    let servers_in_order: std::collections::BTreeSet<&str> =
        hosts.iter().map(String::as_str).collect();
    'again: loop {
        let (first, last) = match (ids.first(), ids.last()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => return Ok(Default::default()),
        };
        let mut reads = std::collections::HashMap::with_capacity(servers_in_order.len());
        for &host in &servers_in_order {
            let software = on_engine!(conn, |c| diesel::update(
                servers::table
                    .find(host)
                    .filter(servers::queued_up_to.lt(first))
            )
            .set(servers::queued_up_to.eq(last))
            .returning(servers::software)
            .get_result::<Option<String>>(c)
            .optional())?;
            if let Some(software) = software {
                reads.insert(host, Form::read_by(software.as_deref()));
                continue;
            }
            let queued = on_engine!(conn, |c| servers::table
                .find(host)
                .select(servers::queued_up_to)
                .get_result::<i64>(c)
                .optional())?;
            match queued {
                Some(queued) => {
                    // Ids at or below this server's last: take new ones above everything seen.
                    let mut floor = queued.max(last);
                    for id in ids.iter_mut() {
                        *id = super::id::new_id().max(floor + 1);
                        floor = *id;
                    }
                    continue 'again;
                }
                None if new_server(conn, host, last, now)? => {
                    reads.insert(host, None);
                }
                // Another process added it meanwhile: take its row as any other.
                None => continue 'again,
            }
        }
        return Ok(reads);
    }
}

/// Adds a `servers` row for `host` with `queued_up_to`; false if there was one already.
fn new_server(
    conn: &mut AnyConnection,
    host: &str,
    queued_up_to: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        servers::host.eq(host),
        servers::next_attempt_at.eq(now),
        servers::failures.eq(0),
        servers::queued_up_to.eq(queued_up_to),
    );
    let added = match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(servers::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        AnyConnection::Sqlite(lite) => diesel::insert_into(servers::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(lite)?,
    };
    Ok(added > 0)
}

/// Removes outbox entries that every server they go to has passed: those up to the lowest
/// cursor of the servers with something waiting, or all when none has.
fn sweep_outbox(conn: &mut AnyConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM outbox WHERE id <= COALESCE(
            (SELECT MIN(delivered_up_to) FROM servers WHERE queued_up_to > delivered_up_to),
            (SELECT MAX(queued_up_to) FROM servers))",
    )
    .execute(conn)
}

/// Claims up to `limit` servers that have deliveries due, for `lease`: until it runs out (or
/// is released), no other pass sends to them, so each server gets one request at a time, in
/// queue order, from all processes together. A process that dies leaves its claims to run
/// out. On PostgreSQL, servers another process is claiming are skipped (`SKIP LOCKED`).
/// Also clears what every server has passed from the outbox. Call it in a write transaction
/// (`Database::write`).
pub fn claim_servers(
    conn: &mut AnyConnection,
    limit: i64,
    lease: TimeDelta,
) -> QueryResult<Vec<ServerRow>> {
    sweep_outbox(conn)?;
    let now = Utc::now().naive_utc();
    let until = now + lease;
    let due = servers::table
        .filter(servers::queued_up_to.gt(servers::delivered_up_to))
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
        .filter(outbox::hosts.like(for_host(host)).escape('\\'))
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
        .filter(outbox::hosts.like(for_host(host)).escape('\\'))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .get_result(conn)
}

/// Records the software a server runs (`None`: asked, and it did not say).
pub fn set_software(
    conn: &mut AnyConnection,
    host: &str,
    software: Option<&str>,
) -> QueryResult<()> {
    diesel::update(servers::table.find(host))
        .set((
            servers::software.eq(software),
            servers::software_checked_at.eq(Some(Utc::now().naive_utc())),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Moves `host`'s cursor to outbox id `up_to` after it answered (delivered, or refused for
/// good): that ends its failing streak. Its claim is renewed for `lease`.
pub fn delivered(
    conn: &mut AnyConnection,
    host: &str,
    up_to: i64,
    lease: TimeDelta,
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    diesel::update(servers::table.find(host))
        .set((
            servers::delivered_up_to.eq(up_to),
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
/// skipped, given up, or delivered) and its claim is released.
pub fn release(conn: &mut AnyConnection, host: &str, up_to: i64) -> QueryResult<()> {
    diesel::update(servers::table.find(host))
        .set((
            servers::delivered_up_to.eq(up_to),
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
    let error: String = failure.error.chars().take(500).collect();
    diesel::update(servers::table.find(host))
        .set((
            servers::delivered_up_to.eq(up_to),
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
    let seen: i64 = on_engine!(conn, |c| received_activities::table
        .filter(received_activities::ap_id.eq(ap_id))
        .count()
        .get_result(c))?;
    if seen > 0 {
        return Ok(false);
    }
    let row = (
        received_activities::ap_id.eq(ap_id),
        received_activities::received_at.eq(Utc::now().naive_utc()),
    );
    match on_engine!(conn, |c| diesel::insert_into(received_activities::table)
        .values(row)
        .execute(c))
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
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
        .filter(
            servers::queued_up_to
                .gt(servers::delivered_up_to)
                .or(servers::failures.gt(0)),
        )
        .select(ServerRow::as_select())
        .load(conn)?;
    let mut list = Vec::with_capacity(rows.len());
    for s in rows {
        let (pending, oldest) = if s.queued_up_to > s.delivered_up_to {
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
fn canonical(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Makes `host` due now (it stays marked unreachable until a delivery succeeds); returns how
/// many activities wait for it.
pub fn retry_host(conn: &mut AnyConnection, host: &str) -> QueryResult<i64> {
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

/// Drops everything waiting for `host` (its cursor moves to the last activity queued for
/// it); returns how many activities.
pub fn drop_host(conn: &mut AnyConnection, host: &str) -> QueryResult<i64> {
    let host = canonical(host);
    let cursor = servers::table
        .find(&host)
        .select(servers::delivered_up_to)
        .get_result::<i64>(conn)
        .optional()?;
    let Some(cursor) = cursor else {
        return Ok(0);
    };
    let (dropped, _) = waiting(conn, &host, cursor)?;
    diesel::update(servers::table.find(&host))
        .set(servers::delivered_up_to.eq(servers::queued_up_to))
        .execute(conn)?;
    Ok(dropped)
}
