//! The delivery side of the outbox: activities are queued in the transaction that caused them
//! (see `db::deliveries::enqueue`) and sent from here, signed afresh on every attempt.

use super::Context;
use crate::{
    Error,
    db::{
        actors,
        deliveries::{self, Form},
    },
};
use activitypub_federation::config::Data;
use chrono::{TimeDelta, Utc};
use futures::StreamExt;
use hearth_federation::{
    FederationData,
    delivery::{Outcome, deliver},
    objects::actor::FederatedActor,
};
use std::collections::{BTreeSet, HashMap};
use tokio::sync::broadcast::error::RecvError;
use url::Url;

/// How many receiving servers one pass claims, and sends to at once.
const PARALLEL_HOSTS: usize = 16;

/// After a pass that found nothing to send, the least time before the next: while every
/// server with deliveries waiting backs off, each write that queues more would otherwise set
/// off a pass of its own (a transaction through the writer that sends nothing).
const QUIET_PASS_GAP: std::time::Duration = std::time::Duration::from_millis(100);

/// How many of one server's deliveries are read at a time.
const PER_HOST_BATCH: i64 = 100;

/// How long Hearth keeps trying a delivery before giving up.
const GIVE_UP_AFTER: TimeDelta = TimeDelta::days(7);

/// After failing for this long without a success, a server is marked unreachable...
const UNREACHABLE_AFTER: TimeDelta = TimeDelta::days(2);

/// ...and from then on only probed (one delivery tried) this often, until one succeeds.
const PROBE_EVERY: TimeDelta = TimeDelta::hours(12);

/// How long a known server's software is trusted before NodeInfo is read again; an unknown
/// one is asked again sooner.
const SOFTWARE_KNOWN_FOR: TimeDelta = TimeDelta::days(7);
const SOFTWARE_UNKNOWN_FOR: TimeDelta = TimeDelta::hours(1);

/// Deliveries by `outcome`: `sent` (the receiver took it), `retry` (failed for now), `failed`
/// (refused for good), `dropped` (given up after [`GIVE_UP_AFTER`], or for a server the
/// federation policy now refuses). Each attempt counts once, per inbox.
pub const DELIVERIES: &str = "hearth_deliveries_total";

/// Counts `n` deliveries with `outcome` in [`DELIVERIES`].
fn count(outcome: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(DELIVERIES, "outcome" => outcome).increment(n);
    }
}

/// Delay before attempt `n + 1` to a failing server: 30 s doubling up to 6 h, with ±20%
/// jitter so that retries to a server that was down do not all arrive at once. With probes
/// every 12 h after 2 days and the 7-day limit, a delivery gets about 27 attempts.
fn backoff(failures: i32) -> TimeDelta {
    let base = 30i64
        .saturating_mul(1i64 << failures.clamp(0, 10))
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

/// Sends what is due; returns how many deliveries were attempted. Each claimed server gets its
/// deliveries in the order they were queued, several at once, but never an `Update` or a
/// `Delete` ahead of what came before it (see [`deliver_to_server`]); up to
/// [`PARALLEL_HOSTS`] servers are served at once. After a failure, the rest
/// of that server's deliveries wait with it (its backoff), and a server that has failed for
/// [`UNREACHABLE_AFTER`] is only probed every [`PROBE_EVERY`].
pub async fn deliver_due(ctx: &Context, data: &Data<FederationData>) -> Result<usize, Error> {
    if ctx.stopping.is_cancelled() {
        return Ok(0);
    }
    let lease = ctx.delivery_lease;
    let claimed = ctx
        .db
        .write_bookkeeping(move |conn| {
            Ok(deliveries::claim_servers(
                conn,
                PARALLEL_HOSTS as i64,
                lease,
            )?)
        })
        .await?;
    let attempted = futures::stream::iter(claimed)
        .map(|server| async move {
            let host = server.host.clone();
            let result = deliver_to_server(ctx, data, server).await;
            if let Err(e) = &result {
                tracing::error!(%host, error = ?e.to_string(), "recording a delivery failed");
                // Let the lease run out rather than hold the server: the next pass retries.
            }
            result.unwrap_or(0)
        })
        .buffer_unordered(PARALLEL_HOSTS)
        .fold(0, |sum, n| async move { sum + n })
        .await;
    Ok(attempted)
}

/// How many of a server's activities may be on their way to it at once (each its own request,
/// over the connections the client keeps open to that server). An activity that follows up
/// on an earlier one (see [`follows_up`]) goes alone, once everything before it has been
/// answered, so that no server reads an `Update` or a `Delete` before what it refers to.
pub const IN_FLIGHT_PER_SERVER: usize = 16;

/// Whether an activity changes or takes back something an earlier one made or said
/// (`Update`, `Delete`, `Undo`, a group's `Add` of a post to what it pins..., also inside a
/// group's `Announce`), and so must not overtake it. Read off the stored JSON: a `"type":"..."` written by the serializer, never one inside
/// a string (whose quotes are escaped), so a post's text cannot fake it.
fn follows_up(body: &str) -> bool {
    [
        "Update",
        "Delete",
        "Undo",
        "Add",
        "Remove",
        "Move",
        "Block",
        "Reject",
        "Tombstone",
    ]
    .iter()
    .any(|kind| body.contains(&format!("\"type\":\"{kind}\"")))
}

/// What became of one queued activity on a server.
enum Answered {
    /// Every inbox there answered: took it, or refused it for good.
    Done,
    /// Passed over unsent (given up, or in a form the server does not read).
    PassedOver,
    /// An inbox failed for now: the server waits, with this activity first.
    Retry(Option<std::time::Duration>, String),
}

/// Delivers a claimed server's queue until it is empty or an attempt fails; returns how many
/// were attempted. Up to [`IN_FLIGHT_PER_SERVER`] activities are sent at once; the server's
/// cursor moves past each one once it and all before it have been answered. The cursor is
/// stored as it moves, by one write at a time that takes all answered meanwhile (sending goes
/// on while it commits): a process killed in between sends again at most what was on its
/// way and what was answered during the last write, which receivers drop as repeats by id.
/// Activities in the form this server does not read, or queued longer than
/// [`GIVE_UP_AFTER`], are passed over.
async fn deliver_to_server(
    ctx: &Context,
    data: &Data<FederationData>,
    server: deliveries::ServerRow,
) -> Result<usize, Error> {
    let host = server.host.clone();
    if ctx.policy.refuses(&host) {
        return drop_refused(ctx, host).await;
    }
    let lease = ctx.delivery_lease;
    let give_up_before = (Utc::now() - GIVE_UP_AFTER).naive_utc();
    let mut cursor = server.delivered_up_to;
    let (mut read_up_to, mut read_all) = (cursor, false);
    let mut next = std::collections::VecDeque::new();
    let (mut attempted, mut given_up) = (0, 0);
    let mut wanted = None;
    let mut signers = HashMap::new();
    let mut in_flight: futures::stream::FuturesOrdered<
        futures::future::BoxFuture<'_, (i64, Answered)>,
    > = futures::stream::FuturesOrdered::new();
    let mut alone = false;
    // A server that has been failing gets one activity, its probe, until it answers again.
    let mut window = if server.failures > 0 {
        1
    } else {
        IN_FLIGHT_PER_SERVER
    };
    // The cursor as stored, or as it will be once the write being made commits.
    let mut recorded = cursor;
    let mut recording = futures::stream::FuturesUnordered::new();
    loop {
        while !alone && in_flight.len() < window && !ctx.stopping.is_cancelled() {
            if next.is_empty() && !read_all {
                let (h, after) = (host.clone(), read_up_to);
                let rows = ctx
                    .db
                    .run(move |conn| Ok(deliveries::queued_for(conn, &h, after, PER_HOST_BATCH)?))
                    .await?;
                read_all = (rows.len() as i64) < PER_HOST_BATCH;
                read_up_to = rows.last().map_or(read_up_to, |q| q.id);
                next.extend(rows);
            }
            let Some(queued) = next.front() else { break };
            if ctx.policy.refuses(&host) {
                // The policy changed during this pass (here or in another process).
                return drop_refused(ctx, host).await.map(|_| attempted);
            }
            let goes_alone = follows_up(&queued.body);
            if goes_alone && !in_flight.is_empty() {
                break;
            }
            let Some(queued) = next.pop_front() else {
                break;
            };
            let id = queued.id;
            let passed_over = |id| -> futures::future::BoxFuture<'static, (i64, Answered)> {
                Box::pin(async move { (id, Answered::PassedOver) })
            };
            if queued.created_at < give_up_before {
                given_up += 1;
                in_flight.push_back(passed_over(id));
                continue;
            }
            if wanted.is_none() {
                let inbox = queued.inboxes_on(&host).next().unwrap_or_default();
                wanted = Some(Form::read_by(
                    software(ctx, data, &server, inbox).await?.as_deref(),
                ));
            }
            let form = queued.form.as_deref();
            if wanted
                .flatten()
                .is_some_and(|w| form.is_some_and(|f| f != w.as_str()))
            {
                // The other form of a group's share: this server reads one only.
                in_flight.push_back(passed_over(id));
                continue;
            }
            let signer = signer(ctx, &mut signers, queued.signer_id).await?;
            let inboxes: Vec<String> = queued.inboxes_on(&host).map(str::to_owned).collect();
            attempted += inboxes.len();
            alone = goes_alone;
            in_flight.push_back(Box::pin(async move {
                (
                    id,
                    send(data, signer.as_deref(), &inboxes, queued.body).await,
                )
            }));
        }
        if in_flight.is_empty() && recording.is_empty() {
            break;
        }
        tokio::select! {
            Some((id, answered)) = futures::StreamExt::next(&mut in_flight), if !in_flight.is_empty() => {
                alone &= !in_flight.is_empty();
                if let Answered::Retry(after, error) = answered {
                    // What is still on its way is let go: the server gets it again after this
                    // one.
                    drop(in_flight);
                    while let Some(written) = futures::StreamExt::next(&mut recording).await {
                        written?;
                    }
                    let failure = failure(&server, after, error);
                    tracing::warn!(%host, error = ?failure.error, next = %failure.next_attempt_at, unreachable = failure.unreachable_since.is_some(), "delivery failed");
                    let (h, answered_up_to) = (host.clone(), (cursor > recorded).then_some(cursor));
                    ctx.db
                        .write_bookkeeping(move |conn| {
                            if let Some(up_to) = answered_up_to {
                                deliveries::delivered(conn, &h, up_to, lease)?;
                            }
                            Ok(deliveries::fail(conn, &h, cursor, &failure)?)
                        })
                        .await?;
                    log_given_up(&host, given_up);
                    return Ok(attempted);
                }
                if matches!(answered, Answered::Done) {
                    window = IN_FLIGHT_PER_SERVER;
                }
                cursor = id;
            }
            Some(written) = futures::StreamExt::next(&mut recording), if !recording.is_empty() => written?,
        }
        if recording.is_empty() && cursor > recorded {
            let (h, up_to) = (host.clone(), cursor);
            recording.push(
                ctx.db.write_bookkeeping(move |conn| {
                    Ok(deliveries::delivered(conn, &h, up_to, lease)?)
                }),
            );
            recorded = cursor;
        }
    }
    let answered_up_to = (cursor > recorded).then_some(cursor);
    ctx.db
        .write_bookkeeping(move |conn| {
            if let Some(up_to) = answered_up_to {
                deliveries::delivered(conn, &host, up_to, lease)?;
            }
            Ok(deliveries::release(conn, &host, cursor)?)
        })
        .await?;
    log_given_up(&server.host, given_up);
    Ok(attempted)
}

/// Signs and sends one activity to its inboxes on one server, one after another, until one
/// fails for now.
async fn send(
    data: &Data<FederationData>,
    signer: Option<&FederatedActor>,
    inboxes: &[String],
    body: String,
) -> Answered {
    for inbox in inboxes {
        let outcome = match (signer, Url::parse(inbox)) {
            (Some(signer), Ok(url)) => deliver(data, signer, &url, body.clone()).await,
            _ => Outcome::Refused("the signer is gone or the inbox is unreadable".into()),
        };
        match outcome {
            Outcome::Delivered => count("sent", 1),
            Outcome::Refused(reason) => {
                count("failed", 1);
                // The server answered: it is reachable, if unwilling.
                tracing::warn!(%inbox, ?reason, "delivery refused for good; not retried");
            }
            Outcome::Retry { after, error } => {
                count("retry", 1);
                return Answered::Retry(after, error);
            }
        }
    }
    Answered::Done
}

/// Drops what waits for a server the federation policy now refuses, and lets go of it.
async fn drop_refused(ctx: &Context, host: String) -> Result<usize, Error> {
    let dropped = ctx
        .db
        .write_bookkeeping(move |conn| {
            let dropped = deliveries::drop_host(conn, &host)?;
            deliveries::release(conn, &host, 0)?;
            Ok(dropped)
        })
        .await?;
    tracing::info!(
        dropped,
        "deliveries to a server the federation policy refuses dropped"
    );
    count("dropped", u64::try_from(dropped).unwrap_or(0));
    Ok(0)
}

fn log_given_up(host: &str, given_up: usize) {
    count("dropped", given_up as u64);
    if given_up > 0 {
        tracing::warn!(%host, given_up, "gave up activities queued over 7 days ago");
    }
}

/// The server's software, from storage or, when not known or old, from its NodeInfo.
async fn software(
    ctx: &Context,
    data: &Data<FederationData>,
    server: &deliveries::ServerRow,
    inbox: &str,
) -> Result<Option<String>, Error> {
    let fresh_for = if server.software.is_some() {
        SOFTWARE_KNOWN_FOR
    } else {
        SOFTWARE_UNKNOWN_FOR
    };
    let now = Utc::now().naive_utc();
    if server
        .software_checked_at
        .is_some_and(|at| now - at < fresh_for)
    {
        return Ok(server.software.clone());
    }
    let Ok(origin) = Url::parse(inbox) else {
        return Ok(None);
    };
    let found = match hearth_federation::software::software(data, &origin).await {
        Ok(name) => Some(name),
        Err(e) => {
            tracing::info!(host = %server.host, error = ?e.to_string(), "no NodeInfo; sending every form");
            None
        }
    };
    let (host, name) = (server.host.clone(), found.clone());
    ctx.db
        .write_bookkeeping(move |conn| Ok(deliveries::set_software(conn, &host, name.as_deref())?))
        .await?;
    Ok(found.or_else(|| server.software.clone()))
}

/// The actor whose key signs `signer_id`'s activities (`None`: gone), read once per pass.
async fn signer(
    ctx: &Context,
    signers: &mut HashMap<i64, Option<std::sync::Arc<FederatedActor>>>,
    signer_id: i64,
) -> Result<Option<std::sync::Arc<FederatedActor>>, Error> {
    if let Some(known) = signers.get(&signer_id) {
        return Ok(known.clone());
    }
    let signer = ctx
        .db
        .run(move |conn| Ok(actors::signer_by_id(conn, signer_id)?))
        .await?
        .map(|row| row.to_federated())
        .transpose()?
        .map(std::sync::Arc::new);
    signers.insert(signer_id, signer.clone());
    Ok(signer)
}

/// What a failed attempt means for the server: when to try again (its backoff, never sooner
/// than the receiver's `Retry-After`), and whether it is now unreachable.
fn failure(
    server: &deliveries::ServerRow,
    retry_after: Option<std::time::Duration>,
    error: String,
) -> deliveries::Failure {
    let now = Utc::now();
    let failing_since = server.failing_since.unwrap_or(now.naive_utc());
    let unreachable_since = server.unreachable_since.or_else(|| {
        (now.naive_utc() - failing_since >= UNREACHABLE_AFTER).then_some(now.naive_utc())
    });
    let wait = if unreachable_since.is_some() {
        PROBE_EVERY
    } else {
        backoff(server.failures)
    };
    let asked = retry_after
        .and_then(|d| TimeDelta::from_std(d).ok())
        .unwrap_or_default();
    deliveries::Failure {
        next_attempt_at: (now + wait.max(asked)).naive_utc(),
        failing_since,
        unreachable_since,
        error,
    }
}

/// Delivers in the background: a pass whenever something is queued, and every few seconds,
/// until the process stops ([`Context::stopping`]); then it returns once the activities being
/// sent have been answered and recorded, and their servers' queues let go.
pub async fn run_worker(
    ctx: Context,
    data: Data<FederationData>,
    wake: std::sync::Arc<tokio::sync::Notify>,
) {
    // What other processes queue (web processes, on PostgreSQL) wakes this one too.
    let mut queued = ctx.streams.subscribe().await;
    while !ctx.stopping.is_cancelled() {
        match deliver_due(&ctx, &data).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = ?e.to_string(), "delivery pass failed"),
        }
        let quiet_pass = tokio::time::Instant::now();
        let sleep = tokio::time::sleep(std::time::Duration::from_secs(5));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = wake.notified() => break,
                () = ctx.stopping.cancelled() => break,
                () = &mut sleep => break,
                event = queued.recv() => match event {
                    Ok(super::streaming::Event::Queued) | Err(RecvError::Lagged(_)) => break,
                    Ok(_) => {}
                    // The instance is stopping.
                    Err(RecvError::Closed) => break,
                },
            }
        }
        tokio::select! {
            () = tokio::time::sleep_until(quiet_pass + QUIET_PASS_GAP) => {}
            () = ctx.stopping.cancelled() => {}
        }
    }
}

/// The servers with deliveries waiting, longest queue first (admins).
pub async fn queues(
    ctx: &Context,
    by: &super::audit::Acting,
) -> Result<Vec<deliveries::HostQueue>, Error> {
    by.check(super::accounts::Role::may_administer)?;
    ctx.db.run(|conn| Ok(deliveries::queues(conn)?)).await
}

/// What an admin does to a server's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueAction {
    /// Make every waiting delivery due now.
    Retry,
    /// Drop every waiting delivery.
    Drop,
}

/// Retries or drops every delivery waiting for `host` (admins); how many. Recorded in the
/// audit log with the act.
pub async fn steer_queue(
    ctx: &Context,
    by: &super::audit::Acting,
    host: String,
    action: QueueAction,
) -> Result<i64, Error> {
    use super::audit::{self, Action, Entry, Target};
    by.check(super::accounts::Role::may_administer)?;
    let by = by.clone();
    ctx.write(move |conn, _| {
        let (n, logged) = match action {
            QueueAction::Retry => (
                deliveries::retry_host(conn, &host)?,
                Action::FederationRetry,
            ),
            QueueAction::Drop => (deliveries::drop_host(conn, &host)?, Action::FederationDrop),
        };
        audit::record(
            conn,
            &by,
            Entry::new(logged, Target::host(&deliveries::canonical(&host)))
                .detail(format!("{n} deliveries")),
        )?;
        Ok(n)
    })
    .await
}
