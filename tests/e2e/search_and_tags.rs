//! Hashtags, search (`/api/v2/search`) and idempotent posting, as apps use them.

use hearth_tests::{
    Engine, Instance, JoinPolicy, UserRole, Visibility, http, on_both_engines, settle,
};
use serde_json::{Value, json};

async fn post(instance: &Instance, token: &str, body: Value) -> Value {
    let (status, posted) = instance.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{posted}");
    posted
}

fn field(list: &Value, name: &str) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(|s| s[name].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ids(list: &Value) -> Vec<String> {
    field(list, "id")
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Tags written in a post are linked, listed on the status, stored and sent as `Hashtag`
/// tags; another server reads them; the tag timeline shows public posts only.
async fn hashtags_are_linked_listed_and_federated(engine: Engine) {
    let a = Instance::start(&engine).await;
    let b = Instance::start(&engine).await;
    let owner = a.create_user("ana", UserRole::Moderator).await;
    b.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, b.token("bo").await);
    a.create_group_with(
        "private_room",
        "Members only",
        Visibility::MembersOnly,
        JoinPolicy::Approval,
        Some(&owner),
    )
    .await;
    let ana_id = b.account_id(&format!("ana@{}", a.domain), &bo).await;
    b.api_post(&format!("/api/v1/accounts/{ana_id}/follow"), &bo, json!({}))
        .await;
    settle(&[&a, &b]).await;

    let public = post(
        &a,
        &ana,
        json!({"status": "Pacing helps #LongCovid, and #fatigue."}),
    )
    .await;
    assert!(
        text(&public["content"]).contains(&format!(
            "<a href=\"{}tags/longcovid\" class=\"mention hashtag\" rel=\"tag\">#<span>LongCovid</span></a>,",
            a.base
        )),
        "{public}"
    );
    assert_eq!(
        public["tags"],
        json!([
            {"name": "fatigue", "url": format!("{}tags/fatigue", a.base)},
            {"name": "longcovid", "url": format!("{}tags/longcovid", a.base)},
        ])
    );
    post(
        &a,
        &ana,
        json!({"status": "Among us #LongCovid #secretword @private_room"}),
    )
    .await;
    post(
        &a,
        &ana,
        json!({"status": "Followers #LongCovid", "visibility": "private"}),
    )
    .await;
    settle(&[&a, &b]).await;

    let (_, note) = a.ap_get(&format!("/posts/{}", text(&public["id"]))).await;
    let hashtags: Vec<&Value> = note["tag"]
        .as_array()
        .map(|t| t.iter().filter(|t| t["type"] == "Hashtag").collect())
        .unwrap_or_default();
    assert_eq!(
        hashtags,
        [
            &json!({"type": "Hashtag", "href": format!("{}tags/fatigue", a.base), "name": "#fatigue"}),
            &json!({"type": "Hashtag", "href": format!("{}tags/longcovid", a.base), "name": "#longcovid"}),
        ],
        "{note}"
    );

    let (code, timeline) = a.api_get("/api/v1/timelines/tag/LongCovid", None).await;
    assert_eq!(code, 200);
    assert_eq!(
        ids(&timeline),
        [text(&public["id"])],
        "public posts only: neither the members-only nor the followers-only one"
    );
    let (_, local) = a
        .api_get("/api/v1/timelines/tag/longcovid?local=true", None)
        .await;
    assert_eq!(ids(&local), [text(&public["id"])]);
    let (_, remote) = a
        .api_get("/api/v1/timelines/tag/longcovid?remote=true", None)
        .await;
    assert_eq!(ids(&remote), Vec::<String>::new());
    let (_, any) = a
        .api_get("/api/v1/timelines/tag/nosuchtag?any[]=fatigue", None)
        .await;
    assert_eq!(ids(&any), [text(&public["id"])], "any[] widens the tag");
    let (_, none) = a
        .api_get("/api/v1/timelines/tag/longcovid?none[]=fatigue", None)
        .await;
    assert_eq!(ids(&none), Vec::<String>::new(), "none[] excludes");
    let (_, all) = a
        .api_get("/api/v1/timelines/tag/longcovid?all[]=nosuchtag", None)
        .await;
    assert_eq!(ids(&all), Vec::<String>::new(), "all[] requires");
    let (_, media) = a
        .api_get("/api/v1/timelines/tag/longcovid?only_media=true", None)
        .await;
    assert_eq!(ids(&media), Vec::<String>::new(), "no post has media");

    // The other server read the tags of the post it received.
    let (_, on_b) = b
        .api_get("/api/v1/timelines/tag/longcovid?remote=true", Some(&bo))
        .await;
    assert_eq!(field(&on_b, "uri"), [text(&public["uri"])], "{on_b}");
    assert_eq!(
        field(&on_b[0]["tags"], "name"),
        ["fatigue", "longcovid"],
        "{on_b}"
    );

    let (code, tag) = a.api_get("/api/v1/tags/LongCovid", Some(&ana)).await;
    assert_eq!(code, 200);
    assert_eq!(tag["name"], "longcovid");
    assert_eq!(tag["url"], format!("{}tags/longcovid", a.base));
    assert_eq!(tag["following"], false);
    assert_eq!(tag["history"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        (&tag["history"][0]["uses"], &tag["history"][0]["accounts"]),
        (&json!("1"), &json!("1")),
        "today: one public post by one person (the others are not public): {tag}"
    );
    let (code, unknown) = a.api_get("/api/v1/tags/nosuchtag", None).await;
    assert_eq!(code, 200, "an unknown tag is a tag nobody used yet");
    assert_eq!(
        (&unknown["id"], &unknown["history"][0]["uses"]),
        (&json!(""), &json!("0"))
    );
    assert!(unknown.get("following").is_none(), "anonymous: {unknown}");
    let (_, secret) = a.api_get("/api/v1/tags/secretword", Some(&ana)).await;
    assert_eq!(
        secret["id"], "",
        "a tag used only in a members-only group does not show that it exists"
    );
    let (_, empty) = a.api_get("/api/v1/timelines/tag/nosuchtag", None).await;
    assert_eq!(empty, json!([]));
    let (code, page, _) = hearth_tests::Browser::default()
        .get(a.url("/tags/LongCovid").as_str())
        .await;
    assert_eq!(code, 200, "the tag's link leads to a page");
    assert!(page.contains("#longcovid"), "{page}");
    for bad in ["/api/v1/tags/no-dash", "/api/v1/timelines/tag/2026"] {
        let (code, error) = a.api_get(bad, None).await;
        assert_eq!(code, 404, "{bad}");
        assert!(error["error"].is_string(), "{bad}: {error}");
    }

    // An edit changes the post's tags.
    let (code, edited) = a
        .api_put(
            &format!("/api/v1/statuses/{}", text(&public["id"])),
            &ana,
            json!({"status": "Pacing helps #ME_CFS"}),
        )
        .await;
    assert_eq!(code, 200, "{edited}");
    assert_eq!(field(&edited["tags"], "name"), ["me_cfs"]);
    let (_, gone) = a.api_get("/api/v1/timelines/tag/longcovid", None).await;
    assert_eq!(ids(&gone), Vec::<String>::new());
}
on_both_engines!(hashtags_are_linked_listed_and_federated);

/// The tag timeline pages with `Link`, newest first.
async fn the_tag_timeline_pages(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let mut posted = Vec::new();
    for n in 0..3 {
        posted.push(post(&a, &ana, json!({"status": format!("#walk day {n}")})).await);
    }
    let (first, next) = a
        .get_paged("/api/v1/timelines/tag/walk?limit=2", &ana)
        .await;
    assert_eq!(
        ids(&first),
        [text(&posted[2]["id"]), text(&posted[1]["id"])]
    );
    let (rest, _) = a.get_paged(&next.unwrap_or_default(), &ana).await;
    assert_eq!(ids(&rest), [text(&posted[0]["id"])]);
}
on_both_engines!(the_tag_timeline_pages);

/// Text search finds only what the searcher may see, and only for the signed-in; hashtags
/// by the start of their name; bad queries get clear errors.
async fn search_finds_statuses_and_hashtags(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bo", UserRole::Member).await;
    a.create_user("cy", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, a.token("bo").await);
    let first = post(
        &a,
        &ana,
        json!({"status": "Tea & biscuits help #LongCovid"}),
    )
    .await;
    let second = post(&a, &ana, json!({"status": "More BISCUITS today"})).await;
    post(
        &a,
        &bo,
        json!({"status": "biscuits for my followers", "visibility": "private"}),
    )
    .await;
    post(
        &a,
        &bo,
        json!({"status": "@cy biscuits, just for you", "visibility": "direct"}),
    )
    .await;

    let (code, found) = a
        .api_get("/api/v2/search?q=biscuits&type=statuses", Some(&ana))
        .await;
    assert_eq!(code, 200, "{found}");
    assert_eq!(
        ids(&found["statuses"]),
        [text(&second["id"]), text(&first["id"])],
        "case-insensitive, newest first, nothing ana may not see"
    );
    let (_, escaped) = a
        .api_get("/api/v2/search?q=tea%20%26%20biscuits", Some(&ana))
        .await;
    assert_eq!(ids(&escaped["statuses"]), [text(&first["id"])]);
    let (_, paged) = a
        .api_get(
            "/api/v2/search?q=biscuits&type=statuses&offset=1&limit=1",
            Some(&ana),
        )
        .await;
    assert_eq!(ids(&paged["statuses"]), [text(&first["id"])]);
    let bo_id = a.account_id("bo", &ana).await;
    let (_, by_bo) = a
        .api_get(
            &format!("/api/v2/search?q=biscuits&type=statuses&account_id={bo_id}"),
            Some(&bo),
        )
        .await;
    assert_eq!(
        field(&by_bo["statuses"], "visibility"),
        ["direct", "private"],
        "bo's own posts, of bo only"
    );
    let (code, anonymous) = a.api_get("/api/v2/search?q=biscuits", None).await;
    assert_eq!(code, 200);
    assert_eq!(
        anonymous["statuses"],
        json!([]),
        "posts are searched for the signed-in only"
    );

    let (_, tags) = a.api_get("/api/v2/search?q=%23long", None).await;
    assert_eq!(field(&tags["hashtags"], "name"), ["longcovid"]);
    assert_eq!(tags["hashtags"][0]["history"][0]["uses"], "1");
    let (_, tags) = a
        .api_get("/api/v2/search?q=LONG&type=hashtags", Some(&ana))
        .await;
    assert_eq!(field(&tags["hashtags"], "name"), ["longcovid"]);
    let (_, none) = a.api_get("/api/v2/search?q=zzz", Some(&ana)).await;
    assert_eq!(
        none,
        json!({"accounts": [], "statuses": [], "hashtags": []})
    );

    for (query, token, status, message) in [
        ("/api/v2/search?q=", Some(&ana), 400, "q"),
        ("/api/v2/search?q=%20%20", Some(&ana), 400, "q"),
        ("/api/v2/search", None, 400, "q"),
        (
            "/api/v2/search?q=x&resolve=true",
            None,
            401,
            "resolve remote resources",
        ),
        ("/api/v2/search?q=x&offset=1", None, 401, "pagination"),
        ("/api/v2/search?q=x&limit=-1", Some(&ana), 400, "positive"),
        (
            "/api/v2/search?q=x&resolve=perhaps",
            Some(&ana),
            422,
            "boolean",
        ),
    ] {
        let (code, error) = a.api_get(query, token.map(String::as_str)).await;
        assert_eq!(code, status, "{query}: {error}");
        assert!(text(&error["error"]).contains(message), "{query}: {error}");
    }
}
on_both_engines!(search_finds_statuses_and_hashtags);

/// A post of another instance is found by its URL with `resolve=true`: fetched (signed) and
/// kept; without `resolve` it is not fetched; a post that is not public is not kept.
async fn search_resolves_a_remote_post_by_its_url(engine: Engine) {
    let a = Instance::start(&engine).await;
    let b = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, b.token("bo").await);
    let remote = post(&b, &bo, json!({"status": "Pacing works for me #pacing"})).await;
    let private = post(
        &b,
        &bo,
        json!({"status": "Only for my followers", "visibility": "private"}),
    )
    .await;
    let uri = text(&remote["uri"]);
    let encoded = |u: &str| u.replace(':', "%3A").replace('/', "%2F");

    let before = a.post_count().await;
    let (code, unresolved) = a
        .api_get(&format!("/api/v2/search?q={}", encoded(&uri)), Some(&ana))
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        unresolved["statuses"],
        json!([]),
        "not fetched without resolve"
    );
    assert_eq!(a.post_count().await, before);

    let (code, resolved) = a
        .api_get(
            &format!("/api/v2/search?q={}&resolve=true", encoded(&uri)),
            Some(&ana),
        )
        .await;
    assert_eq!(code, 200, "{resolved}");
    let status = &resolved["statuses"][0];
    assert_eq!(status["uri"], uri.as_str(), "{resolved}");
    assert_eq!(status["account"]["acct"], format!("bo@{}", b.domain));
    assert!(text(&status["content"]).contains("Pacing works for me"));
    assert_eq!(field(&status["tags"], "name"), ["pacing"]);
    assert_eq!(resolved["accounts"], json!([]));
    assert_eq!(a.post_count().await, before + 1);
    let (_, shown) = a
        .api_get(
            &format!("/api/v1/statuses/{}", text(&status["id"])),
            Some(&ana),
        )
        .await;
    assert_eq!(
        shown["uri"],
        uri.as_str(),
        "kept, with an id of this instance"
    );
    let (_, again) = a
        .api_get(
            &format!(
                "/api/v2/search?q={}&resolve=true&type=statuses",
                encoded(&uri)
            ),
            Some(&ana),
        )
        .await;
    assert_eq!(
        ids(&again["statuses"]),
        [text(&status["id"])],
        "stored once"
    );
    assert_eq!(a.post_count().await, before + 1);

    let (code, hidden) = a
        .api_get(
            &format!(
                "/api/v2/search?q={}&resolve=true",
                encoded(&text(&private["uri"]))
            ),
            Some(&ana),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(hidden["statuses"], json!([]), "{hidden}");
    assert_eq!(a.post_count().await, before + 1, "nothing kept");
}
on_both_engines!(search_resolves_a_remote_post_by_its_url);

/// `POST /api/v1/statuses` with an `Idempotency-Key`.
async fn post_keyed(instance: &Instance, token: &str, key: &str, text: &str) -> Value {
    let response = http()
        .post(instance.url("/api/v1/statuses"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "status": text }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    response.json().await.unwrap_or(Value::Null)
}

/// A retried post with the same `Idempotency-Key` gives back the first post, per person,
/// even when the retries reach two server processes of one database at once.
async fn a_retried_post_is_written_once(engine: Engine) {
    let a = Instance::start(&engine).await;
    let ana_row = a.create_user("ana", UserRole::Member).await;
    a.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, a.token("bo").await);
    let first = post_keyed(&a, &ana, "key-1", "Hello once").await;
    let retry = post_keyed(&a, &ana, "key-1", "Hello once").await;
    assert_eq!(retry["id"], first["id"]);
    let other_key = post_keyed(&a, &ana, "key-2", "Hello twice").await;
    assert_ne!(other_key["id"], first["id"]);
    let other_person = post_keyed(&a, &bo, "key-1", "Hello from bo").await;
    assert_ne!(other_person["id"], first["id"], "keys are per person");
    assert_eq!(a.post_count().await, 3);

    // After its post is deleted, the key writes a new one.
    a.api_delete(&format!("/api/v1/statuses/{}", text(&first["id"])), &ana)
        .await;
    let after_delete = post_keyed(&a, &ana, "key-1", "Hello again").await;
    assert_ne!(after_delete["id"], first["id"]);

    let second = a.second_process().await;
    let data = second.federation.to_request_data();
    let mut racing = Vec::new();
    for _ in 0..3 {
        let (a_ref, ana) = (&a, ana.clone());
        racing.push(Box::pin(async move {
            text(&post_keyed(a_ref, &ana, "key-3", "Racing").await["id"])
        })
            as std::pin::Pin<
                Box<dyn std::future::Future<Output = String> + Send>,
            >);
        let (ctx, data, author) = (second.ctx.clone(), data.clone(), ana_row.clone());
        racing.push(Box::pin(async move {
            hearth::service::posts::create_status(
                &ctx,
                &data,
                author,
                hearth::service::posts::NewStatus {
                    text: "Racing".into(),
                    idempotency_key: Some("key-3".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .id
            .to_string()
        }));
    }
    let ids = futures::future::join_all(racing).await;
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one post for six tries: {ids:?}"
    );
    assert_eq!(a.post_count().await, 5);
}
on_both_engines!(a_retried_post_is_written_once);
