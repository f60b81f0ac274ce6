//! What an operator watches: `/metrics` (with a token, on a listener of its own, or off),
//! request ids on every response, and JSON logs that name each request and hold no secrets.
//!
//! The metrics recorder is one per process, and these tests share the test process with
//! others: counters are compared before and after what a test does, never to exact values.
//! What is read when scraped (queues, pool, memory) is the scraped instance's own.

use hearth_tests::{Engine, Instance, UserRole, http, on_both_engines, settle};
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Duration};

/// The real server program, started as a child process.
const SERVER: &str = env!("CARGO_BIN_EXE_hearth-under-test");

/// The metrics token the instances here are given.
const TOKEN: &str = "metrics-token-for-the-tests-0123";

/// A GET of `url` with `Authorization: <authorization>` if given: status, headers, body.
async fn get(url: &str, authorization: Option<&str>) -> (u16, http::HeaderMap, String) {
    let mut request = http().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    (status, headers, body)
}

/// `a`'s metrics, read with the token.
async fn scrape(a: &Instance) -> String {
    let (status, headers, body) =
        get(a.url("/metrics").as_str(), Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200, "{body}");
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    body
}

/// The samples of an exposition: name, labels, value.
fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("=\"")?;
                    Some((key.to_owned(), value.trim_end_matches('"').to_owned()))
                })
                .collect();
            Some((name.to_owned(), labels, value))
        })
        .collect()
}

/// The sum of the samples of `name` that have all of `labels`; `None` when there are none.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples(text)
        .into_iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).is_some_and(|have| have == v))
        })
        .map(|(_, _, value)| value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// Whether the sample grew between two scrapes (absent before counts as 0).
fn grew(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> bool {
    let then = sample(before, name, labels).unwrap_or(0.0);
    sample(after, name, labels).is_some_and(|now| now > then)
}

/// Without the token `/metrics` is 401 with a JSON error; with it, the exposition shows a
/// federated follow and post between two instances: the inbox route's requests and their
/// latency, the Follow received, the deliveries sent, the queue before and after delivering,
/// the pool and the process's memory. Labels are route patterns, never paths.
async fn metrics_with_a_token_show_federation(engine: Engine) {
    let a = Instance::start_with(&engine, |s| {
        s.metrics_token = Some(TOKEN.to_owned().into());
    })
    .await;
    let b = Instance::start(&engine).await;
    let url = a.url("/metrics");
    for authorization in [
        None,
        Some("Bearer wrong-token-wrong-token-wrong".to_owned()),
        Some(format!("Bearer {TOKEN}x")),
        Some(format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])),
        Some(format!("Basic {TOKEN}")),
    ] {
        let (status, headers, body) = get(url.as_str(), authorization.as_deref()).await;
        assert_eq!(status, 401, "{authorization:?}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap_or_default();
        assert!(error["error"].is_string(), "a JSON error: {body}");
        assert!(headers.contains_key("x-request-id"));
        assert!(!body.contains("hearth_"), "nothing leaks: {body}");
    }
    let before = scrape(&a).await;

    let group = a.create_group("support", "Support").await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("bea", UserRole::Member).await;
    let (ana, bea) = (a.token("ana").await, b.token("bea").await);
    let group_id = group.id.to_string();
    let (status, _) = a.follow_account(&ana, &group_id).await;
    assert_eq!(status, 200);
    let remote_group = b.account_id(&format!("support@{}", a.domain), &bea).await;
    let (status, _) = b.follow_account(&bea, &remote_group).await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let (status, posted) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Hello from the clinic", "group_id": group_id }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");

    let queued = scrape(&a).await;
    let depth = |text: &str, state: &str| {
        sample(text, "hearth_delivery_queue_depth", &[("state", state)])
            .unwrap_or_else(|| panic!("no queue depth for {state}: {text}"))
    };
    assert!(
        depth(&queued, "due") >= 1.0,
        "the post waits for B: {queued}"
    );
    assert!(
        sample(
            &queued,
            "hearth_delivery_queue_oldest_age_seconds",
            &[("state", "due")]
        )
        .is_some_and(|age| age >= 0.0),
        "{queued}"
    );
    settle(&[&a, &b]).await;
    let after = scrape(&a).await;

    for state in ["due", "sending", "backoff", "unreachable"] {
        assert_eq!(depth(&after, state), 0.0, "all delivered: {after}");
    }
    let inbox = [
        ("route", "/groups/{name}/inbox"),
        ("method", "POST"),
        ("status", "202"),
    ];
    assert!(
        grew(&before, &after, "hearth_http_requests_total", &inbox),
        "B's Follow to the group's inbox is counted: {after}"
    );
    assert!(
        grew(
            &before,
            &after,
            "hearth_http_request_duration_seconds_count",
            &[("route", "/groups/{name}/inbox"), ("method", "POST")]
        ),
        "and timed: {after}"
    );
    assert!(
        sample(
            &after,
            "hearth_http_request_duration_seconds_bucket",
            &[("route", "/groups/{name}/inbox"), ("le", "+Inf")]
        )
        .is_some_and(|n| n >= 1.0),
        "in buckets: {after}"
    );
    assert!(
        grew(
            &before,
            &after,
            "hearth_inbox_activities_total",
            &[("type", "Follow"), ("outcome", "accepted")]
        ),
        "{after}"
    );
    assert!(
        grew(
            &before,
            &after,
            "hearth_deliveries_total",
            &[("outcome", "sent")]
        ),
        "{after}"
    );
    assert_eq!(
        sample(&after, "hearth_delivery_unreachable_servers", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&after, "hearth_db_pool_max_connections", &[]),
        Some(5.0)
    );
    for state in ["in_use", "idle"] {
        assert!(
            sample(&after, "hearth_db_pool_connections", &[("state", state)]).is_some(),
            "{after}"
        );
    }
    assert!(
        sample(&after, "process_resident_memory_bytes", &[]).is_some_and(|b| b > 1e6),
        "{after}"
    );
    assert!(
        !after.contains("/groups/support") && !after.contains(&group_id),
        "labels hold route patterns, not paths: {after}"
    );
    assert!(after.contains("# TYPE hearth_http_requests_total counter"));
}
on_both_engines!(metrics_with_a_token_show_federation);

/// With neither a token nor an address of its own, there is no `/metrics`.
#[tokio::test]
async fn without_settings_there_are_no_metrics() {
    let a = Instance::start(&Engine::Sqlite).await;
    for authorization in [None, Some(format!("Bearer {TOKEN}"))] {
        let (status, _, body) = get(a.url("/metrics").as_str(), authorization.as_deref()).await;
        assert_eq!(status, 404, "{body}");
        assert!(!body.contains("hearth_"), "{body}");
    }
}

/// Every response carries `x-request-id`: a fit one sent by the client is echoed, anything
/// else is replaced with a new UUID, and no two requests share one.
#[tokio::test]
async fn every_response_carries_a_request_id() {
    let a = Instance::start_with(&Engine::Sqlite, |s| {
        s.metrics_token = Some(TOKEN.to_owned().into());
    })
    .await;
    let id_of = |headers: &http::HeaderMap| {
        headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no x-request-id: {headers:?}"))
    };
    let mut seen = std::collections::BTreeSet::new();
    for path in [
        "/api/v1/instance",
        "/api/v1/instance/",
        "/no/such/page",
        "/metrics",
        "/api/v1/accounts/verify_credentials",
        "/.well-known/nodeinfo",
    ] {
        let (status, headers, _) = get(a.url(path).as_str(), None).await;
        let id = id_of(&headers);
        assert_eq!(id.len(), 36, "{path} ({status}): a UUID, {id}");
        assert!(seen.insert(id), "a new id for each request");
    }
    let inbox = http()
        .post(a.url("/inbox"))
        .header("content-type", "application/activity+json")
        .body("{}")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inbox.status().as_u16(), 401, "unsigned");
    assert_eq!(id_of(inbox.headers()).len(), 36);

    let echoed = |sent: &'static str| {
        let url = a.url("/api/v1/instance");
        async move {
            let response = http()
                .get(url)
                .header("x-request-id", sent)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            id_of(response.headers())
        }
    };
    assert_eq!(echoed("proxy-abc.123:4").await, "proxy-abc.123:4");
    let long = Box::leak("x".repeat(65).into_boxed_str());
    for unfit in ["has spaces in it", "ana@clinic.example", long] {
        let id = echoed(unfit).await;
        assert!(id != unfit && id.len() == 36, "{unfit:?} replaced by {id}");
    }
}

/// Waits until `condition` holds, for at most 30 s.
async fn wait_until(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With `HEARTH_METRICS_BIND`, a server process serves `/metrics` on that address without a
/// token (and nothing else there), and not on its main listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_address_serves_metrics_alone() {
    let a = Instance::start(&Engine::Sqlite).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("hearth.log");
    let process = a.server_process_with(SERVER, &log, &[("HEARTH_METRICS_BIND", "127.0.0.1:0")]);
    let main = process.address().await;
    process.logged("Metrics on http://").await;
    let text = process.log();
    let metrics = text
        .split("Metrics on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no metrics address in {text}"))
        .to_owned();
    assert_ne!(metrics, main.to_string());

    let (status, _, body) = get(&format!("http://{metrics}/metrics"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        sample(&body, "hearth_db_pool_max_connections", &[]) == Some(5.0)
            && sample(&body, "hearth_delivery_queue_depth", &[("state", "due")]).is_some(),
        "{body}"
    );
    let (status, _, _) = get(&format!("http://{metrics}/api/v1/instance"), None).await;
    assert_eq!(status, 404, "only /metrics there");
    let (status, _, _) = get(&format!("http://{main}/api/v1/instance"), None).await;
    assert_eq!(status, 200);
    let (_, _, body) = get(&format!("http://{metrics}/metrics"), None).await;
    assert!(
        sample(
            &body,
            "hearth_http_requests_total",
            &[("route", "/api/v1/instance"), ("status", "200")],
        )
        .is_some(),
        "the main listener's requests are counted: {body}"
    );
    for authorization in [None, Some(format!("Bearer {TOKEN}"))] {
        let (status, _, body) =
            get(&format!("http://{main}/metrics"), authorization.as_deref()).await;
        assert_eq!(status, 404, "not on the main listener: {body}");
    }
}

/// A server process logging JSON at debug level for requests: each request's lines carry its
/// request id (the one the client sent, or the one answered), and no line holds a posted
/// text, a bearer token, the metrics token or a client's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_each_request_and_hold_no_secrets() {
    let a = Instance::start(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = dir.path().join("hearth.log");
    let process = a.server_process_with(
        SERVER,
        &log,
        &[
            ("HEARTH_LOG_FORMAT", "json"),
            ("HEARTH_LOG", "info,tower_http=debug"),
            ("HEARTH_METRICS_TOKEN", TOKEN),
        ],
    );
    let base = format!("http://{}", process.address().await);
    let secret_text = "My private diagnosis 7f3a9c";

    let posted = http()
        .post(format!("{base}/api/v1/statuses"))
        .bearer_auth(&ana)
        .header("x-request-id", "client-chosen-id-1")
        .json(&json!({ "status": secret_text }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(posted.status().as_u16(), 200);
    assert_eq!(
        posted
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("client-chosen-id-1")
    );
    let (status, headers, _) = get(&format!("{base}/api/v1/instance"), None).await;
    assert_eq!(status, 200);
    let made = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, _, _) = get(&format!("{base}/metrics"), Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, 200);
    // A search that cannot resolve (nothing listens on port 1) logs why, within its request.
    let searched = http()
        .get(format!(
            "{base}/api/v2/search?q=nobody%40localhost%3A1&resolve=true&type=accounts"
        ))
        .bearer_auth(&ana)
        .header("x-request-id", "client-search-2")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(searched.status().as_u16(), 200);
    let (status, _, _) = get(
        &format!("{base}/api/v1/streaming/health?access_token={ana}"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    let lines = |text: String| -> Vec<Value> {
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .collect()
    };
    let of_request = |lines: &[Value], id: &str| -> usize {
        lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id)
            .count()
    };
    wait_until("the requests' lines are written", async || {
        let lines = lines(process.log());
        of_request(&lines, "client-chosen-id-1") >= 2
            && of_request(&lines, &made) >= 2
            && of_request(&lines, "client-search-2") >= 3
    })
    .await;
    let text = process.log();
    let logged = lines(text.clone());
    let request_lines: Vec<&Value> = logged
        .iter()
        .filter(|l| {
            l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("tower_http"))
        })
        .collect();
    assert!(request_lines.len() >= 10, "{text}");
    for line in &request_lines {
        let id = line["span"]["request_id"].as_str().unwrap_or_default();
        assert!(id.len() >= 8, "a request's line without its id: {line}");
        assert!(line["span"]["route"].is_string(), "{line}");
    }
    assert!(
        logged
            .iter()
            .any(|l| l["span"]["request_id"] == "client-chosen-id-1"
                && l["span"]["route"] == "/api/v1/statuses"),
        "{text}"
    );
    assert!(
        logged.iter().any(|l| l["level"] == "INFO"
            && l["target"]
                .as_str()
                .is_some_and(|t| t.starts_with("hearth"))
            && l["span"]["request_id"] == "client-search-2"),
        "the server's own lines carry the id: {text}"
    );
    for secret in [secret_text, ana.as_str(), TOKEN, "127.0.0.1"] {
        assert!(
            !logged.iter().any(|l| l.to_string().contains(secret)),
            "{secret:?} logged: {text}"
        );
    }
}
