//! What the federation side needs from the product, as one small trait the server implements.

use crate::{
    FederationError, activities::Incoming, context::FederationData, objects::actor::FederatedActor,
};
use activitypub_federation::config::Data;
use async_trait::async_trait;
use url::Url;

/// Storage and rules, seen from the protocol side.
#[async_trait]
pub trait Port: Send + Sync + 'static {
    /// The actor (local or already known remote) with this ActivityPub id.
    async fn actor_by_id(&self, id: &Url) -> Result<Option<FederatedActor>, FederationError>;

    /// Stores a remote actor just fetched, replacing what was known of it, and returns it.
    async fn save_remote_actor(
        &self,
        actor: FederatedActor,
    ) -> Result<FederatedActor, FederationError>;

    /// Acts on an incoming activity whose signature has verified. `data` lets the product
    /// fetch what it needs (authors, parents of replies).
    async fn receive(
        &self,
        data: &Data<FederationData>,
        sender: FederatedActor,
        activity_id: Url,
        activity: Incoming,
    ) -> Result<(), FederationError>;
}
