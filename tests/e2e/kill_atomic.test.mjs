// A kill -9 at any moment of an export with external data, or of `optimize`, leaves under the final
// names either nothing or exactly what a finished run writes: every file is written under a temporary
// name and renamed (docs/errors.md). The runs are killed at fractions of a finished run's duration,
// more densely towards its end, where the files are written. The machine's load changes while the suite
// runs, so a run that ends before its kill shortens the duration the later moments are taken from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, WORK_DIR, caseDir, exportOrThrow } from './lib/checks.mjs';

const root = join(WORK_DIR, 'kill_atomic');
const FRACTIONS = [0.1, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 0.99, 1.0];

// Runs htp-export with `args(dir)` in a fresh folder and SIGKILLs it after `ms` (if it still runs).
function runKilledAfter(name, args, ms) {
  const dir = caseDir(root, name);
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(CLI, ['-q', ...args(dir)], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ dir, signal, elapsed: Date.now() - started }); });
  });
}

// Each final name holds nothing or the reference run's bytes; a model is never there without its data.
function checkLeftovers(dir, reference, names) {
  for (const name of names) {
    const path = join(dir, name);
    if (existsSync(path)) assert.ok(readFileSync(path).equals(readFileSync(join(reference, name))), `${path} differs from a finished run's`);
  }
  if (names.length > 1 && existsSync(join(dir, names[0]))) assert.ok(existsSync(join(dir, names[1])), `${names[0]} without ${names[1]}`);
}

async function killAtEveryMoment(name, args, names) {
  const reference = caseDir(root, `${name}_finished`);
  const started = Date.now();
  exportOrThrow(['-q', ...args(reference)]);
  let duration = Date.now() - started;
  let killed = 0;
  for (const fraction of FRACTIONS) {
    const { dir, signal, elapsed } = await runKilledAfter(`${name}_${fraction}`, args, Math.round(fraction * duration));
    if (signal === 'SIGKILL') killed += 1;
    else duration = Math.min(duration, elapsed);
    checkLeftovers(dir, reference, names);
  }
  assert.ok(killed >= FRACTIONS.length / 2, `only ${killed} runs were killed before they ended`);
}

test('export with --external-data, killed at 12 moments', async () => {
  await killAtEveryMoment('export', (dir) => ['--model', 'resnet18', '--external-data', '--out', join(dir, 'model.onnx')],
    ['model.onnx', 'model.onnx.data']);
});

test('optimize, killed at 12 moments', async () => {
  const source = caseDir(root, 'source');
  exportOrThrow(['-q', '--model', 'resnet18', '--out', join(source, 'model.onnx')]);
  await killAtEveryMoment('optimize', (dir) => ['optimize', join(source, 'model.onnx'), '--out', join(dir, 'optimized.onnx')],
    ['optimized.onnx']);
});
