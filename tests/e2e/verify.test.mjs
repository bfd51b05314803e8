// End to end, `htp-export verify` (docs/verify.md) and the ATen evaluator behind it:
//  - the graph runner's outputs (verify --save-io) against ONNX Runtime on the same inputs, for zoo
//    exports (resnet18, mobilenet_v3_small, bert-tiny at other dims) and torch.onnx.export files
//    (gen_torch_onnx.py's GPT-style decoder and BERT-like transformer, opset 14);
//  - a file against itself (exactly 0), against its `htp-export optimize` output (within
//    tolerance), against a copy with other weights (non-zero exit), and against a model with
//    another interface or a misspelled --dim (one-line errors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  WORK_DIR, caseDir, compareWithReference, expectFailure, exportOrThrow, numericProblems, runCli,
} from './lib/checks.mjs';
import { generateTorchOnnx } from './lib/torch_onnx.mjs';

const root = join(WORK_DIR, 'verify');
rmSync(root, { recursive: true, force: true });
const dir = caseDir(root, 'files');
const TORCH_DIR = join(WORK_DIR, 'verify_torch');  // kept between runs: the generator caches there

function zooExport(model, extra = []) {
  const path = join(dir, `${model}${extra.length ? '_other' : ''}.onnx`);
  exportOrThrow(['--model', model, '--out', path, '-q', ...extra]);
  return path;
}

const files = {
  resnet18: zooExport('resnet18'),
  mobilenet_v3_small: zooExport('mobilenet_v3_small'),
  'bert-tiny': zooExport('bert-tiny'),
};

// Runs verify; returns the exit status, the per-output figures and the overall line.
function verify(args) {
  const result = runCli(['verify', ...args]);
  const outputs = [...result.stdout.matchAll(/^ {2}(\S+) (\S+) \[([\d,]*)\]: max\|a-b\| (\S+), max\|a\| (\S+), tolerance (\S+) (ok|EXCEEDED)$/gm)]
    .map((m) => ({ name: m[1], type: m[2], maxDiff: Number(m[4]), maxRef: Number(m[5]), tolerance: Number(m[6]), ok: m[7] === 'ok' }));
  const overall = /^overall: max\|a-b\| (\S+) over (\d+) outputs, (within|outside) tolerance$/m.exec(result.stdout);
  return { ...result, outputs, overall };
}

test('a file against itself differs by exactly 0', () => {
  for (const path of Object.values(files)) {
    const result = verify([path, path]);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.overall, result.stdout);
    assert.equal(Number(result.overall[1]), 0);
    assert.equal(result.outputs.length, Number(result.overall[2]));
    assert.ok(result.outputs.every((o) => o.maxDiff === 0 && o.ok), result.stdout);
  }
});

test('the graph runner reproduces ONNX Runtime on zoo exports', async () => {
  const cases = [
    ['resnet18', []], ['mobilenet_v3_small', ['--seed', '3']],
    ['bert-tiny', ['--dim', 'batch=3', '--dim', 'sequence=11']],
  ];
  for (const [name, args] of cases) {
    const ioDir = join(root, `io_${name}`);
    const result = verify([files[name], files[name], '--save-io', ioDir, ...args]);
    assert.equal(result.status, 0, result.stderr);
    const outputs = await compareWithReference(files[name], ioDir);
    assert.deepEqual(numericProblems(outputs), [], name);
    for (const out of outputs) console.log(`#   ${name} ${out.name}: max|ort-aten| = ${out.maxDiff.toExponential(2)}, max|aten| = ${out.maxRef.toFixed(3)}`);
  }
});

test('the graph runner reproduces ONNX Runtime on torch.onnx.export files', async (t) => {
  const generationError = generateTorchOnnx(TORCH_DIR, ['decoder', 'transformer']);
  if (generationError) throw new Error(generationError);
  const cases = [['decoder', ['--dim', 'batch=2', '--dim', 'length=9']], ['transformer', ['--dim', 'batch=3', '--dim', 'length=7']]];
  for (const [name, args] of cases) {
    await t.test(name, async () => {
      const path = join(TORCH_DIR, `${name}.onnx`);
      const ioDir = join(root, `io_${name}`);
      const result = verify([path, path, '--save-io', ioDir, ...args]);
      assert.equal(result.status, 0, result.stderr);
      const outputs = await compareWithReference(path, ioDir);
      assert.deepEqual(numericProblems(outputs), [], name);
      for (const out of outputs) console.log(`#   ${name} ${out.name}: max|ort-aten| = ${out.maxDiff.toExponential(2)}, max|aten| = ${out.maxRef.toFixed(3)}`);
    });
  }
});

test('an optimized file matches its original', () => {
  for (const [name, path] of Object.entries(files)) {
    const optimized = join(dir, `${name}.optimized.onnx`);
    const optimize = runCli(['optimize', path, '--out', optimized, '-q']);
    assert.equal(optimize.status, 0, optimize.stderr);
    const result = verify([path, optimized]);
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.equal(result.overall[3], 'within');
    console.log(`#   ${name}: ${result.overall[0]}`);
  }
});

test('a copy with other weights exits non-zero with one line', () => {
  const other = zooExport('resnet18', ['--seed', '1']);
  const result = verify([files.resnet18, other]);
  assert.notEqual(result.status, 0);
  assert.equal(result.overall[3], 'outside');
  assert.ok(result.outputs.some((o) => !o.ok && o.maxDiff > o.tolerance), result.stdout);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], /^htp-export: error: 1 of 1 outputs differ beyond tolerance, first '\S+' max\|a-b\| \S+ > \S+$/);
});

test('different interfaces and bad --dim values are one-line errors', () => {
  assert.match(expectFailure(['verify', files.resnet18, files['bert-tiny']]), /^input '\S+' is only in the (first|second) model$/);
  assert.match(expectFailure(['verify', files['bert-tiny'], files['bert-tiny'], '--dim', 'batchh=2']), /no input has a dim named 'batchh'/);
  assert.match(expectFailure(['verify', files['bert-tiny'], files['bert-tiny'], '--dim', 'batch=0']), /invalid --dim entry 'batch=0'/);
  assert.match(expectFailure(['verify', files.resnet18, join(dir, 'missing.onnx')]), /missing\.onnx/);
});
