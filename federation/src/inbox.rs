//! The verifying inbox.
//!
//! Everything that can be judged from the request alone (size, shape and freshness of the
//! signature, digest, well-formed ids) is judged before the sender's key is fetched, so that
//! unsigned or stale requests cause no outbound traffic. A sender fetched for the first time is
//! stored only once its signature has verified: a rejected request writes nothing.

use crate::{
    FederationError,
    activities::{self, InboxActivity},
    context::FederationData,
    objects::actor::FederatedActor,
    protocol::{authority, same_origin},
    signatures::{self, REQUIRED_FOR_POST},
};
use activitypub_federation::config::Data;
use axum::{body::Body, extract::Request};
use chrono::Utc;
use http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use url::Url;

/// Largest activity body accepted: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long the whole body may take to arrive once the headers are in: a body that trickles
/// in slower than this is cut off (a slow-drip request would otherwise hold a connection and
/// its buffer for as long as the sender likes).
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Most addressees (`to`, `cc`, `bto`, `bcc`, `audience`) and tags an activity and its object
/// may name together. Each is looked up; real posts name a handful (followers are addressed
/// as one collection).
pub const MAX_ADDRESSEES: usize = 1_000;

/// Activities posted to the inboxes, by `type` (see [`type_label`]) and `outcome`: `accepted`,
/// `refused` (the sender's fault: 4xx) or `error` (ours: 5xx). Counted through the `metrics`
/// facade, which does nothing unless the product installed a recorder.
pub const INBOX_ACTIVITIES: &str = "hearth_inbox_activities_total";

/// Activity types counted by name; any other is counted as `other`, so that a sender cannot
/// make up new series.
const COUNTED_TYPES: &[&str] = &[
    "Accept",
    "Add",
    "Announce",
    "Block",
    "Create",
    "Delete",
    "Dislike",
    "EmojiReact",
    "Flag",
    "Follow",
    "Like",
    "Move",
    "Reject",
    "Remove",
    "Undo",
    "Update",
];

/// An activity type as a metric label: one of a fixed set, or `other`.
pub fn type_label(kind: &str) -> &'static str {
    COUNTED_TYPES
        .iter()
        .find(|&&known| known == kind)
        .copied()
        .unwrap_or("other")
}

/// Verifies and handles one inbox POST, answering 202 when the activity is accepted. Counts
/// it in [`INBOX_ACTIVITIES`].
pub async fn receive(
    data: Data<FederationData>,
    request: Request,
) -> Result<StatusCode, FederationError> {
    let mut kind = "other";
    let result = verify_and_receive(data, request, &mut kind).await;
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(e) if e.status().is_server_error() => "error",
        Err(_) => "refused",
    };
    metrics::counter!(INBOX_ACTIVITIES, "type" => kind, "outcome" => outcome).increment(1);
    result
}

/// [`receive`], telling `kind` the activity's type label once the body is read.
async fn verify_and_receive(
    data: Data<FederationData>,
    request: Request,
    kind: &mut &'static str,
) -> Result<StatusCode, FederationError> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(FederationError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    signatures::check_header(&parts.headers, REQUIRED_FOR_POST, Utc::now())?;
    let body = read_limited(body).await?;
    signatures::verify_digest(&parts.headers, &body)?;

    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| FederationError::Malformed(format!("not JSON: {e}")))?;
    let activity = <InboxActivity as serde::Deserialize>::deserialize(&value)
        .map_err(|e| FederationError::Malformed(format!("not an activity: {e}")))?;
    *kind = type_label(&activity.kind);
    check_ids(&activity, &data)?;
    check_fan_out(&value)?;
    if activity.kind == "Delete"
        && deletes_itself(&value, &activity.actor)
        && data.actor_by_id(&activity.actor).await?.is_none()
    {
        // An actor unknown here that deleted itself: nothing is held of it, and its key
        // could only be fetched from a server that now answers that it is gone (Mastodon
        // answers these without a look, too).
        tracing::debug!(actor = %activity.actor, "the deletion of an actor unknown here");
        return Ok(StatusCode::ACCEPTED);
    }

    let actor = verified_sender(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &activity.actor,
        &data,
    )
    .await?;
    tracing::debug!(activity = %activity.id, actor = %actor.ap_id, "signature verified");
    let incoming = activities::read(&value, &activity, &actor, &data).await?;
    data.receive(&data, actor, activity.id, incoming).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn read_limited(body: Body) -> Result<bytes::Bytes, FederationError> {
    let collected =
        tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect())
            .await
            .map_err(|_| FederationError::Timeout {
                seconds: BODY_TIMEOUT.as_secs(),
            })?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(FederationError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }),
        Err(err) => Err(FederationError::Malformed(format!(
            "reading the body: {err}"
        ))),
    }
}

/// Whether `activity` (a `Delete`) deletes its own actor.
fn deletes_itself(activity: &serde_json::Value, actor: &Url) -> bool {
    let object = &activity["object"];
    object
        .as_str()
        .or_else(|| object["id"].as_str())
        .is_some_and(|id| id == actor.as_str())
}

/// Refuses an activity that names more addressees and tags than any real one does, before
/// anything is looked up for them.
fn check_fan_out(activity: &serde_json::Value) -> Result<(), FederationError> {
    fn named(value: &serde_json::Value) -> usize {
        ["to", "cc", "bto", "bcc", "audience", "tag"]
            .iter()
            .filter_map(|field| value.get(field))
            .map(|v| v.as_array().map_or(1, Vec::len))
            .sum()
    }
    let mut total = named(activity);
    let mut object = activity.get("object");
    // The object, and the object of an announced activity.
    for _ in 0..2 {
        let Some(inner) = object else { break };
        total += named(inner);
        object = inner.get("object");
    }
    if total > MAX_ADDRESSEES {
        return Err(FederationError::Malformed(format!(
            "the activity names {total} addressees and tags; at most {MAX_ADDRESSEES} are accepted"
        )));
    }
    Ok(())
}

/// The activity must come from the actor's own server, and not pretend to be local.
fn check_ids(activity: &InboxActivity, data: &Data<FederationData>) -> Result<(), FederationError> {
    if !same_origin(&activity.id, &activity.actor) {
        return Err(FederationError::Malformed(
            "the activity id is not on the actor's host".into(),
        ));
    }
    if authority(&activity.actor) == data.domain().to_ascii_lowercase() {
        return Err(FederationError::Unauthorized(
            "a remote request claims a local actor",
        ));
    }
    Ok(())
}

/// Returns the sender once the request's signature verifies with its key. A known sender whose
/// key fails is fetched once more, in case it rotated its key. A sender fetched for the first
/// time is stored only after its signature verified.
pub(crate) async fn verified_sender(
    method: &http::Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    actor_id: &Url,
    data: &Data<FederationData>,
) -> Result<FederatedActor, FederationError> {
    let host = authority(actor_id);
    if data.policy().refuses(&host) {
        return Err(FederationError::Refused(format!(
            "federation with {host} is not allowed by this instance's policy"
        )));
    }
    let check = |actor: &FederatedActor| {
        signatures::verify(
            method,
            uri,
            headers,
            &actor.public_key_pem,
            data.domain(),
            signatures::MAX_SIGNATURE_AGE.to_std().unwrap_or_default(),
        )
    };
    if let Some(known) = data.actor_by_id(actor_id).await?
        && check(&known).is_ok()
    {
        return Ok(known);
    }
    if authority(actor_id) == data.domain().to_ascii_lowercase() {
        // A local actor's key is the one stored here: there is nothing to fetch.
        return Err(FederationError::Unauthorized(
            "the signature does not verify",
        ));
    }
    if !data.key_fetches().allow(&authority(actor_id)) {
        return Err(FederationError::TooManyRequests);
    }
    let fetched = fetch_actor(actor_id, data).await?;
    check(&fetched)?;
    data.save_remote_actor(fetched).await
}

/// Fetches an actor document (signed by the instance actor) without storing it; it must be
/// the actor asked for.
async fn fetch_actor(
    actor_id: &Url,
    data: &Data<FederationData>,
) -> Result<FederatedActor, FederationError> {
    let actor = crate::objects::actor::fetch_remote(actor_id, data).await?;
    if actor.ap_id != *actor_id {
        return Err(FederationError::Unauthorized(
            "the fetched actor has another id",
        ));
    }
    Ok(actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_types_are_counted_from_a_fixed_set() {
        assert_eq!(type_label("Follow"), "Follow");
        assert_eq!(type_label("Create"), "Create");
        assert_eq!(type_label("follow"), "other");
        assert_eq!(type_label("Made-up type with spaces"), "other");
    }
}
