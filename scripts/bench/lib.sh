# scripts/bench/lib.sh — what the benchmark scripts share. Sourced (never run) after the caller
# has set BENCH_NAME (for messages), PORT (the broker's port) and DIR (its state and logs).
#
#   bench_setup            GNU time present, kaflow built (release), a fresh broker started;
#                          sets ROOT, KAFLOW, BOOT, BROKER_PID, TICK; stops the broker at exit
#   create_topic T P [k=v...]   a topic with P partitions (and topic configs)
#   timed FILE CMD...      runs CMD with its user/sys CPU seconds, peak RSS KiB and wall seconds
#                          written to FILE ('%U %S %M %e')
#   broker_ticks           the broker's user+sys CPU so far, in clock ticks (divide by TICK)
#   table FILE HEADER...   FILE's tab-separated rows as a Markdown table under HEADER (the first
#                          three columns left-aligned, the numbers right-aligned)
#   machine                one line: cores, CPU model, memory
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# KAFLOW_BIN: measure this kaflow binary (e.g. one built from an older commit) instead of building.
KAFLOW=${KAFLOW_BIN:-$TARGET/release/kaflow}
export KAFKA_STATE_DIR=$DIR/kafka

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
note() { echo "$BENCH_NAME: $*" >&2; }

stop_broker() { "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true; }

bench_setup() {
  if [ ! -x /usr/bin/time ]; then
    note "installing GNU time (/usr/bin/time) for CPU and peak RSS"
    (apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y time >/dev/null 2>&1; }) \
      || die "/usr/bin/time is missing and could not be installed (apt-get install time)"
  fi
  mkdir -p "$DIR"
  trap stop_broker EXIT
  if [ -z "${KAFLOW_BIN:-}" ]; then
    note "building kaflow (release)"
    (cd "$ROOT" && cargo build --release -q -p kaflow) || die "cargo build failed"
  fi
  [ -x "$KAFLOW" ] || die "no kaflow binary at $KAFLOW"
  "$ROOT/scripts/kafka.sh" fetch
  note "starting a fresh broker on 127.0.0.1:$PORT (state in $KAFKA_STATE_DIR)"
  stop_broker
  BOOT=$("$ROOT/scripts/kafka.sh" start --port "$PORT" | tail -1)
  BROKER_PID=$(cat "$KAFKA_STATE_DIR/node1/pid")
  TICK=$(getconf CLK_TCK)
}

create_topic() {
  local topic=$1 partitions=$2 configs=()
  shift 2
  for kv in "$@"; do configs+=(--config "$kv"); done
  "$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOT" --create \
      --topic "$topic" --partitions "$partitions" --replication-factor 1 "${configs[@]}" >/dev/null 2>&1 \
    || die "cannot create topic $topic"
}

timed() {
  local file=$1
  shift
  /usr/bin/time -f '%U %S %M %e' -o "$file" "$@"
}

broker_ticks() { sed 's/^.*) //' "/proc/$BROKER_PID/stat" | awk '{print $12 + $13}'; }

machine() {
  echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
}

table() {
  local file=$1
  shift
  { (IFS=$'\t'; echo "$*"); cat "$file"; } | awk -F'\t' '
    { rows[NR] = $0; for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i); if (NF > nf) nf = NF }
    END {
      for (r = 1; r <= NR; r++) {
        n = split(rows[r], f, "\t"); line = "|";
        for (i = 1; i <= nf; i++) line = line sprintf(i <= 3 ? " %-*s |" : " %*s |", w[i], f[i]);
        print line;
        if (r == 1) { line = "|"; for (i = 1; i <= nf; i++) { d = ""; for (k = 0; k < w[i] + 2; k++) d = d "-"; line = line d "|" } print line }
      }
    }'
}
