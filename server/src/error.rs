//! The one error type of the server crate: a safe message for clients, the cause for the log.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use hearth_federation::FederationError;
use http::StatusCode;

/// Everything that can go wrong in the product.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist (or must look as if it did not).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Input is well-formed but not acceptable (a taken handle, a short password).
    #[error("{0}")]
    Unprocessable(String),
    /// No valid credentials.
    #[error("The access token is invalid")]
    Unauthorized,
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again later.
    #[error("{0}")]
    TooManyRequests(String),
    /// An OAuth request refused with one of RFC 6749's error codes (`invalid_grant`...).
    #[error("{code}: {description}")]
    OAuth {
        /// The RFC 6749 error code.
        code: &'static str,
        /// What was wrong, for the app's developer.
        description: String,
    },
    /// The settings are wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be reached; the cause names why (refused, bad password...).
    #[error("cannot connect to the database {target}: {cause}")]
    DatabaseConnect {
        /// The database, without credentials.
        target: String,
        /// What the driver reported.
        cause: String,
    },
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No pooled connection became free in time.
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(String),
    /// A federation step failed.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// Anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status a client sees.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::OAuth { code, .. } if *code == "invalid_client" => StatusCode::UNAUTHORIZED,
            Self::OAuth { .. } => StatusCode::BAD_REQUEST,
            Self::Federation(e) => e.status(),
            Self::DatabaseConnect { .. } | Self::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Config(_) | Self::Database(_) | Self::Migration(_) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// An OAuth error with its RFC 6749 code.
    pub fn oauth(code: &'static str, description: impl Into<String>) -> Self {
        Self::OAuth {
            code,
            description: description.into(),
        }
    }

    /// Shorthand for a 404 with a message.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }
}

impl IntoResponse for Error {
    /// A Mastodon-style `{"error": "..."}` body. Server faults are logged with their cause and
    /// shown to the client only as a generic message.
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::OAuth { code, description } = &self {
            let body = serde_json::json!({ "error": code, "error_description": description });
            return (status, Json(body)).into_response();
        }
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            status
                .canonical_reason()
                .unwrap_or("Internal error")
                .to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            // The sign-in limits give one attempt back every 30 s at the slowest.
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("30"),
            );
        }
        response
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("blocking task: {e}"))
    }
}
