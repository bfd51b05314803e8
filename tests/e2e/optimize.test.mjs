// End to end, the tag-preserving optimizer (docs/optimizer.md).
//  - Third-party files (gen_torch_onnx.py: torch.onnx.export of torchvision's resnet50 and
//    efficientnet_b0 with BatchNorm kept, mobilenet_v2 with default settings, vit_b_16, and a
//    GPT-style decoder with dynamic batch and length): `htp-export optimize` must leave no more
//    nodes than ONNX Runtime's basic offline optimization of the same file, invent no tags, and
//    still reproduce PyTorch in ONNX Runtime (optimizations off; the decoder at two sizes).
//  - Our own tagged exports with --optimize (resnet50, bert-base): fewer nodes than without, every
//    node still tagged, same numerics.
// Per model it prints the node counts and what each pass removed (the docs' attribution table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import {
  WORK_DIR, compareWithReference, exportOrThrow, isAncestorOrSelf, numericProblems, readModel, runCli, tagFieldProblems,
} from './lib/checks.mjs';
import { generateTorchOnnx } from './lib/torch_onnx.mjs';

const OUT = join(WORK_DIR, 'optimize');
const THIRD_PARTY = ['resnet50_preserve', 'efficientnet_b0_preserve', 'mobilenet_v2', 'vit_b_16', 'decoder'];

// Nodes left by ONNX Runtime's basic-level optimization, saved with optimizedModelFilePath.
async function ortBasicNodeCount(input, saved) {
  await ort.InferenceSession.create(input, { graphOptimizationLevel: 'basic', optimizedModelFilePath: saved });
  return readModel(saved).nodes.length;
}

function optimize(input, out, report) {
  const result = runCli(['optimize', input, '--out', out, '--report', report]);
  assert.equal(result.status, 0, result.stderr);
  return { stdout: result.stdout, report: JSON.parse(readFileSync(report, 'utf8')) };
}

function logAttribution(name, report) {
  const changed = report.passes.filter((p) => p.nodes_removed || p.nodes_added || p.initializers_removed || p.initializers_added);
  for (const p of changed) {
    console.log(`#   ${name} ${p.name}: nodes -${p.nodes_removed} +${p.nodes_added}, `
      + `initializers -${p.initializers_removed} +${p.initializers_added}, ${(1000 * p.seconds).toFixed(1)} ms`);
  }
}

const TAG_KEYS = ['htp.scope', 'htp.tag', 'htp.source', 'namespace'];

// Nodes of `optimized` whose tags are not those of the `plain` node they come from: a kept node (same
// name) has the same tags; a fused one (htp.fused_from) a scope over its principal's (the first entry).
function retaggedNodes(plain, optimized) {
  const before = new Map(plain.nodes.map((n) => [n.name, n.metadata]));
  const problems = [];
  for (const node of optimized.nodes) {
    const fused = node.metadata['htp.fused_from'];
    if (fused) {
      const principal = JSON.parse(fused)[0];
      if (!isAncestorOrSelf(node.metadata['htp.scope'], principal.scope)) {
        problems.push(`${node.name}: scope '${node.metadata['htp.scope']}' is not over its principal's '${principal.scope}'`);
      }
    } else if (!before.has(node.name)) {
      problems.push(`${node.name}: a new node without htp.fused_from`);
    } else if (TAG_KEYS.some((key) => before.get(node.name)[key] !== node.metadata[key])) {
      problems.push(`${node.name}: tags changed`);
    }
  }
  return problems;
}

async function expectSameNumerics(path, ioDirs) {
  for (const dir of ioDirs.filter(existsSync)) {
    const outputs = await compareWithReference(path, dir);
    assert.deepEqual(numericProblems(outputs), [], dir);
    for (const out of outputs) console.log(`#   ${dir} ${out.name}: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
  }
}

const generationError = generateTorchOnnx(OUT, THIRD_PARTY);
if (generationError) {
  test('torch.onnx.export fixtures are generated', () => { throw new Error(generationError); });
} else {
  for (const name of THIRD_PARTY) {
    test(`${name}: optimize`, async (t) => {
      const input = join(OUT, `${name}.onnx`);
      const out = join(OUT, `${name}.optimized.onnx`);
      const { stdout, report } = optimize(input, out, join(OUT, `${name}.report.json`));
      const original = readModel(input);
      const optimized = readModel(out);
      const ortBasic = await ortBasicNodeCount(input, join(OUT, `${name}.ort_basic.onnx`));
      console.log(`# ${name}: ${original.nodes.length} nodes -> ours ${optimized.nodes.length}, ONNX Runtime basic ${ortBasic}`);
      logAttribution(name, report);

      await t.test('the summary and the report count the files', () => {
        assert.equal(stdout, `${input} -> ${out}: ${original.nodes.length} -> ${optimized.nodes.length} nodes, `
          + `${original.initializers.length} -> ${optimized.initializers.length} initializers\n`);
        assert.equal(report.nodes_before, original.nodes.length);
        assert.equal(report.nodes_after, optimized.nodes.length);
        const removed = report.passes.reduce((sum, p) => sum + p.nodes_removed - p.nodes_added, 0);
        assert.equal(removed, original.nodes.length - optimized.nodes.length, 'per-pass attribution adds up');
      });
      await t.test(`no more nodes than ONNX Runtime's basic optimization (${ortBasic})`, () => {
        assert.ok(optimized.nodes.length <= ortBasic, `${optimized.nodes.length} nodes > ${ortBasic}`);
      });
      await t.test('ONNX Runtime reproduces PyTorch', () => expectSameNumerics(out, [join(OUT, name), join(OUT, name, 'second')]));
      await t.test('an untagged file gets no tags, only htp.fused_from on fused nodes', () => {
        const invented = optimized.nodes.filter((n) => Object.keys(n.metadata).some((key) => key !== 'htp.fused_from'));
        assert.deepEqual(invented.map((n) => n.name).slice(0, 10), [], `${invented.length} nodes with tags`);
        const interface_ = (m) => JSON.stringify([m.inputs, m.outputs]);
        assert.equal(interface_(optimized), interface_(original));
      });
    });
  }
}

for (const model of ['resnet50', 'bert-base']) {
  test(`${model}: export --optimize`, async (t) => {
    const dir = join(OUT, model);
    mkdirSync(dir, { recursive: true });
    const plainPath = join(dir, 'plain.onnx');
    const path = join(dir, 'optimized.onnx');
    exportOrThrow(['--model', model, '--out', plainPath, '-q']);
    const summary = exportOrThrow(['--model', model, '--optimize', '--out', path, '--save-io', join(dir, 'io'),
      '--report', join(dir, 'report.json'), '-q']);
    const plain = readModel(plainPath);
    const optimized = readModel(path);
    console.log(`# ${model}: ${plain.nodes.length} nodes -> ${optimized.nodes.length} with --optimize`);

    await t.test('fewer nodes than the plain export', () => assert.ok(optimized.nodes.length < plain.nodes.length));
    await t.test('every node keeps a real module tag: its own, or for a fused node one over its principal\'s', () => {
      const modules = JSON.parse(optimized.metadata['htp.modules']);
      const classOf = new Map(Object.entries(modules).map(([scope, info]) => [scope, info.class]));
      const problems = tagFieldProblems(optimized, classOf).concat(retaggedNodes(plain, optimized));
      assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
      assert.equal(report.empty_tags, 0);
      assert.equal(report.nodes, optimized.nodes.length);
      assert.match(summary, / 0 empty tags /);
    });
    await t.test('fused nodes list the nodes they replace', () => {
      const fused = optimized.nodes.filter((n) => n.metadata['htp.fused_from']);
      const names = new Set(plain.nodes.map((n) => n.name));
      for (const node of fused) {
        for (const entry of JSON.parse(node.metadata['htp.fused_from'])) {
          assert.ok(names.has(entry.name), `${node.name}: ${entry.name} is not a node of the plain export`);
          assert.equal(typeof entry.scope, 'string', `${node.name}: ${entry.name} has no scope`);
        }
      }
    });
    await t.test('ONNX Runtime reproduces LibTorch', () => expectSameNumerics(path, [join(dir, 'io')]));
  });
}
