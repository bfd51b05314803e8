// Shared checks of an exported file: numerics in ONNX Runtime and tags read back from the file.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { readOnnx } from './onnx_reader.mjs';
import { halfToNumber, readNpy } from './npy.mjs';

export const CLI = process.env.HTP_EXPORT;
export const SOURCE_DIR = process.env.HTP_SOURCE_DIR;
export const WORK_DIR = process.env.HTP_WORK_DIR;

// Runs htp-export; returns { status, signal, stdout, stderr }.
export function runCli(args) {
  const result = spawnSync(CLI, args, { encoding: 'utf8' });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
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
// max|ort − ref| and the DESIGN.md tolerance 1e-4·max(1, max|ref|) (0 for integer and bool outputs,
// which are compared exactly, int64 as BigInt), whether the shape and the dtype match the reference.
// NaN matches NaN and an infinity the same infinity, as PyTorch computed them. Throws when the
// model's input or output count differs from the .npy files. With `byName`, the model's inputs are
// named in_K after their file and may be fewer (torch.onnx.export drops unused inputs).
export async function compareWithReference(modelPath, ioDir, { byName = false } = {}) {
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'disabled' });
  const inputs = numbered(ioDir, 'in_');
  const refs = numbered(ioDir, 'ref_');
  const inputOf = (name, i) => (byName ? inputs[Number(name.slice(3))] : inputs[i]);
  if (byName ? !session.inputNames.every((name) => /^in_\d+$/.test(name) && inputOf(name))
    : session.inputNames.length !== inputs.length) {
    throw new Error(`model has ${session.inputNames.length} inputs (${session.inputNames}), ${ioDir} has ${inputs.length}`);
  }
  if (session.outputNames.length !== refs.length) {
    throw new Error(`model has ${session.outputNames.length} outputs (${session.outputNames}), ${ioDir} has ${refs.length} references`);
  }
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const input = inputOf(name, i);
    feeds[name] = new ort.Tensor(input.dtype, input.data, input.shape);
  });
  const results = await session.run(feeds);
  return session.outputNames.map((name, i) => {
    const got = results[name];
    const ref = refs[i];
    const integer = !ref.dtype.startsWith('float');
    const shapeMatches = JSON.stringify(got.dims) === JSON.stringify(ref.shape) && got.data.length === ref.data.length;
    let maxDiff = 0;
    let maxRef = 0;
    for (let k = 0; k < ref.data.length; k++) {
      if (typeof ref.data[k] === 'bigint') {
        const g = got.data[k];
        const diff = typeof g === 'bigint' ? ref.data[k] - g : NaN;
        maxDiff = Math.max(maxDiff, diff === 0n ? 0 : Math.abs(Number(diff)) || NaN);
        maxRef = Math.max(maxRef, Math.abs(Number(ref.data[k])));
        continue;
      }
      const half = ref.dtype === 'float16';
      const r = half ? halfToNumber(ref.data[k]) : Number(ref.data[k]);
      const g = half && got.type === 'float16' ? halfToNumber(got.data[k]) : Number(got.data[k]);
      if (Number.isFinite(r)) maxRef = Math.max(maxRef, Math.abs(r));
      if (r === g || (Number.isNaN(r) && Number.isNaN(g))) continue;
      maxDiff = Math.max(maxDiff, Math.abs(g - r));
    }
    return {
      name, maxDiff, maxRef, tolerance: integer ? 0 : 1e-4 * Math.max(1, maxRef),
      shapeMatches, dtype: got.type, refDtype: ref.dtype, dtypeMatches: got.type === ref.dtype,
      refShape: ref.shape, shape: got.dims,
    };
  });
}

export function readModel(path) {
  return readOnnx(readFileSync(path));
}

// Tag problems of a model read from its file; `modules` maps each real module path to its class.
export function tagProblems(model, modules) {
  return tagFieldProblems(model, modules).concat(inheritanceProblems(model, modules));
}

// tagProblems without the inheritance rules: for files rewritten after tagging (an optimized file whose
// folded constants are initializers no longer tells constants from parameters).
export function tagFieldProblems(model, modules) {
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

// DESIGN.md's auxiliary op types, the only ones the inheritance engine may place.
export const AUXILIARY_OPS = new Set(['Constant', 'ConstantOfShape', 'Shape', 'Size', 'Cast', 'CastLike', 'Reshape',
  'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather', 'Expand', 'Tile', 'Where',
  'Equal', 'Less', 'Greater', 'Not', 'And', 'Or', 'Range', 'Identity']);

// Nodes whose value derives only from the tensors `sources` and from shapes: Shape, Size and
// Constant nodes and nodes fed only by sources and such nodes. The file's node order is
// topological, as ONNX requires (a node holding subgraphs follows their nodes and reads what they
// return).
function derivedNodes(model, sources) {
  const known = new Set(sources);
  const result = new Set();
  for (const node of model.nodes) {
    const inputs = node.reads.filter((i) => i !== '');
    const derived = ['Shape', 'Size', 'Constant'].includes(node.opType)
      || (inputs.length > 0 && inputs.every((i) => known.has(i)));
    if (!derived) continue;
    result.add(node);
    for (const output of node.outputs) known.add(output);
  }
  return result;
}

// Integer and bool TensorProto.DataType numbers: index-like inputs such as token ids and masks.
const INDEX_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

// The engine's node roles: auxiliary (by op type, or computing on shapes and constants only) and
// input preprocessing (compute ops fed only by index-like graph inputs, shapes and constants).
export function nodeRoles(model) {
  const shapeOnly = derivedNodes(model, model.initializers);
  const initializers = new Set(model.initializers);
  const indexLike = (name) => INDEX_TYPES.has(model.elemTypes.get(name));
  const inputsAndShapes = model.inputs.filter((name) => !initializers.has(name) && indexLike(name))
    .concat([...shapeOnly].flatMap((n) => n.outputs));
  const inputOnly = derivedNodes(model, inputsAndShapes);
  const roles = new Map();
  for (const node of model.nodes) {
    const auxiliary = AUXILIARY_OPS.has(node.opType) || shapeOnly.has(node);
    roles.set(node, auxiliary ? 'auxiliary' : inputOnly.has(node) ? 'input preprocessing' : 'compute');
  }
  return roles;
}

export const isAncestorOrSelf = (ancestor, scope) => ancestor === '' || scope === ancestor || scope.startsWith(`${ancestor}.`);

// The module owning a parameter or buffer: `a.b.weight` belongs to `a.b` when that is one of
// `modules`, else to the root ''.
export function parameterOwner(name, modules) {
  const owner = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '';
  return modules.has(owner) ? owner : '';
}

// The source rules of DESIGN.md, checked from the file's dataflow (`modules`: the model's module
// paths). An inherited node is auxiliary or input preprocessing (nodeRoles) and its scope is
// - non-root: an ancestor-or-equal of one consumer's scope or equal to one producer's, the owner
//   of an initializer being its producer;
// - the root: only for an auxiliary node whose consumers (one at least) all run in the root's own
//   forward (direct compute ops at the root, or auxiliary nodes inherited at the root).
// A fallback node is an auxiliary node at the root that none of these rules places: it has no
// producer with a non-root scope, and not only consumers in the root's forward. A direct node at
// the root is not auxiliary.
export function inheritanceProblems(model, modules) {
  const producer = new Map();
  const consumers = new Map();
  for (const node of model.nodes) {
    for (const output of node.outputs) if (output !== '') producer.set(output, node);
    for (const input of node.reads) {
      if (!consumers.has(input)) consumers.set(input, []);
      consumers.get(input).push(node);
    }
  }
  const initializers = new Set(model.initializers);
  const roles = nodeRoles(model);
  const runsInRootForward = (n) => n.metadata['htp.scope'] === ''
    && ((n.metadata['htp.source'] === 'direct' && roles.get(n) !== 'auxiliary') || n.metadata['htp.source'] === 'inherited');
  const problems = [];
  for (const node of model.nodes) {
    const { 'htp.scope': scope, 'htp.source': source } = node.metadata;
    const where = `${node.opType} ${node.name}`;
    const auxiliary = roles.get(node) === 'auxiliary';
    const nodeConsumers = node.outputs.flatMap((o) => consumers.get(o) ?? []);
    const producerScopes = node.reads.map((i) => (initializers.has(i) ? parameterOwner(i, modules)
      : producer.get(i)?.metadata['htp.scope'])).filter((s) => s !== undefined);
    const onlyRootReads = nodeConsumers.length > 0 && nodeConsumers.every(runsInRootForward);
    if (source === 'inherited') {
      const justified = scope === '' ? auxiliary && onlyRootReads
        : nodeConsumers.some((c) => isAncestorOrSelf(scope, c.metadata['htp.scope'])) || producerScopes.includes(scope);
      if (roles.get(node) === 'compute' || !justified) problems.push(`${where}: inherited scope '${scope}' not justified by its dataflow`);
    }
    if (source === 'fallback' && (!auxiliary || scope !== '')) problems.push(`${where}: fallback must be an auxiliary op at the root`);
    if (source === 'fallback' && (onlyRootReads || producerScopes.some((s) => s !== ''))) {
      problems.push(`${where}: fallback although its dataflow places it`);
    }
    if (source === 'direct' && scope === '' && auxiliary) problems.push(`${where}: auxiliary op at the root marked direct`);
  }
  return problems;
}

// inherited / (inherited + fallback) over the nodes of a model; null when nothing needed placing.
export function inheritanceRate(model) {
  const count = (source) => model.nodes.filter((n) => n.metadata['htp.source'] === source).length;
  const [inherited, fallback] = [count('inherited'), count('fallback')];
  return inherited + fallback === 0 ? null : inherited / (inherited + fallback);
}

// The .npy files `prefix`K.npy of a directory, in K order.
export function npyPaths(dir, prefix = 'in_') {
  return readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.npy'))
    .sort((a, b) => parseInt(a.slice(prefix.length), 10) - parseInt(b.slice(prefix.length), 10))
    .map((f) => join(dir, f));
}

// Problems of compareWithReference's results: shape, dtype and tolerance, one line per output.
export function numericProblems(outputs) {
  const problems = [];
  for (const out of outputs) {
    if (!out.shapeMatches) problems.push(`${out.name}: shape [${out.shape}], expected [${out.refShape}]`);
    if (!out.dtypeMatches) problems.push(`${out.name}: dtype ${out.dtype}, expected ${out.refDtype}`);
    else if (!(out.maxDiff <= out.tolerance)) problems.push(`${out.name}: max|ort-ref| = ${out.maxDiff} > ${out.tolerance}`);
  }
  return problems;
}

// Exports a TorchScript archive with its in_K.npy inputs, then checks the written file as node:test
// subtests of `t`: ONNX Runtime against ref_K.npy, tags against modules.json (the module tree of the
// original nn.Module), and the model's htp.modules; with minInheritanceRate, also the inheritance
// rate (when anything needed placing). Returns { nodes, seconds, failed, inheritanceRate } where
// failed counts the failing subtests.
export async function checkTorchScriptExport(t, { archive, ioDir, outPath, minInheritanceRate }) {
  const args = ['--torchscript', archive, ...npyPaths(ioDir).flatMap((f) => ['--input', f]), '--out', outPath, '-q'];
  const started = performance.now();
  const result = runCli(args);
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) {
    throw new Error(`htp-export exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  }
  const classOf = new Map(JSON.parse(readFileSync(join(ioDir, 'modules.json'), 'utf8')).modules);
  const model = readModel(outPath);
  let failed = 0;
  const check = (name, fn) => t.test(name, async () => {
    try { await fn(); } catch (error) { failed += 1; throw error; }
  });
  await check('ONNX Runtime reproduces PyTorch', async () => {
    const outputs = await compareWithReference(outPath, ioDir);
    assert.deepEqual(numericProblems(outputs), []);
  });
  await check('every node is tagged with one of the archive\'s modules', () => {
    assert.equal(model.irVersion, 10);
    const problems = tagProblems(model, classOf);
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
  });
  const rate = inheritanceRate(model);
  if (minInheritanceRate !== undefined && rate !== null) {
    await check(`inheritance rate ${rate.toFixed(3)} is at least ${minInheritanceRate}`, () => {
      assert.ok(rate >= minInheritanceRate);
    });
  }
  await check('htp.modules lists the archive\'s module tree with Python class names', () => {
    const modules = JSON.parse(model.metadata['htp.modules']);
    assert.deepEqual(Object.keys(modules).sort(), [...classOf.keys()].sort());
    const wrong = Object.entries(modules).filter(([scope, info]) => info.class !== classOf.get(scope))
      .map(([scope, info]) => `${scope}: ${info.class}, expected ${classOf.get(scope)}`);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} wrong classes`);
  });
  return { nodes: model.nodes.length, seconds, failed, inheritanceRate: rate };
}

// A fresh directory `root/name` holding only the given files ({ name: bytes }).
export function caseDir(root, name, files = {}) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(join(dir, file), bytes);
  return dir;
}

// A failing run: non-zero exit (not a crash), exactly one `htp-export: error: ...` line on stderr,
// and no files left in `dir` but the given inputs. Returns the message after the prefix. With
// `status`, the exit status must be that one.
export function expectFailure(args, dir, inputs = [], status = undefined) {
  const result = runCli(['-q', ...args]);
  assert.equal(result.signal, null, `killed by ${result.signal}; stderr: ${result.stderr}`);
  assert.notEqual(result.status, 0, `exit status 0; stdout: ${result.stdout}`);
  if (status !== undefined) assert.equal(result.status, status, `exit status; stderr: ${result.stderr}`);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `stderr must be one line, got:\n${result.stderr}`);
  assert.ok(result.stderr.endsWith('\n'), 'stderr line must end with a newline');
  assert.match(lines[0], /^htp-export: error: \S/);
  if (dir) assert.deepEqual(readdirSync(dir).sort(), [...inputs].sort(), `files left in ${dir}`);
  return lines[0].slice('htp-export: error: '.length);
}
