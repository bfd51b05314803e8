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

// The model with every node's metadata_props (NodeProto field 9) removed.
export function withoutNodeMetadata(model) {
  const strip = (graph, node) => Buffer.concat(rawFields(graph, node.start, node.end)
    .filter((g) => g.number !== 9).map((g) => graph.subarray(g.keyStart, g.fieldEnd)));
  return editGraph(model, (graph) => Buffer.concat(rawFields(graph).map((f) => (f.number === 1
    ? lengthDelimited(1, strip(graph, f))
    : graph.subarray(f.keyStart, f.fieldEnd)))));
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
