# ONNX Runtime's WebAssembly build (onnxruntime-web from npm, pinned by package-lock.json) runs
# every model that models.sh exported on the 10,000 test images under Node (run_model.mjs): both
# outputs match ours to 1e-4 and the accuracy is --evaluate's; the negative control must fail.
# The packages are installed once into the build folder (npm ci from copies of package.json and
# the lockfile: the source tree stays clean); skipped (77) only when the npm registry is unreachable.
source "$(dirname "$0")/../onnx/lib.sh"
here=$SRC/tests/interop/onnxruntime
ORT=$BUILD/interop/onnxruntime
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are missing (launch/setup.sh installs them)"
if ! cmp -s "$here/package-lock.json" "$ORT/installed-lock.json"; then  # installed-lock.json marks a finished install
  rm -rf "$ORT"
  mkdir -p "$ORT"
  cp "$here/package.json" "$here/package-lock.json" "$ORT/"
  if ! npm ci --prefix "$ORT" --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1; then
    if ! timeout 60 npm ping >"$WORK/ping.log" 2>&1; then
      rm -rf "$ORT"
      echo "SKIP: the npm registry cannot be reached (npm ping failed), so onnxruntime-web cannot be installed"
      exit 77
    fi
    cat "$WORK/npm.log" >&2
    fail "npm ci of onnxruntime-web failed although the registry answers"
  fi
  cp "$here/package-lock.json" "$ORT/installed-lock.json"
fi
cp "$here/run_model.mjs" "$ORT/"
check_runtime "onnxruntime-web $(node -p "require('$ORT/node_modules/onnxruntime-web/package.json').version")" \
  node "$ORT/run_model.mjs"
echo "1 passed, 0 failed"
