//! librdkafka's producer through the rdkafka crate's BaseProducer: one send per record (the crate
//! copies each payload into librdkafka), delivery reports polled on the sending thread.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::ClientContext;

use crate::args::Opts;
use crate::payload::Payloads;
use crate::stats::Latencies;

/// Delivery reports: the opaque is the send time in µs since `start`.
struct Ctx {
    start: Instant,
    inner: Mutex<(Latencies, u64, Option<String>)>,
}

impl ClientContext for Ctx {}

impl ProducerContext for Ctx {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_us: usize) {
        let now = self.start.elapsed().as_micros() as u64;
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => g.0.record(now.saturating_sub(sent_us as u64), 1),
            Err((e, _)) => {
                g.1 += 1;
                if g.2.is_none() {
                    g.2 = Some(e.to_string());
                }
            }
        }
    }
}

pub fn run(o: &Opts) -> Result<(), String> {
    let mut payloads = Payloads::load(o.payload_file.as_deref().ok_or("--payload-file is required")?)?;
    let ctx = Ctx {
        start: Instant::now(),
        inner: Mutex::new((Latencies::new(o.num_records), 0, None)),
    };
    // The semantics compare.sh pins for every peer (see its header).
    let producer: BaseProducer<Ctx> = ClientConfig::new()
        .set("bootstrap.servers", &o.bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", o.linger_ms.to_string())
        .set("batch.size", o.batch_bytes.to_string())
        .set("compression.codec", &o.codec)
        .set("queue.buffering.max.kbytes", (o.buffer_bytes / 1024).to_string())
        .set("queue.buffering.max.messages", "10000000")
        .create_with_context(ctx)
        .map_err(|e| e.to_string())?;

    let start = Instant::now();
    let mut bytes = 0u64;
    for i in 0..o.num_records {
        let value = payloads.next();
        bytes += value.len() as u64;
        let sent = producer.context().start.elapsed().as_micros() as usize;
        let mut rec: BaseRecord<'_, (), [u8], usize> =
            BaseRecord::with_opaque_to(&o.topic, sent).payload(value);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    rec = r;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(format!("send: {e}")),
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .map_err(|e| format!("flush: {e}"))?;
    let elapsed = start.elapsed();
    let mut g = producer.context().inner.lock().unwrap_or_else(|p| p.into_inner());
    if g.1 > 0 {
        let first = g.2.take().unwrap_or_default();
        return Err(format!("{} records failed, first error: {first}", g.1));
    }
    println!("{}", g.0.producer_line(o.num_records, bytes, elapsed));
    Ok(())
}
