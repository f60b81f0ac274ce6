//! The `invites` table: codes that let someone sign up where registration needs one.

use super::{AnyConnection, schema::invites};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One invite (its code only as a hash).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = invites)]
pub struct InviteRow {
    pub id: i64,
    pub code_sha256: String,
    /// The staff member who made it; `None` from the command line.
    pub created_by: Option<i64>,
    /// `None`: any number of uses.
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Inserts an invite.
pub fn insert(conn: &mut AnyConnection, row: &InviteRow) -> QueryResult<()> {
    diesel::insert_into(invites::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The invite whose code has this hash.
pub fn by_hash(conn: &mut AnyConnection, sha256: &str) -> QueryResult<Option<InviteRow>> {
    invites::table
        .filter(invites::code_sha256.eq(sha256))
        .select(InviteRow::as_select())
        .get_result(conn)
        .optional()
}

/// Counts one use of an invite if it has one left and has not expired at `now`; whether it
/// had. The check is in the `UPDATE` itself, so two sign-ups racing for the last use cannot
/// both have it (on PostgreSQL the second waits for the first's row lock and then finds the
/// condition false).
pub fn take_use(conn: &mut AnyConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        invites::table
            .filter(invites::id.eq(id))
            .filter(
                invites::max_uses
                    .is_null()
                    .or(invites::uses.nullable().lt(invites::max_uses)),
            )
            .filter(
                invites::expires_at
                    .is_null()
                    .or(invites::expires_at.gt(now)),
            ),
    )
    .set(invites::uses.eq(invites::uses + 1))
    .execute(conn)
    .map(|n| n == 1)
}
