//! Endpoints apps call when they start, for features Hearth does not offer (yet): each gives
//! the well-formed empty answer Mastodon would give a person who has none, so that apps start
//! and show "nothing here" instead of failing. What exists is not listed here.

use super::{AppState, CurrentUser};
use axum::{Json, extract::State};
use serde_json::{Value, json};

/// `GET /api/v1/custom_emojis`: Hearth has no custom emojis.
pub async fn custom_emojis() -> Json<Value> {
    Json(json!([]))
}

/// `GET /api/v1/filters` and `GET /api/v2/filters`: keyword filters are not offered yet.
pub async fn filters(_user: CurrentUser) -> Json<Value> {
    Json(json!([]))
}

/// `GET /api/v1/lists`: lists are not offered yet.
pub async fn lists(_user: CurrentUser) -> Json<Value> {
    Json(json!([]))
}

/// `GET /api/v1/followed_tags`: following hashtags is not offered yet.
pub async fn followed_tags(_user: CurrentUser) -> Json<Value> {
    Json(json!([]))
}

/// `GET /api/v1/trends/tags`, `/api/v1/trends/statuses`, `/api/v1/trends/links`: a clinic's
/// instance does not rank what is popular.
pub async fn trends(State(_state): State<AppState>) -> Json<Value> {
    Json(json!([]))
}
