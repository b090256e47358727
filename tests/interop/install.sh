#!/usr/bin/env bash
# Installs the npm packages that an interop reader pins by package.json and package-lock.json in
# its folder (tfjs/: TensorFlow.js, its WebAssembly backend, h5wasm; onnxruntime/: onnxruntime-web)
# into DEST with `npm ci`, once: again only when the lockfile changes. Quiet when all is in place.
# Exit 77 when the npm registry cannot be reached.
# Usage: install.sh READER_DIR DEST   (the tests use BUILD/interop-<reader>, outside the source tree)
set -euo pipefail
here=$(cd "$1" && pwd)
dest=$2
if cmp -s "$here/package-lock.json" "$dest/package-lock.json" && [ -d "$dest/node_modules" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "install.sh: npm is missing (launch/setup.sh installs it)" >&2; exit 1; }
if ! timeout 60 npm ping --fetch-retries=1 --fetch-timeout=20000 >/dev/null 2>&1; then
  echo "SKIP: the npm registry ($(npm config get registry)) cannot be reached, so the packages of $here cannot be installed" >&2
  exit 77
fi
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp "$here/package.json" "$here/package-lock.json" "$dest.new/"
npm ci --prefix "$dest.new" --ignore-scripts --no-audit --no-fund --loglevel=error >"$dest.new.log" 2>&1 || {
  cat "$dest.new.log" >&2
  echo "install.sh: npm ci failed" >&2
  exit 1
}
rm -rf "$dest" "$dest.new.log"
mv "$dest.new" "$dest"
