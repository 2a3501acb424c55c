#!/usr/bin/env bash
# scripts/build-static.sh — fully static kaflow binaries for x86_64 and aarch64 Linux.
#
#   scripts/build-static.sh x86_64         static x86_64 binary (glibc, +crt-static), checked static
#   scripts/build-static.sh aarch64        static aarch64 binary, cross-built with Debian's rustc-web
#   scripts/build-static.sh check-aarch64  run the aarch64 binary under qemu-aarch64: `kaflow version`
#                                          and a produce-then-consume round trip against a real broker
#   scripts/build-static.sh all            all three, in that order
#
# Each build prints the binary's size unstripped (the release profile keeps line tables for
# backtraces) and stripped, and copies the stripped binary to $OUT/kaflow-<arch>-linux-static.
# A stripped x86_64 binary over MAX_MB fails the build (the issue's target: under 20 MB).
#
# x86_64 uses the rustup toolchain with glibc's static libraries (libc6-dev) and
# `-C target-feature=+crt-static`. `--target` is given explicitly, even though it is the host, so
# that RUSTFLAGS applies only to kaflow and not to build scripts and proc macros (a static
# proc-macro cannot be loaded by rustc).
#
# aarch64: rustup cannot download targets on the build machines, so the cross build uses
# Debian's rustc-web and cargo-web (bookworm-security: 1.96.0) with the aarch64 standard library
# from libstd-rust-web-dev:arm64 and gcc-aarch64-linux-gnu as linker (and C compiler for
# zstd-sys). A standard library only loads into the exact rustc that built it, so the whole build
# (build scripts included) runs with Debian's /usr/bin/rustc, never rustup's, and the script
# refuses to run when rustc-web and libstd-rust-web-dev:arm64 differ in version. It uses its own
# target dir ($CARGO_TARGET_DIR/debian-rustc) so the two compilers never invalidate each other's
# artifacts. Missing packages are installed with apt-get (after `dpkg --add-architecture arm64`).
#
# The musl route, for users whose rustup can install targets (not possible on our build machines):
#   rustup target add x86_64-unknown-linux-musl      # or aarch64-unknown-linux-musl
#   cargo build --release --locked --target x86_64-unknown-linux-musl -p kaflow
# musl targets link statically by default (no RUSTFLAGS needed); zstd-sys needs a C compiler for
# the target (musl-gcc from Debian's musl-tools for x86_64; aarch64 needs a musl cross gcc, set
# with CC_aarch64_unknown_linux_musl and CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER). musl's
# malloc is slow under many threads, which matters more there than with glibc (see BENCHMARKS.md,
# "Allocator").
#
# glibc caveat: a static glibc binary still loads NSS modules (libnss_*.so) at run time to resolve
# host names other than numeric addresses; with none installed, names in /etc/hosts and DNS are
# not resolved. The musl build has no such dependency.
#
# Environment:
#   CARGO_TARGET_DIR   cargo's target dir (default target)
#   OUT                where the stripped binaries go (default $CARGO_TARGET_DIR/static)
#   KAFLOW_FEATURES    extra cargo features for kaflow (e.g. an allocator; default none)
#   MAX_MB=20          size limit for the stripped x86_64 binary
#   CHECK_RECORDS=20000  records in the qemu round trip
#   KAFKA_BOOTSTRAP    use this broker for check-aarch64 instead of starting one
#   CHECK_PORT=29640   port of the broker check-aarch64 starts (state in target/kafka/static-check)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$TARGET_DIR/static}
MAX_MB=${MAX_MB:-20}
CHECK_RECORDS=${CHECK_RECORDS:-20000}
FEATURES=()
[ -n "${KAFLOW_FEATURES:-}" ] && FEATURES=(--features "$KAFLOW_FEATURES")

die() { echo "build-static.sh: $*" >&2; exit 1; }
note() { echo "build-static.sh: $*" >&2; }

# apt_ensure PKG... : install the Debian packages that are not installed yet.
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "need ${missing[*]} and there is no apt-get"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  note "installing ${missing[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# check_static BIN: no program interpreter, no shared-library dependencies.
check_static() {
  local bin=$1 desc
  desc=$(file -b "$bin")
  echo "file: $desc"
  case $desc in
    *"statically linked"* | *"static-pie linked"*) ;;
    *) die "$bin is not static according to file(1)" ;;
  esac
  if readelf -l "$bin" | grep -q INTERP; then die "$bin has a program interpreter"; fi
  if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then die "$bin needs shared libraries"; fi
  # ldd says "not a dynamic executable" for a static non-PIE binary and "statically linked" for a
  # static-pie one (what rustc makes for x86_64 and aarch64 glibc with +crt-static); only the
  # host's ldd can read a binary of the host's architecture.
  if [ "$(file -b "$bin" | grep -c x86-64)" = 1 ] && [ "$(uname -m)" = x86_64 ]; then
    desc=$(ldd "$bin" 2>&1 || true)
    echo "ldd: ${desc//$'\t'/}"
    case $desc in
      *"not a dynamic executable"* | *"statically linked"*) ;;
      *) die "ldd lists shared libraries for $bin" ;;
    esac
  fi
}

# report_size BIN STRIP DEST: print the sizes, write the stripped copy to DEST.
report_size() {
  local bin=$1 strip=$2 dest=$3 raw stripped
  mkdir -p "$(dirname "$dest")"
  "$strip" -o "$dest" "$bin"
  raw=$(stat -c %s "$bin")
  stripped=$(stat -c %s "$dest")
  awk -v r="$raw" -v s="$stripped" -v d="$dest" 'BEGIN {
    printf "size: %d bytes (%.1f MB) unstripped, %d bytes (%.1f MB) stripped: %s\n", r, r / 1e6, s, s / 1e6, d }'
  SIZE_STRIPPED=$stripped
}

build_x86_64() {
  local t0=$SECONDS
  apt_ensure libc6-dev file binutils
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || die "no static glibc (/usr/lib/x86_64-linux-gnu/libc.a)"
  note "building x86_64-unknown-linux-gnu, +crt-static, release ($(rustc --version))"
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --locked --target x86_64-unknown-linux-gnu -p kaflow --bin kaflow "${FEATURES[@]}"
  local bin=$TARGET_DIR/x86_64-unknown-linux-gnu/release/kaflow
  check_static "$bin"
  "$bin" version >/dev/null || die "$bin version failed"
  report_size "$bin" strip "$OUT/kaflow-x86_64-linux-static"
  [ "$SIZE_STRIPPED" -lt $((MAX_MB * 1000 * 1000)) ] || die "stripped binary is over $MAX_MB MB"
  note "x86_64 done in $((SECONDS - t0)) s"
}

# The Debian toolchain for the aarch64 cross build (see the header).
debian_toolchain() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    note "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  apt_ensure rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    binutils-aarch64-linux-gnu file binutils
  local rv sv
  rv=$(dpkg-query -W -f='${Version}' rustc-web)
  sv=$(dpkg-query -W -f='${Version}' libstd-rust-web-dev:arm64)
  [ "$rv" = "$sv" ] || die "rustc-web $rv and libstd-rust-web-dev:arm64 $sv differ: the std must come from the same rustc build"
  [ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib ] || die "no aarch64 std in /usr/lib/rustlib"
}

build_aarch64() {
  local t0=$SECONDS
  debian_toolchain
  local dir=$TARGET_DIR/debian-rustc
  note "building aarch64-unknown-linux-gnu, +crt-static, release ($(/usr/bin/rustc --version), $(/usr/bin/cargo --version))"
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TARGET_DIR=$dir \
    RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
    AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    /usr/bin/cargo build --release --locked --target aarch64-unknown-linux-gnu -p kaflow --bin kaflow "${FEATURES[@]}"
  local bin=$dir/aarch64-unknown-linux-gnu/release/kaflow
  check_static "$bin"
  file -b "$bin" | grep -q aarch64 || die "$bin is not an aarch64 binary"
  report_size "$bin" aarch64-linux-gnu-strip "$OUT/kaflow-aarch64-linux-static"
  note "aarch64 done in $((SECONDS - t0)) s"
}

check_aarch64() {
  apt_ensure qemu-user-static
  local bin=$OUT/kaflow-aarch64-linux-static qemu n=$CHECK_RECORDS
  [ -x "$bin" ] || die "no $bin: run '$0 aarch64' first"
  qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64) || die "no qemu-aarch64"
  note "kaflow version under $qemu"
  "$qemu" "$bin" version || die "kaflow version failed under qemu"

  local boot=${KAFKA_BOOTSTRAP:-}
  CHECK_STATE=$ROOT/target/kafka/static-check
  if [ -z "$boot" ]; then
    "$ROOT/scripts/kafka.sh" fetch >/dev/null
    trap 'KAFKA_STATE_DIR="$CHECK_STATE" "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true' EXIT
    boot=$(KAFKA_STATE_DIR=$CHECK_STATE KAFKA_OWNER_PID=$$ "$ROOT/scripts/kafka.sh" start --port "${CHECK_PORT:-29640}" | tail -n 1)
  fi
  local topic="static-check-$$-$RANDOM" log
  log=$(mktemp -d)
  note "round trip through $boot: produce $n records to $topic, then consume them"
  "$ROOT/scripts/kafka.sh" tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$boot" --create \
    --topic "$topic" --partitions 3 --replication-factor 1 >/dev/null 2>&1 || die "cannot create topic $topic"
  "$qemu" "$bin" perf produce --topic "$topic" --num-records "$n" --record-size 100 --throughput -1 \
    --command-property bootstrap.servers="$boot" compression.type=lz4 | tee "$log/produce"
  grep -qE "^$n records sent" "$log/produce" || die "produce did not report $n records sent"
  # Ask for one more than was sent: the consumer must time out with exactly n records read
  # (fewer means records were lost, more means duplicates).
  "$qemu" "$bin" perf consume --bootstrap-server "$boot" --topic "$topic" --num-records $((n + 1)) \
    --timeout 5000 | tee "$log/consume"
  local got
  got=$(grep -vE '^(start.time|WARNING)' "$log/consume" | tail -n 1 | awk -F', ' '{print $5}')
  [ "$got" = "$n" ] || die "consumed ${got:-nothing} records, expected exactly $n"
  rm -rf "$log"
  note "aarch64 round trip under qemu: $n records produced and exactly $n consumed"
}

case ${1:-} in
  x86_64) build_x86_64 ;;
  aarch64) build_aarch64 ;;
  check-aarch64) check_aarch64 ;;
  all) build_x86_64; build_aarch64; check_aarch64 ;;
  *) die "usage: $0 x86_64|aarch64|check-aarch64|all" ;;
esac
