//! The audit log: admin and moderator acts, through the API and the command line, are
//! recorded in one hash chain that `hearth audit verify` checks; a row changed or removed in
//! the database is found and named.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use hearth::{
    cli::{AuditCommand, Command, FederationCommand, GroupCommand, InviteCommand},
    db::schema::audit_log,
    service::audit::{self, Acting, Verdict},
};
use hearth_tests::{Engine, Instance, UserRole, on_both_engines};
use serde_json::{Value, json};

async fn verify(instance: &Instance) -> Verdict {
    audit::verify(&instance.state.db)
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"))
}

/// Every entry, oldest first, read through the admin endpoint (following its `Link`s).
async fn entries(instance: &Instance, token: &str, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = format!("/api/hearth/v1/admin/audit?limit=3{query}");
    loop {
        let (page, next) = instance.get_paged(&path, token).await;
        let page = page.as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            break;
        }
        all.extend(page);
        match next {
            Some(next) => path = next,
            None => break,
        }
    }
    all.reverse();
    all
}

/// Acts through the API (by an admin and by a group's moderator) and through the command
/// line are chained in order, each with who did it, to what, and the detail; the endpoint
/// filters and pages; members may not read it. `hearth audit verify` passes; a row edited in
/// the database makes it fail naming that entry; so does a removed row, and a removed last
/// row.
async fn acts_on_every_path_are_chained_and_checked(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ada", UserRole::Admin).await;
    let mona = a.create_user("mona", UserRole::Member).await;
    a.create_user("eve", UserRole::Member).await;
    let (ada, mona_token, eve) = (
        a.token("ada").await,
        a.token("mona").await,
        a.token("eve").await,
    );

    // The API: an admin creates a group and steers a queue; the group's moderator (a member
    // of the clinic, moderator of this group only) reads its members and bans eve.
    let (status, group) = a
        .api_post(
            "/api/hearth/v1/groups",
            &ada,
            json!({ "handle": "heart", "display_name": "Heart" }),
        )
        .await;
    assert_eq!(status, 200, "{group}");
    let group_id = group["id"].as_str().unwrap_or_default().to_owned();
    let mona_id = mona.id.to_string();
    let (status, body) = a
        .api_post(
            &format!("/api/hearth/v1/groups/{group_id}/moderators/{mona_id}"),
            &ada,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let eve_id = a.account_id("eve", &ada).await;
    let (status, body) = a
        .api_post(
            &format!("/api/v1/accounts/{group_id}/follow"),
            &eve,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, members) = a
        .api_get(
            &format!("/api/hearth/v1/groups/{group_id}/members"),
            Some(&mona_token),
        )
        .await;
    assert_eq!(
        (status, members[0]["id"].as_str()),
        (200, Some(eve_id.as_str()))
    );
    // The same list through Mastodon's followers endpoint: a look on the record too; an
    // anonymous look sees no one and leaves no entry.
    let (status, followers) = a
        .api_get(
            &format!("/api/v1/accounts/{group_id}/followers"),
            Some(&mona_token),
        )
        .await;
    assert_eq!(
        (status, followers[0]["id"].as_str()),
        (200, Some(eve_id.as_str()))
    );
    let (status, followers) = a
        .api_get(&format!("/api/v1/accounts/{group_id}/followers"), None)
        .await;
    assert_eq!((status, followers), (200, json!([])));
    let (status, body) = a
        .api_post(
            &format!("/api/hearth/v1/groups/{group_id}/bans/{eve_id}"),
            &mona_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = a
        .api_post(
            "/api/hearth/v1/admin/federation/Elsewhere.Example./retry",
            &ada,
            json!({}),
        )
        .await;
    assert_eq!((status, &body["retried"]), (200, &json!(0)), "{body}");

    // The command line, as the operator.
    for command in [
        Command::Invite(InviteCommand::Create {
            max_uses: Some(3),
            expires_in_days: None,
        }),
        Command::Federation(FederationCommand::Drop {
            host: "elsewhere.example".into(),
        }),
        Command::Group(GroupCommand::Create {
            handle: "lungs".into(),
            name: "Lungs".into(),
            description: String::new(),
            visibility: "public".into(),
            join_policy: "open".into(),
            owner: Some("mona".into()),
        }),
    ] {
        a.hearth(command)
            .await
            .unwrap_or_else(|e| panic!("hearth: {e}"));
    }

    // Members may not read the log; admins read all of it, chained, in order.
    let (status, body) = a
        .api_get("/api/hearth/v1/admin/audit", Some(&mona_token))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].is_string());
    let log = entries(&a, &ada, "").await;
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| {
            (
                e["actor"]["username"].as_str().unwrap_or_default(),
                e["action"].as_str().unwrap_or_default(),
            )
        })
        .filter(|(_, action)| *action != "account.create" && *action != "token.create")
        .collect();
    assert_eq!(
        actions,
        [
            ("ada", "group.create"),
            ("ada", "group.moderator_add"),
            ("mona", "group.members_view"),
            ("mona", "group.members_view"),
            ("mona", "group.member_ban"),
            ("ada", "federation.retry"),
            ("console", "invite.create"),
            ("console", "federation.drop"),
            ("console", "group.create"),
        ]
    );
    let mut prev = audit::GENESIS.to_owned();
    for (n, entry) in log.iter().enumerate() {
        assert_eq!(entry["id"], json!((n + 1).to_string()), "{entry}");
        assert_eq!(entry["prev_hash"], json!(prev), "{entry}");
        prev = entry["hash"].as_str().unwrap_or_default().to_owned();
    }
    let ban = log
        .iter()
        .find(|e| e["action"] == "group.member_ban")
        .cloned()
        .unwrap_or_default();
    assert_eq!(ban["actor"]["role"], "member");
    assert_eq!(ban["target"]["id"], json!(eve_id));
    assert_eq!(ban["target"]["name"], "@eve");
    assert_eq!(ban["detail"], "in @heart");
    let retry = log
        .iter()
        .find(|e| e["action"] == "federation.retry")
        .cloned()
        .unwrap_or_default();
    assert_eq!(retry["target"]["id"], "elsewhere.example");
    let made = log
        .iter()
        .find(|e| e["action"] == "account.create" && e["target"]["name"] == "@ada")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&made["actor"]["username"], &made["detail"]),
        (&json!("console"), &json!("role admin"))
    );

    // Filters, on the API and on the command line.
    let by_mona = entries(&a, &ada, "&actor=@Mona").await;
    assert_eq!(by_mona.len(), 3, "{by_mona:?}");
    let creations = entries(&a, &ada, "&action=group.create").await;
    assert_eq!(creations.len(), 2, "{creations:?}");
    let (status, body) = a
        .api_get("/api/hearth/v1/admin/audit?action=everything", Some(&ada))
        .await;
    assert_eq!(status, 422, "{body}");
    a.hearth(Command::Audit(AuditCommand::List {
        action: Some("group.create".into()),
        actor: Some("console".into()),
        limit: 5,
    }))
    .await
    .unwrap_or_else(|e| panic!("hearth audit list: {e}"));

    // Intact, on the command line too.
    let total = i64::try_from(log.len()).unwrap_or_default();
    assert!(matches!(verify(&a).await, Verdict::Intact { entries, .. } if entries == total));
    a.hearth(Command::Audit(AuditCommand::Verify))
        .await
        .unwrap_or_else(|e| panic!("hearth audit verify: {e}"));

    // A reason put into the ban's entry afterwards: found, and named.
    let ban_id: i64 = ban["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_default();
    set_reason(&a, ban_id, Some("she asked for it")).await;
    let verdict = verify(&a).await;
    assert!(
        matches!(&verdict, Verdict::Broken { id, problem } if *id == ban_id && problem.contains("changed")),
        "{verdict:?}"
    );
    let refused = a.hearth(Command::Audit(AuditCommand::Verify)).await;
    assert!(
        refused.as_ref().is_err_and(|e| e
            .to_string()
            .contains(&format!("broken at entry {ban_id}:"))),
        "{refused:?}"
    );
    set_reason(&a, ban_id, None).await;
    assert!(matches!(verify(&a).await, Verdict::Intact { .. }));

    // A removed entry, in the middle and at the end.
    let retry_id: i64 = retry["id"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_default();
    let removed = remove(&a, retry_id).await;
    let verdict = verify(&a).await;
    assert!(
        matches!(&verdict, Verdict::Broken { id, problem } if *id == retry_id && problem.contains("missing")),
        "{verdict:?}"
    );
    restore(&a, removed).await;
    assert!(matches!(verify(&a).await, Verdict::Intact { .. }));
    remove(&a, total).await;
    let verdict = verify(&a).await;
    assert!(
        matches!(&verdict, Verdict::Broken { id, .. } if *id == total),
        "{verdict:?}"
    );
}
on_both_engines!(acts_on_every_path_are_chained_and_checked);

async fn set_reason(instance: &Instance, id: i64, reason: Option<&'static str>) {
    instance
        .state
        .db
        .run(move |conn| {
            Ok(diesel::update(audit_log::table.find(id))
                .set(audit_log::reason.eq(reason))
                .execute(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn remove(instance: &Instance, id: i64) -> hearth::db::audit::AuditRow {
    instance
        .state
        .db
        .run(move |conn| {
            use diesel::SelectableHelper;
            let row = audit_log::table
                .find(id)
                .select(hearth::db::audit::AuditRow::as_select())
                .get_result(conn)?;
            diesel::delete(audit_log::table.find(id)).execute(conn)?;
            Ok(row)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn restore(instance: &Instance, row: hearth::db::audit::AuditRow) {
    instance
        .state
        .db
        .run(move |conn| {
            Ok(diesel::insert_into(audit_log::table)
                .values(&row)
                .execute(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Two processes on one database appending at once never fork the chain: every entry follows
/// the one before, and none is lost.
async fn two_processes_append_to_one_chain(engine: Engine) {
    let a = Instance::start(&engine).await;
    let second = a.second_process().await;
    let before = match verify(&a).await {
        Verdict::Intact { entries, .. } => entries,
        broken => panic!("{broken:?}"),
    };
    let mut acts = Vec::new();
    for n in 0..12 {
        let ctx = if n % 2 == 0 {
            a.state.ctx.clone()
        } else {
            second.ctx.clone()
        };
        acts.push(tokio::spawn(async move {
            hearth::service::delivery::steer_queue(
                &ctx,
                &Acting::Console,
                format!("host{n}.example"),
                hearth::service::delivery::QueueAction::Retry,
            )
            .await
        }));
    }
    for act in acts {
        act.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let verdict = verify(&a).await;
    assert!(
        matches!(verdict, Verdict::Intact { entries, .. } if entries == before + 12),
        "{verdict:?}"
    );
}
on_both_engines!(two_processes_append_to_one_chain);
