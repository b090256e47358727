// Our checkpoints as other tools see them: h5dump shows the Keras layout with Fletcher32 and the
// root attributes as h5py writes strings, and h5py (the library Keras's legacy loader uses) reads
// model_config, training_config, layer_names, weight_names, the kernels in weight order, the
// optimizer and the history, including empty ones. Skipped without the tools.
#include <cstdlib>

#include "test_checkpoint_helpers.hpp"

namespace fmnist::test {
namespace {

const char* kPython = "/usr/bin/python3";

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  pclose(pipe);
  return output;
}

TEST(CheckpointInterop, H5dumpShowsKerasLayoutAndChecksums) {
  if (!std::filesystem::exists("/usr/bin/h5dump")) GTEST_SKIP() << "h5dump (hdf5-tools) not installed";
  TempDir dir;
  write_checkpoint(dir.file("c.h5"), sample_checkpoint(2, true));
  const std::string kernel = run("/usr/bin/h5dump -H -p -d '/model_weights/conv2d/conv2d/kernel:0' " + dir.file("c.h5"));
  EXPECT_NE(kernel.find("DATASET \"/model_weights/conv2d/conv2d/kernel:0\""), std::string::npos) << kernel;
  EXPECT_NE(kernel.find("H5T_IEEE_F32LE"), std::string::npos) << kernel;
  EXPECT_NE(kernel.find("( 3, 3, 1, 32 )"), std::string::npos) << kernel;
  EXPECT_NE(kernel.find("CHECKSUM FLETCHER32"), std::string::npos) << kernel;
  const std::string names = run("/usr/bin/h5dump -a /model_weights/layer_names " + dir.file("c.h5"));
  EXPECT_NE(names.find("STRSIZE 15"), std::string::npos) << names;
  EXPECT_NE(names.find("H5T_STR_NULLPAD"), std::string::npos) << names;
  EXPECT_NE(names.find("\"max_pooling2d_1\""), std::string::npos) << names;
  const std::string config = run("/usr/bin/h5dump -A -a /model_config " + dir.file("c.h5"));
  EXPECT_NE(config.find("DATASPACE  SCALAR"), std::string::npos) << config;
  EXPECT_NE(config.find("H5T_STR_NULLPAD"), std::string::npos) << config;
  EXPECT_NE(config.find("H5T_CSET_ASCII"), std::string::npos) << config;
  EXPECT_NE(config.find("\"class_name\":\"Sequential\""), std::string::npos) << config;
}

// Mirrors keras.saving.legacy.hdf5_format.load_weights_from_hdf5_group, plus our own groups.
const char* kReadWithH5py = R"(
import json, sys, h5py, numpy as np
full, empty = sys.argv[1], sys.argv[2]
with h5py.File(full, 'r') as f:
    w = f['model_weights']
    names = [n.decode('utf8') for n in w.attrs['layer_names']]
    assert names == ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'conv2d_2',
                     'flatten', 'dense', 'dense_1'], names
    # What keras.models.load_model reads first (bytes, decoded as Keras does).
    model_config = json.loads(f.attrs.get('model_config').decode('utf-8'))
    assert model_config['class_name'] == 'Sequential'
    layers = model_config['config']['layers']
    assert layers[0]['class_name'] == 'InputLayer'
    assert layers[0]['config']['batch_input_shape'] == [None, 28, 28, 1]
    assert [l['config']['name'] for l in layers[1:]] == names
    assert layers[-1]['config']['activation'] == 'softmax'
    training_config = json.loads(f.attrs.get('training_config').decode('utf-8'))
    assert training_config['optimizer_config']['class_name'] == 'RMSprop'
    assert f.attrs['keras_version'].decode('utf8') == '2.15.0'
    assert f.attrs['backend'].decode('utf8') == 'tensorflow'
    assert f['training'].attrs['rmsprop_form'].decode('utf8') == 'keras3'
    assert w.attrs['backend'].decode('utf8') == 'tensorflow'
    assert w.attrs['keras_version'].decode('utf8') == '2.15.0'
    values = []
    for name in names:
        weight_names = [n.decode('utf8') for n in w[name].attrs['weight_names']]
        if name.startswith(('max_pooling', 'flatten')):
            assert weight_names == [], (name, weight_names)
        else:
            assert weight_names == [name + '/kernel:0', name + '/bias:0'], weight_names
        values += [np.asarray(w[name][n]) for n in weight_names]
    assert values[0].shape == (3, 3, 1, 32) and values[0].dtype == np.float32
    assert values[8].shape == (64, 10)
    flat = np.concatenate([v.ravel() for v in values])
    expected = ((np.arange(flat.size) % 1000) - 500).astype(np.float32) / np.float32(1024)
    assert np.array_equal(flat, expected)
    assert f['optimizer'].attrs['name'].decode() == 'rmsprop'
    assert f['optimizer/velocity'].shape == (flat.size,)
    assert int(f['training'].attrs['seed']) == 0xFEDCBA9876543210
    assert f['history/loss'].dtype == np.float64
    assert np.allclose(f['history/val_accuracy'][:], [0.65, 0.69, 0.73])
    assert f['evaluation/test_accuracy'][0] == 0.8589
with h5py.File(empty, 'r') as f:
    for key in ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'seconds']:
        assert f['history/' + key][:].shape == (0,), key
    assert 'evaluation' not in f
print('h5py ok')
)";

TEST(CheckpointInterop, H5pyReadsItAsKerasWould) {
  if (std::system("/usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null") != 0) {
    GTEST_SKIP() << kPython << " cannot import h5py";
  }
  TempDir dir;
  write_checkpoint(dir.file("full.h5"), sample_checkpoint(3, true));
  write_checkpoint(dir.file("empty.h5"), sample_checkpoint(0, false));
  std::ofstream(dir.file("read.py")) << kReadWithH5py;
  const std::string output =
      run(std::string(kPython) + " " + dir.file("read.py") + " " + dir.file("full.h5") + " " + dir.file("empty.h5") + " 2>&1");
  EXPECT_EQ(output, "h5py ok\n");
}

}  // namespace
}  // namespace fmnist::test
