//! Reports: a person reports an account (and some of its posts) to the moderators, who are
//! notified; bad reports are refused with a clear error.

use hearth_tests::{Engine, Instance, UserRole, http, on_both_engines, settle};
use serde_json::{Value, json};

async fn my_id(instance: &Instance, token: &str) -> String {
    let (_, me) = instance
        .api_get("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    me["id"].as_str().unwrap_or_default().to_owned()
}

/// `token`'s holder's `admin.report` notifications.
async fn reports_told(instance: &Instance, token: &str) -> Vec<Value> {
    let (status, list) = instance
        .api_get("/api/v1/notifications?types[]=admin.report", Some(token))
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

async fn stored_reports(instance: &Instance) -> Vec<(i64, i64, String, String, String, bool)> {
    use diesel::{QueryDsl, RunQueryDsl};
    use hearth::db::schema::reports;
    instance
        .state
        .db
        .run(|conn| {
            Ok(reports::table
                .order(reports::id)
                .select((
                    reports::reporter_id,
                    reports::target_id,
                    reports::comment,
                    reports::category,
                    reports::rule_ids,
                    reports::forward,
                ))
                .load(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Ana reports Ben and one of his posts: the report is stored with its reporter, target,
/// post, comment and category, answered as Mastodon's `Report`, and the moderator and the
/// admin (not Ana, not a member) get an `admin.report` notification carrying it — even the
/// moderator who muted Ana. Rules cited make it a violation; a remote account can be reported
/// with `forward`, which is kept. Bad reports get a 4xx with a JSON error and store nothing.
async fn a_report_is_stored_and_notifies_the_moderators(engine: Engine) {
    let a = Instance::start_with(&engine, |s| {
        s.rules = vec!["Be kind.".into(), "No medical advice to others.".into()];
    })
    .await;
    let b = Instance::start(&engine).await;
    let ana_row = a.create_user("ana", UserRole::Member).await;
    let ben_row = a.create_user("ben", UserRole::Member).await;
    a.create_user("zed", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    a.create_user("ada", UserRole::Admin).await;
    b.create_user("rex", UserRole::Member).await;
    let (ana, ben, zed, mo, ada) = (
        a.token("ana").await,
        a.token("ben").await,
        a.token("zed").await,
        a.token("mo").await,
        a.token("ada").await,
    );
    let (ana_id, ben_id) = (my_id(&a, &ana).await, my_id(&a, &ben).await);
    // Mo has muted Ana, notifications included: reports still reach Mo.
    let (status, _) = a
        .api_post(&format!("/api/v1/accounts/{ana_id}/mute"), &mo, json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, bens_post) = a
        .api_post(
            "/api/v1/statuses",
            &ben,
            json!({ "status": "Stop your insulin." }),
        )
        .await;
    let bens_post = bens_post["id"].as_str().unwrap_or_default().to_owned();
    let (_, private_post) = a
        .api_post(
            "/api/v1/statuses",
            &ben,
            json!({ "status": "only for followers", "visibility": "private" }),
        )
        .await;
    let private_post = private_post["id"].as_str().unwrap_or_default().to_owned();
    let (_, anas_post) = a
        .api_post("/api/v1/statuses", &ana, json!({ "status": "Mine" }))
        .await;
    let anas_post = anas_post["id"].as_str().unwrap_or_default().to_owned();

    // Urlencoded, as the official apps send it.
    let response = http()
        .post(a.url("/api/v1/reports"))
        .bearer_auth(&ana)
        .form(&[
            ("account_id", ben_id.as_str()),
            ("status_ids[]", bens_post.as_str()),
            ("comment", "Dangerous advice"),
            ("category", "spam"),
            ("forward", "false"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    let report: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(report["target_account"]["id"], json!(ben_id), "{report}");
    assert_eq!(
        (
            &report["category"],
            &report["comment"],
            &report["status_ids"]
        ),
        (
            &json!("spam"),
            &json!("Dangerous advice"),
            &json!([bens_post])
        ),
        "{report}"
    );
    assert_eq!(
        (
            &report["action_taken"],
            &report["forwarded"],
            &report["rule_ids"]
        ),
        (&json!(false), &json!(false), &Value::Null),
        "{report}"
    );
    assert!(report["id"].is_string() && report["created_at"].is_string());
    assert_eq!(
        stored_reports(&a).await,
        [(
            ana_row.id,
            ben_row.id,
            "Dangerous advice".to_owned(),
            "spam".to_owned(),
            String::new(),
            false
        )]
    );
    for staff in [&mo, &ada] {
        let told = reports_told(&a, staff).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0]["account"]["id"], json!(ana_id), "the reporter");
        assert_eq!(told[0]["report"]["id"], report["id"]);
        assert_eq!(told[0]["report"]["target_account"]["id"], json!(ben_id));
    }
    assert!(reports_told(&a, &ana).await.is_empty());
    assert!(reports_told(&a, &zed).await.is_empty());

    // JSON, citing rule 2: a violation.
    let (status, report) = a
        .api_post(
            "/api/v1/reports",
            &zed,
            json!({ "account_id": ben_id, "rule_ids": ["2"], "category": "other" }),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            &report["category"],
            &report["rule_ids"],
            &report["status_ids"]
        ),
        (&json!("violation"), &json!(["2"]), &json!([])),
        "{report}"
    );
    assert_eq!(reports_told(&a, &mo).await.len(), 2);

    // A remote account, with `forward` and a Hearth category: B's moderators get a `Flag`
    // from A's instance actor (Ana stays anonymous), with the comment and the category.
    let rex_on_a = a.account_id(&format!("rex@{}", b.domain), &ana).await;
    let (status, report) = a
        .api_post(
            "/api/v1/reports",
            &ana,
            json!({ "account_id": rex_on_a, "forward": true, "comment": "Threatens people", "category": "harassment" }),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            &report["forwarded"],
            &report["category"],
            &report["hearth_category"]
        ),
        (&json!(true), &json!("other"), &json!("harassment")),
        "{report}"
    );
    assert!(stored_reports(&a).await.last().is_some_and(|r| r.5));
    settle(&[&a, &b]).await;
    let flagged = stored_reports(&b).await;
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    let (reporter, target, comment, category, _, forward) = flagged[0].clone();
    assert_eq!(
        (comment.as_str(), category.as_str(), forward),
        ("Threatens people", "harassment", false)
    );
    let db = b.state.db.clone();
    let ap_id = |id: i64| {
        let db = db.clone();
        async move {
            db.run(move |conn| Ok(hearth::db::actors::by_id(conn, id)?))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .map(|actor| actor.ap_id)
        }
    };
    assert_eq!(
        ap_id(target).await,
        Some(b.url("/users/rex").to_string()),
        "about Rex"
    );
    assert_eq!(
        ap_id(reporter).await,
        Some(a.state.urls.instance_actor().to_string()),
        "from A's instance actor"
    );
    assert!(
        b.received("/inbox").iter().any(|r| r.status == 202),
        "the Flag went to B's inbox"
    );

    // Bad reports: a clear 4xx with a JSON error; nothing stored, nobody told.
    let long = "x".repeat(1001);
    for (body, expected, says) in [
        (json!({ "account_id": "999999" }), 404, "not found"),
        (json!({ "comment": "who?" }), 422, "account_id"),
        (json!({ "account_id": ana_id }), 422, "own account"),
        (
            json!({ "account_id": ben_id, "comment": long }),
            422,
            "too long",
        ),
        (
            json!({ "account_id": ben_id, "category": "boring" }),
            422,
            "Category",
        ),
        (
            json!({ "account_id": ben_id, "category": "violation" }),
            422,
            "Rule ids",
        ),
        (
            json!({ "account_id": ben_id, "rule_ids": ["9"] }),
            422,
            "Rule ids",
        ),
        (
            json!({ "account_id": ben_id, "status_ids": [anas_post] }),
            404,
            "not found",
        ),
        (
            json!({ "account_id": ben_id, "status_ids": [private_post] }),
            404,
            "not found",
        ),
        (
            json!({ "account_id": ben_id, "status_ids": vec!["1"; 101] }),
            422,
            "too many",
        ),
        (json!({ "account_id": "ben" }), 422, "whole number"),
    ] {
        let (status, error) = a.api_post("/api/v1/reports", &ana, body.clone()).await;
        assert_eq!(status, expected, "{body}: {error}");
        let message = error["error"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {error}");
    }
    assert_eq!(stored_reports(&a).await.len(), 3);
    assert_eq!(reports_told(&a, &mo).await.len(), 3);

    // Reporting needs `write:reports`.
    let reader = a.scoped_token("ana", "read write:statuses").await;
    let (status, _) = a
        .api_post("/api/v1/reports", &reader, json!({ "account_id": ben_id }))
        .await;
    assert_eq!(status, 403);
    let reporter = a.scoped_token("ana", "write:reports").await;
    let (status, _) = a
        .api_post(
            "/api/v1/reports",
            &reporter,
            json!({ "account_id": ben_id }),
        )
        .await;
    assert_eq!(status, 200);
}
on_both_engines!(a_report_is_stored_and_notifies_the_moderators);
