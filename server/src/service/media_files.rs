//! Where media files are kept: `<data_dir>/media/` by default, or a bucket of an
//! S3-compatible object store (`HEARTH_MEDIA_S3_BUCKET`). Both sit behind `object_store`, so
//! the upload pipeline, the clean-up and `/media/...` take one code path whichever is set up,
//! and the tests run that path on both.
//!
//! A bucket is never shown to the public: Hearth reads each file and serves it itself, after
//! checking who may see it ([`super::media::servable`]); the bucket should stay private.
//! Locally, a file is written under a temporary name and renamed into place, so a half-written
//! file is never served; a bucket makes an object visible only once it is complete.

use crate::{
    Error,
    config::{MediaStorage, S3Storage},
};
use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use futures::{
    StreamExt, TryStreamExt,
    stream::{self, BoxStream},
};
use object_store::{
    ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    aws::AmazonS3Builder, local::LocalFileSystem, path::Path, prefix::PrefixStore,
};
use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

/// The stored files, by name.
#[derive(Clone)]
pub struct MediaFiles {
    store: Arc<dyn ObjectStore>,
}

/// Names the store (`LocalFileSystem(file:///...)`, `AmazonS3(bucket)`), never its keys.
impl std::fmt::Debug for MediaFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MediaFiles({})", self.store)
    }
}

/// A stored file being read, for sending.
pub struct StoredFile {
    /// Its bytes, as they arrive from the disk or the bucket.
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
    /// Its size in bytes.
    pub size: u64,
    /// When it was written.
    pub last_modified: SystemTime,
}

impl std::fmt::Debug for StoredFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredFile")
            .field("size", &self.size)
            .field("last_modified", &self.last_modified)
            .finish_non_exhaustive()
    }
}

/// What reading a file found.
#[derive(Debug)]
pub enum Read {
    /// The file.
    File(StoredFile),
    /// The part of the file the reader asked for (`Range`): its first and last byte, of the
    /// whole file's `total`.
    Part {
        /// The part (its `size` is the part's).
        file: StoredFile,
        /// The first byte.
        first: u64,
        /// The last byte.
        last: u64,
        /// The whole file's size.
        total: u64,
    },
    /// The reader asked for a part the file does not have; it is `total` bytes long.
    Unsatisfiable {
        /// The whole file's size.
        total: u64,
    },
    /// The file is as the reader already has it (`If-Modified-Since`).
    NotModified,
}

/// The storage error of `name`, for the log; a client sees a plain 500.
fn storage_error(doing: &str, name: &str, e: &object_store::Error) -> Error {
    Error::Internal(format!("{doing} media file {name}: {e}"))
}

impl MediaFiles {
    /// Opens the store `storage` names (creating the local directory if need be). Nothing is
    /// asked of a bucket yet; see [`MediaFiles::check`].
    pub fn open(storage: &MediaStorage) -> Result<Self, Error> {
        let store: Arc<dyn ObjectStore> = match storage {
            MediaStorage::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::Config(format!("creating {}: {e}", dir.display())))?;
                Arc::new(LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                    Error::Config(format!("media directory {}: {e}", dir.display()))
                })?)
            }
            MediaStorage::S3(s3) => bucket(s3)?,
        };
        Ok(Self { store })
    }

    /// Asks the store for a file that does not exist: a missing bucket, a wrong key or an
    /// unreachable endpoint shows at startup rather than at the first upload.
    pub async fn check(&self) -> Result<(), Error> {
        match self.store.head(&Path::from(".hearth-check")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::Config(format!("media storage {}: {e}", self.store))),
        }
    }

    /// Writes the file `name`, whole or not at all.
    pub async fn put(&self, name: &str, data: Vec<u8>) -> Result<(), Error> {
        self.store
            .put(&Path::from(name), PutPayload::from(data))
            .await
            .map(drop)
            .map_err(|e| storage_error("writing", name, &e))
    }

    /// Writes the file `name` from `file` (read from its current position), without holding
    /// it in memory: a large file goes to a bucket in parts. Whole or not at all.
    pub async fn put_file(&self, name: &str, file: std::fs::File) -> Result<(), Error> {
        use tokio::io::AsyncWriteExt;
        let mut reader = tokio::fs::File::from_std(file);
        let mut writer =
            object_store::buffered::BufWriter::new(self.store.clone(), Path::from(name));
        let written = match tokio::io::copy(&mut reader, &mut writer).await {
            Ok(_) => writer.shutdown().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "an unfinished media file could not be dropped");
            }
            return Err(Error::Internal(format!("writing media file {name}: {e}")));
        }
        Ok(())
    }

    /// Removes the files `names` (in one request to a bucket, or one each where the store
    /// lacks bulk deletion); missing ones are no error.
    /// A failure is logged: the rows that named them are gone, so at worst a file nothing
    /// serves stays behind.
    pub async fn delete(&self, names: &[&str]) {
        let paths: Vec<object_store::Result<Path>> =
            names.iter().map(|name| Ok(Path::from(*name))).collect();
        let mut deleted = self.store.delete_stream(stream::iter(paths).boxed());
        while let Some(result) = deleted.next().await {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "a media file could not be removed"),
            }
        }
    }

    /// Opens the file `name` for reading, unless it has not changed since `since` (the
    /// reader's `If-Modified-Since`); only the part `range` names (the reader's `Range`), if
    /// it names one part. A missing file is "not found".
    pub async fn read(
        &self,
        name: &str,
        since: Option<SystemTime>,
        range: Option<&str>,
    ) -> Result<Read, Error> {
        // An HTTP date has whole seconds; the store's time has fractions. "Not modified" is
        // any time within the second the reader was given.
        let since = since.map(|t| DateTime::<Utc>::from(t) + TimeDelta::nanoseconds(999_999_999));
        let mut options = GetOptions::new().with_if_modified_since(since);
        // A `Range` that is not one well-formed part is ignored, as HTTP allows: the whole
        // file is sent. Its size is needed first to check the part.
        let parsed = range.and_then(|r| http_range_header::parse_range_header(r).ok());
        let mut part = None;
        if let Some(parsed) = parsed {
            let total = match self.store.head(&Path::from(name)).await {
                Ok(meta) => meta.size,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(Error::not_found("Record not found"));
                }
                Err(e) => return Err(storage_error("reading", name, &e)),
            };
            match parsed.validate(total) {
                Ok(parts) if parts.len() == 1 => {
                    let (first, last) = (*parts[0].start(), *parts[0].end());
                    options.range = Some((first..last + 1).into());
                    part = Some((first, last, total));
                }
                Ok(_) => {}
                Err(_) => return Ok(Read::Unsatisfiable { total }),
            }
        }
        match self.store.get_opts(&Path::from(name), options).await {
            // Checked here too: not every S3-compatible store answers the condition itself.
            Ok(found) if since.is_some_and(|since| found.meta.last_modified <= since) => {
                Ok(Read::NotModified)
            }
            Ok(found) => {
                let name = name.to_owned();
                let file = StoredFile {
                    size: found.range.end - found.range.start,
                    last_modified: found.meta.last_modified.into(),
                    // Once sending has begun, a failure can only cut the response short: it
                    // is logged here, or no one would know why.
                    body: found
                        .into_stream()
                        .inspect_err(move |e| {
                            tracing::warn!(error = %e, name, "a media file was cut off while sent");
                        })
                        .boxed(),
                };
                Ok(match part {
                    Some((first, last, total)) => Read::Part {
                        file,
                        first,
                        last,
                        total,
                    },
                    None => Read::File(file),
                })
            }
            Err(object_store::Error::NotModified { .. }) => Ok(Read::NotModified),
            Err(object_store::Error::NotFound { .. }) => Err(Error::not_found("Record not found")),
            Err(e) => Err(storage_error("reading", name, &e)),
        }
    }
}

/// The bucket the settings name. `AWS_*` variables fill in what the `HEARTH_MEDIA_S3_*` ones
/// leave out (credentials from the environment or the machine's role); plain http only to an
/// endpoint written with `http://`.
fn bucket(s3: &S3Storage) -> Result<Arc<dyn ObjectStore>, Error> {
    let mut builder = AmazonS3Builder::from_env()
        // First: the client options replace any set before (`with_allow_http` among them).
        .with_client_options(
            ClientOptions::new()
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Duration::from_secs(60)),
        )
        .with_allow_http(s3.endpoint.as_ref().is_some_and(|u| u.scheme() == "http"))
        .with_bucket_name(&s3.bucket)
        .with_region(&s3.region)
        .with_virtual_hosted_style_request(s3.virtual_hosted_style)
        // Stores without `DeleteObjects` get one `DELETE` per file.
        .with_disable_bulk_delete(!s3.bulk_delete)
        // A reader waits for its image: a few quick retries, not object_store's three minutes.
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(10),
            ..RetryConfig::default()
        });
    if let Some(endpoint) = &s3.endpoint {
        builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
    }
    if let Some((key, secret)) = &s3.credentials {
        builder = builder
            .with_access_key_id(key)
            .with_secret_access_key(secret.expose());
    }
    let store = builder
        .build()
        .map_err(|e| Error::Config(format!("HEARTH_MEDIA_S3_*: {e}")))?;
    Ok(if s3.prefix.is_empty() {
        Arc::new(store)
    } else {
        Arc::new(PrefixStore::new(store, s3.prefix.as_str()))
    })
}
