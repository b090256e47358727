#!/usr/bin/env bash
# Builds the libFuzzer targets for the CSV and IDX readers and the Keras JSON model reader (the
# sources compiled directly with clang++ -fsanitize=fuzzer,address,undefined; Debian packages
# clang-14 and libclang-rt-14-dev) and runs each for SECONDS seconds on a seed corpus from
# tests/fixtures. Exits non-zero on a
# crash, a sanitizer report or a broken invariant; the input that caused it is saved as
# BUILD/crash-<target>-* (replay: BUILD/fuzz_<target> FILE).
# Usage: tests/fuzz/run.sh [SECONDS (default 30)]   env: FUZZ_BUILD (default build-fuzz), CXX
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
out=${FUZZ_BUILD:-build-fuzz}
cxx=${CXX:-$(command -v clang++-14 || command -v clang++ || true)}
case "$cxx" in *clang*) ;; *) cxx=$(command -v clang++-14 || command -v clang++ || true) ;; esac
if [ -z "$cxx" ]; then
  echo "fuzz: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 1
fi
python=$(command -v /usr/bin/python3 || command -v python3)
mkdir -p "$out"

flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer -Iinclude -Isrc/data -isystem /usr/include/eigen3)
targets=(csv idx model_json)
# Each source compiled once into $out/obj, as many at a time as there are cores (through ccache when
# installed), then each target linked from its objects.
data_sources=(src/data/*.cpp src/io/regular_file.cpp)
# the model reader asks the layer registry, whose rows hold the layer factories too: all of src/nn
model_sources=(src/nn/*.cpp src/nn/kinds/*.cpp src/io/regular_file.cpp)
launcher=$(command -v ccache || true)
object() { local o=${1//\//_}; echo "$out/obj/${o%.cpp}.o"; }
mkdir -p "$out/obj"
printf '%s\n' "${data_sources[@]}" "${model_sources[@]}" tests/fuzz/fuzz_*.cpp | sort -u |
  while read -r source; do printf '%s\0%s\0' "$source" "$(object "$source")"; done |
  xargs -0 -n 2 -P "$(nproc)" sh -c '$0 -c "$1" -o "$2"' "$launcher $cxx ${flags[*]}" || {
  echo "fuzz: compiling the fuzz targets failed" >&2
  exit 1
}
for target in "${targets[@]}"; do
  sources=("${data_sources[@]}")
  [ "$target" = model_json ] && sources=("${model_sources[@]}")
  objects=("$(object "tests/fuzz/fuzz_$target.cpp")")
  for source in "${sources[@]}"; do objects+=("$(object "$source")"); done
  "$cxx" "${flags[@]}" "${objects[@]}" -lz -o "$out/fuzz_$target"
done
"$python" tests/fuzz/make_seeds.py tests/fixtures "$out/seeds_csv" "$out/seeds_idx"
mkdir -p "$out/seeds_model_json"
cp tests/fixtures/models/*.json "$out/seeds_model_json/"

status=0
for target in "${targets[@]}"; do
  mkdir -p "$out/corpus_$target"
  echo "fuzz: $target for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_$target" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$out/crash-$target-" \
      "$out/corpus_$target" "$out/seeds_$target" >"$out/fuzz_$target.log" 2>&1; then
    tail -n 60 "$out/fuzz_$target.log" >&2
    echo "fuzz: $target FAILED (inputs: $out/crash-$target-*)" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$out/fuzz_$target.log" | tr '\n' ' '
    echo
  fi
done
[ "$status" -eq 0 ] && echo "fuzz: no crash"
exit "$status"
