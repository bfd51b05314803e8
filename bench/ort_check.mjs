// Runs an ONNX file in ONNX Runtime (CPU, graph optimizations off), for the bench scripts.
//   node bench/ort_check.mjs MODEL IO_DIR   compares the outputs with IO_DIR's ref_K.npy for in_K.npy
//                                           (DESIGN.md's tolerance); exits 1 on a mismatch
//   node bench/ort_check.mjs MODEL          runs it on standard normal float inputs, symbolic dims set to
//                                           DIM=N arguments (default 1); exits 1 on a non-finite output
import ort from 'onnxruntime-node';
import { readOnnx } from '../tests/e2e/lib/onnx_reader.mjs';
import { compareWithReference, numericProblems } from '../tests/e2e/lib/checks.mjs';
import { readFileSync } from 'node:fs';

const [model, ...rest] = process.argv.slice(2);
const ioDir = rest.find((a) => !a.includes('='));
if (!model) throw new Error('usage: node bench/ort_check.mjs MODEL [IO_DIR | DIM=N ...]');

if (ioDir) {
  const outputs = await compareWithReference(model, ioDir);
  for (const o of outputs) console.log(`${o.name}: max|ort-ref| = ${o.maxDiff.toExponential(2)}, max|ref| = ${o.maxRef.toFixed(3)}`);
  const problems = numericProblems(outputs);
  for (const p of problems) console.log(`MISMATCH ${p}`);
  process.exit(problems.length ? 1 : 0);
}

const sizes = Object.fromEntries(rest.map((a) => a.split('=')).map(([k, v]) => [k, Number(v)]));
const declared = readOnnx(readFileSync(model));
// Box-Muller from a fixed linear congruential sequence: the same inputs on every run.
let state = 12345;
const uniform = () => ((state = (state * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled' });
const feeds = {};
for (const name of session.inputNames) {
  if (declared.elemTypes.get(name) !== 1) throw new Error(`input ${name} is not float32 (random inputs are float32 only)`);
  const dims = declared.dims.get(name).map((d) => (typeof d === 'string' || d === null ? sizes[d] ?? 1 : d));
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, normal);
  feeds[name] = new ort.Tensor('float32', data, dims);
}
const results = await session.run(feeds);
let finite = true;
for (const name of session.outputNames) {
  const data = results[name].data;
  const ok = data.every(Number.isFinite);
  finite &&= ok;
  console.log(`${name}: dims [${results[name].dims}], ${ok ? 'all finite' : 'NOT FINITE'}`);
}
process.exit(finite ? 0 : 1);
