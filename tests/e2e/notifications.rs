//! Notifications and markers: what a person is told of, from this server and from others,
//! and how apps read, filter, page, dismiss and count them.

use hearth::{
    db::tokens::KIND_CLI,
    service::{oauth, scopes::Scopes},
};
use hearth_tests::{
    Engine, Instance, JoinPolicy, Signer, UserRole, Visibility, http, on_both_engines, settle,
};
use serde_json::{Value, json};

/// `GET` with a token; status, JSON and the `Link` header.
async fn get(instance: &Instance, path: &str, token: &str) -> (u16, Value, Option<String>) {
    let response = http()
        .get(instance.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let link = response
        .headers()
        .get("link")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    (status, response.json().await.unwrap_or(Value::Null), link)
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
    let (a, b) = (Instance::start(&engine).await, Instance::start(&engine).await);
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
        .api_post("/api/v1/statuses", &ana, json!({ "status": "Day 12 of the new diet" }))
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
    assert_eq!(list[0]["status"]["id"], post["id"], "A's own post, by A's id");
    assert!(list[4].get("status").is_none(), "a follow has no status: {}", list[4]);

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
