//! Who is asking: the verified signer of a GET, for objects only some servers may fetch.
//!
//! The signer is checked exactly as an inbox POST's sender is (see
//! [`crate::inbox::verified_sender`]): a known actor's stored key first; an unknown one is
//! fetched within the same per-server budget, and stored only once its signature verified. A
//! forged signature therefore stores nothing about the actor it names.

use crate::{
    FederationError,
    context::FederationData,
    inbox::verified_sender,
    objects::actor::FederatedActor,
    policy::Policy,
    protocol::authority,
    signatures::{self, REQUIRED_FOR_GET},
};
use activitypub_federation::config::Data;
use chrono::Utc;
use http::{HeaderMap, Method, Uri};

/// The actor whose signature a request carries, once verified; `None` for an unsigned
/// request. A signature that is present but does not verify is an error, and so is a spent
/// fetch budget ([`FederationError::TooManyRequests`]).
pub async fn signer(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    data: &Data<FederationData>,
) -> Result<Option<FederatedActor>, FederationError> {
    if !headers.contains_key("signature") {
        return Ok(None);
    }
    let header = signatures::check_header(headers, REQUIRED_FOR_GET, Utc::now())?;
    let owner = header
        .key_owner()
        .ok_or(FederationError::Unauthorized("unreadable keyId"))?;
    verified_sender(method, uri, headers, &owner, data)
        .await
        .map(Some)
}

/// Refuses a signed request from a server the federation policy refuses, by the key id it
/// claims, before its signature is checked or its key fetched. A request that names no
/// refused server passes on, to be verified where its signer matters.
pub fn check_policy(headers: &HeaderMap, policy: &Policy) -> Result<(), FederationError> {
    match signatures::claimed_signer(headers).map(|signer| authority(&signer)) {
        Some(host) if policy.refuses(&host) => Err(FederationError::Refused(format!(
            "federation with {host} is not allowed by this instance's policy"
        ))),
        _ => Ok(()),
    }
}
