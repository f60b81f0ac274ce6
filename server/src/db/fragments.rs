//! SQL fragments diesel lacks, written so that the statements using them are prepared once
//! per connection and never again (queries using them run on the engine's own connection,
//! `on_engine!`):
//!
//! - `column IN (ids)` with the ids as one bound value, so that a statement's text is the
//!   same however many ids it is given: SQLite reads the ids from a JSON array (`json_each`),
//!   PostgreSQL from an array (`= ANY`). Diesel's own `eq_any` writes one placeholder per id
//!   on SQLite, and so prepares every such statement afresh; a page of statuses reads about
//!   twenty of them.
//! - The facts of a page of posts ([`PostFactsQuery`]): a hand-written statement that, unlike
//!   diesel's `sql_query`, is prepared once per connection.
//! - `column = 'constant'` with the constant in the statement's text. SQLite prepares a
//!   statement again on every run when a bound value could decide whether a partial index
//!   applies (`visibility = ?` against `posts_public`), as it does for a bound `LIMIT`.

use diesel::{
    expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping},
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    query_dsl::RunQueryDsl,
    sql_types::{Array, BigInt, Bool, Nullable, Text, Untyped},
    sqlite::Sqlite,
};

/// `column IN (ids)`: see the module's documentation.
#[derive(Debug, Clone)]
pub struct InIds<C> {
    column: C,
    ids: Vec<i64>,
    json: String,
}

/// `column IN (ids)`.
pub fn in_ids<C>(column: C, ids: &[i64]) -> InIds<C> {
    let json = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    InIds {
        column,
        ids: ids.to_vec(),
        json,
    }
}

impl<C: Expression> Expression for InIds<C> {
    type SqlType = Bool;
}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for InIds<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for InIds<C> {}

impl<C: SelectableExpression<QS>, QS> SelectableExpression<QS> for InIds<C> {}

impl<C: QueryId> QueryId for InIds<C> {
    type QueryId = InIds<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InIds<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for InIds<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

/// `column = 'value'`, the value written into the statement (see the module's
/// documentation). Only for constants of the code: the value must hold no quote.
#[derive(Debug, Clone, Copy)]
pub struct EqConstant<C> {
    column: C,
    value: &'static str,
}

/// `column = 'value'` for a constant `value` of the code.
pub fn eq_constant<C>(column: C, value: &'static str) -> EqConstant<C> {
    assert!(!value.contains('\''), "a constant with a quote: {value}");
    EqConstant { column, value }
}

/// Statements with a constant are found in the statement cache by their text: a type alone
/// would not tell `'public'` from `'unlisted'`.
impl<C> QueryId for EqConstant<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: Expression> Expression for EqConstant<C> {
    type SqlType = Bool;
}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for EqConstant<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for EqConstant<C> {}

impl<C: SelectableExpression<QS>, QS> SelectableExpression<QS> for EqConstant<C> {}

impl<C, DB> QueryFragment<DB> for EqConstant<C>
where
    DB: diesel::backend::Backend,
    C: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> diesel::QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = '");
        out.push_sql(self.value);
        out.push_sql("'");
        Ok(())
    }
}

/// The counts and the reader's marks of each post of a page (`batch::PostFacts`): each id is
/// probed in each table's index. The reader is bound once, as a one-row table (`r`); on
/// SQLite the ids are read from their JSON array once into a table (`MATERIALIZED`), not
/// parsed again for each of the seven places that use them.
#[derive(Debug, Clone)]
pub struct PostFactsQuery {
    reader: Option<i64>,
    ids: Vec<i64>,
    json: String,
}

impl PostFactsQuery {
    /// The facts of `ids` for `reader` (none: all marks false).
    pub fn new(reader: Option<i64>, ids: &[i64]) -> Self {
        Self {
            reader,
            ids: ids.to_vec(),
            json: serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
        }
    }
}

const POST_FACTS: &str = "SELECT ids.value AS post_id, \
    (SELECT COUNT(*) FROM likes WHERE likes.post_id = ids.value) AS likes, \
    (SELECT COUNT(*) FROM reblogs WHERE reblogs.post_id = ids.value) AS reblogs, \
    EXISTS (SELECT 1 FROM likes WHERE likes.actor_id = r.reader \
        AND likes.post_id = ids.value) AS liked, \
    EXISTS (SELECT 1 FROM reblogs WHERE reblogs.actor_id = r.reader \
        AND reblogs.post_id = ids.value) AS reblogged, \
    EXISTS (SELECT 1 FROM bookmarks WHERE bookmarks.actor_id = r.reader \
        AND bookmarks.post_id = ids.value) AS bookmarked, \
    EXISTS (SELECT 1 FROM pins WHERE pins.actor_id = r.reader \
        AND pins.post_id = ids.value) AS pinned ";

impl QueryId for PostFactsQuery {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for PostFactsQuery {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for PostFactsQuery {}

impl QueryFragment<Sqlite> for PostFactsQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        out.push_sql("WITH ids(value) AS MATERIALIZED (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql(")) ");
        out.push_sql(POST_FACTS);
        out.push_sql("FROM ids, (SELECT ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.reader)?;
        out.push_sql(" AS reader) AS r");
        Ok(())
    }
}

impl QueryFragment<Pg> for PostFactsQuery {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(POST_FACTS);
        out.push_sql("FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(") AS ids(value), (SELECT ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.reader)?;
        out.push_sql("::bigint AS reader) AS r");
        Ok(())
    }
}
