//! Slow clients are cut off (issue 13): a request whose headers never finish, or whose body
//! stops short of its `Content-Length`, no longer holds its connection; and one address cannot
//! hold more than its share of connections. Raw TCP on 127.0.0.1, short limits.

use hearth_tests::{Engine, Instance, on_both_engines};
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// An instance whose limits are short enough to test.
async fn strict(engine: &Engine, per_address: u32) -> Instance {
    Instance::start_with(engine, |s| {
        s.header_timeout_seconds = 1;
        s.body_timeout_seconds = 1;
        s.max_connections_per_address = per_address;
    })
    .await
}

async fn connect(a: &Instance) -> TcpStream {
    let port = a.base.port().unwrap_or_default();
    TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Reads until the server closes the connection, for at most `limit`: what it sent and when
/// it closed, or `None` if it was still open at the end.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = limit.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((
                    String::from_utf8_lossy(&answer).into_owned(),
                    started.elapsed(),
                ));
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
        }
    }
}

fn request(a: &Instance, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        a.domain
    )
}

/// Headers sent in part, then nothing: the connection is closed after the header timeout
/// (1 s here), not held. A complete request on another connection is answered meanwhile.
async fn a_request_whose_headers_never_finish_is_cut_off(engine: Engine) {
    let a = strict(&engine, 0).await;
    let mut slow = connect(&a).await;
    slow.write_all(
        format!(
            "GET /api/v1/instance HTTP/1.1\r\nHost: {}\r\nX-Slow: aaa",
            a.domain
        )
        .as_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut quick = connect(&a).await;
    quick
        .write_all(request(&a, "/healthz").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (answer, _) = until_closed(&mut quick, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("a complete request is answered"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (_, after) = until_closed(&mut slow, Duration::from_secs(4))
        .await
        .unwrap_or_else(|| panic!("the unfinished request still holds its connection after 4 s"));
    assert!(
        after >= Duration::from_millis(700),
        "closed only by the timeout: {after:?}"
    );

    // Nothing at all is sent: the same.
    let mut silent = connect(&a).await;
    assert!(
        until_closed(&mut silent, Duration::from_secs(4))
            .await
            .is_some()
    );
}
on_both_engines!(a_request_whose_headers_never_finish_is_cut_off);

/// A body that stops short of its `Content-Length`: the request is cut off after the body
/// timeout (1 s here), answered with an error, and the connection closed. The inbox is cut off
/// the same way, before its own 10 s bound.
async fn a_body_shorter_than_its_length_is_cut_off(engine: Engine) {
    let a = strict(&engine, 0).await;
    // A well-signed activity, so that the inbox reads its body.
    let peer = hearth_tests::StubPeer::start().await;
    let activity = serde_json::to_vec(&hearth_tests::follow(
        &peer.actor("gina"),
        a.url("/actor").as_str(),
    ))
    .unwrap_or_default();
    let signed = peer.signer("gina").sign_post(&a.url("/inbox"), &activity);
    let signed: String = signed
        .iter()
        .map(|(name, value)| format!("{name}: {}\r\n", value.to_str().unwrap_or_default()))
        .collect();
    for (path, headers) in [
        (
            "/api/v1/apps",
            "Content-Type: application/json\r\n".to_owned(),
        ),
        (
            "/oauth/token",
            "Content-Type: application/x-www-form-urlencoded\r\n".to_owned(),
        ),
        ("/inbox", signed),
    ] {
        let mut slow = connect(&a).await;
        let host = if path == "/inbox" {
            String::new()
        } else {
            format!("Host: {}\r\n", a.domain)
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\n{host}{headers}Content-Length: {}\r\n\r\n",
            activity.len()
        );
        slow.write_all(head.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        slow.write_all(&activity[..activity.len() / 2])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (answer, after) = until_closed(&mut slow, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{path}: a short body still holds its connection after 5 s"));
        assert!(
            after >= Duration::from_millis(700),
            "{path}: closed only by the timeout: {after:?}"
        );
        let status: u16 = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{path}: no answer: {answer:?}"));
        assert!((400..500).contains(&status), "{path}: {answer}");
    }
}
on_both_engines!(a_body_shorter_than_its_length_is_cut_off);

/// With a cap of three connections per address, a fourth from 127.0.0.1 is closed at once,
/// without an answer; when one of the three closes, a new connection is served again.
async fn connections_beyond_the_cap_are_closed_at_once(engine: Engine) {
    let a = Instance::start_with(&engine, |s| s.max_connections_per_address = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&a).await);
    }
    let mut fourth = connect(&a).await;
    let _ = fourth.write_all(request(&a, "/healthz").as_bytes()).await;
    let (answer, after) = until_closed(&mut fourth, Duration::from_secs(3))
        .await
        .unwrap_or_else(|| panic!("a fourth connection was kept"));
    assert!(answer.is_empty(), "refused without an answer: {answer}");
    assert!(after < Duration::from_secs(1), "at once: {after:?}");
    // The three held ones are still open.
    let mut first = held.remove(0);
    first
        .write_all(request(&a, "/healthz").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (answer, _) = until_closed(&mut first, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("a held connection was not answered"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // It has closed: a new connection takes its place.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = connect(&a).await;
        let _ = next.write_all(request(&a, "/healthz").as_bytes()).await;
        let answer = until_closed(&mut next, Duration::from_secs(5)).await;
        if answer
            .as_ref()
            .is_some_and(|(a, _)| a.starts_with("HTTP/1.1 200"))
        {
            break;
        }
        assert!(Instant::now() < deadline, "no place was freed: {answer:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
on_both_engines!(connections_beyond_the_cap_are_closed_at_once);
