//! Moving a clinic from its SQLite file to PostgreSQL (`hearth db copy`): every table, read
//! from the schema both engines' migrations build rather than written out table by table, so
//! that a table or column added later is copied too (or the copy stops, naming it, where the
//! two schemas disagree).
//!
//! Rows leave SQLite as JSON (`json_object`, one read snapshot for the whole copy) and enter
//! PostgreSQL in batches through `json_populate_recordset`, which converts each value with
//! the column's own type (text to `TIMESTAMP`, SQLite's 0/1 to `BOOLEAN`...). Everything is
//! written in one PostgreSQL transaction: a failure leaves the target as it was.

use super::snapshot::{self, Count, Name, quoted};
use crate::Error;
use diesel::{
    connection::DefaultLoadingMode,
    pg::PgConnection,
    prelude::*,
    sql_types::{BigInt, Text},
    sqlite::SqliteConnection,
};
use std::collections::{BTreeMap, BTreeSet};

/// Rows per `INSERT`: large enough that a round trip is not paid per row, small enough that
/// a batch of posts stays a few megabytes.
const BATCH_ROWS: usize = 500;

/// Sequences that number something without belonging to a column, each with the query of
/// the highest number already used (the copied rows keep theirs). A sequence of neither kind
/// stops the copy, so one added later cannot be left behind unset.
const FREE_SEQUENCES: &[(&str, &str)] = &[(
    // Outbox ids (`deliveries::outbox_ids`): above every row and every server's cursor.
    "outbox_ids",
    "SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM outbox), \
     (SELECT COALESCE(MAX(delivered_up_to), 0) FROM servers)) AS n",
)];

/// One table's rows, in the source and in the target after the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: String,
    /// Rows in the SQLite snapshot.
    pub source: i64,
    /// Rows in PostgreSQL after the copy.
    pub target: i64,
}

/// How a column's values cross from SQLite's JSON to PostgreSQL.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// SQLite keeps booleans as 0 and 1: sent as JSON `true`/`false`.
    Bool,
    /// JSON stored as text in SQLite: sent as JSON, not as a string.
    Json,
    /// Bytes: JSON cannot hold them, so they go as `\x` hex, which `bytea` reads.
    Bytes,
    /// Numbers, text and timestamps (SQLite stores those as text PostgreSQL reads).
    Plain,
}

impl Kind {
    fn of(table: &str, column: &str, data_type: &str) -> Result<Self, Error> {
        Ok(match data_type {
            "boolean" => Self::Bool,
            "json" | "jsonb" => Self::Json,
            "bytea" => Self::Bytes,
            "bigint"
            | "integer"
            | "smallint"
            | "real"
            | "double precision"
            | "numeric"
            | "text"
            | "character varying"
            | "timestamp without time zone"
            | "date" => Self::Plain,
            other => {
                return Err(Error::Operation(format!(
                    "cannot copy {table}.{column}: no conversion for PostgreSQL type {other}"
                )));
            }
        })
    }

    /// The SQLite expression giving `column`'s value for `json_object`.
    fn sqlite_value(self, column: &str) -> String {
        let c = quoted(column);
        match self {
            Self::Bool => format!(
                "CASE WHEN {c} IS NULL THEN NULL WHEN {c} THEN json('true') ELSE json('false') END"
            ),
            Self::Json => format!("json({c})"),
            Self::Bytes => format!("CASE WHEN {c} IS NULL THEN NULL ELSE '\\x' || hex({c}) END"),
            Self::Plain => c,
        }
    }
}

#[derive(Debug)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
}

#[derive(Debug, Clone, QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct ColumnType {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
}

/// The tables of the target's schema (not diesel's record of migrations).
fn pg_tables(pg: &mut PgConnection) -> QueryResult<Vec<String>> {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '__diesel_schema_migrations' ORDER BY table_name",
    )
    .load(pg)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

/// Tables that hold one row of settings (`CHECK (id = 1)`), which the migrations write with
/// their defaults: the copy replaces that row, and it does not count as data.
fn one_row_tables(pg: &mut PgConnection) -> QueryResult<BTreeSet<String>> {
    let names: Vec<Name> = diesel::sql_query(
        "SELECT DISTINCT c.relname::text AS name FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid \
         WHERE k.contype = 'c' AND c.relnamespace = current_schema()::regnamespace \
         AND pg_get_constraintdef(k.oid) = 'CHECK ((id = 1))'",
    )
    .load(pg)?;
    Ok(names.into_iter().map(|n| n.name).collect())
}

fn pg_count(pg: &mut PgConnection, table: &str) -> QueryResult<i64> {
    let count: Count =
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", quoted(table))).get_result(pg)?;
    Ok(count.n)
}

/// Refuses a target that holds data: any row, but the settings rows the migrations write.
pub fn check_empty(pg: &mut PgConnection) -> Result<(), Error> {
    let settings = one_row_tables(pg)?;
    let mut holding = Vec::new();
    for table in pg_tables(pg)? {
        if settings.contains(&table) {
            continue;
        }
        let n = pg_count(pg, &table)?;
        if n > 0 {
            holding.push(format!("{table} ({n})"));
        }
    }
    if holding.is_empty() {
        Ok(())
    } else {
        Err(Error::Unprocessable(format!(
            "the target database already holds data, in {}: copy into an empty database \
             (nothing was written)",
            holding.join(", ")
        )))
    }
}

/// The columns of `table` in the target, with how to carry each, checked against the
/// source's: a column on one side only stops the copy.
fn table_columns(
    lite: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &str,
) -> Result<Table, Error> {
    let target: Vec<ColumnType> = diesel::sql_query(
        "SELECT column_name::text AS name, data_type::text AS data_type \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER' \
         ORDER BY ordinal_position",
    )
    .bind::<Text, _>(table)
    .load(pg)?;
    let source: Vec<Name> = diesel::sql_query("SELECT name FROM pragma_table_info(?)")
        .bind::<Text, _>(table)
        .load(lite)?;
    let source: BTreeSet<String> = source.into_iter().map(|n| n.name).collect();
    let target_names: BTreeSet<String> = target.iter().map(|c| c.name.clone()).collect();
    if source != target_names {
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            a.difference(b).cloned().collect::<Vec<_>>().join(", ")
        };
        return Err(Error::Operation(format!(
            "table {table} differs between the engines: only in SQLite: [{}]; only in \
             PostgreSQL: [{}] (are both at the same migration?)",
            only(&source, &target_names),
            only(&target_names, &source)
        )));
    }
    let columns = target
        .into_iter()
        .map(|c| Ok((c.name.clone(), Kind::of(table, &c.name, &c.data_type)?)))
        .collect::<Result<_, Error>>()?;
    Ok(Table {
        name: table.to_owned(),
        columns,
    })
}

/// The tables in an order where each comes after those it refers to, and the foreign keys
/// that no order satisfies (a table referring to itself, as a reply to its post, and cycles,
/// as users and invites): those are checked once every row is in.
fn dependency_order(tables: &[String], keys: &[ForeignKey]) -> (Vec<String>, Vec<ForeignKey>) {
    let mut deferred = Vec::new();
    let mut pending = Vec::new();
    for key in keys {
        if key.child == key.parent {
            deferred.push(key.clone());
        } else {
            pending.push(key.clone());
        }
    }
    let mut remaining: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut order: Vec<String> = Vec::with_capacity(tables.len());
    while let Some(&first) = remaining.iter().next() {
        let done = |t: &str, order: &[String]| order.iter().any(|o| o == t);
        let ready: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|t| {
                pending
                    .iter()
                    .all(|k| k.child != *t || done(&k.parent, &order))
            })
            .collect();
        if ready.is_empty() {
            // A cycle: its first table goes now; its keys to tables still to come wait.
            pending.retain(|k| {
                let wait = k.child == first && !done(&k.parent, &order);
                if wait {
                    deferred.push(k.clone());
                }
                !wait
            });
            continue;
        }
        for table in ready {
            remaining.remove(table);
            order.push(table.to_owned());
        }
    }
    (order, deferred)
}

/// Copies `table`'s rows in batches; returns how many.
fn copy_rows(
    lite: &mut SqliteConnection,
    pg: &mut PgConnection,
    table: &Table,
    progress: &indicatif::ProgressBar,
) -> Result<i64, Error> {
    let fields = table
        .columns
        .iter()
        .map(|(name, kind)| {
            format!(
                "'{}', {}",
                name.replace('\'', "''"),
                kind.sqlite_value(name)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let select = format!(
        "SELECT json_object({fields}) AS row FROM {}",
        quoted(&table.name)
    );
    let columns = table
        .columns
        .iter()
        .map(|(name, _)| quoted(name))
        .collect::<Vec<_>>()
        .join(", ");
    let target = quoted(&table.name);
    let insert = format!(
        "INSERT INTO {target} ({columns}) \
         SELECT {columns} FROM json_populate_recordset(NULL::{target}, $1::json)"
    );
    let failed =
        |e: diesel::result::Error| Error::Operation(format!("copying table {}: {e}", table.name));
    let mut send = |batch: &mut String, rows: &mut usize| -> Result<(), Error> {
        if *rows == 0 {
            return Ok(());
        }
        batch.push(']');
        diesel::sql_query(&insert)
            .bind::<Text, _>(batch.as_str())
            .execute(pg)
            .map_err(failed)?;
        progress.inc(*rows as u64);
        batch.clear();
        batch.push('[');
        *rows = 0;
        Ok(())
    };
    let (mut batch, mut rows, mut total) = (String::from("["), 0_usize, 0_i64);
    for row in diesel::sql_query(&select)
        .load_iter::<JsonRow, DefaultLoadingMode>(lite)
        .map_err(failed)?
    {
        let row = row.map_err(failed)?;
        if rows > 0 {
            batch.push(',');
        }
        batch.push_str(&row.row);
        rows += 1;
        total += 1;
        if rows == BATCH_ROWS {
            send(&mut batch, &mut rows)?;
        }
    }
    send(&mut batch, &mut rows)?;
    Ok(total)
}

/// Sets every sequence of the target above the numbers the copied rows use.
fn fix_sequences(pg: &mut PgConnection) -> Result<(), Error> {
    #[derive(QueryableByName)]
    struct Sequence {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        table: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        column: Option<String>,
    }
    let sequences: Vec<Sequence> = diesel::sql_query(
        "SELECT s.relname::text AS name, t.relname::text AS table, a.attname::text AS column \
         FROM pg_class s \
         LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid \
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') \
         LEFT JOIN pg_class t ON t.oid = d.refobjid \
         LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
         WHERE s.relkind = 'S' AND s.relnamespace = current_schema()::regnamespace",
    )
    .load(pg)?;
    for sequence in sequences {
        let highest = match (&sequence.table, &sequence.column) {
            (Some(table), Some(column)) => format!(
                "SELECT COALESCE(MAX({}), 0)::bigint AS n FROM {}",
                quoted(column),
                quoted(table)
            ),
            _ => FREE_SEQUENCES
                .iter()
                .find(|(name, _)| *name == sequence.name)
                .map(|(_, query)| (*query).to_owned())
                .ok_or_else(|| {
                    Error::Operation(format!(
                        "sequence {} belongs to no column and `db copy` does not know what \
                         it numbers (add it to FREE_SEQUENCES)",
                        sequence.name
                    ))
                })?,
        };
        let highest: Count = diesel::sql_query(highest).get_result(pg)?;
        diesel::sql_query("SELECT setval($1::regclass, $2, false)")
            .bind::<Text, _>(quoted(&sequence.name))
            .bind::<BigInt, _>(highest.n.saturating_add(1))
            .execute(pg)?;
    }
    Ok(())
}

/// Copies every table of `lite` into `pg`, already migrated to the same version and checked
/// empty ([`check_empty`]), in one transaction on each side; then compares the row counts
/// per table and fails (writing nothing) if any differs.
pub fn copy_all(
    lite: &mut SqliteConnection,
    pg: &mut PgConnection,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<TableCount>, Error> {
    // One read transaction: every table is read from the same snapshot, even if the
    // instance is still writing.
    lite.transaction(|lite| {
        pg.transaction(|pg| {
            let source_counts = snapshot::table_counts(lite)?;
            let targets = pg_tables(pg)?;
            let sources: Vec<String> = source_counts.keys().cloned().collect();
            if sources != targets {
                return Err(Error::Operation(format!(
                    "the engines' schemas differ: SQLite has tables {sources:?}, PostgreSQL \
                     {targets:?} (are both at the same migration?)"
                )));
            }
            check_empty(pg)?;
            let keys: Vec<ForeignKey> = diesel::sql_query(
                "SELECT k.conname::text AS name, c.relname::text AS child, \
                 p.relname::text AS parent, pg_get_constraintdef(k.oid) AS definition \
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
                 JOIN pg_class p ON p.oid = k.confrelid \
                 WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace \
                 ORDER BY 1",
            )
            .load(pg)?;
            let (order, deferred) = dependency_order(&targets, &keys);
            // The copied rows carry what the triggers would compute (counts, delivery
            // inboxes): the triggers stay off while they go in, as if the rows had always
            // been there.
            for table in &order {
                diesel::sql_query(format!(
                    "ALTER TABLE {} DISABLE TRIGGER USER",
                    quoted(table)
                ))
                .execute(pg)?;
            }
            for key in &deferred {
                diesel::sql_query(format!(
                    "ALTER TABLE {} DROP CONSTRAINT {}",
                    quoted(&key.child),
                    quoted(&key.name)
                ))
                .execute(pg)?;
            }
            for table in one_row_tables(pg)? {
                diesel::sql_query(format!("DELETE FROM {}", quoted(&table))).execute(pg)?;
            }
            progress.set_length(source_counts.values().map(|&n| n.max(0) as u64).sum());
            for name in &order {
                progress.set_message(name.clone());
                let table = table_columns(lite, pg, name)?;
                copy_rows(lite, pg, &table, progress)?;
            }
            // Put back, checking every row against it now.
            for key in &deferred {
                diesel::sql_query(format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} {}",
                    quoted(&key.child),
                    quoted(&key.name),
                    key.definition
                ))
                .execute(pg)
                .map_err(|e| Error::Operation(format!("checking {}: {e}", key.name)))?;
            }
            for table in &order {
                diesel::sql_query(format!("ALTER TABLE {} ENABLE TRIGGER USER", quoted(table)))
                    .execute(pg)?;
            }
            fix_sequences(pg)?;
            let mut counts = Vec::with_capacity(order.len());
            for (table, &source) in &source_counts {
                counts.push(TableCount {
                    table: table.clone(),
                    source,
                    target: pg_count(pg, table)?,
                });
            }
            let wrong: Vec<String> = counts
                .iter()
                .filter(|c| c.source != c.target)
                .map(|c| {
                    format!(
                        "{} ({} in SQLite, {} in PostgreSQL)",
                        c.table, c.source, c.target
                    )
                })
                .collect();
            if !wrong.is_empty() {
                return Err(Error::Operation(format!(
                    "row counts differ after the copy, so nothing was kept: {}",
                    wrong.join(", ")
                )));
            }
            Ok(counts)
        })
    })
}

/// Row counts of every table of `pg`, for checking a copy from outside it.
pub fn pg_table_counts(pg: &mut PgConnection) -> QueryResult<BTreeMap<String, i64>> {
    let mut counts = BTreeMap::new();
    for table in pg_tables(pg)? {
        let n = pg_count(pg, &table)?;
        counts.insert(table, n);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(child: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: format!("{child}_{parent}"),
            child: child.into(),
            parent: parent.into(),
            definition: String::new(),
        }
    }

    #[test]
    fn tables_come_after_those_they_refer_to_and_cycles_wait() {
        let tables: Vec<String> = ["actors", "invites", "posts", "users"]
            .map(String::from)
            .into();
        let keys = [
            key("posts", "actors"),
            key("posts", "posts"),
            key("users", "actors"),
            key("users", "invites"),
            key("invites", "users"),
        ];
        let (order, deferred) = dependency_order(&tables, &keys);
        assert_eq!(order, ["actors", "posts", "invites", "users"]);
        let deferred: Vec<&str> = deferred.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(deferred, ["posts_posts", "invites_users"]);
    }
}
