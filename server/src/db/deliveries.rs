//! The outbox (`deliveries`), the receiving servers it is delivered to (`servers`), and the
//! record of received activity ids.

use super::{
    AnyConnection,
    schema::{deliveries, outbox, received_activities, servers},
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

/// An activity waiting to be delivered, stored once for all its inboxes.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = outbox)]
struct OutboxRow<'a> {
    id: i64,
    ap_id: &'a str,
    signer_id: i64,
    body: &'a str,
    created_at: NaiveDateTime,
}

/// One pending delivery of one activity to one inbox.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub outbox_id: i64,
    pub inbox: String,
    /// `host[:port]` of the inbox: the server whose queue this is in.
    pub host: String,
    /// `activity`, `object` (see [`Form`]), or `None` for every server.
    pub form: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A delivery with what it sends.
#[derive(Clone, Debug)]
pub struct Queued {
    pub delivery: DeliveryRow,
    /// The actor whose key signs the request.
    pub signer_id: i64,
    /// The activity JSON.
    pub body: String,
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
}

/// `host[:port]` of an inbox URL, as [`hearth_federation::protocol::authority`] spells it.
pub fn host_of(inbox: &str) -> String {
    url::Url::parse(inbox)
        .map(|u| hearth_federation::protocol::authority(&u))
        .unwrap_or_default()
}

/// An activity to queue, and the form of a group's share it is (`None`: for every server).
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub ap_id: &'a str,
    pub body: String,
    pub form: Option<Form>,
}

/// Queues each activity for each inbox (each activity stored once), in the caller's
/// transaction. A server known to read one form of a group's share gets only that one.
pub fn enqueue(
    conn: &mut AnyConnection,
    signer_id: i64,
    activities: &[Outgoing<'_>],
    inboxes: &[String],
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    let hosts: Vec<String> = inboxes.iter().map(|i| host_of(i)).collect();
    // What each server runs, read once for all the activities; one cached lookup per server
    // (a lookup of all at once is prepared afresh each time).
    let mut reads = Vec::with_capacity(hosts.len());
    for host in &hosts {
        let software = on_engine!(conn, |c| servers::table
            .find(host)
            .select(servers::software)
            .get_result::<Option<String>>(c)
            .optional())?;
        if software.is_none() {
            known_server(conn, host, now)?;
        }
        reads.push(Form::read_by(software.flatten().as_deref()));
    }
    for activity in activities {
        let outbox_id = super::id::new_id();
        let rows: Vec<DeliveryRow> = inboxes
            .iter()
            .zip(&hosts)
            .zip(&reads)
            .filter(|(_, reads)| !activity.form.is_some_and(|f| reads.is_some_and(|r| r != f)))
            .map(|((inbox, host), _)| DeliveryRow {
                id: super::id::new_id(),
                outbox_id,
                inbox: inbox.clone(),
                host: host.clone(),
                form: activity.form.map(|f| f.as_str().to_owned()),
                attempts: 0,
                last_error: None,
                created_at: now,
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let stored = OutboxRow {
            id: outbox_id,
            ap_id: activity.ap_id,
            signer_id,
            body: &activity.body,
            created_at: now,
        };
        on_engine!(conn, |c| diesel::insert_into(outbox::table)
            .values(&stored)
            .execute(c))?;
        for row in &rows {
            on_engine!(conn, |c| diesel::insert_into(deliveries::table)
                .values(row)
                .execute(c))?;
        }
    }
    Ok(())
}

/// Adds a `servers` row for `host` unless there is one.
fn known_server(conn: &mut AnyConnection, host: &str, now: NaiveDateTime) -> QueryResult<()> {
    let row = (
        servers::host.eq(host),
        servers::next_attempt_at.eq(now),
        servers::failures.eq(0),
    );
    match conn {
        AnyConnection::Postgresql(pg) => diesel::insert_into(servers::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        AnyConnection::Sqlite(lite) => diesel::insert_into(servers::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(lite)?,
    };
    Ok(())
}

/// Claims up to `limit` servers that have deliveries due, for `lease`: until it runs out (or
/// is released), no other pass sends to them, so each server gets one request at a time, in
/// queue order, from all processes together. A process that dies leaves its claims to run
/// out. On PostgreSQL, servers another process is claiming are skipped (`SKIP LOCKED`).
/// Call it in a write transaction (`Database::write`).
pub fn claim_servers(
    conn: &mut AnyConnection,
    limit: i64,
    lease: TimeDelta,
) -> QueryResult<Vec<ServerRow>> {
    let now = Utc::now().naive_utc();
    let until = now + lease;
    let due = servers::table
        .filter(servers::next_attempt_at.le(now))
        .filter(
            servers::claimed_until
                .is_null()
                .or(servers::claimed_until.le(now)),
        )
        .filter(diesel::dsl::exists(
            deliveries::table.filter(deliveries::host.eq(servers::host)),
        ))
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

/// Keeps a claim alive while its pass is still sending.
pub fn renew(conn: &mut AnyConnection, host: &str, lease: TimeDelta) -> QueryResult<()> {
    diesel::update(servers::table.find(host))
        .set(servers::claimed_until.eq(Utc::now().naive_utc() + lease))
        .execute(conn)
        .map(|_| ())
}

/// Ends a claim.
pub fn release(conn: &mut AnyConnection, host: &str) -> QueryResult<()> {
    diesel::update(servers::table.find(host))
        .set(servers::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)
        .map(|_| ())
}

/// Ends every claim: for a process starting on SQLite, where only one process delivers, so
/// any claim left is from a process that died.
pub fn release_all(conn: &mut AnyConnection) -> QueryResult<usize> {
    diesel::update(servers::table.filter(servers::claimed_until.is_not_null()))
        .set(servers::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)
}

/// The next deliveries to `host`, in the order they were queued.
pub fn queued_for(conn: &mut AnyConnection, host: &str, limit: i64) -> QueryResult<Vec<Queued>> {
    let rows: Vec<(DeliveryRow, i64, String)> = deliveries::table
        .inner_join(outbox::table)
        .filter(deliveries::host.eq(host))
        .order(deliveries::id.asc())
        .limit(limit)
        .select((DeliveryRow::as_select(), outbox::signer_id, outbox::body))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, signer_id, body)| Queued {
            delivery,
            signer_id,
            body,
        })
        .collect())
}

/// Removes outbox entries that no delivery waits for any more (`only`: just that one).
fn sweep_outbox(conn: &mut AnyConnection, only: Option<i64>) -> QueryResult<usize> {
    let unused = outbox::table.filter(diesel::dsl::not(diesel::dsl::exists(
        deliveries::table.filter(deliveries::outbox_id.eq(outbox::id)),
    )));
    match only {
        Some(id) => diesel::delete(unused.filter(outbox::id.eq(id))).execute(conn),
        None => diesel::delete(unused).execute(conn),
    }
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

/// Removes a delivery that is done (delivered, refused for good, or not for this server);
/// `reached` names the server if it answered, which ends its failing streak.
pub fn finish(
    conn: &mut AnyConnection,
    delivery: &DeliveryRow,
    reached: Option<&str>,
) -> QueryResult<()> {
    diesel::delete(deliveries::table.find(delivery.id)).execute(conn)?;
    sweep_outbox(conn, Some(delivery.outbox_id))?;
    if let Some(host) = reached {
        diesel::update(servers::table.find(host))
            .set((
                servers::failures.eq(0),
                servers::failing_since.eq(None::<NaiveDateTime>),
                servers::unreachable_since.eq(None::<NaiveDateTime>),
                servers::last_success_at.eq(Some(Utc::now().naive_utc())),
                servers::last_error.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A failed attempt at delivery `id`, and what it means for its server.
#[derive(Clone, Debug)]
pub struct Failure {
    pub next_attempt_at: NaiveDateTime,
    pub failing_since: NaiveDateTime,
    pub unreachable_since: Option<NaiveDateTime>,
    pub error: String,
}

/// Records a failed attempt: the delivery counts it, the server waits until
/// `failure.next_attempt_at`, and the server's deliveries queued before `give_up_before` are
/// dropped. Returns how many were dropped.
pub fn fail(
    conn: &mut AnyConnection,
    id: i64,
    host: &str,
    failure: &Failure,
    give_up_before: NaiveDateTime,
) -> QueryResult<usize> {
    let error: String = failure.error.chars().take(500).collect();
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::last_error.eq(Some(&error)),
        ))
        .execute(conn)?;
    diesel::update(servers::table.find(host))
        .set((
            servers::failures.eq(servers::failures + 1),
            servers::next_attempt_at.eq(failure.next_attempt_at),
            servers::failing_since.eq(Some(failure.failing_since)),
            servers::unreachable_since.eq(failure.unreachable_since),
            servers::last_error.eq(Some(&error)),
            servers::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    let dropped = diesel::delete(
        deliveries::table
            .filter(deliveries::host.eq(host))
            .filter(deliveries::created_at.lt(give_up_before)),
    )
    .execute(conn)?;
    if dropped > 0 {
        sweep_outbox(conn, None)?;
    }
    Ok(dropped)
}

/// How many deliveries are pending.
pub fn pending_count(conn: &mut AnyConnection) -> QueryResult<i64> {
    deliveries::table.count().get_result(conn)
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
    /// Deliveries waiting.
    pub pending: i64,
    /// Of which have failed at least once.
    pub failing: i64,
    /// When the server is next tried.
    pub next_attempt_at: NaiveDateTime,
    /// The oldest waiting delivery.
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
    let waiting: Vec<(String, i64, Option<NaiveDateTime>)> = deliveries::table
        .group_by(deliveries::host)
        .select((
            deliveries::host,
            diesel::dsl::count_star(),
            diesel::dsl::min(deliveries::created_at),
        ))
        .load(conn)?;
    let failing: std::collections::HashMap<String, i64> = deliveries::table
        .filter(deliveries::attempts.gt(0))
        .group_by(deliveries::host)
        .select((deliveries::host, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let waiting: std::collections::HashMap<String, (i64, Option<NaiveDateTime>)> = waiting
        .into_iter()
        .map(|(host, pending, oldest)| (host, (pending, oldest)))
        .collect();
    let rows: Vec<ServerRow> = servers::table.select(ServerRow::as_select()).load(conn)?;
    let mut list: Vec<HostQueue> = rows
        .into_iter()
        .filter(|s| waiting.contains_key(&s.host) || s.failures > 0)
        .map(|s| {
            let (pending, oldest) = waiting.get(&s.host).copied().unwrap_or((0, None));
            HostQueue {
                failing: failing.get(&s.host).copied().unwrap_or(0),
                pending,
                oldest,
                host: s.host,
                software: s.software,
                next_attempt_at: s.next_attempt_at,
                failing_since: s.failing_since,
                unreachable_since: s.unreachable_since,
                last_error: s.last_error,
            }
        })
        .collect();
    list.sort_by(|a, b| b.pending.cmp(&a.pending).then(a.host.cmp(&b.host)));
    Ok(list)
}

/// Canonical spelling of a host typed by an operator.
fn canonical(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Makes `host` due now (it stays marked unreachable until a delivery succeeds); returns how
/// many deliveries wait for it.
pub fn retry_host(conn: &mut AnyConnection, host: &str) -> QueryResult<i64> {
    let host = canonical(host);
    diesel::update(servers::table.find(&host))
        .set(servers::next_attempt_at.eq(Utc::now().naive_utc()))
        .execute(conn)?;
    deliveries::table
        .filter(deliveries::host.eq(&host))
        .count()
        .get_result(conn)
}

/// Drops every delivery to `host`; returns how many.
pub fn drop_host(conn: &mut AnyConnection, host: &str) -> QueryResult<usize> {
    let dropped = diesel::delete(deliveries::table.filter(deliveries::host.eq(canonical(host))))
        .execute(conn)?;
    sweep_outbox(conn, None)?;
    Ok(dropped)
}
