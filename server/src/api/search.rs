//! `GET /api/v2/search`: accounts by handle (remote ones resolved by WebFinger), posts by
//! text or URL (remote ones fetched), hashtags by name.

use super::{
    AppState, CurrentUser, MaybeUser,
    entities::{Account, Status},
};
use crate::{
    Error,
    db::{actors, posts::PostRow},
    service::search,
};
use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use hearth_federation::{
    objects::actor::fetch_remote,
    protocol::{authority, canonical, same_origin},
};
use serde::Deserialize;
use serde_json::json;

/// Parameters of `GET /api/v2/search`. (`following`, `exclude_unreviewed`, `max_id` and
/// `min_id` are accepted; `max_id` and `min_id` bound the statuses found.)
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    #[serde(default, deserialize_with = "super::params::flag")]
    resolve: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "super::params::number")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "super::params::number")]
    offset: Option<i64>,
    account_id: Option<String>,
    max_id: Option<String>,
    min_id: Option<String>,
}

/// Results per type unless `limit` says otherwise (at most twice as many).
const RESULTS_LIMIT: i64 = 20;

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
            tracing::info!(error = ?e.to_string(), "search could not resolve an account");
            Ok(None)
        }
    }
}

/// What the anonymous may not ask of a search, with Mastodon's answer.
fn refused_anonymously(query: &SearchQuery) -> Option<&'static str> {
    if query.offset.is_some() {
        return Some("Search queries pagination is not supported without authentication");
    }
    if query.resolve == Some(true) {
        return Some(
            "Search queries that resolve remote resources are not supported without authentication",
        );
    }
    None
}

/// `GET /api/v2/search`: accounts (a handle, `name@domain` or an actor's URL), statuses
/// (posts the signed-in searcher may see whose text contains `q`, or the post at a URL) and
/// hashtags (by the start of their name). With `resolve=true`, a remote account is looked up
/// by WebFinger and a remote post fetched by its URL (signed). `type` limits the search to
/// one kind, `offset` pages within it; `account_id` keeps the statuses of one account.
pub async fn search(
    State(state): State<AppState>,
    viewer: MaybeUser,
    super::ApiQuery(query): super::ApiQuery<SearchQuery>,
) -> Result<Response, Error> {
    let q = query
        .q
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if q.is_empty() {
        return Err(Error::BadRequest(
            "param is missing or the value is empty: q".into(),
        ));
    }
    let viewer = viewer.id();
    if viewer.is_none()
        && let Some(message) = refused_anonymously(&query)
    {
        return Ok((StatusCode::UNAUTHORIZED, Json(json!({ "error": message }))).into_response());
    }
    if query.limit.is_some_and(|l| l < 0) || query.offset.is_some_and(|o| o < 0) {
        return Err(Error::BadRequest(
            "Pagination values for `offset` and `limit` must be positive".into(),
        ));
    }
    let limit = query
        .limit
        .filter(|l| *l > 0)
        .unwrap_or(RESULTS_LIMIT)
        .min(RESULTS_LIMIT * 2);
    // A page past the first is for a search of one kind only.
    let offset = if query.kind.is_some() {
        query.offset.unwrap_or(0)
    } else {
        0
    };
    let resolve = query.resolve == Some(true);
    let wants = |kind: &str| query.kind.as_deref().is_none_or(|k| k == kind);
    let url = (q.starts_with("https://") || q.starts_with("http://"))
        .then(|| url::Url::parse(&q).ok())
        .flatten();

    let mut accounts = Vec::new();
    if wants("accounts") && offset == 0 {
        accounts.extend(find_account(&state, &q, resolve).await?);
    }
    let mut statuses = Vec::new();
    if wants("statuses")
        && let Some(viewer) = viewer
    {
        let found = match &url {
            // A URL names one post (when it names no account).
            Some(url) if accounts.is_empty() && offset == 0 => {
                find_post(&state, url.clone(), resolve)
                    .await?
                    .into_iter()
                    .collect()
            }
            Some(_) => Vec::new(),
            None => {
                let author = match query.account_id.as_deref() {
                    Some(id) => Some(
                        id.parse::<i64>()
                            .map_err(|_| Error::not_found("Record not found"))?,
                    ),
                    None => None,
                };
                let id = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
                search::statuses(
                    &state.ctx,
                    search::StatusSearch {
                        text: q.clone(),
                        viewer,
                        author,
                        offset,
                        limit,
                        max_id: id(&query.max_id),
                        min_id: id(&query.min_id),
                    },
                )
                .await?
            }
        };
        let urls = state.urls.clone();
        statuses = state
            .db
            .run(move |conn| Status::list(conn, found, Some(viewer), &urls))
            .await?;
    }
    let mut hashtags = Vec::new();
    if wants("hashtags") && url.is_none() {
        let urls = state.urls.clone();
        let signed_in = viewer.is_some();
        let term = q.clone();
        hashtags = state
            .db
            .run(move |conn| super::tags::search(conn, &urls, &term, limit, offset, signed_in))
            .await?;
    }
    Ok(Json(json!({
        "accounts": accounts,
        "statuses": statuses,
        "hashtags": hashtags,
    }))
    .into_response())
}

/// The post at `url`: stored here, or fetched from its server with `resolve`.
async fn find_post(
    state: &AppState,
    url: url::Url,
    resolve: bool,
) -> Result<Option<PostRow>, Error> {
    if resolve {
        return search::resolve_post(&state.ctx, &state.federation.to_request_data(), url).await;
    }
    if state
        .ctx
        .policy
        .refuses(&hearth_federation::protocol::authority(&url))
    {
        return Ok(None);
    }
    let asked = hearth_federation::protocol::canonical(url).to_string();
    state
        .db
        .run(move |conn| Ok(crate::db::posts::by_ap_id(conn, &asked)?))
        .await
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
        let data = state.federation.to_request_data();
        search::resolve_account(&state.ctx, &data, name, domain, resolve)
            .await?
            .map(|row| row.ap_id)
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
    let policy = state.ctx.policy.current();
    state
        .db
        .run(move |conn| {
            actors::by_ap_id(conn, &ap_id)?
                .filter(|row| row.local || !policy.refuses(&row.domain))
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
