//! Notifications and reading positions (markers), as Mastodon apps use them.

use super::{
    AppState, CurrentUser,
    entities::{Account, Rendered, Report, Status, mastodon_time},
    params::number,
};
use crate::{
    Error,
    db::{
        notifications::{Filter, MarkerRow},
        posts::{Page, PostRow},
    },
    service::{
        Urls,
        notifications::{self as rules, Listed, Timeline},
        statuses::Shown,
    },
};
use axum::{
    Json,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// How many types a filter may name: more than Mastodon has.
const MAX_TYPES: usize = 20;

/// `Notification`.
#[derive(Debug, Serialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub account: Account,
    /// Absent for notifications about no post (`follow`, `follow_request`), as in Mastodon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The report of an `admin.report` notification (absent otherwise, as in Mastodon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// The announcement of a `hearth:announcement` notification (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announcement: Option<serde_json::Value>,
    /// Mastodon 4.3's grouping key; Hearth does not group, as Mastodon marks such ones.
    pub group_key: String,
}

impl Notification {
    /// The entities of listed notifications, as their reader sees them: their statuses
    /// rendered together ([`Shown`]), their senders read once.
    pub fn list(
        conn: &mut crate::db::AnyConnection,
        mut listed: Vec<Listed>,
        reader: i64,
        urls: &Urls,
    ) -> Result<Vec<Self>, Error> {
        let mut posts: Vec<PostRow> = Vec::with_capacity(listed.len());
        for post in listed.iter_mut().filter_map(|l| l.post.take()) {
            if !posts.iter().any(|p| p.id == post.id) {
                posts.push(post);
            }
        }
        let senders = listed.iter().map(|l| l.from.clone()).collect();
        let shown = Shown::load(conn, posts, Some(reader), &[], senders)?;
        let mut statuses = Rendered::new(&shown, urls, listed.iter().filter_map(|l| l.row.post_id));
        Ok(listed
            .into_iter()
            .filter_map(|listed| {
                // A post no longer to be seen takes its notification with it.
                let status = match listed.row.post_id {
                    Some(post) => Some(statuses.take(post)?),
                    None => None,
                };
                Some(Self {
                    id: listed.row.id.to_string(),
                    kind: listed.row.kind.clone(),
                    created_at: mastodon_time(listed.row.created_at.and_utc()),
                    account: Account::from_profile(&listed.from, urls),
                    status,
                    report: listed.report.as_ref().map(|r| Report::new(r, urls)),
                    announcement: listed
                        .announcement
                        .as_ref()
                        .map(super::announcements::entity),
                    group_key: format!("ungrouped-{}", listed.row.id),
                })
            })
            .collect())
    }

    /// The entity of one listed notification; 404 if its post is no longer to be seen.
    pub fn new(
        conn: &mut crate::db::AnyConnection,
        listed: Listed,
        reader: i64,
        urls: &Urls,
    ) -> Result<Self, Error> {
        Self::list(conn, vec![listed], reader, urls)?
            .pop()
            .ok_or_else(|| Error::not_found("Record not found"))
    }
}

/// The filter parameters of a list or a count.
#[derive(Debug, Default, Deserialize)]
pub struct FilterParams {
    #[serde(default, deserialize_with = "super::params::list")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "super::params::list")]
    exclude_types: Vec<String>,
    account_id: Option<String>,
}

impl FilterParams {
    fn filter(&self) -> Result<Filter, Error> {
        let from_id = self
            .account_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    Error::Unprocessable("Validation failed: account_id is not an id".into())
                })
            })
            .transpose()?;
        let mut kinds = self.types.clone();
        let mut excluded = self.exclude_types.clone();
        kinds.truncate(MAX_TYPES);
        excluded.truncate(MAX_TYPES);
        Ok(Filter {
            kinds,
            excluded,
            from_id,
            hidden: Vec::new(),
        })
    }

    /// The parameters a next or previous page keeps, as Mastodon's `Link` does.
    fn kept(&self, limit: Option<i64>) -> Vec<(&'static str, String)> {
        let mut kept = Vec::new();
        if let Some(limit) = limit {
            kept.push(("limit", limit.to_string()));
        }
        kept.extend(self.types.iter().map(|t| ("types[]", t.clone())));
        kept.extend(
            self.exclude_types
                .iter()
                .map(|t| ("exclude_types[]", t.clone())),
        );
        if let Some(account) = &self.account_id {
            kept.push(("account_id", account.clone()));
        }
        kept
    }
}

/// Query of `GET /api/v1/notifications`.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    filter: FilterParams,
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    #[serde(default, deserialize_with = "number")]
    limit: Option<i64>,
}

/// `GET /api/v1/notifications`: newest first, 40 a page (at most 80), filtered by `types[]`,
/// `exclude_types[]` and `account_id`, paged by `max_id`, `since_id`, `min_id` and `Link`.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(params): super::ApiQuery<ListParams>,
) -> Result<Response, Error> {
    let filter = params.filter.filter()?;
    let id = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
    let bounds = Page {
        max_id: id(&params.max_id),
        since_id: id(&params.since_id),
        min_id: id(&params.min_id),
        limit: params.limit.unwrap_or(40).clamp(1, 80),
    };
    let (me, urls) = (user.actor.id, state.urls.clone());
    let notifications = state
        .db
        .run(move |conn| {
            let listed = rules::page(conn, me, &filter, bounds)?;
            Notification::list(conn, listed, me, &urls)
        })
        .await?;
    let mut base = state.urls.path("/api/v1/notifications");
    base.query_pairs_mut()
        .extend_pairs(params.filter.kept(params.limit));
    let ids: Vec<&str> = notifications.iter().map(|n| n.id.as_str()).collect();
    let link = link(ids.first().copied(), ids.last().copied(), base);
    let mut response = Json(notifications).into_response();
    if let Some(link) = link {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// The `Link` header of a page whose newest item is `first` and oldest `last`, as
/// `timelines::paged` writes it (main's `timelines::paged_by` can replace this after merging).
fn link(first: Option<&str>, last: Option<&str>, base: url::Url) -> Option<header::HeaderValue> {
    let (first, last) = (first?, last?);
    let mut next = base.clone();
    next.query_pairs_mut().append_pair("max_id", last);
    let mut prev = base;
    prev.query_pairs_mut().append_pair("min_id", first);
    format!("<{next}>; rel=\"next\", <{prev}>; rel=\"prev\"")
        .parse()
        .ok()
}

fn id_param(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// `GET /api/v1/notifications/{id}`: one of mine.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Notification>, Error> {
    let (id, me, urls) = (id_param(&id)?, user.actor.id, state.urls.clone());
    let notification = state
        .db
        .run(move |conn| {
            let listed = rules::one(conn, me, id)?;
            Notification::new(conn, listed, me, &urls)
        })
        .await?;
    Ok(Json(notification))
}

/// `POST /api/v1/notifications/{id}/dismiss`: deletes one of mine.
pub async fn dismiss(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    rules::dismiss(&state.ctx, user.actor.id, id_param(&id)?).await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/notifications/clear`: deletes all of mine.
pub async fn clear(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, Error> {
    rules::clear(&state.ctx, user.actor.id).await?;
    Ok(Json(json!({})))
}

/// Query of `GET /api/v1/notifications/unread_count`.
#[derive(Debug, Deserialize)]
pub struct CountParams {
    #[serde(flatten)]
    filter: FilterParams,
    #[serde(default, deserialize_with = "number")]
    limit: Option<i64>,
}

/// `GET /api/v1/notifications/unread_count` (Mastodon 4.3): `{"count": n}`, the
/// notifications newer than my `notifications` marker, counted up to `limit` (default 100,
/// at most 1000).
pub async fn unread_count(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(params): super::ApiQuery<CountParams>,
) -> Result<Json<Value>, Error> {
    let filter = params.filter.filter()?;
    let cap = params.limit.unwrap_or(100).clamp(1, 1000);
    let me = user.actor.id;
    let count = state
        .db
        .run(move |conn| rules::unread_count(conn, me, &filter, cap))
        .await?;
    Ok(Json(json!({ "count": count })))
}

/// `Marker`.
#[derive(Debug, Serialize)]
pub struct Marker {
    pub last_read_id: String,
    pub version: i64,
    pub updated_at: String,
}

/// The markers keyed by timeline, as Mastodon answers both routes.
fn by_timeline(rows: Vec<MarkerRow>) -> Result<Value, Error> {
    let mut answer = Map::new();
    for row in rows {
        let marker = Marker {
            last_read_id: row.last_read_id.to_string(),
            version: row.version,
            updated_at: mastodon_time(row.updated_at.and_utc()),
        };
        let value = serde_json::to_value(marker)
            .map_err(|e| Error::Internal(format!("serialising a marker: {e}")))?;
        answer.insert(row.timeline, value);
    }
    Ok(Value::Object(answer))
}

fn timeline(name: &str) -> Option<Timeline> {
    match name {
        "home" => Some(Timeline::Home),
        "notifications" => Some(Timeline::Notifications),
        _ => None,
    }
}

/// Query of `GET /api/v1/markers`.
#[derive(Debug, Deserialize)]
pub struct MarkersQuery {
    #[serde(default, deserialize_with = "super::params::list")]
    timeline: Vec<String>,
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications`: my saved positions in
/// those timelines (none asked, none answered).
pub async fn markers(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(query): super::ApiQuery<MarkersQuery>,
) -> Result<Json<Value>, Error> {
    let names: Vec<String> = query
        .timeline
        .iter()
        .filter_map(|t| timeline(t))
        .map(|t| t.as_str().to_owned())
        .collect();
    let me = user.actor.id;
    let rows = state
        .db
        .run(move |conn| Ok(crate::db::notifications::markers_of(conn, me, &names)?))
        .await?;
    Ok(Json(by_timeline(rows)?))
}

/// One timeline's part of `POST /api/v1/markers`.
#[derive(Debug, Deserialize)]
pub struct Position {
    #[serde(default, deserialize_with = "number")]
    last_read_id: Option<i64>,
}

/// Body of `POST /api/v1/markers`: `home[last_read_id]`, `notifications[last_read_id]`.
#[derive(Debug, Deserialize)]
pub struct MarkersForm {
    home: Option<Position>,
    notifications: Option<Position>,
}

/// `POST /api/v1/markers`: saves my positions; answers with the markers saved.
pub async fn save_markers(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiForm(form): super::ApiForm<MarkersForm>,
) -> Result<Json<Value>, Error> {
    let positions: Vec<(Timeline, i64)> = [
        (Timeline::Home, form.home),
        (Timeline::Notifications, form.notifications),
    ]
    .into_iter()
    .filter_map(|(t, p)| Some((t, p?.last_read_id?)))
    .collect();
    let saved = rules::save_markers(&state.ctx, user.actor.id, positions).await?;
    Ok(Json(by_timeline(saved)?))
}
