//! Images of other servers, served through Hearth so that people's apps never contact another
//! server (which would tell it their address).
//!
//! Remote avatars, headers and attachments of remote posts are shown to apps as URLs here,
//! `/media/proxy/<token>` with a random token. The first request fetches the original through
//! the outgoing client and its address guard (signed, size-limited, images only), re-encodes
//! it with the upload pipeline ([`MediaStore::store_image`]: no metadata survives) and keeps
//! it; later requests get the stored copy. Concurrent first requests wait for one fetch.

use super::{
    Context, Urls,
    media::{DESCRIPTION_LIMIT, MediaStore, Servable, content_type_of, post_visibility},
    posts::Viewer,
};
use crate::{
    Error,
    db::{
        AnyConnection,
        remote_media::{self, Purpose, RemoteMediaRow, StoredCopy},
    },
};
use activitypub_federation::config::Data;
use chrono::{TimeDelta, Utc};
use hearth_federation::{
    FederationData, FederationError,
    media_fetch::fetch_image,
    protocol::{attachment::Attachment, post::PostObject},
};

/// How long after a failed fetch an image is not asked for again.
const RETRY_AFTER_FAILURE: TimeDelta = TimeDelta::minutes(10);
/// Most images kept of one remote post (Mastodon sends up to 4, Misskey up to 16).
pub const MAX_PER_POST: usize = 8;
/// Longest remote URL kept.
const MAX_URL_LENGTH: usize = 2048;

/// The URL here of a remote image (its thumbnail with `small`).
pub fn proxy_url(urls: &Urls, token: &str, small: bool) -> url::Url {
    let suffix = if small { "/small" } else { "" };
    urls.path(&format!("/media/proxy/{token}{suffix}"))
}

/// Whether an attachment is an image Hearth may show.
fn is_image(attachment: &Attachment) -> bool {
    match attachment.media_type.as_deref() {
        Some(media_type) => media_type.starts_with("image/"),
        None => attachment.kind == "Image",
    }
}

/// A blurhash as Mastodon makes them: short, in its base-83 alphabet. Anything else is
/// dropped (it is shown to apps, which decode it).
fn valid_blurhash(hash: &str) -> bool {
    (6..=100).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"#$%*+,-.:;=?@[]^_{|}~".contains(&b))
}

/// Rows for the images attached to a remote post, as its server describes them (nothing is
/// fetched until someone looks): images only, at most [`MAX_PER_POST`].
pub fn attachment_rows(post: &PostObject) -> Vec<RemoteMediaRow> {
    post.attachment
        .iter()
        .filter(|a| is_image(a))
        .filter_map(|a| Some((a, a.url.as_ref()?)))
        .filter(|(_, url)| {
            matches!(url.scheme(), "https" | "http") && url.as_str().len() <= MAX_URL_LENGTH
        })
        .take(MAX_PER_POST)
        .map(|(attachment, url)| {
            let mut row = RemoteMediaRow::new(url.as_str(), Purpose::Attachment);
            row.description = attachment
                .name
                .as_deref()
                .map(|d| d.trim().chars().take(DESCRIPTION_LIMIT).collect::<String>())
                .filter(|d| !d.is_empty());
            row.blurhash = attachment.blurhash.clone().filter(|h| valid_blurhash(h));
            let dimension = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
            row.width = dimension(attachment.width);
            row.height = dimension(attachment.height);
            if let Some([x, y]) = attachment.focal_point
                && x.is_finite()
                && y.is_finite()
            {
                (row.focus_x, row.focus_y) = (x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0));
            }
            row
        })
        .collect()
}

/// Stores the images of the remote post `post_id` as `post` describes them, in the post's
/// write; on an edit, a changed list replaces the old one (which the clean-up removes).
pub fn store_attachments(
    conn: &mut AnyConnection,
    post_id: i64,
    post: &PostObject,
    edit: bool,
) -> Result<(), Error> {
    let mut rows = attachment_rows(post);
    if edit {
        let known: Vec<String> = remote_media::for_post(conn, post_id)?
            .into_iter()
            .map(|r| r.remote_url)
            .collect();
        let sent: Vec<&str> = rows.iter().map(|r| r.remote_url.as_str()).collect();
        if known == sent {
            return Ok(());
        }
        remote_media::detach_from_post(conn, post_id)?;
    }
    for row in &mut rows {
        row.post_id = Some(post_id);
    }
    Ok(remote_media::insert(conn, &rows)?)
}

/// What a request for a remote image gets.
#[derive(Debug)]
pub enum Proxied {
    /// The stored copy.
    File(Servable),
    /// An avatar or header that could not be fetched: the default image here instead.
    Placeholder(url::Url),
}

/// The remote image `token` (its thumbnail with `small`), if `viewer` may see it: avatars and
/// headers anyone, an attachment those who may see its post. Fetched and stored on first
/// request. Anything hidden or unknown is "not found".
pub async fn serve(
    ctx: &Context,
    store: &MediaStore,
    data: &Data<FederationData>,
    viewer: Viewer,
    token: String,
    small: bool,
) -> Result<Proxied, Error> {
    let not_found = || Error::not_found("Record not found");
    if token.len() != 32
        || !token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(not_found());
    }
    let lookup = token.clone();
    let (row, public) = ctx
        .db
        .run(move |conn| {
            let Some(row) = remote_media::by_token(conn, &lookup)? else {
                return Ok(None);
            };
            let (visible, public) = match (row.actor_id, row.post_id) {
                (Some(_), _) if row.is_profile_image() => (true, true),
                (_, Some(post_id)) if !row.is_profile_image() => {
                    post_visibility(conn, post_id, &viewer)?
                }
                _ => (false, false),
            };
            Ok(visible.then_some((row, public)))
        })
        .await?
        .ok_or_else(not_found)?;
    let media_host = hearth_federation::protocol::authority(&remote_url(&row)?);
    if ctx.policy.current().rejects_media(&media_host) {
        return if row.is_profile_image() {
            Ok(Proxied::Placeholder(placeholder(ctx, &row)))
        } else {
            Err(not_found())
        };
    }
    let row = match row.file_name {
        Some(_) => row,
        None => match fetch_once(ctx, store, data, row.clone()).await {
            Ok(row) => row,
            Err(e) if row.is_profile_image() => {
                tracing::info!(error = ?e.to_string(), "a remote avatar or header could not be fetched");
                return Ok(Proxied::Placeholder(placeholder(ctx, &row)));
            }
            Err(e) => return Err(e),
        },
    };
    let file = if small {
        row.thumbnail_file_name
    } else {
        row.file_name
    }
    .ok_or_else(|| Error::Internal("a fetched remote image without its file".into()))?;
    Ok(Proxied::File(Servable {
        content_type: content_type_of(&file),
        name: file,
        public,
    }))
}

/// The default image standing in for a remote avatar or header.
fn placeholder(ctx: &Context, row: &RemoteMediaRow) -> url::Url {
    if row.purpose == Purpose::Avatar.as_str() {
        ctx.urls.default_avatar().clone()
    } else {
        ctx.urls.default_header().clone()
    }
}

/// The row with its stored copy: fetched now unless a concurrent request fetches it, or did.
async fn fetch_once(
    ctx: &Context,
    store: &MediaStore,
    data: &Data<FederationData>,
    row: RemoteMediaRow,
) -> Result<RemoteMediaRow, Error> {
    let lock = store.fetch_lock(&row.token);
    let _fetching = lock.lock().await;
    let result = fetch_and_store(ctx, store, data, row.clone()).await;
    store.fetch_done(&row.token);
    result
}

async fn fetch_and_store(
    ctx: &Context,
    store: &MediaStore,
    data: &Data<FederationData>,
    row: RemoteMediaRow,
) -> Result<RemoteMediaRow, Error> {
    let id = row.id;
    let current = ctx
        .db
        .run(move |conn| Ok(remote_media::by_token(conn, &row.token)?))
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    if current.file_name.is_some() {
        return Ok(current);
    }
    let now = Utc::now();
    if current
        .failed_at
        .is_some_and(|at| now.naive_utc() - at < RETRY_AFTER_FAILURE)
    {
        return Err(Error::BadGateway(
            "The remote file could not be fetched; it is not asked for again for a few minutes"
                .into(),
        ));
    }
    let fetched = match remote_url(&current) {
        Ok(url) => fetch_image(data, &url, store.max_bytes())
            .await
            .map_err(fetch_error),
        Err(e) => Err(e),
    };
    let stored = match fetched {
        Ok(bytes) => store.store_image(bytes).await.map_err(|e| match e {
            Error::Unprocessable(why) => Error::BadGateway(format!(
                "The remote file was refused: {}",
                why.trim_start_matches("Validation failed: ")
            )),
            other => other,
        }),
        Err(e) => Err(e),
    };
    let stored = match stored {
        Ok(stored) => stored,
        Err(e) => {
            ctx.db
                .write(move |conn| Ok(remote_media::fetch_failed(conn, id, now.naive_utc())?))
                .await?;
            return Err(e);
        }
    };
    let names = (stored.file_name.clone(), stored.thumbnail_file_name.clone());
    let token = current.token.clone();
    let saved = ctx
        .db
        .write(move |conn| {
            let first = remote_media::store_copy(
                conn,
                id,
                &StoredCopy {
                    file_name: &stored.file_name,
                    thumbnail_file_name: &stored.thumbnail_file_name,
                    content_type: stored.content_type,
                    width: stored.width,
                    height: stored.height,
                    thumbnail_width: stored.thumbnail_width,
                    thumbnail_height: stored.thumbnail_height,
                    blurhash: &stored.blurhash,
                    byte_size: stored.byte_size,
                },
            )?;
            Ok((first, remote_media::by_token(conn, &token)?))
        })
        .await;
    match saved {
        Ok((true, Some(row))) => Ok(row),
        // Another process stored a copy first: keep its copy, not ours.
        Ok((false, Some(row))) => {
            store.remove(&[&names.0, &names.1]).await;
            Ok(row)
        }
        Ok((_, None)) => {
            store.remove(&[&names.0, &names.1]).await;
            Err(Error::not_found("Record not found"))
        }
        Err(e) => {
            store.remove(&[&names.0, &names.1]).await;
            Err(e)
        }
    }
}

fn remote_url(row: &RemoteMediaRow) -> Result<url::Url, Error> {
    url::Url::parse(&row.remote_url)
        .map_err(|_| Error::BadGateway("The remote file has an unusable URL".into()))
}

/// A failed fetch, as the app that asked is told.
fn fetch_error(e: FederationError) -> Error {
    let why = match e {
        FederationError::PayloadTooLarge { limit } => {
            format!("it is larger than {limit} bytes")
        }
        other => other.to_string(),
    };
    Error::BadGateway(format!("The remote file could not be fetched: {why}"))
}
