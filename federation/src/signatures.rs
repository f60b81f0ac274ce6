//! Verifying HTTP signatures (draft-cavage, as the Fediverse uses them) on incoming requests.
//!
//! Verification uses `http-signature-normalization`, the library `activitypub_federation`
//! signs and verifies with, and accepts RSA keys with both `algorithm="hs2019"` (GoToSocial,
//! Lemmy) and `algorithm="rsa-sha256"` (Mastodon, older software).

use crate::FederationError;
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, Method, Uri, header};
use http_signature_normalization::verify::{Algorithm, DeprecatedAlgorithm};
use sha2::{Digest, Sha256};
use std::{collections::BTreeMap, time::Duration};
use url::Url;

/// How old a signed request's `Date` may be.
pub const MAX_SIGNATURE_AGE: TimeDelta = TimeDelta::hours(1);

/// How far in the future a `Date` may be, for clock skew.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);

/// Headers an inbox POST signature must cover, or it proves too little: without them it
/// could be replayed to another path or host, or with another body.
pub const REQUIRED_FOR_POST: &[&str] = &["(request-target)", "host", "digest"];

/// Headers a signed GET must cover.
pub const REQUIRED_FOR_GET: &[&str] = &["(request-target)", "host"];

/// The parts of a `Signature` header that can be judged without the signer's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The key's id, as given.
    pub key_id: String,
    /// The signed headers, lower-case.
    pub headers: Vec<String>,
}

impl SignatureHeader {
    /// The actor the key belongs to, by convention: the key id without its fragment
    /// (`…/users/ana#main-key`), or without a trailing `/main-key` segment (GoToSocial), in
    /// canonical form so that a key id spelt `HOST.` names the actor known as `host`.
    pub fn key_owner(&self) -> Option<Url> {
        let mut url = Url::parse(&self.key_id).ok()?;
        url.set_fragment(None);
        if let Some(path) = url.path().strip_suffix("/main-key").map(str::to_owned) {
            url.set_path(&path);
        }
        Some(crate::protocol::canonical(url))
    }
}

/// The actor a request's signature names, read without checking anything else: enough to
/// turn away a server the federation policy refuses before any work is done for it.
pub fn claimed_signer(headers: &HeaderMap) -> Option<Url> {
    let signature = headers.get("signature")?.to_str().ok()?;
    let (_, key_id) = params(signature).into_iter().find(|(k, _)| *k == "keyId")?;
    SignatureHeader {
        key_id: key_id.to_owned(),
        headers: Vec::new(),
    }
    .key_owner()
}

/// Reads the `Signature` header and checks, before any key is fetched, that it covers the
/// `required` headers and `date` (or `(created)`), and that the date is fresh.
pub fn check_header(
    headers: &HeaderMap,
    required: &[&str],
    now: DateTime<Utc>,
) -> Result<SignatureHeader, FederationError> {
    let signature = headers
        .get("signature")
        .ok_or(FederationError::Unauthorized("the request is not signed"))?
        .to_str()
        .map_err(|_| FederationError::Unauthorized("unreadable Signature header"))?;
    let params = params(signature);
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let key_id = param("keyId").filter(|k| !k.is_empty());
    let (Some(key_id), Some(_)) = (key_id, param("signature").filter(|s| !s.is_empty())) else {
        return Err(FederationError::Unauthorized(
            "the signature lacks keyId or signature",
        ));
    };
    let signed: Vec<String> = param("headers")
        .unwrap_or("date")
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let covers = |name: &str| signed.iter().any(|h| h == name);
    if !required.iter().all(|h| covers(h)) {
        return Err(FederationError::Unauthorized(
            "the signature does not cover every required header",
        ));
    }
    if covers("date") {
        let date = headers
            .get(header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .ok_or(FederationError::Unauthorized(
                "the signed Date header is missing or invalid",
            ))?;
        let date: DateTime<Utc> = date.into();
        if now - date > MAX_SIGNATURE_AGE {
            return Err(FederationError::Unauthorized("the signature has expired"));
        }
        if date - now > MAX_CLOCK_SKEW {
            return Err(FederationError::Unauthorized(
                "the signature is dated in the future",
            ));
        }
    } else if !covers("(created)") {
        return Err(FederationError::Unauthorized(
            "the signature must cover date or (created)",
        ));
    }
    Ok(SignatureHeader {
        key_id: key_id.to_owned(),
        headers: signed,
    })
}

/// Splits `k1="v1",k2="v2"` into pairs. Values are quoted strings without escapes.
fn params(header: &str) -> Vec<(&str, &str)> {
    header
        .split(',')
        .filter_map(|part| {
            let (key, value) = part.trim().split_once('=')?;
            Some((key.trim(), value.trim().trim_matches('"')))
        })
        .collect()
}

/// Verifies the signature of a request against `public_key_pem`. `max_age` bounds how old a
/// `(created)` or `Date` may be. The signed `host` is checked against `own_host` (this
/// instance's domain), whatever `Host` header the request carries: a request signed for
/// another server does not verify here even when it is replayed with its `Host` header.
pub fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    public_key_pem: &str,
    own_host: &str,
    max_age: Duration,
) -> Result<(), FederationError> {
    let mut map = BTreeMap::new();
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            map.insert(name.as_str().to_owned(), value.to_owned());
        }
    }
    map.insert("host".to_owned(), own_host.to_ascii_lowercase());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let unverified = http_signature_normalization::Config::new()
        .set_expiration(max_age)
        .begin_verify(method.as_str(), path, map)
        .map_err(|_| FederationError::Unauthorized("the signature cannot be checked"))?;
    match unverified.algorithm() {
        None
        | Some(Algorithm::Hs2019)
        | Some(Algorithm::Deprecated(DeprecatedAlgorithm::RsaSha256)) => {}
        Some(_) => {
            return Err(FederationError::Unauthorized(
                "unsupported signature algorithm",
            ));
        }
    }
    // `PUBLIC KEY` (SubjectPublicKeyInfo) or `RSA PUBLIC KEY` (PKCS#1): AWS-LC reads both.
    let (_, der) = rsa::pkcs8::Document::from_pem(public_key_pem)
        .map_err(|_| FederationError::Unauthorized("the signer's public key is unreadable"))?;
    let key = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        der.as_bytes(),
    );
    let valid = unverified.verify(|signature, signing_string| {
        BASE64
            .decode(signature)
            .is_ok_and(|sig| key.verify(signing_string.as_bytes(), &sig).is_ok())
    });
    if valid {
        Ok(())
    } else {
        Err(FederationError::Unauthorized(
            "the signature does not verify",
        ))
    }
}

/// Checks the `Digest: SHA-256=...` header against the body.
pub fn verify_digest(headers: &HeaderMap, body: &[u8]) -> Result<(), FederationError> {
    let header = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(FederationError::DigestMismatch)?;
    let expected = BASE64.encode(Sha256::digest(body));
    let sha256 = header.split(',').find_map(|part| {
        let (alg, value) = part.trim().split_once('=')?;
        alg.eq_ignore_ascii_case("sha-256").then_some(value.trim())
    });
    match sha256 {
        Some(given) if given == expected => Ok(()),
        _ => Err(FederationError::DigestMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(signature: &str, date: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            "signature",
            HeaderValue::from_str(signature).unwrap_or_else(|e| panic!("{e}")),
        );
        map.insert(
            "date",
            HeaderValue::from_str(date).unwrap_or_else(|e| panic!("{e}")),
        );
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc2822("Wed, 25 Nov 2026 15:21:11 GMT")
            .unwrap_or_else(|e| panic!("{e}"))
            .into()
    }

    const LEMMY: &str = r#"keyId="http://localhost:18341/u/luke#main-key",algorithm="hs2019",headers="(request-target) content-type date digest host",signature="bWVp""#;
    const GTS: &str = r#"keyId="http://127.0.0.1:18280/users/gina/main-key",algorithm="hs2019",headers="(request-target) host date digest",signature="ZHVS""#;

    #[test]
    fn a_key_id_names_its_owner_in_canonical_form() {
        for key_id in [
            "https://clinic.example./users/ana#main-key",
            "https://CLINIC.example/users/ana/main-key",
        ] {
            let header = SignatureHeader {
                key_id: key_id.into(),
                headers: Vec::new(),
            };
            assert_eq!(
                header.key_owner().map(String::from).as_deref(),
                Some("https://clinic.example/users/ana"),
                "{key_id}"
            );
        }
    }

    #[test]
    fn lemmy_and_gotosocial_signature_headers_pass_and_name_their_owner() {
        let check = |sig| {
            check_header(
                &headers(sig, "Wed, 25 Nov 2026 15:21:11 GMT"),
                REQUIRED_FOR_POST,
                now(),
            )
        };
        let lemmy = check(LEMMY).map(|s| s.key_owner().map(String::from));
        assert_eq!(
            lemmy.ok().flatten().as_deref(),
            Some("http://localhost:18341/u/luke")
        );
        let gts = check(GTS).map(|s| s.key_owner().map(String::from));
        assert_eq!(
            gts.ok().flatten().as_deref(),
            Some("http://127.0.0.1:18280/users/gina")
        );
    }

    /// A GET signed by a fresh RSA key of `bits`, and that key's public PEM (PKCS#1, `RSA
    /// PUBLIC KEY`, if `pkcs1`; else SubjectPublicKeyInfo, `PUBLIC KEY`).
    fn signed_with_key_of(bits: usize, pkcs1: bool) -> (HeaderMap, String) {
        use rsa::{
            Pkcs1v15Sign, RsaPrivateKey,
            pkcs1::EncodeRsaPublicKey,
            pkcs8::{EncodePublicKey, LineEnding},
        };
        let key =
            RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).unwrap_or_else(|e| panic!("{e}"));
        let public = key.to_public_key();
        let pem = if pkcs1 {
            public
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| e.to_string())
        } else {
            public
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| e.to_string())
        }
        .unwrap_or_else(|e| panic!("{e}"));
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let mut signed = BTreeMap::new();
        signed.insert("date".to_owned(), date.clone());
        signed.insert("host".to_owned(), "hearth.example".to_owned());
        let signature = http_signature_normalization::Config::new()
            .begin_sign("GET", "/users/ana", signed)
            .unwrap_or_else(|e| panic!("{e}"))
            .sign("https://peer.example/users/gina#main-key".into(), |text| {
                let digest = Sha256::digest(text.as_bytes());
                key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
                    .map(|sig| BASE64.encode(sig))
            })
            .unwrap_or_else(|e| panic!("{e}"))
            .signature_header();
        (headers(&signature, &date), pem)
    }

    #[test]
    fn keys_of_2048_bits_and_more_verify_and_weaker_ones_do_not() {
        let verifies = |bits, pkcs1| {
            let (headers, pem) = signed_with_key_of(bits, pkcs1);
            verify(
                &Method::GET,
                &Uri::from_static("/users/ana"),
                &headers,
                &pem,
                "hearth.example",
                Duration::from_secs(3600),
            )
            .is_ok()
        };
        assert!(verifies(2048, false));
        assert!(verifies(2048, true), "an `RSA PUBLIC KEY` PEM is read too");
        assert!(verifies(4096, false));
        assert!(
            !verifies(1024, false),
            "a 1024-bit key is too weak to trust"
        );
    }

    #[test]
    fn signatures_that_omit_required_headers_are_refused() {
        for covered in [
            "(request-target) date digest",
            "host date digest",
            "(request-target) host date",
            "(request-target) host digest",
        ] {
            let sig = format!(r#"keyId="https://a.example/u#k",headers="{covered}",signature="x""#);
            let result = check_header(
                &headers(&sig, "Wed, 25 Nov 2026 15:21:11 GMT"),
                REQUIRED_FOR_POST,
                now(),
            );
            assert!(result.is_err(), "{covered} must be refused");
        }
    }

    #[test]
    fn the_date_window_is_one_hour_back_and_ten_minutes_ahead() {
        let at = |d: &str| check_header(&headers(LEMMY, d), REQUIRED_FOR_POST, now()).is_ok();
        assert!(
            at("Wed, 25 Nov 2026 14:21:11 GMT"),
            "exactly one hour old is accepted"
        );
        assert!(
            !at("Wed, 25 Nov 2026 14:21:10 GMT"),
            "older than an hour is refused"
        );
        assert!(
            at("Wed, 25 Nov 2026 15:31:11 GMT"),
            "ten minutes ahead is accepted"
        );
        assert!(
            !at("Wed, 25 Nov 2026 15:31:12 GMT"),
            "further ahead is refused"
        );
        assert!(!at("not a date"));
    }

    #[test]
    fn an_unsigned_request_is_refused() {
        assert!(matches!(
            check_header(&HeaderMap::new(), REQUIRED_FOR_POST, now()),
            Err(FederationError::Unauthorized(_))
        ));
    }

    #[test]
    fn digests_are_compared_with_the_body() {
        let mut map = HeaderMap::new();
        map.insert(
            "digest",
            HeaderValue::from_static("SHA-256=lzFT+G7C2hdI5j8M+FuJg1tC+O6AGMVJhooTCKGfbKM="),
        );
        let body = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.";
        assert!(verify_digest(&map, body).is_ok());
        assert!(verify_digest(&map, b"tampered").is_err());
        assert!(verify_digest(&HeaderMap::new(), body).is_err());
    }
}
