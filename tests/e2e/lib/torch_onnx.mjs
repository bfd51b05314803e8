// Third-party ONNX files made by tests/e2e/gen_torch_onnx.py (torch.onnx.export with Debian's
// python3-torch), generated once per output directory and again when the script is newer.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SOURCE_DIR } from './checks.mjs';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(SOURCE_DIR, 'tests/e2e/gen_torch_onnx.py');

// Runs the generator into `outDir` for `models` (the script's default set when empty) unless its
// index there is newer than the script and lists them; returns an error message or null.
export function generateTorchOnnx(outDir, models = []) {
  const index = join(outDir, 'index.json');
  const log = join(outDir, 'generate.log');
  if (existsSync(index) && statSync(index).mtimeMs > statSync(SCRIPT).mtimeMs) {
    const listed = JSON.parse(readFileSync(index, 'utf8')).models;
    if (models.every((name) => listed.includes(name))) return null;
  }
  mkdirSync(outDir, { recursive: true });
  const logFd = openSync(log, 'w');
  const result = spawnSync(PYTHON, [SCRIPT, outDir, ...models], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (result.error) {
    return `${PYTHON}: ${result.error.message}; scripts/setup.sh installs python3-torch and python3-torchvision `
      + '(needed to make these test fixtures, never by htp-export)';
  }
  if (result.status !== 0 || !existsSync(index)) {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ');
    return `gen_torch_onnx.py failed (exit ${result.status}); see ${log}: ${tail}`;
  }
  return null;
}
