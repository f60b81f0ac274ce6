//! A person downloads their data from the settings pages.

use super::session::current;
use crate::{Error, api::AppState, service::export};
use axum::{
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;

/// `GET /settings/export`: the signed-in person's archive (see `service::export`), to save.
pub async fn download(State(state): State<AppState>, jar: CookieJar) -> Result<Response, Error> {
    let Some(me) = current(&state, &jar).await else {
        return Ok(Redirect::to("/auth/sign_in").into_response());
    };
    let archive = export::archive(&state.ctx, &state.media, me.actor.id).await?;
    Ok(crate::api::exports::zip_download(
        &me.actor.username,
        archive,
    ))
}
