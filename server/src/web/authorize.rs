//! `/oauth/authorize`: the page where a person signs in (if they are not yet) and approves or
//! denies an app, which then gets a code at its redirect URI — or, for apps without one, sees
//! the code on the page to copy.

use super::{
    layout::{page, respond},
    session,
};
use crate::{
    Error,
    api::{ApiQuery, AppState, oauth::client_address},
    service::oauth::{self, AuthorizationParams, AuthorizationRequest},
};
use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use axum_extra::extract::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

/// What each scope lets an app do, in words a patient understands.
fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "read" => "See your posts, groups, notifications and account",
        "write" => "Post, edit and delete for you, and change your profile",
        "follow" => "Follow, block and mute people and join groups for you",
        "push" => "Send you notifications",
        "profile" => "See your name and profile",
        s if s.starts_with("admin:") => "Use your administration rights",
        s if s.starts_with("read:") => "See part of your account",
        _ => "Act for you on part of your account",
    }
}

fn form_markup(
    state: &AppState,
    request: &AuthorizationRequest,
    params: &AuthorizationParams,
    csrf: &str,
    signed_in_as: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let app = &request.app;
    page(
        &state.settings.instance_name,
        "Authorize an app",
        html! {
            h1 { "Allow " (app.name) " to use your account?" }
            @if let Some(website) = &app.website { p.muted { "From " (website) } }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            p { "If you allow it, " (app.name) " will be able to:" }
            ul.scopes {
                @for scope in request.scopes.iter() {
                    li { (describe_scope(scope)) " " span.muted { "(" (scope) ")" } }
                }
            }
            p.muted { "You can revoke this at any time in " a href="/settings/sessions" { "your sessions and apps" } "." }
            form method="post" action="/oauth/authorize" {
                input type="hidden" name="csrf" value=(csrf);
                @for (name, value) in hidden_params(params) {
                    input type="hidden" name=(name) value=(value);
                }
                @match signed_in_as {
                    Some(handle) => p { "Signed in as @" (handle) "." },
                    None => (session::credentials_fields("")),
                }
                button.primary type="submit" name="decision" value="approve" { "Allow" }
                button.secondary type="submit" name="decision" value="deny" formnovalidate { "Deny" }
            }
        },
    )
}

fn hidden_params(params: &AuthorizationParams) -> Vec<(&'static str, String)> {
    [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("scope", &params.scope),
        ("state", &params.state),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
    .collect()
}

fn refusal(state: &AppState, error: &Error) -> Response {
    let message = match error {
        Error::OAuth { description, .. } => description.clone(),
        other => other.to_string(),
    };
    respond(
        StatusCode::BAD_REQUEST,
        page(
            &state.settings.instance_name,
            "This sign-in link is not valid",
            html! {
                h1 { "This sign-in link is not valid" }
                p { (message) }
                p { "Go back to the app and try signing in again." }
            },
        ),
    )
}

/// `GET /oauth/authorize`: the sign-in and consent page.
pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiQuery(params): ApiQuery<AuthorizationParams>,
) -> Response {
    let request = match oauth::check_authorization(&state.db, &params).await {
        Ok(request) => request,
        Err(e) => return refusal(&state, &e),
    };
    let me = session::current(&state, &jar).await;
    let (jar, csrf) = session::csrf_token(&state, jar);
    let markup = form_markup(
        &state,
        &request,
        &params,
        &csrf,
        me.as_ref().map(|m| m.actor.username.as_str()),
        None,
    );
    (jar, respond(StatusCode::OK, markup)).into_response()
}

/// The consent form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(flatten)]
    params: AuthorizationParams,
    csrf: Option<String>,
    decision: Option<String>,
    handle: Option<String>,
    password: Option<String>,
}

/// `POST /oauth/authorize`: the person's answer. Approved, the app gets a code at its redirect
/// URI (or the page shows it); denied, the app gets `error=access_denied`.
pub async fn decide(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let address = client_address(request.extensions());
    let form: DecisionForm = match session::form_of(&state, request).await {
        Ok(form) => form,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = session::check_csrf(&jar, form.csrf.as_deref()) {
        return e.into_response();
    }
    let request = match oauth::check_authorization(&state.db, &form.params).await {
        Ok(request) => request,
        Err(e) => return refusal(&state, &e),
    };
    if form.decision.as_deref() != Some("approve") {
        return answer(&state, &request, None);
    }
    let (jar, user_id) = match session::current(&state, &jar).await {
        Some(me) => (jar, me.actor.id),
        None => {
            let handle = form.handle.unwrap_or_default();
            let password = form.password.unwrap_or_default();
            match session::start(&state, jar.clone(), &handle, password, address).await {
                Ok(started) => started,
                Err(e) => {
                    let (jar, csrf) = session::csrf_token(&state, jar);
                    let markup = form_markup(
                        &state,
                        &request,
                        &form.params,
                        &csrf,
                        None,
                        Some(&e.to_string()),
                    );
                    return (jar, respond(e.status(), markup)).into_response();
                }
            }
        }
    };
    match oauth::grant_code(&state.db, &request, user_id).await {
        Ok(code) => (jar, answer(&state, &request, Some(&code))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Sends the answer to the app: a redirect, or for out-of-band apps a page with the code.
fn answer(state: &AppState, request: &AuthorizationRequest, code: Option<&str>) -> Response {
    if let Some(target) = oauth::redirect_target(request, code) {
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(location) = HeaderValue::from_str(&target) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    let markup = page(
        &state.settings.instance_name,
        "Authorization code",
        html! {
            @match code {
                Some(code) => {
                    h1 { "Copy this code into " (request.app.name) }
                    p { "Paste it where the app asks for it. It works once, for ten minutes." }
                    code.code { (code) }
                },
                None => {
                    h1 { "You denied " (request.app.name) }
                    p { "The app has no access to your account." }
                },
            }
        },
    );
    respond(StatusCode::OK, markup)
}
