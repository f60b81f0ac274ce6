//! Storage: both engines end up with the same schema from their own migrations.

use diesel::{QueryableByName, RunQueryDsl, sql_types::Text};
use hearth::db::AnyConnection;
use hearth_tests::{Engine, Instance};
use std::collections::BTreeSet;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// Every (table, column) of the instance's database.
pub(crate) async fn columns(instance: &Instance) -> BTreeSet<(String, String)> {
    instance
        .state
        .db
        .run(|conn| {
            let query = match conn {
                AnyConnection::Sqlite(_) => {
                    "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
                     JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
                     AND m.name NOT LIKE 'sqlite_%' AND m.name != '__diesel_schema_migrations'"
                }
                AnyConnection::Postgresql(_) => {
                    "SELECT table_name::text AS table_name, column_name::text AS column_name \
                     FROM information_schema.columns WHERE table_schema = 'public' \
                     AND table_name != '__diesel_schema_migrations'"
                }
            };
            let rows: Vec<Column> = diesel::sql_query(query).load(conn)?;
            Ok(rows
                .into_iter()
                .map(|c| (c.table_name, c.column_name))
                .collect())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_and_postgresql_migrations_build_the_same_tables() {
    let Some(postgres) = Engine::postgres() else {
        return;
    };
    let sqlite = Instance::start(&Engine::Sqlite).await;
    let postgres = Instance::start(&postgres).await;
    let (left, right) = (columns(&sqlite).await, columns(&postgres).await);
    assert!(
        left.contains(&("actors".into(), "ap_id".into())),
        "{left:?}"
    );
    assert_eq!(left, right, "the two migration sets have drifted apart");
}
