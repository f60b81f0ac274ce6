//! The verifying inbox, across two real instances: B's people post to A's inboxes.

use chrono::{TimeDelta, Utc};
use hearth_tests::{Engine, Instance, Signer, UserRole, follow, http, on_both_engines};
use serde_json::Value;

/// A (with a group) and B (with two people, bob and eve), all on `engine`.
struct Pair {
    a: Instance,
    b: Instance,
    bob: String,
    eve: String,
    group: String,
}

async fn pair(engine: &Engine) -> Pair {
    let a = Instance::start(engine).await;
    let b = Instance::start(engine).await;
    a.create_group("diabetes", "Diabetes support").await;
    b.create_user("bob", UserRole::Member).await;
    b.create_user("eve", UserRole::Member).await;
    let bob = b.url("/users/bob").to_string();
    let eve = b.url("/users/eve").to_string();
    let group = a.url("/groups/diabetes").to_string();
    Pair {
        a,
        b,
        bob,
        eve,
        group,
    }
}

async fn post(url: &url::Url, headers: http::HeaderMap, body: Vec<u8>) -> (u16, Value) {
    let response = hearth_tests::http()
        .post(url.clone())
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn body(activity: &Value) -> Vec<u8> {
    serde_json::to_vec(activity).unwrap_or_else(|e| panic!("{e}"))
}

/// Signed POSTs from B's person are accepted, in both the `hs2019` form GoToSocial and Lemmy
/// use and the `rsa-sha256` form Mastodon uses, at the group's inbox and the shared inbox.
/// A learns bob's key with a fetch signed by A's instance actor.
async fn a_signed_post_from_another_instance_is_accepted(engine: Engine) {
    let Pair {
        a, b, bob, group, ..
    } = pair(&engine).await;
    for (algorithm, inbox) in [
        ("hs2019", "/groups/diabetes/inbox"),
        ("rsa-sha256", "/inbox"),
    ] {
        let mut signer = Signer::for_actor(&b, &bob).await;
        signer.algorithm = algorithm;
        let inbox = a.url(inbox);
        let activity = body(&follow(&bob, &group));
        let (status, _) = post(&inbox, signer.sign_post(&inbox, &activity), activity).await;
        assert_eq!(status, 202, "{algorithm} to {inbox}");
    }
    let bob_fetch = b
        .received("/users/bob")
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap_or_else(|| panic!("A never fetched bob's key"));
    let signature = bob_fetch
        .headers
        .get("signature")
        .and_then(|s| s.to_str().ok())
        .unwrap_or_default();
    assert!(
        signature.contains(&format!("keyId=\"{}#main-key\"", a.url("/actor"))),
        "{signature}"
    );
    assert_eq!(
        b.received("/users/bob").len(),
        1,
        "the key is fetched once, then known"
    );
    assert_eq!(a.actor_count().await, 3, "instance actor, group, and bob");
}
on_both_engines!(a_signed_post_from_another_instance_is_accepted);

/// The same through the federation crate's own sending path, as B's future delivery will.
async fn an_activity_sent_by_the_federation_crate_is_accepted(engine: Engine) {
    let Pair {
        a, b, bob, group, ..
    } = pair(&engine).await;
    let data = b.federation();
    let bob_url: url::Url = bob.parse().unwrap_or_else(|e| panic!("{e}"));
    let sender = activitypub_federation::fetch::object_id::ObjectId::<
        hearth_federation::objects::actor::FederatedActor,
    >::from(bob_url)
    .dereference_local(&data)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let activity = TestActivity(follow(&bob, &group));
    let tasks = activitypub_federation::activity_sending::SendActivityTask::prepare(
        &activity,
        &sender,
        vec![a.url("/inbox")],
        &data,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for task in tasks {
        task.sign_and_send(&data)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let delivered = a.received("/inbox");
    assert_eq!(
        delivered.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![202]
    );
}
on_both_engines!(an_activity_sent_by_the_federation_crate_is_accepted);

/// Requests that are unsigned, signed wrongly, tampered with, stale, or too large are refused
/// with a JSON error, and none of them leaves anything behind on A.
async fn forged_tampered_and_oversized_posts_are_refused_and_change_nothing(engine: Engine) {
    let Pair {
        a,
        b,
        bob,
        eve,
        group,
    } = pair(&engine).await;
    let inbox = a.url("/groups/diabetes/inbox");
    let activity = body(&follow(&bob, &group));
    let bob_signer = Signer::for_actor(&b, &bob).await;
    let before = a.actor_count().await;

    // Unsigned: 401 before anything is fetched.
    let mut unsigned = bob_signer.sign_post(&inbox, &activity);
    unsigned.remove("signature");
    let (status, error) = post(&inbox, unsigned, activity.clone()).await;
    assert_eq!(status, 401);
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("not signed")),
        "{error}"
    );
    assert!(
        b.received("/users/bob").is_empty(),
        "an unsigned request caused a fetch"
    );

    // Signed with eve's key while claiming to be bob.
    let mut forged = Signer::for_actor(&b, &eve).await;
    forged.key_id = format!("{bob}#main-key");
    let (status, _) = post(
        &inbox,
        forged.sign_post(&inbox, &activity),
        activity.clone(),
    )
    .await;
    assert_eq!(status, 401, "a signature by another actor's key");

    // A valid signature over another body.
    let headers = bob_signer.sign_post(&inbox, &activity);
    let tampered = body(&follow(&bob, a.url("/groups/other").as_ref()));
    let (status, _) = post(&inbox, headers, tampered).await;
    assert_eq!(status, 400, "digest mismatch");

    // A signature that leaves out the digest, or the host.
    for covered in [
        vec!["(request-target)", "host", "date"],
        vec!["(request-target)", "date", "digest"],
    ] {
        let mut partial = bob_signer.clone();
        partial.covered = covered.clone();
        let (status, _) = post(
            &inbox,
            partial.sign_post(&inbox, &activity),
            activity.clone(),
        )
        .await;
        assert_eq!(status, 401, "signature covering only {covered:?}");
    }

    // A signature replayed against another inbox.
    let elsewhere = a.url("/inbox");
    let (status, _) = post(
        &elsewhere,
        bob_signer.sign_post(&inbox, &activity),
        activity.clone(),
    )
    .await;
    assert_eq!(status, 401, "signature made for another path");

    // Stale and future dates.
    for offset in [TimeDelta::hours(-2), TimeDelta::hours(2)] {
        let mut dated = bob_signer.clone();
        dated.date = Utc::now() + offset;
        let (status, _) = post(&inbox, dated.sign_post(&inbox, &activity), activity.clone()).await;
        assert_eq!(status, 401, "date off by {offset}");
    }

    // Over 1 MiB, declared: refused before the body is read.
    let mut huge = follow(&bob, &group);
    huge["padding"] = Value::String("x".repeat(1024 * 1024));
    let huge = body(&huge);
    let (status, _) = post(&inbox, bob_signer.sign_post(&inbox, &huge), huge.clone()).await;
    assert_eq!(status, 413);

    // Over 1 MiB, streamed without a length: cut off while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        huge.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let response = http()
        .post(inbox.clone())
        .headers(bob_signer.sign_post(&inbox, &huge))
        .body(reqwest::Body::wrap_stream(futures_stream(chunks)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 413, "streamed oversized body");

    // Malformed JSON, and an id on another host than its actor.
    let garbage = b"{\"id\": [".to_vec();
    let (status, _) = post(&inbox, bob_signer.sign_post(&inbox, &garbage), garbage).await;
    assert_eq!(status, 400);
    let mut spoofed = follow(&bob, &group);
    spoofed["id"] = Value::String(a.url("/activities/1").to_string());
    let spoofed = body(&spoofed);
    let (status, _) = post(&inbox, bob_signer.sign_post(&inbox, &spoofed), spoofed).await;
    assert_eq!(status, 400, "activity id on another host than its actor");

    assert_eq!(
        a.actor_count().await,
        before,
        "a refused request stored something"
    );

    // And the inbox of someone who does not exist.
    let nobody = a.url("/users/nobody/inbox");
    let (status, _) = post(&nobody, bob_signer.sign_post(&nobody, &activity), activity).await;
    assert_eq!(status, 404);
}
on_both_engines!(forged_tampered_and_oversized_posts_are_refused_and_change_nothing);

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    tokio_stream::iter(chunks)
}

/// Implements the crate's `Activity` for an arbitrary JSON activity, to send it.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
struct TestActivity(Value);

#[async_trait::async_trait]
impl activitypub_federation::traits::Activity for TestActivity {
    type DataType = hearth_federation::FederationData;
    type Error = hearth_federation::FederationError;

    fn id(&self) -> &url::Url {
        static ID: std::sync::OnceLock<url::Url> = std::sync::OnceLock::new();
        ID.get_or_init(|| {
            url::Url::parse("http://localhost/unused").unwrap_or_else(|e| panic!("{e}"))
        })
    }

    fn actor(&self) -> &url::Url {
        self.id()
    }

    async fn verify(
        &self,
        _: &activitypub_federation::config::Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }

    async fn receive(
        self,
        _: &activitypub_federation::config::Data<Self::DataType>,
    ) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Received activity ids are kept for a month, to take redeliveries once, then forgotten by the
/// hourly clean-up, oldest first.
async fn received_activity_ids_are_forgotten_after_a_month(engine: Engine) {
    use diesel::prelude::*;
    use hearth::db::schema::received_activities as received;
    let a = Instance::start(&engine).await;
    let now = Utc::now().naive_utc();
    let ages = [("kept", 29), ("forgotten", 31), ("long-forgotten", 400)];
    a.state
        .db
        .write(move |conn| {
            for (name, days) in ages {
                let row = (
                    received::ap_id.eq(format!("https://peer.example/activities/{name}")),
                    received::received_at.eq(now - TimeDelta::days(days)),
                );
                diesel::insert_into(received::table)
                    .values(row)
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let forgotten = hearth::service::inbox::forget_old_receipts(&a.state.ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forgotten, 2);
    let left: Vec<String> = a
        .state
        .db
        .run(|conn| Ok(received::table.select(received::ap_id).load(conn)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, ["https://peer.example/activities/kept"]);
}
on_both_engines!(received_activity_ids_are_forgotten_after_a_month);

/// A peer delivers in parallel, so a person new here can arrive in several requests at once
/// (gina joins eight groups at the same moment): every one is taken, and she is stored once.
async fn a_new_person_arriving_in_parallel_requests_is_stored_once(engine: Engine) {
    let a = Instance::start(&engine).await;
    let peer = hearth_tests::StubPeer::start().await;
    let groups: Vec<String> = (0..8).map(|n| format!("group{n}")).collect();
    for name in &groups {
        a.create_group(name, name).await;
    }
    let joins = groups.iter().map(|name| {
        let join = follow(
            &peer.actor("gina"),
            a.url(&format!("/groups/{name}")).as_str(),
        );
        let (peer, a) = (&peer, &a);
        async move { peer.send("gina", a, "/inbox", &join).await }
    });
    let statuses = futures::future::join_all(joins).await;
    assert_eq!(statuses, [202; 8]);
    let gina = peer.actor("gina");
    let (stored, follows): (i64, i64) = a
        .state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use hearth::db::schema::{actors, follows};
            let id: i64 = actors::table
                .filter(actors::ap_id.eq(&gina))
                .select(actors::id)
                .first(conn)?;
            let stored = actors::table
                .filter(actors::ap_id.eq(&gina))
                .count()
                .get_result(conn)?;
            let follows = follows::table
                .filter(follows::follower_id.eq(id))
                .count()
                .get_result(conn)?;
            Ok((stored, follows))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stored, follows), (1, 8));
}
on_both_engines!(a_new_person_arriving_in_parallel_requests_is_stored_once);

/// Posts into a group that arrive at the same moment are written together (a few statements
/// for a whole batch of them): still, each member's post is stored once and shared once, a
/// post sent twice at once or carried by two activities is stored and shared once, and a
/// stranger's post is refused alone.
async fn posts_arriving_together_are_each_stored_and_shared_once(engine: Engine) {
    const AS: &str = "https://www.w3.org/ns/activitystreams";
    const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
    let a = Instance::start(&engine).await;
    a.create_group("diabetes", "Diabetes support").await;
    let group = a.url("/groups/diabetes").to_string();
    let peer = hearth_tests::StubPeer::start().await;
    let members: Vec<String> = (0..8).map(|n| format!("member{n}")).collect();
    for name in &members {
        let join = follow(&peer.actor(name), &group);
        assert_eq!(peer.send(name, &a, "/inbox", &join).await, 202);
    }
    a.deliver().await; // the Accepts
    let create = |name: &str, note: &str| {
        let author = peer.actor(name);
        serde_json::json!({ "@context": AS, "id": peer.id("create"), "type": "Create",
            "actor": author, "object": { "id": note, "type": "Note", "attributedTo": author,
                "content": format!("<p>{name} writes</p>"), "to": [PUBLIC], "cc": [group],
                "audience": group } })
    };
    let notes: Vec<String> = members
        .iter()
        .map(|name| format!("{}/statuses/1", peer.actor(name)))
        .collect();
    let mut sent: Vec<(&str, Value)> = members
        .iter()
        .zip(&notes)
        .map(|(name, note)| (name.as_str(), create(name, note)))
        .collect();
    // member0's activity twice, and member1's post again in another activity.
    sent.push(("member0", sent[0].1.clone()));
    sent.push(("member1", create("member1", &notes[1])));
    let stranger_note = format!("{}/statuses/1", peer.actor("stranger"));
    sent.push(("stranger", create("stranger", &stranger_note)));
    // The writer is kept busy as they arrive, so that they wait for it together.
    let (started, busy) = std::sync::mpsc::channel();
    let holding = tokio::spawn({
        let db = a.state.db.clone();
        async move {
            db.write(move |_| {
                let _ = started.send(());
                std::thread::sleep(std::time::Duration::from_millis(500));
                Ok(())
            })
            .await
        }
    });
    let _ = tokio::task::spawn_blocking(move || busy.recv()).await;
    let statuses = futures::future::join_all(
        sent.iter()
            .map(|(name, activity)| peer.send(name, &a, "/groups/diabetes/inbox", activity)),
    )
    .await;
    assert!(matches!(holding.await, Ok(Ok(()))));
    assert_eq!(
        statuses,
        [202, 202, 202, 202, 202, 202, 202, 202, 202, 202, 403]
    );

    let stored: Vec<String> = a
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use hearth::db::schema::posts;
            Ok(posts::table
                .select(posts::ap_id)
                .order(posts::ap_id)
                .load(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, notes, "each member's post once, and no stranger's");

    while a.deliver().await > 0 {}
    let shared: Vec<String> = peer
        .received()
        .into_iter()
        .filter(|d| d.body["type"] == "Announce" && d.body["object"]["type"] == "Create")
        .map(|d| {
            d.body["object"]["object"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut shared_sorted = shared.clone();
    shared_sorted.sort();
    assert_eq!(shared_sorted, notes, "each post shared once: {shared:?}");
}
on_both_engines!(posts_arriving_together_are_each_stored_and_shared_once);
