// Runs an exported ONNX model with ONNX Runtime's WebAssembly build (onnxruntime-web, pinned by
// package-lock.json) under Node, on the images of an IDX file (gzip or plain), and writes both
// outputs as float32 .npy files for tests/interop/onnx/compare.py. The images go in as the export
// takes them: float32 (N, h, w, 1) NHWC with pixels in [0, 1].
// Usage: node run_model.mjs MODEL.onnx IMAGES.idx[.gz] OUTPUT.npy LOGITS.npy
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-web';

const BATCH = 1000; // images per run (the batch dimension is dynamic)

// IDX images: big-endian magic 0x00000803, count, rows, cols, then one byte per pixel.
function readIdxImages(path) {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== 0x803) throw new Error(`${path}: not an IDX images file`);
  const [n, rows, cols] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
  return { n, rows, cols, pixels: bytes.subarray(16, 16 + n * rows * cols) };
}

// A float32 (rows, cols) array in NumPy's .npy format, version 1.0, C order.
function npy(values, rows, cols) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head.writeUInt8(1, 6);
  head.writeUInt8(0, 7);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

const [modelPath, imagesPath, outputPath, logitsPath] = process.argv.slice(2);
if (!logitsPath) {
  console.error('usage: node run_model.mjs MODEL.onnx IMAGES.idx[.gz] OUTPUT.npy LOGITS.npy');
  process.exit(2);
}
ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(readFileSync(modelPath), { executionProviders: ['wasm'] });
const images = readIdxImages(imagesPath);
const pixels = images.rows * images.cols;
let classes = 0;
const outputs = [], logits = [];
for (let start = 0; start < images.n; start += BATCH) {
  const count = Math.min(BATCH, images.n - start);
  const x = new Float32Array(count * pixels); // (count, rows, cols, 1)
  for (let i = 0; i < x.length; ++i) x[i] = images.pixels[start * pixels + i] / 255;
  const y = await session.run({ input: new ort.Tensor('float32', x, [count, images.rows, images.cols, 1]) });
  classes = y.output.dims[1];
  outputs.push(y.output.data);
  logits.push(y.logits.data);
}
const join = (parts) => {
  const all = new Float32Array(images.n * classes);
  parts.reduce((at, part) => (all.set(part, at), at + part.length), 0);
  return all;
};
writeFileSync(outputPath, npy(join(outputs), images.n, classes));
writeFileSync(logitsPath, npy(join(logits), images.n, classes));
console.log(`onnxruntime-web ${ort.env.versions.web} (wasm): ${images.n} images, ${classes} classes`);
