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

/// A local group's settings and where `actor_id` stands in it (an inbox POST into the group
/// needs both, on the writer's thread); `None` if no group here has the actor `group_id`.
pub fn settings_and_standing(
    conn: &mut AnyConnection,
    group_id: i64,
    actor_id: i64,
) -> QueryResult<Option<(GroupRow, Standing)>> {
    let Some(settings) = by_actor(conn, group_id)? else {
        return Ok(None);
    };
    let standing = standings(conn, group_id, settings.owner_id, &[actor_id])?
        .remove(&actor_id)
        .unwrap_or_default();
    Ok(Some((settings, standing)))
}

/// Where a person stands in a local group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// Follows it (accepted), or moderates it (its owner counts).
    pub member: bool,
    /// Banned from it.
    pub banned: bool,
}

impl Standing {
    /// Members who are not banned may post into the group.
    pub fn may_post(&self) -> bool {
        self.member && !self.banned
    }
}

/// Where `actor_id` stands in the group.
pub fn standing(conn: &mut AnyConnection, group_id: i64, actor_id: i64) -> QueryResult<Standing> {
    let owner = by_actor(conn, group_id)?.and_then(|g| g.owner_id);
    Ok(standings(conn, group_id, owner, &[actor_id])?
        .remove(&actor_id)
        .unwrap_or_default())
}

/// Where each of `actor_ids` stands in the group `group_id`, owned by `owner_id`: the one rule
/// of membership. One statement for them all (the posts of a batch into a group ask together).
pub fn standings(
    conn: &mut AnyConnection,
    group_id: i64,
    owner_id: Option<i64>,
    actor_ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Standing>> {
    use super::schema::follows;
    use diesel::{dsl::sql, sql_types::Bool};
    // Each row makes an actor a member (`false`) or bans it (`true`).
    let follows = follows::table
        .filter(follows::target_id.eq(group_id))
        .filter(follows::accepted.eq(true))
        .filter(follows::follower_id.eq_any(actor_ids))
        .select((follows::follower_id, sql::<Bool>("false")));
    let moderates = group_moderators::table
        .filter(group_moderators::group_id.eq(group_id))
        .filter(group_moderators::actor_id.eq_any(actor_ids))
        .select((group_moderators::actor_id, sql::<Bool>("false")));
    let bans = group_bans::table
        .filter(group_bans::group_id.eq(group_id))
        .filter(group_bans::actor_id.eq_any(actor_ids))
        .select((group_bans::actor_id, sql::<Bool>("true")));
    let found: Vec<(i64, bool)> = on_engine!(conn, |c| follows
        .union_all(moderates)
        .union_all(bans)
        .load(c))?;
    let mut standings: std::collections::HashMap<i64, Standing> = actor_ids
        .iter()
        .map(|&id| {
            let standing = Standing {
                member: owner_id == Some(id),
                banned: false,
            };
            (id, standing)
        })
        .collect();
    for (actor, banned) in found {
        let standing = standings.entry(actor).or_default();
        if banned {
            standing.banned = true;
        } else {
            standing.member = true;
        }
    }
    Ok(standings)
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
