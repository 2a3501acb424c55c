//! A bounds check for response bodies, run before kafka-protocol decodes them (invariant I11).
//!
//! ```text
//!  frame body ──walk(shape, version)──▶ every array count, string/bytes length and tagged-field
//!                                       size fits in the bytes that are actually there?
//!        │ yes                                   │ no
//!        ▼                                       ▼
//!  kafka-protocol decode                 ShapeError naming the field ("responses[0].partitions
//!                                        claims 2147483647 elements, 7 bytes left")
//! ```
//!
//! Why: kafka-protocol 0.18 allocates `Vec::with_capacity(count)` straight from the count on
//! the wire, before reading any element. A hostile or corrupt 11-byte response that claims
//! 2^31 elements asks the allocator for tens of gigabytes, and a failed allocation aborts the
//! process: no error, no unwinding, every in-flight record lost. Kafka's own generated Java code
//! refuses any collection whose count exceeds the bytes remaining; this walk applies that rule
//! to every array, string, bytes and tagged field of the response — at the exact positions
//! kafka-protocol will read, because both follow Kafka's message specs — so by the time
//! kafka-protocol allocates, each count is bounded by the frame's size.
//!
//! The shapes ([`super::shapes`]) are generated from the specs Kafka ships in its clients jar
//! (tools/wire-shapes/gen.py), and a unit test checks them against kafka-protocol's own encoder
//! for every version kaflow can negotiate.

use std::fmt;

/// An inclusive version range; `V(1, 0)` is empty.
#[derive(Debug, Clone, Copy)]
pub struct V(pub i16, pub i16);

impl V {
    /// Whether `v` is in the range.
    pub fn has(self, v: i16) -> bool {
        self.0 <= v && v <= self.1
    }
}

/// A field's wire type.
#[derive(Debug)]
pub enum Ty {
    /// 1 byte.
    Bool,
    /// 1 byte.
    Int8,
    /// 2 bytes.
    Int16,
    /// 2 bytes.
    Uint16,
    /// 4 bytes.
    Int32,
    /// 4 bytes.
    Uint32,
    /// 8 bytes.
    Int64,
    /// 8 bytes.
    Float64,
    /// 16 bytes.
    Uuid,
    /// int16 length (compact: unsigned varint length + 1), then UTF-8.
    String,
    /// int32 length (compact: unsigned varint length + 1), then bytes.
    Bytes,
    /// Encoded like bytes.
    Records,
    /// A nested struct.
    Struct(&'static [Field]),
    /// int32 count (compact: unsigned varint count + 1), then the elements.
    Array(&'static Ty),
}

/// One field of a message or struct, as Kafka's spec declares it.
#[derive(Debug)]
pub struct Field {
    /// The spec's field name.
    pub name: &'static str,
    /// Its wire type.
    pub ty: Ty,
    /// The versions the field exists in.
    pub versions: V,
    /// The versions in which it may be null.
    pub nullable: V,
    /// The versions in which it is a tagged field (in the struct's tagged section).
    pub tagged: V,
    /// Its tag, when tagged.
    pub tag: u32,
    /// The versions in which its lengths are compact (usually the message's flexible versions).
    pub flexible: V,
}

/// The shape of one response message.
#[derive(Debug)]
pub struct Shape {
    /// The spec's message name.
    pub name: &'static str,
    /// The versions Kafka's spec defines.
    pub valid: V,
    /// The versions with compact encodings and tagged sections.
    pub flexible: V,
    /// The top-level fields.
    pub fields: &'static [Field],
}

/// Why a response body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// Where: a path such as `responses[0].partition_responses`.
    pub path: String,
    /// What was wrong.
    pub detail: String,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.detail)
    }
}

/// Walks `body` as `shape` at `version` and checks every length against the bytes left.
/// Trailing bytes after the message are allowed (kafka-protocol ignores them too).
pub fn check(shape: &Shape, version: i16, body: &[u8]) -> Result<(), ShapeError> {
    let mut w = Walk {
        buf: body,
        path: Vec::new(),
    };
    w.fields(shape.fields, version, shape.flexible.has(version))
}

/// Like [`check`], and also returns how many bytes the message used (for tests).
pub fn consumed(shape: &Shape, version: i16, body: &[u8]) -> Result<usize, ShapeError> {
    let mut w = Walk {
        buf: body,
        path: Vec::new(),
    };
    w.fields(shape.fields, version, shape.flexible.has(version))?;
    Ok(body.len() - w.buf.len())
}

struct Walk<'a> {
    buf: &'a [u8],
    /// Field names and array indexes down to where the walk is; formatted only on error.
    path: Vec<(&'static str, Option<usize>)>,
}

impl<'a> Walk<'a> {
    fn err(&self, detail: String) -> ShapeError {
        let path = if self.path.is_empty() {
            "<message>".to_string()
        } else {
            let parts: Vec<String> = self
                .path
                .iter()
                .map(|(name, i)| match i {
                    Some(i) => format!("{name}[{i}]"),
                    None => name.to_string(),
                })
                .collect();
            parts.join(".")
        };
        ShapeError { path, detail }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ShapeError> {
        if n > self.buf.len() {
            return Err(self.err(format!("{what} needs {n} bytes, {} left", self.buf.len())));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn int(&mut self, n: usize) -> Result<i64, ShapeError> {
        let b = self.take(n, "an integer")?;
        Ok(b.iter().fold(0i64, |acc, &x| (acc << 8) | i64::from(x)))
    }

    fn uvarint(&mut self) -> Result<u32, ShapeError> {
        let mut value = 0u32;
        for i in 0..5 {
            let b = self.take(1, "a varint")?[0];
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.err("varint longer than 5 bytes".into()))
    }

    /// A length or count: `None` for null. Compact forms carry `n + 1`, with 0 for null.
    fn length(&mut self, compact: bool, width: usize) -> Result<Option<usize>, ShapeError> {
        if compact {
            let n = self.uvarint()?;
            return Ok(n.checked_sub(1).map(|n| n as usize));
        }
        let n = self.int(width)?;
        // Sign-extend the big-endian int16/int32 just read.
        let n = if width == 2 {
            i64::from(n as u16 as i16)
        } else {
            i64::from(n as u32 as i32)
        };
        match n {
            -1 => Ok(None),
            n if n < 0 => Err(self.err(format!("negative length {n}"))),
            n => Ok(Some(n as usize)),
        }
    }

    fn fields(&mut self, fields: &'static [Field], version: i16, flexible: bool) -> Result<(), ShapeError> {
        for f in fields {
            if f.versions.has(version) && !f.tagged.has(version) {
                self.path.push((f.name, None));
                self.value(f, &f.ty, version)?;
                self.path.pop();
            }
        }
        if flexible {
            self.tagged_section(fields, version)?;
        }
        Ok(())
    }

    fn tagged_section(&mut self, fields: &'static [Field], version: i16) -> Result<(), ShapeError> {
        let count = self.uvarint()? as usize;
        if count > self.buf.len() {
            return Err(self.err(format!(
                "{count} tagged fields claimed, {} bytes left",
                self.buf.len()
            )));
        }
        for _ in 0..count {
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let content = self.take(size, "a tagged field")?;
            let known = fields
                .iter()
                .find(|f| f.tagged.has(version) && f.versions.has(version) && f.tag == tag);
            if let Some(f) = known {
                // kafka-protocol decodes a known tagged field from the stream, ignoring the
                // declared size; the walk stays in step with it only if the content is exactly
                // that size (as every honest encoder writes it).
                let outer = std::mem::replace(&mut self.buf, content);
                self.path.push((f.name, None));
                let r = self.value(f, &f.ty, version).and_then(|()| match self.buf.len() {
                    0 => Ok(()),
                    left => Err(self.err(format!("tagged field {tag} declares {size} bytes, {left} unused"))),
                });
                self.path.pop();
                self.buf = outer;
                r?;
            }
        }
        Ok(())
    }

    fn value(&mut self, f: &'static Field, ty: &'static Ty, version: i16) -> Result<(), ShapeError> {
        let compact = f.flexible.has(version);
        match ty {
            Ty::Bool | Ty::Int8 => self.take(1, "an int8").map(drop),
            Ty::Int16 | Ty::Uint16 => self.take(2, "an int16").map(drop),
            Ty::Int32 | Ty::Uint32 => self.take(4, "an int32").map(drop),
            Ty::Int64 | Ty::Float64 => self.take(8, "an int64").map(drop),
            Ty::Uuid => self.take(16, "a uuid").map(drop),
            Ty::String => match self.length(compact, 2)? {
                Some(n) => self.take(n, "a string").map(drop),
                None => Ok(()),
            },
            Ty::Bytes | Ty::Records => match self.length(compact, 4)? {
                Some(n) => self.take(n, "bytes").map(drop),
                None => Ok(()),
            },
            Ty::Struct(fields) => {
                // A nullable struct field (not an element of a nullable array) carries a
                // presence byte (-1 = null), as Kafka's generator writes it.
                let nullable = f.nullable.has(version) && matches!(f.ty, Ty::Struct(_));
                if nullable && self.int(1)? as u8 as i8 == -1 {
                    return Ok(());
                }
                self.fields(fields, version, compact)
            }
            Ty::Array(elem) => {
                let Some(n) = self.length(compact, 4)? else {
                    return Ok(());
                };
                // Kafka's rule: no collection larger than the bytes that could hold it.
                if n > self.buf.len() {
                    return Err(self.err(format!("claims {n} elements, {} bytes left", self.buf.len())));
                }
                let at = self.path.len() - 1;
                for i in 0..n {
                    self.path[at].1 = Some(i);
                    self.value(f, elem, version)?;
                }
                self.path[at].1 = None;
                Ok(())
            }
        }
    }
}
