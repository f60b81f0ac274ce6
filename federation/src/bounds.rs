//! Remote input, normalised and bounded before the product sees it. Every post read from
//! another server (embedded in an activity, or fetched) passes [`post`], and every remote actor
//! [`actor_text`] and [`link`], so that what is stored, and served back to apps, is sane
//! whatever a peer sends:
//!
//! - links (`url`, `inReplyTo`, `audience`, addressees, tags, attachments, avatars) are kept
//!   only when they are `http` or `https` and at most [`MAX_LINK_BYTES`] long (`javascript:`,
//!   `data:`, `about:`, `ws:`... are dropped; the public addressee keeps its short forms); a
//!   post whose own id or author is not an http(s) URL is refused;
//! - dates before 1970 (year 0, year -1) or ahead of the time of receipt (year 2262) become the
//!   time of receipt, as Mastodon takes a `published` outside years 0 to 9999 for none and then
//!   uses the time of receipt; a date that cannot be read at all counts as absent;
//! - text loses NUL and other control characters (tab and line feed stay) and the bidi
//!   embedding, override and isolate characters (U+202A to U+202E, U+2066 to U+2069), which
//!   would let a name or a warning display as something else;
//! - text is cut at a bound (with an ellipsis): titles and content warnings at
//!   [`MAX_TITLE_CHARS`] (Mastodon's hard limit for federated names), content at
//!   [`MAX_CONTENT_CHARS`] (twenty times a local post: room for a long article, not for a
//!   megabyte), image descriptions at [`MAX_DESCRIPTION_CHARS`] (Mastodon's), an actor's bio
//!   at [`MAX_BIO_CHARS`] (Mastodon's 20 KB hard limit);
//! - a post with neither content, title nor attachment is refused: there is nothing to show.

use crate::{
    FederationError,
    protocol::post::{PostObject, is_public},
};
use chrono::{DateTime, Utc};
use url::Url;

/// Longest remote post content kept, in characters (before sanitising; local posts are
/// limited to 5,000).
pub const MAX_CONTENT_CHARS: usize = 100_000;

/// Longest remote title or content warning kept, in characters (Mastodon's
/// `DISPLAY_NAME_LENGTH_HARD_LIMIT` for federated names).
pub const MAX_TITLE_CHARS: usize = 2_048;

/// Longest remote image description kept, in characters (Mastodon's
/// `MediaAttachment::MAX_DESCRIPTION_LENGTH`).
pub const MAX_DESCRIPTION_CHARS: usize = 1_500;

/// Longest remote actor biography kept, in characters (Mastodon's `NOTE_LENGTH_HARD_LIMIT`).
pub const MAX_BIO_CHARS: usize = 20 * 1024;

/// Longest tag name (`#tag`, `@name@host`) kept, in characters.
pub const MAX_TAG_NAME_CHARS: usize = 256;

/// Most profile fields kept of a remote actor (Mastodon allows 4 of its own, others more).
pub const MAX_PROFILE_FIELDS: usize = 16;

/// Longest `contentMap` key read as a language tag (BCP 47 tags are short).
pub const MAX_LANGUAGE_TAG_CHARS: usize = 35;

/// Longest link kept, in bytes.
pub const MAX_LINK_BYTES: usize = 2_048;

/// The earliest date a remote post may carry: the Unix epoch. Nothing on the Fediverse is
/// older, and some apps cannot show dates before it.
pub const EARLIEST: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// A remote post as Hearth stores it: every field bounded and normalised as the module says,
/// or refused when it has nothing to show or no usable id. `now` is the time of receipt.
pub fn post(mut post: PostObject, now: DateTime<Utc>) -> Result<PostObject, FederationError> {
    if !is_web(&post.id) || !is_web(&post.attributed_to) {
        return Err(FederationError::Malformed(
            "a post's id and author must be http(s) URLs".into(),
        ));
    }
    post.content = post.content.map(|c| text(&c, MAX_CONTENT_CHARS));
    post.name = non_empty(post.name.map(|n| text(&n, MAX_TITLE_CHARS)));
    post.summary = non_empty(post.summary.map(|s| text(&s, MAX_TITLE_CHARS)));
    post.url = post.url.and_then(link);
    post.in_reply_to = post.in_reply_to.and_then(link);
    post.audience = post.audience.and_then(link);
    post.copy_of = post.copy_of.and_then(link);
    post.to.retain(addressee);
    post.cc.retain(addressee);
    for tag in &mut post.tag {
        tag.href = tag.href.take().and_then(link);
        tag.name = non_empty(tag.name.take().map(|n| text(&n, MAX_TAG_NAME_CHARS)));
    }
    post.attachment.retain_mut(|a| {
        a.url = a.url.take().and_then(link);
        a.name = non_empty(a.name.take().map(|n| text(&n, MAX_DESCRIPTION_CHARS)));
        a.url.is_some()
    });
    // Only the language is read: one entry, its text no longer than the content's bound.
    post.content_map = std::mem::take(&mut post.content_map)
        .into_iter()
        .filter(|(k, _)| k.len() <= MAX_LANGUAGE_TAG_CHARS)
        .take(1)
        .map(|(k, v)| {
            let v = v
                .as_str()
                .map(|v| text(v, MAX_CONTENT_CHARS))
                .unwrap_or_default();
            (k, serde_json::Value::String(v))
        })
        .collect();
    post.published = Some(date(post.published, now));
    post.updated = post.updated.map(|u| date(Some(u), now));
    let has_content = post.content.as_deref().is_some_and(has_text);
    if !has_content && post.name.is_none() && post.attachment.is_empty() {
        return Err(FederationError::Malformed(
            "the post has no content, title or attachment".into(),
        ));
    }
    Ok(post)
}

/// A remote actor's display name or biography, cleaned and cut at its bound (`bio` for the
/// biography); empty as none.
pub fn actor_text(value: Option<String>, bio: bool) -> Option<String> {
    let limit = if bio { MAX_BIO_CHARS } else { MAX_TITLE_CHARS };
    non_empty(value.map(|v| text(&v, limit)))
}

/// `url` if it is an http(s) link of sane length.
pub fn link(url: Url) -> Option<Url> {
    (is_web(&url) && url.as_str().len() <= MAX_LINK_BYTES).then_some(url)
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// An addressee worth keeping: a link, or the public collection in any of its spellings.
fn addressee(url: &Url) -> bool {
    is_public(url) || link(url.clone()).is_some()
}

/// A date no earlier than [`EARLIEST`] and no later than `now`; `now` for anything outside
/// that, or for none.
pub fn date(value: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    value.filter(|d| *d >= EARLIEST && *d <= now).unwrap_or(now)
}

/// Whether a character is dropped from remote text: control characters but tab and line feed,
/// and the bidi embeddings, overrides and isolates.
fn is_dropped(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `value` without dropped characters, cut to at most `limit` characters (the last one an
/// ellipsis when cut).
pub fn text(value: &str, limit: usize) -> String {
    let mut kept = value.chars().filter(|c| !is_dropped(*c));
    let mut out: String = kept.by_ref().take(limit).collect();
    if kept.next().is_some() {
        out.pop();
        out.push('…');
    }
    out
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Whether HTML shows any text: anything but white space outside tags.
fn has_text(html: &str) -> bool {
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag && !c.is_whitespace() => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .map(|d| d.to_utc())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn note(extra: serde_json::Value) -> PostObject {
        let mut value = json!({
            "id": "https://peer.example/notes/1",
            "type": "Note",
            "attributedTo": "https://peer.example/users/gina",
            "content": "<p>hello</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        });
        if let (Some(value), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                value.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    fn bounded(extra: serde_json::Value) -> PostObject {
        post(note(extra), now()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_one_short_language_of_the_content_map_is_kept() {
        let p = bounded(json!({
            "contentMap": { "de": "<p>hallo</p>", "en": "<p>hello</p>", ("x".repeat(40)): "" },
        }));
        assert_eq!(p.language(), Some("de"));
        assert_eq!(p.content_map.len(), 1);
        let odd = bounded(json!({ "contentMap": { ("x".repeat(40)): "<p>hello</p>" } }));
        assert_eq!(odd.language(), None);
    }

    #[test]
    fn links_other_than_http_are_dropped() {
        for scheme in [
            "javascript:alert(1)",
            "data:text/html,x",
            "about:blank",
            "ws://peer.example/x",
        ] {
            let p = bounded(json!({
                "url": scheme, "inReplyTo": scheme, "audience": scheme,
                "cc": [scheme, "as:Public", "https://peer.example/users/gina/followers"],
                "tag": [{ "type": "Mention", "href": scheme, "name": "@x" }],
                "attachment": [{ "type": "Document", "url": scheme }],
            }));
            assert_eq!(
                (p.url, p.in_reply_to, p.audience),
                (None, None, None),
                "{scheme}"
            );
            assert_eq!(p.cc.len(), 2, "{scheme}: {:?}", p.cc);
            assert!(is_public(&p.cc[0]), "the public addressee stays");
            assert_eq!(
                p.cc[1].as_str(),
                "https://peer.example/users/gina/followers"
            );
            assert_eq!(p.tag[0].href, None);
            assert!(p.attachment.is_empty(), "{scheme}");
        }
        let kept = bounded(json!({ "url": "https://peer.example/@gina/1" }));
        assert_eq!(
            kept.url.map(String::from).as_deref(),
            Some("https://peer.example/@gina/1")
        );
        let long = format!("https://peer.example/{}", "a".repeat(MAX_LINK_BYTES));
        assert_eq!(bounded(json!({ "url": long })).url, None);
    }

    #[test]
    fn impossible_dates_become_the_time_of_receipt() {
        for published in [
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2262-04-11T23:47:16Z",
            "2026-12-01T12:00:01Z",
        ] {
            let p = bounded(json!({ "published": published, "updated": published }));
            assert_eq!(p.published, Some(now()), "{published}");
            assert_eq!(p.updated, Some(now()), "{published}");
        }
        let p = bounded(json!({ "published": "2026-11-30T09:30:00Z" }));
        assert_eq!(
            p.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-30T09:30:00+00:00")
        );
        assert_eq!(
            bounded(json!({})).published,
            Some(now()),
            "no date: the time of receipt"
        );
    }

    #[test]
    fn control_and_bidi_characters_are_stripped_and_text_is_capped() {
        let p = bounded(json!({
            "content": "<p>a\u{0}b\u{202E}c\u{2066}d\u{7}e\r\nf\tg</p>",
            "name": "\u{202E}gnp.exe",
            "summary": "x".repeat(MAX_TITLE_CHARS + 10),
        }));
        assert_eq!(p.content.as_deref(), Some("<p>abcde\nf\tg</p>"));
        assert_eq!(p.name.as_deref(), Some("gnp.exe"));
        let summary = p.summary.unwrap_or_default();
        assert_eq!(summary.chars().count(), MAX_TITLE_CHARS);
        assert!(summary.ends_with('…'));
        let huge = bounded(json!({ "content": "é".repeat(1_000_000) }));
        assert_eq!(
            huge.content.map(|c| c.chars().count()),
            Some(MAX_CONTENT_CHARS)
        );
        assert_eq!(text("exactly", 7), "exactly", "at the bound nothing is cut");
    }

    #[test]
    fn a_post_with_nothing_to_show_is_refused() {
        for empty in [
            json!({ "content": null }),
            json!({ "content": "<p> \n</p>" }),
            json!({ "content": "\u{0}\u{202E}", "name": " ", "summary": "cw only" }),
        ] {
            assert!(post(note(empty.clone()), now()).is_err(), "{empty}");
        }
        assert!(post(note(json!({ "content": null, "name": "A title" })), now()).is_ok());
        let image = json!({ "content": "", "attachment": [{ "type": "Document", "mediaType": "image/png", "url": "https://peer.example/a.png" }] });
        assert!(post(note(image), now()).is_ok());
        let bad_id = note(json!({ "id": "javascript:alert(1)" }));
        assert!(post(bad_id, now()).is_err());
    }
}
