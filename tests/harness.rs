//! Test harness: real Hearth instances on ephemeral loopback ports, each with a fresh database
//! (SQLite, or PostgreSQL when `HEARTH_TEST_POSTGRES_URL` is set), federating over real HTTP
//! with real signatures.

mod stub_peer;
pub use stub_peer::{Delivered, Serving, StubPeer};

use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use hearth::{
    Application, Settings,
    api::AppState,
    db::actors::ActorRow,
    service::{
        accounts::{self, Handle, NewUser, Role},
        audit::Acting,
    },
};
use hearth_federation::resolver::SystemLookup;
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, Once},
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use url::Url;

/// Which database engine an instance runs on.
#[derive(Clone, Debug)]
pub enum Engine {
    /// A SQLite file in the instance's temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

impl Engine {
    /// PostgreSQL when `HEARTH_TEST_POSTGRES_URL` is set. Without it, PostgreSQL tests are
    /// skipped, unless `HEARTH_REQUIRE_POSTGRES=1` (as in CI) makes that a failure.
    pub fn postgres() -> Option<Self> {
        match std::env::var("HEARTH_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ => {
                assert!(
                    std::env::var("HEARTH_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                    "HEARTH_REQUIRE_POSTGRES=1 but HEARTH_TEST_POSTGRES_URL is not set"
                );
                eprintln!("skipped: set HEARTH_TEST_POSTGRES_URL to run this test on PostgreSQL");
                None
            }
        }
    }
}

/// Runs `scenario` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$scenario($crate::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(engine) = $crate::Engine::postgres() {
                    super::$scenario(engine).await;
                }
            }
        }
    };
}

/// A database made for one test, dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the instance uses.
    pub url: String,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates a fresh database for `engine` (a file in `dir` for SQLite).
    pub fn create(engine: &Engine, dir: &std::path::Path) -> Self {
        match engine {
            Engine::Sqlite => Self {
                url: format!("sqlite://{}", dir.join("hearth.db").display()),
                postgres: None,
            },
            Engine::Postgres(server) => {
                let name = format!("hearth_test_{:016x}", rand::random::<u64>());
                let mut conn = PgConnection::establish(server)
                    .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .unwrap_or_else(|e| panic!("CREATE DATABASE: {e}"));
                let mut url = Url::parse(server).unwrap_or_else(|e| panic!("{e}"));
                url.set_path(&format!("/{name}"));
                Self {
                    url: url.to_string(),
                    postgres: Some((server.clone(), name)),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = self.postgres.take() {
            // Drop from a plain thread: this may run inside the async runtime.
            let _ = std::thread::spawn(move || {
                if let Ok(mut conn) = PgConnection::establish(&server) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            })
            .join();
        }
    }
}

/// One running instance.
pub struct Instance {
    /// `localhost:PORT`.
    pub domain: String,
    /// `http://localhost:PORT/`.
    pub base: Url,
    /// The instance's shared state (database, federation configuration).
    pub state: AppState,
    /// Reaches this instance by its name without asking DNS (its host may be made up).
    client: reqwest::Client,
    /// Every request the instance received: method, path and query, headers.
    pub requests: Arc<Mutex<Vec<RecordedRequest>>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    // Dropped after the server: the database outlives the pool that uses it.
    _database: TestDatabase,
    _dir: tempfile::TempDir,
}

/// A request as an instance received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `GET`, `POST`...
    pub method: String,
    /// Path and query.
    pub target: String,
    /// All headers.
    pub headers: http::HeaderMap,
    /// The status answered.
    pub status: u16,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Instance({})", self.domain)
    }
}

/// Logs to the test output when `HEARTH_TEST_LOG` is set (e.g. `debug`).
fn init_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("HEARTH_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

impl Instance {
    /// Boots an instance on a free loopback port with loopback federation on.
    pub async fn start(engine: &Engine) -> Self {
        Self::start_with_lookup(engine, Arc::new(SystemLookup)).await
    }

    /// Boots `N` instances like [`Instance::start`], one after another, for tests of several
    /// servers: `let [a, b, c] = Instance::start_many(&engine).await;`.
    pub async fn start_many<const N: usize>(engine: &Engine) -> [Self; N] {
        let mut started = Vec::with_capacity(N);
        for _ in 0..N {
            started.push(Self::start(engine).await);
        }
        started
            .try_into()
            .unwrap_or_else(|_: Vec<Self>| unreachable!("{N} instances started"))
    }

    /// Boots an instance that looks host names up with `lookup` (a table, in tests that map
    /// names to internal addresses without any packet leaving the machine).
    pub async fn start_with_lookup(
        engine: &Engine,
        lookup: Arc<dyn hearth_federation::resolver::Lookup>,
    ) -> Self {
        Self::start_named(engine, "localhost", lookup).await
    }

    /// Boots an instance whose domain is `host:PORT` (a name `lookup` maps to loopback, so
    /// that other instances using the same table reach it).
    pub async fn start_named(
        engine: &Engine,
        host: &str,
        lookup: Arc<dyn hearth_federation::resolver::Lookup>,
    ) -> Self {
        Self::start_configured(engine, host, lookup, |_| {}).await
    }

    /// Boots an instance like [`Instance::start`], with its settings changed by `configure`
    /// (registration mode, rules...).
    pub async fn start_with(engine: &Engine, configure: impl FnOnce(&mut Settings)) -> Self {
        Self::start_configured(engine, "localhost", Arc::new(SystemLookup), configure).await
    }

    /// Boots an instance named `host:PORT` that looks names up with `lookup`, with its
    /// settings changed by `configure`.
    pub async fn start_configured(
        engine: &Engine,
        host: &str,
        lookup: Arc<dyn hearth_federation::resolver::Lookup>,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        init_logging();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let database = TestDatabase::create(engine, dir.path());
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self::boot(dir, database, listener, host, lookup, configure).await
    }

    /// Stops this instance and boots it again on the same domain and port (so that other
    /// servers' picture of it holds) on `database`, in the data directory `dir` (`None`: the
    /// one it had): a restored backup, or its data copied to PostgreSQL.
    pub async fn restart_on(self, dir: Option<tempfile::TempDir>, database: TestDatabase) -> Self {
        self.restart_configured(dir, database, |_| {}).await
    }

    /// Restarts like [`Instance::restart_on`], with the settings changed by `configure` (media
    /// kept in a bucket, ...).
    pub async fn restart_configured(
        mut self,
        dir: Option<tempfile::TempDir>,
        database: TestDatabase,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let dir = match dir {
            Some(dir) => dir,
            None => std::mem::replace(
                &mut self._dir,
                tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
            ),
        };
        let (host, port) = self
            .domain
            .rsplit_once(':')
            .map(|(host, port)| (host.to_owned(), port.parse::<u16>().unwrap_or(0)))
            .unwrap_or_else(|| panic!("no port in {}", self.domain));
        drop(self);
        // The stopped server lets its port go as its task ends.
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(address).await {
                Ok(listener) => break listener,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                Err(e) => panic!("port {port} still taken: {e}"),
            }
        };
        Self::boot(
            dir,
            database,
            listener,
            &host,
            Arc::new(SystemLookup),
            configure,
        )
        .await
    }

    async fn boot(
        dir: tempfile::TempDir,
        database: TestDatabase,
        listener: TcpListener,
        host: &str,
        lookup: Arc<dyn hearth_federation::resolver::Lookup>,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let domain = format!("{host}:{port}");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .resolve(host, SocketAddr::from(([127, 0, 0, 1], port)))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut settings = Settings {
            domain: domain.clone(),
            bind: SocketAddr::from(([127, 0, 0, 1], port)),
            data_dir: dir.path().to_path_buf(),
            database_url: Some(database.url.clone()),
            database_pool_size: 5,
            loopback_federation: true,
            ..Settings::default()
        };
        configure(&mut settings);
        let app = Application::build_with(settings, listener, lookup)
            .await
            .unwrap_or_else(|e| panic!("instance {domain} failed to start: {e}"));
        let state = app.state().clone();
        let limits = hearth::serve::Limits::from(&*state.settings);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorder = requests.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let record = axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let recorder = recorder.clone();
                    async move {
                        let method = request.method().to_string();
                        let target = request
                            .uri()
                            .path_and_query()
                            .map(|p| p.to_string())
                            .unwrap_or_default();
                        let headers = request.headers().clone();
                        let response = next.run(request).await;
                        let status = response.status().as_u16();
                        if let Ok(mut log) = recorder.lock() {
                            log.push(RecordedRequest {
                                method,
                                target,
                                headers,
                                status,
                            });
                        }
                        response
                    }
                },
            );
            let (listener, router) = app.into_parts();
            let listener = listener.unwrap_or_else(|| panic!("a test instance answers HTTP"));
            hearth::serve::serve(listener, router.layer(record), limits, async {
                let _ = stopped.await;
            })
            .await;
        });
        let base = Url::parse(&format!("http://{domain}/")).unwrap_or_else(|e| panic!("{e}"));
        Self {
            domain,
            base,
            state,
            client,
            requests,
            shutdown: Some(shutdown),
            server: Some(server),
            _database: database,
            _dir: dir,
        }
    }

    /// A URL on this instance.
    pub fn url(&self, path: &str) -> Url {
        self.base
            .join(path.trim_start_matches('/'))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates a local person.
    pub async fn create_user(&self, name: &str, role: Role) -> ActorRow {
        let handle = Handle::parse(name).unwrap_or_else(|e| panic!("{e}"));
        accounts::create_user(
            &self.state.ctx,
            &Acting::Console,
            NewUser {
                handle,
                display_name: Some(format!("{name} (test)")),
                role,
            },
            "a long test password".into(),
        )
        .await
        .unwrap_or_else(|e| panic!("create_user {name}: {e}"))
    }

    /// Creates an open public support group.
    pub async fn create_group(&self, handle: &str, name: &str) -> ActorRow {
        self.create_group_with(handle, name, Visibility::Public, JoinPolicy::Open, None)
            .await
    }

    /// Creates a support group with the given settings, owned by a local person.
    pub async fn create_group_with(
        &self,
        handle: &str,
        name: &str,
        visibility: Visibility,
        join_policy: JoinPolicy,
        owner: Option<&ActorRow>,
    ) -> ActorRow {
        let handle = Handle::parse(handle).unwrap_or_else(|e| panic!("{e}"));
        groups::create_group(
            &self.state.ctx,
            &Acting::Console,
            NewGroup {
                handle,
                display_name: name.into(),
                description: "A test group.".into(),
                visibility,
                join_policy,
                owner: owner.map(|o| o.id),
                rules: vec!["Be kind.".into()],
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create_group: {e}"))
    }

    /// A second server process for the same instance: same domain, same database, its own
    /// port (as behind a load balancer). Returns its state; it serves nothing.
    pub async fn second_process(&self) -> AppState {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let settings = Settings {
            domain: self.domain.clone(),
            bind: listener.local_addr().unwrap_or_else(|e| panic!("{e}")),
            data_dir: self._dir.path().to_path_buf(),
            database_url: Some(self._database.url.clone()),
            database_pool_size: 5,
            loopback_federation: true,
            ..Settings::default()
        };
        let app = Application::build_with(settings, listener, Arc::new(SystemLookup))
            .await
            .unwrap_or_else(|e| panic!("second process failed to start: {e}"));
        app.state().clone()
    }

    /// Starts `hearth serve` as a separate operating-system process for this instance (same
    /// domain, same database, its own port), delivering what is queued; it can be killed with
    /// `kill -9` at any moment. `program` is the `hearth-under-test` binary
    /// (`env!("CARGO_BIN_EXE_hearth-under-test")` in a test).
    pub fn server_process(&self, program: &str) -> ServerProcess {
        self.spawn_server(program, None)
    }

    /// [`Instance::server_process`] logging at `info` level into the file `log`, whose
    /// lines [`ServerProcess::log`] reads back.
    pub fn server_process_logging_to(&self, program: &str, log: &std::path::Path) -> ServerProcess {
        self.spawn_server(program, Some(log))
    }

    /// [`Instance::server_process_logging_to`] with more environment variables (`HEARTH_*`
    /// settings; a `HEARTH_LOG` given here replaces the `info` level).
    pub fn server_process_with(
        &self,
        program: &str,
        log: &std::path::Path,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        self.spawn_server_with(program, Some(log), env)
    }

    fn spawn_server(&self, program: &str, log: Option<&std::path::Path>) -> ServerProcess {
        self.spawn_server_with(program, log, &[])
    }

    fn spawn_server_with(
        &self,
        program: &str,
        log: Option<&std::path::Path>,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let level = match log {
            Some(_) => "info".to_owned(),
            None => std::env::var("HEARTH_TEST_LOG").unwrap_or("error".into()),
        };
        let stderr = match log {
            Some(path) => std::fs::File::create(path)
                .map(std::process::Stdio::from)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            None => std::process::Stdio::inherit(),
        };
        let child = tokio::process::Command::new(program)
            .arg("serve")
            .env_clear()
            .env("HEARTH_DOMAIN", &self.domain)
            .env("HEARTH_BIND", "127.0.0.1:0")
            .env("HEARTH_DATA_DIR", self._dir.path())
            .env("HEARTH_DATABASE_URL", &self._database.url)
            .env("HEARTH_DATABASE_POOL_SIZE", "5")
            .env("HEARTH_LOOPBACK_FEDERATION", "1")
            // A killed process's claim on a server's queue runs out quickly (PostgreSQL).
            .env("HEARTH_DELIVERY_LEASE_SECONDS", "2")
            .env("HEARTH_LOG", level)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting hearth-under-test: {e}"));
        ServerProcess {
            child,
            log: log.map(std::path::Path::to_path_buf),
        }
    }

    /// Runs a `hearth` command (`hearth::cli::run`) against this instance's database and data
    /// directory, as an operator at the server would, with a settings file of its own.
    pub async fn hearth(&self, command: hearth::cli::Command) -> Result<(), hearth::Error> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config = dir.path().join("hearth.toml");
        std::fs::write(
            &config,
            format!(
                "domain = \"{}\"\ndatabase_url = \"{}\"\ndata_dir = {:?}\n",
                self.state.settings.domain,
                self.state.settings.database_url(),
                self.state.settings.data_dir.display().to_string(),
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        hearth::cli::run(hearth::cli::Cli {
            config: Some(config),
            command: Some(command),
        })
        .await
    }

    /// Sends every delivery due now; returns how many were attempted.
    pub async fn deliver(&self) -> usize {
        hearth::service::delivery::deliver_due(&self.state.ctx, &self.federation())
            .await
            .unwrap_or_else(|e| panic!("delivery on {}: {e}", self.domain))
    }

    /// An anonymous GET of an ActivityPub document of this instance; status and JSON.
    pub async fn ap_get(&self, path: &str) -> (u16, serde_json::Value) {
        answer(
            self.client
                .get(self.url(path))
                .header("accept", "application/activity+json"),
        )
        .await
    }

    /// A GET of the client API as the holder of `token` (or anonymously); status and JSON.
    pub async fn api_get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request).await
    }

    /// A GET of a paged list of the client API: its JSON and its `Link` header's
    /// `rel="next"` as a path on this instance (to pass to this method again).
    pub async fn get_paged(&self, path: &str, token: &str) -> (serde_json::Value, Option<String>) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "{path}");
        let next = response
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split_once('<'))
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(url, _)| format!("/{}", url.trim_start_matches(self.base.as_str())));
        (response.json().await.unwrap_or_default(), next)
    }

    /// A POST (JSON body) to the client API.
    pub async fn api_post(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.api_send(reqwest::Method::POST, path, token, body)
            .await
    }

    /// A PUT (JSON body) to the client API.
    pub async fn api_put(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.api_send(reqwest::Method::PUT, path, token, body).await
    }

    /// A PATCH (JSON body) to the client API.
    pub async fn api_patch(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.api_send(reqwest::Method::PATCH, path, token, body)
            .await
    }

    /// A request with a JSON body to the client API.
    async fn api_send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        answer(
            self.client
                .request(method, self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    /// A DELETE on the client API.
    pub async fn api_delete(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        answer(self.client.delete(self.url(path)).bearer_auth(token)).await
    }

    /// Follows (or joins, for a group) the account with id `id` as the holder of `token`;
    /// status and relationship.
    pub async fn follow_account(&self, token: &str, id: &str) -> (u16, serde_json::Value) {
        let path = format!("/api/v1/accounts/{id}/follow");
        self.api_post(&path, token, serde_json::json!({})).await
    }

    /// The audit entries of `action`, oldest first, as the staff member holding `token`
    /// reads them through the API.
    pub async fn audit_log(&self, token: &str, action: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/hearth/v1/admin/audit?limit=80&action={action}");
        let (status, list) = self.api_get(&path, Some(token)).await;
        assert_eq!(status, 200, "{list}");
        let mut list = list.as_array().cloned().unwrap_or_default();
        list.reverse();
        list
    }

    /// The account id, on this instance, of `handle` (`name` or `name@domain`), resolving
    /// remote accounts as a person would, through search.
    pub async fn account_id(&self, handle: &str, token: &str) -> String {
        let query = format!(
            "/api/v2/search?q={}&resolve=true&type=accounts",
            handle.replace('@', "%40")
        );
        let (status, found) = self.api_get(&query, Some(token)).await;
        assert_eq!(status, 200, "search {handle}: {found}");
        found["accounts"][0]["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{handle} not found on {}: {found}", self.domain))
    }

    /// A bearer token for a local person.
    pub async fn token(&self, name: &str) -> String {
        let handle = Handle::parse(name).unwrap_or_else(|e| panic!("{e}"));
        accounts::create_token(&self.state.ctx, &Acting::Console, &handle)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A bearer token for a local person with only `scopes` (`read:statuses write:mutes`).
    pub async fn scoped_token(&self, name: &str, scopes: &str) -> String {
        use hearth::service::{oauth, scopes::Scopes};
        let who = name.to_owned();
        let actor = self
            .state
            .db
            .run(move |conn| Ok(hearth::db::actors::local_by_username(conn, &who, None)?))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no {name}"));
        let scopes = Scopes::parse(scopes).unwrap_or_else(|e| panic!("{e}"));
        oauth::issue(
            &self.state.db,
            None,
            Some(actor.id),
            scopes,
            hearth::db::tokens::KIND_CLI,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .access_token
    }

    /// Federation request data, as a handler of this instance would have it.
    pub fn federation(
        &self,
    ) -> activitypub_federation::config::Data<hearth_federation::FederationData> {
        self.state.federation.to_request_data()
    }

    /// A GET of `url` signed by this instance's actor (as its fetches are); returns the status.
    pub async fn signed_get(&self, url: &str) -> u16 {
        let client = reqwest_middleware::ClientWithMiddleware::from(http());
        let builder = client
            .get(url)
            .header("accept", "application/activity+json");
        let request = self
            .federation()
            .sign_request(builder, bytes::Bytes::new())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        http()
            .execute(request)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// How many posts this instance stores.
    pub async fn post_count(&self) -> i64 {
        use diesel::{QueryDsl, RunQueryDsl};
        use hearth::db::schema::posts;
        self.state
            .db
            .run(|conn| Ok(posts::table.count().get_result::<i64>(conn)?))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Requests received so far whose path starts with `prefix`.
    pub fn received(&self, prefix: &str) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .map(|log| {
                log.iter()
                    .filter(|r| r.target.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many actors this instance stores.
    pub async fn actor_count(&self) -> i64 {
        use diesel::{QueryDsl, RunQueryDsl};
        use hearth::db::schema::actors;
        self.state
            .db
            .run(|conn| Ok(actors::table.count().get_result::<i64>(conn)?))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// A plain HTTP client for tests (no proxies, short timeouts).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

pub use hearth::service::accounts::Role as UserRole;
use hearth::service::groups::{self, NewGroup};
pub use hearth::service::groups::{JoinPolicy, Visibility};

/// Sends `request`; its status, JSON body and `Link` header.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, serde_json::Value, Option<String>) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let link = response
        .headers()
        .get("link")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned);
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
        link,
    )
}

async fn answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// POSTs `body` to `url` with exactly `headers` (a signature made by hand, perhaps tampered
/// with); status and JSON body.
pub async fn post_raw(
    url: &Url,
    headers: http::HeaderMap,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    answer(http().post(url.clone()).headers(headers).body(body)).await
}

/// Runs deliveries on all `instances` until none has anything left to send: every activity
/// (and every activity it caused) has then arrived. No sleeping.
pub async fn settle(instances: &[&Instance]) {
    for _ in 0..20 {
        let mut sent = 0;
        for instance in instances {
            sent += instance.deliver().await;
        }
        if sent == 0 {
            return;
        }
    }
    panic!("deliveries did not settle after 20 rounds");
}

/// Signs inbox POSTs by hand, independently of the code under test, so that tests can send
/// exactly the signature they mean: valid, tampered, or lacking a header.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The `keyId`.
    pub key_id: String,
    /// PKCS#8 PEM private key.
    pub private_key_pem: String,
    /// `hs2019` or `rsa-sha256`.
    pub algorithm: &'static str,
    /// The signed headers, in order.
    pub covered: Vec<&'static str>,
    /// The `Date` to sign.
    pub date: chrono::DateTime<chrono::Utc>,
}

impl Signer {
    /// A signer for a local actor of `instance`, as GoToSocial signs (`hs2019`).
    pub async fn for_actor(instance: &Instance, ap_id: &str) -> Self {
        let id = ap_id.to_owned();
        let row = instance
            .state
            .db
            .run(move |conn| Ok(hearth::db::actors::by_ap_id(conn, &id)?))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no actor {ap_id}"));
        Self {
            key_id: format!("{ap_id}#main-key"),
            private_key_pem: row
                .private_key_pem
                .unwrap_or_else(|| panic!("{ap_id} has no private key")),
            algorithm: "hs2019",
            covered: vec!["(request-target)", "host", "date", "digest"],
            date: chrono::Utc::now(),
        }
    }

    /// Headers for a GET of `url`: Host, Date, Signature (over the headers covered that a GET
    /// has: `(request-target)`, `host`, `date`).
    pub fn sign_get(&self, url: &Url) -> http::HeaderMap {
        let get = Self {
            covered: vec!["(request-target)", "host", "date"],
            ..self.clone()
        };
        let mut headers = get.sign_request("get", url, &[]);
        headers.remove("digest");
        headers.remove("content-type");
        headers
    }

    /// Headers for a POST of `body` to `url`: Host, Date, Digest, Content-Type, Signature.
    pub fn sign_post(&self, url: &Url, body: &[u8]) -> http::HeaderMap {
        self.sign_request("post", url, body)
    }

    fn sign_request(&self, method: &str, url: &Url, body: &[u8]) -> http::HeaderMap {
        use rsa::{Pkcs1v15Sign, RsaPrivateKey, pkcs8::DecodePrivateKey};
        use sha2::{Digest, Sha256};
        let key =
            RsaPrivateKey::from_pkcs8_pem(&self.private_key_pem).unwrap_or_else(|e| panic!("{e}"));
        self.sign_by(method, url, body, |signing_string| {
            key.sign(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(signing_string),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// [`Self::sign_post`] with the RSASSA-PKCS1-v1_5 SHA-256 signature of the signing string
    /// made by `sign` (a benchmark signs many requests with a faster library).
    pub fn sign_post_by(
        &self,
        url: &Url,
        body: &[u8],
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> http::HeaderMap {
        self.sign_by("post", url, body, sign)
    }

    fn sign_by(
        &self,
        method: &str,
        url: &Url,
        body: &[u8],
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> http::HeaderMap {
        use base64::{Engine, engine::general_purpose::STANDARD};
        use sha2::{Digest, Sha256};

        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let date = httpdate::fmt_http_date(self.date.into());
        let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        let target = format!("{method} {}", url.path());
        let value = |name: &str| match name {
            "(request-target)" => target.clone(),
            "host" => host.clone(),
            "date" => date.clone(),
            "digest" => digest.clone(),
            "content-type" => "application/activity+json".to_owned(),
            other => panic!("cannot sign {other}"),
        };
        let signing_string = self
            .covered
            .iter()
            .map(|h| format!("{h}: {}", value(h)))
            .collect::<Vec<_>>()
            .join("\n");
        let signature = sign(signing_string.as_bytes());
        let header = format!(
            "keyId=\"{}\",algorithm=\"{}\",headers=\"{}\",signature=\"{}\"",
            self.key_id,
            self.algorithm,
            self.covered.join(" "),
            STANDARD.encode(signature)
        );
        let mut headers = http::HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            headers.insert(
                name,
                http::HeaderValue::from_str(&value).unwrap_or_else(|e| panic!("{e}")),
            );
        };
        put("host", host.clone());
        put("date", date.clone());
        put("digest", digest.clone());
        put("content-type", "application/activity+json".into());
        put("signature", header);
        headers
    }
}

/// A minimal activity from `actor` (a `Follow` of `object`), with a fresh id on the actor's host.
pub fn follow(actor: &str, object: &str) -> serde_json::Value {
    let id = format!("{actor}/follows/{:016x}", rand::random::<u64>());
    serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": "Follow",
        "actor": actor,
        "object": object,
    })
}

/// A `hearth serve` process started by [`Instance::server_process`]; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    child: tokio::process::Child,
    log: Option<std::path::PathBuf>,
}

impl ServerProcess {
    /// What the process has logged so far (started with
    /// [`Instance::server_process_logging_to`]).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    }

    /// Waits (at most 30 s) until the log holds `text`.
    pub async fn logged(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.log().contains(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never logged {text:?}: {}",
                self.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The address the process listens on, from its log (`listening on http://ADDR`).
    pub async fn address(&self) -> SocketAddr {
        self.logged("listening on http://").await;
        let log = self.log();
        log.split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split([',', ' ', '\n']).next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {log}"))
    }

    /// Sends SIGTERM, as a container engine or systemd stops a service.
    pub fn terminate(&self) {
        let pid = self
            .child
            .id()
            .unwrap_or_else(|| panic!("the server process has already exited"));
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill -TERM: {e}"));
        assert!(sent.success(), "kill -TERM {pid}: {sent}");
    }

    /// Waits (at most `limit`) for the process to exit; its exit status.
    pub async fn exited_within(mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running after {limit:?}: {}", self.log()))
            .unwrap_or_else(|e| panic!("waiting for the server process: {e}"))
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub async fn kill(mut self) {
        self.child
            .kill()
            .await
            .unwrap_or_else(|e| panic!("kill -9: {e}"));
    }
}

impl Instance {
    /// How many rows each table that federation writes to holds: a refused request must leave
    /// every count as it was.
    pub async fn rows(&self) -> std::collections::BTreeMap<&'static str, i64> {
        use diesel::{QueryDsl, RunQueryDsl};
        use hearth::db::schema::{
            actors, follows, likes, outbox, post_mentions, posts, received_activities, servers,
        };
        self.state
            .db
            .run(|conn| {
                Ok(std::collections::BTreeMap::from([
                    ("actors", actors::table.count().get_result::<i64>(conn)?),
                    ("follows", follows::table.count().get_result(conn)?),
                    ("outbox", outbox::table.count().get_result(conn)?),
                    ("servers", servers::table.count().get_result(conn)?),
                    ("likes", likes::table.count().get_result(conn)?),
                    (
                        "post_mentions",
                        post_mentions::table.count().get_result(conn)?,
                    ),
                    ("posts", posts::table.count().get_result(conn)?),
                    (
                        "received_activities",
                        received_activities::table.count().get_result(conn)?,
                    ),
                ]))
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A browser for the server-rendered pages: keeps the cookies the server sets, sends them back,
/// asks for HTML, and follows no redirect (tests read `Location` themselves).
#[derive(Debug, Default)]
pub struct Browser {
    /// The cookies it holds, by name.
    pub cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    fn remember(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Opens a page: status, body and `Location`.
    pub async fn get(&mut self, url: &str) -> (u16, String, Option<String>) {
        let response = http()
            .get(url)
            .header("accept", "text/html")
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.read(response).await
    }

    /// Submits a form: status, body and `Location`.
    pub async fn post<F: serde::Serialize + ?Sized>(
        &mut self,
        url: &str,
        form: &F,
    ) -> (u16, String, Option<String>) {
        let response = http()
            .post(url)
            .header("accept", "text/html")
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        self.read(response).await
    }

    async fn read(&mut self, response: reqwest::Response) -> (u16, String, Option<String>) {
        self.remember(&response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        (status, response.text().await.unwrap_or_default(), location)
    }
}

/// The value of the hidden input `name` in a page (as maud writes it: `name` before `value`).
pub fn hidden_input(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    page.split_once(&marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no hidden {name} in {page}"))
}
