# ONNX Runtime's WebAssembly build (onnxruntime-web from npm, pinned by package-lock.json) runs
# every model that onnx_models.sh exported on the 10,000 test images under Node (run_model.mjs):
# both outputs match ours to 1e-4 and the accuracy is --evaluate's; the negative control must fail.
# The packages go to build/interop-onnxruntime once (tests/interop/install.sh: the source tree stays
# clean); skipped (77) only when the npm registry cannot be reached.
source "$(dirname "$0")/../onnx/lib.sh"
here=$SRC/tests/interop/onnxruntime
ORT=$BUILD/interop-onnxruntime
command -v node >/dev/null || fail "node is missing (launch/setup.sh installs it)"
bash "$SRC/tests/interop/install.sh" "$here" "$ORT" || exit $?
cp "$here/run_model.mjs" "$ORT/"  # beside its node_modules, where Node's imports look
check_runtime "onnxruntime-web $(node -p "require('$ORT/node_modules/onnxruntime-web/package.json').version")" \
  node "$ORT/run_model.mjs"
echo "1 passed, 0 failed"
