#!/usr/bin/env bash
# scripts/bench/consumer.sh — kaflow perf consume vs Kafka's own ConsumerPerformance (4.3.1), side by side.
#
# One fresh single-node broker and two 6-partition topics, each filled once by `kaflow perf
# produce` with N records of 100 bytes (the producer's defaults otherwise: acks=all, idempotence,
# linger.ms=5, batch.size=16384): one uncompressed, one with compression.type=zstd. Then Java's
# ConsumerPerformance and `kaflow perf consume` read all N records of each topic, alternating,
# RUNS times each, every run in a fresh consumer group (so from the earliest offset) with the
# tools' defaults (max.partition.fetch.bytes 1 MiB, fetch.max.bytes 50 MiB, check.crcs=false).
# Per run it records: records/s and MB/s (the summary line's nMsg.sec and MB.sec: the whole run
# from the tool's start, group join included), fetch records/s (fetch.nMsg.sec: without the
# join), the rebalance (join) ms, client CPU (user+sys of the client process, from
# /usr/bin/time; the JVM's start-up is part of Java's), CPU seconds per million records, peak
# RSS, wall seconds, the broker's CPU during the run (/proc/PID/stat) and the loadavg before it.
#
# Environment:
#   N=5000000          records per topic (every run reads all of them)
#   RUNS=2             runs of each tool and codec (the table shows all; the summary uses the
#                      run with the higher records/s of each tool)
#   CODECS="none zstd" the topics' compression
#   BENCH_PORT=29710   broker port (the controller takes the next one)
#   BENCH_DIR          broker state and logs (default target/bench/consumer)
#   CARGO_TARGET_DIR   where cargo builds kaflow (default target)
#   KAFLOW_BIN         measure this kaflow binary instead of building one
#   KAFLOW_PERF_THREADS  kaflow's runtime worker threads (default: one per core)
#
# The broker, the client and anything else running share the machine's cores: the loadavg
# before each run is printed so a noisy neighbour is visible.
set -euo pipefail

N=${N:-5000000}
RUNS=${RUNS:-2}
CODECS=${CODECS:-none zstd}
PORT=${BENCH_PORT:-29710}
BENCH_NAME=consumer.sh
DIR=${BENCH_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target/bench/consumer}
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup

RESULTS=$DIR/results.tsv
: >"$RESULTS"
TAG=$$

# fill CODEC: a fresh 6-partition topic with N records of 100 bytes in that codec.
fill() {
  local codec=$1 topic="bench-consume-$1-$TAG"
  create_topic "$topic" 6
  note "filling $topic with $N x 100 B ($codec)"
  "$KAFLOW" perf produce --topic "$topic" --num-records "$N" --record-size 100 --throughput -1 \
      --command-property bootstrap.servers="$BOOT" compression.type="$codec" >"$DIR/$topic.fill.log" 2>&1 \
    || die "filling $topic failed (log: $DIR/$topic.fill.log)"
  grep -qE "^$N records sent" "$DIR/$topic.fill.log" || die "filling $topic sent fewer than $N records"
}

# run PEER CODEC RUN: one measured read of the codec's topic; appends a row to $RESULTS.
run() {
  local peer=$1 codec=$2 run=$3 topic log tfile b0 b1 load group
  topic="bench-consume-$codec-$TAG"
  group="bench-$peer-$codec-$run-$TAG"
  log="$DIR/$group.log"
  tfile="$DIR/$group.time"
  local args=(--bootstrap-server "$BOOT" --topic "$topic" --num-records "$N" --group "$group" --timeout 30000)
  load=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(broker_ticks)
  case $peer in
    java) timed "$tfile" "$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.ConsumerPerformance "${args[@]}" >"$log" 2>&1 ;;
    kaflow) timed "$tfile" "$KAFLOW" perf consume "${args[@]}" >"$log" 2>&1 ;;
  esac || die "$peer run failed (log: $log)"
  b1=$(broker_ticks)
  # start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  local summary
  summary=$(awk -F', ' 'NF == 10 && $1 ~ /^[0-9]/' "$log" | tail -1)
  [ -n "$summary" ] || die "no summary line in $log"
  [ "$(echo "$summary" | awk -F', ' '{print $5}')" = "$N" ] || die "$peer read other than $N records (log: $log)"
  echo "$summary" | awk -F', ' -v peer="$peer" -v codec="$codec" -v run="$run" -v load="$load" \
      -v bcpu="$(( b1 - b0 ))" -v tick="$TICK" -v n="$N" -v t="$(cat "$tfile")" '
    {
      split(t, tt, " "); cpu = tt[1] + tt[2];
      printf "%s\t%s\t%s\t%.0f\t%.2f\t%.0f\t%d\t%.2f\t%.2f\t%.2f\t%.3f\t%.1f\t%.2f\t%.2f\t%s\n",
        peer, codec, run, $6, $4, $10, $7, tt[1], tt[2], cpu, cpu * 1e6 / n, tt[3] / 1024,
        bcpu / tick, tt[4], load
    }' >>"$RESULTS"
  note "$(tail -1 "$RESULTS" | cut -f1-4) records/s"
}

note "loadavg before the fill: $(cat /proc/loadavg)"
for codec in $CODECS; do fill "$codec"; done
PEERS=(java kaflow)
for run in $(seq 1 "$RUNS"); do
  for codec in $CODECS; do
    for peer in "${PEERS[@]}"; do run "$peer" "$codec" "$run"; done
  done
done

echo
echo "kaflow perf consume vs ConsumerPerformance (Kafka 4.3.1): $N x 100 B per topic, 6 partitions, codecs: $CODECS"
echo "machine: $(machine)"
echo
table "$RESULTS" tool codec run records/s MB/s "fetch rec/s" "rebal ms" user-s sys-s CPU-s CPU-s/M "RSS MiB" "broker CPU" "wall s" load

echo
echo "Best run of each tool (higher records/s); ratios kaflow/java:"
for codec in $CODECS; do
  awk -F'\t' -v codec="$codec" '
    $2 == codec && $1 == "java"   && $4 > jr { jr = $4; jf = $6; jc = $10; jm = $12 }
    $2 == codec && $1 == "kaflow" && $4 > kr { kr = $4; kf = $6; kc = $10; km = $12 }
    END {
      if (jr == 0 || kr == 0) exit;
      r = kr / jr;
      verdict = (r >= 1.3) ? "MET" : "NOT MET";
      printf "%-4s records/s %.0f vs %.0f (x%.2f), fetch records/s %.0f vs %.0f (x%.2f), client CPU %.2f s vs %.2f s (x%.2f), RSS %.0f vs %.0f MiB -> target \"at least 1.3x the Java consumer'"'"'s records/s\": %s\n",
        codec, kr, jr, r, kf, jf, kf / jf, kc, jc, kc / jc, km, jm, verdict
    }' "$RESULTS"
done
echo
echo "raw rows: $RESULTS; logs: $DIR/bench-*.log"
