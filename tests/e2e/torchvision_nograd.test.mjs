// End to end, torchvision models traced under torch.no_grad() (issue 14), as torchvision's docs
// trace them for inference: eval mode without autograd takes PyTorch's fused fast paths (vit_b_16:
// aten::_native_multi_head_attention; the segmentation models: in-place ReLU/Hardswish and += in
// their backbones, a dict output). gen_torchvision_nograd.py traces them (random weights, Debian's
// python3-torchvision) into HTP_WORK_DIR/torchvision_nograd once; then, one test per model,
// `htp-export --torchscript` must write a file that ONNX Runtime runs with PyTorch's outputs, whose
// outputs are named by the dict's keys where the model returns a dict, and whose every node is
// tagged with one of the model's module paths.
// HTP_TORCHVISION_NOGRAD_MODELS=a,b picks other models than the generator's default set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { WORK_DIR, SOURCE_DIR, checkTorchScriptExport } from './lib/checks.mjs';
import { generatedArchives } from './lib/generated_archives.mjs';

const SCRIPT = join(SOURCE_DIR, 'tests/e2e/gen_torchvision_nograd.py');
const OUT = join(WORK_DIR, 'torchvision_nograd');
const ONLY = (process.env.HTP_TORCHVISION_NOGRAD_MODELS ?? '').split(',').filter(Boolean);

const { index, error } = generatedArchives(SCRIPT, OUT, ONLY);

if (error) {
  test('torchvision archives traced under no_grad are generated', () => { throw new Error(error); });
} else {
  const onnxDir = join(WORK_DIR, 'torchvision_nograd_onnx');
  mkdirSync(onnxDir, { recursive: true });
  for (const name of ONLY.length ? ONLY : index.generated) {
    test(`${name} traced under no_grad`, async (t) => {
      const outPath = join(onnxDir, `${name}.onnx`);
      const { nodes, seconds, failed } = await checkTorchScriptExport(t, {
        archive: join(OUT, `${name}.pt`), ioDir: join(OUT, name), outPath, minInheritanceRate: 0.9,
      });
      const { output_names: outputNames } = JSON.parse(readFileSync(join(OUT, name, 'info.json'), 'utf8'));
      if (outputNames) {
        await t.test('the outputs are named by the dict\'s keys', async () => {
          assert.deepEqual((await ort.InferenceSession.create(outPath)).outputNames, outputNames);
        });
      }
      console.log(`${name}: ${nodes} nodes in ${seconds.toFixed(1)} s`);
      if (!failed) rmSync(outPath, { force: true });
    });
  }
}
