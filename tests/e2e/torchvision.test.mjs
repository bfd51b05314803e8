// End to end, TorchScript archives of the whole torchvision classification family (issue 3):
// gen_torchvision.py traces each model (random weights, Debian's python3-torchvision) into
// HTP_WORK_DIR/torchvision once; then, one test per model, `htp-export --torchscript` must write a
// file that ONNX Runtime runs with PyTorch's outputs and whose every node is tagged with one of the
// model's module paths.
//
// Python only makes the test inputs. It is regenerated when HTP_WORK_DIR/torchvision/index.json is
// missing or older than gen_torchvision.py. HTP_TORCHVISION_MODELS=a,b restricts the run to those
// models; HTP_KEEP_ONNX=1 keeps the exported files (otherwise only the failing ones are kept).
// Per-model results (node counts, export time, torch.onnx.export's when generated with
// HTP_COMPARE_TORCH_ONNX=1) are appended to HTP_WORK_DIR/torchvision/results.jsonl.
import { test } from 'node:test';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { WORK_DIR, SOURCE_DIR, checkTorchScriptExport } from './lib/checks.mjs';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(SOURCE_DIR, 'tests/e2e/gen_torchvision.py');
const OUT = join(WORK_DIR, 'torchvision');
const ONNX_DIR = join(WORK_DIR, 'torchvision_onnx');
const ONLY = (process.env.HTP_TORCHVISION_MODELS ?? '').split(',').filter(Boolean);
const INDEX = join(OUT, 'index.json');
const LOG = join(OUT, 'generate.log');

function pythonProblem() {
  const result = spawnSync(PYTHON, ['-c', 'import numpy, torch, torchvision'], { encoding: 'utf8' });
  if (result.error) return `${PYTHON}: ${result.error.message}`;
  if (result.status !== 0) return result.stderr.trim().split('\n').pop();
  return null;
}

function upToDate() {
  if (!existsSync(INDEX) || statSync(INDEX).mtimeMs <= statSync(SCRIPT).mtimeMs) return false;
  const index = JSON.parse(readFileSync(INDEX, 'utf8'));
  const covers = ONLY.every((name) => index.generated.includes(name) || name in index.skipped);
  return index.requested ? ONLY.length > 0 && covers : covers; // requested: null for the whole family
}

// Runs the generator (minutes for the whole family); returns an error message or null.
function generate() {
  mkdirSync(OUT, { recursive: true });
  const log = openSync(LOG, 'w');
  const started = performance.now();
  const result = spawnSync(PYTHON, [SCRIPT, OUT, ...ONLY], { stdio: ['ignore', log, log] });
  closeSync(log);
  const tail = readFileSync(LOG, 'utf8').trim().split('\n').slice(-5).join(' | ');
  if (result.error || result.status !== 0 || !existsSync(INDEX)) {
    return `gen_torchvision.py failed (${result.error?.message ?? `exit ${result.status}`}); see ${LOG}: ${tail}`;
  }
  console.log(`generated torchvision archives in ${((performance.now() - started) / 1000).toFixed(0)} s: ${tail}`);
  return null;
}

const problem = pythonProblem();
const generationError = problem
  ? `${PYTHON} cannot import torch and torchvision (${problem}): run scripts/setup.sh, which installs `
    + 'python3-torch and python3-torchvision (needed to generate these test fixtures, never by htp-export)'
  : (upToDate() ? null : generate());

if (generationError) {
  test('torchvision archives are generated', () => { throw new Error(generationError); });
} else {
  const index = JSON.parse(readFileSync(INDEX, 'utf8'));
  const names = ONLY.length ? ONLY : [...index.generated, ...Object.keys(index.skipped)];
  mkdirSync(ONNX_DIR, { recursive: true });
  for (const [name, why] of Object.entries(index.dropped ?? {})) console.log(`dropped ${name}: ${why}`);

  for (const name of names) {
    if (name in index.skipped) {
      test(name, { skip: `not generated: ${index.skipped[name]}` }, () => {});
      continue;
    }
    test(name, async (t) => {
      const ioDir = join(OUT, name);
      const outPath = join(ONNX_DIR, `${name}.onnx`);
      rmSync(outPath, { force: true });
      const { nodes, seconds, failed, inheritanceRate } = await checkTorchScriptExport(t, {
        archive: join(OUT, `${name}.pt`), ioDir, outPath, minInheritanceRate: 0.9,
      });
      const info = JSON.parse(readFileSync(join(ioDir, 'info.json'), 'utf8'));
      const torchOnnxPath = join(ioDir, 'torch_onnx.json');
      const torchOnnx = existsSync(torchOnnxPath) ? JSON.parse(readFileSync(torchOnnxPath, 'utf8')) : null;
      appendFileSync(join(OUT, 'results.jsonl'), `${JSON.stringify({
        name, nodes, export_seconds: Number(seconds.toFixed(2)), failed_checks: failed, inheritance_rate: inheritanceRate,
        parameters: info.parameters, trace_seconds: info.trace_seconds, torch_onnx: torchOnnx,
      })}\n`);
      console.log(`${name}: ${nodes} nodes in ${seconds.toFixed(1)} s`
        + (torchOnnx ? `; torch.onnx.export: ${torchOnnx.nodes} nodes in ${torchOnnx.export_seconds} s` : ''));
      if (!failed && process.env.HTP_KEEP_ONNX !== '1') rmSync(outPath, { force: true });
    });
  }
}
