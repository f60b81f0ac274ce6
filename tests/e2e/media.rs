//! Media uploads: metadata stripped before anything is stored, thumbnails and blurhashes,
//! alt text, attachment to statuses, and files served only to those who may see the post.

use crate::{
    on_both_stores,
    s3::{MediaScene, Store},
};
use hearth_tests::{Engine, Instance, JoinPolicy, UserRole, Visibility, http, on_both_engines};
use image::{DynamicImage, ImageEncoder, RgbImage};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use std::io::Cursor;

/// A big-endian TIFF block as EXIF carries it: orientation 6 (turn 90° clockwise to show)
/// and a GPS position (48° 51' 29.64" N).
fn tiff_with_gps() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08");
    // IFD0 at 8: two entries.
    t.extend_from_slice(&2u16.to_be_bytes());
    t.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0]); // Orientation
    t.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1]); // GPSInfo IFD pointer
    t.extend_from_slice(&38u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD at 38: latitude reference and latitude.
    t.extend_from_slice(&2u16.to_be_bytes());
    t.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 2, b'N', 0, 0, 0]);
    t.extend_from_slice(&[0x00, 0x02, 0x00, 0x05, 0, 0, 0, 3]);
    t.extend_from_slice(&68u32.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    // The three rationals at 68.
    for (n, d) in [(48u32, 1u32), (51, 1), (2964, 100)] {
        t.extend_from_slice(&n.to_be_bytes());
        t.extend_from_slice(&d.to_be_bytes());
    }
    assert_eq!(t.len(), 92);
    t
}

/// A 640 × 480 gradient that is not the same turned round.
fn gradient() -> RgbImage {
    RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x / 3) as u8, (y / 2) as u8, if x < 100 { 255 } else { 0 }])
    })
}

/// A JPEG photo with an EXIF APP1 segment (GPS and orientation) right after its start.
pub(crate) fn jpeg_with_gps() -> Vec<u8> {
    let mut plain = Vec::new();
    DynamicImage::ImageRgb8(gradient())
        .write_to(&mut Cursor::new(&mut plain), image::ImageFormat::Jpeg)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff_with_gps());
    let mut jpeg = plain[..2].to_vec(); // SOI
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap_or(0).to_be_bytes());
    jpeg.extend_from_slice(&app1);
    jpeg.extend_from_slice(&plain[2..]);
    jpeg
}

/// CRC-32 of a PNG chunk's type and data.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    let mut chunk = u32::try_from(data.len())
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// A PNG with a `tEXt` comment and an `eXIf` chunk (GPS and orientation) after its header.
pub(crate) fn png_with_text_and_exif() -> Vec<u8> {
    let mut plain = Vec::new();
    let image = gradient();
    image::codecs::png::PngEncoder::new(&mut plain)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let ihdr_end = 8 + 4 + 4 + 13 + 4;
    let mut png = plain[..ihdr_end].to_vec();
    png.extend_from_slice(&png_chunk(
        b"tEXt",
        b"Comment\x00Taken at 12 Rue de la Paix",
    ));
    png.extend_from_slice(&png_chunk(b"eXIf", &tiff_with_gps()));
    png.extend_from_slice(&plain[ihdr_end..]);
    png
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What kamadak-exif finds in a JPEG or PNG: the GPS latitude and the orientation, if any.
fn exif_found(bytes: &[u8]) -> Option<(String, u32)> {
    let exif = exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    let latitude = exif
        .get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
        .map(|f| f.display_value().to_string())
        .unwrap_or_default();
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(0);
    Some((latitude, orientation))
}

/// Asserts that `bytes` carry no metadata block of any kind.
pub(crate) fn assert_no_metadata(bytes: &[u8], what: &str) {
    assert_eq!(exif_found(bytes), None, "{what}: kamadak-exif finds EXIF");
    for marker in [
        &b"Exif\x00\x00"[..],
        b"tEXt",
        b"eXIf",
        b"iTXt",
        b"zTXt",
        b"iCCP",
        b"http://ns.adobe.com/xap",
        b"Rue de la Paix",
    ] {
        assert!(
            !contains(bytes, marker),
            "{what} still holds {:?}",
            String::from_utf8_lossy(marker)
        );
    }
    // No APP1 (EXIF, XMP) nor APP2 (ICC) segment in a JPEG.
    if bytes.starts_with(&[0xFF, 0xD8]) {
        assert!(
            !contains(bytes, &[0xFF, 0xE1]) && !contains(bytes, &[0xFF, 0xE2]),
            "{what} has an APP1 or APP2 segment"
        );
    }
}

/// Uploads `bytes` to `/api/v2/media`; status and JSON.
pub(crate) async fn upload(a: &Instance, token: &str, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_owned()))
        .text("description", "A gradient")
        .text("focus", "0.25,-0.5");
    let response = http()
        .post(a.url("/api/v2/media"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// GET of a URL; status, headers and body.
pub(crate) async fn fetch(url: &str, token: Option<&str>) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut request = http().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    (status, headers, body)
}

async fn media_rows(a: &Instance) -> i64 {
    a.state
        .db
        .run(|conn| Ok(hearth::db::media::count(conn)?))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Checks an uploaded image end to end: the entity, the served file and thumbnail, and the
/// files on disk, none with metadata; the photo upright (orientation 6 applied).
async fn check_upload(
    scene: &MediaScene,
    a: &Instance,
    token: &str,
    media: &Value,
    content_type: &str,
) {
    assert!(
        media["id"]
            .as_str()
            .is_some_and(|id| id.parse::<i64>().is_ok())
    );
    assert_eq!(media["type"], "image");
    assert_eq!(
        (&media["remote_url"], &media["text_url"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(media["description"], "A gradient");
    assert_eq!(media["meta"]["focus"], json!({ "x": 0.25, "y": -0.5 }));
    // Turned upright: 640 × 480 shown with orientation 6 is 480 wide, 640 high.
    assert_eq!(media["meta"]["original"]["width"], 480);
    assert_eq!(media["meta"]["original"]["height"], 640);
    assert_eq!(media["meta"]["original"]["size"], "480x640");
    assert_eq!(media["meta"]["original"]["aspect"], 0.75);
    assert_eq!(media["meta"]["small"]["width"], 300);
    assert_eq!(media["meta"]["small"]["height"], 400);
    let blurhash = media["blurhash"].as_str().unwrap_or_default();
    assert_eq!(blurhash.len(), 28, "a 4×3 blurhash: {blurhash}");

    let url = media["url"].as_str().unwrap_or_default();
    let (status, headers, served) = fetch(url, Some(token)).await;
    assert_eq!(status, 200, "{url}");
    assert_eq!(headers["content-type"], content_type);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("cache-control"));
    assert_no_metadata(&served, "the served file");
    let decoded = image::load_from_memory(&served).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((decoded.width(), decoded.height()), (480, 640));
    // The red band on the left of the original is now at the top: it was turned.
    let top = decoded.to_rgb8().get_pixel(240, 20).0;
    let bottom = decoded.to_rgb8().get_pixel(240, 620).0;
    assert!(
        top[2] > 200 && bottom[2] < 50,
        "top {top:?}, bottom {bottom:?}"
    );

    let (status, _, thumbnail) = fetch(
        media["preview_url"].as_str().unwrap_or_default(),
        Some(token),
    )
    .await;
    assert_eq!(status, 200);
    assert_no_metadata(&thumbnail, "the thumbnail");
    let small = image::load_from_memory(&thumbnail).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((small.width(), small.height()), (300, 400));

    let files = scene.stored_files(a);
    assert_eq!(files.len(), 2, "the file and its thumbnail: {files:?}");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(
            url.contains(name)
                || media["preview_url"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(name)
        );
        assert!(name.len() >= 36, "unguessable name: {name}");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_no_metadata(&bytes, &path.display().to_string());
    }
}

/// A JPEG photo with GPS in its EXIF is stored and served without any EXIF, upright.
async fn a_jpeg_loses_its_exif_and_gps(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let original = jpeg_with_gps();
    assert_eq!(
        exif_found(&original),
        Some(("48 deg 51 min 29.64 sec".into(), 6)),
        "the test photo really carries GPS and orientation"
    );
    assert!(contains(&original, b"Exif\x00\x00"));

    let (status, media) = upload(&a, &token, "photo.jpg", original).await;
    assert_eq!(status, 200, "{media}");
    check_upload(&scene, &a, &token, &media, "image/jpeg").await;
}
on_both_stores!(a_jpeg_loses_its_exif_and_gps);

/// A PNG's text and EXIF chunks are gone too.
async fn a_png_loses_its_text_and_exif_chunks(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let original = png_with_text_and_exif();
    assert!(contains(&original, b"tEXt") && contains(&original, b"eXIf"));
    assert_eq!(
        exif_found(&original),
        Some(("48 deg 51 min 29.64 sec".into(), 6))
    );
    // Also through the v1 route.
    let form = Form::new()
        .part("file", Part::bytes(original).file_name("scan.png"))
        .text("description", "A gradient")
        .text("focus", "0.25,-0.5");
    let response = http()
        .post(a.url("/api/v1/media"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let media: Value = response.json().await.unwrap_or(Value::Null);
    check_upload(&scene, &a, &token, &media, "image/png").await;
}
on_both_stores!(a_png_loses_its_text_and_exif_chunks);

/// Files that are not images, broken images and files over the limit are refused with 422
/// and a Mastodon error; nothing is stored.
async fn bad_and_oversized_files_are_refused(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let mut truncated = jpeg_with_gps();
    truncated.truncate(300);
    let mut oversized = vec![0u8; 10 * 1024 * 1024 + 1];
    oversized[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let cases = [
        ("notes.txt", b"just some text, no image".to_vec()),
        ("broken.jpg", truncated),
        (
            "header-only.jpg",
            vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F'],
        ),
        (
            "image.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec(),
        ),
        ("huge.jpg", oversized),
    ];
    for (name, bytes) in cases {
        let (status, error) = upload(&a, &token, name, bytes).await;
        assert_eq!(status, 422, "{name}: {error}");
        assert!(error["error"].is_string(), "{name}: {error}");
    }
    assert_eq!(media_rows(&a).await, 0);
    assert_eq!(scene.stored_files(&a), Vec::<std::path::PathBuf>::new());

    // No file at all, and no token.
    let response = http()
        .post(a.url("/api/v2/media"))
        .bearer_auth(&token)
        .multipart(Form::new().text("description", "nothing"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 422);
    let (status, _) = upload(&a, "not-a-token", "photo.jpg", jpeg_with_gps()).await;
    assert_eq!(status, 401);
    assert_eq!(media_rows(&a).await, 0);
}
on_both_stores!(bad_and_oversized_files_are_refused);

/// Alt text and focus change with a JSON body and with a form; only the owner sees or
/// changes an image not yet posted.
async fn alt_text_is_updated_by_its_owner_only(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bob", UserRole::Member).await;
    let (ana, bob) = (a.token("ana").await, a.token("bob").await);
    let (_, media) = upload(&a, &ana, "photo.jpg", jpeg_with_gps()).await;
    let path = format!("/api/v1/media/{}", media["id"].as_str().unwrap_or_default());

    let (status, updated) = a
        .api_put(
            &path,
            &ana,
            json!({ "description": "Red band on a gradient", "focus": "-0.5,0.5" }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["description"], "Red band on a gradient");
    assert_eq!(updated["meta"]["focus"], json!({ "x": -0.5, "y": 0.5 }));

    let response = http()
        .put(a.url(&path))
        .bearer_auth(&ana)
        .form(&[("description", "Second alt text")])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let (status, shown) = a.api_get(&path, Some(&ana)).await;
    assert_eq!(status, 200);
    assert_eq!(shown["description"], "Second alt text");
    assert_eq!(
        shown["meta"]["focus"],
        json!({ "x": -0.5, "y": 0.5 }),
        "a field left out stays"
    );

    let multipart = Form::new().text("description", "Third alt text");
    let response = http()
        .put(a.url(&path))
        .bearer_auth(&ana)
        .multipart(multipart)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);

    let (status, _) = a.api_put(&path, &ana, json!({ "focus": "3,0" })).await;
    assert_eq!(status, 422);
    let (status, _) = a
        .api_put(&path, &ana, json!({ "description": "x".repeat(1501) }))
        .await;
    assert_eq!(status, 422);

    // Bob can neither read nor change it, nor fetch its file.
    assert_eq!(a.api_get(&path, Some(&bob)).await.0, 404);
    assert_eq!(
        a.api_put(&path, &bob, json!({ "description": "mine" }))
            .await
            .0,
        404
    );
    let url = media["url"].as_str().unwrap_or_default();
    assert_eq!(fetch(url, Some(&bob)).await.0, 404);
    assert_eq!(fetch(url, None).await.0, 404);
    let (_, shown) = a.api_get(&path, Some(&ana)).await;
    assert_eq!(shown["description"], "Third alt text");
}
on_both_stores!(alt_text_is_updated_by_its_owner_only);

/// A status shows its images, in the client API and in the federated Note; an image goes
/// into one post only, its owner's.
async fn a_status_carries_its_images(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    a.create_user("bob", UserRole::Member).await;
    let (ana, bob) = (a.token("ana").await, a.token("bob").await);
    let (_, first) = upload(&a, &ana, "photo.jpg", jpeg_with_gps()).await;
    let (_, second) = upload(&a, &ana, "scan.png", png_with_text_and_exif()).await;
    let first_id = first["id"].as_str().unwrap_or_default().to_owned();
    let second_id = second["id"].as_str().unwrap_or_default().to_owned();

    // Someone else's image cannot be posted; nor more than four.
    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &bob,
            json!({ "status": "hi", "media_ids": [first_id] }),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "hi", "media_ids": ["1", "2", "3", "4", "5"] }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(a.post_count().await, 0, "a refused post is not stored");

    // An image and no text (JSON).
    let (status, post) = a
        .api_post("/api/v1/statuses", &ana, json!({ "media_ids": [first_id] }))
        .await;
    assert_eq!(status, 200, "{post}");
    assert_eq!(post["media_attachments"][0]["id"], first_id.as_str());
    assert_eq!(post["media_attachments"][0]["description"], "A gradient");
    assert_eq!(post["media_attachments"][0]["url"], first["url"]);

    // A form, as some apps send: `media_ids[]`.
    let response = http()
        .post(a.url("/api/v1/statuses"))
        .bearer_auth(&ana)
        .form(&[
            ("status", "Scan of my results"),
            ("media_ids[]", &second_id),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    let with_form: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(with_form["media_attachments"][0]["id"], second_id.as_str());
    assert_eq!(
        with_form["media_attachments"][0]["meta"]["original"]["width"],
        480
    );

    // Once posted, an image belongs to its post: not posted again, not edited alone.
    let (status, _) = a
        .api_post(
            "/api/v1/statuses",
            &ana,
            json!({ "status": "again", "media_ids": [first_id] }),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        a.api_get(&format!("/api/v1/media/{first_id}"), Some(&ana))
            .await
            .0,
        404
    );

    // Anyone reads the public post and its files; other servers get the images as Documents.
    let id = post["id"].as_str().unwrap_or_default();
    let (status, shown) = a.api_get(&format!("/api/v1/statuses/{id}"), None).await;
    assert_eq!(
        (status, &shown["media_attachments"][0]["id"]),
        (200, &json!(first_id))
    );
    let (status, headers, _) = fetch(first["url"].as_str().unwrap_or_default(), None).await;
    assert_eq!(status, 200);
    assert!(
        headers["cache-control"]
            .to_str()
            .is_ok_and(|c| c.starts_with("public"))
    );
    let note: Value = http()
        .get(post["uri"].as_str().unwrap_or_default())
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or(Value::Null);
    let document = &note["attachment"][0];
    assert_eq!(document["type"], "Document", "{note}");
    assert_eq!(document["mediaType"], "image/jpeg");
    assert_eq!(document["url"], first["url"]);
    assert_eq!(document["name"], "A gradient");
    assert_eq!(document["blurhash"], first["blurhash"]);
    assert_eq!(
        (&document["width"], &document["height"]),
        (&json!(480), &json!(640))
    );
}
on_both_stores!(a_status_carries_its_images);

/// The images of a members-only group's post are served to members only: a non-member and
/// an anonymous reader get 404, as for a file that does not exist.
async fn members_only_media_is_served_to_members_only(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    let mona = a.create_user("mona", UserRole::Moderator).await;
    a.create_user("carol", UserRole::Member).await;
    a.create_user("bob", UserRole::Member).await;
    let group = a
        .create_group_with(
            "survivors",
            "Cancer survivors",
            Visibility::MembersOnly,
            JoinPolicy::Approval,
            Some(&mona),
        )
        .await;
    let (mona_token, carol, bob) = (
        a.token("mona").await,
        a.token("carol").await,
        a.token("bob").await,
    );
    // Carol asks to join; Mona approves.
    let (status, _) = a
        .api_post(
            &format!("/api/v1/accounts/{}/follow", group.id),
            &carol,
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let carol_id = a.account_id("carol", &carol).await;
    let (status, approved) = a
        .api_post(
            &format!(
                "/api/hearth/v1/groups/{}/requests/{carol_id}/approve",
                group.id
            ),
            &mona_token,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");

    let (_, media) = upload(&a, &mona_token, "photo.jpg", jpeg_with_gps()).await;
    let (status, post) = a
        .api_post(
            "/api/v1/statuses",
            &mona_token,
            json!({
                "status": "Our meeting room",
                "group_id": group.id.to_string(),
                "media_ids": [media["id"]],
            }),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    assert_eq!(post["visibility"], "private");

    for url in [&media["url"], &media["preview_url"]] {
        let url = url.as_str().unwrap_or_default();
        let (status, headers, _) = fetch(url, Some(&carol)).await;
        assert_eq!(status, 200, "a member: {url}");
        assert!(
            headers["cache-control"]
                .to_str()
                .is_ok_and(|c| c.starts_with("private"))
        );
        assert_eq!(fetch(url, Some(&mona_token)).await.0, 200, "the author");
        assert_eq!(fetch(url, Some(&bob)).await.0, 404, "a non-member");
        assert_eq!(fetch(url, None).await.0, 404, "anonymous");
    }
    // Nor can a name be guessed into another file.
    for name in [
        "../hearth.db",
        "..%2Fhearth.db",
        "0123456789abcdef0123456789abcdef.jpg",
    ] {
        let (status, _, _) =
            fetch(a.url(&format!("/media/{name}")).as_str(), Some(&mona_token)).await;
        assert_eq!(status, 404, "{name}");
    }
}
on_both_stores!(members_only_media_is_served_to_members_only);

/// An app's media tab (`only_media` on an account's statuses) lists the posts with pictures,
/// read as such from the database: a page of one holds the newest post with a picture, not
/// the newest post.
async fn an_accounts_media_tab_lists_its_pictures(engine: Engine) {
    let a = Instance::start(&engine).await;
    let ana = a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let (_, media) = upload(&a, &token, "garden.jpg", jpeg_with_gps()).await;
    let body = json!({ "status": "My garden", "media_ids": [media["id"]] });
    let (_, pictured) = a.api_post("/api/v1/statuses", &token, body).await;
    let words = json!({ "status": "Words only" });
    a.api_post("/api/v1/statuses", &token, words).await;

    let tab = format!("/api/v1/accounts/{}/statuses?only_media=true", ana.id);
    let (_, listed) = a.api_get(&tab, None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], pictured["id"]);

    let (first, next) = a.get_paged(&format!("{tab}&limit=1"), &token).await;
    assert_eq!(first[0]["id"], pictured["id"], "{first}");
    let next = next.unwrap_or_else(|| panic!("a full page links to the next"));
    let (second, _) = a.get_paged(&next, &token).await;
    assert_eq!(second, json!([]), "nothing older has a picture");
}
on_both_engines!(an_accounts_media_tab_lists_its_pictures);

/// A file is sent with its size and date; asked again with that date (`If-Modified-Since`,
/// as a browser revalidates), it is not sent again, and the answer keeps its caching rules.
/// An older date gets the whole file.
async fn a_file_the_reader_has_is_not_sent_again(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let (_, media) = upload(&a, &token, "photo.jpg", jpeg_with_gps()).await;
    let url = media["url"].as_str().unwrap_or_default();
    let (status, headers, body) = fetch(url, Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-length"].to_str().ok(),
        Some(body.len().to_string().as_str())
    );
    let date = headers["last-modified"].to_str().unwrap_or_default();
    let sent = httpdate::parse_http_date(date).unwrap_or_else(|e| panic!("{date}: {e}"));

    let ask = |since: std::time::SystemTime| {
        http()
            .get(url)
            .bearer_auth(&token)
            .header("if-modified-since", httpdate::fmt_http_date(since))
            .send()
    };
    let response = ask(sent).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["cache-control"], "private, max-age=3600");
    assert_eq!(response.headers()["vary"], "Authorization, Cookie");
    assert!(response.bytes().await.is_ok_and(|b| b.is_empty()));

    let earlier = sent - std::time::Duration::from_secs(3600);
    let response = ask(earlier).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_ok_and(|b| b == body));
    // A date that is no date is ignored.
    let response = http()
        .get(url)
        .bearer_auth(&token)
        .header("if-modified-since", "yesterday")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), 200);
}
on_both_stores!(a_file_the_reader_has_is_not_sent_again);

/// A reader (a browser, a player) asks for part of a file (`Range`): it gets that part, with
/// `206` and its place in the file; a part past the end gets `416` with the file's size; a
/// `Range` that is not one well-formed part gets the whole file.
async fn a_part_of_a_file_is_sent_when_asked(engine: Engine, store: Store) {
    let scene = MediaScene::new(store).await;
    let a = scene.start(&engine).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    let (_, media) = upload(&a, &token, "photo.jpg", jpeg_with_gps()).await;
    let url = media["url"].as_str().unwrap_or_default();
    let (status, headers, whole) = fetch(url, Some(&token)).await;
    assert_eq!(
        (status, headers["accept-ranges"].to_str().ok()),
        (200, Some("bytes"))
    );
    let total = whole.len();

    let bearer = token.as_str();
    let ask = |range: String| async move {
        let response = http()
            .get(url)
            .bearer_auth(bearer)
            .header("range", range)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        let content_range = response
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        (status, content_range, body)
    };
    for (range, first, last) in [
        ("bytes=0-9".to_owned(), 0, 9),
        ("bytes=-5".to_owned(), total - 5, total - 1),
        (format!("bytes={}-", total - 7), total - 7, total - 1),
    ] {
        let (status, content_range, body) = ask(range.clone()).await;
        assert_eq!(status, 206, "{range}");
        assert_eq!(
            content_range,
            Some(format!("bytes {first}-{last}/{total}")),
            "{range}"
        );
        assert_eq!(body, whole[first..=last], "{range}");
    }
    let (status, content_range, _) = ask(format!("bytes={total}-{}", total + 10)).await;
    assert_eq!(
        (status, content_range),
        (416, Some(format!("bytes */{total}")))
    );
    for ignored in ["bytes=abc", "bytes=0-1,4-5", "pages=1-2"] {
        let (status, _, body) = ask(ignored.to_owned()).await;
        assert_eq!((status, body.len()), (200, total), "{ignored}");
    }
}
on_both_stores!(a_part_of_a_file_is_sent_when_asked);
