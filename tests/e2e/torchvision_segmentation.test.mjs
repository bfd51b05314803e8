// End to end, torchvision's segmentation models traced as users trace them (issue 14): eval mode,
// torch.no_grad(), a dict output, in-place ReLU/Hardswish and += in the backbones.
// gen_torchvision_segmentation.py traces them (random weights, Debian's python3-torchvision) into
// HTP_WORK_DIR/torchvision_segmentation once; it is rerun when index.json is missing or older than
// the script. Per model, `htp-export --torchscript` must write a file whose output is named by the
// dict key, that ONNX Runtime runs with PyTorch's output, and whose every node is tagged with one
// of the model's module paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { WORK_DIR, SOURCE_DIR, checkTorchScriptExport } from './lib/checks.mjs';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(SOURCE_DIR, 'tests/e2e/gen_torchvision_segmentation.py');
const OUT = join(WORK_DIR, 'torchvision_segmentation');
const INDEX = join(OUT, 'index.json');
const LOG = join(OUT, 'generate.log');

function generate() {
  if (existsSync(INDEX) && statSync(INDEX).mtimeMs > statSync(SCRIPT).mtimeMs) return null;
  mkdirSync(OUT, { recursive: true });
  const log = openSync(LOG, 'w');
  const started = performance.now();
  const result = spawnSync(PYTHON, [SCRIPT, OUT], { stdio: ['ignore', log, log] });
  closeSync(log);
  const tail = readFileSync(LOG, 'utf8').trim().split('\n').slice(-4).join(' | ');
  if (result.error || result.status !== 0 || !existsSync(INDEX)) {
    return `gen_torchvision_segmentation.py failed (${result.error?.message ?? `exit ${result.status}`}); see ${LOG}: ${tail}`
      + ' (it needs python3-torch and python3-torchvision, which scripts/setup.sh installs)';
  }
  console.log(`generated the segmentation archives in ${((performance.now() - started) / 1000).toFixed(0)} s: ${tail}`);
  return null;
}

const generationError = generate();
if (generationError) {
  test('segmentation archives are generated', () => { throw new Error(generationError); });
} else {
  for (const name of JSON.parse(readFileSync(INDEX, 'utf8')).generated) {
    test(name, async (t) => {
      const ioDir = join(OUT, name);
      const outPath = join(OUT, `${name}.onnx`);
      rmSync(outPath, { force: true });
      const { nodes, seconds, failed } = await checkTorchScriptExport(t, { archive: join(OUT, `${name}.pt`), ioDir, outPath, minInheritanceRate: 0.9 });
      const session = await ort.InferenceSession.create(outPath);
      assert.deepEqual(session.outputNames, ['out']);
      console.log(`${name}: ${nodes} nodes, exported in ${seconds.toFixed(1)} s`);
      if (!failed) rmSync(outPath, { force: true });  // a failing file stays for a look
    });
  }
}
