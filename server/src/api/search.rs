//! `GET /api/v2/search`: accounts by handle, resolving remote ones by WebFinger.

use super::{AppState, CurrentUser, entities::Account};
use crate::{Error, db::actors};
use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use axum::{Json, extract::State};
use hearth_federation::{
    FederationData,
    objects::actor::{FederatedActor, fetch_remote},
    protocol::{authority, canonical, same_origin},
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Search parameters.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default, deserialize_with = "super::params::flag")]
    resolve: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The actor at `url`: known here, or fetched (signed) and stored, if the document there is
/// an actor on the server `url` names. A document whose `id` leads to another server resolves
/// nothing and stores nothing.
async fn resolve_url(state: &AppState, url: url::Url) -> Result<Option<String>, Error> {
    let url = canonical(url);
    let asked = url.to_string();
    if let Some(known) = state
        .db
        .run(move |conn| Ok(actors::by_ap_id(conn, &asked)?))
        .await?
    {
        return Ok(Some(known.ap_id));
    }
    if authority(&url) == state.urls.domain() {
        return Ok(None);
    }
    let data = state.federation.to_request_data();
    match fetch_remote(&url, &data).await {
        Ok(actor) if same_origin(&actor.ap_id, &url) => {
            let saved = data.save_remote_actor(actor).await?;
            Ok(Some(saved.ap_id.to_string()))
        }
        Ok(actor) => {
            tracing::info!(asked = %url, found = %actor.ap_id, "search: the document names an actor on another server");
            Ok(None)
        }
        Err(e) => {
            tracing::info!(error = %e, "search could not resolve an account");
            Ok(None)
        }
    }
}

/// `GET /api/v2/search?q=@name@domain&resolve=true`: finds an account here, or resolves a
/// remote one (WebFinger, then a signed fetch of the actor).
pub async fn search(
    State(state): State<AppState>,
    _user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<SearchQuery>,
) -> Result<Json<Value>, Error> {
    let mut accounts = Vec::new();
    if query.kind.as_deref().is_none_or(|k| k == "accounts") {
        accounts.extend(find_account(&state, &query.q, query.resolve.unwrap_or(false)).await?);
    }
    Ok(Json(
        json!({ "accounts": accounts, "statuses": [], "hashtags": [] }),
    ))
}

/// The account a search term names (a handle, `name@domain`, or an actor's URL): known here,
/// or resolved from its server when `resolve` is set.
async fn find_account(
    state: &AppState,
    term: &str,
    resolve: bool,
) -> Result<Option<Account>, Error> {
    let q = term.trim().trim_start_matches('@').to_owned();
    let found = if q.starts_with("https://") || q.starts_with("http://") {
        match url::Url::parse(&q) {
            Ok(url) if resolve => resolve_url(state, url).await?,
            Ok(url) => Some(url.to_string()),
            Err(_) => None,
        }
    } else if let Some((name, domain)) = q.split_once('@') {
        let (name, domain) = (name.to_owned(), domain.to_ascii_lowercase());
        let local = domain == state.urls.domain();
        let (n, d, here) = (name.clone(), domain.clone(), state.urls.domain().to_owned());
        let known = state
            .db
            .run(move |conn| Ok(actors::by_acct(conn, &n, &d, &here)?))
            .await?;
        match known {
            Some(row) => Some(row.ap_id),
            None if resolve && !local => webfinger_resolve_actor::<FederationData, FederatedActor>(
                &format!("{name}@{domain}"),
                &state.federation.to_request_data(),
            )
            .await
            .map_err(|e| tracing::info!(error = %e, "search could not resolve an account"))
            .ok()
            .map(|a| a.ap_id.to_string()),
            None => None,
        }
    } else {
        let n = q.clone();
        state
            .db
            .run(move |conn| Ok(actors::local_by_username(conn, &n, None)?))
            .await?
            .map(|r| r.ap_id)
    };
    let Some(ap_id) = found else {
        return Ok(None);
    };
    let urls = state.urls.clone();
    state
        .db
        .run(move |conn| {
            actors::by_ap_id(conn, &ap_id)?
                .map(|row| Account::with_counts(conn, &row, &urls))
                .transpose()
        })
        .await
}

/// Query of `GET /api/v1/accounts/search`.
#[derive(Debug, Deserialize)]
pub struct AccountSearchQuery {
    q: String,
    #[serde(default, deserialize_with = "super::params::flag")]
    resolve: Option<bool>,
}

/// `GET /api/v1/accounts/search?q=name@domain&resolve=true`: the accounts a handle names.
pub async fn accounts(
    State(state): State<AppState>,
    _user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<AccountSearchQuery>,
) -> Result<Json<Vec<Account>>, Error> {
    let found = find_account(&state, &query.q, query.resolve.unwrap_or(false)).await?;
    Ok(Json(found.into_iter().collect()))
}
