//! The one HTTP client Hearth uses to talk to other servers.

use crate::{
    FederationError,
    policy::{PolicyGuard, SharedPolicy},
    resolver::{AddressPolicy, GuardedResolver, Lookup},
};
use reqwest::redirect::Policy;
use reqwest_middleware::ClientWithMiddleware;
use std::{sync::Arc, time::Duration};

/// Timeout of every outgoing request, connect included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the outgoing client: no automatic redirects (the federation crate follows one and
/// checks it), no proxies from the environment, timeouts, the address guard in its resolver,
/// and the admin's federation policy in front of every request.
pub fn build_client(
    policy: AddressPolicy,
    lookup: Arc<dyn Lookup>,
    user_agent: &str,
    federation_policy: SharedPolicy,
) -> Result<ClientWithMiddleware, FederationError> {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        .user_agent(user_agent)
        .dns_resolver(Arc::new(GuardedResolver::new(policy, lookup)))
        .build()
        .map_err(|e| FederationError::Internal(format!("building the HTTP client: {e}")))?;
    Ok(reqwest_middleware::ClientBuilder::new(client)
        .with(PolicyGuard(federation_policy))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::StaticLookup;
    use std::{collections::HashMap, error::Error as _};
    use tokio::net::TcpListener;

    /// A name mapped to a private address is refused by the resolver: the listener that stands
    /// in for the internal service never sees a connection.
    #[tokio::test]
    async fn a_private_address_is_refused_before_any_connection() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let table = StaticLookup(HashMap::from([(
            "internal.example".to_owned(),
            vec!["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))],
        )]));
        let client = build_client(
            AddressPolicy::PublicOnly,
            Arc::new(table),
            "test",
            SharedPolicy::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));

        let result = client
            .get(format!("http://internal.example:{port}/"))
            .send()
            .await;

        let err = result
            .err()
            .unwrap_or_else(|| panic!("the request must fail"));
        let mut source = err.source();
        let mut refused = false;
        while let Some(cause) = source {
            refused |= cause.to_string().contains("address policy forbids");
            source = cause.source();
        }
        assert!(refused, "unexpected error: {err:?}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept())
            .await
            .is_ok();
        assert!(!accepted, "a connection reached the internal address");
    }
}
