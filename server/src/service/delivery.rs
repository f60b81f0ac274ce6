//! The delivery side of the outbox: activities are queued in the transaction that caused them
//! (see `db::deliveries::enqueue`) and sent from here, signed afresh on every attempt.

use super::Context;
use crate::{
    Error,
    db::{actors, deliveries},
};
use activitypub_federation::config::Data;
use chrono::{TimeDelta, Utc};
use hearth_federation::FederationData;
use std::collections::BTreeSet;
use url::Url;

/// How many deliveries one pass takes on.
const BATCH: i64 = 100;

/// Delay before attempt `n + 1`: 30 s doubling up to a day.
fn backoff(attempts: i32) -> TimeDelta {
    let seconds = 30i64.saturating_mul(1i64 << attempts.clamp(0, 12));
    TimeDelta::seconds(seconds.min(86_400))
}

/// The inboxes to deliver to for these actors: one per server where a shared inbox is known.
pub fn inboxes(actors: &[actors::ActorRow]) -> Vec<String> {
    let set: BTreeSet<String> = actors
        .iter()
        .filter(|a| !a.local)
        .map(|a| a.shared_inbox.clone().unwrap_or_else(|| a.inbox.clone()))
        .collect();
    set.into_iter().collect()
}

/// Sends every delivery that is due; returns how many were attempted.
pub async fn deliver_due(ctx: &Context, data: &Data<FederationData>) -> Result<usize, Error> {
    let due = ctx.db.run(|conn| Ok(deliveries::due(conn, BATCH)?)).await?;
    let attempted = due.len();
    for delivery in due {
        let signer_id = delivery.signer_id;
        let signer = ctx
            .db
            .run(move |conn| Ok(actors::by_id(conn, signer_id)?))
            .await?;
        let outcome = match (
            signer,
            Url::parse(&delivery.inbox),
            serde_json::from_str(&delivery.body),
        ) {
            (Some(signer), Ok(inbox), Ok(body)) => {
                hearth_federation::delivery::deliver(data, &signer.to_federated()?, &inbox, body)
                    .await
                    .map_err(|e| e.to_string())
            }
            // Nothing to retry: the signer is gone or the row is unreadable.
            _ => Ok(()),
        };
        let id = delivery.id;
        match outcome {
            Ok(()) => {
                ctx.db
                    .run(move |conn| Ok(deliveries::finish(conn, id)?))
                    .await?
            }
            Err(error) => {
                tracing::warn!(inbox = %delivery.inbox, attempts = delivery.attempts + 1, %error, "delivery failed");
                let at = (Utc::now() + backoff(delivery.attempts)).naive_utc();
                ctx.db
                    .run(move |conn| Ok(deliveries::retry_at(conn, id, at, &error)?))
                    .await?;
            }
        }
    }
    Ok(attempted)
}

/// Delivers in the background: a pass whenever something is queued, and every few seconds.
pub async fn run_worker(
    ctx: Context,
    data: Data<FederationData>,
    wake: std::sync::Arc<tokio::sync::Notify>,
) {
    loop {
        match deliver_due(&ctx, &data).await {
            Ok(n) if n as i64 >= BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "delivery pass failed"),
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
    }
}
