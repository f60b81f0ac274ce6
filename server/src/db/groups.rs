//! Local support groups: settings, moderators, bans.

use super::{
    AnyConnection,
    schema::{group_bans, group_moderators, support_groups},
};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One local support group's settings.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = support_groups)]
pub struct GroupRow {
    pub actor_id: i64,
    /// `public` or `members_only`.
    pub visibility: String,
    /// `open` or `approval`.
    pub join_policy: String,
    pub created_at: NaiveDateTime,
    pub owner_id: Option<i64>,
    /// JSON array of strings.
    pub rules: String,
    /// The content warning given to posts into the group that carry none; empty: none.
    pub content_warning: String,
    /// How many days the group keeps its posts; `None`: for ever.
    pub retention_days: Option<i32>,
}

impl GroupRow {
    /// Whether only members may see the group's posts.
    pub fn members_only(&self) -> bool {
        self.visibility == "members_only"
    }

    /// Whether joining needs a moderator's approval.
    pub fn needs_approval(&self) -> bool {
        self.members_only() || self.join_policy == "approval"
    }

    /// The rules as a list.
    pub fn rule_list(&self) -> Vec<String> {
        serde_json::from_str(&self.rules).unwrap_or_default()
    }
}

/// Inserts a group row.
pub fn insert(conn: &mut AnyConnection, row: &GroupRow) -> QueryResult<()> {
    diesel::insert_into(support_groups::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Saves changed settings.
pub fn update(conn: &mut AnyConnection, row: &GroupRow) -> QueryResult<()> {
    diesel::update(support_groups::table.find(row.actor_id))
        .set(row)
        .execute(conn)
        .map(|_| ())
}

/// The settings of a local group.
pub fn by_actor(conn: &mut AnyConnection, actor_id: i64) -> QueryResult<Option<GroupRow>> {
    on_engine!(conn, |c| support_groups::table
        .find(actor_id)
        .select(GroupRow::as_select())
        .get_result(c)
        .optional())
}

/// Whether `actor_id` follows the group `group_id` (accepted) or moderates it, and whether it
/// is banned from it, as SQL: the one rule of membership, for the queries of a person's
/// standing (the group's owner counts too; each query adds that its own way).
macro_rules! membership_tests {
    ($group_id:expr, $actor_id:expr) => {{
        use super::schema::follows;
        use diesel::dsl::exists;
        let (group_id, actor_id): (i64, i64) = ($group_id, $actor_id);
        let follows = exists(
            follows::table
                .filter(follows::follower_id.eq(actor_id))
                .filter(follows::target_id.eq(group_id))
                .filter(follows::accepted.eq(true)),
        );
        let moderates = exists(
            group_moderators::table
                .filter(group_moderators::group_id.eq(group_id))
                .filter(group_moderators::actor_id.eq(actor_id)),
        );
        let banned = exists(
            group_bans::table
                .filter(group_bans::group_id.eq(group_id))
                .filter(group_bans::actor_id.eq(actor_id)),
        );
        (follows.or(moderates), banned)
    }};
}

/// A local group's settings and where `actor_id` stands in it, in one statement (an inbox
/// POST into the group needs both, on the writer's thread); `None` if no group here has the
/// actor `group_id`.
pub fn settings_and_standing(
    conn: &mut AnyConnection,
    group_id: i64,
    actor_id: i64,
) -> QueryResult<Option<(GroupRow, Standing)>> {
    let (follows_or_moderates, banned) = membership_tests!(group_id, actor_id);
    let found = on_engine!(conn, |c| support_groups::table
        .find(group_id)
        .select((GroupRow::as_select(), follows_or_moderates, banned))
        .get_result::<(GroupRow, bool, bool)>(c)
        .optional())?;
    Ok(found.map(|(row, follows_or_moderates, banned)| {
        let member = follows_or_moderates || row.owner_id == Some(actor_id);
        (row, Standing { member, banned })
    }))
}

/// Where a person stands in a local group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// Follows it (accepted), or moderates it (its owner counts).
    pub member: bool,
    /// Banned from it.
    pub banned: bool,
}

/// Where `actor_id` stands in the group, in one statement (each post into a group asks, on
/// the writer's thread).
pub fn standing(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<Standing> {
    let (follows_or_moderates, banned) = membership_tests!(group_id, actor_id);
    let owns = diesel::dsl::exists(
        support_groups::table
            .filter(support_groups::actor_id.eq(group_id))
            .filter(support_groups::owner_id.eq(actor_id)),
    );
    let (member, banned) = on_engine!(conn, |c| diesel::select((
        follows_or_moderates.or(owns),
        banned
    ))
    .get_result::<(bool, bool)>(c))?;
    Ok(Standing { member, banned })
}

/// Whether `actor_id` moderates the group (its owner counts).
pub fn is_moderator(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<bool> {
    let owner = by_actor(conn, group_id)?.and_then(|g| g.owner_id) == Some(actor_id);
    if owner {
        return Ok(true);
    }
    let count: i64 = on_engine!(conn, |c| group_moderators::table
        .filter(group_moderators::group_id.eq(group_id))
        .filter(group_moderators::actor_id.eq(actor_id))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

/// Makes `actor_id` a moderator (idempotent).
pub fn add_moderator(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<()> {
    if is_moderator(conn, group_id, actor_id)? {
        return Ok(());
    }
    diesel::insert_into(group_moderators::table)
        .values((
            group_moderators::group_id.eq(group_id),
            group_moderators::actor_id.eq(actor_id),
            group_moderators::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Removes a moderator.
pub fn remove_moderator(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<()> {
    diesel::delete(
        group_moderators::table
            .filter(group_moderators::group_id.eq(group_id))
            .filter(group_moderators::actor_id.eq(actor_id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// The moderators' actor ids (owner first when set).
pub fn moderators(conn: &mut AnyConnection, group_id: i64) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = by_actor(conn, group_id)?
        .and_then(|g| g.owner_id)
        .into_iter()
        .collect();
    let others: Vec<i64> = group_moderators::table
        .filter(group_moderators::group_id.eq(group_id))
        .select(group_moderators::actor_id)
        .load(conn)?;
    ids.extend(
        others
            .into_iter()
            .filter(|id| !ids.contains(id))
            .collect::<Vec<_>>(),
    );
    Ok(ids)
}

/// Whether `actor_id` is banned from the group.
pub fn is_banned(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<bool> {
    let count: i64 = on_engine!(conn, |c| group_bans::table
        .filter(group_bans::group_id.eq(group_id))
        .filter(group_bans::actor_id.eq(actor_id))
        .count()
        .get_result(c))?;
    Ok(count > 0)
}

/// Bans `actor_id` (idempotent).
pub fn ban(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<()> {
    if is_banned(conn, group_id, actor_id)? {
        return Ok(());
    }
    diesel::insert_into(group_bans::table)
        .values((
            group_bans::group_id.eq(group_id),
            group_bans::actor_id.eq(actor_id),
            group_bans::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Every local group with its actor row, oldest first.
pub fn all_with_actors(
    conn: &mut AnyConnection,
) -> QueryResult<Vec<(GroupRow, super::actors::ActorRow)>> {
    use super::schema::actors;
    support_groups::table
        .inner_join(actors::table.on(actors::id.eq(support_groups::actor_id)))
        .order(support_groups::actor_id.asc())
        .select((GroupRow::as_select(), super::actors::ActorRow::as_select()))
        .load(conn)
}

/// Leaves the groups `owner_id` made without an owner (their account is being deleted; the
/// groups and their moderators stay).
pub fn forget_owner(conn: &mut AnyConnection, owner_id: i64) -> QueryResult<()> {
    diesel::update(support_groups::table.filter(support_groups::owner_id.eq(owner_id)))
        .set(support_groups::owner_id.eq(None::<i64>))
        .execute(conn)
        .map(|_| ())
}

/// The local groups that keep their posts for a limited time, with how many days.
pub fn with_retention(conn: &mut AnyConnection) -> QueryResult<Vec<(i64, i32)>> {
    support_groups::table
        .filter(support_groups::retention_days.is_not_null())
        .select((
            support_groups::actor_id,
            support_groups::retention_days.assume_not_null(),
        ))
        .load(conn)
}
