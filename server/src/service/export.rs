//! A person's data, theirs to take: everything they own here as one ZIP, in the shape of
//! Mastodon's archive, so that other software reads it and another account can take it in.
//!
//! - `actor.json`: their actor document, with their profile; `avatar.*` and `header.*` files.
//! - `outbox.json`: an `OrderedCollection` of a `Create` for each of their posts (in groups
//!   too), oldest first; attachments point at their files under `media_attachments/files/`.
//! - `likes.json`, `bookmarks.json`: `OrderedCollection`s of the posts' ids.
//! - `following_accounts.csv` (their follows and group memberships), `blocked_accounts.csv`,
//!   `muted_accounts.csv`: Mastodon's import formats (see [`import`](super::import)).

use super::{Context, media::MediaStore, posts as post_rules};
use crate::{
    Error,
    db::{
        actors::{self, ActorRow},
        blocks, bookmarks, follows,
        posts::{self as db_posts, Page},
    },
};
use hearth_federation::activities::builders;
use serde_json::{Value, json};
use std::io::Write;

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

/// The ZIP archive of everything `person_id` owns here.
pub async fn archive(ctx: &Context, media: &MediaStore, person_id: i64) -> Result<Vec<u8>, Error> {
    let gathered = ctx
        .db
        .run({
            let ctx = ctx.clone();
            move |conn| gather(conn, &ctx, person_id)
        })
        .await?;
    let mut files = Vec::with_capacity(gathered.files.len());
    for (path, name) in gathered.files {
        files.push((path, media.bytes(&name).await?));
    }
    tokio::task::spawn_blocking(move || zip(gathered.documents, files)).await?
}

fn gather(
    conn: &mut crate::db::AnyConnection,
    ctx: &Context,
    person_id: i64,
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

/// Writes the documents and files into a ZIP archive in memory.
fn zip(
    documents: Vec<(&'static str, Vec<u8>)>,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Vec<u8>, Error> {
    use zip::write::SimpleFileOptions;
    let failed = |e: zip::result::ZipError| Error::Internal(format!("writing an export: {e}"));
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let text = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // Images are compressed already.
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in documents {
        archive.start_file(name, text).map_err(failed)?;
        archive
            .write_all(&bytes)
            .map_err(|e| Error::Internal(format!("writing an export: {e}")))?;
    }
    let mut added = std::collections::HashSet::new();
    for (path, bytes) in files {
        if !added.insert(path.clone()) {
            continue;
        }
        archive.start_file(path, stored).map_err(failed)?;
        archive
            .write_all(&bytes)
            .map_err(|e| Error::Internal(format!("writing an export: {e}")))?;
    }
    Ok(archive.finish().map_err(failed)?.into_inner())
}
