//! The Mastodon instance endpoints, which apps read first to learn what a server offers.

use super::AppState;
use crate::{Error, service::instance};
use axum::{Json, extract::State};
use serde_json::{Value, json};

/// Mastodon API version Hearth's client API follows, as apps read it from `version`.
const MASTODON_COMPAT: &str = "4.3.0";

/// Posting limits, shared by v1 and v2.
fn statuses_configuration() -> Value {
    json!({
        "max_characters": 5000,
        "max_media_attachments": crate::service::media::MAX_PER_STATUS,
        "characters_reserved_per_url": 23
    })
}

/// Upload limits, as `service::media` enforces them.
fn media_configuration(state: &AppState) -> Value {
    use crate::service::media;
    json!({
        "supported_mime_types": ["image/jpeg", "image/png", "image/webp", "image/gif"],
        "image_size_limit": state.media.max_bytes(),
        "image_matrix_limit": media::MAX_PIXELS,
        "video_size_limit": 0,
        "video_frame_rate_limit": 0,
        "video_matrix_limit": 0,
        "description_limit": media::DESCRIPTION_LIMIT
    })
}

fn polls_configuration() -> Value {
    json!({
        "max_options": 4,
        "max_characters_per_option": 50,
        "min_expiration": 300,
        "max_expiration": 2_629_746
    })
}

fn version() -> String {
    format!(
        "{MASTODON_COMPAT} (compatible; Hearth {})",
        env!("CARGO_PKG_VERSION")
    )
}

/// `GET /api/v1/instance`: the v1 `Instance` entity.
pub async fn v1(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let stats = instance::stats(&state.db).await?;
    let s = &state.settings;
    Ok(Json(json!({
        "uri": state.urls.domain(),
        "title": s.instance_name,
        "short_description": s.instance_description,
        "description": s.instance_description,
        "email": s.contact_email,
        "version": version(),
        "urls": { "streaming_api": format!("wss://{}", state.urls.domain()) },
        "stats": {
            "user_count": stats.people,
            "status_count": stats.posts,
            "domain_count": stats.remote_domains
        },
        "thumbnail": state.urls.default_header().to_string(),
        "languages": ["en"],
        "registrations": s.open_registrations,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": {
            "accounts": { "max_featured_tags": 0 },
            "statuses": statuses_configuration(),
            "media_attachments": media_configuration(&state),
            "polls": polls_configuration()
        },
        "contact_account": null,
        "rules": []
    })))
}

/// `GET /api/v2/instance`: the v2 `Instance` entity.
pub async fn v2(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let stats = instance::stats(&state.db).await?;
    let s = &state.settings;
    Ok(Json(json!({
        "domain": state.urls.domain(),
        "title": s.instance_name,
        "version": version(),
        "source_url": state.urls.base().to_string(),
        "description": s.instance_description,
        "usage": { "users": { "active_month": stats.people } },
        "thumbnail": { "url": state.urls.default_header().to_string() },
        "icon": [],
        "languages": ["en"],
        "configuration": {
            "urls": { "streaming": format!("wss://{}", state.urls.domain()), "status": null },
            "vapid": { "public_key": "" },
            "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 0 },
            "statuses": statuses_configuration(),
            "media_attachments": media_configuration(&state),
            "polls": polls_configuration(),
            "translation": { "enabled": false }
        },
        "registrations": {
            "enabled": s.open_registrations,
            "approval_required": false,
            "message": null,
            "url": null
        },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": s.contact_email, "account": null },
        "rules": []
    })))
}
