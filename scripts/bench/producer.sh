#!/usr/bin/env bash
# scripts/bench/producer.sh — kaflow perf produce vs Kafka's own ProducerPerformance (4.3.1), side by side.
#
# One fresh single-node broker (own state dir and port), one fresh 6-partition topic per run, the
# same producer settings for both tools: 100-byte records, acks=all, enable.idempotence=true,
# compression.type=lz4, linger.ms=5, and batch.size 16384 (Java's default) then 65536.
# Per run it measures: records/s and MiB/s (the tool's own summary line), client CPU (user+sys of
# the client process, from /usr/bin/time; the JVM's start-up is part of Java's), CPU seconds per
# million records, peak RSS, p99 latency, and the broker's CPU during the run (/proc/PID/stat).
#
# Environment:
#   N=5000000          records per run
#   RUNS=2             runs of each tool and config (the table shows all; the summary uses the
#                      run with the higher records/s of each tool)
#   REGEN=1            also run kaflow with --payload-regenerate (Java's per-record payload work)
#   BENCH_PORT=29610   broker port (the controller takes the next one)
#   BENCH_DIR          broker state and logs (default target/bench/producer)
#   CARGO_TARGET_DIR   where cargo builds kaflow (default target)
#   KAFLOW_BIN         measure this kaflow binary instead of building one
#   KAFLOW_PERF_THREADS  kaflow's runtime worker threads (default: one per core)
#
# The broker, the client and (here) anything else running share the machine's cores: the
# loadavg before each run is printed so a noisy neighbour is visible.
set -euo pipefail

N=${N:-5000000}
RUNS=${RUNS:-2}
REGEN=${REGEN:-1}
PORT=${BENCH_PORT:-29610}
BENCH_NAME=producer.sh
DIR=${BENCH_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target/bench/producer}
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup

COMMON=(acks=all enable.idempotence=true compression.type=lz4 linger.ms=5)
RESULTS=$DIR/results.tsv
: >"$RESULTS"

# run PEER BATCH RUN: one measured run on a fresh topic; appends a row to $RESULTS.
run() {
  local peer=$1 batch=$2 run=$3 topic log tfile b0 b1 load
  topic="bench-$peer-$batch-$run-$$"
  log="$DIR/$topic.log"
  tfile="$DIR/$topic.time"
  create_topic "$topic" 6
  # Producers start at once on the new topic, as users' do: CreateTopics answers before every
  # partition's log exists, so both peers may see a retriable error on their first batches.
  local props=(--command-property bootstrap.servers="$BOOT" "${COMMON[@]}" batch.size="$batch")
  local args=(--topic "$topic" --num-records "$N" --record-size 100 --throughput -1)
  load=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(broker_ticks)
  case $peer in
    java) timed "$tfile" "$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.ProducerPerformance "${args[@]}" "${props[@]}" >"$log" 2>&1 ;;
    kaflow) timed "$tfile" "$KAFLOW" perf produce "${args[@]}" "${props[@]}" >"$log" 2>&1 ;;
    kaflow-regen) timed "$tfile" "$KAFLOW" perf produce "${args[@]}" --payload-regenerate "${props[@]}" >"$log" 2>&1 ;;
  esac || die "$peer run failed (log: $log)"
  b1=$(broker_ticks)
  # N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency, a ms 50th, b ms 95th, c ms 99th, d ms 99.9th.
  local summary
  summary=$(grep -E '^[0-9]+ records sent, [0-9.]+ records/sec .*99.9th\.$' "$log" | tail -1)
  [ -n "$summary" ] || die "no summary line in $log"
  echo "$summary" | awk -v peer="$peer" -v batch="$batch" -v run="$run" -v load="$load" \
      -v bcpu="$(( b1 - b0 ))" -v tick="$TICK" -v n="$N" -v t="$(cat "$tfile")" '
    {
      gsub(/[(),]/, "");
      rps = $4; mib = $6; avg = $8; p99 = $22;
      split(t, tt, " "); cpu = tt[1] + tt[2];
      printf "%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%.1f\t%d\t%.1f\t%.2f\t%.2f\t%s\n",
        peer, batch, run, rps, mib, tt[1], tt[2], cpu, cpu * 1e6 / n, tt[3] / 1024, p99, avg,
        bcpu / tick, tt[4], load
    }' >>"$RESULTS"
  note "$(tail -1 "$RESULTS" | cut -f1-4) records/s"
}

PEERS=(java kaflow)
[ "$REGEN" = 1 ] && PEERS+=(kaflow-regen)
for run in $(seq 1 "$RUNS"); do
  for batch in 16384 65536; do
    for peer in "${PEERS[@]}"; do run "$peer" "$batch" "$run"; done
  done
done

echo
echo "kaflow perf produce vs ProducerPerformance (Kafka 4.3.1): $N x 100 B, acks=all, idempotence, lz4, linger.ms=5, 6 partitions"
echo "machine: $(machine)"
echo
table "$RESULTS" tool batch run records/s MiB/s user-s sys-s CPU-s CPU-s/M "RSS MiB" "p99 ms" "avg ms" "broker CPU" "wall s" load

echo
echo "Best run of each tool (higher records/s); ratios kaflow/java:"
for batch in 16384 65536; do
  for peer in "${PEERS[@]}"; do
    [ "$peer" = java ] && continue
    awk -F'\t' -v batch="$batch" -v peer="$peer" '
      $2 == batch && $1 == "java" && $4 > jr { jr = $4; jc = $8; jm = $10 }
      $2 == batch && $1 == peer   && $4 > kr { kr = $4; kc = $8; km = $10 }
      END {
        if (jr == 0 || kr == 0) exit;
        r = kr / jr; c = kc / jc;
        verdict = (r >= 1.0 && c <= 0.8) ? "MET" : "NOT MET";
        printf "batch.size=%s %-12s records/s %.0f vs %.0f (x%.2f), client CPU %.2f s vs %.2f s (x%.2f), RSS %.0f vs %.0f MiB -> target \"at least equal records/s with clearly less client CPU\": %s\n",
          batch, peer, kr, jr, r, kc, jc, c, km, jm, verdict
      }' "$RESULTS"
  done
done
echo
echo "raw rows: $RESULTS; logs: $DIR/bench-*.log"
