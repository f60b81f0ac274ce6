//! A stand-in for another Fediverse server (Mastodon, GoToSocial, Lemmy...): it serves actor
//! documents, records every activity delivered to it, and sends activities of any shape, signed
//! with its actors' keys. Tests use it to speak to Hearth exactly as a peer would.

use crate::{Instance, Signer};
use axum::{
    Json, Router,
    body::Body,
    extract::State,
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use url::Url;

/// One activity the stub received.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// The inbox path it was posted to.
    pub inbox: String,
    /// The activity.
    pub body: Value,
    /// The status the stub answered.
    pub answered: u16,
    /// When it arrived.
    pub at: std::time::Instant,
}

/// How the stub answers a GET of one path, in place of its usual answer: the ways a server
/// can serve a document wrong, by mistake or on purpose.
#[derive(Clone, Debug)]
pub enum Serving {
    /// The usual document, with this `Content-Type`.
    ContentType(&'static str),
    /// `302 Found` with this `Location` (absolute or relative).
    RedirectTo(String),
    /// This JSON document (another `id`, a post...), as `application/activity+json`.
    Document(Value),
    /// The usual answer, only after this long.
    After(Duration),
    /// Headers at once, then a body that trickles in one byte a second and never ends.
    Trickle,
    /// Headers at once, then a body that never ends, sent as fast as it is read.
    Endless,
    /// A file (an image...) with this `Content-Type`.
    File(&'static str, Vec<u8>),
}

#[derive(Clone, Debug)]
struct Keys {
    public_pem: String,
    private_pem: String,
}

#[derive(Clone)]
struct StubState {
    base: Url,
    keys: Arc<Mutex<Keys>>,
    received: Arc<Mutex<Vec<Delivered>>>,
    answer: Arc<Mutex<(u16, Option<String>)>>,
    delay: Arc<Mutex<Duration>>,
    software: Option<String>,
    fetches: Arc<AtomicUsize>,
    gets: Arc<Mutex<Vec<String>>>,
    serving: Arc<Mutex<HashMap<String, Serving>>>,
    streamed: Arc<AtomicUsize>,
    /// Deliveries that reached the inbox, answered or not yet.
    arrived: Arc<tokio::sync::watch::Sender<usize>>,
    /// While true, the inbox holds what arrives and answers nothing.
    held: Arc<tokio::sync::watch::Sender<bool>>,
}

/// The running stub server.
pub struct StubPeer {
    /// `localhost:PORT`.
    pub domain: String,
    /// `http://localhost:PORT/`.
    pub base: Url,
    state: StubState,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for StubPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StubPeer({})", self.domain)
    }
}

impl Drop for StubPeer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn new_keys() -> Keys {
    let keys = hearth_federation::keys::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    Keys {
        public_pem: keys.public_pem.clone(),
        private_pem: keys.private_pem.expose().to_owned(),
    }
}

impl StubPeer {
    /// Starts a stub server on a free loopback port. All its actors share one key pair. It
    /// serves no NodeInfo, as an unknown server.
    pub async fn start() -> Self {
        Self::start_as(None).await
    }

    /// Starts a stub server that says in its NodeInfo that it runs `software`
    /// (`"gotosocial"`, `"lemmy"`, ...).
    pub async fn start_as(software: Option<&str>) -> Self {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let domain = format!("localhost:{port}");
        let base = Url::parse(&format!("http://{domain}/")).unwrap_or_else(|e| panic!("{e}"));
        let state = StubState {
            base: base.clone(),
            keys: Arc::new(Mutex::new(new_keys())),
            received: Arc::default(),
            answer: Arc::new(Mutex::new((202, None))),
            delay: Arc::default(),
            software: software.map(str::to_owned),
            fetches: Arc::default(),
            gets: Arc::default(),
            serving: Arc::default(),
            streamed: Arc::default(),
            arrived: Arc::new(tokio::sync::watch::Sender::new(0)),
            held: Arc::new(tokio::sync::watch::Sender::new(false)),
        };
        let router = Router::new()
            .route("/{prefix}/{name}/inbox", post(inbox))
            .route("/inbox", post(inbox))
            .route("/.well-known/nodeinfo", get(nodeinfo_links))
            .route("/nodeinfo/2.1", get(nodeinfo))
            .fallback(get_any)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            domain,
            base,
            state,
            server,
        }
    }

    /// The id of the stub's actor `name` (`users/NAME`; a `c/NAME` or `groups/NAME` path
    /// names a group).
    pub fn actor(&self, name: &str) -> String {
        if name.contains('/') {
            format!("{}{name}", self.base)
        } else {
            format!("{}users/{name}", self.base)
        }
    }

    /// A fresh activity id on the stub.
    pub fn id(&self, kind: &str) -> String {
        format!(
            "{}activities/{kind}/{:016x}",
            self.base,
            rand::random::<u64>()
        )
    }

    /// A signer for the stub's actor `name`, with the stub's current key, as GoToSocial signs.
    pub fn signer(&self, name: &str) -> Signer {
        Signer {
            key_id: format!("{}#main-key", self.actor(name)),
            private_key_pem: self.private_key_pem(),
            algorithm: "hs2019",
            covered: vec!["(request-target)", "host", "date", "digest"],
            date: chrono::Utc::now(),
        }
    }

    /// Signs `activity` as `name` and POSTs it to `inbox` on `instance`; returns the status.
    pub async fn send(
        &self,
        name: &str,
        instance: &Instance,
        inbox: &str,
        activity: &Value,
    ) -> u16 {
        self.send_signed(&self.signer(name), instance, inbox, activity)
            .await
            .0
    }

    /// Signs `activity` as `name` and POSTs it to the inbox at `url`; returns the status.
    pub async fn send_to(&self, name: &str, url: &Url, activity: &Value) -> u16 {
        let body = serde_json::to_vec(activity).unwrap_or_else(|e| panic!("{e}"));
        let response = crate::http()
            .post(url.clone())
            .headers(self.signer(name).sign_post(url, &body))
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        response.status().as_u16()
    }

    /// POSTs `activity` to `inbox` on `instance`, signed by `signer`; returns the status and
    /// the JSON answer.
    pub async fn send_signed(
        &self,
        signer: &Signer,
        instance: &Instance,
        inbox: &str,
        activity: &Value,
    ) -> (u16, Value) {
        let url = instance.url(inbox);
        let body = serde_json::to_vec(activity).unwrap_or_else(|e| panic!("{e}"));
        let response = crate::http()
            .post(url.clone())
            .headers(signer.sign_post(&url, &body))
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The private key the stub's actors sign with now (PKCS#8 PEM).
    pub fn private_key_pem(&self) -> String {
        self.state
            .keys
            .lock()
            .map(|k| k.private_pem.clone())
            .unwrap_or_default()
    }

    /// Gives every actor of the stub a new key pair, as a server rotating its keys does;
    /// returns the old private key.
    pub fn rotate_key(&self) -> String {
        let fresh = new_keys();
        let mut keys = self
            .state
            .keys
            .lock()
            .unwrap_or_else(|e| panic!("stub keys: {e}"));
        std::mem::replace(&mut *keys, fresh).private_pem
    }

    /// From now on, answers a GET of `path` (e.g. `/users/gina`) as `serving` says.
    pub fn serve(&self, path: &str, serving: Serving) {
        if let Ok(mut map) = self.state.serving.lock() {
            map.insert(path.to_owned(), serving);
        }
    }

    /// Makes the inbox answer `status` (with `Retry-After` when given) from now on.
    pub fn answer_with(&self, status: u16, retry_after: Option<&str>) {
        if let Ok(mut answer) = self.state.answer.lock() {
            *answer = (status, retry_after.map(str::to_owned));
        }
    }

    /// Makes the inbox take `delay` before it answers.
    pub fn answer_after(&self, delay: Duration) {
        if let Ok(mut d) = self.state.delay.lock() {
            *d = delay;
        }
    }

    /// From now on the inbox holds every delivery that arrives, answering nothing, until
    /// [`StubPeer::release`]: the sender is then known to be in the middle of sending.
    pub fn hold(&self) {
        self.state.held.send_replace(true);
    }

    /// Answers the deliveries held by [`StubPeer::hold`], and those that arrive from now on.
    pub fn release(&self) {
        self.state.held.send_replace(false);
    }

    /// How many deliveries have reached the inbox so far, answered or held.
    pub fn arrived_count(&self) -> usize {
        *self.state.arrived.borrow()
    }

    /// Waits until `count` deliveries in all have reached the inbox (at most 20 s).
    pub async fn arrivals(&self, count: usize) {
        let mut arrived = self.state.arrived.subscribe();
        let waited =
            tokio::time::timeout(Duration::from_secs(20), arrived.wait_for(|n| *n >= count)).await;
        assert!(
            waited.is_ok_and(|r| r.is_ok()),
            "{count} deliveries never arrived"
        );
    }

    /// How many actor documents were fetched from the stub.
    pub fn actor_fetches(&self) -> usize {
        self.state.fetches.load(Ordering::Relaxed)
    }

    /// The path of every GET the stub received, in order.
    pub fn gets(&self) -> Vec<String> {
        self.state
            .gets
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    /// How many bytes of [`Serving::Endless`] bodies the stub has handed to the network.
    pub fn bytes_streamed(&self) -> usize {
        self.state.streamed.load(Ordering::Relaxed)
    }

    /// How many deliveries the stub has received so far.
    pub fn received_count(&self) -> usize {
        self.state
            .received
            .lock()
            .map(|r| r.len())
            .unwrap_or_default()
    }

    /// Everything delivered to the stub so far.
    pub fn received(&self) -> Vec<Delivered> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

/// Actors live at any two-segment path: `/users/` and `/u/` (people, as Mastodon and Lemmy
/// name them) and `/groups/` and `/c/` (groups); their collections below them. Any path can
/// be made to answer otherwise with [`StubPeer::serve`].
async fn get_any(State(state): State<StubState>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    if let Ok(mut gets) = state.gets.lock() {
        gets.push(path.clone());
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let usual = match segments.as_slice() {
        [prefix, name] => {
            state.fetches.fetch_add(1, Ordering::Relaxed);
            Some(actor(&state, prefix, name))
        }
        [prefix, name, "outbox" | "followers"] => Some(
            json!({ "id": format!("{}{prefix}/{name}/outbox", state.base), "type": "OrderedCollection", "totalItems": 0, "orderedItems": [] }),
        ),
        _ => None,
    };
    let serving = state
        .serving
        .lock()
        .ok()
        .and_then(|map| map.get(&path).cloned());
    let activity_json = |doc: Value| {
        (
            [(header::CONTENT_TYPE, "application/activity+json")],
            Json(doc),
        )
            .into_response()
    };
    let usual_answer = |usual: Option<Value>| match usual {
        Some(doc) => activity_json(doc),
        None => (StatusCode::NOT_FOUND, Json(json!({ "error": "not found" }))).into_response(),
    };
    match serving {
        None => usual_answer(usual),
        Some(Serving::ContentType(content_type)) => (
            [(header::CONTENT_TYPE, content_type)],
            serde_json::to_string(&usual.unwrap_or(Value::Null)).unwrap_or_default(),
        )
            .into_response(),
        Some(Serving::RedirectTo(location)) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Some(Serving::Document(doc)) => activity_json(doc),
        Some(Serving::File(content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Some(Serving::After(delay)) => {
            tokio::time::sleep(delay).await;
            usual_answer(usual)
        }
        Some(Serving::Trickle) => {
            let drips = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
                Duration::from_secs(1),
            ))
            .map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from_static(b" ")));
            (
                [(header::CONTENT_TYPE, "application/activity+json")],
                Body::from_stream(drips),
            )
                .into_response()
        }
        Some(Serving::Endless) => {
            static CHUNK: [u8; 64 * 1024] = [b' '; 64 * 1024];
            let streamed = state.streamed.clone();
            let chunks = tokio_stream::iter(std::iter::repeat_with(move || {
                streamed.fetch_add(CHUNK.len(), Ordering::Relaxed);
                Ok::<_, std::io::Error>(bytes::Bytes::from_static(&CHUNK))
            }));
            (
                [(header::CONTENT_TYPE, "application/activity+json")],
                Body::from_stream(chunks),
            )
                .into_response()
        }
    }
}

fn actor(state: &StubState, prefix: &str, name: &str) -> Value {
    let id = format!("{}{prefix}/{name}", state.base);
    let kind = if matches!(prefix, "c" | "groups") {
        "Group"
    } else {
        "Person"
    };
    let public_key_pem = state
        .keys
        .lock()
        .map(|k| k.public_pem.clone())
        .unwrap_or_default();
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": kind,
        "preferredUsername": name,
        "name": name,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "endpoints": { "sharedInbox": format!("{}inbox", state.base) },
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public_key_pem },
    })
}

async fn inbox(
    State(state): State<StubState>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let at = std::time::Instant::now();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.arrived.send_modify(|n| *n += 1);
    let _ = state.held.subscribe().wait_for(|held| !*held).await;
    let delay = state.delay.lock().map(|d| *d).unwrap_or_default();
    tokio::time::sleep(delay).await;
    let (status, retry_after) = state
        .answer
        .lock()
        .map(|a| a.clone())
        .unwrap_or((202, None));
    if let Ok(mut received) = state.received.lock() {
        received.push(Delivered {
            inbox: uri.path().to_owned(),
            body,
            answered: status,
            at,
        });
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::ACCEPTED);
    match retry_after {
        Some(after) => (status, [(header::RETRY_AFTER, after)]).into_response(),
        None => status.into_response(),
    }
}

async fn nodeinfo_links(State(state): State<StubState>) -> impl IntoResponse {
    match state.software {
        Some(_) => Json(json!({ "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{}nodeinfo/2.1", state.base),
        }]}))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn nodeinfo(State(state): State<StubState>) -> impl IntoResponse {
    match state.software {
        Some(name) => Json(json!({
            "version": "2.1",
            "software": { "name": name, "version": "1.0" },
            "protocols": ["activitypub"],
        }))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
