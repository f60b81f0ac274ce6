//! Actor documents, their collections, and their inboxes.

use super::{ActivityJson, AppState, wants_activity_json};
use crate::{Error, db::actors};
use activitypub_federation::config::Data;
use axum::{
    extract::{Path, Request, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use hearth_federation::{
    FederationData, inbox,
    protocol::{actor::ActorKind, collection::OrderedCollection},
};

async fn local_actor(
    state: &AppState,
    name: String,
    kind: ActorKind,
) -> Result<actors::ActorRow, Error> {
    let missing = no_such(&name, kind);
    let (found, deleted) = state
        .db
        .lookup(move |conn| {
            let found = actors::local_by_username(conn, &name, Some(kind))?;
            let deleted = found.is_none()
                && kind == ActorKind::Person
                && actors::local_tombstone(conn, &name)?.is_some();
            Ok((found, deleted))
        })
        .await?;
    match found {
        Some(row) => Ok(row),
        None if deleted => Err(Error::Gone("This account was deleted".into())),
        None => Err(Error::NotFound(missing)),
    }
}

/// Refuses a POST to the inbox of a person or group that does not exist here; the owner is
/// kept for the rest of the request (`service::inbox::read_in_request`).
async fn inbox_owner(state: &AppState, name: String, kind: ActorKind) -> Result<(), Error> {
    let missing = no_such(&name, kind);
    let owner = state
        .db
        .local_actor(&name, kind)
        .await?
        .ok_or(Error::NotFound(missing))?;
    crate::service::inbox::read_in_request(&owner);
    Ok(())
}

fn no_such(name: &str, kind: ActorKind) -> String {
    let kind = if kind == ActorKind::Group {
        "group"
    } else {
        "person"
    };
    format!("no {kind} named {name}")
}

async fn actor_document(
    state: &AppState,
    headers: &HeaderMap,
    name: String,
    kind: ActorKind,
) -> Result<Response, Error> {
    let row = local_actor(state, name, kind).await?;
    if !wants_activity_json(headers) {
        return Ok(Redirect::to(state.urls.profile(&row.username).as_str()).into_response());
    }
    let actor_id = row.id;
    let suspended = state
        .db
        .lookup(move |conn| {
            Ok(crate::db::users::user_by_actor(conn, actor_id)?
                .is_some_and(|u| u.suspended_at.is_some()))
        })
        .await?;
    let document = row.to_federated()?.to_object();
    let document = if suspended {
        document.suspended()
    } else {
        document
    };
    Ok(ActivityJson::new(document, headers).into_response())
}

/// `GET /users/{name}`: a person's actor document (a browser is sent to the profile page).
pub async fn person(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    actor_document(&state, &headers, name, ActorKind::Person).await
}

/// `GET /groups/{name}`: a support group's actor document.
pub async fn group(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    actor_document(&state, &headers, name, ActorKind::Group).await
}

/// `GET /actor`: the instance's `Application` actor, which signs outgoing fetches.
pub async fn instance_actor(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let row = instance_actor_row(&state).await?;
    Ok(ActivityJson::new(row.to_federated()?.to_object(), &headers).into_response())
}

async fn instance_actor_row(state: &AppState) -> Result<actors::ActorRow, Error> {
    let ap_id = state.urls.instance_actor().to_string();
    state
        .db
        .run(move |conn| Ok(actors::by_ap_id(conn, &ap_id)?))
        .await?
        .ok_or_else(|| Error::not_found("no instance actor"))
}

/// The collections every actor has, with their counts. Member lists are never shown to the
/// public; the outbox lists posts a page at a time, and `featured` the few pinned posts.
async fn collection(
    row: &actors::ActorRow,
    part: &str,
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, Error> {
    if part == "featured" && row.actor_kind() != ActorKind::Application {
        return featured(row, state, headers).await;
    }
    if part == "outbox" && row.actor_kind() != ActorKind::Application {
        return outbox(row, state, headers, query).await;
    }
    if !matches!(part, "outbox" | "followers" | "following") {
        return Err(Error::not_found(format!("no collection {part}")));
    }
    let actor = row.to_federated()?;
    let id = state.urls.actor_part(&actor.ap_id, part);
    let (row, part) = (row.clone(), part.to_owned());
    let count = state
        .db
        .run(move |conn| {
            let counts = crate::service::statuses::Counts::of_actor(conn, &row)?;
            Ok(match part.as_str() {
                "followers" => counts.followers,
                "following" => counts.following,
                _ => counts.statuses,
            })
        })
        .await?;
    let count = u64::try_from(count).unwrap_or(0);
    Ok(ActivityJson::new(OrderedCollection::counted(id, count), headers).into_response())
}

/// An outbox: without `page`, the collection with its count and its `first` page (a group's
/// also lists that page inline, as Lemmy reads it); with `page=true` (and `max_id`), a page of
/// it with its `next` (see `service::outbox`).
async fn outbox(
    row: &actors::ActorRow,
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, Error> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let paged = param("page").is_some();
    let max_id = match param("max_id") {
        Some(raw) => Some(
            raw.parse::<i64>()
                .map_err(|_| Error::BadRequest(format!("max_id {raw:?} is not a number")))?,
        ),
        None => None,
    };
    let id = state.urls.actor_part(&row.to_federated()?.ap_id, "outbox");
    let at = |max_id: Option<i64>| {
        let mut page = id.clone();
        page.query_pairs_mut().append_pair("page", "true");
        if let Some(max_id) = max_id {
            page.query_pairs_mut()
                .append_pair("max_id", &max_id.to_string());
        }
        page
    };
    let group = row.actor_kind() == ActorKind::Group;
    let (row, ctx) = (row.clone(), state.ctx.clone());
    let (items, next, count) = state
        .db
        .run(move |conn| {
            let (items, next) = if paged || group {
                crate::service::outbox::page(conn, &ctx, &row, max_id)?
            } else {
                (Vec::new(), None)
            };
            let count = crate::service::statuses::Counts::of_actor(conn, &row)?.statuses;
            Ok((items, next, count))
        })
        .await?;
    let document = if paged {
        let mut page = serde_json::json!({
            "@context": hearth_federation::protocol::context(),
            "id": at(max_id),
            "type": "OrderedCollectionPage",
            "partOf": id,
            "orderedItems": items,
        });
        if let Some(next) = next {
            page["next"] = serde_json::json!(at(Some(next)));
        }
        page
    } else {
        let mut collection = serde_json::json!({
            "@context": hearth_federation::protocol::context(),
            "id": id,
            "type": "OrderedCollection",
            "totalItems": count,
            "first": at(None),
        });
        if group {
            collection["orderedItems"] = serde_json::json!(items);
        }
        collection
    };
    Ok(ActivityJson::new(document, headers).into_response())
}

/// The posts a person or group pinned, as objects. A person's pins are listed if public
/// (or unlisted); a group's all, since only those who may see the group get here.
async fn featured(
    row: &actors::ActorRow,
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Response, Error> {
    let actor = row.to_federated()?;
    let id = state.urls.actor_part(&actor.ap_id, "featured");
    let (row, ctx) = (row.clone(), state.ctx.clone());
    let items = state
        .db
        .run(move |conn| {
            let group = row.actor_kind() == ActorKind::Group;
            let mut items = Vec::new();
            for post in crate::db::pins::of_actor(conn, row.id)? {
                if group || matches!(post.visibility.as_str(), "public" | "unlisted") {
                    let object = crate::service::posts::post_object(conn, &ctx, &post)?;
                    items.push(
                        serde_json::to_value(object).map_err(|e| Error::Internal(e.to_string()))?,
                    );
                }
            }
            Ok(items)
        })
        .await?;
    let mut collection = OrderedCollection::counted(id, u64::try_from(items.len()).unwrap_or(0));
    collection.ordered_items = items;
    Ok(ActivityJson::new(collection, headers).into_response())
}

/// `GET /users/{name}/{outbox|followers|following|featured}`.
pub async fn person_collection(
    State(state): State<AppState>,
    Path((name, part)): Path<(String, String)>,
    request: super::objects::RequestHead,
) -> Result<Response, Error> {
    let row = local_actor(&state, name, ActorKind::Person).await?;
    collection(&row, &part, &state, &request.headers, request.uri.query()).await
}

/// `GET /groups/{name}/{outbox|followers|following|featured}`: for a members-only group, only to a
/// signed fetch from a member's server; 404 to anyone else.
pub async fn group_collection(
    State(state): State<AppState>,
    Path((name, part)): Path<(String, String)>,
    request: super::objects::RequestHead,
) -> Result<Response, Error> {
    let row = local_actor(&state, name, ActorKind::Group).await?;
    if !super::objects::may_see_group(&state, row.id, &request).await? {
        return Err(Error::not_found("Record not found"));
    }
    collection(&row, &part, &state, &request.headers, request.uri.query()).await
}

/// `GET /actor/{outbox|followers|following}`.
pub async fn instance_collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(part): Path<String>,
) -> Result<Response, Error> {
    let row = instance_actor_row(&state).await?;
    collection(&row, &part, &state, &headers, None).await
}

async fn verified_inbox(data: Data<FederationData>, request: Request) -> Result<Response, Error> {
    let status = inbox::receive(data, request).await?;
    Ok((status, axum::Json(serde_json::json!({}))).into_response())
}

/// `POST /inbox` (and `POST /actor/inbox`): the shared inbox.
pub async fn shared_inbox(data: Data<FederationData>, request: Request) -> Result<Response, Error> {
    crate::service::inbox::within_request(verified_inbox(data, request)).await
}

/// `POST /users/{name}/inbox`.
pub async fn person_inbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
    data: Data<FederationData>,
    request: Request,
) -> Result<Response, Error> {
    crate::service::inbox::within_request(async move {
        inbox_owner(&state, name, ActorKind::Person).await?;
        verified_inbox(data, request).await
    })
    .await
}

/// `POST /groups/{name}/inbox`.
pub async fn group_inbox(
    State(state): State<AppState>,
    Path(name): Path<String>,
    data: Data<FederationData>,
    request: Request,
) -> Result<Response, Error> {
    crate::service::inbox::within_request(async move {
        inbox_owner(&state, name, ActorKind::Group).await?;
        verified_inbox(data, request).await
    })
    .await
}
