//! Acting on incoming activities, after the federation side verified them.
//!
//! Everything an activity changes, and everything it makes this instance send, is written in
//! one transaction that also records the activity's id, so a redelivered activity takes
//! effect once.

use super::{
    Context, groups, notifications,
    posts::{self as post_rules, StoredPost},
};
use crate::{
    Error,
    db::{
        AnyConnection, WriteTogether,
        actors::{self, ActorRow},
        blocks, deliveries, follows, groups as group_rows,
        posts::{self, PostRow},
    },
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use hearth_federation::{
    FederationData,
    activities::{FollowRef, Incoming, builders, fetch_post},
    objects::actor::FederatedActor,
    protocol::{
        actor::ActorKind,
        post::{PostObject, is_public},
    },
};
use url::Url;

/// How many missing parents of a reply are fetched, at most.
const MAX_PARENT_DEPTH: usize = 3;

/// How long a received activity's id is kept, to take a redelivery once: senders retry for
/// days (Hearth gives up after 7), and a captured request cannot be replayed later than its
/// signature's date allows.
pub const RECEIPTS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Ids forgotten per write, so that other writes go on between batches.
const FORGET_BATCH: i64 = 5_000;

/// Forgets the received activity ids older than [`RECEIPTS_KEPT`]; returns how many.
pub async fn forget_old_receipts(ctx: &Context) -> Result<usize, Error> {
    let cutoff = (chrono::Utc::now() - RECEIPTS_KEPT).naive_utc();
    let mut forgotten = 0;
    loop {
        let batch = ctx
            .db
            .write(move |conn| {
                Ok(deliveries::forget_receipts_before(
                    conn,
                    cutoff,
                    FORGET_BATCH,
                )?)
            })
            .await?;
        forgotten += batch;
        if (batch as i64) < FORGET_BATCH {
            return Ok(forgotten);
        }
    }
}

/// Runs [`forget_old_receipts`] every hour.
pub async fn run_forgetting(ctx: Context) {
    loop {
        match forget_old_receipts(&ctx).await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "forgot old received activity ids"),
            Err(e) => tracing::error!(error = %e, "forgetting old received activity ids failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

tokio::task_local! {
    /// The actors this inbox POST has read: its inbox's owner, and its sender as its key was
    /// checked (or stored). Each is a statement on PostgreSQL, and the same rows were read
    /// again to handle the activity; now they are read once per request.
    static READ_IN_REQUEST: std::cell::RefCell<Vec<ActorRow>>;
}

/// Runs one inbox POST, keeping the actors it reads for the rest of it ([`read_in_request`]).
pub async fn within_request<F: std::future::Future>(work: F) -> F::Output {
    READ_IN_REQUEST
        .scope(std::cell::RefCell::new(Vec::new()), work)
        .await
}

/// Keeps `actor`, as just read or stored, for the rest of this inbox POST (outside one, does
/// nothing).
pub fn read_in_request(actor: &ActorRow) {
    let _ = READ_IN_REQUEST.try_with(|read| {
        let mut read = read.borrow_mut();
        read.retain(|a| a.ap_id != actor.ap_id);
        read.push(actor.clone());
    });
}

/// The actor `ap_id`, if this inbox POST has read it.
fn already_read(ap_id: &str) -> Option<ActorRow> {
    READ_IN_REQUEST
        .try_with(|read| read.borrow().iter().find(|a| a.ap_id == ap_id).cloned())
        .ok()
        .flatten()
}

/// Acts on one verified activity from `sender`.
pub async fn receive(
    ctx: &Context,
    data: &Data<FederationData>,
    sender: FederatedActor,
    activity_id: Url,
    incoming: Incoming,
) -> Result<(), Error> {
    if let Incoming::Post { post, update, via } = incoming {
        return receive_post(ctx, data, &sender.ap_id, activity_id, *post, update, via).await;
    }
    let sender = stored(ctx, &sender.ap_id).await?;
    match incoming {
        Incoming::Like {
            id,
            actor,
            object,
            via,
        } => {
            let liker = resolve_actor(ctx, data, &actor).await?;
            once(ctx, activity_id, move |conn, ctx| {
                let Some(post) = posts::by_ap_id(conn, object.as_str())? else {
                    return Ok(());
                };
                if !relayed_by_its_group(conn, &post, via.as_ref())? {
                    return Err(Error::Forbidden(
                        "a group may relay likes of its own posts only".into(),
                    ));
                }
                if let Some(like_id) = posts::like(conn, id.as_str(), liker.id, post.id)? {
                    notifications::liked(conn, like_id, &liker, &post)?;
                    let author = actors::by_id(conn, post.author_id)?
                        .ok_or_else(|| Error::Internal("no author".into()))?;
                    let like = builders::like(
                        &id,
                        &super::stored_url(&liker.ap_id)?,
                        &object,
                        &[super::stored_url(&author.ap_id)?],
                    );
                    post_rules::deliver_like(conn, ctx, &post, &author, &liker, &like)?;
                }
                Ok(())
            })
            .await
        }
        Incoming::UndoLike {
            id,
            actor,
            object,
            via,
        } => {
            let liker = resolve_actor(ctx, data, &actor).await?;
            let undo_id = activity_id.clone();
            once(ctx, activity_id, move |conn, ctx| {
                let post = match &object {
                    Some(object) => posts::by_ap_id(conn, object.as_str())?,
                    None => None,
                };
                if via.is_some()
                    && !post
                        .as_ref()
                        .map(|p| relayed_by_its_group(conn, p, via.as_ref()))
                        .transpose()?
                        .unwrap_or(false)
                {
                    return Err(Error::Forbidden(
                        "a group may relay likes of its own posts only".into(),
                    ));
                }
                let post_id = post.as_ref().map(|p| p.id);
                let removed = posts::unlike(conn, liker.id, Some(id.as_str()), post_id)?;
                // In a group hosted here, the group tells its members' servers.
                let group = match post.as_ref().and_then(|p| p.group_id) {
                    Some(g) => actors::by_id(conn, g)?.filter(|g| g.local),
                    None => None,
                };
                if let (true, Some(post), Some(group)) = (removed, post, group) {
                    let like = builders::like(&id, &actor, &super::stored_url(&post.ap_id)?, &[]);
                    let undo = builders::undo(&undo_id, &actor, &like);
                    post_rules::announce(conn, ctx, &group, &undo, None)?;
                }
                Ok(())
            })
            .await
        }
        other => {
            once(ctx, activity_id, move |conn, ctx| {
                apply(conn, ctx, &sender, other)
            })
            .await
        }
    }
}

/// Runs `effect` in a transaction that also records `activity_id`; does nothing if that id
/// was seen before.
async fn once<F>(ctx: &Context, activity_id: Url, effect: F) -> Result<(), Error>
where
    F: FnOnce(&mut AnyConnection, &Context) -> Result<(), Error> + Send + 'static,
{
    ctx.write(move |conn, ctx| {
        if deliveries::first_receipt(conn, activity_id.as_str())? {
            effect(conn, ctx)?;
        } else {
            tracing::debug!(%activity_id, "already received");
        }
        Ok(())
    })
    .await
}

fn apply(
    conn: &mut AnyConnection,
    ctx: &Context,
    sender: &ActorRow,
    incoming: Incoming,
) -> Result<(), Error> {
    match incoming {
        Incoming::Follow { id, object, .. } => {
            let Some(target) = actors::by_ap_id(conn, object.as_str())?.filter(|t| t.local) else {
                return Err(Error::NotFound(format!("{object} is not hosted here")));
            };
            match target.actor_kind() {
                ActorKind::Group => {
                    let outcome = groups::request_join(conn, ctx, &target, sender, id.as_str())?;
                    tracing::info!(group = %target.username, ?outcome, "join request");
                }
                ActorKind::Person => {
                    if blocks::is_blocking(conn, target.id, sender.id)? {
                        // Refused as Mastodon refuses it; nothing is stored.
                        let refused = follows::new_row(id.to_string(), sender.id, target.id, false);
                        groups::answer(conn, ctx, &target, sender, &refused, "Reject")?;
                        return Ok(());
                    }
                    if follows::between(conn, sender.id, target.id)?.is_some_and(|f| f.accepted) {
                        let existing = follows::new_row(id.to_string(), sender.id, target.id, true);
                        groups::answer(conn, ctx, &target, sender, &existing, "Accept")?;
                        return Ok(());
                    }
                    let accepted = !target.manually_approves_followers;
                    let row = follows::new_row(id.to_string(), sender.id, target.id, accepted);
                    follows::upsert(conn, &row)?;
                    notifications::followed(conn, &row, &target)?;
                    if accepted {
                        groups::answer(conn, ctx, &target, sender, &row, "Accept")?;
                    }
                }
                _ => return Err(Error::Unprocessable("this actor cannot be followed".into())),
            }
        }
        Incoming::Accept(follow) => match our_follow(conn, sender, &follow)? {
            Some(row) => follows::accept(conn, row.id)?,
            None => tracing::info!(follow = %follow.id, "an Accept of no follow known here"),
        },
        Incoming::Reject(follow) => {
            if let Some(row) = our_follow(conn, sender, &follow)? {
                follows::remove(conn, row.follower_id, row.target_id)?;
            }
        }
        Incoming::UndoFollow(follow) => {
            let target = match follow.object {
                Some(object) => actors::by_ap_id(conn, object.as_str())?.map(|t| t.id),
                None => follows::by_ap_id(conn, follow.id.as_str())?.map(|f| f.target_id),
            };
            if let Some(target) = target {
                follows::remove(conn, sender.id, target)?;
            }
        }
        Incoming::Featured { object, pinned } => {
            // A remote group pins posts in it that are stored here; anything else is ignored.
            let in_group = posts::by_ap_id(conn, object.as_str())?.filter(|p| {
                sender.actor_kind() == ActorKind::Group && p.group_id == Some(sender.id)
            });
            if let Some(post) = in_group {
                if pinned {
                    crate::db::pins::add(conn, sender.id, post.id)?;
                } else {
                    crate::db::pins::remove(conn, sender.id, post.id)?;
                }
            }
        }
        Incoming::Block { id, object } => {
            super::blocks::received_block(conn, sender, &id, &object)?
        }
        Incoming::UndoBlock { id, object } => {
            super::blocks::received_undo_block(conn, sender, &id, object.as_ref())?;
        }
        Incoming::UndoById(id) => {
            if !posts::unlike(conn, sender.id, Some(id.as_str()), None)?
                && !super::blocks::received_undo_block(conn, sender, &id, None)?
                && let Some(follow) =
                    follows::by_ap_id(conn, id.as_str())?.filter(|f| f.follower_id == sender.id)
            {
                follows::remove(conn, sender.id, follow.target_id)?;
            }
        }
        Incoming::Delete { object, actor, via } => {
            delete(conn, ctx, sender, &object, &actor, via.as_ref())?
        }
        Incoming::Share { id, object, .. } => {
            if let Some(post) = posts::by_ap_id(conn, object.as_str())?.filter(|p| p.local) {
                super::reblogs::received(conn, sender, &id, &post)?;
            }
        }
        Incoming::UndoShare(id) => super::reblogs::received_undo(conn, sender, &id)?,
        Incoming::Flag {
            objects,
            comment,
            category,
        } => {
            if ctx.policy.current().rejects_reports(&sender.domain) {
                tracing::info!(host = %sender.domain, "a report from a server whose reports are rejected dropped");
            } else {
                super::reports::received_flag(conn, ctx, sender, &objects, comment, category)?
            }
        }
        Incoming::ActorUpdated(actor) => {
            super::clinicians::store_remote(conn, ctx, &actor)?;
        }
        Incoming::Other { kind } => {
            tracing::info!(?kind, "ignoring an activity Hearth does not handle")
        }
        Incoming::Post { .. } | Incoming::Like { .. } | Incoming::UndoLike { .. } => {}
    }
    Ok(())
}

/// The follow an Accept or Reject from `sender` answers: by the Follow's id, or by who
/// followed `sender`.
fn our_follow(
    conn: &mut AnyConnection,
    sender: &ActorRow,
    follow: &FollowRef,
) -> Result<Option<follows::FollowRow>, Error> {
    if let Some(row) =
        follows::by_ap_id(conn, follow.id.as_str())?.filter(|f| f.target_id == sender.id)
    {
        return Ok(Some(row));
    }
    let Some(follower) = follow.actor.as_ref() else {
        return Ok(None);
    };
    let Some(follower) = actors::by_ap_id(conn, follower.as_str())?.filter(|a| a.local) else {
        return Ok(None);
    };
    Ok(follows::between(conn, follower.id, sender.id)?)
}

fn delete(
    conn: &mut AnyConnection,
    ctx: &Context,
    sender: &ActorRow,
    object: &Url,
    actor: &Url,
    via: Option<&Url>,
) -> Result<(), Error> {
    // An actor deleting itself (Mastodon, GoToSocial, Lemmy send it when an account ends).
    if via.is_none() && object.as_str() == sender.ap_id && actor.as_str() == sender.ap_id {
        return super::accounts::erase_remote(conn, ctx, sender);
    }
    let Some(post) = posts::by_ap_id(conn, object.as_str())? else {
        return Ok(());
    };
    if post.is_deleted() {
        return Ok(());
    }
    let author =
        actors::by_id(conn, post.author_id)?.ok_or_else(|| Error::Internal("no author".into()))?;
    let group = match post.group_id {
        Some(id) => actors::by_id(conn, id)?,
        None => None,
    };
    // The author deletes their own post; a remote group speaks for its own content (it relays
    // its members' and moderators' deletions). Nobody else.
    let by_author = via.is_none() && sender.id == author.id && actor.as_str() == author.ap_id;
    let by_its_group = via.is_some_and(|v| {
        v.as_str() == sender.ap_id
            && group
                .as_ref()
                .is_some_and(|g| !g.local && g.ap_id == v.as_str())
    });
    if !by_author && !by_its_group {
        return Err(Error::Forbidden(
            "only the author or the post's group may delete it".into(),
        ));
    }
    posts::mark_deleted(conn, post.id)?;
    super::streaming::emit(super::streaming::Event::Deleted { post: post.id });
    if let Some(group) = group.filter(|g| g.local) {
        announce_deletion(conn, ctx, &group, actor, &post)?;
    }
    Ok(())
}

/// A local group tells its members' servers that `post`, deleted by `by`, is gone.
pub(super) fn announce_deletion(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    by: &Url,
    post: &PostRow,
) -> Result<(), Error> {
    let object_url = super::stored_url(&post.ap_id)?;
    let delete = builders::delete(&ctx.activity_id("delete"), by, &object_url, &[], &[]);
    post_rules::announce(conn, ctx, group, &delete, None)
}

/// A relayed activity (`via` a group) is accepted only from the remote group the post
/// belongs to; an activity sent directly needs no group.
fn relayed_by_its_group(
    conn: &mut AnyConnection,
    post: &PostRow,
    via: Option<&Url>,
) -> Result<bool, Error> {
    let Some(via) = via else { return Ok(true) };
    let group = match post.group_id {
        Some(id) => actors::by_id(conn, id)?,
        None => None,
    };
    Ok(group.is_some_and(|g| !g.local && g.ap_id == via.as_str()))
}

/// Where a post belongs and whether it may be stored here.
enum Placement {
    /// Into a group hosted here, from a member.
    LocalGroup(ActorRow),
    /// In a remote group that local people have joined.
    RemoteGroup(ActorRow),
    /// Outside groups, delivered to someone here.
    Personal,
}

async fn receive_post(
    ctx: &Context,
    data: &Data<FederationData>,
    sender: &Url,
    activity_id: Url,
    post: PostObject,
    update: bool,
    via: Option<Url>,
) -> Result<(), Error> {
    if post.copy_of.is_some() {
        // A group's copy for microblog servers: the original arrives in its Announce.
        tracing::debug!(post = %post.id, "skipping a members-only copy");
        return Ok(());
    }
    if post.attributed_to != *sender {
        // Relayed by a group: the author is fetched if unknown.
        resolve_actor(ctx, data, &post.attributed_to).await?;
    }
    let (author, candidates) = (
        post.attributed_to.to_string(),
        candidates(&post, via.as_ref()),
    );
    let (reply_to, via_url) = (
        post.in_reply_to.as_ref().map(Url::to_string),
        via.as_ref().map(Url::to_string),
    );
    let known_author = already_read(&author);
    let known: Vec<ActorRow> = candidates.iter().filter_map(|c| already_read(c)).collect();
    // The common case, a post into the group whose inbox it came to, from the sender: both
    // were read already, and there is nothing more to look up.
    let first = candidates
        .first()
        .and_then(|c| known.iter().find(|a| a.ap_id == *c));
    let quick = match (&known_author, first) {
        (Some(author), Some(group))
            if reply_to.is_none()
                && via_url.is_none()
                && group.local
                && group.actor_kind() == ActorKind::Group =>
        {
            Some((author.clone(), Some(Placement::LocalGroup(group.clone()))))
        }
        _ => None,
    };
    let (author, placement) = match quick {
        Some(quick) => quick,
        None => {
            ctx.db
                .lookup(move |conn| {
                    let author = match known_author {
                        Some(author) => author,
                        None => actors::by_ap_id(conn, &author)?.ok_or_else(|| {
                            Error::Internal("the verified author is not stored".into())
                        })?,
                    };
                    let placement = placement(
                        conn,
                        &candidates,
                        &known,
                        &author,
                        reply_to.as_deref(),
                        via_url.as_deref(),
                    )?;
                    // Non-members are refused before anything is fetched on their behalf (the parents
                    // of a reply; the write checks again in any case).
                    if let Some(Placement::LocalGroup(group)) = &placement
                        && reply_to.is_some()
                        && !may_post(conn, group, &author)?
                    {
                        tracing::warn!(author = %author.ap_id, "refused a post from a non-member");
                        return Err(Error::Forbidden(
                            "only members can post in this group".into(),
                        ));
                    }
                    Ok((author, placement))
                })
                .await?
        }
    };
    let Some(placement) = placement else {
        tracing::info!(post = %post.id, "dropping a post that concerns no one here");
        return Ok(());
    };
    let group_url = match &placement {
        Placement::LocalGroup(group) | Placement::RemoteGroup(group) => Some(group.ap_id.clone()),
        Placement::Personal => None,
    };
    let mut parents = Vec::new();
    // Missing parents are fetched only for posts in a group, and kept only if they belong to
    // the same group: a reply cannot pull outside posts into a group.
    if !update && group_url.is_some() {
        let mut next = post.in_reply_to.clone();
        while let Some(url) = next.take() {
            let known = {
                let u = url.to_string();
                ctx.db
                    .run(move |conn| Ok(posts::by_ap_id(conn, &u)?))
                    .await?
            };
            if known.is_some() || parents.len() >= MAX_PARENT_DEPTH || is_local_url(ctx, &url) {
                break;
            }
            match fetch_post(&url, data).await {
                Ok(parent) if parent.audience.as_ref().map(Url::as_str) != group_url.as_deref() => {
                    tracing::info!(parent = %url, "the parent of a reply is not in the same group");
                    break;
                }
                Ok(parent) => {
                    let parent_author = resolve_actor(ctx, data, &parent.attributed_to).await?;
                    next = parent.in_reply_to.clone();
                    parents.push((parent, parent_author));
                }
                Err(e) => {
                    tracing::info!(error = ?e.to_string(), parent = %url, "the parent of a reply could not be fetched");
                    break;
                }
            }
        }
    }
    // Everything that needs no database is prepared before the write: the writer is the one
    // thread every inbox POST waits for.
    let sanitized =
        |post: &PostObject| super::content::sanitize(post.content.as_deref().unwrap_or_default());
    let content = sanitized(&post);
    let parents: Vec<_> = parents
        .into_iter()
        .map(|(parent, parent_author)| {
            let content = sanitized(&parent);
            (parent, parent_author, content)
        })
        .collect();
    let shared = matches!(placement, Placement::LocalGroup(_)).then(|| {
        if update {
            builders::update(&activity_id, &post)
        } else {
            builders::create(&activity_id, &post)
        }
    });
    if let (Placement::LocalGroup(group), Some(shared), false) = (&placement, &shared, update) {
        let write = PostIntoGroup {
            ctx: ctx.clone(),
            activity_id,
            post,
            content,
            author,
            group: group.clone(),
            shared: shared.clone(),
            parents,
        };
        return ctx.write_together(write).await;
    }
    // An edit, or a post in a group hosted elsewhere or in no group.
    once(ctx, activity_id.clone(), move |conn, ctx| {
        let group = match &placement {
            Placement::LocalGroup(group) | Placement::RemoteGroup(group) => Some(group.clone()),
            Placement::Personal => None,
        };
        // A local group's settings, read once for all that follows, with the author's
        // standing in it.
        let settings = match &placement {
            Placement::LocalGroup(group) => {
                let found = group_rows::settings_and_standing(conn, group.id, author.id)?;
                Some(settings_if_member(found, group, &author)?)
            }
            _ => None,
        };
        let in_group = group.as_ref().map(|g| (g, settings.as_ref()));
        // Oldest parent first, so each reply finds its parent stored.
        for (parent, parent_author, content) in parents.into_iter().rev() {
            store_post(conn, &parent, content, &parent_author, in_group)?;
        }
        let stored = if update {
            let Some(mut row) = posts::by_ap_id(conn, post.id.as_str())? else {
                return Ok(());
            };
            if row.author_id != author.id || !relayed_by_its_group(conn, &row, via.as_ref())? {
                return Err(Error::Forbidden("only the author may edit a post".into()));
            }
            crate::db::post_edits::keep_version(conn, &row)?;
            row.content = content;
            row.name = post.name.clone();
            row.spoiler_text = post.summary.clone().unwrap_or_default();
            row.edited_at = Some(post.updated.unwrap_or_else(chrono::Utc::now).naive_utc());
            posts::update(conn, &row)?;
            super::streaming::emit(super::streaming::Event::Edited { post: row.id });
            let tags = super::tags::record_remote(conn, row.id, &post, true)?;
            super::remote_media::store_attachments(conn, row.id, &post, true)?;
            let mentioned = posts::mentions(conn, row.id)?;
            StoredPost {
                row,
                mentioned,
                tags,
            }
        } else {
            match store_post(conn, &post, content, &author, in_group)? {
                Some(stored) => {
                    notifications::post_created(conn, &stored.row, &stored.mentioned)?;
                    stored
                }
                // Stored already (it came another way too: from its author and its group).
                None => return Ok(()),
            }
        };
        if let (Placement::LocalGroup(group), Some(activity)) = (&placement, &shared) {
            let object = post_rules::stored_post_object(conn, ctx, &stored, &[&author, group])?;
            post_rules::announce_with(
                conn,
                ctx,
                group,
                settings.as_ref(),
                activity,
                Some(&object),
            )?;
        }
        Ok(())
    })
    .await
}

/// Whether `author` may post into the local `group`.
fn may_post(conn: &mut AnyConnection, group: &ActorRow, author: &ActorRow) -> Result<bool, Error> {
    Ok(group_rows::standing(conn, group.id, author.id)?.may_post())
}

/// The settings of the local `group`, as `found` with `author`'s standing in it, if the author
/// may post there; refused if not.
fn settings_if_member(
    found: Option<(group_rows::GroupRow, group_rows::Standing)>,
    group: &ActorRow,
    author: &ActorRow,
) -> Result<group_rows::GroupRow, Error> {
    match found {
        Some((settings, standing)) if standing.may_post() => Ok(settings),
        _ => {
            tracing::warn!(group = %group.username, author = %author.ap_id, "refused a post from a non-member");
            Err(Error::Forbidden(
                "only members can post in this group".into(),
            ))
        }
    }
}

/// A new post into a group hosted here, from a member: the inbox's most common write. The
/// writer does those waiting together ([`WriteTogether`]), each step in one statement for
/// them all where the step allows: on PostgreSQL, where each statement is a round trip that
/// costs both sides about as much CPU as its work, this is what lets ingest keep pace.
struct PostIntoGroup {
    ctx: Context,
    activity_id: Url,
    post: PostObject,
    /// Its content, sanitised.
    content: String,
    author: ActorRow,
    group: ActorRow,
    /// What the group shares: the `Create` of the post.
    shared: serde_json::Value,
    /// The parents of a reply that were fetched, nearest first, with their authors and
    /// sanitised content.
    parents: Vec<(PostObject, ActorRow, String)>,
}

impl WriteTogether for PostIntoGroup {
    type Output = Vec<super::streaming::Event>;

    /// For each, in this order: the author's standing, the activity's receipt, the post
    /// (after its fetched parents), and the group's share of it.
    fn write_all(
        conn: &mut AnyConnection,
        all: &[Self],
    ) -> Result<Vec<Result<Self::Output, Error>>, Error> {
        use std::collections::{HashMap, hash_map::Entry};
        let Some(ctx) = all.first().map(|p| p.ctx.clone()) else {
            return Ok(Vec::new());
        };
        // Each group's settings, with where its authors here stand in it.
        let mut groups = HashMap::new();
        for p in all {
            if let Entry::Vacant(entry) = groups.entry(p.group.id) {
                let authors: Vec<i64> = all
                    .iter()
                    .filter(|q| q.group.id == p.group.id)
                    .map(|q| q.author.id)
                    .collect();
                let found = match group_rows::by_actor(conn, p.group.id)? {
                    Some(settings) => {
                        let standings =
                            group_rows::standings(conn, p.group.id, settings.owner_id, &authors)?;
                        Some((settings, standings))
                    }
                    None => None,
                };
                entry.insert(found);
            }
        }
        // The settings of each write's group, if its author may post there.
        let mut settings = Vec::with_capacity(all.len());
        let mut results: Vec<Result<Self::Output, Error>> = Vec::with_capacity(all.len());
        for p in all {
            let found = groups.get(&p.group.id).and_then(Option::as_ref);
            let found = found.map(|(settings, standings)| {
                let standing = standings.get(&p.author.id).copied().unwrap_or_default();
                (settings.clone(), standing)
            });
            match settings_if_member(found, &p.group, &p.author) {
                Ok(found) => {
                    settings.push(Some(found));
                    results.push(Ok(Vec::new()));
                }
                Err(refused) => {
                    settings.push(None);
                    results.push(Err(refused));
                }
            }
        }
        // Activities received before took effect then.
        let allowed: Vec<usize> = (0..all.len()).filter(|&i| settings[i].is_some()).collect();
        let ids: Vec<&str> = allowed
            .iter()
            .map(|&i| all[i].activity_id.as_str())
            .collect();
        let first = deliveries::first_receipts(conn, &ids)?;
        // The posts to insert, and the write each comes from.
        let (mut rows, mut from): (Vec<PostRow>, Vec<usize>) = (Vec::new(), Vec::new());
        for (i, first) in allowed.into_iter().zip(first) {
            let p = &all[i];
            if !first {
                tracing::debug!(activity_id = %p.activity_id, "already received");
                continue;
            }
            let in_group = Some((&p.group, settings[i].as_ref()));
            if !p.parents.is_empty() {
                // Oldest parent first, so each reply finds its parent stored.
                let (stored, events) = super::streaming::gather(|| -> Result<(), Error> {
                    for (parent, parent_author, content) in p.parents.iter().rev() {
                        store_post(conn, parent, content.clone(), parent_author, in_group)?;
                    }
                    Ok(())
                });
                stored?;
                ctx.streams.send_in(conn, &events)?;
                results[i] = Ok(events);
            }
            let row = new_post_row(conn, &p.post, p.content.clone(), &p.author, in_group)?;
            // A post that came in two activities is stored once.
            if rows.iter().all(|r| r.ap_id != row.ap_id) {
                rows.push(row);
                from.push(i);
            }
        }
        let inserted = posts::insert_new_all(conn, &rows)?;
        let mut members_servers: HashMap<i64, Vec<String>> = HashMap::new();
        for (i, row) in from
            .into_iter()
            .zip(rows)
            .filter(|(_, row)| inserted.contains(&row.id))
        {
            let p = &all[i];
            let (shared, events) = super::streaming::gather(|| -> Result<(), Error> {
                let stored = finish_storing(conn, row, &p.post, &p.author, Some(&p.group))?;
                notifications::post_created(conn, &stored.row, &stored.mentioned)?;
                let object =
                    post_rules::stored_post_object(conn, &ctx, &stored, &[&p.author, &p.group])?;
                let targets = match members_servers.entry(p.group.id) {
                    Entry::Occupied(known) => known.into_mut(),
                    Entry::Vacant(unknown) => {
                        unknown.insert(follows::remote_inboxes(conn, p.group.id)?)
                    }
                };
                let settings = settings[i].as_ref();
                post_rules::announce_to(
                    conn,
                    &ctx,
                    &p.group,
                    settings,
                    &p.shared,
                    Some(&object),
                    targets,
                )
            });
            shared?;
            ctx.streams.send_in(conn, &events)?;
            if let Ok(emitted) = &mut results[i] {
                emitted.extend(events);
            }
        }
        Ok(results)
    }
}

/// The actors a post may belong to or concern: the group relaying it, its audience,
/// addressees and mentions.
fn candidates(post: &PostObject, via: Option<&Url>) -> Vec<String> {
    via.into_iter()
        .chain(post.audience.iter())
        .chain(post.addressees())
        .chain(post.mentions())
        .map(Url::to_string)
        .collect()
}

/// Decides where a post belongs, or that it concerns no one here; `known` are actors this
/// request read already.
fn placement(
    conn: &mut AnyConnection,
    candidates: &[String],
    known: &[ActorRow],
    author: &ActorRow,
    reply_to: Option<&str>,
    via: Option<&str>,
) -> Result<Option<Placement>, Error> {
    let actor = |conn: &mut AnyConnection, ap_id: &str| -> Result<Option<ActorRow>, Error> {
        match known.iter().find(|a| a.ap_id == ap_id) {
            Some(read) => Ok(Some(read.clone())),
            None => Ok(actors::by_ap_id(conn, ap_id)?),
        }
    };
    let author_id = author.id;
    // A reply to a post in a group belongs to that group, with its rules.
    if let Some(parent) = reply_to.map(|u| u.strip_suffix("/shared").unwrap_or(u)) {
        let parent_group = match posts::by_ap_id(conn, parent)?.and_then(|p| p.group_id) {
            Some(id) => actors::by_id(conn, id)?,
            None => None,
        };
        match parent_group {
            Some(group) if group.local && via.is_none() => {
                return Ok(Some(Placement::LocalGroup(group)));
            }
            Some(group) if !group.local && via.is_none_or(|v| v == group.ap_id) => {
                return Ok(Some(Placement::RemoteGroup(group)));
            }
            _ => {}
        }
    }
    for candidate in candidates {
        let Some(actor) = actor(conn, candidate)? else {
            continue;
        };
        if actor.actor_kind() != ActorKind::Group {
            continue;
        }
        if actor.local && via.is_none() {
            return Ok(Some(Placement::LocalGroup(actor)));
        }
        if !actor.local && follows::follower_count_local(conn, actor.id)? > 0 {
            if via.is_some_and(|v| v != actor.ap_id) {
                continue;
            }
            return Ok(Some(Placement::RemoteGroup(actor)));
        }
    }
    // Outside groups: kept if someone here follows the author, is addressed or
    // mentioned, or wrote what it replies to.
    let followed = follows::follower_count_local(conn, author_id)? > 0;
    let mut addressed = false;
    for candidate in candidates {
        if actor(conn, candidate)?.is_some_and(|a| a.local) {
            addressed = true;
        }
    }
    let replies_here = match &reply_to {
        Some(url) => posts::by_ap_id(conn, url)?.is_some(),
        None => false,
    };
    Ok((followed || addressed || replies_here).then_some(Placement::Personal))
}

/// Stores a remote post in `group` (with its settings, when it is hosted here), with `content`
/// (its content, already sanitised), its mentions of local people and its tags; `None` if it
/// was stored already.
pub(super) fn store_post(
    conn: &mut AnyConnection,
    post: &PostObject,
    content: String,
    author: &ActorRow,
    group: Option<(&ActorRow, Option<&group_rows::GroupRow>)>,
) -> Result<Option<StoredPost>, Error> {
    let row = new_post_row(conn, post, content, author, group)?;
    if !posts::insert_new(conn, &row)? {
        return Ok(None);
    }
    finish_storing(conn, row, post, author, group.map(|(group, _)| group)).map(Some)
}

/// The row [`store_post`] stores.
fn new_post_row(
    conn: &mut AnyConnection,
    post: &PostObject,
    content: String,
    author: &ActorRow,
    group: Option<(&ActorRow, Option<&group_rows::GroupRow>)>,
) -> Result<PostRow, Error> {
    let (group, settings) = match group {
        Some((group, settings)) => (Some(group), settings),
        None => (None, None),
    };
    let to_public = post.to.iter().any(is_public);
    let cc_public = post.cc.iter().any(is_public);
    let group_members_only = settings.is_some_and(|s| s.members_only());
    let followers = author.followers.clone().unwrap_or_default();
    let visibility = if group_members_only || (group.is_some() && !to_public && !cc_public) {
        "members"
    } else if to_public {
        "public"
    } else if cc_public {
        "unlisted"
    } else if post.addressees().any(|u| u.as_str() == followers) {
        "private"
    } else {
        "direct"
    };
    let kind = if post.kind == "Page" || post.kind == "Article" {
        "Page"
    } else {
        "Note"
    };
    let mut row = posts::new_row(
        post.id.to_string(),
        kind,
        author.id,
        content,
        visibility,
        false,
    );
    row.group_id = group.map(|g| g.id);
    row.name = post.name.clone();
    row.spoiler_text = post.summary.clone().unwrap_or_default();
    row.sensitive = post.sensitive.unwrap_or(false);
    if let Some(settings) = settings {
        super::groups::give_default_warning(settings, &mut row);
    }
    row.language = post.language().and_then(super::content::language_code);
    row.url = post
        .url
        .as_ref()
        .map(Url::to_string)
        .or_else(|| Some(post.id.to_string()));
    // A reply to a members-only group's copy (`<post>/shared`) is a reply to the post; a post
    // cannot reply to itself.
    row.in_reply_to_ap_id = post
        .in_reply_to
        .as_ref()
        .map(|u| {
            u.as_str()
                .strip_suffix("/shared")
                .unwrap_or(u.as_str())
                .to_owned()
        })
        .filter(|parent| *parent != row.ap_id);
    if let Some(parent) = &row.in_reply_to_ap_id {
        row.in_reply_to_id = posts::by_ap_id(conn, parent)?.map(|p| p.id);
    }
    if let Some(published) = post.published {
        row.published_at = published.naive_utc();
    }
    Ok(row)
}

/// What [`store_post`] stores with a post just inserted: its attachments, mentions and tags.
fn finish_storing(
    conn: &mut AnyConnection,
    row: PostRow,
    post: &PostObject,
    author: &ActorRow,
    group: Option<&ActorRow>,
) -> Result<StoredPost, Error> {
    super::streaming::emit(super::streaming::Event::Posted { post: row.id });
    super::remote_media::store_attachments(conn, row.id, post, false)?;
    posts::adopt_early_replies(conn, &row)?;
    // The group it is posted into is named too, and is no person; nor are the author's
    // followers, whom most posts address.
    let named: std::collections::BTreeSet<String> = post
        .mentions()
        .chain(post.addressees())
        .filter(|u| !is_public(u) && group.is_none_or(|g| g.ap_id != u.as_str()))
        .filter(|u| author.followers.as_deref() != Some(u.as_str()))
        .map(Url::to_string)
        .collect();
    let named: Vec<String> = named.into_iter().collect();
    let mentioned = actors::local_people_among(conn, &named)?;
    posts::add_mentions(conn, row.id, &mentioned)?;
    let tags = super::tags::record_remote(conn, row.id, post, false)?;
    super::conversations::record(conn, &row)?;
    Ok(StoredPost {
        row,
        mentioned,
        tags,
    })
}

async fn stored(ctx: &Context, ap_id: &Url) -> Result<ActorRow, Error> {
    if let Some(read) = already_read(ap_id.as_str()) {
        return Ok(read);
    }
    let id = ap_id.to_string();
    ctx.db
        .run(move |conn| {
            actors::by_ap_id(conn, &id)?
                .ok_or_else(|| Error::Internal("the verified sender is not stored".into()))
        })
        .await
}

/// The stored actor behind `url`, fetched (signed) if unknown.
pub(super) async fn resolve_actor(
    ctx: &Context,
    data: &Data<FederationData>,
    url: &Url,
) -> Result<ActorRow, Error> {
    let actor = ObjectId::<FederatedActor>::from(url.clone())
        .dereference(data)
        .await?;
    stored(ctx, &actor.ap_id).await
}

fn is_local_url(ctx: &Context, url: &Url) -> bool {
    hearth_federation::protocol::authority(url) == ctx.urls.domain()
}
