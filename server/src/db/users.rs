//! The `users` table: what makes a local actor an account.

use super::{AnyConnection, schema::users};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One local account.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub actor_id: i64,
    pub role: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("actor_id", &self.actor_id)
            .field("role", &self.role)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

/// Inserts an account row.
pub fn insert_user(conn: &mut AnyConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The account of a local actor.
pub fn user_by_actor(conn: &mut AnyConnection, actor_id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(actor_id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// How many accounts have `role`.
pub fn count_with_role(conn: &mut AnyConnection, role: &str) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(role))
        .count()
        .get_result(conn)
}
