//! Notifications and markers: what a person is told of, from this server and from others,
//! and how apps read, filter, page, dismiss and count them.

use hearth_tests::{
    Engine, Instance, JoinPolicy, Signer, UserRole, Visibility, http, on_both_engines, settle,
};
use serde_json::{Value, json};

/// `GET` with a token; status, JSON and the `Link` header.
async fn get(instance: &Instance, path: &str, token: &str) -> (u16, Value, Option<String>) {
    hearth_tests::send(http().get(instance.url(path)).bearer_auth(token)).await
}

/// A person's notifications (with `query`), newest first.
async fn notifications(instance: &Instance, token: &str, query: &str) -> Vec<Value> {
    let (status, list, _) = get(instance, &format!("/api/v1/notifications{query}"), token).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

/// `(type, account acct, status content)` of each notification.
fn summary(list: &[Value]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|n| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&n["type"]),
                text(&n["account"]["acct"]),
                text(&n["status"]["content"]),
            )
        })
        .collect()
}

/// The one status in `timeline` whose content contains `needle`.
fn with_text<'a>(timeline: &'a Value, needle: &str) -> &'a Value {
    let found: Vec<&Value> = timeline
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
        .collect();
    assert_eq!(found.len(), 1, "{needle:?} in {timeline}");
    found[0]
}

/// A signed POST of `activity` to `inbox` of `to`, as `signer`; the status.
async fn deliver_by_hand(to: &Instance, signer: &Signer, activity: &Value) -> u16 {
    let inbox = to.url("/inbox");
    let body = serde_json::to_vec(activity).unwrap_or_else(|e| panic!("{e}"));
    http()
        .post(inbox.clone())
        .headers(signer.sign_post(&inbox, &body))
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A person on B follows, likes, mentions and boosts a person on A, who is told of each
/// once, with B's person as the account and A's post as the status. A group relaying the
/// post is no boost; a repeated activity, or a second boost by the same person, tells
/// nothing new.
async fn people_on_another_server_notify_a_local_person(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("ana", UserRole::Member).await;
    b.create_user("ben", UserRole::Member).await;
    b.create_user("eve", UserRole::Member).await;
    b.create_group("circle", "Circle").await;
    let (ana, ben) = (a.token("ana").await, b.token("ben").await);
    let ben_acct = format!("ben@{}", b.domain);

    let ana_on_b = b.account_id(&format!("ana@{}", a.domain), &ben).await;
    let (status, _) = b
        .api_post(
            &format!("/api/v1/accounts/{ana_on_b}/follow"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    assert_eq!(
        summary(&notifications(&a, &ana, "").await),
        [("follow".into(), ben_acct.clone(), String::new())]
    );

    let (status, post) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Day 12 of the new diet" }),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    settle(&[&a, &b]).await;
    let (_, ben_home) = b.api_get("/api/v1/timelines/home", Some(&ben)).await;
    let on_b = with_text(&ben_home, "Day 12")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _) = b
        .api_post(
            &format!("/api/v1/statuses/{on_b}/favourite"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    // Delivered before the reply: a server may get several activities at once, in any order.
    settle(&[&a, &b]).await;
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &ben,
            json!({ "status": format!("@ana@{} how did it go?", a.domain) }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;

    // Ben boosts it (B has no boost endpoint: signed by hand, as Mastodon sends one).
    let ben_url = b.url("/users/ben").to_string();
    let post_url = post["uri"].as_str().unwrap_or_default().to_owned();
    let announce = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{ben_url}/statuses/1/activity"),
        "type": "Announce",
        "actor": ben_url,
        "object": post_url,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [a.url("/users/ana").to_string()],
    });
    let ben_signer = Signer::for_actor(&b, &ben_url).await;
    for _ in 0..2 {
        assert_eq!(deliver_by_hand(&a, &ben_signer, &announce).await, 202);
    }
    let again = with(&announce, "id", format!("{ben_url}/statuses/2/activity"));
    assert_eq!(deliver_by_hand(&a, &ben_signer, &again).await, 202);
    // The group on B relays the post to its members: not a boost.
    let group_url = b.url("/groups/circle").to_string();
    let relayed = with(
        &with(&announce, "id", format!("{group_url}/announce/1")),
        "actor",
        group_url.clone(),
    );
    let group_signer = Signer::for_actor(&b, &group_url).await;
    assert_eq!(deliver_by_hand(&a, &group_signer, &relayed).await, 202);
    // Eve's Like, delivered twice.
    let eve_url = b.url("/users/eve").to_string();
    let like = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{eve_url}/likes/1"),
        "type": "Like",
        "actor": eve_url,
        "object": post_url,
    });
    let eve_signer = Signer::for_actor(&b, &eve_url).await;
    for _ in 0..2 {
        assert_eq!(deliver_by_hand(&a, &eve_signer, &like).await, 202);
    }

    let list = notifications(&a, &ana, "").await;
    let eve_acct = format!("eve@{}", b.domain);
    let day12 = "<p>Day 12 of the new diet</p>".to_owned();
    assert_eq!(
        summary(&list),
        [
            ("favourite".into(), eve_acct, day12.clone()),
            ("reblog".into(), ben_acct.clone(), day12.clone()),
            (
                "mention".into(),
                ben_acct.clone(),
                list[2]["status"]["content"]
                    .as_str()
                    .filter(|c| c.contains("how did it go?"))
                    .unwrap_or("(not the mention)")
                    .to_owned()
            ),
            ("favourite".into(), ben_acct.clone(), day12),
            ("follow".into(), ben_acct, String::new()),
        ],
        "{list:#?}"
    );
    for n in &list {
        let id = n["id"].as_str().unwrap_or_default();
        assert!(id.parse::<i64>().is_ok(), "string ids: {n}");
        assert_eq!(n["group_key"], format!("ungrouped-{id}"));
        let created = n["created_at"].as_str().unwrap_or_default();
        assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    }
    assert_eq!(
        list[0]["status"]["id"], post["id"],
        "A's own post, by A's id"
    );
    assert!(
        list[4].get("status").is_none(),
        "a follow has no status: {}",
        list[4]
    );

    // Ben takes his like back: its notification goes with it.
    b.api_post(
        &format!("/api/v1/statuses/{on_b}/unfavourite"),
        &ben,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let kinds: Vec<_> = summary(&notifications(&a, &ana, "").await)
        .into_iter()
        .map(|(kind, who, _)| format!("{kind} {}", who.split('@').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        kinds,
        ["favourite eve", "reblog ben", "mention ben", "follow ben"]
    );
}
on_both_engines!(people_on_another_server_notify_a_local_person);

/// `activity` with `field` set to `value`.
fn with(activity: &Value, field: &str, value: String) -> Value {
    let mut changed = activity.clone();
    changed[field] = Value::String(value);
    changed
}

/// Local events: follows, a follow request to a locked person, a join request to a group's
/// moderator (gone once approved), a like and a mention; never one's own acts. Then what apps
/// do with them: filter, page with `Link`, show, count what is newer than the marker, save
/// markers in JSON and form encoding, dismiss and clear; and the scopes they need.
async fn local_notifications_through_the_client_api(engine: Engine) {
    let a = Instance::start(&engine).await;
    for name in ["ana", "zoe", "lou", "mo"] {
        a.create_user(name, UserRole::Member).await;
    }
    let [ana, zoe, lou, mo] = [
        a.token("ana").await,
        a.token("zoe").await,
        a.token("lou").await,
        a.token("mo").await,
    ];
    let mo_row = a
        .state
        .db
        .run(|conn| Ok(hearth::db::actors::local_by_username(conn, "mo", None)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no mo"));
    let group = a
        .create_group_with(
            "circle",
            "Circle",
            Visibility::Public,
            JoinPolicy::Approval,
            Some(&mo_row),
        )
        .await;
    // Lou locks her account.
    let locked = http()
        .patch(a.url("/api/v1/accounts/update_credentials"))
        .bearer_auth(&lou)
        .form(&[("locked", "true")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(locked.status().as_u16(), 200);

    let id_of = |name: &str| {
        let (a, zoe) = (&a, zoe.clone());
        let name = name.to_owned();
        async move { a.account_id(&name, &zoe).await }
    };
    let (ana_id, lou_id, zoe_id) = (id_of("ana").await, id_of("lou").await, id_of("zoe").await);
    for target in [&ana_id, &lou_id, &group.id.to_string()] {
        let (status, _) = a
            .api_post(
                &format!("/api/v1/accounts/{target}/follow"),
                &zoe,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let (_, post) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "@ana note to self" }),
        )
        .await;
    let post_id = post["id"].as_str().unwrap_or_default().to_owned();
    a.api_post(
        &format!("/api/v1/statuses/{post_id}/favourite"),
        &ana,
        json!({}),
    )
    .await;
    a.api_post(
        &format!("/api/v1/statuses/{post_id}/favourite"),
        &zoe,
        json!({}),
    )
    .await;
    let (_, mention) = a
        .api_post(
            "/api/v1/statuses",
            &zoe,
            json!({ "status": "@ana thanks for the tip" }),
        )
        .await;

    let zoe_said =
        |kind: &str, content: &str| (kind.to_owned(), "zoe".to_owned(), content.to_owned());
    let ana_list = notifications(&a, &ana, "").await;
    assert_eq!(
        summary(&ana_list),
        [
            zoe_said("mention", mention["content"].as_str().unwrap_or("?")),
            zoe_said("favourite", post["content"].as_str().unwrap_or("?")),
            zoe_said("follow", ""),
        ],
        "her own mention and like tell her nothing"
    );
    assert_eq!(
        summary(&notifications(&a, &lou, "").await),
        [zoe_said("follow_request", "")]
    );
    assert_eq!(
        summary(&notifications(&a, &mo, "").await),
        [zoe_said("follow_request", "")]
    );
    assert!(notifications(&a, &zoe, "").await.is_empty());
    // Mo lets Zoe in: the request is done with.
    let (status, _) = a
        .api_post(
            &format!("/api/v1/follow_requests/{zoe_id}/authorize"),
            &mo,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(notifications(&a, &mo, "").await.is_empty());

    // Filters.
    let kinds = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .map(|n| n["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        kinds(notifications(&a, &ana, "?types[]=mention").await),
        ["mention"]
    );
    assert_eq!(
        kinds(notifications(&a, &ana, "?types%5B%5D=follow&types%5B%5D=favourite").await),
        ["favourite", "follow"]
    );
    assert_eq!(
        kinds(notifications(&a, &ana, "?exclude_types[]=mention&exclude_types[]=follow").await),
        ["favourite"]
    );
    assert_eq!(
        kinds(notifications(&a, &ana, &format!("?account_id={ana_id}")).await),
        Vec::<String>::new()
    );
    assert_eq!(
        kinds(notifications(&a, &ana, &format!("?account_id={zoe_id}")).await).len(),
        3
    );

    // Paging: two, then the one after by the `Link` header, then back.
    let (status, first, link) = get(
        &a,
        "/api/v1/notifications?limit=2&exclude_types[]=status",
        &ana,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        kinds(first.as_array().cloned().unwrap_or_default()),
        ["mention", "favourite"]
    );
    let link = link.unwrap_or_else(|| panic!("no Link header"));
    let next = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .and_then(|l| l.split(['<', '>']).nth(1))
        .unwrap_or_else(|| panic!("{link}"))
        .to_owned();
    assert!(
        next.contains("limit=2") && next.contains("exclude_types"),
        "{next}"
    );
    let next = url::Url::parse(&next).unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}?{}", next.path(), next.query().unwrap_or_default());
    let (_, second, _) = get(&a, &path, &ana).await;
    assert_eq!(
        kinds(second.as_array().cloned().unwrap_or_default()),
        ["follow"]
    );
    let follow_id = second[0]["id"].as_str().unwrap_or_default().to_owned();
    let newer = notifications(&a, &ana, &format!("?min_id={follow_id}&limit=1")).await;
    assert_eq!(kinds(newer), ["favourite"], "min_id: the page just above");
    let newest_id = first[0]["id"].as_str().unwrap_or_default().to_owned();
    let favourite_id = first[1]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        kinds(notifications(&a, &ana, &format!("?since_id={follow_id}")).await),
        ["mention", "favourite"]
    );

    // One notification, by id: only one's own.
    let (status, one, _) = get(&a, &format!("/api/v1/notifications/{favourite_id}"), &ana).await;
    assert_eq!(
        (status, &one["type"], &one["status"]["id"]),
        (200, &json!("favourite"), &post["id"])
    );
    assert_eq!(
        get(&a, &format!("/api/v1/notifications/{favourite_id}"), &zoe)
            .await
            .0,
        404
    );

    // Unread: all of them without a marker; what is newer than the marker after it.
    let unread = |query: &'static str| {
        let (a, ana) = (&a, ana.clone());
        async move {
            let (status, count, _) = get(
                a,
                &format!("/api/v1/notifications/unread_count{query}"),
                &ana,
            )
            .await;
            assert_eq!(status, 200, "{count}");
            count["count"].as_i64().unwrap_or(-1)
        }
    };
    assert_eq!(unread("").await, 3);
    assert_eq!(unread("?limit=2").await, 2, "capped");
    let (status, saved) = a
        .api_post(
            "/api/v1/markers",
            &ana,
            json!({ "notifications": { "last_read_id": follow_id }, "home": { "last_read_id": post_id } }),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["notifications"]["last_read_id"], follow_id.as_str());
    assert_eq!(saved["notifications"]["version"], 0);
    assert_eq!(saved["home"]["last_read_id"], post_id.as_str());
    assert_eq!(unread("").await, 2);
    assert_eq!(unread("?types[]=mention").await, 1);
    // The same in form encoding, as many apps send it.
    let form = http()
        .post(a.url("/api/v1/markers"))
        .bearer_auth(&ana)
        .form(&[("notifications[last_read_id]", favourite_id.as_str())])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(form.status().as_u16(), 200);
    let form: Value = form.json().await.unwrap_or(Value::Null);
    assert_eq!(form["notifications"]["version"], 1, "{form}");
    assert!(form.get("home").is_none(), "only what was saved: {form}");
    assert_eq!(unread("").await, 1);
    let (status, markers, _) = get(
        &a,
        "/api/v1/markers?timeline[]=home&timeline[]=notifications",
        &ana,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        markers["notifications"]["last_read_id"],
        favourite_id.as_str()
    );
    assert_eq!(markers["notifications"]["version"], 1);
    assert_eq!(markers["home"]["last_read_id"], post_id.as_str());
    assert_eq!(markers["home"]["version"], 0);
    let updated = markers["home"]["updated_at"].as_str().unwrap_or_default();
    assert!(updated.ends_with('Z') && updated.len() == 24, "{updated}");
    let (_, only_home, _) = get(&a, "/api/v1/markers?timeline[]=home", &ana).await;
    assert!(only_home.get("notifications").is_none(), "{only_home}");
    assert_eq!(
        get(&a, "/api/v1/markers?timeline[]=home", &zoe).await.1,
        json!({})
    );

    // Scopes: notifications need their own; markers are statuses'.
    let statuses_only = a.scoped_token("ana", "read:statuses write:statuses").await;
    assert_eq!(
        get(&a, "/api/v1/notifications", &statuses_only).await.0,
        403
    );
    assert_eq!(
        get(&a, "/api/v1/notifications/unread_count", &statuses_only)
            .await
            .0,
        403
    );
    assert_eq!(
        get(&a, "/api/v1/markers?timeline[]=home", &statuses_only)
            .await
            .0,
        200
    );
    let reader = a.scoped_token("ana", "read:notifications").await;
    assert_eq!(get(&a, "/api/v1/notifications", &reader).await.0, 200);
    assert_eq!(
        a.api_post(
            &format!("/api/v1/notifications/{newest_id}/dismiss"),
            &reader,
            json!({})
        )
        .await
        .0,
        403
    );

    // Zoe deletes her mention: its notification goes. Then dismiss one, clear the rest.
    let mention_id = mention["id"].as_str().unwrap_or_default();
    assert_eq!(
        a.api_delete(&format!("/api/v1/statuses/{mention_id}"), &zoe)
            .await
            .0,
        200
    );
    assert_eq!(
        kinds(notifications(&a, &ana, "").await),
        ["favourite", "follow"]
    );
    let dismiss = format!("/api/v1/notifications/{favourite_id}/dismiss");
    assert_eq!(
        a.api_post(&dismiss, &zoe, json!({})).await.0,
        404,
        "not hers"
    );
    assert_eq!(
        a.api_post(&dismiss, &ana, json!({})).await,
        (200, json!({}))
    );
    assert_eq!(a.api_post(&dismiss, &ana, json!({})).await.0, 404);
    assert_eq!(kinds(notifications(&a, &ana, "").await), ["follow"]);
    assert_eq!(
        a.api_post("/api/v1/notifications/clear", &ana, json!({}))
            .await,
        (200, json!({}))
    );
    assert!(notifications(&a, &ana, "").await.is_empty());
    assert_eq!(unread("").await, 0);
    assert_eq!(
        summary(&notifications(&a, &lou, "").await).len(),
        1,
        "others keep theirs"
    );
}
on_both_engines!(local_notifications_through_the_client_api);
