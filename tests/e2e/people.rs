//! People following people across instances, and who sees which posts.

use hearth_tests::{Engine, Instance, UserRole, on_both_engines, settle};
use serde_json::{Value, json};

async fn home_texts(instance: &Instance, token: &str) -> Vec<String> {
    let (status, timeline) = instance
        .api_get("/api/v1/timelines/home", Some(token))
        .await;
    assert_eq!(status, 200, "{timeline}");
    timeline
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["content"].as_str().map(str::to_owned))
        .collect()
}

fn count(texts: &[String], needle: &str) -> usize {
    texts.iter().filter(|t| t.contains(needle)).count()
}

/// People on A and B follow each other and see each other's posts; followers-only posts reach
/// followers only, direct posts only the people mentioned.
async fn people_follow_each_other_and_see_what_they_may(engine: Engine) {
    let (a, b, c) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("ana", UserRole::Member).await;
    a.create_user("zoe", UserRole::Member).await;
    b.create_user("ben", UserRole::Clinician).await;
    c.create_user("cat", UserRole::Member).await;
    let (ana, zoe, ben, cat) = (
        a.token("ana").await,
        a.token("zoe").await,
        b.token("ben").await,
        c.token("cat").await,
    );

    let ben_on_a = a.account_id(&format!("ben@{}", b.domain), &ana).await;
    let ana_on_b = b.account_id(&format!("ana@{}", a.domain), &ben).await;
    let (status, relationship) = a
        .api_post(
            &format!("/api/v1/accounts/{ben_on_a}/follow"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!((status, &relationship["requested"]), (200, &json!(true)));
    b.api_post(
        &format!("/api/v1/accounts/{ana_on_b}/follow"),
        &ben,
        json!({}),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    let (_, rel) = a
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={ben_on_a}"),
            Some(&ana),
        )
        .await;
    assert_eq!(
        (&rel[0]["following"], &rel[0]["followed_by"]),
        (&json!(true), &json!(true)),
        "{rel}"
    );

    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Public from ana" }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, private) = b
        .api_post(
            "/api/v1/statuses",
            &ben,
            json!({ "status": "Only for my followers", "visibility": "private" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(private["visibility"], "private");
    let (status, _) = b
        .api_post("/api/v1/statuses", &ben, json!({ "status": format!("@zoe@{} a word for you alone", a.domain), "visibility": "direct" }))
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b, &c]).await;

    let ben_home = home_texts(&b, &ben).await;
    assert_eq!(count(&ben_home, "Public from ana"), 1);
    let ana_home = home_texts(&a, &ana).await;
    assert_eq!(count(&ana_home, "Only for my followers"), 1, "{ana_home:?}");
    assert_eq!(
        count(&ana_home, "a word for you alone"),
        0,
        "a direct post to someone else"
    );
    let zoe_home = home_texts(&a, &zoe).await;
    assert_eq!(
        count(&zoe_home, "Only for my followers"),
        0,
        "zoe does not follow ben"
    );
    assert_eq!(
        count(&zoe_home, "a word for you alone"),
        1,
        "zoe is mentioned"
    );

    // Zoe cannot open the followers-only post either, even knowing its id.
    let (_, ana_timeline) = a.api_get("/api/v1/timelines/home", Some(&ana)).await;
    let id = ana_timeline
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| {
            s["content"]
                .as_str()
                .is_some_and(|c| c.contains("Only for my followers"))
        })
        .and_then(|s| s["id"].as_str())
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(
        a.api_get(&format!("/api/v1/statuses/{id}"), Some(&zoe))
            .await
            .0,
        404
    );
    assert_eq!(
        a.api_get(&format!("/api/v1/statuses/{id}"), None).await.0,
        404
    );
    assert_eq!(
        a.api_get(&format!("/api/v1/statuses/{id}"), Some(&ana))
            .await
            .0,
        200
    );

    // A private reply is not even counted for those who cannot see it.
    let ana_post_on_b = home_ids(&b, &ben, "Public from ana").await;
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &ben,
            json!({ "status": format!("@ana@{} just between us", a.domain), "visibility": "direct", "in_reply_to_id": ana_post_on_b }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b, &c]).await;
    let ana_post_on_a = home_ids(&a, &ana, "Public from ana").await;
    let (_, for_ana) = a
        .api_get(&format!("/api/v1/statuses/{ana_post_on_a}"), Some(&ana))
        .await;
    let (_, for_zoe) = a
        .api_get(&format!("/api/v1/statuses/{ana_post_on_a}"), Some(&zoe))
        .await;
    assert_eq!(
        (&for_ana["replies_count"], &for_zoe["replies_count"]),
        (&json!(1), &json!(0))
    );

    // Nobody on C follows anyone: C received nothing.
    assert_eq!(c.post_count().await, 0);
    assert_eq!(home_texts(&c, &cat).await, Vec::<String>::new());

    // Unfollowing stops the flow.
    a.api_post(
        &format!("/api/v1/accounts/{ben_on_a}/unfollow"),
        &ana,
        json!({}),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    let (_, followers) = b
        .api_get(
            &format!("/api/v1/accounts/{}/followers", ben_account(&b, &ben).await),
            Some(&ben),
        )
        .await;
    assert_eq!(followers.as_array().map(Vec::len), Some(0), "{followers}");
    b.api_post(
        "/api/v1/statuses",
        &ben,
        json!({ "status": "After the unfollow", "visibility": "private" }),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    assert_eq!(count(&home_texts(&a, &ana).await, "After the unfollow"), 0);
}
on_both_engines!(people_follow_each_other_and_see_what_they_may);

async fn ben_account(b: &Instance, token: &str) -> String {
    let (_, me): (u16, Value) = b
        .api_get("/api/v1/accounts/verify_credentials", Some(token))
        .await;
    me["id"].as_str().unwrap_or_default().to_owned()
}

/// A locked account approves each follower: the request waits in `follow_requests` until the
/// person authorizes it.
async fn a_locked_account_approves_its_followers(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("zoe", UserRole::Member).await;
    b.create_user("ben", UserRole::Clinician).await;
    let (zoe, ben) = (a.token("zoe").await, b.token("ben").await);
    let response = hearth_tests::http()
        .patch(b.url("/api/v1/accounts/update_credentials"))
        .bearer_auth(&ben)
        .json(&json!({ "locked": true, "note": "Diabetes nurse" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (&me["locked"], &me["note"]),
        (&json!(true), &json!("<p>Diabetes nurse</p>"))
    );

    let ben_on_a = a.account_id(&format!("ben@{}", b.domain), &zoe).await;
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{ben_on_a}"), None)
        .await;
    assert_eq!(
        account["locked"], true,
        "the actor document says manuallyApprovesFollowers"
    );
    a.api_post(
        &format!("/api/v1/accounts/{ben_on_a}/follow"),
        &zoe,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, rel) = a
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={ben_on_a}"),
            Some(&zoe),
        )
        .await;
    assert_eq!(rel[0]["requested"], true, "{rel}");

    let (_, requests) = b.api_get("/api/v1/follow_requests", Some(&ben)).await;
    let zoe_on_b = requests[0]["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(requests[0]["username"], "zoe", "{requests}");
    let (status, _) = b
        .api_post(
            &format!("/api/v1/follow_requests/{zoe_on_b}/authorize"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let (_, rel) = a
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={ben_on_a}"),
            Some(&zoe),
        )
        .await;
    assert_eq!(rel[0]["following"], true, "{rel}");
}
on_both_engines!(a_locked_account_approves_its_followers);

/// The home timeline pages like Mastodon's: newest first, `limit`, and `Link` with `max_id`
/// (older) and `min_id` (newer).
async fn the_home_timeline_pages_with_link_headers(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    for n in 1..=5 {
        let (status, _) = a
            .api_post(
                "/api/v1/statuses",
                &ana,
                json!({ "status": format!("note {n}") }),
            )
            .await;
        assert_eq!(status, 200);
    }
    let page = |url: String| {
        let token = ana.clone();
        async move {
            let response = hearth_tests::http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let link = response
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let texts: Vec<String> = body
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["content"].as_str().map(str::to_owned))
                .collect();
            (texts, link)
        }
    };
    let (first, link) = page(a.url("/api/v1/timelines/home?limit=2").to_string()).await;
    assert_eq!(first, vec!["<p>note 5</p>", "<p>note 4</p>"]);
    let next = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .and_then(|l| l.split(['<', '>']).nth(1))
        .unwrap_or_default()
        .to_owned();
    assert!(next.contains("max_id="), "{link}");
    let (second, link) = page(format!("{next}&limit=2")).await;
    assert_eq!(second, vec!["<p>note 3</p>", "<p>note 2</p>"]);
    let prev = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"prev\""))
        .and_then(|l| l.split(['<', '>']).nth(1))
        .unwrap_or_default()
        .to_owned();
    let (newer, _) = page(format!("{prev}&limit=2")).await;
    assert_eq!(
        newer,
        vec!["<p>note 5</p>", "<p>note 4</p>"],
        "min_id pages towards the newest, just above"
    );
}
on_both_engines!(the_home_timeline_pages_with_link_headers);

async fn home_ids(instance: &Instance, token: &str, needle: &str) -> String {
    let (_, timeline) = instance
        .api_get("/api/v1/timelines/home", Some(token))
        .await;
    timeline
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
        .and_then(|s| s["id"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{needle} not in the home timeline: {timeline}"))
}

/// What a person tells about themselves and their posts reaches other servers: profile fields
/// travel as `PropertyValue`s on the actor document, a post's language as its `contentMap`.
async fn profile_fields_and_languages_cross_servers(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("ana", UserRole::Member).await;
    b.create_user("ben", UserRole::Clinician).await;
    let (ana, ben) = (a.token("ana").await, b.token("ben").await);
    let response = hearth_tests::http()
        .patch(b.url("/api/v1/accounts/update_credentials"))
        .bearer_auth(&ben)
        .json(&json!({ "fields_attributes": [
            { "name": "Pronouns", "value": "he/him" },
            { "name": "Works at", "value": "<b>St Mary's</b>" },
        ] }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);

    let ben_on_a = a.account_id(&format!("ben@{}", b.domain), &ana).await;
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{ben_on_a}"), None)
        .await;
    assert_eq!(
        account["fields"],
        json!([
            { "name": "Pronouns", "value": "he/him", "verified_at": null },
            { "name": "Works at", "value": "&lt;b&gt;St Mary's&lt;/b&gt;", "verified_at": null },
        ]),
        "typed text stays text, here and there"
    );

    a.api_post(
        &format!("/api/v1/accounts/{ben_on_a}/follow"),
        &ana,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &ben,
            json!({ "status": "Guten Morgen", "language": "de" }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let (_, home) = a.api_get("/api/v1/timelines/home", Some(&ana)).await;
    assert_eq!(home[0]["language"], "de", "{home}");
}
on_both_engines!(profile_fields_and_languages_cross_servers);

/// An outbox lists a person's public and unlisted posts as `Create`s, twenty a page, newest
/// first, with a `next` page; their followers-only and direct posts stay out. A group's
/// outbox lists its posts inline as the group's `Announce`s, as Lemmy reads it.
async fn outboxes_list_public_posts_a_page_at_a_time(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_group("chat", "Chat").await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let group = a.account_id("chat", &ana).await;
    assert_eq!(a.follow_account(&ana, &group).await.0, 200);
    let mut public = Vec::new();
    for n in 0..25 {
        let visibility = if n % 5 == 0 { "unlisted" } else { "public" };
        let (_, post) = a
            .api_post(
                "/api/v1/statuses",
                &ana,
                json!({ "status": format!("Day {n}"), "visibility": visibility }),
            )
            .await;
        public.push(post["uri"].clone());
    }
    for visibility in ["private", "direct"] {
        a.api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Not for everyone", "visibility": visibility }),
        )
        .await;
    }
    let (_, in_group) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Hello, group", "group_id": group }),
        )
        .await;
    public.push(in_group["uri"].clone());
    public.reverse();

    let (status, outbox) = a.ap_get("/users/ana/outbox").await;
    assert_eq!(status, 200, "{outbox}");
    assert_eq!(outbox["type"], "OrderedCollection");
    let mut listed = Vec::new();
    let mut next = outbox["first"].as_str().map(str::to_owned);
    while let Some(page_url) = next {
        let path = url::Url::parse(&page_url)
            .map(|u| format!("{}?{}", u.path(), u.query().unwrap_or_default()))
            .unwrap_or_default();
        let (status, page) = a.ap_get(&path).await;
        assert_eq!(
            (status, &page["type"]),
            (200, &json!("OrderedCollectionPage")),
            "{page}"
        );
        let items = page["orderedItems"].as_array().cloned().unwrap_or_default();
        assert!(items.len() <= 20, "{page}");
        for item in items {
            assert_eq!(item["type"], "Create", "{item}");
            listed.push(item["object"]["id"].clone());
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(
        listed, public,
        "every public and unlisted post, newest first, nothing else"
    );

    let (status, shared) = a.ap_get("/groups/chat/outbox").await;
    assert_eq!(status, 200, "{shared}");
    let first = &shared["orderedItems"][0];
    assert_eq!(
        (&first["type"], &first["actor"], &first["object"]["type"]),
        (
            &json!("Announce"),
            &json!(a.url("/groups/chat").to_string()),
            &json!("Create")
        ),
        "{shared}"
    );
    assert_eq!(first["object"]["object"]["id"], in_group["uri"]);
}
on_both_engines!(outboxes_list_public_posts_a_page_at_a_time);
