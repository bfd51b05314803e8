// End to end, ONNX external data: `--external-data` (automatic above protobuf's 2 GB limit) writes
// the weights to OUT.data; ONNX Runtime loads the pair and reproduces LibTorch, the tags and
// initializer names are unchanged, and a failed export leaves neither file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  WORK_DIR, exportOrThrow, compareWithReference, numericProblems, readModel, tagProblems, caseDir, expectFailure,
} from './lib/checks.mjs';

const root = join(WORK_DIR, 'external_data');

test('resnet18 with --external-data: weights in OUT.data, same numerics and tags', async () => {
  const dir = caseDir(root, 'resnet18');
  const out = join(dir, 'r18.onnx');
  exportOrThrow(['--model', 'resnet18', '--external-data', '--out', out, '--save-io', join(dir, 'io'), '-q']);
  assert.ok(statSync(`${out}.data`).size > 40e6, 'the weights (46.8 MB) are in the data file');
  assert.ok(statSync(out).size < 1e6, 'the model file holds the graph only');
  assert.deepEqual(numericProblems(await compareWithReference(out, join(dir, 'io'))), []);
  const model = readModel(out);
  const modules = JSON.parse(model.metadata['htp.modules']);
  assert.deepEqual(tagProblems(model, new Map(Object.entries(modules).map(([s, info]) => [s, info.class]))), []);
  assert.ok(model.initializers.includes('layer1.0.conv1.weight'));
  const external = [...model.initializerTensors.values()].filter((t) => !t.rawData);
  assert.ok(external.length > 40, `${external.length} tensors without inline bytes`);
});

test('a failed export with --external-data leaves no file', () => {
  const dir = caseDir(root, 'failure');
  const message = expectFailure(['--model', 'resnet18', '--external-data', '--out', join(dir, 'r18.onnx'),
    '--save-io', '/proc/htp_cannot_write_here'], dir);
  assert.match(message, /htp_cannot_write_here/);
  assert.deepEqual(readdirSync(dir), []);
  assert.ok(!existsSync(join(dir, 'r18.onnx.data')));
});
