//! Lists of statuses under load: home, notifications, public, an account's and a group's
//! statuses, a tag, bookmarks and favourites, on SQLite databases of 10,000 and 1,000,000
//! posts. The reader follows 1,000 accounts, is in five busy groups and is mentioned in 35%
//! of all posts (350,000 at the larger size); one remote author has 7,000 posts.
//!
//! A release `hearth serve` runs as a child process; this process is the load generator,
//! beside it on the same cores. Requests are sent open-loop at a fixed rate (latency counts
//! from when a request was due, so a stalled server cannot hide its queue), 20 statuses each.
//! Run with `cargo bench -p hearth --bench timelines` (`HEARTH_BENCH_RATE`,
//! `HEARTH_BENCH_SECONDS` and `HEARTH_BENCH_SIZES=10000,1000000` change the defaults;
//! `HEARTH_BENCH_ONLY=home` runs the lists whose name has that in it, `HEARTH_BENCH_KEEP=1`
//! keeps the instance's directory, `HEARTH_BENCH_METRICS=1` turns metrics on, to measure what
//! they cost).

use diesel::{Connection, RunQueryDsl, connection::SimpleConnection, sqlite::SqliteConnection};
use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

const HEARTH: &str = env!("CARGO_BIN_EXE_hearth");
/// Remote accounts; the reader follows the first half of them.
const REMOTE_ACCOUNTS: i64 = 2_000;
const FOLLOWED: i64 = 1_000;
const GROUPS: usize = 5;
const PROLIFIC_POSTS: i64 = 7_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a `hearth` command in `dir`, with `stdin`, and returns its standard output.
fn hearth(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new(HEARTH)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HEARTH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "hearth {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The ids the load needs: the reader's, the prolific author's and a group's.
struct Seeded {
    token: String,
    prolific: i64,
    group: i64,
}

/// Creates the reader and the groups with the `hearth` command, then writes the rest of the
/// network straight into the database (far faster than through the API).
fn seed(dir: &Path, posts: i64) -> Seeded {
    hearth(
        dir,
        &[
            "user",
            "create",
            "reader",
            "--role",
            "member",
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    );
    for g in 0..GROUPS {
        let name = format!("group{g}");
        let mut args = vec!["group", "create", &name, "--name", "Support group"];
        // One members-only group: its posts are checked against membership.
        if g == 0 {
            args.extend(["--visibility", "members_only"]);
        }
        hearth(dir, &args, None);
    }
    let token = hearth(dir, &["token", "create", "reader"], None);
    let db = dir.join("data/hearth.db");
    let mut conn =
        SqliteConnection::establish(&db.to_string_lossy()).unwrap_or_else(|e| panic!("{e}"));
    let sql = format!(
        r#"
        PRAGMA journal_mode = WAL;
        BEGIN;
        CREATE TEMP TABLE n AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {posts})
            SELECT i FROM c;
        CREATE TEMP TABLE reader AS SELECT actor_id AS id FROM users;
        CREATE TEMP TABLE grp AS SELECT actor_id AS id, row_number() OVER (ORDER BY actor_id) - 1 AS k
            FROM support_groups;
        -- Remote accounts: ids 1..{REMOTE_ACCOUNTS}, on twenty servers.
        INSERT INTO actors (id, ap_id, kind, username, domain, inbox, public_key_pem,
                manually_approves_followers, discoverable, local, published_at,
                last_refreshed_at, created_at, updated_at, display_name, summary)
            SELECT i, 'https://peer' || (i % 20) || '.example/users/p' || i, 'Person', 'p' || i,
                'peer' || (i % 20) || '.example', 'https://peer' || (i % 20) || '.example/inbox',
                'key', 0, 1, 0, datetime('now'), datetime('now'), datetime('now'), datetime('now'),
                'Person ' || i, '<p>About me</p>'
            FROM n WHERE i <= {REMOTE_ACCOUNTS};
        INSERT INTO follows (id, ap_id, follower_id, target_id, accepted, created_at, updated_at)
            SELECT i, 'https://local.example/follows/' || i, (SELECT id FROM reader), i, 1,
                datetime('now'), datetime('now')
            FROM n WHERE i <= {FOLLOWED};
        -- The reader is in every group; so are half the remote accounts.
        INSERT INTO follows (id, ap_id, follower_id, target_id, accepted, created_at, updated_at)
            SELECT 10000 + k, 'https://local.example/joins/' || k, (SELECT id FROM reader), grp.id, 1,
                datetime('now'), datetime('now')
            FROM grp;
        INSERT INTO follows (id, ap_id, follower_id, target_id, accepted, created_at, updated_at)
            SELECT 20000 + n.i * 10 + grp.k, 'https://peer.example/joins/' || n.i || '/' || grp.k,
                n.i, grp.id, 1, datetime('now'), datetime('now')
            FROM n, grp WHERE n.i <= {REMOTE_ACCOUNTS} / 2;
        -- Posts: ids ordered by age below any new id. Account 1 writes the first
        -- {PROLIFIC_POSTS}, the reader 2% (its local posts); 40% are in groups (members-only in group0), 5% followers-only,
        -- 20% replies, and 35% mention the reader.
        INSERT INTO posts (id, ap_id, kind, author_id, group_id, in_reply_to_id, content,
                spoiler_text, sensitive, visibility, url, local, published_at, created_at)
            SELECT (1600000000000 + i * 1000) * 65536, 'https://peer.example/posts/' || i, 'Note',
                CASE WHEN i <= {PROLIFIC_POSTS} THEN 1 WHEN i % 50 = 1 THEN (SELECT id FROM reader)
                     ELSE 1 + (i * 7919) % {REMOTE_ACCOUNTS} END,
                CASE WHEN i % 5 < 2 THEN (SELECT id FROM grp WHERE k = i % {GROUPS}) END,
                CASE WHEN i % 5 = 3 AND i > 10 THEN (1600000000000 + (i - 1 - i % 7) * 1000) * 65536 END,
                '<p>Post number ' || i || ' about living well with a long-term condition, with a '
                    || 'few sentences of text as people write them. #diabetes</p>',
                '', 0,
                CASE WHEN i % 5 < 2 AND i % {GROUPS} = 0 THEN 'members'
                     WHEN i % 20 = 7 THEN 'private' ELSE 'public' END,
                'https://peer.example/@p/' || i, i > {PROLIFIC_POSTS} AND i % 50 = 1,
                datetime(1600000000 + i, 'unixepoch'), datetime(1600000000 + i, 'unixepoch')
            FROM n;
        INSERT INTO post_mentions (post_id, actor_id)
            SELECT (1600000000000 + i * 1000) * 65536, (SELECT id FROM reader) FROM n WHERE i % 20 < 7;
        INSERT INTO post_mentions (post_id, actor_id)
            SELECT (1600000000000 + i * 1000) * 65536, 1 + (i * 31) % {REMOTE_ACCOUNTS} FROM n WHERE i % 3 = 0;
        INSERT INTO notifications (id, recipient_id, kind, from_id, post_id, created_at)
            SELECT (1600000000000 + i * 1000) * 65536 + 1, (SELECT id FROM reader), 'mention',
                CASE WHEN i <= {PROLIFIC_POSTS} THEN 1 ELSE 1 + (i * 7919) % {REMOTE_ACCOUNTS} END,
                (1600000000000 + i * 1000) * 65536, datetime(1600000000 + i, 'unixepoch')
            FROM n WHERE i % 20 < 7;
        INSERT INTO likes (id, ap_id, actor_id, post_id, created_at)
            SELECT (1600000000000 + i * 1000) * 65536 + 2, 'https://peer.example/likes/' || i,
                1 + (i * 13) % {REMOTE_ACCOUNTS}, (1600000000000 + i * 1000) * 65536, datetime('now')
            FROM n WHERE i % 4 = 0;
        INSERT INTO likes (id, ap_id, actor_id, post_id, created_at)
            SELECT (1600000000000 + i * 1000) * 65536 + 3, 'https://local.example/likes/' || i,
                (SELECT id FROM reader), (1600000000000 + i * 1000) * 65536, datetime('now')
            FROM n WHERE i % 50 = 0;
        INSERT INTO bookmarks (id, actor_id, post_id, created_at)
            SELECT (1600000000000 + i * 1000) * 65536 + 4, (SELECT id FROM reader),
                (1600000000000 + i * 1000) * 65536, datetime('now')
            FROM n WHERE i % 100 = 0;
        INSERT INTO tags (id, name, created_at) VALUES (1, 'diabetes', datetime('now'));
        INSERT INTO post_tags (tag_id, post_id)
            SELECT 1, (1600000000000 + i * 1000) * 65536 FROM n WHERE i % 10 = 4;
        COMMIT;
        "#
    );
    conn.batch_execute(&sql)
        .unwrap_or_else(|e| panic!("seeding: {e}"));
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let group = diesel::sql_query(
        "SELECT actor_id AS id FROM support_groups ORDER BY actor_id LIMIT 1 OFFSET 1",
    )
    .get_result::<Id>(&mut conn)
    .unwrap_or_else(|e| panic!("{e}"))
    .id;
    Seeded {
        token,
        prolific: 1,
        group,
    }
}

fn start(dir: &Path, port: u16) -> Child {
    let metrics: &[(&str, &str)] = match std::env::var_os("HEARTH_BENCH_METRICS") {
        Some(_) => &[("HEARTH_METRICS_TOKEN", "a-token-for-the-benchmark")],
        None => &[],
    };
    Command::new(HEARTH)
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("HEARTH_BIND", format!("127.0.0.1:{port}"))
        .env("HEARTH_DOMAIN", format!("localhost:{port}"))
        .env("HEARTH_LOG", "warn")
        // The load generator is many clients on one address, as behind a proxy.
        .env("HEARTH_MAX_CONNECTIONS_PER_ADDRESS", "0")
        .envs(metrics.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// CPU time (user + system) a process has used so far.
fn cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// One run: `rate` requests a second to `path` for `seconds`, each due at its own instant.
async fn load(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    rate: u32,
    seconds: u32,
    pid: u32,
) -> String {
    let url = Arc::new(format!("{base}{path}"));
    let auth = Arc::new(format!("Bearer {token}"));
    // The first answer must be a full page, or the figures would be of an error.
    let first = client
        .get(url.as_str())
        .header("Authorization", auth.as_str())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(first.status().is_success(), "{path}: {}", first.status());
    let page: Vec<serde_json::Value> = first.json().await.unwrap_or_else(|e| panic!("{e}"));
    let total = rate * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let cpu_before = cpu(pid);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval * i;
        tokio::time::sleep_until(due.into()).await;
        let (client, url, auth) = (client.clone(), url.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let ok = match client
                .get(url.as_str())
                .header("Authorization", auth.as_str())
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            (due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for task in tasks {
        let (latency, ok) = task.await.unwrap_or((Duration::MAX, false));
        if !ok {
            failed += 1;
        }
        latencies.push(latency);
    }
    let elapsed = started.elapsed();
    let cpu_used = cpu(pid).saturating_sub(cpu_before);
    latencies.sort();
    let at = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    format!(
        "{:>7.0} req/s  p50 {:6.2} ms  p99 {:6.2} ms  max {:7.2} ms  server CPU {:5.0} µs/req  {} statuses/page{}",
        f64::from(total) / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        at(1.0),
        cpu_used.as_secs_f64() * 1e6 / f64::from(total),
        page.len(),
        if failed > 0 {
            format!("  FAILED {failed}")
        } else {
            String::new()
        }
    )
}

fn main() {
    let rate: u32 = env_or("HEARTH_BENCH_RATE", 2_000);
    let seconds: u32 = env_or("HEARTH_BENCH_SECONDS", 10);
    let sizes: Vec<i64> = std::env::var("HEARTH_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for posts in sizes {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let seeding = Instant::now();
        let seeded = seed(dir.path(), posts);
        let seeded_in = seeding.elapsed();
        let port = free_port();
        let mut server = start(dir.path(), port);
        let base = format!("http://127.0.0.1:{port}");
        println!(
            "\n{posts} posts (seeded in {:.1} s); {rate} requests/s for {seconds} s each, 20 statuses a page",
            seeded_in.as_secs_f64()
        );
        runtime.block_on(async {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(512)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            for _ in 0..300 {
                if client.get(format!("{base}/healthz")).send().await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let lists = [
                ("home", "/api/v1/timelines/home".to_string()),
                ("notifications", "/api/v1/notifications?limit=20".into()),
                ("public", "/api/v1/timelines/public".into()),
                (
                    "public, local only",
                    "/api/v1/timelines/public?local=true".into(),
                ),
                (
                    "account statuses (7,000 posts)",
                    format!("/api/v1/accounts/{}/statuses", seeded.prolific),
                ),
                (
                    "group timeline",
                    format!("/api/v1/accounts/{}/statuses", seeded.group),
                ),
                ("tag", "/api/v1/timelines/tag/diabetes".into()),
                ("bookmarks", "/api/v1/bookmarks".into()),
                ("favourites", "/api/v1/favourites".into()),
            ];
            let only = std::env::var("HEARTH_BENCH_ONLY").unwrap_or_default();
            for (name, path) in lists.into_iter().filter(|(name, _)| name.contains(&only)) {
                // A short warm-up at the same rate, then the measured run.
                load(&client, &base, &seeded.token, &path, rate, 1, server.id()).await;
                let line = load(
                    &client,
                    &base,
                    &seeded.token,
                    &path,
                    rate,
                    seconds,
                    server.id(),
                )
                .await;
                println!("  {name:<32} {line}");
            }
        });
        let _ = server.kill();
        let _ = server.wait();
        if std::env::var_os("HEARTH_BENCH_KEEP").is_some() {
            println!("kept the instance in {}", dir.keep().display());
        }
    }
}
