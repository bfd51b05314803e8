// Optimizer scaling benchmark (run by hand; results in docs/benchmarks.md):
//
//   [RUNS=N] node bench/optimize_synthetic.mjs [BLOCKS ...]   (default 1500 4500 15000; 7 nodes per block)
//
// Writes synthetic_model.mjs's chain of BLOCKS blocks, where every block gives the passes work:
// MatMul+Add -> Gemm, identity removal, transpose cancelling, duplicate constants. Then times
// `htp-export optimize` on it ($HTP_EXPORT, default build/cli/htp-export) and prints nodes before and
// after, wall time, the optimizer's own time and the busiest passes. Linear means time per node stays flat.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticModel } from './synthetic_model.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = process.env.HTP_EXPORT ?? join(ROOT, 'build/cli/htp-export');
const RUNS = Number(process.env.RUNS ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'htp_bench_optimize_'));
try {
  console.log('| blocks | nodes before | nodes after | wall s | optimizer s | of which passes s | µs per node | rounds | busiest passes (s) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const blocks of (process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1500, 4500, 15000])) {
    const input = join(dir, `in_${blocks}.onnx`);
    const report = join(dir, `report_${blocks}.json`);
    writeFileSync(input, syntheticModel(blocks));
    // Best of RUNS by the optimizer's own time: small graphs take a tenth of a second, within noise.
    let wall;
    let r;
    for (let run = 0; run < RUNS; ++run) {
      const start = process.hrtime.bigint();
      execFileSync(CLI, ['optimize', input, '--out', join(dir, `out_${blocks}.onnx`), '--report', report, '-q']);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const result = JSON.parse(readFileSync(report, 'utf8'));
      if (r === undefined || result.seconds < r.seconds) [wall, r] = [seconds, result];
    }
    const busiest = [...r.passes].sort((a, b) => b.seconds - a.seconds).slice(0, 3)
      .map((p) => `${p.name} ${p.seconds.toFixed(2)}`).join(', ');
    const passes = r.passes.reduce((sum, p) => sum + p.seconds, 0);
    console.log(`| ${blocks} | ${r.nodes_before} | ${r.nodes_after} | ${wall.toFixed(2)} | ${r.seconds.toFixed(2)} | ${passes.toFixed(2)} | `
      + `${((1e6 * r.seconds) / r.nodes_before).toFixed(1)} | ${r.rounds} | ${busiest} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
