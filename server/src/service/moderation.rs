//! What moderators do to local accounts: suspend (signed out everywhere, no sign-in, its
//! posts seen by no one here, and deleted on other servers with a `Delete` of the actor, as
//! Mastodon does), lift a suspension (an `Update` of the actor tells the servers again),
//! limit (kept out of public timelines, tags and search for those who do not follow it),
//! sensitize (its posts shown as sensitive), or look and decide on nothing; and to one post:
//! mark it sensitive, with a content warning. Each act is on the audit record, in its own
//! transaction.

use super::{
    Context,
    accounts::{Role, profile_audience},
    audit::{self, Acting, Action, Entry, Target},
    posts as post_rules,
};
use crate::{
    Error,
    db::{
        actors::{self, ActorRow},
        oauth,
        posts::{self as db_posts, PostRow},
        tokens,
        users::{self, UserRow},
    },
};
use chrono::{SubsecRound, Utc};
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
    /// Its posts shown as sensitive, old and new (Mastodon's `sensitive`).
    Sensitive,
    /// That lifted.
    Unsensitive,
}

impl FromStr for AccountAction {
    type Err = Error;
    /// Mastodon's `type` of `POST /api/v1/admin/accounts/{id}/action`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim() {
            "none" => Ok(Self::None),
            "silence" | "disable" | "limit" => Ok(Self::Limit),
            "suspend" => Ok(Self::Suspend),
            "sensitive" => Ok(Self::Sensitive),
            other => Err(Error::Unprocessable(format!(
                "Validation failed: unknown action {other:?}: use none, sensitive, silence, disable or suspend"
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
            AccountAction::Sensitive => {
                user.sensitized_at = user.sensitized_at.or(now);
                Action::AccountSensitive
            }
            AccountAction::Unsensitive => {
                user.sensitized_at = None;
                Action::AccountUnsensitive
            }
            AccountAction::Unsuspend => {
                if user.suspended_at.take().is_some() {
                    super::accounts::announce_profile(conn, ctx, &actor)?;
                }
                Action::AccountUnsuspend
            }
        };
        users::set_standing(conn, &user)?;
        audit::record(
            conn,
            &by,
            Entry::new(logged, Target::actor(&actor)).reason(reason),
        )?;
        Ok((actor, user))
    })
    .await
}

/// Longest content warning a moderator may add, in characters.
pub const MAX_WARNING: usize = 500;

/// Marks a post sensitive and, if it has no content warning yet, gives it `spoiler_text`
/// (instance moderators and admins any post, a group's moderators the posts in it, the author
/// their own). A local post's change travels as the author's `Update` would, to where the
/// post went; a remote post is marked here only. On the audit record.
pub async fn mark_post_sensitive(
    ctx: &Context,
    by: &Acting,
    post_id: i64,
    spoiler_text: Option<String>,
    reason: Option<String>,
) -> Result<PostRow, Error> {
    let warning = spoiler_text
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty());
    if warning
        .as_ref()
        .is_some_and(|w| w.chars().count() > MAX_WARNING)
    {
        return Err(Error::Unprocessable(format!(
            "Validation failed: Spoiler text is longer than {MAX_WARNING} characters"
        )));
    }
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let mut post = db_posts::by_id(conn, post_id)?
            .filter(|p| !p.is_deleted())
            .ok_or_else(|| Error::not_found("Record not found"))?;
        let allowed = by.role().may_moderate()
            || match by.actor() {
                Some(actor) => post_rules::may_moderate(conn, &post, actor, by.role())?,
                None => false,
            };
        if !allowed {
            return Err(if post_rules::can_view(conn, &post, by.person_id())? {
                Error::Forbidden("This action is not allowed".into())
            } else {
                Error::not_found("Record not found")
            });
        }
        let author = actors::by_id(conn, post.author_id)?
            .ok_or_else(|| Error::not_found("Record not found"))?;
        let add_warning = post.spoiler_text.is_empty() && warning.is_some();
        if post.sensitive && !add_warning {
            // Already so: nothing changes, and nothing travels.
            return Ok(post);
        }
        crate::db::post_edits::keep_version(conn, &post)?;
        post.sensitive = true;
        if add_warning && let Some(warning) = &warning {
            post.spoiler_text.clone_from(warning);
        }
        if post.local {
            // Other servers apply an edit newer than what they hold.
            post.edited_at = Some(Utc::now().trunc_subsecs(0).naive_utc());
        }
        db_posts::update(conn, &post)?;
        super::streaming::emit(super::streaming::Event::Edited { post: post.id });
        if post.local {
            let object = post_rules::post_object(conn, ctx, &post)?;
            let update = builders::update(&ctx.activity_id("update"), &object);
            post_rules::publish(conn, ctx, &post, &author, &update, Some(&object))?;
        }
        let detail = if add_warning {
            "content warning added"
        } else {
            ""
        };
        audit::record(
            conn,
            &by,
            Entry::new(Action::PostSensitive, Target::post(post.id, &author))
                .detail(detail)
                .reason(reason),
        )?;
        Ok(post)
    })
    .await
}
