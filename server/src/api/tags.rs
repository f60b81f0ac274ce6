//! Hashtags: the `Tag` entity, a status's tags, and the tag timeline.

use super::{
    AppState, MaybeUser,
    entities::Status,
    timelines::{PublicQuery, paged},
};
use crate::{
    Error,
    db::{
        AnyConnection,
        tags::{self, TagFilter, TagRow},
    },
    service::{Urls, content, tags::tag_url},
};
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use chrono::{NaiveTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// Days of use a `Tag` entity reports (as Mastodon).
const HISTORY_DAYS: i64 = 7;

/// A tag of `Status.tags`: `{name, url}`.
pub fn entity_of_name(urls: &Urls, name: &str) -> Value {
    json!({ "url": tag_url(urls, name), "name": name })
}

/// The `Tag` entity: `history` counts public posts (and their authors) per day, newest day
/// first, over the last week; `following` is given to signed-in people only (and is always
/// false: following tags is not offered). A tag used only where the public cannot see is
/// shown as an unknown one, so that its existence does not leak.
pub fn entity(
    conn: &mut AnyConnection,
    urls: &Urls,
    name: &str,
    signed_in: bool,
) -> Result<Value, Error> {
    let known = tags::by_names(conn, &[name.to_owned()])?
        .into_iter()
        .next()
        .map(|row| tags::has_public_use(conn, row.id).map(|public| public.then_some(row)))
        .transpose()?
        .flatten();
    entity_of(conn, urls, name, known.as_ref(), signed_in)
}

fn entity_of(
    conn: &mut AnyConnection,
    urls: &Urls,
    name: &str,
    known: Option<&TagRow>,
    signed_in: bool,
) -> Result<Value, Error> {
    let today = Utc::now().date_naive();
    let first_day = today - TimeDelta::days(HISTORY_DAYS - 1);
    let uses = match known {
        Some(tag) => tags::public_uses_since(conn, tag.id, first_day.and_time(NaiveTime::MIN))?,
        None => Vec::new(),
    };
    let history: Vec<Value> = (0..HISTORY_DAYS)
        .map(|back| {
            let day = today - TimeDelta::days(back);
            let that_day: Vec<i64> = uses
                .iter()
                .filter(|(at, _)| at.date() == day)
                .map(|(_, author)| *author)
                .collect();
            let mut authors = that_day.clone();
            authors.sort_unstable();
            authors.dedup();
            json!({
                "day": day.and_time(NaiveTime::MIN).and_utc().timestamp().to_string(),
                "uses": that_day.len().to_string(),
                "accounts": authors.len().to_string(),
            })
        })
        .collect();
    let mut tag = json!({
        "id": known.map(|t| t.id.to_string()).unwrap_or_default(),
        "name": name,
        "url": tag_url(urls, name),
        "history": history,
    });
    if signed_in {
        tag["following"] = json!(false);
    }
    Ok(tag)
}

/// Tags whose name starts with `prefix` (a `#` in front is ignored) and that public posts
/// carry, as `Tag` entities.
pub fn search(
    conn: &mut AnyConnection,
    urls: &Urls,
    prefix: &str,
    limit: i64,
    offset: i64,
    signed_in: bool,
) -> Result<Vec<Value>, Error> {
    let prefix = prefix.trim().trim_start_matches('#');
    let Some(prefix) = content::tag_name(prefix) else {
        return Ok(Vec::new());
    };
    tags::search_public(conn, &prefix, limit, offset)?
        .iter()
        .map(|tag| entity_of(conn, urls, &tag.name, Some(tag), signed_in))
        .collect()
}

/// A tag name from a path or query: valid, lower-cased; 404 otherwise (as Mastodon).
fn name_param(raw: &str) -> Result<String, Error> {
    content::tag_name(raw.trim_start_matches('#'))
        .ok_or_else(|| Error::not_found("Record not found"))
}

/// `GET /api/v1/tags/{name}`: the tag, known or not (an unknown tag has no uses).
pub async fn show(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(name): Path<String>,
) -> Result<Json<Value>, Error> {
    let name = name_param(&name)?;
    let signed_in = viewer.0.is_some();
    let urls = state.urls.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| entity(conn, &urls, &name, signed_in))
            .await?,
    ))
}

/// Query of the tag timeline: the public timeline's, and tags.
#[derive(Debug, Default, Deserialize)]
pub struct TagTimelineQuery {
    #[serde(flatten)]
    public: PublicQuery,
    #[serde(default, deserialize_with = "super::params::list")]
    any: Vec<String>,
    #[serde(default, deserialize_with = "super::params::list")]
    all: Vec<String>,
    #[serde(default, deserialize_with = "super::params::list")]
    none: Vec<String>,
}

/// The ids of the known tags among `names` (invalid names are none).
fn tag_ids(conn: &mut AnyConnection, names: &[String]) -> Result<Vec<i64>, Error> {
    let names: Vec<String> = names
        .iter()
        .filter_map(|n| content::tag_name(n.trim_start_matches('#')))
        .take(10)
        .collect();
    Ok(tags::by_names(conn, &names)?
        .into_iter()
        .map(|t| t.id)
        .collect())
}

/// `GET /api/v1/timelines/tag/{hashtag}`: public posts carrying the tag (or any of `any[]`),
/// with all of `all[]` and none of `none[]`; written here (`local`) or received here
/// (`remote`); with media only (`only_media`). Newest first, paged with `Link`. As the public
/// timeline: public posts only, never a members-only group's.
pub async fn timeline(
    State(state): State<AppState>,
    viewer: MaybeUser,
    Path(hashtag): Path<String>,
    super::ApiQuery(query): super::ApiQuery<TagTimelineQuery>,
) -> Result<Response, Error> {
    let name = name_param(&hashtag)?;
    let viewer = viewer.id();
    let page = query.public.page();
    let local = query.public.local();
    let urls = state.urls.clone();
    let base = state.urls.path(&format!("/api/v1/timelines/tag/{name}"));
    let statuses = state
        .db
        .run(move |conn| {
            let mut any = query.any.clone();
            any.push(name);
            let all = tag_ids(conn, &query.all)?;
            let wanted: std::collections::BTreeSet<String> = query
                .all
                .iter()
                .map(|n| n.trim_start_matches('#').to_lowercase())
                .collect();
            if all.len() < wanted.len() {
                // A tag required that nothing carries: nothing has all of them.
                return Ok(Vec::new());
            }
            let filter = TagFilter {
                any: tag_ids(conn, &any)?,
                all,
                none: tag_ids(conn, &query.none)?,
                local,
                only_media: query.public.only_media(),
                viewer,
            };
            let posts = tags::timeline(conn, &filter, page)?;
            Status::list(conn, posts, viewer, &urls)
        })
        .await?;
    Ok(paged(statuses, base))
}
