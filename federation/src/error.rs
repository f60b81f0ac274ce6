//! The one error type of the federation crate.

use crate::resolver::AddressRefused;
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
    /// The request body did not arrive in time (a slow-drip body).
    #[error("the request body did not arrive within {seconds} seconds")]
    Timeout {
        /// The time allowed, in seconds.
        seconds: u64,
    },
    /// The object or actor does not exist.
    #[error("not found")]
    NotFound,
    /// Another server could not be reached, or answered with an error (fetching media).
    #[error("{0}")]
    Unavailable(String),
    /// A key could not be generated or parsed.
    #[error("key error: {0}")]
    Key(String),
    /// The product side (storage, rules) failed.
    #[error("internal error: {0}")]
    Internal(String),
    /// An error reported by `activitypub_federation` (fetching, parsing, verifying). Its
    /// message never repeats what a fetched document contained: that may be someone else's
    /// private post, fetched with this instance's signature.
    #[error("{}", protocol_message(.0))]
    Protocol(#[from] activitypub_federation::error::Error),
}

/// The address-policy refusal behind a failed request, if that is why it failed.
pub(crate) fn refused_address<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a AddressRefused> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<AddressRefused>() {
            return Some(refused);
        }
        if let Some(refused) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<AddressRefused>())
        {
            return Some(refused);
        }
        cause = current.source();
    }
    None
}

/// The HTTP client's error behind a failed fetch, if that is what failed.
fn reqwest_error(err: &activitypub_federation::error::Error) -> Option<&reqwest::Error> {
    use activitypub_federation::error::Error as P;
    match err {
        P::Reqwest(e) | P::ReqwestMiddleware(reqwest_middleware::Error::Reqwest(e)) => Some(e),
        _ => None,
    }
}

/// Whether a fetch failed because the address policy refused where it led.
fn refused_by_policy(err: &activitypub_federation::error::Error) -> Option<&AddressRefused> {
    reqwest_error(err).and_then(|e| refused_address(e))
}

/// A message for a peer about a protocol error: what went wrong and with which URL, never the
/// content of a fetched document (the crate's own messages quote it).
fn protocol_message(err: &activitypub_federation::error::Error) -> String {
    use activitypub_federation::error::Error as P;
    match err {
        P::NotFound => "not found".into(),
        P::RequestLimit => "too many fetches for one request".into(),
        P::ResponseBodyLimit => "a fetched document is larger than 1 MiB".into(),
        P::ObjectDeleted(url) => format!("{url} was deleted"),
        P::UrlVerificationError(why) => format!("refused URL: {why}"),
        P::DomainResolveError(host) | P::ResolveInternalIpError(host, _) => {
            format!("refused host {host}: it resolves to an internal address")
        }
        P::ParseFetchedObject(_, url, _) => {
            format!("the document at {url} is not of the expected kind")
        }
        P::ParseReceivedActivity { .. } => "the activity could not be read".into(),
        P::FetchInvalidContentType(url) => {
            format!("the document at {url} is not served as ActivityPub JSON")
        }
        P::FetchWrongId(url) => format!("the document at {url} has another id than its URL"),
        P::WebfingerResolveFailed(_) => "WebFinger lookup failed".into(),
        P::Utf8(_) => "a fetched document is not UTF-8".into(),
        P::UrlParse(e) => format!("invalid URL: {e}"),
        P::ReqwestMiddleware(reqwest_middleware::Error::Middleware(e))
            if e.downcast_ref::<crate::policy::DomainRefused>().is_some() =>
        {
            e.to_string()
        }
        P::Reqwest(_) | P::ReqwestMiddleware(_) => {
            match (refused_by_policy(err), reqwest_error(err)) {
                (Some(refused), _) => format!(
                    "refused host {}: it resolves to an address outgoing requests may not reach",
                    refused.host
                ),
                (None, Some(e)) if e.is_timeout() => "fetching timed out".into(),
                _ => format!("fetching failed: {err}"),
            }
        }
        P::ActivityBodyDigestInvalid => "the digest does not match the body".into(),
        P::ActivitySignatureInvalid => "the signature does not verify".into(),
        _ => "federation error".into(),
    }
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
            Self::Unavailable(_) => StatusCode::BAD_GATEWAY,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::Key(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Protocol(err) if refused_by_policy(err).is_some() => StatusCode::FORBIDDEN,
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
                | P::Utf8(_)
                | P::UrlParse(_)
                | P::Reqwest(_)
                | P::ReqwestMiddleware(_)
                | P::WebfingerResolveFailed(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}
