// `--weights FILE` end to end: a full resnet18 state dict in safetensors, written here from
// torchvision's state_dict names and shapes (fixtures/torchvision/reference_structure.json) with
// seeded pseudo-random values, is loaded by the CLI; the ONNX initializers must hold exactly the
// bytes written and ONNX Runtime must reproduce LibTorch's outputs with those weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safetensors } from './lib/safetensors.mjs';
import { WORK_DIR, SOURCE_DIR, exportOrThrow, compareWithReference, readModel } from './lib/checks.mjs';

const MODEL = 'resnet18';
const reference = JSON.parse(readFileSync(join(SOURCE_DIR, 'fixtures/torchvision/reference_structure.json'), 'utf8'))[MODEL];

// mulberry32: a small deterministic generator of uniforms in [0, 1).
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Little-endian bytes of one state-dict entry. Values keep the network's output finite and
// informative: conv/linear weights uniform ±sqrt(3/fan_in) (unit-variance-preserving for a linear
// layer), BatchNorm running_var in [0.5, 1.5], other BatchNorm tensors and biases small.
function tensorBytes(key, shape, random) {
  if (key.endsWith('num_batches_tracked')) {
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(BigInt(Math.floor(random() * 1e6)));
    return { dtype: 'I64', bytes };
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const fanIn = shape.length > 1 ? count / shape[0] : 1;
  const uniform = (low, high) => low + (high - low) * random();
  let draw;
  if (key.endsWith('running_var')) draw = () => uniform(0.5, 1.5);
  else if (key.endsWith('running_mean')) draw = () => uniform(-0.1, 0.1);
  else if (shape.length > 1) draw = () => uniform(-1, 1) * Math.sqrt(3 / fanIn);
  else if (key.endsWith('weight')) draw = () => uniform(0.5, 1.0);  // BatchNorm gamma
  else draw = () => uniform(-0.05, 0.05);                           // biases, BatchNorm beta
  const bytes = Buffer.alloc(4 * count);
  for (let i = 0; i < count; i++) bytes.writeFloatLE(draw(), 4 * i);
  return { dtype: 'F32', bytes };
}

const dir = join(WORK_DIR, 'weights');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const random = generator(20240611);
const entries = reference.state_dict.map(([key, shape]) => ({ key, shape, ...tensorBytes(key, shape, random) }));
const written = new Map(entries.map((e) => [e.key, e]));
const weightsPath = join(dir, `${MODEL}.safetensors`);
writeFileSync(weightsPath, safetensors(entries));
const onnxPath = join(dir, `${MODEL}.onnx`);
const ioDir = join(dir, 'io');
exportOrThrow(['--model', MODEL, '--weights', weightsPath, '--out', onnxPath, '--save-io', ioDir, '-q']);
const model = readModel(onnxPath);

test('resnet18 --weights: initializers hold exactly the bytes of the weights file', () => {
  const FLOAT = 1;  // TensorProto.DataType.FLOAT
  for (const key of ['conv1.weight', 'fc.bias', 'layer4.1.bn2.running_var']) {
    const tensor = model.initializerTensors.get(key);
    assert.ok(tensor, `${key}: no initializer`);
    assert.equal(tensor.dataType, FLOAT, key);
    assert.deepEqual(tensor.dims, written.get(key).shape, key);
    assert.ok(tensor.rawData, `${key}: no raw_data`);
    assert.ok(Buffer.compare(tensor.rawData, written.get(key).bytes) === 0, `${key}: bytes differ from the weights file`);
  }
});

test('resnet18 --weights: every float initializer is a state_dict tensor with the written bytes', () => {
  let checked = 0;
  for (const [name, tensor] of model.initializerTensors) {
    const entry = written.get(name);
    if (!entry) continue;  // the converter's own constants
    assert.ok(tensor.rawData && Buffer.compare(tensor.rawData, entry.bytes) === 0, `${name}: bytes differ`);
    checked++;
  }
  assert.equal(checked, entries.filter((e) => !e.key.endsWith('num_batches_tracked')).length);
});

test('resnet18 --weights: ONNX Runtime reproduces LibTorch with the loaded weights', async () => {
  for (const out of await compareWithReference(onnxPath, ioDir)) {
    assert.ok(out.shapeMatches, `${out.name}: shape differs`);
    assert.ok(Number.isFinite(out.maxRef) && out.maxRef > 1e-3, `${out.name}: degenerate reference, max|ref| = ${out.maxRef}`);
    assert.ok(out.maxDiff <= out.tolerance, `${out.name}: max|ort-ref| = ${out.maxDiff} > ${out.tolerance}`);
    console.log(`# ${MODEL} --weights ${out.name}: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
  }
});

// A Hugging Face task checkpoint of bert-tiny: the base model under "bert.", a head beside it and the
// position_ids buffer older transformers saved. Its values are the seed-0 export's; exporting with
// --seed 1 (other random weights) and these --weights must give back exactly the seed-0 initializers.
test('bert-tiny --weights: a task checkpoint loads its base model from under "bert."', () => {
  const dir = join(WORK_DIR, 'weights_hub');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  exportOrThrow(['--model', 'bert-tiny', '--out', join(dir, 'seed0.onnx'), '-q']);
  const seed0 = readModel(join(dir, 'seed0.onnx'));
  const parameters = [...seed0.initializerTensors.values()].filter((t) => /^(embeddings|encoder|pooler)\./.test(t.name));
  assert.ok(parameters.length > 30 && parameters.every((t) => t.dataType === 1 && t.rawData));
  const positionIds = Buffer.alloc(8 * 512);
  for (let i = 0; i < 512; ++i) positionIds.writeBigInt64LE(BigInt(i), 8 * i);
  const file = join(dir, 'model.safetensors');
  writeFileSync(file, safetensors([
    ...parameters.map((t) => ({ key: `bert.${t.name}`, dtype: 'F32', shape: t.dims, bytes: Buffer.from(t.rawData) })),
    { key: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 512], bytes: positionIds },
    { key: 'cls.predictions.bias', dtype: 'F32', shape: [4], bytes: Buffer.alloc(16) },
  ]));
  exportOrThrow(['--model', 'bert-tiny', '--seed', '1', '--weights', file, '--out', join(dir, 'loaded.onnx'), '-q']);
  const loaded = readModel(join(dir, 'loaded.onnx'));
  for (const t of parameters) {
    assert.ok(Buffer.from(loaded.initializerTensors.get(t.name).rawData).equals(Buffer.from(t.rawData)), t.name);
  }
  exportOrThrow(['--model', 'bert-tiny', '--seed', '1', '--out', join(dir, 'seed1.onnx'), '-q']);
  const seed1 = readModel(join(dir, 'seed1.onnx'));
  assert.ok(!Buffer.from(seed1.initializerTensors.get(parameters[0].name).rawData).equals(Buffer.from(parameters[0].rawData)),
    'seed 1 draws other weights, so equal bytes come from the file');
});
