//! The page where a signed-in person deletes their account, confirming with their password.

use super::{
    layout::{page, respond},
    session::{SESSION_COOKIE, check_csrf, csrf_token, current, form_of},
};
use crate::{
    Error,
    api::{AppState, oauth::client_address},
    service::account_deletion,
};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use maud::{Markup, html};
use serde::Deserialize;

/// The form of the deletion page.
#[derive(Debug, Default, Deserialize)]
pub struct DeleteForm {
    csrf: Option<String>,
    password: Option<String>,
}

fn markup(state: &AppState, csrf: &str, handle: &str, error: Option<&str>) -> Markup {
    page(
        &state.settings.instance_name,
        "Delete your account",
        html! {
            h1 { "Delete your account" }
            p { "Signed in as @" (handle) "." }
            p {
                "Everything you wrote and everything of yours here is erased: posts, images, "
                "follows, group memberships, bookmarks and sessions. The servers that know you "
                "are asked to erase you too. This cannot be undone, and your handle cannot be "
                "taken again for a while."
            }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action="/settings/delete" {
                input type="hidden" name="csrf" value=(csrf);
                label for="password" { "Your password" }
                input #password type="password" name="password"
                    autocomplete="current-password" required;
                button.primary type="submit" { "Delete my account" }
            }
        },
    )
}

/// `GET /settings/delete`: the deletion form (signed-in browsers only).
pub async fn show(State(state): State<AppState>, jar: CookieJar) -> Response {
    let Some(me) = current(&state, &jar).await else {
        return Redirect::to("/auth/sign_in").into_response();
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let markup = markup(&state, &csrf, &me.actor.username, None);
    (jar, respond(StatusCode::OK, markup)).into_response()
}

/// `POST /settings/delete`: deletes the account if the password is right, signs the browser
/// out and says so.
pub async fn delete(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let address = client_address(request.extensions());
    let form: DeleteForm = form_of(&state, request).await?;
    check_csrf(&jar, form.csrf.as_deref())?;
    let me = current(&state, &jar).await.ok_or(Error::Unauthorized)?;
    let deleted = account_deletion::delete_own_account(
        &state.ctx,
        &state.media,
        &me.actor,
        form.password.unwrap_or_default(),
        address,
    )
    .await;
    match deleted {
        Ok(_) => {
            let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
            let done = page(
                &state.settings.instance_name,
                "Account deleted",
                html! {
                    h1 { "Your account is deleted" }
                    p role="status" { "Everything of yours here is erased. Take care." }
                },
            );
            Ok((jar, respond(StatusCode::OK, done)).into_response())
        }
        Err(e) if e.status().is_client_error() => {
            let (jar, csrf) = csrf_token(&state, jar);
            let error = e.to_string();
            let markup = markup(&state, &csrf, &me.actor.username, Some(&error));
            Ok((jar, respond(e.status(), markup)).into_response())
        }
        Err(e) => Err(e),
    }
}
