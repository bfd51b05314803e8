// `--hf-dir DIR` end to end: Hugging Face model directories written here, in the layouts the hub has
// (a config alone; one safetensors file; shards with model.safetensors.index.json; F16 and BF16 tensors;
// a task model's "bert."/"model." prefix; heads and legacy buffers beside the base model).
//
// Each case first exports its config alone (seeded weights) to learn the parameters' names and shapes, then
// writes those values, rounded to the case's dtype, as the checkpoint and exports the directory with another
// seed. The file must name every checkpoint tensor as the checkpoint does and hold its value widened to
// float32 exactly, and ONNX Runtime must reproduce LibTorch's outputs with those weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safetensors } from './lib/safetensors.mjs';
import { halfToNumber } from './lib/npy.mjs';
import { WORK_DIR, exportOrThrow, runCli, compareWithReference, numericProblems, readModel, tagProblems, expectFailure } from './lib/checks.mjs';

const ROOT = join(WORK_DIR, 'hf_dir');
rmSync(ROOT, { recursive: true, force: true });

// float32 → IEEE half bits, rounding to nearest even.
function halfBits(value) {
  const x = new Uint32Array(new Float32Array([value]).buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 127 + 15;
  let mantissa = x & 0x7fffff;
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent <= 0) {
    if (exponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - exponent;
    const kept = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const middle = 1 << (shift - 1);
    return sign | (kept + (rest > middle || (rest === middle && kept & 1) ? 1 : 0));
  }
  const bits = (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  return sign | (bits + (rest > 0x1000 || (rest === 0x1000 && bits & 1) ? 1 : 0));
}

// A float32 tensor's values in `dtype`: the checkpoint's bytes and the float32 values they stand for.
function encode(values, dtype) {
  const widened = new Float32Array(values.length);
  let bytes;
  if (dtype === 'F32') {
    bytes = Buffer.from(new Float32Array(values).buffer);
    widened.set(values);
  } else if (dtype === 'F16') {
    bytes = Buffer.alloc(2 * values.length);
    values.forEach((v, i) => { const h = halfBits(v); bytes.writeUInt16LE(h, 2 * i); widened[i] = halfToNumber(h); });
  } else {  // BF16: the upper half of the float32, truncated
    bytes = Buffer.alloc(2 * values.length);
    const words = new Uint32Array(new Float32Array(values).buffer);
    words.forEach((w, i) => { bytes.writeUInt16LE(w >>> 16, 2 * i); });
    widened.set(new Float32Array(Uint32Array.from(words, (w) => (w & 0xffff0000) >>> 0).buffer));
  }
  return { bytes, widened };
}

const floats = (tensor) => new Float32Array(tensor.rawData.buffer.slice(tensor.rawData.byteOffset, tensor.rawData.byteOffset + tensor.rawData.length));

// Writes DIR: config.json and the entries as one safetensors file or `shards` shards with an index.
function writeDirectory(dir, config, entries, shards) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  if (!entries.length) return;
  if (shards === 1) {
    writeFileSync(join(dir, 'model.safetensors'), safetensors(entries));
    return;
  }
  const weightMap = {};
  for (let s = 0; s < shards; ++s) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = entries.filter((_, i) => i % shards === s);
    for (const e of part) weightMap[e.key] = file;
    writeFileSync(join(dir, file), safetensors(part));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

// The parameters of DIR's config alone, exported with seed 0: name → { dims, values }.
function seededParameters(name, config, parameterNames) {
  const dir = join(ROOT, name, 'config_only');
  writeDirectory(dir, config, [], 1);
  const out = join(ROOT, name, 'config_only.onnx');
  exportOrThrow(['--hf-dir', dir, '--out', out, '-q']);
  const model = readModel(out);
  const parameters = [...model.initializerTensors.values()].filter((t) => parameterNames.test(t.name));
  assert.ok(parameters.length > 10 && parameters.every((t) => t.dataType === 1 && t.rawData), `${name}: parameters of the config-only export`);
  return { model, parameters };
}

const f32 = (key, shape) => ({ key, dtype: 'F32', shape, bytes: Buffer.alloc(4 * shape.reduce((a, b) => a * b, 1)) });

const CASES = {
  // Llama with grouped-query attention (4 query heads, 2 key/value heads), its LM head, F16 in 3 shards, and
  // the rotary buffer older checkpoints saved.
  llama: {
    config: { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 101, max_position_embeddings: 64, rms_norm_eps: 1e-5,
      rope_theta: 500000.0, tie_word_embeddings: false, hidden_act: 'silu', torch_dtype: 'float16' },
    parameterNames: /^(model|lm_head)\./, prefix: '', dtype: 'F16', shards: 3,
    extra: [{ key: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [4], bytes: Buffer.alloc(16) }],
    outputs: { logits: [2, 16, 101] },
  },
  // GPT2LMHeadModel: the head is tied to transformer.wte (no lm_head.weight in the file), and the mask buffers
  // older checkpoints hold.
  gpt2: {
    config: { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_layer: 2, n_embd: 32, n_head: 4, vocab_size: 97,
      n_positions: 64, n_inner: 48, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' },
    parameterNames: /^transformer\./, prefix: '', dtype: 'F32', shards: 1,
    extra: [{ key: 'transformer.h.0.attn.bias', dtype: 'F32', shape: [1, 1, 64, 64], bytes: Buffer.alloc(4 * 64 * 64) }],
    outputs: { logits: [2, 16, 97] },
  },
  // A BertForSequenceClassification checkpoint in BF16: the base model under "bert.", the classifier beside it,
  // and the position_ids buffer older transformers saved.
  bert: {
    config: { architectures: ['BertForSequenceClassification'], model_type: 'bert', vocab_size: 99, hidden_size: 32,
      num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 37, max_position_embeddings: 40, type_vocab_size: 2,
      layer_norm_eps: 1e-12, pad_token_id: 0, hidden_act: 'gelu', position_embedding_type: 'absolute' },
    parameterNames: /^(embeddings|encoder|pooler)\./, prefix: 'bert.', dtype: 'BF16', shards: 2,
    extra: [{ key: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 40], bytes: Buffer.alloc(8 * 40) },
      { key: 'classifier.weight', dtype: 'F32', shape: [2, 32], bytes: Buffer.alloc(4 * 64) }],
    outputs: { last_hidden_state: [2, 16, 32], pooler_output: [2, 32] },
  },
  // bert-base-uncased's layout: a BertForMaskedLM, whose base model has no pooler, yet whose checkpoint holds one
  // (transformers leaves it unused), beside the MLM head.
  bert_mlm: {
    config: { architectures: ['BertForMaskedLM'], model_type: 'bert', vocab_size: 99, hidden_size: 32, num_hidden_layers: 1,
      num_attention_heads: 4, intermediate_size: 37, max_position_embeddings: 40 },
    parameterNames: /^(embeddings|encoder)\./, prefix: 'bert.', dtype: 'F32', shards: 1,
    extra: [f32('bert.pooler.dense.weight', [32, 32]), f32('bert.pooler.dense.bias', [32]), f32('cls.predictions.bias', [99])],
    outputs: { last_hidden_state: [2, 16, 32] },
  },
  // ViTForImageClassification in F16, as google/vit-base-patch16-224 is laid out: the ViTModel under "vit."
  // without a pooler, the classifier beside it.
  vit: {
    config: { architectures: ['ViTForImageClassification'], model_type: 'vit', hidden_size: 32, num_hidden_layers: 2,
      num_attention_heads: 4, intermediate_size: 64, image_size: 224, patch_size: 16, num_channels: 3, qkv_bias: true,
      layer_norm_eps: 1e-12 },
    parameterNames: /^(embeddings|encoder|layernorm)\./, prefix: 'vit.', dtype: 'F16', shards: 1,
    extra: [f32('classifier.weight', [10, 32]), f32('classifier.bias', [10])],
    outputs: { last_hidden_state: [2, 197, 32] },
  },
  // WhisperForConditionalGeneration: the WhisperModel under "model." (proj_out is tied and not stored).
  whisper: {
    config: { architectures: ['WhisperForConditionalGeneration'], model_type: 'whisper', d_model: 32, encoder_layers: 2,
      decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4, encoder_ffn_dim: 64, decoder_ffn_dim: 64,
      num_mel_bins: 80, vocab_size: 51865, max_source_positions: 1500, max_target_positions: 448 },
    parameterNames: /^(encoder|decoder)\./, prefix: 'model.', dtype: 'F32', shards: 2, extra: [],
    outputs: { last_hidden_state: [2, 16, 32], encoder_last_hidden_state: [2, 1500, 32] },
  },
};

for (const [name, c] of Object.entries(CASES)) {
  test(`${name}: a Hugging Face directory (${c.dtype}, ${c.shards === 1 ? 'one file' : `${c.shards} shards`}${c.prefix ? `, under "${c.prefix}"` : ''}) exports with the checkpoint's names and values`, async () => {
    const { parameters } = seededParameters(name, c.config, c.parameterNames);
    const written = parameters.map((t) => ({ key: c.prefix + t.name, shape: t.dims, dtype: c.dtype, ...encode(floats(t), c.dtype) }));
    const dir = join(ROOT, name, 'checkpoint');
    writeDirectory(dir, c.config, [...written, ...c.extra], c.shards);
    const out = join(ROOT, name, 'model.onnx');
    const io = join(ROOT, name, 'io');
    exportOrThrow(['--hf-dir', dir, '--seed', '1', '--out', out, '--save-io', io, '-q']);
    const model = readModel(out);

    for (const w of written) {
      const tensor = model.initializerTensors.get(w.key);
      assert.ok(tensor, `${name}: no initializer named '${w.key}' (names: ${[...model.initializerTensors.keys()].slice(0, 4).join(', ')} ...)`);
      assert.deepEqual(tensor.dims, w.shape, w.key);
      assert.equal(tensor.dataType, 1, `${w.key}: float32`);
      assert.ok(Buffer.from(floats(tensor).buffer).equals(Buffer.from(w.widened.buffer)), `${w.key}: values differ from the checkpoint's`);
    }
    for (const e of c.extra) assert.ok(!model.initializerTensors.has(e.key), `${e.key}: a skipped entry is in the file`);

    assert.deepEqual(model.outputs, Object.keys(c.outputs));
    const outputs = await compareWithReference(out, io);
    assert.deepEqual(numericProblems(outputs), []);
    for (const o of outputs) {
      assert.deepEqual([...o.shape], c.outputs[o.name], `${o.name}: shape`);
      console.log(`# ${name} ${o.name}: max|ort-ref| = ${o.maxDiff.toExponential(2)}, max|ref| = ${o.maxRef.toFixed(3)}`);
    }
    const modules = JSON.parse(model.metadata['htp.modules']);
    assert.deepEqual(tagProblems(model, new Map(Object.entries(modules).map(([s, info]) => [s, info.class]))), []);
    if (c.dtype === 'F16') await expectFloat16File(name, dir, written, modules);
  });
}

// --dtype float16 of an F16 checkpoint: every tensor is stored with the checkpoint's own bytes, read through a
// Cast to float32 tagged like the rest, and ONNX Runtime still reproduces LibTorch.
async function expectFloat16File(name, dir, written, modules) {
  const out = join(ROOT, name, 'float16.onnx');
  const io = join(ROOT, name, 'io_float16');
  exportOrThrow(['--hf-dir', dir, '--seed', '1', '--dtype', 'float16', '--out', out, '--save-io', io, '-q']);
  const model = readModel(out);
  for (const w of written) {
    const tensor = model.initializerTensors.get(w.key);
    assert.equal(tensor.dataType, 10, `${w.key}: float16`);
    assert.ok(Buffer.from(tensor.rawData).equals(w.bytes), `${w.key}: bytes differ from the checkpoint's`);
    const readers = model.nodes.filter((n) => n.inputs.includes(w.key));
    assert.ok(readers.length >= 1 && readers.every((n) => n.opType === 'Cast'), `${w.key}: read through a Cast, not by ${readers.map((n) => n.opType)}`);
  }
  assert.deepEqual(numericProblems(await compareWithReference(out, io)), []);
  assert.deepEqual(tagProblems(model, new Map(Object.entries(modules).map(([s, info]) => [s, info.class]))), []);
}

// A written export streams Llama's weights into the file (drawn, or read from the checkpoint) without the
// module holding them; --save-io makes it hold them, to run LibTorch. The two files must be the same bytes,
// with the tensors inline, in external data, and stored as float16.
for (const source of ['config_only', 'checkpoint']) {
  test(`llama ${source}: streamed weights give the same bytes as weights held in memory`, () => {
    const dir = join(ROOT, 'llama', source);
    for (const external of [[], ['--external-data'], ['--external-data', '--dtype', 'float16']]) {
      // The same file name in two folders: the model names its data file.
      const [held, streamed] = ['held', 'streamed'].map((way) => {
        const folder = join(ROOT, 'llama', `${way}_${source}${external.map((a) => a.replace(/^--/, '_')).join('')}`);
        mkdirSync(folder, { recursive: true });
        return join(folder, 'model.onnx');
      });
      exportOrThrow(['--hf-dir', dir, '--out', held, '--save-io', join(ROOT, 'llama', `io_${source}`), ...external, '-q']);
      const run = runCli(['--hf-dir', dir, '--out', streamed, ...external, '-v']);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /weights are streamed/, 'the export without --save-io streams');
      assert.ok(readFileSync(held).equals(readFileSync(streamed)), `${source} ${external}: the .onnx files differ`);
      if (external.length) {
        assert.ok(existsSync(`${held}.data`), 'external data written');
        assert.ok(readFileSync(`${held}.data`).equals(readFileSync(`${streamed}.data`)), `${source}: the .data files differ`);
      } else {
        assert.ok(!existsSync(`${streamed}.data`), 'a small model keeps its weights inline');
      }
    }
  });
}

test('a config alone exports with weights drawn from --seed', () => {
  const a = readModel(join(ROOT, 'llama', 'config_only.onnx'));
  const out = join(ROOT, 'llama', 'config_only_seed2.onnx');
  exportOrThrow(['--hf-dir', join(ROOT, 'llama', 'config_only'), '--seed', '2', '--out', out, '-q']);
  const b = readModel(out);
  const key = 'model.layers.1.mlp.down_proj.weight';
  assert.ok(!Buffer.from(a.initializerTensors.get(key).rawData).equals(Buffer.from(b.initializerTensors.get(key).rawData)));
});

// Each broken directory fails with one line naming what is wrong, and writes nothing.
const LLAMA = CASES.llama.config;
const BROKEN = [
  ['an unknown model_type', { ...LLAMA, model_type: 'mamba' }, /unknown model_type 'mamba'; known: bert, distilbert, gpt2, llama, roberta, vit, whisper/],
  ['a rope_scaling type the zoo lacks', { ...LLAMA, rope_scaling: { rope_type: 'llama3', factor: 8.0 } }, /llama with rope_scaling = .*llama3.* is not supported/],
  ['a malformed size', { ...LLAMA, hidden_size: 'wide' }, /llama's hidden_size must be a positive integer/],
  ['a config that is not JSON', '{"model_type": ', /config\.json': not a JSON object/],
];

for (const [what, config, message] of BROKEN) {
  test(`--hf-dir with ${what} fails with one line`, () => {
    const dir = join(ROOT, 'broken', what.replaceAll(' ', '_'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    assert.match(expectFailure(['--hf-dir', dir, '--out', join(outDir, 'm.onnx')], outDir), message);
  });
}

// Weights held in memory for --save-io that would not fit fail before any is drawn, naming the way out: a
// thousand layers of Llama-2-7B's width (755 GiB) are allocated, never touched, then refused.
test('--hf-dir --save-io with weights beyond the memory fails with one line', () => {
  const dir = join(ROOT, 'broken', 'too_large_to_hold');
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...LLAMA, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 1000,
    num_attention_heads: 32, num_key_value_heads: 32, vocab_size: 32000 }));
  const message = expectFailure(['--hf-dir', dir, '--out', join(dir, 'out', 'm.onnx'), '--save-io', join(dir, 'out', 'io')], join(dir, 'out'));
  assert.match(message, /^holding the model's weights \(\d+\.\d GiB\) needs more than the .* of memory available; a written export without --save-io and --optimize streams them instead$/);
});

// Checkpoints that do not fit LLAMA's model: the tensors are a valid layout otherwise.
function brokenCheckpoint(what, write, message) {
  test(`--hf-dir with ${what} fails with one line`, () => {
    const dir = join(ROOT, 'broken', what.replaceAll(' ', '_'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(LLAMA));
    write(dir);
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    assert.match(expectFailure(['--hf-dir', dir, '--out', join(outDir, 'm.onnx')], outDir), message);
  });
}

brokenCheckpoint('a shard missing from the index', (dir) => {
  writeFileSync(join(dir, 'model-00001-of-00002.safetensors'), safetensors([f32('model.norm.weight', [32])]));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: {
    'model.norm.weight': 'model-00001-of-00002.safetensors', 'lm_head.weight': 'model-00002-of-00002.safetensors' } }));
}, /lists the shard 'model-00002-of-00002\.safetensors', which is missing/);

brokenCheckpoint('a shard outside the directory', (dir) => {
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': '../model.safetensors' } }));
}, /names a shard '\.\.\/model\.safetensors' outside its directory/);

// The config-only export's parameters with one changed: a wrong shape, then an integer dtype.
function alteredCheckpoint(dir, alter) {
  const parameters = [...readModel(join(ROOT, 'llama', 'config_only.onnx')).initializerTensors.values()]
    .filter((t) => CASES.llama.parameterNames.test(t.name));
  writeFileSync(join(dir, 'model.safetensors'), safetensors(parameters.map((t) => alter(t) ?? f32(t.name, t.dims))));
}

brokenCheckpoint('a tensor of the wrong shape', (dir) => alteredCheckpoint(dir, (t) => (t.name === 'model.norm.weight' ? f32(t.name, [31]) : null)),
  /do not match the model: wrong shape model\.norm\.weight \[31\] vs \[32\]/);

brokenCheckpoint('an integer tensor for a float parameter', (dir) => alteredCheckpoint(dir, (t) => (t.name === 'model.norm.weight'
  ? { key: t.name, dtype: 'I32', shape: [32], bytes: Buffer.alloc(4 * 32) } : null)),
  /do not match the model: wrong dtype model\.norm\.weight Int vs Float/);

brokenCheckpoint('a dangling model.safetensors link (an interrupted download)', (dir) => {
  symlinkSync(join(dir, 'missing-blob'), join(dir, 'model.safetensors'));
}, /cannot read '.*model\.safetensors'/);

brokenCheckpoint('only TensorFlow weights', (dir) => {
  writeFileSync(join(dir, 'tf_model.h5'), 'HDF');
}, /holds weights htp-export does not read \(tf_model\.h5\)/);

test('--hf-dir of a directory without config.json fails with one line', () => {
  const dir = join(ROOT, 'broken', 'empty');
  mkdirSync(join(dir, 'out'), { recursive: true });
  assert.match(expectFailure(['--hf-dir', dir, '--out', join(dir, 'out', 'm.onnx')], join(dir, 'out')), /is not a Hugging Face model directory: no config\.json/);
  assert.deepEqual(readdirSync(dir), ['out']);
});
