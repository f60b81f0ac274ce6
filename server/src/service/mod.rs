//! The rules of the product, with no HTTP in them.

pub mod account_deletion;
pub mod accounts;
pub mod announcements;
pub mod audit;
pub mod backup;
pub mod blocks;
pub mod bookmarks;
pub mod clinicians;
pub mod content;
pub mod conversations;
pub mod delivery;
pub mod export;
pub mod follows;
pub mod groups;
pub mod import;
pub mod inbox;
pub mod instance;
pub mod media;
pub mod media_files;
pub mod moderation;
pub mod notifications;
pub mod oauth;
pub mod outbox;
pub mod pins;
pub mod policy;
pub mod port;
pub mod posts;
pub mod reblogs;
pub mod registration;
pub mod remote_media;
pub mod reports;
pub mod retention;
pub mod scopes;
pub mod search;
pub mod settings;
pub mod sign_in;
pub mod statuses;
pub mod streaming;
pub mod tags;
pub mod urls;

pub use urls::Urls;

use crate::{Error, db::Database};

/// A URL read back from storage (where only valid URLs are written).
pub fn stored_url(s: &str) -> Result<url::Url, Error> {
    url::Url::parse(s).map_err(|e| Error::Internal(format!("stored URL {s}: {e}")))
}

/// What the services need: storage, this instance's URLs, and a bell for the delivery worker.
#[derive(Clone, Debug)]
pub struct Context {
    /// The database.
    pub db: Database,
    /// URL builder for local things.
    pub urls: Urls,
    /// Rung after activities are queued, so the worker sends them without waiting.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
    /// How long a delivery pass holds a receiving server's queue (see `Settings`).
    pub delivery_lease: chrono::TimeDelta,
    /// Sign-in attempts counted per account and per address.
    pub sign_in_limits: std::sync::Arc<sign_in::SignInLimits>,
    /// Whether apps may exchange a handle and password for a token (see `Settings`).
    pub password_grant: bool,
    /// Live updates for apps, fed by the writes below.
    pub streams: streaming::Streams,
    /// The admin's federation policy in force (kept current by `policy::keep_current`).
    pub policy: hearth_federation::policy::SharedPolicy,
    /// The authors that policy silences, kept between public-timeline reads.
    pub silenced: policy::SilencedAuthors,
    /// Cancelled when the process stops: delivery finishes the activity it is sending and
    /// lets go of its servers' queues.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl Context {
    /// The context of an instance with these settings.
    pub fn new(db: Database, urls: Urls, settings: &crate::Settings) -> Self {
        Self {
            streams: streaming::Streams::new(&db),
            db,
            urls,
            wake: Default::default(),
            delivery_lease: settings.delivery_lease(),
            sign_in_limits: Default::default(),
            password_grant: settings.oauth_password_grant,
            policy: Default::default(),
            silenced: Default::default(),
            stopping: Default::default(),
        }
    }

    /// A fresh id for an activity of `kind` sent from here.
    pub fn activity_id(&self, kind: &str) -> url::Url {
        self.urls
            .path(&format!("/activities/{kind}/{}", crate::db::id::new_id()))
    }

    /// Runs `change` in one transaction (the change, the activities it queues and the
    /// streaming events it emits are written together), then rings the delivery worker and
    /// tells this process's listeners.
    pub async fn write<T, F>(&self, change: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut crate::db::AnyConnection, &Context) -> Result<T, Error> + Send + 'static,
    {
        let ctx = self.clone();
        let (result, events) = self
            .db
            .write(move |conn| {
                let (result, events) = streaming::gather(|| change(conn, &ctx));
                let result = result?;
                ctx.streams.send_in(conn, &events)?;
                Ok((result, events))
            })
            .await?;
        self.wake.notify_one();
        self.streams.committed(events);
        Ok(result)
    }

    /// [`Context::write`] for a write the writer does together with the others of its kind
    /// (see `db::WriteTogether`), which sends the streaming events it emits in its
    /// transaction and gives them back.
    pub async fn write_together<W>(&self, write: W) -> Result<(), Error>
    where
        W: crate::db::WriteTogether<Output = Vec<streaming::Event>>,
    {
        let events = self.db.write_together(write).await?;
        self.wake.notify_one();
        self.streams.committed(events);
        Ok(())
    }

    /// Queues `activity` (signed by `signer_id`) for `inboxes`, in the caller's transaction.
    pub fn enqueue(
        &self,
        conn: &mut crate::db::AnyConnection,
        signer_id: i64,
        activity: &serde_json::Value,
        inboxes: &[String],
    ) -> Result<(), crate::Error> {
        self.enqueue_forms(conn, signer_id, &[(activity, None)], inboxes)
    }

    /// Queues activities for `inboxes`, each for the servers that read its form of a group's
    /// share (`None`: every server). Inboxes on servers the federation policy refuses are left
    /// out: nothing is queued for them.
    pub fn enqueue_forms(
        &self,
        conn: &mut crate::db::AnyConnection,
        signer_id: i64,
        activities: &[(&serde_json::Value, Option<crate::db::deliveries::Form>)],
        inboxes: &[String],
    ) -> Result<(), crate::Error> {
        let policy = self.policy.current();
        let allowed: Vec<String>;
        let inboxes = if policy.mode == hearth_federation::policy::Mode::Open {
            inboxes
        } else {
            allowed = inboxes
                .iter()
                .filter(|inbox| !policy.refuses(inbox))
                .cloned()
                .collect();
            &allowed
        };
        if inboxes.is_empty() {
            return Ok(());
        }
        let activities = activities
            .iter()
            .map(|(activity, form)| crate::db::deliveries::Outgoing {
                ap_id: activity
                    .get("id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                body: activity.to_string(),
                form: *form,
            })
            .collect();
        let enqueued = crate::db::deliveries::Enqueued {
            signer_id,
            activities,
            inboxes: inboxes.to_vec(),
        };
        crate::db::deliveries::enqueue(conn, enqueued)?;
        streaming::emit(streaming::Event::Queued);
        Ok(())
    }
}
