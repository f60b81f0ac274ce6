//! OAuth scopes as Mastodon defines them: `read`, `write`, `follow`, `push`, `profile`,
//! `admin:read`, `admin:write`, each top-level scope granting its sub-scopes
//! (`write` grants `write:statuses`; `admin:read` grants `admin:read:reports`).

use crate::Error;
use std::{collections::BTreeSet, fmt};

/// Every scope an app may ask for.
pub const KNOWN: &[&str] = &[
    "read",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "follow",
    "push",
    "profile",
    "admin:read",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:write",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
];

/// What the deprecated `follow` scope still grants, as in Mastodon.
const FOLLOW_GRANTS: &[&str] = &[
    "read:follows",
    "write:follows",
    "read:blocks",
    "write:blocks",
    "read:mutes",
    "write:mutes",
];

/// A set of granted or requested scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-separated list (`+` too, as some apps send it). An empty list is `read`,
    /// Mastodon's default; an unknown scope is refused.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let set: BTreeSet<String> = raw
            .split([' ', '+', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(unknown) = set.iter().find(|s| !KNOWN.contains(&s.as_str())) {
            return Err(Error::BadRequest(format!("unknown scope {unknown:?}")));
        }
        if set.is_empty() {
            return Ok(Self(BTreeSet::from(["read".to_owned()])));
        }
        Ok(Self(set))
    }

    /// Whether these scopes grant `required`: it, or a scope above it, or `follow` for the
    /// follow, block and mute scopes.
    pub fn allows(&self, required: &str) -> bool {
        let mut scope = required;
        loop {
            if self.0.contains(scope) {
                return true;
            }
            match scope.rsplit_once(':') {
                Some((above, _)) => scope = above,
                None => break,
            }
        }
        FOLLOW_GRANTS.contains(&required) && self.0.contains("follow")
    }

    /// Whether every scope of `other` is granted by these (an app asking for no more than it
    /// registered).
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.iter().all(|s| self.allows(s))
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<&str> = self.iter().collect();
        f.write_str(&list.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(raw: &str) -> Scopes {
        Scopes::parse(raw).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_top_level_scope_grants_its_sub_scopes_only() {
        let read = scopes("read");
        assert!(read.allows("read:statuses") && read.allows("read"));
        assert!(!read.allows("write:statuses") && !read.allows("write"));
        let narrow = scopes("read:statuses write:media");
        assert!(narrow.allows("read:statuses") && narrow.allows("write:media"));
        assert!(!narrow.allows("read:notifications") && !narrow.allows("read"));
        let admin = scopes("admin:read");
        assert!(admin.allows("admin:read:reports") && !admin.allows("admin:write:reports"));
        assert!(!admin.allows("read:statuses"));
    }

    #[test]
    fn follow_grants_follows_blocks_and_mutes() {
        let follow = scopes("follow");
        assert!(follow.allows("write:follows") && follow.allows("read:blocks"));
        assert!(!follow.allows("write:statuses"));
    }

    #[test]
    fn lists_parse_with_any_separator_and_unknown_scopes_are_refused() {
        assert_eq!(
            scopes("read+write  follow").to_string(),
            "follow read write"
        );
        assert_eq!(scopes("").to_string(), "read");
        assert!(Scopes::parse("read everything").is_err());
        assert!(scopes("read write").covers(&scopes("read:statuses write")));
        assert!(!scopes("read").covers(&scopes("read write")));
    }
}
