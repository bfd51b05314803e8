// End to end, extraction by module (docs/extract.md): `htp-export extract` cuts a ResNet-50 stage,
// a BERT-base encoder layer, and the attention and MLP of a transformer block (the `attention`
// TorchScript fixture) out of exported files. Each part holds exactly its subtree's nodes, with the boundary and initializers
// worked out here independently of the C++ code, runs in ONNX Runtime, and, fed the intermediate
// tensors of a full-model run, reproduces the full model's values at its outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import {
  WORK_DIR, SOURCE_DIR, exportOrThrow, readModel, npyPaths, compareWithReference, numericProblems, caseDir, expectFailure,
} from './lib/checks.mjs';
import { readNpy } from './lib/npy.mjs';
import { valueInfos, withGraphOutputs, withoutNodeMetadata } from './lib/onnx_edit.mjs';

const root = join(WORK_DIR, 'extract');
rmSync(root, { recursive: true, force: true });
const SESSION_OPTIONS = { graphOptimizationLevel: 'disabled' };
// A part runs the full model's own nodes on the full model's own tensors, in the same runtime.
const MAX_REL_DIFF = 1e-5;

const resnetDir = caseDir(root, 'resnet50');
const resnet = { path: join(resnetDir, 'full.onnx'), ioDir: join(resnetDir, 'io') };
exportOrThrow(['--model', 'resnet50', '--out', resnet.path, '--save-io', resnet.ioDir, '-q']);

const bertDir = caseDir(root, 'bert-base');
const bert = { path: join(bertDir, 'full.onnx'), ioDir: join(bertDir, 'io') };
exportOrThrow(['--model', 'bert-base', '--out', bert.path, '--save-io', bert.ioDir, '-q']);

const attentionDir = caseDir(root, 'attention');
const fixtureIo = join(SOURCE_DIR, 'fixtures/torchscript/attention');
const attention = { path: join(attentionDir, 'full.onnx'), ioDir: fixtureIo };
exportOrThrow(['--torchscript', join(SOURCE_DIR, 'fixtures/torchscript/attention.pt'),
  ...npyPaths(fixtureIo).flatMap((f) => ['--input', f]), '--out', attention.path, '-q']);

const dynamicDir = caseDir(root, 'scripted_dynamic');
const dynamicIo = join(SOURCE_DIR, 'fixtures/torchscript/scripted_dynamic');
const dynamic = { path: join(dynamicDir, 'full.onnx'), ioDir: dynamicIo };
exportOrThrow(['--torchscript', join(SOURCE_DIR, 'fixtures/torchscript/scripted_dynamic.pt'),
  ...npyPaths(dynamicIo).flatMap((f) => ['--input', f]), '--out', dynamic.path, '-q']);

const insideOf = (scope) => (s) => scope === '' || s === scope || s.startsWith(`${scope}.`);

// The part the contract asks for, from the full model as read back from its file. A node of an If
// branch goes with its If, whose own scope decides.
function expectedPart(full, scope) {
  const inside = (n) => insideOf(scope)((n.owners[0] ?? n).metadata['htp.scope']);
  const nodes = full.nodes.filter(inside);
  const made = new Set(nodes.flatMap((n) => n.outputs));
  const readOutside = new Set(full.nodes.filter((n) => !inside(n)).flatMap((n) => n.reads));
  const initializers = new Set(full.initializers);
  const read = nodes.flatMap((n) => n.reads).filter((name) => name !== '' && !made.has(name));
  return {
    nodes,
    inputs: new Set(read.filter((name) => !initializers.has(name))),
    outputs: new Set([...made].filter((name) => name !== '' && (readOutside.has(name) || full.outputs.includes(name)))),
    initializers: new Set(read.filter((name) => initializers.has(name))),
  };
}

function extract(source, scope, outPath) {
  const summary = exportOrThrow(['extract', source.path, '--scope', scope, '--out', outPath, '-q']).trim();
  const match = /^(\S+): (\d+) nodes, (\d+) inputs, (\d+) outputs, (\d+) initializers -> (.+)$/.exec(summary);
  assert.ok(match, `summary: ${summary}`);
  assert.equal(match[1], scope === '' ? '<root>' : scope);
  assert.equal(match[6], outPath);
  return { nodes: Number(match[2]), inputs: Number(match[3]), outputs: Number(match[4]), initializers: Number(match[5]) };
}

// max|part − full| / max(1e-12, max|full|) over the whole tensor; integer and bool tensors must be
// equal (any difference is far above the bound).
function maxRelDiff(got, want) {
  assert.equal(got.type, want.type);
  assert.deepEqual(got.dims, want.dims);
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < want.data.length; k++) {
    const a = Number(got.data[k]);
    const b = Number(want.data[k]);
    diff = Math.max(diff, Math.abs(a - b));
    scale = Math.max(scale, Math.abs(b));
  }
  return diff / Math.max(1e-12, scale);
}

async function run(modelBytesOrPath, feedsByName) {
  const session = await ort.InferenceSession.create(modelBytesOrPath, SESSION_OPTIONS);
  const feeds = Object.fromEntries(session.inputNames.map((name) => {
    assert.ok(feedsByName.has(name), `no tensor for input ${name}`);
    return [name, feedsByName.get(name)];
  }));
  return { outputNames: session.outputNames, values: await session.run(feeds) };
}

// The full model's inputs from in_K.npy, in graph-input order, by name.
function modelInputs(full, ioDir) {
  const arrays = npyPaths(ioDir).map(readNpy);
  assert.equal(arrays.length, full.inputs.length);
  return new Map(full.inputs.map((name, i) => [name, new ort.Tensor(arrays[i].dtype, arrays[i].data, arrays[i].shape)]));
}

// Runs the full model with the part's boundary tensors as extra outputs (typed as the part
// declares them), feeds the part those tensors and returns each part output's max relative diff.
async function partAgainstFullModel(source, full, partPath) {
  const partBytes = readFileSync(partPath);
  const boundary = [...valueInfos(partBytes, 11), ...valueInfos(partBytes, 12)]
    .filter(([name]) => !full.inputs.includes(name) && !full.outputs.includes(name));
  const probe = withGraphOutputs(readFileSync(source.path), boundary.map(([, value]) => value));
  const inputs = modelInputs(full, source.ioDir);
  const fullRun = await run(probe, inputs);
  const tensors = new Map([...inputs, ...Object.entries(fullRun.values)]);
  const partRun = await run(partPath, tensors);
  return partRun.outputNames.map((name) => ({ name, relDiff: maxRelDiff(partRun.values[name], tensors.get(name)) }));
}

async function checkPart(t, source, scope) {
  const full = readModel(source.path);
  const outPath = join(root, `${scope || 'root'}.onnx`);
  const summary = extract(source, scope, outPath);
  const part = readModel(outPath);
  const expected = expectedPart(full, scope);

  await t.test('exactly the nodes of the subtree, in order, with their names and tags', () => {
    assert.ok(expected.nodes.length > 0);
    assert.equal(part.nodes.length, expected.nodes.length);
    assert.equal(summary.nodes, expected.nodes.length);
    assert.deepEqual(part.nodes.map((n) => n.name), expected.nodes.map((n) => n.name));
    assert.deepEqual(part.nodes.map((n) => n.metadata), expected.nodes.map((n) => n.metadata));
    const outside = part.nodes.filter((n) => !insideOf(scope)((n.owners[0] ?? n).metadata['htp.scope']));
    assert.deepEqual(outside.map((n) => n.name), []);
  });
  await t.test('boundary inputs and outputs, and only the initializers the part reads', () => {
    assert.deepEqual(new Set(part.inputs), expected.inputs);
    assert.deepEqual(new Set(part.outputs), expected.outputs);
    assert.deepEqual(new Set(part.initializers), expected.initializers);
    assert.deepEqual([summary.inputs, summary.outputs, summary.initializers],
      [part.inputs.length, part.outputs.length, part.initializers.length]);
    for (const name of part.initializers) {
      assert.ok(part.initializerTensors.get(name).rawData.equals(full.initializerTensors.get(name).rawData), name);
    }
  });
  await t.test('the model-level fields of the full model', () => {
    assert.equal(part.irVersion, 10);
    assert.deepEqual(part.opsets, full.opsets);
    assert.deepEqual(part.metadata, full.metadata);
  });
  await t.test(`fed the full model's tensors, reproduces its values (max rel diff <= ${MAX_REL_DIFF})`, async () => {
    const diffs = await partAgainstFullModel(source, full, outPath);
    assert.equal(diffs.length, part.outputs.length);
    for (const { name, relDiff } of diffs) {
      console.log(`# ${scope || '<root>'} ${name}: max rel diff ${relDiff.toExponential(2)}`);
      assert.ok(relDiff <= MAX_REL_DIFF, `${name}: max rel diff ${relDiff}`);
    }
  });
  return { part, full };
}

test('resnet50 --scope layer2: a stage', async (t) => {
  const { part } = await checkPart(t, resnet, 'layer2');
  console.log(`# layer2: ${part.nodes.length} nodes, ${part.initializers.length} initializers`);
  assert.deepEqual([part.inputs.length, part.outputs.length], [1, 1]);
});

test('bert-base --scope encoder.layer.3: one encoder layer, fed the hidden states and the mask', async (t) => {
  const { part } = await checkPart(t, bert, 'encoder.layer.3');
  console.log(`# encoder.layer.3: ${part.nodes.length} nodes, inputs ${part.inputs}, outputs ${part.outputs}`);
  assert.equal(part.inputs.length, 2, `inputs: ${part.inputs}`);  // hidden states and the extended mask
  assert.equal(part.outputs.length, 1);
  assert.equal(part.initializers.length, 16);  // 6 Linear weights and biases, 2 LayerNorms
});

test('attention --scope attn: the self-attention of a transformer block, with the mask input', async (t) => {
  const { part } = await checkPart(t, attention, 'attn');
  console.log(`# attn: ${part.nodes.length} nodes, inputs ${part.inputs}, outputs ${part.outputs}`);
  assert.ok(part.inputs.includes('mask'), `inputs: ${part.inputs}`);
  assert.ok(part.nodes.some((n) => n.opType === 'Softmax'));
});

test('attention --scope mlp: the block\'s MLP', async (t) => {
  const { part } = await checkPart(t, attention, 'mlp');
  console.log(`# mlp: ${part.nodes.length} nodes`);
});

test('attention --scope "": the whole model, same interface, matches PyTorch', async (t) => {
  const { part, full } = await checkPart(t, attention, '');
  assert.deepEqual(part.inputs, full.inputs);
  assert.deepEqual(part.outputs, full.outputs);
  assert.deepEqual(numericProblems(await compareWithReference(join(root, 'root.onnx'), fixtureIo)), []);
});

test('scripted_dynamic --scope gate: an ONNX If with a Linear per branch, whole, reading h from outside', async (t) => {
  const { part } = await checkPart(t, dynamic, 'gate');
  const branching = part.nodes.filter((n) => n.opType === 'If' && n.owners.length === 0);
  assert.equal(branching.length, 1);
  assert.deepEqual(part.nodes.filter((n) => n.owners[0] === branching[0]).map((n) => n.metadata['htp.scope']).sort(),
    ['gate', 'gate', 'gate', 'gate', 'gate.neg', 'gate.pos']);
  assert.equal(part.initializers.length, 4);  // pos and neg weights and biases, read only inside the branches
});

// ---------------------------------------------------------------------------------------------
// Errors: one line, non-zero exit, no output file.

const failure = (name, source, scope, files = {}) => {
  const dir = caseDir(root, name, files);
  return expectFailure(['extract', source, '--scope', scope, '--out', join(dir, 'part.onnx')], dir, Object.keys(files));
};

test('unknown scope: lists the top-level modules', () => {
  const message = failure('unknown_scope', resnet.path, 'layer9');
  assert.ok(message.includes("'layer9'"), message);
  for (const name of ['conv1', 'layer1', 'layer4', 'fc']) assert.ok(message.includes(name), message);
});

test('misspelt scope: suggests the closest', () => {
  assert.match(failure('misspelt_scope', resnet.path, 'layr2.0'), /did you mean 'layer2\.0'\?/);
});

test('module that exported no nodes (Dropout in eval) is named as such', () => {
  assert.match(failure('dropout', attention.path, 'mlp.2'), /'mlp\.2' \(Dropout\) has no nodes/);
});

test('file without htp tags', () => {
  const message = failure('untagged', join(root, 'untagged', 'untagged.onnx'), 'attn',
    { 'untagged.onnx': withoutNodeMetadata(readFileSync(attention.path)) });
  assert.match(message, /no htp\.scope tags/);
});

test('unreadable file: names it', () => {
  const dir = caseDir(root, 'unreadable', { 'garbage.onnx': Buffer.from('not a model at all') });
  const path = join(dir, 'garbage.onnx');
  const message = expectFailure(['extract', path, '--scope', 'attn', '--out', join(dir, 'part.onnx')], dir, ['garbage.onnx']);
  assert.ok(message.includes(path), message);
  assert.ok(failure('missing_file', join(dir, 'absent.onnx'), 'attn').includes('absent.onnx'));
});
