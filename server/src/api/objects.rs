//! ActivityPub objects of posts, and the privacy of members-only groups: their posts and
//! collections answer only signed fetches from servers where the group has a member (or the
//! author lives), and 404 to anyone else, so that their existence does not leak.

use super::{ActivityJson, AppState};
use crate::{
    Error,
    db::{actors, blocks, groups, posts},
    service::posts::post_object,
};
use axum::{
    extract::{FromRequestParts, Path, State},
    http::{HeaderMap, Method, StatusCode, Uri, request::Parts},
    response::{IntoResponse, Response},
};

/// Method, target and headers of a request: what a signature covers.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target.
    pub uri: Uri,
    /// All headers.
    pub headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestHead {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}
use hearth_federation::protocol::authority;

/// The one gate every signed request passes first: a signature whose key belongs to a server
/// the federation policy refuses is answered 403, before its key is fetched or anything is
/// looked up for it, on every route (actors, collections, posts, media, inboxes).
pub async fn refuse_refused_servers(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let policy = state.ctx.policy.current();
    match hearth_federation::signed_fetch::check_policy(request.headers(), &policy) {
        Ok(()) => next.run(request).await,
        Err(refused) => Error::from(refused).into_response(),
    }
}

/// The verified signer, if the request is signed. A signature that does not verify counts as
/// none (the request is answered as an unsigned one); a spent key-fetch budget is a 429, so
/// that a peer retries later instead of taking the object for missing; a signer on a server
/// the federation policy refuses is a 403.
pub async fn signer(state: &AppState, request: &RequestHead) -> Result<Option<url::Url>, Error> {
    let data = state.federation.to_request_data();
    let signer = hearth_federation::signed_fetch::signer(
        &request.method,
        &request.uri,
        &request.headers,
        &data,
    )
    .await;
    match signer {
        Ok(signer) => Ok(signer.map(|s| s.ap_id)),
        Err(e @ hearth_federation::FederationError::TooManyRequests) => Err(e.into()),
        // A server the federation policy refuses is refused, not answered as anyone.
        Err(e @ hearth_federation::FederationError::Refused(_)) => Err(e.into()),
        Err(e) => {
            tracing::debug!(error = ?e.to_string(), "a signed fetch whose signature does not verify");
            Ok(None)
        }
    }
}

/// The verified signer's server (`host[:port]`), if the request is signed.
pub async fn signer_domain(
    state: &AppState,
    request: &RequestHead,
) -> Result<Option<String>, Error> {
    Ok(signer(state, request).await?.map(|s| authority(&s)))
}

/// `GET /posts/{id}`: a post as an ActivityPub object; 410 once deleted.
pub async fn post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: RequestHead,
) -> Result<Response, Error> {
    post_or_copy(state, id, request, false).await
}

/// `GET /posts/{id}/shared`: the group's own copy of a members-only post (see
/// `service::posts::member_copy`), for the same servers as the post.
pub async fn shared_copy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: RequestHead,
) -> Result<Response, Error> {
    post_or_copy(state, id, request, true).await
}

async fn post_or_copy(
    state: AppState,
    id: String,
    request: RequestHead,
    copy: bool,
) -> Result<Response, Error> {
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("Record not found"))?;
    let signer = signer(&state, &request).await?;
    let domain = signer.as_ref().map(authority);
    let ctx = state.ctx.clone();
    let found = state
        .db
        .run(move |conn| {
            let Some(post) = posts::by_id(conn, id)?.filter(|p| p.local) else {
                return Ok(None);
            };
            // Someone the author blocks does not get their posts, as if there were none.
            if let Some(signer) = &signer
                && let Some(signer) = actors::by_ap_id(conn, signer.as_str())?
                && blocks::is_blocking(conn, post.author_id, signer.id)?
            {
                return Ok(None);
            }
            let allowed = crate::service::posts::server_may_see(conn, &post, domain.as_deref())?;
            if !allowed {
                return Ok(None);
            }
            // Only those who could see it learn that it was deleted.
            if post.is_deleted() {
                return Ok(Some(Err(post.ap_id)));
            }
            let object = post_object(conn, &ctx, &post)?;
            if !copy {
                return Ok(Some(Ok(object)));
            }
            let group = match post.group_id {
                Some(g) => actors::by_id(conn, g)?,
                None => None,
            };
            match group.filter(|_| post.visibility == "members") {
                Some(group) => Ok(Some(Ok(crate::service::posts::member_copy(
                    conn, &ctx, &group, &object,
                )?))),
                None => Ok(None),
            }
        })
        .await?;
    match found {
        None => Err(Error::not_found("Record not found")),
        Some(Err(ap_id)) => Ok((
            StatusCode::GONE,
            ActivityJson::new(
                serde_json::json!({ "id": ap_id, "type": "Tombstone" }),
                &request.headers,
            ),
        )
            .into_response()),
        Some(Ok(object)) => Ok(ActivityJson::new(object, &request.headers).into_response()),
    }
}

/// Whether the collections of `group_id` may be shown to this request: always for public
/// groups; for members-only groups, only to a signed fetch from a member's server.
pub async fn may_see_group(
    state: &AppState,
    group_id: i64,
    request: &RequestHead,
) -> Result<bool, Error> {
    let members_only = state
        .db
        .run(move |conn| Ok(groups::by_actor(conn, group_id)?.is_some_and(|g| g.members_only())))
        .await?;
    if !members_only {
        return Ok(true);
    }
    let Some(domain) = signer_domain(state, request).await? else {
        return Ok(false);
    };
    state
        .db
        .run(move |conn| crate::service::posts::domain_has_member(conn, group_id, &domain))
        .await
}
