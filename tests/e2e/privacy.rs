//! Members-only groups: their posts reach member servers only, and their posts and collections
//! answer only signed fetches from member servers, with 404 (not 403) to anyone else.

use hearth_tests::{
    Engine, Instance, JoinPolicy, StubPeer, UserRole, Visibility, on_both_engines, settle,
};
use serde_json::{Value, json};

async fn approve_all(a: &Instance, group_id: i64, token: &str) {
    let (_, requests) = a
        .api_get(
            &format!("/api/hearth/v1/groups/{group_id}/requests"),
            Some(token),
        )
        .await;
    for request in requests.as_array().cloned().unwrap_or_default() {
        let id = request["id"].as_str().unwrap_or_default();
        let (status, _) = a
            .api_post(
                &format!("/api/hearth/v1/groups/{group_id}/requests/{id}/approve"),
                token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
}

/// A members-only group on A with a member on B, a member on a microblog-style server (the
/// stub), and nobody on C.
async fn a_members_only_group_is_invisible_to_non_members(engine: Engine) {
    let (a, b, c) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let peer = StubPeer::start().await;
    let mona = a.create_user("mona", UserRole::Moderator).await;
    let mona_token = a.token("mona").await;
    let group = a
        .create_group_with(
            "survivors",
            "Cancer survivors",
            Visibility::MembersOnly,
            JoinPolicy::Open,
            Some(&mona),
        )
        .await;
    let group_url = a.url("/groups/survivors").to_string();
    b.create_user("bob", UserRole::Member).await;
    let bob = b.token("bob").await;
    c.create_user("carol", UserRole::Member).await;
    let carol = c.token("carol").await;

    // Members-only groups always need approval, whatever was asked for.
    let (_, doc) = a
        .api_get(&format!("/api/hearth/v1/groups/{}", group.id), None)
        .await;
    assert_eq!(doc["join_policy"], "approval");
    let on_b = b.account_id(&format!("survivors@{}", a.domain), &bob).await;
    b.api_post(&format!("/api/v1/accounts/{on_b}/follow"), &bob, json!({}))
        .await;
    let follow = json!({ "@context": "https://www.w3.org/ns/activitystreams", "id": peer.id("follow"), "type": "Follow", "actor": peer.actor("gina"), "object": group_url });
    assert_eq!(
        peer.send("gina", &a, "/groups/survivors/inbox", &follow)
            .await,
        202
    );
    settle(&[&a, &b, &c]).await;
    approve_all(&a, group.id, &mona_token).await;
    settle(&[&a, &b, &c]).await;
    let accept = peer
        .received()
        .into_iter()
        .find(|d| d.body["type"] == "Accept")
        .map(|d| d.body)
        .unwrap_or(Value::Null);
    assert_eq!(
        accept["object"]["type"], "Follow",
        "the Accept embeds the whole Follow: {accept}"
    );
    assert_eq!(accept["object"]["actor"], peer.actor("gina").as_str());

    let (status, posted) = a
        .api_post(
            "/api/v1/statuses",
            &mona_token,
            json!({ "status": "Only for members", "group_id": group.id.to_string() }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(posted["visibility"], "private");
    settle(&[&a, &b, &c]).await;
    let uri = posted["uri"].as_str().unwrap_or_default().to_owned();

    // B's member sees it, once.
    let (_, timeline) = b.api_get("/api/v1/timelines/home", Some(&bob)).await;
    let copies = timeline
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            s["content"]
                .as_str()
                .is_some_and(|c| c.contains("Only for members"))
        })
        .count();
    assert_eq!(copies, 1, "{timeline}");

    // C has no member: it never received anything, stores nothing, and cannot fetch it.
    assert!(c.received("/inbox").is_empty() && c.received("/users/carol/inbox").is_empty());
    assert_eq!(c.post_count().await, 0);
    let (_, carol_home) = c.api_get("/api/v1/timelines/home", Some(&carol)).await;
    assert_eq!(carol_home.as_array().map(Vec::len), Some(0));
    for path in [
        uri.clone(),
        format!("{uri}/shared"),
        format!("{group_url}/outbox"),
        format!("{group_url}/followers"),
    ] {
        assert_eq!(c.signed_get(&path).await, 404, "C's signed fetch of {path}");
        let unsigned = hearth_tests::http()
            .get(&path)
            .header("accept", "application/activity+json")
            .send()
            .await;
        assert_eq!(
            unsigned.map(|r| r.status().as_u16()).ok(),
            Some(404),
            "unsigned fetch of {path}"
        );
        assert_eq!(
            b.signed_get(&path).await,
            200,
            "B, a member's server, may fetch {path}"
        );
    }

    // The microblog-style member got an Announce (for Lemmy-like servers) and the group's own
    // followers-only copy crediting the author (for GoToSocial and Mastodon). Nothing is public
    // and no member is named.
    let delivered = peer.received();
    let copy = delivered
        .iter()
        .find(|d| d.body["type"] == "Create" && d.body["actor"] == group_url.as_str())
        .map(|d| d.body.clone())
        .unwrap_or_else(|| panic!("no copy from the group: {delivered:#?}"));
    assert_eq!(copy["object"]["attributedTo"], group_url.as_str());
    assert_eq!(
        copy["object"]["to"],
        json!([format!("{group_url}/followers")])
    );
    assert!(
        copy["object"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("@mona@") && c.contains("Only for members"))
    );
    assert_eq!(copy["object"]["hearthCopyOf"], uri.as_str());
    for d in &delivered {
        let text = d.body.to_string();
        assert!(!text.contains("#Public"), "nothing public: {text}");
        assert!(!text.contains("/users/bob"), "no member named: {text}");
    }
    assert!(
        delivered
            .iter()
            .any(|d| d.body["type"] == "Announce" && d.body["object"]["type"] == "Create")
    );
}
on_both_engines!(a_members_only_group_is_invisible_to_non_members);
