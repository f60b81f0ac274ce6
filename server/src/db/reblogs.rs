//! The `reblogs` table: people's boosts of posts.

use super::{
    AnyConnection,
    actors::ActorRow,
    posts::{Page, PostRow},
    schema::{actors, posts, reblogs},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One boost.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = reblogs)]
pub struct ReblogRow {
    pub id: i64,
    /// The `Announce`'s id.
    pub ap_id: String,
    pub actor_id: i64,
    pub post_id: i64,
    /// `public` or `unlisted`.
    pub visibility: String,
    pub created_at: NaiveDateTime,
}

/// Stores a boost; a second of the same post by the same person changes nothing.
pub fn insert(conn: &mut AnyConnection, row: &ReblogRow) -> QueryResult<bool> {
    on_engine!(conn, |c| diesel::insert_into(reblogs::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
    .map(|n| n > 0)
}

/// `actor`'s boost of `post`, if any.
pub fn of(conn: &mut AnyConnection, actor: i64, post: i64) -> QueryResult<Option<ReblogRow>> {
    on_engine!(conn, |c| reblogs::table
        .filter(reblogs::actor_id.eq(actor))
        .filter(reblogs::post_id.eq(post))
        .select(ReblogRow::as_select())
        .get_result(c)
        .optional())
}

/// A boost by its `Announce`'s id.
pub fn by_ap_id(conn: &mut AnyConnection, ap_id: &str) -> QueryResult<Option<ReblogRow>> {
    on_engine!(conn, |c| reblogs::table
        .filter(reblogs::ap_id.eq(ap_id))
        .select(ReblogRow::as_select())
        .get_result(c)
        .optional())
}

/// Removes a boost.
pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::delete(reblogs::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// A page of who boosted a post, newest boost first, each with the boost's id.
pub fn boosters(
    conn: &mut AnyConnection,
    post: i64,
    bounds: Page,
) -> QueryResult<Vec<(i64, ActorRow)>> {
    let mut query = reblogs::table
        .inner_join(actors::table.on(actors::id.eq(reblogs::actor_id)))
        .filter(reblogs::post_id.eq(post))
        .select((reblogs::id, ActorRow::as_select()))
        .into_boxed();
    if let Some(max_id) = bounds.max_id {
        query = query.filter(reblogs::id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id.or(bounds.min_id) {
        query = query.filter(reblogs::id.gt(since_id));
    }
    query
        .order(reblogs::id.desc())
        .limit(bounds.limit)
        .load(conn)
}

/// A page of the boosts by any of `actors` (of posts not deleted), newest first (the oldest
/// page after `min_id`), with the boosted posts: what a timeline shows of whom it follows.
pub fn by_actors(
    conn: &mut AnyConnection,
    actors: &[i64],
    bounds: Page,
) -> QueryResult<Vec<(ReblogRow, PostRow)>> {
    if actors.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = reblogs::table
        .inner_join(posts::table)
        .filter(reblogs::actor_id.eq_any(actors.to_vec()))
        .filter(posts::deleted_at.is_null())
        .select((ReblogRow::as_select(), PostRow::as_select()))
        .into_boxed();
    if let Some(max_id) = bounds.max_id {
        query = query.filter(reblogs::id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id {
        query = query.filter(reblogs::id.gt(since_id));
    }
    if let Some(min_id) = bounds.min_id {
        query = query
            .filter(reblogs::id.gt(min_id))
            .order(reblogs::id.asc());
    } else {
        query = query.order(reblogs::id.desc());
    }
    let mut found: Vec<(ReblogRow, PostRow)> = query.limit(bounds.limit).load(conn)?;
    if bounds.min_id.is_some() {
        found.reverse();
    }
    Ok(found)
}
