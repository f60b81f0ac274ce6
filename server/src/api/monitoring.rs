//! `/metrics`: Prometheus text exposition (see [`crate::monitoring`]).

use super::AppState;
use crate::Error;
use axum::{
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};

/// The media type of Prometheus's text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics` on the main listener: for the bearer of `HEARTH_METRICS_TOKEN` (401
/// otherwise). Routed only when the token is set.
pub async fn with_token(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let Some(token) = state.settings.metrics_token() else {
        return Err(Error::not_found("Record not found"));
    };
    if !crate::monitoring::bearer_matches(&headers, token) {
        return Err(Error::Unauthorized);
    }
    exposition(&state).await
}

/// `GET /metrics` on the metrics listener (`HEARTH_METRICS_BIND`): no token; whoever reaches
/// that address may read it.
pub async fn open(State(state): State<AppState>) -> Result<Response, Error> {
    exposition(&state).await
}

async fn exposition(state: &AppState) -> Result<Response, Error> {
    let text = crate::monitoring::render(state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, TEXT_FORMAT),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}
