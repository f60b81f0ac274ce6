//! The log: one line per event, whatever another server put in the values it holds.
//!
//! Values that come from outside (an activity's `type`, an error quoting a document) are
//! logged with `?value`, whose `Debug` form escapes line breaks and quotes. As a second line of
//! defence, for values logged otherwise here or in a library, every field is written with its
//! control characters (line feed, carriage return, escape...) and bidi overrides escaped, so
//! that no value can end a log line and forge the next one.

use std::{borrow::Cow, fmt, io::IsTerminal};
use tracing_subscriber::{
    field::{MakeExt, RecordFields},
    fmt::{FormatFields, format::Writer},
};

/// Starts logging to stderr with `filter` (`tracing` filter syntax).
pub fn init(filter: tracing_subscriber::EnvFilter) {
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(EscapedFields)
        .with_writer(std::io::stderr)
        .init();
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
