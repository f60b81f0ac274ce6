//! A person's data, theirs to take: everything they own here as one ZIP, in the shape of
//! Mastodon's archive, so that other software reads it and another account can take it in.
//!
//! - `actor.json`: their actor document, with their profile; `avatar.*` and `header.*` files.
//! - `outbox.json`: an `OrderedCollection` of a `Create` for each of their posts (in groups
//!   too), oldest first; attachments point at their files under `media_attachments/files/`.
//! - `likes.json`, `bookmarks.json`: `OrderedCollection`s of the posts' ids.
//! - `following_accounts.csv` (their follows and group memberships), `blocked_accounts.csv`,
//!   `muted_accounts.csv`: Mastodon's import formats (see [`import`](super::import)).
//!
//! A large archive is prepared in the background ([`request`]), as Mastodon's are: the process
//! that took the request writes it to a temporary file, writing down its progress each second,
//! then keeps it in the media store (never served from `/media/`: only to its owner) for
//! [`KEPT_FOR`]. A preparation whose process stopped shows as failed once its progress has not
//! moved for ten minutes, and another may be requested.

use super::{Context, media::MediaStore, posts as post_rules};
use crate::{
    Error,
    db::{
        actors::{self, ActorRow},
        blocks, bookmarks,
        exports::{self, ExportRow},
        follows,
        posts::{self as db_posts, Page},
    },
};
use chrono::Utc;
use hearth_federation::activities::builders;
use serde_json::{Value, json};
use std::io::Write;
use tokio::sync::watch;

const AS: &str = "https://www.w3.org/ns/activitystreams";

/// Where attached files go in the archive (as in Mastodon's).
const FILES: &str = "media_attachments/files";

/// Every row of a list at once (the lists are one person's).
const ALL: Page = Page {
    max_id: None,
    since_id: None,
    min_id: None,
    limit: i64::MAX,
};

/// What the archive holds, read in one go from the database: documents, and the names of
/// the files to add.
struct Gathered {
    documents: Vec<(&'static str, Vec<u8>)>,
    files: Vec<(String, String)>,
}

/// How far an archive got: items (posts, then files) written of those to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Written so far.
    pub done: u64,
    /// To write, as far as known: the count of files is an estimate until the posts are read.
    pub total: u64,
}

/// Writes the ZIP archive of everything `person_id` owns here into `into` (a new, empty
/// file), telling `progress` as it goes; returns the file, rewound, and its size. Files are
/// read and written one at a time: the archive is never held in memory.
pub async fn write_archive(
    ctx: &Context,
    media: &MediaStore,
    person_id: i64,
    into: std::fs::File,
    progress: &watch::Sender<Progress>,
) -> Result<(std::fs::File, u64), Error> {
    let gathered = ctx
        .db
        .run({
            let (ctx, progress) = (ctx.clone(), progress.clone());
            move |conn| gather(conn, &ctx, person_id, &progress)
        })
        .await?;
    let mut files = gathered.files;
    let mut seen = std::collections::HashSet::new();
    files.retain(|(path, _)| seen.insert(path.clone()));
    progress.send_modify(|p| p.total = p.done + files.len() as u64);
    let mut archive =
        tokio::task::spawn_blocking(move || start_zip(into, gathered.documents)).await??;
    for (path, name) in files {
        let bytes = media.bytes(&name).await?;
        archive = tokio::task::spawn_blocking(move || {
            add_file(&mut archive, &path, &bytes)?;
            Ok::<_, Error>(archive)
        })
        .await??;
        progress.send_modify(|p| p.done += 1);
    }
    tokio::task::spawn_blocking(move || finish_zip(archive)).await?
}

/// The archive of `person_id`'s data in a temporary file, removed once the file is closed
/// (for a download in the request, and for the command line).
pub async fn archive_file(
    ctx: &Context,
    media: &MediaStore,
    person_id: i64,
    progress: &watch::Sender<Progress>,
) -> Result<(std::fs::File, u64), Error> {
    let file = tempfile::tempfile()
        .map_err(|e| Error::Internal(format!("a temporary file for an export: {e}")))?;
    write_archive(ctx, media, person_id, file, progress).await
}

/// How long one may wait before requesting another archive (Mastodon: a week).
pub const REQUEST_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);
/// How long an archive is kept after it was requested.
pub const KEPT_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// A preparation whose progress has not moved for this long was interrupted (its process
/// stopped): it is shown as failed, and another may be requested.
const STALLED: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// How often the progress of a preparation is written down.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Requests an archive of `person_id`'s data, prepared in the background by this process
/// (see [`prepare`]): refused while another is being prepared, and within
/// [`REQUEST_EVERY`] of the last one that was ready.
pub async fn request(
    ctx: &Context,
    media: &MediaStore,
    person_id: i64,
) -> Result<ExportRow, Error> {
    let now = Utc::now().naive_utc();
    let row = ctx
        .db
        .write(move |conn| {
            exports::give_up_stalled(conn, now - STALLED)?;
            let earlier = exports::all_of_person(conn, person_id)?;
            if earlier.iter().any(|e| e.state == exports::PREPARING) {
                return Err(Error::TooManyRequests(
                    "An archive of your data is being prepared already".into(),
                ));
            }
            if earlier
                .iter()
                .any(|e| e.state == exports::READY && e.requested_at > now - REQUEST_EVERY)
            {
                return Err(Error::TooManyRequests(
                    "You can request an archive of your data once a day".into(),
                ));
            }
            let row = ExportRow {
                id: crate::db::id::new_id(),
                person_id,
                state: exports::PREPARING.into(),
                done: 0,
                total: 0,
                file_name: None,
                byte_size: None,
                requested_at: now,
                updated_at: now,
            };
            exports::insert(conn, &row)?;
            Ok(row)
        })
        .await?;
    tokio::spawn(prepare(ctx.clone(), media.clone(), row.id, person_id));
    Ok(row)
}

/// Prepares the archive `id`: writes it to a temporary file, writing down its progress each
/// [`PROGRESS_EVERY`], then stores it in the media store and marks it ready (or failed).
async fn prepare(ctx: Context, media: MediaStore, id: i64, person_id: i64) {
    let (progress, mut moved) = watch::channel(Progress::default());
    let record = {
        let ctx = ctx.clone();
        async move {
            while moved.changed().await.is_ok() {
                let Progress { done, total } = *moved.borrow_and_update();
                let (done, total) = (saturating_i64(done), saturating_i64(total));
                let now = Utc::now().naive_utc();
                let recorded = ctx
                    .db
                    .write(move |conn| Ok(exports::set_progress(conn, id, done, total, now)?))
                    .await;
                if let Err(e) = recorded {
                    tracing::warn!(error = %e, "recording an export's progress");
                }
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
        }
    };
    let build = async move {
        let built = archive_file(&ctx, &media, person_id, &progress).await;
        // The recorder stops once told of the end.
        drop(progress);
        let stored = match built {
            Ok((file, size)) => store(&ctx, &media, id, file, size).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            tracing::error!(error = %e, "preparing an export failed");
            let now = Utc::now().naive_utc();
            if let Err(e) = ctx
                .db
                .write(move |conn| Ok(exports::set_failed(conn, id, now)?))
                .await
            {
                tracing::error!(error = %e, "marking an export failed");
            }
        }
    };
    tokio::join!(record, build);
}

/// Stores the finished archive `file` and marks `id` ready; removes the file again if the
/// archive is gone meanwhile (its owner deleted their account).
async fn store(
    ctx: &Context,
    media: &MediaStore,
    id: i64,
    file: std::fs::File,
    size: u64,
) -> Result<(), Error> {
    let name = format!("export-{}.zip", crate::db::id::random_token());
    media.put_file(&name, file).await?;
    let now = Utc::now().naive_utc();
    let kept = {
        let name = name.clone();
        ctx.db
            .write(move |conn| {
                Ok(exports::set_ready(
                    conn,
                    id,
                    &name,
                    saturating_i64(size),
                    now,
                )?)
            })
            .await?
    };
    if !kept {
        media.remove(&[&name]).await;
    }
    Ok(())
}

/// Runs [`remove_old`] every hour in the background.
pub async fn run_removing_old(ctx: Context, media: MediaStore) {
    loop {
        match remove_old(&ctx, &media).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed old data archives"),
            Err(e) => tracing::error!(error = %e, "removing old data archives failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `person_id`'s archives, newest first; one whose preparation stalled shows as failed.
pub async fn list(ctx: &Context, person_id: i64) -> Result<Vec<ExportRow>, Error> {
    let stalled = (Utc::now() - STALLED).naive_utc();
    let mut rows = ctx
        .db
        .run(move |conn| Ok(exports::all_of_person(conn, person_id)?))
        .await?;
    for row in &mut rows {
        interrupted(row, stalled);
    }
    Ok(rows)
}

/// `person_id`'s archive `id`; "not found" for anyone else's.
pub async fn one(ctx: &Context, person_id: i64, id: i64) -> Result<ExportRow, Error> {
    let stalled = (Utc::now() - STALLED).naive_utc();
    let mut row = ctx
        .db
        .run(move |conn| Ok(exports::of_person(conn, person_id, id)?))
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    interrupted(&mut row, stalled);
    Ok(row)
}

/// Shows a preparation whose progress stopped before `stalled` as failed.
fn interrupted(row: &mut ExportRow, stalled: chrono::NaiveDateTime) {
    if row.state == exports::PREPARING && row.updated_at < stalled {
        row.state = exports::FAILED.into();
    }
}

/// The stored file of `person_id`'s ready archive `id`, to send.
pub async fn ready_file(ctx: &Context, person_id: i64, id: i64) -> Result<String, Error> {
    one(ctx, person_id, id)
        .await?
        .file_name
        .ok_or_else(|| Error::not_found("The archive is not ready"))
}

/// Removes the archives requested more than [`KEPT_FOR`] ago, files included; returns how
/// many.
pub async fn remove_old(ctx: &Context, media: &MediaStore) -> Result<usize, Error> {
    const BATCH: i64 = 100;
    let mut removed = 0;
    loop {
        let cutoff = (Utc::now() - KEPT_FOR).naive_utc();
        let rows = ctx
            .db
            .run(move |conn| Ok(exports::requested_before(conn, cutoff, BATCH)?))
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        ctx.db
            .write(move |conn| Ok(exports::delete(conn, &ids)?))
            .await?;
        let names: Vec<&str> = rows.iter().filter_map(|r| r.file_name.as_deref()).collect();
        media.remove(&names).await;
        removed += rows.len();
        if (rows.len() as i64) < BATCH {
            return Ok(removed);
        }
    }
}

fn gather(
    conn: &mut crate::db::AnyConnection,
    ctx: &Context,
    person_id: i64,
    progress: &watch::Sender<Progress>,
) -> Result<Gathered, Error> {
    let person = actors::by_id(conn, person_id)?
        .filter(|a| a.local)
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let mut files = Vec::new();
    let mut actor = serde_json::to_value(person.to_federated()?.to_object())
        .map_err(|e| Error::Internal(format!("an actor document: {e}")))?;
    for (key, url) in [("icon", &person.avatar_url), ("image", &person.header_url)] {
        if let Some(name) = url.as_deref().and_then(stored_file) {
            let path = format!(
                "{}.{}",
                if key == "icon" { "avatar" } else { "header" },
                extension(name)
            );
            actor[key]["url"] = json!(path);
            files.push((path, name.to_owned()));
        }
    }

    let mut posts = db_posts::all_by_author(conn, person.id)?;
    posts.retain(|p| !p.is_deleted());
    posts.sort_by_key(|p| (p.published_at, p.id));
    let estimate = crate::db::media::owned_by(conn, person.id)?.len() + files.len();
    progress.send_replace(Progress {
        done: 0,
        total: (posts.len() + estimate) as u64,
    });
    let mut created = Vec::with_capacity(posts.len());
    for post in &posts {
        let object = post_rules::post_object(conn, ctx, post)?;
        let mut create = builders::create(
            &super::stored_url(&format!("{}/activity", post.ap_id))?,
            &object,
        );
        if let Some(attachments) = create["object"]["attachment"].as_array_mut() {
            for attachment in attachments {
                if let Some(name) = attachment["url"].as_str().and_then(stored_file) {
                    let path = format!("{FILES}/{name}");
                    files.push((path.clone(), name.to_owned()));
                    attachment["url"] = json!(path);
                }
            }
        }
        created.push(create);
        progress.send_modify(|p| p.done += 1);
    }
    let liked: Vec<String> = db_posts::liked_by(conn, person.id, ALL)?
        .into_iter()
        .map(|(_, post)| post.ap_id)
        .collect();
    let bookmarked: Vec<String> = bookmarks::page(conn, person.id, ALL)?
        .into_iter()
        .map(|(_, post)| post.ap_id)
        .collect();

    let mut following = csv_writer(&[
        "Account address",
        "Show boosts",
        "Notify on new posts",
        "Languages",
    ]);
    for id in follows::followed_ids(conn, person.id)? {
        if let Some(followed) = actors::by_id(conn, id)? {
            csv_row(&mut following, &[&address(&followed), "true", "false", ""])?;
        }
    }
    let mut blocked = csv_writer(&[]);
    for (_, target) in blocks::blocked_by(conn, person.id, ALL)? {
        csv_row(&mut blocked, &[&address(&target)])?;
    }
    let mut muted = csv_writer(&["Account address", "Hide notifications"]);
    for (mute, target) in blocks::muted_by(conn, person.id, ALL)? {
        let hide = if mute.notifications { "true" } else { "false" };
        csv_row(&mut muted, &[&address(&target), hide])?;
    }

    let documents = vec![
        ("actor.json", json_bytes(&with_context(actor))?),
        (
            "outbox.json",
            json_bytes(&collection("outbox.json", created))?,
        ),
        ("likes.json", json_bytes(&collection("likes.json", liked))?),
        (
            "bookmarks.json",
            json_bytes(&collection("bookmarks.json", bookmarked))?,
        ),
        ("following_accounts.csv", csv_bytes(following)?),
        ("blocked_accounts.csv", csv_bytes(blocked)?),
        ("muted_accounts.csv", csv_bytes(muted)?),
    ];
    Ok(Gathered { documents, files })
}

/// The name of a file this instance stores, from the URL it is served at.
fn stored_file(url: &str) -> Option<&str> {
    let (_, name) = url.rsplit_once("/media/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("bin", |(_, ext)| ext)
}

/// `name@domain`, the address the CSV files give.
fn address(actor: &ActorRow) -> String {
    format!("{}@{}", actor.username, actor.domain)
}

fn with_context(mut document: Value) -> Value {
    document["@context"] = json!(AS);
    document
}

fn collection<T: serde::Serialize>(id: &str, items: Vec<T>) -> Value {
    json!({
        "@context": AS,
        "id": id,
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items,
    })
}

fn json_bytes(value: &Value) -> Result<Vec<u8>, Error> {
    serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("an export document: {e}")))
}

fn csv_writer(header: &[&str]) -> csv::Writer<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if !header.is_empty() {
        // Writing to memory cannot fail.
        let _ = writer.write_record(header);
    }
    writer
}

fn csv_row(writer: &mut csv::Writer<Vec<u8>>, fields: &[&str]) -> Result<(), Error> {
    writer
        .write_record(fields)
        .map_err(|e| Error::Internal(format!("an export CSV: {e}")))
}

fn csv_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, Error> {
    writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("an export CSV: {e}")))
}

type Zip = zip::ZipWriter<std::fs::File>;

fn zip_failed(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("writing an export: {e}"))
}

/// Starts the archive in `file` with the documents, compressed.
fn start_zip(file: std::fs::File, documents: Vec<(&'static str, Vec<u8>)>) -> Result<Zip, Error> {
    use zip::write::SimpleFileOptions;
    let mut archive = zip::ZipWriter::new(file);
    let text = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in documents {
        archive.start_file(name, text).map_err(zip_failed)?;
        archive.write_all(&bytes).map_err(zip_failed)?;
    }
    Ok(archive)
}

/// Adds a stored file, as it is: images are compressed already.
fn add_file(archive: &mut Zip, path: &str, bytes: &[u8]) -> Result<(), Error> {
    use zip::write::SimpleFileOptions;
    let stored = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
    archive.start_file(path, stored).map_err(zip_failed)?;
    archive.write_all(bytes).map_err(zip_failed)
}

/// Ends the archive; returns its file, rewound, and its size.
fn finish_zip(archive: Zip) -> Result<(std::fs::File, u64), Error> {
    use std::io::{Seek, SeekFrom};
    let mut file = archive.finish().map_err(zip_failed)?;
    let size = file.seek(SeekFrom::End(0)).map_err(zip_failed)?;
    file.seek(SeekFrom::Start(0)).map_err(zip_failed)?;
    Ok((file, size))
}
