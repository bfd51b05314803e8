// End to end, per transformer zoo model (HTP_MODEL): one export at the default shape, then ONNX
// Runtime runs that same file on the saved inputs of the default shape and of batch 3, length 23
// (saved by a second --save-io run with the same seed): batch and sequence are dynamic axes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  WORK_DIR, exportOrThrow, compareWithReference, numericProblems, readModel, tagProblems, inheritanceRate,
} from './lib/checks.mjs';

const MODEL = process.env.HTP_MODEL;
const dir = join(WORK_DIR, MODEL);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const onnxPath = join(dir, `${MODEL}.onnx`);
const ioDefault = join(dir, 'io');
const io3x23 = join(dir, 'io_3x23');
exportOrThrow(['--model', MODEL, '--out', onnxPath, '--save-io', ioDefault, '-q']);
const otherPath = join(dir, 'batch3_len23.onnx');
exportOrThrow(['--model', MODEL, '--batch', '3', '--seq-len', '23', '--out', otherPath, '--save-io', io3x23, '-q']);
rmSync(otherPath);  // only its saved inputs and outputs are used
const model = readModel(onnxPath);

for (const [label, ioDir] of [['the default shape', ioDefault], ['batch 3, length 23', io3x23]]) {
  test(`${MODEL}: ONNX Runtime reproduces LibTorch at ${label} from one file`, async () => {
    const outputs = await compareWithReference(onnxPath, ioDir);
    assert.deepEqual(numericProblems(outputs), []);
    for (const out of outputs) {
      console.log(`# ${MODEL} ${label} ${out.name} [${out.shape}]: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
    }
  });
}

test(`${MODEL}: inputs are named as Hugging Face names them, with symbolic batch and sequence`, () => {
  assert.deepEqual(model.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
  for (const name of model.inputs) assert.deepEqual(model.dims.get(name), ['batch', 'sequence'], name);
  assert.deepEqual(model.outputs, ['last_hidden_state', 'pooler_output']);
  assert.deepEqual(model.dims.get('last_hidden_state').slice(0, 2), ['batch', 'sequence']);
  assert.equal(model.dims.get('pooler_output')[0], 'batch');
});

test(`${MODEL}: every node is tagged with one of its modules, and inheritance places the root's plumbing`, () => {
  const modules = JSON.parse(model.metadata['htp.modules']);
  const classOf = new Map(Object.entries(modules).map(([scope, info]) => [scope, info.class]));
  assert.deepEqual(tagProblems(model, classOf), []);
  const rate = inheritanceRate(model);
  if (rate !== null) assert.ok(rate >= 0.9, `inheritance rate ${rate}`);
  const matmuls = model.nodes.filter((n) => n.opType === 'MatMul').map((n) => classOf.get(n.metadata['htp.scope']));
  assert.ok(matmuls.length > 0 && matmuls.every((c) => c === 'Linear' || c === 'BertSelfAttention'), matmuls.join());
});
