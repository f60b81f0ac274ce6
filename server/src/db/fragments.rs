//! SQL fragments diesel lacks, written so that the statements using them are prepared once
//! per connection and never again (queries using them run on the engine's own connection,
//! `on_engine!`):
//!
//! - `column IN (ids)` with the ids as one bound value, so that a statement's text is the
//!   same however many ids it is given: SQLite reads the ids from a JSON array (`json_each`),
//!   PostgreSQL from an array (`= ANY`). Diesel's own `eq_any` writes one placeholder per id
//!   on SQLite, and so prepares every such statement afresh; a page of statuses reads about
//!   twenty of them.
//! - `column = 'constant'` with the constant in the statement's text. SQLite prepares a
//!   statement again on every run when a bound value could decide whether a partial index
//!   applies (`visibility = ?` against `posts_public`), as it does for a bound `LIMIT`.

use diesel::{
    expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping},
    pg::Pg,
    query_builder::{AstPass, QueryFragment, QueryId},
    sql_types::{Array, BigInt, Bool, Text},
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
