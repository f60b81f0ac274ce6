//! Hashtags: read from the text of local posts and from the `Hashtag` tags of other servers'
//! posts, stored per post, and sent as `Hashtag` tags.

use super::{Urls, content};
use crate::{
    Error,
    db::{AnyConnection, tags},
};
use hearth_federation::protocol::post::{PostObject, Tag};

/// The page of a tag here (`/tags/name`), which the tag's links and `href`s point to.
pub fn tag_url(urls: &Urls, name: &str) -> url::Url {
    urls.path(&format!("/tags/{name}"))
}

/// Records the tags written in a local post's text (replacing those it had).
pub fn record_local(conn: &mut AnyConnection, post_id: i64, text: &str) -> Result<(), Error> {
    Ok(tags::set_for_post(
        conn,
        post_id,
        &content::hashtags_in(text),
    )?)
}

/// The tag names of another server's post: its `Hashtag` tags (`#name`), valid ones only,
/// each once, at most [`content::MAX_TAGS_PER_POST`].
pub fn names_of(post: &PostObject) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for tag in post.tag.iter().filter(|t| t.kind == "Hashtag") {
        let Some(name) = tag
            .name
            .as_deref()
            .map(|n| n.trim_start_matches('#'))
            .and_then(content::tag_name)
        else {
            continue;
        };
        if !names.contains(&name) && names.len() < content::MAX_TAGS_PER_POST {
            names.push(name);
        }
    }
    names
}

/// Records the tags of another server's post (replacing those it had); returns their names.
/// Nothing is written for a post without tags, which most are.
pub fn record_remote(
    conn: &mut AnyConnection,
    post_id: i64,
    post: &PostObject,
    update: bool,
) -> Result<Vec<String>, Error> {
    let names = names_of(post);
    if names.is_empty() && !update {
        return Ok(names);
    }
    tags::set_for_post(conn, post_id, &names)?;
    Ok(names)
}

/// The `Hashtag` tags a post with these tag names is sent with, alphabetically.
pub fn wire_tags_named(urls: &Urls, mut names: Vec<String>) -> Vec<Tag> {
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| Tag {
            kind: "Hashtag".into(),
            href: Some(tag_url(urls, &name)),
            name: Some(format!("#{name}")),
        })
        .collect()
}
