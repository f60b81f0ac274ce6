//! Metrics for Prometheus: what `/metrics` serves (see the README's "Monitoring").
//!
//! Counters and latency histograms are counted as things happen, through the `metrics`
//! facade, into one Prometheus recorder per process (installed by the first instance that has
//! metrics on; without it the facade does nothing). Label values come from fixed sets only: a
//! route is its pattern (`/users/{name}`), never the path; an unknown method is `other`.
//! What the database knows (queues, unreachable servers) and what the process knows (its pool,
//! its memory) is read when scraped, for the instance scraped.

use crate::{Error, api::AppState, db::deliveries::QueueState};
use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use metrics::SharedString;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{fmt::Write as _, sync::OnceLock, time::Instant};

/// HTTP requests answered, by `route`, `method` and `status`.
pub const HTTP_REQUESTS: &str = "hearth_http_requests_total";
/// Seconds until a response's headers were ready, by `route` and `method`.
pub const HTTP_DURATION: &str = "hearth_http_request_duration_seconds";
/// Upper bounds of the latency buckets, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How often histograms are folded into their buckets between scrapes (bounds their memory).
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process's recorder, once installed.
static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls return the same handle) and
/// starts folding its histograms every few seconds.
pub fn install() -> Result<PrometheusHandle, Error> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), DURATION_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder)
                .map_err(|e| e.to_string())?;
            describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .clone()
        .map_err(|e| Error::Config(format!("metrics: {e}")))
}

/// The `# HELP` lines of the counted series.
fn describe() {
    use crate::service::delivery::DELIVERIES;
    use hearth_federation::inbox::INBOX_ACTIVITIES;
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route pattern, method and status."
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time until a response's headers were ready, by route pattern and method."
    );
    metrics::describe_counter!(
        INBOX_ACTIVITIES,
        "Activities posted to the inboxes, by type (unknown ones: other) and outcome \
         (accepted, refused, error)."
    );
    metrics::describe_counter!(
        DELIVERIES,
        "Delivery attempts and activities given up, by outcome (sent; retry: failed for now; \
         failed: refused for good; dropped: given up after 7 days or refused by policy)."
    );
}

/// A request's method as a label: the standard ones, or `other`.
pub fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts each request and times it, by route pattern (`unmatched` for what no
/// route matched), method and status. Layered on the router when metrics are on.
pub async fn count_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route: SharedString = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(SharedString::const_str("unmatched"), |p| {
            SharedString::from(p.as_str().to_owned())
        });
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = status_label(response.status());
    metrics::histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

/// A status as a label, without allocating for the usual ones.
fn status_label(status: http::StatusCode) -> SharedString {
    let known = match status.as_u16() {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        206 => "206",
        301 => "301",
        302 => "302",
        303 => "303",
        304 => "304",
        307 => "307",
        308 => "308",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        406 => "406",
        408 => "408",
        409 => "409",
        410 => "410",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => return SharedString::from(status.as_str().to_owned()),
    };
    SharedString::const_str(known)
}

/// Whether `headers` carry `Authorization: Bearer <token>`. Both sides are hashed first and
/// the hashes compared in constant time, so that neither the token's content nor its length
/// shows in the time taken.
pub fn bearer_matches(headers: &http::HeaderMap, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let Some(given) = crate::api::auth::bearer_token(headers) else {
        return false;
    };
    let (given, expected) = (Sha256::digest(given), Sha256::digest(token));
    given.ct_eq(&expected).into()
}

/// The whole exposition for `state`'s instance: the counted series, then the ones read now.
pub async fn render(state: &AppState) -> Result<String, Error> {
    let mut out = RECORDER
        .get()
        .and_then(|r| r.as_ref().ok())
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    let queues = state
        .db
        .run(|conn| Ok(crate::db::deliveries::queue_gauges(conn)?))
        .await?;
    let pool = state.db.pool_use();
    let by_state = |value: fn(&QueueState) -> f64| -> Vec<(String, f64)> {
        let label = |s: &QueueState| format!("{{state=\"{}\"}}", s.state);
        queues.states.iter().map(|s| (label(s), value(s))).collect()
    };
    gauge(
        &mut out,
        "hearth_delivery_queue_depth",
        "Activities waiting for delivery (one per receiving server), by the state of that \
         server's queue: due, sending, backoff (failed, waiting to retry), unreachable.",
        &by_state(|s| s.depth as f64),
    );
    gauge(
        &mut out,
        "hearth_delivery_queue_oldest_age_seconds",
        "Age of the oldest activity waiting for delivery, by queue state (0: none waits).",
        &by_state(|s| s.oldest_age_seconds),
    );
    gauge(
        &mut out,
        "hearth_delivery_unreachable_servers",
        "Receiving servers failing for over 2 days, now only probed every 12 hours.",
        &[(String::new(), queues.unreachable_servers as f64)],
    );
    gauge(
        &mut out,
        "hearth_db_pool_connections",
        "Database connections of this process's pool, in use or idle.",
        &[
            ("{state=\"in_use\"}".into(), f64::from(pool.in_use)),
            ("{state=\"idle\"}".into(), f64::from(pool.idle)),
        ],
    );
    gauge(
        &mut out,
        "hearth_db_pool_max_connections",
        "Most connections the pool opens (HEARTH_DATABASE_POOL_SIZE).",
        &[(String::new(), f64::from(pool.max))],
    );
    if let Some(rss) = resident_memory_bytes() {
        gauge(
            &mut out,
            "process_resident_memory_bytes",
            "Resident memory of the server process, in bytes.",
            &[(String::new(), rss as f64)],
        );
    }
    Ok(out)
}

/// Writes one gauge in the text format: its help, its type, and a line per labelled value.
fn gauge(out: &mut String, name: &str, help: &str, values: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in values {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// The process's resident set size, from `/proc/self/status` (Linux; `None` elsewhere).
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_match_exactly() {
        let headers = |value: &str| {
            let mut h = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(value) {
                h.insert(http::header::AUTHORIZATION, v);
            }
            h
        };
        let token = "metrics-token-0123456789";
        assert!(bearer_matches(
            &headers("Bearer metrics-token-0123456789"),
            token
        ));
        assert!(!bearer_matches(
            &headers("Bearer metrics-token-012345678"),
            token
        ));
        assert!(!bearer_matches(
            &headers("Bearer metrics-token-01234567890"),
            token
        ));
        assert!(!bearer_matches(&headers("metrics-token-0123456789"), token));
        assert!(!bearer_matches(&http::HeaderMap::new(), token));
    }

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&http::Method::GET), "GET");
        let odd = http::Method::from_bytes(b"BREW").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(method_label(&odd), "other");
        assert_eq!(&*status_label(http::StatusCode::ACCEPTED), "202");
        assert_eq!(&*status_label(http::StatusCode::IM_A_TEAPOT), "418");
    }

    #[test]
    fn memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_memory_bytes().is_some_and(|b| b > 1024 * 1024));
        }
    }
}
