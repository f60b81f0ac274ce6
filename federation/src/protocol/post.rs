//! `Note` and `Page` objects: posts and replies (Mastodon, GoToSocial, Misskey, Pleroma send
//! `Note`; a Lemmy top-level post is a `Page` whose `name` is its title).

use activitypub_federation::protocol::helpers::deserialize_one_or_many;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

/// The ActivityStreams public collection, in its canonical form.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Whether an addressee means "everyone" (also written `as:Public` or `Public`).
pub fn is_public(url: &Url) -> bool {
    matches!(url.as_str(), PUBLIC) || url.as_str() == "as:Public" || url.as_str() == "Public"
}

/// A post as sent and received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostObject {
    /// The post's id.
    pub id: Url,
    /// `Note`, `Page`, `Article`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The author (the first one, where a list is given).
    #[serde(deserialize_with = "first_of")]
    pub attributed_to: Url,
    /// HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Title (Lemmy posts, Articles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Content warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Primary addressees.
    #[serde(
        default,
        deserialize_with = "deserialize_one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<Url>,
    /// Secondary addressees.
    #[serde(
        default,
        deserialize_with = "deserialize_one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cc: Vec<Url>,
    /// The group the post belongs to (FEP-1b12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Url>,
    /// The post this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<Url>,
    /// When it was written (a date that cannot be read counts as none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_date"
    )]
    pub published: Option<DateTime<Utc>>,
    /// When it was last edited.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_date"
    )]
    pub updated: Option<DateTime<Utc>>,
    /// Mentions, hashtags, emoji (GoToSocial sends a single tag as an object).
    #[serde(
        default,
        deserialize_with = "tags",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tag: Vec<Tag>,
    /// A web page for the post.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub url: Option<Url>,
    /// Marked sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    /// `text/html` (Lemmy says so; others leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// On the copy of a members-only post that a Hearth group delivers itself (for servers
    /// that do not show announced private posts): the original post.
    #[serde(
        default,
        rename = "hearthCopyOf",
        skip_serializing_if = "Option::is_none"
    )]
    pub copy_of: Option<Url>,
    /// Images and other files attached to the post (Hearth sends images as `Document`s).
    #[serde(
        default,
        deserialize_with = "super::attachment::attachments",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attachment: Vec<super::attachment::Attachment>,
    /// The content by language (`{"fr": "<p>…</p>"}`): Hearth and Mastodon send the one
    /// language a post is in; only its key is read.
    #[serde(
        default,
        rename = "contentMap",
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub content_map: std::collections::BTreeMap<String, serde_json::Value>,
}

impl PostObject {
    /// The language the post says it is in: the first key of its `contentMap`, as given.
    pub fn language(&self) -> Option<&str> {
        self.content_map.keys().next().map(String::as_str)
    }

    /// The post with every URL in it in canonical form (see [`super::canonical`]), so that
    /// one post is stored once however a sender spells its hosts.
    pub fn canonicalised(mut self) -> Self {
        use super::canonical;
        self.id = canonical(self.id);
        self.attributed_to = canonical(self.attributed_to);
        self.to = self.to.into_iter().map(canonical).collect();
        self.cc = self.cc.into_iter().map(canonical).collect();
        self.audience = self.audience.map(canonical);
        self.in_reply_to = self.in_reply_to.map(canonical);
        self.copy_of = self.copy_of.map(canonical);
        for tag in &mut self.tag {
            tag.href = tag.href.take().map(canonical);
        }
        self
    }

    /// Everyone the post is addressed to, `to` then `cc`.
    pub fn addressees(&self) -> impl Iterator<Item = &Url> {
        self.to.iter().chain(self.cc.iter())
    }

    /// Actors the post mentions.
    pub fn mentions(&self) -> impl Iterator<Item = &Url> {
        self.tag
            .iter()
            .filter(|t| t.kind == "Mention")
            .filter_map(|t| t.href.as_ref())
    }
}

/// One tag of a post.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// `Mention`, `Hashtag`, `Emoji`...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// What the tag points to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_url"
    )]
    pub href: Option<Url>,
    /// `@name@domain` or `#tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Tags given as one object or a list; tags that cannot be read are skipped.
fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Tag>, D::Error> {
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

/// The first URL of a single value or a list (some servers list several authors).
fn first_of<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Url),
        Object { id: Url },
        Many(Vec<serde_json::Value>),
    }
    match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(url) | OneOrMany::Object { id: url } => Ok(url),
        OneOrMany::Many(items) => items
            .iter()
            .find_map(|v| {
                v.as_str()
                    .or_else(|| v.get("id").and_then(|i| i.as_str()))
                    .and_then(|s| Url::parse(s).ok())
            })
            .ok_or_else(|| serde::de::Error::custom("no author URL")),
    }
}

/// A date that may be unreadable (a year past 9999, another format): none then, as Mastodon
/// reads it, rather than the whole post refused.
fn lenient_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(value.as_str().and_then(|s| s.parse().ok()))
}

/// A URL that may also come as an object with `href` (Misskey, PeerTube) or be unusable.
pub(crate) fn lenient_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Url>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    let text = match &value {
        serde_json::Value::String(s) => Some(s.as_str()),
        serde_json::Value::Object(o) => o.get("href").and_then(|h| h.as_str()),
        serde_json::Value::Array(items) => items
            .iter()
            .find_map(|i| i.as_str().or_else(|| i.get("href")?.as_str())),
        _ => None,
    };
    Ok(text.and_then(|t| Url::parse(t).ok()))
}
