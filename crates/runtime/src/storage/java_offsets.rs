//! Reads Kafka Connect's standalone offsets file: a Java-serialized `HashMap<byte[], byte[]>`
//! (`FileOffsetBackingStore.save`), so a worker moving from connect-standalone to kaflow keeps
//! its source offsets.
//!
//! Only the part of the Java serialization grammar such a file uses is read (Java Object
//! Serialization Specification §6.4): the stream header, one `java.util.HashMap` object with its
//! default fields (`loadFactor`, `threshold`), the block of `capacity` and `size` its
//! `writeObject` adds, then `size` key/value pairs, each a `byte[]` or null. Anything else is an
//! error that says what was found where; nothing here trusts a length before checking it
//! against the bytes left.

const MAGIC: [u8; 4] = [0xac, 0xed, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const BASE_HANDLE: i32 = 0x7e_0000;

/// Whether `bytes` start like a Java serialization stream.
pub fn looks_java_serialized(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// One stream handle: what the stream may refer back to.
#[derive(Clone)]
enum Handle {
    Class(String),
    Array(Vec<u8>),
    Other,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    handles: Vec<Handle>,
}

/// A key/value pair of the file (either side may be null).
pub type Entry = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Parses the file's bytes into its entries.
pub fn read_connect_offsets(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    if !looks_java_serialized(bytes) {
        return Err("no Java serialization header (0xACED0005)".into());
    }
    let mut r = Reader {
        buf: bytes,
        pos: 4,
        handles: Vec::new(),
    };
    if r.u8()? != TC_OBJECT {
        return Err(r.at("expected an object"));
    }
    let class = r.class_desc()?;
    if class.0 != "java.util.HashMap" {
        return Err(r.at(&format!("expected java.util.HashMap, found {}", class.0)));
    }
    r.handles.push(Handle::Other);
    // HashMap's serializable fields, in descriptor order (primitives only for HashMap).
    for code in class.1 {
        r.skip(
            primitive_size(code).ok_or_else(|| r.at(&format!("unexpected field type {}", code as char)))?,
        )?;
    }
    if r.u8()? != TC_BLOCKDATA {
        return Err(r.at("expected HashMap's capacity/size block"));
    }
    let len = r.u8()? as usize;
    if len != 8 {
        return Err(r.at(&format!("HashMap block of {len} bytes, expected 8")));
    }
    let _capacity = r.i32()?;
    let size = r.i32()?;
    if size < 0 || size as usize > r.buf.len() {
        return Err(r.at(&format!(
            "HashMap size {size} impossible in {} bytes",
            r.buf.len()
        )));
    }
    let mut out = Vec::with_capacity(size as usize);
    for _ in 0..size {
        let k = r.byte_array()?;
        let v = r.byte_array()?;
        out.push((k, v));
    }
    if r.u8()? != TC_ENDBLOCKDATA {
        return Err(r.at("expected the end of HashMap's data"));
    }
    Ok(out)
}

fn primitive_size(code: u8) -> Option<usize> {
    Some(match code {
        b'B' | b'Z' => 1,
        b'C' | b'S' => 2,
        b'I' | b'F' => 4,
        b'J' | b'D' => 8,
        _ => return None,
    })
}

impl Reader<'_> {
    fn at(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.buf.len() - self.pos < n {
            return Err(self.at(&format!("needs {n} bytes, {} left", self.buf.len() - self.pos)));
        }
        self.pos += n;
        Ok(&self.buf[self.pos - n..self.pos])
    }

    fn skip(&mut self, n: usize) -> Result<(), String> {
        self.take(n).map(drop)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self) -> Result<String, String> {
        let b = self.take(2)?;
        let n = u16::from_be_bytes([b[0], b[1]]) as usize;
        // Modified UTF-8; class and field names here are ASCII.
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    fn handle(&mut self) -> Result<Handle, String> {
        let h = self.i32()?;
        let i = h.checked_sub(BASE_HANDLE).filter(|i| *i >= 0).map(|i| i as usize);
        i.and_then(|i| self.handles.get(i).cloned())
            .ok_or_else(|| self.at(&format!("unknown handle {h:#x}")))
    }

    /// A class descriptor: its name and its primitive field type codes.
    fn class_desc(&mut self) -> Result<(String, Vec<u8>), String> {
        match self.u8()? {
            TC_CLASSDESC => {
                let name = self.utf()?;
                self.skip(8)?; // serialVersionUID
                self.handles.push(Handle::Class(name.clone()));
                self.skip(1)?; // flags
                let n = {
                    let b = self.take(2)?;
                    u16::from_be_bytes([b[0], b[1]])
                };
                let mut codes = Vec::new();
                for _ in 0..n {
                    let code = self.u8()?;
                    self.utf()?;
                    if code == b'L' || code == b'[' {
                        // The field's class name: a string, or a reference to one.
                        match self.u8()? {
                            TC_STRING => {
                                self.utf()?;
                                self.handles.push(Handle::Other);
                            }
                            TC_REFERENCE => {
                                self.handle()?;
                            }
                            t => return Err(self.at(&format!("unexpected tag {t:#x} for a field type"))),
                        }
                    }
                    codes.push(code);
                }
                if self.u8()? != TC_ENDBLOCKDATA {
                    return Err(self.at("class annotations are not supported"));
                }
                match self.u8()? {
                    TC_NULL => {}
                    _ => return Err(self.at("superclass descriptors are not supported")),
                }
                Ok((name, codes))
            }
            TC_REFERENCE => match self.handle()? {
                Handle::Class(name) => Ok((name, Vec::new())),
                _ => Err(self.at("reference to a non-class where a class was expected")),
            },
            t => Err(self.at(&format!("unexpected tag {t:#x} for a class descriptor"))),
        }
    }

    fn byte_array(&mut self) -> Result<Option<Vec<u8>>, String> {
        match self.u8()? {
            TC_NULL => Ok(None),
            TC_REFERENCE => match self.handle()? {
                Handle::Array(a) => Ok(Some(a)),
                _ => Err(self.at("reference to a non-array where byte[] was expected")),
            },
            TC_ARRAY => {
                let (class, _) = self.class_desc()?;
                if class != "[B" {
                    return Err(self.at(&format!("expected byte[], found {class}")));
                }
                let slot = self.handles.len();
                self.handles.push(Handle::Other);
                let n = self.i32()?;
                if n < 0 {
                    return Err(self.at(&format!("negative array length {n}")));
                }
                let a = self.take(n as usize)?.to_vec();
                self.handles[slot] = Handle::Array(a.clone());
                Ok(Some(a))
            }
            t => Err(self.at(&format!("unexpected tag {t:#x} where byte[] was expected"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_lengths_are_errors() {
        assert!(read_connect_offsets(b"not java").unwrap_err().contains("header"));
        // Header, TC_OBJECT, then a class name claiming 65535 bytes.
        let e =
            read_connect_offsets(&[0xac, 0xed, 0, 5, TC_OBJECT, TC_CLASSDESC, 0xff, 0xff, b'j']).unwrap_err();
        assert!(e.contains("needs 65535 bytes"), "{e}");
        let e =
            read_connect_offsets(&[0xac, 0xed, 0, 5, TC_OBJECT, TC_REFERENCE, 0, 0x7e, 0, 9]).unwrap_err();
        assert!(e.contains("unknown handle"), "{e}");
    }
}
