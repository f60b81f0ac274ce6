//! Peers that lie: forged relays, self-replies, probing for hidden posts. Each found in review
//! and each refused.

use hearth_tests::{
    Engine, Instance, JoinPolicy, StubPeer, UserRole, Visibility, on_both_engines, settle,
};
use serde_json::{Value, json};

const AS: &str = "https://www.w3.org/ns/activitystreams";

/// A person on another server cannot relay a deletion, a like or an edit of someone else's
/// post: only a group relays, and only for its own posts.
async fn a_person_cannot_relay_deletions_likes_or_edits(engine: Engine) {
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
            json!({ "status": "Rowan's words", "group_id": group.id.to_string() }),
        )
        .await;
    let (uri, id) = (
        post["uri"].as_str().unwrap_or_default().to_owned(),
        post["id"].as_str().unwrap_or_default().to_owned(),
    );
    let rowan_url = a.url("/users/rowan").to_string();
    let mallory = peer.actor("mallory");

    let forged_delete = json!({ "@context": AS, "id": peer.id("announce"), "type": "Announce", "actor": mallory,
        "object": { "id": peer.id("delete"), "type": "Delete", "actor": rowan_url, "object": uri } });
    let forged_like = json!({ "@context": AS, "id": peer.id("announce"), "type": "Announce", "actor": mallory,
        "object": { "id": format!("{}users/drsmith/likes/1", peer.base), "type": "Like", "actor": peer.actor("drsmith"), "object": uri } });
    let forged_edit = json!({ "@context": AS, "id": peer.id("announce"), "type": "Announce", "actor": mallory,
        "object": { "id": peer.id("update"), "type": "Update", "actor": rowan_url,
            "object": { "id": uri, "type": "Note", "attributedTo": rowan_url, "content": "FORGED", "to": [format!("{AS}#Public")] } } });
    for (what, activity) in [
        ("delete", forged_delete),
        ("like", forged_like),
        ("edit", forged_edit),
    ] {
        let status = peer.send("mallory", &a, "/inbox", &activity).await;
        // mallory's signature is good: he is who he says, and may not relay this (403). A
        // 401 would mean his own signature was refused.
        assert_eq!(status, 403, "a forged {what}");
    }
    let (status, after) = a
        .api_get(&format!("/api/v1/statuses/{id}"), Some(&rowan))
        .await;
    assert_eq!(status, 200, "the post survived");
    assert_eq!(after["favourites_count"], 0);
    assert!(
        after["content"]
            .as_str()
            .is_some_and(|c| c.contains("words") && !c.contains("FORGED")),
        "{after}"
    );
}
on_both_engines!(a_person_cannot_relay_deletions_likes_or_edits);

/// A post that replies to itself does not make its thread endless.
async fn a_post_replying_to_itself_is_harmless(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let group = a.create_group("support", "Support").await;
    a.create_user("rowan", UserRole::Member).await;
    let rowan = a.token("rowan").await;
    let group_url = a.url("/groups/support").to_string();
    let follow = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": peer.actor("gina"), "object": group_url });
    assert_eq!(peer.send("gina", &a, "/inbox", &follow).await, 202);
    let note_id = format!("{}users/gina/notes/loop", peer.base);
    let create = json!({ "@context": AS, "id": peer.id("create"), "type": "Create", "actor": peer.actor("gina"),
        "object": { "id": note_id, "type": "Note", "attributedTo": peer.actor("gina"), "inReplyTo": note_id,
            "content": "round and round", "to": [format!("{AS}#Public")], "cc": [group_url], "audience": group_url } });
    assert_eq!(peer.send("gina", &a, "/inbox", &create).await, 202);
    let (_, list) = a
        .api_get(
            &format!("/api/v1/accounts/{}/statuses", group.id),
            Some(&rowan),
        )
        .await;
    let id = list[0]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        list[0]["in_reply_to_id"],
        Value::Null,
        "a post is not its own parent"
    );
    let context = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        a.api_get(&format!("/api/v1/statuses/{id}/context"), None),
    )
    .await;
    assert!(
        context.is_ok_and(|(status, _)| status == 200),
        "the thread answers at once"
    );
}
on_both_engines!(a_post_replying_to_itself_is_harmless);

/// A post in another server's members-only group, and a direct post that mentions a group,
/// stay members-only on the author's own server; a deleted hidden post is 404, not 410.
async fn hidden_posts_stay_hidden_on_every_server(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let mona = a.create_user("mona", UserRole::Moderator).await;
    let mona_token = a.token("mona").await;
    let group = a
        .create_group_with(
            "survivors",
            "Survivors",
            Visibility::MembersOnly,
            JoinPolicy::Approval,
            Some(&mona),
        )
        .await;
    let open = a.create_group("chat", "Chat").await;
    b.create_user("bob", UserRole::Member).await;
    b.create_user("eve", UserRole::Member).await;
    let (bob, eve) = (b.token("bob").await, b.token("eve").await);
    let on_b = b.account_id(&format!("survivors@{}", a.domain), &bob).await;
    let chat_on_b = b.account_id(&format!("chat@{}", a.domain), &bob).await;
    b.api_post(&format!("/api/v1/accounts/{on_b}/follow"), &bob, json!({}))
        .await;
    b.api_post(
        &format!("/api/v1/accounts/{chat_on_b}/follow"),
        &bob,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, requests) = a
        .api_get(
            &format!("/api/hearth/v1/groups/{}/requests", group.id),
            Some(&mona_token),
        )
        .await;
    let bob_on_a = requests[0]["id"].as_str().unwrap_or_default().to_owned();
    a.api_post(
        &format!(
            "/api/hearth/v1/groups/{}/requests/{bob_on_a}/approve",
            group.id
        ),
        &mona_token,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;

    let (status, private) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({ "status": "my scan results", "group_id": on_b }),
        )
        .await;
    assert_eq!(status, 200, "{private}");
    assert_eq!(private["visibility"], "private");
    let (_, direct) = b
        .api_post("/api/v1/statuses", &bob, json!({ "status": format!("@chat@{} about my meds", a.domain), "visibility": "direct" }))
        .await;
    assert_eq!(
        direct["visibility"], "private",
        "a direct post is never widened by mentioning a group"
    );
    for id in [
        private["id"].as_str().unwrap_or_default(),
        direct["id"].as_str().unwrap_or_default(),
    ] {
        assert_eq!(
            b.api_get(&format!("/api/v1/statuses/{id}"), None).await.0,
            404
        );
        assert_eq!(
            b.api_get(&format!("/api/v1/statuses/{id}"), Some(&eve))
                .await
                .0,
            404
        );
        assert_eq!(
            b.api_get(&format!("/api/v1/statuses/{id}"), Some(&bob))
                .await
                .0,
            200
        );
    }
    let uri = private["uri"].as_str().unwrap_or_default().to_owned();
    let unsigned = hearth_tests::http()
        .get(&uri)
        .header("accept", "application/activity+json")
        .send()
        .await;
    assert_eq!(unsigned.map(|r| r.status().as_u16()).ok(), Some(404));

    settle(&[&a, &b]).await;
    let (_, mine) = a
        .api_post(
            "/api/v1/statuses",
            &mona_token,
            json!({ "status": "hidden then gone", "group_id": group.id.to_string() }),
        )
        .await;
    let mine_uri = mine["uri"].as_str().unwrap_or_default().to_owned();
    let mine_id = mine["id"].as_str().unwrap_or_default().to_owned();
    a.api_delete(&format!("/api/v1/statuses/{mine_id}"), &mona_token)
        .await;
    let probe = hearth_tests::http()
        .get(&mine_uri)
        .header("accept", "application/activity+json")
        .send()
        .await;
    assert_eq!(
        probe.map(|r| r.status().as_u16()).ok(),
        Some(404),
        "a stranger cannot learn a hidden post existed"
    );
    assert_eq!(
        b.signed_get(&mine_uri).await,
        410,
        "a member's server learns it is gone"
    );
    let _ = open;
}
on_both_engines!(hidden_posts_stay_hidden_on_every_server);

/// A members-only group here with gina (on the peer) as a member, and a post of mona's in it:
/// what a member's server may fetch with a signature, and nobody else.
async fn members_only_post(a: &Instance, peer: &StubPeer) -> String {
    let mona = a.create_user("mona", UserRole::Moderator).await;
    let mona_token = a.token("mona").await;
    let group = a
        .create_group_with(
            "circle",
            "Circle",
            Visibility::MembersOnly,
            JoinPolicy::Approval,
            Some(&mona),
        )
        .await;
    let join = hearth_tests::follow(&peer.actor("gina"), a.url("/groups/circle").as_str());
    assert_eq!(peer.send("gina", a, "/inbox", &join).await, 202);
    let requests = format!("/api/hearth/v1/groups/{}/requests", group.id);
    let (_, pending) = a.api_get(&requests, Some(&mona_token)).await;
    let request = pending[0]["id"].as_str().unwrap_or_default().to_owned();
    let (status, _) = a
        .api_post(
            &format!("{requests}/{request}/approve"),
            &mona_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "gina is a member");
    let (status, post) = a
        .api_post(
            "/api/v1/statuses",
            &mona_token,
            json!({ "status": "for members only", "group_id": group.id.to_string() }),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    post["uri"].as_str().unwrap_or_default().to_owned()
}

/// A signed GET of a members-only post or collection.
async fn signed_fetch(url: &url::Url, signer: &hearth_tests::Signer) -> u16 {
    hearth_tests::http()
        .get(url.clone())
        .header("accept", "application/activity+json")
        .headers(signer.sign_get(url))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A signed GET of a members-only post and of a members-only group's collection, signed with
/// a key that is not the claimed actor's (mallory, on a member's server): the claimed actor is
/// fetched to check the signature (the check is reached), the answer is the 404 of an unsigned
/// fetch, and nothing about mallory is stored. The same fetches signed by gina, a member, are
/// answered. Unknown signers are fetched within the inbox's per-server budget, then 429.
async fn a_forged_signed_fetch_stores_nothing(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let post =
        url::Url::parse(&members_only_post(&a, &peer).await).unwrap_or_else(|e| panic!("{e}"));
    let followers = a.url("/groups/circle/followers");
    let wrong_key = hearth_federation::keys::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let forged = hearth_tests::Signer {
        private_key_pem: wrong_key.private_pem.expose().to_owned(),
        ..peer.signer("mallory")
    };
    let before = a.rows().await;
    for target in [&post, &followers] {
        let fetches = peer.actor_fetches();
        assert_eq!(signed_fetch(target, &forged).await, 404, "{target}");
        assert_eq!(
            peer.actor_fetches(),
            fetches + 1,
            "the claimed signer was fetched to check the signature ({target})"
        );
        assert_eq!(
            a.rows().await,
            before,
            "nothing about the claimed signer was stored ({target})"
        );
    }
    for target in [&post, &followers] {
        assert_eq!(
            signed_fetch(target, &peer.signer("gina")).await,
            200,
            "a member's server fetches {target}"
        );
    }

    // A flood of forged fetches naming unknown actors: fetched within the budget, then 429.
    let mut statuses = Vec::new();
    for n in 0..=hearth_federation::key_fetch::FETCHES_PER_HOST {
        let signer = hearth_tests::Signer {
            key_id: format!("{}#main-key", peer.actor(&format!("made_up_{n}"))),
            ..forged.clone()
        };
        statuses.push(signed_fetch(&post, &signer).await);
    }
    let refused = statuses
        .iter()
        .position(|s| *s == 429)
        .unwrap_or(statuses.len());
    assert!(
        refused < statuses.len()
            && statuses[..refused].iter().all(|s| *s == 404)
            && statuses[refused..].iter().all(|s| *s == 429),
        "404 while the budget lasts, then 429: {statuses:?}"
    );
    assert_eq!(
        peer.actor_fetches(),
        hearth_federation::key_fetch::FETCHES_PER_HOST as usize,
        "every fetch of an unknown signer (gina's join included) came out of one budget"
    );
    assert_eq!(a.rows().await, before, "no made-up actor was stored");
}
on_both_engines!(a_forged_signed_fetch_stores_nothing);

/// A flood of badly signed requests naming many unknown actors on one server causes a bounded
/// number of fetches there; the rest are answered 429 without any fetch.
async fn a_flood_of_unknown_signers_causes_bounded_fetches(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let wrong_key = hearth_federation::keys::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let inbox = a.url("/inbox");
    let mut statuses = Vec::new();
    for n in 0..80 {
        let actor = peer.actor(&format!("made_up_{n}"));
        let activity = json!({ "@context": AS, "id": format!("{actor}/follows/1"), "type": "Follow", "actor": actor, "object": a.url("/actor").as_str() });
        let body = serde_json::to_vec(&activity).unwrap_or_default();
        let signer = hearth_tests::Signer {
            key_id: format!("{actor}#main-key"),
            private_key_pem: wrong_key.private_pem.expose().to_owned(),
            algorithm: "hs2019",
            covered: vec!["(request-target)", "host", "date", "digest"],
            date: chrono::Utc::now(),
        };
        let response = hearth_tests::http()
            .post(inbox.clone())
            .headers(signer.sign_post(&inbox, &body))
            .body(body)
            .send()
            .await;
        statuses.push(response.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    let fetched = peer.actor_fetches();
    assert_eq!(
        fetched,
        hearth_federation::key_fetch::FETCHES_PER_HOST as usize,
        "fetches are bounded: {fetched}"
    );
    assert!(statuses[..60].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[60..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(
        a.actor_count().await,
        1,
        "nothing stored but the instance actor"
    );
}
on_both_engines!(a_flood_of_unknown_signers_causes_bounded_fetches);

/// An actor id whose host is spelt with a trailing dot or in upper case names the actor
/// already known, never a second one: in the key id of a signed fetch, in an inbox POST, and
/// even when the actor's own server writes its ids with the dot.
async fn an_actor_id_spelt_otherwise_is_the_actor_already_known(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let mona = a.create_user("mona", UserRole::Moderator).await;
    let mona_token = a.token("mona").await;
    let group = a
        .create_group_with(
            "circle",
            "Circle",
            Visibility::MembersOnly,
            JoinPolicy::Approval,
            Some(&mona),
        )
        .await;
    let group_url = a.url("/groups/circle").to_string();
    let gina = peer.actor("gina");
    let join = hearth_tests::follow(&gina, &group_url);
    assert_eq!(peer.send("gina", &a, "/inbox", &join).await, 202);
    let requests = format!("/api/hearth/v1/groups/{}/requests", group.id);
    let (_, pending) = a.api_get(&requests, Some(&mona_token)).await;
    let request = pending[0]["id"].as_str().unwrap_or_default().to_owned();
    let (status, _) = a
        .api_post(
            &format!("{requests}/{request}/approve"),
            &mona_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "gina is a member");
    // The members-only group's followers answer only a signed fetch from a member's server.
    let members = a.url("/groups/circle/followers");
    let unsigned = hearth_tests::http()
        .get(members.clone())
        .header("accept", "application/activity+json")
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(unsigned.ok(), Some(404));
    let port = peer.base.port().unwrap_or_default();
    let dotted = format!("http://localhost.:{port}/users/gina");
    let upper = format!("http://LOCALHOST:{port}/users/gina");

    // gina's server now writes her ids with a trailing dot.
    let usual = hearth_tests::http()
        .get(&gina)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let respelt: Value = serde_json::from_str(
        &usual.replace(&format!("localhost:{port}"), &format!("localhost.:{port}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(respelt["id"], dotted.as_str());
    peer.serve("/users/gina", hearth_tests::Serving::Document(respelt));

    for spelling in [&dotted, &upper] {
        let signer = hearth_tests::Signer {
            key_id: format!("{spelling}#main-key"),
            ..peer.signer("gina")
        };
        let response = hearth_tests::http()
            .get(members.clone())
            .header("accept", "application/activity+json")
            .headers(signer.sign_get(&members))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "signed fetch as {spelling}");
        let again = hearth_tests::follow(spelling, &group_url);
        let (status, answer) = peer.send_signed(&signer, &a, "/inbox", &again).await;
        assert_eq!(status, 202, "POST as {spelling}: {answer}");
    }
    // The known gina verified every request; no second gina was stored.
    let signer_ids = a
        .state
        .db
        .run(|conn| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            use hearth::db::schema::actors;
            Ok(actors::table
                .filter(actors::username.eq("gina"))
                .select(actors::ap_id)
                .load::<String>(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signer_ids, vec![gina], "one gina, however spelt");
}
on_both_engines!(an_actor_id_spelt_otherwise_is_the_actor_already_known);

/// The real server program, started as a child process.
const SERVER: &str = env!("CARGO_BIN_EXE_hearth-under-test");

/// A well-signed activity whose `type` holds a line break and a made-up `ERROR` line: the
/// server process logs it inside the field of its own line, escaped, and the made-up line
/// appears nowhere on a line of its own.
async fn an_activity_cannot_forge_a_log_line(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("hearth.log");
    let process = a.server_process_logging_to(SERVER, &log);
    let address = process.address().await;
    let forged =
        "Like\n2026-12-01T00:00:00.000000Z ERROR hearth::db: FORGED the database was wiped";
    let activity = json!({ "@context": AS, "id": peer.id("odd"), "type": forged,
        "actor": peer.actor("gina"), "object": a.url("/actor").as_str() });
    let body = serde_json::to_vec(&activity).unwrap_or_default();
    // Signed for the instance (its domain), sent to the process's own port.
    let headers = peer.signer("gina").sign_post(&a.url("/inbox"), &body);
    let status = hearth_tests::http()
        .post(format!("http://{address}/inbox"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 202, "an unknown type is acknowledged and dropped");
    process.logged("FORGED").await;
    let logged = process.log();
    let lines: Vec<&str> = logged.lines().filter(|l| l.contains("FORGED")).collect();
    assert_eq!(lines.len(), 1, "{logged}");
    assert!(
        lines[0].contains("ignoring an activity") && lines[0].contains(r"Like\n2026"),
        "the type is logged escaped, on the line of its event: {logged}"
    );
    assert!(
        !logged.lines().any(|l| l.starts_with("2026-12-01T00:00:00")),
        "{logged}"
    );
    process.kill().await;
}
on_both_engines!(an_activity_cannot_forge_a_log_line);
