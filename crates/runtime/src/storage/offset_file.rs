//! The standalone worker's offsets file (`offset.storage.file.filename`).
//!
//! Kafka Connect's `FileOffsetBackingStore` writes a Java-serialized `HashMap<byte[], byte[]>`,
//! which nothing but a JVM writes easily. kaflow reads such a file once (java_offsets.rs),
//! keeps it as `<file>.connect-backup`, and from then on keeps the same key and value bytes in
//! its own format:
//! one JSON document `{"format":"kaflow-offsets/1","offsets":[{"key":"…","value":"…"},…]}`,
//! with key and value the JSON texts Connect would write to its offsets topic.
//!
//! Crash safety (invariant I12's storage half): a flush writes a temporary file next to the
//! target, fsyncs it, renames it over the target and fsyncs the directory. A crash at any
//! point leaves either the old file or the new one, never a torn mix. A file that doesn't parse
//! is an error naming the file, never silently treated as empty (that would replay everything).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const FORMAT: &str = "kaflow-offsets/1";

/// Errors of the offsets file.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Reading or writing failed.
    #[error("offsets file {path}: {op}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file exists but isn't a kaflow offsets file.
    #[error("offsets file {path} is not a kaflow offsets file: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// The offsets of every source connector of a standalone worker, mirrored in a file.
#[derive(Debug)]
pub struct OffsetFile {
    path: PathBuf,
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl OffsetFile {
    /// Opens (or, if absent, starts) the offsets file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        let entries = match fs::read(&path) {
            Ok(bytes) if super::java_offsets::looks_java_serialized(&bytes) => {
                import_connect_file(&path, &bytes)?
            }
            Ok(bytes) => parse(&path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(source) => {
                return Err(StorageError::Io {
                    path,
                    op: "read",
                    source,
                })
            }
        };
        Ok(Self { path, entries })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored value for a key (Connect's offsets-topic key bytes).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Sets entries (a `None` value deletes, as a tombstone on the offsets topic) and writes the
    /// whole file crash-safely before returning. On error the in-memory state is unchanged.
    pub fn put_all(
        &mut self,
        batch: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), StorageError> {
        let mut next = self.entries.clone();
        for (k, v) in batch {
            match v {
                Some(v) => next.insert(k, v),
                None => next.remove(&k),
            };
        }
        write_atomically(&self.path, &render(&next))?;
        self.entries = next;
        Ok(())
    }
}

/// A Kafka Connect (Java-serialized) offsets file: read its entries, keep the original as
/// `<file>.connect-backup`, and rewrite the file in kaflow's format, so a worker moved from
/// connect-standalone resumes where it stopped.
fn import_connect_file(path: &Path, bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StorageError> {
    let entries =
        super::java_offsets::read_connect_offsets(bytes).map_err(|detail| StorageError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("looks like a Kafka Connect offsets file but can't be read: {detail}"),
        })?;
    // Null keys can't address anything and null values are deletions: neither is an offset.
    let map: BTreeMap<Vec<u8>, Vec<u8>> = entries.into_iter().filter_map(|(k, v)| Some((k?, v?))).collect();
    let mut backup_name = path.file_name().unwrap_or_default().to_os_string();
    backup_name.push(".connect-backup");
    let backup = path.with_file_name(backup_name);
    if !backup.exists() {
        write_atomically(&backup, bytes)?;
    }
    write_atomically(path, &render(&map))?;
    tracing::warn!(
        file = %path.display(),
        backup = %backup.display(),
        offsets = map.len(),
        "imported a Kafka Connect offsets file; the original is kept as the backup"
    );
    Ok(map)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StorageError> {
    let corrupt = |detail: String| StorageError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if doc.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(corrupt(format!(
            "missing \"format\":\"{FORMAT}\" (a Kafka Connect Java-serialized file can't be read)"
        )));
    }
    let list = doc
        .get("offsets")
        .and_then(|o| o.as_array())
        .ok_or_else(|| corrupt("no \"offsets\" array".into()))?;
    let mut out = BTreeMap::new();
    for (i, e) in list.iter().enumerate() {
        let field = |name: &str| {
            e.get(name)
                .and_then(|v| v.as_str())
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| corrupt(format!("offsets[{i}] has no string \"{name}\"")))
        };
        out.insert(field("key")?, field("value")?);
    }
    Ok(out)
}

fn render(entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let offsets: Vec<serde_json::Value> = entries
        .iter()
        .map(|(k, v)| {
            serde_json::json!({
                "key": String::from_utf8_lossy(k),
                "value": String::from_utf8_lossy(v),
            })
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&serde_json::json!({ "format": FORMAT, "offsets": offsets }))
        .expect("JSON values always serialize");
    out.push(b'\n');
    out
}

/// Write to `<file>.tmp`, fsync, rename over `<file>`, fsync the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StorageError> {
    let io = |op: &'static str| {
        move |source| StorageError::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io("create temporary file"))?;
    f.write_all(bytes).map_err(io("write"))?;
    f.sync_all().map_err(io("fsync"))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io("rename into place"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kaflow-offsets-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trips_and_deletes() {
        let path = tmpdir("rt").join("connect.offsets");
        let mut f = OffsetFile::open(&path).unwrap();
        assert_eq!(f.entries().count(), 0);
        let key = br#"["file-source",{"filename":"/tmp/in.txt"}]"#.to_vec();
        f.put_all([(key.clone(), Some(br#"{"position":42}"#.to_vec()))])
            .unwrap();
        let g = OffsetFile::open(&path).unwrap();
        assert_eq!(g.get(&key), Some(&br#"{"position":42}"#[..]));
        let mut g = g;
        g.put_all([(key.clone(), None)]).unwrap();
        assert_eq!(OffsetFile::open(&path).unwrap().get(&key), None);
        assert!(!path.with_file_name("connect.offsets.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it_not_an_empty_store() {
        let path = tmpdir("corrupt").join("connect.offsets");
        fs::write(&path, b"\xac\xed\x00\x05sr\x00\x11java.util.HashMap").unwrap();
        let e = OffsetFile::open(&path).unwrap_err().to_string();
        assert!(
            e.contains("connect.offsets") && e.contains("not a kaflow offsets file"),
            "{e}"
        );
        fs::write(&path, br#"{"format":"kaflow-offsets/1","offsets":[{"key":"k"}]}"#).unwrap();
        let e = OffsetFile::open(&path).unwrap_err().to_string();
        assert!(e.contains("offsets[0] has no string \"value\""), "{e}");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_memory() {
        let dir = tmpdir("fail");
        let path = dir.join("connect.offsets");
        let mut f = OffsetFile::open(&path).unwrap();
        f.put_all([(b"k".to_vec(), Some(b"1".to_vec()))]).unwrap();
        // A directory where the temporary file must go makes the write fail.
        fs::create_dir_all(dir.join("connect.offsets.tmp")).unwrap();
        let e = f
            .put_all([(b"k".to_vec(), Some(b"2".to_vec()))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("create temporary file"), "{e}");
        assert_eq!(f.get(b"k"), Some(&b"1"[..]));
        assert_eq!(OffsetFile::open(&path).unwrap().get(b"k"), Some(&b"1"[..]));
    }
}
