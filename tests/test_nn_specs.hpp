// Model specs for the nn tests, built in C++ (the JSON reader is tested against them): the
// layer builders and three models beside the tutorial's, whose shapes and parameter counts the
// tests compare with values computed by hand.
#pragma once

#include <array>
#include <string>

#include "fmnist/model_spec.hpp"

namespace fmnist::test {

// A layer with weights (Conv2D or Dense).
inline LayerSpec weighted(LayerKind kind, const std::string& name, int units, Activation act, bool bias, Initializer init) {
  LayerSpec l;
  l.kind = kind;
  l.name = name;
  l.units = units;
  l.activation = act;
  l.use_bias = bias;
  l.kernel_initializer = init;
  return l;
}

inline LayerSpec conv(const std::string& name, int filters, std::array<int, 2> k, std::array<int, 2> s, Padding p,
                      Activation act, bool bias = true, Initializer init = Initializer::glorot_uniform) {
  LayerSpec l = weighted(LayerKind::conv2d, name, filters, act, bias, init);
  l.kernel = k;
  l.strides = s;
  l.padding = p;
  return l;
}

inline LayerSpec pool(const std::string& name, bool max, std::array<int, 2> k, std::array<int, 2> s, Padding p) {
  LayerSpec l;
  l.kind = max ? LayerKind::max_pooling2d : LayerKind::average_pooling2d;
  l.name = name;
  l.kernel = k;
  l.strides = s;
  l.padding = p;
  return l;
}

inline LayerSpec dense(const std::string& name, int units, Activation act, bool bias = true,
                       Initializer init = Initializer::glorot_uniform) {
  return weighted(LayerKind::dense, name, units, act, bias, init);
}

inline LayerSpec simple(LayerKind kind, const std::string& name, double rate = 0, Activation act = Activation::linear) {
  LayerSpec l;
  l.kind = kind;
  l.name = name;
  l.rate = rate;
  l.activation = act;
  return l;
}

inline ModelSpec model(std::array<int, 3> input, std::vector<LayerSpec> layers) {
  ModelSpec m;
  m.source = "test";
  m.input_shape = input;
  m.layers = std::move(layers);
  return m;
}

// Wider, "same" padding, Dropout: 640 + 73,856 + 1,605,888 + 2,570 = 1,682,954 parameters.
inline ModelSpec wide_same_dropout() {
  const auto same = Padding::same, valid = Padding::valid;
  return model({28, 28, 1}, {conv("conv2d", 64, {3, 3}, {1, 1}, same, Activation::relu),      // (28, 28, 64)
                             pool("max_pooling2d", true, {2, 2}, {2, 2}, valid),               // (14, 14, 64)
                             simple(LayerKind::dropout, "dropout", 0.25),
                             conv("conv2d_1", 128, {3, 3}, {1, 1}, same, Activation::relu),    // (14, 14, 128)
                             pool("max_pooling2d_1", true, {2, 2}, {2, 2}, valid),             // (7, 7, 128)
                             simple(LayerKind::dropout, "dropout_1", 0.25),
                             simple(LayerKind::flatten, "flatten"),                            // (6272)
                             dense("dense", 256, Activation::relu),
                             simple(LayerKind::dropout, "dropout_2", 0.5),
                             dense("dense_1", 10, Activation::softmax)});
}

// Strides, average pooling with "same" padding, no bias, an Activation layer, he initializers:
// 416 + 128 + 2,890 = 3,434 parameters.
inline ModelSpec strided_average() {
  return model({28, 28, 1}, {conv("conv2d", 16, {5, 5}, {2, 2}, Padding::valid, Activation::relu, true,
                                  Initializer::he_uniform),                                    // (12, 12, 16)
                             pool("average_pooling2d", false, {3, 3}, {2, 2}, Padding::same),  // (6, 6, 16)
                             conv("conv2d_1", 8, {1, 1}, {1, 1}, Padding::valid, Activation::linear, false),  // (6, 6, 8)
                             simple(LayerKind::activation, "activation", 0, Activation::relu),
                             simple(LayerKind::flatten, "flatten"),                            // (288)
                             dense("dense", 10, Activation::linear, true, Initializer::he_normal)});
}

// The Keras basic classification tutorial's MLP: 100,480 + 1,290 = 101,770 parameters.
inline ModelSpec mlp() {
  return model({28, 28, 1}, {simple(LayerKind::flatten, "flatten"), dense("dense", 128, Activation::relu),
                             simple(LayerKind::dropout, "dropout", 0.2), dense("dense_1", 10, Activation::softmax)});
}

}  // namespace fmnist::test
