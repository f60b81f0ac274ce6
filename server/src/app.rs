//! Wiring: settings, database, instance actor, federation and routes into a running instance.

use crate::{
    Error, Settings,
    api::{self, AppState},
    db::Database,
    service::{Context, Urls, delivery, instance, port::StoragePort},
};
use hearth_federation::{
    FederationSettings,
    context::build_config,
    resolver::{Lookup, SystemLookup},
};
use std::{future::Future, net::SocketAddr, sync::Arc};
use tokio::net::TcpListener;

/// A built instance, bound to its port and ready to serve.
#[derive(Debug)]
pub struct Application {
    /// The HTTP listener; none in a worker process.
    listener: Option<TcpListener>,
    /// The listener of `/metrics` alone, when `metrics_bind` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

impl Application {
    /// Builds an instance listening on `settings.bind` (unless its role is `worker`).
    pub async fn build(settings: Settings) -> Result<Self, Error> {
        let listener =
            if settings.role.serves_web() {
                Some(TcpListener::bind(settings.bind).await.map_err(|e| {
                    Error::Config(format!("cannot listen on {}: {e}", settings.bind))
                })?)
            } else {
                None
            };
        Self::build_on(settings, listener, Arc::new(SystemLookup)).await
    }

    /// Builds an instance on an already bound listener, resolving names with `lookup`
    /// (tests bind port 0 first, so that the domain can carry the port).
    pub async fn build_with(
        settings: Settings,
        listener: TcpListener,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, Error> {
        Self::build_on(settings, Some(listener), lookup).await
    }

    async fn build_on(
        settings: Settings,
        listener: Option<TcpListener>,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, Error> {
        settings.validate()?;
        if settings.metrics_enabled() {
            crate::monitoring::install()?;
        }
        let metrics_listener =
            match settings.metrics_bind {
                Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                    Error::Config(format!("cannot listen for metrics on {addr}: {e}"))
                })?),
                None => None,
            };
        let urls = Urls::new(&settings)?;
        let db = Database::connect(&settings.database_url(), settings.database_pool_size)?;
        let applied = db.migrate().await?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, database = %db.describe(), "applied migrations");
        }
        let instance_actor = instance::ensure_instance_actor(&db, &urls)
            .await?
            .to_federated()?;
        let ctx = Context::new(db.clone(), urls.clone(), &settings);
        crate::service::policy::refresh(&db, &ctx.policy).await?;
        crate::service::policy::keep_current(db.clone(), &ctx.policy);
        let federation = build_config(
            &FederationSettings {
                domain: settings.domain.clone(),
                closed_network: settings.closed_network(),
                lookup,
                user_agent: format!("hearth/{} (+{})", env!("CARGO_PKG_VERSION"), urls.base()),
                policy: ctx.policy.clone(),
            },
            Arc::new(StoragePort::new(ctx.clone())),
            &instance_actor,
        )
        .await?;
        let files = crate::service::media_files::MediaFiles::open(&settings.media_storage()?)?;
        files.check().await?;
        let media = crate::service::media::MediaStore::new(files, settings.media_max_bytes);
        let state = AppState {
            media,
            db,
            settings: Arc::new(settings),
            urls,
            federation,
            ctx,
        };
        Ok(Self {
            listener,
            metrics_listener,
            state,
        })
    }

    /// The address actually listened on; none in a worker process.
    pub fn local_addr(&self) -> Result<Option<SocketAddr>, Error> {
        self.listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// The address `/metrics` is served on alone, when `metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The shared state, for tests and tools.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The listener and the complete router, for callers that serve them themselves (with
    /// [`crate::serve::serve`]) and run deliveries themselves (the test harness records
    /// requests and drains the outbox). The metrics listener, if any, is not served.
    pub fn into_parts(self) -> (Option<TcpListener>, axum::Router) {
        (self.listener, api::router(self.state))
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests. What runs follows
    /// the role: HTTP (`web`), deliveries and timed work (`worker`), or all of them.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let delivers = self.state.settings.role.delivers();
        if delivers && !self.state.db.is_postgres() {
            // On SQLite one process delivers: claims left are from a process that died.
            let released = self
                .state
                .db
                .run(|conn| Ok(crate::db::deliveries::release_all(conn)?))
                .await?;
            if released > 0 {
                tracing::info!(
                    released,
                    "took back the delivery queues of a stopped process"
                );
            }
        }
        let mut worker = delivers.then(|| {
            tokio::spawn(delivery::run_worker(
                self.state.ctx.clone(),
                self.state.federation.to_request_data(),
                self.state.ctx.wake.clone(),
            ))
        });
        let streams = self.state.ctx.streams.clone();
        let clean_up = delivers.then(|| {
            let ctx = self.state.ctx.clone();
            let media = self.state.media.clone();
            let rest = self.state.settings.handle_rest();
            tokio::spawn(async move {
                tokio::join!(
                    crate::service::media::run_clean_up(ctx.clone(), media.clone()),
                    crate::service::export::run_removing_old(ctx.clone(), media),
                    crate::service::account_deletion::run_dropping_tombstones(ctx.clone(), rest),
                    crate::service::retention::run_expiry(ctx.clone()),
                    crate::service::inbox::run_forgetting(ctx),
                )
            })
        });
        let limits = crate::serve::Limits::from(&*self.state.settings);
        let stopping = self.state.ctx.stopping.clone();
        let metrics = self.metrics_listener.map(|listener| {
            let router = api::metrics_router(self.state.clone());
            let stopped = stopping.clone().cancelled_owned();
            tokio::spawn(crate::serve::serve(listener, router, limits, stopped))
        });
        let router = api::router(self.state);
        // Stopping: no new connections; open requests and the activities being delivered
        // finish side by side, within the grace period.
        let delivery_stopped = async {
            stopping.cancelled().await;
            let Some(worker) = worker.as_mut() else {
                return;
            };
            if tokio::time::timeout(limits.shutdown_grace, &mut *worker)
                .await
                .is_err()
            {
                tracing::warn!(
                    "stopped while deliveries were still being sent: they are sent again once their servers' leases run out"
                );
                worker.abort();
            }
        };
        let stop = stopping.clone();
        let stopped = async move {
            shutdown.await;
            stop.cancel();
            streams.close();
        };
        let served = async move {
            match self.listener {
                // The peer address reaches the sign-in limits; it is not stored.
                Some(listener) => crate::serve::serve(listener, router, limits, stopped).await,
                None => stopped.await,
            }
        };
        tokio::join!(served, delivery_stopped);
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        if let Some(clean_up) = clean_up {
            clean_up.abort();
        }
        Ok(())
    }
}
