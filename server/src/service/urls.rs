//! Where everything of this instance lives. Local ActivityPub ids are built here and only here.

use crate::{Error, Settings};
use hearth_federation::protocol::actor::ActorKind;
use url::Url;

/// URL builder for this instance's actors, collections and pages.
#[derive(Clone, Debug)]
pub struct Urls {
    base: Url,
    domain: String,
    /// Built once: every account without its own images shows these.
    default_avatar: Url,
    default_header: Url,
}

impl Urls {
    /// The URLs of the instance described by `settings`.
    pub fn new(settings: &Settings) -> Result<Self, Error> {
        let base = Url::parse(&format!("{}://{}/", settings.scheme(), settings.domain))
            .map_err(|e| Error::Config(format!("domain {:?}: {e}", settings.domain)))?;
        let at = |path: &str| {
            let mut url = base.clone();
            url.set_path(path);
            url
        };
        Ok(Self {
            default_avatar: at("/static/avatar.png"),
            default_header: at("/static/header.png"),
            domain: settings.domain.to_ascii_lowercase(),
            base,
        })
    }

    /// `host[:port]`, the domain part of every local handle.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `scheme://domain/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn at(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// The id of a local person or group. People live under `/users/`, groups under
    /// `/groups/`; both share one handle namespace.
    pub fn actor(&self, kind: ActorKind, username: &str) -> Url {
        match kind {
            ActorKind::Group => self.at(&format!("/groups/{username}")),
            ActorKind::Application => self.instance_actor(),
            _ => self.at(&format!("/users/{username}")),
        }
    }

    /// A collection or endpoint under an actor (`inbox`, `outbox`, `followers`, `following`).
    pub fn actor_part(&self, actor: &Url, part: &str) -> Url {
        let mut url = actor.clone();
        url.set_path(&format!("{}/{part}", actor.path().trim_end_matches('/')));
        url
    }

    /// The instance's own `Application` actor, which signs fetches.
    pub fn instance_actor(&self) -> Url {
        self.at("/actor")
    }

    /// The shared inbox.
    pub fn shared_inbox(&self) -> Url {
        self.at("/inbox")
    }

    /// The HTML profile page of a local person or group.
    pub fn profile(&self, username: &str) -> Url {
        self.at(&format!("/@{username}"))
    }

    /// The avatar shown for actors without one of their own.
    pub fn default_avatar(&self) -> &Url {
        &self.default_avatar
    }

    /// The header image shown for actors without one.
    pub fn default_header(&self) -> &Url {
        &self.default_header
    }

    /// Any path on this instance.
    pub fn path(&self, path: &str) -> Url {
        self.at(path)
    }
}
