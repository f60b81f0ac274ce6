//! The `hearth` binary as a newcomer and as scripts use it, on SQLite and PostgreSQL.

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const HEARTH: &str = env!("CARGO_BIN_EXE_hearth");

/// A scratch database: a SQLite file in a temporary directory, or a fresh PostgreSQL database
/// (when `HEARTH_TEST_POSTGRES_URL` is set) dropped afterwards.
struct Scratch {
    dir: tempfile::TempDir,
    url: String,
    postgres: Option<(String, String)>,
}

impl Scratch {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}", dir.path().join("db/hearth.db").display());
        Self {
            dir,
            url,
            postgres: None,
        }
    }

    fn postgres() -> Option<Self> {
        let Ok(server) = std::env::var("HEARTH_TEST_POSTGRES_URL") else {
            assert_ne!(
                std::env::var("HEARTH_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "PostgreSQL required"
            );
            eprintln!("skipped: set HEARTH_TEST_POSTGRES_URL to run this test on PostgreSQL");
            return None;
        };
        let name = format!("hearth_cli_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::establish(&server).unwrap_or_else(|e| panic!("{e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut url = url::Url::parse(&server).unwrap_or_else(|e| panic!("{e}"));
        url.set_path(&format!("/{name}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        Some(Self {
            dir,
            url: url.to_string(),
            postgres: Some((server, name)),
        })
    }

    /// `hearth ARGS` with this database and `stdin`.
    fn hearth(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(HEARTH);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HEARTH_DATABASE_URL", &self.url)
            .env("HEARTH_DATA_DIR", self.dir.path().join("data"))
            .env("HEARTH_DOMAIN", "clinic.localhost:8080");
        command
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take()
            && let Ok(mut conn) = PgConnection::establish(&server)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn engines() -> Vec<Scratch> {
    let mut all = vec![Scratch::sqlite()];
    all.extend(Scratch::postgres());
    all
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    for db in engines() {
        for run in 0..2 {
            let out = db.hearth(&["migrate"], "");
            assert!(
                out.status.success(),
                "{} run {run}: {}",
                db.url,
                text(&out.stderr)
            );
            assert!(
                text(&out.stderr).contains("up to date"),
                "{}",
                text(&out.stderr)
            );
        }
    }
}

#[test]
fn scripts_create_people_groups_and_tokens() {
    for db in engines() {
        let created = db.hearth(
            &[
                "user",
                "create",
                "Nurse_Ana",
                "--role",
                "clinician",
                "--password-stdin",
            ],
            "a long enough password\n",
        );
        assert!(created.status.success(), "{}", text(&created.stderr));
        assert!(
            text(&created.stderr).contains("@nurse_ana@clinic.localhost:8080"),
            "{}",
            text(&created.stderr)
        );
        assert!(created.stdout.is_empty(), "only tokens go to stdout");

        let group = db.hearth(
            &[
                "group",
                "create",
                "long_covid",
                "--name",
                "Long COVID",
                "--description",
                "Peer support",
            ],
            "",
        );
        assert!(group.status.success(), "{}", text(&group.stderr));

        let token = db.hearth(&["token", "create", "nurse_ana"], "");
        assert!(token.status.success(), "{}", text(&token.stderr));
        let stdout = text(&token.stdout);
        assert_eq!(
            stdout.lines().count(),
            1,
            "the token alone on stdout: {stdout:?}"
        );
        assert!(
            stdout.trim().len() >= 40
                && stdout
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );

        let private = db.hearth(
            &[
                "group",
                "create",
                "survivors",
                "--name",
                "Survivors",
                "--visibility",
                "members_only",
                "--owner",
                "nurse_ana",
            ],
            "",
        );
        assert!(private.status.success(), "{}", text(&private.stderr));
        let unknown_visibility = db.hearth(
            &[
                "group",
                "create",
                "other",
                "--name",
                "Other",
                "--visibility",
                "secret",
            ],
            "",
        );
        assert!(!unknown_visibility.status.success());
        assert!(
            text(&unknown_visibility.stderr).contains("use public or members_only"),
            "{}",
            text(&unknown_visibility.stderr)
        );

        let taken = db.hearth(&["group", "create", "NURSE_ANA", "--name", "Clash"], "");
        assert!(!taken.status.success());
        assert!(
            text(&taken.stderr).contains("already taken"),
            "{}",
            text(&taken.stderr)
        );

        let short = db.hearth(&["user", "create", "ben", "--password-stdin"], "short\n");
        assert!(!short.status.success());
        assert!(
            text(&short.stderr).contains("at least 10 characters"),
            "{}",
            text(&short.stderr)
        );

        let no_terminal = db.hearth(&["user", "create", "ben"], "");
        assert!(!no_terminal.status.success());
        assert!(
            text(&no_terminal.stderr).contains("--password-stdin"),
            "{}",
            text(&no_terminal.stderr)
        );

        let unknown = db.hearth(&["token", "create", "nobody"], "");
        assert!(!unknown.status.success());
        assert!(
            text(&unknown.stderr).contains("no local person"),
            "{}",
            text(&unknown.stderr)
        );

        let bad_role = db.hearth(
            &[
                "user",
                "create",
                "ben",
                "--role",
                "owner",
                "--password-stdin",
            ],
            "a long enough password\n",
        );
        assert!(!bad_role.status.success());
        assert!(
            text(&bad_role.stderr).contains("possible values"),
            "{}",
            text(&bad_role.stderr)
        );
    }
}

impl Scratch {
    /// Runs SQL on the scratch database directly (to put an account in the state a sign-up
    /// leaves it in, without a running server).
    fn sql(&self, sql: &str) {
        use diesel::connection::SimpleConnection;
        let done = match self.url.strip_prefix("sqlite://") {
            Some(path) => diesel::sqlite::SqliteConnection::establish(path)
                .map_err(|e| e.to_string())
                .and_then(|mut c| c.batch_execute(sql).map_err(|e| e.to_string())),
            None => PgConnection::establish(&self.url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| c.batch_execute(sql).map_err(|e| e.to_string())),
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Creates `name` and leaves it waiting for approval with `reason`, as a sign-up in
    /// approval mode does.
    fn waiting_account(&self, name: &str, reason: &str) {
        let created = self.hearth(
            &["user", "create", name, "--password-stdin"],
            "a long enough password\n",
        );
        assert!(created.status.success(), "{}", text(&created.stderr));
        self.sql(&format!(
            "UPDATE users SET approved = FALSE, sign_up_reason = '{reason}' \
             WHERE actor_id = (SELECT id FROM actors WHERE username = '{name}')"
        ));
    }
}

#[test]
fn invites_and_the_approval_queue_from_scripts() {
    for db in engines() {
        let invite = db.hearth(
            &[
                "invite",
                "create",
                "--max-uses",
                "2",
                "--expires-in-days",
                "3",
            ],
            "",
        );
        assert!(invite.status.success(), "{}", text(&invite.stderr));
        let code = text(&invite.stdout).trim().to_owned();
        assert_eq!(
            text(&invite.stdout).lines().count(),
            1,
            "the code alone on stdout"
        );
        assert!(
            code.len() == 12
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "{code}"
        );
        let stderr = text(&invite.stderr);
        assert!(
            stderr.contains(&format!(
                "http://clinic.localhost:8080/auth/sign_up?invite={code}"
            )) && stderr.contains("2 sign-ups"),
            "{stderr}"
        );
        let useless = db.hearth(&["invite", "create", "--max-uses", "0"], "");
        assert!(!useless.status.success());

        let empty = db.hearth(&["user", "pending"], "");
        assert!(empty.status.success(), "{}", text(&empty.stderr));
        assert_eq!(
            text(&empty.stdout).trim(),
            "no accounts waiting for approval"
        );

        db.waiting_account("maria", "My nurse sent me");
        db.waiting_account("spam", "Buy now");
        let pending = db.hearth(&["user", "pending"], "");
        let listed = text(&pending.stdout);
        assert_eq!(listed.lines().count(), 2, "{listed}");
        assert!(
            listed.contains("maria") && listed.contains("My nurse sent me"),
            "{listed}"
        );
        let hidden = db.hearth(&["token", "create", "maria"], "");
        assert!(!hidden.status.success(), "a waiting account is nobody yet");

        let approved = db.hearth(&["user", "approve", "Maria"], "");
        assert!(approved.status.success(), "{}", text(&approved.stderr));
        assert!(text(&approved.stderr).contains("approved @maria"));
        let token = db.hearth(&["token", "create", "maria"], "");
        assert!(token.status.success(), "{}", text(&token.stderr));
        let twice = db.hearth(&["user", "approve", "maria"], "");
        assert!(!twice.status.success());
        assert!(
            text(&twice.stderr).contains("not waiting for approval"),
            "{}",
            text(&twice.stderr)
        );
        let not_rejectable = db.hearth(&["user", "reject", "maria"], "");
        assert!(
            !not_rejectable.status.success(),
            "an approved account stays"
        );

        let rejected = db.hearth(&["user", "reject", "spam"], "");
        assert!(rejected.status.success(), "{}", text(&rejected.stderr));
        let pending = db.hearth(&["user", "pending"], "");
        assert_eq!(
            text(&pending.stdout).trim(),
            "no accounts waiting for approval"
        );
        let unknown = db.hearth(&["user", "approve", "spam"], "");
        assert!(
            !unknown.status.success() && text(&unknown.stderr).contains("no local person"),
            "{}",
            text(&unknown.stderr)
        );
        let again = db.hearth(
            &["user", "create", "spam", "--password-stdin"],
            "a long enough password\n",
        );
        assert!(again.status.success(), "the handle is free again");
    }
}

#[test]
fn a_database_that_cannot_be_reached_is_named_with_its_cause() {
    let db = Scratch::sqlite();
    let mut refused = db.command(&["migrate"]);
    refused.env(
        "HEARTH_DATABASE_URL",
        "postgres://hearth:secret@127.0.0.1:1/hearth",
    );
    let out = refused.output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password must not be printed: {stderr}"
    );

    let mut unsupported = db.command(&["migrate"]);
    unsupported.env("HEARTH_DATABASE_URL", "mysql://localhost/hearth");
    let out = unsupported.output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text(&out.stderr).contains("unsupported database URL"),
        "{}",
        text(&out.stderr)
    );

    if let Ok(server) = std::env::var("HEARTH_TEST_POSTGRES_URL") {
        let mut url = url::Url::parse(&server).unwrap_or_else(|e| panic!("{e}"));
        url.set_path("/hearth_no_such_database");
        let mut missing = db.command(&["migrate"]);
        missing.env("HEARTH_DATABASE_URL", url.as_str());
        let out = missing.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text(&out.stderr).contains("does not exist"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// What the README's first command does: `hearth serve` with nothing configured creates its
/// SQLite database, answers on HTTP, and tells how to create the first admin.
#[test]
fn serve_starts_a_working_instance_with_no_configuration() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Command::new(HEARTH)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HEARTH_BIND", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let (address, banner) = read_banner(&mut server);
    let nodeinfo = http_get(&format!("http://{address}/nodeinfo/2.1"));
    let _ = server.kill();
    let _ = server.wait();
    assert!(nodeinfo.contains("\"name\":\"hearth\""), "{nodeinfo}");
    assert!(
        banner.contains("hearth user create NAME --role admin"),
        "{banner}"
    );
    assert!(
        dir.path().join("data/hearth.db").exists(),
        "the SQLite file is in ./data"
    );
}

/// Reads stderr until the listening line; returns the address and everything read.
fn read_banner(server: &mut Child) -> (String, String) {
    let stderr = server.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut lines = BufReader::new(stderr).lines();
    let started = Instant::now();
    let mut seen = String::new();
    let mut address = None;
    while started.elapsed() < Duration::from_secs(60) {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split("listening on http://").nth(1) {
            address = rest.split([',', ' ']).next().map(str::to_owned);
        }
        if address.is_some() && seen.contains("--role admin") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    (
        address.unwrap_or_else(|| panic!("the server never said where it listens:\n{seen}")),
        seen,
    )
}

/// A minimal blocking HTTP GET over a plain TCP socket.
fn http_get(url: &str) -> String {
    use std::io::Read;
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("{e}"));
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

/// `hearth admin account sensitive|unsensitive NAME` and `hearth admin crisis-resources
/// set|show`: each says what it did, refuses what it cannot do, and is on the audit record.
#[test]
fn moderators_sensitize_accounts_and_set_crisis_resources() {
    for db in engines() {
        let created = db.hearth(
            &["user", "create", "ben", "--password-stdin"],
            "a long enough password\n",
        );
        assert!(created.status.success(), "{}", text(&created.stderr));

        let none = db.hearth(&["admin", "crisis-resources", "show"], "");
        assert!(none.status.success(), "{}", text(&none.stderr));
        assert_eq!(text(&none.stdout).trim(), "no crisis resources set");

        let sensitive = db.hearth(
            &[
                "admin",
                "account",
                "sensitive",
                "ben",
                "--reason",
                "graphic",
            ],
            "",
        );
        assert!(sensitive.status.success(), "{}", text(&sensitive.stderr));
        assert!(
            text(&sensitive.stderr)
                .contains("@ben is in good standing, its posts shown as sensitive"),
            "{}",
            text(&sensitive.stderr)
        );
        let lifted = db.hearth(&["admin", "account", "unsensitive", "ben"], "");
        assert!(lifted.status.success(), "{}", text(&lifted.stderr));
        assert_eq!(text(&lifted.stderr).trim(), "@ben is in good standing");
        let nobody = db.hearth(&["admin", "account", "sensitive", "nobody"], "");
        assert!(!nobody.status.success(), "no such account");

        let file = db.dir.path().join("crisis.txt");
        std::fs::write(&file, "Call 988, or your clinic's line: 555-0100\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let path = file.display().to_string();
        let set = db.hearth(&["admin", "crisis-resources", "set", &path], "");
        assert!(set.status.success(), "{}", text(&set.stderr));
        let shown = db.hearth(&["admin", "crisis-resources", "show"], "");
        assert_eq!(
            text(&shown.stdout).trim(),
            "Call 988, or your clinic's line: 555-0100"
        );
        let set = db.hearth(
            &["admin", "crisis-resources", "set", "--text", "Call 988"],
            "",
        );
        assert!(set.status.success(), "{}", text(&set.stderr));
        let shown = db.hearth(&["admin", "crisis-resources", "show"], "");
        assert_eq!(text(&shown.stdout).trim(), "Call 988");
        let neither = db.hearth(&["admin", "crisis-resources", "set"], "");
        assert!(!neither.status.success(), "a FILE or --text is needed");
        let missing = db.hearth(&["admin", "crisis-resources", "set", "/no/such/file"], "");
        assert!(!missing.status.success());
        assert_eq!(
            text(&db.hearth(&["admin", "crisis-resources", "show"], "").stdout).trim(),
            "Call 988",
            "a failed set changes nothing"
        );

        let log = db.hearth(&["audit", "list"], "");
        assert!(log.status.success(), "{}", text(&log.stderr));
        let log = text(&log.stdout);
        for action in [
            "account.sensitive",
            "account.unsensitive",
            "settings.crisis_resources",
        ] {
            assert!(log.contains(action), "{action} in {log}");
        }
        let verified = db.hearth(&["audit", "verify"], "");
        assert!(verified.status.success(), "{}", text(&verified.stderr));
    }
}

#[test]
fn admins_set_the_federation_policy_from_scripts() {
    for db in engines() {
        let run = |args: &[&str], stdin: &str| {
            let out = db.hearth(args, stdin);
            assert!(
                out.status.success(),
                "{args:?}: {}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
            text(&out.stdout)
        };
        let shown = run(&["admin", "federation-mode"], "");
        assert!(shown.starts_with("federation mode: open"), "{shown}");

        let said = run(
            &[
                "admin",
                "domain",
                "silence",
                "Loud.Example.",
                "--reason",
                "Spam waves",
            ],
            "",
        );
        assert!(
            said.contains("loud.example: silence; mode blocklist"),
            "a first block switches to blocklist: {said}"
        );
        let said = run(&["admin", "domain", "reject-media", "loud.example"], "");
        assert!(
            said.contains("loud.example: silence, reject media"),
            "added to the rule, not replacing it: {said}"
        );
        run(&["admin", "domain", "suspend", "bad.example:8443"], "");
        run(&["admin", "domain", "allow", "clinic.example"], "");

        let list = run(&["admin", "domain", "list"], "");
        assert!(list.contains("mode: blocklist"), "{list}");
        assert!(list.contains("bad.example:8443"), "{list}");
        assert!(
            list.contains("silence, reject media  (Spam waves)"),
            "{list}"
        );
        assert!(list.contains("allowed  clinic.example"), "{list}");

        let exported = db.dir.path().join("blocks.csv");
        let path = exported.display().to_string();
        run(&["admin", "domain", "export", &path], "");
        let csv = std::fs::read_to_string(&exported).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            csv.starts_with("#domain,#severity,#reject_media,#reject_reports,#public_comment"),
            "{csv}"
        );
        assert!(csv.contains("loud.example,silence,true,false"), "{csv}");

        run(&["admin", "domain", "remove", "loud.example"], "");
        run(&["admin", "domain", "remove", "bad.example:8443"], "");
        let bad = db.hearth(
            &["admin", "domain", "import", "-"],
            "#domain,#severity\nok.example,silence\nnope.example,obliterate\n",
        );
        assert!(!bad.status.success(), "a bad row fails the import");
        assert!(
            text(&bad.stderr).contains("line 3"),
            "{}",
            text(&bad.stderr)
        );
        let list = run(&["admin", "domain", "list"], "");
        assert!(
            !list.contains("ok.example"),
            "nothing of a bad file: {list}"
        );
        let said = run(&["admin", "domain", "import", &path], "");
        assert!(said.contains("2 domain blocks imported"), "{said}");
        let list = run(&["admin", "domain", "list"], "");
        assert!(list.contains("loud.example"), "{list}");

        let missing = db.hearth(&["admin", "domain", "remove", "never.example"], "");
        assert!(!missing.status.success(), "no rule to remove");
        let bogus = db.hearth(&["admin", "domain", "suspend", "not a domain"], "");
        assert!(!bogus.status.success());
        assert!(
            text(&bogus.stderr).contains("is not a domain"),
            "{}",
            text(&bogus.stderr)
        );

        let said = run(
            &[
                "admin",
                "federation-mode",
                "allowlist",
                "--public-list",
                "true",
            ],
            "",
        );
        assert!(
            said.contains("federation mode: allowlist") && said.contains("block list public"),
            "{said}"
        );

        let log = run(&["audit", "list", "--limit", "100"], "");
        for action in [
            "domain.block",
            "domain.unblock",
            "domain.allow",
            "federation.mode",
            "federation.public_list",
        ] {
            assert!(log.contains(action), "{action} in {log}");
        }
        run(&["audit", "verify"], "");
    }
}
