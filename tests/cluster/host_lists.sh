# launch/mpirun.sh checks the host lists of FMNIST_MPIRUN_OPTS and NP before anything runs (docs/clusters.md:
# What launch/mpirun.sh watches): a --host entry holding a command substitution, a glob, a bracket
# range, a bad count, an empty entry, a hostfile with a bad name or slot count, a missing hostfile
# and a bad NP each exit 2 with a message naming the entry, the program never runs, and nothing
# of the entry is evaluated (the command substitution would create a file; the globs would match
# files of the working folder). Control: valid lists of the same forms run the program.
source "$(dirname "$0")/../mpi/lib.sh"
cd "$WORK" || exit 1
touch n1 n2 node1 node2  # what an unquoted n* or node[1-2] would match
PASSED=0

# refused REGEX OPTS [NP]: launch/mpirun.sh exits 2 with REGEX in its output; the program did not run.
refused() {
  local code=0
  FMNIST_MPIRUN_OPTS=$2 "$SRC/launch/mpirun.sh" "${3:-1}" touch "$WORK/ran" >"$WORK/out" 2>&1 || code=$?
  [ "$code" -eq 2 ] || { cat "$WORK/out" >&2; fail "FMNIST_MPIRUN_OPTS='$2' NP ${3:-1}: exit $code, expected 2"; }
  expect_text "$WORK/out" "^launch/mpirun.sh: $1"
  [ ! -e "$WORK/ran" ] || fail "FMNIST_MPIRUN_OPTS='$2': the program ran"
  [ ! -e "$WORK/pwned" ] || fail "FMNIST_MPIRUN_OPTS='$2': a command in the host list ran"
  PASSED=$((PASSED + 1))
}
# shellcheck disable=SC2016  # the $(...) must reach launch/mpirun.sh unexpanded
refused "-H n1:a\[\\\$\(touch\\\$\{IFS\}$WORK/pwned\)\]: host n1: slot count 'a\[" '-H n1:a[$(touch${IFS}'"$WORK"'/pwned)]'
# shellcheck disable=SC2016
refused "--host \\\$\(touch\\\$\{IFS\}$WORK/pwned\): host name '\\\$\(touch" '--host $(touch${IFS}'"$WORK"'/pwned)'
refused "-H n\*: host name 'n\*': only letters, digits, '.', '_' and '-' are allowed" '-H n*'
refused "--host localhost,node\[1-2\]: host name 'node\[1-2\]'" '--host localhost,node[1-2]'
refused "-H localhost:x: host localhost: slot count 'x': digits expected" '-H localhost:x'
refused "-H localhost,,n1: host name ''" '-H localhost,,n1'
refused "-H -oProxyCommand=x: host name '-oProxyCommand=x'" '-H -oProxyCommand=x'
refused "-H without a value in FMNIST_MPIRUN_OPTS" '-H'
printf 'localhost slots=1\nnode_a slots=two\n' >"$WORK/bad_slots"
refused "--hostfile $WORK/bad_slots: host node_a: slots 'two': digits expected" "--hostfile $WORK/bad_slots"
printf '# the nodes\nlocalhost slots=1\nn* slots=1\n' >"$WORK/bad_name"
refused "--hostfile $WORK/bad_name: host name 'n\*'" "--hostfile $WORK/bad_name"
refused "--hostfile '$WORK/none': no such readable file" "--hostfile $WORK/none"
refused "NP '2x': a number of ranks \(digits, at least 1\) expected" "" 2x
refused "NP '0'" "" 0

# The controls: the same forms, valid, run the program (with one slot on this machine).
printf '# the nodes\nlocalhost slots=1 max_slots=4  # this machine\n' >"$WORK/good"
for opts in "-H localhost:1" "--host localhost" "--hostfile $WORK/good"; do
  rm -f "$WORK/ran"
  FMNIST_MPIRUN_OPTS=$opts "$SRC/launch/mpirun.sh" 1 touch "$WORK/ran" >"$WORK/out" 2>&1 ||
    { cat "$WORK/out" >&2; fail "FMNIST_MPIRUN_OPTS='$opts' failed"; }
  [ -e "$WORK/ran" ] || fail "FMNIST_MPIRUN_OPTS='$opts': the program did not run"
done
echo "  host_lists: $PASSED lists refused with exit 2 before anything ran; 3 valid lists ran"
echo "1 passed, 0 failed"
