//! The Mastodon-compatible client API, in the entity shapes Mastodon apps parse.

use hearth_tests::{Engine, Instance, UserRole, http, on_both_engines};
use serde_json::Value;

async fn get(instance: &Instance, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = http().get(instance.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `2026-11-25T15:19:45.000Z`: ISO 8601, UTC, milliseconds.
fn is_mastodon_time(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 24
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && chrono::DateTime::parse_from_rfc3339(s).is_ok()
    })
}

fn assert_account_shape(account: &Value) {
    for field in [
        "id",
        "username",
        "acct",
        "display_name",
        "note",
        "url",
        "uri",
        "avatar",
        "avatar_static",
        "header",
        "header_static",
    ] {
        assert!(
            account[field].is_string(),
            "{field} must be a string in {account}"
        );
    }
    assert!(
        account["id"]
            .as_str()
            .is_some_and(|id| id.parse::<i64>().is_ok()),
        "ids are numeric strings"
    );
    for field in ["locked", "bot", "group", "discoverable"] {
        assert!(account[field].is_boolean(), "{field} in {account}");
    }
    for field in ["followers_count", "following_count", "statuses_count"] {
        assert!(account[field].is_u64(), "{field} in {account}");
    }
    for field in ["emojis", "fields"] {
        assert!(account[field].is_array(), "{field} in {account}");
    }
    assert!(
        is_mastodon_time(&account["created_at"]),
        "created_at {}",
        account["created_at"]
    );
    assert!(
        account["avatar"]
            .as_str()
            .is_some_and(|a| a.starts_with("http")),
        "never-empty avatar"
    );
}

/// verify_credentials needs a valid bearer token and returns the CredentialAccount.
async fn verify_credentials_returns_the_signed_in_account(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Moderator).await;
    let token = a.token("ana").await;

    let (status, account) = get(&a, "/api/v1/accounts/verify_credentials", Some(&token)).await;
    assert_eq!(status, 200);
    assert_account_shape(&account);
    assert_eq!(account["username"], "ana");
    assert_eq!(account["acct"], "ana");
    assert_eq!(account["group"], false);
    assert_eq!(account["bot"], false);
    assert_eq!(account["uri"], a.url("/users/ana").as_str());
    assert_eq!(account["source"]["privacy"], "public");
    assert_eq!(account["role"]["name"], "Moderator");
    assert!(
        account["role"]["permissions"]
            .as_str()
            .is_some_and(|p| p.parse::<u64>().is_ok())
    );
    let avatar = http()
        .get(account["avatar"].as_str().unwrap_or_default())
        .send()
        .await;
    assert!(avatar.is_ok_and(|r| r.status() == 200 && r.headers()["content-type"] == "image/png"));

    for bad in [None, Some("not-a-token"), Some("")] {
        let (status, error) = get(&a, "/api/v1/accounts/verify_credentials", bad).await;
        assert_eq!(status, 401, "{bad:?}");
        assert!(error["error"].is_string());
    }
}
on_both_engines!(verify_credentials_returns_the_signed_in_account);

/// lookup finds local people and groups by handle; a group is an Account with `group: true`.
async fn lookup_finds_people_and_groups(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_group("diabetes", "Diabetes support").await;

    let (status, group) = get(&a, "/api/v1/accounts/lookup?acct=diabetes", None).await;
    assert_eq!(status, 200);
    assert_account_shape(&group);
    assert_eq!(group["group"], true);
    assert_eq!(group["display_name"], "Diabetes support");
    let (_, same) = get(
        &a,
        &format!("/api/v1/accounts/lookup?acct=@diabetes@{}", a.domain),
        None,
    )
    .await;
    assert_eq!(same["id"], group["id"]);
    let (status, by_id) = get(
        &a,
        &format!(
            "/api/v1/accounts/{}",
            group["id"].as_str().unwrap_or_default()
        ),
        None,
    )
    .await;
    assert_eq!((status, &by_id["acct"]), (200, &group["acct"]));

    let token = a.token("ana").await;
    let (status, found) = get(&a, "/api/v1/accounts/search?q=%40diabetes", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(found[0]["id"], group["id"], "{found}");
    let (_, none) = get(&a, "/api/v1/accounts/search?q=nobody", Some(&token)).await;
    assert_eq!(none, serde_json::json!([]));

    let (status, person) = get(&a, "/api/v1/accounts/lookup?acct=ana", None).await;
    assert_eq!((status, &person["group"]), (200, &Value::Bool(false)));

    for missing in [
        "/api/v1/accounts/lookup?acct=nobody",
        "/api/v1/accounts/lookup?acct=ana@elsewhere.example",
        "/api/v1/accounts/12345",
    ] {
        let (status, error) = get(&a, missing, None).await;
        assert_eq!(status, 404, "{missing}");
        assert!(error["error"].is_string());
    }
    let (status, _) = get(&a, "/api/v1/accounts/lookup", None).await;
    assert_eq!(status, 400);
}
on_both_engines!(lookup_finds_people_and_groups);

/// The v1 and v2 instance entities, with counts from the database.
async fn instance_endpoints_have_the_mastodon_shapes(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Admin).await;
    a.create_group("diabetes", "Diabetes support").await;

    let (status, v1) = get(&a, "/api/v1/instance", None).await;
    assert_eq!(status, 200);
    assert_eq!(v1["uri"], a.domain.as_str());
    for field in [
        "title",
        "short_description",
        "description",
        "email",
        "version",
    ] {
        assert!(v1[field].is_string(), "v1 {field}");
    }
    assert!(
        v1["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.") && v.contains("Hearth"))
    );
    assert_eq!(v1["stats"]["user_count"], 1);
    assert!(v1["stats"]["status_count"].is_u64() && v1["stats"]["domain_count"].is_u64());
    assert!(v1["urls"]["streaming_api"].is_string());
    assert!(v1["registrations"].is_boolean() && v1["approval_required"].is_boolean());
    assert!(v1["configuration"]["statuses"]["max_characters"].is_u64());
    assert!(v1["languages"].is_array() && v1["rules"].is_array());

    let (status, v2) = get(&a, "/api/v2/instance", None).await;
    assert_eq!(status, 200);
    assert_eq!(v2["domain"], a.domain.as_str());
    assert!(v2["title"].is_string() && v2["version"].is_string() && v2["source_url"].is_string());
    assert_eq!(v2["usage"]["users"]["active_month"], 1);
    assert!(v2["thumbnail"]["url"].is_string());
    assert!(v2["registrations"]["enabled"].is_boolean());
    assert!(v2["configuration"]["urls"]["streaming"].is_string());
    assert!(v2["configuration"]["statuses"]["max_characters"].is_u64());
    assert!(v2["api_versions"]["mastodon"].is_u64());
    assert!(v2["contact"]["email"].is_string() && v2["rules"].is_array());
}
on_both_engines!(instance_endpoints_have_the_mastodon_shapes);

/// Probes, and JSON errors for unknown routes and methods.
async fn probes_and_unknown_routes(engine: Engine) {
    let a = Instance::start(&engine).await;
    assert_eq!(
        get(&a, "/healthz", None).await,
        (200, serde_json::json!({ "status": "ok" }))
    );
    let (status, ready) = get(&a, "/readyz", None).await;
    assert_eq!(
        (status, &ready["database"]),
        (200, &Value::String("ok".into()))
    );
    let (status, error) = get(&a, "/api/v1/nothing/here", None).await;
    assert_eq!(status, 404);
    assert!(error["error"].is_string());
    let response = http()
        .delete(a.url("/api/v1/instance"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 405);
}
on_both_engines!(probes_and_unknown_routes);
