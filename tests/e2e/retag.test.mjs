// End to end, `htp-export tag`: files exported elsewhere (torch.onnx.export of torchvision's
// resnet50 and of a small BERT-like transformer, made by gen_torch_onnx.py into HTP_WORK_DIR/retag
// once, regenerated when older than the script) are tagged with and without --modules. The tagged
// file must differ from its input only in node metadata, ir_version and the model's metadata_props,
// tag every node with a module of its htp.modules, read scopes from the node names, place
// inherited nodes by dataflow, and run in ONNX Runtime with the untagged file's outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import {
  WORK_DIR, caseDir, expectFailure, isAncestorOrSelf, npyPaths, readModel, runCli, tagProblems,
} from './lib/checks.mjs';
import { readNpy } from './lib/npy.mjs';
import { generateTorchOnnx } from './lib/torch_onnx.mjs';

const OUT = join(WORK_DIR, 'retag');
const ERRORS = join(WORK_DIR, 'retag_errors');

// Per model: node names and the scope they must get (with --modules where it differs), and the
// module paths that only --modules can find (ModuleDict entries are written by their key alone).
const EXPECTED = {
  resnet50: {
    scopes: {
      '/layer1/layer1.0/conv1/Conv': 'layer1.0.conv1',
      '/layer4/layer4.2/relu_2/Relu': 'layer4.2.relu',
      '/layer2/layer2.0/downsample/downsample.0/Conv': 'layer2.0.downsample.0',
      '/fc/Gemm': 'fc',
    },
    tags: { '/layer1/layer1.0/conv1/Conv': '/ResNet/Sequential[layer1]/Bottleneck.0/Conv2d[conv1]' },
    onlyWithModules: [],
  },
  transformer: {
    scopes: {
      '/layers.1/attention/self/query/MatMul': 'layers.1.attention.self.query',
      '/layers.2/ffn/ffn.2/ffn.2.0/MatMul': 'layers.2.ffn.2.0',
      '/act_1/Mul': 'act',
      '/cls/Gemm': { withModules: 'heads.cls', without: 'cls' },
    },
    tags: { '/layers.1/attention/self/query/MatMul': '/Transformer/Layer[layers.1]/Attention/SelfAttention/Linear[query]' },
    onlyWithModules: ['heads.cls', 'heads.tokens'],
  },
};

// A torch.onnx.export name's module path components: `/a/a.0/Conv` → [a, a.0]; none for `Identity_0`.
const pathComponents = (name) => (name.startsWith('/') ? name.split('/').slice(1, -1) : []);

function tag(name, withModules, out) {
  const args = ['tag', join(OUT, `${name}.onnx`), '--out', out];
  if (withModules) args.push('--modules', join(OUT, `${name}.modules.json`));
  return runCli(args);
}

function countSources(model) {
  const counts = { direct: 0, inherited: 0, fallback: 0 };
  for (const node of model.nodes) counts[node.metadata['htp.source']] += 1;
  return counts;
}

async function runSession(path, inputs) {
  const session = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'disabled' });
  const feeds = {};
  session.inputNames.forEach((input, i) => { feeds[input] = new ort.Tensor(inputs[i].dtype, inputs[i].data, inputs[i].shape); });
  return session.run(feeds);
}

const bytesOf = (tensor) => Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);

function checkTaggedFile(t, name, withModules) {
  const expected = EXPECTED[name];
  const input = join(OUT, `${name}.onnx`);
  const out = join(OUT, `${name}${withModules ? '.modules' : ''}.tagged.onnx`);
  rmSync(out, { force: true });
  const result = tag(name, withModules, out);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, '', 'a fresh torch.onnx.export file needs no warning');
  const original = readModel(input);
  const tagged = readModel(out);
  const classes = JSON.parse(readFileSync(join(OUT, `${name}.modules.json`), 'utf8'));
  const modules = JSON.parse(tagged.metadata['htp.modules']);
  const scopeOf = new Map(tagged.nodes.map((node) => [node.name, node.metadata['htp.scope']]));
  const counts = countSources(tagged);
  const rate = counts.inherited / (counts.inherited + counts.fallback);
  console.log(`${name}${withModules ? ' --modules' : ''}: ${JSON.stringify(counts)}, inheritance rate ${(100 * rate).toFixed(1)}%`);

  return [
    t.test('summary line reports the file\'s counts', () => {
      assert.match(result.stdout, new RegExp(`^\\S+ -> \\S+: ${tagged.nodes.length} nodes, 0 empty tags \\(direct ${counts.direct}, `
        + `inherited ${counts.inherited}, fallback ${counts.fallback}, inheritance rate [\\d.]+%\\)\\n$`));
    }),
    t.test('only node metadata, ir_version and the model\'s metadata_props change', () => {
      assert.ok(original.nodes.every((node) => Object.keys(node.metadata).length === 0), 'input carries node metadata');
      assert.equal(tagged.nodes.length, original.nodes.length);
      const changed = original.nodes.filter((node, i) => !node.bytesWithoutMetadata.equals(tagged.nodes[i].bytesWithoutMetadata));
      assert.deepEqual(changed.map((node) => node.name).slice(0, 10), [], `${changed.length} nodes changed`);
      assert.deepEqual(tagged.initializers, original.initializers);
      const changedTensors = original.initializers.filter((init) => !original.initializerTensors.get(init).bytes.equals(tagged.initializerTensors.get(init).bytes));
      assert.deepEqual(changedTensors.slice(0, 10), [], `${changedTensors.length} initializers changed`);
      assert.deepEqual([tagged.inputs, tagged.outputs, tagged.opsets], [original.inputs, original.outputs, original.opsets]);
      assert.equal(tagged.irVersion, 10);
      assert.deepEqual(Object.keys(tagged.metadata).sort(), [...Object.keys(original.metadata), 'htp.modules', 'htp.version'].sort());
    }),
    t.test('every node is tagged with a module of htp.modules', () => {
      const problems = tagProblems(tagged, new Set(Object.keys(modules)));
      assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
      if (withModules) {
        assert.deepEqual(Object.fromEntries(Object.entries(modules).map(([scope, info]) => [scope, info.class])), classes);
      } else {
        const unknown = Object.keys(modules).filter((scope) => !(scope in classes));
        assert.deepEqual(unknown.sort(), expected.onlyWithModules.map((scope) => scope.split('.').pop()).sort());
        assert.deepEqual([...new Set(Object.values(modules).map((info) => info.class))].sort().filter((c) => c !== 'ModuleList'), ['Module']);
      }
    }),
    t.test('scopes come from the node names', () => {
      for (const [nodeName, want] of Object.entries(expected.scopes)) {
        const scope = typeof want === 'string' ? want : want[withModules ? 'withModules' : 'without'];
        assert.equal(scopeOf.get(nodeName), scope, nodeName);
      }
      if (withModules) {
        for (const [nodeName, want] of Object.entries(expected.tags)) {
          assert.equal(tagged.nodes.find((node) => node.name === nodeName).metadata['htp.tag'], want, nodeName);
        }
      }
      // A direct node's name spells its module's last name; a node without a module path in its
      // name was never direct but placed (or not) by the inheritance engine, or root compute.
      const misplaced = tagged.nodes.filter((node) => {
        const scope = node.metadata['htp.scope'];
        const components = pathComponents(node.name);
        if (node.metadata['htp.source'] !== 'direct') return components.length > 0;
        if (scope === '') return components.length > 0;
        const last = scope.split('.').filter((atom) => !/^\d+$/.test(atom)).pop();
        return !components.some((c) => c.replace(/_\d+$/, '').split('.').includes(last));
      });
      assert.deepEqual(misplaced.slice(0, 10).map((n) => `${n.name}: ${n.metadata['htp.scope']}`), []);
    }),
    t.test('inherited nodes take a consumer\'s ancestor or a producer\'s scope', () => {
      assert.ok(counts.inherited > 0, 'no inherited node: the check would be vacuous');
      const producer = new Map();
      const consumers = new Map();
      for (const node of tagged.nodes) {
        for (const output of node.outputs) producer.set(output, node);
        for (const input of node.inputs) consumers.set(input, [...(consumers.get(input) ?? []), node]);
      }
      const wrong = tagged.nodes.filter((node) => node.metadata['htp.source'] === 'inherited').filter((node) => {
        const scope = node.metadata['htp.scope'];
        const belowConsumer = node.outputs.some((o) => (consumers.get(o) ?? []).some((c) => isAncestorOrSelf(scope, c.metadata['htp.scope'])));
        const likeProducer = node.inputs.some((i) => producer.get(i)?.metadata['htp.scope'] === scope);
        return scope === '' || !(belowConsumer || likeProducer);
      });
      assert.deepEqual(wrong.map((node) => `${node.name}: ${node.metadata['htp.scope']}`), []);
      const fallbackScopes = tagged.nodes.filter((node) => node.metadata['htp.source'] === 'fallback').map((node) => node.metadata['htp.scope']);
      assert.ok(fallbackScopes.every((scope) => scope === ''), 'fallback nodes keep the root scope');
    }),
    t.test('ONNX Runtime gives the untagged file\'s outputs', async () => {
      const inputs = npyPaths(join(OUT, name)).map(readNpy);
      const [want, got] = [await runSession(input, inputs), await runSession(out, inputs)];
      assert.deepEqual(Object.keys(got), Object.keys(want));
      for (const output of Object.keys(want)) {
        assert.deepEqual(got[output].dims, want[output].dims, output);
        assert.ok(bytesOf(got[output]).equals(bytesOf(want[output])), `${output} differs`);
      }
    }),
  ];
}

const generationError = generateTorchOnnx(OUT);
if (generationError) {
  test('torch.onnx.export fixtures are generated', () => { throw new Error(generationError); });
} else {
  for (const name of Object.keys(EXPECTED)) {
    for (const withModules of [false, true]) {
      test(`${name}${withModules ? ' --modules' : ''}`, (t) => Promise.all(checkTaggedFile(t, name, withModules)));
    }
  }

  test('re-tagging a tagged file warns and gives the same tags', () => {
    const first = join(OUT, 'transformer.modules.tagged.onnx');
    if (!existsSync(first)) assert.equal(tag('transformer', true, first).status, 0);
    const again = join(OUT, 'transformer.retagged.onnx');
    const result = runCli(['tag', first, '--out', again, '--modules', join(OUT, 'transformer.modules.json')]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /already tagged/);
    assert.deepEqual(readModel(again).nodes.map((node) => node.metadata), readModel(first).nodes.map((node) => node.metadata));
  });

  test('--modules of another model: names the file and a node it does not cover', () => {
    rmSync(join(ERRORS, 'other_modules'), { recursive: true, force: true });
    const dir = caseDir(ERRORS, 'other_modules');
    const modules = join(OUT, 'resnet50.modules.json');
    const message = expectFailure(['tag', join(OUT, 'transformer.onnx'), '--out', join(dir, 't.onnx'), '--modules', modules], dir);
    assert.ok(message.startsWith(`--modules ${modules}: node '/`), message);
  });
}

test('a file that is not ONNX: one error line, no output', () => {
  rmSync(join(ERRORS, 'not_onnx'), { recursive: true, force: true });
  const dir = caseDir(ERRORS, 'not_onnx', { 'model.onnx': 'this is not a model\n' });
  const message = expectFailure(['tag', join(dir, 'model.onnx'), '--out', join(dir, 't.onnx')], dir, ['model.onnx']);
  assert.ok(message.includes(join(dir, 'model.onnx')), message);
});

test('a --modules file that is not a module list: one error line, no output', () => {
  rmSync(join(ERRORS, 'bad_modules'), { recursive: true, force: true });
  const dir = caseDir(ERRORS, 'bad_modules', { 'model.onnx': 'unused', 'm.json': '["conv1", "Conv2d"]' });
  const message = expectFailure(['tag', join(dir, 'model.onnx'), '--out', join(dir, 't.onnx'), '--modules', join(dir, 'm.json')],
    dir, ['model.onnx', 'm.json']);
  assert.ok(message.startsWith(`--modules ${join(dir, 'm.json')}: `), message);
});
