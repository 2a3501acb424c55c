//! The replay ceiling: Produce requests encoded once, before the clock starts, then written
//! back to back on one connection with up to `--inflight` unanswered, counting the records the
//! broker acknowledges per second. No client work is left inside the measured loop (no record
//! building, compression, CRC or accounting beyond parsing each response), so this is the most
//! any client could get from this broker on this machine with these batches.
//!
//! Requests: Produce v8 (non-flexible), acks=-1, one RecordBatch v2 per partition, each of as
//! many records as fit `--batch-bytes` uncompressed (what the producers' batch.size allows),
//! compressed with the run's codec. Idempotence is off (producerId -1), so resending the same
//! pre-encoded batches is valid: the broker assigns offsets. Sent to the bootstrap broker, which
//! is the leader of every partition on the harness's single-node cluster.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use crate::args::Opts;
use crate::payload::Payloads;
use crate::stats::Latencies;

/// Distinct pre-encoded requests cycled through (different payload picks in each).
const DISTINCT: usize = 16;

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn codec_id(codec: &str) -> Result<i16, String> {
    match codec {
        "none" => Ok(0),
        "lz4" => Ok(3),
        "zstd" => Ok(4),
        c => Err(format!("codec {c:?} not supported by replay (none, lz4, zstd)")),
    }
}

fn compress(codec: &str, raw: &[u8]) -> Result<Vec<u8>, String> {
    match codec {
        "lz4" => {
            // The frame Kafka's own producer writes: 64 KiB independent blocks, no checksums.
            let info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .block_checksums(false)
                .content_checksum(false);
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            enc.write_all(raw).map_err(|e| e.to_string())?;
            enc.finish().map_err(|e| e.to_string())
        }
        // Level 3: Kafka's compression.zstd.level default.
        "zstd" => zstd::encode_all(raw, 3).map_err(|e| e.to_string()),
        _ => Ok(raw.to_vec()),
    }
}

/// One RecordBatch v2 of `count` records (no key, no headers).
fn batch(payloads: &mut Payloads, count: usize, codec: &str, now_ms: i64) -> Result<(Vec<u8>, u64), String> {
    let mut records = Vec::new();
    let mut rec = Vec::new();
    let mut bytes = 0u64;
    for i in 0..count {
        let v = payloads.next();
        bytes += v.len() as u64;
        rec.clear();
        rec.push(0); // attributes
        varint(&mut rec, 0); // timestamp delta
        varint(&mut rec, i as i64); // offset delta
        varint(&mut rec, -1); // null key
        varint(&mut rec, v.len() as i64);
        rec.extend_from_slice(v);
        varint(&mut rec, 0); // headers
        varint(&mut records, rec.len() as i64);
        records.extend_from_slice(&rec);
    }
    let body = compress(codec, &records)?;
    // From attributes on: what the CRC covers.
    let mut tail = Vec::with_capacity(body.len() + 49);
    tail.extend_from_slice(&codec_id(codec)?.to_be_bytes());
    tail.extend_from_slice(&(count as i32 - 1).to_be_bytes());
    tail.extend_from_slice(&now_ms.to_be_bytes());
    tail.extend_from_slice(&now_ms.to_be_bytes());
    tail.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    tail.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    tail.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    tail.extend_from_slice(&(count as i32).to_be_bytes());
    tail.extend_from_slice(&body);
    let mut b = Vec::with_capacity(tail.len() + 21);
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&((tail.len() + 9) as i32).to_be_bytes()); // batch length: from leader epoch on
    b.extend_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&crc32c::crc32c(&tail).to_be_bytes());
    b.extend_from_slice(&tail);
    Ok((b, bytes))
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A size-prefixed Produce v8 request whose correlation id is patched in at bytes 8..12.
fn request(o: &Opts, batches: &[Vec<u8>]) -> Vec<u8> {
    let mut r = vec![0u8; 4];
    r.extend_from_slice(&0i16.to_be_bytes()); // Produce
    r.extend_from_slice(&8i16.to_be_bytes());
    r.extend_from_slice(&0i32.to_be_bytes()); // correlation id
    string(&mut r, "replay");
    r.extend_from_slice(&(-1i16).to_be_bytes()); // transactional id: null
    r.extend_from_slice(&(-1i16).to_be_bytes()); // acks=all
    r.extend_from_slice(&30000i32.to_be_bytes());
    r.extend_from_slice(&1i32.to_be_bytes());
    string(&mut r, &o.topic);
    r.extend_from_slice(&(batches.len() as i32).to_be_bytes());
    for (p, b) in batches.iter().enumerate() {
        r.extend_from_slice(&(p as i32).to_be_bytes());
        r.extend_from_slice(&(b.len() as i32).to_be_bytes());
        r.extend_from_slice(b);
    }
    let len = (r.len() - 4) as i32;
    r[..4].copy_from_slice(&len.to_be_bytes());
    r
}

/// A cursor over a response body; every read checks its bounds.
struct Cur<'a>(&'a [u8]);

impl Cur<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err("short Produce response".into());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().map_err(|_| "i16")?))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().map_err(|_| "i32")?))
    }
    fn skip_str(&mut self) -> Result<(), String> {
        let n = self.i16()?;
        if n > 0 {
            self.take(n as usize)?;
        }
        Ok(())
    }
}

/// Checks a Produce v8 response (after its size): the correlation id and every partition's error
/// (`Err(Some(code))` for a Kafka error, `Err(None)` for a malformed answer).
fn check(body: &[u8], want: i32) -> Result<(), String> {
    check_codes(body, want).map_err(|(code, msg)| match code {
        Some(c) => format!("{msg}: Kafka error code {c}"),
        None => msg,
    })
}

fn check_codes(body: &[u8], want: i32) -> Result<(), (Option<i16>, String)> {
    let bad = |m: String| (None, m);
    let mut c = Cur(body);
    let corr = c.i32().map_err(bad)?;
    if corr != want {
        return Err(bad(format!("response {corr} where {want} was expected")));
    }
    for _ in 0..c.i32().map_err(bad)? {
        c.skip_str().map_err(bad)?;
        for _ in 0..c.i32().map_err(bad)? {
            let p = c.i32().map_err(bad)?;
            let err = c.i16().map_err(bad)?;
            c.take(24).map_err(bad)?; // base offset, log append time, log start offset
            for _ in 0..c.i32().map_err(bad)? {
                c.take(4).map_err(bad)?;
                c.skip_str().map_err(bad)?;
            }
            c.skip_str().map_err(bad)?;
            if err != 0 {
                return Err((Some(err), format!("partition {p}")));
            }
        }
    }
    Ok(())
}

/// Sends one request and waits for its answer, retrying while a just-created topic's
/// partitions are not ready yet (UNKNOWN_TOPIC_OR_PARTITION 3, NOT_LEADER_OR_FOLLOWER 6,
/// LEADER_NOT_AVAILABLE 5), so the measured loop starts on a topic the broker can take.
fn prime(stream: &mut TcpStream, req: &mut [u8]) -> Result<(), String> {
    let mut body = Vec::new();
    for attempt in 0..100i32 {
        let corr = -1 - attempt;
        req[8..12].copy_from_slice(&corr.to_be_bytes());
        stream.write_all(req).map_err(|e| format!("write: {e}"))?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).map_err(|e| format!("read: {e}"))?;
        body.resize(i32::from_be_bytes(len).max(0) as usize, 0);
        stream.read_exact(&mut body).map_err(|e| format!("read: {e}"))?;
        match check_codes(&body, corr) {
            Ok(()) => return Ok(()),
            Err((Some(3 | 5 | 6), _)) => std::thread::sleep(Duration::from_millis(100)),
            Err((code, msg)) => return Err(format!("{msg}: Kafka error code {code:?}")),
        }
    }
    Err("the topic's partitions did not become writable in 10 s".into())
}

pub fn run(o: &Opts) -> Result<(), String> {
    let mut payloads = Payloads::load(o.payload_file.as_deref().ok_or("--payload-file is required")?)?;
    let size = payloads.next().len();
    // Record framing is ~7-10 bytes; a batch holds what keeps it under batch.size uncompressed.
    let per_batch = ((o.batch_bytes.saturating_sub(61)) / (size + 10)).max(1);
    let per_request = per_batch as u64 * o.partitions as u64;
    let now_ms = crate::stats::epoch_ms() as i64;
    let mut reqs = Vec::with_capacity(DISTINCT);
    let mut req_bytes = Vec::with_capacity(DISTINCT);
    for _ in 0..DISTINCT {
        let mut batches = Vec::new();
        let mut bytes = 0;
        for _ in 0..o.partitions {
            let (b, n) = batch(&mut payloads, per_batch, &o.codec, now_ms)?;
            batches.push(b);
            bytes += n;
        }
        reqs.push(request(o, &batches));
        req_bytes.push(bytes);
    }
    let total = o.num_records.div_ceil(per_request);
    eprintln!(
        "replay: {total} Produce requests of {} partitions x {per_batch} records ({} bytes on the wire each), {} in flight",
        o.partitions,
        reqs[0].len(),
        o.inflight
    );

    let stream = TcpStream::connect(&o.bootstrap).map_err(|e| format!("connect {}: {e}", o.bootstrap))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut stream = stream;
    // Outside the clock: its records land in the topic but are not counted.
    prime(&mut stream, &mut reqs[0])?;
    let mut reader = BufReader::with_capacity(1 << 16, stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    // The channel's capacity is the pipeline depth: the writer blocks while `inflight` wait.
    let (tx, rx) = sync_channel::<(i32, Instant, u64)>(o.inflight);
    let start = Instant::now();
    let reading = std::thread::spawn(move || -> Result<(Latencies, u64), String> {
        let mut lat = Latencies::new(total);
        let mut bytes = 0;
        let mut body = Vec::new();
        while let Ok((corr, sent, b)) = rx.recv() {
            let mut len = [0u8; 4];
            reader.read_exact(&mut len).map_err(|e| format!("read: {e}"))?;
            body.resize(i32::from_be_bytes(len).max(0) as usize, 0);
            reader.read_exact(&mut body).map_err(|e| format!("read: {e}"))?;
            check(&body, corr)?;
            lat.record(sent.elapsed().as_micros() as u64, 1);
            bytes += b;
        }
        Ok((lat, bytes))
    });
    let mut write_err = None;
    for i in 0..total {
        let k = (i as usize) % DISTINCT;
        let corr = i as i32;
        reqs[k][8..12].copy_from_slice(&corr.to_be_bytes());
        if tx.send((corr, Instant::now(), req_bytes[k])).is_err() {
            break; // the reader stopped: its error is reported below
        }
        if let Err(e) = writer.write_all(&reqs[k]) {
            write_err = Some(format!("write: {e}"));
            break;
        }
    }
    drop(tx);
    let (mut lat, bytes) = reading.join().map_err(|_| "reader panicked")??;
    if let Some(e) = write_err {
        return Err(e);
    }
    let elapsed = start.elapsed();
    let _ = writer.shutdown(std::net::Shutdown::Both);
    println!(
        "{}",
        lat.producer_line(total * per_request, bytes, elapsed.max(Duration::from_micros(1)))
    );
    eprintln!("replay: latencies are request round trips (one per {per_request} records)");
    Ok(())
}
