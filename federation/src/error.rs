//! The one error type of the federation crate.

use http::StatusCode;

/// Everything that can go wrong while federating. Each variant maps to an HTTP status for
/// inbox replies; the message is safe to show to a peer (it never holds patient text).
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The request carries no usable HTTP signature, or it does not verify.
    #[error("signature: {0}")]
    Unauthorized(&'static str),
    /// The `Digest` header is missing or does not match the body.
    #[error("the Digest header is missing or does not match the body")]
    DigestMismatch,
    /// The body is larger than the inbox accepts.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not an activity we can read.
    #[error("malformed activity: {0}")]
    Malformed(String),
    /// A URL or host was refused by policy (scheme, private address, blocked domain).
    #[error("refused: {0}")]
    Refused(String),
    /// Too many requests from one server named actors whose keys had to be fetched.
    #[error("too many unknown signers from this server; try again later")]
    TooManyRequests,
    /// The object or actor does not exist.
    #[error("not found")]
    NotFound,
    /// A key could not be generated or parsed.
    #[error("key error: {0}")]
    Key(String),
    /// The product side (storage, rules) failed.
    #[error("internal error: {0}")]
    Internal(String),
    /// An error reported by `activitypub_federation` (fetching, parsing, verifying).
    #[error(transparent)]
    Protocol(#[from] activitypub_federation::error::Error),
}

impl FederationError {
    /// The HTTP status an inbox answers with for this error.
    pub fn status(&self) -> StatusCode {
        use activitypub_federation::error::Error as P;
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::DigestMismatch => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Refused(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Key(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Protocol(err) => match err {
                P::ActivitySignatureInvalid => StatusCode::UNAUTHORIZED,
                P::ActivityBodyDigestInvalid => StatusCode::BAD_REQUEST,
                P::ParseReceivedActivity { .. } => StatusCode::BAD_REQUEST,
                P::UrlVerificationError(_) => StatusCode::BAD_REQUEST,
                P::DomainResolveError(_) | P::ResolveInternalIpError(..) => StatusCode::FORBIDDEN,
                // The signer could not be fetched, so the signature cannot be checked.
                P::NotFound
                | P::ObjectDeleted(_)
                | P::RequestLimit
                | P::ResponseBodyLimit
                | P::FetchInvalidContentType(_)
                | P::FetchWrongId(_)
                | P::ParseFetchedObject(..)
                | P::Reqwest(_)
                | P::ReqwestMiddleware(_)
                | P::WebfingerResolveFailed(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}
