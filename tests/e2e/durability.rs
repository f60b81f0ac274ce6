//! Durability of the outbox: a server process killed with `kill -9` while some peers are down
//! loses no activity.

use hearth_tests::{Engine, Instance, StubPeer, UserRole, follow, on_both_engines, settle};
use serde_json::{Value, json};
use std::{collections::BTreeSet, time::Duration};

/// The real server program, started as a child process.
const SERVER: &str = env!("CARGO_BIN_EXE_hearth-under-test");

/// The ids of the group posts a peer has acknowledged (answered 2xx), in either form a group
/// shares them: `Announce{Create{Note}}` or a boost of the post's id.
fn acknowledged(peer: &StubPeer) -> Vec<String> {
    peer.received()
        .into_iter()
        .filter(|d| (200..300).contains(&d.answered) && d.body["type"] == "Announce")
        .filter_map(|d| match &d.body["object"] {
            Value::String(id) => Some(id.clone()),
            object if object["type"] == "Create" => object["object"]["id"].as_str().map(Into::into),
            _ => None,
        })
        .collect()
}

/// Waits for a server process to reach `condition`, for at most a minute.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A clinic with a group `support` that ana has joined (her token, the group's id and
/// ActivityPub id), and member servers of the given software that have joined it too.
struct Scene {
    a: Instance,
    ana: String,
    group_id: String,
    peers: Vec<StubPeer>,
}

async fn scene(engine: &Engine, members: &[&str]) -> Scene {
    let a = Instance::start(engine).await;
    let group = a.create_group("support", "Support").await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let group_id = group.id.to_string();
    a.api_post(
        &format!("/api/v1/accounts/{group_id}/follow"),
        &ana,
        json!({}),
    )
    .await;
    let mut peers = Vec::new();
    for software in members {
        let peer = StubPeer::start_as(Some(software)).await;
        let join = follow(&peer.actor("member"), &group.ap_id);
        let status = peer
            .send("member", &a, "/groups/support/inbox", &join)
            .await;
        assert_eq!(status, 202);
        peers.push(peer);
    }
    settle(&[&a]).await;
    Scene {
        a,
        ana,
        group_id,
        peers,
    }
}

/// Posts `text` into the group as ana through `base` (an address of a web process, or the
/// instance's own); the post's id.
async fn post_into_group(base: &str, ana: &str, group_id: &str, text: &str) -> String {
    let base = base.trim_end_matches('/');
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/statuses"))
        .bearer_auth(ana)
        .json(&json!({ "status": text, "group_id": group_id }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status(), 200);
    let post: Value = answer.json().await.unwrap_or_else(|e| panic!("{e}"));
    post["uri"].as_str().unwrap_or_default().to_owned()
}

/// Ten member servers (half Lemmy, half GoToSocial); three answer 503 for a while. Thirty
/// group posts are shared; the server process is killed with `kill -9` in the middle of
/// delivering them and started again, and the three come back. Every server ends up with
/// every post. (Deliveries on their way at the kill, or acknowledged while their record was
/// being written, may arrive twice: receivers drop repeats by activity id.)
async fn a_crash_and_an_outage_lose_nothing(engine: Engine) {
    let members = ["lemmy", "gotosocial"].repeat(5);
    let Scene {
        a,
        ana,
        group_id,
        peers,
    } = scene(&engine, &members).await;
    a.create_user("root", UserRole::Admin).await;
    let root = a.token("root").await;
    for peer in &peers {
        peer.answer_after(Duration::from_millis(20));
    }
    let (down, up) = peers.split_at(3);
    for peer in down {
        peer.answer_with(503, None);
    }
    let mut posts = BTreeSet::new();
    for n in 0..30 {
        let text = format!("post {n}");
        posts.insert(post_into_group(a.url("/").as_str(), &ana, &group_id, &text).await);
    }

    let server = a.server_process(SERVER);
    let delivered = || up.iter().map(|p| acknowledged(p).len()).sum::<usize>();
    wait_until("a third delivered", || delivered() >= up.len() * 10).await;
    server.kill().await;
    let before_the_crash = delivered();
    assert!(
        before_the_crash < up.len() * posts.len(),
        "killed in the middle: {before_the_crash} delivered"
    );
    assert!(down.iter().all(|p| acknowledged(p).is_empty()));

    // The three come back; an admin sends their backlog now rather than after the backoff.
    for peer in down {
        peer.answer_with(202, None);
        let (status, _) = a
            .api_post(
                &format!("/api/hearth/v1/admin/federation/{}/retry", peer.domain),
                &root,
                json!({}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let server = a.server_process(SERVER);
    let complete = || {
        peers
            .iter()
            .all(|p| acknowledged(p).into_iter().collect::<BTreeSet<_>>() == posts)
    };
    wait_until("every server has every post", complete).await;
    // The last acknowledgements are recorded too: nothing waits, nothing fails.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, queue) = a
            .api_get("/api/hearth/v1/admin/federation", Some(&root))
            .await;
        if queue == json!([]) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{queue}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().await;

    let total: usize = peers.iter().map(|p| acknowledged(p).len()).sum();
    let repeated = total - peers.len() * posts.len();
    eprintln!(
        "{before_the_crash} of {} deliveries before kill -9; 0 lost; {repeated} delivered twice",
        peers.len() * posts.len()
    );
    // At most what was on its way to a server, and what it answered during one record.
    let window = hearth::service::delivery::IN_FLIGHT_PER_SERVER;
    assert!(
        repeated <= up.len() * 2 * window,
        "at most two windows' worth of repeats per server: {repeated}"
    );
}
on_both_engines!(a_crash_and_an_outage_lose_nothing);

/// Three member servers; group posts are being shared when the server process gets SIGTERM,
/// each server holding the deliveries it was sent (as many as go to one server at once)
/// without answering. The process starts nothing new, waits for the answers, records them,
/// lets go of the servers' queues and exits cleanly within its grace period; another process
/// then sends the rest at once (no lease to wait out). Every server ends up with every post
/// exactly once.
async fn sigterm_mid_delivery_loses_nothing_and_sends_nothing_twice(engine: Engine) {
    let Scene {
        a,
        ana,
        group_id,
        peers,
    } = scene(&engine, &["lemmy"; 3]).await;
    let accepted: Vec<usize> = peers.iter().map(StubPeer::arrived_count).collect();
    for peer in &peers {
        peer.hold();
    }
    let window = hearth::service::delivery::IN_FLIGHT_PER_SERVER;
    let mut posts = BTreeSet::new();
    for n in 0..window + 4 {
        let text = format!("post {n}");
        posts.insert(post_into_group(a.url("/").as_str(), &ana, &group_id, &text).await);
    }

    let log = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let server = a.server_process_logging_to(SERVER, log.path());
    for (peer, before) in peers.iter().zip(&accepted) {
        peer.arrivals(before + window).await;
    }
    server.terminate();
    server.logged("shutting down").await;
    for peer in &peers {
        peer.release();
    }
    let status = server.exited_within(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
    for (peer, before) in peers.iter().zip(&accepted) {
        assert_eq!(
            peer.arrived_count(),
            before + window,
            "nothing new was sent after SIGTERM"
        );
        assert_eq!(
            acknowledged(peer).len(),
            window,
            "the deliveries in flight were answered"
        );
    }

    settle(&[&a]).await;
    for peer in &peers {
        let got = acknowledged(peer);
        assert_eq!(got.len(), posts.len(), "each post once: {got:?}");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), posts);
    }
}
on_both_engines!(sigterm_mid_delivery_loses_nothing_and_sends_nothing_twice);

/// Roles on one PostgreSQL database: two web processes answer the clinic's apps, one worker
/// process delivers. Posts written through both web processes are delivered by the worker
/// alone (nothing reaches the member server before it starts), each exactly once, and the
/// worker is woken by what the web processes queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_and_worker_processes_share_the_work_on_postgresql() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let Scene {
        a,
        ana,
        group_id,
        peers,
    } = scene(&engine, &["lemmy"]).await;
    let peer = &peers[0];
    let before = peer.arrived_count();

    let logs: Vec<_> = (0..3)
        .map(|_| tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let webs = [
        a.server_process_with(SERVER, logs[0].path(), &[("HEARTH_ROLE", "web")]),
        a.server_process_with(SERVER, logs[1].path(), &[("HEARTH_ROLE", "web")]),
    ];
    let mut addresses = Vec::new();
    for web in &webs {
        addresses.push(web.address().await);
    }
    let mut posts = BTreeSet::new();
    for n in 0..6 {
        let web = format!("http://{}", addresses[n % 2]);
        posts.insert(post_into_group(&web, &ana, &group_id, &format!("post {n}")).await);
    }
    // Web processes do not deliver: what they queue waits for a worker.
    let early = tokio::time::timeout(Duration::from_millis(500), peer.arrivals(before + 1)).await;
    assert!(early.is_err(), "a web process delivered");

    let worker = a.server_process_with(SERVER, logs[2].path(), &[("HEARTH_ROLE", "worker")]);
    worker.logged("worker for").await;
    assert!(!worker.log().contains("listening on"), "{}", worker.log());
    wait_until("the worker sent the first six", || {
        acknowledged(peer).len() >= 6
    })
    .await;
    for n in 6..12 {
        let web = format!("http://{}", addresses[n % 2]);
        posts.insert(post_into_group(&web, &ana, &group_id, &format!("post {n}")).await);
    }
    wait_until("the worker sent all twelve", || {
        acknowledged(peer).len() >= 12
    })
    .await;
    for web in webs {
        web.terminate();
        assert!(web.exited_within(Duration::from_secs(15)).await.success());
    }
    worker.terminate();
    assert!(
        worker
            .exited_within(Duration::from_secs(15))
            .await
            .success()
    );
    let got = acknowledged(peer);
    assert_eq!(got.len(), posts.len(), "each post once: {got:?}");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), posts);
}
