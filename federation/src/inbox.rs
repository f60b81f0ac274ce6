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
    protocol::{actor::ActorObject, authority, same_origin},
    signatures::{self, REQUIRED_FOR_POST},
};
use activitypub_federation::{config::Data, fetch::fetch_object_http, traits::Object};
use axum::{body::Body, extract::Request};
use chrono::Utc;
use http::{StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use url::Url;

/// Largest activity body accepted: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Verifies and handles one inbox POST, answering 202 when the activity is accepted.
pub async fn receive(
    data: Data<FederationData>,
    request: Request,
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
    let activity: InboxActivity = serde_json::from_value(value.clone())
        .map_err(|e| FederationError::Malformed(format!("not an activity: {e}")))?;
    check_ids(&activity, &data)?;

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
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(FederationError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }),
        Err(err) => Err(FederationError::Malformed(format!(
            "reading the body: {err}"
        ))),
    }
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
    if !data.key_fetches().allow(&authority(actor_id)) {
        return Err(FederationError::TooManyRequests);
    }
    let fetched = fetch_actor(actor_id, data).await?;
    check(&fetched)?;
    data.save_remote_actor(fetched).await
}

/// Fetches an actor document (signed by the instance actor) without storing it.
async fn fetch_actor(
    actor_id: &Url,
    data: &Data<FederationData>,
) -> Result<FederatedActor, FederationError> {
    let response = fetch_object_http::<_, ActorObject>(actor_id, data).await?;
    FederatedActor::verify(&response.object, &response.url, data).await?;
    if response.object.id != *actor_id {
        return Err(FederationError::Unauthorized(
            "the fetched actor has another id",
        ));
    }
    Ok(FederatedActor::from_remote_object(response.object))
}
