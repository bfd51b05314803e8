// End to end, per zoo model (HTP_MODEL): export with --save-io and --report, then check the
// written file in ONNX Runtime and its tags against torchvision's own module tree and state dict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORK_DIR, SOURCE_DIR, exportOrThrow, compareWithReference, readModel, tagProblems, inheritanceRate } from './lib/checks.mjs';

const MODEL = process.env.HTP_MODEL;
const reference = JSON.parse(readFileSync(join(SOURCE_DIR, 'fixtures/torchvision/reference_structure.json'), 'utf8'))[MODEL];
const classOf = new Map(reference.modules);
const dir = join(WORK_DIR, MODEL);
mkdirSync(dir, { recursive: true });
const onnxPath = join(dir, `${MODEL}.onnx`);
const reportPath = join(dir, 'report.json');
const sidecarPath = join(dir, 'sidecar.json');
const summary = exportOrThrow(['--model', MODEL, '--out', onnxPath, '--save-io', join(dir, 'io'), '--report', reportPath, '--sidecar', sidecarPath, '-q']);
const model = readModel(onnxPath);

test(`${MODEL}: ONNX Runtime reproduces LibTorch's outputs`, async () => {
  for (const out of await compareWithReference(onnxPath, join(dir, 'io'))) {
    assert.ok(out.shapeMatches, `${out.name}: shape differs`);
    assert.ok(out.maxDiff <= out.tolerance, `${out.name}: max|ort-ref| = ${out.maxDiff} > ${out.tolerance}`);
    console.log(`# ${MODEL} ${out.name}: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
  }
});

test(`${MODEL}: every node is tagged with a real torchvision module`, () => {
  assert.equal(model.irVersion, 10);
  assert.deepEqual(tagProblems(model, classOf), []);
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  assert.equal(report.empty_tags, 0);
  assert.equal(report.nodes, model.nodes.length);
  assert.match(summary, / 0 empty tags /);
  const rate = inheritanceRate(model);
  if (rate !== null) assert.ok(rate >= 0.9, `inheritance rate ${rate}`);
  assert.equal(report.inheritance_rate, rate);
});

test(`${MODEL}: the sidecar holds the file's module tree and every node's tag`, () => {
  const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
  assert.deepEqual(sidecar.coverage, JSON.parse(readFileSync(reportPath, 'utf8')));
  assert.deepEqual(sidecar.nodes, model.nodes.map((n) => ({
    name: n.name, op_type: n.opType, scope: n.metadata['htp.scope'], tag: n.metadata['htp.tag'], source: n.metadata['htp.source'],
  })));
  const listed = JSON.parse(model.metadata['htp.modules']);
  assert.deepEqual(sidecar.modules.map((m) => m.scope).sort(), Object.keys(listed).sort());
  for (const m of sidecar.modules) {
    assert.equal(m.class, listed[m.scope].class, m.scope);
    assert.equal(m.parent, listed[m.scope].parent, m.scope);
    const children = Object.entries(listed).filter(([, info]) => info.parent === m.scope).map(([scope]) => scope);
    assert.deepEqual([...m.children].sort(), children.sort(), m.scope);
    assert.equal(m.nodes, model.nodes.filter((n) => n.metadata['htp.scope'] === m.scope).length, m.scope);
  }
});

test(`${MODEL}: every Conv runs in a Conv2d module`, () => {
  const convs = model.nodes.filter((n) => n.opType === 'Conv');
  assert.ok(convs.length > 0);
  for (const node of convs) assert.equal(classOf.get(node.metadata['htp.scope']), 'Conv2d', node.name);
});

test(`${MODEL}: initializers are the state_dict keys`, () => {
  // num_batches_tracked only counts training steps; an eval-mode graph never reads it.
  const expected = reference.state_dict.map(([key]) => key).filter((k) => !k.endsWith('num_batches_tracked')).sort();
  assert.deepEqual([...model.initializers].sort(), expected);
});

test(`${MODEL}: htp.modules lists the model's module tree`, () => {
  const modules = JSON.parse(model.metadata['htp.modules']);
  assert.deepEqual(Object.keys(modules).sort(), [...classOf.keys()].sort());
  for (const [scope, info] of Object.entries(modules)) assert.equal(info.class, classOf.get(scope), scope);
});
