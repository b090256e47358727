# Structure-aware fuzzing of checkpoints: tests/fuzz/checkpoint_edits.py edits copies of a real
# checkpoint through h5py, so every checksum stays valid (negative and huge counters, counters that
# disagree, huge declared datasets whose chunks were never written, wrong types and ranks, strings
# and lists too long, a model too large for the file, damaged chunk-index bytes, and harmless
# edits). Each copy goes through fmnist_inspect --verify and a 2-rank --resume, both under a memory
# cap (ulimit -v) and a time limit, and must end with exit 4 naming the file -- or 0 for a harmless
# edit, whose weights must then be the original's -- never a signal, 1, 70 or a timeout.
# Prints the number of cases, the peak memory of any process and the time taken.
source "$(dirname "$0")/lib.sh"
CAP_KB=1000000     # ulimit -v of every process: 1 GB, where a file declaring 16 GB would fail
CASE_LIMIT=60      # seconds for one --resume job
PARALLEL=4         # cases at once (each mostly waits for its programs to start)
start_all=$(now)
make_base
cases=$WORK/cases
"$PYTHON" "$SRC/tests/fuzz/checkpoint_edits.py" "$BASE" "$cases"
measure=()
[ -x /usr/bin/time ] && measure=(/usr/bin/time -f %M -o)  # peak resident KB, when the time program is there

# verify NAME WANT: fmnist_inspect --verify under the cap.
verify() {
  local rc=0
  (ulimit -v "$CAP_KB"; exec timeout -k 2 20 ${measure[@]:+"${measure[@]}" "$WORK/mem.verify.$1"} "$INSPECT" "$cases/$1.h5" --verify) \
    </dev/null >"$WORK/$1.verify.log" 2>&1 || rc=$?
  echo "$rc" >"$WORK/$1.verify.rc"
}

# resume NAME: a 2-rank --resume of the edited file under the cap, each rank's peak memory recorded.
# shellcheck disable=SC2016
CAPPED='ulimit -v "$CAP_KB"; exec ${MEASURE:+/usr/bin/time -f %M -o "$MEASURE.$OMPI_COMM_WORLD_RANK"} "$0" "$@"'
resume() {
  local rc=0 mem=""
  [ ${#measure[@]} -eq 0 ] || mem=$WORK/mem.resume.$1
  mkdir -p "$WORK/ompi.$1"  # a session folder of its own: mpiruns started at once race on a shared one
  OMPI_MCA_orte_tmpdir_base=$WORK/ompi.$1 CAP_KB=$CAP_KB MEASURE=$mem timeout -k 5 "$CASE_LIMIT" \
    "$SRC/launch/mpirun.sh" 2 -x CAP_KB -x MEASURE \
    bash -c "$CAPPED" "$DIST" "${SMALL[@]}" --batch-size 16 --max-steps 4 --out-dir "$WORK/out.$1" \
    --resume "$cases/$1.h5" </dev/null >"$WORK/$1.resume.log" 2>&1 || rc=$?
  echo "$rc" >"$WORK/$1.resume.rc"
}

# judge NAME WANT WHAT: both runs ended with WANT; a refusal named the file, a harmless edit kept the weights.
judge() {
  local name=$1 want=$2 what=$3 kind rc
  for kind in verify resume; do
    rc=$(cat "$WORK/$name.$kind.rc")
    if [ "$rc" -ne "$want" ]; then
      cat "$WORK/$name.$kind.log" >&2
      fail "$name ($what): $kind exited with $rc, expected $want"
    fi
  done
  if [ "$want" -eq 4 ]; then
    grep -q "^PROBLEM: $cases/$name.h5: " "$WORK/$name.verify.log" || fail "$name: --verify did not name the file"
    grep -q "^fmnist_dist: error: $cases/$name.h5: " "$WORK/$name.resume.log" || fail "$name: --resume did not name the file"
  else
    same_weights "$BASE" "$cases/$name.h5" 0
  fi
  echo "  $name: $what: exit $want$( [ "$want" -eq 0 ] || echo ": $(grep -m1 -o "^PROBLEM: .*" "$WORK/$name.verify.log" | sed "s|^PROBLEM: $cases/||" | cut -c1-160)")"
}

n=0
while IFS=$'\t' read -r name want what; do
  { verify "$name"; resume "$name"; } &
  n=$((n + 1))
  [ $((n % PARALLEL)) -ne 0 ] || wait
done <"$cases/cases.tsv"
wait
while IFS=$'\t' read -r name want what; do
  case_ "$name" judge "$name" "$want" "$what"
done <"$cases/cases.tsv"

peak=$( (cat "$WORK"/mem.* 2>/dev/null || true) | grep -E '^[0-9]+$' | sort -n | tail -n 1)
echo "$n cases (each --verify and a 2-rank --resume, ulimit -v $CAP_KB KB) in $(( $(elapsed_ms "$start_all") / 1000 )) s;" \
  "peak resident memory of any process: ${peak:-unmeasured} KB"
[ "$n" -ge 30 ] || fail "only $n cases were generated"
summary
