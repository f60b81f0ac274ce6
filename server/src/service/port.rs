//! The product's side of the federation port: storage and rules for what the protocol needs.

use super::Context;
use crate::Error;
use activitypub_federation::config::Data;
use async_trait::async_trait;
use hearth_federation::{
    FederationData, FederationError, activities::Incoming, objects::actor::FederatedActor,
    port::Port,
};
use url::Url;

/// Implements the federation crate's [`Port`] over the services.
#[derive(Clone, Debug)]
pub struct StoragePort {
    ctx: Context,
}

impl StoragePort {
    /// A port over `ctx`.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

/// Product errors as the federation side reports them to peers.
fn to_federation(e: Error) -> FederationError {
    match e {
        Error::Federation(inner) => inner,
        Error::Forbidden(message) => FederationError::Refused(message),
        Error::NotFound(_) => FederationError::NotFound,
        Error::Unprocessable(message) | Error::BadRequest(message) => {
            FederationError::Malformed(message)
        }
        other => FederationError::Internal(other.to_string()),
    }
}

#[async_trait]
impl Port for StoragePort {
    async fn actor_by_id(&self, id: &Url) -> Result<Option<FederatedActor>, FederationError> {
        let row = self
            .ctx
            .db
            .actor_by_ap_id(id.as_str())
            .await
            .map_err(to_federation)?;
        if let Some(row) = &row {
            super::inbox::read_in_request(row);
        }
        row.map(|row| row.to_federated())
            .transpose()
            .map_err(to_federation)
    }

    async fn save_remote_actor(
        &self,
        actor: FederatedActor,
    ) -> Result<FederatedActor, FederationError> {
        let row = self
            .ctx
            .db
            .run({
                let ctx = self.ctx.clone();
                move |conn| super::clinicians::store_remote(conn, &ctx, &actor)
            })
            .await
            .map_err(to_federation)?;
        super::inbox::read_in_request(&row);
        row.to_federated().map_err(to_federation)
    }

    async fn receive(
        &self,
        data: &Data<FederationData>,
        sender: FederatedActor,
        activity_id: Url,
        activity: Incoming,
    ) -> Result<(), FederationError> {
        super::inbox::receive(&self.ctx, data, sender, activity_id, activity)
            .await
            .map_err(to_federation)
    }
}
