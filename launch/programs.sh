# Sourced by launch/run.sh, recipe.sh, predict.sh and export_onnx.sh: find_programs sets bin (the
# folder of fmnist_dist and fmnist_inspect) and checkout (the source tree; empty when installed).
# FMNIST_BIN wins; in a source checkout, its build/, which launch/setup.sh first brings up to date;
# installed by `cmake --install` (these scripts in PREFIX/share/fmnist_dist/launch), PREFIX/bin.
# absolute_paths makes the user's relative paths absolute before a script changes folder.
launch_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# find_checkout: sets checkout, the source tree these scripts belong to (empty when installed).
find_checkout() {
  checkout=""
  if [ -f "$launch_dir/../CMakeLists.txt" ] && [ -d "$launch_dir/../src" ]; then
    checkout=$(cd "$launch_dir/.." && pwd)
  fi
}

# absolute_paths ARGS...: sets the array args to ARGS (fmnist_dist's options) with every relative path
# of --model, --train-csv, --test-csv, --data-dir, --out-dir and --resume FILE (not auto) made
# absolute from the current folder, as "--model m.json" or "--model=m.json". --resume takes the next
# word only when it does not start with "-", as fmnist_dist does.
absolute_paths() {
  local word name value pending=""
  args=()
  for word in "$@"; do
    if [ -n "$pending" ]; then
      if [ "$pending" = --resume ] && [[ $word == -* ]]; then
        args+=("$word")
      else
        args+=("$(absolute_path "$pending" "$word")")
      fi
      pending=""
      continue
    fi
    name=${word%%=*}
    case $name in
      --model | --train-csv | --test-csv | --data-dir | --out-dir | --resume)
        if [ "$name" != "$word" ]; then
          value=${word#*=}
          args+=("$name=$(absolute_path "$name" "$value")")
        else
          args+=("$word")
          pending=$word
        fi ;;
      *) args+=("$word") ;;
    esac
  done
}

# absolute_path OPTION VALUE: VALUE from the current folder, unless it is absolute, empty or
# --resume's "auto".
absolute_path() {
  if [ -z "$2" ] || [[ $2 == /* ]] || { [ "$1" = --resume ] && [ "$2" = auto ]; }; then
    printf '%s\n' "$2"
  else
    printf '%s\n' "$PWD/$2"
  fi
}

# find_programs trainer|programs [quiet]: "trainer" needs fmnist_dist alone (launch/setup.sh
# --trainer builds just it in a checkout), "programs" both programs; "quiet" hides setup.sh's output.
find_programs() {
  local need=(fmnist_dist)
  [ "$1" = trainer ] || need+=(fmnist_inspect)
  find_checkout
  if [ -n "${FMNIST_BIN:-}" ]; then
    bin=$(cd "$FMNIST_BIN" && pwd)
  elif [ -n "$checkout" ]; then
    if [ "${2:-}" = quiet ]; then "$checkout/launch/setup.sh" "--$1" >/dev/null; else "$checkout/launch/setup.sh" "--$1"; fi
    bin=$checkout/build
  else
    bin=${launch_dir%/share/fmnist_dist/launch}/bin
  fi
  local program
  for program in "${need[@]}"; do
    if [ ! -x "$bin/$program" ]; then
      echo "$(basename "$0"): no ${need[*]} in $bin (set FMNIST_BIN to their folder)" >&2
      exit 1
    fi
  done
}
