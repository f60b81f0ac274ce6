//! Backups and growth, as a clinic's administrator runs them: `hearth backup` of a SQLite
//! instance while it takes posts, `hearth restore` into a fresh data directory, and `hearth db
//! copy` to PostgreSQL; the instance started on the result has everything and still federates.

use crate::{
    media::{fetch, jpeg_with_gps, upload},
    s3::{MediaScene, Store},
};
use diesel::{Connection, ExpressionMethods, QueryDsl, RunQueryDsl};
use hearth_tests::{Engine, Instance, TestDatabase, UserRole, settle};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Instant,
};

/// The real `hearth` program, run as the operator would.
const HEARTH: &str = env!("CARGO_BIN_EXE_hearth-under-test");

/// Runs `hearth ARGS` for an instance of `domain` with this data directory and database.
async fn hearth(domain: &str, data_dir: &Path, database_url: &str, args: &[&str]) -> Output {
    hearth_with(domain, data_dir, database_url, &[], args).await
}

/// Runs `hearth ARGS` like [`hearth`], with the variables `env` set too.
async fn hearth_with(
    domain: &str,
    data_dir: &Path,
    database_url: &str,
    env: &[(&str, String)],
    args: &[&str],
) -> Output {
    let output = tokio::process::Command::new(HEARTH)
        .args(args)
        .env_clear()
        .env("HEARTH_DOMAIN", domain)
        .env("HEARTH_DATA_DIR", data_dir)
        .env("HEARTH_DATABASE_URL", database_url)
        .env("HEARTH_LOOPBACK_FEDERATION", "1")
        .env("HEARTH_LOG", "error")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("running hearth {args:?}: {e}"));
    Output {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// What a `hearth` run printed, and whether it succeeded.
#[derive(Debug)]
struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

/// `hearth ARGS` on the instance's own data directory and database.
async fn hearth_on(instance: &Instance, args: &[&str]) -> Output {
    let settings = &instance.state.settings;
    hearth(
        &instance.domain,
        &settings.data_dir,
        &settings.database_url(),
        args,
    )
    .await
}

/// The ids of the posts an instance stores, its own (`local`) or others'.
async fn post_ids(instance: &Instance, local: bool) -> BTreeSet<String> {
    use hearth::db::schema::posts;
    instance
        .state
        .db
        .run(move |conn| {
            Ok(posts::table
                .filter(posts::local.eq(local))
                .select(posts::ap_id)
                .load::<String>(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect()
}

/// Every local actor's id and key pair.
async fn local_keys(instance: &Instance) -> BTreeMap<String, (String, Option<String>)> {
    use hearth::db::schema::actors;
    instance
        .state
        .db
        .run(|conn| {
            Ok(actors::table
                .filter(actors::local.eq(true))
                .select((
                    actors::ap_id,
                    actors::public_key_pem,
                    actors::private_key_pem,
                ))
                .load::<(String, String, Option<String>)>(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(id, public, private)| (id, (public, private)))
        .collect()
}

/// Every actor's counts (posts, group posts, followers, following), as triggers keep them.
async fn actor_stats(instance: &Instance) -> Vec<(i64, i64, i64, i64, i64)> {
    use hearth::db::schema::actor_stats as s;
    instance
        .state
        .db
        .run(|conn| {
            Ok(s::table
                .select((
                    s::actor_id,
                    s::posts_count,
                    s::group_posts_count,
                    s::followers_count,
                    s::following_count,
                ))
                .order(s::actor_id)
                .load(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Activities waiting in the outbox.
async fn queued(instance: &Instance) -> i64 {
    use hearth::db::schema::outbox;
    instance
        .state
        .db
        .run(|conn| Ok(outbox::table.count().get_result::<i64>(conn)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Posts as `token`; the post's id (`uri`).
async fn post(a: &Instance, token: &str, body: Value) -> String {
    let (status, post) = a.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{post}");
    post["uri"].as_str().unwrap_or_default().to_owned()
}

/// A person of `b` follows `who` on `a` (found through search, accepted over federation);
/// returns the id of `who` on `b`.
async fn follow_across(a: &Instance, b: &Instance, token: &str, who: &str) -> String {
    let id = b.account_id(&format!("{who}@{}", a.domain), token).await;
    let (status, _) = b.follow_account(token, &id).await;
    assert_eq!(status, 200);
    settle(&[a, b]).await;
    let (_, relationship) = b
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={id}"),
            Some(token),
        )
        .await;
    assert_eq!(relationship[0]["following"], true, "{relationship}");
    id
}

/// Federation with `b` after the move: a new post of Ana's reaches Bea (signed with the key
/// `b` already holds), and a new follower on `b` is accepted (`b` checks the Accept's
/// signature).
async fn still_federates(a: &Instance, b: &Instance, ana: &str) {
    let new = post(a, ana, json!({ "status": "after the move" })).await;
    settle(&[a, b]).await;
    assert!(
        post_ids(b, false).await.contains(&new),
        "{new} did not cross"
    );
    b.create_user("cal", UserRole::Member).await;
    let cal = b.token("cal").await;
    follow_across(a, b, &cal, "ana").await;
}

/// A backup taken while four clients post, restored into a fresh data directory, gives an
/// instance with every post acknowledged before the backup began (and no post that never
/// existed), every key, the media, and the deliveries queued then, which it sends; it
/// federates on with its peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_restores_into_a_fresh_instance() {
    let [a, b] = Instance::start_many(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("bea", UserRole::Member).await;
    let (ana, bea) = (a.token("ana").await, b.token("bea").await);
    follow_across(&a, &b, &bea, "ana").await;
    let with_photo = post_a_photo(&a, &ana).await;
    let photo_url = with_photo["media_attachments"][0]["url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let preview_url = with_photo["media_attachments"][0]["preview_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _, photo) = fetch(&photo_url, None).await;
    assert_eq!(status, 200);
    let (status, _, preview) = fetch(&preview_url, None).await;
    assert_eq!(status, 200);
    // Ten posts wait in the queue for Bea's server (nothing delivers them before the backup).
    let mut acknowledged = BTreeSet::from([with_photo["uri"].as_str().unwrap_or_default().into()]);
    for n in 0..10 {
        acknowledged.insert(post(&a, &ana, json!({ "status": format!("queued {n}") })).await);
    }
    assert!(queued(&a).await > 0);
    let keys = local_keys(&a).await;

    let archive_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let archive = archive_dir.path().join("clinic.tar.gz");
    let stop = AtomicBool::new(false);
    let written = std::sync::Mutex::new(Vec::<(Instant, String)>::new());
    let writer = |client: usize| {
        let (a, ana, stop, written) = (&a, &ana, &stop, &written);
        async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let id = post(a, ana, json!({ "status": format!("load {client}.{n}") })).await;
                if let Ok(mut written) = written.lock() {
                    written.push((Instant::now(), id));
                }
                n += 1;
            }
        }
    };
    let count = || written.lock().map(|w| w.len()).unwrap_or(0);
    let backup = async {
        // Writes are under way before the backup starts.
        while count() < 8 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let began = Instant::now();
        let out = hearth_on(&a, &["backup", &archive.to_string_lossy()]).await;
        let ended = Instant::now();
        stop.store(true, Ordering::SeqCst);
        (began, ended, out)
    };
    let ((began, ended, out), ..) =
        tokio::join!(backup, writer(0), writer(1), writer(2), writer(3));
    assert!(out.success, "backup failed: {out:?}");
    let written = written.into_inner().unwrap_or_default();
    let during = written
        .iter()
        .filter(|(at, _)| *at > began && *at < ended)
        .count();
    assert!(during > 0, "no post was written while the backup ran");
    let before: BTreeSet<String> = written
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id.clone())
        .collect();
    acknowledged.extend(before);
    let all: BTreeSet<String> = written.into_iter().map(|(_, id)| id).collect();
    let bea_had = post_ids(&b, false).await;
    eprintln!(
        "backup of {} posts ({during} written while it ran): {} bytes",
        post_ids(&a, true).await.len(),
        std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0)
    );

    // Restored into a fresh data directory; the instance starts there, on the same domain.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let database = TestDatabase::create(&Engine::Sqlite, dir.path());
    let out = hearth(
        &a.domain,
        dir.path(),
        &database.url,
        &["restore", &archive.to_string_lossy()],
    )
    .await;
    assert!(out.success, "restore failed: {out:?}");
    let mut posted_since = all.clone();
    posted_since.extend(acknowledged.iter().cloned());
    let a = a.restart_on(Some(dir), database).await;

    let restored = post_ids(&a, true).await;
    let missing: Vec<_> = acknowledged.difference(&restored).collect();
    assert!(missing.is_empty(), "posts lost: {missing:?}");
    assert!(
        restored.is_subset(&posted_since),
        "posts that never were: {:?}",
        restored.difference(&posted_since).collect::<Vec<_>>()
    );
    assert_eq!(local_keys(&a).await, keys, "the same keys");
    let (status, _, served) = fetch(&photo_url, None).await;
    assert_eq!((status, served == photo), (200, true), "the photo");
    let (status, _, served) = fetch(&preview_url, None).await;
    assert_eq!((status, served == preview), (200, true), "its thumbnail");
    // Ana's token still works; her posts are served.
    let (status, me) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&ana))
        .await;
    assert_eq!(status, 200, "{me}");

    // What was queued at the backup reaches Bea now, from the restored instance.
    assert!(queued(&a).await > 0);
    assert!(bea_had.is_disjoint(&restored));
    settle(&[&a, &b]).await;
    let arrived = post_ids(&b, false).await;
    let undelivered: Vec<_> = restored.difference(&arrived).collect();
    assert!(undelivered.is_empty(), "never delivered: {undelivered:?}");
    still_federates(&a, &b, &ana).await;
}

/// A SQLite instance with posts, a group, a photo, a like and deliveries still queued is
/// copied to a new PostgreSQL database: every table's rows match (the command says so, and
/// so do the databases), and the instance started on PostgreSQL serves the same posts to the
/// same tokens, sends what was queued, and federates on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn db_copy_moves_a_clinic_to_postgresql() {
    let Some(postgres) = Engine::postgres() else {
        return;
    };
    let [a, b] = Instance::start_many(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("bea", UserRole::Member).await;
    let group = a.create_group("care", "Care").await;
    let (ana, bea) = (a.token("ana").await, b.token("bea").await);
    a.follow_account(&ana, &group.id.to_string()).await;
    follow_across(&a, &b, &bea, "ana").await;
    let (status, media) = upload(&a, &ana, "photo.jpg", jpeg_with_gps()).await;
    assert_eq!(status, 200, "{media}");
    let first = post(
        &a,
        &ana,
        json!({ "status": "in the group", "group_id": group.id.to_string(), "media_ids": [media["id"]] }),
    )
    .await;
    let reply_to = a.api_get("/api/v1/timelines/home", Some(&ana)).await.1[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    post(
        &a,
        &ana,
        json!({ "status": "a reply", "in_reply_to_id": reply_to }),
    )
    .await;
    let (status, liked) = a
        .api_post(
            &format!("/api/v1/statuses/{reply_to}/favourite"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{liked}");
    settle(&[&a, &b]).await;
    let mut waiting = BTreeSet::new();
    for n in 0..5 {
        waiting.insert(post(&a, &ana, json!({ "status": format!("queued {n}") })).await);
    }
    assert!(queued(&a).await > 0);
    let (_, timeline) = a
        .api_get("/api/v1/timelines/home?limit=40", Some(&ana))
        .await;
    let keys = local_keys(&a).await;
    let stats = actor_stats(&a).await;
    assert!(stats.iter().any(|&(_, posts, ..)| posts >= 7), "{stats:?}");

    let target = TestDatabase::create(&postgres, Path::new("."));
    let out = hearth_on(&a, &["db", "copy", "--to", &target.url]).await;
    assert!(out.success, "db copy failed: {out:?}");
    // The verification table: every table on a line, both counts equal.
    let sqlite_counts = a
        .state
        .db
        .run(|conn| match conn {
            hearth::db::AnyConnection::Sqlite(lite) => {
                Ok(hearth::db::snapshot::table_counts(lite)?)
            }
            hearth::db::AnyConnection::Postgresql(_) => panic!("a SQLite instance"),
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let printed: BTreeMap<String, (i64, i64)> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let table = words.next()?.to_owned();
            let source = words.next()?.parse().ok()?;
            let target = words.next()?.parse().ok()?;
            Some((table, (source, target)))
        })
        .collect();
    let expected: BTreeMap<String, (i64, i64)> = sqlite_counts
        .iter()
        .map(|(t, &n)| (t.clone(), (n, n)))
        .collect();
    assert_eq!(printed, expected, "{}", out.stdout);
    let url = target.url.clone();
    let pg_counts = tokio::task::spawn_blocking(move || {
        let mut pg = diesel::PgConnection::establish(&url).unwrap_or_else(|e| panic!("{e}"));
        hearth::db::copy::pg_table_counts(&mut pg).unwrap_or_else(|e| panic!("{e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pg_counts, sqlite_counts);
    assert!(
        sqlite_counts["posts"] >= 7 && sqlite_counts["likes"] >= 1 && sqlite_counts["outbox"] > 0
    );

    let a = a.restart_on(None, target).await;
    assert!(a.state.db.is_postgres());
    let (status, moved) = a
        .api_get("/api/v1/timelines/home?limit=40", Some(&ana))
        .await;
    assert_eq!(status, 200);
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .map(|l| l.iter().map(|p| p["uri"].to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(ids(&moved), ids(&timeline), "the same posts");
    let photo = moved
        .as_array()
        .and_then(|l| l.iter().find(|p| p["uri"] == first.as_str()))
        .map(|p| {
            p["media_attachments"][0]["url"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .unwrap_or_default();
    assert_eq!(fetch(&photo, None).await.0, 200, "{photo}");
    assert_eq!(local_keys(&a).await, keys, "the same keys");
    // The counts the triggers keep are as they were, not counted again.
    assert_eq!(actor_stats(&a).await, stats);
    settle(&[&a, &b]).await;
    let arrived = post_ids(&b, false).await;
    let undelivered: Vec<_> = waiting.difference(&arrived).collect();
    assert!(undelivered.is_empty(), "never delivered: {undelivered:?}");
    still_federates(&a, &b, &ana).await;
}

/// What a directory holds: every file under it, with its size and content hash.
fn listing(dir: &Path) -> BTreeMap<String, (u64, u64)> {
    use std::hash::{Hash, Hasher};
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut hasher);
                found.insert(
                    path.strip_prefix(dir)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .into_owned(),
                    (bytes.len() as u64, hasher.finish()),
                );
            }
        }
    }
    found
}

/// Refusals: a restore into a data directory that holds a database or media, a damaged or
/// cut archive, and a backup of a PostgreSQL instance; each fails with a message, exit code
/// non-zero, and leaves every file as it was (a refused restore writes nothing at all).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_restores_are_refused_and_change_nothing() {
    let a = Instance::start(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let (status, _) = upload(&a, &ana, "photo.jpg", jpeg_with_gps()).await;
    assert_eq!(status, 200);
    let archives = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let archive = archives.path().join("clinic.tar.gz");
    let archive_arg = archive.to_string_lossy().into_owned();
    let out = hearth_on(&a, &["backup", &archive_arg]).await;
    assert!(out.success, "{out:?}");
    // A second backup to the same name does not overwrite the first.
    let out = hearth_on(&a, &["backup", &archive_arg]).await;
    assert!(!out.success && out.stderr.contains("exists"), "{out:?}");

    let restore = |dir: &Path, file: &Path| {
        let database = format!("sqlite://{}", dir.join("hearth.db").display());
        let (dir, file) = (dir.to_path_buf(), file.to_string_lossy().into_owned());
        let domain = a.domain.clone();
        async move { hearth(&domain, &dir, &database, &["restore", &file]).await }
    };
    // A restored instance's directory holds a database: a second restore is refused.
    let full = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = restore(full.path(), &archive).await;
    assert!(out.success, "{out:?}");
    let before = listing(full.path());
    assert!(before.contains_key("hearth.db") && before.keys().any(|k| k.starts_with("media/")));
    let out = restore(full.path(), &archive).await;
    assert!(!out.success, "{out:?}");
    assert!(
        out.stderr.contains("empty data directory"),
        "{}",
        out.stderr
    );
    assert_eq!(listing(full.path()), before, "nothing changed");
    // A database alone is enough to refuse.
    let database_only = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        full.path().join("hearth.db"),
        database_only.path().join("hearth.db"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let before = listing(database_only.path());
    let out = restore(database_only.path(), &archive).await;
    assert!(
        !out.success && out.stderr.contains("empty data directory"),
        "{out:?}"
    );
    assert_eq!(listing(database_only.path()), before);
    // Media alone are enough to refuse.
    let media_only = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(media_only.path().join("media")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(media_only.path().join("media/x.jpg"), b"mine")
        .unwrap_or_else(|e| panic!("{e}"));
    let before = listing(media_only.path());
    let out = restore(media_only.path(), &archive).await;
    assert!(
        !out.success && out.stderr.contains("empty data directory"),
        "{out:?}"
    );
    assert_eq!(listing(media_only.path()), before);

    // Cut archives (in the middle, and just before the end) and one that is no archive.
    let bytes = std::fs::read(&archive).unwrap_or_else(|e| panic!("{e}"));
    for (name, content) in [
        ("half", bytes[..bytes.len() / 2].to_vec()),
        ("cut", bytes[..bytes.len() - 12].to_vec()),
        ("garbage", b"not an archive at all".repeat(100)),
    ] {
        let bad = archives.path().join(format!("{name}.tar.gz"));
        std::fs::write(&bad, content).unwrap_or_else(|e| panic!("{e}"));
        let fresh = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = restore(fresh.path(), &bad).await;
        assert!(!out.success, "{name}: {out:?}");
        assert!(
            out.stderr.contains("not a complete Hearth backup"),
            "{name}: {}",
            out.stderr
        );
        assert_eq!(
            listing(fresh.path()),
            BTreeMap::new(),
            "{name}: nothing left"
        );
        assert!(
            std::fs::read_dir(fresh.path()).map_or(0, Iterator::count) == 0,
            "{name}: no staging directory left"
        );
    }

    // PostgreSQL is backed up with its own tools.
    if let Some(postgres) = Engine::postgres() {
        let p = Instance::start(&postgres).await;
        let out = hearth_on(
            &p,
            &[
                "backup",
                &archives.path().join("pg.tar.gz").to_string_lossy(),
            ],
        )
        .await;
        assert!(!out.success && out.stderr.contains("pg_dump"), "{out:?}");
        assert!(!archives.path().join("pg.tar.gz").exists());
    }
}

/// `db copy` into a database that holds data is refused before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn db_copy_into_a_database_in_use_is_refused() {
    let Some(postgres) = Engine::postgres() else {
        return;
    };
    let a = Instance::start(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    // A PostgreSQL instance's database, with its own accounts.
    let p = Instance::start(&postgres).await;
    p.create_user("pia", UserRole::Member).await;
    let before = p.rows().await;
    let url = p.state.settings.database_url();
    let out = hearth_on(&a, &["db", "copy", "--to", &url]).await;
    assert!(!out.success, "{out:?}");
    assert!(out.stderr.contains("already holds data"), "{}", out.stderr);
    assert_eq!(p.rows().await, before, "nothing written");
    // A fresh one is accepted; a second copy into it is refused.
    let target = TestDatabase::create(&postgres, Path::new("."));
    let out = hearth_on(&a, &["db", "copy", "--to", &target.url]).await;
    assert!(out.success, "{out:?}");
    let out = hearth_on(&a, &["db", "copy", "--to", &target.url]).await;
    assert!(
        !out.success && out.stderr.contains("already holds data"),
        "{out:?}"
    );
}

/// The `HEARTH_MEDIA_S3_*` variables of an instance's settings.
fn s3_env(settings: &hearth::Settings) -> Vec<(&'static str, String)> {
    let secret = settings.media_s3_secret_access_key.as_ref();
    [
        ("HEARTH_MEDIA_S3_BUCKET", settings.media_s3_bucket.clone()),
        (
            "HEARTH_MEDIA_S3_ENDPOINT",
            settings.media_s3_endpoint.clone(),
        ),
        ("HEARTH_MEDIA_S3_PREFIX", settings.media_s3_prefix.clone()),
        (
            "HEARTH_MEDIA_S3_ACCESS_KEY_ID",
            settings.media_s3_access_key_id.clone(),
        ),
        (
            "HEARTH_MEDIA_S3_SECRET_ACCESS_KEY",
            secret.map(|s| s.expose().to_owned()),
        ),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .collect()
}

/// Posts "a photo" with an uploaded photo, as the holder of `token`; the status.
async fn post_a_photo(a: &Instance, token: &str) -> serde_json::Value {
    let (status, media) = upload(a, token, "photo.jpg", jpeg_with_gps()).await;
    assert_eq!(status, 200, "{media}");
    let (status, with_photo) = a
        .api_post(
            "/api/v1/statuses",
            token,
            json!({ "status": "a photo", "media_ids": [media["id"]] }),
        )
        .await;
    assert_eq!(status, 200, "{with_photo}");
    with_photo
}

/// With media in an S3 bucket, `hearth backup` archives the database alone and says where
/// the media are; `hearth restore` says so again; the instance restored on the same bucket
/// serves the photo and its thumbnail from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_in_a_bucket_stay_out_of_the_archive() {
    let scene = MediaScene::new(Store::S3).await;
    let a = scene.start(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let with_photo = post_a_photo(&a, &ana).await;
    let urls: Vec<String> = ["url", "preview_url"]
        .iter()
        .map(|key| {
            with_photo["media_attachments"][0][key]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut served = Vec::new();
    for url in &urls {
        let (status, _, body) = fetch(url, None).await;
        assert_eq!(status, 200, "{url}");
        served.push(body);
    }
    assert_eq!(scene.stored_files(&a).len(), 2, "in the bucket");
    let settings = a.state.settings.clone();
    let env = s3_env(&settings);

    let archive_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let archive = archive_dir.path().join("clinic.tar.gz");
    let archive_arg = archive.to_string_lossy().into_owned();
    let out = hearth_with(
        &a.domain,
        &settings.data_dir,
        &settings.database_url(),
        &env,
        &["backup", &archive_arg],
    )
    .await;
    assert!(out.success, "backup failed: {out:?}");
    assert!(
        out.stderr.contains("0 media files")
            && out.stderr.contains("S3 bucket hearth-media")
            && out.stderr.contains("not in this archive"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("hearth-test-secret"),
        "no secret is printed"
    );

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let database = TestDatabase::create(&Engine::Sqlite, dir.path());
    let out = hearth_with(
        &a.domain,
        dir.path(),
        &database.url,
        &env,
        &["restore", &archive_arg],
    )
    .await;
    assert!(out.success, "restore failed: {out:?}");
    assert!(
        out.stderr.contains("0 media files") && out.stderr.contains("S3 bucket hearth-media"),
        "{}",
        out.stderr
    );
    assert!(
        !dir.path().join("media").exists(),
        "nothing was unpacked as media"
    );
    // Kept running (on the same domain and port) while its files are fetched.
    let _restored = a
        .restart_configured(Some(dir), database, |s| {
            s.media_s3_bucket = settings.media_s3_bucket.clone();
            s.media_s3_endpoint = settings.media_s3_endpoint.clone();
            s.media_s3_prefix = settings.media_s3_prefix.clone();
            s.media_s3_access_key_id = settings.media_s3_access_key_id.clone();
            s.media_s3_secret_access_key = settings.media_s3_secret_access_key.clone();
        })
        .await;
    for (url, before) in urls.iter().zip(&served) {
        let (status, _, body) = fetch(url, None).await;
        assert_eq!(
            (status, &body == before),
            (200, true),
            "{url} from the bucket"
        );
    }
}
