# Sourced by launch/run.sh, predict.sh and export_onnx.sh: find_programs sets bin (the folder of
# fmnist_dist and fmnist_inspect) and checkout (the source tree; empty when installed). FMNIST_BIN
# wins; in a source checkout, its build/, which launch/setup.sh first brings up to date; installed
# by `cmake --install` (these scripts in PREFIX/share/fmnist_dist/launch), PREFIX/bin.
launch_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# find_programs [quiet]: "quiet" hides launch/setup.sh's output.
find_programs() {
  checkout=""
  if [ -f "$launch_dir/../CMakeLists.txt" ] && [ -d "$launch_dir/../src" ]; then
    checkout=$(cd "$launch_dir/.." && pwd)
  fi
  if [ -n "${FMNIST_BIN:-}" ]; then
    bin=$(cd "$FMNIST_BIN" && pwd)
  elif [ -n "$checkout" ]; then
    if [ "${1:-}" = quiet ]; then "$checkout/launch/setup.sh" >/dev/null; else "$checkout/launch/setup.sh"; fi
    bin=$checkout/build
  else
    bin=${launch_dir%/share/fmnist_dist/launch}/bin
  fi
  if [ ! -x "$bin/fmnist_dist" ] || [ ! -x "$bin/fmnist_inspect" ]; then
    echo "$(basename "$0"): no fmnist_dist and fmnist_inspect in $bin (set FMNIST_BIN to their folder)" >&2
    exit 1
  fi
}
