//! `Person`, `Group`, `Application` and `Service` actor documents.

use activitypub_federation::protocol::public_key::PublicKey;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

/// The kinds of actor Hearth serves or meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActorKind {
    /// A person: a patient, a clinician, a moderator.
    Person,
    /// A support group (FEP-1b12 group actor).
    Group,
    /// The instance itself; it signs fetches.
    Application,
    /// An automated account on another server.
    Service,
    /// An organisation account on another server.
    Organization,
}

impl ActorKind {
    /// The lower-case name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Group => "group",
            Self::Application => "application",
            Self::Service => "service",
            Self::Organization => "organization",
        }
    }

    /// Parses the storage name back.
    pub fn from_storage(name: &str) -> Option<Self> {
        Some(match name {
            "person" => Self::Person,
            "group" => Self::Group,
            "application" => Self::Application,
            "service" => Self::Service,
            "organization" => Self::Organization,
            _ => return None,
        })
    }
}

/// Endpoints shared by all actors of a server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// The server's shared inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_inbox: Option<Url>,
}

/// An image attached to an actor (avatar in `icon`, header in `image`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// Always `Image`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where the image is.
    pub url: Url,
    /// Its media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

/// An actor document as sent and received. Fields other servers may omit are optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorObject {
    /// The actor's id, which is also where its document is fetched.
    pub id: Url,
    /// `Person`, `Group`, ...
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The handle, without domain.
    pub preferred_username: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Biography or group description, HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Profile page for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Where activities for this actor are posted.
    pub inbox: Url,
    /// What this actor has published. Lemmy refuses actors without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<Url>,
    /// Who follows (for groups: who the members are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<Url>,
    /// Whom this actor follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<Url>,
    /// The posts the actor shows first, pinned by a person or by a group's moderators (read by
    /// Mastodon for pinned posts and by Lemmy for a community's featured posts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub featured: Option<Url>,
    /// The shared inbox, where one delivery per server suffices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    /// The key that verifies this actor's HTTP signatures.
    pub public_key: PublicKey,
    /// When the actor was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    /// True when follows need approval (locked accounts, approval-only groups).
    #[serde(default)]
    pub manually_approves_followers: bool,
    /// Whether the actor may appear in directories and search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<bool>,
    /// Avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    /// Header (banner) image, as Mastodon sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// Profile fields as Mastodon sends them (`PropertyValue`s), among whatever else a server
    /// attaches: read leniently, see [`ProfileField::from_attachment`].
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub attachment: serde_json::Value,
    /// Set (`toot:suspended`) while the server's moderators suspend the account, as Mastodon
    /// marks it; the document then carries nothing the person wrote.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// The clinic's signed statement that this person is a clinician it verified (see
    /// [`super::attestation`]); read leniently, as other servers may send anything here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinician_attestation: Option<serde_json::Value>,
}

impl ActorObject {
    /// The document of a suspended account, as Mastodon serves it: what other servers need to
    /// address it and verify its signatures (the `Delete` its suspension sent among them), and
    /// nothing of its profile.
    pub fn suspended(self) -> Self {
        Self {
            name: None,
            summary: None,
            icon: None,
            image: None,
            attachment: serde_json::Value::Null,
            discoverable: Some(false),
            suspended: true,
            clinician_attestation: None,
            ..self
        }
    }
}

/// A profile field: a name and its value (HTML), a `PropertyValue` on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    /// The label.
    pub name: String,
    /// The value, HTML.
    pub value: String,
}

impl ProfileField {
    /// The `PropertyValue`s of an actor's `attachment` (one object or an array), in order;
    /// anything else attached is passed over.
    pub fn from_attachment(attachment: &serde_json::Value) -> Vec<Self> {
        let items = match attachment {
            serde_json::Value::Array(items) => items.as_slice(),
            one => std::slice::from_ref(one),
        };
        items
            .iter()
            .filter(|i| i.get("type").and_then(|t| t.as_str()) == Some("PropertyValue"))
            .filter_map(|i| {
                Some(Self {
                    name: i.get("name")?.as_str()?.to_owned(),
                    value: i.get("value")?.as_str()?.to_owned(),
                })
            })
            .collect()
    }

    /// The `attachment` of an actor document with these fields (null for none).
    pub fn to_attachment(fields: &[Self]) -> serde_json::Value {
        if fields.is_empty() {
            return serde_json::Value::Null;
        }
        fields
            .iter()
            .map(|f| serde_json::json!({ "type": "PropertyValue", "name": f.name, "value": f.value }))
            .collect()
    }
}

impl Image {
    /// An `Image` at `url`, with the media type its file extension names (Hearth's files end
    /// in `.jpg`, `.png` or `.gif`).
    pub fn at(url: Url) -> Self {
        let media_type = match url.path().rsplit_once('.').map(|(_, ext)| ext) {
            Some("png") => Some("image/png"),
            Some("gif") => Some("image/gif"),
            Some("jpg" | "jpeg") => Some("image/jpeg"),
            _ => None,
        };
        Self {
            kind: "Image".into(),
            url,
            media_type: media_type.map(Into::into),
        }
    }
}
