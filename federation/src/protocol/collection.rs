//! `OrderedCollection`: outboxes, followers and following lists.

use serde::{Deserialize, Serialize};
use url::Url;

/// An ordered collection. Hearth serves counts and, where allowed, the items inline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderedCollection {
    /// The collection's id.
    pub id: Url,
    /// Always `OrderedCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many items the collection holds.
    pub total_items: u64,
    /// The items, newest first; empty where they are not shown.
    #[serde(default)]
    pub ordered_items: Vec<serde_json::Value>,
}

impl OrderedCollection {
    /// A collection that shows its count and no items.
    pub fn counted(id: Url, total_items: u64) -> Self {
        Self {
            id,
            kind: "OrderedCollection".into(),
            total_items,
            ordered_items: Vec::new(),
        }
    }
}
