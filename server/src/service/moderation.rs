//! What moderators do to local accounts: suspend (signed out everywhere, no sign-in, and
//! deleted on other servers with a `Delete` of the actor, as Mastodon does), lift a
//! suspension (an `Update` of the actor tells the servers again), limit, or look and decide
//! on nothing. Each act is on the audit record, in its own transaction.

use super::{
    Context,
    accounts::{Role, profile_audience},
    audit::{self, Acting, Action, Entry, Target},
};
use crate::{
    Error,
    db::{
        actors::ActorRow,
        oauth, tokens,
        users::{self, UserRow},
    },
};
use chrono::Utc;
use hearth_federation::{activities::builders, protocol::post::PUBLIC};
use std::str::FromStr;

/// A moderator's action on a local account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// Looked at, nothing done (the reason says why).
    None,
    /// Limited (Mastodon's `silence`, and `disable`, read as this).
    Limit,
    /// The limit lifted.
    Unlimit,
    /// Suspended.
    Suspend,
    /// The suspension lifted.
    Unsuspend,
}

impl FromStr for AccountAction {
    type Err = Error;
    /// Mastodon's `type` of `POST /api/v1/admin/accounts/{id}/action`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim() {
            "none" => Ok(Self::None),
            "silence" | "disable" | "limit" => Ok(Self::Limit),
            "suspend" => Ok(Self::Suspend),
            "sensitive" => Err(Error::Unprocessable(
                "Validation failed: marking an account sensitive is not supported".into(),
            )),
            other => Err(Error::Unprocessable(format!(
                "Validation failed: unknown action {other:?}: use none, silence, disable or suspend"
            ))),
        }
    }
}

/// Applies `action` to the local account `actor_id` (admins and moderators; not to oneself,
/// and a moderator not to an admin). Returns the account as it is now.
pub async fn act_on_account(
    ctx: &Context,
    by: &Acting,
    actor_id: i64,
    action: AccountAction,
    reason: Option<String>,
) -> Result<(ActorRow, UserRow), Error> {
    by.check(Role::may_moderate)?;
    if by.person_id() == Some(actor_id) {
        return Err(Error::Unprocessable(
            "Validation failed: moderators do not act on their own account".into(),
        ));
    }
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let (actor, mut user) = users::account_by_id(conn, actor_id)?
            .ok_or_else(|| Error::not_found("Record not found"))?;
        if user.role().may_administer() && !by.role().may_administer() {
            return Err(Error::Forbidden("only admins act on admins".into()));
        }
        let now = Some(Utc::now().naive_utc());
        let logged = match action {
            AccountAction::None => Action::AccountNoAction,
            AccountAction::Limit => {
                user.limited_at = user.limited_at.or(now);
                Action::AccountLimit
            }
            AccountAction::Unlimit => {
                user.limited_at = None;
                Action::AccountUnlimit
            }
            AccountAction::Suspend => {
                if user.suspended_at.is_none() {
                    user.suspended_at = now;
                    // Signed out everywhere; sign-in refuses it from now on.
                    tokens::delete_all_but(conn, actor.id, 0)?;
                    oauth::delete_codes_of(conn, actor.id)?;
                    let actor_url = super::stored_url(&actor.ap_id)?;
                    let delete = builders::delete(
                        &ctx.activity_id("delete"),
                        &actor_url,
                        &actor_url,
                        &[super::stored_url(PUBLIC)?],
                        &[],
                    );
                    let inboxes = super::delivery::inboxes(&profile_audience(conn, &actor)?);
                    ctx.enqueue(conn, actor.id, &delete, &inboxes)?;
                }
                Action::AccountSuspend
            }
            AccountAction::Unsuspend => {
                if user.suspended_at.take().is_some() {
                    let document = actor.to_federated()?.to_object();
                    let update = builders::update_actor(&ctx.activity_id("update"), &document);
                    let inboxes = super::delivery::inboxes(&profile_audience(conn, &actor)?);
                    ctx.enqueue(conn, actor.id, &update, &inboxes)?;
                }
                Action::AccountUnsuspend
            }
        };
        users::set_standing(conn, actor.id, user.suspended_at, user.limited_at)?;
        audit::record(
            conn,
            &by,
            Entry::new(logged, Target::actor(&actor)).reason(reason),
        )?;
        Ok((actor, user))
    })
    .await
}
