//! The `users` and `support_groups` tables: what makes a local actor an account or a group.

use super::{
    AnyConnection,
    schema::{support_groups, users},
};
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

/// One local support group.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = support_groups)]
pub struct GroupRow {
    pub actor_id: i64,
    pub visibility: String,
    pub join_policy: String,
    pub created_at: NaiveDateTime,
}

/// Inserts an account row.
pub fn insert_user(conn: &mut AnyConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Inserts a group row.
pub fn insert_group(conn: &mut AnyConnection, row: &GroupRow) -> QueryResult<()> {
    diesel::insert_into(support_groups::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The account of a local actor.
pub fn user_by_actor(conn: &mut AnyConnection, actor_id: i64) -> QueryResult<Option<UserRow>> {
    users::table
        .find(actor_id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// How many accounts have `role`.
pub fn count_with_role(conn: &mut AnyConnection, role: &str) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(role))
        .count()
        .get_result(conn)
}
