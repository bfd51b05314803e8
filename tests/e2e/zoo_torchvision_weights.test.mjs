// End to end, the zoo computes what torchvision computes: gen_torchvision_weights.py saves each
// torchvision model's state dict (random weights and BatchNorm statistics) with its output on an
// input; `htp-export --model NAME --weights` must load it by name, and ONNX Runtime must reproduce
// torchvision's output from the exported file. Catches what names and shapes cannot show (BatchNorm
// eps, residual and squeeze-excitation wiring). A small image keeps the big EfficientNets quick.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { WORK_DIR, SOURCE_DIR, exportOrThrow, compareWithReference } from './lib/checks.mjs';

const PYTHON = '/usr/bin/python3';
const MODELS = ['resnet18', 'resnet50', 'mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0', 'efficientnet_b1',
  'efficientnet_b2', 'efficientnet_b3', 'efficientnet_b4', 'efficientnet_b5', 'efficientnet_b6', 'efficientnet_b7'];
const SIZE = 128;
const dir = join(WORK_DIR, 'zoo_torchvision_weights');
rmSync(dir, { recursive: true, force: true });
const generated = spawnSync(PYTHON, [join(SOURCE_DIR, 'tests/e2e/gen_torchvision_weights.py'), dir, String(SIZE), ...MODELS],
  { encoding: 'utf8' });
const generationError = generated.error?.message
  ?? (generated.status !== 0 || !existsSync(join(dir, 'index.json'))
    ? `gen_torchvision_weights.py exited with ${generated.status}: ${generated.stderr.trim().split('\n').slice(-3).join(' | ')}`
    : null);

for (const name of MODELS) {
  test(`${name}: torchvision's state dict loads by name and ONNX Runtime reproduces torchvision`, async () => {
    assert.equal(generationError, null, `${generationError} (scripts/setup.sh installs python3-torchvision)`);
    const ioDir = join(dir, name);
    const onnxPath = join(ioDir, `${name}.onnx`);
    const weights = join(ioDir, 'weights.pt');
    exportOrThrow(['--model', name, '--weights', weights, '--input-shape', `1,3,${SIZE},${SIZE}`, '--out', onnxPath, '-q']);
    rmSync(weights);
    const [out] = await compareWithReference(onnxPath, ioDir);
    assert.ok(out.shapeMatches, `${out.name}: shape [${out.shape}], torchvision's [${out.refShape}]`);
    assert.ok(out.maxDiff <= out.tolerance, `${out.name}: max|ort-torchvision| = ${out.maxDiff} > ${out.tolerance}`);
    console.log(`# ${name}: max|ort-torchvision| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
    rmSync(onnxPath);
  });
}
