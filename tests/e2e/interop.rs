//! Activities captured from real GoToSocial and Lemmy servers (`tests/fixtures/peers/`),
//! replayed byte for byte but for their hosts: the stub peer stands in for the server that
//! sent them, signing with its own key. Each is accepted and does what it means.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines, settle};
use serde_json::{Value, json};
use std::path::PathBuf;

/// A captured activity with the capture's hosts replaced by the stub's and the instance's.
fn captured(path: &str, peer: &StubPeer, a: &Instance) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/peers")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let base = peer.base.as_str();
    let group = a.url("/groups/support");
    let sam = a.url("/users/sam");
    let stub = format!("{base}stub/");
    let text = [
        ("http://runsc:18290/groups/support", group.as_str()),
        ("http://runsc:18390/groups/hearthgrp", group.as_str()),
        ("http://runsc:18290/users/sam", sam.as_str()),
        ("http://runsc:18390/users/sam", sam.as_str()),
        ("http://runsc:18290/", stub.as_str()),
        ("http://runsc:18390/", stub.as_str()),
        ("http://127.0.0.1:18280/", base),
        ("http://localhost:18341/", base),
    ]
    .iter()
    .fold(text, |text, (from, to)| text.replace(from, to));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn group_statuses(a: &Instance, token: &str, group_id: i64) -> Vec<Value> {
    let (status, list) = a
        .api_get(
            &format!("/api/v1/accounts/{group_id}/statuses"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

fn find<'a>(list: &'a [Value], needle: &str) -> Option<&'a Value> {
    list.iter()
        .find(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
}

/// GoToSocial's user `gina` joins the group, posts into it publicly and by direct mention,
/// edits and deletes, and leaves, exactly as GoToSocial 0.20 sent it.
async fn gotosocial_activities_are_understood(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start_as(Some("gotosocial")).await;
    let group = a.create_group("support", "Support").await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let inbox = "/groups/support/inbox";

    assert_eq!(
        peer.send(
            "gina",
            &a,
            inbox,
            &captured("gotosocial/follow-group.json", &peer, &a)
        )
        .await,
        202
    );
    settle(&[&a]).await;
    let accept = peer
        .received()
        .into_iter()
        .find(|d| d.body["type"] == "Accept")
        .map(|d| d.body)
        .unwrap_or(Value::Null);
    let follow = captured("gotosocial/follow-group.json", &peer, &a);
    assert_eq!(
        accept["object"]["id"], follow["id"],
        "the Accept embeds GoToSocial's Follow"
    );
    assert_eq!(accept["object"]["type"], "Follow");

    let public = captured("gotosocial/create-note-public-mention.json", &peer, &a);
    assert_eq!(peer.send("gina", &a, inbox, &public).await, 202);
    let direct = captured("gotosocial/create-note-direct-mention.json", &peer, &a);
    assert_eq!(peer.send("gina", &a, inbox, &direct).await, 202);
    // The same activity again (a retry) changes nothing.
    assert_eq!(peer.send("gina", &a, inbox, &public).await, 202);
    settle(&[&a]).await;
    let list = group_statuses(&a, &ana, group.id).await;
    let post =
        find(&list, "hello group, public post from gina").unwrap_or_else(|| panic!("{list:#?}"));
    assert_eq!(post["visibility"], "public");
    assert_eq!(
        list.iter()
            .filter(|s| s["content"]
                .as_str()
                .is_some_and(|c| c.contains("public post from gina")))
            .count(),
        1
    );
    // The direct mention to the group is for members only: Ana, not a member, does not see
    // it; it was stored and shared with members (gina's server) without the public.
    assert!(
        find(&list, "direct message to the group").is_none(),
        "{list:#?}"
    );
    assert_eq!(a.post_count().await, 2);
    // GoToSocial reads neither Announce{Create} nor an Announce of a non-public post: the
    // group sends its members' server its own followers-only copy, and nothing else.
    let shared_privately: Vec<Value> = peer
        .received()
        .into_iter()
        .map(|d| d.body)
        .filter(|body| body.to_string().contains("direct message to the group"))
        .collect();
    assert_eq!(shared_privately.len(), 1, "{shared_privately:#?}");
    let copy = &shared_privately[0];
    assert_eq!(
        (&copy["type"], &copy["object"]["hearthCopyOf"]),
        (&json!("Create"), &direct["object"]["id"]),
        "{copy:#}"
    );
    assert!(!copy.to_string().contains("#Public"));

    // The group shared the public post with gina's server once, as a boost GoToSocial shows.
    let announces: Vec<Value> = peer
        .received()
        .into_iter()
        .filter(|d| d.body["type"] == "Announce")
        .map(|d| d.body)
        .collect();
    assert_eq!(announces.len(), 1, "one form only: {announces:#?}");
    assert_eq!(announces[0]["object"], public["object"]["id"]);

    let update = captured("gotosocial/update-note.json", &peer, &a);
    assert_eq!(peer.send("gina", &a, inbox, &update).await, 202);
    let list = group_statuses(&a, &ana, group.id).await;
    let edited = find(&list, "public post from gina").unwrap_or_else(|| panic!("{list:#?}"));
    assert!(edited["edited_at"].is_string(), "{edited}");

    let delete = captured("gotosocial/delete-note.json", &peer, &a);
    assert_eq!(peer.send("gina", &a, inbox, &delete).await, 202);
    assert!(
        find(
            &group_statuses(&a, &ana, group.id).await,
            "public post from gina"
        )
        .is_none()
    );

    let undo = captured("gotosocial/undo-follow.json", &peer, &a);
    assert_eq!(peer.send("gina", &a, inbox, &undo).await, 202);
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{}", group.id), None)
        .await;
    assert_eq!(account["followers_count"], 0, "gina left");
}
on_both_engines!(gotosocial_activities_are_understood);

/// Lemmy's user `luke` joins, posts a titled `Page`, comments and replies, votes, deletes and
/// leaves (with a new id on the Undo), exactly as Lemmy 0.19 sent it.
async fn lemmy_activities_are_understood(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start_as(Some("lemmy")).await;
    let group = a.create_group("support", "Support").await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let inbox = "/inbox";
    let send = |path: &'static str| {
        let activity = captured(path, &peer, &a);
        let peer = &peer;
        let a = &a;
        async move { peer.send("u/luke", a, inbox, &activity).await }
    };

    assert_eq!(send("lemmy/follow-group.json").await, 202);
    assert_eq!(send("lemmy/create-page.json").await, 202);
    assert_eq!(send("lemmy/create-note-comment.json").await, 202);
    assert_eq!(send("lemmy/create-note-reply-to-comment.json").await, 202);
    settle(&[&a]).await;

    // Lemmy reads the group's Announce{Create}, and gets only that form.
    let shared: Vec<Value> = peer
        .received()
        .into_iter()
        .filter(|d| d.body["type"] == "Announce")
        .map(|d| d.body)
        .collect();
    assert_eq!(shared.len(), 3, "post, comment, reply: {shared:#?}");
    assert!(
        shared.iter().all(|an| an["object"]["type"] == "Create"),
        "{shared:#?}"
    );

    let list = group_statuses(&a, &ana, group.id).await;
    let page = find(&list, "Body of luke").unwrap_or_else(|| panic!("{list:#?}"));
    assert!(
        page["content"]
            .as_str()
            .is_some_and(|c| c
                .starts_with("<p><strong>Fixture post from luke into a remote group</strong></p>")),
        "a Lemmy post shows with its title: {page}"
    );
    let page_id = page["id"].as_str().unwrap_or_default().to_owned();
    let (_, context) = a
        .api_get(&format!("/api/v1/statuses/{page_id}/context"), Some(&ana))
        .await;
    let replies = context["descendants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        replies.len(),
        2,
        "the comment and the reply to it thread under the post: {context}"
    );

    assert_eq!(
        send("lemmy/like.json").await,
        202,
        "a vote on a post this instance does not have is acknowledged"
    );
    assert_eq!(send("lemmy/delete-comment.json").await, 202);
    let (_, context) = a
        .api_get(&format!("/api/v1/statuses/{page_id}/context"), Some(&ana))
        .await;
    assert!(
        context["descendants"]
            .as_array()
            .is_some_and(|d| d.len() < 2),
        "the deleted comment is gone: {context}"
    );

    assert_eq!(send("lemmy/undo-follow.json").await, 202);
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{}", group.id), None)
        .await;
    assert_eq!(
        account["followers_count"], 0,
        "Lemmy's Undo carries a new id; the membership still ends"
    );
}
on_both_engines!(lemmy_activities_are_understood);

/// A person who is not a member cannot post into a group: a clear refusal, nothing stored.
async fn a_non_member_post_into_a_group_is_refused(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    a.create_group("support", "Support").await;
    let activity = captured("gotosocial/create-note-public-mention.json", &peer, &a);
    assert_eq!(
        peer.send("gina", &a, "/groups/support/inbox", &activity)
            .await,
        403
    );
    assert_eq!(a.post_count().await, 0);
    let _ = json!({});
}
on_both_engines!(a_non_member_post_into_a_group_is_refused);

/// A Lemmy community's posts, comments, votes, edits and deletions reach its member here,
/// exactly as Lemmy 0.19 announced them; the bare `Announce{Page}` Lemmy sends as well does
/// not double the post.
async fn a_lemmy_group_reaches_its_member_here(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    a.create_user("sam", UserRole::Member).await;
    let sam = a.token("sam").await;
    let community = peer.actor("c/support");
    let (status, found) = a
        .api_get(
            &format!("/api/v2/search?q={community}&resolve=true"),
            Some(&sam),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["accounts"][0]["group"], true, "{found}");
    let id = found["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    a.api_post(&format!("/api/v1/accounts/{id}/follow"), &sam, json!({}))
        .await;
    settle(&[&a]).await;
    let follow = peer
        .received()
        .into_iter()
        .find(|d| d.body["type"] == "Follow")
        .map(|d| d.body)
        .unwrap_or(Value::Null);
    assert_eq!(follow["object"], community.as_str(), "{follow}");

    let send = |path: &'static str| {
        let activity = captured(path, &peer, &a);
        let (peer, a) = (&peer, &a);
        async move { peer.send("c/support", a, "/inbox", &activity).await }
    };
    assert_eq!(send("lemmy/accept-follow.json").await, 202);
    let (_, rel) = a
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={id}"),
            Some(&sam),
        )
        .await;
    assert_eq!(rel[0]["following"], true, "{rel}");

    for path in [
        "lemmy/announce-create-page.json",
        "lemmy/announce-page.json",
        "lemmy/announce-create-note.json",
        "lemmy/announce-like.json",
    ] {
        assert_eq!(send(path).await, 202, "{path}");
    }
    let (_, home) = a.api_get("/api/v1/timelines/home", Some(&sam)).await;
    let home = home.as_array().cloned().unwrap_or_default();
    let posts: Vec<&Value> = home
        .iter()
        .filter(|s| {
            s["content"]
                .as_str()
                .is_some_and(|c| c.contains("Fixture post in the Lemmy community support"))
        })
        .collect();
    assert_eq!(posts.len(), 1, "one post, from two Announces: {home:#?}");
    assert_eq!(posts[0]["favourites_count"], 1);
    assert_eq!(
        posts[0]["hearth_group"]["acct"],
        format!("support@{}", peer.domain)
    );
    let comment = find(&home, "Comment by luke").unwrap_or_else(|| panic!("{home:#?}"));
    assert_eq!(comment["in_reply_to_id"], posts[0]["id"]);

    assert_eq!(send("lemmy/announce-update-page.json").await, 202);
    assert_eq!(send("lemmy/announce-delete-comment.json").await, 202);
    let (_, home) = a.api_get("/api/v1/timelines/home", Some(&sam)).await;
    let home = home.as_array().cloned().unwrap_or_default();
    assert!(
        find(&home, "(edited)").is_some(),
        "the edited title shows: {home:#?}"
    );
    assert!(
        find(&home, "Comment by luke").is_none(),
        "the deleted comment is gone"
    );
}
on_both_engines!(a_lemmy_group_reaches_its_member_here);
