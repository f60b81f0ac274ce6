//! Posts: writing, editing, deleting and liking them, who may see them, and how they travel.
//!
//! A post in a group carries the group as its `audience` and is addressed to it (FEP-1b12).
//! A local group shares every post, edit, deletion and like in it by `Announce`ing the activity
//! to its members' servers, once per server.

use super::{Context, content, delivery::inboxes, follows::is_member};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
        batch::{self, PostScope},
        deliveries::Form,
        follows, groups,
        posts::{self, PostRow},
    },
};
use activitypub_federation::{config::Data, fetch::webfinger::webfinger_resolve_actor};
use chrono::{SubsecRound, Utc};
use hearth_federation::{
    FederationData,
    activities::builders,
    objects::actor::FederatedActor,
    protocol::{
        actor::ActorKind,
        attachment::Attachment,
        post::{PUBLIC, PostObject, Tag, is_public},
    },
};
use serde_json::Value;
use std::collections::HashSet;
use url::Url;

/// Longest post accepted from the client API, in characters.
pub const MAX_CHARACTERS: usize = 5000;

/// A post as the client API submits it.
#[derive(Debug, Default)]
pub struct NewStatus {
    /// Plain text.
    pub text: String,
    /// `public`, `unlisted`, `private` or `direct` (ignored in groups).
    pub visibility: Option<String>,
    /// The post replied to.
    pub in_reply_to_id: Option<i64>,
    /// Content warning.
    pub spoiler_text: String,
    /// Marked sensitive.
    pub sensitive: bool,
    /// The group to post in (Hearth extension; mentioning the group works too).
    pub group_id: Option<i64>,
    /// The author's own images, uploaded before and not yet in a post.
    pub media_ids: Vec<i64>,
    /// ISO 639 code of the language, as the app sent it (checked here).
    pub language: Option<String>,
    /// The app's `Idempotency-Key`: a retry with the same key within an hour returns the
    /// first post instead of writing a second.
    pub idempotency_key: Option<String>,
}

/// The live post a person's `Idempotency-Key` (as stored) made within the last hour.
fn keyed_post(
    conn: &mut AnyConnection,
    author_id: i64,
    key: &str,
) -> Result<Option<PostRow>, Error> {
    Ok(
        match crate::db::idempotency::post_of(conn, author_id, key)? {
            Some(id) => posts::by_id(conn, id)?.filter(|p| !p.is_deleted()),
            None => None,
        },
    )
}

/// Finds the actors a text mentions: local ones by handle, remote ones in storage or, failing
/// that, by WebFinger.
async fn resolve_mentions(ctx: &Context, data: &Data<FederationData>, text: &str) -> Vec<ActorRow> {
    let mut found = Vec::new();
    for mention in content::mentions_in(text).into_iter().take(20) {
        let local = mention
            .domain
            .as_deref()
            .is_none_or(|d| d == ctx.urls.domain());
        let local_domain = ctx.urls.domain().to_owned();
        let (name, domain) = (
            mention.name.clone(),
            mention
                .domain
                .clone()
                .unwrap_or_else(|| local_domain.clone()),
        );
        let known = ctx
            .db
            .run(move |conn| Ok(actors::by_acct(conn, &name, &domain, &local_domain)?))
            .await
            .ok()
            .flatten();
        let row = match (known, local, &mention.domain) {
            (Some(row), _, _) => Some(row),
            (None, false, Some(domain)) => {
                match webfinger_resolve_actor::<FederationData, FederatedActor>(
                    &format!("{}@{domain}", mention.name),
                    data,
                )
                .await
                {
                    Ok(actor) => {
                        let id = actor.ap_id.to_string();
                        ctx.db
                            .run(move |conn| Ok(actors::by_ap_id(conn, &id)?))
                            .await
                            .ok()
                            .flatten()
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "a mention could not be resolved");
                        None
                    }
                }
            }
            _ => None,
        };
        if let Some(row) = row.filter(|r| r.actor_kind() != ActorKind::Application)
            && !found.iter().any(|f: &ActorRow| f.id == row.id)
        {
            found.push(row);
        }
    }
    found
}

/// Writes a post from the client API and sends it where it must go.
pub async fn create_status(
    ctx: &Context,
    data: &Data<FederationData>,
    author: ActorRow,
    new: NewStatus,
) -> Result<PostRow, Error> {
    let key = new
        .idempotency_key
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(super::oauth::secret_hash);
    if let Some(key) = key.clone() {
        let author_id = author.id;
        let earlier = ctx
            .db
            .run(move |conn| keyed_post(conn, author_id, &key))
            .await?;
        if let Some(earlier) = earlier {
            return Ok(earlier);
        }
    }
    let language = content::asked_language(new.language.as_deref())?;
    let text = new.text.trim().to_owned();
    if text.is_empty() && new.media_ids.is_empty() {
        return Err(Error::Unprocessable(
            "Validation failed: Text can't be blank".into(),
        ));
    }
    if text.chars().count() > MAX_CHARACTERS {
        return Err(Error::Unprocessable(format!(
            "Validation failed: Text is longer than {MAX_CHARACTERS} characters"
        )));
    }
    let mentioned = resolve_mentions(ctx, data, &text).await;
    let links: Vec<(String, String)> = mentioned
        .iter()
        .map(|a| {
            let handle = if a.local {
                a.username.clone()
            } else {
                format!("{}@{}", a.username, a.domain)
            };
            (
                handle,
                a.profile_url.clone().unwrap_or_else(|| a.ap_id.clone()),
            )
        })
        .collect();
    let html = content::render_plain(
        &text,
        |m| {
            let handle = match &m.domain {
                Some(d) if d != ctx.urls.domain() => format!("{}@{d}", m.name),
                _ => m.name.clone(),
            };
            links
                .iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(&handle))
                .map(|(_, href)| href.clone())
        },
        |tag| super::tags::tag_url(&ctx.urls, tag).to_string(),
    );
    let (author_id, written_key) = (author.id, key.clone());
    let written = ctx
        .write(move |conn, ctx2| {
            if let Some(key) = &written_key
                && let Some(id) = crate::db::idempotency::post_of(conn, author.id, key)?
            {
                // A retry that arrived while the first was being written.
                if let Some(earlier) = posts::by_id(conn, id)?.filter(|p| !p.is_deleted()) {
                    return Ok(earlier);
                }
                // Its post was deleted: the key may make a new one. Only that post's key
                // goes, so a key another process has just written is kept (and this write
                // then fails on it, and answers with that process's post).
                crate::db::idempotency::forget(conn, author.id, key, id)?;
            }
            let parent = match new.in_reply_to_id {
                Some(id) => Some(
                    posts::by_id(conn, id)?
                        .filter(|p| {
                            !p.is_deleted() && can_view(conn, p, Some(author.id)).unwrap_or(false)
                        })
                        .ok_or_else(|| Error::not_found("Record not found"))?,
                ),
                None => None,
            };
            let group_id = new
                .group_id
                .or_else(|| parent.as_ref().and_then(|p| p.group_id))
                .or_else(|| {
                    mentioned
                        .iter()
                        .find(|m| m.actor_kind() == ActorKind::Group)
                        .map(|g| g.id)
                });
            let group = match group_id {
                Some(id) => Some(
                    actors::by_id(conn, id)?
                        .filter(|g| g.actor_kind() == ActorKind::Group)
                        .ok_or_else(|| Error::not_found("no such group"))?,
                ),
                None => None,
            };
            let visibility = match &group {
                Some(group) => {
                    check_may_post(conn, group, &author)?;
                    // Never wider than asked, nor than the group: a remote group that
                    // approves its members is treated as members-only.
                    let members_only = if group.local {
                        groups::by_actor(conn, group.id)?.is_some_and(|g| g.members_only())
                    } else {
                        group.manually_approves_followers
                    };
                    let asked_private =
                        matches!(new.visibility.as_deref(), Some("private" | "direct"));
                    if members_only || asked_private {
                        "members".to_owned()
                    } else {
                        "public".to_owned()
                    }
                }
                None => match new.visibility.as_deref().unwrap_or("public") {
                    v @ ("public" | "unlisted" | "private" | "direct") => v.to_owned(),
                    other => {
                        return Err(Error::Unprocessable(format!(
                            "unknown visibility {other:?}"
                        )));
                    }
                },
            };
            let id = crate::db::id::new_id();
            let ap_id = ctx2.urls.path(&format!("/posts/{id}")).to_string();
            let mut row = posts::new_row(ap_id, "Note", author.id, html, &visibility, true);
            row.id = id;
            row.published_at = Utc::now().trunc_subsecs(0).naive_utc();
            row.group_id = group.as_ref().map(|g| g.id);
            row.in_reply_to_id = parent.as_ref().map(|p| p.id);
            row.in_reply_to_ap_id = parent.as_ref().map(|p| p.ap_id.clone());
            row.spoiler_text = new.spoiler_text.clone();
            row.sensitive =
                new.sensitive || !new.spoiler_text.is_empty() || sensitized(conn, author.id)?;
            if let Some(group) = &group
                && let Some(settings) = groups::by_actor(conn, group.id)?
            {
                super::groups::give_default_warning(&settings, &mut row);
            }
            row.url = Some(row.ap_id.clone());
            row.source_text = Some(text.clone());
            row.language = language;
            posts::insert(conn, &row)?;
            super::streaming::emit(super::streaming::Event::Posted { post: row.id });
            let mentioned_ids: Vec<i64> = mentioned.iter().map(|m| m.id).collect();
            posts::add_mentions(conn, row.id, &mentioned_ids)?;
            super::tags::record_local(conn, row.id, &text)?;
            super::conversations::record(conn, &row)?;
            if let Some(key) = &written_key {
                crate::db::idempotency::record(conn, author.id, key, row.id, row.created_at)?;
            }
            super::media::attach(conn, author.id, row.id, &new.media_ids)?;
            super::notifications::post_created(conn, &row, &mentioned_ids)?;
            let object = post_object(conn, ctx2, &row)?;
            let create = builders::create(&ctx2.activity_id("create"), &object);
            publish(conn, ctx2, &row, &author, &create, Some(&object))?;
            Ok(row)
        })
        .await;
    match (written, key) {
        (Ok(post), _) => Ok(post),
        // Another server process wrote the same key's post first: its post is the answer.
        (Err(e), Some(key)) => {
            let earlier = ctx
                .db
                .run(move |conn| keyed_post(conn, author_id, &key))
                .await?;
            earlier.ok_or(e)
        }
        (Err(e), None) => Err(e),
    }
}

/// Whether a moderator had the local account `author_id`'s posts shown as sensitive: its new
/// posts are marked so.
fn sensitized(conn: &mut AnyConnection, author_id: i64) -> Result<bool, Error> {
    Ok(
        crate::db::users::user_by_actor(conn, author_id)?
            .is_some_and(|u| u.sensitized_at.is_some()),
    )
}

/// Members (and moderators) who are not banned may post in a local group; in a remote group,
/// only people whose membership the group accepted.
fn check_may_post(
    conn: &mut AnyConnection,
    group: &ActorRow,
    author: &ActorRow,
) -> Result<(), Error> {
    if group.local && groups::is_banned(conn, group.id, author.id)? {
        return Err(Error::Forbidden("you are banned from this group".into()));
    }
    if !is_member(conn, author.id, group.id)? {
        return Err(Error::Forbidden(
            "only members can post in this group".into(),
        ));
    }
    Ok(())
}

/// Sends an activity about `post` (by `actor`) where it must go: a local group shares it with
/// its members' servers; a remote group receives it to share; outside groups, the author's
/// followers and the people mentioned receive it.
pub fn publish(
    conn: &mut AnyConnection,
    ctx: &Context,
    post: &PostRow,
    actor: &ActorRow,
    activity: &Value,
    object: Option<&PostObject>,
) -> Result<(), Error> {
    let mentioned: Vec<ActorRow> = posts::mentions(conn, post.id)?
        .into_iter()
        .filter_map(|id| actors::by_id(conn, id).ok().flatten())
        .collect();
    let group = match post.group_id {
        Some(id) => actors::by_id(conn, id)?,
        None => None,
    };
    match group {
        Some(group) if group.local => {
            // The author's own server (if remote) learns of it through the group too.
            announce(conn, ctx, &group, activity, object)?;
            let remote_mentions: Vec<ActorRow> =
                mentioned.into_iter().filter(|m| m.id != group.id).collect();
            if post.visibility != "members" {
                ctx.enqueue(conn, actor.id, activity, &inboxes(&remote_mentions))?;
            }
        }
        Some(group) => {
            let mut targets = vec![group.clone()];
            if post.visibility != "members" {
                targets.extend(mentioned.into_iter().filter(|m| m.id != group.id));
            }
            ctx.enqueue(conn, actor.id, activity, &inboxes(&targets))?;
        }
        None => {
            let mut targets = mentioned;
            if post.visibility != "direct" {
                targets.extend(
                    follows::followers(conn, post.author_id, true)?
                        .into_iter()
                        .map(|(_, a)| a),
                );
            }
            ctx.enqueue(conn, actor.id, activity, &inboxes(&targets))?;
        }
    }
    Ok(())
}

/// A local group shares `activity` with the servers of its remote members (FEP-1b12). Lemmy
/// needs the activity embedded (`Announce{Create}`); GoToSocial and Mastodon show an
/// `Announce` of the post itself as a boost by the group; so a new post in a public group has
/// two forms, and each server gets the one its software reads (both while it is unknown).
pub fn announce(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    activity: &Value,
    object: Option<&PostObject>,
) -> Result<(), Error> {
    let settings = groups::by_actor(conn, group.id)?;
    announce_with(conn, ctx, group, settings.as_ref(), activity, object)
}

/// [`announce`], with the group's settings already read.
pub fn announce_with(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    settings: Option<&groups::GroupRow>,
    activity: &Value,
    object: Option<&PostObject>,
) -> Result<(), Error> {
    let targets = follows::remote_inboxes(conn, group.id)?;
    announce_to(conn, ctx, group, settings, activity, object, &targets)
}

/// [`announce_with`], to `targets`, the inboxes of the group's members' servers
/// (`follows::remote_inboxes`) as read already.
pub fn announce_to(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    settings: Option<&groups::GroupRow>,
    activity: &Value,
    object: Option<&PostObject>,
    targets: &[String],
) -> Result<(), Error> {
    if targets.is_empty() {
        return Ok(());
    }
    let group_url = super::stored_url(&group.ap_id)?;
    let followers = ctx.urls.actor_part(&group_url, "followers");
    // A post addressed only to the group (a Mastodon "mentioned people only" post) is shared
    // with members only, even in a public group.
    let not_public = object.is_some_and(|o| !o.addressees().any(is_public));
    let members_only = not_public || settings.is_some_and(|g| g.members_only());
    let (to, cc) = if members_only {
        (vec![followers.clone()], vec![])
    } else {
        (vec![super::stored_url(PUBLIC)?], vec![followers.clone()])
    };
    let wrapped = builders::announce(
        &ctx.activity_id("announce"),
        &group_url,
        activity.clone(),
        &to,
        &cc,
    );
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // What microblogs read instead of the wrapped activity, where they read anything.
    let for_microblogs = match (kind, members_only, object) {
        ("Create", false, Some(object)) => Some(builders::boost(
            &ctx.activity_id("announce"),
            &group_url,
            &object.id,
            &to,
            &cc,
        )),
        ("Create" | "Update", true, Some(object)) => {
            let copy = member_copy(conn, ctx, group, object)?;
            let id = ctx.activity_id(&kind.to_ascii_lowercase());
            Some(if kind == "Create" {
                builders::create(&id, &copy)
            } else {
                builders::update(&id, &copy)
            })
        }
        ("Delete", true, _) => activity
            .get("object")
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .map(|deleted| super::stored_url(&format!("{deleted}/shared")))
            .transpose()?
            .map(|copy_id| {
                builders::delete(&ctx.activity_id("delete"), &group_url, &copy_id, &to, &cc)
            }),
        _ => None,
    };
    // Each server gets the one form its software reads (both while it is unknown).
    let wrapped_form = for_microblogs.as_ref().map(|_| Form::Activity);
    let mut forms = vec![(&wrapped, wrapped_form)];
    if let Some(alternative) = &for_microblogs {
        forms.push((alternative, Some(Form::Object)));
    }
    ctx.enqueue_forms(conn, group.id, &forms, targets)
}

/// The copy of a members-only post that the group itself delivers to its members' servers.
///
/// GoToSocial and Mastodon drop an `Announce` of a post that is not public, and hide a post
/// addressed only to a group's followers when its author is not someone the reader follows.
/// Members follow the group, so the group sends a followers-only post of its own that credits
/// the author: every member sees it, and no member list is revealed. Hearth and Lemmy, which
/// read the `Announce`, recognise the copy by `hearthCopyOf` and skip it.
pub fn member_copy(
    conn: &mut AnyConnection,
    ctx: &Context,
    group: &ActorRow,
    post: &PostObject,
) -> Result<PostObject, Error> {
    let group_url = super::stored_url(&group.ap_id)?;
    let followers = ctx.urls.actor_part(&group_url, "followers");
    let author = actors::by_ap_id(conn, post.attributed_to.as_str())?;
    let (handle, profile) = match &author {
        Some(a) if a.local => (
            format!("@{}@{}", a.username, ctx.urls.domain()),
            a.profile_url.clone().unwrap_or_else(|| a.ap_id.clone()),
        ),
        Some(a) => (
            format!("@{}@{}", a.username, a.domain),
            a.profile_url.clone().unwrap_or_else(|| a.ap_id.clone()),
        ),
        None => (
            post.attributed_to.to_string(),
            post.attributed_to.to_string(),
        ),
    };
    let credit = format!(
        "<p><a href=\"{}\" class=\"u-url mention\">{}</a> wrote in {}:</p>",
        super::content::escape(&profile),
        super::content::escape(&handle),
        super::content::escape(group.display_name.as_deref().unwrap_or(&group.username)),
    );
    let content = format!("{credit}{}", post.content.clone().unwrap_or_default());
    Ok(PostObject {
        id: super::stored_url(&format!("{}/shared", post.id))?,
        attributed_to: group_url.clone(),
        content_map: post
            .content_map
            .keys()
            .map(|l| (l.clone(), Value::String(content.clone())))
            .collect(),
        content: Some(content),
        to: vec![followers],
        cc: vec![],
        audience: Some(group_url),
        tag: Vec::new(),
        url: Some(post.id.clone()),
        copy_of: Some(post.id.clone()),
        ..post.clone()
    })
}

/// A post just stored, with who it mentions and its tags as they were stored with it.
#[derive(Debug)]
pub struct StoredPost {
    pub row: PostRow,
    /// The actors it mentions.
    pub mentioned: Vec<i64>,
    /// Its tag names.
    pub tags: Vec<String>,
}

/// The ActivityPub object of a stored post, addressed by its visibility and group.
pub fn post_object(
    conn: &mut AnyConnection,
    ctx: &Context,
    post: &PostRow,
) -> Result<PostObject, Error> {
    let mentioned = posts::mentions(conn, post.id)?;
    let tags = crate::db::tags::of_post(conn, post.id)?;
    object_of(conn, ctx, post, &[], &mentioned, tags)
}

/// [`post_object`] of a post just stored, built from what was stored with it and taking its
/// author and group from `at_hand` where they are there, instead of reading them again (a
/// group shares each post it receives so: the inbox's hot path).
pub fn stored_post_object(
    conn: &mut AnyConnection,
    ctx: &Context,
    stored: &StoredPost,
    at_hand: &[&ActorRow],
) -> Result<PostObject, Error> {
    object_of(
        conn,
        ctx,
        &stored.row,
        at_hand,
        &stored.mentioned,
        stored.tags.clone(),
    )
}

fn object_of(
    conn: &mut AnyConnection,
    ctx: &Context,
    post: &PostRow,
    at_hand: &[&ActorRow],
    mentioned: &[i64],
    tags: Vec<String>,
) -> Result<PostObject, Error> {
    let mut actor = |id: i64| match at_hand.iter().find(|a| a.id == id) {
        Some(known) => Ok(Some((*known).clone())),
        None => actors::by_id(conn, id),
    };
    let author =
        actor(post.author_id)?.ok_or_else(|| Error::Internal("post without author".into()))?;
    let group = post.group_id.map(&mut actor).transpose()?.flatten();
    let author_url = super::stored_url(&author.ap_id)?;
    let mentioned: Vec<ActorRow> = mentioned
        .iter()
        .filter_map(|&id| actor(id).ok().flatten())
        .collect();
    let mention_urls: Vec<Url> = mentioned
        .iter()
        .filter_map(|m| Url::parse(&m.ap_id).ok())
        .collect();
    let public = super::stored_url(PUBLIC)?;
    let author_followers = author
        .followers
        .as_deref()
        .map(super::stored_url)
        .transpose()?;
    let (mut to, mut cc): (Vec<Url>, Vec<Url>) = match (&group, post.visibility.as_str()) {
        (Some(group), "members") => {
            let url = super::stored_url(&group.ap_id)?;
            let followers = group
                .followers
                .as_deref()
                .map(super::stored_url)
                .transpose()?;
            (std::iter::once(url).chain(followers).collect(), vec![])
        }
        (Some(group), _) => (vec![super::stored_url(&group.ap_id)?, public], vec![]),
        (None, "public") => (vec![public], author_followers.into_iter().collect()),
        (None, "unlisted") => (author_followers.into_iter().collect(), vec![public]),
        (None, "private") => (author_followers.into_iter().collect(), vec![]),
        _ => (vec![], vec![]),
    };
    for url in &mention_urls {
        if !to.contains(url) && !cc.contains(url) {
            if post.visibility == "direct" {
                to.push(url.clone())
            } else {
                cc.push(url.clone())
            }
        }
    }
    to.dedup();
    cc.dedup();
    let hashtags = super::tags::wire_tags_named(&ctx.urls, tags);
    let tag = mentioned
        .iter()
        .map(|m| Tag {
            kind: "Mention".into(),
            href: Url::parse(&m.ap_id).ok(),
            name: Some(if m.local {
                format!("@{}@{}", m.username, ctx.urls.domain())
            } else {
                format!("@{}@{}", m.username, m.domain)
            }),
        })
        .chain(hashtags)
        .collect();
    // Only local posts keep attachments; remote posts have none here (and are the inbox's
    // hot path, which this lookup would slow).
    let attachment = if post.local {
        crate::db::media::for_post(conn, post.id)?
            .iter()
            .map(|m| Attachment {
                kind: "Document".into(),
                media_type: Some(m.content_type.clone()),
                url: Some(super::media::file_url(&ctx.urls, &m.file_name)),
                name: m.description.clone(),
                blurhash: Some(m.blurhash.clone()),
                width: u32::try_from(m.width).ok(),
                height: u32::try_from(m.height).ok(),
                focal_point: Some([m.focus_x, m.focus_y]),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(PostObject {
        id: super::stored_url(&post.ap_id)?,
        kind: post.kind.clone(),
        attributed_to: author_url,
        content: Some(post.content.clone()),
        name: post.name.clone(),
        summary: (!post.spoiler_text.is_empty()).then(|| post.spoiler_text.clone()),
        to,
        cc,
        audience: group
            .as_ref()
            .map(|g| super::stored_url(&g.ap_id))
            .transpose()?,
        in_reply_to: post
            .in_reply_to_ap_id
            .as_deref()
            .map(super::stored_url)
            .transpose()?,
        published: Some(post.published_at.and_utc()),
        updated: post.edited_at.map(|t| t.and_utc()),
        tag,
        url: post.url.as_deref().map(super::stored_url).transpose()?,
        sensitive: Some(post.sensitive),
        media_type: Some("text/html".into()),
        copy_of: None,
        attachment,
        content_map: post
            .language
            .iter()
            .map(|l| (l.clone(), Value::String(post.content.clone())))
            .collect(),
    })
}

/// Whether `viewer` (a local person, or nobody signed in) may see `post`: anyone a public or
/// unlisted post; its author and the people it mentions any post; a group's members a
/// members-only post; the author's followers a followers-only post. Nobody sees a deleted
/// post, and nobody a post whose author blocks them (but in a group they moderate). The rule
/// is [`Audience`]'s, for one post.
pub fn can_view(
    conn: &mut AnyConnection,
    post: &PostRow,
    viewer: Option<i64>,
) -> Result<bool, Error> {
    if post.is_deleted() {
        return Ok(false);
    }
    let scope = PostScope::from(post);
    Ok(Audience::load(conn, std::slice::from_ref(&scope), viewer)?.may_see(&scope))
}

/// Who may see which of many posts: the one rule of who sees a post, with what it depends
/// on (mentions, follows, memberships, blocks) read for all the posts at once. The API,
/// the object endpoints, media and streaming all decide by it.
#[derive(Debug, Default)]
pub struct Audience {
    viewer: Option<i64>,
    /// Posts that mention the viewer.
    mentioned: HashSet<i64>,
    /// Authors and groups the viewer follows (is a member of), accepted.
    followed: HashSet<i64>,
    /// Groups the viewer moderates.
    moderated: HashSet<i64>,
    /// Authors who block the viewer.
    blocked_by: HashSet<i64>,
    /// Local authors a moderator suspended: their posts are seen by no one here.
    suspended: HashSet<i64>,
    /// Local authors a moderator sensitized: their posts are shown as sensitive.
    sensitized: HashSet<i64>,
}

impl Audience {
    /// What decides, for `viewer`, whether each of `posts` (not deleted) may be seen.
    pub fn load(
        conn: &mut AnyConnection,
        posts: &[PostScope],
        viewer: Option<i64>,
    ) -> Result<Self, Error> {
        let mut authors: Vec<i64> = posts.iter().map(|p| p.author_id).collect();
        authors.sort_unstable();
        authors.dedup();
        let (mut suspended, mut sensitized) = (HashSet::new(), HashSet::new());
        for (id, is_suspended, is_sensitized) in batch::marked(conn, &authors)? {
            if is_suspended {
                suspended.insert(id);
            }
            if is_sensitized {
                sensitized.insert(id);
            }
        }
        let Some(me) = viewer else {
            return Ok(Self {
                suspended,
                sensitized,
                ..Self::default()
            });
        };
        let others: Vec<&PostScope> = posts.iter().filter(|p| p.author_id != me).collect();
        let ids = |f: &dyn Fn(&PostScope) -> Option<i64>| -> Vec<i64> {
            let mut ids: Vec<i64> = others.iter().filter_map(|p| f(p)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let blocked_by: HashSet<i64> = batch::blocking(conn, me, &ids(&|p| Some(p.author_id)))?
            .into_iter()
            .collect();
        let hidden = |p: &PostScope| !matches!(p.visibility.as_str(), "public" | "unlisted");
        let mentioned = batch::mentioning(conn, me, &ids(&|p| hidden(p).then_some(p.id)))?;
        let followed = batch::followed(
            conn,
            me,
            &ids(&|p| match p.visibility.as_str() {
                "private" => Some(p.author_id),
                "members" => p.group_id,
                _ => None,
            }),
        )?;
        let moderated = batch::moderated(
            conn,
            me,
            &ids(&|p| {
                p.group_id
                    .filter(|_| p.visibility == "members" || blocked_by.contains(&p.author_id))
            }),
        )?;
        Ok(Self {
            viewer,
            mentioned: mentioned.into_iter().collect(),
            followed: followed.into_iter().collect(),
            moderated: moderated.into_iter().collect(),
            blocked_by,
            suspended,
            sensitized,
        })
    }

    /// Whether a moderator had `author`'s posts shown as sensitive.
    pub fn sensitized(&self, author: i64) -> bool {
        self.sensitized.contains(&author)
    }

    /// Whether the viewer may see `post` (see [`can_view`]). A suspended author's posts are
    /// seen by no one.
    pub fn may_see(&self, post: &PostScope) -> bool {
        if self.suspended.contains(&post.author_id) {
            return false;
        }
        let public = matches!(post.visibility.as_str(), "public" | "unlisted");
        let Some(me) = self.viewer else {
            return public;
        };
        if me == post.author_id {
            return true;
        }
        let moderates = post.group_id.is_some_and(|g| self.moderated.contains(&g));
        // A member who blocks the group's moderators must not post there unseen by them.
        if self.blocked_by.contains(&post.author_id) && !moderates {
            return false;
        }
        public
            || self.mentioned.contains(&post.id)
            || match post.visibility.as_str() {
                "members" => moderates || post.group_id.is_some_and(|g| self.followed.contains(&g)),
                "private" => self.followed.contains(&post.author_id),
                _ => false,
            }
    }
}

/// Whether the server `domain` has an accepted member of `group_id`.
pub fn domain_has_member(
    conn: &mut AnyConnection,
    group_id: i64,
    domain: &str,
) -> Result<bool, Error> {
    Ok(follows::followers(conn, group_id, true)?
        .iter()
        .any(|(_, a)| a.domain == domain))
}

/// Whether the server `domain` (`host[:port]` of a verified signed fetch; `None` for an
/// unsigned one) may fetch `post` and its files: anyone a public or unlisted post; a
/// members-only post the author's server, the group's and a member's; a followers-only post
/// a follower's; a direct one a server of someone mentioned; none a suspended local author's.
/// (Deleted or not: the caller decides what a deleted post shows.)
pub fn server_may_see(
    conn: &mut AnyConnection,
    post: &PostRow,
    domain: Option<&str>,
) -> Result<bool, Error> {
    // A suspended author's posts are served to no one until the suspension is lifted.
    if post.local
        && batch::marked(conn, &[post.author_id])?
            .iter()
            .any(|(_, s, _)| *s)
    {
        return Ok(false);
    }
    if matches!(post.visibility.as_str(), "public" | "unlisted") {
        return Ok(true);
    }
    let Some(domain) = domain else {
        return Ok(false);
    };
    Ok(match post.visibility.as_str() {
        "members" => match post.group_id {
            Some(group) => {
                let author = actors::by_id(conn, post.author_id)?.map(|a| a.domain);
                let host = actors::by_id(conn, group)?.map(|g| g.domain);
                author.as_deref() == Some(domain)
                    || host.as_deref() == Some(domain)
                    || domain_has_member(conn, group, domain)?
            }
            None => false,
        },
        "private" => follows::followers(conn, post.author_id, true)?
            .iter()
            .any(|(_, a)| a.domain == domain),
        _ => {
            let mut any = false;
            for m in posts::mentions(conn, post.id)? {
                any |= actors::by_id(conn, m)?.is_some_and(|a| a.domain == domain);
            }
            any
        }
    })
}

/// Who is asking for a post's files: a local person (bearer token or browser session) and/or
/// a server (a verified signed fetch).
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    /// The local person's actor id.
    pub person: Option<i64>,
    /// The signing server's `host[:port]`.
    pub server: Option<String>,
}

/// Whether `viewer` may see `post` (and so its files): a person by [`can_view`], a server by
/// [`server_may_see`]. Nobody sees a deleted post.
pub fn viewer_may_see(
    conn: &mut AnyConnection,
    post: &PostRow,
    viewer: &Viewer,
) -> Result<bool, Error> {
    if post.is_deleted() {
        return Ok(false);
    }
    Ok(can_view(conn, post, viewer.person)?
        || (viewer.server.is_some() && server_may_see(conn, post, viewer.server.as_deref())?))
}

/// Who may delete a post: its author, a moderator of its local group, or (a local post) an
/// instance moderator or admin.
pub(crate) fn may_moderate(
    conn: &mut AnyConnection,
    post: &PostRow,
    actor: &ActorRow,
    role: super::accounts::Role,
) -> Result<bool, Error> {
    if post.author_id == actor.id || (role.may_moderate() && post.local) {
        return Ok(true);
    }
    match post.group_id {
        Some(group) => Ok(groups::is_moderator(conn, group, actor.id)?),
        None => Ok(false),
    }
}

/// Edits a local post (author only); the edit travels like the post did.
pub async fn edit_status(
    ctx: &Context,
    author: ActorRow,
    post_id: i64,
    edit: Edit,
) -> Result<PostRow, Error> {
    let Edit {
        text,
        spoiler_text,
        sensitive,
        language,
        media_ids,
    } = edit;
    let language = content::asked_language(language.as_deref())?;
    let text = text.trim().to_owned();
    if (text.is_empty() && media_ids.is_empty()) || text.chars().count() > MAX_CHARACTERS {
        return Err(Error::Unprocessable(
            "Validation failed: Text is blank or too long".into(),
        ));
    }
    let post = ctx
        .write(move |conn, ctx2| {
            let mut post = posts::by_id(conn, post_id)?
                .filter(|p| !p.is_deleted() && p.local && p.author_id == author.id)
                .ok_or_else(|| Error::not_found("Record not found"))?;
            if let Some(group) = post
                .group_id
                .map(|g| actors::by_id(conn, g))
                .transpose()?
                .flatten()
            {
                check_may_post(conn, &group, &author)?;
            }
            crate::db::post_edits::keep_version(conn, &post)?;
            post.content = content::render_plain(
                &text,
                |_| None,
                |tag| super::tags::tag_url(&ctx2.urls, tag).to_string(),
            );
            super::tags::record_local(conn, post.id, &text)?;
            post.source_text = Some(text);
            post.sensitive = sensitive || !spoiler_text.is_empty() || sensitized(conn, author.id)?;
            post.spoiler_text = spoiler_text;
            post.language = language.or(post.language);
            super::media::reattach(conn, author.id, post.id, &media_ids)?;
            post.edited_at = Some(Utc::now().trunc_subsecs(0).naive_utc());
            posts::update(conn, &post)?;
            super::streaming::emit(super::streaming::Event::Edited { post: post.id });
            let object = post_object(conn, ctx2, &post)?;
            let update = builders::update(&ctx2.activity_id("update"), &object);
            publish(conn, ctx2, &post, &author, &update, Some(&object))?;
            Ok(post)
        })
        .await?;
    Ok(post)
}

/// An edit as the client API submits it: like Mastodon, the whole post again (left-out
/// media are taken off, a left-out flag is false), except the language, kept if not given.
#[derive(Debug, Default)]
pub struct Edit {
    /// Plain text.
    pub text: String,
    /// Content warning.
    pub spoiler_text: String,
    /// Marked sensitive.
    pub sensitive: bool,
    /// ISO 639 code, as the app sent it.
    pub language: Option<String>,
    /// The attachments it keeps or gains: the author's own uploads.
    pub media_ids: Vec<i64>,
}

/// Deletes a post: its author, a moderator of its group, or an instance moderator or admin
/// (for local posts). Someone else's post removed is written to the audit log.
pub async fn delete_status(
    ctx: &Context,
    by: &super::audit::Acting,
    post_id: i64,
    reason: Option<String>,
) -> Result<PostRow, Error> {
    use super::audit::{self, Action, Entry, Target};
    let by = by.clone();
    let actor = by
        .actor()
        .cloned()
        .ok_or_else(|| Error::Forbidden("a post is deleted by a person".into()))?;
    let post = ctx
        .write(move |conn, ctx2| {
            let post = posts::by_id(conn, post_id)?
                .filter(|p| !p.is_deleted())
                .ok_or_else(|| Error::not_found("Record not found"))?;
            let moderates = may_moderate(conn, &post, &actor, by.role())?;
            if !moderates && !can_view(conn, &post, Some(actor.id))? {
                return Err(Error::not_found("Record not found"));
            }
            if !moderates {
                return Err(Error::Forbidden(
                    "only the author or a moderator can delete this".into(),
                ));
            }
            let object = post_object(conn, ctx2, &post)?;
            posts::mark_deleted(conn, post.id)?;
            super::streaming::emit(super::streaming::Event::Deleted { post: post.id });
            let delete = builders::delete(
                &ctx2.activity_id("delete"),
                &super::stored_url(&actor.ap_id)?,
                &object.id,
                &object.to,
                &object.cc,
            );
            publish(conn, ctx2, &post, &actor, &delete, None)?;
            if post.author_id != actor.id {
                let author = actors::by_id(conn, post.author_id)?
                    .ok_or_else(|| Error::not_found("Record not found"))?;
                audit::record(
                    conn,
                    &by,
                    Entry::new(Action::PostRemove, Target::post(post.id, &author)).reason(reason),
                )?;
            }
            Ok(post)
        })
        .await?;
    Ok(post)
}

/// Likes (`favourite`) or withdraws a like of a post.
pub async fn set_like(
    ctx: &Context,
    person: ActorRow,
    post_id: i64,
    liked: bool,
) -> Result<PostRow, Error> {
    let post = ctx
        .write(move |conn, ctx2| {
            let post = posts::by_id(conn, post_id)?
                .filter(|p| can_view(conn, p, Some(person.id)).unwrap_or(false))
                .ok_or_else(|| Error::not_found("Record not found"))?;
            let author = actors::by_id(conn, post.author_id)?
                .ok_or_else(|| Error::not_found("Record not found"))?;
            let object = super::stored_url(&post.ap_id)?;
            let activity = if liked {
                let id = ctx2.activity_id("like");
                let Some(like_id) = posts::like(conn, id.as_str(), person.id, post.id)? else {
                    return Ok(post);
                };
                super::notifications::liked(conn, like_id, &person, &post)?;
                builders::like(
                    &id,
                    &super::stored_url(&person.ap_id)?,
                    &object,
                    &[super::stored_url(&author.ap_id)?],
                )
            } else {
                let Some(like_id) = posts::like_of(conn, person.id, post.id)? else {
                    return Ok(post);
                };
                posts::unlike(conn, person.id, Some(&like_id), Some(post.id))?;
                let like = builders::like(
                    &super::stored_url(&like_id)?,
                    &super::stored_url(&person.ap_id)?,
                    &object,
                    &[super::stored_url(&author.ap_id)?],
                );
                builders::undo(
                    &ctx2.activity_id("undo"),
                    &super::stored_url(&person.ap_id)?,
                    &like,
                )
            };
            deliver_like(conn, ctx2, &post, &author, &person, &activity)?;
            Ok(post)
        })
        .await?;
    Ok(post)
}

/// A like goes to the post's author and, in a group, through the group to its members.
pub fn deliver_like(
    conn: &mut AnyConnection,
    ctx: &Context,
    post: &PostRow,
    author: &ActorRow,
    person: &ActorRow,
    activity: &Value,
) -> Result<(), Error> {
    let group = match post.group_id {
        Some(id) => actors::by_id(conn, id)?,
        None => None,
    };
    let mut targets = vec![author.clone()];
    match group {
        Some(group) if group.local => announce(conn, ctx, &group, activity, None)?,
        Some(group) => targets.push(group),
        None => {}
    }
    if person.local {
        ctx.enqueue(conn, person.id, activity, &inboxes(&targets))?;
    }
    Ok(())
}
