//! `Document`: a file attached to a post. Mastodon, GoToSocial and Lemmy send images as
//! `Document` (some as `Image`), with Mastodon's `blurhash` and `focalPoint` extensions.

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// One attachment as sent and received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// `Document` (what Hearth sends), `Image`, `Video`, `Link`...
    #[serde(rename = "type")]
    pub kind: String,
    /// `image/jpeg`, `image/png`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Where the file is (some servers send an object or a list of links).
    #[serde(default, deserialize_with = "super::post::lenient_url")]
    pub url: Option<Url>,
    /// Alt text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A blurred placeholder (<https://blurha.sh>), shown while the file loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// Width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Mastodon's focal point, `[x, y]` each in -1.0..=1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_point: Option<[f64; 2]>,
}

/// Attachments given as one object or a list; those that cannot be read are skipped.
pub(crate) fn attachments<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Attachment>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => Vec::new(),
        single => vec![single],
    };
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_and_lemmy_attachments_are_read() {
        // As Mastodon sends an image (docs.joinmastodon.org/spec/activitypub/).
        let mastodon: Attachment = serde_json::from_value(serde_json::json!({
            "type": "Document",
            "mediaType": "image/jpeg",
            "url": "https://mastodon.example/system/media/original/a.jpg",
            "name": "A cat on a sofa",
            "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
            "focalPoint": [0.1, -0.3],
            "width": 640,
            "height": 480
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mastodon.width, Some(640));
        assert_eq!(mastodon.focal_point, Some([0.1, -0.3]));
        let again: Attachment = serde_json::to_value(&mastodon)
            .and_then(serde_json::from_value)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, mastodon, "round trip");
        // Lemmy's link attachment: a `Link` with `href`.
        let lemmy: Attachment = serde_json::from_value(serde_json::json!({
            "type": "Link", "href": "https://example.org/article"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((lemmy.kind.as_str(), lemmy.url), ("Link", None));
    }
}
