//! Posts, their mentions and their likes.

use super::{
    AnyConnection,
    fragments::{eq_constant, in_ids},
    schema::{follows, likes, media_attachments, post_mentions, posts, remote_media},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// Whether the post in `posts` is by a local account kept out of public listings (public
/// timelines, tag timelines, search) for the reader `$viewer` (an actor id; any id no actor
/// has for nobody signed in): suspended, or limited and neither followed by the reader (an
/// accepted follow) nor the reader's own. One correlated look-up by primary key per post
/// read; remote authors have no `users` row and pass at once.
macro_rules! withheld_from {
    ($viewer:expr) => {{
        use $crate::db::schema::{follows as f, posts as p, users as u};
        let viewer: i64 = $viewer;
        diesel::dsl::exists(
            u::table.filter(u::actor_id.eq(p::author_id)).filter(
                u::suspended_at.is_not_null().or(u::limited_at
                    .is_not_null()
                    .and(u::actor_id.ne(viewer))
                    .and(diesel::dsl::not(diesel::dsl::exists(
                        f::table
                            .filter(f::follower_id.eq(viewer))
                            .filter(f::target_id.eq(p::author_id))
                            .filter(f::accepted),
                    )))),
            ),
        )
    }};
}
pub(crate) use withheld_from;

/// The id a reader who is nobody signed in is taken as: no actor has it.
pub const NOBODY: i64 = i64::MIN;

/// One post.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(
    table_name = posts,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct PostRow {
    pub id: i64,
    pub ap_id: String,
    /// `Note` or `Page` (a Lemmy post with a title).
    pub kind: String,
    pub author_id: i64,
    pub group_id: Option<i64>,
    pub in_reply_to_ap_id: Option<String>,
    pub in_reply_to_id: Option<i64>,
    /// Title (Lemmy posts).
    pub name: Option<String>,
    /// Sanitised HTML.
    pub content: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    /// `public`, `unlisted`, `private`, `direct` or `members`.
    pub visibility: String,
    pub url: Option<String>,
    pub local: bool,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub published_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub edited_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::time::MaybeStamp)]
    pub deleted_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
    /// The text a local post was written as (for editing); `None` for remote posts.
    pub source_text: Option<String>,
    /// ISO 639 code of the language it was written in, if known.
    pub language: Option<String>,
}

impl PostRow {
    /// Whether the post was deleted (it then answers 410 Gone).
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// Inserts a post.
pub fn insert(conn: &mut AnyConnection, row: &PostRow) -> QueryResult<()> {
    on_engine!(conn, |c| diesel::insert_into(posts::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// Inserts a post unless one with its ActivityPub id is stored; returns whether it was
/// inserted.
pub fn insert_new(conn: &mut AnyConnection, row: &PostRow) -> QueryResult<bool> {
    on_engine!(conn, |c| diesel::insert_into(posts::table)
        .values(row)
        .on_conflict(posts::ap_id)
        .do_nothing()
        .execute(c))
    .map(|inserted| inserted == 1)
}

/// [`insert_new`] of several posts, with different ActivityPub ids: the ids of those inserted.
/// One statement on PostgreSQL; on SQLite, where a statement is no round trip, one per post.
pub fn insert_new_all(
    conn: &mut AnyConnection,
    rows: &[PostRow],
) -> QueryResult<std::collections::HashSet<i64>> {
    match conn {
        _ if rows.is_empty() => Ok(Default::default()),
        AnyConnection::Postgresql(c) => {
            let inserted: Vec<i64> = diesel::insert_into(posts::table)
                .values(rows)
                .on_conflict(posts::ap_id)
                .do_nothing()
                .returning(posts::id)
                .load(c)?;
            Ok(inserted.into_iter().collect())
        }
        AnyConnection::Sqlite(_) => {
            let mut inserted = std::collections::HashSet::new();
            for row in rows {
                if insert_new(conn, row)? {
                    inserted.insert(row.id);
                }
            }
            Ok(inserted)
        }
    }
}

/// Saves an edited post.
pub fn update(conn: &mut AnyConnection, row: &PostRow) -> QueryResult<()> {
    diesel::update(posts::table.find(row.id))
        .set(row)
        .execute(conn)
        .map(|_| ())
}

/// The post with this ActivityPub id.
pub fn by_ap_id(conn: &mut AnyConnection, ap_id: &str) -> QueryResult<Option<PostRow>> {
    on_engine!(conn, |c| posts::table
        .filter(posts::ap_id.eq(ap_id))
        .select(PostRow::as_select())
        .get_result(c)
        .optional())
}

/// Every post of an author, deleted ones included, oldest first.
pub fn all_by_author(conn: &mut AnyConnection, author_id: i64) -> QueryResult<Vec<PostRow>> {
    on_engine!(conn, |c| posts::table
        .filter(posts::author_id.eq(author_id))
        .order(posts::id)
        .select(PostRow::as_select())
        .load(c))
}

/// The post with this row id.
pub fn by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<PostRow>> {
    on_engine!(conn, |c| posts::table
        .find(id)
        .select(PostRow::as_select())
        .get_result(c)
        .optional())
}

/// Marks a post deleted and empties it; its likes and the notifications about it go.
pub fn mark_deleted(conn: &mut AnyConnection, id: i64) -> QueryResult<()> {
    diesel::update(posts::table.find(id))
        .set((
            posts::deleted_at.eq(Some(Utc::now().naive_utc())),
            posts::content.eq(""),
            posts::name.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::delete(likes::table.filter(likes::post_id.eq(id))).execute(conn)?;
    super::conversations::forget_post(conn, id)?;
    // The row stays as a tombstone, so the notifications' cascade does not run.
    super::notifications::forget_post(conn, id)
}

/// A post just stored, whose replies may have arrived before it: `(id, ap_id)`.
pub type Parent = (i64, String);

thread_local! {
    /// The posts the write the writer runs on this thread stored: their early replies are
    /// looked for once for the whole batch (on PostgreSQL, by one statement instead of one
    /// per post; there rarely are any).
    pub static PARENTS: super::writer::Held<Parent> = const { std::cell::RefCell::new(None) };
}

/// Links the replies that arrived before `parent`, now or at the end of the writer's batch.
pub fn adopt_early_replies(conn: &mut AnyConnection, parent: &PostRow) -> QueryResult<()> {
    let parent = (parent.id, parent.ap_id.clone());
    match super::writer::leave_for_batch(&PARENTS, parent) {
        Some(parent) => adopt_replies(conn, &[parent]),
        None => Ok(()),
    }
}

/// Replies that arrived before their parents: link them now. The `in_reply_to_id IS NULL`
/// condition lets the engines use the small `posts_orphans` index.
pub fn adopt_replies(conn: &mut AnyConnection, parents: &[Parent]) -> QueryResult<()> {
    if parents.is_empty() {
        return Ok(());
    }
    // Looked for first: diesel prepares every UPDATE afresh, and there rarely are any.
    let orphans = || {
        posts::table
            .filter(posts::in_reply_to_id.is_null())
            .select(posts::in_reply_to_ap_id.assume_not_null())
    };
    let waiting: Vec<String> = match conn {
        // All at once: each statement is a round trip to PostgreSQL.
        AnyConnection::Postgresql(pg) => {
            let ap_ids: Vec<&str> = parents.iter().map(|(_, ap_id)| ap_id.as_str()).collect();
            orphans()
                .filter(posts::in_reply_to_ap_id.eq_any(&ap_ids))
                .distinct()
                .load(pg)?
        }
        // One by one: SQLite answers in-process, and given a long list of values it would
        // walk the index of every post without a parent instead of the small one of orphans.
        AnyConnection::Sqlite(lite) => {
            let mut waiting = Vec::new();
            for (_, ap_id) in parents {
                let found: Option<String> = orphans()
                    .filter(posts::in_reply_to_ap_id.eq(ap_id))
                    .first(lite)
                    .optional()?;
                waiting.extend(found);
            }
            waiting
        }
    };
    for (id, ap_id) in parents.iter().filter(|(_, a)| waiting.contains(a)) {
        diesel::update(
            posts::table
                .filter(posts::in_reply_to_id.is_null())
                .filter(posts::in_reply_to_ap_id.eq(ap_id))
                .filter(posts::id.ne(id)),
        )
        .set(posts::in_reply_to_id.eq(Some(id)))
        .execute(conn)?;
    }
    Ok(())
}

/// Records who a post mentions.
pub fn add_mentions(conn: &mut AnyConnection, post_id: i64, actor_ids: &[i64]) -> QueryResult<()> {
    for actor_id in actor_ids {
        let exists: i64 = post_mentions::table
            .filter(post_mentions::post_id.eq(post_id))
            .filter(post_mentions::actor_id.eq(actor_id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            diesel::insert_into(post_mentions::table)
                .values((
                    post_mentions::post_id.eq(post_id),
                    post_mentions::actor_id.eq(actor_id),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Actor ids a post mentions.
pub fn mentions(conn: &mut AnyConnection, post_id: i64) -> QueryResult<Vec<i64>> {
    on_engine!(conn, |c| post_mentions::table
        .filter(post_mentions::post_id.eq(post_id))
        .select(post_mentions::actor_id)
        .load(c))
}

/// Records a like; returns its row id, or `None` if the actor already liked the post.
pub fn like(
    conn: &mut AnyConnection,
    ap_id: &str,
    actor_id: i64,
    post_id: i64,
) -> QueryResult<Option<i64>> {
    let exists: i64 = likes::table
        .filter(likes::actor_id.eq(actor_id))
        .filter(likes::post_id.eq(post_id))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(None);
    }
    let id = super::id::new_id();
    diesel::insert_into(likes::table)
        .values((
            likes::id.eq(id),
            likes::ap_id.eq(ap_id),
            likes::actor_id.eq(actor_id),
            likes::post_id.eq(post_id),
            likes::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| Some(id))
}

/// The like of `actor_id` on `post_id`: its activity id.
pub fn like_of(
    conn: &mut AnyConnection,
    actor_id: i64,
    post_id: i64,
) -> QueryResult<Option<String>> {
    likes::table
        .filter(likes::actor_id.eq(actor_id))
        .filter(likes::post_id.eq(post_id))
        .select(likes::ap_id)
        .get_result(conn)
        .optional()
}

/// Removes a like by activity id, or by actor and post; returns the post id if one was removed.
pub fn unlike(
    conn: &mut AnyConnection,
    actor_id: i64,
    ap_id: Option<&str>,
    post_id: Option<i64>,
) -> QueryResult<bool> {
    let mut query = diesel::delete(likes::table)
        .filter(likes::actor_id.eq(actor_id))
        .into_boxed();
    if let Some(ap_id) = ap_id {
        query = query.filter(likes::ap_id.eq(ap_id.to_owned()));
    }
    if let Some(post_id) = post_id {
        query = query.filter(likes::post_id.eq(post_id));
    }
    query.execute(conn).map(|n| n > 0)
}

/// A page of the posts `actor_id` liked, newest like first, each with the like's id (what the
/// page's bounds refer to).
pub fn liked_by(
    conn: &mut AnyConnection,
    actor_id: i64,
    bounds: Page,
) -> QueryResult<Vec<(i64, PostRow)>> {
    let (upper, lower) = bounds.id_range();
    super::first_rows!(
        conn,
        likes::table
            .inner_join(posts::table.on(posts::id.eq(likes::post_id)))
            .filter(likes::actor_id.eq(actor_id))
            .filter(likes::id.lt(upper))
            .filter(likes::id.gt(lower))
            .filter(posts::deleted_at.is_null())
            .select((likes::id, PostRow::as_select()))
            .order(likes::id.desc()),
        bounds.limit
    )
}

/// Who liked a post, most recent first (at most `limit`).
pub fn likers(conn: &mut AnyConnection, post_id: i64, limit: i64) -> QueryResult<Vec<i64>> {
    likes::table
        .filter(likes::post_id.eq(post_id))
        .order(likes::id.desc())
        .limit(limit)
        .select(likes::actor_id)
        .load(conn)
}

/// Replies to a post (not deleted), oldest first.
pub fn replies(conn: &mut AnyConnection, post_id: i64) -> QueryResult<Vec<PostRow>> {
    posts::table
        .filter(posts::in_reply_to_id.eq(post_id))
        .filter(posts::deleted_at.is_null())
        .order(posts::id.asc())
        .select(PostRow::as_select())
        .load(conn)
}

/// How many local posts exist (for NodeInfo).
pub fn count_local(conn: &mut AnyConnection) -> QueryResult<i64> {
    posts::table
        .filter(posts::local.eq(true))
        .filter(posts::deleted_at.is_null())
        .count()
        .get_result(conn)
}

/// A page of posts for a timeline: by any of `authors`, or in any of `groups`, or mentioning
/// `mentioned`, but none by the `hidden` authors (`blocks::hidden_from`); newest first,
/// within the id bounds given.
///
/// Each author and group is read by its own index, at most a page of it, and the pages are
/// merged: a single query joining the sources with `OR` read every post of every source and
/// sorted them all, on both engines (25 ms for a group of 18,000 posts; 0.1 ms this way).
pub fn timeline(
    conn: &mut AnyConnection,
    authors: &[i64],
    groups: &[i64],
    mentioned: Option<i64>,
    hidden: &[i64],
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    let mut found = Vec::new();
    for &author in authors.iter().filter(|a| !hidden.contains(a)) {
        found.extend(timeline_source(
            conn,
            TimelineSource::Author(author),
            &[],
            false,
            bounds,
        )?);
    }
    for &group in groups {
        found.extend(timeline_source(
            conn,
            TimelineSource::Group(group),
            hidden,
            false,
            bounds,
        )?);
    }
    if let Some(actor) = mentioned {
        found.extend(timeline_source(
            conn,
            TimelineSource::Mentioning(actor),
            hidden,
            false,
            bounds,
        )?);
    }
    // min_id pages forward from the oldest: the oldest page, newest first.
    let oldest_first = bounds.min_id.is_some();
    if oldest_first {
        found.sort_unstable_by_key(|p| p.id);
    } else {
        found.sort_unstable_by_key(|p| std::cmp::Reverse(p.id));
    }
    found.dedup_by_key(|p| p.id);
    found.truncate(usize::try_from(bounds.limit).unwrap_or(0));
    if oldest_first {
        found.reverse();
    }
    Ok(found)
}

/// The windows of newest posts a home timeline walks through, one after another, checking
/// each post, before it reads its sources one by one (4,096 posts in all). A busy reader's
/// page is found in the first: finding where a window ends walks its posts' ids once, so a
/// small first window keeps that walk short.
const HOME_WINDOWS: [i64; 3] = [64, 448, 3584];

/// Who a home timeline is read for, and from where.
#[derive(Clone, Copy, Debug)]
pub struct HomeReader<'a> {
    /// The reader: their own posts and boosts, and posts that mention them.
    pub id: i64,
    /// Whom they follow (people and groups), when there are few enough to read each on its
    /// own; `None` for many, read from the follows in the statement itself.
    pub few_follows: Option<&'a [i64]>,
    /// Accounts they hide (blocks, mutes).
    pub hidden: &'a [i64],
}

/// A page of a home timeline: posts by whom the reader follows and by the reader, in the
/// groups they are in, and that mention them. A reader with few follows has each source read
/// by its own index ([`timeline`]). For one with many (a thousand) the newest posts below the
/// page's bound are walked in [`HOME_WINDOWS`], each in one statement that checks each post
/// against the follows' index, and the sources are read one by one only for what the windows
/// did not fill.
pub fn home(
    conn: &mut AnyConnection,
    reader: HomeReader<'_>,
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    let by_source = |conn: &mut AnyConnection, follows: &[i64], bounds: Page| {
        let mut authors: Vec<i64> = follows
            .iter()
            .copied()
            .filter(|a| !reader.hidden.contains(a))
            .collect();
        authors.push(reader.id);
        timeline(
            conn,
            &authors,
            follows,
            Some(reader.id),
            reader.hidden,
            bounds,
        )
    };
    if let Some(follows) = reader.few_follows {
        return by_source(conn, follows, bounds);
    }
    if bounds.min_id.is_some() {
        let follows = super::follows::followed_ids(conn, reader.id)?;
        return by_source(conn, &follows, bounds);
    }
    let since = bounds.since_id.unwrap_or(i64::MIN);
    let me = reader.id;
    // Whether the reader follows (accepted) the actor in `$column`.
    macro_rules! followed {
        ($column:expr) => {
            diesel::dsl::exists(
                follows::table
                    .filter(follows::follower_id.eq(me))
                    .filter(follows::target_id.nullable().eq($column))
                    .filter(follows::accepted),
            )
        };
    }
    let mut found: Vec<PostRow> = Vec::new();
    let mut upper = bounds.max_id.unwrap_or(i64::MAX);
    for window in HOME_WINDOWS {
        // The window's oldest post; none when fewer posts than the window are left.
        let floor: Option<i64> = on_engine!(conn, |c| posts::table
            .filter(posts::id.lt(upper))
            .order(posts::id.desc())
            .select(posts::id)
            .offset(window - 1)
            .limit(1)
            .get_result(c)
            .optional())?;
        let lower = floor.unwrap_or(i64::MIN).max(since);
        found.extend(super::first_rows!(
            conn,
            posts::table
                .filter(posts::id.lt(upper))
                .filter(posts::id.ge(lower))
                .filter(posts::id.gt(since))
                .filter(posts::deleted_at.is_null())
                .filter(
                    posts::author_id
                        .eq(me)
                        .or(followed!(posts::author_id.nullable()))
                        .or(followed!(posts::group_id))
                        .or(diesel::dsl::exists(
                            post_mentions::table
                                .filter(post_mentions::post_id.eq(posts::id))
                                .filter(post_mentions::actor_id.eq(me)),
                        )),
                )
                .filter(diesel::dsl::not(in_ids(posts::author_id, reader.hidden)))
                .order(posts::id.desc())
                .select(PostRow::as_select()),
            bounds.limit - found.len() as i64
        )?);
        match floor {
            Some(floor) if (found.len() as i64) < bounds.limit && floor > since => upper = floor,
            _ => return Ok(found),
        }
    }
    let below = Page {
        max_id: Some(upper),
        limit: bounds.limit - found.len() as i64,
        ..bounds
    };
    let follows = super::follows::followed_ids(conn, reader.id)?;
    found.extend(by_source(conn, &follows, below)?);
    Ok(found)
}

/// Where a timeline's posts come from.
#[derive(Clone, Copy)]
enum TimelineSource {
    Author(i64),
    Group(i64),
    Mentioning(i64),
    /// Public posts: all, only local ones (`Some(true)`) or only remote ones; for the
    /// reader given (see [`withheld_from`]).
    Public(Option<bool>, i64),
}

/// One source's page of a timeline, without the `hidden` authors' posts (and with images
/// only if `only_media`): newest first, or oldest first with `min_id`.
///
/// Each source's statement has one shape whatever the bounds, walks one index in the page's
/// order and is prepared once per connection (see [`super::first_rows`]).
fn timeline_source(
    conn: &mut AnyConnection,
    source: TimelineSource,
    hidden: &[i64],
    only_media: bool,
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    let (upper, lower) = bounds.id_range();
    let media = diesel::dsl::exists(
        media_attachments::table.filter(media_attachments::post_id.eq(posts::id.nullable())),
    )
    .or(diesel::dsl::exists(
        remote_media::table.filter(remote_media::post_id.eq(posts::id.nullable())),
    ));
    let any = (!only_media).into_sql::<diesel::sql_types::Bool>();
    // The page of `$from` (filtered by `$source`), in the order of `$order`.
    macro_rules! page {
        ($from:expr, $source:expr, $order:expr) => {{
            macro_rules! query {
                () => {
                    $from
                        .filter($source)
                        .filter(posts::deleted_at.is_null())
                        .filter(posts::id.lt(upper))
                        .filter(posts::id.gt(lower))
                        .filter(diesel::dsl::not(in_ids(posts::author_id, hidden)))
                        .filter(any.or(media))
                        .select(PostRow::as_select())
                };
            }
            if bounds.min_id.is_some() {
                super::first_rows!(conn, query!().order($order.asc()), bounds.limit)
            } else {
                super::first_rows!(conn, query!().order($order.desc()), bounds.limit)
            }
        }};
    }
    match source {
        TimelineSource::Author(id) => page!(posts::table, posts::author_id.eq(id), posts::id),
        TimelineSource::Group(id) => page!(posts::table, posts::group_id.eq(id), posts::id),
        TimelineSource::Public(None, viewer) => page!(
            posts::table,
            eq_constant(posts::visibility, "public").and(diesel::dsl::not(withheld_from!(viewer))),
            posts::id
        ),
        // The column itself, not `= ?`, so that the partial index of local posts applies.
        TimelineSource::Public(Some(true), viewer) => page!(
            posts::table,
            eq_constant(posts::visibility, "public")
                .and(posts::local)
                .and(diesel::dsl::not(withheld_from!(viewer))),
            posts::id
        ),
        // Remote authors are never withheld here (domain policy decides about them).
        TimelineSource::Public(Some(false), _) => page!(
            posts::table,
            eq_constant(posts::visibility, "public").and(diesel::dsl::not(posts::local)),
            posts::id
        ),
        // Read from the mentions' index: a person may be mentioned in thousands of posts.
        TimelineSource::Mentioning(actor) => page!(
            posts::table.inner_join(post_mentions::table),
            post_mentions::actor_id.eq(actor),
            post_mentions::post_id
        ),
    }
}

/// Public posts, newest first: all, local (`Some(true)`) or remote (`Some(false)`) ones, but
/// none by the `hidden` authors nor by local accounts withheld from `viewer` (suspended, or
/// limited and not followed: [`withheld_from`]); with images only, if `only_media`.
pub fn public(
    conn: &mut AnyConnection,
    viewer: Option<i64>,
    local: Option<bool>,
    only_media: bool,
    hidden: &[i64],
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    let mut found = timeline_source(
        conn,
        TimelineSource::Public(local, viewer.unwrap_or(NOBODY)),
        hidden,
        only_media,
        bounds,
    )?;
    if bounds.min_id.is_some() {
        found.reverse();
    }
    Ok(found)
}

/// Posts by an author, newest first; with images only, if `only_media`.
pub fn by_author(
    conn: &mut AnyConnection,
    author_id: i64,
    only_media: bool,
    bounds: Page,
) -> QueryResult<Vec<PostRow>> {
    let mut found = timeline_source(
        conn,
        TimelineSource::Author(author_id),
        &[],
        only_media,
        bounds,
    )?;
    if bounds.min_id.is_some() {
        found.reverse();
    }
    Ok(found)
}

/// Mastodon-style page bounds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Page {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: i64,
}

impl Page {
    /// The ids the page's items lie strictly between: `(below, above)`, from `max_id`, and
    /// `since_id` or `min_id`. One statement shape serves every page.
    pub fn id_range(&self) -> (i64, i64) {
        let above = self
            .since_id
            .unwrap_or(i64::MIN)
            .max(self.min_id.unwrap_or(i64::MIN));
        (self.max_id.unwrap_or(i64::MAX), above)
    }
}

/// A fresh post row with a new id.
pub fn new_row(
    ap_id: String,
    kind: &str,
    author_id: i64,
    content: String,
    visibility: &str,
    local: bool,
) -> PostRow {
    let now = Utc::now().naive_utc();
    PostRow {
        id: super::id::new_id(),
        ap_id,
        kind: kind.into(),
        author_id,
        group_id: None,
        in_reply_to_ap_id: None,
        in_reply_to_id: None,
        name: None,
        content,
        spoiler_text: String::new(),
        sensitive: false,
        visibility: visibility.into(),
        url: None,
        local,
        published_at: now,
        edited_at: None,
        deleted_at: None,
        created_at: now,
        source_text: None,
        language: None,
    }
}

/// Up to `limit` of a group's posts published before `cutoff`, not yet deleted, oldest first.
pub fn in_group_before(
    conn: &mut AnyConnection,
    group_id: i64,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<PostRow>> {
    posts::table
        .filter(posts::group_id.eq(group_id))
        .filter(posts::deleted_at.is_null())
        .filter(posts::published_at.lt(cutoff))
        .order((posts::published_at.asc(), posts::id.asc()))
        .limit(limit)
        .select(PostRow::as_select())
        .load(conn)
}

/// A page of what an actor's outbox lists, newest first, below `max_id`: a person's posts
/// (`group` false) or the posts in a group (`group` true), of the given visibilities.
pub fn outbox_page(
    conn: &mut AnyConnection,
    actor_id: i64,
    group: bool,
    visibilities: &[&str],
    max_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<PostRow>> {
    let mut query = posts::table
        .filter(posts::deleted_at.is_null())
        .filter(posts::visibility.eq_any(visibilities))
        .into_boxed();
    query = if group {
        query.filter(posts::group_id.eq(actor_id))
    } else {
        query.filter(posts::author_id.eq(actor_id))
    };
    if let Some(max_id) = max_id {
        query = query.filter(posts::id.lt(max_id));
    }
    query
        .order(posts::id.desc())
        .limit(limit)
        .select(PostRow::as_select())
        .load(conn)
}
