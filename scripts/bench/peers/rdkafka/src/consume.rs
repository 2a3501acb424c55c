//! librdkafka's consumer through the rdkafka crate's BaseConsumer, assign-based (no group join):
//! every partition of the topic from the beginning, one poll per message as the crate offers it.

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::args::Opts;
use crate::stats::{consumer_lines, epoch_ms};

pub fn run(o: &Opts) -> Result<(), String> {
    let start_ms = epoch_ms();
    let start = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &o.bootstrap)
        .set("group.id", "peer-rdkafka-unused")
        .set("enable.auto.commit", "false")
        .set("max.partition.fetch.bytes", "1048576")
        .set("check.crcs", "false")
        // librdkafka (>= 2.2) stops fetching a partition for this long once its prefetch queue
        // holds queued.min.messages (100,000); the 1 s default capped this peer at ~0.3-0.5 M
        // records/s in compare.sh (CPU mostly idle). Java, franz-go and kaflow have no such pause.
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .map_err(|e| e.to_string())?;
    let md = consumer
        .fetch_metadata(Some(&o.topic), Duration::from_secs(10))
        .map_err(|e| format!("metadata: {e}"))?;
    let parts = md.topics().first().map(|t| t.partitions().len()).unwrap_or(0);
    if parts == 0 {
        return Err(format!("topic {} has no partitions", o.topic));
    }
    let mut tpl = TopicPartitionList::new();
    for p in 0..parts as i32 {
        tpl.add_partition_offset(&o.topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&tpl).map_err(|e| format!("assign: {e}"))?;

    let (mut count, mut bytes) = (0u64, 0u64);
    let mut last = Instant::now();
    while count < o.num_records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                count += 1;
                bytes += m.payload_len() as u64;
                last = Instant::now();
            }
            Some(Err(e)) => return Err(format!("poll: {e}")),
            None if last.elapsed() > Duration::from_millis(o.timeout_ms) => {
                return Err(format!("no record for {} ms after {count} records", o.timeout_ms))
            }
            None => {}
        }
    }
    let elapsed = start.elapsed();
    println!("{}", consumer_lines(start_ms, epoch_ms(), count, bytes, elapsed));
    Ok(())
}
