//! The inbox and fetch hardening cases of issue 4, each against a real instance on loopback
//! with real signatures, on both engines. Every refusal is a 4xx with a JSON `{"error": ...}`
//! body and leaves every table as it was. Nothing leaves loopback: internal addresses are only
//! ever named through a lookup table (`TableLookup`) and refused before any connection.
//! The instances run in loopback mode (`HEARTH_LOOPBACK_FEDERATION`), which allows loopback
//! and nothing else; production's policy (public addresses only) is tested on the federation
//! client itself in case 17. Unit tests in `federation/` cover the exact edges of the date
//! window (`signatures.rs`) and every refused address range (`resolver.rs`).
//!
//! | case | what | test |
//! |---|---|---|
//! | 1 | activity id on another host than its actor | `inbox::forged_tampered_and_oversized_posts_are_refused_and_change_nothing` |
//! | 2 | embedded object id on another host than its actor | [`an_object_on_another_host_than_its_sender_is_refused`] |
//! | 3 | `attributedTo` other than `actor` | [`a_post_attributed_to_another_than_its_sender_is_refused_before_any_fetch`] |
//! | 4 | ids as arrays or objects; hosts spelled otherwise | [`ids_in_odd_shapes_are_refused_and_hosts_are_compared_canonically`] |
//! | 5 | signature missing or not covering what it must | [`a_signature_must_cover_target_host_date_and_digest`] (and `inbox::forged_…`) |
//! | 6 | signed with another actor's key | `inbox::forged_tampered_and_oversized_posts_are_refused_and_change_nothing` |
//! | 7 | digest missing or not the body's | [`a_signature_must_cover_target_host_date_and_digest`] (and `inbox::forged_…`) |
//! | 8 | `Date` missing, too old, too far ahead, at the edges | [`the_date_window_holds_at_its_edges`] |
//! | 9 | signed for another host or path (replayed) | [`a_signature_replayed_against_another_server_or_path_fails`] |
//! | 10 | the same activity twice | [`the_same_activity_twice_takes_effect_once`] |
//! | 11 | body over the limit; slow-drip body | `inbox::forged_…` (413, declared and streamed); [`a_body_that_trickles_in_is_cut_off`] |
//! | 12 | JSON 10,000 deep; 100,000 addressees | [`absurdly_deep_or_wide_json_is_a_clean_400`] |
//! | 13 | a flood naming thousands of unknown actors | `hostile::a_flood_of_unknown_signers_causes_bounded_fetches` |
//! | 14 | fetched document with the wrong `Content-Type` | [`documents_served_wrong_are_refused`] |
//! | 15 | fetched document whose `id` is not its URL | [`documents_served_wrong_are_refused`] |
//! | 16 | redirects inward, and redirect chains | [`redirects_are_followed_once_and_never_inward`] |
//! | 17 | a host resolving to a private address | [`a_host_that_resolves_inward_is_refused_before_any_connection`] |
//! | 17b | federation closed to a private network reaches nothing outside it | [`a_closed_private_network_reaches_its_clinics_and_nothing_else`] |
//! | 18 | responses over 1 MiB or too slow | [`slow_and_endless_documents_are_cut_off`] |
//! | 19 | an `Announce` with a doctored copy | [`an_announced_copy_gives_way_to_the_origins`] |
//! | 20 | a remote key rotation | [`a_rotated_key_is_learnt_with_one_fetch_and_the_old_key_fails`] |
//! | 21 | a `Delete` by anyone but the author | [`only_the_author_deletes_a_post`] (relayed forms: `hostile::a_person_cannot_relay_deletions_likes_or_edits`) |
//! | 22 | uploaded files and ActivityPub content types | [`no_file_is_served_as_activitypub`] |

use chrono::{TimeDelta, Utc};
use hearth_federation::resolver::{AddressPolicy, Lookup, SystemLookup};
use hearth_tests::{Engine, Instance, Serving, StubPeer, UserRole, on_both_engines, post_raw};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    io,
    net::IpAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Instance A with an open public group `support`; rowan (here) and gina (on the stub) are
/// members.
struct Scene {
    a: Instance,
    peer: StubPeer,
    group: String,
    group_id: i64,
    rowan: String,
    rowan_token: String,
}

async fn scene(engine: &Engine) -> Scene {
    scene_on(Instance::start(engine).await).await
}

async fn scene_on(a: Instance) -> Scene {
    let peer = StubPeer::start().await;
    let group_row = a.create_group("support", "Support").await;
    a.create_user("rowan", UserRole::Member).await;
    let rowan_token = a.token("rowan").await;
    let (status, _) = a
        .follow_account(&rowan_token, &group_row.id.to_string())
        .await;
    assert_eq!(status, 200, "rowan joins");
    let group = a.url("/groups/support").to_string();
    let join = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": peer.actor("gina"), "object": group });
    assert_eq!(
        peer.send("gina", &a, "/inbox", &join).await,
        202,
        "gina joins"
    );
    Scene {
        rowan: a.url("/users/rowan").to_string(),
        a,
        peer,
        group,
        group_id: group_row.id,
        rowan_token,
    }
}

/// A post by `author` into `group`, with the id `id`.
fn note(id: &str, author: &str, group: &str, content: &str) -> Value {
    json!({ "id": id, "type": "Note", "attributedTo": author, "content": content,
        "to": [PUBLIC], "cc": [group], "audience": group })
}

/// `Create` of `object` by `actor`.
fn create(peer: &StubPeer, actor: &str, object: Value) -> Value {
    json!({ "@context": AS, "id": peer.id("create"), "type": "Create", "actor": actor, "object": object })
}

/// Asserts a refusal: `status`, and a JSON error that says `why`.
#[track_caller]
fn assert_refused(answer: &(u16, Value), status: u16, why: &str) {
    assert_eq!(
        answer.0, status,
        "expected {status} ({why}), got {answer:?}"
    );
    let error = answer.1["error"].as_str().unwrap_or_default();
    assert!(
        error.to_lowercase().contains(&why.to_lowercase()),
        "the error should say {why:?}: {}",
        answer.1
    );
}

/// Asserts a 4xx with a JSON error, whatever its words.
#[track_caller]
fn assert_client_error(answer: &(u16, Value), what: &str) {
    assert!(
        (400..500).contains(&answer.0),
        "{what}: expected a 4xx, got {answer:?}"
    );
    assert!(
        answer.1["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: no JSON error: {answer:?}"
    );
}

fn bytes_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| panic!("{e}"))
}

/// The stored content of the post with this ActivityPub id, if any.
async fn stored_content(a: &Instance, ap_id: &str) -> Option<String> {
    let id = ap_id.to_owned();
    a.state
        .db
        .run(move |conn| Ok(hearth::db::posts::by_ap_id(conn, &id)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|row| row.content)
}

// Case 2.

/// gina, a member, sends a post whose id is on another server (this instance, or a third
/// one): it would let her plant or overwrite posts she does not host. Refused with 403, and
/// nothing is fetched from the other server.
async fn an_object_on_another_host_than_its_sender_is_refused(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let third = StubPeer::start().await;
    let before = a.rows().await;
    for foreign_id in [
        a.url("/posts/1").to_string(),
        format!("{}users/gina/notes/1", third.base),
    ] {
        let activity = create(
            &peer,
            &peer.actor("gina"),
            note(&foreign_id, &peer.actor("gina"), &group, "planted"),
        );
        let answer = peer
            .send_signed(&peer.signer("gina"), &a, "/inbox", &activity)
            .await;
        assert_refused(&answer, 403, "a post must be on its author's host");
    }
    assert_eq!(a.rows().await, before, "a refused post left rows behind");
    assert!(third.gets().is_empty(), "the third server was contacted");
}
on_both_engines!(an_object_on_another_host_than_its_sender_is_refused);

// Case 3.

/// gina sends a post attributed to hal (on her own server) in a `Create` and an `Update`, and
/// an `Announce{Create}` whose actor is not the post's author: all refused with 403 before
/// anything is fetched, nothing stored.
async fn a_post_attributed_to_another_than_its_sender_is_refused_before_any_fetch(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let (gina, hal) = (peer.actor("gina"), peer.actor("hal"));
    let before = a.rows().await;
    let gets_before = peer.gets().len();
    let note_id = format!("{hal}/notes/1");
    let as_hal = note(&note_id, &hal, &group, "words put in hal's mouth");
    let forged_create = create(&peer, &gina, as_hal.clone());
    let forged_update = json!({ "@context": AS, "id": peer.id("update"), "type": "Update", "actor": gina, "object": as_hal });
    let forged_announce = json!({ "@context": AS, "id": peer.id("announce"), "type": "Announce", "actor": gina,
        "object": { "id": peer.id("create"), "type": "Create", "actor": gina, "object": note(&note_id, &hal, &group, "again") } });
    for (what, activity) in [
        ("Create", &forged_create),
        ("Update", &forged_update),
        ("Announce", &forged_announce),
    ] {
        let answer = peer
            .send_signed(&peer.signer("gina"), &a, "/inbox", activity)
            .await;
        assert_refused(&answer, 403, "a post can only be sent by its author");
        assert_eq!(
            peer.gets().len(),
            gets_before,
            "{what}: something was fetched for a forged post"
        );
    }
    assert_eq!(a.rows().await, before);
}
on_both_engines!(a_post_attributed_to_another_than_its_sender_is_refused_before_any_fetch);

// Case 4.

/// `id` and `actor` in shapes that are not one URL are refused with 400 before any fetch; an
/// embedded actor counts only by its id (its embedded key is not trusted). Hosts are compared
/// and stored canonically: upper case, a trailing dot and full-width (IDNA-mapped) spellings
/// name the same server and the same post, so a respelt copy neither passes as another server
/// nor stores a second post.
async fn ids_in_odd_shapes_are_refused_and_hosts_are_compared_canonically(engine: Engine) {
    let Scene {
        a,
        peer,
        group,
        group_id,
        rowan_token,
        ..
    } = scene(&engine).await;
    let gina = peer.actor("gina");
    let before = a.rows().await;
    let gets_before = peer.gets().len();
    let follow = |id: Value, actor: Value| json!({ "@context": AS, "id": id, "type": "Follow", "actor": actor, "object": group });
    let odd = [
        ("id as an array", follow(json!([peer.id("f")]), json!(gina))),
        (
            "id as an object",
            follow(json!({ "id": peer.id("f") }), json!(gina)),
        ),
        (
            "actor as an array",
            follow(json!(peer.id("f")), json!([gina])),
        ),
        (
            "actor as an object without id",
            follow(json!(peer.id("f")), json!({ "type": "Person" })),
        ),
        ("actor as a number", follow(json!(peer.id("f")), json!(7))),
    ];
    for (what, activity) in odd {
        let answer = peer
            .send_signed(&peer.signer("gina"), &a, "/inbox", &activity)
            .await;
        assert_eq!(answer.0, 400, "{what}: {answer:?}");
        assert_client_error(&answer, what);
    }
    assert_eq!(a.rows().await, before, "an odd shape left rows behind");
    assert_eq!(
        peer.gets().len(),
        gets_before,
        "an odd shape caused a fetch"
    );

    // An embedded actor is its id: a key embedded in it is ignored.
    let impostor_key =
        hearth_federation::keys::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let embedded = json!({ "id": gina, "type": "Person",
        "publicKey": { "id": format!("{gina}#main-key"), "owner": gina, "publicKeyPem": impostor_key.public_pem } });
    let mut impostor = peer.signer("gina");
    impostor.private_key_pem = impostor_key.private_pem.expose().to_owned();
    let answer = peer
        .send_signed(
            &impostor,
            &a,
            "/inbox",
            &follow(json!(peer.id("f")), embedded.clone()),
        )
        .await;
    assert_refused(&answer, 401, "signature");
    let answer = peer
        .send_signed(
            &peer.signer("gina"),
            &a,
            "/inbox",
            &follow(json!(peer.id("f")), embedded),
        )
        .await;
    assert_eq!(answer.0, 202, "signed with gina's own key: {answer:?}");

    // An id on the same server spelt otherwise is the same server; another server is not.
    let port = peer.base.port().unwrap_or_default();
    for spelling in [
        format!("http://LOCALHOST:{port}/activities/upper"),
        format!("http://localhost.:{port}/activities/dot"),
        format!(
            "http://\u{ff4c}\u{ff4f}\u{ff43}\u{ff41}\u{ff4c}\u{ff48}\u{ff4f}\u{ff53}\u{ff54}:{port}/activities/wide"
        ),
    ] {
        let answer = peer
            .send_signed(
                &peer.signer("gina"),
                &a,
                "/inbox",
                &follow(json!(spelling), json!(gina)),
            )
            .await;
        assert_eq!(answer.0, 202, "{spelling}: {answer:?}");
    }
    let dotted_actor = format!("http://localhost.:{port}/users/gina");
    let answer = peer
        .send_signed(
            &peer.signer("gina"),
            &a,
            "/inbox",
            &follow(json!(peer.id("f")), json!(dotted_actor)),
        )
        .await;
    assert_eq!(answer.0, 202, "gina with a trailing dot: {answer:?}");
    let answer = peer
        .send_signed(
            &peer.signer("gina"),
            &a,
            "/inbox",
            &follow(
                json!(format!("http://127.0.0.1:{port}/activities/ip")),
                json!(gina),
            ),
        )
        .await;
    assert_refused(&answer, 400, "not on the actor's host");

    // One post, however its id is spelt; and the respelt id deletes it.
    let rows = a.rows().await;
    let plain = format!("{gina}/notes/canonical");
    let spellings = [
        plain.clone(),
        format!("http://localhost.:{port}/users/gina/notes/canonical"),
        format!("http://LOCALHOST:{port}/users/gina/notes/canonical"),
    ];
    for (n, id) in spellings.iter().enumerate() {
        let answer = peer
            .send_signed(
                &peer.signer("gina"),
                &a,
                "/inbox",
                &create(
                    &peer,
                    &gina,
                    note(id, &gina, &group, &format!("spelling {n}")),
                ),
            )
            .await;
        assert_eq!(answer.0, 202, "{id}: {answer:?}");
    }
    assert_eq!(
        a.rows().await["posts"],
        rows["posts"] + 1,
        "one post, however spelt"
    );
    assert_eq!(actors_named(&a, "gina").await, 1, "one gina, however spelt");
    let delete = json!({ "@context": AS, "id": peer.id("delete"), "type": "Delete", "actor": gina, "object": spellings[1] });
    assert_eq!(peer.send("gina", &a, "/inbox", &delete).await, 202);
    let (_, statuses) = a
        .api_get(
            &format!("/api/v1/accounts/{group_id}/statuses"),
            Some(&rowan_token),
        )
        .await;
    assert_eq!(
        statuses.as_array().map(Vec::len),
        Some(0),
        "the respelt Delete removed the post: {statuses}"
    );
}
on_both_engines!(ids_in_odd_shapes_are_refused_and_hosts_are_compared_canonically);

async fn actors_named(a: &Instance, name: &str) -> usize {
    let name = name.to_owned();
    a.state
        .db
        .run(move |conn| {
            use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
            use hearth::db::schema::actors;
            Ok(actors::table
                .filter(actors::username.eq(name))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}")) as usize
}

// Cases 5 and 7.

/// A request without a signature, with a signature that leaves out `(request-target)`,
/// `host`, `date` or `digest`, or without a `Digest` (or with another body's): refused before
/// the sender's key is fetched, nothing stored.
async fn a_signature_must_cover_target_host_date_and_digest(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let inbox = a.url("/groups/support/inbox");
    // hal is unknown here: any fetch of his key would show at the stub.
    let hal = peer.actor("hal");
    let activity = bytes_of(
        &json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": hal, "object": group }),
    );
    let before = a.rows().await;
    let signer = peer.signer("hal");

    let mut unsigned = signer.sign_post(&inbox, &activity);
    unsigned.remove("signature");
    assert_refused(
        &post_raw(&inbox, unsigned, activity.clone()).await,
        401,
        "not signed",
    );
    for left_out in ["(request-target)", "host", "date", "digest"] {
        let mut partial = signer.clone();
        partial.covered.retain(|h| *h != left_out);
        let answer = post_raw(
            &inbox,
            partial.sign_post(&inbox, &activity),
            activity.clone(),
        )
        .await;
        assert_eq!(answer.0, 401, "without {left_out}: {answer:?}");
        assert_client_error(&answer, left_out);
    }
    let mut no_digest = signer.sign_post(&inbox, &activity);
    no_digest.remove("digest");
    assert_refused(
        &post_raw(&inbox, no_digest, activity.clone()).await,
        400,
        "digest",
    );
    let other_body = bytes_of(
        &json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": hal, "object": a.url("/groups/other").as_str() }),
    );
    assert_refused(
        &post_raw(&inbox, signer.sign_post(&inbox, &activity), other_body).await,
        400,
        "digest",
    );
    assert_eq!(a.rows().await, before);
    assert!(
        !peer.gets().iter().any(|p| p == "/users/hal"),
        "hal's key was fetched for a request refused on its face"
    );
}
on_both_engines!(a_signature_must_cover_target_host_date_and_digest);

// Case 8.

/// `Date` may be up to an hour old and ten minutes ahead: just inside both edges is
/// accepted, just outside refused (401, nothing stored), and a missing `Date` is refused.
async fn the_date_window_holds_at_its_edges(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let gina = peer.actor("gina");
    let send_dated = |offset: Option<TimeDelta>| {
        let activity = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": gina, "object": group });
        let mut signer = peer.signer("gina");
        let inbox = a.url("/inbox");
        async move {
            let body = bytes_of(&activity);
            let mut headers = match offset {
                Some(offset) => {
                    signer.date = Utc::now() + offset;
                    signer.sign_post(&inbox, &body)
                }
                None => signer.sign_post(&inbox, &body),
            };
            if offset.is_none() {
                headers.remove("date");
            }
            post_raw(&inbox, headers, body).await
        }
    };
    let before = a.rows().await;
    assert_refused(&send_dated(None).await, 401, "date");
    assert_refused(
        &send_dated(Some(TimeDelta::minutes(-61))).await,
        401,
        "expired",
    );
    assert_refused(
        &send_dated(Some(TimeDelta::minutes(11))).await,
        401,
        "future",
    );
    assert_eq!(a.rows().await, before, "a stale request left rows behind");
    for inside in [TimeDelta::minutes(-59), TimeDelta::minutes(9)] {
        let answer = send_dated(Some(inside)).await;
        assert_eq!(answer.0, 202, "a Date {inside} from now: {answer:?}");
    }
}
on_both_engines!(the_date_window_holds_at_its_edges);

// Case 9.

/// A request signed for another server (its `Host`), replayed here byte for byte with that
/// `Host` header, or with this server's; and one signed for another inbox path: 401.
async fn a_signature_replayed_against_another_server_or_path_fails(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let other = Instance::start(&engine).await;
    let gina = peer.actor("gina");
    let activity = bytes_of(
        &json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": gina, "object": group }),
    );
    let signer = peer.signer("gina");
    let inbox = a.url("/inbox");
    let before = a.rows().await;

    let for_other = signer.sign_post(&other.url("/inbox"), &activity);
    assert_refused(
        &post_raw(&inbox, for_other.clone(), activity.clone()).await,
        401,
        "signature",
    );
    let mut with_our_host = for_other;
    with_our_host.insert(
        "host",
        http::HeaderValue::from_str(&a.domain).unwrap_or_else(|e| panic!("{e}")),
    );
    assert_refused(
        &post_raw(&inbox, with_our_host, activity.clone()).await,
        401,
        "signature",
    );
    let for_other_path = signer.sign_post(&a.url("/users/rowan/inbox"), &activity);
    assert_refused(
        &post_raw(&inbox, for_other_path, activity.clone()).await,
        401,
        "signature",
    );
    assert_eq!(a.rows().await, before);
    // The same request, signed for here, passes.
    let answer = post_raw(&inbox, signer.sign_post(&inbox, &activity), activity).await;
    assert_eq!(answer.0, 202, "{answer:?}");
}
on_both_engines!(a_signature_replayed_against_another_server_or_path_fails);

// Case 10.

/// A post, a like and a follow each delivered twice with the same id take effect once: one
/// post, one like, one Announce to the members.
async fn the_same_activity_twice_takes_effect_once(engine: Engine) {
    let Scene {
        a,
        peer,
        group,
        rowan_token,
        group_id,
        ..
    } = scene(&engine).await;
    let gina = peer.actor("gina");
    let (_, rowan_post) = a
        .api_post(
            "/api/v1/statuses",
            &rowan_token,
            json!({ "status": "rowan's post", "group_id": group_id.to_string() }),
        )
        .await;
    let rowan_uri = rowan_post["uri"].as_str().unwrap_or_default().to_owned();
    let post = create(
        &peer,
        &gina,
        note(&format!("{gina}/notes/once"), &gina, &group, "once only"),
    );
    let like = json!({ "@context": AS, "id": format!("{gina}/likes/1"), "type": "Like", "actor": gina, "object": rowan_uri });
    let follow = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": gina, "object": a.url("/users/rowan").as_str() });
    for activity in [&post, &like, &follow] {
        assert_eq!(peer.send("gina", &a, "/inbox", activity).await, 202);
    }
    let after_first = a.rows().await;
    for activity in [&post, &like, &follow] {
        let answer = peer
            .send_signed(&peer.signer("gina"), &a, "/inbox", activity)
            .await;
        assert_eq!(answer.0, 202, "a repeat is acknowledged: {answer:?}");
    }
    assert_eq!(
        a.rows().await,
        after_first,
        "a repeated activity changed something"
    );
    let rowan_id = rowan_post["id"].as_str().unwrap_or_default();
    let (_, shown) = a
        .api_get(&format!("/api/v1/statuses/{rowan_id}"), Some(&rowan_token))
        .await;
    assert_eq!(shown["favourites_count"], 1, "{shown}");

    // The same new post, delivered eight times at once (a sender retrying while the first
    // attempt is still in flight): every copy is acknowledged, one takes effect.
    let rows = a.rows().await;
    let racing = create(
        &peer,
        &gina,
        note(&format!("{gina}/notes/race"), &gina, &group, "at once"),
    );
    let answers = futures::future::join_all((0..8).map(|_| {
        let (peer, a, racing) = (&peer, &a, &racing);
        async move {
            peer.send_signed(&peer.signer("gina"), a, "/inbox", racing)
                .await
        }
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer.0, 202, "a concurrent copy: {answer:?}");
    }
    let after = a.rows().await;
    assert_eq!(after["posts"], rows["posts"] + 1, "the post is stored once");
    assert_eq!(
        after["received_activities"],
        rows["received_activities"] + 1
    );
}
on_both_engines!(the_same_activity_twice_takes_effect_once);

// Case 11.

/// A well-signed request whose body trickles in a byte a second is cut off after the body
/// timeout with 408 and a JSON error; nothing is stored.
async fn a_body_that_trickles_in_is_cut_off(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let inbox = a.url("/inbox");
    let activity = bytes_of(
        &json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": peer.actor("gina"), "object": group }),
    );
    let headers = peer.signer("gina").sign_post(&inbox, &activity);
    let before = a.rows().await;
    let (drip, drips) = tokio::sync::mpsc::channel::<Result<Vec<u8>, io::Error>>(1);
    let body = activity.clone();
    tokio::spawn(async move {
        for byte in body {
            if drip.send(Ok(vec![byte])).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let drips = tokio_stream::wrappers::ReceiverStream::new(drips);
    let started = Instant::now();
    let response = hearth_tests::http()
        .post(inbox.clone())
        .headers(headers)
        .body(reqwest::Body::wrap_stream(drips))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the instance did not answer a slow body: {e}"));
    let status = response.status().as_u16();
    let answer = (status, response.json().await.unwrap_or(Value::Null));
    assert_refused(&answer, 408, "did not arrive");
    let waited = started.elapsed();
    assert!(
        waited < hearth_federation::inbox::BODY_TIMEOUT + Duration::from_secs(5),
        "cut off only after {waited:?}"
    );
    assert_eq!(a.rows().await, before);
}
on_both_engines!(a_body_that_trickles_in_is_cut_off);

// Case 12.

/// JSON nested 10,000 deep and an activity naming 100,000 addressees, each well signed and
/// under the size limit: a clean 400, before anything is fetched or stored.
async fn absurdly_deep_or_wide_json_is_a_clean_400(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    // hal is unknown here, so any fetch of his key would show.
    let hal = peer.actor("hal");
    let before = a.rows().await;

    let depth = 10_000;
    let deep = format!(
        r#"{{"@context":"{AS}","id":"{}","type":"Create","actor":"{hal}","object":{}{}}}"#,
        peer.id("create"),
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let inbox = a.url("/inbox");
    let deep = deep.into_bytes();
    let answer = post_raw(
        &inbox,
        peer.signer("hal").sign_post(&inbox, &deep),
        deep.clone(),
    )
    .await;
    assert_refused(&answer, 400, "not JSON");

    let addressees: Vec<String> = (0..100_000).map(|n| format!("h:{n}")).collect();
    let mut wide = create(
        &peer,
        &hal,
        note(
            &format!("{hal}/notes/wide"),
            &hal,
            &group,
            "hello, everyone",
        ),
    );
    wide["object"]["cc"] = json!(addressees);
    let wide = bytes_of(&wide);
    assert!(
        wide.len() < hearth_federation::inbox::MAX_BODY_BYTES,
        "the wide activity must fit the size limit to test this: {} bytes",
        wide.len()
    );
    let answer = post_raw(
        &inbox,
        peer.signer("hal").sign_post(&inbox, &wide),
        wide.clone(),
    )
    .await;
    assert_refused(&answer, 400, "addressees");

    assert_eq!(a.rows().await, before);
    assert!(
        !peer.gets().iter().any(|p| p == "/users/hal"),
        "a key was fetched for a request refused on its face"
    );
}
on_both_engines!(absurdly_deep_or_wide_json_is_a_clean_400);

// Cases 14 and 15.

/// Signers whose documents are served wrong: as HTML or plain JSON, with an `id` naming
/// another server or another actor, or not an actor at all. Each is refused with a 4xx and a
/// JSON error, nothing is stored, and the error never repeats the fetched document. Search
/// resolves none of them.
async fn documents_served_wrong_are_refused(engine: Engine) {
    let Scene {
        a,
        peer,
        group,
        rowan_token,
        ..
    } = scene(&engine).await;
    let elsewhere = StubPeer::start().await;
    let port = peer.base.port().unwrap_or_default();
    let secret = "a private post that must not be echoed";
    let cases: Vec<(&str, Serving, &str)> = vec![
        // A post (someone's private one, say) where an actor should be: never echoed back.
        (
            "notanactor",
            Serving::Document(
                json!({ "id": peer.actor("notanactor"), "type": "Note", "content": secret, "attributedTo": peer.actor("gina") }),
            ),
            "not of the expected kind",
        ),
        (
            "html",
            Serving::ContentType("text/html; charset=utf-8"),
            "not served as ActivityPub",
        ),
        (
            "plainjson",
            Serving::ContentType("application/json"),
            "not served as ActivityPub",
        ),
        (
            "by_ip",
            Serving::Document(person(&format!("http://127.0.0.1:{port}/users/by_ip"))),
            "has another id",
        ),
        (
            "impostor",
            Serving::Document(person(&elsewhere.actor("someone"))),
            "another id",
        ),
    ];
    for (name, serving, _) in &cases {
        peer.serve(&format!("/users/{name}"), serving.clone());
    }
    let before = a.rows().await;
    for (name, _, why) in &cases {
        let actor = peer.actor(name);
        let activity = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": actor, "object": group });
        let answer = peer
            .send_signed(&peer.signer(name), &a, "/inbox", &activity)
            .await;
        assert!(
            !answer.1.to_string().contains(secret),
            "the error repeats the fetched document: {}",
            answer.1
        );
        assert_refused(&answer, 401, why);
        let (status, found) = a
            .api_get(
                &format!(
                    "/api/v2/search?q={}&resolve=true&type=accounts",
                    actor.replace(':', "%3A").replace('/', "%2F")
                ),
                Some(&rowan_token),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(found["accounts"], json!([]), "search found {name}");
    }
    assert_eq!(a.rows().await, before, "a wrongly served signer was stored");
}
on_both_engines!(documents_served_wrong_are_refused);

/// A complete actor document for `id`, with a key of its own.
fn person(id: &str) -> Value {
    let key = hearth_federation::keys::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    json!({
        "@context": [AS, "https://w3id.org/security/v1"],
        "id": id, "type": "Person", "preferredUsername": "someone",
        "inbox": format!("{id}/inbox"),
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": key.public_pem },
    })
}

/// Looks names up in a table of internal names first (without any packet leaving the
/// machine), everything else (`localhost`) as the system does; remembers what it was asked.
#[derive(Debug, Default)]
struct TableLookup {
    table: HashMap<String, Vec<IpAddr>>,
    asked: Mutex<Vec<String>>,
}

impl TableLookup {
    fn new(entries: &[(&str, &str)]) -> Arc<Self> {
        Arc::new(Self {
            table: entries
                .iter()
                .map(|(name, ip)| {
                    (
                        (*name).to_owned(),
                        vec![ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"))],
                    )
                })
                .collect(),
            asked: Mutex::default(),
        })
    }

    fn asked(&self, name: &str) -> usize {
        self.asked
            .lock()
            .map(|a| a.iter().filter(|n| *n == name).count())
            .unwrap_or_default()
    }
}

impl Lookup for TableLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(host.clone());
        }
        match self.table.get(&host) {
            Some(found) => {
                let found = found.clone();
                Box::pin(async move { Ok(found) })
            }
            None if host == "localhost" => SystemLookup.lookup(host),
            None => Box::pin(async move {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host}: unknown"),
                ))
            }),
        }
    }
}

/// Names that resolve to internal addresses, for the tests that must never reach them.
const INTERNAL_NAMES: &[(&str, &str)] = &[
    ("metadata.internal", "169.254.169.254"),
    ("intranet.internal", "10.1.2.3"),
    ("cgnat.internal", "100.64.0.1"),
    ("zero.internal", "0.0.0.0"),
    ("mapped.internal", "::ffff:10.1.2.3"),
];

// Case 16.

/// A signer's document redirects to internal addresses, written as IP literals or as names
/// that resolve inward, or along a chain of redirects. None is followed inward (the stub,
/// itself on 127.0.0.1, never sees the redirect target, and names are refused when looked
/// up), only one redirect is ever followed, a relative `Location` is a 4xx and not a 500, and
/// nothing is stored.
async fn redirects_are_followed_once_and_never_inward(engine: Engine) {
    let lookup = TableLookup::new(INTERNAL_NAMES);
    let Scene { a, peer, group, .. } =
        scene_on(Instance::start_with_lookup(&engine, lookup.clone()).await).await;
    let port = peer.base.port().unwrap_or_default();
    let mut targets: Vec<(String, String)> = [
        format!("http://127.0.0.1:{port}/inward/loopback"),
        format!("http://[::ffff:127.0.0.1]:{port}/inward/mapped"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://100.64.0.1/".to_owned(),
        format!("http://0.0.0.0:{port}/inward/zero"),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, target)| (format!("literal{n}"), target))
    .collect();
    for (name, _) in INTERNAL_NAMES {
        targets.push((
            format!("named_{}", name.replace('.', "_")),
            format!("http://{name}:{port}/inward/{name}"),
        ));
    }
    for (actor, target) in &targets {
        peer.serve(
            &format!("/users/{actor}"),
            Serving::RedirectTo(target.clone()),
        );
    }
    // A chain: hop1 -> /hop/2 -> /hop/3 -> /users/chain_end (a valid actor).
    peer.serve("/users/chained", Serving::RedirectTo("/hop/2".into()));
    peer.serve("/hop/2", Serving::RedirectTo(format!("{}hop/3", peer.base)));
    peer.serve("/hop/3", Serving::RedirectTo(peer.actor("chain_end")));
    peer.serve(
        "/users/chainabs",
        Serving::RedirectTo(format!("{}hop/2", peer.base)),
    );
    peer.serve("/users/relative", Serving::RedirectTo("/users/gina".into()));

    let before = a.rows().await;
    // An IP literal is refused as a URL; a name when it is looked up; the rest when the
    // document that is not one cannot be read.
    let mut expected: Vec<(String, u16, &str)> = targets
        .iter()
        .map(|(name, _)| match name.starts_with("literal") {
            true => (name.clone(), 400, "refused URL"),
            false => (name.clone(), 403, "refused host"),
        })
        .collect();
    expected.extend([
        ("chained".to_owned(), 401, "invalid URL"),
        ("chainabs".to_owned(), 401, "not of the expected kind"),
        ("relative".to_owned(), 401, "invalid URL"),
    ]);
    for (name, status, why) in &expected {
        let activity = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": peer.actor(name), "object": group });
        let answer = peer
            .send_signed(&peer.signer(name), &a, "/inbox", &activity)
            .await;
        assert_refused(&answer, *status, why);
    }
    let gets = peer.gets();
    assert!(
        !gets.iter().any(|p| p.starts_with("/inward/")),
        "a redirect inward was followed: {gets:?}"
    );
    for (name, _) in INTERNAL_NAMES {
        assert!(lookup.asked(name) > 0, "{name} was never looked up");
    }
    assert!(
        gets.iter().any(|p| p == "/hop/2") && !gets.iter().any(|p| p == "/hop/3"),
        "more than one redirect was followed: {gets:?}"
    );
    assert!(
        !gets.iter().any(|p| p == "/users/chain_end"),
        "the end of a redirect chain was reached: {gets:?}"
    );
    assert_eq!(a.rows().await, before, "a redirected signer was stored");
}
on_both_engines!(redirects_are_followed_once_and_never_inward);

// Case 17.

/// A signer on a host whose name resolves to an internal address is refused when the
/// instance looks the name up, before any connection. And in production's address policy,
/// the federation client refuses a name that resolves to 127.0.0.1 (where a listener stands
/// in for an internal service and never sees a connection); it checks every connection
/// afresh, so a name that later resolves elsewhere (DNS rebinding) gains nothing.
async fn a_host_that_resolves_inward_is_refused_before_any_connection(engine: Engine) {
    let lookup = TableLookup::new(INTERNAL_NAMES);
    let Scene { a, peer, group, .. } =
        scene_on(Instance::start_with_lookup(&engine, lookup.clone()).await).await;
    let before = a.rows().await;
    for (name, _) in INTERNAL_NAMES {
        let actor = format!("http://{name}:8080/users/gina");
        let activity = json!({ "@context": AS, "id": format!("http://{name}:8080/follows/1"), "type": "Follow", "actor": actor, "object": group });
        let mut signer = peer.signer("gina");
        signer.key_id = format!("{actor}#main-key");
        let answer = peer.send_signed(&signer, &a, "/inbox", &activity).await;
        assert_refused(&answer, 403, &format!("refused host {name}"));
        assert_eq!(
            lookup.asked(name),
            1,
            "{name} was not checked when looked up"
        );
    }
    assert_eq!(a.rows().await, before);

    // Production's policy, with a listener standing in for an internal service.
    let internal = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let internal_port = internal
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let production = TableLookup::new(&[
        ("rebind.example", "127.0.0.1"),
        ("mapped.example", "::ffff:127.0.0.1"),
        ("nat64.example", "64:ff9b::7f00:1"),
    ]);
    let client = hearth_federation::client::build_client(
        AddressPolicy::PublicOnly,
        production.clone(),
        "hearth-test",
        hearth_federation::policy::SharedPolicy::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for name in ["rebind.example", "mapped.example", "nat64.example"] {
        for attempt in 1..=2 {
            let result = client
                .get(format!("http://{name}:{internal_port}/latest/meta-data"))
                .send()
                .await;
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{name}: the request must fail"));
            let mut cause: Option<&dyn std::error::Error> = Some(&err);
            let mut refused = false;
            while let Some(c) = cause {
                refused |= c.to_string().contains("address policy forbids");
                cause = c.source();
            }
            assert!(refused, "{name}: unexpected error {err:?}");
            assert_eq!(
                production.asked(name),
                attempt,
                "{name}: each connection is checked afresh"
            );
        }
    }
    let accepted = tokio::time::timeout(Duration::from_millis(300), internal.accept()).await;
    assert!(
        accepted.is_err(),
        "a connection reached the internal listener"
    );
}
on_both_engines!(a_host_that_resolves_inward_is_refused_before_any_connection);

// Case 17b.

/// Two clinics told that federation is closed to a private network (127.0.0.0/8 here, in place
/// of the two-clinic compose file's 172.30.0.0/24, and without loopback mode) find and follow
/// each other over plain http; names outside that network are refused when looked up: a
/// private address elsewhere, and ::1, another loopback, whose listener never sees a
/// connection.
async fn a_closed_private_network_reaches_its_clinics_and_nothing_else(engine: Engine) {
    let outside = tokio::net::TcpListener::bind("[::1]:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outside_port = outside
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let lookup = TableLookup::new(&[
        ("clinic-a.test", "127.0.0.1"),
        ("clinic-b.test", "127.0.0.1"),
        ("elsewhere.test", "10.9.8.7"),
        ("outside.test", "::1"),
    ]);
    let closed = |settings: &mut hearth::Settings| {
        settings.loopback_federation = false;
        settings.private_federation_networks =
            vec!["127.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
    };
    let a = Instance::start_configured(&engine, "clinic-a.test", lookup.clone(), closed).await;
    let b = Instance::start_configured(&engine, "clinic-b.test", lookup.clone(), closed).await;
    assert!(a.url("/").as_str().starts_with("http://clinic-a.test:"));

    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    b.create_user("mona", UserRole::Member).await;
    let mona = b.token("mona").await;
    let mona_on_a = a.account_id(&format!("mona@{}", b.domain), &ana).await;
    let (status, relationship) = a.follow_account(&ana, &mona_on_a).await;
    assert_eq!(status, 200, "{relationship}");
    hearth_tests::settle(&[&a, &b]).await;
    let (_, me) = b
        .api_get("/api/v1/accounts/verify_credentials", Some(&mona))
        .await;
    let followers = format!(
        "/api/v1/accounts/{}/followers",
        me["id"].as_str().unwrap_or_default()
    );
    let (status, followers) = b.api_get(&followers, Some(&mona)).await;
    assert_eq!(status, 200, "{followers}");
    assert_eq!(
        followers[0]["acct"],
        format!("ana@{}", a.domain),
        "the follow crossed over plain http"
    );

    for name in ["elsewhere.test", "outside.test"] {
        let query =
            format!("/api/v2/search?q=gina%40{name}:{outside_port}&resolve=true&type=accounts");
        let (status, found) = a.api_get(&query, Some(&ana)).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(found["accounts"], json!([]), "{name}: {found}");
        assert!(lookup.asked(name) >= 1, "{name} was never looked up");
    }
    let accepted = tokio::time::timeout(Duration::from_millis(300), outside.accept()).await;
    assert!(
        accepted.is_err(),
        "a connection left the clinics' network for ::1"
    );
}
on_both_engines!(a_closed_private_network_reaches_its_clinics_and_nothing_else);

// Case 18.

/// Signers whose documents come too slowly (headers late, or a body trickling in) or never
/// end: the fetch is cut off at the timeout or at 1 MiB, the request is refused with a 4xx,
/// nothing is stored, and the endless body was not read to its (absent) end.
async fn slow_and_endless_documents_are_cut_off(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    peer.serve("/users/late", Serving::After(Duration::from_secs(30)));
    peer.serve("/users/trickle", Serving::Trickle);
    peer.serve("/users/endless", Serving::Endless);
    let before = a.rows().await;
    let send = |name: &'static str| {
        let activity = json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": peer.actor(name), "object": group });
        let (peer, a) = (&peer, &a);
        async move {
            let started = Instant::now();
            let answer = peer
                .send_signed(&peer.signer(name), a, "/inbox", &activity)
                .await;
            (name, answer, started.elapsed())
        }
    };
    let (late, trickle, endless) = tokio::join!(send("late"), send("trickle"), send("endless"));
    assert_refused(&late.1, 401, "timed out");
    assert_refused(&trickle.1, 401, "timed out");
    assert_refused(&endless.1, 401, "larger than 1 MiB");
    let limit = hearth_federation::client::REQUEST_TIMEOUT + Duration::from_secs(5);
    for (name, answer, took) in [late, trickle, endless] {
        assert_client_error(&answer, name);
        assert!(took < limit, "{name}: answered only after {took:?}");
    }
    let streamed = peer.bytes_streamed();
    assert!(
        streamed < 64 * 1024 * 1024,
        "the endless document was read on and on: {streamed} bytes"
    );
    assert_eq!(a.rows().await, before);
}
on_both_engines!(slow_and_endless_documents_are_cut_off);

// Case 19.

/// mallory boosts gina's post, embedding a doctored copy, bare and inside a `Create`: the
/// post is fetched from gina's server and stored as gina wrote it.
async fn an_announced_copy_gives_way_to_the_origins(engine: Engine) {
    let Scene { a, peer, rowan, .. } = scene(&engine).await;
    let gina = peer.actor("gina");
    let mallory = peer.actor("mallory");
    for (n, wrapped) in [(1, false), (2, true)] {
        let id = format!("{gina}/notes/origin{n}");
        let original = json!({ "@context": AS, "id": id, "type": "Note", "attributedTo": gina,
            "content": "what gina wrote", "to": [rowan] });
        peer.serve(
            &format!("/users/gina/notes/origin{n}"),
            Serving::Document(original),
        );
        let doctored = json!({ "id": id, "type": "Note", "attributedTo": gina,
            "content": "DOCTORED by mallory", "to": [rowan] });
        let object = if wrapped {
            json!({ "id": peer.id("create"), "type": "Create", "actor": gina, "object": doctored })
        } else {
            doctored
        };
        let boost = json!({ "@context": AS, "id": peer.id("announce"), "type": "Announce", "actor": mallory, "object": object });
        let answer = peer
            .send_signed(&peer.signer("mallory"), &a, "/inbox", &boost)
            .await;
        assert_eq!(answer.0, 202, "{answer:?}");
        let stored = stored_content(&a, &id).await;
        assert!(
            stored
                .as_deref()
                .is_some_and(|c| c.contains("what gina wrote") && !c.contains("DOCTORED")),
            "stored {stored:?}"
        );
        assert!(
            peer.gets()
                .iter()
                .any(|p| *p == format!("/users/gina/notes/origin{n}")),
            "the origin was not asked"
        );
    }
}
on_both_engines!(an_announced_copy_gives_way_to_the_origins);

// Case 20.

/// gina's server rotates its keys. Her next request, signed with the new key, is accepted
/// after one re-fetch of her document; later ones need no fetch; a request signed with the
/// old key is refused and changes nothing.
async fn a_rotated_key_is_learnt_with_one_fetch_and_the_old_key_fails(engine: Engine) {
    let Scene { a, peer, group, .. } = scene(&engine).await;
    let gina = peer.actor("gina");
    let follow = || json!({ "@context": AS, "id": peer.id("follow"), "type": "Follow", "actor": gina, "object": group });
    let fetched = peer.actor_fetches();
    let old_key = peer.rotate_key();

    assert_eq!(peer.send("gina", &a, "/inbox", &follow()).await, 202);
    assert_eq!(peer.actor_fetches(), fetched + 1, "one re-fetch");
    assert_eq!(peer.send("gina", &a, "/inbox", &follow()).await, 202);
    assert_eq!(peer.actor_fetches(), fetched + 1, "no more fetches");

    let before = a.rows().await;
    let mut stale = peer.signer("gina");
    stale.private_key_pem = old_key;
    let answer = peer.send_signed(&stale, &a, "/inbox", &follow()).await;
    assert_refused(&answer, 401, "does not verify");
    assert_eq!(a.rows().await, before);
    assert!(
        peer.actor_fetches() <= fetched + 2,
        "the old key cost more than one fetch"
    );
    assert_eq!(peer.send("gina", &a, "/inbox", &follow()).await, 202);
}
on_both_engines!(a_rotated_key_is_learnt_with_one_fetch_and_the_old_key_fails);

// Case 21.

/// mallory, on gina's own server, deletes gina's post in the group: 403, the post stays.
/// gina deletes it herself: it is gone.
async fn only_the_author_deletes_a_post(engine: Engine) {
    let Scene {
        a,
        peer,
        group,
        group_id,
        rowan_token,
        ..
    } = scene(&engine).await;
    let gina = peer.actor("gina");
    let id = format!("{gina}/notes/mine");
    assert_eq!(
        peer.send(
            "gina",
            &a,
            "/inbox",
            &create(&peer, &gina, note(&id, &gina, &group, "gina's post"))
        )
        .await,
        202
    );
    let before = a.rows().await;
    let delete = |actor: &str| json!({ "@context": AS, "id": format!("{actor}/deletes/{:x}", rand::random::<u64>()), "type": "Delete", "actor": actor, "object": id });
    let answer = peer
        .send_signed(
            &peer.signer("mallory"),
            &a,
            "/inbox",
            &delete(&peer.actor("mallory")),
        )
        .await;
    assert_refused(&answer, 403, "only the author");
    let after = a.rows().await;
    assert_eq!(
        after.get("posts"),
        before.get("posts"),
        "a refused Delete changed the posts"
    );
    assert_eq!(
        after.get("outbox"),
        before.get("outbox"),
        "a refused Delete was announced"
    );
    assert!(stored_content(&a, &id).await.is_some());
    let statuses = || async {
        a.api_get(
            &format!("/api/v1/accounts/{group_id}/statuses"),
            Some(&rowan_token),
        )
        .await
        .1
        .as_array()
        .map(Vec::len)
        .unwrap_or_default()
    };
    assert_eq!(statuses().await, 1, "the post survived");
    assert_eq!(peer.send("gina", &a, "/inbox", &delete(&gina)).await, 202);
    assert_eq!(statuses().await, 0, "gina deleted her post");
}
on_both_engines!(only_the_author_deletes_a_post);

// Case 22.

/// Hearth takes no uploads (the media endpoints do not exist) and the only files it serves,
/// its default images, come as `image/png` with `nosniff`, even to a client asking for
/// ActivityPub: no file on a Hearth domain can pass for an ActivityPub document.
async fn no_file_is_served_as_activitypub(engine: Engine) {
    let a = Instance::start(&engine).await;
    a.create_user("rowan", UserRole::Member).await;
    let token = a.token("rowan").await;
    for path in ["/api/v1/media", "/api/v2/media"] {
        let response = hearth_tests::http()
            .post(a.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/activity+json")
            .body(r#"{"id": "x", "type": "Note"}"#)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        let answer = (status, response.json().await.unwrap_or(Value::Null));
        assert_client_error(&answer, path);
    }
    for path in ["/static/avatar.png", "/static/header.png"] {
        let response = hearth_tests::http()
            .get(a.url(path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status(), 200, "{path}");
        let headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        assert_eq!(
            headers.get("content-type").map(String::as_str),
            Some("image/png"),
            "{path}"
        );
        assert_eq!(
            headers.get("x-content-type-options").map(String::as_str),
            Some("nosniff"),
            "{path}"
        );
    }
    for path in ["/media/1.json", "/static/1.json", "/uploads/x", "/system/x"] {
        let response = hearth_tests::http()
            .get(a.url(path))
            .header("accept", "application/activity+json")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            !content_type.contains("activity+json") && !content_type.contains("ld+json"),
            "{path}: {content_type}"
        );
    }
}
on_both_engines!(no_file_is_served_as_activitypub);
