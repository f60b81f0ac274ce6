//! The outbox when a server is away: failures wait with backoff, admins see and steer the queue.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines};
use serde_json::json;

async fn a_server_that_is_away_shows_in_the_queue_until_retried_or_dropped(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let peer = StubPeer::start().await;
    let (_, found) = a
        .api_get(
            &format!("/api/v2/search?q={}&resolve=true", peer.actor("gina")),
            Some(&ana),
        )
        .await;
    let gina = found["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let host = peer.domain.clone();
    drop(peer); // the server goes away

    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    assert_eq!(a.deliver().await, 1, "one attempt");
    assert_eq!(
        a.deliver().await,
        0,
        "the failed delivery waits for its backoff"
    );

    let (status, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(status, 200);
    assert_eq!(queue[0]["host"], host.as_str(), "{queue}");
    assert_eq!(
        (&queue[0]["pending"], &queue[0]["failing"]),
        (&json!(1), &json!(1))
    );
    assert!(queue[0]["last_error"].is_string());
    assert_eq!(
        a.api_get("/api/hearth/v1/admin/federation", Some(&ana))
            .await
            .0,
        403,
        "admins only"
    );

    let (_, retried) = a
        .api_post(
            &format!("/api/hearth/v1/admin/federation/{host}/retry"),
            &root,
            json!({}),
        )
        .await;
    assert_eq!(retried["retried"], 1);
    assert_eq!(a.deliver().await, 1, "retried at once");
    let (_, dropped) = a
        .api_delete(&format!("/api/hearth/v1/admin/federation/{host}"), &root)
        .await;
    assert_eq!(dropped["dropped"], 1);
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(queue, json!([]));
}
on_both_engines!(a_server_that_is_away_shows_in_the_queue_until_retried_or_dropped);
