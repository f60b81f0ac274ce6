//! Clinic announcements, who read them and how people reacted.

use super::{
    AnyConnection,
    schema::{announcement_posts, announcement_reactions, announcement_reads, announcements},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One announcement.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = announcements, treat_none_as_default_value = false)]
pub struct AnnouncementRow {
    pub id: i64,
    /// HTML.
    pub content: String,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub starts_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub ends_at: Option<NaiveDateTime>,
    pub all_day: bool,
    /// Also posted into every local group, pinned.
    pub urgent: bool,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub published_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub updated_at: NaiveDateTime,
}

/// Stores a new announcement.
pub fn insert(conn: &mut AnyConnection, row: &AnnouncementRow) -> QueryResult<()> {
    diesel::insert_into(announcements::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The announcement with this id.
pub fn by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<AnnouncementRow>> {
    announcements::table
        .find(id)
        .select(AnnouncementRow::as_select())
        .get_result(conn)
        .optional()
}

/// Every announcement, newest first.
pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<AnnouncementRow>> {
    announcements::table
        .order(announcements::published_at.desc())
        .select(AnnouncementRow::as_select())
        .load(conn)
}

/// Deletes an announcement (its reads and reactions go with it); whether there was one.
pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<bool> {
    diesel::delete(announcements::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Of the announcements `ids`, those `actor` dismissed.
pub fn read_by(conn: &mut AnyConnection, actor: i64, ids: &[i64]) -> QueryResult<Vec<i64>> {
    announcement_reads::table
        .filter(announcement_reads::actor_id.eq(actor))
        .filter(announcement_reads::announcement_id.eq_any(ids))
        .select(announcement_reads::announcement_id)
        .load(conn)
}

/// Marks an announcement as dismissed by `actor` (idempotent).
pub fn mark_read(conn: &mut AnyConnection, id: i64, actor: i64) -> QueryResult<()> {
    if read_by(conn, actor, &[id])?.is_empty() {
        diesel::insert_into(announcement_reads::table)
            .values((
                announcement_reads::announcement_id.eq(id),
                announcement_reads::actor_id.eq(actor),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The reactions to the announcements `ids`: `(announcement, actor, name)`.
pub fn reactions(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i64, String)>> {
    announcement_reactions::table
        .filter(announcement_reactions::announcement_id.eq_any(ids))
        .order(announcement_reactions::name)
        .select((
            announcement_reactions::announcement_id,
            announcement_reactions::actor_id,
            announcement_reactions::name,
        ))
        .load(conn)
}

/// Adds or removes `actor`'s reaction `name` (idempotent).
pub fn set_reaction(
    conn: &mut AnyConnection,
    id: i64,
    actor: i64,
    name: &str,
    on: bool,
) -> QueryResult<()> {
    let mine = announcement_reactions::table
        .filter(announcement_reactions::announcement_id.eq(id))
        .filter(announcement_reactions::actor_id.eq(actor))
        .filter(announcement_reactions::name.eq(name));
    let present = mine.count().get_result::<i64>(conn)? > 0;
    if on && !present {
        diesel::insert_into(announcement_reactions::table)
            .values((
                announcement_reactions::announcement_id.eq(id),
                announcement_reactions::actor_id.eq(actor),
                announcement_reactions::name.eq(name),
            ))
            .execute(conn)?;
    } else if !on && present {
        diesel::delete(mine).execute(conn)?;
    }
    Ok(())
}

/// Records that the urgent announcement `id` was posted as `post_id`.
pub fn add_post(conn: &mut AnyConnection, id: i64, post_id: i64) -> QueryResult<()> {
    diesel::insert_into(announcement_posts::table)
        .values((
            announcement_posts::announcement_id.eq(id),
            announcement_posts::post_id.eq(post_id),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The posts the announcement `id` was posted as (those not deleted since).
pub fn posts_of(conn: &mut AnyConnection, id: i64) -> QueryResult<Vec<i64>> {
    announcement_posts::table
        .filter(announcement_posts::announcement_id.eq(id))
        .select(announcement_posts::post_id)
        .load(conn)
}
