//! Outgoing activities, as JSON. An `Accept` or `Reject` embeds the whole `Follow` (Lemmy
//! requires it); a group's `Announce` carries what it shares.

use crate::protocol::{
    actor::ActorObject,
    context,
    post::{PUBLIC, PostObject},
};
use serde_json::{Value, json};
use url::Url;

fn with_context(mut activity: Value) -> Value {
    if let Some(object) = activity.as_object_mut() {
        object.insert("@context".into(), context());
    }
    activity
}

/// Removes `@context` from an activity about to be embedded in another.
pub fn embedded(mut activity: Value) -> Value {
    if let Some(object) = activity.as_object_mut() {
        object.remove("@context");
    }
    activity
}

/// `actor` asks to follow (or join) `object`.
pub fn follow(id: &Url, actor: &Url, object: &Url) -> Value {
    with_context(
        json!({ "id": id, "type": "Follow", "actor": actor, "object": object, "to": [object] }),
    )
}

/// `actor` blocks `object` (Mastodon's shape: the blocked actor by id, addressed to it).
pub fn block(id: &Url, actor: &Url, object: &Url) -> Value {
    with_context(
        json!({ "id": id, "type": "Block", "actor": actor, "object": object, "to": [object] }),
    )
}

/// `actor` (this instance's actor: the reporter stays anonymous) reports `objects` (the
/// account, then its posts) to their server's moderators, as Mastodon's `Flag`; Hearth's
/// category travels as `hearthCategory`.
pub fn flag(id: &Url, actor: &Url, objects: &[Url], comment: &str, category: &str) -> Value {
    with_context(json!({
        "id": id,
        "type": "Flag",
        "actor": actor,
        "content": comment,
        "object": objects,
        "hearthCategory": category,
    }))
}

/// `actor` accepts `follow`, embedded whole.
pub fn accept(id: &Url, actor: &Url, follow: &Value) -> Value {
    answer("Accept", id, actor, follow)
}

/// `actor` rejects `follow` (or ends a membership), embedded whole.
pub fn reject(id: &Url, actor: &Url, follow: &Value) -> Value {
    answer("Reject", id, actor, follow)
}

fn answer(kind: &str, id: &Url, actor: &Url, follow: &Value) -> Value {
    let to = follow
        .get("actor")
        .cloned()
        .map(|a| vec![a])
        .unwrap_or_default();
    with_context(
        json!({ "id": id, "type": kind, "actor": actor, "object": embedded(follow.clone()), "to": to }),
    )
}

/// `actor` undoes `object` (embedded whole).
pub fn undo(id: &Url, actor: &Url, object: &Value) -> Value {
    let to = object.get("to").cloned().unwrap_or(Value::Array(vec![]));
    with_context(
        json!({ "id": id, "type": "Undo", "actor": actor, "object": embedded(object.clone()), "to": to }),
    )
}

/// `Create` of a post, addressed as the post is.
pub fn create(id: &Url, post: &PostObject) -> Value {
    wrap_post("Create", id, post)
}

/// `Update` of an edited post.
pub fn update(id: &Url, post: &PostObject) -> Value {
    wrap_post("Update", id, post)
}

fn wrap_post(kind: &str, id: &Url, post: &PostObject) -> Value {
    let mut activity = json!({
        "id": id,
        "type": kind,
        "actor": post.attributed_to,
        "object": post,
        "to": post.to,
        "cc": post.cc,
    });
    if let (Some(audience), Some(object)) = (&post.audience, activity.as_object_mut()) {
        object.insert("audience".into(), json!(audience));
    }
    with_context(activity)
}

/// `Update` of an actor's own document (a new name, bio, avatar or header), public as
/// Mastodon sends it, copied to its followers.
pub fn update_actor(id: &Url, actor: &ActorObject) -> Value {
    let cc: Vec<&Url> = actor.followers.iter().collect();
    with_context(json!({
        "id": id,
        "type": "Update",
        "actor": actor.id,
        "object": actor,
        "to": [PUBLIC],
        "cc": cc,
    }))
}

/// `Add` (or `Remove`, when `pinned` is false) of `object` to the actor's `featured`
/// collection: a pinned post, as Lemmy sends a community's featured post.
pub fn featured(id: &Url, actor: &Url, object: &Url, featured: &Url, pinned: bool) -> Value {
    with_context(json!({
        "id": id,
        "type": if pinned { "Add" } else { "Remove" },
        "actor": actor,
        "object": object,
        "target": featured,
    }))
}

/// `actor` deletes `object`.
pub fn delete(id: &Url, actor: &Url, object: &Url, to: &[Url], cc: &[Url]) -> Value {
    with_context(json!({
        "id": id,
        "type": "Delete",
        "actor": actor,
        "object": { "id": object, "type": "Tombstone" },
        "to": to,
        "cc": cc,
    }))
}

/// `actor` likes `object`.
pub fn like(id: &Url, actor: &Url, object: &Url, to: &[Url]) -> Value {
    with_context(json!({ "id": id, "type": "Like", "actor": actor, "object": object, "to": to }))
}

/// A person boosts a post, or a group does for microblogs: the post by id (they fetch it
/// from its author's server and ignore an embedded copy; Pixelfed accepts nothing else),
/// with `published`.
pub fn boost(id: &Url, actor: &Url, post: &Url, to: &[Url], cc: &[Url]) -> Value {
    with_context(json!({
        "id": id,
        "type": "Announce",
        "actor": actor,
        "object": post,
        "published": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "to": to,
        "cc": cc,
    }))
}

/// A group shares `object` with its members (FEP-1b12).
pub fn announce(id: &Url, group: &Url, object: Value, to: &[Url], cc: &[Url]) -> Value {
    with_context(json!({
        "id": id,
        "type": "Announce",
        "actor": group,
        "object": embedded(object),
        "to": to,
        "cc": cc,
        "audience": group,
    }))
}
