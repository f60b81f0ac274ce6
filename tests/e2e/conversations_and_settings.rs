//! Direct conversations, paged account lists, and changing one's password on the web.

use hearth_tests::{
    Browser, Engine, Instance, JoinPolicy, UserRole, Visibility, hidden_input, on_both_engines,
    settle,
};
use serde_json::{Value, json};

async fn post(instance: &Instance, token: &str, body: Value) -> Value {
    let (status, posted) = instance.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{posted}");
    posted
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn accts(accounts: &Value) -> Vec<String> {
    accounts
        .as_array()
        .map(|l| l.iter().map(|a| text(&a["acct"])).collect())
        .unwrap_or_default()
}

/// Direct messages are grouped by thread and people, newest first, with who else is in each,
/// the latest post and whether it is unread; read, removed, and kept apart per person.
async fn direct_messages_are_grouped_into_conversations(engine: Engine) {
    let a = Instance::start(&engine).await;
    let b = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bo", UserRole::Member).await;
    b.create_user("cy", UserRole::Member).await;
    let (ana, bo, cy) = (
        a.token("ana").await,
        a.token("bo").await,
        b.token("cy").await,
    );
    let hello = post(
        &a,
        &ana,
        json!({"status": "@bo how are you?", "visibility": "direct"}),
    )
    .await;
    post(&a, &ana, json!({"status": "@bo public hello"})).await;

    let (_, mine) = a.api_get("/api/v1/conversations", Some(&ana)).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(accts(&mine[0]["accounts"]), ["bo"]);
    assert_eq!(mine[0]["unread"], false, "one's own message is read");
    assert_eq!(mine[0]["last_status"]["id"], hello["id"]);
    assert!(mine[0]["id"].is_string());
    let (_, theirs) = a.api_get("/api/v1/conversations", Some(&bo)).await;
    assert_eq!(accts(&theirs[0]["accounts"]), ["ana"]);
    assert_eq!(theirs[0]["unread"], true);
    assert_ne!(theirs[0]["id"], mine[0]["id"], "each person has their own");

    let reply = post(
        &a,
        &bo,
        json!({"status": "@ana better, thanks", "visibility": "direct", "in_reply_to_id": hello["id"]}),
    )
    .await;
    let (_, mine) = a.api_get("/api/v1/conversations", Some(&ana)).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "one thread: {mine}");
    assert_eq!(mine[0]["last_status"]["id"], reply["id"]);
    assert_eq!(mine[0]["unread"], true);
    let conversation = text(&mine[0]["id"]);

    let (code, read) = a
        .api_post(
            &format!("/api/v1/conversations/{conversation}/read"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!((code, &read["unread"]), (200, &json!(false)), "{read}");
    let (code, _) = a
        .api_post(
            &format!("/api/v1/conversations/{conversation}/read"),
            &bo,
            json!({}),
        )
        .await;
    assert_eq!(code, 404, "not bo's conversation");

    // Deleting the latest post leaves the conversation at the one before.
    a.api_delete(&format!("/api/v1/statuses/{}", text(&reply["id"])), &bo)
        .await;
    let (_, mine) = a.api_get("/api/v1/conversations", Some(&ana)).await;
    assert_eq!(mine[0]["last_status"]["id"], hello["id"], "{mine}");

    // A new message (not a reply) is a new conversation; a person elsewhere writes too.
    let again = post(
        &a,
        &ana,
        json!({"status": "@bo new topic", "visibility": "direct"}),
    )
    .await;
    let ana_id = b.account_id(&format!("ana@{}", a.domain), &cy).await;
    assert!(!ana_id.is_empty());
    let from_cy = post(
        &b,
        &cy,
        json!({"status": format!("@ana@{} hello from afar", a.domain), "visibility": "direct"}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (first, next) = a.get_paged("/api/v1/conversations?limit=2", &ana).await;
    assert_eq!(accts(&first[0]["accounts"]), [format!("cy@{}", b.domain)]);
    assert_eq!(first[0]["last_status"]["uri"], from_cy["uri"]);
    assert_eq!(first[0]["unread"], true);
    assert_eq!(first[1]["last_status"]["id"], again["id"]);
    let (rest, _) = a.get_paged(&next.unwrap_or_default(), &ana).await;
    assert_eq!(
        rest.as_array().map(Vec::len),
        Some(1),
        "the third, on the next page: {rest}"
    );
    assert_eq!(rest[0]["id"], conversation.as_str());

    let (code, removed) = a
        .api_delete(&format!("/api/v1/conversations/{conversation}"), &ana)
        .await;
    assert_eq!((code, removed), (200, json!({})));
    let (_, mine) = a.api_get("/api/v1/conversations", Some(&ana)).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(2), "{mine}");
    let (_, theirs) = a.api_get("/api/v1/conversations", Some(&bo)).await;
    assert_eq!(
        theirs.as_array().map(Vec::len),
        Some(2),
        "bo's stay: {theirs}"
    );
    for bad in ["12345", "nonsense"] {
        let (code, _) = a
            .api_delete(&format!("/api/v1/conversations/{bad}"), &ana)
            .await;
        assert_eq!(code, 404);
    }
    let (code, _) = a.api_get("/api/v1/conversations", None).await;
    assert_eq!(code, 401);
}
on_both_engines!(direct_messages_are_grouped_into_conversations);

/// Followers, following and a group's members come in pages, the newest first, with `Link`.
async fn account_lists_are_paged(engine: Engine) {
    let a = Instance::start(&engine).await;
    let owner = a.create_user("ana", UserRole::Moderator).await;
    let ana = a.token("ana").await;
    let ana_id = owner.id.to_string();
    let group = a
        .create_group_with(
            "walkers",
            "Walkers",
            Visibility::Public,
            JoinPolicy::Open,
            Some(&owner),
        )
        .await;
    for name in ["bo", "cy", "di"] {
        a.create_user(name, UserRole::Member).await;
        let token = a.token(name).await;
        for target in [&ana_id, &group.id.to_string()] {
            let (code, _) = a
                .api_post(
                    &format!("/api/v1/accounts/{target}/follow"),
                    &token,
                    json!({}),
                )
                .await;
            assert_eq!(code, 200);
        }
    }
    let (page, next) = a
        .get_paged(
            &format!("/api/v1/accounts/{ana_id}/followers?limit=2"),
            &ana,
        )
        .await;
    assert_eq!(accts(&page), ["di", "cy"]);
    let (rest, _) = a.get_paged(&next.unwrap_or_default(), &ana).await;
    assert_eq!(accts(&rest), ["bo"]);
    let (all, _) = a
        .get_paged(&format!("/api/v1/accounts/{ana_id}/followers"), &ana)
        .await;
    assert_eq!(accts(&all), ["di", "cy", "bo"]);

    let bo_id = a.account_id("bo", &ana).await;
    let (following, _) = a
        .get_paged(&format!("/api/v1/accounts/{bo_id}/following"), &ana)
        .await;
    assert_eq!(accts(&following), ["ana"], "groups joined are not listed");

    let members = format!("/api/hearth/v1/groups/{}/members?limit=2", group.id);
    let (page, next) = a.get_paged(&members, &ana).await;
    assert_eq!(accts(&page), ["di", "cy"]);
    let (rest, _) = a.get_paged(&next.unwrap_or_default(), &ana).await;
    assert_eq!(accts(&rest), ["bo"], "{rest}");
    let (code, _) = a.api_get(&members, Some(&a.token("bo").await)).await;
    assert_eq!(code, 403, "members are for moderators");
    let (code, error) = a
        .api_get(
            &format!("/api/v1/accounts/{ana_id}/followers?limit=lots"),
            Some(&ana),
        )
        .await;
    assert_eq!(code, 422, "{error}");
}
on_both_engines!(account_lists_are_paged);

const PASSWORD: &str = "a long test password";

/// Signs a new browser in as `handle`.
async fn signed_in(instance: &Instance, handle: &str, password: &str) -> (Browser, u16) {
    let mut browser = Browser::default();
    let (_, page, _) = browser.get(instance.url("/auth/sign_in").as_str()).await;
    let (status, _, _) = browser
        .post(
            instance.url("/auth/sign_in").as_str(),
            &[
                ("csrf", hidden_input(&page, "csrf")),
                ("handle", handle.to_owned()),
                ("password", password.to_owned()),
            ],
        )
        .await;
    (browser, status)
}

/// The password page asks for the current password, refuses what is wrong with a clear
/// message, and once changed signs out every other session and app.
async fn a_password_is_changed_on_the_settings_page(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let app_token = a.token("ana").await;
    let (mut browser, status) = signed_in(&a, "ana", PASSWORD).await;
    assert_eq!(status, 303);
    let (mut other_browser, _) = signed_in(&a, "ana", PASSWORD).await;
    let (_, sessions, _) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert!(
        sessions.contains("href=\"/settings/password\""),
        "{sessions}"
    );
    let (status, page, _) = browser.get(a.url("/settings/password").as_str()).await;
    assert_eq!(status, 200);
    let csrf = hidden_input(&page, "csrf");
    let url = a.url("/settings/password");
    let submit = |current: &str, new: &str, again: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("current_password", current.to_owned()),
            ("new_password", new.to_owned()),
            ("confirmation", again.to_owned()),
        ]
    };

    for (form, message) in [
        (
            submit(
                "not my password",
                "a brand new password",
                "a brand new password",
            ),
            "Your current password is not right",
        ),
        (
            submit(PASSWORD, "a brand new password", "a different password"),
            "do not match",
        ),
        (submit(PASSWORD, "short", "short"), "at least 10 characters"),
    ] {
        let (status, page, _) = browser.post(url.as_str(), &form).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains(message), "{message}: {page}");
    }
    let (status, _, _) = browser
        .post(
            url.as_str(),
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
                ("confirmation", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(status, 403, "a form without its CSRF token");
    let (code, _) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&app_token))
        .await;
    assert_eq!(code, 200, "nothing changed yet");

    let (status, page, _) = browser
        .post(
            url.as_str(),
            &submit(PASSWORD, "a brand new password", "a brand new password"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("Your password is changed. 2 other sessions and apps were signed out."),
        "{page}"
    );
    let (code, _) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&app_token))
        .await;
    assert_eq!(code, 401, "the app is signed out");
    let (status, _, location) = other_browser
        .get(a.url("/settings/sessions").as_str())
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/auth/sign_in")),
        "the other browser is signed out"
    );
    let (status, _, _) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert_eq!(status, 200, "this browser stays signed in");
    assert_eq!(signed_in(&a, "ana", PASSWORD).await.1, 422);
    assert_eq!(signed_in(&a, "ana", "a brand new password").await.1, 303);

    let (status, _, location) = Browser::default()
        .get(a.url("/settings/password").as_str())
        .await;
    assert_eq!((status, location.as_deref()), (303, Some("/auth/sign_in")));
}
on_both_engines!(a_password_is_changed_on_the_settings_page);

/// A person downloads their data, then deletes their account, on the settings pages: a wrong
/// password or a form without its CSRF token changes nothing; the right password erases the
/// account, signs the browser out, and the account's URL answers 410.
async fn an_account_is_deleted_on_its_settings_page(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let app_token = a.token("ana").await;
    let (mut browser, status) = signed_in(&a, "ana", PASSWORD).await;
    assert_eq!(status, 303);
    let (_, sessions, _) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert!(sessions.contains("href=\"/settings/delete\""), "{sessions}");
    assert!(sessions.contains("href=\"/settings/export\""), "{sessions}");
    let (status, page, _) = browser.get(a.url("/settings/export").as_str()).await;
    assert_eq!(status, 200);
    let (status, _, location) = browser
        .post(
            a.url("/settings/export").as_str(),
            &[("csrf", hidden_input(&page, "csrf"))],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/settings/export"))
    );
    // The page shows the archive's progress until it is ready, then its download.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let download = loop {
        let (_, page, _) = browser.get(a.url("/settings/export").as_str()).await;
        let link = page
            .split_once("href=\"/settings/export/")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(path, _)| format!("/settings/export/{path}"));
        if let Some(link) = link {
            break link;
        }
        assert!(page.contains("Being prepared"), "{page}");
        assert!(std::time::Instant::now() < deadline, "never ready: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let (status, archive, _) = browser.get(a.url(&download).as_str()).await;
    assert_eq!(status, 200);
    assert!(
        archive.starts_with("PK"),
        "a ZIP archive to take before leaving"
    );
    let (status, page, _) = browser.get(a.url("/settings/delete").as_str()).await;
    assert_eq!(status, 200);
    let csrf = hidden_input(&page, "csrf");
    let url = a.url("/settings/delete");

    let (status, page, _) = browser
        .post(
            url.as_str(),
            &[
                ("csrf", csrf.clone()),
                ("password", "not my password".into()),
            ],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Your password is not right"), "{page}");
    let (status, _, _) = browser.post(url.as_str(), &[("password", PASSWORD)]).await;
    assert_eq!(status, 403, "a form without its CSRF token");
    let me = "/api/v1/accounts/verify_credentials";
    assert_eq!(
        a.api_get(me, Some(&app_token)).await.0,
        200,
        "nothing changed yet"
    );

    let (status, page, _) = browser
        .post(
            url.as_str(),
            &[("csrf", csrf), ("password", PASSWORD.into())],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your account is deleted"), "{page}");
    assert_eq!(a.api_get(me, Some(&app_token)).await.0, 401);
    let (status, _, location) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert_eq!((status, location.as_deref()), (303, Some("/auth/sign_in")));
    assert_eq!(a.ap_get("/users/ana").await.0, 410);
    assert_eq!(signed_in(&a, "ana", PASSWORD).await.1, 422);
}
on_both_engines!(an_account_is_deleted_on_its_settings_page);
