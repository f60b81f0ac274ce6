//! The `audit_log` and `audit_head` tables: the hash-chained record of admin and moderator
//! acts (the rules are in `service::audit`).

use super::{
    AnyConnection,
    schema::{audit_head, audit_log},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    /// Its place in the chain: 1, 2, 3...
    pub id: i64,
    pub created_at: NaiveDateTime,
    /// The local person who acted; `None` for the command line.
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub actor_role: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub target_name: String,
    pub detail: String,
    pub reason: Option<String>,
    /// The hash of the entry before (zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of `prev_hash` and this entry's fields.
    pub hash: String,
}

/// The end of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit_head)]
pub struct Head {
    /// The last entry's id (0 when there is none).
    pub last_id: i64,
    /// The last entry's hash.
    pub last_hash: String,
}

/// The end of the chain, locked for the rest of the transaction: on PostgreSQL with
/// `FOR UPDATE`, so that a second process appending waits for this one and then sees its
/// entry; SQLite has one writer at a time already.
pub fn lock_head(conn: &mut AnyConnection) -> QueryResult<Head> {
    match conn {
        AnyConnection::Postgresql(c) => audit_head::table
            .find(1)
            .select(Head::as_select())
            .for_update()
            .get_result(c),
        AnyConnection::Sqlite(c) => audit_head::table
            .find(1)
            .select(Head::as_select())
            .get_result(c),
    }
}

/// The end of the chain as it is now, for checking.
pub fn head(conn: &mut AnyConnection) -> QueryResult<Head> {
    audit_head::table
        .find(1)
        .select(Head::as_select())
        .get_result(conn)
}

/// Appends `row` and moves the head to it (the head must be locked by [`lock_head`]).
pub fn append(conn: &mut AnyConnection, row: &AuditRow) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set((
            audit_head::last_id.eq(row.id),
            audit_head::last_hash.eq(&row.hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` entries after `after_id`, in chain order (for checking the chain).
pub fn after(conn: &mut AnyConnection, after_id: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(audit_log::id.gt(after_id))
        .order(audit_log::id.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

/// Which entries to list.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this action (as stored).
    pub action: Option<String>,
    /// Only acts by the person with this handle (`console` for the command line).
    pub actor_name: Option<String>,
}

/// A page of entries matching `filter`, the newest first.
pub fn page(
    conn: &mut AnyConnection,
    filter: &Filter,
    bounds: super::posts::Page,
) -> QueryResult<Vec<AuditRow>> {
    let (below, above) = bounds.id_range();
    let mut query = audit_log::table
        .filter(audit_log::id.lt(below))
        .filter(audit_log::id.gt(above))
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(name) = &filter.actor_name {
        query = query.filter(audit_log::actor_name.eq(name.clone()));
    }
    // `min_id` pages forward from it: the entries just after it, shown newest first.
    let oldest_first = bounds.min_id.is_some();
    query = if oldest_first {
        query.order(audit_log::id.asc())
    } else {
        query.order(audit_log::id.desc())
    };
    let mut rows = query.limit(bounds.limit).load(conn)?;
    if oldest_first {
        rows.reverse();
    }
    Ok(rows)
}
