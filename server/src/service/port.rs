//! The product's side of the federation port: storage for what the protocol needs.

use crate::{
    Error,
    db::{Database, actors},
};
use async_trait::async_trait;
use hearth_federation::{FederationError, objects::actor::FederatedActor, port::Port};
use url::Url;

/// Implements the federation crate's [`Port`] over the database.
#[derive(Clone, Debug)]
pub struct StoragePort {
    db: Database,
}

impl StoragePort {
    /// A port over `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn internal(e: Error) -> FederationError {
    FederationError::Internal(e.to_string())
}

#[async_trait]
impl Port for StoragePort {
    async fn actor_by_id(&self, id: &Url) -> Result<Option<FederatedActor>, FederationError> {
        let id = id.to_string();
        self.db
            .run(move |conn| {
                actors::by_ap_id(conn, &id)?
                    .map(|row| row.to_federated())
                    .transpose()
            })
            .await
            .map_err(internal)
    }

    async fn save_remote_actor(
        &self,
        actor: FederatedActor,
    ) -> Result<FederatedActor, FederationError> {
        self.db
            .run(move |conn| actors::upsert_remote(conn, &actor)?.to_federated())
            .await
            .map_err(internal)
    }
}
