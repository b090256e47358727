#!/usr/bin/env bash
# The version a build reports (CHANGELOG.md, README: Version, license and citing): src/version/
# commit.cmake gives "unknown" outside Git, the short hash in a Git tree and "-modified" with
# uncommitted changes, and rewrites nothing when nothing changed; both programs' --version name
# CMakeLists.txt's project VERSION, the commit the build recorded and the kernels; a checkpoint of a
# real run carries them as root attributes (read with h5py), shown by fmnist_inspect (text and
# --json). Control: the same file without the attributes reads as written before 1.0.0.
source "$(dirname "$0")/../mpi/lib.sh"
PYTHON=/usr/bin/python3
version=$(sed -n 's/^project(fmnist_dist VERSION \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no project(fmnist_dist VERSION x.y.z) in CMakeLists.txt"

# commit.cmake in a folder outside Git, then in a fresh repository, clean and modified.
commit_of() {  # commit_of TREE: what commit.cmake writes for TREE
  cmake -DSOURCE_DIR="$1" -DOUTPUT="$WORK/commit.hpp" -P "$SRC/src/version/commit.cmake" >/dev/null 2>&1 ||
    fail "commit.cmake failed on $1"
  sed -n 's/^#define FMNIST_GIT_COMMIT "\(.*\)"$/\1/p' "$WORK/commit.hpp"
}
mkdir -p "$WORK/plain" "$WORK/repo"
[ "$(commit_of "$WORK/plain")" = unknown ] || fail "outside Git the commit is '$(commit_of "$WORK/plain")', not unknown"
git -C "$WORK/repo" init -q
echo one >"$WORK/repo/file.txt"
git -C "$WORK/repo" add file.txt
git -C "$WORK/repo" -c user.name=test -c user.email=test@example.invalid commit -qm one
head=$(git -C "$WORK/repo" rev-parse --short=12 HEAD)
[ "$(commit_of "$WORK/repo")" = "$head" ] || fail "in a clean tree the commit is '$(commit_of "$WORK/repo")', not $head"
touch -d '2001-01-01' "$WORK/commit.hpp"
commit_of "$WORK/repo" >/dev/null
[ "$(stat -c %Y "$WORK/commit.hpp")" = "$(date -d 2001-01-01 +%s)" ] || fail "commit.cmake rewrote an unchanged header (a rebuild every time)"
echo two >"$WORK/repo/file.txt"
[ "$(commit_of "$WORK/repo")" = "$head-modified" ] || fail "with a modified file the commit is '$(commit_of "$WORK/repo")', not $head-modified"

# Both programs: the project version, the commit this build recorded, its kernels.
built=$(sed -n 's/^#define FMNIST_GIT_COMMIT "\(.*\)"$/\1/p' "$BUILD/generated/version_commit.hpp")
[ -n "$built" ] || fail "$BUILD/generated/version_commit.hpp holds no commit"
expect_exit 0 "$WORK/dist.txt" mpi 1 --version
expect_exit 0 "$WORK/inspect.txt" "$INSPECT" --version
for program in dist inspect; do
  [ "$(head -1 "$WORK/$program.txt")" = "fmnist_$program $version" ] || { cat "$WORK/$program.txt" >&2; fail "fmnist_$program --version's first line"; }
  expect_text "$WORK/$program.txt" "^commit $built\$"
  expect_text "$WORK/$program.txt" "^kernels (avx512|avx2|avx|sse2|neon) \([0-9]+-byte vectors\)"
  expect_text "$WORK/$program.txt" "^license Apache-2.0\$"
done

# A real run's checkpoint records them; fmnist_inspect shows them.
expect_exit 0 "$WORK/run.log" mpi 2 "${SMALL[@]}" --batch-size 16 --max-steps 1 --out-dir "$WORK/run"
ckpt=$WORK/run/checkpoint.h5
"$PYTHON" - "$ckpt" "$version" "$built" <<'PY' || fail "the checkpoint's root attributes"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    got = {k: f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else str(f.attrs[k])
           for k in ("fmnist_dist_version", "fmnist_dist_commit")}
assert got == {"fmnist_dist_version": sys.argv[2], "fmnist_dist_commit": sys.argv[3]}, got
PY
"$INSPECT" "$ckpt" >"$WORK/report.txt" || fail "fmnist_inspect"
expect_text "$WORK/report.txt" "written by +fmnist_dist $version, commit $built; kernels "
"$INSPECT" "$ckpt" --json >"$WORK/report.json" || fail "fmnist_inspect --json"
"$PYTHON" -c 'import json, sys; w = json.load(open(sys.argv[1]))["written_by"]; assert w == {"version": sys.argv[2], "commit": sys.argv[3]}, w' \
  "$WORK/report.json" "$version" "$built" || fail "--json's written_by"

# Control: without the attributes (a file from before 1.0.0) it says so, and --json has null.
cp "$ckpt" "$WORK/old.h5"
"$PYTHON" -c 'import sys, h5py; f = h5py.File(sys.argv[1], "r+"); del f.attrs["fmnist_dist_version"], f.attrs["fmnist_dist_commit"]' "$WORK/old.h5"
"$INSPECT" "$WORK/old.h5" >"$WORK/old.txt" || fail "fmnist_inspect on the old file"
expect_text "$WORK/old.txt" "written by +fmnist_dist before 1.0.0"
grep -q "commit $built" "$WORK/old.txt" && fail "the control still shows the commit"
"$PYTHON" -c 'import json, sys; assert json.load(open(sys.argv[1]))["written_by"] is None' <("$INSPECT" "$WORK/old.h5" --json) ||
  fail "--json's written_by of the old file is not null"
echo "version: $version, commit $built, in --version and the checkpoints"
