#!/usr/bin/env bash
# scripts/quickstart.sh — the main job: a real pipeline on a local Apache Kafka it starts itself.
#
#   input.txt (a line every millisecond or so, growing)
#     └─ FileStreamSource ─▶ topic "quickstart" (JsonConverter, schemas on) ─▶ FileStreamSink
#                                                                               └─ output.txt
#
# Uses Kafka's own quickstart connector files unchanged apart from paths, run by
# `kaflow standalone`. Progress is printed every 2 s; Ctrl-C stops the writer, kaflow (offsets
# flushed) and Kafka, then checks output.txt against input.txt.
#
# Environment: QUICKSTART_SECONDS=N stops by itself after N seconds (for scripted runs);
# QUICKSTART_PORT (default 19792) is the broker's port.
# QUICKSTART_REST_PORT (default 8083, Connect's) is where the worker serves the REST API.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK="$ROOT/target/quickstart"
PORT=${QUICKSTART_PORT:-19792}
export KAFKA_STATE_DIR="$WORK/kafka"
say() { echo "quickstart: $*" >&2; }

command -v cargo >/dev/null || { say "Rust is needed (https://rustup.rs), then run this again"; exit 1; }
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  say "installing Java 17 and Maven (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

mkdir -p "$WORK"
say "building kaflow (release)"
cargo build --release --locked --bin kaflow --manifest-path "$ROOT/Cargo.toml" >&2
KAFLOW="$ROOT/target/release/kaflow"

"$ROOT/scripts/kafka.sh" fetch
KAFKA_OWNER_PID=$$ "$ROOT/scripts/kafka.sh" start --port "$PORT" >/dev/null
BOOTSTRAP="127.0.0.1:$PORT"
say "Kafka is up on $BOOTSTRAP"

rm -f "$WORK/input.txt" "$WORK/output.txt" "$WORK/connect.offsets"
: >"$WORK/input.txt"
cat >"$WORK/worker.properties" <<PROPS
bootstrap.servers=$BOOTSTRAP
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=$WORK/connect.offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:${QUICKSTART_REST_PORT:-8083}
PROPS
cat >"$WORK/connect-file-source.properties" <<PROPS
name=local-file-source
connector.class=FileStreamSource
tasks.max=1
file=$WORK/input.txt
topic=quickstart
PROPS
cat >"$WORK/connect-file-sink.properties" <<PROPS
name=local-file-sink
connector.class=FileStreamSink
tasks.max=1
file=$WORK/output.txt
topics=quickstart
PROPS

# The input: a growing file, as a log would be.
( i=0; while :; do
    for _ in $(seq 1 500); do echo "event $i at $(date +%s%N)"; i=$((i + 1)); done >>"$WORK/input.txt"
    sleep 0.5
  done ) &
WRITER=$!

"$KAFLOW" standalone "$WORK/worker.properties" "$WORK/connect-file-source.properties" \
  "$WORK/connect-file-sink.properties" 2>"$WORK/kaflow.log" &
KAFLOW_PID=$!

stopping=0
finish() {
  [ "$stopping" = 1 ] && return; stopping=1
  kill "$WRITER" 2>/dev/null || true; wait "$WRITER" 2>/dev/null || true
  say "input closed at $(wc -l <"$WORK/input.txt") lines; letting the pipeline drain"
  local want; want=$(wc -l <"$WORK/input.txt")
  for _ in $(seq 1 100); do
    [ "$(wc -l <"$WORK/output.txt" 2>/dev/null || echo 0)" -ge "$want" ] && break
    sleep 0.2
  done
  if command -v curl >/dev/null; then
    say "status from the REST API: $(curl -s "$REST/connectors?expand=status" || echo unavailable)"
  fi
  kill -TERM "$KAFLOW_PID" 2>/dev/null || true; wait "$KAFLOW_PID" 2>/dev/null || true
  "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  if cmp -s "$WORK/input.txt" "$WORK/output.txt"; then
    say "done: output.txt equals input.txt ($want lines). Files in $WORK"
    exit 0
  fi
  say "output.txt differs from input.txt; see $WORK/kaflow.log"
  exit 1
}
trap finish INT TERM

say "pipeline running: $WORK/input.txt -> topic quickstart -> $WORK/output.txt (Ctrl-C to stop)"
REST="http://127.0.0.1:${QUICKSTART_REST_PORT:-8083}"
say "Connect REST API: $REST (try: curl -s '$REST/connectors?expand=status')"
started=$(date +%s)
while kill -0 "$KAFLOW_PID" 2>/dev/null; do
  sleep 2
  say "input $(wc -l <"$WORK/input.txt") lines, output $(wc -l <"$WORK/output.txt" 2>/dev/null || echo 0) lines"
  if [ -n "${QUICKSTART_SECONDS:-}" ] && [ $(( $(date +%s) - started )) -ge "$QUICKSTART_SECONDS" ]; then
    finish
  fi
done
say "kaflow exited early; its log:"; tail -n 20 "$WORK/kaflow.log" >&2
kill "$WRITER" 2>/dev/null || true
"$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
exit 1
