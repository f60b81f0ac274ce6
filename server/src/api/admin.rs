//! Admin endpoints (`/api/hearth/v1/admin/...`): the delivery queue.

use super::{AppState, CurrentUser};
use crate::{Error, db::deliveries};
use axum::{
    Json,
    extract::{Path, State},
};
use serde_json::{Value, json};

fn admin_only(user: &CurrentUser) -> Result<(), Error> {
    if user.user.role == "admin" {
        Ok(())
    } else {
        Err(Error::Forbidden("admins only".into()))
    }
}

/// `GET /api/hearth/v1/admin/federation`: servers with deliveries waiting, longest queue first.
pub async fn federation(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<deliveries::HostQueue>>, Error> {
    admin_only(&user)?;
    Ok(Json(
        state.db.run(|conn| Ok(deliveries::queues(conn)?)).await?,
    ))
}

/// `POST /api/hearth/v1/admin/federation/{host}/retry`: make a server's deliveries due now.
pub async fn retry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(host): Path<String>,
) -> Result<Json<Value>, Error> {
    admin_only(&user)?;
    let n = state
        .db
        .write(move |conn| Ok(deliveries::retry_host(conn, &host)?))
        .await?;
    state.ctx.wake.notify_one();
    Ok(Json(json!({ "retried": n })))
}

/// `DELETE /api/hearth/v1/admin/federation/{host}`: drop a server's waiting deliveries.
pub async fn drop_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(host): Path<String>,
) -> Result<Json<Value>, Error> {
    admin_only(&user)?;
    let n = state
        .db
        .write(move |conn| Ok(deliveries::drop_host(conn, &host)?))
        .await?;
    Ok(Json(json!({ "dropped": n })))
}
