//! The `reblogs` table: people's boosts of posts.

use super::{
    AnyConnection,
    actors::ActorRow,
    posts::{Page, PostRow},
    schema::{actors, follows, posts, reblogs},
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
    #[diesel(deserialize_as = crate::db::time::Stamp)]
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

/// The page of boosts (of posts not deleted) that `$which` chooses, newest first (the oldest
/// page after `min_id`), with the boosted posts.
macro_rules! boosts_page {
    ($conn:expr, $bounds:expr, $which:expr) => {{
        let bounds: Page = $bounds;
        let (upper, lower) = bounds.id_range();
        macro_rules! query {
            () => {
                reblogs::table
                    .inner_join(posts::table)
                    .filter($which)
                    .filter(reblogs::id.lt(upper))
                    .filter(reblogs::id.gt(lower))
                    .filter(posts::deleted_at.is_null())
                    .select((ReblogRow::as_select(), PostRow::as_select()))
            };
        }
        let mut found: Vec<(ReblogRow, PostRow)> = if bounds.min_id.is_some() {
            super::first_rows!($conn, query!().order(reblogs::id.asc()), bounds.limit)?
        } else {
            super::first_rows!($conn, query!().order(reblogs::id.desc()), bounds.limit)?
        };
        if bounds.min_id.is_some() {
            found.reverse();
        }
        Ok(found)
    }};
}

/// A page of an account's boosts, newest first (the oldest page after `min_id`), with the
/// boosted posts.
pub fn by_actor(
    conn: &mut AnyConnection,
    actor: i64,
    bounds: Page,
) -> QueryResult<Vec<(ReblogRow, PostRow)>> {
    boosts_page!(conn, bounds, reblogs::actor_id.eq(actor))
}

/// A page of the boosts by `reader` and by whom they follow, as [`by_actor`]: what their
/// home timeline shows. Boosts are rare beside posts: the page walks them newest first,
/// checking each against the follows' index.
pub fn of_followed(
    conn: &mut AnyConnection,
    reader: i64,
    bounds: Page,
) -> QueryResult<Vec<(ReblogRow, PostRow)>> {
    boosts_page!(
        conn,
        bounds,
        reblogs::actor_id.eq(reader).or(diesel::dsl::exists(
            follows::table
                .filter(follows::follower_id.eq(reader))
                .filter(follows::target_id.eq(reblogs::actor_id))
                .filter(follows::accepted),
        ))
    )
}
