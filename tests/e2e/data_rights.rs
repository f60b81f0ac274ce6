//! Data rights: what is held of a person who leaves is erased, everywhere it went.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines};
use serde_json::json;

const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A remote person who deletes their account is erased here: their posts (the group tells its
/// members' servers), their membership, follows both ways, likes and the notifications about
/// them; no table names them any more. Their deletion signed by anyone else is refused, and
/// one that arrives again once they are gone is accepted with nothing to do.
async fn a_remote_person_who_deletes_their_account_is_erased_here(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_group("support", "Support").await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let group = a.url("/groups/support").to_string();
    let (gina_server, omar_server) = (StubPeer::start().await, StubPeer::start().await);
    let gina = gina_server.actor("gina");

    // gina and omar (on another server) join the group; gina follows ana, and ana her.
    for (server, name) in [(&gina_server, "gina"), (&omar_server, "omar")] {
        let join = json!({ "@context": AS, "id": server.id("follow"), "type": "Follow",
            "actor": server.actor(name), "object": group });
        assert_eq!(server.send(name, &a, "/inbox", &join).await, 202);
    }
    let follow = json!({ "@context": AS, "id": gina_server.id("follow"), "type": "Follow",
        "actor": gina, "object": a.url("/users/ana").to_string() });
    assert_eq!(gina_server.send("gina", &a, "/inbox", &follow).await, 202);
    let gina_account = a
        .account_id(&format!("gina@{}", gina_server.domain), &ana)
        .await;
    assert_eq!(a.follow_account(&ana, &gina_account).await.0, 200);
    // gina posts into the group and likes ana's post.
    let note = format!("{gina}/statuses/1");
    let create = json!({ "@context": AS, "id": gina_server.id("create"), "type": "Create",
        "actor": gina, "object": { "id": note, "type": "Note", "attributedTo": gina,
            "content": "<p>What helped you sleep?</p>", "to": [PUBLIC], "cc": [group],
            "audience": group } });
    assert_eq!(gina_server.send("gina", &a, "/inbox", &create).await, 202);
    let (_, status) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Walking helps me." }),
        )
        .await;
    let like = json!({ "@context": AS, "id": gina_server.id("like"), "type": "Like",
        "actor": gina, "object": status["uri"] });
    assert_eq!(gina_server.send("gina", &a, "/inbox", &like).await, 202);
    drain(&a).await;
    assert!(!tables_naming(&a, &gina).await.is_empty());

    // omar cannot delete gina's account.
    let forged = json!({ "@context": AS, "id": gina_server.id("delete"), "type": "Delete",
        "actor": gina, "object": gina });
    assert_eq!(omar_server.send("omar", &a, "/inbox", &forged).await, 401);
    assert!(
        tables_naming(&a, &gina)
            .await
            .contains(&"actors".to_owned())
    );

    // gina deletes her account.
    let delete = json!({ "@context": AS, "id": gina_server.id("delete"), "type": "Delete",
        "actor": gina, "object": gina, "to": [PUBLIC] });
    assert_eq!(gina_server.send("gina", &a, "/inbox", &delete).await, 202);
    drain(&a).await;
    let shares_to_omar: Vec<_> = omar_server
        .received()
        .into_iter()
        .filter(|d| d.body["type"] == "Announce" && d.body["object"]["type"] == "Delete")
        .map(|d| d.body["object"]["object"]["id"].clone())
        .collect();
    assert_eq!(
        shares_to_omar,
        [json!(note)],
        "the group tells omar's server"
    );
    assert_eq!(tables_naming(&a, &gina).await, Vec::<String>::new());
    let (_, home) = a.api_get("/api/v1/timelines/home", Some(&ana)).await;
    assert!(!home.to_string().contains(&gina), "{home}");
    let (_, notifications) = a.api_get("/api/v1/notifications", Some(&ana)).await;
    assert_eq!(notifications, json!([]), "gina's follow and like are gone");

    // The same deletion once more (a retry): nothing is left to erase, nothing is fetched.
    let fetches = gina_server.actor_fetches();
    assert_eq!(gina_server.send("gina", &a, "/inbox", &delete).await, 202);
    let again = json!({ "@context": AS, "id": gina_server.id("delete"), "type": "Delete",
        "actor": gina, "object": gina });
    assert_eq!(gina_server.send("gina", &a, "/inbox", &again).await, 202);
    assert_eq!(gina_server.actor_fetches(), fetches);
}
on_both_engines!(a_remote_person_who_deletes_their_account_is_erased_here);

/// Sends everything queued (twice: the second pass also clears what every server has passed
/// from the outbox).
async fn drain(instance: &Instance) {
    while instance.deliver().await > 0 {}
    instance.deliver().await;
}

/// The tables with a column naming `needle`, but for the log of received activity ids (kept
/// to refuse replays) and the receiving servers' delivery state.
async fn tables_naming(instance: &Instance, needle: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let columns = crate::storage::columns(instance).await;
    let needle = needle.replace('\'', "''");
    instance
        .state
        .db
        .run(move |conn| {
            use diesel::RunQueryDsl;
            let mut naming = std::collections::BTreeSet::new();
            for (table, column) in columns {
                if ["received_activities", "servers"].contains(&table.as_str()) {
                    continue;
                }
                let count: Vec<Count> = diesel::sql_query(format!(
                    "SELECT COUNT(*) AS n FROM \"{table}\" \
                     WHERE CAST(\"{column}\" AS TEXT) LIKE '%{needle}%'"
                ))
                .load(conn)?;
                if count.first().is_some_and(|c| c.n > 0) {
                    naming.insert(table);
                }
            }
            Ok(naming.into_iter().collect())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}
