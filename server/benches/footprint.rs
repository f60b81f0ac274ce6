//! Footprint of `hearth serve` (release build): time from process start to the first 200 on
//! `/.well-known/nodeinfo`, on a new database and on an existing one, and resident memory
//! when idle. Run with `cargo bench -p hearth --bench footprint`.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const HEARTH: &str = env!("CARGO_BIN_EXE_hearth");
const RUNS: usize = 10;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn start(dir: &Path, port: u16) -> Child {
    Command::new(HEARTH)
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("HEARTH_BIND", format!("127.0.0.1:{port}"))
        .env("HEARTH_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Milliseconds from `started` until the server on `port` first answers 200 on NodeInfo.
fn time_to_first_200(port: u16, started: Instant) -> Option<f64> {
    while started.elapsed() < Duration::from_secs(30) {
        if get_status(port, "/.well-known/nodeinfo") == Some(200) {
            return Some(started.elapsed().as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    None
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn summary(label: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    println!(
        "{label:<44} median {median:7.1} ms   min {:7.1} ms   max {:7.1} ms   ({} runs)",
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    );
}

fn main() {
    let mut fresh = Vec::new();
    let mut existing = Vec::new();
    let mut idle = Vec::new();
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let port = free_port();
        let started = Instant::now();
        let child = start(dir.path(), port);
        let ms = time_to_first_200(port, started);
        stop(child);
        fresh.push(ms.unwrap_or_else(|| panic!("the server did not start")));

        let port = free_port();
        let started = Instant::now();
        let mut child = start(dir.path(), port);
        let Some(ms) = time_to_first_200(port, started) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start");
        };
        existing.push(ms);
        for path in ["/api/v1/instance", "/nodeinfo/2.1", "/actor", "/healthz"] {
            let _ = get_status(port, path);
        }
        std::thread::sleep(Duration::from_secs(2));
        idle.push(rss_kib(child.id()));
        stop(child);
    }
    println!("hearth serve footprint (release build, SQLite, this machine)");
    summary("start to first 200, new database + key", fresh);
    summary("start to first 200, existing database", existing);
    let rss: Vec<f64> = idle.iter().map(|(rss, _)| *rss as f64 / 1024.0).collect();
    let peak: Vec<f64> = idle.iter().map(|(_, hwm)| *hwm as f64 / 1024.0).collect();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{:<44} median {:7.1} MiB (peak during start {:.1} MiB)",
        "idle RSS after start and 4 requests",
        median(rss),
        median(peak)
    );
}
