//! Activities: reading incoming ones into [`Incoming`] (verification only, no writes: the
//! product acts on them through the port), and building outgoing ones.

pub mod builders;

use crate::{
    FederationError,
    context::FederationData,
    objects::actor::FederatedActor,
    protocol::{actor::ActorKind, authority, canonical, post::PostObject, same_origin},
};
use activitypub_federation::{config::Data, fetch::fetch_object_http, traits::Activity};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// What every activity has: an id, an actor and a type. The actor may be given as an object.
#[derive(Clone, Debug, Deserialize)]
pub struct InboxActivity {
    /// The activity's id; its host must be the actor's.
    #[serde(deserialize_with = "canonical_url")]
    pub id: Url,
    /// Who sent it; the HTTP signature must be this actor's.
    #[serde(deserialize_with = "id_of")]
    pub actor: Url,
    /// `Follow`, `Create`, ...
    #[serde(rename = "type")]
    pub kind: String,
}

/// A reference to a Follow, as an `Accept`, `Reject` or `Undo` carries it (whole, or its id).
#[derive(Clone, Debug, PartialEq)]
pub struct FollowRef {
    /// The Follow's id.
    pub id: Url,
    /// Who followed, when given.
    pub actor: Option<Url>,
    /// Who was followed, when given.
    pub object: Option<Url>,
}

/// An incoming activity, read and checked, for the product to act on.
#[derive(Clone, Debug)]
pub enum Incoming {
    /// The sender asks to follow (or join) `object`.
    Follow {
        /// The Follow's id.
        id: Url,
        /// Who is followed.
        object: Url,
        /// The Follow as received, to embed whole in the Accept or Reject.
        raw: Value,
    },
    /// The sender accepted a follow.
    Accept(FollowRef),
    /// The sender rejected (or ended) a follow.
    Reject(FollowRef),
    /// The sender withdraws a follow.
    UndoFollow(FollowRef),
    /// The sender withdraws an activity given by id only (its type unknown).
    UndoById(Url),
    /// The sender withdraws a like.
    UndoLike {
        /// The Like's id.
        id: Url,
        /// Who liked (the sender, or the inner actor of an announced Undo).
        actor: Url,
        /// The liked object, when given.
        object: Option<Url>,
        /// The group that relayed it.
        via: Option<Url>,
    },
    /// A new post, or a new version of one. `via` is the group that shared it, if it came in an
    /// `Announce`.
    Post {
        /// The post, from its origin.
        post: Box<PostObject>,
        /// Whether this is an edit (`Update`).
        update: bool,
        /// The announcing group.
        via: Option<Url>,
    },
    /// The sender deletes `object`. `via` is the group that shared the deletion.
    Delete {
        /// The deleted object's id.
        object: Url,
        /// Who deleted it (the sender, or the inner actor of an announced Delete).
        actor: Url,
        /// The announcing group.
        via: Option<Url>,
    },
    /// `actor` likes `object`.
    Like {
        /// The Like's id.
        id: Url,
        /// Who likes it.
        actor: Url,
        /// The liked object.
        object: Url,
        /// The group that relayed it (it may relay likes of its own posts only).
        via: Option<Url>,
    },
    /// A person (or bot) shares a post hosted here: a boost. Nothing is fetched; the product
    /// knows the post. A group's `Announce` is never one of these: it relays (FEP-1b12).
    Share {
        /// The Announce's id.
        id: Url,
        /// Who shares it (the sender).
        actor: Url,
        /// The shared post, hosted here.
        object: Url,
    },
    /// The sender withdraws its boost: the `Announce`'s id.
    UndoShare(Url),
    /// The sender blocks `object` (a person here, if it concerns anyone here).
    Block {
        /// The Block's id (its Undo names it).
        id: Url,
        /// Who is blocked.
        object: Url,
    },
    /// The sender withdraws a block.
    UndoBlock {
        /// The Block's id.
        id: Url,
        /// Who was blocked, when given.
        object: Option<Url>,
    },
    /// The sender (usually a server's instance actor, for an anonymous reporter) reports an
    /// account and some of its posts to the moderators here (Mastodon's `Flag`).
    Flag {
        /// The reported accounts and posts, as given (`object`: one id or several).
        objects: Vec<Url>,
        /// The reporter's comment, plain text, at most [`MAX_FLAG_COMMENT`] characters.
        comment: String,
        /// Hearth's category (`hearthCategory`), when the sender gave one.
        category: Option<String>,
    },
    /// The sender puts a post in its `featured` collection (`Add`), or takes it out
    /// (`Remove`): a group's moderators pinned or unpinned a post, as Lemmy sends a featured
    /// post. Only an `Add` or `Remove` whose `target` is under the sender's own id is read so.
    Featured {
        /// The post.
        object: Url,
        /// True for `Add`, false for `Remove`.
        pinned: bool,
    },
    /// The sender's own document changed (name, bio, avatar, header, key): it is stored
    /// again as sent, checked as a fetched one would be.
    ActorUpdated(Box<FederatedActor>),
    /// Anything else: acknowledged and dropped.
    Other {
        /// The activity type.
        kind: String,
    },
}

/// Longest comment kept from a `Flag`, in characters (Mastodon's limit for reports).
pub const MAX_FLAG_COMMENT: usize = 1000;

/// Most objects read from a `Flag` (an account and its posts).
const MAX_FLAG_OBJECTS: usize = 101;

/// Reads a verified activity (its signature already checked) into [`Incoming`]. Embedded
/// objects from another origin than the sender's are fetched from their origin, not trusted.
pub async fn read(
    body: &Value,
    envelope: &InboxActivity,
    sender: &FederatedActor,
    data: &Data<FederationData>,
) -> Result<Incoming, FederationError> {
    let object = body.get("object").cloned().unwrap_or(Value::Null);
    Ok(match envelope.kind.as_str() {
        "Follow" => Incoming::Follow {
            id: envelope.id.clone(),
            object: url_of(&object).ok_or_else(|| malformed("Follow without object"))?,
            raw: body.clone(),
        },
        "Accept" | "Reject" => {
            let follow = follow_ref(&object)?;
            if follow.object.as_ref().is_some_and(|o| o != &sender.ap_id) {
                return Err(refused("only the followed actor answers a follow"));
            }
            if envelope.kind == "Accept" {
                Incoming::Accept(follow)
            } else {
                Incoming::Reject(follow)
            }
        }
        "Undo" => {
            let kind = object
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let inner_actor = object.get("actor").and_then(url_of_value);
            if inner_actor.as_ref().is_some_and(|a| a != &sender.ap_id) {
                return Err(refused("only its actor can undo an activity"));
            }
            match kind {
                "Follow" => Incoming::UndoFollow(follow_ref(&object)?),
                "Block" => Incoming::UndoBlock {
                    id: url_of(&object).ok_or_else(|| malformed("Undo without object id"))?,
                    object: object.get("object").and_then(url_of_value),
                },
                "Like" | "Dislike" => Incoming::UndoLike {
                    id: url_of(&object).ok_or_else(|| malformed("Undo without object id"))?,
                    actor: sender.ap_id.clone(),
                    object: object.get("object").and_then(url_of_value),
                    via: None,
                },
                "Announce" => Incoming::UndoShare(
                    url_of(&object).ok_or_else(|| malformed("Undo without object id"))?,
                ),
                // Only the undone activity's id (Pleroma undoes a Like so).
                "" => Incoming::UndoById(
                    url_of(&object).ok_or_else(|| malformed("Undo without object"))?,
                ),
                other => Incoming::Other {
                    kind: format!("Undo/{other}"),
                },
            }
        }
        "Update" if actor_of(&object).is_some() => {
            let json = actor_of(&object).ok_or_else(|| malformed("unreadable actor"))?;
            // Only an actor's own signed Update speaks for it.
            if canonical(json.id.clone()) != sender.ap_id {
                return Err(refused("an actor can only update itself"));
            }
            let origin = sender.ap_id.clone();
            <FederatedActor as activitypub_federation::traits::Object>::verify(
                &json, &origin, data,
            )
            .await?;
            Incoming::ActorUpdated(Box::new(
                FederatedActor::from_remote_verified(json, data).await,
            ))
        }
        "Create" | "Update" => {
            let update = envelope.kind == "Update";
            match post_of(&object)? {
                Some(post) => {
                    // Judged before anything is fetched: only the author creates or edits.
                    if post.attributed_to != sender.ap_id {
                        return Err(refused("a post can only be sent by its author"));
                    }
                    let post = checked_post(post, sender, data).await?;
                    Incoming::Post {
                        post: Box::new(post),
                        update,
                        via: None,
                    }
                }
                None => Incoming::Other {
                    kind: format!("{}/{}", envelope.kind, type_of(&object)),
                },
            }
        }
        "Delete" => {
            let object = url_of(&object).ok_or_else(|| malformed("Delete without object"))?;
            Incoming::Delete {
                object,
                actor: sender.ap_id.clone(),
                via: None,
            }
        }
        "Like" => Incoming::Like {
            id: envelope.id.clone(),
            actor: sender.ap_id.clone(),
            object: url_of(&object).ok_or_else(|| malformed("Like without object"))?,
            via: None,
        },
        "Announce" => read_announce(&envelope.id, &object, sender, data).await?,
        "Add" | "Remove"
            if body
                .get("target")
                .and_then(url_of_value)
                .is_some_and(|target| under(&target, &sender.ap_id)) =>
        {
            Incoming::Featured {
                object: url_of(&object).ok_or_else(|| malformed("Add without object"))?,
                pinned: envelope.kind == "Add",
            }
        }
        "Block" => Incoming::Block {
            id: envelope.id.clone(),
            object: url_of(&object).ok_or_else(|| malformed("Block without object"))?,
        },
        "Flag" => {
            let objects: Vec<Url> = match &object {
                Value::Array(items) => items
                    .iter()
                    .take(MAX_FLAG_OBJECTS)
                    .filter_map(url_of_value)
                    .collect(),
                single => url_of(single).into_iter().collect(),
            };
            if objects.is_empty() {
                return Err(malformed("Flag without object"));
            }
            let comment = body
                .get("content")
                .and_then(Value::as_str)
                .map(|c| crate::bounds::text(c, MAX_FLAG_COMMENT))
                .unwrap_or_default();
            let category = body
                .get("hearthCategory")
                .and_then(Value::as_str)
                .map(|c| crate::bounds::text(c, 32));
            Incoming::Flag {
                objects,
                comment,
                category,
            }
        }
        other => Incoming::Other {
            kind: other.to_owned(),
        },
    })
}

/// A group sharing something (FEP-1b12): a post (bare, by id, or inside a Create or Update),
/// a deletion, or a like; or a person sharing a post of ours (a boost).
async fn read_announce(
    id: &Url,
    object: &Value,
    sender: &FederatedActor,
    data: &Data<FederationData>,
) -> Result<Incoming, FederationError> {
    let via = Some(sender.ap_id.clone());
    let kind = type_of(object);
    let is_post = kind.is_empty() || post_of(object)?.is_some();
    if matches!(sender.kind, ActorKind::Person | ActorKind::Service)
        && is_post
        && let Some(url) = url_of(object)
        && authority(&url) == data.domain().to_ascii_lowercase()
    {
        // A boost of a post of ours: by its id only, whatever the sender embedded.
        return Ok(Incoming::Share {
            id: id.clone(),
            actor: sender.ap_id.clone(),
            object: url,
        });
    }
    if matches!(kind.as_str(), "Update" | "Delete" | "Like" | "Undo")
        && sender.kind != ActorKind::Group
    {
        // Only a group relays other people's activities; a person announcing them is forging.
        return Err(FederationError::Refused(format!(
            "only a group may relay a {kind}"
        )));
    }
    Ok(match kind.as_str() {
        "" => {
            // Only an id: fetch it from its origin. A group relaying a post of ours changes
            // nothing here (people's boosts of them were read above).
            let url = url_of(object).ok_or_else(|| malformed("Announce without object"))?;
            if authority(&url) == data.domain().to_ascii_lowercase() {
                return Ok(Incoming::Other {
                    kind: "Announce/local".into(),
                });
            }
            let post = fetch_post(&url, data).await?;
            Incoming::Post {
                post: Box::new(post),
                update: false,
                via,
            }
        }
        "Create" | "Update" => {
            let inner = object.get("object").cloned().unwrap_or(Value::Null);
            let inner_actor = object.get("actor").and_then(url_of_value);
            let post = match post_of(&inner)? {
                Some(post)
                    if inner_actor
                        .as_ref()
                        .is_some_and(|a| *a != post.attributed_to) =>
                {
                    return Err(refused("a post can only be sent by its author"));
                }
                Some(post) => checked_post(post, sender, data).await?,
                None => {
                    fetch_post(
                        &url_of(&inner).ok_or_else(|| malformed("empty Create"))?,
                        data,
                    )
                    .await?
                }
            };
            Incoming::Post {
                post: Box::new(post),
                update: kind == "Update",
                via,
            }
        }
        "Delete" => {
            let target = object
                .get("object")
                .and_then(url_of_value)
                .ok_or_else(|| malformed("empty Delete"))?;
            let actor = object
                .get("actor")
                .and_then(url_of_value)
                .ok_or_else(|| malformed("Delete without actor"))?;
            Incoming::Delete {
                object: target,
                actor,
                via,
            }
        }
        "Like" => {
            let actor = object
                .get("actor")
                .and_then(url_of_value)
                .ok_or_else(|| malformed("Like without actor"))?;
            let id = url_of(object).ok_or_else(|| malformed("Like without id"))?;
            if !same_origin(&id, &actor) {
                return Err(malformed("the announced Like is not on its actor's host"));
            }
            let target = object
                .get("object")
                .and_then(url_of_value)
                .ok_or_else(|| malformed("empty Like"))?;
            Incoming::Like {
                id,
                actor,
                object: target,
                via,
            }
        }
        "Undo" => {
            // A group relaying that someone withdrew a like.
            let actor = object
                .get("actor")
                .and_then(url_of_value)
                .ok_or_else(|| malformed("Undo without actor"))?;
            let inner = object.get("object").cloned().unwrap_or(Value::Null);
            let like = url_of(&inner).ok_or_else(|| malformed("empty Undo"))?;
            let inner_actor = inner.get("actor").and_then(url_of_value);
            if !same_origin(&like, &actor) || inner_actor.is_some_and(|a| a != actor) {
                return Err(malformed("the announced Undo is not its actor's"));
            }
            Incoming::UndoLike {
                id: like,
                actor,
                object: inner.get("object").and_then(url_of_value),
                via,
            }
        }
        _ if post_of(object)?.is_some() => {
            let post = post_of(object)?.ok_or_else(|| malformed("unreadable post"))?;
            Incoming::Post {
                post: Box::new(checked_post(post, sender, data).await?),
                update: false,
                via,
            }
        }
        other => Incoming::Other {
            kind: format!("Announce/{other}"),
        },
    })
}

/// Decides whether an embedded post can be taken as sent. It can when its author sent it
/// (the HTTP signature covers it), or when a group relays a post of its own (`audience` is the
/// group): groups are trusted to relay their members' posts, as Lemmy does, which members-only
/// posts need (their origin answers only member servers). Anything else, such as a person
/// boosting someone else's post, is fetched from its origin instead of trusted.
async fn checked_post(
    post: PostObject,
    sender: &FederatedActor,
    data: &Data<FederationData>,
) -> Result<PostObject, FederationError> {
    let relayed_by_its_group =
        sender.kind == ActorKind::Group && post.audience.as_ref() == Some(&sender.ap_id);
    let checked = if post.attributed_to == sender.ap_id || relayed_by_its_group {
        post
    } else {
        fetch_post(&post.id, data).await?
    };
    if !same_origin(&checked.id, &checked.attributed_to) {
        return Err(refused("a post must be on its author's host"));
    }
    Ok(checked)
}

/// Fetches a post from its origin (signed by the instance actor).
pub async fn fetch_post(
    url: &Url,
    data: &Data<FederationData>,
) -> Result<PostObject, FederationError> {
    let response = fetch_object_http::<_, PostObject>(url, data).await?;
    let post = received(response.object)?;
    if !same_origin(&post.id, &post.attributed_to) {
        return Err(refused("a post must be on its author's host"));
    }
    Ok(post)
}

fn malformed(what: &str) -> FederationError {
    FederationError::Malformed(what.to_owned())
}

/// A well-signed activity that claims what its sender may not: 403.
fn refused(what: &str) -> FederationError {
    FederationError::Refused(what.to_owned())
}

fn type_of(value: &Value) -> String {
    value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A post, if `value` is an embedded object of a post type; an error if it is one but
/// cannot be read.
fn post_of(value: &Value) -> Result<Option<PostObject>, FederationError> {
    let kind = type_of(value);
    if !matches!(
        kind.as_str(),
        "Note" | "Page" | "Article" | "Question" | "Event"
    ) {
        return Ok(None);
    }
    let post = serde_json::from_value::<PostObject>(value.clone())
        .map_err(|e| FederationError::Malformed(format!("unreadable {kind}: {e}")))?;
    received(post).map(Some)
}

/// Every post read from another server, embedded or fetched, enters here: in canonical form,
/// normalised and bounded (see [`crate::bounds`]).
fn received(post: PostObject) -> Result<PostObject, FederationError> {
    crate::bounds::post(post.canonicalised(), chrono::Utc::now())
}

/// An actor document, if `value` is an embedded object of an actor type that can be read.
fn actor_of(value: &Value) -> Option<crate::protocol::actor::ActorObject> {
    let kind = type_of(value);
    if !matches!(
        kind.as_str(),
        "Person" | "Group" | "Service" | "Application" | "Organization"
    ) {
        return None;
    }
    serde_json::from_value(value.clone()).ok()
}

/// Whether `url` is `actor` itself or lies under its path, on its server (a group's
/// `featured` collection, say).
fn under(url: &Url, actor: &Url) -> bool {
    let base = actor.path().trim_end_matches('/');
    url.origin() == actor.origin()
        && (url.path() == base || url.path().starts_with(&format!("{base}/")))
}

/// The id of an object given inline or by reference.
fn url_of(value: &Value) -> Option<Url> {
    url_of_value(value)
}

/// The id, in canonical form, of an object given inline or by reference.
fn url_of_value(value: &Value) -> Option<Url> {
    let url = match value {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
        _ => None,
    };
    url.map(canonical)
}

fn canonical_url<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    Url::deserialize(deserializer).map(canonical)
}

fn follow_ref(value: &Value) -> Result<FollowRef, FederationError> {
    Ok(FollowRef {
        id: url_of(value).ok_or_else(|| malformed("a Follow reference without id"))?,
        actor: value.get("actor").and_then(url_of_value),
        object: value.get("object").and_then(url_of_value),
    })
}

fn id_of<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match &value {
        Value::String(_) | Value::Object(_) => {
            url_of_value(&value).ok_or_else(|| serde::de::Error::custom("actor is not a URL"))
        }
        _ => Err(serde::de::Error::custom("actor must be one URL")),
    }
}

/// An activity built here, as JSON, ready to be signed and sent.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct OutgoingActivity {
    body: Value,
    #[serde(skip)]
    id: Url,
    #[serde(skip)]
    actor: Url,
}

impl OutgoingActivity {
    /// Wraps an activity; fails if it has no `id` or `actor` URL.
    pub fn new(body: Value) -> Result<Self, FederationError> {
        let id = body
            .get("id")
            .and_then(url_of_value)
            .ok_or_else(|| malformed("outgoing activity without id"))?;
        let actor = body
            .get("actor")
            .and_then(url_of_value)
            .ok_or_else(|| malformed("outgoing activity without actor"))?;
        Ok(Self { body, id, actor })
    }
}

#[async_trait]
impl Activity for OutgoingActivity {
    type DataType = FederationData;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, _data: &Data<Self::DataType>) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn receive(self, _data: &Data<Self::DataType>) -> Result<(), Self::Error> {
        Ok(())
    }
}
