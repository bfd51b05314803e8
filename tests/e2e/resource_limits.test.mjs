// Resource bounds (issue 17, docs/errors.md): an example input larger than the memory available is
// refused up front with the size asked for (not with LibTorch's allocator message), and constant
// folding makes no tensor above --fold-limit (optimize and export --optimize); the node stays instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { SOURCE_DIR, WORK_DIR, caseDir, expectFailure, exportOrThrow, readModel } from './lib/checks.mjs';
import { tinyModel } from './lib/onnx_edit.mjs';

const root = join(WORK_DIR, 'resource_limits');
rmSync(root, { recursive: true, force: true });

const TOO_BIG = /^--input-shape (\S+) asks for (\d+) bytes \((\d+\.\d) GiB\) of (\w+), more than the (\d+\.\d) GiB of memory available$/;

test('--input-shape beyond the memory available: refused with the size asked for', () => {
  const dir = caseDir(root, 'input_shape');
  const out = join(dir, 'x.onnx');
  const cases = [
    [['--model', 'resnet18', '--input-shape', '1,3,100000,100000'], '1,3,100000,100000', 120000000000, 'float32'],
    [['--torchscript', join(SOURCE_DIR, 'fixtures/torchscript/root_functional.pt'), '--input-shape', '100000,100000,100',
      '--input-dtype', 'float64'], '100000,100000,100', 8000000000000, 'float64'],
  ];
  for (const [args, shape, bytes, dtype] of cases) {
    const message = expectFailure([...args, '--out', out], dir, [], 1);
    const match = message.match(TOO_BIG);
    assert.ok(match, message);
    assert.deepEqual([match[1], Number(match[2]), match[4]], [shape, bytes, dtype]);
    assert.equal(match[3], (bytes / 2 ** 30).toFixed(1));
    assert.doesNotMatch(message, /DefaultCPUAllocator|alloc_cpu/);
  }
  assert.equal(expectFailure(['--model', 'resnet18', '--input-shape', '4294967296,3,4294967296,1', '--out', out], dir, [], 1),
    '--input-shape 4294967296,3,4294967296,1 has more bytes than a 64-bit size can count');
});

test('optimize --fold-limit: a fold above the limit stays a node, below it folds', async () => {
  // The tiny model's Constant (16 bytes) folds under any limit of 16 bytes or more, and stays under a smaller one.
  const dir = caseDir(root, 'fold_limit', { 'model.onnx': tinyModel() });
  const nodesAfter = (limit) => {
    const out = join(dir, `out_${limit}.onnx`);
    exportOrThrow(['-q', 'optimize', join(dir, 'model.onnx'), '--out', out, '--fold-limit', limit]);
    return readModel(out).nodes.map((node) => node.opType);
  };
  assert.deepEqual(nodesAfter('16'), ['Add', 'Add']);
  assert.deepEqual(nodesAfter('15'), ['Constant', 'Add', 'Add']);
  assert.deepEqual(nodesAfter('1K'), ['Add', 'Add']);
  const session = await ort.InferenceSession.create(readFileSync(join(dir, 'out_15.onnx')));
  const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([0, 0, 0, 0]), [4]) });
  assert.deepEqual([...y.data], [1.5, 2.5, 3.5, 4.5]);
  assert.match(expectFailure(['optimize', join(dir, 'model.onnx'), '--out', join(dir, 'bad.onnx'), '--fold-limit', 'lots'],
    dir, ['model.onnx', 'out_16.onnx', 'out_15.onnx', 'out_1K.onnx']), /--fold-limit/);
});

test('export --optimize --fold-limit: fewer folds under a small limit; --fold-limit needs --optimize', () => {
  const dir = caseDir(root, 'export_fold_limit');
  const nodes = (extra) => {
    const out = join(dir, `bert_${extra.length}.onnx`);
    exportOrThrow(['-q', '--model', 'bert-tiny', '--optimize', ...extra, '--out', out]);
    return readModel(out).nodes.length;
  };
  const byDefault = nodes([]);
  const capped = nodes(['--fold-limit', '0']);
  assert.ok(capped > byDefault, `${capped} nodes under a 0-byte limit, ${byDefault} by default`);
  assert.equal(expectFailure(['--model', 'bert-tiny', '--fold-limit', '1M', '--out', join(dir, 'x.onnx')], dir,
    ['bert_0.onnx', 'bert_2.onnx'], 1), '--fold-limit applies with --optimize');
});
