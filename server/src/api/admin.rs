//! Admin endpoints: the delivery queue and the audit log (`/api/hearth/v1/admin/...`) and, as
//! Mastodon has them, the accounts waiting for approval (`/api/v1/admin/accounts...`).

use super::{AppState, CurrentUser, entities::Account};
use crate::{
    Error,
    db::{
        actors::ActorRow,
        audit::{AuditRow, Filter},
        deliveries,
        users::UserRow,
    },
    service::{
        Urls,
        accounts::Role,
        audit, clinicians,
        delivery::{self, QueueAction},
        moderation::{self, AccountAction},
        registration, reports,
    },
};
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/hearth/v1/admin/federation`: servers with deliveries waiting, longest queue first.
pub async fn federation(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<deliveries::HostQueue>>, Error> {
    Ok(Json(delivery::queues(&state.ctx, &user.acting()).await?))
}

/// `POST /api/hearth/v1/admin/federation/{host}/retry`: make a server's deliveries due now.
pub async fn retry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(host): Path<String>,
) -> Result<Json<Value>, Error> {
    let n = delivery::steer_queue(&state.ctx, &user.acting(), host, QueueAction::Retry).await?;
    Ok(Json(json!({ "retried": n })))
}

/// `DELETE /api/hearth/v1/admin/federation/{host}`: drop a server's waiting deliveries.
pub async fn drop_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(host): Path<String>,
) -> Result<Json<Value>, Error> {
    let n = delivery::steer_queue(&state.ctx, &user.acting(), host, QueueAction::Drop).await?;
    Ok(Json(json!({ "dropped": n })))
}

/// The Mastodon `Admin::Account` entity of an account: a local one with its account row, a
/// remote one without. No addresses are kept, so `ip` is null and `ips` empty;
/// `invite_request` is the reason given when signing up.
pub(super) fn admin_account(actor: &ActorRow, user: Option<&UserRow>, urls: &Urls) -> Value {
    let role = user.map(UserRow::role);
    json!({
        "id": actor.id.to_string(),
        "username": actor.username,
        "domain": if actor.local { None } else { Some(&actor.domain) },
        "created_at": super::entities::mastodon_time(
            user.map_or(actor.created_at, |u| u.created_at).and_utc()
        ),
        "email": user.and_then(|u| u.email.clone()).unwrap_or_default(),
        "ip": null,
        "ips": [],
        "role": role.map(|role| json!({
            "id": match role {
                Role::Admin => "3",
                Role::Moderator => "2",
                Role::Clinician | Role::Member => "-99",
            },
            "name": role.as_str(),
            "permissions": "0",
            "color": "",
            "highlighted": role.may_moderate(),
        })),
        "confirmed": true,
        "suspended": user.is_some_and(|u| u.suspended_at.is_some()),
        "silenced": user.is_some_and(|u| u.limited_at.is_some()),
        "sensitized": user.is_some_and(|u| u.sensitized_at.is_some()),
        "disabled": false,
        "approved": user.is_none_or(|u| u.approved),
        // A string, as apps parse it: empty where the person chose none.
        "locale": user.and_then(|u| u.locale.clone()).unwrap_or_default(),
        "invite_request": user.and_then(|u| u.sign_up_reason.clone()),
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
    let list = registration::accounts(&state.db, &user.acting(), pending).await?;
    Ok(Json(
        list.iter()
            .map(|(actor, account)| admin_account(actor, Some(account), &state.urls))
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
        registration::account(&state.db, &user.acting(), account_id(&id)?).await?;
    Ok(Json(admin_account(&actor, Some(&account), &state.urls)))
}

/// `POST /api/v1/admin/accounts/{id}/approve`: approves an account waiting for it.
pub async fn approve(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let (actor, account) =
        registration::approve(&state.ctx, &user.acting(), account_id(&id)?).await?;
    Ok(Json(admin_account(&actor, Some(&account), &state.urls)))
}

/// `POST /api/v1/admin/accounts/{id}/reject`: rejects (deletes) an account waiting for
/// approval; answers what it was.
pub async fn reject(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    let (actor, account) =
        registration::reject(&state.ctx, &user.acting(), account_id(&id)?).await?;
    Ok(Json(admin_account(&actor, Some(&account), &state.urls)))
}

/// Query of `GET /api/hearth/v1/admin/audit`: filters and the usual paging.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Only this action (`group.member_ban`...).
    action: Option<String>,
    /// Only acts by this handle (`console` for the command line).
    actor: Option<String>,
    #[serde(flatten)]
    paging: super::timelines::Paging,
}

/// An audit entry as the API shows it.
fn audit_entry(row: &AuditRow) -> Value {
    json!({
        "id": row.id.to_string(),
        "created_at": super::entities::mastodon_time(row.created_at.and_utc()),
        "actor": {
            "id": row.actor_id.map(|id| id.to_string()),
            "username": row.actor_name,
            "role": row.actor_role,
        },
        "action": row.action,
        "target": {
            "kind": row.target_kind,
            "id": row.target_id,
            "name": row.target_name,
        },
        "detail": row.detail,
        "reason": row.reason,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    })
}

/// `GET /api/hearth/v1/admin/audit`: the audit log, the newest entry first, for admins and
/// moderators; `action` and `actor` filter it; paged (`max_id`, `since_id`, `min_id`,
/// `limit` up to 80; `Link`).
pub async fn audit_log(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<AuditQuery>,
) -> Result<Response, Error> {
    let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let filter = Filter {
        action: blank(query.action),
        actor_name: blank(query.actor).map(|a| a.trim_start_matches('@').to_ascii_lowercase()),
    };
    let mut base = state.urls.path("/api/hearth/v1/admin/audit");
    if let Some(action) = &filter.action {
        base.query_pairs_mut().append_pair("action", action);
    }
    if let Some(actor) = &filter.actor_name {
        base.query_pairs_mut().append_pair("actor", actor);
    }
    let rows = audit::list(
        &state.db,
        &user.acting(),
        filter,
        query.paging.accounts_page(),
    )
    .await?;
    let cursors = match (rows.first(), rows.last()) {
        (Some(newest), Some(oldest)) => Some((newest.id.to_string(), oldest.id.to_string())),
        _ => None,
    };
    let entries = rows.iter().map(audit_entry).collect();
    Ok(super::timelines::paged_by::<Value>(entries, cursors, base))
}

/// Body of `POST /api/v1/admin/accounts/{id}/action`: Mastodon's `type` (`none`, `silence`
/// and `disable` (both limit), `suspend`), the moderator's `text`, and a `report_id` resolved
/// with it.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default, deserialize_with = "super::params::number")]
    report_id: Option<i64>,
}

/// `POST /api/v1/admin/accounts/{id}/action`: acts on a local account; a suspension signs it
/// out everywhere and deletes it on other servers. Admins and moderators.
pub async fn account_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<ActionForm>,
) -> Result<Json<Value>, Error> {
    let action = form.kind.parse::<AccountAction>()?;
    let by = user.acting();
    moderation::act_on_account(&state.ctx, &by, account_id(&id)?, action, form.text.clone())
        .await?;
    if let Some(report) = form.report_id {
        reports::resolve(&state.ctx, &by, report, form.text).await?;
    }
    Ok(Json(json!({})))
}

/// What verifies a clinician: the `credential` the clinic checked, one line.
#[derive(Debug, Deserialize)]
pub struct ClinicianForm {
    credential: String,
}

/// `POST /api/hearth/v1/admin/accounts/{id}/clinician`: verifies a local person as a
/// clinician (admins); answers their account as others now see it.
pub async fn verify_clinician(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    super::ApiForm(form): super::ApiForm<ClinicianForm>,
) -> Result<Json<Account>, Error> {
    let person = clinicians::verify(
        &state.ctx,
        &user.acting(),
        account_id(&id)?,
        &form.credential,
    )
    .await?;
    Ok(Json(Account::from_row(&person, &state.ctx.urls)))
}

/// `DELETE /api/hearth/v1/admin/accounts/{id}/clinician`: takes the verification away
/// (admins); the servers that know the person are told at once.
pub async fn revoke_clinician(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Account>, Error> {
    let person = clinicians::revoke(&state.ctx, &user.acting(), account_id(&id)?, None).await?;
    Ok(Json(Account::from_row(&person, &state.ctx.urls)))
}

/// `POST /api/v1/admin/accounts/{id}/unsuspend`: lifts a suspension.
pub async fn unsuspend(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    lift(state, user, id, AccountAction::Unsuspend).await
}

/// `POST /api/v1/admin/accounts/{id}/unsensitive`: its posts are no longer shown as
/// sensitive (those marked so one by one stay so).
pub async fn unsensitive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    lift(state, user, id, AccountAction::Unsensitive).await
}

/// `POST /api/v1/admin/accounts/{id}/unsilence`: lifts a limit.
pub async fn unsilence(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    lift(state, user, id, AccountAction::Unlimit).await
}

async fn lift(
    state: AppState,
    user: CurrentUser,
    id: String,
    action: AccountAction,
) -> Result<Json<Value>, Error> {
    let (actor, account) =
        moderation::act_on_account(&state.ctx, &user.acting(), account_id(&id)?, action, None)
            .await?;
    Ok(Json(admin_account(&actor, Some(&account), &state.urls)))
}
