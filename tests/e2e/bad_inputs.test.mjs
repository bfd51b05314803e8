// Malformed inputs of every kind htp-export reads (docs/errors.md; external data and tensor sizes are
// in hostile_onnx.test.mjs): ONNX graphs, TorchScript archives, safetensors and torch.save weights,
// .npy example inputs, --modules JSON and the command line. Each row of the tables there is one case
// here, checked for its exact message, exit status 1, one line on stderr, and no file written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_DIR, WORK_DIR, caseDir, expectFailure } from './lib/checks.mjs';
import { attribute, graphProto, modelProto, tensorProto, tinyModel } from './lib/onnx_edit.mjs';
import { safetensors } from './lib/safetensors.mjs';

const root = join(WORK_DIR, 'bad_inputs');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

const ARCHIVE = join(SOURCE_DIR, 'fixtures/torchscript/nested_containers.pt');
const INPUT = join(SOURCE_DIR, 'fixtures/torchscript/nested_containers/in_0.npy');

// ONNX graphs around y = f(x) for float [4] x and y.
const x = { name: 'x', size: 4 };
const y = { name: 'y', size: 4 };
const add = (name, inputs, outputs) => ({ name, op: 'Add', inputs, outputs });
const graph = (nodes, extra = {}) => modelProto({ nodes, inputs: [x], outputs: [y], ...extra });
const w = tensorProto({ name: 'w', dims: [4], floatData: [1, 2, 3, 4] });
// An If whose then-branch holds an If, `depth` levels down.
function nestedIfs(depth) {
  const leaf = graphProto({ nodes: [{ name: 'id', op: 'Identity', inputs: ['x'], outputs: ['o0'] }], outputs: ['o0'] });
  let branch = leaf;
  for (let level = 1; level <= depth; level++) {
    branch = graphProto({ nodes: [{ name: `if${level}`, op: 'If', inputs: ['cond'], outputs: [`o${level}`],
      attributes: [attribute('then_branch', { graph: branch }), attribute('else_branch', { graph: leaf })] }], outputs: [`o${level}`] });
  }
  return branch;
}

// .npy bytes: magic, version, a header padded as NumPy pads it, data.
function npy(header, data = Buffer.alloc(0), version = 1) {
  const text = header + ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const length = Buffer.alloc(2);
  length.writeUInt16LE(text.length);
  return Buffer.concat([Buffer.from('\x93NUMPY', 'latin1'), Buffer.from([version, 0]), length, Buffer.from(text, 'latin1'), data]);
}
const npyHeader = (descr, shape, fortran = 'False') => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (${shape}), }`;

// safetensors bytes from a header object as written (no checks) and data.
function rawSafetensors(header, data = Buffer.alloc(0)) {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([size, json, data]);
}
const f32 = (key, shape, bytes) => safetensors([{ key, dtype: 'F32', shape, bytes }]);

// Each case: its input file(s), the command line given their paths (F the main one), the message
// with F for the main file's path.
const onnx = (file) => ({ files: { 'model.onnx': file }, args: (F, dir) => ['optimize', F, '--out', join(dir, 'out.onnx')] });
const weights = (file) => ({ files: { 'w.safetensors': file }, args: (F, dir) => ['--model', 'bert-tiny', '--weights', F, '--out', join(dir, 'x.onnx')] });
const archive = (file) => ({ files: { 'model.pt': file }, args: (F, dir) => ['--torchscript', F, '--input', INPUT, '--out', join(dir, 'x.onnx')] });
const input = (file) => ({ files: { 'in.npy': file }, args: (F, dir) => ['--torchscript', ARCHIVE, '--input', F, '--out', join(dir, 'x.onnx')] });
const modules = (text) => ({ files: { 'm.json': Buffer.from(text), 'model.onnx': tinyModel() },
  args: (F, dir) => ['tag', join(dir, 'model.onnx'), '--modules', F, '--out', join(dir, 'out.onnx')] });
const command = (args) => ({ files: {}, args: (F, dir) => args(dir) });

const CASES = {
  onnx: [
    ['empty file', onnx(Buffer.alloc(0)), '\'F\' is not an ONNX model'],
    ['text, not protobuf', onnx(Buffer.from('not a model\n'.repeat(20))), '\'F\' is not an ONNX model'],
    ['a ModelProto without a graph', onnx(Buffer.from([8, 8])), '\'F\' is not an ONNX model'],
    ['graph cycle (a reads b, b reads a)', onnx(graph([add('a', ['x', 'b'], ['a']), add('b', ['a', 'x'], ['b'])], { outputs: [{ name: 'a', size: 4 }] })), '\'F\': the ONNX checker rejected the model: Nodes in a graph must be topologically sorted, however input \'b\' of node: name: a OpType: Add is not output of any previous nodes.'],
    ['two nodes write the same output', onnx(graph([add('a', ['x', 'x'], ['y']), add('b', ['x', 'x'], ['y'])])), '\'F\': the ONNX checker rejected the model: Graph must be in single static assignment (SSA) form, however \'y\' has been used as output names multiple times.'],
    ['node reads an undefined value', onnx(graph([add('a', ['x', 'ghost'], ['y'])])), '\'F\': the ONNX checker rejected the model: Nodes in a graph must be topologically sorted, however input \'ghost\' of node: name: a OpType: Add is not output of any previous nodes.'],
    ['graph output nothing computes', onnx(graph([add('a', ['x', 'x'], ['z'])])), '\'F\': graph output \'y\' is computed by no node and is neither an input nor an initializer'],
    ['initializer defined twice', onnx(graph([add('a', ['x', 'w'], ['y'])], { initializers: [w, w] })), '\'F\': the ONNX checker rejected the model: w initializer name is not unique'],
    ['graph input declared twice', onnx(graph([add('a', ['x', 'x'], ['y'])], { inputs: [x, x] })), '\'F\': the ONNX checker rejected the model: Graph must be in single static assignment (SSA) form, however \'x\' has been used as graph input names multiple times.'],
    ['opset 99', onnx(graph([add('a', ['x', 'x'], ['y'])], { opset: 99 })), '\'F\': imports opset 99 of the default domain, newer than any ONNX release (25)'],
    ['IR version 99', onnx(graph([add('a', ['x', 'x'], ['y'])], { ir: 99 })), '\'F\': declares IR version 99, newer than any ONNX release (13)'],
    ['op no opset defines', onnx(graph([{ name: 'f', op: 'Frobnicate', inputs: ['x'], outputs: ['y'] }])), '\'F\': the ONNX checker rejected the model: No Op registered for Frobnicate with domain_version of 17 ==> Context: Bad node spec for node. Name: f OpType: Frobnicate'],
    ['100 000 attributes on a Relu', onnx(graph([{ name: 'r', op: 'Relu', inputs: ['x'], outputs: ['y'],
      attributes: Array.from({ length: 100000 }, (_, k) => attribute(`a${k}`, { i: k })) }])), '\'F\': the ONNX checker rejected the model: Unrecognized attribute: a0 for operator Relu ==> Context: Bad node spec for node. Name: r OpType: Relu'],
    ['Ifs nested 1000 deep', onnx(graph([{ name: 'top', op: 'If', inputs: ['cond'], outputs: ['y'],
      attributes: [attribute('then_branch', { graph: nestedIfs(1000) }), attribute('else_branch', { graph: nestedIfs(0) })] }],
    { inputs: [x, { name: 'cond', size: 1 }] })), '\'F\' is not an ONNX model'],
  ],
  torchscript: [
    ['empty file', archive(Buffer.alloc(0)), 'cannot load TorchScript archive \'F\': PytorchStreamReader failed reading zip archive: not a ZIP archive'],
    ['a torch.save dict, not TorchScript', archive(readFileSync(join(SOURCE_DIR, 'fixtures/weights/tiny_dict.pt'))), '\'F\' is a torch.save archive, not TorchScript: save the module with torch.jit.trace(model, inputs).save(path)'],
    ['a safetensors file', archive(readFileSync(join(SOURCE_DIR, 'fixtures/weights/tiny.safetensors'))), 'cannot load TorchScript archive \'F\': PytorchStreamReader failed reading zip archive: failed finding central directory'],
  ],
  safetensors: [
    ['header size beyond the file', weights(Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), Buffer.from('{}')])), '\'F\' is not a valid safetensors file: header size exceeds the file'],
    ['a header of 100 MB', weights(rawSafetensors(`{${' '.repeat(104857600)}}`)), '\'F\' is not a valid safetensors file: a header of 104857602 bytes, more than the format allows (100000000)'],
    ['header not a JSON object', weights(rawSafetensors('[1, 2, 3]')), '\'F\' is neither a safetensors file nor a torch.save archive'],
    ['unsupported dtype', weights(safetensors([{ key: 'w', dtype: 'F8_E4M3', shape: [4], bytes: Buffer.alloc(4) }])), '\'F\': unsupported safetensors dtype F8_E4M3'],
    ['data_offsets beyond the data', weights(rawSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8))), '\'F\' is not a valid safetensors file: tensor \'w\' has inconsistent offsets'],
    ['shape that does not match the offsets', weights(f32('w', [5], Buffer.alloc(16))), '\'F\' is not a valid safetensors file: tensor \'w\' has inconsistent offsets'],
    ['shape overflowing 64 bits', weights(f32('w', [4294967296, 4294967296, 4294967296], Buffer.alloc(16))), '\'F\' is not a valid safetensors file: tensor \'w\' has a bad shape'],
    ['a float in the shape', weights(rawSafetensors({ w: { dtype: 'F32', shape: [1e300], data_offsets: [0, 4] } }, Buffer.alloc(4))), '\'F\' is not a valid safetensors file: tensor \'w\' has a shape that is not a list of integers'],
    ['negative data_offsets', weights(rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [-4, 0] } }, Buffer.alloc(4))), '\'F\' is not a valid safetensors file: tensor \'w\' has inconsistent offsets'],
    ['a BOOL byte that is 2', weights(safetensors([{ key: 'w', dtype: 'BOOL', shape: [2], bytes: Buffer.from([1, 2]) }])), '\'F\' is not a valid safetensors file: tensor \'w\' has a bool element that is neither 0 nor 1'],
    ['entry without a dtype', weights(rawSafetensors({ w: { shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4))), '\'F\' is not a valid safetensors file: tensor \'w\' has no \'dtype\''],
  ],
  torch_save: [
    ['an OrderedDict', weights(readFileSync(join(SOURCE_DIR, 'fixtures/weights/tiny_ordered.pt'))), '\'F\' is not a torch.save archive of a plain dict: save it with torch.save(dict(model.state_dict()), f); an OrderedDict cannot be read from C++'],
    ['a TorchScript archive', weights(readFileSync(ARCHIVE)), '\'F\' is not a torch.save archive of a plain dict: it is a TorchScript archive (give it to --torchscript)'],
    ['truncated zip', weights(readFileSync(join(SOURCE_DIR, 'fixtures/weights/tiny_dict.pt')).subarray(0, 300)), '\'F\' is not a torch.save archive of a plain dict: its zip structure is damaged'],
  ],
  npy: [
    ['bad magic', input(Buffer.from('NUMPY? no, just text for the reader to refuse')), '\'F\' is not a readable .npy file: missing NUMPY magic'],
    ['complex64 (unsupported dtype)', input(npy(npyHeader('<c8', '2,'), Buffer.alloc(16))), '\'F\' is not a readable .npy file: unsupported dtype \'<c8\''],
    ['big-endian float32', input(npy(npyHeader('>f4', '2,'), Buffer.alloc(8))), '\'F\' is not a readable .npy file: unsupported dtype \'>f4\''],
    ['Fortran order', input(npy(npyHeader('<f4', '2, 2', 'True'), Buffer.alloc(16))), '\'F\' is not a readable .npy file: Fortran order is not supported'],
    ['data shorter than the shape', input(npy(npyHeader('<f4', '4, 4'), Buffer.alloc(60))), '\'F\' is not a readable .npy file: data size does not match the shape'],
    ['a dim beyond int64', input(npy(npyHeader('<f4', '99999999999999999999,'), Buffer.alloc(4))), '\'F\' is not a readable .npy file: dim 99999999999999999999 is too large'],
    ['dims whose product overflows', input(npy(npyHeader('<f4', '4294967296, 4294967296, 4294967296'), Buffer.alloc(4))), '\'F\' is not a readable .npy file: data size does not match the shape'],
    ['format version 9', input(npy(npyHeader('<f4', '1,'), Buffer.alloc(4), 9)), '\'F\' is not a readable .npy file: unknown format version'],
    ['header length beyond the file', input(Buffer.concat([Buffer.from('\x93NUMPY', 'latin1'), Buffer.from([1, 0, 0xff, 0xff]), Buffer.from('{}')])), '\'F\' is not a readable .npy file: truncated header'],
  ],
  modules_json: [
    ['not JSON', modules('{"": "Net",'), '--modules F: not JSON: [json.exception.parse_error.101] parse error at line 1, column 12: syntax error while parsing object key - unexpected end of input; expected string literal'],
    ['a list, not an object', modules('["", "Net"]'), '--modules F: expected a JSON object of module path to class name, as {n: type(m).__name__ for n, m in model.named_modules()}'],
    ['no root module', modules('{"a": "Linear"}'), '--modules F: no root module "" (named_modules() lists it first)'],
    ['a module whose parent is missing', modules('{"": "Net", "a.b": "Linear"}'), '--modules F: module \'a.b\' is listed but its parent \'a\' is not'],
    ['a class that is not a string', modules('{"": "Net", "a": 1}'), '--modules F: the class of module \'a\' is not a non-empty string'],
    ['a number beyond double', modules('{"": "Net", "a": 1e999}'), '--modules F: not JSON: [json.exception.out_of_range.406] number overflow parsing \'1e999\''],
    ['a path that is not dotted names', modules('{"": "Net", "a..b": "Linear"}'), '--modules F: \'a..b\' is not a dotted module path'],
  ],
  command_line: [
    ['unknown option (exit status 2)', command((dir) => ['optimize', join(dir, 'm.onnx'), '--out', join(dir, 'o.onnx'), '--passes-all']), 'The following argument was not expected: --passes-all (see --help)', 2],
    ['input file that does not exist', command((dir) => ['tag', join(dir, 'absent.onnx'), '--out', join(dir, 'o.onnx')]), 'cannot read \'D/absent.onnx\': No such file or directory'],
    ['input that is a folder', command((dir) => ['optimize', dir, '--out', join(dir, 'o.onnx')]), 'cannot read \'D\': it is a folder, not a file'],
    ['unknown pass', { files: { 'model.onnx': tinyModel() }, args: (F, dir) => ['optimize', F, '--passes', 'Nope', '--out', join(dir, 'o.onnx')] }, '\'F\': unknown optimizer pass \'Nope\''],
  ],
};

for (const [kind, cases] of Object.entries(CASES)) {
  cases.forEach(([name, spec, message, status = 1]) => {
    test(`${kind}: ${name}`, () => {
      const dir = caseDir(root, `${kind}_${name.replace(/\W+/g, '_')}`, spec.files);
      const main = Object.keys(spec.files)[0];
      const F = main ? join(dir, main) : '';
      const got = expectFailure(spec.args(F, dir), dir, Object.keys(spec.files), status);
      // F stands for the main file's path, D for the case's folder.
      const generic = (F ? got.split(F).join('F') : got).split(dir).join('D');
      assert.equal(generic, message);
      rmSync(dir, { recursive: true });
    });
  });
}
