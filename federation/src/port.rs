//! What the federation side needs from the product, as one small trait the server implements.

use crate::{FederationError, objects::actor::FederatedActor};
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
}
