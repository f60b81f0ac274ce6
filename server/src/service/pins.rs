//! Pinned posts: a person shows up to five of their own posts first on their profile.

use super::Context;
use crate::{
    Error,
    db::{
        pins,
        posts::{self, PostRow},
    },
};

/// Pins one's own post (or unpins it); returns the post. Direct messages cannot be pinned,
/// and at most [`pins::MAX_PINS`] posts can be.
pub async fn set_pin(
    ctx: &Context,
    actor_id: i64,
    post_id: i64,
    pinned: bool,
) -> Result<PostRow, Error> {
    ctx.db
        .write(move |conn| {
            let post = posts::by_id(conn, post_id)?
                .filter(|p| !p.is_deleted() && p.author_id == actor_id)
                .ok_or_else(|| Error::not_found("Record not found"))?;
            if !pinned {
                pins::remove(conn, actor_id, post.id)?;
                return Ok(post);
            }
            if post.visibility == "direct" {
                return Err(Error::Unprocessable(
                    "Validation failed: Direct messages cannot be pinned".into(),
                ));
            }
            if !pins::is_pinned(conn, actor_id, post.id)?
                && pins::count(conn, actor_id)? >= pins::MAX_PINS
            {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: You can pin at most {} posts",
                    pins::MAX_PINS
                )));
            }
            pins::add(conn, actor_id, post.id)?;
            Ok(post)
        })
        .await
}
