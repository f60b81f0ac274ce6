//! Blocks and mutes: through the client API in every encoding, what they hide from whom, and
//! how a block travels between two instances.

use hearth_tests::{
    Engine, Instance, JoinPolicy, Signer, UserRole, Visibility, http, on_both_engines, send, settle,
};
use reqwest::multipart::Form;
use serde_json::{Value, json};

/// How `token`'s holder relates to account `id`.
async fn relationship(instance: &Instance, token: &str, id: &str) -> Value {
    let (status, list) = instance
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={id}"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list[0].clone()
}

async fn my_id(instance: &Instance, token: &str) -> String {
    let (_, me) = instance
        .api_get("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    me["id"].as_str().unwrap_or_default().to_owned()
}

/// The contents of a timeline (`home`, `public`...).
async fn timeline(instance: &Instance, token: &str, path: &str) -> Vec<String> {
    let (status, list) = instance.api_get(path, Some(token)).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["content"].as_str().map(str::to_owned))
        .collect()
}

fn mentions(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

/// `(type, acct)` of each of `token`'s holder's notifications.
async fn notifications(instance: &Instance, token: &str) -> Vec<(String, String)> {
    let (status, list) = instance.api_get("/api/v1/notifications", Some(token)).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["type"].as_str().unwrap_or_default().to_owned(),
                n["account"]["acct"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn post(instance: &Instance, token: &str, body: Value) -> String {
    let (status, status_json) = instance.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{status_json}");
    status_json["id"].as_str().unwrap_or_default().to_owned()
}

/// Block, unblock, mute and unmute as apps send them: JSON, urlencoded and multipart bodies
/// (or none), Rails booleans; the relationship answered each time; the lists of blocked and
/// muted accounts paged by `Link`; bad input refused with a JSON error.
async fn blocks_and_mutes_are_set_in_every_encoding(engine: Engine) {
    let a = Instance::start(&engine).await;
    for name in ["ana", "ben", "cai", "dee"] {
        a.create_user(name, UserRole::Member).await;
    }
    let (ana, ben) = (a.token("ana").await, a.token("ben").await);
    let (ana_id, ben_id) = (my_id(&a, &ana).await, my_id(&a, &ben).await);
    let cai_id = my_id(&a, &a.token("cai").await).await;
    let dee_id = my_id(&a, &a.token("dee").await).await;
    let url = |path: String| a.url(&path);
    let request = |path: String| http().post(url(path)).bearer_auth(&ana);

    // Ana and Ben follow each other; Ana blocks Ben (JSON body): both follows end.
    a.api_post(
        &format!("/api/v1/accounts/{ben_id}/follow"),
        &ana,
        json!({}),
    )
    .await;
    a.api_post(
        &format!("/api/v1/accounts/{ana_id}/follow"),
        &ben,
        json!({}),
    )
    .await;
    assert_eq!(relationship(&a, &ana, &ben_id).await["followed_by"], true);
    let (status, rel, _) =
        send(request(format!("/api/v1/accounts/{ben_id}/block")).json(&json!({}))).await;
    assert_eq!(status, 200, "{rel}");
    assert_eq!(
        (
            &rel["id"],
            &rel["blocking"],
            &rel["following"],
            &rel["followed_by"]
        ),
        (&json!(ben_id), &json!(true), &json!(false), &json!(false)),
        "{rel}"
    );
    let seen_by_ben = relationship(&a, &ben, &ana_id).await;
    assert_eq!(
        (&seen_by_ben["blocked_by"], &seen_by_ben["following"]),
        (&json!(true), &json!(false))
    );
    // Neither can follow the other while the block stands.
    let (status, error) = a
        .api_post(
            &format!("/api/v1/accounts/{ana_id}/follow"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{error}");
    assert!(error["error"].is_string(), "{error}");
    let (status, _) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_id}/follow"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);

    // Unblock, urlencoded (an empty form); block again with no body at all, then multipart.
    let (status, rel, _) =
        send(request(format!("/api/v1/accounts/{ben_id}/unblock")).form(&[("", "")][..0])).await;
    assert_eq!((status, &rel["blocking"]), (200, &json!(false)), "{rel}");
    assert_eq!(relationship(&a, &ben, &ana_id).await["blocked_by"], false);
    let (status, rel, _) = send(request(format!("/api/v1/accounts/{ben_id}/block"))).await;
    assert_eq!((status, &rel["blocking"]), (200, &json!(true)), "{rel}");
    let (status, rel, _) = send(
        request(format!("/api/v1/accounts/{ben_id}/unblock"))
            .multipart(Form::new().text("unused", "x")),
    )
    .await;
    assert_eq!((status, &rel["blocking"]), (200, &json!(false)), "{rel}");

    // Mutes: multipart without notifications, for an hour; urlencoded with Rails' `True`;
    // JSON with a boolean; the default covers notifications.
    let (status, rel, _) = send(
        request(format!("/api/v1/accounts/{ben_id}/mute")).multipart(
            Form::new()
                .text("notifications", "false")
                .text("duration", "3600"),
        ),
    )
    .await;
    assert_eq!(status, 200, "{rel}");
    assert_eq!(
        (&rel["muting"], &rel["muting_notifications"]),
        (&json!(true), &json!(false))
    );
    let (_, muted, _) = send(http().get(url("/api/v1/mutes".into())).bearer_auth(&ana)).await;
    assert_eq!(muted[0]["id"], json!(ben_id), "{muted}");
    assert!(
        muted[0]["mute_expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{muted}"
    );
    let (status, rel, _) =
        send(request(format!("/api/v1/accounts/{cai_id}/mute")).form(&[("notifications", "True")]))
            .await;
    assert_eq!(
        (status, &rel["muting"], &rel["muting_notifications"]),
        (200, &json!(true), &json!(true))
    );
    let (status, rel, _) = send(
        request(format!("/api/v1/accounts/{dee_id}/mute"))
            .json(&json!({ "notifications": false, "duration": 0 })),
    )
    .await;
    assert_eq!((status, &rel["muting_notifications"]), (200, &json!(false)));
    let (_, muted, _) = send(http().get(url("/api/v1/mutes".into())).bearer_auth(&ana)).await;
    assert_eq!(muted.as_array().map(Vec::len), Some(3), "{muted}");
    assert_eq!(muted[0]["mute_expires_at"], Value::Null, "no end: {muted}");
    let (status, rel, _) =
        send(request(format!("/api/v1/accounts/{ben_id}/unmute")).form(&[("x", "")][..0])).await;
    assert_eq!((status, &rel["muting"]), (200, &json!(false)));

    // The list of blocks pages with `Link`, newest block first.
    for id in [&ben_id, &cai_id, &dee_id] {
        let (status, _, _) = send(request(format!("/api/v1/accounts/{id}/block"))).await;
        assert_eq!(status, 200);
    }
    let (status, first, link) = send(
        http()
            .get(url("/api/v1/blocks?limit=2".into()))
            .bearer_auth(&ana),
    )
    .await;
    assert_eq!(status, 200);
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["id"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(ids(&first), [dee_id.clone(), cai_id.clone()]);
    let link = link.unwrap_or_default();
    let next = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .and_then(|l| l.split(['<', '>']).nth(1))
        .unwrap_or_else(|| panic!("no next link in {link:?}"))
        .to_owned();
    let (_, rest, _) = send(http().get(next).bearer_auth(&ana)).await;
    assert_eq!(ids(&rest), [ben_id.as_str()]);

    // Bad input: clear 4xx answers with a JSON error, and nothing changed.
    for (path, body, expected) in [
        ("/api/v1/accounts/999999/block".to_owned(), json!({}), 404),
        ("/api/v1/accounts/not-an-id/mute".to_owned(), json!({}), 404),
        (format!("/api/v1/accounts/{ana_id}/block"), json!({}), 422),
        (format!("/api/v1/accounts/{ana_id}/mute"), json!({}), 422),
        (
            format!("/api/v1/accounts/{ben_id}/mute"),
            json!({ "duration": -5 }),
            422,
        ),
        (
            format!("/api/v1/accounts/{ben_id}/mute"),
            json!({ "notifications": "perhaps" }),
            422,
        ),
        (
            format!("/api/v1/accounts/{ben_id}/mute"),
            json!({ "duration": i64::MAX }),
            422,
        ),
    ] {
        let (status, error) = a.api_post(&path, &ana, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}: {error}");
        assert!(error["error"].is_string(), "{path}: {error}");
    }
    assert_eq!(relationship(&a, &ana, &ben_id).await["muting"], false);

    // Scopes: blocks and mutes have their own, and `follow` still grants them.
    let statuses_only = a.scoped_token("ana", "read:statuses write:statuses").await;
    let (status, _) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_id}/unblock"),
            &statuses_only,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = a.api_get("/api/v1/mutes", Some(&statuses_only)).await;
    assert_eq!(status, 403);
    let follow = a.scoped_token("ana", "read:blocks follow").await;
    assert_eq!(a.api_get("/api/v1/blocks", Some(&follow)).await.0, 200);
    let (status, _) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_id}/mute"),
            &follow,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
}
on_both_engines!(blocks_and_mutes_are_set_in_every_encoding);

/// What a block and a mute hide: the blocked person's posts leave the blocker's home, public
/// and group timelines and their notifications stop, while both stay members of the group
/// they share; the blocker's posts are gone for the blocked person. A mute hides posts, and
/// notifications only when asked. A moderator still sees, in their group, the posts of a
/// member who blocked them.
async fn blocks_and_mutes_hide_posts_and_notifications(engine: Engine) {
    let a = Instance::start(&engine).await;
    for name in ["ana", "ben", "cai", "dee"] {
        a.create_user(name, UserRole::Member).await;
    }
    let mo = a.create_user("mo", UserRole::Member).await;
    let (ana, ben, cai, dee, mo_token) = (
        a.token("ana").await,
        a.token("ben").await,
        a.token("cai").await,
        a.token("dee").await,
        a.token("mo").await,
    );
    let group = a
        .create_group_with(
            "circle",
            "Circle",
            Visibility::Public,
            JoinPolicy::Open,
            Some(&mo),
        )
        .await;
    let group_id = group.id.to_string();
    let (ben_id, cai_id, dee_id, ana_id) = (
        my_id(&a, &ben).await,
        my_id(&a, &cai).await,
        my_id(&a, &dee).await,
        my_id(&a, &ana).await,
    );
    for token in [&ana, &ben] {
        let (status, _) = a
            .api_post(
                &format!("/api/v1/accounts/{group_id}/follow"),
                token,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    for id in [&ben_id, &cai_id, &dee_id] {
        a.api_post(&format!("/api/v1/accounts/{id}/follow"), &ana, json!({}))
            .await;
    }
    let ana_post = post(&a, &ana, json!({ "status": "Ana writes in public" })).await;
    post(&a, &ben, json!({ "status": "Ben writes alone" })).await;
    post(
        &a,
        &ben,
        json!({ "status": "Ben in the circle", "group_id": group_id }),
    )
    .await;
    post(&a, &ben, json!({ "status": "@ana Ben mentions Ana" })).await;
    post(&a, &cai, json!({ "status": "@ana Cai mentions Ana" })).await;
    post(&a, &dee, json!({ "status": "@ana Dee mentions Ana" })).await;
    a.api_post(
        &format!("/api/v1/statuses/{ana_post}/favourite"),
        &ben,
        json!({}),
    )
    .await;
    post(
        &a,
        &ben,
        json!({ "status": "Ben replies", "in_reply_to_id": ana_post }),
    )
    .await;
    let context = |token: String| {
        let path = format!("/api/v1/statuses/{ana_post}/context");
        let a = &a;
        async move { a.api_get(&path, Some(&token)).await.1.to_string() }
    };
    assert!(context(ana.clone()).await.contains("Ben replies"));
    let home = timeline(&a, &ana, "/api/v1/timelines/home").await;
    for text in ["Ben writes alone", "Ben in the circle", "Ben mentions Ana"] {
        assert!(mentions(&home, text), "{text} before the block: {home:?}");
    }
    let told = notifications(&a, &ana).await;
    assert!(
        told.contains(&("favourite".into(), "ben".into())),
        "{told:?}"
    );

    // Ana blocks Ben, mutes Cai (posts only) and Dee (posts and notifications).
    a.api_post(&format!("/api/v1/accounts/{ben_id}/block"), &ana, json!({}))
        .await;
    a.api_post(
        &format!("/api/v1/accounts/{cai_id}/mute"),
        &ana,
        json!({ "notifications": false }),
    )
    .await;
    a.api_post(&format!("/api/v1/accounts/{dee_id}/mute"), &ana, json!({}))
        .await;
    let home = timeline(&a, &ana, "/api/v1/timelines/home").await;
    for gone in ["Ben", "Cai mentions", "Dee mentions"] {
        assert!(!mentions(&home, gone), "{gone} after: {home:?}");
    }
    assert!(mentions(&home, "Ana writes in public"), "{home:?}");
    let public = timeline(&a, &ana, "/api/v1/timelines/public").await;
    assert!(
        !mentions(&public, "Ben") && !mentions(&public, "Cai"),
        "{public:?}"
    );
    let in_group = timeline(&a, &ana, &format!("/api/v1/accounts/{group_id}/statuses")).await;
    assert!(!mentions(&in_group, "Ben in the circle"), "{in_group:?}");
    assert!(!context(ana.clone()).await.contains("Ben replies"));
    let told = notifications(&a, &ana).await;
    assert!(
        told.iter().all(|(_, who)| who != "ben" && who != "dee"),
        "{told:?}"
    );
    assert!(told.contains(&("mention".into(), "cai".into())), "{told:?}");
    let (_, count) = a
        .api_get("/api/v1/notifications/unread_count", Some(&ana))
        .await;
    assert_eq!(count["count"], json!(told.len()), "{count} {told:?}");
    // Both are still members of the circle: a block is not a ban.
    for token in [&ana, &ben] {
        let (_, rel) = a
            .api_get(
                &format!("/api/v1/accounts/relationships?id[]={group_id}"),
                Some(token),
            )
            .await;
        assert_eq!(rel[0]["following"], true, "{rel}");
    }

    // Ben no longer sees Ana's posts, by id, on her profile, or in the public timeline;
    // what he does reaches her no more, even after she unblocks him.
    let (status, _) = a
        .api_get(&format!("/api/v1/statuses/{ana_post}"), Some(&ben))
        .await;
    assert_eq!(status, 404);
    let profile = timeline(&a, &ben, &format!("/api/v1/accounts/{ana_id}/statuses")).await;
    assert!(profile.is_empty(), "{profile:?}");
    let public = timeline(&a, &ben, "/api/v1/timelines/public").await;
    assert!(!mentions(&public, "Ana writes in public"), "{public:?}");
    let (status, _) = a
        .api_post(
            &format!("/api/v1/statuses/{ana_post}/favourite"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    post(&a, &ben, json!({ "status": "@ana while blocked" })).await;
    a.api_post(
        &format!("/api/v1/accounts/{ben_id}/unblock"),
        &ana,
        json!({}),
    )
    .await;
    a.api_post(
        &format!("/api/v1/accounts/{dee_id}/unmute"),
        &ana,
        json!({}),
    )
    .await;
    let told = notifications(&a, &ana).await;
    assert_eq!(
        told.iter()
            .filter(|(kind, who)| kind == "mention" && who == "ben")
            .count(),
        1,
        "the mention made while blocked was never written: {told:?}"
    );
    assert!(told.contains(&("mention".into(), "dee".into())), "{told:?}");
    assert_eq!(
        a.api_get(&format!("/api/v1/statuses/{ana_post}"), Some(&ben))
            .await
            .0,
        200
    );

    // Ben blocks Mo, the circle's moderator: Mo still sees Ben's posts in the circle (a
    // member cannot hide from the moderators), not his others.
    a.api_post(
        &format!("/api/v1/accounts/{}/block", mo.id),
        &ben,
        json!({}),
    )
    .await;
    let for_mo = timeline(
        &a,
        &mo_token,
        &format!("/api/v1/accounts/{group_id}/statuses"),
    )
    .await;
    assert!(mentions(&for_mo, "Ben in the circle"), "{for_mo:?}");
    let bens = timeline(
        &a,
        &mo_token,
        &format!("/api/v1/accounts/{ben_id}/statuses"),
    )
    .await;
    assert!(
        mentions(&bens, "Ben in the circle") && !mentions(&bens, "Ben writes alone"),
        "{bens:?}"
    );
}
on_both_engines!(blocks_and_mutes_hide_posts_and_notifications);

/// Ana on A and Ben on B follow each other. Ana blocks Ben: B receives a `Block` signed by
/// Ana, both follows are gone on both sides, Ben sees `blocked_by` on B and cannot follow Ana
/// again; a fetch of Ana's post signed by Ben is refused (as if it did not exist) while
/// anyone else still gets it. Ana unblocks: B receives the `Undo` and `blocked_by` is gone.
async fn a_block_travels_to_the_other_instance(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("ana", UserRole::Member).await;
    b.create_user("ben", UserRole::Member).await;
    let (ana, ben) = (a.token("ana").await, b.token("ben").await);
    let ben_on_a = a.account_id(&format!("ben@{}", b.domain), &ana).await;
    let ana_on_b = b.account_id(&format!("ana@{}", a.domain), &ben).await;
    a.api_post(
        &format!("/api/v1/accounts/{ben_on_a}/follow"),
        &ana,
        json!({}),
    )
    .await;
    b.api_post(
        &format!("/api/v1/accounts/{ana_on_b}/follow"),
        &ben,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let before = relationship(&b, &ben, &ana_on_b).await;
    assert_eq!(
        (&before["following"], &before["followed_by"]),
        (&json!(true), &json!(true)),
        "{before}"
    );
    let ana_post = post(&a, &ana, json!({ "status": "Ana, in public" })).await;
    let post_url = a.url(&format!("/posts/{ana_post}"));

    let (status, rel) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_on_a}/block"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!((status, &rel["blocking"]), (200, &json!(true)));
    let ana_actor = a.url("/users/ana");
    let ben_actor = b.url("/users/ben");
    // Queued with the block (delivered ones leave the outbox).
    let sent = queued(&a, "Block").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (&sent[0]["actor"], &sent[0]["object"]),
        (&json!(ana_actor.as_str()), &json!(ben_actor.as_str()))
    );
    settle(&[&a, &b]).await;
    let on_b = relationship(&b, &ben, &ana_on_b).await;
    assert_eq!(
        (
            &on_b["blocked_by"],
            &on_b["following"],
            &on_b["followed_by"]
        ),
        (&json!(true), &json!(false), &json!(false)),
        "{on_b}"
    );
    let on_a = relationship(&a, &ana, &ben_on_a).await;
    assert_eq!(
        (
            &on_a["following"],
            &on_a["followed_by"],
            &on_a["requested_by"]
        ),
        (&json!(false), &json!(false), &json!(false)),
        "{on_a}"
    );
    assert_eq!(followers(&a, &ana).await, json!([]));
    assert_eq!(followers(&b, &ben).await, json!([]));
    let (status, error) = b
        .api_post(
            &format!("/api/v1/accounts/{ana_on_b}/follow"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{error}");

    // Ben's signed fetch of Ana's post: 404; B's own (instance actor) and anonymous: 200.
    let ben_signs = Signer::for_actor(&b, ben_actor.as_str()).await;
    let refused = http()
        .get(post_url.clone())
        .header("accept", "application/activity+json")
        .headers(ben_signs.sign_get(&post_url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status().as_u16(), 404);
    let body: Value = refused.json().await.unwrap_or(Value::Null);
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(b.signed_get(post_url.as_str()).await, 200);
    assert_eq!(a.ap_get(&format!("/posts/{ana_post}")).await.0, 200);

    // A follow sent by hand, signed by Ben, is refused with a Reject and stores nothing.
    let follow = hearth_tests::follow(ben_actor.as_str(), ana_actor.as_str());
    let inbox = a.url("/users/ana/inbox");
    let body = serde_json::to_vec(&follow).unwrap_or_else(|e| panic!("{e}"));
    let status = http()
        .post(inbox.clone())
        .headers(ben_signs.sign_post(&inbox, &body))
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 202);
    settle(&[&a, &b]).await;
    assert_eq!(
        relationship(&a, &ana, &ben_on_a).await["requested_by"],
        false
    );

    let (status, rel) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_on_a}/unblock"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!((status, &rel["blocking"]), (200, &json!(false)));
    let undone = queued(&a, "Undo")
        .await
        .into_iter()
        .find(|u| u["object"]["type"] == "Block")
        .unwrap_or_else(|| panic!("no Undo of the Block was sent"));
    assert_eq!(undone["object"]["id"], sent[0]["id"], "{undone}");
    settle(&[&a, &b]).await;
    assert_eq!(relationship(&b, &ben, &ana_on_b).await["blocked_by"], false);
    let (status, rel) = b
        .api_post(
            &format!("/api/v1/accounts/{ana_on_b}/follow"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{rel}");
    settle(&[&a, &b]).await;
    assert_eq!(relationship(&b, &ben, &ana_on_b).await["following"], true);
}
on_both_engines!(a_block_travels_to_the_other_instance);

/// The activities of `kind` that `instance` queued for delivery, oldest first.
async fn queued(instance: &Instance, kind: &str) -> Vec<Value> {
    use diesel::{QueryDsl, RunQueryDsl};
    use hearth::db::schema::outbox;
    let bodies: Vec<String> = instance
        .state
        .db
        .run(|conn| {
            Ok(outbox::table
                .order(outbox::id)
                .select(outbox::body)
                .load(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    bodies
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .filter(|a| a["type"] == kind)
        .collect()
}

/// The followers of `token`'s holder.
async fn followers(instance: &Instance, token: &str) -> Value {
    let id = my_id(instance, token).await;
    let path = format!("/api/v1/accounts/{id}/followers");
    instance.api_get(&path, Some(token)).await.1
}
