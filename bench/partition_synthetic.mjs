// Partitioner scaling benchmark (run by hand; results in docs/benchmarks.md):
//
//   node bench/partition_synthetic.mjs [BLOCKS ...]      (default 1500 15000 45000; 7 nodes per block)
//
// Writes synthetic_model.mjs's chain, tagged (one Block module per block), and runs
// `htp-export partition FILE -v` on it ($HTP_EXPORT, default build/cli/htp-export); prints the time of
// the costs (shape inference included) and of the partition that `-v` logs. Linear means the time
// per node stays flat.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticModel } from './synthetic_model.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = process.env.HTP_EXPORT ?? join(ROOT, 'build/cli/htp-export');

const dir = mkdtempSync(join(tmpdir(), 'htp_bench_partition_'));
try {
  console.log('| blocks | nodes | subgraphs | costs s | partition s | partition µs per node |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const blocks of (process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1500, 15000, 45000])) {
    const input = join(dir, `in_${blocks}.onnx`);
    writeFileSync(input, syntheticModel(blocks, { tagged: true }));
    const run = spawnSync(CLI, ['partition', input, '--format', 'json', '-v'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (run.status !== 0) throw new Error(run.stderr);
    const report = JSON.parse(run.stdout);
    const [, nodes, costs, partition] = run.stderr.match(/(\d+) nodes: costs in ([\d.]+) s, partition in ([\d.]+) s/);
    console.log(`| ${blocks} | ${nodes} | ${report.subgraphs} | ${Number(costs).toFixed(3)} | ${Number(partition).toFixed(3)} | `
      + `${((1e6 * partition) / nodes).toFixed(2)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
