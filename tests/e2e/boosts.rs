//! Boosts by people: a boost reaches the booster's followers and the author's server, shows
//! in timelines with the post inside it, counts on both servers, and can be withdrawn.

use hearth_tests::{Engine, Instance, UserRole, on_both_engines, settle};
use serde_json::{Value, json};

/// The statuses of a list whose own text or boosted post's text contains `needle`.
fn mentioning<'a>(list: &'a Value, needle: &str) -> Vec<&'a Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            [&s["content"], &s["reblog"]["content"]]
                .iter()
                .any(|c| c.as_str().is_some_and(|c| c.contains(needle)))
        })
        .collect()
}

/// Ben on B boosts a post of Ana's on A: Bea, who follows Ben, sees the boost with the post
/// inside it; Ana is told, and her post counts the boost and names Ben. Withdrawn, it is
/// gone from both servers. A followers-only post cannot be boosted.
async fn a_boost_travels_and_is_withdrawn(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    a.create_user("ana", UserRole::Member).await;
    b.create_user("ben", UserRole::Member).await;
    b.create_user("bea", UserRole::Member).await;
    let (ana, ben, bea) = (
        a.token("ana").await,
        b.token("ben").await,
        b.token("bea").await,
    );
    let ben_on_b = b.account_id("ben", &bea).await;
    let ana_on_b = b.account_id(&format!("ana@{}", a.domain), &ben).await;
    for (who, whom) in [(&bea, &ben_on_b), (&ben, &ana_on_b)] {
        let (status, body) = b
            .api_post(&format!("/api/v1/accounts/{whom}/follow"), who, json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    settle(&[&a, &b]).await;
    let (status, post) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "Short walks after meals help me" }),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    settle(&[&a, &b]).await;
    let (_, home) = b.api_get("/api/v1/timelines/home", Some(&ben)).await;
    let on_b = mentioning(&home, "Short walks")
        .first()
        .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("Ana's post did not reach Ben: {home}"));

    let (status, boost) = b
        .api_post(&format!("/api/v1/statuses/{on_b}/reblog"), &ben, json!({}))
        .await;
    assert_eq!(status, 200, "{boost}");
    assert_eq!(boost["account"]["username"], "ben");
    assert_eq!(boost["reblog"]["id"], on_b.as_str());
    assert_eq!(
        (
            &boost["reblog"]["reblogged"],
            &boost["reblog"]["reblogs_count"]
        ),
        (&json!(true), &json!(1))
    );
    // Boosting again changes nothing.
    let (status, again) = b
        .api_post(&format!("/api/v1/statuses/{on_b}/reblog"), &ben, json!({}))
        .await;
    assert_eq!((status, &again["id"]), (200, &boost["id"]));

    let (_, bea_home) = b.api_get("/api/v1/timelines/home", Some(&bea)).await;
    let shown = mentioning(&bea_home, "Short walks");
    assert_eq!(shown.len(), 1, "{bea_home}");
    assert_eq!(
        shown[0]["id"], boost["id"],
        "the boost, not the post itself"
    );
    assert_eq!(
        shown[0]["reblog"]["account"]["acct"],
        format!("ana@{}", a.domain)
    );
    let (_, bens) = b
        .api_get(&format!("/api/v1/accounts/{ben_on_b}/statuses"), None)
        .await;
    assert_eq!(mentioning(&bens, "Short walks").len(), 1, "{bens}");
    let (_, without) = b
        .api_get(
            &format!("/api/v1/accounts/{ben_on_b}/statuses?exclude_reblogs=true"),
            None,
        )
        .await;
    assert!(mentioning(&without, "Short walks").is_empty(), "{without}");

    settle(&[&a, &b]).await;
    let post_id = post["id"].as_str().unwrap_or_default();
    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{post_id}"), Some(&ana))
        .await;
    assert_eq!(seen["reblogs_count"], 1, "{seen}");
    let (_, by) = a
        .api_get(&format!("/api/v1/statuses/{post_id}/reblogged_by"), None)
        .await;
    assert_eq!(by[0]["acct"], format!("ben@{}", b.domain), "{by}");
    let (_, told) = a
        .api_get("/api/v1/notifications?types[]=reblog", Some(&ana))
        .await;
    assert_eq!(
        told[0]["account"]["acct"],
        format!("ben@{}", b.domain),
        "{told}"
    );
    assert_eq!(told[0]["status"]["id"], post_id);

    let (status, undone) = b
        .api_post(
            &format!("/api/v1/statuses/{on_b}/unreblog"),
            &ben,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{undone}");
    assert_eq!(
        (&undone["reblogged"], &undone["reblogs_count"]),
        (&json!(false), &json!(0))
    );
    let (_, bea_home) = b.api_get("/api/v1/timelines/home", Some(&bea)).await;
    assert!(
        mentioning(&bea_home, "Short walks").is_empty(),
        "{bea_home}"
    );
    settle(&[&a, &b]).await;
    let (_, seen) = a
        .api_get(&format!("/api/v1/statuses/{post_id}"), Some(&ana))
        .await;
    assert_eq!(seen["reblogs_count"], 0, "the Undo arrived: {seen}");
    let (_, by) = a
        .api_get(&format!("/api/v1/statuses/{post_id}/reblogged_by"), None)
        .await;
    assert_eq!(by, json!([]));

    // Followers-only: Bea's post to her followers stays with them.
    let (_, private) = b
        .api_post(
            "/api/v1/statuses",
            &bea,
            json!({ "status": "Only for my followers", "visibility": "private" }),
        )
        .await;
    let private_id = private["id"].as_str().unwrap_or_default();
    let (status, refused) = b
        .api_post(
            &format!("/api/v1/statuses/{private_id}/reblog"),
            &bea,
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"].is_string(), "{refused}");
}
on_both_engines!(a_boost_travels_and_is_withdrawn);
