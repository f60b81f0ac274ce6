//! The delivery side of the outbox: activities are queued in the transaction that caused them
//! (see `db::deliveries::enqueue`) and sent from here, signed afresh on every attempt.

use super::Context;
use crate::{
    Error,
    db::{actors, deliveries},
};
use activitypub_federation::config::Data;
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use hearth_federation::{
    FederationData,
    delivery::{Outcome, deliver},
};
use std::collections::{BTreeMap, BTreeSet};
use url::Url;

/// How many deliveries one pass claims.
const BATCH: i64 = 200;

/// How many receiving servers are sent to at once; one request at a time per server.
const PARALLEL_HOSTS: usize = 16;

/// How long a claimed delivery is reserved for the pass that claimed it. A process that dies
/// mid-pass leaves its claims to be retried after this.
const LEASE: TimeDelta = TimeDelta::minutes(5);

/// How long Hearth keeps trying a delivery before giving up.
const GIVE_UP_AFTER: TimeDelta = TimeDelta::days(7);

/// Delay before attempt `n + 1`: 30 s doubling up to 6 h, with ±20% jitter so that retries to a
/// server that was down do not all arrive at once.
fn backoff(attempts: i32) -> TimeDelta {
    let base = 30i64
        .saturating_mul(1i64 << attempts.clamp(0, 10))
        .min(6 * 3600);
    let jitter = (rand::random::<f64>() * 0.4 - 0.2) * base as f64;
    TimeDelta::seconds(base + jitter as i64)
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

/// Sends every delivery that is due; returns how many were attempted. Deliveries to one
/// server go one after another, in the order they were queued (a `Create` before its
/// `Update`); up to [`PARALLEL_HOSTS`] servers are served at once. After a failure, the rest
/// of that server's deliveries wait with it.
pub async fn deliver_due(ctx: &Context, data: &Data<FederationData>) -> Result<usize, Error> {
    let claimed = ctx
        .db
        .run(|conn| Ok(deliveries::claim(conn, BATCH, LEASE)?))
        .await?;
    let attempted = claimed.len();
    let mut by_host: BTreeMap<String, Vec<deliveries::DeliveryRow>> = BTreeMap::new();
    for row in claimed {
        let host = Url::parse(&row.inbox)
            .map(|u| hearth_federation::protocol::authority(&u))
            .unwrap_or_default();
        by_host.entry(host).or_default().push(row);
    }
    futures::stream::iter(by_host.into_values())
        .for_each_concurrent(PARALLEL_HOSTS, |rows| async move {
            if let Err(e) = deliver_to_host(ctx, data, rows).await {
                tracing::error!(error = %e, "recording a delivery failed");
            }
        })
        .await;
    Ok(attempted)
}

async fn deliver_to_host(
    ctx: &Context,
    data: &Data<FederationData>,
    rows: Vec<deliveries::DeliveryRow>,
) -> Result<(), Error> {
    let mut failed: Option<(chrono::NaiveDateTime, String)> = None;
    for delivery in rows {
        let id = delivery.id;
        if let Some((at, error)) = failed.clone() {
            // Keep this server's order: wait with the delivery that failed before it.
            ctx.db
                .run(move |conn| Ok(deliveries::postpone(conn, id, at, &error)?))
                .await?;
            continue;
        }
        let signer_id = delivery.signer_id;
        let signer = ctx
            .db
            .run(move |conn| Ok(actors::by_id(conn, signer_id)?))
            .await?;
        let outcome = match (signer, Url::parse(&delivery.inbox)) {
            (Some(signer), Ok(inbox)) => {
                deliver(data, &signer.to_federated()?, &inbox, delivery.body.clone()).await
            }
            _ => Outcome::Refused("the signer is gone or the inbox is unreadable".into()),
        };
        let expired = Utc::now().naive_utc() - delivery.created_at > GIVE_UP_AFTER;
        match outcome {
            Outcome::Delivered => {
                ctx.db
                    .run(move |conn| Ok(deliveries::finish(conn, id)?))
                    .await?
            }
            Outcome::Refused(reason) => {
                tracing::warn!(inbox = %delivery.inbox, %reason, "delivery refused for good; not retried");
                ctx.db
                    .run(move |conn| Ok(deliveries::finish(conn, id)?))
                    .await?;
            }
            Outcome::Retry { error, .. } if expired => {
                tracing::warn!(inbox = %delivery.inbox, attempts = delivery.attempts + 1, %error, "giving up a delivery after 7 days");
                ctx.db
                    .run(move |conn| Ok(deliveries::finish(conn, id)?))
                    .await?;
            }
            Outcome::Retry { after, error } => {
                tracing::warn!(inbox = %delivery.inbox, attempts = delivery.attempts + 1, %error, "delivery failed");
                // The receiver's Retry-After, if longer than our own backoff, is honoured.
                let asked = after
                    .and_then(|d| TimeDelta::from_std(d).ok())
                    .unwrap_or_default();
                let at = (Utc::now() + backoff(delivery.attempts).max(asked)).naive_utc();
                let message = error.clone();
                ctx.db
                    .run(move |conn| Ok(deliveries::retry_at(conn, id, at, &message)?))
                    .await?;
                failed = Some((at, error));
            }
        }
    }
    Ok(())
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
