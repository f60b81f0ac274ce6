//! The `access_tokens` table: bearer tokens of apps and scripts, and browsers' sign-in
//! sessions. Only a SHA-256 of each token is kept, so a copy of the database does not let
//! anyone sign in.

use super::{
    AnyConnection,
    actors::ActorRow,
    schema::{access_tokens, actors, oauth_apps, users},
    users::UserRow,
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A token minted on the command line (`hearth token create`).
pub const KIND_CLI: &str = "cli";
/// A token issued to an OAuth app.
pub const KIND_APP: &str = "app";
/// A browser's sign-in session, sent as a cookie and never accepted as a bearer token.
pub const KIND_SESSION: &str = "session";

/// One token (as its hash).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub token_sha256: String,
    pub scopes: String,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub last_used_at: Option<NaiveDateTime>,
    pub app_id: Option<i64>,
    pub refresh_sha256: Option<String>,
    pub kind: String,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub expires_at: Option<NaiveDateTime>,
}

/// Inserts a token.
pub fn insert(conn: &mut AnyConnection, row: &TokenRow) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The unexpired token of one of `kinds` with this hash.
pub fn by_hash(
    conn: &mut AnyConnection,
    sha256: &str,
    kinds: &[&str],
    now: NaiveDateTime,
) -> QueryResult<Option<TokenRow>> {
    let found: Option<TokenRow> = on_engine!(conn, |c| access_tokens::table
        .filter(access_tokens::token_sha256.eq(sha256))
        .filter(
            access_tokens::expires_at
                .is_null()
                .or(access_tokens::expires_at.gt(now)),
        )
        .select(TokenRow::as_select())
        .get_result(c)
        .optional())?;
    Ok(found.filter(|t| kinds.contains(&t.kind.as_str())))
}

/// The unexpired token of one of `kinds` with this hash, with its person's actor and account:
/// one indexed lookup, as every authenticated request makes it, by a statement prepared once
/// per connection (the kind is checked on the one row found, not in the statement). The
/// token of an account still waiting for a moderator's approval is not found: it works once
/// the account is approved.
pub fn signed_in(
    conn: &mut AnyConnection,
    sha256: &str,
    kinds: &[&str],
    now: NaiveDateTime,
) -> QueryResult<Option<(TokenRow, UserRow, ActorRow)>> {
    let found: Option<(TokenRow, UserRow, ActorRow)> = on_engine!(conn, |c| access_tokens::table
        .inner_join(users::table.inner_join(actors::table))
        .filter(access_tokens::token_sha256.eq(sha256))
        .filter(
            access_tokens::expires_at
                .is_null()
                .or(access_tokens::expires_at.gt(now)),
        )
        // The column itself, not `= ?`: a bound value here would make SQLite prepare the
        // statement again on every run (`users_pending` is a partial index on it).
        .filter(users::approved)
        .select((
            TokenRow::as_select(),
            UserRow::as_select(),
            ActorRow::as_select(),
        ))
        .get_result(c)
        .optional())?;
    Ok(found.filter(|(t, _, _)| kinds.contains(&t.kind.as_str())))
}

/// The token whose refresh token has this hash.
pub fn by_refresh_hash(conn: &mut AnyConnection, sha256: &str) -> QueryResult<Option<TokenRow>> {
    access_tokens::table
        .filter(access_tokens::refresh_sha256.eq(sha256))
        .select(TokenRow::as_select())
        .get_result(conn)
        .optional()
}

/// Deletes one token; whether it existed.
pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<bool> {
    diesel::delete(access_tokens::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

/// Deletes a person's tokens of one app; how many.
pub fn delete_for_app(conn: &mut AnyConnection, user_id: i64, app_id: i64) -> QueryResult<usize> {
    diesel::delete(
        access_tokens::table
            .filter(access_tokens::user_id.eq(user_id))
            .filter(access_tokens::app_id.eq(app_id)),
    )
    .execute(conn)
}

/// A person's tokens and sessions, newest first, with the name of each token's app.
pub fn of_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> QueryResult<Vec<(TokenRow, Option<String>)>> {
    access_tokens::table
        .left_join(oauth_apps::table)
        .filter(access_tokens::user_id.eq(user_id))
        .order(access_tokens::created_at.desc())
        .select((TokenRow::as_select(), oauth_apps::name.nullable()))
        .load(conn)
}

/// Deletes every token and session of a person but `keep`; how many.
pub fn delete_all_but(conn: &mut AnyConnection, user_id: i64, keep: i64) -> QueryResult<usize> {
    diesel::delete(
        access_tokens::table
            .filter(access_tokens::user_id.eq(user_id))
            .filter(access_tokens::id.ne(keep)),
    )
    .execute(conn)
}
