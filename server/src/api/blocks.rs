//! Blocking and muting accounts: Mastodon's block, unblock, mute and unmute, and the lists of
//! blocked and muted accounts.

use super::{
    AppState, CurrentUser,
    entities::{Account, Relationship},
    timelines::{Paging, paged_by},
};
use crate::{Error, db::blocks, service::blocks as rules};
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde::{Deserialize, Serialize};

fn account_id(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// Makes `change` to how `me` relates to `other`, then answers the relationship.
async fn changed(
    state: &AppState,
    me: i64,
    other: i64,
    change: impl Future<Output = Result<(), Error>>,
) -> Result<Json<Relationship>, Error> {
    change.await?;
    Ok(Json(
        state
            .db
            .run(move |conn| Relationship::new(conn, me, other))
            .await?,
    ))
}

/// `POST /api/v1/accounts/{id}/block`: follows end both ways; a remote account's server
/// receives a `Block`.
pub async fn block(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    let (target, me) = (account_id(&id)?, user.actor.id);
    changed(
        &state,
        me,
        target,
        rules::block(&state.ctx, user.actor, target),
    )
    .await
}

/// `POST /api/v1/accounts/{id}/unblock`.
pub async fn unblock(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    let (target, me) = (account_id(&id)?, user.actor.id);
    changed(
        &state,
        me,
        target,
        rules::unblock(&state.ctx, user.actor, target),
    )
    .await
}

/// Body of a mute: `notifications` (default true) and `duration` in seconds (0: no end).
#[derive(Debug, Default, Deserialize)]
pub struct MuteForm {
    #[serde(default, deserialize_with = "super::params::flag")]
    notifications: Option<bool>,
    #[serde(default, deserialize_with = "super::params::number")]
    duration: Option<i64>,
}

/// `POST /api/v1/accounts/{id}/mute`: their posts leave my timelines, and with
/// `notifications` (the default) their notifications too, for `duration` seconds or for good.
pub async fn mute(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<MuteForm>,
) -> Result<Json<Relationship>, Error> {
    let (target, me) = (account_id(&id)?, user.actor.id);
    let notifications = form.notifications.unwrap_or(true);
    let mute = rules::mute(&state.ctx, user.actor, target, notifications, form.duration);
    changed(&state, me, target, mute).await
}

/// `POST /api/v1/accounts/{id}/unmute`.
pub async fn unmute(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, Error> {
    let (target, me) = (account_id(&id)?, user.actor.id);
    changed(
        &state,
        me,
        target,
        rules::unmute(&state.ctx, user.actor, target),
    )
    .await
}

/// `GET /api/v1/blocks`: the accounts I block, newest block first, 40 a page (at most 80),
/// paged by `Link`.
pub async fn blocks(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    let (me, page, urls) = (user.actor.id, paging.accounts_page(), state.urls.clone());
    let rows = state
        .db
        .run(move |conn| Ok(blocks::blocked_by(conn, me, page)?))
        .await?;
    let cursors = cursors(rows.iter().map(|(id, _)| *id));
    let accounts: Vec<Account> = rows
        .iter()
        .map(|(_, actor)| Account::from_row(actor, &urls))
        .collect();
    Ok(paged_by(
        accounts,
        cursors,
        state.urls.path("/api/v1/blocks"),
    ))
}

/// An account in the list of mutes, with when its mute ends (Mastodon's `mute_expires_at`).
#[derive(Debug, Serialize)]
pub struct MutedAccount {
    #[serde(flatten)]
    account: Account,
    mute_expires_at: Option<String>,
}

/// `GET /api/v1/mutes`: the accounts I mute, newest mute first, 40 a page (at most 80),
/// paged by `Link`.
pub async fn mutes(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    let (me, page, urls) = (user.actor.id, paging.accounts_page(), state.urls.clone());
    let rows = state
        .db
        .run(move |conn| Ok(blocks::muted_by(conn, me, page)?))
        .await?;
    let cursors = cursors(rows.iter().map(|(mute, _)| mute.id));
    let accounts: Vec<MutedAccount> = rows
        .iter()
        .map(|(mute, actor)| MutedAccount {
            account: Account::from_row(actor, &urls),
            mute_expires_at: mute
                .expires_at
                .map(|t| super::entities::mastodon_time(t.and_utc())),
        })
        .collect();
    Ok(paged_by(
        accounts,
        cursors,
        state.urls.path("/api/v1/mutes"),
    ))
}

/// The newest and oldest of a page's row ids, newest first.
fn cursors(mut ids: impl DoubleEndedIterator<Item = i64>) -> super::timelines::Cursors {
    let newest = ids.next()?;
    let oldest = ids.next_back().unwrap_or(newest);
    Some((newest.to_string(), oldest.to_string()))
}
