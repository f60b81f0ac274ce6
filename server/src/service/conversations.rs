//! Direct conversations (Mastodon's `/api/v1/conversations`): every direct post is filed, for
//! each local person in it, under its thread and the set of other people in it, in the
//! transaction that stores the post.

use super::Context;
use crate::{
    Error,
    db::{
        AnyConnection,
        conversations::{self, ConversationRow},
        posts::{self, Page, PostRow},
    },
};

/// How far up a reply chain the thread's first post is looked for.
const MAX_THREAD_DEPTH: usize = 40;

/// The first post of `post`'s thread (as far as it is stored here).
fn thread_root(conn: &mut AnyConnection, post: &PostRow) -> Result<i64, Error> {
    let mut root = post.id;
    let mut next = post.in_reply_to_id;
    let mut seen = vec![post.id];
    // Bounded and cycle-proof: a hostile peer can make posts reply to each other.
    while let Some(id) = next.take() {
        if seen.contains(&id) || seen.len() > MAX_THREAD_DEPTH {
            break;
        }
        seen.push(id);
        let Some(parent) = posts::by_id(conn, id)? else {
            break;
        };
        root = parent.id;
        next = parent.in_reply_to_id;
    }
    Ok(root)
}

/// Files a new direct post in the conversations of the local people in it: its author, if
/// local, and the local people it mentions. Other posts are not conversations.
pub fn record(conn: &mut AnyConnection, post: &PostRow) -> Result<(), Error> {
    if post.visibility != "direct" {
        return Ok(());
    }
    let mut everyone = posts::mentions(conn, post.id)?;
    everyone.push(post.author_id);
    everyone.sort_unstable();
    everyone.dedup();
    let local = conversations::local_people(conn, &everyone)?;
    if local.is_empty() {
        return Ok(());
    }
    let root = thread_root(conn, post)?;
    for owner in local {
        let others: Vec<i64> = everyone.iter().copied().filter(|&a| a != owner).collect();
        let key = conversations::participant_key(others);
        let unread = owner != post.author_id;
        conversations::add_post(conn, owner, root, &key, post.id, unread)?;
    }
    Ok(())
}

/// A page of a person's conversations, each with its latest post, newest first.
pub async fn page(
    ctx: &Context,
    person: i64,
    bounds: Page,
) -> Result<Vec<(ConversationRow, Option<PostRow>)>, Error> {
    ctx.db
        .run(move |conn| {
            conversations::page(conn, person, bounds)?
                .into_iter()
                .map(|row| with_last_post(conn, row))
                .collect()
        })
        .await
}

/// A conversation with its latest post, if its person may (still) see it.
fn with_last_post(
    conn: &mut AnyConnection,
    row: ConversationRow,
) -> Result<(ConversationRow, Option<PostRow>), Error> {
    let last = match posts::by_id(conn, row.last_post_id)? {
        Some(post) if super::posts::can_view(conn, &post, Some(row.actor_id))? => Some(post),
        _ => None,
    };
    Ok((row, last))
}

/// Marks one of the person's conversations read; not theirs, or unknown: 404.
pub async fn mark_read(
    ctx: &Context,
    person: i64,
    id: i64,
) -> Result<(ConversationRow, Option<PostRow>), Error> {
    ctx.write(move |conn, _| {
        let mut row = conversations::of_actor(conn, person, id)?
            .ok_or_else(|| Error::not_found("Record not found"))?;
        conversations::mark_read(conn, row.id)?;
        row.unread = false;
        with_last_post(conn, row)
    })
    .await
}

/// Removes one of the person's conversations from their list (the posts stay).
pub async fn remove(ctx: &Context, person: i64, id: i64) -> Result<(), Error> {
    ctx.write(move |conn, _| {
        let row = conversations::of_actor(conn, person, id)?
            .ok_or_else(|| Error::not_found("Record not found"))?;
        Ok(conversations::remove(conn, row.id)?)
    })
    .await
}
