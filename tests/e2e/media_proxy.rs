//! Remote images through Hearth: avatars, headers and attachments of people on other servers
//! are served by the patient's own instance (fetched once, re-encoded, kept), never hot-linked;
//! unsafe remote URLs are refused before any connection; members-only images reach members
//! and their servers only; avatars and headers are set from apps; unused uploads go away.

use crate::{
    media::{assert_no_metadata, fetch, jpeg_with_gps, png_with_text_and_exif, upload},
    on_both_stores,
    s3::{MediaScene, Store},
};
use hearth_federation::resolver::StaticLookup;
use hearth_tests::{
    Browser, Engine, Instance, JoinPolicy, Serving, StubPeer, UserRole, Visibility, hidden_input,
    http, on_both_engines, settle,
};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::{collections::HashMap, sync::Arc};

const AS: &str = "https://www.w3.org/ns/activitystreams";

/// `PATCH /api/v1/accounts/update_credentials` with image files; status and JSON.
async fn set_images(
    instance: &Instance,
    token: &str,
    avatar: Option<Vec<u8>>,
    header: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut form = Form::new().text("display_name", "Rita");
    if let Some(bytes) = avatar {
        form = form.part("avatar", Part::bytes(bytes).file_name("me.jpg"));
    }
    if let Some(bytes) = header {
        form = form.part("header", Part::bytes(bytes).file_name("banner.png"));
    }
    let response = http()
        .patch(instance.url("/api/v1/accounts/update_credentials"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn path_of(url: &Value) -> String {
    let url = url::Url::parse(url.as_str().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    url.path().to_owned()
}

/// Rita, on B, sets an avatar and posts a photo; Ana, on A, follows her. Everything Ana's app
/// is given points at A: A fetches each file from B once (signed), however many ask at once,
/// and serves a copy with no metadata. Rita's new header reaches A in an `Update`.
async fn remote_images_are_served_by_the_readers_instance(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let (a, b) = (scene.start(&engine).await, scene.start(&engine).await);
    a.create_user("ana", UserRole::Member).await;
    b.create_user("rita", UserRole::Member).await;
    let (ana, rita) = (a.token("ana").await, b.token("rita").await);

    let (status, me) = set_images(&b, &rita, Some(jpeg_with_gps()), None).await;
    assert_eq!(status, 200, "{me}");
    let avatar_on_b = me["avatar"].as_str().unwrap_or_default().to_owned();
    assert!(
        avatar_on_b.starts_with(b.url("/media/").as_str()),
        "{avatar_on_b}"
    );
    let (_, actor) = b.ap_get("/users/rita").await;
    assert_eq!(actor["icon"]["url"], avatar_on_b.as_str(), "{actor}");

    let rita_on_a = a.account_id(&format!("rita@{}", b.domain), &ana).await;
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{rita_on_a}"), Some(&ana))
        .await;
    let avatar = account["avatar"].as_str().unwrap_or_default().to_owned();
    assert!(
        avatar.starts_with(a.url("/media/proxy/").as_str()),
        "an avatar of B is shown from A: {account}"
    );
    assert_eq!(
        account["header"],
        a.url("/static/header.png").as_str(),
        "no header yet"
    );
    let (status, _) = a
        .api_post(
            &format!("/api/v1/accounts/{rita_on_a}/follow"),
            &ana,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    settle(&[&a, &b]).await;

    // A new header travels in an Update of Rita's actor.
    let (status, me) = set_images(&b, &rita, None, Some(png_with_text_and_exif())).await;
    assert_eq!(status, 200, "{me}");
    settle(&[&a, &b]).await;
    let (_, account) = a
        .api_get(&format!("/api/v1/accounts/{rita_on_a}"), Some(&ana))
        .await;
    let header = account["header"].as_str().unwrap_or_default().to_owned();
    assert!(
        header.starts_with(a.url("/media/proxy/").as_str()),
        "the header arrived in an Update: {account}"
    );
    assert_eq!(account["display_name"], "Rita");

    let (_, media) = upload(&b, &rita, "photo.jpg", jpeg_with_gps()).await;
    let (status, post) = b
        .api_post(
            "/api/v1/statuses",
            &rita,
            json!({ "status": "The view from the ward", "media_ids": [media["id"]] }),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    settle(&[&a, &b]).await;
    let (_, home) = a.api_get("/api/v1/timelines/home", Some(&ana)).await;
    let from_rita = home
        .as_array()
        .and_then(|list| {
            list.iter().find(|s| {
                s["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("the ward"))
            })
        })
        .cloned()
        .unwrap_or_else(|| panic!("the post did not reach A: {home}"));
    let attachment = &from_rita["media_attachments"][0];
    let url = attachment["url"].as_str().unwrap_or_default().to_owned();
    assert!(
        url.starts_with(a.url("/media/proxy/").as_str()),
        "{attachment}"
    );
    assert!(
        attachment["preview_url"]
            .as_str()
            .is_some_and(|p| p.starts_with(a.url("/media/proxy/").as_str()))
    );
    assert_eq!(attachment["description"], "A gradient");
    assert_eq!(attachment["remote_url"], Value::Null, "no address of B");
    assert_eq!(
        attachment["blurhash"], media["blurhash"],
        "as B described it"
    );

    // Five apps open the image at once: B is asked once.
    let fetches = (0..5).map(|_| fetch(&url, Some(&ana)));
    for (status, headers, body) in futures::future::join_all(fetches).await {
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "image/jpeg");
        assert!(
            headers["cache-control"]
                .to_str()
                .is_ok_and(|c| c.starts_with("public"))
        );
        assert_no_metadata(&body, "the copy on A");
        let decoded = image::load_from_memory(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((decoded.width(), decoded.height()), (480, 640), "upright");
    }
    let (status, _, thumbnail) =
        fetch(attachment["preview_url"].as_str().unwrap_or_default(), None).await;
    assert_eq!(status, 200);
    assert_no_metadata(&thumbnail, "the thumbnail on A");
    let file_on_b = path_of(&media["url"]);
    let asked = b.received(&file_on_b);
    assert_eq!(asked.len(), 1, "B was asked once for the file: {asked:?}");
    assert!(
        asked[0].headers.contains_key("signature"),
        "A's fetch is signed"
    );
    let (_, shown) = a
        .api_get(
            &format!(
                "/api/v1/statuses/{}",
                from_rita["id"].as_str().unwrap_or_default()
            ),
            Some(&ana),
        )
        .await;
    assert_eq!(
        shown["media_attachments"][0]["meta"]["original"]["width"], 480,
        "the stored copy's size: {shown}"
    );

    for (url, what) in [(&avatar, "avatar"), (&header, "header")] {
        let (status, _, body) = fetch(url, None).await;
        assert_eq!(status, 200, "{what}");
        assert_no_metadata(&body, what);
    }
    assert_eq!(b.received(&path_of(&json!(avatar_on_b))).len(), 1);
    let copies = scene.stored_files(&a);
    assert_eq!(
        copies.len(),
        6,
        "A keeps its copies (avatar, header, photo; each with a thumbnail): {copies:?}"
    );
}
on_both_stores!(remote_images_are_served_by_the_readers_instance);

/// A noisy picture: it does not compress, so its PNG is large.
fn large_png() -> Vec<u8> {
    let noise = image::RgbImage::from_fn(400, 400, |_, _| image::Rgb(rand::random::<[u8; 3]>()));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(noise)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{e}"));
    png
}

/// A remote post's images on an internal address, given as an IP literal, too large, or not
/// an image are refused with 502 and a reason; nothing is fetched from the internal address
/// (its name is refused when looked up, before any connection). A remote avatar that cannot
/// be had is replaced by the default one.
async fn unsafe_remote_images_are_refused(engine: Engine) {
    let peer = StubPeer::start().await;
    let localhost = vec!["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
    let lookup = StaticLookup(HashMap::from([
        ("localhost".to_owned(), localhost),
        (
            "intranet.internal".to_owned(),
            vec!["10.1.2.3".parse().unwrap_or_else(|e| panic!("{e}"))],
        ),
    ]));
    let a = Instance::start_configured(&engine, "localhost", Arc::new(lookup), |settings| {
        settings.media_max_bytes = 100_000;
    })
    .await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let port = peer.base.port().unwrap_or_default();
    let inward = format!("http://intranet.internal:{port}/secret.png");
    let literal = format!("http://127.0.0.1:{port}/literal.png");
    let big = format!("{}big.png", peer.base);
    let page = format!("{}page.png", peer.base);
    let fine = format!("{}fine.png", peer.base);
    peer.serve(
        "/literal.png",
        Serving::File("image/png", png_with_text_and_exif()),
    );
    peer.serve("/big.png", Serving::File("image/png", large_png()));
    peer.serve("/page.png", Serving::File("text/html", b"<html>".to_vec()));
    peer.serve(
        "/fine.png",
        Serving::File("image/png", png_with_text_and_exif()),
    );
    let gina = peer.actor("gina");
    // Gina's usual document, with an avatar on the internal address.
    let mut document: Value = http()
        .get(&gina)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    document["icon"] = json!({ "type": "Image", "url": inward });
    peer.serve("/users/gina", Serving::Document(document));

    let ana_url = a.url("/users/ana").to_string();
    let image = |url: &str| json!({ "type": "Document", "mediaType": "image/png", "url": url, "name": "a picture" });
    let create = json!({ "@context": AS, "id": peer.id("create"), "type": "Create", "actor": gina,
        "object": { "id": format!("{gina}/notes/1"), "type": "Note", "attributedTo": gina,
            "content": "pictures for you", "to": [ana_url],
            "tag": [{ "type": "Mention", "href": ana_url }],
            "attachment": [image(&inward), image(&literal), image(&big), image(&page), image(&fine)] } });
    assert_eq!(peer.send("gina", &a, "/inbox", &create).await, 202);

    let (_, notifications) = a.api_get("/api/v1/notifications", Some(&ana)).await;
    let status = &notifications[0]["status"];
    let attachments = status["media_attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attachments.len(), 5, "{status}");
    let expected = [
        "refused host intranet.internal",
        "refused URL",
        "larger than 100000 bytes",
        "not a JPEG, PNG, WebP or GIF",
    ];
    for (attachment, why) in attachments.iter().zip(expected) {
        let url = attachment["url"].as_str().unwrap_or_default();
        let (status, _, body) = fetch(url, Some(&ana)).await;
        let error: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 502, "{why}: {error}");
        assert!(
            error["error"].as_str().is_some_and(|e| e.contains(why)),
            "{why}: {error}"
        );
    }
    let (status, _, body) = fetch(
        attachments[4]["url"].as_str().unwrap_or_default(),
        Some(&ana),
    )
    .await;
    assert_eq!(status, 200, "a safe image is served");
    assert_no_metadata(&body, "the stub's picture");
    let gets = peer.gets();
    assert!(
        !gets
            .iter()
            .any(|p| p == "/literal.png" || p == "/secret.png"),
        "an internal address was reached: {gets:?}"
    );
    // Anyone else: the post is direct.
    let (status, _, _) = fetch(attachments[4]["url"].as_str().unwrap_or_default(), None).await;
    assert_eq!(status, 404);

    let avatar = status_account_avatar(status_of(&notifications));
    assert!(
        avatar.starts_with(a.url("/media/proxy/").as_str()),
        "{avatar}"
    );
    let (status, headers, _) = fetch(&avatar, None).await;
    assert_eq!(
        status, 303,
        "a placeholder for an avatar that cannot be had"
    );
    assert_eq!(headers["location"], a.url("/static/avatar.png").as_str());
    for hostile in ["../../hearth.db", "0123456789abcdef0123456789abcdef", "zz"] {
        let (status, _, _) = fetch(a.url(&format!("/media/proxy/{hostile}")).as_str(), None).await;
        assert_eq!(status, 404, "{hostile}");
    }
}
on_both_engines!(unsafe_remote_images_are_refused);

fn status_of(notifications: &Value) -> &Value {
    &notifications[0]["status"]
}

fn status_account_avatar(status: &Value) -> String {
    status["account"]["avatar"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// An image of a members-only group's post: its members here see it (with a token or a
/// browser session), a member's server fetches it signed, and so reaches its own member
/// through its own copy; anyone else, signed or not, gets 404.
async fn members_only_images_reach_members_and_their_servers(engine: Engine) {
    let (a, b, c) = (
        Instance::start(&engine).await,
        Instance::start(&engine).await,
        Instance::start(&engine).await,
    );
    let mona = a.create_user("mona", UserRole::Moderator).await;
    a.create_user("otto", UserRole::Member).await;
    b.create_user("bob", UserRole::Member).await;
    let group = a
        .create_group_with(
            "survivors",
            "Cancer survivors",
            Visibility::MembersOnly,
            JoinPolicy::Approval,
            Some(&mona),
        )
        .await;
    let (mona_token, bob) = (a.token("mona").await, b.token("bob").await);
    let group_on_b = b.account_id(&format!("survivors@{}", a.domain), &bob).await;
    b.api_post(
        &format!("/api/v1/accounts/{group_on_b}/follow"),
        &bob,
        json!({}),
    )
    .await;
    settle(&[&a, &b]).await;
    let bob_on_a = a
        .account_id(&format!("bob@{}", b.domain), &mona_token)
        .await;
    let (status, approved) = a
        .api_post(
            &format!(
                "/api/hearth/v1/groups/{}/requests/{bob_on_a}/approve",
                group.id
            ),
            &mona_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    settle(&[&a, &b]).await;

    let (_, media) = upload(&a, &mona_token, "photo.jpg", jpeg_with_gps()).await;
    let (status, post) = a
        .api_post(
            "/api/v1/statuses",
            &mona_token,
            json!({ "status": "Our meeting room", "group_id": group.id.to_string(), "media_ids": [media["id"]] }),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    settle(&[&a, &b]).await;
    let url = media["url"].as_str().unwrap_or_default().to_owned();

    assert_eq!(b.signed_get(&url).await, 200, "a member's server, signed");
    assert_eq!(c.signed_get(&url).await, 404, "another server, signed");
    assert_eq!(fetch(&url, None).await.0, 404, "anonymous");

    // In a browser, the session is the viewer: Mona sees it, Otto does not.
    for (name, expected) in [("mona", 200), ("otto", 404)] {
        let mut browser = Browser::default();
        let (_, page, _) = browser.get(a.url("/auth/sign_in").as_str()).await;
        let (status, _, _) = browser
            .post(
                a.url("/auth/sign_in").as_str(),
                &[
                    ("csrf", hidden_input(&page, "csrf")),
                    ("handle", name.into()),
                    ("password", "a long test password".into()),
                ],
            )
            .await;
        assert_eq!(status, 303, "{name} signs in");
        let (status, _, _) = browser.get(&url).await;
        assert_eq!(status, expected, "{name}'s session");
    }

    // Bob's app, on B, gets B's copy, which B fetched from A with its signature.
    let (_, home) = b.api_get("/api/v1/timelines/home", Some(&bob)).await;
    let copy = home
        .as_array()
        .and_then(|list| {
            list.iter()
                .find_map(|s| s["media_attachments"][0]["url"].as_str())
        })
        .unwrap_or_else(|| panic!("no image reached Bob: {home}"))
        .to_owned();
    assert!(copy.starts_with(b.url("/media/proxy/").as_str()), "{copy}");
    let (status, headers, body) = fetch(&copy, Some(&bob)).await;
    assert_eq!(status, 200);
    assert!(
        headers["cache-control"]
            .to_str()
            .is_ok_and(|c| c.starts_with("private")),
        "a members-only copy is not cached for others"
    );
    assert_no_metadata(&body, "B's copy");
    assert_eq!(fetch(&copy, None).await.0, 404, "anonymous on B");
}
on_both_engines!(members_only_images_reach_members_and_their_servers);

/// Avatars and headers come from the upload pipeline and are public; a file that is not an
/// image is refused. Uploads never posted are removed after a day, files included; posted
/// images and the avatar in use stay, a replaced avatar goes.
async fn unused_uploads_are_removed_after_a_day(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let ana = a.token("ana").await;
    let (status, me) = set_images(
        &a,
        &ana,
        Some(jpeg_with_gps()),
        Some(png_with_text_and_exif()),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    let first_avatar = me["avatar"].as_str().unwrap_or_default().to_owned();
    let header = me["header"].as_str().unwrap_or_default().to_owned();
    let (_, actor) = a.ap_get("/users/ana").await;
    assert_eq!(actor["icon"]["url"], first_avatar.as_str());
    assert_eq!(actor["icon"]["mediaType"], "image/jpeg");
    assert_eq!(actor["image"]["url"], header.as_str());
    for url in [&first_avatar, &header] {
        let (status, _, body) = fetch(url, None).await;
        assert_eq!(status, 200, "anyone sees an avatar or header");
        assert_no_metadata(&body, url);
    }
    let (status, refused) = set_images(&a, &ana, Some(b"not an image".to_vec()), None).await;
    assert_eq!(status, 422, "{refused}");
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&ana))
        .await;
    assert_eq!(me["avatar"], first_avatar.as_str(), "unchanged");
    let (status, me) = set_images(&a, &ana, Some(png_with_text_and_exif()), None).await;
    assert_eq!(status, 200);
    let avatar = me["avatar"].as_str().unwrap_or_default().to_owned();
    assert_ne!(avatar, first_avatar);

    let (_, posted) = upload(&a, &ana, "posted.jpg", jpeg_with_gps()).await;
    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "hello", "media_ids": [posted["id"]] }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, forgotten) = upload(&a, &ana, "forgotten.jpg", jpeg_with_gps()).await;
    let files_before = scene.stored_files(&a).len();

    let store = &a.state.media;
    let ctx = &a.state.ctx;
    let a_day_ago = (chrono::Utc::now() - chrono::TimeDelta::days(1)).naive_utc();
    let removed = hearth::service::media::clean_up(ctx, store, a_day_ago)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(removed, 0, "nothing is a day old yet");
    let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(1)).naive_utc();
    let removed = hearth::service::media::clean_up(ctx, store, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(removed, 2, "the forgotten upload and the replaced avatar");
    assert_eq!(
        scene.stored_files(&a).len(),
        files_before - 4,
        "two files each"
    );
    let forgotten_id = forgotten["id"].as_str().unwrap_or_default();
    assert_eq!(
        a.api_get(&format!("/api/v1/media/{forgotten_id}"), Some(&ana))
            .await
            .0,
        404
    );
    assert_eq!(
        fetch(forgotten["url"].as_str().unwrap_or_default(), Some(&ana))
            .await
            .0,
        404
    );
    assert_eq!(
        fetch(&first_avatar, None).await.0,
        404,
        "the replaced avatar"
    );
    for url in [
        &avatar,
        &header,
        &posted["url"].as_str().unwrap_or_default().to_owned(),
    ] {
        assert_eq!(fetch(url, Some(&ana)).await.0, 200, "{url} stays");
    }
}
on_both_stores!(unused_uploads_are_removed_after_a_day);
