//! Connect headers (`org.apache.kafka.connect.header.ConnectHeaders`): an ordered list in
//! which a key may repeat, each value with an optional schema.
//!
//! ```text
//!  Kafka record headers (key, bytes)* ──HeaderConverter──▶ Headers [(key, schema?, Value)]*
//!                                      ◀──────────────────  (order and duplicates preserved)
//! ```

use super::schema::Schema;
use super::value::Value;

/// One header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The key.
    pub key: String,
    /// The schema, if known.
    pub schema: Option<Schema>,
    /// The value (`Null` allowed).
    pub value: Value,
}

impl Header {
    /// A header.
    pub fn new(key: impl Into<String>, schema: Option<Schema>, value: Value) -> Self {
        Header {
            key: key.into(),
            schema,
            value,
        }
    }
}

/// Ordered headers; keys may repeat.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// Appends a header (never replaces: Kafka allows repeated keys).
    pub fn add(&mut self, key: impl Into<String>, schema: Option<Schema>, value: Value) -> &mut Self {
        self.0.push(Header::new(key, schema, value));
        self
    }

    /// Appends a STRING header.
    pub fn add_string(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.add(key, Some(Schema::STRING()), Value::String(value.into()))
    }

    /// Every header with this key, in order (`allWithName`).
    pub fn all_with_name<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.0.iter().filter(move |h| h.key == key)
    }

    /// The last header with this key (`lastWithName`).
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }

    /// Removes every header with this key (`remove`).
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.0.retain(|h| h.key != key);
        self
    }

    /// Keeps only the latest header of each key (`retainLatest`), in their original positions.
    pub fn retain_latest(&mut self) -> &mut Self {
        let mut keep = vec![false; self.0.len()];
        let mut seen = std::collections::HashSet::new();
        for (i, h) in self.0.iter().enumerate().rev() {
            keep[i] = seen.insert(h.key.clone());
        }
        let mut it = keep.into_iter();
        self.0.retain(|_| it.next().unwrap_or(false));
        self
    }

    /// All headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Headers {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Self {
        Headers(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_keep_order() {
        let mut h = Headers::new();
        h.add_string("a", "1").add_string("b", "2").add_string("a", "3");
        assert_eq!(h.len(), 3);
        let a: Vec<_> = h.all_with_name("a").map(|h| h.value.clone()).collect();
        assert_eq!(a, vec![Value::from("1"), Value::from("3")]);
        assert_eq!(h.last_with_name("a").unwrap().value, Value::from("3"));
        let mut latest = h.clone();
        latest.retain_latest();
        let keys: Vec<_> = latest.iter().map(|h| h.key.as_str()).collect();
        assert_eq!(keys, vec!["b", "a"]);
        h.remove("a");
        assert_eq!(h.len(), 1);
        assert!(h.last_with_name("a").is_none());
    }
}
