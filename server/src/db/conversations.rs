//! Local people's direct conversations (Mastodon's `AccountConversation`): one row per person,
//! thread and set of other participants, pointing at the thread's latest direct post.

use super::{
    AnyConnection,
    posts::Page,
    schema::{actors, conversations},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One person's conversation.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    pub id: i64,
    /// The local person whose conversation it is.
    pub actor_id: i64,
    /// The first post of the thread.
    pub root_id: i64,
    /// The other participants' actor ids, ascending, comma-separated.
    pub participant_ids: String,
    pub last_post_id: i64,
    pub unread: bool,
    pub updated_at: NaiveDateTime,
}

impl ConversationRow {
    /// The other participants' actor ids.
    pub fn participants(&self) -> Vec<i64> {
        self.participant_ids
            .split(',')
            .filter_map(|id| id.parse().ok())
            .collect()
    }
}

/// The stored form of a set of participants.
pub fn participant_key(mut ids: Vec<i64>) -> String {
    ids.sort_unstable();
    ids.dedup();
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Puts `post_id` at the head of the person's conversation (made if new): unread unless
/// they wrote it themselves. Two processes adding to one conversation at once meet on its
/// unique index, and the later one updates it.
pub fn add_post(
    conn: &mut AnyConnection,
    actor_id: i64,
    root_id: i64,
    participant_ids: &str,
    post_id: i64,
    unread: bool,
) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    let row = ConversationRow {
        id: super::id::new_id(),
        actor_id,
        root_id,
        participant_ids: participant_ids.to_owned(),
        last_post_id: post_id,
        unread,
        updated_at: now,
    };
    on_engine!(conn, |c| diesel::insert_into(conversations::table)
        .values(&row)
        .on_conflict((
            conversations::actor_id,
            conversations::root_id,
            conversations::participant_ids,
        ))
        .do_update()
        .set((
            conversations::last_post_id.eq(post_id),
            conversations::unread.eq(unread),
            conversations::updated_at.eq(now),
        ))
        .execute(c))
    .map(|_| ())
}

/// A page of a person's conversations, the latest post first; bounds refer to the latest
/// posts' ids, as Mastodon pages them.
pub fn page(
    conn: &mut AnyConnection,
    actor_id: i64,
    bounds: Page,
) -> QueryResult<Vec<ConversationRow>> {
    let mut query = conversations::table
        .filter(conversations::actor_id.eq(actor_id))
        .select(ConversationRow::as_select())
        .into_boxed();
    if let Some(max_id) = bounds.max_id {
        query = query.filter(conversations::last_post_id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id {
        query = query.filter(conversations::last_post_id.gt(since_id));
    }
    let oldest_first = bounds.min_id.is_some();
    if let Some(min_id) = bounds.min_id {
        query = query
            .filter(conversations::last_post_id.gt(min_id))
            .order(conversations::last_post_id.asc());
    } else {
        query = query.order(conversations::last_post_id.desc());
    }
    let mut found = query.limit(bounds.limit).load(conn)?;
    if oldest_first {
        found.reverse();
    }
    Ok(found)
}

/// The person's conversation with this id.
pub fn of_actor(
    conn: &mut AnyConnection,
    actor_id: i64,
    id: i64,
) -> QueryResult<Option<ConversationRow>> {
    conversations::table
        .filter(conversations::id.eq(id))
        .filter(conversations::actor_id.eq(actor_id))
        .select(ConversationRow::as_select())
        .get_result(conn)
        .optional()
}

/// Marks a conversation read.
pub fn mark_read(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::update(conversations::table.find(id))
        .set(conversations::unread.eq(false))
        .execute(conn)
        .map(|_| ())
}

/// Removes a conversation from its person's list (a later post brings it back).
pub fn remove(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::delete(conversations::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// A post was deleted: conversations it headed fall back to the post it replied to, if that
/// is a direct post still there, or go.
pub fn forget_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<()> {
    let headed = conversations::table.filter(conversations::last_post_id.eq(post_id));
    let count: i64 = headed.count().get_result(conn)?;
    if count == 0 {
        return Ok(());
    }
    let previous = match super::posts::by_id(conn, post_id)?.and_then(|p| p.in_reply_to_id) {
        Some(parent) => super::posts::by_id(conn, parent)?
            .filter(|p| !p.is_deleted() && p.visibility == "direct")
            .map(|p| p.id),
        None => None,
    };
    match previous {
        Some(previous) => diesel::update(headed)
            .set(conversations::last_post_id.eq(previous))
            .execute(conn)
            .map(|_| ()),
        None => diesel::delete(headed).execute(conn).map(|_| ()),
    }
}

/// The local people among these actors: whose conversations a direct post joins.
pub fn local_people(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
    actors::table
        .filter(actors::id.eq_any(ids))
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(hearth_federation::protocol::actor::ActorKind::Person.as_str()))
        .select(actors::id)
        .load(conn)
}
