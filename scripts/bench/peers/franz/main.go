// franz-bench: the franz-go peer of scripts/bench/compare.sh.
//
//	franz-bench -mode produce -brokers B -topic T -n N -payload-file F [-compression none|lz4|zstd]
//	            [-linger 5ms] [-batch-max-bytes 65536] [-buffer-bytes 33554432]
//	franz-bench -mode consume -brokers B -topic T -n N [-timeout 30s]
//
// It prints the summary line of the Java tool it stands beside (ProducerPerformance's
// "N records sent, ..." or ConsumerPerformance's ten columns) so compare.sh parses every peer
// the same way. Records are pooled and reused once their promise has run, as franz-go's own
// examples/bench does with -pool; the consumer reads every partition directly (no group).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	mode := flag.String("mode", "produce", "produce or consume")
	brokers := flag.String("brokers", "127.0.0.1:9092", "seed broker")
	topic := flag.String("topic", "", "topic")
	n := flag.Int64("n", 0, "records to produce or consume")
	payloadFile := flag.String("payload-file", "", "one payload per line, one picked at random per record")
	compression := flag.String("compression", "none", "none, lz4 or zstd")
	linger := flag.Duration("linger", 5*time.Millisecond, "producer linger")
	batchMax := flag.Int("batch-max-bytes", 65536, "producer batch size limit")
	bufferBytes := flag.Int64("buffer-bytes", 32<<20, "producer buffer limit in bytes (Java's buffer.memory)")
	timeout := flag.Duration("timeout", 30*time.Second, "consumer: give up after this long without a record")
	flag.Parse()
	if *topic == "" || *n <= 0 {
		fail("-topic and -n > 0 are required")
	}
	var err error
	switch *mode {
	case "produce":
		err = produce(*brokers, *topic, *n, *payloadFile, *compression, *linger, *batchMax, *bufferBytes)
	case "consume":
		err = consume(*brokers, *topic, *n, *timeout)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "franz-bench:", msg)
	os.Exit(1)
}

func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("unknown compression %q", name)
}

func loadPayloads(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(line) > 0 {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no payloads", path)
	}
	return out, nil
}

// latencies samples every k-th record's latency (µs), as ProducerPerformance does.
type latencies struct {
	mu      sync.Mutex
	every   int64
	seen    int64
	sumUs   int64
	maxUs   int64
	samples []int64
}

func (l *latencies) record(us int64) {
	l.mu.Lock()
	l.sumUs += us
	if us > l.maxUs {
		l.maxUs = us
	}
	if l.seen%l.every == 0 {
		l.samples = append(l.samples, us)
	}
	l.seen++
	l.mu.Unlock()
}

func (l *latencies) line(records, byteCount int64, elapsed time.Duration) string {
	sort.Slice(l.samples, func(i, j int) bool { return l.samples[i] < l.samples[j] })
	pct := func(p float64) int64 {
		if len(l.samples) == 0 {
			return 0
		}
		i := int(p * float64(len(l.samples)))
		if i >= len(l.samples) {
			i = len(l.samples) - 1
		}
		return l.samples[i] / 1000
	}
	secs := elapsed.Seconds()
	avg := 0.0
	if l.seen > 0 {
		avg = float64(l.sumUs) / float64(l.seen) / 1000
	}
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.",
		records, float64(records)/secs, float64(byteCount)/1048576/secs, avg, float64(l.maxUs)/1000,
		pct(0.5), pct(0.95), pct(0.99), pct(0.999))
}

func produce(brokers, topic string, n int64, payloadFile, compression string, linger time.Duration, batchMax int, bufferBytes int64) error {
	payloads, err := loadPayloads(payloadFile)
	if err != nil {
		return err
	}
	c, err := codec(compression)
	if err != nil {
		return err
	}
	// The semantics compare.sh pins for every peer (see its header); idempotence is franz-go's default.
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers),
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(linger),
		kgo.ProducerBatchMaxBytes(int32(batchMax)),
		kgo.ProducerBatchCompression(c),
		kgo.MaxBufferedBytes(int(bufferBytes)),
		kgo.MaxBufferedRecords(1<<30),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	every := n / min(n, 500000)
	lat := &latencies{every: max(every, 1), samples: make([]int64, 0, 500001)}
	pool := sync.Pool{New: func() any { return new(kgo.Record) }}
	var failed atomic.Int64
	var firstErr atomic.Value
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			if failed.Add(1) == 1 {
				firstErr.Store(err.Error())
			}
		} else {
			lat.record(time.Since(r.Timestamp).Microseconds())
		}
		*r = kgo.Record{}
		pool.Put(r)
	}
	rng := uint64(0x9E3779B97F4A7C15)
	ctx := context.Background()
	var total int64
	start := time.Now()
	for i := int64(0); i < n; i++ {
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		v := payloads[(rng*0x2545F4914F6CDD1D>>33)%uint64(len(payloads))]
		total += int64(len(v))
		r := pool.Get().(*kgo.Record)
		r.Value = v
		r.Timestamp = time.Now()
		cl.Produce(ctx, r, promise)
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d records failed, first error: %v", f, firstErr.Load())
	}
	fmt.Println(lat.line(n, total, elapsed))
	return nil
}

func consume(brokers, topic string, n int64, timeout time.Duration) error {
	startMs := time.Now().UnixMilli()
	start := time.Now()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxPartitionBytes(1<<20),
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	var count, byteCount int64
	for count < n {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		fetches := cl.PollFetches(ctx)
		cancel()
		if errs := fetches.Errors(); len(errs) > 0 {
			return fmt.Errorf("after %d records: %v", count, errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			count++
			byteCount += int64(len(r.Value))
		})
	}
	elapsed := time.Since(start)
	mib := float64(byteCount) / 1048576
	secs := elapsed.Seconds()
	fmt.Println("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
	fmt.Printf("%d, %d, %.4f, %.4f, %d, %.4f, 0, %d, %.4f, %.4f\n", startMs, time.Now().UnixMilli(), mib, mib/secs,
		count, float64(count)/secs, elapsed.Milliseconds(), mib/secs, float64(count)/secs)
	return nil
}
