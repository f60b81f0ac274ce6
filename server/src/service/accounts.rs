//! Local accounts, support groups and access tokens.

use super::{
    Urls,
    audit::{self, Acting, Action, Entry, Target},
    oauth,
    scopes::Scopes,
};
use crate::{
    Error,
    db::{
        self, Database,
        actors::{self, ActorRow},
        tokens,
        users::{self, UserRow},
    },
};
use argon2::{
    Argon2,
    password_hash::{PasswordHasher, SaltString, rand_core::OsRng},
};
use chrono::{SubsecRound, Utc};
use hearth_federation::{
    keys::KeyPair,
    objects::actor::FederatedActor,
    protocol::actor::{ActorKind, ProfileField},
};
use std::{fmt, str::FromStr};

/// What a local account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs the instance: federation policy, accounts, everything.
    Admin,
    /// Handles reports and moderates groups.
    Moderator,
    /// A clinician whose identity the clinic has verified.
    Clinician,
    /// A patient or carer.
    Member,
}

impl Role {
    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Moderator => "moderator",
            Self::Clinician => "clinician",
            Self::Member => "member",
        }
    }
}

impl UserRow {
    /// The account's role; an unreadable one counts as the least: a member.
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Member)
    }
}

/// What each role may do: the one place roles are compared (outside their storage names).
impl Role {
    /// Admins only: the instance's settings, its federation, the delivery queue, roles.
    pub fn may_administer(self) -> bool {
        self == Self::Admin
    }

    /// Admins and moderators: approve and reject accounts (Mastodon's "Manage Users"),
    /// handle reports, moderate every group, read the audit log.
    pub fn may_moderate(self) -> bool {
        matches!(self, Self::Admin | Self::Moderator)
    }

    /// Clinic staff (everyone but members) may create support groups.
    pub fn may_create_groups(self) -> bool {
        self != Self::Member
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Ok(Self::Admin),
            "moderator" => Ok(Self::Moderator),
            "clinician" => Ok(Self::Clinician),
            "member" => Ok(Self::Member),
            other => Err(Error::Unprocessable(format!(
                "unknown role {other:?}: use admin, moderator, clinician or member"
            ))),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A local handle: 1 to 30 characters, lower-case letters, digits and underscores, as
/// Mastodon allows (case-folded). People and groups share this namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    /// Validates and case-folds a handle.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let handle = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let valid = !handle.is_empty()
            && handle.len() <= 30
            && handle
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(Self(handle))
        } else {
            Err(Error::Unprocessable(format!(
                "invalid handle {raw:?}: use 1 to 30 letters, digits or underscores"
            )))
        }
    }

    /// The handle text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Refuses a new password shorter than [`MIN_PASSWORD_CHARS`].
fn check_password_length(password: &str) -> Result<(), Error> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::Unprocessable(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// The stored form of a password: Argon2id with a fresh salt (slow on purpose: call it off
/// the async threads).
fn hash_password(password: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// A password change, as the settings page submits it.
#[derive(Debug)]
pub struct PasswordChange {
    /// The password now, which must be right.
    pub current: String,
    /// The new one.
    pub new: String,
    /// The new one again.
    pub confirmation: String,
}

/// Changes a signed-in person's password. The current password must be right (each try
/// counts as a sign-in attempt, so the page cannot be used to guess it); the new one must be
/// long enough and typed twice alike. Every other session and app token of theirs is
/// revoked, and authorization codes not yet exchanged are dropped: only `keep_token` (the
/// session making the change) stays signed in. Returns how many were revoked.
pub async fn change_password(
    db: &Database,
    limits: &super::sign_in::SignInLimits,
    signed_in: &SignedIn,
    change: PasswordChange,
    address: Option<std::net::IpAddr>,
) -> Result<usize, Error> {
    if let Err(e) = super::sign_in::sign_in(
        db,
        limits,
        &signed_in.actor.username,
        change.current,
        address,
    )
    .await
    {
        return Err(match e {
            Error::Unprocessable(_) => {
                Error::Unprocessable("Your current password is not right".into())
            }
            other => other,
        });
    }
    if change.new != change.confirmation {
        return Err(Error::Unprocessable(
            "The new password and its confirmation do not match".into(),
        ));
    }
    check_password_length(&change.new)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&change.new)).await??;
    let (person, keep) = (signed_in.actor.id, signed_in.token_id);
    db.write(move |conn| {
        users::set_password_hash(conn, person, &hash)?;
        crate::db::oauth::delete_codes_of(conn, person)?;
        Ok(tokens::delete_all_but(conn, person, keep)?)
    })
    .await
}

/// A new local account.
#[derive(Debug)]
pub struct NewUser {
    /// Handle.
    pub handle: Handle,
    /// Display name (defaults to the handle).
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
}

/// A new account ready to be stored: its person (with a fresh key pair) and its account row
/// (password hashed). Made off the async threads, before any transaction: hashing and key
/// generation take a while.
#[derive(Debug)]
pub struct PreparedAccount {
    /// The person.
    pub actor: ActorRow,
    /// The account; callers fill in what registration adds (approval, reason, email...).
    pub user: UserRow,
}

/// Checks the password, hashes it and makes the person's key pair. Staff-made accounts are
/// approved; registration decides for the others.
pub async fn prepare_account(
    urls: &Urls,
    new: NewUser,
    password: String,
) -> Result<PreparedAccount, Error> {
    check_password_length(&password)?;
    let (keys, password_hash) =
        tokio::task::spawn_blocking(move || (KeyPair::generate(), hash_password(&password)))
            .await?;
    let actor = local_actor(
        urls,
        ActorKind::Person,
        &new.handle,
        keys?,
        new.display_name,
        None,
        false,
    );
    let actor = ActorRow::new(&actor);
    let user = UserRow {
        actor_id: actor.id,
        role: new.role.as_str().to_owned(),
        password_hash: password_hash?,
        created_at: actor.created_at,
        approved: true,
        sign_up_reason: None,
        email: None,
        agreed_at: None,
        locale: None,
        invite_id: None,
        note_source: None,
        default_privacy: "public".into(),
        default_sensitive: false,
        default_language: None,
        suspended_at: None,
        limited_at: None,
        sensitized_at: None,
    };
    Ok(PreparedAccount { actor, user })
}

/// Stores a prepared account in the caller's transaction. A taken handle (a person's or a
/// group's) is refused.
pub fn insert_account(
    conn: &mut crate::db::AnyConnection,
    account: &PreparedAccount,
) -> Result<(), Error> {
    insert_local_actor(conn, &account.actor)?;
    users::insert_user(conn, &account.user)?;
    Ok(())
}

/// Stores a new local person or group, refusing a handle that is taken, or that a deleted
/// account had until lately (`retired_handle_days`).
pub fn insert_local_actor(
    conn: &mut crate::db::AnyConnection,
    row: &ActorRow,
) -> Result<(), Error> {
    let now = chrono::Utc::now().naive_utc();
    if db::retired_handles::is_retired(conn, &row.username, now)? {
        return Err(Error::Unprocessable(HANDLE_TAKEN.into()));
    }
    actors::insert(conn, row).map_err(handle_taken)
}

/// Creates a local person with an account and a fresh key pair, with any role (admins, on the
/// command line). Returns the actor row.
pub async fn create_user(
    ctx: &super::Context,
    by: &Acting,
    new: NewUser,
    password: String,
) -> Result<ActorRow, Error> {
    by.check(Role::may_administer)?;
    let role = new.role;
    let account = prepare_account(&ctx.urls, new, password).await?;
    let by = by.clone();
    ctx.write(move |conn, _| {
        insert_account(conn, &account)?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::AccountCreate, Target::actor(&account.actor))
                .detail(format!("role {role}")),
        )?;
        Ok(account.actor)
    })
    .await
}

/// The message of a taken handle.
pub const HANDLE_TAKEN: &str = "this handle is already taken by a person or a group";

fn handle_taken(err: diesel::result::Error) -> Error {
    db::unique_violation(err, HANDLE_TAKEN)
}

/// The protocol view of a new local actor.
pub fn local_actor(
    urls: &Urls,
    kind: ActorKind,
    handle: &Handle,
    keys: KeyPair,
    display_name: Option<String>,
    summary: Option<String>,
    manually_approves_followers: bool,
) -> FederatedActor {
    let ap_id = urls.actor(kind, handle.as_str());
    // Whole seconds: what peers show, and the same on both engines.
    let now = Utc::now().trunc_subsecs(0);
    FederatedActor {
        inbox: urls.actor_part(&ap_id, "inbox"),
        outbox: Some(urls.actor_part(&ap_id, "outbox")),
        followers: Some(urls.actor_part(&ap_id, "followers")),
        following: Some(urls.actor_part(&ap_id, "following")),
        shared_inbox: Some(urls.shared_inbox()),
        profile_url: Some(urls.profile(handle.as_str())),
        avatar: None,
        header: None,
        kind,
        username: handle.as_str().to_owned(),
        display_name: display_name.filter(|n| !n.trim().is_empty()),
        summary,
        public_key_pem: keys.public_pem,
        private_key: Some(keys.private_pem),
        published: now,
        manually_approves_followers,
        discoverable: kind == ActorKind::Group,
        local: true,
        last_refreshed_at: now,
        fields: Vec::new(),
        clinician: None,
        ap_id,
    }
}

/// New avatar and header images, as uploaded (either may be left out).
#[derive(Debug, Default)]
pub struct ProfileImages {
    /// The avatar file.
    pub avatar: Option<Vec<u8>>,
    /// The header file.
    pub header: Option<Vec<u8>>,
}

/// Most profile fields a person may have (as Mastodon).
pub const MAX_PROFILE_FIELDS: usize = 4;

/// Longest name or value of a profile field, in characters (as Mastodon).
pub const MAX_FIELD_CHARS: usize = 255;

/// Profile fields as a person typed them (name, value): blank ones dropped, at most
/// [`MAX_PROFILE_FIELDS`], each part at most [`MAX_FIELD_CHARS`]; the values become HTML.
pub fn profile_fields(typed: Vec<(String, String)>) -> Result<Vec<ProfileField>, Error> {
    let fields: Vec<(String, String)> = typed
        .into_iter()
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .filter(|(n, v)| !n.is_empty() || !v.is_empty())
        .collect();
    if fields.len() > MAX_PROFILE_FIELDS {
        return Err(Error::Unprocessable(format!(
            "Validation failed: at most {MAX_PROFILE_FIELDS} profile fields"
        )));
    }
    if fields
        .iter()
        .any(|(n, v)| n.chars().count() > MAX_FIELD_CHARS || v.chars().count() > MAX_FIELD_CHARS)
    {
        return Err(Error::Unprocessable(format!(
            "Validation failed: a profile field is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(fields
        .into_iter()
        .map(|(name, value)| ProfileField {
            name,
            value: super::content::escape(&value),
        })
        .collect())
}

/// The visibility new posts default to: one Mastodon knows, or 422.
pub fn default_privacy(raw: &str) -> Result<String, Error> {
    match raw.trim() {
        p @ ("public" | "unlisted" | "private") => Ok(p.to_owned()),
        other => Err(Error::Unprocessable(format!(
            "Validation failed: {other:?} is not a default visibility"
        ))),
    }
}

/// Saves a local person's changed profile (`actor`, with its text fields already changed)
/// with their account's changed settings (the bio as typed, posting defaults), and new
/// images (each processed by the upload pipeline, so no metadata survives), and
/// sends the new document to the servers of their followers and of the remote groups they
/// belong to, in an `Update`.
pub async fn update_profile(
    ctx: &super::Context,
    store: &super::media::MediaStore,
    mut actor: ActorRow,
    user: UserRow,
    images: ProfileImages,
) -> Result<ActorRow, Error> {
    use super::media::{self, Upload};
    let mut uploaded = Vec::new();
    for (kind, bytes) in [("avatar", images.avatar), ("header", images.header)] {
        if let Some(bytes) = bytes {
            let upload = Upload {
                bytes,
                ..Upload::default()
            };
            uploaded.push((kind, media::upload(ctx, store, actor.id, upload).await?));
        }
    }
    for (kind, row) in &uploaded {
        let url = Some(media::file_url(&ctx.urls, &row.file_name).to_string());
        match *kind {
            "avatar" => actor.avatar_url = url,
            _ => actor.header_url = url,
        }
    }
    actor.updated_at = Utc::now().naive_utc();
    ctx.write(move |conn, ctx| {
        for (kind, row) in &uploaded {
            db::media::set_profile(conn, actor.id, row.id, kind)?;
        }
        actors::update(conn, &actor)?;
        users::save_settings(conn, &user)?;
        announce_profile(conn, ctx, &actor)?;
        Ok(actor)
    })
    .await
}

/// Tells the servers that know a local person that their profile changed
/// (`Update{Person}` with the whole document, as Mastodon sends it).
pub fn announce_profile(
    conn: &mut crate::db::AnyConnection,
    ctx: &super::Context,
    actor: &ActorRow,
) -> Result<(), Error> {
    let document = actor.to_federated()?.to_object();
    let update = hearth_federation::activities::builders::update_actor(
        &ctx.activity_id("update"),
        &document,
    );
    let inboxes = super::delivery::inboxes(&profile_audience(conn, actor)?);
    ctx.enqueue(conn, actor.id, &update, &inboxes)
}

/// Who hears of a change to a local person's profile (or of their account's end): their
/// followers, and the remote groups they belong to.
pub fn profile_audience(
    conn: &mut crate::db::AnyConnection,
    actor: &ActorRow,
) -> Result<Vec<ActorRow>, Error> {
    let mut audience: Vec<ActorRow> = db::follows::followers(conn, actor.id, true)?
        .into_iter()
        .map(|(_, follower)| follower)
        .collect();
    for id in db::follows::followed_ids(conn, actor.id)? {
        if let Some(group) =
            actors::by_id(conn, id)?.filter(|a| !a.local && a.actor_kind() == ActorKind::Group)
        {
            audience.push(group);
        }
    }
    Ok(audience)
}

/// Escapes plain text into one HTML paragraph per line.
pub fn plain_text_to_html(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let escaped = l
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            format!("<p>{escaped}</p>")
        })
        .collect()
}

/// A new bearer token for a local person with every scope (admin ones for staff only), for
/// scripts and tests (`hearth token create`, admins); returned once in clear, only its hash
/// is stored.
pub async fn create_token(
    ctx: &super::Context,
    by: &Acting,
    handle: &Handle,
) -> Result<String, Error> {
    by.check(Role::may_administer)?;
    let db = &ctx.db;
    let name = handle.as_str().to_owned();
    let actor = db
        .run(move |conn| {
            Ok(actors::local_by_username(
                conn,
                &name,
                Some(ActorKind::Person),
            )?)
        })
        .await?
        .ok_or_else(|| Error::not_found(format!("no local person @{}", handle.as_str())))?;
    let staff = db
        .run({
            let id = actor.id;
            move |conn| Ok(users::user_by_actor(conn, id)?)
        })
        .await?
        .is_some_and(|u| u.role().may_moderate());
    let scopes = Scopes::parse(if staff {
        "read write follow push admin:read admin:write"
    } else {
        "read write follow push"
    })?;
    let (row, issued) = oauth::new_token(None, Some(actor.id), scopes, tokens::KIND_CLI, None);
    let by = by.clone();
    ctx.write(move |conn, _| {
        tokens::insert(conn, &row)?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::TokenCreate, Target::actor(&actor)).detail(row.scopes.clone()),
        )
    })
    .await?;
    Ok(issued.access_token)
}

/// Who a bearer token (or a browser's session) speaks for.
#[derive(Debug)]
pub struct SignedIn {
    /// The person's actor row.
    pub actor: ActorRow,
    /// Their account.
    pub user: UserRow,
    /// What the token grants.
    pub scopes: Scopes,
    /// The token's app, if an app holds it.
    pub app_id: Option<i64>,
    /// The token's row id.
    pub token_id: i64,
}

/// The person of a token of one of `kinds`: one indexed lookup.
pub async fn authenticate(
    db: &Database,
    token: &str,
    kinds: &'static [&'static str],
) -> Result<SignedIn, Error> {
    let hash = oauth::secret_hash(token);
    db.lookup(move |conn| {
        let (token, user, actor) = tokens::signed_in(conn, &hash, kinds, Utc::now().naive_utc())?
            .filter(|(_, user, _)| user.suspended_at.is_none())
            .ok_or(Error::Unauthorized)?;
        Ok(SignedIn {
            scopes: Scopes::parse(&token.scopes)?,
            app_id: token.app_id,
            token_id: token.id,
            actor,
            user,
        })
    })
    .await
}

/// Who an app's bearer token speaks for: always an app, and a person unless it is the app's
/// own token (client credentials).
#[derive(Debug)]
pub struct AppSignedIn {
    /// The app.
    pub app_id: i64,
    /// What the token grants.
    pub scopes: Scopes,
    /// The person, for a person's token.
    pub person: Option<SignedIn>,
}

/// The app (and person, if any) of an app's token. A person's token goes through
/// [`authenticate`], with all its conditions; an app's own token is found by its hash.
pub async fn authenticate_app(db: &Database, token: &str) -> Result<AppSignedIn, Error> {
    const KINDS: &[&str] = &[tokens::KIND_APP];
    let hash = oauth::secret_hash(token);
    let found = db
        .lookup(move |conn| Ok(tokens::by_hash(conn, &hash, KINDS, Utc::now().naive_utc())?))
        .await?
        .ok_or(Error::Unauthorized)?;
    let app_id = found.app_id.ok_or(Error::Unauthorized)?;
    if found.user_id.is_none() {
        return Ok(AppSignedIn {
            app_id,
            scopes: Scopes::parse(&found.scopes)?,
            person: None,
        });
    }
    let person = authenticate(db, token, KINDS).await?;
    Ok(AppSignedIn {
        app_id,
        scopes: person.scopes.clone(),
        person: Some(person),
    })
}

/// Erases what this instance holds of a remote actor that deleted itself: the actor and, by
/// the rows' foreign keys, its posts, follows both ways, memberships, likes, boosts, blocks,
/// mutes, reports and notifications. Each group here tells its members' servers that the
/// actor's posts in it are gone. Their remote images lose their owner and are removed, files
/// included, by the media clean-up.
pub fn erase_remote(
    conn: &mut db::AnyConnection,
    ctx: &super::Context,
    actor: &ActorRow,
) -> Result<(), Error> {
    if actor.local {
        return Err(Error::Forbidden(
            "an account of this instance is deleted here, not by a remote server".into(),
        ));
    }
    let by = super::stored_url(&actor.ap_id)?;
    for post in db::posts::all_by_author(conn, actor.id)? {
        super::streaming::emit(super::streaming::Event::Deleted { post: post.id });
        let group = match post.group_id.filter(|_| !post.is_deleted()) {
            Some(id) => actors::by_id(conn, id)?.filter(|g| g.local),
            None => None,
        };
        if let Some(group) = group {
            super::inbox::announce_deletion(conn, ctx, &group, &by, &post)?;
        }
    }
    actors::delete(conn, actor.id)?;
    tracing::info!(actor = %actor.ap_id, "erased a remote actor that deleted itself");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_fields_are_bounded_and_become_html() {
        let typed = |n: usize| vec![("Name".to_owned(), "a <b>".to_owned()); n];
        let kept = profile_fields(vec![
            ("  ".into(), " ".into()),
            ("Pronouns".into(), "a <b>".into()),
        ]);
        assert!(matches!(kept.as_deref(), Ok([f]) if f.value == "a &lt;b&gt;"));
        assert!(profile_fields(typed(MAX_PROFILE_FIELDS)).is_ok());
        assert!(profile_fields(typed(MAX_PROFILE_FIELDS + 1)).is_err());
        let long = "x".repeat(MAX_FIELD_CHARS + 1);
        assert!(profile_fields(vec![("Name".into(), long)]).is_err());
        assert!(default_privacy("direct").is_err());
        assert_eq!(default_privacy("private").ok().as_deref(), Some("private"));
    }

    #[test]
    fn handles_are_case_folded_and_checked() {
        assert_eq!(
            Handle::parse("@Long_Covid").map(|h| h.0).ok(),
            Some("long_covid".into())
        );
        for bad in ["", "a b", "dash-ed", "über", "x".repeat(31).as_str(), "a.b"] {
            assert!(Handle::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn descriptions_are_escaped() {
        assert_eq!(
            plain_text_to_html("a <b>\n\nc & d"),
            "<p>a &lt;b&gt;</p><p>c &amp; d</p>"
        );
    }
}
