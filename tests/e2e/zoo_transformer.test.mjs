// End to end, per transformer zoo model (HTP_MODEL): one export at the default shape, then ONNX
// Runtime runs that same file on the saved inputs of the default shape and of batch 3, length 23
// (batch 3 for vision models), saved by a second --save-io run with the same seed: batch and
// sequence are dynamic axes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  WORK_DIR, exportOrThrow, compareWithReference, numericProblems, readModel, tagProblems, inheritanceRate,
} from './lib/checks.mjs';

const MODEL = process.env.HTP_MODEL;
// Hugging Face's input and output names per model, the dims of each input and the leading dims of
// each output.
const TEXT = ['batch', 'sequence'];
const BERT = {
  inputs: { input_ids: TEXT, attention_mask: TEXT, token_type_ids: TEXT },
  outputs: { last_hidden_state: TEXT, pooler_output: ['batch'] },
};
const VIT = {
  inputs: { pixel_values: ['batch', 3, 224, 224] },
  outputs: { last_hidden_state: ['batch', 197], pooler_output: ['batch'] },
  second: { label: 'batch 3', args: ['--batch', '3'] },
};
// Encoder and decoder in one graph: 3000 mel frames (fixed), the decoder's length is the sequence axis.
const WHISPER = {
  inputs: { input_features: ['batch', 80, 3000], decoder_input_ids: TEXT },
  outputs: { last_hidden_state: TEXT, encoder_last_hidden_state: ['batch', 1500] },
};
const SPECS = {
  'bert-tiny': BERT,
  'bert-base': BERT,
  roberta: BERT,
  distilbert: { inputs: { input_ids: TEXT, attention_mask: TEXT }, outputs: { last_hidden_state: TEXT } },
  'vit-base': VIT,
  'deit-small': VIT,
  gpt2: { inputs: { input_ids: TEXT, attention_mask: TEXT }, outputs: { last_hidden_state: TEXT } },
  'whisper-tiny': WHISPER,
  'whisper-base': WHISPER,
  // 4.1 GB of weights, above protobuf's 2 GB: the export moves them to OUT.data without being asked.
  tinyllama: { inputs: { input_ids: TEXT, attention_mask: TEXT }, outputs: { last_hidden_state: TEXT }, externalData: true },
};
const spec = SPECS[MODEL];
const second = spec.second ?? { label: 'batch 3, length 23', args: ['--batch', '3', '--seq-len', '23'] };
const dir = join(WORK_DIR, MODEL);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const onnxPath = join(dir, `${MODEL}.onnx`);
const ioDefault = join(dir, 'io');
const ioSecond = join(dir, 'io_second');
exportOrThrow(['--model', MODEL, '--out', onnxPath, '--save-io', ioDefault, '-q']);
const otherPath = join(dir, 'second_shape.onnx');
exportOrThrow(['--model', MODEL, ...second.args, '--out', otherPath, '--save-io', ioSecond, '-q']);
// Only its saved inputs and outputs are used.
rmSync(otherPath);
rmSync(`${otherPath}.data`, { force: true });
const model = readModel(onnxPath);

for (const [label, ioDir] of [['the default shape', ioDefault], [second.label, ioSecond]]) {
  test(`${MODEL}: ONNX Runtime reproduces LibTorch at ${label} from one file`, async () => {
    const outputs = await compareWithReference(onnxPath, ioDir);
    assert.deepEqual(numericProblems(outputs), []);
    for (const out of outputs) {
      console.log(`# ${MODEL} ${label} ${out.name} [${out.shape}]: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
    }
  });
}

test(`${MODEL}: inputs and outputs are named as Hugging Face names them, with symbolic axes`, () => {
  assert.deepEqual(model.inputs, Object.keys(spec.inputs));
  for (const [name, dims] of Object.entries(spec.inputs)) assert.deepEqual(model.dims.get(name), dims, name);
  assert.deepEqual(model.outputs, Object.keys(spec.outputs));
  for (const [name, dims] of Object.entries(spec.outputs)) {
    assert.deepEqual(model.dims.get(name).slice(0, dims.length), dims, name);
  }
});

test(`${MODEL}: every node is tagged with one of its modules, and inheritance places the root's plumbing`, () => {
  const modules = JSON.parse(model.metadata['htp.modules']);
  const classOf = new Map(Object.entries(modules).map(([scope, info]) => [scope, info.class]));
  assert.deepEqual(tagProblems(model, classOf), []);
  const rate = inheritanceRate(model);
  if (rate !== null) assert.ok(rate >= 0.9, `inheritance rate ${rate}`);
  const matmuls = model.nodes.filter((n) => n.opType === 'MatMul').map((n) => classOf.get(n.metadata['htp.scope']));
  assert.ok(matmuls.length > 0 && matmuls.every((c) => c === 'Linear' || /(Attention|RotaryEmbedding)$/.test(c)),
    matmuls.join());
});

if (spec.externalData) {
  test(`${MODEL}: the weights went to external data next to the file`, () => {
    assert.ok(statSync(`${onnxPath}.data`).size > 2 ** 31, 'OUT.data holds more than protobuf could');
    assert.ok(statSync(onnxPath).size < 2 ** 31 / 100, 'the model file holds the graph and small tensors only');
    const large = [...model.initializerTensors.values()].filter((t) => t.dims.reduce((n, d) => n * d, 1) >= 2 ** 20);
    assert.ok(large.length > 0);
    assert.deepEqual(large.filter((t) => t.rawData).map((t) => t.name), [], 'large initializers with inline bytes');
  });
}
