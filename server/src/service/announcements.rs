//! Clinic announcements, for crisis communication: admins publish them to everyone here; apps
//! show them as Mastodon's announcements (`/api/v1/announcements`, with dismissing and
//! reactions), and each person's stream hears of a new one at once. An urgent one is also
//! posted by the instance into every local group and pinned there, so that the groups' members
//! on other servers see it too.

use super::{
    Context,
    accounts::Role,
    audit::{self, Acting, Action, Entry, Target},
    content, pins, posts as post_rules, streaming,
};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::ActorRow,
        announcements::{self, AnnouncementRow},
        groups, posts,
    },
};
use chrono::{NaiveDateTime, SubsecRound, Utc};
use hearth_federation::activities::builders;
use std::collections::HashSet;

/// Longest announcement text, in characters.
pub const MAX_TEXT: usize = 5_000;

/// Longest reaction name (an emoji, or a custom emoji's short code), in characters.
pub const MAX_REACTION: usize = 64;

/// What an admin publishes.
#[derive(Clone, Debug, Default)]
pub struct NewAnnouncement {
    /// Plain text; paragraphs apart by a blank line.
    pub text: String,
    /// When what it announces begins and ends, if it says.
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    /// The times are whole days.
    pub all_day: bool,
    /// Also posted into every local group, pinned.
    pub urgent: bool,
}

/// An announcement as one person sees it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub row: AnnouncementRow,
    /// The person dismissed it.
    pub read: bool,
    /// Each reaction's name, how many gave it, and whether the person did.
    pub reactions: Vec<(String, u64, bool)>,
}

/// Publishes an announcement (admins): everyone's stream hears of it; an urgent one is posted
/// into every local group and pinned. Returns it.
pub async fn publish(
    ctx: &Context,
    by: &Acting,
    new: NewAnnouncement,
) -> Result<AnnouncementRow, Error> {
    by.check(Role::may_administer)?;
    let text = new.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(Error::Unprocessable(format!(
            "Validation failed: an announcement is 1 to {MAX_TEXT} characters"
        )));
    }
    if let (Some(starts), Some(ends)) = (new.starts_at, new.ends_at)
        && ends < starts
    {
        return Err(Error::Unprocessable(
            "Validation failed: it cannot end before it starts".into(),
        ));
    }
    let html = content::render_plain(
        &text,
        |_| None,
        |tag| super::tags::tag_url(&ctx.urls, tag).to_string(),
    );
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let now = Utc::now().trunc_subsecs(0).naive_utc();
        let row = AnnouncementRow {
            id: crate::db::id::new_id(),
            content: html,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            all_day: new.all_day,
            urgent: new.urgent,
            published_at: now,
            updated_at: now,
        };
        announcements::insert(conn, &row)?;
        streaming::emit(streaming::Event::Announced {
            announcement: row.id,
        });
        let instance = crate::db::actors::by_ap_id(conn, ctx.urls.instance_actor().as_str())?
            .ok_or_else(|| Error::Internal("no instance actor".into()))?;
        super::notifications::announced(conn, row.id, instance.id)?;
        let mut groups = 0;
        if row.urgent {
            groups = post_into_every_group(conn, ctx, &instance, &row)?;
        }
        let entry = Entry::new(Action::AnnouncementPublish, Target::announcement(row.id)).detail(
            if row.urgent {
                format!("urgent; posted and pinned in {groups} groups")
            } else {
                "not urgent".into()
            },
        );
        audit::record(conn, &by, entry)?;
        Ok(row)
    })
    .await
}

/// The instance posts the announcement into every local group (members only where the group
/// is), pins it there, and the groups share it with their members' servers. Returns how many
/// groups.
fn post_into_every_group(
    conn: &mut AnyConnection,
    ctx: &Context,
    instance: &ActorRow,
    announcement: &AnnouncementRow,
) -> Result<usize, Error> {
    let every = groups::all_with_actors(conn)?;
    for (settings, group) in &every {
        let id = crate::db::id::new_id();
        let ap_id = ctx.urls.path(&format!("/posts/{id}")).to_string();
        let visibility = if settings.members_only() {
            "members"
        } else {
            "public"
        };
        let mut row = posts::new_row(
            ap_id,
            "Note",
            instance.id,
            announcement.content.clone(),
            visibility,
            true,
        );
        row.id = id;
        row.group_id = Some(group.id);
        row.published_at = announcement.published_at;
        row.url = Some(row.ap_id.clone());
        posts::insert(conn, &row)?;
        streaming::emit(streaming::Event::Posted { post: row.id });
        let object = post_rules::post_object(conn, ctx, &row)?;
        let create = builders::create(&ctx.activity_id("create"), &object);
        post_rules::publish(conn, ctx, &row, instance, &create, Some(&object))?;
        // The clinic's urgent word goes first, beyond the moderators' own pins.
        pins::pin_in_group(conn, ctx, group, &row, true)?;
        announcements::add_post(conn, announcement.id, row.id)?;
    }
    Ok(every.len())
}

/// Withdraws an announcement (admins). The posts an urgent one was posted as are unpinned in
/// their groups, here and on the members' servers; they stay, with the members' replies, for
/// the groups' moderators to remove if they wish.
pub async fn withdraw(ctx: &Context, by: &Acting, id: i64) -> Result<(), Error> {
    by.check(Role::may_administer)?;
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let posted_as = announcements::posts_of(conn, id)?;
        if !announcements::delete(conn, id)? {
            return Err(Error::not_found("Record not found"));
        }
        let mut unpinned = 0;
        for post in posted_as {
            let Some(post) = posts::by_id(conn, post)? else {
                continue;
            };
            let group = match post.group_id {
                Some(group) => crate::db::actors::by_id(conn, group)?,
                None => None,
            };
            if let Some(group) = group
                && crate::db::pins::is_pinned(conn, group.id, post.id)?
            {
                pins::pin_in_group(conn, ctx, &group, &post, false)?;
                unpinned += 1;
            }
        }
        let mut entry = Entry::new(Action::AnnouncementWithdraw, Target::announcement(id));
        if unpinned > 0 {
            entry = entry.detail(format!("unpinned from groups: {unpinned}"));
        }
        audit::record(conn, &by, entry)?;
        Ok(())
    })
    .await
}

/// The announcements in force (not ended), newest first, as `viewer` sees them.
pub async fn current(ctx: &Context, viewer: i64) -> Result<Vec<Seen>, Error> {
    ctx.db
        .run(move |conn| {
            let rows = in_force(conn)?;
            seen_by(conn, viewer, rows)
        })
        .await
}

/// The announcements in force: every one not ended, newest first (the home page shows them
/// to anyone).
pub fn in_force(conn: &mut AnyConnection) -> Result<Vec<AnnouncementRow>, Error> {
    let now = Utc::now().naive_utc();
    Ok(announcements::all(conn)?
        .into_iter()
        .filter(|a| a.ends_at.is_none_or(|ends| ends > now))
        .collect())
}

/// One announcement as `viewer` sees it.
pub fn one(conn: &mut AnyConnection, viewer: i64, id: i64) -> Result<Option<Seen>, Error> {
    let Some(row) = announcements::by_id(conn, id)? else {
        return Ok(None);
    };
    Ok(seen_by(conn, viewer, vec![row])?.pop())
}

fn seen_by(
    conn: &mut AnyConnection,
    viewer: i64,
    rows: Vec<AnnouncementRow>,
) -> Result<Vec<Seen>, Error> {
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let read: HashSet<i64> = announcements::read_by(conn, viewer, &ids)?
        .into_iter()
        .collect();
    let reactions = announcements::reactions(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut counted: Vec<(String, u64, bool)> = Vec::new();
            for (_, actor, name) in reactions.iter().filter(|(a, ..)| *a == row.id) {
                match counted.iter_mut().find(|(n, ..)| n == name) {
                    Some((_, count, me)) => {
                        *count += 1;
                        *me |= *actor == viewer;
                    }
                    None => counted.push((name.clone(), 1, *actor == viewer)),
                }
            }
            Seen {
                read: read.contains(&row.id),
                reactions: counted,
                row,
            }
        })
        .collect())
}

/// `viewer` dismisses an announcement (it shows as read).
pub async fn dismiss(ctx: &Context, viewer: i64, id: i64) -> Result<(), Error> {
    ctx.write(move |conn, _| {
        announcements::by_id(conn, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
        Ok(announcements::mark_read(conn, id, viewer)?)
    })
    .await
}

/// `viewer` adds (or takes back) a reaction to an announcement.
pub async fn react(
    ctx: &Context,
    viewer: i64,
    id: i64,
    name: String,
    on: bool,
) -> Result<(), Error> {
    let name = name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > MAX_REACTION
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::Unprocessable(
            "Validation failed: Name is not a recognized emoji".into(),
        ));
    }
    ctx.write(move |conn, _| {
        announcements::by_id(conn, id)?.ok_or_else(|| Error::not_found("Record not found"))?;
        Ok(announcements::set_reaction(conn, id, viewer, &name, on)?)
    })
    .await
}
