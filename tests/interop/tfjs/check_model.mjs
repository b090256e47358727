// TensorFlow.js's Keras layers as an independent reader of our checkpoints (docs/contributing.md:
// Tests, label interop): h5wasm reads the file as written, tf.models.modelFromJSON rebuilds the model from the
// root attribute model_config, the weights come from /model_weights as Keras's legacy loader takes
// them, and tfjs's predictions and compiled loss on the test images are compared with ours.
//
// node check_model.mjs CKPT IMAGES.gz LABELS.gz OURS.npy OUR_LOSS OUR_ACCURACY [TOLERANCE]
// Exit 0: tfjs reproduces our outputs, accuracy and loss; 1: it does not; 2: it could not run.
import fs from 'node:fs';
import zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import h5wasm from 'h5wasm/node';

class Mismatch extends Error {}

// IDX file (docs/predicting.md; gzip or plain): big-endian magic, dimensions, bytes.
function readIdx(path) {
  let bytes = fs.readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rank = view.getUint8(3);
  const shape = Array.from({length: rank}, (_, i) => view.getUint32(4 + 4 * i, false));
  return {shape, data: bytes.subarray(4 + 4 * rank)};
}

// NumPy .npy of little-endian float32 in C order, as fmnist_inspect --outputs writes it.
function readNpy(path) {
  const bytes = fs.readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  if (!header.includes("'descr': '<f4'") || !header.includes("'fortran_order': False"))
    throw new Error(`${path}: not a C-order float32 .npy: ${header}`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
  const start = 10 + headerLength;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  return {shape, data};
}

const text = v => (typeof v === 'string' ? v : new TextDecoder().decode(v));
const strings = v => (Array.isArray(v) ? v : v == null ? [] : [v]).map(text);

// Keras's legacy loader (keras/saving/legacy/hdf5_format.py, load_weights_from_hdf5_group): the
// layers of /model_weights whose weight_names are not empty, in layer_names order, go to the model's
// layers that have weights, in order; each layer takes its datasets in weight_names order.
// Our layer names are also the model's (docs/models.md: Models), though Keras matches by order alone.
// layer_names are Keras's model.layers: a Functional model's include its InputLayer (tfjs orders a
// Functional model's layers as Keras does: by depth from the output), a Sequential model's do not.
function loadLegacyWeights(file, model) {
  const layerNames = strings(file.get('model_weights').attrs['layer_names'].value);
  const sequential = model.getClassName() === 'Sequential';
  const modelNames = model.layers.filter(l => !sequential || l.getClassName() !== 'InputLayer').map(l => l.name);
  if (layerNames.join() !== modelNames.join())
    throw new Error(`layer_names [${layerNames}] are not the model's layers [${modelNames}]`);
  const named = layerNames
      .map(name => ({name, weights: strings(file.get(`model_weights/${name}`).attrs['weight_names'].value)}))
      .filter(l => l.weights.length > 0);
  const layers = model.layers.filter(l => l.weights.length > 0);
  if (named.length !== layers.length)
    throw new Error(`/model_weights has ${named.length} layers with weights, the model ${layers.length}`);
  named.forEach(({name, weights}, k) => {
    const layer = layers[k];
    if (weights.length !== layer.weights.length)
      throw new Error(`layer ${name}: ${weights.length} weights in the file, ${layer.weights.length} in tfjs`);
    layer.setWeights(weights.map((w, i) => {
      const ds = file.get(`model_weights/${name}/${w}`);
      const shape = ds.shape.map(Number);
      if (shape.join() !== layer.weights[i].shape.join())
        throw new Error(`${name}/${w}: shape (${shape}) in the file, (${layer.weights[i].shape}) in tfjs`);
      return tf.tensor(ds.value, shape, 'float32');
    }));
  });
  return named.map(l => l.name);
}

// The optimizer of training_config as tfjs deserializes it (tfjs-layers' loadTrainingConfig: the
// Keras config in camelCase, the class by name), and which Keras fields did not survive.
// Keras's rho is tfjs's decay (tfjs-core optimizers/rmsprop_optimizer.ts).
function takeOptimizer(optimizerConfig, notTaken) {
  const classes = tf.serialization.SerializationMap.getMap().classNameMap;
  let name = optimizerConfig.class_name;
  if (!(name in classes)) {
    const tfjsName = Object.keys(classes).find(k => k.toLowerCase() === name.toLowerCase());
    if (tfjsName === undefined) throw new Error(`tfjs has no optimizer '${name}'`);
    notTaken.push(`optimizer class '${name}' (tfjs names it '${tfjsName}'; taken under that name)`);
    name = tfjsName;
  }
  const alias = {rho: 'decay'};
  const camel = k => alias[k] ?? k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
  const config = {};
  for (const [k, v] of Object.entries(optimizerConfig.config)) config[camel(k)] = v;
  const [cls, fromConfig] = classes[name];
  const optimizer = fromConfig(cls, config);
  const kept = optimizer.getConfig();
  for (const [k, v] of Object.entries(optimizerConfig.config)) {
    if (k === 'name') continue;
    if (!(camel(k) in kept)) notTaken.push(`optimizer ${k}=${JSON.stringify(v)} (tfjs's ${name} has no such field)`);
    else if (Math.abs(Number(kept[camel(k)]) - Number(v)) > 1e-12)
      notTaken.push(`optimizer ${k}=${v} (tfjs's ${name} took ${kept[camel(k)]})`);
  }
  return optimizer;
}

// Compiles the model from training_config as far as tfjs allows; returns what it could not take.
function compileFromTrainingConfig(model, trainingConfig) {
  const notTaken = [];
  try {
    model.loadTrainingConfig(trainingConfig);  // tfjs's own path (tf.loadLayersModel uses it)
  } catch (e) {
    notTaken.push(`tfjs's loadTrainingConfig refused the whole training_config: ${e.message.split('\n')[0]}`);
  }
  for (const key of ['loss_weights', 'weighted_metrics', 'sample_weight_mode'])
    if (trainingConfig[key] != null) notTaken.push(`${key}=${JSON.stringify(trainingConfig[key])}`);
  const optimizer = takeOptimizer(trainingConfig.optimizer_config, notTaken);
  let loss = trainingConfig.loss;
  if (typeof loss === 'string') {
    loss = loss.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  } else if (loss?.class_name === 'CategoricalCrossentropy') {
    // tfjs's compile takes a loss by name or as a function, not Keras's loss objects.
    const {from_logits: fromLogits, label_smoothing: smoothing} = loss.config;
    notTaken.push(`loss ${JSON.stringify(loss)} (a Keras loss object: replaced by ` +
                  `tf.losses.softmaxCrossEntropy${fromLogits ? ' on the logits' : ''})`);
    if (!fromLogits || smoothing) throw new Error(`cannot stand in for the loss ${JSON.stringify(loss)}`);
    loss = (y, logits) => tf.losses.softmaxCrossEntropy(y, logits, undefined, 0,
                                                        tf.Reduction.NONE);
  } else {
    throw new Error(`training_config: loss ${JSON.stringify(loss)} is neither a name nor a CategoricalCrossentropy`);
  }
  const metrics = trainingConfig.metrics;
  model.compile({optimizer, loss, metrics});
  return notTaken;
}

async function main() {
  const [ckpt, imagesPath, labelsPath, oursPath, ourLoss, ourAccuracy, tol = '1e-4'] = process.argv.slice(2);
  if (ourAccuracy === undefined) throw new Error('usage: check_model.mjs CKPT IMAGES LABELS OURS.npy LOSS ACCURACY [TOL]');
  const tolerance = Number(tol);
  await tf.setBackend('wasm');
  await h5wasm.ready;

  const file = new h5wasm.File(ckpt, 'r');
  const modelConfig = text(file.attrs['model_config'].value);
  const trainingConfig = JSON.parse(text(file.attrs['training_config'].value));
  const model = await tf.models.modelFromJSON(JSON.parse(modelConfig));
  const layerNames = loadLegacyWeights(file, model);
  file.close();
  console.log(`${ckpt}: tfjs ${tf.version.tfjs} (${tf.getBackend()}) rebuilt '${model.name}', ` +
              `${model.countParams()} parameters; weights of ${layerNames.join(', ')}`);
  const notTaken = compileFromTrainingConfig(model, trainingConfig);
  console.log(`training_config: compiled with ${model.optimizer.getClassName()} ` +
              `${JSON.stringify(model.optimizer.getConfig())}, metrics ${JSON.stringify(trainingConfig.metrics)}`);
  for (const n of notTaken) console.log(`  tfjs could not take: ${n}`);

  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath).data;
  const [n, h, w] = images.shape;
  const x = tf.tidy(() => tf.tensor4d(Float32Array.from(images.data), [n, h, w, 1]).div(255));
  const y = tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), model.outputs[0].shape[1]);
  const predictions = model.predict(x, {batchSize: 500});
  const theirs = predictions.dataSync();
  const ours = readNpy(oursPath);
  if (ours.shape.join() !== [n, model.outputs[0].shape[1]].join() || ours.data.length !== theirs.length)
    throw new Error(`${oursPath}: shape (${ours.shape}), tfjs gives (${n}, ${model.outputs[0].shape[1]})`);

  let maxDiff = 0, correct = 0;
  const classes = ours.shape[1];
  for (let i = 0; i < n; ++i) {
    let best = 0;
    for (let c = 0; c < classes; ++c) {
      const v = theirs[i * classes + c];
      maxDiff = Math.max(maxDiff, Math.abs(v - ours.data[i * classes + c]));
      if (v > theirs[i * classes + best]) best = c;
    }
    if (best === labels[i]) ++correct;
  }
  const [lossTensor] = model.evaluate(x, y, {batchSize: 500});  // the compiled loss and metrics
  const loss = lossTensor.dataSync()[0];
  const accuracy = correct / n;
  console.log(`max |tfjs - ours| = ${maxDiff.toExponential(2)} over ${n}x${classes} outputs (tolerance ${tol}); ` +
              `accuracy tfjs ${accuracy.toFixed(4)}, ours ${ourAccuracy}; loss of the compiled model ` +
              `tfjs ${loss.toFixed(4)}, ours ${ourLoss}`);
  const problems = [];
  if (!(maxDiff <= tolerance)) problems.push(`outputs differ by ${maxDiff} > ${tolerance}`);
  if (accuracy.toFixed(4) !== Number(ourAccuracy).toFixed(4)) problems.push(`accuracy ${accuracy} != ${ourAccuracy}`);
  if (!(Math.abs(loss - Number(ourLoss)) <= 6e-5)) problems.push(`loss ${loss} != ${ourLoss}`);
  if (problems.length) throw new Mismatch(problems.join('; '));
  console.log('tfjs reproduces our model');
}

main().then(() => process.exit(0), e => {
  console.log(e instanceof Mismatch ? `MISMATCH: ${e.message}` : `ERROR: ${e.stack}`);
  process.exit(e instanceof Mismatch ? 1 : 2);
});
