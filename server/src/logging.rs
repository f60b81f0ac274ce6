//! The log: one line per event, whatever another server put in the values it holds.
//!
//! Values that come from outside (an activity's `type`, an error quoting a document) are
//! logged with `?value`, whose `Debug` form escapes line breaks and quotes. As a second line of
//! defence, for values logged otherwise here or in a library, every field is written with its
//! control characters (line feed, carriage return, escape...) and bidi overrides escaped, so
//! that no value can end a log line and forge the next one. In JSON (`HEARTH_LOG_FORMAT=json`)
//! every value is a JSON string, escaped by the format itself.
//!
//! Each HTTP request is handled inside a `request` span carrying its request id (the
//! `x-request-id` header, echoed in the response), its method and its route (the pattern, such
//! as `/users/{name}/inbox`, never the path itself), so that every line logged while handling
//! it names it. Headers, query strings and bodies are never logged: they hold tokens, post
//! text and addresses.

use crate::config::LogFormat;
use axum::extract::MatchedPath;
use http::{HeaderValue, Request, header::HeaderName};
use std::{borrow::Cow, fmt, io::IsTerminal};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing_subscriber::{
    field::{MakeExt, RecordFields},
    fmt::{FormatFields, format::Writer},
};

/// Starts logging to stderr with `filter` (`tracing` filter syntax), as text or JSON.
pub fn init(filter: tracing_subscriber::EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .fmt_fields(EscapedFields)
            .init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The request id header, `x-request-id`.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client or proxy; a longer one is replaced.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Whether a request id sent by a client or a proxy may be kept: short, and made of letters,
/// digits and `-_.:` only (it is written into every log line of its request).
pub fn fit_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Removes an incoming request id unfit to keep, so that a new one is made in its place.
pub fn drop_unfit_request_id<B>(mut request: Request<B>) -> Request<B> {
    if request
        .headers()
        .get_all(&REQUEST_ID)
        .iter()
        .enumerate()
        .any(|(n, value)| n > 0 || !fit_request_id(value))
    {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Makes request ids: random (version 4) UUIDs, from the thread's generator (no system call).
#[derive(Clone, Copy, Debug, Default)]
pub struct MakeRequestUuid;

impl MakeRequestId for MakeRequestUuid {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let bits = rand::random::<u128>();
        let (a, b, c, d, e) = (
            (bits >> 96) as u32,
            (bits >> 80) as u16,
            (bits >> 64) as u16 & 0x0fff | 0x4000,
            (bits >> 48) as u16 & 0x3fff | 0x8000,
            bits as u64 & 0xffff_ffff_ffff,
        );
        let id = format!("{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}");
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The span a request is handled in: its id, method and route (see the module's comment).
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %crate::monitoring::method_label(request.method()),
        route = %route
    )
}

/// Writes an event's fields as the default format does (the message, then `name=value`
/// pairs separated by spaces), each with [`escape`] applied.
#[derive(Debug, Default)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let format = tracing_subscriber::fmt::format::debug_fn(
            |writer: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn fmt::Debug| {
                let text = format!("{value:?}");
                match field.name() {
                    "message" => write!(writer, "{}", escape(&text)),
                    name => write!(writer, "{name}={}", escape(&text)),
                }
            },
        )
        .delimited(" ");
        format.format_fields(writer, fields)
    }
}

/// `text` with control characters and bidi embeddings, overrides and isolates written as
/// escapes (`\n`, `\r`, `\t`, `\u{1b}`, `\u{202e}`...); anything else as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    let needs =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Everything logged while `log` runs, with the format `init` sets up.
    fn logged(log: impl FnOnce()) -> String {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .fmt_fields(EscapedFields)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let bytes = buffer.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_value_cannot_forge_a_log_line() {
        let kind =
            "Like\n2026-12-01T00:00:00Z ERROR hearth: the database is gone\r\u{1b}[2J\u{202E}";
        let out = logged(|| {
            tracing::info!(kind = ?kind, "escaped by Debug");
            tracing::info!(%kind, "written raw by Display");
            tracing::info!("in the message: {kind}");
        });
        assert_eq!(out.lines().count(), 3, "one line per event: {out}");
        assert!(
            out.lines().all(|l| l.contains(" INFO ")),
            "no forged line: {out}"
        );
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202E}'),
            "{out}"
        );
        assert!(out.contains(r"kind=Like\n2026"), "{out}");
        assert!(out.contains(r#"kind="Like\n2026"#), "{out}");
    }

    #[test]
    fn a_request_s_lines_name_its_id_and_route_not_its_path() {
        let request = Request::builder()
            .method("POST")
            .uri("/users/ana/inbox?access_token=secret")
            .header(&REQUEST_ID, "req-42")
            .body(())
            .unwrap_or_else(|e| panic!("{e}"));
        let out = logged(|| {
            let span = request_span(&request);
            let _entered = span.enter();
            tracing::info!("inside");
        });
        assert!(
            out.contains("request{request_id=req-42 method=POST route=unmatched}: "),
            "{out}"
        );
        assert!(!out.contains("ana") && !out.contains("secret"), "{out}");
    }

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        let fit =
            |s: &str| fit_request_id(&HeaderValue::from_str(s).unwrap_or_else(|e| panic!("{e}")));
        assert!(fit("5b1c2f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"));
        assert!(fit("req_01:abc.DEF"));
        assert!(!fit(""));
        assert!(!fit("has space"));
        assert!(!fit("ana@clinic.example"));
        assert!(!fit(&"a".repeat(MAX_REQUEST_ID_LEN + 1)));
        let made = MakeRequestUuid
            .make_request_id(&Request::new(()))
            .map(|id| id.into_header_value());
        let made = made
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(made.len(), 36, "{made}");
        assert_eq!(made.as_bytes()[14], b'4', "version 4: {made}");
        assert!(fit(made));
    }

    #[test]
    fn ordinary_values_are_written_as_they_are() {
        let out = logged(|| tracing::info!(host = %"clinic.example", count = 3, "delivered"));
        assert!(
            out.trim_end()
                .ends_with("delivered host=clinic.example count=3"),
            "{out}"
        );
        assert_eq!(escape("a \"quoted\" é"), "a \"quoted\" é");
    }
}
