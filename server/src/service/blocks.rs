//! Blocking and muting accounts, from the client API and from other servers.
//!
//! A block is between two accounts. It ends the follows between them both ways (a person who
//! blocks a group leaves it); it does not touch either one's membership of groups they share,
//! nor make anyone a moderator's problem: a moderator who blocks a member has not banned them
//! (bans belong to the group, `service/groups.rs`). What a block and a mute hide is decided in
//! `db::blocks::hidden_from` (the blocker's and muter's timelines and notifications) and in
//! `service::posts::can_view` (the blocker's posts, from the blocked).

use super::{Context, delivery::inboxes, follows};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
        blocks,
    },
};
use chrono::{TimeDelta, Utc};
use hearth_federation::{activities::builders, protocol::actor::ActorKind};
use url::Url;

/// Refuses a follow between two accounts when either blocks the other (403, as Mastodon).
pub fn check_not_blocked(
    conn: &mut AnyConnection,
    follower: i64,
    target: i64,
) -> Result<(), Error> {
    if blocks::is_blocking(conn, target, follower)? || blocks::is_blocking(conn, follower, target)?
    {
        return Err(Error::Forbidden("This action is not allowed".into()));
    }
    Ok(())
}

/// The account `target_id`, which `person` may block or mute (not themselves).
fn other_account(
    conn: &mut AnyConnection,
    person: &ActorRow,
    target_id: i64,
    verb: &str,
) -> Result<ActorRow, Error> {
    let target =
        actors::by_id(conn, target_id)?.ok_or_else(|| Error::not_found("Record not found"))?;
    if target.id == person.id {
        return Err(Error::Unprocessable(format!("you cannot {verb} yourself")));
    }
    Ok(target)
}

/// `blocker` (a local person) blocks `target_id`: the follows between them end both ways, each
/// remote side told as by an unfollow (`Undo`) or a refusal (`Reject`), and a remote target's
/// server receives a `Block`, all in one transaction. Blocking again changes nothing.
pub async fn block(ctx: &Context, blocker: ActorRow, target_id: i64) -> Result<(), Error> {
    ctx.write(move |conn, ctx2| {
        let target = other_account(conn, &blocker, target_id, "block")?;
        if blocks::is_blocking(conn, blocker.id, target.id)? {
            return Ok(());
        }
        follows::stop_following(conn, ctx2, &blocker, &target)?;
        follows::remove_follower(conn, ctx2, &blocker, &target)?;
        let id = ctx2.activity_id("block");
        blocks::insert(conn, id.as_str(), blocker.id, target.id)?;
        if !target.local {
            let activity = builders::block(
                &id,
                &super::stored_url(&blocker.ap_id)?,
                &super::stored_url(&target.ap_id)?,
            );
            ctx2.enqueue(
                conn,
                blocker.id,
                &activity,
                &inboxes(std::slice::from_ref(&target)),
            )?;
        }
        Ok(())
    })
    .await
}

/// `blocker` lifts their block of `target_id`; a remote target's server receives an `Undo` of
/// the `Block`. Follows ended by the block stay ended.
pub async fn unblock(ctx: &Context, blocker: ActorRow, target_id: i64) -> Result<(), Error> {
    ctx.write(move |conn, ctx2| {
        let target =
            actors::by_id(conn, target_id)?.ok_or_else(|| Error::not_found("Record not found"))?;
        let Some(block) = blocks::remove(conn, blocker.id, target.id)? else {
            return Ok(());
        };
        if !target.local {
            let actor = super::stored_url(&blocker.ap_id)?;
            let activity = builders::block(
                &super::stored_url(&block.ap_id)?,
                &actor,
                &super::stored_url(&target.ap_id)?,
            );
            let undo = builders::undo(&ctx2.activity_id("undo"), &actor, &activity);
            ctx2.enqueue(
                conn,
                blocker.id,
                &undo,
                &inboxes(std::slice::from_ref(&target)),
            )?;
        }
        Ok(())
    })
    .await
}

/// Longest mute with an end: about a hundred years (longer is refused, not wrapped around).
const LONGEST_MUTE: TimeDelta = TimeDelta::days(36_500);

/// `person` mutes `target_id`: their posts leave `person`'s timelines and, with
/// `notifications`, their notifications too; for `duration` seconds (`None` or 0: until
/// unmuted). Muting again replaces the earlier mute. Nothing is sent anywhere: a mute is
/// private.
pub async fn mute(
    ctx: &Context,
    person: ActorRow,
    target_id: i64,
    notifications: bool,
    duration: Option<i64>,
) -> Result<(), Error> {
    let expires_at = match duration.filter(|d| *d != 0) {
        None => None,
        Some(seconds) => {
            let length = TimeDelta::try_seconds(seconds)
                .filter(|d| *d > TimeDelta::zero() && *d <= LONGEST_MUTE)
                .ok_or_else(|| {
                    Error::Unprocessable(
                        "Validation failed: duration must be a number of seconds, 0 for no end, \
                         up to 100 years"
                            .into(),
                    )
                })?;
            Some((Utc::now() + length).naive_utc())
        }
    };
    ctx.write(move |conn, _| {
        let target = other_account(conn, &person, target_id, "mute")?;
        Ok(blocks::mute(
            conn,
            person.id,
            target.id,
            notifications,
            expires_at,
        )?)
    })
    .await
}

/// `person` unmutes `target_id`.
pub async fn unmute(ctx: &Context, person: ActorRow, target_id: i64) -> Result<(), Error> {
    ctx.write(move |conn, _| {
        let target =
            actors::by_id(conn, target_id)?.ok_or_else(|| Error::not_found("Record not found"))?;
        Ok(blocks::unmute(conn, person.id, target.id)?)
    })
    .await
}

/// A remote `sender` blocks `object`. A block of a person here ends the follows between them
/// both ways (nothing is sent back: the sender's server ended them on its side) and is
/// recorded, so that the person sees `blocked_by`. A block of anyone else concerns no one
/// here.
pub fn received_block(
    conn: &mut AnyConnection,
    sender: &ActorRow,
    id: &Url,
    object: &Url,
) -> Result<(), Error> {
    let Some(target) = actors::by_ap_id(conn, object.as_str())?
        .filter(|t| t.local && t.actor_kind() == ActorKind::Person)
    else {
        tracing::info!(%object, "a Block of no one here");
        return Ok(());
    };
    crate::db::follows::remove(conn, sender.id, target.id)?;
    crate::db::follows::remove(conn, target.id, sender.id)?;
    blocks::insert(conn, id.as_str(), sender.id, target.id)?;
    Ok(())
}

/// A remote `sender` withdraws its Block `id` (of `object`, when named).
pub fn received_undo_block(
    conn: &mut AnyConnection,
    sender: &ActorRow,
    id: &Url,
    object: Option<&Url>,
) -> Result<bool, Error> {
    if let Some(block) = blocks::by_ap_id(conn, sender.id, id.as_str())? {
        blocks::remove(conn, sender.id, block.target_id)?;
        return Ok(true);
    }
    // Matched by who blocked whom, for an Undo whose embedded Block has another id.
    let target = match object {
        Some(object) => actors::by_ap_id(conn, object.as_str())?.filter(|t| t.local),
        None => None,
    };
    match target {
        Some(target) => Ok(blocks::remove(conn, sender.id, target.id)?.is_some()),
        None => Ok(false),
    }
}
