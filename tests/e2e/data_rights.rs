//! Data rights: what is held of a person who leaves is erased, everywhere it went.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines, settle};
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

/// A local person deletes their account with their password: everything of theirs is erased
/// here (rows and image files), the other instance that knew them erases them too, their URLs
/// answer 410, and once every server has been told only a hash of their handle is left, which
/// keeps the handle from being taken again. An admin deletes another account at its owner's
/// request from the command line, on the audit record.
async fn a_local_person_who_deletes_their_account_is_erased_everywhere(engine: Engine) {
    use hearth::cli::{Command, UserCommand};
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_group("support", "Support").await;
    a.create_user("alice", UserRole::Member).await;
    a.create_user("carol", UserRole::Member).await;
    a.create_user("ada", UserRole::Admin).await;
    b.create_user("bob", UserRole::Member).await;
    let (alice, bob) = (a.token("alice").await, b.token("bob").await);
    let alice_id = a.url("/users/alice").to_string();

    // bob follows alice and joins the group; she follows him, posts with a picture, joins the
    // group and posts into it.
    let alice_on_b = b.account_id(&format!("alice@{}", a.domain), &bob).await;
    let group_on_b = b.account_id(&format!("support@{}", a.domain), &bob).await;
    assert_eq!(b.follow_account(&bob, &alice_on_b).await.0, 200);
    assert_eq!(b.follow_account(&bob, &group_on_b).await.0, 200);
    settle(&[&a, &b]).await;
    let bob_on_a = a.account_id(&format!("bob@{}", b.domain), &alice).await;
    assert_eq!(a.follow_account(&alice, &bob_on_a).await.0, 200);
    let (status, picture) =
        crate::media::upload(&a, &alice, "me.png", crate::media::png_with_text_and_exif()).await;
    assert_eq!(status, 200, "{picture}");
    let (status, public) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({ "status": "Leaving soon, thank you all", "media_ids": [picture["id"]] }),
        )
        .await;
    assert_eq!(status, 200, "{public}");
    let group_id = a.account_id(&format!("support@{}", a.domain), &alice).await;
    assert_eq!(a.follow_account(&alice, &group_id).await.0, 200);
    let (status, in_group) = a
        .api_post(
            "/api/v1/statuses",
            &alice,
            json!({ "status": "My numbers are better", "group_id": group_id }),
        )
        .await;
    assert_eq!(status, 200, "{in_group}");
    settle(&[&a, &b]).await;
    assert!(
        !tables_naming(&b, &alice_id).await.is_empty(),
        "B knows alice"
    );
    let archive = prepared_archive(&a, &alice).await;
    assert_eq!(archive["state"], "ready", "{archive}");
    let files = media_files(&a);
    assert!(
        files.len() >= 3 && files.iter().any(|f| f.starts_with("export-")),
        "her picture, its thumbnail and her archive: {files:?}"
    );

    // A wrong password changes nothing.
    let (status, _) = a
        .api_post(
            "/api/v1/accounts/delete",
            &alice,
            json!({ "password": "not it" }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        a.api_get("/api/v1/accounts/verify_credentials", Some(&alice))
            .await
            .0,
        200
    );

    let (status, _) = a
        .api_post(
            "/api/v1/accounts/delete",
            &alice,
            json!({ "password": "a long test password" }),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        a.api_get("/api/v1/accounts/verify_credentials", Some(&alice))
            .await
            .0,
        401
    );
    assert_eq!(a.ap_get("/users/alice").await.0, 410);
    assert_eq!(a.ap_get("/users/alice/outbox").await.0, 410);
    let finger = format!("/.well-known/webfinger?resource=acct:alice@{}", a.domain);
    assert_eq!(a.api_get(&finger, None).await.0, 410);
    let post_path = url::Url::parse(public["uri"].as_str().unwrap_or_default())
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    assert_eq!(a.ap_get(&post_path).await.0, 410);
    assert_eq!(media_files(&a), Vec::<String>::new(), "her files are gone");

    // B hears of it and erases her: her posts leave bob's timeline.
    settle(&[&a, &b]).await;
    drain(&a).await;
    assert_eq!(tables_naming(&b, &alice_id).await, Vec::<String>::new());
    let (_, home) = b.api_get("/api/v1/timelines/home", Some(&bob)).await;
    assert!(!home.to_string().contains("Leaving soon"), "{home}");

    // Once every server has been told, nothing here names her but the staff's audit record
    // of their own acts (her account and a token made at the command line), which is kept as
    // written; her handle stays taken.
    let rest = chrono::TimeDelta::days(365);
    let dropped = hearth::service::account_deletion::drop_tombstones(&a.state.ctx, rest).await;
    assert_eq!(dropped.ok(), Some(1));
    drain(&a).await;
    assert_eq!(tables_naming(&a, &alice_id).await, Vec::<String>::new());
    assert_eq!(tables_naming(&a, "alice").await, ["audit_log"]);
    let (_, acts) = a
        .api_get("/api/hearth/v1/admin/audit", Some(&a.token("ada").await))
        .await;
    let on_her: Vec<&str> = acts
        .as_array()
        .into_iter()
        .flatten()
        .filter(|act| act.to_string().contains("alice"))
        .filter_map(|act| act["action"].as_str())
        .collect();
    assert_eq!(on_her, ["token.create", "account.create"], "{acts}");
    assert_eq!(a.ap_get("/users/alice").await.0, 404);
    let again = hearth::service::accounts::create_user(
        &a.state.ctx,
        &hearth::service::audit::Acting::Console,
        hearth::service::accounts::NewUser {
            handle: hearth::service::accounts::Handle::parse("alice")
                .unwrap_or_else(|e| panic!("{e}")),
            display_name: None,
            role: UserRole::Member,
        },
        "another long password".into(),
    )
    .await;
    assert!(again.is_err(), "her handle is not free again");

    // An admin deletes carol's account at her request, on the audit record by a hash only.
    a.hearth(Command::User(UserCommand::Delete {
        name: "carol".into(),
    }))
    .await
    .unwrap_or_else(|e| panic!("hearth user delete: {e}"));
    assert_eq!(a.ap_get("/users/carol").await.0, 410);
    let refused = a
        .hearth(Command::User(UserCommand::Delete {
            name: "carol".into(),
        }))
        .await;
    assert!(refused.is_err(), "an account deleted already");
    let (_, log) = a
        .api_get(
            "/api/hearth/v1/admin/audit?action=account.delete",
            Some(&a.token("ada").await),
        )
        .await;
    assert_eq!(log.as_array().map(Vec::len), Some(1), "{log}");
    assert!(!log.to_string().contains("carol"), "{log}");
}
on_both_engines!(a_local_person_who_deletes_their_account_is_erased_everywhere);

/// The names of the files in an instance's media folder.
fn media_files(instance: &Instance) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(instance.state.settings.media_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The files of a ZIP archive, by name.
fn unzipped(archive: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive))
        .unwrap_or_else(|e| panic!("not a ZIP archive: {e}"));
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        let name = file.name().map(|n| n.into_owned());
        files.insert(name.unwrap_or_else(|e| panic!("{e}")), bytes);
    }
    files
}

/// A JSON document of an archive.
fn document(files: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> serde_json::Value {
    let bytes = files
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", files.keys()));
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Uploads a CSV file to `/api/hearth/v1/import` as Mastodon's import form sends it.
async fn import(
    instance: &Instance,
    token: &str,
    kind: &str,
    csv: Vec<u8>,
) -> (u16, serde_json::Value) {
    let form = reqwest::multipart::Form::new()
        .text("type", kind.to_owned())
        .part(
            "data",
            reqwest::multipart::Part::bytes(csv).file_name(format!("{kind}.csv")),
        );
    let response = hearth_tests::http()
        .post(instance.url("/api/hearth/v1/import"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// A person downloads everything they own as one archive, from the API and at the command
/// line: every post (with its picture inside the archive), like and bookmark, and their
/// follows, group memberships, blocks and mutes as Mastodon's CSV files. Those files, taken
/// into a fresh account on another instance, make it follow, join, block and mute the same.
async fn an_export_holds_everything_and_its_lists_import_elsewhere(engine: Engine) {
    use hearth::cli::{Command, UserCommand};
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_group("support", "Support").await;
    for name in ["ana", "cleo", "eve", "mo"] {
        a.create_user(name, UserRole::Member).await;
    }
    b.create_user("bob", UserRole::Member).await;
    b.create_user("dana", UserRole::Member).await;
    let (ana, cleo) = (a.token("ana").await, a.token("cleo").await);
    let (bob, dana) = (b.token("bob").await, b.token("dana").await);

    // ana follows bob (on B) and cleo, joins the group, blocks eve and mutes mo.
    for handle in [format!("bob@{}", b.domain), "cleo".into(), "support".into()] {
        let id = a.account_id(&handle, &ana).await;
        assert_eq!(a.follow_account(&ana, &id).await.0, 200, "{handle}");
    }
    let eve = a.account_id("eve", &ana).await;
    let mo = a.account_id("mo", &ana).await;
    assert_eq!(
        a.api_post(&format!("/api/v1/accounts/{eve}/block"), &ana, json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        a.api_post(&format!("/api/v1/accounts/{mo}/mute"), &ana, json!({}))
            .await
            .0,
        200
    );
    settle(&[&a, &b]).await;

    // She writes three posts (one with a picture, one into the group), likes and bookmarks
    // cleo's.
    let (_, picture) =
        crate::media::upload(&a, &ana, "walk.png", crate::media::png_with_text_and_exif()).await;
    let group = a.account_id("support", &ana).await;
    let mut written = Vec::new();
    for body in [
        json!({ "status": "First walk in weeks", "media_ids": [picture["id"]] }),
        json!({ "status": "Slept six hours" }),
        json!({ "status": "Anyone else tired after infusions?", "group_id": group }),
    ] {
        let (status, post) = a.api_post("/api/v1/statuses", &ana, body).await;
        assert_eq!(status, 200, "{post}");
        written.push(post["uri"].clone());
    }
    let (_, theirs) = a
        .api_post(
            "/api/v1/statuses",
            &cleo,
            json!({ "status": "Rest days count" }),
        )
        .await;
    let path = format!(
        "/api/v1/statuses/{}",
        theirs["id"].as_str().unwrap_or_default()
    );
    assert_eq!(
        a.api_post(&format!("{path}/favourite"), &ana, json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        a.api_post(&format!("{path}/bookmark"), &ana, json!({}))
            .await
            .0,
        200
    );

    let response = hearth_tests::http()
        .get(a.url("/api/hearth/v1/export"))
        .bearer_auth(&ana)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let archive = response.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    let files = unzipped(&archive);

    let actor = document(&files, "actor.json");
    assert_eq!(actor["preferredUsername"], "ana");
    let outbox = document(&files, "outbox.json");
    let objects: Vec<serde_json::Value> = outbox["orderedItems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|create| create["object"]["id"].clone())
        .collect();
    assert_eq!(objects, written, "every post, oldest first");
    let first = &outbox["orderedItems"][0]["object"];
    let inside = first["attachment"][0]["url"].as_str().unwrap_or_default();
    let served = crate::media::fetch(picture["url"].as_str().unwrap_or_default(), None).await;
    assert_eq!(
        files.get(inside),
        Some(&served.2),
        "the picture is in the archive"
    );
    let liked = document(&files, "likes.json");
    assert_eq!(liked["orderedItems"], json!([theirs["uri"]]));
    assert_eq!(
        document(&files, "bookmarks.json")["orderedItems"],
        json!([theirs["uri"]])
    );
    let following = String::from_utf8_lossy(&files["following_accounts.csv"]).into_owned();
    for expected in [
        "Account address,Show boosts,Notify on new posts,Languages".to_owned(),
        format!("bob@{}", b.domain),
        format!("cleo@{}", a.domain),
        format!("support@{}", a.domain),
    ] {
        assert!(following.contains(&expected), "{expected}: {following}");
    }
    let blocked = String::from_utf8_lossy(&files["blocked_accounts.csv"]).into_owned();
    assert_eq!(blocked.trim(), format!("eve@{}", a.domain));
    let muted = String::from_utf8_lossy(&files["muted_accounts.csv"]).into_owned();
    assert!(muted.contains(&format!("mo@{},", a.domain)), "{muted}");

    // The command line writes the same archive.
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    a.hearth(Command::User(UserCommand::Export {
        name: "ana".into(),
        file: file.path().to_path_buf(),
    }))
    .await
    .unwrap_or_else(|e| panic!("hearth user export: {e}"));
    let written_out = std::fs::read(file.path()).unwrap_or_else(|e| panic!("{e}"));
    let names = |files: &std::collections::BTreeMap<String, Vec<u8>>| {
        files.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(names(&unzipped(&written_out)), names(&files));

    // dana, new on B, takes in ana's lists.
    let (status, done) = import(
        &b,
        &dana,
        "following",
        files["following_accounts.csv"].clone(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["done"].as_array().map(Vec::len), Some(3), "{done}");
    let (status, done) = import(&b, &dana, "blocking", files["blocked_accounts.csv"].clone()).await;
    assert_eq!((status, &done["failed"]), (200, &json!([])), "{done}");
    let (status, done) = import(&b, &dana, "muting", files["muted_accounts.csv"].clone()).await;
    assert_eq!((status, &done["failed"]), (200, &json!([])), "{done}");
    settle(&[&a, &b]).await;
    let dana_id = b.account_id("dana", &dana).await;
    let (_, follows) = b
        .api_get(
            &format!("/api/v1/accounts/{dana_id}/following"),
            Some(&dana),
        )
        .await;
    let mut followed: Vec<String> = follows
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|account| account["acct"].as_str().map(str::to_owned))
        .collect();
    followed.sort();
    let mut expected = vec!["bob".to_owned(), format!("cleo@{}", a.domain)];
    expected.sort();
    assert_eq!(followed, expected, "she follows the same people");
    let group_on_b = b.account_id(&format!("support@{}", a.domain), &dana).await;
    let eve_on_b = b.account_id(&format!("eve@{}", a.domain), &dana).await;
    let mo_on_b = b.account_id(&format!("mo@{}", a.domain), &dana).await;
    let (_, relations) = b
        .api_get(
            &format!(
                "/api/v1/accounts/relationships?id[]={group_on_b}&id[]={eve_on_b}&id[]={mo_on_b}"
            ),
            Some(&dana),
        )
        .await;
    assert_eq!(
        relations[0]["following"], true,
        "she has joined the group: {relations}"
    );
    assert_eq!(relations[1]["blocking"], true, "{relations}");
    assert_eq!(relations[2]["muting"], true, "{relations}");

    // A file of something else, or without its CSV, is refused.
    assert_eq!(
        import(&b, &bob, "lists", b"x@y.example\n".to_vec()).await.0,
        422
    );
}
on_both_engines!(an_export_holds_everything_and_its_lists_import_elsewhere);

/// Asks for an archive of `token`'s holder's data to be prepared, and waits until it is no
/// longer being prepared: the archive as the API shows it then.
async fn prepared_archive(instance: &Instance, token: &str) -> serde_json::Value {
    let (status, requested) = instance
        .api_post("/api/hearth/v1/exports", token, json!({}))
        .await;
    assert_eq!(status, 202, "{requested}");
    assert_eq!(requested["state"], "preparing", "{requested}");
    assert_eq!(requested["url"], serde_json::Value::Null, "{requested}");
    let path = format!(
        "/api/hearth/v1/exports/{}",
        requested["id"].as_str().unwrap_or_default()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, archive) = instance.api_get(&path, Some(token)).await;
        assert_eq!(status, 200, "{archive}");
        if archive["state"] != "preparing" {
            return archive;
        }
        let progress = &archive["progress"];
        assert!(
            progress["done"].as_i64() <= progress["total"].as_i64()
                && progress["percent"].as_i64() < Some(100),
            "{archive}"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "never ready: {archive}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A large archive is prepared in the background: the request is answered at once, the
/// archive's progress counts every post and file, and once ready it is kept for its owner
/// alone, served in parts as a large download resumes. One archive a day may be asked for.
async fn an_archive_is_prepared_in_the_background_for_its_owner_alone(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bob", UserRole::Member).await;
    let (ana, bob) = (a.token("ana").await, a.token("bob").await);
    let (status, picture) =
        crate::media::upload(&a, &ana, "me.png", crate::media::png_with_text_and_exif()).await;
    assert_eq!(status, 200, "{picture}");
    let posts = 60;
    for n in 0..posts {
        let mut status = json!({ "status": format!("Day {n} of keeping a diary") });
        if n == 0 {
            status["media_ids"] = json!([picture["id"]]);
        }
        assert_eq!(a.api_post("/api/v1/statuses", &ana, status).await.0, 200);
    }
    assert_eq!(
        hearth_tests::http()
            .post(a.url("/api/hearth/v1/exports"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok(),
        Some(401)
    );

    let archive = prepared_archive(&a, &ana).await;
    assert_eq!(archive["state"], "ready", "{archive}");
    assert_eq!(
        archive["progress"],
        json!({ "done": posts + 1, "total": posts + 1, "percent": 100 }),
        "every post and the picture were counted"
    );
    let url = archive["url"].as_str().unwrap_or_default().to_owned();
    assert!(url.ends_with("/archive"), "{archive}");
    let (_, listed) = a.api_get("/api/hearth/v1/exports", Some(&ana)).await;
    assert_eq!(listed, json!([archive]));

    let download = |token: &str| {
        hearth_tests::http()
            .get(url.as_str())
            .bearer_auth(token.to_owned())
            .send()
    };
    let response = download(&ana).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .is_ok_and(|d| d.contains("hearth-ana.zip"))
    );
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(archive["size"].as_u64(), Some(bytes.len() as u64));
    let files = unzipped(&bytes);
    let outbox = document(&files, "outbox.json");
    assert_eq!(
        outbox["orderedItems"].as_array().map(Vec::len),
        Some(posts as usize)
    );
    assert!(
        files
            .keys()
            .any(|k| k.starts_with("media_attachments/files/")),
        "{:?}",
        files.keys()
    );
    let part = hearth_tests::http()
        .get(url.as_str())
        .bearer_auth(&ana)
        .header("range", "bytes=0-1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(part.status().as_u16(), 206);
    assert_eq!(part.bytes().await.ok().as_deref(), Some(&b"PK"[..]));

    // No one else sees it, or can tell it exists.
    let path = format!(
        "/api/hearth/v1/exports/{}",
        archive["id"].as_str().unwrap_or_default()
    );
    assert_eq!(a.api_get(&path, Some(&bob)).await.0, 404);
    let theirs = download(&bob).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(theirs.status().as_u16(), 404);
    assert_eq!(
        a.api_get("/api/hearth/v1/exports", Some(&bob)).await.1,
        json!([])
    );
    // Nor is it one of the files `/media/` serves.
    let name = media_files(&a)
        .into_iter()
        .find(|n| n.starts_with("export-"))
        .unwrap_or_else(|| panic!("the archive is kept in the media folder"));
    assert_eq!(
        a.api_get(&format!("/media/{name}"), Some(&ana)).await.0,
        404
    );

    // One a day.
    let (status, refused) = a.api_post("/api/hearth/v1/exports", &ana, json!({})).await;
    assert_eq!(status, 429, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("once a day")),
        "{refused}"
    );
}
on_both_engines!(an_archive_is_prepared_in_the_background_for_its_owner_alone);
