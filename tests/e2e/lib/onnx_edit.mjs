// Variants of an ONNX file made by re-encoding its protobuf wire format, independent of the
// exporter's C++ code: extra graph outputs (to read intermediate tensors in ONNX Runtime) and
// nodes without metadata_props (a file no tagger has seen). Fields are copied byte for byte; only
// the lengths of the messages around an edit are written anew.

import { fields } from './onnx_reader.mjs';

// The fields of a message between begin and finish as an array; see fields() for their ranges.
const rawFields = (buf, begin = 0, finish = buf.length) => [...fields(buf, begin, finish)];

function encodeVarint(value) {
  const bytes = [];
  for (; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}

function lengthDelimited(number, payload) {
  return Buffer.concat([encodeVarint(number * 8 + 2), encodeVarint(payload.length), payload]);
}

// The model with its graph (ModelProto field 7) replaced by edit(graph bytes).
function editGraph(model, edit) {
  return Buffer.concat(rawFields(model).map((f) => (f.number === 7
    ? lengthDelimited(7, edit(model.subarray(f.start, f.end)))
    : model.subarray(f.keyStart, f.fieldEnd))));
}

function graphOf(model) {
  const f = rawFields(model).find((g) => g.number === 7);
  return model.subarray(f.start, f.end);
}

// The ValueInfoProto bytes of the graph's inputs (field 11) or outputs (field 12), by name.
export function valueInfos(model, field) {
  const graph = graphOf(model);
  const result = new Map();
  for (const f of rawFields(graph).filter((g) => g.number === field)) {
    const value = graph.subarray(f.start, f.end);
    const name = rawFields(value).find((g) => g.number === 1);
    result.set(value.toString('utf8', name.start, name.end), value);
  }
  return result;
}

// The model with the given ValueInfoProto messages appended to its graph outputs.
export function withGraphOutputs(model, values) {
  return editGraph(model, (graph) => Buffer.concat([graph, ...values.map((v) => lengthDelimited(12, v))]));
}

// The model with each node of its main graph replaced by edit(node bytes, index).
export function withEditedNodes(model, edit) {
  let index = 0;
  return editGraph(model, (graph) => Buffer.concat(rawFields(graph).map((f) => (f.number === 1
    ? lengthDelimited(1, edit(graph.subarray(f.start, f.end), index++))
    : graph.subarray(f.keyStart, f.fieldEnd)))));
}

const entryKey = (buf, f) => {
  const key = rawFields(buf, f.start, f.end).find((g) => g.number === 1);
  return key ? buf.toString('utf8', key.start, key.end) : '';
};

// The message's fields without the StringStringEntryProto ones (field `number`) whose key `drop(key)` picks.
function withoutEntries(message, number, drop) {
  return Buffer.concat(rawFields(message).filter((f) => f.number !== number || !drop(entryKey(message, f)))
    .map((f) => message.subarray(f.keyStart, f.fieldEnd)));
}

// The model with the metadata_props entries (NodeProto field 9, ModelProto field 14) whose key
// drop(key) picks removed, from every node of its main graph and from the model.
export function withoutMetadata(model, drop = () => true) {
  return withoutEntries(withEditedNodes(model, (node) => withoutEntries(node, 9, drop)), 14, drop);
}

// The model with every node's metadata_props (NodeProto field 9) removed.
export const withoutNodeMetadata = (model) => withEditedNodes(model, (node) => withoutEntries(node, 9, () => true));

// A StringStringEntryProto as field `number` of its message (9 in a NodeProto).
export const metadataEntry = (key, value, number = 9) =>
  lengthDelimited(number, Buffer.concat([stringField(1, key), stringField(2, value)]));

// The node with its name (field 3) set to `name` in place and its metadata_props replaced by `entries`
// ([key, value] pairs), written last as protobuf writes unknown fields.
export function withNameAndMetadata(node, name, entries) {
  const kept = rawFields(node).filter((f) => f.number !== 9)
    .map((f) => (f.number === 3 ? stringField(3, name) : node.subarray(f.keyStart, f.fieldEnd)));
  return Buffer.concat([...kept, ...entries.map(([key, value]) => metadataEntry(key, value))]);
}

// Small models written from scratch, for files no exporter would write (malformed tensors, external
// data pointing anywhere).

// Varint of a JS number or BigInt; negative int64 values as their 64-bit two's complement.
function encodeInt64(value) {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes = [];
  for (; rest >= 128n; rest >>= 7n) bytes.push(Number(rest & 0x7fn) | 0x80);
  bytes.push(Number(rest));
  return Buffer.from(bytes);
}

const varintField = (number, value) => Buffer.concat([encodeVarint(number * 8), encodeInt64(value)]);
const stringField = (number, text) => lengthDelimited(number, Buffer.from(text, 'utf8'));

// TensorProto from { name, dataType (default 1, float), dims, rawData, floatData, external: { location,
// offset, length } }; fields left out are not written.
export function tensorProto({ name, dataType = 1, dims = [], rawData, floatData, external }) {
  const parts = dims.map((dim) => varintField(1, dim));
  parts.push(varintField(2, dataType));
  if (floatData) {
    const packed = Buffer.alloc(4 * floatData.length);
    floatData.forEach((value, k) => packed.writeFloatLE(value, 4 * k));
    parts.push(lengthDelimited(4, packed));
  }
  if (name !== undefined) parts.push(stringField(8, name));
  if (rawData) parts.push(lengthDelimited(9, rawData));
  if (external) {
    for (const key of ['location', 'offset', 'length']) {
      if (external[key] !== undefined) {
        parts.push(lengthDelimited(13, Buffer.concat([stringField(1, key), stringField(2, String(external[key]))])));
      }
    }
    parts.push(varintField(14, 1));  // data_location: EXTERNAL
  }
  return Buffer.concat(parts);
}

function floatValueInfo(name, size) {
  const dim = lengthDelimited(1, varintField(1, size));  // Dimension.dim_value
  const tensorType = Buffer.concat([varintField(1, 1), lengthDelimited(2, dim)]);
  return Buffer.concat([stringField(1, name), lengthDelimited(2, lengthDelimited(1, tensorType))]);
}

// NodeProto from { name, op, inputs, outputs, attributes (AttributeProto bytes, see attribute()) }.
export function nodeProto({ name, op, inputs = [], outputs = [], attributes = [] }) {
  return Buffer.concat([...inputs.map((i) => stringField(1, i)), ...outputs.map((o) => stringField(2, o)),
    stringField(3, name), stringField(4, op), ...attributes.map((a) => lengthDelimited(5, a))]);
}

// AttributeProto `name` holding one of { i, ints, tensor (TensorProto bytes), graph (GraphProto bytes) }.
export function attribute(name, { i, ints, tensor, graph }) {
  const parts = [stringField(1, name)];
  if (i !== undefined) parts.push(varintField(3, i), varintField(20, 2));
  if (ints) parts.push(lengthDelimited(8, Buffer.concat(ints.map(encodeInt64))), varintField(20, 7));
  if (tensor) parts.push(lengthDelimited(5, tensor), varintField(20, 4));
  if (graph) parts.push(lengthDelimited(6, graph), varintField(20, 5));
  return Buffer.concat(parts);
}

// GraphProto from node specs (nodeProto's), initializers (TensorProto bytes) and float [size] inputs and outputs
// ({ name, size }, or a name alone for a graph output of unknown type, as subgraphs have).
export function graphProto({ name = 'g', nodes, initializers = [], inputs = [], outputs = [] }) {
  const valueInfo = (v) => (typeof v === 'string' ? stringField(1, v) : floatValueInfo(v.name, v.size));
  return Buffer.concat([
    ...nodes.map((n) => lengthDelimited(1, nodeProto(n))),
    stringField(2, name),
    ...initializers.map((t) => lengthDelimited(5, t)),
    ...inputs.map((v) => lengthDelimited(11, valueInfo(v))),
    ...outputs.map((v) => lengthDelimited(12, valueInfo(v))),
  ]);
}

// ModelProto around graphProto(spec), importing the default opset `opset` at IR version `ir`.
export function modelProto({ opset = 17, ir = 8, ...graph }) {
  const opsetImport = Buffer.concat([stringField(1, ''), varintField(2, opset)]);
  return Buffer.concat([varintField(1, ir), stringField(2, 'htp-tests'), lengthDelimited(8, opsetImport),
    lengthDelimited(7, graphProto(graph))]);
}

// y = x + w + c for a float [4] input x, initializer `w` and Constant `c` ('const' node, tensor attribute 'value'):
// the given TensorProto bytes, or well-formed ones ([4] floats) where left out. Opset 17, IR 8.
export function tinyModel({ w = tensorProto({ name: 'w', dims: [4], floatData: [1, 2, 3, 4] }),
  c = tensorProto({ dims: [4], floatData: [0.5, 0.5, 0.5, 0.5] }) } = {}) {
  return modelProto({
    name: 'tiny',
    nodes: [
      { name: 'const', op: 'Constant', outputs: ['c'], attributes: [attribute('value', { tensor: c })] },
      { name: 'add_w', op: 'Add', inputs: ['x', 'w'], outputs: ['xw'] },
      { name: 'add_c', op: 'Add', inputs: ['xw', 'c'], outputs: ['y'] },
    ],
    initializers: [w],
    inputs: [{ name: 'x', size: 4 }],
    outputs: [{ name: 'y', size: 4 }],
  });
}

// The message buf[begin, end) with each field `number` replaced by edit(its payload bytes), or
// dropped where edit returns null.
function editField(buf, number, edit) {
  return Buffer.concat(rawFields(buf).map((f) => {
    if (f.number !== number) return buf.subarray(f.keyStart, f.fieldEnd);
    const payload = edit(buf.subarray(f.start, f.end));
    return payload === null ? Buffer.alloc(0) : lengthDelimited(number, payload);
  }));
}

// The model with no shapes on its graph inputs and outputs (ValueInfoProto.type.tensor_type.shape),
// so ONNX Runtime accepts inputs of any size: a file exported at one example shape, run at another.
export function withoutInterfaceShapes(model) {
  const unshaped = (info) => editField(info, 2, (type) => editField(type, 1, (tensor) => editField(tensor, 2, () => null)));
  return editGraph(model, (graph) => editField(editField(graph, 11, unshaped), 12, unshaped));
}
