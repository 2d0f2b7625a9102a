//! The small SQL seam the store's logic runs on: the Durable Object's SQLite
//! in production, rusqlite in native unit tests (same SQLite dialect), so
//! identity, merges and their undo are tested without workerd.

use serde_json::{Map, Value};

use super::protocol::{StoreError, StoreResult};

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<&str> for Param {
    fn from(s: &str) -> Self {
        Param::Text(s.to_owned())
    }
}
impl From<&String> for Param {
    fn from(s: &String) -> Self {
        Param::Text(s.clone())
    }
}
impl From<String> for Param {
    fn from(s: String) -> Self {
        Param::Text(s)
    }
}
impl From<i64> for Param {
    fn from(n: i64) -> Self {
        Param::Int(n)
    }
}
impl From<f64> for Param {
    fn from(n: f64) -> Self {
        Param::Real(n)
    }
}
impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// `params![a, b]`: a slice of [`Param`]s from anything convertible.
macro_rules! params {
    ($($p:expr),* $(,)?) => { &[$($crate::store::sql::Param::from($p)),*] as &[$crate::store::sql::Param] };
}
pub(crate) use params;

/// A result row: column name → JSON value (integers, reals, text, null).
pub type Row = Map<String, Value>;

/// What the store's logic needs from SQLite.
pub trait Sql {
    fn query(&self, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>>;
    /// Runs a statement; the number of rows it wrote.
    fn execute(&self, sql: &str, params: &[Param]) -> StoreResult<usize>;
}

/// Helpers over any [`Sql`].
pub trait SqlExt: Sql {
    /// The text in the first column of the first row, if any.
    fn text(&self, sql: &str, params: &[Param]) -> StoreResult<Option<String>> {
        Ok(self
            .query(sql, params)?
            .first()
            .and_then(|r| r.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The integer in the first column of the first row, if any.
    fn int(&self, sql: &str, params: &[Param]) -> StoreResult<Option<i64>> {
        Ok(self
            .query(sql, params)?
            .first()
            .and_then(|r| r.values().next())
            .and_then(Value::as_i64))
    }

    fn exists(&self, sql: &str, params: &[Param]) -> StoreResult<bool> {
        Ok(!self.query(sql, params)?.is_empty())
    }
}

impl<S: Sql + ?Sized> SqlExt for S {}

pub fn internal(error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("sql: {error}"))
}

/// The Durable Object's SQLite.
pub struct DurableSql(pub worker::SqlStorage);

impl DurableSql {
    fn bind(params: &[Param]) -> Vec<worker::SqlStorageValue> {
        use worker::SqlStorageValue as V;
        params
            .iter()
            .map(|p| match p {
                Param::Null => V::Null,
                Param::Int(n) => V::Integer(*n),
                Param::Real(n) => V::Float(*n),
                Param::Text(s) => V::from(s.clone()),
            })
            .collect()
    }
}

impl Sql for DurableSql {
    fn query(&self, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
        let cursor = self.0.exec(sql, Self::bind(params)).map_err(internal)?;
        let rows: Vec<Value> = cursor.to_array().map_err(internal)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| match r {
                Value::Object(map) => Some(map),
                _ => None,
            })
            .collect())
    }

    fn execute(&self, sql: &str, params: &[Param]) -> StoreResult<usize> {
        Ok(self
            .0
            .exec(sql, Self::bind(params))
            .map_err(internal)?
            .rows_written())
    }
}

/// rusqlite as the stand-in for native tests.
#[cfg(test)]
pub struct TestSql(pub rusqlite::Connection);

#[cfg(test)]
impl TestSql {
    pub fn new() -> Self {
        TestSql(rusqlite::Connection::open_in_memory().expect("in-memory SQLite"))
    }

    fn bind(params: &[Param]) -> Vec<rusqlite::types::Value> {
        use rusqlite::types::Value as V;
        params
            .iter()
            .map(|p| match p {
                Param::Null => V::Null,
                Param::Int(n) => V::Integer(*n),
                Param::Real(n) => V::Real(*n),
                Param::Text(s) => V::Text(s.clone()),
            })
            .collect()
    }
}

#[cfg(test)]
impl Sql for TestSql {
    fn query(&self, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
        use rusqlite::types::ValueRef;
        let mut statement = self.0.prepare(sql).map_err(internal)?;
        let names: Vec<String> = statement
            .column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut rows = statement
            .query(rusqlite::params_from_iter(Self::bind(params)))
            .map_err(internal)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(internal)? {
            let mut map = Row::new();
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i).map_err(internal)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(n) => Value::from(n),
                    ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Value::Null,
                };
                map.insert(name.clone(), value);
            }
            out.push(map);
        }
        Ok(out)
    }

    fn execute(&self, sql: &str, params: &[Param]) -> StoreResult<usize> {
        // Durable Objects count rows written by a statement; rusqlite's
        // `execute` refuses statements that return rows, which ours never do.
        self.0
            .execute(sql, rusqlite::params_from_iter(Self::bind(params)))
            .map_err(internal)
    }
}
