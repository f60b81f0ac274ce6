//! The `instance_settings` table: settings admins set at run time, one row per name.

use super::{AnyConnection, schema::instance_settings};
use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

/// One setting.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = instance_settings)]
pub struct SettingRow {
    pub name: String,
    pub value: String,
    #[diesel(deserialize_as = crate::db::time::Stamp)]
    pub updated_at: NaiveDateTime,
}

/// The setting `name`, if set.
pub fn get(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<SettingRow>> {
    on_engine!(conn, |c| instance_settings::table
        .find(name)
        .select(SettingRow::as_select())
        .get_result(c)
        .optional())
}

/// Sets `name` to `value` (replacing what it was), or clears it (`None`).
pub fn set(conn: &mut AnyConnection, name: &str, value: Option<&str>) -> QueryResult<()> {
    diesel::delete(instance_settings::table.find(name)).execute(conn)?;
    if let Some(value) = value {
        diesel::insert_into(instance_settings::table)
            .values((
                instance_settings::name.eq(name),
                instance_settings::value.eq(value),
                instance_settings::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
