//! A person's data in and out: the export archive, and the import of Mastodon's CSV files.

use super::{AppState, CurrentUser, params::ApiFormWithFiles};
use crate::{
    Error,
    service::{export, import},
};
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

/// `GET /api/hearth/v1/export`: everything the signed-in person owns here, as a ZIP archive
/// (see `service::export`).
pub async fn export(State(state): State<AppState>, user: CurrentUser) -> Result<Response, Error> {
    let archive = export::archive(&state.ctx, &state.media, user.actor.id).await?;
    Ok(zip_download(&user.actor.username, archive))
}

/// A ZIP archive to save, named after the person.
pub fn zip_download(username: &str, archive: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"hearth-{username}.zip\"");
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        archive,
    )
        .into_response()
}

/// Body of `POST /api/hearth/v1/import`.
#[derive(Debug, Deserialize)]
pub struct ImportForm {
    /// `following`, `blocking` or `muting` (Mastodon's names).
    #[serde(rename = "type", default)]
    kind: String,
}

/// `POST /api/hearth/v1/import`: a CSV file (`data`, multipart) of accounts to follow, block
/// or mute (`type`), as Mastodon's export writes them. Answers what was done and which
/// addresses could not be.
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiFormWithFiles { form, files }: ApiFormWithFiles<ImportForm>,
) -> Result<Json<import::Imported>, Error> {
    let kind: import::ImportKind = form.kind.parse()?;
    let file = files
        .into_iter()
        .find(|(name, _)| name == "data")
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| {
            Error::Unprocessable("Validation failed: the CSV file (data) is missing".into())
        })?;
    let data = state.federation.to_request_data();
    Ok(Json(
        import::import(&state.ctx, &data, &user.actor, kind, &file).await?,
    ))
}
