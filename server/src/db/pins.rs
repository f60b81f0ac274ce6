//! The `pins` table: posts people show first on their profile.

use super::{
    AnyConnection,
    posts::PostRow,
    schema::{pins, posts},
};
use chrono::Utc;
use diesel::prelude::*;

/// How many posts one person may pin, as in Mastodon.
pub const MAX_PINS: i64 = 5;

/// Pins a post; pinning twice keeps one.
pub fn add(conn: &mut AnyConnection, actor_id: i64, post_id: i64) -> QueryResult<()> {
    if is_pinned(conn, actor_id, post_id)? {
        return Ok(());
    }
    diesel::insert_into(pins::table)
        .values((
            pins::actor_id.eq(actor_id),
            pins::post_id.eq(post_id),
            pins::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Unpins a post, if it was pinned.
pub fn remove(conn: &mut AnyConnection, actor_id: i64, post_id: i64) -> QueryResult<()> {
    diesel::delete(pins::table.find((actor_id, post_id)))
        .execute(conn)
        .map(|_| ())
}

/// Whether the post is pinned by this person.
pub fn is_pinned(conn: &mut AnyConnection, actor_id: i64, post_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(pins::table.find((actor_id, post_id)))).get_result(conn)
}

/// How many posts a person has pinned.
pub fn count(conn: &mut AnyConnection, actor_id: i64) -> QueryResult<i64> {
    pins::table
        .filter(pins::actor_id.eq(actor_id))
        .count()
        .get_result(conn)
}

/// A person's pinned posts, most recently pinned first.
pub fn of_actor(conn: &mut AnyConnection, actor_id: i64) -> QueryResult<Vec<PostRow>> {
    pins::table
        .inner_join(posts::table.on(posts::id.eq(pins::post_id)))
        .filter(pins::actor_id.eq(actor_id))
        .filter(posts::deleted_at.is_null())
        .order(pins::created_at.desc())
        .select(PostRow::as_select())
        .load(conn)
}
