#!/usr/bin/env bash
# scripts/test.sh — the one test command (CI's .ci/run calls exactly this).
#
# Installs what the tests need (Java 17+ and Maven from Debian if missing, the Kafka jars from
# Maven Central), checks formatting and lints, starts one real Kafka broker for the suites that
# share one, and runs every test tier: unit, property, fake-broker fault tests, integration
# tests against the real broker and a three-node KRaft cluster.
#
# With CI=true a test that needs Kafka and can't get it fails; it never skips.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$SECONDS
phase() { printf '\n==> [%4ds] %s\n' $((SECONDS - T0)) "$*"; }

apt_install() {
  local pkgs=("$@")
  [ ${#pkgs[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || { echo "test.sh: need ${pkgs[*]} and there is no apt-get to install them" >&2; exit 1; }
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  phase "installing ${pkgs[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

phase "checking tools"
missing=()
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1 || true)
# A JDK, not just a JRE: interop tests compile small Java checkers against Kafka's jars.
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ] || ! command -v javac >/dev/null 2>&1; then
  missing+=(openjdk-17-jdk-headless)
fi
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v curl >/dev/null 2>&1 || missing+=(curl)
apt_install "${missing[@]}"
command -v cargo >/dev/null 2>&1 || { echo "test.sh: no cargo on PATH; install Rust with rustup" >&2; exit 1; }
for c in rustfmt clippy; do
  if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then rustup component add "$c"; fi
done
(java -version 2>&1 | head -1) || true; (mvn -v 2>/dev/null | head -1) || true; cargo --version

phase "fetching Kafka jars (scripts/kafka.sh fetch)"
scripts/kafka.sh fetch

phase "cargo fmt --check"
cargo fmt --all --check

phase "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

phase "building tests"
cargo test --workspace --locked --no-run

phase "starting the shared Kafka broker"
STATE="$ROOT/target/kafka/ci"
rm -rf "$ROOT/target/kafka/tests"
cleanup() { KAFKA_STATE_DIR="$STATE" scripts/kafka.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
port=${KAFKA_CI_PORT:-19092}
KAFKA_BOOTSTRAP=$(KAFKA_STATE_DIR="$STATE" KAFKA_OWNER_PID=$$ scripts/kafka.sh start --port "$port" | tail -n 1)
export KAFKA_BOOTSTRAP
echo "KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP"

phase "cargo test (every tier)"
set +e
cargo test --workspace --locked 2>&1 | tee "$ROOT/target/test-output.log"
status=${PIPESTATUS[0]}
set -e

phase "fuzz: a short run of each target (longer by hand: see fuzz/Cargo.toml)"
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
fuzz_status=0
if cargo +nightly --version >/dev/null 2>&1; then
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
  for target in record_batch_reader decompress response_frame; do
    # Inputs that once crashed a target (fuzz/regressions/<target>/) join its corpus, so every
    # run replays them first.
    corpora=("corpus/$target")
    [ -d "fuzz/regressions/$target" ] && corpora+=("regressions/$target")
    mkdir -p "fuzz/corpus/$target"
    if ! (cd fuzz && cargo +nightly fuzz run "$target" "${corpora[@]}" -- -max_total_time="$FUZZ_SECONDS" >"$ROOT/target/fuzz-$target.log" 2>&1); then
      echo "fuzz target $target FAILED (log: target/fuzz-$target.log):"
      tail -n 40 "$ROOT/target/fuzz-$target.log"
      fuzz_status=1
    else
      grep -E '^Done [0-9]+ runs' "$ROOT/target/fuzz-$target.log" | sed "s/^/$target: /" || true
    fi
  done
else
  echo "WARNING: no nightly toolchain: the fuzz run is skipped (cargo-fuzz needs nightly)"
fi

phase "summary"
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$ROOT/target/test-output.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$ROOT/target/test-output.log" | awk '{s+=$1} END {print s+0}')
echo "wall time: $((SECONDS - T0))s"
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] || exit "$status"
exit "$fuzz_status"
