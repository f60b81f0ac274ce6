//! Serving HTTP: the accept loop, with bounds on slow and on numerous connections.
//!
//! `axum::serve` offers no settings (its connections wait for headers without end), so the loop
//! is written here on hyper's HTTP/1 connections, as axum's is, with three bounds a slow
//! client cannot stretch:
//!
//! - **headers**: a request whose headers have not all arrived [`Limits::header_timeout`]
//!   after the connection became ready for it (opened, or done with the previous request) is
//!   dropped with its connection: a kept-alive connection idle that long is closed too.
//!   Headers are read into at most [`MAX_HEADER_BUFFER`] bytes (more is refused with 431).
//! - **bodies**: a request body that pauses longer than the body timeout is cut off, on every
//!   route (the layer is in [`crate::api::router`]); the inbox also bounds a whole activity's
//!   body.
//! - **connections per address**: at most [`Limits::per_address`] connections are open at once
//!   from one client address (an IPv6 client counts by its /64, which one machine usually
//!   holds whole); one more is closed as soon as it is accepted. Addresses are counted only
//!   while they have connections open, and never stored.

use crate::Settings;
use axum::{Router, extract::ConnectInfo};
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, Ipv6Addr},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

/// Largest read buffer of an HTTP/1 connection, which bounds a request's headers: 64 KiB
/// (nginx allows 32 KiB by default; hyper's own default is about 400 KiB).
pub const MAX_HEADER_BUFFER: usize = 64 * 1024;

/// The bounds on connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long a request's headers may take to arrive.
    pub header_timeout: Duration,
    /// Most connections open at once from one address; 0 for no limit.
    pub per_address: usize,
    /// How long a stopping server waits for open connections to finish their requests.
    pub shutdown_grace: Duration,
}

impl From<&Settings> for Limits {
    fn from(settings: &Settings) -> Self {
        Self {
            header_timeout: settings.header_timeout(),
            per_address: usize::try_from(settings.max_connections_per_address)
                .unwrap_or(usize::MAX),
            shutdown_grace: settings.shutdown_grace(),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets each open connection finish its request, and waits for them
/// `limits.shutdown_grace` at most. Handlers see the peer's address as `ConnectInfo<SocketAddr>`.
///
/// Connections speak HTTP/1.1 (WebSockets by upgrade): with HTTP/2 the first bytes would be
/// read to tell the versions apart, without a time limit, before hyper's header timeout
/// starts; and without TLS (a proxy terminates it) no browser or server speaks HTTP/2 here.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BUFFER);
    let open = Arc::new(OpenConnections::default());
    // Told to every connection when the server stops; each holds a `closed` receiver until it
    // ends, so that the server knows when all have.
    let (stop, stopping) = watch::channel(());
    let (all_closed, closed) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = open.admit(peer.ip(), limits.per_address) else {
            // Not the address itself: logs hold no client addresses.
            tracing::debug!("too many connections from one address");
            drop(stream);
            continue;
        };
        let service =
            router
                .clone()
                .map_request(move |mut request: http::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let (mut stopping, closed) = (stopping.clone(), closed.clone());
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::trace!(error = ?e.to_string(), "a connection ended with an error");
            }
            drop((slot, closed));
        });
    }
    drop(listener);
    drop(closed);
    let _ = stop.send(());
    if tokio::time::timeout(limits.shutdown_grace, all_closed.closed())
        .await
        .is_err()
    {
        tracing::info!("stopped with connections still open");
    }
}

/// Waits after a failed accept: at once for errors of one connection, a second for others
/// (such as running out of file descriptors), as axum::serve does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        tracing::error!(error = ?e.to_string(), "accepting a connection failed");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Connections open now, by client address (see [`key`]); an address leaves the map with its
/// last connection.
#[derive(Debug, Default)]
struct OpenConnections {
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

impl OpenConnections {
    /// A place for one more connection from `ip`, or `None` when `limit` are open already.
    fn admit(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<Slot> {
        if limit == 0 {
            return Some(Slot(None));
        }
        let key = key(ip);
        let mut open = self
            .by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Slot(Some((self.clone(), key))))
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
struct Slot(Option<(Arc<OpenConnections>, IpAddr)>);

impl Drop for Slot {
    fn drop(&mut self) {
        let Some((open, key)) = self.0.take() else {
            return;
        };
        let mut open = open
            .by_address
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&key);
            }
        }
    }
}

/// What counts as one client: an IPv4 address (also when written as IPv4-mapped IPv6), or
/// an IPv6 /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_address_gets_its_own_places_and_frees_them() {
        let open = Arc::new(OpenConnections::default());
        let first: Vec<Slot> = (0..2)
            .filter_map(|_| open.admit(ip("10.0.0.1"), 2))
            .collect();
        assert_eq!(first.len(), 2);
        assert!(
            open.admit(ip("10.0.0.1"), 2).is_none(),
            "the third is refused"
        );
        assert!(
            open.admit(ip("::ffff:10.0.0.1"), 2).is_none(),
            "also spelt as IPv6"
        );
        assert!(
            open.admit(ip("10.0.0.2"), 2).is_some(),
            "another address is not"
        );
        drop(first);
        assert!(
            open.admit(ip("10.0.0.1"), 2).is_some(),
            "closed ones free their places"
        );
        let held = open.admit(ip("10.0.0.1"), 2);
        drop(held);
        assert!(
            open.by_address
                .lock()
                .map(|m| m.is_empty())
                .unwrap_or(false),
            "no address is kept once its connections are closed"
        );
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64() {
        assert_eq!(
            key(ip("2001:db8:1:2:aaaa::1")),
            key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(key(ip("2001:db8:1:2::1")), key(ip("2001:db8:1:3::1")));
        let open = Arc::new(OpenConnections::default());
        let _one = open.admit(ip("2001:db8:1:2::1"), 1);
        assert!(open.admit(ip("2001:db8:1:2::2"), 1).is_none());
        assert!(
            open.admit(ip("2001:db8:1:2::2"), 0).is_some(),
            "0: no limit"
        );
    }
}
