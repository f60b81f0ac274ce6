//! Registering an account from an app (`POST /api/v1/accounts`), as Mastodon apps do with
//! their own token from the client-credentials grant.

use super::{ApiForm, AppState, auth::AppCaller};
use crate::{
    Error,
    service::registration::{self, ForApp, SignUp},
};
use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `POST /api/v1/accounts`.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    agreement: Option<bool>,
    locale: Option<String>,
    reason: Option<String>,
    invite_code: Option<String>,
}

/// `POST /api/v1/accounts`: registers an account under the instance's registration mode and
/// answers a `Token` for it, as `POST /oauth/token` does. Where a moderator must approve it,
/// the token works once they have.
pub async fn create(
    State(state): State<AppState>,
    caller: AppCaller,
    super::oauth::ClientAddress(address): super::oauth::ClientAddress,
    ApiForm(form): ApiForm<AccountForm>,
) -> Result<Json<Value>, Error> {
    let sign_up = SignUp {
        username: form.username.unwrap_or_default(),
        email: form.email,
        password: form.password.unwrap_or_default(),
        agreement: form.agreement.unwrap_or(false),
        locale: form.locale,
        reason: form.reason,
        invite_code: form.invite_code,
        address,
    };
    let registered = registration::register(
        &state.ctx,
        state.settings.registration_mode(),
        sign_up,
        Some(ForApp {
            app_id: caller.app_id,
        }),
    )
    .await?;
    let token = registered
        .token
        .ok_or_else(|| Error::Internal("a registration for an app made no token".into()))?;
    Ok(Json(json!({
        "access_token": token.access_token,
        "token_type": "Bearer",
        "scope": token.scopes.to_string(),
        "created_at": token.created_at.and_utc().timestamp(),
        "refresh_token": token.refresh_token,
    })))
}
