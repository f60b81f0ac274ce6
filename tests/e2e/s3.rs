//! An S3-compatible server inside the test process, for instances that keep their media in a
//! bucket: `s3s-fs` keeps each object as a file in a temporary directory, so a test sees
//! objects appear and go. It listens on 127.0.0.1 only and checks signatures with one key.

use axum::response::IntoResponse;
use hearth::Settings;
use hearth_tests::{Engine, Instance};
use std::path::{Path, PathBuf};
use tokio::{net::TcpListener, task::JoinHandle};
use tower::Service;

/// The bucket every instance of a test shares (each under a folder of its own).
const BUCKET: &str = "hearth-media";
const ACCESS_KEY: &str = "hearth-test-key";
const SECRET_KEY: &str = "hearth-test-secret-words";

/// One S3-compatible server, stopped and emptied when dropped.
pub(crate) struct S3Server {
    endpoint: String,
    root: tempfile::TempDir,
    task: JoinHandle<()>,
}

impl S3Server {
    /// Starts a server on a free loopback port with one empty bucket.
    pub(crate) async fn start() -> Self {
        Self::start_with(true).await
    }

    /// Starts a server like [`S3Server::start`] that answers every bulk deletion
    /// (`DeleteObjects`, `POST /bucket?delete`) with 501, as some S3-compatible stores do.
    pub(crate) async fn start_without_bulk_delete() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(bulk_delete: bool) -> Self {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(root.path().join(BUCKET)).unwrap_or_else(|e| panic!("{e}"));
        let files = s3s_fs::FileSystem::new(root.path()).unwrap_or_else(|e| panic!("{e:?}"));
        let mut builder = s3s::service::S3ServiceBuilder::new(files);
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let mut service = service.clone();
            async move {
                let bulk = request.method() == http::Method::POST
                    && request.uri().query().is_some_and(|q| q.contains("delete"));
                if bulk && !bulk_delete {
                    return (http::StatusCode::NOT_IMPLEMENTED, "no DeleteObjects here")
                        .into_response();
                }
                match Service::call(&mut service, request).await {
                    Ok(response) => response.map(axum::body::Body::new).into_response(),
                    Err(e) => {
                        (http::StatusCode::INTERNAL_SERVER_ERROR, format!("{e:?}")).into_response()
                    }
                }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            endpoint: format!("http://{address}"),
            root,
            task,
        }
    }

    /// Settings that keep an instance's media in the bucket, under `folder`.
    pub(crate) fn configure(&self, settings: &mut Settings, folder: &str) {
        settings.media_s3_bucket = Some(BUCKET.into());
        settings.media_s3_endpoint = Some(self.endpoint.clone());
        settings.media_s3_access_key_id = Some(ACCESS_KEY.into());
        settings.media_s3_secret_access_key = Some(SECRET_KEY.to_owned().into());
        settings.media_s3_prefix = Some(folder.into());
    }

    /// The objects under `folder` of the bucket, as files of the server.
    pub(crate) fn objects(&self, folder: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(&self.root.path().join(BUCKET).join(folder), &mut found);
        found
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An instance whose bucket refuses its key does not start, and says why without the
/// secret; with the right key it starts on the same bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bucket_that_refuses_the_key_stops_the_start() {
    let s3 = S3Server::start().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let database = hearth_tests::TestDatabase::create(&Engine::Sqlite, dir.path());
    let build = |secret: &str| {
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(database.url.clone()),
            ..Settings::default()
        };
        s3.configure(&mut settings, "clinic");
        settings.media_s3_secret_access_key = Some(secret.to_owned().into());
        async move {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            hearth::Application::build_with(
                settings,
                listener,
                std::sync::Arc::new(hearth_federation::resolver::SystemLookup),
            )
            .await
        }
    };
    let refused = build("not-the-secret-words")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("started with a key the bucket refuses"));
    assert!(refused.contains("media storage"), "{refused}");
    assert!(!refused.contains("not-the-secret"), "{refused}");
    assert!(
        !dir.path().join("media").exists(),
        "no media directory made"
    );
    assert!(build(SECRET_KEY).await.is_ok(), "the right key starts");
}

/// Where the instances of a media test keep their files.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Store {
    /// `<data_dir>/media/`, the default.
    Local,
    /// A bucket of an [`S3Server`].
    S3,
}

/// The instances of a media test and the store they keep their files in.
pub(crate) struct MediaScene {
    s3: Option<S3Server>,
}

impl MediaScene {
    /// A scene whose instances keep media in `store`.
    pub(crate) async fn new(store: Store) -> Self {
        Self {
            s3: match store {
                Store::Local => None,
                Store::S3 => Some(S3Server::start().await),
            },
        }
    }

    /// Settings for one more instance of the scene: on S3, a folder of the bucket of its own.
    pub(crate) fn configure(&self, settings: &mut Settings) {
        if let Some(s3) = &self.s3 {
            let folder = format!("instance-{:08x}", rand::random::<u32>());
            s3.configure(settings, &folder);
        }
    }

    /// Starts an instance like [`Instance::start`], keeping media in the scene's store.
    pub(crate) async fn start(&self, engine: &Engine) -> Instance {
        Instance::start_with(engine, |s| self.configure(s)).await
    }

    /// The files the instance `a` has stored: in its media directory, or its folder of the
    /// bucket (and then none in its media directory).
    pub(crate) fn stored_files(&self, a: &Instance) -> Vec<PathBuf> {
        let on_disk: Vec<PathBuf> = match std::fs::read_dir(a.state.settings.media_dir()) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => Vec::new(),
        };
        match (&self.s3, &a.state.settings.media_s3_prefix) {
            (Some(s3), Some(folder)) => {
                assert_eq!(
                    on_disk,
                    Vec::<PathBuf>::new(),
                    "media on S3 are not on disk"
                );
                s3.objects(folder)
            }
            _ => on_disk,
        }
    }
}

/// Runs a media scenario on SQLite and on PostgreSQL with media in the data directory, and
/// on SQLite with media in an S3 bucket.
#[macro_export]
macro_rules! on_both_stores {
    ($scenario:ident) => {
        mod $scenario {
            use hearth_tests::Engine;
            use $crate::s3::Store;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$scenario(Engine::Sqlite, Store::Local).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(engine) = Engine::postgres() {
                    super::$scenario(engine, Store::Local).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn s3() {
                super::$scenario(Engine::Sqlite, Store::S3).await;
            }
        }
    };
}

/// A store without bulk deletion (`DeleteObjects`): files are left there unless the instance
/// is told (`HEARTH_MEDIA_S3_BULK_DELETE=false`), and then removed one request each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_without_bulk_deletion_removes_files_one_by_one() {
    use hearth_tests::UserRole;
    let s3 = S3Server::start_without_bulk_delete().await;
    for bulk_delete in [true, false] {
        let folder = format!("clinic-{bulk_delete}");
        let a = Instance::start_with(&Engine::Sqlite, |settings| {
            s3.configure(settings, &folder);
            settings.media_s3_bulk_delete = bulk_delete;
        })
        .await;
        a.create_user("ana", UserRole::Member).await;
        let token = a.token("ana").await;
        let (status, media) =
            crate::media::upload(&a, &token, "me.png", crate::media::png_with_text_and_exif())
                .await;
        assert_eq!(status, 200, "{media}");
        assert_eq!(
            s3.objects(&folder).len(),
            2,
            "the picture and its thumbnail"
        );
        let (status, _) = a
            .api_post(
                "/api/v1/accounts/delete",
                &token,
                serde_json::json!({ "password": "a long test password" }),
            )
            .await;
        assert_eq!(status, 202);
        let left = s3.objects(&folder).len();
        if bulk_delete {
            assert_eq!(left, 2, "the store refused the bulk deletion");
        } else {
            assert_eq!(left, 0, "removed one by one");
        }
    }
}
