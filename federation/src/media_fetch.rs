//! Fetching an image from another server (an avatar, a header, an attachment of a remote
//! post), so that Hearth can serve its own copy and people's apps never contact that server.
//!
//! The request goes through the one outgoing client and its address guard, signed by the
//! instance actor (a server that keeps some media for members only, as Hearth does, answers
//! a member's server only). Only image types are read, up to a size limit, within the
//! client's timeout; at most one redirect is followed, checked like the first URL.

use crate::{FederationError, context::FederationData};
use activitypub_federation::config::Data;
use bytes::Bytes;
use http::{StatusCode, header};
use url::Url;

/// Media types read; anything else is refused before its body is read.
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Checks that `url` is one Hearth may fetch: `https` (or `http` on a closed network), a
/// host name rather than an IP literal (the address guard sits in name lookup), no
/// credentials, and in production no explicit port.
pub fn check_url(url: &Url, plain_http: bool) -> Result<(), FederationError> {
    match url.scheme() {
        "https" => {}
        "http" if plain_http => {}
        _ => return Err(refused_url("only https URLs are fetched")),
    }
    if url.domain().is_none() {
        return Err(refused_url("the URL must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused_url("the URL carries credentials"));
    }
    if !plain_http && url.port().is_some() {
        return Err(refused_url("explicit ports are not fetched"));
    }
    Ok(())
}

/// The image at `url`, at most `max_bytes` long (refused as soon as it is known to be
/// larger: by `Content-Length`, or while reading).
pub async fn fetch_image(
    data: &Data<FederationData>,
    url: &Url,
    max_bytes: u64,
) -> Result<Vec<u8>, FederationError> {
    let mut target = url.clone();
    for hop in 0..2 {
        check_url(&target, data.plain_http())?;
        let request = data
            .client()
            .get(target.as_str())
            .header(header::ACCEPT, "image/*")
            .timeout(crate::client::REQUEST_TIMEOUT);
        let request = data
            .sign_request(request, Bytes::new())
            .await
            .map_err(|e| FederationError::Internal(format!("signing: {e}")))?;
        let mut response = data
            .client()
            .execute(request)
            .await
            .map_err(|e| request_error(&target, &e))?;
        let status = response.status();
        if status.is_redirection() && hop == 0 {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| target.join(l).ok())
                .ok_or_else(|| answered(status))?;
            target = location;
            continue;
        }
        if !status.is_success() {
            return Err(answered(status));
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !IMAGE_TYPES.contains(&content_type.as_str()) {
            return Err(FederationError::Malformed(
                "the remote file is not a JPEG, PNG, WebP or GIF image".into(),
            ));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(too_large(max_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| request_error(&target, &reqwest_middleware::Error::Reqwest(e)))?
        {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(FederationError::Unavailable(
        "the remote file is behind more than one redirect".into(),
    ))
}

fn refused_url(why: &str) -> FederationError {
    FederationError::Refused(format!("refused URL: {why}"))
}

fn too_large(max_bytes: u64) -> FederationError {
    FederationError::PayloadTooLarge {
        limit: usize::try_from(max_bytes).unwrap_or(usize::MAX),
    }
}

fn answered(status: StatusCode) -> FederationError {
    FederationError::Unavailable(format!("the remote server answered {status}"))
}

/// A failed request, told apart when the address guard refused it.
fn request_error(url: &Url, err: &reqwest_middleware::Error) -> FederationError {
    if let Some(refused) = crate::error::refused_address(err) {
        return FederationError::Refused(format!(
            "refused host {}: it resolves to an address outgoing requests may not reach",
            refused.host
        ));
    }
    let timed_out = matches!(err, reqwest_middleware::Error::Reqwest(e) if e.is_timeout());
    if timed_out {
        return FederationError::Unavailable(format!("fetching {url} timed out"));
    }
    FederationError::Unavailable(format!("fetching {url} failed: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_plain_host_names_over_https_are_fetched() {
        assert!(check_url(&url("https://files.example/a.jpg"), false).is_ok());
        for bad in [
            "http://files.example/a.jpg",
            "https://10.0.0.1/a.jpg",
            "https://[::1]/a.jpg",
            "https://user:pw@files.example/a.jpg",
            "https://files.example:8443/a.jpg",
            "file:///etc/passwd",
            "data:image/png;base64,AAAA",
        ] {
            assert!(check_url(&url(bad), false).is_err(), "{bad}");
        }
        assert!(check_url(&url("http://localhost:3000/a.jpg"), true).is_ok());
        assert!(check_url(&url("http://127.0.0.1:3000/a.jpg"), true).is_err());
    }
}
