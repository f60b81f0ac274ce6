//! The outbox (`deliveries`) and the record of received activity ids.

use super::{
    AnyConnection,
    schema::{deliveries, received_activities},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One pending delivery of one activity to one inbox.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub activity_ap_id: String,
    /// The actor whose key signs the request.
    pub signer_id: i64,
    pub inbox: String,
    /// The activity JSON.
    pub body: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Queues `body` for each inbox, in the caller's transaction.
pub fn enqueue(
    conn: &mut AnyConnection,
    activity_ap_id: &str,
    signer_id: i64,
    body: &str,
    inboxes: &[String],
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    for inbox in inboxes {
        diesel::insert_into(deliveries::table)
            .values(DeliveryRow {
                id: super::id::new_id(),
                activity_ap_id: activity_ap_id.to_owned(),
                signer_id,
                inbox: inbox.clone(),
                body: body.to_owned(),
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                created_at: now,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Claims up to `limit` due deliveries, oldest first, by pushing their next attempt `lease`
/// ahead: a crash before they are settled leaves them to be retried when the lease runs out.
/// On PostgreSQL, rows another process is claiming are skipped (`FOR UPDATE SKIP LOCKED`), so
/// several `hearth serve` processes share the queue and deliver each row once.
pub fn claim(
    conn: &mut AnyConnection,
    limit: i64,
    lease: chrono::TimeDelta,
) -> QueryResult<Vec<DeliveryRow>> {
    let now = Utc::now().naive_utc();
    let until = now + lease;
    let due = deliveries::table
        .filter(deliveries::next_attempt_at.le(now))
        .order(deliveries::id.asc())
        .limit(limit);
    let rows: Vec<DeliveryRow> = match conn {
        AnyConnection::Postgresql(pg) => pg.transaction(|pg| {
            let rows: Vec<DeliveryRow> = due
                .for_update()
                .skip_locked()
                .select(DeliveryRow::as_select())
                .load(pg)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
                .set(deliveries::next_attempt_at.eq(until))
                .execute(pg)?;
            QueryResult::Ok(rows)
        })?,
        AnyConnection::Sqlite(lite) => lite.immediate_transaction(|lite| {
            let rows: Vec<DeliveryRow> = due.select(DeliveryRow::as_select()).load(lite)?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            diesel::update(deliveries::table.filter(deliveries::id.eq_any(ids)))
                .set(deliveries::next_attempt_at.eq(until))
                .execute(lite)?;
            QueryResult::Ok(rows)
        })?,
    };
    Ok(rows)
}

/// Removes a delivery that is done (delivered, or refused for good).
pub fn finish(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::delete(deliveries::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Schedules another attempt.
pub fn retry_at(
    conn: &mut AnyConnection,
    id: i64,
    at: NaiveDateTime,
    error: &str,
) -> QueryResult<()> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::next_attempt_at.eq(at),
            deliveries::last_error.eq(Some(error.chars().take(500).collect::<String>())),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Moves a delivery's next attempt without counting an attempt (it waits behind another).
pub fn postpone(
    conn: &mut AnyConnection,
    id: i64,
    at: NaiveDateTime,
    error: &str,
) -> QueryResult<()> {
    diesel::update(deliveries::table.find(id))
        .set((
            deliveries::next_attempt_at.eq(at),
            deliveries::last_error.eq(Some(format!(
                "waiting behind: {}",
                error.chars().take(400).collect::<String>()
            ))),
        ))
        .execute(conn)
        .map(|_| ())
}

/// How many deliveries are pending.
pub fn pending_count(conn: &mut AnyConnection) -> QueryResult<i64> {
    deliveries::table.count().get_result(conn)
}

/// Records an activity id; returns false if it was already received.
pub fn first_receipt(conn: &mut AnyConnection, ap_id: &str) -> QueryResult<bool> {
    let seen: i64 = received_activities::table
        .filter(received_activities::ap_id.eq(ap_id))
        .count()
        .get_result(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    match diesel::insert_into(received_activities::table)
        .values((
            received_activities::ap_id.eq(ap_id),
            received_activities::received_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The queue of one receiving server.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HostQueue {
    /// `host[:port]`.
    pub host: String,
    /// Deliveries waiting.
    pub pending: usize,
    /// Of which have failed at least once.
    pub failing: usize,
    /// The earliest next attempt.
    pub next_attempt_at: NaiveDateTime,
    /// The oldest waiting delivery.
    pub oldest: NaiveDateTime,
    /// The most recent error, if any.
    pub last_error: Option<String>,
}

fn host_of(inbox: &str) -> String {
    url::Url::parse(inbox)
        .map(|u| hearth_federation::protocol::authority(&u))
        .unwrap_or_default()
}

/// The queue, server by server, the longest first.
pub fn queues(conn: &mut AnyConnection) -> QueryResult<Vec<HostQueue>> {
    let rows: Vec<DeliveryRow> = deliveries::table
        .order(deliveries::id.asc())
        .select(DeliveryRow::as_select())
        .load(conn)?;
    let mut by_host: std::collections::BTreeMap<String, HostQueue> =
        std::collections::BTreeMap::new();
    for row in rows {
        let host = host_of(&row.inbox);
        let queue = by_host.entry(host.clone()).or_insert_with(|| HostQueue {
            host,
            pending: 0,
            failing: 0,
            next_attempt_at: row.next_attempt_at,
            oldest: row.created_at,
            last_error: None,
        });
        queue.pending += 1;
        if row.attempts > 0 {
            queue.failing += 1;
        }
        queue.next_attempt_at = queue.next_attempt_at.min(row.next_attempt_at);
        queue.oldest = queue.oldest.min(row.created_at);
        if row.last_error.is_some() {
            queue.last_error = row.last_error.clone();
        }
    }
    let mut list: Vec<HostQueue> = by_host.into_values().collect();
    list.sort_by(|a, b| b.pending.cmp(&a.pending).then(a.host.cmp(&b.host)));
    Ok(list)
}

/// Makes every delivery to `host` due now; returns how many.
pub fn retry_host(conn: &mut AnyConnection, host: &str) -> QueryResult<usize> {
    let ids = ids_for_host(conn, host)?;
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set(deliveries::next_attempt_at.eq(Utc::now().naive_utc()))
        .execute(conn)
}

/// Drops every delivery to `host`; returns how many.
pub fn drop_host(conn: &mut AnyConnection, host: &str) -> QueryResult<usize> {
    let ids = ids_for_host(conn, host)?;
    diesel::delete(deliveries::table.filter(deliveries::id.eq_any(&ids))).execute(conn)
}

fn ids_for_host(conn: &mut AnyConnection, host: &str) -> QueryResult<Vec<i64>> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let rows: Vec<(i64, String)> = deliveries::table
        .select((deliveries::id, deliveries::inbox))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, inbox)| host_of(inbox) == host)
        .map(|(id, _)| id)
        .collect())
}
