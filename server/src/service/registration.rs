//! Registration: people asking for an account themselves (from an app or the sign-up page),
//! invite codes, and moderators approving or rejecting the accounts that wait for them.
//!
//! The one place for the rules of a new account: a free, valid handle (people and groups
//! share the namespace), a long enough password, agreement to the rules and privacy notice,
//! an invite where one is needed, and approval where the clinic wants it. An account waiting
//! for approval exists only to its moderators: it cannot sign in, its tokens do not work
//! (`db::tokens::signed_in`), and no lookup by name or id finds it (`db::actors::findable`),
//! so nothing of it federates until it is approved.

use super::{
    accounts::{self, Handle, MIN_PASSWORD_CHARS, NewUser, Role},
    audit::{self, Acting, Action, Entry, Target},
    oauth::{self, IssuedToken},
    scopes::Scopes,
};
use crate::{
    Error,
    config::RegistrationMode,
    db::{
        AnyConnection, Database,
        actors::{self, ActorRow},
        invites::{self, InviteRow},
        oauth as apps, tokens,
        users::{self, UserRow},
    },
    error::FieldErrors,
};
use chrono::{NaiveDateTime, TimeDelta, Utc};

/// Longest reason a person may give for joining.
pub const MAX_REASON_CHARS: usize = 2000;
/// Longest email address (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// The characters of invite codes: no 0/O, 1/l/I, to be read aloud or typed from paper.
const INVITE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters in an invite code: 31^12, about 2^59 codes.
const INVITE_CHARS: usize = 12;

/// What a person gives when asking for an account (Mastodon's `POST /api/v1/accounts`
/// parameters; the sign-up page sends the same).
#[derive(Debug, Default)]
pub struct SignUp {
    /// The handle they want.
    pub username: String,
    /// An email address, optional (patients may have none); never used to sign in.
    pub email: Option<String>,
    /// Their password.
    pub password: String,
    /// Whether they agreed to the rules and the privacy notice.
    pub agreement: bool,
    /// Their language (`en`, `pt-BR`).
    pub locale: Option<String>,
    /// Why they want to join, for the moderators.
    pub reason: Option<String>,
    /// An invite code.
    pub invite_code: Option<String>,
    /// Where the request came from, for the sign-up limit (kept in memory only).
    pub address: Option<std::net::IpAddr>,
}

/// A token for the new account, for the app that registered it.
#[derive(Debug, Clone, Copy)]
pub struct ForApp {
    /// The app whose token asked.
    pub app_id: i64,
}

/// An account just made.
#[derive(Debug)]
pub struct Registered {
    /// The person.
    pub actor: ActorRow,
    /// False while it waits for a moderator.
    pub approved: bool,
    /// A token for the app that asked (it works once the account is approved).
    pub token: Option<IssuedToken>,
}

/// Checks what can be checked without the database. Returns the refused fields and, if the
/// handle is valid, the handle.
fn check(sign_up: &SignUp, mode: RegistrationMode) -> (FieldErrors, Option<Handle>) {
    let mut errors = FieldErrors::default();
    let username = sign_up.username.trim();
    let handle = if username.is_empty() {
        errors.add("username", "ERR_BLANK", "can't be blank");
        None
    } else if username.trim_start_matches('@').len() > 30 {
        errors.add(
            "username",
            "ERR_TOO_LONG",
            "is too long (maximum is 30 characters)",
        );
        None
    } else {
        let handle = Handle::parse(username).ok();
        if handle.is_none() {
            errors.add(
                "username",
                "ERR_INVALID",
                "must contain only letters, numbers and underscores",
            );
        }
        handle
    };
    if let Some(email) = sign_up.email.as_deref().map(str::trim)
        && !email.is_empty()
        && !email_shape_ok(email)
    {
        errors.add("email", "ERR_INVALID", "is invalid");
    }
    if sign_up.password.is_empty() {
        errors.add("password", "ERR_BLANK", "can't be blank");
    } else if sign_up.password.chars().count() < MIN_PASSWORD_CHARS {
        errors.add(
            "password",
            "ERR_TOO_SHORT",
            format!("is too short (minimum is {MIN_PASSWORD_CHARS} characters)"),
        );
    }
    if !sign_up.agreement {
        errors.add("agreement", "ERR_ACCEPTED", "must be accepted");
    }
    if let Some(locale) = sign_up.locale.as_deref().map(str::trim)
        && !locale.is_empty()
        && !locale_shape_ok(locale)
    {
        errors.add("locale", "ERR_INCLUSION", "is not included in the list");
    }
    if sign_up
        .reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        errors.add(
            "reason",
            "ERR_TOO_LONG",
            format!("is too long (maximum is {MAX_REASON_CHARS} characters)"),
        );
    }
    if mode == RegistrationMode::Invite && invite_code(sign_up).is_none() {
        errors.add("invite_code", "ERR_BLANK", "can't be blank");
    }
    (errors, handle)
}

/// The invite code given, if any.
fn invite_code(sign_up: &SignUp) -> Option<&str> {
    sign_up
        .invite_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// One `@`, something before it, a dotted domain after it, no spaces: the shape of an
/// address. Whether it receives mail is not checked (nothing is sent to it).
fn email_shape_ok(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// A BCP 47 tag as apps send it: a 2- or 3-letter language, then optional subtags.
fn locale_shape_ok(locale: &str) -> bool {
    let mut parts = locale.split(['-', '_']);
    let language_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    language_ok
        && locale.len() <= 35
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Makes the account a person asked for, under the instance's registration mode, and (for
/// an app) its first token, in one transaction with the invite's use. In `approval` mode the
/// account waits for a moderator, unless a valid invite came with it.
pub async fn register(
    ctx: &super::Context,
    mode: RegistrationMode,
    sign_up: SignUp,
    app: Option<ForApp>,
) -> Result<Registered, Error> {
    let (db, urls) = (&ctx.db, &ctx.urls);
    if mode == RegistrationMode::Closed {
        return Err(Error::Forbidden(
            "Registrations are closed on this server".into(),
        ));
    }
    let (mut errors, handle) = check(&sign_up, mode);
    if let Some(handle) = &handle {
        let name = handle.as_str().to_owned();
        if db
            .run(move |conn| Ok(actors::local_handle_taken(conn, &name)?))
            .await?
        {
            errors.add("username", "ERR_TAKEN", "has already been taken");
        }
    }
    let handle = match handle {
        Some(handle) if errors.is_empty() => handle,
        _ => return Err(Error::Validation(errors)),
    };
    // Counted once a request would make an account: a mistyped form costs nothing.
    ctx.sign_in_limits.check_sign_up(sign_up.address)?;
    let mut account = accounts::prepare_account(
        urls,
        NewUser {
            handle,
            display_name: None,
            role: Role::Member,
        },
        sign_up.password,
    )
    .await?;
    let now = Utc::now().naive_utc();
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    account.user.email = trimmed(sign_up.email);
    account.user.sign_up_reason = trimmed(sign_up.reason);
    account.user.locale = trimmed(sign_up.locale);
    account.user.agreed_at = Some(now);
    let code_hash = sign_up
        .invite_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| oauth::secret_hash(&c.to_ascii_lowercase()));
    ctx.write(move |conn, _| {
        if let Some(hash) = &code_hash {
            account.user.invite_id = Some(use_invite(conn, hash, now)?);
        }
        // An invite lets its holder in without waiting; so does an open instance.
        account.user.approved =
            mode != RegistrationMode::Approval || account.user.invite_id.is_some();
        accounts::insert_account(conn, &account).map_err(|e| match e {
            Error::Unprocessable(m) if m == accounts::HANDLE_TAKEN => {
                let mut taken = FieldErrors::default();
                taken.add("username", "ERR_TAKEN", "has already been taken");
                Error::Validation(taken)
            }
            other => other,
        })?;
        let token = match app {
            Some(ForApp { app_id }) => {
                let app = apps::app_by_id(conn, app_id)?.ok_or(Error::Unauthorized)?;
                let (row, issued) = oauth::new_token(
                    Some(app_id),
                    Some(account.actor.id),
                    Scopes::parse(&app.scopes)?,
                    tokens::KIND_APP,
                    None,
                );
                tokens::insert(conn, &row)?;
                Some(issued)
            }
            None => None,
        };
        announce_sign_up(conn, &account.actor, &account.user)?;
        Ok(Registered {
            approved: account.user.approved,
            actor: account.actor,
            token,
        })
    })
    .await
}

/// Counts a use of the invite with this code hash, in the sign-up's transaction; its id.
fn use_invite(conn: &mut AnyConnection, hash: &str, now: NaiveDateTime) -> Result<i64, Error> {
    let refuse = |description: &str| {
        let mut errors = FieldErrors::default();
        errors.add("invite_code", "ERR_INVALID", description);
        Error::Validation(errors)
    };
    let invite = invites::by_hash(conn, hash)?.ok_or_else(|| refuse("is not valid"))?;
    if invite.expires_at.is_some_and(|at| at <= now) {
        return Err(refuse("has expired"));
    }
    if !invites::take_use(conn, invite.id, now)? {
        return Err(refuse("has been used up"));
    }
    Ok(invite.id)
}

/// Tells the moderators about a new account, in its transaction.
fn announce_sign_up(
    conn: &mut AnyConnection,
    actor: &ActorRow,
    _user: &UserRow,
) -> Result<(), Error> {
    super::notifications::signed_up(conn, actor.id)
}

/// The local accounts, oldest first (at most 200); with `pending`, only those waiting for
/// approval (`Some(true)`) or only approved ones (`Some(false)`).
pub async fn accounts(
    db: &Database,
    by: &Acting,
    pending: Option<bool>,
) -> Result<Vec<(ActorRow, UserRow)>, Error> {
    by.check(Role::may_moderate)?;
    db.run(move |conn| Ok(users::accounts(conn, pending, 200)?))
        .await
}

/// One local account, waiting or not.
pub async fn account(
    db: &Database,
    by: &Acting,
    actor_id: i64,
) -> Result<(ActorRow, UserRow), Error> {
    by.check(Role::may_moderate)?;
    db.run(move |conn| Ok(users::account_by_id(conn, actor_id)?))
        .await?
        .ok_or_else(|| Error::not_found("Record not found"))
}

/// The id of the local person with this handle, waiting or not (for the command line).
pub async fn account_id(db: &Database, handle: &Handle) -> Result<i64, Error> {
    let name = handle.as_str().to_owned();
    db.run(move |conn| Ok(users::account_by_handle(conn, &name)?))
        .await?
        .map(|(actor, _)| actor.id)
        .ok_or_else(|| Error::not_found(format!("no local person @{}", handle.as_str())))
}

/// The waiting account `actor_id`, or why it cannot be decided on.
fn waiting(conn: &mut AnyConnection, actor_id: i64) -> Result<(ActorRow, UserRow), Error> {
    let (actor, user) = users::account_by_id(conn, actor_id)?
        .ok_or_else(|| Error::not_found("Record not found"))?;
    if user.approved {
        return Err(Error::Forbidden(format!(
            "@{} is not waiting for approval",
            actor.username
        )));
    }
    Ok((actor, user))
}

/// Approves a waiting account: from now on it can sign in, its tokens work, and it can be
/// found and followed.
pub async fn approve(
    ctx: &super::Context,
    by: &Acting,
    actor_id: i64,
) -> Result<(ActorRow, UserRow), Error> {
    by.check(Role::may_moderate)?;
    let by = by.clone();
    ctx.write(move |conn, _| {
        let (actor, mut user) = waiting(conn, actor_id)?;
        users::approve(conn, actor_id)?;
        user.approved = true;
        audit::record(
            conn,
            &by,
            Entry::new(Action::AccountApprove, Target::actor(&actor)),
        )?;
        Ok((actor, user))
    })
    .await
}

/// Rejects a waiting account: it is deleted with its tokens (nothing of it has federated, so
/// nothing needs telling elsewhere) and its handle is free again. Returns what it was.
pub async fn reject(
    ctx: &super::Context,
    by: &Acting,
    actor_id: i64,
) -> Result<(ActorRow, UserRow), Error> {
    by.check(Role::may_moderate)?;
    let by = by.clone();
    ctx.write(move |conn, _| {
        let found = waiting(conn, actor_id)?;
        actors::delete(conn, actor_id)?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::AccountReject, Target::actor(&found.0)),
        )?;
        Ok(found)
    })
    .await
}

/// An invite just made, with its code in clear (shown once).
#[derive(Debug)]
pub struct NewInvite {
    /// The code.
    pub code: String,
    /// The stored invite.
    pub invite: InviteRow,
}

/// Makes an invite code (staff), usable `max_uses` times (any number if `None`) for
/// `expires_in_days` days (for ever if `None`). Only its hash is stored.
pub async fn create_invite(
    ctx: &super::Context,
    by: &Acting,
    max_uses: Option<u32>,
    expires_in_days: Option<u32>,
) -> Result<NewInvite, Error> {
    by.check(Role::may_moderate)?;
    if max_uses == Some(0) || expires_in_days == Some(0) {
        return Err(Error::Unprocessable(
            "an invite needs at least one use and one day".into(),
        ));
    }
    let code: String = (0..INVITE_CHARS)
        .map(|_| {
            let i = rand::random_range(0..INVITE_ALPHABET.len());
            char::from(INVITE_ALPHABET[i])
        })
        .collect();
    let now = Utc::now().naive_utc();
    let invite = InviteRow {
        id: crate::db::id::new_id(),
        code_sha256: oauth::secret_hash(&code),
        created_by: by.person_id(),
        max_uses: max_uses.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        uses: 0,
        expires_at: expires_in_days.map(|d| now + TimeDelta::days(i64::from(d))),
        created_at: now,
    };
    let (stored, by) = (invite.clone(), by.clone());
    ctx.write(move |conn, _| {
        invites::insert(conn, &stored)?;
        let uses = stored
            .max_uses
            .map_or("any number of uses".to_owned(), |n| format!("{n} uses"));
        let until = stored.expires_at.map_or("no expiry".to_owned(), |at| {
            format!("expires {}", at.format("%Y-%m-%d %H:%M UTC"))
        });
        audit::record(
            conn,
            &by,
            Entry::new(Action::InviteCreate, Target::invite(stored.id))
                .detail(format!("{uses}, {until}")),
        )?;
        Ok(())
    })
    .await?;
    Ok(NewInvite { code, invite })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> SignUp {
        SignUp {
            username: "Maria_2".into(),
            email: Some("maria@example.org".into()),
            password: "long enough password".into(),
            agreement: true,
            locale: Some("pt-BR".into()),
            reason: Some("My doctor sent me".into()),
            invite_code: None,
            address: None,
        }
    }

    fn codes(errors: &FieldErrors, field: &str) -> Vec<&'static str> {
        errors.of(field).map(|e| e.code).collect()
    }

    #[test]
    fn a_valid_sign_up_passes_and_its_handle_is_folded() {
        let (errors, handle) = check(&valid(), RegistrationMode::Approval);
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(
            handle.map(|h| h.as_str().to_owned()).as_deref(),
            Some("maria_2")
        );
    }

    #[test]
    fn every_refused_field_is_named_with_mastodons_code() {
        let sign_up = SignUp {
            username: "no spaces".into(),
            email: Some("not an address".into()),
            password: "short".into(),
            agreement: false,
            locale: Some("english please".into()),
            reason: Some("x".repeat(MAX_REASON_CHARS + 1)),
            invite_code: Some("  ".into()),
            address: None,
        };
        let (errors, handle) = check(&sign_up, RegistrationMode::Invite);
        assert!(handle.is_none());
        assert_eq!(codes(&errors, "username"), ["ERR_INVALID"]);
        assert_eq!(codes(&errors, "email"), ["ERR_INVALID"]);
        assert_eq!(codes(&errors, "password"), ["ERR_TOO_SHORT"]);
        assert_eq!(codes(&errors, "agreement"), ["ERR_ACCEPTED"]);
        assert_eq!(codes(&errors, "locale"), ["ERR_INCLUSION"]);
        assert_eq!(codes(&errors, "reason"), ["ERR_TOO_LONG"]);
        assert_eq!(codes(&errors, "invite_code"), ["ERR_BLANK"]);
        assert!(
            errors
                .to_string()
                .starts_with("Validation failed: Username must contain only letters"),
            "{errors}"
        );
        let details = errors.details();
        assert_eq!(details["agreement"][0]["error"], "ERR_ACCEPTED");
        assert_eq!(details["agreement"][0]["description"], "must be accepted");
    }

    #[test]
    fn blanks_and_optional_fields() {
        let sign_up = SignUp {
            username: " ".into(),
            email: None,
            password: String::new(),
            agreement: true,
            ..SignUp::default()
        };
        let (errors, _) = check(&sign_up, RegistrationMode::Open);
        assert_eq!(codes(&errors, "username"), ["ERR_BLANK"]);
        assert_eq!(codes(&errors, "password"), ["ERR_BLANK"]);
        assert!(codes(&errors, "email").is_empty(), "an email is optional");
        assert!(codes(&errors, "invite_code").is_empty(), "no invite needed");
        let long = SignUp {
            username: "a".repeat(31),
            ..valid()
        };
        assert_eq!(
            codes(&check(&long, RegistrationMode::Open).0, "username"),
            ["ERR_TOO_LONG"]
        );
    }

    #[test]
    fn emails_and_locales_are_checked_for_their_shape() {
        for ok in ["a@b.co", "first.last+tag@clinic.example", "ana@münchen.de"] {
            assert!(email_shape_ok(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b..", "a@.b", "a@b_c.de",
        ] {
            assert!(!email_shape_ok(bad), "{bad}");
        }
        for ok in ["en", "pt-BR", "zh_Hant", "fil"] {
            assert!(locale_shape_ok(ok), "{ok}");
        }
        for bad in ["e", "english", "en-", "1a", "en-x"] {
            assert!(!locale_shape_ok(bad), "{bad}");
        }
    }
}
