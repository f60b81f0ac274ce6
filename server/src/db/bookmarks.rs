//! The `bookmarks` table: posts a person keeps for later, seen only by them.

use super::{
    AnyConnection,
    posts::{Page, PostRow},
    schema::{bookmarks, posts},
};
use chrono::Utc;
use diesel::prelude::*;

/// Bookmarks `post_id` for `actor_id`; bookmarking twice keeps one.
pub fn add(conn: &mut AnyConnection, actor_id: i64, post_id: i64) -> QueryResult<()> {
    if is_bookmarked(conn, actor_id, post_id)? {
        return Ok(());
    }
    diesel::insert_into(bookmarks::table)
        .values((
            bookmarks::id.eq(super::id::new_id()),
            bookmarks::actor_id.eq(actor_id),
            bookmarks::post_id.eq(post_id),
            bookmarks::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes a bookmark, if there is one.
pub fn remove(conn: &mut AnyConnection, actor_id: i64, post_id: i64) -> QueryResult<()> {
    diesel::delete(
        bookmarks::table
            .filter(bookmarks::actor_id.eq(actor_id))
            .filter(bookmarks::post_id.eq(post_id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Whether `actor_id` bookmarked `post_id`.
pub fn is_bookmarked(conn: &mut AnyConnection, actor_id: i64, post_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        bookmarks::table
            .filter(bookmarks::actor_id.eq(actor_id))
            .filter(bookmarks::post_id.eq(post_id)),
    ))
    .get_result(conn)
}

/// A page of a person's bookmarks, newest bookmark first, each with the bookmark's id (what
/// the page's bounds refer to, as in Mastodon).
pub fn page(
    conn: &mut AnyConnection,
    actor_id: i64,
    bounds: Page,
) -> QueryResult<Vec<(i64, PostRow)>> {
    let (upper, lower) = bounds.id_range();
    super::first_rows!(
        conn,
        bookmarks::table
            .inner_join(posts::table.on(posts::id.eq(bookmarks::post_id)))
            .filter(bookmarks::actor_id.eq(actor_id))
            .filter(bookmarks::id.lt(upper))
            .filter(bookmarks::id.gt(lower))
            .filter(posts::deleted_at.is_null())
            .select((bookmarks::id, PostRow::as_select()))
            .order(bookmarks::id.desc()),
        bounds.limit
    )
}
