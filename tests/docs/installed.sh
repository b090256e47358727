#!/usr/bin/env bash
# cmake --install into a temporary prefix, then what README's "Installing" shows: the installed
# fmnist_inspect --help and --version, LICENSE and CHANGELOG.md, a 1-step run on 2 ranks through
# the installed launch/run.sh (programs from PREFIX/bin, run/ in the current folder), the installed
# predict.sh on its checkpoint, and 1-step runs of the installed recipe.sh and recipe_resnet.sh (their
# JSON found beside them, recipe/ and recipe_resnet/ written here).
source "$(dirname "$0")/../mpi/lib.sh"
prefix=$WORK/prefix
cmake --install "$BUILD" --prefix "$prefix" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "cmake --install"; }
launch=$prefix/share/fmnist_dist/launch
for f in "$prefix/bin/fmnist_dist" "$prefix/bin/fmnist_inspect" "$launch/run.sh" "$launch/mpirun.sh" \
         "$launch/predict.sh" "$launch/export_onnx.sh" "$launch/recipe.sh" \
         "$launch/recipe_resnet.sh"; do
  [ -x "$f" ] || fail "cmake --install did not install $f as a program"
done
[ -f "$prefix/share/doc/fmnist_dist/docs/computing.md" ] || fail "docs/ not installed"
for f in LICENSE CHANGELOG.md; do [ -f "$prefix/share/doc/fmnist_dist/$f" ] || fail "$f not installed"; done
"$prefix/bin/fmnist_inspect" --version | grep -q "^fmnist_inspect [0-9]" || fail "installed fmnist_inspect --version"
"$prefix/bin/fmnist_inspect" --help >"$WORK/help.txt" || fail "installed fmnist_inspect --help failed"
grep -q -- "--export-onnx" "$WORK/help.txt" || fail "installed fmnist_inspect --help lacks --export-onnx"

mkdir "$WORK/user" && cd "$WORK/user"
env -u FMNIST_BIN FMNIST_NP=2 timeout -k 5 120 "$launch/run.sh" "${SMALL[@]}" --batch-size 16 --max-steps 1 \
  >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; fail "installed run.sh failed"; }
[ -f run/checkpoint.h5 ] || fail "installed run.sh wrote no ./run/checkpoint.h5"
"$prefix/bin/fmnist_inspect" run/checkpoint.h5 --verify >/dev/null || fail "the checkpoint does not verify"
FMNIST_CHECKPOINT=run/checkpoint.h5 "$launch/predict.sh" "$FIXTURES/idx/t10k-images-idx3-ubyte.gz" \
  >"$WORK/predict.log" 2>&1 || { cat "$WORK/predict.log" >&2; fail "installed predict.sh failed"; }
grep -q "Labelled images: 100 of 100" "$WORK/predict.log" || { cat "$WORK/predict.log" >&2; fail "predict.sh output"; }
# The two recipes, one step each: their JSON found beside the installed script, NAME/ written here.
for recipe in recipe recipe_resnet; do
  env -u FMNIST_BIN FMNIST_NP=2 timeout -k 5 120 "$launch/$recipe.sh" "${SMALL[@]}" --batch-size 16 --micro-batch 8 \
    --max-steps 1 >"$WORK/$recipe.log" 2>&1 || { cat "$WORK/$recipe.log" >&2; fail "installed $recipe.sh failed"; }
  [ -f "$recipe/checkpoint.h5" ] || fail "installed $recipe.sh wrote no ./$recipe/checkpoint.h5"
done
expect_text "$WORK/recipe.log" "random_flip \\(RandomFlip\\)"
expect_text "$WORK/recipe.log" "BatchNormalization"
expect_text "$WORK/recipe_resnet.log" "add \\(Add\\)"
echo "install: $prefix holds working programs and launch scripts"
