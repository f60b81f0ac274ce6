//! A person's data archives, prepared in the background, and how far each got.

use super::{AnyConnection, schema::exports};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Being written; `done` of `total` items so far.
pub const PREPARING: &str = "preparing";
/// Written: `file_name` in the media store, `byte_size` bytes.
pub const READY: &str = "ready";
/// Stopped by an error, or interrupted (its process stopped).
pub const FAILED: &str = "failed";

/// One archive.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = exports, treat_none_as_default_value = false)]
pub struct ExportRow {
    pub id: i64,
    pub person_id: i64,
    /// [`PREPARING`], [`READY`] or [`FAILED`].
    pub state: String,
    /// Items (posts, files) written so far.
    pub done: i64,
    /// Items to write, as far as known.
    pub total: i64,
    /// The ZIP, in the media store, once ready.
    pub file_name: Option<String>,
    pub byte_size: Option<i64>,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub requested_at: NaiveDateTime,
    /// When its progress last moved.
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub updated_at: NaiveDateTime,
}

/// Stores a new archive row.
pub fn insert(conn: &mut AnyConnection, row: &ExportRow) -> QueryResult<()> {
    diesel::insert_into(exports::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// `person_id`'s archive `id`.
pub fn of_person(
    conn: &mut AnyConnection,
    person_id: i64,
    id: i64,
) -> QueryResult<Option<ExportRow>> {
    exports::table
        .find(id)
        .filter(exports::person_id.eq(person_id))
        .select(ExportRow::as_select())
        .get_result(conn)
        .optional()
}

/// `person_id`'s archives, newest first.
pub fn all_of_person(conn: &mut AnyConnection, person_id: i64) -> QueryResult<Vec<ExportRow>> {
    exports::table
        .filter(exports::person_id.eq(person_id))
        .order(exports::id.desc())
        .select(ExportRow::as_select())
        .load(conn)
}

/// Records how far a preparation got; false if the archive is gone (its owner deleted their
/// account meanwhile) or no longer being prepared.
pub fn set_progress(
    conn: &mut AnyConnection,
    id: i64,
    done: i64,
    total: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(exports::table.find(id).filter(exports::state.eq(PREPARING)))
        .set((
            exports::done.eq(done),
            exports::total.eq(total),
            exports::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Marks an archive ready, written to `file_name`; false if it is gone or was given up on
/// meanwhile (the file is then the caller's to remove).
pub fn set_ready(
    conn: &mut AnyConnection,
    id: i64,
    file_name: &str,
    byte_size: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(exports::table.find(id).filter(exports::state.eq(PREPARING)))
        .set((
            exports::state.eq(READY),
            exports::done.eq(exports::total),
            exports::file_name.eq(file_name),
            exports::byte_size.eq(byte_size),
            exports::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n > 0)
}

/// Marks an archive failed, if it was still being prepared.
pub fn set_failed(conn: &mut AnyConnection, id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(exports::table.find(id).filter(exports::state.eq(PREPARING)))
        .set((exports::state.eq(FAILED), exports::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

/// Marks failed every preparation whose progress has not moved since `stalled_since`: the
/// process preparing it stopped.
pub fn give_up_stalled(conn: &mut AnyConnection, stalled_since: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        exports::table
            .filter(exports::state.eq(PREPARING))
            .filter(exports::updated_at.lt(stalled_since)),
    )
    .set(exports::state.eq(FAILED))
    .execute(conn)
    .map(|_| ())
}

/// At most `limit` archives requested before `cutoff`.
pub fn requested_before(
    conn: &mut AnyConnection,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    exports::table
        .filter(exports::requested_at.lt(cutoff))
        .order(exports::requested_at.asc())
        .limit(limit)
        .select(ExportRow::as_select())
        .load(conn)
}

/// Deletes the archives `ids`.
pub fn delete(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<()> {
    diesel::delete(exports::table.filter(exports::id.eq_any(ids)))
        .execute(conn)
        .map(|_| ())
}

/// The files of `person_id`'s archives.
pub fn file_names_of(conn: &mut AnyConnection, person_id: i64) -> QueryResult<Vec<String>> {
    exports::table
        .filter(exports::person_id.eq(person_id))
        .filter(exports::file_name.is_not_null())
        .select(exports::file_name.assume_not_null())
        .load(conn)
}
