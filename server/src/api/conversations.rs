//! `/api/v1/conversations`: direct messages grouped by thread and participants.

use super::{
    AppState, CurrentUser,
    entities::{Account, Status},
    timelines::{Cursors, Paging, paged_by},
};
use crate::{
    Error,
    db::{AnyConnection, actors, conversations::ConversationRow, posts::PostRow},
    service::conversations,
};
use axum::{
    Json,
    extract::{Path, State},
    response::Response,
};
use serde::Serialize;
use serde_json::{Value, json};

/// `Conversation`.
#[derive(Debug, Serialize)]
pub struct Conversation {
    pub id: String,
    pub unread: bool,
    /// The other participants (oneself, in a conversation with oneself).
    pub accounts: Vec<Account>,
    pub last_status: Option<Status>,
}

impl Conversation {
    /// The entity of `row` for its person, with its latest post if they may see it.
    fn new(
        conn: &mut AnyConnection,
        state: &AppState,
        row: &ConversationRow,
        last: Option<&PostRow>,
    ) -> Result<Self, Error> {
        let mut ids = row.participants();
        if ids.is_empty() {
            ids.push(row.actor_id);
        }
        let mut accounts = Vec::new();
        for id in ids {
            if let Some(actor) = actors::by_id(conn, id)? {
                accounts.push(Account::from_row(&actor, &state.urls));
            }
        }
        Ok(Self {
            id: row.id.to_string(),
            unread: row.unread,
            accounts,
            last_status: last
                .map(|post| Status::new(conn, post, Some(row.actor_id), &state.urls))
                .transpose()?,
        })
    }
}

fn id_param(raw: &str) -> Result<i64, Error> {
    raw.parse()
        .map_err(|_| Error::not_found("Record not found"))
}

/// `GET /api/v1/conversations`: one's direct conversations, the one with the latest post
/// first; paged (`Link`) by their latest posts' ids, as Mastodon.
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    super::ApiQuery(paging): super::ApiQuery<Paging>,
) -> Result<Response, Error> {
    let rows = conversations::page(&state.ctx, user.actor.id, paging.page()).await?;
    let cursors: Cursors = match (rows.first(), rows.last()) {
        (Some((newest, _)), Some((oldest, _))) => Some((
            newest.last_post_id.to_string(),
            oldest.last_post_id.to_string(),
        )),
        _ => None,
    };
    let s = state.clone();
    let list = state
        .db
        .run(move |conn| {
            rows.iter()
                .map(|(row, last)| Conversation::new(conn, &s, row, last.as_ref()))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(paged_by(
        list,
        cursors,
        state.urls.path("/api/v1/conversations"),
    ))
}

/// `POST /api/v1/conversations/{id}/read`: marks one's conversation read.
pub async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, Error> {
    let (row, last) = conversations::mark_read(&state.ctx, user.actor.id, id_param(&id)?).await?;
    let s = state.clone();
    Ok(Json(
        state
            .db
            .run(move |conn| Conversation::new(conn, &s, &row, last.as_ref()))
            .await?,
    ))
}

/// `DELETE /api/v1/conversations/{id}`: removes the conversation from one's list (the posts
/// stay; a new post in it brings it back).
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    conversations::remove(&state.ctx, user.actor.id, id_param(&id)?).await?;
    Ok(Json(json!({})))
}
