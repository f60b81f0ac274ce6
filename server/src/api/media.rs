//! Mastodon media endpoints, and the stored files themselves (`/media/{file}`).

use super::{
    ApiForm, AppState, CurrentUser, MaybeUser,
    entities::MediaAttachment,
    objects::{RequestHead, signer_domain},
};
use crate::{
    Error,
    service::{
        media::{self as rules, Servable, Upload},
        media_files::{Read, StoredFile},
        posts::Viewer,
        remote_media::{self, Proxied},
    },
};
use axum::{
    Json,
    body::Body,
    extract::{
        DefaultBodyLimit, FromRequestParts, Multipart, Path, State,
        multipart::{Field, MultipartError, MultipartRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::{
    extract::cookie::CookieJar,
    headers::{ContentLength, HeaderMapExt, IfModifiedSince, LastModified},
};
use serde::Deserialize;
use std::time::SystemTime;

/// The body limit of the upload routes: the largest file accepted, plus room for the other
/// fields. (axum's default of 2 MB would refuse most photos.)
pub fn body_limit(state: &AppState) -> DefaultBodyLimit {
    let limit = state.media.max_bytes().saturating_add(64 * 1024);
    DefaultBodyLimit::max(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// The body limit of `update_credentials`: an avatar and a header of the largest size
/// accepted, plus room for the other fields.
pub fn profile_body_limit(state: &AppState) -> DefaultBodyLimit {
    let limit = state
        .media
        .max_bytes()
        .saturating_mul(2)
        .saturating_add(64 * 1024);
    DefaultBodyLimit::max(usize::try_from(limit).unwrap_or(usize::MAX))
}

fn id_param(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// A multipart body that could not be read; one over the body limit is a file too large.
fn multipart_error(state: &AppState, e: &MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        state.media.too_large()
    } else {
        Error::Unprocessable(format!("Validation failed: {}", e.body_text()))
    }
}

/// A text field of a multipart body.
async fn text(state: &AppState, field: Field<'_>) -> Result<String, Error> {
    field.text().await.map_err(|e| multipart_error(state, &e))
}

/// `POST /api/v2/media` and `POST /api/v1/media`: upload an image (multipart `file`,
/// `description`, `focus`). Answers once it is processed (200), as Mastodon does for images.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<MediaAttachment>, Error> {
    let mut multipart =
        multipart.map_err(|e| Error::Unprocessable(format!("Validation failed: {e}")))?;
    let mut upload = Upload::default();
    let mut has_file = false;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&state, &e))?
    {
        match field.name() {
            Some("file") => {
                has_file = true;
                // Read piece by piece, so an oversized file is refused as soon as it is.
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| multipart_error(&state, &e))?
                {
                    upload.bytes.extend_from_slice(&chunk);
                    if upload.bytes.len() as u64 > state.media.max_bytes() {
                        return Err(state.media.too_large());
                    }
                }
            }
            Some("description") => upload.description = Some(text(&state, field).await?),
            Some("focus") => upload.focus = Some(text(&state, field).await?),
            _ => {}
        }
    }
    if !has_file {
        return Err(Error::Unprocessable(
            "Validation failed: File can't be blank".into(),
        ));
    }
    let row = rules::upload(&state.ctx, &state.media, user.actor.id, upload).await?;
    Ok(Json(MediaAttachment::new(&row, &state.urls)))
}

/// `GET /api/v1/media/{id}`: one of one's own images not yet in a post.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<MediaAttachment>, Error> {
    let row = rules::show(&state.ctx, user.actor.id, id_param(&id)?).await?;
    Ok(Json(MediaAttachment::new(&row, &state.urls)))
}

/// Body of `PUT /api/v1/media/{id}`: fields left out stay as they were.
#[derive(Debug, Default, Deserialize)]
pub struct MediaForm {
    description: Option<String>,
    focus: Option<String>,
}

/// `PUT /api/v1/media/{id}`: change the alt text or focal point of one's own image, before
/// it is posted.
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<MediaForm>,
) -> Result<Json<MediaAttachment>, Error> {
    let row = rules::update(
        &state.ctx,
        user.actor.id,
        id_param(&id)?,
        form.description,
        form.focus,
    )
    .await?;
    Ok(Json(MediaAttachment::new(&row, &state.urls)))
}

/// Who asks for a file: the person of a bearer token or of a browser session (an `<img>` on
/// a page sends the cookie, not a token), and the server of a verified signed fetch (a
/// member's server fetching the `Document` of a members-only post). A signature that does not
/// verify counts as none.
#[derive(Debug)]
pub struct MediaViewer(pub Viewer);

impl FromRequestParts<AppState> for MediaViewer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let mut viewer = Viewer {
            person: MaybeUser::from_request_parts(parts, state).await?.id(),
            server: None,
        };
        if viewer.person.is_none() {
            let jar = CookieJar::from_headers(&parts.headers);
            viewer.person = crate::web::session::current(state, &jar)
                .await
                .map(|signed_in| signed_in.actor.id);
        }
        if parts.headers.contains_key("signature") {
            let head = RequestHead {
                method: parts.method.clone(),
                uri: parts.uri.clone(),
                headers: parts.headers.clone(),
            };
            viewer.server = signer_domain(state, &head).await?;
        }
        Ok(Self(viewer))
    }
}

/// `GET /media/{file}`: a stored image or thumbnail, to those who may see it (see
/// [`rules::servable`]).
pub async fn serve(
    State(state): State<AppState>,
    MediaViewer(viewer): MediaViewer,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let servable = rules::servable(&state.ctx, viewer, file).await?;
    file_response(&state, servable, &headers).await
}

/// `GET /media/proxy/{token}`: the copy of another server's image (an avatar, a header, an
/// attachment of a remote post), fetched on first request (see [`remote_media::serve`]).
pub async fn proxy(
    State(state): State<AppState>,
    MediaViewer(viewer): MediaViewer,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    proxied(state, viewer, token, false, headers).await
}

/// `GET /media/proxy/{token}/small`: its thumbnail.
pub async fn proxy_small(
    State(state): State<AppState>,
    MediaViewer(viewer): MediaViewer,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    proxied(state, viewer, token, true, headers).await
}

async fn proxied(
    state: AppState,
    viewer: Viewer,
    token: String,
    small: bool,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let data = state.federation.to_request_data();
    match remote_media::serve(&state.ctx, &state.media, &data, viewer, token, small).await? {
        Proxied::File(servable) => file_response(&state, servable, &headers).await,
        Proxied::Placeholder(url) => {
            let mut response = Redirect::to(url.as_str()).into_response();
            // The original is asked for again after a while.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=600"),
            );
            Ok(response)
        }
    }
}

/// A stored file, from the local directory or the bucket alike, with its type and caching
/// headers; `304 Not Modified` when the reader's copy (`If-Modified-Since`) is current.
pub(crate) async fn file_response(
    state: &AppState,
    servable: Servable,
    request_headers: &HeaderMap,
) -> Result<Response, Error> {
    let since = request_headers
        .typed_get::<IfModifiedSince>()
        .map(SystemTime::from);
    let range = request_headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let send = |file: StoredFile| {
        let mut response = Body::from_stream(file.body).into_response();
        let headers = response.headers_mut();
        headers.typed_insert(ContentLength(file.size));
        headers.typed_insert(LastModified::from(file.last_modified));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(servable.content_type),
        );
        response
    };
    let content_range = |value: String| {
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("bytes */0"))
    };
    let mut response = match state.media.read(&servable.name, since, range).await? {
        Read::File(file) => send(file),
        Read::Part {
            file,
            first,
            last,
            total,
        } => {
            let mut response = send(file);
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                content_range(format!("bytes {first}-{last}/{total}")),
            );
            response
        }
        Read::Unsatisfiable { total } => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                content_range(format!("bytes */{total}")),
            );
            response
        }
        Read::NotModified => StatusCode::NOT_MODIFIED.into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Files never change (a new upload gets a new name). A file not everyone may see is
    // kept by the viewer's own cache only, and never across tokens or sessions.
    let cache = if servable.public {
        "public, max-age=31536000, immutable"
    } else {
        "private, max-age=3600"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if !servable.public {
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Authorization, Cookie"),
        );
    }
    Ok(response)
}
