//! Pinned posts: a person shows up to five of their own posts first on their profile, and a
//! group's moderators up to five posts of the group (patient education, the group's rules of
//! thumb) first on the group's; the group tells its members' servers with an `Add` (or a
//! `Remove`) to its `featured` collection, as Lemmy does for a community's featured posts.

use super::{Context, audit::Acting};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::ActorRow,
        pins,
        posts::{self, PostRow},
    },
};
use hearth_federation::activities::builders;

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

/// A moderator of the group `group_id` (or of the instance) pins a post of the group there, or
/// unpins it; returns the post. Its members' servers are told.
pub async fn set_group_pin(
    ctx: &Context,
    by: &Acting,
    group_id: i64,
    post_id: i64,
    pinned: bool,
) -> Result<PostRow, Error> {
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let (group, _) = super::groups::managed_group(conn, group_id, &by)?;
        let post = posts::by_id(conn, post_id)?
            .filter(|p| !p.is_deleted() && p.group_id == Some(group.id))
            .ok_or_else(|| Error::not_found("Record not found"))?;
        let was = pins::is_pinned(conn, group.id, post.id)?;
        if pinned == was {
            return Ok(post);
        }
        if pinned && pins::count(conn, group.id)? >= pins::MAX_PINS {
            return Err(Error::Unprocessable(format!(
                "Validation failed: A group can pin at most {} posts",
                pins::MAX_PINS
            )));
        }
        pin_in_group(conn, ctx, &group, &post, pinned)?;
        Ok(post)
    })
    .await
}

/// Pins (or unpins) `post` in the local `group`, and tells its members' servers (`Add` or
/// `Remove` with the group's `featured` collection as `target`). Limits are the caller's.
pub fn pin_in_group(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    post: &PostRow,
    pinned: bool,
) -> Result<(), Error> {
    if pinned {
        pins::add(conn, group.id, post.id)?;
    } else {
        pins::remove(conn, group.id, post.id)?;
    }
    let federated = group.to_federated()?;
    let featured = federated
        .featured()
        .ok_or_else(|| Error::Internal("a local group without featured posts".into()))?;
    let id = ctx.activity_id(if pinned { "add" } else { "remove" });
    let object = super::stored_url(&post.ap_id)?;
    let activity = builders::featured(&id, &federated.ap_id, &object, &featured, pinned);
    let members = crate::db::follows::remote_inboxes(conn, group.id)?;
    ctx.enqueue(conn, group.id, &activity, &members)
}
