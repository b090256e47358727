#!/usr/bin/env bash
# Installs the Debian packages fmnist_dist needs (only those missing, quietly), then configures
# and builds into build/. Idempotent: a second run with everything present prints nothing but
# the build's one-line summary. Usage: launch/setup.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake make pkg-config libopenmpi-dev openmpi-bin libeigen3-dev libhdf5-dev hdf5-tools
          libcxxopts-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev zlib1g-dev dataset-fashion-mnist python3-h5py
          libopencv-imgcodecs-dev libopencv-imgproc-dev libonnx-dev libprotobuf-dev libopencv-dnn-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm for the interop tests (tests/interop/install.sh installs their pinned npm packages);
# Debian's, unless some node and npm are there already.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log=build/setup.log
mkdir -p build
if [ ! -f build/CMakeCache.txt ] || [ "$#" -gt 0 ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
cmake --build build -j "$(nproc)" >"$log" 2>&1 || { cat "$log" >&2; echo "setup: build failed (log: $log)" >&2; exit 1; }
echo "setup: built build/fmnist_dist and build/fmnist_inspect"
