//! The verifying inbox: size limit, signature pre-checks, digest, then the federation crate.
//!
//! The order matters: everything that can be judged from the request alone (size, presence
//! and shape of the signature, date, digest) is judged before the sender's key is fetched, so
//! that unsigned or stale requests never cause outbound traffic and nothing is ever stored
//! for a rejected request.

use crate::{
    FederationError, activities::InboxActivity, context::FederationData,
    objects::actor::FederatedActor,
};
use activitypub_federation::{
    axum::inbox::{ActivityData, receive_activity},
    config::Data,
};
use axum::{
    body::Body,
    extract::{FromRequest, Request},
};
use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Largest activity body accepted: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How old a signed request's `Date` may be.
pub const MAX_SIGNATURE_AGE: TimeDelta = TimeDelta::hours(1);

/// How far in the future a `Date` may be, for clock skew.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(10);

/// Headers that every inbox signature must cover, or the signature proves too little:
/// without them it could be replayed to another path, host or time, or with another body.
const REQUIRED_SIGNED: [&str; 3] = ["(request-target)", "host", "digest"];

/// Verifies and handles one inbox POST, answering 202 when the activity is accepted.
pub async fn receive(
    data: Data<FederationData>,
    request: Request,
) -> Result<StatusCode, FederationError> {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(FederationError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    check_signature_header(&parts.headers, Utc::now())?;
    let body = read_limited(body).await?;

    let request = Request::from_parts(parts, Body::from(body));
    let activity_data = ActivityData::from_request(request, &())
        .await
        .map_err(|_| FederationError::Internal("re-reading a buffered body".into()))?;
    receive_activity::<InboxActivity, FederatedActor, FederationData>(activity_data, &data).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn read_limited(body: Body) -> Result<bytes::Bytes, FederationError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(FederationError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        }),
        Err(err) => Err(FederationError::Malformed(format!(
            "reading the body: {err}"
        ))),
    }
}

/// Checks that a signature is present, covers what it must, and is fresh. The cryptographic
/// check against the sender's key comes later, in the federation crate.
pub fn check_signature_header(
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<(), FederationError> {
    let signature = headers
        .get("signature")
        .ok_or(FederationError::Unauthorized("the request is not signed"))?
        .to_str()
        .map_err(|_| FederationError::Unauthorized("unreadable Signature header"))?;
    let params = signature_params(signature);
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    if param("keyId").is_none_or(str::is_empty) || param("signature").is_none_or(str::is_empty) {
        return Err(FederationError::Unauthorized(
            "the signature lacks keyId or signature",
        ));
    }
    let signed: Vec<String> = param("headers")
        .unwrap_or("date")
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let covers = |name: &str| signed.iter().any(|h| h == name);
    if !REQUIRED_SIGNED.iter().all(|h| covers(h)) {
        return Err(FederationError::Unauthorized(
            "the signature must cover (request-target), host and digest",
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
    Ok(())
}

/// Splits `k1="v1",k2="v2"` into pairs. Values are quoted strings without escapes.
fn signature_params(header: &str) -> Vec<(&str, &str)> {
    header
        .split(',')
        .filter_map(|part| {
            let (key, value) = part.trim().split_once('=')?;
            Some((key.trim(), value.trim().trim_matches('"')))
        })
        .collect()
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
    fn lemmy_and_gotosocial_signature_headers_pass() {
        for sig in [LEMMY, GTS] {
            assert!(
                check_signature_header(&headers(sig, "Wed, 25 Nov 2026 15:21:11 GMT"), now())
                    .is_ok()
            );
        }
    }

    #[test]
    fn signatures_that_omit_required_headers_are_refused() {
        for covered in [
            "(request-target) date digest",
            "host date digest",
            "(request-target) host date",
        ] {
            let sig = format!(r#"keyId="https://a.example/u#k",headers="{covered}",signature="x""#);
            let result =
                check_signature_header(&headers(&sig, "Wed, 25 Nov 2026 15:21:11 GMT"), now());
            assert!(result.is_err(), "{covered} must be refused");
        }
    }

    #[test]
    fn the_date_window_is_one_hour_back_and_ten_minutes_ahead() {
        let at = |d: &str| check_signature_header(&headers(LEMMY, d), now()).is_ok();
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
            check_signature_header(&HeaderMap::new(), now()),
            Err(FederationError::Unauthorized(_))
        ));
    }
}
