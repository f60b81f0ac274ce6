//! HTTP routes: thin handlers that extract, call a service, and shape the answer.
//! Each handler's doc comment starts with its method and path.

pub mod accounts;
pub mod actors;
pub mod admin;
pub mod announcements;
pub mod auth;
pub mod blocks;
pub mod conversations;
pub mod domains;
pub mod entities;
pub mod exports;
pub mod groups;
pub mod health;
pub mod instance;
pub mod media;
pub mod moderation;
pub mod monitoring;
pub mod nodeinfo;
pub mod notifications;
pub mod oauth;
pub mod objects;
pub mod params;
pub mod registration;
pub mod reports;
pub mod search;
pub mod statuses;
pub mod streaming;
pub mod tags;
pub mod timelines;
pub mod unsupported;
pub mod webfinger;

pub use auth::{CurrentUser, MaybeUser};
pub use params::{ApiForm, ApiQuery};

use crate::{Error, Settings, db::Database, service::Urls, web};
use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use axum::{
    Router,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use hearth_federation::FederationData;
use serde::Serialize;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Database,
    /// The instance's settings.
    pub settings: Arc<Settings>,
    /// URL builder for local things.
    pub urls: Urls,
    /// The federation configuration (signed fetching, inbox verification).
    pub federation: FederationConfig<FederationData>,
    /// What the services need.
    pub ctx: crate::service::Context,
    /// Where uploads go, and how large they may be.
    pub media: crate::service::media::MediaStore,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .field("urls", &self.urls)
            .finish()
    }
}

/// All routes of an instance.
pub fn router(state: AppState) -> Router {
    let federation = FederationMiddleware::new(state.federation.clone());
    let body_timeout = state.settings.body_timeout();
    let routes = Router::new()
        .route("/.well-known/webfinger", get(webfinger::webfinger))
        .route("/.well-known/host-meta", get(webfinger::host_meta))
        .route("/.well-known/nodeinfo", get(nodeinfo::links))
        .route("/nodeinfo/2.1", get(nodeinfo::nodeinfo_2_1))
        .route("/nodeinfo/2.0", get(nodeinfo::nodeinfo_2_0))
        .route("/actor", get(actors::instance_actor))
        .route("/actor/{collection}", get(actors::instance_collection))
        .route("/actor/inbox", post(actors::shared_inbox))
        .route("/inbox", post(actors::shared_inbox))
        .route("/users/{name}", get(actors::person))
        .route("/users/{name}/{collection}", get(actors::person_collection))
        .route("/users/{name}/inbox", post(actors::person_inbox))
        .route("/groups/{name}", get(actors::group))
        .route("/groups/{name}/{collection}", get(actors::group_collection))
        .route("/groups/{name}/inbox", post(actors::group_inbox))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/api/v1/apps", post(oauth::create_app))
        .route("/api/v1/apps/verify_credentials", get(oauth::verify_app))
        .route("/api/v1/instance", get(instance::v1))
        .route("/api/v2/instance", get(instance::v2))
        .route("/api/v1/instance/rules", get(instance::rules))
        .route(
            "/api/v1/instance/domain_blocks",
            get(domains::public_blocks),
        )
        .route("/api/v1/accounts", post(registration::create))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        )
        .route("/api/v1/accounts/lookup", get(accounts::lookup))
        .route("/api/v1/accounts/delete", post(accounts::delete_account))
        .route("/api/hearth/v1/export", get(exports::export))
        .route(
            "/api/hearth/v1/exports",
            get(exports::list).post(exports::request),
        )
        .route("/api/hearth/v1/exports/{id}", get(exports::show))
        .route("/api/hearth/v1/exports/{id}/archive", get(exports::archive))
        .route("/api/hearth/v1/import", post(exports::import))
        .route("/api/v1/accounts/search", get(search::accounts))
        .route(
            "/api/v1/accounts/relationships",
            get(accounts::relationships),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            axum::routing::patch(accounts::update_credentials)
                .layer(media::profile_body_limit(&state)),
        )
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route("/api/v1/accounts/{id}/statuses", get(accounts::statuses))
        .route("/api/v1/accounts/{id}/followers", get(accounts::followers))
        .route("/api/v1/accounts/{id}/following", get(accounts::following))
        .route("/api/v1/accounts/{id}/follow", post(accounts::follow))
        .route("/api/v1/accounts/{id}/unfollow", post(accounts::unfollow))
        .route("/api/v1/accounts/{id}/block", post(blocks::block))
        .route("/api/v1/accounts/{id}/unblock", post(blocks::unblock))
        .route("/api/v1/accounts/{id}/mute", post(blocks::mute))
        .route("/api/v1/accounts/{id}/unmute", post(blocks::unmute))
        .route("/api/v1/blocks", get(blocks::blocks))
        .route("/api/v1/mutes", get(blocks::mutes))
        .route("/api/v1/reports", post(reports::create))
        .route("/api/v1/follow_requests", get(accounts::follow_requests))
        .route(
            "/api/v1/follow_requests/{id}/authorize",
            post(accounts::authorize),
        )
        .route(
            "/api/v1/follow_requests/{id}/reject",
            post(accounts::reject),
        )
        .route(
            "/api/v2/media",
            post(media::upload).layer(media::body_limit(&state)),
        )
        .route(
            "/api/v1/media",
            post(media::upload).layer(media::body_limit(&state)),
        )
        .route("/api/v1/media/{id}", get(media::show).put(media::update))
        .route("/media/{file}", get(media::serve))
        .route("/media/proxy/{token}", get(media::proxy))
        .route("/media/proxy/{token}/small", get(media::proxy_small))
        .route("/api/v1/statuses", post(statuses::create))
        .route(
            "/api/v1/statuses/{id}",
            get(statuses::show)
                .put(statuses::edit)
                .delete(statuses::delete),
        )
        .route("/api/v1/statuses/{id}/context", get(statuses::context))
        .route("/api/v1/statuses/{id}/favourite", post(statuses::favourite))
        .route("/api/v1/statuses/{id}/reblog", post(statuses::reblog))
        .route("/api/v1/statuses/{id}/unreblog", post(statuses::unreblog))
        .route(
            "/api/v1/statuses/{id}/unfavourite",
            post(statuses::unfavourite),
        )
        .route("/api/v1/timelines/home", get(timelines::home))
        .route("/api/v1/timelines/public", get(timelines::public))
        .route("/api/v1/bookmarks", get(timelines::bookmarks))
        .route("/api/v1/favourites", get(timelines::favourites))
        .route("/api/v1/statuses/{id}/bookmark", post(statuses::bookmark))
        .route(
            "/api/v1/statuses/{id}/unbookmark",
            post(statuses::unbookmark),
        )
        .route("/api/v1/statuses/{id}/pin", post(statuses::pin))
        .route("/api/v1/statuses/{id}/unpin", post(statuses::unpin))
        .route(
            "/api/v1/statuses/{id}/favourited_by",
            get(statuses::favourited_by),
        )
        .route(
            "/api/v1/statuses/{id}/reblogged_by",
            get(statuses::reblogged_by),
        )
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/statuses/{id}/source", get(statuses::source))
        .route("/api/v1/preferences", get(accounts::preferences))
        .route("/api/v1/custom_emojis", get(unsupported::custom_emojis))
        .route("/api/v1/filters", get(unsupported::filters))
        .route("/api/v2/filters", get(unsupported::filters))
        .route("/api/v1/lists", get(unsupported::lists))
        .route("/api/v1/followed_tags", get(unsupported::followed_tags))
        .route("/api/v1/announcements", get(announcements::list))
        .route(
            "/api/v1/announcements/{id}/dismiss",
            post(announcements::dismiss),
        )
        .route(
            "/api/v1/announcements/{id}/reactions/{name}",
            axum::routing::put(announcements::react).delete(announcements::unreact),
        )
        .route(
            "/api/hearth/v1/admin/announcements",
            post(announcements::publish),
        )
        .route(
            "/api/hearth/v1/admin/announcements/{id}",
            delete(announcements::withdraw),
        )
        .route("/api/v1/trends/{kind}", get(unsupported::trends))
        .route("/api/v1/streaming", get(streaming::websocket))
        .route("/api/v1/streaming/health", get(streaming::health))
        .route("/api/v1/streaming/{*stream}", get(streaming::events))
        .route("/api/v1/conversations", get(conversations::list))
        .route("/api/v1/conversations/{id}", delete(conversations::remove))
        .route("/api/v1/conversations/{id}/read", post(conversations::read))
        .route("/api/v1/tags/{name}", get(tags::show))
        .route("/api/v1/timelines/tag/{hashtag}", get(tags::timeline))
        .route("/api/v1/notifications", get(notifications::list))
        .route(
            "/api/v1/notifications/unread_count",
            get(notifications::unread_count),
        )
        .route("/api/v1/notifications/clear", post(notifications::clear))
        .route("/api/v1/notifications/{id}", get(notifications::show))
        .route(
            "/api/v1/notifications/{id}/dismiss",
            post(notifications::dismiss),
        )
        .route(
            "/api/v1/markers",
            get(notifications::markers).post(notifications::save_markers),
        )
        .route("/api/v2/search", get(search::search))
        .route(
            "/api/hearth/v1/groups",
            get(groups::list).post(groups::create),
        )
        .route(
            "/api/hearth/v1/groups/{id}",
            get(groups::show).patch(groups::update),
        )
        .route("/api/hearth/v1/groups/{id}/members", get(groups::members))
        .route(
            "/api/hearth/v1/groups/{id}/members/{account}",
            delete(groups::remove),
        )
        .route("/api/hearth/v1/groups/{id}/requests", get(groups::requests))
        .route(
            "/api/hearth/v1/groups/{id}/requests/{account}/approve",
            post(groups::approve),
        )
        .route(
            "/api/hearth/v1/groups/{id}/requests/{account}/reject",
            post(groups::reject),
        )
        .route(
            "/api/hearth/v1/groups/{id}/bans/{account}",
            post(groups::ban),
        )
        .route(
            "/api/hearth/v1/groups/{id}/moderators/{account}",
            post(groups::add_moderator).delete(groups::remove_moderator),
        )
        .route(
            "/api/hearth/v1/groups/{id}/pins/{status}",
            post(groups::pin).delete(groups::unpin),
        )
        .route("/api/v1/admin/accounts", get(admin::accounts))
        .route("/api/v1/admin/accounts/{id}", get(admin::account))
        .route("/api/v1/admin/accounts/{id}/approve", post(admin::approve))
        .route("/api/v1/admin/accounts/{id}/reject", post(admin::reject))
        .route(
            "/api/v1/admin/accounts/{id}/action",
            post(admin::account_action),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsuspend",
            post(admin::unsuspend),
        )
        .route(
            "/api/hearth/v1/admin/accounts/{id}/clinician",
            post(admin::verify_clinician).delete(admin::revoke_clinician),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsilence",
            post(admin::unsilence),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsensitive",
            post(admin::unsensitive),
        )
        .route(
            "/api/v1/admin/domain_blocks",
            get(domains::blocks).post(domains::create_block),
        )
        .route(
            "/api/v1/admin/domain_blocks/{id}",
            get(domains::block)
                .put(domains::update_block)
                .delete(domains::delete_block),
        )
        .route(
            "/api/v1/admin/domain_allows",
            get(domains::allows).post(domains::create_allow),
        )
        .route(
            "/api/v1/admin/domain_allows/{id}",
            get(domains::allow).delete(domains::delete_allow),
        )
        .route(
            "/api/hearth/v1/admin/federation-mode",
            get(domains::mode).put(domains::set_mode),
        )
        .route("/api/v1/admin/reports", get(moderation::list))
        .route("/api/v1/admin/reports/{id}", get(moderation::show))
        .route(
            "/api/v1/admin/reports/{id}/resolve",
            post(moderation::resolve),
        )
        .route(
            "/api/v1/admin/reports/{id}/reopen",
            post(moderation::reopen),
        )
        .route(
            "/api/hearth/v1/admin/posts/{id}",
            delete(moderation::remove_post),
        )
        .route(
            "/api/hearth/v1/admin/statuses/{id}/sensitive",
            post(moderation::mark_sensitive),
        )
        .route(
            "/api/hearth/v1/admin/crisis-resources",
            get(moderation::crisis_resources).put(moderation::set_crisis_resources),
        )
        .route("/api/hearth/v1/admin/federation", get(admin::federation))
        .route("/api/hearth/v1/admin/audit", get(admin::audit_log))
        .route(
            "/api/hearth/v1/admin/federation/{host}",
            delete(admin::drop_queue),
        )
        .route(
            "/api/hearth/v1/admin/federation/{host}/retry",
            post(admin::retry),
        )
        .route("/posts/{id}", get(objects::post))
        .route("/posts/{id}/shared", get(objects::shared_copy))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(web::routes());
    // `/metrics` is here only with a token; otherwise it is not found, like any other path.
    let routes = match state.settings.metrics_token() {
        Some(_) => routes.route("/metrics", get(monitoring::with_token)),
        None => routes,
    };
    let routes = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            objects::refuse_refused_servers,
        ))
        .layer(federation)
        .layer(axum::middleware::from_fn(web::html_errors))
        // Every line logged while handling a request carries its id (see `crate::logging`).
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::extract::Request| crate::logging::request_span(request),
            ),
        );
    // Counted per route, after routing, which knows the route's pattern.
    let routes = if state.settings.metrics_enabled() {
        routes.layer(axum::middleware::from_fn(crate::monitoring::count_request))
    } else {
        routes
    };
    let routes = routes.with_state(state);
    // Apps add trailing slashes (`/api/v1/instance/`); routing sees the path without them.
    // A body that stops arriving is cut off on every route (see `crate::serve`).
    with_request_ids(
        Router::new()
            .fallback_service(routes)
            .layer(tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash())
            .layer(
                tower::ServiceBuilder::new()
                    .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                        body_timeout,
                    ))
                    .map_request(|request: axum::extract::Request<_>| {
                        request.map(axum::body::Body::new)
                    }),
            ),
    )
}

/// The routes of the metrics listener (`HEARTH_METRICS_BIND`): `/metrics` alone, no token.
pub fn metrics_router(state: AppState) -> Router {
    with_request_ids(
        Router::new()
            .route("/metrics", get(monitoring::open))
            .fallback(not_found)
            .with_state(state),
    )
}

/// Gives every request an `x-request-id` (the client's or proxy's own if it is fit to log, a
/// new UUID otherwise) and every response the same.
fn with_request_ids(router: Router) -> Router {
    use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
    router.layer(
        tower::ServiceBuilder::new()
            .map_request(crate::logging::drop_unfit_request_id::<axum::body::Body>)
            .layer(SetRequestIdLayer::new(
                crate::logging::REQUEST_ID.clone(),
                crate::logging::MakeRequestUuid,
            ))
            .layer(PropagateRequestIdLayer::new(
                crate::logging::REQUEST_ID.clone(),
            )),
    )
}

async fn not_found() -> Error {
    Error::not_found("Record not found")
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(serde_json::json!({ "error": "Method not allowed" })),
    )
        .into_response()
}

/// Whether the client asked for ActivityPub JSON rather than a web page.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/activity+json") || v.contains("application/ld+json"))
}

/// The ActivityPub media type to answer with: `ld+json` with the ActivityStreams profile when
/// that is what the client asked for, `activity+json` otherwise.
fn activity_content_type(headers: &HeaderMap) -> &'static str {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = accept.join(",");
    if joined.contains("application/ld+json") && !joined.contains("application/activity+json") {
        r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
    } else {
        "application/activity+json"
    }
}

/// An ActivityPub document with its `@context`, served with the negotiated media type.
#[derive(Debug)]
pub struct ActivityJson<T: Serialize> {
    body: T,
    content_type: &'static str,
}

impl<T: Serialize> ActivityJson<T> {
    /// Wraps `body` for a request with these headers.
    pub fn new(body: T, request_headers: &HeaderMap) -> Self {
        Self {
            body,
            content_type: activity_content_type(request_headers),
        }
    }
}

impl<T: Serialize> IntoResponse for ActivityJson<T> {
    fn into_response(self) -> Response {
        let mut value = match serde_json::to_value(&self.body) {
            Ok(v) => v,
            Err(e) => {
                return Error::Internal(format!("serialising a document: {e}")).into_response();
            }
        };
        if let Some(object) = value.as_object_mut() {
            let mut with_context = serde_json::Map::new();
            with_context.insert("@context".into(), hearth_federation::protocol::context());
            with_context.append(object);
            value = serde_json::Value::Object(with_context);
        }
        (
            [
                (header::CONTENT_TYPE, self.content_type),
                (header::VARY, "Accept"),
            ],
            axum::Json(value),
        )
            .into_response()
    }
}
