//! Actors as the federation crate sees them.

use crate::{
    FederationError, bounds,
    context::FederationData,
    keys::PrivateKeyPem,
    protocol::{
        actor::{ActorKind, ActorObject, Endpoints, Image, ProfileField},
        attestation::ClinicianAttestation,
        canonical, same_origin,
    },
};
use activitypub_federation::{
    config::Data,
    fetch::fetch_object_http,
    protocol::public_key::PublicKey,
    traits::{Actor, Object},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use url::Url;

/// An actor, local or remote, in the form the product stores and the protocol needs.
#[derive(Clone, Debug, PartialEq)]
pub struct FederatedActor {
    /// ActivityPub id.
    pub ap_id: Url,
    /// Person, Group, Application...
    pub kind: ActorKind,
    /// Handle without domain.
    pub username: String,
    /// Display name.
    pub display_name: Option<String>,
    /// HTML biography or group description.
    pub summary: Option<String>,
    /// Profile page.
    pub profile_url: Option<Url>,
    /// Personal inbox.
    pub inbox: Url,
    /// Shared inbox of the actor's server.
    pub shared_inbox: Option<Url>,
    /// Outbox collection.
    pub outbox: Option<Url>,
    /// Followers collection.
    pub followers: Option<Url>,
    /// Following collection.
    pub following: Option<Url>,
    /// Avatar.
    pub avatar: Option<Url>,
    /// Header image.
    pub header: Option<Url>,
    /// Public key, SPKI PEM.
    pub public_key_pem: String,
    /// Private key: local actors only.
    pub private_key: Option<PrivateKeyPem>,
    /// When the actor was created.
    pub published: DateTime<Utc>,
    /// Follows need approval.
    pub manually_approves_followers: bool,
    /// Listed in directories and search.
    pub discoverable: bool,
    /// Hosted on this instance.
    pub local: bool,
    /// When a remote actor was last fetched.
    pub last_refreshed_at: DateTime<Utc>,
    /// Profile fields (value HTML).
    pub fields: Vec<ProfileField>,
    /// The clinic's attestation that this person is a verified clinician: for a remote actor,
    /// only one that verified (see [`FederatedActor::from_remote_verified`]).
    pub clinician: Option<ClinicianAttestation>,
}

impl FederatedActor {
    /// The collection of posts a local person or group pins (`<actor>/featured`).
    pub fn featured(&self) -> Option<Url> {
        if !self.local || !matches!(self.kind, ActorKind::Person | ActorKind::Group) {
            return None;
        }
        let mut url = self.ap_id.clone();
        url.set_path(&format!(
            "{}/featured",
            self.ap_id.path().trim_end_matches('/')
        ));
        Some(url)
    }

    /// The wire document of this actor.
    pub fn to_object(&self) -> ActorObject {
        ActorObject {
            id: self.ap_id.clone(),
            kind: self.kind,
            preferred_username: self.username.clone(),
            name: self.display_name.clone(),
            summary: self.summary.clone(),
            url: self.profile_url.clone(),
            inbox: self.inbox.clone(),
            outbox: self.outbox.clone(),
            followers: self.followers.clone(),
            following: self.following.clone(),
            featured: self.featured(),
            endpoints: self.shared_inbox.clone().map(|shared_inbox| Endpoints {
                shared_inbox: Some(shared_inbox),
            }),
            public_key: self.public_key(),
            published: Some(self.published),
            manually_approves_followers: self.manually_approves_followers,
            discoverable: Some(self.discoverable),
            icon: self.avatar.clone().map(Image::at),
            image: self.header.clone().map(Image::at),
            attachment: ProfileField::to_attachment(&self.fields),
            suspended: false,
            clinician_attestation: self
                .clinician
                .as_ref()
                .and_then(|a| serde_json::to_value(a).ok()),
        }
    }

    /// A remote actor read from its wire document, with every URL in canonical form (see
    /// [`canonical`]): this is where every remote actor enters, so one actor spelt two ways
    /// (`HOST.`, `host`) is stored and found as one. Its name and biography are cleaned and
    /// bounded, its profile page, avatar and header kept only as http(s) links, and its date
    /// kept only when it is possible (see [`crate::bounds`]).
    pub fn from_remote_object(json: ActorObject) -> Self {
        let now = Utc::now();
        let web = |url: Url| bounds::link(canonical(url));
        Self {
            kind: json.kind,
            username: json.preferred_username,
            display_name: bounds::actor_text(json.name, false),
            summary: bounds::actor_text(json.summary, true),
            profile_url: json.url.and_then(web),
            inbox: canonical(json.inbox),
            shared_inbox: json.endpoints.and_then(|e| e.shared_inbox).map(canonical),
            outbox: json.outbox.map(canonical),
            followers: json.followers.map(canonical),
            following: json.following.map(canonical),
            avatar: json.icon.and_then(|i| web(i.url)),
            header: json.image.and_then(|i| web(i.url)),
            public_key_pem: json.public_key.public_key_pem,
            private_key: None,
            published: bounds::date(json.published, now),
            manually_approves_followers: json.manually_approves_followers,
            discoverable: json.discoverable.unwrap_or(false),
            local: false,
            last_refreshed_at: now,
            fields: ProfileField::from_attachment(&json.attachment)
                .into_iter()
                .take(bounds::MAX_PROFILE_FIELDS)
                .filter_map(|f| {
                    Some(ProfileField {
                        name: bounds::actor_text(Some(f.name), false)?,
                        value: bounds::actor_text(Some(f.value), false).unwrap_or_default(),
                    })
                })
                .collect(),
            clinician: None,
            ap_id: canonical(json.id),
        }
    }

    /// [`FederatedActor::from_remote_object`], keeping its clinician attestation if it
    /// verifies: about this actor, issued by the instance actor of the actor's own host (an
    /// `Application`, fetched signed, as any actor), signed with that actor's key. One that
    /// does not (copied from another account, altered, signed by the person themselves) is
    /// dropped, and the actor stored without it.
    pub async fn from_remote_verified(
        json: ActorObject,
        data: &Data<FederationData>,
    ) -> FederatedActor {
        let claimed = json
            .clinician_attestation
            .as_ref()
            .and_then(ClinicianAttestation::read);
        let mut actor = Self::from_remote_object(json);
        if let Some(claimed) = claimed {
            match verify_attestation(&claimed, &actor.ap_id, data).await {
                Ok(()) => actor.clinician = Some(claimed),
                Err(e) => {
                    tracing::warn!(actor = %actor.ap_id, error = %e, "refused a clinician attestation")
                }
            }
        }
        actor
    }
}

/// Checks `attestation` of `subject` against its issuer's key, fetching the issuer if unknown.
async fn verify_attestation(
    attestation: &ClinicianAttestation,
    subject: &Url,
    data: &Data<FederationData>,
) -> Result<(), FederationError> {
    // Judged before anything is fetched.
    attestation.check_claims(subject)?;
    let issuer = activitypub_federation::fetch::object_id::ObjectId::<FederatedActor>::from(
        attestation.issuer.clone(),
    )
    .dereference(data)
    .await?;
    if issuer.kind != ActorKind::Application {
        return Err(FederationError::Unauthorized(
            "a clinician attestation is issued by its server's instance actor",
        ));
    }
    attestation.verify(subject, &issuer.public_key_pem)
}

/// Fetches the actor document at `url` (signed by the instance actor) and checks it, without
/// storing it: the caller decides, once it knows the actor is the one it asked for. (The
/// federation crate follows a document's `id` to another port of the same host name, so the
/// actor returned may live elsewhere than `url`.)
pub async fn fetch_remote(
    url: &Url,
    data: &Data<FederationData>,
) -> Result<FederatedActor, FederationError> {
    let response = fetch_object_http::<_, ActorObject>(url, data).await?;
    FederatedActor::verify(&response.object, &response.url, data).await?;
    Ok(FederatedActor::from_remote_verified(response.object, data).await)
}

#[async_trait]
impl Object for FederatedActor {
    type DataType = FederationData;
    type Kind = ActorObject;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.ap_id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        (!self.local).then_some(self.last_refreshed_at)
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<Self::DataType>,
    ) -> Result<Option<Self>, Self::Error> {
        data.actor_by_id(&canonical(object_id)).await
    }

    async fn into_json(self, _data: &Data<Self::DataType>) -> Result<Self::Kind, Self::Error> {
        Ok(self.to_object())
    }

    /// An actor document must come from the host it names, and its key must be its own.
    async fn verify(
        json: &Self::Kind,
        expected_domain: &Url,
        _data: &Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        if !same_origin(&json.id, expected_domain) || !same_origin(&json.inbox, expected_domain) {
            return Err(FederationError::Malformed(
                "the actor is not on the host it came from".into(),
            ));
        }
        let shared_inbox = json
            .endpoints
            .as_ref()
            .and_then(|e| e.shared_inbox.as_ref());
        if shared_inbox.is_some_and(|inbox| !same_origin(inbox, expected_domain)) {
            return Err(FederationError::Malformed(
                "the shared inbox is on another host".into(),
            ));
        }
        if json.public_key.owner != json.id {
            return Err(FederationError::Malformed(
                "publicKey.owner is not the actor".into(),
            ));
        }
        Ok(())
    }

    async fn from_json(json: Self::Kind, data: &Data<Self::DataType>) -> Result<Self, Self::Error> {
        data.save_remote_actor(Self::from_remote_verified(json, data).await)
            .await
    }
}

impl Actor for FederatedActor {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        self.private_key.as_ref().map(|k| k.expose().to_owned())
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.shared_inbox.clone()
    }

    fn public_key(&self) -> PublicKey {
        // `main_key_id` is private to the crate; this is its format.
        PublicKey {
            id: format!("{}#main-key", self.ap_id),
            owner: self.ap_id.clone(),
            public_key_pem: self.public_key_pem.clone(),
        }
    }
}
