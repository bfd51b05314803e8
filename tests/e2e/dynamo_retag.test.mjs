// End to end, `htp-export tag` on files in the format of torch.onnx's dynamo exporter (per-node
// pkg.torch.onnx.name_scopes / class_hierarchy, node names without scopes), made from our own exports
// of resnet50, bert-base and gpt2 (lib/dynamo_format.mjs). `tag` must recover every node's htp.scope
// and htp.source as our export has them, add only htp.* keys, and leave ORT's outputs unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import {
  WORK_DIR, caseDir, compareWithReference, expectFailure, exportOrThrow, npyPaths, numericProblems, readModel, runCli,
} from './lib/checks.mjs';
import { asDynamoFile } from './lib/dynamo_format.mjs';
import { readNpy } from './lib/npy.mjs';
import { withEditedNodes, withNameAndMetadata, withoutMetadata } from './lib/onnx_edit.mjs';

const root = join(WORK_DIR, 'dynamo_retag');

async function ortOutputs(path, ioDir) {
  const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
  const feeds = {};
  npyPaths(ioDir).forEach((file, i) => {
    const input = readNpy(file);
    feeds[session.inputNames[i]] = new ort.Tensor(input.dtype, input.data, input.shape);
  });
  const results = await session.run(feeds);
  return session.outputNames.map((name) => Buffer.from(results[name].data.buffer, results[name].data.byteOffset, results[name].data.byteLength));
}

for (const model of ['resnet50', 'bert-base', 'gpt2']) {
  test(`${model} in the dynamo format: tag recovers every scope and source`, async (t) => {
    const dir = caseDir(root, model);
    const exported = join(dir, 'exported.onnx');
    const ioDir = join(dir, 'io');
    exportOrThrow(['-q', '--model', model, '--out', exported, '--save-io', ioDir]);
    const dynamo = join(dir, 'dynamo.onnx');
    writeFileSync(dynamo, asDynamoFile(readFileSync(exported)));
    const tagged = join(dir, 'tagged.onnx');
    const result = runCli(['tag', dynamo, '--out', tagged]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, / 0 empty tags /);

    const ours = readModel(exported).nodes;
    const retagged = readModel(tagged).nodes;
    await t.test('every node has the scope and source of our export', () => {
      assert.equal(retagged.length, ours.length);
      const differing = ours.map((node, i) => [node, retagged[i]])
        .filter(([a, b]) => a.metadata['htp.scope'] !== b.metadata['htp.scope'] || a.metadata['htp.source'] !== b.metadata['htp.source'])
        .map(([a, b]) => `${b.name} (${a.opType}): ${b.metadata['htp.source']} '${b.metadata['htp.scope']}', ours ${a.metadata['htp.source']} '${a.metadata['htp.scope']}'`);
      assert.deepEqual(differing.slice(0, 10), [], `${differing.length} of ${ours.length} nodes differ`);
    });

    await t.test('only htp.* keys are added; the rest is byte for byte the input', () => {
      const untagged = retagged.filter((node) => !['htp.scope', 'htp.tag', 'htp.source'].every((key) => key in node.metadata));
      assert.deepEqual(untagged.map((node) => node.name).slice(0, 10), []);
      const stripped = withoutMetadata(readFileSync(tagged), (key) => key.startsWith('htp.'));
      assert.ok(stripped.equals(readFileSync(dynamo)), 'the tagged file without its htp.* keys differs from the input');
    });

    await t.test('ONNX Runtime gives identical outputs, and LibTorch\'s', async () => {
      const [before, after] = [await ortOutputs(dynamo, ioDir), await ortOutputs(tagged, ioDir)];
      assert.equal(after.length, before.length);
      after.forEach((output, i) => assert.ok(output.equals(before[i]), `output ${i} differs`));
      assert.deepEqual(numericProblems(await compareWithReference(tagged, ioDir)), []);
    });
    rmSync(dir, { recursive: true, force: true });
  });
}

// The file with its first node's dynamo keys set to `nameScopes` and `classHierarchy`, and its other nodes bare.
function fileWithNameScopes(source, nameScopes, classHierarchy) {
  return withEditedNodes(withoutMetadata(source), (node, index) => withNameAndMetadata(node, `node_${index}`,
    index === 0 ? [['pkg.torch.onnx.name_scopes', nameScopes], ['pkg.torch.onnx.class_hierarchy', classHierarchy]] : []));
}

// The rows of docs/errors.md's module-key table.
test('malformed dynamo keys: one line naming the node, no file written', () => {
  const dir = caseDir(root, 'malformed_source');
  const source = join(dir, 'model.onnx');
  exportOrThrow(['-q', '--model', 'resnet18', '--out', source]);
  const bytes = readFileSync(source);
  const scopesKey = 'pkg.torch.onnx.name_scopes';
  const cases = {
    not_a_list: ['layer1', "['Net', 'add']", `${scopesKey} is not a Python list of strings: not a list: it does not start with '['`],
    unbalanced: ["['', 'add_1]", "['Net', 'add']", `${scopesKey} is not a Python list of strings: unbalanced quotes: the string at byte 5 never ends`],
    lengths: ["['', 'conv1', 'add_1']", "['Net', 'add']", `pkg.torch.onnx.class_hierarchy has 2 entries but ${scopesKey} has 3`],
    empty_part: ["['', 'layer1..0', 'add_1']", "['Net', 'Block', 'add']", `${scopesKey} names 'layer1..0', which is not a dotted module path`],
  };
  for (const [name, [scopes, classes, why]] of Object.entries(cases)) {
    const caseRoot = caseDir(root, name, { 'model.onnx': fileWithNameScopes(bytes, scopes, classes) });
    const input = join(caseRoot, 'model.onnx');
    const message = expectFailure(['tag', input, '--out', join(caseRoot, 'tagged.onnx')], caseRoot, ['model.onnx']);
    assert.equal(message, `'${input}': node 'node_0': ${why}`, name);
  }
});
