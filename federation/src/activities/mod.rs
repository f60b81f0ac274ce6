//! Incoming activities: `verify` checks (never writes), `receive` acts.

use crate::{FederationError, context::FederationData};
use activitypub_federation::{config::Data, traits::Activity};
use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

/// Any activity with a well-formed `id` and `actor`. Types Hearth does not act on yet are
/// acknowledged and dropped, so that peers do not retry them forever.
#[derive(Clone, Debug, Deserialize)]
pub struct InboxActivity {
    /// The activity's id; its host must be the actor's.
    pub id: Url,
    /// Who sent it; the HTTP signature must be this actor's.
    pub actor: Url,
    /// `Follow`, `Create`, ...
    #[serde(rename = "type")]
    pub kind: String,
}

#[async_trait]
impl Activity for InboxActivity {
    type DataType = FederationData;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<Self::DataType>) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn receive(self, _data: &Data<Self::DataType>) -> Result<(), Self::Error> {
        tracing::info!(id = %self.id, kind = %self.kind, "ignoring an activity Hearth does not handle yet");
        Ok(())
    }
}
