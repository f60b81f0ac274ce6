//! Timelines, with Mastodon pagination (`max_id`, `since_id`, `min_id`, `limit`, `Link`).

use super::{AppState, CurrentUser, MaybeUser, entities::Status};
use crate::{
    Error,
    db::{
        blocks::{self, Hiding},
        posts,
    },
    service::statuses::{self, Entry},
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

    /// The bounds of a page of accounts: `limit` clamped to 1..=80 (default 40), as
    /// Mastodon's account lists (followers, blocks, mutes).
    pub fn accounts_page(&self) -> posts::Page {
        posts::Page {
            limit: self.limit.unwrap_or(40).clamp(1, 80),
            ..self.page()
        }
    }
}

/// A JSON list with the `Link` header Mastodon clients page with.
pub fn paged(statuses: Vec<Status>, base: url::Url) -> Response {
    let cursors = match (statuses.first(), statuses.last()) {
        (Some(first), Some(last)) => Some((first.id.clone(), last.id.clone())),
        _ => None,
    };
    paged_by(statuses, cursors, base)
}

/// The ids a page is bounded by: its newest item's and its oldest item's.
pub type Cursors = Option<(String, String)>;

/// A JSON list paged by other ids than its items' own (a bookmark's, a like's).
pub fn paged_by<T: serde::Serialize>(items: Vec<T>, cursors: Cursors, base: url::Url) -> Response {
    let link = cursors.map(|(newest, oldest)| {
        let mut next = base.clone();
        next.query_pairs_mut().append_pair("max_id", &oldest);
        let mut prev = base;
        prev.query_pairs_mut().append_pair("min_id", &newest);
        format!("<{next}>; rel=\"next\", <{prev}>; rel=\"prev\"")
    });
    let mut response = Json(items).into_response();
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
            let sources = statuses::HomeSources::of(conn, me)?;
            let mut found = Vec::new();
            let mut bounds = page;
            // Hidden posts are skipped; read further until the page is full or the end.
            for _ in 0..5 {
                let batch = sources.page(conn, bounds)?;
                let exhausted = (batch.len() as i64) < bounds.limit;
                let (first, last) = (batch.first().map(Entry::id), batch.last().map(Entry::id));
                found.extend(Status::entries(conn, batch, Some(me), &urls)?);
                found.truncate(usize::try_from(page.limit).unwrap_or(0));
                match last {
                    Some(last) if !exhausted && (found.len() as i64) < page.limit => {
                        if bounds.min_id.is_some() {
                            bounds.min_id = first;
                        } else {
                            bounds.max_id = Some(last);
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

/// Query of the public timeline.
#[derive(Debug, Default, Deserialize)]
pub struct PublicQuery {
    #[serde(flatten)]
    paging: Paging,
    #[serde(default, deserialize_with = "super::params::flag")]
    local: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    remote: Option<bool>,
    #[serde(default, deserialize_with = "super::params::flag")]
    only_media: Option<bool>,
}

impl PublicQuery {
    /// Only local posts (`Some(true)`, `local`), only remote ones (`remote`), or both.
    pub fn local(&self) -> Option<bool> {
        match (self.local, self.remote) {
            (Some(true), _) => Some(true),
            (_, Some(true)) => Some(false),
            _ => None,
        }
    }

    /// Only posts with media.
    pub fn only_media(&self) -> bool {
        self.only_media == Some(true)
    }

    /// The page bounds.
    pub fn page(&self) -> posts::Page {
        self.paging.page()
    }
}

/// `GET /api/v1/timelines/public`: public posts written here (`local`) or received here
/// (`remote`), or both; newest first. Only what was delivered to this clinic is here: Hearth
/// does not crawl the network.
pub async fn public(
    State(state): State<AppState>,
    viewer: MaybeUser,
    super::ApiQuery(query): super::ApiQuery<PublicQuery>,
) -> Result<Response, Error> {
    let viewer = viewer.id();
    let local = query.local();
    let page = query.page();
    let urls = state.urls.clone();
    let only_media = query.only_media();
    let policy = state.ctx.policy.current();
    let silenced = state.ctx.silenced.clone();
    let statuses = state
        .db
        .run(move |conn| {
            let mut hidden = match viewer {
                Some(viewer) => blocks::hidden_from(conn, viewer, Hiding::Posts)?,
                None => Vec::new(),
            };
            if local != Some(true) {
                hidden.extend(silenced.get(conn, &policy)?.iter());
            }
            let posts = posts::public(conn, viewer, local, only_media, &hidden, page)?;
            Status::list(conn, posts, viewer, &urls)
        })
        .await?;
    Ok(paged(statuses, state.urls.path("/api/v1/timelines/public")))
}

/// `GET /api/v1/bookmarks`: the posts one bookmarked that one may still see, newest first.
pub async fn bookmarks(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    kept(
        state,
        user,
        paging,
        "/api/v1/bookmarks",
        crate::db::bookmarks::page,
    )
    .await
}

/// `GET /api/v1/favourites`: the posts one liked that one may still see, newest like first.
pub async fn favourites(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    kept(state, user, paging, "/api/v1/favourites", posts::liked_by).await
}

/// Reads a page of the posts a person kept, each with the id of its keeping row.
type KeptRows = fn(
    &mut crate::db::AnyConnection,
    i64,
    posts::Page,
) -> diesel::QueryResult<Vec<(i64, crate::db::posts::PostRow)>>;

/// A page of posts a person kept (bookmarked, liked), read by `rows`, paged by the keeping
/// rows' ids.
async fn kept(
    state: AppState,
    user: CurrentUser,
    paging: Paging,
    path: &str,
    rows: KeptRows,
) -> Result<Response, Error> {
    let me = user.actor.id;
    let page = paging.page();
    let urls = state.urls.clone();
    let (statuses, cursors) = state
        .db
        .run(move |conn| {
            let rows = rows(conn, me, page)?;
            kept_statuses(conn, rows, me, &urls)
        })
        .await?;
    Ok(paged_by(statuses, cursors, state.urls.path(path)))
}

/// The statuses of kept posts (bookmarked, liked) the person may still see, with the page's
/// cursors taken from the keeping rows' ids.
fn kept_statuses(
    conn: &mut crate::db::AnyConnection,
    rows: Vec<(i64, crate::db::posts::PostRow)>,
    me: i64,
    urls: &crate::service::Urls,
) -> Result<(Vec<Status>, Cursors), Error> {
    let cursors = match (rows.first(), rows.last()) {
        (Some((newest, _)), Some((oldest, _))) => Some((newest.to_string(), oldest.to_string())),
        _ => None,
    };
    let posts = rows.into_iter().map(|(_, post)| post).collect();
    Ok((Status::list(conn, posts, Some(me), urls)?, cursors))
}
