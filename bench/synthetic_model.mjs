// Synthetic ONNX models for the benchmarks (bench/optimize_synthetic.mjs, bench/partition_synthetic.mjs):
// a chain of blocks
//   MatMul(x, W_i) -> Add(b_i) -> Identity -> Transpose -> Transpose -> Relu -> Mul(s)
// on x [1, 8] (W_i, b_i distinct per block, s shared), 7 nodes per block, written with the protobuf
// wire format directly (no ONNX package needed).
const WIDTH = 8;
const FLOAT = 1;

// Protobuf wire format: just what a ModelProto needs.
function varint(value) {
  const bytes = [];
  for (; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}
const key = (field, wire) => varint(field * 8 + wire);
const int = (field, value) => Buffer.concat([key(field, 0), varint(value)]);
const bytes = (field, payload) => Buffer.concat([key(field, 2), varint(payload.length), payload]);
const str = (field, text) => bytes(field, Buffer.from(text));
const msg = (field, parts) => bytes(field, Buffer.concat(parts));

const tensor = (name, dims, values) => msg(5, [
  ...dims.map((d) => int(1, d)), int(2, FLOAT), str(8, name), bytes(9, Buffer.from(new Float32Array(values).buffer)),
]);
const valueInfo = (field, name, dims) => msg(field, [
  str(1, name), msg(2, [msg(1, [int(1, FLOAT), msg(2, dims.map((d) => msg(1, [int(1, d)])))])]),
]);
// NodeProto; `scope` (when given) becomes its htp.scope metadata (field 9, StringStringEntryProto).
const node = (op, inputs, outputs, name, attributes = [], scope = null) => msg(1, [
  ...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(3, name), str(4, op), ...attributes,
  ...(scope === null ? [] : [msg(9, [str(1, 'htp.scope'), str(2, scope)])]),
]);
// AttributeProto ints (type INTS = 7).
const intsAttribute = (name, values) => msg(5, [str(1, name), int(20, 7), ...values.map((v) => int(8, v))]);

// A chain of `blocks` blocks on x [1, 8]; with `tagged`, every node carries its scope and the model
// lists the modules (htp.modules): a root Net with one Block per block, whose MatMul and Add run in
// its child `linear` (a Linear) and the rest in the Block itself.
export function syntheticModel(blocks, { tagged = false } = {}) {
  let seed = 1;
  const random = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
  const parts = [str(2, 'synthetic'), valueInfo(11, 'x', [1, WIDTH]), tensor('s', [1], [0.9])];
  let x = 'x';
  for (let i = 0; i < blocks; ++i) {
    const p = `b${i}`;
    const scope = tagged ? p : null;
    parts.push(tensor(`${p}.W`, [WIDTH, WIDTH], Array.from({ length: WIDTH * WIDTH }, random)));
    parts.push(tensor(`${p}.b`, [WIDTH], Array.from({ length: WIDTH }, random)));
    parts.push(node('MatMul', [x, `${p}.W`], [`${p}.mm`], `/${p}/MatMul`, [], scope && `${scope}.linear`));
    parts.push(node('Add', [`${p}.mm`, `${p}.b`], [`${p}.add`], `/${p}/Add`, [], scope && `${scope}.linear`));
    parts.push(node('Identity', [`${p}.add`], [`${p}.id`], `/${p}/Identity`, [], scope));
    parts.push(node('Transpose', [`${p}.id`], [`${p}.t1`], `/${p}/Transpose`, [intsAttribute('perm', [1, 0])], scope));
    parts.push(node('Transpose', [`${p}.t1`], [`${p}.t2`], `/${p}/Transpose_1`, [intsAttribute('perm', [1, 0])], scope));
    parts.push(node('Relu', [`${p}.t2`], [`${p}.relu`], `/${p}/Relu`, [], scope));
    x = i + 1 === blocks ? 'y' : `${p}.out`;
    parts.push(node('Mul', [`${p}.relu`, 's'], [x], `/${p}/Mul`, [], scope));
  }
  parts.push(valueInfo(12, 'y', [1, WIDTH]));
  const model = [int(1, 8), msg(8, [int(2, 17)]), msg(7, parts)];
  if (tagged) {
    const modules = { '': { class: 'Net', parent: null } };
    for (let i = 0; i < blocks; ++i) {
      modules[`b${i}`] = { class: 'Block', parent: '' };
      modules[`b${i}.linear`] = { class: 'Linear', parent: `b${i}` };
    }
    model.push(msg(14, [str(1, 'htp.modules'), str(2, JSON.stringify(modules))]));
  }
  return Buffer.concat(model);
}

