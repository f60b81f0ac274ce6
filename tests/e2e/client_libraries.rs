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
/// mentioning it; B's group shares the post with its members there. Its home stream shows
/// a new post live.
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

    // A mention from B, waiting for the patient when the app first signs in.
    let bo = b.token("bo").await;
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &bo,
            serde_json::json!({ "status": format!("@ana@{} welcome to the group", a.domain) }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;

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
    for check in [
        "timeline_home",
        "notifications",
        "media_post without GPS",
        "stream_user update",
    ] {
        assert!(passed.iter().any(|p| p == check), "{check} in {passed:?}");
    }

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

/// Headless Chromium and the `playwright-core` it is driven with, if the environment names
/// them (`.ci/run` installs both).
fn chromium() -> Option<(String, String)> {
    match (
        std::env::var("HEARTH_TEST_CHROMIUM"),
        std::env::var("HEARTH_TEST_NODE_MODULES"),
    ) {
        (Ok(chromium), Ok(modules)) if !chromium.is_empty() && !modules.is_empty() => {
            Some((chromium, modules))
        }
        _ => {
            assert!(
                std::env::var("HEARTH_REQUIRE_CLIENTS").as_deref() != Ok("1"),
                "HEARTH_REQUIRE_CLIENTS=1 but HEARTH_TEST_CHROMIUM or HEARTH_TEST_NODE_MODULES is not set"
            );
            eprintln!("skipped: set HEARTH_TEST_CHROMIUM and HEARTH_TEST_NODE_MODULES");
            None
        }
    }
}

/// The pages in a real browser without JavaScript, at phone and desktop width: home, group,
/// sign-in, and an app's consent page, filled in and approved with the keyboard; every field
/// labelled, nothing scrolling sideways; the code the app receives buys a working token.
/// Screenshots go to `target/screenshots/`.
async fn browser_pages_sign_in_and_approve_an_app(engine: Engine) {
    let Some((chromium, modules)) = chromium() else {
        return;
    };
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_group("long_covid", "Long COVID").await;
    let redirect = a.url("/app-callback").to_string();
    let client = hearth_tests::http();
    let app: serde_json::Value = client
        .post(a.url("/api/v1/apps"))
        .form(&[
            ("client_name", "Clinic companion"),
            ("redirect_uris", redirect.as_str()),
            ("scopes", "read write"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client_id = app["client_id"].as_str().unwrap_or_default();
    let client_secret = app["client_secret"].as_str().unwrap_or_default();
    let mut authorize = a.url("/oauth/authorize");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "read write");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/screenshots")
        .join(match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres(_) => "postgres",
        });
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let output = tokio::process::Command::new("node")
        .arg(script("browser.cjs"))
        .args([
            a.base.as_str().trim_end_matches('/'),
            authorize.as_str(),
            "ana",
            "a long test password",
            "long_covid",
            &dir.display().to_string(),
            &chromium,
        ])
        .env("NODE_PATH", &modules)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let codes: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("CODE "))
        .filter_map(|l| l.split_once(' ').map(|(_, code)| code))
        .collect();
    assert_eq!(codes.len(), 2, "one code per width: {stdout}");
    for code in codes {
        let token: serde_json::Value = client
            .post(a.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client_id),
                ("client_secret", client_secret),
                ("redirect_uri", redirect.as_str()),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let access = token["access_token"].as_str().unwrap_or_default();
        let (status, me) = a
            .api_get("/api/v1/accounts/verify_credentials", Some(access))
            .await;
        assert_eq!((status, &me["username"]), (200, &serde_json::json!("ana")));
    }
    for name in ["home", "group", "sign-in", "consent", "sessions"] {
        for width in ["phone", "desktop"] {
            let shot = dir.join(format!("{name}-{width}.png"));
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
                "{}",
                shot.display()
            );
        }
    }
}
on_both_engines!(browser_pages_sign_in_and_approve_an_app);

/// The admin pages in a real browser without JavaScript, at phone and desktop width: an admin
/// signs in, blocks a domain on the federation page and resolves a report on the reports
/// page; every field labelled, nothing scrolling sideways. The API then shows both acts, made
/// by her and on the audit record. Screenshots go to `target/screenshots/`.
async fn admin_pages_block_a_domain_and_resolve_a_report(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ada", UserRole::Admin).await;
    a.create_user("bo", UserRole::Member).await;
    a.create_user("eve", UserRole::Member).await;
    let (ada, bo) = (a.token("ada").await, a.token("bo").await);
    let eve = a.account_id("eve", &bo).await;
    let mut reports = Vec::new();
    for comment in ["Says insulin is a hoax", "Sells miracle cures"] {
        let (status, report) = a
            .api_post(
                "/api/v1/reports",
                &bo,
                serde_json::json!({ "account_id": eve, "category": "misinformation", "comment": comment }),
            )
            .await;
        assert_eq!(status, 200, "{report}");
        reports.push(report["id"].as_str().unwrap_or_default().to_owned());
    }
    // Nobody signed in is sent to sign in; a form without the page's CSRF token does nothing.
    let client = hearth_tests::http();
    let answer = client
        .get(a.url("/admin/federation"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()["location"], "/auth/sign_in");
    let answer = client
        .post(a.url("/admin/federation/blocks"))
        .form(&[("domain", "forged.example"), ("severity", "suspend")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.status(), 403);

    let Some((chromium, modules)) = chromium() else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/screenshots")
        .join(match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres(_) => "postgres",
        });
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let output = tokio::process::Command::new("node")
        .arg(script("admin_pages.cjs"))
        .args([
            a.base.as_str().trim_end_matches('/'),
            "ada",
            "a long test password",
            &dir.display().to_string(),
            &chromium,
            "quack",
        ])
        .args(&reports)
        .env("NODE_PATH", &modules)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let (status, blocks) = a.api_get("/api/v1/admin/domain_blocks", Some(&ada)).await;
    assert_eq!(status, 200, "{blocks}");
    let mut blocked: Vec<(&str, &str)> = blocks
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            (
                b["domain"].as_str().unwrap_or_default(),
                b["severity"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    blocked.sort();
    assert_eq!(
        blocked,
        [
            ("quack-desktop.example", "suspend"),
            ("quack-phone.example", "suspend")
        ]
    );
    for id in &reports {
        let (_, report) = a
            .api_get(&format!("/api/v1/admin/reports/{id}"), Some(&ada))
            .await;
        assert_eq!(report["action_taken"], true, "{report}");
        assert_eq!(report["action_taken_by_account"]["username"], "ada");
    }
    let (_, log) = a
        .api_get("/api/hearth/v1/admin/audit?limit=80", Some(&ada))
        .await;
    let by_ada = |action: &str| {
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["action"] == action && e["actor"]["username"] == "ada")
            .count()
    };
    assert_eq!(
        (by_ada("domain.block"), by_ada("report.resolve")),
        (2, 2),
        "{log:#}"
    );

    for name in [
        "admin-dashboard",
        "admin-federation",
        "admin-reports",
        "admin-accounts",
        "admin-audit",
    ] {
        for width in ["phone", "desktop"] {
            let shot = dir.join(format!("{name}-{width}.png"));
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
                "{}",
                shot.display()
            );
        }
    }
}
on_both_engines!(admin_pages_block_a_domain_and_resolve_a_report);
