//! Server-rendered pages for people in a browser: the home page, public pages of people and
//! groups, sign-in and consent for apps, one's own sessions, changing one's password, and the
//! admin pages. No JavaScript; templates are `maud`, which escapes everything it is given.

mod admin;
mod authorize;
mod delete_account;
mod export;
mod home;
mod layout;
mod password;

pub(crate) mod session;
mod sign_up;

pub use layout::html_errors;

use crate::api::AppState;
use axum::{
    Router,
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};

const AVATAR_PNG: &[u8] = include_bytes!("../../static/avatar.png");
const HEADER_PNG: &[u8] = include_bytes!("../../static/header.png");

/// Routes of the web pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/{handle}", get(home::profile))
        .route("/tags/{name}", get(home::tag))
        .route(
            "/oauth/authorize",
            get(authorize::show).post(authorize::decide),
        )
        .route(
            "/auth/sign_in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/auth/sign_out", post(session::sign_out))
        .route("/auth/sign_up", get(sign_up::show).post(sign_up::submit))
        .route("/settings/sessions", get(session::sessions))
        .route(
            "/settings/password",
            get(password::show).post(password::change),
        )
        .route(
            "/settings/delete",
            get(delete_account::show).post(delete_account::delete),
        )
        .route("/settings/export", get(export::show).post(export::request))
        .route("/settings/export/{id}/archive", get(export::download))
        .route("/settings/sessions/{id}/revoke", post(session::revoke))
        .route("/admin", get(admin::dashboard))
        .route("/admin/federation", get(admin::federation))
        .route("/admin/federation/mode", post(admin::set_mode))
        .route("/admin/federation/blocks", post(admin::block))
        .route("/admin/federation/blocks.csv", get(admin::export))
        .route("/admin/federation/blocks/{id}/remove", post(admin::unblock))
        .route("/admin/federation/allows", post(admin::allow))
        .route("/admin/federation/allows/{id}/remove", post(admin::unallow))
        .route("/admin/federation/import", post(admin::import))
        .route("/admin/reports", get(admin::reports_page))
        .route("/admin/reports/{id}/resolve", post(admin::resolve))
        .route("/admin/accounts", get(admin::accounts_page))
        .route("/admin/accounts/{id}/{act}", post(admin::account_act))
        .route("/admin/clinicians/{id}", post(admin::verify_clinician))
        .route(
            "/admin/clinicians/{id}/revoke",
            post(admin::revoke_clinician),
        )
        .route(
            "/admin/announcements",
            get(admin::announcements_page).post(admin::publish_announcement),
        )
        .route(
            "/admin/announcements/{id}/withdraw",
            post(admin::withdraw_announcement),
        )
        .route("/admin/audit", get(admin::audit_page))
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
