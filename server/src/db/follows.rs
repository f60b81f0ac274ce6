//! The `follows` table: people following people, and members of groups.

use super::actors::ActorRow;
use super::{
    AnyConnection,
    schema::{actors, follows},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One follow (or membership).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = follows)]
pub struct FollowRow {
    pub id: i64,
    /// The Follow activity's id.
    pub ap_id: String,
    pub follower_id: i64,
    pub target_id: i64,
    /// False while the request waits for approval.
    pub accepted: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The follow of `follower_id` to `target_id`, if any.
pub fn between(
    conn: &mut AnyConnection,
    follower_id: i64,
    target_id: i64,
) -> QueryResult<Option<FollowRow>> {
    on_engine!(conn, |c| follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::target_id.eq(target_id))
        .select(FollowRow::as_select())
        .get_result(c)
        .optional())
}

/// The follow with this activity id.
pub fn by_ap_id(conn: &mut AnyConnection, ap_id: &str) -> QueryResult<Option<FollowRow>> {
    follows::table
        .filter(follows::ap_id.eq(ap_id))
        .select(FollowRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records a follow, replacing an earlier one between the same two actors.
pub fn upsert(conn: &mut AnyConnection, row: &FollowRow) -> QueryResult<()> {
    remove(conn, row.follower_id, row.target_id)?;
    diesel::insert_into(follows::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Marks a pending follow accepted.
pub fn accept(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::update(follows::table.find(id))
        .set((
            follows::accepted.eq(true),
            follows::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes the follow between two actors; returns whether there was one.
pub fn remove(conn: &mut AnyConnection, follower_id: i64, target_id: i64) -> QueryResult<bool> {
    diesel::delete(
        follows::table
            .filter(follows::follower_id.eq(follower_id))
            .filter(follows::target_id.eq(target_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Followers of `target_id` (accepted ones, or pending requests), oldest first.
pub fn followers(
    conn: &mut AnyConnection,
    target_id: i64,
    accepted: bool,
) -> QueryResult<Vec<(FollowRow, ActorRow)>> {
    follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target_id))
        .filter(follows::accepted.eq(accepted))
        .order(follows::id.asc())
        .select((FollowRow::as_select(), ActorRow::as_select()))
        .load(conn)
}

/// The inboxes of `target_id`'s accepted followers on other servers: one per server where a
/// shared inbox is known.
pub fn remote_inboxes(conn: &mut AnyConnection, target_id: i64) -> QueryResult<Vec<String>> {
    // Deduplicated by the database, from the index alone: a group's thousand members live on
    // a few servers, and each follow knows where its follower's deliveries go.
    on_engine!(conn, |c| follows::table
        .filter(follows::target_id.eq(target_id))
        .filter(follows::accepted.eq(true))
        .filter(follows::delivery_inbox.is_not_null())
        .select(follows::delivery_inbox.assume_not_null())
        .distinct()
        .order_by(follows::delivery_inbox)
        .load(c))
}

/// Ids of the actors `follower_id` follows (accepted).
pub fn followed_ids(conn: &mut AnyConnection, follower_id: i64) -> QueryResult<Vec<i64>> {
    follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::accepted.eq(true))
        .select(follows::target_id)
        .load(conn)
}

/// A new follow row.
pub fn new_row(ap_id: String, follower_id: i64, target_id: i64, accepted: bool) -> FollowRow {
    let now = Utc::now().naive_utc();
    FollowRow {
        id: super::id::new_id(),
        ap_id,
        follower_id,
        target_id,
        accepted,
        created_at: now,
        updated_at: now,
    }
}

/// How many local actors follow `target_id` (accepted).
pub fn follower_count_local(conn: &mut AnyConnection, target_id: i64) -> QueryResult<i64> {
    follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target_id))
        .filter(follows::accepted.eq(true))
        .filter(actors::local.eq(true))
        .count()
        .get_result(conn)
}

/// Applies Mastodon page bounds over follow ids to a boxed query of `(follow id, actor)` rows
/// and loads the page, the newest follow first.
macro_rules! page_by_follow_id {
    ($conn:expr, $query:expr, $bounds:expr) => {{
        let bounds: super::posts::Page = $bounds;
        let mut query = $query;
        if let Some(max_id) = bounds.max_id {
            query = query.filter(follows::id.lt(max_id));
        }
        if let Some(since_id) = bounds.since_id {
            query = query.filter(follows::id.gt(since_id));
        }
        let oldest_first = bounds.min_id.is_some();
        query = match bounds.min_id {
            Some(min_id) => query
                .filter(follows::id.gt(min_id))
                .order(follows::id.asc()),
            None => query.order(follows::id.desc()),
        };
        let mut rows: Vec<(i64, ActorRow)> = query.limit(bounds.limit).load($conn)?;
        if oldest_first {
            rows.reverse();
        }
        Ok(rows)
    }};
}

/// A page of `target_id`'s followers (accepted ones, or pending requests), the newest follow
/// first, each with the follow's id (what the page's bounds refer to, as on Mastodon).
pub fn followers_page(
    conn: &mut AnyConnection,
    target_id: i64,
    accepted: bool,
    bounds: super::posts::Page,
) -> QueryResult<Vec<(i64, ActorRow)>> {
    let query = follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::follower_id)))
        .filter(follows::target_id.eq(target_id))
        .filter(follows::accepted.eq(accepted))
        .select((follows::id, ActorRow::as_select()))
        .into_boxed();
    page_by_follow_id!(conn, query, bounds)
}

/// A page of the people (not groups: memberships are not shown) `follower_id` follows,
/// the newest follow first, each with the follow's id.
pub fn following_page(
    conn: &mut AnyConnection,
    follower_id: i64,
    bounds: super::posts::Page,
) -> QueryResult<Vec<(i64, ActorRow)>> {
    let query = follows::table
        .inner_join(actors::table.on(actors::id.eq(follows::target_id)))
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::accepted.eq(true))
        .filter(actors::kind.ne(hearth_federation::protocol::actor::ActorKind::Group.as_str()))
        .select((follows::id, ActorRow::as_select()))
        .into_boxed();
    page_by_follow_id!(conn, query, bounds)
}
