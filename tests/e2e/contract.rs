//! Contract tests, as an app sees Hearth: every GET of the client API answers in the Mastodon
//! entity shapes apps parse (each required field present, of its type: string ids, Mastodon
//! times, never-empty image URLs, `null` where Mastodon says required-but-nullable), and every
//! write that takes parameters works with the same parameters sent as JSON, urlencoded and
//! multipart bodies, with Rails-style booleans (`True`, `0`, `on`, `off`) and `name[]` arrays,
//! its effect read back each time.
//!
//! The entities are in [`shapes`]. Both scenarios check, from the route list in
//! `server/src/api/mod.rs`, that no route of the client API is left unchecked.

mod shapes;

use hearth_tests::{Engine, Instance, JoinPolicy, UserRole, Visibility, http, on_both_engines};
use reqwest::{
    Method, RequestBuilder,
    multipart::{Form, Part},
};
use serde_json::{Value, json};
use shapes::*;
use std::{collections::BTreeSet, fmt, sync::Mutex};

// ---------------------------------------------------------------------------------------------
// The routes to cover.

/// The client-API routes of `server/src/api/mod.rs` as `METHOD /path/{param}`: those under
/// `/api/` and `/oauth/`, and the OAuth metadata.
fn client_api_routes() -> BTreeSet<String> {
    let source = include_str!("../../server/src/api/mod.rs");
    let routes = source
        .split_once(".merge(web::routes())")
        .map_or(source, |(routes, _)| routes);
    let mut found = BTreeSet::new();
    for chunk in routes.split(".route(").skip(1) {
        let Some(path) = chunk.split('"').nth(1) else {
            continue;
        };
        if !(path.starts_with("/api/")
            || path.starts_with("/oauth/")
            || path == "/.well-known/oauth-authorization-server")
        {
            continue;
        }
        for (method, call) in [
            ("GET", "get("),
            ("POST", "post("),
            ("PUT", "put("),
            ("PATCH", "patch("),
            ("DELETE", "delete("),
        ] {
            if chunk.contains(call) {
                found.insert(format!("{method} {path}"));
            }
        }
    }
    found
}

#[test]
fn the_route_list_is_read_whole() {
    let routes = client_api_routes();
    for route in [
        "GET /.well-known/oauth-authorization-server",
        "POST /oauth/token",
        "PATCH /api/v1/accounts/update_credentials",
        "GET /api/v1/media/{id}",
        "PUT /api/v1/media/{id}",
        "GET /api/v1/statuses/{id}",
        "PUT /api/v1/statuses/{id}",
        "DELETE /api/v1/statuses/{id}",
        "GET /api/v1/markers",
        "POST /api/v1/markers",
        "DELETE /api/hearth/v1/groups/{id}/moderators/{account}",
        "POST /api/hearth/v1/groups/{id}/pins/{status}",
        "DELETE /api/hearth/v1/groups/{id}/pins/{status}",
    ] {
        assert!(routes.contains(route), "{route} not found in {routes:#?}");
    }
    assert!(routes.len() > 90, "{}", routes.len());
    assert!(
        !routes.iter().any(|r| r.contains("/users/")),
        "only the client API"
    );
}

/// Routes that answer no JSON entity: their own tests read them.
const NOT_ENTITIES: &[(&str, &str)] = &[
    ("GET /api/v1/streaming", "a WebSocket (streaming.rs)"),
    (
        "GET /api/v1/streaming/{*stream}",
        "server-sent events (streaming.rs)",
    ),
    (
        "GET /api/hearth/v1/export",
        "a ZIP archive (data_rights.rs)",
    ),
    (
        "GET /api/hearth/v1/exports/{id}/archive",
        "a ZIP archive (data_rights.rs)",
    ),
];

/// Writes that take no parameters: there is no body whose encoding could matter.
const NO_PARAMETERS: &[&str] = &[
    "POST /api/v1/accounts/{id}/unfollow",
    "POST /api/v1/accounts/{id}/block",
    "POST /api/v1/accounts/{id}/unblock",
    "POST /api/v1/accounts/{id}/unmute",
    "POST /api/v1/follow_requests/{id}/authorize",
    "POST /api/v1/follow_requests/{id}/reject",
    "DELETE /api/v1/statuses/{id}",
    "POST /api/v1/statuses/{id}/favourite",
    "POST /api/v1/statuses/{id}/unfavourite",
    "POST /api/v1/statuses/{id}/unreblog",
    "POST /api/v1/statuses/{id}/bookmark",
    "POST /api/v1/statuses/{id}/unbookmark",
    "POST /api/v1/statuses/{id}/pin",
    "POST /api/v1/statuses/{id}/unpin",
    "DELETE /api/v1/conversations/{id}",
    "POST /api/v1/conversations/{id}/read",
    "POST /api/v1/notifications/clear",
    "POST /api/v1/notifications/{id}/dismiss",
    "DELETE /api/hearth/v1/groups/{id}/members/{account}",
    "POST /api/hearth/v1/groups/{id}/requests/{account}/approve",
    "POST /api/hearth/v1/groups/{id}/requests/{account}/reject",
    "POST /api/hearth/v1/groups/{id}/bans/{account}",
    "POST /api/hearth/v1/groups/{id}/moderators/{account}",
    "DELETE /api/hearth/v1/groups/{id}/moderators/{account}",
    "POST /api/hearth/v1/groups/{id}/pins/{status}",
    "DELETE /api/hearth/v1/groups/{id}/pins/{status}",
    "POST /api/v1/admin/accounts/{id}/approve",
    "POST /api/v1/admin/accounts/{id}/reject",
    "DELETE /api/hearth/v1/admin/federation/{host}",
    "POST /api/hearth/v1/admin/federation/{host}/retry",
    "POST /api/v1/admin/reports/{id}/reopen",
    "DELETE /api/hearth/v1/admin/posts/{id}",
    "POST /api/v1/admin/accounts/{id}/unsuspend",
    "POST /api/v1/admin/accounts/{id}/unsilence",
    "POST /api/v1/admin/accounts/{id}/unsensitive",
    "POST /api/v1/announcements/{id}/dismiss",
    "PUT /api/v1/announcements/{id}/reactions/{name}",
    "DELETE /api/v1/announcements/{id}/reactions/{name}",
    "DELETE /api/hearth/v1/admin/announcements/{id}",
    "POST /api/hearth/v1/exports",
];

/// Routes left out for now, with why.
const LEFT_OUT: &[(&str, &str)] = &[];

/// Sends a scenario's requests and remembers which routes they reached.
struct Api<'a> {
    instance: &'a Instance,
    /// One client for all requests (making one costs more than a request here).
    client: reqwest::Client,
    reached: Mutex<BTreeSet<String>>,
}

impl<'a> Api<'a> {
    fn new(instance: &'a Instance) -> Self {
        Self {
            instance,
            client: http(),
            reached: Mutex::new(BTreeSet::new()),
        }
    }

    /// A request to `path`, as the holder of `token` (or anonymously).
    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.instance.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `request`, which reaches `route` (`POST /api/v1/statuses/{id}/pin`); its
    /// status and JSON (`Value::Null` if none).
    async fn send(&self, route: &str, request: RequestBuilder) -> (u16, Value) {
        let (status, body) = self.fetch(route, request).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// [`Self::send`], answering the body as text.
    async fn fetch(&self, route: &str, request: RequestBuilder) -> (u16, String) {
        if let Ok(mut reached) = self.reached.lock() {
            reached.insert(route.to_owned());
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Sends `body` to `route` at `path` in `encoding`; asserts a 200 and answers the JSON.
    async fn write(
        &self,
        route: &str,
        path: &str,
        token: Option<&str>,
        encoding: Encoding,
        body: &Value,
    ) -> Value {
        let (method, _) = route.split_once(' ').unwrap_or_default();
        let method = Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let request = encoding.body(self.request(method, path, token), body);
        let (status, answer) = self.send(route, request).await;
        assert_eq!(
            status, 200,
            "{route} ({path}) as {encoding}: {body} -> {answer}"
        );
        answer
    }

    /// A JSON write that must succeed, to set a scene.
    async fn act(&self, method: Method, path: &str, token: &str, body: Value) -> Value {
        let route = format!("{method} {path}");
        self.write(&route, path, Some(token), Encoding::Json, &body)
            .await
    }

    /// Asserts that every route in `wanted` was reached.
    fn assert_reached(&self, wanted: impl IntoIterator<Item = String>) {
        let reached = self.reached.lock().map(|r| r.clone()).unwrap_or_default();
        let missed: Vec<String> = wanted
            .into_iter()
            .filter(|route| !reached.contains(route))
            .collect();
        assert!(
            missed.is_empty(),
            "routes the contract does not check yet:\n{}",
            missed.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Body encodings.

/// How an app sends the parameters of a write.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Json,
    Urlencoded,
    Multipart,
}

impl Encoding {
    const ALL: [Self; 3] = [Self::Json, Self::Urlencoded, Self::Multipart];

    /// A boolean as a form of this encoding spells it, in Rails spellings apps use: `True`
    /// and `0` urlencoded (Mastodon.py's and others'), `on` and `off` (checkboxes) in multipart.
    fn spell(self, value: bool) -> &'static str {
        match (self, value) {
            (Self::Urlencoded, true) => "True",
            (Self::Urlencoded, false) => "0",
            (_, true) => "on",
            (_, false) => "off",
        }
    }

    /// `request` with `body` (a JSON object, as a JSON client sends it) in this encoding.
    fn body(self, request: RequestBuilder, body: &Value) -> RequestBuilder {
        match self {
            Self::Json => request.json(body),
            Self::Urlencoded => request.form(&self.pairs(body)),
            Self::Multipart => request.multipart(self.form(body)),
        }
    }

    /// `body` as a multipart form, to which files can be added.
    fn form(self, body: &Value) -> Form {
        self.pairs(body)
            .into_iter()
            .fold(Form::new(), |form, (name, value)| form.text(name, value))
    }

    /// `body` as the name–value pairs of a Rails form: `name[]` for each item of an array,
    /// `name[key]` for each field of an object.
    fn pairs(self, body: &Value) -> Vec<(String, String)> {
        fn flatten(
            encoding: Encoding,
            name: String,
            value: &Value,
            pairs: &mut Vec<(String, String)>,
        ) {
            match value {
                Value::Null => {}
                Value::Bool(b) => pairs.push((name, encoding.spell(*b).to_owned())),
                Value::Number(n) => pairs.push((name, n.to_string())),
                Value::String(s) => pairs.push((name, s.clone())),
                Value::Array(items) => {
                    for item in items {
                        flatten(encoding, format!("{name}[]"), item, pairs);
                    }
                }
                Value::Object(fields) => {
                    for (key, item) in fields {
                        flatten(encoding, format!("{name}[{key}]"), item, pairs);
                    }
                }
            }
        }
        let mut pairs = Vec::new();
        for (name, value) in body.as_object().into_iter().flatten() {
            flatten(self, name.clone(), value, &mut pairs);
        }
        pairs
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "JSON",
            Self::Urlencoded => "urlencoded",
            Self::Multipart => "multipart",
        })
    }
}

#[test]
fn forms_are_flattened_as_rails_reads_them() {
    let body = json!({
        "status": "hi", "sensitive": true, "media_ids": ["1", "2"],
        "home": { "last_read_id": "7" }, "duration": 60, "language": null,
    });
    assert_eq!(
        Encoding::Urlencoded.pairs(&body),
        [
            ("status", "hi"),
            ("sensitive", "True"),
            ("media_ids[]", "1"),
            ("media_ids[]", "2"),
            ("home[last_read_id]", "7"),
            ("duration", "60"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    assert_eq!(Encoding::Multipart.spell(false), "off");
}

// ---------------------------------------------------------------------------------------------
// A scene with something of everything.

fn id(entity: &Value) -> String {
    entity["id"].as_str().unwrap_or_default().to_owned()
}

/// A small PNG, as a multipart file part.
fn picture() -> Part {
    let image = image::RgbImage::from_fn(32, 24, |x, y| {
        image::Rgb([(x * 8) as u8, (y * 10) as u8, 128])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{e}"));
    Part::bytes(png)
        .file_name("picture.png")
        .mime_str("image/png")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Uploads a picture with alt text; its media id.
async fn upload(api: &Api<'_>, token: &str, description: &str) -> String {
    let form = Encoding::Multipart
        .form(&json!({ "description": description }))
        .part("file", picture());
    let request = api.request(Method::POST, "/api/v2/media", Some(token));
    let (status, media) = api
        .send("POST /api/v2/media", request.multipart(form))
        .await;
    assert_eq!(status, 200, "{media}");
    id(&media)
}

/// An instance whose rules reports can name.
async fn instance(engine: &Engine) -> Instance {
    Instance::start_with(engine, |settings| {
        settings.rules = vec!["Be kind.".into(), "No medical advice.".into()];
    })
    .await
}

/// An instance with something of everything a GET can list: an admin (ana), people, a
/// locked account (lou) with a follow request, an open group with a member and a
/// members-only one with a join request, a post with a picture, a mention, a hashtag, an
/// edit and a reply chain, favourites, a bookmark, a pin, a direct message, a block, a timed
/// mute, a report, markers, and an app with its own token.
struct World {
    a: Instance,
    ana: String,
    lou: String,
    app: String,
    ids: std::collections::BTreeMap<&'static str, String>,
}

impl World {
    fn id(&self, name: &str) -> &str {
        self.ids
            .get(name)
            .map_or_else(|| panic!("nothing called {name}"), String::as_str)
    }
}

async fn world(engine: &Engine) -> World {
    let a = instance(engine).await;
    let mut ids = std::collections::BTreeMap::new();
    let ana_row = a.create_user("ana", UserRole::Admin).await;
    ids.insert("ana", ana_row.id.to_string());
    for name in ["bo", "cy", "dee", "eve", "lou"] {
        let row = a.create_user(name, UserRole::Member).await;
        ids.insert(name, row.id.to_string());
    }
    for (handle, visibility, join_policy) in [
        ("circle", Visibility::Public, JoinPolicy::Open),
        ("quiet", Visibility::MembersOnly, JoinPolicy::Approval),
    ] {
        let group = a
            .create_group_with(handle, handle, visibility, join_policy, Some(&ana_row))
            .await;
        ids.insert(handle, group.id.to_string());
    }
    let (ana, bo, cy, lou) = (
        a.token("ana").await,
        a.token("bo").await,
        a.token("cy").await,
        a.token("lou").await,
    );
    let scene = Api::new(&a);
    let account = |name: &str| format!("/api/v1/accounts/{}", ids[name]);

    let path = "/api/v1/accounts/update_credentials";
    let locked = json!({ "locked": true });
    scene.act(Method::PATCH, path, &lou, locked).await;
    for (who, whom) in [
        (&ana, "bo"),
        (&bo, "ana"),
        (&ana, "lou"),
        (&bo, "circle"),
        (&cy, "quiet"),
    ] {
        let path = format!("{}/follow", account(whom));
        scene.act(Method::POST, &path, who, json!({})).await;
    }
    let path = format!("{}/block", account("eve"));
    scene.act(Method::POST, &path, &ana, json!({})).await;
    let path = format!("{}/mute", account("dee"));
    let mute = json!({ "duration": 3600 });
    scene.act(Method::POST, &path, &ana, mute).await;

    let sunrise = upload(&scene, &ana, "A sunrise over the sea").await;
    ids.insert("media", upload(&scene, &ana, "Not posted yet").await);
    let post = |token: &str, body: Value| {
        let (scene, token) = (&scene, token.to_owned());
        async move {
            let posted = scene
                .act(Method::POST, "/api/v1/statuses", &token, body)
                .await;
            id(&posted)
        }
    };
    let first = post(
        &ana,
        json!({
            "status": "A first #contract post, @bo", "spoiler_text": "About sleep",
            "sensitive": true, "media_ids": [sunrise],
        }),
    )
    .await;
    let reply = post(
        &bo,
        json!({ "status": "@ana thank you", "in_reply_to_id": first }),
    )
    .await;
    post(
        &ana,
        json!({ "status": "@bo you are welcome", "in_reply_to_id": reply }),
    )
    .await;
    post(
        &ana,
        json!({ "status": "@bo just between us", "visibility": "direct" }),
    )
    .await;
    // An edit is the whole post again, as Mastodon apps send it: left out, the picture would go.
    let edit = json!({
        "status": "A first #contract post, @bo (edited)", "spoiler_text": "About sleep",
        "sensitive": true, "media_ids": [sunrise],
    });
    let path = format!("/api/v1/statuses/{first}");
    scene.act(Method::PUT, &path, &ana, edit).await;
    for (who, what, post) in [
        (&bo, "favourite", &first),
        (&ana, "favourite", &reply),
        (&ana, "bookmark", &reply),
        (&ana, "pin", &first),
    ] {
        let path = format!("/api/v1/statuses/{post}/{what}");
        scene.act(Method::POST, &path, who, json!({})).await;
    }
    let report = json!({
        "account_id": ids["eve"], "comment": "Selling pills", "category": "violation",
        "rule_ids": ["2"],
    });
    let report = scene
        .act(Method::POST, "/api/v1/reports", &bo, report)
        .await;
    ids.insert("report", id(&report));

    let (_, notifications) = a.api_get("/api/v1/notifications", Some(&ana)).await;
    let notification = id(&notifications[0]);
    let markers = json!({
        "home": { "last_read_id": first }, "notifications": { "last_read_id": notification },
    });
    scene
        .act(Method::POST, "/api/v1/markers", &ana, markers)
        .await;

    let app = scene
        .write(
            "POST /api/v1/apps",
            "/api/v1/apps",
            None,
            Encoding::Json,
            &json!({ "client_name": "Contract", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read" }),
        )
        .await;
    let body = json!({
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": "read",
    });
    let token = scene
        .write(
            "POST /oauth/token",
            "/oauth/token",
            None,
            Encoding::Json,
            &body,
        )
        .await;
    let app = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let block = json!({
        "domain": "pills.example", "severity": "silence", "public_comment": "Sells pills",
        "obfuscate": true,
    });
    let block = scene
        .act(Method::POST, "/api/v1/admin/domain_blocks", &ana, block)
        .await;
    ids.insert("domain_block", id(&block));
    let allow = json!({ "domain": "clinic.example" });
    let allow = scene
        .act(Method::POST, "/api/v1/admin/domain_allows", &ana, allow)
        .await;
    ids.insert("domain_allow", id(&allow));
    let path = "/api/hearth/v1/exports";
    let (status, export) = scene
        .send(
            "POST /api/hearth/v1/exports",
            scene.request(Method::POST, path, Some(&ana)),
        )
        .await;
    assert_eq!(status, 202, "{export}");
    ids.insert("export", id(&export));
    let public = json!({ "public_domain_blocks": true });
    let path = "/api/hearth/v1/admin/federation-mode";
    scene.act(Method::PUT, path, &ana, public).await;
    ids.insert("first", first);
    ids.insert("reply", reply);
    ids.insert("notification", notification);
    World {
        a,
        ana,
        lou,
        app,
        ids,
    }
}

// ---------------------------------------------------------------------------------------------
// Reads.

/// What a GET answers.
#[derive(Debug)]
enum Answer {
    /// One entity.
    Entity(&'static Shape),
    /// A list of entities: at least one, so that there is something to check.
    List(&'static Shape),
    /// A list of entities that may be empty (the scene cannot fill it).
    Any(&'static Shape),
    /// Always `[]`: what Mastodon answers someone who has none of something Hearth does not
    /// offer, so that apps show "nothing here" rather than fail.
    Empty,
    /// Plain text.
    Text(&'static str),
}
use Answer::{Any, Empty, Entity, List, Text};

/// One GET of the contract.
struct Read {
    /// The route (`/api/v1/statuses/{id}`).
    route: &'static str,
    /// What is asked (`/api/v1/statuses/7`).
    path: String,
    token: Option<String>,
    answer: Answer,
    /// JSON pointers to parts that must not be empty or null, so that what is in them is
    /// checked too (a status's `/media_attachments`).
    filled: &'static [&'static str],
}

fn get(route: &'static str, token: Option<&str>, answer: Answer) -> Read {
    Read {
        route,
        path: route.to_owned(),
        token: token.map(str::to_owned),
        answer,
        filled: &[],
    }
}

impl Read {
    fn at(self, path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            ..self
        }
    }

    fn filled(self, pointers: &'static [&'static str]) -> Self {
        Self {
            filled: pointers,
            ..self
        }
    }
}

/// Every GET of the client API, as the scene lets it be asked.
fn reads(w: &World) -> Vec<Read> {
    let (ana, lou, app) = (
        Some(w.ana.as_str()),
        Some(w.lou.as_str()),
        Some(w.app.as_str()),
    );
    let account = |name: &str| format!("/api/v1/accounts/{}", w.id(name));
    let status = |name: &str| format!("/api/v1/statuses/{}", w.id(name));
    let group = |name: &str| format!("/api/hearth/v1/groups/{}", w.id(name));
    vec![
        get(
            "/.well-known/oauth-authorization-server",
            None,
            Entity(&OAUTH_METADATA),
        ),
        get("/api/v1/apps/verify_credentials", app, Entity(&APPLICATION)),
        get("/api/v1/instance", None, Entity(&V1_INSTANCE)).filled(&["/rules"]),
        get("/api/v2/instance", None, Entity(&INSTANCE)).filled(&["/rules"]),
        get("/api/v1/instance/rules", None, List(&RULE)),
        get(
            "/api/v1/accounts/verify_credentials",
            ana,
            Entity(&CREDENTIAL_ACCOUNT),
        ),
        get("/api/v1/accounts/lookup", None, Entity(&ACCOUNT))
            .at("/api/v1/accounts/lookup?acct=bo"),
        get("/api/v1/accounts/search", ana, List(&ACCOUNT)).at("/api/v1/accounts/search?q=bo"),
        get("/api/v1/accounts/relationships", ana, List(&RELATIONSHIP)).at(format!(
            "/api/v1/accounts/relationships?id[]={}&id[]={}",
            w.id("bo"),
            w.id("lou")
        )),
        get("/api/v1/accounts/{id}", None, Entity(&ACCOUNT)).at(account("bo")),
        get("/api/v1/accounts/{id}", None, Entity(&ACCOUNT)).at(account("circle")),
        get("/api/v1/accounts/{id}/statuses", None, List(&STATUS))
            .at(format!("{}/statuses", account("ana"))),
        get("/api/v1/accounts/{id}/statuses", ana, List(&STATUS))
            .at(format!("{}/statuses?pinned=true", account("ana"))),
        get("/api/v1/accounts/{id}/statuses", ana, List(&STATUS))
            .at(format!(
                "{}/statuses?only_media=1&exclude_replies=True",
                account("ana")
            ))
            .filled(&["/0/media_attachments"]),
        get("/api/v1/accounts/{id}/followers", None, List(&ACCOUNT))
            .at(format!("{}/followers", account("ana"))),
        get("/api/v1/accounts/{id}/following", None, List(&ACCOUNT))
            .at(format!("{}/following", account("ana"))),
        get("/api/v1/blocks", ana, List(&ACCOUNT)),
        get("/api/v1/mutes", ana, List(&MUTED_ACCOUNT)).filled(&["/0/mute_expires_at"]),
        get("/api/v1/follow_requests", lou, List(&ACCOUNT)),
        get("/api/v1/media/{id}", ana, Entity(&MEDIA_ATTACHMENT))
            .at(format!("/api/v1/media/{}", w.id("media")))
            .filled(&["/description", "/meta/original"]),
        get("/api/v1/statuses/{id}", None, Entity(&STATUS))
            .at(status("first"))
            .filled(&["/media_attachments", "/mentions", "/tags", "/edited_at"]),
        get("/api/v1/statuses/{id}/context", ana, Entity(&CONTEXT))
            .at(format!("{}/context", status("reply")))
            .filled(&["/ancestors", "/descendants"]),
        get("/api/v1/statuses/{id}/favourited_by", None, List(&ACCOUNT))
            .at(format!("{}/favourited_by", status("first"))),
        get("/api/v1/statuses/{id}/reblogged_by", None, Empty)
            .at(format!("{}/reblogged_by", status("first"))),
        get("/api/v1/statuses/{id}/history", None, List(&STATUS_EDIT))
            .at(format!("{}/history", status("first")))
            .filled(&["/1"]),
        get("/api/v1/statuses/{id}/source", ana, Entity(&STATUS_SOURCE))
            .at(format!("{}/source", status("first"))),
        get("/api/v1/timelines/home", ana, List(&STATUS)),
        get("/api/v1/timelines/public", None, List(&STATUS)),
        get("/api/v1/timelines/public", None, List(&STATUS))
            .at("/api/v1/timelines/public?local=true"),
        get("/api/v1/timelines/tag/{hashtag}", None, List(&STATUS))
            .at("/api/v1/timelines/tag/contract"),
        get("/api/v1/bookmarks", ana, List(&STATUS)),
        get("/api/v1/favourites", ana, List(&STATUS)),
        get("/api/v1/conversations", ana, List(&CONVERSATION)).filled(&["/0/last_status"]),
        get("/api/v1/tags/{name}", ana, Entity(&TAG))
            .at("/api/v1/tags/contract")
            .filled(&["/history"]),
        get("/api/v1/notifications", ana, List(&NOTIFICATION)),
        get("/api/v1/notifications", ana, List(&NOTIFICATION))
            .at("/api/v1/notifications?types[]=mention&types[]=admin.report"),
        get("/api/v1/notifications", ana, List(&NOTIFICATION))
            .at("/api/v1/notifications?exclude_types[]=follow&exclude_types[]=favourite"),
        get(
            "/api/v1/notifications/unread_count",
            ana,
            Entity(&UNREAD_COUNT),
        ),
        get("/api/v1/notifications/{id}", ana, Entity(&NOTIFICATION))
            .at(format!("/api/v1/notifications/{}", w.id("notification"))),
        get("/api/v1/markers", ana, Entity(&MARKERS))
            .at("/api/v1/markers?timeline[]=home&timeline[]=notifications"),
        get("/api/v1/preferences", ana, Entity(&PREFERENCES)),
        get("/api/v2/search", ana, Entity(&SEARCH))
            .at("/api/v2/search?q=contract")
            .filled(&["/statuses", "/hashtags"]),
        get("/api/v2/search", ana, Entity(&SEARCH))
            .at("/api/v2/search?q=%40bo&type=accounts")
            .filled(&["/accounts"]),
        get("/api/v1/custom_emojis", None, Empty),
        get("/api/v1/filters", ana, Empty),
        get("/api/v2/filters", ana, Empty),
        get("/api/v1/lists", ana, Empty),
        get("/api/v1/followed_tags", ana, Empty),
        get("/api/v1/announcements", ana, Empty),
        get("/api/hearth/v1/exports", ana, List(&HEARTH_EXPORT)),
        get("/api/hearth/v1/exports/{id}", ana, Entity(&HEARTH_EXPORT))
            .at(format!("/api/hearth/v1/exports/{}", w.id("export"))),
        get("/api/v1/trends/{kind}", None, Empty).at("/api/v1/trends/tags"),
        get("/api/v1/trends/{kind}", None, Empty).at("/api/v1/trends/statuses"),
        get("/api/v1/trends/{kind}", None, Empty).at("/api/v1/trends/links"),
        get("/api/v1/streaming/health", None, Text("OK")),
        get("/api/hearth/v1/groups", None, List(&HEARTH_GROUP)),
        get("/api/hearth/v1/groups/{id}", None, Entity(&HEARTH_GROUP))
            .at(group("circle"))
            .filled(&["/moderators"]),
        get("/api/hearth/v1/groups/{id}/members", ana, List(&ACCOUNT))
            .at(format!("{}/members", group("circle"))),
        get("/api/hearth/v1/groups/{id}/requests", ana, List(&ACCOUNT))
            .at(format!("{}/requests", group("quiet"))),
        get("/api/v1/admin/reports", ana, List(&ADMIN_REPORT)),
        get("/api/v1/admin/reports/{id}", ana, Entity(&ADMIN_REPORT))
            .at(format!("/api/v1/admin/reports/{}", w.id("report"))),
        get("/api/v1/admin/accounts", ana, List(&ADMIN_ACCOUNT)),
        get("/api/v1/admin/accounts/{id}", ana, Entity(&ADMIN_ACCOUNT))
            .at(format!("/api/v1/admin/accounts/{}", w.id("bo"))),
        // No other server is known here: its queue is a Hearth list, empty in this scene.
        get("/api/hearth/v1/admin/federation", ana, Any(&HOST_QUEUE)),
        // The scene made people and groups: the log holds their making.
        get("/api/hearth/v1/admin/audit", ana, List(&AUDIT_ENTRY)),
        get(
            "/api/hearth/v1/admin/crisis-resources",
            ana,
            Entity(&CRISIS_RESOURCES),
        ),
        get(
            "/api/v1/admin/domain_blocks",
            ana,
            List(&ADMIN_DOMAIN_BLOCK),
        ),
        get(
            "/api/v1/admin/domain_blocks/{id}",
            ana,
            Entity(&ADMIN_DOMAIN_BLOCK),
        )
        .at(format!(
            "/api/v1/admin/domain_blocks/{}",
            w.id("domain_block")
        )),
        get(
            "/api/v1/admin/domain_allows",
            ana,
            List(&ADMIN_DOMAIN_ALLOW),
        ),
        get(
            "/api/v1/admin/domain_allows/{id}",
            ana,
            Entity(&ADMIN_DOMAIN_ALLOW),
        )
        .at(format!(
            "/api/v1/admin/domain_allows/{}",
            w.id("domain_allow")
        )),
        get(
            "/api/hearth/v1/admin/federation-mode",
            ana,
            Entity(&FEDERATION_MODE),
        ),
        get("/api/v1/instance/domain_blocks", None, List(&DOMAIN_BLOCK)),
    ]
}

/// Asks every read of the scene; asserts each answers 200 with something to check, and that
/// no GET route of the client API is left out; answers the shape problems found.
async fn read_everything(w: &World) -> Vec<Problem> {
    let api = Api::new(&w.a);
    let mut problems = Vec::new();
    for read in reads(w) {
        let at = format!("GET {}", read.path);
        let request = api.request(Method::GET, &read.path, read.token.as_deref());
        let route = format!("GET {}", read.route);
        if let Text(expected) = read.answer {
            let (status, text) = api.fetch(&route, request).await;
            assert_eq!((status, text.as_str()), (200, expected), "{at}");
            continue;
        }
        let (status, answer) = api.send(&route, request).await;
        assert_eq!(status, 200, "{at}: {answer}");
        match read.answer {
            Entity(shape) => check(&answer, shape, &at, &mut problems),
            List(shape) | Any(shape) => {
                let items = answer
                    .as_array()
                    .unwrap_or_else(|| panic!("{at} must answer a list, not {answer}"));
                if matches!(read.answer, List(_)) {
                    assert!(
                        !items.is_empty(),
                        "{at}: the scene should give it something to list"
                    );
                }
                for (i, item) in items.iter().enumerate() {
                    check(item, shape, &format!("{at} [{i}]"), &mut problems);
                }
            }
            Empty => assert_eq!(answer, json!([]), "{at}"),
            Text(_) => {}
        }
        for pointer in read.filled {
            let part = answer.pointer(pointer);
            assert!(
                part.is_some_and(|p| !p.is_null() && p != &json!([]) && p != &json!({})),
                "{at}: nothing at {pointer} to check in {answer}"
            );
        }
    }
    api.assert_reached(client_api_routes().into_iter().filter(|route| {
        route.starts_with("GET ") && !NOT_ENTITIES.iter().any(|(r, _)| r == route)
    }));
    problems
}

/// Every GET of the client API answers in the Mastodon entity shapes, with every entity in
/// it (the account of a status, the report of a notification...) checked too.
async fn every_read_answers_in_mastodon_shapes(engine: Engine) {
    let w = world(&engine).await;
    let problems: Vec<String> = read_everything(&w)
        .await
        .iter()
        .filter(|p| !p.is_known_gap())
        .map(ToString::to_string)
        .collect();
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // A notification carries what its type is about, as apps expect to find it.
    let (_, notifications) = w.a.api_get("/api/v1/notifications", Some(&w.ana)).await;
    let mut kinds = BTreeSet::new();
    for n in notifications.as_array().into_iter().flatten() {
        let kind = n["type"].as_str().unwrap_or_default();
        kinds.insert(kind.to_owned());
        match kind {
            "mention" | "status" | "favourite" | "reblog" | "update" | "poll" => {
                assert!(n["status"].is_object(), "a {kind} carries its status: {n}");
            }
            "admin.report" => assert!(n["report"].is_object(), "{n}"),
            _ => assert!(n["status"].is_null(), "a {kind} is about no status: {n}"),
        }
    }
    for kind in ["follow", "mention", "favourite", "admin.report"] {
        assert!(kinds.contains(kind), "no {kind} among {kinds:?}");
    }

    // The instance advertises what works: posts can be pinned here (the scene pinned one).
    let (_, instance) = w.a.api_get("/api/v2/instance", None).await;
    let pins = &instance["configuration"]["accounts"]["max_pinned_statuses"];
    assert!(
        pins.as_u64() >= Some(1),
        "pins work, yet {pins} are advertised"
    );
}
on_both_engines!(every_read_answers_in_mastodon_shapes);

/// The fields listed in [`KNOWN_GAPS`] are answered as Mastodon does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn known_gaps_are_closed() {
    let w = world(&Engine::Sqlite).await;
    let problems: Vec<String> = read_everything(&w)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Writes.

/// `POST /api/v1/apps`, `POST /oauth/token`, `POST /api/v1/accounts` and `POST /oauth/revoke`:
/// an app registers, gets its own token, signs a patient up with it (waiting for approval,
/// with the reason given), and revokes the token, which then no longer works.
async fn apps_register_and_sign_people_up(api: &Api<'_>, admin: &str) {
    let verify = |token: &str| {
        let request = api.request(Method::GET, "/api/v1/apps/verify_credentials", Some(token));
        api.send("GET /api/v1/apps/verify_credentials", request)
    };
    for encoding in Encoding::ALL {
        let name = format!("Contract app ({encoding})");
        let redirect_uris = json!(["urn:ietf:wg:oauth:2.0:oob", "org.example.app://callback"]);
        let app = api
            .write(
                "POST /api/v1/apps",
                "/api/v1/apps",
                None,
                encoding,
                &json!({
                    "client_name": name, "redirect_uris": redirect_uris,
                    "scopes": "read write follow", "website": "https://app.example/",
                }),
            )
            .await;
        assert_shape(
            &app,
            &CREDENTIAL_APPLICATION,
            &format!("the app made as {encoding}"),
        );
        assert_eq!(app["name"], name.as_str());
        assert_eq!(app["redirect_uris"], redirect_uris, "{encoding}");
        let scopes: BTreeSet<&str> = app["scopes"]
            .as_array()
            .map(|s| s.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            scopes,
            BTreeSet::from(["follow", "read", "write"]),
            "{encoding}"
        );
        assert_eq!(app["website"], "https://app.example/");

        let credentials = |more: Value| {
            let mut body =
                json!({ "client_id": app["client_id"], "client_secret": app["client_secret"] });
            if let (Some(body), Value::Object(more)) = (body.as_object_mut(), more) {
                body.extend(more);
            }
            body
        };
        let body =
            credentials(json!({ "grant_type": "client_credentials", "scope": "read write" }));
        let token = api
            .write("POST /oauth/token", "/oauth/token", None, encoding, &body)
            .await;
        assert_shape(&token, &TOKEN, &format!("the token given as {encoding}"));
        let token = token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (status, verified) = verify(&token).await;
        assert_eq!(
            (status, &verified["name"]),
            (200, &json!(name)),
            "{encoding}"
        );

        let username = format!("joiner_{}", encoding.to_string().to_lowercase());
        let reason = format!("My nurse sent me ({encoding})");
        let signed_up = api
            .write(
                "POST /api/v1/accounts",
                "/api/v1/accounts",
                Some(&token),
                encoding,
                &json!({
                    "username": username, "email": format!("{username}@example.org"),
                    "password": "a long and private passphrase", "agreement": true,
                    "locale": "fr", "reason": reason,
                }),
            )
            .await;
        assert_shape(&signed_up, &TOKEN, &format!("the sign-up as {encoding}"));
        let (_, pending) = api
            .send(
                "GET /api/v1/admin/accounts",
                api.request(
                    Method::GET,
                    "/api/v1/admin/accounts?status=pending",
                    Some(admin),
                ),
            )
            .await;
        let joiner = pending
            .as_array()
            .and_then(|list| list.iter().find(|a| a["username"] == username.as_str()))
            .unwrap_or_else(|| panic!("{username} is not waiting for approval: {pending}"));
        assert_eq!(joiner["invite_request"], reason.as_str());
        assert_eq!(
            (&joiner["locale"], &joiner["approved"]),
            (&json!("fr"), &json!(false))
        );

        let body = credentials(json!({ "token": token }));
        let revoked = api
            .write("POST /oauth/revoke", "/oauth/revoke", None, encoding, &body)
            .await;
        assert_eq!(revoked, json!({}));
        let (status, _) = verify(&token).await;
        assert_eq!(status, 401, "the token revoked as {encoding} still works");
    }
}

/// `PATCH /api/v1/accounts/update_credentials`: the name, the bio, whether follows need
/// approval and whether the profile is discoverable change in each encoding; a multipart one
/// also brings an avatar.
async fn profiles_change(api: &Api<'_>, token: &str) {
    let route = "PATCH /api/v1/accounts/update_credentials";
    let path = "/api/v1/accounts/update_credentials";
    for (round, encoding) in Encoding::ALL.into_iter().enumerate() {
        let locked = round != 1;
        let body = json!({
            "display_name": format!("Ana ({encoding})"), "note": format!("Nurse; wrote this as {encoding}."),
            "locked": locked, "discoverable": !locked,
        });
        let request = api.request(Method::PATCH, path, Some(token));
        let request = match encoding {
            Encoding::Multipart => {
                request.multipart(encoding.form(&body).part("avatar", picture()))
            }
            _ => encoding.body(request, &body),
        };
        let (status, answer) = api.send(route, request).await;
        assert_eq!(status, 200, "{encoding}: {answer}");
        assert_shape(
            &answer,
            &CREDENTIAL_ACCOUNT,
            &format!("{route} as {encoding}"),
        );
        let (_, me) = api
            .send(
                "GET /api/v1/accounts/verify_credentials",
                api.request(
                    Method::GET,
                    "/api/v1/accounts/verify_credentials",
                    Some(token),
                ),
            )
            .await;
        assert_eq!(me["display_name"], body["display_name"], "{encoding}");
        assert!(
            me["note"]
                .as_str()
                .is_some_and(|n| n.contains(&format!("wrote this as {encoding}"))),
            "{encoding}: {}",
            me["note"]
        );
        assert_eq!(
            (&me["locked"], &me["discoverable"]),
            (&json!(locked), &json!(!locked)),
            "{encoding}"
        );
        if encoding == Encoding::Multipart {
            let avatar = me["avatar"].as_str().unwrap_or_default();
            assert!(
                !avatar.ends_with("/static/avatar.png"),
                "the avatar sent: {avatar}"
            );
            let fetched = api
                .client
                .get(avatar)
                .send()
                .await
                .map(|r| r.status().as_u16());
            assert_eq!(fetched.ok(), Some(200), "{avatar}");
        }
    }
}

/// `POST /api/v1/accounts/{id}/follow` with the options apps send (`reblogs`, `notify`,
/// `languages[]`), and `POST /api/v1/accounts/{id}/mute` with `notifications` and a
/// `duration`: each takes effect, and is undone before the next encoding.
/// A boost in each encoding, public or unlisted as asked, then withdrawn.
async fn boosts_keep_their_visibility(api: &Api<'_>, token: &str, post: &str) {
    for (round, encoding) in Encoding::ALL.into_iter().enumerate() {
        let visibility = if round == 1 { "unlisted" } else { "public" };
        let boost = api
            .write(
                "POST /api/v1/statuses/{id}/reblog",
                &format!("/api/v1/statuses/{post}/reblog"),
                Some(token),
                encoding,
                &json!({ "visibility": visibility }),
            )
            .await;
        assert_shape(&boost, &STATUS, &format!("the boost as {encoding}"));
        assert_eq!(boost["visibility"], visibility, "{encoding}: {boost}");
        assert_eq!(boost["reblog"]["id"], post, "{encoding}: {boost}");
        assert_eq!(boost["reblog"]["reblogged"], true, "{encoding}: {boost}");
        assert_eq!(boost["reblog"]["reblogs_count"], 1, "{encoding}: {boost}");
        let (status, undone) = api
            .send(
                "POST /api/v1/statuses/{id}/unreblog",
                api.request(
                    Method::POST,
                    &format!("/api/v1/statuses/{post}/unreblog"),
                    Some(token),
                ),
            )
            .await;
        assert_eq!(status, 200, "{undone}");
        assert_eq!(
            (&undone["reblogged"], &undone["reblogs_count"]),
            (&json!(false), &json!(0)),
            "{encoding}"
        );
    }
}

async fn follows_and_mutes_take_effect(api: &Api<'_>, token: &str, me: &str, other: &str) {
    let relationship = || {
        let path = format!("/api/v1/accounts/relationships?id[]={other}");
        let request = api.request(Method::GET, &path, Some(token));
        async move {
            api.send("GET /api/v1/accounts/relationships", request)
                .await
                .1[0]
                .clone()
        }
    };
    let undo = |what: &'static str| {
        let route = format!("POST /api/v1/accounts/{{id}}/{what}");
        let request = api.request(
            Method::POST,
            &format!("/api/v1/accounts/{other}/{what}"),
            Some(token),
        );
        async move {
            let (status, answer) = api.send(&route, request).await;
            assert_eq!(status, 200, "{route}: {answer}");
        }
    };
    for (round, encoding) in Encoding::ALL.into_iter().enumerate() {
        let followed = api
            .write(
                "POST /api/v1/accounts/{id}/follow",
                &format!("/api/v1/accounts/{other}/follow"),
                Some(token),
                encoding,
                &json!({ "reblogs": true, "notify": false, "languages": ["en", "fr"] }),
            )
            .await;
        assert_shape(
            &followed,
            &RELATIONSHIP,
            &format!("the follow as {encoding}"),
        );
        assert_eq!(relationship().await["following"], true, "{encoding}");
        let (_, following) = api
            .send(
                "GET /api/v1/accounts/{id}/following",
                api.request(
                    Method::GET,
                    &format!("/api/v1/accounts/{me}/following"),
                    None,
                ),
            )
            .await;
        assert_eq!(following[0]["id"], other, "{encoding}");
        undo("unfollow").await;
        assert_eq!(relationship().await["following"], false);

        let notifications = round == 1;
        let duration = 3600 * (round + 1);
        let muted = api
            .write(
                "POST /api/v1/accounts/{id}/mute",
                &format!("/api/v1/accounts/{other}/mute"),
                Some(token),
                encoding,
                &json!({ "notifications": notifications, "duration": duration }),
            )
            .await;
        assert_shape(&muted, &RELATIONSHIP, &format!("the mute as {encoding}"));
        let now = relationship().await;
        assert_eq!(
            (&now["muting"], &now["muting_notifications"]),
            (&json!(true), &json!(notifications)),
            "{encoding}"
        );
        let (_, mutes) = api
            .send(
                "GET /api/v1/mutes",
                api.request(Method::GET, "/api/v1/mutes", Some(token)),
            )
            .await;
        let ends = mutes[0]["mute_expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .unwrap_or_else(|| panic!("{encoding}: no end to the mute in {mutes}"));
        let expected = chrono::Utc::now() + chrono::Duration::seconds(duration as i64);
        assert!(
            (ends.to_utc() - expected).num_seconds().abs() < 120,
            "{encoding}: the mute ends at {ends}, not in {duration} s"
        );
        undo("unmute").await;
        assert_eq!(relationship().await["muting"], false);
    }
}

/// `POST /api/v2/media` and `POST /api/v1/media` take a file, so multipart only; `PUT
/// /api/v1/media/{id}` then changes the alt text and focal point in each encoding.
async fn media_is_described(api: &Api<'_>, token: &str) {
    for route in ["/api/v2/media", "/api/v1/media"] {
        let form = Encoding::Multipart
            .form(&json!({ "description": "A quiet beach", "focus": "-0.5,0.25" }))
            .part("file", picture());
        let request = api
            .request(Method::POST, route, Some(token))
            .multipart(form);
        let (status, media) = api.send(&format!("POST {route}"), request).await;
        assert_eq!(status, 200, "{route}: {media}");
        assert_shape(&media, &MEDIA_ATTACHMENT, route);
        assert_eq!(media["description"], "A quiet beach");
        assert_eq!(media["meta"]["focus"], json!({ "x": -0.5, "y": 0.25 }));
    }
    for encoding in Encoding::ALL {
        let media = upload(api, token, "Before").await;
        let path = format!("/api/v1/media/{media}");
        let description = format!("Alt text sent as {encoding}");
        let body = json!({ "description": description, "focus": "0.5,-0.25" });
        let updated = api
            .write(
                "PUT /api/v1/media/{id}",
                &path,
                Some(token),
                encoding,
                &body,
            )
            .await;
        assert_shape(
            &updated,
            &MEDIA_ATTACHMENT,
            &format!("PUT {path} as {encoding}"),
        );
        let (_, stored) = api
            .send(
                "GET /api/v1/media/{id}",
                api.request(Method::GET, &path, Some(token)),
            )
            .await;
        assert_eq!(stored["description"], description.as_str());
        assert_eq!(
            stored["meta"]["focus"],
            json!({ "x": 0.5, "y": -0.25 }),
            "{encoding}"
        );
    }
}

/// `POST /api/v1/statuses` with everything an app sends (a content warning, `sensitive`, a
/// visibility, a reply, `media_ids[]`, an `Idempotency-Key`), then `PUT
/// /api/v1/statuses/{id}`: the post, read back, is as written each time. Answers the posts'
/// ids.
async fn statuses_are_written_and_edited(api: &Api<'_>, token: &str, parent: &str) -> Vec<String> {
    let mut written = Vec::new();
    for encoding in Encoding::ALL {
        let picture = upload(api, token, "A walk in the park").await;
        let text = format!("Written as {encoding} #contract");
        let body = json!({
            "status": text, "spoiler_text": format!("cw {encoding}"), "sensitive": true,
            "visibility": "unlisted", "in_reply_to_id": parent, "media_ids": [picture],
        });
        let post = || {
            let request = api.request(Method::POST, "/api/v1/statuses", Some(token));
            let request = encoding
                .body(request, &body)
                .header("Idempotency-Key", format!("contract-{encoding}"));
            api.send("POST /api/v1/statuses", request)
        };
        let (status, posted) = post().await;
        assert_eq!(status, 200, "{encoding}: {posted}");
        assert_shape(
            &posted,
            &STATUS,
            &format!("the status written as {encoding}"),
        );
        let (_, again) = post().await;
        assert_eq!(
            again["id"], posted["id"],
            "{encoding}: the same Idempotency-Key, the same post"
        );

        let path = format!("/api/v1/statuses/{}", id(&posted));
        let read = || {
            api.send(
                "GET /api/v1/statuses/{id}",
                api.request(Method::GET, &path, Some(token)),
            )
        };
        let (_, stored) = read().await;
        assert!(
            stored["content"]
                .as_str()
                .is_some_and(|c| c.contains("Written as")),
            "{stored}"
        );
        assert_eq!(stored["spoiler_text"], format!("cw {encoding}"));
        assert_eq!(stored["sensitive"], true, "{encoding}");
        assert_eq!(stored["visibility"], "unlisted", "{encoding}");
        assert_eq!(stored["in_reply_to_id"], parent, "{encoding}");
        assert_eq!(
            stored["media_attachments"][0]["id"],
            picture.as_str(),
            "{encoding}"
        );
        assert_eq!(stored["tags"][0]["name"], "contract", "{encoding}");

        let body = json!({
            "status": format!("Edited as {encoding}"), "spoiler_text": format!("new cw {encoding}"),
            "sensitive": true, "media_ids": [picture],
        });
        let edited = api
            .write(
                "PUT /api/v1/statuses/{id}",
                &path,
                Some(token),
                encoding,
                &body,
            )
            .await;
        assert_shape(
            &edited,
            &STATUS,
            &format!("the status edited as {encoding}"),
        );
        let (_, stored) = read().await;
        assert!(
            stored["content"]
                .as_str()
                .is_some_and(|c| c.contains("Edited as")),
            "{stored}"
        );
        assert_eq!(stored["spoiler_text"], format!("new cw {encoding}"));
        assert!(stored["edited_at"].is_string(), "{encoding}: {stored}");
        written.push(id(&posted));
    }
    written
}

/// `POST /api/v1/reports` with `status_ids[]`, a category, `rule_ids[]` and `forward`: the
/// report answered is the one stored, and the admin is told of it.
async fn reports_reach_the_moderators(
    api: &Api<'_>,
    reporter: &str,
    admin: &str,
    target: &str,
    post: &str,
) {
    for encoding in Encoding::ALL {
        let comment = format!("Selling pills ({encoding})");
        let body = json!({
            "account_id": target, "status_ids": [post], "comment": comment,
            "category": "violation", "rule_ids": ["2"], "forward": false,
        });
        let report = api
            .write(
                "POST /api/v1/reports",
                "/api/v1/reports",
                Some(reporter),
                encoding,
                &body,
            )
            .await;
        assert_shape(&report, &REPORT, &format!("the report as {encoding}"));
        assert_eq!(
            (
                &report["category"],
                &report["status_ids"],
                &report["rule_ids"],
                &report["forwarded"]
            ),
            (
                &json!("violation"),
                &json!([post]),
                &json!(["2"]),
                &json!(false)
            ),
            "{encoding}"
        );
        assert_eq!(report["target_account"]["id"], target);
        let (_, told) = api
            .send(
                "GET /api/v1/notifications",
                api.request(
                    Method::GET,
                    "/api/v1/notifications?types[]=admin.report",
                    Some(admin),
                ),
            )
            .await;
        assert_eq!(told[0]["report"]["id"], report["id"], "{encoding}: {told}");
        assert_eq!(told[0]["report"]["comment"], comment.as_str());
        let path = format!("/api/v1/admin/reports/{}", id(&report));
        let resolved = api
            .write(
                "POST /api/v1/admin/reports/{id}/resolve",
                &format!("{path}/resolve"),
                Some(admin),
                encoding,
                &json!({ "note": format!("Handled ({encoding})") }),
            )
            .await;
        assert_shape(&resolved, &ADMIN_REPORT, &format!("resolved as {encoding}"));
        assert_eq!(resolved["resolution_note"], format!("Handled ({encoding})"));
        let reopened = api
            .write(
                "POST /api/v1/admin/reports/{id}/reopen",
                &format!("{path}/reopen"),
                Some(admin),
                encoding,
                &json!({}),
            )
            .await;
        assert_eq!(reopened["action_taken"], false, "{encoding}");
    }
    let removed = api
        .write(
            "DELETE /api/hearth/v1/admin/posts/{id}",
            &format!("/api/hearth/v1/admin/posts/{post}?reason=spam"),
            Some(admin),
            Encoding::Json,
            &json!({}),
        )
        .await;
    assert_eq!(removed["removed"], true);
}

/// `POST /api/v1/admin/accounts/{id}/action` with `type=silence` and a `text`: the account is
/// limited (as `Admin::Account` shows); `unsilence` lifts it, `unsuspend` leaves it be.
/// A CSV file of accounts to mute is taken in (a file: multipart only, as Mastodon's import
/// form sends it; its `type` as text or a Rails-style value).
async fn lists_are_imported(api: &Api<'_>, token: &str) {
    let bo = format!("bo@{}", api.instance.domain);
    let csv = format!("Account address,Hide notifications\n{bo},true\n");
    let file = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("muted_accounts.csv");
    let form = Encoding::Multipart
        .form(&json!({ "type": "muting" }))
        .part("data", file);
    let request = api.request(Method::POST, "/api/hearth/v1/import", Some(token));
    let (status, imported) = api
        .send("POST /api/hearth/v1/import", request.multipart(form))
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["done"], json!([bo]), "{imported}");
}

/// A person deletes their account with their password, in each encoding: 202, and their
/// token no longer works.
async fn accounts_are_deleted(api: &Api<'_>) {
    for encoding in Encoding::ALL {
        let name = format!("leaving_{encoding}").to_lowercase();
        api.instance.create_user(&name, UserRole::Member).await;
        let token = api.instance.token(&name).await;
        let body = json!({ "password": "a long test password" });
        let request = encoding.body(
            api.request(Method::POST, "/api/v1/accounts/delete", Some(&token)),
            &body,
        );
        let (status, answer) = api.send("POST /api/v1/accounts/delete", request).await;
        assert_eq!(status, 202, "{encoding}: {answer}");
        let me = "/api/v1/accounts/verify_credentials";
        assert_eq!(
            api.instance.api_get(me, Some(&token)).await.0,
            401,
            "{encoding}"
        );
    }
}

async fn accounts_are_limited(api: &Api<'_>, admin: &str, target: &str) {
    let path = format!("/api/v1/admin/accounts/{target}");
    for encoding in Encoding::ALL {
        api.write(
            "POST /api/v1/admin/accounts/{id}/action",
            &format!("{path}/action"),
            Some(admin),
            encoding,
            &json!({ "type": "silence", "text": format!("Limited ({encoding})") }),
        )
        .await;
        let (_, shown) = api
            .send(
                "GET /api/v1/admin/accounts/{id}",
                api.request(Method::GET, &path, Some(admin)),
            )
            .await;
        assert_eq!(shown["silenced"], true, "{encoding}: {shown}");
        for lift in ["unsuspend", "unsilence"] {
            let shown = api
                .write(
                    &format!("POST /api/v1/admin/accounts/{{id}}/{lift}"),
                    &format!("{path}/{lift}"),
                    Some(admin),
                    encoding,
                    &json!({}),
                )
                .await;
            assert_shape(&shown, &ADMIN_ACCOUNT, &format!("{lift} as {encoding}"));
        }
        let (_, shown) = api
            .send(
                "GET /api/v1/admin/accounts/{id}",
                api.request(Method::GET, &path, Some(admin)),
            )
            .await;
        assert_eq!(
            (&shown["silenced"], &shown["suspended"]),
            (&json!(false), &json!(false)),
            "{encoding}: {shown}"
        );
    }
}

/// `POST /api/hearth/v1/admin/statuses/{id}/sensitive` with a `spoiler_text` and a `reason`:
/// the post answers sensitive, with the warning it was first given.
async fn posts_are_marked_sensitive(api: &Api<'_>, admin: &str, post: &str) {
    for encoding in Encoding::ALL {
        let marked = api
            .write(
                "POST /api/hearth/v1/admin/statuses/{id}/sensitive",
                &format!("/api/hearth/v1/admin/statuses/{post}/sensitive"),
                Some(admin),
                encoding,
                &json!({ "spoiler_text": "Unverified claims", "reason": format!("{encoding}") }),
            )
            .await;
        assert_shape(&marked, &STATUS, &format!("marked as {encoding}"));
        assert_eq!(
            (&marked["sensitive"], &marked["spoiler_text"]),
            (&json!(true), &json!("Unverified claims")),
            "{encoding}: {marked}"
        );
    }
}

/// Domain blocks made, changed and lifted, domains allowed and removed, and the mode set,
/// each read back: `reject_media` and `public_domain_blocks` arrive in each encoding's
/// spelling of a boolean.
async fn the_federation_policy_is_set(api: &Api<'_>, admin: &str) {
    for encoding in Encoding::ALL {
        let domain = format!("{encoding}.example").to_lowercase();
        let block = api
            .write(
                "POST /api/v1/admin/domain_blocks",
                "/api/v1/admin/domain_blocks",
                Some(admin),
                encoding,
                &json!({ "domain": domain, "severity": "suspend", "private_comment": "Spam" }),
            )
            .await;
        assert_shape(&block, &ADMIN_DOMAIN_BLOCK, &format!("block as {encoding}"));
        assert_eq!(
            (&block["domain"], &block["severity"], &block["reject_media"]),
            (&json!(domain), &json!("suspend"), &json!(false)),
            "{encoding}: {block}"
        );
        let path = format!("/api/v1/admin/domain_blocks/{}", id(&block));
        let changed = api
            .write(
                "PUT /api/v1/admin/domain_blocks/{id}",
                &path,
                Some(admin),
                encoding,
                &json!({ "severity": "silence", "reject_media": true }),
            )
            .await;
        assert_eq!(
            (
                &changed["id"],
                &changed["severity"],
                &changed["reject_media"]
            ),
            (&block["id"], &json!("silence"), &json!(true)),
            "{encoding}: {changed}"
        );
        assert_eq!(changed["private_comment"], "Spam", "kept: {changed}");
        let route = "DELETE /api/v1/admin/domain_blocks/{id}";
        let (status, _) = api
            .send(route, api.request(Method::DELETE, &path, Some(admin)))
            .await;
        assert_eq!(status, 200);
        let (status, _) = api
            .send(
                "GET /api/v1/admin/domain_blocks/{id}",
                api.request(Method::GET, &path, Some(admin)),
            )
            .await;
        assert_eq!(status, 404, "{encoding}: the block is lifted");

        let allow = api
            .write(
                "POST /api/v1/admin/domain_allows",
                "/api/v1/admin/domain_allows",
                Some(admin),
                encoding,
                &json!({ "domain": domain }),
            )
            .await;
        assert_shape(&allow, &ADMIN_DOMAIN_ALLOW, &format!("allow as {encoding}"));
        let path = format!("/api/v1/admin/domain_allows/{}", id(&allow));
        let route = "DELETE /api/v1/admin/domain_allows/{id}";
        let (status, _) = api
            .send(route, api.request(Method::DELETE, &path, Some(admin)))
            .await;
        assert_eq!(status, 200);

        for public in [false, true] {
            let mode = api
                .write(
                    "PUT /api/hearth/v1/admin/federation-mode",
                    "/api/hearth/v1/admin/federation-mode",
                    Some(admin),
                    encoding,
                    &json!({ "mode": "blocklist", "public_domain_blocks": public }),
                )
                .await;
            assert_shape(&mode, &FEDERATION_MODE, &format!("mode as {encoding}"));
            assert_eq!(
                (&mode["mode"], &mode["public_domain_blocks"]),
                (&json!("blocklist"), &json!(public)),
                "{encoding}: {mode}"
            );
        }
    }
}

/// `POST /api/hearth/v1/admin/accounts/{id}/clinician` with a `credential`: the account comes
/// back with its role badge; `DELETE` takes it away.
async fn clinicians_are_verified(api: &Api<'_>, admin: &str, target: &str) {
    let path = format!("/api/hearth/v1/admin/accounts/{target}/clinician");
    for encoding in Encoding::ALL {
        let credential = format!("Dietitian ({encoding})");
        let verified = api
            .write(
                "POST /api/hearth/v1/admin/accounts/{id}/clinician",
                &path,
                Some(admin),
                encoding,
                &json!({ "credential": credential }),
            )
            .await;
        assert_shape(&verified, &ACCOUNT, &format!("verified as {encoding}"));
        assert_eq!(
            verified["roles"][0]["name"], "Verified clinician",
            "{encoding}"
        );
        let shown = verified["fields"][0]["value"].as_str().unwrap_or_default();
        assert!(shown.starts_with(&credential), "{encoding}: {verified}");
        let (status, revoked) = api
            .send(
                "DELETE /api/hearth/v1/admin/accounts/{id}/clinician",
                api.request(Method::DELETE, &path, Some(admin)),
            )
            .await;
        assert_eq!(status, 200, "{revoked}");
        assert_eq!(revoked["roles"], json!([]), "{encoding}");
    }
}

/// `POST /api/hearth/v1/admin/announcements` with a `text` and a Rails-style `urgent`: the
/// announcement as apps read it; each person dismisses it and reacts to it, and it is
/// withdrawn.
async fn announcements_are_published(api: &Api<'_>, admin: &str, reader: &str) {
    for encoding in Encoding::ALL {
        let text = format!("Flu clinic on Saturday ({encoding})");
        let published = api
            .write(
                "POST /api/hearth/v1/admin/announcements",
                "/api/hearth/v1/admin/announcements",
                Some(admin),
                encoding,
                &json!({ "text": text, "urgent": "0", "ends_at": "2099-01-01T00:00:00Z" }),
            )
            .await;
        assert_shape(
            &published,
            &ANNOUNCEMENT,
            &format!("published as {encoding}"),
        );
        assert_eq!(published["hearth_urgent"], false, "{encoding}");
        let id = id(&published);
        for (route, method, path) in [
            (
                "POST /api/v1/announcements/{id}/dismiss",
                Method::POST,
                format!("/api/v1/announcements/{id}/dismiss"),
            ),
            (
                "PUT /api/v1/announcements/{id}/reactions/{name}",
                Method::PUT,
                format!("/api/v1/announcements/{id}/reactions/%E2%9D%A4"),
            ),
        ] {
            let (status, answer) = api
                .send(route, api.request(method, &path, Some(reader)))
                .await;
            assert_eq!(status, 200, "{route}: {answer}");
        }
        let (_, list) = api
            .send(
                "GET /api/v1/announcements",
                api.request(Method::GET, "/api/v1/announcements", Some(reader)),
            )
            .await;
        let seen = list
            .as_array()
            .and_then(|l| l.iter().find(|a| a["id"] == id.as_str()))
            .cloned()
            .unwrap_or_else(|| panic!("{encoding}: {list}"));
        assert_shape(&seen, &ANNOUNCEMENT, &format!("listed as {encoding}"));
        assert_eq!(
            (&seen["read"], &seen["reactions"][0]["me"]),
            (&json!(true), &json!(true))
        );
        for (route, path, token) in [
            (
                "DELETE /api/v1/announcements/{id}/reactions/{name}",
                format!("/api/v1/announcements/{id}/reactions/%E2%9D%A4"),
                reader,
            ),
            (
                "DELETE /api/hearth/v1/admin/announcements/{id}",
                format!("/api/hearth/v1/admin/announcements/{id}"),
                admin,
            ),
        ] {
            let (status, answer) = api
                .send(route, api.request(Method::DELETE, &path, Some(token)))
                .await;
            assert_eq!(status, 200, "{route}: {answer}");
        }
    }
}

/// `PUT /api/hearth/v1/admin/crisis-resources` with a `text`: answered back.
async fn crisis_resources_are_set(api: &Api<'_>, admin: &str) {
    for encoding in Encoding::ALL {
        let text = format!("Call 988 ({encoding})");
        let set = api
            .write(
                "PUT /api/hearth/v1/admin/crisis-resources",
                "/api/hearth/v1/admin/crisis-resources",
                Some(admin),
                encoding,
                &json!({ "text": text }),
            )
            .await;
        assert_shape(&set, &CRISIS_RESOURCES, &format!("set as {encoding}"));
        assert_eq!(set["text"], text.as_str(), "{encoding}");
    }
}

/// `POST /api/v1/markers` with `home[last_read_id]` and `notifications[last_read_id]`: both
/// move, and their versions go up.
async fn markers_move(api: &Api<'_>, token: &str, posts: &[String]) {
    let (_, notifications) = api
        .send(
            "GET /api/v1/notifications",
            api.request(Method::GET, "/api/v1/notifications", Some(token)),
        )
        .await;
    let read = || {
        let path = "/api/v1/markers?timeline[]=home&timeline[]=notifications";
        api.send(
            "GET /api/v1/markers",
            api.request(Method::GET, path, Some(token)),
        )
    };
    for (round, encoding) in Encoding::ALL.into_iter().enumerate() {
        let (_, before) = read().await;
        let (home, notification) = (&posts[round], id(&notifications[round]));
        let body = json!({
            "home": { "last_read_id": home }, "notifications": { "last_read_id": notification },
        });
        api.write(
            "POST /api/v1/markers",
            "/api/v1/markers",
            Some(token),
            encoding,
            &body,
        )
        .await;
        let (_, after) = read().await;
        assert_shape(
            &after,
            &MARKERS,
            &format!("the markers saved as {encoding}"),
        );
        assert_eq!(after["home"]["last_read_id"], home.as_str(), "{encoding}");
        assert_eq!(
            after["notifications"]["last_read_id"], notification,
            "{encoding}"
        );
        // A new marker is version 0, as in Mastodon; each save after adds one.
        for timeline in ["home", "notifications"] {
            let next = before[timeline]["version"].as_u64().map_or(0, |v| v + 1);
            assert_eq!(after[timeline]["version"], next, "{encoding}: {timeline}");
        }
    }
}

/// `POST /api/hearth/v1/groups` and `PATCH /api/hearth/v1/groups/{id}` with `rules[]`: the
/// group is made members-only, then opened to all, as asked.
async fn groups_are_made_and_changed(api: &Api<'_>, token: &str) {
    for (round, encoding) in Encoding::ALL.into_iter().enumerate() {
        let rules = json!(["Be kind.", format!("Rules sent as {encoding}.")]);
        let body = json!({
            "handle": format!("carers_{round}"), "display_name": format!("Carers ({encoding})"),
            "description": "For those who care for someone.", "visibility": "members_only",
            "join_policy": "approval", "rules": rules,
        });
        let made = api
            .write(
                "POST /api/hearth/v1/groups",
                "/api/hearth/v1/groups",
                Some(token),
                encoding,
                &body,
            )
            .await;
        assert_shape(
            &made,
            &HEARTH_GROUP,
            &format!("the group made as {encoding}"),
        );
        let path = format!("/api/hearth/v1/groups/{}", id(&made));
        let read = || {
            api.send(
                "GET /api/hearth/v1/groups/{id}",
                api.request(Method::GET, &path, None),
            )
        };
        let (_, group) = read().await;
        assert_eq!(
            (&group["visibility"], &group["join_policy"], &group["rules"]),
            (&json!("members_only"), &json!("approval"), &rules),
            "{encoding}"
        );
        assert_eq!(group["account"]["display_name"], body["display_name"]);

        let body = json!({
            "display_name": format!("Renamed ({encoding})"), "visibility": "public",
            "join_policy": "open", "rules": ["Only this one."],
        });
        api.write(
            "PATCH /api/hearth/v1/groups/{id}",
            &path,
            Some(token),
            encoding,
            &body,
        )
        .await;
        let (_, group) = read().await;
        assert_eq!(group["visibility"], "public", "{encoding}");
        assert_eq!(
            (
                &group["join_policy"],
                &group["rules"],
                &group["account"]["display_name"]
            ),
            (
                &json!("open"),
                &json!(["Only this one."]),
                &body["display_name"]
            ),
            "{encoding}"
        );
    }
}

/// Every write of the client API that takes parameters works with them sent as JSON,
/// urlencoded and multipart, and does what it says each time.
async fn every_write_takes_every_encoding(engine: Engine) {
    let a = instance(&engine).await;
    let ana = a.create_user("ana", UserRole::Admin).await.id.to_string();
    let bo = a.create_user("bo", UserRole::Member).await.id.to_string();
    let eve = a.create_user("eve", UserRole::Member).await.id.to_string();
    let (ana_token, bo_token, eve_token) = (
        a.token("ana").await,
        a.token("bo").await,
        a.token("eve").await,
    );
    let (_, parent) = a
        .api_post(
            "/api/v1/statuses",
            &bo_token,
            json!({ "status": "How do you sleep?" }),
        )
        .await;
    let (_, spam) = a
        .api_post(
            "/api/v1/statuses",
            &eve_token,
            json!({ "status": "Cheap pills" }),
        )
        .await;

    let api = Api::new(&a);
    apps_register_and_sign_people_up(&api, &ana_token).await;
    profiles_change(&api, &ana_token).await;
    follows_and_mutes_take_effect(&api, &ana_token, &ana, &bo).await;
    media_is_described(&api, &ana_token).await;
    let posts = statuses_are_written_and_edited(&api, &ana_token, &id(&parent)).await;
    reports_reach_the_moderators(&api, &bo_token, &ana_token, &eve, &id(&spam)).await;
    accounts_are_limited(&api, &ana_token, &eve).await;
    posts_are_marked_sensitive(&api, &ana_token, &id(&parent)).await;
    crisis_resources_are_set(&api, &ana_token).await;
    clinicians_are_verified(&api, &ana_token, &eve).await;
    announcements_are_published(&api, &ana_token, &bo_token).await;
    the_federation_policy_is_set(&api, &ana_token).await;
    markers_move(&api, &ana_token, &posts).await;
    boosts_keep_their_visibility(&api, &ana_token, &id(&parent)).await;
    groups_are_made_and_changed(&api, &ana_token).await;
    lists_are_imported(&api, &ana_token).await;
    accounts_are_deleted(&api).await;

    api.assert_reached(client_api_routes().into_iter().filter(|route| {
        !route.starts_with("GET ")
            && !NO_PARAMETERS.contains(&route.as_str())
            && !LEFT_OUT.iter().any(|(r, _)| r == route)
    }));
}
on_both_engines!(every_write_takes_every_encoding);

// ---------------------------------------------------------------------------------------------
// What the contract found missing (language, edits, the credential source, profile fields,
// the public media tab), each now answered as Mastodon does.

/// A member of a fresh instance, with a token, and an [`Api`] to it.
async fn alone() -> (Instance, String) {
    let a = instance(&Engine::Sqlite).await;
    a.create_user("ana", UserRole::Member).await;
    let token = a.token("ana").await;
    (a, token)
}

/// A post keeps the `language` an app sends, in every encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn statuses_keep_their_language() {
    let (a, token) = alone().await;
    let api = Api::new(&a);
    for encoding in Encoding::ALL {
        let body = json!({ "status": "Bonjour à toutes", "language": "fr" });
        let posted = api
            .write(
                "POST /api/v1/statuses",
                "/api/v1/statuses",
                Some(&token),
                encoding,
                &body,
            )
            .await;
        let path = format!("/api/v1/statuses/{}", id(&posted));
        let (_, stored) = a.api_get(&path, Some(&token)).await;
        assert_eq!(stored["language"], "fr", "{encoding}");
    }
}

/// An edit changes what apps send with it: the `sensitive` flag, the `language`, and the
/// attachments (`media_ids[]`, here none: the picture is taken off).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn edits_change_sensitivity_language_and_media() {
    let (a, token) = alone().await;
    let api = Api::new(&a);
    for encoding in Encoding::ALL {
        let picture = upload(&api, &token, "A scar, healing").await;
        let body = json!({ "status": "Day 3", "sensitive": true, "media_ids": [picture] });
        let posted = api
            .write(
                "POST /api/v1/statuses",
                "/api/v1/statuses",
                Some(&token),
                Encoding::Json,
                &body,
            )
            .await;
        let path = format!("/api/v1/statuses/{}", id(&posted));
        let body =
            json!({ "status": "Day 3", "sensitive": false, "language": "en", "media_ids": [] });
        api.write(
            "PUT /api/v1/statuses/{id}",
            &path,
            Some(&token),
            encoding,
            &body,
        )
        .await;
        let (_, stored) = a.api_get(&path, Some(&token)).await;
        assert_eq!(stored["sensitive"], false, "{encoding}");
        assert_eq!(stored["language"], "en", "{encoding}");
        assert_eq!(stored["media_attachments"], json!([]), "{encoding}");
    }
}

/// `only_media` keeps the public timeline's posts that have attachments (an app's media tab).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_public_timeline_has_a_media_tab() {
    let (a, token) = alone().await;
    let api = Api::new(&a);
    let picture = upload(&api, &token, "A garden").await;
    let body = json!({ "status": "My garden", "media_ids": [picture] });
    let posted = api
        .write(
            "POST /api/v1/statuses",
            "/api/v1/statuses",
            Some(&token),
            Encoding::Json,
            &body,
        )
        .await;
    a.api_post(
        "/api/v1/statuses",
        &token,
        json!({ "status": "Words only" }),
    )
    .await;
    let (_, media) = a
        .api_get("/api/v1/timelines/public?only_media=true", None)
        .await;
    let ids: Vec<String> = media.as_array().into_iter().flatten().map(id).collect();
    assert_eq!(ids, [id(&posted)]);
}

/// The `source` of the credential account is what apps edit and badge from: the bio as it was
/// typed, and the number of follow requests waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_credential_source_is_what_was_typed() {
    let (a, token) = alone().await;
    a.create_user("bo", UserRole::Member).await;
    let bo = a.token("bo").await;
    let body = json!({ "note": "Carer & nurse.\nAsk me anything.", "locked": true });
    let api = Api::new(&a);
    api.write(
        "PATCH /api/v1/accounts/update_credentials",
        "/api/v1/accounts/update_credentials",
        Some(&token),
        Encoding::Json,
        &body,
    )
    .await;
    let ana = a.account_id("ana", &bo).await;
    a.api_post(&format!("/api/v1/accounts/{ana}/follow"), &bo, json!({}))
        .await;
    let (_, me) = a
        .api_get("/api/v1/accounts/verify_credentials", Some(&token))
        .await;
    assert_eq!(me["source"]["note"], body["note"]);
    assert_eq!(me["source"]["follow_requests_count"], 1);
}

/// Profile fields and posting defaults an app sends to `update_credentials` are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn profile_fields_and_posting_defaults_are_kept() {
    let (a, token) = alone().await;
    let api = Api::new(&a);
    for encoding in Encoding::ALL {
        let body = json!({
            "fields_attributes": { "0": { "name": "Pronouns", "value": format!("she/her ({encoding})") } },
            "source": { "privacy": "private", "sensitive": true, "language": "fr" },
        });
        api.write(
            "PATCH /api/v1/accounts/update_credentials",
            "/api/v1/accounts/update_credentials",
            Some(&token),
            encoding,
            &body,
        )
        .await;
        let (_, me) = a
            .api_get("/api/v1/accounts/verify_credentials", Some(&token))
            .await;
        assert_eq!(me["fields"][0]["name"], "Pronouns", "{encoding}: {me}");
        assert_eq!(
            me["source"]["fields"][0]["value"],
            format!("she/her ({encoding})")
        );
        assert_eq!(
            (
                &me["source"]["privacy"],
                &me["source"]["sensitive"],
                &me["source"]["language"]
            ),
            (&json!("private"), &json!(true), &json!("fr")),
            "{encoding}"
        );
    }
}
