//! Reports: a local person tells the moderators about an account and, optionally, some of its
//! posts. Stored for the moderation work (and the federated `Flag`) that a later change adds;
//! the admins and moderators are notified in the report's own transaction.

use super::{Context, posts::can_view};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
        posts,
        reports::{self, ReportRow},
    },
    error::FieldErrors,
};
use chrono::Utc;

/// Longest comment accepted, in characters (Mastodon's limit).
pub const MAX_COMMENT: usize = 1000;

/// Most posts one report may point at.
pub const MAX_POSTS: usize = 100;

/// Mastodon's report categories.
pub const CATEGORIES: [&str; 4] = ["other", "spam", "legal", "violation"];

/// A report as the client API submits it.
#[derive(Debug, Default)]
pub struct NewReport {
    /// The account reported.
    pub account_id: i64,
    /// The posts pointed at (ids as given).
    pub status_ids: Vec<String>,
    /// What the reporter says.
    pub comment: String,
    /// One of [`CATEGORIES`]; `other` when not given, `violation` when rules are cited.
    pub category: Option<String>,
    /// The numbers of the instance rules cited (as given).
    pub rule_ids: Vec<String>,
    /// Whether the report should also go to a remote account's server.
    pub forward: bool,
}

/// A stored report with its target and posts: what the `Report` entity shows.
#[derive(Clone, Debug)]
pub struct Filed {
    /// The report.
    pub row: ReportRow,
    /// The account reported.
    pub target: ActorRow,
    /// The posts it points at.
    pub post_ids: Vec<i64>,
}

/// Files a report by `reporter` about another account, against an instance with `rules`
/// rules (numbered from 1). Refused with 422 when a field is wrong (a comment over
/// [`MAX_COMMENT`] characters, an unknown category or rule, a report about oneself), 404 when
/// the account, or a post among `status_ids` that is the account's and the reporter may see,
/// is not found.
pub async fn file(
    ctx: &Context,
    reporter: ActorRow,
    new: NewReport,
    rules: usize,
) -> Result<Filed, Error> {
    let mut errors = FieldErrors::default();
    if new.comment.chars().count() > MAX_COMMENT {
        errors.add(
            "comment",
            "ERR_TOO_LONG",
            format!("is too long (maximum is {MAX_COMMENT} characters)"),
        );
    }
    let rule_numbers: Vec<usize> = new
        .rule_ids
        .iter()
        .filter_map(|r| r.trim().parse().ok().filter(|n| (1..=rules).contains(n)))
        .collect();
    if rule_numbers.len() != new.rule_ids.len() {
        errors.add("rule_ids", "ERR_INVALID", "are not rules of this server");
    }
    let category = if new.rule_ids.is_empty() {
        new.category
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "other".into())
    } else {
        "violation".into()
    };
    if !CATEGORIES.contains(&category.as_str()) {
        errors.add(
            "category",
            "ERR_INCLUSION",
            format!("is not one of {}", CATEGORIES.join(", ")),
        );
    } else if category == "violation" && new.rule_ids.is_empty() {
        errors.add("rule_ids", "ERR_BLANK", "must name the rules broken");
    }
    if new.status_ids.len() > MAX_POSTS {
        errors.add(
            "status_ids",
            "ERR_TOO_LONG",
            format!("are too many (maximum is {MAX_POSTS})"),
        );
    }
    if new.account_id == reporter.id {
        errors.add("account_id", "ERR_INVALID", "cannot be your own account");
    }
    errors.into_result()?;
    let mut rule_numbers = rule_numbers;
    rule_numbers.sort_unstable();
    rule_numbers.dedup();
    let rule_ids = rule_numbers
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    ctx.write(move |conn, _| {
        let target = actors::by_id(conn, new.account_id)?
            .ok_or_else(|| Error::not_found("Record not found"))?;
        let post_ids = reported_posts(conn, &reporter, &target, &new.status_ids)?;
        let row = ReportRow {
            id: crate::db::id::new_id(),
            reporter_id: reporter.id,
            target_id: target.id,
            comment: new.comment,
            category,
            rule_ids,
            // Only another server can be forwarded to; the `Flag` is sent by a later change.
            forward: new.forward && !target.local,
            created_at: Utc::now().naive_utc(),
            action_taken_at: None,
        };
        reports::insert(conn, &row, &post_ids)?;
        super::notifications::reported(conn, &row)?;
        Ok(Filed {
            row,
            target,
            post_ids,
        })
    })
    .await
}

/// The posts a report points at: each must be the target's and one the reporter may see
/// (404 otherwise, as Mastodon answers), deleted ones included (they may be the reason).
fn reported_posts(
    conn: &mut AnyConnection,
    reporter: &ActorRow,
    target: &ActorRow,
    status_ids: &[String],
) -> Result<Vec<i64>, Error> {
    let mut ids = Vec::new();
    for raw in status_ids {
        let post = raw
            .trim()
            .parse::<i64>()
            .ok()
            .map(|id| posts::by_id(conn, id))
            .transpose()?
            .flatten()
            .filter(|p| p.author_id == target.id)
            .ok_or_else(|| Error::not_found("Record not found"))?;
        let visible = if post.is_deleted() {
            // A deleted post is shown to no one; the reporter may still point at it if they
            // could see it before (its visibility says so).
            let live = crate::db::posts::PostRow {
                deleted_at: None,
                ..post.clone()
            };
            can_view(conn, &live, Some(reporter.id))?
        } else {
            can_view(conn, &post, Some(reporter.id))?
        };
        if !visible {
            return Err(Error::not_found("Record not found"));
        }
        if !ids.contains(&post.id) {
            ids.push(post.id);
        }
    }
    Ok(ids)
}

/// The stored reports with these ids, with their targets and posts.
pub fn filed(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<Filed>, Error> {
    let rows = reports::by_ids(conn, ids)?;
    let report_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let posts = reports::posts_of(conn, &report_ids)?;
    let mut filed = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(target) = actors::by_id(conn, row.target_id)? else {
            continue;
        };
        let post_ids = posts
            .iter()
            .filter(|(report, _)| *report == row.id)
            .map(|(_, post)| *post)
            .collect();
        filed.push(Filed {
            row,
            target,
            post_ids,
        });
    }
    Ok(filed)
}
