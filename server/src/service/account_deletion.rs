//! A local person leaves: their account is erased here, not hidden, and every server that knew
//! them is told with a `Delete` of the actor signed with their own key; their handle then
//! rests for a while before anyone may take it.
//!
//! Deleting must not delete the deletion. The outbox's rows go with their signer, so the
//! account's row cannot simply stay until its `Delete` is sent, nor go at once. In one
//! transaction the person's row is deleted, which takes by the foreign keys everything that
//! refers to it (account, sessions and tokens, posts, uploads, follows both ways, likes,
//! boosts, bookmarks, blocks, notifications...), and a tombstone takes its place: the same id
//! URL, handle and keys, nothing else (`actors::TOMBSTONE`). The `Delete` is queued under the
//! tombstone, and so are the groups' shares of the deletion of each post the person wrote into
//! a group here. Their posts are left as post tombstones, so that their URLs answer 410 like
//! the account's. Once every server the `Delete` goes to has had it, the hourly clean-up drops
//! the tombstone (and with it the post tombstones) and keeps a hash of the handle, with the date
//! until which it stays taken.

use super::{
    Context,
    accounts::{Role, profile_audience},
    audit::{self, Acting, Action, Entry, Target},
    media::MediaStore,
};
use crate::{
    Error,
    db::{
        self, AnyConnection,
        actors::{self, ActorRow},
        deliveries, follows, groups,
        posts::{self as db_posts, PostRow},
        retired_handles, users,
    },
};
use chrono::{TimeDelta, Utc};
use hearth_federation::{activities::builders, protocol::post::PUBLIC};
use std::collections::BTreeSet;

/// How long a deleted account's handle stays taken when the settings do not say.
pub const DEFAULT_HANDLE_REST_DAYS: u32 = 365;

/// A person deletes their own account, confirming with their password (each try counts as a
/// sign-in attempt). Returns how many servers are told.
pub async fn delete_own_account(
    ctx: &Context,
    media: &MediaStore,
    person: &ActorRow,
    password: String,
    address: Option<std::net::IpAddr>,
) -> Result<usize, Error> {
    super::sign_in::sign_in(
        &ctx.db,
        &ctx.sign_in_limits,
        &person.username,
        password,
        address,
    )
    .await
    .map_err(|e| match e {
        Error::Unprocessable(_) => Error::Unprocessable("Your password is not right".into()),
        other => other,
    })?;
    let person = person.id;
    let (told, files) = ctx.write(move |conn, ctx| erase(conn, ctx, person)).await?;
    remove_files(media, &files).await;
    Ok(told)
}

/// An admin deletes an account at its owner's request (`hearth user delete NAME`). On the
/// audit record under a hash of the handle, which is all that is kept of it. Returns how many
/// servers are told.
pub async fn delete_account(
    ctx: &Context,
    media: &MediaStore,
    by: &Acting,
    username: &str,
) -> Result<usize, Error> {
    by.check(Role::may_administer)?;
    if by.actor().is_some_and(|me| me.username == username) {
        return Err(Error::Unprocessable(
            "Validation failed: admins delete their own account with their password".into(),
        ));
    }
    let (by, username) = (by.clone(), username.to_owned());
    let (told, files) = ctx
        .write(move |conn, ctx| {
            let (person, _) = users::account_by_handle(conn, &username)?
                .ok_or_else(|| Error::not_found("Record not found"))?;
            let erased = erase(conn, ctx, person.id)?;
            let target = Target {
                kind: "account",
                id: retired_handles::hashed(&person.username),
                name: "deleted account".into(),
            };
            audit::record(conn, &by, Entry::new(Action::AccountDelete, target))?;
            Ok(erased)
        })
        .await?;
    remove_files(media, &files).await;
    Ok(told)
}

/// Erases the local person `person_id` and queues the news (see the module's documentation);
/// returns how many servers are told and the names of the files to remove once committed.
fn erase(
    conn: &mut AnyConnection,
    ctx: &Context,
    person_id: i64,
) -> Result<(usize, Vec<String>), Error> {
    let person = actors::by_id(conn, person_id)?
        .filter(|a| {
            a.local && a.actor_kind() == hearth_federation::protocol::actor::ActorKind::Person
        })
        .ok_or_else(|| Error::not_found("Record not found"))?;
    let posts = db_posts::all_by_author(conn, person.id)?;
    let inboxes = knew_them(conn, &person, &posts)?;
    let mut files: Vec<String> = db::media::owned_by(conn, person.id)?
        .into_iter()
        .flat_map(|m| [m.file_name, m.thumbnail_file_name])
        .filter(|name| !name.is_empty())
        .collect();
    // Their data archives; one still being prepared removes its own file when it finds its
    // row gone.
    files.extend(db::exports::file_names_of(conn, person.id)?);

    groups::forget_owner(conn, person.id)?;
    actors::delete(conn, person.id)?;
    let tombstone = person.tombstone();
    actors::insert(conn, &tombstone)?;
    let by = super::stored_url(&person.ap_id)?;
    for post in &posts {
        super::streaming::emit(super::streaming::Event::Deleted { post: post.id });
        db_posts::insert(conn, &post_tombstone(post, tombstone.id))?;
        let group = match post.group_id.filter(|_| !post.is_deleted()) {
            Some(id) => actors::by_id(conn, id)?.filter(|g| g.local),
            None => None,
        };
        if let Some(group) = group {
            super::inbox::announce_deletion(conn, ctx, &group, &by, post)?;
        }
    }
    let delete = builders::delete(
        &ctx.activity_id("delete"),
        &by,
        &by,
        &[super::stored_url(PUBLIC)?],
        &[],
    );
    ctx.enqueue(conn, tombstone.id, &delete, &inboxes)?;
    tracing::info!(
        servers = inboxes.len(),
        "erased a local account at its owner's request"
    );
    Ok((inboxes.len(), files))
}

/// The inboxes of every server that knew the person: their followers', those of whom they
/// follow (people and groups), those of the members of the groups here they belonged to, and
/// those of the people their `posts` mentioned.
fn knew_them(
    conn: &mut AnyConnection,
    person: &ActorRow,
    posts: &[PostRow],
) -> Result<Vec<String>, Error> {
    let mut knew: Vec<ActorRow> = profile_audience(conn, person)?;
    let mut inboxes = BTreeSet::new();
    for id in follows::followed_ids(conn, person.id)? {
        match actors::by_id(conn, id)? {
            Some(group) if group.local => {
                inboxes.extend(follows::remote_inboxes(conn, group.id)?);
            }
            Some(followed) => knew.push(followed),
            None => {}
        }
    }
    for post in posts {
        for id in db_posts::mentions(conn, post.id)? {
            knew.extend(actors::by_id(conn, id)?);
        }
    }
    inboxes.extend(super::delivery::inboxes(&knew));
    Ok(inboxes.into_iter().collect())
}

/// What stays of a deleted account's post until its tombstone goes: its id and where it was,
/// so that its URL answers 410 to whoever could see it; nothing that was written.
fn post_tombstone(post: &PostRow, author_id: i64) -> PostRow {
    let now = Utc::now().naive_utc();
    PostRow {
        author_id,
        in_reply_to_ap_id: None,
        in_reply_to_id: None,
        name: None,
        content: String::new(),
        spoiler_text: String::new(),
        sensitive: false,
        url: None,
        edited_at: None,
        deleted_at: Some(post.deleted_at.unwrap_or(now)),
        source_text: None,
        language: None,
        ..post.clone()
    }
}

async fn remove_files(media: &MediaStore, files: &[String]) {
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    media.remove(&names).await;
}

/// Drops the tombstones whose `Delete` every server it went to has had, keeping only a hash
/// of each handle, taken for `rest`. Returns how many were dropped.
pub async fn drop_tombstones(ctx: &Context, rest: TimeDelta) -> Result<usize, Error> {
    ctx.db
        .write(move |conn| {
            let mut dropped = 0;
            for tombstone in actors::local_tombstones(conn)? {
                if deliveries::signed_waiting(conn, tombstone.id)? {
                    continue;
                }
                let until = Utc::now().naive_utc() + rest;
                retired_handles::retire(conn, &tombstone.username, until)?;
                actors::delete(conn, tombstone.id)?;
                dropped += 1;
            }
            Ok(dropped)
        })
        .await
}

/// Runs [`drop_tombstones`] every hour in the background.
pub async fn run_dropping_tombstones(ctx: Context, rest: TimeDelta) {
    loop {
        match drop_tombstones(&ctx, rest).await {
            Ok(0) => {}
            Ok(dropped) => tracing::info!(dropped, "deleted accounts' servers all told"),
            Err(e) => tracing::error!(error = %e, "dropping deleted accounts' tombstones failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}
