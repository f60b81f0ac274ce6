//! Mastodon API entities, in the exact shapes Mastodon clients parse
//! (<https://docs.joinmastodon.org/entities/>): string ids, ISO 8601 times with milliseconds,
//! never-empty avatar URLs.

use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{ActorProfile, ActorRow},
        blocks, follows,
        media::MediaRow,
        posts::PostRow,
        reblogs::ReblogRow,
        remote_media::RemoteMediaRow,
        users::UserRow,
    },
    service::{
        Urls,
        accounts::Role,
        remote_media::proxy_url,
        statuses::{Counts, Entry, Shown},
    },
};
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_federation::protocol::actor::ActorKind;
use serde::Serialize;
use std::collections::HashMap;

/// Formats a time the way Mastodon does: `2026-11-25T15:19:45.000Z`.
pub fn mastodon_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `Account`.
#[derive(Clone, Debug, Serialize)]
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
        Ok(Self::from_row(row, urls).counted(Counts::of_actor(conn, row)?))
    }

    /// The account with these counts.
    pub fn counted(mut self, counts: Counts) -> Self {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        self.followers_count = n(counts.followers);
        self.following_count = n(counts.following);
        self.statuses_count = n(counts.statuses);
        self
    }

    /// The account entity of an actor row.
    pub fn from_row(row: &ActorRow, urls: &Urls) -> Self {
        Self::from_profile(&ActorProfile::from(row), urls)
    }

    /// The account entity of what an account shows of an actor.
    pub fn from_profile(row: &ActorProfile, urls: &Urls) -> Self {
        let kind = row.actor_kind();
        let acct = if row.local {
            row.username.clone()
        } else {
            format!("{}@{}", row.username, row.domain)
        };
        // A remote actor's images are shown from here (apps never contact other servers).
        let image = |local: &Option<String>, proxy: &Option<String>, default: &url::Url| {
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
            roles: clinician_role(row).into_iter().collect(),
            fields: clinician_field(row)
                .into_iter()
                .chain(row.profile_fields().iter().map(|f| {
                    serde_json::json!({
                        "name": f.name,
                        "value": crate::service::content::sanitize(&f.value),
                        "verified_at": null,
                    })
                }))
                .collect(),
        }
    }
}

/// A verified clinician whose clinic this instance trusts (this one, or an allowed domain)
/// shows a role badge, as Mastodon shows a highlighted role.
fn clinician_role(row: &ActorProfile) -> Option<serde_json::Value> {
    (row.clinician.is_some() && (row.local || row.clinician_trusted)).then(
        || serde_json::json!({ "id": "clinician", "name": "Verified clinician", "color": "" }),
    )
}

/// A clinician's credential as the first profile field: verified (with its date) where the
/// issuing clinic is trusted, plain text where it is not.
fn clinician_field(row: &ActorProfile) -> Option<serde_json::Value> {
    let attestation = row.clinician()?;
    let clinic = hearth_federation::protocol::authority(&attestation.issuer);
    let credential = crate::service::content::escape(&attestation.credential);
    Some(if row.local || row.clinician_trusted {
        serde_json::json!({
            "name": "Clinician",
            "value": format!("{credential} (verified by {clinic})"),
            "verified_at": mastodon_time(attestation.issued),
        })
    } else {
        serde_json::json!({
            "name": "Clinician",
            "value": format!("{credential} (according to {clinic}, not a clinic trusted here)"),
            "verified_at": null,
        })
    })
}

/// `CredentialAccount`: the signed-in person's own account, with `source` and `role`.
#[derive(Clone, Debug, Serialize)]
pub struct CredentialAccount {
    #[serde(flatten)]
    pub account: Account,
    pub source: Source,
    pub role: AccountRole,
}

/// `Account.source`.
#[derive(Clone, Debug, Serialize)]
pub struct Source {
    pub privacy: String,
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
#[derive(Clone, Debug, Serialize)]
pub struct AccountRole {
    pub id: String,
    pub name: String,
    pub permissions: String,
    pub color: String,
    pub highlighted: bool,
}

impl CredentialAccount {
    /// The credential account of a local person, with the number of follow requests
    /// waiting for them.
    pub fn new(actor: &ActorRow, user: &UserRow, follow_requests: u64, urls: &Urls) -> Self {
        use crate::service::content::html_to_text;
        let role = user.role();
        // administrator = 1; a moderator may view the dashboard and audit log, and manage
        // reports, users and taxonomies (Mastodon's default Moderator role).
        let (id, name, permissions, highlighted) = match role {
            Role::Admin => ("3", "Admin", 1u32, true),
            Role::Moderator => ("2", "Moderator", 4 | 8 | 16 | 256 | 1024, true),
            Role::Clinician => ("1", "Clinician", 0, true),
            Role::Member => ("-99", "", 0, false),
        };
        // The bio as typed; one set before it was kept is read back from its HTML.
        let note = user
            .note_source
            .clone()
            .unwrap_or_else(|| html_to_text(actor.summary.as_deref().unwrap_or_default()));
        let fields = actor
            .profile_fields()
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name,
                    "value": html_to_text(&f.value),
                    "verified_at": null,
                })
            })
            .collect();
        Self {
            account: Account::from_row(actor, urls),
            source: Source {
                privacy: user.default_privacy.clone(),
                sensitive: user.default_sensitive,
                language: user.default_language.clone().unwrap_or_default(),
                note,
                fields,
                follow_requests_count: follow_requests,
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
#[derive(Clone, Debug, Serialize)]
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
    pub reblog: Option<Box<Status>>,
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
#[derive(Clone, Debug, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub url: String,
    pub acct: String,
}

/// The statuses of a list's posts, by post id, each handed out once per use: moved out at
/// its last use, cloned before (a post boosted twice on a page, or the post of several
/// notifications).
#[derive(Debug)]
pub struct Rendered {
    statuses: HashMap<i64, Status>,
    uses: HashMap<i64, usize>,
}

impl Rendered {
    /// The statuses of the posts `shown` holds, to be taken once for each of `uses`.
    pub fn new(shown: &Shown, urls: &Urls, uses: impl IntoIterator<Item = i64>) -> Self {
        let mut counted: HashMap<i64, usize> = HashMap::new();
        for post in uses {
            *counted.entry(post).or_default() += 1;
        }
        Self {
            statuses: shown
                .posts
                .iter()
                .filter_map(|post| Some((post.id, Status::shown(post, shown, urls)?)))
                .collect(),
            uses: counted,
        }
    }

    /// The status of `post`, if the reader may see it.
    pub fn take(&mut self, post: i64) -> Option<Status> {
        let left = self.uses.get_mut(&post)?;
        *left = left.saturating_sub(1);
        if *left == 0 {
            self.statuses.remove(&post)
        } else {
            self.statuses.get(&post).cloned()
        }
    }
}

impl Status {
    /// The statuses of those of `posts` that `viewer` may see, in order: rendered from a
    /// few statements for the whole list ([`Shown`]).
    pub fn list(
        conn: &mut AnyConnection,
        posts: Vec<PostRow>,
        viewer: Option<i64>,
        urls: &Urls,
    ) -> Result<Vec<Self>, Error> {
        Self::entries(
            conn,
            posts.into_iter().map(Entry::Post).collect(),
            viewer,
            urls,
        )
    }

    /// The statuses of a timeline's posts and boosts, those `viewer` may see, in order: a
    /// boost is a status of its own whose `reblog` is the post.
    pub fn entries(
        conn: &mut AnyConnection,
        entries: Vec<Entry>,
        viewer: Option<i64>,
        urls: &Urls,
    ) -> Result<Vec<Self>, Error> {
        let mut posts: Vec<PostRow> = Vec::with_capacity(entries.len());
        for entry in &entries {
            if !posts.iter().any(|p| p.id == entry.post().id) {
                posts.push(entry.post().clone());
            }
        }
        let boosters: Vec<i64> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Boost(boost, _) => Some(boost.actor_id),
                Entry::Post(_) => None,
            })
            .collect();
        let shown = Shown::load(conn, posts, viewer, &boosters, Vec::new())?;
        let mut statuses = Rendered::new(&shown, urls, entries.iter().map(|e| e.post().id));
        let mut list = Vec::with_capacity(entries.len());
        for entry in &entries {
            let Some(status) = statuses.take(entry.post().id) else {
                continue;
            };
            list.push(match entry {
                Entry::Post(_) => status,
                Entry::Boost(boost, _) => match shown.actor(boost.actor_id) {
                    Some(booster) => Self::boost(boost, booster, status, urls),
                    None => continue,
                },
            });
        }
        Ok(list)
    }

    /// The status of a boost: the booster's, with the boosted post as its `reblog`.
    fn boost(boost: &ReblogRow, booster: &ActorProfile, post: Self, urls: &Urls) -> Self {
        Self {
            id: boost.id.to_string(),
            uri: boost.ap_id.clone(),
            url: None,
            created_at: mastodon_time(boost.created_at.and_utc()),
            edited_at: None,
            account: Account::from_profile(booster, urls),
            content: String::new(),
            visibility: if boost.visibility == "unlisted" {
                "unlisted"
            } else {
                "public"
            },
            sensitive: false,
            spoiler_text: String::new(),
            in_reply_to_id: None,
            in_reply_to_account_id: None,
            language: None,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            favourited: post.favourited,
            reblogged: post.reblogged,
            muted: false,
            bookmarked: post.bookmarked,
            pinned: false,
            application: None,
            media_attachments: Vec::new(),
            mentions: Vec::new(),
            tags: Vec::new(),
            emojis: Vec::new(),
            card: None,
            poll: None,
            filtered: Vec::new(),
            hearth_group: None,
            reblog: Some(Box::new(post)),
        }
    }

    /// The status entity of a post, as `viewer` sees it; 404 if they may not.
    pub fn new(
        conn: &mut AnyConnection,
        post: &PostRow,
        viewer: Option<i64>,
        urls: &Urls,
    ) -> Result<Self, Error> {
        Self::list(conn, vec![post.clone()], viewer, urls)?
            .pop()
            .ok_or_else(|| Error::not_found("Record not found"))
    }

    /// The entity of one post of a list.
    fn shown(post: &PostRow, shown: &Shown, urls: &Urls) -> Option<Self> {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        let account = Account::from_profile(shown.actor(post.author_id)?, urls)
            .counted(shown.counts_of(post.author_id));
        let group = post
            .group_id
            .and_then(|id| shown.actor(id))
            .map(|g| Account::from_profile(g, urls));
        let parent = shown.parent(post.id);
        let mentions = shown
            .mentions(post.id)
            .map(|actor| {
                let account = Account::from_profile(actor, urls);
                Mention {
                    id: account.id,
                    username: account.username,
                    url: account.url,
                    acct: account.acct,
                }
            })
            .collect();
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
        let media_attachments = if post.local {
            shown
                .media(post.id)
                .iter()
                .map(|m| MediaAttachment::new(m, urls))
                .collect()
        } else {
            shown
                .remote_media(post.id)
                .iter()
                .map(|m| MediaAttachment::remote(m, urls))
                .collect()
        };
        Some(Self {
            id: post.id.to_string(),
            uri: post.ap_id.clone(),
            url: post.url.clone(),
            created_at: mastodon_time(post.published_at.and_utc()),
            edited_at: post.edited_at.map(|t| mastodon_time(t.and_utc())),
            account,
            content,
            visibility: match post.visibility.as_str() {
                "public" => "public",
                "unlisted" => "unlisted",
                "private" | "members" => "private",
                _ => "direct",
            },
            sensitive: shown.sensitive(post),
            spoiler_text: post.spoiler_text.clone(),
            in_reply_to_id: parent.map(|(id, _)| id.to_string()),
            in_reply_to_account_id: parent.map(|(_, author)| author.to_string()),
            language: post.language.clone(),
            replies_count: n(shown.replies(post.id)),
            reblogs_count: n(shown.reblogs(post.id)),
            favourites_count: n(shown.likes(post.id)),
            favourited: shown.liked(post.id),
            reblogged: shown.reblogged(post.id),
            muted: false,
            bookmarked: shown.bookmarked(post.id),
            pinned: shown.pinned(post.id),
            reblog: None,
            application: None,
            media_attachments,
            mentions,
            tags: shown
                .tags(post.id)
                .iter()
                .map(|name| super::tags::entity_of_name(urls, name))
                .collect(),
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
#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct MediaMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<MediaSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub small: Option<MediaSize>,
    pub focus: MediaFocus,
}

/// `meta.original`, `meta.small`.
#[derive(Clone, Debug, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
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
}

/// `Relationship`.
#[derive(Clone, Debug, Serialize)]
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
    /// The languages one chose to see of the account (Hearth keeps no such choice).
    pub languages: Option<Vec<String>>,
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
            languages: None,
        })
    }
}

/// `Report`: what a person reported, as Mastodon answers `POST /api/v1/reports` and shows it
/// in an `admin.report` notification.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub id: String,
    pub action_taken: bool,
    pub action_taken_at: Option<String>,
    pub category: String,
    pub comment: String,
    /// Whether it was sent to the reported account's server (as a `Flag`).
    pub forwarded: bool,
    pub created_at: String,
    pub status_ids: Vec<String>,
    pub rule_ids: Option<Vec<String>>,
    pub target_account: Account,
    /// Hearth's category (`crisis`, `misinformation`...); `category` is Mastodon's.
    pub hearth_category: String,
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
            category: crate::service::reports::mastodon_category(&filed.row).to_owned(),
            hearth_category: filed.row.category.clone(),
            comment: filed.row.comment.clone(),
            forwarded: filed.row.forward,
            created_at: mastodon_time(filed.row.created_at.and_utc()),
            status_ids: filed.post_ids.iter().map(i64::to_string).collect(),
            rule_ids: (!rules.is_empty()).then_some(rules),
            target_account: Account::from_row(&filed.target, urls),
        }
    }
}
