//! Mastodon account endpoints.

use super::{
    AppState, CurrentUser, MaybeUser,
    entities::{Account, CredentialAccount, Relationship, Status},
    timelines::{Paging, paged_by},
};
use crate::{Error, db::actors};
use crate::{
    db::{
        blocks::{self, Hiding},
        posts,
    },
    service::follows,
};
use axum::response::Response;
use axum::{
    Json,
    extract::{Path, State},
};
use hearth_federation::protocol::actor::ActorKind;
use serde::Deserialize;

/// `GET /api/v1/accounts/verify_credentials`: the signed-in person (bearer token).
pub async fn verify_credentials(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<CredentialAccount>, Error> {
    let requests = follows::request_count(&state.ctx, &current.actor).await?;
    Ok(Json(CredentialAccount::new(
        &current.actor,
        &current.user,
        requests,
        &state.urls,
    )))
}

/// Query of an account lookup.
#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    acct: Option<String>,
}

/// `GET /api/v1/accounts/lookup?acct=name` or `name@domain`: an account already known here,
/// without resolving remote ones (as Mastodon does).
pub async fn lookup(
    State(state): State<AppState>,
    super::ApiQuery(query): super::ApiQuery<LookupQuery>,
) -> Result<Json<Account>, Error> {
    let acct = query
        .acct
        .ok_or_else(|| Error::BadRequest("the acct parameter is required".into()))?;
    let acct = acct.trim().trim_start_matches('@').to_owned();
    let (name, domain) = match acct.split_once('@') {
        Some((name, domain)) => (name.to_owned(), domain.to_ascii_lowercase()),
        None => (acct.clone(), state.urls.domain().to_owned()),
    };
    if name.is_empty() || domain.is_empty() {
        return Err(Error::BadRequest(format!("malformed acct {acct:?}")));
    }
    let local_domain = state.urls.domain().to_owned();
    let row = state
        .db
        .run(move |conn| Ok(actors::by_acct(conn, &name, &domain, &local_domain)?))
        .await?
        .filter(|row| {
            !row.local
                || row.actor_kind() != hearth_federation::protocol::actor::ActorKind::Application
        })
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let urls = state.urls.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| Account::with_counts(conn, &row, &urls))
            .await?,
    ))
}

/// `GET /api/v1/accounts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Account>, Error> {
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("Record not found"))?;
    let row = state
        .db
        .run(move |conn| Ok(actors::by_id(conn, id)?))
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let urls = state.urls.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| Account::with_counts(conn, &row, &urls))
            .await?,
    ))
}

/// `POST /api/v1/accounts/{id}/follow`: follow a person, or join a group.
pub async fn follow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    let target = id
        .parse::<i64>()
        .map_err(|_| Error::not_found("Record not found"))?;
    let me = user.actor.id;
    follows::follow(&state.ctx, user.actor, target).await?;
    Ok(Json(
        state
            .db
            .run(move |conn| Relationship::new(conn, me, target))
            .await?,
    ))
}

/// `POST /api/v1/accounts/{id}/unfollow`: unfollow, or leave a group.
pub async fn unfollow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    let target = id
        .parse::<i64>()
        .map_err(|_| Error::not_found("Record not found"))?;
    let me = user.actor.id;
    follows::unfollow(&state.ctx, user.actor, target).await?;
    Ok(Json(
        state
            .db
            .run(move |conn| Relationship::new(conn, me, target))
            .await?,
    ))
}

/// Ids in a query: `id[]=1&id[]=2`, or `id=1`.
#[derive(Debug, Deserialize)]
pub struct IdsQuery {
    #[serde(default, deserialize_with = "super::params::list")]
    id: Vec<String>,
}

/// `GET /api/v1/accounts/relationships?id[]=1&id[]=2`.
pub async fn relationships(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<IdsQuery>,
) -> Result<Json<Vec<Relationship>>, Error> {
    let ids: Vec<i64> = query
        .id
        .iter()
        .filter_map(|v| v.parse().ok())
        .take(40)
        .collect();
    let me = user.actor.id;
    Ok(Json(
        state
            .db
            .run(move |conn| {
                ids.into_iter()
                    .map(|id| Relationship::new(conn, me, id))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?,
    ))
}

/// `GET /api/v1/follow_requests`: requests to follow me, or to join groups I moderate.
pub async fn follow_requests(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<Account>>, Error> {
    let requests = follows::pending_requests(&state.ctx, &user.actor).await?;
    let mut seen = Vec::new();
    let accounts = requests
        .into_iter()
        .filter(|(_, a)| {
            let new = !seen.contains(&a.id);
            seen.push(a.id);
            new
        })
        .map(|(_, a)| Account::from_row(&a, &state.urls))
        .collect();
    Ok(Json(accounts))
}

/// `POST /api/v1/follow_requests/{id}/authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    answer(state, user, id, true).await
}

/// `POST /api/v1/follow_requests/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    answer(state, user, id, false).await
}

async fn answer(
    state: AppState,
    user: CurrentUser,
    id: String,
    accept: bool,
) -> Result<Json<Relationship>, Error> {
    let requester = id
        .parse::<i64>()
        .map_err(|_| Error::not_found("Record not found"))?;
    let me = user.actor.id;
    follows::answer_request(&state.ctx, user.actor, requester, accept).await?;
    Ok(Json(
        state
            .db
            .run(move |conn| Relationship::new(conn, me, requester))
            .await?,
    ))
}

/// Query of an account's statuses.
#[derive(Debug, Default, Deserialize)]
pub struct StatusesQuery {
    #[serde(flatten)]
    paging: Paging,
    #[serde(default, deserialize_with = "super::params::flag")]
    pinned: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    exclude_replies: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    exclude_reblogs: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    only_media: Option<bool>,
}

/// `GET /api/v1/accounts/{id}/statuses`: a person's posts and boosts, or a group's posts, as
/// the viewer may see; `pinned` gives the pinned ones, `exclude_replies` leaves replies out,
/// `exclude_reblogs` boosts, `only_media` keeps posts with attachments (an app's media tab).
pub async fn statuses(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
    super::ApiQuery(query): super::ApiQuery<StatusesQuery>,
) -> Result<Response, Error> {
    let id = id
        .parse::<i64>()
        .map_err(|_| Error::not_found("Record not found"))?;
    let viewer = viewer.id();
    let page = query.paging.page();
    let pinned = query.pinned == Some(true);
    let exclude_replies = query.exclude_replies == Some(true);
    let only_media = query.only_media == Some(true);
    let with_boosts = !(pinned || only_media || query.exclude_reblogs == Some(true));
    let urls = state.urls.clone();
    let (list, cursors) = state
        .db
        .run(move |conn| {
            let actor =
                actors::by_id(conn, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
            let rows = if pinned {
                // Pins are one short list, shown on the first page only.
                if page.max_id.is_some() || page.min_id.is_some() || page.since_id.is_some() {
                    Vec::new()
                } else {
                    crate::db::pins::of_actor(conn, actor.id)?
                }
            } else if actor.actor_kind() == ActorKind::Group {
                let hidden = match viewer {
                    Some(viewer) => blocks::hidden_from(conn, viewer, Hiding::Posts)?,
                    None => Vec::new(),
                };
                posts::timeline(conn, &[], &[actor.id], None, &hidden, page)?
            } else {
                posts::by_author(conn, actor.id, only_media, page)?
            };
            let boosts = if with_boosts && actor.actor_kind() != ActorKind::Group {
                crate::db::reblogs::by_actor(conn, actor.id, page)?
            } else {
                Vec::new()
            };
            let entries = crate::service::statuses::merged(rows, boosts, page);
            // The page goes on from the entries read, whether or not the filters kept them.
            let cursors = match (entries.first(), entries.last()) {
                (Some(newest), Some(oldest)) => {
                    Some((newest.id().to_string(), oldest.id().to_string()))
                }
                _ => None,
            };
            let entries = entries
                .into_iter()
                .filter(|e| !(exclude_replies && e.post().in_reply_to_ap_id.is_some()))
                .collect();
            Ok((Status::entries(conn, entries, viewer, &urls)?, cursors))
        })
        .await?;
    Ok(paged_by(
        list,
        cursors,
        state.urls.path(&format!("/api/v1/accounts/{id}/statuses")),
    ))
}

/// Accounts paged by the ids of the rows listing them (follows), with the `Link` header.
pub fn paged_accounts(
    rows: Vec<(i64, crate::db::actors::ActorRow)>,
    urls: &crate::service::Urls,
    base: url::Url,
) -> Response {
    let cursors = match (rows.first(), rows.last()) {
        (Some((newest, _)), Some((oldest, _))) => Some((newest.to_string(), oldest.to_string())),
        _ => None,
    };
    let accounts: Vec<Account> = rows
        .iter()
        .map(|(_, actor)| Account::from_row(actor, urls))
        .collect();
    paged_by(accounts, cursors, base)
}

/// `GET /api/v1/accounts/{id}/followers`: a person's followers, the newest first, paged
/// (`max_id`, `since_id`, `min_id`, `limit` up to 80; `Link`). A group's members are shown
/// only to its moderators; others see the count on the account.
pub async fn followers(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(id): Path<String>,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    let id = id
        .parse::<i64>()
        .map_err(|_| Error::not_found("Record not found"))?;
    let page = paging.accounts_page();
    let is_group = state
        .db
        .run(move |conn| {
            let actor =
                actors::by_id(conn, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
            Ok(actor.actor_kind() == ActorKind::Group)
        })
        .await?;
    let rows = match &viewer.0 {
        // A group's member list is its moderators' to see, each look on the audit record.
        Some(user) if is_group => {
            let by = user.acting();
            match crate::service::groups::people_page(&state.ctx, &by, id, true, page).await {
                Err(Error::Forbidden(_) | Error::NotFound(_)) => Vec::new(),
                rows => rows?,
            }
        }
        None if is_group => Vec::new(),
        _ => {
            state
                .db
                .run(move |conn| Ok(crate::db::follows::followers_page(conn, id, true, page)?))
                .await?
        }
    };
    Ok(paged_accounts(
        rows,
        &state.urls,
        state.urls.path(&format!("/api/v1/accounts/{id}/followers")),
    ))
}

/// `GET /api/v1/accounts/{id}/following`: the people an account follows (not the groups it
/// joined), the newest first, paged as followers.
pub async fn following(
    State(state): State<AppState>,
    Path(id): Path<String>,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    let id = id
        .parse::<i64>()
        .map_err(|_| Error::not_found("Record not found"))?;
    let page = paging.accounts_page();
    let rows = state
        .db
        .run(move |conn| {
            actors::by_id(conn, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
            Ok(crate::db::follows::following_page(conn, id, page)?)
        })
        .await?;
    Ok(paged_accounts(
        rows,
        &state.urls,
        state.urls.path(&format!("/api/v1/accounts/{id}/following")),
    ))
}

/// Body of `PATCH /api/v1/accounts/update_credentials`.
#[derive(Debug, Deserialize)]
pub struct CredentialsForm {
    display_name: Option<String>,
    note: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    discoverable: Option<bool>,
    /// Profile fields (`fields_attributes[0][name]` in forms); given, they replace all.
    #[serde(default, deserialize_with = "super::params::some_list")]
    fields_attributes: Option<Vec<FieldForm>>,
    /// Posting defaults (`source[privacy]` in forms).
    source: Option<SourceForm>,
}

/// One profile field of [`CredentialsForm`].
#[derive(Debug, Deserialize)]
pub struct FieldForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
}

/// The posting defaults of [`CredentialsForm`].
#[derive(Debug, Deserialize)]
pub struct SourceForm {
    privacy: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    sensitive: Option<bool>,
    language: Option<String>,
}

/// `PATCH /api/v1/accounts/update_credentials`: display name, bio, whether follows need
/// approval (`locked`), and `avatar` and `header` images (multipart files). Other servers
/// get the new profile in an `Update`.
pub async fn update_credentials(
    State(state): State<AppState>,
    user: CurrentUser,
    super::params::ApiFormWithFiles { form, files }: super::params::ApiFormWithFiles<
        CredentialsForm,
    >,
) -> Result<Json<CredentialAccount>, Error> {
    let mut actor = user.actor.clone();
    let mut account = user.user.clone();
    if let Some(name) = form.display_name {
        if name.chars().count() > 30 {
            return Err(Error::Unprocessable(
                "Validation failed: Display name is too long (maximum is 30 characters)".into(),
            ));
        }
        actor.display_name = Some(name);
    }
    if let Some(note) = form.note {
        if note.chars().count() > 500 {
            return Err(Error::Unprocessable(
                "Validation failed: Note is too long (maximum is 500 characters)".into(),
            ));
        }
        actor.summary = Some(crate::service::accounts::plain_text_to_html(&note));
        account.note_source = Some(note);
    }
    if let Some(fields) = form.fields_attributes {
        let typed = fields.into_iter().map(|f| (f.name, f.value)).collect();
        let fields = crate::service::accounts::profile_fields(typed)?;
        actor.fields = serde_json::to_string(&fields)
            .map_err(|e| Error::Internal(format!("profile fields: {e}")))?;
    }
    if let Some(source) = form.source {
        if let Some(privacy) = source.privacy {
            account.default_privacy = crate::service::accounts::default_privacy(&privacy)?;
        }
        if let Some(sensitive) = source.sensitive {
            account.default_sensitive = sensitive;
        }
        if let Some(language) = source.language {
            account.default_language = crate::service::content::asked_language(Some(&language))?;
        }
    }
    if let Some(locked) = form.locked {
        actor.manually_approves_followers = locked;
    }
    if let Some(discoverable) = form.discoverable {
        actor.discoverable = discoverable;
    }
    let mut images = crate::service::accounts::ProfileImages::default();
    for (name, bytes) in files {
        match name.as_str() {
            "avatar" => images.avatar = Some(bytes),
            "header" => images.header = Some(bytes),
            other => {
                return Err(Error::Unprocessable(format!(
                    "Validation failed: {other} cannot be a file here"
                )));
            }
        }
    }
    let actor = crate::service::accounts::update_profile(
        &state.ctx,
        &state.media,
        actor,
        account.clone(),
        images,
    )
    .await?;
    let requests = follows::request_count(&state.ctx, &actor).await?;
    Ok(Json(CredentialAccount::new(
        &actor,
        &account,
        requests,
        &state.urls,
    )))
}

/// `GET /api/v1/preferences`: what apps use as defaults when writing and reading.
pub async fn preferences(user: CurrentUser) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "posting:default:visibility": user.user.default_privacy,
        "posting:default:sensitive": user.user.default_sensitive,
        "posting:default:language": user.user.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    }))
}

/// Body of `POST /api/v1/accounts/delete`.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
}

/// `POST /api/v1/accounts/delete`: the signed-in person deletes their account, confirming with
/// their password (GoToSocial's endpoint). 202: it is erased here, and the servers that knew
/// them are being told.
pub async fn delete_account(
    State(state): State<AppState>,
    user: CurrentUser,
    super::oauth::ClientAddress(address): super::oauth::ClientAddress,
    super::params::ApiForm(form): super::params::ApiForm<DeleteForm>,
) -> Result<(axum::http::StatusCode, Json<serde_json::Value>), Error> {
    crate::service::account_deletion::delete_own_account(
        &state.ctx,
        &state.media,
        &user.actor,
        form.password,
        address,
    )
    .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(serde_json::json!({})),
    ))
}
