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
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { WORK_DIR, SOURCE_DIR, checkTorchScriptExport } from './lib/checks.mjs';
import { generatedArchives } from './lib/generated_archives.mjs';

const SCRIPT = join(SOURCE_DIR, 'tests/e2e/gen_torchvision.py');
const OUT = join(WORK_DIR, 'torchvision');
const ONNX_DIR = join(WORK_DIR, 'torchvision_onnx');
const ONLY = (process.env.HTP_TORCHVISION_MODELS ?? '').split(',').filter(Boolean);

const { index, error: generationError } = generatedArchives(SCRIPT, OUT, ONLY);

if (generationError) {
  test('torchvision archives are generated', () => { throw new Error(generationError); });
} else {
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
