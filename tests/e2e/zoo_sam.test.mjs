// End to end, --model sam-vit-b (issue 20): Segment Anything's ViT-B image encoder at 1024x1024 runs in
// ONNX Runtime with LibTorch's embeddings; the same file at batch 2 (the example twice, so LibTorch need
// not run again) gives the reference for each image; every node is tagged with one of its modules; and
// partition finds the 12 attention blocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import ort from 'onnxruntime-node';
import { CLI, WORK_DIR, compareWithReference, exportOrThrow, numericProblems, readModel, tagProblems } from './lib/checks.mjs';
import { readNpy } from './lib/npy.mjs';

const dir = join(WORK_DIR, 'sam-vit-b');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const onnxPath = join(dir, 'sam-vit-b.onnx');
const ioDir = join(dir, 'io');
exportOrThrow(['-q', '--model', 'sam-vit-b', '--out', onnxPath, '--save-io', ioDir]);
const model = readModel(onnxPath);
const modules = JSON.parse(model.metadata['htp.modules']);
const classOf = new Map(Object.entries(modules).map(([scope, info]) => [scope, info.class]));

test('sam-vit-b: ONNX Runtime reproduces LibTorch\'s embeddings', async () => {
  const outputs = await compareWithReference(onnxPath, ioDir);
  assert.deepEqual(numericProblems(outputs), []);
  for (const out of outputs) console.log(`# sam-vit-b ${out.name} [${out.shape}]: max|ort-ref| = ${out.maxDiff.toExponential(2)}, max|ref| = ${out.maxRef.toFixed(3)}`);
});

test('sam-vit-b: the batch axis is symbolic: two images give each its own embeddings', async () => {
  assert.deepEqual(model.dims.get('images'), ['batch', 3, 1024, 1024]);
  assert.deepEqual(model.dims.get('image_embeddings'), ['batch', 256, 64, 64]);
  const image = readNpy(join(ioDir, 'in_0.npy'));
  const ref = readNpy(join(ioDir, 'ref_0.npy'));
  const twice = new Float32Array(image.data.length * 2);
  twice.set(image.data);
  twice.set(image.data, image.data.length);
  const session = await ort.InferenceSession.create(onnxPath, { graphOptimizationLevel: 'disabled' });
  const result = (await session.run({ images: new ort.Tensor('float32', twice, [2, 3, 1024, 1024]) })).image_embeddings;
  assert.deepEqual(result.dims, [2, 256, 64, 64]);
  let maxRef = 0;
  for (const value of ref.data) maxRef = Math.max(maxRef, Math.abs(value));
  const tolerance = 1e-4 * Math.max(1, maxRef);
  for (let copy = 0; copy < 2; copy++) {
    let maxDiff = 0;
    for (let i = 0; i < ref.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(result.data[copy * ref.data.length + i] - ref.data[i]));
    assert.ok(maxDiff <= tolerance, `image ${copy}: max|ort-ref| = ${maxDiff} > ${tolerance}`);
  }
});

test('sam-vit-b: every node is tagged with one of its modules; windows and relative positions inside Block and Attention', () => {
  assert.deepEqual(tagProblems(model, classOf), []);
  for (const node of model.nodes.filter((n) => n.opType === 'Einsum' || n.opType === 'Softmax')) {
    assert.equal(classOf.get(node.metadata['htp.scope']), 'Attention', `${node.opType} ${node.name}`);
  }
  const pads = model.nodes.filter((n) => n.opType === 'Pad');
  assert.equal(pads.length, 8, 'one window padding per windowed block');
  for (const node of pads) assert.equal(classOf.get(node.metadata['htp.scope']), 'Block', node.name);
  for (const name of ['image_encoder.pos_embed', 'image_encoder.patch_embed.proj.weight', 'image_encoder.blocks.2.attn.rel_pos_h',
    'image_encoder.neck.3.bias']) {
    assert.ok(model.initializers.includes(name), name);
  }
});

test('sam-vit-b: partition finds one attention block per Attention module', () => {
  const report = JSON.parse(execFileSync(CLI, ['-q', 'partition', onnxPath, '--format', 'json'], { encoding: 'utf8' }));
  assert.equal(report.attention_blocks, 12);
  const attention = report.subgraph_list.filter((s) => s.attention).map((s) => s.unit).sort();
  assert.deepEqual(attention, [...Array(12).keys()].map((i) => `image_encoder.blocks.${i}.attn`).sort());
});
