//! Admin endpoints: the delivery queue (`/api/hearth/v1/admin/...`) and, as Mastodon has
//! them, the accounts waiting for approval (`/api/v1/admin/accounts...`).

use super::{AppState, CurrentUser, entities::Account};
use crate::{
    Error,
    db::{actors::ActorRow, deliveries, users::UserRow},
    service::{
        Urls,
        accounts::Role,
        registration::{self, Decider},
    },
};
use axum::{
    Json,
    extract::{Path, State},
};
use serde::Deserialize;
use serde_json::{Value, json};

fn admin_only(user: &CurrentUser) -> Result<(), Error> {
    if user.user.role() == Role::Admin {
        Ok(())
    } else {
        Err(Error::Forbidden("admins only".into()))
    }
}

/// `GET /api/hearth/v1/admin/federation`: servers with deliveries waiting, longest queue first.
pub async fn federation(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<deliveries::HostQueue>>, Error> {
    admin_only(&user)?;
    Ok(Json(
        state.db.run(|conn| Ok(deliveries::queues(conn)?)).await?,
    ))
}

/// `POST /api/hearth/v1/admin/federation/{host}/retry`: make a server's deliveries due now.
pub async fn retry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(host): Path<String>,
) -> Result<Json<Value>, Error> {
    admin_only(&user)?;
    let n = state
        .db
        .write(move |conn| Ok(deliveries::retry_host(conn, &host)?))
        .await?;
    state.ctx.wake.notify_one();
    Ok(Json(json!({ "retried": n })))
}

/// `DELETE /api/hearth/v1/admin/federation/{host}`: drop a server's waiting deliveries.
pub async fn drop_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(host): Path<String>,
) -> Result<Json<Value>, Error> {
    admin_only(&user)?;
    let n = state
        .db
        .write(move |conn| Ok(deliveries::drop_host(conn, &host)?))
        .await?;
    Ok(Json(json!({ "dropped": n })))
}

/// The Mastodon `Admin::Account` entity of a local account. No addresses are kept, so `ip`
/// is null and `ips` empty; `invite_request` is the reason given when signing up.
fn admin_account(actor: &ActorRow, user: &UserRow, urls: &Urls) -> Value {
    let role = user.role();
    json!({
        "id": actor.id.to_string(),
        "username": actor.username,
        "domain": null,
        "created_at": super::entities::mastodon_time(user.created_at.and_utc()),
        "email": user.email.clone().unwrap_or_default(),
        "ip": null,
        "ips": [],
        "role": {
            "id": match role {
                Role::Admin => "3",
                Role::Moderator => "2",
                Role::Clinician | Role::Member => "-99",
            },
            "name": role.as_str(),
            "permissions": "0",
            "color": "",
            "highlighted": role.manages_accounts(),
        },
        "confirmed": true,
        "suspended": false,
        "silenced": false,
        "sensitized": false,
        "disabled": false,
        "approved": user.approved,
        // A string, as apps parse it: empty where the person chose none.
        "locale": user.locale.clone().unwrap_or_default(),
        "invite_request": user.sign_up_reason,
        "account": Account::from_row(actor, urls),
    })
}

/// Query of `GET /api/v1/admin/accounts`: `status=pending|active` (v2's spelling, read here
/// too) or `pending=true`.
#[derive(Debug, Deserialize)]
pub struct AccountsQuery {
    status: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    pending: Option<bool>,
}

/// `GET /api/v1/admin/accounts`: local accounts, oldest first; `?status=pending` lists those
/// waiting for approval with the reason they gave. Admins and moderators.
pub async fn accounts(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<AccountsQuery>,
) -> Result<Json<Vec<Value>>, Error> {
    let pending = match (query.status.as_deref(), query.pending) {
        (Some("pending"), _) | (_, Some(true)) => Some(true),
        (Some("active"), _) => Some(false),
        _ => None,
    };
    let list = registration::accounts(&state.db, Decider::Staff(&user.user), pending).await?;
    Ok(Json(
        list.iter()
            .map(|(actor, account)| admin_account(actor, account, &state.urls))
            .collect(),
    ))
}

fn account_id(id: &str) -> Result<i64, Error> {
    id.parse().map_err(|_| Error::not_found("Record not found"))
}

/// `GET /api/v1/admin/accounts/{id}`: one local account.
pub async fn account(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let (actor, account) =
        registration::account(&state.db, Decider::Staff(&user.user), account_id(&id)?).await?;
    Ok(Json(admin_account(&actor, &account, &state.urls)))
}

/// `POST /api/v1/admin/accounts/{id}/approve`: approves an account waiting for it.
pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let (actor, account) =
        registration::approve(&state.db, Decider::Staff(&user.user), account_id(&id)?).await?;
    Ok(Json(admin_account(&actor, &account, &state.urls)))
}

/// `POST /api/v1/admin/accounts/{id}/reject`: rejects (deletes) an account waiting for
/// approval; answers what it was.
pub async fn reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let (actor, account) =
        registration::reject(&state.db, Decider::Staff(&user.user), account_id(&id)?).await?;
    Ok(Json(admin_account(&actor, &account, &state.urls)))
}
