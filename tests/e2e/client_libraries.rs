//! Hearth driven by independent Mastodon client libraries, as a patient's app would drive it,
//! against two real instances: sign in through the consent page, find and join a group on the
//! other server, post into it, read the timeline.
//!
//! The libraries run as child processes. `HEARTH_TEST_PYTHON` names a Python with Mastodon.py
//! installed (`.ci/run` makes one); without it these tests are skipped, unless
//! `HEARTH_REQUIRE_CLIENTS=1` (as in CI) makes that a failure.

use hearth_tests::{Engine, Instance, UserRole, on_both_engines, settle};
use std::{path::PathBuf, process::Stdio};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The Python that has Mastodon.py, if the environment names one.
fn python() -> Option<String> {
    match std::env::var("HEARTH_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("HEARTH_REQUIRE_CLIENTS").as_deref() != Ok("1"),
                "HEARTH_REQUIRE_CLIENTS=1 but HEARTH_TEST_PYTHON is not set"
            );
            eprintln!("skipped: set HEARTH_TEST_PYTHON to a Python with Mastodon.py installed");
            None
        }
    }
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("clients")
        .join(name)
}

/// Runs a client script, running every delivery between `instances` each time it asks
/// ("SETTLE"); returns the checks it passed ("OK ...").
async fn run_client(program: &str, args: &[String], instances: &[&Instance]) -> Vec<String> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut passed = Vec::new();
    let mut done = false;
    while let Ok(Some(line)) = lines.next_line().await {
        match line.as_str() {
            "SETTLE" => {
                settle(instances).await;
                stdin
                    .write_all(b"\n")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "DONE" => done = true,
            other => passed.push(other.trim_start_matches("OK ").to_owned()),
        }
    }
    let output = child
        .wait_with_output()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done && output.status.success(),
        "the client failed after {passed:?}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    passed
}

/// Mastodon.py: a patient on A signs in with PKCE through the consent page, finds a group and
/// a person on B with `resolve=true`, joins and follows them, and posts into the group by
/// mentioning it; B's group shares the post with its members there.
async fn mastodon_py_signs_in_joins_a_remote_group_and_posts_into_it(engine: Engine) {
    let Some(python) = python() else {
        return;
    };
    let a = Instance::start(&engine).await;
    let b = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("bo", UserRole::Member).await;
    b.create_group("support", "Peer support").await;
    b.create_user("cy", UserRole::Member).await;
    let cy = b.token("cy").await;
    let group_id = b.account_id("support", &cy).await;
    let (status, _) = b
        .api_post(
            &format!("/api/v1/accounts/{group_id}/follow"),
            &cy,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);

    let passed = run_client(
        &python,
        &[
            script("mastodon_py.py").display().to_string(),
            a.base.as_str().trim_end_matches('/').to_owned(),
            "ana".into(),
            "a long test password".into(),
            format!("@support@{}", b.domain),
            format!("@bo@{}", b.domain),
        ],
        &[&a, &b],
    )
    .await;
    assert!(passed.iter().any(|p| p == "timeline_home"), "{passed:?}");

    // What the library posted reached the group's other members, on B.
    let (_, home) = b.api_get("/api/v1/timelines/home", Some(&cy)).await;
    let shared = home.as_array().is_some_and(|list| {
        list.iter().any(|s| {
            s["content"]
                .as_str()
                .is_some_and(|c| c.contains("Hello from Mastodon.py"))
        })
    });
    assert!(shared, "{home:#}");
}
on_both_engines!(mastodon_py_signs_in_joins_a_remote_group_and_posts_into_it);
