// End to end, --model yolov8n (issue 20): the export runs in ONNX Runtime with LibTorch's outputs at its
// default 640x640 and, from the same file, at batch 2 (the batch axis is symbolic); inputs and outputs
// are named as Ultralytics' export names them; every node is tagged with one of Ultralytics' modules;
// and partition finds the Conv-BN-SiLU blocks and one subgraph set per C2f.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  CLI, WORK_DIR, compareWithReference, exportOrThrow, inheritanceRate, numericProblems, parameterOwner, readModel, tagProblems,
} from './lib/checks.mjs';

const dir = join(WORK_DIR, 'yolov8n');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const onnxPath = join(dir, 'yolov8n.onnx');
const ioDefault = join(dir, 'io');
const ioBatch2 = join(dir, 'io_batch2');
exportOrThrow(['-q', '--model', 'yolov8n', '--out', onnxPath, '--save-io', ioDefault]);
exportOrThrow(['-q', '--model', 'yolov8n', '--input-shape', '2,3,640,640', '--out', join(dir, 'batch2.onnx'), '--save-io', ioBatch2]);
const model = readModel(onnxPath);
const modules = JSON.parse(model.metadata['htp.modules']);
const classOf = new Map(Object.entries(modules).map(([scope, info]) => [scope, info.class]));

for (const [label, ioDir] of [['batch 1', ioDefault], ['batch 2', ioBatch2]]) {
  test(`yolov8n: ONNX Runtime reproduces LibTorch at ${label} from one file`, async () => {
    const outputs = await compareWithReference(onnxPath, ioDir);
    assert.deepEqual(numericProblems(outputs), []);
    for (const out of outputs) console.log(`# yolov8n ${label} ${out.name} [${out.shape}]: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(1)}`);
  });
}

test('yolov8n: images [batch, 3, 640, 640] in, output0 [batch, 84, 8400] out', () => {
  assert.deepEqual(model.inputs, ['images']);
  assert.deepEqual(model.dims.get('images'), ['batch', 3, 640, 640]);
  assert.deepEqual(model.outputs, ['output0']);
  assert.deepEqual(model.dims.get('output0'), ['batch', 84, 8400]);
});

test('yolov8n: every node is tagged with one of Ultralytics\' modules', () => {
  assert.deepEqual(tagProblems(model, classOf), []);
  const rate = inheritanceRate(model);
  if (rate !== null) assert.ok(rate >= 0.9, `inheritance rate ${rate}`);
  for (const node of model.nodes.filter((n) => n.opType === 'Conv')) assert.equal(classOf.get(node.metadata['htp.scope']), 'Conv2d', node.name);
  const decode = model.nodes.filter((n) => n.opType === 'Softmax' || n.opType === 'Sigmoid' && n.outputs.some((o) => model.outputs.includes(o)));
  assert.ok(decode.every((n) => n.metadata['htp.scope'].startsWith('model.22')), decode.map((n) => n.metadata['htp.scope']).join());
  assert.equal(classOf.get('model.22'), 'Detect');
  assert.equal(classOf.get('model.22.dfl'), 'DFL');
});

test('yolov8n: initializers are yolov8n.pt\'s state_dict keys', () => {
  for (const name of ['model.0.conv.weight', 'model.0.bn.running_var', 'model.2.m.0.cv1.conv.weight', 'model.22.cv2.0.2.bias',
    'model.22.cv3.2.2.weight', 'model.22.dfl.conv.weight']) {
    assert.ok(model.initializers.includes(name), name);
  }
  const stateDict = model.initializers.filter((name) => /\.(weight|bias|running_mean|running_var)$/.test(name));
  assert.deepEqual(stateDict.filter((name) => parameterOwner(name, classOf) === ''), []);
});

test('yolov8n: partition finds every Conv-BN-SiLU block and splits along the C2f modules', () => {
  const report = JSON.parse(execFileSync(CLI, ['-q', 'partition', onnxPath, '--format', 'json'], { encoding: 'utf8' }));
  assert.equal(report.conv_bn_silu_blocks, 57);
  const byC2f = JSON.parse(execFileSync(CLI, ['-q', 'partition', onnxPath, '--unit-classes', 'C2f,SPPF,Detect', '--format', 'json'],
    { encoding: 'utf8' }));
  const units = new Set(byC2f.subgraph_list.map((s) => s.unit));
  const c2f = [2, 4, 6, 8, 12, 15, 18, 21].map((i) => `model.${i}`);
  for (const unit of [...c2f, 'model.9', 'model.22']) assert.ok(units.has(unit), `no subgraph in ${unit}: ${[...units]}`);
});
