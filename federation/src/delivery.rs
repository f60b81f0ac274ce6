//! Signing and sending one activity to one inbox.

use crate::{
    FederationError, activities::OutgoingActivity, context::FederationData,
    objects::actor::FederatedActor,
};
use activitypub_federation::{activity_sending::SendActivityTask, config::Data};
use url::Url;

/// Signs `body` with `signer`'s key and POSTs it to `inbox`. `Ok` means the receiver took it
/// (2xx) or refused it for good (4xx other than 408 and 429), so that it must not be retried.
pub async fn deliver(
    data: &Data<FederationData>,
    signer: &FederatedActor,
    inbox: &Url,
    body: serde_json::Value,
) -> Result<(), FederationError> {
    let activity = OutgoingActivity::new(body)?;
    let tasks = SendActivityTask::prepare(&activity, signer, vec![inbox.clone()], data).await?;
    for task in tasks {
        task.sign_and_send(data).await?;
    }
    Ok(())
}
