#!/usr/bin/env bash
# scripts/bench/rest_load.sh — issue 6's load criterion: 1,000 concurrent status requests while a
# pipeline runs at full speed, every one answered, the pipeline slowed by at most a few percent.
#
# One fresh broker, one `kaflow standalone` worker running a DatagenSource task at full speed
# (unbounded, 100-byte string records, one task) into a fresh topic. Its records/s comes from the
# worker's own counter (kafka_connect_source_task_source_record_write_total on GET /metrics).
# Then ROUNDS times, alternating: a quiet window of WINDOW seconds, and an equal window during
# which one load process (python3 asyncio, one connection per request) keeps firing waves of
# 1,000 concurrent GET /connectors/gen/status until the window ends. Printed per window: records/s,
# and for load windows the requests answered 200, failed, and the slowest answer; at the end the
# mean slowdown in percent (quiet vs loaded records/s).
#
# Environment:
#   ROUNDS=3           quiet/load window pairs
#   WINDOW=10          seconds per window
#   CONCURRENCY=1000   requests per wave
#   BENCH_PORT=29640   broker port (the controller takes the next one)
#   BENCH_DIR          broker state, worker files and logs (default target/bench/rest_load)
#   KAFLOW_BIN         measure this kaflow binary instead of building one
#
# The load generator runs on the same cores as the worker and the broker: its CPU is part of
# what slows the pipeline, so the slowdown is an upper bound for the server's own cost.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
WINDOW=${WINDOW:-10}
CONCURRENCY=${CONCURRENCY:-1000}
PORT=${BENCH_PORT:-29640}
BENCH_NAME=rest_load.sh
DIR=${BENCH_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target/bench/rest_load}
# shellcheck source=scripts/bench/lib.sh
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || die "python3 is needed for the load generator"
command -v curl >/dev/null || die "curl is needed"
bench_setup

REST_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REST=127.0.0.1:$REST_PORT
W=$DIR/worker
rm -rf "$W" && mkdir -p "$W"
cat >"$W/worker.properties" <<EOF
bootstrap.servers=$BOOT
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.storage.file.filename=$W/connect.offsets
listeners=http://$REST
EOF
TOPIC=rest-load-$$
create_topic "$TOPIC" 6
(cd "$W" && RUST_LOG=warn exec "$KAFLOW" standalone worker.properties >"$W/worker.log" 2>&1) &
WORKER_PID=$!
trap 'kill "$WORKER_PID" 2>/dev/null; wait "$WORKER_PID" 2>/dev/null; stop_broker' EXIT
for _ in $(seq 200); do curl -fs "http://$REST/health" >/dev/null && break; sleep 0.1; done
curl -fs "http://$REST/health" >/dev/null || die "the worker's REST API never answered (see $W/worker.log)"
curl -fs -X POST -H 'Content-Type: application/json' "http://$REST/connectors" -d "{\"name\":\"gen\",\"config\":{
  \"connector.class\":\"DatagenSource\",\"topic\":\"$TOPIC\",\"tasks.max\":\"1\",\"max.messages\":\"-1\",
  \"record.shape\":\"string\",\"record.size\":\"100\"}}" >/dev/null || die "cannot create the datagen connector"

written() {
  curl -fs "http://$REST/metrics" \
    | awk '/^kafka_connect_source_task_source_record_write_total\{connector="gen",task="0"\}/ {print $2}'
}
for _ in $(seq 600); do [ "$(written || echo 0)" -gt 200000 ] 2>/dev/null && break; sleep 0.1; done
note "warm: $(written) records written; $ROUNDS rounds of ${WINDOW}s quiet + ${WINDOW}s under load"

LOAD=$DIR/load.py
cat >"$LOAD" <<'EOF'
import asyncio, sys, time
host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
req = f"GET /connectors/gen/status HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
async def one():
    t = time.monotonic()
    try:
        r, w = await asyncio.open_connection(host, port)
        w.write(req)
        data = await r.read()
        w.close()
        ok = data.startswith(b"HTTP/1.1 200") and b'"RUNNING"' in data
    except OSError:
        ok = False
    return ok, time.monotonic() - t
async def main():
    end = time.monotonic() + secs
    ok = bad = 0
    slowest = 0.0
    while time.monotonic() < end:
        for good, took in await asyncio.gather(*(one() for _ in range(n))):
            ok += good
            bad += not good
            slowest = max(slowest, took)
    print(ok, bad, f"{slowest:.3f}")
asyncio.run(main())
EOF
ulimit -n 65536 2>/dev/null || ulimit -n 4096 || true

measure() { # measure quiet|load: prints records/s [ok failed slowest]
  local n0 n1 t0 t1 extra=""
  n0=$(written); t0=$(date +%s.%N)
  if [ "$1" = load ]; then
    extra=$(python3 "$LOAD" 127.0.0.1 "$REST_PORT" "$CONCURRENCY" "$WINDOW")
  else
    sleep "$WINDOW"
  fi
  n1=$(written); t1=$(date +%s.%N)
  echo "$(awk -v a="$n0" -v b="$n1" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.0f", (b - a) / (e - s)}') $extra"
}

RESULTS=$DIR/results.tsv
: >"$RESULTS"
for r in $(seq "$ROUNDS"); do
  read -r quiet < <(measure quiet)
  read -r loaded ok failed slowest < <(measure load)
  pct=$(awk -v q="$quiet" -v l="$loaded" 'BEGIN {printf "%.1f", 100 * (q - l) / q}')
  note "round $r: quiet $quiet rec/s, under load $loaded rec/s ($pct% slower); $ok answered 200, $failed failed, slowest ${slowest}s"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$quiet" "$loaded" "$pct" "$ok" "$failed" "$slowest" >>"$RESULTS"
done
echo "machine: $(machine)"
table "$RESULTS" round "quiet rec/s" "loaded rec/s" "slowdown %" "answered 200" failed "slowest answer s"
awk -F'\t' '{q += $2; l += $3; f += $6} END {printf "mean: quiet %.0f rec/s, loaded %.0f rec/s, slowdown %.1f%%; failed requests: %d\n", q/NR, l/NR, 100*(q-l)/q, f}' "$RESULTS"
