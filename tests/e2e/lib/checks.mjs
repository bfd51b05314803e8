// Shared checks of an exported file: numerics in ONNX Runtime and tags read back from the file.
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { readOnnx } from './onnx_reader.mjs';
import { readNpy } from './npy.mjs';

export const CLI = process.env.HTP_EXPORT;
export const SOURCE_DIR = process.env.HTP_SOURCE_DIR;
export const WORK_DIR = process.env.HTP_WORK_DIR;

// Runs htp-export; returns { status, stdout, stderr }.
export function runCli(args) {
  const result = spawnSync(CLI, args, { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function exportOrThrow(args) {
  return execFileSync(CLI, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function numbered(dir, prefix) {
  return readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.npy'))
    .sort((a, b) => parseInt(a.slice(prefix.length), 10) - parseInt(b.slice(prefix.length), 10))
    .map((f) => readNpy(join(dir, f)));
}

// Runs the model in ONNX Runtime (graph optimizations off) on in_K.npy and returns, per output,
// max|ort − ref| and the DESIGN.md tolerance 1e-4·max(1, max|ref|) (0 for integer outputs).
export async function compareWithReference(modelPath, ioDir) {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'disabled' });
  const inputs = numbered(ioDir, 'in_');
  const refs = numbered(ioDir, 'ref_');
  const feeds = {};
  session.inputNames.forEach((name, i) => { feeds[name] = new ort.Tensor(inputs[i].dtype, inputs[i].data, inputs[i].shape); });
  const results = await session.run(feeds);
  return session.outputNames.map((name, i) => {
    const got = results[name];
    const ref = refs[i];
    const integer = !ref.dtype.startsWith('float');
    let maxDiff = 0;
    let maxRef = 0;
    for (let k = 0; k < ref.data.length; k++) {
      const r = Number(ref.data[k]);
      maxDiff = Math.max(maxDiff, Math.abs(Number(got.data[k]) - r));
      maxRef = Math.max(maxRef, Math.abs(r));
    }
    return {
      name, maxDiff, maxRef, tolerance: integer ? 0 : 1e-4 * Math.max(1, maxRef),
      shapeMatches: JSON.stringify(got.dims) === JSON.stringify(ref.shape) && got.data.length === ref.data.length,
    };
  });
}

export function readModel(path) {
  return readOnnx(readFileSync(path));
}

// Tag problems of a model read from its file; `modules` maps each real module path to its class.
export function tagProblems(model, modules) {
  const problems = [];
  const names = new Set();
  for (const node of model.nodes) {
    const m = node.metadata;
    const where = `${node.opType} ${node.name}`;
    if (!m['htp.tag']) problems.push(`${where}: empty htp.tag`);
    if (!['direct', 'inherited', 'fallback'].includes(m['htp.source'])) problems.push(`${where}: bad htp.source ${m['htp.source']}`);
    if (!('htp.scope' in m) || !modules.has(m['htp.scope'])) problems.push(`${where}: scope '${m['htp.scope']}' is not a module`);
    if (!('namespace' in m)) problems.push(`${where}: no namespace`);
    if (names.has(node.name) || !node.name) problems.push(`${where}: name not unique`);
    names.add(node.name);
  }
  return problems;
}
