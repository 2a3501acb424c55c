//! `--key value` flags shared by the three modes (no clap: this project stays small to build).

use std::collections::HashMap;

#[derive(Debug)]
pub struct Opts {
    pub bootstrap: String,
    pub topic: String,
    pub num_records: u64,
    pub payload_file: Option<String>,
    pub codec: String,
    pub linger_ms: u64,
    pub batch_bytes: usize,
    pub buffer_bytes: usize,
    pub partitions: i32,
    pub inflight: usize,
    pub timeout_ms: u64,
}

impl Opts {
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Opts, String> {
        let mut m = HashMap::new();
        while let Some(k) = argv.next() {
            let Some(name) = k.strip_prefix("--") else {
                return Err(format!("unexpected argument {k:?}"));
            };
            let v = argv.next().ok_or_else(|| format!("--{name} needs a value"))?;
            m.insert(name.to_string(), v);
        }
        let num = |k: &str, d: u64| -> Result<u64, String> {
            m.get(k).map_or(Ok(d), |v| {
                v.parse().map_err(|_| format!("--{k}: not a number: {v:?}"))
            })
        };
        let opts = Opts {
            bootstrap: m.get("bootstrap").cloned().ok_or("--bootstrap is required")?,
            topic: m.get("topic").cloned().ok_or("--topic is required")?,
            num_records: num("num-records", 0)?,
            payload_file: m.get("payload-file").cloned(),
            codec: m.get("codec").cloned().unwrap_or_else(|| "none".into()),
            linger_ms: num("linger-ms", 5)?,
            batch_bytes: num("batch-bytes", 65536)? as usize,
            buffer_bytes: num("buffer-bytes", 32 << 20)? as usize,
            partitions: num("partitions", 6)? as i32,
            inflight: num("inflight", 5)?.max(1) as usize,
            timeout_ms: num("timeout-ms", 30000)?,
        };
        if opts.num_records == 0 {
            return Err("--num-records must be > 0".into());
        }
        Ok(opts)
    }
}
