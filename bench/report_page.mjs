// Load time of the HTML report page in headless Chromium (run by hand):
//
//   node bench/report_page.mjs REPORT.html [--runs N]        a page written by `htp-export report --html`
//   node bench/report_page.mjs --synthetic NODES [--runs N]  the template filled with a synthetic model
//
// The synthetic model has NODES/7 Block modules under the root, each with 5 nodes of its own and a
// child Linear with 2 (bench/synthetic_model.mjs's layout), costs, fused partitions and a profile.
// Each run starts a fresh browser; prints per run and the median: navigation start to the page's
// ready mark, the page's own render time (script start to ready, layout included) and the first
// contentful paint. Target: under 2 s at 100,000 nodes.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTimeMs, openPage, reportHtml } from '../tests/e2e/lib/browser.mjs';

function syntheticReport(nodes) {
  const blocks = Math.max(1, Math.round(nodes / 7));
  let seed = 1;
  const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  const modules = [{
    scope: '', class: 'Net', parent: -1, depth: 0, children: [], nodes: 0, subtree_nodes: 7 * blocks, ops: {},
    params: 0, param_bytes: 0, subtree_params: 72 * blocks, flops: 0, subtree_flops: 0, bytes_moved: 0,
    sources: { direct: 0, inherited: 0, fallback: 0 }, partitions: [], exclusive_us: 0, inclusive_us: 0, share: 0,
  }];
  const root = modules[0];
  let total = 0;
  for (let k = 0; k < blocks; k++) {
    const linearUs = 2 + 3 * random();
    const blockUs = 1 + 2 * random();
    const block = {
      scope: `block.${k}`, class: 'Block', parent: 0, depth: 1, children: [modules.length + 1], nodes: 5, subtree_nodes: 7,
      ops: { Identity: 1, Transpose: 2, Relu: 1, Mul: 1 }, params: 0, param_bytes: 0, subtree_params: 72,
      flops: 24, subtree_flops: 168, bytes_moved: 320, sources: { direct: 5, inherited: 0, fallback: 0 },
      partitions: [{ pattern: 'Transpose_Transpose_Relu_Mul', ops: 4, flops: 16, intensity: 0.25, bottleneck: 'bandwidth-bound' }],
      exclusive_us: blockUs, inclusive_us: blockUs + linearUs, share: 0,
    };
    const linear = {
      scope: `block.${k}.linear`, class: 'Linear', parent: modules.length, depth: 2, children: [], nodes: 2, subtree_nodes: 2,
      ops: { MatMul: 1, Add: 1 }, params: 72, param_bytes: 288, subtree_params: 72, flops: 144, subtree_flops: 144,
      bytes_moved: 416, sources: { direct: 1, inherited: 1, fallback: 0 },
      partitions: [{ pattern: 'MatMul_Add', ops: 2, flops: 144, intensity: 0.35, bottleneck: 'bandwidth-bound' }],
      exclusive_us: linearUs, inclusive_us: linearUs, share: 0,
    };
    root.children.push(modules.length);
    modules.push(block, linear);
    total += block.inclusive_us;
  }
  root.subtree_flops = 168 * blocks;
  root.inclusive_us = total;
  for (const m of modules) m.share = m.inclusive_us / total;
  const opUs = total / 7;
  const op = (opType, count, flops) => ({ op_type: opType, nodes: count * blocks, flops: flops * blocks, exclusive_us: count * opUs, share: count / 7 });
  return {
    file: `synthetic_${7 * blocks}.onnx`, tagged: true, nodes: 7 * blocks, flops: 168 * blocks,
    params: 72 * blocks, param_bytes: 288 * blocks,
    profile: { source: 'ort', runs: 10, total_us: total, unmatched_us: 0 },
    op_types: [op('Transpose', 2, 0), op('MatMul', 1, 128), op('Add', 1, 16), op('Identity', 1, 0), op('Relu', 1, 8), op('Mul', 1, 16)],
    modules,
  };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, synthetic: { type: 'string' } },
});
const runs = Number(values.runs);
if (!(runs >= 1) || (values.synthetic === undefined) === (positionals.length !== 1)) {
  console.error('usage: node bench/report_page.mjs (REPORT.html | --synthetic NODES) [--runs N]');
  process.exit(2);
}

const dir = values.synthetic === undefined ? null : mkdtempSync(join(tmpdir(), 'htp_bench_report_'));
try {
  let page = positionals[0];
  if (dir) {
    const data = syntheticReport(Number(values.synthetic));
    page = join(dir, 'report.html');
    writeFileSync(page, reportHtml(data));
    console.log(`synthetic: ${data.nodes} nodes, ${data.modules.length} modules`);
  }
  console.log(`${page}: ${statSync(page).size} bytes`);
  console.log('| run | navigation to ready ms | render ms | first paint ms |');
  console.log('| ---: | ---: | ---: | ---: |');
  const times = [];
  for (let run = 1; run <= runs; run++) {
    const view = await openPage(page, { intercept: false });
    try {
      const t = await loadTimeMs(view.page);
      times.push(t);
      console.log(`| ${run} | ${t.navigationToReadyMs.toFixed(0)} | ${t.renderMs.toFixed(0)} | ${t.firstPaintMs?.toFixed(0) ?? '–'} |`);
    } finally {
      await view.close();
    }
  }
  const median = (key) => {
    const sorted = times.map((t) => t[key]).filter((v) => v !== null).sort((a, b) => a - b);
    return sorted.length === 0 ? '–' : sorted[Math.floor(sorted.length / 2)].toFixed(0);
  };
  console.log(`| median | ${median('navigationToReadyMs')} | ${median('renderMs')} | ${median('firstPaintMs')} |`);
} finally {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
