//! A person takes their data from the settings pages: an archive prepared in the background,
//! its progress shown while it is written, then downloaded.

use super::layout::{page, respond};
use super::session::{CsrfForm, check_csrf, csrf_token, current, form_of};
use crate::{
    Error,
    api::AppState,
    db::exports::{self, ExportRow},
    service::export,
};
use axum::{
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use maud::{Markup, html};

/// `GET /settings/export`: the person's archives, with a button to prepare a new one; the page
/// reloads itself every two seconds while one is being prepared.
pub async fn show(State(state): State<AppState>, jar: CookieJar) -> Result<Response, Error> {
    let Some(me) = current(&state, &jar).await else {
        return Ok(Redirect::to("/auth/sign_in").into_response());
    };
    let (jar, csrf) = csrf_token(&state, jar);
    let archives = export::list(&state.ctx, me.actor.id).await?;
    let preparing = archives.iter().any(|a| a.state == exports::PREPARING);
    let markup = page(
        &state.settings.instance_name,
        "Your data",
        html! {
            h1 { "Your data" }
            p { "An archive holds your profile, your posts with their images, whom you follow, \
                 the groups you belong to, your bookmarks, likes, blocks and mutes: a ZIP file \
                 that Mastodon and other servers can read. It is kept for a week." }
            form method="post" action="/settings/export" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "Prepare an archive of my data" }
            }
            @for archive in &archives {
                section.card { (describe(archive)) }
            }
        },
    );
    let mut response = respond(StatusCode::OK, markup);
    if preparing {
        response
            .headers_mut()
            .insert("refresh", HeaderValue::from_static("2"));
    }
    Ok((jar, response).into_response())
}

/// One archive: its progress, its download, or that it failed.
fn describe(archive: &ExportRow) -> Markup {
    let requested = archive.requested_at.format("%Y-%m-%d %H:%M UTC");
    html! {
        h2 { "Requested " (requested) }
        @match archive.state.as_str() {
            exports::READY => {
                p {
                    a href=(format!("/settings/export/{}/archive", archive.id)) { "Download" }
                    " (" (megabytes(archive.byte_size.unwrap_or(0))) ")"
                }
            }
            exports::PREPARING => {
                p { "Being prepared: " (archive.done) " of " (archive.total) " items written." }
                progress value=(archive.done) max=(archive.total.max(1)) {}
            }
            _ => p { "Preparing it failed. You can ask for another." },
        }
    }
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// `POST /settings/export`: asks for a new archive, then shows its progress.
pub async fn request(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
) -> Result<Response, Error> {
    let form: CsrfForm = form_of(&state, request).await?;
    check_csrf(&jar, form.csrf.as_deref())?;
    let me = current(&state, &jar).await.ok_or(Error::Unauthorized)?;
    export::request(&state.ctx, &state.media, me.actor.id).await?;
    Ok(Redirect::to("/settings/export").into_response())
}

/// `GET /settings/export/{id}/archive`: a ready archive, to its owner.
pub async fn download(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let Some(me) = current(&state, &jar).await else {
        return Ok(Redirect::to("/auth/sign_in").into_response());
    };
    let id = id
        .parse()
        .map_err(|_| Error::not_found("Record not found"))?;
    crate::api::exports::archive_download(&state, &me.actor, id, &headers).await
}
