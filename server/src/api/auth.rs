//! Who is asking, and whether their token's scopes allow this endpoint.
//!
//! The scope each endpoint needs is decided here, from its method and route, in one table, as
//! Mastodon documents it per endpoint: reads need `read:<area>`, writes `write:<area>`.

use super::AppState;
use crate::{
    Error,
    db::{actors::ActorRow, tokens, users::UserRow},
    service::{accounts, scopes::Scopes},
};
use axum::{
    extract::{FromRequestParts, MatchedPath},
    http::{HeaderMap, Method, header, request::Parts},
};

/// The signed-in person of a request with a valid `Authorization: Bearer` token whose scopes
/// allow the endpoint.
#[derive(Debug)]
pub struct CurrentUser {
    /// The person's actor row.
    pub actor: ActorRow,
    /// The account row.
    pub user: UserRow,
    /// What the token grants.
    pub scopes: Scopes,
    /// The token's app, if an app holds it.
    pub app_id: Option<i64>,
}

impl CurrentUser {
    /// The person as the services take them for an admin or moderator act.
    pub fn acting(&self) -> crate::service::audit::Acting {
        crate::service::audit::Acting::person(self.actor.clone(), &self.user)
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Bearer tokens are those of apps and of scripts; a browser's session is only a cookie.
const BEARER_KINDS: &[&str] = &[tokens::KIND_APP, tokens::KIND_CLI];

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer_token(&parts.headers).ok_or(Error::Unauthorized)?;
        let signed_in = accounts::authenticate(&state.db, token, BEARER_KINDS).await?;
        check_scopes(parts, &signed_in.scopes)?;
        Ok(Self {
            actor: signed_in.actor,
            user: signed_in.user,
            scopes: signed_in.scopes,
            app_id: signed_in.app_id,
        })
    }
}

/// The app behind a request's bearer token, whether the token also speaks for a person or
/// is the app's own (client credentials), with the scope the endpoint needs. For the few
/// endpoints an app may call before anyone signs in, such as `POST /api/v1/accounts`.
#[derive(Debug)]
pub struct AppCaller {
    /// The app.
    pub app_id: i64,
    /// What the token grants.
    pub scopes: Scopes,
    /// The person, unless it is the app's own token.
    pub person: Option<accounts::SignedIn>,
}

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer_token(&parts.headers).ok_or(Error::Unauthorized)?;
        let caller = accounts::authenticate_app(&state.db, token).await?;
        check_scopes(parts, &caller.scopes)?;
        Ok(Self {
            app_id: caller.app_id,
            scopes: caller.scopes,
            person: caller.person,
        })
    }
}

/// Refuses a token whose scopes do not allow the request's endpoint.
fn check_scopes(parts: &Parts, scopes: &Scopes) -> Result<(), Error> {
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or_default();
    let needed = required_scopes(&parts.method, route);
    if needed.iter().any(|scope| scopes.allows(scope)) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "This action is outside the authorized scopes".into(),
        ))
    }
}

/// The signed-in account, if the request carries a token; anonymous otherwise. A token that
/// is invalid or lacks the scope is refused, not taken as anonymous.
#[derive(Debug)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl MaybeUser {
    /// The viewer's actor id.
    pub fn id(&self) -> Option<i64> {
        self.0.as_ref().map(|u| u.actor.id)
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(Self(None));
        }
        CurrentUser::from_request_parts(parts, state)
            .await
            .map(|u| Self(Some(u)))
    }
}

/// The scopes of which a token needs one for `method` on `route` (axum's route pattern).
pub fn required_scopes(method: &Method, route: &str) -> &'static [&'static str] {
    let read = matches!(*method, Method::GET | Method::HEAD);
    let path = route.trim_end_matches('/');
    let area = |name: &str| {
        path.strip_prefix("/api/v1/")
            .or_else(|| path.strip_prefix("/api/v2/"))
            .is_some_and(|rest| rest.starts_with(name))
    };
    let ends = |suffix: &str| path.ends_with(suffix);
    macro_rules! pick {
        ($read:expr, $write:expr) => {
            if read { &[$read] } else { &[$write] }
        };
    }
    if path == "/api/v1/accounts/verify_credentials" {
        return &["read:accounts", "profile"];
    }
    if area("admin/reports") {
        return pick!("admin:read:reports", "admin:write:reports");
    }
    if area("admin/accounts") {
        return pick!("admin:read:accounts", "admin:write:accounts");
    }
    if area("admin/domain_blocks") {
        return pick!("admin:read:domain_blocks", "admin:write:domain_blocks");
    }
    if area("admin/domain_allows") {
        return pick!("admin:read:domain_allows", "admin:write:domain_allows");
    }
    // Group moderators remove posts in their groups with a person's ordinary token.
    if path == "/api/hearth/v1/admin/posts/{id}" {
        return &["admin:write", "write:statuses"];
    }
    if path.starts_with("/api/hearth/v1/admin") || area("admin") {
        return pick!("admin:read", "admin:write");
    }
    if path.starts_with("/api/hearth/") {
        return pick!("read", "write");
    }
    if ends("/follow")
        || ends("/unfollow")
        || area("follow_requests")
        || ends("/relationships")
        || area("tags")
        || area("followed_tags")
    {
        return pick!("read:follows", "write:follows");
    }
    if ends("/block") || ends("/unblock") || area("blocks") {
        return pick!("read:blocks", "write:blocks");
    }
    if ends("/mute") || ends("/unmute") || area("mutes") {
        return pick!("read:mutes", "write:mutes");
    }
    if ends("/favourite") || ends("/unfavourite") || area("favourites") {
        return pick!("read:favourites", "write:favourites");
    }
    if ends("/bookmark") || ends("/unbookmark") || area("bookmarks") {
        return pick!("read:bookmarks", "write:bookmarks");
    }
    if ends("/statuses") && area("accounts") {
        return &["read:statuses"];
    }
    if area("accounts") || area("preferences") || area("announcements") {
        return pick!("read:accounts", "write:accounts");
    }
    if area("statuses") || area("timelines") || area("markers") || area("polls") {
        return pick!("read:statuses", "write:statuses");
    }
    if area("conversations") {
        return pick!("read:statuses", "write:conversations");
    }
    if area("notifications") {
        return pick!("read:notifications", "write:notifications");
    }
    if area("media") {
        return &["write:media"];
    }
    if area("search") {
        return &["read:search"];
    }
    if area("filters") {
        return pick!("read:filters", "write:filters");
    }
    if area("lists") {
        return pick!("read:lists", "write:lists");
    }
    if area("reports") {
        return &["write:reports"];
    }
    if area("push") {
        return &["push"];
    }
    pick!("read", "write")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(scopes: &str, method: Method, route: &str) -> bool {
        let scopes = Scopes::parse(scopes).unwrap_or_else(|e| panic!("{e}"));
        required_scopes(&method, route)
            .iter()
            .any(|s| scopes.allows(s))
    }

    #[test]
    fn endpoints_need_the_scopes_mastodon_documents() {
        assert!(allowed("read", Method::GET, "/api/v1/timelines/home"));
        assert!(!allowed("read", Method::POST, "/api/v1/statuses"));
        assert!(allowed("write:statuses", Method::POST, "/api/v1/statuses"));
        assert!(!allowed(
            "write:statuses",
            Method::POST,
            "/api/v1/accounts/{id}/follow"
        ));
        assert!(allowed(
            "follow",
            Method::POST,
            "/api/v1/accounts/{id}/follow"
        ));
        assert!(allowed(
            "write:follows",
            Method::POST,
            "/api/v1/follow_requests/{id}/authorize"
        ));
        assert!(allowed(
            "profile",
            Method::GET,
            "/api/v1/accounts/verify_credentials"
        ));
        assert!(!allowed("profile", Method::GET, "/api/v1/timelines/home"));
        assert!(allowed(
            "read:statuses",
            Method::GET,
            "/api/v1/accounts/{id}/statuses"
        ));
        assert!(!allowed(
            "read:statuses",
            Method::GET,
            "/api/v1/accounts/{id}"
        ));
        assert!(allowed(
            "write:favourites",
            Method::POST,
            "/api/v1/statuses/{id}/favourite"
        ));
        assert!(!allowed(
            "write:favourites",
            Method::DELETE,
            "/api/v1/statuses/{id}"
        ));
        assert!(allowed("read:search", Method::GET, "/api/v2/search"));
        assert!(!allowed(
            "read write follow push",
            Method::GET,
            "/api/hearth/v1/admin/federation"
        ));
        assert!(allowed(
            "admin:read",
            Method::GET,
            "/api/hearth/v1/admin/federation"
        ));
        assert!(!allowed(
            "write:statuses",
            Method::POST,
            "/api/hearth/v1/groups"
        ));
        assert!(allowed("write", Method::POST, "/api/hearth/v1/groups"));
        // Notifications have their own scopes; markers are statuses' (Mastodon's docs and
        // its markers controller).
        assert!(allowed(
            "read:notifications",
            Method::GET,
            "/api/v1/notifications/unread_count"
        ));
        assert!(!allowed(
            "read:notifications",
            Method::POST,
            "/api/v1/notifications/{id}/dismiss"
        ));
        assert!(allowed(
            "write:notifications",
            Method::POST,
            "/api/v1/notifications/clear"
        ));
        assert!(!allowed(
            "read:statuses",
            Method::GET,
            "/api/v1/notifications"
        ));
        assert!(allowed("read:statuses", Method::GET, "/api/v1/markers"));
        assert!(allowed("write:statuses", Method::POST, "/api/v1/markers"));
        assert!(!allowed("read:statuses", Method::POST, "/api/v1/markers"));
        assert!(allowed("write:accounts", Method::POST, "/api/v1/accounts"));
        assert!(!allowed("read", Method::POST, "/api/v1/accounts"));
        let approve = "/api/v1/admin/accounts/{id}/approve";
        assert!(allowed("admin:write:accounts", Method::POST, approve));
        assert!(allowed("admin:write", Method::POST, approve));
        assert!(!allowed("admin:read", Method::POST, approve));
        assert!(!allowed("admin:write:reports", Method::POST, approve));
        assert!(!allowed("write", Method::POST, approve));
        assert!(allowed(
            "admin:read:accounts",
            Method::GET,
            "/api/v1/admin/accounts"
        ));
        // Blocks, mutes and reports (Mastodon's docs); `follow` still grants blocks and mutes.
        let block = "/api/v1/accounts/{id}/block";
        assert!(allowed("write:blocks", Method::POST, block));
        assert!(allowed("follow", Method::POST, block));
        assert!(!allowed("write:mutes write:follows", Method::POST, block));
        assert!(allowed("read:blocks", Method::GET, "/api/v1/blocks"));
        assert!(!allowed("write:blocks", Method::GET, "/api/v1/blocks"));
        let mute = "/api/v1/accounts/{id}/unmute";
        assert!(allowed("write:mutes", Method::POST, mute));
        assert!(!allowed("write:blocks", Method::POST, mute));
        assert!(allowed("read:mutes", Method::GET, "/api/v1/mutes"));
        assert!(allowed("write:reports", Method::POST, "/api/v1/reports"));
        assert!(!allowed("read follow", Method::POST, "/api/v1/reports"));
    }
}
