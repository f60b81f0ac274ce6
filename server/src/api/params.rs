//! Request parameters as Mastodon apps send them: JSON, urlencoded or multipart bodies and
//! query strings, with Rails-style brackets (`media_ids[]=1`, `poll[options][]=a`,
//! `fields_attributes[0][name]=x`) and Rails-style booleans (`True`, `0`, `on`).
//!
//! Every encoding becomes one JSON value first (brackets parsed by `serde_qs`), so a handler's
//! parameter struct is written once; its non-string fields take the lenient deserializers below.

use crate::Error;
use axum::{
    extract::{FromRequest, FromRequestParts, Multipart, Request},
    http::{header, request::Parts},
};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;

/// How deeply brackets may nest (`a[b][c][d][e]`): more than any Mastodon parameter needs.
const MAX_DEPTH: usize = 5;

/// A request body in any of the three encodings apps use. File parts of a multipart body are
/// refused here; uploads have their own extractor.
#[derive(Debug)]
pub struct ApiForm<T>(pub T);

impl<T, S> FromRequest<S> for ApiForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        let value = body_value(request, state).await?;
        from_value(value).map(Self)
    }
}

/// A body like [`ApiForm`]'s whose multipart form may also carry files (the avatar and
/// header of `update_credentials`): they are kept apart, with their field names. (The
/// route's body limit bounds their size.)
#[derive(Debug)]
pub struct ApiFormWithFiles<T> {
    /// The other fields.
    pub form: T,
    /// The file parts: field name and content.
    pub files: Vec<(String, Vec<u8>)>,
}

impl<T, S> FromRequest<S> for ApiFormWithFiles<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        let (value, files) = body_value_and_files(request, state, true).await?;
        Ok(Self {
            form: from_value(value)?,
            files,
        })
    }
}

/// A query string, with the same bracket and boolean rules as bodies (`types[]=mention`,
/// `exclude_replies=1`).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        from_value(form_value(query)?).map(Self)
    }
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::Unprocessable(format!("Validation failed: {e}")))
}

/// The parameters of a urlencoded string as one JSON object.
pub fn form_value(encoded: &str) -> Result<Value, Error> {
    if encoded.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_qs::Config::new()
        .max_depth(MAX_DEPTH)
        .use_form_encoding(true)
        .deserialize_str(encoded)
        .map_err(|e| Error::BadRequest(format!("malformed parameters: {e}")))
}

async fn body_value<S: Send + Sync>(request: Request, state: &S) -> Result<Value, Error> {
    Ok(body_value_and_files(request, state, false).await?.0)
}

/// The body's fields as one JSON object, and its file parts if `files` allows them (a file
/// part is refused otherwise).
async fn body_value_and_files<S: Send + Sync>(
    request: Request,
    state: &S,
    files: bool,
) -> Result<(Value, Vec<(String, Vec<u8>)>), Error> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?;
        let mut pairs = Vec::new();
        let mut file_parts = Vec::new();
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Error::BadRequest(e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_owned();
            if field.file_name().is_some() {
                if !files {
                    return Err(Error::Unprocessable(format!(
                        "Validation failed: {name} cannot be a file here"
                    )));
                }
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                        Error::Unprocessable(format!("Validation failed: {name} is too large"))
                    } else {
                        Error::BadRequest(e.body_text())
                    }
                })?;
                file_parts.push((name, bytes.to_vec()));
                continue;
            }
            let text = field
                .text()
                .await
                .map_err(|e| Error::BadRequest(e.body_text()))?;
            pairs.push((name, text));
        }
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        return Ok((form_value(&encoded)?, file_parts));
    }
    let bytes = axum::body::Bytes::from_request(request, state)
        .await
        .map_err(|e| Error::BadRequest(e.body_text()))?;
    if content_type.starts_with("application/json") {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok((Value::Object(Default::default()), Vec::new()));
        }
        return serde_json::from_slice(&bytes)
            .map(|value| (value, Vec::new()))
            .map_err(|e| Error::BadRequest(format!("malformed JSON: {e}")));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::BadRequest("the body is not UTF-8".into()))?;
    Ok((form_value(text)?, Vec::new()))
}

/// Rails' reading of a boolean parameter, case-insensitive: `true`, `t`, `1`, `on`, `yes`
/// and their opposites; an empty string is "not given". Anything else is refused rather than
/// guessed.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(D::Error::custom(format!("{n} is not a boolean"))),
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "t" | "1" | "on" | "yes" | "y" => Ok(Some(true)),
            "false" | "f" | "0" | "off" | "no" | "n" => Ok(Some(false)),
            other => Err(D::Error::custom(format!("{other:?} is not a boolean"))),
        },
        other => Err(D::Error::custom(format!("{other} is not a boolean"))),
    }
}

/// A whole number given as a number or as a string (`limit=20`); empty means "not given".
pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error as _;
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{s:?} is not a whole number"))),
        other => Err(D::Error::custom(format!("{other} is not a whole number"))),
    }
}

/// A list given as an array (`id[]=1&id[]=2`, JSON `[..]`), as an object keyed by index
/// (`fields_attributes[0][name]`), or as one value (`id=1`). Numbers become strings, since
/// Mastodon ids are strings.
pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    use serde::de::Error as _;
    let items = match Value::deserialize(d)? {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(map) if map.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut entries: Vec<(usize, Value)> = map
                .into_iter()
                .filter_map(|(k, v)| k.parse().ok().map(|k| (k, v)))
                .collect();
            entries.sort_by_key(|(k, _)| *k);
            entries.into_iter().map(|(_, v)| v).collect()
        }
        one => vec![one],
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Number(n) => Value::String(n.to_string()),
            other => other,
        })
        .map(|item| serde_json::from_value(item).map_err(D::Error::custom))
        .collect()
}

/// [`list`] for a list that may be left out altogether (`None`), as in a partial update.
pub fn some_list<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    list(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Status {
        status: Option<String>,
        #[serde(default, deserialize_with = "flag")]
        sensitive: Option<bool>,
        #[serde(default, deserialize_with = "list")]
        media_ids: Vec<String>,
        #[serde(default, deserialize_with = "number")]
        limit: Option<i64>,
    }

    fn parse(encoded: &str) -> Result<Status, Error> {
        from_value(form_value(encoded)?)
    }

    #[test]
    fn rails_booleans_are_read_as_rails_reads_them() {
        for (raw, expected) in [
            ("True", Some(true)),
            ("true", Some(true)),
            ("1", Some(true)),
            ("on", Some(true)),
            ("False", Some(false)),
            ("0", Some(false)),
            ("off", Some(false)),
            ("", None),
        ] {
            let status = parse(&format!("sensitive={raw}")).map(|s| s.sensitive);
            assert_eq!(status.ok(), Some(expected), "sensitive={raw}");
        }
        assert!(
            parse("sensitive=maybe").is_err(),
            "a non-boolean is refused"
        );
        let json: Status =
            from_value(serde_json::json!({"sensitive": false})).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json.sensitive, Some(false));
    }

    #[test]
    fn bracketed_arrays_and_single_values_become_lists() {
        let status = parse("status=hi&media_ids%5B%5D=1&media_ids%5B%5D=2&limit=5")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status.status.as_deref(), Some("hi"));
        assert_eq!(status.media_ids, ["1", "2"]);
        assert_eq!(status.limit, Some(5));
        let one = parse("media_ids=7").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(one.media_ids, ["7"]);
        let json: Status = from_value(serde_json::json!({"media_ids": [3, "4"]}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(json.media_ids, ["3", "4"]);
    }

    #[test]
    fn indexed_objects_become_lists_in_index_order() {
        #[derive(Debug, Deserialize)]
        struct Field {
            name: String,
        }
        #[derive(Debug, Deserialize)]
        struct Profile {
            #[serde(default, deserialize_with = "list")]
            fields_attributes: Vec<Field>,
        }
        let value =
            form_value("fields_attributes[1][name]=second&fields_attributes[0][name]=first")
                .unwrap_or_else(|e| panic!("{e}"));
        let profile: Profile = from_value(value).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<_> = profile.fields_attributes.iter().map(|f| &f.name).collect();
        assert_eq!(names, ["first", "second"]);
    }

    #[test]
    fn nesting_stops_at_the_limit() {
        fn depth(value: &Value) -> usize {
            match value {
                Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
                Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
                _ => 0,
            }
        }
        let deep = format!("a{}=1", "[b]".repeat(10_000));
        let value = form_value(&deep).unwrap_or_else(|e| panic!("{e}"));
        // The name, MAX_DEPTH brackets, then the rest kept as one key.
        assert!(depth(&value) <= MAX_DEPTH + 2, "{value}");
    }
}
