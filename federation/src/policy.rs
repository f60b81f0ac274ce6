//! Whom this instance federates with: the admin's mode and domain rules.
//!
//! This is the one place that decides, for a host, whether Hearth talks to it at all
//! ([`Policy::refuses`]) and what it keeps of what that host sends ([`Policy::silences`],
//! [`Policy::rejects_media`], [`Policy::rejects_reports`]). Every gate asks it: the HTTP client
//! before any outgoing request ([`PolicyGuard`]), the inbox and signed fetches before a sender's
//! key is fetched, the delivery queue, search and follows. The product loads the rules from its
//! database into a [`SharedPolicy`] and swaps in a new one when they change.

use std::{
    fmt,
    sync::{Arc, RwLock},
};

/// How open the instance is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Federate with every server; domain rules are not applied.
    #[default]
    Open,
    /// Federate with every server except those a rule suspends; other rules apply.
    Blocklist,
    /// Federate only with allowed domains (a closed network of trusted clinics); rules still
    /// apply to them.
    Allowlist,
}

impl Mode {
    /// Every mode, by name.
    pub const ALL: [Mode; 3] = [Mode::Open, Mode::Blocklist, Mode::Allowlist];

    /// Its name, as stored and as the CLI and API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Blocklist => "blocklist",
            Self::Allowlist => "allowlist",
        }
    }

    /// The mode named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name.trim())
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How hard a domain block is, in Mastodon's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// No limit on federation itself (the rule may still reject media or reports).
    #[default]
    Noop,
    /// Its content is kept out of public timelines, search and discovery.
    Silence,
    /// No federation at all.
    Suspend,
}

impl Severity {
    /// Every severity, by name.
    pub const ALL: [Severity; 3] = [Severity::Noop, Severity::Silence, Severity::Suspend];

    /// Its name, as stored and as Mastodon's API and CSV spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Noop => "noop",
            Self::Silence => "silence",
            Self::Suspend => "suspend",
        }
    }

    /// The severity named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name.trim())
    }
}

/// One domain rule: the domain (and its subdomains) and what applies to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRule {
    /// The domain, canonical (see [`canonical_host`]); with `:port` when it applies to one
    /// port only.
    pub domain: String,
    /// How hard it is blocked.
    pub severity: Severity,
    /// Its media is neither fetched nor shown.
    pub reject_media: bool,
    /// Its reports (`Flag`) are dropped.
    pub reject_reports: bool,
}

/// The mode and the rules in force.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// How open the instance is.
    pub mode: Mode,
    /// Domain blocks.
    pub rules: Vec<DomainRule>,
    /// Domains federated with in allowlist mode (canonical, as rules are).
    pub allowed: Vec<String>,
    /// The stored version it was read from: an older one never replaces a newer one.
    pub version: i64,
}

impl Policy {
    /// Whether Hearth refuses to federate with `host` (a URL's authority: host, and `:port`
    /// where it has one): nothing is fetched from it, sent to it or accepted from it.
    pub fn refuses(&self, host: &str) -> bool {
        let host = canonical_host(host);
        match self.mode {
            Mode::Open => false,
            Mode::Blocklist => self.severity(&host) == Severity::Suspend,
            Mode::Allowlist => {
                !self.allowed.iter().any(|d| covers(d, &host))
                    || self.severity(&host) == Severity::Suspend
            }
        }
    }

    /// Whether this instance believes the clinician attestations `host` issues: a clinic whose
    /// domain is allowed (in any mode: an allowed domain is a trusted clinic) and not
    /// suspended.
    pub fn trusts_clinic(&self, host: &str) -> bool {
        let host = canonical_host(host);
        self.allowed.iter().any(|d| covers(d, &host)) && self.severity(&host) != Severity::Suspend
    }

    /// Whether `host`'s content stays out of public timelines, search and discovery.
    pub fn silences(&self, host: &str) -> bool {
        self.mode != Mode::Open && self.severity(&canonical_host(host)) >= Severity::Silence
    }

    /// Whether `host`'s media is neither fetched nor shown.
    pub fn rejects_media(&self, host: &str) -> bool {
        self.refuses(host)
            || self
                .rule(&canonical_host(host))
                .is_some_and(|r| r.reject_media)
    }

    /// Whether reports (`Flag`) from `host` are dropped.
    pub fn rejects_reports(&self, host: &str) -> bool {
        self.refuses(host)
            || self
                .rule(&canonical_host(host))
                .is_some_and(|r| r.reject_reports)
    }

    /// The rule in force for `host`: the one of the longest matching domain, so that a rule for
    /// a subdomain overrides its parent's. None in open mode.
    pub fn rule(&self, host: &str) -> Option<&DomainRule> {
        if self.mode == Mode::Open {
            return None;
        }
        self.rules
            .iter()
            .filter(|r| covers(&r.domain, host))
            .max_by_key(|r| r.domain.len())
    }

    fn severity(&self, host: &str) -> Severity {
        self.rule(host).map_or(Severity::Noop, |r| r.severity)
    }
}

/// The canonical form hosts are compared in: trimmed, lower case, no trailing dot, and no
/// scheme or path if a URL was given.
pub fn canonical_host(host: &str) -> String {
    let host = host.trim();
    let host = host.split_once("://").map_or(host, |(_, rest)| rest);
    let host = host.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let (name, port) = split_port(host);
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match port {
        Some(port) => format!("{name}:{port}"),
        None => name,
    }
}

/// Splits `host:port` (or `[v6]:port`); a bare IPv6 address has no port.
fn split_port(host: &str) -> (&str, Option<&str>) {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            (name, Some(port))
        }
        _ => (host, None),
    }
}

/// Whether the rule for `domain` covers `host` (both canonical): the domain itself and its
/// subdomains; a rule with a port covers that port only, one without covers every port.
pub fn covers(domain: &str, host: &str) -> bool {
    let (rule_name, rule_port) = split_port(domain);
    let (name, port) = split_port(host);
    if rule_port.is_some() && rule_port != port {
        return false;
    }
    name == rule_name
        || name
            .strip_suffix(rule_name)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

/// The policy in force, shared by every part of one instance and swapped whole when an admin
/// changes it (readers never see half a change).
#[derive(Clone, Debug, Default)]
pub struct SharedPolicy(Arc<RwLock<Arc<Policy>>>);

impl SharedPolicy {
    /// The policy now in force.
    pub fn current(&self) -> Arc<Policy> {
        match self.0.read() {
            Ok(policy) => policy.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `policy` in force, unless the one in force was read from a later version.
    pub fn replace(&self, policy: Policy) {
        let policy = Arc::new(policy);
        let mut slot = match self.0.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if policy.version >= slot.version {
            *slot = policy;
        }
    }

    /// A handle that does not keep the policy alive: a task refreshing it stops once the
    /// instance is gone.
    pub fn downgrade(&self) -> WeakPolicy {
        WeakPolicy(Arc::downgrade(&self.0))
    }

    /// Shorthand for `current().refuses(host)`.
    pub fn refuses(&self, host: &str) -> bool {
        self.current().refuses(host)
    }
}

/// A [`SharedPolicy`] that may have been dropped.
#[derive(Clone, Debug)]
pub struct WeakPolicy(std::sync::Weak<RwLock<Arc<Policy>>>);

impl WeakPolicy {
    /// The shared policy, if its instance still runs.
    pub fn upgrade(&self) -> Option<SharedPolicy> {
        self.0.upgrade().map(SharedPolicy)
    }
}

/// A request to a host the policy refuses, stopped before it was made.
#[derive(Debug, thiserror::Error)]
#[error("federation with {host} is not allowed by this instance's policy")]
pub struct DomainRefused {
    /// The refused host.
    pub host: String,
}

/// The HTTP client's gate: every outgoing request (fetches, WebFinger, deliveries, media,
/// NodeInfo) to a refused host fails here, before any name is looked up.
#[derive(Clone, Debug)]
pub struct PolicyGuard(pub SharedPolicy);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for PolicyGuard {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let host = crate::protocol::authority(req.url());
        if self.0.refuses(&host) {
            return Err(reqwest_middleware::Error::middleware(DomainRefused {
                host,
            }));
        }
        next.run(req, extensions).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(domain: &str, severity: Severity) -> DomainRule {
        DomainRule {
            domain: canonical_host(domain),
            severity,
            reject_media: false,
            reject_reports: false,
        }
    }

    #[test]
    fn hosts_are_compared_canonically() {
        assert_eq!(canonical_host(" Bad.Example. "), "bad.example");
        assert_eq!(
            canonical_host("https://BAD.example:8443/users/x"),
            "bad.example:8443"
        );
        assert_eq!(canonical_host("[::1]:8080"), "[::1]:8080");
        assert_eq!(canonical_host("::1"), "::1");
    }

    #[test]
    fn a_suspended_domain_and_its_subdomains_are_refused_in_blocklist_mode() {
        let policy = Policy {
            mode: Mode::Blocklist,
            rules: vec![block("bad.example", Severity::Suspend)],
            allowed: vec![],
            version: 0,
        };
        assert!(policy.refuses("bad.example"));
        assert!(policy.refuses("BAD.example."));
        assert!(policy.refuses("media.bad.example:8443"));
        assert!(!policy.refuses("notbad.example"));
        assert!(!policy.refuses("good.example"));
        let open = Policy {
            mode: Mode::Open,
            ..policy
        };
        assert!(!open.refuses("bad.example"), "open mode applies no rule");
    }

    #[test]
    fn a_rule_with_a_port_covers_that_port_only() {
        let policy = Policy {
            mode: Mode::Blocklist,
            rules: vec![block("127.0.0.1:4001", Severity::Suspend)],
            allowed: vec![],
            version: 0,
        };
        assert!(policy.refuses("127.0.0.1:4001"));
        assert!(!policy.refuses("127.0.0.1:4002"));
        assert!(!policy.refuses("127.0.0.1"));
    }

    #[test]
    fn allowlist_mode_federates_only_with_listed_domains_and_blocks_still_win() {
        let policy = Policy {
            mode: Mode::Allowlist,
            rules: vec![block("bad.clinic.example", Severity::Suspend)],
            allowed: vec!["clinic.example".into(), "other.example:9000".into()],
            version: 0,
        };
        assert!(!policy.refuses("clinic.example"));
        assert!(!policy.refuses("www.clinic.example"));
        assert!(!policy.refuses("other.example:9000"));
        assert!(policy.refuses("other.example:9001"));
        assert!(policy.refuses("stranger.example"));
        assert!(policy.refuses("bad.clinic.example"));
    }

    #[test]
    fn the_longest_matching_rule_decides() {
        let policy = Policy {
            mode: Mode::Blocklist,
            rules: vec![
                block("example.org", Severity::Suspend),
                DomainRule {
                    reject_media: true,
                    ..block("ok.example.org", Severity::Silence)
                },
            ],
            allowed: vec![],
            version: 0,
        };
        assert!(policy.refuses("example.org"));
        assert!(!policy.refuses("ok.example.org"));
        assert!(policy.silences("ok.example.org"));
        assert!(policy.rejects_media("ok.example.org"));
        assert!(!policy.rejects_reports("ok.example.org"));
    }
}
