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

/// Fallback name of the instance actor, for hosts that are not dotted names (`localhost`, IP
/// literals). Misskey uses it too, and GoToSocial recognises it as an instance actor.
pub const FALLBACK_ACTOR_NAME: &str = "instance.actor";

/// The instance actor's `preferredUsername`: the host name when it is a dotted name (as
/// Mastodon and GoToSocial name theirs), otherwise [`FALLBACK_ACTOR_NAME`]. Never the port:
/// GoToSocial reads a name with a colon as a URI, drops it, and then cannot verify what the
/// actor signs. The dot keeps it apart from every handle (`[a-z0-9_]`).
pub fn actor_name(urls: &Urls) -> String {
    match urls.base().host() {
        Some(url::Host::Domain(host)) if host.trim_end_matches('.').contains('.') => {
            host.trim_end_matches('.').to_owned()
        }
        _ => FALLBACK_ACTOR_NAME.to_owned(),
    }
}

/// Returns the instance actor, creating it (and its key pair) on first start. An actor created
/// by an older version under another name (the domain with its port) is renamed.
pub async fn ensure_instance_actor(db: &Database, urls: &Urls) -> Result<ActorRow, Error> {
    let ap_id = urls.instance_actor().to_string();
    let lookup = ap_id.clone();
    let name = actor_name(urls);
    if let Some(mut row) = db
        .run(move |conn| Ok(actors::by_ap_id(conn, &lookup)?))
        .await?
    {
        if row.username != name {
            row.username = name;
            row.updated_at = Utc::now().naive_utc();
            let renamed = row.clone();
            db.run(move |conn| Ok(actors::update(conn, &renamed)?))
                .await?;
        }
        return Ok(row);
    }
    let keys = tokio::task::spawn_blocking(KeyPair::generate).await??;
    // Whole seconds: what peers show, and the same on both engines.
    let now = Utc::now().trunc_subsecs(0);
    let actor_id = urls.instance_actor();
    let actor = FederatedActor {
        kind: ActorKind::Application,
        username: name,
        display_name: None,
        summary: None,
        profile_url: Some(urls.base().clone()),
        inbox: urls.actor_part(&actor_id, "inbox"),
        shared_inbox: Some(urls.shared_inbox()),
        outbox: Some(urls.actor_part(&actor_id, "outbox")),
        followers: Some(urls.actor_part(&actor_id, "followers")),
        following: Some(urls.actor_part(&actor_id, "following")),
        avatar: None,
        header: None,
        public_key_pem: keys.public_pem,
        private_key: Some(keys.private_pem),
        published: now,
        manually_approves_followers: true,
        discoverable: false,
        local: true,
        last_refreshed_at: now,
        fields: Vec::new(),
        clinician: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Settings, service::accounts::Handle};

    fn name_for(domain: &str) -> String {
        let settings = Settings {
            domain: domain.into(),
            ..Settings::default()
        };
        let urls = Urls::new(&settings).unwrap_or_else(|e| panic!("{domain}: {e}"));
        actor_name(&urls)
    }

    #[test]
    fn the_instance_actor_is_named_without_port_and_apart_from_handles() {
        for (domain, name) in [
            ("clinic.example", "clinic.example"),
            ("clinic.example:8443", "clinic.example"),
            ("Clinic.Example.:8443", "clinic.example"),
            ("localhost:8080", FALLBACK_ACTOR_NAME),
            ("localhost", FALLBACK_ACTOR_NAME),
            ("10.0.0.7:8080", FALLBACK_ACTOR_NAME),
            ("[::1]:8080", FALLBACK_ACTOR_NAME),
        ] {
            let got = name_for(domain);
            assert_eq!(got, name, "{domain}");
            assert!(!got.contains(':'), "{domain}: {got}");
            assert!(Handle::parse(&got).is_err(), "{got} could be a handle");
        }
    }
}
