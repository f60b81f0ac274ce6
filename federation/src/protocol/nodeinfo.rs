//! NodeInfo 2.1 (<https://nodeinfo.diaspora.software/schema.html>): what software a server runs.

use serde::{Deserialize, Serialize};

/// The schema URL of NodeInfo 2.1, used as `rel` in the well-known links.
pub const NODEINFO_2_1_REL: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";

/// `/.well-known/nodeinfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInfoLinks {
    /// One link per schema version served.
    pub links: Vec<NodeInfoLink>,
}

/// One schema link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeInfoLink {
    /// The schema URL.
    pub rel: String,
    /// Where the document is.
    pub href: String,
}

/// The NodeInfo document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// `2.1` (or `2.0`).
    pub version: String,
    /// Name and version of the software.
    pub software: Software,
    /// `["activitypub"]`.
    pub protocols: Vec<String>,
    /// Third-party services; none.
    pub services: Services,
    /// Whether anyone may sign up.
    pub open_registrations: bool,
    /// User and post counts.
    pub usage: Usage,
    /// Free-form extra facts.
    pub metadata: serde_json::Value,
}

/// The software block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Software {
    /// Lower-case name, `hearth`.
    pub name: String,
    /// The version string.
    pub version: String,
    /// Source repository (2.1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Homepage (2.1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
}

/// Inbound and outbound bridges to other services.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Services {
    /// Services we can receive from.
    pub inbound: Vec<String>,
    /// Services we can publish to.
    pub outbound: Vec<String>,
}

/// Usage statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Local people.
    pub users: UsageUsers,
    /// Local posts.
    pub local_posts: u64,
}

/// User counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageUsers {
    /// All local people.
    pub total: u64,
    /// Active in the last 30 days.
    pub active_month: u64,
    /// Active in the last 180 days.
    pub active_halfyear: u64,
}
