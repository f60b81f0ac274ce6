//! Settings: defaults, then an optional `hearth.toml`, then `HEARTH_*` environment variables.

use crate::Error;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, path::PathBuf};

/// Every setting of an instance. Each field can be set in `hearth.toml` under its own name, or
/// by the environment variable `HEARTH_` + its name in capitals (`HEARTH_DOMAIN`, ...).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    /// Public host name of the instance, with `:port` where it is not the scheme's default.
    /// Actor ids and handles are built from it; it must not change once the instance federates.
    /// Default: `localhost:8080`.
    pub domain: String,
    /// Address and port to listen on. Default: `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// Directory for the SQLite database and other local data. Default: `./data`.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`. Default: `sqlite://<data_dir>/hearth.db`.
    pub database_url: Option<String>,
    /// Most database connections per process. Default: `10`.
    pub database_pool_size: u32,
    /// Federate over plain http with instances on loopback addresses only (tests, local
    /// development). Default: `false` (https required, private addresses refused).
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub loopback_federation: bool,
    /// Federate over plain http on a closed private network, reaching only addresses inside
    /// these networks (never the internet): for clinics trying federation among themselves on
    /// one machine or a private network (`docker/federation/compose.yaml`), with the federation
    /// mode set to an allowlist of each other. In the environment a list in brackets:
    /// `HEARTH_PRIVATE_FEDERATION_NETWORKS='["172.30.0.0/24"]'`. Default: none (https, public
    /// addresses only).
    pub private_federation_networks: Vec<IpNet>,
    /// Instance name shown to clients and other servers. Default: `Hearth`.
    pub instance_name: String,
    /// One-paragraph description of the clinic's instance. Default: a generic sentence.
    pub instance_description: String,
    /// Contact address for patients and other admins. Default: empty.
    pub contact_email: String,
    /// Who may create an account on their own: `closed` (only staff, with `hearth user
    /// create`), `invite` (with an invite code from `hearth invite create`), `approval`
    /// (anyone may ask, giving a reason; a moderator approves) or `open`. Default: `approval`.
    pub registration_mode: Option<RegistrationMode>,
    /// Before 2026-12: `true` meant `open`, `false` meant `closed`. Read only when
    /// `registration_mode` is not set. Default: unset.
    #[serde(
        default,
        deserialize_with = "legacy_flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub open_registrations: Option<bool>,
    /// The clinic's privacy notice as plain text (paragraphs separated by blank lines), shown
    /// on the sign-up page, where it must be agreed to. Default: empty.
    pub privacy_notice: String,
    /// A link to the clinic's privacy notice, shown on the sign-up page (with the text above,
    /// or alone). Default: empty.
    pub privacy_notice_url: String,
    /// The instance's rules, one sentence each, shown on the sign-up page, where they must be
    /// agreed to, and served at `/api/v1/instance/rules`. In the environment a list in
    /// brackets: `HEARTH_RULES='["Be kind.", "No medical advice to others."]'`. Default: none.
    pub rules: Vec<String>,
    /// How long a delivering process holds a receiving server's queue without news; if the
    /// process dies, another one (or the restarted one) takes the queue over after this long.
    /// On SQLite, where one process delivers, a restart takes it over at once. Default: `60`.
    pub delivery_lease_seconds: u32,
    /// Whether apps may trade a person's handle and password for a token (OAuth's `password`
    /// grant). Off, people sign in only on this server's own page, where their password
    /// stays. Default: `false`.
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub oauth_password_grant: bool,
    /// How many days the handle of a deleted account stays taken, so that nobody can take it
    /// and pass for the person who left (counted from when every server that knew them has
    /// been told). Default: `365`.
    pub retired_handle_days: u32,
    /// Largest image upload accepted, in bytes; larger ones are refused (422). Stored under
    /// `<data_dir>/media/`, or in the bucket below. Default: `10485760` (10 MiB).
    pub media_max_bytes: u64,
    /// Keeps media in this bucket of an S3-compatible object store instead of
    /// `<data_dir>/media/`. Hearth still serves every file itself (`/media/...`, checking who
    /// may see it), so the bucket should be private. Default: unset (the local directory).
    pub media_s3_bucket: Option<String>,
    /// The object store's URL, for a store other than AWS (MinIO, Garage, Ceph...): `http://`
    /// is allowed only when written here. Default: unset (AWS S3 in `media_s3_region`).
    pub media_s3_endpoint: Option<String>,
    /// The bucket's region. Default: `us-east-1` (what most other stores expect).
    pub media_s3_region: Option<String>,
    /// The access key; with `media_s3_secret_access_key`, or neither (then the standard
    /// `AWS_*` variables, or the role of the machine). Default: unset.
    pub media_s3_access_key_id: Option<String>,
    /// The secret of `media_s3_access_key_id`. Default: unset.
    pub media_s3_secret_access_key: Option<Secret>,
    /// A folder in the bucket for Hearth's files (`hearth/media`), when the bucket is shared.
    /// Default: unset (the bucket's top).
    pub media_s3_prefix: Option<String>,
    /// Address the bucket as `https://BUCKET.host/` rather than `https://host/BUCKET/`, for a
    /// store that needs it. Default: `false` (path style, which MinIO, Garage, Ceph and AWS
    /// all accept).
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub media_s3_virtual_hosted_style: bool,
    /// Remove files several in one request (S3's `DeleteObjects`). Set to `false` for a store
    /// that lacks it (some S3-compatible stores do): one request per file. Default: `true`.
    #[serde(deserialize_with = "figment::util::bool_from_str_or_int")]
    pub media_s3_bulk_delete: bool,
    /// Seconds a client may take to send a request's headers; the connection is closed after
    /// that. A kept-alive connection on which no new request starts within it is closed too.
    /// Default: `10`.
    pub header_timeout_seconds: u64,
    /// Seconds a request body may pause (no byte arriving) before the request is cut off, on
    /// every route. Default: `10`.
    pub body_timeout_seconds: u64,
    /// Most connections open at once from one client address (an IPv6 client counts by its
    /// /64); further ones are closed as soon as they are accepted. `0` for no limit. Behind a
    /// reverse proxy every connection comes from the proxy, each app's streaming connection
    /// included: set this above what the proxy opens, or to `0`, and let the proxy bound
    /// connections per client (`docker/nginx.conf.example`). Default: `256`.
    pub max_connections_per_address: u32,
    /// How long a stopping process (SIGTERM, Ctrl-C) may take: it stops accepting at once,
    /// then lets open requests finish and the activities being delivered be answered, and
    /// exits when all have or when this runs out. Keep a container's stop timeout above it.
    /// Default: `15`.
    pub shutdown_grace_seconds: u64,
    /// What `hearth serve` does: `all` (answer HTTP, deliver, run timed work), `web` (answer
    /// HTTP only) or `worker` (deliver and run timed work, no HTTP listener). `web` and
    /// `worker` need PostgreSQL: several of each share one database. `--role` overrides it.
    /// Default: `all`.
    pub role: ServeRole,
    /// A bearer token that opens `GET /metrics` (Prometheus text) on the main listener; at
    /// least 16 characters. Requests without it are answered 401. Default: unset (no
    /// `/metrics` there: 404).
    pub metrics_token: Option<Secret>,
    /// An address of its own (`127.0.0.1:9100`, or a private network's) on which `/metrics`
    /// is served without a token, for a scraper that reaches it and nobody else does. Default:
    /// unset (no such listener).
    pub metrics_bind: Option<SocketAddr>,
    /// Log lines as `text` (for people) or `json` (one object per line, for a log collector).
    /// Default: `text`.
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            domain: "localhost:8080".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_pool_size: 10,
            loopback_federation: false,
            private_federation_networks: Vec::new(),
            instance_name: "Hearth".into(),
            instance_description: "Patient support groups run by a clinic, on the Fediverse."
                .into(),
            contact_email: String::new(),
            registration_mode: None,
            open_registrations: None,
            privacy_notice: String::new(),
            privacy_notice_url: String::new(),
            rules: Vec::new(),
            delivery_lease_seconds: 60,
            oauth_password_grant: false,
            retired_handle_days: crate::service::account_deletion::DEFAULT_HANDLE_REST_DAYS,
            media_max_bytes: 10 * 1024 * 1024,
            media_s3_bucket: None,
            media_s3_endpoint: None,
            media_s3_region: None,
            media_s3_access_key_id: None,
            media_s3_secret_access_key: None,
            media_s3_prefix: None,
            media_s3_virtual_hosted_style: false,
            media_s3_bulk_delete: true,
            header_timeout_seconds: 10,
            body_timeout_seconds: 10,
            max_connections_per_address: 256,
            shutdown_grace_seconds: 15,
            role: ServeRole::All,
            metrics_token: None,
            metrics_bind: None,
            log_format: LogFormat::Text,
        }
    }
}

/// How log lines are written (see `Settings::log_format`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event, values escaped (see `crate::logging`).
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

/// A setting that must not reach a log: its `Debug` form is `[redacted]`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one comparison that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where media are kept (see `Settings::media_storage`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaStorage {
    /// Files in this directory.
    Local(PathBuf),
    /// Objects in an S3-compatible bucket.
    S3(S3Storage),
}

/// An S3-compatible bucket, as the `media_s3_*` settings name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Storage {
    /// The bucket.
    pub bucket: String,
    /// The store's URL; `None` for AWS.
    pub endpoint: Option<url::Url>,
    /// The region.
    pub region: String,
    /// Key and secret, when set here rather than in `AWS_*` variables.
    pub credentials: Option<(String, Secret)>,
    /// The folder in the bucket, without slashes at either end; empty for the top.
    pub prefix: String,
    /// `https://BUCKET.host/` rather than `https://host/BUCKET/`.
    pub virtual_hosted_style: bool,
    /// Several files removed in one request (`DeleteObjects`).
    pub bulk_delete: bool,
}

/// What a server process does (see `Settings::role`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ServeRole {
    /// Answers HTTP, delivers and runs timed work: the one process of a small instance.
    #[default]
    All,
    /// Answers HTTP only (behind a load balancer, beside worker processes).
    Web,
    /// Delivers and runs timed work; no HTTP listener.
    Worker,
}

impl ServeRole {
    /// Whether the process answers HTTP.
    pub fn serves_web(self) -> bool {
        self != Self::Worker
    }

    /// Whether the process delivers and runs timed work.
    pub fn delivers(self) -> bool {
        self != Self::Web
    }
}

/// Who may create an account on their own (see `Settings::registration_mode`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationMode {
    /// Only staff create accounts.
    Closed,
    /// An invite code is needed.
    Invite,
    /// Anyone may ask; a moderator approves.
    #[default]
    Approval,
    /// Anyone may sign up.
    Open,
}

impl RegistrationMode {
    /// Whether anyone may sign up without an invite (Mastodon's "registrations enabled").
    pub fn anyone_may_ask(self) -> bool {
        matches!(self, Self::Approval | Self::Open)
    }
}

/// `open_registrations` as figment reads booleans (`true`, `1`...), absent when unset.
fn legacy_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    figment::util::bool_from_str_or_int(d).map(Some)
}

impl Settings {
    /// The registration mode in force: `registration_mode`, else what an old
    /// `open_registrations` meant, else `approval`.
    pub fn registration_mode(&self) -> RegistrationMode {
        match (self.registration_mode, self.open_registrations) {
            (Some(mode), _) => mode,
            (None, Some(true)) => RegistrationMode::Open,
            (None, Some(false)) => RegistrationMode::Closed,
            (None, None) => RegistrationMode::default(),
        }
    }

    /// The metrics token, when one is set (an empty one counts as unset).
    pub fn metrics_token(&self) -> Option<&str> {
        self.metrics_token
            .as_ref()
            .map(Secret::expose)
            .filter(|t| !t.trim().is_empty())
    }

    /// Whether metrics are collected: a token or a metrics address is set.
    pub fn metrics_enabled(&self) -> bool {
        self.metrics_token().is_some() || self.metrics_bind.is_some()
    }

    /// Loads settings from `config_file` (if it exists) and the environment.
    pub fn load(config_file: Option<PathBuf>) -> Result<Self, Error> {
        let file = config_file.unwrap_or_else(|| PathBuf::from("hearth.toml"));
        let settings: Self = Figment::from(Serialized::defaults(Self::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("HEARTH_").ignore(&[
                "config",
                "log",
                "test_postgres_url",
                "require_postgres",
            ]))
            .extract()
            .map_err(|e| Error::Config(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what can be checked before starting.
    pub fn validate(&self) -> Result<(), Error> {
        let probe = format!("http://{}/", self.domain);
        let parsed = url::Url::parse(&probe)
            .map_err(|_| Error::Config(format!("domain {:?} is not a host name", self.domain)))?;
        if parsed.path() != "/"
            || parsed.host_str().is_none_or(str::is_empty)
            || self.domain.contains('/')
        {
            return Err(Error::Config(format!(
                "domain {:?} must be a bare host[:port]",
                self.domain
            )));
        }
        let notice = self.privacy_notice_url.trim();
        if !notice.is_empty()
            && !url::Url::parse(notice).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
        {
            return Err(Error::Config(format!(
                "privacy_notice_url {notice:?} must be an http or https URL"
            )));
        }
        if self.database_pool_size == 0 {
            return Err(Error::Config(
                "database_pool_size must be at least 1".into(),
            ));
        }
        if self.media_max_bytes == 0 {
            return Err(Error::Config("media_max_bytes must be at least 1".into()));
        }
        if self
            .metrics_token()
            .is_some_and(|t| t.trim().chars().count() < 16)
        {
            return Err(Error::Config(
                "metrics_token must be at least 16 characters".into(),
            ));
        }
        let on_postgres = matches!(
            crate::db::Target::parse(&self.database_url()),
            Ok(crate::db::Target::Postgres(_))
        );
        if self.role != ServeRole::All && !on_postgres {
            return Err(Error::Config(
                "role web or worker needs PostgreSQL (HEARTH_DATABASE_URL=postgres://...): on SQLite one process does everything".into(),
            ));
        }
        self.media_storage()?;
        if self.header_timeout_seconds == 0 || self.body_timeout_seconds == 0 {
            return Err(Error::Config(
                "header_timeout_seconds and body_timeout_seconds must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// How long a request's headers may take to arrive.
    pub fn header_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_timeout_seconds)
    }

    /// How long a stopping process may take ([`Settings::shutdown_grace_seconds`]).
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// How long a request body may pause.
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_timeout_seconds)
    }

    /// The local media directory (used unless `media_s3_bucket` is set).
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// Where media are kept: the bucket when `media_s3_bucket` is set, the local directory
    /// otherwise. An `media_s3_*` setting without the bucket, a key without its secret (or the
    /// reverse), or an endpoint that is not an http(s) URL is refused: a half-set store would
    /// otherwise fail on the first upload, or quietly write to the disk instead.
    pub fn media_storage(&self) -> Result<MediaStorage, Error> {
        let set = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let secret = self
            .media_s3_secret_access_key
            .as_ref()
            .filter(|s| !s.expose().trim().is_empty())
            .map(|s| Secret::from(s.expose().trim().to_owned()));
        let Some(bucket) = set(&self.media_s3_bucket) else {
            let named = [
                (
                    "HEARTH_MEDIA_S3_ENDPOINT",
                    set(&self.media_s3_endpoint).is_some(),
                ),
                (
                    "HEARTH_MEDIA_S3_REGION",
                    set(&self.media_s3_region).is_some(),
                ),
                (
                    "HEARTH_MEDIA_S3_ACCESS_KEY_ID",
                    set(&self.media_s3_access_key_id).is_some(),
                ),
                ("HEARTH_MEDIA_S3_SECRET_ACCESS_KEY", secret.is_some()),
                (
                    "HEARTH_MEDIA_S3_PREFIX",
                    set(&self.media_s3_prefix).is_some(),
                ),
                (
                    "HEARTH_MEDIA_S3_VIRTUAL_HOSTED_STYLE",
                    self.media_s3_virtual_hosted_style,
                ),
                ("HEARTH_MEDIA_S3_BULK_DELETE", !self.media_s3_bulk_delete),
            ];
            if let Some((name, _)) = named.iter().find(|(_, set)| *set) {
                return Err(Error::Config(format!(
                    "{name} is set but HEARTH_MEDIA_S3_BUCKET is not: set the bucket to keep media in S3, or unset the rest to keep them in {}",
                    self.media_dir().display()
                )));
            }
            return Ok(MediaStorage::Local(self.media_dir()));
        };
        let endpoint = set(&self.media_s3_endpoint)
            .map(|raw| {
                url::Url::parse(&raw)
                    .ok()
                    .filter(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.host_str().is_some()
                            && u.query().is_none()
                    })
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "HEARTH_MEDIA_S3_ENDPOINT {raw:?} must be an http:// or https:// URL"
                        ))
                    })
            })
            .transpose()?;
        let credentials = match (set(&self.media_s3_access_key_id), secret) {
            (Some(key), Some(secret)) => Some((key, secret)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(Error::Config(
                    "HEARTH_MEDIA_S3_ACCESS_KEY_ID is set without HEARTH_MEDIA_S3_SECRET_ACCESS_KEY"
                        .into(),
                ));
            }
            (None, Some(_)) => {
                return Err(Error::Config(
                    "HEARTH_MEDIA_S3_SECRET_ACCESS_KEY is set without HEARTH_MEDIA_S3_ACCESS_KEY_ID"
                        .into(),
                ));
            }
        };
        let prefix = set(&self.media_s3_prefix)
            .map(|p| p.trim_matches('/').to_owned())
            .unwrap_or_default();
        if prefix
            .split('/')
            .any(|part| matches!(part, "." | "..") || (part.is_empty() && !prefix.is_empty()))
        {
            return Err(Error::Config(format!(
                "HEARTH_MEDIA_S3_PREFIX {prefix:?} must be a plain folder name, like hearth/media"
            )));
        }
        Ok(MediaStorage::S3(S3Storage {
            bucket,
            endpoint,
            region: set(&self.media_s3_region).unwrap_or_else(|| "us-east-1".into()),
            credentials,
            prefix,
            virtual_hosted_style: self.media_s3_virtual_hosted_style,
            bulk_delete: self.media_s3_bulk_delete,
        }))
    }

    /// How long a delivery pass holds a server's queue.
    pub fn delivery_lease(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(i64::from(self.delivery_lease_seconds.max(1)))
    }

    /// How long a deleted account's handle stays taken.
    pub fn handle_rest(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::days(i64::from(self.retired_handle_days))
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("hearth.db").display()),
        }
    }

    /// The networks federation is closed to: loopback in loopback mode, the private networks
    /// named, both where both are set; none (the open internet) in production.
    pub fn closed_network(&self) -> Vec<IpNet> {
        let mut networks = self.private_federation_networks.clone();
        if self.loopback_federation {
            networks.extend(hearth_federation::resolver::AddressPolicy::loopback_networks());
        }
        networks
    }

    /// `http` on a closed network and for a `localhost` domain (a development instance, which
    /// no TLS proxy fronts), `https` otherwise.
    pub fn scheme(&self) -> &'static str {
        let host = self
            .domain
            .rsplit_once(':')
            .map_or(self.domain.as_str(), |(host, _)| host);
        let localhost = host == "localhost" || host.ends_with(".localhost");
        if !self.closed_network().is_empty() || localhost {
            "http"
        } else {
            "https"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn defaults_start_a_local_sqlite_instance() {
        figment::Jail::expect_with(|_jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.domain, "localhost:8080");
            assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(s.database_url(), "sqlite://data/hearth.db");
            assert!(!s.loopback_federation);
            assert_eq!(s.media_max_bytes, 10 * 1024 * 1024);
            assert_eq!(s.header_timeout().as_secs(), 10);
            assert_eq!(s.body_timeout().as_secs(), 10);
            assert_eq!(s.max_connections_per_address, 256);
            assert!(!s.metrics_enabled() && s.metrics_bind.is_none());
            assert_eq!(s.log_format, LogFormat::Text);
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hearth.toml",
                "domain = \"clinic.example\"\nbind = \"0.0.0.0:9000\"",
            )?;
            jail.set_env("HEARTH_DOMAIN", "hearth.clinic.example");
            jail.set_env("HEARTH_LOOPBACK_FEDERATION", "1");
            jail.set_env("HEARTH_MEDIA_MAX_BYTES", "2000000");
            jail.set_env("HEARTH_HEADER_TIMEOUT_SECONDS", "3");
            jail.set_env("HEARTH_MAX_CONNECTIONS_PER_ADDRESS", "0");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.media_max_bytes, 2_000_000);
            assert_eq!(s.header_timeout().as_secs(), 3);
            assert_eq!(s.max_connections_per_address, 0);
            assert_eq!(s.domain, "hearth.clinic.example");
            assert_eq!(s.bind.port(), 9000);
            assert!(s.loopback_federation);
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn web_and_worker_roles_need_postgresql() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HEARTH_ROLE", "worker");
            let refused = Settings::load(None).err().map(|e| e.to_string());
            assert!(
                refused
                    .as_deref()
                    .is_some_and(|e| e.contains("needs PostgreSQL")),
                "{refused:?}"
            );
            jail.set_env("HEARTH_DATABASE_URL", "postgres://hearth@127.0.0.1/hearth");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.role, ServeRole::Worker);
            assert!(s.role.delivers() && !s.role.serves_web());
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn a_private_network_closes_federation_to_it_over_http() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HEARTH_DOMAIN", "clinic-a:8080");
            jail.set_env(
                "HEARTH_PRIVATE_FEDERATION_NETWORKS",
                r#"["172.30.0.0/24", "fd00:30::/64"]"#,
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            let named: Vec<String> = s.closed_network().iter().map(|n| n.to_string()).collect();
            assert_eq!(named, ["172.30.0.0/24", "fd00:30::/64"]);
            assert_eq!(s.scheme(), "http");
            jail.set_env(
                "HEARTH_PRIVATE_FEDERATION_NETWORKS",
                r#"["172.30.0.300/24"]"#,
            );
            let refused = Settings::load(None).err().map(|e| e.to_string());
            assert!(
                refused
                    .as_deref()
                    .is_some_and(|e| e.contains("PRIVATE_FEDERATION_NETWORKS")),
                "an address that is not one must be refused by name: {refused:?}"
            );
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn registration_settings_are_read_and_old_configs_still_work() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.registration_mode(), RegistrationMode::Approval);
            assert!(s.rules.is_empty() && s.privacy_notice.is_empty());

            jail.set_env("HEARTH_OPEN_REGISTRATIONS", "true");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.registration_mode(), RegistrationMode::Open);
            jail.set_env("HEARTH_OPEN_REGISTRATIONS", "0");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.registration_mode(), RegistrationMode::Closed);

            jail.set_env("HEARTH_REGISTRATION_MODE", "invite");
            jail.set_env(
                "HEARTH_RULES",
                r#"["Be kind.", "No medical advice, please."]"#,
            );
            jail.set_env(
                "HEARTH_PRIVACY_NOTICE_URL",
                "https://clinic.example/privacy",
            );
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.registration_mode(), RegistrationMode::Invite);
            assert_eq!(s.rules, ["Be kind.", "No medical advice, please."]);
            assert_eq!(s.privacy_notice_url, "https://clinic.example/privacy");

            jail.set_env("HEARTH_REGISTRATION_MODE", "sometimes");
            assert!(Settings::load(None).is_err(), "an unknown mode is refused");
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn monitoring_settings_are_read_and_the_token_never_shown() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HEARTH_METRICS_TOKEN", "a-long-enough-metrics-token");
            jail.set_env("HEARTH_METRICS_BIND", "127.0.0.1:9100");
            jail.set_env("HEARTH_LOG_FORMAT", "json");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.metrics_token(), Some("a-long-enough-metrics-token"));
            assert_eq!(s.metrics_bind.map(|a| a.port()), Some(9100));
            assert_eq!(s.log_format, LogFormat::Json);
            assert!(s.metrics_enabled());
            assert!(!format!("{s:?}").contains("a-long-enough"), "{s:?}");

            jail.set_env("HEARTH_METRICS_TOKEN", "short");
            assert!(Settings::load(None).is_err(), "a short token is refused");
            jail.set_env("HEARTH_LOG_FORMAT", "xml");
            assert!(
                Settings::load(None).is_err(),
                "an unknown format is refused"
            );
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn media_stay_local_unless_a_bucket_is_named() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                s.media_storage().map_err(|e| e.to_string())?,
                MediaStorage::Local(PathBuf::from("data/media"))
            );

            jail.set_env("HEARTH_MEDIA_S3_BUCKET", "clinic-media");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            let MediaStorage::S3(s3) = s.media_storage().map_err(|e| e.to_string())? else {
                panic!("a bucket is named");
            };
            assert_eq!(s3.bucket, "clinic-media");
            assert_eq!(s3.region, "us-east-1");
            assert_eq!((s3.endpoint, s3.credentials), (None, None));
            assert_eq!(s3.prefix, "");
            assert!(!s3.virtual_hosted_style);

            jail.set_env("HEARTH_MEDIA_S3_ENDPOINT", "http://minio.internal:9000");
            jail.set_env("HEARTH_MEDIA_S3_REGION", "garage");
            jail.set_env("HEARTH_MEDIA_S3_ACCESS_KEY_ID", "hearth-key");
            jail.set_env("HEARTH_MEDIA_S3_SECRET_ACCESS_KEY", "very-secret-words");
            jail.set_env("HEARTH_MEDIA_S3_PREFIX", "/hearth/media/");
            jail.set_env("HEARTH_MEDIA_S3_VIRTUAL_HOSTED_STYLE", "true");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(!format!("{s:?}").contains("very-secret"), "{s:?}");
            let MediaStorage::S3(s3) = s.media_storage().map_err(|e| e.to_string())? else {
                panic!("a bucket is named");
            };
            assert!(!format!("{s3:?}").contains("very-secret"), "{s3:?}");
            assert_eq!(
                s3.endpoint.as_ref().map(url::Url::as_str),
                Some("http://minio.internal:9000/")
            );
            assert_eq!(s3.region, "garage");
            assert_eq!(
                s3.credentials
                    .as_ref()
                    .map(|(key, secret)| (key.as_str(), secret.expose())),
                Some(("hearth-key", "very-secret-words"))
            );
            assert_eq!(s3.prefix, "hearth/media");
            assert!(s3.virtual_hosted_style);
            Ok(())
        });
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn half_set_media_storage_is_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            let refusal = |jail: &mut figment::Jail, name: &str, value: &str| {
                jail.set_env(name, value);
                let refused = Settings::load(None).err().map(|e| e.to_string());
                jail.clear_env();
                refused.unwrap_or_else(|| panic!("{name}={value} alone is accepted"))
            };
            for name in [
                "HEARTH_MEDIA_S3_ENDPOINT",
                "HEARTH_MEDIA_S3_ACCESS_KEY_ID",
                "HEARTH_MEDIA_S3_SECRET_ACCESS_KEY",
                "HEARTH_MEDIA_S3_PREFIX",
            ] {
                let refused = refusal(jail, name, "https://s3.example");
                assert!(
                    refused.contains(name) && refused.contains("HEARTH_MEDIA_S3_BUCKET"),
                    "{refused}"
                );
            }
            let with_bucket = |jail: &mut figment::Jail, name: &str, value: &str| {
                jail.set_env("HEARTH_MEDIA_S3_BUCKET", "clinic-media");
                refusal(jail, name, value)
            };
            let refused = with_bucket(jail, "HEARTH_MEDIA_S3_ACCESS_KEY_ID", "hearth-key");
            assert!(
                refused.contains("without HEARTH_MEDIA_S3_SECRET_ACCESS_KEY"),
                "{refused}"
            );
            let refused = with_bucket(jail, "HEARTH_MEDIA_S3_SECRET_ACCESS_KEY", "s3cr3t-words");
            assert!(
                refused.contains("without HEARTH_MEDIA_S3_ACCESS_KEY_ID"),
                "{refused}"
            );
            assert!(
                !refused.contains("s3cr3t"),
                "the secret is not repeated: {refused}"
            );
            for endpoint in ["minio.internal:9000", "ftp://minio.internal", "http://"] {
                let refused = with_bucket(jail, "HEARTH_MEDIA_S3_ENDPOINT", endpoint);
                assert!(refused.contains("HEARTH_MEDIA_S3_ENDPOINT"), "{refused}");
            }
            let refused = with_bucket(jail, "HEARTH_MEDIA_S3_PREFIX", "hearth/../other");
            assert!(refused.contains("HEARTH_MEDIA_S3_PREFIX"), "{refused}");
            // Empty values (as `${VAR:-}` in a compose file gives) count as unset.
            jail.set_env("HEARTH_MEDIA_S3_BUCKET", "");
            jail.set_env("HEARTH_MEDIA_S3_ENDPOINT", "");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(matches!(s.media_storage(), Ok(MediaStorage::Local(_))));
            Ok(())
        });
    }

    #[test]
    fn a_domain_with_a_path_is_refused() {
        let s = Settings {
            domain: "clinic.example/hearth".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
    }
}
