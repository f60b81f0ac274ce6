//! The `users` table: what makes a local actor an account.

use super::{
    AnyConnection,
    actors::ActorRow,
    schema::{actors, users},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use hearth_federation::protocol::actor::ActorKind;

/// One local account.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub actor_id: i64,
    pub role: String,
    pub password_hash: String,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
    /// False while the account waits for a moderator's approval.
    pub approved: bool,
    /// What the person told the moderators when asking for the account.
    pub sign_up_reason: Option<String>,
    pub email: Option<String>,
    /// When the person agreed to the rules and privacy notice; `None` if staff made it.
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub agreed_at: Option<NaiveDateTime>,
    pub locale: Option<String>,
    /// The invite it was made with.
    pub invite_id: Option<i64>,
    /// The bio as the person typed it (`Account.source.note`).
    pub note_source: Option<String>,
    /// Posting defaults apps preselect: visibility, sensitive flag, language.
    pub default_privacy: String,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    /// When a moderator suspended it.
    pub suspended_at: Option<NaiveDateTime>,
    /// When a moderator limited it.
    pub limited_at: Option<NaiveDateTime>,
    /// When a moderator had its posts shown as sensitive.
    pub sensitized_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("actor_id", &self.actor_id)
            .field("role", &self.role)
            .field("approved", &self.approved)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Inserts an account row.
pub fn insert_user(conn: &mut AnyConnection, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Saves what a person edits of their account: the bio as typed and the posting defaults.
pub fn save_settings(conn: &mut AnyConnection, row: &UserRow) -> QueryResult<()> {
    diesel::update(users::table.find(row.actor_id))
        .set((
            users::note_source.eq(&row.note_source),
            users::default_privacy.eq(&row.default_privacy),
            users::default_sensitive.eq(row.default_sensitive),
            users::default_language.eq(&row.default_language),
        ))
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

/// The local person with this handle and their account, approved or not (signing in and
/// moderators need the ones still waiting, which every other lookup hides).
pub fn account_by_handle(
    conn: &mut AnyConnection,
    username: &str,
) -> QueryResult<Option<(ActorRow, UserRow)>> {
    let username = username.to_ascii_lowercase();
    on_engine!(conn, |c| actors::table
        .inner_join(users::table)
        .filter(actors::local.eq(true))
        .filter(actors::username.eq(&username))
        .filter(actors::kind.eq(ActorKind::Person.as_str()))
        .select((ActorRow::as_select(), UserRow::as_select()))
        .get_result(c)
        .optional())
}

/// The local person with this row id and their account, approved or not.
pub fn account_by_id(
    conn: &mut AnyConnection,
    actor_id: i64,
) -> QueryResult<Option<(ActorRow, UserRow)>> {
    actors::table
        .inner_join(users::table)
        .filter(actors::id.eq(actor_id))
        .select((ActorRow::as_select(), UserRow::as_select()))
        .get_result(conn)
        .optional()
}

/// Local accounts, oldest first; only those waiting for approval with `pending`.
pub fn accounts(
    conn: &mut AnyConnection,
    pending: Option<bool>,
    limit: i64,
) -> QueryResult<Vec<(ActorRow, UserRow)>> {
    let query = actors::table
        .inner_join(users::table)
        .order(users::created_at.asc())
        .limit(limit)
        .select((ActorRow::as_select(), UserRow::as_select()));
    match pending {
        Some(pending) => query.filter(users::approved.eq(!pending)).load(conn),
        None => query.load(conn),
    }
}

/// Marks an account approved; whether it was waiting.
pub fn approve(conn: &mut AnyConnection, actor_id: i64) -> QueryResult<bool> {
    diesel::update(
        users::table
            .filter(users::actor_id.eq(actor_id))
            .filter(users::approved.eq(false)),
    )
    .set(users::approved.eq(true))
    .execute(conn)
    .map(|n| n > 0)
}

/// How many accounts have `role`.
pub fn count_with_role(conn: &mut AnyConnection, role: &str) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(role))
        .count()
        .get_result(conn)
}

/// Replaces an account's password hash.
pub fn set_password_hash(conn: &mut AnyConnection, actor_id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(actor_id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

/// Saves a moderator's marks on an account: when it was suspended, limited and sensitized
/// (each `None` when not).
pub fn set_standing(conn: &mut AnyConnection, user: &UserRow) -> QueryResult<usize> {
    diesel::update(users::table.find(user.actor_id))
        .set((
            users::suspended_at.eq(user.suspended_at),
            users::limited_at.eq(user.limited_at),
            users::sensitized_at.eq(user.sensitized_at),
        ))
        .execute(conn)
}
