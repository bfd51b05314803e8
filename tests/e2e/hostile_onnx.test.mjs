// Hostile and broken ONNX files (issue 17, docs/errors.md): every command that reads ONNX refuses
// external data outside the model's folder (absolute, `..`, symlinks), malformed external ranges and
// tensors whose bytes, dims or type do not add up, with exit status 1, one line naming the file and
// the tensor, and no output file. Well-formed external data, also through a symlink that stays
// inside the folder, still works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { WORK_DIR, caseDir, expectFailure, exportOrThrow, readModel } from './lib/checks.mjs';
import { tensorProto, tinyModel } from './lib/onnx_edit.mjs';

const root = join(WORK_DIR, 'hostile_onnx');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

const floats = (values) => {
  const bytes = Buffer.alloc(4 * values.length);
  values.forEach((value, k) => bytes.writeFloatLE(value, 4 * k));
  return bytes;
};
const W = [1, 2, 3, 4];
// A file of exactly w's size outside every case folder, so only its place can stop a read.
writeFileSync(join(root, 'outside.bin'), floats(W));
const PASSWD_BYTES = statSync('/etc/passwd').size;

// Every command that reads ONNX files, on `file`, writing into `dir`.
const COMMANDS = {
  tag: (file, dir) => ['tag', file, '--out', join(dir, 'out.onnx')],
  optimize: (file, dir) => ['optimize', file, '--out', join(dir, 'out.onnx'), '--report', join(dir, 'report.json')],
  extract: (file, dir) => ['extract', file, '--scope', '', '--out', join(dir, 'out.onnx')],
  partition: (file) => ['partition', file, '--format', 'json'],
  verify: (file, dir) => ['verify', file, file, '--save-io', join(dir, 'io')],
};

const w = (fields) => tensorProto({ name: 'w', dims: [4], ...fields });
const external = (location, extra = {}) => w({ external: { location, ...extra } });
// w as many bytes as /etc/passwd has, so that reading it would succeed were the location allowed.
const passwdSized = (location) => tensorProto({ name: 'w', dataType: 2, dims: [PASSWD_BYTES], external: { location } });

// name, the model's tensors, files, folders and links beside it, and the message after "'FILE': ". The
// cases issue 17 names run with every command, the others with one each in turn (each run starts LibTorch,
// about 2 s).
const CASES = [
  { name: 'absolute location', everyCommand: true, model: { w: passwdSized('/etc/passwd') },
    message: "initializer 'w' points outside the model folder: '/etc/passwd'" },
  { name: '../ escape', everyCommand: true, model: { w: passwdSized('../../../../../../../../../../etc/passwd') },
    message: "initializer 'w' points outside the model folder: '../../../../../../../../../../etc/passwd'" },
  { name: '../ escape to a sibling of the folder', model: { w: external('../outside.bin') },
    message: "initializer 'w' points outside the model folder: '../outside.bin'" },
  { name: '../ after a folder inside', model: { w: external('sub/../../outside.bin') }, folders: ['sub'],
    message: "initializer 'w' points outside the model folder: 'sub/../../outside.bin'" },
  { name: 'symlinked file escape', everyCommand: true, model: { w: external('w.bin') }, links: { 'w.bin': join(root, 'outside.bin') },
    message: "initializer 'w' points outside the model folder: 'w.bin'" },
  { name: 'symlinked folder escape', model: { w: external('up/outside.bin') }, links: { up: root },
    message: "initializer 'w' points outside the model folder: 'up/outside.bin'" },
  { name: 'missing external file', model: { w: external('absent.bin') },
    message: "initializer 'w' has external data in 'absent.bin', which does not exist" },
  { name: 'external data in a folder', model: { w: external('data') }, folders: ['data'],
    message: "initializer 'w' has external data in 'data', which is not a regular file" },
  { name: 'external location with a newline', model: { w: external('a\nb') },
    message: "initializer 'w' has external data in 'a\\x0ab', which does not exist" },
  { name: 'external data without a location', model: { w: w({ external: { offset: 0 } }) },
    message: "initializer 'w' has external data without a location" },
  { name: 'offset beyond the file', model: { w: external('w.bin', { offset: 32 }) }, files: { 'w.bin': floats(W) },
    message: "initializer 'w' has external data at offset 32, beyond the end of 'w.bin' (16 bytes)" },
  { name: 'length beyond the file', model: { w: external('w.bin', { offset: 8, length: 16 }) }, files: { 'w.bin': floats(W) },
    message: "initializer 'w' has external data at offset 8 of length 16, beyond the end of 'w.bin' (16 bytes)" },
  { name: 'length not the tensor size', model: { w: external('w.bin', { length: 8 }) }, files: { 'w.bin': floats(W) },
    message: "initializer 'w' has 8 bytes of external data in 'w.bin' for dims [4] of float (16 bytes)" },
  { name: 'offset not a number', model: { w: external('w.bin', { offset: '-1' }) }, files: { 'w.bin': floats(W) },
    message: "initializer 'w' has an invalid external-data offset '-1'" },
  { name: 'short raw_data', everyCommand: true, model: { w: w({ rawData: floats([1, 2]) }) },
    message: "initializer 'w' has 8 bytes of raw_data for dims [4] of float (16 bytes)" },
  { name: 'raw_data far shorter than its dims', model: { w: w({ dims: [4000000000], rawData: floats(W) }) },
    message: "initializer 'w' has 16 bytes of raw_data for dims [4000000000] of float (16000000000 bytes)" },
  { name: 'too few typed values', model: { w: w({ floatData: [1, 2, 3] }) },
    message: "initializer 'w' has 3 values in float_data for dims [4] of float (4 values)" },
  { name: 'element count overflows int64', everyCommand: true, model: { w: w({ dims: [4294967296, 4294967296], rawData: floats(W) }) },
    message: "initializer 'w' has dims [4294967296,4294967296] of float, more elements than int64 counts" },
  { name: 'byte size overflows int64', model: { w: w({ dims: [2n ** 62n], rawData: floats(W) }) },
    message: "initializer 'w' has dims [4611686018427387904] of float, more bytes than int64 counts" },
  { name: 'negative dim', model: { w: w({ dims: [-4], rawData: floats(W) }) },
    message: "initializer 'w' has a negative dim in dims [-4] of float" },
  { name: 'unknown element type', model: { w: w({ dataType: 99, rawData: floats(W) }) },
    message: "initializer 'w' has unknown element type 99" },
  { name: 'Constant with short raw_data', everyCommand: true, model: { c: tensorProto({ dims: [4], rawData: Buffer.alloc(3) }) },
    message: "node 'const' (Constant) attribute 'value' has 3 bytes of raw_data for dims [4] of float (16 bytes)" },
  { name: 'Constant with overflowing dims', model: { c: tensorProto({ dims: [2n ** 40n, 2n ** 40n], rawData: Buffer.alloc(16) }) },
    message: "node 'const' (Constant) attribute 'value' has dims [1099511627776,1099511627776] of float, more elements than int64 counts" },
  { name: 'Constant with external data outside the folder', model: { c: tensorProto({ dims: [4], external: { location: '/etc/passwd' } }) },
    message: "node 'const' (Constant) attribute 'value' points outside the model folder: '/etc/passwd'" },
];

// The case's folder with model.onnx and its side files; returns [folder, model path, inputs to keep].
function setUp(name, spec) {
  const dir = caseDir(root, name, { 'model.onnx': tinyModel(spec.model), ...spec.files });
  for (const folder of spec.folders ?? []) mkdirSync(join(dir, folder));
  for (const [link, target] of Object.entries(spec.links ?? {})) symlinkSync(target, join(dir, link));
  const inputs = ['model.onnx', ...Object.keys(spec.files ?? {}), ...(spec.folders ?? []), ...Object.keys(spec.links ?? {})];
  return [dir, join(dir, 'model.onnx'), inputs];
}

const commandNames = Object.keys(COMMANDS);
CASES.forEach((spec, k) => {
  const commands = spec.everyCommand ? commandNames : [commandNames[k % commandNames.length]];
  test(`${spec.name}: refused by ${commands.join(', ')}`, () => {
    for (const command of commands) {
      const args = COMMANDS[command];
      const [dir, file, inputs] = setUp(`${spec.name.replace(/\W+/g, '_')}_${command}`, spec);
      const message = expectFailure(args(file, dir), dir, inputs, 1);
      assert.equal(message, `'${file}': ${spec.message}`, command);
    }
  });
});

test('optimize no longer copies /etc/passwd into its output', () => {
  for (const location of ['/etc/passwd', '../../../../../../../../../../etc/passwd']) {
    const [dir, file, inputs] = setUp('passwd', { model: { w: passwdSized(location) } });
    expectFailure(COMMANDS.optimize(file, dir), dir, inputs, 1);
    assert.ok(!existsSync(join(dir, 'out.onnx')));
    rmSync(dir, { recursive: true });
  }
});

test('external data inside the folder, also through a symlink that stays inside, is read', async () => {
  for (const [name, location] of [['plain', 'w.bin'], ['symlink', 'link.bin']]) {
    const [dir, file] = setUp(`inside_${name}`, { model: { w: external(location) }, files: { 'w.bin': floats(W) } });
    if (location === 'link.bin') symlinkSync('w.bin', join(dir, 'link.bin'));
    const optimized = join(dir, 'optimized.onnx');
    exportOrThrow(['-q', 'optimize', file, '--out', optimized]);
    const bytes = readModel(optimized).initializerTensors.get('w').rawData;
    assert.deepEqual([...new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))], W);
    const session = await ort.InferenceSession.create(readFileSync(optimized));
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([10, 20, 30, 40]), [4]) });
    assert.deepEqual([...y.data], [11.5, 22.5, 33.5, 44.5]);
    exportOrThrow(['-q', 'verify', file, optimized]);
    const tagged = join(dir, 'tagged.onnx');
    exportOrThrow(['-q', 'tag', file, '--out', tagged]);
    exportOrThrow(['-q', 'extract', tagged, '--scope', '', '--out', join(dir, 'part.onnx')]);
    JSON.parse(exportOrThrow(['-q', 'partition', tagged, '--format', 'json']));
  }
});
