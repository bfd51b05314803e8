// TorchScript archives that a generator script (gen_torchvision*.py, Debian's python3-torch and
// python3-torchvision) writes into a folder of HTP_WORK_DIR once; later runs reuse them while the
// folder's index.json is newer than the script and covers the requested models. Python only makes
// the test inputs; htp-export never runs it.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const PYTHON = '/usr/bin/python3';

function pythonProblem() {
  const result = spawnSync(PYTHON, ['-c', 'import numpy, torch, torchvision'], { encoding: 'utf8' });
  if (result.error) return `${PYTHON}: ${result.error.message}`;
  if (result.status !== 0) return result.stderr.trim().split('\n').pop();
  return null;
}

function upToDate(script, index, only) {
  if (!existsSync(index) || statSync(index).mtimeMs <= statSync(script).mtimeMs) return false;
  const { requested, generated, skipped } = JSON.parse(readFileSync(index, 'utf8'));
  const covers = only.every((name) => generated.includes(name) || name in skipped);
  return requested ? only.length > 0 && covers : covers; // requested: null for the script's default set
}

// Runs the generator; returns an error message or null.
function generate(script, outDir, only) {
  mkdirSync(outDir, { recursive: true });
  const log = join(outDir, 'generate.log');
  const fd = openSync(log, 'w');
  const started = performance.now();
  const result = spawnSync(PYTHON, [script, outDir, ...only], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-5).join(' | ');
  if (result.error || result.status !== 0 || !existsSync(join(outDir, 'index.json'))) {
    return `${script} failed (${result.error?.message ?? `exit ${result.status}`}); see ${log}: ${tail}`;
  }
  console.log(`generated archives in ${((performance.now() - started) / 1000).toFixed(0)} s: ${tail}`);
  return null;
}

// { index } (the parsed index.json) once the archives of `only` (or the script's default set)
// are in `outDir`, or { error } saying why they are not.
export function generatedArchives(script, outDir, only) {
  const problem = pythonProblem();
  if (problem) {
    return {
      error: `${PYTHON} cannot import torch and torchvision (${problem}): run scripts/setup.sh, which installs `
        + 'python3-torch and python3-torchvision (needed to generate these test fixtures, never by htp-export)',
    };
  }
  const index = join(outDir, 'index.json');
  const error = upToDate(script, index, only) ? null : generate(script, outDir, only);
  return error ? { error } : { index: JSON.parse(readFileSync(index, 'utf8')) };
}
