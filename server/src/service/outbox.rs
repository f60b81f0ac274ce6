//! What an actor's outbox lists, a page at a time, newest first: a person's public and unlisted
//! posts, each as its `Create` (as Mastodon lists them); a group's posts, each as the group's
//! `Announce` of the post's `Create` (as Lemmy reads a community's outbox to show its latest
//! posts to a new member's server). A members-only group's posts are listed only to those who
//! may see the group (the caller checks), a public group's public posts to anyone.

use super::{Context, posts as post_rules};
use crate::{
    Error,
    db::{AnyConnection, actors::ActorRow, groups, posts},
};
use hearth_federation::{
    activities::builders,
    protocol::{actor::ActorKind, post::PUBLIC},
};
use serde_json::Value;

/// Items per page.
pub const PAGE: i64 = 20;

/// A page of `actor`'s outbox below `max_id`, and the id to continue below (when the page is
/// full).
pub fn page(
    conn: &mut AnyConnection,
    ctx: &Context,
    actor: &ActorRow,
    max_id: Option<i64>,
) -> Result<(Vec<Value>, Option<i64>), Error> {
    let group = actor.actor_kind() == ActorKind::Group;
    let members_only = group && groups::by_actor(conn, actor.id)?.is_some_and(|g| g.members_only());
    let visibilities: &[&str] = match (group, members_only) {
        (true, true) => &["public", "members"],
        (true, false) => &["public"],
        (false, _) => &["public", "unlisted"],
    };
    let rows = posts::outbox_page(conn, actor.id, group, visibilities, max_id, PAGE)?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|p| p.id))
        .flatten();
    let actor_url = super::stored_url(&actor.ap_id)?;
    let followers = ctx.urls.actor_part(&actor_url, "followers");
    let public = super::stored_url(PUBLIC)?;
    let mut items = Vec::with_capacity(rows.len());
    for post in &rows {
        let object = post_rules::post_object(conn, ctx, post)?;
        let create = builders::embedded(builders::create(
            &super::stored_url(&format!("{}/activity", post.ap_id))?,
            &object,
        ));
        items.push(if group {
            let (to, cc) = if members_only {
                (vec![followers.clone()], vec![])
            } else {
                (vec![public.clone()], vec![followers.clone()])
            };
            let id = ctx
                .urls
                .path(&format!("/activities/announce/outbox-{}", post.id));
            builders::embedded(builders::announce(&id, &actor_url, create, &to, &cc))
        } else {
            create
        });
    }
    Ok((items, next))
}
