//! The `blocks` and `mutes` tables, and the one rule of whose posts and notifications a person
//! does not want to see ([`hidden_from`]), which timelines and notifications apply in their
//! queries.

use super::{
    AnyConnection,
    actors::ActorRow,
    posts::Page,
    schema::{actors, blocks, mutes},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One block.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = blocks)]
pub struct BlockRow {
    pub id: i64,
    /// The Block activity's id (ours, or the remote blocker's).
    pub ap_id: String,
    /// Who blocks.
    pub actor_id: i64,
    /// Who is blocked.
    pub target_id: i64,
    pub created_at: NaiveDateTime,
}

/// One mute.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = mutes)]
pub struct MuteRow {
    pub id: i64,
    /// Who mutes (a local person).
    pub actor_id: i64,
    /// Who is muted.
    pub target_id: i64,
    /// Whether the muted account's notifications are hidden too.
    pub notifications: bool,
    /// When the mute ends by itself; `None`: it lasts until undone.
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// The block of `actor_id` on `target_id`, if any.
pub fn between(
    conn: &mut AnyConnection,
    actor_id: i64,
    target_id: i64,
) -> QueryResult<Option<BlockRow>> {
    blocks::table
        .filter(blocks::actor_id.eq(actor_id))
        .filter(blocks::target_id.eq(target_id))
        .select(BlockRow::as_select())
        .get_result(conn)
        .optional()
}

/// Whether `actor_id` blocks `target_id`.
pub fn is_blocking(conn: &mut AnyConnection, actor_id: i64, target_id: i64) -> QueryResult<bool> {
    Ok(between(conn, actor_id, target_id)?.is_some())
}

/// Records a block (`ap_id`: its Block activity), replacing an earlier one between the two.
pub fn insert(
    conn: &mut AnyConnection,
    ap_id: &str,
    actor_id: i64,
    target_id: i64,
) -> QueryResult<BlockRow> {
    remove(conn, actor_id, target_id)?;
    let row = BlockRow {
        id: super::id::new_id(),
        ap_id: ap_id.to_owned(),
        actor_id,
        target_id,
        created_at: Utc::now().naive_utc(),
    };
    diesel::insert_into(blocks::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Removes the block of `actor_id` on `target_id`; returns it if there was one.
pub fn remove(
    conn: &mut AnyConnection,
    actor_id: i64,
    target_id: i64,
) -> QueryResult<Option<BlockRow>> {
    let existing = between(conn, actor_id, target_id)?;
    if let Some(row) = &existing {
        diesel::delete(blocks::table.find(row.id)).execute(conn)?;
    }
    Ok(existing)
}

/// The block of `actor_id` whose activity is `ap_id`, if any.
pub fn by_ap_id(
    conn: &mut AnyConnection,
    actor_id: i64,
    ap_id: &str,
) -> QueryResult<Option<BlockRow>> {
    blocks::table
        .filter(blocks::ap_id.eq(ap_id))
        .filter(blocks::actor_id.eq(actor_id))
        .select(BlockRow::as_select())
        .get_result(conn)
        .optional()
}

/// A page of the accounts `actor_id` blocks, newest block first, each with the block's id
/// (what the page's bounds refer to).
pub fn blocked_by(
    conn: &mut AnyConnection,
    actor_id: i64,
    bounds: Page,
) -> QueryResult<Vec<(i64, ActorRow)>> {
    let mut query = blocks::table
        .inner_join(actors::table.on(actors::id.eq(blocks::target_id)))
        .filter(blocks::actor_id.eq(actor_id))
        .select((blocks::id, ActorRow::as_select()))
        .into_boxed();
    if let Some(max_id) = bounds.max_id {
        query = query.filter(blocks::id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id.or(bounds.min_id) {
        query = query.filter(blocks::id.gt(since_id));
    }
    query
        .order(blocks::id.desc())
        .limit(bounds.limit)
        .load(conn)
}

/// The mute of `actor_id` on `target_id`, if there is one still in force.
pub fn mute_between(
    conn: &mut AnyConnection,
    actor_id: i64,
    target_id: i64,
) -> QueryResult<Option<MuteRow>> {
    let now = Utc::now().naive_utc();
    mutes::table
        .filter(mutes::actor_id.eq(actor_id))
        .filter(mutes::target_id.eq(target_id))
        .filter(mutes::expires_at.is_null().or(mutes::expires_at.gt(now)))
        .select(MuteRow::as_select())
        .get_result(conn)
        .optional()
}

/// Mutes `target_id` for `actor_id`, replacing an earlier mute of the same account.
pub fn mute(
    conn: &mut AnyConnection,
    actor_id: i64,
    target_id: i64,
    notifications: bool,
    expires_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    unmute(conn, actor_id, target_id)?;
    let row = MuteRow {
        id: super::id::new_id(),
        actor_id,
        target_id,
        notifications,
        expires_at,
        created_at: Utc::now().naive_utc(),
    };
    diesel::insert_into(mutes::table)
        .values(&row)
        .execute(conn)
        .map(|_| ())
}

/// Ends the mute of `actor_id` on `target_id`, expired or not.
pub fn unmute(conn: &mut AnyConnection, actor_id: i64, target_id: i64) -> QueryResult<()> {
    diesel::delete(
        mutes::table
            .filter(mutes::actor_id.eq(actor_id))
            .filter(mutes::target_id.eq(target_id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// A page of the accounts `actor_id` mutes (mutes in force), newest mute first, each with the
/// mute (its id is what the page's bounds refer to).
pub fn muted_by(
    conn: &mut AnyConnection,
    actor_id: i64,
    bounds: Page,
) -> QueryResult<Vec<(MuteRow, ActorRow)>> {
    let now = Utc::now().naive_utc();
    let mut query = mutes::table
        .inner_join(actors::table.on(actors::id.eq(mutes::target_id)))
        .filter(mutes::actor_id.eq(actor_id))
        .filter(mutes::expires_at.is_null().or(mutes::expires_at.gt(now)))
        .select((MuteRow::as_select(), ActorRow::as_select()))
        .into_boxed();
    if let Some(max_id) = bounds.max_id {
        query = query.filter(mutes::id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id.or(bounds.min_id) {
        query = query.filter(mutes::id.gt(since_id));
    }
    query.order(mutes::id.desc()).limit(bounds.limit).load(conn)
}

/// What a list is hidden from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hiding {
    /// Timelines (home, public, a group's): blocked and muted accounts.
    Posts,
    /// Notifications: blocked accounts, and muted ones whose mute covers notifications.
    Notifications,
}

/// The accounts whose posts (or notifications) `viewer` has chosen not to see: those they
/// block, and those they mute (for notifications, only mutes that cover them). The one rule
/// timelines and notifications filter by, in their queries (`author_id NOT IN ...`,
/// `from_id NOT IN ...`). Who may see a post at all is decided elsewhere
/// (`service::posts::can_view`: someone who blocks a person hides their posts from them).
pub fn hidden_from(conn: &mut AnyConnection, viewer: i64, hiding: Hiding) -> QueryResult<Vec<i64>> {
    let now = Utc::now().naive_utc();
    let mut ids: Vec<i64> = on_engine!(conn, |c| blocks::table
        .filter(blocks::actor_id.eq(viewer))
        .select(blocks::target_id)
        .load(c))?;
    // Muting notifications too, or either way.
    let notifications_only = hiding == Hiding::Notifications;
    ids.extend(on_engine!(conn, |c| mutes::table
        .filter(mutes::actor_id.eq(viewer))
        .filter(mutes::expires_at.is_null().or(mutes::expires_at.gt(now)))
        .filter(mutes::notifications.or(diesel::dsl::not(
            notifications_only.into_sql::<diesel::sql_types::Bool>()
        )))
        .select(mutes::target_id)
        .load::<i64>(c))?);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}
