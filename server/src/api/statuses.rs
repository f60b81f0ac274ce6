//! Mastodon status endpoints: write, read, edit, delete, favourite, thread context.

use super::{
    AppState, CurrentUser, MaybeUser,
    entities::{Account, Status},
};
use crate::{
    Error,
    db::{
        actors,
        blocks::{self, Hiding},
        post_edits,
        posts::{self, PostRow},
    },
    service::{
        bookmarks, pins,
        posts::{self as rules, NewStatus},
        reblogs,
        statuses::Entry,
    },
};
use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `POST /api/v1/statuses` (JSON or form).
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: Option<String>,
    visibility: Option<String>,
    in_reply_to_id: Option<String>,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default, deserialize_with = "super::params::flag")]
    sensitive: Option<bool>,
    /// Hearth extension: post in this group (its account id).
    group_id: Option<String>,
    /// Images uploaded before (`media_ids[]` in forms).
    #[serde(default, deserialize_with = "super::params::list")]
    media_ids: Vec<String>,
    /// ISO 639 code.
    language: Option<String>,
}

fn id_param(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

fn unknown_media() -> Error {
    Error::Unprocessable("Validation failed: media not found or already attached".into())
}

async fn status_of(state: &AppState, post: PostRow, viewer: Option<i64>) -> Result<Status, Error> {
    let urls = state.urls.clone();
    state
        .db
        .run(move |conn| Status::new(conn, &post, viewer, &urls))
        .await
}

/// A post the viewer may see, or 404.
async fn visible_post(state: &AppState, id: i64, viewer: Option<i64>) -> Result<PostRow, Error> {
    state
        .db
        .run(move |conn| {
            let post =
                posts::by_id(conn, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
            if rules::can_view(conn, &post, viewer)? {
                Ok(post)
            } else {
                Err(Error::not_found("Record not found"))
            }
        })
        .await
}

/// `POST /api/v1/statuses`: write a post (in a group by mentioning it or with `group_id`). A
/// retry with the same `Idempotency-Key` within an hour returns the first post.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
    super::ApiForm(form): super::ApiForm<StatusForm>,
) -> Result<Json<Status>, Error> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(key) => Some(
            key.to_str()
                .map_err(|_| Error::BadRequest("the Idempotency-Key is not text".into()))?
                .to_owned(),
        ),
        None => None,
    };
    let new = NewStatus {
        idempotency_key,
        text: form.status.unwrap_or_default(),
        visibility: form.visibility,
        in_reply_to_id: form.in_reply_to_id.as_deref().map(id_param).transpose()?,
        spoiler_text: form.spoiler_text,
        sensitive: form.sensitive.unwrap_or(false),
        group_id: form.group_id.as_deref().map(id_param).transpose()?,
        media_ids: form
            .media_ids
            .iter()
            .map(|id| id.parse().map_err(|_| unknown_media()))
            .collect::<Result<_, _>>()?,
        language: form.language,
    };
    let viewer = user.actor.id;
    let post = rules::create_status(
        &state.ctx,
        &state.federation.to_request_data(),
        user.actor,
        new,
    )
    .await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `GET /api/v1/statuses/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = viewer.id();
    let post = visible_post(&state, id_param(&id)?, viewer).await?;
    Ok(Json(status_of(&state, post, viewer).await?))
}

/// Body of `PUT /api/v1/statuses/{id}`.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    status: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default, deserialize_with = "super::params::flag")]
    sensitive: Option<bool>,
    /// ISO 639 code; left out, the post keeps its language.
    language: Option<String>,
    /// The attachments the post keeps or gains (`media_ids[]` in forms); left out, none.
    #[serde(default, deserialize_with = "super::params::list")]
    media_ids: Vec<String>,
}

/// `PUT /api/v1/statuses/{id}`: edit one's own post.
pub async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<EditForm>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = rules::edit_status(
        &state.ctx,
        user.actor,
        id_param(&id)?,
        rules::Edit {
            text: form.status,
            spoiler_text: form.spoiler_text,
            sensitive: form.sensitive.unwrap_or(false),
            language: form.language,
            media_ids: form
                .media_ids
                .iter()
                .map(|id| id.parse().map_err(|_| unknown_media()))
                .collect::<Result<_, _>>()?,
        },
    )
    .await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `DELETE /api/v1/statuses/{id}`: the author, a moderator of the post's group, or (a local
/// post) an instance moderator or admin.
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let before = visible_post(&state, id_param(&id)?, Some(viewer)).await;
    let deleted = rules::delete_status(&state.ctx, &user.acting(), id_param(&id)?, None).await?;
    // Mastodon answers with the status as it was, so clients can offer "delete and redraft".
    let shown = before.unwrap_or(deleted);
    Ok(Json(status_of(&state, shown, Some(viewer)).await?))
}

/// `POST /api/v1/statuses/{id}/favourite`.
pub async fn favourite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = rules::set_like(&state.ctx, user.actor, id_param(&id)?, true).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `POST /api/v1/statuses/{id}/unfavourite`.
pub async fn unfavourite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = rules::set_like(&state.ctx, user.actor, id_param(&id)?, false).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `GET /api/v1/statuses/{id}/context`: ancestors and descendants the viewer may see.
pub async fn context(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let viewer = viewer.id();
    let post = visible_post(&state, id_param(&id)?, viewer).await?;
    let urls = state.urls.clone();
    let (ancestors, descendants) = state
        .db
        .run(move |conn| {
            // Posts of accounts the viewer blocks or mutes are left out, as in timelines.
            let hidden = match viewer {
                Some(viewer) => blocks::hidden_from(conn, viewer, Hiding::Posts)?,
                None => Vec::new(),
            };
            let mut ancestors = Vec::new();
            let mut seen = vec![post.id];
            let mut next = post.in_reply_to_id;
            // Bounded, and cycle-proof: a hostile peer can make posts reply to each other.
            while let Some(id) = next.take() {
                if seen.contains(&id) || seen.len() > 40 {
                    break;
                }
                seen.push(id);
                let Some(parent) = posts::by_id(conn, id)? else {
                    break;
                };
                next = parent.in_reply_to_id;
                if !hidden.contains(&parent.author_id) {
                    ancestors.insert(0, parent);
                }
            }
            let mut descendants = Vec::new();
            let mut queue = vec![post.id];
            let mut visited = vec![post.id];
            while let Some(id) = queue.pop() {
                for reply in posts::replies(conn, id)? {
                    if descendants.len() >= 200 {
                        break;
                    }
                    if visited.contains(&reply.id) {
                        continue;
                    }
                    visited.push(reply.id);
                    queue.push(reply.id);
                    if !hidden.contains(&reply.author_id) {
                        descendants.push(reply);
                    }
                }
            }
            descendants.sort_by_key(|p| p.id);
            Ok((
                Status::list(conn, ancestors, viewer, &urls)?,
                Status::list(conn, descendants, viewer, &urls)?,
            ))
        })
        .await?;
    Ok(Json(
        json!({ "ancestors": ancestors, "descendants": descendants }),
    ))
}

/// `POST /api/v1/statuses/{id}/bookmark`.
pub async fn bookmark(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = bookmarks::set_bookmark(&state.ctx, viewer, id_param(&id)?, true).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `POST /api/v1/statuses/{id}/unbookmark`.
pub async fn unbookmark(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = bookmarks::set_bookmark(&state.ctx, viewer, id_param(&id)?, false).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `POST /api/v1/statuses/{id}/pin`: show one's own post first on one's profile.
pub async fn pin(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = pins::set_pin(&state.ctx, viewer, id_param(&id)?, true).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `POST /api/v1/statuses/{id}/unpin`.
pub async fn unpin(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let post = pins::set_pin(&state.ctx, viewer, id_param(&id)?, false).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `GET /api/v1/statuses/{id}/favourited_by`: who liked a post the viewer may see.
pub async fn favourited_by(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Account>>, Error> {
    let post = visible_post(&state, id_param(&id)?, viewer.id()).await?;
    let urls = state.urls.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| {
                let mut accounts = Vec::new();
                for id in posts::likers(conn, post.id, 80)? {
                    if let Some(actor) = actors::by_id(conn, id)? {
                        accounts.push(Account::from_row(&actor, &urls));
                    }
                }
                Ok(accounts)
            })
            .await?,
    ))
}

/// `GET /api/v1/statuses/{id}/reblogged_by`: who boosted a post the viewer may see (people;
/// a group sharing what is posted into it is not a boost), newest first, paged.
pub async fn reblogged_by(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
    super::ApiQuery(paging): super::ApiQuery<super::timelines::Paging>,
) -> Result<axum::response::Response, Error> {
    let post = visible_post(&state, id_param(&id)?, viewer.id()).await?;
    let page = paging.accounts_page();
    let rows = state
        .db
        .run(move |conn| Ok(crate::db::reblogs::boosters(conn, post.id, page)?))
        .await?;
    let base = state
        .urls
        .path(&format!("/api/v1/statuses/{}/reblogged_by", post.id));
    Ok(super::accounts::paged_accounts(rows, &state.urls, base))
}

/// Body of `POST /api/v1/statuses/{id}/reblog`.
#[derive(Debug, Default, Deserialize)]
pub struct ReblogParams {
    /// `public` (the default) or `unlisted`.
    visibility: Option<String>,
}

/// `POST /api/v1/statuses/{id}/reblog`: boosts a public or unlisted post; answers the boost's
/// own status, whose `reblog` is the post.
pub async fn reblog(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(params): super::ApiForm<ReblogParams>,
) -> Result<Json<Status>, Error> {
    let unlisted = params.visibility.as_deref() == Some("unlisted");
    let viewer = user.actor.id;
    let (boost, post) =
        reblogs::set_reblog(&state.ctx, user.actor, id_param(&id)?, unlisted, true).await?;
    let urls = state.urls.clone();
    let status = state
        .db
        .run(move |conn| {
            let entry = match boost {
                Some(boost) => Entry::Boost(boost, post),
                None => Entry::Post(post),
            };
            Status::entries(conn, vec![entry], Some(viewer), &urls)?
                .pop()
                .ok_or_else(|| Error::not_found("Record not found"))
        })
        .await?;
    Ok(Json(status))
}

/// `POST /api/v1/statuses/{id}/unreblog`: withdraws one's boost; answers the post.
pub async fn unreblog(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Status>, Error> {
    let viewer = user.actor.id;
    let (_, post) =
        reblogs::set_reblog(&state.ctx, user.actor, id_param(&id)?, false, false).await?;
    Ok(Json(status_of(&state, post, Some(viewer)).await?))
}

/// `GET /api/v1/statuses/{id}/history`: every version of a post, oldest first, the current
/// one last (Mastodon's `StatusEdit` entities).
pub async fn history(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, Error> {
    let viewer = viewer.id();
    let post = visible_post(&state, id_param(&id)?, viewer).await?;
    let current = status_of(&state, post.clone(), viewer).await?;
    let earlier = state
        .db
        .run(move |conn| Ok(post_edits::of_post(conn, post.id)?))
        .await?;
    let version = |content: &str, spoiler: &str, sensitive: bool, at: String| {
        json!({
            "content": content,
            "spoiler_text": spoiler,
            "sensitive": sensitive,
            "created_at": at,
            "account": current.account,
            "poll": null,
            "media_attachments": [],
            "emojis": [],
        })
    };
    let mut versions: Vec<Value> = earlier
        .iter()
        .map(|e| {
            version(
                &e.content,
                &e.spoiler_text,
                e.sensitive,
                super::entities::mastodon_time(e.created_at.and_utc()),
            )
        })
        .collect();
    versions.push(version(
        &current.content,
        &current.spoiler_text,
        current.sensitive,
        current
            .edited_at
            .clone()
            .unwrap_or_else(|| current.created_at.clone()),
    ));
    Ok(Json(versions))
}

/// `GET /api/v1/statuses/{id}/source`: the text one's own post was written as, for editing.
pub async fn source(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let post = visible_post(&state, id_param(&id)?, Some(user.actor.id)).await?;
    if post.author_id != user.actor.id {
        return Err(Error::not_found("Record not found"));
    }
    let text = post
        .source_text
        .clone()
        .unwrap_or_else(|| crate::service::content::html_to_text(&post.content));
    Ok(Json(json!({
        "id": post.id.to_string(),
        "text": text,
        "spoiler_text": post.spoiler_text,
    })))
}
