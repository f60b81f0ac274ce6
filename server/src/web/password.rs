//! The page where a signed-in person changes their password: the current one is asked for,
//! and every other session and app is signed out.

use super::{
    layout::{page, respond},
    session::{check_csrf, csrf_token, current, form_of},
};
use crate::{
    Error,
    api::{AppState, oauth::client_address},
    service::accounts::{self, MIN_PASSWORD_CHARS, PasswordChange},
};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

/// The form of the password page.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    csrf: Option<String>,
    current_password: Option<String>,
    new_password: Option<String>,
    confirmation: Option<String>,
}

/// What the page says above its form.
enum Notice<'a> {
    None,
    Error(&'a str),
    Changed(usize),
}

fn markup(state: &AppState, csrf: &str, handle: &str, notice: Notice<'_>) -> Markup {
    page(
        &state.settings.instance_name,
        "Change your password",
        html! {
            h1 { "Change your password" }
            p.muted { "Signed in as @" (handle) ". Changing it signs out every other browser and app." }
            @match notice {
                Notice::Error(error) => p.error role="alert" { (error) },
                Notice::Changed(revoked) => p role="status" {
                    "Your password is changed. "
                    @if revoked == 1 { "1 other session or app was signed out." }
                    @else { (revoked) " other sessions and apps were signed out." }
                },
                Notice::None => {},
            }
            form method="post" action="/settings/password" {
                input type="hidden" name="csrf" value=(csrf);
                label for="current_password" { "Current password" }
                input #current_password type="password" name="current_password"
                    autocomplete="current-password" required;
                label for="new_password" { "New password (at least " (MIN_PASSWORD_CHARS) " characters)" }
                input #new_password type="password" name="new_password"
                    autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required;
                label for="confirmation" { "New password again" }
                input #confirmation type="password" name="confirmation"
                    autocomplete="new-password" minlength=(MIN_PASSWORD_CHARS) required;
                button.primary type="submit" { "Change password" }
            }
            p { a href="/settings/sessions" { "Your sessions and apps" } }
        },
    )
}

/// `GET /settings/password`: the password form (signed-in browsers only).
pub async fn show(State(state): State<AppState>, jar: CookieJar) -> Response {
    let Some(me) = current(&state, &jar).await else {
        return Redirect::to("/auth/sign_in").into_response();
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let markup = markup(&state, &csrf, &me.actor.username, Notice::None);
    (jar, respond(StatusCode::OK, markup)).into_response()
}

/// `POST /settings/password`: changes the password if the current one is right and the new
/// one is long enough and confirmed; other sessions and apps are signed out.
pub async fn change(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let address = client_address(request.extensions());
    let form: PasswordForm = form_of(&state, request).await?;
    check_csrf(&jar, form.csrf.as_deref())?;
    let me = current(&state, &jar).await.ok_or(Error::Unauthorized)?;
    let (jar, csrf) = csrf_token(&state, jar);
    let change = PasswordChange {
        current: form.current_password.unwrap_or_default(),
        new: form.new_password.unwrap_or_default(),
        confirmation: form.confirmation.unwrap_or_default(),
    };
    let (status, notice_text, revoked) =
        match accounts::change_password(&state.db, &state.ctx.sign_in_limits, &me, change, address)
            .await
        {
            Ok(revoked) => (StatusCode::OK, None, revoked),
            Err(e) if e.status().is_client_error() => (e.status(), Some(e.to_string()), 0),
            Err(e) => return Err(e),
        };
    let notice = match &notice_text {
        Some(error) => Notice::Error(error),
        None => Notice::Changed(revoked),
    };
    let markup = markup(&state, &csrf, &me.actor.username, notice);
    Ok((jar, respond(status, markup)).into_response())
}
