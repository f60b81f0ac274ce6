//! Which software another server runs, read from its NodeInfo.
//!
//! Group software (Lemmy, Hearth) reads a group's `Announce{Create}`; microblogs (Mastodon,
//! GoToSocial, Misskey...) show a boost, `Announce{Note}`, and ignore the first. Knowing the
//! receiver's software lets a group send each server the one form it reads.

use crate::{FederationError, context::FederationData, protocol::nodeinfo::NodeInfoLinks};
use activitypub_federation::config::Data;
use bytes::Bytes;
use http::header;
use serde_json::Value;
use url::Url;

/// NodeInfo documents are small; anything larger is not one.
const MAX_NODEINFO_BYTES: usize = 64 * 1024;

/// The lower-case `software.name` of the server at `origin` (scheme, host and port are used),
/// from its NodeInfo 2.1 or 2.0. The document must be on the same server.
pub async fn software(
    data: &Data<FederationData>,
    origin: &Url,
) -> Result<String, FederationError> {
    let well_known = origin
        .join("/.well-known/nodeinfo")
        .map_err(|e| FederationError::Malformed(e.to_string()))?;
    let links: NodeInfoLinks = serde_json::from_slice(&get_json(data, &well_known).await?)
        .map_err(|e| FederationError::Malformed(format!("{well_known}: {e}")))?;
    let href = ["2.1", "2.0"]
        .iter()
        .find_map(|version| {
            links.links.iter().find(|link| {
                link.rel
                    .trim_end_matches('/')
                    .ends_with(&format!("/schema/{version}"))
            })
        })
        .ok_or_else(|| FederationError::Malformed(format!("{well_known}: no NodeInfo 2.x link")))?;
    let document = Url::parse(&href.href)
        .map_err(|e| FederationError::Malformed(format!("NodeInfo link: {e}")))?;
    if !crate::protocol::same_origin(&document, origin) {
        return Err(FederationError::Refused(format!(
            "{document}: NodeInfo on another server"
        )));
    }
    let info: Value = serde_json::from_slice(&get_json(data, &document).await?)
        .map_err(|e| FederationError::Malformed(format!("{document}: {e}")))?;
    info.get("software")
        .and_then(|s| s.get("name"))
        .and_then(Value::as_str)
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| FederationError::Malformed(format!("{document}: no software.name")))
}

/// A signed GET of a small JSON document (every outgoing GET is signed: GoToSocial refuses
/// unsigned ones), read up to [`MAX_NODEINFO_BYTES`].
async fn get_json(data: &Data<FederationData>, url: &Url) -> Result<Bytes, FederationError> {
    let request = data
        .client()
        .get(url.as_str())
        .header(header::ACCEPT, "application/json")
        .timeout(crate::client::REQUEST_TIMEOUT);
    let request = data.sign_request(request, Bytes::new()).await?;
    let mut response = data
        .client()
        .execute(request)
        .await
        .map_err(|e| FederationError::Refused(format!("{url}: {e}")))?;
    if !response.status().is_success() {
        return Err(FederationError::Refused(format!(
            "{url}: answered {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FederationError::Refused(format!("{url}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_NODEINFO_BYTES {
            return Err(FederationError::Refused(format!("{url}: too large")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}
