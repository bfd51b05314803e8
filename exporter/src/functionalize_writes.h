// Rewrites the in-place writes left in an archive's graph into functional ops.
#pragma once

#include <torch/csrc/jit/ir/ir.h>

#include <functional>
#include <string>
#include <unordered_map>

namespace htp::exporter {

// Precondition: `runtime` holds the value every tensor of `graph` (its inputs too) had after one
// run on the example inputs: tensors that share memory share a storage there, which tells a real
// view from a copy (reshape, contiguous) and finds aliases the schemas do not show (split).
// Postcondition: no node of the graph writes to its inputs. An in-place op `x.op_(...)` becomes
// `op(x, ...)` cast back to x's dtype, and every later reader of x reads that result. A write
// through a chain of views (slice, select, narrow, transpose, permute, view/reshape, ...) is
// scattered back into the chain's base (slice_scatter, select_scatter, transpose, reshape), and a
// view of that base read afterwards is taken again from the new base, so every reader sees what
// PyTorch's reader saw. Eval-mode dropout_ writes nothing and is dropped. Returns whether it
// added values to the graph (untyped until the graph is run again).
// Throws ExportError ("cannot convert aten::X in module 'S': why") for writes ONNX cannot
// express: through a view without a scatter form (expand, as_strided, ...), to a parameter or
// buffer (state that persists across calls), to memory another value read afterwards shares
// without being a view the graph shows (split's pieces, a list built before the write), inside
// control flow, or with an op that has no functional form.
// Whether `node` or a node in its blocks writes in place (eval-mode dropout_ writes nothing). What
// functionalize_writes makes of a graph depends on its `runtime` argument only where a top-level
// node does.
bool writes_in_place(const torch::jit::Node* node);

bool functionalize_writes(torch::jit::Graph& graph, const std::unordered_map<const torch::jit::Value*, at::Tensor>& runtime,
                          const std::function<std::string(const torch::jit::Node*)>& scope_of);

}  // namespace htp::exporter
