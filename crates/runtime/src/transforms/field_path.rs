//! KIP-821 nested field paths (`field/FieldSyntaxVersion`, `field/SingleFieldPath`):
//! `field.syntax.version=V1` reads the config as one top-level field name (the default, as
//! before 3.8); `V2` splits it on dots, with backticks quoting a step that contains dots.
//!
//! ```text
//!  V1  "a.b"          ──▶ ["a.b"]
//!  V2  "a.b"          ──▶ ["a", "b"]
//!  V2  "`a.b`.c"      ──▶ ["a.b", "c"]       (a backtick followed by a dot closes a step)
//!  V2  "`a\`.b`"      ──▶ ["a`.b"]           (\` before a dot is an escaped backtick)
//! ```

use crate::config::{ConfigKey, ConfigType, Importance, Validator};
use crate::data::{Field, Schema, Struct, Value};

use super::util::{map_get, require_map_or_null, require_struct_or_null};
use super::TransformError;

/// `field.syntax.version`.
pub const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

/// The `field.syntax.version` key: V1 (default) or V2, case-insensitive.
pub fn field_syntax_version_key() -> ConfigKey {
    ConfigKey::new(
        FIELD_SYNTAX_VERSION,
        ConfigType::String,
        Some("V1"),
        Importance::High,
        "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to \
         access the elements at the root level of the struct or map. If set to `V2`, the syntax will support \
         accessing nested elements. To access nested elements, dotted notation is used. If dots are already \
         included in the field name, then backtick pairs can be used to wrap field names containing dots.",
    )
    .validate(Validator::OneOfIgnoreCase(&["V1", "V2"]))
}

/// A parsed path: one or more steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleFieldPath {
    steps: Vec<String>,
}

impl SingleFieldPath {
    /// Parses `path` under `version` ("V1"/"V2", any case).
    pub fn new(path: &str, version: &str) -> Result<Self, TransformError> {
        if version.eq_ignore_ascii_case("V1") {
            return Ok(SingleFieldPath {
                steps: vec![path.to_owned()],
            });
        }
        Ok(SingleFieldPath {
            steps: parse_v2(path)?,
        })
    }

    /// The steps.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// `fieldFrom(schema)`: the field at the path, if every step exists.
    pub fn field_from<'a>(&self, schema: &'a Schema) -> Option<&'a Field> {
        let (last, init) = self.steps.split_last()?;
        let mut cur = schema;
        for step in init {
            cur = cur.field(step)?.schema();
        }
        cur.field(last)
    }

    /// `valueFrom(struct)`: null when a step is missing or a parent is null.
    pub fn value_from_struct(
        &self,
        s: &Struct,
        replace_null_with_default: bool,
    ) -> Result<Value, TransformError> {
        let (last, init) = self.steps.split_last().expect("a path has a step");
        let mut cur = s.clone();
        for step in init {
            let Some(f) = cur.schema().field(step) else {
                return Ok(Value::Null);
            };
            let v = cur.get_by_index(f.index()).clone();
            match require_struct_or_null(v, "nested field access")? {
                Some(next) => cur = next,
                None => return Ok(Value::Null),
            }
        }
        Ok(match cur.schema().field(last) {
            Some(f) => super::util::field_value(&cur, f.index(), replace_null_with_default),
            None => Value::Null,
        })
    }

    /// `valueFrom(map)`: null when a step is missing or a parent is null.
    pub fn value_from_map(&self, map: &[(Value, Value)]) -> Result<Value, TransformError> {
        let (last, init) = self.steps.split_last().expect("a path has a step");
        let mut cur: Vec<(Value, Value)> = map.to_vec();
        for step in init {
            let v = map_get(&cur, step).cloned().unwrap_or(Value::Null);
            match require_map_or_null(v, "nested field access")? {
                Some(next) => cur = next,
                None => return Ok(Value::Null),
            }
        }
        Ok(map_get(&cur, last).cloned().unwrap_or(Value::Null))
    }
}

fn incomplete(path: &str, at: usize) -> TransformError {
    TransformError::InvalidConfig(format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
    ))
}

fn parse_v2(path: &str) -> Result<Vec<String>, TransformError> {
    let p: Vec<char> = path.chars().collect();
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < p.len() {
        if p[idx] != '`' {
            let start = idx;
            match p[idx..].iter().position(|c| *c == '.') {
                Some(off) => {
                    steps.push(p[start..idx + off].iter().collect());
                    idx += off + 1;
                }
                None => {
                    steps.push(p[start..].iter().collect());
                    idx = p.len();
                }
            }
        } else {
            let backtick_at = idx;
            idx += 1;
            let mut field = String::new();
            let mut start = idx;
            loop {
                let Some(off) = p[idx..].iter().position(|c| *c == '`') else {
                    return Err(incomplete(path, backtick_at));
                };
                idx += off;
                let escaped = p[idx - 1] == '\\';
                if idx >= p.len() - 1 {
                    if escaped {
                        return Err(incomplete(path, backtick_at));
                    }
                    field.extend(&p[start..idx]);
                    steps.push(field);
                    idx += 1;
                    break;
                }
                if p[idx + 1] != '.' {
                    idx += 1;
                    continue;
                }
                if escaped {
                    field.extend(&p[start..idx - 1]);
                    field.push('`');
                    idx += 1;
                    start = idx;
                    continue;
                }
                field.extend(&p[start..idx]);
                steps.push(field);
                idx += 2;
                break;
            }
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(p: &str) -> Vec<String> {
        SingleFieldPath::new(p, "V2").unwrap().steps().to_vec()
    }

    #[test]
    fn v2_paths_as_kip_821_defines_them() {
        assert_eq!(v2("foo"), ["foo"]);
        assert_eq!(v2("foo.bar"), ["foo", "bar"]);
        assert_eq!(v2("`foo.bar`.baz"), ["foo.bar", "baz"]);
        assert_eq!(v2("foo.`bar.baz`"), ["foo", "bar.baz"]);
        assert_eq!(v2("`foo\\`.bar`"), ["foo`.bar"]);
        assert_eq!(v2("foo."), ["foo", ""]);
        assert_eq!(v2("`foo`bar`.baz"), ["foo`bar", "baz"]);
        assert_eq!(SingleFieldPath::new("a.b", "v1").unwrap().steps(), ["a.b"]);
        let e = SingleFieldPath::new("`foo.bar", "V2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Incomplete backtick pair in path: [`foo.bar], consider adding a backslash before backtick at position 0 to escape it"
        );
    }
}
