//! Signing and sending one activity to one inbox, and reading what the receiver answered.
//!
//! Hearth signs its POSTs itself (with `http-signature-normalization-reqwest`, as the
//! federation crate does) because the crate's sender hides the response: a delivery queue
//! must tell "delivered" from "refused for good" from "try again, after this long".

use crate::{context::FederationData, objects::actor::FederatedActor, protocol::authority};
use activitypub_federation::config::Data;
use aws_lc_rs::{rand::SystemRandom, rsa::KeyPair, signature::RSA_PKCS1_SHA256};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use http::{HeaderValue, StatusCode, header};
use http_signature_normalization_reqwest::{
    DefaultSpawner,
    prelude::{Config, SignExt},
};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};
use url::Url;

/// What came of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (2xx).
    Delivered,
    /// The receiver refused it for good (4xx other than 408 and 429, or an inbox Hearth will
    /// not send to): retrying would not help.
    Refused(String),
    /// Failed for now (network, 5xx, 408, 429): try again, no sooner than `after` if the
    /// receiver said so (`Retry-After`).
    Retry {
        /// The receiver's `Retry-After`, if any.
        after: Option<Duration>,
        /// What went wrong.
        error: String,
    },
}

/// Draft-cavage signatures over `(request-target) content-type date digest host`, without
/// `(created)`, as Mastodon, Pleroma and GoToSocial accept.
static SIGNING: LazyLock<Config<DefaultSpawner>> = LazyLock::new(|| {
    Config::new()
        .mastodon_compat()
        .set_expiration(Duration::from_secs(3600))
});

/// Signing keys, parsed once per actor: parsing and checking a key costs more than a signature.
#[derive(Default)]
pub struct SigningKeys(Mutex<HashMap<String, Arc<KeyPair>>>);

impl SigningKeys {
    /// Most keys kept; past this the cache starts over.
    const MAX: usize = 10_000;

    fn get(&self, actor: &Url, pem: &str) -> Result<Arc<KeyPair>, String> {
        if let Some(key) = self
            .0
            .lock()
            .ok()
            .and_then(|k| k.get(actor.as_str()).cloned())
        {
            return Ok(key);
        }
        let (_, der) = rsa::pkcs8::SecretDocument::from_pem(pem).map_err(|e| e.to_string())?;
        let key = Arc::new(KeyPair::from_pkcs8(der.as_bytes()).map_err(|e| e.to_string())?);
        if let Ok(mut keys) = self.0.lock() {
            if keys.len() >= Self::MAX {
                keys.clear();
            }
            keys.insert(actor.to_string(), key.clone());
        }
        Ok(key)
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeys")
    }
}

#[derive(Debug)]
struct SignFailure(String);

impl From<http_signature_normalization_reqwest::SignError> for SignFailure {
    fn from(e: http_signature_normalization_reqwest::SignError) -> Self {
        Self(e.to_string())
    }
}

impl From<reqwest::Error> for SignFailure {
    fn from(e: reqwest::Error) -> Self {
        Self(e.to_string())
    }
}

/// Signs `body` with `signer`'s key and POSTs it to `inbox`.
pub async fn deliver(
    data: &Data<FederationData>,
    signer: &FederatedActor,
    inbox: &Url,
    body: String,
) -> Outcome {
    if inbox.scheme() != "https" && !(data.plain_http() && inbox.scheme() == "http") {
        return Outcome::Refused(format!("{inbox}: only https inboxes are delivered to"));
    }
    let Some(key) = signer
        .private_key
        .as_ref()
        .and_then(|k| data.signing_keys().get(&signer.ap_id, k.expose()).ok())
    else {
        return Outcome::Refused(format!("{} has no usable private key", signer.ap_id));
    };
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let (Ok(host), Ok(date)) = (
        HeaderValue::from_str(&authority(inbox)),
        HeaderValue::from_str(&date),
    ) else {
        return Outcome::Refused(format!("{inbox}: not a valid host"));
    };
    let request = data
        .client()
        .post(inbox.as_str())
        .header(header::CONTENT_TYPE, "application/activity+json")
        .header(header::HOST, host)
        .header(header::DATE, date)
        .timeout(crate::client::REQUEST_TIMEOUT)
        .signature_with_digest(
            SIGNING.clone(),
            format!("{}#main-key", signer.ap_id),
            Sha256::new(),
            body,
            move |signing_string| {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    signing_string.as_bytes(),
                    &mut signature,
                )
                .map(|()| BASE64.encode(signature))
                .map_err(|e| SignFailure(e.to_string()))
            },
        )
        .await;
    let request = match request {
        Ok(request) => request,
        Err(SignFailure(e)) => return Outcome::Refused(format!("signing: {e}")),
    };
    match data.client().execute(request).await {
        Ok(response) => judge(
            response.status(),
            response.headers().get(header::RETRY_AFTER),
        ),
        Err(e) => Outcome::Retry {
            after: None,
            error: e.to_string(),
        },
    }
}

/// Sorts a receiver's answer into delivered, refused for good, or retry.
pub fn judge(status: StatusCode, retry_after: Option<&HeaderValue>) -> Outcome {
    if status.is_success() {
        return Outcome::Delivered;
    }
    let temporary = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    if !temporary {
        return Outcome::Refused(format!("the receiver answered {status}"));
    }
    let after = retry_after.and_then(|v| v.to_str().ok()).and_then(|v| {
        v.trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
            .or_else(|| {
                httpdate::parse_http_date(v)
                    .ok()
                    .and_then(|at| at.duration_since(std::time::SystemTime::now()).ok())
            })
    });
    Outcome::Retry {
        after,
        error: format!("the receiver answered {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_into_delivered_refused_and_retry() {
        assert_eq!(judge(StatusCode::ACCEPTED, None), Outcome::Delivered);
        assert!(matches!(judge(StatusCode::GONE, None), Outcome::Refused(_)));
        assert!(matches!(
            judge(StatusCode::FORBIDDEN, None),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            judge(StatusCode::BAD_GATEWAY, None),
            Outcome::Retry { after: None, .. }
        ));
        let seconds = HeaderValue::from_static("120");
        assert!(matches!(
            judge(StatusCode::TOO_MANY_REQUESTS, Some(&seconds)),
            Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(120)
        ));
        let later =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(600));
        let date = HeaderValue::from_str(&later).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            judge(StatusCode::SERVICE_UNAVAILABLE, Some(&date)),
            Outcome::Retry { after: Some(d), .. } if d > Duration::from_secs(590)
        ));
    }
}
