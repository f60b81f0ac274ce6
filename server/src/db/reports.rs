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
    /// One of `service::reports::CATEGORIES`.
    pub category: String,
    /// The numbers of the instance rules cited, space-separated.
    pub rule_ids: String,
    /// Whether the reporter asked for it to go to the target's server.
    pub forward: bool,
    pub created_at: NaiveDateTime,
    /// When a moderator resolved it.
    pub action_taken_at: Option<NaiveDateTime>,
    /// Who resolved it (`None` from the command line).
    pub action_taken_by_id: Option<i64>,
    /// The note they left.
    pub resolution_note: Option<String>,
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

/// Up to `limit` reports, unresolved or resolved ones: `crisis` first, then the newest.
pub fn queue(conn: &mut AnyConnection, resolved: bool, limit: i64) -> QueryResult<Vec<ReportRow>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Integer;
    let mut query = reports::table.select(ReportRow::as_select()).into_boxed();
    query = if resolved {
        query.filter(reports::action_taken_at.is_not_null())
    } else {
        query.filter(reports::action_taken_at.is_null())
    };
    query
        .order((
            sql::<Integer>("CASE WHEN category = 'crisis' THEN 0 ELSE 1 END"),
            reports::id.desc(),
        ))
        .limit(limit)
        .load(conn)
}

/// Marks a report resolved (`Some`: when, by whom, with what note) or open again (`None`).
pub fn set_resolution(
    conn: &mut AnyConnection,
    id: i64,
    resolution: Option<(NaiveDateTime, Option<i64>, Option<String>)>,
) -> QueryResult<usize> {
    let (at, by, note) = match resolution {
        Some((at, by, note)) => (Some(at), by, note),
        None => (None, None, None),
    };
    diesel::update(reports::table.find(id))
        .set((
            reports::action_taken_at.eq(at),
            reports::action_taken_by_id.eq(by),
            reports::resolution_note.eq(note),
        ))
        .execute(conn)
}

/// How many unresolved reports of `category` there are about `target_id`.
pub fn open_about(conn: &mut AnyConnection, target_id: i64, category: &str) -> QueryResult<i64> {
    reports::table
        .filter(reports::target_id.eq(target_id))
        .filter(reports::category.eq(category))
        .filter(reports::action_taken_at.is_null())
        .count()
        .get_result(conn)
}
