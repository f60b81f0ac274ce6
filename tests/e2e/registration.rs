//! Registration as a clinic needs it: each mode through `POST /api/v1/accounts` (with an
//! app's client-credentials token) and through the sign-up page; accounts waiting for a
//! moderator cannot sign in, use their token or be found by other servers until an admin
//! approves them (admin API or command line); rejection deletes them; invites; refusals in
//! Mastodon's shape that store nothing; the instance endpoints follow the settings.

use hearth::{
    cli::{Command, UserCommand},
    config::RegistrationMode,
    service::{audit::Acting, registration},
};
use hearth_tests::{
    Browser, Engine as Db, Instance, UserRole, hidden_input as hidden, http, on_both_engines,
};
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough password";

/// Registers an app and returns its own token (client credentials), as Mastodon apps do
/// before offering sign-up.
async fn app_token(instance: &Instance, scope: &str) -> String {
    let response = http()
        .post(instance.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Sign-up app"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read write follow"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app: Value = response.json().await.unwrap_or(Value::Null);
    let response = http()
        .post(instance.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app["client_id"].as_str().unwrap_or_default()),
            (
                "client_secret",
                app["client_secret"].as_str().unwrap_or_default(),
            ),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token: Value = response.json().await.unwrap_or(Value::Null);
    token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no app token: {token}"))
        .to_owned()
}

/// A sign-up as an app sends it.
fn sign_up(username: &str) -> Value {
    json!({
        "username": username,
        "email": format!("{username}@example.org"),
        "password": PASSWORD,
        "agreement": true,
        "locale": "en",
        "reason": "My nurse told me about the diabetes group",
    })
}

/// `POST /api/v1/accounts` with `token`.
async fn register(instance: &Instance, token: &str, body: Value) -> (u16, Value) {
    instance.api_post("/api/v1/accounts", token, body).await
}

/// The access token of a successful registration.
fn access_token(answer: &(u16, Value)) -> String {
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["token_type"], "Bearer");
    assert!(answer.1["created_at"].is_i64(), "{}", answer.1);
    assert!(answer.1["scope"].is_string(), "{}", answer.1);
    answer.1["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn me(instance: &Instance, token: &str) -> (u16, Value) {
    instance
        .api_get("/api/v1/accounts/verify_credentials", Some(token))
        .await
}

async fn webfinger(instance: &Instance, name: &str) -> u16 {
    let path = format!(
        "/.well-known/webfinger?resource=acct:{name}@{}",
        instance.domain
    );
    instance.api_get(&path, None).await.0
}

/// The first error code of `field` in a Mastodon validation error.
fn code(body: &Value, field: &str) -> String {
    body["details"][field][0]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error for {field} in {body}"))
        .to_owned()
}

/// Signs in on the sign-in page; status and page.
async fn sign_in_page(instance: &Instance, handle: &str) -> (u16, String) {
    let mut browser = Browser::default();
    let (_, page, _) = browser.get(instance.url("/auth/sign_in").as_str()).await;
    let csrf = hidden(&page, "csrf");
    let (status, page, _) = browser
        .post(
            instance.url("/auth/sign_in").as_str(),
            &[
                ("csrf", csrf.as_str()),
                ("handle", handle),
                ("password", PASSWORD),
            ],
        )
        .await;
    (status, page)
}

/// The default mode, approval, end to end: the request with its reason waits; until an admin
/// approves it, the account cannot sign in, its token is refused, and other servers find
/// nothing; a member may not approve; once approved, all of it works.
async fn approval_mode_end_to_end(engine: Db) {
    let a = Instance::start_with(&engine, |s| {
        s.rules = vec!["Be kind.".into(), "No medical advice to others.".into()];
    })
    .await;
    let b = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Admin).await;
    a.create_user("bo", UserRole::Member).await;
    let admin = a.token("ana").await;
    let member = a.token("bo").await;

    let app = app_token(&a, "read write").await;
    let token = access_token(&register(&a, &app, sign_up("maria")).await);

    assert_eq!(me(&a, &token).await.0, 401, "a waiting account's token");
    let (status, page) = sign_in_page(&a, "maria").await;
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("Your account is waiting for a moderator&#39;s approval")
            || page.contains("Your account is waiting for a moderator's approval"),
        "{page}"
    );
    assert_eq!(webfinger(&a, "maria").await, 404);
    let actor = a.url("/users/maria");
    assert_eq!(a.ap_get("/users/maria").await.0, 404);
    assert_eq!(b.signed_get(actor.as_str()).await, 404, "to other servers");
    assert_eq!(
        a.api_get("/api/v1/accounts/lookup?acct=maria", None)
            .await
            .0,
        404
    );

    let (status, told) = a
        .api_get("/api/v1/notifications?types[]=admin.sign_up", Some(&admin))
        .await;
    assert_eq!(status, 200, "{told}");
    assert_eq!(told[0]["type"], "admin.sign_up", "{told}");
    assert_eq!(told[0]["account"]["username"], "maria", "{told}");
    let (_, untold) = a.api_get("/api/v1/notifications", Some(&member)).await;
    assert_eq!(untold, json!([]), "members are not told");

    let (status, pending) = a
        .api_get("/api/v1/admin/accounts?status=pending", Some(&admin))
        .await;
    assert_eq!(status, 200, "{pending}");
    let list = pending.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{pending}");
    let entry = &list[0];
    assert_eq!(entry["username"], "maria");
    assert_eq!(entry["approved"], false);
    assert_eq!(entry["email"], "maria@example.org");
    assert_eq!(entry["locale"], "en");
    assert_eq!(
        entry["invite_request"],
        "My nurse told me about the diabetes group"
    );
    assert_eq!(entry["domain"], Value::Null);
    assert_eq!(entry["account"]["username"], "maria");
    let id = entry["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        a.api_get(&format!("/api/v1/accounts/{id}"), None).await.0,
        404,
        "not even by its id"
    );

    let approve = format!("/api/v1/admin/accounts/{id}/approve");
    let (status, _) = a.api_post(&approve, &member, json!({})).await;
    assert_eq!(status, 403, "a member's token lacks the admin scopes");
    assert_eq!(me(&a, &token).await.0, 401, "still waiting");

    let (status, approved) = a.api_post(&approve, &admin, json!({})).await;
    assert_eq!((status, &approved["approved"]), (200, &Value::from(true)));
    let (status, account) = me(&a, &token).await;
    assert_eq!((status, &account["username"]), (200, &Value::from("maria")));
    assert_eq!(
        a.api_get(&format!("/api/v1/accounts/{id}"), None).await.0,
        200
    );
    assert_eq!(sign_in_page(&a, "maria").await.0, 303, "signed in");
    assert_eq!(webfinger(&a, "maria").await, 200);
    assert_eq!(b.signed_get(actor.as_str()).await, 200);
    let (status, again) = a.api_post(&approve, &admin, json!({})).await;
    assert_eq!(status, 403, "not waiting any more: {again}");
    let (_, pending) = a
        .api_get("/api/v1/admin/accounts?status=pending", Some(&admin))
        .await;
    assert_eq!(pending, json!([]));
}
on_both_engines!(approval_mode_end_to_end);

/// A moderator may decide too, on a token with only `admin:*:accounts`; rejecting deletes the
/// waiting account with its token and frees its handle; an approved account cannot be
/// "rejected".
async fn rejection_removes_the_account(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("mo", UserRole::Moderator).await;
    let moderator = a.token("mo").await;
    let app = app_token(&a, "write:accounts").await;
    let actors_before = a.actor_count().await;
    let token = access_token(&register(&a, &app, sign_up("spammer")).await);
    assert_eq!(a.actor_count().await, actors_before + 1);
    let (_, pending) = a
        .api_get("/api/v1/admin/accounts?pending=true", Some(&moderator))
        .await;
    let id = pending[0]["id"].as_str().unwrap_or_default().to_owned();

    let (status, rejected) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{id}/reject"),
            &moderator,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &rejected["username"]),
        (200, &Value::from("spammer"))
    );
    assert_eq!(a.actor_count().await, actors_before, "the account is gone");
    assert_eq!(me(&a, &token).await.0, 401);
    let (status, _) = a
        .api_get(&format!("/api/v1/admin/accounts/{id}"), Some(&moderator))
        .await;
    assert_eq!(status, 404);
    let (_, pending) = a
        .api_get("/api/v1/admin/accounts?status=pending", Some(&moderator))
        .await;
    assert_eq!(pending, json!([]));

    // The handle is free again; an approved account is not "rejected".
    access_token(&register(&a, &app, sign_up("spammer")).await);
    let ana = a.create_user("ana", UserRole::Member).await;
    let (status, _) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{}/reject", ana.id),
            &moderator,
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        a.api_get("/api/v1/accounts/lookup?acct=ana", None).await.0,
        200
    );
}
on_both_engines!(rejection_removes_the_account);

/// Approval from the command line (`hearth user approve NAME`), run against the instance's
/// own database while it serves.
async fn approval_through_the_command_line(engine: Db) {
    let a = Instance::start(&engine).await;
    let app = app_token(&a, "read write").await;
    let token = access_token(&register(&a, &app, sign_up("joao")).await);
    assert_eq!(me(&a, &token).await.0, 401);

    let refused = a
        .hearth(Command::User(UserCommand::Approve {
            name: "nobody".into(),
        }))
        .await;
    assert!(refused.is_err(), "an unknown handle");
    a.hearth(Command::User(UserCommand::Approve {
        name: "joao".into(),
    }))
    .await
    .unwrap_or_else(|e| panic!("hearth user approve: {e}"));
    let (status, account) = me(&a, &token).await;
    assert_eq!((status, &account["username"]), (200, &Value::from("joao")));
    let again = a
        .hearth(Command::User(UserCommand::Approve {
            name: "joao".into(),
        }))
        .await;
    assert!(
        again.is_err_and(|e| e.to_string().contains("not waiting for approval")),
        "approving twice"
    );
}
on_both_engines!(approval_through_the_command_line);

/// Invite mode: no code, a wrong code, a used-up code and an expired code are refused with
/// nothing stored; a good code makes an account that works at once and counts its use.
async fn invite_mode(engine: Db) {
    let a = Instance::start_with(&engine, |s| {
        s.registration_mode = Some(RegistrationMode::Invite);
    })
    .await;
    let app = app_token(&a, "read write").await;
    let once = registration::create_invite(&a.state.ctx, &Acting::Console, Some(1), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expiring = registration::create_invite(&a.state.ctx, &Acting::Console, None, Some(7))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let actors_before = a.actor_count().await;

    let (status, body) = register(&a, &app, sign_up("rui")).await;
    assert_eq!(
        (status, code(&body, "invite_code")),
        (422, "ERR_BLANK".into())
    );
    let mut wrong = sign_up("rui");
    wrong["invite_code"] = json!("notacode1234");
    let (status, body) = register(&a, &app, wrong).await;
    assert_eq!(
        (status, code(&body, "invite_code")),
        (422, "ERR_INVALID".into())
    );
    assert_eq!(a.actor_count().await, actors_before, "nothing stored");

    let mut good = sign_up("rui");
    good["invite_code"] = json!(once.code.to_uppercase());
    let token = access_token(&register(&a, &app, good).await);
    let (status, account) = me(&a, &token).await;
    assert_eq!(
        (status, &account["username"]),
        (200, &Value::from("rui")),
        "no approval needed"
    );

    let mut used_up = sign_up("sol");
    used_up["invite_code"] = json!(once.code);
    let (status, body) = register(&a, &app, used_up).await;
    assert_eq!(
        (status, code(&body, "invite_code")),
        (422, "ERR_INVALID".into())
    );
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("used up")),
        "{body}"
    );

    let id = expiring.invite.id;
    a.state
        .db
        .run(move |conn| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            use hearth::db::schema::invites;
            let past = chrono::Utc::now().naive_utc() - chrono::TimeDelta::hours(1);
            diesel::update(invites::table.find(id))
                .set(invites::expires_at.eq(Some(past)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut expired = sign_up("sol");
    expired["invite_code"] = json!(expiring.code);
    let (status, body) = register(&a, &app, expired).await;
    assert_eq!(status, 422);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("expired")),
        "{body}"
    );
    assert_eq!(
        a.actor_count().await,
        actors_before + 1,
        "only rui was made"
    );
}
on_both_engines!(invite_mode);

/// Open mode makes working accounts at once; closed mode makes none, from apps or the page.
async fn open_and_closed_modes(engine: Db) {
    let open = Instance::start_with(&engine, |s| {
        s.registration_mode = Some(RegistrationMode::Open);
    })
    .await;
    let app = app_token(&open, "read write").await;
    let token = access_token(&register(&open, &app, sign_up("lia")).await);
    assert_eq!(me(&open, &token).await.0, 200);
    assert_eq!(webfinger(&open, "lia").await, 200);

    let closed = Instance::start_with(&engine, |s| {
        s.registration_mode = Some(RegistrationMode::Closed);
    })
    .await;
    let app = app_token(&closed, "read write").await;
    let before = closed.actor_count().await;
    let (status, body) = register(&closed, &app, sign_up("lia")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(closed.actor_count().await, before);
    let mut browser = Browser::default();
    let (status, page, _) = browser.get(closed.url("/auth/sign_up").as_str()).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Registrations are closed") && !page.contains("<form"),
        "{page}"
    );
    let (_, home, _) = browser.get(closed.url("/").as_str()).await;
    assert!(
        !home.contains("/auth/sign_up"),
        "no sign-up link when closed"
    );
    let (_, sign_in, _) = browser.get(closed.url("/auth/sign_in").as_str()).await;
    assert!(!sign_in.contains("/auth/sign_up"), "{sign_in}");
}
on_both_engines!(open_and_closed_modes);

/// Refusals as Mastodon gives them (422 with `details`), storing nothing: a handle taken by
/// a person or a group (whatever its case), a short password, no agreement, a malformed
/// email; and tokens that may not register: none, a script's (no app), one without
/// `write:accounts`.
async fn refusals_are_mastodon_shaped_and_store_nothing(engine: Db) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_group("long_covid", "Long COVID").await;
    let app = app_token(&a, "read write").await;
    let before = a.actor_count().await;

    for (field, value, wanted_field, wanted) in [
        ("username", json!("long_covid"), "username", "ERR_TAKEN"),
        ("username", json!("Ana"), "username", "ERR_TAKEN"),
        ("username", json!("no spaces"), "username", "ERR_INVALID"),
        ("password", json!("short"), "password", "ERR_TOO_SHORT"),
        ("agreement", json!(false), "agreement", "ERR_ACCEPTED"),
        ("agreement", Value::Null, "agreement", "ERR_ACCEPTED"),
        ("email", json!("not an address"), "email", "ERR_INVALID"),
    ] {
        let mut body = sign_up("newcomer");
        body[field] = value.clone();
        let (status, answer) = register(&a, &app, body).await;
        assert_eq!(status, 422, "{field}={value}: {answer}");
        assert_eq!(
            code(&answer, wanted_field),
            wanted,
            "{field}={value}: {answer}"
        );
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("Validation failed: ")),
            "{answer}"
        );
        assert!(answer["details"][wanted_field][0]["description"].is_string());
    }
    // Several at once, as a Rails form reports them; a urlencoded body with a Rails boolean.
    let response = http()
        .post(a.url("/api/v1/accounts"))
        .bearer_auth(&app)
        .form(&[
            ("username", "ana"),
            ("password", "short"),
            ("agreement", "0"),
            ("locale", "en"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 422);
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    for (field, wanted) in [
        ("username", "ERR_TAKEN"),
        ("password", "ERR_TOO_SHORT"),
        ("agreement", "ERR_ACCEPTED"),
    ] {
        assert_eq!(code(&answer, field), wanted, "{answer}");
    }
    assert_eq!(a.actor_count().await, before, "nothing was stored");

    let anonymous = http()
        .post(a.url("/api/v1/accounts"))
        .json(&sign_up("newcomer"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_default();
    assert_eq!(anonymous, 401);
    let script = a.token("ana").await;
    assert_eq!(
        register(&a, &script, sign_up("newcomer")).await.0,
        401,
        "a token of no app"
    );
    let reader = app_token(&a, "read").await;
    assert_eq!(register(&a, &reader, sign_up("newcomer")).await.0, 403);
    assert_eq!(a.actor_count().await, before);
}
on_both_engines!(refusals_are_mastodon_shaped_and_store_nothing);

/// The sign-up page in each mode: rules, privacy notice, labelled fields and a required
/// agreement; CSRF; field errors; waiting for approval, or signed in at once; invite links.
async fn the_sign_up_page(engine: Db) {
    let a = Instance::start_with(&engine, |s| {
        s.rules = vec!["Be kind & patient.".into()];
        s.privacy_notice = "We keep your posts on this server.\n\nAsk us to delete them.".into();
        s.privacy_notice_url = "https://clinic.example/privacy".into();
    })
    .await;
    let mut browser = Browser::default();
    let (_, home, _) = browser.get(a.url("/").as_str()).await;
    assert!(home.contains("href=\"/auth/sign_up\""), "{home}");
    let (status, page, _) = browser.get(a.url("/auth/sign_up").as_str()).await;
    assert_eq!(status, 200);
    for expected in [
        "Be kind &amp; patient.",
        "We keep your posts on this server.",
        "<p>Ask us to delete them.</p>",
        "href=\"https://clinic.example/privacy\"",
        "name=\"reason\"",
        "type=\"checkbox\" name=\"agreement\"",
        "name=\"viewport\"",
    ] {
        assert!(page.contains(expected), "{expected} in {page}");
    }
    assert!(!page.contains("name=\"invite_code\""), "no invite field");
    for id in ["username", "email", "password", "reason", "agreement"] {
        assert!(page.contains(&format!("for=\"{id}\"")), "a label for {id}");
    }
    let csrf = hidden(&page, "csrf");
    let url = a.url("/auth/sign_up");

    let (status, _, _) = browser
        .post(
            url.as_str(),
            &[
                ("username", "pia"),
                ("password", PASSWORD),
                ("agreement", "true"),
            ],
        )
        .await;
    assert_eq!(status, 403, "no CSRF token");
    let (status, page, _) = browser
        .post(
            url.as_str(),
            &[
                ("csrf", csrf.as_str()),
                ("username", "pia"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Agreement must be accepted"), "{page}");
    assert!(
        page.contains("value=\"pia\""),
        "the form keeps what was typed"
    );
    let (status, page, _) = browser
        .post(
            url.as_str(),
            &[
                ("csrf", csrf.as_str()),
                ("username", "pia"),
                ("password", PASSWORD),
                ("reason", "Carer of a patient"),
                ("agreement", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("approval"), "{page}");
    assert!(!browser.cookies.contains_key("hearth_session"));
    let admin_token = {
        a.create_user("ana", UserRole::Admin).await;
        a.token("ana").await
    };
    let (_, pending) = a
        .api_get("/api/v1/admin/accounts?status=pending", Some(&admin_token))
        .await;
    assert_eq!(
        pending[0]["invite_request"], "Carer of a patient",
        "{pending}"
    );
    assert!(pending[0]["email"] == "", "no email given");

    // An invite link fills the code in; with it, no approval is needed: signed in at once.
    let invite = registration::create_invite(&a.state.ctx, &Acting::Console, Some(1), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut browser = Browser::default();
    let link = format!("{}?invite={}", url, invite.code);
    let (_, page, _) = browser.get(&link).await;
    assert!(
        page.contains(&format!("name=\"invite_code\" value=\"{}\"", invite.code)),
        "{page}"
    );
    let csrf = hidden(&page, "csrf");
    let (status, page, _) = browser
        .post(
            url.as_str(),
            &[
                ("csrf", csrf.as_str()),
                ("username", "teo"),
                ("password", PASSWORD),
                ("invite_code", &invite.code),
                ("agreement", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Welcome, @teo"), "{page}");
    let (status, sessions, _) = browser.get(a.url("/settings/sessions").as_str()).await;
    assert_eq!(status, 200);
    assert!(sessions.contains("Signed in as @teo"), "{sessions}");
}
on_both_engines!(the_sign_up_page);

/// The instance endpoints tell apps the truth about each mode, and serve the rules.
async fn instance_endpoints_follow_the_settings(engine: Db) {
    for (mode, enabled, approval, invites, message) in [
        (RegistrationMode::Approval, true, true, true, false),
        (RegistrationMode::Open, true, false, true, false),
        (RegistrationMode::Invite, false, false, true, true),
        (RegistrationMode::Closed, false, false, false, true),
    ] {
        let a = Instance::start_with(&engine, |s| {
            s.registration_mode = Some(mode);
            s.rules = vec!["Be kind.".into(), "No medical advice to others.".into()];
        })
        .await;
        let (_, v1) = a.api_get("/api/v1/instance", None).await;
        assert_eq!(v1["registrations"], enabled, "{mode:?}");
        assert_eq!(v1["approval_required"], approval, "{mode:?}");
        assert_eq!(v1["invites_enabled"], invites, "{mode:?}");
        let (_, v2) = a.api_get("/api/v2/instance", None).await;
        assert_eq!(v2["registrations"]["enabled"], enabled, "{mode:?}");
        assert_eq!(
            v2["registrations"]["approval_required"], approval,
            "{mode:?}"
        );
        assert_eq!(
            v2["registrations"]["message"].is_string(),
            message,
            "{mode:?}"
        );
        let rules = json!([
            {"id": "1", "text": "Be kind.", "hint": ""},
            {"id": "2", "text": "No medical advice to others.", "hint": ""},
        ]);
        assert_eq!(v1["rules"], rules);
        assert_eq!(v2["rules"], rules);
        assert_eq!(a.api_get("/api/v1/instance/rules", None).await.1, rules);
        let (_, nodeinfo) = a.api_get("/nodeinfo/2.1", None).await;
        assert_eq!(nodeinfo["openRegistrations"], enabled, "{mode:?}");
    }
}
on_both_engines!(instance_endpoints_follow_the_settings);

/// A script cannot flood the moderators' queue: one address makes five accounts, then waits.
async fn sign_ups_are_limited_per_address(engine: Db) {
    let a = Instance::start(&engine).await;
    let app = app_token(&a, "read write").await;
    for n in 0..5 {
        let (status, answer) = register(&a, &app, sign_up(&format!("patient{n}"))).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (status, answer) = register(&a, &app, sign_up("patient5")).await;
    assert_eq!(status, 429, "{answer}");
    let (status, _) = register(&a, &app, json!({"username": "x y"})).await;
    assert_eq!(status, 422, "a refused form is answered, and not counted");
}
on_both_engines!(sign_ups_are_limited_per_address);
