#!/usr/bin/env bash
# scripts/bench/compare.sh — kaflow against its peers on one broker, in one run (issue 8).
#
# One fresh single-node broker through the harness (lib.sh bench_setup), 6-partition topics with
# the broker's defaults, and for every payload size x payload kind x codec:
#   producers  kaflow        `kaflow perf produce` (this checkout, release)
#              java          Kafka 4.3.1 ProducerPerformance (scripts/kafka.sh tool, -Xmx512m + G1)
#              rdkafka       librdkafka 2.12.1 through the rdkafka crate's BaseProducer
#                            (scripts/bench/peers/rdkafka: its own Cargo project and lock file,
#                            outside kaflow's workspace; the crate copies each payload)
#              franz         franz-go v1.22.3 (scripts/bench/peers/franz, a small Go program;
#                            records pooled as franz-go's examples/bench -pool does)
#              ceiling       `peer-rdkafka replay`: Produce v8 requests encoded once before the
#                            clock starts (one batch per partition, as many records as batch.size
#                            holds, the run's codec, idempotence off), written back to back on one
#                            connection with 5 unanswered: the most any client could get from this
#                            broker on this machine. Its latency is a request round trip.
#   consumers  kaflow        `kaflow perf consume` (a consumer group, like Java's tool)
#              java          Kafka 4.3.1 ConsumerPerformance (a consumer group)
#              rdkafka       BaseConsumer, every partition assigned from the beginning (no group),
#                            fetch.queue.backoff.ms=10 (librdkafka's 1 s default pauses fetching)
#              franz         kgo direct consumer of every partition from the start (no group)
#   Consumers read one topic a producer of the same combination filled (N records).
#
# Settings pinned for every producer (section 7 of the performance anchors):
#   acks=all, idempotence on, max 5 requests in flight per connection, linger 5 ms, max batch
#   BATCH bytes (uncompressed; default 65536), buffer 32 MiB, codec lz4/zstd at its default level
#   (lz4 fast, zstd 3), value only (no key), one random line of the payload file per record.
#   kaflow, java: acks=all enable.idempotence=true max.in.flight.requests.per.connection=5
#                 linger.ms=5 batch.size=$BATCH buffer.memory=33554432 compression.type=$CODEC
#                 --payload-file F --throughput -1
#   rdkafka:      acks=all enable.idempotence=true max.in.flight.requests.per.connection=5
#                 linger.ms=5 batch.size=$BATCH queue.buffering.max.kbytes=32768
#                 queue.buffering.max.messages=10000000 compression.codec=$CODEC
#   franz:        RequiredAcks(AllISRAcks) (idempotence is its default; franz-go keeps one produce
#                 request in flight per broker when idempotent) ProducerLinger(5ms)
#                 ProducerBatchMaxBytes($BATCH) MaxBufferedBytes(32 MiB) ProducerBatchCompression
# Consumers: max.partition.fetch.bytes 1 MiB everywhere, CRC checks off where the tool has them
# (Java's tool forces check.crcs=false; librdkafka's default is off; kaflow's perf consume sets it).
#
# Payloads (scripts/bench/peers/payloads.py, one file per size and kind, fed to every peer):
#   random  printable ASCII, lz4-incompressible (zstd's entropy stage gets ~1.2x)
#   json    JSON log events padded to the size (lz4 ~3x, zstd ~5x on the file)
#
# Per run: records/s and MiB/s (each tool's own summary line; every peer prints Java's format),
# client CPU-s per million records (user+sys of the client process from /usr/bin/time; the JVM's
# start-up is in Java's), peak RSS, p99 and average latency (producers; the replay's is a request
# round trip), fetch records/s (consumers: without the group join), the broker's CPU during the
# run and the 1-minute load average before it. Then the best run (highest records/s) of each
# peer per combination, every ratio to kaflow and to the ceiling, and issue 8's targets.
#
# Environment (a quick run: SIZES=100 PAYLOADS=random CODECS=lz4 N=500000 RUNS=1):
#   N=2000000            records per run at 100 B
#   N1K=N/4              records per run at 1 KB (disk: each 1 KB run writes N1K KiB)
#   SIZES="100 1024"     PAYLOADS="random json"   CODECS="none lz4 zstd"
#   PEERS="kaflow java rdkafka franz"   CEILING=1 (the replay)   CONSUME=1 (the consumers)
#   RUNS=2               runs of each peer per combination (order reversed on even runs)
#   BATCH=65536          max batch bytes for every producer; LINGER_MS=5
#   BUDGET=3600          seconds: no new combination starts after this (the rest is skipped)
#   BENCH_PORT=29710     broker port (the controller takes the next one)
#   BENCH_DIR            broker state, payload files, logs (default target/bench/compare)
#   CARGO_TARGET_DIR     where cargo builds kaflow and the rdkafka peer (default target)
#   KAFLOW_BIN           measure this kaflow binary instead of building one
#
# The broker, the client and anything else running share the machine's cores: compare peers
# within one run, and read the load column.
set -euo pipefail

N=${N:-2000000}
N1K=${N1K:-$((N / 4))}
SIZES=${SIZES:-100 1024}
PAYLOADS=${PAYLOADS:-random json}
CODECS=${CODECS:-none lz4 zstd}
PEERS=${PEERS:-kaflow java rdkafka franz}
CEILING=${CEILING:-1}
CONSUME=${CONSUME:-1}
RUNS=${RUNS:-2}
BATCH=${BATCH:-65536}
LINGER_MS=${LINGER_MS:-5}
BUDGET=${BUDGET:-3600}
PARTS=6
PORT=${BENCH_PORT:-29710}
BENCH_NAME=compare.sh
DIR=${BENCH_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target/bench/compare}
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
PEERS_SRC=$ROOT/scripts/bench/peers
RDK=$TARGET/peers-rdkafka/release/peer-rdkafka
FRANZ=$TARGET/peers/franz-bench

build_peers() {
  case " $PEERS " in *" rdkafka "*) need_rdk=1 ;; *) need_rdk=$CEILING ;; esac
  if [ "${need_rdk:-0}" = 1 ]; then
    note "building the rdkafka peer (librdkafka from the crate's bundled source; minutes the first time)"
    (cd "$PEERS_SRC/rdkafka" && cargo build --release -q --locked --target-dir "$TARGET/peers-rdkafka") \
      || die "building scripts/bench/peers/rdkafka failed"
  fi
  case " $PEERS " in
    *" franz "*)
      command -v go >/dev/null || die "go is needed for the franz-go peer (or leave franz out of PEERS)"
      note "building the franz-go peer"
      mkdir -p "$TARGET/peers"
      (cd "$PEERS_SRC/franz" && go build -o "$FRANZ" .) || die "building scripts/bench/peers/franz failed"
      ;;
  esac
}

bench_setup
build_peers
command -v python3 >/dev/null || die "python3 is needed to write the payload files"

PROD=$DIR/produce.tsv
CONS=$DIR/consume.tsv
: >"$PROD"
: >"$CONS"
T=$'\t'
TAG=$$
START=$(date +%s)

delete_topic() {
  "$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOT" --delete \
    --topic "$1" >/dev/null 2>&1 || note "could not delete topic $1 (disk fills faster)"
}

# payload_file KIND SIZE: the payload file (written once per run of this script).
payload_file() {
  local f="$DIR/payload-$1-$2.txt" lines=10000
  [ "$2" -ge 1000 ] && lines=4000
  [ -s "$f" ] || python3 "$PEERS_SRC/payloads.py" "$1" "$2" "$lines" >"$f" || die "cannot write $f"
  echo "$f"
}

# measure FILE CMD...: runs CMD under /usr/bin/time; sets LOAD, BCPU (broker CPU-s).
measure() {
  local tfile=$1 b0 b1
  shift
  LOAD=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(broker_ticks)
  timed "$tfile" "$@"
  local rc=$?
  b1=$(broker_ticks)
  BCPU=$(awk -v b="$((b1 - b0))" -v t="$TICK" 'BEGIN { printf "%.2f", b / t }')
  return $rc
}

# produce PEER SIZE KIND CODEC RUN N FILE: one producer run on a fresh topic; a row in $PROD.
# Prints the topic's name.
produce() {
  local peer=$1 size=$2 kind=$3 codec=$4 run=$5 n=$6 file=$7
  local topic="cmp-$kind-$size-$codec-$peer-$run-$TAG" log tfile
  log="$DIR/$topic.log"
  tfile="$DIR/$topic.time"
  create_topic "$topic" "$PARTS"
  local props=(--command-property bootstrap.servers="$BOOT" acks=all enable.idempotence=true
    max.in.flight.requests.per.connection=5 linger.ms="$LINGER_MS" batch.size="$BATCH"
    buffer.memory=33554432 compression.type="$codec")
  local args=(--topic "$topic" --num-records "$n" --payload-file "$file" --throughput -1)
  local cmd
  case $peer in
    kaflow) cmd=("$KAFLOW" perf produce "${args[@]}" "${props[@]}") ;;
    java) cmd=("$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.ProducerPerformance "${args[@]}" "${props[@]}") ;;
    rdkafka) cmd=("$RDK" produce --bootstrap "$BOOT" --topic "$topic" --num-records "$n" --payload-file "$file"
      --codec "$codec" --linger-ms "$LINGER_MS" --batch-bytes "$BATCH" --buffer-bytes 33554432) ;;
    franz) cmd=("$FRANZ" -mode produce -brokers "$BOOT" -topic "$topic" -n "$n" -payload-file "$file"
      -compression "$codec" -linger "${LINGER_MS}ms" -batch-max-bytes "$BATCH" -buffer-bytes 33554432) ;;
    ceiling) cmd=("$RDK" replay --bootstrap "$BOOT" --topic "$topic" --num-records "$n" --payload-file "$file"
      --codec "$codec" --batch-bytes "$BATCH" --partitions "$PARTS" --inflight 5) ;;
    *) die "unknown peer $peer" ;;
  esac
  if ! measure "$tfile" "${cmd[@]}" >"$log" 2>&1; then
    note "$peer run failed (log: $log); row skipped"
    echo "$topic"
    return 0
  fi
  local summary
  summary=$(grep -E '^[0-9]+ records sent, [0-9.]+ records/sec .*99.9th\.$' "$log" | tail -1)
  if [ -z "$summary" ]; then
    note "no summary line in $log; row skipped"
  else
    echo "$summary" | awk -v peer="$peer" -v size="$size" -v kind="$kind" -v codec="$codec" -v run="$run" \
        -v load="$LOAD" -v bcpu="$BCPU" -v t="$(cat "$tfile")" '
      {
        gsub(/[(),]/, "");
        n = $1; rps = $4; mib = $6; avg = $8; p99 = $22;
        split(t, tt, " "); cpu = tt[1] + tt[2];
        printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%.2f\t%.3f\t%.2f\t%.2f\t%.1f\t%d\t%.1f\t%.2f\t%.2f\t%s\n",
          size, kind, codec, peer, run, rps, mib, cpu * 1e6 / n, tt[1], tt[2], tt[3] / 1024, p99, avg,
          bcpu, tt[4], load
      }' >>"$PROD"
    note "produce $size B $kind $codec $peer run $run: $(tail -1 "$PROD" | cut -f6) records/s"
  fi
  echo "$topic"
}

# consume PEER SIZE KIND CODEC RUN N TOPIC: one read of all N records; a row in $CONS.
consume() {
  local peer=$1 size=$2 kind=$3 codec=$4 run=$5 n=$6 topic=$7
  local name="cons-$kind-$size-$codec-$peer-$run-$TAG" log tfile
  log="$DIR/$name.log"
  tfile="$DIR/$name.time"
  local args=(--bootstrap-server "$BOOT" --topic "$topic" --num-records "$n" --group "$name" --timeout 30000)
  local cmd
  case $peer in
    kaflow) cmd=("$KAFLOW" perf consume "${args[@]}") ;;
    java) cmd=("$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.ConsumerPerformance "${args[@]}") ;;
    rdkafka) cmd=("$RDK" consume --bootstrap "$BOOT" --topic "$topic" --num-records "$n") ;;
    franz) cmd=("$FRANZ" -mode consume -brokers "$BOOT" -topic "$topic" -n "$n") ;;
    *) return 0 ;;
  esac
  if ! measure "$tfile" "${cmd[@]}" >"$log" 2>&1; then
    note "$peer consume failed (log: $log); row skipped"
    return 0
  fi
  local summary
  summary=$(awk -F', ' 'NF == 10 && $1 ~ /^[0-9]/' "$log" | tail -1)
  if [ -z "$summary" ] || [ "$(echo "$summary" | awk -F', ' '{print $5}')" != "$n" ]; then
    note "$peer read other than $n records or printed no summary (log: $log); row skipped"
    return 0
  fi
  echo "$summary" | awk -F', ' -v peer="$peer" -v size="$size" -v kind="$kind" -v codec="$codec" -v run="$run" \
      -v load="$LOAD" -v bcpu="$BCPU" -v n="$n" -v t="$(cat "$tfile")" '
    {
      split(t, tt, " "); cpu = tt[1] + tt[2];
      printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%.2f\t%.0f\t%.3f\t%.2f\t%.2f\t%.1f\t%.2f\t%.2f\t%s\n",
        size, kind, codec, peer, run, $6, $4, $10, cpu * 1e6 / n, tt[1], tt[2], tt[3] / 1024, bcpu, tt[4], load
    }' >>"$CONS"
  note "consume $size B $kind $codec $peer run $run: $(tail -1 "$CONS" | cut -f6) records/s"
}

# order RUN PEER...: the peers of one run; even runs go in reverse so no peer always follows
# the same one.
order() {
  local run=$1 out=() i
  shift
  if [ $((run % 2)) -eq 0 ]; then
    for ((i = $#; i >= 1; i--)); do out+=("${!i}"); done
  else
    out=("$@")
  fi
  echo "${out[@]}"
}

# A fresh broker's JIT is cold: one unmeasured produce per codec first, so the first measured
# peer does not pay for it.
warmup() {
  local t="cmp-warmup-$TAG" codec
  create_topic "$t" "$PARTS"
  for codec in $CODECS; do
    "$KAFLOW" perf produce --topic "$t" --num-records 300000 --record-size 100 --throughput -1 \
      --command-property bootstrap.servers="$BOOT" compression.type="$codec" >"$DIR/warmup-$codec.log" 2>&1 \
      || note "warm-up ($codec) failed (log: $DIR/warmup-$codec.log)"
  done
  delete_topic "$t"
}

read -ra PEER_LIST <<<"$PEERS"
PRODUCERS=("${PEER_LIST[@]}")
[ "$CEILING" = 1 ] && PRODUCERS=(ceiling "${PRODUCERS[@]}")
SKIPPED=()
note "warming the broker up (kaflow, 300000 x 100 B per codec, unmeasured)"
warmup
note "loadavg at the start: $(cat /proc/loadavg)"
for size in $SIZES; do
  n=$N
  [ "$size" -ge 1000 ] && n=$N1K
  for kind in $PAYLOADS; do
    file=$(payload_file "$kind" "$size")
    for codec in $CODECS; do
      if [ $(($(date +%s) - START)) -ge "$BUDGET" ]; then
        SKIPPED+=("$size B $kind $codec")
        continue
      fi
      keep=""
      for run in $(seq 1 "$RUNS"); do
        for peer in $(order "$run" "${PRODUCERS[@]}"); do
          topic=$(produce "$peer" "$size" "$kind" "$codec" "$run" "$n" "$file")
          [ -n "$topic" ] || die "cannot create a topic for $peer"
          # The consumers read the first topic a (non-replay) producer filled; the rest go now.
          if [ -z "$keep" ] && [ "$peer" != ceiling ] && [ "$CONSUME" = 1 ] &&
            grep -q "^$size$T$kind$T$codec$T$peer$T$run$T" "$PROD"; then
            keep=$topic
          else
            delete_topic "$topic"
          fi
        done
      done
      if [ -n "$keep" ]; then
        for run in $(seq 1 "$RUNS"); do
          for peer in $(order "$run" "${PEER_LIST[@]}"); do consume "$peer" "$size" "$kind" "$codec" "$run" "$n" "$keep"; done
        done
        delete_topic "$keep"
      fi
    done
  done
done

echo
echo "## kaflow vs peers: $N x 100 B / $N1K x 1 KiB per run, $PARTS partitions, acks=all, idempotence, linger.ms=$LINGER_MS, batch $BATCH B, RUNS=$RUNS"
echo "machine: $(machine); loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "### Producers (all runs)"
echo
table "$PROD" size payload codec peer run records/s MiB/s CPU-s/M user-s sys-s "RSS MiB" "p99 ms" "avg ms" "broker CPU-s" "wall s" load
if [ -s "$CONS" ]; then
  echo
  echo "### Consumers (all runs)"
  echo
  table "$CONS" size payload codec peer run records/s MiB/s "fetch rec/s" CPU-s/M user-s sys-s "RSS MiB" "broker CPU-s" "wall s" load
fi

# best FILE: the best run (highest records/s) of each size/payload/codec/peer, one line each:
# size payload codec peer records/s MiB/s CPU-s/M RSS p99-or-fetch
best() {
  awk -F'\t' -v cons="$2" '
    { k = $1 FS $2 FS $3 FS $4; if (!(k in r) || $6 > r[k]) { r[k] = $6; m[k] = $7;
        if (cons) { c[k] = $9; s[k] = $12; x[k] = $8 } else { c[k] = $8; s[k] = $11; x[k] = $12 } } }
    END { for (k in r) print k FS r[k] FS m[k] FS c[k] FS s[k] FS x[k] }' "$1" | sort -t$'\t' -k1,1n -k2,2 -k3,3 -k4,4
}

# ratios FILE CONS: per combination and peer, the best run and its ratios to kaflow and the ceiling.
ratios() {
  best "$1" "$2" | awk -F'\t' -v cons="$2" '
    { k = $1 FS $2 FS $3; rows[++nr] = $0; rps[k, $4] = $5; cpu[k, $4] = $7 }
    END {
      for (i = 1; i <= nr; i++) {
        split(rows[i], f, "\t"); k = f[1] FS f[2] FS f[3]; kr = rps[k, "kaflow"]; kc = cpu[k, "kaflow"]; cr = rps[k, "ceiling"];
        a = (kr > 0 && f[5] > 0) ? sprintf("%.2f", kr / f[5]) : "-";
        b = (kc > 0 && f[7] > 0) ? sprintf("%.2f", kc / f[7]) : "-";
        c = (cr > 0) ? sprintf("%.0f%%", 100 * f[5] / cr) : "-";
        if (cons) printf "%s\t%s\t%s\t%s\t%d\t%.2f\t%.3f\t%.1f\t%d\t%s\t%s\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], a, b;
        else printf "%s\t%s\t%s\t%s\t%d\t%.2f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], a, b, c;
      }
    }'
}

echo
echo "### Producers: best run of each peer; ratios kaflow / peer and peer / replay ceiling"
echo
ratios "$PROD" "" >"$DIR/produce-best.tsv"
table "$DIR/produce-best.tsv" size payload codec peer records/s MiB/s CPU-s/M "RSS MiB" "p99 ms" "kaflow/peer rec/s" "kaflow/peer CPU" "of ceiling"
if [ -s "$CONS" ]; then
  echo
  echo "### Consumers: best run of each peer; ratios kaflow / peer"
  echo
  ratios "$CONS" 1 >"$DIR/consume-best.tsv"
  table "$DIR/consume-best.tsv" size payload codec peer records/s MiB/s CPU-s/M "RSS MiB" "fetch rec/s" "kaflow/peer rec/s" "kaflow/peer CPU"
fi

echo
echo "### Issue 8 targets"
echo
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if (v == "" || v == "-") print "not measured"; else if ((op == ">=" && v + 0 >= t) || (op == "<=" && v + 0 <= t)) print "MET"; else print "NOT MET" }'; }
col() { awk -F'\t' -v s="$2" -v k="$3" -v c="$4" -v p="$5" -v i="$6" '$1 == s && $2 == k && $3 == c && $4 == p { print $i }' "$1"; }
for kind in $PAYLOADS; do
  if grep -q "^100${T}$kind${T}lz4${T}kaflow$T" "$DIR/produce-best.tsv" 2>/dev/null; then
    for p in java:1.3 rdkafka:1.1 franz:1.0; do
      v=$(col "$DIR/produce-best.tsv" 100 "$kind" lz4 "${p%%:*}" 10)
      echo "- produce 100 B $kind lz4: kaflow records/s >= ${p#*:}x ${p%%:*}: x${v:--} -> $(verdict "$v" "${p#*:}" ">=")"
    done
    v=$(col "$DIR/produce-best.tsv" 100 "$kind" lz4 java 11)
    echo "- produce 100 B $kind lz4: kaflow client CPU per record <= 0.5x java's: x${v:--} -> $(verdict "$v" 0.5 "<=")"
    v=$(col "$DIR/produce-best.tsv" 100 "$kind" lz4 kaflow 12)
    echo "- produce 100 B $kind lz4: kaflow >= 85% of the replay ceiling: ${v:--} -> $(verdict "${v%\%}" 85 ">=")"
  else
    echo "- produce 100 B $kind lz4: not measured in this run"
  fi
done
if [ -s "$CONS" ]; then
  while IFS=$'\t' read -r s k c p _ _ _ _ _ r _; do
    [ "$p" = java ] || continue
    echo "- consume $s B $k $c: kaflow records/s >= 1.3x java: x$r -> $(verdict "$r" 1.3 ">=")"
  done <"$DIR/consume-best.tsv"
fi
[ ${#SKIPPED[@]} -eq 0 ] || echo "- skipped (BUDGET=${BUDGET}s spent): ${SKIPPED[*]}"
echo
echo "raw rows: $PROD $CONS; logs: $DIR/*.log"
