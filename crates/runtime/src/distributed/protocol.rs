//! Connect's worker group protocol bytes: the member metadata a worker sends in JoinGroup and
//! the assignment the leader hands out in SyncGroup, exactly as Kafka Connect 4.x writes them
//! (`ConnectProtocol` for the `default` sub-protocol, `IncrementalCooperativeConnectProtocol`
//! for `compatible` and `sessioned`).
//!
//! ```text
//!  metadata   v0: i16 version | str url | i64 config-offset
//!          v1/v2: i16 version | str url | i64 config-offset | nullable-bytes allocation
//!                 (allocation = this worker's current assignment, a whole v1/v2 assignment
//!                  blob with its own version header; null when it holds nothing)
//!  assignment v0: i16 version | i16 error | str leader | str leader-url | i64 config-offset
//!                 | [connector-assignment]
//!          v1/v2: ... same ... | nullable [connector-assignment] assigned
//!                 | nullable [connector-assignment] revoked | i32 delay
//!  connector-assignment = str connector | [i32 task]    (task -1: the connector itself)
//!  str = i16 length + UTF-8; [x] = i32 count + items (-1: null where nullable)
//! ```
//!
//! Reading follows Java's `Schema.read` with `TOLERATE_MISSING_FIELDS_WITH_DEFAULTS`: trailing
//! fields that have defaults (allocation, assigned, revoked, delay) may be absent altogether, a
//! field cut in the middle is an error, bytes after the last field are ignored (a newer worker
//! may append fields). One reader serves every version, as Java's `WorkerCoordinator` decodes
//! every assignment with the v1 reader.
//!
//! Entry order: Java groups an assignment by connector in a `LinkedHashMap`: first the assigned
//! connector instances (task -1; Java iterates a `HashSet` there, so their order is its hash
//! order), then each task appended to its connector's entry in the order given. We keep the
//! order the caller gives for both, so equal inputs in Java's iteration order give equal bytes;
//! the order carries no meaning to any reader.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;

/// The group protocol type of Connect workers.
pub const PROTOCOL_TYPE: &str = "connect";

/// The task id Connect uses on the wire for a connector instance itself.
pub const CONNECTOR_TASK: i32 = -1;

/// `error` of an assignment: none.
pub const NO_ERROR: i16 = 0;
/// `error` of an assignment: the leader was behind the other workers on the config topic and
/// could not catch up; every worker reads to the end and rejoins.
pub const CONFIG_MISMATCH: i16 = 1;

/// `connect.protocol`: which sub-protocols a worker offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConnectProtocolMode {
    /// `eager`: wire name `default`, metadata v0; every rebalance stops everything.
    Eager,
    /// `compatible`: incremental cooperative rebalancing (KIP-415), v1.
    Compatible,
    /// `sessioned`: v1 plus signed internal requests (KIP-507), v2. Connect's default.
    Sessioned,
}

impl ConnectProtocolMode {
    /// Every mode, oldest first.
    pub const ALL: [Self; 3] = [Self::Eager, Self::Compatible, Self::Sessioned];

    /// The `connect.protocol` value (`eager`, `compatible`, `sessioned`), case-insensitive as
    /// Java's `ConnectProtocolCompatibility.compatibility` reads it.
    pub fn from_config(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.config_name().eq_ignore_ascii_case(value.trim()))
    }

    /// The sub-protocol name the coordinator chose (`default`, `compatible`, `sessioned`).
    pub fn from_protocol(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.protocol_name() == name)
    }

    /// The `connect.protocol` spelling.
    pub fn config_name(self) -> &'static str {
        match self {
            Self::Eager => "eager",
            Self::Compatible => "compatible",
            Self::Sessioned => "sessioned",
        }
    }

    /// The sub-protocol name in JoinGroup.
    pub fn protocol_name(self) -> &'static str {
        match self {
            Self::Eager => "default",
            Self::Compatible => "compatible",
            Self::Sessioned => "sessioned",
        }
    }

    /// The metadata and assignment version this mode writes.
    pub fn version(self) -> i16 {
        match self {
            Self::Eager => 0,
            Self::Compatible => 1,
            Self::Sessioned => 2,
        }
    }

    /// Whether rebalances are incremental and cooperative (every mode but `eager`).
    pub fn is_cooperative(self) -> bool {
        self != Self::Eager
    }

    /// The sub-protocols a worker in this mode offers, most preferred first (Java's
    /// `metadataRequest`: sessioned offers all three, compatible two, eager only `default`).
    pub fn offered(self) -> &'static [Self] {
        match self {
            Self::Eager => &[Self::Eager],
            Self::Compatible => &[Self::Compatible, Self::Eager],
            Self::Sessioned => &[Self::Sessioned, Self::Compatible, Self::Eager],
        }
    }
}

impl fmt::Display for ConnectProtocolMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.config_name())
    }
}

/// One task of a connector (Java's `ConnectorTaskId`), shown as `name-N` like Connect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// The connector's name.
    pub connector: String,
    /// The task number, from 0.
    pub task: i32,
}

impl TaskId {
    /// Task `task` of `connector`.
    pub fn new(connector: impl Into<String>, task: i32) -> Self {
        Self {
            connector: connector.into(),
            task,
        }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// A worker's JoinGroup metadata (Java's `WorkerState` / `ExtendedWorkerState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerMetadata {
    /// The version in the header (0 default, 1 compatible, 2 sessioned).
    pub version: i16,
    /// This worker's advertised REST URL.
    pub url: String,
    /// How far this worker has read the config topic.
    pub config_offset: i64,
    /// What the worker runs now (v1/v2; `None`: nothing, or a v0 member).
    pub allocation: Option<ConnectAssignment>,
}

/// An assignment (Java's `Assignment` / `ExtendedAssignment`). Under the cooperative
/// protocols `connectors` and `tasks` are what the leader *adds* this round; the worker keeps
/// what it had minus `revoked_*`. Under `default` (eager) they are the whole assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectAssignment {
    /// The version in the header (0, 1 or 2).
    pub version: i16,
    /// [`NO_ERROR`] or [`CONFIG_MISMATCH`].
    pub error: i16,
    /// The leader's member id.
    pub leader: String,
    /// The leader's REST URL (where writes are forwarded).
    pub leader_url: String,
    /// The config-topic offset the assignment was computed at.
    pub config_offset: i64,
    /// Connector instances assigned.
    pub connectors: Vec<String>,
    /// Tasks assigned.
    pub tasks: Vec<TaskId>,
    /// Connector instances to stop (v1/v2).
    pub revoked_connectors: Vec<String>,
    /// Tasks to stop (v1/v2).
    pub revoked_tasks: Vec<TaskId>,
    /// Milliseconds until the leader plans the next rebalance (v1/v2, KIP-415); 0: none.
    pub delay_ms: i32,
}

impl ConnectAssignment {
    /// Whether the leader reported an error instead of an assignment.
    pub fn failed(&self) -> bool {
        self.error != NO_ERROR
    }

    /// Whether nothing is assigned or revoked.
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty()
            && self.tasks.is_empty()
            && self.revoked_connectors.is_empty()
            && self.revoked_tasks.is_empty()
    }
}

/// Which structure a decode error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// JoinGroup member metadata.
    Metadata,
    /// A SyncGroup assignment, or the allocation inside member metadata.
    Assignment,
}

impl fmt::Display for Structure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Metadata => "worker metadata",
            Self::Assignment => "assignment",
        })
    }
}

/// What was wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The bytes end inside the field (or before a field with no default).
    #[error("needs {needed} more bytes, {left} left")]
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        left: usize,
    },
    /// A negative version (Java: "Unsupported subscription version").
    #[error("unsupported version {0}")]
    NegativeVersion(i16),
    /// A negative length for a non-nullable string or array, or below -1 for a nullable one.
    #[error("invalid length {0}")]
    InvalidLength(i64),
    /// An array claims more elements than its remaining bytes could hold.
    #[error("count {count} cannot fit in the {left} bytes left")]
    CountTooLarge {
        /// The count claimed.
        count: i32,
        /// Bytes that were left.
        left: usize,
    },
    /// A string is not UTF-8.
    #[error("not valid UTF-8")]
    Utf8,
    /// The allocation blob inside the metadata is itself invalid.
    #[error("{0}")]
    Allocation(Box<DecodeError>),
}

/// Member metadata or an assignment could not be read: which structure, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Connect {structure}: field `{field}`: {problem}")]
pub struct DecodeError {
    /// Metadata or assignment.
    pub structure: Structure,
    /// The field being read (Java's field name: `version`, `url`, `config-offset`, ...).
    pub field: &'static str,
    /// Why.
    pub problem: Problem,
}

// ---- writing ----

fn put_str(buf: &mut BytesMut, s: &str) {
    // Java's STRING fails above i16::MAX bytes; connector names and URLs are far shorter,
    // and a longer one is cut at a character boundary rather than written with a wrapped length.
    let mut end = s.len().min(i16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    buf.put_i16(end as i16);
    buf.put_slice(&s.as_bytes()[..end]);
}

/// Java's `asMap`/`revokedAsMap`: connectors first (each with task -1), then every task appended
/// to its connector's entry; entries in first-seen order, connectors de-duplicated.
fn grouped<'a>(connectors: &'a [String], tasks: &'a [TaskId]) -> Vec<(&'a str, Vec<i32>)> {
    fn entry<'a>(out: &mut Vec<(&'a str, Vec<i32>)>, name: &'a str) -> usize {
        match out.iter().position(|(c, _)| *c == name) {
            Some(i) => i,
            None => {
                out.push((name, Vec::new()));
                out.len() - 1
            }
        }
    }
    let mut out: Vec<(&str, Vec<i32>)> = Vec::new();
    let mut seen_connector: Vec<&str> = Vec::with_capacity(connectors.len());
    for c in connectors {
        if seen_connector.contains(&c.as_str()) {
            continue;
        }
        seen_connector.push(c.as_str());
        let i = entry(&mut out, c);
        out[i].1.push(CONNECTOR_TASK);
    }
    for t in tasks {
        let i = entry(&mut out, &t.connector);
        out[i].1.push(t.task);
    }
    out
}

fn put_connector_assignments(buf: &mut BytesMut, entries: &[(&str, Vec<i32>)]) {
    buf.put_i32(entries.len() as i32);
    for (connector, tasks) in entries {
        put_str(buf, connector);
        buf.put_i32(tasks.len() as i32);
        for t in tasks {
            buf.put_i32(*t);
        }
    }
}

impl ConnectAssignment {
    /// The bytes Java writes for this assignment at `self.version`: v0 as
    /// `ConnectProtocol.serializeAssignment`, v1/v2 as
    /// `IncrementalCooperativeConnectProtocol.serializeAssignment`.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(64);
        self.encode_into(&mut buf);
        buf.freeze()
    }

    fn encode_into(&self, buf: &mut BytesMut) {
        buf.put_i16(self.version);
        buf.put_i16(self.error);
        put_str(buf, &self.leader);
        put_str(buf, &self.leader_url);
        buf.put_i64(self.config_offset);
        put_connector_assignments(buf, &grouped(&self.connectors, &self.tasks));
        if self.version >= 1 {
            put_connector_assignments(buf, &grouped(&self.revoked_connectors, &self.revoked_tasks));
            buf.put_i32(self.delay_ms);
        }
    }

    /// Reads an assignment (any version; see the module doc for what is tolerated).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, Structure::Assignment);
        let version = r.version()?;
        let error = r.i16("error")?;
        let leader = r.string("leader")?;
        let leader_url = r.string("leader-url")?;
        let config_offset = r.i64("config-offset")?;
        let (connectors, tasks) = r.connector_assignments("assignment")?;
        let (revoked_connectors, revoked_tasks) = r.connector_assignments("revoked")?;
        let delay_ms = if r.is_empty() { 0 } else { r.i32("delay")? };
        Ok(Self {
            version,
            error,
            leader,
            leader_url,
            config_offset,
            connectors,
            tasks,
            revoked_connectors,
            revoked_tasks,
            delay_ms,
        })
    }
}

impl WorkerMetadata {
    /// Metadata for `mode`: `url`, `config_offset` and (v1/v2) the current `allocation`, which is
    /// written with the metadata's own version header as Java does.
    pub fn new(
        mode: ConnectProtocolMode,
        url: &str,
        config_offset: i64,
        allocation: Option<&ConnectAssignment>,
    ) -> Self {
        let version = mode.version();
        Self {
            version,
            url: url.to_string(),
            config_offset,
            allocation: allocation
                .filter(|_| version >= 1)
                .map(|a| ConnectAssignment { version, ..a.clone() }),
        }
    }

    /// The bytes Java writes: v0 as `ConnectProtocol.serializeMetadata`, v1/v2 as
    /// `IncrementalCooperativeConnectProtocol.serializeMetadata`.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(64);
        buf.put_i16(self.version);
        put_str(&mut buf, &self.url);
        buf.put_i64(self.config_offset);
        if self.version >= 1 {
            match &self.allocation {
                None => buf.put_i32(-1),
                Some(a) => {
                    let blob = a.encode();
                    buf.put_i32(blob.len() as i32);
                    buf.put_slice(&blob);
                }
            }
        }
        buf.freeze()
    }

    /// Reads a member's metadata (any version).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, Structure::Metadata);
        let version = r.version()?;
        let url = r.string("url")?;
        let config_offset = r.i64("config-offset")?;
        let allocation = match r.nullable_bytes("allocation")? {
            None => None,
            Some(blob) => Some(ConnectAssignment::decode(blob).map_err(|e| DecodeError {
                structure: Structure::Metadata,
                field: "allocation",
                problem: Problem::Allocation(Box::new(e)),
            })?),
        };
        Ok(Self {
            version,
            url,
            config_offset,
            allocation,
        })
    }
}

// ---- reading ----

struct Reader<'a> {
    buf: &'a [u8],
    structure: Structure,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], structure: Structure) -> Self {
        Self { buf, structure }
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn err(&self, field: &'static str, problem: Problem) -> DecodeError {
        DecodeError {
            structure: self.structure,
            field,
            problem,
        }
    }

    fn need(&self, field: &'static str, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n {
            return Err(self.err(
                field,
                Problem::Truncated {
                    needed: n,
                    left: self.buf.len(),
                },
            ));
        }
        Ok(())
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        self.need(field, 2)?;
        Ok(self.buf.get_i16())
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.need(field, 4)?;
        Ok(self.buf.get_i32())
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.need(field, 8)?;
        Ok(self.buf.get_i64())
    }

    fn version(&mut self) -> Result<i16, DecodeError> {
        let v = self.i16("version")?;
        if v < 0 {
            return Err(self.err("version", Problem::NegativeVersion(v)));
        }
        Ok(v)
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.i16(field)?;
        if len < 0 {
            return Err(self.err(field, Problem::InvalidLength(len.into())));
        }
        let len = len as usize;
        self.need(field, len)?;
        let s = std::str::from_utf8(&self.buf[..len])
            .map_err(|_| self.err(field, Problem::Utf8))?
            .to_string();
        self.buf.advance(len);
        Ok(s)
    }

    /// A nullable byte blob; absent at the end of the buffer reads as null (it has a default).
    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
        if self.is_empty() {
            return Ok(None);
        }
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(self.err(field, Problem::InvalidLength(len.into())));
        }
        let len = len as usize;
        self.need(field, len)?;
        let (blob, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(Some(blob))
    }

    /// An array count, checked against the bytes left for elements of at least `min_size`.
    fn count(
        &mut self,
        field: &'static str,
        nullable: bool,
        min_size: usize,
    ) -> Result<Option<usize>, DecodeError> {
        let n = self.i32(field)?;
        if n == -1 && nullable {
            return Ok(None);
        }
        if n < 0 {
            return Err(self.err(field, Problem::InvalidLength(n.into())));
        }
        if (n as usize).saturating_mul(min_size) > self.buf.len() {
            return Err(self.err(
                field,
                Problem::CountTooLarge {
                    count: n,
                    left: self.buf.len(),
                },
            ));
        }
        Ok(Some(n as usize))
    }

    /// A nullable array of connector assignments (absent at the end reads as null), split into
    /// connector instances (task -1) and tasks, in wire order.
    fn connector_assignments(
        &mut self,
        field: &'static str,
    ) -> Result<(Vec<String>, Vec<TaskId>), DecodeError> {
        let mut connectors = Vec::new();
        let mut tasks = Vec::new();
        if self.is_empty() {
            return Ok((connectors, tasks));
        }
        // An entry is at least a 2-byte string length and a 4-byte task count.
        let Some(n) = self.count(field, true, 6)? else {
            return Ok((connectors, tasks));
        };
        for _ in 0..n {
            let connector = self.string(field)?;
            let Some(m) = self.count(field, false, 4)? else {
                continue;
            };
            for _ in 0..m {
                let t = self.i32(field)?;
                if t == CONNECTOR_TASK {
                    connectors.push(connector.clone());
                } else {
                    tasks.push(TaskId::new(connector.clone(), t));
                }
            }
        }
        Ok((connectors, tasks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(version: i16) -> ConnectAssignment {
        ConnectAssignment {
            version,
            error: NO_ERROR,
            leader: "worker-1".into(),
            leader_url: "http://w1:8083/".into(),
            config_offset: 42,
            connectors: vec!["a".into()],
            tasks: vec![TaskId::new("a", 0), TaskId::new("b", 1)],
            revoked_connectors: if version >= 1 { vec!["c".into()] } else { vec![] },
            revoked_tasks: if version >= 1 {
                vec![TaskId::new("c", 3)]
            } else {
                vec![]
            },
            delay_ms: if version >= 1 { 1500 } else { 0 },
        }
    }

    #[test]
    fn v0_metadata_bytes() {
        let m = WorkerMetadata::new(ConnectProtocolMode::Eager, "http://h:1/", 7, None);
        let b = m.encode();
        let mut want = vec![0, 0, 0, 11];
        want.extend_from_slice(b"http://h:1/");
        want.extend_from_slice(&7i64.to_be_bytes());
        assert_eq!(&b[..], &want[..]);
        assert_eq!(WorkerMetadata::decode(&b).unwrap(), m);
    }

    #[test]
    fn v1_metadata_with_no_allocation_writes_null() {
        let m = WorkerMetadata::new(ConnectProtocolMode::Compatible, "u", -1, None);
        let b = m.encode();
        assert_eq!(
            &b[..],
            &[0, 1, 0, 1, b'u', 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255][..]
        );
        assert_eq!(WorkerMetadata::decode(&b).unwrap(), m);
    }

    #[test]
    fn the_allocation_takes_the_metadata_version() {
        let a = sample(1);
        let m = WorkerMetadata::new(ConnectProtocolMode::Sessioned, "u", 3, Some(&a));
        assert_eq!(m.allocation.as_ref().unwrap().version, 2);
        let back = WorkerMetadata::decode(&m.encode()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn assignment_grouping_matches_java() {
        // connectors first (task -1), then tasks appended to their connector's entry
        let a = sample(0);
        let b = a.encode();
        let mut want = Vec::new();
        want.extend_from_slice(&[0, 0, 0, 0]);
        want.extend_from_slice(&[0, 8]);
        want.extend_from_slice(b"worker-1");
        want.extend_from_slice(&[0, 15]);
        want.extend_from_slice(b"http://w1:8083/");
        want.extend_from_slice(&42i64.to_be_bytes());
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice(&[0, 1, b'a']);
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice(&(-1i32).to_be_bytes());
        want.extend_from_slice(&0i32.to_be_bytes());
        want.extend_from_slice(&[0, 1, b'b']);
        want.extend_from_slice(&1i32.to_be_bytes());
        want.extend_from_slice(&1i32.to_be_bytes());
        assert_eq!(&b[..], &want[..]);
    }

    #[test]
    fn missing_trailing_fields_take_defaults() {
        // a v0 assignment read by the v1 reader: revoked empty, delay 0
        let a = sample(0);
        assert_eq!(ConnectAssignment::decode(&a.encode()).unwrap(), a);
        // a v1 assignment cut right after the assigned array
        let full = sample(1).encode();
        let v0_len = sample(0).encode().len();
        let mut cut = sample(1);
        cut.revoked_connectors.clear();
        cut.revoked_tasks.clear();
        cut.delay_ms = 0;
        assert_eq!(ConnectAssignment::decode(&full[..v0_len]).unwrap(), cut);
    }

    #[test]
    fn decode_errors_name_the_field() {
        let full = sample(2).encode();
        let e = ConnectAssignment::decode(&full[..5]).unwrap_err();
        assert_eq!(e.field, "leader");
        assert!(matches!(e.problem, Problem::Truncated { needed: 2, left: 1 }));
        let e = ConnectAssignment::decode(&[0xff, 0xff]).unwrap_err();
        assert_eq!(e.problem, Problem::NegativeVersion(-1));
        assert_eq!(
            e.to_string(),
            "invalid Connect assignment: field `version`: unsupported version -1"
        );
        // a count far beyond the bytes left is refused before allocating
        let mut b = BytesMut::new();
        b.put_i16(1);
        b.put_i16(0);
        put_str(&mut b, "l");
        put_str(&mut b, "u");
        b.put_i64(0);
        b.put_i32(i32::MAX);
        let e = ConnectAssignment::decode(&b).unwrap_err();
        assert_eq!(e.field, "assignment");
        assert!(matches!(e.problem, Problem::CountTooLarge { .. }));
        // a bad allocation inside metadata says so
        let mut m = BytesMut::new();
        m.put_i16(1);
        put_str(&mut m, "u");
        m.put_i64(0);
        m.put_i32(2);
        m.put_slice(&[0x80, 0]);
        let e = WorkerMetadata::decode(&m).unwrap_err();
        assert_eq!(e.field, "allocation");
        assert!(
            e.to_string()
                .contains("invalid Connect assignment: field `version`"),
            "{e}"
        );
    }

    #[test]
    fn mode_names() {
        assert_eq!(
            ConnectProtocolMode::from_config("SESSIONED"),
            Some(ConnectProtocolMode::Sessioned)
        );
        assert_eq!(ConnectProtocolMode::from_config("default"), None);
        assert_eq!(
            ConnectProtocolMode::from_protocol("default"),
            Some(ConnectProtocolMode::Eager)
        );
        let names: Vec<_> = ConnectProtocolMode::Sessioned
            .offered()
            .iter()
            .map(|m| m.protocol_name())
            .collect();
        assert_eq!(names, ["sessioned", "compatible", "default"]);
    }

    fn task_ids() -> impl Strategy<Value = Vec<TaskId>> {
        proptest::collection::vec(("[a-c]{1,3}", 0..20i32), 0..8)
            .prop_map(|v| v.into_iter().map(|(c, t)| TaskId::new(c, t)).collect())
    }

    fn canonical(mut a: ConnectAssignment) -> ConnectAssignment {
        // what survives a round trip: connectors de-duplicated, and both lists regrouped by
        // connector entry (Java's map), which the grouping order decides
        let regroup = |cs: &[String], ts: &[TaskId]| {
            let mut c = Vec::new();
            let mut t = Vec::new();
            for (name, tasks) in grouped(cs, ts) {
                for x in tasks {
                    if x == CONNECTOR_TASK {
                        c.push(name.to_string());
                    } else {
                        t.push(TaskId::new(name, x));
                    }
                }
            }
            (c, t)
        };
        (a.connectors, a.tasks) = regroup(&a.connectors, &a.tasks);
        (a.revoked_connectors, a.revoked_tasks) = regroup(&a.revoked_connectors, &a.revoked_tasks);
        if a.version == 0 {
            a.revoked_connectors.clear();
            a.revoked_tasks.clear();
            a.delay_ms = 0;
        }
        a
    }

    proptest! {
        #[test]
        fn assignments_round_trip(
            version in 0..3i16, error in 0..2i16, leader in "\\PC{0,12}", url in "\\PC{0,20}",
            offset in any::<i64>(), connectors in proptest::collection::vec("[a-c]{1,3}", 0..4),
            tasks in task_ids(), rc in proptest::collection::vec("[a-c]{1,3}", 0..4),
            rt in task_ids(), delay in any::<i32>(),
        ) {
            let a = ConnectAssignment {
                version, error, leader, leader_url: url, config_offset: offset, connectors, tasks,
                revoked_connectors: rc, revoked_tasks: rt, delay_ms: delay,
            };
            let back = ConnectAssignment::decode(&a.encode()).unwrap();
            prop_assert_eq!(back, canonical(a));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ConnectAssignment::decode(&bytes);
            let _ = WorkerMetadata::decode(&bytes);
        }
    }
}
