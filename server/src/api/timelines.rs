//! Timelines, with Mastodon pagination (`max_id`, `since_id`, `min_id`, `limit`, `Link`).

use super::{AppState, CurrentUser, entities::Status};
use crate::{
    Error,
    db::{follows, posts},
    service::posts::can_view,
};
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;

/// Paging parameters.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    #[serde(default, deserialize_with = "super::params::number")]
    limit: Option<i64>,
}

impl Paging {
    /// The bounds, with `limit` clamped to 1..=40 (default 20).
    pub fn page(&self) -> posts::Page {
        let id = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
        posts::Page {
            max_id: id(&self.max_id),
            since_id: id(&self.since_id),
            min_id: id(&self.min_id),
            limit: self.limit.unwrap_or(20).clamp(1, 40),
        }
    }
}

/// A JSON list with the `Link` header Mastodon clients page with.
pub fn paged(statuses: Vec<Status>, base: url::Url) -> Response {
    let link = match (statuses.first(), statuses.last()) {
        (Some(first), Some(last)) => {
            let mut next = base.clone();
            next.query_pairs_mut().append_pair("max_id", &last.id);
            let mut prev = base;
            prev.query_pairs_mut().append_pair("min_id", &first.id);
            Some(format!("<{next}>; rel=\"next\", <{prev}>; rel=\"prev\""))
        }
        _ => None,
    };
    let mut response = Json(statuses).into_response();
    if let Some(link) = link.and_then(|l| l.parse().ok()) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// `GET /api/v1/timelines/home`: posts of followed people and joined groups (including what
/// the groups share), one's own posts, and posts that mention one; newest first.
pub async fn home(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    let me = user.actor.id;
    let page = paging.page();
    let urls = state.urls.clone();
    let statuses = state
        .db
        .run(move |conn| {
            let followed = follows::followed_ids(conn, me)?;
            let mut authors = followed.clone();
            authors.push(me);
            let mut found = Vec::new();
            let mut bounds = page;
            // Hidden posts are skipped; read further until the page is full or the end.
            for _ in 0..5 {
                let batch = posts::timeline(conn, &authors, &followed, Some(me), bounds)?;
                let exhausted = (batch.len() as i64) < bounds.limit;
                for post in &batch {
                    if found.len() as i64 >= page.limit {
                        break;
                    }
                    if can_view(conn, post, Some(me))? {
                        found.push(Status::new(conn, post, Some(me), &urls)?);
                    }
                }
                match batch.last() {
                    Some(last) if !exhausted && (found.len() as i64) < page.limit => {
                        if bounds.min_id.is_some() {
                            bounds.min_id = batch.first().map(|p| p.id);
                        } else {
                            bounds.max_id = Some(last.id);
                        }
                    }
                    _ => break,
                }
            }
            Ok(found)
        })
        .await?;
    Ok(paged(statuses, state.urls.path("/api/v1/timelines/home")))
}
