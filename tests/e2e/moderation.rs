//! Moderation: the report queue (crisis first, every moderator told), resolving reports from
//! the API and the command line, and a group moderator's removal of a post reaching the
//! members' servers; every act on the audit record.

use hearth::{
    cli::{AdminCommand, Command, ReportCommand},
    service::audit::{self, Verdict},
};
use hearth_tests::{Engine, Instance, JoinPolicy, UserRole, Visibility, on_both_engines, settle};
use serde_json::{Value, json};

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

    let views = a.audit_log(&ada, "report.view").await;
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0]["actor"]["username"], "max");
    assert_eq!(views[0]["target"]["id"], json!(crisis));
    assert_eq!(views[0]["target"]["name"], "report on @ben");
    let resolutions = a.audit_log(&ada, "report.resolve").await;
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
    assert_eq!(a.audit_log(&ada, "report.reopen").await.len(), 1);
    assert_eq!(
        a.audit_log(&ada, "report.list").await.len(),
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
    let [a, b] = Instance::start_many(&engine).await;
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
        let (status, body) = instance.follow_account(token, &id).await;
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
    let removals = a.audit_log(&ada, "post.remove").await;
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
/// (signed by him), while his actor document shows only that he is suspended. Lifting it from
/// the command line sends his document again in an `Update`, and his new tokens work. A
/// moderator may not act on an admin; members may not act at all; every act is on the audit
/// record.
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
    let (status, body) = a.api_post(&action, &mo, json!({ "type": "banish" })).await;
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
    // His actor document keeps what verifies that Delete and shows nothing of his profile.
    let (status, document) = a.ap_get(&ben.ap_id).await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["suspended"], true, "{document}");
    assert!(document.get("name").is_none(), "{document}");
    assert!(document["publicKey"]["publicKeyPem"].is_string());

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
    let (_, document) = a.ap_get(&ben.ap_id).await;
    assert!(document.get("suspended").is_none(), "{document}");
    assert_eq!(document["name"], "ben (test)", "{document}");
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
        who(a.audit_log(&ada_token, "account.suspend").await),
        [("mo".to_owned(), "Threats".to_owned())]
    );
    assert_eq!(
        who(a.audit_log(&ada_token, "account.unsuspend").await),
        [("console".to_owned(), "Apologised".to_owned())]
    );
    assert_eq!(a.audit_log(&ada_token, "report.resolve").await.len(), 1);
}
on_both_engines!(a_suspension_federates_and_signs_out);

/// Posts `text` (public) as `token`; answers the status.
async fn post(instance: &Instance, token: &str, text: &str) -> Value {
    let (status, posted) = instance
        .api_post(
            "/api/v1/statuses",
            token,
            json!({ "status": text, "visibility": "public" }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    posted
}

/// The contents of the statuses of a timeline (or any list of statuses) at `path`.
async fn contents(instance: &Instance, path: &str, token: Option<&str>) -> Vec<String> {
    let (status, list) = instance.api_get(path, token).await;
    assert_eq!(status, 200, "{path}: {list}");
    let list = if list.get("statuses").is_some() {
        list["statuses"].clone()
    } else {
        list
    };
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["content"].as_str().map(str::to_owned))
        .collect()
}

fn holds(list: &[String], text: &str) -> bool {
    list.iter().any(|c| c.contains(text))
}

/// Ben is sensitized by a moderator through Mastodon's account action: his earlier post now
/// shows as sensitive, his new one is stored so; `unsensitive` lifts it for the earlier one
/// (the admin API shows `sensitized` both ways). A moderator marks another post of his
/// sensitive with a content warning through Hearth's post action: it shows so, and his
/// follower's server receives the post's `Update` with `sensitive` and the warning. Members
/// may do neither; every act is on the audit record.
async fn sensitive_accounts_and_posts(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = hearth_tests::StubPeer::start().await;
    a.create_user("ana", UserRole::Member).await;
    let ben = a.create_user("ben", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    a.create_user("ada", UserRole::Admin).await;
    let (ana, ben_token, mo, ada) = (
        a.token("ana").await,
        a.token("ben").await,
        a.token("mo").await,
        a.token("ada").await,
    );
    let join = hearth_tests::follow(&peer.actor("gina"), &ben.ap_id);
    assert_eq!(peer.send("gina", &a, "/inbox", &join).await, 202);
    a.deliver().await;
    let ben_id = ben.id.to_string();
    let earlier = post(&a, &ben_token, "Photos of my wound healing").await;
    let earlier_path = format!("/api/v1/statuses/{}", earlier["id"].as_str().unwrap_or("0"));
    let shown = |path: String| {
        let (a, ana) = (&a, &ana);
        async move {
            let (status, body) = a.api_get(&path, Some(ana)).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    assert_eq!(shown(earlier_path.clone()).await["sensitive"], false);

    let action = format!("/api/v1/admin/accounts/{ben_id}/action");
    let (status, _) = a
        .api_post(&action, &ana, json!({ "type": "sensitive" }))
        .await;
    assert_eq!(status, 403, "members may not");
    let (status, body) = a
        .api_post(
            &action,
            &mo,
            json!({ "type": "sensitive", "text": "Graphic photos" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, account) = a
        .api_get(&format!("/api/v1/admin/accounts/{ben_id}"), Some(&mo))
        .await;
    assert_eq!(account["sensitized"], true, "{account}");
    assert_eq!(shown(earlier_path.clone()).await["sensitive"], true);
    let later = post(&a, &ben_token, "More photos").await;
    assert_eq!(later["sensitive"], true, "{later}");
    let later_path = format!("/api/v1/statuses/{}", later["id"].as_str().unwrap_or("0"));

    let (status, lifted) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{ben_id}/unsensitive"),
            &mo,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, &lifted["sensitized"]),
        (200, &json!(false)),
        "{lifted}"
    );
    assert_eq!(shown(earlier_path).await["sensitive"], false, "lifted");
    assert_eq!(
        shown(later_path).await["sensitive"],
        true,
        "a post written while sensitized stays so"
    );

    let claim = post(&a, &ben_token, "Garlic cures infections").await;
    let claim_id = claim["id"].as_str().unwrap_or("0").to_owned();
    let mark = format!("/api/hearth/v1/admin/statuses/{claim_id}/sensitive");
    let (status, _) = a
        .api_post(&mark, &ana, json!({ "spoiler_text": "No" }))
        .await;
    assert_eq!(status, 403, "members may not");
    let (status, _) = a
        .api_post(
            "/api/hearth/v1/admin/statuses/12345/sensitive",
            &mo,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    a.deliver().await;
    let before = peer.received().len();
    let (status, marked) = a
        .api_post(
            &mark,
            &mo,
            json!({ "spoiler_text": "Unproven health claim", "reason": "misinformation" }),
        )
        .await;
    assert_eq!(status, 200, "{marked}");
    assert_eq!(
        (&marked["sensitive"], &marked["spoiler_text"]),
        (&json!(true), &json!("Unproven health claim"))
    );
    let (_, again) = a
        .api_get(&format!("/api/v1/statuses/{claim_id}"), Some(&ana))
        .await;
    assert_eq!(again["spoiler_text"], "Unproven health claim", "{again}");
    a.deliver().await;
    let updates: Vec<_> = peer.received()[before..]
        .iter()
        .filter(|d| d.body["type"] == "Update")
        .cloned()
        .collect();
    assert_eq!(updates.len(), 1, "{:?}", peer.received());
    let object = &updates[0].body["object"];
    assert_eq!(object["id"], claim["uri"], "{object}");
    assert_eq!(
        (&object["sensitive"], &object["summary"]),
        (&json!(true), &json!("Unproven health claim"))
    );
    assert_eq!(updates[0].body["actor"], ben.ap_id.as_str());

    let actions: Vec<String> = ["account.sensitive", "account.unsensitive", "post.sensitive"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for action in &actions {
        let entries = a.audit_log(&ada, action).await;
        assert_eq!(entries.len(), 1, "{action}: {entries:?}");
        assert_eq!(entries[0]["actor"]["username"], "mo");
    }
    assert_eq!(
        a.audit_log(&ada, "post.sensitive").await[0]["reason"],
        "misinformation"
    );
}
on_both_engines!(sensitive_accounts_and_posts);

/// Lea is limited: her public post leaves the public timelines (local and all), her tag's
/// timeline and search for Sam, who does not follow her, and for people not signed in; Fay,
/// who follows her, still has it in her home and public timelines. Lifting the limit brings
/// it back for Sam. (Before the limit, Sam saw it everywhere: the positive control.)
async fn a_limited_account_leaves_public_timelines(engine: Engine) {
    let a = Instance::start(&engine).await;
    let lea = a.create_user("lea", UserRole::Member).await;
    a.create_user("fay", UserRole::Member).await;
    a.create_user("sam", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    let (lea_token, fay, sam, mo) = (
        a.token("lea").await,
        a.token("fay").await,
        a.token("sam").await,
        a.token("mo").await,
    );
    let lea_id = lea.id.to_string();
    let (status, body) = a.follow_account(&fay, &lea_id).await;
    assert_eq!(status, 200, "{body}");
    post(&a, &lea_token, "Night shift #sleeptips: blackout curtains").await;
    post(&a, &sam, "Sam's own #sleeptips: no screens").await;
    let text = "blackout curtains";
    let public_views = [
        "/api/v1/timelines/public",
        "/api/v1/timelines/public?local=true",
        "/api/v1/timelines/tag/sleeptips",
        "/api/v2/search?q=blackout&type=statuses",
    ];
    for path in public_views {
        assert!(holds(&contents(&a, path, Some(&sam)).await, text), "{path}");
    }

    let (status, body) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{lea_id}/action"),
            &mo,
            json!({ "type": "silence" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for path in public_views {
        let seen = contents(&a, path, Some(&sam)).await;
        assert!(!holds(&seen, text), "{path} for sam: {seen:?}");
        if !path.contains("search") {
            assert!(
                holds(&seen, "no screens"),
                "{path}: others' posts stay: {seen:?}"
            );
        }
    }
    for path in &public_views[..3] {
        assert!(
            !holds(&contents(&a, path, None).await, text),
            "{path} signed out"
        );
    }
    assert!(holds(
        &contents(&a, "/api/v1/timelines/home", Some(&fay)).await,
        text
    ));
    assert!(holds(
        &contents(&a, "/api/v1/timelines/public", Some(&fay)).await,
        text
    ));
    assert!(
        holds(
            &contents(
                &a,
                &format!("/api/v1/accounts/{lea_id}/statuses"),
                Some(&sam)
            )
            .await,
            text
        ),
        "her profile still shows it"
    );

    let (status, _) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{lea_id}/unsilence"),
            &mo,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(holds(
        &contents(&a, "/api/v1/timelines/public", Some(&sam)).await,
        text
    ));
}
on_both_engines!(a_limited_account_leaves_public_timelines);

/// Sue is suspended: her post answers 404 to everyone (signed in or not, and to other servers
/// fetching its ActivityPub object), leaves the public
/// timeline, her follower's home, her profile's statuses and the context of a reply to it;
/// lifting the suspension from the command line brings it all back.
async fn a_suspended_accounts_posts_disappear_until_lifted(engine: Engine) {
    let a = Instance::start(&engine).await;
    let sue = a.create_user("sue", UserRole::Member).await;
    a.create_user("fay", UserRole::Member).await;
    a.create_user("sam", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    let (sue_token, fay, sam, mo) = (
        a.token("sue").await,
        a.token("fay").await,
        a.token("sam").await,
        a.token("mo").await,
    );
    let sue_id = sue.id.to_string();
    let (status, body) = a.follow_account(&fay, &sue_id).await;
    assert_eq!(status, 200, "{body}");
    let text = "Skip your dialysis";
    let posted = post(&a, &sue_token, text).await;
    let id = posted["id"].as_str().unwrap_or("0").to_owned();
    let (status, reply) = a
        .api_post(
            "/api/v1/statuses",
            &sam,
            json!({ "status": "Please do not", "in_reply_to_id": id }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let reply_id = reply["id"].as_str().unwrap_or("0").to_owned();
    let context = format!("/api/v1/statuses/{reply_id}/context");
    let status_path = format!("/api/v1/statuses/{id}");
    let profile = format!("/api/v1/accounts/{sue_id}/statuses");

    // Everything shows it first.
    let visible = |expected: bool| {
        let (a, sam, fay) = (&a, &sam, &fay);
        let (status_path, context, profile) = (&status_path, &context, &profile);
        async move {
            let code = if expected { 200 } else { 404 };
            assert_eq!(a.api_get(status_path, Some(sam)).await.0, code, "as sam");
            assert_eq!(a.api_get(status_path, None).await.0, code, "signed out");
            for (path, token) in [
                ("/api/v1/timelines/public", Some(sam.as_str())),
                ("/api/v1/timelines/public?local=true", None),
                ("/api/v1/timelines/home", Some(fay.as_str())),
                (profile.as_str(), Some(sam.as_str())),
            ] {
                let seen = contents(a, path, token).await;
                assert_eq!(holds(&seen, text), expected, "{path}: {seen:?}");
            }
            let (_, ctx) = a.api_get(context, Some(sam)).await;
            let ancestors = ctx["ancestors"].as_array().map_or(0, Vec::len);
            assert_eq!(ancestors, usize::from(expected), "{ctx}");
            // Other servers cannot fetch it either.
            let object = format!("/posts/{}", status_path.rsplit('/').next().unwrap_or("0"));
            let (code, document) = a.ap_get(&object).await;
            assert_eq!(
                code,
                if expected { 200 } else { 404 },
                "{object}: {document}"
            );
        }
    };
    visible(true).await;
    let (status, body) = a
        .api_post(
            &format!("/api/v1/admin/accounts/{sue_id}/action"),
            &mo,
            json!({ "type": "suspend" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    visible(false).await;
    assert!(
        holds(
            &contents(&a, "/api/v1/timelines/public", Some(&sam)).await,
            "Please do not"
        ),
        "others' posts stay"
    );
    a.hearth(Command::Admin(AdminCommand::Account(
        hearth::cli::AccountCommand::Unsuspend(hearth::cli::AccountArgs {
            name: "sue".into(),
            reason: None,
        }),
    )))
    .await
    .unwrap_or_else(|e| panic!("hearth admin account unsuspend: {e}"));
    visible(true).await;
}
on_both_engines!(a_suspended_accounts_posts_disappear_until_lifted);

/// An admin sets the crisis resources (moderators may read them, not set them). A `crisis`
/// report about Ben sends him the text as a direct message from the instance actor, with a
/// mention notification; the reporter is not named. A second crisis report while the first is
/// open sends nothing more, and a spam report about Cal sends nothing (the negative controls).
async fn a_crisis_report_sends_the_crisis_resources(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("zoe", UserRole::Member).await;
    a.create_user("ana", UserRole::Member).await;
    let ben = a.create_user("ben", UserRole::Member).await;
    let cal = a.create_user("cal", UserRole::Member).await;
    a.create_user("mo", UserRole::Moderator).await;
    a.create_user("ada", UserRole::Admin).await;
    let (zoe, ana, ben_token, cal_token, mo, ada) = (
        a.token("zoe").await,
        a.token("ana").await,
        a.token("ben").await,
        a.token("cal").await,
        a.token("mo").await,
        a.token("ada").await,
    );
    let resources = "You are not alone. Call or text 988, any time.";
    let path = "/api/hearth/v1/admin/crisis-resources";
    let (status, _) = a.api_put(path, &mo, json!({ "text": "x" })).await;
    assert_eq!(status, 403, "moderators may not set it");
    let (status, set) = a.api_put(path, &ada, json!({ "text": resources })).await;
    assert_eq!((status, &set["text"]), (200, &json!(resources)), "{set}");
    let (status, read) = a.api_get(path, Some(&mo)).await;
    assert_eq!((status, &read["text"]), (200, &json!(resources)), "{read}");
    let (status, _) = a.api_get(path, Some(&ana)).await;
    assert_eq!(status, 403, "members may not read it");

    let mentions = |token: String| {
        let a = &a;
        async move {
            let (status, list) = a
                .api_get("/api/v1/notifications?types[]=mention", Some(&token))
                .await;
            assert_eq!(status, 200, "{list}");
            list.as_array().cloned().unwrap_or_default()
        }
    };
    assert!(mentions(ben_token.clone()).await.is_empty());
    report(
        &a,
        &zoe,
        json!({ "account_id": ben.id.to_string(), "category": "crisis", "comment": "Worried" }),
    )
    .await;
    let told = mentions(ben_token.clone()).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let message = &told[0]["status"];
    assert!(
        message["content"]
            .as_str()
            .is_some_and(|c| c.contains("Call or text 988")),
        "{message}"
    );
    assert_eq!(message["visibility"], "direct");
    assert!(
        !message["content"]
            .as_str()
            .unwrap_or_default()
            .contains("zoe")
    );
    assert_ne!(told[0]["account"]["username"], "zoe");
    assert_ne!(told[0]["account"]["username"], "ben");
    let (status, opened) = a
        .api_get(
            &format!("/api/v1/statuses/{}", message["id"].as_str().unwrap_or("0")),
            Some(&ben_token),
        )
        .await;
    assert_eq!(status, 200, "{opened}");
    let (status, _) = a
        .api_get(
            &format!("/api/v1/statuses/{}", message["id"].as_str().unwrap_or("0")),
            Some(&ana),
        )
        .await;
    assert_eq!(status, 404, "a direct message for Ben alone");

    report(
        &a,
        &ana,
        json!({ "account_id": ben.id.to_string(), "category": "crisis" }),
    )
    .await;
    assert_eq!(mentions(ben_token).await.len(), 1, "sent once while open");
    report(
        &a,
        &ana,
        json!({ "account_id": cal.id.to_string(), "category": "spam" }),
    )
    .await;
    assert!(mentions(cal_token).await.is_empty(), "only crisis reports");
    let set_log = a.audit_log(&ada, "settings.crisis_resources").await;
    assert_eq!(set_log.len(), 1, "{set_log:?}");
    assert_eq!(set_log[0]["actor"]["username"], "ada");
}
on_both_engines!(a_crisis_report_sends_the_crisis_resources);

/// A `crisis` report filed on A about Rex on B, forwarded: B, whose admin set its crisis
/// resources at the command line, sends Rex the text when the `Flag` arrives. (A has none
/// set, and Rex's account is not A's to message.)
async fn a_forwarded_crisis_report_sends_the_resources_where_the_person_is(engine: Engine) {
    let [a, b] = Instance::start_many(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("rex", UserRole::Member).await;
    let (ana, rex) = (a.token("ana").await, b.token("rex").await);
    b.hearth(Command::Admin(AdminCommand::CrisisResources(
        hearth::cli::CrisisCommand::Set {
            file: None,
            text: Some("B's crisis line: 555-0100".into()),
        },
    )))
    .await
    .unwrap_or_else(|e| panic!("hearth admin crisis-resources set: {e}"));
    let rex_on_a = a.account_id(&format!("rex@{}", b.domain), &ana).await;
    let told = |token: String| {
        let b = &b;
        async move {
            let (status, list) = b
                .api_get("/api/v1/notifications?types[]=mention", Some(&token))
                .await;
            assert_eq!(status, 200, "{list}");
            list.as_array().cloned().unwrap_or_default()
        }
    };
    assert!(told(rex.clone()).await.is_empty());
    report(
        &a,
        &ana,
        json!({ "account_id": rex_on_a, "forward": true, "category": "crisis" }),
    )
    .await;
    settle(&[&a, &b]).await;
    let told = told(rex).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0]["status"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("555-0100")),
        "{}",
        told[0]
    );
}
on_both_engines!(a_forwarded_crisis_report_sends_the_resources_where_the_person_is);
