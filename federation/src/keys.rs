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
    /// Generates a fresh 2048-bit RSA key pair, as PKCS#8 and SPKI PEM. AWS-LC (which also
    /// signs deliveries) generates keys several times faster than the pure-Rust `rsa` crate,
    /// which made a new instance's first start and every new account slow.
    pub fn generate() -> Result<Self, FederationError> {
        use aws_lc_rs::{
            encoding::AsDer,
            rsa::{KeyPair as RsaKeyPair, KeySize},
            signature::KeyPair as _,
        };
        use rsa::pkcs8::{Document, LineEnding, SecretDocument};
        let failed = |e: &dyn fmt::Display| FederationError::Key(format!("key generation: {e}"));
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| failed(&e))?;
        let private_der = pair.as_der().map_err(|e| failed(&e))?;
        let public_der = pair.public_key().as_der().map_err(|e| failed(&e))?;
        let private_pem = SecretDocument::try_from(private_der.as_ref())
            .and_then(|d| d.to_pem("PRIVATE KEY", LineEnding::LF))
            .map_err(|e| failed(&e))?;
        let public_pem = Document::try_from(public_der.as_ref())
            .and_then(|d| d.to_pem("PUBLIC KEY", LineEnding::LF))
            .map_err(|e| failed(&e))?;
        Ok(Self {
            public_pem,
            private_pem: PrivateKeyPem(private_pem.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PEMs are the standard forms other servers and the `rsa` crate read, and the two
    /// halves belong together.
    #[test]
    fn generated_keys_sign_and_verify_across_libraries() {
        use rsa::{
            Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey,
            pkcs8::{DecodePrivateKey, DecodePublicKey},
            traits::PublicKeyParts,
        };
        use sha2::{Digest, Sha256};
        let pair = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        assert!(pair.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let private = RsaPrivateKey::from_pkcs8_pem(pair.private_pem.expose())
            .unwrap_or_else(|e| panic!("{e}"));
        let public =
            RsaPublicKey::from_public_key_pem(&pair.public_pem).unwrap_or_else(|e| panic!("{e}"));
        let digest = Sha256::digest(b"(request-target): post /inbox");
        let signature = private
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            public
                .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
                .is_ok()
        );
        assert_eq!(public.size(), 256, "2048 bits");
    }

    #[test]
    fn debug_output_never_shows_the_private_key() {
        let key = PrivateKeyPem::new("-----BEGIN PRIVATE KEY-----\nsecret".into());
        let shown = format!("{key:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
