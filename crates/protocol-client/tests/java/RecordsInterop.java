// Interop checker for crates/protocol-client/tests/records_java_interop.rs: Apache Kafka's
// own Java record classes read the batches kaflow writes, and write batches for kaflow to read.
//
//   java RecordsInterop read  <batches-file>...                  -> "== file" + dump, per file
//   java RecordsInterop write <spec> <codec>:<level|default>:<out>... -> one batch per file
//
// (Several files per run: one JVM start instead of one per codec.)
//
// A spec file has one record per line: `timestamp key value headers`, each of key/value a hex
// string or `-` for null (`.` for empty), headers `-` or a comma list of `hexkey=hexvalue`
// (value `-` for null). The dump prints batches and records in the same notation, so the
// Rust test can compare text.
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

public class RecordsInterop {
    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("read")) {
            for (int i = 1; i < args.length; i++) {
                System.out.print("== " + args[i] + "\n");
                read(Files.readAllBytes(Paths.get(args[i])));
            }
        } else if (args.length >= 3 && args[0].equals("write")) {
            List<String> spec = Files.readAllLines(Paths.get(args[1]));
            for (int i = 2; i < args.length; i++) {
                String[] job = args[i].split(":", 3);
                write(job[0], job[1], spec, job[2]);
            }
        } else {
            System.err.println("usage: read <file>... | write <spec> <codec>:<level|default>:<out>...");
            System.exit(2);
        }
    }

    static void read(byte[] data) {
        MemoryRecords records = MemoryRecords.readableRecords(ByteBuffer.wrap(data));
        StringBuilder out = new StringBuilder();
        for (MutableRecordBatch batch : records.batches()) {
            batch.ensureValid(); // CRC32C
            out.append("batch codec=").append(batch.compressionType().name)
               .append(" pid=").append(batch.producerId())
               .append(" epoch=").append(batch.producerEpoch())
               .append(" seq=").append(batch.baseSequence())
               .append(" txn=").append(batch.isTransactional())
               .append(" count=").append(batch.countOrNull())
               .append(" base_offset=").append(batch.baseOffset())
               .append(" last_offset=").append(batch.lastOffset())
               .append(" max_ts=").append(batch.maxTimestamp())
               .append('\n');
            for (Record r : batch) {
                r.ensureValid();
                out.append(r.offset()).append(' ').append(r.timestamp()).append(' ')
                   .append(hex(r.key())).append(' ').append(hex(r.value())).append(' ');
                Header[] headers = r.headers();
                if (headers.length == 0) {
                    out.append('-');
                }
                for (int i = 0; i < headers.length; i++) {
                    if (i > 0) out.append(',');
                    out.append(hex(headers[i].key().getBytes(StandardCharsets.UTF_8))).append('=')
                       .append(headers[i].value() == null ? "-" : hex(headers[i].value()));
                }
                out.append('\n');
            }
        }
        System.out.print(out);
    }

    static void write(String codec, String level, List<String> spec, String outPath) throws Exception {
        List<SimpleRecord> list = new ArrayList<>();
        for (String line : spec) {
            if (line.isEmpty()) continue;
            String[] f = line.split(" ");
            Header[] headers = new Header[0];
            if (!f[3].equals("-")) {
                String[] hs = f[3].split(",");
                headers = new Header[hs.length];
                for (int i = 0; i < hs.length; i++) {
                    String[] kv = hs[i].split("=", -1);
                    headers[i] = new RecordHeader(new String(unhex(kv[0]), StandardCharsets.UTF_8), unhex(kv[1]));
                }
            }
            list.add(new SimpleRecord(Long.parseLong(f[0]), unhex(f[1]), unhex(f[2]), headers));
        }
        MemoryRecords records = MemoryRecords.withRecords(RecordBatch.MAGIC_VALUE_V2, 0L,
                compression(codec, level), TimestampType.CREATE_TIME, 1234L, (short) 5, 77, RecordBatch.NO_PARTITION_LEADER_EPOCH, false,
                list.toArray(new SimpleRecord[0]));
        ByteBuffer buf = records.buffer();
        byte[] bytes = new byte[buf.remaining()];
        buf.get(bytes);
        Files.write(Paths.get(outPath), bytes);
    }

    static Compression compression(String codec, String level) {
        boolean dflt = level.equals("default");
        switch (codec) {
            case "none": return Compression.NONE;
            case "gzip": return dflt ? Compression.gzip().build() : Compression.gzip().level(Integer.parseInt(level)).build();
            case "snappy": return Compression.snappy().build();
            case "lz4": return dflt ? Compression.lz4().build() : Compression.lz4().level(Integer.parseInt(level)).build();
            case "zstd": return dflt ? Compression.zstd().build() : Compression.zstd().level(Integer.parseInt(level)).build();
            default: throw new IllegalArgumentException("codec " + codec);
        }
    }

    static String hex(ByteBuffer b) {
        if (b == null) return "-";
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return hex(a);
    }

    static String hex(byte[] a) {
        if (a == null) return "-";
        if (a.length == 0) return ".";
        StringBuilder s = new StringBuilder(a.length * 2);
        for (byte x : a) s.append(String.format("%02x", x & 0xff));
        return s.toString();
    }

    static byte[] unhex(String s) {
        if (s.equals("-")) return null;
        if (s.equals(".")) return new byte[0];
        byte[] a = new byte[s.length() / 2];
        for (int i = 0; i < a.length; i++) a[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        return a;
    }
}
