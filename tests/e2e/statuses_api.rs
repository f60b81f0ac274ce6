//! What apps do with statuses beyond writing them: bookmarks, pins, favourites, edit history
//! and source, the public timeline, and the endpoints apps call when they start.

use hearth_tests::{
    Engine, Instance, JoinPolicy, UserRole, Visibility, http, on_both_engines, settle,
};
use serde_json::{Value, json};

async fn post(instance: &Instance, token: &str, body: Value) -> Value {
    let (status, posted) = instance.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{posted}");
    posted
}

fn id(status: &Value) -> &str {
    status["id"].as_str().unwrap_or_default()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| l.iter().map(|s| id(s).to_owned()).collect())
        .unwrap_or_default()
}

/// Bookmarks are private to their owner, paged by bookmark, and only of posts one may see.
async fn bookmarks_are_kept_privately(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, a.token("bo").await);
    let first = post(&a, &bo, json!({"status": "first"})).await;
    let second = post(&a, &bo, json!({"status": "second"})).await;
    let private = post(
        &a,
        &bo,
        json!({"status": "followers only", "visibility": "private"}),
    )
    .await;

    for status in [&second, &first] {
        let (code, marked) = a
            .api_post(
                &format!("/api/v1/statuses/{}/bookmark", id(status)),
                &ana,
                json!({}),
            )
            .await;
        assert_eq!((code, &marked["bookmarked"]), (200, &Value::Bool(true)));
    }
    let (code, _) = a
        .api_post(
            &format!("/api/v1/statuses/{}/bookmark", id(&private)),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(code, 404, "a post one may not see cannot be bookmarked");

    let response = http()
        .get(a.url("/api/v1/bookmarks?limit=1"))
        .bearer_auth(&ana)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let link = response.headers()["link"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let page: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(ids(&page), [id(&first)], "the newest bookmark first");
    let next = link
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(url, _)| url.to_owned())
        .unwrap_or_default();
    let (_, rest) = a
        .api_get(next.trim_start_matches(a.base.as_str()), Some(&ana))
        .await;
    assert_eq!(
        ids(&rest),
        [id(&second)],
        "the next page by the bookmark's id"
    );

    let (_, seen_by_bo) = a
        .api_get(&format!("/api/v1/statuses/{}", id(&first)), Some(&bo))
        .await;
    assert_eq!(
        seen_by_bo["bookmarked"], false,
        "bookmarks are the owner's alone"
    );
    let (_, bo_bookmarks) = a.api_get("/api/v1/bookmarks", Some(&bo)).await;
    assert_eq!(ids(&bo_bookmarks), Vec::<String>::new());

    a.api_post(
        &format!("/api/v1/statuses/{}/unbookmark", id(&first)),
        &ana,
        json!({}),
    )
    .await;
    let (_, left) = a.api_get("/api/v1/bookmarks", Some(&ana)).await;
    assert_eq!(ids(&left), [id(&second)]);
}
on_both_engines!(bookmarks_are_kept_privately);

/// One's own posts only, at most five, never a direct message; pinned ones list first.
async fn pins_show_ones_own_posts_first(engine: Engine) {
    let a = Instance::start(&engine).await;
    let ana_row = a.create_user("ana", UserRole::Member).await;
    a.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, a.token("bo").await);
    let mut mine = Vec::new();
    for n in 0..6 {
        mine.push(post(&a, &ana, json!({"status": format!("post {n}")})).await);
    }
    for status in &mine[..5] {
        let (code, pinned) = a
            .api_post(
                &format!("/api/v1/statuses/{}/pin", id(status)),
                &ana,
                json!({}),
            )
            .await;
        assert_eq!(
            (code, &pinned["pinned"]),
            (200, &Value::Bool(true)),
            "{pinned}"
        );
    }
    let (code, error) = a
        .api_post(
            &format!("/api/v1/statuses/{}/pin", id(&mine[5])),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(code, 422, "a sixth pin: {error}");
    let (code, _) = a
        .api_post(
            &format!("/api/v1/statuses/{}/pin", id(&mine[0])),
            &bo,
            json!({}),
        )
        .await;
    assert_eq!(code, 404, "another's post cannot be pinned");
    let direct = post(
        &a,
        &ana,
        json!({"status": "@bo hi", "visibility": "direct"}),
    )
    .await;
    a.api_post(
        &format!("/api/v1/statuses/{}/unpin", id(&mine[4])),
        &ana,
        json!({}),
    )
    .await;
    let (code, _) = a
        .api_post(
            &format!("/api/v1/statuses/{}/pin", id(&direct)),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(code, 422, "a direct message cannot be pinned");

    let (_, pinned) = a
        .api_get(
            &format!("/api/v1/accounts/{}/statuses?pinned=true", ana_row.id),
            Some(&bo),
        )
        .await;
    let mut got = ids(&pinned);
    got.sort();
    let mut want: Vec<String> = mine[..4].iter().map(|s| id(s).to_owned()).collect();
    want.sort();
    assert_eq!(got, want);
    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{}", id(&mine[0])), Some(&ana))
        .await;
    assert_eq!(seen["pinned"], true);
}
on_both_engines!(pins_show_ones_own_posts_first);

/// Favourites list and who favourited; a remote like counts too.
async fn favourites_and_who_favourited(engine: Engine) {
    let a = Instance::start(&engine).await;
    let b = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    b.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, b.token("bo").await);
    let status = post(&a, &ana, json!({"status": "Walking helped today"})).await;
    a.api_post(
        &format!("/api/v1/statuses/{}/favourite", id(&status)),
        &ana,
        json!({}),
    )
    .await;
    let (_, favourites) = a.api_get("/api/v1/favourites", Some(&ana)).await;
    assert_eq!(ids(&favourites), [id(&status)]);

    let ana_id = b.account_id(&format!("ana@{}", a.domain), &bo).await;
    b.api_post(&format!("/api/v1/accounts/{ana_id}/follow"), &bo, json!({}))
        .await;
    settle(&[&a, &b]).await;
    let again = post(&a, &ana, json!({"status": "A second walk"})).await;
    settle(&[&a, &b]).await;
    let (_, home) = b.api_get("/api/v1/timelines/home", Some(&bo)).await;
    let copy = home
        .as_array()
        .and_then(|l| l.iter().find(|s| s["uri"] == again["uri"]).cloned())
        .unwrap_or_else(|| panic!("not delivered: {home}"));
    b.api_post(
        &format!("/api/v1/statuses/{}/favourite", id(&copy)),
        &bo,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let (_, by) = a
        .api_get(
            &format!("/api/v1/statuses/{}/favourited_by", id(&again)),
            Some(&ana),
        )
        .await;
    let accts: Vec<&str> = by
        .as_array()
        .map(|l| l.iter().filter_map(|a| a["acct"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(accts, [format!("bo@{}", b.domain)]);
    let (_, reblogged) = a
        .api_get(
            &format!("/api/v1/statuses/{}/reblogged_by", id(&again)),
            Some(&ana),
        )
        .await;
    assert_eq!(reblogged, json!([]));
}
on_both_engines!(favourites_and_who_favourited);

/// An edit keeps the earlier version; the source gives back the text as written.
async fn edits_keep_their_history(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bo", UserRole::Member).await;
    let (ana, bo) = (a.token("ana").await, a.token("bo").await);
    let status = post(&a, &ana, json!({"status": "Tea & <biscuits>"})).await;
    let (_, source) = a
        .api_get(
            &format!("/api/v1/statuses/{}/source", id(&status)),
            Some(&ana),
        )
        .await;
    assert_eq!(source["text"], "Tea & <biscuits>");
    let (code, edited) = a
        .api_put(
            &format!("/api/v1/statuses/{}", id(&status)),
            &ana,
            json!({"status": "Tea and biscuits", "spoiler_text": "food"}),
        )
        .await;
    assert_eq!(code, 200, "{edited}");
    assert!(edited["edited_at"].is_string());
    let (_, history) = a
        .api_get(
            &format!("/api/v1/statuses/{}/history", id(&status)),
            Some(&bo),
        )
        .await;
    let versions = history.as_array().cloned().unwrap_or_default();
    assert_eq!(versions.len(), 2, "{history}");
    assert!(
        versions[0]["content"]
            .as_str()
            .is_some_and(|c| c.contains("Tea &amp; &lt;biscuits&gt;"))
    );
    assert_eq!(versions[1]["spoiler_text"], "food");
    assert!(
        versions
            .iter()
            .all(|v| v["account"]["id"].is_string() && v["created_at"].is_string())
    );
    let (_, source) = a
        .api_get(
            &format!("/api/v1/statuses/{}/source", id(&status)),
            Some(&ana),
        )
        .await;
    assert_eq!(
        (source["text"].as_str(), source["spoiler_text"].as_str()),
        (Some("Tea and biscuits"), Some("food"))
    );
    let (code, _) = a
        .api_get(
            &format!("/api/v1/statuses/{}/source", id(&status)),
            Some(&bo),
        )
        .await;
    assert_eq!(code, 404, "only the author reads the source");
}
on_both_engines!(edits_keep_their_history);

/// The public timeline shows public posts only, local or remote as asked.
async fn the_public_timeline_shows_public_posts_only(engine: Engine) {
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
    let public = post(&a, &ana, json!({"status": "Open to all"})).await;
    post(
        &a,
        &ana,
        json!({"status": "Quiet", "visibility": "unlisted"}),
    )
    .await;
    post(
        &a,
        &ana,
        json!({"status": "Followers", "visibility": "private"}),
    )
    .await;
    post(&a, &ana, json!({"status": "@private_room members only"})).await;
    let ana_id = b.account_id(&format!("ana@{}", a.domain), &bo).await;
    b.api_post(&format!("/api/v1/accounts/{ana_id}/follow"), &bo, json!({}))
        .await;
    settle(&[&a, &b]).await;
    let bo_id = a.account_id(&format!("bo@{}", b.domain), &ana).await;
    a.api_post(&format!("/api/v1/accounts/{bo_id}/follow"), &ana, json!({}))
        .await;
    settle(&[&a, &b]).await;
    let remote = post(&b, &bo, json!({"status": "Hello from B"})).await;
    settle(&[&a, &b]).await;

    let uris = |list: &Value| -> Vec<String> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|s| s["uri"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (code, all) = a.api_get("/api/v1/timelines/public", None).await;
    assert_eq!(code, 200);
    assert_eq!(
        uris(&all),
        [remote["uri"].clone(), public["uri"].clone()]
            .map(|u| u.as_str().unwrap_or_default().to_owned())
    );
    let (_, local) = a.api_get("/api/v1/timelines/public?local=true", None).await;
    assert_eq!(uris(&local), [public["uri"].as_str().unwrap_or_default()]);
    let (_, remote_only) = a
        .api_get("/api/v1/timelines/public?remote=1", Some(&ana))
        .await;
    assert_eq!(
        uris(&remote_only),
        [remote["uri"].as_str().unwrap_or_default()]
    );
}
on_both_engines!(the_public_timeline_shows_public_posts_only);

/// Every endpoint an app calls at start answers in Mastodon's shape, empty where Hearth has
/// nothing, instead of failing.
async fn startup_endpoints_are_well_formed(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    for path in [
        "/api/v1/custom_emojis",
        "/api/v1/filters",
        "/api/v2/filters",
        "/api/v1/lists",
        "/api/v1/followed_tags",
        "/api/v1/announcements",
        "/api/v1/trends/tags",
        "/api/v1/conversations",
        "/api/v1/bookmarks",
        "/api/v1/favourites",
        "/api/v1/timelines/public?local=true",
    ] {
        let (code, list) = a.api_get(path, Some(&ana)).await;
        assert_eq!((code, list.is_array()), (200, true), "{path}: {list}");
    }
    let (code, preferences) = a.api_get("/api/v1/preferences", Some(&ana)).await;
    assert_eq!(code, 200);
    assert_eq!(preferences["posting:default:visibility"], "public");
    assert!(preferences["reading:expand:spoilers"].is_boolean());
    let (code, _) = a.api_get("/api/v1/lists", None).await;
    assert_eq!(code, 401, "a person's lists need their token");
}
on_both_engines!(startup_endpoints_are_well_formed);
