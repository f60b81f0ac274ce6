//! Groups that keep their posts for a limited time (`retention_days`): the hourly expiry
//! deletes the older ones here and has the group tell its members' servers, as a moderator's
//! removal does (`Announce{Delete}`), a batch per transaction so that other writes go on
//! between batches.

use super::{Context, posts as post_rules};
use crate::{
    Error,
    db::{actors, groups, posts},
};
use chrono::{NaiveDateTime, TimeDelta};
use hearth_federation::activities::builders;

/// The longest a group may keep its posts with a limit: ten years.
pub const MAX_DAYS: u32 = 3650;

/// Posts deleted per transaction.
const BATCH: i64 = 100;

/// Deletes the posts of every local group with a retention period that were published before
/// it (counted back from `now`); returns how many.
pub async fn expire(ctx: &Context, now: NaiveDateTime) -> Result<usize, Error> {
    let limited = ctx.db.run(|conn| Ok(groups::with_retention(conn)?)).await?;
    let mut expired = 0;
    for (group_id, days) in limited {
        let cutoff = now - TimeDelta::days(i64::from(days));
        loop {
            let deleted = ctx
                .write(move |conn, ctx| {
                    let Some(group) = actors::by_id(conn, group_id)? else {
                        return Ok(0);
                    };
                    let group_url = super::stored_url(&group.ap_id)?;
                    let old = posts::in_group_before(conn, group.id, cutoff, BATCH)?;
                    for post in &old {
                        let object = super::stored_url(&post.ap_id)?;
                        posts::mark_deleted(conn, post.id)?;
                        super::streaming::emit(super::streaming::Event::Deleted { post: post.id });
                        let delete = builders::delete(
                            &ctx.activity_id("delete"),
                            &group_url,
                            &object,
                            &[],
                            &[],
                        );
                        post_rules::announce(conn, ctx, &group, &delete, None)?;
                    }
                    Ok(old.len())
                })
                .await?;
            expired += deleted;
            if (deleted as i64) < BATCH {
                break;
            }
        }
    }
    Ok(expired)
}

/// Runs [`expire`] every hour in the background.
pub async fn run_expiry(ctx: Context) {
    loop {
        match expire(&ctx, chrono::Utc::now().naive_utc()).await {
            Ok(0) => {}
            Ok(expired) => {
                tracing::info!(expired, "expired posts of groups with a retention period")
            }
            Err(e) => tracing::error!(error = %e, "the expiry of groups' posts failed"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}
