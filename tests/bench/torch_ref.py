#!/usr/bin/python3
"""The PyTorch reference for fmnist_dist: the same model (the tutorial's CNN, or a Keras Sequential or
Functional JSON), the same data, split, optimizer and global batch, trained by PyTorch (Debian's
python3-torch, oneDNN), so that launch/bench.sh can time both in one run and accuracy can be compared
(docs/performance.md).

  one process:  tests/bench/torch_ref.py --epochs 1 --threads 2 --no-eval [--channels-last] [--model M.json]
  DDP (gloo):   MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 WORLD_SIZE=2 RANK=1 tests/bench/torch_ref.py --threads 1 &
                MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 WORLD_SIZE=2 RANK=0 tests/bench/torch_ref.py --threads 1

Regularization as fmnist_dist does it (docs/training.md: Regularization): the JSON's kernel, bias, depthwise,
pointwise, gamma and beta regularizers add l1 * sum|w| + l2 * sum w^2 to every step's loss, and the printed
loss, val_loss and test_loss include it, as Keras's; --weight-decay W is Keras 3's decoupled decay of every
trainable weight (w -= w * W * lr before the optimizer's update; 0.004 for --optimizer adamw unless given);
--label-smoothing X smooths the targets (onehot (1 - X) + X / classes) in training and evaluation.

--init-weights CHECKPOINT starts from an fmnist_dist checkpoint's weights (moving statistics included), so
that the two can be compared step by step: with the whole training split as one batch and SGD, the epochs'
losses agree to float noise (docs/training.md: Regularization).

Rank 0 prints one JSON line per epoch ({"epoch", "train_s", "loss", "accuracy", "val_loss", "val_accuracy",
"lr"}; train_s is the wall time of the epoch's training steps) and a last one with the test figures of the
last weights and of the lowest-val_loss epoch's weights, and the peak resident memory."""
import argparse
import gzip
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TUTORIAL = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 28, 28, 1]}},
    {"class_name": "Conv2D", "config": {"name": "conv2d", "filters": 32, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d"}},
    {"class_name": "Conv2D", "config": {"name": "conv2d_1", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d_1"}},
    {"class_name": "Conv2D", "config": {"name": "conv2d_2", "filters": 64, "kernel_size": [3, 3], "activation": "relu"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "dense", "units": 64, "activation": "relu"}},
    {"class_name": "Dense", "config": {"name": "dense_1", "units": 10, "activation": "softmax"}}]}}


# ---- data: the IDX files and the tutorial's train_test_split --------------------------------------------

def read_idx(path):
    """An IDX file (.gz or plain) as a uint8 array of its dimensions."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_idx(folder, stem):
    for name in (stem + ".gz", stem):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    sys.exit(f"torch_ref: {folder}: no {stem}[.gz]")


def load_data(a):
    """(train x, y, validation x, y, test x, y): x float (N, 1, 28, 28) in [0, 1], y int64. The split is
    sklearn's train_test_split(test_size=val_split, random_state=split_seed): numpy's legacy permutation."""
    x = read_idx(find_idx(a.data_dir, "train-images-idx3-ubyte"))
    y = read_idx(find_idx(a.data_dir, "train-labels-idx1-ubyte"))
    x_test = read_idx(find_idx(a.data_dir, "t10k-images-idx3-ubyte"))
    y_test = read_idx(find_idx(a.data_dir, "t10k-labels-idx1-ubyte"))
    perm = np.random.RandomState(a.split_seed).permutation(len(x))
    n_val = math.ceil(a.val_split * len(x))
    val, train = perm[:n_val], perm[n_val:]
    images = lambda v: torch.from_numpy(v.reshape(-1, 1, 28, 28).astype(np.float32) / 255)  # (N, 1, 28, 28)
    labels = lambda v: torch.from_numpy(v.astype(np.int64))                                 # (N,)
    return images(x[train]), labels(y[train]), images(x[val]), labels(y[val]), images(x_test), labels(y_test)


# ---- the model: a Keras Sequential JSON built as PyTorch modules (NCHW inside, Keras's order at Flatten) --

def pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def same_padding(size, kernel, stride):
    """TensorFlow's 'same': ceil(n / s) outputs, the odd padding pixel after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Window(nn.Module):
    """Conv2D or pooling with Keras's 'valid' or 'same' padding."""

    def __init__(self, op, kernel, stride, padding, in_hw):
        super().__init__()
        self.op, self.kernel, self.stride = op, kernel, stride
        self.pads = (0, 0, 0, 0)
        if padding == "same":
            top, bottom = same_padding(in_hw[0], kernel[0], stride[0])
            left, right = same_padding(in_hw[1], kernel[1], stride[1])
            self.pads = (left, right, top, bottom)

    def forward(self, x):
        if not any(self.pads):  # 'valid': no padded copy
            if self.op == "max":
                return F.max_pool2d(x, self.kernel, self.stride)
            if self.op == "avg":
                return F.avg_pool2d(x, self.kernel, self.stride)
            return self.op(x)
        if self.op == "max":
            return F.max_pool2d(F.pad(x, self.pads, value=-math.inf), self.kernel, self.stride)
        if self.op == "avg":  # divide by the real pixels a window covers, as TensorFlow does
            total = F.avg_pool2d(F.pad(x, self.pads), self.kernel, self.stride, divisor_override=1)
            ones = torch.ones_like(x[:1, :1])
            count = F.avg_pool2d(F.pad(ones, self.pads), self.kernel, self.stride, divisor_override=1)
            return total / count
        return self.op(F.pad(x, self.pads))


def activation_name(value):
    """(name, gelu's approximate) of a Keras activation: a name, Keras 3's {"class_name": "function",
    "config": "gelu"} or an object whose config is {"name": "gelu", "approximate": true}."""
    if isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, dict):
            return config.get("name"), bool(config.get("approximate", False))
        return config, False
    return value, False


# Keras's activation functions (keras/src/activations/activations.py, tf_keras/backend.py); hard_sigmoid
# is Keras 2's clip(0.2 x + 0.5, 0, 1) or Keras 3's relu6(x + 3) / 6, after the JSON's form.
FUNCTIONS = {
    "relu": F.relu, "linear": lambda x: x, "relu6": F.relu6, "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "elu": F.elu, "selu": F.selu, "swish": F.silu, "silu": F.silu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "softplus": F.softplus, "softsign": F.softsign, "exponential": torch.exp,
    "gelu": F.gelu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "hard_sigmoid": lambda x: torch.clamp(0.2 * x + 0.5, 0, 1), "hard_sigmoid_keras3": lambda x: F.relu6(x + 3) / 6,
}


class Activation(nn.Module):
    def __init__(self, value, last, keras3):
        super().__init__()
        name, approximate = activation_name(value)
        name = name or "linear"
        if name == "softmax" and not last:
            sys.exit("torch_ref: softmax is supported on the last layer only")
        if name == "gelu" and approximate:
            name = "gelu_tanh"
        if name == "hard_sigmoid" and keras3:
            name = "hard_sigmoid_keras3"
        if name not in FUNCTIONS and name != "softmax":
            sys.exit(f"torch_ref: activation '{name}' is not supported ({', '.join(FUNCTIONS)}, softmax)")
        self.fn = FUNCTIONS.get(name, FUNCTIONS["linear"])  # a last softmax is left out: the loss takes the logits

    def forward(self, x):
        return self.fn(x)


class ReLU(nn.Module):
    """Keras's ReLU layer: x if x > threshold (at most max_value), else negative_slope * (x - threshold)."""

    def __init__(self, c):
        super().__init__()
        self.max_value, self.slope = c.get("max_value"), c.get("negative_slope", 0.0)
        self.threshold = c.get("threshold", 0.0)

    def forward(self, x):
        above = x if self.max_value is None else torch.clamp(x, max=self.max_value)
        return torch.where(x > self.threshold, above, self.slope * (x - self.threshold))


class GlobalPool(nn.Module):
    def __init__(self, op, keepdims):
        super().__init__()
        self.op, self.keepdims = op, keepdims

    def forward(self, x):  # (N, C, H, W) -> (N, C) or (N, C, 1, 1)
        return x.amax(dim=(2, 3), keepdim=self.keepdims) if self.op == "max" else x.mean(dim=(2, 3), keepdim=self.keepdims)


def zero_padding(padding):
    """Keras's ZeroPadding2D padding (an int, (height, width) or ((top, bottom), (left, right))) as F.pad's
    (left, right, top, bottom)."""
    if isinstance(padding, int):
        return (padding,) * 4
    (top, bottom), (left, right) = (pair(p) for p in padding)
    return left, right, top, bottom


class Pad(nn.Module):
    def __init__(self, pads):
        super().__init__()
        self.pads = pads

    def forward(self, x):
        return F.pad(x, self.pads)


class FlattenNHWC(nn.Module):
    def forward(self, x):  # (N, C, H, W) -> (N, H*W*C) in Keras's (h, w, c) order
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1) if x.dim() == 4 else x


def factor_range(f):
    """Keras's factor: a float f is [-f, f], a pair is [lower, upper]."""
    return (float(f[0]), float(f[1])) if isinstance(f, (list, tuple)) else (-float(f), float(f))


class RandomAugment(nn.Module):
    """Keras's RandomFlip, RandomTranslation, RandomRotation and RandomZoom: in training, one random
    transform per image (drawn from the layer's generator), resampled with grid_sample; identity in
    inference. 'reflect' is PyTorch's reflection padding, 'constant' fills zeros, 'nearest' the border."""

    def __init__(self, kind, c):
        super().__init__()
        self.kind, self.c = kind, c
        self.generator = None  # set per rank by main(), so that the ranks draw different transforms
        modes = {"reflect": "reflection", "wrap": "reflection", "constant": "zeros", "nearest": "border"}
        self.padding = modes[c.get("fill_mode", "reflect")]
        self.interpolation = "nearest" if c.get("interpolation", "bilinear") == "nearest" else "bilinear"
        if kind != "RandomFlip" and c.get("fill_value", 0.0) != 0.0:
            sys.exit(f"torch_ref: {kind}: only fill_value 0 is supported")

    def uniform(self, n, lo, hi):
        return torch.rand(n, generator=self.generator) * (hi - lo) + lo

    def forward(self, x):
        if not self.training:
            return x
        n, c = x.shape[0], self.c
        if self.kind == "RandomFlip":
            mode = c.get("mode", "horizontal_and_vertical")
            for dim, flips in ((3, "horizontal"), (2, "vertical")):
                if flips in mode:
                    chosen = torch.rand(n, generator=self.generator) < 0.5
                    x = torch.where(chosen[:, None, None, None], x.flip(dim), x)
            return x
        theta = torch.zeros(n, 2, 3)  # input coordinates = theta . (output x, output y, 1), normalised
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        if self.kind == "RandomTranslation":
            dy = self.uniform(n, *factor_range(c["height_factor"]))
            dx = self.uniform(n, *factor_range(c["width_factor"]))
            theta[:, 0, 2], theta[:, 1, 2] = -2 * dx, -2 * dy  # a shift of dx * width pixels
        elif self.kind == "RandomRotation":
            angle = self.uniform(n, *factor_range(c["factor"])) * 2 * math.pi
            theta[:, 0, 0], theta[:, 0, 1] = torch.cos(angle), -torch.sin(angle)
            theta[:, 1, 0], theta[:, 1, 1] = torch.sin(angle), torch.cos(angle)
        else:  # RandomZoom: a negative factor zooms in
            zy = 1 + self.uniform(n, *factor_range(c["height_factor"]))
            width = c.get("width_factor")
            zx = zy if width is None else 1 + self.uniform(n, *factor_range(width))
            theta[:, 0, 0], theta[:, 1, 1] = zx, zy
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode=self.interpolation, padding_mode=self.padding, align_corners=False)


def variance_scaling(weight, scale, mode, distribution, fans=None):
    """Keras's VarianceScaling: uniform in +-sqrt(3 scale / n), or a normal cut at two stddevs whose
    stddev is sqrt(scale / n) / 0.8796 (tf_keras/initializers/initializers.py). PyTorch's weight is
    (out, in[, kh, kw]): the same fans as Keras's (kh, kw, in, out); a grouped Conv2d's differ, so fans
    (fan_in, fan_out) gives Keras's, as it computes them from its own kernel shape."""
    fan_in = weight[0].numel() if weight.dim() > 1 else weight.numel()
    fan_out = weight.numel() // weight.shape[1] if weight.dim() > 1 else weight.numel()
    fan_in, fan_out = fans or (fan_in, fan_out)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / max(1.0, n))
        nn.init.uniform_(weight, -limit, limit)
    else:  # Keras 2.0-2.2's "normal" was its truncated normal
        std = math.sqrt(scale / max(1.0, n)) / 0.87962566103423978
        nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


VARIANCE_SCALING = {"glorotuniform": (1, "fan_avg", "uniform"), "glorotnormal": (1, "fan_avg", "normal"),
                    "heuniform": (2, "fan_in", "uniform"), "henormal": (2, "fan_in", "normal"),
                    "lecununiform": (1, "fan_in", "uniform"), "lecunnormal": (1, "fan_in", "normal")}
ALIASES = {"normal": "randomnormal", "uniform": "randomuniform", "zero": "zeros", "one": "ones"}


def init_weight(weight, value, default, fans=None):
    """A kernel or bias by its Keras initializer: a name or {"class_name", "config"}, with its arguments;
    fans as variance_scaling's."""
    value = value or default
    name, config = (value.get("class_name"), value.get("config") or {}) if isinstance(value, dict) else (value, {})
    key = name.replace("_", "").lower()
    key = ALIASES.get(key, key)
    if key == "variancescaling":
        variance_scaling(weight, config.get("scale", 1.0), config.get("mode", "fan_in"),
                         config.get("distribution", "truncated_normal"), fans)
    elif key in VARIANCE_SCALING:
        variance_scaling(weight, *VARIANCE_SCALING[key], fans)
    elif key == "randomnormal":
        nn.init.normal_(weight, config.get("mean", 0.0), config.get("stddev", 0.05))
    elif key == "randomuniform":
        nn.init.uniform_(weight, config.get("minval", -0.05), config.get("maxval", 0.05))
    elif key == "truncatednormal":  # no VarianceScaling correction
        mean, std = config.get("mean", 0.0), config.get("stddev", 0.05)
        nn.init.trunc_normal_(weight, mean, std, a=mean - 2 * std, b=mean + 2 * std)
    elif key == "orthogonal":
        nn.init.orthogonal_(weight, config.get("gain", 1.0))
    elif key in ("constant", "zeros", "ones"):
        nn.init.constant_(weight, {"zeros": 0.0, "ones": 1.0}.get(key, config.get("value", 0.0)))
    else:
        sys.exit(f"torch_ref: initializer '{name}' is not supported")


def regularizer(value):
    """(l1, l2) of a Keras regularizer as fmnist_dist reads it (docs/models.md: Regularizers), or None."""
    if value is None:
        return None
    if isinstance(value, str):
        names = {"l1": (0.01, 0.0), "l2": (0.0, 0.01), "l1_l2": (0.01, 0.01), "L1": (0.01, 0.0), "L2": (0.0, 0.01),
                 "L1L2": (0.0, 0.0)}
        if value not in names:
            sys.exit(f"torch_ref: regularizer {value!r} is not supported")
        return names[value]
    defaults = {"L1": (0.01, 0.0), "L2": (0.0, 0.01), "L1L2": (0.0, 0.0)}
    if value.get("class_name") not in defaults:
        sys.exit(f"torch_ref: regularizer {value.get('class_name')!r} is not supported")
    l1, l2 = defaults[value["class_name"]]
    c = value.get("config") or {}
    return (l1 if c.get("l1") is None else c["l1"], l2 if c.get("l2") is None else c["l2"])


# Keras's layout of a weight from PyTorch's: (kh, kw, in, out) kernels, (in, out) Dense kernels (the
# Flatten is in Keras's order already), (kh, kw, in, depth_multiplier) depthwise kernels, vectors.
TO_TORCH = {
    "conv": lambda a: a.transpose(3, 2, 0, 1),
    "dense": lambda a: a.T,
    "depthwise": lambda a: a.transpose(2, 3, 0, 1).reshape(a.shape[2] * a.shape[3], 1, a.shape[0], a.shape[1]),
    "vector": lambda a: a,
}


class KerasWeights:
    """A model's weights by Keras's names ("conv2d/kernel:0": the tensor and its layout), for
    --init-weights, and the regularized ones with their (l1, l2)."""

    def __init__(self):
        self.by_name, self.penalties = {}, []

    def add(self, c, what, tensor, layout, field=None):
        if tensor is None:
            return
        self.by_name[f"{c['name']}/{what}:0"] = (tensor, layout)
        r = regularizer(c.get(field)) if field else None
        if r is not None and (r[0] or r[1]):  # a kernel's layout does not change its sums
            self.penalties.append((tensor, *r))

    def load(self, path):
        """The weights of a checkpoint's /model_weights (Keras's legacy HDF5 layout), every one of the model."""
        import h5py
        found = {}
        with h5py.File(path, "r") as f:
            f["model_weights"].visititems(
                lambda name, d: found.__setitem__(name.split("/", 1)[1], d[()]) if isinstance(d, h5py.Dataset) else None)
        for name, (tensor, layout) in self.by_name.items():
            if name not in found:
                sys.exit(f"torch_ref: {path}: no weight {name}")
            with torch.no_grad():
                tensor.copy_(torch.from_numpy(np.ascontiguousarray(TO_TORCH[layout](found[name]))))


def penalty(model):
    """The regularizers' penalty of the current weights: Keras's l1 * sum|w| + l2 * sum w^2 (no 1/2)."""
    total = torch.zeros((), dtype=torch.float32)
    for p, l1, l2 in model.keras_weights.penalties:
        total = total + l1 * p.abs().sum() + l2 * p.square().sum()
    return total


def keras_layers(spec):
    config = spec.get("config", spec)
    layers = config["layers"] if isinstance(config, dict) else config
    return [(l["class_name"], l.get("config", {})) for l in layers]


def depthwise(c, channels, in_hw):
    """Keras's depthwise step as a grouped Conv2d (groups = the input channels: output channel
    c * depth_multiplier + m, as Keras's), with Keras's padding and dilation, and its weights as Keras
    initializes them (fans from the kernel (kh, kw, in, depth_multiplier)); a SeparableConv2D's bias
    is its pointwise step's."""
    k, s, d = pair(c["kernel_size"]), pair(c.get("strides", 1)), pair(c.get("dilation_rate", 1))
    dm = c.get("depth_multiplier", 1)
    bias = c.get("use_bias", True) and "filters" not in c
    conv = nn.Conv2d(channels, channels * dm, k, s, dilation=d, groups=channels, bias=bias)
    init_weight(conv.weight, c.get("depthwise_initializer"), "glorot_uniform",
                (k[0] * k[1] * channels, k[0] * k[1] * dm))
    if conv.bias is not None:
        init_weight(conv.bias, c.get("bias_initializer"), "zeros")
    span = tuple((k[i] - 1) * d[i] + 1 for i in range(2))
    return Window(conv, span, s, c.get("padding", "valid"), in_hw)


def layer_modules(kind, c, shape, last, keras3, weights):
    """The modules of one layer (not a merge) on an input of `shape` ((C, H, W) or [features]), its
    weights named in `weights` (KerasWeights)."""
    name = c.get("name")
    modules = []
    if kind == "Conv2D":
        k, s, d = pair(c["kernel_size"]), pair(c.get("strides", 1)), pair(c.get("dilation_rate", 1))
        conv = nn.Conv2d(shape[0], c["filters"], k, s, dilation=d, bias=c.get("use_bias", True))
        init_weight(conv.weight, c.get("kernel_initializer"), "glorot_uniform")
        if conv.bias is not None:
            init_weight(conv.bias, c.get("bias_initializer"), "zeros")
        span = tuple((k[i] - 1) * d[i] + 1 for i in range(2))
        modules += [Window(conv, span, s, c.get("padding", "valid"), shape[1:]),
                    Activation(c.get("activation"), last, keras3)]
        weights.add(c, "kernel", conv.weight, "conv", "kernel_regularizer")
        weights.add(c, "bias", conv.bias, "vector", "bias_regularizer")
    elif kind == "DepthwiseConv2D":
        modules += [depthwise(c, shape[0], shape[1:]), Activation(c.get("activation"), last, keras3)]
        weights.add(c, "depthwise_kernel", modules[-2].op.weight, "depthwise", "depthwise_regularizer")
        weights.add(c, "bias", modules[-2].op.bias, "vector", "bias_regularizer")
    elif kind == "SeparableConv2D":  # the depthwise step, then a 1x1 Conv2d of its channels
        mid = shape[0] * c.get("depth_multiplier", 1)
        pointwise = nn.Conv2d(mid, c["filters"], 1, bias=c.get("use_bias", True))
        init_weight(pointwise.weight, c.get("pointwise_initializer"), "glorot_uniform")
        if pointwise.bias is not None:
            init_weight(pointwise.bias, c.get("bias_initializer"), "zeros")
        modules += [depthwise(c, shape[0], shape[1:]), pointwise, Activation(c.get("activation"), last, keras3)]
        weights.add(c, "depthwise_kernel", modules[-3].op.weight, "depthwise", "depthwise_regularizer")
        weights.add(c, "pointwise_kernel", pointwise.weight, "conv", "pointwise_regularizer")
        weights.add(c, "bias", pointwise.bias, "vector", "bias_regularizer")
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        k = pair(c.get("pool_size", 2))
        s = pair(c.get("strides") or k)
        modules.append(Window("max" if kind == "MaxPooling2D" else "avg", k, s, c.get("padding", "valid"), shape[1:]))
    elif kind == "Flatten":
        modules.append(FlattenNHWC())
    elif kind == "Dense":
        dense = nn.Linear(math.prod(shape), c["units"], bias=c.get("use_bias", True))
        init_weight(dense.weight, c.get("kernel_initializer"), "glorot_uniform")
        if dense.bias is not None:
            init_weight(dense.bias, c.get("bias_initializer"), "zeros")
        modules += [dense, Activation(c.get("activation"), last, keras3)]
        weights.add(c, "kernel", dense.weight, "dense", "kernel_regularizer")
        weights.add(c, "bias", dense.bias, "vector", "bias_regularizer")
    elif kind == "Dropout":
        modules.append(nn.Dropout(c["rate"]))
    elif kind == "Activation":
        modules.append(Activation(c["activation"], last, keras3))
    elif kind == "ReLU":
        modules.append(ReLU(c))
    elif kind == "LeakyReLU":  # Keras 2's alpha, Keras 3's negative_slope
        modules.append(nn.LeakyReLU(c.get("negative_slope", c.get("alpha", 0.3))))
    elif kind == "ELU":
        modules.append(nn.ELU(c.get("alpha", 1.0)))
    elif kind == "Softmax":
        modules.append(Activation("softmax", last, keras3))
    elif kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        modules.append(GlobalPool("max" if kind == "GlobalMaxPooling2D" else "avg", c.get("keepdims", False)))
    elif kind == "ZeroPadding2D":
        modules.append(Pad(zero_padding(c.get("padding", 1))))
    elif kind in ("RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom"):
        modules.append(RandomAugment(kind, c))
    elif kind == "BatchNormalization":  # Keras: momentum 0.99, epsilon 1e-3 on the channels
        bn = (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(
            shape[0], eps=c.get("epsilon", 1e-3), momentum=1 - c.get("momentum", 0.99))
        bn.weight.requires_grad_(c.get("scale", True))
        bn.bias.requires_grad_(c.get("center", True))
        modules.append(bn)
        weights.add(c, "gamma", bn.weight if c.get("scale", True) else None, "vector", "gamma_regularizer")
        weights.add(c, "beta", bn.bias if c.get("center", True) else None, "vector", "beta_regularizer")
        weights.add(c, "moving_mean", bn.running_mean, "vector")
        weights.add(c, "moving_variance", bn.running_var, "vector")
    else:
        sys.exit(f"torch_ref: layer {name} ({kind}) is not supported by the reference")
    return modules


def output_shape(module, shapes):
    """(C, H, W) or [features] of a module's output for inputs of `shapes` (the batch dimension aside)."""
    with torch.no_grad():
        xs = [torch.zeros(1, *s) for s in shapes]
        out = module.eval()(xs if isinstance(module, Merge) else xs[0])
    module.train()
    return list(out.shape[1:])


class Merge(nn.Module):
    """Keras's merge layers over a list of inputs: Add, Subtract, Multiply, Average, Maximum, Minimum,
    and Concatenate on the channels (Keras's last axis, PyTorch's dimension 1)."""

    def __init__(self, kind, c, rank):
        super().__init__()
        self.kind = kind
        if kind == "Concatenate" and c.get("axis", -1) not in (-1, rank):
            sys.exit(f"torch_ref: layer {c.get('name')}: Concatenate axis {c.get('axis')} is not supported")

    def forward(self, xs):
        if self.kind == "Add":
            return sum(xs[1:], xs[0])
        if self.kind == "Subtract":
            return xs[0] - xs[1]
        if self.kind == "Multiply":
            return math.prod(xs[1:], start=xs[0])
        if self.kind == "Average":
            return sum(xs[1:], xs[0]) / len(xs)
        if self.kind in ("Maximum", "Minimum"):
            out = xs[0]
            for x in xs[1:]:
                out = torch.maximum(out, x) if self.kind == "Maximum" else torch.minimum(out, x)
            return out
        return torch.cat(xs, 1)


MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")


def call_inputs(layer):
    """The layer names a Functional layer's one call takes: Keras 2's [[name, 0, 0, kwargs], ...] or
    Keras 3's {"args": [tensor or [tensors]]} with {"keras_history": [name, 0, 0]}."""
    node = layer["inbound_nodes"][0]
    if isinstance(node, dict):
        def refs(v):
            if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
                return [v["config"]["keras_history"][0]]
            return [r for e in v for r in refs(e)] if isinstance(v, list) else []
        return refs(node.get("args", [])[:1])
    return [entry[0] for entry in node]


class Graph(nn.Module):
    """A Functional model: its layers in the JSON's order (Keras's creation order, each after its
    inputs), each computed from the outputs it names."""

    def __init__(self, nodes, input_name, output_name):
        super().__init__()
        self.input_name, self.output_name = input_name, output_name
        self.names = [n for n, _, _ in nodes]
        self.inputs = [i for _, i, _ in nodes]
        self.layers = nn.ModuleList(m for _, _, m in nodes)

    def forward(self, x):
        values = {self.input_name: x}
        for name, inputs, layer in zip(self.names, self.inputs, self.layers):
            xs = [values[i] for i in inputs]
            values[name] = layer(xs) if isinstance(layer, Merge) else layer(xs[0])
        return values[self.output_name]


def keras3_json(spec):
    """Keras 3's JSON (module/registered_name keys, an InputLayer with batch_shape): its hard_sigmoid."""
    text = json.dumps(spec)
    return '"module"' in text or '"registered_name"' in text or '"batch_shape"' in text


def build_functional(spec):
    """Graph of a Functional model (one input, one output, each layer called once)."""
    config, keras3, weights = spec["config"], keras3_json(spec), KerasWeights()
    ends = []
    for key in ("input_layers", "output_layers"):
        v = config[key]
        ends.append(v[0] if isinstance(v[0], str) else v[0][0])  # Keras 3 may write one bare [name, 0, 0]
    shapes, nodes = {ends[0]: [1, 28, 28]}, []
    for layer in config["layers"]:
        kind, c = layer["class_name"], layer["config"]
        name = layer.get("name", c.get("name"))
        if kind == "InputLayer":
            continue
        inputs = call_inputs(layer)
        in_shapes = [shapes[i] for i in inputs]
        if kind in MERGES:
            module = Merge(kind, c, len(in_shapes[0]))
        else:
            module = nn.Sequential(*layer_modules(kind, c, in_shapes[0], name == ends[1], keras3, weights))
        shapes[name] = output_shape(module, in_shapes)
        nodes.append((name, inputs, module))
    model = Graph(nodes, *ends).train()
    model.keras_weights = weights
    return model


def build_model(spec):
    """The Keras model as a PyTorch module: nn.Sequential of a Sequential model, Graph of a Functional one;
    input (N, 1, 28, 28), output the logits (N, classes)."""
    if spec.get("class_name") in ("Functional", "Model"):
        return build_functional(spec)
    shape = [1, 28, 28]  # (C, H, W) or [features]
    modules, weights = [], KerasWeights()
    layers = keras_layers(spec)
    trainable = [i for i, (kind, _) in enumerate(layers) if kind not in ("InputLayer",)]
    keras3 = keras3_json(spec)
    for index, (kind, c) in enumerate(layers):
        if kind == "InputLayer":
            continue
        modules += layer_modules(kind, c, shape, index == trainable[-1], keras3, weights)
        shape = output_shape(nn.Sequential(*modules), [[1, 28, 28]])
    model = nn.Sequential(*modules).train()
    model.keras_weights = weights
    return model


# ---- training ------------------------------------------------------------------------------------------

def evaluate(model, x, y, smoothing=0.0, batch=2000):
    """(mean loss, accuracy) in inference mode, as Keras's evaluate: the (smoothed) cross-entropy plus the
    regularizers' penalty."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model(x[i:i + batch])
            loss += F.cross_entropy(out, y[i:i + batch], reduction="sum", label_smoothing=smoothing).item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
        extra = penalty(model).item()
    model.train()
    return loss / len(x) + extra, correct / len(x)


def make_optimizer(a, params):
    if a.optimizer == "rmsprop":  # Keras 2's form: lr * g / (sqrt(v) + eps), as PyTorch computes it
        return torch.optim.RMSprop(params, lr=a.lr, alpha=0.9, eps=1e-7)
    if a.optimizer in ("adam", "adamw"):  # AdamW: Adam's rule; its weight decay is train_epoch's, as Keras 3's
        return torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-7)
    return torch.optim.SGD(params, lr=a.lr, momentum=a.momentum)


class Callbacks:
    """Keras 2's ReduceLROnPlateau (factor, min_delta 1e-4, cooldown 0, min_lr 0) and EarlyStopping
    (min_delta 0) on val_loss; both off when their patience is None."""

    def __init__(self, a):
        self.plateau, self.factor, self.stopping = a.reduce_lr_on_plateau, a.plateau_factor, a.early_stopping
        self.plateau_best, self.plateau_wait = math.inf, 0
        self.stop_best, self.stop_wait = math.inf, 0

    def epoch_end(self, val_loss, optimizer):
        """Returns True when training should stop."""
        if self.plateau is not None:
            if val_loss < self.plateau_best - 1e-4:
                self.plateau_best, self.plateau_wait = val_loss, 0
            else:
                self.plateau_wait += 1
                if self.plateau_wait >= self.plateau:
                    for group in optimizer.param_groups:
                        group["lr"] = group["lr"] * self.factor
                    self.plateau_wait = 0
        if self.stopping is not None:
            if val_loss < self.stop_best:
                self.stop_best, self.stop_wait = val_loss, 0
            else:
                self.stop_wait += 1
                return self.stop_wait >= self.stopping
        return False


def scheduled_lr(a, step):
    """fmnist_dist's --lr-schedule constant|cosine with --warmup-epochs (docs/training.md: Schedules):
    the rate of the step that follows `step` steps (a.train_size images an epoch)."""
    per_epoch = -(-a.train_size // a.batch_size)
    warmup, total = a.warmup_epochs * per_epoch, a.epochs * per_epoch
    if step < warmup:
        return a.lr * (step + 1) / (warmup + 1)
    if a.lr_schedule == "constant":
        return a.lr
    d, decay = step - warmup, max(1, total - warmup)
    return a.lr * ((1 - a.lr_alpha) * (1 + math.cos(math.pi * min(d, decay) / decay)) / 2 + a.lr_alpha)


def train_epoch(a, net, model, optimizer, x, y, perm, step, rank, world):
    """One epoch over the global batches perm[i:i + batch_size], this rank taking its contiguous share
    of each. Returns ([loss sum, correct, samples] of this rank, the optimizer steps taken so far). The
    regularizers' penalty of the weights the batch saw joins each sample's loss, as Keras's running mean
    counts it; the weight decay comes before the update, with the step's rate."""
    sums = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(x), a.batch_size):
        if a.max_steps and step == a.max_steps:
            break
        batch = perm[i:i + a.batch_size]
        mine = batch[len(batch) * rank // world: len(batch) * (rank + 1) // world]
        out = net(x[mine])
        loss_sum = F.cross_entropy(out, y[mine], reduction="sum", label_smoothing=a.label_smoothing)
        extra = penalty(model)
        optimizer.zero_grad()
        if a.lr_schedule != "constant" or a.warmup_epochs:
            for group in optimizer.param_groups:
                group["lr"] = scheduled_lr(a, step)
        (loss_sum * world / len(batch) + extra).backward()  # DDP averages over ranks: the global batch mean
        if a.weight_decay:  # Keras 3's _apply_weight_decay: w -= w * weight_decay * lr, every trainable weight
            with torch.no_grad():
                for group in optimizer.param_groups:
                    for p in group["params"]:
                        if p.requires_grad:
                            p.sub_(p * a.weight_decay * group["lr"])
        optimizer.step()
        step += 1
        sums += torch.tensor([loss_sum.item() + extra.item() * len(mine), (out.argmax(1) == y[mine]).sum().item(), len(mine)],
                             dtype=torch.float64)
    return sums, step


def options():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="a Keras Sequential or Functional model JSON (model.to_json()); default: the tutorial's CNN")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist", help="the four IDX files")
    p.add_argument("--val-split", type=float, default=0.3)
    p.add_argument("--split-seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=512, help="global batch, shared out across the ranks")
    p.add_argument("--optimizer", choices=("rmsprop", "adam", "sgd", "adamw"), default="rmsprop")
    p.add_argument("--weight-decay", type=float, help="Keras 3's decoupled weight decay (default 0; adamw 0.004)")
    p.add_argument("--label-smoothing", type=float, default=0.0, help="of the loss's targets, in [0, 1)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--momentum", type=float, default=0.9, help="of sgd")
    p.add_argument("--seed", type=int, default=0, help="initial weights, shuffling, Dropout")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads per process")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format (oneDNN's fast path)")
    p.add_argument("--no-eval", action="store_true", help="skip validation (timing runs)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    p.add_argument("--reduce-lr-on-plateau", type=int, metavar="PATIENCE", help="ReduceLROnPlateau on val_loss")
    p.add_argument("--plateau-factor", type=float, default=0.1)
    p.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="EarlyStopping on val_loss")
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                   help="per-step rate after the warmup, as fmnist_dist's --lr-schedule")
    p.add_argument("--warmup-epochs", type=int, default=0, help="linear warmup, as fmnist_dist's")
    p.add_argument("--lr-alpha", type=float, default=0.0, help="cosine's final fraction of --lr")
    p.add_argument("--out", help="also write the history and results to this JSON file")
    p.add_argument("--init-weights", metavar="CHECKPOINT", help="start from the weights of an fmnist_dist checkpoint")
    a = p.parse_args()
    if a.weight_decay is None:
        a.weight_decay = 0.004 if a.optimizer == "adamw" else 0.0
    if (a.lr_schedule != "constant" or a.warmup_epochs) and a.reduce_lr_on_plateau is not None:
        p.error("--reduce-lr-on-plateau with a schedule or warmup is not supported here")
    if a.no_eval and (a.reduce_lr_on_plateau is not None or a.early_stopping is not None):
        p.error("--reduce-lr-on-plateau and --early-stopping watch val_loss: drop --no-eval")
    return a


def main():
    a = options()
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    start = time.time()
    x_train, y_train, x_val, y_val, x_test, y_test = load_data(a)
    load_s = time.time() - start
    a.train_size = len(x_train)
    model = build_model(json.load(open(a.model)) if a.model else TUTORIAL)
    if a.init_weights:
        model.keras_weights.load(a.init_weights)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x_train, x_val, x_test = (t.contiguous(memory_format=torch.channels_last) for t in (x_train, x_val, x_test))
    for m in model.modules():
        if isinstance(m, RandomAugment):  # each rank draws its own transforms
            m.generator = torch.Generator().manual_seed(1000003 * rank + a.seed)
    net = model
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo")
        net = nn.parallel.DistributedDataParallel(model)  # broadcasts rank 0's weights
    if world > len(x_train) % a.batch_size and len(x_train) % a.batch_size:
        sys.exit(f"torch_ref: {world} ranks but the last batch holds {len(x_train) % a.batch_size} images")
    optimizer = make_optimizer(a, net.parameters())
    callbacks = Callbacks(a)
    shuffle = torch.Generator().manual_seed(a.seed)
    history, step, best = [], 0, (math.inf, 0, None)
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        perm = torch.randperm(len(x_train), generator=shuffle)
        sums, step = train_epoch(a, net, model, optimizer, x_train, y_train, perm, step, rank, world)
        train_s = time.time() - t0
        if world > 1:
            dist.all_reduce(sums)
        if sums[2] == 0:
            break
        record = {"epoch": epoch, "train_s": train_s, "loss": (sums[0] / sums[2]).item(),
                  "accuracy": (sums[1] / sums[2]).item()}
        stop = False
        if not a.no_eval:
            val = torch.zeros(2, dtype=torch.float64)
            if rank == 0:
                val[0], val[1] = evaluate(model, x_val, y_val, a.label_smoothing)
            if world > 1:
                dist.broadcast(val, 0)  # every rank decides the callbacks alike
            record["val_loss"], record["val_accuracy"] = val[0].item(), val[1].item()
            if record["val_loss"] < best[0] and rank == 0:
                best = (record["val_loss"], epoch, {k: v.clone() for k, v in model.state_dict().items()})
            stop = callbacks.epoch_end(record["val_loss"], optimizer)
        record["lr"] = optimizer.param_groups[0]["lr"]
        history.append(record)
        if rank == 0:
            print(json.dumps(record), flush=True)
        if stop or (a.max_steps and step == a.max_steps):
            break
    if rank != 0:
        return
    result = dict(zip(("test_loss", "test_accuracy"), evaluate(model, x_test, y_test, a.label_smoothing)))
    if best[2] is not None:
        model.load_state_dict(best[2])
        best_loss, best_accuracy = evaluate(model, x_test, y_test, a.label_smoothing)
        result.update(best_epoch=best[1], best_val_loss=best[0], best_test_loss=best_loss,
                      best_test_accuracy=best_accuracy)
    result.update(epochs=len(history), steps=step, load_s=load_s,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result), flush=True)
    if a.out:
        json.dump({"history": history, **result}, open(a.out, "w"), indent=1)


if __name__ == "__main__":
    main()
