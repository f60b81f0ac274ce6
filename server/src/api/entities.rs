//! Mastodon API entities, in the exact shapes Mastodon clients parse
//! (<https://docs.joinmastodon.org/entities/>): string ids, ISO 8601 times with milliseconds,
//! never-empty avatar URLs.

use crate::{
    db::{actors::ActorRow, users::UserRow},
    service::{Urls, accounts::Role},
};
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_federation::protocol::actor::ActorKind;
use serde::Serialize;

/// Formats a time the way Mastodon does: `2026-11-25T15:19:45.000Z`.
pub fn mastodon_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `Account`.
#[derive(Debug, Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub display_name: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: String,
    pub url: String,
    pub uri: String,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub followers_count: u64,
    pub following_count: u64,
    pub statuses_count: u64,
    pub last_status_at: Option<String>,
    pub hide_collections: bool,
    pub noindex: bool,
    pub emojis: Vec<serde_json::Value>,
    pub roles: Vec<serde_json::Value>,
    pub fields: Vec<serde_json::Value>,
}

impl Account {
    /// The account entity of an actor row.
    pub fn from_row(row: &ActorRow, urls: &Urls) -> Self {
        let kind = row.actor_kind();
        let acct = if row.local {
            row.username.clone()
        } else {
            format!("{}@{}", row.username, row.domain)
        };
        let avatar = row
            .avatar_url
            .clone()
            .unwrap_or_else(|| urls.default_avatar().to_string());
        let header = urls.default_header().to_string();
        Self {
            id: row.id.to_string(),
            username: row.username.clone(),
            acct,
            display_name: row.display_name.clone().unwrap_or_default(),
            locked: row.manually_approves_followers,
            bot: matches!(kind, ActorKind::Application | ActorKind::Service),
            discoverable: row.discoverable,
            indexable: false,
            group: kind == ActorKind::Group,
            created_at: mastodon_time(row.published_at.and_utc()),
            note: row.summary.clone().unwrap_or_default(),
            url: row.profile_url.clone().unwrap_or_else(|| row.ap_id.clone()),
            uri: row.ap_id.clone(),
            avatar_static: avatar.clone(),
            avatar,
            header_static: header.clone(),
            header,
            followers_count: 0,
            following_count: 0,
            statuses_count: 0,
            last_status_at: None,
            hide_collections: true,
            noindex: true,
            emojis: Vec::new(),
            roles: Vec::new(),
            fields: Vec::new(),
        }
    }
}

/// `CredentialAccount`: the signed-in person's own account, with `source` and `role`.
#[derive(Debug, Serialize)]
pub struct CredentialAccount {
    #[serde(flatten)]
    pub account: Account,
    pub source: Source,
    pub role: AccountRole,
}

/// `Account.source`.
#[derive(Debug, Serialize)]
pub struct Source {
    pub privacy: &'static str,
    pub sensitive: bool,
    pub language: String,
    pub note: String,
    pub fields: Vec<serde_json::Value>,
    pub follow_requests_count: u64,
    pub hide_collections: bool,
    pub discoverable: bool,
    pub indexable: bool,
}

/// `Role`, with Mastodon's permission bit flags.
#[derive(Debug, Serialize)]
pub struct AccountRole {
    pub id: String,
    pub name: String,
    pub permissions: String,
    pub color: String,
    pub highlighted: bool,
}

impl CredentialAccount {
    /// The credential account of a local person.
    pub fn new(actor: &ActorRow, user: &UserRow, urls: &Urls) -> Self {
        let role = user.role.parse::<Role>().unwrap_or(Role::Member);
        // administrator = 1; a moderator may view the dashboard and audit log, and manage
        // reports, users and taxonomies (Mastodon's default Moderator role).
        let (id, name, permissions, highlighted) = match role {
            Role::Admin => ("3", "Admin", 1u32, true),
            Role::Moderator => ("2", "Moderator", 4 | 8 | 16 | 256 | 1024, true),
            Role::Clinician => ("1", "Clinician", 0, true),
            Role::Member => ("-99", "", 0, false),
        };
        let note = actor.summary.clone().unwrap_or_default();
        Self {
            account: Account::from_row(actor, urls),
            source: Source {
                privacy: "public",
                sensitive: false,
                language: String::new(),
                note,
                fields: Vec::new(),
                follow_requests_count: 0,
                hide_collections: true,
                discoverable: actor.discoverable,
                indexable: false,
            },
            role: AccountRole {
                id: id.into(),
                name: name.into(),
                permissions: permissions.to_string(),
                color: String::new(),
                highlighted,
            },
        }
    }
}
