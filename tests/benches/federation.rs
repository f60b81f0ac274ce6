//! Federation figures of a real `hearth serve` process (release build), with simulated peers
//! and the load generator in this process, all on loopback:
//!
//! - fan-out: one group post to 1,000 members on 50 servers that answer after 50 ms;
//! - outage and crash: 5 of 50 servers answer 503, the server is killed with `kill -9` in the
//!   middle of delivering, restarted, and the 5 come back;
//! - delivery: a busy group's backlog sent to its members' 10 servers once they are back
//!   (signed deliveries/s, CPU per delivery), then a steady 1,500 deliveries/s and how long
//!   each waits in the queue;
//! - inbox ingest: signed `Create{Note}` into a group from 50 actors on 10 servers, on SQLite
//!   and, when `HEARTH_TEST_POSTGRES_URL` is set, on PostgreSQL.
//!
//! Run with `cargo bench -p hearth-tests --bench federation`. `HEARTH_BENCH_SECONDS` sets
//! how long the ingest runs (default 60; the delivery parts run up to 30),
//! `HEARTH_BENCH_CONNECTIONS` the load generator's connections (default 32),
//! `HEARTH_BENCH_ONLY` one part (`fan-out`, `delivery` or `ingest`), `HEARTH_BENCH_ENGINE`
//! the ingest's one engine (`sqlite` or `postgres`). The footprint (idle
//! memory, cold start) is `cargo bench -p hearth --bench footprint`.

use hearth_tests::{Engine, StubPeer};
use serde_json::{Value, json};
use std::{
    collections::{BTreeSet, HashMap},
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};
use url::Url;

/// The server program (release build under `cargo bench`).
const SERVER: &str = env!("CARGO_BIN_EXE_hearth-under-test");

const AS_PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// One `hearth serve` process on a fresh database.
struct Server {
    dir: tempfile::TempDir,
    /// A fresh PostgreSQL database; `None` for SQLite (a file in `dir`).
    postgres: Option<hearth_tests::TestDatabase>,
    port: u16,
    domain: String,
    child: Option<Child>,
    clock_ticks: f64,
}

impl Server {
    async fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        Self::on_port(port, &Engine::Sqlite)
    }

    /// A server with a fresh database on `port` (signatures cover the host and port, so
    /// requests signed for one server can be replayed to the next on the same port).
    fn on_port(port: u16, engine: &Engine) -> Self {
        let ticks = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        Self {
            postgres: matches!(engine, Engine::Postgres(_))
                .then(|| hearth_tests::TestDatabase::create(engine, dir.path())),
            dir,
            port,
            domain: format!("localhost:{port}"),
            child: None,
            clock_ticks: ticks,
        }
    }

    fn command(&self) -> Command {
        // HEARTH_BENCH_SERVER runs another build of the server (one with debug info, to profile).
        let program = std::env::var("HEARTH_BENCH_SERVER").unwrap_or(SERVER.into());
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("HEARTH_DOMAIN", &self.domain)
            .env("HEARTH_BIND", format!("127.0.0.1:{}", self.port))
            .env("HEARTH_DATA_DIR", self.dir.path())
            .env("HEARTH_LOOPBACK_FEDERATION", "1")
            .env("HEARTH_LOG", "warn");
        if let Some(database) = &self.postgres {
            // Without TLS, as PostgreSQL's container image runs it (docker/compose.yaml): on
            // loopback it would only add its own cost to every statement.
            let separator = if database.url.contains('?') { '&' } else { '?' };
            let url = format!("{}{separator}sslmode=disable", database.url);
            command.env("HEARTH_DATABASE_URL", url);
        }
        command
    }

    /// Runs an administration command; returns its stdout.
    async fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        use tokio::io::AsyncWriteExt;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let out = child
            .wait_with_output()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "hearth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    async fn start(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("server.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        self.child = Some(child);
        let health = self.url("/healthz");
        for _ in 0..3000 {
            if reqwest::get(health.clone())
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the server did not start: see {:?}", self.dir.path());
    }

    /// `kill -9`.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(Child::id)
            .unwrap_or_else(|| panic!("not running"))
    }

    /// CPU time (user + system) the server process has used so far.
    fn cpu(&self) -> Duration {
        self.cpu_of(self.pid())
    }

    /// CPU time (user + system) process `pid` has used so far.
    fn cpu_of(&self, pid: u32) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<f64> = rest
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0.0))
            .collect();
        let ticks = fields.get(11).unwrap_or(&0.0) + fields.get(12).unwrap_or(&0.0);
        Duration::from_secs_f64(ticks / self.clock_ticks)
    }

    /// CPU time used so far by each PostgreSQL process serving the server's database, by pid
    /// (PostgreSQL names the database in each process's title); none on SQLite.
    fn database_cpu(&self) -> HashMap<u32, Duration> {
        let Some(name) = self
            .postgres
            .as_ref()
            .and_then(|db| db.url.rsplit('/').next())
        else {
            return HashMap::new();
        };
        let name = format!(" {name} ");
        let Ok(processes) = std::fs::read_dir("/proc") else {
            return HashMap::new();
        };
        processes
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|title| String::from_utf8_lossy(&title).contains(&name))
            })
            .map(|pid| (pid, self.cpu_of(pid)))
            .collect()
    }

    /// Peak resident memory of the server process, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }

    /// The end of the server's log, for failures.
    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let start = log.len().saturating_sub(3000);
        log.get(start..).unwrap_or_default().to_owned()
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.domain)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A local person and a public open group they own, made with the administration
    /// commands; returns the person's token.
    async fn person_and_group(&self) -> String {
        self.cli(
            &[
                "user",
                "create",
                "ana",
                "--role",
                "member",
                "--password-stdin",
            ],
            Some("a long benchmark password\n"),
        )
        .await;
        self.cli(
            &[
                "group", "create", "support", "--name", "Support", "--owner", "ana",
            ],
            None,
        )
        .await;
        self.cli(&["token", "create", "ana"], None).await
    }

    /// The group's account id and actor id, from the running server.
    async fn group(&self) -> (String, String) {
        let account: Value = reqwest::get(self.url("/api/v1/accounts/lookup?acct=support"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let finger: Value = reqwest::get(self.url(&format!(
            "/.well-known/webfinger?resource=acct:support@{}",
            self.domain
        )))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let actor = finger["links"]
            .as_array()
            .and_then(|links| links.iter().find(|l| l["rel"] == "self"))
            .and_then(|l| l["href"].as_str())
            .unwrap_or_default()
            .to_owned();
        (account["id"].as_str().unwrap_or_default().to_owned(), actor)
    }

    /// Writes a post into the group through the client API.
    async fn post(&self, client: &reqwest::Client, token: &str, group_id: &str, text: &str) {
        let response = client
            .post(self.url("/api/v1/statuses"))
            .bearer_auth(token)
            .json(&json!({ "status": text, "group_id": group_id }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
    }
}

/// `peers.len() * per_peer` remote members join the group, `per_peer` from each peer.
async fn join(peers: &[StubPeer], per_peer: usize, server: &Server, group: &str) {
    let inbox = server.url("/groups/support/inbox");
    let before: Vec<usize> = peers.iter().map(accepted).collect();
    let mut joins = Vec::new();
    for peer in peers {
        for n in 0..per_peer {
            let name = format!("m{n}");
            let follow = json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": peer.id("follow"), "type": "Follow",
                "actor": peer.actor(&name), "object": group,
            });
            let inbox = &inbox;
            joins.push(async move {
                let status = peer.send_to(&name, inbox, &follow).await;
                assert_eq!(status, 202, "join from {}: {}", peer.domain, server.log());
            });
        }
    }
    futures::future::join_all(joins).await;
    // Every Accept delivered (the server learns each peer's software on the way).
    wait_for("every Accept", Duration::from_secs(120), || {
        peers
            .iter()
            .zip(&before)
            .all(|(p, b)| accepted(p) >= b + per_peer)
    })
    .await;
}

fn accepted(peer: &StubPeer) -> usize {
    peer.received()
        .iter()
        .filter(|d| d.body["type"] == "Accept" && (200..300).contains(&d.answered))
        .count()
}

async fn wait_for(what: &str, limit: Duration, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

/// Inbox ingest: presigned `Create{Note}` POSTs from 50 actors on 10 peers, as fast as the
/// server takes them, for `seconds`: once while the members' servers are down (the inbox
/// alone: the group's shares wait in the queue), once while they are up (the server also
/// delivers the group's shares of each post to the 10 servers).
async fn ingest(seconds: u64) {
    let mut peers = Vec::new();
    for n in 0..10 {
        let software = if n % 2 == 0 { "mastodon" } else { "lemmy" };
        peers.push(StubPeer::start_as(Some(software)).await);
    }
    // One port for every server: signatures cover the host, so each takes the same requests.
    let port = Server::new().await.port;
    let one = std::env::var("HEARTH_BENCH_ENGINE").unwrap_or_default();
    let engines: Vec<Engine> = std::iter::once(Engine::Sqlite)
        .chain(Engine::postgres())
        .filter(|engine| {
            !matches!(
                (one.as_str(), engine),
                ("sqlite", Engine::Postgres(_)) | ("postgres", Engine::Sqlite)
            )
        })
        .collect();
    let mut signed = None;
    for engine in &engines {
        for members_servers in [MembersServers::Down, MembersServers::Up] {
            let mut server = Server::on_port(port, engine);
            server.person_and_group().await;
            server.start().await;
            let (_, group) = server.group().await;
            // Signed before the clock starts: one process cannot sign as fast as a server
            // verifies.
            let signed = signed
                .get_or_insert_with(|| {
                    let inbox = server.url("/groups/support/inbox");
                    Arc::new(presign(&peers, &inbox, &group, 4000 * seconds as usize))
                })
                .clone();
            join_then_ingest(
                &mut server,
                &peers,
                &group,
                &signed,
                seconds,
                members_servers,
            )
            .await;
            server.kill().await;
        }
    }
}

/// A `Create{Note}` into the group, signed by one of 50 actors on the 10 `peers`, and the
/// note's id.
struct Presigned {
    headers: http::HeaderMap,
    body: Vec<u8>,
    note: String,
}

/// Signs `total` posts into `group` ahead of time, on every core: one process cannot sign as
/// fast as a server verifies.
fn presign(peers: &[StubPeer], inbox: &Url, group: &str, total: usize) -> Vec<Presigned> {
    let started = Instant::now();
    let keys: Vec<(hearth_tests::Signer, aws_lc_rs::rsa::KeyPair)> = peers
        .iter()
        .map(|p| {
            let signer = p.signer("m0");
            let (_, der) = rsa::pkcs8::SecretDocument::from_pem(&signer.private_key_pem)
                .unwrap_or_else(|e| panic!("{e}"));
            let key = aws_lc_rs::rsa::KeyPair::from_pkcs8(der.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            (signer, key)
        })
        .collect();
    let bases: Vec<Url> = peers.iter().map(|p| p.base.clone()).collect();
    let servers = peers.len();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let signed: Vec<Presigned> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (keys, bases) = (&keys, &bases);
                scope.spawn(move || {
                    (t..total)
                        .step_by(threads)
                        .map(|i| {
                            let (p, a) = (i % servers, (i / servers) % 5);
                            let actor = format!("{}users/m{a}", bases[p]);
                            let note = format!("{actor}/statuses/{i}");
                            let body = serde_json::to_vec(&json!({
                                "@context": "https://www.w3.org/ns/activitystreams",
                                "id": format!("{note}/activity"), "type": "Create", "actor": actor,
                                "to": [AS_PUBLIC], "cc": [group],
                                "object": { "id": note, "type": "Note", "attributedTo": actor,
                                    "content": format!("<p>How is everyone doing today? Update {i}.</p>"),
                                    "published": chrono::Utc::now().to_rfc3339(),
                                    "to": [AS_PUBLIC], "cc": [group], "audience": group },
                            }))
                            .unwrap_or_default();
                            let mut signer = keys[p].0.clone();
                            signer.key_id = format!("{actor}#main-key");
                            let headers = signer.sign_post_by(inbox, &body, |text| {
                                let key = &keys[p].1;
                                let mut signature = vec![0; key.public_modulus_len()];
                                key.sign(
                                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                                    &aws_lc_rs::rand::SystemRandom::new(),
                                    text,
                                    &mut signature,
                                )
                                .unwrap_or_else(|e| panic!("{e}"));
                                signature
                            });
                            Presigned { headers, body, note }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let signing = started.elapsed();
    println!(
        "signing (load generator, AWS-LC, {threads} threads): {} requests in {:.1} s = {:.0} signatures/s",
        signed.len(),
        signing.as_secs_f64(),
        signed.len() as f64 / signing.as_secs_f64()
    );
    signed
}

/// The length of the windows an ingest run's rate is reported in.
const WINDOW_SECONDS: u64 = 5;

/// How many connections the load generator keeps busy (`HEARTH_BENCH_CONNECTIONS`, 32).
fn connections() -> usize {
    std::env::var("HEARTH_BENCH_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(32)
}

/// Whether the group's member servers take its shares during an ingest run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MembersServers {
    /// They answer 503: the inbox alone is measured, the shares wait in the queue.
    Down,
    /// They answer 202: the server also delivers the shares.
    Up,
}

async fn join_then_ingest(
    server: &mut Server,
    peers: &[StubPeer],
    group: &str,
    signed: &Arc<Vec<Presigned>>,
    seconds: u64,
    members_servers: MembersServers,
) {
    for peer in peers {
        peer.answer_with(202, None);
    }
    join(peers, 5, server, group).await;
    let engine = if server.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let label = match members_servers {
        MembersServers::Down => format!("{engine}, members' servers down"),
        MembersServers::Up => format!("{engine}, members' servers up"),
    };
    if members_servers == MembersServers::Down {
        for peer in peers {
            peer.answer_with(503, None);
        }
    }
    let shared_before: usize = peers.iter().map(|p| shared(p).len()).sum();
    let inbox = server.url("/groups/support/inbox");
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    // Accepted per window of the run, to show whether the rate holds as the tables grow.
    let windows: Arc<Vec<AtomicUsize>> = Arc::new(
        (0..seconds.div_ceil(WINDOW_SECONDS) + 1)
            .map(|_| AtomicUsize::new(0))
            .collect(),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = server.cpu();
    let database_before = server.database_cpu();
    let clock = Instant::now();
    let workers: Vec<_> = (0..connections())
        .map(|_| {
            let (signed, next, latencies, refused, windows, client, inbox) = (
                signed.clone(),
                next.clone(),
                latencies.clone(),
                refused.clone(),
                windows.clone(),
                client.clone(),
                inbox.clone(),
            );
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(Presigned { headers, body, .. }) = signed.get(i) else {
                        break;
                    };
                    let sent = Instant::now();
                    let status = client
                        .post(inbox.clone())
                        .headers(headers.clone())
                        .body(body.clone())
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    if status == 202 {
                        mine.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        let window = clock.elapsed().as_secs() / WINDOW_SECONDS;
                        if let Some(count) = windows.get(window as usize) {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    } else {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if let Ok(mut all) = latencies.lock() {
                    all.extend(mine);
                }
            })
        })
        .collect();
    futures::future::join_all(workers).await;
    let elapsed = clock.elapsed();
    let cpu = server.cpu() - cpu_before;
    // What PostgreSQL's processes for this database used meanwhile (those that ended during
    // the run are missed: the server keeps its connections).
    let database_cpu: Duration = server
        .database_cpu()
        .into_iter()
        .map(|(pid, now)| {
            now.saturating_sub(database_before.get(&pid).copied().unwrap_or_default())
        })
        .sum();
    let mut latencies = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    latencies.sort_unstable();
    let accepted = latencies.len();
    let exhausted = if next.load(Ordering::Relaxed) >= signed.len() {
        " (all presigned requests used)"
    } else {
        ""
    };
    println!(
        "inbox ingest, {label} (50 actors on 10 servers, {} connections, {:.1} s{exhausted}): {accepted} accepted, {} refused",
        connections(),
        elapsed.as_secs_f64(),
        refused.load(Ordering::Relaxed)
    );
    println!(
        "  {:.0} activities/s   p50 {:.1} ms   p99 {:.1} ms   server CPU {:.0} µs/activity   peak RSS {:.1} MiB",
        accepted as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        cpu.as_micros() as f64 / accepted.max(1) as f64,
        server.peak_rss_mib()
    );
    let rates: Vec<String> = windows
        .iter()
        .take((elapsed.as_secs() / WINDOW_SECONDS) as usize)
        .map(|count| count.load(Ordering::Relaxed))
        .map(|count| format!("{:.0}", count as f64 / WINDOW_SECONDS as f64))
        .collect();
    println!(
        "  activities/s in each {WINDOW_SECONDS} s of the run: {}",
        rates.join(" ")
    );
    if server.postgres.is_some() {
        println!(
            "  PostgreSQL's processes for this database: {:.0} µs of CPU per activity",
            database_cpu.as_micros() as f64 / accepted.max(1) as f64
        );
    }
    let queued = server.cli(&["federation", "status"], None).await;
    let waiting: usize = queued
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<usize>().ok())
        .sum();
    println!(
        "  group shares delivered during the run: {}; still queued: {waiting}",
        peers.iter().map(|p| shared(p).len()).sum::<usize>() - shared_before
    );
}

/// Delivery: a busy group's backlog, queued while its members' 10 servers were down, sent once
/// they are back (sustained signed deliveries/s and server CPU per delivery); then posts
/// arriving at a steady 150/s, 1,500 deliveries/s, and how long each waited in the queue
/// (from the inbox's 202 to the member server's receipt).
async fn delivery(seconds: u64) {
    let mut peers = Vec::new();
    for n in 0..10 {
        let software = if n % 2 == 0 { "mastodon" } else { "lemmy" };
        peers.push(StubPeer::start_as(Some(software)).await);
    }
    let mut server = Server::new().await;
    server.person_and_group().await;
    server.start().await;
    let (_, group) = server.group().await;
    join(&peers, 5, &server, &group).await;
    let inbox = server.url("/groups/support/inbox");
    let per_second = 150;
    // Twice what the target would send in the measured window, so that it never runs dry.
    let backlog = 2 * per_second * seconds as usize;
    let mut signed = presign(
        &peers,
        &inbox,
        &group,
        backlog + per_second * seconds as usize,
    );
    let steady = signed.split_off(backlog);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    // The backlog: the members' servers are down while the posts come in.
    for peer in &peers {
        peer.answer_with(503, None);
    }
    let signed = Arc::new(signed);
    let next = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..connections())
        .map(|_| {
            let (signed, next, client, inbox) =
                (signed.clone(), next.clone(), client.clone(), inbox.clone());
            tokio::spawn(async move {
                while let Some(post) = signed.get(next.fetch_add(1, Ordering::Relaxed)) {
                    accept(&client, &inbox, post).await;
                }
            })
        })
        .collect();
    futures::future::join_all(senders).await;
    let arrived = || peers.iter().map(StubPeer::received_count).sum::<usize>();
    // Let the attempts against the servers that were down settle into their backoff.
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The servers come back: the backlog is sent for `seconds`.
    for peer in &peers {
        peer.answer_with(202, None);
    }
    let before = arrived();
    for peer in &peers {
        server
            .cli(&["federation", "retry", &peer.domain], None)
            .await;
    }
    wait_for(
        "the first delivery of the backlog",
        Duration::from_secs(30),
        || arrived() > before,
    )
    .await;
    let (start, cpu_before, clock) = (arrived(), server.cpu(), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (sent, cpu, elapsed) = (
        arrived() - start,
        server.cpu() - cpu_before,
        clock.elapsed(),
    );
    println!(
        "delivery of a backlog ({} posts into a group with 50 members on 10 servers, queued while the servers were down; {:.1} s measured):",
        signed.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "  {:.0} signed deliveries/s   server CPU {:.0} µs/delivery   peak RSS {:.1} MiB",
        sent as f64 / elapsed.as_secs_f64(),
        cpu.as_micros() as f64 / sent.max(1) as f64,
        server.peak_rss_mib()
    );

    // The rest of the backlog is dropped; then posts arrive at a steady rate.
    for peer in &peers {
        server
            .cli(&["federation", "drop", &peer.domain], None)
            .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first: Vec<usize> = peers.iter().map(StubPeer::received_count).collect();
    let mut accepted_at = std::collections::HashMap::new();
    let (cpu_before, clock) = (server.cpu(), Instant::now());
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_second as u32);
    let mut answers = futures::stream::FuturesUnordered::new();
    for post in &steady {
        tick.tick().await;
        let (client, inbox) = (&client, &inbox);
        answers.push(async move { (accept(client, inbox, post).await, &post.note) });
        while let Some(Some((at, note))) =
            futures::FutureExt::now_or_never(futures::StreamExt::next(&mut answers))
        {
            accepted_at.insert(note.clone(), at);
        }
    }
    while let Some((at, note)) = futures::StreamExt::next(&mut answers).await {
        accepted_at.insert(note.clone(), at);
    }
    let expected = steady.len() * peers.len();
    let arrived_since = || {
        peers
            .iter()
            .zip(&first)
            .map(|(p, f)| p.received_count() - f)
            .sum::<usize>()
    };
    wait_for("every steady delivery", Duration::from_secs(120), || {
        arrived_since() >= expected
    })
    .await;
    let (cpu, elapsed) = (server.cpu() - cpu_before, clock.elapsed());
    let mut waited: Vec<u32> = peers
        .iter()
        .zip(&first)
        .flat_map(|(p, f)| p.received().into_iter().skip(*f))
        .filter_map(|d| {
            let note = match &d.body["object"] {
                Value::String(id) => id.clone(),
                object => object["object"]["id"].as_str()?.to_owned(),
            };
            let accepted = accepted_at.get(&note)?;
            Some(
                d.at.saturating_duration_since(*accepted)
                    .as_micros()
                    .min(u128::from(u32::MAX)) as u32,
            )
        })
        .collect();
    waited.sort_unstable();
    println!(
        "steady delivery ({per_second} posts/s into the group = {} deliveries/s offered, {:.1} s): {} delivered",
        per_second * peers.len(),
        elapsed.as_secs_f64(),
        waited.len()
    );
    println!(
        "  queue age p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms   server CPU {:.0} µs per post and its 10 deliveries",
        percentile(&waited, 0.50),
        percentile(&waited, 0.99),
        waited.last().map_or(0.0, |&m| f64::from(m) / 1000.0),
        cpu.as_micros() as f64 / steady.len().max(1) as f64
    );
    server.kill().await;
}

/// Posts one presigned activity until the inbox takes it; returns when it did.
async fn accept(client: &reqwest::Client, inbox: &Url, post: &Presigned) -> Instant {
    loop {
        let status = client
            .post(inbox.clone())
            .headers(post.headers.clone())
            .body(post.body.clone())
            .send()
            .await
            .map(|r| r.status().as_u16());
        match status {
            Ok(202) => return Instant::now(),
            Ok(status) => panic!("the inbox answered {status}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The group ids of the posts a peer acknowledged (2xx), in either form.
fn shared(peer: &StubPeer) -> Vec<String> {
    peer.received()
        .into_iter()
        .filter(|d| (200..300).contains(&d.answered) && d.body["type"] == "Announce")
        .filter_map(|d| match &d.body["object"] {
            Value::String(id) => Some(id.clone()),
            object => object["object"]["id"].as_str().map(Into::into),
        })
        .collect()
}

/// Fan-out, then outage and crash, on one server with 1,000 members on 50 peers.
async fn fan_out_outage_and_crash() {
    let mut server = Server::new().await;
    let token = server.person_and_group().await;
    server.start().await;
    let (group_id, group) = server.group().await;
    let mut peers = Vec::new();
    for n in 0..50 {
        let software = if n % 2 == 0 { "gotosocial" } else { "lemmy" };
        peers.push(StubPeer::start_as(Some(software)).await);
    }
    join(&peers, 20, &server, &group).await;
    let client = reqwest::Client::new();

    // Fan-out.
    for peer in &peers {
        peer.answer_after(Duration::from_millis(50));
    }
    let before: Vec<usize> = peers.iter().map(StubPeer::received_count).collect();
    let cpu_before = server.cpu();
    let clock = Instant::now();
    server
        .post(
            &client,
            &token,
            &group_id,
            "Clinic news: the group meets on Thursday.",
        )
        .await;
    wait_for("the post on every peer", Duration::from_secs(60), || {
        peers.iter().all(|p| !shared(p).is_empty())
    })
    .await;
    let all_have_it = clock.elapsed();
    let cpu = server.cpu() - cpu_before;
    tokio::time::sleep(Duration::from_secs(2)).await; // anything more that would come
    let posts: usize = peers
        .iter()
        .zip(&before)
        .map(|(p, b)| p.received_count() - b)
        .sum();
    println!(
        "fan-out (1 post, 1,000 members on 50 servers answering after 50 ms): all 50 have it after {:.0} ms; {posts} POSTs, {posts} signatures; server CPU {:.0} ms",
        all_have_it.as_secs_f64() * 1000.0,
        cpu.as_secs_f64() * 1000.0
    );

    // Outage and crash.
    for peer in &peers {
        peer.answer_after(Duration::ZERO);
    }
    let (down, up) = peers.split_at(5);
    for peer in down {
        peer.answer_with(503, None);
    }
    let count = 100;
    for n in 0..count {
        server
            .post(
                &client,
                &token,
                &group_id,
                &format!("Update {n} from the clinic"),
            )
            .await;
    }
    // Posts each peer has, counted once however often they arrived (the fan-out's included).
    let total = peers.len() * (count + 1);
    let delivered = || {
        peers
            .iter()
            .map(|p| shared(p).into_iter().collect::<BTreeSet<_>>().len())
            .sum::<usize>()
    };
    let first = delivered();
    wait_for("a third delivered", Duration::from_secs(120), || {
        delivered() >= first + up.len() * count / 3
    })
    .await;
    server.kill().await;
    let at_kill = delivered();
    for peer in down {
        peer.answer_with(202, None);
    }
    let clock = Instant::now();
    server.start().await;
    for peer in down {
        server
            .cli(&["federation", "retry", &peer.domain], None)
            .await;
    }
    wait_for("the backlog", Duration::from_secs(600), || {
        delivered() == total
    })
    .await;
    let drained = clock.elapsed();
    let lost = total - delivered();
    let received: usize = peers.iter().map(|p| shared(p).len()).sum();
    println!(
        "outage and crash ({count} posts to 50 servers, 5 answering 503, kill -9 after {at_kill} of {total} deliveries): {lost} lost, {} delivered twice",
        received - total
    );
    println!(
        "  backlog of {} deliveries drained in {:.1} s = {:.0} deliveries/s after restart",
        total - at_kill,
        drained.as_secs_f64(),
        (total - at_kill) as f64 / drained.as_secs_f64()
    );
    server.kill().await;
}

fn main() {
    let seconds = std::env::var("HEARTH_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("hearth federation figures (release build, {cpus} CPUs, loopback)");
    // HEARTH_BENCH_ONLY=fan-out, =delivery or =ingest runs one part.
    let only = std::env::var("HEARTH_BENCH_ONLY").unwrap_or_default();
    let runs = |part: &str| only.is_empty() || only == part;
    runtime.block_on(async {
        if runs("fan-out") {
            fan_out_outage_and_crash().await;
        }
        if runs("delivery") {
            delivery(seconds.min(30)).await;
        }
        if runs("ingest") {
            ingest(seconds).await;
        }
    });
}
