//! Reading the files `kaflow standalone` takes: the worker's `.properties` file, and connector
//! files as `.properties` or JSON (a flat map, or Connect's `CreateConnectorRequest`
//! `{"name": ..., "config": {...}}`), as connect-standalone accepts them.
//!
//! Every error names the file, and for JSON the line and column.

use super::properties_file;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A file that can't be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It can't be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Its content is malformed.
    #[error("{path}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        detail: String,
    },
}

/// A connector configuration read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorFile {
    /// The connector's name (`name`).
    pub name: String,
    /// Its configuration, `name` included.
    pub config: BTreeMap<String, String>,
    /// `initial_state` from a `CreateConnectorRequest` (KIP-980), if given.
    pub initial_state: Option<String>,
}

fn read(path: &Path) -> Result<String, FileError> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Unreadable {
        path: path.into(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| FileError::Malformed {
        path: path.into(),
        detail: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Reads a `.properties` file into a map (later keys win, as `java.util.Properties`).
pub fn load_properties(path: &Path) -> Result<BTreeMap<String, String>, FileError> {
    Ok(properties_file::parse(&read(path)?).into_iter().collect())
}

/// Reads a connector file: JSON when it starts with `{` (after whitespace), else properties.
pub fn load_connector(path: &Path) -> Result<ConnectorFile, FileError> {
    let text = read(path)?;
    let malformed = |detail: String| FileError::Malformed {
        path: path.into(),
        detail,
    };
    let (config, initial_state) = if text.trim_start().starts_with('{') {
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            malformed(format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let obj = doc
            .as_object()
            .ok_or_else(|| malformed("expected a JSON object".into()))?;
        match obj.get("config") {
            // CreateConnectorRequest: {"name": "...", "config": {...}, "initial_state": "..."}
            Some(serde_json::Value::Object(config)) => {
                let mut map = string_map(config).map_err(|d| malformed(format!("\"config\": {d}")))?;
                if let Some(name) = obj.get("name").and_then(|n| n.as_str()) {
                    map.entry("name".into()).or_insert_with(|| name.to_string());
                }
                let state = obj
                    .get("initial_state")
                    .and_then(|s| s.as_str())
                    .map(str::to_string);
                (map, state)
            }
            Some(_) => return Err(malformed("\"config\" must be a JSON object of strings".into())),
            None => (string_map(obj).map_err(malformed)?, None),
        }
    } else {
        (properties_file::parse(&text).into_iter().collect(), None)
    };
    let name = match config.get("name").map(|n| n.trim()) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            return Err(malformed(
                "Missing required configuration \"name\" which has no default value.".into(),
            ))
        }
    };
    Ok(ConnectorFile {
        name,
        config,
        initial_state,
    })
}

/// Config values are strings; numbers and booleans are accepted as their text (Jackson
/// coerces scalars the same way), null as absent, objects and arrays refused.
fn string_map(obj: &serde_json::Map<String, serde_json::Value>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Null => continue,
            _ => return Err(format!("the value of \"{k}\" must be a string, not {v}")),
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kaflow-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn properties_flat_json_and_create_request_forms() {
        let props = file(
            "a.properties",
            "name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\n",
        );
        let flat = file(
            "a.json",
            r#"{"name":"local-file-source","connector.class":"FileStreamSource","tasks.max":1}"#,
        );
        let req = file(
            "b.json",
            r#"{"name":"local-file-source","config":{"connector.class":"FileStreamSource","tasks.max":"1"},"initial_state":"PAUSED"}"#,
        );
        let a = load_connector(&props).unwrap();
        let b = load_connector(&flat).unwrap();
        let c = load_connector(&req).unwrap();
        assert_eq!(a.config, b.config);
        assert_eq!(a.config, c.config);
        assert_eq!(a.name, "local-file-source");
        assert_eq!(c.initial_state.as_deref(), Some("PAUSED"));
    }

    #[test]
    fn bad_files_name_the_file_and_the_place() {
        let e = load_connector(&file("bad.json", "{\n  \"name\": \"x\",\n  oops\n}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.json") && e.contains("line 3"), "{e}");
        let e = load_connector(&file("arr.json", r#"{"name":"x","topics":["a"]}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"topics\" must be a string"), "{e}");
        let e = load_connector(&file("noname.properties", "connector.class=X\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("noname.properties") && e.contains("\"name\""), "{e}");
        let e = load_properties(Path::new("/nonexistent/worker.properties"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read /nonexistent/worker.properties"), "{e}");
    }
}
