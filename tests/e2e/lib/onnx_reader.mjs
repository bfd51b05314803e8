// A minimal reader of the protobuf wire format for the parts of an ONNX file the tests check:
// nodes (name, op_type, inputs, outputs, metadata_props, and their wire bytes without the
// metadata), the nodes of subgraphs (If branches, Loop bodies) among them, initializer names (and, in initializerTensors, their dims, data_type, raw_data and
// whole wire bytes), graph inputs and outputs (with their dims), model metadata_props and ir_version. Independent
// of the exporter's C++ code, so tags are verified as any consumer of the file would see them.

// The fields of a message: { number, value } for varints, { number, start, end } (the payload)
// otherwise, and keyStart..fieldEnd, the field's whole encoding.
export function* fields(buf, start = 0, end = buf.length) {
  let pos = start;
  const varint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < end) {
    const keyStart = pos;
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    if (wire === 0) { const value = varint(); yield { number, value, keyStart, fieldEnd: pos }; }
    else if (wire === 1) { yield { number, start: pos, end: pos + 8, keyStart, fieldEnd: pos + 8 }; pos += 8; }
    else if (wire === 5) { yield { number, start: pos, end: pos + 4, keyStart, fieldEnd: pos + 4 }; pos += 4; }
    else if (wire === 2) {
      const length = Number(varint());
      yield { number, start: pos, end: pos + length, keyStart, fieldEnd: pos + length };
      pos += length;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

const text = (buf, f) => buf.toString('utf8', f.start, f.end);

function entries(buf, f) {
  const entry = { key: '', value: '' };
  for (const g of fields(buf, f.start, f.end)) {
    if (g.number === 1) entry.key = text(buf, g);
    if (g.number === 2) entry.value = text(buf, g);
  }
  return entry;
}

// A GraphProto held by a node's attribute: pushes its nodes to `into` (pushNode) and returns its
// output names.
function subgraph(buf, f, into) {
  const outputs = [];
  for (const g of fields(buf, f.start, f.end)) {
    if (g.number === 1) pushNode(buf, g, into);
    else if (g.number === 12) outputs.push(namedChild(buf, g, 1));
  }
  return outputs;
}

// Pushes a node to `into`, after the nodes of its subgraphs (AttributeProto g = 6, graphs = 11), as
// the exporter's all_nodes orders them. `reads` is its inputs, then what its subgraphs return;
// `owners` the nodes holding the subgraph it is in, outermost first ([] in the main graph).
function pushNode(buf, f, into) {
  const result = { inputs: [], outputs: [], name: '', opType: '', metadata: {}, reads: [], owners: [] };
  const returned = [];
  const inner = [];
  const withoutMetadata = [];
  for (const g of fields(buf, f.start, f.end)) {
    if (g.number !== 9) withoutMetadata.push(buf.subarray(g.keyStart, g.fieldEnd));
    if (g.number === 5) {
      for (const a of fields(buf, g.start, g.end)) if (a.number === 6 || a.number === 11) returned.push(...subgraph(buf, a, inner));
    }
    if (g.number === 1) result.inputs.push(text(buf, g));
    else if (g.number === 2) result.outputs.push(text(buf, g));
    else if (g.number === 3) result.name = text(buf, g);
    else if (g.number === 4) result.opType = text(buf, g);
    else if (g.number === 9) { const e = entries(buf, g); result.metadata[e.key] = e.value; }
  }
  result.bytesWithoutMetadata = Buffer.concat(withoutMetadata);
  result.reads = result.inputs.concat(returned);
  for (const n of inner) n.owners.unshift(result);
  into.push(...inner, result);
}

// TensorProto: dims (1, repeated int64, packed or not), data_type (2), name (8), raw_data (9).
function tensor(buf, f) {
  const result = { name: '', dims: [], dataType: 0, rawData: null, bytes: buf.subarray(f.start, f.end) };
  for (const g of fields(buf, f.start, f.end)) {
    if (g.number === 1 && 'value' in g) result.dims.push(Number(g.value));
    else if (g.number === 1) for (const d of fields(buf, g.start, g.end)) result.dims.push(Number(d.value));
    else if (g.number === 2) result.dataType = Number(g.value);
    else if (g.number === 8) result.name = text(buf, g);
    else if (g.number === 9) result.rawData = buf.subarray(g.start, g.end);
  }
  return result;
}

function namedChild(buf, f, nameField) {
  for (const g of fields(buf, f.start, f.end)) if (g.number === nameField) return text(buf, g);
  return '';
}

// The element type (TensorProto.DataType number, 0 when absent) and dims of a ValueInfoProto's
// tensor type: numbers for dim_value, strings for dim_param, null for an unknown dim; dims null
// when the type has no shape.
function valueType(buf, f) {
  const child = (g, number) => [...fields(buf, g.start, g.end)].find((h) => h.number === number);
  const type = child(f, 2);
  const tensorType = type && child(type, 1);
  const shape = tensorType && child(tensorType, 2);
  const elemType = tensorType && child(tensorType, 1);
  const dims = shape ? [...fields(buf, shape.start, shape.end)].filter((d) => d.number === 1).map((d) => {
    const value = child(d, 1);
    const param = child(d, 2);
    if (value) return Number(value.value);
    return param ? text(buf, param) : null;
  }) : null;
  return { elemType: elemType ? Number(elemType.value) : 0, dims };
}

export function readOnnx(buffer) {
  const model = {
    irVersion: 0, metadata: {}, nodes: [], initializers: [], initializerTensors: new Map(), inputs: [], outputs: [], opsets: [],
    dims: new Map(),  // graph input and output name → dims (see valueType)
    elemTypes: new Map(),  // graph input and output name → TensorProto.DataType number
  };
  for (const f of fields(buffer)) {
    if (f.number === 1) model.irVersion = Number(f.value);
    else if (f.number === 14) { const e = entries(buffer, f); model.metadata[e.key] = e.value; }
    else if (f.number === 8) {
      let domain = '', version = 0;
      for (const g of fields(buffer, f.start, f.end)) {
        if (g.number === 1) domain = text(buffer, g);
        if (g.number === 2) version = Number(g.value);
      }
      model.opsets.push({ domain, version });
    } else if (f.number === 7) {
      for (const g of fields(buffer, f.start, f.end)) {
        if (g.number === 1) pushNode(buffer, g, model.nodes);
        else if (g.number === 5) {
          const t = tensor(buffer, g);
          model.initializers.push(t.name);
          model.initializerTensors.set(t.name, t);
        } else if (g.number === 11 || g.number === 12) {
          const name = namedChild(buffer, g, 1);
          (g.number === 11 ? model.inputs : model.outputs).push(name);
          const { elemType, dims } = valueType(buffer, g);
          model.dims.set(name, dims);
          model.elemTypes.set(name, elemType);
        }
      }
    }
  }
  return model;
}
