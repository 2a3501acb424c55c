#!/usr/bin/env bash
# scripts/kafka.sh — run a real Apache Kafka 4.x (KRaft) from Maven Central jars, no tarball, no Docker.
#
#   scripts/kafka.sh fetch                          jars into target/kafka/libs (a no-op when present)
#   scripts/kafka.sh start [--nodes 1|3] [--port P] fresh KRaft storage, start, wait, print bootstrap last
#   scripts/kafka.sh stop                           stop every node of the state dir (SIGTERM, then KILL)
#   scripts/kafka.sh kill N                         kill -9 node N
#   scripts/kafka.sh restart N                      start node N again on its storage; wait until it serves
#   scripts/kafka.sh status                         one line per node: running or not
#   scripts/kafka.sh tool <MainClass> [args...]     one of Kafka's Java tools on the same classpath
#
# Ports: node n listens on P+n-1 (clients) and P+nodes+n-1 (controller). Default P=9092.
# Environment:
#   KAFKA_STATE_DIR   where storage, configs, logs and PID files live (default target/kafka/run)
#   KAFKA_OWNER_PID   if set at start, a watchdog stops the nodes when that process exits
#                     (the Rust test support uses it so no broker outlives its test binary)
#   KAFKA_HEAP_OPTS   broker heap (default -Xms512m -Xmx1g)
#   KAFKA_START_TIMEOUT  seconds to wait for a node to serve (default 120)
#   KAFKA_EXTRA_PROPS newline-separated server.properties lines appended to every node
#   KAFKA_MAVEN_ARGS  extra arguments for mvn at fetch (e.g. -s settings.xml for a mirror)
#   KAFKA_LIBS_DIR    where the jars live (default target/kafka/libs)
#
# Processes are found by PID file only, never by name; a PID is trusted only if /proc/PID/cmdline
# still names this state dir's server.properties (so a reused PID is never signalled).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KAFKA_VERSION=4.3.1
KAFKA_DIR="$ROOT/target/kafka"
LIBS=${KAFKA_LIBS_DIR:-$KAFKA_DIR/libs}
CONF="$ROOT/tools/kafka"
STATE=${KAFKA_STATE_DIR:-$KAFKA_DIR/run}
HEAP=${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}
START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
# The GC flags of bin/kafka-run-class.sh (4.3.1), minus JMX.
JVM_PERF="-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"

die() { echo "kafka.sh: $*" >&2; exit 1; }
note() { echo "kafka.sh: $*" >&2; }

need_java() {
  command -v java >/dev/null 2>&1 || die "no Java found on PATH (Kafka 4.x needs Java 17+; apt-get install openjdk-17-jre-headless)"
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ -n "$v" ] && [ "$v" -ge 17 ] || die "Java ${v:-of unknown version} found; Kafka 4.x needs Java 17+"
}

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "no Maven (mvn) on PATH to fetch the Kafka jars (apt-get install maven)"
  mkdir -p "$KAFKA_DIR"
  rm -rf "$LIBS.partial"
  mkdir -p "$LIBS.partial"
  note "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  # -B: no colours or progress bars; a bounded time so an unreachable repository never hangs us.
  # shellcheck disable=SC2086
  if ! timeout 900 mvn -B -q ${KAFKA_MAVEN_ARGS:-} -f "$CONF/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$LIBS.partial" >"$KAFKA_DIR/fetch.log" 2>&1; then
    if grep -qiE 'Unknown host|Could not transfer|could not be resolved|Connection refused|Network is unreachable|timed out|No route to host' "$KAFKA_DIR/fetch.log"; then
      die "cannot reach Maven Central to fetch the Kafka jars (details: $KAFKA_DIR/fetch.log)"
    fi
    die "Maven could not fetch the Kafka jars (details: $KAFKA_DIR/fetch.log)"
  fi
  [ -f "$LIBS.partial/kafka_2.13-$KAFKA_VERSION.jar" ] && ls "$LIBS.partial"/log4j-slf4j-impl-*.jar >/dev/null 2>&1 \
    || die "Maven finished but the broker or log4j binding jar is missing (details: $KAFKA_DIR/fetch.log)"
  rm -rf "$LIBS"
  mv "$LIBS.partial" "$LIBS"
  touch "$LIBS/.complete"
}

need_libs() { [ -f "$LIBS/.complete" ] || die "no Kafka jars in $LIBS; run 'scripts/kafka.sh fetch' first"; }

# Run one of Kafka's Java tools (short-lived JVM, WARN and above to stderr).
tool() {
  need_java
  need_libs
  [ $# -ge 1 ] || die "usage: scripts/kafka.sh tool <MainClass> [args...]"
  # shellcheck disable=SC2086
  exec java ${KAFKA_TOOL_HEAP:--Xmx512m} $JVM_PERF -Dlog4j2.configurationFile="$CONF/log4j2-tools.properties" \
       -cp "$LIBS/*" "$@"
}

node_dir() { echo "$STATE/node$1"; }

# A node's PID if its PID file names a live process started from this state dir, else nothing.
# Exit status 2 when the PID file exists but is stale.
live_pid() {
  local dir pid
  dir=$(node_dir "$1")
  [ -f "$dir/pid" ] || return 1
  pid=$(cat "$dir/pid")
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/server.properties"; then
    echo "$pid"
    return 0
  fi
  return 2
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

nodes_of_state() { cat "$STATE/nodes" 2>/dev/null || echo 0; }
base_port_of_state() { cat "$STATE/port"; }

write_node_conf() {   # N NODES PORT CLUSTER_QUORUM_LINE RF MIN_ISR
  local n=$1 nodes=$2 port=$3 quorum=$4 rf=$5 isr=$6 dir
  dir=$(node_dir "$n")
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$n
$quorum
listeners=PLAINTEXT://127.0.0.1:$((port + n - 1)),CONTROLLER://127.0.0.1:$((port + nodes + n - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$((port + n - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=5
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
num.recovery.threads.per.data.dir=1
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=16777216
# Faster failure detection for the fault tests (defaults: 9000 / 2000 / 30000).
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=1000
replica.lag.time.max.ms=10000
EOF
  if [ -n "${KAFKA_EXTRA_PROPS:-}" ]; then printf '%s\n' "$KAFKA_EXTRA_PROPS" >>"$dir/server.properties"; fi
}

launch_node() {   # N
  local dir pid
  dir=$(node_dir "$1")
  # shellcheck disable=SC2086
  nohup java $HEAP $JVM_PERF -Dkafka.logs.dir="$dir/logs" \
    -Dlog4j2.configurationFile="$CONF/log4j2-server.properties" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/logs/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  # $! is the forked shell; until it has exec'd java its cmdline is still this script's, and
  # live_pid would call the node dead. On a loaded machine the exec can take a while (this once
  # failed CI with "node 1 exited during start-up" and an empty log), so wait for it here.
  local i
  for i in $(seq 1 200); do
    live_pid "$1" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 0   # died before exec: wait_ready reports it
    sleep 0.05
  done
}

# The broker opens its PLAINTEXT port only once it is unfenced and ready to serve
# (SocketServer defers opening non-zero ports until enableRequestProcessing), so a successful
# TCP connect on a port we checked was free before launch is a real readiness signal.
wait_ready() {   # N
  local n=$1 dir port deadline
  dir=$(node_dir "$n")
  port=$(($(base_port_of_state) + n - 1))
  deadline=$((SECONDS + START_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    if ! live_pid "$n" >/dev/null; then
      tail -n 30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2 2>/dev/null || true
      die "node $n exited during start-up (logs: $dir/logs)"
    fi
    if port_in_use "$port"; then return 0; fi
    sleep 0.2
  done
  die "node $n not serving on 127.0.0.1:$port after ${START_TIMEOUT}s (logs: $dir/logs)"
}

random_uuid() {   # Kafka's Uuid.randomUuid() text form: 16 random bytes, base64url, no padding.
  local id
  # Like Uuid.randomUuid, never start with '-' (it would read as a command-line flag).
  while id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n') && [ "${id:0:1}" = "-" ]; do :; done
  echo "$id"
}

start_watchdog() {
  [ -n "${KAFKA_OWNER_PID:-}" ] || return 0
  kill -0 "$KAFKA_OWNER_PID" 2>/dev/null || die "KAFKA_OWNER_PID=$KAFKA_OWNER_PID is not a running process"
  # Detached: survives this script, exits when the owner or the state dir goes away.
  nohup setsid bash -c '
    while kill -0 "$1" 2>/dev/null && [ -f "$2/nodes" ]; do sleep 1; done
    [ -f "$2/nodes" ] && KAFKA_STATE_DIR="$2" "$3" stop >/dev/null 2>&1
  ' watchdog "$KAFKA_OWNER_PID" "$STATE" "$ROOT/scripts/kafka.sh" >/dev/null 2>&1 </dev/null &
}

start() {
  local nodes=1 port=9092 n cid quorum voters="" rf isr bootstrap=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 || die "--nodes needs a value" ;;
      --port) port=${2:-}; shift 2 || die "--port needs a value" ;;
      *) die "start: unknown argument '$1' (usage: start [--nodes 1|3] [--port P])" ;;
    esac
  done
  case "$nodes" in 1 | 3) ;; *) die "--nodes must be 1 or 3, not '$nodes'" ;; esac
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ $((port + 2 * nodes)) -le 65535 ] \
    || die "--port must be a number from 1024 to $((65535 - 2 * nodes)), not '$port'"
  need_java
  fetch
  # Refuse to clobber a running or half-dead previous instance of this state dir.
  for n in 1 2 3; do
    if pid=$(live_pid "$n"); then
      die "node $n of $STATE is already running (pid $pid); run 'scripts/kafka.sh stop' first"
    elif [ $? -eq 2 ]; then
      die "stale PID file $(node_dir "$n")/pid (process $(cat "$(node_dir "$n")/pid") is not a Kafka node of this state dir); run 'scripts/kafka.sh stop' to clear it"
    fi
  done
  for ((i = 0; i < 2 * nodes; i++)); do
    port_in_use $((port + i)) && die "port $((port + i)) on 127.0.0.1 is already in use (pick another with --port)"
  done
  rm -rf "$STATE"
  mkdir -p "$STATE"
  echo "$nodes" >"$STATE/nodes"
  echo "$port" >"$STATE/port"
  for ((n = 1; n <= nodes; n++)); do
    voters+="${voters:+,}$n@127.0.0.1:$((port + nodes + n - 1))"
    bootstrap+="${bootstrap:+,}127.0.0.1:$((port + n - 1))"
  done
  if [ "$nodes" -eq 1 ]; then rf=1 isr=1; else rf=3 isr=2; fi
  # A static quorum (controller.quorum.voters): every node formats with the same cluster id and
  # no --standalone / --initial-controllers flag.
  quorum="controller.quorum.voters=$voters"
  cid=$(random_uuid)
  echo "$cid" >"$STATE/cluster.id"
  for ((n = 1; n <= nodes; n++)); do
    write_node_conf "$n" "$nodes" "$port" "$quorum" "$rf" "$isr"
    # shellcheck disable=SC2086
    java -Xmx256m $JVM_PERF -Dlog4j2.configurationFile="$CONF/log4j2-tools.properties" -cp "$LIBS/*" \
      kafka.tools.StorageTool format -t "$cid" -c "$(node_dir "$n")/server.properties" \
      >"$(node_dir "$n")/logs/format.log" 2>&1 || die "formatting node $n failed (see $(node_dir "$n")/logs/format.log)"
  done
  for ((n = 1; n <= nodes; n++)); do launch_node "$n"; done  # all at once: the quorum needs a majority
  start_watchdog
  for ((n = 1; n <= nodes; n++)); do wait_ready "$n"; done
  echo "$bootstrap" >"$STATE/bootstrap"
  note "$nodes node(s) ready, state in $STATE"
  echo "$bootstrap"
}

stop_node() {   # N SIGNAL
  local n=$1 sig=$2 pid i
  if pid=$(live_pid "$n"); then
    kill -s "$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      note "node $n (pid $pid) ignored SIG$sig for 30s; sending SIGKILL"
      kill -s KILL "$pid" 2>/dev/null || true
      for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  rm -f "$(node_dir "$n")/pid"
}

check_node_arg() {   # N
  local nodes
  nodes=$(nodes_of_state)
  [ "$nodes" -gt 0 ] || die "no cluster in $STATE; run 'scripts/kafka.sh start' first"
  [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$nodes" ] || die "node must be 1..$nodes, not '${1:-}'"
}

cmd=${1:-}
shift || true
case "$cmd" in
  fetch) fetch ;;
  start) start "$@" ;;
  stop)
    # SIGTERM every node at once: stopping them one by one would leave the last ones waiting
    # for a controller quorum that is already gone. Whatever is still up after 15s gets SIGKILL.
    nodes=$(nodes_of_state)
    pids=()
    for ((n = 1; n <= nodes; n++)); do
      if pid=$(live_pid "$n"); then
        kill -s TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
      elif [ -f "$(node_dir "$n")/pid" ]; then
        note "removing stale PID file of node $n"
      fi
    done
    for pid in "${pids[@]}"; do
      for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -s KILL "$pid" 2>/dev/null || true
    done
    for ((n = 1; n <= nodes; n++)); do rm -f "$(node_dir "$n")/pid"; done
    rm -f "$STATE/nodes"   # tells a watchdog its cluster is gone
    ;;
  kill)
    check_node_arg "${1:-}"
    if pid=$(live_pid "$1"); then :; elif [ $? -eq 2 ]; then
      die "node $1 is not running (stale PID file $(node_dir "$1")/pid)"
    else
      die "node $1 is not running"
    fi
    kill -s KILL "$pid"
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$(node_dir "$1")/pid"
    ;;
  restart)
    check_node_arg "${1:-}"
    need_java
    need_libs
    stop_node "$1" TERM
    launch_node "$1"
    wait_ready "$1"
    cat "$STATE/bootstrap"
    ;;
  status)
    nodes=$(nodes_of_state)
    [ "$nodes" -gt 0 ] || die "no cluster in $STATE"
    for ((n = 1; n <= nodes; n++)); do
      if pid=$(live_pid "$n"); then echo "node $n running pid $pid"; else echo "node $n stopped"; fi
    done
    ;;
  tool) tool "$@" ;;
  "" | -h | --help | help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$cmd' (fetch | start | stop | kill N | restart N | status | tool MainClass ...)" ;;
esac
