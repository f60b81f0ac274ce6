//! NodeInfo: which software this server runs, and how busy it is.

use super::AppState;
use crate::{Error, service::instance};
use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use hearth_federation::protocol::nodeinfo::{
    NODEINFO_2_1_REL, NodeInfo, NodeInfoLink, NodeInfoLinks, Services, Software, Usage, UsageUsers,
};

/// `GET /.well-known/nodeinfo`: links to the NodeInfo documents.
pub async fn links(State(state): State<AppState>) -> axum::Json<NodeInfoLinks> {
    axum::Json(NodeInfoLinks {
        links: vec![
            NodeInfoLink {
                rel: "http://nodeinfo.diaspora.software/ns/schema/2.0".into(),
                href: state.urls.path("/nodeinfo/2.0").to_string(),
            },
            NodeInfoLink {
                rel: NODEINFO_2_1_REL.into(),
                href: state.urls.path("/nodeinfo/2.1").to_string(),
            },
        ],
    })
}

/// `GET /nodeinfo/2.1`.
pub async fn nodeinfo_2_1(State(state): State<AppState>) -> Result<Response, Error> {
    document(&state, "2.1").await
}

/// `GET /nodeinfo/2.0` (for older crawlers; no repository or homepage).
pub async fn nodeinfo_2_0(State(state): State<AppState>) -> Result<Response, Error> {
    document(&state, "2.0").await
}

async fn document(state: &AppState, version: &str) -> Result<Response, Error> {
    let stats = instance::stats(&state.db).await?;
    let is_2_1 = version == "2.1";
    let info = NodeInfo {
        version: version.into(),
        software: Software {
            name: "hearth".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            repository: None,
            homepage: is_2_1.then(|| state.urls.base().to_string()),
        },
        protocols: vec!["activitypub".into()],
        services: Services::default(),
        open_registrations: state.settings.registration_mode().anyone_may_ask(),
        usage: Usage {
            // Activity is not tracked per person: Hearth keeps no such data by default.
            users: UsageUsers {
                total: stats.people,
                active_month: stats.people,
                active_halfyear: stats.people,
            },
            local_posts: stats.posts,
        },
        metadata: serde_json::json!({
            "nodeName": state.settings.instance_name,
            "nodeDescription": state.settings.instance_description,
            "supportGroups": stats.groups,
        }),
    };
    let content_type = format!(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\""
    );
    Ok(([(header::CONTENT_TYPE, content_type)], axum::Json(info)).into_response())
}
