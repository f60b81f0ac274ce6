//! Clinic announcements: Mastodon's `/api/v1/announcements` (list, dismiss, reactions) and the
//! admins' `/api/hearth/v1/admin/announcements` (publish, withdraw).

use super::{AppState, CurrentUser, entities::mastodon_time, params::ApiForm};
use crate::{
    Error,
    service::announcements::{self, NewAnnouncement, Seen},
};
use axum::{
    Json,
    extract::{Path, State},
};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The `Announcement` entity.
pub fn entity(seen: &Seen) -> Value {
    let time = |t: Option<NaiveDateTime>| t.map(|t| mastodon_time(t.and_utc()));
    let row = &seen.row;
    json!({
        "id": row.id.to_string(),
        "content": row.content,
        "starts_at": time(row.starts_at),
        "ends_at": time(row.ends_at),
        "all_day": row.all_day,
        "published": true,
        "published_at": mastodon_time(row.published_at.and_utc()),
        "updated_at": mastodon_time(row.updated_at.and_utc()),
        "read": seen.read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": [],
        "reactions": seen.reactions.iter().map(|(name, count, me)| json!({
            "name": name, "count": count, "me": me,
        })).collect::<Vec<_>>(),
        "hearth_urgent": row.urgent,
    })
}

fn announcement_id(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// `GET /api/v1/announcements`: the clinic's announcements in force, newest first.
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, Error> {
    let seen = announcements::current(&state.ctx, user.actor.id).await?;
    Ok(Json(Value::Array(seen.iter().map(entity).collect())))
}

/// `POST /api/v1/announcements/{id}/dismiss`: marks it read.
pub async fn dismiss(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    announcements::dismiss(&state.ctx, user.actor.id, announcement_id(&id)?).await?;
    Ok(Json(json!({})))
}

/// `PUT /api/v1/announcements/{id}/reactions/{name}`: reacts with an emoji.
pub async fn react(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, name)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    let id = announcement_id(&id)?;
    announcements::react(&state.ctx, user.actor.id, id, name, true).await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/v1/announcements/{id}/reactions/{name}`: takes the reaction back.
pub async fn unreact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, name)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    let id = announcement_id(&id)?;
    announcements::react(&state.ctx, user.actor.id, id, name, false).await?;
    Ok(Json(json!({})))
}

/// What an admin publishes: `text`, optional `starts_at` and `ends_at` (RFC 3339), `all_day`
/// and `urgent`.
#[derive(Debug, Deserialize)]
pub struct PublishForm {
    text: String,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    all_day: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    urgent: Option<bool>,
}

/// Reads an optional RFC 3339 time.
fn time(field: &str, value: Option<&str>) -> Result<Option<NaiveDateTime>, Error> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc).naive_utc())
                .map_err(|_| {
                    Error::Unprocessable(format!("Validation failed: {field} is not a time"))
                })
        })
        .transpose()
}

/// `POST /api/hearth/v1/admin/announcements`: publishes an announcement (admins); an urgent
/// one is also posted and pinned in every local group.
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiForm(form): ApiForm<PublishForm>,
) -> Result<Json<Value>, Error> {
    let new = NewAnnouncement {
        text: form.text,
        starts_at: time("starts_at", form.starts_at.as_deref())?,
        ends_at: time("ends_at", form.ends_at.as_deref())?,
        all_day: form.all_day.unwrap_or(false),
        urgent: form.urgent.unwrap_or(false),
    };
    let row = announcements::publish(&state.ctx, &user.acting(), new).await?;
    Ok(Json(entity(&Seen {
        row,
        read: false,
        reactions: Vec::new(),
    })))
}

/// `DELETE /api/hearth/v1/admin/announcements/{id}`: withdraws it (admins).
pub async fn withdraw(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    announcements::withdraw(&state.ctx, &user.acting(), announcement_id(&id)?).await?;
    Ok(Json(json!({})))
}
