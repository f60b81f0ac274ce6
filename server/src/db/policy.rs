//! The `federation_policy`, `domain_blocks` and `domain_allows` tables.

use super::{
    AnyConnection,
    schema::{domain_allows, domain_blocks, federation_policy},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The one row of settings.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = federation_policy)]
pub struct PolicyRow {
    pub mode: String,
    pub public_list: bool,
    pub version: i64,
}

/// One domain block.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = domain_blocks)]
pub struct DomainBlockRow {
    pub id: i64,
    pub domain: String,
    pub severity: String,
    pub reject_media: bool,
    pub reject_reports: bool,
    pub private_comment: Option<String>,
    pub public_comment: Option<String>,
    pub obfuscate: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One allowed domain.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = domain_allows)]
pub struct DomainAllowRow {
    pub id: i64,
    pub domain: String,
    pub created_at: NaiveDateTime,
}

/// The settings row.
pub fn settings(conn: &mut AnyConnection) -> QueryResult<PolicyRow> {
    federation_policy::table
        .find(1)
        .select(PolicyRow::as_select())
        .get_result(conn)
}

/// The version alone: what every process polls.
pub fn version(conn: &mut AnyConnection) -> QueryResult<i64> {
    federation_policy::table
        .find(1)
        .select(federation_policy::version)
        .get_result(conn)
}

/// Sets the mode and bumps the version.
pub fn set_mode(conn: &mut AnyConnection, mode: &str) -> QueryResult<()> {
    diesel::update(federation_policy::table.find(1))
        .set((
            federation_policy::mode.eq(mode),
            federation_policy::version.eq(federation_policy::version + 1),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Sets whether the block list is public and bumps the version.
pub fn set_public_list(conn: &mut AnyConnection, public: bool) -> QueryResult<()> {
    diesel::update(federation_policy::table.find(1))
        .set((
            federation_policy::public_list.eq(public),
            federation_policy::version.eq(federation_policy::version + 1),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Bumps the version after a change of the rules. Locks the row on PostgreSQL, so changes of
/// two processes are applied one after the other.
pub fn bump(conn: &mut AnyConnection) -> QueryResult<()> {
    diesel::update(federation_policy::table.find(1))
        .set(federation_policy::version.eq(federation_policy::version + 1))
        .execute(conn)
        .map(|_| ())
}

/// Every domain block, by domain.
pub fn blocks(conn: &mut AnyConnection) -> QueryResult<Vec<DomainBlockRow>> {
    domain_blocks::table
        .order(domain_blocks::domain)
        .select(DomainBlockRow::as_select())
        .load(conn)
}

/// The block of exactly this domain.
pub fn block_of(conn: &mut AnyConnection, domain: &str) -> QueryResult<Option<DomainBlockRow>> {
    domain_blocks::table
        .filter(domain_blocks::domain.eq(domain))
        .select(DomainBlockRow::as_select())
        .get_result(conn)
        .optional()
}

/// The block with this id.
pub fn block_by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<DomainBlockRow>> {
    domain_blocks::table
        .find(id)
        .select(DomainBlockRow::as_select())
        .get_result(conn)
        .optional()
}

/// Inserts a block, or replaces the one of the same domain (keeping its id and creation
/// time). Call it after [`bump`], whose row lock orders concurrent changes.
pub fn save_block(conn: &mut AnyConnection, row: &DomainBlockRow) -> QueryResult<()> {
    let updated =
        diesel::update(domain_blocks::table.filter(domain_blocks::domain.eq(&row.domain)))
            .set((
                domain_blocks::severity.eq(&row.severity),
                domain_blocks::reject_media.eq(row.reject_media),
                domain_blocks::reject_reports.eq(row.reject_reports),
                domain_blocks::private_comment.eq(&row.private_comment),
                domain_blocks::public_comment.eq(&row.public_comment),
                domain_blocks::obfuscate.eq(row.obfuscate),
                domain_blocks::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(domain_blocks::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Removes the block of this domain; whether there was one.
pub fn delete_block(conn: &mut AnyConnection, domain: &str) -> QueryResult<bool> {
    diesel::delete(domain_blocks::table.filter(domain_blocks::domain.eq(domain)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Every allowed domain, by domain.
pub fn allows(conn: &mut AnyConnection) -> QueryResult<Vec<DomainAllowRow>> {
    domain_allows::table
        .order(domain_allows::domain)
        .select(DomainAllowRow::as_select())
        .load(conn)
}

/// The allow with this id.
pub fn allow_by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<DomainAllowRow>> {
    domain_allows::table
        .find(id)
        .select(DomainAllowRow::as_select())
        .get_result(conn)
        .optional()
}

/// The allow of exactly this domain.
pub fn allow_of(conn: &mut AnyConnection, domain: &str) -> QueryResult<Option<DomainAllowRow>> {
    domain_allows::table
        .filter(domain_allows::domain.eq(domain))
        .select(DomainAllowRow::as_select())
        .get_result(conn)
        .optional()
}

/// Allows a domain (nothing changes if it is allowed already). Call it after [`bump`].
pub fn insert_allow(conn: &mut AnyConnection, row: &DomainAllowRow) -> QueryResult<()> {
    if allow_of(conn, &row.domain)?.is_none() {
        diesel::insert_into(domain_allows::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Removes the allow of this domain; whether there was one.
pub fn delete_allow(conn: &mut AnyConnection, domain: &str) -> QueryResult<bool> {
    diesel::delete(domain_allows::table.filter(domain_allows::domain.eq(domain)))
        .execute(conn)
        .map(|n| n > 0)
}
