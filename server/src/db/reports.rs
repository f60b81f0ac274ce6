//! The `reports` and `report_posts` tables: what local people reported to the moderators.

use super::{
    AnyConnection,
    schema::{report_posts, reports},
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One report.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = reports)]
pub struct ReportRow {
    pub id: i64,
    /// The local person who filed it.
    pub reporter_id: i64,
    /// The account reported.
    pub target_id: i64,
    pub comment: String,
    /// `other`, `spam`, `legal` or `violation`.
    pub category: String,
    /// The numbers of the instance rules cited, space-separated.
    pub rule_ids: String,
    /// Whether the reporter asked for it to go to the target's server.
    pub forward: bool,
    pub created_at: NaiveDateTime,
    /// When a moderator acted on it.
    pub action_taken_at: Option<NaiveDateTime>,
}

impl ReportRow {
    /// The rule numbers cited.
    pub fn rules(&self) -> Vec<String> {
        self.rule_ids
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

/// Stores a report and the posts it points at.
pub fn insert(conn: &mut AnyConnection, row: &ReportRow, post_ids: &[i64]) -> QueryResult<()> {
    diesel::insert_into(reports::table)
        .values(row)
        .execute(conn)?;
    for post_id in post_ids {
        diesel::insert_into(report_posts::table)
            .values((
                report_posts::report_id.eq(row.id),
                report_posts::post_id.eq(post_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The reports with these ids.
pub fn by_ids(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<ReportRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    reports::table
        .filter(reports::id.eq_any(ids))
        .select(ReportRow::as_select())
        .load(conn)
}

/// The posts each of these reports points at, as `(report, post)` pairs.
pub fn posts_of(conn: &mut AnyConnection, report_ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    if report_ids.is_empty() {
        return Ok(Vec::new());
    }
    report_posts::table
        .filter(report_posts::report_id.eq_any(report_ids))
        .order((report_posts::report_id, report_posts::post_id))
        .select((report_posts::report_id, report_posts::post_id))
        .load(conn)
}
