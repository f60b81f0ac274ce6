//! What a list of statuses shows its reader, read for the whole list at once: about twenty
//! statements for a page of any length, instead of a dozen per status. Posts the reader may
//! not see are left out here, by the one rule ([`Audience`]).

use super::posts::Audience;
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{ActorProfile, ActorRow},
        batch::{self, PostScope},
        blocks::{self, Hiding},
        follows,
        media::MediaRow,
        posts::{self, Page, PostRow},
        reblogs::{self, ReblogRow},
        remote_media::RemoteMediaRow,
    },
};
use hearth_federation::protocol::actor::ActorKind;
use std::collections::HashMap;

/// One entry of a timeline: a post, or someone's boost of one.
#[derive(Clone, Debug)]
pub enum Entry {
    Post(PostRow),
    Boost(ReblogRow, PostRow),
}

impl Entry {
    /// The entry's id: the post's, or the boost's (ids of both sort by age).
    pub fn id(&self) -> i64 {
        match self {
            Self::Post(post) => post.id,
            Self::Boost(boost, _) => boost.id,
        }
    }

    /// The post shown.
    pub fn post(&self) -> &PostRow {
        match self {
            Self::Post(post) | Self::Boost(_, post) => post,
        }
    }
}

/// A page of a timeline of posts and boosts, both read newest first within the same bounds:
/// newest first, the newest page (the oldest page after `min_id`).
pub fn merged(posts: Vec<PostRow>, boosts: Vec<(ReblogRow, PostRow)>, bounds: Page) -> Vec<Entry> {
    let mut entries: Vec<Entry> = posts
        .into_iter()
        .map(Entry::Post)
        .chain(boosts.into_iter().map(|(b, p)| Entry::Boost(b, p)))
        .collect();
    entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.id()));
    let limit = usize::try_from(bounds.limit).unwrap_or(0);
    if bounds.min_id.is_some() {
        let excess = entries.len().saturating_sub(limit);
        entries.drain(..excess);
    } else {
        entries.truncate(limit);
    }
    entries
}

/// Where a person's home timeline comes from: whom they follow (people and groups), their
/// own posts and boosts, and posts that mention them; not what they hide (blocks, mutes).
#[derive(Debug)]
pub struct HomeSources {
    reader: i64,
    /// Whom they follow, if few (see [`posts::HomeReader`]).
    few_follows: Option<Vec<i64>>,
    hidden: Vec<i64>,
}

/// Readers following at most this many accounts and groups have each read by its own index.
const FEW_FOLLOWS: i64 = 32;

impl HomeSources {
    /// The sources of `reader`'s home timeline.
    pub fn of(conn: &mut AnyConnection, reader: i64) -> Result<Self, Error> {
        let following = batch::stats(conn, &[reader])?
            .first()
            .map_or(0, |s| s.following_count);
        let few_follows = if following <= FEW_FOLLOWS {
            Some(follows::followed_ids(conn, reader)?)
        } else {
            None
        };
        Ok(Self {
            reader,
            few_follows,
            hidden: blocks::hidden_from(conn, reader, Hiding::Posts)?,
        })
    }

    fn home_reader(&self) -> posts::HomeReader<'_> {
        posts::HomeReader {
            id: self.reader,
            few_follows: self.few_follows.as_deref(),
            hidden: &self.hidden,
        }
    }

    /// A page of posts and boosts (before the reader's view of each is checked). Boosts are
    /// read within the span of the page's posts: older ones would not make the page.
    pub fn page(&self, conn: &mut AnyConnection, bounds: Page) -> Result<Vec<Entry>, Error> {
        let posts = posts::home(conn, self.home_reader(), bounds)?;
        let mut span = bounds;
        if posts.len() as i64 >= bounds.limit && bounds.min_id.is_none() {
            span.since_id = posts.last().map(|p| p.id).max(bounds.since_id);
        }
        let boosts = reblogs::of_followed(conn, self.reader, span)?
            .into_iter()
            .filter(|(b, post)| {
                !self.hidden.contains(&post.author_id) && !self.hidden.contains(&b.actor_id)
            })
            .collect();
        Ok(merged(posts, boosts, bounds))
    }

    /// Whether the home timeline holds `post` (a new post, for the streaming API).
    pub fn holds(&self, conn: &mut AnyConnection, post: &PostRow) -> Result<bool, Error> {
        let only = Page {
            max_id: Some(post.id + 1),
            since_id: Some(post.id - 1),
            min_id: None,
            limit: 1,
        };
        Ok(!posts::home(conn, self.home_reader(), only)?.is_empty())
    }
}

/// An account's counts, as `Account` shows them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub followers: i64,
    pub following: i64,
    pub statuses: i64,
}

impl Counts {
    /// The counts of one actor, as the database keeps them.
    pub fn of_actor(conn: &mut AnyConnection, actor: &ActorRow) -> Result<Self, Error> {
        Ok(batch::stats(conn, &[actor.id])?
            .first()
            .map(|stats| Self::of(stats, Some(actor.actor_kind())))
            .unwrap_or_default())
    }

    /// The counts of an actor: a group's statuses are the posts in it.
    pub fn of(stats: &batch::ActorStats, kind: Option<ActorKind>) -> Self {
        let group = kind == Some(ActorKind::Group);
        Self {
            followers: stats.followers_count,
            following: stats.following_count,
            statuses: if group {
                stats.group_posts_count
            } else {
                stats.posts_count
            },
        }
    }
}

/// The visible posts of a list, with everything their statuses show.
#[derive(Debug, Default)]
pub struct Shown {
    /// The posts the reader may see, in the order given.
    pub posts: Vec<PostRow>,
    actors: HashMap<i64, ActorProfile>,
    counts: HashMap<i64, Counts>,
    /// Each reply's parent, where the reader may see it: `(parent, its author)`.
    parents: HashMap<i64, (i64, i64)>,
    mentions: HashMap<i64, Vec<i64>>,
    replies: HashMap<i64, i64>,
    facts: HashMap<i64, batch::PostFacts>,
    media: HashMap<i64, Vec<MediaRow>>,
    remote_media: HashMap<i64, Vec<RemoteMediaRow>>,
    tags: HashMap<i64, Vec<String>>,
    /// Authors whose posts a moderator had shown as sensitive.
    sensitized: std::collections::HashSet<i64>,
}

/// Sorted ids, each once.
fn unique(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Groups `(key, value)` pairs by key, keeping their order.
fn grouped<V>(pairs: impl IntoIterator<Item = (i64, V)>) -> HashMap<i64, Vec<V>> {
    let mut map: HashMap<i64, Vec<V>> = HashMap::new();
    for (key, value) in pairs {
        map.entry(key).or_default().push(value);
    }
    map
}

impl Shown {
    /// The posts of `posts` that `viewer` may see (deleted ones never), with what their
    /// statuses show, and the actors `also` names (boosters, senders of notifications),
    /// read with the others where `known` does not hold them already.
    pub fn load(
        conn: &mut AnyConnection,
        posts: Vec<PostRow>,
        viewer: Option<i64>,
        also: &[i64],
        known: Vec<ActorProfile>,
    ) -> Result<Self, Error> {
        let posts: Vec<PostRow> = posts.into_iter().filter(|p| !p.is_deleted()).collect();
        let parent_ids = unique(posts.iter().filter_map(|p| p.in_reply_to_id));
        let parents = batch::scopes(conn, &parent_ids)?;
        let ids = unique(posts.iter().map(|p| p.id));
        let replies = batch::replies(conn, &ids)?;
        // One audience for the posts, their parents and their replies.
        let scopes: Vec<PostScope> = posts
            .iter()
            .map(PostScope::from)
            .chain(parents.iter().cloned())
            .chain(replies.iter().cloned())
            .collect();
        let audience = Audience::load(conn, &scopes, viewer)?;
        let posts: Vec<PostRow> = posts
            .into_iter()
            .filter(|p| audience.may_see(&PostScope::from(p)))
            .collect();
        let mut actors: HashMap<i64, ActorProfile> = known.into_iter().map(|a| (a.id, a)).collect();
        if posts.is_empty() {
            let missing = unique(also.iter().copied().filter(|id| !actors.contains_key(id)));
            actors.extend(
                batch::actors(conn, &missing)?
                    .into_iter()
                    .map(|a| (a.id, a)),
            );
            return Ok(Self {
                actors,
                ..Self::default()
            });
        }
        let ids = unique(posts.iter().map(|p| p.id));
        let mut reply_counts: HashMap<i64, i64> = HashMap::new();
        for reply in replies.iter().filter(|r| audience.may_see(r)) {
            if let Some(parent) = reply.in_reply_to_id {
                *reply_counts.entry(parent).or_default() += 1;
            }
        }
        let parents: HashMap<i64, (i64, i64)> = parents
            .iter()
            .filter(|p| audience.may_see(p))
            .map(|p| (p.id, (p.id, p.author_id)))
            .collect();
        let parents = posts
            .iter()
            .filter_map(|p| Some((p.id, *parents.get(&p.in_reply_to_id?)?)))
            .collect();
        let mentions = batch::mentions(conn, &ids)?;
        let authors = unique(posts.iter().map(|p| p.author_id));
        let sensitized = authors
            .iter()
            .copied()
            .filter(|a| audience.sensitized(*a))
            .collect();
        let missing = unique(
            posts
                .iter()
                .flat_map(|p| [Some(p.author_id), p.group_id])
                .flatten()
                .chain(mentions.iter().map(|(_, actor)| *actor))
                .chain(also.iter().copied())
                .filter(|id| !actors.contains_key(id)),
        );
        actors.extend(
            batch::actors(conn, &missing)?
                .into_iter()
                .map(|a| (a.id, a)),
        );
        let counts = Self::counts(conn, &authors, &actors)?;
        let facts = batch::post_facts(conn, viewer, &ids)?
            .into_iter()
            .map(|f| (f.post_id, f))
            .collect();
        let local = unique(posts.iter().filter(|p| p.local).map(|p| p.id));
        let remote = unique(posts.iter().filter(|p| !p.local).map(|p| p.id));
        let media = batch::media(conn, &local)?
            .into_iter()
            .filter_map(|m| Some((m.post_id?, m)));
        let remote_media = batch::remote_media(conn, &remote)?
            .into_iter()
            .filter_map(|m| Some((m.post_id?, m)));
        Ok(Self {
            actors,
            counts,
            parents,
            mentions: grouped(mentions),
            replies: reply_counts,
            facts,
            media: grouped(media),
            remote_media: grouped(remote_media),
            tags: grouped(batch::tags(conn, &ids)?),
            sensitized,
            posts,
        })
    }

    /// The counts of the authors: a group's statuses are the posts in it.
    fn counts(
        conn: &mut AnyConnection,
        authors: &[i64],
        actors: &HashMap<i64, ActorProfile>,
    ) -> Result<HashMap<i64, Counts>, Error> {
        Ok(batch::stats(conn, authors)?
            .into_iter()
            .map(|stats| {
                (
                    stats.actor_id,
                    Counts::of(
                        &stats,
                        actors.get(&stats.actor_id).map(ActorProfile::actor_kind),
                    ),
                )
            })
            .collect())
    }

    /// An actor shown (author, group or mentioned account).
    pub fn actor(&self, id: i64) -> Option<&ActorProfile> {
        self.actors.get(&id)
    }

    /// An author's counts.
    pub fn counts_of(&self, author: i64) -> Counts {
        self.counts.get(&author).copied().unwrap_or_default()
    }

    /// The parent of a reply and its author, if the reader may see it.
    pub fn parent(&self, post: i64) -> Option<(i64, i64)> {
        self.parents.get(&post).copied()
    }

    /// The accounts a post mentions.
    pub fn mentions(&self, post: i64) -> impl Iterator<Item = &ActorProfile> {
        self.mentions
            .get(&post)
            .into_iter()
            .flatten()
            .filter_map(|id| self.actors.get(id))
    }

    /// How many replies to a post the reader may see (a count must not reveal hidden posts).
    pub fn replies(&self, post: i64) -> i64 {
        self.replies.get(&post).copied().unwrap_or(0)
    }

    fn fact(&self, post: i64) -> batch::PostFacts {
        self.facts.get(&post).copied().unwrap_or_default()
    }

    /// How many likes a post has.
    pub fn likes(&self, post: i64) -> i64 {
        self.fact(post).likes
    }

    /// Whether the reader likes the post.
    pub fn liked(&self, post: i64) -> bool {
        self.fact(post).liked
    }

    /// How many boosts a post has.
    pub fn reblogs(&self, post: i64) -> i64 {
        self.fact(post).reblogs
    }

    /// Whether the reader boosted the post.
    pub fn reblogged(&self, post: i64) -> bool {
        self.fact(post).reblogged
    }

    /// Whether the reader bookmarked the post.
    pub fn bookmarked(&self, post: i64) -> bool {
        self.fact(post).bookmarked
    }

    /// Whether the reader pinned the post (only one's own posts can be).
    pub fn pinned(&self, post: i64) -> bool {
        self.fact(post).pinned
    }

    /// A local post's uploads.
    pub fn media(&self, post: i64) -> &[MediaRow] {
        self.media.get(&post).map(Vec::as_slice).unwrap_or_default()
    }

    /// A remote post's images.
    pub fn remote_media(&self, post: i64) -> &[RemoteMediaRow] {
        self.remote_media
            .get(&post)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Whether a post is shown as sensitive: marked so, or by an author a moderator
    /// sensitized.
    pub fn sensitive(&self, post: &PostRow) -> bool {
        post.sensitive || self.sensitized.contains(&post.author_id)
    }

    /// The names of a post's tags, alphabetically.
    pub fn tags(&self, post: i64) -> &[String] {
        self.tags.get(&post).map(Vec::as_slice).unwrap_or_default()
    }
}
