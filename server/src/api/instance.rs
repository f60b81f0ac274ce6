//! The Mastodon instance endpoints, which apps read first to learn what a server offers.

use super::AppState;
use crate::{Error, Settings, config::RegistrationMode, service::instance};
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

/// The instance's rules as Mastodon `Rule` entities, numbered from 1 in their order.
fn rule_entities(settings: &Settings) -> Value {
    settings
        .rules
        .iter()
        .enumerate()
        .map(|(i, text)| json!({ "id": (i + 1).to_string(), "text": text, "hint": "" }))
        .collect()
}

/// What apps show where nobody may simply sign up (v2 `registrations.message`, HTML).
fn registration_message(mode: RegistrationMode) -> Option<&'static str> {
    match mode {
        RegistrationMode::Closed => Some("<p>Registrations are closed on this server.</p>"),
        RegistrationMode::Invite => {
            Some("<p>Joining this server needs an invite from the clinic.</p>")
        }
        RegistrationMode::Approval | RegistrationMode::Open => None,
    }
}

/// `GET /api/v1/instance/rules`: the rules people agree to when they sign up.
pub async fn rules(State(state): State<AppState>) -> Json<Value> {
    Json(rule_entities(&state.settings))
}

/// `GET /api/v1/instance`: the v1 `Instance` entity.
pub async fn v1(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let stats = instance::stats(&state.db).await?;
    let s = &state.settings;
    let mode = s.registration_mode();
    Ok(Json(json!({
        "uri": state.urls.domain(),
        "title": s.instance_name,
        "short_description": s.instance_description,
        "description": s.instance_description,
        "email": s.contact_email,
        "version": version(),
        "urls": { "streaming_api": streaming_url(&state) },
        "stats": {
            "user_count": stats.people,
            "status_count": stats.posts,
            "domain_count": stats.remote_domains
        },
        "thumbnail": state.urls.default_header().to_string(),
        "languages": ["en"],
        "registrations": mode.anyone_may_ask(),
        "approval_required": mode == RegistrationMode::Approval,
        // Invite codes work in every mode but `closed`.
        "invites_enabled": mode != RegistrationMode::Closed,
        "configuration": {
            "accounts": { "max_featured_tags": 0 },
            "statuses": statuses_configuration(),
            "media_attachments": media_configuration(&state),
            "polls": polls_configuration()
        },
        "contact_account": null,
        "rules": rule_entities(s)
    })))
}

/// `GET /api/v2/instance`: the v2 `Instance` entity.
pub async fn v2(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let stats = instance::stats(&state.db).await?;
    let s = &state.settings;
    let mode = s.registration_mode();
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
            "urls": { "streaming": streaming_url(&state), "status": null },
            "vapid": { "public_key": "" },
            "accounts": {
                "max_featured_tags": 0,
                "max_pinned_statuses": crate::db::pins::MAX_PINS
            },
            "statuses": statuses_configuration(),
            "media_attachments": media_configuration(&state),
            "polls": polls_configuration(),
            "translation": { "enabled": false }
        },
        "registrations": {
            "enabled": mode.anyone_may_ask(),
            "approval_required": mode == RegistrationMode::Approval,
            "message": registration_message(mode),
            // Only for sign-up elsewhere (single sign-on); apps use POST /api/v1/accounts.
            "url": null
        },
        "api_versions": { "mastodon": 2 },
        "contact": { "email": s.contact_email, "account": null },
        "rules": rule_entities(s)
    })))
}

/// Where apps open streaming sockets: this server, `wss://` behind HTTPS and `ws://` behind
/// plain HTTP (as on a test or development machine).
fn streaming_url(state: &AppState) -> String {
    let base = state.urls.base();
    let scheme = if base.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let host = base.host_str().unwrap_or_default();
    match base.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}
