// End to end, TorchScript archives (issue 3): every committed fixture of fixtures/torchscript
// (manifest.json, made by make_fixtures.py) exports with `--torchscript F.pt --input in_K.npy ...`,
// runs in ONNX Runtime with PyTorch's outputs (ref_K.npy), and tags every node with one of the
// archive's module paths (modules.json). Fixtures with `alt` inputs (NAME/alt/) run in the same
// file, its interface shapes removed, at a second batch size / sequence length. The fixtures marked expect_error, and broken archives or
// inputs, fail with one line on stderr naming what is wrong, and leave no file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { WORK_DIR, SOURCE_DIR, runCli, npyPaths, checkTorchScriptExport, caseDir as caseDirIn, expectFailure, compareWithReference,
  numericProblems } from './lib/checks.mjs';
import { withoutInterfaceShapes } from './lib/onnx_edit.mjs';
import { readNpy } from './lib/npy.mjs';

const FIXTURES = join(SOURCE_DIR, 'fixtures/torchscript');
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')).fixtures;
const byName = new Map(manifest.map((f) => [f.name, f]));
const root = join(WORK_DIR, 'torchscript');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

const archiveOf = (name) => join(FIXTURES, `${name}.pt`);
const ioDirOf = (name) => join(FIXTURES, name);
const inputArgs = (files) => files.flatMap((f) => ['--input', f]);

const caseDir = (name, files) => caseDirIn(root, name, files);

// `scope` as a whole dotted path: not part of a longer name or a deeper path.
function namesScope(message, scope) {
  if (scope === '') return message.includes("'<root>'");
  const escaped = scope.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w.])${escaped}(?![\\w]|\\.\\w)`).test(message);
}

// An .npy file (format 1.0) of the given numpy descr ('<i8', '<f4', '|b1', ...), shape and raw bytes.
function npy(descr, shape, data) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

// Deterministic bytes that are no archive (a small LCG).
function garbage(length) {
  const bytes = Buffer.alloc(length);
  let state = 12345;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

test('the manifest lists the committed fixtures', () => {
  assert.ok(manifest.length >= 12, `only ${manifest.length} fixtures`);
  for (const f of manifest) {
    assert.ok(existsSync(archiveOf(f.name)), `${f.name}.pt`);
    assert.equal(npyPaths(ioDirOf(f.name), 'in_').length, f.inputs.length, f.name);
    assert.equal(npyPaths(ioDirOf(f.name), 'ref_').length, f.outputs, f.name);
    assert.ok(existsSync(join(ioDirOf(f.name), 'modules.json')), f.name);
    if (f.alt) {
      assert.equal(npyPaths(join(ioDirOf(f.name), 'alt'), 'in_').length, f.alt.length, `${f.name}/alt`);
      assert.equal(npyPaths(join(ioDirOf(f.name), 'alt'), 'ref_').length, f.outputs, `${f.name}/alt`);
    }
  }
  assert.ok(manifest.some((f) => f.expect_error === 'control flow'));
  assert.ok(manifest.some((f) => f.expect_error === 'unsupported'));
});

// ---------------------------------------------------------------------------------------------
// Every fixture that should export does, matches PyTorch, and is tagged with real modules.

for (const fixture of manifest.filter((f) => !f.expect_error)) {
  test(`${fixture.name} (${fixture.kind}): ${fixture.notes}`, async (t) => {
    const dir = caseDir(fixture.name);
    const outPath = join(dir, `${fixture.name}.onnx`);
    const { nodes, seconds } = await checkTorchScriptExport(t, { archive: archiveOf(fixture.name), ioDir: ioDirOf(fixture.name), outPath });
    console.log(`${fixture.name}: ${nodes} nodes, exported in ${seconds.toFixed(2)} s`);
    if (!fixture.alt) return;
    const shapes = fixture.alt.map((i) => `[${i.shape}]`).join(' ');
    await t.test(`the same file on inputs ${shapes}: ONNX Runtime reproduces PyTorch`, async () => {
      const anyShape = join(dir, `${fixture.name}_any_shape.onnx`);
      writeFileSync(anyShape, withoutInterfaceShapes(readFileSync(outPath)));
      assert.deepEqual(numericProblems(await compareWithReference(anyShape, join(ioDirOf(fixture.name), 'alt'))), []);
    });
  });
}

// --input-shape instead of .npy inputs: the archive exports, and ONNX Runtime runs it on a random
// input of that shape with the reference's output shapes and dtypes.
test('--input-shape: shape_ops exports without .npy inputs', async () => {
  const fixture = byName.get('shape_ops');
  const dir = caseDir('input_shape');
  const out = join(dir, 'shape_ops.onnx');
  const shape = fixture.inputs[0].shape;
  const result = runCli(['--torchscript', archiveOf('shape_ops'), '--input-shape', shape.join(','), '--input-dtype', 'float32', '--out', out, '-q']);
  assert.equal(result.status, 0, result.stderr);
  const session = await ort.InferenceSession.create(out, { graphOptimizationLevel: 'disabled' });
  assert.equal(session.inputNames.length, 1);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 2);
  const results = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, shape) });
  const refs = npyPaths(ioDirOf('shape_ops'), 'ref_').map(readNpy);
  assert.equal(session.outputNames.length, refs.length);
  session.outputNames.forEach((name, i) => {
    assert.deepEqual(results[name].dims, refs[i].shape, name);
    assert.equal(results[name].type, refs[i].dtype, name);
    assert.ok(results[name].data.every(Number.isFinite), `${name}: not finite`);
  });
});

// ---------------------------------------------------------------------------------------------
// Fixtures that must fail: one line naming every (op, scope) pair, no output file.

for (const fixture of manifest.filter((f) => f.expect_error)) {
  test(`${fixture.name}: fails (${fixture.expect_error}) naming ${fixture.expected.map((p) => p.join(' in ')).join(', ')}`, () => {
    const dir = caseDir(fixture.name);
    const message = expectFailure(['--torchscript', archiveOf(fixture.name), ...inputArgs(npyPaths(ioDirOf(fixture.name))),
      '--out', join(dir, 'x.onnx')], dir);
    if (fixture.expect_error === 'control flow') assert.match(message, /control[- ]flow|prim::If|prim::Loop/i, message);
    if (fixture.expect_error === 'unsupported') assert.match(message, /unsupported|no converter|not supported/i, message);
    if (fixture.expect_error === 'aliased') assert.match(message, /^cannot convert \S+ in module '[^']*': .*(share|alias)/, message);
    for (const [op, scope] of fixture.expected) {
      const short = op.replace(/^(aten|prim)::/, '');
      assert.ok(message.includes(op) || (op.startsWith('aten::') && new RegExp(`\\b${short}\\b`).test(message)),
        `does not name ${op}: ${message}`);
      assert.ok(namesScope(message, scope), `does not name scope ${scope}: ${message}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Broken archives and inputs.

const goodInput = join(ioDirOf('nested_containers'), 'in_0.npy');

test('corrupt archive (garbage bytes): names the file', () => {
  const dir = caseDir('corrupt_archive', { 'garbage.pt': garbage(4096) });
  const archive = join(dir, 'garbage.pt');
  const message = expectFailure(['--torchscript', archive, '--input', goodInput, '--out', join(dir, 'x.onnx')], dir, ['garbage.pt']);
  assert.ok(message.includes(archive), message);
});

test('truncated archive (first half of a real one): names the file', () => {
  const whole = readFileSync(archiveOf('nested_containers'));
  const dir = caseDir('truncated_archive', { 'half.pt': whole.subarray(0, Math.floor(whole.length / 2)) });
  const archive = join(dir, 'half.pt');
  const message = expectFailure(['--torchscript', archive, '--input', goodInput, '--out', join(dir, 'x.onnx')], dir, ['half.pt']);
  assert.ok(message.includes(archive), message);
});

test('archive that does not exist: names the file', () => {
  const dir = caseDir('missing_archive');
  const archive = join(dir, 'absent.pt');
  const message = expectFailure(['--torchscript', archive, '--input', goodInput, '--out', join(dir, 'x.onnx')], dir);
  assert.ok(message.includes(archive), message);
});

test('input .npy that is not one: names the file', () => {
  const dir = caseDir('corrupt_npy', { 'bad.npy': garbage(200) });
  const input = join(dir, 'bad.npy');
  const message = expectFailure(['--torchscript', archiveOf('nested_containers'), '--input', input, '--out', join(dir, 'x.onnx')], dir, ['bad.npy']);
  assert.ok(message.includes(input), message);
});

test('wrong number of inputs: two for a one-input model, one for a three-input model', () => {
  const dir = caseDir('input_count');
  expectFailure(['--torchscript', archiveOf('nested_containers'), '--input', goodInput, '--input', goodInput, '--out', join(dir, 'x.onnx')], dir);
  expectFailure(['--torchscript', archiveOf('multi_io'), '--input', join(ioDirOf('multi_io'), 'in_0.npy'), '--out', join(dir, 'x.onnx')], dir);
  expectFailure(['--torchscript', archiveOf('nested_containers'), '--out', join(dir, 'x.onnx')], dir);
});

test('wrong input dtype: int64 image for a float model, float32 indices for an Embedding', () => {
  const shape = byName.get('nested_containers').inputs[0].shape;
  const size = shape.reduce((a, b) => a * b, 1);
  const multi = byName.get('multi_io').inputs;
  const dir = caseDir('input_dtype', {
    'image_i64.npy': npy('<i8', shape, new BigInt64Array(size).fill(1n)),
    'indices_f32.npy': npy('<f4', multi[1].shape, new Float32Array(multi[1].shape.reduce((a, b) => a * b, 1)).fill(1)),
  });
  const files = ['image_i64.npy', 'indices_f32.npy'];
  expectFailure(['--torchscript', archiveOf('nested_containers'), '--input', join(dir, 'image_i64.npy'), '--out', join(dir, 'x.onnx')], dir, files);
  expectFailure(['--torchscript', archiveOf('multi_io'), '--input', join(ioDirOf('multi_io'), 'in_0.npy'), '--input', join(dir, 'indices_f32.npy'),
    '--input', join(ioDirOf('multi_io'), 'in_2.npy'), '--out', join(dir, 'x.onnx')], dir, files);
});
