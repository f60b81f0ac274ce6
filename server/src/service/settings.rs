//! Settings admins set at run time: the crisis resources text, shown to a person reported in
//! a `crisis` report (see `reports::file`). Setting it is on the audit record.

use super::{
    Context,
    accounts::Role,
    audit::{self, Acting, Action, Entry, Target},
};
use crate::{
    Error,
    db::{AnyConnection, settings},
};

pub use crate::db::settings::SettingRow as Setting;

/// The name the crisis resources text is stored under.
pub const CRISIS_RESOURCES: &str = "crisis_resources";

/// Longest crisis resources text, in characters (a post's length).
pub const MAX_CRISIS_RESOURCES: usize = super::posts::MAX_CHARACTERS;

/// The crisis resources text, if set, in the caller's transaction.
pub fn crisis_text(conn: &mut AnyConnection) -> Result<Option<String>, Error> {
    Ok(settings::get(conn, CRISIS_RESOURCES)?.map(|s| s.value))
}

/// The crisis resources text and when it was set (admins and moderators).
pub async fn crisis_resources(ctx: &Context, by: &Acting) -> Result<Option<Setting>, Error> {
    by.check(Role::may_moderate)?;
    ctx.db
        .run(|conn| Ok(settings::get(conn, CRISIS_RESOURCES)?))
        .await
}

/// Sets the crisis resources text (admins); blank clears it. On the audit record.
pub async fn set_crisis_resources(
    ctx: &Context,
    by: &Acting,
    text: String,
) -> Result<Option<Setting>, Error> {
    by.check(Role::may_administer)?;
    let text = text.trim().to_owned();
    if text.chars().count() > MAX_CRISIS_RESOURCES {
        return Err(Error::Unprocessable(format!(
            "Validation failed: Text is longer than {MAX_CRISIS_RESOURCES} characters"
        )));
    }
    let by = by.clone();
    ctx.write(move |conn, _| {
        let value = (!text.is_empty()).then_some(text.as_str());
        settings::set(conn, CRISIS_RESOURCES, value)?;
        let detail = if value.is_some() { "set" } else { "cleared" };
        audit::record(
            conn,
            &by,
            Entry::new(
                Action::CrisisResourcesSet,
                Target::setting(CRISIS_RESOURCES),
            )
            .detail(detail),
        )?;
        Ok(settings::get(conn, CRISIS_RESOURCES)?)
    })
    .await
}
