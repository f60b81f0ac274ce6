//! The outbox when a server is away: failures wait with backoff, admins see and steer the queue.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines};
use serde_json::json;

async fn a_server_that_is_away_shows_in_the_queue_until_retried_or_dropped(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let peer = StubPeer::start().await;
    let (_, found) = a
        .api_get(
            &format!("/api/v2/search?q={}&resolve=true", peer.actor("gina")),
            Some(&ana),
        )
        .await;
    let gina = found["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let host = peer.domain.clone();
    drop(peer); // the server goes away

    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    assert_eq!(a.deliver().await, 1, "one attempt");
    assert_eq!(
        a.deliver().await,
        0,
        "the failed delivery waits for its backoff"
    );

    let (status, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(status, 200);
    assert_eq!(queue[0]["host"], host.as_str(), "{queue}");
    assert_eq!(
        (&queue[0]["pending"], &queue[0]["failures"]),
        (&json!(1), &json!(1))
    );
    assert!(queue[0]["last_error"].is_string());
    assert_eq!(
        a.api_get("/api/hearth/v1/admin/federation", Some(&ana))
            .await
            .0,
        403,
        "admins only"
    );

    let (_, retried) = a
        .api_post(
            &format!("/api/hearth/v1/admin/federation/{host}/retry"),
            &root,
            json!({}),
        )
        .await;
    assert_eq!(retried["retried"], 1);
    assert_eq!(a.deliver().await, 1, "retried at once");
    let (_, dropped) = a
        .api_delete(&format!("/api/hearth/v1/admin/federation/{host}"), &root)
        .await;
    assert_eq!(dropped["dropped"], 1);
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(
        (&queue[0]["host"], &queue[0]["pending"]),
        (&json!(host), &json!(0)),
        "nothing waits, and the server still shows as failing: {queue}"
    );
    assert!(queue[0]["failing_since"].is_string());
}
on_both_engines!(a_server_that_is_away_shows_in_the_queue_until_retried_or_dropped);

/// What the receiver answers decides what happens next: `429` with `Retry-After` waits at least
/// that long; `410 Gone` is not retried; `503` is retried later.
async fn receivers_answers_steer_the_retries(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let peer = StubPeer::start().await;
    let (_, found) = a
        .api_get(
            &format!("/api/v2/search?q={}&resolve=true", peer.actor("gina")),
            Some(&ana),
        )
        .await;
    let gina = found["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    peer.answer_with(429, Some("7200"));
    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    assert_eq!(a.deliver().await, 1);
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    let next = queue[0]["next_attempt_at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let next = chrono::NaiveDateTime::parse_from_str(&next, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("{next}: {e}"));
    let wait = next - chrono::Utc::now().naive_utc();
    assert!(
        wait > chrono::TimeDelta::minutes(115),
        "Retry-After: 7200 honoured, next attempt in {wait}"
    );

    peer.answer_with(410, None);
    a.api_post(
        &format!("/api/hearth/v1/admin/federation/{}/retry", peer.domain),
        &root,
        json!({}),
    )
    .await;
    assert_eq!(a.deliver().await, 1);
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(queue, json!([]), "410 Gone is final");

    peer.answer_with(503, None);
    a.api_post(
        &format!("/api/v1/accounts/{gina}/unfollow"),
        &ana,
        json!({}),
    )
    .await;
    assert_eq!(a.deliver().await, 1);
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(queue[0]["failures"], 1, "503 is retried: {queue}");
    assert_eq!(peer.received().len(), 3, "three attempts reached the peer");
}
on_both_engines!(receivers_answers_steer_the_retries);

/// Two server processes sharing one PostgreSQL database deliver each activity once between
/// them (`FOR UPDATE SKIP LOCKED`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgresql_deliver_each_activity_once() {
    let Some(engine) = hearth_tests::Engine::postgres() else {
        return;
    };
    let a = Instance::start(&engine).await;
    let peer = StubPeer::start().await;
    let mut people = Vec::new();
    for n in 0..12 {
        let name = format!("p{n}");
        a.create_user(&name, UserRole::Member).await;
        people.push(a.token(&name).await);
    }
    let (_, found) = a
        .api_get(
            &format!("/api/v2/search?q={}&resolve=true", peer.actor("gina")),
            Some(&people[0]),
        )
        .await;
    let gina = found["accounts"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for token in &people {
        a.api_post(&format!("/api/v1/accounts/{gina}/follow"), token, json!({}))
            .await;
    }
    let second = a.second_process().await;
    let (first_data, second_data) = (a.federation(), second.federation.to_request_data());
    let (one, two) = tokio::join!(
        hearth::service::delivery::deliver_due(&a.state.ctx, &first_data),
        hearth::service::delivery::deliver_due(&second.ctx, &second_data),
    );
    let (one, two) = (
        one.unwrap_or_else(|e| panic!("{e}")),
        two.unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(one + two, 12, "every delivery claimed once: {one} + {two}");
    let follows: Vec<String> = peer
        .received()
        .iter()
        .filter_map(|d| d.body["id"].as_str().map(str::to_owned))
        .collect();
    let mut unique = follows.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (follows.len(), unique.len()),
        (12, 12),
        "each Follow arrived exactly once"
    );
}

/// Moves a server's failing streak back by `days`, as if that much time had passed.
async fn failing_for_days(a: &Instance, host: &str, days: i64) {
    use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
    use hearth::db::schema::servers;
    let host = host.to_owned();
    let since = (chrono::Utc::now() - chrono::TimeDelta::days(days)).naive_utc();
    a.state
        .db
        .run(move |conn| {
            Ok(diesel::update(servers::table.find(host))
                .set(servers::failing_since.eq(Some(since)))
                .execute(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A server that has failed for days is marked unreachable and from then on only probed twice
/// a day, with one delivery; new deliveries wait behind the probe. One success revives it, and
/// its whole backlog follows.
async fn a_server_down_for_days_is_probed_until_it_returns(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let peer = StubPeer::start().await;
    let gina = a.account_id(&peer.actor("gina"), &ana).await;
    let host = peer.domain.clone();
    let queue = || async {
        let (_, queue) = a
            .api_get("/api/hearth/v1/admin/federation", Some(&root))
            .await;
        queue[0].clone()
    };
    let retry = || async {
        a.api_post(
            &format!("/api/hearth/v1/admin/federation/{host}/retry"),
            &root,
            json!({}),
        )
        .await
    };

    peer.answer_with(503, None);
    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    assert_eq!(a.deliver().await, 1);
    assert!(
        queue().await["unreachable_since"].is_null(),
        "failing, not yet unreachable"
    );

    failing_for_days(&a, &host, 3).await;
    retry().await;
    assert_eq!(a.deliver().await, 1, "the next attempt fails too");
    let server = queue().await;
    assert!(server["unreachable_since"].is_string(), "{server}");
    let next = chrono::NaiveDateTime::parse_from_str(
        server["next_attempt_at"].as_str().unwrap_or_default(),
        "%Y-%m-%dT%H:%M:%S%.f",
    )
    .unwrap_or_else(|e| panic!("{server}: {e}"));
    assert!(
        next - chrono::Utc::now().naive_utc() > chrono::TimeDelta::hours(11),
        "probed again in 12 hours: {server}"
    );

    for n in 1..=3 {
        a.api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": format!("@gina@{host} note {n}"), "visibility": "direct" }),
        )
        .await;
    }
    assert_eq!(a.deliver().await, 0, "new deliveries wait for the probe");
    assert_eq!(queue().await["pending"], 4);
    retry().await;
    assert_eq!(a.deliver().await, 1, "a failing probe is all that is tried");
    assert_eq!(queue().await["pending"], 4);

    peer.answer_with(202, None);
    let before = peer.received().len();
    retry().await; // as when the probe time comes
    assert_eq!(
        a.deliver().await,
        4,
        "the probe succeeds and the backlog follows"
    );
    let arrived: Vec<String> = peer.received()[before..]
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d.body["type"].as_str().unwrap_or_default(),
                d.body["object"]["content"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(arrived.len(), 4, "{arrived:?}");
    assert!(
        arrived[0].starts_with("Follow"),
        "the probe first: {arrived:?}"
    );
    let mut backlog = arrived[1..].to_vec();
    backlog.sort();
    for (n, line) in backlog.iter().enumerate() {
        assert!(
            line.starts_with("Create") && line.contains(&format!("note {}", n + 1)),
            "then the backlog, sent together: {arrived:?}"
        );
    }
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(queue, json!([]), "revived: nothing waits, nothing fails");
}
on_both_engines!(a_server_down_for_days_is_probed_until_it_returns);

/// Ana writes to gina on `domain`, and to no one else.
async fn direct_note(a: &Instance, ana: &str, domain: &str, text: &str) {
    a.api_post(
        "/api/v1/statuses",
        ana,
        json!({ "status": format!("@gina@{domain} {text}"), "visibility": "direct" }),
    )
    .await;
}

/// Runs `sql` on the instance's database, as if time or another process had changed it.
async fn alter(a: &Instance, sql: String) {
    use diesel::RunQueryDsl;
    a.state
        .db
        .run(move |conn| Ok(diesel::sql_query(sql).execute(conn)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// What has waited a week for a server is given up, unsent; what came after is delivered.
/// Once every server it goes to has passed it, an activity leaves the outbox.
async fn a_week_old_delivery_is_given_up_and_the_outbox_empties(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let peer = StubPeer::start().await;
    let gina = a.account_id(&peer.actor("gina"), &ana).await;
    peer.answer_with(503, None);
    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    assert_eq!(a.deliver().await, 1, "the Follow fails");
    let eight_days_ago = (chrono::Utc::now() - chrono::TimeDelta::days(8)).naive_utc();
    alter(
        &a,
        format!("UPDATE outbox SET created_at = '{eight_days_ago}'"),
    )
    .await;
    direct_note(&a, &ana, &peer.domain, "still here").await;

    peer.answer_with(202, None);
    let before = peer.received().len();
    a.api_post(
        &format!("/api/hearth/v1/admin/federation/{}/retry", peer.domain),
        &root,
        json!({}),
    )
    .await;
    assert_eq!(a.deliver().await, 1, "only the note is sent");
    let sent: Vec<String> = peer.received()[before..]
        .iter()
        .map(|d| d.body["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sent, ["Create"], "the week-old Follow was given up");
    let (_, queue) = a
        .api_get("/api/hearth/v1/admin/federation", Some(&root))
        .await;
    assert_eq!(queue, json!([]));
    assert_eq!(a.deliver().await, 0);
    assert_eq!(
        a.rows().await.get("outbox"),
        Some(&0),
        "the outbox is empty"
    );
}
on_both_engines!(a_week_old_delivery_is_given_up_and_the_outbox_empties);

/// An activity stays in the outbox while one server it goes to is away, and is delivered once
/// to the server that is up; dropping the away server's queue clears it.
async fn the_outbox_keeps_an_activity_until_every_server_has_passed_it(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let (up, away) = (StubPeer::start().await, StubPeer::start().await);
    let gina = a.account_id(&up.actor("gina"), &ana).await;
    let hal = a.account_id(&away.actor("hal"), &ana).await;
    assert!(!gina.is_empty() && !hal.is_empty());
    away.answer_with(503, None);
    a.api_post(
        "/api/v1/statuses",
        &ana,
        json!({
            "status": format!("@gina@{} @hal@{} hello both", up.domain, away.domain),
            "visibility": "direct"
        }),
    )
    .await;
    assert_eq!(a.deliver().await, 2, "one attempt per server");
    assert_eq!(a.deliver().await, 0);
    assert_eq!(up.received_count(), 1, "delivered once where it could be");
    assert_eq!(away.received_count(), 1, "one failed attempt");
    assert_eq!(
        a.rows().await.get("outbox"),
        Some(&1),
        "kept for hal's server"
    );

    let (_, dropped) = a
        .api_delete(
            &format!("/api/hearth/v1/admin/federation/{}", away.domain),
            &root,
        )
        .await;
    assert_eq!(dropped["dropped"], 1);
    assert_eq!(a.deliver().await, 0);
    assert_eq!(a.rows().await.get("outbox"), Some(&0));
    assert_eq!(up.received_count(), 1, "and never sent again");
}
on_both_engines!(the_outbox_keeps_an_activity_until_every_server_has_passed_it);

/// A server's queue is read in id order behind a cursor. An activity whose new id would land
/// behind the cursor (left there by a run whose clock was ahead) takes an id past it and is
/// still delivered.
async fn an_activity_queued_behind_a_cursor_that_ran_ahead_is_still_delivered(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let peer = StubPeer::start().await;
    let gina = a.account_id(&peer.actor("gina"), &ana).await;
    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    assert_eq!(a.deliver().await, 1);
    let an_hour_ahead = hearth::db::id::new_id() + (3_600_000 << 16);
    alter(
        &a,
        format!("UPDATE servers SET delivered_up_to = {an_hour_ahead}"),
    )
    .await;
    direct_note(&a, &ana, &peer.domain, "hello").await;
    assert_eq!(a.deliver().await, 1);
    let last = peer.received().last().map(|d| d.body["type"].clone());
    assert_eq!(last, Some(json!("Create")));
}
on_both_engines!(an_activity_queued_behind_a_cursor_that_ran_ahead_is_still_delivered);

/// What is queued for a server while a pass is sending to it is not left behind when the
/// pass ends.
async fn an_activity_queued_during_a_pass_is_delivered_after_it(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let peer = StubPeer::start().await;
    let gina = a.account_id(&peer.actor("gina"), &ana).await;
    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    let note = |text: &'static str| {
        a.api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": format!("@gina@{} {text}", peer.domain), "visibility": "direct" }),
        )
    };
    // The peer holds the Follow once it arrives: the pass has read its queue and is sending.
    // The note is written then, and the Follow answered only after.
    peer.hold();
    let follow_arrived = peer.arrived_count() + 1;
    let (sent, _) = tokio::join!(a.deliver(), async {
        peer.arrivals(follow_arrived).await;
        let written = note("while sending").await;
        peer.release();
        written
    });
    assert_eq!(sent, 1, "the pass had read the Follow only");
    assert_eq!(a.deliver().await, 1, "the note follows");
    let last = peer
        .received()
        .last()
        .map(|d| d.body["object"]["content"].clone());
    assert!(
        last.is_some_and(|c| c.to_string().contains("while sending")),
        "{:?}",
        peer.received().last().map(|d| d.body.clone())
    );
    assert_eq!(a.deliver().await, 0);
}
on_both_engines!(an_activity_queued_during_a_pass_is_delivered_after_it);

/// A queue an operator drops while a pass is sending stays dropped: the pass's own progress
/// never moves the server's cursor back.
async fn a_dropped_queue_stays_dropped_whatever_a_pass_was_doing(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("ana", UserRole::Member).await;
    let (root, ana) = (a.token("root").await, a.token("ana").await);
    let peer = StubPeer::start().await;
    let gina = a.account_id(&peer.actor("gina"), &ana).await;
    a.api_post(&format!("/api/v1/accounts/{gina}/follow"), &ana, json!({}))
        .await;
    for n in 1..=2 {
        direct_note(&a, &ana, &peer.domain, &format!("note {n}")).await;
    }
    let host = peer.domain.clone();
    let first = a
        .state
        .db
        .run({
            let host = host.clone();
            move |conn| Ok(hearth::db::deliveries::queued_for(conn, &host, 0, 1)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = first.first().map(|q| q.id).unwrap_or_default();
    let (_, dropped) = a
        .api_delete(&format!("/api/hearth/v1/admin/federation/{host}"), &root)
        .await;
    assert_eq!(dropped["dropped"], 3);
    // A pass that had read the queue before the drop delivered the first activity, then
    // failed on the next one: it records its progress.
    a.state
        .db
        .write(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            let failure = hearth::db::deliveries::Failure {
                next_attempt_at: now,
                failing_since: now,
                unreachable_since: None,
                error: "503".into(),
            };
            Ok(hearth::db::deliveries::fail(conn, &host, first, &failure)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    direct_note(&a, &ana, &peer.domain, "after the drop").await;
    assert_eq!(a.deliver().await, 1, "only what came after the drop");
    let sent = peer.received();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].body["object"]["content"]
            .to_string()
            .contains("after the drop")
    );
}
on_both_engines!(a_dropped_queue_stays_dropped_whatever_a_pass_was_doing);

/// A server gets several activities at once, but never an edit or a deletion before what it
/// changes has been answered: with a receiver that takes 300 ms to answer, two new posts
/// arrive together, the edit of the first only once both were answered, the next post after
/// the edit, and the deletion of the second last.
async fn an_edit_or_a_deletion_never_overtakes_what_it_changes(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let peer = StubPeer::start().await;
    a.account_id(&peer.actor("gina"), &ana).await;
    let domain = peer.domain.clone();
    let note = |text: &'static str| {
        let (a, ana, domain) = (&a, &ana, &domain);
        async move {
            let (status, post) = a
                .api_post(
                    "/api/v1/statuses",
                    ana,
                    json!({ "status": format!("@gina@{domain} {text}"), "visibility": "direct" }),
                )
                .await;
            assert_eq!(status, 200, "{post}");
            post["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let first = note("first").await;
    let second = note("second").await;
    let (status, edited) = a
        .api_put(
            &format!("/api/v1/statuses/{first}"),
            &ana,
            json!({ "status": format!("@gina@{domain} first, edited"), "visibility": "direct" }),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    note("third").await;
    let (status, deleted) = a
        .api_delete(&format!("/api/v1/statuses/{second}"), &ana)
        .await;
    assert_eq!(status, 200, "{deleted}");

    let answer = std::time::Duration::from_millis(300);
    peer.answer_after(answer);
    assert_eq!(a.deliver().await, 5);
    let received = peer.received();
    let arrival = |kind: &str, text: &str| {
        received
            .iter()
            .find(|d| {
                d.body["type"] == kind
                    && (d.body["object"]["content"]
                        .as_str()
                        .is_some_and(|c| c.contains(text))
                        || (kind == "Delete"))
            })
            .map(|d| d.at)
            .unwrap_or_else(|| panic!("no {kind} of {text}"))
    };
    let (first, second) = (arrival("Create", "first"), arrival("Create", "second"));
    let edit = arrival("Update", "first, edited");
    let third = arrival("Create", "third");
    let deletion = arrival("Delete", "");
    let apart = |earlier: std::time::Instant, later: std::time::Instant| {
        later.saturating_duration_since(earlier)
    };
    assert!(
        apart(first, second) < answer && apart(second, first) < answer,
        "the two posts are sent together"
    );
    assert!(
        apart(first.max(second), edit) >= answer,
        "the edit waits for both posts to be answered"
    );
    assert!(
        apart(edit, third) >= answer,
        "the next post waits for the edit"
    );
    assert!(apart(third, deletion) >= answer, "the deletion goes last");
}
on_both_engines!(an_edit_or_a_deletion_never_overtakes_what_it_changes);

/// Writes committed together queue their deliveries together, just before the commit: what
/// they queue is numbered in the order the writes ran, and a write that fails queues nothing.
async fn writes_committed_together_queue_in_the_order_they_ran(engine: Engine) {
    use hearth::db::deliveries::{Enqueued, Outgoing, enqueue};
    use std::sync::{Arc, Mutex};
    let a = Instance::start(&engine).await;
    let ana = a.create_user("ana", UserRole::Member).await;
    let peer = StubPeer::start().await;
    let inbox = format!("{}/inbox", peer.actor("gina"));
    let ran = Arc::new(Mutex::new(Vec::new()));
    let writes = (0..60).map(|i| {
        let (db, ran, inbox) = (a.state.db.clone(), ran.clone(), inbox.clone());
        async move {
            db.write(move |conn| {
                let activity = format!("{inbox}/activity/{i}");
                let body = json!({ "id": activity, "type": "Note" }).to_string();
                let activities = vec![Outgoing {
                    ap_id: activity,
                    body,
                    form: None,
                }];
                let inboxes = vec![inbox];
                enqueue(
                    conn,
                    Enqueued {
                        signer_id: ana.id,
                        activities,
                        inboxes,
                    },
                )?;
                if i % 7 == 0 {
                    return Err(hearth::Error::Forbidden("refused".into()));
                }
                ran.lock().unwrap_or_else(|e| e.into_inner()).push(i);
                Ok(())
            })
            .await
        }
    });
    let results = futures::future::join_all(writes).await;
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 9);

    let queued: Vec<String> = a
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use hearth::db::schema::outbox;
            Ok(outbox::table
                .order(outbox::id)
                .select(outbox::ap_id)
                .load::<String>(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let in_order: Vec<String> = ran
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|i| format!("{inbox}/activity/{i}"))
        .collect();
    assert_eq!(
        queued, in_order,
        "queued in the order the writes ran, refused ones left out"
    );
    assert_eq!(a.deliver().await, 51);
    assert_eq!(peer.received_count(), 51);
}
on_both_engines!(writes_committed_together_queue_in_the_order_they_ran);
