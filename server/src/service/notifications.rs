//! Who is notified of what: the one place that decides it. Each function runs inside the
//! transaction of the event it reports (a post stored, a follow or like recorded), so an event
//! and its notification are written together or not at all, and an activity the inbox drops
//! as a repeat (by its id) notifies no one twice.
//!
//! Only local people are notified, never of their own acts.

use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{ActorProfile, ActorRow},
        blocks::{self, Hiding},
        follows::FollowRow,
        groups,
        notifications::{self, MarkerRow, NotificationRow},
        posts::{self, PostRow},
        reports::ReportRow,
    },
};
use hearth_federation::protocol::actor::ActorKind;
use std::str::FromStr;

/// The kinds of notification, by their Mastodon names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A post mentions (or is addressed to) the person.
    Mention,
    /// Someone follows the person.
    Follow,
    /// Someone asks to follow the (locked) person, or to join a group the person moderates.
    FollowRequest,
    /// Someone liked the person's post.
    Favourite,
    /// Someone (a person, not a group relaying it) shared the person's post.
    Reblog,
    /// Someone signed up (for admins and moderators).
    AdminSignUp,
    /// A report was filed (for admins and moderators).
    AdminReport,
    /// The clinic published an announcement (for everyone here). Mastodon has no such kind:
    /// its apps show announcements from their own list; the name is namespaced as Pleroma's
    /// own kinds are, so that apps that do not know it pass it by.
    Announcement,
}

impl Kind {
    /// Every kind, for validating filters.
    pub const ALL: [Self; 8] = [
        Self::Mention,
        Self::Follow,
        Self::FollowRequest,
        Self::Favourite,
        Self::Reblog,
        Self::AdminSignUp,
        Self::AdminReport,
        Self::Announcement,
    ];

    /// The Mastodon name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Follow => "follow",
            Self::FollowRequest => "follow_request",
            Self::Favourite => "favourite",
            Self::Reblog => "reblog",
            Self::AdminSignUp => "admin.sign_up",
            Self::AdminReport => "admin.report",
            Self::Announcement => "hearth:announcement",
        }
    }
}

impl FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::Unprocessable(format!("unknown notification type {s:?}")))
    }
}

/// The ids among `ids` that are local people (one query for all of them).
fn local_people(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<i64>, Error> {
    use crate::db::schema::actors as table;
    use diesel::prelude::*;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(table::table
        .filter(table::id.eq_any(ids))
        .filter(table::local.eq(true))
        .filter(table::kind.eq(ActorKind::Person.as_str()))
        .select(table::id)
        .load(conn)?)
}

/// Writes one notification, unless it would tell someone of their own act, or comes from an
/// account the recipient blocks or mutes with its notifications (then it is never written, so
/// unmuting does not bring it back). The moderators' own kinds (`admin.*`) are always written:
/// a moderator's personal block must not silence the reports of the person they blocked.
fn notify(conn: &mut AnyConnection, row: NotificationRow) -> Result<(), Error> {
    if row.recipient_id == row.from_id {
        return Ok(());
    }
    if !is_for_staff(&row.kind)
        && blocks::hidden_from(conn, row.recipient_id, Hiding::Notifications)?
            .contains(&row.from_id)
    {
        return Ok(());
    }
    notifications::insert(conn, &row)?;
    super::streaming::emit(super::streaming::Event::Notified {
        recipient: row.recipient_id,
        notification: row.id,
    });
    Ok(())
}

/// Whether a kind is one of the moderators' (`admin.sign_up`, `admin.report`).
fn is_for_staff(kind: &str) -> bool {
    kind.starts_with("admin.")
}

/// The admins and moderators of this instance.
fn staff(conn: &mut AnyConnection) -> Result<Vec<i64>, Error> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    Ok(users::table
        .filter(users::role.eq_any([
            super::accounts::Role::Admin.as_str(),
            super::accounts::Role::Moderator.as_str(),
        ]))
        .select(users::actor_id)
        .load(conn)?)
}

/// A new account was created here (waiting for approval, or not): the admins and moderators
/// are told (`admin.sign_up`), so that a request to join does not wait unseen.
pub fn signed_up(conn: &mut AnyConnection, account_id: i64) -> Result<(), Error> {
    for recipient in staff(conn)? {
        notify(
            conn,
            NotificationRow::new(recipient, Kind::AdminSignUp.as_str(), account_id),
        )?;
    }
    Ok(())
}

/// A report was filed: the admins and moderators are told (`admin.report`, from the
/// reporter), in the report's own transaction. Every report notifies, even one about an
/// account already reported: each may be the one that says what happened.
pub fn reported(conn: &mut AnyConnection, report: &ReportRow) -> Result<(), Error> {
    for recipient in staff(conn)? {
        let mut row =
            NotificationRow::new(recipient, Kind::AdminReport.as_str(), report.reporter_id);
        row.report_id = Some(report.id);
        notify(conn, row)?;
    }
    Ok(())
}

/// The clinic published the announcement `announcement_id`: every local person whose account
/// is approved and not suspended is told (`hearth:announcement`, from the instance actor
/// `instance_id`), a thousand rows to a statement. Returns how many.
pub fn announced(
    conn: &mut AnyConnection,
    announcement_id: i64,
    instance_id: i64,
) -> Result<usize, Error> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let people: Vec<i64> = users::table
        .filter(users::approved.eq(true))
        .filter(users::suspended_at.is_null())
        .select(users::actor_id)
        .load(conn)?;
    let rows: Vec<NotificationRow> = people
        .into_iter()
        .map(|person| {
            let mut row = NotificationRow::new(person, Kind::Announcement.as_str(), instance_id);
            row.announcement_id = Some(announcement_id);
            row
        })
        .collect();
    notifications::insert_all(conn, &rows)?;
    for row in &rows {
        super::streaming::emit(super::streaming::Event::Notified {
            recipient: row.recipient_id,
            notification: row.id,
        });
    }
    Ok(rows.len())
}

/// A new post, written here or received, that mentions the actors `mentioned`: the local
/// people among them are told (`mention`), but not its author.
pub fn post_created(
    conn: &mut AnyConnection,
    post: &PostRow,
    mentioned: &[i64],
) -> Result<(), Error> {
    for recipient in local_people(conn, mentioned)? {
        let mut row = NotificationRow::new(recipient, Kind::Mention.as_str(), post.author_id);
        row.post_id = Some(post.id);
        notify(conn, row)?;
    }
    Ok(())
}

/// A follow was stored. A local person followed is told (`follow`, or `follow_request` while
/// it waits for their approval). A request to join a local group goes to its moderators as
/// `follow_request`, as `GET /api/v1/follow_requests` lists it for them (and they answer it
/// there); joining an open group tells no one, as groups are not people.
pub fn followed(
    conn: &mut AnyConnection,
    follow: &FollowRow,
    target: &ActorRow,
) -> Result<(), Error> {
    if !target.local {
        return Ok(());
    }
    let kind = if follow.accepted {
        Kind::Follow
    } else {
        Kind::FollowRequest
    };
    let recipients = match target.actor_kind() {
        ActorKind::Person => vec![target.id],
        ActorKind::Group if !follow.accepted => {
            let moderators = groups::moderators(conn, target.id)?;
            local_people(conn, &moderators)?
        }
        _ => return Ok(()),
    };
    for recipient in recipients {
        let mut row = NotificationRow::new(recipient, kind.as_str(), follow.follower_id);
        row.follow_id = Some(follow.id);
        notify(conn, row)?;
    }
    Ok(())
}

/// A follow request was approved: its `follow_request` notifications are done with (a
/// rejected one goes with its follow row).
pub fn request_answered(conn: &mut AnyConnection, follow_id: i64) -> Result<(), Error> {
    notifications::forget_follow(conn, follow_id, Kind::FollowRequest.as_str())?;
    Ok(())
}

/// `liker` liked `post` (the like's row is `like_id`): a local author is told.
pub fn liked(
    conn: &mut AnyConnection,
    like_id: i64,
    liker: &ActorRow,
    post: &PostRow,
) -> Result<(), Error> {
    if local_people(conn, &[post.author_id])?.is_empty() {
        return Ok(());
    }
    let mut row = NotificationRow::new(post.author_id, Kind::Favourite.as_str(), liker.id);
    row.post_id = Some(post.id);
    row.like_id = Some(like_id);
    notify(conn, row)
}

/// `booster` shared `post`: a local author is told, once per person and post.
///
/// Only people's shares count. A group's `Announce` of a post made in it (FEP-1b12) is how
/// the group distributes its members' posts, so it would notify every author of every post
/// they write in a group: noise that hides the shares a patient does need to know of, when
/// someone carries their post to an audience they did not choose. Only public and unlisted
/// posts can be shared, as in Mastodon; a share of any other is ignored.
pub fn shared(conn: &mut AnyConnection, booster: &ActorRow, post: &PostRow) -> Result<(), Error> {
    let shareable = matches!(post.visibility.as_str(), "public" | "unlisted");
    if booster.actor_kind() == ActorKind::Group || !shareable || post.is_deleted() {
        return Ok(());
    }
    if local_people(conn, &[post.author_id])?.is_empty()
        || notifications::exists(
            conn,
            post.author_id,
            Kind::Reblog.as_str(),
            booster.id,
            post.id,
        )?
    {
        return Ok(());
    }
    let mut row = NotificationRow::new(post.author_id, Kind::Reblog.as_str(), booster.id);
    row.post_id = Some(post.id);
    notify(conn, row)
}

/// A notification with what it shows: its account and, if any, its post or report.
#[derive(Debug)]
pub struct Listed {
    /// The notification.
    pub row: NotificationRow,
    /// The account whose act it is.
    pub from: ActorProfile,
    /// The post it is about (not deleted; whether the reader may see it is decided when it
    /// is shown).
    pub post: Option<PostRow>,
    /// The report it announces (`admin.report`).
    pub report: Option<super::reports::Filed>,
    /// The announcement it tells of (`hearth:announcement`), as its reader sees it.
    pub announcement: Option<super::announcements::Seen>,
}

/// Attaches accounts, posts and reports to notification rows: a few queries for the whole
/// page, not a few per notification. A notification about a deleted post is left out; one
/// about a post the reader may no longer see is left out when it is shown, by the one rule
/// that shows statuses (`statuses::Shown`), once for the page.
pub fn with_subjects(
    conn: &mut AnyConnection,
    rows: Vec<NotificationRow>,
) -> Result<Vec<Listed>, Error> {
    let senders = notifications::actors_of(conn, &rows)?;
    let posts = notifications::posts_of(conn, &rows)?;
    let report_ids: Vec<i64> = rows.iter().filter_map(|r| r.report_id).collect();
    let mut reports = super::reports::filed(conn, &report_ids)?;
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(from) = senders.iter().find(|a| a.id == row.from_id).cloned() else {
            continue;
        };
        let report = match row.report_id {
            Some(id) => match reports.iter().position(|r| r.row.id == id) {
                Some(i) => Some(reports.swap_remove(i)),
                None => continue,
            },
            None => None,
        };
        let post = match row.post_id {
            Some(id) => match posts.iter().find(|p| p.id == id) {
                Some(post) => Some(post.clone()),
                _ => continue,
            },
            None => None,
        };
        let announcement = match row.announcement_id {
            Some(id) => match super::announcements::one(conn, row.recipient_id, id)? {
                Some(seen) => Some(seen),
                None => continue,
            },
            None => None,
        };
        listed.push(Listed {
            row,
            from,
            post,
            report,
            announcement,
        });
    }
    Ok(listed)
}

/// `filter`, also leaving out what `reader` chose not to see (`blocks::hidden_from`).
fn without_hidden(
    conn: &mut AnyConnection,
    reader: i64,
    filter: &notifications::Filter,
) -> Result<notifications::Filter, Error> {
    Ok(notifications::Filter {
        hidden: blocks::hidden_from(conn, reader, Hiding::Notifications)?,
        ..filter.clone()
    })
}

/// A page of `reader`'s notifications with their accounts and posts.
pub fn page(
    conn: &mut AnyConnection,
    reader: i64,
    filter: &notifications::Filter,
    bounds: posts::Page,
) -> Result<Vec<Listed>, Error> {
    let filter = without_hidden(conn, reader, filter)?;
    let rows = notifications::page(conn, reader, &filter, bounds)?;
    with_subjects(conn, rows)
}

/// One of `reader`'s notifications, or 404.
pub fn one(conn: &mut AnyConnection, reader: i64, id: i64) -> Result<Listed, Error> {
    let row =
        notifications::of(conn, reader, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
    with_subjects(conn, vec![row])?
        .pop()
        .ok_or_else(|| Error::not_found("Record not found"))
}

/// How many of `reader`'s notifications are newer than their `notifications` marker (all,
/// without one), counting no further than `cap`.
pub fn unread_count(
    conn: &mut AnyConnection,
    reader: i64,
    filter: &notifications::Filter,
    cap: i64,
) -> Result<i64, Error> {
    let marker = notifications::last_read(conn, reader, Timeline::Notifications.as_str())?;
    let filter = without_hidden(conn, reader, filter)?;
    Ok(notifications::count_newer(
        conn, reader, &filter, marker, cap,
    )?)
}

/// Dismisses one of `reader`'s notifications; 404 if it is not theirs.
pub async fn dismiss(ctx: &super::Context, reader: i64, id: i64) -> Result<(), Error> {
    ctx.write(move |conn, _| {
        if notifications::dismiss(conn, reader, id)? {
            Ok(())
        } else {
            Err(Error::not_found("Record not found"))
        }
    })
    .await
}

/// Dismisses all of `reader`'s notifications.
pub async fn clear(ctx: &super::Context, reader: i64) -> Result<(), Error> {
    ctx.write(move |conn, _| Ok(notifications::clear(conn, reader).map(|_| ())?))
        .await
}

/// The timelines whose reading position apps save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeline {
    /// The home timeline.
    Home,
    /// The notifications.
    Notifications,
}

impl Timeline {
    /// Its name in the API and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Home => "home",
            Self::Notifications => "notifications",
        }
    }
}

/// Saves `reader`'s positions (each `Some`) in one transaction; returns the saved markers.
pub async fn save_markers(
    ctx: &super::Context,
    reader: i64,
    positions: Vec<(Timeline, i64)>,
) -> Result<Vec<MarkerRow>, Error> {
    ctx.write(move |conn, _| {
        let mut saved = Vec::new();
        for (timeline, last_read_id) in positions {
            saved.push(notifications::save_marker(
                conn,
                reader,
                timeline.as_str(),
                last_read_id,
            )?);
        }
        Ok(saved)
    })
    .await
}
