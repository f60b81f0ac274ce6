//! The federation policy (issue 13) across real instances: A is the clinic whose admin sets the
//! policy, B a trusted clinic, C a server A's admin wants kept out. Each gate is met as C
//! meets it: A's inbox, A's delivery queue, A's fetches and WebFinger look-ups, A's search,
//! follows and group joins, signed fetches of A's objects; and what A keeps of a silenced,
//! media-rejected or report-rejected server.

use crate::media::{fetch, jpeg_with_gps, upload};
use crate::streaming::EventStream;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use hearth::cli::{AdminCommand, Command, DomainArgs, DomainCommand, ModeArg};
use hearth_tests::{
    Engine, Instance, RecordedRequest, Signer, UserRole, follow, on_both_engines, post_raw, settle,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The real server program, started as a child process.
const SERVER: &str = env!("CARGO_BIN_EXE_hearth-under-test");

// --- Helpers ---------------------------------------------------------------------------------

/// Runs `hearth admin ...` against `instance`'s database, as its operator would. The command
/// returns once every process sharing the database applied the change.
pub(crate) async fn admin(instance: &Instance, command: AdminCommand) {
    let shown = format!("{command:?}");
    instance
        .hearth(Command::Admin(command))
        .await
        .unwrap_or_else(|e| panic!("hearth admin {shown}: {e}"));
}

/// `hearth admin federation-mode MODE`.
async fn set_mode(instance: &Instance, mode: ModeArg) {
    admin(
        instance,
        AdminCommand::FederationMode {
            mode: Some(mode),
            public_list: None,
            reason: None,
        },
    )
    .await;
}

/// The arguments of `hearth admin domain ... HOST`.
fn host(host: &str) -> DomainArgs {
    DomainArgs {
        host: host.to_owned(),
        reason: Some("issue 13 test".into()),
        public: false,
    }
}

/// `hearth admin domain ...`.
async fn domain(instance: &Instance, command: DomainCommand) {
    admin(instance, AdminCommand::Domain(command)).await;
}

/// A person on `instance`; their token.
async fn person(instance: &Instance, name: &str) -> String {
    instance.create_user(name, UserRole::Member).await;
    instance.token(name).await
}

/// `name@domain` of a person or group of `instance`.
fn acct(instance: &Instance, name: &str) -> String {
    format!("{name}@{}", instance.domain)
}

/// Resolves `handle` on `instance` (through search) and follows it; the account id there.
async fn follow_handle(instance: &Instance, token: &str, handle: &str) -> String {
    let id = instance.account_id(handle, token).await;
    let (status, relationship) = instance.follow_account(token, &id).await;
    assert_eq!(status, 200, "follow {handle}: {relationship}");
    id
}

/// Posts a status; the status as answered.
async fn post(instance: &Instance, token: &str, body: Value) -> Value {
    let (status, posted) = instance.api_post("/api/v1/statuses", token, body).await;
    assert_eq!(status, 200, "{posted}");
    posted
}

/// The statuses of a timeline (`home`, `public`...) on `instance`.
async fn timeline(instance: &Instance, path: &str, token: Option<&str>) -> Vec<Value> {
    let (status, list) = instance.api_get(path, token).await;
    assert_eq!(status, 200, "{path}: {list}");
    list.as_array().cloned().unwrap_or_default()
}

async fn home(instance: &Instance, token: &str) -> Vec<Value> {
    timeline(instance, "/api/v1/timelines/home?limit=40", Some(token)).await
}

fn has(statuses: &[Value], needle: &str) -> bool {
    statuses
        .iter()
        .any(|s| s["content"].as_str().is_some_and(|c| c.contains(needle)))
}

/// The relationship of the holder of `token` on `instance` with account `id`.
async fn relationship(instance: &Instance, token: &str, id: &str) -> Value {
    let (_, list) = instance
        .api_get(
            &format!("/api/v1/accounts/relationships?id[]={id}"),
            Some(token),
        )
        .await;
    list[0].clone()
}

/// What `instance` stores of the server `domain`: its actors, their posts, and their follows
/// (group memberships included).
async fn stored_from(instance: &Instance, domain: &str) -> (i64, i64, i64) {
    use hearth::db::schema::{actors, follows, posts};
    let domain = domain.to_owned();
    instance
        .state
        .db
        .run(move |conn| {
            let ids: Vec<i64> = actors::table
                .filter(actors::domain.eq(&domain))
                .select(actors::id)
                .load(conn)?;
            let posts = posts::table
                .filter(posts::author_id.eq_any(&ids))
                .count()
                .get_result::<i64>(conn)?;
            let follows = follows::table
                .filter(follows::follower_id.eq_any(&ids))
                .count()
                .get_result::<i64>(conn)?;
            Ok((ids.len() as i64, posts, follows))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// How many deliveries `instance` has waiting for the server `host`.
async fn waiting_for(instance: &Instance, host: &str) -> i64 {
    let host = host.to_owned();
    instance
        .state
        .db
        .run(move |conn| Ok(hearth::db::deliveries::queues(conn)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|q| q.host == host)
        .map(|q| q.pending)
        .sum()
}

/// How many reports `instance` stores.
async fn report_count(instance: &Instance) -> i64 {
    use hearth::db::schema::reports;
    instance
        .state
        .db
        .run(|conn| Ok(reports::table.count().get_result::<i64>(conn)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Every request `instance` has received that is not its client API (which the test itself
/// calls): what other servers asked of it.
fn federation_requests(instance: &Instance) -> Vec<RecordedRequest> {
    instance
        .received("/")
        .into_iter()
        .filter(|r| !r.target.starts_with("/api/"))
        .collect()
}

/// The statuses `instance` answered to POSTs at its inboxes, in order.
fn inbox_posts(instance: &Instance) -> Vec<u16> {
    instance
        .received("/")
        .into_iter()
        .filter(|r| r.method == "POST" && r.target.ends_with("inbox"))
        .map(|r| r.status)
        .collect()
}

/// A `Follow` of `object` by `name` of `from`, signed with that person's key (independently
/// of the code under test) and POSTed to `url` (an inbox of another instance, or of one of its
/// processes; the signature names `signed_for`'s host). Status and JSON.
async fn signed_follow(
    from: &Instance,
    name: &str,
    object: &str,
    signed_for: &url::Url,
    url: &url::Url,
) -> (u16, Value) {
    let actor = from.url(&format!("/users/{name}")).to_string();
    let body = serde_json::to_vec(&follow(&actor, object)).unwrap_or_else(|e| panic!("{e}"));
    let headers = Signer::for_actor(from, &actor)
        .await
        .sign_post(signed_for, &body);
    post_raw(url, headers, body).await
}

/// A signed `Follow` by `name` of `from` to the inbox `path` of `to`.
async fn to_inbox(from: &Instance, name: &str, to: &Instance, path: &str) -> (u16, Value) {
    let inbox = to.url(path);
    let object = to.url("/groups/clinic").to_string();
    signed_follow(from, name, &object, &inbox, &inbox).await
}

/// Asserts a refusal by policy: 403 with a JSON error naming it.
fn assert_refused((status, body): &(u16, Value), what: &str) {
    assert_eq!(*status, 403, "{what}: {body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not allowed by this instance's policy")),
        "{what}: a JSON error body: {body}"
    );
}

// --- Allowlist ---------------------------------------------------------------------------------

/// A (a clinic) closes its network: `federation-mode allowlist` with B (a trusted clinic)
/// allowed, C not. From then on C's activities are refused at A's inbox (403, JSON, nothing
/// stored, no fetch of C), A's people cannot find, resolve or follow C's accounts (no
/// WebFinger or actor fetch reaches C), a group post on A reaches B's member while nothing is
/// queued or sent for C's member, and C's signed fetches (a public post, actors, collections)
/// are refused. B
/// federates as before: joins, follows and posts both ways.
async fn allowlist_mode_federates_with_listed_clinics_only(engine: Engine) {
    let [a, b, c] = Instance::start_many(&engine).await;
    let group = a.create_group("clinic", "Clinic group").await;
    let ana = person(&a, "ana").await;
    let bea = person(&b, "bea").await;
    let cal = person(&c, "cal").await;
    let cy = person(&c, "cy").await;

    // Before: an open network. Cal (on C) joins A's group; Ana finds Cal.
    let group_on_c = follow_handle(&c, &cal, &acct(&a, "clinic")).await;
    settle(&[&a, &c]).await;
    assert_eq!(relationship(&c, &cal, &group_on_c).await["following"], true);
    let cal_on_a = a.account_id(&acct(&c, "cal"), &ana).await;
    let (status, _) = a.follow_account(&ana, &group.id.to_string()).await;
    assert_eq!(status, 200, "Ana joins her clinic's group");

    // The switch, as A's admin makes it: B allowed, then the network closed.
    domain(&a, DomainCommand::Allow(host(&b.domain))).await;
    set_mode(&a, ModeArg::Allowlist).await;
    let asked_of_c = federation_requests(&c).len();
    let posted_to_a = inbox_posts(&a).len();
    let rows = a.rows().await;

    // C -> A: a signed Follow from Cy (unknown on A) is refused before Cy's key is fetched.
    for inbox in ["/groups/clinic/inbox", "/inbox"] {
        assert_refused(&to_inbox(&c, "cy", &a, inbox).await, inbox);
    }
    // And through C's own queue: Cy joins A's group from C; A refuses the delivery.
    let group_for_cy = follow_handle(&c, &cy, &acct(&a, "clinic")).await;
    settle(&[&a, &c]).await;
    assert_eq!(
        relationship(&c, &cy, &group_for_cy).await["following"],
        false,
        "no Accept came back"
    );
    let refused = &inbox_posts(&a)[posted_to_a..];
    assert!(
        refused.len() == 3 && refused.iter().all(|s| *s == 403),
        "every POST from C was refused: {refused:?}"
    );
    assert_eq!(a.rows().await, rows, "nothing of C stored on A");
    assert_eq!(
        stored_from(&a, &c.domain).await.0,
        1,
        "only Cal, from before"
    );

    // A -> C: Ana cannot resolve, find or follow C's people.
    for handle in [acct(&c, "cy"), acct(&c, "cal")] {
        let (status, found) = a
            .api_get(
                &format!("/api/v2/search?q=%40{handle}&resolve=true"),
                Some(&ana),
            )
            .await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["accounts"], json!([]), "{handle}: {found}");
    }
    assert_refused(&a.follow_account(&ana, &cal_on_a).await, "Ana follows Cal");

    // B federates as before: Bea joins A's group, Ana follows Bea.
    let group_on_b = follow_handle(&b, &bea, &acct(&a, "clinic")).await;
    follow_handle(&a, &ana, &acct(&b, "bea")).await;
    settle(&[&a, &b]).await;
    assert_eq!(relationship(&b, &bea, &group_on_b).await["following"], true);

    // A group post on A: queued for B, not for C (whose member Cal is still on the list).
    let posted = post(
        &a,
        &ana,
        json!({ "status": "Clinic hours change on Monday", "group_id": group.id.to_string() }),
    )
    .await;
    assert!(waiting_for(&a, &b.domain).await > 0, "queued for B");
    assert_eq!(waiting_for(&a, &c.domain).await, 0, "nothing queued for C");
    settle(&[&a, &b, &c]).await;
    assert!(
        has(&home(&b, &bea).await, "Clinic hours change"),
        "B got it"
    );
    assert!(
        !has(&home(&c, &cal).await, "Clinic hours change"),
        "C did not"
    );
    // Bea posts; Ana, who follows her, reads it.
    post(
        &b,
        &bea,
        json!({ "status": "Our clinic says hello", "visibility": "public" }),
    )
    .await;
    settle(&[&a, &b]).await;
    assert!(has(&home(&a, &ana).await, "Our clinic says hello"));

    // Serving: C's signed fetches are refused, of a public post and of every actor and public
    // collection; B's are answered.
    let mut served = vec![posted["uri"].as_str().unwrap_or_default().to_owned()];
    for path in [
        "/users/ana",
        "/users/ana/outbox",
        "/users/ana/followers",
        "/groups/clinic",
        "/groups/clinic/outbox",
        "/groups/clinic/followers",
        "/actor",
    ] {
        served.push(a.url(path).to_string());
    }
    for uri in &served {
        assert_eq!(b.signed_get(uri).await, 200, "B fetches {uri}");
        assert_eq!(c.signed_get(uri).await, 403, "C fetches {uri}");
    }

    let asked: Vec<String> = federation_requests(&c)[asked_of_c..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert!(
        asked.is_empty(),
        "after the switch A asked nothing of C (no WebFinger, fetch or delivery): {asked:?}"
    );
}
on_both_engines!(allowlist_mode_federates_with_listed_clinics_only);

// --- Suspend -----------------------------------------------------------------------------------

/// A's admin suspends C at the command line: C's accounts, posts and group memberships stored
/// on A are removed, deliveries waiting for C dropped (B's kept and delivered), C's inbox
/// POSTs refused; B's member and posts are untouched. `domain remove` lets C federate again.
async fn a_suspended_server_is_cut_off_and_purged_until_unblocked(engine: Engine) {
    let [a, b, c] = Instance::start_many(&engine).await;
    let group = a.create_group("clinic", "Clinic group").await;
    let ana = person(&a, "ana").await;
    let bea = person(&b, "bea").await;
    let cal = person(&c, "cal").await;
    follow_handle(&b, &bea, &acct(&a, "clinic")).await;
    follow_handle(&c, &cal, &acct(&a, "clinic")).await;
    follow_handle(&a, &ana, &acct(&c, "cal")).await;
    let (status, _) = a.follow_account(&ana, &group.id.to_string()).await;
    assert_eq!(status, 200, "Ana joins her clinic's group");
    settle(&[&a, &b, &c]).await;
    let group_at = |who: &str| json!({ "status": format!("@clinic@{} {who}", a.domain) });
    post(&c, &cal, group_at("Cal's question about dosage")).await;
    post(&b, &bea, group_at("Bea's answer from B")).await;
    post(
        &c,
        &cal,
        json!({ "status": "Cal's public note", "visibility": "public" }),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    let (actors, posts, follows) = stored_from(&a, &c.domain).await;
    assert!(
        actors >= 1 && posts >= 2 && follows >= 1,
        "A knows Cal, his posts and membership: {:?}",
        (actors, posts, follows)
    );
    let from_b = stored_from(&a, &b.domain).await;
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{}", group.id), None)
        .await;
    assert_eq!(account["followers_count"], 3, "Ana, Bea and Cal: {account}");
    // A group post waits in A's queue for both servers.
    post(
        &a,
        &ana,
        json!({ "status": "Group meeting moved", "group_id": group.id.to_string() }),
    )
    .await;
    assert!(waiting_for(&a, &c.domain).await > 0);
    assert!(waiting_for(&a, &b.domain).await > 0);

    domain(&a, DomainCommand::Suspend(host(&c.domain))).await;
    let asked_of_c = federation_requests(&c).len();

    assert_eq!(
        stored_from(&a, &c.domain).await,
        (0, 0, 0),
        "C's accounts, posts and memberships are gone"
    );
    assert_eq!(stored_from(&a, &b.domain).await, from_b, "B's untouched");
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{}", group.id), None)
        .await;
    assert_eq!(
        account["followers_count"], 2,
        "Ana and Bea remain: {account}"
    );
    assert!(!has(&home(&a, &ana).await, "Cal's public note"));
    assert_eq!(
        waiting_for(&a, &c.domain).await,
        0,
        "C's deliveries dropped"
    );
    assert!(waiting_for(&a, &b.domain).await > 0, "B's kept");
    assert_refused(
        &to_inbox(&c, "cal", &a, "/groups/clinic/inbox").await,
        "Cal",
    );
    assert_eq!(
        stored_from(&a, &c.domain).await.0,
        0,
        "and not fetched again"
    );
    settle(&[&a, &b]).await;
    assert!(has(&home(&b, &bea).await, "Group meeting moved"));
    assert!(
        federation_requests(&c)[asked_of_c..].is_empty(),
        "nothing was sent to C"
    );

    // Unblocked: C federates again. Cy on C joins the group and gets its next post.
    domain(&a, DomainCommand::Remove(host(&c.domain))).await;
    let cy = person(&c, "cy").await;
    let group_on_c = follow_handle(&c, &cy, &acct(&a, "clinic")).await;
    settle(&[&a, &b, &c]).await;
    assert_eq!(relationship(&c, &cy, &group_on_c).await["following"], true);
    post(
        &a,
        &ana,
        json!({ "status": "Welcome back, C", "group_id": group.id.to_string() }),
    )
    .await;
    settle(&[&a, &b, &c]).await;
    assert!(has(&home(&c, &cy).await, "Welcome back, C"));
    follow_handle(&a, &ana, &acct(&c, "cal")).await;
}
on_both_engines!(a_suspended_server_is_cut_off_and_purged_until_unblocked);

// --- Silence -----------------------------------------------------------------------------------

/// C silenced: Cal's public post stays out of A's public timelines and of search for people
/// who do not follow him (timelines, streams, search), yet Ana, who follows Cal, still has it
/// in her home timeline and public stream.
async fn a_silenced_servers_posts_reach_followers_only(engine: Engine) {
    let [a, c] = Instance::start_many(&engine).await;
    let ana = person(&a, "ana").await;
    let obi = person(&a, "obi").await;
    let cal = person(&c, "cal").await;
    follow_handle(&a, &ana, &acct(&c, "cal")).await;
    settle(&[&a, &c]).await;
    post(
        &c,
        &cal,
        json!({ "status": "Buy miracle kale tonic now", "visibility": "public" }),
    )
    .await;
    settle(&[&a, &c]).await;
    let public = "/api/v1/timelines/public?limit=40";
    let search = "/api/v2/search?q=kale%20tonic&type=statuses";
    let found = |list: &Value| has(list["statuses"].as_array().map_or(&[], |v| v), "kale");

    // Open network: everyone on A sees it.
    assert!(has(&timeline(&a, public, None).await, "kale"));
    assert!(has(&timeline(&a, public, Some(&obi)).await, "kale"));
    assert!(found(&a.api_get(search, Some(&obi)).await.1));

    domain(&a, DomainCommand::Silence(host(&c.domain))).await;
    assert!(!has(&timeline(&a, public, None).await, "kale"), "anonymous");
    assert!(!has(&timeline(&a, public, Some(&obi)).await, "kale"), "Obi");
    assert!(
        !has(
            &timeline(&a, "/api/v1/timelines/public?remote=true", Some(&obi)).await,
            "kale"
        ),
        "remote only"
    );
    let (status, results) = a.api_get(search, Some(&obi)).await;
    assert_eq!(status, 200, "{results}");
    assert!(!found(&results), "search: {results}");
    assert!(has(&home(&a, &ana).await, "kale"), "Ana follows Cal");
    // Silenced is not refused: Cal's next post still arrives for Ana, live on her public
    // stream too, while Obi's public stream passes it over.
    let mut anas_stream = EventStream::open(&a, "/api/v1/streaming/public", &ana).await;
    let mut obis_stream = EventStream::open(&a, "/api/v1/streaming/public", &obi).await;
    post(
        &c,
        &cal,
        json!({ "status": "Second kale offer", "visibility": "public" }),
    )
    .await;
    settle(&[&a, &c]).await;
    assert!(has(&home(&a, &ana).await, "Second kale offer"));
    assert!(!has(&timeline(&a, public, None).await, "Second kale"));
    post(
        &a,
        &obi,
        json!({ "status": "Walking group at noon", "visibility": "public" }),
    )
    .await;
    let seen_by_ana = anas_stream.until("update", "Walking group").await;
    assert!(
        seen_by_ana
            .iter()
            .any(|(_, data)| data.contains("Second kale offer")),
        "{seen_by_ana:?}"
    );
    let seen_by_obi = obis_stream.until("update", "Walking group").await;
    assert!(
        !seen_by_obi.iter().any(|(_, data)| data.contains("kale")),
        "{seen_by_obi:?}"
    );
}
on_both_engines!(a_silenced_servers_posts_reach_followers_only);

// --- reject_media and reject_reports -----------------------------------------------------------

/// `reject-reports`: a `Flag` from C is received (202) but makes no report on A, where the
/// same report made one before the rule.
async fn reports_of_a_reject_reports_domain_are_dropped(engine: Engine) {
    let [a, c] = Instance::start_many(&engine).await;
    a.create_user("rex", UserRole::Member).await;
    let cal = person(&c, "cal").await;
    let rex_on_c = c.account_id(&acct(&a, "rex"), &cal).await;
    let report = || async {
        let (status, report) = c
            .api_post(
                "/api/v1/reports",
                &cal,
                json!({ "account_id": rex_on_c, "forward": true, "comment": "Spam", "category": "spam" }),
            )
            .await;
        assert_eq!(status, 200, "{report}");
        settle(&[&a, &c]).await;
    };
    let accepted = || inbox_posts(&a).iter().filter(|s| **s == 202).count();

    report().await;
    assert_eq!(report_count(&a).await, 1, "a Flag from C makes a report");
    let flags = accepted();

    domain(&a, DomainCommand::RejectReports(host(&c.domain))).await;
    report().await;
    assert_eq!(accepted(), flags + 1, "the second Flag arrived");
    assert_eq!(report_count(&a).await, 1, "and made no report");
}
on_both_engines!(reports_of_a_reject_reports_domain_are_dropped);

/// `reject-media`: Cal's photo and avatar (on C) are neither fetched nor served by A: the photo
/// is "not found", the avatar the default image, and C is asked for neither. Without the rule,
/// A fetches the photo from C.
async fn media_of_a_reject_media_domain_is_not_fetched(engine: Engine) {
    let [a, c] = Instance::start_many(&engine).await;
    let ana = person(&a, "ana").await;
    let cal = person(&c, "cal").await;
    let (status, media) = upload(&c, &cal, "photo.jpg", jpeg_with_gps()).await;
    assert_eq!(status, 200, "{media}");
    let cal_on_a = follow_handle(&a, &ana, &acct(&c, "cal")).await;
    settle(&[&a, &c]).await;
    post(
        &c,
        &cal,
        json!({ "status": "My inhaler", "media_ids": [media["id"]], "visibility": "public" }),
    )
    .await;
    settle(&[&a, &c]).await;
    let shown = home(&a, &ana).await;
    let photo = shown
        .iter()
        .find(|s| s["content"].as_str().is_some_and(|c| c.contains("inhaler")))
        .map(|s| s["media_attachments"][0]["url"].clone())
        .and_then(|u| u.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no photo on A: {shown:?}"));
    assert!(
        photo.starts_with(a.url("/media/proxy/").as_str()),
        "{photo}"
    );
    let file_on_c = url::Url::parse(media["url"].as_str().unwrap_or_default())
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|e| panic!("{e}"));

    domain(&a, DomainCommand::RejectMedia(host(&c.domain))).await;
    let (status, _, _) = fetch(&photo, Some(&ana)).await;
    assert_eq!(status, 404, "the photo is not served");
    assert!(c.received(&file_on_c).is_empty(), "nor fetched from C");
    // Cal's avatar: the default image here, never his from C.
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{cal_on_a}"), Some(&ana))
        .await;
    let avatar = account["avatar"].as_str().unwrap_or_default().to_owned();
    if avatar.starts_with(a.url("/media/proxy/").as_str()) {
        let (status, headers, _) = fetch(&avatar, None).await;
        assert_eq!(status, 303, "{avatar}");
        assert!(
            headers["location"]
                .to_str()
                .is_ok_and(|l| l.starts_with(a.url("/static/").as_str())),
            "{headers:?}"
        );
    }
    // The rule lifted, the same photo is fetched from C (once) and served.
    domain(&a, DomainCommand::Remove(host(&c.domain))).await;
    let (status, _, _) = fetch(&photo, Some(&ana)).await;
    assert_eq!(status, 200);
    assert_eq!(c.received(&file_on_c).len(), 1);
}
on_both_engines!(media_of_a_reject_media_domain_is_not_fetched);

// --- The admin API -----------------------------------------------------------------------------

fn sha256(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// Mastodon's admin `domain_blocks` and `domain_allows` and Hearth's `federation-mode`: shapes
/// (string ids, digest), canonical domains (`LOCALHOST:PORT.` is stored as `localhost:PORT`,
/// and is in force), 403 for members and moderators, 422 for a bad severity, a duplicate block
/// or a bad mode, the public list 404 until an admin shows it (an obfuscated domain starred),
/// and every change in the audit log.
async fn the_admin_api_manages_blocks_allows_and_the_mode(engine: Engine) {
    let [a, c] = Instance::start_many(&engine).await;
    a.create_group("clinic", "Clinic group").await;
    a.create_user("root", UserRole::Admin).await;
    a.create_user("mo", UserRole::Moderator).await;
    c.create_user("cal", UserRole::Member).await;
    let root = a.token("root").await;
    let mo = a.token("mo").await;
    let mel = person(&a, "mel").await;
    let blocks = "/api/v1/admin/domain_blocks";
    let allows = "/api/v1/admin/domain_allows";
    let mode = "/api/hearth/v1/admin/federation-mode";

    // Only admins.
    for token in [&mel, &mo] {
        assert_eq!(a.api_get(blocks, Some(token)).await.0, 403);
        assert_eq!(a.api_get(allows, Some(token)).await.0, 403);
        assert_eq!(a.api_get(mode, Some(token)).await.0, 403);
        let (status, _) = a
            .api_post(
                blocks,
                token,
                json!({ "domain": c.domain, "severity": "suspend" }),
            )
            .await;
        assert_eq!(status, 403);
        let (status, _) = a
            .api_post(allows, token, json!({ "domain": "x.example" }))
            .await;
        assert_eq!(status, 403);
        let (status, _) = a.api_put(mode, token, json!({ "mode": "allowlist" })).await;
        assert_eq!(status, 403);
    }
    assert_eq!(a.api_get(blocks, None).await.0, 401);
    assert_eq!(
        to_inbox(&c, "cal", &a, "/inbox").await.0,
        202,
        "C federates so far"
    );

    let (status, shown) = a.api_get(mode, Some(&root)).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["mode"], "open");
    assert_eq!(shown["public_domain_blocks"], false);
    assert_eq!(
        a.api_get("/api/v1/instance/domain_blocks", None).await.0,
        404
    );

    // A block typed in upper case with a trailing dot is stored canonically.
    let typed = format!("{}.", c.domain.to_uppercase());
    let (status, block) = a
        .api_post(
            blocks,
            &root,
            json!({
                "domain": typed, "severity": "suspend", "reject_media": true,
                "private_comment": "spam wave in May", "public_comment": "Spam",
                "obfuscate": true,
            }),
        )
        .await;
    assert_eq!(status, 200, "{block}");
    let id = block["id"].as_str().unwrap_or_default().to_owned();
    assert!(id.parse::<i64>().is_ok(), "a string id: {block}");
    assert_eq!(
        block["domain"],
        c.domain.as_str(),
        "{typed} stored canonically"
    );
    assert_eq!(block["digest"], sha256(&c.domain));
    assert_eq!(
        (
            &block["severity"],
            &block["reject_media"],
            &block["reject_reports"],
            &block["private_comment"],
            &block["public_comment"],
            &block["obfuscate"]
        ),
        (
            &json!("suspend"),
            &json!(true),
            &json!(false),
            &json!("spam wave in May"),
            &json!("Spam"),
            &json!(true)
        ),
        "{block}"
    );
    assert!(block["created_at"].as_str().is_some(), "{block}");
    // In force in this process at once, for the host however it was typed.
    assert_refused(
        &to_inbox(&c, "cal", &a, "/inbox").await,
        "C after the block",
    );

    // A second block of the same domain, however spelt, and a bad severity: 422.
    for body in [
        json!({ "domain": c.domain, "severity": "silence" }),
        json!({ "domain": typed }),
        json!({ "domain": "spam.example", "severity": "obliterate" }),
        json!({ "domain": "" }),
    ] {
        let (status, error) = a.api_post(blocks, &root, body.clone()).await;
        assert_eq!(status, 422, "{body}: {error}");
        assert!(error["error"].as_str().is_some(), "{error}");
    }

    let (status, list) = a.api_get(blocks, Some(&root)).await;
    assert_eq!(status, 200);
    assert_eq!(list, json!([block]), "the list holds the block as created");
    let (status, one) = a.api_get(&format!("{blocks}/{id}"), Some(&root)).await;
    assert_eq!((status, &one), (200, &block));
    assert_eq!(a.api_get(&format!("{blocks}/1"), Some(&root)).await.0, 404);

    // PUT changes what it names and keeps the rest.
    let (status, changed) = a
        .api_put(
            &format!("{blocks}/{id}"),
            &root,
            json!({ "severity": "silence" }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["id"], id.as_str());
    assert_eq!(changed["severity"], "silence");
    assert_eq!(changed["reject_media"], true);
    assert_eq!(changed["public_comment"], "Spam");
    let (status, _) = a
        .api_put(
            &format!("{blocks}/{id}"),
            &root,
            json!({ "severity": "obliterate" }),
        )
        .await;
    assert_eq!(status, 422);

    // The public list: hidden until shown; then the obfuscated domain is starred.
    let (status, shown) = a
        .api_put(mode, &root, json!({ "public_domain_blocks": true }))
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["public_domain_blocks"], true);
    assert_eq!(
        shown["mode"], "blocklist",
        "a block switched open to blocklist"
    );
    assert_eq!(shown["domain_blocks"], 1);
    let (status, public) = a.api_get("/api/v1/instance/domain_blocks", None).await;
    assert_eq!(status, 200, "{public}");
    let entry = &public[0];
    let starred = entry["domain"].as_str().unwrap_or_default();
    assert!(
        starred.contains('*') && starred != c.domain && starred.len() == c.domain.len(),
        "{public}"
    );
    assert_eq!(entry["digest"], sha256(&c.domain));
    assert_eq!(entry["severity"], "silence");
    assert_eq!(entry["comment"], "Spam");
    assert!(
        entry.get("private_comment").is_none(),
        "no private comment in public: {entry}"
    );

    let (status, gone) = a.api_delete(&format!("{blocks}/{id}"), &root).await;
    assert_eq!((status, gone), (200, json!({})));
    assert_eq!(
        a.api_get(&format!("{blocks}/{id}"), Some(&root)).await.0,
        404
    );
    assert_eq!(a.api_get(blocks, Some(&root)).await.1, json!([]));
    assert_eq!(
        a.api_get("/api/v1/instance/domain_blocks", None).await.1,
        json!([])
    );

    // Allows.
    let (status, allow) = a
        .api_post(
            allows,
            &root,
            json!({ "domain": "Trusted.Clinic.Example." }),
        )
        .await;
    assert_eq!(status, 200, "{allow}");
    let allow_id = allow["id"].as_str().unwrap_or_default().to_owned();
    assert!(allow_id.parse::<i64>().is_ok(), "{allow}");
    assert_eq!(allow["domain"], "trusted.clinic.example");
    assert!(allow["created_at"].as_str().is_some());
    let (status, again) = a
        .api_post(allows, &root, json!({ "domain": "trusted.clinic.example" }))
        .await;
    assert_eq!((status, &again["id"]), (200, &allow["id"]), "{again}");
    assert_eq!(a.api_get(allows, Some(&root)).await.1, json!([allow]));
    let (status, one) = a
        .api_get(&format!("{allows}/{allow_id}"), Some(&root))
        .await;
    assert_eq!((status, &one), (200, &allow));

    // The mode: allowlist, with a reason; a bad mode is refused.
    let (status, shown) = a
        .api_put(
            mode,
            &root,
            json!({ "mode": "allowlist", "reason": "closed clinic network" }),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (&shown["mode"], &shown["domain_allows"]),
        (&json!("allowlist"), &json!(1))
    );
    assert_refused(&to_inbox(&c, "cal", &a, "/inbox").await, "C not allowed");
    for body in [json!({ "mode": "closed" }), json!({})] {
        let (status, error) = a.api_put(mode, &root, body.clone()).await;
        assert_eq!(status, 422, "{body}: {error}");
    }
    assert_eq!(a.api_get(mode, Some(&root)).await.1["mode"], "allowlist");

    let (status, gone) = a.api_delete(&format!("{allows}/{allow_id}"), &root).await;
    assert_eq!((status, gone), (200, json!({})));
    assert_eq!(
        a.api_get(&format!("{allows}/{allow_id}"), Some(&root))
            .await
            .0,
        404
    );
    let (status, _) = a.api_put(mode, &root, json!({ "mode": "open" })).await;
    assert_eq!(status, 200);
    assert_eq!(to_inbox(&c, "cal", &a, "/inbox").await.0, 202, "open again");

    // Every change is on the record, by root, about the domain.
    let count = |entries: &[Value]| entries.len();
    let block_log = a.audit_log(&root, "domain.block").await;
    assert_eq!(count(&block_log), 2, "created and changed: {block_log:?}");
    assert!(
        block_log
            .iter()
            .all(|e| e["actor"]["username"] == "root" && e["target"]["name"] == c.domain.as_str()),
        "{block_log:?}"
    );
    assert_eq!(count(&a.audit_log(&root, "domain.unblock").await), 1);
    assert_eq!(
        count(&a.audit_log(&root, "domain.allow").await),
        1,
        "allowing it again changed nothing, so it is not on the record"
    );
    assert_eq!(count(&a.audit_log(&root, "domain.unallow").await), 1);
    assert_eq!(
        count(&a.audit_log(&root, "federation.public_list").await),
        1
    );
    let modes = a.audit_log(&root, "federation.mode").await;
    assert_eq!(count(&modes), 2, "{modes:?}");
    assert_eq!(modes[0]["reason"], "closed clinic network");
    assert!(
        modes[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("allowlist")),
        "{modes:?}"
    );
    let verdict = hearth::service::audit::verify(&a.state.db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(verdict, hearth::service::audit::Verdict::Intact { .. }),
        "{verdict:?}"
    );
}
on_both_engines!(the_admin_api_manages_blocks_allows_and_the_mode);

// --- Two processes -----------------------------------------------------------------------------

/// Two server processes of A on one PostgreSQL database (this test process, and `hearth serve`
/// as a child process on its own port): both accept C's signed inbox POSTs; once `hearth
/// admin domain suspend C` returns, both refuse them within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_postgresql_database_both_refuse_within_two_seconds() {
    let Some(engine) = Engine::postgres() else {
        return;
    };
    let [a, c] = Instance::start_many(&engine).await;
    a.create_group("clinic", "Clinic group").await;
    c.create_user("cal", UserRole::Member).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let process = a.server_process_logging_to(SERVER, &dir.path().join("hearth.log"));
    let address = process.address().await;
    let inbox = a.url("/inbox");
    let object = a.url("/groups/clinic").to_string();
    let other: url::Url = format!("http://{address}/inbox")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let both = || async {
        (
            signed_follow(&c, "cal", &object, &inbox, &inbox).await,
            signed_follow(&c, "cal", &object, &inbox, &other).await,
        )
    };
    let (here, there) = both().await;
    assert_eq!((here.0, there.0), (202, 202), "{here:?} {there:?}");

    domain(&a, DomainCommand::Suspend(host(&c.domain))).await;
    let returned = tokio::time::Instant::now();
    loop {
        let (here, there) = both().await;
        if here.0 == 403 && there.0 == 403 {
            assert_refused(&here, "this process");
            assert_refused(&there, "the other process");
            break;
        }
        assert!(
            returned.elapsed() < Duration::from_secs(2),
            "still accepted 2 s after the command returned: {here:?} {there:?}\n{}",
            process.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process.kill().await;
}
