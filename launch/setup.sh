#!/usr/bin/env bash
# Installs the Debian packages fmnist_dist needs (only those missing), then configures and builds
# into build/, saying what it does as it goes (the packages set up, the build's progress by tenths).
# Idempotent: a second run with everything present prints only the build's one-line summary.
# Usage: launch/setup.sh [--trainer | --programs | --tests] [extra cmake -D options]
#   (none)      the programs and the tests' programs, with what building them needs
#   --trainer   only fmnist_dist, and only the packages it needs (no OpenCV, ONNX, GoogleTest, ...):
#               launch/run.sh and the recipes, the quickest first run; a build/ configured with more
#               keeps it
#   --programs  fmnist_dist and fmnist_inspect, and the packages they need (launch/predict.sh and
#               launch/export_onnx.sh)
#   --tests     also install what the tests alone need (openssh-server for the restart tests,
#               iproute2 for the emulated nodes, a real Slurm, PyTorch for the check against PyTorch
#               built from the same JSON) so that no test is skipped (launch/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  --trainer | --programs | --tests) mode=${1#--}; shift ;;
esac
# with_tests: the tests' programs too (setup.sh alone and --tests)
case $mode in all | tests) with_tests=1 ;; *) with_tests="" ;; esac

# What fmnist_dist needs to build and run; then fmnist_inspect's OpenCV (about 150 packages with
# their dependencies) and ONNX.
packages=(g++ cmake make pkg-config libopenmpi-dev openmpi-bin libeigen3-dev libhdf5-dev hdf5-tools
          libcxxopts-dev nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist)
[ "$mode" = trainer ] || packages+=(libopencv-imgcodecs-dev libopencv-imgproc-dev libonnx-dev libprotobuf-dev)
# What the tests' programs need (GoogleTest, OpenCV's dnn for the ONNX check, h5py for the checkpoint
# edits, Google Benchmark for launch/bench.sh); with --tests, what the test scripts alone need.
[ -z "$with_tests" ] || packages+=(libgtest-dev libopencv-dnn-dev python3-h5py libbenchmark-dev)
[ "$mode" != tests ] || packages+=(openssh-server iproute2 slurm-wlm munge python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm for the interop tests (tests/interop/install.sh installs their pinned npm packages):
# Debian's, unless some node and npm are there already. Not for --trainer and --programs (hundreds of
# packages).
if [ -n "$with_tests" ]; then
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
fi

# apt_progress: apt-get install's output in, one line per 10% of the packages it downloads, then of
# those it sets up, out.
apt_progress() {
  local line total=0 done=0 shown=-1 got=0 got_shown=-1
  while IFS= read -r line; do
    if [[ $line =~ ([0-9]+)\ newly\ installed ]]; then
      total=${BASH_REMATCH[1]}
      echo "setup: $total package(s) to download and set up, with their dependencies"
    elif [[ $line =~ ^Need\ to\ get\ ([^ ]+\ [kMG]?B) ]]; then
      echo "setup: downloading ${BASH_REMATCH[1]}"
    elif [[ $line == Get:* ]]; then
      got=$((got + 1))
      if [ "$total" -gt 0 ] && [ $((got * 10 / total)) -gt "$got_shown" ]; then
        got_shown=$((got * 10 / total))
        echo "setup: $got of $total package(s) downloaded"
      fi
    elif [[ $line == "Setting up "* ]]; then
      done=$((done + 1))
      if [ "$total" -gt 0 ] && [ $((done * 10 / total)) -gt "$shown" ]; then
        shown=$((done * 10 / total))
        echo "setup: $done of $total package(s) set up"
      fi
    fi
  done
}

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} (apt-get; a few minutes on a fresh machine)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: apt-get update"
  $sudo apt-get update -qq >/dev/null
  mkdir -p build
  status=0
  $sudo apt-get install -y --no-install-recommends -o Dpkg::Progress-Fancy=0 "${missing[@]}" 2>&1 |
    tee build/apt.log | apt_progress || status=$?
  [ "$status" -eq 0 ] || { tail -20 build/apt.log >&2; echo "setup: apt-get install failed (log: build/apt.log)" >&2; exit 1; }
fi

# build_progress: the build's output in (kept in the log); once something compiles, a line saying
# so, then the build's percentage by tenths.
build_progress() {
  local line compiling="" shown=-1 tenth
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$log"
    # (the Git commit's file, src/version/, is compiled again at every build: not worth a line)
    if [ -z "$compiling" ] && [[ $line == *"Building CXX object"* && $line != *"src/version/"* ]]; then
      compiling=1
      echo "setup: compiling with $jobs job(s) (several minutes on 2 cores the first time)"
    fi
    if [ -n "$compiling" ] && [[ $line =~ ^\[\ *([0-9]+)%\] ]]; then
      tenth=$((BASH_REMATCH[1] / 10))
      if [ "$tenth" -gt "$shown" ]; then
        shown=$tenth
        [ "$tenth" -ge 10 ] || echo "setup: building ${BASH_REMATCH[1]}%"
      fi
    fi
  done
}

log=build/setup.log
mkdir -p build
: >"$log"
# A fresh build/ is configured with what the mode builds (--trainer: fmnist_dist alone; --programs:
# no tests); a build/ configured with less gets what the mode asks for; one with more keeps it.
# cached KEY: the option's value in build/CMakeCache.txt (ON when unset)
cached() { grep -q "^$1=OFF" build/CMakeCache.txt 2>/dev/null && echo OFF || echo ON; }
targets=()
cache=()
case $mode in
  trainer)
    targets=(--target fmnist_dist)
    [ -f build/CMakeCache.txt ] || cache=(-DFMNIST_TESTS=OFF -DFMNIST_INSPECT=OFF) ;;
  programs)
    targets=(--target fmnist_dist fmnist_inspect)
    if [ ! -f build/CMakeCache.txt ]; then cache=(-DFMNIST_TESTS=OFF)
    elif [ "$(cached FMNIST_INSPECT:BOOL)" = OFF ]; then cache=(-DFMNIST_INSPECT=ON); fi ;;
  *)
    [ "$(cached FMNIST_TESTS:BOOL)" = ON ] && [ "$(cached FMNIST_INSPECT:BOOL)" = ON ] ||
      cache=(-DFMNIST_TESTS=ON -DFMNIST_INSPECT=ON) ;;
esac
if [ ! -f build/CMakeCache.txt ] || [ "$#" -gt 0 ] || ((${#cache[@]})); then
  echo "setup: configuring build/ (cmake)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${cache[@]}" "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
jobs=$(nproc)
status=0
cmake --build build -j "$jobs" "${targets[@]}" 2>&1 | build_progress || status=$?
[ "$status" -eq 0 ] || { cat "$log" >&2; echo "setup: build failed (log: $log)" >&2; exit 1; }
if [ "$mode" = trainer ]; then
  echo "setup: built build/fmnist_dist (fmnist_inspect: launch/setup.sh --programs)"
else
  echo "setup: built build/fmnist_dist and build/fmnist_inspect"
fi
