#!/usr/bin/python3
"""Golden test of the Keras fields we write (docs/contributing.md: Tests, label interop): TensorFlow.js ignores fields
that Keras would reject, so this checks model_config and training_config against the fields Keras 2
(tf.keras 2.6 to 2.15) and Keras 3 (3.0 to 3.15) require and accept, read off Keras's own source.

  keras_fields.py FILE...   FILE: a checkpoint (.h5: root attributes model_config, training_config)
                            or a model JSON (.json: what fmnist_dist --print-model writes)
Exit 0 when every file passes; 1 with one line per missing or extra field.
"""
import json
import sys

# Sources (keras-team/keras at tags v2.6.0, v2.15.0, v3.0.0, v3.15.1; the field sets are the same at
# both ends of each line for everything listed here):
#   K2 layers: keras/engine/base_layer.py Layer.__init__ (trainable, name, dtype, dynamic, and
#     allowed_kwargs) and each layer's __init__: keras/layers/convolutional/conv2d.py,
#     pooling/max_pooling2d.py, pooling/average_pooling2d.py, reshaping/flatten.py, core/dense.py,
#     regularization/dropout.py, core/activation.py, keras/engine/input_layer.py (2.6: the same
#     classes in keras/layers/convolutional.py, pooling.py, core.py). Layer.from_config is cls(**config),
#     so an unknown field is a TypeError.
#   K3 layers: keras/src/layers/layer.py Layer.__init__ (activity_regularizer, trainable, dtype,
#     autocast, name; input_dim and input_shape; any other keyword is "Unrecognized keyword
#     arguments") and the same layers under keras/src/layers/; InputLayer in core/input_layer.py.
#     keras/src/legacy/saving/saving_utils.py model_from_config turns batch_input_shape into
#     batch_shape (InputLayer) or input_shape (other layers) before __init__ sees it.
#   Sequential: K2 keras/engine/sequential.py and K3 keras/src/models/sequential.py from_config read
#     name, layers, build_input_shape; K3 raises without name.
#   Functional: K2 keras/engine/functional.py Functional.from_config revives a Functional model only
#     when name, layers, input_layers and output_layers are all there; reconstruct_from_config reads
#     each layer's name and inbound_nodes (a call: [[name, node_index, tensor_index, kwargs], ...]) and
#     the ends [[name, node_index, tensor_index]]. K3 keras/src/models/functional.py
#     functional_from_config pops layers, input_layers, output_layers, name, trainable and hands any
#     other key to Functional.__init__; deserialize_node reads the K2 list form of a call.
#   Merge layers: K2 keras/layers/merging/base_merge.py _Merge(**kwargs) (Add, Subtract, Multiply,
#     Average, Maximum, Minimum) and concatenate.py Concatenate(axis=-1, **kwargs); K3 the same under
#     keras/src/layers/merging/.
#   training_config: K2 keras/saving/legacy/saving_utils.py (2.6: keras/saving/saving_utils.py) and
#     K3 keras/src/legacy/saving/saving_utils.py compile_args_from_training_config index
#     optimizer_config and loss_weights, .get() loss, metrics, weighted_metrics; K2 reads
#     sample_weight_mode only through hasattr (never, on a dict), K3 not at all.
#   Optimizers: K2 keras/optimizers/__init__.py deserialize takes the legacy optimizer when the config
#     has no is_legacy_optimizer: keras/optimizers/legacy/{rmsprop,adam,gradient_descent}.py
#     (__init__ plus optimizer_v2.py allowed_kwargs clipnorm, clipvalue, lr, decay, global_clipnorm);
#     K3 keras/src/optimizers/{rmsprop,adam,sgd}.py plus base_optimizer.py, which rejects any other
#     keyword ("Argument(s) not recognized"), is_legacy_optimizer included.
#   Loss objects: K2 keras/losses.py and K3 keras/src/losses/losses.py CategoricalCrossentropy.__init__.
#   Activation layers, global pooling, padding: K2 keras/layers/activation/{relu,leaky_relu,elu,softmax}.py,
#     keras/layers/pooling/global_{average,max}_pooling2d.py (base_global_pooling2d.py: data_format,
#     keepdims), keras/layers/reshaping/zero_padding2d.py; K3 the same under keras/src/layers/activations/,
#     pooling/ and reshaping/ (K3's LeakyReLU takes negative_slope, and alpha with a deprecation warning).
#   Initializers: K2 keras/initializers/initializers.py, K3 keras/src/initializers/random_initializers.py
#     and constant_initializers.py (the random ones take seed and their arguments: RandomNormal and
#     TruncatedNormal mean, stddev; RandomUniform minval, maxval; Orthogonal gain; VarianceScaling scale,
#     mode, distribution; Constant value; Zeros and Ones nothing).

# Fields every layer's Layer base accepts in both lines (K3: batch_input_shape through
# model_from_config). K2's dynamic, batch_size, weights and implementation are not among them: K3
# rejects them.
BASE = {"name", "trainable", "dtype", "activity_regularizer", "autocast", "input_dim", "input_shape",
        "batch_input_shape"}
INITIALIZED = {"activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
               "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"}
# DepthwiseConv2D's fields in both lines (SeparableConv2D's with its pointwise ones and filters).
DEPTHWISE = {"kernel_size", "strides", "padding", "data_format", "dilation_rate", "depth_multiplier", "activation",
             "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer", "bias_regularizer",
             "activity_regularizer", "depthwise_constraint", "bias_constraint"}

# class: (accepted by K2 and K3, required). "Required" is what a K2 or K3 __init__ has no default for,
# plus what we never leave to a default, because a default could compute another model: the name
# (it ties the layer to /model_weights), data_format (its default follows the user's keras.json),
# and every field that sets the layer's maths.
LAYERS = {
    # InputLayer has no Layer base in this sense: K2 input_layer.py takes input_shape, batch_size,
    # dtype, input_tensor, sparse, name, ragged, type_spec, batch_input_shape; K3.0 shape, batch_size,
    # dtype, sparse, batch_shape, input_tensor, name (+ input_shape, batch_input_shape); K3.15 adds
    # ragged and optional. TensorFlow.js needs batch_input_shape.
    "InputLayer": ({"batch_input_shape", "input_shape", "batch_size", "dtype", "input_tensor", "sparse", "name"},
                   {"batch_input_shape", "dtype", "name"}),
    "Conv2D": (BASE | INITIALIZED | {"filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                                     "groups"},
               {"name", "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                "use_bias", "kernel_initializer", "bias_initializer"}),
    "Dense": (BASE | INITIALIZED | {"units"},
              {"name", "units", "activation", "use_bias", "kernel_initializer", "bias_initializer"}),
    # K3's AveragePooling2D has no default pool_size.
    "MaxPooling2D": (BASE | {"pool_size", "strides", "padding", "data_format"},
                     {"name", "pool_size", "strides", "padding", "data_format"}),
    "AveragePooling2D": (BASE | {"pool_size", "strides", "padding", "data_format"},
                         {"name", "pool_size", "strides", "padding", "data_format"}),
    "Flatten": (BASE | {"data_format"}, {"name", "data_format"}),
    "Dropout": (BASE | {"rate", "noise_shape", "seed"}, {"name", "rate"}),
    "Activation": (BASE | {"activation"}, {"name", "activation"}),
    # K2 and K3 ReLU(max_value, negative_slope, threshold), ELU(alpha), Softmax(axis); LeakyReLU: K2 alpha,
    # K3 negative_slope or alpha (popped with a warning): alpha is what both read.
    "ReLU": (BASE | {"max_value", "negative_slope", "threshold"}, {"name", "max_value", "negative_slope", "threshold"}),
    "LeakyReLU": (BASE | {"alpha"}, {"name", "alpha"}),
    "ELU": (BASE | {"alpha"}, {"name", "alpha"}),
    "Softmax": (BASE | {"axis"}, {"name", "axis"}),
    "GlobalAveragePooling2D": (BASE | {"data_format", "keepdims"}, {"name", "data_format", "keepdims"}),
    "GlobalMaxPooling2D": (BASE | {"data_format", "keepdims"}, {"name", "data_format", "keepdims"}),
    "ZeroPadding2D": (BASE | {"padding", "data_format"}, {"name", "padding", "data_format"}),
    # K2 keras/layers/normalization/batch_normalization.py (2.12+ adds synchronized, which 2.6 lacks),
    # K3 keras/src/layers/normalization/batch_normalization.py (int(axis): no list).
    "BatchNormalization": (BASE | {"axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                                   "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                                   "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"},
                           {"name", "axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                            "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer"}),
    # K2 keras/layers/preprocessing/image_preprocessing.py (RandomFlip(mode, seed), RandomTranslation(
    # height_factor, width_factor, fill_mode, interpolation, seed, fill_value), RandomRotation(factor, ...),
    # RandomZoom(height_factor, width_factor, ...)); K3 keras/src/layers/preprocessing/image_preprocessing/
    # random_*.py take the same keywords (and data_format, which we never write: K2 lacks it).
    "RandomFlip": (BASE | {"mode", "seed"}, {"name", "mode"}),
    "RandomTranslation": (BASE | {"height_factor", "width_factor", "fill_mode", "interpolation", "seed", "fill_value"},
                          {"name", "height_factor", "width_factor", "fill_mode", "interpolation", "fill_value"}),
    "RandomRotation": (BASE | {"factor", "fill_mode", "interpolation", "seed", "fill_value"},
                       {"name", "factor", "fill_mode", "interpolation", "fill_value"}),
    "RandomZoom": (BASE | {"height_factor", "width_factor", "fill_mode", "interpolation", "seed", "fill_value"},
                   {"name", "height_factor", "width_factor", "fill_mode", "interpolation", "fill_value"}),
    # K2 tf_keras/layers/convolutional/depthwise_conv2d.py and separable_conv2d.py (their Conv base's
    # get_config adds groups, and kernel_* to SeparableConv2D's, which K3 would refuse: Layer's
    # "Unrecognized keyword arguments"); K3 keras/src/layers/convolutional/depthwise_conv2d.py and
    # separable_conv2d.py (base_depthwise_conv.py, base_separable_conv.py).
    "DepthwiseConv2D": (BASE | DEPTHWISE,
                        {"name", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                         "use_bias", "depth_multiplier", "depthwise_initializer", "bias_initializer"}),
    "SeparableConv2D": (BASE | DEPTHWISE | {"filters", "pointwise_initializer", "pointwise_regularizer",
                                            "pointwise_constraint"},
                        {"name", "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                         "activation", "use_bias", "depth_multiplier", "depthwise_initializer",
                         "pointwise_initializer", "bias_initializer"}),
    # The merge layers: the Layer base, and Concatenate's axis.
    **{merge: (BASE, {"name"}) for merge in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")},
    "Concatenate": (BASE | {"axis"}, {"name", "axis"}),
}
SEQUENTIAL = ({"name", "layers", "build_input_shape"}, {"name", "layers"})
FUNCTIONAL = ({"name", "layers", "input_layers", "output_layers", "trainable"},
              {"name", "layers", "input_layers", "output_layers"})
ENTRY = {"Sequential": ({"class_name", "config"},) * 2, "Functional": ({"class_name", "config", "name", "inbound_nodes"},) * 2}
INITIALIZERS = {"GlorotUniform": {"seed"}, "HeUniform": {"seed"}, "HeNormal": {"seed"}, "Zeros": set(), "Ones": set(),
                "GlorotNormal": {"seed"}, "LecunUniform": {"seed"}, "LecunNormal": {"seed"},
                "RandomNormal": {"mean", "stddev", "seed"}, "RandomUniform": {"minval", "maxval", "seed"},
                "TruncatedNormal": {"mean", "stddev", "seed"}, "Orthogonal": {"gain", "seed"},
                "VarianceScaling": {"scale", "mode", "distribution", "seed"}, "Constant": {"value"}}

# sample_weight_mode: standalone Keras 2.3's loader (keras/engine/saving.py) indexes it; later ones skip it.
TRAINING = ({"optimizer_config", "loss", "metrics", "weighted_metrics", "loss_weights", "sample_weight_mode"},
            {"optimizer_config", "loss", "metrics", "loss_weights"})
# Optimizer fields both lines accept: K2's legacy __init__ (name included) and allowed_kwargs, K3's
# __init__; required: what sets the update rule, so no reader falls back on its own default.
OPTIMIZER_BASE = {"name", "clipnorm", "clipvalue", "global_clipnorm"}
OPTIMIZERS = {
    "RMSprop": (OPTIMIZER_BASE | {"learning_rate", "rho", "momentum", "epsilon", "centered"},
                {"learning_rate", "rho", "momentum", "epsilon", "centered"}),
    "Adam": (OPTIMIZER_BASE | {"learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"},
             {"learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad"}),
    "SGD": (OPTIMIZER_BASE | {"learning_rate", "momentum", "nesterov"}, {"learning_rate", "momentum", "nesterov"}),
}
LOSSES = {"CategoricalCrossentropy": ({"from_logits", "label_smoothing", "axis", "reduction", "name"},
                                      {"from_logits", "label_smoothing"})}
LOSS_NAMES = {"categorical_crossentropy"}
METRICS = {"accuracy"}


def fields(where, obj, accepted_required, problems):
    """Records the fields of obj that are missing (required) or extra (not accepted)."""
    accepted, required = accepted_required
    if not isinstance(obj, dict):
        problems.append(f"{where}: not an object: {obj!r}")
        return
    for key in sorted(required - obj.keys()):
        problems.append(f"{where}: missing field '{key}'")
    for key in sorted(obj.keys() - accepted):
        problems.append(f"{where}: extra field '{key}' (Keras 2 or Keras 3 rejects it)")


def check_graph(config, problems):
    """A Functional config's calls: each layer's name is its config's, its one call takes layers listed
    before it as [name, 0, 0, {}] (the InputLayer: no call), and the ends are [[name, 0, 0]]."""
    seen = []
    for i, layer in enumerate(config.get("layers", [])):
        name, calls = layer.get("name"), layer.get("inbound_nodes")
        if name != layer.get("config", {}).get("name"):
            problems.append(f"layer {i}: name {name!r} is not its config's")
        expected_calls = 0 if layer.get("class_name") == "InputLayer" else 1
        if not isinstance(calls, list) or len(calls) != expected_calls:
            problems.append(f"layer {i} '{name}': inbound_nodes {calls!r} is not {expected_calls} call(s)")
        for call in calls if isinstance(calls, list) else []:
            for arg in call:
                if not (isinstance(arg, list) and len(arg) == 4 and arg[0] in seen and arg[1:] == [0, 0, {}]):
                    problems.append(f"layer {i} '{name}': call argument {arg!r} is not [an earlier layer, 0, 0, {{}}]")
        seen.append(name)
    for key, want in (("input_layers", seen[:1]), ("output_layers", seen[-1:])):
        if config.get(key) != [[n, 0, 0] for n in want]:
            problems.append(f"model_config.config.{key}: {config.get(key)!r} is not [[{want}, 0, 0]]")


def check_model(doc, problems):
    fields("model_config", doc, ({"class_name", "config"}, {"class_name", "config"}), problems)
    model_class = doc.get("class_name")
    if model_class not in ENTRY:
        problems.append(f"model_config: class_name {model_class!r}, not 'Sequential' or 'Functional'")
        model_class = "Sequential"
    config = doc.get("config", {})
    fields("model_config.config", config, SEQUENTIAL if model_class == "Sequential" else FUNCTIONAL, problems)
    layers = config.get("layers", []) if isinstance(config, dict) else []
    if not layers or layers[0].get("class_name") != "InputLayer":
        problems.append("model_config: the first layer is not an InputLayer")
    if model_class == "Functional" and isinstance(config, dict):
        check_graph(config, problems)
    for i, layer in enumerate(layers):
        kind = layer.get("class_name")
        where = f"layer {i} {kind}"
        fields(where, layer, ENTRY[model_class], problems)
        if kind not in LAYERS:
            problems.append(f"{where}: not a layer kind this test knows")
            continue
        c = layer.get("config", {})
        fields(f"{where} '{c.get('name')}'", c, LAYERS[kind], problems)
        if kind == "BatchNormalization" and not isinstance(c.get("axis"), int):
            problems.append(f"{where}: axis {c.get('axis')!r} is not an integer (Keras 3 takes int(axis))")
        for key in ("kernel_initializer", "bias_initializer", "beta_initializer", "gamma_initializer",
                    "moving_mean_initializer", "moving_variance_initializer", "depthwise_initializer",
                    "pointwise_initializer"):
            if key in c:
                init = c[key]
                fields(f"{where}.{key}", init, ({"class_name", "config"}, {"class_name", "config"}), problems)
                name = init.get("class_name")
                if name not in INITIALIZERS:
                    problems.append(f"{where}.{key}: class_name {name!r} unknown")
                else:
                    fields(f"{where}.{key}.config", init.get("config", {}), (INITIALIZERS[name], set()), problems)


def check_training(doc, problems):
    fields("training_config", doc, TRAINING, problems)
    for key in ("weighted_metrics", "loss_weights", "sample_weight_mode"):
        if doc.get(key) is not None:
            problems.append(f"training_config: {key} is {doc[key]!r}, not null")
    if doc.get("metrics") is not None and set(doc["metrics"]) - METRICS:
        problems.append(f"training_config: metrics {doc['metrics']!r}")
    loss = doc.get("loss")
    if isinstance(loss, dict):
        fields("training_config.loss", loss, ({"class_name", "config"}, {"class_name", "config"}), problems)
        if loss.get("class_name") not in LOSSES:
            problems.append(f"training_config.loss: class_name {loss.get('class_name')!r}")
        else:
            fields("training_config.loss.config", loss.get("config", {}), LOSSES[loss["class_name"]], problems)
    elif loss not in LOSS_NAMES:
        problems.append(f"training_config: loss {loss!r}")
    opt = doc.get("optimizer_config", {})
    fields("optimizer_config", opt, ({"class_name", "config"}, {"class_name", "config"}), problems)
    if opt.get("class_name") not in OPTIMIZERS:
        problems.append(f"optimizer_config: class_name {opt.get('class_name')!r}")
    else:
        fields(f"optimizer_config {opt['class_name']}", opt.get("config", {}), OPTIMIZERS[opt["class_name"]], problems)


def main(paths):
    failed = 0
    for path in paths:
        problems = []
        if path.endswith(".h5"):
            import h5py
            with h5py.File(path, "r") as f:
                text = {k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in f.attrs.items()}
                model, training = text.get("model_config"), text.get("training_config")
            if training is None:
                problems.append("no training_config")
            else:
                check_training(json.loads(training), problems)
        else:
            with open(path) as f:
                model = f.read()
        check_model(json.loads(model), problems)
        for p in problems:
            print(f"{path}: {p}")
        if problems:
            failed += 1
        else:
            print(f"{path}: every field is one Keras 2 and Keras 3 accept, none that they require is missing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
