//! Backups and growth: `hearth backup` (one archive of a SQLite instance, database and media,
//! taken while it serves), `hearth restore` (into an empty data directory) and `hearth db
//! copy` (the whole clinic from SQLite into PostgreSQL).
//!
//! An archive is a gzipped tar of `hearth.db` (a `VACUUM INTO` snapshot), `media/...` and,
//! last, `manifest.json`, which describes what came before it: a restore that does not reach
//! it, or finds anything different from what it says, keeps nothing. Media kept in an S3
//! bucket (`HEARTH_MEDIA_S3_BUCKET`) are not archived: the manifest names the bucket, and
//! the bucket is backed up by the provider's versioning or replication.

use crate::{
    Error, Settings,
    config::MediaStorage,
    db::{AnyConnection, Database, Target, copy, snapshot},
};
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{
    collections::BTreeMap,
    fs::File,
    io::{self, BufReader, BufWriter, Read, Write},
    path::{Component, Path, PathBuf},
};

/// The archive format this Hearth writes and reads.
pub const FORMAT: u32 = 1;
const DATABASE_ENTRY: &str = "hearth.db";
const MEDIA_ENTRY: &str = "media";
const MANIFEST_ENTRY: &str = "manifest.json";
/// A manifest is a few kilobytes; a larger one is no manifest of ours.
const MANIFEST_MAX_BYTES: u64 = 1 << 20;

/// What an archive holds, written into it last.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The Hearth that made it.
    pub hearth_version: String,
    /// The last migration applied to the database.
    pub schema_version: String,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// The instance's domain (its actors' ids are built from it).
    pub domain: String,
    /// Size of `hearth.db`.
    pub database_bytes: u64,
    /// SHA-256 of `hearth.db`, hex.
    pub database_sha256: String,
    /// How many files under `media/`.
    pub media_files: u64,
    /// Their total size.
    pub media_bytes: u64,
    /// The S3 bucket the media were kept in, not in the archive; absent when they were
    /// archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_bucket: Option<String>,
    /// Rows per table in the snapshot.
    pub tables: BTreeMap<String, i64>,
}

/// The SQLite file of the instance; on PostgreSQL, a refusal naming `tool`.
fn sqlite_file(settings: &Settings, tool: &str) -> Result<PathBuf, Error> {
    match Target::parse(&settings.database_url())? {
        Target::Sqlite(path) => Ok(path),
        Target::Postgres(_) => Err(Error::Unprocessable(format!(
            "this instance is on PostgreSQL: use {tool}, PostgreSQL's own tool, for its \
             database (and copy <data_dir>/media/ with it); see the README's \"Backups\""
        ))),
    }
}

fn io_error(what: impl std::fmt::Display) -> impl Fn(io::Error) -> Error {
    move |e| Error::Operation(format!("{what}: {e}"))
}

/// SHA-256 of a file, hex.
fn file_sha256(path: &Path) -> Result<String, Error> {
    let mut file = File::open(path).map_err(io_error(path.display()))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(io_error(path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Every file under `dir` (none if it does not exist), by its path relative to `dir`, with
/// its size; half-written uploads (`.partial`) left out.
fn media_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, Error> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match std::fs::read_dir(dir.join(&relative)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(dir.display())(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_error(dir.display()))?;
            let kind = entry.file_type().map_err(io_error(dir.display()))?;
            let path = relative.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && path.extension().is_none_or(|e| e != "partial") {
                let len = entry.metadata().map_err(io_error(dir.display()))?.len();
                found.push((path, len));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A tar header for a regular file of `len` bytes.
fn file_header(len: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(len);
    header.set_mode(0o600);
    header.set_mtime(u64::try_from(Utc::now().timestamp()).unwrap_or(0));
    header
}

/// Writes a backup of the instance to `file` (which must not exist) while it serves: a
/// consistent snapshot of the database first, then the media (files uploaded after the
/// snapshot may come along; no file the snapshot names is missing, as files are written
/// before their rows). `progress` counts bytes.
pub async fn backup(
    settings: &Settings,
    file: &Path,
    progress: ProgressBar,
) -> Result<Manifest, Error> {
    let (settings, file) = (settings.clone(), file.to_owned());
    tokio::task::spawn_blocking(move || backup_blocking(&settings, &file, &progress)).await?
}

fn backup_blocking(
    settings: &Settings,
    file: &Path,
    progress: &ProgressBar,
) -> Result<Manifest, Error> {
    let database = sqlite_file(settings, "pg_dump")?;
    if file.exists() {
        return Err(Error::Unprocessable(format!(
            "{} exists already: give a new file name",
            file.display()
        )));
    }
    let mut live = snapshot::open_existing(&database)?;
    std::fs::create_dir_all(&settings.data_dir).map_err(io_error(settings.data_dir.display()))?;
    // The snapshot is written beside the database, and removed whatever happens.
    let scratch = tempfile::Builder::new()
        .prefix(".hearth-backup-")
        .tempdir_in(&settings.data_dir)
        .map_err(io_error(settings.data_dir.display()))?;
    let copy = scratch.path().join(DATABASE_ENTRY);
    progress.set_message("database snapshot");
    snapshot::vacuum_into(&mut live, &copy)?;
    drop(live);
    let (tables, schema_version) = {
        let mut conn = snapshot::open_existing(&copy)?;
        let tables = snapshot::table_counts(&mut conn)?;
        let applied = snapshot::applied_migrations(&mut conn)?;
        (tables, applied.last().cloned().unwrap_or_default())
    };
    let database_bytes = std::fs::metadata(&copy)
        .map_err(io_error(copy.display()))?
        .len();
    let database_sha256 = file_sha256(&copy)?;
    // Media in a bucket stay there: the bucket is backed up by its own versioning or
    // replication, and the archive holds the database alone.
    let (media_dir, media, media_bucket) = match settings.media_storage()? {
        MediaStorage::Local(dir) => {
            let files = media_files(&dir)?;
            (dir, files, None)
        }
        MediaStorage::S3(s3) => (settings.media_dir(), Vec::new(), Some(s3.bucket)),
    };
    progress.set_length(database_bytes + media.iter().map(|(_, len)| len).sum::<u64>());

    let parent = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    // Written under a temporary name and renamed when complete: no half archive is left.
    let partial = tempfile::Builder::new()
        .prefix(".hearth-backup-")
        .suffix(".partial")
        .tempfile_in(&parent)
        .map_err(io_error(parent.display()))?;
    let written = io_error(file.display());
    let gzip = flate2::write::GzEncoder::new(
        BufWriter::new(partial.as_file()),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gzip);
    let snapshot_file = File::open(&copy).map_err(io_error(copy.display()))?;
    tar.append_data(
        &mut file_header(database_bytes),
        DATABASE_ENTRY,
        progress.wrap_read(snapshot_file.take(database_bytes)),
    )
    .map_err(&written)?;
    progress.set_message("media");
    let (mut media_count, mut media_bytes) = (0_u64, 0_u64);
    for (relative, _) in &media {
        let path = media_dir.join(relative);
        let source = match File::open(&path) {
            Ok(source) => source,
            // Removed since it was listed (an upload never attached, cleaned up): no row
            // of the snapshot names it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(path.display())(e)),
        };
        let len = source.metadata().map_err(io_error(path.display()))?.len();
        tar.append_data(
            &mut file_header(len),
            Path::new(MEDIA_ENTRY).join(relative),
            progress.wrap_read(source.take(len)),
        )
        .map_err(&written)?;
        media_count += 1;
        media_bytes += len;
    }
    let manifest = Manifest {
        format: FORMAT,
        hearth_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        created_at: Utc::now(),
        domain: settings.domain.clone(),
        database_bytes,
        database_sha256,
        media_files: media_count,
        media_bytes,
        media_bucket,
        tables,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    tar.append_data(
        &mut file_header(json.len() as u64),
        MANIFEST_ENTRY,
        json.as_slice(),
    )
    .map_err(&written)?;
    let mut buffered = tar
        .into_inner()
        .and_then(flate2::write::GzEncoder::finish)
        .map_err(&written)?;
    buffered.flush().map_err(&written)?;
    drop(buffered);
    partial.as_file().sync_all().map_err(&written)?;
    partial
        .persist_noclobber(file)
        .map_err(|e| io_error(file.display())(e.error))?;
    progress.finish_and_clear();
    Ok(manifest)
}

/// What [`restore`] put in place.
#[derive(Debug)]
pub struct Restored {
    /// The archive's manifest.
    pub manifest: Manifest,
    /// Migrations applied after the restore (a backup from an older Hearth).
    pub migrated: Vec<String>,
    /// Where the database now is.
    pub database: PathBuf,
}

/// What an entry of an archive is.
enum Entry {
    Database,
    Manifest,
    Media(PathBuf),
    Directory,
}

/// Reads an entry's name; anything but the names a backup writes (and any `..` or absolute
/// path) is refused.
fn entry_kind(path: &Path, kind: tar::EntryType) -> Result<Entry, Error> {
    let plain = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    let strange = || {
        Error::Operation(format!(
            "unexpected entry {} in the archive",
            path.display()
        ))
    };
    if !plain {
        return Err(strange());
    }
    if kind.is_dir() {
        return Ok(Entry::Directory);
    }
    if kind != tar::EntryType::Regular {
        return Err(strange());
    }
    if path == Path::new(DATABASE_ENTRY) {
        Ok(Entry::Database)
    } else if path == Path::new(MANIFEST_ENTRY) {
        Ok(Entry::Manifest)
    } else if let Ok(media) = path.strip_prefix(MEDIA_ENTRY)
        && !media.as_os_str().is_empty()
    {
        Ok(Entry::Media(media.to_owned()))
    } else {
        Err(strange())
    }
}

/// Restores the archive `file` into the instance's empty data directory: refuses, changing
/// nothing, if the database file or any media exist; unpacks into a directory of its own
/// there; checks everything against the manifest, the database's integrity, and that its
/// migrations are ones this Hearth can go on from; migrates it forward; and only then moves
/// the media and the database into place. On any failure nothing of it is left.
pub async fn restore(
    settings: &Settings,
    file: &Path,
    progress: ProgressBar,
) -> Result<Restored, Error> {
    let (settings, file) = (settings.clone(), file.to_owned());
    tokio::task::spawn_blocking(move || restore_blocking(&settings, &file, &progress)).await?
}

fn restore_blocking(
    settings: &Settings,
    file: &Path,
    progress: &ProgressBar,
) -> Result<Restored, Error> {
    let database = sqlite_file(settings, "pg_restore")?;
    let media_dir = settings.media_dir();
    let wal = PathBuf::from(format!("{}-wal", database.display()));
    if database.exists() || wal.exists() {
        return Err(Error::Unprocessable(format!(
            "{} exists: restore only into an empty data directory (nothing was changed)",
            database.display()
        )));
    }
    if std::fs::read_dir(&media_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::Unprocessable(format!(
            "{} holds files: restore only into an empty data directory (nothing was changed)",
            media_dir.display()
        )));
    }
    let archive = File::open(file).map_err(io_error(file.display()))?;
    let archive_bytes = archive.metadata().map_err(io_error(file.display()))?.len();
    for dir in [Some(settings.data_dir.as_path()), database.parent()]
        .into_iter()
        .flatten()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(io_error(dir.display()))?;
    }
    let staging = tempfile::Builder::new()
        .prefix(".hearth-restore-")
        .tempdir_in(&settings.data_dir)
        .map_err(io_error(settings.data_dir.display()))?;
    progress.set_length(archive_bytes);
    progress.set_message("unpacking");
    let damaged = |e: io::Error| {
        Error::Operation(format!(
            "{} is damaged or not a complete Hearth backup ({e}); nothing was restored",
            file.display()
        ))
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(
        progress.wrap_read(archive),
    )));
    let (mut manifest, mut has_database) = (None::<Manifest>, false);
    let (mut media_count, mut media_bytes) = (0_u64, 0_u64);
    let staged_media = staging.path().join(MEDIA_ENTRY);
    let staged_database = staging.path().join(DATABASE_ENTRY);
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let path = entry.path().map_err(damaged)?.into_owned();
        let unpack = |entry: &mut tar::Entry<'_, _>, to: &Path| -> Result<u64, Error> {
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(io_error(dir.display()))?;
            }
            let mut out = File::create(to).map_err(io_error(to.display()))?;
            let n = io::copy(entry, &mut out).map_err(damaged)?;
            out.sync_all().map_err(io_error(to.display()))?;
            Ok(n)
        };
        match entry_kind(&path, entry.header().entry_type())? {
            Entry::Directory => {}
            Entry::Database => {
                unpack(&mut entry, &staged_database)?;
                has_database = true;
            }
            Entry::Media(relative) => {
                media_bytes += unpack(&mut entry, &staged_media.join(relative))?;
                media_count += 1;
            }
            Entry::Manifest => {
                let mut json = Vec::new();
                (&mut entry)
                    .take(MANIFEST_MAX_BYTES)
                    .read_to_end(&mut json)
                    .map_err(damaged)?;
                manifest = Some(serde_json::from_slice(&json).map_err(|e| {
                    Error::Operation(format!("{}: unreadable manifest: {e}", file.display()))
                })?);
            }
        }
    }
    // To the end of the gzip stream, whose checksum and length are checked there.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(damaged)?;
    let incomplete = |what: &str| {
        Error::Operation(format!(
            "{} is not a complete Hearth backup ({what}); nothing was restored",
            file.display()
        ))
    };
    let manifest = manifest.ok_or_else(|| incomplete("no manifest"))?;
    if manifest.format > FORMAT {
        return Err(Error::Unprocessable(format!(
            "{} was made by Hearth {} in archive format {}; this Hearth ({}) reads format {FORMAT}",
            file.display(),
            manifest.hearth_version,
            manifest.format,
            env!("CARGO_PKG_VERSION")
        )));
    }
    if !has_database {
        return Err(incomplete("no database"));
    }
    if (media_count, media_bytes) != (manifest.media_files, manifest.media_bytes) {
        return Err(incomplete(&format!(
            "{media_count} media files of {media_bytes} bytes, the manifest says {} of {}",
            manifest.media_files, manifest.media_bytes
        )));
    }
    if file_sha256(&staged_database)? != manifest.database_sha256 {
        return Err(incomplete(
            "the database differs from the one the manifest describes",
        ));
    }
    progress.set_message("checking");
    let migrated = {
        let mut conn = snapshot::open_existing(&staged_database)?;
        snapshot::check_integrity(&mut conn)?;
        let tables = snapshot::table_counts(&mut conn)?;
        if tables != manifest.tables {
            return Err(incomplete(
                "the database's row counts differ from the manifest's",
            ));
        }
        let migrated = snapshot::migrate_forward(&mut conn)?;
        // A file complete in itself, without a write-ahead log beside it, to move.
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "PRAGMA journal_mode = DELETE;",
        )?;
        migrated
    };
    // Media first, the database last: an instance never starts on a database without its
    // media, and if the database cannot be moved the media go back.
    if media_count > 0 {
        if media_dir.exists() {
            std::fs::remove_dir(&media_dir).map_err(io_error(media_dir.display()))?;
        }
        std::fs::rename(&staged_media, &media_dir).map_err(io_error(media_dir.display()))?;
    }
    if let Err(e) = std::fs::rename(&staged_database, &database) {
        if media_count > 0 {
            let _ = std::fs::rename(&media_dir, &staged_media);
        }
        return Err(io_error(database.display())(e));
    }
    progress.finish_and_clear();
    Ok(Restored {
        manifest,
        migrated,
        database,
    })
}

/// Copies the instance's SQLite database, every table, into the empty PostgreSQL database
/// at `to`: refuses a target holding data before changing it, applies PostgreSQL's
/// migrations, copies in one transaction, sets the sequences, and compares row counts per
/// table (a difference is an error, and nothing is kept). `progress` counts rows.
pub async fn copy_to_postgres(
    settings: &Settings,
    to: &str,
    progress: ProgressBar,
) -> Result<Vec<copy::TableCount>, Error> {
    let source_file = match Target::parse(&settings.database_url())? {
        Target::Sqlite(path) => path,
        Target::Postgres(_) => {
            return Err(Error::Unprocessable(
                "this instance is on PostgreSQL already: `db copy` moves a SQLite instance \
                 (set HEARTH_DATABASE_URL to its sqlite:// file)"
                    .into(),
            ));
        }
    };
    if !matches!(Target::parse(to)?, Target::Postgres(_)) {
        return Err(Error::Unprocessable(
            "--to takes a postgres:// URL of an empty database".into(),
        ));
    }
    if !source_file.is_file() {
        return Err(Error::Unprocessable(format!(
            "no SQLite database at {}",
            source_file.display()
        )));
    }
    let target = Database::connect(to, 1)?;
    let mut pg = target.dedicated_postgres()?;
    // Before the migrations, so that a database in use is refused untouched.
    let mut pg = tokio::task::spawn_blocking(move || {
        copy::check_empty(&mut pg)?;
        Ok::<_, Error>(pg)
    })
    .await??;
    target.migrate().await?;
    let source = Database::connect(&settings.database_url(), 1)?;
    source.migrate().await?;
    source
        .run(move |conn| match conn {
            AnyConnection::Sqlite(lite) => copy::copy_all(lite, &mut pg, &progress),
            AnyConnection::Postgresql(_) => Err(Error::Internal("the source is not SQLite".into())),
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::{Connection, connection::SimpleConnection};

    fn settings(dir: &Path) -> Settings {
        Settings {
            data_dir: dir.to_owned(),
            ..Settings::default()
        }
    }

    /// A backup restores into an empty directory; a backup of a database from a newer
    /// Hearth (a migration this one does not know) is refused after unpacking, and nothing
    /// of it is left.
    #[test]
    fn a_backup_from_a_newer_hearth_is_refused_and_leaves_nothing() {
        let source = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let database = source.path().join("hearth.db");
        let mut conn = diesel::sqlite::SqliteConnection::establish(&database.to_string_lossy())
            .unwrap_or_else(|e| panic!("{e}"));
        snapshot::migrate_forward(&mut conn).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(source.path().join("media")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(source.path().join("media/a.jpg"), b"jpeg")
            .unwrap_or_else(|e| panic!("{e}"));
        let hidden = ProgressBar::hidden();
        let archives = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let current = archives.path().join("current.tar.gz");
        let manifest = backup_blocking(&settings(source.path()), &current, &hidden)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((manifest.media_files, manifest.media_bytes), (1, 4));

        let fresh = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let restored = restore_blocking(&settings(fresh.path()), &current, &hidden)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(restored.migrated.is_empty());
        assert_eq!(
            std::fs::read(fresh.path().join("media/a.jpg")).unwrap_or_default(),
            b"jpeg"
        );

        conn.batch_execute(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('99990101000000')",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let newer = archives.path().join("newer.tar.gz");
        backup_blocking(&settings(source.path()), &newer, &hidden)
            .unwrap_or_else(|e| panic!("{e}"));
        let fresh = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let refused = restore_blocking(&settings(fresh.path()), &newer, &hidden)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("does not know")),
            "{refused:?}"
        );
        assert_eq!(
            std::fs::read_dir(fresh.path()).map_or(0, Iterator::count),
            0,
            "nothing left"
        );
    }
}
