//! Live updates (Mastodon's streaming API): apps are told of new posts, notifications, edits
//! and deletions as they happen, over server-sent events and WebSockets, and only of what
//! their person may see.

use futures::{SinkExt, StreamExt};
use hearth_tests::{
    Engine, Instance, JoinPolicy, UserRole, Visibility, http, on_both_engines, settle,
};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite;

/// Longest wait for an event that should come.
const PATIENCE: Duration = Duration::from_secs(15);

/// An open `text/event-stream`, read event by event.
pub(crate) struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    /// Opens `GET path` with `token`; panics unless it answers 200 with an event stream.
    pub(crate) async fn open(instance: &Instance, path: &str, token: &str) -> Self {
        let response = http()
            .get(instance.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "{path}");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event: its name and data.
    async fn next(&mut self) -> (String, String) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .filter_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_owned())
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let (event, data) = (field("event:"), field("data:"));
                if event.is_empty() {
                    continue; // a keep-alive comment
                }
                return (event, data);
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no event within {PATIENCE:?}; read {:?}", self.buffer))
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("the stream ended"));
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Every event up to and including the first `event` whose data contains `needle`.
    pub(crate) async fn until(&mut self, event: &str, needle: &str) -> Vec<(String, String)> {
        let mut seen = Vec::new();
        loop {
            let next = self.next().await;
            let found = next.0 == event && next.1.contains(needle);
            seen.push(next);
            if found {
                return seen;
            }
        }
    }
}

/// The status or notification of an event's data.
fn payload(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"))
}

async fn post(instance: &Instance, token: &str, body: Value) -> Value {
    let (status, posted) = instance.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{posted}");
    posted
}

/// Ana, on A, follows Ben on B and keeps her app open on her home stream: Ben's new post,
/// his mention of her, his edit and his deletion reach it live, as Mastodon's events, after
/// federation. Cara, on A, follows no one: her home stream shows her own post and nothing
/// of Ben's.
async fn a_home_stream_shows_followed_posts_and_notifications_live(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("ana", UserRole::Member).await;
    a.create_user("cara", UserRole::Member).await;
    b.create_user("ben", UserRole::Member).await;
    let (ana, cara, ben) = (
        a.token("ana").await,
        a.token("cara").await,
        b.token("ben").await,
    );
    let ben_on_a = a.account_id(&format!("ben@{}", b.domain), &ana).await;
    let (status, _) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_on_a}/follow"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;

    let mut ana_home = EventStream::open(&a, "/api/v1/streaming/user", &ana).await;
    let mut cara_home = EventStream::open(&a, "/api/v1/streaming/user", &cara).await;

    let walk = post(&b, &ben, json!({ "status": "Walk at six by the river" })).await;
    settle(&[&a, &b]).await;
    let (event, data) = ana_home
        .until("update", "Walk at six")
        .await
        .pop()
        .unwrap_or_default();
    assert_eq!(event, "update");
    let status = payload(&data);
    assert_eq!(status["account"]["acct"], format!("ben@{}", b.domain));
    let walk_on_a = status["id"].as_str().unwrap_or_default().to_owned();

    post(
        &b,
        &ben,
        json!({ "status": format!("@ana@{} will you come?", a.domain) }),
    )
    .await;
    settle(&[&a, &b]).await;
    let seen = ana_home.until("notification", "will you come").await;
    let notification = payload(&seen[seen.len() - 1].1);
    assert_eq!(notification["type"], "mention");
    assert_eq!(notification["account"]["acct"], format!("ben@{}", b.domain));

    let walk_id = walk["id"].as_str().unwrap_or_default();
    let (status, _) = b
        .api_put(
            &format!("/api/v1/statuses/{walk_id}"),
            &ben,
            json!({ "status": "Walk at seven by the river" }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let seen = ana_home.until("status.update", "Walk at seven").await;
    assert_eq!(payload(&seen[seen.len() - 1].1)["id"], walk_on_a.as_str());

    let (status, _) = b
        .api_delete(&format!("/api/v1/statuses/{walk_id}"), &ben)
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let seen = ana_home.until("delete", &walk_on_a).await;
    assert_eq!(seen[seen.len() - 1].1, walk_on_a);

    // Cara's stream carries her own post, and nothing of Ben's before it.
    post(&a, &cara, json!({ "status": "First day here" })).await;
    let seen = cara_home.until("update", "First day here").await;
    assert!(
        seen.iter()
            .all(|(_, data)| !data.contains("river") && !data.contains("come?")),
        "{seen:?}"
    );
}
on_both_engines!(a_home_stream_shows_followed_posts_and_notifications_live);

/// Ana's app opens a WebSocket on her home stream and subscribes to `public:local`,
/// `user:notification` and `#LongCovid` by message. It shows a mention of her and the
/// clinic's public posts (the tagged one on the tag's stream too), but not the post Dan, whom
/// she follows, writes in a members-only group she is not in (tagged or not), nor
/// a followers-only post of someone she does not follow; a stream it does not know is refused
/// with an error message. Without a valid token no socket opens.
async fn a_websocket_carries_the_streams_it_is_subscribed_to(engine: Engine) {
    let a = Instance::start(&engine).await;
    let moderator = a.create_user("mo", UserRole::Member).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("dan", UserRole::Member).await;
    a.create_group_with(
        "oncology",
        "Oncology",
        Visibility::MembersOnly,
        JoinPolicy::Open,
        Some(&moderator),
    )
    .await;
    let (mo, ana, dan) = (
        a.token("mo").await,
        a.token("ana").await,
        a.token("dan").await,
    );
    let follow = async |who: &str, token: &str| {
        let id = a.account_id(who, token).await;
        let (status, body) = a
            .api_post(&format!("/api/v1/accounts/{id}/follow"), token, json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    };
    follow("dan", &ana).await;
    follow("oncology", &dan).await;
    let dan_id = a.account_id("dan", &mo).await;
    let (status, body) = a
        .api_post(
            &format!("/api/v1/follow_requests/{dan_id}/authorize"),
            &mo,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let socket_url = |query: &str| {
        let mut url = a.url(&format!("/api/v1/streaming?{query}"));
        let _ = url.set_scheme("ws");
        url.to_string()
    };
    match tokio_tungstenite::connect_async(socket_url("stream=public:local&access_token=wrong"))
        .await
    {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a wrong token opened a socket: {other:?}"),
    }

    let (mut socket, _) =
        tokio_tungstenite::connect_async(socket_url(&format!("stream=user&access_token={ana}")))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    for command in [
        json!({ "type": "subscribe", "stream": "public:local" }),
        json!({ "type": "subscribe", "stream": "user:notification" }),
        json!({ "type": "subscribe", "stream": "hashtag", "tag": "LongCovid" }),
        json!({ "type": "subscribe", "stream": "nowhere" }),
    ] {
        socket
            .send(tungstenite::Message::text(command.to_string()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Commands are read in order: once the last is refused, the others hold.
    let mut seen = Vec::new();
    let mut read_until = async |last: &dyn Fn(&Value) -> bool, seen: &mut Vec<Value>| loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no message within {PATIENCE:?}; saw {seen:?}"))
            .unwrap_or_else(|| panic!("socket closed"))
            .unwrap_or_else(|e| panic!("{e}"));
        let tungstenite::Message::Text(text) = message else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let done = last(&message);
        seen.push(message);
        if done {
            return;
        }
    };
    let refused = |m: &Value| m["event"] == "error";
    read_until(&refused, &mut seen).await;

    post(
        &a,
        &dan,
        json!({ "status": "@oncology Members only: the scan results #LongCovid" }),
    )
    .await;
    post(
        &a,
        &mo,
        json!({ "status": "Followers only: my weight", "visibility": "private" }),
    )
    .await;
    post(&a, &dan, json!({ "status": "@ana coffee at ten?" })).await;
    post(
        &a,
        &mo,
        json!({ "status": "Clinic open on Saturday #longcovid" }),
    )
    .await;
    // The tag's stream was subscribed to last: its message of the last post comes last.
    let on_the_tag = |m: &Value| m["stream"] == json!(["hashtag", "longcovid"]);
    read_until(&on_the_tag, &mut seen).await;
    let summary: Vec<(String, String)> = seen
        .iter()
        .map(|m| {
            let stream = m["stream"].as_array().and_then(|s| s.first()).cloned();
            (
                stream
                    .and_then(|s| s.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                m["event"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        summary.contains(&(String::new(), "error".into())),
        "{seen:?}"
    );
    assert!(
        summary.contains(&("user:notification".into(), "notification".into())),
        "{seen:?}"
    );
    assert!(
        summary.contains(&("user".into(), "notification".into())),
        "{seen:?}"
    );
    assert!(
        summary.contains(&("user".into(), "update".into())),
        "{seen:?}"
    );
    assert!(
        summary.contains(&("public:local".into(), "update".into())),
        "{seen:?}"
    );
    let on_tag: Vec<&Value> = seen
        .iter()
        .filter(|m| m["stream"] == json!(["hashtag", "longcovid"]))
        .collect();
    assert_eq!(on_tag.len(), 1, "{seen:?}");
    assert!(
        on_tag[0]["payload"]
            .as_str()
            .is_some_and(|p| p.contains("Saturday"))
    );
    let text = serde_json::to_string(&seen).unwrap_or_default();
    assert!(
        !text.contains("scan results"),
        "a members-only post reached a non-member: {text}"
    );
    assert!(
        !text.contains("my weight"),
        "a followers-only post reached a non-follower: {text}"
    );
    assert!(text.contains("coffee at ten"), "{text}");
}
on_both_engines!(a_websocket_carries_the_streams_it_is_subscribed_to);

/// Two server processes of one clinic on one PostgreSQL database, as behind a load balancer:
/// an app streaming from the first is told of a post written through the second
/// (`LISTEN`/`NOTIFY`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_hears_of_posts_written_through_another_process() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let a = Instance::start(&engine).await;
    let ana_row = a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let mut home = EventStream::open(&a, "/api/v1/streaming/user", &ana).await;

    let second = a.second_process().await;
    hearth::service::posts::create_status(
        &second.ctx,
        &second.federation.to_request_data(),
        ana_row,
        hearth::service::posts::NewStatus {
            text: "Written through the other process".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let (event, data) = home
        .until("update", "other process")
        .await
        .pop()
        .unwrap_or_default();
    assert_eq!(event, "update");
    assert_eq!(payload(&data)["account"]["username"], "ana");
}

/// `GET /api/v1/streaming/health` answers as Mastodon's does; an unknown stream is a 400
/// with a JSON error, and no stream opens without a token.
async fn streaming_answers_health_and_refuses_what_it_cannot_serve(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let health = http()
        .get(a.url("/api/v1/streaming/health"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap_or_default(), "OK");
    let (status, body) = a.api_get("/api/v1/streaming/list", Some(&ana)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("Unknown stream")),
        "{body}"
    );
    let (status, body) = a.api_get("/api/v1/streaming/user", None).await;
    assert_eq!(status, 401, "{body}");
    let (_, instance) = a.api_get("/api/v2/instance", None).await;
    assert_eq!(
        instance["configuration"]["urls"]["streaming"],
        format!("ws://{}", a.domain)
    );
}
on_both_engines!(streaming_answers_health_and_refuses_what_it_cannot_serve);
