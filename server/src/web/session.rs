//! A browser's sign-in: the session cookie, CSRF protection of forms, signing in and out, and
//! the page where a person sees and revokes their sessions and apps.

use super::layout::{page, respond};
use crate::{
    Error,
    api::{AppState, oauth::client_address},
    db::tokens,
    service::{accounts, oauth, scopes::Scopes, sign_in},
};
use axum::{
    extract::{Path, Request, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::TimeDelta;
use maud::{Markup, html};
use serde::Deserialize;

/// The cookie holding a browser's session token.
pub(super) const SESSION_COOKIE: &str = "hearth_session";
/// The cookie holding the CSRF token forms must repeat.
const CSRF_COOKIE: &str = "hearth_csrf";
/// How long a browser stays signed in.
const SESSION_LIFETIME: TimeDelta = TimeDelta::days(30);

fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.urls.base().scheme() == "https")
        .build()
}

/// The person signed in in this browser, if any.
pub async fn current(state: &AppState, jar: &CookieJar) -> Option<accounts::SignedIn> {
    let token = jar.get(SESSION_COOKIE)?.value().to_owned();
    accounts::authenticate(&state.db, &token, &[tokens::KIND_SESSION])
        .await
        .ok()
}

/// The browser's CSRF token, made (and set as a cookie) if it has none: a form proves it
/// comes from this site's page by repeating it (double-submit cookie).
pub fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(token) = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()) {
        return (jar, token);
    }
    let token = oauth::new_secret();
    (jar.add(cookie(state, CSRF_COOKIE, token.clone())), token)
}

/// Refuses a form whose CSRF token is not the browser's.
pub fn check_csrf(jar: &CookieJar, submitted: Option<&str>) -> Result<(), Error> {
    match (jar.get(CSRF_COOKIE), submitted) {
        (Some(cookie), Some(sent)) if !sent.is_empty() && cookie.value() == sent => Ok(()),
        _ => Err(Error::Forbidden(
            "This form has expired or did not come from this site; reload the page and try again"
                .into(),
        )),
    }
}

/// Signs a person in: checks the password (limited per account and address) and starts a
/// session in this browser.
pub async fn start(
    state: &AppState,
    jar: CookieJar,
    handle: &str,
    password: String,
    address: Option<std::net::IpAddr>,
) -> Result<(CookieJar, i64), Error> {
    let (actor, _) = sign_in::sign_in(
        &state.db,
        &state.ctx.sign_in_limits,
        handle,
        password,
        address,
    )
    .await?;
    let session = oauth::issue(
        &state.db,
        None,
        Some(actor.id),
        Scopes::parse("read write follow")?,
        tokens::KIND_SESSION,
        Some(SESSION_LIFETIME),
    )
    .await?;
    let mut session_cookie = cookie(state, SESSION_COOKIE, session.access_token);
    session_cookie.set_max_age(time::Duration::days(SESSION_LIFETIME.num_days()));
    Ok((jar.add(session_cookie), actor.id))
}

/// The sign-in fields, for the sign-in and consent pages.
pub fn credentials_fields(handle: &str) -> Markup {
    html! {
        label for="handle" { "Username" }
        input #handle type="text" name="handle" value=(handle) autocomplete="username"
            autocapitalize="none" spellcheck="false" required;
        label for="password" { "Password" }
        input #password type="password" name="password" autocomplete="current-password" required;
    }
}

/// The form of the sign-in page.
#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    handle: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

fn sign_in_markup(state: &AppState, csrf: &str, handle: &str, error: Option<&str>) -> Markup {
    page(
        &state.settings.instance_name,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action="/auth/sign_in" {
                input type="hidden" name="csrf" value=(csrf);
                (credentials_fields(handle))
                button.primary type="submit" { "Sign in" }
            }
            @if state.settings.registration_mode() != crate::config::RegistrationMode::Closed {
                p { "No account yet? " a href="/auth/sign_up" { "Create one" } }
            }
        },
    )
}

/// `GET /auth/sign_in`: the sign-in page.
pub async fn sign_in_page(State(state): State<AppState>, jar: CookieJar) -> Response {
    let (jar, csrf) = csrf_token(&state, jar);
    (
        jar,
        respond(StatusCode::OK, sign_in_markup(&state, &csrf, "", None)),
    )
        .into_response()
}

/// `POST /auth/sign_in`: signs in, then shows one's sessions.
pub async fn sign_in(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let address = client_address(request.extensions());
    let form = match form_of::<SignInForm>(&state, request).await {
        Ok(form) => form,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = check_csrf(&jar, form.csrf.as_deref()) {
        return e.into_response();
    }
    let handle = form.handle.unwrap_or_default();
    let (jar, csrf) = csrf_token(&state, jar);
    match start(
        &state,
        jar.clone(),
        &handle,
        form.password.unwrap_or_default(),
        address,
    )
    .await
    {
        Ok((jar, _)) => (jar, Redirect::to("/settings/sessions")).into_response(),
        Err(e) => {
            let status = e.status();
            let markup = sign_in_markup(&state, &csrf, &handle, Some(&e.to_string()));
            (jar, respond(status, markup)).into_response()
        }
    }
}

/// Reads a urlencoded form body.
pub async fn form_of<T: serde::de::DeserializeOwned>(
    state: &AppState,
    request: Request,
) -> Result<T, Error> {
    let crate::api::ApiForm(form) = <crate::api::ApiForm<T> as axum::extract::FromRequest<
        AppState,
    >>::from_request(request, state)
    .await?;
    Ok(form)
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// `POST /auth/sign_out`: ends this browser's session.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let form: CsrfForm = form_of(&state, request).await?;
    check_csrf(&jar, form.csrf.as_deref())?;
    if let Some(signed_in) = current(&state, &jar).await {
        let id = signed_in.token_id;
        state
            .db
            .run(move |conn| Ok(tokens::delete(conn, id)?))
            .await?;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/")).into_response())
}

fn describe(kind: &str, app: Option<&str>) -> String {
    match (kind, app) {
        (_, Some(app)) => format!("App: {app}"),
        (tokens::KIND_SESSION, None) => "Browser session".into(),
        _ => "Command-line token".into(),
    }
}

/// `GET /settings/sessions`: the person's browser sessions, apps and tokens, each revocable.
pub async fn sessions(State(state): State<AppState>, jar: CookieJar) -> Result<Response, Error> {
    let Some(me) = current(&state, &jar).await else {
        return Ok(Redirect::to("/auth/sign_in").into_response());
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let user_id = me.actor.id;
    let list = state
        .db
        .run(move |conn| Ok(tokens::of_user(conn, user_id)?))
        .await?;
    let markup = page(
        &state.settings.instance_name,
        "Your sessions and apps",
        html! {
            h1 { "Your sessions and apps" }
            p.muted { "Signed in as @" (me.actor.username) ". Revoking signs that app or browser out at once." }
            @for (token, app) in &list {
                section.card {
                    h2 { (describe(&token.kind, app.as_deref())) }
                    p { "Since " (token.created_at.format("%Y-%m-%d %H:%M UTC")) " · may " (token.scopes) }
                    @if token.id == me.token_id { p.muted { "This browser." } }
                    form method="post" action=(format!("/settings/sessions/{}/revoke", token.id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Revoke" }
                    }
                }
            }
            p { a href="/settings/password" { "Change your password" } }
            p { a href="/settings/export" { "Download your data" } }
            p { a href="/settings/delete" { "Delete your account" } }
            form method="post" action="/auth/sign_out" {
                input type="hidden" name="csrf" value=(csrf);
                button.secondary type="submit" { "Sign out" }
            }
        },
    );
    Ok((jar, respond(StatusCode::OK, markup)).into_response())
}

/// `POST /settings/sessions/{id}/revoke`: revokes one of one's own tokens; an app's other
/// tokens for this person go with it.
pub async fn revoke(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Error> {
    let form: CsrfForm = form_of(&state, request).await?;
    check_csrf(&jar, form.csrf.as_deref())?;
    let me = current(&state, &jar).await.ok_or(Error::Unauthorized)?;
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("Record not found"))?;
    let user_id = me.actor.id;
    state
        .db
        .run(move |conn| {
            conn.write_transaction(|conn| {
                let token = tokens::of_user(conn, user_id)?
                    .into_iter()
                    .map(|(t, _)| t)
                    .find(|t| t.id == id)
                    .ok_or_else(|| Error::not_found("Record not found"))?;
                match token.app_id {
                    Some(app_id) => tokens::delete_for_app(conn, user_id, app_id).map(|_| ())?,
                    None => tokens::delete(conn, token.id).map(|_| ())?,
                }
                Ok(())
            })
        })
        .await?;
    Ok(Redirect::to("/settings/sessions").into_response())
}
