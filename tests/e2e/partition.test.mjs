// End to end, `htp-export partition`: every SqueezeExcitation module of EfficientNet B0 and B7 is one
// 6-op subgraph, the subgraphs cover the graph once, fusion units move the boundaries, and a
// transformer's attention blocks are found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { WORK_DIR, runCli, exportOrThrow, readModel, isAncestorOrSelf, caseDir, expectFailure } from './lib/checks.mjs';

const dir = join(WORK_DIR, 'partition');
mkdirSync(dir, { recursive: true });
const SE_PATTERN = 'GlobalAveragePool_Conv_SiLU_Conv_Sigmoid_Mul';

function partitionOrThrow(args) {
  const result = runCli(['partition', ...args, '--format', 'json', '-q']);
  if (result.status !== 0) throw new Error(`htp-export partition exited with ${result.status}: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout);
}

function seSubgraphs(report) {
  const found = report.subgraph_list.filter((s) => s.se_block);
  for (const subgraph of found) {
    assert.equal(subgraph.ops, 6, subgraph.unit);
    assert.equal(subgraph.pattern, SE_PATTERN, subgraph.unit);
  }
  assert.equal(new Set(found.map((s) => s.unit)).size, found.length, 'two SE subgraphs share a unit');
  return found;
}

const b0Path = join(dir, 'efficientnet_b0.onnx');
exportOrThrow(['--model', 'efficientnet_b0', '--out', b0Path, '-q']);
const b0 = readModel(b0Path);

test('efficientnet_b0: each SqueezeExcitation module is exactly one 6-op SE subgraph', () => {
  const report = partitionOrThrow([b0Path]);
  const modules = JSON.parse(b0.metadata['htp.modules']);
  const seModules = Object.keys(modules).filter((scope) => modules[scope].class === 'SqueezeExcitation');
  assert.equal(seModules.length, 16);
  const found = seSubgraphs(report);
  assert.deepEqual(found.map((s) => s.unit).sort(), [...seModules].sort());
  assert.equal(report.se_blocks, 16);
  for (const subgraph of found) {
    const inModule = b0.nodes.filter((n) => isAncestorOrSelf(subgraph.unit, n.metadata['htp.scope'])).map((n) => n.name);
    assert.deepEqual([...subgraph.nodes].sort(), inModule.sort(), subgraph.unit);
  }
  // Every node but Constants in exactly one subgraph; logical ops count a SiLU's two nodes once.
  const partitioned = report.subgraph_list.flatMap((s) => s.nodes);
  assert.equal(new Set(partitioned).size, partitioned.length);
  assert.deepEqual(partitioned.sort(), b0.nodes.filter((n) => n.opType !== 'Constant').map((n) => n.name).sort());
  assert.equal(report.subgraph_list.reduce((sum, s) => sum + s.ops, 0), report.ops);
  assert.ok(report.costs_known);
  assert.ok(report.memory_reduction > 0 && report.memory_reduction < 1);
});

test('efficientnet_b0: coarser fusion units merge subgraphs and break the SE blocks apart', () => {
  const byDefault = partitionOrThrow([b0Path]);
  const root = partitionOrThrow([b0Path, '--unit', '0']);
  const mbconv = partitionOrThrow([b0Path, '--unit-classes', 'MBConv']);
  for (const report of [root, mbconv]) {
    assert.equal(report.ops, byDefault.ops);
    assert.ok(report.subgraphs < byDefault.subgraphs, `${report.unit}: ${report.subgraphs} subgraphs`);
    // The gate's Mul now fuses with the projection Conv that follows it.
    assert.equal(report.se_blocks, 0);
  }
  assert.ok(mbconv.subgraph_list.every((s) => s.unit === '' || /^features\.\d+\.\d+$/.test(s.unit)));
  const leaves = partitionOrThrow([b0Path, '--unit', '9']);
  assert.ok(leaves.subgraphs > byDefault.subgraphs);
});

test('efficientnet_b7 (--model): 55 SE blocks, each one 6-op subgraph', () => {
  const report = partitionOrThrow(['--model', 'efficientnet_b7', '--device', 'h100']);
  assert.equal(report.device, 'h100');
  assert.equal(seSubgraphs(report).length, 55);
  assert.equal(report.se_blocks, 55);
});

test('bert-base (--model): one attention subgraph per layer', () => {
  const report = partitionOrThrow(['--model', 'bert-base', '--dims', 'batch=1,sequence=128']);
  const attention = report.subgraph_list.filter((s) => s.attention);
  assert.equal(attention.length, 12);
  assert.equal(new Set(attention.map((s) => s.unit)).size, 12);
  for (const subgraph of attention) assert.match(subgraph.pattern, /MatMul_(Div_|Mul_)?(Add_)?Softmax_MatMul/);
  assert.ok(report.costs_known);
});

test('--family: one row per model and the spread of the ratios', () => {
  const family = partitionOrThrow(['--family', 'efficientnet_b0']);
  assert.deepEqual(family.models.map((m) => m.model), ['efficientnet_b0']);
  assert.deepEqual(family.spread.fusion_efficiency, { mean: family.models[0].fusion_efficiency, std: 0, cv: 0 });
});

test('partition refuses bad options with one line', () => {
  const cases = caseDir(dir, 'errors');
  assert.match(expectFailure(['partition', b0Path, '--device', 'abacus'], cases), /unknown device 'abacus'/);
  assert.match(expectFailure(['partition', b0Path, '--unit', '1', '--unit-classes', 'MBConv'], cases), /not both/);
  assert.match(expectFailure(['partition'], cases), /one of FILE, --model NAME or --family/);
  assert.match(expectFailure(['partition', '--family', 'nope'], cases), /no zoo model name starts with 'nope'/);
  assert.match(expectFailure(['partition', b0Path, '--dims', 'batch'], cases), /invalid --dims entry 'batch'/);
});
