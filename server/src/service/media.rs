//! Media uploads: images from patients, stored without anything they did not mean to share.
//!
//! Every image is decoded and encoded again before anything is written to disk, so EXIF (with
//! GPS positions and camera serial numbers), XMP, ICC profiles, comments and every other block
//! a file can carry are gone: only pixels survive. The EXIF orientation is applied first, so
//! photos stay upright. Decoding runs on a blocking thread, bounded in size (a small file that
//! decodes to gigabytes is refused) and in number (one image per core at a time).
//!
//! JPEG stays JPEG and PNG stays PNG; GIF stays GIF (each frame re-encoded, so animations
//! keep moving); WebP becomes JPEG, or PNG when it has transparency (the `image` crate writes
//! only lossless WebP, which would make photos several times larger).

use super::media_files::{MediaFiles, Read};
use super::{Context, posts::Viewer};
use crate::{
    Error,
    db::{
        AnyConnection,
        media::{self, MediaRow},
        posts,
    },
};
use chrono::Utc;
use image::{
    AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits,
    codecs::{gif, jpeg::JpegEncoder, png::PngEncoder},
};
use std::{collections::HashMap, io::Cursor, sync::Arc, time::SystemTime};
use tokio::sync::Semaphore;

/// Most pixels an image may have (4096 × 4096), as `/api/v2/instance` tells clients
/// (`image_matrix_limit`). Larger images are refused before they are decoded.
pub const MAX_PIXELS: u64 = 16_777_216;
/// Most frames of all frames' pixels added up, for animated GIFs (16 full-size frames, or
/// many small ones): this bounds the time spent re-encoding.
pub const MAX_ANIMATION_PIXELS: u64 = 16 * MAX_PIXELS;
/// The most an image decoder may allocate at once.
const MAX_DECODER_ALLOC: u64 = 256 * 1024 * 1024;
/// Thumbnails fit within this square.
pub const THUMBNAIL_SIZE: u32 = 400;
/// Longest alt text, in characters (`description_limit` in `/api/v2/instance`).
pub const DESCRIPTION_LIMIT: usize = 1500;
/// Most images on one post.
pub const MAX_PER_STATUS: usize = 4;
/// JPEG quality of re-encoded photos: visually lossless for photos, much smaller than 95+.
const JPEG_QUALITY: u8 = 85;

/// Where uploads are stored and how large they may be.
#[derive(Clone, Debug)]
pub struct MediaStore {
    /// The local directory or the bucket.
    files: MediaFiles,
    max_bytes: u64,
    /// One image decoded at a time per core: a burst of uploads queues here rather than
    /// decoding side by side and multiplying the memory each decode takes.
    permits: Arc<Semaphore>,
    /// Remote images being fetched, by token: concurrent first requests for one wait for the
    /// one fetch (see `super::remote_media`).
    fetching: Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl MediaStore {
    /// Media kept in `files`, uploads up to `max_bytes`.
    pub fn new(files: MediaFiles, max_bytes: u64) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            files,
            max_bytes,
            permits: Arc::new(Semaphore::new(cores)),
            fetching: Arc::default(),
        }
    }

    /// The lock held while the remote image `token` is fetched.
    pub(super) fn fetch_lock(&self, token: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.fetching.lock() {
            Ok(mut map) => map.entry(token.to_owned()).or_default().clone(),
            // A poisoned map only loses the sharing of one fetch.
            Err(_) => Arc::default(),
        }
    }

    /// Forgets the lock of `token` once its fetch is over (later requests find the copy).
    pub(super) fn fetch_done(&self, token: &str) {
        if let Ok(mut map) = self.fetching.lock() {
            map.remove(token);
        }
    }

    /// The largest upload accepted.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Opens the stored file `name` (as checked by [`stored_name`]) for sending, unless the
    /// reader's copy of `since` is current; only the part `range` asks for, if it asks for one.
    pub async fn read(
        &self,
        name: &str,
        since: Option<SystemTime>,
        range: Option<&str>,
    ) -> Result<Read, Error> {
        self.files.read(name, since, range).await
    }

    /// The refusal of an upload over the limit.
    pub fn too_large(&self) -> Error {
        Error::Unprocessable(format!(
            "Validation failed: File is larger than {} bytes",
            self.max_bytes
        ))
    }
}

/// An upload as the client API received it.
#[derive(Debug, Default)]
pub struct Upload {
    /// The file, as sent.
    pub bytes: Vec<u8>,
    /// Alt text.
    pub description: Option<String>,
    /// Focal point, `"x,y"`.
    pub focus: Option<String>,
}

/// An image re-encoded: the file to store, its thumbnail, and what describes them.
#[derive(Debug)]
pub struct Processed {
    /// `image/jpeg`, `image/png` or `image/gif`.
    pub content_type: &'static str,
    /// The re-encoded file.
    pub data: Vec<u8>,
    /// Its size in pixels, upright.
    pub width: u32,
    /// Its height in pixels, upright.
    pub height: u32,
    /// The thumbnail (PNG for images with transparency and GIFs, JPEG otherwise).
    pub thumbnail: Vec<u8>,
    /// The thumbnail's media type.
    pub thumbnail_type: &'static str,
    /// Its width.
    pub thumbnail_width: u32,
    /// Its height.
    pub thumbnail_height: u32,
    /// A blurred placeholder of the image (<https://blurha.sh>).
    pub blurhash: String,
}

fn unreadable() -> Error {
    Error::Unprocessable("Validation failed: File could not be read as an image".into())
}

fn unsupported() -> Error {
    Error::Unprocessable(
        "Validation failed: File type is not supported (JPEG, PNG, WebP or GIF)".into(),
    )
}

fn too_many_pixels() -> Error {
    Error::Unprocessable(format!(
        "Validation failed: Image has more than {MAX_PIXELS} pixels"
    ))
}

/// The file extension of a media type this module writes.
fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/gif" => "gif",
        _ => "jpg",
    }
}

/// The media type of a stored file, from its name.
pub fn content_type_of(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        _ => "image/jpeg",
    }
}

/// Decodes `bytes` (JPEG, PNG, WebP or GIF, told by their content, not by what the client
/// claims) and encodes the image again without any metadata, upright, with a thumbnail and a
/// blurhash. CPU-heavy: call it on a blocking thread.
pub fn process(bytes: &[u8]) -> Result<Processed, Error> {
    let format = image::guess_format(bytes).map_err(|_| unsupported())?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
    ) {
        return Err(unsupported());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(MAX_DECODER_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_many_pixels());
    }
    if width == 0 || height == 0 {
        return Err(unreadable());
    }
    // A broken orientation tag is no reason to refuse a photo: it stays as it was taken.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut first = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    first.apply_orientation(orientation);

    let (content_type, data) = if format == ImageFormat::Gif {
        ("image/gif", reencode_gif(bytes, limits)?)
    } else if format == ImageFormat::Png || (format == ImageFormat::WebP && has_alpha(&first)) {
        ("image/png", encode_png(&first)?)
    } else {
        ("image/jpeg", encode_jpeg(&first)?)
    };

    let thumbnail = if first.width() > THUMBNAIL_SIZE || first.height() > THUMBNAIL_SIZE {
        first.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    } else {
        first.clone()
    };
    let (thumbnail_type, thumbnail_data) = if content_type == "image/jpeg" {
        ("image/jpeg", encode_jpeg(&thumbnail)?)
    } else {
        ("image/png", encode_png(&thumbnail)?)
    };
    // The hash blurs everything away anyway: a 32-pixel copy gives the same colours, fast.
    let tiny = thumbnail.thumbnail(32, 32).to_rgba8();
    let blurhash = blurhash::encode(4, 3, tiny.width(), tiny.height(), tiny.as_raw())
        .map_err(|e| Error::Internal(format!("blurhash: {e}")))?;
    Ok(Processed {
        content_type,
        data,
        width: first.width(),
        height: first.height(),
        thumbnail_type,
        thumbnail_width: thumbnail.width(),
        thumbnail_height: thumbnail.height(),
        thumbnail: thumbnail_data,
        blurhash,
    })
}

/// A decoder's refusal: over the limits, or not an image it can read.
fn decode_error(e: image::ImageError) -> Error {
    match e {
        image::ImageError::Limits(_) => too_many_pixels(),
        image::ImageError::Unsupported(_) => unsupported(),
        _ => unreadable(),
    }
}

fn has_alpha(image: &DynamicImage) -> bool {
    image.color().has_alpha() && image.to_rgba8().pixels().any(|p| p.0[3] < u8::MAX)
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    // JPEG has no transparency; an 8-bit RGB copy also drops 16-bit depth.
    let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
    rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        .map_err(|e| Error::Internal(format!("encoding a JPEG: {e}")))?;
    Ok(out)
}

fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    image
        .write_with_encoder(PngEncoder::new(&mut out))
        .map_err(|e| Error::Internal(format!("encoding a PNG: {e}")))?;
    Ok(out)
}

/// Every frame of a GIF decoded and encoded again, one frame in memory at a time; comments
/// and application blocks (XMP) are not copied.
fn reencode_gif(bytes: &[u8], limits: Limits) -> Result<Vec<u8>, Error> {
    let mut decoder = gif::GifDecoder::new(Cursor::new(bytes)).map_err(decode_error)?;
    decoder.set_limits(limits).map_err(decode_error)?;
    let mut out = Vec::new();
    {
        let mut encoder = gif::GifEncoder::new_with_speed(&mut out, 10);
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(|e| Error::Internal(format!("encoding a GIF: {e}")))?;
        let mut pixels: u64 = 0;
        for frame in decoder.into_frames() {
            let frame = frame.map_err(decode_error)?;
            let buffer = frame.buffer();
            pixels += u64::from(buffer.width()) * u64::from(buffer.height());
            if pixels > MAX_ANIMATION_PIXELS {
                return Err(too_many_pixels());
            }
            encoder
                .encode_frame(frame)
                .map_err(|e| Error::Internal(format!("encoding a GIF: {e}")))?;
        }
    }
    Ok(out)
}

/// Reads a focal point, `"x,y"` with each in -1.0..=1.0.
pub fn parse_focus(text: &str) -> Result<(f64, f64), Error> {
    let invalid = || Error::Unprocessable("Validation failed: focus must be \"x,y\"".into());
    let (x, y) = text.split_once(',').ok_or_else(invalid)?;
    let x: f64 = x.trim().parse().map_err(|_| invalid())?;
    let y: f64 = y.trim().parse().map_err(|_| invalid())?;
    if !(-1.0..=1.0).contains(&x) || !(-1.0..=1.0).contains(&y) {
        return Err(invalid());
    }
    Ok((x, y))
}

/// Alt text trimmed, empty as none, refused over [`DESCRIPTION_LIMIT`].
fn clean_description(text: Option<String>) -> Result<Option<String>, Error> {
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > DESCRIPTION_LIMIT)
    {
        return Err(Error::Unprocessable(format!(
            "Validation failed: Description is longer than {DESCRIPTION_LIMIT} characters"
        )));
    }
    Ok(text)
}

/// Whether `name` is one this module gives files (`<32 hex>[-small].<ext>`), and if so,
/// whether it names a thumbnail. Anything else (`..`, slashes) is no file of ours.
pub fn stored_name(name: &str) -> Option<bool> {
    let (stem, ext) = name.rsplit_once('.')?;
    if !matches!(ext, "jpg" | "png" | "gif") {
        return None;
    }
    let (token, thumbnail) = match stem.strip_suffix("-small") {
        Some(token) => (token, true),
        None => (stem, false),
    };
    (token.len() == 32
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then_some(thumbnail)
}

/// An image re-encoded by [`process`] and written to the store: its two files and what
/// describes them.
#[derive(Clone, Debug)]
pub struct StoredImage {
    /// The file's name in the store.
    pub file_name: String,
    /// The thumbnail's name in the store.
    pub thumbnail_file_name: String,
    /// `image/jpeg`, `image/png` or `image/gif`.
    pub content_type: &'static str,
    /// Size in pixels, upright.
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
    /// A blurred placeholder.
    pub blurhash: String,
    /// Size of the stored file.
    pub byte_size: i64,
}

impl MediaStore {
    /// The upload pipeline, for uploads and for copies of remote images alike: refuses more
    /// than the size limit, re-encodes `bytes` (one image per core at a time, on a blocking
    /// thread) and writes the file and its thumbnail under fresh random names. Nothing is
    /// written for a refused image.
    pub async fn store_image(&self, bytes: Vec<u8>) -> Result<StoredImage, Error> {
        if bytes.len() as u64 > self.max_bytes {
            return Err(self.too_large());
        }
        let processed = {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| Error::Internal(format!("media permits: {e}")))?;
            tokio::task::spawn_blocking(move || process(&bytes)).await??
        };
        let token = crate::db::id::random_token();
        let dimension = |v: u32| i32::try_from(v).map_err(|_| too_many_pixels());
        let stored = StoredImage {
            file_name: format!("{token}.{}", extension(processed.content_type)),
            thumbnail_file_name: format!("{token}-small.{}", extension(processed.thumbnail_type)),
            content_type: processed.content_type,
            width: dimension(processed.width)?,
            height: dimension(processed.height)?,
            thumbnail_width: dimension(processed.thumbnail_width)?,
            thumbnail_height: dimension(processed.thumbnail_height)?,
            blurhash: processed.blurhash,
            byte_size: i64::try_from(processed.data.len()).unwrap_or(i64::MAX),
        };
        let files = [
            (&stored.file_name, processed.data),
            (&stored.thumbnail_file_name, processed.thumbnail),
        ];
        for (name, data) in files {
            if let Err(e) = self.files.put(name, data).await {
                self.remove(&[&stored.file_name, &stored.thumbnail_file_name])
                    .await;
                return Err(e);
            }
        }
        Ok(stored)
    }

    /// Stores the file `name` from `file` (see [`MediaFiles::put_file`]).
    pub async fn put_file(&self, name: &str, file: std::fs::File) -> Result<(), Error> {
        self.files.put_file(name, file).await
    }

    /// Removes stored files; missing ones are no error.
    pub async fn remove(&self, names: &[&str]) {
        self.files.delete(names).await;
    }

    /// The whole content of the stored file `name` (for an export).
    pub async fn bytes(&self, name: &str) -> Result<Vec<u8>, Error> {
        use futures::TryStreamExt;
        let super::media_files::Read::File(file) = self.files.read(name, None, None).await? else {
            return Err(Error::Internal(format!(
                "media file {name} could not be read"
            )));
        };
        let chunks: Vec<bytes::Bytes> = file
            .body
            .try_collect()
            .await
            .map_err(|e| Error::Internal(format!("reading media file {name}: {e}")))?;
        Ok(chunks.concat())
    }
}

/// Stores an upload by `owner_id`: checks it, re-encodes it, writes the files, then its row.
/// A refused upload stores nothing.
pub async fn upload(
    ctx: &Context,
    store: &MediaStore,
    owner_id: i64,
    upload: Upload,
) -> Result<MediaRow, Error> {
    if upload.bytes.len() as u64 > store.max_bytes {
        return Err(store.too_large());
    }
    let description = clean_description(upload.description)?;
    let focus = upload
        .focus
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(parse_focus)
        .transpose()?
        .unwrap_or((0.0, 0.0));
    let stored = store.store_image(upload.bytes).await?;
    let row = MediaRow {
        id: crate::db::id::new_id(),
        owner_id,
        post_id: None,
        content_type: stored.content_type.into(),
        file_name: stored.file_name,
        thumbnail_file_name: stored.thumbnail_file_name,
        width: stored.width,
        height: stored.height,
        thumbnail_width: stored.thumbnail_width,
        thumbnail_height: stored.thumbnail_height,
        blurhash: stored.blurhash,
        description,
        focus_x: focus.0,
        focus_y: focus.1,
        byte_size: stored.byte_size,
        created_at: Utc::now().naive_utc(),
        profile: None,
    };
    let insert = row.clone();
    let inserted = ctx
        .db
        .write(move |conn| Ok(media::insert(conn, &insert)?))
        .await;
    if let Err(e) = inserted {
        store
            .remove(&[&row.file_name, &row.thumbnail_file_name])
            .await;
        return Err(e);
    }
    Ok(row)
}

/// The owner's own image that no post uses yet, or 404 (as Mastodon: once attached, an image
/// changes only through its post).
fn own_unattached(conn: &mut AnyConnection, owner_id: i64, id: i64) -> Result<MediaRow, Error> {
    media::by_id(conn, id)?
        .filter(|m| m.owner_id == owner_id && m.post_id.is_none())
        .ok_or_else(|| Error::not_found("Record not found"))
}

/// One of `owner_id`'s unattached images.
pub async fn show(ctx: &Context, owner_id: i64, id: i64) -> Result<MediaRow, Error> {
    ctx.db
        .run(move |conn| own_unattached(conn, owner_id, id))
        .await
}

/// Changes the alt text and focal point of one of `owner_id`'s unattached images; fields
/// left out stay as they were.
pub async fn update(
    ctx: &Context,
    owner_id: i64,
    id: i64,
    description: Option<String>,
    focus: Option<String>,
) -> Result<MediaRow, Error> {
    let new_description = description
        .map(|d| clean_description(Some(d)))
        .transpose()?;
    let new_focus = focus.as_deref().map(parse_focus).transpose()?;
    ctx.db
        .write(move |conn| {
            let mut row = own_unattached(conn, owner_id, id)?;
            if let Some(description) = new_description {
                row.description = description;
            }
            if let Some((x, y)) = new_focus {
                (row.focus_x, row.focus_y) = (x, y);
            }
            media::update_description(
                conn,
                row.id,
                row.description.as_deref(),
                (row.focus_x, row.focus_y),
            )?;
            Ok(row)
        })
        .await
}

/// Attaches `ids` (the author's own unattached images, at most [`MAX_PER_STATUS`]) to a new
/// post, in the post's own write transaction.
pub fn attach(
    conn: &mut AnyConnection,
    author_id: i64,
    post_id: i64,
    ids: &[i64],
) -> Result<(), Error> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() > MAX_PER_STATUS {
        return Err(Error::Unprocessable(format!(
            "Validation failed: at most {MAX_PER_STATUS} media attachments"
        )));
    }
    if media::attach(conn, author_id, post_id, &unique)? != unique.len() {
        return Err(Error::Unprocessable(
            "Validation failed: media not found or already attached".into(),
        ));
    }
    Ok(())
}

/// Makes `ids` the attachments of an edited post: those it had and no longer lists are let go
/// of (the clean-up removes them as unattached), new ones must be the author's own unattached
/// uploads.
pub fn reattach(
    conn: &mut AnyConnection,
    author_id: i64,
    post_id: i64,
    ids: &[i64],
) -> Result<(), Error> {
    let kept: Vec<i64> = media::for_post(conn, post_id)?
        .into_iter()
        .map(|m| m.id)
        .filter(|id| ids.contains(id))
        .collect();
    media::detach_except(conn, post_id, &kept)?;
    let new: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !kept.contains(id))
        .collect();
    if kept.len() + new.len() > MAX_PER_STATUS {
        return Err(Error::Unprocessable(format!(
            "Validation failed: at most {MAX_PER_STATUS} media attachments"
        )));
    }
    attach(conn, author_id, post_id, &new)
}

/// A stored file that may be served, and how it may be cached.
#[derive(Debug)]
pub struct Servable {
    /// Its name in the store ([`MediaStore::read`]).
    pub name: String,
    /// Its media type.
    pub content_type: &'static str,
    /// Whether anyone may see it (a public post's): shared caches may then keep it.
    pub public: bool,
}

/// The file `name`, if `viewer` may see it: an image of a post only to those who may see the
/// post ([`super::posts::viewer_may_see`]), an avatar or header to anyone, an unattached one
/// only to its owner. Anything else is "not found", so that hidden media cannot be told from
/// missing media.
pub async fn servable(ctx: &Context, viewer: Viewer, name: String) -> Result<Servable, Error> {
    let not_found = || Error::not_found("Record not found");
    let thumbnail = stored_name(&name).ok_or_else(not_found)?;
    let (row, public) = ctx
        .db
        .run(move |conn| {
            let Some(row) = media::by_file_name(conn, &name, thumbnail)? else {
                return Ok(None);
            };
            let (visible, public) = match (row.post_id, &row.profile) {
                (None, Some(_)) => (true, true),
                (None, None) => (viewer.person == Some(row.owner_id), false),
                (Some(post_id), _) => post_visibility(conn, post_id, &viewer)?,
            };
            Ok(visible.then_some((row, public)))
        })
        .await?
        .ok_or_else(not_found)?;
    let file = if thumbnail {
        row.thumbnail_file_name
    } else {
        row.file_name
    };
    Ok(Servable {
        content_type: content_type_of(&file),
        name: file,
        public,
    })
}

/// Whether `viewer` may see the post `post_id`, and whether anyone may.
pub(super) fn post_visibility(
    conn: &mut AnyConnection,
    post_id: i64,
    viewer: &Viewer,
) -> Result<(bool, bool), Error> {
    Ok(match posts::by_id(conn, post_id)? {
        Some(post) => (
            super::posts::viewer_may_see(conn, &post, viewer)?,
            super::posts::can_view(conn, &post, None)?,
        ),
        None => (false, false),
    })
}

/// How long an upload may wait to be posted before the clean-up removes it.
pub const UNATTACHED_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(1);
/// How often the clean-up runs.
const CLEAN_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Rows handled per clean-up transaction.
const CLEAN_UP_BATCH: i64 = 100;

/// Removes, files included, the uploads made before `cutoff` that no post uses and that are
/// no one's avatar or header, and the copies of remote images nothing shows any more (their
/// post is gone, or their actor has another image). Returns how many images were removed.
pub async fn clean_up(
    ctx: &Context,
    store: &MediaStore,
    cutoff: chrono::NaiveDateTime,
) -> Result<usize, Error> {
    use crate::db::remote_media;
    let mut removed = 0;
    loop {
        let rows = ctx
            .db
            .run(move |conn| Ok(media::unattached_before(conn, cutoff, CLEAN_UP_BATCH)?))
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let deleted = ctx
            .db
            .write(move |conn| Ok(media::delete_unattached(conn, &ids)?))
            .await?;
        for row in rows.iter().filter(|r| deleted.contains(&r.id)) {
            store
                .remove(&[&row.file_name, &row.thumbnail_file_name])
                .await;
        }
        removed += deleted.len();
        if (rows.len() as i64) < CLEAN_UP_BATCH {
            break;
        }
    }
    loop {
        let rows = ctx
            .db
            .run(|conn| Ok(remote_media::orphans(conn, CLEAN_UP_BATCH)?))
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        ctx.db
            .write(move |conn| Ok(remote_media::delete_orphans(conn, &ids)?))
            .await?;
        for row in &rows {
            let names: Vec<&str> = [&row.file_name, &row.thumbnail_file_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            store.remove(&names).await;
        }
        removed += rows.len();
        if (rows.len() as i64) < CLEAN_UP_BATCH {
            break;
        }
    }
    Ok(removed)
}

/// Runs [`clean_up`] every hour in the background, for uploads older than
/// [`UNATTACHED_LIFETIME`].
pub async fn run_clean_up(ctx: Context, store: MediaStore) {
    loop {
        let cutoff = (Utc::now() - UNATTACHED_LIFETIME).naive_utc();
        match clean_up(&ctx, &store, cutoff).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed unused images"),
            Err(e) => tracing::error!(error = %e, "media clean-up failed"),
        }
        tokio::time::sleep(CLEAN_UP_EVERY).await;
    }
}

/// The URL of a stored file.
pub fn file_url(urls: &super::Urls, name: &str) -> url::Url {
    urls.path(&format!("/media/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_this_module_gives_are_files() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(stored_name(&format!("{token}.jpg")), Some(false));
        assert_eq!(stored_name(&format!("{token}-small.png")), Some(true));
        for bad in [
            format!("{token}.svg"),
            format!("../{token}.jpg"),
            format!("{}.jpg", &token[1..]),
            format!("{}.jpg", token.to_uppercase()),
            "hearth.db".into(),
            String::new(),
        ] {
            assert_eq!(stored_name(&bad), None, "{bad}");
        }
    }

    #[test]
    fn focus_is_two_numbers_within_the_image() {
        assert_eq!(parse_focus("0.5,-0.25").ok(), Some((0.5, -0.25)));
        assert_eq!(parse_focus(" -1 , 1 ").ok(), Some((-1.0, 1.0)));
        for bad in ["", "0.5", "2,0", "a,b", "0,-1.5", "NaN,0"] {
            assert!(parse_focus(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_tiny_png_gets_a_thumbnail_of_its_own_size_and_a_blurhash() {
        let mut png = Vec::new();
        let image = image::RgbaImage::from_fn(3, 2, |x, _| image::Rgba([x as u8 * 80, 0, 0, 255]));
        DynamicImage::ImageRgba8(image)
            .write_with_encoder(PngEncoder::new(&mut png))
            .unwrap_or_else(|e| panic!("{e}"));
        let processed = process(&png).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(processed.content_type, "image/png");
        assert_eq!((processed.width, processed.height), (3, 2));
        assert_eq!(
            (processed.thumbnail_width, processed.thumbnail_height),
            (3, 2)
        );
        assert_eq!(processed.blurhash.len(), 2 + 4 + 2 * 11, "4×3 components");
    }

    #[test]
    fn a_large_image_claimed_in_a_small_file_is_refused_before_decoding() {
        // A PNG header claiming 20000 × 20000 pixels, with no pixel data.
        let mut png = Vec::new();
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(b"IHDR");
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&20_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        let refused = process(&png);
        assert!(
            matches!(&refused, Err(Error::Unprocessable(m)) if m.contains("pixels")),
            "{refused:?}"
        );
    }

    /// The PNG chunk checksum (CRC-32, ISO 3309).
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = u32::MAX;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
