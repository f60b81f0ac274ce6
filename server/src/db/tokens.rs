//! The `access_tokens` table. Only a SHA-256 of each token is kept, so a copy of the
//! database does not let anyone sign in.

use super::{AnyConnection, schema::access_tokens};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One token (as its hash).
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub user_id: i64,
    pub token_sha256: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// Inserts a token.
pub fn insert(conn: &mut AnyConnection, row: &TokenRow) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The token with this hash.
pub fn by_hash(conn: &mut AnyConnection, sha256: &str) -> QueryResult<Option<TokenRow>> {
    access_tokens::table
        .filter(access_tokens::token_sha256.eq(sha256))
        .select(TokenRow::as_select())
        .get_result(conn)
        .optional()
}
