#!/usr/bin/env bash
# scripts/bench/allocator.sh — kaflow's global allocator: system vs mimalloc vs jemalloc.
#
# Three static x86_64 kaflow binaries that differ only in the allocator feature (built with
# scripts/build-static.sh unless already there), one fresh single-node broker. Each run, for each
# allocator in turn (the order rotates every run so no allocator always goes first after the
# broker's idle time): `kaflow perf produce` of N x 100 B records to a fresh 6-partition topic
# (acks=all, idempotence, lz4, linger.ms=5, the tool's default batch.size), then `kaflow perf
# consume` of exactly those N records in a fresh group with the same binary.
# Per run: records/s (the tool's summary line; the consumer's includes its group join), client
# CPU (user+sys, /usr/bin/time), CPU seconds per million records, peak RSS, wall seconds and the
# loadavg before the run. The summary gives each allocator's median records/s and RSS.
#
# Environment:
#   N=3000000          records per run
#   RUNS=3             runs of each allocator
#   ALLOCATORS="system mimalloc jemalloc"
#   BENCH_PORT=29610   broker port (the controller takes the next one)
#   BENCH_DIR          broker state and logs (default target/bench/allocator)
#   ALLOC_BIN_DIR      where the binaries are (<dir>/<allocator>/kaflow-x86_64-linux-static;
#                      default $CARGO_TARGET_DIR/alloc-bench)
set -euo pipefail

N=${N:-3000000}
RUNS=${RUNS:-3}
read -r -a ALLOCS <<<"${ALLOCATORS:-system mimalloc jemalloc}"
PORT=${BENCH_PORT:-29610}
BENCH_NAME=allocator.sh
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${BENCH_DIR:-$HERE/../../target/bench/allocator}
BINS=${ALLOC_BIN_DIR:-${CARGO_TARGET_DIR:-$HERE/../../target}/alloc-bench}

bin_of() { echo "$BINS/$1/kaflow-x86_64-linux-static"; }
for a in "${ALLOCS[@]}"; do
  if [ ! -x "$(bin_of "$a")" ]; then
    features=$a
    [ "$a" = system ] && features=""
    echo "$BENCH_NAME: building the $a binary" >&2
    KAFLOW_FEATURES=$features OUT=$BINS/$a "$HERE/../build-static.sh" x86_64 >&2
  fi
done
# lib.sh measures KAFLOW_BIN instead of building; each run below names its own binary.
KAFLOW_BIN=$(bin_of "${ALLOCS[0]}")
# shellcheck source=scripts/bench/lib.sh
. "$HERE/lib.sh"
bench_setup
for a in "${ALLOCS[@]}"; do
  "$(bin_of "$a")" version | grep -qx "Allocator: $a" || die "$(bin_of "$a") is not built with $a"
done

RESULTS=$DIR/results.tsv
: >"$RESULTS"
TAG=$$

# row ALLOC TOOL RUN RECS_PER_S MIB_S TIMEFILE P99 LOAD: appends one row to $RESULTS.
row() {
  awk -v a="$1" -v tool="$2" -v run="$3" -v rps="$4" -v mib="$5" -v t="$(cat "$6")" -v p99="$7" \
      -v load="$8" -v n="$N" 'BEGIN {
    split(t, tt, " "); cpu = tt[1] + tt[2];
    printf "%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%.3f\t%.1f\t%s\t%.2f\t%s\n",
      a, tool, run, rps, mib, cpu, cpu * 1e6 / n, tt[3] / 1024, p99, tt[4], load }' >>"$RESULTS"
  note "$(tail -1 "$RESULTS" | cut -f1-4) records/s, $(tail -1 "$RESULTS" | cut -f8) MiB RSS"
}

# run ALLOC RUN: produce N records to a fresh topic, then consume exactly them.
run() {
  local a=$1 run=$2 bin topic log tfile load summary
  bin=$(bin_of "$a")
  topic="bench-alloc-$a-$run-$TAG"
  log="$DIR/$topic"
  create_topic "$topic" 6
  load=$(cut -d' ' -f1 /proc/loadavg)
  timed "$log.produce.time" "$bin" perf produce --topic "$topic" --num-records "$N" --record-size 100 \
      --throughput -1 --command-property bootstrap.servers="$BOOT" acks=all enable.idempotence=true \
      compression.type=lz4 linger.ms=5 >"$log.produce.log" 2>&1 || die "$a produce failed (log: $log.produce.log)"
  # N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency, a ms 50th, b ms 95th, c ms 99th, d ms 99.9th.
  summary=$(grep -E "^$N records sent, [0-9.]+ records/sec .*99.9th\.$" "$log.produce.log" | tail -1 | tr -d '(),')
  [ -n "$summary" ] || die "no summary line with $N records sent in $log.produce.log"
  row "$a" produce "$run" "$(echo "$summary" | awk '{print $4}')" "$(echo "$summary" | awk '{print $6}')" \
    "$log.produce.time" "$(echo "$summary" | awk '{print $22}')" "$load"

  load=$(cut -d' ' -f1 /proc/loadavg)
  timed "$log.consume.time" "$bin" perf consume --bootstrap-server "$BOOT" --topic "$topic" \
      --num-records "$N" --group "$topic" --timeout 30000 >"$log.consume.log" 2>&1 \
    || die "$a consume failed (log: $log.consume.log)"
  # start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  summary=$(awk -F', ' 'NF == 10 && $1 ~ /^[0-9]/' "$log.consume.log" | tail -1)
  [ "$(echo "$summary" | awk -F', ' '{print $5}')" = "$N" ] || die "$a read other than $N records (log: $log.consume.log)"
  row "$a" consume "$run" "$(echo "$summary" | awk -F', ' '{print $6}')" "$(echo "$summary" | awk -F', ' '{print $4}')" \
    "$log.consume.time" - "$load"
}

note "loadavg before the first run: $(cat /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
  for i in "${!ALLOCS[@]}"; do
    run "${ALLOCS[$(((i + run - 1) % ${#ALLOCS[@]}))]}" "$run"
  done
done

echo
echo "kaflow allocators: $N x 100 B, acks=all, idempotence, lz4, linger.ms=5, 6 partitions; static x86_64 binaries"
echo "machine: $(machine)"
echo
table "$RESULTS" allocator tool run records/s MiB/s CPU-s CPU-s/M "RSS MiB" "p99 ms" "wall s" load
echo
echo "Medians over $RUNS runs:"
# median COLUMN ALLOC TOOL: the median of that column over the allocator's runs of the tool.
median() {
  awk -F'\t' -v col="$1" -v a="$2" -v tool="$3" '$1 == a && $2 == tool { print $col }' "$RESULTS" \
    | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
for tool in produce consume; do
  for a in "${ALLOCS[@]}"; do
    printf '%-8s %-9s records/s %8s   CPU-s/M %s   RSS %s MiB\n' "$tool" "$a" \
      "$(median 4 "$a" "$tool")" "$(median 7 "$a" "$tool")" "$(median 8 "$a" "$tool")"
  done
done
echo
echo "raw rows: $RESULTS; logs: $DIR/bench-alloc-*"
