//! Bookmarks: a person keeps posts they may see, privately.

use super::{Context, posts::can_view};
use crate::{
    Error,
    db::{
        bookmarks,
        posts::{self, PostRow},
    },
};

/// Bookmarks a post the person may see (or removes the bookmark); returns the post.
pub async fn set_bookmark(
    ctx: &Context,
    actor_id: i64,
    post_id: i64,
    keep: bool,
) -> Result<PostRow, Error> {
    ctx.db
        .write(move |conn| {
            let post = posts::by_id(conn, post_id)?
                .filter(|p| can_view(conn, p, Some(actor_id)).unwrap_or(false))
                .ok_or_else(|| Error::not_found("Record not found"))?;
            if keep {
                bookmarks::add(conn, actor_id, post.id)?;
            } else {
                bookmarks::remove(conn, actor_id, post.id)?;
            }
            Ok(post)
        })
        .await
}
