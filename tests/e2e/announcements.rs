//! Clinic announcements: an admin's urgent announcement reaches every local person (the list
//! apps read, and their streams at once) and, posted and pinned in the clinic's groups, the
//! groups' members on another server.

use crate::streaming::EventStream;
use hearth_tests::{Engine, Instance, UserRole, on_both_engines, settle};
use serde_json::{Value, json};

const TEXT: &str = "The clinic is closed today after a flood. Call 0800 123 456 for urgent care.";

/// The announcements `token`'s holder sees.
async fn announcements(instance: &Instance, token: &str) -> Vec<Value> {
    let (status, list) = instance.api_get("/api/v1/announcements", Some(token)).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

async fn an_urgent_announcement_reaches_everyone_here_and_the_groups_members_elsewhere(
    engine: Engine,
) {
    let [a, b] = Instance::start_many(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    let root = a.token("root").await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    a.create_user("ben", UserRole::Member).await;
    let ben = a.token("ben").await;
    a.create_group("support", "Support").await;
    b.create_user("bob", UserRole::Member).await;
    let bob = b.token("bob").await;
    let group_on_b = b.account_id(&format!("support@{}", a.domain), &bob).await;
    assert_eq!(b.follow_account(&bob, &group_on_b).await.0, 200);
    settle(&[&a, &b]).await;
    let mut ana_stream = EventStream::open(&a, "/api/v1/streaming/user", &ana).await;

    // Only admins publish; an empty one is refused.
    let publish = "/api/hearth/v1/admin/announcements";
    let (status, _) = a.api_post(publish, &ana, json!({ "text": TEXT })).await;
    assert_eq!(status, 403);
    let (status, _) = a.api_post(publish, &root, json!({ "text": "  " })).await;
    assert_eq!(status, 422);
    let (status, published) = a
        .api_post(publish, &root, json!({ "text": TEXT, "urgent": "true" }))
        .await;
    assert_eq!(status, 200, "{published}");
    let id = published["id"].as_str().unwrap_or_default().to_owned();

    // Every local person has it, unread, and ana's stream heard of it at once.
    for token in [&ana, &ben] {
        let list = announcements(&a, token).await;
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["id"], id.as_str());
        assert!(
            list[0]["content"]
                .as_str()
                .unwrap_or_default()
                .contains("0800 123 456")
        );
        assert_eq!(list[0]["read"], false);
    }
    let told = |(event, data): &(String, String)| {
        event == "notification" && data.contains("hearth:announcement")
    };
    let mut heard = ana_stream.until("announcement", &id).await;
    if !heard.iter().any(told) {
        heard.extend(
            ana_stream
                .until("notification", "hearth:announcement")
                .await,
        );
    }
    assert!(heard.iter().any(told), "{heard:?}");

    // Each has a notification of it, from the clinic, which apps may leave out by its type.
    let (_, notified) = a.api_get("/api/v1/notifications", Some(&ben)).await;
    assert_eq!(notified[0]["type"], "hearth:announcement", "{notified}");
    assert_eq!(notified[0]["announcement"]["id"], id.as_str(), "{notified}");
    let others = "/api/v1/notifications?exclude_types[]=hearth:announcement";
    assert_eq!(a.api_get(others, Some(&ben)).await.1, json!([]));

    // ana dismisses it and reacts; ben's view is his own.
    let (status, _) = a
        .api_post(
            &format!("/api/v1/announcements/{id}/dismiss"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let reaction = format!("/api/v1/announcements/{id}/reactions/%F0%9F%99%8F");
    assert_eq!(a.api_put(&reaction, &ana, json!({})).await.0, 200);
    let mine = &announcements(&a, &ana).await[0];
    assert_eq!(mine["read"], true);
    assert_eq!(
        mine["reactions"],
        json!([{ "name": "🙏", "count": 1, "me": true }])
    );
    let bens = &announcements(&a, &ben).await[0];
    assert_eq!(bens["read"], false);
    assert_eq!(
        bens["reactions"],
        json!([{ "name": "🙏", "count": 1, "me": false }])
    );
    assert_eq!(a.api_delete(&reaction, &ana).await.0, 200);
    assert_eq!(announcements(&a, &ana).await[0]["reactions"], json!([]));
    let unknown = "/api/v1/announcements/12345/dismiss";
    assert_eq!(a.api_post(unknown, &ana, json!({})).await.0, 404);

    // Urgent: posted and pinned in the group, here and on B, where bob is a member.
    let group_here = a.account_id("support", &ana).await;
    let pinned = format!("/api/v1/accounts/{group_here}/statuses?pinned=true");
    let (_, here) = a.api_get(&pinned, Some(&ana)).await;
    assert!(
        here[0]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("0800 123 456"),
        "{here}"
    );
    settle(&[&a, &b]).await;
    let pinned_there = format!("/api/v1/accounts/{group_on_b}/statuses?pinned=true");
    let (_, there) = b.api_get(&pinned_there, Some(&bob)).await;
    assert_eq!(
        there[0]["uri"], here[0]["uri"],
        "B shows the pinned post: {there}"
    );

    // The clinic's home page shows it to anyone.
    let page = hearth_tests::http()
        .get(a.url("/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains("Urgent announcement") && page.contains("0800 123 456"));

    // Withdrawn, it is gone from the list, and its post is no longer pinned, here or on B
    // (the post itself stays, with the replies to it); both acts are in the audit log.
    let withdraw = format!("/api/hearth/v1/admin/announcements/{id}");
    assert_eq!(a.api_delete(&withdraw, &ana).await.0, 403);
    assert_eq!(a.api_delete(&withdraw, &root).await.0, 200);
    assert!(announcements(&a, &ana).await.is_empty());
    assert_eq!(a.api_get(&pinned, Some(&ana)).await.1, json!([]));
    let (_, notified) = a.api_get("/api/v1/notifications", Some(&ben)).await;
    assert_eq!(notified, json!([]), "the notifications went with it");
    settle(&[&a, &b]).await;
    assert_eq!(b.api_get(&pinned_there, Some(&bob)).await.1, json!([]));
    let post = format!(
        "/api/v1/statuses/{}",
        here[0]["id"].as_str().unwrap_or_default()
    );
    assert_eq!(a.api_get(&post, Some(&ana)).await.0, 200);
    let logged = a.audit_log(&root, "announcement.publish").await;
    assert_eq!(logged.len(), 1);
    let withdrawn = a.audit_log(&root, "announcement.withdraw").await;
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(
        withdrawn[0]["detail"], "unpinned from groups: 1",
        "{withdrawn:?}"
    );
}
on_both_engines!(an_urgent_announcement_reaches_everyone_here_and_the_groups_members_elsewhere);
