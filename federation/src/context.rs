//! Building the `activitypub_federation` configuration for one Hearth instance.

use crate::{
    FederationError,
    client::{REQUEST_TIMEOUT, build_client},
    objects::actor::FederatedActor,
    policy::SharedPolicy,
    port::Port,
    resolver::{AddressPolicy, Lookup},
};
use activitypub_federation::config::FederationConfig;
use ipnet::IpNet;
use reqwest_middleware::ClientWithMiddleware;
use std::{fmt, ops::Deref, sync::Arc};

/// The application data every federation handler sees: the product's [`Port`], and the
/// outgoing HTTP client with its address policy.
#[derive(Clone)]
pub struct FederationData {
    port: Arc<dyn Port>,
    client: ClientWithMiddleware,
    plain_http: bool,
    key_fetches: Arc<crate::key_fetch::KeyFetchBudget>,
    signing_keys: Arc<crate::delivery::SigningKeys>,
    policy: SharedPolicy,
}

impl FederationData {
    /// Wraps the product's port, the outgoing client and the federation policy in force.
    pub fn new(
        port: Arc<dyn Port>,
        client: ClientWithMiddleware,
        plain_http: bool,
        policy: SharedPolicy,
    ) -> Self {
        Self {
            port,
            client,
            plain_http,
            key_fetches: Arc::default(),
            signing_keys: Arc::default(),
            policy,
        }
    }

    /// The admin's federation policy in force.
    pub fn policy(&self) -> &SharedPolicy {
        &self.policy
    }

    /// Private keys parsed for signing deliveries.
    pub fn signing_keys(&self) -> &crate::delivery::SigningKeys {
        &self.signing_keys
    }

    /// The outgoing HTTP client (address guard, timeouts, no proxies).
    pub fn client(&self) -> &ClientWithMiddleware {
        &self.client
    }

    /// The bound on key fetches caused by incoming requests.
    pub fn key_fetches(&self) -> &crate::key_fetch::KeyFetchBudget {
        &self.key_fetches
    }

    /// Whether federation runs over plain http, as it does on a closed network (tests,
    /// development, a private network of clinics trying federation).
    pub fn plain_http(&self) -> bool {
        self.plain_http
    }
}

impl Deref for FederationData {
    type Target = dyn Port;
    fn deref(&self) -> &Self::Target {
        self.port.as_ref()
    }
}

impl fmt::Debug for FederationData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FederationData")
    }
}

/// How this instance federates.
#[derive(Clone, Debug)]
pub struct FederationSettings {
    /// Public host of this instance, with `:port` where it is not the scheme's default.
    pub domain: String,
    /// A closed network to federate on (loopback in tests and development, a private network
    /// where clinics try federation): plain http, explicit ports, and outgoing connections only
    /// to addresses inside these networks. Empty in production, where https is required and
    /// only public addresses are reached.
    pub closed_network: Vec<IpNet>,
    /// How host names are looked up (the system resolver outside tests).
    pub lookup: Arc<dyn Lookup>,
    /// The `User-Agent` of outgoing requests.
    pub user_agent: String,
    /// The admin's federation policy, kept current by the product.
    pub policy: SharedPolicy,
}

impl FederationSettings {
    /// The address policy these settings imply.
    pub fn address_policy(&self) -> AddressPolicy {
        if self.closed_network.is_empty() {
            AddressPolicy::PublicOnly
        } else {
            AddressPolicy::Within(self.closed_network.clone().into())
        }
    }

    /// Whether federation runs over plain http (on a closed network only).
    pub fn plain_http(&self) -> bool {
        !self.closed_network.is_empty()
    }
}

/// Builds the federation configuration. Every outgoing GET is signed by `instance_actor`
/// (GoToSocial and Mastodon in secure mode refuse unsigned fetches), in the draft-cavage form
/// without `(created)` that Mastodon, Pleroma and GoToSocial all accept.
pub async fn build_config(
    settings: &FederationSettings,
    port: Arc<dyn Port>,
    instance_actor: &FederatedActor,
) -> Result<FederationConfig<FederationData>, FederationError> {
    if instance_actor.private_key.is_none() {
        return Err(FederationError::Key(
            "the instance actor has no private key".into(),
        ));
    }
    let client = build_client(
        settings.address_policy(),
        settings.lookup.clone(),
        &settings.user_agent,
        settings.policy.clone(),
    )?;
    FederationConfig::builder()
        .domain(settings.domain.clone())
        .app_data(FederationData::new(
            port,
            client.clone(),
            settings.plain_http(),
            settings.policy.clone(),
        ))
        .client(client)
        // `debug` lets URLs use http and explicit ports; the address guard in the client's
        // resolver still confines a closed network's federation to that network.
        .debug(settings.plain_http())
        .allow_http_urls(settings.plain_http())
        .http_signature_compat(true)
        .request_timeout(REQUEST_TIMEOUT)
        .signed_fetch_actor(instance_actor)
        .build()
        .await
        .map_err(|e| FederationError::Internal(format!("federation config: {e}")))
}
