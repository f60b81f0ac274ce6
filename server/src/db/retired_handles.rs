//! Handles of deleted local accounts, held back for a while so that nobody can take one and
//! pass for the person who left. Only a hash of the handle is kept.

use super::AnyConnection;
use super::schema::retired_handles;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// The stored form of a handle: the SHA-256 of its lower-case spelling.
pub fn hashed(username: &str) -> String {
    format!(
        "{:x}",
        Sha256::digest(username.to_ascii_lowercase().as_bytes())
    )
}

/// Holds `username` back until `until` (a later retirement of the same handle extends it).
pub fn retire(conn: &mut AnyConnection, username: &str, until: NaiveDateTime) -> QueryResult<()> {
    let hash = hashed(username);
    diesel::delete(retired_handles::table.find(&hash)).execute(conn)?;
    diesel::insert_into(retired_handles::table)
        .values((
            retired_handles::handle_sha256.eq(&hash),
            retired_handles::until.eq(until),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Whether `username` is held back at `now`.
pub fn is_retired(
    conn: &mut AnyConnection,
    username: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    retired_handles::table
        .find(hashed(username))
        .filter(retired_handles::until.gt(now))
        .count()
        .get_result::<i64>(conn)
        .map(|n| n > 0)
}
