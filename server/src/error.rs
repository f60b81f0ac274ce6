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
    /// The thing asked for was here and was deleted (a deleted account's URLs).
    #[error("{0}")]
    Gone(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Input is well-formed but not acceptable (a taken handle, a short password).
    #[error("{0}")]
    Unprocessable(String),
    /// Input refused field by field, as Mastodon reports a failed registration: 422 with
    /// `details` naming each field's errors (`ERR_TAKEN`, `ERR_TOO_SHORT`...).
    #[error("{0}")]
    Validation(FieldErrors),
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
    /// Another server's file could not be had (a remote image shown through this instance);
    /// the message says why and is shown to the client.
    #[error("{0}")]
    BadGateway(String),
    /// A backup, a restore or a copy between databases failed; the message says why, and
    /// that what it was writing was left out.
    #[error("{0}")]
    Operation(String),
    /// Anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status a client sees.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) | Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::OAuth { code, .. } if *code == "invalid_client" => StatusCode::UNAUTHORIZED,
            Self::OAuth { .. } => StatusCode::BAD_REQUEST,
            Self::Federation(e) => e.status(),
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::DatabaseConnect { .. } | Self::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Config(_)
            | Self::Database(_)
            | Self::Migration(_)
            | Self::Operation(_)
            | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
        if let Self::Validation(errors) = &self {
            let body =
                serde_json::json!({ "error": self.to_string(), "details": errors.details() });
            return (status, Json(body)).into_response();
        }
        let message = if status.is_server_error() && !matches!(self, Self::BadGateway(_)) {
            tracing::error!(error = ?self.to_string(), "request failed");
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

/// One refused field: its name, Mastodon's error code, and a description a person can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The parameter, as the request named it (`username`, `password`...).
    pub field: &'static str,
    /// Mastodon's code: `ERR_BLANK`, `ERR_INVALID`, `ERR_TAKEN`, `ERR_TOO_SHORT`,
    /// `ERR_TOO_LONG`, `ERR_ACCEPTED`, `ERR_INCLUSION`.
    pub code: &'static str,
    /// What is wrong, completing the field's name ("is too short (minimum is 10 characters)").
    pub description: String,
}

/// The refused fields of one request, in the order they were checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Adds an error for `field`.
    pub fn add(&mut self, field: &'static str, code: &'static str, description: impl Into<String>) {
        self.0.push(FieldError {
            field,
            code,
            description: description.into(),
        });
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The errors of one field.
    pub fn of(&self, field: &str) -> impl Iterator<Item = &FieldError> {
        self.0.iter().filter(move |e| e.field == field)
    }

    /// Mastodon's `details`: `{"username": [{"error": "ERR_TAKEN", "description": "..."}]}`.
    pub fn details(&self) -> serde_json::Value {
        let mut details = serde_json::Map::new();
        for e in &self.0 {
            let entry = details
                .entry(e.field)
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let serde_json::Value::Array(list) = entry {
                list.push(serde_json::json!({ "error": e.code, "description": e.description }));
            }
        }
        serde_json::Value::Object(details)
    }

    /// `Ok` if nothing was refused, else the errors as an [`Error::Validation`].
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self))
        }
    }
}

impl std::fmt::Display for FieldErrors {
    /// Mastodon's summary: "Validation failed: Username has already been taken, ...".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Validation failed: ")?;
        for (i, e) in self.0.iter().enumerate() {
            let mut name = e.field.replace('_', " ");
            if let Some(first) = name.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            let separator = if i == 0 { "" } else { ", " };
            write!(f, "{separator}{name} {}", e.description)?;
        }
        Ok(())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("blocking task: {e}"))
    }
}
