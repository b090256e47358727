#!/usr/bin/env bash
# The residual recipe: trains launch/recipe_resnet.json, a Functional Keras model (RandomFlip,
# RandomTranslation, a Conv2D-BatchNormalization-ReLU stem, then at 14x14 and at 7x7 a convolution and a
# residual block of two 3x3 convolutions with an identity shortcut (Add), GlobalAveragePooling2D,
# Dropout, Dense 10) with AdamW (weight decay 0.05), label smoothing 0.1, batch 128, a linear warmup and
# a cosine schedule, 40 epochs on 54,000 images (validation 10%): about 0.941 test accuracy in 26 to 29
# minutes on two cores (README: Beyond the tutorial; docs/training.md: The residual recipe). Conventions
# of launch/recipe.sh: set up, build, one MPI rank per core (FMNIST_NP overrides), output in
# recipe_resnet/ (at the top of the checkout, or in the current folder when installed) unless --out-dir
# is given; extra arguments go to fmnist_dist after the recipe's and win, e.g. --seed 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/programs.sh"
find_checkout
recipe=(--model "$here/recipe_resnet.json" --optimizer adamw --weight-decay 0.05 --label-smoothing 0.1
        --batch-size 128 --lr 0.001 --lr-schedule cosine --warmup-epochs 2 --epochs 40 --val-split 0.1 --eval-ranks all
        --out-dir "${checkout:-$PWD}/recipe_resnet")
exec "$here/run.sh" "${recipe[@]}" "$@"
