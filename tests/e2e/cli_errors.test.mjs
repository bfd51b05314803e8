// The CLI's error contract (DESIGN.md): a failing run exits non-zero with exactly one line on
// stderr, `htp-export: error: ...`, and leaves no output file (nor temporary files) behind.
// Also the informational actions --list-models and --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { WORK_DIR, runCli, caseDir as caseDirIn, expectFailure } from './lib/checks.mjs';
import { zeroSafetensors } from './lib/safetensors.mjs';

const MODELS = ['resnet18', 'resnet50', 'mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0', 'efficientnet_b1',
  'efficientnet_b2', 'efficientnet_b3', 'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7', 'yolov8n', 'sam-vit-b',
  'bert-tiny', 'bert-base', 'distilbert', 'roberta', 'vit-base', 'deit-small', 'gpt2', 'whisper-tiny', 'whisper-base',
  'tinyllama'];
const root = join(WORK_DIR, 'cli_errors');
rmSync(root, { recursive: true, force: true });

const caseDir = (name, files) => caseDirIn(root, name, files);

test('unknown model: lists the known ones', () => {
  const dir = caseDir('unknown_model');
  const message = expectFailure(['--model', 'resnet1000', '--out', join(dir, 'x.onnx')], dir);
  assert.match(message, /resnet1000/);
  for (const name of MODELS) assert.ok(message.includes(name), `message does not list ${name}: ${message}`);
});

test('--out in a directory that does not exist', () => {
  const dir = caseDir('missing_dir');
  const message = expectFailure(['--model', 'resnet18', '--out', join(dir, 'nope', 'x.onnx')], dir);
  assert.ok(message.includes(join(dir, 'nope')), message);
});

test('--out where nothing can be written (/proc)', () => {
  const message = expectFailure(['--model', 'resnet18', '--out', '/proc/htp-test.onnx']);
  assert.ok(message.includes('/proc'), message);
  assert.ok(!existsSync('/proc/htp-test.onnx'));
  assert.deepEqual(readdirSync('/proc').filter((f) => f.startsWith('htp-test')), []);
});

test('--save-io where nothing can be written: no ONNX file either', () => {
  const dir = caseDir('save_io_unwritable');
  const message = expectFailure(['--model', 'resnet18', '--out', join(dir, 'x.onnx'), '--save-io', '/proc/htp-io'], dir);
  assert.ok(message.includes('/proc/htp-io'), message);
});

test('--report into a directory that does not exist', () => {
  const dir = caseDir('missing_report_dir');
  const message = expectFailure(['--model', 'resnet18', '--out', join(dir, 'x.onnx'), '--report', join(dir, 'nope', 'r.json')], dir);
  assert.ok(message.includes(join(dir, 'nope')), message);
});

test('weights that do not match the model: names the tensor', () => {
  const dir = caseDir('mismatched_weights', { 'w.safetensors': zeroSafetensors({ 'conv1.weight': [64, 3, 3, 3] }) });
  const weights = join(dir, 'w.safetensors');
  const message = expectFailure(['--model', 'resnet18', '--weights', weights, '--out', join(dir, 'x.onnx')], dir, ['w.safetensors']);
  assert.ok(message.includes(weights), message);
  assert.match(message, /missing/);
  assert.match(message, /wrong shape conv1\.weight/);
});

test('corrupt weights file: names the file', () => {
  const good = zeroSafetensors({ 'conv1.weight': [64, 3, 7, 7] });
  const dir = caseDir('corrupt_weights', {
    'truncated.safetensors': good.subarray(0, good.length - 100),
    'garbage.pt': Buffer.from('PK\x03\x04 this is not a zip archive'),
  });
  for (const file of ['truncated.safetensors', 'garbage.pt']) {
    const weights = join(dir, file);
    const message = expectFailure(['--model', 'resnet18', '--weights', weights, '--out', join(dir, 'x.onnx')], dir,
      ['truncated.safetensors', 'garbage.pt']);
    assert.ok(message.includes(weights), message);
  }
});

test('weights file that does not exist', () => {
  const dir = caseDir('missing_weights');
  const weights = join(dir, 'absent.safetensors');
  const message = expectFailure(['--model', 'resnet18', '--weights', weights, '--out', join(dir, 'x.onnx')], dir);
  assert.ok(message.includes(weights), message);
});

test('invalid --input-shape', () => {
  const dir = caseDir('bad_input_shape');
  const message = expectFailure(['--model', 'resnet18', '--input-shape', 'abc', '--out', join(dir, 'x.onnx')], dir);
  assert.match(message, /--input-shape 'abc'/);
});

test('--batch and --seq-len: positive, and only where they apply', () => {
  const dir = caseDir('batch_seq_len');
  const out = join(dir, 'x.onnx');
  for (const value of ['0', '-1', 'abc', '99999999999999999999']) {
    assert.match(expectFailure(['--model', 'bert-tiny', '--batch', value, '--out', out], dir), /--batch: must be a positive integer/);
  }
  assert.match(expectFailure(['--model', 'bert-tiny', '--seq-len', '513', '--out', out], dir), /512/);
  assert.match(expectFailure(['--model', 'resnet18', '--seq-len', '8', '--out', out], dir), /--seq-len applies to sequence models/);
  assert.match(expectFailure(['--model', 'resnet18', '--batch', '2', '--input-shape', '1,3,64,64', '--out', out], dir),
    /--batch or the N of --input-shape/);
  assert.match(expectFailure(['--model', 'bert-tiny', '--input-shape', '1,3,64,64', '--out', out], dir), /--batch and --seq-len/);
});

test('command-line syntax errors: unknown option, missing or invalid value', () => {
  const dir = caseDir('syntax');
  assert.match(expectFailure(['--model', 'resnet18', '--out', join(dir, 'x.onnx'), '--bogus'], dir), /--bogus/);
  assert.match(expectFailure(['--out', join(dir, 'x.onnx'), '--model'], dir), /--model/);
  assert.match(expectFailure(['--model', 'resnet18', '--out', join(dir, 'x.onnx'), '--seed', 'abc'], dir), /--seed|abc/);
});

test('missing --model or --out', () => {
  const dir = caseDir('missing_args');
  assert.match(expectFailure(['--out', join(dir, 'x.onnx')], dir), /--model/);
  assert.match(expectFailure(['--model', 'resnet18'], dir), /--out/);
});

test('--list-models prints every zoo model', () => {
  const result = runCli(['--list-models']);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split('\n'), MODELS);
  assert.equal(result.stderr, '');
});

test('--help mentions --model and --weights', () => {
  const result = runCli(['--help']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /--model/);
  assert.match(result.stdout, /--weights/);
});

test('--dtype float16 with --optimize, and an unknown --dtype', () => {
  const dir = caseDir('dtype');
  assert.match(expectFailure(['--model', 'resnet18', '--dtype', 'float16', '--optimize', '--out', join(dir, 'x.onnx')], dir),
    /^--dtype float16 cannot be combined with --optimize/);
  assert.match(expectFailure(['--model', 'resnet18', '--dtype', 'bfloat16', '--out', join(dir, 'x.onnx')], dir), /--dtype: bfloat16 not in/);
});
