//! Finding posts by their text: a `LIKE` over the posts a person may see, which is enough at
//! a clinic's scale (no search index).

use super::{
    AnyConnection,
    posts::PostRow,
    schema::{follows, post_mentions, posts},
};
use diesel::prelude::*;

diesel::define_sql_function!(
    /// SQL `lower()`, the same on both engines (ASCII only on SQLite).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text
);

/// What a text search of posts looks for.
#[derive(Clone, Debug)]
pub struct TextQuery {
    /// Lower-cased text to find in the post's HTML.
    pub text: String,
    /// The person searching.
    pub viewer: i64,
    /// Only posts by this account.
    pub author: Option<i64>,
    /// Only posts older than this id (reading on from a previous batch).
    pub max_id: Option<i64>,
    /// Only posts newer than this id.
    pub min_id: Option<i64>,
}

/// Up to `limit` posts, newest first, whose HTML contains the text and which the viewer may
/// probably see: public or unlisted, their own, mentioning them, in a group they joined,
/// or followers-only by someone they follow; none by local accounts withheld from them
/// (suspended, or limited and not followed). Callers still check each with `can_view`.
pub fn posts_containing(
    conn: &mut AnyConnection,
    query: &TextQuery,
    limit: i64,
) -> QueryResult<Vec<PostRow>> {
    let viewer = query.viewer;
    let followed = follows::table
        .filter(follows::follower_id.eq(viewer))
        .filter(follows::accepted.eq(true))
        .select(follows::target_id);
    let mentioning = post_mentions::table
        .filter(post_mentions::actor_id.eq(viewer))
        .select(post_mentions::post_id);
    let pattern = format!("%{}%", super::like_escaped(&query.text));
    let mut sql = posts::table
        .filter(posts::deleted_at.is_null())
        .filter(diesel::dsl::not(super::posts::withheld_from!(viewer)))
        .filter(lower(posts::content).like(pattern).escape('\\'))
        .filter(
            posts::visibility
                .eq_any(["public", "unlisted"])
                .or(posts::author_id.eq(viewer))
                .or(posts::id.eq_any(mentioning))
                .or(posts::visibility
                    .eq("members")
                    .and(posts::group_id.nullable().eq_any(followed.nullable())))
                .or(posts::visibility
                    .eq("private")
                    .and(posts::author_id.eq_any(followed))),
        )
        .select(PostRow::as_select())
        .into_boxed();
    if let Some(author) = query.author {
        sql = sql.filter(posts::author_id.eq(author));
    }
    if let Some(max_id) = query.max_id {
        sql = sql.filter(posts::id.lt(max_id));
    }
    if let Some(min_id) = query.min_id {
        sql = sql.filter(posts::id.gt(min_id));
    }
    sql.order(posts::id.desc()).limit(limit).load(conn)
}
