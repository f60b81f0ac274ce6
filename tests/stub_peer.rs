//! A stand-in for another Fediverse server (Mastodon, GoToSocial, Lemmy...): it serves actor
//! documents, records every activity delivered to it, and sends activities of any shape, signed
//! with its actors' keys. Tests use it to speak to Hearth exactly as a peer would.

use crate::{Instance, Signer};
use axum::{
    Json, Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::net::TcpListener;
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
}

#[derive(Clone)]
struct StubState {
    base: Url,
    public_key_pem: String,
    received: Arc<Mutex<Vec<Delivered>>>,
    answer: Arc<Mutex<(u16, Option<String>)>>,
    delay: Arc<Mutex<std::time::Duration>>,
    fetches: Arc<std::sync::atomic::AtomicUsize>,
    software: Option<String>,
}

/// The running stub server.
pub struct StubPeer {
    /// `localhost:PORT`.
    pub domain: String,
    /// `http://localhost:PORT/`.
    pub base: Url,
    private_key_pem: String,
    received: Arc<Mutex<Vec<Delivered>>>,
    answer: Arc<Mutex<(u16, Option<String>)>>,
    delay: Arc<Mutex<std::time::Duration>>,
    fetches: Arc<std::sync::atomic::AtomicUsize>,
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

impl StubPeer {
    /// Starts a stub server on a free loopback port. All its actors share one key pair. It
    /// serves no NodeInfo, as an unknown server.
    pub async fn start() -> Self {
        Self::start_as(None).await
    }

    /// Starts a stub server that says in its NodeInfo that it runs `software`
    /// (`"gotosocial"`, `"lemmy"`, ...).
    pub async fn start_as(software: Option<&str>) -> Self {
        let keys = hearth_federation::keys::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let domain = format!("localhost:{port}");
        let base = Url::parse(&format!("http://{domain}/")).unwrap_or_else(|e| panic!("{e}"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new((202, None)));
        let delay = Arc::new(Mutex::new(std::time::Duration::ZERO));
        let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let state = StubState {
            base: base.clone(),
            public_key_pem: keys.public_pem.clone(),
            received: received.clone(),
            answer: answer.clone(),
            delay: delay.clone(),
            fetches: fetches.clone(),
            software: software.map(str::to_owned),
        };
        let router = Router::new()
            .route("/{prefix}/{name}", get(actor))
            .route("/{prefix}/{name}/outbox", get(collection))
            .route("/{prefix}/{name}/followers", get(collection))
            .route("/{prefix}/{name}/inbox", post(inbox))
            .route("/inbox", post(inbox))
            .route("/.well-known/nodeinfo", get(nodeinfo_links))
            .route("/nodeinfo/2.1", get(nodeinfo))
            .with_state(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            domain,
            base,
            private_key_pem: keys.private_pem.expose().to_owned(),
            received,
            answer,
            delay,
            fetches,
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

    /// Signs `activity` as `name` and POSTs it to `inbox` on `instance`; returns the status.
    pub async fn send(
        &self,
        name: &str,
        instance: &Instance,
        inbox: &str,
        activity: &Value,
    ) -> u16 {
        self.send_to(name, &instance.url(inbox), activity).await
    }

    /// A signer for the stub's actor `name`, as GoToSocial signs (`hs2019`).
    pub fn signer(&self, name: &str) -> Signer {
        Signer {
            key_id: format!("{}#main-key", self.actor(name)),
            private_key_pem: self.private_key_pem.clone(),
            algorithm: "hs2019",
            covered: vec!["(request-target)", "host", "date", "digest"],
            date: chrono::Utc::now(),
        }
    }

    /// Signs `activity` as `name` and POSTs it to the inbox at `url`; returns the status.
    pub async fn send_to(&self, name: &str, url: &Url, activity: &Value) -> u16 {
        let url = url.clone();
        let body = serde_json::to_vec(activity).unwrap_or_else(|e| panic!("{e}"));
        let signer = self.signer(name);
        let response = crate::http()
            .post(url.clone())
            .headers(signer.sign_post(&url, &body))
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        response.status().as_u16()
    }

    /// Makes the inbox answer `status` (with `Retry-After` when given) from now on.
    pub fn answer_with(&self, status: u16, retry_after: Option<&str>) {
        if let Ok(mut answer) = self.answer.lock() {
            *answer = (status, retry_after.map(str::to_owned));
        }
    }

    /// Makes the inbox take `delay` before it answers.
    pub fn answer_after(&self, delay: std::time::Duration) {
        if let Ok(mut d) = self.delay.lock() {
            *d = delay;
        }
    }

    /// How many actor documents were fetched from the stub.
    pub fn actor_fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many deliveries the stub has received so far.
    pub fn received_count(&self) -> usize {
        self.received.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// Everything delivered to the stub so far.
    pub fn received(&self) -> Vec<Delivered> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Actors live under `/users/` and `/u/` (people, as Mastodon and Lemmy name them) and under
/// `/groups/` and `/c/` (groups).
async fn actor(
    State(state): State<StubState>,
    Path((prefix, name)): Path<(String, String)>,
) -> impl IntoResponse {
    state
        .fetches
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("{}{prefix}/{name}", state.base);
    let kind = if matches!(prefix.as_str(), "c" | "groups") {
        "Group"
    } else {
        "Person"
    };
    let doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": kind,
        "preferredUsername": name,
        "name": name,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "endpoints": { "sharedInbox": format!("{}inbox", state.base) },
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": state.public_key_pem },
    });
    (
        [(header::CONTENT_TYPE, "application/activity+json")],
        Json(doc),
    )
}

async fn collection(
    State(state): State<StubState>,
    Path((prefix, name)): Path<(String, String)>,
) -> impl IntoResponse {
    let doc = json!({ "id": format!("{}{prefix}/{name}/outbox", state.base), "type": "OrderedCollection", "totalItems": 0, "orderedItems": [] });
    (
        [(header::CONTENT_TYPE, "application/activity+json")],
        Json(doc),
    )
}

async fn inbox(
    State(state): State<StubState>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
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
