//! Mastodon's streaming API, so apps update live: `GET /api/v1/streaming` (a WebSocket that
//! carries several streams, subscribed to by message) and `GET /api/v1/streaming/{stream}`
//! (server-sent events, one stream). What a listener is shown is decided in
//! `service::streaming`; here are the transports.

use super::{AppState, auth, entities::Status, notifications::Notification};
use crate::{
    Error,
    service::{
        accounts,
        streaming::{self, Event, Shown, Stream},
    },
};
use axum::{
    extract::{
        Path, Query, State,
        ws::{self, WebSocket, WebSocketUpgrade},
    },
    http::{HeaderMap, header},
    response::{
        IntoResponse, Response,
        sse::{self, KeepAlive, Sse},
    },
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::{convert::Infallible, time::Duration};
use tokio::sync::broadcast::error::RecvError;

/// How often a listener's token is checked again (a revoked session stops streaming), and a
/// WebSocket pinged so that proxies keep it open.
const RECHECK: Duration = Duration::from_secs(30);

/// Bearer tokens of apps and scripts, as for the rest of the API.
const KINDS: &[&str] = &[crate::db::tokens::KIND_APP, crate::db::tokens::KIND_CLI];

/// The query of a streaming request.
#[derive(Debug, Default, Deserialize)]
pub struct StreamQuery {
    /// A token, for clients that cannot set headers (browsers' `WebSocket`, `EventSource`).
    access_token: Option<String>,
    /// The stream a WebSocket starts with.
    stream: Option<String>,
    /// The tag of a hashtag stream.
    tag: Option<String>,
}

/// A message to a listener: Mastodon's shape, with the payload as a JSON string.
#[derive(Debug, Serialize)]
struct Message {
    stream: Vec<String>,
    event: &'static str,
    payload: String,
}

/// `GET /api/v1/streaming/health`.
pub async fn health() -> &'static str {
    "OK"
}

/// `GET /api/v1/streaming/{stream}`: one stream as server-sent events (`user`,
/// `user/notification`, `public`, `public/local`, `public/remote`).
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<String>,
    Query(query): Query<StreamQuery>,
) -> Result<Response, Error> {
    let name = path.trim_matches('/').replace('/', ":");
    let stream = parse_stream(&name, query.tag.as_deref())?;
    let token = token(&headers, &query).ok_or(Error::Unauthorized)?;
    let mut listener = Listener::sign_in(state, token).await?;
    listener.subscribe(stream)?;
    let messages = futures::stream::unfold(listener, |mut listener| async move {
        listener.next().await.map(|messages| (messages, listener))
    })
    .flat_map(|messages| {
        futures::stream::iter(
            messages
                .into_iter()
                .map(|m| Ok::<_, Infallible>(sse::Event::default().event(m.event).data(m.payload))),
        )
    });
    // As Mastodon's, the stream opens with a comment: apps know it is listening from then on.
    let opened = futures::stream::once(async { Ok(sse::Event::default().comment(")")) });
    let keep_alive = KeepAlive::new().interval(RECHECK / 2).text("thump");
    Ok(Sse::new(opened.chain(messages))
        .keep_alive(keep_alive)
        .into_response())
}

/// `GET /api/v1/streaming`: a WebSocket. It starts with `?stream=` if given; messages
/// `{"type":"subscribe","stream":"..."}` and `unsubscribe` change what it carries.
pub async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Error> {
    let token = token(&headers, &query).ok_or(Error::Unauthorized)?;
    let mut listener = Listener::sign_in(state, token.clone()).await?;
    if let Some(name) = &query.stream {
        listener.subscribe(parse_stream(name, query.tag.as_deref())?)?;
    }
    // Mastodon's web app sends its token as the WebSocket protocol; that protocol is agreed.
    Ok(upgrade
        .protocols([token])
        .on_upgrade(move |socket| serve_socket(socket, listener)))
}

/// The token of a streaming request: the `Authorization` header, the `access_token` query or
/// the `Sec-WebSocket-Protocol` header.
fn token(headers: &HeaderMap, query: &StreamQuery) -> Option<String> {
    auth::bearer_token(headers)
        .map(str::to_owned)
        .or_else(|| query.access_token.clone())
        .or_else(|| {
            headers
                .get(header::SEC_WEBSOCKET_PROTOCOL)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        })
        .filter(|t| !t.is_empty())
}

fn parse_stream(name: &str, tag: Option<&str>) -> Result<Stream, Error> {
    Stream::parse(name, tag).ok_or_else(|| match name {
        "hashtag" | "hashtag:local" => Error::BadRequest("A hashtag stream needs a tag".into()),
        _ => Error::BadRequest(format!("Unknown stream type {name:?}")),
    })
}

/// Carries events to a WebSocket until it closes or its token stops being valid.
async fn serve_socket(mut socket: WebSocket, mut listener: Listener) {
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.reset();
    loop {
        let messages = tokio::select! {
            event = listener.events.recv() => match listener.shown(event).await {
                Some(messages) => messages,
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(ws::Message::Text(text))) => listener.command(&text).into_iter().collect(),
                Some(Ok(ws::Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => Vec::new(),
            },
            _ = recheck.tick() => {
                if !listener.still_signed_in().await
                    || socket.send(ws::Message::Ping(Default::default())).await.is_err()
                {
                    break;
                }
                Vec::new()
            }
        };
        for message in messages {
            let Ok(text) = serde_json::to_string(&message) else {
                continue;
            };
            if socket.send(ws::Message::Text(text.into())).await.is_err() {
                return;
            }
        }
    }
    let _ = socket.send(ws::Message::Close(None)).await;
}

/// One signed-in listener: who it is, what it follows, and the events to come.
struct Listener {
    state: AppState,
    token: String,
    signed_in: accounts::SignedIn,
    streams: Vec<Stream>,
    events: streaming::Subscription,
    last_check: tokio::time::Instant,
}

impl Listener {
    /// Checks the token and starts receiving events.
    async fn sign_in(state: AppState, token: String) -> Result<Self, Error> {
        let signed_in = accounts::authenticate(&state.db, &token, KINDS).await?;
        let events = state.ctx.streams.subscribe().await;
        Ok(Self {
            state,
            token,
            signed_in,
            streams: Vec::new(),
            events,
            last_check: tokio::time::Instant::now(),
        })
    }

    /// Adds a stream, if the token may read it.
    fn subscribe(&mut self, stream: Stream) -> Result<(), Error> {
        let scope = match stream {
            Stream::UserNotification => "read:notifications",
            _ => "read:statuses",
        };
        if !self.signed_in.scopes.allows(scope) {
            return Err(Error::Forbidden(
                "This action is outside the authorized scopes".into(),
            ));
        }
        if !self.streams.contains(&stream) {
            self.streams.push(stream);
        }
        Ok(())
    }

    /// Reads a WebSocket command; an error to send back, if any.
    fn command(&mut self, text: &str) -> Option<Message> {
        #[derive(Deserialize)]
        struct Command {
            #[serde(rename = "type")]
            kind: String,
            stream: String,
            tag: Option<String>,
        }
        let done = match serde_json::from_str::<Command>(text) {
            Ok(c) if c.kind == "subscribe" => {
                parse_stream(&c.stream, c.tag.as_deref()).and_then(|s| self.subscribe(s))
            }
            Ok(c) if c.kind == "unsubscribe" => {
                parse_stream(&c.stream, c.tag.as_deref()).map(|s| {
                    self.streams.retain(|kept| *kept != s);
                })
            }
            Ok(c) => Err(Error::BadRequest(format!("Unknown command {:?}", c.kind))),
            Err(e) => Err(Error::BadRequest(format!("Unreadable command: {e}"))),
        };
        done.err().map(|e| Message {
            stream: Vec::new(),
            event: "error",
            payload: serde_json::json!({ "error": e.to_string() }).to_string(),
        })
    }

    /// Whether the token is still valid (it may have been revoked since).
    async fn still_signed_in(&mut self) -> bool {
        self.last_check = tokio::time::Instant::now();
        accounts::authenticate(&self.state.db, &self.token, KINDS)
            .await
            .is_ok()
    }

    /// The next messages for this listener; `None` once it must stop.
    async fn next(&mut self) -> Option<Vec<Message>> {
        loop {
            let event = self.events.recv().await;
            if self.last_check.elapsed() >= RECHECK && !self.still_signed_in().await {
                return None;
            }
            match self.shown(event).await {
                Some(messages) if messages.is_empty() => continue,
                other => return other,
            }
        }
    }

    /// What this listener is shown of a received event (nothing, possibly); `None` once the
    /// events have ended.
    async fn shown(&mut self, event: Result<Event, RecvError>) -> Option<Vec<Message>> {
        let event = match event {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a streaming listener fell behind");
                return Some(Vec::new());
            }
            Err(RecvError::Closed) => return None,
        };
        if event == Event::Queued {
            return Some(Vec::new());
        }
        let (viewer, streams, urls) = (
            self.signed_in.actor.id,
            self.streams.clone(),
            self.state.urls.clone(),
        );
        let policy = self.state.ctx.policy.current();
        let rendered = self
            .state
            .db
            .run(move |conn| {
                let mut messages = Vec::new();
                for stream in &streams {
                    let Some(shown) = streaming::shown(conn, &policy, event, stream, viewer)?
                    else {
                        continue;
                    };
                    let (event, payload) = match shown {
                        Shown::Update(post) => (
                            "update",
                            json(&Status::new(conn, &post, Some(viewer), &urls)?),
                        ),
                        Shown::StatusUpdate(post) => (
                            "status.update",
                            json(&Status::new(conn, &post, Some(viewer), &urls)?),
                        ),
                        Shown::Delete(id) => ("delete", id.to_string()),
                        Shown::Notification(listed) => (
                            "notification",
                            json(&Notification::new(conn, *listed, viewer, &urls)?),
                        ),
                        Shown::Announcement(seen) => (
                            "announcement",
                            super::announcements::entity(&seen).to_string(),
                        ),
                    };
                    messages.push(Message {
                        stream: stream.names(),
                        event,
                        payload,
                    });
                }
                Ok(messages)
            })
            .await;
        Some(rendered.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a streaming event could not be shown");
            Vec::new()
        }))
    }
}

/// A payload: our own entities always serialise.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
