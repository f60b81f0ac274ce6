//! Activities in the shapes Mastodon, Misskey and Pleroma send (`tests/fixtures/written/`,
//! written from their source and documentation): each is accepted and does what it means.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines, settle};
use serde_json::{Value, json};
use std::path::PathBuf;

/// What the placeholders of the written fixtures stand for in one test.
struct Scene<'a> {
    a: &'a Instance,
    peer: &'a StubPeer,
    hearth_post: String,
    hearth_follow: String,
}

impl Scene<'_> {
    fn fixture(&self, server: &str, name: &str) -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/written")
            .join(server)
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let peer = self.peer.base.as_str().trim_end_matches('/');
        let text = text
            .replace("HEARTH_FOLLOW", &self.hearth_follow)
            .replace("HEARTH_PERSON", self.a.url("/users/rowan").as_str())
            .replace("HEARTH_POST", &self.hearth_post)
            .replace("GROUP", self.a.url("/groups/support").as_str())
            .replace("PEER", peer);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{server}/{name}: {e}"))
    }

    async fn send(&self, server: &str, name: &str) {
        let activity = self.fixture(server, name);
        let status = self.peer.send("alice", self.a, "/inbox", &activity).await;
        assert_eq!(status, 202, "{server}/{name} was refused");
    }
}

async fn group_texts(a: &Instance, token: &str, group_id: i64) -> Vec<String> {
    let (_, list) = a
        .api_get(
            &format!("/api/v1/accounts/{group_id}/statuses"),
            Some(token),
        )
        .await;
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["content"].as_str().map(str::to_owned))
        .collect()
}

/// Rowan finds Alice on the peer and asks to follow her; Alice's account id here.
async fn follow_alice(a: &Instance, peer: &StubPeer, rowan: &str) -> String {
    let alice = peer.actor("alice");
    let (_, found) = a
        .api_get(
            &format!("/api/v2/search?q={alice}&resolve=true"),
            Some(rowan),
        )
        .await;
    let alice_id = found["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    a.api_post(
        &format!("/api/v1/accounts/{alice_id}/follow"),
        rowan,
        json!({}),
    )
    .await;
    settle(&[a]).await;
    alice_id
}

async fn status(a: &Instance, token: &str, id: &str) -> Value {
    a.api_get(&format!("/api/v1/statuses/{id}"), Some(token))
        .await
        .1
}

async fn the_shapes_of(server: &str, engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let group = a.create_group("support", "Support").await;
    a.create_user("rowan", UserRole::Member).await;
    let rowan = a.token("rowan").await;
    a.api_post(
        &format!("/api/v1/accounts/{}/follow", group.id),
        &rowan,
        json!({}),
    )
    .await;
    let (_, post) = a
        .api_post(
            "/api/v1/statuses",
            &rowan,
            json!({ "status": "Rowan's question", "group_id": group.id.to_string() }),
        )
        .await;
    let post_id = post["id"].as_str().unwrap_or_default().to_owned();
    let alice_id = follow_alice(&a, &peer, &rowan).await;
    let hearth_follow = peer
        .received()
        .into_iter()
        .find(|d| d.body["type"] == "Follow")
        .and_then(|d| d.body["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("rowan's Follow never reached the peer"));
    let scene = Scene {
        a: &a,
        peer: &peer,
        hearth_post: post["uri"].as_str().unwrap_or_default().to_owned(),
        hearth_follow,
    };

    scene.send(server, "follow-group.json").await;
    settle(&[&a]).await;
    let follow = scene.fixture(server, "follow-group.json");
    let accepted = peer
        .received()
        .into_iter()
        .any(|d| d.body["type"] == "Accept" && d.body["object"]["id"] == follow["id"]);
    assert!(accepted, "{server}: the Accept embeds the Follow");

    scene.send(server, "create-note-in-group.json").await;
    scene.send(server, "create-reply-in-group.json").await;
    let texts = group_texts(&a, &rowan, group.id).await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains(&format!("hello group from {server}"))),
        "{server}: {texts:?}"
    );
    let (_, context) = a
        .api_get(&format!("/api/v1/statuses/{post_id}/context"), Some(&rowan))
        .await;
    assert!(
        context
            .to_string()
            .contains(&format!("reply from {server}")),
        "{server}: the reply threads: {context}"
    );

    scene.send(server, "update-note.json").await;
    assert!(
        group_texts(&a, &rowan, group.id)
            .await
            .iter()
            .any(|t| t.contains(&format!("edited by {server}"))),
        "{server}: edit"
    );

    scene.send(server, "like-post.json").await;
    assert_eq!(
        status(&a, &rowan, &post_id).await["favourites_count"],
        1,
        "{server}: like"
    );
    scene.send(server, "undo-like.json").await;
    assert_eq!(
        status(&a, &rowan, &post_id).await["favourites_count"],
        0,
        "{server}: undo like"
    );

    scene.send(server, "announce-post.json").await;
    assert_eq!(
        a.post_count().await,
        3,
        "{server}: a boost of a post stored here adds nothing"
    );

    // The deleted note is the one that says hello (its text is in every server's fixture,
    // whatever markup surrounds it); the reply stays.
    let hello = format!("hello group from {server}");
    let saying_hello = |texts: &[String]| texts.iter().filter(|t| t.contains(&hello)).count();
    let before = group_texts(&a, &rowan, group.id).await;
    assert_eq!(
        saying_hello(&before),
        1,
        "{server}: before the delete: {before:?}"
    );
    scene.send(server, "delete-note.json").await;
    let after = group_texts(&a, &rowan, group.id).await;
    assert_eq!(saying_hello(&after), 0, "{server}: delete: {after:?}");
    assert_eq!(
        after.len() + 1,
        before.len(),
        "{server}: only the deleted note is gone: {after:?}"
    );

    scene.send(server, "undo-follow.json").await;
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{}", group.id), None)
        .await;
    assert_eq!(
        account["followers_count"], 1,
        "{server}: alice left, rowan stays"
    );

    let relationship = |expected: bool, what: &'static str| {
        let (a, rowan, alice_id) = (&a, rowan.clone(), alice_id.clone());
        async move {
            let (_, rel) = a
                .api_get(
                    &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
                    Some(&rowan),
                )
                .await;
            assert_eq!(rel[0]["following"], expected, "{server}: {what}: {rel}");
        }
    };
    scene.send(server, "accept-follow.json").await;
    relationship(true, "accept").await;
    scene.send(server, "reject-follow.json").await;
    relationship(false, "reject").await;
}

async fn mastodon_shapes_are_understood(engine: Engine) {
    the_shapes_of("mastodon", engine).await;
}
on_both_engines!(mastodon_shapes_are_understood);

async fn misskey_shapes_are_understood(engine: Engine) {
    the_shapes_of("misskey", engine).await;
}
on_both_engines!(misskey_shapes_are_understood);

async fn pleroma_shapes_are_understood(engine: Engine) {
    the_shapes_of("pleroma", engine).await;
}
on_both_engines!(pleroma_shapes_are_understood);

/// A Mastodon person blocks a person here (Mastodon's own `Block` and `Undo` shapes): the
/// person sees `blocked_by`, their follow of the blocker ends; the `Undo` lifts it.
async fn a_mastodon_block_is_understood(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    a.create_user("rowan", UserRole::Member).await;
    let rowan = a.token("rowan").await;
    let alice_id = follow_alice(&a, &peer, &rowan).await;
    let scene = Scene {
        a: &a,
        peer: &peer,
        hearth_post: String::new(),
        hearth_follow: String::new(),
    };
    let relationship = || async {
        let (_, rel) = a
            .api_get(
                &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
                Some(&rowan),
            )
            .await;
        rel[0].clone()
    };
    assert_eq!(relationship().await["requested"], true);
    scene.send("mastodon", "block.json").await;
    let rel = relationship().await;
    assert_eq!(
        (&rel["blocked_by"], &rel["requested"], &rel["following"]),
        (&json!(true), &json!(false), &json!(false)),
        "{rel}"
    );
    scene.send("mastodon", "undo-block.json").await;
    assert_eq!(relationship().await["blocked_by"], false);
}
on_both_engines!(a_mastodon_block_is_understood);
