//! Reports: a local person tells the moderators about an account and, optionally, some of its
//! posts, in one of the categories of a health community; the admins and moderators are
//! notified in the report's own transaction. Moderators read the queue (`crisis` first) and
//! resolve reports, each read and each decision on the audit record.

use super::{
    Context,
    accounts::Role,
    audit::{self, Acting, Action, Entry, Target},
    posts::can_view,
};
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
use chrono::{SubsecRound, Utc};
use hearth_federation::protocol::actor::ActorKind;

/// Longest comment accepted, in characters (Mastodon's limit).
pub const MAX_COMMENT: usize = 1000;

/// Most posts one report may point at.
pub const MAX_POSTS: usize = 100;

/// Hearth's report categories, fit for a health community: false or dangerous health claims,
/// a risk of harm to self or others, someone's private (health) information exposed,
/// harassment, spam, anything else. A report citing instance rules without one of these is a
/// `violation`, as on Mastodon.
pub const CATEGORIES: [&str; 6] = [
    "misinformation",
    "crisis",
    "privacy",
    "harassment",
    "spam",
    "other",
];

/// The category a report is stored with, from what the app sent: one of [`CATEGORIES`], or
/// Mastodon's (`legal` is taken as `privacy`: in a clinic's community unlawful content is
/// mostly someone's health data; `violation`, or no category, with rules cited is
/// `violation`). `Err` names the field that is wrong and why.
fn stored_category(
    given: Option<&str>,
    rules_cited: bool,
) -> Result<String, (&'static str, &'static str, String)> {
    let given = given
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty());
    match given.as_deref() {
        None | Some("other" | "violation") if rules_cited => Ok("violation".into()),
        None => Ok("other".into()),
        Some("violation") => Err(("rule_ids", "ERR_BLANK", "must name the rules broken".into())),
        Some("legal") => Ok("privacy".into()),
        Some(c) if CATEGORIES.contains(&c) => Ok(c.to_owned()),
        Some(_) => Err((
            "category",
            "ERR_INCLUSION",
            format!("is not one of {}, legal, violation", CATEGORIES.join(", ")),
        )),
    }
}

/// The category as Mastodon's apps know them (`spam`, `violation`, `other`); Hearth's own is
/// shown beside it.
pub fn mastodon_category(row: &ReportRow) -> &'static str {
    match row.category.as_str() {
        "spam" => "spam",
        "violation" => "violation",
        _ if !row.rule_ids.is_empty() => "violation",
        _ => "other",
    }
}

/// A report as the client API submits it.
#[derive(Debug, Default)]
pub struct NewReport {
    /// The account reported.
    pub account_id: i64,
    /// The posts pointed at (ids as given).
    pub status_ids: Vec<String>,
    /// What the reporter says.
    pub comment: String,
    /// One of [`CATEGORIES`] or of Mastodon's; `other` when not given, `violation` when only
    /// rules are cited.
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
    let category = match stored_category(new.category.as_deref(), !new.rule_ids.is_empty()) {
        Ok(category) => category,
        Err((field, code, description)) => {
            errors.add(field, code, description);
            String::new()
        }
    };
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
    ctx.write(move |conn, ctx| {
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
            // Only another server can be forwarded to.
            forward: new.forward && !target.local,
            created_at: Utc::now().naive_utc(),
            action_taken_at: None,
            action_taken_by_id: None,
            resolution_note: None,
        };
        reports::insert(conn, &row, &post_ids)?;
        super::notifications::reported(conn, &row)?;
        if row.category == "crisis" && target.local && target.actor_kind() == ActorKind::Person {
            send_crisis_resources(conn, ctx, &target)?;
        }
        if row.forward {
            forward(conn, ctx, &row, &target, &post_ids)?;
        }
        Ok(Filed {
            row,
            target,
            post_ids,
        })
    })
    .await
}

/// A `crisis` report about a local person: they are sent the clinic's crisis resources (the
/// text an admin set; nothing if none is) as a direct message from the instance actor, which
/// every Mastodon app shows (with a `mention` notification), in the report's transaction.
/// Sent for the first open crisis report about them only: more reports while it is open do
/// not send it again. The message names neither the report nor the reporter.
fn send_crisis_resources(
    conn: &mut AnyConnection,
    ctx: &Context,
    target: &ActorRow,
) -> Result<(), Error> {
    if reports::open_about(conn, target.id, "crisis")? > 1 {
        return Ok(());
    }
    let Some(text) = super::settings::crisis_text(conn)? else {
        return Ok(());
    };
    let instance = actors::by_ap_id(conn, ctx.urls.instance_actor().as_str())?
        .ok_or_else(|| Error::Internal("no instance actor".into()))?;
    let href = target
        .profile_url
        .clone()
        .unwrap_or_else(|| target.ap_id.clone());
    let written = format!("@{} {text}", target.username);
    let html = super::content::render_plain(
        &written,
        |m| {
            (m.domain.is_none() && m.name.eq_ignore_ascii_case(&target.username))
                .then(|| href.clone())
        },
        |tag| super::tags::tag_url(&ctx.urls, tag).to_string(),
    );
    let id = crate::db::id::new_id();
    let ap_id = ctx.urls.path(&format!("/posts/{id}")).to_string();
    let mut row = posts::new_row(ap_id, "Note", instance.id, html, "direct", true);
    row.id = id;
    row.published_at = Utc::now().trunc_subsecs(0).naive_utc();
    row.url = Some(row.ap_id.clone());
    row.source_text = Some(written);
    posts::insert(conn, &row)?;
    posts::add_mentions(conn, row.id, &[target.id])?;
    super::streaming::emit(super::streaming::Event::Posted { post: row.id });
    super::conversations::record(conn, &row)?;
    super::notifications::post_created(conn, &row, &[target.id])
}

/// Sends a report about a remote account to its server as a `Flag` from this instance's
/// actor (the reporter stays anonymous), with the comment, the posts and Hearth's category.
fn forward(
    conn: &mut AnyConnection,
    ctx: &Context,
    row: &ReportRow,
    target: &ActorRow,
    post_ids: &[i64],
) -> Result<(), Error> {
    let instance = actors::by_ap_id(conn, ctx.urls.instance_actor().as_str())?
        .ok_or_else(|| Error::Internal("no instance actor".into()))?;
    let mut objects = vec![super::stored_url(&target.ap_id)?];
    for id in post_ids {
        if let Some(post) = posts::by_id(conn, *id)? {
            objects.push(super::stored_url(&post.ap_id)?);
        }
    }
    let flag = hearth_federation::activities::builders::flag(
        &ctx.activity_id("flag"),
        &super::stored_url(&instance.ap_id)?,
        &objects,
        &row.comment,
        &row.category,
    );
    let inboxes = super::delivery::inboxes(std::slice::from_ref(target));
    ctx.enqueue(conn, instance.id, &flag, &inboxes)
}

/// A report from another server (a `Flag` from `reporter`, usually its instance actor):
/// stored against the first account here among `objects` (or the author of the first post
/// here, as a flag may name only posts), with the posts of theirs among them; the moderators
/// are told, and a person reported for a `crisis` is sent the crisis resources. A category Hearth
/// does not know is `other`; a flag about no one here is dropped.
pub fn received_flag(
    conn: &mut AnyConnection,
    ctx: &Context,
    reporter: &ActorRow,
    objects: &[url::Url],
    comment: String,
    category: Option<String>,
) -> Result<(), Error> {
    let mut target = None;
    let mut flagged_posts = Vec::new();
    for url in objects {
        if let Some(actor) = actors::by_ap_id(conn, url.as_str())?.filter(|a| a.local) {
            target.get_or_insert(actor);
        } else if let Some(post) = posts::by_ap_id(conn, url.as_str())?.filter(|p| p.local) {
            flagged_posts.push(post);
        }
    }
    let target = match (target, flagged_posts.first()) {
        (Some(target), _) => target,
        (None, Some(post)) => match actors::by_id(conn, post.author_id)? {
            Some(author) => author,
            None => return Ok(()),
        },
        (None, None) => return Ok(()),
    };
    let mut post_ids: Vec<i64> = flagged_posts
        .iter()
        .filter(|p| p.author_id == target.id)
        .map(|p| p.id)
        .collect();
    post_ids.dedup();
    let category = stored_category(category.as_deref(), false).unwrap_or_else(|_| "other".into());
    let row = ReportRow {
        id: crate::db::id::new_id(),
        reporter_id: reporter.id,
        target_id: target.id,
        comment: hearth_federation::bounds::text(&comment, MAX_COMMENT),
        category,
        rule_ids: String::new(),
        forward: false,
        created_at: Utc::now().naive_utc(),
        action_taken_at: None,
        action_taken_by_id: None,
        resolution_note: None,
    };
    reports::insert(conn, &row, &post_ids)?;
    super::notifications::reported(conn, &row)?;
    if row.category == "crisis" && target.actor_kind() == ActorKind::Person {
        send_crisis_resources(conn, ctx, &target)?;
    }
    Ok(())
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
    with_targets(conn, rows)
}

/// Reports with their targets and posts, in the order given.
fn with_targets(conn: &mut AnyConnection, rows: Vec<ReportRow>) -> Result<Vec<Filed>, Error> {
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

/// Most reports listed at once.
pub const MAX_LISTED: i64 = 200;

/// The moderators' queue: unresolved reports (or resolved ones), `crisis` first, then the
/// newest; at most `limit` (up to [`MAX_LISTED`]). The look is on the audit record.
pub async fn queue(
    ctx: &Context,
    by: &Acting,
    resolved: bool,
    limit: i64,
) -> Result<Vec<Filed>, Error> {
    by.check(Role::may_moderate)?;
    let by = by.clone();
    ctx.write(move |conn, _| {
        let rows = reports::queue(conn, resolved, limit.clamp(1, MAX_LISTED))?;
        let listed = with_targets(conn, rows)?;
        let which = if resolved { "resolved" } else { "open" };
        let target = Target {
            kind: "reports",
            id: which.to_owned(),
            name: format!("{which} reports"),
        };
        audit::record(
            conn,
            &by,
            Entry::new(Action::ReportList, target).detail(format!("{} shown", listed.len())),
        )?;
        Ok(listed)
    })
    .await
}

/// One report, for a moderator; the look is on the audit record.
pub async fn show(ctx: &Context, by: &Acting, id: i64) -> Result<Filed, Error> {
    decide(ctx, by, id, Action::ReportView, None).await
}

/// Resolves a report with an optional note (the decision and the note on the audit record).
pub async fn resolve(
    ctx: &Context,
    by: &Acting,
    id: i64,
    note: Option<String>,
) -> Result<Filed, Error> {
    decide(ctx, by, id, Action::ReportResolve, note).await
}

/// Opens a resolved report again.
pub async fn reopen(ctx: &Context, by: &Acting, id: i64) -> Result<Filed, Error> {
    decide(ctx, by, id, Action::ReportReopen, None).await
}

/// Reads (`ReportView`), resolves or reopens report `id` and records it.
async fn decide(
    ctx: &Context,
    by: &Acting,
    id: i64,
    action: Action,
    note: Option<String>,
) -> Result<Filed, Error> {
    by.check(Role::may_moderate)?;
    let by = by.clone();
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_COMMENT)
    {
        return Err(Error::Unprocessable(format!(
            "Validation failed: the note is too long (maximum is {MAX_COMMENT} characters)"
        )));
    }
    ctx.write(move |conn, _| {
        let mut found = filed(conn, &[id])?
            .pop()
            .ok_or_else(|| Error::not_found("Record not found"))?;
        match action {
            Action::ReportResolve => {
                let at = Utc::now().naive_utc();
                reports::set_resolution(conn, id, Some((at, by.person_id(), note.clone())))?;
                found.row.action_taken_at = Some(at);
                found.row.action_taken_by_id = by.person_id();
                found.row.resolution_note = note.clone();
            }
            Action::ReportReopen => {
                reports::set_resolution(conn, id, None)?;
                found.row.action_taken_at = None;
                found.row.action_taken_by_id = None;
                found.row.resolution_note = None;
            }
            _ => {}
        }
        audit::record(
            conn,
            &by,
            Entry::new(action, Target::report(id, &found.target))
                .detail(found.row.category.clone())
                .reason(note),
        )?;
        Ok(found)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_fit_a_health_community_and_read_mastodons() {
        for (given, rules, stored) in [
            (None, false, "other"),
            (Some("crisis"), false, "crisis"),
            (Some(" Misinformation "), true, "misinformation"),
            (Some("legal"), false, "privacy"),
            (Some("violation"), true, "violation"),
            (Some("other"), true, "violation"),
            (None, true, "violation"),
            (Some("spam"), false, "spam"),
        ] {
            assert_eq!(
                stored_category(given, rules).ok().as_deref(),
                Some(stored),
                "{given:?}"
            );
        }
        assert!(matches!(
            stored_category(Some("violation"), false),
            Err(("rule_ids", ..))
        ));
        assert!(matches!(
            stored_category(Some("boring"), false),
            Err(("category", ..))
        ));
    }
}
