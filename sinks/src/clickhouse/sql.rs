//! Building queries with server-side parameters (`{p0:String}`): user input never becomes
//! SQL text.

use chrono::{DateTime, Utc};
use clickhouse::Client;
use clickhouse::query::Query;

/// A value bound to a query parameter.
#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Texts(Vec<String>),
    Int(i64),
}

/// SQL text with its parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    text: String,
    params: Vec<(String, Param)>,
}

impl Sql {
    /// Starts a query with `text`.
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Appends SQL text (never user input).
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn placeholder(&mut self, kind: &str, value: Param) -> &mut Self {
        let name = format!("p{}", self.params.len());
        self.text.push_str(&format!("{{{name}:{kind}}}"));
        self.params.push((name, value));
        self
    }

    /// Returns true when no text was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Appends a `String` parameter.
    pub(crate) fn bind_text(&mut self, value: &str) -> &mut Self {
        self.placeholder("String", Param::Text(value.to_owned()))
    }

    /// Appends an `Array(String)` parameter.
    pub(crate) fn bind_texts(&mut self, values: &[String]) -> &mut Self {
        self.placeholder("Array(String)", Param::Texts(values.to_vec()))
    }

    /// Appends an `Int64` parameter.
    pub(crate) fn bind_int(&mut self, value: i64) -> &mut Self {
        self.placeholder("Int64", Param::Int(value))
    }

    /// Appends a page size or offset (saturating: a huge page is empty).
    pub(crate) fn bind_count(&mut self, value: u64) -> &mut Self {
        self.bind_int(i64::try_from(value).unwrap_or(i64::MAX))
    }

    /// Appends a time as a `DateTime64(6)` expression.
    pub(crate) fn bind_time(&mut self, value: DateTime<Utc>) -> &mut Self {
        self.push("fromUnixTimestamp64Micro(");
        self.bind_int(value.timestamp_micros());
        self.push(", 'UTC')")
    }

    /// Returns the query, ready to fetch or execute.
    pub(crate) fn query(&self, client: &Client) -> Query {
        let mut query = client.query_raw(&self.text);
        for (name, value) in &self.params {
            query = match value {
                Param::Text(text) => query.param(name, text),
                Param::Texts(texts) => query.param(name, texts),
                Param::Int(int) => query.param(name, int),
            };
        }
        query
    }

    /// Returns the SQL text (for tests and error messages).
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_typed_placeholders() {
        let mut query = Sql::new("SELECT 1 WHERE project_id = ");
        query.bind_text("x'; DROP TABLE t").push(" AND tags = ");
        query.bind_texts(&["a".to_owned()]);
        assert_eq!(
            query.text(),
            "SELECT 1 WHERE project_id = {p0:String} AND tags = {p1:Array(String)}"
        );
        assert_eq!(query.params.len(), 2);
    }
}
