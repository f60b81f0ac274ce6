//! The `remote_media` table: images of other servers (avatars, headers, attachments of remote
//! posts), each served here under a random token once fetched and re-encoded.

use super::{AnyConnection, schema::remote_media};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// What a remote image is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// An actor's avatar (`icon`).
    Avatar,
    /// An actor's header (`image`).
    Header,
    /// An image attached to a post.
    Attachment,
}

impl Purpose {
    /// The name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avatar => "avatar",
            Self::Header => "header",
            Self::Attachment => "attachment",
        }
    }
}

/// One remote image.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = remote_media)]
pub struct RemoteMediaRow {
    pub id: i64,
    /// 128 random bits in hex: the name in `/media/proxy/<token>`.
    pub token: String,
    /// Where the original is.
    pub remote_url: String,
    /// `avatar`, `header` or `attachment` (see [`Purpose`]).
    pub purpose: String,
    /// The post it is attached to (attachments); NULL once the post is gone.
    pub post_id: Option<i64>,
    /// The actor it pictures (avatars, headers); NULL once the actor changed it or is gone.
    pub actor_id: Option<i64>,
    /// Alt text, as sent.
    pub description: Option<String>,
    /// As sent, then the stored copy's.
    pub blurhash: Option<String>,
    /// As sent, then the stored copy's.
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub focus_x: f64,
    pub focus_y: f64,
    /// The stored copy, once fetched.
    pub file_name: Option<String>,
    pub thumbnail_file_name: Option<String>,
    pub content_type: Option<String>,
    pub thumbnail_width: Option<i32>,
    pub thumbnail_height: Option<i32>,
    pub byte_size: Option<i64>,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub fetched_at: Option<NaiveDateTime>,
    /// When fetching it last failed.
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub failed_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
}

impl RemoteMediaRow {
    /// A row for the image at `url`, not fetched yet, with a fresh token.
    pub fn new(url: &str, purpose: Purpose) -> Self {
        Self {
            id: super::id::new_id(),
            token: super::id::random_token(),
            remote_url: url.to_owned(),
            purpose: purpose.as_str().to_owned(),
            post_id: None,
            actor_id: None,
            description: None,
            blurhash: None,
            width: None,
            height: None,
            focus_x: 0.0,
            focus_y: 0.0,
            file_name: None,
            thumbnail_file_name: None,
            content_type: None,
            thumbnail_width: None,
            thumbnail_height: None,
            byte_size: None,
            fetched_at: None,
            failed_at: None,
            created_at: chrono::Utc::now().naive_utc(),
        }
    }

    /// Whether it is an avatar or header, which anyone may see.
    pub fn is_profile_image(&self) -> bool {
        self.purpose != Purpose::Attachment.as_str()
    }
}

/// The copy of a fetched image, as the upload pipeline stored it.
#[derive(Clone, Debug)]
pub struct StoredCopy<'a> {
    pub file_name: &'a str,
    pub thumbnail_file_name: &'a str,
    pub content_type: &'a str,
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
    pub blurhash: &'a str,
    pub byte_size: i64,
}

/// Inserts rows.
pub fn insert(conn: &mut AnyConnection, rows: &[RemoteMediaRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    on_engine!(conn, |c| diesel::insert_into(remote_media::table)
        .values(rows)
        .execute(c))
    .map(|_| ())
}

/// The image served under `token`.
pub fn by_token(conn: &mut AnyConnection, token: &str) -> QueryResult<Option<RemoteMediaRow>> {
    on_engine!(conn, |c| remote_media::table
        .filter(remote_media::token.eq(token))
        .select(RemoteMediaRow::as_select())
        .get_result(c)
        .optional())
}

/// A remote post's images, in the order they were sent.
pub fn for_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<Vec<RemoteMediaRow>> {
    on_engine!(conn, |c| remote_media::table
        .filter(remote_media::post_id.eq(post_id))
        .order(remote_media::id)
        .select(RemoteMediaRow::as_select())
        .load(c))
}

/// Lets go of images a post no longer has (after an edit): the clean-up removes them.
pub fn detach_from_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<()> {
    diesel::update(remote_media::table.filter(remote_media::post_id.eq(post_id)))
        .set(remote_media::post_id.eq(None::<i64>))
        .execute(conn)
        .map(|_| ())
}

/// The token of `actor_id`'s avatar or header at `url`: the one it had (`known`: its earlier
/// URL and token) if the URL is unchanged, else a new row's (the earlier one is let go, for
/// the clean-up to remove). `None` when the actor has none.
pub fn profile_image(
    conn: &mut AnyConnection,
    actor_id: i64,
    purpose: Purpose,
    known: Option<(&str, &str)>,
    url: Option<&str>,
) -> QueryResult<Option<String>> {
    if let (Some((known_url, token)), Some(url)) = (known, url)
        && known_url == url
    {
        return Ok(Some(token.to_owned()));
    }
    if let Some((_, token)) = known {
        diesel::update(remote_media::table.filter(remote_media::token.eq(token)))
            .set(remote_media::actor_id.eq(None::<i64>))
            .execute(conn)?;
    }
    let Some(url) = url else { return Ok(None) };
    let mut row = RemoteMediaRow::new(url, purpose);
    row.actor_id = Some(actor_id);
    insert(conn, std::slice::from_ref(&row))?;
    Ok(Some(row.token))
}

/// Records the stored copy of row `id`, unless another request stored one first (then
/// `false`: the caller removes its own files).
pub fn store_copy(conn: &mut AnyConnection, id: i64, copy: &StoredCopy<'_>) -> QueryResult<bool> {
    diesel::update(
        remote_media::table
            .find(id)
            .filter(remote_media::file_name.is_null()),
    )
    .set((
        remote_media::file_name.eq(copy.file_name),
        remote_media::thumbnail_file_name.eq(copy.thumbnail_file_name),
        remote_media::content_type.eq(copy.content_type),
        remote_media::width.eq(copy.width),
        remote_media::height.eq(copy.height),
        remote_media::thumbnail_width.eq(copy.thumbnail_width),
        remote_media::thumbnail_height.eq(copy.thumbnail_height),
        remote_media::blurhash.eq(copy.blurhash),
        remote_media::byte_size.eq(copy.byte_size),
        remote_media::fetched_at.eq(chrono::Utc::now().naive_utc()),
        remote_media::failed_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records a failed fetch of row `id`.
pub fn fetch_failed(conn: &mut AnyConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(remote_media::table.find(id))
        .set(remote_media::failed_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

/// Up to `limit` images that picture nothing any more (their post and actor are gone).
pub fn orphans(conn: &mut AnyConnection, limit: i64) -> QueryResult<Vec<RemoteMediaRow>> {
    remote_media::table
        .filter(remote_media::post_id.is_null())
        .filter(remote_media::actor_id.is_null())
        .order(remote_media::id)
        .limit(limit)
        .select(RemoteMediaRow::as_select())
        .load(conn)
}

/// Deletes these rows if they still picture nothing (nothing takes an orphan back; the
/// condition only makes that certain).
pub fn delete_orphans(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::delete(
        remote_media::table
            .filter(remote_media::id.eq_any(ids))
            .filter(remote_media::post_id.is_null())
            .filter(remote_media::actor_id.is_null()),
    )
    .execute(conn)
}
