//! Server-rendered pages: for now, the public profile page and default images.

use crate::{Error, api::AppState, db::actors};
use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{Html, IntoResponse, Response},
    routing::get,
};

const AVATAR_PNG: &[u8] = include_bytes!("../../static/avatar.png");
const HEADER_PNG: &[u8] = include_bytes!("../../static/header.png");

/// Routes of the web pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{handle}", get(profile))
        .route("/static/avatar.png", get(|| async { png(AVATAR_PNG) }))
        .route("/static/header.png", get(|| async { png(HEADER_PNG) }))
}

fn png(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /@{name}`: the public profile page of a local person or group.
async fn profile(
    State(state): State<AppState>,
    Path(handle): Path<String>,
) -> Result<Response, Error> {
    let name = handle
        .strip_prefix('@')
        .ok_or_else(|| Error::not_found("Record not found"))?
        .to_owned();
    let row = state
        .db
        .run(move |conn| Ok(actors::local_by_username(conn, &name, None)?))
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let display = escape(row.display_name.as_deref().unwrap_or(&row.username));
    let handle = escape(&format!("@{}@{}", row.username, state.urls.domain()));
    // The summary was escaped or sanitised when it was stored.
    let summary = row.summary.clone().unwrap_or_default();
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{display} ({handle})</title>\
         <link rel=\"alternate\" type=\"application/activity+json\" href=\"{ap_id}\">\
         </head><body><main><h1>{display}</h1><p>{handle}</p>{summary}\
         <p>Follow from any Fediverse account by searching for {handle}.</p></main></body></html>\n",
        ap_id = escape(&row.ap_id),
    );
    Ok(Html(page).into_response())
}
