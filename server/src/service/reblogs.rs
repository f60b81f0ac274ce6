//! People's boosts: sharing a public or unlisted post with one's followers, as an `Announce`
//! of the post by id (what Mastodon sends and reads). A group's `Announce` is not one: it is
//! how the group relays (FEP-1b12), and is never stored as a boost.

use super::{Context, delivery::inboxes, notifications, posts::can_view, stored_url};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
        follows,
        posts::{self, PostRow},
        reblogs::{self, ReblogRow},
    },
};
use chrono::Utc;
use hearth_federation::{activities::builders, protocol::post::PUBLIC};
use serde_json::Value;
use url::Url;

/// Whether a post may be boosted: only what its author made public (not a followers-only,
/// direct or members-only post), as in Mastodon.
pub fn shareable(post: &PostRow) -> bool {
    matches!(post.visibility.as_str(), "public" | "unlisted") && !post.is_deleted()
}

/// A local person boosts (`reblogged`) or stops boosting a post they may see. Boosting twice
/// changes nothing. Returns the boost (if there is one now) and the post.
pub async fn set_reblog(
    ctx: &Context,
    person: ActorRow,
    post_id: i64,
    unlisted: bool,
    reblogged: bool,
) -> Result<(Option<ReblogRow>, PostRow), Error> {
    ctx.write(move |conn, ctx| {
        let post = posts::by_id(conn, post_id)?
            .filter(|p| can_view(conn, p, Some(person.id)).unwrap_or(false))
            .ok_or_else(|| Error::not_found("Record not found"))?;
        if !shareable(&post) {
            return Err(Error::Forbidden("This action is not allowed".into()));
        }
        let existing = reblogs::of(conn, person.id, post.id)?;
        let boost = match (reblogged, existing) {
            (true, Some(existing)) => return Ok((Some(existing), post)),
            (false, None) => return Ok((None, post)),
            (true, None) => {
                let row = ReblogRow {
                    id: crate::db::id::new_id(),
                    ap_id: ctx.activity_id("announce").to_string(),
                    actor_id: person.id,
                    post_id: post.id,
                    visibility: if unlisted { "unlisted" } else { "public" }.into(),
                    created_at: Utc::now().naive_utc(),
                };
                reblogs::insert(conn, &row)?;
                notifications::shared(conn, &person, &post)?;
                row
            }
            (false, Some(existing)) => {
                reblogs::delete(conn, existing.id)?;
                existing
            }
        };
        let announce = announce(conn, &person, &post, &boost)?;
        let activity = if reblogged {
            announce
        } else {
            builders::undo(
                &ctx.activity_id("undo"),
                &stored_url(&person.ap_id)?,
                &announce,
            )
        };
        deliver(conn, ctx, &person, &post, &activity)?;
        Ok((reblogged.then_some(boost), post))
    })
    .await
}

/// The `Announce` of a boost, addressed as Mastodon addresses one: public to everyone (the
/// booster's followers and the author in copy), unlisted to the followers.
fn announce(
    conn: &mut AnyConnection,
    person: &ActorRow,
    post: &PostRow,
    boost: &ReblogRow,
) -> Result<Value, Error> {
    let public = Url::parse(PUBLIC).map_err(|e| Error::Internal(e.to_string()))?;
    let followers = person.followers.as_deref().map(stored_url).transpose()?;
    let author = actors::by_id(conn, post.author_id)?
        .map(|a| stored_url(&a.ap_id))
        .transpose()?;
    let (to, mut cc) = if boost.visibility == "unlisted" {
        (followers.into_iter().collect(), vec![public])
    } else {
        (vec![public], followers.into_iter().collect::<Vec<_>>())
    };
    cc.extend(author);
    Ok(builders::boost(
        &stored_url(&boost.ap_id)?,
        &stored_url(&person.ap_id)?,
        &stored_url(&post.ap_id)?,
        &to,
        &cc,
    ))
}

/// Sends a boost (or its undoing) to the booster's followers and the post's author.
fn deliver(
    conn: &mut AnyConnection,
    ctx: &Context,
    person: &ActorRow,
    post: &PostRow,
    activity: &Value,
) -> Result<(), Error> {
    let mut targets: Vec<ActorRow> = follows::followers(conn, person.id, true)?
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    targets.extend(actors::by_id(conn, post.author_id)?);
    ctx.enqueue(conn, person.id, activity, &inboxes(&targets))
}

/// A remote person boosted a post hosted here: it counts, and its author is told.
pub fn received(
    conn: &mut AnyConnection,
    sender: &ActorRow,
    id: &Url,
    post: &PostRow,
) -> Result<(), Error> {
    if sender.actor_kind() == hearth_federation::protocol::actor::ActorKind::Group
        || !shareable(post)
    {
        return Ok(());
    }
    let row = ReblogRow {
        id: crate::db::id::new_id(),
        ap_id: id.to_string(),
        actor_id: sender.id,
        post_id: post.id,
        visibility: "public".into(),
        created_at: Utc::now().naive_utc(),
    };
    reblogs::insert(conn, &row)?;
    notifications::shared(conn, sender, post)
}

/// A remote person withdrew a boost (only their own).
pub fn received_undo(conn: &mut AnyConnection, sender: &ActorRow, id: &Url) -> Result<(), Error> {
    if let Some(boost) = reblogs::by_ap_id(conn, id.as_str())?.filter(|b| b.actor_id == sender.id) {
        reblogs::delete(conn, boost.id)?;
    }
    Ok(())
}
