//! `Idempotency-Key`s of new posts: the same key from the same person within an hour names
//! the post it made. Kept in the database, so every server process sees them.

use super::{AnyConnection, schema::idempotency_keys};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;

/// How long a key holds (as Mastodon keeps them).
pub const LIFETIME: TimeDelta = TimeDelta::hours(1);

/// The post a person's key made within the last hour.
pub fn post_of(
    conn: &mut AnyConnection,
    actor_id: i64,
    key_sha256: &str,
) -> QueryResult<Option<i64>> {
    idempotency_keys::table
        .filter(idempotency_keys::actor_id.eq(actor_id))
        .filter(idempotency_keys::key_sha256.eq(key_sha256))
        .filter(idempotency_keys::created_at.gt(Utc::now().naive_utc() - LIFETIME))
        .select(idempotency_keys::post_id)
        .get_result(conn)
        .optional()
}

/// Forgets a key whose post (`post_id`) was deleted: the key may then make a new post.
pub fn forget(
    conn: &mut AnyConnection,
    actor_id: i64,
    key_sha256: &str,
    post_id: i64,
) -> QueryResult<()> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::actor_id.eq(actor_id))
            .filter(idempotency_keys::key_sha256.eq(key_sha256))
            .filter(idempotency_keys::post_id.eq(post_id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Records that a person's key made `post_id`, dropping the person's expired keys. A key
/// recorded meanwhile by another process makes this fail with a unique violation (and the
/// transaction, with the post it wrote, is rolled back).
pub fn record(
    conn: &mut AnyConnection,
    actor_id: i64,
    key_sha256: &str,
    post_id: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::actor_id.eq(actor_id))
            .filter(idempotency_keys::created_at.le(now - LIFETIME)),
    )
    .execute(conn)?;
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::actor_id.eq(actor_id),
            idempotency_keys::key_sha256.eq(key_sha256),
            idempotency_keys::post_id.eq(post_id),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}
