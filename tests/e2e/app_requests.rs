//! Requests as real apps and client libraries send them: trailing slashes, JSON, urlencoded and
//! multipart bodies, Rails-style booleans and `id[]` arrays.

use hearth_tests::{Engine, Instance, UserRole, http, on_both_engines};
use reqwest::multipart::Form;
use serde_json::Value;

async fn json(response: reqwest::RequestBuilder) -> (u16, Value) {
    let response = response.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Mastodon.py asks for `/api/v1/instance/`; other apps add slashes elsewhere.
async fn trailing_slashes_reach_the_same_endpoints(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let (status, instance) = json(http().get(a.url("/api/v1/instance/"))).await;
    assert_eq!(status, 200);
    assert_eq!(instance["uri"], a.domain.as_str());
    let (status, me) = json(
        http()
            .get(a.url("/api/v1/accounts/verify_credentials/"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!((status, &me["username"]), (200, &Value::from("ana")));
}
on_both_engines!(trailing_slashes_reach_the_same_endpoints);

/// The same status posted in each encoding, with the booleans each kind of app sends.
async fn statuses_are_accepted_in_every_encoding(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let post = || http().post(a.url("/api/v1/statuses")).bearer_auth(&token);

    for (raw, expected) in [("False", false), ("True", true), ("0", false), ("on", true)] {
        let (status, form) =
            json(post().form(&[("status", "urlencoded"), ("sensitive", raw)])).await;
        assert_eq!(status, 200, "sensitive={raw}: {form}");
        assert_eq!(form["sensitive"], expected, "sensitive={raw}");
    }

    let multipart = Form::new()
        .text("status", "sent as multipart")
        .text("sensitive", "true")
        .text("spoiler_text", "cw");
    let (status, sent) = json(post().multipart(multipart)).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["sensitive"], true);
    assert_eq!(sent["spoiler_text"], "cw");
    assert!(
        sent["content"]
            .as_str()
            .is_some_and(|c| c.contains("sent as multipart"))
    );

    let (status, sent) = json(post().json(&serde_json::json!({
        "status": "sent as JSON", "sensitive": "false"
    })))
    .await;
    assert_eq!((status, &sent["sensitive"]), (200, &Value::Bool(false)));

    let (status, error) = json(post().form(&[("status", "x"), ("sensitive", "perhaps")])).await;
    assert_eq!(
        status, 422,
        "a value that is no boolean is refused, not guessed"
    );
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("boolean"))
    );
    let (status, error) = json(
        post()
            .header("content-type", "application/json")
            .body("{\"status\": "),
    )
    .await;
    assert_eq!(status, 400);
    assert!(error["error"].is_string());
}
on_both_engines!(statuses_are_accepted_in_every_encoding);

/// `id[]=1&id[]=2` (Mastodon.py, Tusky) and a single `id=1` both read as lists.
async fn bracketed_arrays_in_queries(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let bo = a.create_user("bo", UserRole::Member).await;
    let cy = a.create_user("cy", UserRole::Member).await;
    let token = a.token("ana").await;
    let (status, list) = json(
        http()
            .get(a.url(&format!(
                "/api/v1/accounts/relationships?id%5B%5D={}&id[]={}",
                bo.id, cy.id
            )))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 200);
    let ids: Vec<_> = list
        .as_array()
        .map(|l| l.iter().map(|r| r["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [
            Value::from(bo.id.to_string()),
            Value::from(cy.id.to_string())
        ]
    );
    let (_, one) = json(
        http()
            .get(a.url(&format!("/api/v1/accounts/relationships?id={}", bo.id)))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
}
on_both_engines!(bracketed_arrays_in_queries);
