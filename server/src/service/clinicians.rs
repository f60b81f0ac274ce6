//! Verified clinicians: an admin verifies a local person's credential; the clinic's instance
//! actor signs it into their actor document (`clinicianAttestation`, see
//! `hearth_federation::protocol::attestation`); other Hearth instances check the signature,
//! and show the person as verified when they trust the clinic, as plain text otherwise.
//!
//! Trust is this instance's policy: a clinic whose domain it allows is trusted (in any
//! federation mode). It is worked out when a remote actor is stored, and again for every
//! stored attestation whenever the domain rules change.

use super::{
    Context,
    accounts::{Role, announce_profile},
    audit::{self, Acting, Action, Entry, Target},
};
use crate::{
    Error,
    db::{
        AnyConnection,
        actors::{self, ActorRow},
    },
};
use chrono::Utc;
use hearth_federation::{
    objects::actor::FederatedActor,
    policy::Policy,
    protocol::{actor::ActorKind, attestation::ClinicianAttestation, authority},
};

/// Whether this instance believes `attestation` (already verified): its issuing clinic is one
/// the policy trusts.
pub fn trusts(policy: &Policy, attestation: &ClinicianAttestation) -> bool {
    policy.trusts_clinic(&authority(&attestation.issuer))
}

/// Stores a remote actor as fetched or updated, with whether its attestation is trusted here.
pub fn store_remote(
    conn: &mut AnyConnection,
    ctx: &Context,
    actor: &FederatedActor,
) -> Result<ActorRow, Error> {
    let policy = ctx.policy.current();
    let trusted = actor.clinician.as_ref().is_some_and(|a| trusts(&policy, a));
    actors::upsert_remote(conn, actor, trusted)
}

/// Marks the local person `actor_id` as a verified clinician holding `credential`, signed by
/// the instance actor, and tells the servers that know them (admins). Verifying again
/// replaces the credential.
pub async fn verify(
    ctx: &Context,
    by: &Acting,
    actor_id: i64,
    credential: &str,
) -> Result<ActorRow, Error> {
    by.check(Role::may_administer)?;
    let credential = ClinicianAttestation::credential_line(credential)
        .map_err(|e| Error::Unprocessable(format!("Validation failed: {e}")))?;
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let person = local_person(conn, actor_id)?;
        let issuer = actors::by_ap_id(conn, ctx.urls.instance_actor().as_str())?
            .ok_or_else(|| Error::Internal("no instance actor".into()))?;
        let key = issuer
            .private_key_pem
            .clone()
            .map(hearth_federation::keys::PrivateKeyPem::new)
            .ok_or_else(|| Error::Internal("the instance actor has no key".into()))?;
        let attestation = ClinicianAttestation::sign(
            &super::stored_url(&person.ap_id)?,
            &credential,
            &super::stored_url(&issuer.ap_id)?,
            Utc::now(),
            &key,
        )?;
        let json = serde_json::to_string(&attestation)
            .map_err(|e| Error::Internal(format!("attestation: {e}")))?;
        actors::set_clinician(conn, person.id, Some(&json), true)?;
        let person = ActorRow {
            clinician: Some(json),
            clinician_trusted: true,
            ..person
        };
        announce_profile(conn, ctx, &person)?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::ClinicianVerify, Target::actor(&person)).detail(credential),
        )?;
        Ok(person)
    })
    .await
}

/// Takes a local person's verification away, and tells the servers that know them at once.
pub async fn revoke(
    ctx: &Context,
    by: &Acting,
    actor_id: i64,
    reason: Option<String>,
) -> Result<ActorRow, Error> {
    by.check(Role::may_administer)?;
    let by = by.clone();
    ctx.write(move |conn, ctx| {
        let person = local_person(conn, actor_id)?;
        if person.clinician.is_none() {
            return Err(Error::Unprocessable(
                "Validation failed: the account is not a verified clinician".into(),
            ));
        }
        actors::set_clinician(conn, person.id, None, false)?;
        let person = ActorRow {
            clinician: None,
            clinician_trusted: false,
            ..person
        };
        announce_profile(conn, ctx, &person)?;
        audit::record(
            conn,
            &by,
            Entry::new(Action::ClinicianRevoke, Target::actor(&person)).reason(reason),
        )?;
        Ok(person)
    })
    .await
}

/// Works out again, after the domain rules changed, which stored attestations are trusted.
pub fn rejudge(conn: &mut AnyConnection, policy: &Policy) -> Result<(), Error> {
    for (id, json, trusted) in actors::remote_clinicians(conn)? {
        let now =
            serde_json::from_str::<ClinicianAttestation>(&json).is_ok_and(|a| trusts(policy, &a));
        if now != trusted {
            actors::set_clinician(conn, id, Some(&json), now)?;
        }
    }
    Ok(())
}

fn local_person(conn: &mut AnyConnection, actor_id: i64) -> Result<ActorRow, Error> {
    actors::by_id(conn, actor_id)?
        .filter(|a| a.local && a.actor_kind() == ActorKind::Person)
        .ok_or_else(|| Error::not_found("Record not found"))
}
