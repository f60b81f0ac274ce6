//! OAuth endpoints for apps: registration, token exchange, revocation, server metadata.
//! The sign-in and consent page (`/oauth/authorize`) is a web page, in `web::authorize`.

use super::{ApiForm, AppState, auth::bearer_token};
use crate::{
    Error,
    db::oauth as apps,
    service::{
        oauth::{self, ClientCredentials, Grant, NewApp},
        scopes::{KNOWN, Scopes},
    },
};
use axum::{
    Json,
    extract::{ConnectInfo, State},
    http::{HeaderMap, header},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};

/// Body of `POST /api/v1/apps`.
#[derive(Debug, Deserialize)]
pub struct AppForm {
    client_name: Option<String>,
    /// One string with a URI per line, or a list.
    #[serde(default, deserialize_with = "super::params::list")]
    redirect_uris: Vec<String>,
    scopes: Option<String>,
    website: Option<String>,
}

/// The `Application` entity; the secret only when the app is created.
fn application(app: &apps::AppRow, secret: Option<&str>) -> Value {
    let uris = app.redirect_uri_list();
    let mut entity = json!({
        "id": app.id.to_string(),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": uris.join("\n"),
        "redirect_uris": uris,
        "vapid_key": "",
    });
    if let Some(secret) = secret {
        entity["client_id"] = json!(app.client_id);
        entity["client_secret"] = json!(secret);
        entity["client_secret_expires_at"] = json!(0);
    }
    entity
}

/// `POST /api/v1/apps`: registers an app; its client secret is shown this once.
pub async fn create_app(
    State(state): State<AppState>,
    ApiForm(form): ApiForm<AppForm>,
) -> Result<Json<Value>, Error> {
    let scopes = Scopes::parse(form.scopes.as_deref().unwrap_or_default())
        .map_err(|e| Error::Unprocessable(format!("Validation failed: {e}")))?;
    let registered = oauth::register_app(
        &state.db,
        NewApp {
            name: form.client_name.unwrap_or_default(),
            redirect_uris: form.redirect_uris,
            scopes,
            website: form.website,
        },
    )
    .await?;
    Ok(Json(application(
        &registered.app,
        Some(&registered.client_secret),
    )))
}

/// `GET /api/v1/apps/verify_credentials`: the app holding this token (a person's token or the
/// app's own).
pub async fn verify_app(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, Error> {
    let token = bearer_token(&headers).ok_or(Error::Unauthorized)?;
    let app = oauth::app_of_token(&state.db, token).await?;
    Ok(Json(application(&app, None)))
}

/// Body of `POST /oauth/token` and `POST /oauth/revoke`.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    scope: Option<String>,
    token: Option<String>,
}

/// The app's credentials, from HTTP Basic authentication or the body (RFC 6749 §2.3.1).
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> ClientCredentials {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id)?, decode(secret)?))
        });
    match basic {
        Some((id, secret)) => ClientCredentials {
            client_id: Some(id),
            client_secret: Some(secret),
        },
        None => ClientCredentials {
            client_id: form.client_id.clone(),
            client_secret: form.client_secret.clone().filter(|s| !s.is_empty()),
        },
    }
}

fn required(value: Option<String>, name: &str) -> Result<String, Error> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::oauth("invalid_request", format!("{name} is missing")))
}

/// The client's address, where the server knows it, for the sign-in limits.
pub fn client_address(parts_extensions: &http::Extensions) -> Option<IpAddr> {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The client's address, as an extractor (`None` where the server does not know it).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_address(&parts.extensions)))
    }
}

/// `POST /oauth/token`: a token for a code, a refresh token, the app itself, or (where the
/// admin allows it) a handle and password.
pub async fn token(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Json<Value>, Error> {
    let address = client_address(request.extensions());
    let headers = request.headers().clone();
    let ApiForm(form) =
        <ApiForm<TokenForm> as axum::extract::FromRequest<AppState>>::from_request(request, &state)
            .await?;
    let client = client_credentials(&headers, &form);
    let grant = match form.grant_type.as_deref() {
        Some("authorization_code") => Grant::AuthorizationCode {
            code: required(form.code, "code")?,
            redirect_uri: form.redirect_uri,
            code_verifier: form.code_verifier,
        },
        Some("client_credentials") => Grant::ClientCredentials { scope: form.scope },
        Some("refresh_token") => Grant::RefreshToken {
            refresh_token: required(form.refresh_token, "refresh_token")?,
        },
        Some("password") => Grant::Password {
            username: required(form.username, "username")?,
            password: required(form.password, "password")?,
            scope: form.scope,
        },
        Some(other) => {
            return Err(Error::oauth(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported"),
            ));
        }
        None => return Err(Error::oauth("invalid_request", "grant_type is missing")),
    };
    let issued = oauth::exchange(&state.ctx, client, grant, address).await?;
    Ok(Json(json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": issued.scopes.to_string(),
        "created_at": issued.created_at.and_utc().timestamp(),
        "refresh_token": issued.refresh_token,
    })))
}

/// `POST /oauth/revoke`: revokes a token of the app (RFC 7009); `{}` whether or not it existed.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiForm(form): ApiForm<TokenForm>,
) -> Result<Json<Value>, Error> {
    let client = client_credentials(&headers, &form);
    let token = required(form.token, "token")?;
    oauth::revoke(&state.db, client, token).await?;
    Ok(Json(json!({})))
}

/// `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata, as Mastodon serves it.
pub async fn metadata(State(state): State<AppState>) -> Json<Value> {
    let url = |path: &str| state.urls.path(path).to_string();
    Json(json!({
        "issuer": state.urls.base().to_string(),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": url("/oauth/authorize"),
        "token_endpoint": url("/oauth/token"),
        "revocation_endpoint": url("/oauth/revoke"),
        "app_registration_endpoint": url("/api/v1/apps"),
        "scopes_supported": KNOWN,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": if state.settings.oauth_password_grant {
            json!(["authorization_code", "client_credentials", "refresh_token", "password"])
        } else {
            json!(["authorization_code", "client_credentials", "refresh_token"])
        },
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }))
}
