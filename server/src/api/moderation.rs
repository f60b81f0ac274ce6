//! Moderation endpoints: Mastodon's `/api/v1/admin/reports`, Hearth's removal of a post
//! (`/api/hearth/v1/admin/posts/{id}`), marking one sensitive and the crisis resources text.
//! Every call is an act on the audit record.

use super::{AppState, CurrentUser, admin::admin_account, entities::Status};
use crate::{
    Error,
    db::{AnyConnection, posts, users},
    service::{moderation, posts as post_rules, reports, settings},
};
use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

fn report_id(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// The Mastodon `Admin::Report` entity of a report, with Hearth's category beside Mastodon's
/// (`hearth_category`) and the resolution note.
fn admin_report(
    conn: &mut AnyConnection,
    state: &AppState,
    filed: &reports::Filed,
    viewer: i64,
) -> Result<Value, Error> {
    let urls = &state.urls;
    let mut account = |id: i64| -> Result<Value, Error> {
        Ok(match users::account_by_id(conn, id)? {
            Some((actor, user)) => admin_account(&actor, Some(&user), urls),
            None => match crate::db::actors::by_id(conn, id)? {
                Some(actor) => admin_account(&actor, None, urls),
                None => Value::Null,
            },
        })
    };
    let reporter = account(filed.row.reporter_id)?;
    let resolver = match filed.row.action_taken_by_id {
        Some(id) => account(id)?,
        None => Value::Null,
    };
    let target = account(filed.target.id)?;
    let mut statuses = Vec::new();
    for id in &filed.post_ids {
        if let Some(post) = posts::by_id(conn, *id)?.filter(|p| !p.is_deleted()) {
            statuses.push(Status::new(conn, &post, Some(viewer), urls)?);
        }
    }
    let rules: Vec<Value> = filed
        .row
        .rules()
        .iter()
        .filter_map(|n| {
            let text = n
                .parse::<usize>()
                .ok()
                .and_then(|i| state.settings.rules.get(i.checked_sub(1)?))?;
            Some(json!({ "id": n, "text": text, "hint": "" }))
        })
        .collect();
    let time = |t: chrono::NaiveDateTime| super::entities::mastodon_time(t.and_utc());
    Ok(json!({
        "id": filed.row.id.to_string(),
        "action_taken": filed.row.action_taken_at.is_some(),
        "action_taken_at": filed.row.action_taken_at.map(time),
        "category": reports::mastodon_category(&filed.row),
        "hearth_category": filed.row.category,
        "comment": filed.row.comment,
        "forwarded": filed.row.forward,
        "created_at": time(filed.row.created_at),
        "updated_at": time(filed.row.action_taken_at.unwrap_or(filed.row.created_at)),
        "account": reporter,
        "target_account": target,
        "assigned_account": null,
        "action_taken_by_account": resolver,
        "statuses": statuses,
        "rules": rules,
        "resolution_note": filed.row.resolution_note,
    }))
}

async fn answer(
    state: &AppState,
    filed: Vec<reports::Filed>,
    viewer: i64,
) -> Result<Vec<Value>, Error> {
    let s = state.clone();
    state
        .db
        .run(move |conn| {
            filed
                .iter()
                .map(|f| admin_report(conn, &s, f, viewer))
                .collect()
        })
        .await
}

/// Query of `GET /api/v1/admin/reports`.
#[derive(Debug, Deserialize)]
pub struct ReportsQuery {
    #[serde(default, deserialize_with = "super::params::flag")]
    resolved: Option<bool>,
    #[serde(default, deserialize_with = "super::params::number")]
    limit: Option<i64>,
}

/// `GET /api/v1/admin/reports`: unresolved reports (`resolved=true`: resolved ones), `crisis`
/// first, then the newest; `limit` up to 200 (default 100). Admins and moderators.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<ReportsQuery>,
) -> Result<Json<Vec<Value>>, Error> {
    let resolved = query.resolved.unwrap_or(false);
    let limit = query.limit.unwrap_or(100);
    let filed = reports::queue(&state.ctx, &user.acting(), resolved, limit).await?;
    Ok(Json(answer(&state, filed, user.actor.id).await?))
}

/// The one report of an answer.
async fn one(state: &AppState, filed: reports::Filed, viewer: i64) -> Result<Json<Value>, Error> {
    answer(state, vec![filed], viewer)
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| Error::not_found("Record not found"))
}

/// `GET /api/v1/admin/reports/{id}`: one report.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let filed = reports::show(&state.ctx, &user.acting(), report_id(&id)?).await?;
    one(&state, filed, user.actor.id).await
}

/// Body of a resolution: Hearth reads an optional `note`.
#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/admin/reports/{id}/resolve`: marks it resolved, with an optional `note`.
pub async fn resolve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<ResolveForm>,
) -> Result<Json<Value>, Error> {
    let filed = reports::resolve(&state.ctx, &user.acting(), report_id(&id)?, form.note).await?;
    one(&state, filed, user.actor.id).await
}

/// `POST /api/v1/admin/reports/{id}/reopen`: opens a resolved report again.
pub async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let filed = reports::reopen(&state.ctx, &user.acting(), report_id(&id)?).await?;
    one(&state, filed, user.actor.id).await
}

/// Query of a removal: the reason, for the audit record.
#[derive(Debug, Default, Deserialize)]
pub struct RemoveQuery {
    #[serde(default)]
    reason: Option<String>,
}

/// `DELETE /api/hearth/v1/admin/posts/{id}`: removes someone's post, as a moderator of its
/// group, an instance moderator or an admin (`?reason=` goes on the audit record); the removal
/// travels as the author's own deletion would, and through the group to its members' servers.
pub async fn remove_post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiQuery(query): super::ApiQuery<RemoveQuery>,
) -> Result<Json<Value>, Error> {
    let id = report_id(&id)?;
    let removed = post_rules::delete_status(&state.ctx, &user.acting(), id, query.reason).await?;
    Ok(Json(
        json!({ "id": removed.id.to_string(), "removed": true }),
    ))
}

/// Body of `POST /api/hearth/v1/admin/statuses/{id}/sensitive`.
#[derive(Debug, Default, Deserialize)]
pub struct SensitiveForm {
    /// A content warning, given to the post if it has none.
    #[serde(default)]
    spoiler_text: Option<String>,
    /// Why, for the audit record.
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/hearth/v1/admin/statuses/{id}/sensitive`: marks someone's post sensitive, with
/// `spoiler_text` as its content warning if it has none (instance moderators and admins, or a
/// moderator of its group). A local post's change reaches the servers that have it as an
/// `Update`. Answers the `Status` as the moderator now sees it.
pub async fn mark_sensitive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<SensitiveForm>,
) -> Result<Json<Status>, Error> {
    let post = moderation::mark_post_sensitive(
        &state.ctx,
        &user.acting(),
        report_id(&id)?,
        form.spoiler_text,
        form.reason,
    )
    .await?;
    let (urls, viewer) = (state.urls.clone(), user.actor.id);
    let status = state
        .db
        .run(move |conn| Status::new(conn, &post, Some(viewer), &urls))
        .await?;
    Ok(Json(status))
}

/// The crisis resources entity: the text, and when it was last set.
fn crisis_entity(text: Option<settings::Setting>) -> Value {
    match text {
        Some(set) => json!({
            "text": set.value,
            "updated_at": super::entities::mastodon_time(set.updated_at.and_utc()),
        }),
        None => json!({ "text": null, "updated_at": null }),
    }
}

/// `GET /api/hearth/v1/admin/crisis-resources`: the text a person reported in a `crisis`
/// report is sent (admins and moderators).
pub async fn crisis_resources(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Value>, Error> {
    let text = settings::crisis_resources(&state.ctx, &user.acting()).await?;
    Ok(Json(crisis_entity(text)))
}

/// Body of `PUT /api/hearth/v1/admin/crisis-resources`.
#[derive(Debug, Default, Deserialize)]
pub struct CrisisForm {
    /// The text; blank clears it (no message is sent then).
    #[serde(default)]
    text: String,
}

/// `PUT /api/hearth/v1/admin/crisis-resources`: sets the text (admins; on the audit record).
pub async fn set_crisis_resources(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiForm(form): super::ApiForm<CrisisForm>,
) -> Result<Json<Value>, Error> {
    let text = settings::set_crisis_resources(&state.ctx, &user.acting(), form.text).await?;
    Ok(Json(crisis_entity(text)))
}
