//! The audit log: who did which admin or moderator act, to what, when and why.
//!
//! Every such act is recorded by [`record`], inside the act's own transaction (the service
//! functions that do the acts call it through `Context::write`), so there is no act without
//! its entry and no entry without its act. Entries are never changed. They are numbered
//! 1, 2, 3... and chained: each stores the SHA-256 of the previous entry's hash followed by
//! its own fields in a fixed order, and the one-row head stores the last entry's number and
//! hash. [`verify`] recomputes the chain, so an entry changed, removed or moved is found and
//! named. (Someone able to rewrite the whole database could rewrite the whole chain: the
//! head hash `hearth audit verify` prints can be noted elsewhere to catch that too.)
//!
//! Appending locks the head row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite has one
//! writer at a time), so two processes sharing a database never append after the same entry.

use super::accounts::Role;
use crate::{
    Error,
    db::{
        AnyConnection, Database,
        actors::ActorRow,
        audit::{self, AuditRow, Filter},
        posts::Page,
        users::UserRow,
    },
};
use chrono::{SubsecRound, Utc};
use sha2::{Digest, Sha256};
use std::{fmt, str::FromStr};

/// Who does an admin or moderator act.
#[derive(Clone, Debug)]
pub enum Acting {
    /// The operator at the server's command line (`hearth ...`): whoever has a shell there may
    /// do what an admin may.
    Console,
    /// A signed-in local person, with their role.
    Person {
        /// Their actor row.
        actor: Box<ActorRow>,
        /// Their role.
        role: Role,
    },
}

impl Acting {
    /// A signed-in person.
    pub fn person(actor: ActorRow, user: &UserRow) -> Self {
        Self::Person {
            role: user.role(),
            actor: Box::new(actor),
        }
    }

    /// The role the act is done with (an admin's, at the command line).
    pub fn role(&self) -> Role {
        match self {
            Self::Console => Role::Admin,
            Self::Person { role, .. } => *role,
        }
    }

    /// The person's actor row, if a person acts.
    pub fn actor(&self) -> Option<&ActorRow> {
        match self {
            Self::Console => None,
            Self::Person { actor, .. } => Some(actor),
        }
    }

    /// The person's actor id, if a person acts.
    pub fn person_id(&self) -> Option<i64> {
        self.actor().map(|a| a.id)
    }

    /// Refuses (403) unless the role `may` (one of `Role`'s checks, e.g. `Role::may_moderate`).
    pub fn check(&self, may: fn(Role) -> bool) -> Result<(), Error> {
        if may(self.role()) {
            Ok(())
        } else {
            Err(Error::Forbidden("This action is not allowed".into()))
        }
    }
}

/// Declares the actions with their stored names, once.
macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What was done.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Action {
            $($(#[$doc])* $variant,)+
        }

        impl Action {
            /// Every action, in the order declared.
            pub const ALL: &[Action] = &[$(Self::$variant,)+];

            /// Storage name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    /// A local account made by staff (`hearth user create`).
    AccountCreate => "account.create",
    /// An account waiting for approval let in.
    AccountApprove => "account.approve",
    /// An account waiting for approval turned down (and deleted).
    AccountReject => "account.reject",
    /// A local account deleted at its owner's request (named by a hash of its handle).
    AccountDelete => "account.delete",
    /// A bearer token made for an account at the command line.
    TokenCreate => "token.create",
    /// An invite code made.
    InviteCreate => "invite.create",
    /// A support group made.
    GroupCreate => "group.create",
    /// A group's settings changed.
    GroupUpdate => "group.update",
    /// A group moderator added.
    GroupModeratorAdd => "group.moderator_add",
    /// A group moderator removed.
    GroupModeratorRemove => "group.moderator_remove",
    /// A request to join a group let in.
    GroupRequestApprove => "group.request_approve",
    /// A request to join a group turned down.
    GroupRequestReject => "group.request_reject",
    /// A member removed from a group.
    GroupMemberRemove => "group.member_remove",
    /// An account banned from a group.
    GroupMemberBan => "group.member_ban",
    /// A group's member list read.
    GroupMembersView => "group.members_view",
    /// A group's join requests read.
    GroupRequestsView => "group.requests_view",
    /// A server's waiting deliveries made due now.
    FederationRetry => "federation.retry",
    /// A server's waiting deliveries dropped.
    FederationDrop => "federation.drop",
    /// The federation mode set.
    FederationMode => "federation.mode",
    /// The list of blocked domains made public or hidden.
    FederationPublicList => "federation.public_list",
    /// A domain blocked (or its block changed).
    DomainBlock => "domain.block",
    /// A domain's block removed.
    DomainUnblock => "domain.unblock",
    /// A domain allowed (allowlist mode).
    DomainAllow => "domain.allow",
    /// A domain no longer allowed.
    DomainUnallow => "domain.unallow",
    /// Someone else's post removed by a moderator or admin.
    PostRemove => "post.remove",
    /// A local account suspended.
    AccountSuspend => "account.suspend",
    /// A local account's suspension lifted.
    AccountUnsuspend => "account.unsuspend",
    /// A local account limited.
    AccountLimit => "account.limit",
    /// A local account's limit lifted.
    AccountUnlimit => "account.unlimit",
    /// A local account's posts shown as sensitive.
    AccountSensitive => "account.sensitive",
    /// That lifted.
    AccountUnsensitive => "account.unsensitive",
    /// Someone else's post marked sensitive (with a content warning) by a moderator.
    PostSensitive => "post.sensitive",
    /// The crisis resources text set.
    CrisisResourcesSet => "settings.crisis_resources",
    /// A moderator looked at an account and decided on no action (with a note).
    AccountNoAction => "account.no_action",
    /// A report read by a moderator.
    ReportView => "report.view",
    /// The list of reports read by a moderator.
    ReportList => "report.list",
    /// A report resolved.
    ReportResolve => "report.resolve",
    /// A resolved report opened again.
    ReportReopen => "report.reopen",
    /// A local person verified as a clinician (the credential is the detail).
    ClinicianVerify => "clinician.verify",
    /// A clinician's verification taken away.
    ClinicianRevoke => "clinician.revoke",
    /// A clinic announcement published (urgent or not is the detail).
    AnnouncementPublish => "announcement.publish",
    /// A clinic announcement withdrawn.
    AnnouncementWithdraw => "announcement.withdraw",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
                Error::Unprocessable(format!(
                    "unknown action {s:?}: use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// What an act was done to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `account`, `group`, `post`, `report`, `invite`, `host`, `setting`.
    pub kind: &'static str,
    /// Its id (or host).
    pub id: String,
    /// A name for people: a handle as it was then, a host.
    pub name: String,
}

impl Target {
    /// A person or a group (`@name`, or `@name@host` for a remote one).
    pub fn actor(actor: &ActorRow) -> Self {
        let kind = match actor.actor_kind() {
            hearth_federation::protocol::actor::ActorKind::Group => "group",
            _ => "account",
        };
        Self {
            kind,
            id: actor.id.to_string(),
            name: handle_of(actor),
        }
    }

    /// A post, named by its author.
    pub fn post(post_id: i64, author: &ActorRow) -> Self {
        Self {
            kind: "post",
            id: post_id.to_string(),
            name: format!("post by {}", handle_of(author)),
        }
    }

    /// A report, named by the account reported.
    pub fn report(report_id: i64, reported: &ActorRow) -> Self {
        Self {
            kind: "report",
            id: report_id.to_string(),
            name: format!("report on {}", handle_of(reported)),
        }
    }

    /// An invite code (never the code itself).
    pub fn invite(invite_id: i64) -> Self {
        Self {
            kind: "invite",
            id: invite_id.to_string(),
            name: String::new(),
        }
    }

    /// A clinic announcement.
    pub fn announcement(id: i64) -> Self {
        Self {
            kind: "announcement",
            id: id.to_string(),
            name: String::new(),
        }
    }

    /// An instance setting, by name.
    pub fn setting(name: &str) -> Self {
        Self {
            kind: "setting",
            id: name.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Another server.
    pub fn host(host: &str) -> Self {
        Self {
            kind: "host",
            id: host.to_owned(),
            name: host.to_owned(),
        }
    }
}

/// `@name` for a local actor, `@name@host` for a remote one.
fn handle_of(actor: &ActorRow) -> String {
    if actor.local {
        format!("@{}", actor.username)
    } else {
        format!("@{}@{}", actor.username, actor.domain)
    }
}

/// One act to record.
#[derive(Clone, Debug)]
pub struct Entry {
    /// What was done.
    pub action: Action,
    /// To what.
    pub target: Target,
    /// What the act set (a role, a category, a count), if anything.
    pub detail: String,
    /// The reason the person gave, if any.
    pub reason: Option<String>,
}

impl Entry {
    /// An entry for `action` on `target`, with no detail or reason.
    pub fn new(action: Action, target: Target) -> Self {
        Self {
            action,
            target,
            detail: String::new(),
            reason: None,
        }
    }

    /// With what the act set.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// With the reason given (blank counts as none).
    pub fn reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        self
    }
}

/// The name the log gives the command line.
pub const CONSOLE: &str = "console";

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Appends `entry`, done by `by`, in the caller's transaction (the act's own). Waits for
/// another process's append to commit first (the head row is locked).
pub fn record(conn: &mut AnyConnection, by: &Acting, entry: Entry) -> Result<AuditRow, Error> {
    let head = audit::lock_head(conn)?;
    let (actor_id, actor_name, actor_role) = match by {
        Acting::Console => (None, CONSOLE.to_owned(), "operator".to_owned()),
        Acting::Person { actor, role } => (
            Some(actor.id),
            actor.username.clone(),
            role.as_str().to_owned(),
        ),
    };
    let mut row = AuditRow {
        id: head.last_id + 1,
        // Whole microseconds: what both engines store, so the hash reads back the same.
        created_at: Utc::now().trunc_subsecs(6).naive_utc(),
        actor_id,
        actor_name,
        actor_role,
        action: entry.action.as_str().to_owned(),
        target_kind: entry.target.kind.to_owned(),
        target_id: entry.target.id,
        target_name: entry.target.name,
        detail: entry.detail,
        reason: entry.reason,
        prev_hash: head.last_hash,
        hash: String::new(),
    };
    row.hash = entry_hash(&row);
    audit::append(conn, &row)?;
    Ok(row)
}

/// SHA-256 (hex) of the previous entry's hash, a newline, and this entry's fields as a JSON
/// array in a fixed order: id, time (`YYYY-MM-DDTHH:MM:SS.ffffff`, UTC), actor id, actor
/// name, actor role, action, target kind, target id, target name, detail, reason.
pub fn entry_hash(row: &AuditRow) -> String {
    let fields = serde_json::json!([
        row.id,
        row.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        row.actor_id,
        row.actor_name,
        row.actor_role,
        row.action,
        row.target_kind,
        row.target_id,
        row.target_name,
        row.detail,
        row.reason,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(row.prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(fields.to_string().as_bytes());
    format!("{:x}", hasher.finalize())
}

/// What checking the chain found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry is there, unchanged, in order.
    Intact {
        /// How many entries.
        entries: i64,
        /// The last entry's hash (note it elsewhere to catch a rewrite of the whole chain).
        head_hash: String,
    },
    /// The first entry found wrong.
    Broken {
        /// Its id.
        id: i64,
        /// What is wrong with it.
        problem: String,
    },
}

/// Entries read at a time while checking.
const VERIFY_BATCH: i64 = 1000;

/// Checks the whole chain, up to the head as it is when the check starts (entries appended
/// meanwhile are left for the next check).
pub async fn verify(db: &Database) -> Result<Verdict, Error> {
    db.run(|conn| {
        let head = audit::head(conn)?;
        let mut expected = 1;
        let mut prev_hash = GENESIS.to_owned();
        while expected <= head.last_id {
            let rows = audit::after(conn, expected - 1, VERIFY_BATCH)?;
            if rows.is_empty() {
                break;
            }
            for row in rows.into_iter().take_while(|r| r.id <= head.last_id) {
                if row.id != expected {
                    return Ok(Verdict::Broken {
                        id: expected,
                        problem: format!(
                            "entry {expected} is missing (the entry after {} is {})",
                            expected - 1,
                            row.id
                        ),
                    });
                }
                if row.prev_hash != prev_hash {
                    return Ok(Verdict::Broken {
                        id: row.id,
                        problem: format!(
                            "entry {} does not follow entry {}: its link to it is wrong",
                            row.id,
                            row.id - 1
                        ),
                    });
                }
                if entry_hash(&row) != row.hash {
                    return Ok(Verdict::Broken {
                        id: row.id,
                        problem: format!(
                            "entry {} was changed: its contents do not match its hash",
                            row.id
                        ),
                    });
                }
                prev_hash = row.hash;
                expected += 1;
            }
        }
        if expected <= head.last_id {
            return Ok(Verdict::Broken {
                id: expected,
                problem: format!(
                    "entries {expected} to {} are missing: the chain ends at entry {}",
                    head.last_id,
                    expected - 1
                ),
            });
        }
        if head.last_hash != prev_hash {
            return Ok(Verdict::Broken {
                id: head.last_id,
                problem: format!(
                    "entry {} is not the entry the chain's head records",
                    head.last_id
                ),
            });
        }
        Ok(Verdict::Intact {
            entries: head.last_id,
            head_hash: prev_hash,
        })
    })
    .await
}

/// A page of entries matching `filter`, the newest first; for admins and moderators (as
/// Mastodon's moderator role may view the audit log).
pub async fn list(
    db: &Database,
    by: &Acting,
    filter: Filter,
    page: Page,
) -> Result<Vec<AuditRow>, Error> {
    by.check(Role::may_moderate)?;
    if let Some(action) = &filter.action {
        action.parse::<Action>()?;
    }
    db.run(move |conn| Ok(audit::page(conn, &filter, page)?))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_and_read_back() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>().ok(), Some(*action));
        }
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert!("account.delete_everything".parse::<Action>().is_err());
    }

    #[test]
    fn roles_decide_what_the_acting_person_may_do() {
        let person = |role: Role| Acting::Person {
            actor: Box::new(ActorRow::new(&test_actor())),
            role,
        };
        for (role, moderate, administer, groups) in [
            (Role::Admin, true, true, true),
            (Role::Moderator, true, false, true),
            (Role::Clinician, false, false, true),
            (Role::Member, false, false, false),
        ] {
            let acting = person(role);
            assert_eq!(acting.check(Role::may_moderate).is_ok(), moderate, "{role}");
            assert_eq!(
                acting.check(Role::may_administer).is_ok(),
                administer,
                "{role}"
            );
            assert_eq!(role.may_create_groups(), groups, "{role}");
            assert!(acting.person_id().is_some());
        }
        assert!(Acting::Console.check(Role::may_administer).is_ok());
        assert_eq!(Acting::Console.person_id(), None);
    }

    fn test_actor() -> hearth_federation::objects::actor::FederatedActor {
        let url = |s: &str| url::Url::parse(s).unwrap_or_else(|e| panic!("{e}"));
        hearth_federation::objects::actor::FederatedActor {
            ap_id: url("https://clinic.example/users/ana"),
            inbox: url("https://clinic.example/users/ana/inbox"),
            outbox: None,
            followers: None,
            following: None,
            shared_inbox: None,
            profile_url: None,
            avatar: None,
            header: None,
            kind: hearth_federation::protocol::actor::ActorKind::Person,
            username: "ana".into(),
            display_name: None,
            summary: None,
            public_key_pem: String::new(),
            private_key: None,
            published: Utc::now(),
            manually_approves_followers: false,
            discoverable: false,
            local: true,
            last_refreshed_at: Utc::now(),
            fields: Vec::new(),
            clinician: None,
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_link() {
        let row = AuditRow {
            id: 7,
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 123_456_000)
                .map(|t| t.naive_utc())
                .unwrap_or_default(),
            actor_id: Some(3),
            actor_name: "mona".into(),
            actor_role: "moderator".into(),
            action: "group.member_ban".into(),
            target_kind: "account".into(),
            target_id: "42".into(),
            target_name: "@eve@elsewhere.example".into(),
            detail: String::new(),
            reason: Some("spam".into()),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        };
        let hash = entry_hash(&row);
        assert_eq!(hash.len(), 64);
        let changed = [
            AuditRow {
                id: 8,
                ..row.clone()
            },
            AuditRow {
                actor_name: "root".into(),
                ..row.clone()
            },
            AuditRow {
                reason: None,
                ..row.clone()
            },
            AuditRow {
                detail: "x".into(),
                ..row.clone()
            },
            AuditRow {
                prev_hash: "1".repeat(64),
                ..row.clone()
            },
        ];
        for other in changed {
            assert_ne!(entry_hash(&other), hash, "{other:?}");
        }
        // The stored hash itself is not part of what is hashed.
        assert_eq!(
            entry_hash(&AuditRow {
                hash: "anything".into(),
                ..row
            }),
            hash
        );
    }
}
