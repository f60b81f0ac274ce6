//! The `actors` table: local people, groups and the instance actor, and remote actors met.

use super::{
    AnyConnection,
    schema::{actors, users},
};
use crate::Error;
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use hearth_federation::{
    keys::PrivateKeyPem,
    objects::actor::FederatedActor,
    protocol::{
        actor::{ActorKind, ProfileField},
        attestation::ClinicianAttestation,
    },
};
use url::Url;

/// What an account shows of an actor (its `Account` entity): the row without what only
/// federation needs (keys, inbox and collection addresses, refresh times). Lists of statuses
/// read many actors a page, and the keys alone are most of a local actor's row.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = actors)]
pub struct ActorProfile {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub username: String,
    pub domain: String,
    pub display_name: Option<String>,
    pub summary: Option<String>,
    pub profile_url: Option<String>,
    pub avatar_url: Option<String>,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub local: bool,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub published_at: NaiveDateTime,
    pub header_url: Option<String>,
    pub avatar_proxy: Option<String>,
    pub header_proxy: Option<String>,
    pub fields: String,
    pub clinician: Option<String>,
    pub clinician_trusted: bool,
}

impl ActorProfile {
    /// The verified clinician's attestation, if the actor has one.
    pub fn clinician(&self) -> Option<ClinicianAttestation> {
        clinician_of(self.clinician.as_deref())
    }

    /// The profile fields (none if the stored JSON cannot be read).
    pub fn profile_fields(&self) -> Vec<ProfileField> {
        profile_fields(&self.fields)
    }

    /// The actor kind.
    pub fn actor_kind(&self) -> ActorKind {
        actor_kind(&self.kind)
    }
}

impl From<&ActorRow> for ActorProfile {
    fn from(row: &ActorRow) -> Self {
        Self {
            id: row.id,
            ap_id: row.ap_id.clone(),
            kind: row.kind.clone(),
            username: row.username.clone(),
            domain: row.domain.clone(),
            display_name: row.display_name.clone(),
            summary: row.summary.clone(),
            profile_url: row.profile_url.clone(),
            avatar_url: row.avatar_url.clone(),
            manually_approves_followers: row.manually_approves_followers,
            discoverable: row.discoverable,
            local: row.local,
            published_at: row.published_at,
            header_url: row.header_url.clone(),
            avatar_proxy: row.avatar_proxy.clone(),
            header_proxy: row.header_proxy.clone(),
            fields: row.fields.clone(),
            clinician: row.clinician.clone(),
            clinician_trusted: row.clinician_trusted,
        }
    }
}

fn profile_fields(stored: &str) -> Vec<ProfileField> {
    serde_json::from_str(stored).unwrap_or_default()
}

fn actor_kind(stored: &str) -> ActorKind {
    ActorKind::from_storage(stored).unwrap_or(ActorKind::Person)
}

/// Bumped by every change to an actor, so that what [`Recent`] kept before it is not used
/// again.
static CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Records that an actor changed, in a transaction that may not have committed yet: whoever
/// commits it records it again then ([`changes`]), lest a read between the two be kept.
fn changed() {
    CHANGES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

/// How many changes to actors this process has recorded: a transaction that made any
/// records one more once it has committed ([`recommit_changes`]).
pub(super) fn changes() -> u64 {
    CHANGES.load(std::sync::atomic::Ordering::Acquire)
}

/// Records the actor changes made since `before` again, now that they are committed.
pub(super) fn recommit_changes(before: u64) {
    if changes() != before {
        changed();
    }
}

/// How long an actor read is kept: as long as another process's change to it (several server
/// processes on one PostgreSQL database) may go unseen here.
const KEPT: std::time::Duration = std::time::Duration::from_secs(1);

/// Actors read in the last second, by the key they were read by. Every inbox POST reads its
/// inbox's owner and its sender, the same few actors thousands of times a second under load;
/// on PostgreSQL each read is a round trip that costs the server and the database more CPU
/// than the rest of the request's storage. A change to any actor in this process drops them
/// all at once ([`CHANGES`]).
#[derive(Clone, Debug)]
pub struct Recent {
    kept: moka::sync::Cache<RecentKey, (u64, ActorRow)>,
}

/// How an actor was read.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum RecentKey {
    /// By its ActivityPub id ([`by_ap_id`]).
    ApId(String),
    /// A local actor, by kind and handle ([`local_by_username`]).
    Local(&'static str, String),
}

impl Default for Recent {
    fn default() -> Self {
        let kept = moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(KEPT)
            .build();
        Self { kept }
    }
}

impl Recent {
    /// The actor read by `key`, unless an actor changed since.
    pub fn get(&self, key: &RecentKey) -> Option<ActorRow> {
        let (read_at, row) = self.kept.get(key)?;
        (read_at == changes()).then_some(row)
    }

    /// Keeps `row`, read by `key` when [`changes`] was `read_at`.
    pub fn keep(&self, key: RecentKey, read_at: u64, row: ActorRow) {
        if read_at == changes() {
            self.kept.insert(key, (read_at, row));
        }
    }
}

/// One row of `actors`.
#[derive(Clone, Debug, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = actors)]
pub struct ActorRow {
    pub id: i64,
    pub ap_id: String,
    pub kind: String,
    pub username: String,
    pub domain: String,
    pub display_name: Option<String>,
    pub summary: Option<String>,
    pub profile_url: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub outbox: Option<String>,
    pub followers: Option<String>,
    pub following: Option<String>,
    pub avatar_url: Option<String>,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub local: bool,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub published_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub last_refreshed_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub updated_at: NaiveDateTime,
    /// Header image: its URL on the actor's server, or the served file of a local person.
    pub header_url: Option<String>,
    /// Remote actors: the token of their avatar's copy here (`/media/proxy/<token>`).
    pub avatar_proxy: Option<String>,
    /// Remote actors: the token of their header's copy here.
    pub header_proxy: Option<String>,
    /// Profile fields, a JSON array of `{"name", "value"}` (value HTML); see
    /// [`ActorRow::profile_fields`].
    pub fields: String,
    /// A clinician's attestation, JSON: issued here (local people) or verified (remote).
    /// Written only by [`set_clinician`] (and when the row is inserted): an update of the rest
    /// of a row read before a verification or revocation must not undo it.
    #[diesel(skip_update)]
    pub clinician: Option<String>,
    /// Whether this instance trusts the clinic that issued it (see `service::clinicians`).
    #[diesel(skip_update)]
    pub clinician_trusted: bool,
}

impl ActorRow {
    /// A row for `actor`, with a fresh id and timestamps.
    pub fn new(actor: &FederatedActor) -> Self {
        let now = Utc::now().naive_utc();
        let url = |u: &Option<Url>| u.as_ref().map(Url::to_string);
        Self {
            id: super::id::new_id(),
            ap_id: actor.ap_id.to_string(),
            kind: actor.kind.as_str().to_owned(),
            username: actor.username.clone(),
            domain: hearth_federation::protocol::authority(&actor.ap_id),
            display_name: actor.display_name.clone(),
            summary: actor.summary.clone(),
            profile_url: url(&actor.profile_url),
            inbox: actor.inbox.to_string(),
            shared_inbox: url(&actor.shared_inbox),
            outbox: url(&actor.outbox),
            followers: url(&actor.followers),
            following: url(&actor.following),
            avatar_url: url(&actor.avatar),
            public_key_pem: actor.public_key_pem.clone(),
            private_key_pem: actor.private_key.as_ref().map(|k| k.expose().to_owned()),
            manually_approves_followers: actor.manually_approves_followers,
            discoverable: actor.discoverable,
            local: actor.local,
            published_at: actor.published.naive_utc(),
            last_refreshed_at: actor.last_refreshed_at.naive_utc(),
            created_at: now,
            updated_at: now,
            header_url: url(&actor.header),
            avatar_proxy: None,
            header_proxy: None,
            fields: serde_json::to_string(&actor.fields).unwrap_or_else(|_| "[]".into()),
            clinician: actor
                .clinician
                .as_ref()
                .and_then(|a| serde_json::to_string(a).ok()),
            clinician_trusted: actor.local && actor.clinician.is_some(),
        }
    }

    /// What is kept of this local account once deleted, under a new row id: the id, handle,
    /// inboxes and keys, nothing the person wrote (see [`TOMBSTONE`]).
    pub fn tombstone(&self) -> Self {
        let now = Utc::now().naive_utc();
        Self {
            id: super::id::new_id(),
            ap_id: self.ap_id.clone(),
            kind: TOMBSTONE.to_owned(),
            username: self.username.clone(),
            domain: self.domain.clone(),
            display_name: None,
            summary: None,
            profile_url: None,
            inbox: self.inbox.clone(),
            shared_inbox: self.shared_inbox.clone(),
            outbox: None,
            followers: None,
            following: None,
            avatar_url: None,
            public_key_pem: self.public_key_pem.clone(),
            private_key_pem: self.private_key_pem.clone(),
            manually_approves_followers: true,
            discoverable: false,
            local: true,
            published_at: self.published_at,
            last_refreshed_at: now,
            created_at: now,
            updated_at: now,
            header_url: None,
            avatar_proxy: None,
            header_proxy: None,
            fields: "[]".into(),
            clinician: None,
            clinician_trusted: false,
        }
    }

    /// The profile fields (none if the stored JSON cannot be read).
    pub fn profile_fields(&self) -> Vec<ProfileField> {
        profile_fields(&self.fields)
    }

    /// The actor kind.
    pub fn actor_kind(&self) -> ActorKind {
        actor_kind(&self.kind)
    }

    /// The protocol view of this row.
    pub fn to_federated(&self) -> Result<FederatedActor, Error> {
        let parse = |s: &str| {
            Url::parse(s)
                .map_err(|e| Error::Internal(format!("stored URL {s:?} of actor {}: {e}", self.id)))
        };
        let parse_opt = |s: &Option<String>| s.as_deref().map(parse).transpose();
        Ok(FederatedActor {
            ap_id: parse(&self.ap_id)?,
            kind: self.actor_kind(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            summary: self.summary.clone(),
            profile_url: parse_opt(&self.profile_url)?,
            inbox: parse(&self.inbox)?,
            shared_inbox: parse_opt(&self.shared_inbox)?,
            outbox: parse_opt(&self.outbox)?,
            followers: parse_opt(&self.followers)?,
            following: parse_opt(&self.following)?,
            avatar: parse_opt(&self.avatar_url)?,
            header: parse_opt(&self.header_url)?,
            public_key_pem: self.public_key_pem.clone(),
            private_key: self.private_key_pem.clone().map(PrivateKeyPem::new),
            published: self.published_at.and_utc(),
            manually_approves_followers: self.manually_approves_followers,
            discoverable: self.discoverable,
            local: self.local,
            last_refreshed_at: self.last_refreshed_at.and_utc(),
            fields: self.profile_fields(),
            clinician: clinician_of(self.clinician.as_deref()),
        })
    }
}

/// Inserts a new actor row.
pub fn insert(conn: &mut AnyConnection, row: &ActorRow) -> QueryResult<()> {
    changed();
    diesel::insert_into(actors::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The actors anyone may find: every actor but the local people whose account waits for a
/// moderator's approval. Those do not exist to other servers, apps or pages until approved
/// (their handle stays taken); lookups by id or name go through here. Each row's account is
/// read by its primary key.
#[diesel::dsl::auto_type]
fn findable() -> _ {
    actors::table.left_join(users::table)
}

/// The condition of [`findable`]: no account, or an approved one; and not what is left of a
/// deleted account (see [`TOMBSTONE`]).
#[diesel::dsl::auto_type]
fn present() -> _ {
    let tombstone: &'static str = TOMBSTONE;
    users::approved
        .nullable()
        .is_null()
        .or(users::approved.nullable().eq(true))
        .and(actors::kind.ne(tombstone))
}

/// The `kind` of what is left of a deleted local account until the servers that knew it have
/// been told (`service::account_deletion`): its id, handle and keys, to sign its `Delete`, and
/// nothing else. Lookups of actors do not find it; its URLs answer 410 Gone.
pub const TOMBSTONE: &str = "tombstone";

/// Any actor row by id, tombstones included: the signer of a queued activity.
pub fn signer_by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<ActorRow>> {
    actors::table
        .find(id)
        .select(ActorRow::as_select())
        .get_result(conn)
        .optional()
}

/// The tombstone of the deleted local account that had this handle, while it lasts.
pub fn local_tombstone(conn: &mut AnyConnection, username: &str) -> QueryResult<Option<ActorRow>> {
    actors::table
        .filter(actors::local.eq(true))
        .filter(actors::username.eq(username.to_ascii_lowercase()))
        .filter(actors::kind.eq(TOMBSTONE))
        .select(ActorRow::as_select())
        .get_result(conn)
        .optional()
}

/// Every tombstone of a deleted local account.
pub fn local_tombstones(conn: &mut AnyConnection) -> QueryResult<Vec<ActorRow>> {
    actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(TOMBSTONE))
        .select(ActorRow::as_select())
        .load(conn)
}

/// The actor with this ActivityPub id (on the engine's own connection, like the other
/// lookups each inbox POST makes: see `on_engine!`). Not a person waiting for approval.
pub fn by_ap_id(conn: &mut AnyConnection, ap_id: &str) -> QueryResult<Option<ActorRow>> {
    on_engine!(conn, |c| findable()
        .filter(present())
        .filter(actors::ap_id.eq(ap_id))
        .select(ActorRow::as_select())
        .get_result(c)
        .optional())
}

/// The row ids of the local people among these ActivityPub ids (one cached lookup each: a
/// lookup of all at once is prepared afresh every time).
pub fn local_people_among(conn: &mut AnyConnection, ap_ids: &[String]) -> QueryResult<Vec<i64>> {
    let mut people = Vec::new();
    for ap_id in ap_ids {
        if let Some(id) = on_engine!(conn, |c| actors::table
            .filter(actors::ap_id.eq(ap_id))
            .filter(actors::local.eq(true))
            .filter(actors::kind.eq(ActorKind::Person.as_str()))
            .select(actors::id)
            .get_result::<i64>(c)
            .optional())?
        {
            people.push(id);
        }
    }
    Ok(people)
}

/// A stored attestation (none if it cannot be read).
fn clinician_of(json: Option<&str>) -> Option<ClinicianAttestation> {
    serde_json::from_str(json?).ok()
}

/// The actor with this row id; not a person waiting for approval.
pub fn by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<ActorRow>> {
    on_engine!(conn, |c| findable()
        .filter(present())
        .filter(actors::id.eq(id))
        .select(ActorRow::as_select())
        .get_result(c)
        .optional())
}

/// A local actor by handle, optionally of one kind; not a person waiting for approval.
pub fn local_by_username(
    conn: &mut AnyConnection,
    username: &str,
    kind: Option<ActorKind>,
) -> QueryResult<Option<ActorRow>> {
    let username = username.to_ascii_lowercase();
    let local = findable()
        .filter(present())
        .filter(actors::local.eq(true))
        .filter(actors::username.eq(&username));
    match kind {
        Some(kind) => on_engine!(conn, |c| local
            .filter(actors::kind.eq(kind.as_str()))
            .select(ActorRow::as_select())
            .get_result(c)
            .optional()),
        None => on_engine!(conn, |c| local
            .select(ActorRow::as_select())
            .get_result(c)
            .optional()),
    }
}

/// Any known actor by `username` and `domain` (`host[:port]`).
pub fn by_handle(
    conn: &mut AnyConnection,
    username: &str,
    domain: &str,
) -> QueryResult<Option<ActorRow>> {
    actors::table
        .filter(actors::domain.eq(domain.to_ascii_lowercase()))
        .filter(actors::username.eq(username))
        .select(ActorRow::as_select())
        .get_result(conn)
        .optional()
}

/// A known actor by handle: a local one when `domain` is this instance's, otherwise a remote
/// one already stored.
pub fn by_acct(
    conn: &mut AnyConnection,
    username: &str,
    domain: &str,
    local_domain: &str,
) -> QueryResult<Option<ActorRow>> {
    if domain.eq_ignore_ascii_case(local_domain) {
        local_by_username(conn, username, None)
    } else {
        by_handle(conn, username, domain)
    }
}

/// Stores a remote actor: updates the known row with the same id, or inserts a new one.
/// Written as read-then-write in a transaction, since the multi-backend has no `ON CONFLICT`.
/// A new avatar or header URL gets a new copy to be served here (see `remote_media`).
///
/// On PostgreSQL two requests can meet a new actor at once (a peer delivers two activities of
/// theirs in parallel): both read nothing and one insert loses on the unique id. By then the
/// winner has committed, so the loser tries once more and updates the row it now finds.
///
/// `clinician_trusted` says whether this instance trusts the clinic that issued the actor's
/// (verified) clinician attestation, if it has one.
pub fn upsert_remote(
    conn: &mut AnyConnection,
    actor: &FederatedActor,
    clinician_trusted: bool,
) -> Result<ActorRow, Error> {
    use diesel::result::{DatabaseErrorKind::UniqueViolation, Error::DatabaseError};
    match upsert_remote_once(conn, actor, clinician_trusted) {
        Err(Error::Database(DatabaseError(UniqueViolation, _))) => {
            upsert_remote_once(conn, actor, clinician_trusted)
        }
        stored => stored,
    }
}

fn upsert_remote_once(
    conn: &mut AnyConnection,
    actor: &FederatedActor,
    clinician_trusted: bool,
) -> Result<ActorRow, Error> {
    use super::remote_media::{Purpose, profile_image};
    conn.write_transaction(|conn| {
        let mut row = ActorRow::new(actor);
        row.local = false;
        row.private_key_pem = None;
        row.clinician_trusted = clinician_trusted && row.clinician.is_some();
        let existing = by_ap_id(conn, &row.ap_id)?;
        match &existing {
            Some(existing) => {
                if existing.local {
                    return Err(Error::BadRequest(
                        "a remote document claims a local actor".into(),
                    ));
                }
                row.id = existing.id;
                row.created_at = existing.created_at;
            }
            None => insert(conn, &row)?,
        }
        row.avatar_proxy = profile_image(
            conn,
            row.id,
            Purpose::Avatar,
            existing
                .as_ref()
                .and_then(|e| Some((e.avatar_url.as_deref()?, e.avatar_proxy.as_deref()?))),
            row.avatar_url.as_deref(),
        )?;
        row.header_proxy = profile_image(
            conn,
            row.id,
            Purpose::Header,
            existing
                .as_ref()
                .and_then(|e| Some((e.header_url.as_deref()?, e.header_proxy.as_deref()?))),
            row.header_url.as_deref(),
        )?;
        if existing.is_some() || row.avatar_proxy.is_some() || row.header_proxy.is_some() {
            changed();
            diesel::update(actors::table.find(row.id))
                .set(&row)
                .execute(conn)?;
        }
        // The attestation as the document has it now (none: revoked).
        if existing.as_ref().is_some_and(|e| {
            (&e.clinician, e.clinician_trusted) != (&row.clinician, row.clinician_trusted)
        }) {
            set_clinician(
                conn,
                row.id,
                row.clinician.as_deref(),
                row.clinician_trusted,
            )?;
        }
        Ok(row)
    })
}

/// Sets an actor's clinician attestation (JSON) and whether it is trusted here.
pub fn set_clinician(
    conn: &mut AnyConnection,
    id: i64,
    attestation: Option<&str>,
    trusted: bool,
) -> QueryResult<()> {
    changed();
    diesel::update(actors::table.find(id))
        .set((
            actors::clinician.eq(attestation),
            actors::clinician_trusted.eq(trusted),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The remote actors with a verified clinician attestation: `(id, attestation JSON,
/// trusted)`.
pub fn remote_clinicians(conn: &mut AnyConnection) -> QueryResult<Vec<(i64, String, bool)>> {
    actors::table
        .filter(actors::local.eq(false))
        .filter(actors::clinician.is_not_null())
        .select((
            actors::id,
            actors::clinician.assume_not_null(),
            actors::clinician_trusted,
        ))
        .load(conn)
}

/// How many local actors of `kind` exist.
pub fn count_local(conn: &mut AnyConnection, kind: ActorKind) -> QueryResult<i64> {
    actors::table
        .filter(actors::local.eq(true))
        .filter(actors::kind.eq(kind.as_str()))
        .count()
        .get_result(conn)
}

/// How many other servers we know actors of.
pub fn count_remote_domains(conn: &mut AnyConnection) -> QueryResult<i64> {
    let domains: Vec<String> = actors::table
        .filter(actors::local.eq(false))
        .select(actors::domain)
        .distinct()
        .load(conn)?;
    Ok(i64::try_from(domains.len()).unwrap_or(i64::MAX))
}

/// Saves a changed actor row.
pub fn update(conn: &mut AnyConnection, row: &ActorRow) -> QueryResult<()> {
    changed();
    diesel::update(actors::table.find(row.id))
        .set(row)
        .execute(conn)
        .map(|_| ())
}

/// Whether a local person or group, approved or not, has this handle (a new account's
/// handle must be free of all of them).
pub fn local_handle_taken(conn: &mut AnyConnection, username: &str) -> QueryResult<bool> {
    let username = username.to_ascii_lowercase();
    actors::table
        .filter(actors::local.eq(true))
        .filter(actors::username.eq(&username))
        .select(actors::id)
        .get_result::<i64>(conn)
        .optional()
        .map(|id| id.is_some())
}

/// The id and domain of every remote actor on `domain` or its subdomains, on any port unless
/// `domain` names one (a superset: the caller applies the exact rule to the domains).
pub fn remote_under(conn: &mut AnyConnection, domain: &str) -> QueryResult<Vec<(i64, String)>> {
    let exact = domain.to_owned();
    let escaped = super::like_escaped(domain);
    actors::table
        .filter(actors::local.eq(false))
        .filter(
            actors::domain
                .eq(exact)
                .or(actors::domain.like(format!("{escaped}:%")).escape('\\'))
                .or(actors::domain.like(format!("%.{escaped}")).escape('\\'))
                .or(actors::domain.like(format!("%.{escaped}:%")).escape('\\')),
        )
        .select((actors::id, actors::domain))
        .load(conn)
}

/// Deletes remote actors and, by the foreign keys, everything stored from them (posts, follows,
/// memberships, likes, boosts, notifications); how many.
pub fn delete_remote(conn: &mut AnyConnection, ids: &[i64]) -> QueryResult<usize> {
    changed();
    let mut deleted = 0;
    for chunk in ids.chunks(500) {
        deleted += diesel::delete(
            actors::table
                .filter(actors::local.eq(false))
                .filter(actors::id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}

/// Deletes an actor row, and with it (by the foreign keys) its account and tokens.
pub fn delete(conn: &mut AnyConnection, id: i64) -> QueryResult<bool> {
    changed();
    diesel::delete(actors::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}
