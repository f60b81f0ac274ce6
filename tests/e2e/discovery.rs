//! Discovery: WebFinger, actor documents, NodeInfo, as another server sees them.

use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use chrono::Utc;
use hearth::db::actors;
use hearth_federation::{objects::actor::FederatedActor, protocol::actor::ActorKind, signatures};
use hearth_tests::{Engine, Instance, UserRole, http, on_both_engines};
use serde_json::Value;
use std::time::Duration;

async fn json(response: reqwest::Response) -> Value {
    response
        .json()
        .await
        .unwrap_or_else(|e| panic!("not JSON: {e}"))
}

async fn get(url: url::Url, accept: &str) -> reqwest::Response {
    http()
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// B resolves `@diabetes@A` by WebFinger and fetches the group actor; the fetch is signed by
/// B's instance actor, and A can verify that signature with B's published key.
async fn a_remote_instance_finds_a_group_by_webfinger_with_a_signed_fetch(engine: Engine) {
    let a = Instance::start(&engine).await;
    let b = Instance::start(&engine).await;
    a.create_group("diabetes", "Diabetes support").await;

    let group: FederatedActor =
        webfinger_resolve_actor(&format!("diabetes@{}", a.domain), &b.federation())
            .await
            .unwrap_or_else(|e| panic!("B could not resolve the group: {e}"));

    assert_eq!(group.kind, ActorKind::Group);
    assert_eq!(group.ap_id, a.url("/groups/diabetes"));
    assert_eq!(group.display_name.as_deref(), Some("Diabetes support"));
    assert_eq!(group.shared_inbox, Some(a.url("/inbox")));
    assert_eq!(group.outbox, Some(a.url("/groups/diabetes/outbox")));
    assert!(!group.local);
    let ap_id = group.ap_id.to_string();
    let stored = b
        .state
        .db
        .run(move |c| Ok(actors::by_ap_id(c, &ap_id)?))
        .await;
    assert!(
        matches!(stored, Ok(Some(row)) if !row.local),
        "B keeps the group it looked up"
    );

    assert!(
        !a.received("/.well-known/webfinger?resource=acct:diabetes@")
            .is_empty()
    );
    let fetch = a
        .received("/groups/diabetes")
        .into_iter()
        .find(|r| r.method == "GET")
        .unwrap_or_else(|| panic!("A never saw the actor fetch"));
    let signature =
        signatures::check_header(&fetch.headers, signatures::REQUIRED_FOR_GET, Utc::now())
            .unwrap_or_else(|e| panic!("the fetch was not properly signed: {e}"));
    assert_eq!(
        signature.key_owner(),
        Some(b.url("/actor")),
        "signed by B's instance actor"
    );
    let b_actor = b.url("/actor").to_string();
    let b_key = b
        .state
        .db
        .run(move |c| Ok(actors::by_ap_id(c, &b_actor)?))
        .await
        .ok()
        .flatten()
        .map(|row| row.public_key_pem)
        .unwrap_or_else(|| panic!("B has no instance actor"));
    signatures::verify(
        &http::Method::GET,
        &fetch.target.parse().unwrap_or_else(|e| panic!("{e}")),
        &fetch.headers,
        &b_key,
        &a.domain,
        Duration::from_secs(3600),
    )
    .unwrap_or_else(|e| panic!("A cannot verify B's signed fetch: {e}"));
}
on_both_engines!(a_remote_instance_finds_a_group_by_webfinger_with_a_signed_fetch);

/// WebFinger answers for people, groups and the instance actor, by handle or by actor URL;
/// unknown names get 404 and malformed resources 400, both with a JSON error.
async fn webfinger_answers_what_it_hosts_and_refuses_the_rest(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_group("long_covid", "Long COVID").await;
    let finger = |resource: String| a.url(&format!("/.well-known/webfinger?resource={resource}"));

    let response = get(
        finger(format!("acct:ana@{}", a.domain)),
        "application/jrd+json",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("application/jrd+json"))
    );
    let doc = json(response).await;
    assert_eq!(doc["subject"], format!("acct:ana@{}", a.domain));
    let links = doc["links"].as_array().cloned().unwrap_or_default();
    let link = |rel: &str| {
        links
            .iter()
            .find(|l| l["rel"] == rel)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(link("self")["href"], a.url("/users/ana").as_str());
    assert_eq!(link("self")["type"], "application/activity+json");
    assert_eq!(
        link("http://webfinger.net/rel/profile-page")["href"],
        a.url("/@ana").as_str()
    );

    let by_url = json(get(finger(a.url("/groups/long_covid").to_string()), "*/*").await).await;
    assert_eq!(by_url["subject"], format!("acct:long_covid@{}", a.domain));
    let upper = get(
        finger(format!("acct:LONG_COVID@{}", a.domain.to_uppercase())),
        "*/*",
    )
    .await;
    assert_eq!(
        upper.status(),
        200,
        "handles and domains are case-insensitive"
    );
    let instance = json(get(finger(format!("acct:{0}@{0}", a.domain)), "*/*").await).await;
    assert_eq!(instance["links"][0]["href"], a.url("/actor").as_str());

    for unknown in [
        format!("acct:nobody@{}", a.domain),
        "acct:ana@elsewhere.example".into(),
    ] {
        let response = get(finger(unknown.clone()), "*/*").await;
        assert_eq!(response.status(), 404, "{unknown}");
        assert!(json(response).await["error"].is_string());
    }
    for malformed in ["ana", "acct:", "acct:@", "acct:ana@"] {
        let response = get(finger(malformed.into()), "*/*").await;
        assert_eq!(response.status(), 400, "{malformed}");
        assert!(json(response).await["error"].is_string());
    }
    let missing = get(a.url("/.well-known/webfinger"), "*/*").await;
    assert_eq!(missing.status(), 400);
}
on_both_engines!(webfinger_answers_what_it_hosts_and_refuses_the_rest);

/// Actor documents carry everything Mastodon, Lemmy and GoToSocial need, in either
/// ActivityPub media type; a browser is sent to the profile page.
async fn actor_documents_are_complete_and_negotiated(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Clinician).await;
    a.create_group("diabetes", "Diabetes support").await;
    a.create_user("ben", UserRole::Member).await;

    for (path, kind) in [
        ("/users/ana", "Person"),
        ("/groups/diabetes", "Group"),
        ("/actor", "Application"),
    ] {
        let response = get(a.url(path), "application/activity+json").await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/activity+json",
            "{path}"
        );
        let doc = json(response).await;
        let id = a.url(path).to_string();
        assert_eq!(doc["type"], kind);
        assert_eq!(doc["id"], id);
        assert!(doc["@context"].is_array());
        for field in ["inbox", "outbox", "followers", "following"] {
            assert_eq!(doc[field], format!("{id}/{field}"), "{path} {field}");
        }
        assert_eq!(doc["endpoints"]["sharedInbox"], a.url("/inbox").as_str());
        assert!(doc["preferredUsername"].is_string());
        assert!(doc["url"].is_string() && doc["published"].is_string());
        assert!(doc["manuallyApprovesFollowers"].is_boolean() && doc["discoverable"].is_boolean());
        assert_eq!(doc["publicKey"]["id"], format!("{id}#main-key"));
        assert_eq!(doc["publicKey"]["owner"], id);
        assert!(
            doc["publicKey"]["publicKeyPem"]
                .as_str()
                .is_some_and(|k| k.contains("BEGIN PUBLIC KEY"))
        );
        assert!(doc.get("privateKeyPem").is_none() && !doc.to_string().contains("PRIVATE KEY"));
    }
    let group = json(get(a.url("/groups/diabetes"), "application/activity+json").await).await;
    assert_eq!(group["name"], "Diabetes support");
    assert_eq!(group["summary"], "<p>A test group.</p>");

    let ld = get(
        a.url("/users/ana"),
        r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#,
    )
    .await;
    assert_eq!(ld.status(), 200);
    assert_eq!(
        ld.headers()["content-type"],
        r#"application/ld+json; profile="https://www.w3.org/ns/activitystreams""#
    );

    let browser = get(a.url("/users/ana"), "text/html").await;
    assert_eq!(browser.status(), 303);
    assert_eq!(browser.headers()["location"], a.url("/@ana").as_str());
    let page = get(a.url("/@ana"), "text/html").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains(&format!("@ana@{}", a.domain))
    );

    for path in [
        "/users/ana/outbox",
        "/groups/diabetes/followers",
        "/users/ana/following",
    ] {
        let doc = json(get(a.url(path), "application/activity+json").await).await;
        assert_eq!(doc["type"], "OrderedCollection", "{path}");
        assert_eq!(doc["totalItems"], 0, "{path}");
        assert_eq!(doc["id"], a.url(path).as_str());
    }
    for missing in [
        "/users/nobody",
        "/groups/ana",
        "/users/diabetes",
        "/users/ana/likes",
    ] {
        let response = get(a.url(missing), "application/activity+json").await;
        assert_eq!(response.status(), 404, "{missing}");
        assert!(json(response).await["error"].is_string());
    }
}
on_both_engines!(actor_documents_are_complete_and_negotiated);

/// People and groups share one handle namespace.
async fn a_handle_belongs_to_one_person_or_one_group(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("diabetes", UserRole::Member).await;
    let taken = hearth::service::groups::create_group(
        &a.state.ctx,
        &hearth::service::audit::Acting::Console,
        hearth::service::groups::NewGroup {
            handle: hearth::service::accounts::Handle::parse("Diabetes")
                .unwrap_or_else(|e| panic!("{e}")),
            display_name: "Diabetes".into(),
            description: String::new(),
            visibility: hearth_tests::Visibility::Public,
            join_policy: hearth_tests::JoinPolicy::Open,
            owner: None,
            rules: Vec::new(),
        },
    )
    .await;
    match taken {
        Err(hearth::Error::Unprocessable(message)) => {
            assert!(message.contains("taken"), "{message}")
        }
        other => panic!("a taken handle must be refused, got {other:?}"),
    }
    assert_eq!(
        a.actor_count().await,
        2,
        "the instance actor and the person, nothing more"
    );
}
on_both_engines!(a_handle_belongs_to_one_person_or_one_group);

/// NodeInfo and host-meta in their documented shapes, with live counts.
async fn nodeinfo_and_host_meta_describe_the_instance(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Admin).await;
    a.create_user("ben", UserRole::Member).await;
    a.create_group("diabetes", "Diabetes support").await;

    let links = json(get(a.url("/.well-known/nodeinfo"), "application/json").await).await;
    let href = links["links"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|l| l["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1")
        })
        .and_then(|l| l["href"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no 2.1 link in {links}"));
    assert_eq!(href, a.url("/nodeinfo/2.1").as_str());
    let response = get(a.url("/nodeinfo/2.1"), "application/json").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.contains("schema/2.1"))
    );
    let info = json(response).await;
    assert_eq!(info["version"], "2.1");
    assert_eq!(info["software"]["name"], "hearth");
    assert_eq!(info["software"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["protocols"], serde_json::json!(["activitypub"]));
    // The default registration mode, approval, lets anyone ask for an account.
    assert_eq!(info["openRegistrations"], true);
    assert_eq!(
        info["usage"]["users"]["total"], 2,
        "people only: not groups, not the instance actor"
    );
    assert_eq!(info["usage"]["localPosts"], 0);
    assert!(info["services"]["inbound"].is_array() && info["metadata"].is_object());
    let old = json(get(a.url("/nodeinfo/2.0"), "application/json").await).await;
    assert_eq!(old["version"], "2.0");

    let host_meta = get(a.url("/.well-known/host-meta"), "*/*").await;
    assert!(
        host_meta.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("application/xrd+xml"))
    );
    let xml = host_meta.text().await.unwrap_or_default();
    assert!(
        xml.contains(&format!(
            "template=\"{}.well-known/webfinger?resource={{uri}}\"",
            a.base
        )),
        "{xml}"
    );
}
on_both_engines!(nodeinfo_and_host_meta_describe_the_instance);

/// An instance whose domain carries a port names its instance actor without it (GoToSocial
/// drops an actor whose `preferredUsername` has a colon, then cannot verify its signatures):
/// the host when it is a dotted name, `instance.actor` otherwise. WebFinger finds the actor by
/// that name and by the domain (its old name), and another instance still verifies the
/// fetches it signs.
async fn the_instance_actor_is_named_without_a_colon(engine: Engine) {
    use hearth_federation::resolver::{Lookup, StaticLookup};
    use std::{collections::HashMap, net::IpAddr, sync::Arc};
    let loopback = vec![IpAddr::from([127, 0, 0, 1])];
    let names: Arc<dyn Lookup> = Arc::new(StaticLookup(HashMap::from([
        ("clinic.test".to_owned(), loopback.clone()),
        ("localhost".to_owned(), loopback),
    ])));
    let a = Instance::start_named(&engine, "clinic.test", names.clone()).await;
    let b = Instance::start_with_lookup(&engine, names).await;

    for (instance, name) in [(&a, "clinic.test"), (&b, "instance.actor")] {
        let (status, actor) = instance.ap_get("/actor").await;
        assert_eq!(status, 200, "{}", instance.domain);
        assert!(instance.domain.contains(':'));
        assert_eq!(actor["preferredUsername"], name, "{}", instance.domain);
        assert!(
            actor["preferredUsername"]
                .as_str()
                .is_some_and(|n| !n.contains(':'))
        );
        for resource in [
            format!("acct:{name}@{}", instance.domain),
            format!("acct:{0}@{0}", instance.domain),
        ] {
            let (status, finger) = instance
                .api_get(&format!("/.well-known/webfinger?resource={resource}"), None)
                .await;
            assert_eq!(status, 200, "{resource}");
            assert_eq!(
                finger["subject"],
                format!("acct:{name}@{}", instance.domain)
            );
            assert_eq!(finger["links"][0]["href"], instance.url("/actor").as_str());
        }
    }

    // ana on A joins a members-only group on B, whose collections answer only signed fetches
    // from a member's server: B verifies A's instance actor.
    let mona = b.create_user("mona", UserRole::Moderator).await;
    let mona_token = b.token("mona").await;
    let group = b
        .create_group_with(
            "circle",
            "Circle",
            hearth_tests::Visibility::MembersOnly,
            hearth_tests::JoinPolicy::Approval,
            Some(&mona),
        )
        .await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let on_a = a.account_id(&format!("circle@{}", b.domain), &ana).await;
    a.api_post(
        &format!("/api/v1/accounts/{on_a}/follow"),
        &ana,
        serde_json::json!({}),
    )
    .await;
    hearth_tests::settle(&[&a, &b]).await;
    let requests = format!("/api/hearth/v1/groups/{}/requests", group.id);
    let (_, pending) = b.api_get(&requests, Some(&mona_token)).await;
    let request = pending[0]["id"].as_str().unwrap_or_default().to_owned();
    let (status, _) = b
        .api_post(
            &format!("{requests}/{request}/approve"),
            &mona_token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200, "ana is a member: {pending}");
    hearth_tests::settle(&[&a, &b]).await;

    let outbox = b.url("/groups/circle/outbox").to_string();
    assert_eq!(b.ap_get("/groups/circle/outbox").await.0, 404, "unsigned");
    assert_eq!(
        a.signed_get(&outbox).await,
        200,
        "signed by A's instance actor"
    );
    let a_actor = a.url("/actor").to_string();
    let known = b
        .state
        .db
        .run(move |c| Ok(actors::by_ap_id(c, &a_actor)?))
        .await
        .ok()
        .flatten()
        .map(|row| row.username);
    assert_eq!(known.as_deref(), Some("clinic.test"));
}
on_both_engines!(the_instance_actor_is_named_without_a_colon);
