//! RSA key pairs of actors, with the private half kept out of logs.

use crate::FederationError;
use std::fmt;

/// A PEM-encoded private key. Its `Debug` output is redacted so that it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(String);

impl PrivateKeyPem {
    /// Wraps a PEM string read from storage.
    pub fn new(pem: String) -> Self {
        Self(pem)
    }

    /// The PEM text, for signing or storing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem([redacted])")
    }
}

/// An actor's key pair: the public half is published, the private half signs requests.
#[derive(Clone, Debug)]
pub struct KeyPair {
    /// SPKI PEM of the public key.
    pub public_pem: String,
    /// PKCS#8 PEM of the private key.
    pub private_pem: PrivateKeyPem,
}

impl KeyPair {
    /// Generates a fresh 2048-bit RSA key pair (slow: tens to hundreds of milliseconds).
    pub fn generate() -> Result<Self, FederationError> {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair()
            .map_err(|e| FederationError::Key(e.to_string()))?;
        Ok(Self {
            public_pem: pair.public_key,
            private_pem: PrivateKeyPem(pair.private_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_private_key() {
        let key = PrivateKeyPem::new("-----BEGIN PRIVATE KEY-----\nsecret".into());
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
