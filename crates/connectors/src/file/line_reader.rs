//! Splits a growing byte stream (a file being appended to, or stdin) into lines, tracking the
//! byte position after each line so a restarted source resumes exactly there.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, as Kafka's `FileStreamSourceTask.extractLine`;
//! a `\r` that ends the available data waits for the next byte (it may be half of `\r\n`);
//! a final line without a terminator waits too (the writer may still be writing it). Bytes
//! are decoded as UTF-8 with replacement characters, as Java's `InputStreamReader`.
//!
//! Deviation, on purpose: positions count bytes. Kafka counts UTF-16 characters but skips
//! bytes when it resumes, so after a restart it lands mid-line on non-ASCII input; for ASCII
//! the two agree.

use tokio::io::{AsyncRead, AsyncReadExt};

/// One line and the stream position just after its terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text, without its terminator.
    pub text: String,
    /// Bytes from the start of the file to the end of this line (`None` for stdin).
    pub end_position: Option<u64>,
}

/// Reads lines from `R` as they become available.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    pending: Vec<u8>,
    /// Position of `pending[0]` in the stream.
    position: Option<u64>,
    chunk: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader whose first byte is at `start_position` (`None`: don't track positions).
    pub fn new(reader: R, start_position: Option<u64>) -> Self {
        Self {
            reader,
            pending: Vec::new(),
            position: start_position,
            chunk: 64 * 1024,
        }
    }

    /// Reads what is available (one read call) and returns up to `max_lines` complete lines.
    /// An empty result means no complete line yet: the caller backs off and asks again.
    pub async fn next_lines(&mut self, max_lines: usize) -> std::io::Result<Vec<Line>> {
        let mut lines = self.extract(max_lines);
        if lines.len() < max_lines {
            let start = self.pending.len();
            self.pending.resize(start + self.chunk, 0);
            let n = self.reader.read(&mut self.pending[start..]).await;
            self.pending.truncate(start + *n.as_ref().unwrap_or(&0));
            n?;
            lines.extend(self.extract(max_lines - lines.len()));
        }
        Ok(lines)
    }

    /// Bytes read but not yet part of a complete line.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    fn extract(&mut self, max_lines: usize) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut consumed = 0;
        while lines.len() < max_lines {
            let rest = &self.pending[consumed..];
            let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                break;
            };
            let terminator = match rest[i] {
                b'\n' => 1,
                _ => match rest.get(i + 1) {
                    None => break, // maybe \r\n: wait for the next byte
                    Some(b'\n') => 2,
                    Some(_) => 1,
                },
            };
            let text = String::from_utf8_lossy(&rest[..i]).into_owned();
            consumed += i + terminator;
            let end_position = self.position.map(|p| p + consumed as u64);
            lines.push(Line { text, end_position });
        }
        self.pending.drain(..consumed);
        if let Some(p) = self.position.as_mut() {
            *p += consumed as u64;
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all_lines(input: &[u8], start: Option<u64>) -> (Vec<Line>, usize) {
        let mut r = LineReader::new(input, start);
        let mut out = Vec::new();
        loop {
            let got = r.next_lines(2).await.unwrap();
            if got.is_empty() {
                return (out, r.pending_bytes());
            }
            out.extend(got);
        }
    }

    fn line(text: &str, end: u64) -> Line {
        Line {
            text: text.into(),
            end_position: Some(end),
        }
    }

    #[tokio::test]
    async fn splits_on_lf_crlf_and_cr_with_byte_positions() {
        let (lines, left) = all_lines(b"a\nbb\r\nccc\rd\xc3\xa9\ntail", Some(0)).await;
        assert_eq!(
            lines,
            [line("a", 2), line("bb", 6), line("ccc", 10), line("d\u{e9}", 14)]
        );
        assert_eq!(left, 4, "an unterminated last line waits");
    }

    #[tokio::test]
    async fn a_trailing_cr_waits_for_the_next_byte() {
        let (lines, left) = all_lines(b"x\r", Some(100)).await;
        assert!(lines.is_empty());
        assert_eq!(left, 2);
    }

    #[tokio::test]
    async fn resumed_positions_continue_from_the_start_offset() {
        let (lines, _) = all_lines(b"one\ntwo\n", Some(40)).await;
        assert_eq!(lines, [line("one", 44), line("two", 48)]);
        let (lines, _) = all_lines(b"one\n", None).await;
        assert_eq!(lines[0].end_position, None);
    }

    #[tokio::test]
    async fn invalid_utf8_becomes_replacement_characters() {
        let (lines, _) = all_lines(b"\xff\xfeok\n", Some(0)).await;
        assert_eq!(lines[0].text, "\u{fffd}\u{fffd}ok");
    }

    #[tokio::test]
    async fn follows_a_growing_file() {
        use tokio::io::AsyncWriteExt;
        let path = std::env::temp_dir().join(format!("kaflow-lines-{}", std::process::id()));
        let mut w = tokio::fs::File::create(&path).await.unwrap();
        w.write_all(b"first\nsec").await.unwrap();
        w.flush().await.unwrap();
        let mut r = LineReader::new(tokio::fs::File::open(&path).await.unwrap(), Some(0));
        assert_eq!(r.next_lines(10).await.unwrap(), [line("first", 6)]);
        assert!(
            r.next_lines(10).await.unwrap().is_empty(),
            "at EOF with a partial line"
        );
        w.write_all(b"ond\n").await.unwrap();
        w.flush().await.unwrap();
        assert_eq!(r.next_lines(10).await.unwrap(), [line("second", 13)]);
        std::fs::remove_file(&path).unwrap();
    }
}
