// Files in the format of torch.onnx's dynamo exporter (torch >= 2.5), made from one of our own
// exports, since torch 2.x is not available here. What that exporter writes on each node
// (torch/onnx/_internal/exporter/_core.py, _set_node_metadata), for a node whose FX name is `fx`:
//   name                            node_<fx>
//   namespace                       ": pkg.Root/layer1: pkg.Sequential/.../<fx>: aten.<op>.default"
//   pkg.torch.onnx.name_scopes      repr() of ['', 'layer1', ..., '<fx>']: the modules on the call stack, then fx
//   pkg.torch.onnx.class_hierarchy  repr() of the modules' qualified classes, then the op's target
//   pkg.torch.onnx.fx_node          the FX node as text
//   pkg.torch.onnx.stack_trace      the Python stack
// A node that ran in no module's forward (what our inheritance engine places) has the root's stack.
import { readOnnx } from './onnx_reader.mjs';
import { withEditedNodes, withNameAndMetadata, withoutMetadata } from './onnx_edit.mjs';

// repr() of a list of plain names (no quotes, backslashes or control characters in them).
const pythonList = (items) => `[${items.map((item) => `'${item}'`).join(', ')}]`;

const isContainer = (cls) => cls === 'ModuleList' || cls === 'ModuleDict';

// The modules whose forward is on the stack of a node in `scope`: the root, then every ancestor down
// to the scope that is not a container (containers run no forward).
function callStack(scope, modules) {
  const stack = [];
  for (let s = scope; s !== ''; s = modules[s].parent ?? '') {
    if (!isContainer(modules[s].class) || s === scope) stack.unshift(s);
  }
  return ['', ...stack];
}

// A qualified class name as torch writes it: `module.Class`; the module part is made up, what
// matters is that a reader must take the last dotted part.
const qualified = (cls) => `fixture.${cls.toLowerCase()}.${cls}`;

// The dynamo-format file for `exported` (bytes of our export): nodes renamed node_<fx>, every htp key
// and htp.modules/htp.version removed, the five dynamo keys written from the node's htp.scope where it
// is `direct`, else the root's. Everything else stays byte for byte.
export function asDynamoFile(exported) {
  const model = readOnnx(exported);
  const modules = JSON.parse(model.metadata['htp.modules']);
  const bare = withoutMetadata(exported);
  return withEditedNodes(bare, (node, index) => {
    const { opType, metadata } = model.nodes[index];
    const fx = `${opType.toLowerCase()}_${index}`;
    const target = `aten.${opType.toLowerCase()}.default`;
    const stack = callStack(metadata['htp.source'] === 'direct' ? metadata['htp.scope'] : '', modules);
    const classes = stack.map((scope) => qualified(modules[scope].class));
    return withNameAndMetadata(node, `node_${fx}`, [
      ['namespace', [...stack.map((scope, k) => `${scope}: ${classes[k]}`), `${fx}: ${target}`].join('/')],
      ['pkg.torch.onnx.class_hierarchy', pythonList([...classes, target])],
      ['pkg.torch.onnx.name_scopes', pythonList([...stack, fx])],
      ['pkg.torch.onnx.fx_node', `%${fx} : [num_users=1] = call_function[target=torch.ops.${target}](args = (), kwargs = {})`],
      ['pkg.torch.onnx.stack_trace', `File "model.py", line ${index + 1}, in forward`],
    ]);
  });
}
