//! Hearth's group management API (`/api/hearth/v1/groups`): what Mastodon has no concept for.

use super::{ApiForm, AppState, CurrentUser, entities::Account, timelines::Paging};
use crate::{
    Error,
    db::{actors, groups as group_rows},
    service::{
        accounts::Handle,
        groups::{self, Decision, GroupChange, JoinPolicy, NewGroup, Visibility},
    },
};
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of a group creation.
#[derive(Debug, Deserialize)]
pub struct CreateGroup {
    handle: String,
    display_name: String,
    #[serde(default)]
    description: String,
    #[serde(default = "public")]
    visibility: String,
    #[serde(default = "open")]
    join_policy: String,
    #[serde(default, deserialize_with = "super::params::list")]
    rules: Vec<String>,
}

fn public() -> String {
    "public".into()
}

fn open() -> String {
    "open".into()
}

fn id_param(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// The group as the API shows it: its account, settings, rules and member count.
fn group_json(
    conn: &mut crate::db::AnyConnection,
    state: &AppState,
    group_id: i64,
) -> Result<Value, Error> {
    let actor =
        actors::by_id(conn, group_id)?.ok_or_else(|| Error::not_found("Record not found"))?;
    let settings = group_rows::by_actor(conn, group_id)?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let moderators: Vec<Account> = group_rows::moderators(conn, group_id)?
        .into_iter()
        .filter_map(|id| actors::by_id(conn, id).ok().flatten())
        .map(|a| Account::from_row(&a, &state.urls))
        .collect();
    let account = Account::with_counts(conn, &actor, &state.urls)?;
    Ok(json!({
        "id": actor.id.to_string(),
        "members_count": account.followers_count,
        "account": account,
        "visibility": settings.visibility,
        "join_policy": if settings.needs_approval() { "approval" } else { "open" },
        "rules": settings.rule_list(),
        "content_warning": settings.content_warning,
        "retention_days": settings.retention_days.unwrap_or(0),
        "moderators": moderators,
    }))
}

/// `POST /api/hearth/v1/groups`: create a group (staff: admins, moderators, clinicians).
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiForm(form): ApiForm<CreateGroup>,
) -> Result<Json<Value>, Error> {
    let new = NewGroup {
        handle: Handle::parse(&form.handle)?,
        display_name: form.display_name,
        description: form.description,
        visibility: form.visibility.parse::<Visibility>()?,
        join_policy: form.join_policy.parse::<JoinPolicy>()?,
        owner: Some(user.actor.id),
        rules: form.rules,
    };
    let row = groups::create_group(&state.ctx, &user.acting(), new).await?;
    let s = state.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| group_json(conn, &s, row.id))
            .await?,
    ))
}

/// `GET /api/hearth/v1/groups`: the groups hosted here.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Value>>, Error> {
    let s = state.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| {
                use crate::db::schema::support_groups;
                use diesel::prelude::*;
                let ids: Vec<i64> = support_groups::table
                    .select(support_groups::actor_id)
                    .order(support_groups::actor_id.asc())
                    .load(conn)?;
                ids.into_iter().map(|id| group_json(conn, &s, id)).collect()
            })
            .await?,
    ))
}

/// `GET /api/hearth/v1/groups/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let id = id_param(&id)?;
    let s = state.clone();
    Ok(Json(
        state.db.run(move |conn| group_json(conn, &s, id)).await?,
    ))
}

/// Body of a settings change.
#[derive(Debug, Deserialize)]
pub struct UpdateGroup {
    display_name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    join_policy: Option<String>,
    #[serde(default, deserialize_with = "super::params::some_list")]
    rules: Option<Vec<String>>,
    /// The default content warning; empty to have none.
    content_warning: Option<String>,
    /// How many days posts are kept; 0 for ever.
    #[serde(default, deserialize_with = "super::params::number")]
    retention_days: Option<i64>,
}

/// `PATCH /api/hearth/v1/groups/{id}`: change settings (moderators).
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<UpdateGroup>,
) -> Result<Json<Value>, Error> {
    let id = id_param(&id)?;
    let change = GroupChange {
        display_name: form.display_name,
        description: form.description,
        visibility: form.visibility.as_deref().map(str::parse).transpose()?,
        join_policy: form.join_policy.as_deref().map(str::parse).transpose()?,
        rules: form.rules,
        content_warning: form.content_warning,
        retention_days: form
            .retention_days
            .map(|d| {
                u32::try_from(d).map_err(|_| {
                    Error::Unprocessable(
                        "Validation failed: retention_days is a number of days".into(),
                    )
                })
            })
            .transpose()?,
    };
    groups::update_group(&state.ctx, &user.acting(), id, change).await?;
    let s = state.clone();
    Ok(Json(
        state.db.run(move |conn| group_json(conn, &s, id)).await?,
    ))
}

/// A group's members (`accepted`) or join requests, for its moderators, the newest first,
/// paged (`Link`) as followers are.
async fn people(
    state: &AppState,
    user: CurrentUser,
    id: &str,
    accepted: bool,
    paging: Paging,
) -> Result<Response, Error> {
    let id = id_param(id)?;
    let rows = groups::people_page(
        &state.ctx,
        &user.acting(),
        id,
        accepted,
        paging.accounts_page(),
    )
    .await?;
    let part = if accepted { "members" } else { "requests" };
    Ok(super::accounts::paged_accounts(
        rows,
        &state.urls,
        state
            .urls
            .path(&format!("/api/hearth/v1/groups/{id}/{part}")),
    ))
}

/// `GET /api/hearth/v1/groups/{id}/members`: moderators only; paged (`max_id`, `since_id`,
/// `min_id`, `limit` up to 80; `Link`).
pub async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    people(&state, user, &id, true, paging).await
}

/// `GET /api/hearth/v1/groups/{id}/requests`: pending join requests, moderators only; paged
/// as members.
pub async fn requests(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    people(&state, user, &id, false, paging).await
}

async fn decide(
    state: AppState,
    user: CurrentUser,
    group: String,
    member: String,
    decision: Decision,
) -> Result<Json<Value>, Error> {
    groups::decide(
        &state.ctx,
        &user.acting(),
        id_param(&group)?,
        id_param(&member)?,
        decision,
    )
    .await?;
    Ok(Json(json!({})))
}

/// `POST /api/hearth/v1/groups/{id}/requests/{account_id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, member)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    decide(state, user, group, member, Decision::Approve).await
}

/// `POST /api/hearth/v1/groups/{id}/requests/{account_id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, member)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    decide(state, user, group, member, Decision::Reject).await
}

/// `DELETE /api/hearth/v1/groups/{id}/members/{account_id}`: remove a member.
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, member)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    decide(state, user, group, member, Decision::Remove).await
}

/// `POST /api/hearth/v1/groups/{id}/bans/{account_id}`: ban (and remove) an account.
pub async fn ban(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, member)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    decide(state, user, group, member, Decision::Ban).await
}

/// `POST /api/hearth/v1/groups/{id}/moderators/{account_id}`: add a local moderator.
pub async fn add_moderator(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, member)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    set_moderator(state, user, group, member, true).await
}

/// `DELETE /api/hearth/v1/groups/{id}/moderators/{account_id}`.
pub async fn remove_moderator(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, member)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    set_moderator(state, user, group, member, false).await
}

async fn set_moderator(
    state: AppState,
    user: CurrentUser,
    group: String,
    member: String,
    add: bool,
) -> Result<Json<Value>, Error> {
    let (group, member) = (id_param(&group)?, id_param(&member)?);
    groups::set_moderator(&state.ctx, &user.acting(), group, member, add).await?;
    let s = state.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| group_json(conn, &s, group))
            .await?,
    ))
}

/// `POST /api/hearth/v1/groups/{id}/pins/{status_id}`: a moderator pins a post of the group
/// (at most five), shown first on the group (`GET /api/v1/accounts/{id}/statuses?pinned=true`)
/// and in its `featured` collection.
pub async fn pin(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, status)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    set_pin(state, user, group, status, true).await
}

/// `DELETE /api/hearth/v1/groups/{id}/pins/{status_id}`: a moderator unpins it.
pub async fn unpin(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((group, status)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    set_pin(state, user, group, status, false).await
}

async fn set_pin(
    state: AppState,
    user: CurrentUser,
    group: String,
    status: String,
    pinned: bool,
) -> Result<Json<Value>, Error> {
    let (group, status) = (id_param(&group)?, id_param(&status)?);
    let post =
        crate::service::pins::set_group_pin(&state.ctx, &user.acting(), group, status, pinned)
            .await?;
    Ok(Json(json!({ "id": post.id.to_string(), "pinned": pinned })))
}
