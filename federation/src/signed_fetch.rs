//! Who is asking: the verified signer of a GET, for objects only some servers may fetch.

use crate::{
    FederationError,
    context::FederationData,
    objects::actor::FederatedActor,
    signatures::{self, REQUIRED_FOR_GET},
};
use activitypub_federation::{config::Data, fetch::object_id::ObjectId};
use chrono::Utc;
use http::{HeaderMap, Method, Uri};

/// The actor whose signature a request carries, once verified; `None` for an unsigned
/// request. A signature that is present but does not verify is an error.
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
    let actor = ObjectId::<FederatedActor>::from(owner)
        .dereference(data)
        .await?;
    let max_age = signatures::MAX_SIGNATURE_AGE.to_std().unwrap_or_default();
    signatures::verify(
        method,
        uri,
        headers,
        &actor.public_key_pem,
        data.domain(),
        max_age,
    )?;
    Ok(Some(actor))
}
