//! Support groups across three real instances (FEP-1b12): joining, posting from every
//! instance, replies, likes, edits and deletions reaching every member exactly once.

use hearth_tests::{Engine, Instance, JoinPolicy, UserRole, Visibility, on_both_engines, settle};
use serde_json::{Value, json};

/// A person on an instance, with their token.
struct Member {
    token: String,
}

async fn member(instance: &Instance, name: &str) -> Member {
    instance.create_user(name, UserRole::Member).await;
    Member {
        token: instance.token(name).await,
    }
}

/// The statuses in `member`'s home timeline on `instance`.
async fn home(instance: &Instance, member: &Member) -> Vec<Value> {
    let (status, timeline) = instance
        .api_get("/api/v1/timelines/home?limit=40", Some(&member.token))
        .await;
    assert_eq!(status, 200, "{timeline}");
    timeline.as_array().cloned().unwrap_or_default()
}

/// The one status in `timeline` whose text contains `needle`; fails if there are none or several.
fn one_with<'a>(timeline: &'a [Value], needle: &str) -> &'a Value {
    let found: Vec<&Value> = timeline
        .iter()
        .filter(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one status with {needle:?}, got {}: {timeline:#?}",
        found.len()
    );
    found[0]
}

fn has(timeline: &[Value], needle: &str) -> bool {
    timeline
        .iter()
        .any(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
}

/// Joins `group` (as `@handle@domain`) from `instance`; returns the group's account id there.
async fn join(instance: &Instance, member: &Member, group: &str) -> String {
    let id = instance.account_id(group, &member.token).await;
    let (status, relationship) = instance
        .api_post(
            &format!("/api/v1/accounts/{id}/follow"),
            &member.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{relationship}");
    id
}

async fn relationship(instance: &Instance, member: &Member, id: &str) -> Value {
    let (_, list) = instance
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={id}"),
            Some(&member.token),
        )
        .await;
    list[0].clone()
}

/// A hosts an open group; people on A, B and C join; posts from each instance reach every
/// member on every instance exactly once; replies thread; likes count; an edit and a deletion
/// propagate.
async fn an_open_group_shares_posts_with_members_on_three_instances(engine: Engine) {
    let (a, b, c) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let group = a.create_group("diabetes", "Diabetes support").await;
    let (alice, bob, carol) = (
        member(&a, "alice").await,
        member(&b, "bob").await,
        member(&c, "carol").await,
    );
    let handle = format!("diabetes@{}", a.domain);

    join(&a, &alice, "diabetes").await;
    let on_b = join(&b, &bob, &handle).await;
    let on_c = join(&c, &carol, &handle).await;
    assert_eq!(
        relationship(&b, &bob, &on_b).await["requested"],
        true,
        "remote joins wait for the Accept"
    );
    settle(&[&a, &b, &c]).await;
    assert_eq!(relationship(&b, &bob, &on_b).await["following"], true);
    assert_eq!(relationship(&c, &carol, &on_c).await["following"], true);
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{}", group.id), None)
        .await;
    assert_eq!(account["followers_count"], 3, "three members: {account}");

    // A post on A, with the group given explicitly.
    let (status, posted) = a
        .api_post(
            "/api/v1/statuses",
            &alice.token,
            json!({ "status": "Hello from A", "group_id": group.id.to_string() }),
        )
        .await;
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["hearth_group"]["acct"], "diabetes");
    // A post on B, by mentioning the group, as a Mastodon user would.
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &bob.token,
            json!({ "status": format!("@{handle} Hello from B") }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b, &c]).await;
    // A post on C, after B's has arrived.
    let (status, _) = c
        .api_post(
            "/api/v1/statuses",
            &carol.token,
            json!({ "status": format!("@{handle} Hello from C"), "visibility": "public" }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b, &c]).await;

    for (instance, person) in [(&a, &alice), (&b, &bob), (&c, &carol)] {
        let timeline = home(instance, person).await;
        for text in ["Hello from A", "Hello from B", "Hello from C"] {
            let status = one_with(&timeline, text);
            assert_eq!(
                status["hearth_group"]["username"], "diabetes",
                "on {}: {status}",
                instance.domain
            );
        }
    }

    // Carol replies on C to Bob's post; the reply threads everywhere.
    let bobs_on_c = one_with(&home(&c, &carol).await, "Hello from B")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, reply) = c
        .api_post(
            "/api/v1/statuses",
            &carol.token,
            json!({ "status": "Welcome, Bob!", "in_reply_to_id": bobs_on_c }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    settle(&[&a, &b, &c]).await;
    for (instance, person) in [(&a, &alice), (&b, &bob)] {
        let timeline = home(instance, person).await;
        let parent = one_with(&timeline, "Hello from B")["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let reply = one_with(&timeline, "Welcome, Bob!");
        assert_eq!(
            reply["in_reply_to_id"],
            parent.as_str(),
            "on {}",
            instance.domain
        );
        let (_, context) = instance
            .api_get(
                &format!("/api/v1/statuses/{parent}/context"),
                Some(&person.token),
            )
            .await;
        assert!(
            context["descendants"]
                .as_array()
                .is_some_and(|d| d.iter().any(|s| s["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("Welcome, Bob!")))),
            "{context}"
        );
    }

    // Alice likes Carol's reply; the count shows on every instance.
    let reply_on_a = one_with(&home(&a, &alice).await, "Welcome, Bob!")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, liked) = a
        .api_post(
            &format!("/api/v1/statuses/{reply_on_a}/favourite"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!((status, &liked["favourited"]), (200, &json!(true)));
    settle(&[&a, &b, &c]).await;
    for (instance, person) in [(&a, &alice), (&b, &bob), (&c, &carol)] {
        let timeline = home(instance, person).await;
        assert_eq!(
            one_with(&timeline, "Welcome, Bob!")["favourites_count"],
            1,
            "on {}",
            instance.domain
        );
    }

    // Bob on B likes it too, then changes his mind: every instance counts 2, then 1.
    let reply_on_b = one_with(&home(&b, &bob).await, "Welcome, Bob!")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    b.api_post(
        &format!("/api/v1/statuses/{reply_on_b}/favourite"),
        &bob.token,
        json!({}),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    for (instance, person) in [(&a, &alice), (&b, &bob), (&c, &carol)] {
        assert_eq!(
            one_with(&home(instance, person).await, "Welcome, Bob!")["favourites_count"],
            2,
            "on {}",
            instance.domain
        );
    }
    b.api_post(
        &format!("/api/v1/statuses/{reply_on_b}/unfavourite"),
        &bob.token,
        json!({}),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    for (instance, person) in [(&a, &alice), (&b, &bob), (&c, &carol)] {
        assert_eq!(
            one_with(&home(instance, person).await, "Welcome, Bob!")["favourites_count"],
            1,
            "on {}",
            instance.domain
        );
    }

    // Bob edits his post; the edit reaches A and C.
    let bobs_on_b = one_with(&home(&b, &bob).await, "Hello from B")["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, edited) = b
        .api_put(
            &format!("/api/v1/statuses/{bobs_on_b}"),
            &bob.token,
            json!({ "status": format!("@{handle} Hello again from B") }),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    settle(&[&a, &b, &c]).await;
    for (instance, person) in [(&a, &alice), (&c, &carol)] {
        let timeline = home(instance, person).await;
        let status = one_with(&timeline, "Hello again from B");
        assert!(
            status["edited_at"].is_string(),
            "on {}: {status}",
            instance.domain
        );
    }

    // Alice deletes her post; it disappears everywhere, and A answers 410 for it.
    let alices = posted["id"].as_str().unwrap_or_default().to_owned();
    let uri = posted["uri"].as_str().unwrap_or_default().to_owned();
    let (status, _) = a
        .api_delete(&format!("/api/v1/statuses/{alices}"), &alice.token)
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b, &c]).await;
    for (instance, person) in [(&a, &alice), (&b, &bob), (&c, &carol)] {
        assert!(
            !has(&home(instance, person).await, "Hello from A"),
            "on {}",
            instance.domain
        );
    }
    let gone = hearth_tests::http()
        .get(&uri)
        .header("accept", "application/activity+json")
        .send()
        .await;
    assert_eq!(gone.map(|r| r.status().as_u16()).ok(), Some(410));
}
on_both_engines!(an_open_group_shares_posts_with_members_on_three_instances);

/// An approval group: B's request waits until A's moderator approves it; then B receives posts.
/// A rejected or banned person receives nothing and cannot post into the group.
async fn an_approval_group_lets_in_only_whom_its_moderators_approve(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let moderator = a.create_user("mona", UserRole::Moderator).await;
    let mona = Member {
        token: a.token("mona").await,
    };
    let group = a
        .create_group_with(
            "long_covid",
            "Long COVID",
            Visibility::Public,
            JoinPolicy::Approval,
            Some(&moderator),
        )
        .await;
    let (bob, eve) = (member(&b, "bob").await, member(&b, "eve").await);
    let handle = format!("long_covid@{}", a.domain);

    let on_b = join(&b, &bob, &handle).await;
    join(&b, &eve, &handle).await;
    settle(&[&a, &b]).await;
    assert_eq!(
        relationship(&b, &bob, &on_b).await["requested"],
        true,
        "still waiting"
    );
    let (status, requests) = a
        .api_get(
            &format!("/api/hearth/v1/groups/{}/requests", group.id),
            Some(&mona.token),
        )
        .await;
    assert_eq!(status, 200);
    let request_ids: Vec<String> = requests
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(request_ids.len(), 2, "{requests}");
    let bob_on_a = requests
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["username"] == "bob")
        .and_then(|r| r["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    let eve_on_a = requests
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["username"] == "eve")
        .and_then(|r| r["id"].as_str())
        .unwrap_or_default()
        .to_owned();

    // Members cannot see who asked; only moderators can.
    let outsider = member(&a, "olga").await;
    let (status, _) = a
        .api_get(
            &format!("/api/hearth/v1/groups/{}/requests", group.id),
            Some(&outsider.token),
        )
        .await;
    assert_eq!(status, 403);

    let (status, _) = a
        .api_post(
            &format!(
                "/api/hearth/v1/groups/{}/requests/{bob_on_a}/approve",
                group.id
            ),
            &mona.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = a
        .api_post(
            &format!(
                "/api/hearth/v1/groups/{}/requests/{eve_on_a}/reject",
                group.id
            ),
            &mona.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    assert_eq!(relationship(&b, &bob, &on_b).await["following"], true);
    assert_eq!(relationship(&b, &eve, &on_b).await["following"], false);

    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &mona.token,
            json!({ "status": "Welcome to the group", "group_id": group.id.to_string() }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    assert!(has(&home(&b, &bob).await, "Welcome to the group"));
    assert!(
        !has(&home(&b, &eve).await, "Welcome to the group"),
        "a rejected person receives nothing"
    );

    // Eve cannot post into it: her own instance refuses, as she is no member.
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &eve.token,
            json!({ "status": "let me in", "group_id": on_b }),
        )
        .await;
    assert_eq!(status, 403);

    // A moderator removes Bob's post in the group: it disappears on B too.
    let (status, _) = b
        .api_post(
            "/api/v1/statuses",
            &bob.token,
            json!({ "status": "A question from Bob", "group_id": on_b }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let (_, group_posts) = a
        .api_get(
            &format!("/api/v1/accounts/{}/statuses", group.id),
            Some(&mona.token),
        )
        .await;
    let bobs = group_posts
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| {
            s["content"]
                .as_str()
                .is_some_and(|c| c.contains("A question from Bob"))
        })
        .and_then(|s| s["id"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("Bob's post did not reach the group: {group_posts}"));
    let (status, _) = a
        .api_delete(&format!("/api/v1/statuses/{bobs}"), &mona.token)
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    assert!(
        !has(&home(&b, &bob).await, "A question from Bob"),
        "the moderator's deletion reached B"
    );

    // Bob is banned: he stops receiving, and his posts are refused by the group.
    let (status, _) = a
        .api_post(
            &format!("/api/hearth/v1/groups/{}/bans/{bob_on_a}", group.id),
            &mona.token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    assert_eq!(
        relationship(&b, &bob, &on_b).await["following"],
        false,
        "the Reject ended the membership"
    );
    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &mona.token,
            json!({ "status": "After the ban", "group_id": group.id.to_string() }),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    assert!(!has(&home(&b, &bob).await, "After the ban"));
    let (_, members) = a
        .api_get(
            &format!("/api/hearth/v1/groups/{}/members", group.id),
            Some(&mona.token),
        )
        .await;
    assert_eq!(members.as_array().map(Vec::len), Some(0), "{members}");
}
on_both_engines!(an_approval_group_lets_in_only_whom_its_moderators_approve);

/// A group renamed on A, with a new description and joining now by request, shows so on B,
/// where a member is: the group sends its members' servers an `Update` of itself.
async fn a_groups_new_name_and_rules_for_joining_reach_its_members_servers(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let group = a.create_group("sleep", "Sleep").await;
    a.create_user("root", UserRole::Admin).await;
    let root = a.token("root").await;
    let bob = member(&b, "bob").await;
    let on_b = join(&b, &bob, &format!("sleep@{}", a.domain)).await;
    settle(&[&a, &b]).await;

    let (status, changed) = a
        .api_patch(
            &format!("/api/hearth/v1/groups/{}", group.id),
            &root,
            json!({ "display_name": "Sleep and fatigue", "description": "Tips for better nights.",
                "join_policy": "approval" }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    settle(&[&a, &b]).await;
    let (status, shown) = b
        .api_get(&format!("/api/v1/accounts/{on_b}"), Some(&bob.token))
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["display_name"], "Sleep and fatigue", "{shown}");
    assert!(
        shown["note"]
            .as_str()
            .is_some_and(|n| n.contains("Tips for better nights.")),
        "{shown}"
    );
    assert_eq!(shown["locked"], true, "joining now needs approval: {shown}");
}
on_both_engines!(a_groups_new_name_and_rules_for_joining_reach_its_members_servers);

/// A group about a hard topic warns by default: its moderator sets a content warning, and a
/// post into it that carries none gets it (and is sensitive), on this server and the
/// members', whether it was written here or on another server; a post with a warning of its
/// own keeps it.
async fn a_groups_default_content_warning_covers_posts_that_carry_none(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let group = a.create_group("coping", "Coping").await;
    a.create_user("root", UserRole::Admin).await;
    let root = a.token("root").await;
    let ana = member(&a, "ana").await;
    let bob = member(&b, "bob").await;
    join(&a, &ana, "coping").await;
    let on_b = join(&b, &bob, &format!("coping@{}", a.domain)).await;
    settle(&[&a, &b]).await;

    let settings = format!("/api/hearth/v1/groups/{}", group.id);
    let too_long = "x".repeat(501);
    let (status, _) = a
        .api_patch(&settings, &root, json!({ "content_warning": too_long }))
        .await;
    assert_eq!(status, 422);
    let (status, changed) = a
        .api_patch(&settings, &root, json!({ "content_warning": "self-harm" }))
        .await;
    assert_eq!(
        (status, &changed["content_warning"]),
        (200, &json!("self-harm")),
        "{changed}"
    );

    let group_id = group.id.to_string();
    let (_, plain) = a
        .api_post(
            "/api/v1/statuses",
            &ana.token,
            json!({ "status": "A hard week", "group_id": group_id }),
        )
        .await;
    assert_eq!(
        (&plain["spoiler_text"], &plain["sensitive"]),
        (&json!("self-harm"), &json!(true)),
        "{plain}"
    );
    let (_, own) = a
        .api_post(
            "/api/v1/statuses",
            &ana.token,
            json!({ "status": "New dose", "group_id": group_id, "spoiler_text": "medication" }),
        )
        .await;
    assert_eq!(own["spoiler_text"], "medication", "{own}");
    let (status, theirs) = b
        .api_post(
            "/api/v1/statuses",
            &bob.token,
            json!({ "status": "Reaching out", "group_id": on_b }),
        )
        .await;
    assert_eq!(status, 200, "{theirs}");
    settle(&[&a, &b]).await;

    let warning_of = |timeline: &[Value], text: &str| {
        timeline
            .iter()
            .find(|s| s["content"].as_str().is_some_and(|c| c.contains(text)))
            .map(|s| s["spoiler_text"].clone())
    };
    let on_a = home(&a, &ana).await;
    assert_eq!(
        warning_of(&on_a, "Reaching out"),
        Some(json!("self-harm")),
        "bob's post, here"
    );
    let on_bs_server = home(&b, &bob).await;
    assert_eq!(
        warning_of(&on_bs_server, "A hard week"),
        Some(json!("self-harm")),
        "ana's post, at B"
    );
    assert_eq!(
        warning_of(&on_bs_server, "New dose"),
        Some(json!("medication"))
    );
}
on_both_engines!(a_groups_default_content_warning_covers_posts_that_carry_none);

/// A group's moderator pins posts of the group (patient education): they come first on the
/// group here and on its members' servers (which hear of it by `Add` and `Remove` to the
/// group's `featured` collection, listed inline); members cannot pin, a post from elsewhere
/// cannot be pinned, and five is the most.
async fn a_groups_pinned_posts_come_first_everywhere(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let group = a.create_group("diabetes", "Diabetes").await;
    a.create_user("mona", UserRole::Moderator).await;
    let mona = a.token("mona").await;
    let ana = member(&a, "ana").await;
    let bob = member(&b, "bob").await;
    join(&a, &ana, "diabetes").await;
    let on_b = join(&b, &bob, &format!("diabetes@{}", a.domain)).await;
    settle(&[&a, &b]).await;
    let group_id = group.id.to_string();
    let mut posts = Vec::new();
    for n in 0..6 {
        let (status, post) = a
            .api_post(
                "/api/v1/statuses",
                &ana.token,
                json!({ "status": format!("Carb counting, part {n}"), "group_id": group_id }),
            )
            .await;
        assert_eq!(status, 200, "{post}");
        posts.push(post);
    }
    let (_, elsewhere) = a
        .api_post(
            "/api/v1/statuses",
            &ana.token,
            json!({ "status": "Not in a group" }),
        )
        .await;
    settle(&[&a, &b]).await;
    let pin_path = |post: &Value| {
        format!(
            "/api/hearth/v1/groups/{group_id}/pins/{}",
            post["id"].as_str().unwrap_or_default()
        )
    };

    assert_eq!(
        a.api_post(&pin_path(&posts[1]), &ana.token, json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        a.api_post(&pin_path(&elsewhere), &mona, json!({})).await.0,
        404
    );
    let (status, pinned) = a.api_post(&pin_path(&posts[1]), &mona, json!({})).await;
    assert_eq!(status, 200, "{pinned}");
    settle(&[&a, &b]).await;

    let pinned_here = format!("/api/v1/accounts/{group_id}/statuses?pinned=true");
    let (_, here) = a.api_get(&pinned_here, Some(&ana.token)).await;
    assert_eq!(here[0]["uri"], posts[1]["uri"], "{here}");
    let (_, actor) = a.ap_get("/groups/diabetes").await;
    assert_eq!(
        actor["featured"],
        a.url("/groups/diabetes/featured").to_string()
    );
    let (_, featured) = a.ap_get("/groups/diabetes/featured").await;
    assert_eq!(
        featured["orderedItems"][0]["id"], posts[1]["uri"],
        "{featured}"
    );
    let pinned_there = format!("/api/v1/accounts/{on_b}/statuses?pinned=true");
    let (_, there) = b.api_get(&pinned_there, Some(&bob.token)).await;
    assert_eq!(there[0]["uri"], posts[1]["uri"], "B shows the pin: {there}");

    for post in &posts[2..6] {
        assert_eq!(a.api_post(&pin_path(post), &mona, json!({})).await.0, 200);
    }
    assert_eq!(
        a.api_post(&pin_path(&posts[0]), &mona, json!({})).await.0,
        422,
        "five at most"
    );

    let (status, _) = a.api_delete(&pin_path(&posts[1]), &mona).await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;
    let (_, there) = b.api_get(&pinned_there, Some(&bob.token)).await;
    let shown: Vec<&Value> = there
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| &s["uri"])
        .collect();
    assert_eq!(shown.len(), 4, "{there}");
    assert!(
        !shown.contains(&&posts[1]["uri"]),
        "the unpinned post is no longer first: {there}"
    );
}
on_both_engines!(a_groups_pinned_posts_come_first_everywhere);

/// A group that keeps its posts 30 days: the hourly expiry deletes the older ones, whoever
/// wrote them and wherever, here and on its members' servers; the newer ones stay.
async fn a_groups_old_posts_expire_here_and_on_its_members_servers(engine: Engine) {
    let (a, b) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let group = a.create_group("parents", "New parents").await;
    a.create_user("root", UserRole::Admin).await;
    let root = a.token("root").await;
    let ana = member(&a, "ana").await;
    let bob = member(&b, "bob").await;
    join(&a, &ana, "parents").await;
    let on_b = join(&b, &bob, &format!("parents@{}", a.domain)).await;
    settle(&[&a, &b]).await;

    let settings = format!("/api/hearth/v1/groups/{}", group.id);
    assert_eq!(
        a.api_patch(&settings, &root, json!({ "retention_days": 4000 }))
            .await
            .0,
        422
    );
    let (status, changed) = a
        .api_patch(&settings, &root, json!({ "retention_days": "30" }))
        .await;
    assert_eq!(
        (status, &changed["retention_days"]),
        (200, &json!(30)),
        "{changed}"
    );

    let group_id = group.id.to_string();
    let mut uris = Vec::new();
    for (server, person, text, group) in [
        (&a, &ana, "Night feeds, week one", &group_id),
        (&b, &bob, "Colic tips, week two", &on_b),
        (&a, &ana, "First smile today", &group_id),
    ] {
        let (status, post) = server
            .api_post(
                "/api/v1/statuses",
                &person.token,
                json!({ "status": text, "group_id": group }),
            )
            .await;
        assert_eq!(status, 200, "{post}");
        uris.push(post["uri"].as_str().unwrap_or_default().to_owned());
    }
    settle(&[&a, &b]).await;
    let before: Vec<Value> = home(&b, &bob).await;
    assert!(
        before.iter().any(|s| s.to_string().contains("Night feeds")),
        "B had it"
    );
    // The first two were written 40 days ago.
    let old = uris[..2].to_vec();
    a.state
        .db
        .write(move |conn| {
            use diesel::prelude::*;
            use hearth::db::schema::posts;
            let then = (chrono::Utc::now() - chrono::TimeDelta::days(40)).naive_utc();
            diesel::update(posts::table.filter(posts::ap_id.eq_any(&old)))
                .set(posts::published_at.eq(then))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let now = chrono::Utc::now().naive_utc();
    let expired = hearth::service::retention::expire(&a.state.ctx, now).await;
    assert_eq!(expired.ok(), Some(2));
    settle(&[&a, &b]).await;
    let texts = |timeline: Vec<Value>| -> Vec<String> {
        timeline
            .iter()
            .filter_map(|s| s["content"].as_str().map(str::to_owned))
            .collect()
    };
    for (place, shown) in [
        ("here", texts(home(&a, &ana).await)),
        ("on B", texts(home(&b, &bob).await)),
    ] {
        let joined = shown.join(" ");
        assert!(joined.contains("First smile today"), "{place}: {joined}");
        assert!(!joined.contains("Night feeds"), "{place}: {joined}");
        assert!(!joined.contains("Colic tips"), "{place}: {joined}");
    }
    assert_eq!(
        hearth::service::retention::expire(&a.state.ctx, now)
            .await
            .ok(),
        Some(0)
    );
}
on_both_engines!(a_groups_old_posts_expire_here_and_on_its_members_servers);
