//! The `media_attachments` table: uploaded images and the post each belongs to.

use super::{AnyConnection, schema::media_attachments};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One stored image.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = media_attachments)]
pub struct MediaRow {
    pub id: i64,
    /// The local person who uploaded it.
    pub owner_id: i64,
    /// The post it is attached to; `None` until then (only its owner may see it).
    pub post_id: Option<i64>,
    /// The stored file's media type (`image/jpeg`, `image/png`, `image/gif`).
    pub content_type: String,
    /// The file's name under `<data_dir>/media/`.
    pub file_name: String,
    /// The thumbnail's name under `<data_dir>/media/`.
    pub thumbnail_file_name: String,
    pub width: i32,
    pub height: i32,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
    pub blurhash: String,
    /// Alt text.
    pub description: Option<String>,
    /// Focal point, each in -1.0..=1.0 (Mastodon's convention: 0,0 is the centre).
    pub focus_x: f64,
    pub focus_y: f64,
    /// Size of the stored file.
    pub byte_size: i64,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
    /// `avatar` or `header` while its owner uses it as such: anyone may see it then.
    pub profile: Option<String>,
}

/// Inserts an image's row.
pub fn insert(conn: &mut AnyConnection, row: &MediaRow) -> QueryResult<()> {
    on_engine!(conn, |c| diesel::insert_into(media_attachments::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// The image with this id.
pub fn by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<MediaRow>> {
    on_engine!(conn, |c| media_attachments::table
        .find(id)
        .select(MediaRow::as_select())
        .get_result(c)
        .optional())
}

/// The image stored under `name`, as its full-size file or as its thumbnail.
pub fn by_file_name(
    conn: &mut AnyConnection,
    name: &str,
    thumbnail: bool,
) -> QueryResult<Option<MediaRow>> {
    if thumbnail {
        on_engine!(conn, |c| media_attachments::table
            .filter(media_attachments::thumbnail_file_name.eq(name))
            .select(MediaRow::as_select())
            .get_result(c)
            .optional())
    } else {
        on_engine!(conn, |c| media_attachments::table
            .filter(media_attachments::file_name.eq(name))
            .select(MediaRow::as_select())
            .get_result(c)
            .optional())
    }
}

/// A post's images, in the order they were uploaded.
pub fn for_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<Vec<MediaRow>> {
    on_engine!(conn, |c| media_attachments::table
        .filter(media_attachments::post_id.eq(post_id))
        .order(media_attachments::id)
        .select(MediaRow::as_select())
        .load(c))
}

/// Changes an image's alt text and focal point.
pub fn update_description(
    conn: &mut AnyConnection,
    id: i64,
    description: Option<&str>,
    focus: (f64, f64),
) -> QueryResult<()> {
    diesel::update(media_attachments::table.find(id))
        .set((
            media_attachments::description.eq(description),
            media_attachments::focus_x.eq(focus.0),
            media_attachments::focus_y.eq(focus.1),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Attaches `ids` to `post_id`, if each is `owner_id`'s and attached to nothing yet. Returns
/// how many were attached: fewer than `ids.len()` means some were not (the caller rolls back).
pub fn attach(
    conn: &mut AnyConnection,
    owner_id: i64,
    post_id: i64,
    ids: &[i64],
) -> QueryResult<usize> {
    diesel::update(
        media_attachments::table
            .filter(media_attachments::id.eq_any(ids))
            .filter(media_attachments::owner_id.eq(owner_id))
            .filter(media_attachments::post_id.is_null()),
    )
    .set(media_attachments::post_id.eq(Some(post_id)))
    .execute(conn)
}

/// Lets go of the images attached to `post_id` but not in `keep` (they become unattached).
pub fn detach_except(conn: &mut AnyConnection, post_id: i64, keep: &[i64]) -> QueryResult<usize> {
    diesel::update(
        media_attachments::table
            .filter(media_attachments::post_id.eq(post_id))
            .filter(media_attachments::id.ne_all(keep)),
    )
    .set(media_attachments::post_id.eq(None::<i64>))
    .execute(conn)
}

/// Makes `id` (its owner's own upload) the owner's `profile` image (`avatar` or `header`),
/// letting go of the one it replaces, which the clean-up then removes.
pub fn set_profile(
    conn: &mut AnyConnection,
    owner_id: i64,
    id: i64,
    profile: &str,
) -> QueryResult<()> {
    diesel::update(
        media_attachments::table
            .filter(media_attachments::owner_id.eq(owner_id))
            .filter(media_attachments::profile.eq(profile)),
    )
    .set(media_attachments::profile.eq(None::<String>))
    .execute(conn)?;
    diesel::update(
        media_attachments::table
            .find(id)
            .filter(media_attachments::owner_id.eq(owner_id)),
    )
    .set(media_attachments::profile.eq(Some(profile)))
    .execute(conn)
    .map(|_| ())
}

/// Up to `limit` uploads made before `cutoff` and never attached to a post nor used as an
/// avatar or header.
pub fn unattached_before(
    conn: &mut AnyConnection,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<MediaRow>> {
    media_attachments::table
        .filter(media_attachments::post_id.is_null())
        .filter(media_attachments::profile.is_null())
        .filter(media_attachments::created_at.lt(cutoff))
        .order(media_attachments::created_at)
        .limit(limit)
        .select(MediaRow::as_select())
        .load(conn)
}

/// Deletes these uploads if they are still unattached (a post may have taken one since they
/// were listed).
pub fn delete_unattached(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
    conn.write_transaction(|conn| {
        let still: Vec<i64> = media_attachments::table
            .filter(media_attachments::id.eq_any(ids))
            .filter(media_attachments::post_id.is_null())
            .filter(media_attachments::profile.is_null())
            .select(media_attachments::id)
            .load(conn)?;
        diesel::delete(media_attachments::table.filter(media_attachments::id.eq_any(&still)))
            .execute(conn)?;
        Ok(still)
    })
}

/// How many images are stored (tests check that a refused upload stored nothing).
pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    media_attachments::table.count().get_result(conn)
}

/// Every upload of `owner_id`: attached, unattached, avatar and header.
pub fn owned_by(conn: &mut AnyConnection, owner_id: i64) -> QueryResult<Vec<MediaRow>> {
    media_attachments::table
        .filter(media_attachments::owner_id.eq(owner_id))
        .select(MediaRow::as_select())
        .load(conn)
}
