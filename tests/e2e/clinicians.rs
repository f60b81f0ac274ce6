//! Verified clinicians across three clinics: A verifies its nurse; B trusts A (it allows A's
//! domain) and shows her as verified; C does not and shows her credential as plain text. A
//! credential copied onto another account is refused, and A's revocation reaches B at once.

use crate::federation_policy::admin;
use hearth::cli::{AccountArgs, AdminCommand, ClinicianCommand, DomainArgs, DomainCommand};
use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines, settle};
use serde_json::Value;

const CREDENTIAL: &str = "Registered nurse, diabetes care";

/// The account `id` as the holder of `token` sees it on `instance`.
async fn account(instance: &Instance, token: &str, id: &str) -> Value {
    let (status, account) = instance
        .api_get(&format!("/api/v1/accounts/{id}"), Some(token))
        .await;
    assert_eq!(status, 200, "{account}");
    account
}

/// The names of an account's roles.
fn roles(account: &Value) -> Vec<String> {
    account["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect()
}

/// The account's `Clinician` profile field, if it shows one.
fn clinician_field(account: &Value) -> Option<Value> {
    account["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == "Clinician")
        .cloned()
}

async fn a_verified_clinician_is_shown_as_verified_where_her_clinic_is_trusted(engine: Engine) {
    let [a, b, c] = Instance::start_many(&engine).await;
    a.create_user("nurse", UserRole::Member).await;
    a.create_user("root", UserRole::Admin).await;
    let root = a.token("root").await;
    b.create_user("bob", UserRole::Member).await;
    let bob = b.token("bob").await;
    c.create_user("cat", UserRole::Member).await;
    let cat = c.token("cat").await;
    // B trusts A: its admin allows A's domain (B itself federates openly).
    admin(
        &b,
        AdminCommand::Domain(DomainCommand::Allow(DomainArgs {
            host: a.domain.clone(),
            reason: Some("a clinic we work with".into()),
            public: false,
        })),
    )
    .await;

    // bob and cat follow the nurse before she is verified.
    let nurse = format!("nurse@{}", a.domain);
    let on_b = b.account_id(&nurse, &bob).await;
    assert_eq!(b.follow_account(&bob, &on_b).await.0, 200);
    let on_c = c.account_id(&nurse, &cat).await;
    assert_eq!(c.follow_account(&cat, &on_c).await.0, 200);
    settle(&[&a, &b, &c]).await;
    assert!(roles(&account(&b, &bob, &on_b).await).is_empty());

    // A's admin verifies her; a credential of two lines is refused.
    let nurse_id = a.account_id("nurse", &root).await;
    let path = format!("/api/hearth/v1/admin/accounts/{nurse_id}/clinician");
    let (status, _) = a
        .api_post(
            &path,
            &root,
            serde_json::json!({ "credential": "Nurse\nand surgeon" }),
        )
        .await;
    assert_eq!(status, 422);
    admin(
        &a,
        AdminCommand::Clinician(ClinicianCommand::Verify {
            name: "nurse".into(),
            credential: CREDENTIAL.into(),
        }),
    )
    .await;
    let here = account(&a, &root, &nurse_id).await;
    assert_eq!(roles(&here), ["Verified clinician"]);
    // Her actor document carries the attestation, issued by A's instance actor.
    let (_, document) = a.ap_get("/users/nurse").await;
    let attestation = document["clinicianAttestation"].clone();
    assert_eq!(attestation["type"], "ClinicianAttestation");
    assert_eq!(attestation["subject"], document["id"]);
    assert_eq!(attestation["credential"], CREDENTIAL);
    let issuer = attestation["issuer"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, instance_actor) = a.ap_get(&issuer.replace(a.base.as_str(), "/")).await;
    assert_eq!(instance_actor["type"], "Application", "{issuer}");
    settle(&[&a, &b, &c]).await;

    // B, which trusts A, shows her as verified; C shows the credential as plain text.
    let seen_by_b = account(&b, &bob, &on_b).await;
    assert_eq!(roles(&seen_by_b), ["Verified clinician"], "{seen_by_b}");
    let field = clinician_field(&seen_by_b).unwrap_or_else(|| panic!("{seen_by_b}"));
    assert!(field["verified_at"].is_string(), "{field}");
    let value = field["value"].as_str().unwrap_or_default();
    assert!(value.contains(CREDENTIAL) && value.contains(&format!("verified by {}", a.domain)));
    let seen_by_c = account(&c, &cat, &on_c).await;
    assert!(roles(&seen_by_c).is_empty(), "{seen_by_c}");
    let field = clinician_field(&seen_by_c).unwrap_or_else(|| panic!("{seen_by_c}"));
    assert!(field["verified_at"].is_null(), "{field}");
    assert!(
        !field["value"]
            .as_str()
            .unwrap_or_default()
            .contains("verified by")
    );

    // Once C's admin allows A, C trusts the attestation it already holds.
    admin(
        &c,
        AdminCommand::Domain(DomainCommand::Allow(DomainArgs {
            host: a.domain.clone(),
            reason: None,
            public: false,
        })),
    )
    .await;
    assert_eq!(
        roles(&account(&c, &cat, &on_c).await),
        ["Verified clinician"]
    );

    // Another server copies her attestation onto its own accounts: as it is, and with the
    // subject rewritten. B, which trusts A, believes neither.
    let forger = StubPeer::start().await;
    admin(
        &b,
        AdminCommand::Domain(DomainCommand::Allow(DomainArgs {
            host: forger.domain.clone(),
            reason: None,
            public: false,
        })),
    )
    .await;
    for (name, rewrite) in [("impostor", false), ("rewritten", true)] {
        let actor_url = forger.actor(name);
        let mut document: Value = hearth_tests::http()
            .get(&actor_url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut copied = attestation.clone();
        if rewrite {
            copied["subject"] = Value::String(actor_url.clone());
        }
        document["clinicianAttestation"] = copied;
        forger.serve(
            &format!("/users/{name}"),
            hearth_tests::Serving::Document(document),
        );
        let id = b.account_id(&actor_url, &bob).await;
        let shown = account(&b, &bob, &id).await;
        assert!(roles(&shown).is_empty(), "{name}: {shown}");
        assert!(clinician_field(&shown).is_none(), "{name}: {shown}");
    }

    // A revokes it: B hears at once, and no longer shows her as a clinician.
    admin(
        &a,
        AdminCommand::Clinician(ClinicianCommand::Revoke(AccountArgs {
            name: "nurse".into(),
            reason: Some("left the clinic".into()),
        })),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    let seen_by_b = account(&b, &bob, &on_b).await;
    assert!(roles(&seen_by_b).is_empty(), "{seen_by_b}");
    assert!(clinician_field(&seen_by_b).is_none(), "{seen_by_b}");
    let (_, document) = a.ap_get("/users/nurse").await;
    assert!(document.get("clinicianAttestation").is_none(), "{document}");

    // Both acts are in A's audit log.
    let verified = a.audit_log(&root, "clinician.verify").await;
    assert_eq!(verified.len(), 1);
    assert_eq!(a.audit_log(&root, "clinician.revoke").await.len(), 1);
}
on_both_engines!(a_verified_clinician_is_shown_as_verified_where_her_clinic_is_trusted);

/// Signs a new browser in as `handle` (test accounts' password).
async fn signed_in(instance: &Instance, handle: &str) -> hearth_tests::Browser {
    let mut browser = hearth_tests::Browser::default();
    let (_, page, _) = browser.get(instance.url("/auth/sign_in").as_str()).await;
    let (status, _, _) = browser
        .post(
            instance.url("/auth/sign_in").as_str(),
            &[
                ("csrf", hearth_tests::hidden_input(&page, "csrf")),
                ("handle", handle.to_owned()),
                ("password", "a long test password".to_owned()),
            ],
        )
        .await;
    assert_eq!(status, 303);
    browser
}

/// An admin verifies a clinician and publishes an urgent announcement from the admin pages; a
/// moderator may do neither.
async fn an_admin_verifies_clinicians_and_announces_from_the_admin_pages(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("mo", UserRole::Moderator).await;
    let nurse = a.create_user("nurse", UserRole::Member).await;
    let nurse_token = a.token("nurse").await;
    let mut root = signed_in(&a, "root").await;
    let (status, page, _) = root.get(a.url("/admin/accounts").as_str()).await;
    assert_eq!(status, 200);
    assert!(page.contains("as a clinician"), "{page}");
    let csrf = hearth_tests::hidden_input(&page, "csrf");

    let verify = a.url(&format!("/admin/clinicians/{}", nurse.id));
    let form = [("csrf", csrf.as_str()), ("credential", CREDENTIAL)];
    let mut mo = signed_in(&a, "mo").await;
    let (_, mo_page, _) = mo.get(a.url("/admin/accounts").as_str()).await;
    assert!(!mo_page.contains("as a clinician"));
    let mo_csrf = hearth_tests::hidden_input(&mo_page, "csrf");
    let (status, _, _) = mo
        .post(
            verify.as_str(),
            &[("csrf", mo_csrf.as_str()), ("credential", CREDENTIAL)],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _, location) = root.post(verify.as_str(), &form).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/admin/accounts"))
    );
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&nurse_token))
        .await;
    assert_eq!(roles(&me), ["Verified clinician"], "{me}");
    let (_, page, _) = root.get(a.url("/admin/accounts").as_str()).await;
    assert!(page.contains(&format!("Verified clinician: {CREDENTIAL}")));

    let (status, page, _) = root.get(a.url("/admin/announcements").as_str()).await;
    assert_eq!(status, 200);
    let form = [
        ("csrf", hearth_tests::hidden_input(&page, "csrf")),
        ("text", "Flu vaccines from Monday".to_owned()),
        ("urgent", "on".to_owned()),
    ];
    let (status, _, _) = root
        .post(a.url("/admin/announcements").as_str(), &form)
        .await;
    assert_eq!(status, 303);
    let (_, list) = a.api_get("/api/v1/announcements", Some(&nurse_token)).await;
    assert!(
        list[0]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Flu vaccines")
    );
    assert_eq!(list[0]["hearth_urgent"], true);
    let (status, _, _) = mo.get(a.url("/admin/announcements").as_str()).await;
    assert_eq!(status, 403);
}
on_both_engines!(an_admin_verifies_clinicians_and_announces_from_the_admin_pages);
