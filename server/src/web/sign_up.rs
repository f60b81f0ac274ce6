//! `/auth/sign_up`: the page where a person asks for an account, agreeing to the clinic's
//! rules and privacy notice first. No JavaScript; the rules are the registration service's.

use super::{
    layout::{page, respond},
    session,
};
use crate::{
    Error,
    api::{ApiQuery, AppState, oauth::client_address},
    config::RegistrationMode,
    error::FieldErrors,
    service::{
        accounts::MIN_PASSWORD_CHARS,
        registration::{self, MAX_REASON_CHARS, SignUp},
    },
};
use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use axum_extra::extract::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

/// The sign-up form, as the page sends it (and as it is shown again after a refusal).
#[derive(Debug, Default, Deserialize)]
pub struct SignUpForm {
    csrf: Option<String>,
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    #[serde(default, deserialize_with = "crate::api::params::flag")]
    agreement: Option<bool>,
    reason: Option<String>,
    invite_code: Option<String>,
}

/// Query of the page: `?invite=CODE` from an invite link.
#[derive(Debug, Deserialize)]
pub struct SignUpQuery {
    invite: Option<String>,
}

/// A field's errors, linked to it by `aria-describedby`.
fn field_errors(errors: &FieldErrors, field: &str) -> Markup {
    html! {
        @for e in errors.of(field) {
            p.error id=(format!("{field}-error")) { (field_label(field)) " " (e.description) "." }
        }
    }
}

fn field_label(field: &str) -> &'static str {
    match field {
        "username" => "Username",
        "email" => "Email",
        "password" => "Password",
        "agreement" => "Agreement",
        "reason" => "Reason",
        "invite_code" => "Invite code",
        "locale" => "Language",
        _ => "This field",
    }
}

fn described_by(errors: &FieldErrors, field: &str, hint: Option<&str>) -> Option<String> {
    let mut ids: Vec<String> = hint.map(str::to_owned).into_iter().collect();
    if errors.of(field).next().is_some() {
        ids.push(format!("{field}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// The clinic's rules and privacy notice, which the agreement covers.
fn rules_and_notice(state: &AppState) -> Markup {
    let s = &state.settings;
    let notice = s.privacy_notice.trim();
    let notice_url = s.privacy_notice_url.trim();
    html! {
        @if !s.rules.is_empty() {
            h2 { "Rules" }
            ol { @for rule in &s.rules { li { (rule) } } }
        }
        @if !notice.is_empty() || !notice_url.is_empty() {
            h2 { "Privacy notice" }
            @for paragraph in notice.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                p { (paragraph) }
            }
            @if !notice_url.is_empty() {
                p { a href=(notice_url) { "Read the full privacy notice" } }
            }
        }
    }
}

fn form_markup(
    state: &AppState,
    mode: RegistrationMode,
    csrf: &str,
    form: &SignUpForm,
    errors: &FieldErrors,
) -> Markup {
    let domain = state.urls.domain();
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let show_invite = mode == RegistrationMode::Invite
        || form.invite_code.as_deref().is_some_and(|c| !c.is_empty());
    let title = if mode == RegistrationMode::Approval {
        "Ask for an account"
    } else {
        "Create an account"
    };
    page(
        &state.settings.instance_name,
        title,
        html! {
            h1 { (title) }
            @match mode {
                RegistrationMode::Approval => p { "A moderator of " (state.settings.instance_name)
                    " reads each request before the account can be used." },
                RegistrationMode::Invite => p { "Joining this server needs an invite code from the clinic." },
                _ => {},
            }
            @if !errors.is_empty() {
                p.error role="alert" { "Please correct the fields marked below." }
            }
            (rules_and_notice(state))
            form method="post" action="/auth/sign_up" {
                input type="hidden" name="csrf" value=(csrf);
                label for="username" { "Username" }
                p.muted #username-hint { "Letters, numbers and underscores. Others see it as @name@" (domain) "." }
                input #username type="text" name="username" value=(value(&form.username))
                    autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="30"
                    required aria-describedby=[described_by(errors, "username", Some("username-hint"))];
                (field_errors(errors, "username"))
                label for="email" { "Email (optional)" }
                input #email type="email" name="email" value=(value(&form.email)) autocomplete="email"
                    aria-describedby=[described_by(errors, "email", None)];
                (field_errors(errors, "email"))
                label for="password" { "Password" }
                p.muted #password-hint { "At least " (MIN_PASSWORD_CHARS) " characters." }
                input #password type="password" name="password" autocomplete="new-password"
                    minlength=(MIN_PASSWORD_CHARS) required
                    aria-describedby=[described_by(errors, "password", Some("password-hint"))];
                (field_errors(errors, "password"))
                @if show_invite {
                    label for="invite_code" { "Invite code" }
                    input #invite_code type="text" name="invite_code" value=(value(&form.invite_code))
                        autocapitalize="none" spellcheck="false" autocomplete="off"
                        required[mode == RegistrationMode::Invite]
                        aria-describedby=[described_by(errors, "invite_code", None)];
                    (field_errors(errors, "invite_code"))
                }
                @if mode == RegistrationMode::Approval {
                    label for="reason" { "Why do you want to join? (optional)" }
                    p.muted #reason-hint { "Only the moderators read this." }
                    textarea #reason name="reason" rows="4" maxlength=(MAX_REASON_CHARS)
                        aria-describedby=[described_by(errors, "reason", Some("reason-hint"))] {
                        (value(&form.reason))
                    }
                    (field_errors(errors, "reason"))
                }
                label.check for="agreement" {
                    input #agreement type="checkbox" name="agreement" value="true" required
                        checked[form.agreement == Some(true)]
                        aria-describedby=[described_by(errors, "agreement", None)];
                    " I have read and agree to the rules and the privacy notice"
                }
                (field_errors(errors, "agreement"))
                button.primary type="submit" { (title) }
            }
            p { "Already have an account? " a href="/auth/sign_in" { "Sign in" } }
        },
    )
}

fn closed_markup(state: &AppState) -> Markup {
    page(
        &state.settings.instance_name,
        "Registrations are closed",
        html! {
            h1 { "Registrations are closed" }
            p { "Accounts on this server are made by the clinic's staff. Ask your clinic if you would like one." }
            @if !state.settings.contact_email.is_empty() {
                p { "Contact: " (state.settings.contact_email) }
            }
            p { a href="/auth/sign_in" { "Sign in" } }
        },
    )
}

/// `GET /auth/sign_up`: the sign-up form (with the invite code of an invite link), or, when
/// registrations are closed, a page saying so.
pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiQuery(query): ApiQuery<SignUpQuery>,
) -> Response {
    let mode = state.settings.registration_mode();
    if mode == RegistrationMode::Closed {
        return respond(StatusCode::OK, closed_markup(&state));
    }
    let (jar, csrf) = session::csrf_token(&state, jar);
    let form = SignUpForm {
        invite_code: query.invite,
        ..SignUpForm::default()
    };
    let markup = form_markup(&state, mode, &csrf, &form, &FieldErrors::default());
    (jar, respond(StatusCode::OK, markup)).into_response()
}

/// `POST /auth/sign_up`: asks for the account. Approved at once, the person is signed in in
/// this browser; otherwise the page says the account waits for a moderator.
pub async fn submit(State(state): State<AppState>, jar: CookieJar, request: Request) -> Response {
    let address = client_address(request.extensions());
    let form = match session::form_of::<SignUpForm>(&state, request).await {
        Ok(form) => form,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = session::check_csrf(&jar, form.csrf.as_deref()) {
        return e.into_response();
    }
    let mode = state.settings.registration_mode();
    let password = form.password.clone().unwrap_or_default();
    let sign_up = SignUp {
        username: form.username.clone().unwrap_or_default(),
        email: form.email.clone(),
        password: password.clone(),
        agreement: form.agreement.unwrap_or(false),
        locale: None,
        reason: form.reason.clone(),
        invite_code: form.invite_code.clone(),
        address,
    };
    let registered = match registration::register(&state.ctx, mode, sign_up, None).await {
        Ok(registered) => registered,
        Err(Error::Validation(errors)) => {
            let (jar, csrf) = session::csrf_token(&state, jar);
            let markup = form_markup(&state, mode, &csrf, &form, &errors);
            return (jar, respond(StatusCode::UNPROCESSABLE_ENTITY, markup)).into_response();
        }
        Err(Error::Forbidden(_)) if mode == RegistrationMode::Closed => {
            return respond(StatusCode::FORBIDDEN, closed_markup(&state));
        }
        Err(e) => return e.into_response(),
    };
    let handle = registered.actor.username;
    let name = &state.settings.instance_name;
    if !registered.approved {
        let markup = page(
            name,
            "Waiting for approval",
            html! {
                h1 { "Thank you – your request was sent" }
                p { "Your account @" (handle) " is waiting for a moderator's approval. "
                    "Once it is approved you can sign in here or in any Mastodon app." }
            },
        );
        return respond(StatusCode::OK, markup);
    }
    let jar = match session::start(&state, jar, &handle, password, address).await {
        Ok((jar, _)) => jar,
        Err(e) => return e.into_response(),
    };
    let markup = page(
        name,
        "Welcome",
        html! {
            h1 { "Welcome, @" (handle) }
            p { "Your account is ready and you are signed in." }
            p { "To take part, use any Mastodon app (for example Tusky, Ice Cubes, Elk or Phanpy): "
                "sign in with this server's address, " code { (state.urls.domain()) } "." }
            p { a href="/" { "See the support groups" } " · " a href="/settings/sessions" { "Your sessions and apps" } }
        },
    );
    (jar, respond(StatusCode::OK, markup)).into_response()
}
