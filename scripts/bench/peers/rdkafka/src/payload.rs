//! The payload file every peer reads: one payload per line, one picked at random per record
//! (ProducerPerformance's --payload-file behaviour; the generator differs, the pool is the same).

pub struct Payloads {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
    rng: u64,
}

impl Payloads {
    pub fn load(path: &str) -> Result<Payloads, String> {
        let buf = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let mut spans = Vec::new();
        let mut start = 0;
        for (i, b) in buf.iter().enumerate() {
            if *b == b'\n' {
                if i > start {
                    spans.push((start, i));
                }
                start = i + 1;
            }
        }
        if buf.len() > start {
            spans.push((start, buf.len()));
        }
        if spans.is_empty() {
            return Err(format!("{path}: no payloads"));
        }
        Ok(Payloads {
            buf,
            spans,
            rng: 0x9E37_79B9_7F4A_7C15,
        })
    }

    /// A random payload (xorshift64*: a few ns, no allocation).
    pub fn next(&mut self) -> &[u8] {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let (a, b) = self.spans[(r >> 33) as usize % self.spans.len()];
        &self.buf[a..b]
    }
}
