// Optimizer scaling benchmark (run by hand; results in docs/benchmarks.md):
//
//   node bench/optimize_synthetic.mjs [BLOCKS ...]      (default 1500 4500 15000; 7 nodes per block)
//
// Writes a synthetic ONNX chain of BLOCKS blocks, each
//   MatMul(x, W_i) -> Add(b_i) -> Identity -> Transpose -> Transpose -> Relu -> Mul(s)
// on x [1, 8] (W_i, b_i distinct per block, s shared), so every block gives the passes work:
// MatMul+Add -> Gemm, identity removal, transpose cancelling, duplicate constants. Then times
// `htp-export optimize` on it ($HTP_EXPORT, default build/cli/htp-export) and prints nodes before and
// after, wall time, the optimizer's own time and the busiest passes. Linear means time per node stays flat.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = process.env.HTP_EXPORT ?? join(ROOT, 'build/cli/htp-export');
const WIDTH = 8;
const FLOAT = 1;

// Protobuf wire format: just what a ModelProto needs.
function varint(value) {
  const bytes = [];
  for (; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}
const key = (field, wire) => varint(field * 8 + wire);
const int = (field, value) => Buffer.concat([key(field, 0), varint(value)]);
const bytes = (field, payload) => Buffer.concat([key(field, 2), varint(payload.length), payload]);
const str = (field, text) => bytes(field, Buffer.from(text));
const msg = (field, parts) => bytes(field, Buffer.concat(parts));

const tensor = (name, dims, values) => msg(5, [
  ...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, Buffer.from(new Float32Array(values).buffer)),
]);
const valueInfo = (field, name, dims) => msg(field, [
  str(1, name), msg(2, [msg(1, [int(1, FLOAT), msg(2, dims.map((d) => msg(1, [int(1, d)])))])]),
]);
const node = (op, inputs, outputs, name, attributes = []) => msg(1, [
  ...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, name), str(4, op), ...attributes,
]);
// AttributeProto ints (type INTS = 7).
const intsAttribute = (name, values) => msg(5, [str(1, name), int(20, 7), ...values.map((v) => int(8, v))]);

function syntheticModel(blocks) {
  let seed = 1;
  const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
  const parts = [str(2, 'synthetic'), valueInfo(11, 'x', [1, WIDTH]), tensor('s', [1], [0.9])];
  let x = 'x';
  for (let i = 0; i < blocks; ++i) {
    const p = `b${i}`;
    parts.push(tensor(`${p}.W`, [WIDTH, WIDTH], Array.from({ length: WIDTH * WIDTH }, random)));
    parts.push(tensor(`${p}.b`, [WIDTH], Array.from({ length: WIDTH }, random)));
    parts.push(node('MatMul', [x, `${p}.W`], [`${p}.mm`], `/${p}/MatMul`));
    parts.push(node('Add', [`${p}.mm`, `${p}.b`], [`${p}.add`], `/${p}/Add`));
    parts.push(node('Identity', [`${p}.add`], [`${p}.id`], `/${p}/Identity`));
    parts.push(node('Transpose', [`${p}.id`], [`${p}.t1`], `/${p}/Transpose`, [intsAttribute('perm', [1, 0])]));
    parts.push(node('Transpose', [`${p}.t1`], [`${p}.t2`], `/${p}/Transpose_1`, [intsAttribute('perm', [1, 0])]));
    parts.push(node('Relu', [`${p}.t2`], [`${p}.relu`], `/${p}/Relu`));
    x = i + 1 === blocks ? 'y' : `${p}.out`;
    parts.push(node('Mul', [`${p}.relu`, 's'], [x], `/${p}/Mul`));
  }
  parts.push(valueInfo(12, 'y', [1, WIDTH]));
  return Buffer.concat([int(1, 8), msg(8, [int(2, 17)]), msg(7, parts)]);
}

const dir = mkdtempSync(join(tmpdir(), 'htp_bench_optimize_'));
try {
  console.log('| blocks | nodes before | nodes after | wall s | optimizer s | of which passes s | µs per node | rounds | busiest passes (s) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const blocks of (process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1500, 4500, 15000])) {
    const input = join(dir, `in_${blocks}.onnx`);
    const report = join(dir, `report_${blocks}.json`);
    writeFileSync(input, syntheticModel(blocks));
    const start = process.hrtime.bigint();
    execFileSync(CLI, ['optimize', input, '--out', join(dir, `out_${blocks}.onnx`), '--report', report, '-q']);
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const r = JSON.parse(readFileSync(report, 'utf8'));
    const busiest = [...r.passes].sort((a, b) => b.seconds - a.seconds).slice(0, 3)
      .map((p) => `${p.name} ${p.seconds.toFixed(2)}`).join(', ');
    const passes = r.passes.reduce((sum, p) => sum + p.seconds, 0);
    console.log(`| ${blocks} | ${r.nodes_before} | ${r.nodes_after} | ${wall.toFixed(2)} | ${r.seconds.toFixed(2)} | ${passes.toFixed(2)} | `
      + `${((1e6 * r.seconds) / r.nodes_before).toFixed(1)} | ${r.rounds} | ${busiest} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
