//! Lookups for many posts or actors at once: what a page of statuses shows (authors, counts,
//! mentions, media, tags, the reader's likes and bookmarks) and what decides who may see each
//! post, read in one statement per kind of fact, however long the page.
//!
//! Every statement takes its ids as one bound list (`fragments::in_ids`), so it is prepared once per
//! connection and runs on the engine's own connection.

use super::{
    AnyConnection,
    actors::ActorProfile,
    fragments::in_ids,
    media::MediaRow,
    posts::PostRow,
    remote_media::RemoteMediaRow,
    schema::{
        actor_stats, actors, blocks, follows, group_moderators, media_attachments, post_mentions,
        post_tags, posts, remote_media, support_groups, tags, users,
    },
};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// What decides who may see a post, without its text: replies are checked by it, and only
/// the visible ones counted.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct PostScope {
    pub id: i64,
    pub author_id: i64,
    pub group_id: Option<i64>,
    pub visibility: String,
    pub in_reply_to_id: Option<i64>,
}

impl From<&PostRow> for PostScope {
    fn from(post: &PostRow) -> Self {
        Self {
            id: post.id,
            author_id: post.author_id,
            group_id: post.group_id,
            visibility: post.visibility.clone(),
            in_reply_to_id: post.in_reply_to_id,
        }
    }
}

/// Skips the statement when there is nothing to look up.
macro_rules! none_if_empty {
    ($ids:expr) => {
        if $ids.is_empty() {
            return Ok(Vec::new());
        }
    };
}

/// Actors by id, as accounts show them.
pub fn actors(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<ActorProfile>> {
    none_if_empty!(ids);
    on_engine!(conn, |c| actors::table
        .filter(in_ids(actors::id, ids))
        .select(ActorProfile::as_select())
        .load(c))
}

/// Posts by id, deleted ones left out.
pub fn posts(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<PostRow>> {
    none_if_empty!(ids);
    on_engine!(conn, |c| posts::table
        .filter(in_ids(posts::id, ids))
        .filter(posts::deleted_at.is_null())
        .select(PostRow::as_select())
        .load(c))
}

/// What decides who may see each post, deleted ones left out (for posts whose text is not
/// shown, such as the parents of replies).
pub fn scopes(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<PostScope>> {
    none_if_empty!(ids);
    on_engine!(conn, |c| posts::table
        .filter(in_ids(posts::id, ids))
        .filter(posts::deleted_at.is_null())
        .select(PostScope::as_select())
        .load(c))
}

/// The replies to the given posts (not deleted).
pub fn replies(conn: &mut AnyConnection, post_ids: &[i64]) -> QueryResult<Vec<PostScope>> {
    none_if_empty!(post_ids);
    on_engine!(conn, |c| posts::table
        .filter(in_ids(posts::in_reply_to_id, post_ids))
        .filter(posts::deleted_at.is_null())
        .select(PostScope::as_select())
        .load(c))
}

/// Who each post mentions: `(post, actor)`.
pub fn mentions(conn: &mut AnyConnection, post_ids: &[i64]) -> QueryResult<Vec<(i64, i64)>> {
    none_if_empty!(post_ids);
    on_engine!(conn, |c| post_mentions::table
        .filter(in_ids(post_mentions::post_id, post_ids))
        .select((post_mentions::post_id, post_mentions::actor_id))
        .load(c))
}

/// Those of the posts that mention `actor`.
pub fn mentioning(conn: &mut AnyConnection, actor: i64, post_ids: &[i64]) -> QueryResult<Vec<i64>> {
    none_if_empty!(post_ids);
    on_engine!(conn, |c| post_mentions::table
        .filter(post_mentions::actor_id.eq(actor))
        .filter(in_ids(post_mentions::post_id, post_ids))
        .select(post_mentions::post_id)
        .load(c))
}

/// What a status shows of its post besides the post: how many likes and boosts it has, and
/// whether the reader liked, boosted, bookmarked or pinned it.
#[derive(Clone, Copy, Debug, Default, QueryableByName)]
pub struct PostFacts {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub post_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub likes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub reblogs: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub liked: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub reblogged: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub bookmarked: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub pinned: bool,
}

/// The [`PostFacts`] of each post, for `reader` (none: all false), in one statement that
/// walks the ids and probes each table's index per post ([`super::fragments::PostFactsQuery`]).
/// Six statements did this before, each with its own `IN` list, which SQLite copies into a
/// temporary table every time.
pub fn post_facts(
    conn: &mut AnyConnection,
    reader: Option<i64>,
    post_ids: &[i64],
) -> QueryResult<Vec<PostFacts>> {
    none_if_empty!(post_ids);
    let query = super::fragments::PostFactsQuery::new(reader, post_ids);
    on_engine!(conn, |c| query.load(c))
}

/// The uploads attached to the (local) posts, in the order they were attached.
pub fn media(conn: &mut AnyConnection, post_ids: &[i64]) -> QueryResult<Vec<MediaRow>> {
    none_if_empty!(post_ids);
    on_engine!(conn, |c| media_attachments::table
        .filter(in_ids(media_attachments::post_id, post_ids))
        .order(media_attachments::id)
        .select(MediaRow::as_select())
        .load(c))
}

/// The images of the (remote) posts, in the order they were sent.
pub fn remote_media(
    conn: &mut AnyConnection,
    post_ids: &[i64],
) -> QueryResult<Vec<RemoteMediaRow>> {
    none_if_empty!(post_ids);
    on_engine!(conn, |c| remote_media::table
        .filter(in_ids(remote_media::post_id, post_ids))
        .order(remote_media::id)
        .select(RemoteMediaRow::as_select())
        .load(c))
}

/// The tags of the posts: `(post, name)`, alphabetically.
pub fn tags(conn: &mut AnyConnection, post_ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    none_if_empty!(post_ids);
    on_engine!(conn, |c| post_tags::table
        .inner_join(tags::table)
        .filter(in_ids(post_tags::post_id, post_ids))
        .order(tags::name.asc())
        .select((post_tags::post_id, tags::name))
        .load(c))
}

/// The counts of each actor, as the database keeps them.
#[derive(Clone, Copy, Debug, Queryable, Selectable)]
#[diesel(table_name = actor_stats)]
pub struct ActorStats {
    pub actor_id: i64,
    /// Posts written (not deleted).
    pub posts_count: i64,
    /// For a group, posts in it (not deleted).
    pub group_posts_count: i64,
    /// Accepted followers (members, of a group).
    pub followers_count: i64,
    /// Accepted follows (of people and groups).
    pub following_count: i64,
}

/// The counts of the actors (those with none yet are left out).
pub fn stats(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<ActorStats>> {
    none_if_empty!(ids);
    on_engine!(conn, |c| actor_stats::table
        .filter(in_ids(actor_stats::actor_id, ids))
        .select(ActorStats::as_select())
        .load(c))
}

/// Those of the actors (people, groups) `follower` follows, accepted.
pub fn followed(conn: &mut AnyConnection, follower: i64, ids: &[i64]) -> QueryResult<Vec<i64>> {
    none_if_empty!(ids);
    on_engine!(conn, |c| follows::table
        .filter(follows::follower_id.eq(follower))
        .filter(in_ids(follows::target_id, ids))
        .filter(follows::accepted.eq(true))
        .select(follows::target_id)
        .load(c))
}

/// Those of the groups `actor` moderates (its owner counts).
pub fn moderated(conn: &mut AnyConnection, actor: i64, groups: &[i64]) -> QueryResult<Vec<i64>> {
    none_if_empty!(groups);
    let mut found: Vec<i64> = on_engine!(conn, |c| group_moderators::table
        .filter(group_moderators::actor_id.eq(actor))
        .filter(in_ids(group_moderators::group_id, groups))
        .select(group_moderators::group_id)
        .load(c))?;
    found.extend(on_engine!(conn, |c| support_groups::table
        .filter(support_groups::owner_id.eq(actor))
        .filter(in_ids(support_groups::actor_id, groups))
        .select(support_groups::actor_id)
        .load::<i64>(c))?);
    Ok(found)
}

/// Of the actors `ids`, the local accounts a moderator suspended or sensitized:
/// `(actor_id, suspended, sensitized)`, only those with either mark.
pub fn marked(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<Vec<(i64, bool, bool)>> {
    none_if_empty!(ids);
    let rows: Vec<(i64, Option<NaiveDateTime>, Option<NaiveDateTime>)> =
        on_engine!(conn, |c| users::table
            .filter(in_ids(users::actor_id, ids))
            .filter(
                users::suspended_at
                    .is_not_null()
                    .or(users::sensitized_at.is_not_null())
            )
            .select((users::actor_id, users::suspended_at, users::sensitized_at))
            .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, suspended, sensitized)| (id, suspended.is_some(), sensitized.is_some()))
        .collect())
}

/// Those of the actors that block `target`.
pub fn blocking(conn: &mut AnyConnection, target: i64, ids: &[i64]) -> QueryResult<Vec<i64>> {
    none_if_empty!(ids);
    on_engine!(conn, |c| blocks::table
        .filter(blocks::target_id.eq(target))
        .filter(in_ids(blocks::actor_id, ids))
        .select(blocks::actor_id)
        .load(c))
}
