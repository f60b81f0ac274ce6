//! Live updates for apps (Mastodon's streaming API): what changed, told to every server process
//! once the transaction that made the change has committed, and to each listener only as far as
//! its viewer may see it.
//!
//! A write names its events with [`emit`] while it runs; [`super::Context::write`] gathers them.
//! On PostgreSQL they are sent with `pg_notify` inside that same transaction: PostgreSQL delivers
//! them at commit, to every process listening on the database (several web processes behind a
//! load balancer), and never for a write that rolled back. On SQLite (one process) they are
//! broadcast in the process once the commit is acknowledged.
//!
//! Events carry ids only. Who may see what is decided when an event reaches a listener, by the
//! same rules the timelines and notifications use.

use crate::{
    Error,
    db::{
        AnyConnection, Database,
        blocks::{self, Hiding},
        posts,
        posts::PostRow,
    },
};
use hearth_federation::policy::Policy;
use serde::{Deserialize, Serialize};
use std::{
    cell::RefCell,
    sync::{Arc, OnceLock, Weak},
    time::Duration,
};
use tokio::sync::{
    broadcast::{self, error::RecvError},
    watch,
};

/// The PostgreSQL channel events travel on.
const CHANNEL: &str = "hearth_stream";

/// How many events a slow listener may fall behind before it misses some.
const BACKLOG: usize = 1024;

/// How often the PostgreSQL listener looks for notifications that arrived.
const POLL: Duration = Duration::from_millis(25);

/// How long a first listener waits for the PostgreSQL listener to be listening.
const READY: Duration = Duration::from_secs(5);

/// Something apps show live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A post was stored, written here or received (`update`).
    Posted { post: i64 },
    /// A post was edited (`status.update`).
    Edited { post: i64 },
    /// A post was deleted (`delete`).
    Deleted { post: i64 },
    /// A local person has a new notification (`notification`).
    Notified { recipient: i64, notification: i64 },
    /// The clinic published an announcement (`announcement`, to every local person).
    Announced { announcement: i64 },
    /// Activities were queued for delivery: wakes the delivering processes (no app sees it).
    Queued,
}

thread_local! {
    /// The events of the write running on this thread, while [`gather`] collects them.
    static GATHERED: RefCell<Option<Vec<Event>>> = const { RefCell::new(None) };
}

/// Names an event of the write in progress. It reaches listeners only if that write commits.
/// Outside [`super::Context::write`] there is no write to attach it to, and it is dropped.
pub fn emit(event: Event) {
    GATHERED.with(|gathered| match gathered.borrow_mut().as_mut() {
        Some(events) => events.push(event),
        None => tracing::debug!(?event, "a streaming event outside a write is dropped"),
    });
}

/// Runs `work`, returning what it returned and the events it emitted.
pub(super) fn gather<T>(work: impl FnOnce() -> T) -> (T, Vec<Event>) {
    let outer = GATHERED.with(|g| g.borrow_mut().replace(Vec::new()));
    let result = work();
    let events = GATHERED.with(|g| std::mem::replace(&mut *g.borrow_mut(), outer));
    (result, events.unwrap_or_default())
}

/// Where listeners subscribe, and how this process learns of events.
#[derive(Clone, Debug)]
pub struct Streams {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sender: broadcast::Sender<Event>,
    /// The database whose notifications to listen to, on PostgreSQL.
    postgres: Option<Database>,
    /// Started with the first listener.
    listening: OnceLock<()>,
    /// True while the PostgreSQL listener is listening.
    ready: watch::Sender<bool>,
    /// False once the instance stops: listeners then end, so that shutdown does not wait
    /// for connections that never finish.
    open: watch::Sender<bool>,
}

impl Streams {
    /// The streams of an instance on `db`.
    pub fn new(db: &Database) -> Self {
        Self {
            inner: Arc::new(Inner {
                sender: broadcast::channel(BACKLOG).0,
                postgres: db.is_postgres().then(|| db.clone()),
                listening: OnceLock::new(),
                open: watch::channel(true).0,
                ready: watch::channel(false).0,
            }),
        }
    }

    /// Ends every listener's events (the instance is stopping).
    pub fn close(&self) {
        self.inner.open.send_replace(false);
    }

    /// Every event committed from now on (from every process, on PostgreSQL: the first
    /// listener waits until this process listens).
    pub async fn subscribe(&self) -> Subscription {
        let receiver = Subscription {
            events: self.inner.sender.subscribe(),
            open: self.inner.open.subscribe(),
        };
        if let Some(db) = &self.inner.postgres {
            self.inner.listening.get_or_init(|| {
                let streams = Arc::downgrade(&self.inner);
                let db = db.clone();
                let started = std::thread::Builder::new()
                    .name("stream-listener".into())
                    .spawn(move || listen(db, streams));
                if let Err(e) = started {
                    tracing::error!(error = %e, "cannot start the streaming listener");
                }
            });
            let mut ready = self.inner.ready.subscribe();
            let listening = tokio::time::timeout(READY, ready.wait_for(|ready| *ready)).await;
            if !matches!(listening, Ok(Ok(_))) {
                tracing::warn!("streaming starts before the database listener is ready");
            }
        }
        receiver
    }

    /// Sends a write's events from inside its transaction, on PostgreSQL: they go out when it
    /// commits, with the other writes' of its batch.
    pub(super) fn send_in(&self, conn: &mut AnyConnection, events: &[Event]) -> Result<(), Error> {
        for event in events {
            let json = serde_json::to_string(event)
                .map_err(|e| Error::Internal(format!("streaming event: {e}")))?;
            crate::db::notify_at_commit(conn, CHANNEL, json)?;
        }
        Ok(())
    }

    /// Tells this process's listeners of a committed write's events, on SQLite (on PostgreSQL
    /// they come back through `LISTEN`).
    pub(super) fn committed(&self, events: Vec<Event>) {
        if self.inner.postgres.is_some() {
            return;
        }
        for event in events {
            // No listener is not an error.
            let _ = self.inner.sender.send(event);
        }
    }
}

/// One listener's events, until the instance stops.
#[derive(Debug)]
pub struct Subscription {
    events: broadcast::Receiver<Event>,
    open: watch::Receiver<bool>,
}

impl Subscription {
    /// The next event; `Closed` once the instance is stopping. Safe to cancel (in a
    /// `select!`): no event is lost.
    pub async fn recv(&mut self) -> Result<Event, RecvError> {
        tokio::select! {
            biased;
            _ = self.open.wait_for(|open| !open) => Err(RecvError::Closed),
            event = self.events.recv() => event,
        }
    }
}

/// Listens to the database's notifications for as long as the instance's streams exist,
/// reconnecting after a failure.
fn listen(db: Database, streams: Weak<Inner>) {
    use diesel::RunQueryDsl;
    while streams.strong_count() > 0 {
        let mut conn = match db.dedicated_postgres() {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "streaming listener cannot connect; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn) {
            tracing::warn!(error = %e, "streaming listener cannot LISTEN; retrying");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        if let Some(inner) = streams.upgrade() {
            inner.ready.send_replace(true);
        }
        'connected: loop {
            let Some(inner) = streams.upgrade() else {
                return;
            };
            for notification in conn.notifications_iter() {
                match notification {
                    Ok(n) => match serde_json::from_str::<Vec<Event>>(&n.payload) {
                        Ok(events) => {
                            for event in events {
                                let _ = inner.sender.send(event);
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "unreadable streaming event"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "streaming listener lost its connection");
                        inner.ready.send_replace(false);
                        break 'connected;
                    }
                }
            }
            drop(inner);
            std::thread::sleep(POLL);
        }
    }
}

/// What a listener asked to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The home timeline and the notifications of the viewer (`user`).
    User,
    /// The viewer's notifications only (`user:notification`).
    UserNotification,
    /// Public posts: all (`public`), local ones (`public:local`) or remote ones
    /// (`public:remote`).
    Public { local: Option<bool> },
    /// Public posts with a hashtag (lower-cased): all (`hashtag`) or local ones
    /// (`hashtag:local`).
    Hashtag { tag: String, local: bool },
}

impl Stream {
    /// Reads Mastodon's stream names; a hashtag stream names its tag (`tag`).
    pub fn parse(name: &str, tag: Option<&str>) -> Option<Self> {
        let tag = || {
            tag.map(|t| t.trim().trim_start_matches('#').to_lowercase())
                .filter(|t| !t.is_empty())
        };
        Some(match name {
            "user" => Self::User,
            "user:notification" => Self::UserNotification,
            "public" => Self::Public { local: None },
            "public:local" => Self::Public { local: Some(true) },
            "public:remote" => Self::Public { local: Some(false) },
            "hashtag" => Self::Hashtag {
                tag: tag()?,
                local: false,
            },
            "hashtag:local" => Self::Hashtag {
                tag: tag()?,
                local: true,
            },
            _ => return None,
        })
    }

    /// Mastodon's name of the stream, as messages carry it (with the tag of a hashtag).
    pub fn names(&self) -> Vec<String> {
        let name = match self {
            Self::User => "user",
            Self::UserNotification => "user:notification",
            Self::Public { local: None } => "public",
            Self::Public { local: Some(true) } => "public:local",
            Self::Public { local: Some(false) } => "public:remote",
            Self::Hashtag { local: false, .. } => "hashtag",
            Self::Hashtag { local: true, .. } => "hashtag:local",
        };
        match self {
            Self::Hashtag { tag, .. } => vec![name.to_owned(), tag.clone()],
            _ => vec![name.to_owned()],
        }
    }
}

/// What a listener is shown of an event.
#[derive(Debug)]
pub enum Shown {
    /// A post new to the stream.
    Update(Box<PostRow>),
    /// An edited post of the stream.
    StatusUpdate(Box<PostRow>),
    /// A post gone from the stream.
    Delete(i64),
    /// A notification of the viewer.
    Notification(Box<super::notifications::Listed>),
    /// A new announcement of the clinic.
    Announcement(Box<super::announcements::Seen>),
}

/// What `viewer` is shown of `event` on `stream`, if anything.
pub fn shown(
    conn: &mut AnyConnection,
    policy: &Policy,
    event: Event,
    stream: &Stream,
    viewer: i64,
) -> Result<Option<Shown>, Error> {
    let post_of = |conn: &mut AnyConnection, id| posts::by_id(conn, id);
    Ok(match (event, stream) {
        (
            Event::Notified {
                recipient,
                notification,
            },
            Stream::User | Stream::UserNotification,
        ) if recipient == viewer => Some(Shown::Notification(Box::new(super::notifications::one(
            conn,
            viewer,
            notification,
        )?))),
        (Event::Announced { announcement }, Stream::User) => {
            super::announcements::one(conn, viewer, announcement)?
                .map(|seen| Shown::Announcement(Box::new(seen)))
        }
        (
            Event::Posted { post } | Event::Edited { post },
            Stream::User | Stream::Public { .. } | Stream::Hashtag { .. },
        ) => {
            let Some(post) = post_of(conn, post)? else {
                return Ok(None);
            };
            if !in_stream(conn, policy, &post, stream, viewer)? {
                return Ok(None);
            }
            Some(match event {
                Event::Edited { .. } => Shown::StatusUpdate(Box::new(post)),
                _ => Shown::Update(Box::new(post)),
            })
        }
        (
            Event::Deleted { post },
            Stream::User | Stream::Public { .. } | Stream::Hashtag { .. },
        ) => {
            // A deleted post is in no timeline any more: whoever could see it before is told
            // it is gone (apps ignore the id of a post they do not hold).
            let Some(mut before) = post_of(conn, post)? else {
                return Ok(None);
            };
            before.deleted_at = None;
            let belongs = match stream {
                Stream::User => true,
                _ => in_public_stream(conn, &before, stream)?,
            };
            (belongs && super::posts::can_view(conn, &before, Some(viewer))?)
                .then_some(Shown::Delete(post))
        }
        _ => None,
    })
}

/// Whether `post` belongs in `stream` as `viewer` sees it: the same rules as the timelines.
fn in_stream(
    conn: &mut AnyConnection,
    policy: &Policy,
    post: &PostRow,
    stream: &Stream,
    viewer: i64,
) -> Result<bool, Error> {
    // Blocked and muted accounts are left out, as on the timelines.
    let hidden = blocks::hidden_from(conn, viewer, Hiding::Posts)?;
    let belongs = !hidden.contains(&post.author_id)
        && match stream {
            Stream::User => super::statuses::HomeSources::of(conn, viewer)?.holds(conn, post)?,
            Stream::Public { .. } | Stream::Hashtag { .. } => {
                in_public_stream(conn, post, stream)?
                    && !withheld(conn, post, viewer)?
                    && !kept_by_policy(conn, policy, post, viewer)?
            }
            Stream::UserNotification => false,
        };
    Ok(belongs && super::posts::can_view(conn, post, Some(viewer))?)
}

/// Whether a local `post`'s author is limited and neither `viewer` nor followed by them: kept
/// off the public streams as off the public timelines (`db::posts::withheld_from`; a
/// suspended author's posts are seen by no one, which `can_view` decides).
fn withheld(conn: &mut AnyConnection, post: &PostRow, viewer: i64) -> Result<bool, Error> {
    if !post.local || post.author_id == viewer {
        return Ok(false);
    }
    let limited = crate::db::users::user_by_actor(conn, post.author_id)?
        .is_some_and(|u| u.limited_at.is_some());
    Ok(limited
        && !crate::db::follows::between(conn, viewer, post.author_id)?.is_some_and(|f| f.accepted))
}

/// Whether the federation policy keeps a remote `post` off `viewer`'s public streams, as off
/// the public timelines.
fn kept_by_policy(
    conn: &mut AnyConnection,
    policy: &Policy,
    post: &PostRow,
    viewer: i64,
) -> Result<bool, Error> {
    if post.local {
        return Ok(false);
    }
    match crate::db::actors::by_id(conn, post.author_id)? {
        Some(author) => super::policy::kept_from_discovery(conn, policy, &author, viewer),
        None => Ok(true),
    }
}

/// Whether `post` is on a public or hashtag stream: a public post (of the right origin),
/// with the tag.
fn in_public_stream(
    conn: &mut AnyConnection,
    post: &PostRow,
    stream: &Stream,
) -> Result<bool, Error> {
    Ok(match stream {
        Stream::Public { local } => is_public_in(post, *local),
        Stream::Hashtag { tag, local } => {
            is_public_in(post, local.then_some(true))
                && crate::db::tags::of_post(conn, post.id)?.contains(tag)
        }
        _ => false,
    })
}

/// Whether `post` is on the public timeline (all, local or remote).
fn is_public_in(post: &PostRow, local: Option<bool>) -> bool {
    post.visibility == "public" && local.is_none_or(|local| local == post.local)
}
