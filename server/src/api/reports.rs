//! Reports to the moderators.

use super::{AppState, CurrentUser, entities::Report};
use crate::{
    Error,
    service::reports::{self, NewReport},
};
use axum::{Json, extract::State};
use serde::Deserialize;

/// Body of `POST /api/v1/reports`.
#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default, deserialize_with = "super::params::number")]
    account_id: Option<i64>,
    #[serde(default, deserialize_with = "super::params::list")]
    status_ids: Vec<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default, deserialize_with = "super::params::list")]
    rule_ids: Vec<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    forward: Option<bool>,
}

/// `POST /api/v1/reports`: reports an account (`account_id`), optionally some of its posts
/// (`status_ids[]`), with a `comment`, a `category` and the rules broken (`rule_ids[]`); the
/// admins and moderators are notified. `forward` is kept for when reports travel to other
/// servers.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiForm(form): super::ApiForm<ReportForm>,
) -> Result<Json<Report>, Error> {
    let account_id = form
        .account_id
        .ok_or_else(|| Error::Unprocessable("Validation failed: account_id is required".into()))?;
    let new = NewReport {
        account_id,
        status_ids: form.status_ids,
        comment: form.comment.unwrap_or_default(),
        category: form.category,
        rule_ids: form.rule_ids,
        forward: form.forward.unwrap_or(false),
    };
    let filed = reports::file(&state.ctx, user.actor, new, state.settings.rules.len()).await?;
    Ok(Json(Report::new(&filed, &state.urls)))
}
