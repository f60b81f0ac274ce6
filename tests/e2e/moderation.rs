//! Moderation: the report queue (crisis first, every moderator told), resolving reports from
//! the API and the command line, and a group moderator's removal of a post reaching the
//! members' servers; every act on the audit record.

use hearth::{
    cli::{AdminCommand, Command, ReportCommand},
    service::audit::{self, Verdict},
};
use hearth_tests::{Engine, Instance, JoinPolicy, UserRole, Visibility, on_both_engines, settle};
use serde_json::{Value, json};

/// The audit entries with `action`, oldest first.
async fn logged(instance: &Instance, token: &str, action: &str) -> Vec<Value> {
    let (status, list) = instance
        .api_get(
            &format!("/api/hearth/v1/admin/audit?limit=80&action={action}"),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let mut list = list.as_array().cloned().unwrap_or_default();
    list.reverse();
    list
}

/// The id of the status about insulin in `token`'s home timeline, if there is one.
async fn insulin_post(instance: &Instance, token: &str) -> Option<String> {
    let (status, timeline) = instance
        .api_get("/api/v1/timelines/home?limit=40", Some(token))
        .await;
    assert_eq!(status, 200, "{timeline}");
    timeline
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["content"].as_str().is_some_and(|c| c.contains("insulin")))
        .and_then(|s| s["id"].as_str().map(str::to_owned))
}

async fn report(instance: &Instance, token: &str, body: Value) -> String {
    let (status, report) = instance.api_post("/api/v1/reports", token, body).await;
    assert_eq!(status, 200, "{report}");
    report["id"].as_str().unwrap_or_default().to_owned()
}

/// Three reports about ben, a crisis one in the middle: every moderator and admin is told of
/// each at once; the queue shows the crisis first with Hearth's category beside Mastodon's;
/// members may not read it; reading one, resolving it with a note (from the API and from the
/// command line) and reopening it are on the audit record, and the chain verifies.
async fn crisis_reports_come_first_and_every_moderator_is_told(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("ben", UserRole::Member).await;
    a.create_user("zoe", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    a.create_user("max", UserRole::Moderator).await;
    a.create_user("ada", UserRole::Admin).await;
    let [ana, zoe, mo, max, ada] = [
        a.token("ana"),
        a.token("zoe"),
        a.token("mo"),
        a.token("max"),
        a.token("ada"),
    ];
    let (ana, zoe, mo, max, ada) = (ana.await, zoe.await, mo.await, max.await, ada.await);
    let ben = a.account_id("ben", &ana).await;

    let spam = report(&a, &ana, json!({ "account_id": ben, "category": "spam" })).await;
    let crisis = report(
        &a,
        &zoe,
        json!({ "account_id": ben, "category": "crisis", "comment": "He says he has a plan" }),
    )
    .await;
    let legal = report(&a, &ana, json!({ "account_id": ben, "category": "legal" })).await;

    for staff in [&mo, &max, &ada] {
        let (_, told) = a
            .api_get("/api/v1/notifications?types[]=admin.report", Some(staff))
            .await;
        let told: Vec<&str> = told
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["report"]["id"].as_str())
            .collect();
        assert_eq!(told, [legal.as_str(), crisis.as_str(), spam.as_str()]);
    }

    let (status, body) = a.api_get("/api/v1/admin/reports", Some(&ana)).await;
    assert_eq!(status, 403, "{body}");
    let (status, queue) = a.api_get("/api/v1/admin/reports", Some(&mo)).await;
    assert_eq!(status, 200, "{queue}");
    let order: Vec<(&str, &str, &str)> = queue
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default(),
                r["hearth_category"].as_str().unwrap_or_default(),
                r["category"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (crisis.as_str(), "crisis", "other"),
            (legal.as_str(), "privacy", "other"),
            (spam.as_str(), "spam", "spam"),
        ]
    );
    assert_eq!(queue[0]["target_account"]["username"], "ben");
    assert_eq!(queue[0]["account"]["username"], "zoe");
    assert_eq!(queue[0]["comment"], "He says he has a plan");

    let (status, shown) = a
        .api_get(&format!("/api/v1/admin/reports/{crisis}"), Some(&max))
        .await;
    assert_eq!(
        (status, &shown["action_taken"]),
        (200, &json!(false)),
        "{shown}"
    );
    let (status, resolved) = a
        .api_post(
            &format!("/api/v1/admin/reports/{crisis}/resolve"),
            &max,
            json!({ "note": "Called him; crisis team informed" }),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["action_taken"], true);
    assert_eq!(resolved["action_taken_by_account"]["username"], "max");
    assert_eq!(
        resolved["resolution_note"],
        "Called him; crisis team informed"
    );
    let (_, open) = a.api_get("/api/v1/admin/reports", Some(&mo)).await;
    assert_eq!(open.as_array().map(Vec::len), Some(2), "{open}");
    let (_, done) = a
        .api_get("/api/v1/admin/reports?resolved=true", Some(&mo))
        .await;
    assert_eq!(done[0]["id"], json!(crisis), "{done}");
    let (status, reopened) = a
        .api_post(
            &format!("/api/v1/admin/reports/{crisis}/reopen"),
            &mo,
            json!({}),
        )
        .await;
    assert_eq!((status, &reopened["action_taken"]), (200, &json!(false)));
    let (status, body) = a.api_get("/api/v1/admin/reports/12345", Some(&mo)).await;
    assert_eq!(status, 404, "{body}");

    // The command line resolves the spam report.
    let spam_id: i64 = spam.parse().unwrap_or_default();
    a.hearth(Command::Admin(AdminCommand::Report(
        ReportCommand::Resolve {
            id: spam_id,
            note: Some("Account limited".into()),
        },
    )))
    .await
    .unwrap_or_else(|e| panic!("hearth admin report resolve: {e}"));
    a.hearth(Command::Admin(AdminCommand::Report(ReportCommand::List {
        resolved: false,
        limit: 10,
    })))
    .await
    .unwrap_or_else(|e| panic!("hearth admin report list: {e}"));
    let missing = a
        .hearth(Command::Admin(AdminCommand::Report(ReportCommand::Show {
            id: 1,
        })))
        .await;
    assert!(missing.is_err_and(|e| e.to_string().contains("not found")));

    let views = logged(&a, &ada, "report.view").await;
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0]["actor"]["username"], "max");
    assert_eq!(views[0]["target"]["id"], json!(crisis));
    assert_eq!(views[0]["target"]["name"], "report on @ben");
    let resolutions = logged(&a, &ada, "report.resolve").await;
    let who: Vec<(&str, &str, &str)> = resolutions
        .iter()
        .map(|e| {
            (
                e["actor"]["username"].as_str().unwrap_or_default(),
                e["target"]["id"].as_str().unwrap_or_default(),
                e["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("max", crisis.as_str(), "Called him; crisis team informed"),
            ("console", spam.as_str(), "Account limited"),
        ]
    );
    assert_eq!(logged(&a, &ada, "report.reopen").await.len(), 1);
    assert_eq!(
        logged(&a, &ada, "report.list").await.len(),
        4,
        "three from the API, one from the command line"
    );
    assert!(matches!(
        audit::verify(&a.state.db).await,
        Ok(Verdict::Intact { .. })
    ));
}
on_both_engines!(crisis_reports_come_first_and_every_moderator_is_told);

/// A group on A moderated by mona (a member of the clinic, moderator of this group only).
/// Bob (on B) posts into it; beth (on B) and ana (on A) are members. Mona removes Bob's post
/// with her ordinary token: it disappears on A and on B (for Bob and Beth), and the removal
/// is on the record with its reason. A member who moderates nothing may not remove posts.
async fn a_removal_by_a_group_moderator_reaches_the_members_servers(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let mona = a.create_user("mona", UserRole::Member).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("ada", UserRole::Admin).await;
    b.create_user("bob", UserRole::Member).await;
    b.create_user("beth", UserRole::Member).await;
    let (mona_token, ana, ada) = (
        a.token("mona").await,
        a.token("ana").await,
        a.token("ada").await,
    );
    let (bob, beth) = (b.token("bob").await, b.token("beth").await);
    a.create_group_with(
        "heart",
        "Heart",
        Visibility::Public,
        JoinPolicy::Open,
        Some(&mona),
    )
    .await;
    let handle = format!("heart@{}", a.domain);
    for (instance, token) in [(&a, &ana), (&b, &bob), (&b, &beth)] {
        let id = instance.account_id(&handle, token).await;
        let (status, body) = instance
            .api_post(&format!("/api/v1/accounts/{id}/follow"), token, json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    settle(&[&a, &b]).await;
    let (status, posted) = b
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({ "status": format!("@{handle} Stop your insulin, it is a scam"), "visibility": "public" }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    settle(&[&a, &b]).await;

    let on_a = insulin_post(&a, &ana)
        .await
        .unwrap_or_else(|| panic!("the post reached A"));
    assert!(
        insulin_post(&b, &beth).await.is_some(),
        "the post reached Beth"
    );

    let (status, body) = a
        .api_delete(&format!("/api/hearth/v1/admin/posts/{on_a}"), &ana)
        .await;
    assert_eq!(status, 403, "ana moderates nothing: {body}");
    let (status, body) = a
        .api_delete(
            &format!("/api/hearth/v1/admin/posts/{on_a}?reason=dangerous%20advice"),
            &mona_token,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    settle(&[&a, &b]).await;

    assert!(insulin_post(&a, &ana).await.is_none(), "gone on A");
    assert!(
        insulin_post(&b, &beth).await.is_none(),
        "gone for Beth on B"
    );
    assert!(insulin_post(&b, &bob).await.is_none(), "gone for Bob on B");
    let removals = logged(&a, &ada, "post.remove").await;
    assert_eq!(removals.len(), 1, "{removals:?}");
    assert_eq!(removals[0]["actor"]["username"], "mona");
    assert_eq!(removals[0]["target"]["id"], json!(on_a));
    assert_eq!(
        removals[0]["target"]["name"],
        format!("post by @bob@{}", b.domain)
    );
    assert_eq!(removals[0]["reason"], "dangerous advice");
}
on_both_engines!(a_removal_by_a_group_moderator_reaches_the_members_servers);

/// Ben (here) is followed from another server and reported by Ana. A moderator suspends him
/// through Mastodon's account action, resolving the report: his token stops working, the
/// admin API shows him suspended, and his follower's server gets a `Delete` of his actor
/// (signed by him). Lifting it from the command line sends his document again in an
/// `Update`, and his new tokens work. A moderator may not act on an admin; members may not
/// act at all; every act is on the audit record.
async fn a_suspension_federates_and_signs_out(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = hearth_tests::StubPeer::start().await;
    a.create_user("ana", UserRole::Member).await;
    let ben = a.create_user("ben", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    let ada = a.create_user("ada", UserRole::Admin).await;
    let (ana, ben_token, mo, ada_token) = (
        a.token("ana").await,
        a.token("ben").await,
        a.token("mo").await,
        a.token("ada").await,
    );
    let join = hearth_tests::follow(&peer.actor("gina"), &ben.ap_id);
    assert_eq!(peer.send("gina", &a, "/inbox", &join).await, 202);
    a.deliver().await;
    let ben_id = ben.id.to_string();
    let reported = report(
        &a,
        &ana,
        json!({ "account_id": ben_id, "category": "harassment" }),
    )
    .await;

    let action = format!("/api/v1/admin/accounts/{ben_id}/action");
    let (status, _) = a
        .api_post(&action, &ana, json!({ "type": "suspend" }))
        .await;
    assert_eq!(status, 403, "members may not");
    let (status, _) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{}/action", ada.id),
            &mo,
            json!({ "type": "suspend" }),
        )
        .await;
    assert_eq!(status, 403, "a moderator may not suspend an admin");
    let (status, body) = a
        .api_post(&action, &mo, json!({ "type": "sensitive" }))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = a
        .api_post(
            &action,
            &mo,
            json!({ "type": "suspend", "text": "Threats", "report_id": reported }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&ben_token))
        .await;
    assert_eq!(status, 401, "signed out everywhere");
    let (_, shown) = a
        .api_get(&format!("/api/v1/admin/accounts/{ben_id}"), Some(&mo))
        .await;
    assert_eq!(shown["suspended"], true, "{shown}");
    let (_, report_now) = a
        .api_get(&format!("/api/v1/admin/reports/{reported}"), Some(&mo))
        .await;
    assert_eq!(report_now["action_taken"], true, "{report_now}");

    a.deliver().await;
    let sent = |kind: &str| {
        peer.received()
            .into_iter()
            .filter(|d| d.body["type"] == kind && d.body["actor"] == ben.ap_id.as_str())
            .collect::<Vec<_>>()
    };
    let deletes = sent("Delete");
    assert_eq!(deletes.len(), 1, "{:?}", peer.received());
    assert_eq!(deletes[0].body["object"]["id"], ben.ap_id.as_str());

    a.hearth(Command::Admin(AdminCommand::Account(
        hearth::cli::AccountCommand::Unsuspend(hearth::cli::AccountArgs {
            name: "ben".into(),
            reason: Some("Apologised".into()),
        }),
    )))
    .await
    .unwrap_or_else(|e| panic!("hearth admin account unsuspend: {e}"));
    a.deliver().await;
    let updates = sent("Update");
    assert_eq!(updates.len(), 1, "{:?}", peer.received());
    assert_eq!(updates[0].body["object"]["id"], ben.ap_id.as_str());
    let fresh = a.token("ben").await;
    let (status, _) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&fresh))
        .await;
    assert_eq!(status, 200);

    let who = |entries: Vec<Value>| -> Vec<(String, String)> {
        entries
            .iter()
            .map(|e| {
                (
                    e["actor"]["username"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    e["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        who(logged(&a, &ada_token, "account.suspend").await),
        [("mo".to_owned(), "Threats".to_owned())]
    );
    assert_eq!(
        who(logged(&a, &ada_token, "account.unsuspend").await),
        [("console".to_owned(), "Apologised".to_owned())]
    );
    assert_eq!(logged(&a, &ada_token, "report.resolve").await.len(), 1);
}
on_both_engines!(a_suspension_federates_and_signs_out);
