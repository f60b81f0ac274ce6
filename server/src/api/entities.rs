//! Mastodon API entities, in the exact shapes Mastodon clients parse
//! (<https://docs.joinmastodon.org/entities/>): string ids, ISO 8601 times with milliseconds,
//! never-empty avatar URLs.

use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
        blocks, follows,
        media::{self, MediaRow},
        posts::{self, PostRow},
        remote_media::{self, RemoteMediaRow},
        users::UserRow,
    },
    service::{Urls, accounts::Role, remote_media::proxy_url},
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
    /// The account entity of an actor row, with its follower, following and post counts.
    pub fn with_counts(
        conn: &mut AnyConnection,
        row: &ActorRow,
        urls: &Urls,
    ) -> Result<Self, Error> {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let mut account = Self::from_row(row, urls);
        account.followers_count = n(follows::follower_count(conn, row.id)?);
        account.following_count = n(follows::following_count(conn, row.id)?);
        account.statuses_count = n(if row.actor_kind() == ActorKind::Group {
            posts::count_in_group(conn, row.id)?
        } else {
            posts::count_by_author(conn, row.id)?
        });
        Ok(account)
    }

    /// The account entity of an actor row.
    pub fn from_row(row: &ActorRow, urls: &Urls) -> Self {
        let kind = row.actor_kind();
        let acct = if row.local {
            row.username.clone()
        } else {
            format!("{}@{}", row.username, row.domain)
        };
        // A remote actor's images are shown from here (apps never contact other servers).
        let image = |local: &Option<String>, proxy: &Option<String>, default: url::Url| {
            let served = if row.local {
                local.clone()
            } else {
                proxy
                    .as_deref()
                    .map(|token| proxy_url(urls, token, false).to_string())
            };
            served.unwrap_or_else(|| default.to_string())
        };
        let avatar = image(&row.avatar_url, &row.avatar_proxy, urls.default_avatar());
        let header = image(&row.header_url, &row.header_proxy, urls.default_header());
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

/// `Status`. `hearth_group` (a Hearth extension) is the group the post belongs to.
#[derive(Debug, Serialize)]
pub struct Status {
    pub id: String,
    pub uri: String,
    pub url: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub account: Account,
    pub content: String,
    pub visibility: &'static str,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_account_id: Option<String>,
    pub language: Option<String>,
    pub replies_count: u64,
    pub reblogs_count: u64,
    pub favourites_count: u64,
    pub favourited: bool,
    pub reblogged: bool,
    pub muted: bool,
    pub bookmarked: bool,
    pub pinned: bool,
    pub reblog: Option<serde_json::Value>,
    pub application: Option<serde_json::Value>,
    pub media_attachments: Vec<MediaAttachment>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<serde_json::Value>,
    pub emojis: Vec<serde_json::Value>,
    pub card: Option<serde_json::Value>,
    pub poll: Option<serde_json::Value>,
    pub filtered: Vec<serde_json::Value>,
    pub hearth_group: Option<Account>,
}

/// `Status.mentions[]`.
#[derive(Debug, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub url: String,
    pub acct: String,
}

impl Status {
    /// The status entity of a post, as `viewer` sees it.
    pub fn new(
        conn: &mut AnyConnection,
        post: &PostRow,
        viewer: Option<i64>,
        urls: &Urls,
    ) -> Result<Self, Error> {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let author = actors::by_id(conn, post.author_id)?
            .ok_or_else(|| Error::Internal("post without author".into()))?;
        let group = match post.group_id {
            Some(id) => actors::by_id(conn, id)?.map(|g| Account::from_row(&g, urls)),
            None => None,
        };
        // The parent is named only to those who may see it.
        let parent = match post.in_reply_to_id {
            Some(id) => posts::by_id(conn, id)?
                .filter(|p| crate::service::posts::can_view(conn, p, viewer).unwrap_or(false)),
            None => None,
        };
        let mut mentions = Vec::new();
        for id in posts::mentions(conn, post.id)? {
            if let Some(actor) = actors::by_id(conn, id)? {
                let account = Account::from_row(&actor, urls);
                mentions.push(Mention {
                    id: account.id,
                    username: account.username,
                    url: account.url,
                    acct: account.acct,
                });
            }
        }
        // A Lemmy post's title is part of what it says.
        let content = match &post.name {
            Some(title) if !title.is_empty() => {
                format!(
                    "<p><strong>{}</strong></p>{}",
                    crate::service::content::escape(title),
                    post.content
                )
            }
            _ => post.content.clone(),
        };
        // Only replies the viewer may see are counted: a count must not reveal hidden posts.
        let mut visible_replies = 0;
        for reply in posts::replies(conn, post.id)? {
            if crate::service::posts::can_view(conn, &reply, viewer)? {
                visible_replies += 1;
            }
        }
        let media_attachments = MediaAttachment::of_post(conn, post, urls)?;
        let (favourited, bookmarked, pinned) = match viewer {
            Some(viewer) => (
                posts::like_of(conn, viewer, post.id)?.is_some(),
                crate::db::bookmarks::is_bookmarked(conn, viewer, post.id)?,
                viewer == post.author_id && crate::db::pins::is_pinned(conn, viewer, post.id)?,
            ),
            None => (false, false, false),
        };
        Ok(Self {
            id: post.id.to_string(),
            uri: post.ap_id.clone(),
            url: post.url.clone(),
            created_at: mastodon_time(post.published_at.and_utc()),
            edited_at: post.edited_at.map(|t| mastodon_time(t.and_utc())),
            account: Account::with_counts(conn, &author, urls)?,
            content,
            visibility: match post.visibility.as_str() {
                "public" => "public",
                "unlisted" => "unlisted",
                "private" | "members" => "private",
                _ => "direct",
            },
            sensitive: post.sensitive,
            spoiler_text: post.spoiler_text.clone(),
            in_reply_to_id: parent.as_ref().map(|p| p.id.to_string()),
            in_reply_to_account_id: parent.as_ref().map(|p| p.author_id.to_string()),
            language: None,
            replies_count: visible_replies,
            reblogs_count: 0,
            favourites_count: n(posts::like_count(conn, post.id)?),
            favourited,
            reblogged: false,
            muted: false,
            bookmarked,
            pinned,
            reblog: None,
            application: None,
            media_attachments,
            mentions,
            tags: super::tags::of_post(conn, post.id, urls)?,
            emojis: Vec::new(),
            card: None,
            poll: None,
            filtered: Vec::new(),
            hearth_group: group,
        })
    }
}

/// `MediaAttachment` (images only: `type` is always `image`). `remote_url` stays null even for
/// remote images: apps are given only this instance's copy.
#[derive(Debug, Serialize)]
pub struct MediaAttachment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub preview_url: String,
    pub remote_url: Option<String>,
    pub text_url: Option<String>,
    pub meta: MediaMeta,
    pub description: Option<String>,
    pub blurhash: Option<String>,
}

/// `MediaAttachment.meta`. Sizes are left out while unknown (a remote image not fetched yet,
/// whose server did not say).
#[derive(Debug, Serialize)]
pub struct MediaMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<MediaSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub small: Option<MediaSize>,
    pub focus: MediaFocus,
}

/// `meta.original`, `meta.small`.
#[derive(Debug, Serialize)]
pub struct MediaSize {
    pub width: i32,
    pub height: i32,
    /// `"640x480"`.
    pub size: String,
    pub aspect: f64,
}

impl MediaSize {
    fn new(width: i32, height: i32) -> Self {
        Self {
            width,
            height,
            size: format!("{width}x{height}"),
            aspect: f64::from(width) / f64::from(height.max(1)),
        }
    }
}

/// `meta.focus`.
#[derive(Debug, Serialize)]
pub struct MediaFocus {
    pub x: f64,
    pub y: f64,
}

impl MediaAttachment {
    /// The entity of a stored image.
    pub fn new(row: &MediaRow, urls: &Urls) -> Self {
        use crate::service::media::file_url;
        Self {
            id: row.id.to_string(),
            kind: "image",
            url: file_url(urls, &row.file_name).to_string(),
            preview_url: file_url(urls, &row.thumbnail_file_name).to_string(),
            remote_url: None,
            text_url: None,
            meta: MediaMeta {
                original: Some(MediaSize::new(row.width, row.height)),
                small: Some(MediaSize::new(row.thumbnail_width, row.thumbnail_height)),
                focus: MediaFocus {
                    x: row.focus_x,
                    y: row.focus_y,
                },
            },
            description: row.description.clone(),
            blurhash: Some(row.blurhash.clone()),
        }
    }

    /// The entity of a remote post's image, served from here (`/media/proxy/...`).
    pub fn remote(row: &RemoteMediaRow, urls: &Urls) -> Self {
        let size = |w: Option<i32>, h: Option<i32>| Some(MediaSize::new(w?, h?));
        Self {
            id: row.id.to_string(),
            kind: "image",
            url: proxy_url(urls, &row.token, false).to_string(),
            preview_url: proxy_url(urls, &row.token, true).to_string(),
            remote_url: None,
            text_url: None,
            meta: MediaMeta {
                original: size(row.width, row.height),
                small: size(row.thumbnail_width, row.thumbnail_height),
                focus: MediaFocus {
                    x: row.focus_x,
                    y: row.focus_y,
                },
            },
            description: row.description.clone(),
            blurhash: row.blurhash.clone(),
        }
    }

    /// The images of a post: a local post's uploads, or a remote post's images as served
    /// from here.
    pub fn of_post(
        conn: &mut AnyConnection,
        post: &PostRow,
        urls: &Urls,
    ) -> Result<Vec<Self>, Error> {
        Ok(if post.local {
            media::for_post(conn, post.id)?
                .iter()
                .map(|m| Self::new(m, urls))
                .collect()
        } else {
            remote_media::for_post(conn, post.id)?
                .iter()
                .map(|m| Self::remote(m, urls))
                .collect()
        })
    }
}

/// `Relationship`.
#[derive(Debug, Serialize)]
pub struct Relationship {
    pub id: String,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: String,
}

impl Relationship {
    /// How `viewer` and `other` relate.
    pub fn new(conn: &mut AnyConnection, viewer: i64, other: i64) -> Result<Self, Error> {
        let out = follows::between(conn, viewer, other)?;
        let back = follows::between(conn, other, viewer)?;
        let mute = blocks::mute_between(conn, viewer, other)?;
        Ok(Self {
            id: other.to_string(),
            following: out.as_ref().is_some_and(|f| f.accepted),
            showing_reblogs: true,
            notifying: false,
            followed_by: back.as_ref().is_some_and(|f| f.accepted),
            blocking: blocks::is_blocking(conn, viewer, other)?,
            blocked_by: blocks::is_blocking(conn, other, viewer)?,
            muting: mute.is_some(),
            muting_notifications: mute.is_some_and(|m| m.notifications),
            requested: out.as_ref().is_some_and(|f| !f.accepted),
            requested_by: back.as_ref().is_some_and(|f| !f.accepted),
            domain_blocking: false,
            endorsed: false,
            note: String::new(),
        })
    }
}

/// `Report`: what a person reported, as Mastodon answers `POST /api/v1/reports` and shows it
/// in an `admin.report` notification.
#[derive(Debug, Serialize)]
pub struct Report {
    pub id: String,
    pub action_taken: bool,
    pub action_taken_at: Option<String>,
    pub category: String,
    pub comment: String,
    /// Whether it was sent to the reported account's server: not yet (the `Flag` comes with
    /// the moderation work), whatever the reporter asked.
    pub forwarded: bool,
    pub created_at: String,
    pub status_ids: Vec<String>,
    pub rule_ids: Option<Vec<String>>,
    pub target_account: Account,
}

impl Report {
    /// The entity of a stored report.
    pub fn new(filed: &crate::service::reports::Filed, urls: &Urls) -> Self {
        let rules = filed.row.rules();
        Self {
            id: filed.row.id.to_string(),
            action_taken: filed.row.action_taken_at.is_some(),
            action_taken_at: filed
                .row
                .action_taken_at
                .map(|t| mastodon_time(t.and_utc())),
            category: filed.row.category.clone(),
            comment: filed.row.comment.clone(),
            forwarded: false,
            created_at: mastodon_time(filed.row.created_at.and_utc()),
            status_ids: filed.post_ids.iter().map(i64::to_string).collect(),
            rule_ids: (!rules.is_empty()).then_some(rules),
            target_account: Account::from_row(&filed.target, urls),
        }
    }
}
