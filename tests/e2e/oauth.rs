//! Signing in from an app: OAuth 2 with PKCE through the real sign-in and consent page, token
//! grants, scopes, revocation, and what a browser can and cannot do.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hearth_tests::{
    Browser, Engine as Db, Instance, UserRole, hidden_input as hidden, http, on_both_engines,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const PASSWORD: &str = "a long test password";
const REDIRECT: &str = "org.example.app://oauth-callback";

/// Every hidden input of the page's form, as the browser would send them back.
fn hidden_fields(page: &str) -> Vec<(&'static str, String)> {
    [
        "csrf",
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .into_iter()
    .filter(|name| page.contains(&format!("name=\"{name}\" value=\"")))
    .map(|name| (name, hidden(page, name)))
    .collect()
}

async fn post_json(url: reqwest::Url, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_with(instance: &Instance, path: &str, token: &str) -> (u16, Value) {
    let response = http()
        .get(instance.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

struct App {
    client_id: String,
    client_secret: String,
}

async fn register(instance: &Instance, scopes: &str, redirect: &str) -> App {
    let (status, app) = post_json(
        instance.url("/api/v1/apps"),
        &[
            ("client_name", "Test app"),
            ("redirect_uris", redirect),
            ("scopes", scopes),
            ("website", "https://app.example/"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{app}");
    for field in ["id", "name", "client_id", "client_secret", "redirect_uri"] {
        assert!(app[field].is_string(), "{field} in {app}");
    }
    App {
        client_id: app["client_id"].as_str().unwrap_or_default().into(),
        client_secret: app["client_secret"].as_str().unwrap_or_default().into(),
    }
}

fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(instance: &Instance, app: &App, scope: &str, challenge: &str) -> String {
    let mut url = instance.url("/oauth/authorize");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "xyz & more")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    url.to_string()
}

/// Signs in on the consent page and approves; returns the code from the redirect.
async fn approve(browser: &mut Browser, instance: &Instance, url: &str, handle: &str) -> String {
    let (status, page, _) = browser.get(url).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Allow Test app to use your account?"),
        "{page}"
    );
    let mut form = hidden_fields(&page);
    form.extend([
        ("handle", handle.to_owned()),
        ("password", PASSWORD.to_owned()),
        ("decision", "approve".to_owned()),
    ]);
    let (status, body, location) = browser
        .post(instance.url("/oauth/authorize").as_str(), &form)
        .await;
    assert_eq!(status, 303, "{body}");
    let location = location.unwrap_or_default();
    assert!(location.starts_with(REDIRECT), "{location}");
    let redirect = url::Url::parse(&location).unwrap_or_else(|e| panic!("{e}"));
    let query: BTreeMap<_, _> = redirect.query_pairs().into_owned().collect();
    assert_eq!(query.get("state").map(String::as_str), Some("xyz & more"));
    query
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {location}"))
}

/// The whole flow an app runs, with PKCE: register, sign in and approve on the page, exchange
/// the code, use the token; the code works once; revoking ends the token.
async fn an_app_signs_in_with_pkce_through_the_consent_page(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let app = register(&a, "read write follow", REDIRECT).await;
    let (verifier, challenge) = pkce();
    let mut browser = Browser::default();
    let code = approve(
        &mut browser,
        &a,
        &authorize_url(&a, &app, "read write", &challenge),
        "ana",
    )
    .await;

    let (status, error) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "not-the-verifier-not-the-verifier-not-the-ver",
            ),
        ],
    )
    .await;
    assert_eq!(
        (status, &error["error"]),
        (400, &Value::from("invalid_grant"))
    );

    // The failed attempt used the code up: an attacker's guess costs the code.
    let (status, _) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 400, "a code works once");

    let code = approve(
        &mut browser,
        &a,
        &authorize_url(&a, &app, "read write", &challenge),
        "ana",
    )
    .await;
    let (status, token) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "read write");
    assert!(token["created_at"].is_i64());
    let access = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let (status, me) = get_with(&a, "/api/v1/accounts/verify_credentials", &access).await;
    assert_eq!((status, &me["username"]), (200, &Value::from("ana")));
    let (status, verified_app) = get_with(&a, "/api/v1/apps/verify_credentials", &access).await;
    assert_eq!(
        (status, &verified_app["name"]),
        (200, &Value::from("Test app"))
    );

    let (status, _) = post_json(
        a.url("/oauth/revoke"),
        &[
            ("token", &access),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get_with(&a, "/api/v1/accounts/verify_credentials", &access).await;
    assert_eq!(status, 401, "a revoked token is refused");
}
on_both_engines!(an_app_signs_in_with_pkce_through_the_consent_page);

/// What the page refuses: plain PKCE, a redirect URI the app did not register, a form without
/// the browser's CSRF token; a denial goes back to the app as `access_denied`.
async fn the_consent_page_refuses_what_it_must(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let app = register(&a, "read", REDIRECT).await;
    let mut browser = Browser::default();

    let plain = authorize_url(&a, &app, "read", "x").replace("S256", "plain");
    let (status, page, _) = browser.get(&plain).await;
    assert_eq!(status, 400);
    assert!(page.contains("plain is not accepted"), "{page}");

    let elsewhere =
        authorize_url(&a, &app, "read", &pkce().1).replace("org.example.app", "evil.example");
    let (status, page, _) = browser.get(&elsewhere).await;
    assert_eq!(
        status, 400,
        "an unregistered redirect is shown as an error, not followed"
    );
    assert!(page.contains("redirect_uri"), "{page}");

    let too_much = authorize_url(&a, &app, "read write", &pkce().1);
    let (status, _, _) = browser.get(&too_much).await;
    assert_eq!(status, 400, "more scopes than registered");

    let url = authorize_url(&a, &app, "read", &pkce().1);
    let (_, page, _) = browser.get(&url).await;
    let mut forged: Vec<_> = hidden_fields(&page)
        .into_iter()
        .filter(|(name, _)| *name != "csrf")
        .collect();
    forged.extend([
        ("csrf", "guessed".to_owned()),
        ("handle", "ana".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("decision", "approve".to_owned()),
    ]);
    let (status, _, location) = browser
        .post(a.url("/oauth/authorize").as_str(), &forged)
        .await;
    assert_eq!(
        (status, location),
        (403, None),
        "a cross-site form is refused"
    );

    let mut deny = hidden_fields(&page);
    deny.push(("decision", "deny".to_owned()));
    let (status, _, location) = browser
        .post(a.url("/oauth/authorize").as_str(), &deny)
        .await;
    assert_eq!(status, 303);
    let location = location.unwrap_or_default();
    assert!(
        location.contains("error=access_denied") && location.contains("state="),
        "{location}"
    );

    let mut wrong = hidden_fields(&page);
    wrong.extend([
        ("handle", "ana".to_owned()),
        ("password", "wrong password".to_owned()),
        ("decision", "approve".to_owned()),
    ]);
    let (status, page, location) = browser
        .post(a.url("/oauth/authorize").as_str(), &wrong)
        .await;
    assert_eq!((status, location), (422, None));
    assert!(page.contains("Invalid handle or password"), "{page}");
    assert!(!browser.cookies.contains_key("hearth_session"));
}
on_both_engines!(the_consent_page_refuses_what_it_must);

/// Apps without a redirect (command-line tools) get the code on the page.
async fn out_of_band_apps_see_the_code(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let oob = "urn:ietf:wg:oauth:2.0:oob";
    let app = register(&a, "read", oob).await;
    let mut url = a.url("/oauth/authorize");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", oob);
    let mut browser = Browser::default();
    let (_, page, _) = browser.get(url.as_str()).await;
    let mut form = hidden_fields(&page);
    form.extend([
        ("handle", "ana".to_owned()),
        ("password", PASSWORD.to_owned()),
        ("decision", "approve".to_owned()),
    ]);
    let (status, page, _) = browser
        .post(a.url("/oauth/authorize").as_str(), &form)
        .await;
    assert_eq!(status, 200);
    let code = page
        .split_once("<code class=\"code\">")
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| panic!("no code on {page}"));
    // Without PKCE, the app proves itself with its secret.
    let (status, _) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("redirect_uri", oob),
        ],
    )
    .await;
    assert_eq!(status, 401, "no secret, no PKCE: refused");
    let (_, page, _) = browser.get(url.as_str()).await;
    assert!(
        page.contains("Signed in as @ana"),
        "the browser stays signed in: {page}"
    );
    let mut form = hidden_fields(&page);
    form.push(("decision", "approve".to_owned()));
    let (_, page, _) = browser
        .post(a.url("/oauth/authorize").as_str(), &form)
        .await;
    let code = page
        .split_once("<code class=\"code\">")
        .and_then(|(_, rest)| rest.split_once("</code>"))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_default();
    let (status, token) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("redirect_uri", oob),
        ],
    )
    .await;
    assert_eq!(status, 200, "{token}");
}
on_both_engines!(out_of_band_apps_see_the_code);

/// Client credentials give the app a token of its own (no person); refresh tokens replace
/// their token; the password grant is off unless the admin turns it on.
async fn other_grants(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let app = register(&a, "read write", REDIRECT).await;
    let (status, own) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{own}");
    let app_token = own["access_token"].as_str().unwrap_or_default();
    assert_eq!(
        get_with(&a, "/api/v1/apps/verify_credentials", app_token)
            .await
            .0,
        200
    );
    assert_eq!(
        get_with(&a, "/api/v1/accounts/verify_credentials", app_token)
            .await
            .0,
        401,
        "an app's own token speaks for no person"
    );
    let (status, error) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(
        (status, &error["error"]),
        (401, &Value::from("invalid_client"))
    );

    let refresh = own["refresh_token"].as_str().unwrap_or_default();
    let (status, renewed) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(
        get_with(&a, "/api/v1/apps/verify_credentials", app_token)
            .await
            .0,
        401
    );
    let renewed_token = renewed["access_token"].as_str().unwrap_or_default();
    assert_eq!(
        get_with(&a, "/api/v1/apps/verify_credentials", renewed_token)
            .await
            .0,
        200
    );

    let (status, error) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "password"),
            ("username", "ana"),
            ("password", PASSWORD),
            ("client_id", &app.client_id),
            ("client_secret", &app.client_secret),
        ],
    )
    .await;
    assert_eq!(
        (status, &error["error"]),
        (400, &Value::from("unsupported_grant_type"))
    );

    let response = http()
        .get(a.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let metadata: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        metadata["authorization_endpoint"],
        a.url("/oauth/authorize").as_str()
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert!(
        metadata["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&Value::from("write:statuses")))
    );
}
on_both_engines!(other_grants);

/// A token may do only what its scopes allow.
async fn scopes_are_enforced_per_endpoint(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let bo = a.create_user("bo", UserRole::Member).await;
    let app = register(&a, "read write:statuses", REDIRECT).await;
    let (verifier, challenge) = pkce();
    let mut browser = Browser::default();
    let code = approve(
        &mut browser,
        &a,
        &authorize_url(&a, &app, "read:statuses write:statuses", &challenge),
        "ana",
    )
    .await;
    let (_, token) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(get_with(&a, "/api/v1/timelines/home", &token).await.0, 200);
    let posted = http()
        .post(a.url("/api/v1/statuses"))
        .bearer_auth(&token)
        .form(&[("status", "hello")])
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(posted.ok(), Some(200));
    let (status, error) = get_with(&a, "/api/v1/accounts/verify_credentials", &token).await;
    assert_eq!(status, 403, "read:accounts was not granted: {error}");
    let follow = http()
        .post(a.url(&format!("/api/v1/accounts/{}/follow", bo.id)))
        .bearer_auth(&token)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(follow.ok(), Some(403), "write:follows was not granted");
}
on_both_engines!(scopes_are_enforced_per_endpoint);

/// Guessing passwords is cut off per account, whatever the address.
async fn sign_in_attempts_are_limited(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let mut browser = Browser::default();
    let (_, page, _) = browser.get(a.url("/auth/sign_in").as_str()).await;
    let csrf = hidden(&page, "csrf");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _, _) = browser
            .post(
                a.url("/auth/sign_in").as_str(),
                &[
                    ("csrf", csrf.clone()),
                    ("handle", "ana".into()),
                    ("password", "guess".into()),
                ],
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses[..10], [422; 10]);
    assert_eq!(statuses[10..], [429, 429]);
    let (status, _, _) = browser
        .post(
            a.url("/auth/sign_in").as_str(),
            &[
                ("csrf", csrf),
                ("handle", "ana".into()),
                ("password", PASSWORD.into()),
            ],
        )
        .await;
    assert_eq!(
        status, 429,
        "even the right password waits until the limit has passed"
    );
}
on_both_engines!(sign_in_attempts_are_limited);

/// A person sees their apps and browser sessions and revokes an app's access.
async fn people_see_and_revoke_their_apps(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let app = register(&a, "read", REDIRECT).await;
    let (verifier, challenge) = pkce();
    let mut browser = Browser::default();
    let code = approve(
        &mut browser,
        &a,
        &authorize_url(&a, &app, "read", &challenge),
        "ana",
    )
    .await;
    let (_, token) = post_json(
        a.url("/oauth/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &app.client_id),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, page, _) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("App: Test app") && page.contains("Browser session"),
        "{page}"
    );
    let revoke = page
        .split("action=\"/settings/sessions/")
        .nth(1)
        .and_then(|rest| rest.split_once('/'))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_default();
    let (status, _, _) = browser
        .post(
            a.url(&format!("/settings/sessions/{revoke}/revoke"))
                .as_str(),
            &[("csrf", hidden(&page, "csrf"))],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(get_with(&a, "/api/v1/timelines/home", &token).await.0, 401);
    let (_, page, _) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert!(!page.contains("App: Test app"), "{page}");

    let anonymous = Browser::default()
        .get(a.url("/settings/sessions").as_str())
        .await;
    assert_eq!(
        (anonymous.0, anonymous.2.as_deref()),
        (303, Some("/auth/sign_in"))
    );
}
on_both_engines!(people_see_and_revoke_their_apps);

/// A browser opening a fresh instance gets a page, not JSON; apps still get JSON errors.
async fn browsers_get_pages(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_group("diabetes", "Diabetes support").await;
    let mut browser = Browser::default();
    let (status, page, _) = browser.get(a.url("/").as_str()).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Diabetes support") && page.contains("Sign in"),
        "{page}"
    );
    let (status, page, _) = browser.get(a.url("/@nobody").as_str()).await;
    assert_eq!(status, 404);
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("Record not found"),
        "{page}"
    );
    let response = http()
        .get(a.url("/@nobody"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(body["error"].is_string(), "apps keep JSON errors");
}
on_both_engines!(browsers_get_pages);
