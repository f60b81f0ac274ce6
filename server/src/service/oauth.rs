//! OAuth 2 as Mastodon apps use it (RFC 6749, PKCE per RFC 7636, revocation per RFC 7009):
//! apps register, a person signs in and approves, the app exchanges a code for a token.
//!
//! Secrets (client secrets, codes, tokens, refresh tokens) are stored only as SHA-256 hashes.

use super::scopes::Scopes;
use crate::{
    Error,
    db::{
        Database,
        id::new_id,
        oauth::{self, AppRow, CodeRow},
        tokens::{self, KIND_APP, TokenRow},
    },
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{NaiveDateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

/// The redirect URI of apps that cannot receive a redirect: the code is shown on the page.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
/// How long an authorization code may wait to be exchanged.
const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// Schemes that must never be a redirect target: they would run in, or read from, the browser.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "about", "blob"];

/// A new random secret: 32 bytes, URL-safe base64.
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// An app just registered, with its secret in clear (shown once).
#[derive(Debug)]
pub struct RegisteredApp {
    /// The stored app.
    pub app: AppRow,
    /// The client secret.
    pub client_secret: String,
}

/// What `POST /api/v1/apps` asks for.
#[derive(Debug)]
pub struct NewApp {
    /// The app's name, shown on the consent page.
    pub name: String,
    /// Where codes may be sent.
    pub redirect_uris: Vec<String>,
    /// The most the app may ask for.
    pub scopes: Scopes,
    /// The app's home page.
    pub website: Option<String>,
}

/// Checks one redirect URI: `urn:ietf:wg:oauth:2.0:oob`, or an absolute URI (custom schemes
/// of mobile apps included) whose scheme cannot run code in the browser.
fn check_redirect_uri(raw: &str) -> Result<String, Error> {
    let raw = raw.trim();
    if raw == OOB {
        return Ok(raw.to_owned());
    }
    let invalid = || {
        Error::Unprocessable(format!(
            "Validation failed: Redirect URI {raw:?} must be an absolute URI"
        ))
    };
    let url = url::Url::parse(raw).map_err(|_| invalid())?;
    if FORBIDDEN_SCHEMES.contains(&url.scheme()) || url.fragment().is_some() {
        return Err(invalid());
    }
    Ok(raw.to_owned())
}

/// Registers an app.
pub async fn register_app(db: &Database, new: NewApp) -> Result<RegisteredApp, Error> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::Unprocessable(
            "Validation failed: Application name must be 1 to 200 characters".into(),
        ));
    }
    let uris: Vec<String> = new
        .redirect_uris
        .iter()
        .flat_map(|u| u.lines())
        .filter(|u| !u.trim().is_empty())
        .map(check_redirect_uri)
        .collect::<Result<_, _>>()?;
    if uris.is_empty() || uris.len() > 10 {
        return Err(Error::Unprocessable(
            "Validation failed: give 1 to 10 redirect URIs".into(),
        ));
    }
    let website = new
        .website
        .filter(|w| !w.trim().is_empty())
        .map(|w| match url::Url::parse(w.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url.to_string()),
            _ => Err(Error::Unprocessable(
                "Validation failed: Website must be an http(s) URL".into(),
            )),
        })
        .transpose()?;
    let client_secret = new_secret();
    let app = AppRow {
        id: new_id(),
        client_id: new_secret(),
        client_secret_sha256: secret_hash(&client_secret),
        name,
        website,
        redirect_uris: uris.join("\n"),
        scopes: new.scopes.to_string(),
        created_at: Utc::now().naive_utc(),
    };
    let stored = app.clone();
    db.run(move |conn| Ok(oauth::insert_app(conn, &stored)?))
        .await?;
    Ok(RegisteredApp { app, client_secret })
}

/// The parameters of `GET /oauth/authorize`.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct AuthorizationParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The app.
    pub client_id: Option<String>,
    /// Where to send the code; one of the app's registered URIs.
    pub redirect_uri: Option<String>,
    /// What the app asks for (default `read`).
    pub scope: Option<String>,
    /// Returned to the app unchanged.
    pub state: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method: only `S256`.
    pub code_challenge_method: Option<String>,
}

/// A checked authorization request, ready for the person's decision.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The app asking.
    pub app: AppRow,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// What it asks for.
    pub scopes: Scopes,
    /// The app's state, returned as is.
    pub state: Option<String>,
    /// The PKCE S256 challenge, if the app sent one.
    pub code_challenge: Option<String>,
}

/// Checks an authorization request. Errors here are shown to the person, never redirected:
/// the redirect URI is not trusted until it is known to be the app's.
pub async fn check_authorization(
    db: &Database,
    params: &AuthorizationParams,
) -> Result<AuthorizationRequest, Error> {
    let client_id = params
        .client_id
        .clone()
        .ok_or_else(|| Error::oauth("invalid_request", "client_id is missing"))?;
    let app = db
        .run(move |conn| Ok(oauth::app_by_client_id(conn, &client_id)?))
        .await?
        .ok_or_else(|| Error::oauth("invalid_client", "no app has this client_id"))?;
    let registered = app.redirect_uri_list();
    let redirect_uri = match params.redirect_uri.as_deref().map(str::trim) {
        Some(uri) if registered.contains(&uri) => uri.to_owned(),
        None | Some("") if registered.len() == 1 => registered[0].to_owned(),
        _ => {
            return Err(Error::oauth(
                "invalid_request",
                "redirect_uri is not one the app registered",
            ));
        }
    };
    if params.response_type.as_deref() != Some("code") {
        return Err(Error::oauth(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let scopes = Scopes::parse(params.scope.as_deref().unwrap_or_default())
        .map_err(|e| Error::oauth("invalid_scope", e.to_string()))?;
    let allowed = Scopes::parse(&app.scopes)?;
    if !allowed.covers(&scopes) {
        return Err(Error::oauth(
            "invalid_scope",
            format!("the app registered only {allowed}"),
        ));
    }
    let code_challenge = match (
        params.code_challenge.as_deref().filter(|c| !c.is_empty()),
        params.code_challenge_method.as_deref(),
    ) {
        (None, _) => None,
        (Some(challenge), Some("S256")) => {
            let well_formed = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !well_formed {
                return Err(Error::oauth(
                    "invalid_request",
                    "code_challenge must be the base64url SHA-256 of the verifier",
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), _) => {
            return Err(Error::oauth(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
    };
    Ok(AuthorizationRequest {
        app,
        redirect_uri,
        scopes,
        state: params.state.clone(),
        code_challenge,
    })
}

/// Grants `request` for the person `user_id`: a new code, valid once for ten minutes.
pub async fn grant_code(
    db: &Database,
    request: &AuthorizationRequest,
    user_id: i64,
) -> Result<String, Error> {
    let code = new_secret();
    let now = Utc::now().naive_utc();
    let row = CodeRow {
        code_sha256: secret_hash(&code),
        app_id: request.app.id,
        user_id,
        redirect_uri: request.redirect_uri.clone(),
        scopes: request.scopes.to_string(),
        code_challenge: request.code_challenge.clone(),
        expires_at: now + CODE_LIFETIME,
    };
    db.run(move |conn| {
        conn.write_transaction(|conn| {
            oauth::delete_expired_codes(conn, now)?;
            oauth::insert_code(conn, &row)?;
            Ok(())
        })
    })
    .await?;
    Ok(code)
}

/// Where to send the browser with the person's answer: the redirect URI with `code` (or
/// `error=access_denied`) and `state`. `None` for the out-of-band URI, where the page shows
/// the code.
pub fn redirect_target(request: &AuthorizationRequest, code: Option<&str>) -> Option<String> {
    if request.redirect_uri == OOB {
        return None;
    }
    let mut url = url::Url::parse(&request.redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        match code {
            Some(code) => query.append_pair("code", code),
            None => query.append_pair("error", "access_denied"),
        };
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
    }
    Some(url.to_string())
}

/// How a token request identifies its app: `client_id` and `client_secret` in the body or
/// in HTTP Basic authentication.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    /// The app's client id.
    pub client_id: Option<String>,
    /// Its secret; public clients using PKCE may leave it out.
    pub client_secret: Option<String>,
}

/// What `POST /oauth/token` asks for.
#[derive(Debug)]
pub enum Grant {
    /// A code from the authorization page.
    AuthorizationCode {
        /// The code.
        code: String,
        /// Must be the URI the code was sent to.
        redirect_uri: Option<String>,
        /// PKCE verifier, required when the code was asked for with a challenge.
        code_verifier: Option<String>,
    },
    /// A token for the app itself (to register accounts).
    ClientCredentials {
        /// What it asks for.
        scope: Option<String>,
    },
    /// A new token for an old one's refresh token.
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
    },
    /// A person's handle and password, if the admin allows it.
    Password {
        /// Handle.
        username: String,
        /// Password.
        password: String,
        /// What the app asks for.
        scope: Option<String>,
    },
}

/// A token just issued, in clear (shown once).
#[derive(Debug)]
pub struct IssuedToken {
    /// The bearer token.
    pub access_token: String,
    /// A token to get a new one with.
    pub refresh_token: String,
    /// What it grants.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: NaiveDateTime,
}

/// Exchanges a grant for a token.
pub async fn exchange(
    ctx: &super::Context,
    client: ClientCredentials,
    grant: Grant,
    address: Option<std::net::IpAddr>,
) -> Result<IssuedToken, Error> {
    let db = &ctx.db;
    let client_id = client
        .client_id
        .ok_or_else(|| Error::oauth("invalid_client", "client_id is missing"))?;
    let app = db
        .run(move |conn| Ok(oauth::app_by_client_id(conn, &client_id)?))
        .await?
        .ok_or_else(|| Error::oauth("invalid_client", "unknown client"))?;
    let secret_ok = client
        .client_secret
        .as_deref()
        .map(|s| secret_hash(s) == app.client_secret_sha256);
    let refuse_client = || Error::oauth("invalid_client", "client authentication failed");
    if secret_ok == Some(false) {
        return Err(refuse_client());
    }
    let app_scopes = Scopes::parse(&app.scopes)?;
    let requested = |scope: Option<String>| -> Result<Scopes, Error> {
        let scopes = match scope.filter(|s| !s.trim().is_empty()) {
            Some(s) => {
                Scopes::parse(&s).map_err(|e| Error::oauth("invalid_scope", e.to_string()))?
            }
            None => app_scopes.clone(),
        };
        if app_scopes.covers(&scopes) {
            Ok(scopes)
        } else {
            Err(Error::oauth(
                "invalid_scope",
                format!("the app registered only {app_scopes}"),
            ))
        }
    };
    let (user_id, scopes) = match grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let hash = secret_hash(&code);
            let row = db
                .run(move |conn| Ok(oauth::take_code(conn, &hash)?))
                .await?
                .filter(|c| c.app_id == app.id && c.expires_at > Utc::now().naive_utc())
                .ok_or_else(|| Error::oauth("invalid_grant", "the code is invalid or expired"))?;
            if redirect_uri
                .as_deref()
                .is_some_and(|u| u.trim() != row.redirect_uri)
            {
                return Err(Error::oauth("invalid_grant", "redirect_uri does not match"));
            }
            match (&row.code_challenge, code_verifier) {
                (Some(challenge), Some(verifier)) => {
                    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                    if &computed != challenge {
                        return Err(Error::oauth(
                            "invalid_grant",
                            "code_verifier does not match",
                        ));
                    }
                }
                (Some(_), None) => {
                    return Err(Error::oauth("invalid_grant", "code_verifier is missing"));
                }
                // Without PKCE the app must prove itself with its secret.
                (None, _) if secret_ok != Some(true) => return Err(refuse_client()),
                (None, _) => {}
            }
            (Some(row.user_id), Scopes::parse(&row.scopes)?)
        }
        Grant::ClientCredentials { scope } => {
            if secret_ok != Some(true) {
                return Err(refuse_client());
            }
            (None, requested(scope)?)
        }
        Grant::RefreshToken { refresh_token } => {
            let hash = secret_hash(&refresh_token);
            let app_id = app.id;
            // The old token is replaced by the new one, in the same transaction as its issue.
            let old = db
                .run(move |conn| {
                    conn.write_transaction(|conn| {
                        let old = tokens::by_refresh_hash(conn, &hash)?
                            .filter(|t| t.app_id == Some(app_id));
                        if let Some(old) = &old {
                            tokens::delete(conn, old.id)?;
                        }
                        Ok(old)
                    })
                })
                .await?
                .ok_or_else(|| Error::oauth("invalid_grant", "the refresh token is invalid"))?;
            (old.user_id, Scopes::parse(&old.scopes)?)
        }
        Grant::Password {
            username,
            password,
            scope,
        } => {
            if !ctx.password_grant {
                return Err(Error::oauth(
                    "unsupported_grant_type",
                    "this server signs people in through its sign-in page only",
                ));
            }
            if secret_ok != Some(true) {
                return Err(refuse_client());
            }
            let scopes = requested(scope)?;
            let (actor, _) =
                super::sign_in::sign_in(db, &ctx.sign_in_limits, &username, password, address)
                    .await
                    .map_err(|e| match e {
                        Error::Unprocessable(m) => Error::oauth("invalid_grant", m),
                        other => other,
                    })?;
            (Some(actor.id), scopes)
        }
    };
    issue(db, Some(app.id), user_id, scopes, KIND_APP, None).await
}

/// Stores and returns a new token.
pub async fn issue(
    db: &Database,
    app_id: Option<i64>,
    user_id: Option<i64>,
    scopes: Scopes,
    kind: &'static str,
    lifetime: Option<TimeDelta>,
) -> Result<IssuedToken, Error> {
    let (row, issued) = new_token(app_id, user_id, scopes, kind, lifetime);
    db.run(move |conn| Ok(tokens::insert(conn, &row)?)).await?;
    Ok(issued)
}

/// A new token: the row to store (hashes only) and the token in clear, for a caller that
/// stores it in a transaction of its own (an account and its first token, together).
pub fn new_token(
    app_id: Option<i64>,
    user_id: Option<i64>,
    scopes: Scopes,
    kind: &'static str,
    lifetime: Option<TimeDelta>,
) -> (TokenRow, IssuedToken) {
    let access_token = new_secret();
    let refresh_token = new_secret();
    let created_at = Utc::now().naive_utc();
    let row = TokenRow {
        id: new_id(),
        user_id,
        token_sha256: secret_hash(&access_token),
        scopes: scopes.to_string(),
        created_at,
        last_used_at: None,
        app_id,
        refresh_sha256: Some(secret_hash(&refresh_token)),
        kind: kind.to_owned(),
        expires_at: lifetime.map(|l| created_at + l),
    };
    let issued = IssuedToken {
        access_token,
        refresh_token,
        scopes,
        created_at,
    };
    (row, issued)
}

/// The app holding an app token (a person's, or the app's own).
pub async fn app_of_token(db: &Database, token: &str) -> Result<AppRow, Error> {
    let hash = secret_hash(token);
    db.lookup(move |conn| {
        let now = Utc::now().naive_utc();
        let token = tokens::by_hash(conn, &hash, &[KIND_APP], now)?.ok_or(Error::Unauthorized)?;
        let app_id = token.app_id.ok_or(Error::Unauthorized)?;
        oauth::app_by_id(conn, app_id)?.ok_or(Error::Unauthorized)
    })
    .await
}

/// Revokes a token (RFC 7009): its app's own, found by the token or by its refresh token.
/// Unknown tokens are not an error, so that nothing can be learnt from the answer.
pub async fn revoke(db: &Database, client: ClientCredentials, token: String) -> Result<(), Error> {
    let client_id = client
        .client_id
        .ok_or_else(|| Error::oauth("invalid_client", "client_id is missing"))?;
    let hash = secret_hash(&token);
    let secret = client.client_secret.map(|s| secret_hash(&s));
    db.run(move |conn| {
        conn.write_transaction(|conn| {
            let app = oauth::app_by_client_id(conn, &client_id)?
                .filter(|a| secret.as_ref().is_none_or(|s| *s == a.client_secret_sha256))
                .ok_or_else(|| Error::oauth("invalid_client", "client authentication failed"))?;
            let now = Utc::now().naive_utc();
            let found = match tokens::by_hash(conn, &hash, &[KIND_APP], now)? {
                Some(t) => Some(t),
                None => tokens::by_refresh_hash(conn, &hash)?,
            };
            if let Some(t) = found.filter(|t| t.app_id == Some(app.id)) {
                tokens::delete(conn, t.id)?;
            }
            Ok(())
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_may_be_custom_schemes_but_never_script() {
        for ok in [
            "https://app.example/callback",
            "com.keylesspalace.tusky://oauth",
            "icecubesapp://",
            OOB,
            "http://localhost:4000/cb",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "/relative",
            "https://app.example/cb#fragment",
            "not a uri",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
