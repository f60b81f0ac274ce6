//! A clinic's signed statement that one of its people is a clinician it verified
//! (`clinicianAttestation` on a `Person`).
//!
//! The clinic's instance actor signs it with its RSA key, so another server can check it
//! without trusting the person's own profile: the statement names its subject, so copied onto
//! another account it no longer verifies, and only the instance actor of the subject's own
//! host may issue it. Whether the issuing clinic is one to believe is the reader's choice.

use crate::{FederationError, keys::PrivateKeyPem, protocol::authority};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// The `type` of an attestation.
pub const ATTESTATION_TYPE: &str = "ClinicianAttestation";

/// The one signature algorithm: RSASSA-PKCS1-v1_5 with SHA-256, as HTTP signatures use.
pub const SIGNATURE_ALGORITHM: &str = "rsa-sha256";

/// Longest credential line, in characters.
pub const MAX_CREDENTIAL: usize = 200;

/// A clinician attestation as served in the actor document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClinicianAttestation {
    /// Always [`ATTESTATION_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The person it is about (their actor id).
    pub subject: Url,
    /// What the clinic verified, as one line ("Registered nurse, diabetes care").
    pub credential: String,
    /// The instance actor of the clinic that verified it.
    pub issuer: Url,
    /// When the clinic verified it.
    pub issued: DateTime<Utc>,
    /// Always [`SIGNATURE_ALGORITHM`].
    pub signature_algorithm: String,
    /// The issuer's signature of [`ClinicianAttestation::signed_text`], base64.
    pub signature_value: String,
}

impl ClinicianAttestation {
    /// Checks a credential line: not empty, one line of printable text, at most
    /// [`MAX_CREDENTIAL`] characters. Returns it trimmed.
    pub fn credential_line(credential: &str) -> Result<String, FederationError> {
        let line = credential.trim();
        if line.is_empty() || line.chars().count() > MAX_CREDENTIAL {
            return Err(FederationError::Malformed(format!(
                "a credential is 1 to {MAX_CREDENTIAL} characters"
            )));
        }
        if line.chars().any(char::is_control) {
            return Err(FederationError::Malformed(
                "a credential is one line of text".into(),
            ));
        }
        Ok(line.to_owned())
    }

    /// Signs an attestation that `subject` holds `credential`, as `issuer` (the instance
    /// actor, whose private key `key` is), dated `issued` (to the second).
    pub fn sign(
        subject: &Url,
        credential: &str,
        issuer: &Url,
        issued: DateTime<Utc>,
        key: &PrivateKeyPem,
    ) -> Result<Self, FederationError> {
        use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};
        let failed = |e: &dyn std::fmt::Display| FederationError::Key(format!("attestation: {e}"));
        let credential = Self::credential_line(credential)?;
        let issued = DateTime::from_timestamp(issued.timestamp(), 0).unwrap_or(issued);
        let text = signed_text(subject, &credential, issuer, issued);
        let (_, der) =
            rsa::pkcs8::SecretDocument::from_pem(key.expose()).map_err(|e| failed(&e))?;
        let pair = KeyPair::from_pkcs8(der.as_bytes()).map_err(|e| failed(&e))?;
        let mut signature = vec![0; pair.public_modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            text.as_bytes(),
            &mut signature,
        )
        .map_err(|e| failed(&e))?;
        Ok(Self {
            kind: ATTESTATION_TYPE.into(),
            subject: subject.clone(),
            credential,
            issuer: issuer.clone(),
            issued,
            signature_algorithm: SIGNATURE_ALGORITHM.into(),
            signature_value: BASE64.encode(signature),
        })
    }

    /// Reads an attestation from an actor document's `clinicianAttestation`, if it has a
    /// well-formed one.
    pub fn read(value: &serde_json::Value) -> Option<Self> {
        let attestation = Self::deserialize(value).ok()?;
        (attestation.kind == ATTESTATION_TYPE
            && attestation.signature_algorithm == SIGNATURE_ALGORITHM
            && Self::credential_line(&attestation.credential)
                .is_ok_and(|line| line == attestation.credential))
        .then_some(attestation)
    }

    /// Checks that this attestation is about `subject`, and was issued on the subject's own
    /// host: what can be judged before its issuer is fetched.
    pub fn check_claims(&self, subject: &Url) -> Result<(), FederationError> {
        if self.subject != *subject {
            return Err(FederationError::Unauthorized(
                "the clinician attestation is about someone else",
            ));
        }
        if authority(&self.issuer) != authority(subject) {
            return Err(FederationError::Unauthorized(
                "a clinician attestation is issued by the subject's own server",
            ));
        }
        Ok(())
    }

    /// [`ClinicianAttestation::check_claims`], and that it is signed by the key
    /// `issuer_key_pem` (the issuer's, which the caller fetched).
    pub fn verify(&self, subject: &Url, issuer_key_pem: &str) -> Result<(), FederationError> {
        self.check_claims(subject)?;
        let (_, der) = rsa::pkcs8::Document::from_pem(issuer_key_pem)
            .map_err(|_| FederationError::Unauthorized("the issuer's public key is unreadable"))?;
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            der.as_bytes(),
        );
        let text = signed_text(&self.subject, &self.credential, &self.issuer, self.issued);
        let signature = BASE64.decode(&self.signature_value).map_err(|_| {
            FederationError::Unauthorized("the attestation's signature is unreadable")
        })?;
        key.verify(text.as_bytes(), &signature)
            .map_err(|_| FederationError::Unauthorized("the clinician attestation does not verify"))
    }
}

/// What is signed: a fixed label, then subject, credential, issuer and date (RFC 3339, whole
/// seconds, `Z`), each on its own line.
fn signed_text(subject: &Url, credential: &str, issuer: &Url, issued: DateTime<Utc>) -> String {
    format!(
        "hearth-clinician-attestation\n{subject}\n{credential}\n{issuer}\n{}",
        issued.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn signed(keys: &KeyPair) -> ClinicianAttestation {
        ClinicianAttestation::sign(
            &url("https://clinic.example/users/nurse"),
            "Registered nurse, diabetes care",
            &url("https://clinic.example/actor"),
            Utc::now(),
            &keys.private_pem,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_attestation_verifies_with_its_issuers_key_only() {
        let clinic = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let other = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let attestation = signed(&clinic);
        let nurse = url("https://clinic.example/users/nurse");
        // As sent and read back.
        let wire = serde_json::to_value(&attestation).unwrap_or_default();
        let read = ClinicianAttestation::read(&wire).unwrap_or_else(|| panic!("unreadable"));
        assert!(read.verify(&nurse, &clinic.public_pem).is_ok());
        assert!(read.verify(&nurse, &other.public_pem).is_err());
    }

    #[test]
    fn a_copied_or_altered_attestation_is_refused() {
        let clinic = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let attestation = signed(&clinic);
        let impostor = url("https://clinic.example/users/impostor");
        assert!(attestation.verify(&impostor, &clinic.public_pem).is_err());
        let mut claimed = attestation.clone();
        claimed.subject = impostor.clone();
        assert!(claimed.verify(&impostor, &clinic.public_pem).is_err());
        let mut promoted = attestation.clone();
        promoted.credential = "Consultant oncologist".into();
        assert!(
            promoted
                .verify(
                    &url("https://clinic.example/users/nurse"),
                    &clinic.public_pem
                )
                .is_err()
        );
    }

    #[test]
    fn only_the_subjects_own_server_issues() {
        let elsewhere = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let nurse = url("https://clinic.example/users/nurse");
        let attestation = ClinicianAttestation::sign(
            &nurse,
            "Registered nurse",
            &url("https://other.example/actor"),
            Utc::now(),
            &elsewhere.private_pem,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(attestation.verify(&nurse, &elsewhere.public_pem).is_err());
    }

    #[test]
    fn credentials_are_one_short_line() {
        assert!(ClinicianAttestation::credential_line("  GP  ").is_ok_and(|c| c == "GP"));
        assert!(ClinicianAttestation::credential_line("").is_err());
        assert!(ClinicianAttestation::credential_line("GP\nand surgeon").is_err());
        assert!(ClinicianAttestation::credential_line(&"x".repeat(201)).is_err());
    }
}
