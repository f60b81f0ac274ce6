//! A person's data in and out: the export archive (at once, or prepared in the background
//! with its progress shown), and the import of Mastodon's CSV files.

use super::{AppState, CurrentUser, entities::mastodon_time, params::ApiFormWithFiles};
use crate::{
    Error,
    db::{
        actors::ActorRow,
        exports::{self, ExportRow},
    },
    service::{export, import, media::Servable},
};
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use axum_extra::headers::{ContentLength, HeaderMapExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::io::ReaderStream;

/// `GET /api/hearth/v1/export`: everything the signed-in person owns here, as a ZIP archive
/// (see `service::export`), built while the request waits; for a large account, apps ask for
/// it to be prepared instead (`POST /api/hearth/v1/exports`).
pub async fn export(State(state): State<AppState>, user: CurrentUser) -> Result<Response, Error> {
    let (progress, _) = tokio::sync::watch::channel(export::Progress::default());
    let (file, size) =
        export::archive_file(&state.ctx, &state.media, user.actor.id, &progress).await?;
    Ok(zip_download(&user.actor.username, file, size))
}

/// A ZIP archive to save, named after the person, sent from its (temporary) file.
fn zip_download(username: &str, file: std::fs::File, size: u64) -> Response {
    let body = Body::from_stream(ReaderStream::new(tokio::fs::File::from_std(file)));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.typed_insert(ContentLength(size));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition(username));
    response
}

/// Makes an archive a download named after the person.
fn disposition(username: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("attachment; filename=\"hearth-{username}.zip\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The `Export` entity: an archive being prepared (with its progress), ready (with its URL
/// and size) or failed.
pub fn entity(state: &AppState, row: &ExportRow) -> Value {
    let percent = if row.state == exports::READY {
        100
    } else {
        (row.done * 100).checked_div(row.total).unwrap_or(0).min(99)
    };
    let url = row.file_name.as_ref().map(|_| {
        state
            .ctx
            .urls
            .path(&format!("/api/hearth/v1/exports/{}/archive", row.id))
            .to_string()
    });
    json!({
        "id": row.id.to_string(),
        "state": row.state,
        "progress": { "done": row.done, "total": row.total, "percent": percent },
        "requested_at": mastodon_time(row.requested_at.and_utc()),
        "expires_at": mastodon_time((row.requested_at + export::KEPT_FOR).and_utc()),
        "size": row.byte_size,
        "url": url,
    })
}

fn export_id(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// `POST /api/hearth/v1/exports`: asks for an archive of everything the signed-in person owns
/// here, prepared in the background; answers 202 with it, its progress at 0.
pub async fn request(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<(StatusCode, Json<Value>), Error> {
    let row = export::request(&state.ctx, &state.media, user.actor.id).await?;
    Ok((StatusCode::ACCEPTED, Json(entity(&state, &row))))
}

/// `GET /api/hearth/v1/exports`: the signed-in person's archives, newest first.
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, Error> {
    let rows = export::list(&state.ctx, user.actor.id).await?;
    Ok(Json(rows.iter().map(|row| entity(&state, row)).collect()))
}

/// `GET /api/hearth/v1/exports/{id}`: one of the signed-in person's archives.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let row = export::one(&state.ctx, user.actor.id, export_id(&id)?).await?;
    Ok(Json(entity(&state, &row)))
}

/// `GET /api/hearth/v1/exports/{id}/archive`: the ZIP of a ready archive, to its owner only
/// (ranges served, so a large download can resume).
pub async fn archive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    archive_download(&state, &user.actor, export_id(&id)?, &headers).await
}

/// A ready archive of `person`'s, from the media store.
pub async fn archive_download(
    state: &AppState,
    person: &ActorRow,
    id: i64,
    request_headers: &HeaderMap,
) -> Result<Response, Error> {
    let name = export::ready_file(&state.ctx, person.id, id).await?;
    let servable = Servable {
        name,
        content_type: "application/zip",
        public: false,
    };
    let mut response = super::media::file_response(state, servable, request_headers).await?;
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition(&person.username));
    Ok(response)
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
