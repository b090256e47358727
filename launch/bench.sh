#!/usr/bin/env bash
# The performance benchmark (issue 5): builds Release through launch/setup.sh, then prints one
# table: every layer's forward/backward time and GFLOP/s at the per-rank batch of 256 (Google
# Benchmark), the GEMM ceiling measured now (Eigen sgemm, one core and both cores at once), one
# training epoch with -np 1 and -np 2 (seconds, images/s, share of the 2-core ceiling, allreduce
# share, peak RSS per rank), the per-step allreduce plain (--stall-timeout 0) and watched (the watchdog's cost)
# over shared memory and, as root, over TCP between 2 and 3 emulated nodes (tests/cluster/nodes.sh),
# and, with --with-torch, PyTorch DDP 2 ranks x 1 thread in the same run. All of it for the tutorial's
# model, and the layers, a -np 2 epoch and PyTorch's epoch for a wider model on the same Keras JSON
# (tests/fixtures/models/wide_tutorial.json: 64/128/128 filters, padding='same', two Dropouts), and
# the same for launch/recipe.json (augmentation and BatchNormalization; Adam, as launch/recipe.sh),
# for tests/fixtures/models/conv_bn_block.json (Conv2D(relu) -> BatchNormalization blocks) and for the
# residual recipe's Functional model (launch/recipe_resnet.json, with launch/recipe_resnet.sh's batch and
# optimizer); last, each model's nominal work per epoch and the rate we reach against the GEMM ceiling.
# Usage: launch/bench.sh [--with-torch]     (about eleven minutes after the build, torch included)
# FMNIST_BUILD=DIR uses an existing build folder instead of building build/; FMNIST_TORCH_REF=FILE
# runs another PyTorch reference than tests/bench/torch_ref.py. --with-torch needs Debian's
# python3-torch (several hundred MB), which launch/setup.sh --tests installs.
set -euo pipefail
cd "$(dirname "$0")/.."

with_torch=0
for arg in "$@"; do
  case "$arg" in
    --with-torch) with_torch=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

py=/usr/bin/python3  # Debian's python: json for the table, torch for the peer
if [ -n "${FMNIST_BUILD:-}" ]; then
  build=$FMNIST_BUILD
else
  launch/setup.sh >/dev/null
  build=build
fi
# The benchmarks are not part of the default build: built here (the target benchmarks).
cmake --build "$build" -j "$(nproc)" --target benchmarks >"$build/bench_build.log" 2>&1 || {
  tail -30 "$build/bench_build.log" >&2; echo "bench: building the benchmarks failed (log: $build/bench_build.log)" >&2; exit 1
}
[ -x "$build/bench_nn_layers" ] && [ -x "$build/bench_gemm" ] || {
  echo "bench: $build/bench_nn_layers or bench_gemm missing (is libbenchmark-dev installed?)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1

echo "bench: layers (Google Benchmark, batch 256, one thread) ..." >&2
"$build/bench_nn_layers" --benchmark_filter='Conv2DPool|Conv2D(Forward|Backward)|BatchNorm|Dense|Dropout|ModelStep' \
  --benchmark_min_time=0.5 --benchmark_format=json >"$tmp/layers.json" 2>/dev/null

echo "bench: GEMM ceiling (one core, then both cores at once) ..." >&2
"$build/bench_gemm" --benchmark_min_time=2 --benchmark_format=json >"$tmp/gemm1.json" 2>/dev/null
for i in 0 1; do
  "$build/bench_gemm" --benchmark_filter='2048/2048/2048' --benchmark_min_time=4 \
    --benchmark_format=json >"$tmp/gemm2_$i.json" 2>/dev/null &
done
wait

for np in 1 2; do
  echo "bench: one training epoch with -np $np ..." >&2
  launch/mpirun.sh "$np" "$build/fmnist_dist" --epochs 1 --progress never --profile \
    --out-dir "$tmp/np$np" >"$tmp/np$np.log" 2>&1 || { cat "$tmp/np$np.log" >&2; exit 1; }
done
wide=tests/fixtures/models/wide_tutorial.json
echo "bench: one training epoch of the wide model with -np 2 ..." >&2
launch/mpirun.sh 2 "$build/fmnist_dist" --model "$wide" --epochs 1 --progress never --profile \
  --out-dir "$tmp/wide" >"$tmp/wide.log" 2>&1 || { cat "$tmp/wide.log" >&2; exit 1; }

recipe=launch/recipe.json
echo "bench: one training epoch of the recipe's model (launch/recipe.json) with -np 2 ..." >&2
launch/mpirun.sh 2 "$build/fmnist_dist" --model "$recipe" --optimizer adam --epochs 1 --progress never --profile \
  --out-dir "$tmp/recipe" >"$tmp/recipe.log" 2>&1 || { cat "$tmp/recipe.log" >&2; exit 1; }

block=tests/fixtures/models/conv_bn_block.json
echo "bench: one training epoch of the Conv2D -> BatchNormalization block ($block) with -np 2 ..." >&2
launch/mpirun.sh 2 "$build/fmnist_dist" --model "$block" --epochs 1 --progress never --profile \
  --out-dir "$tmp/block" >"$tmp/block.log" 2>&1 || { cat "$tmp/block.log" >&2; exit 1; }

resnet=launch/recipe_resnet.json
resnet_opts=(--optimizer adamw --weight-decay 0.05 --label-smoothing 0.1 --batch-size 128 --lr 0.001)
echo "bench: one training epoch of the residual recipe's model ($resnet) with -np 2 ..." >&2
launch/mpirun.sh 2 "$build/fmnist_dist" --model "$resnet" "${resnet_opts[@]}" --epochs 1 --progress never --profile \
  --out-dir "$tmp/resnet" >"$tmp/resnet.log" 2>&1 || { cat "$tmp/resnet.log" >&2; exit 1; }

# The per-step allreduce: shared memory with 2 and 3 ranks, then TCP between emulated nodes.
echo "bench: the per-step allreduce, plain and watched (shared memory, 2 and 3 ranks) ..." >&2
for np in 2 3; do
  launch/mpirun.sh "$np" "$build/bench_allreduce" >"$tmp/ar_sm$np.json" 2>"$tmp/ar_sm$np.err" ||
    { cat "$tmp/ar_sm$np.err" >&2; exit 1; }
done
if [ "$(id -u)" -eq 0 ] && command -v nsenter >/dev/null && command -v unshare >/dev/null; then
  echo "bench: the same over TCP between 2 and 3 emulated nodes (network namespaces) ..." >&2
  (
    WORK=$tmp/cluster
    mkdir -p "$WORK"
    fail() { echo "bench: $*" >&2; exit 1; }
    source tests/cluster/nodes.sh
    cluster_up 3 >"$tmp/cluster_up.log"
    for np in 2 3; do
      hostfile_of $(seq 1 "$np")
      FMNIST_MPIRUN_OPTS="$(cluster_opts)" on 1 launch/mpirun.sh "$np" "$build/bench_allreduce" \
        >"$tmp/ar_tcp$np.json" 2>"$tmp/ar_tcp$np.err" || { cat "$tmp/ar_tcp$np.err" >&2; exit 1; }
    done
  ) || echo "bench: no TCP figures: $(cat "$tmp/cluster_up.log" 2>/dev/null)" >&2
fi

if ((with_torch)); then
  echo "bench: PyTorch DDP, 2 ranks x 1 thread, channels-last, one epoch ..." >&2
  ref=${FMNIST_TORCH_REF:-tests/bench/torch_ref.py}
  [ -f "$ref" ] || { echo "bench: $ref not found" >&2; exit 1; }
  "$py" -c "import torch" 2>/dev/null ||
    { echo "bench: --with-torch needs PyTorch: apt-get install python3-torch" >&2; exit 1; }
  torch_ddp() {  # NAME [torch_ref.py options]: one epoch, 2 ranks x 1 thread, rank 0's log in NAME0.log
    local name=$1 port=$((29600 + RANDOM % 300)) rank
    shift
    for rank in 1 0; do
      MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$rank OMP_NUM_THREADS=1 \
        "$py" "$ref" --threads 1 --channels-last --no-eval --epochs 1 "$@" >"$tmp/${name}$rank.log" 2>&1 &
    done
    wait || { cat "$tmp/${name}0.log" >&2; exit 1; }
  }
  torch_ddp torch
  echo "bench: PyTorch DDP on the wide model's JSON ..." >&2
  torch_ddp torchwide --model "$wide"
  echo "bench: PyTorch DDP on the recipe's JSON ..." >&2
  torch_ddp torchrecipe --model "$recipe" --optimizer adam
  echo "bench: PyTorch DDP on the Conv2D -> BatchNormalization block's JSON ..." >&2
  torch_ddp torchblock --model "$block"
  echo "bench: PyTorch DDP on the residual recipe's JSON ..." >&2
  torch_ddp torchresnet --model "$resnet" "${resnet_opts[@]}"
fi

"$py" - "$tmp" "$with_torch" "$build/fmnist_inspect" <<'EOF'
import json, math, re, subprocess, sys, platform
tmp, with_torch, inspect = sys.argv[1], sys.argv[2] == "1", sys.argv[3]

def forward_flop(checkpoint):
    """Multiply-adds x 2 of one image's forward pass (the nominal work; pooling, BatchNormalization,
    activations and merges are memory passes): every kernel tensor (Conv2D's, Dense's, the depthwise
    and pointwise ones) times the output positions of its layer, from the checkpoint's plan as
    fmnist_inspect --json gives it (the layer registry's shapes)."""
    model = json.loads(subprocess.run([inspect, checkpoint, "--json"], capture_output=True, check=True,
                                      text=True).stdout)["model"]
    positions = {l["name"]: math.prod(l["output_shape"][:-1]) for l in model["layers"]}
    total = 0
    for t in model["tensors"]:
        layer, weight = t["name"].rsplit(":", 1)[0].rsplit("/", 1)
        if weight.endswith("kernel"):
            total += 2 * t["size"] * positions[layer]
    return total

# The nominal work of an epoch of 42,000 images: 3 x the forward pass (forward, input gradient,
# weight gradient), a little more than the tutorial computes (its first layer's input gradient is
# never needed).
# Each -np 2 run's, by its out-dir (np2: the tutorial).
EPOCH_GFLOP = {run: 3 * 42000 * forward_flop(f"{tmp}/{run}/checkpoint.h5") / 1e9
               for run in ("np2", "wide", "recipe", "block", "resnet")}

def runs(path):
    return {b["name"]: b for b in json.load(open(path))["benchmarks"] if b.get("run_type", "iteration") == "iteration"}

def ms(b):  # wall milliseconds per call
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale

def gflops(b):
    return b["flop_per_call"] / (ms(b) * 1e-3) / 1e9

layers = runs(f"{tmp}/layers.json")
gemm1 = runs(f"{tmp}/gemm1.json")
gemm2 = [list(runs(f"{tmp}/gemm2_{i}.json").values())[0] for i in (0, 1)]
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break

print(f"fmnist_dist benchmark - {cpu}, {platform.node()} - Release, -O3 -march=native, no -ffast-math")
print()
print("Per layer, per-rank batch 256, one thread (GFLOP/s of the layer's nominal work):")
print(f"  {'layer':<40}{'fwd ms':>9}{'GFLOP/s':>9}{'bwd ms':>9}{'GFLOP/s':>9}")
rows = [("conv2d + max_pooling2d", "BM_Conv2DPoolForward/0", "BM_Conv2DPoolBackward/0"),
        ("conv2d_1 + max_pooling2d_1", "BM_Conv2DPoolForward/1", "BM_Conv2DPoolBackward/1"),
        ("conv2d_2", "BM_Conv2DForward/0", "BM_Conv2DBackward/0"),
        ("dense", "BM_DenseForward/0", "BM_DenseBackward/0"),
        ("dense_1", "BM_DenseForward/1", "BM_DenseBackward/1"),
        ("wide: conv2d + max_pooling2d", "BM_Conv2DPoolForward/2", "BM_Conv2DPoolBackward/2"),
        ("wide: conv2d_1 + max_pooling2d_1", "BM_Conv2DPoolForward/3", "BM_Conv2DPoolBackward/3"),
        ("wide: dropout (training)", "BM_DropoutForward/0", "BM_DropoutBackward/0"),
        ("wide: conv2d_2 (padding same)", "BM_Conv2DForward/1", "BM_Conv2DBackward/1"),
        ("wide: dense", "BM_DenseForward/2", "BM_DenseBackward/2"),
        ("wide: dropout_1 (training)", "BM_DropoutForward/1", "BM_DropoutBackward/1"),
        ("wide: dense_1", "BM_DenseForward/3", "BM_DenseBackward/3"),
        ("block: conv2d (28x28x1 -> 32, same)", "BM_Conv2DForward/2", "BM_Conv2DBackward/2"),
        ("block: conv2d_1 (28x28x32 -> 32)", "BM_Conv2DForward/3", "BM_Conv2DBackward/3"),
        ("block: batch_normalization (28x28x32)", "BM_BatchNormForward/0", "BM_BatchNormBackward/0"),
        ("block: conv2d_2 (14x14x32 -> 64)", "BM_Conv2DForward/4", "BM_Conv2DBackward/4"),
        ("block: conv2d_3 (14x14x64 -> 64)", "BM_Conv2DForward/5", "BM_Conv2DBackward/5"),
        ("block: batch_normalization (14x14x64)", "BM_BatchNormForward/1", "BM_BatchNormBackward/1")]
def rate(b):  # Dropout does no multiply-adds: show nothing rather than 0.0
    return f"{gflops(b):9.1f}" if b.get("flop_per_call") else f"{'':9}"
for name, f, b in rows:
    f, b = layers[f], layers[b]
    print(f"  {name:<40}{ms(f):9.2f}{rate(f)}{ms(b):9.2f}{rate(b)}")
for index, name in ((0, "tutorial"), (1, "wide"), (2, "block"), (3, "residual recipe's")):
    step = layers[f"BM_ModelStep/{index}"]
    print(f"  {'training step, ' + name + ' model':<40}{ms(step):9.2f}{gflops(step):9.1f}"
          f"   {256 / (ms(step) * 1e-3):,.0f} images/s")
print()
g2048 = gemm1["BM_EigenGemm/2048/2048/2048"]
gconv = gemm1["BM_EigenGemm/30976/288/64"]
ceiling2 = sum(gflops(b) for b in gemm2)
print("GEMM ceiling (Eigen single precision, one thread per process):")
print(f"  2048^3, one core:                      {gflops(g2048):7.1f} GFLOP/s")
print(f"  2048^3, both cores (2 processes, sum): {ceiling2:7.1f} GFLOP/s")
print(f"  30976x288 . 288x64 (conv2d_1), 1 core: {gflops(gconv):7.1f} GFLOP/s")
print()

prof_re = re.compile(r"profile: ([\d.]+)s training - compute ([\d.]+)s - allreduce ([\d.]+)s \(([\d.]+)%\)"
                     r" - update ([\d.]+)s - (\d+) images/s - peak RSS per rank \(MB\): ([\d ]+)")
def profile(name):
    log = open(f"{tmp}/{name}.log").read()
    m = prof_re.search(log)
    if not m:
        sys.exit(f"bench: no profile line in {name}.log:\n{log}")
    return {"s": float(m.group(1)), "allreduce": float(m.group(4)), "ips": float(m.group(6)),
            "rss": m.group(7).split()}
epochs = {np_: profile(f"np{np_}") for np_ in (1, 2)}
wide = profile("wide")
recipe = profile("recipe")
block = profile("block")
resnet = profile("resnet")
print("Training epoch (42,000 images, 83 steps of global batch 512, one thread per rank):")
print(f"  {'ranks':<7}{'epoch s':>9}{'images/s':>10}{'GFLOP/s':>9}{'of 2-core ceiling':>19}"
      f"{'allreduce':>11}   peak RSS per rank (MB)")
for np_, e in epochs.items():
    rate = EPOCH_GFLOP["np2"] / e["s"]
    print(f"  {np_:<7}{e['s']:9.2f}{e['ips']:10,.0f}{rate:9.1f}{100 * rate / ceiling2:18.0f}%"
          f"{e['allreduce']:10.1f}%   {' '.join(e['rss'])}")
print(f"  speed-up of -np 2 over -np 1: {epochs[1]['s'] / epochs[2]['s']:.2f}x")
print(f"  wide model, -np 2: {wide['s']:.2f} s, {wide['ips']:,.0f} images/s, allreduce {wide['allreduce']:.1f}%,"
      f" peak RSS per rank (MB) {' '.join(wide['rss'])}")
print(f"  recipe's model, -np 2: {recipe['s']:.2f} s, {recipe['ips']:,.0f} images/s, allreduce {recipe['allreduce']:.1f}%,"
      f" peak RSS per rank (MB) {' '.join(recipe['rss'])}")
print(f"  Conv2D -> BatchNormalization block, -np 2: {block['s']:.2f} s, {block['ips']:,.0f} images/s,"
      f" allreduce {block['allreduce']:.1f}%, peak RSS per rank (MB) {' '.join(block['rss'])}")
print(f"  residual recipe's model, -np 2: {resnet['s']:.2f} s, {resnet['ips']:,.0f} images/s,"
      f" allreduce {resnet['allreduce']:.1f}%, peak RSS per rank (MB) {' '.join(resnet['rss'])}")
print()
import os
ar = {}
for key in ("sm2", "sm3", "tcp2", "tcp3"):
    path = f"{tmp}/ar_{key}.json"
    if os.path.exists(path) and os.path.getsize(path) > 0:
        ar[key] = json.loads(open(path).read().strip().splitlines()[-1])
print(f"Per-step allreduce ({ar['sm2']['bytes']:,} bytes of int64; median ms per call; plain (--stall-timeout 0:"
      " MPI_Iallreduce completed by MPI_Wait), then watched: polled MPI_Iallreduce with the stall watchdog's words):")
labels = {"sm2": "shared memory, 2 ranks", "sm3": "shared memory, 3 ranks (2 cores)",
          "tcp2": "TCP, 2 emulated nodes", "tcp3": "TCP, 3 emulated nodes (2 cores)"}
for key, label in labels.items():
    if key in ar:
        print(f"  {label:<34}{ar[key]['plain_ms']:7.3f}{ar[key]['watched_ms']:9.3f}")
    else:
        print(f"  {label:<34}   (not measured: needs root and network namespaces)")
step_ms = 1000 * epochs[2]["s"] / 83
cost = ar["sm2"]["watched_ms"] - ar["sm2"]["plain_ms"]
print(f"  stall watchdog, -np 2: {cost:+.3f} ms per step = {100 * cost / step_ms:+.2f}% of the {step_ms:.1f} ms step")
if with_torch:
    def torch_run(name):  # the epoch's training seconds and rank 0's peak RSS (MB)
        lines = [json.loads(l) for l in open(f"{tmp}/{name}0.log") if l.startswith("{")]
        epoch = [l for l in lines if "train_s" in l]
        rss = [l["peak_rss_mb"] for l in lines if "peak_rss_mb" in l]
        if not epoch or not rss:
            sys.exit("bench: no epoch or result line from torch_ref.py:\n" + open(f"{tmp}/{name}0.log").read())
        return epoch[0]["train_s"], rss[0]
    print()
    print("PyTorch DDP 2 ranks x 1 thread (channels-last, gloo), one epoch, against ours with -np 2;")
    print("peak RSS: PyTorch's rank 0 against our largest rank:")
    for label, e, name in (("tutorial model", epochs[2], "torch"), ("wide model (same JSON)", wide, "torchwide"),
                           ("recipe's model (same JSON)", recipe, "torchrecipe"),
                           ("conv-BN block (same JSON)", block, "torchblock"),
                           ("residual recipe (same JSON)", resnet, "torchresnet")):
        torch_s, torch_rss = torch_run(name)
        ours, rss = e["s"], max(float(r) for r in e["rss"])
        print(f"  {label:<27} PyTorch {torch_s:6.2f} s, ours {ours:6.2f} s: ratio ours / PyTorch {ours / torch_s:.2f};"
              f" peak RSS {torch_rss:5.0f} MB, ours {rss:4.0f} MB: {rss / torch_rss:.2f}")


print()
print("Nominal work of an epoch of 42,000 images (3 x the forward multiply-adds x 2: forward, input gradient,")
print(f"weight gradient), the rate our -np 2 epoch reaches, against the 2-core GEMM ceiling above ({ceiling2:.1f} GFLOP/s):")
for label, run, e in (("tutorial", "np2", epochs[2]), ("wide", "wide", wide), ("recipe", "recipe", recipe),
                      ("conv-BN block", "block", block), ("residual recipe", "resnet", resnet)):
    gflop = EPOCH_GFLOP[run]
    print(f"  {label:<17}{gflop:8.0f} GFLOP  ours {e['s']:6.2f} s = {gflop / e['s']:6.1f} GFLOP/s,"
          f" {gflop / e['s'] / ceiling2:4.2f} x the GEMM ceiling")
EOF
