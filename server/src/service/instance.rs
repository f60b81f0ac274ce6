//! The instance itself: its `Application` actor and its statistics.

use super::{Urls, accounts::Role};
use crate::{
    Error,
    db::{
        Database,
        actors::{self, ActorRow},
        users,
    },
};
use chrono::{SubsecRound, Utc};
use hearth_federation::{
    keys::KeyPair, objects::actor::FederatedActor, protocol::actor::ActorKind,
};

/// Returns the instance actor, creating it (and its key pair) on first start.
pub async fn ensure_instance_actor(db: &Database, urls: &Urls) -> Result<ActorRow, Error> {
    let ap_id = urls.instance_actor().to_string();
    let lookup = ap_id.clone();
    if let Some(row) = db
        .run(move |conn| Ok(actors::by_ap_id(conn, &lookup)?))
        .await?
    {
        return Ok(row);
    }
    let keys = tokio::task::spawn_blocking(KeyPair::generate).await??;
    // Whole seconds: what peers show, and the same on both engines.
    let now = Utc::now().trunc_subsecs(0);
    let actor_id = urls.instance_actor();
    let actor = FederatedActor {
        kind: ActorKind::Application,
        // Mastodon and GoToSocial name the instance actor after the domain, which cannot
        // collide with a handle (handles have no dots or colons).
        username: urls.domain().to_owned(),
        display_name: None,
        summary: None,
        profile_url: Some(urls.base().clone()),
        inbox: urls.actor_part(&actor_id, "inbox"),
        shared_inbox: Some(urls.shared_inbox()),
        outbox: Some(urls.actor_part(&actor_id, "outbox")),
        followers: Some(urls.actor_part(&actor_id, "followers")),
        following: Some(urls.actor_part(&actor_id, "following")),
        avatar: None,
        public_key_pem: keys.public_pem,
        private_key: Some(keys.private_pem),
        published: now,
        manually_approves_followers: true,
        discoverable: false,
        local: true,
        last_refreshed_at: now,
        ap_id: actor_id,
    };
    let row = ActorRow::new(&actor);
    db.run(move |conn| {
        // Another process may have created it meanwhile: keep theirs.
        match actors::insert(conn, &row) {
            Ok(()) => Ok(row),
            Err(e) => actors::by_ap_id(conn, &ap_id)?.ok_or(Error::Database(e)),
        }
    })
    .await
}

/// Counts shown in NodeInfo and the instance API.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceStats {
    /// Local people.
    pub people: u64,
    /// Local support groups.
    pub groups: u64,
    /// Local posts.
    pub posts: u64,
    /// Other servers known.
    pub remote_domains: u64,
    /// Accounts with the admin role.
    pub admins: u64,
}

/// Reads the instance's counts.
pub async fn stats(db: &Database) -> Result<InstanceStats, Error> {
    db.run(|conn| {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(InstanceStats {
            people: n(actors::count_local(conn, ActorKind::Person)?),
            groups: n(actors::count_local(conn, ActorKind::Group)?),
            posts: 0,
            remote_domains: n(actors::count_remote_domains(conn)?),
            admins: n(users::count_with_role(conn, Role::Admin.as_str())?),
        })
    })
    .await
}
