//! The `oauth_apps` and `oauth_codes` tables.

use super::{
    AnyConnection,
    schema::{oauth_apps, oauth_codes},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// An app registered by a client. Only a SHA-256 of its secret is kept.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_apps)]
pub struct AppRow {
    pub id: i64,
    pub client_id: String,
    pub client_secret_sha256: String,
    pub name: String,
    pub website: Option<String>,
    /// One URI per line.
    pub redirect_uris: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
}

impl AppRow {
    /// The registered redirect URIs.
    pub fn redirect_uri_list(&self) -> Vec<&str> {
        self.redirect_uris
            .lines()
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// An authorization code (as its hash), valid for a few minutes and used once.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_codes)]
pub struct CodeRow {
    pub code_sha256: String,
    pub app_id: i64,
    pub user_id: i64,
    pub redirect_uri: String,
    pub scopes: String,
    pub code_challenge: Option<String>,
    pub expires_at: NaiveDateTime,
}

/// Inserts an app.
pub fn insert_app(conn: &mut AnyConnection, row: &AppRow) -> QueryResult<()> {
    diesel::insert_into(oauth_apps::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The app with this client id.
pub fn app_by_client_id(conn: &mut AnyConnection, client_id: &str) -> QueryResult<Option<AppRow>> {
    oauth_apps::table
        .filter(oauth_apps::client_id.eq(client_id))
        .select(AppRow::as_select())
        .get_result(conn)
        .optional()
}

/// The app with this id.
pub fn app_by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<AppRow>> {
    oauth_apps::table
        .find(id)
        .select(AppRow::as_select())
        .get_result(conn)
        .optional()
}

/// Inserts a code.
pub fn insert_code(conn: &mut AnyConnection, row: &CodeRow) -> QueryResult<()> {
    diesel::insert_into(oauth_codes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Takes the code with this hash: deleted as it is read, so it works once.
pub fn take_code(conn: &mut AnyConnection, sha256: &str) -> QueryResult<Option<CodeRow>> {
    let code = oauth_codes::table
        .find(sha256)
        .select(CodeRow::as_select())
        .get_result(conn)
        .optional()?;
    if code.is_some() {
        diesel::delete(oauth_codes::table.find(sha256)).execute(conn)?;
    }
    Ok(code)
}

/// Deletes codes that expired before `now`.
pub fn delete_expired_codes(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(oauth_codes::table.filter(oauth_codes::expires_at.lt(now))).execute(conn)
}

/// Deletes a person's codes not yet exchanged for a token.
pub fn delete_codes_of(conn: &mut AnyConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(oauth_codes::table.filter(oauth_codes::user_id.eq(user_id))).execute(conn)
}
