//! The `post_edits` table: what a post said before each edit.

use super::{AnyConnection, posts::PostRow, schema::post_edits};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One earlier version of a post.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = post_edits)]
pub struct PostEditRow {
    pub id: i64,
    pub post_id: i64,
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// When this version was written.
    pub created_at: NaiveDateTime,
}

/// Keeps the version of `post` about to be replaced.
pub fn keep_version(conn: &mut AnyConnection, post: &PostRow) -> QueryResult<()> {
    diesel::insert_into(post_edits::table)
        .values(PostEditRow {
            id: super::id::new_id(),
            post_id: post.id,
            content: post.content.clone(),
            spoiler_text: post.spoiler_text.clone(),
            sensitive: post.sensitive,
            created_at: post.edited_at.unwrap_or(post.published_at),
        })
        .execute(conn)
        .map(|_| ())
}

/// The earlier versions of a post, oldest first.
pub fn of_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<Vec<PostEditRow>> {
    post_edits::table
        .filter(post_edits::post_id.eq(post_id))
        .order(post_edits::id.asc())
        .select(PostEditRow::as_select())
        .load(conn)
}
