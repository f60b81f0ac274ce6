//! Remote input normalised and bounded before it is stored (issue 13): a member's server
//! sends correctly signed posts with hostile links, impossible dates, enormous or invisible
//! text, or nothing at all. What is stored, and what apps are served, stays sane.

use chrono::{DateTime, Utc};
use hearth_federation::bounds::{MAX_CONTENT_CHARS, MAX_TITLE_CHARS};
use hearth_tests::{Engine, Instance, StubPeer, UserRole, on_both_engines};
use serde_json::{Value, json};

const AS: &str = "https://www.w3.org/ns/activitystreams";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// Instance A with an open group `support`; rowan (here) and gina (on the peer) are members.
struct Scene {
    a: Instance,
    peer: StubPeer,
    group: String,
    group_id: i64,
    rowan: String,
}

async fn scene(engine: &Engine) -> Scene {
    let a = Instance::start(engine).await;
    let peer = StubPeer::start().await;
    let group = a.create_group("support", "Support").await;
    a.create_user("rowan", UserRole::Member).await;
    let rowan = a.token("rowan").await;
    a.api_post(
        &format!("/api/v1/accounts/{}/follow", group.id),
        &rowan,
        json!({}),
    )
    .await;
    let group_url = a.url("/groups/support").to_string();
    let join = hearth_tests::follow(&peer.actor("gina"), &group_url);
    assert_eq!(peer.send("gina", &a, "/inbox", &join).await, 202);
    Scene {
        a,
        peer,
        group: group_url,
        group_id: group.id,
        rowan,
    }
}

impl Scene {
    /// gina's post into the group: `fields` added to a plain public note with a fresh id;
    /// returns the note's id and the status the inbox answered.
    async fn post(&self, fields: Value) -> (String, u16) {
        let id = self.peer.id("note");
        let mut note = json!({ "id": id, "type": "Note", "attributedTo": self.peer.actor("gina"),
            "content": "<p>hello</p>", "to": [PUBLIC], "cc": [self.group], "audience": self.group });
        if let (Some(note), Some(fields)) = (note.as_object_mut(), fields.as_object()) {
            for (k, v) in fields {
                note.insert(k.clone(), v.clone());
            }
        }
        let create = json!({ "@context": AS, "id": self.peer.id("create"), "type": "Create",
            "actor": self.peer.actor("gina"), "object": note });
        let status = self.peer.send("gina", &self.a, "/inbox", &create).await;
        (id, status)
    }

    /// The status apps are served for the post with ActivityPub id `uri`, as rowan sees it.
    async fn served(&self, uri: &str) -> Value {
        let (_, list) = self
            .a
            .api_get(
                &format!("/api/v1/accounts/{}/statuses?limit=40", self.group_id),
                Some(&self.rowan),
            )
            .await;
        let found = list
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["uri"] == uri)
            .unwrap_or_else(|| panic!("{uri} is not served: {list}"));
        let id = found["id"].as_str().unwrap_or_default();
        let (status, one) = self
            .a
            .api_get(&format!("/api/v1/statuses/{id}"), Some(&self.rowan))
            .await;
        assert_eq!(status, 200, "{one}");
        one
    }

    /// The stored row of the post with ActivityPub id `uri`.
    async fn stored(&self, uri: &str) -> Option<hearth::db::posts::PostRow> {
        let uri = uri.to_owned();
        self.a
            .state
            .db
            .run(move |conn| Ok(hearth::db::posts::by_ap_id(conn, &uri)?))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

fn created_at(status: &Value) -> DateTime<Utc> {
    status["created_at"]
        .as_str()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.to_utc())
        .unwrap_or_else(|| panic!("an app cannot read created_at: {status}"))
}

/// Links with `javascript:`, `data:`, `about:` and `ws:` schemes in `url` and `inReplyTo` are
/// dropped: the post is stored and served with its own id as its page, and as no reply.
async fn only_http_links_are_kept(engine: Engine) {
    let s = scene(&engine).await;
    for scheme in [
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "about:blank",
        "ws://localhost:1/socket",
    ] {
        let (uri, status) = s
            .post(json!({ "url": scheme, "inReplyTo": scheme,
                "tag": [{ "type": "Mention", "href": scheme, "name": "@nobody" }] }))
            .await;
        assert_eq!(status, 202, "{scheme}");
        let row = s.stored(&uri).await.unwrap_or_else(|| panic!("{scheme}"));
        assert_eq!(row.url.as_deref(), Some(uri.as_str()), "{scheme}");
        assert_eq!(row.in_reply_to_ap_id, None, "{scheme}");
        let served = s.served(&uri).await;
        assert_eq!(served["url"], uri.as_str(), "{scheme}: {served}");
        assert_eq!(served["in_reply_to_id"], Value::Null, "{scheme}");
        assert!(!served.to_string().contains(scheme), "{scheme}: {served}");
    }
}
on_both_engines!(only_http_links_are_kept);

/// Posts dated in year -1, year 0, 1969 or 2262 are stored and served as written when they
/// arrived, in a form apps read; a sane date is kept as sent.
async fn impossible_dates_become_the_time_of_receipt(engine: Engine) {
    let s = scene(&engine).await;
    for date in [
        "-0001-06-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "1969-07-20T20:17:00Z",
        "2262-04-11T23:47:16Z",
        "+275760-09-13T00:00:00Z",
        "yesterday",
    ] {
        let before = Utc::now() - chrono::TimeDelta::seconds(1);
        let (uri, status) = s.post(json!({ "published": date, "updated": date })).await;
        assert_eq!(status, 202, "{date}");
        let served = s.served(&uri).await;
        let at = created_at(&served);
        assert!(
            at >= before && at <= Utc::now(),
            "{date} was served as {at}"
        );
    }
    let (uri, _) = s.post(json!({ "published": "2024-05-01T08:00:00Z" })).await;
    assert_eq!(
        created_at(&s.served(&uri).await).to_rfc3339(),
        "2024-05-01T08:00:00+00:00"
    );
}
on_both_engines!(impossible_dates_become_the_time_of_receipt);

/// A title, content warning and content of 300,000 characters each (the activity just under
/// the inbox's 1 MiB), NUL and other control characters, and right-to-left overrides: stored
/// and served cut at their bounds, without the characters.
async fn enormous_and_invisible_text_is_bounded_and_cleaned(engine: Engine) {
    let s = scene(&engine).await;
    let huge = "a".repeat(300_000);
    let (uri, status) = s
        .post(json!({ "type": "Page", "name": huge, "summary": huge, "content": huge }))
        .await;
    assert_eq!(status, 202);
    let row = s.stored(&uri).await.unwrap_or_else(|| panic!("not stored"));
    assert_eq!(
        row.name.as_deref().map(|n| n.chars().count()),
        Some(MAX_TITLE_CHARS)
    );
    assert_eq!(row.spoiler_text.chars().count(), MAX_TITLE_CHARS);
    assert!(
        row.content.chars().count() <= MAX_CONTENT_CHARS + 100,
        "{} characters stored",
        row.content.chars().count()
    );
    let served = s.served(&uri).await;
    assert!(
        served["content"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .count()
            < MAX_CONTENT_CHARS + MAX_TITLE_CHARS + 200
    );
    assert!(
        served["spoiler_text"]
            .as_str()
            .unwrap_or_default()
            .ends_with('…')
    );

    let (uri, status) = s
        .post(
            json!({ "name": "bill\u{202E}fdp.exe", "summary": "care\u{0}ful\u{2066}",
            "content": "<p>ok\u{0}ay\u{202E}\u{7} then</p>" }),
        )
        .await;
    assert_eq!(status, 202);
    let served = s.served(&uri).await;
    let text = served.to_string();
    for hidden in ['\u{0}', '\u{7}', '\u{202E}', '\u{2066}'] {
        assert!(!text.contains(hidden), "{hidden:?} served: {text}");
    }
    assert_eq!(served["spoiler_text"], "careful");
    assert!(
        served["content"]
            .as_str()
            .is_some_and(|c| c.contains("billfdp.exe") && c.contains("okay then")),
        "{served}"
    );
}
on_both_engines!(enormous_and_invisible_text_is_bounded_and_cleaned);

/// Posts with neither content, title nor attachment (none at all, empty HTML, only invisible
/// characters, a content warning alone) are refused with 400 and a JSON error; nothing is
/// stored. An image alone, or a title alone, is a post.
async fn posts_with_nothing_to_show_are_dropped(engine: Engine) {
    let s = scene(&engine).await;
    let before = s.a.post_count().await;
    for empty in [
        json!({ "content": null }),
        json!({ "content": "" }),
        json!({ "content": "<p> </p><br>" }),
        json!({ "content": "\u{0}\u{202E}\u{2066}" }),
        json!({ "content": null, "summary": "a warning about nothing", "name": "  " }),
        json!({ "content": null, "attachment": [{ "type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)" }] }),
    ] {
        let (uri, status) = s.post(empty.clone()).await;
        assert_eq!(status, 400, "{empty}");
        assert!(s.stored(&uri).await.is_none(), "{empty}");
    }
    assert_eq!(s.a.post_count().await, before);
    let (_, titled) = s.post(json!({ "content": null, "name": "A title" })).await;
    let image = json!({ "type": "Document", "mediaType": "image/png", "url": format!("{}media/a.png", s.peer.base) });
    let (_, pictured) = s
        .post(json!({ "content": "", "attachment": [image] }))
        .await;
    assert_eq!((titled, pictured), (202, 202));
    assert_eq!(s.a.post_count().await, before + 2);
}
on_both_engines!(posts_with_nothing_to_show_are_dropped);
