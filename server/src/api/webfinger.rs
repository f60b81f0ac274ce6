//! WebFinger (RFC 7033) and host-meta: how other servers find `@name@domain`.

use super::AppState;
use crate::{Error, db::actors};
use activitypub_federation::fetch::webfinger::{Webfinger, WebfingerLink};
use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
};
use hearth_federation::protocol::actor::ActorKind;
use serde::Deserialize;
use std::collections::HashMap;
use url::Url;

/// Query of a WebFinger request.
#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// What a WebFinger resource names, once read.
#[derive(Debug, PartialEq, Eq)]
enum Resource {
    /// `acct:name@domain` (or `name@domain`).
    Account { name: String, domain: String },
    /// An actor's URL on this instance.
    Url(Url),
}

fn parse_resource(raw: &str) -> Result<Resource, Error> {
    let malformed = || {
        Error::BadRequest(format!(
            "malformed resource {raw:?}: expected acct:name@domain or an actor URL"
        ))
    };
    let raw = raw.trim();
    if raw.starts_with("https://") || raw.starts_with("http://") {
        return Url::parse(raw).map(Resource::Url).map_err(|_| malformed());
    }
    let acct = raw
        .strip_prefix("acct:")
        .unwrap_or(raw)
        .trim_start_matches('@');
    let (name, domain) = acct.rsplit_once('@').ok_or_else(malformed)?;
    if name.is_empty()
        || domain.is_empty()
        || name.contains(['/', '?', '#', ' '])
        || domain.contains(['/', '?', '#', ' ', '@'])
    {
        return Err(malformed());
    }
    Ok(Resource::Account {
        name: name.to_ascii_lowercase(),
        domain: domain.trim_end_matches('.').to_ascii_lowercase(),
    })
}

/// `GET /.well-known/webfinger?resource=acct:name@domain` (or the actor URL as resource).
///
/// 400 for a missing or malformed resource, 404 for names this instance does not host.
pub async fn webfinger(
    State(state): State<AppState>,
    Query(query): Query<WebfingerQuery>,
) -> Result<Response, Error> {
    let raw = query
        .resource
        .ok_or_else(|| Error::BadRequest("the resource parameter is required".into()))?;
    let unknown = || Error::not_found(format!("{raw} is not hosted here"));
    let ap_id = match parse_resource(&raw)? {
        Resource::Account { name, domain } => {
            if domain != state.urls.domain() {
                return Err(unknown());
            }
            // The instance actor answers to its name, found below like a handle, and to the
            // domain, its name before 2026-12 (`acct:DOMAIN@DOMAIN`, as Mastodon answers).
            if name == state.urls.domain() {
                state.urls.instance_actor().to_string()
            } else {
                let (row, deleted) = state
                    .db
                    .run(move |conn| {
                        Ok(match actors::local_by_username(conn, &name, None)? {
                            Some(row) => (Some(row), false),
                            None => (None, actors::local_tombstone(conn, &name)?.is_some()),
                        })
                    })
                    .await?;
                match row {
                    Some(row) => row.ap_id,
                    None if deleted => return Err(Error::Gone(format!("{raw} was deleted"))),
                    None => return Err(unknown()),
                }
            }
        }
        Resource::Url(url) => url.to_string(),
    };
    let row = state
        .db
        .run(move |conn| Ok(actors::by_ap_id(conn, &ap_id)?))
        .await?
        .filter(|row| row.local)
        .ok_or_else(unknown)?;

    let actor = row.to_federated()?;
    let kind = row.actor_kind();
    let profile = actor
        .profile_url
        .clone()
        .unwrap_or_else(|| actor.ap_id.clone());
    let type_property = HashMap::from([(
        Url::parse("https://www.w3.org/ns/activitystreams#type")
            .map_err(|e| Error::Internal(e.to_string()))?,
        match kind {
            ActorKind::Group => "Group",
            ActorKind::Application => "Application",
            _ => "Person",
        }
        .to_owned(),
    )]);
    let document = Webfinger {
        subject: format!("acct:{}@{}", row.username, state.urls.domain()),
        aliases: vec![actor.ap_id.clone(), profile.clone()],
        links: vec![
            WebfingerLink {
                rel: Some("self".into()),
                kind: Some("application/activity+json".into()),
                href: Some(actor.ap_id.clone()),
                properties: type_property,
                ..Default::default()
            },
            WebfingerLink {
                rel: Some("http://webfinger.net/rel/profile-page".into()),
                kind: Some("text/html".into()),
                href: Some(profile),
                ..Default::default()
            },
        ],
        properties: HashMap::new(),
    };
    Ok((
        [(header::CONTENT_TYPE, "application/jrd+json; charset=utf-8")],
        axum::Json(document),
    )
        .into_response())
}

/// `GET /.well-known/host-meta`: where WebFinger is, for servers that look here first.
pub async fn host_meta(State(state): State<AppState>) -> Response {
    let template = format!(
        "{}.well-known/webfinger?resource={{uri}}",
        state.urls.base()
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{template}\"/>\n</XRD>\n"
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_read_in_every_usual_form() {
        let account = |n: &str, d: &str| Resource::Account {
            name: n.into(),
            domain: d.into(),
        };
        assert_eq!(
            parse_resource("acct:Diabetes@Clinic.example").ok(),
            Some(account("diabetes", "clinic.example"))
        );
        assert_eq!(
            parse_resource("diabetes@localhost:8080").ok(),
            Some(account("diabetes", "localhost:8080"))
        );
        assert_eq!(
            parse_resource("acct:@x@clinic.example.").ok(),
            Some(account("x", "clinic.example"))
        );
        assert!(matches!(
            parse_resource("https://clinic.example/groups/x"),
            Ok(Resource::Url(_))
        ));
        for bad in [
            "",
            "acct:",
            "acct:nodomain",
            "acct:@clinic.example",
            "acct:x@",
            "acct:x@a/b",
        ] {
            assert!(parse_resource(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
