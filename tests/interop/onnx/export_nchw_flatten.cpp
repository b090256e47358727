// The negative control of the ONNX interoperability tests: exports a checkpoint as
// fmnist_inspect --export-onnx does, but without the Transpose back to NHWC before Flatten, so
// the dense layers read the features in NCHW order. ONNX's checker accepts the graph; the runtime
// tests must catch it. Usage: onnx_export_nchw_flatten CHECKPOINT OUT.onnx
#include <cstdio>

#include "fmnist/checkpoint.hpp"
#include "fmnist/error.hpp"
#include "fmnist/export.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: onnx_export_nchw_flatten CHECKPOINT OUT.onnx\n");
    return 2;
  }
  try {
    const fmnist::Checkpoint c = fmnist::read_checkpoint(argv[1]);
    std::printf("%s\n", fmnist::export_onnx(c.model, c.weights, argv[2], {.keras_flatten_order = false}).c_str());
    return 0;
  } catch (const fmnist::Error& e) {
    std::fprintf(stderr, "onnx_export_nchw_flatten: %s\n", e.what());
    return e.exit_code();
  }
}
