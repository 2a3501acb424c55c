//! The JSON of internal-topic values, as Connect writes them: a Connect `Struct` through the
//! schemaless JsonConverter, i.e. a compact object whose keys follow the schema's field order
//! (optional fields written as `null`), with Jackson's string escapes. Built and read with the
//! converter's Jackson-compatible [`Node`], so bytes match Connect's.

use crate::convert::json::node::Node;
use bytes::Bytes;
use std::collections::BTreeMap;

/// Why an internal-topic value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not JSON at all.
    #[error("value is not JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("value is {0}, not a JSON object")]
    NotAnObject(&'static str),
    /// A field is missing or null where Connect always writes one.
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    /// A field has the wrong JSON type.
    #[error("field `{field}` should be {expected} but is {found}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What Connect writes there.
        expected: &'static str,
        /// What the record has (Jackson's node type).
        found: &'static str,
    },
    /// A field has a value outside what Connect writes.
    #[error("field `{field}` has invalid value {value:?}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The value found.
        value: String,
    },
}

/// An object under construction, fields in order.
#[derive(Debug, Default)]
pub(crate) struct Obj(Vec<(String, Node)>);

impl Obj {
    pub(crate) fn str(mut self, k: &str, v: &str) -> Self {
        self.0.push((k.to_string(), Node::String(v.to_string())));
        self
    }

    pub(crate) fn opt_str(mut self, k: &str, v: Option<&str>) -> Self {
        self.0.push((
            k.to_string(),
            v.map_or(Node::Null, |v| Node::String(v.to_string())),
        ));
        self
    }

    pub(crate) fn num(mut self, k: &str, v: i64) -> Self {
        self.0.push((k.to_string(), Node::Number(v.to_string())));
        self
    }

    pub(crate) fn bool(mut self, k: &str, v: bool) -> Self {
        self.0.push((k.to_string(), Node::Bool(v)));
        self
    }

    pub(crate) fn node(mut self, k: &str, v: Node) -> Self {
        self.0.push((k.to_string(), v));
        self
    }

    pub(crate) fn into_node(self) -> Node {
        Node::Object(self.0)
    }

    pub(crate) fn bytes(self) -> Bytes {
        Bytes::from(self.into_node().to_json())
    }
}

/// A string map as a JSON object (Connect's `properties`).
pub(crate) fn string_map(m: &BTreeMap<String, String>) -> Node {
    Node::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Node::String(v.clone())))
            .collect(),
    )
}

/// A parsed object value, with typed field access.
#[derive(Debug)]
pub(crate) struct Fields(Node);

impl Fields {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ValueError> {
        let n = Node::parse(bytes).map_err(|e| ValueError::Json(e.to_string()))?;
        match n {
            Node::Object(_) => Ok(Self(n)),
            other => Err(ValueError::NotAnObject(other.node_type())),
        }
    }

    /// The field, `None` when missing or null.
    pub(crate) fn get(&self, k: &str) -> Option<&Node> {
        self.0.get(k).filter(|n| !matches!(n, Node::Null))
    }

    pub(crate) fn str(&self, k: &'static str) -> Result<&str, ValueError> {
        self.opt_str(k)?.ok_or(ValueError::Missing(k))
    }

    pub(crate) fn opt_str(&self, k: &'static str) -> Result<Option<&str>, ValueError> {
        match self.get(k) {
            None => Ok(None),
            Some(Node::String(s)) => Ok(Some(s)),
            Some(n) => Err(wrong(k, "a string", n)),
        }
    }

    /// An integral number (Connect accepts an Integer or a Long).
    pub(crate) fn int(&self, k: &'static str) -> Result<i64, ValueError> {
        match self.get(k) {
            None => Err(ValueError::Missing(k)),
            Some(n @ Node::Number(t)) => {
                t.parse::<i64>()
                    .ok()
                    .filter(|_| n.is_integral())
                    .ok_or_else(|| ValueError::Invalid {
                        field: k,
                        value: t.clone(),
                    })
            }
            Some(n) => Err(wrong(k, "a number", n)),
        }
    }

    /// A boolean, `None` when missing or not a boolean (Connect then uses the default).
    pub(crate) fn lenient_bool(&self, k: &str) -> Option<bool> {
        match self.get(k) {
            Some(Node::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// A string-to-string object.
    pub(crate) fn string_map(&self, k: &'static str) -> Result<BTreeMap<String, String>, ValueError> {
        match self.get(k) {
            None => Err(ValueError::Missing(k)),
            Some(Node::Object(m)) => m
                .iter()
                .map(|(mk, v)| match v {
                    Node::String(s) => Ok((mk.clone(), s.clone())),
                    n => Err(wrong(k, "a map of strings", n)),
                })
                .collect(),
            Some(n) => Err(wrong(k, "a map", n)),
        }
    }

    /// A nested object.
    pub(crate) fn object(&self, k: &'static str) -> Result<Fields, ValueError> {
        match self.get(k) {
            None => Err(ValueError::Missing(k)),
            Some(n @ Node::Object(_)) => Ok(Fields(n.clone())),
            Some(n) => Err(wrong(k, "an object", n)),
        }
    }
}

fn wrong(field: &'static str, expected: &'static str, n: &Node) -> ValueError {
    ValueError::WrongType {
        field,
        expected,
        found: n.node_type(),
    }
}
