//! Search beyond accounts: posts by their text (only what the searcher may see), and a post
//! of another server by its URL, fetched (signed) and kept when it is public.

use super::{Context, content, inbox, posts::can_view};
use crate::{
    Error,
    db::{
        actors,
        posts::{self, PostRow},
        search::{self, TextQuery},
    },
};
use activitypub_federation::config::Data;
use hearth_federation::{
    FederationData,
    activities::fetch_post,
    protocol::{authority, canonical, post::is_public},
};
use url::Url;

/// Posts read from the database per batch of a text search.
const BATCH: i64 = 200;
/// Batches read at most per search: a search of a rare word ends after this many posts.
const MAX_BATCHES: usize = 10;

/// A text search of posts.
#[derive(Clone, Debug)]
pub struct StatusSearch {
    /// What to find, as typed.
    pub text: String,
    /// The person searching (anonymous people do not search posts, as on Mastodon).
    pub viewer: i64,
    /// Only posts by this account.
    pub author: Option<i64>,
    /// Skip this many matches.
    pub offset: i64,
    /// Return at most this many.
    pub limit: i64,
    /// Only posts older than this id.
    pub max_id: Option<i64>,
    /// Only posts newer than this id.
    pub min_id: Option<i64>,
}

/// The longest word of `text` without characters that stored HTML may spell as entities: what
/// the database looks for before each candidate's text is compared in full.
fn prefilter(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || matches!(c, '&' | '<' | '>' | '"' | '\''))
        .max_by_key(|w| w.chars().count())
        .unwrap_or_default()
        .to_owned()
}

/// Posts whose text contains the search's text (case-insensitively), which the viewer may
/// see, newest first; none of servers the federation policy refuses, none of silenced ones
/// but by accounts the viewer follows.
pub async fn statuses(ctx: &Context, search: StatusSearch) -> Result<Vec<PostRow>, Error> {
    let wanted = search.text.trim().to_lowercase();
    if wanted.is_empty() || search.limit <= 0 {
        return Ok(Vec::new());
    }
    let policy = ctx.policy.current();
    ctx.db
        .run(move |conn| {
            let mut query = TextQuery {
                text: prefilter(&wanted),
                viewer: search.viewer,
                author: search.author,
                max_id: search.max_id,
                min_id: search.min_id,
            };
            let (mut skipped, mut found) = (0, Vec::new());
            for _ in 0..MAX_BATCHES {
                let batch = search::posts_containing(conn, &query, BATCH)?;
                let exhausted = (batch.len() as i64) < BATCH;
                query.max_id = batch.last().map(|p| p.id);
                for post in batch {
                    let text = content::html_to_text(&post.content).to_lowercase();
                    let title = post.name.as_deref().unwrap_or_default().to_lowercase();
                    if !(text.contains(&wanted) || title.contains(&wanted))
                        || !can_view(conn, &post, Some(search.viewer))?
                    {
                        continue;
                    }
                    let author = actors::by_id(conn, post.author_id)?;
                    if let Some(author) = author
                        && super::policy::kept_from_discovery(
                            conn,
                            &policy,
                            &author,
                            search.viewer,
                        )?
                    {
                        continue;
                    }
                    if skipped < search.offset {
                        skipped += 1;
                        continue;
                    }
                    found.push(post);
                    if found.len() as i64 >= search.limit {
                        return Ok(found);
                    }
                }
                if exhausted {
                    break;
                }
            }
            Ok(found)
        })
        .await
}

/// The account `name@domain`: known here, or, on another server and with `resolve`, found by
/// WebFinger and fetched (and then kept). `None` when there is none, or its server cannot be
/// reached (the reason is logged).
pub async fn resolve_account(
    ctx: &Context,
    data: &Data<FederationData>,
    name: &str,
    domain: &str,
    resolve: bool,
) -> Result<Option<actors::ActorRow>, Error> {
    let (n, d, here) = (
        name.to_owned(),
        domain.to_ascii_lowercase(),
        ctx.urls.domain().to_owned(),
    );
    let local = d == here;
    let known = ctx
        .db
        .run(move |conn| Ok(actors::by_acct(conn, &n, &d, &here)?))
        .await?;
    if known.is_some() || !resolve || local {
        return Ok(known);
    }
    let found = activitypub_federation::fetch::webfinger::webfinger_resolve_actor::<
        FederationData,
        hearth_federation::objects::actor::FederatedActor,
    >(&format!("{name}@{domain}"), data)
    .await;
    let ap_id = match found {
        Ok(actor) => actor.ap_id.to_string(),
        Err(e) => {
            tracing::info!(error = ?e.to_string(), "could not resolve an account");
            return Ok(None);
        }
    };
    ctx.db
        .run(move |conn| Ok(actors::by_ap_id(conn, &ap_id)?))
        .await
}

/// The post at `url` for a search with `resolve`: known here, or fetched (signed by the
/// instance actor) from its server and kept, if it is addressed to everyone. Posts that are
/// not public, and posts of groups hosted here (which arrive through the group), are not
/// kept; nothing is stored for them.
pub async fn resolve_post(
    ctx: &Context,
    data: &Data<FederationData>,
    url: Url,
) -> Result<Option<PostRow>, Error> {
    let url = canonical(url);
    if let Some(known) = known_post(ctx, url.as_str()).await? {
        return Ok(Some(known));
    }
    if authority(&url) == ctx.urls.domain() {
        return Ok(None);
    }
    let post = match fetch_post(&url, data).await {
        Ok(post) => post,
        Err(e) => {
            tracing::info!(error = ?e.to_string(), "search could not resolve a post");
            return Ok(None);
        }
    };
    if post.copy_of.is_some() || !post.addressees().any(is_public) {
        tracing::info!(post = %post.id, "search: not keeping a post that is not public");
        return Ok(None);
    }
    if let Some(known) = known_post(ctx, post.id.as_str()).await? {
        return Ok(Some(known));
    }
    let author = inbox::resolve_actor(ctx, data, &post.attributed_to).await?;
    let content = content::sanitize(post.content.as_deref().unwrap_or_default());
    ctx.write(move |conn, _| {
        if let Some(known) = posts::by_ap_id(conn, post.id.as_str())? {
            return Ok(Some(known));
        }
        let group = match &post.audience {
            Some(audience) => actors::by_ap_id(conn, audience.as_str())?,
            None => None,
        };
        if group.as_ref().is_some_and(|g| g.local) {
            tracing::info!(post = %post.id, "search: a post of a group here comes through the group");
            return Ok(None);
        }
        let group = group.filter(|g| {
            g.actor_kind() == hearth_federation::protocol::actor::ActorKind::Group
        });
        let in_group = group.as_ref().map(|g| (g, None));
        match inbox::store_post(conn, &post, content, &author, in_group)? {
            Some(stored) => Ok(Some(stored.row)),
            None => Ok(posts::by_ap_id(conn, post.id.as_str())?),
        }
    })
    .await
}

/// The post stored with this id.
async fn known_post(ctx: &Context, ap_id: &str) -> Result<Option<PostRow>, Error> {
    let ap_id = ap_id.to_owned();
    ctx.db
        .run(move |conn| Ok(posts::by_ap_id(conn, &ap_id)?))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_looks_for_the_longest_plain_word() {
        assert_eq!(prefilter("tea & biscuits"), "biscuits");
        assert_eq!(prefilter("don't panic"), "panic");
        assert_eq!(prefilter("<>"), "");
    }
}
