//! Mastodon account endpoints.

use super::{
    AppState, CurrentUser,
    entities::{Account, CredentialAccount},
};
use crate::{Error, db::actors};
use axum::{
    Json,
    extract::{Path, Query, State},
};
use serde::Deserialize;

/// `GET /api/v1/accounts/verify_credentials`: the signed-in person (bearer token).
pub async fn verify_credentials(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Json<CredentialAccount> {
    Json(CredentialAccount::new(
        &current.actor,
        &current.user,
        &state.urls,
    ))
}

/// Query of an account lookup.
#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    acct: Option<String>,
}

/// `GET /api/v1/accounts/lookup?acct=name` or `name@domain`: an account already known here,
/// without resolving remote ones (as Mastodon does).
pub async fn lookup(
    State(state): State<AppState>,
    Query(query): Query<LookupQuery>,
) -> Result<Json<Account>, Error> {
    let acct = query
        .acct
        .ok_or_else(|| Error::BadRequest("the acct parameter is required".into()))?;
    let acct = acct.trim().trim_start_matches('@').to_owned();
    let (name, domain) = match acct.split_once('@') {
        Some((name, domain)) => (name.to_owned(), domain.to_ascii_lowercase()),
        None => (acct.clone(), state.urls.domain().to_owned()),
    };
    if name.is_empty() || domain.is_empty() {
        return Err(Error::BadRequest(format!("malformed acct {acct:?}")));
    }
    let local = domain == state.urls.domain();
    let row = state
        .db
        .run(move |conn| {
            Ok(if local {
                actors::local_by_username(conn, &name, None)?
            } else {
                actors::by_handle(conn, &name, &domain)?
            })
        })
        .await?
        .filter(|row| {
            !row.local
                || row.actor_kind() != hearth_federation::protocol::actor::ActorKind::Application
        })
        .ok_or_else(|| Error::not_found("Record not found"))?;
    Ok(Json(Account::from_row(&row, &state.urls)))
}

/// `GET /api/v1/accounts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Account>, Error> {
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("Record not found"))?;
    let row = state
        .db
        .run(move |conn| Ok(actors::by_id(conn, id)?))
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    Ok(Json(Account::from_row(&row, &state.urls)))
}
