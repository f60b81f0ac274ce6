//! A SQLite database file as a whole: a consistent copy of it taken while the instance writes
//! (`VACUUM INTO`), and what a backup records and a restore checks about one (its tables' row
//! counts, its migrations, its integrity).

use super::{SQLITE_MIGRATIONS, embedded_migration_versions};
use crate::Error;
use diesel::{
    connection::SimpleConnection, prelude::*, sql_types::BigInt, sql_types::Text,
    sqlite::SqliteConnection,
};
use diesel_migrations::MigrationHarness;
use std::{collections::BTreeMap, path::Path};

/// A name read by raw SQL (a table's, a column's).
#[derive(QueryableByName)]
pub(super) struct Name {
    #[diesel(sql_type = Text)]
    pub(super) name: String,
}

/// A count read by raw SQL.
#[derive(QueryableByName)]
pub(super) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(super) n: i64,
}

/// `name` as an SQL identifier, quoted (table names come from the database itself).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Opens an existing SQLite file without changing its journal mode; an error if there is no
/// file (diesel would create an empty database).
pub fn open_existing(path: &Path) -> Result<SqliteConnection, Error> {
    if !path.is_file() {
        return Err(Error::Unprocessable(format!(
            "no SQLite database at {}",
            path.display()
        )));
    }
    let text = path
        .to_str()
        .ok_or_else(|| Error::Unprocessable(format!("non-UTF-8 path {}", path.display())))?;
    let mut conn = SqliteConnection::establish(text).map_err(|e| Error::DatabaseConnect {
        target: format!("sqlite://{text}"),
        cause: e.to_string(),
    })?;
    // The instance may be writing: wait for its locks rather than fail.
    conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// Writes a consistent copy of the database to `dest` (a file that does not exist yet). It
/// reads one snapshot, as any reader does in WAL mode, so the instance goes on writing.
pub fn vacuum_into(conn: &mut SqliteConnection, dest: &Path) -> Result<(), Error> {
    let dest = dest
        .to_str()
        .ok_or_else(|| Error::Unprocessable(format!("non-UTF-8 path {}", dest.display())))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(dest)
        .execute(conn)?;
    Ok(())
}

/// The tables of the database (not SQLite's own, nor diesel's record of migrations), by name.
pub fn tables(conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
    .load(conn)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

/// How many rows each table holds.
pub fn table_counts(conn: &mut SqliteConnection) -> QueryResult<BTreeMap<String, i64>> {
    let mut counts = BTreeMap::new();
    for table in tables(conn)? {
        let count: Count =
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", quoted(&table)))
                .get_result(conn)?;
        counts.insert(table, count.n);
    }
    Ok(counts)
}

/// The migrations applied to the database, oldest first (empty for a database never migrated).
pub fn applied_migrations(conn: &mut SqliteConnection) -> QueryResult<Vec<String>> {
    let exists: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM sqlite_master \
         WHERE type = 'table' AND name = '__diesel_schema_migrations'",
    )
    .get_result(conn)?;
    if exists.n == 0 {
        return Ok(Vec::new());
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT version AS name FROM __diesel_schema_migrations ORDER BY version",
    )
    .load(conn)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

/// `Ok` if SQLite finds the file sound (`PRAGMA quick_check`), else what it found.
pub fn check_integrity(conn: &mut SqliteConnection) -> Result<(), Error> {
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = Text)]
        quick_check: String,
    }
    let found: Vec<Check> = diesel::sql_query("PRAGMA quick_check").load(conn)?;
    match found.first() {
        Some(check) if found.len() == 1 && check.quick_check == "ok" => Ok(()),
        _ => Err(Error::Operation(format!(
            "the database is damaged: {}",
            found
                .iter()
                .map(|c| c.quick_check.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// Checks that every migration applied to the database is one this Hearth knows (a database
/// from a newer Hearth is refused), then applies the ones it lacks.
pub fn migrate_forward(conn: &mut SqliteConnection) -> Result<Vec<String>, Error> {
    let (known, _) = embedded_migration_versions()?;
    let applied = applied_migrations(conn)?;
    if let Some(unknown) = applied.iter().find(|v| !known.contains(v)) {
        return Err(Error::Unprocessable(format!(
            "the database has migration {unknown}, which this Hearth ({}) does not know: \
             restore it with the Hearth that made it, or a newer one",
            env!("CARGO_PKG_VERSION")
        )));
    }
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map(|done| done.iter().map(ToString::to_string).collect())
        .map_err(|e| Error::Migration(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database some migrations behind is brought forward; one with a migration this
    /// Hearth does not know (from a newer Hearth) is refused untouched.
    #[test]
    fn migrations_go_forward_only_from_known_versions() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("old.db");
        let mut conn =
            SqliteConnection::establish(&path.to_string_lossy()).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..5 {
            conn.run_next_migration(SQLITE_MIGRATIONS)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let (known, _) = embedded_migration_versions().unwrap_or_else(|e| panic!("{e}"));
        let mut conn = open_existing(&path).unwrap_or_else(|e| panic!("{e}"));
        let applied = migrate_forward(&mut conn).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied.len(), known.len() - 5);
        assert_eq!(applied_migrations(&mut conn).unwrap_or_default(), known);

        conn.batch_execute(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('99990101000000')",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let refused = migrate_forward(&mut conn)
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("99990101000000") && e.contains("does not know")),
            "{refused:?}"
        );
        check_integrity(&mut conn).unwrap_or_else(|e| panic!("{e}"));
    }
}
