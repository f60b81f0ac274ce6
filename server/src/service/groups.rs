//! Support groups: creation, settings, membership (FEP-1b12: joining is following the group),
//! moderation.

use super::{
    Context,
    accounts::{Handle, local_actor, plain_text_to_html},
    audit::{self, Acting, Action, Entry, Target},
    delivery::inboxes,
};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
        follows::{self, FollowRow},
        groups::{self, GroupRow},
    },
};
use hearth_federation::{activities::builders, keys::KeyPair, protocol::actor::ActorKind};
use serde_json::Value;
use std::str::FromStr;

/// Who can see a group's posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Anyone.
    Public,
    /// Members only, on any instance; its posts are never addressed to the public.
    MembersOnly,
}

impl FromStr for Visibility {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "public" => Ok(Self::Public),
            "members_only" | "members-only" => Ok(Self::MembersOnly),
            other => Err(Error::Unprocessable(format!(
                "unknown visibility {other:?}: use public or members_only"
            ))),
        }
    }
}

impl Visibility {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::MembersOnly => "members_only",
        }
    }
}

/// How people join a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinPolicy {
    /// Anyone not banned joins at once.
    Open,
    /// A moderator approves each request.
    Approval,
}

impl FromStr for JoinPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "open" => Ok(Self::Open),
            "approval" => Ok(Self::Approval),
            other => Err(Error::Unprocessable(format!(
                "unknown join policy {other:?}: use open or approval"
            ))),
        }
    }
}

impl JoinPolicy {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approval => "approval",
        }
    }
}

/// A new support group.
#[derive(Debug)]
pub struct NewGroup {
    /// Handle.
    pub handle: Handle,
    /// Display name.
    pub display_name: String,
    /// Plain-text description.
    pub description: String,
    /// Public or members-only.
    pub visibility: Visibility,
    /// Open or by approval (members-only groups always need approval).
    pub join_policy: JoinPolicy,
    /// The local person who owns it, if any.
    pub owner: Option<i64>,
    /// Short rules.
    pub rules: Vec<String>,
}

/// Creates a local support group with a fresh key pair (clinic staff). Returns the actor row.
pub async fn create_group(ctx: &Context, by: &Acting, new: NewGroup) -> Result<ActorRow, Error> {
    if !by.role().may_create_groups() {
        return Err(Error::Forbidden(
            "only clinic staff can create groups".into(),
        ));
    }
    let keys = tokio::task::spawn_blocking(KeyPair::generate).await??;
    let summary =
        (!new.description.trim().is_empty()).then(|| plain_text_to_html(&new.description));
    let join_policy = if new.visibility == Visibility::MembersOnly {
        JoinPolicy::Approval
    } else {
        new.join_policy
    };
    let actor = local_actor(
        &ctx.urls,
        ActorKind::Group,
        &new.handle,
        keys,
        Some(new.display_name),
        summary,
        join_policy == JoinPolicy::Approval,
    );
    let row = ActorRow::new(&actor);
    let group = GroupRow {
        actor_id: row.id,
        visibility: new.visibility.as_str().into(),
        join_policy: join_policy.as_str().into(),
        created_at: row.created_at,
        owner_id: new.owner,
        rules: serde_json::to_string(&new.rules).unwrap_or_else(|_| "[]".into()),
        content_warning: String::new(),
        retention_days: None,
    };
    let by = by.clone();
    ctx.write(move |conn, _| {
        super::accounts::insert_local_actor(conn, &row)?;
        groups::insert(conn, &group)?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::GroupCreate, Target::actor(&row))
                .detail(format!("{}, {}", group.visibility, group.join_policy)),
        )?;
        Ok(row)
    })
    .await
}

/// A post into a group hosted here that carries no content warning gets the group's default
/// one, if it has one (a group about self-harm, say), and is shown as sensitive; a post with a
/// warning of its own keeps it. Posts written here carry it to every server; a post from
/// another server carries it here and in what the group shares.
pub fn give_default_warning(settings: &groups::GroupRow, post: &mut crate::db::posts::PostRow) {
    if post.spoiler_text.is_empty() && !settings.content_warning.is_empty() {
        post.spoiler_text = settings.content_warning.clone();
        post.sensitive = true;
    }
}

/// A change of a group's settings; what is left out stays.
#[derive(Debug, Default)]
pub struct GroupChange {
    /// Display name.
    pub display_name: Option<String>,
    /// Plain-text description.
    pub description: Option<String>,
    /// Who can see its posts.
    pub visibility: Option<Visibility>,
    /// How people join.
    pub join_policy: Option<JoinPolicy>,
    /// Short rules.
    pub rules: Option<Vec<String>>,
    /// The content warning for posts into it that carry none (empty: none).
    pub content_warning: Option<String>,
    /// How many days it keeps its posts (0: for ever).
    pub retention_days: Option<u32>,
}

/// Changes a local group's settings (its moderators, instance moderators and admins).
pub async fn update_group(
    ctx: &Context,
    by: &Acting,
    group_id: i64,
    change: GroupChange,
) -> Result<(), Error> {
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let (mut actor, mut settings) = managed_group(conn, group_id, &by)?;
        let mut changed = Vec::new();
        if let Some(visibility) = change.visibility {
            settings.visibility = visibility.as_str().into();
            changed.push(format!("visibility {}", visibility.as_str()));
        }
        if let Some(policy) = change.join_policy {
            settings.join_policy = policy.as_str().into();
            changed.push(format!("join {}", policy.as_str()));
        }
        if let Some(rules) = change.rules {
            settings.rules =
                serde_json::to_string(&rules).map_err(|e| Error::Internal(e.to_string()))?;
            changed.push("rules".into());
        }
        if let Some(warning) = change.content_warning {
            let warning = warning.trim().to_owned();
            if warning.chars().count() > super::moderation::MAX_WARNING {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: the content warning is longer than {} characters",
                    super::moderation::MAX_WARNING
                )));
            }
            changed.push(format!("content warning {warning:?}"));
            settings.content_warning = warning;
        }
        if let Some(days) = change.retention_days {
            if days > super::retention::MAX_DAYS {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: a group keeps its posts at most {} days (0: for ever)",
                    super::retention::MAX_DAYS
                )));
            }
            settings.retention_days = i32::try_from(days).ok().filter(|d| *d > 0);
            changed.push(format!("retention {days} days"));
        }
        if let Some(name) = change.display_name {
            actor.display_name = Some(name);
            changed.push("name".into());
        }
        if let Some(description) = change.description {
            actor.summary = Some(plain_text_to_html(&description));
            changed.push("description".into());
        }
        actor.manually_approves_followers = settings.needs_approval();
        actor.updated_at = chrono::Utc::now().naive_utc();
        groups::update(conn, &settings)?;
        actors::update(conn, &actor)?;
        // Its members' servers show the group as it is now (name, description, whether
        // joining needs approval).
        let document = actor.to_federated()?.to_object();
        let update = builders::update_actor(&ctx.activity_id("update"), &document);
        let members: Vec<_> = crate::db::follows::followers(conn, actor.id, true)?
            .into_iter()
            .map(|(_, member)| member)
            .collect();
        ctx.enqueue(conn, actor.id, &update, &super::delivery::inboxes(&members))?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::GroupUpdate, Target::actor(&actor)).detail(changed.join(", ")),
        )?;
        Ok(())
    })
    .await
}

/// Adds (`add`) or removes a local person as a moderator of a local group.
pub async fn set_moderator(
    ctx: &Context,
    by: &Acting,
    group_id: i64,
    person_id: i64,
    add: bool,
) -> Result<(), Error> {
    let by = by.clone();
    ctx.write(move |conn, _| {
        let (group, _) = managed_group(conn, group_id, &by)?;
        let person = actors::by_id(conn, person_id)?
            .filter(|a| a.local && a.actor_kind() == ActorKind::Person)
            .ok_or_else(|| Error::Unprocessable("moderators must be local people".into()))?;
        let action = if add {
            groups::add_moderator(conn, group.id, person.id)?;
            Action::GroupModeratorAdd
        } else {
            groups::remove_moderator(conn, group.id, person.id)?;
            Action::GroupModeratorRemove
        };
        audit::record(
            conn,
            &by,
            Entry::new(action, Target::actor(&person)).detail(format!("in @{}", group.username)),
        )?;
        Ok(())
    })
    .await
}

/// A page of a local group's members (`accepted`) or join requests, for its moderators, the
/// newest first, each with the follow's id. Each look is written to the audit log.
pub async fn people_page(
    ctx: &Context,
    by: &Acting,
    group_id: i64,
    accepted: bool,
    page: crate::db::posts::Page,
) -> Result<Vec<(i64, ActorRow)>, Error> {
    let by = by.clone();
    ctx.write(move |conn, _| {
        let (group, _) = managed_group(conn, group_id, &by)?;
        let rows = follows::followers_page(conn, group.id, accepted, page)?;
        let action = if accepted {
            Action::GroupMembersView
        } else {
            Action::GroupRequestsView
        };
        audit::record(conn, &by, Entry::new(action, Target::actor(&group)))?;
        Ok(rows)
    })
    .await
}

/// What became of a request to join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Member now.
    Joined,
    /// Waiting for a moderator.
    Pending,
    /// Refused (banned).
    Rejected,
}

/// The Follow activity of a stored follow, as it is embedded in an Accept or Reject.
pub fn follow_json(
    follow: &FollowRow,
    follower: &ActorRow,
    target: &ActorRow,
) -> Result<Value, Error> {
    let parse = super::stored_url;
    Ok(builders::follow(
        &parse(&follow.ap_id)?,
        &parse(&follower.ap_id)?,
        &parse(&target.ap_id)?,
    ))
}

/// A follower asks to join a local group: banned people are rejected, approval groups keep
/// the request pending, open groups accept at once. The follow and the answer to a remote
/// follower are written together.
pub fn request_join(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    follower: &ActorRow,
    follow_ap_id: &str,
) -> Result<JoinOutcome, Error> {
    let settings =
        groups::by_actor(conn, group.id)?.ok_or_else(|| Error::not_found("no such group"))?;
    let row = follows::new_row(follow_ap_id.to_owned(), follower.id, group.id, false);
    if groups::is_banned(conn, group.id, follower.id)? {
        answer(conn, ctx, group, follower, &row, "Reject")?;
        follows::remove(conn, follower.id, group.id)?;
        return Ok(JoinOutcome::Rejected);
    }
    let already = follows::between(conn, follower.id, group.id)?;
    if let Some(existing) = already.filter(|f| f.accepted) {
        // A repeated Follow: answer again, keep the membership.
        answer(
            conn,
            ctx,
            group,
            follower,
            &FollowRow {
                ap_id: follow_ap_id.to_owned(),
                ..existing
            },
            "Accept",
        )?;
        return Ok(JoinOutcome::Joined);
    }
    if settings.needs_approval() && !groups::is_moderator(conn, group.id, follower.id)? {
        follows::upsert(conn, &row)?;
        super::notifications::followed(conn, &row, group)?;
        return Ok(JoinOutcome::Pending);
    }
    let row = FollowRow {
        accepted: true,
        ..row
    };
    follows::upsert(conn, &row)?;
    answer(conn, ctx, group, follower, &row, "Accept")?;
    Ok(JoinOutcome::Joined)
}

/// Sends an Accept or Reject of `follow` to a remote follower (local ones need no message).
pub fn answer(
    conn: &mut AnyConnection,
    ctx: &Context,
    target: &ActorRow,
    follower: &ActorRow,
    follow: &FollowRow,
    kind: &str,
) -> Result<(), Error> {
    if follower.local {
        return Ok(());
    }
    let embedded = follow_json(follow, follower, target)?;
    let id = ctx.activity_id(&kind.to_ascii_lowercase());
    let actor = url::Url::parse(&target.ap_id).map_err(|e| Error::Internal(e.to_string()))?;
    let activity = if kind == "Accept" {
        builders::accept(&id, &actor, &embedded)
    } else {
        builders::reject(&id, &actor, &embedded)
    };
    ctx.enqueue(
        conn,
        target.id,
        &activity,
        &inboxes(std::slice::from_ref(follower)),
    )
}

/// Loads a local group with its settings, checking that `by` may manage it: one of its
/// moderators, or an instance moderator or admin.
pub fn managed_group(
    conn: &mut AnyConnection,
    group_id: i64,
    by: &Acting,
) -> Result<(ActorRow, GroupRow), Error> {
    let group = actors::by_id(conn, group_id)?
        .filter(|a| a.local && a.actor_kind() == ActorKind::Group)
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let settings =
        groups::by_actor(conn, group.id)?.ok_or_else(|| Error::not_found("Record not found"))?;
    let moderates = match by.person_id() {
        _ if by.role().may_moderate() => true,
        Some(id) => groups::is_moderator(conn, group.id, id)?,
        None => false,
    };
    if !moderates {
        return Err(Error::Forbidden(
            "only the group's moderators may do this".into(),
        ));
    }
    Ok((group, settings))
}

/// A moderator's decision on a member or a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Let a pending request in.
    Approve,
    /// Turn a pending request down.
    Reject,
    /// Remove a member (they may ask again).
    Remove,
    /// Remove and refuse for good.
    Ban,
}

/// Applies a moderator's decision about `member_id` in a local group.
pub async fn decide(
    ctx: &Context,
    by: &Acting,
    group_id: i64,
    member_id: i64,
    decision: Decision,
) -> Result<(), Error> {
    let by = by.clone();
    ctx.write(move |conn, ctx2| {
        let (group, _) = managed_group(conn, group_id, &by)?;
        let member =
            actors::by_id(conn, member_id)?.ok_or_else(|| Error::not_found("Record not found"))?;
        let follow = follows::between(conn, member.id, group.id)?;
        match decision {
            Decision::Approve => {
                let follow = follow
                    .filter(|f| !f.accepted)
                    .ok_or_else(|| Error::not_found("no pending request"))?;
                follows::accept(conn, follow.id)?;
                super::notifications::request_answered(conn, follow.id)?;
                answer(conn, ctx2, &group, &member, &follow, "Accept")?;
            }
            Decision::Reject | Decision::Remove => {
                let follow = follow.ok_or_else(|| Error::not_found("not a member or request"))?;
                follows::remove(conn, member.id, group.id)?;
                answer(conn, ctx2, &group, &member, &follow, "Reject")?;
            }
            Decision::Ban => {
                groups::ban(conn, group.id, member.id)?;
                if let Some(follow) = follow {
                    follows::remove(conn, member.id, group.id)?;
                    answer(conn, ctx2, &group, &member, &follow, "Reject")?;
                }
            }
        }
        let action = match decision {
            Decision::Approve => Action::GroupRequestApprove,
            Decision::Reject => Action::GroupRequestReject,
            Decision::Remove => Action::GroupMemberRemove,
            Decision::Ban => Action::GroupMemberBan,
        };
        audit::record(
            conn,
            &by,
            Entry::new(action, Target::actor(&member)).detail(format!("in @{}", group.username)),
        )?;
        Ok(())
    })
    .await?;
    Ok(())
}
