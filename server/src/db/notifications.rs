//! The `notifications` and `markers` tables. Who is notified of what is decided in
//! `service/notifications.rs`; this file only stores and reads.

use super::{
    AnyConnection,
    actors::ActorProfile,
    fragments::{eq_constant, in_ids},
    posts::{Page, PostRow},
    schema::{markers, notifications},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    /// The local person notified.
    pub recipient_id: i64,
    /// `mention`, `follow`, `follow_request`, `favourite`, `reblog`, `admin.sign_up`,
    /// `admin.report` or `hearth:announcement`.
    pub kind: String,
    /// The account whose act it is.
    pub from_id: i64,
    pub post_id: Option<i64>,
    pub follow_id: Option<i64>,
    pub like_id: Option<i64>,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
    /// The report announced (`admin.report`).
    pub report_id: Option<i64>,
    /// The clinic's announcement (`hearth:announcement`).
    pub announcement_id: Option<i64>,
}

impl NotificationRow {
    /// A new notification with a fresh, time-ordered id.
    pub fn new(recipient_id: i64, kind: &str, from_id: i64) -> Self {
        Self {
            id: super::id::new_id(),
            recipient_id,
            kind: kind.to_owned(),
            from_id,
            post_id: None,
            follow_id: None,
            like_id: None,
            created_at: Utc::now().naive_utc(),
            report_id: None,
            announcement_id: None,
        }
    }
}

/// Which of a person's notifications a list or count takes.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only these kinds (all when empty).
    pub kinds: Vec<String>,
    /// Not these kinds.
    pub excluded: Vec<String>,
    /// Only those from this account.
    pub from_id: Option<i64>,
    /// Not those from these accounts (`blocks::hidden_from`), except the moderators' own
    /// kinds (`admin.*`): a moderator's personal block or mute never hides a report.
    pub hidden: Vec<i64>,
}

/// Stores notifications, a thousand to a statement.
pub fn insert_all(conn: &mut AnyConnection, rows: &[NotificationRow]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        on_engine!(conn, |c| diesel::insert_into(notifications::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Stores a notification.
pub fn insert(conn: &mut AnyConnection, row: &NotificationRow) -> QueryResult<()> {
    on_engine!(conn, |c| diesel::insert_into(notifications::table)
        .values(row)
        .execute(c))
    .map(|_| ())
}

/// Whether `recipient_id` already has a notification of `kind` from `from_id` about `post_id`.
pub fn exists(
    conn: &mut AnyConnection,
    recipient_id: i64,
    kind: &str,
    from_id: i64,
    post_id: i64,
) -> QueryResult<bool> {
    let found: i64 = notifications::table
        .filter(notifications::recipient_id.eq(recipient_id))
        .filter(notifications::kind.eq(kind))
        .filter(notifications::from_id.eq(from_id))
        .filter(notifications::post_id.eq(post_id))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// A page of all of a person's notifications but those from the `hidden` accounts (admin
/// notifications are never hidden): the list apps read most, by a statement prepared once.
fn unfiltered_page(
    conn: &mut AnyConnection,
    recipient_id: i64,
    hidden: &[i64],
    bounds: Page,
) -> QueryResult<Vec<NotificationRow>> {
    let (upper, lower) = bounds.id_range();
    macro_rules! query {
        () => {
            notifications::table
                .filter(notifications::recipient_id.eq(recipient_id))
                .filter(notifications::id.lt(upper))
                .filter(notifications::id.gt(lower))
                .filter(
                    diesel::dsl::not(in_ids(notifications::from_id, hidden))
                        .or(eq_constant(notifications::kind, "admin.sign_up"))
                        .or(eq_constant(notifications::kind, "admin.report")),
                )
                .select(NotificationRow::as_select())
        };
    }
    let mut rows: Vec<NotificationRow> = if bounds.min_id.is_some() {
        super::first_rows!(conn, query!().order(notifications::id.asc()), bounds.limit)?
    } else {
        super::first_rows!(conn, query!().order(notifications::id.desc()), bounds.limit)?
    };
    if bounds.min_id.is_some() {
        rows.reverse();
    }
    Ok(rows)
}

/// A page of `recipient_id`'s notifications, newest first (with `min_id`, the page just
/// above it, still newest first). One range of the `(recipient_id, id)` index.
pub fn page(
    conn: &mut AnyConnection,
    recipient_id: i64,
    filter: &Filter,
    bounds: Page,
) -> QueryResult<Vec<NotificationRow>> {
    if filter.kinds.is_empty() && filter.excluded.is_empty() && filter.from_id.is_none() {
        return unfiltered_page(conn, recipient_id, &filter.hidden, bounds);
    }
    let mut query = notifications::table
        .filter(notifications::recipient_id.eq(recipient_id))
        .select(NotificationRow::as_select())
        .into_boxed();
    if !filter.kinds.is_empty() {
        query = query.filter(notifications::kind.eq_any(filter.kinds.clone()));
    }
    if !filter.excluded.is_empty() {
        query = query.filter(notifications::kind.ne_all(filter.excluded.clone()));
    }
    if let Some(from) = filter.from_id {
        query = query.filter(notifications::from_id.eq(from));
    }
    if !filter.hidden.is_empty() {
        query = query.filter(
            notifications::from_id
                .ne_all(filter.hidden.clone())
                .or(notifications::kind.like("admin.%")),
        );
    }
    if let Some(max_id) = bounds.max_id {
        query = query.filter(notifications::id.lt(max_id));
    }
    if let Some(since_id) = bounds.since_id {
        query = query.filter(notifications::id.gt(since_id));
    }
    let oldest_first = bounds.min_id.is_some();
    if let Some(min_id) = bounds.min_id {
        query = query
            .filter(notifications::id.gt(min_id))
            .order(notifications::id.asc());
    } else {
        query = query.order(notifications::id.desc());
    }
    let mut rows = query.limit(bounds.limit).load(conn)?;
    if oldest_first {
        rows.reverse();
    }
    Ok(rows)
}

/// How many of `recipient_id`'s notifications newer than `after` the filter takes, counting
/// no further than `cap`.
pub fn count_newer(
    conn: &mut AnyConnection,
    recipient_id: i64,
    filter: &Filter,
    after: Option<i64>,
    cap: i64,
) -> QueryResult<i64> {
    // The ids of at most `cap` rows, counted here: a COUNT(*) would read every unread one.
    let bounds = Page {
        since_id: after,
        limit: cap,
        ..Page::default()
    };
    let rows = page(conn, recipient_id, filter, bounds)?;
    Ok(i64::try_from(rows.len()).unwrap_or(i64::MAX))
}

/// `recipient_id`'s notification `id`, if it is theirs.
pub fn of(
    conn: &mut AnyConnection,
    recipient_id: i64,
    id: i64,
) -> QueryResult<Option<NotificationRow>> {
    notifications::table
        .find(id)
        .filter(notifications::recipient_id.eq(recipient_id))
        .select(NotificationRow::as_select())
        .get_result(conn)
        .optional()
}

/// Deletes `recipient_id`'s notification `id`; returns whether there was one.
pub fn dismiss(conn: &mut AnyConnection, recipient_id: i64, id: i64) -> QueryResult<bool> {
    diesel::delete(
        notifications::table
            .find(id)
            .filter(notifications::recipient_id.eq(recipient_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Deletes all of `recipient_id`'s notifications.
pub fn clear(conn: &mut AnyConnection, recipient_id: i64) -> QueryResult<usize> {
    diesel::delete(notifications::table.filter(notifications::recipient_id.eq(recipient_id)))
        .execute(conn)
}

/// Deletes the notifications about a post (it is deleted; the row stays as a tombstone, so
/// the foreign key's cascade does not run).
pub fn forget_post(conn: &mut AnyConnection, post_id: i64) -> QueryResult<()> {
    diesel::delete(notifications::table.filter(notifications::post_id.eq(post_id)))
        .execute(conn)
        .map(|_| ())
}

/// Deletes the notifications of a follow of `kind` (a request once it is answered).
pub fn forget_follow(conn: &mut AnyConnection, follow_id: i64, kind: &str) -> QueryResult<()> {
    diesel::delete(
        notifications::table
            .filter(notifications::follow_id.eq(follow_id))
            .filter(notifications::kind.eq(kind)),
    )
    .execute(conn)
    .map(|_| ())
}

/// The accounts of these notifications, in one query.
pub fn actors_of(
    conn: &mut AnyConnection,
    rows: &[NotificationRow],
) -> QueryResult<Vec<ActorProfile>> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r.from_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    super::batch::actors(conn, &ids)
}

/// The posts of these notifications (deleted ones left out), in one query.
pub fn posts_of(conn: &mut AnyConnection, rows: &[NotificationRow]) -> QueryResult<Vec<PostRow>> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|r| r.post_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    super::batch::posts(conn, &ids)
}

/// A saved reading position.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = markers)]
pub struct MarkerRow {
    pub actor_id: i64,
    /// `home` or `notifications`.
    pub timeline: String,
    pub last_read_id: i64,
    /// Raised by each save.
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// `actor_id`'s markers of these timelines (those that exist).
pub fn markers_of(
    conn: &mut AnyConnection,
    actor_id: i64,
    timelines: &[String],
) -> QueryResult<Vec<MarkerRow>> {
    markers::table
        .filter(markers::actor_id.eq(actor_id))
        .filter(markers::timeline.eq_any(timelines))
        .order(markers::timeline.asc())
        .select(MarkerRow::as_select())
        .load(conn)
}

/// Where `actor_id` stopped reading `timeline`, if they saved it.
pub fn last_read(
    conn: &mut AnyConnection,
    actor_id: i64,
    timeline: &str,
) -> QueryResult<Option<i64>> {
    markers::table
        .find((actor_id, timeline))
        .select(markers::last_read_id)
        .get_result(conn)
        .optional()
}

/// Saves a position: a new marker starts at version 0, each later save raises it by one.
/// One statement, so two saves at once cannot both take the same version.
pub fn save_marker(
    conn: &mut AnyConnection,
    actor_id: i64,
    timeline: &str,
    last_read_id: i64,
) -> QueryResult<MarkerRow> {
    let now = Utc::now().naive_utc();
    let row = MarkerRow {
        actor_id,
        timeline: timeline.to_owned(),
        last_read_id,
        version: 0,
        updated_at: now,
    };
    let changes = (
        markers::last_read_id.eq(last_read_id),
        markers::version.eq(markers::version + 1),
        markers::updated_at.eq(now),
    );
    on_engine!(conn, |c| diesel::insert_into(markers::table)
        .values(&row)
        .on_conflict((markers::actor_id, markers::timeline))
        .do_update()
        .set(changes)
        .execute(c))?;
    markers::table
        .find((actor_id, timeline))
        .select(MarkerRow::as_select())
        .get_result(conn)
}
