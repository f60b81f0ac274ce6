//! Following people and joining groups, local or remote, from the client API.

use super::{
    Context,
    delivery::inboxes,
    groups::{self, JoinOutcome},
};
use crate::{
    Error,
    db::{
        actors::{self, ActorRow},
        follows, groups as group_rows,
    },
};
use hearth_federation::{activities::builders, protocol::actor::ActorKind};

/// Where a follow stands after a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowState {
    /// Following (or a member).
    Following,
    /// Waiting for approval (a locked account, an approval group, or a remote answer).
    Requested,
    /// Refused.
    Refused,
}

/// `follower` (a local person) follows `target_id`: a person, or a group to join.
pub async fn follow(
    ctx: &Context,
    follower: ActorRow,
    target_id: i64,
) -> Result<FollowState, Error> {
    let state = ctx
        .write(move |conn, ctx2| {
            let target = actors::by_id(conn, target_id)?
                .ok_or_else(|| Error::not_found("Record not found"))?;
            if target.id == follower.id {
                return Err(Error::Unprocessable("you cannot follow yourself".into()));
            }
            if !target.local && ctx2.policy.refuses(&target.domain) {
                return Err(super::policy::refused(&target.domain));
            }
            super::blocks::check_not_blocked(conn, follower.id, target.id)?;
            if let Some(existing) = follows::between(conn, follower.id, target.id)? {
                return Ok(if existing.accepted {
                    FollowState::Following
                } else {
                    FollowState::Requested
                });
            }
            let follow_id = ctx2.activity_id("follow");
            if target.local && target.actor_kind() == ActorKind::Group {
                return Ok(
                    match groups::request_join(conn, ctx2, &target, &follower, follow_id.as_str())?
                    {
                        JoinOutcome::Joined => FollowState::Following,
                        JoinOutcome::Pending => FollowState::Requested,
                        JoinOutcome::Rejected => FollowState::Refused,
                    },
                );
            }
            if target.local {
                let accepted = !target.manually_approves_followers;
                let row = follows::new_row(follow_id.to_string(), follower.id, target.id, accepted);
                follows::upsert(conn, &row)?;
                super::notifications::followed(conn, &row, &target)?;
                return Ok(if accepted {
                    FollowState::Following
                } else {
                    FollowState::Requested
                });
            }
            // A remote person or group: ask, and wait for their Accept.
            follows::upsert(
                conn,
                &follows::new_row(follow_id.to_string(), follower.id, target.id, false),
            )?;
            let activity = builders::follow(
                &follow_id,
                &super::stored_url(&follower.ap_id)?,
                &super::stored_url(&target.ap_id)?,
            );
            ctx2.enqueue(
                conn,
                follower.id,
                &activity,
                std::slice::from_ref(&target.inbox),
            )?;
            Ok(FollowState::Requested)
        })
        .await?;
    Ok(state)
}

/// `follower` stops following (or leaves) `target_id`.
pub async fn unfollow(ctx: &Context, follower: ActorRow, target_id: i64) -> Result<(), Error> {
    ctx.write(move |conn, ctx2| {
        let target =
            actors::by_id(conn, target_id)?.ok_or_else(|| Error::not_found("Record not found"))?;
        stop_following(conn, ctx2, &follower, &target)
    })
    .await?;
    Ok(())
}

/// Ends the follow (or membership, or request) of a local `follower` to `target`, telling a
/// remote target (`Undo` of the Follow), in the caller's transaction.
pub fn stop_following(
    conn: &mut crate::db::AnyConnection,
    ctx: &Context,
    follower: &ActorRow,
    target: &ActorRow,
) -> Result<(), Error> {
    let Some(existing) = follows::between(conn, follower.id, target.id)? else {
        return Ok(());
    };
    follows::remove(conn, follower.id, target.id)?;
    if !target.local {
        let follow = groups::follow_json(&existing, follower, target)?;
        let undo = builders::undo(
            &ctx.activity_id("undo"),
            &super::stored_url(&follower.ap_id)?,
            &follow,
        );
        ctx.enqueue(
            conn,
            follower.id,
            &undo,
            &inboxes(std::slice::from_ref(target)),
        )?;
    }
    Ok(())
}

/// Ends the follow (or request) of `follower` to a local `person`, telling a remote follower
/// (`Reject` of its Follow), in the caller's transaction.
pub fn remove_follower(
    conn: &mut crate::db::AnyConnection,
    ctx: &Context,
    person: &ActorRow,
    follower: &ActorRow,
) -> Result<(), Error> {
    let Some(existing) = follows::between(conn, follower.id, person.id)? else {
        return Ok(());
    };
    follows::remove(conn, follower.id, person.id)?;
    groups::answer(conn, ctx, person, follower, &existing, "Reject")
}

/// Pending follow requests to a local person (their own) or to groups they moderate.
pub async fn pending_requests(
    ctx: &Context,
    person: &ActorRow,
) -> Result<Vec<(i64, ActorRow)>, Error> {
    let person_id = person.id;
    ctx.db
        .run(move |conn| {
            let mut requests: Vec<(i64, ActorRow)> = follows::followers(conn, person_id, false)?
                .into_iter()
                .map(|(_, a)| (person_id, a))
                .collect();
            for group_id in moderated_groups(conn, person_id)? {
                requests.extend(
                    follows::followers(conn, group_id, false)?
                        .into_iter()
                        .map(|(_, a)| (group_id, a)),
                );
            }
            Ok(requests)
        })
        .await
}

/// How many accounts [`pending_requests`] are from (what `GET /api/v1/follow_requests`
/// lists): the badge apps show.
pub async fn request_count(ctx: &Context, person: &ActorRow) -> Result<u64, Error> {
    let mut ids: Vec<i64> = pending_requests(ctx, person)
        .await?
        .into_iter()
        .map(|(_, a)| a.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(u64::try_from(ids.len()).unwrap_or(u64::MAX))
}

fn moderated_groups(
    conn: &mut crate::db::AnyConnection,
    person_id: i64,
) -> Result<Vec<i64>, Error> {
    use crate::db::schema::{group_moderators, support_groups};
    use diesel::prelude::*;
    let mut ids: Vec<i64> = support_groups::table
        .filter(support_groups::owner_id.eq(person_id))
        .select(support_groups::actor_id)
        .load(conn)?;
    let moderated: Vec<i64> = group_moderators::table
        .filter(group_moderators::actor_id.eq(person_id))
        .select(group_moderators::group_id)
        .load(conn)?;
    ids.extend(
        moderated
            .into_iter()
            .filter(|id| !ids.contains(id))
            .collect::<Vec<_>>(),
    );
    Ok(ids)
}

/// Authorizes or rejects a request to `person` or to a group they moderate, from `requester_id`.
pub async fn answer_request(
    ctx: &Context,
    person: ActorRow,
    requester_id: i64,
    accept: bool,
) -> Result<(), Error> {
    ctx.write(move |conn, ctx2| {
        let requester = actors::by_id(conn, requester_id)?
            .ok_or_else(|| Error::not_found("Record not found"))?;
        let mut targets = vec![person.id];
        targets.extend(moderated_groups(conn, person.id)?);
        for target_id in targets {
            let Some(follow) =
                follows::between(conn, requester.id, target_id)?.filter(|f| !f.accepted)
            else {
                continue;
            };
            let target = actors::by_id(conn, target_id)?
                .ok_or_else(|| Error::not_found("Record not found"))?;
            if accept {
                follows::accept(conn, follow.id)?;
                super::notifications::request_answered(conn, follow.id)?;
                groups::answer(conn, ctx2, &target, &requester, &follow, "Accept")?;
            } else {
                remove_follower(conn, ctx2, &target, &requester)?;
            }
            return Ok(());
        }
        Err(Error::not_found("no pending request from this account"))
    })
    .await?;
    Ok(())
}

/// Whether `person_id` is a member of (follows, accepted) `group_id`, or moderates it.
pub fn is_member(
    conn: &mut crate::db::AnyConnection,
    person_id: i64,
    group_id: i64,
) -> Result<bool, Error> {
    Ok(group_rows::standing(conn, group_id, person_id)?.member)
}
